"""Presets: the systems of the course's source documents, reproducible by name.

`python -m gan_kit train --preset NAME` trains one; `train --list-presets` prints this table.
Each preset names its source. Where a source is silent on a setting, the value comes from
the paper it follows, and `Preset.notes` says so.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from gan_kit.config import TrainConfig


@dataclass(frozen=True)
class Preset:
    name: str
    config: TrainConfig
    source: str
    notes: str = ""


_SEED_000 = "seed 000: DCGAN slides (Radford et al. 2015, arXiv:1511.06434)"
_SEED_001 = "seed 001: vanilla GAN slides (Goodfellow et al. 2014, arXiv:1406.2661)"
_SEED_002 = "seed 002: DCGAN lecture, generator 512-256-128-3, 5x5, stride 2"
_SEED_004 = "seed 004: DCGAN technical report on MNIST and CelebA"

# Seed 001: one hidden ReLU layer in each network (128 units in the code it follows),
# k = 1 discriminator step, SGD with momentum as in Algorithm 1.
_VANILLA = TrainConfig(
    model="mlp",
    dataset="mnist",
    generator_kwargs={"hidden_units": (128,)},
    discriminator_kwargs={"hidden_units": (128,)},
    loss="non_saturating",
    n_critic=1,
    optimizer="sgd",
    d_learning_rate=0.05,
    g_learning_rate=0.05,
    momentum=0.5,
    batch_size=100,
    epochs=50,
)

# Seed 000: 100-d uniform noise, a fully connected first layer, 5x5 transposed convolutions
# with LeakyReLU and a tanh output; 5x5 convolutional discriminator with a sigmoid output.
_SEED_000_DCGAN = TrainConfig(
    model="dcgan",
    latent_distribution="uniform",
    generator_kwargs={"kernel_size": 5, "activation": "leaky_relu", "base_filters": 64},
    discriminator_kwargs={"kernel_size": 5, "base_filters": 64},
    loss="non_saturating",
    batch_size=128,
    epochs=100,
)

# Gulrajani et al. 2017, Algorithm 1: lambda = 10, n_critic = 5, Adam(1e-4, 0, 0.9);
# beta_1 = 0.5 is the variant of their public code and trains MNIST faster.
_WGAN_GP = TrainConfig(
    model="wgan",
    dataset="mnist",
    generator_kwargs={"base_filters": 64, "kernel_size": 5},
    discriminator_kwargs={"base_filters": 64, "kernel_size": 5, "normalization": "layer"},
    loss="wasserstein",
    n_critic=5,
    gp_weight=10.0,
    d_learning_rate=1e-4,
    g_learning_rate=1e-4,
    beta_1=0.5,
    beta_2=0.9,
    batch_size=64,
    epochs=20,
)

# The demo, tuned for time to good digits on 2 CPU cores (measured in bench/ablation.md): a slim
# generator (32 base filters) against a discriminator of 64 (the wider one teaches the generator
# more once runs pass a few thousand steps: FD 19.9 against 27.1 after 15,000), 4x4 kernels
# (divisible by the stride: no checkerboard), small batches (per image, batch 32 learned as much
# per step as batch 64), Adam at 5e-4 with a constant rate (a linear decay to 0 ended at FD 57.6
# instead of 46), the fused step (a third less generator work) compiled with XLA (1.4x faster
# steps in float32), an EMA generator for the samples, and a prior of 10 separate Gaussian
# islands instead of one Gaussian: fewer blends of two digits (confident share 0.73 against 0.60
# after 4,000 steps). It trains for a time, not a number of steps: the more steps a machine fits
# into 4.5 minutes, the better the digits.
_DEMO = TrainConfig(
    model="dcgan",
    dataset="mnist",
    latent_distribution="mixture",
    mixture_components=10,
    mixture_scale=5.0,
    generator_kwargs={"base_filters": 32, "kernel_size": 4},
    discriminator_kwargs={"base_filters": 64, "kernel_size": 4},
    loss="non_saturating",
    fused=True,
    jit_compile=True,
    ema_decay=0.999,
    d_learning_rate=5e-4,
    g_learning_rate=5e-4,
    batch_size=32,
    # Epochs of 1,562 steps until 4.5 minutes of training are spent (5 minutes in all with
    # start-up and reports): about 9 epochs where a step takes 17 ms, 1 or 2 on a slow day of a
    # 2-core machine, at most 20. Each epoch adds a frame to the GIF.
    time_budget=4.5,
    epochs=20,
    train_limit=50_000,
    description="the 5-minute CPU demo: a slim DCGAN on MNIST with an EMA generator",
)

PRESETS: dict[str, Preset] = {
    preset.name: preset
    for preset in [
        Preset("demo", _DEMO, "gan_kit", "tuned for time to quality on 2 CPU cores"),
        Preset("vanilla_mnist", _VANILLA, _SEED_001, "learning rate 0.05: the seed gives none"),
        Preset(
            "conditional_mnist",
            replace(_VANILLA, conditional=True),
            _SEED_001 + "; class-conditional (Mirza & Osindero 2014), one-hot labels",
            "learning rate 0.05: the seed gives none",
        ),
        Preset(
            "wasserstein_mnist",
            replace(
                _VANILLA,
                loss="wasserstein",
                optimizer="rmsprop",
                d_learning_rate=1e-4,
                g_learning_rate=1e-4,
                clip_value=0.01,
                n_critic=5,
                batch_size=64,
            ),
            _SEED_001 + "; Wasserstein loss, RMSProp lr 1e-4",
            "clip 0.01 and n_critic 5 from Arjovsky et al. 2017 (the seed shows neither)",
        ),
        Preset("dcgan_mnist", replace(_SEED_000_DCGAN, dataset="mnist", epochs=20), _SEED_000),
        Preset("dcgan_cifar10", replace(_SEED_000_DCGAN, dataset="cifar10"), _SEED_000),
        Preset(
            "dcgan_flowers",
            replace(_SEED_000_DCGAN, dataset="oxford_flowers102", image_shape=(64, 64, 3)),
            _SEED_000,
            "64x64 as in Radford et al.; the slides give no size",
        ),
        Preset(
            "dcgan_cats",
            replace(_SEED_000_DCGAN, dataset="cats", image_shape=(64, 64, 3)),
            _SEED_000 + "; the slides' cats collapsed between epochs 55 and 60",
            "64x64 as in Radford et al.; the slides give no size",
        ),
        Preset(
            "dcgan64_celeba",
            TrainConfig(
                model="dcgan",
                dataset="celeb_a",
                image_shape=(64, 64, 3),
                generator_kwargs={"base_filters": 64, "kernel_size": 5},
                discriminator_kwargs={"base_filters": 64, "kernel_size": 5},
                batch_size=128,
                epochs=5,
            ),
            _SEED_002,
            "faces as in Radford et al.; Adam(2e-4, beta_1 0.5) from the paper",
        ),
        Preset(
            "report_mnist",
            TrainConfig(model="report", dataset="mnist", batch_size=32, epochs=27),
            _SEED_004 + ": 50,000 iterations of batch 32 (27 epochs)",
            "Adam(2e-4, beta_1 0.5): the report names no optimizer",
        ),
        Preset(
            "report_celeba",
            TrainConfig(
                model="report",
                dataset="celeb_a",
                image_shape=(32, 32, 3),
                batch_size=32,
                epochs=100,
            ),
            _SEED_004 + ": batch 32, 100 epochs",
            "32x32x3, the generator's size; the report rescaled CelebA to 28x28",
        ),
        Preset(
            "tutorial_mnist",
            TrainConfig(
                model="tutorial",
                dataset="mnist",
                d_learning_rate=1e-4,
                g_learning_rate=1e-4,
                beta_1=0.9,
                batch_size=256,
                epochs=50,
            ),
            "the TensorFlow DCGAN tutorial (tensorflow.org/tutorials/generative/dcgan)",
            "for comparison: Adam(1e-4) with default betas, batch 256, 50 epochs",
        ),
        Preset(
            "wgan_gp_mnist",
            _WGAN_GP,
            "WGAN-GP (Gulrajani et al. 2017, arXiv:1704.00028)",
        ),
        Preset(
            "wgan_gp_fashion_mnist",
            replace(_WGAN_GP, dataset="fashion_mnist"),
            "WGAN-GP (Gulrajani et al. 2017, arXiv:1704.00028)",
        ),
    ]
}


def get_preset(name: str) -> Preset:
    if name not in PRESETS:
        raise ValueError(f"unknown preset {name!r}; choose one of: {', '.join(PRESETS)}")
    return PRESETS[name]


def format_presets() -> str:
    """The table printed by `train --list-presets`."""
    lines = []
    width = max(len(name) for name in PRESETS)
    for preset in PRESETS.values():
        c = preset.config
        what = f"{c.model} on {c.dataset}, {c.loss}, batch {c.batch_size}, {c.epochs} epochs"
        lines.append(f"{preset.name:<{width}}  {what}")
        lines.append(f"{'':<{width}}  source: {preset.source}")
        if preset.notes:
            lines.append(f"{'':<{width}}  note: {preset.notes}")
    return "\n".join(lines)
