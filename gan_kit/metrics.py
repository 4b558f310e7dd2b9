"""Scores for generated images, offline: a classifier the kit trains itself stands in for Inception.

"There is no good objective metric" is one of the GAN challenges the course's sources list. The
usual answers (FID, Inception Score, KID, precision/recall) read images through an ImageNet
Inception network, whose weights need a download and which has never seen a handwritten digit.
For MNIST and Fashion-MNIST the kit trains a small CNN instead (`load_classifier`, ~99% on MNIST
after a few CPU minutes, cached on disk) and computes the same statistics on its 128-d
"features" layer and its class probabilities. The numbers are comparable between runs of the
kit, not with FIDs in papers; hence the names `fd` and `classifier_score`.

Pipeline: `classify` -> (probabilities, features); the pure NumPy statistics below take those.
`evaluate` does everything for a set of generated images, `MetricsCallback` does the cheap part
during `fit`. `inception_fid` is the real FID for colour datasets, when the weights can be had.

Example:
    >>> classifier = load_classifier("mnist")          # trains and caches on first use
    >>> scores = evaluate(gan.generate(10_000), classifier=classifier)
    >>> scores["fd"], scores["classes_covered"]
"""

from __future__ import annotations

import functools
import json
import math
import os
import socket
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import keras
import numpy as np
import scipy.linalg
from numpy.typing import ArrayLike

from gan_kit import data, viz

# The classifier's hidden layer whose activations play the role of Inception's pool3 features.
FEATURES_LAYER = "features"
# Datasets the kit trains a classifier for: the offline, 28x28 greyscale ones.
CLASSIFIER_DATASETS = ("mnist", "fashion_mnist")


# --------------------------------------------------------------------------- the classifier


def build_classifier(
    image_shape: tuple[int, int, int] = (28, 28, 1), num_classes: int = 10
) -> keras.Model:
    """A small CNN whose penultimate layer, "features", is the metrics' feature space.

    Two strided conv blocks (conv, batch norm, ReLU), dropout, a Dense "features" layer of 128
    ReLU units, Dense logits. Small on purpose: 0.4 M parameters and 1.5 M multiply-adds per
    28x28 image, so it trains in a few CPU minutes. Strides instead of max pooling: as accurate
    here and about twice as fast on a CPU (measured: 1 epoch of MNIST 44 s vs 79 s, 98.2% both).

    Args:
        image_shape: (H, W, C) of the input, H and W at least 4 (two stride-2 convolutions).
        num_classes: number of logits.

    Returns:
        A `keras.Model` named "classifier": float images (B, H, W, C) in [-1, 1] -> logits
        (B, num_classes) (no softmax).

    Example:
        >>> build_classifier().output.shape
        (None, 10)
    """
    height, width, channels = image_shape
    if min(height, width) < 4 or channels < 1 or num_classes < 2:
        raise ValueError(
            f"build_classifier needs image_shape (H, W, C) with H, W >= 4 and num_classes >= 2, "
            f"got {image_shape} and {num_classes}"
        )
    layers = keras.layers
    images = keras.Input(image_shape, name="images")
    x = images
    for filters, kernel_size in ((32, 5), (64, 3)):
        x = layers.Conv2D(filters, kernel_size, strides=2, padding="same", use_bias=False)(x)
        # Keras's default momentum 0.99 leaves the moving statistics far from the batch ones
        # after a short schedule (measured: 69% instead of 96% after 160 steps).
        x = layers.BatchNormalization(momentum=0.9)(x)
        x = layers.ReLU()(x)  # (H/2, W/2, 32), then (H/4, W/4, 64)
    x = layers.Flatten()(x)
    x = layers.Dropout(0.25)(x)
    features = layers.Dense(128, activation="relu", name=FEATURES_LAYER)(x)  # (B, 128)
    logits = layers.Dense(num_classes, name="logits")(features)
    return keras.Model(images, logits, name="classifier")


