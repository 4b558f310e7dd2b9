"""How long each recipe trains on this machine until its samples are good, side by side.

    python bench/time_to_quality.py                        # tutorial, keras.io, demo: ~20 min
    python bench/time_to_quality.py --kit-presets demo --out bench/time_to_quality.md
    python bench/time_to_quality.py --recipes kit --minutes 0.1,0.2      # a smoke test

Trains these recipes one after another, in one process, with one clock and one scoring:

* `tutorial`: the TensorFlow DCGAN tutorial: its networks (`gan_kit.models.build_tutorial_*`),
  its loop (bench/reference_loops.py `TutorialLoop`: simultaneous update, Adam 1e-4 for both),
  its pipeline (`tutorial_dataset`), batch 256, latent 100.
* `kerasio`: the keras.io DCGAN ("GAN overriding Model.train_step"): its networks and pipeline
  (`build_kerasio_*`, `kerasio_dataset`, images in [0, 1]), its `fit` step (`KerasIoGAN`),
  Adam 3e-4 for both, batch 64, latent 128. Its sigmoid samples are rescaled (x * 2 - 1) before
  scoring. Departure: it trains on the 60,000 training digits only, where keras.io adds the
  test digits, because the test digits are what every recipe is scored against.
* `kit`: each preset of `--kit-presets` (one row each), trained with the kit's `GAN.fit` as
  bench/ablation.py does. A preset may decay its learning rates linearly to 0 over the run
  (`lr_schedule="linear"`), so the run's length must be known when it is built: each preset is
  first timed in a throwaway model (ms/step over 30 steps after a warm-up) and then built with
  total_steps = budget / (seconds per step); the run stops at the budget or at total_steps,
  whichever comes first.

Every recipe trains one warm-up step (which traces its graph) before its clock starts: that step
trains the networks but is neither timed nor counted in the steps. Later retraces (for the
smaller last batch of an epoch) are on the clock, as they are in a student's run. The clock
(bench/quality.py `Clock`) counts training seconds only: every `--every-seconds` of training and
at each `--minutes` mark it stops, draws 2,000 samples from one fixed latent batch per recipe
(the generator in inference mode; a kit preset's EMA generator if it has one) and scores them
with the kit's MNIST classifier against the 10,000 test digits: Frechet distance (FD) in its
feature space, the share classified with confidence above 0.9, precision and recall. The last
mark is the budget.

The table shows the minute marks, and how long each recipe took to reach the FD that the last
kit preset reached at the budget (found among all scored rows). The seconds depend on the load:
run nothing else beside it.
"""

from __future__ import annotations

import argparse
import datetime
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parent))

from gan_kit import hardware  # noqa: E402

hardware.quiet_tensorflow_import()

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from quality import SAMPLES, Clock, QualityProbe, Scorer  # noqa: E402
from reference_loops import (  # noqa: E402
    KerasIoGAN,
    TutorialLoop,
    build_kerasio_discriminator,
    build_kerasio_generator,
    kerasio_dataset,
    tutorial_dataset,
)

from gan_kit import data  # noqa: E402
from gan_kit.config import TrainConfig  # noqa: E402
from gan_kit.families import build_gan  # noqa: E402
from gan_kit.models import build_tutorial_discriminator, build_tutorial_generator  # noqa: E402
from gan_kit.presets import get_preset  # noqa: E402
from gan_kit.runs import precision_policy  # noqa: E402

RECIPES = ("tutorial", "kerasio", "kit")
IMAGE_SHAPE = (28, 28, 1)
LATENT_SEED = 1234  # every recipe is scored on its own fixed latent batch drawn from this seed
SAMPLE_BATCH = 500  # generator batch when sampling; any size gives the same images
UNBOUNDED_STEPS = 10**9  # `fit` needs a length; the clock's budget ends the run
TIMING_WARMUP_STEPS = 5  # the first traces the step, the next let caches and threads settle
TIMING_STEPS = 30
GOAL_SAMPLES = 10_000  # the goal is stated on this many samples, scored at the budget


