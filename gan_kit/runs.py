"""The main job: train a GAN into a run folder, resume it, and read it back.

A run folder holds everything a class wants to look at:

    config.json            the TrainConfig of the run
    history.csv            per-epoch d_loss, g_loss, D(x), D(G(z)), seconds (and metrics)
    steps.csv              d_loss, g_loss, D(x), D(G(z)) every few steps (callbacks.StepLog)
    history.png            the step curves, and the per-epoch metrics
    samples/epoch_NNNN.png the fixed latent batch after every epoch (0: untrained)
    final.png              the last grid, bigger
    classes.png            conditional runs: one row per class, one column per z
    training.gif           the frames of samples/, the epoch written on each
    checkpoints/           the last two epochs' models and state.json (resume from here)
    logs/                  TensorBoard

    run = train(get_preset("demo").config, "runs/demo")
    gan, config = load_run("runs/demo")
"""

from __future__ import annotations

import contextlib
import csv
import json
import math
import os
import shutil
import sys
import tempfile
import zipfile
from dataclasses import dataclass, replace
from pathlib import Path

import imageio.v3 as iio
import keras
import numpy as np

from gan_kit import callbacks, data, distribute, folders, hardware, viz
from gan_kit.config import TrainConfig
from gan_kit.families import build_gan
from gan_kit.gan import GAN

IN_MEMORY_DATASETS = ("mnist", "fashion_mnist", "cifar10")
STEP_LOG = "steps.csv"  # written by callbacks.StepLog, read by callbacks.read_step_log


class RunError(RuntimeError):
    """A run folder cannot be used as asked; the message says why and what to do."""


class TrainingInterrupted(RuntimeError):
    """Ctrl-C during training: the last finished epoch is saved and can be resumed."""


@dataclass
class Run:
    run_dir: Path
    config: TrainConfig
    gan: GAN
    history: dict
    epochs_done: int


@contextlib.contextmanager
def precision_policy(name: str):
    """Build layers under a dtype policy ("auto" resolved for this machine), then restore
    the global one."""
    previous = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy(hardware.resolve_precision(name))
    try:
        yield
    finally:
        keras.mixed_precision.set_global_policy(previous)


# ------------------------------------------------------------------------------ folders
def check_run_dir(run_dir: str | Path, *, overwrite: bool = False) -> Path:
    """Refuse (before anything is written) to clobber a run or to write where we cannot."""
    run_dir = Path(run_dir)
    if run_dir.exists() and not run_dir.is_dir():
        raise RunError(f"{run_dir} is a file, not a run folder; choose another --out")
    if run_dir.exists() and any(run_dir.iterdir()):
        if not overwrite:
            raise RunError(
                f"run folder {run_dir} already exists; continue it with --resume {run_dir}, "
                "start it over with --overwrite, or choose another --out"
            )
        if not (run_dir / "config.json").exists():
            raise RunError(
                f"{run_dir} is not empty and is not a run folder (no config.json); "
                "--overwrite only replaces run folders: choose another --out"
            )
    existing = next(parent for parent in [run_dir, *run_dir.parents] if parent.exists())
    if not existing.is_dir() or not os.access(existing, os.W_OK):
        raise RunError(
            f"cannot write to {run_dir} ({existing} is not a writable folder); choose another --out"
        )
    return run_dir


def create_run_dir(run_dir: Path, *, overwrite: bool = False) -> Path:
    check_run_dir(run_dir, overwrite=overwrite)
    if run_dir.exists() and overwrite:
        shutil.rmtree(run_dir)
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise RunError(
            f"cannot write to {run_dir} ({error.strerror}); choose another --out"
        ) from None
    return run_dir


