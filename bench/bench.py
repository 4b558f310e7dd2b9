"""Training speed of the kit against the TF tutorial loop and a keras.io `fit` step.

    python bench/bench.py                  # both architectures, 5 interleaved repetitions
    python bench/bench.py --arch tutorial --repeats 3 --out bench/results.md

For each architecture (the TF tutorial's MNIST networks at batch 256, and the demo's DCGAN at
its batch of 32) every variant is built and warmed up (traced) once, then timed for `--steps`
steps in each of `--repeats` rounds, the variants interleaved within a round so that load
from other processes spreads over all of them. Medians are reported.

Columns: images/s; ms per step; ratio to the tutorial loop; achieved GFLOP/s, counting the
useful work of one simultaneous GAN step, 3 x (F_G + 2 F_D) per image (forward + backward is
about three forward passes; the generator runs once, the discriminator on real and fake), where
F is a network's forward multiply-adds x 2 from its layer shapes; the same count is used for
every variant, so a variant that does more work shows lower GFLOP/s; the share of a float32
matrix-multiply peak measured here; and one MNIST epoch (60,000 images) in seconds.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parent))

from gan_kit import hardware  # noqa: E402

hardware.quiet_tensorflow_import()

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from reference_loops import KerasIoGAN, TutorialLoop, tutorial_dataset  # noqa: E402

from gan_kit import data  # noqa: E402
from gan_kit.config import TrainConfig  # noqa: E402
from gan_kit.families import build_gan, build_networks  # noqa: E402
from gan_kit.presets import get_preset  # noqa: E402
from gan_kit.runs import precision_policy  # noqa: E402

IMAGE_SHAPE = (28, 28, 1)
MNIST_EPOCH = 60_000


# ----------------------------------------------------------------------------- FLOPs
def forward_flops(model: keras.Model) -> int:
    """2 x multiply-adds of one image through the Dense and convolution layers."""
    total = 0
    for layer in model._flatten_layers(include_self=False, recursive=True):
        if isinstance(layer, keras.layers.Dense):
            total += 2 * layer.kernel.shape[0] * layer.kernel.shape[1]
        elif isinstance(layer, keras.layers.Conv2DTranspose):
            # Every input pixel scatters a K x K x C_out patch.
            k_h, k_w, c_out, c_in = layer.kernel.shape
            h, w = layer.input.shape[1:3]
            total += 2 * k_h * k_w * c_in * c_out * h * w
        elif isinstance(layer, keras.layers.Conv2D):
            k_h, k_w, c_in, c_out = layer.kernel.shape
            h, w = layer.output.shape[1:3]
            total += 2 * k_h * k_w * c_in * c_out * h * w
    return total


def matmul_peak_gflops(dtype: str = "float32", n: int = 2048, repeats: int = 10) -> float:
    """Best-of achieved GFLOP/s of an n x n matrix product: this machine's practical peak."""
    a = tf.random.normal((n, n), dtype=dtype)
    b = tf.random.normal((n, n), dtype=dtype)
    product = tf.function(lambda x, y: tf.reduce_sum(tf.matmul(x, y)))
    product(a, b).numpy()
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        product(a, b).numpy()
        best = min(best, time.perf_counter() - start)
    return 2 * n**3 / best / 1e9


# ----------------------------------------------------------------------------- variants
@dataclass
class Variant:
    name: str
    run_steps: object  # callable(steps) -> None
    batch_size: int
    # Emulated 16-bit math can be ten times slower: time it over fewer steps.
    step_share: float = 1.0


def tutorial_variant(config: TrainConfig, images: np.ndarray, batch_size: int) -> Variant:
    generator, discriminator = build_networks(config, IMAGE_SHAPE, None)
    loop = TutorialLoop(generator, discriminator, config.latent_dim)
    iterator = iter(tutorial_dataset(images, batch_size))

    def run(steps: int) -> None:
        for _ in range(steps):
            loss = loop.step(next(iterator))
        float(loss[0])

    return Variant("(a) TF tutorial loop", run, batch_size)


def keras_io_variant(config: TrainConfig, images: np.ndarray, batch_size: int) -> Variant:
    generator, discriminator = build_networks(config, IMAGE_SHAPE, None)
    model = KerasIoGAN(generator, discriminator, config.latent_dim)
    model.compile(keras.optimizers.Adam(1e-4), keras.optimizers.Adam(1e-4))
    dataset = data.make_dataset(images, batch_size=batch_size, seed=0, with_labels=False)

    def run(steps: int) -> None:
        model.fit(dataset, epochs=1, steps_per_epoch=steps, verbose=0)

    return Variant("(b) keras.io fit step", run, batch_size)