@dataclass
class RecipeResult:
    recipe: str  # one of RECIPES
    name: str  # the recipe's, or the kit preset's
    description: str
    batch_size: int
    clock: Clock  # its rows, training seconds and (clocked) steps
    final: dict  # scores of GOAL_SAMPLES samples at the end of the budget


# ----------------------------------------------------------------------------- sampling
def fixed_latent(latent_dim: int, n: int = SAMPLES) -> np.ndarray:
    """The z (N(0, I)) a reference recipe is scored on, the same at every mark."""
    rng = np.random.default_rng(LATENT_SEED)
    return rng.standard_normal((n, latent_dim)).astype("float32")


def sample_in_batches(generator: keras.Model, z: np.ndarray) -> np.ndarray:
    """generator(z) in inference mode, batch by batch: (N, 28, 28, 1) float32."""
    batches = [
        keras.ops.convert_to_numpy(generator(z[start : start + SAMPLE_BATCH], training=False))
        for start in range(0, len(z), SAMPLE_BATCH)
    ]
    return np.concatenate(batches).astype("float32")


def make_clock(
    sample: Callable[[], np.ndarray], scorer: Scorer, marks: list[float], **limits
) -> Clock:
    return Clock(
        sample,
        scorer,
        at_seconds=marks,
        max_seconds=marks[-1],
        log=lambda line: print("  " + line, flush=True),
        **limits,
    )


# ----------------------------------------------------------------------------- recipes
def train_tutorial(images: np.ndarray, scorer: Scorer, marks: list[float]) -> RecipeResult:
    latent_dim, batch_size = 100, 256
    keras.utils.set_random_seed(0)
    generator = build_tutorial_generator(latent_dim=latent_dim)
    loop = TutorialLoop(generator, build_tutorial_discriminator(), latent_dim)
    batches = iter(tutorial_dataset(images, batch_size))
    loop.step(next(batches))  # warm-up: traces the step, off the clock
    z = fixed_latent(latent_dim)
    clock = make_clock(lambda: sample_in_batches(generator, z), scorer, marks)
    done = False
    while not done:
        clock.start()
        loop.step(next(batches))  # on a CPU the call returns when the step has run
        done = clock.stop()
    description = (
        "TF DCGAN tutorial: its networks, `TutorialLoop` (simultaneous update), Adam 1e-4, "
        "latent 100"
    )
    final = scorer(sample_in_batches(generator, fixed_latent(latent_dim, GOAL_SAMPLES)))
    return RecipeResult("tutorial", "tutorial", description, batch_size, clock, final)


def train_kerasio(images: np.ndarray, scorer: Scorer, marks: list[float]) -> RecipeResult:
    latent_dim, batch_size = 128, 64
    keras.utils.set_random_seed(0)
    generator = build_kerasio_generator(latent_dim=latent_dim)
    model = KerasIoGAN(generator, build_kerasio_discriminator(), latent_dim)
    model.compile(keras.optimizers.Adam(3e-4), keras.optimizers.Adam(3e-4))
    dataset = kerasio_dataset(images, batch_size)
    model.fit(dataset, epochs=1, steps_per_epoch=1, verbose=0, shuffle=False)  # warm-up
    z = fixed_latent(latent_dim)
    # Sigmoid samples in [0, 1]; the scorer takes [-1, 1], like the kit's and the tutorial's.
    clock = make_clock(lambda: sample_in_batches(generator, z) * 2.0 - 1.0, scorer, marks)
    fit_on_clock(model, dataset, UNBOUNDED_STEPS, clock)
    description = (
        "keras.io DCGAN (GAN overriding Model.train_step): its networks, `KerasIoGAN`, "
        "Adam 3e-4, latent 128, images in [0, 1]"
    )
    final = scorer(sample_in_batches(generator, fixed_latent(latent_dim, GOAL_SAMPLES)) * 2 - 1)
    return RecipeResult("kerasio", "kerasio", description, batch_size, clock, final)