def read_state(run_dir: Path) -> dict:
    state_path = Path(run_dir) / "checkpoints" / "state.json"
    if not (Path(run_dir) / "config.json").exists():
        raise RunError(
            f"{run_dir} is not a run folder (no config.json); train one with --out {run_dir}"
        )
    if not state_path.exists():
        raise RunError(
            f"{run_dir} has no checkpoint yet (no finished epoch); "
            f"start it over with: python -m gan_kit train --out {run_dir} --overwrite"
        )
    try:
        return json.loads(state_path.read_text())
    except (json.JSONDecodeError, OSError) as error:
        raise RunError(f"{state_path} is corrupt ({error}); start over with --overwrite") from None


def load_checkpoint(path: Path) -> GAN:
    """Read a `.keras` checkpoint, turning every way it can be broken into one RunError."""
    if not path.exists():
        raise RunError(f"checkpoint {path} is missing; start over with --overwrite")
    try:
        gan = keras.models.load_model(path, compile=True)
    except (ValueError, OSError, KeyError, EOFError, zipfile.BadZipFile) as error:
        first_line = (
            str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        )
        raise RunError(
            f"checkpoint {path} cannot be read ({first_line[:120]}); delete it and its "
            "state.json to start over, or train again with --overwrite"
        ) from None
    if not isinstance(gan, GAN):
        raise RunError(f"{path} is not a gan_kit checkpoint")
    return gan


def read_run_config(run_dir: str | Path) -> TrainConfig:
    """The configuration of a run folder that has a checkpoint (RunError otherwise)."""
    read_state(Path(run_dir))
    return TrainConfig.load(Path(run_dir) / "config.json")


def load_run(run_dir: str | Path) -> tuple[GAN, TrainConfig]:
    """The trained model of a run folder (its newest checkpoint) and its configuration."""
    run_dir = Path(run_dir)
    state = read_state(run_dir)
    config = TrainConfig.load(run_dir / "config.json")
    gan = load_checkpoint(run_dir / "checkpoints" / state["checkpoint"])
    return gan, config


# ------------------------------------------------------------------------------ data
def resolve_shapes(config: TrainConfig) -> tuple[tuple[int, int, int], int | None]:
    """(image_shape, num_classes) the networks are built for."""
    info = data.get_dataset_info(config.dataset)
    if config.conditional and config.dataset not in data.DATASETS:
        if not info.has_labels or info.num_classes < 2:
            raise ValueError(
                f"a conditional GAN needs two or more classes, and the images of "
                f"{config.dataset!r} are in {info.num_classes or 0} class sub-folder(s); put "
                "each class's images in its own sub-folder, or drop --conditional"
            )
    if config.conditional and not info.has_labels:
        raise ValueError(
            f"dataset {config.dataset!r} has no class labels, so it cannot train a conditional "
            "GAN; drop --conditional or choose a labelled dataset (mnist, fashion_mnist, cifar10)"
        )
    image_shape = config.image_shape or info.image_shape
    if None in image_shape:
        raise ValueError(
            f"{config.dataset!r} images vary in size; choose one with --image-size (e.g. 64)"
        )
    return tuple(image_shape), (info.num_classes if config.conditional else None)


def training_data(
    config: TrainConfig,
    initial_epoch: int,
    *,
    data_dir=None,
    raw_dir=None,
    replicas: tuple[int, range] | None = None,
):
    """(dataset, steps_per_epoch) of the run, starting at `initial_epoch`.

    `replicas`: (N, ids) under a strategy of N replicas, for the input pipeline that feeds the
    replicas `ids`: it yields their slices of every global batch (`data.split_batches`).
    """
    image_shape, _ = resolve_shapes(config)
    in_folder = config.dataset not in data.DATASETS
    if in_folder or config.dataset in IN_MEMORY_DATASETS:
        if in_folder:  # a folder of images, read into memory
            images, labels, _ = folders.load_folder(
                config.dataset,
                size=tuple(config.image_shape[:2]) if config.image_shape else None,
                channels=image_shape[2],
                limit=config.train_limit,
            )
        else:
            images, labels = data.load_arrays(
                config.dataset,
                "train",
                data_dir=data_dir,
                raw_dir=raw_dir,
                limit=config.train_limit,
            )
        _check_split(len(images), config.batch_size, replicas)
        dataset = data.make_dataset(
            images,
            labels if config.conditional else None,
            batch_size=config.batch_size,
            image_shape=image_shape,
            seed=config.seed,
            initial_epoch=initial_epoch,
            epochs=config.epochs,
            replicas=replicas,
        )
        return dataset, data.steps_per_epoch(len(images), config.batch_size)
    info = data.get_dataset_info(config.dataset)
    dataset = data.make_tfds_dataset(
        config.dataset,
        batch_size=config.batch_size,
        image_shape=image_shape,
        with_labels=config.conditional,
        seed=config.seed + initial_epoch,
        data_dir=data_dir,
        raw_dir=raw_dir,
    )
    num_examples = config.train_limit or _count_examples(info, data_dir)
    _check_split(num_examples, config.batch_size, replicas)
    steps = data.steps_per_epoch(num_examples, config.batch_size)
    dataset = dataset.take(steps)
    if replicas is not None:
        # Every worker reads the whole stream and keeps its slices: simple, not frugal.
        dataset = data.split_batches(dataset, *replicas)
    return dataset.repeat(), steps


