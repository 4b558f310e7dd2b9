"""DCGAN networks: Radford, Metz & Chintala 2015 (arXiv:1511.06434).

The paper's guidelines, which both builders follow: strided convolutions instead of pooling,
batch norm everywhere except the generator output and the discriminator input, no fully
connected hidden layers, ReLU in the generator with a tanh output, LeakyReLU (slope 0.2) in the
discriminator, weights drawn from N(0, 0.02).

Depth follows the image size: the generator starts from an s0 x s0 map (s0 <= 7) and doubles it
n times (28 = 7 * 2**2, 32 = 4 * 2**3, 64 = 4 * 2**4); the discriminator halves it n times.
"""

from __future__ import annotations

import keras
from keras import layers

from gan_kit.models._common import (
    activation_layer,
    check_activation,
    check_dropout,
    check_image_shape,
    check_num_classes,
    check_positive_int,
    dcgan_num_upsamplings,
    label_channel,
    label_embedding,
    MinibatchStdDev,
    label_input,
    leaky_relu,
)


def _dcgan_init() -> keras.initializers.Initializer:
    # Radford et al. 2015, Sec. 4: weights from a zero-centred normal with stddev 0.02.
    # A fresh instance per layer, so that no two layers share one unseeded initializer.
    return keras.initializers.RandomNormal(mean=0.0, stddev=0.02)


def build_dcgan_generator(
    latent_dim: int = 100,
    image_shape: tuple[int, int, int] = (28, 28, 1),
    base_filters: int = 64,
    kernel_size: int = 5,
    num_classes: int | None = None,
    activation: str = "relu",
    embedding_dim: int = 50,
    name: str = "dcgan_generator",
) -> keras.Model:
    """Builds a DCGAN generator, z -> image, by stride-2 transposed convolutions.

    z is projected (Dense, no bias) to an s0 x s0 x F map with F = base_filters * 2**n, then
    n - 1 blocks of Conv2DTranspose(stride 2) + batch norm + activation halve the filters while
    doubling the size, and a last stride-2 Conv2DTranspose to C channels feeds the tanh (no
    batch norm at the output). For 64x64x3 and base_filters=64: 4x4x1024, then 512, 256, 128
    and 3 filters of 5x5, the generator of Figure 1 in the DCGAN paper.

    Args:
        latent_dim: size of z.
        image_shape: (H, W, C), square, C in {1, 3}, H = s0 * 2**n with s0 <= 7 and n >= 1
            (e.g. 28, 32, 48, 64, 128).
        base_filters: filters of the last hidden block; the projection has base_filters * 2**n.
        kernel_size: side of the square transposed-convolution kernels.
        num_classes: None for an unconditional generator; an int >= 2 makes it conditional:
            it then takes `[z, labels]` and a learned label embedding is concatenated to z.
        activation: "relu" (the DCGAN paper) or "leaky_relu" (slope 0.2).
        embedding_dim: size of the label embedding (conditional only).
        name: model name.

    Returns:
        A `keras.Model` mapping z of shape (B, latent_dim) (plus labels of shape (B,), int
        class ids, when conditional) to images of shape (B, H, W, C) with values in [-1, 1].

    Raises:
        ValueError: if an argument is impossible; the message says what would work (for an
            image size, the nearest sizes this generator can make).

    Paper:
        Radford, Metz & Chintala 2015, "Unsupervised Representation Learning with Deep
        Convolutional Generative Adversarial Networks", arXiv:1511.06434.

    Example:
        >>> generator = build_dcgan_generator(latent_dim=100, image_shape=(32, 32, 3))
        >>> tuple(generator(keras.random.normal((16, 100))).shape)
        (16, 32, 32, 3)
    """
    latent_dim = check_positive_int("latent_dim", latent_dim, "100")
    image_shape = check_image_shape(image_shape)
    base_filters = check_positive_int("base_filters", base_filters, "64")
    kernel_size = check_positive_int("kernel_size", kernel_size, "5")
    num_classes = check_num_classes(num_classes)
    activation = check_activation(activation)
    embedding_dim = check_positive_int("embedding_dim", embedding_dim, "50")
    n = dcgan_num_upsamplings(image_shape, "build_dcgan_generator")
    start = image_shape[0] // 2**n
    filters = base_filters * 2**n

    z = keras.Input(shape=(latent_dim,), name="z")
    inputs = z
    x = z
    if num_classes is not None:
        labels = label_input()
        inputs = [z, labels]
        x = layers.Concatenate(name="z_and_label")(
            [z, label_embedding(labels, num_classes, embedding_dim)]
        )  # (B, latent_dim + embedding_dim)
    # No biases before batch norm: its beta already shifts each channel.
    x = layers.Dense(start * start * filters, use_bias=False, kernel_initializer=_dcgan_init())(x)
    x = layers.Reshape((start, start, filters))(x)  # (B, s0, s0, F), e.g. (B, 4, 4, 1024)
    x = layers.BatchNormalization()(x)
    x = activation_layer(activation)(x)
    for _ in range(n - 1):
        filters //= 2
        x = layers.Conv2DTranspose(
            filters,
            kernel_size,
            strides=2,
            padding="same",
            use_bias=False,
            kernel_initializer=_dcgan_init(),
        )(x)  # size doubled, filters halved: (B, 2 * size, 2 * size, F / 2)
        x = layers.BatchNormalization()(x)
        x = activation_layer(activation)(x)
    # No batch norm at the output (Radford et al.: it made samples oscillate).
    x = layers.Conv2DTranspose(
        image_shape[2],
        kernel_size,
        strides=2,
        padding="same",
        kernel_initializer=_dcgan_init(),
        name="to_image",
    )(x)  # (B, H, W, C)
    # float32 output, so that samples stay float32 under a mixed-precision policy.
    images = layers.Activation("tanh", dtype="float32", name="tanh")(x)
    return keras.Model(inputs, images, name=name)