def fit_on_clock(model: keras.Model, dataset: tf.data.Dataset, steps: int, clock: Clock) -> None:
    """`model.fit` for at most `steps` steps, timed (and stopped at the budget) by `clock`."""
    model.fit(
        dataset,
        epochs=1,
        steps_per_epoch=steps,
        callbacks=[QualityProbe(clock)],
        verbose=0,
        shuffle=False,
    )


def kit_config(preset: str) -> TrainConfig:
    """The preset's config, if the MNIST scorer can judge it.

    `PRESET@PRECISION` (e.g. `demo@float32`) trains the preset in that precision: on a CPU
    with native bfloat16, the row the 2-core float32 machines would see.
    """
    preset, _, precision = preset.partition("@")
    config = get_preset(preset).config
    if precision:
        config = replace(config, precision=precision).validate()
    if config.dataset != "mnist" or config.conditional:
        raise ValueError(f"preset {preset!r} is not an unconditional MNIST GAN: nothing to score")
    if config.image_shape not in (None, IMAGE_SHAPE, list(IMAGE_SHAPE)):
        raise ValueError(f"preset {preset!r} trains at {config.image_shape}, not 28x28x1")
    return config


def build_kit_gan(config: TrainConfig, total_steps: int):
    keras.utils.set_random_seed(config.seed)
    with precision_policy(config.precision):
        return build_gan(config, IMAGE_SHAPE, None, total_steps=total_steps)


def kit_dataset(config: TrainConfig, images: np.ndarray) -> tf.data.Dataset:
    return data.make_dataset(images, batch_size=config.batch_size, seed=config.seed, epochs=None)


def measure_seconds_per_step(config: TrainConfig, images: np.ndarray) -> float:
    """Seconds per training step of `config` on the benchmark's clock, in a throwaway model."""
    gan = build_kit_gan(config, total_steps=TIMING_WARMUP_STEPS + TIMING_STEPS)
    dataset = kit_dataset(config, images)
    gan.fit(dataset, epochs=1, steps_per_epoch=TIMING_WARMUP_STEPS, verbose=0, shuffle=False)
    clock = Clock(sample=None, scorer=None)  # no marks and no limits: it only counts
    fit_on_clock(gan, dataset, TIMING_STEPS, clock)
    return clock.seconds / clock.step


def train_kit(preset: str, images: np.ndarray, scorer: Scorer, marks: list[float]) -> RecipeResult:
    config = kit_config(preset)
    budget = marks[-1]
    seconds_per_step = measure_seconds_per_step(config, images)
    # The warm-up step below is one of total_steps, so a linear schedule ends at 0 exactly. A
    # constant rate needs no length: the clock alone ends the run (a short timing that caught a
    # slow spell would otherwise cut it short).
    if config.lr_schedule == "linear":
        total_steps = max(2, int(budget / seconds_per_step))
    else:
        total_steps = UNBOUNDED_STEPS
    print(
        f"  {preset}: {seconds_per_step * 1e3:.1f} ms/step over {TIMING_STEPS} timed steps "
        f"-> total_steps {total_steps} for {budget:g} s (lr_schedule {config.lr_schedule!r})",
        flush=True,
    )
    gan = build_kit_gan(config, total_steps=total_steps)
    dataset = kit_dataset(config, images)
    gan.fit(dataset, epochs=1, steps_per_epoch=1, verbose=0, shuffle=False)  # warm-up
    clock = make_clock(
        lambda: gan.generate(SAMPLES, seed=LATENT_SEED),
        scorer,
        marks,
        max_steps=total_steps - 1,
    )
    fit_on_clock(gan, dataset.skip(1), total_steps - 1, clock)  # after the warm-up's batch
    rates = (
        f"{config.d_learning_rate:g}"
        if config.d_learning_rate == config.g_learning_rate
        else f"D {config.d_learning_rate:g} / G {config.g_learning_rate:g}"
    )
    description = (
        f"gan_kit preset `{preset}`: {config.model}, {config.loss}, {config.optimizer} {rates} "
        f"({config.lr_schedule}, total_steps {total_steps}), latent {config.latent_dim}, "
        f"EMA {config.ema_decay}, fused {config.fused}, XLA {gan.jit_compile}, "
        f"precision {hardware.resolve_precision(config.precision)}"
    )
    final = scorer(gan.generate(GOAL_SAMPLES, seed=LATENT_SEED))
    return RecipeResult("kit", preset, description, config.batch_size, clock, final)


