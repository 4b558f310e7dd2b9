"""The training model: a `keras.Model` whose `train_step` plays the GAN game.

`GAN.fit(dataset)` runs Algorithm 1 of Goodfellow et al. 2014 (arXiv:1406.2661): for every
batch, `n_critic` discriminator steps (k in the paper), then one generator step. Keras
compiles `train_step` with `tf.function`, so the same code runs on a CPU, a GPU or under a
`tf.distribute` strategy.

    gan = GAN(generator, discriminator, latent_dim=100)
    gan.compile(d_optimizer=keras.optimizers.Adam(2e-4, beta_1=0.5),
                g_optimizer=keras.optimizers.Adam(2e-4, beta_1=0.5))
    gan.fit(dataset, epochs=5)          # dataset yields images, or (images, labels)
    images = gan.generate(16, seed=0)   # (16, H, W, C) in [-1, 1]

Flavours change hooks, not the class: `loss="wasserstein"` with `clip_value=0.01` is the
original WGAN, with `gp_weight=10.0` WGAN-GP; a generator and discriminator built with
`num_classes` make a conditional GAN, and the batches then carry labels.
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from gan_kit import losses

# The networks' custom layers must be registered before a saved GAN can be loaded.
from gan_kit.models import _common  # noqa: F401

LATENT_DISTRIBUTIONS = ("normal", "uniform", "mixture")


def _needs_labels(network: keras.Model) -> bool:
    return len(network.inputs) == 2


@keras.saving.register_keras_serializable(package="gan_kit")
class GAN(keras.Model):
    """A generator and a discriminator (or critic) trained against each other with `fit`.

    Args:
        generator: maps z of shape (B, latent_dim) [and labels (B,)] to images (B, H, W, C).
        discriminator: maps images [and labels] to (B, 1) logits (or critic scores).
        latent_dim: size of z; read from the generator when None.
        latent_distribution: "normal" draws z ~ N(0, I); "uniform" draws z ~ U[-1, 1];
            "mixture" draws a mixture of `mixture_components` (K) Gaussians that do not touch:
            z = [eps, s * onehot(k)] with eps ~ N(0, I) in latent_dim - K dimensions, k uniform
            on {0, ..., K - 1} and s = `mixture_scale`. A continuous generator maps a connected
            prior to a connected set, so between two digits it must pass through blends of
            them; from K separate islands it need not (Khayatkhoei et al. 2018,
            arXiv:1806.00880).
        mixture_components, mixture_scale: K and s of the "mixture" prior.
        n_critic: discriminator steps per generator step (k of Algorithm 1). All k steps of a
            batch see the same real images with fresh noise each; the WGAN papers draw a new
            real batch for every critic step, so an epoch here holds k times more generator
            steps than theirs.
        gp_weight: weight of the WGAN-GP gradient penalty; 0 turns it off.
        clip_value: clip the critic's weights to [-c, c] after each step (original WGAN).
        ema_decay: keep an exponential moving average of the generator's weights, used by
            `generate`; None turns it off.
        fused: use `fused_step`, the simultaneous update of the TensorFlow DCGAN tutorial, in
            which one generator forward pass serves both updates (about a third less generator
            work). Needs n_critic = 1 and no gradient penalty.
        instance_noise: std of the Gaussian noise added to every image the discriminator sees,
            real and fake, in all steps (Sonderby et al. 2016, arXiv:1610.04490, Sec. 3.1;
            Arjovsky & Bottou 2017, arXiv:1701.04862, Sec. 3): the noisy distributions overlap,
            so D cannot separate them perfectly and the generator's gradient does not vanish.
            0 turns it off.
        instance_noise_steps: anneal the noise linearly to 0 over this many training steps
            (`train_step` calls), as Sonderby et al. do; None keeps it constant.
        seed: seeds the model's random generator (noise and penalty weights), so the same
            seed gives the same run on a CPU.
    """

    def __init__(
        self,
        generator: keras.Model,
        discriminator: keras.Model,
        *,
        latent_dim: int | None = None,
        latent_distribution: str = "normal",
        mixture_components: int = 10,
        mixture_scale: float = 5.0,
        n_critic: int = 1,
        gp_weight: float = 0.0,
        clip_value: float | None = None,
        ema_decay: float | None = None,
        fused: bool = False,
        seed: int = 0,
        instance_noise: float = 0.0,
        instance_noise_steps: int | None = None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if latent_distribution not in LATENT_DISTRIBUTIONS:
            raise ValueError(f"latent_distribution must be one of {LATENT_DISTRIBUTIONS}")
        if n_critic < 1:
            raise ValueError(f"n_critic must be a positive integer, got {n_critic}")
        if fused and (n_critic != 1 or gp_weight):
            raise ValueError(
                "fused=True shares one generator pass between the two updates, so it needs "
                "n_critic=1 and gp_weight=0; use fused=False (Algorithm 1's alternating steps)"
            )
        if not 0.0 <= instance_noise < 10.0:
            raise ValueError(f"instance_noise is a std in [0, 10) (try 0.1), got {instance_noise}")
        if instance_noise_steps is not None and instance_noise_steps < 1:
            raise ValueError(
                "instance_noise_steps must be a positive number of steps, or None for constant "
                f"noise; got {instance_noise_steps}"
            )
        if _needs_labels(generator) != _needs_labels(discriminator):
            raise ValueError(
                "generator and discriminator must both be conditional (take labels) or both not; "
                "build both with the same num_classes"
            )
        self.generator = generator
        self.discriminator = discriminator
        self.latent_dim = int(latent_dim or generator.inputs[0].shape[-1])
        self.latent_distribution = latent_distribution
        self.mixture_components = int(mixture_components)
        self.mixture_scale = float(mixture_scale)
        if latent_distribution == "mixture" and not 2 <= self.mixture_components < self.latent_dim:
            raise ValueError(
                f"a mixture prior needs 2 <= mixture_components < latent_dim ({self.latent_dim}); "
                f"got {self.mixture_components}"
            )
        self.conditional = _needs_labels(generator)
        self.n_critic = int(n_critic)
        self.gp_weight = float(gp_weight)
        self.clip_value = clip_value
        self.ema_decay = ema_decay
        self.fused = bool(fused)
        self.seed = int(seed)
        self.instance_noise = float(instance_noise)
        self.instance_noise_steps = (
            None if instance_noise_steps is None else int(instance_noise_steps)
        )
        # Noise is drawn statelessly from (seed, draw counter): the counter is a model
        # variable, so checkpoints carry the random state and a resumed run draws what an
        # uninterrupted one would. (keras.random.SeedGenerator state is not saved.)
        self.random_draws = keras.Variable(
            0, dtype="int64", trainable=False, name="random_draws", aggregation="only_first_replica"
        )

        if self.instance_noise:
            # Steps taken, for the annealing; only with noise, so that checkpoints without it
            # keep their variables.
            self.instance_noise_updates = keras.Variable(
                0,
                dtype="int64",
                trainable=False,
                name="instance_noise_updates",
                aggregation="only_first_replica",
            )

        self.ema_generator = None
        if ema_decay is not None:
            self.ema_generator = keras.models.clone_model(generator)
            self.ema_generator.name = f"{generator.name}_ema"
            self.ema_generator.set_weights(generator.get_weights())
            self.ema_updates = keras.Variable(
                0,
                dtype="int64",
                trainable=False,
                name="ema_updates",
                aggregation="only_first_replica",
            )

        self.built = True  # the builders built both networks already
        self.d_loss_tracker = keras.metrics.Mean(name="d_loss")
        self.g_loss_tracker = keras.metrics.Mean(name="g_loss")
        self.d_real_tracker = keras.metrics.Mean(name="d_real")
        self.d_fake_tracker = keras.metrics.Mean(name="d_fake")

    def compile(
        self,
        d_optimizer: keras.optimizers.Optimizer,
        g_optimizer: keras.optimizers.Optimizer,
        loss: str = "non_saturating",
        label_smoothing: float = 0.0,
        **kwargs,
    ) -> None:
        """Set the two optimizers and the loss pair.

        Args:
            d_optimizer, g_optimizer: one optimizer per network (never shared: Adam's moments
                belong to the weights they were measured on).
            loss: a name from `gan_kit.losses.LOSS_PAIRS`.
            label_smoothing: one-sided smoothing for the BCE losses: real targets 1 - s.
        """
        if not 0.0 <= label_smoothing < 1.0:
            raise ValueError(f"label_smoothing must be in [0, 1), got {label_smoothing}")
        # No optimizer of Keras's own: the two below do all the work.
        super().compile(optimizer=None, **kwargs)
        if _computes_in_float16(self.generator) or _computes_in_float16(self.discriminator):
            # float16 gradients underflow without loss scaling (Micikevicius et al. 2017).
            d_optimizer = _with_loss_scaling(d_optimizer)
            g_optimizer = _with_loss_scaling(g_optimizer)
        self.d_optimizer = d_optimizer
        self.g_optimizer = g_optimizer
        self.loss_name = loss
        self.d_loss_fn, self.g_loss_fn = losses.get_loss_pair(loss)
        self.scores_are_probabilities = losses.reports_probabilities(loss)
        if label_smoothing and loss not in ("minimax", "non_saturating"):
            raise ValueError("label_smoothing applies to the BCE losses (minimax, non_saturating)")
        self.label_smoothing = float(label_smoothing)
        # Create the optimizers' slots now, outside the compiled step: under tf.distribute they
        # must be mirrored variables, and loading a checkpoint restores into existing slots.
        for optimizer, network in (
            (d_optimizer, self.discriminator),
            (g_optimizer, self.generator),
        ):
            if not optimizer.built:
                optimizer.build(network.trainable_variables)

    @property
    def metrics(self) -> list[keras.metrics.Metric]:
        # Listed here so that Keras resets them at the start of every epoch.
        return [self.d_loss_tracker, self.g_loss_tracker, self.d_real_tracker, self.d_fake_tracker]

    def call(self, inputs, training: bool = False):
        """G(z) (or G(z, labels)): lets `model(z)` and `model.summary()` work."""
        return self.generator(inputs, training=training)

    # ----------------------------------------------------------------------- training
    def next_seed(self) -> tf.Tensor:
        """A fresh stateless seed (2,) from (seed, draw counter); the same on every replica."""
        self.random_draws.assign_add(1)
        return tf.stack([tf.constant(self.seed, tf.int64), self.random_draws.value])

    def draw(self, sample, batch_size, tail=()) -> tf.Tensor:
        """`sample(shape, seed)` with a fresh seed, for this replica's `batch_size` examples.

        Under tf.distribute every replica draws the rows of the whole global batch from the same
        seed and keeps its own slice, so N replicas train on the noise that one device draws
        for the global batch: a run on N devices or machines takes the steps of a run on one
        (within float rounding; batch norm aside, whose statistics are per replica). Costs one
        small all-reduce per draw there; on one device it draws just the rows it needs.
        """
        seed = self.next_seed()
        tail = tf.cast(tail, tf.int32)
        replica = tf.distribute.get_replica_context()
        if replica is None or replica.num_replicas_in_sync == 1:
            return sample(tf.concat([tf.reshape(batch_size, [1]), tail], 0), seed)
        first, total = _rows_of_replica(replica, batch_size)
        rows = sample(tf.concat([tf.reshape(total, [1]), tail], 0), seed)
        return rows[first : first + batch_size]

    def sample_z(self, batch_size) -> tf.Tensor:
        """Noise from the prior, drawn with the model's seed: (batch_size, latent_dim) float32."""
        if self.latent_distribution == "uniform":
            return self.draw(
                lambda shape, seed: tf.random.stateless_uniform(shape, seed, -1.0, 1.0),
                batch_size,
                [self.latent_dim],
            )
        if self.latent_distribution == "mixture":
            k = self.mixture_components
            eps = self.draw(tf.random.stateless_normal, batch_size, [self.latent_dim - k])
            component = self.draw(
                lambda shape, seed: tf.random.stateless_uniform(shape, seed, 0, k, dtype=tf.int32),
                batch_size,
            )
            return tf.concat([eps, self.mixture_scale * tf.one_hot(component, k)], axis=1)
        return self.draw(tf.random.stateless_normal, batch_size, [self.latent_dim])

    def train_step(self, data):
        real_images, labels = self._unpack(data)
        # From the tensor, not a constant: the last batch of an epoch is smaller.
        batch_size = ops.shape(real_images)[0]
        if self.fused:
            d_loss, g_loss, real_logits, fake_logits = self.fused_step(
                real_images, labels, batch_size
            )
        else:
            for _ in range(self.n_critic):
                d_loss, real_logits, fake_logits = self.d_step(real_images, labels, batch_size)
            g_loss = self.g_step(labels, batch_size)
        if self.ema_generator is not None:
            self._update_ema()
        if self.instance_noise:
            # After the step: the first step sees the full std, step T - 1 the last bit of it.
            self.instance_noise_updates.assign_add(1)

        self.d_loss_tracker.update_state(d_loss)
        self.g_loss_tracker.update_state(g_loss)
        self.d_real_tracker.update_state(self._score(real_logits))
        self.d_fake_tracker.update_state(self._score(fake_logits))
        logs = {metric.name: metric.result() for metric in self.metrics}
        if _across_workers():
            # Keras 3 averages a multi-worker step's logs with strategy.reduce(MEAN, axis=0),
            # which fails on scalars (keras/src/backend/tensorflow/trainer.py,
            # reduce_per_replica): give it one-element vectors, which it averages to scalars.
            logs = {name: tf.reshape(value, [1]) for name, value in logs.items()}
        return logs

    def d_step(self, real_images, labels, batch_size):
        """One discriminator update: ascend log D(x) + log(1 - D(G(z))) (as a loss to minimise)."""
        z = self.sample_z(batch_size)
        fake_images = self.generator(self._with_labels(z, labels), training=True)
        with tf.GradientTape() as tape:
            real_logits = self.discriminator(
                self._with_labels(self._add_instance_noise(real_images), labels), training=True
            )
            fake_logits = self.discriminator(
                self._with_labels(self._add_instance_noise(fake_images), labels), training=True
            )
            d_loss = self._discriminator_loss(real_logits, fake_logits)
            if self.gp_weight > 0:
                # One mixing weight per sample, uniform on [0, 1] (Gulrajani et al. 2017).
                weights = self.draw(
                    tf.random.stateless_uniform,
                    batch_size,
                    tf.ones(len(real_images.shape) - 1, tf.int32),
                )
                penalty = losses.gradient_penalty(
                    self.discriminator, real_images, fake_images, weights, labels=labels
                )
                d_loss = d_loss + self.gp_weight * penalty
            scaled_loss = self._scale_for_gradients(self.d_optimizer, d_loss)
        self._apply(self.d_optimizer, tape, scaled_loss, self.discriminator.trainable_weights)
        if self.clip_value is not None:
            losses.clip_weights(self.discriminator, self.clip_value)
        return d_loss, real_logits, fake_logits

    def g_step(self, labels, batch_size):
        """One generator update with fresh noise; the discriminator's weights stay fixed."""
        z = self.sample_z(batch_size)
        with tf.GradientTape() as tape:
            fake_images = self.generator(self._with_labels(z, labels), training=True)
            fake_logits = self.discriminator(
                self._with_labels(self._add_instance_noise(fake_images), labels), training=True
            )
            g_loss = self.g_loss_fn(fake_logits)
            scaled_loss = self._scale_for_gradients(self.g_optimizer, g_loss)
        self._apply(self.g_optimizer, tape, scaled_loss, self.generator.trainable_weights)
        return g_loss

    def fused_step(self, real_images, labels, batch_size):
        """Both updates from one forward pass: simultaneous gradient descent.

        The generator's gradient is taken through the discriminator as it was before this
        step's discriminator update, unlike Algorithm 1, where the generator step sees the
        updated discriminator. Cheaper per step; on MNIST the two reach similar samples.
        """
        z = self.sample_z(batch_size)
        with tf.GradientTape() as d_tape, tf.GradientTape() as g_tape:
            fake_images = self.generator(self._with_labels(z, labels), training=True)
            real_logits = self.discriminator(
                self._with_labels(self._add_instance_noise(real_images), labels), training=True
            )
            fake_logits = self.discriminator(
                self._with_labels(self._add_instance_noise(fake_images), labels), training=True
            )
            d_loss = self._discriminator_loss(real_logits, fake_logits)
            g_loss = self.g_loss_fn(fake_logits)
            scaled_d_loss = self._scale_for_gradients(self.d_optimizer, d_loss)
            scaled_g_loss = self._scale_for_gradients(self.g_optimizer, g_loss)
        self._apply(self.d_optimizer, d_tape, scaled_d_loss, self.discriminator.trainable_weights)
        self._apply(self.g_optimizer, g_tape, scaled_g_loss, self.generator.trainable_weights)
        if self.clip_value is not None:
            losses.clip_weights(self.discriminator, self.clip_value)
        return d_loss, g_loss, real_logits, fake_logits

    def instance_noise_std(self):
        """The instance-noise std of the current step: sigma * max(0, 1 - t / T), or sigma."""
        if not self.instance_noise:
            return ops.convert_to_tensor(0.0)
        if self.instance_noise_steps is None:
            return ops.convert_to_tensor(self.instance_noise)
        done = ops.cast(self.instance_noise_updates.value, "float32") / self.instance_noise_steps
        return self.instance_noise * ops.maximum(0.0, 1.0 - done)

    def _add_instance_noise(self, images):
        """images + N(0, std^2) per pixel, drawn with the model's seed; images if off."""
        if not self.instance_noise:
            return images
        noise = self.draw(
            lambda shape, seed: tf.random.stateless_normal(shape, seed, dtype=images.dtype),
            tf.shape(images)[0],
            tf.shape(images)[1:],
        )
        return images + ops.cast(self.instance_noise_std(), images.dtype) * noise

    def _discriminator_loss(self, real_logits, fake_logits):
        if self.label_smoothing:
            return self.d_loss_fn(real_logits, fake_logits, real_label=1.0 - self.label_smoothing)
        return self.d_loss_fn(real_logits, fake_logits)

    @staticmethod
    def _scale_for_gradients(optimizer, loss):
        # Under tf.distribute each replica sees a slice of the global batch and the optimizer
        # sums the replicas' gradients, so the per-replica mean is divided by their number.
        loss = loss / tf.distribute.get_strategy().num_replicas_in_sync
        if isinstance(optimizer, keras.optimizers.LossScaleOptimizer):
            loss = optimizer.scale_loss(loss)
        return loss

    @staticmethod
    def _apply(optimizer, tape, scaled_loss, weights):
        gradients = tape.gradient(scaled_loss, weights)
        optimizer.apply_gradients(zip(gradients, weights, strict=True))

    def _update_ema(self):
        # The warm-up (1 + t) / (10 + t) of tf.train.ExponentialMovingAverage keeps early
        # samples from being an average dominated by the random initial weights.
        self.ema_updates.assign_add(1)
        step = ops.cast(self.ema_updates.value, "float32")
        decay = ops.minimum(self.ema_decay, (1.0 + step) / (10.0 + step))
        for ema_weight, weight in zip(
            self.ema_generator.weights, self.generator.weights, strict=True
        ):
            ema_weight.assign(
                decay * ema_weight + (1.0 - decay) * ops.cast(weight, ema_weight.dtype)
            )

    def _score(self, logits):
        logits = ops.cast(logits, "float32")
        return ops.mean(ops.sigmoid(logits) if self.scores_are_probabilities else logits)

    def _unpack(self, data):
        if isinstance(data, (tuple, list)):
            real_images, labels = data[0], (data[1] if len(data) > 1 else None)
        else:
            real_images, labels = data, None
        if self.conditional and labels is None:
            raise ValueError(
                "this GAN is conditional: the dataset must yield (images, labels); "
                "build it with with_labels=True"
            )
        return real_images, (labels if self.conditional else None)

    @staticmethod
    def _with_labels(tensor, labels):
        return tensor if labels is None else [tensor, labels]

    # ----------------------------------------------------------------------- sampling
    def sample_latent(self, n: int, seed: int | None = 0) -> np.ndarray:
        """n latent vectors from the prior, drawn with NumPy so training is undisturbed."""
        rng = np.random.default_rng(seed)
        if self.latent_distribution == "uniform":
            return rng.uniform(-1.0, 1.0, (n, self.latent_dim)).astype("float32")
        if self.latent_distribution == "mixture":
            k = self.mixture_components
            eps = rng.standard_normal((n, self.latent_dim - k))
            islands = self.mixture_scale * np.eye(k)[rng.integers(0, k, n)]
            return np.concatenate([eps, islands], axis=1).astype("float32")
        return rng.standard_normal((n, self.latent_dim)).astype("float32")

    def generate(
        self,
        n: int | None = None,
        labels=None,
        seed: int | None = 0,
        z=None,
        use_ema: bool = True,
        batch_size: int = 500,
    ) -> np.ndarray:
        """Images from the generator in inference mode: (n, H, W, C) float32 in [-1, 1].

        Args:
            n: how many; may be omitted when `z` or `labels` are given.
            labels: class ids (n,) for a conditional GAN (an int is repeated n times).
            seed: seeds z; the same seed gives the same images.
            z: latent vectors (n, latent_dim) to use instead of drawing them.
            use_ema: sample from the moving-average generator when there is one.
        """
        if z is None:
            if n is None:
                n = len(labels) if labels is not None and not np.isscalar(labels) else None
            if n is None or n < 1:
                raise ValueError("generate needs a positive n, or z, or a list of labels")
            z = self.sample_latent(n, seed)
        z = np.asarray(z, dtype="float32")
        n = len(z)
        if self.conditional:
            if labels is None:
                raise ValueError("this GAN is conditional: pass labels (class ids) to generate")
            labels = np.broadcast_to(np.asarray(labels, dtype="int32"), (n,))
        elif labels is not None:
            raise ValueError("this GAN is not conditional: it takes no labels")
        network = (
            self.ema_generator if use_ema and self.ema_generator is not None else self.generator
        )
        batches = []
        for start in range(0, n, batch_size):
            stop = start + batch_size
            inputs = z[start:stop] if labels is None else [z[start:stop], labels[start:stop]]
            batches.append(ops.convert_to_numpy(network(inputs, training=False)))
        return np.concatenate(batches).astype("float32")

    # ----------------------------------------------------------------------- saving
    def get_config(self) -> dict:
        return {
            "name": self.name,
            "generator": keras.saving.serialize_keras_object(self.generator),
            "discriminator": keras.saving.serialize_keras_object(self.discriminator),
            "latent_dim": self.latent_dim,
            "latent_distribution": self.latent_distribution,
            "mixture_components": self.mixture_components,
            "mixture_scale": self.mixture_scale,
            "n_critic": self.n_critic,
            "gp_weight": self.gp_weight,
            "clip_value": self.clip_value,
            "ema_decay": self.ema_decay,
            "fused": self.fused,
            "seed": self.seed,
            "instance_noise": self.instance_noise,
            "instance_noise_steps": self.instance_noise_steps,
        }

    @classmethod
    def from_config(cls, config: dict) -> GAN:
        config = dict(config)
        config["generator"] = keras.saving.deserialize_keras_object(config["generator"])
        config["discriminator"] = keras.saving.deserialize_keras_object(config["discriminator"])
        return cls(**config)

    def get_compile_config(self) -> dict | None:
        if not hasattr(self, "d_optimizer"):
            return None
        return {
            "d_optimizer": keras.saving.serialize_keras_object(_unwrap(self.d_optimizer)),
            "g_optimizer": keras.saving.serialize_keras_object(_unwrap(self.g_optimizer)),
            "loss": self.loss_name,
            "label_smoothing": self.label_smoothing,
            "jit_compile": bool(self.jit_compile),
        }

    def compile_from_config(self, config: dict) -> None:
        self.compile(
            d_optimizer=keras.saving.deserialize_keras_object(config["d_optimizer"]),
            g_optimizer=keras.saving.deserialize_keras_object(config["g_optimizer"]),
            loss=config["loss"],
            label_smoothing=config["label_smoothing"],
            # Checkpoints written before the option existed ran without XLA.
            jit_compile=config.get("jit_compile", False),
        )


