"""A run's progress in numbers: score the sample grid that every epoch saved.

A run folder keeps the last checkpoints only, but `samples/epoch_NNNN.png` holds, for every
epoch, the images of one fixed latent batch (the frames of `training.gif`). Cut back into
images, they give a metric per epoch after the fact, to set beside the loss curves:

    grids = read_epoch_grids(run_dir)                   # {epoch: (N, H, W, C) uint8}
    scores = score_epochs(run_dir, classifier, real_features)
    scores["epoch"], scores["fd"], scores["kid"]

N is small (64 for an 8 x 8 grid), so the Frechet distance carries a large positive bias
(a sample covariance of 128-d features from 64 images): compare epochs with each other and
with real images scored at the same N (`score_real_sample`), not with a 10,000-image FD.
"""

from __future__ import annotations

import re
from pathlib import Path

import imageio.v3 as iio
import numpy as np
from numpy.typing import ArrayLike

from gan_kit import metrics
from gan_kit.config import TrainConfig

# How runs.train draws the frames: viz.save_image_grid(images, nrow=..., scale=2), whose
# make_grid puts `padding` white pixels between and around cells.
GRID_SCALE = 2
GRID_PADDING = 2
_FRAME = re.compile(r"epoch_(\d+)\.png$")


def split_grid(
    grid: ArrayLike,
    n_images: int,
    image_shape: tuple[int, int, int],
    nrow: int,
    scale: int = GRID_SCALE,
    padding: int = GRID_PADDING,
) -> np.ndarray:
    """Cuts a grid made by `viz.make_grid` back into its images: its exact inverse.

    Cell i sits at row i // nrow, column i % nrow; its top-left pixel is
    (padding + row * (H * scale + padding), padding + col * (W * scale + padding)), and taking
    every `scale`-th pixel undoes the nearest-neighbour upscaling.

    Args:
        grid: (rows', cols') greyscale or (rows', cols', C) uint8, as read from the PNG.
        n_images: N, the images in the grid.
        image_shape: (H, W, C) of one image before upscaling.
        nrow: images per row of the grid.
        scale, padding: as given to `make_grid`.

    Returns:
        (N, H, W, C) uint8.
    """
    grid = np.asarray(grid)
    if grid.ndim == 2:
        grid = grid[..., None]
    height, width, channels = image_shape
    rows = -(-n_images // nrow)
    expected = (
        rows * (height * scale + padding) + padding,
        nrow * (width * scale + padding) + padding,
        channels,
    )
    if grid.shape != expected:
        raise ValueError(
            f"a grid of {n_images} images of {image_shape}, {nrow} per row, at scale {scale} "
            f"has shape {expected}, got {grid.shape}; is this a sample grid of this run?"
        )
    images = []
    for i in range(n_images):
        row, col = divmod(i, nrow)
        top = padding + row * (height * scale + padding)
        left = padding + col * (width * scale + padding)
        images.append(grid[top : top + height * scale : scale, left : left + width * scale : scale])
    return np.stack(images).astype(np.uint8)


def read_epoch_grids(run_dir: str | Path) -> dict[int, np.ndarray]:
    """The fixed-z images each epoch saved: {epoch: (N, H, W, C) uint8}, epoch 0 untrained."""
    from gan_kit.runs import resolve_shapes

    run_dir = Path(run_dir)
    config = TrainConfig.load(run_dir / "config.json")
    image_shape, _ = resolve_shapes(config)
    n_images = len(np.load(run_dir / "fixed_latents.npz")["z"])
    frames = sorted(
        (int(match.group(1)), path)
        for path in (run_dir / "samples").glob("epoch_*.png")
        if (match := _FRAME.search(path.name))
    )
    if not frames:
        raise ValueError(f"{run_dir} has no samples/epoch_*.png; train the run first")
    return {
        epoch: split_grid(iio.imread(path), n_images, image_shape, config.grid_size)
        for epoch, path in frames
    }


def _scores(real_features, images, classifier, seed: int) -> dict:
    probabilities, features = metrics.classify(classifier, images)
    kid, _ = metrics.kernel_distance(real_features, features, subsets=20, seed=seed)
    return {
        "fd": metrics.frechet_distance(real_features, features),
        "kid": kid,
        "classifier_score": metrics.classifier_score(probabilities),
    }


def score_epochs(run_dir: str | Path, classifier, real_features: ArrayLike, seed: int = 0) -> dict:
    """FD, KID and classifier score of every epoch's saved grid against real features.

    Args:
        run_dir: a run folder with samples/epoch_*.png.
        classifier: the kit's classifier for the run's dataset (`metrics.load_classifier`).
        real_features: `metrics.classify(classifier, real_images)[1]`.
        seed: seeds KID's subsets.

    Returns:
        {"epoch": [...], "fd": [...], "kid": [...], "classifier_score": [...]}, one entry per
        saved frame, epoch 0 (the untrained generator) first.
    """
    scores: dict[str, list] = {"epoch": [], "fd": [], "kid": [], "classifier_score": []}
    for epoch, images in read_epoch_grids(run_dir).items():
        scores["epoch"].append(epoch)
        for key, value in _scores(real_features, images, classifier, seed).items():
            scores[key].append(value)
    return scores


def score_real_sample(
    real_images: ArrayLike, n: int, classifier, real_features: ArrayLike, seed: int = 0
) -> dict:
    """The same scores for n real images: the floor of `score_epochs` at that sample size.

    Draw `real_images` from another split than the one `real_features` come from (e.g. the
    training split against test features): a set scored against itself looks too good.
    """
    real_images = np.asarray(real_images)
    if not 3 < n <= len(real_images):
        raise ValueError(f"n must be in (3, {len(real_images)}], got {n}")
    pick = np.random.default_rng(seed).choice(len(real_images), n, replace=False)
    return _scores(real_features, real_images[np.sort(pick)], classifier, seed)
