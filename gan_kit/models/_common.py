"""Argument checks and label blocks shared by the builders (private: import the builders)."""

from __future__ import annotations

import numbers

import keras
import tensorflow as tf
from keras import layers

ACTIVATIONS = ("relu", "leaky_relu")


def _is_int(value: object) -> bool:
    # bool is an int subclass, but `latent_dim=True` is surely a mistake.
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def check_positive_int(name: str, value: object, example: str) -> int:
    if not _is_int(value) or value < 1:
        raise ValueError(f"{name} must be an integer >= 1 (e.g. {example}); got {value!r}.")
    return int(value)


def check_image_shape(image_shape: object) -> tuple[int, int, int]:
    ok = (
        isinstance(image_shape, (tuple, list))
        and len(image_shape) == 3
        and all(_is_int(d) and d >= 1 for d in image_shape)
        and image_shape[2] in (1, 3)
    )
    if not ok:
        raise ValueError(
            "image_shape must be (H, W, C) with H, W >= 1 and C in {1, 3} (grayscale or RGB), "
            f"e.g. (28, 28, 1) or (32, 32, 3); got {image_shape!r}."
        )
    return tuple(int(d) for d in image_shape)


def check_num_classes(num_classes: object) -> int | None:
    if num_classes is None:
        return None
    if not _is_int(num_classes) or num_classes < 2:
        raise ValueError(
            "num_classes must be None (unconditional) or an integer >= 2 "
            f"(e.g. 10 for MNIST digits); got {num_classes!r}."
        )
    return int(num_classes)


def check_dropout(dropout: object) -> float:
    if not isinstance(dropout, numbers.Real) or not 0.0 <= dropout < 1.0:
        raise ValueError(f"dropout must be a rate in [0, 1), e.g. 0.0 or 0.3; got {dropout!r}.")
    return float(dropout)


def check_activation(activation: object) -> str:
    if activation not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {ACTIVATIONS}; got {activation!r}.")
    return activation


def activation_layer(activation: str) -> layers.Layer:
    if activation == "relu":
        return layers.ReLU()
    return leaky_relu()


def leaky_relu(negative_slope: float = 0.2) -> layers.Layer:
    # Radford et al. 2015, Sec. 4: "the slope of the leak was set to 0.2" (Keras defaults to 0.3).
    return LeakyReLU(negative_slope=negative_slope)


@keras.saving.register_keras_serializable(package="gan_kit")
class LeakyReLU(layers.LeakyReLU):
    """`keras.layers.LeakyReLU` whose gradient reads the layer's output instead of its input.

    TensorFlow's LeakyRelu gradient reads the input x: after a Conv2D with a bias, the BiasAdd
    output then has two readers, LeakyRelu and LeakyReluGrad. Grappler's remapper fuses Conv2D +
    BiasAdd into a _FusedConv2D; with oneDNN (on by default on CPUs with AVX-512 or AMX,
    TF_ENABLE_ONEDNN_OPTS=1 elsewhere) a second pass folds the LeakyRelu into it without checking
    for other readers, removes the tensor LeakyReluGrad reads, and TensorFlow 2.21 rejects the
    rewrite with "E0000 ... remapper failed: ... fanout '.../LeakyReluGrad' exist for missing
    node '.../BiasAdd'". For a slope >= 0, y = max(x, slope * x) is positive exactly where x is,
    so LeakyReluGrad may read y instead, as ReLU's gradient does: the BiasAdd keeps one reader
    and the remapper fuses all three ops in one step. Same values, same gradients.
    """

    def call(self, inputs):
        return _leaky_relu_output_gradient(inputs, self.negative_slope)


def _leaky_relu_output_gradient(x: tf.Tensor, negative_slope: float) -> tf.Tensor:
    @tf.custom_gradient
    def forward(x):
        y = tf.nn.leaky_relu(x, alpha=negative_slope)

        def gradient(dy):
            # y only selects the slope, so nothing flows back through it: without the stop, the
            # second derivative (WGAN-GP's penalty) would add a zero LeakyReluGrad that reads x.
            features = tf.stop_gradient(y)
            return tf.raw_ops.LeakyReluGrad(gradients=dy, features=features, alpha=negative_slope)

        return y, gradient

    return forward(x)