def _across_workers() -> bool:
    """True inside a MultiWorkerMirroredStrategy of several workers (Keras's own test)."""
    strategy = tf.distribute.get_strategy()
    return (
        isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy)
        and strategy.extended._in_multi_worker_mode()
    )


def _rows_of_replica(replica: tf.distribute.ReplicaContext, batch_size) -> tuple:
    """(first row, rows in all) of this replica's slice of the global batch, from one all-reduce
    of the replicas' batch sizes (the last batch of an epoch may split unevenly)."""
    replicas, replica_id = replica.num_replicas_in_sync, replica.replica_id_in_sync_group
    mine = tf.one_hot(replica_id, replicas) * tf.cast(batch_size, tf.float32)
    sizes = tf.cast(replica.all_reduce(tf.distribute.ReduceOp.SUM, mine), tf.int32)
    return tf.reduce_sum(sizes[:replica_id]), tf.reduce_sum(sizes)


def _computes_in_float16(network: keras.Model) -> bool:
    return any(layer.dtype_policy.compute_dtype == "float16" for layer in network.layers)


def _with_loss_scaling(optimizer):
    if isinstance(optimizer, keras.optimizers.LossScaleOptimizer):
        return optimizer
    return keras.optimizers.LossScaleOptimizer(optimizer)


def _unwrap(optimizer):
    if isinstance(optimizer, keras.optimizers.LossScaleOptimizer):
        return optimizer.inner_optimizer
    return optimizer
