"""Explore a trained run's latent space: `python -m gan_kit explore RUN_DIR`.

Writes into RUN_DIR/explore/ (deterministic for a seed):

    interpolation.png   lerp (odd rows) against slerp (even rows) between the same pairs
    latent_walk.gif     a smooth loop through several latent points
    truncation.png      one row per truncation threshold, the same noise in every row
    inversion.png       images made by G and real test images, each above G(z*) of its
                        inverted z* (the "P(z|x)" of the source slides' future work)
    class_morph.png/gif conditional runs: fixed noise, the label moving between classes
    arithmetic.png      unconditional runs with a classifier: z plus a "digit a -> digit b"
                        direction found from the classifier's labels of G(z)
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from gan_kit import data, latent, viz
from gan_kit.runs import load_run


def explore_run(
    run_dir: str | Path,
    *,
    seed: int = 0,
    data_dir=None,
    raw_dir=None,
    classifier=None,
    inversion_steps: int = 300,
) -> dict:
    """Write the latent-space pictures of a run; return {name: path} and inversion errors."""
    run_dir = Path(run_dir)
    gan, config = load_run(run_dir)
    out = run_dir / "explore"
    out.mkdir(exist_ok=True)
    num_classes = _num_classes(config)
    labels = (np.arange(4) % num_classes).astype("int32") if gan.conditional else None
    written = {}

    z = gan.sample_latent(8, seed=seed)
    rows = [
        latent.interpolation_strip(gan, z[:4], z[4:], steps=10, method=method, labels=labels)
        for method in ("lerp", "slerp")
    ]
    # Interleave so each lerp row sits above the slerp row of the same pair.
    strips = np.stack([rows[m][p] for p in range(4) for m in range(2)])
    written["interpolation"] = viz.save_image_grid(
        strips.reshape(-1, *strips.shape[2:]),
        out / "interpolation.png",
        nrow=10,
        scale=2,
        caption="rows: lerp, slerp (pairs of rows share their end points)",
    )
    written["latent_walk"] = latent.save_latent_walk_gif(
        gan,
        out / "latent_walk.gif",
        n_points=5,
        seed=seed,
        labels=labels[:1] if labels is not None else None,
    )

    if gan.latent_distribution == "normal":
        thresholds = [0.25, 0.5, 1.0, 2.0, float("inf")]
        sweep = latent.truncation_sweep(
            gan, thresholds, n=10, seed=seed, labels=_cycle(10, num_classes, gan)
        )
        written["truncation"] = viz.save_image_grid(
            np.concatenate([sweep[t] for t in thresholds]),
            out / "truncation.png",
            nrow=10,
            scale=2,
            caption="truncation 0.25, 0.5, 1, 2, none (top to bottom)",
        )

    inversion = _inversion(gan, config, seed, inversion_steps, data_dir, raw_dir)
    written["inversion"] = inversion.pop("path")(out / "inversion.png")

    if gan.conditional:
        z_morph = gan.sample_latent(1, seed=seed)[0]
        pairs = [(a, (a + 1) % num_classes) for a in range(0, num_classes, 2)][:4]
        strips = np.concatenate(
            [latent.class_interpolation(gan, z_morph, a, b, steps=10) for a, b in pairs]
        )
        written["class_morph"] = viz.save_image_grid(
            strips, out / "class_morph.png", nrow=10, scale=2
        )
        written["class_morph_gif"] = latent.save_class_morph_gif(
            gan, out / "class_morph.gif", z_morph, 1, 7
        )
    elif classifier is not None:
        written["arithmetic"] = _arithmetic(gan, classifier, out / "arithmetic.png", seed)

    summary = {"files": {name: str(path) for name, path in written.items()}, "inversion": inversion}
    if classifier is not None and gan.latent_distribution == "normal":
        summary["truncation"] = _truncation_scores(gan, classifier, config, seed, data_dir, raw_dir)
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    return summary


def _num_classes(config) -> int | None:
    return data.get_dataset_info(config.dataset).num_classes


def _cycle(n: int, num_classes: int | None, gan) -> np.ndarray | None:
    return (np.arange(n) % num_classes).astype("int32") if gan.conditional else None


def _inversion(gan, config, seed, steps, data_dir, raw_dir) -> dict:
    """Invert 6 images G made itself and 6 real test images; G's own should come back closely."""
    labels = _cycle(6, _num_classes(config), gan)
    made = gan.generate(6, labels=labels, seed=seed + 1)
    real, real_labels = data.load_arrays(
        config.dataset, "test", data_dir=data_dir, raw_dir=raw_dir, limit=6
    )
    real = real.astype("float32") / 127.5 - 1.0  # the generator's range
    real_labels = real_labels.astype("int32") if gan.conditional else None
    own = latent.invert(gan, made, steps=steps, seed=seed, labels=labels)
    other = latent.invert(gan, real, steps=steps, seed=seed, labels=real_labels)
    grid = np.concatenate([made, own["reconstructions"], real, other["reconstructions"]])

    def save(path):
        return viz.save_image_grid(
            grid,
            path,
            nrow=6,
            scale=2,
            caption="G(z), its inversion; real digits, their inversion",
        )

    return {
        "path": save,
        "generated_mse": [round(float(e), 5) for e in own["errors"]],
        "real_mse": [round(float(e), 5) for e in other["errors"]],
    }


def _truncation_scores(gan, classifier, config, seed, data_dir, raw_dir, n: int = 1000) -> list:
    """Quality against diversity: precision and confidence rise as z is truncated, recall and
    coverage fall (Brock et al. 2018)."""
    from gan_kit import metrics

    real, _ = data.load_arrays(
        config.dataset, "test", data_dir=data_dir, raw_dir=raw_dir, limit=5000
    )
    _, real_features = metrics.classify(classifier, real)
    rows = []
    for threshold in (0.5, 1.0, 1.5, 2.0, float("inf")):
        z = latent.truncated_normal_latents(n, gan.latent_dim, threshold, seed=seed)
        labels = _cycle(n, _num_classes(config), gan)
        probabilities, features = metrics.classify(classifier, gan.generate(z=z, labels=labels))
        scores = metrics.score_features(
            real_features, features, probabilities, kid=False, seed=seed
        )
        rows.append(
            {"threshold": threshold}
            | {
                key: round(float(scores[key]), 4)
                for key in ("fd", "precision", "recall", "confident_share")
            }
            | {"classes_covered": int(scores["classes_covered"])}
        )
    return rows


def _arithmetic(gan, classifier, path: Path, seed: int, source: int = 1, target: int = 7) -> Path:
    """z + s * (mean z of G(z) classed `target` - mean z of G(z) classed `source`)."""
    from gan_kit import metrics

    z = gan.sample_latent(2000, seed=seed + 2)
    probabilities, _ = metrics.classify(classifier, gan.generate(z=z))
    groups = probabilities.argmax(axis=1)
    direction = latent.attribute_direction(z, groups, source, target)
    start = z[groups == source][:6]
    scales = np.linspace(0.0, 1.5, 8)
    moved = latent.apply_direction(start, direction, scales)  # (S, N, D)
    images = gan.generate(z=moved.transpose(1, 0, 2).reshape(-1, z.shape[1]))
    return viz.save_image_grid(
        images,
        path,
        nrow=len(scales),
        scale=2,
        caption=f"z + s * (mean z of {target}s - mean z of {source}s)",
    )