# ----------------------------------------------------------------------------- report
def describe_machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.partition(":")[2].strip()
                break
    except OSError:
        pass
    bf16 = [flag for flag in ("avx512_bf16", "amx_bf16") if flag in hardware.cpu_flags()]
    return (
        f"{datetime.datetime.now():%Y-%m-%d %H:%M}; {cpu}; {hardware.describe()}; "
        f"bfloat16 CPU flags: {', '.join(bf16) or 'none'}; "
        f"TensorFlow {tf.__version__}, Keras {keras.__version__}"
    )


def format_time(seconds: float) -> str:
    return f"{int(seconds // 60)}:{int(seconds % 60):02d}"


def minutes_label(minutes: float) -> str:
    return f"{minutes:g} min"


def row_at(rows: list[dict], seconds: float, is_budget: bool) -> dict | None:
    """The row scored at this mark: the first at or after it. A run that stopped at its
    total_steps just before the budget is shown at the budget by its last row."""
    for row in rows:
        if row["seconds"] >= seconds:
            return row
    return rows[-1] if is_budget and rows else None


def format_cell(row: dict | None, mark_seconds: float) -> str:
    if row is None:
        return "-"
    cell = (
        f"FD {row['fd']:.1f}, {row['confident']:.0%}, "
        f"P {row['precision']:.2f}, R {row['recall']:.2f}"
    )
    if row["seconds"] < mark_seconds:
        cell += f" (at {format_time(row['seconds'])})"
    return cell


def time_to_reach(rows: list[dict], target_fd: float, budget_minutes: float) -> str:
    for row in rows:
        if row["fd"] <= target_fd:
            return f"{format_time(row['seconds'])} (step {row['step']})"
    return f"not within {minutes_label(budget_minutes)}"


def markdown_report(
    results: list[RecipeResult], minutes: list[float], every_seconds: float, machine: str
) -> str:
    budget = minutes[-1] * 60
    kit_rows = [r for r in results if r.recipe == "kit"]
    target = kit_rows[-1] if kit_rows and kit_rows[-1].clock.rows else None
    target_fd = target.clock.rows[-1]["fd"] if target else None

    header = ["recipe", "batch", "steps", "ms/step"] + [minutes_label(m) for m in minutes]
    header.append(f"{minutes_label(minutes[-1])}, {GOAL_SAMPLES:,} samples")
    if target is not None:
        header.append(
            f"time to FD <= {target_fd:.1f} ({target.name} at {minutes_label(minutes[-1])})"
        )
    lines = [
        "# Time to quality: the TF tutorial, keras.io and the kit, side by side",
        "",
        machine,
        "",
        f"Budget {minutes_label(minutes[-1])} of training per recipe (scoring excluded), scored "
        f"every {every_seconds:g} s and at each mark on {SAMPLES:,} samples from one fixed "
        "latent batch. Each cell: Frechet distance in the kit's MNIST classifier's feature "
        "space (real test digits score about 2), share of samples classified with confidence "
        "above 0.9, precision, recall; scored at the first step past the mark. Steps and ms/step "
        "exclude the one untimed warm-up step. The last column scores the generator at the "
        f"budget again on {GOAL_SAMPLES:,} samples, the count the goal is stated on (an FD of "
        "fewer samples is biased upwards). Time to reach: training time (m:ss) of the first "
        "scored row at or below that FD.",
        "",
        "| " + " | ".join(header) + " |",
        "|---|" + "---:|" * 3 + "---|" * (len(header) - 4),
    ]
    for result in results:
        clock = result.clock
        ms_per_step = clock.seconds / clock.step * 1e3 if clock.step else float("nan")
        cells = [result.name, str(result.batch_size), str(clock.step), f"{ms_per_step:.1f}"]
        for m in minutes:
            mark = m * 60
            cells.append(format_cell(row_at(clock.rows, mark, mark >= budget), mark))
        final = result.final
        cells.append(
            f"FD {final['fd']:.1f}, {final['confident']:.0%}, P {final['precision']:.2f}, "
            f"R {final['recall']:.2f}, {final['classes']} classes"
        )
        if target is not None:
            cells.append(time_to_reach(clock.rows, target_fd, minutes[-1]))
        lines.append("| " + " | ".join(cells) + " |")
    lines += ["", "Recipes:", ""]
    lines += [f"* `{r.name}`, batch {r.batch_size}: {r.description}" for r in results]
    return "\n".join(lines) + "\n"


