"""progress: sample grids cut back into the images that made them, scored per epoch."""

import numpy as np
import pytest

from gan_kit import progress, viz
from gan_kit.config import TrainConfig
from gan_kit.metrics import build_classifier


def _images(n, seed=0, channels=1):
    return np.random.default_rng(seed).integers(0, 256, (n, 28, 28, channels), dtype=np.uint8)


@pytest.mark.parametrize("n, nrow, channels", [(64, 8, 1), (7, 3, 1), (12, 4, 3)])
def test_split_grid_inverts_make_grid(n, nrow, channels):
    images = _images(n, channels=channels)
    grid = viz.make_grid(images, nrow=nrow, scale=2)
    back = progress.split_grid(grid, n, (28, 28, channels), nrow)
    np.testing.assert_array_equal(back, images)


def test_split_grid_rejects_a_grid_of_another_shape():
    grid = viz.make_grid(_images(16), nrow=4, scale=2)
    with pytest.raises(ValueError, match="has shape"):
        progress.split_grid(grid, 16, (28, 28, 1), nrow=8)


@pytest.fixture
def fake_run(tmp_path):
    """A run folder as runs.train leaves it, as far as progress reads it: 3 frames of 2x2."""
    TrainConfig(grid_size=2).save(tmp_path / "config.json")
    np.savez(tmp_path / "fixed_latents.npz", z=np.zeros((4, 100), np.float32))
    frames = {epoch: _images(4, seed=epoch) for epoch in range(3)}
    for epoch, images in frames.items():
        # the same call as callbacks.SampleGrid.draw (greyscale grids are saved as (H, W))
        viz.save_image_grid(images, tmp_path / "samples" / f"epoch_{epoch:04d}.png", nrow=2)
    return tmp_path, frames


def test_read_epoch_grids_gives_every_frame_back(fake_run):
    run_dir, frames = fake_run
    grids = progress.read_epoch_grids(run_dir)
    assert list(grids) == [0, 1, 2]
    for epoch, images in frames.items():
        np.testing.assert_array_equal(grids[epoch], images)


def test_score_epochs_has_one_score_per_frame(fake_run):
    run_dir, _ = fake_run
    classifier = build_classifier()
    _, real_features = _features(classifier, _images(40, seed=9))
    scores = progress.score_epochs(run_dir, classifier, real_features)
    assert scores["epoch"] == [0, 1, 2]
    assert all(len(scores[key]) == 3 for key in ("fd", "kid", "classifier_score"))
    assert all(np.isfinite(scores["fd"]))
    floor = progress.score_real_sample(_images(40, seed=5), 4, classifier, real_features)
    assert set(floor) == {"fd", "kid", "classifier_score"}
    with pytest.raises(ValueError, match="n must be"):
        progress.score_real_sample(_images(5), 10, classifier, real_features)


def test_read_epoch_grids_without_frames_says_so(tmp_path):
    TrainConfig(grid_size=2).save(tmp_path / "config.json")
    np.savez(tmp_path / "fixed_latents.npz", z=np.zeros((4, 100), np.float32))
    with pytest.raises(ValueError, match="train the run first"):
        progress.read_epoch_grids(tmp_path)


def _features(classifier, images):
    from gan_kit.metrics import classify

    return classify(classifier, images)