def _check_split(num_examples: int, batch_size: int, replicas) -> None:
    """Refuse batches that would leave a replica without a single example."""
    if replicas is None:
        return
    last = num_examples % batch_size or batch_size
    if min(batch_size, last) < replicas[0]:
        raise ValueError(
            f"{replicas[0]} replicas cannot share the batches of {batch_size} (the last batch "
            f"of an epoch holds {last}): each needs an example; choose a batch_size and "
            f"train_limit whose batches all hold at least {replicas[0]}"
        )


def distributed_training_data(strategy, config: TrainConfig, initial_epoch: int, **kwargs):
    """`training_data` for `strategy`: under several replicas, one input pipeline per worker
    (`Strategy.distribute_datasets_from_function`), each feeding only its replicas' slices."""
    replicas = strategy.num_replicas_in_sync
    if replicas == 1:
        return training_data(config, initial_epoch, **kwargs)
    steps = []

    def dataset_fn(context):
        per_pipeline = replicas // context.num_input_pipelines
        first = context.input_pipeline_id * per_pipeline
        ids = range(first, first + per_pipeline)
        dataset, steps_per_epoch = training_data(
            config, initial_epoch, replicas=(replicas, ids), **kwargs
        )
        steps.append(steps_per_epoch)
        return dataset

    dataset = strategy.distribute_datasets_from_function(dataset_fn)
    return dataset, steps[0]


def _count_examples(info: data.DatasetInfo, data_dir) -> int:
    """Training examples of a streamed dataset, from the metadata tfds stored when preparing it."""
    import tensorflow_datasets as tfds

    builder = tfds.builder(info.tfds_name, data_dir=str(data_dir or data.default_data_dir()))
    count = sum(builder.info.splits[split].num_examples for split in info.train_split.split("+"))
    # cats_vs_dogs stores no per-label counts; about half of its images are cats.
    return count // 2 if info.keep_label is not None else count


def fixed_latents(gan: GAN, config: TrainConfig, num_classes: int | None):
    """The latent batch (and labels) that every epoch's grid shows: a class grid when conditional."""
    if num_classes is None:
        return gan.sample_latent(config.grid_size**2, seed=config.seed + 1), None
    z = gan.sample_latent(config.grid_size, seed=config.seed + 1)
    z = np.tile(z, (num_classes, 1))  # row c: class c, the same noise in every row
    labels = np.repeat(np.arange(num_classes), config.grid_size)
    return z, labels


