"""One frozen dataclass describes a training run.

Notebooks build a `TrainConfig` and vary it with `dataclasses.replace`; the command line
is a thin layer over the same object, and every run folder stores it as `config.json`.
"""

from __future__ import annotations

import dataclasses
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

MODES = ("smoke", "quick", "full")


def get_mode() -> str:
    """The course-wide run size: `GAN_KIT_MODE` in {smoke, quick, full}, default quick.

    smoke: seconds, for CI; quick: minutes on a laptop CPU; full: a GPU or Colab.
    This is the one place the variable is read.
    """
    mode = os.environ.get("GAN_KIT_MODE", "quick").strip().lower()
    if mode not in MODES:
        raise ValueError(f"GAN_KIT_MODE={mode!r} is not a mode; use one of {', '.join(MODES)}")
    return mode


@dataclass(frozen=True)
class TrainConfig:
    """Everything that decides what a training run does.

    Attributes:
        model: model family, a key of `gan_kit.families.FAMILIES` (e.g. "dcgan", "mlp").
        dataset: a key of `gan_kit.data.DATASETS`, or the path of a folder of PNG/JPEG
            images (`gan_kit.folders`; sub-folders are classes).
        image_shape: (H, W, C) to train at; None means the dataset's own shape.
        conditional: feed class labels to both networks (Mirza & Osindero 2014).
        generator_kwargs / discriminator_kwargs: extra arguments for the builders.
    """

    model: str = "dcgan"
    dataset: str = "mnist"
    image_shape: tuple[int, int, int] | None = None
    conditional: bool = False
    latent_dim: int = 100
    # Goodfellow et al. and most Keras examples draw z ~ N(0, I); seed 000 and the DCGAN
    # paper use U[-1, 1].
    latent_distribution: str = "normal"
    # "mixture": K Gaussian islands, z = [eps, s * onehot(k)] (see gan_kit.gan.GAN), so that an
    # unconditional generator need not make blends of two digits between them.
    mixture_components: int = 10
    mixture_scale: float = 5.0
    generator_kwargs: dict[str, Any] = field(default_factory=dict)
    discriminator_kwargs: dict[str, Any] = field(default_factory=dict)

    loss: str = "non_saturating"
    # k of Algorithm 1 (Goodfellow et al. 2014); WGAN papers call it n_critic and use 5.
    n_critic: int = 1
    gp_weight: float = 0.0  # lambda = 10 in Gulrajani et al. 2017
    clip_value: float | None = None  # c = 0.01 in Arjovsky et al. 2017
    label_smoothing: float = 0.0  # one-sided: real targets become 1 - label_smoothing
    # Std of Gaussian "instance noise" added to everything the discriminator sees, real and
    # fake (Sonderby et al. 2016, arXiv:1610.04490; Arjovsky & Bottou 2017, arXiv:1701.04862):
    # it makes the two distributions overlap, so D cannot become perfect. Runs anneal it
    # linearly to 0 over their epochs. 0 turns it off.
    instance_noise: float = 0.0
    ema_decay: float | None = None
    # The TF tutorial's simultaneous update: one generator pass for both steps (k = 1 only).
    fused: bool = False
    # XLA: compile the step into a few fused kernels. Keras leaves it off on CPUs, yet for
    # slim networks, whose steps are many small ops, it makes a float32 step about 1.6x
    # faster on 2 CPU cores (the demo: bench/ablation.md). Float32 steps only: oneDNN's
    # bfloat16 kernels are what make bfloat16 fast on AMX CPUs, and XLA would bypass them.
    jit_compile: bool = False

    optimizer: str = "adam"
    d_learning_rate: float = 2e-4
    g_learning_rate: float = 2e-4
    # Radford et al. 2015: beta_1 = 0.9 oscillated, 0.5 stabilised training.
    beta_1: float = 0.5
    beta_2: float = 0.999
    momentum: float = 0.5  # SGD only
    # "constant", or "linear": both learning rates fall linearly to 0 over the run's epochs,
    # so that the last steps only polish (the EMA generator then averages settled weights).
    lr_schedule: str = "constant"

    batch_size: int = 128
    epochs: int = 10
    # Minutes of training (the epochs' wall time, tracing and per-epoch saves included): the
    # run stops after the last epoch that fits, `epochs` being the most it trains. A class's
    # time, not a step count, is what is fixed, so a faster machine trains more. The epochs
    # reached are in the run's state; `--epochs N` without a budget repeats the run exactly.
    time_budget: float | None = None
    train_limit: int | None = None  # use only the first N training images (quick runs)
    seed: int = 0

    grid_size: int = 8  # the per-epoch sample grid is grid_size x grid_size
    # Classifier metrics (FD, coverage, ...) every N epochs on eval_samples images, and the
    # checkpoint with the best FD kept (MNIST and Fashion-MNIST); None turns them off.
    eval_every: int | None = None
    eval_samples: int = 2000
    # "auto": mixed_float16 on recent GPUs, mixed_bfloat16 on CPUs with native bfloat16,
    # float32 elsewhere (gan_kit.hardware); or force one of the three.
    precision: str = "auto"
    # TensorFlow's op determinism (tf.config.experimental.enable_op_determinism): the same
    # config gives bit-identical weights, and a resumed run the weights of an uninterrupted one,
    # on a GPU too, whose fastest kernels otherwise add in a varying order. It stays on for the
    # rest of the Python process; on a GPU it costs speed (README, "Running on a GPU").
    deterministic: bool = False
    # "default": one device; "mirrored": every GPU of this machine; "multi_worker": every GPU
    # of the machines in TF_CONFIG (gan_kit.distribute). batch_size is the global batch.
    strategy: str = "default"
    description: str = ""

    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        if data["image_shape"] is not None:
            data["image_shape"] = list(data["image_shape"])
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainConfig:
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown config fields {unknown}; known fields: {sorted(known)}")
        data = dict(data)
        if data.get("image_shape") is not None:
            data["image_shape"] = tuple(int(v) for v in data["image_shape"])
        for key in ("generator_kwargs", "discriminator_kwargs"):
            # JSON has no tuples: give sizes such as hidden_units back their type.
            data[key] = {
                k: tuple(v) if isinstance(v, list) else v for k, v in data.get(key, {}).items()
            }
        return cls(**data)

    def save(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(self.to_dict(), indent=2) + "\n")

    @classmethod
    def load(cls, path: str | Path) -> TrainConfig:
        return cls.from_dict(json.loads(Path(path).read_text()))

    def validate(self) -> TrainConfig:
        """Raise ValueError naming the first impossible setting and what would work."""
        for name in ("epochs", "batch_size", "latent_dim", "n_critic", "grid_size"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        for name in ("train_limit", "eval_every"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, int) or value < 1):
                raise ValueError(f"{name} must be a positive integer or None, got {value!r}")
        budget = self.time_budget
        if budget is not None and (
            isinstance(budget, bool) or not isinstance(budget, (int, float)) or not budget > 0
        ):
            raise ValueError(
                f"time_budget is minutes of training, a positive number or None, got {budget!r}"
            )
        if self.latent_distribution not in ("normal", "uniform", "mixture"):
            raise ValueError(
                "latent_distribution must be 'normal', 'uniform' or 'mixture', "
                f"got {self.latent_distribution!r}"
            )
        if self.latent_distribution == "mixture" and not (
            isinstance(self.mixture_components, int)
            and 2 <= self.mixture_components < self.latent_dim
        ):
            raise ValueError(
                f"mixture_components must be an integer in [2, latent_dim), got "
                f"{self.mixture_components!r} (try 10)"
            )
        if self.optimizer not in ("adam", "rmsprop", "sgd"):
            raise ValueError(
                f"optimizer must be 'adam', 'rmsprop' or 'sgd', got {self.optimizer!r}"
            )
        if not 0.0 <= self.label_smoothing < 1.0:
            raise ValueError(f"label_smoothing must be in [0, 1), got {self.label_smoothing}")
        noise = self.instance_noise
        if isinstance(noise, bool) or not isinstance(noise, (int, float)) or not 0.0 <= noise < 10:
            raise ValueError(
                f"instance_noise is a standard deviation in [0, 10) (try 0.1), got {noise!r}"
            )
        if not isinstance(self.jit_compile, bool):
            raise ValueError(f"jit_compile must be true or false, got {self.jit_compile!r}")
        if self.fused and (self.n_critic != 1 or self.gp_weight):
            raise ValueError("fused needs n_critic=1 and gp_weight=0; set fused=False")
        if self.ema_decay is not None and not 0.0 < self.ema_decay < 1.0:
            raise ValueError(f"ema_decay must be in (0, 1) or None, got {self.ema_decay}")
        if self.lr_schedule not in ("constant", "linear"):
            raise ValueError(
                f"lr_schedule must be 'constant' or 'linear', got {self.lr_schedule!r}"
            )
        if not isinstance(self.deterministic, bool):
            raise ValueError(f"deterministic must be True or False, got {self.deterministic!r}")
        if self.strategy not in ("default", "mirrored", "multi_worker"):
            raise ValueError(
                f"strategy must be 'default', 'mirrored' or 'multi_worker', got {self.strategy!r}"
            )
        if self.precision not in ("auto", "float32", "mixed_bfloat16", "mixed_float16"):
            raise ValueError(
                "precision must be 'auto', 'float32', 'mixed_bfloat16' or 'mixed_float16', "
                f"got {self.precision!r}"
            )
        return self
