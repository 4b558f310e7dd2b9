"""Re-creations of reference networks, for presets that reproduce a known run.

1. The MNIST networks of the TensorFlow DCGAN tutorial
   (https://www.tensorflow.org/tutorials/generative/dcgan), layer for layer: 2,330,944 and
   212,865 parameters.
2. The networks of the DCGAN technical report on MNIST and CelebA (Chapagain 2019,
   doi:10.13140/RG.2.2.23087.79523): 3x3 convolutions with 64, 128 and 256 filters, average
   pooling and batch norm, dropout 0.4. The report describes its generator only as the
   discriminator's mirror and gives no LeakyReLU slope; the choices made here are commented.

The final tanh is its own float32 layer, so that outputs stay float32 under a mixed-precision
policy (same parameters, same function). The report networks also accept labels (num_classes),
which the report did not use.
"""

from __future__ import annotations

import keras
from keras import layers

from gan_kit.models._common import (
    check_image_shape,
    check_num_classes,
    check_positive_int,
    label_channel,
    label_embedding,
    label_input,
    leaky_relu,
)


def build_tutorial_generator(
    latent_dim: int = 100, name: str = "tutorial_generator"
) -> keras.Model:
    """Builds the TensorFlow DCGAN tutorial's MNIST generator, z -> 28x28x1 image.

    Dense(7 * 7 * 256) + batch norm + LeakyReLU, reshaped, then Conv2DTranspose with 128
    (stride 1), 64 (stride 2) and 1 (stride 2) filters of 5x5, no biases, batch norm and
    LeakyReLU between them, tanh at the end. LeakyReLU keeps the Keras default slope (0.3), as
    the tutorial does.

    Args:
        latent_dim: size of z (the tutorial uses 100).
        name: model name.

    Returns:
        A `keras.Model` mapping z of shape (B, latent_dim) to images of shape (B, 28, 28, 1)
        with values in [-1, 1]. 2,330,944 parameters for latent_dim=100.

    Raises:
        ValueError: if latent_dim < 1.

    Paper:
        Radford, Metz & Chintala 2015, arXiv:1511.06434, as simplified by the TensorFlow
        tutorial "Deep Convolutional Generative Adversarial Network".

    Example:
        >>> generator = build_tutorial_generator()
        >>> tuple(generator(keras.random.normal((16, 100))).shape)
        (16, 28, 28, 1)
    """
    latent_dim = check_positive_int("latent_dim", latent_dim, "100")
    z = keras.Input(shape=(latent_dim,), name="z")
    x = layers.Dense(7 * 7 * 256, use_bias=False)(z)
    x = layers.BatchNormalization()(x)
    x = layers.LeakyReLU()(x)
    x = layers.Reshape((7, 7, 256))(x)  # (B, 7, 7, 256)
    x = layers.Conv2DTranspose(128, 5, strides=1, padding="same", use_bias=False)(x)
    x = layers.BatchNormalization()(x)  # (B, 7, 7, 128)
    x = layers.LeakyReLU()(x)
    x = layers.Conv2DTranspose(64, 5, strides=2, padding="same", use_bias=False)(x)
    x = layers.BatchNormalization()(x)  # (B, 14, 14, 64)
    x = layers.LeakyReLU()(x)
    x = layers.Conv2DTranspose(1, 5, strides=2, padding="same", use_bias=False)(x)  # (B, 28, 28, 1)
    images = layers.Activation("tanh", dtype="float32", name="tanh")(x)
    return keras.Model(z, images, name=name)


