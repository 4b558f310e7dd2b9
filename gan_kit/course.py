"""What every course notebook shares: the setup line, the mode switch and reusable runs.

A notebook starts with `mode = course.setup()` and sizes its work with
`course.by_mode(smoke=..., quick=..., full=...)`: smoke takes seconds (CI), quick a few
minutes on a laptop CPU, full wants a GPU. Runs that several notebooks use (the DCGAN of
notebook 4 is evaluated in 8 and explored in 9) are trained once into
`runs/course/<mode>/<name>` by `course_run`, and reused, or resumed after an interruption,
when the same configuration asks for them again.
"""

from __future__ import annotations

import json
import platform
import sys
from pathlib import Path
from typing import TypeVar

from gan_kit.config import TrainConfig, get_mode

T = TypeVar("T")

REPOSITORY = "https://github.com/gan-kit/gan_kit"
COURSE_RUNS = Path("runs") / "course"


def in_colab() -> bool:
    return "google.colab" in sys.modules


def setup(seed: int = 0) -> str:
    """Seed Python, NumPy and TensorFlow, print versions, mode and device; return the mode."""
    from gan_kit import __version__, hardware

    hardware.quiet_tensorflow_import()
    import keras
    import numpy as np
    import tensorflow as tf

    mode = get_mode()
    keras.utils.set_random_seed(seed)
    print(
        f"gan_kit {__version__} | TensorFlow {tf.__version__} | Keras {keras.__version__} | "
        f"NumPy {np.__version__} | Python {platform.python_version()}"
    )
    where = "Colab" if in_colab() else "local Jupyter"
    print(f"mode: {mode} (set GAN_KIT_MODE to smoke, quick or full) | {where} | seed {seed}")
    print(f"device: {hardware.describe()}")
    return mode


def by_mode(*, smoke: T, quick: T, full: T) -> T:
    """The value for the current `GAN_KIT_MODE`."""
    return {"smoke": smoke, "quick": quick, "full": full}[get_mode()]


def run_dir_for(name: str, root: str | Path | None = None) -> Path:
    return Path(root) if root is not None else COURSE_RUNS / get_mode() / name


def course_run(
    name: str,
    config: TrainConfig,
    *,
    root: str | Path | None = None,
    verbose: int | str = 1,
) -> Path:
    """Train `config` into runs/course/<mode>/<name>, or reuse that run; return its folder.

    A finished run with the same configuration is reused as it is; an interrupted one is
    resumed; a run of a different configuration is replaced.
    """
    from gan_kit import runs

    run_dir = run_dir_for(name, root)
    config_path = run_dir / "config.json"
    if config_path.exists() and _stored_config(config_path) == config:
        try:
            done = int(runs.read_state(run_dir)["epoch"])
        except runs.RunError:  # no finished epoch yet, or a corrupt state: train afresh
            done = None
        if done is not None and done >= config.epochs:
            print(f"reusing {run_dir} ({done} epochs, trained earlier with this configuration)")
            return run_dir
        if done is not None:
            print(f"resuming {run_dir} from epoch {done}")
            runs.train(run_dir=run_dir, resume=True, verbose=verbose)
            return run_dir
    runs.train(config, run_dir, overwrite=True, verbose=verbose)
    return run_dir


def _stored_config(path: Path) -> TrainConfig | None:
    # Compared as configs, not as JSON: a field added to TrainConfig since the run was
    # trained then takes its default and does not force a retrain.
    try:
        return TrainConfig.load(path)
    except (ValueError, TypeError, json.JSONDecodeError):
        return None


def show_gif(path: str | Path, width: int | None = None):
    """Display a GIF inline (Jupyter, Colab, and the notebook viewer on GitHub)."""
    from IPython.display import Image

    return Image(filename=str(path), width=width)


# ------------------------------------------------------------------------- shared runs
# The runs several notebooks share. Quick mode: 8 epochs of 8,000 images at batch 32
# (2,000 steps, a few minutes on 2 CPU cores) gives recognisable digits and a 9-frame GIF.


def dcgan_mnist_config() -> TrainConfig:
    """The DCGAN of notebook 4 (the demo preset's networks), sized by mode."""
    from dataclasses import replace

    from gan_kit.presets import get_preset

    # The paper's Gaussian prior, not the demo's islands: notebook 9 teaches its geometry. A
    # fixed number of epochs, not the demo's time budget: a notebook's outputs and asserts must
    # not depend on how fast the machine is. A discriminator of 32 filters, not the demo's 64:
    # the wider one pays for its slower step only after about 5,000 steps (bench/ablation.md),
    # more than the quick mode's 2,000.
    demo = replace(
        get_preset("demo").config,
        latent_distribution="normal",
        time_budget=None,
        discriminator_kwargs={"base_filters": 32, "kernel_size": 4},
    )
    return by_mode(
        smoke=replace(
            demo,
            latent_dim=32,
            generator_kwargs={"base_filters": 8, "kernel_size": 4},
            discriminator_kwargs={"base_filters": 8, "kernel_size": 4},
            epochs=2,
            train_limit=512,
            grid_size=6,
            jit_compile=False,  # compiling would take longer than these few steps
        ),
        quick=replace(demo, epochs=8, train_limit=8000),
        full=replace(demo, epochs=20, batch_size=64),
    )


def conditional_mnist_config() -> TrainConfig:
    """The class-conditional DCGAN of notebook 7: the same networks, labels into both."""
    from dataclasses import replace

    return replace(dcgan_mnist_config(), conditional=True, grid_size=10)