def dcgan_discriminator_block(
    x,
    filters: int,
    kernel_size: int,
    normalization: str = "batch",
    spectral_norm: bool = False,
):
    """One DCGAN discriminator block: Conv2D(stride 2, "same") [+ normalization] + LeakyReLU(0.2).

    (B, H, W, C) -> (B, ceil(H / 2), ceil(W / 2), filters): a strided convolution instead of
    pooling (Radford et al. 2015, Sec. 3). The convolution has no bias before batch norm, whose
    beta already shifts each channel.

    Args:
        x: the block's input, a symbolic (B, H, W, C) tensor.
        filters: output channels.
        kernel_size: side of the square kernel.
        normalization: "batch", "layer" (layer norm over (H, W, C), WGAN-GP's critic) or "none"
            (the first block: the paper keeps normalization off the discriminator input).
        spectral_norm: divide the kernel by its largest singular value (Miyato et al. 2018).

    Returns:
        The block's output tensor.
    """
    conv = layers.Conv2D(
        filters,
        kernel_size,
        strides=2,
        padding="same",
        # Batch norm's beta replaces a per-channel bias; layer norm over (H, W, C) does not.
        use_bias=normalization != "batch",
        kernel_initializer=_dcgan_init(),
    )
    x = _spectrally_normalized(conv)(x) if spectral_norm else conv(x)
    if normalization == "batch":
        x = layers.BatchNormalization()(x)
    elif normalization == "layer":
        # Layer norm over (H, W, C) with a per-channel scale and offset, as in the WGAN-GP
        # authors' code; one group spanning all channels is exactly that.
        x = layers.GroupNormalization(groups=1)(x)
    return leaky_relu()(x)


def _strided_discriminator(
    image_shape: tuple[int, int, int],
    base_filters: int,
    kernel_size: int,
    num_classes: int | None,
    embedding_dim: int,
    normalization: str,
    dropout: float,
    builder: str,
    output_name: str,
    name: str,
    spectral_norm: bool = False,
    minibatch_std: bool = False,
) -> keras.Model:
    """The DCGAN discriminator body, shared with the WGAN critic; arguments already checked."""
    n = dcgan_num_upsamplings(image_shape, builder)
    height, width, _ = image_shape

    images = keras.Input(shape=image_shape, name="images")
    inputs = images
    x = images
    if num_classes is not None:
        labels = label_input()
        inputs = [images, labels]
        channel = label_channel(labels, num_classes, embedding_dim, height, width)
        x = layers.Concatenate(name="image_and_label")([images, channel])  # (B, H, W, C + 1)
    for i in range(n):
        # The first block sees the image itself: the paper keeps normalization off the input.
        # size halved: (B, H / 2**(i+1), W / 2**(i+1), base_filters * 2**i)
        x = dcgan_discriminator_block(
            x,
            base_filters * 2**i,
            kernel_size,
            normalization if i > 0 else "none",
            spectral_norm=spectral_norm,
        )
        if dropout > 0:
            x = layers.Dropout(dropout)(x)
    if minibatch_std:
        x = MinibatchStdDev(name="minibatch_std")(x)  # (B, s0, s0, base_filters * 2**(n - 1) + 1)
    x = layers.Flatten()(x)  # (B, s0 * s0 * channels)
    dense = layers.Dense(1, dtype="float32", name=output_name)
    outputs = (
        layers.SpectralNormalization(dense, dtype="float32", name=f"{output_name}_sn")(x)
        if spectral_norm
        else dense(x)
    )
    return keras.Model(inputs, outputs, name=name)


