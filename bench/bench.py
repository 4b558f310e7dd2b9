"""Training speed of the kit against the TF tutorial loop and a keras.io `fit` step.

    python bench/bench.py                  # both architectures, 5 interleaved rounds
    python bench/bench.py --arch demo --repeats 1 --steps 10     # a quick look
    python bench/bench.py --arch tutorial --repeats 3 --out bench/results.md

For each architecture (the TF tutorial's MNIST networks at batch 256, and the demo's DCGAN at
its batch of 32) every variant is built inside the dtype policy it names and checked: the
compute dtype of its networks' convolution layers, whether its optimizers are wrapped for loss
scaling, and the dtype of every convolution op in the step graph it will be timed with. A
variant that would time another precision than the one it names stops the bench.

Each variant is then traced and warmed up once, on one dataset iterator that lives as long as
the variant. A round calls each variant's compiled step on its iterator for `--steps` steps,
as `fit` does for every batch (`model.train_function(iterator)`, a call of `steps_per_execution`
steps), timing each call; the variants are interleaved within a round so that load from other
processes spreads over all of them. Reported: the median of the per-step times over all rounds,
and the spread of the rounds' medians. Repeated short `fit` calls would time a new epoch
iterator, a new callback list and an end-of-epoch sync with every chunk, and would round the
steps of `steps_per_execution` up.

Every compiled function's traces are counted after warm-up and again after the last round: a
variant that retraced while timed is marked in the table. (TensorFlow's "N out of the last M
calls to multi_step_on_iterator triggered tf.function retracing" warning keys on the code of
Keras's step function, which every Keras model in one process shares: five models traced once
each during their warm-up look to it like one function traced five times. The counts here are
per model.)

Columns: the compute dtype checked above; images/s; ms per step; the spread; ratio to the
tutorial loop; achieved GFLOP/s, counting the useful work of one simultaneous GAN step,
3 x (F_G + 2 F_D) per image (forward + backward is about three forward passes; the generator
runs once, the discriminator on real and fake), where F is a network's forward multiply-adds
x 2 from its layer shapes; the same count is used for every variant, so a variant that does
more work shows lower GFLOP/s; the share of a float32 matrix-multiply peak measured here; and
one MNIST epoch (60,000 images) in seconds.
"""

from __future__ import annotations

import argparse
import collections
import gc
import os
import statistics
import sys
import time
from dataclasses import replace
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
COMPUTE_DTYPE = {"float32": "float32", "mixed_bfloat16": "bfloat16", "mixed_float16": "float16"}
# The convolutions of a forward and a backward pass (Conv2DTranspose runs as
# Conv2DBackpropInput): where the FLOPs are, so the dtype that must match the policy.
CONV_OPS = ("Conv2D", "Conv2DBackpropInput", "Conv2DBackpropFilter")


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


# ----------------------------------------------------------------------------- checks
class PrecisionError(RuntimeError):
    """A variant would be timed in another precision than the one it names."""


def conv_layer_dtypes(network: keras.Model) -> collections.Counter:
    """Compute dtype -> number of convolution layers of `network` computing in it."""
    return collections.Counter(
        layer.dtype_policy.compute_dtype
        for layer in network._flatten_layers(include_self=False, recursive=True)
        if isinstance(layer, keras.layers.Conv2D | keras.layers.Conv2DTranspose)
    )


def conv_op_dtypes(function) -> collections.Counter:
    """Dtype -> number of convolution ops in a concrete function's graph and its callees."""
    graph_def = function.graph.as_graph_def()
    nodes = [*graph_def.node, *(n for f in graph_def.library.function for n in f.node_def)]
    return collections.Counter(
        tf.dtypes.as_dtype(node.attr["T"].type).name for node in nodes if node.op in CONV_OPS
    )


def _describe(counts: collections.Counter) -> str:
    return ", ".join(f"{n} x {dtype}" for dtype, n in sorted(counts.items())) or "none"


