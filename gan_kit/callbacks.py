"""Keras callbacks that turn a `fit` into a run folder: sample grids and checkpoints.

Both write at the end of an epoch, the grid first: a process killed between the two
leaves a checkpoint of the previous epoch and an extra frame that the resumed run redraws.
"""

from __future__ import annotations

import json
import math
import os
import time
from pathlib import Path

import keras
import numpy as np

from gan_kit import viz


def write_atomically(path: Path, write) -> None:
    """Call `write(tmp_path)`, then rename: a crash mid-write leaves the old file intact."""
    path = Path(path)
    tmp = path.with_name(f".tmp-{path.name}")
    write(tmp)
    os.replace(tmp, path)


def write_json(path: Path, data) -> None:
    write_atomically(path, lambda tmp: tmp.write_text(json.dumps(data, indent=2) + "\n"))


def frame_path(samples_dir: Path, epoch: int) -> Path:
    return Path(samples_dir) / f"epoch_{epoch:04d}.png"


class SampleGrid(keras.callbacks.Callback):
    """Draws the same latent batch after every epoch: the frames of the training GIF.

    Args:
        samples_dir: where `epoch_NNNN.png` go (epoch 0 is the untrained generator).
        z: the fixed latent batch, (n, latent_dim).
        labels: class ids (n,) for a conditional GAN, else None.
        nrow: images per row of the grid.
    """

    def __init__(self, samples_dir: Path, z: np.ndarray, labels=None, nrow: int = 8):
        super().__init__()
        self.samples_dir = Path(samples_dir)
        self.z = z
        self.labels = labels
        self.nrow = nrow

    def draw(self, epoch: int) -> Path:
        images = self.model.generate(z=self.z, labels=self.labels)
        return viz.save_image_grid(
            images, frame_path(self.samples_dir, epoch), nrow=self.nrow, scale=2
        )

    def on_epoch_end(self, epoch, logs=None):
        self.draw(epoch + 1)


class RunCheckpoint(keras.callbacks.Callback):
    """Saves the whole training model (weights, both optimizers, random state) every epoch.

    Each checkpoint is a `.keras` file written under a temporary name and renamed; then
    `state.json` (epoch, checkpoint file, history so far) is replaced the same way. So the
    state always names a complete checkpoint, and the history always matches it.

    Args:
        checkpoint_dir: the run's `checkpoints/` folder.
        history: per-epoch values of earlier sessions of this run (resume), extended here.
        keep: how many checkpoint files to keep.
    """

    def __init__(self, checkpoint_dir: Path, history: dict | None = None, keep: int = 2):
        super().__init__()
        self.checkpoint_dir = Path(checkpoint_dir)
        self.history = {key: list(values) for key, values in (history or {}).items()}
        self.keep = keep

    def on_train_begin(self, logs=None):
        self.checkpoint_dir.mkdir(parents=True, exist_ok=True)

    def on_epoch_end(self, epoch, logs=None):
        # Metrics measured only every few epochs get NaN elsewhere, so that every list stays
        # aligned with the epochs (plots leave gaps at NaN).
        logs = logs or {}
        done = max((len(values) for values in self.history.values()), default=0)
        for key in set(self.history) | set(logs):
            values = self.history.setdefault(key, [math.nan] * done)
            values.append(float(logs.get(key, math.nan)))
        name = f"epoch_{epoch + 1:04d}.keras"
        write_atomically(self.checkpoint_dir / name, lambda tmp: self.model.save(tmp))
        write_json(
            self.checkpoint_dir / "state.json",
            {"epoch": epoch + 1, "checkpoint": name, "history": self.history},
        )
        for old in sorted(self.checkpoint_dir.glob("epoch_*.keras"))[: -self.keep]:
            old.unlink()


class EpochTimer(keras.callbacks.Callback):
    """Adds `seconds` (wall time of the epoch) to the logs that later callbacks see."""

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["seconds"] = time.perf_counter() - self._start
