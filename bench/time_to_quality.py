"""How long the demo's configuration trains on this machine until its samples are good.

    python bench/time_to_quality.py                      # the demo preset, 3 epochs
    python bench/time_to_quality.py --steps 1500 --precision mixed_bfloat16

Trains the `demo` preset on MNIST and, every `--every` steps, stops the clock, draws 2,000
samples from the EMA generator (one fixed latent batch) and scores them with the kit's MNIST
classifier: Frechet distance in its feature space (against 10,000 test digits), classes covered
and the share of samples classified with confidence above 0.9. Training seconds exclude the
scoring. The numbers per step are deterministic on a CPU; the seconds depend on the load.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from dataclasses import replace

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from gan_kit import hardware  # noqa: E402

hardware.quiet_tensorflow_import()

import keras  # noqa: E402

from gan_kit import data, metrics  # noqa: E402
from gan_kit.families import build_gan  # noqa: E402
from gan_kit.presets import get_preset  # noqa: E402
from gan_kit.runs import precision_policy  # noqa: E402

GOOD_FD = 45.0  # 2,000 samples; real test digits score about 2, blurred digits about 100


class QualityProbe(keras.callbacks.Callback):
    def __init__(self, every: int, classifier, real_features, total_steps: int):
        super().__init__()
        self.every = every
        self.classifier = classifier
        self.real_features = real_features
        self.total_steps = total_steps
        self.rows: list[dict] = []
        self.train_seconds = 0.0
        self.step = 0

    def on_train_batch_begin(self, batch, logs=None):
        self._start = time.perf_counter()

    def on_train_batch_end(self, batch, logs=None):
        self.train_seconds += time.perf_counter() - self._start
        self.step += 1
        if self.step % self.every == 0 or self.step == self.total_steps:
            images = self.model.generate(2000, seed=1234)
            probabilities, features = metrics.classify(self.classifier, images)
            scores = metrics.score_features(self.real_features, features, probabilities, kid=False)
            row = {
                "step": self.step,
                "seconds": self.train_seconds,
                "fd": scores["fd"],
                "classes": scores["classes_covered"],
                "confident": scores["confident_share"],
            }
            self.rows.append(row)
            print(
                f"step {row['step']:5d}  {row['seconds']:7.1f} s  FD {row['fd']:6.1f}  "
                f"classes {row['classes']:2d}  confident {row['confident']:.2f}",
                flush=True,
            )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=None, help="default: the demo's 3 epochs")
    parser.add_argument("--every", type=int, default=375)
    parser.add_argument("--precision", default="auto")
    args = parser.parse_args(argv)

    config = replace(get_preset("demo").config, precision=args.precision)
    images, _ = data.load_arrays("mnist")
    steps_per_epoch = data.steps_per_epoch(len(images), config.batch_size)
    total = args.steps or config.epochs * steps_per_epoch
    classifier = metrics.load_classifier("mnist")
    test_images, _ = data.load_arrays("mnist", "test")
    _, real_features = metrics.classify(classifier, test_images)

    keras.utils.set_random_seed(config.seed)
    with precision_policy(config.precision):
        gan = build_gan(config, (28, 28, 1), None)
    print(
        f"demo preset, precision {hardware.resolve_precision(config.precision)}, batch "
        f"{config.batch_size}, {total} steps; {hardware.describe()}",
        flush=True,
    )
    dataset = data.make_dataset(images, batch_size=config.batch_size, seed=config.seed)
    probe = QualityProbe(args.every, classifier, real_features, total)
    epochs = -(-total // steps_per_epoch)
    gan.fit(
        dataset,
        epochs=epochs,
        steps_per_epoch=min(total, steps_per_epoch),
        callbacks=[probe],
        verbose=0,
        shuffle=False,
    )
    good = next((row for row in probe.rows if row["fd"] <= GOOD_FD and row["classes"] == 10), None)
    if good:
        print(
            f"good (FD <= {GOOD_FD:.0f} on 2,000 samples, 10 classes) after {good['step']} "
            f"steps, {good['seconds']:.0f} s of training"
        )
    else:
        print(f"not good (FD <= {GOOD_FD:.0f}, 10 classes) within {total} steps")
    return 0


if __name__ == "__main__":
    sys.exit(main())