def build_tutorial_discriminator(name: str = "tutorial_discriminator") -> keras.Model:
    """Builds the TensorFlow DCGAN tutorial's MNIST discriminator, 28x28x1 image -> logit.

    Conv2D(64) and Conv2D(128), 5x5, stride 2, each followed by LeakyReLU (Keras default slope
    0.3) and Dropout(0.3), then Flatten and Dense(1). No batch norm.

    Args:
        name: model name.

    Returns:
        A `keras.Model` mapping images of shape (B, 28, 28, 1) in [-1, 1] to logits of shape
        (B, 1), float32, unbounded. 212,865 parameters.

    Paper:
        Radford, Metz & Chintala 2015, arXiv:1511.06434, as simplified by the TensorFlow
        tutorial "Deep Convolutional Generative Adversarial Network".

    Example:
        >>> discriminator = build_tutorial_discriminator()
        >>> tuple(discriminator(keras.random.uniform((16, 28, 28, 1), -1, 1)).shape)
        (16, 1)
    """
    images = keras.Input(shape=(28, 28, 1), name="images")
    # The tutorial's layers.LeakyReLU(), as gan_kit's LeakyReLU: same values, but its gradient
    # lets TensorFlow's oneDNN remapper fuse the biased Conv2D and LeakyReLU without an error.
    x = layers.Conv2D(64, 5, strides=2, padding="same")(images)  # (B, 14, 14, 64)
    x = leaky_relu(negative_slope=0.3)(x)
    x = layers.Dropout(0.3)(x)
    x = layers.Conv2D(128, 5, strides=2, padding="same")(x)  # (B, 7, 7, 128)
    x = leaky_relu(negative_slope=0.3)(x)
    x = layers.Dropout(0.3)(x)
    x = layers.Flatten()(x)  # (B, 6272)
    logits = layers.Dense(1, dtype="float32", name="logit")(x)
    return keras.Model(images, logits, name=name)


_REPORT_FILTERS = (64, 128, 256)


def build_report_discriminator(
    image_shape: tuple[int, int, int] = (28, 28, 1),
    num_classes: int | None = None,
    embedding_dim: int = 50,
    name: str = "report_discriminator",
) -> keras.Model:
    """Builds the discriminator of the DCGAN technical report, image -> logit.

    Three blocks of 3x3 Conv2D (64, 128, 256 filters, same padding) + LeakyReLU, each followed
    by 2x2 average pooling and batch norm, then Flatten, Dropout(0.4) and Dense(1). Unlike the
    DCGAN paper it pools instead of striding and has batch norm in the first block.

    Args:
        image_shape: (H, W, C) with C in {1, 3} and H, W >= 8 (three 2x2 poolings); the
            report used 28x28 (MNIST, CelebA rescaled) and 32x32.
        num_classes: None, or an int >= 2 for a conditional discriminator taking
            `[images, labels]`, the label entering as an extra image channel (not in the report).
        embedding_dim: size of the label embedding (conditional only).
        name: model name.

    Returns:
        A `keras.Model` mapping images of shape (B, H, W, C) in [-1, 1] (plus labels of shape
        (B,) when conditional) to logits of shape (B, 1), float32, unbounded.

    Raises:
        ValueError: if an argument is impossible; the message says what would work.

    Paper:
        Chapagain 2019, "DCGAN - Image Generation", technical report (Kathmandu University),
        after Radford, Metz & Chintala 2015, arXiv:1511.06434.

    Example:
        >>> discriminator = build_report_discriminator(image_shape=(28, 28, 1))
        >>> tuple(discriminator(keras.random.uniform((16, 28, 28, 1), -1, 1)).shape)
        (16, 1)
    """
    height, width, channels = check_image_shape(image_shape)
    num_classes = check_num_classes(num_classes)
    embedding_dim = check_positive_int("embedding_dim", embedding_dim, "50")
    if min(height, width) < 8:
        raise ValueError(
            "build_report_discriminator needs images of at least 8x8 (it pools 2x2 three "
            f"times), e.g. (28, 28, 1) or (32, 32, 3); got {image_shape!r}."
        )

    images = keras.Input(shape=(height, width, channels), name="images")
    inputs = images
    x = images
    if num_classes is not None:
        labels = label_input()
        inputs = [images, labels]
        channel = label_channel(labels, num_classes, embedding_dim, height, width)
        x = layers.Concatenate(name="image_and_label")([images, channel])  # (B, H, W, C + 1)
    for filters in _REPORT_FILTERS:
        x = layers.Conv2D(filters, 3, padding="same")(x)
        # The report does not give the slope; 0.2 as in the DCGAN paper.
        x = leaky_relu()(x)
        x = layers.AveragePooling2D(2)(x)  # size halved (floored): 28 -> 14 -> 7 -> 3
        x = layers.BatchNormalization()(x)
    x = layers.Flatten()(x)  # (B, H / 8 * W / 8 * 256), e.g. (B, 2304) for 28x28
    x = layers.Dropout(0.4)(x)
    logits = layers.Dense(1, dtype="float32", name="logit")(x)
    return keras.Model(inputs, logits, name=name)


