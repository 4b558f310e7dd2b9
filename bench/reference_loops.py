"""The two training steps students would otherwise run, re-implemented for the benchmark.

* `TutorialLoop`: the TensorFlow DCGAN tutorial (tensorflow.org/tutorials/generative/dcgan):
  a `@tf.function` step in which one generator forward pass feeds two gradient tapes (the
  simultaneous update), binary cross-entropy from logits, Adam(1e-4) for both networks,
  `Dataset.from_tensor_slices(images).shuffle(60000).batch(256)` with no prefetch.
* `KerasIoGAN`: the keras.io DCGAN example's `fit` step: fakes concatenated with the real batch
  for one discriminator call with noisy labels (fake = 1, real = 0, plus 0.05 U[0, 1]), then
  fresh noise and regenerated fakes for the generator update with "all real" labels.

Written from the descriptions of those programs, not copied; the networks are whatever the
caller passes, so the kit and both references are timed on the same architecture.
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

_bce = keras.losses.BinaryCrossentropy(from_logits=True)


def tutorial_dataset(images: np.ndarray, batch_size: int) -> tf.data.Dataset:
    """uint8 (N, 28, 28, 1) -> float32 in [-1, 1], the tutorial's shuffle(60000).batch(B)."""
    scaled = (images.astype("float32") - 127.5) / 127.5
    return tf.data.Dataset.from_tensor_slices(scaled).shuffle(60000).batch(batch_size).repeat()


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