def check_layers(name: str, policy: str, networks, optimizers) -> str:
    """Raise PrecisionError unless every convolution layer computes in `policy`'s dtype and
    the optimizers scale the loss exactly when it is float16; else one line saying so."""
    expected = COMPUTE_DTYPE[policy]
    found = [conv_layer_dtypes(network) for network in networks]
    wrapped = [isinstance(o, keras.optimizers.LossScaleOptimizer) for o in optimizers]
    problems = [
        f"{network.name}'s convolutions compute in {_describe(counts)}"
        for network, counts in zip(networks, found, strict=True)
        if set(counts) != {expected}
    ]
    if any(wrapped) != (expected == "float16") or len(set(wrapped)) > 1:
        problems.append(f"loss scaling on the optimizers is {wrapped}")
    if problems:
        raise PrecisionError(f"{name} names {policy} ({expected}), but " + "; ".join(problems))
    return (
        f"{' / '.join(f'{n.name} {_describe(c)}' for n, c in zip(networks, found, strict=True))}"
        f" conv layers; {'loss-scaled' if any(wrapped) else 'unscaled'} optimizers"
    )


def check_graph(name: str, policy: str, functions) -> str:
    """Raise PrecisionError unless every convolution op of the step graphs to be timed
    computes in `policy`'s dtype; else one line saying so."""
    expected = COMPUTE_DTYPE[policy]
    counts = sum((conv_op_dtypes(f) for f in functions), collections.Counter())
    if set(counts) != {expected}:
        raise PrecisionError(
            f"{name} names {policy}, but the convolution ops of its traced step are "
            f"{_describe(counts)}"
        )
    return f"traced step: {_describe(counts)} conv ops"


def _tf_functions(function, seen=None) -> list:
    """The tf.functions reachable from a Python function's closure (Keras's `train_function`
    closes over `multi_step_on_iterator` and `one_step_on_data`)."""
    seen = set() if seen is None else seen
    found = []
    for cell in getattr(function, "__closure__", None) or ():
        value = cell.cell_contents
        if id(value) in seen:
            continue
        seen.add(id(value))
        if hasattr(value, "experimental_get_tracing_count"):
            found.append(value)
        elif callable(value) and not isinstance(value, keras.Model):
            found += _tf_functions(value, seen)
            found += _tf_functions(getattr(value, "__wrapped__", None), seen)
    return found


# ----------------------------------------------------------------------------- variants
class Variant:
    """One way of training, kept alive between rounds: networks, compiled step, iterator."""

    name: str
    policy: str  # the dtype policy it names and is checked against
    batch_size: int
    steps_per_call = 1
    # Emulated 16-bit math can be ten times slower: time it over fewer steps.
    step_share = 1.0
    networks: tuple[keras.Model, keras.Model]
    optimizers: tuple[keras.optimizers.Optimizer, ...]

    def call(self) -> None:
        """Run one call of the compiled step (`steps_per_call` steps) and wait for it."""
        raise NotImplementedError

    def traces(self) -> int:
        """How many times its step has been traced so far."""
        raise NotImplementedError

    def step_functions(self) -> list:
        """The concrete functions that `call` runs (after warm-up)."""
        raise NotImplementedError


class TutorialVariant(Variant):
    """The TF tutorial's `@tf.function` step on its own input pipeline."""

    def __init__(self, config: TrainConfig, images: np.ndarray, batch_size: int):
        self.name, self.policy, self.batch_size = "(a) TF tutorial loop", "float32", batch_size
        with precision_policy(self.policy):
            self.networks = build_networks(config, IMAGE_SHAPE, None)
        self.loop = TutorialLoop(*self.networks, config.latent_dim)
        self.optimizers = (self.loop.generator_optimizer, self.loop.discriminator_optimizer)
        self.iterator = iter(tutorial_dataset(images, batch_size))
        self.batch = None

    def call(self) -> None:
        self.batch = next(self.iterator)
        float(self.loop.step(self.batch)[0])

    def traces(self) -> int:
        return self.loop.step.experimental_get_tracing_count()

    def step_functions(self) -> list:
        return [self.loop.step.get_concrete_function(self.batch)]