# ----------------------------------------------------------------------------- main
def parse_list(text: str) -> list[str]:
    return [item.strip() for item in text.split(",") if item.strip()]


def parse_minutes(text: str) -> list[float]:
    minutes = sorted({float(item) for item in parse_list(text)})
    if not minutes or minutes[0] <= 0:
        raise argparse.ArgumentTypeError(f"--minutes needs positive numbers, got {text!r}")
    return minutes


def score_marks(minutes: list[float], every_seconds: float) -> list[float]:
    """Training seconds to score at: every `every_seconds` up to the budget, and each mark."""
    budget = minutes[-1] * 60
    grid = np.arange(every_seconds, budget, every_seconds).tolist()
    return sorted({*grid, *(m * 60 for m in minutes)})


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--minutes",
        type=parse_minutes,
        default=parse_minutes("1,2,3,5"),
        help="marks shown in the table, in training minutes; the last is the budget",
    )
    parser.add_argument("--every-seconds", type=float, default=30.0, help="also score this often")
    parser.add_argument(
        "--recipes", default=",".join(RECIPES), help="a comma list of: tutorial, kerasio, kit"
    )
    parser.add_argument(
        "--kit-presets",
        default="demo",
        help="a comma list: one row per preset (PRESET@float32 forces a precision)",
    )
    parser.add_argument("--out", type=Path, default=Path("bench/time_to_quality.md"))
    args = parser.parse_args(argv)

    recipes = parse_list(args.recipes)
    unknown = sorted(set(recipes) - set(RECIPES))
    if unknown:
        parser.error(f"unknown recipe(s) {', '.join(unknown)}; choose from {', '.join(RECIPES)}")
    presets = parse_list(args.kit_presets) if "kit" in recipes else []
    try:  # before anything trains: a typo should not cost the minutes of the recipes before it
        for preset in presets:
            kit_config(preset)
    except ValueError as error:
        parser.error(str(error))

    machine = describe_machine()
    print(machine, flush=True)
    marks = score_marks(args.minutes, args.every_seconds)
    images, _ = data.load_arrays("mnist")
    scorer = Scorer()
    results = []
    for recipe in recipes:
        names = presets if recipe == "kit" else [recipe]
        for name in names:
            print(f"{name}:", flush=True)
            if recipe == "tutorial":
                results.append(train_tutorial(images, scorer, marks))
            elif recipe == "kerasio":
                results.append(train_kerasio(images, scorer, marks))
            else:
                results.append(train_kit(name, images, scorer, marks))

    report = markdown_report(results, args.minutes, args.every_seconds, machine)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(report)
    print("\n" + report, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
