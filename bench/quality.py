"""One clock and one scoring for every recipe the quality benchmarks compare.

`QualityProbe` is a Keras callback (for the kit and keras.io's `fit`); `probe_loop` does the
same for a plain Python loop (the TF tutorial's). Both stop the clock, draw 2,000 samples from
one fixed latent batch and score them with the kit's MNIST classifier against the 10,000 test
digits: Frechet distance in its feature space, the share classified with confidence above 0.9,
precision and recall (k-NN manifolds), classes covered. Training seconds exclude the scoring.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import keras
import numpy as np

from gan_kit import data, metrics

SAMPLES = 2000


class Scorer:
    """Scores [-1, 1] images (N, 28, 28, 1) against the MNIST test split."""

    def __init__(self):
        self.classifier = metrics.load_classifier("mnist")
        test_images, _ = data.load_arrays("mnist", "test")
        _, self.real_features = metrics.classify(self.classifier, test_images)

    def __call__(self, images: np.ndarray, labels: np.ndarray | None = None) -> dict:
        """Scores of `images`; with the `labels` they were generated for, label accuracy too."""
        probabilities, features = metrics.classify(self.classifier, images)
        scores = metrics.score_features(
            self.real_features, features, probabilities, labels=labels, kid=False
        )
        row = {
            "fd": scores["fd"],
            "confident": scores["confident_share"],
            "precision": scores["precision"],
            "recall": scores["recall"],
            "classes": scores["classes_covered"],
        }
        if labels is not None:
            row["label_accuracy"] = scores["label_accuracy"]
        return row


def format_row(row: dict) -> str:
    line = (
        f"step {row['step']:6d}  {row['seconds']:7.1f} s  FD {row['fd']:6.1f}  "
        f"confident {row['confident']:.2f}  precision {row['precision']:.2f}  "
        f"recall {row['recall']:.2f}  classes {row['classes']:2d}"
    )
    if "label_accuracy" in row:
        line += f"  label accuracy {row['label_accuracy']:.2f}"
    return line


class Clock:
    """Training seconds and steps, with scoring at fixed steps or fixed seconds."""

    def __init__(
        self,
        sample: Callable[[], np.ndarray | tuple[np.ndarray, np.ndarray]],
        scorer: Scorer,
        *,
        every_steps: int | None = None,
        at_seconds: list[float] | None = None,
        max_seconds: float | None = None,
        max_steps: int | None = None,
        log: Callable[[str], None] = print,
    ):
        self.sample = sample
        self.scorer = scorer
        self.every_steps = every_steps
        self.at_seconds = sorted(at_seconds or [])
        self.max_seconds = max_seconds
        self.max_steps = max_steps
        self.log = log
        self.rows: list[dict] = []
        self.seconds = 0.0
        self.step = 0
        self._start = None

    def start(self) -> None:
        self._start = time.perf_counter()

    def stop(self) -> bool:
        """Ends one step; scores if due. True when the budget is spent."""
        self.seconds += time.perf_counter() - self._start
        self.step += 1
        done = (self.max_seconds is not None and self.seconds >= self.max_seconds) or (
            self.max_steps is not None and self.step >= self.max_steps
        )
        due = self.every_steps is not None and self.step % self.every_steps == 0
        while self.at_seconds and self.seconds >= self.at_seconds[0]:
            self.at_seconds.pop(0)
            due = True
        if due or done:
            samples = self.sample()
            scores = self.scorer(*samples) if isinstance(samples, tuple) else self.scorer(samples)
            row = {"step": self.step, "seconds": self.seconds, **scores}
            self.rows.append(row)
            self.log(format_row(row))
        return done


class QualityProbe(keras.callbacks.Callback):
    """`Clock` as a Keras callback: stops `fit` when the budget is spent."""

    def __init__(self, clock: Clock):
        super().__init__()
        self.clock = clock

    def on_train_batch_begin(self, batch, logs=None):
        self.clock.start()

    def on_train_batch_end(self, batch, logs=None):
        if self.clock.stop():
            self.model.stop_training = True