# ------------------------------------------------------------------------------ training
def train(
    config: TrainConfig | None = None,
    run_dir: str | Path = "runs/run",
    *,
    resume: bool = False,
    epochs: int | None = None,
    time_budget: float | None = None,
    strategy: str | None = None,
    overwrite: bool = False,
    data_dir=None,
    raw_dir=None,
    verbose: int | str = "auto",
    live: bool | None = None,
    log_every: int | None = None,
) -> Run:
    """Train `config` into `run_dir`, or continue the run there (`resume=True`).

    On resume the stored config is used; `epochs` may raise its number of epochs,
    `time_budget` set its minutes of training (0: no budget; `TrainConfig.time_budget`) and
    `strategy` change how it is spread over devices or machines (`gan_kit.distribute`).
    Every finished epoch is checkpointed, so an interrupted run loses at most the epoch in
    progress, and a resumed run ends with the same weights as an uninterrupted one: on a CPU
    always, on a GPU with `config.deterministic` (TensorFlow's op determinism).

    Under `config.strategy == "multi_worker"` every worker calls this with the same arguments;
    the chief writes `run_dir`, the others a temporary folder deleted at the end.

    `verbose` is fit's (0 silent, 1 a progress bar, 2 a line per epoch; "auto": 1 on a
    terminal, else 2). `live` draws the sample grid and the step curves into the notebook as
    the run trains, under a notebook progress bar (`callbacks.LiveView`); None: in a notebook
    unless `verbose` is 0. `log_every`: steps per row of steps.csv; None: about 200 rows.
    """
    run_dir = Path(run_dir)
    history: dict = {}
    initial_epoch = 0
    # Everything that can fail on bad input fails before the run folder is written, and before
    # a multi-worker strategy waits for the other workers.
    if resume:
        state = read_state(run_dir)
        config = TrainConfig.load(run_dir / "config.json")
        changes = {"epochs": epochs, "strategy": strategy}
        config = replace(config, **{k: v for k, v in changes.items() if v is not None})
        if time_budget is not None:
            config = replace(config, time_budget=time_budget or None)
        config = config.validate()
        initial_epoch, history = int(state["epoch"]), state.get("history", {})
    else:
        if config is None:
            raise ValueError("train needs a TrainConfig (or resume=True)")
        if strategy is not None:
            config = replace(config, strategy=strategy)
        config = config.validate()
        resolve_shapes(config)
    chief = distribute.is_chief(distribute.worker_task(config.strategy))
    if chief and not resume:
        check_run_dir(run_dir, overwrite=overwrite)
    # Before TensorFlow's first op: a multi-worker strategy configures the collectives.
    tf_strategy = distribute.make_strategy(config.strategy)
    out_dir = run_dir if chief else Path(tempfile.mkdtemp(prefix="gan_kit_worker_"))
    try:
        return _train(
            config,
            run_dir,
            out_dir,
            tf_strategy,
            resume=resume,
            initial_epoch=initial_epoch,
            history=history,
            overwrite=overwrite,
            data_dir=data_dir,
            raw_dir=raw_dir,
            verbose=verbose if chief else 0,
            live=live if chief else False,
            log_every=log_every,
        )
    finally:
        if not chief:
            shutil.rmtree(out_dir, ignore_errors=True)


