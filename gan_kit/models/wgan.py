"""Wasserstein critics: Arjovsky et al. 2017 (arXiv:1701.07875), Gulrajani et al. 2017
(arXiv:1704.00028).

A critic is a discriminator whose output is an unbounded score rather than a logit, and whose
layers treat every sample on its own: the gradient penalty is a per-sample gradient, and batch
norm would make each sample's score depend on the rest of the batch.
"""

from __future__ import annotations

from collections.abc import Sequence

import keras

from gan_kit.models._common import check_image_shape, check_num_classes, check_positive_int

# The critic body is the DCGAN discriminator's with another normalization.
from gan_kit.models.dcgan import _strided_discriminator
from gan_kit.models.mlp import build_mlp_discriminator

NORMALIZATIONS = ("layer", "none")


def build_wgan_critic(
    image_shape: tuple[int, int, int] = (28, 28, 1),
    base_filters: int = 64,
    kernel_size: int = 5,
    num_classes: int | None = None,
    normalization: str = "layer",
    embedding_dim: int = 50,
    name: str = "wgan_critic",
) -> keras.Model:
    """Builds a convolutional WGAN-GP critic, image -> score.

    The DCGAN discriminator body (stride-2 Conv2D + LeakyReLU(0.2) blocks, base_filters
    doubling, nothing on the first block), with layer norm or no normalization instead of batch
    norm, then Flatten and a linear Dense(1) score.

    Args:
        image_shape: (H, W, C), square, C in {1, 3}, H = s0 * 2**n with s0 <= 7 and n >= 1.
        base_filters: filters of the first block, doubled in each following block.
        kernel_size: side of the square convolution kernels.
        num_classes: None for an unconditional critic; an int >= 2 makes it conditional: it
            then takes `[images, labels]`, the label entering as an extra image channel.
        normalization: "layer" (layer norm over (H, W, C) per sample, as Gulrajani et al.
            recommend) or "none". "batch" is refused, see Raises.
        embedding_dim: size of the label embedding (conditional only).
        name: model name.

    Returns:
        A `keras.Model` mapping images of shape (B, H, W, C) in [-1, 1] (plus labels of shape
        (B,) when conditional) to scores of shape (B, 1), float32, unbounded (higher = more
        real).

    Raises:
        ValueError: if an argument is impossible, including normalization="batch": batch norm
            couples the samples of a batch, so the per-sample gradient that the penalty
            constrains is no longer the critic's gradient for that sample.

    Paper:
        Gulrajani et al. 2017, "Improved Training of Wasserstein GANs", arXiv:1704.00028.

    Example:
        >>> critic = build_wgan_critic(image_shape=(28, 28, 1))
        >>> tuple(critic(keras.random.uniform((16, 28, 28, 1), -1, 1)).shape)
        (16, 1)
    """
    if normalization == "batch":
        raise ValueError(
            'normalization="batch" is not valid for a WGAN-GP critic: batch norm makes each '
            "score depend on the other samples of the batch, which breaks the per-sample "
            "gradient penalty (Gulrajani et al. 2017, Sec. 4). "
            f"Use one of {NORMALIZATIONS}; 'layer' is the paper's choice."
        )
    if normalization not in NORMALIZATIONS:
        raise ValueError(f"normalization must be one of {NORMALIZATIONS}; got {normalization!r}.")
    return _strided_discriminator(
        image_shape=check_image_shape(image_shape),
        base_filters=check_positive_int("base_filters", base_filters, "64"),
        kernel_size=check_positive_int("kernel_size", kernel_size, "5"),
        num_classes=check_num_classes(num_classes),
        embedding_dim=check_positive_int("embedding_dim", embedding_dim, "50"),
        normalization=normalization,
        dropout=0.0,
        builder="build_wgan_critic",
        output_name="score",
        name=name,
    )


def build_mlp_critic(
    image_shape: tuple[int, int, int] = (28, 28, 1),
    hidden_units: Sequence[int] = (128,),
    num_classes: int | None = None,
    activation: str = "relu",
    dropout: float = 0.0,
    name: str = "mlp_critic",
) -> keras.Model:
    """Builds a fully connected critic, image -> score: the MLP discriminator, renamed.

    An MLP has no batch norm, so the discriminator is already a valid critic; only the reading
    of its output changes, from a logit to an unbounded Wasserstein score. This is the network
    of the course's Wasserstein-style vanilla GAN on MNIST (one hidden ReLU layer of 128).

    Args:
        image_shape: (H, W, C) of the images, C in {1, 3}; need not be square.
        hidden_units: width of each hidden layer, input side first.
        num_classes: None, or an int >= 2 for a conditional critic taking `[images, labels]`.
        activation: "relu" or "leaky_relu" (slope 0.2).
        dropout: dropout rate after each hidden layer, in [0, 1).
        name: model name.

    Returns:
        A `keras.Model` mapping images of shape (B, H, W, C) (plus labels of shape (B,) when
        conditional) to scores of shape (B, 1), float32, unbounded.

    Raises:
        ValueError: if an argument is impossible; the message says what would work.

    Paper:
        Arjovsky, Chintala & Bottou 2017, "Wasserstein GAN", arXiv:1701.07875.

    Example:
        >>> critic = build_mlp_critic()
        >>> tuple(critic(keras.random.uniform((16, 28, 28, 1), -1, 1)).shape)
        (16, 1)
    """
    return build_mlp_discriminator(
        image_shape=image_shape,
        hidden_units=hidden_units,
        num_classes=num_classes,
        activation=activation,
        dropout=dropout,
        name=name,
    )
