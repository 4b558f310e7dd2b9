"""The two training steps students would otherwise run, re-implemented for the benchmarks.

* `TutorialLoop`: the TensorFlow DCGAN tutorial (tensorflow.org/tutorials/generative/dcgan):
  a `@tf.function` step in which one generator forward pass feeds two gradient tapes (the
  simultaneous update), binary cross-entropy from logits, Adam(1e-4) for both networks,
  `Dataset.from_tensor_slices(images).shuffle(60000).batch(256)` with no prefetch.
* `KerasIoGAN`: the keras.io DCGAN example's `fit` step: fakes concatenated with the real batch
  for one discriminator call with noisy labels (fake = 1, real = 0, plus 0.05 U[0, 1]), then
  fresh noise and regenerated fakes for the generator update with "all real" labels.
* `build_kerasio_generator` / `build_kerasio_discriminator` and `kerasio_dataset`: that
  example's own networks and pipeline (images in [0, 1]), for bench/time_to_quality.py. The TF
  tutorial's networks live in the kit (`gan_kit.models.build_tutorial_*`).

Written from the descriptions of those programs, not copied. The loops train whatever networks
the caller passes, so bench/bench.py can time the kit and both references on one architecture.
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf
from keras import layers

_bce = keras.losses.BinaryCrossentropy(from_logits=True)


def tutorial_dataset(images: np.ndarray, batch_size: int) -> tf.data.Dataset:
    """uint8 (N, 28, 28, 1) -> float32 in [-1, 1], the tutorial's shuffle(60000).batch(B)."""
    scaled = (images.astype("float32") - 127.5) / 127.5
    return tf.data.Dataset.from_tensor_slices(scaled).shuffle(60000).batch(batch_size).repeat()


def kerasio_dataset(images: np.ndarray, batch_size: int) -> tf.data.Dataset:
    """uint8 (N, 28, 28, 1) -> float32 in [0, 1], keras.io's shuffle(1024).batch(B).prefetch(32).

    Note: keras.io trains on the training and test digits together; pass only the training
    split when the test split is what the samples are scored against.
    """
    scaled = images.astype("float32") / 255.0
    return (
        tf.data.Dataset.from_tensor_slices(scaled)
        .shuffle(1024)
        .batch(batch_size)
        .repeat()
        .prefetch(32)
    )


def build_kerasio_generator(latent_dim: int = 128, name: str = "kerasio_generator") -> keras.Model:
    """Builds the keras.io DCGAN example's MNIST generator, z -> 28x28x1 image in [0, 1].

    Dense(7 * 7 * 128), reshaped, then two Conv2DTranspose(128, 4x4, stride 2), each layer
    followed by LeakyReLU(0.2), and a Conv2D(1, 7x7) with a sigmoid. No batch norm, biases
    everywhere. It mirrors `build_kerasio_discriminator`.

    Args:
        latent_dim: size of z (the example uses 128).
        name: model name.

    Returns:
        A `keras.Model` mapping z of shape (B, latent_dim) to images of shape (B, 28, 28, 1)
        with values in [0, 1] (sigmoid, not tanh: rescale with x * 2 - 1 to compare with
        [-1, 1] images). 1,339,905 parameters for latent_dim=128.

    Raises:
        ValueError: if latent_dim < 1.

    Source:
        fchollet 2019, "GAN overriding Model.train_step", keras.io/examples/generative/
        dcgan_overriding_train_step; after Radford, Metz & Chintala 2015, arXiv:1511.06434.

    Example:
        >>> generator = build_kerasio_generator()
        >>> tuple(generator(keras.random.normal((16, 128))).shape)
        (16, 28, 28, 1)
    """
    if not isinstance(latent_dim, int) or latent_dim < 1:
        raise ValueError(
            f"latent_dim must be a positive int (the example uses 128), got {latent_dim!r}"
        )
    z = keras.Input(shape=(latent_dim,), name="z")
    x = layers.Dense(7 * 7 * 128)(z)
    x = layers.LeakyReLU(negative_slope=0.2)(x)
    x = layers.Reshape((7, 7, 128))(x)  # (B, 7, 7, 128)
    x = layers.Conv2DTranspose(128, 4, strides=2, padding="same")(x)  # (B, 14, 14, 128)
    x = layers.LeakyReLU(negative_slope=0.2)(x)
    x = layers.Conv2DTranspose(128, 4, strides=2, padding="same")(x)  # (B, 28, 28, 128)
    x = layers.LeakyReLU(negative_slope=0.2)(x)
    images = layers.Conv2D(1, 7, padding="same", activation="sigmoid")(x)  # (B, 28, 28, 1)
    return keras.Model(z, images, name=name)