def _train(
    config, run_dir, out_dir, strategy, *, resume, initial_epoch, history, overwrite, **options
) -> Run:
    """`train` after its checks: `run_dir` is read on resume, `out_dir` written (the two differ
    on the workers other than the chief)."""
    data_dir, raw_dir = options["data_dir"], options["raw_dir"]
    verbose, live, log_every = options["verbose"], options["live"], options["log_every"]
    keras.utils.set_random_seed(config.seed)  # weight initialisation
    if config.deterministic:
        hardware.enable_op_determinism(config.seed)
    if resume:
        state = read_state(run_dir)
        with strategy.scope():
            gan = load_checkpoint(run_dir / "checkpoints" / state["checkpoint"])
        if initial_epoch >= config.epochs:
            print(f"{run_dir} already has {initial_epoch} epochs; raise --epochs to train more")
    else:
        image_shape, num_classes = resolve_shapes(config)
        precision = hardware.resolve_precision(config.precision)
        if verbose:
            print(f"precision {precision} (asked: {config.precision}; {hardware.describe()})")
            if strategy.num_replicas_in_sync > 1:
                print(f"strategy {config.strategy}: {strategy.num_replicas_in_sync} replicas")
    dataset, steps = distributed_training_data(
        strategy, config, initial_epoch, data_dir=data_dir, raw_dir=raw_dir
    )
    if not resume:
        with precision_policy(precision), strategy.scope():
            # Instance noise fades to zero over the whole run (Sonderby et al. 2016).
            gan = build_gan(
                config,
                image_shape,
                num_classes,
                instance_noise_steps=config.epochs * steps,
                total_steps=config.epochs * steps,
            )
        create_run_dir(out_dir, overwrite=overwrite)
        config.save(out_dir / "config.json")
        z, labels = fixed_latents(gan, config, num_classes)
        np.savez(
            out_dir / "fixed_latents.npz", z=z, **({} if labels is None else {"labels": labels})
        )
    fixed = np.load((run_dir if resume else out_dir) / "fixed_latents.npz")
    grid = callbacks.SampleGrid(
        out_dir / "samples",
        fixed["z"],
        fixed["labels"] if "labels" in fixed else None,
        config.grid_size,
    )
    grid.set_model(gan)
    if not resume:
        grid.draw(0)

    checkpoint = callbacks.RunCheckpoint(out_dir / "checkpoints", history)
    extra = [metrics_callback(config, gan, out_dir, data_dir, raw_dir)] if config.eval_every else []
    step_log = callbacks.StepLog(out_dir / STEP_LOG, every=log_every)
    live_view = callbacks.LiveView(
        step_log,
        grid.z,
        grid.labels,
        config.grid_size,
        live=(bool(verbose) and callbacks.in_notebook()) if live is None else live,
        title=run_dir.name,
    )
    if live_view.live:
        verbose = 0  # the live view has its own progress bar
    elif verbose == "auto":
        verbose = 1 if sys.stdout.isatty() else 2
    interrupted = False
    budget = None
    if config.time_budget:
        seconds = [value for value in history.get("seconds", []) if not math.isnan(value)]
        budget = callbacks.TimeBudget(config.time_budget, spent_seconds=sum(seconds))
        if seconds and budget.has_no_room(sum(seconds), seconds[-1]):
            print(
                f"{run_dir} has used its time budget ({config.time_budget:g} min) after "
                f"{initial_epoch} epochs; give --time-budget more minutes (or 0) to train more"
            )
            initial_epoch = config.epochs
        elif options["verbose"]:
            print(
                f"time budget {config.time_budget:g} min: training stops after the last epoch "
                f"that fits (at most {config.epochs})"
            )
    if initial_epoch < config.epochs:
        try:
            gan.fit(
                dataset,
                epochs=config.epochs,
                initial_epoch=initial_epoch,
                steps_per_epoch=steps,
                shuffle=False,  # the pipeline shuffles, statelessly per epoch
                verbose=verbose,
                callbacks=[
                    callbacks.EpochTimer(),
                    step_log,
                    live_view,  # after the step log, whose rows it draws
                    grid,
                    *extra,  # before the checkpoint, so its numbers enter the history
                    checkpoint,
                    keras.callbacks.TensorBoard(out_dir / "logs", write_graph=False),
                    *([budget] if budget else []),  # last: its epoch time includes the saves
                ],
            )
        except KeyboardInterrupt:
            interrupted = True
        except distribute.lost_worker_errors() as error:
            if config.strategy != "multi_worker":
                raise
            raise distribute.WorkerLost(
                f"a worker of this multi-worker run stopped ({distribute.describe_loss(error)}); "
                f"the last finished epoch is saved in {run_dir}: restart every worker with "
                f"--resume {run_dir}"
            ) from None
    if budget and budget.stopped_at_epoch and options["verbose"]:
        print(
            f"time budget of {config.time_budget:g} min reached after epoch "
            f"{budget.stopped_at_epoch} of {config.epochs}; the same run again: "
            f"--epochs {budget.stopped_at_epoch} --time-budget 0"
        )
    if out_dir == run_dir:
        write_reports(run_dir)
    if interrupted:
        done = (
            read_state(run_dir)["epoch"] if (run_dir / "checkpoints" / "state.json").exists() else 0
        )
        raise TrainingInterrupted(
            f"interrupted: {done} finished epoch(s) are saved in {run_dir}; "
            f"continue with: python -m gan_kit train --resume {run_dir}"
        )
    return Run(
        run_dir, config, gan, checkpoint.history, len(next(iter(checkpoint.history.values()), []))
    )