def build_report_generator(
    latent_dim: int = 100,
    image_shape: tuple[int, int, int] = (32, 32, 3),
    num_classes: int | None = None,
    embedding_dim: int = 50,
    name: str = "report_generator",
) -> keras.Model:
    """Builds the generator of the DCGAN technical report, z -> image: its discriminator mirrored.

    Dense projection (no bias) to an (H / 2**n, W / 2**n, 256) map + batch norm + LeakyReLU,
    then n blocks of 3x3 stride-2 Conv2DTranspose + batch norm + LeakyReLU ending at 64 filters
    (256, 128, 64 when n = 3; 128, 64 when n = 2), and a 3x3 Conv2D to C channels with tanh.
    n = 3 when H and W are multiples of 8 (32 -> 4x4 start), else 2 (28 -> 7x7 start).

    Args:
        latent_dim: size of z.
        image_shape: (H, W, C) with C in {1, 3}, H and W multiples of 4, e.g. (32, 32, 3) as
            in the report or (28, 28, 1) for MNIST.
        num_classes: None, or an int >= 2 for a conditional generator taking `[z, labels]`,
            a learned label embedding concatenated to z (not in the report).
        embedding_dim: size of the label embedding (conditional only).
        name: model name.

    Returns:
        A `keras.Model` mapping z of shape (B, latent_dim) (plus labels of shape (B,) when
        conditional) to images of shape (B, H, W, C) with values in [-1, 1].

    Raises:
        ValueError: if an argument is impossible; the message says what would work.

    Paper:
        Chapagain 2019, "DCGAN - Image Generation", technical report (Kathmandu University),
        after Radford, Metz & Chintala 2015, arXiv:1511.06434.

    Example:
        >>> generator = build_report_generator(latent_dim=100, image_shape=(32, 32, 3))
        >>> tuple(generator(keras.random.normal((16, 100))).shape)
        (16, 32, 32, 3)
    """
    latent_dim = check_positive_int("latent_dim", latent_dim, "100")
    height, width, channels = check_image_shape(image_shape)
    num_classes = check_num_classes(num_classes)
    embedding_dim = check_positive_int("embedding_dim", embedding_dim, "50")
    if height % 8 == 0 and width % 8 == 0:
        n = 3
    elif height % 4 == 0 and width % 4 == 0:
        n = 2
    else:
        raise ValueError(
            "build_report_generator doubles the size 2 or 3 times, so H and W must be "
            f"multiples of 4, e.g. (28, 28, 1) or (32, 32, 3); got {image_shape!r}."
        )

    z = keras.Input(shape=(latent_dim,), name="z")
    inputs = z
    x = z
    if num_classes is not None:
        labels = label_input()
        inputs = [z, labels]
        x = layers.Concatenate(name="z_and_label")(
            [z, label_embedding(labels, num_classes, embedding_dim)]
        )
    start_h, start_w = height // 2**n, width // 2**n
    x = layers.Dense(start_h * start_w * 256, use_bias=False)(x)
    x = layers.Reshape((start_h, start_w, 256))(x)  # (B, H / 2**n, W / 2**n, 256)
    x = layers.BatchNormalization()(x)
    x = leaky_relu()(x)
    for filters in reversed(_REPORT_FILTERS[:n]):
        x = layers.Conv2DTranspose(filters, 3, strides=2, padding="same", use_bias=False)(x)
        x = layers.BatchNormalization()(x)  # size doubled: ... -> (B, H, W, 64)
        x = leaky_relu()(x)
    x = layers.Conv2D(channels, 3, padding="same", name="to_image")(x)  # (B, H, W, C)
    images = layers.Activation("tanh", dtype="float32", name="tanh")(x)
    return keras.Model(inputs, images, name=name)
