"""GAN networks, one file per family; every builder returns a named functional `keras.Model`.

Generators map z (B, latent_dim) to images (B, H, W, C) in [-1, 1]; discriminators and critics
map images to (B, 1) float32 logits or scores, with no sigmoid. With `num_classes` set, a model
also takes int labels (B,) as a second input (Mirza & Osindero 2014, arXiv:1411.1784).
"""

from gan_kit.models.dcgan import (
    build_dcgan_discriminator,
    build_dcgan_generator,
    dcgan_discriminator_block,
)
from gan_kit.models.mlp import build_mlp_discriminator, build_mlp_generator
from gan_kit.models.reference import (
    build_report_discriminator,
    build_report_generator,
    build_tutorial_discriminator,
    build_tutorial_generator,
)
from gan_kit.models.wgan import build_mlp_critic, build_wgan_critic

__all__ = [
    "build_dcgan_discriminator",
    "build_dcgan_generator",
    "build_mlp_critic",
    "build_mlp_discriminator",
    "build_mlp_generator",
    "build_report_discriminator",
    "build_report_generator",
    "build_tutorial_discriminator",
    "build_tutorial_generator",
    "build_wgan_critic",
    "dcgan_discriminator_block",
]