def metrics_callback(config: TrainConfig, gan: GAN, run_dir: Path, data_dir, raw_dir):
    """Classifier metrics every `eval_every` epochs; keeps checkpoints/best.keras (lowest FD)."""
    from gan_kit import metrics

    classifier = metrics.load_classifier(config.dataset, data_dir=data_dir, raw_dir=raw_dir)
    test_images, _ = data.load_arrays(config.dataset, "test", data_dir=data_dir, raw_dir=raw_dir)
    _, real_features = metrics.classify(classifier, test_images)
    best_path = run_dir / "checkpoints" / "best.json"

    def keep_best(epoch: int, fd: float) -> None:
        callbacks.write_atomically(
            run_dir / "checkpoints" / "best.keras", lambda tmp: gan.save(tmp)
        )
        callbacks.write_json(best_path, {"epoch": epoch, "fd": fd})

    callback = metrics.MetricsCallback(
        classifier,
        real_features,
        every=config.eval_every,
        n_samples=config.eval_samples,
        on_new_best=keep_best,
    )
    if best_path.exists():  # a resumed run remembers its best
        best = json.loads(best_path.read_text())
        callback.best_fd, callback.best_epoch = best["fd"], best["epoch"]
    return callback


# ------------------------------------------------------------------------------ reports
def write_reports(run_dir: str | Path) -> None:
    """history.csv, history.png, final.png, classes.png and training.gif from the run folder."""
    run_dir = Path(run_dir)
    state_path = run_dir / "checkpoints" / "state.json"
    if not state_path.exists():
        return
    gan, config = load_run(run_dir)
    history = json.loads(state_path.read_text()).get("history", {})
    # Wall time is kept in the CSV but is no curve a class needs to see.
    curves = {key: values for key, values in history.items() if key != "seconds"}
    step_log = run_dir / STEP_LOG
    if history:
        write_history_csv(history, run_dir / "history.csv")
        viz.plot_history(
            curves,
            run_dir / "history.png",
            title=run_dir.name,
            # Run folders from before the step log: the per-epoch curves.
            steps=callbacks.read_step_log(step_log) if step_log.exists() else None,
            probabilities=gan.scores_are_probabilities,
        )
    render_gif(run_dir)
    fixed = np.load(run_dir / "fixed_latents.npz")
    labels = fixed["labels"] if "labels" in fixed else None
    images = gan.generate(z=fixed["z"], labels=labels)
    viz.save_image_grid(images, run_dir / "final.png", nrow=config.grid_size, scale=3)
    if labels is not None:
        viz.save_image_grid(images, run_dir / "classes.png", nrow=config.grid_size, scale=3)


def write_history_csv(history: dict, path: Path) -> None:
    keys = list(history)
    rows = zip(*(history[key] for key in keys), strict=False)
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["epoch", *keys])
        for epoch, row in enumerate(rows, start=1):
            writer.writerow([epoch, *(f"{value:.6g}" for value in row)])


def render_gif(run_dir: str | Path, seconds_per_frame: float = 0.4) -> Path:
    """training.gif from the saved per-epoch grids, the epoch written on each frame."""
    run_dir = Path(run_dir)
    paths = sorted((run_dir / "samples").glob("epoch_*.png"))
    if not paths:
        raise RunError(f"{run_dir} has no frames in samples/; train it first")
    frames = [iio.imread(path) for path in paths]
    captions = [f"epoch {int(path.stem.split('_')[1])}" for path in paths]
    return viz.save_gif(frames, run_dir / "training.gif", seconds_per_frame, captions=captions)
