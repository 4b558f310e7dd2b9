"""Model families: which generator goes with which discriminator, and the optimizers.

A family turns a `TrainConfig` into the two networks; `build_gan` wraps them in the
compiled training model. The command line's `--model NAME` is a key of `FAMILIES`.
"""

from __future__ import annotations

from collections.abc import Callable

import keras
import tensorflow as tf

from gan_kit import models
from gan_kit.config import TrainConfig
from gan_kit.gan import GAN

Networks = tuple[keras.Model, keras.Model]


def _mlp(config: TrainConfig, image_shape, num_classes) -> Networks:
    generator = models.build_mlp_generator(
        latent_dim=config.latent_dim,
        image_shape=image_shape,
        num_classes=num_classes,
        **config.generator_kwargs,
    )
    discriminator = models.build_mlp_discriminator(
        image_shape=image_shape, num_classes=num_classes, **config.discriminator_kwargs
    )
    return generator, discriminator


def _dcgan_generator(config: TrainConfig, image_shape, num_classes) -> keras.Model:
    return models.build_dcgan_generator(
        latent_dim=config.latent_dim,
        image_shape=image_shape,
        num_classes=num_classes,
        **config.generator_kwargs,
    )


def _dcgan(config: TrainConfig, image_shape, num_classes) -> Networks:
    discriminator = models.build_dcgan_discriminator(
        image_shape=image_shape, num_classes=num_classes, **config.discriminator_kwargs
    )
    return _dcgan_generator(config, image_shape, num_classes), discriminator


def _wgan(config: TrainConfig, image_shape, num_classes) -> Networks:
    critic = models.build_wgan_critic(
        image_shape=image_shape, num_classes=num_classes, **config.discriminator_kwargs
    )
    return _dcgan_generator(config, image_shape, num_classes), critic


def _tutorial(config: TrainConfig, image_shape, num_classes) -> Networks:
    if tuple(image_shape) != (28, 28, 1) or num_classes is not None:
        raise ValueError(
            "the TensorFlow tutorial networks make unconditional 28x28x1 images only; "
            "use --model dcgan for other shapes or conditional runs"
        )
    return (
        models.build_tutorial_generator(latent_dim=config.latent_dim),
        models.build_tutorial_discriminator(),
    )


def _report(config: TrainConfig, image_shape, num_classes) -> Networks:
    if num_classes is not None:
        raise ValueError("the report's networks are unconditional; use --model dcgan")
    return (
        models.build_report_generator(latent_dim=config.latent_dim, image_shape=image_shape),
        models.build_report_discriminator(image_shape=image_shape),
    )


FAMILIES: dict[str, Callable[[TrainConfig, tuple, int | None], Networks]] = {
    "mlp": _mlp,
    "dcgan": _dcgan,
    "wgan": _wgan,
    "tutorial": _tutorial,
    "report": _report,
}


def build_networks(config: TrainConfig, image_shape, num_classes: int | None) -> Networks:
    """The generator and discriminator of `config.model` for this image shape."""
    if config.model not in FAMILIES:
        raise ValueError(f"unknown model {config.model!r}; choose one of: {', '.join(FAMILIES)}")
    return FAMILIES[config.model](config, tuple(image_shape), num_classes)


def build_optimizer(
    config: TrainConfig, learning_rate: float, updates: int | None = None
) -> keras.optimizers.Optimizer:
    """The optimizer of `config` at `learning_rate`; `updates` (steps it will take) sets the
    length of a "linear" schedule."""
    if config.lr_schedule == "linear":
        if not updates:
            raise ValueError(
                "lr_schedule 'linear' decays over the run, so it needs the run's length: "
                "build_gan(config, ..., total_steps=epochs * steps_per_epoch)"
            )
        learning_rate = keras.optimizers.schedules.PolynomialDecay(
            learning_rate, decay_steps=updates, end_learning_rate=0.0, power=1.0
        )
    if config.optimizer == "adam":
        return keras.optimizers.Adam(learning_rate, beta_1=config.beta_1, beta_2=config.beta_2)
    if config.optimizer == "rmsprop":
        return keras.optimizers.RMSprop(learning_rate)
    if config.optimizer == "sgd":
        return keras.optimizers.SGD(learning_rate, momentum=config.momentum)
    raise ValueError(f"unknown optimizer {config.optimizer!r}; choose adam, rmsprop or sgd")


def build_gan(
    config: TrainConfig,
    image_shape,
    num_classes: int | None = None,
    *,
    instance_noise_steps: int | None = None,
    total_steps: int | None = None,
) -> GAN:
    """The compiled training model that `config` describes.

    `instance_noise_steps`: anneal `config.instance_noise` to 0 over this many training steps
    (the caller knows the run's length); None keeps it constant. `total_steps`: the run's
    training steps, which a "linear" learning-rate schedule decays over.
    """
    d_updates = None if total_steps is None else total_steps * config.n_critic
    generator, discriminator = build_networks(config, image_shape, num_classes)
    gan = GAN(
        generator,
        discriminator,
        latent_dim=config.latent_dim,
        latent_distribution=config.latent_distribution,
        mixture_components=config.mixture_components,
        mixture_scale=config.mixture_scale,
        n_critic=config.n_critic,
        gp_weight=config.gp_weight,
        clip_value=config.clip_value,
        ema_decay=config.ema_decay,
        fused=config.fused,
        seed=config.seed,
        instance_noise=config.instance_noise,
        instance_noise_steps=instance_noise_steps,
        name=f"{config.model}_gan",
    )
    gan.compile(
        d_optimizer=build_optimizer(config, config.d_learning_rate, d_updates),
        g_optimizer=build_optimizer(config, config.g_learning_rate, total_steps),
        loss=config.loss,
        label_smoothing=config.label_smoothing,
        # Measured on float32 single-device steps only (TrainConfig.jit_compile).
        jit_compile=config.jit_compile
        and keras.mixed_precision.global_policy().compute_dtype == "float32"
        and not tf.distribute.has_strategy(),
    )
    return gan
