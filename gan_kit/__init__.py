"""gan_kit: a notebook-first course kit for Generative Adversarial Networks on Keras 3.

The public API in a few names (each imported on first use, so `import gan_kit` is quick):

    from gan_kit import TrainConfig, get_preset, train, load_run     # the main job
    from gan_kit import GAN, build_gan                               # the training model
    from gan_kit import models, losses, data, viz                    # the pieces

Modules: `config` (TrainConfig), `models/` (builders, one file per family), `losses`,
`gan` (the keras.Model with the custom train_step), `families` (which networks go
together), `data` (tf.data pipelines), `viz` (grids, plots, GIFs), `callbacks`,
`runs` (train into run folders, checkpoints, resume), `presets`, `metrics`, `latent`,
`explore`, `hardware` (devices and precision), `course` (what the notebooks share), `cli`.
"""

import importlib

__version__ = "0.1.0"

_LAZY = {
    "TrainConfig": ("gan_kit.config", "TrainConfig"),
    "get_mode": ("gan_kit.config", "get_mode"),
    "GAN": ("gan_kit.gan", "GAN"),
    "build_gan": ("gan_kit.families", "build_gan"),
    "build_networks": ("gan_kit.families", "build_networks"),
    "get_preset": ("gan_kit.presets", "get_preset"),
    "PRESETS": ("gan_kit.presets", "PRESETS"),
    "train": ("gan_kit.runs", "train"),
    "load_run": ("gan_kit.runs", "load_run"),
}
_SUBMODULES = {
    "callbacks",
    "cli",
    "config",
    "course",
    "data",
    "divergences",
    "exercises",
    "explore",
    "families",
    "gan",
    "hardware",
    "latent",
    "losses",
    "metrics",
    "models",
    "presets",
    "progress",
    "runs",
    "semi_supervised",
    "showcase",
    "toy",
    "viz",
}

__all__ = sorted(_LAZY) + sorted(_SUBMODULES)


def __getattr__(name):
    if name in _LAZY:
        module, attribute = _LAZY[name]
        return getattr(importlib.import_module(module), attribute)
    if name in _SUBMODULES:
        return importlib.import_module(f"gan_kit.{name}")
    raise AttributeError(f"module 'gan_kit' has no attribute {name!r}")
