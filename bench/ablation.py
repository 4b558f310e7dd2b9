"""One change at a time: train a variant of a preset and score it every N steps.

    python bench/ablation.py --name lr_linear --preset demo --set lr_schedule=linear --steps 4000
    python bench/ablation.py --name sn --set 'discriminator_kwargs={"spectral_norm": true}'

Each `--set key=value` replaces one TrainConfig field (the value is JSON, or a bare string).
The run is seeded, so the numbers per step are deterministic on a CPU; the seconds depend on
the load. Every scored row is appended, with the variant's name and config, to
`--out` (JSON lines), from which `bench/ablation.md` is written.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import replace
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).parent))

from gan_kit import hardware  # noqa: E402

hardware.quiet_tensorflow_import()

import keras  # noqa: E402
import numpy as np  # noqa: E402
from quality import SAMPLES, Clock, QualityProbe, Scorer, format_row  # noqa: E402

from gan_kit import data  # noqa: E402
from gan_kit.families import build_gan  # noqa: E402
from gan_kit.presets import get_preset  # noqa: E402
from gan_kit.runs import precision_policy  # noqa: E402


def parse_setting(text: str) -> tuple[str, object]:
    key, _, value = text.partition("=")
    try:
        return key, json.loads(value)
    except json.JSONDecodeError:
        return key, value


def step_label(row: dict) -> str:
    """The step, and the sample count when it is not the usual 2,000 (a --final-samples row)."""
    return f"{row['step']} ({row['samples']:,} samples)" if "samples" in row else str(row["step"])


def markdown_report(jsonl: str) -> str:
    """One line per variant: its settings and its scores at every scored step."""
    variants: dict[str, list[dict]] = {}
    for line in Path(jsonl).read_text().splitlines():
        row = json.loads(line)
        variants.setdefault(row["name"], []).append(row)
    lines = [
        "| variant | preset | changed | step: FD / confident share |",
        "|---|---|---|---|",
    ]
    for name, rows in variants.items():
        changed = ", ".join(f"{k}={json.dumps(v)}" for k, v in rows[0]["set"].items()) or "-"
        scores = "; ".join(f"{step_label(r)}: {r['fd']:.1f} / {r['confident']:.2f}" for r in rows)
        lines.append(f"| {name} | {rows[0]['preset']} | `{changed}` | {scores} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--name", required=True)
    parser.add_argument("--preset", default="demo")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=JSON")
    parser.add_argument("--steps", type=int, default=4000)
    parser.add_argument("--every", type=int, default=500)
    parser.add_argument("--out", default="bench/ablation.jsonl")
    parser.add_argument(
        "--final-samples",
        type=int,
        default=0,
        help="after training, also score this many samples (the goal counts 10,000)",
    )
    parser.add_argument("--save", default=None, help="save the trained GAN here (.keras)")
    parser.add_argument(
        "--report", metavar="FILE.md", help="only write the rows of --out as a markdown table"
    )
    args = parser.parse_args(argv)
    if args.report:
        Path(args.report).write_text(markdown_report(args.out))
        return 0

    overrides = dict(parse_setting(s) for s in args.set)
    config = replace(get_preset(args.preset).config, **overrides)
    if isinstance(config.image_shape, list):
        config = replace(config, image_shape=tuple(config.image_shape))
    config = replace(config, epochs=1).validate()
    images, labels = data.load_arrays("mnist")
    scorer = Scorer()
    keras.utils.set_random_seed(config.seed)
    num_classes = 10 if config.conditional else None
    with precision_policy(config.precision):
        gan = build_gan(config, (28, 28, 1), num_classes, total_steps=args.steps)
    print(f"{args.name}: {overrides} ({hardware.describe()})", flush=True)
    dataset = data.make_dataset(
        images,
        labels if config.conditional else None,
        batch_size=config.batch_size,
        seed=config.seed,
        epochs=None,
    )
    asked = np.arange(SAMPLES) % 10  # every digit equally often

    def sample():
        if config.conditional:
            return gan.generate(SAMPLES, labels=asked, seed=1234), asked
        return gan.generate(SAMPLES, seed=1234)

    clock = Clock(
        sample,
        scorer,
        every_steps=args.every,
        max_steps=args.steps,
        log=lambda line: print(line, flush=True),
    )
    gan.fit(
        dataset,
        epochs=1,
        steps_per_epoch=args.steps,
        callbacks=[QualityProbe(clock)],
        verbose=0,
        shuffle=False,
    )
    if args.save:
        gan.save(args.save)
    if args.final_samples:
        final = scorer(gan.generate(args.final_samples, seed=4321))
        final.update(step=args.steps, seconds=clock.rows[-1]["seconds"], samples=args.final_samples)
        print(f"{args.final_samples} samples: " + format_row(final), flush=True)
        clock.rows.append(final)
    with open(args.out, "a") as out:
        for row in clock.rows:
            out.write(
                json.dumps({"name": args.name, "preset": args.preset, "set": overrides, **row})
                + "\n"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
