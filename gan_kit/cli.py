"""`python -m gan_kit ...`: a thin command line over the package.

    python -m gan_kit train --preset demo --out runs/demo
    python -m gan_kit train --model dcgan --dataset fashion_mnist --epochs 5 --out runs/fashion
    python -m gan_kit train --resume runs/demo --epochs 10
    python -m gan_kit sample runs/demo --n 1000 --out samples.npz
    python -m gan_kit gif runs/demo
    python -m gan_kit data mnist fashion_mnist

Bad input ends with one line, `error: <problem>; <fix>`, and exit status 2.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path

from gan_kit import hardware

EXIT_FAILURE = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


class CommandError(Exception):
    """Bad input: printed as one line, exit status 2."""


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive integer") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive integer")
    return value


def minutes(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of minutes") from None
    if not 0 <= value < float("inf"):
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of minutes >= 0")
    return value


def non_negative_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number >= 0") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number >= 0")
    return value


class OneLineParser(argparse.ArgumentParser):
    """argparse, but a usage error is one line with the fix (and still exit status 2)."""

    def error(self, message):
        self.exit(EXIT_USAGE, f"error: {message}; see: {self.prog} --help\n")


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(prog="python -m gan_kit", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True, parser_class=OneLineParser)

    train = commands.add_parser("train", help="train a GAN into a run folder")
    source = train.add_argument_group("what to train (a preset, or a model and a dataset)")
    source.add_argument("--preset", help="a preset name (see --list-presets)")
    source.add_argument("--config", help="a config.json (e.g. of an earlier run) to start from")
    source.add_argument("--model", help="model family: mlp, dcgan, wgan, tutorial, report")
    source.add_argument(
        "--dataset",
        help="mnist, fashion_mnist, cifar10, celeb_a, ..., or a folder of PNG/JPEG images "
        "(sub-folders = classes)",
    )
    source.add_argument("--list-presets", action="store_true", help="print the presets and exit")
    over = train.add_argument_group("overrides")
    over.add_argument("--epochs", type=positive_int)
    over.add_argument(
        "--time-budget",
        type=minutes,
        metavar="MINUTES",
        help="stop after the last epoch that fits into MINUTES of training (0: no budget; "
        "the demo preset has 4.5; also with --resume)",
    )
    over.add_argument("--batch-size", type=positive_int)
    over.add_argument("--latent-dim", type=positive_int)
    over.add_argument("--seed", type=non_negative_int)
    over.add_argument("--loss", help="non_saturating, minimax, wasserstein, hinge, least_squares")
    over.add_argument("--image-size", type=positive_int, help="train at SIZE x SIZE")
    over.add_argument(
        "--channels",
        type=int,
        choices=(1, 3),
        help="1 (grayscale) or 3 (colour); default: the data's",
    )
    over.add_argument(
        "--conditional", action="store_true", help="feed class labels to both networks"
    )
    over.add_argument(
        "--train-limit", type=positive_int, help="use only the first N training images"
    )
    over.add_argument(
        "--precision",
        choices=["auto", "float32", "mixed_bfloat16", "mixed_float16"],
        help="auto (default): 16-bit compute where the hardware has it; float32 forces it off",
    )
    over.add_argument(
        "--jit-compile",
        action=argparse.BooleanOptionalAction,
        help="compile the step with XLA (float32 steps only; the demo preset has it on)",
    )
    over.add_argument(
        "--deterministic",
        action="store_true",
        help="TensorFlow's op determinism: bit-identical runs and resumes on a GPU too (slower there)",
    )
    over.add_argument(
        "--strategy",
        choices=["default", "mirrored", "multi_worker"],
        help="default: one device; mirrored: every GPU here; multi_worker: the machines in "
        "TF_CONFIG (run the same command on each; also with --resume)",
    )
    run = train.add_argument_group("run folder")
    run.add_argument("--out", help="the run folder to create")
    run.add_argument("--resume", metavar="RUN_DIR", help="continue the run in RUN_DIR")
    run.add_argument("--overwrite", action="store_true", help="replace an existing run folder")
    run.add_argument(
        "--log-every",
        type=positive_int,
        metavar="N",
        help="log the losses and D outputs every N steps (steps.csv); default: about 200 rows",
    )
    add_data_arguments(train)

    sample = commands.add_parser("sample", help="export generated images as .npz (uint8)")
    sample.add_argument("run_dir")
    sample.add_argument("--n", type=positive_int, default=1000)
    sample.add_argument("--out", required=True, help="FILE.npz")
    sample.add_argument("--label", type=int, help="class id for a conditional run")
    sample.add_argument("--seed", type=non_negative_int, default=0)

    gif = commands.add_parser("gif", help="re-render the training GIF from the saved frames")
    gif.add_argument("run_dir")
    gif.add_argument("--seconds-per-frame", type=float, default=0.4)

    evaluate = commands.add_parser("eval", help="classifier metrics of a run or of a samples file")
    evaluate.add_argument("run_dir", nargs="?", help="a run folder (or give --samples)")
    evaluate.add_argument(
        "--samples", help="a FILE.npz as `sample` writes: images uint8 (N, H, W, C)"
    )
    evaluate.add_argument("--dataset", help="the real data to compare with (with --samples)")
    evaluate.add_argument("--n", type=positive_int, default=10_000, help="samples drawn from a run")
    evaluate.add_argument("--seed", type=non_negative_int, default=0)
    add_data_arguments(evaluate)

    explore = commands.add_parser("explore", help="latent-space pictures into RUN_DIR/explore/")
    explore.add_argument("run_dir")
    explore.add_argument("--seed", type=non_negative_int, default=0)
    add_data_arguments(explore)

    prepare = commands.add_parser("data", help="download or build datasets into the data folder")
    prepare.add_argument("names", nargs="+")
    add_data_arguments(prepare)
    return parser


def add_data_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data-dir", help="where tensorflow-datasets keeps prepared data")
    parser.add_argument(
        "--raw-dir",
        help="folder with mnist/ and fashion_mnist/ IDX files (offline; or GAN_KIT_RAW_DATA)",
    )


def config_from_args(args):
    from gan_kit.config import TrainConfig
    from gan_kit.presets import get_preset

    if args.preset and args.config:
        raise CommandError("give --preset or --config, not both")
    if args.config:
        try:
            config = TrainConfig.load(args.config)
        except (OSError, ValueError) as error:
            raise CommandError(f"cannot read --config {args.config} ({error})") from None
    else:
        config = get_preset(args.preset).config if args.preset else TrainConfig()
    changes = {
        "model": args.model,
        "dataset": args.dataset,
        "epochs": args.epochs,
        "batch_size": args.batch_size,
        "latent_dim": args.latent_dim,
        "seed": args.seed,
        "loss": args.loss,
        "train_limit": args.train_limit,
        "precision": args.precision,
        "jit_compile": args.jit_compile,
        "strategy": args.strategy,
    }
    changes = {key: value for key, value in changes.items() if value is not None}
    if args.time_budget is not None:
        changes["time_budget"] = args.time_budget or None
    if args.deterministic:
        changes["deterministic"] = True
    if args.conditional:
        changes["conditional"] = True
        if config.latent_distribution == "mixture":
            # The labels already pick the digit, which the islands of the prior were for.
            changes["latent_distribution"] = "normal"
    if args.image_size or args.channels:
        from gan_kit import data

        native = data.get_dataset_info(args.dataset or config.dataset).image_shape
        height, width = (args.image_size, args.image_size) if args.image_size else native[:2]
        if height is None:
            raise CommandError("these images vary in size; choose one with --image-size (e.g. 64)")
        changes["image_shape"] = (height, width, args.channels or native[2])
    return replace(config, **changes)


def cmd_train(args) -> int:
    from gan_kit.presets import format_presets
    from gan_kit.runs import train

    if args.list_presets:
        print(format_presets())
        return 0
    if args.resume:
        if args.out or args.preset or args.config or args.model or args.dataset:
            raise CommandError(
                "--resume continues a stored run: give it alone (with --epochs or --time-budget to extend)"
            )
        run = train(
            run_dir=args.resume,
            resume=True,
            epochs=args.epochs,
            time_budget=args.time_budget,
            strategy=args.strategy,
            data_dir=args.data_dir,
            raw_dir=args.raw_dir,
            log_every=args.log_every,
        )
    else:
        if not args.out:
            raise CommandError("train needs --out RUN_DIR (or --resume RUN_DIR)")
        if not (args.preset or args.config or args.model or args.dataset):
            raise CommandError(
                "say what to train: --preset NAME (see --list-presets), --config FILE or --model/--dataset"
            )
        config = config_from_args(args)
        _check_known(config)
        run = train(
            config,
            args.out,
            overwrite=args.overwrite,
            data_dir=args.data_dir,
            raw_dir=args.raw_dir,
            log_every=args.log_every,
        )
    print(f"done: {run.epochs_done} epochs in {run.run_dir} (final.png, history.png, training.gif)")
    return 0


def _check_known(config) -> None:
    """Name errors before any data is loaded or folder written."""
    from gan_kit import data, losses
    from gan_kit.families import FAMILIES

    if config.model not in FAMILIES:
        raise CommandError(f"unknown model {config.model!r}; choose one of: {', '.join(FAMILIES)}")
    data.get_dataset_info(config.dataset)
    losses.get_loss_pair(config.loss)
    config.validate()


def cmd_sample(args) -> int:
    import numpy as np

    from gan_kit import data, viz
    from gan_kit.runs import load_run

    out = Path(args.out)
    if out.suffix != ".npz":
        raise CommandError(f"--out {out} must end in .npz")
    gan, config = load_run(args.run_dir)
    labels = None
    if args.label is not None:
        if not gan.conditional:
            raise CommandError(f"--label needs a conditional run; {args.run_dir} is unconditional")
        num_classes = data.get_dataset_info(config.dataset).num_classes
        if not 0 <= args.label < num_classes:
            raise CommandError(f"--label {args.label} is outside the classes 0..{num_classes - 1}")
        labels = np.full(args.n, args.label, dtype="int32")
    elif gan.conditional:
        num_classes = data.get_dataset_info(config.dataset).num_classes
        labels = (np.arange(args.n) % num_classes).astype("int32")
    images = viz.to_uint8(gan.generate(args.n, labels=labels, seed=args.seed))
    arrays = {"images": images} if labels is None else {"images": images, "labels": labels}
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        np.savez_compressed(out, **arrays)
    except OSError as error:
        raise CommandError(f"cannot write {out} ({error.strerror}); choose another --out") from None
    print(f"wrote {out}: images {images.shape} uint8" + ("" if labels is None else ", labels"))
    return 0


def cmd_gif(args) -> int:
    from gan_kit.runs import render_gif

    print(f"wrote {render_gif(args.run_dir, args.seconds_per_frame)}")
    return 0


def cmd_eval(args) -> int:
    import json

    import numpy as np

    from gan_kit import data, metrics, viz

    if bool(args.run_dir) == bool(args.samples):
        raise CommandError("eval takes a RUN_DIR or --samples FILE.npz (with --dataset), not both")
    if args.samples:
        if not args.dataset:
            raise CommandError("--samples needs --dataset (mnist or fashion_mnist) to compare with")
        try:
            with np.load(args.samples) as saved:
                images = saved["images"]
                labels = saved["labels"] if "labels" in saved else None
        except (OSError, KeyError, ValueError) as error:
            raise CommandError(
                f"cannot read {args.samples} ({error}); it must be a .npz with 'images' "
                "uint8 (N, H, W, C) and optionally 'labels', as `sample` writes"
            ) from None
        if images.dtype != np.uint8:
            raise CommandError(
                f"'images' in {args.samples} are {images.dtype}; expected uint8 0..255"
            )
        dataset, out_dir = args.dataset, None
    else:
        from gan_kit.runs import load_run

        gan, config = load_run(args.run_dir)
        dataset, out_dir = config.dataset, Path(args.run_dir)
        num_classes = data.get_dataset_info(dataset).num_classes
        labels = (np.arange(args.n) % num_classes).astype("int32") if gan.conditional else None
        images = viz.to_uint8(gan.generate(args.n, labels=labels, seed=args.seed))
    scores = metrics.evaluate(
        images,
        dataset=dataset,
        labels=labels,
        seed=args.seed,
        data_dir=args.data_dir,
        raw_dir=args.raw_dir,
    )
    if out_dir is not None:
        (out_dir / "eval.json").write_text(json.dumps(scores, indent=2) + "\n")
        train_images, _ = data.load_arrays(
            dataset, "train", data_dir=args.data_dir, raw_dir=args.raw_dir
        )
        metrics.save_nearest_pairs(images[:500], train_images, out_dir / "nearest_pairs.png")
    print(json.dumps(scores))
    return 0


def cmd_explore(args) -> int:
    from gan_kit import metrics
    from gan_kit.explore import explore_run
    from gan_kit.runs import read_run_config

    config = read_run_config(args.run_dir)
    classifier = None
    if config.dataset in metrics.CLASSIFIER_DATASETS:
        # Latent arithmetic groups z by what the kit's classifier sees in G(z).
        classifier = metrics.load_classifier(
            config.dataset, data_dir=args.data_dir, raw_dir=args.raw_dir
        )
    summary = explore_run(
        args.run_dir,
        seed=args.seed,
        data_dir=args.data_dir,
        raw_dir=args.raw_dir,
        classifier=classifier,
    )
    for name, path in summary["files"].items():
        print(f"{name:>16}: {path}")
    inversion = summary["inversion"]
    print(f"inversion MSE, images G made: {inversion['generated_mse']}")
    print(f"inversion MSE, real images:   {inversion['real_mse']}")
    for row in summary.get("truncation", []):
        print("truncation " + ", ".join(f"{key} {value}" for key, value in row.items()))
    return 0


def cmd_data(args) -> int:
    from gan_kit import data

    for name in args.names:
        path = data.prepare_dataset(name, data_dir=args.data_dir, raw_dir=args.raw_dir)
        print(f"{name}: ready in {path}")
    return 0


COMMANDS = {
    "train": cmd_train,
    "sample": cmd_sample,
    "gif": cmd_gif,
    "eval": cmd_eval,
    "explore": cmd_explore,
    "data": cmd_data,
}


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    hardware.quiet_tensorflow_import()
    if not sys.stderr.isatty():
        import tensorflow_datasets as tfds

        # Bars redrawn into a log or a pipe are noise around the one-line errors.
        tfds.disable_progress_bar()
    from gan_kit.data import DataError
    from gan_kit.distribute import WorkerLost
    from gan_kit.runs import RunError, TrainingInterrupted

    try:
        return COMMANDS[args.command](args)
    except TrainingInterrupted as error:
        print(str(error), file=sys.stderr)
        return EXIT_INTERRUPTED
    except WorkerLost as error:  # not bad input: the run can go on with --resume
        print(f"error: {error}", file=sys.stderr)
        return EXIT_FAILURE
    except (CommandError, RunError, DataError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_USAGE
