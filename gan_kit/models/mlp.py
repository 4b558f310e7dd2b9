"""Fully connected GAN networks: the vanilla GAN of Goodfellow et al. 2014 (arXiv:1406.2661).

The course's MNIST version uses one hidden ReLU layer of 128 units in each network; the
conditional version (Mirza & Osindero 2014, arXiv:1411.1784) feeds a one-hot label to both.
"""

from __future__ import annotations

from collections.abc import Sequence

import keras
from keras import layers

from gan_kit.models._common import (
    activation_layer,
    check_activation,
    check_dropout,
    check_image_shape,
    check_num_classes,
    check_positive_int,
    label_input,
    one_hot,
)


def _check_hidden_units(hidden_units: object) -> tuple[int, ...]:
    if isinstance(hidden_units, (str, bytes)) or not isinstance(hidden_units, Sequence):
        raise ValueError(
            f"hidden_units must be a sequence of layer widths, e.g. (128,); got {hidden_units!r}."
        )
    return tuple(check_positive_int("each hidden unit count", u, "(128,)") for u in hidden_units)


def build_mlp_generator(
    latent_dim: int = 100,
    image_shape: tuple[int, int, int] = (28, 28, 1),
    hidden_units: Sequence[int] = (128,),
    num_classes: int | None = None,
    batch_norm: bool = False,
    name: str = "mlp_generator",
) -> keras.Model:
    """Builds a fully connected generator, z -> image.

    Hidden layers are Dense + ReLU (optionally with batch norm before the ReLU); the output
    layer is Dense(H * W * C) reshaped to an image and squashed by tanh.

    Args:
        latent_dim: size of z.
        image_shape: (H, W, C) of the images, C in {1, 3}; need not be square.
        hidden_units: width of each hidden layer, input side first.
        num_classes: None for an unconditional generator; an int >= 2 makes it conditional:
            it then takes `[z, labels]` and the one-hot label is concatenated to z.
        batch_norm: add batch normalization to the hidden layers (never to the output).
        name: model name.

    Returns:
        A `keras.Model` mapping z of shape (B, latent_dim) (plus labels of shape (B,), int
        class ids, when conditional) to images of shape (B, H, W, C) with values in [-1, 1].

    Raises:
        ValueError: if an argument is impossible; the message says what would work.

    Paper:
        Goodfellow et al. 2014, "Generative Adversarial Nets", arXiv:1406.2661.

    Example:
        >>> generator = build_mlp_generator(latent_dim=100)
        >>> tuple(generator(keras.random.normal((16, 100))).shape)
        (16, 28, 28, 1)
    """
    latent_dim = check_positive_int("latent_dim", latent_dim, "100")
    height, width, channels = check_image_shape(image_shape)
    hidden_units = _check_hidden_units(hidden_units)
    num_classes = check_num_classes(num_classes)

    z = keras.Input(shape=(latent_dim,), name="z")
    inputs = z
    x = z
    if num_classes is not None:
        labels = label_input()
        inputs = [z, labels]
        x = layers.Concatenate(name="z_and_label")([z, one_hot(labels, num_classes)])
    for units in hidden_units:
        # The bias is redundant when batch norm re-centres the activations.
        x = layers.Dense(units, use_bias=not batch_norm)(x)
        if batch_norm:
            x = layers.BatchNormalization()(x)
        x = layers.ReLU()(x)
    x = layers.Dense(height * width * channels)(x)
    x = layers.Reshape((height, width, channels))(x)  # (B, H, W, C)
    # float32 output, so that samples stay float32 under a mixed-precision policy.
    images = layers.Activation("tanh", dtype="float32", name="tanh")(x)
    return keras.Model(inputs, images, name=name)


def build_mlp_discriminator(
    image_shape: tuple[int, int, int] = (28, 28, 1),
    hidden_units: Sequence[int] = (128,),
    num_classes: int | None = None,
    activation: str = "relu",
    dropout: float = 0.0,
    name: str = "mlp_discriminator",
) -> keras.Model:
    """Builds a fully connected discriminator, image -> real/fake logit.

    The image is flattened, passed through Dense hidden layers and a final Dense(1). There is
    no sigmoid: the losses apply it to the logit.

    Args:
        image_shape: (H, W, C) of the images, C in {1, 3}; need not be square.
        hidden_units: width of each hidden layer, input side first.
        num_classes: None for an unconditional discriminator; an int >= 2 makes it
            conditional: it then takes `[images, labels]` and the one-hot label is concatenated
            to the flattened image.
        activation: "relu" (as in the course's vanilla GAN) or "leaky_relu" (slope 0.2).
        dropout: dropout rate after each hidden layer, in [0, 1); 0 disables it.
        name: model name.

    Returns:
        A `keras.Model` mapping images of shape (B, H, W, C) in [-1, 1] (plus labels of shape
        (B,) when conditional) to logits of shape (B, 1), float32, unbounded.

    Raises:
        ValueError: if an argument is impossible; the message says what would work.

    Paper:
        Goodfellow et al. 2014, "Generative Adversarial Nets", arXiv:1406.2661.

    Example:
        >>> discriminator = build_mlp_discriminator()
        >>> tuple(discriminator(keras.random.uniform((16, 28, 28, 1), -1, 1)).shape)
        (16, 1)
    """
    image_shape = check_image_shape(image_shape)
    hidden_units = _check_hidden_units(hidden_units)
    num_classes = check_num_classes(num_classes)
    activation = check_activation(activation)
    dropout = check_dropout(dropout)

    images = keras.Input(shape=image_shape, name="images")
    inputs = images
    x = layers.Flatten()(images)  # (B, H * W * C)
    if num_classes is not None:
        labels = label_input()
        inputs = [images, labels]
        x = layers.Concatenate(name="image_and_label")([x, one_hot(labels, num_classes)])
    for units in hidden_units:
        x = layers.Dense(units)(x)
        x = activation_layer(activation)(x)
        if dropout > 0:
            x = layers.Dropout(dropout)(x)
    logits = layers.Dense(1, dtype="float32", name="logit")(x)
    return keras.Model(inputs, logits, name=name)