def dcgan_valid_sizes() -> list[int]:
    """Every size s0 * 2**n with a start map s0 <= 7 and n >= 1 doublings, up to 4096."""
    return sorted({s0 * 2**n for s0 in range(1, 8) for n in range(1, 12) if s0 * 2**n <= 4096})


def dcgan_num_upsamplings(image_shape: tuple[int, int, int], builder: str) -> int:
    """The smallest n >= 1 with H divisible by 2**n and H / 2**n <= 7: 28 -> 2, 32 -> 3, 64 -> 4."""
    height, width, channels = image_shape
    valid = dcgan_valid_sizes()
    if height != width:
        side = max([s for s in valid if s <= min(height, width)], default=valid[0])
        raise ValueError(
            f"{builder} makes square images only; got {image_shape}. "
            f"Use e.g. ({side}, {side}, {channels}), or crop/resize the data to a square."
        )
    n = 1
    while height % 2**n == 0:
        if height // 2**n <= 7:
            return n
        n += 1
    below = [s for s in valid if s < height][-2:]
    above = [s for s in valid if s > height][:2]
    near = ", ".join(str(s) for s in below + above)
    raise ValueError(
        f"{builder} cannot work on {height}x{width} images: a DCGAN's depth is set by the size, "
        f"which must be s0 * 2**n (an s0 x s0 map, s0 <= 7, doubled n >= 1 times). "
        f"Sizes near {height} that work: {near}."
    )


def label_input() -> keras.KerasTensor:
    return keras.Input(shape=(), dtype="int32", name="labels")


def one_hot(labels: keras.KerasTensor, num_classes: int) -> keras.KerasTensor:
    return layers.CategoryEncoding(num_classes, output_mode="one_hot", name="label_one_hot")(labels)


def label_embedding(labels: keras.KerasTensor, num_classes: int, dim: int) -> keras.KerasTensor:
    # (B,) int ids -> (B, dim) learned vectors.
    return layers.Embedding(num_classes, dim, name="label_embedding")(labels)


def label_channel(
    labels: keras.KerasTensor, num_classes: int, dim: int, height: int, width: int
) -> keras.KerasTensor:
    """Labels as one extra image channel, (B,) -> (B, H, W, 1), to concatenate to the image."""
    x = label_embedding(labels, num_classes, dim)
    x = layers.Dense(height * width, name="label_dense")(x)
    return layers.Reshape((height, width, 1), name="label_channel")(x)


@keras.saving.register_keras_serializable(package="gan_kit")
class MinibatchStdDev(layers.Layer):
    """Appends one channel: the batch's mean standard deviation per feature, the same everywhere.

    Karras et al. 2018 (ProGAN, arXiv:1710.10196, Sec. 3): a discriminator that sees one image
    at a time cannot tell that a batch of fakes lacks variety; this channel lets it. For an input
    of shape (B, H, W, C): the std over the batch of every (h, w, c) feature, averaged to one
    number s, broadcast to (B, H, W, 1) and concatenated: (B, H, W, C + 1). Real and fake
    batches go through the discriminator separately, so s is a statistic of one kind of image.
    Computed in float32, whatever the compute dtype (a bfloat16 variance of 32 values is coarse).
    """

    def call(self, inputs):
        x = keras.ops.cast(inputs, "float32")
        std = keras.ops.sqrt(keras.ops.var(x, axis=0) + 1e-8)  # (H, W, C)
        spread = keras.ops.mean(std)
        channel = keras.ops.ones_like(x[..., :1]) * spread  # (B, H, W, 1)
        return keras.ops.concatenate([inputs, keras.ops.cast(channel, inputs.dtype)], axis=-1)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], input_shape[-1] + 1)