def kit_variant(
    name: str,
    config: TrainConfig,
    images: np.ndarray,
    steps_per_execution: int = 1,
    step_share: float = 1.0,
) -> Variant:
    with precision_policy(hardware.resolve_precision(config.precision)):
        gan = build_gan(config, IMAGE_SHAPE, None)
    if steps_per_execution > 1:
        gan.compile(
            gan.d_optimizer,
            gan.g_optimizer,
            loss=gan.loss_name,
            steps_per_execution=steps_per_execution,
        )
    dataset = data.make_dataset(images, batch_size=config.batch_size, seed=0, with_labels=False)

    def run(steps: int) -> None:
        gan.fit(dataset, epochs=1, steps_per_epoch=steps, verbose=0)

    return Variant(name, run, config.batch_size, step_share)


def variants_for(arch: str, images: np.ndarray) -> tuple[list[Variant], int]:
    if arch == "tutorial":
        kit = TrainConfig(
            model="tutorial", batch_size=256, d_learning_rate=1e-4, g_learning_rate=1e-4
        )
    else:
        kit = get_preset("demo").config
    batch = kit.batch_size
    native_bf16 = hardware.cpu_has_bfloat16() or bool(hardware.gpu_compute_capabilities())
    default = replace(kit, fused=False, precision="auto", ema_decay=None)
    fused = replace(kit, fused=True, precision="float32", ema_decay=None)
    variants = [
        tutorial_variant(kit, images, batch),
        keras_io_variant(kit, images, batch),
        kit_variant("(c) kit default (alternating, precision auto)", default, images),
        kit_variant("(c) kit fused, float32", fused, images),
        kit_variant(
            "(c) kit fused, bfloat16" + ("" if native_bf16 else " (emulated on this CPU)"),
            replace(fused, precision="mixed_bfloat16"),
            images,
            step_share=1.0 if native_bf16 else 0.1,
        ),
        kit_variant("(c) kit fused, float32, steps_per_execution 8", fused, images, 8),
    ]
    generator, discriminator = build_networks(kit, IMAGE_SHAPE, None)
    flops = 3 * (forward_flops(generator) + 2 * forward_flops(discriminator))
    return variants, flops


# ----------------------------------------------------------------------------- main
def bench_arch(arch: str, images: np.ndarray, steps: int, repeats: int, peak: float) -> str:
    variants, flops_per_image = variants_for(arch, images)
    for variant in variants:  # trace and warm up
        variant.run_steps(3)
    times: dict[str, list[float]] = {v.name: [] for v in variants}
    for round_ in range(repeats):
        for variant in variants:
            n = max(2, round(steps * variant.step_share))
            start = time.perf_counter()
            variant.run_steps(n)
            times[variant.name].append((time.perf_counter() - start) / n)
        print(f"  {arch}: round {round_ + 1}/{repeats} done", file=sys.stderr)
    batch = variants[0].batch_size
    reference = statistics.median(times[variants[0].name])
    lines = [
        f"### {arch} networks, batch {batch}, {flops_per_image / 1e6:.0f} MFLOP per image",
        "",
        "| variant | images/s | ms/step | vs (a) | GFLOP/s | of peak | MNIST epoch |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for variant in variants:
        step = statistics.median(times[variant.name])
        rate = variant.batch_size / step
        gflops = rate * flops_per_image / 1e9
        lines.append(
            f"| {variant.name} | {rate:.0f} | {step * 1e3:.1f} | {reference / step:.2f}x "
            f"| {gflops:.0f} | {gflops / peak:.0%} | {MNIST_EPOCH / rate:.0f} s |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--arch", choices=("tutorial", "demo", "both"), default="both")
    parser.add_argument(
        "--steps",
        type=int,
        default=None,
        help="steps per timing (default: 20 at batch 256, 100 at batch 32)",
    )
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--out", type=Path, default=None, help="also write the tables here")
    args = parser.parse_args(argv)

    images, _ = data.load_arrays("mnist")
    peak = matmul_peak_gflops("float32")
    peak_bf16 = matmul_peak_gflops("bfloat16")
    header = [
        f"TensorFlow {tf.__version__}, Keras {keras.__version__}; {hardware.describe()}",
        f"matrix-multiply peak (2048 x 2048): float32 {peak:.0f} GFLOP/s, "
        f"bfloat16 {peak_bf16:.0f} GFLOP/s; {args.repeats} interleaved rounds, medians",
        "",
    ]
    print("\n".join(header))
    tables = []
    for arch in ("tutorial", "demo") if args.arch == "both" else (args.arch,):
        steps = args.steps or (20 if arch == "tutorial" else 100)
        table = bench_arch(arch, images, steps, args.repeats, peak)
        print(table + "\n", flush=True)
        tables.append(table)
    if args.out:
        args.out.write_text("\n".join(header) + "\n".join(t + "\n\n" for t in tables))
    return 0


if __name__ == "__main__":
    sys.exit(main())