def build_kerasio_discriminator(name: str = "kerasio_discriminator") -> keras.Model:
    """Builds the keras.io DCGAN example's MNIST discriminator, 28x28x1 image -> logit.

    Conv2D(64) and Conv2D(128), 3x3, stride 2, each followed by LeakyReLU(0.2), then global
    max pooling and Dense(1). No batch norm, no dropout.

    Args:
        name: model name.

    Returns:
        A `keras.Model` mapping images of shape (B, 28, 28, 1) in [0, 1] to logits of shape
        (B, 1), unbounded. 74,625 parameters.

    Source:
        fchollet 2019, "GAN overriding Model.train_step", keras.io/examples/generative/
        dcgan_overriding_train_step; after Radford, Metz & Chintala 2015, arXiv:1511.06434.

    Example:
        >>> discriminator = build_kerasio_discriminator()
        >>> tuple(discriminator(keras.random.uniform((16, 28, 28, 1))).shape)
        (16, 1)
    """
    images = keras.Input(shape=(28, 28, 1), name="images")
    x = layers.Conv2D(64, 3, strides=2, padding="same")(images)  # (B, 14, 14, 64)
    x = layers.LeakyReLU(negative_slope=0.2)(x)
    x = layers.Conv2D(128, 3, strides=2, padding="same")(x)  # (B, 7, 7, 128)
    x = layers.LeakyReLU(negative_slope=0.2)(x)
    x = layers.GlobalMaxPooling2D()(x)  # (B, 128)
    logits = layers.Dense(1, name="logit")(x)
    return keras.Model(images, logits, name=name)


class TutorialLoop:
    """The tutorial's `train_step`, one object so the benchmark can call `step(images)`."""

    def __init__(self, generator: keras.Model, discriminator: keras.Model, latent_dim: int):
        self.generator = generator
        self.discriminator = discriminator
        self.latent_dim = latent_dim
        self.generator_optimizer = keras.optimizers.Adam(1e-4)
        self.discriminator_optimizer = keras.optimizers.Adam(1e-4)

    @tf.function
    def step(self, images):
        noise = tf.random.normal([tf.shape(images)[0], self.latent_dim])
        with tf.GradientTape() as gen_tape, tf.GradientTape() as disc_tape:
            generated = self.generator(noise, training=True)
            real_output = self.discriminator(images, training=True)
            fake_output = self.discriminator(generated, training=True)
            gen_loss = _bce(tf.ones_like(fake_output), fake_output)
            disc_loss = _bce(tf.ones_like(real_output), real_output) + _bce(
                tf.zeros_like(fake_output), fake_output
            )
        gen_grads = gen_tape.gradient(gen_loss, self.generator.trainable_variables)
        disc_grads = disc_tape.gradient(disc_loss, self.discriminator.trainable_variables)
        self.generator_optimizer.apply_gradients(
            zip(gen_grads, self.generator.trainable_variables, strict=True)
        )
        self.discriminator_optimizer.apply_gradients(
            zip(disc_grads, self.discriminator.trainable_variables, strict=True)
        )
        return gen_loss, disc_loss


class KerasIoGAN(keras.Model):
    """The keras.io DCGAN example's model: `fit` with a custom `train_step`."""

    def __init__(self, generator: keras.Model, discriminator: keras.Model, latent_dim: int):
        super().__init__()
        self.generator = generator
        self.discriminator = discriminator
        self.latent_dim = latent_dim
        self.seed_generator = keras.random.SeedGenerator(1337)

    def compile(self, d_optimizer, g_optimizer):
        super().compile()
        self.d_optimizer = d_optimizer
        self.g_optimizer = g_optimizer

    def train_step(self, real_images):
        batch_size = tf.shape(real_images)[0]
        noise = keras.random.normal((batch_size, self.latent_dim), seed=self.seed_generator)
        generated = self.generator(noise)
        combined = tf.concat([generated, real_images], axis=0)
        labels = tf.concat([tf.ones((batch_size, 1)), tf.zeros((batch_size, 1))], axis=0)
        labels += 0.05 * keras.random.uniform(tf.shape(labels), seed=self.seed_generator)
        with tf.GradientTape() as tape:
            d_loss = _bce(labels, self.discriminator(combined))
        grads = tape.gradient(d_loss, self.discriminator.trainable_weights)
        self.d_optimizer.apply_gradients(
            zip(grads, self.discriminator.trainable_weights, strict=True)
        )

        noise = keras.random.normal((batch_size, self.latent_dim), seed=self.seed_generator)
        misleading = tf.zeros((batch_size, 1))
        with tf.GradientTape() as tape:
            g_loss = _bce(misleading, self.discriminator(self.generator(noise)))
        grads = tape.gradient(g_loss, self.generator.trainable_weights)
        self.g_optimizer.apply_gradients(zip(grads, self.generator.trainable_weights, strict=True))
        return {"d_loss": d_loss, "g_loss": g_loss}