def _spectrally_normalized(layer: layers.Layer) -> layers.Layer:
    # Miyato et al. 2018 (arXiv:1802.05957): W / sigma(W), sigma from one power iteration per
    # training call, which bounds each layer's Lipschitz constant by 1.
    return layers.SpectralNormalization(layer, power_iterations=1)


def build_dcgan_discriminator(
    image_shape: tuple[int, int, int] = (28, 28, 1),
    base_filters: int = 64,
    kernel_size: int = 5,
    num_classes: int | None = None,
    batch_norm: bool = True,
    dropout: float = 0.0,
    embedding_dim: int = 50,
    spectral_norm: bool = False,
    minibatch_std: bool = False,
    name: str = "dcgan_discriminator",
) -> keras.Model:
    """Builds a DCGAN discriminator, image -> real/fake logit, by stride-2 convolutions.

    n blocks of Conv2D(stride 2) + batch norm + LeakyReLU(0.2) with base_filters,
    2 * base_filters, 4 * base_filters, ... filters shrink the image to s0 x s0 (s0 <= 7, the
    generator's start), then Flatten and Dense(1). The first block has no batch norm (the
    paper keeps it off the discriminator input). There is no sigmoid: the losses apply it.

    Args:
        image_shape: (H, W, C), square, C in {1, 3}, H = s0 * 2**n with s0 <= 7 and n >= 1.
        base_filters: filters of the first block, doubled in each following block.
        kernel_size: side of the square convolution kernels.
        num_classes: None for an unconditional discriminator; an int >= 2 makes it
            conditional: it then takes `[images, labels]`, and the label, embedded and mapped
            by a Dense layer to an H x W map, is concatenated to the image as an extra channel.
        batch_norm: batch norm in every block but the first.
        dropout: dropout rate after each block, in [0, 1); 0 disables it.
        embedding_dim: size of the label embedding (conditional only).
        spectral_norm: divide every convolution's and the output layer's kernel by its
            largest singular value (Miyato et al. 2018, arXiv:1802.05957), usually with
            batch_norm=False.
        minibatch_std: before the output layer, append the batch's mean feature standard
            deviation as one more channel (Karras et al. 2018, `MinibatchStdDev`), so that the
            discriminator can see a batch of fakes that lacks variety.
        name: model name.

    Returns:
        A `keras.Model` mapping images of shape (B, H, W, C) in [-1, 1] (plus labels of shape
        (B,) when conditional) to logits of shape (B, 1), float32, unbounded.

    Raises:
        ValueError: if an argument is impossible; the message says what would work.

    Paper:
        Radford, Metz & Chintala 2015, "Unsupervised Representation Learning with Deep
        Convolutional Generative Adversarial Networks", arXiv:1511.06434.

    Example:
        >>> discriminator = build_dcgan_discriminator(image_shape=(28, 28, 1))
        >>> tuple(discriminator(keras.random.uniform((16, 28, 28, 1), -1, 1)).shape)
        (16, 1)
    """
    return _strided_discriminator(
        image_shape=check_image_shape(image_shape),
        base_filters=check_positive_int("base_filters", base_filters, "64"),
        kernel_size=check_positive_int("kernel_size", kernel_size, "5"),
        num_classes=check_num_classes(num_classes),
        embedding_dim=check_positive_int("embedding_dim", embedding_dim, "50"),
        normalization="batch" if batch_norm else "none",
        dropout=check_dropout(dropout),
        builder="build_dcgan_discriminator",
        spectral_norm=bool(spectral_norm),
        minibatch_std=bool(minibatch_std),
        output_name="logit",
        name=name,
    )