class KerasVariant(Variant):
    """A Keras model's compiled `train_function`, called as `fit` calls it for each batch."""

    def __init__(
        self,
        name: str,
        policy: str,
        model: keras.Model,
        dataset: tf.data.Dataset,
        batch_size: int,
        step_share: float = 1.0,
    ):
        self.name, self.policy, self.model = name, policy, model
        self.batch_size, self.step_share = batch_size, step_share
        self.steps_per_call = int(model.steps_per_execution)
        self.networks = (model.generator, model.discriminator)
        self.optimizers = (model.d_optimizer, model.g_optimizer)
        # train_step's Python body runs only while tf.function traces it.
        self.train_step_traces = 0
        train_step = model.train_step

        def counted_train_step(data):
            self.train_step_traces += 1
            return train_step(data)

        model.train_step = counted_train_step
        model.make_train_function()
        self.function = model.train_function
        self.tf_functions = _tf_functions(self.function)
        self.iterator = iter(dataset)

    def call(self) -> None:
        logs = self.function(self.iterator)
        float(next(iter(logs.values())))

    def traces(self) -> int:
        return self.train_step_traces + sum(
            f.experimental_get_tracing_count() for f in self.tf_functions
        )

    def step_functions(self) -> list:
        # The outer function's graph holds the step (one_step_on_data) in its library.
        return [
            f.get_concrete_function(self.iterator)
            for f in self.tf_functions
            if f.name == "multi_step_on_iterator"
        ]


def keras_io_variant(config: TrainConfig, images: np.ndarray, batch_size: int) -> Variant:
    with precision_policy("float32"):
        generator, discriminator = build_networks(config, IMAGE_SHAPE, None)
    model = KerasIoGAN(generator, discriminator, config.latent_dim)
    model.compile(keras.optimizers.Adam(1e-4), keras.optimizers.Adam(1e-4))
    dataset = data.make_dataset(images, batch_size=batch_size, seed=0, with_labels=False)
    return KerasVariant("(b) keras.io fit step", "float32", model, dataset, batch_size)


def kit_variant(
    name: str,
    config: TrainConfig,
    images: np.ndarray,
    steps_per_execution: int = 1,
    step_share: float = 1.0,
) -> Variant:
    policy = hardware.resolve_precision(config.precision)
    with precision_policy(policy):
        # total_steps only sets the length of a "linear" learning-rate schedule, which costs
        # the same per step whatever the length.
        gan = build_gan(config, IMAGE_SHAPE, None, total_steps=10_000)
        if steps_per_execution > 1:
            gan.compile(
                gan.d_optimizer,
                gan.g_optimizer,
                loss=gan.loss_name,
                label_smoothing=gan.label_smoothing,
                steps_per_execution=steps_per_execution,
            )
    dataset = data.make_dataset(images, batch_size=config.batch_size, seed=0, with_labels=False)
    return KerasVariant(name, policy, gan, dataset, config.batch_size, step_share)