def train_classifier(
    dataset: str = "mnist",
    *,
    epochs: int = 4,
    batch_size: int = 128,
    learning_rate: float = 2e-3,
    train_limit: int | None = None,
    seed: int = 0,
    data_dir: str | os.PathLike | None = None,
    raw_dir: str | os.PathLike | None = None,
    verbose: int = 0,
) -> tuple[keras.Model, float]:
    """Trains `build_classifier` on a dataset's training split; returns (model, test accuracy).

    Adam with a cosine decay of the learning rate to 0, which lets a few epochs reach 99% on
    MNIST (measured: 98.2% after 1 epoch, 99.06% after 3, 99.1% after the default 4; 1-4 min
    on 2 busy CPU cores). Deterministic for a seed on a CPU (`keras.utils.set_random_seed`, which also
    seeds Python, NumPy and TensorFlow globally, and a stateless shuffle per epoch).

    Args:
        dataset: "mnist" or "fashion_mnist" (built offline from the IDX files, see gan_kit.data).
        epochs: passes over the training split.
        batch_size: examples per step.
        learning_rate: Adam's initial step size.
        train_limit: train on the first `train_limit` images only (a quick schedule for tests).
        seed: seeds the weights, dropout and the order of the examples.
        verbose: passed to `fit`.

    Returns:
        (model, accuracy on the whole test split).
    """
    _check_classifier_dataset(dataset)
    keras.utils.set_random_seed(seed)
    images, labels = data.load_arrays(dataset, "train", data_dir=data_dir, raw_dir=raw_dir)
    if train_limit is not None:
        images, labels = images[:train_limit], labels[:train_limit]
    info = data.get_dataset_info(dataset)
    model = build_classifier(info.image_shape, info.num_classes)
    steps = data.steps_per_epoch(len(images), batch_size)
    schedule = keras.optimizers.schedules.CosineDecay(learning_rate, decay_steps=steps * epochs)
    model.compile(
        optimizer=keras.optimizers.Adam(schedule),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    batches = data.make_dataset(images, labels, batch_size=batch_size, seed=seed, epochs=epochs)
    # shuffle=False: make_dataset already shuffles, by a seeded permutation per epoch.
    model.fit(batches, epochs=epochs, steps_per_epoch=steps, shuffle=False, verbose=verbose)

    test_images, test_labels = data.load_arrays(dataset, "test", data_dir=data_dir, raw_dir=raw_dir)
    probabilities, _ = classify(model, test_images)
    return model, label_accuracy(probabilities, test_labels)


def load_classifier(
    dataset: str = "mnist",
    *,
    cache_dir: str | os.PathLike | None = None,
    data_dir: str | os.PathLike | None = None,
    raw_dir: str | os.PathLike | None = None,
) -> keras.Model:
    """The kit's classifier for `dataset`, trained on first use and cached on disk.

    The cache is `<cache_dir or default_data_dir()>/gan_kit_classifiers/<dataset>.keras`, with
    `<dataset>.json` beside it (test accuracy, training time, keras version). Both are written under
    temporary names and renamed, the model last: an interrupted training leaves no half-written
    model behind to be loaded next time. Nothing is ever downloaded.
    """
    _check_classifier_dataset(dataset)
    folder = Path(cache_dir) if cache_dir is not None else data.default_data_dir()
    path = folder / "gan_kit_classifiers" / f"{dataset}.keras"
    if path.is_file():
        return keras.models.load_model(path)

    start = time.perf_counter()
    model, accuracy = train_classifier(dataset, data_dir=data_dir, raw_dir=raw_dir)
    summary = {
        "dataset": dataset,
        "test_accuracy": accuracy,
        "train_seconds": round(time.perf_counter() - start, 1),
        "keras_version": keras.__version__,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    # keras refuses file names that do not end in ".keras", hence the temporary name's shape.
    tmp = path.with_name(f".tmp-{os.getpid()}-{path.name}")
    tmp_json = tmp.with_suffix(".json")
    try:
        tmp_json.write_text(json.dumps(summary, indent=2) + "\n")
        os.replace(tmp_json, path.with_suffix(".json"))
        model.save(tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
        tmp_json.unlink(missing_ok=True)
    return model


def _check_classifier_dataset(dataset: str) -> None:
    if dataset not in CLASSIFIER_DATASETS:
        raise ValueError(
            f"the kit trains classifiers for {', '.join(CLASSIFIER_DATASETS)}, got {dataset!r}; "
            f"for colour datasets use inception_fid"
        )


def classify(
    classifier: keras.Model, images: ArrayLike, batch_size: int = 500
) -> tuple[np.ndarray, np.ndarray]:
    """Runs the classifier in inference mode: (probabilities (N, K), features (N, D)).

    Args:
        classifier: a model from `build_classifier` / `train_classifier` / `load_classifier`.
        images: (N, H, W, C) matching the classifier's input, either uint8 in [0, 255] or float
            in [-1, 1] (a tanh generator's output). Floats in [0, 1] cannot be told apart from
            [-1, 1] ones and would be read as grey images: rescale them with 2 * x - 1.
        batch_size: images per forward pass.

    Returns:
        float64 probabilities (softmax of the logits) and float32 "features" activations.

    Raises:
        ValueError: wrong shape, dtype, or values outside [-1, 1]; the message says what works.
    """
    x = _check_images(images, classifier.input_shape[1:], "this classifier")
    network = keras.Model(
        classifier.input, [classifier.get_layer(FEATURES_LAYER).output, classifier.output]
    )
    features, logits = [], []
    for start in range(0, len(x), batch_size):
        f, z = network(x[start : start + batch_size], training=False)
        features.append(keras.ops.convert_to_numpy(f))
        logits.append(keras.ops.convert_to_numpy(z))
    logits = np.concatenate(logits).astype(np.float64)
    logits -= logits.max(axis=1, keepdims=True)  # softmax without overflow
    probabilities = np.exp(logits)
    probabilities /= probabilities.sum(axis=1, keepdims=True)
    return probabilities, np.concatenate(features)


def _check_images(images: ArrayLike, image_shape: tuple | None, who: str) -> np.ndarray:
    """uint8 [0, 255] or float [-1, 1] (N, *image_shape) images -> float32 in [-1, 1].

    `image_shape` None accepts any (N, H, W, C); `who` names the caller in the error message.
    """
    arr = np.asarray(images)
    shape = "(N, H, W, C)" if image_shape is None else f"(N, {', '.join(map(str, image_shape))})"
    accepted = f"{who} accepts {shape} images, uint8 in [0, 255] or float in [-1, 1]"
    if (
        arr.ndim != 4
        or len(arr) == 0
        or (image_shape is not None and tuple(arr.shape[1:]) != tuple(image_shape))
    ):
        hint = " (add a channel axis with x[..., None])" if arr.ndim == 3 else ""
        raise ValueError(f"{accepted}; got shape {arr.shape}{hint}")
    if arr.dtype == np.uint8:
        return arr.astype(np.float32) / 127.5 - 1.0
    if not np.issubdtype(arr.dtype, np.floating):
        raise ValueError(f"{accepted}; got dtype {arr.dtype}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{accepted}; got NaN/inf (a diverged generator?)")
    # A hair of slack for float rounding (resizing, x / 127.5 - 1); anything more is usually
    # [0, 255] data passed as floats.
    if np.abs(arr).max() > 1.0 + 1e-4:
        raise ValueError(f"{accepted}; got float values in [{arr.min():.3g}, {arr.max():.3g}]")
    return np.clip(arr, -1.0, 1.0).astype(np.float32)


# --------------------------------------------------------------------------- statistics


def frechet_distance(features_a: ArrayLike, features_b: ArrayLike, eps: float = 1e-6) -> float:
    """Fréchet distance between Gaussians fitted to two feature sets (FID without Inception).

    Formula (Heusel et al. 2017, arXiv:1706.08500):
        FD = ||mu_a - mu_b||^2 + Tr(S_a + S_b - 2 (S_a S_b)^(1/2))
    with mu, S the mean and (N - 1)-normalised covariance of each set.

    (S_a S_b)^(1/2) comes from `scipy.linalg.sqrtm`; its imaginary part is rounding noise and
    is dropped. When the product is singular (e.g. fewer samples than dimensions) the root may
    not be finite; then eps * I is added to both covariances, as pytorch-fid does.

    Returns:
        A float >= 0 (up to rounding); 0 for a set against itself.
    """
    a, b = _features(features_a, "features_a"), _features(features_b, "features_b")
    if a.shape[1] != b.shape[1] or min(len(a), len(b)) < 2:
        raise ValueError(f"need two sets of >= 2 features of one size, got {a.shape}, {b.shape}")
    mu_a, mu_b = a.mean(axis=0), b.mean(axis=0)
    s_a, s_b = np.atleast_2d(np.cov(a, rowvar=False)), np.atleast_2d(np.cov(b, rowvar=False))
    covmean = _sqrtm(s_a @ s_b)
    if not np.all(np.isfinite(covmean)):
        offset = eps * np.eye(len(s_a))
        covmean = _sqrtm((s_a + offset) @ (s_b + offset))
    value = np.sum((mu_a - mu_b) ** 2) + np.trace(s_a) + np.trace(s_b) - 2 * np.trace(covmean)
    return float(value)


def _sqrtm(matrix: np.ndarray) -> np.ndarray:
    with warnings.catch_warnings():
        # "Matrix is singular": the retry in frechet_distance handles it.
        warnings.simplefilter("ignore", scipy.linalg.LinAlgWarning)
        return np.real(scipy.linalg.sqrtm(matrix))


def classifier_score(probabilities: ArrayLike) -> float:
    """The Inception Score computed with the kit's classifier.

    Formula (Salimans et al. 2016, arXiv:1606.03498):
        score = exp( E_x KL(p(y|x) || p(y)) ),   p(y) = E_x p(y|x)
    High when each image is classified confidently (low-entropy p(y|x)) and the classes are
    balanced (high-entropy p(y)): K for confident predictions spread evenly over K classes,
    1 when every image gets the same prediction.

    Note: the paper averages over 10 splits of the samples; this uses all of them at once.
    """
    p = _probabilities(probabilities)
    marginal = p.mean(axis=0)
    # 0 * log 0 = 0: terms with p(y|x) = 0 contribute nothing.
    ratio = np.where(p > 0, p / np.where(marginal > 0, marginal, 1.0), 1.0)
    kl = np.sum(p * np.log(ratio), axis=1)
    return float(np.exp(kl.mean()))


def kernel_distance(
    features_a: ArrayLike,
    features_b: ArrayLike,
    *,
    subsets: int = 10,
    subset_size: int = 1000,
    seed: int = 0,
) -> tuple[float, float]:
    """Kernel distance (KID with the kit's features): unbiased MMD^2 with a cubic kernel.

    Formula (Binkowski et al. 2018, arXiv:1801.01401), with d the feature size and m samples
    x_i of a and y_j of b drawn without replacement in each subset:
        k(x, y) = (x.y / d + 1)^3
        MMD^2_u = sum_{i != j} k(x_i, x_j) / (m (m-1)) + sum_{i != j} k(y_i, y_j) / (m (m-1))
                  - 2 sum_{i, j} k(x_i, y_j) / m^2
    averaged over `subsets` random subsets. Unlike FD it is unbiased, so it can go slightly
    negative for two samples of one distribution, and small sample sizes are comparable.
    Pass disjoint sets: a sample shared by a and b adds its self-similarity k(x, x) to the
    cross term only, so a set against itself scores below 0 (by ~1e-2 for 128-d features).

    Returns:
        (mean, standard error of the mean = std over subsets / sqrt(subsets)).
    """
    a, b = _features(features_a, "features_a"), _features(features_b, "features_b")
    m = min(subset_size, len(a), len(b))
    if m < 2 or a.shape[1] != b.shape[1]:
        raise ValueError(f"need two sets of >= 2 features of one size, got {a.shape}, {b.shape}")
    rng = np.random.default_rng(seed)
    values = []
    for _ in range(subsets):
        x = a[rng.choice(len(a), m, replace=False)]
        y = b[rng.choice(len(b), m, replace=False)]
        k_xx, k_yy, k_xy = (_cubic_kernel(u, v) for u, v in ((x, x), (y, y), (x, y)))
        off_diagonal = (k_xx.sum() - np.trace(k_xx) + k_yy.sum() - np.trace(k_yy)) / (m * (m - 1))
        values.append(off_diagonal - 2 * k_xy.mean())
    values = np.asarray(values)
    error = values.std(ddof=1) / math.sqrt(subsets) if subsets > 1 else float("nan")
    return float(values.mean()), float(error)


def _cubic_kernel(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """(x.y / d + 1)^3 for all pairs, in place: ** 3 on a float array is a slow general pow."""
    k = x @ y.T
    k /= x.shape[1]
    k += 1
    return k * k * k


def precision_recall(
    real_features: ArrayLike, fake_features: ArrayLike, *, k: int = 3
) -> tuple[float, float]:
    """Improved precision and recall (Kynkäänniemi et al. 2019, arXiv:1904.06991).

    Each set's manifold is the union of balls around its samples, each ball reaching the
    sample's k-th nearest neighbour in its own set:
        precision = share of fakes inside some real ball   (are the fakes realistic?)
        recall    = share of reals inside some fake ball   (is all of the data covered?)
    Mode collapse shows as low recall, garbage as low precision. Use sets of equal size:
    a bigger set has smaller balls.
    """
    real, fake = (
        _features(real_features, "real_features"),
        _features(fake_features, "fake_features"),
    )
    if min(len(real), len(fake)) <= k or real.shape[1] != fake.shape[1]:
        raise ValueError(
            f"need more than k={k} features of one size per set, got {real.shape}, {fake.shape}"
        )
    real_radii, fake_radii = _knn_radii(real, k), _knn_radii(fake, k)
    precision = _inside_share(fake, real, real_radii)
    recall = _inside_share(real, fake, fake_radii)
    return precision, recall


def _knn_radii(points: np.ndarray, k: int, chunk: int = 1000) -> np.ndarray:
    """Distance from each point to its k-th nearest other point."""
    radii = np.empty(len(points))
    for start in range(0, len(points), chunk):
        d2 = _squared_distances(points[start : start + chunk], points)
        # Column 0 after partitioning is the point itself (distance 0), so k-th neighbour = k.
        radii[start : start + chunk] = np.partition(d2, k, axis=1)[:, k]
    return np.sqrt(radii)


def _inside_share(queries: np.ndarray, centres: np.ndarray, radii: np.ndarray) -> float:
    """Share of `queries` within `radii[j]` of some `centres[j]`."""
    inside = 0
    for start in range(0, len(queries), 1000):
        d2 = _squared_distances(queries[start : start + 1000], centres)
        inside += int(np.any(d2 <= radii[None, :] ** 2, axis=1).sum())
    return inside / len(queries)


def _squared_distances(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """||a_i - b_j||^2 as |a|^2 + |b|^2 - 2 a.b: one matrix product, clipped at 0 (rounding)."""
    d2 = np.sum(a * a, axis=1)[:, None] + np.sum(b * b, axis=1)[None, :] - 2 * a @ b.T
    return np.maximum(d2, 0)


def mode_coverage(probabilities: ArrayLike, *, threshold: float = 0.9) -> dict:
    """Which classes the confidently classified images fall into: the mode-collapse check.

    An image is confident when its top probability is at least `threshold`. A class counts as
    covered when it holds at least 10% of its fair share (n_confident / K) of the confident
    images, so a few stray samples of a class do not count as covering it.

    Returns:
        {"class_counts": list of K ints, "classes_covered": int,
         "coverage": classes_covered / K, "confident_share": n_confident / N}
    """
    p = _probabilities(probabilities)
    num_classes = p.shape[1]
    confident = p.max(axis=1) >= threshold
    counts = np.bincount(p.argmax(axis=1)[confident], minlength=num_classes)
    fair_share = confident.sum() / num_classes
    covered = int(np.sum(counts >= max(0.1 * fair_share, 1))) if confident.any() else 0
    return {
        "class_counts": counts.tolist(),
        "classes_covered": covered,
        "coverage": covered / num_classes,
        "confident_share": float(confident.mean()),
    }


def label_accuracy(probabilities: ArrayLike, labels: ArrayLike) -> float:
    """Share of images classified as the class they were asked for (a conditional GAN's labels)."""
    p = _probabilities(probabilities)
    labels = np.asarray(labels).reshape(-1)
    if len(labels) != len(p):
        raise ValueError(f"need one label per image: {len(labels)} labels, {len(p)} images")
    return float(np.mean(p.argmax(axis=1) == labels))


def _features(features: ArrayLike, name: str) -> np.ndarray:
    arr = np.asarray(features, dtype=np.float64)
    if arr.ndim == 1:
        arr = arr[:, None]  # 1-D features: one number per sample
    if arr.ndim != 2 or not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be a finite (N, D) array, got shape {arr.shape}")
    return arr


def _probabilities(probabilities: ArrayLike) -> np.ndarray:
    p = np.asarray(probabilities, dtype=np.float64)
    if p.ndim != 2 or len(p) == 0 or np.any(p < 0) or not np.allclose(p.sum(axis=1), 1, atol=1e-4):
        raise ValueError(f"probabilities must be (N, K) rows summing to 1, got shape {p.shape}")
    return p


# --------------------------------------------------------------------------- memorisation


def nearest_neighbours(
    queries: ArrayLike, references: ArrayLike, chunk: int = 256
) -> tuple[np.ndarray, np.ndarray]:
    """For each query image, the index of and L2 distance to its nearest reference image.

    Distances are in pixel space on [-1, 1] floats (a 28x28 image lies within 56 of any other).
    """
    q = _check_images(queries, None, "nearest_neighbours")
    r = _check_images(references, q.shape[1:], "nearest_neighbours")
    q, r = q.reshape(len(q), -1), r.reshape(len(r), -1)  # float32: matrix products dominate
    r_norms = np.sum(r * r, axis=1)
    index, distance = np.empty(len(q), np.int64), np.empty(len(q))
    for start in range(0, len(q), chunk):
        block = q[start : start + chunk]
        d2 = np.sum(block * block, axis=1)[:, None] + r_norms[None, :] - 2 * block @ r.T
        nearest = d2.argmin(axis=1)
        index[start : start + chunk] = nearest
        distance[start : start + chunk] = d2[np.arange(len(block)), nearest]
    return index, np.sqrt(np.maximum(distance, 0))


def memorisation(
    fake_images: ArrayLike,
    train_images: ArrayLike,
    test_images: ArrayLike,
    *,
    n: int = 500,
    seed: int = 0,
) -> dict:
    """Does the generator copy its training set? Nearest training neighbours, fakes vs test.

    A real test image is a fresh sample of the data, so its distance to the nearest training
    image is what "new but realistic" looks like. A generator that memorises puts its samples
    much closer to the training set than that:
        memorisation_ratio = median NN distance of fakes / median NN distance of test images
    ~1 for an honest sample, near 0 for copies; above 1 when the fakes are merely unrealistic.
    `close_share` is the share of fakes closer to the training set than 99% of test images are.

    Args:
        fake_images, train_images, test_images: (N, H, W, C) uint8 or float in [-1, 1].
        n: fakes and test images checked, drawn at random (the cost is n x len(train) distances).

    Returns:
        {"memorisation_ratio", "nn_distance_fake", "nn_distance_test" (medians),
         "close_share", "n_checked"}
    """
    rng = np.random.default_rng(seed)
    fakes, tests = (_subsample(np.asarray(x), n, rng) for x in (fake_images, test_images))
    _, fake_distance = nearest_neighbours(fakes, train_images)
    _, test_distance = nearest_neighbours(tests, train_images)
    fake_median, test_median = float(np.median(fake_distance)), float(np.median(test_distance))
    return {
        "memorisation_ratio": fake_median / test_median,
        "nn_distance_fake": fake_median,
        "nn_distance_test": test_median,
        "close_share": float(np.mean(fake_distance < np.quantile(test_distance, 0.01))),
        "n_checked": len(fakes),
    }


def save_nearest_pairs(
    fake_images: ArrayLike,
    train_images: ArrayLike,
    path: str | os.PathLike,
    n_pairs: int = 8,
) -> Path:
    """Writes a PNG of the generated images closest to a training image, with those images.

    The `n_pairs` fakes nearest to the training set fill the top row (closest first), each
    one's nearest training image sits below it: copies show as identical columns.
    """
    index, distance = nearest_neighbours(fake_images, train_images)
    closest = np.argsort(distance)[:n_pairs]
    images = np.concatenate(
        [
            viz.to_uint8(np.asarray(x)[i])
            for x, i in ((fake_images, closest), (train_images, index[closest]))
        ]
    )
    caption = (
        "top: generated, bottom: nearest training image (L2 "
        + ", ".join(f"{d:.1f}" for d in distance[closest])
        + ")"
    )
    return viz.save_image_grid(images, path, nrow=len(closest), caption=caption)


def _subsample(x: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    return x if len(x) <= n else x[np.sort(rng.choice(len(x), n, replace=False))]


# --------------------------------------------------------------------------- all together


def score_features(
    real_features: ArrayLike,
    fake_features: ArrayLike,
    fake_probabilities: ArrayLike,
    *,
    labels: ArrayLike | None = None,
    kid: bool = True,
    seed: int = 0,
) -> dict:
    """Every classifier-based metric of fakes against reals, from `classify`'s outputs.

    FD and KID use all real features. Precision/recall use a random subset of the reals of
    the fakes' size, since the k-NN balls shrink as a set grows, and features scaled to unit
    length. Why: the length of a ReLU feature vector says how strongly the digit detectors
    fire, and images that are no digits at all (noise) land among the weak, ambiguous real
    digits, whose k-NN balls are the largest; measured on MNIST with the kit's classifier, uniform
    noise scored precision 0.51 on raw features, 0.02 on unit-length ones, real digits 0.89
    and 0.88. (Naeem et al. 2020, arXiv:2002.09797, discuss this outlier weakness.)

    Args:
        kid: compute KID, the slowest part (seconds for 10 000 reals); MetricsCallback skips it.

    Returns:
        A flat dict: n, fd, kid and kid_std (its standard error), precision, recall,
        classifier_score, class_counts, classes_covered, coverage, confident_share, and
        label_accuracy when `labels` are given.
    """
    real, fake = np.asarray(real_features), np.asarray(fake_features)
    real_subset = _subsample(real, len(fake), np.random.default_rng(seed))
    precision, recall = precision_recall(_unit_length(real_subset), _unit_length(fake))
    scores = {
        "n": len(fake),
        "fd": frechet_distance(real, fake),
        "precision": precision,
        "recall": recall,
        "classifier_score": classifier_score(fake_probabilities),
        **mode_coverage(fake_probabilities),
    }
    if kid:
        scores["kid"], scores["kid_std"] = kernel_distance(real, fake, seed=seed)
    if labels is not None:
        scores["label_accuracy"] = label_accuracy(fake_probabilities, labels)
    return scores


def _unit_length(features: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(features, axis=1, keepdims=True)
    return features / np.maximum(norms, 1e-12)  # an all-zero vector stays at the origin


def evaluate(
    images: ArrayLike,
    *,
    dataset: str = "mnist",
    labels: ArrayLike | None = None,
    n_real: int = 10_000,
    classifier: keras.Model | None = None,
    seed: int = 0,
    data_dir: str | os.PathLike | None = None,
    raw_dir: str | os.PathLike | None = None,
) -> dict:
    """Scores generated images against the real test split (and the training split).

    Args:
        images: generated (N, 28, 28, 1) images, uint8 or float in [-1, 1]; N ~ 10 000 gives
            stable numbers, 2 000 is enough to rank models.
        dataset: "mnist" or "fashion_mnist"; its own classifier and test split are used.
        labels: the class each image was generated for (conditional GANs): adds label_accuracy.
        n_real: how many test images (the first, in tfds order) form the reference.
        classifier: a classifier for `dataset`; default `load_classifier(dataset)`.

    Returns:
        A flat JSON-able dict: everything `score_features` returns, plus the memorisation
        keys (memorisation_ratio, nn_distance_fake, nn_distance_test, close_share).
    """
    _check_classifier_dataset(dataset)
    if classifier is None:
        classifier = load_classifier(dataset, data_dir=data_dir, raw_dir=raw_dir)
    probabilities, features = classify(classifier, images)  # validates the images first
    test_images, _ = data.load_arrays(
        dataset, "test", data_dir=data_dir, raw_dir=raw_dir, limit=n_real
    )
    train_images, _ = data.load_arrays(dataset, "train", data_dir=data_dir, raw_dir=raw_dir)
    _, real_features = classify(classifier, test_images)
    scores = score_features(real_features, features, probabilities, labels=labels, seed=seed)
    scores.update(memorisation(images, train_images, test_images, seed=seed))
    return scores


# --------------------------------------------------------------------------- colour datasets

NO_INCEPTION = (
    "Inception weights cannot be downloaded here (no network); the classifier-based metrics "
    "work offline for MNIST and Fashion-MNIST"
)


@functools.cache
def _inception() -> keras.Model:
    # urllib sets no timeout: a firewall that drops packets would hang the download for
    # minutes. keras's get_file makes one attempt, so 10 s per socket operation bounds it.
    saved = socket.getdefaulttimeout()
    socket.setdefaulttimeout(10.0)
    try:
        return keras.applications.InceptionV3(
            weights="imagenet", include_top=False, pooling="avg", input_shape=(299, 299, 3)
        )
    except Exception as error:  # get_file raises a bare Exception on a failed download
        raise RuntimeError(f"{NO_INCEPTION} [{type(error).__name__}: {error}]") from None
    finally:
        socket.setdefaulttimeout(saved)


def inception_fid(images_a: ArrayLike, images_b: ArrayLike, batch_size: int = 50) -> float:
    """FID proper (Heusel et al. 2017): Fréchet distance of InceptionV3 pool features.

    Images (N, H, W, C), uint8 or float in [-1, 1], greyscale or RGB, are resized to 299x299
    (bilinear) and fed to keras's ImageNet InceptionV3, whose preprocessing is the same [-1, 1]
    range. Numbers differ slightly from the TF/PyTorch reference FID (other resize, weights).

    Raises:
        RuntimeError: the weights are not in keras's cache and cannot be downloaded.
    """
    model = _inception()
    features = []
    for images in (images_a, images_b):
        x = _check_images(images, None, "inception_fid")
        if x.shape[-1] == 1:
            x = np.repeat(x, 3, axis=-1)
        out = []
        for start in range(0, len(x), batch_size):
            batch = keras.ops.image.resize(x[start : start + batch_size], (299, 299))
            out.append(keras.ops.convert_to_numpy(model(batch, training=False)))
        features.append(np.concatenate(out))
    return frechet_distance(*features)


# --------------------------------------------------------------------------- during training


class MetricsCallback(keras.callbacks.Callback):
    """Scores the GAN's samples every few epochs and writes them into `logs`.

    Every `every` epochs (and on the first epoch of each `fit`: keras's CSVLogger fixes its
    columns then), generates `n_samples` images from one fixed seed, so the numbers follow the
    generator and not the noise, and adds fd, classes_covered, classifier_score, precision,
    recall (and label_accuracy for a conditional GAN, asked for classes 0..K-1 in turn) to
    `logs`, where History, CSVLogger and the plots pick them up. Other epochs get nothing.
    Put it before CSVLogger in the callback list.

    Args:
        classifier: the kit's classifier for the dataset.
        real_features: `classify(classifier, real_test_images)[1]`, computed once.
        every: epochs between evaluations.
        n_samples: generated images per evaluation (2000: ~seconds on a CPU).
        seed: seeds the latent batch.
        on_new_best: called as `on_new_best(epoch, fd)` (epoch 1-based) when fd improves, e.g.
            to keep the best checkpoint; also settable as an attribute.

    Attributes:
        best_fd, best_epoch: the lowest fd so far and its (1-based) epoch; a resumed run sets
            them from its saved state so that a worse model does not count as a new best.
    """

    KEYS = ("fd", "classes_covered", "classifier_score", "precision", "recall")

    def __init__(
        self,
        classifier: keras.Model,
        real_features: ArrayLike,
        *,
        every: int = 1,
        n_samples: int = 2000,
        seed: int = 1234,
        on_new_best: Callable[[int, float], None] | None = None,
    ):
        super().__init__()
        if every < 1 or n_samples <= 3:
            raise ValueError(f"need every >= 1 and n_samples > 3, got {every}, {n_samples}")
        self.classifier = classifier
        self.real_features = np.asarray(real_features)
        self.every = every
        self.n_samples = n_samples
        self.seed = seed
        self.on_new_best = on_new_best
        self.best_fd = math.inf
        self.best_epoch: int | None = None
        self._first_epoch_done = False

    def on_train_begin(self, logs=None):
        self._first_epoch_done = False

    def on_epoch_end(self, epoch, logs=None):
        due = (epoch + 1) % self.every == 0 or not self._first_epoch_done
        self._first_epoch_done = True
        if not due or logs is None:
            return
        labels = None
        if getattr(self.model, "conditional", False):
            labels = np.arange(self.n_samples) % self.classifier.output_shape[-1]
        images = self.model.generate(self.n_samples, labels=labels, seed=self.seed)
        probabilities, features = classify(self.classifier, images)
        scores = score_features(
            self.real_features, features, probabilities, labels=labels, kid=False
        )
        keys = self.KEYS + (("label_accuracy",) if labels is not None else ())
        logs.update({key: scores[key] for key in keys})
        if scores["fd"] < self.best_fd:
            self.best_fd, self.best_epoch = scores["fd"], epoch + 1
            if self.on_new_best is not None:
                self.on_new_best(epoch + 1, scores["fd"])