def variants_for(arch: str, images: np.ndarray) -> tuple[list[Variant], int]:
    if arch == "tutorial":
        kit = TrainConfig(
            model="tutorial", batch_size=256, d_learning_rate=1e-4, g_learning_rate=1e-4
        )
    else:
        kit = get_preset("demo").config
    batch = kit.batch_size
    native_bf16 = hardware.cpu_has_bfloat16() or bool(hardware.gpu_compute_capabilities())
    default = replace(kit, fused=False, precision="auto", ema_decay=None, jit_compile=False)
    fused = replace(kit, fused=True, precision="float32", ema_decay=None, jit_compile=False)
    auto = hardware.resolve_precision("auto")
    variants = [
        TutorialVariant(kit, images, batch),
        keras_io_variant(kit, images, batch),
        kit_variant(f"(c) kit default (alternating, precision auto = {auto})", default, images),
        kit_variant("(c) kit fused, float32", fused, images),
        kit_variant("(c) kit fused, float32, XLA", replace(fused, jit_compile=True), images),
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
def calls_for(variant: Variant, steps: int) -> int:
    return max(2, round(steps * variant.step_share / variant.steps_per_call))


def bench_arch(
    arch: str, images: np.ndarray, steps: int, repeats: int, warmup: int, peak: float
) -> str:
    variants, flops_per_image = variants_for(arch, images)
    for variant in variants:
        check = check_layers(variant.name, variant.policy, variant.networks, variant.optimizers)
        print(f"  {arch}: {variant.name}: {variant.policy}: {check}", file=sys.stderr)
    traced = {}
    for variant in variants:  # trace and warm up, outside the timed rounds
        for _ in range(max(1, warmup)):
            variant.call()
        check = check_graph(variant.name, variant.policy, variant.step_functions())
        traced[variant.name] = variant.traces()
        print(
            f"  {arch}: {variant.name}: {check}; traced {traced[variant.name]} time(s)",
            file=sys.stderr,
        )
    per_step: dict[str, list[float]] = {v.name: [] for v in variants}
    round_medians: dict[str, list[float]] = {v.name: [] for v in variants}
    for round_ in range(repeats):
        for variant in variants:
            gc.collect()  # not inside a timed call
            times = []
            for _ in range(calls_for(variant, steps)):
                start = time.perf_counter()
                variant.call()
                times.append((time.perf_counter() - start) / variant.steps_per_call)
            per_step[variant.name] += times
            round_medians[variant.name].append(statistics.median(times))
        print(f"  {arch}: round {round_ + 1}/{repeats} done", file=sys.stderr)

    batch = variants[0].batch_size
    reference = statistics.median(per_step[variants[0].name])
    lines = [
        f"### {arch} networks, batch {batch}, {flops_per_image / 1e6:.0f} MFLOP per image",
        "",
        "| variant | computes in | images/s | ms/step | rounds | vs (a) | GFLOP/s | of peak "
        "| MNIST epoch |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    notes = []
    for variant in variants:
        step = statistics.median(per_step[variant.name])
        spread = round_medians[variant.name]
        rate = variant.batch_size / step
        gflops = rate * flops_per_image / 1e9
        retraces = variant.traces() - traced[variant.name]
        mark = " (retraced)" if retraces else ""
        lines.append(
            f"| {variant.name}{mark} | {COMPUTE_DTYPE[variant.policy]} | {rate:.0f} "
            f"| {step * 1e3:.1f} | {min(spread) * 1e3:.0f}-{max(spread) * 1e3:.0f} "
            f"| {reference / step:.2f}x | {gflops:.0f} | {gflops / peak:.0%} "
            f"| {MNIST_EPOCH / rate:.0f} s |"
        )
        if retraces:
            notes.append(f"{variant.name} retraced {retraces} time(s) while timed")
    timed = sorted({len(times) for times in per_step.values()})
    lines += [
        "",
        f"Per-step medians of {' / '.join(map(str, timed))} timed steps per variant; "
        "rounds: min-max of the rounds' medians (ms).",
        "; ".join(notes) + "." if notes else "No variant was traced while timed.",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--arch", choices=("tutorial", "demo", "both"), default="both")
    parser.add_argument(
        "--steps",
        type=int,
        default=None,
        help="steps per variant and round (default: 20 at batch 256, 100 at batch 32; "
        "emulated bfloat16 a tenth of it, at least 2 calls)",
    )
    parser.add_argument("--repeats", type=int, default=5, help="interleaved rounds")
    parser.add_argument(
        "--warmup", type=int, default=5, help="untimed calls per variant before the rounds"
    )
    parser.add_argument("--out", type=Path, default=None, help="also write the tables here")
    args = parser.parse_args(argv)

    images, _ = data.load_arrays("mnist")
    peak = matmul_peak_gflops("float32")
    peak_bf16 = matmul_peak_gflops("bfloat16")
    header = [
        f"TensorFlow {tf.__version__}, Keras {keras.__version__}; {hardware.describe()}",
        f"matrix-multiply peak (2048 x 2048): float32 {peak:.0f} GFLOP/s, "
        f"bfloat16 {peak_bf16:.0f} GFLOP/s; {args.repeats} interleaved rounds",
        "",
    ]
    print("\n".join(header))
    tables = []
    for arch in ("tutorial", "demo") if args.arch == "both" else (args.arch,):
        steps = args.steps or (20 if arch == "tutorial" else 100)
        try:
            table = bench_arch(arch, images, steps, args.repeats, args.warmup, peak)
        except PrecisionError as error:
            print(f"bench: {error}", file=sys.stderr)
            return 1
        print(table + "\n", flush=True)
        tables.append(table)
    if args.out:
        args.out.write_text("\n".join(header) + "\n".join(t + "\n\n" for t in tables))
    return 0


if __name__ == "__main__":
    sys.exit(main())
