"""Semi-supervised GAN: a discriminator that also classifies, trained with few labels.

Salimans et al. 2016 ("Improved Techniques for Training GANs", arXiv:1606.03498, Sec. 5) and
Odena 2016 ("Semi-Supervised Learning with Generative Adversarial Networks", arXiv:1606.01583)
give the discriminator K + 1 outputs: the K classes of the data and "fake". With the fake
logit fixed at 0 (subtracting one logit from all K + 1 leaves the softmax unchanged), K class
logits l_1..l_K are enough, and

    D(x) = P(real | x) = Z(x) / (Z(x) + 1),   Z(x) = sum_k exp(l_k(x)),

which is sigmoid(logsumexp_k l_k(x)): the real/fake logit is the logsumexp of the class logits.
One network is then trained on three batches per step: labelled images (cross-entropy on the
K classes), unlabelled images (real) and generated images (fake). The generator matches the
mean of an intermediate feature layer on real and generated batches (feature matching).

    images, labels = data.load_arrays("mnist")
    subset = make_labelled_subset(labels, per_class=10, seed=0)       # 100 indices
    dataset = make_semi_supervised_dataset(images[subset], labels[subset],
                                           np.delete(images, subset, 0), batch_size=100)
    discriminator = build_ssgan_discriminator()
    generator = models.build_mlp_generator(latent_dim=100, hidden_units=(500, 500),
                                           batch_norm=True)
    ssgan = SemiSupervisedGAN(generator, discriminator)
    ssgan.compile(d_optimizer=keras.optimizers.Adam(1e-3, beta_1=0.5),
                  g_optimizer=keras.optimizers.Adam(1e-3, beta_1=0.5))
    test_dataset = make_test_dataset(test_images, test_labels)
    ssgan.fit(dataset, epochs=6, steps_per_epoch=200,           # the dataset is endless
              validation_data=test_dataset)                     # val_accuracy per epoch
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import keras
import numpy as np
import tensorflow as tf
from keras import layers, ops

from gan_kit import data, losses
from gan_kit.models._common import check_image_shape, check_num_classes, check_positive_int
from gan_kit.viz import NotebookFigure

Tensor = Any

# Salimans et al.'s MNIST discriminator (their code, mnist_feature_matching.py): five hidden
# layers, Gaussian noise on the input (std 0.3) and on every hidden layer (std 0.5).
SALIMANS_HIDDEN_UNITS = (1000, 500, 250, 250, 250)


def _f32(x):
    return ops.cast(x, "float32")


# --- Data ---------------------------------------------------------------------------------------


def make_labelled_subset(
    labels: np.ndarray, per_class: int = 10, num_classes: int = 10, seed: int = 0
) -> np.ndarray:
    """Indices of a class-balanced labelled subset: `per_class` examples of each class.

    The choice depends only on (labels, per_class, seed): the same seed picks the same
    100 MNIST digits on every machine.

    Args:
        labels: int class ids (N,) of the whole training set.
        per_class: examples to keep of each class (10 gives Salimans et al.'s 100 MNIST labels).
        num_classes: K; every class 0..K-1 must have at least `per_class` examples.
        seed: seeds the choice.

    Returns:
        int64 indices (num_classes * per_class,), sorted.

    Raises:
        ValueError: if labels are not a 1-D int array in [0, K) or a class has too few examples.
    """
    labels = np.asarray(labels)
    per_class = check_positive_int("per_class", per_class, "10")
    num_classes = check_num_classes(num_classes)
    if labels.ndim != 1 or not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(
            f"labels must be a 1-D array of int class ids, got {labels.dtype} {labels.shape}"
        )
    if labels.size and (labels.min() < 0 or labels.max() >= num_classes):
        raise ValueError(
            f"labels must lie in [0, {num_classes}); got [{labels.min()}, {labels.max()}]: "
            "pass the right num_classes"
        )
    rng = np.random.default_rng(seed)
    chosen = []
    for k in range(num_classes):
        members = np.flatnonzero(labels == k)
        if len(members) < per_class:
            raise ValueError(
                f"class {k} has {len(members)} examples, fewer than per_class={per_class}; "
                "lower per_class or use more data"
            )
        chosen.append(rng.choice(members, per_class, replace=False))
    return np.sort(np.concatenate(chosen)).astype(np.int64)


def make_semi_supervised_dataset(
    labelled_images: np.ndarray,
    labelled_labels: np.ndarray,
    unlabelled_images: np.ndarray,
    *,
    batch_size: int = 100,
    labelled_batch_size: int | None = None,
    seed: int = 0,
    epochs: int | None = None,
) -> tf.data.Dataset:
    """Batches ((labelled images, labels), unlabelled images) for `SemiSupervisedGAN.fit`.

    A pass is one sweep over the unlabelled images; the few labelled images repeat, each
    sweep in a fresh order (both pipelines are `gan_kit.data.make_dataset`). With the default
    `epochs=None` the dataset never ends: give `fit` a `steps_per_epoch` (with a finite dataset
    Keras starts it over at every epoch, in the same order).

    Args:
        labelled_images: uint8 (L, H, W, C), e.g. the 100 labelled digits.
        labelled_labels: int class ids (L,).
        unlabelled_images: uint8 (N, H, W, C); their labels are never used.
        batch_size: unlabelled images per batch (and fakes per step).
        labelled_batch_size: labelled images per batch; defaults to batch_size.
        seed: seeds both orders.
        epochs: stop after this many sweeps over the unlabelled images; None repeats forever.

    Returns:
        A dataset of ((float32 (B_l, H, W, C), int32 (B_l,)), float32 (B, H, W, C)), in [-1, 1].
    """
    labelled_batch_size = check_positive_int(
        "labelled_batch_size", labelled_batch_size or batch_size, "100"
    )
    if len(labelled_images) != len(labelled_labels):
        raise ValueError(
            f"{len(labelled_images)} labelled images but {len(labelled_labels)} labels; "
            "pass one label per labelled image"
        )
    # One reshuffled sweep per make_dataset batch, then re-batched across sweeps: every
    # labelled batch is full even when batch_size does not divide L.
    labelled = data.make_dataset(
        labelled_images, labelled_labels, batch_size=len(labelled_images), seed=seed
    ).unbatch()
    labelled = labelled.batch(labelled_batch_size, drop_remainder=True)
    unlabelled = data.make_dataset(
        unlabelled_images, batch_size=batch_size, seed=seed + 1, epochs=epochs
    )
    return tf.data.Dataset.zip(labelled, unlabelled).prefetch(tf.data.AUTOTUNE)


def to_model_range(images: np.ndarray) -> np.ndarray:
    """uint8 images (N, H, W, C) -> float32 in [-1, 1] (x / 127.5 - 1); floats pass unchanged."""
    images = np.asarray(images)
    if images.dtype == np.uint8:
        return images.astype(np.float32) / 127.5 - 1.0
    return images.astype(np.float32)


# --- The discriminator ------------------------------------------------------------------------


def build_ssgan_discriminator(
    image_shape: tuple[int, int, int] = (28, 28, 1),
    num_classes: int = 10,
    hidden_units: Sequence[int] = SALIMANS_HIDDEN_UNITS,
    input_noise: float = 0.3,
    hidden_noise: float = 0.5,
    name: str = "ssgan_discriminator",
) -> keras.Model:
    """Builds the K-output discriminator/classifier with an intermediate feature layer.

    Flatten, then Dense + ReLU hidden layers; additive Gaussian noise on the input and after
    every hidden layer (active only with training=True: a strong regulariser when there are
    only 100 labels); the last hidden layer is the feature layer f(x) that feature matching
    compares; a final Dense(K) gives the class logits. There is no fake output: the real/fake
    logit is `real_fake_logits(class_logits)` = logsumexp of the class logits.

    Args:
        image_shape: (H, W, C), C in {1, 3}.
        num_classes: K, the number of real classes.
        hidden_units: widths of the hidden layers, input side first; the last one is f(x).
        input_noise: std of the Gaussian noise added to the input images ([-1, 1] scale).
        hidden_noise: std of the Gaussian noise added after each hidden layer; 0 turns it off.
        name: model name.

    Returns:
        A `keras.Model` mapping images (B, H, W, C) in [-1, 1] to a list
        [class_logits (B, K) float32, features (B, hidden_units[-1]) float32].

    Raises:
        ValueError: if an argument is impossible; the message says what would work.

    Paper:
        Salimans et al. 2016, "Improved Techniques for Training GANs", arXiv:1606.03498
        (MNIST model of their code; they also use weight normalisation, left out here).

    Example:
        >>> discriminator = build_ssgan_discriminator(hidden_units=(64, 32))
        >>> class_logits, features = discriminator(np.zeros((16, 28, 28, 1), "float32"))
        >>> tuple(class_logits.shape), tuple(features.shape)
        ((16, 10), (16, 32))
    """
    image_shape = check_image_shape(image_shape)
    num_classes = check_num_classes(num_classes)
    if isinstance(hidden_units, (str, bytes)) or not isinstance(hidden_units, Sequence):
        raise ValueError(
            f"hidden_units must be a sequence of widths, e.g. (1000, 500); got {hidden_units!r}"
        )
    if len(hidden_units) == 0:
        raise ValueError("hidden_units needs at least one layer: the last is the feature layer")
    hidden_units = [
        check_positive_int("each hidden unit count", u, "(1000, 500)") for u in hidden_units
    ]
    for what, std in (("input_noise", input_noise), ("hidden_noise", hidden_noise)):
        if not isinstance(std, (int, float)) or std < 0:
            raise ValueError(f"{what} must be a std >= 0 (e.g. 0.3, or 0 for none); got {std!r}")

    images = keras.Input(shape=image_shape, name="images")
    x = layers.Flatten()(images)  # (B, H * W * C)
    if input_noise > 0:
        x = layers.GaussianNoise(input_noise, name="input_noise")(x)
    for i, units in enumerate(hidden_units):
        x = layers.Dense(units, activation="relu", name=f"hidden_{i}")(x)  # (B, units)
        if hidden_noise > 0 and i < len(hidden_units) - 1:
            x = layers.GaussianNoise(hidden_noise, name=f"noise_{i}")(x)
    # The features are taken before the last noise layer so that feature matching compares
    # the network's own statistics, not statistics blurred by fresh noise.
    features = layers.Identity(dtype="float32", name="features")(x)  # (B, F)
    if hidden_noise > 0:
        x = layers.GaussianNoise(hidden_noise, name=f"noise_{len(hidden_units) - 1}")(x)
    class_logits = layers.Dense(num_classes, dtype="float32", name="class_logits")(x)  # (B, K)
    return keras.Model(images, [class_logits, features], name=name)


def build_classifier(discriminator: keras.Model) -> keras.Model:
    """The class-logit head of a `build_ssgan_discriminator` network (shares its weights)."""
    return keras.Model(discriminator.input, discriminator.outputs[0], name="classifier")


# --- Losses -------------------------------------------------------------------------------------


def real_fake_logits(class_logits: Tensor) -> Tensor:
    """The real/fake logit of a K-class discriminator: logsumexp over the classes.

    Formula:
    ```
    Z(x) = sum_k exp(l_k(x));  D(x) = Z(x) / (Z(x) + 1) = sigmoid(log Z(x))
    real_logit = log Z(x) = logsumexp_k l_k(x)
    ```

    This is the K + 1-way softmax with the fake logit fixed at 0: P(fake | x) = 1 / (Z + 1).

    Args:
        class_logits: (B, K) class logits.

    Returns:
        Float32 (B,) real/fake logits.
    """
    return ops.logsumexp(_f32(class_logits), axis=-1)


def supervised_loss(class_logits: Tensor, labels: Tensor) -> Tensor:
    """Cross-entropy on the K classes for the labelled batch.

    Formula:
    ```
    loss = -mean(log p(y | x, y < K + 1)) = mean(logsumexp_k l_k(x) - l_y(x))
    ```

    The "real" class is given (labelled images are real), so this is the softmax over the K
    class logits alone: the ordinary classifier loss.

    Paper: Salimans et al. 2016, arXiv:1606.03498, Sec. 5 (L_supervised).

    Args:
        class_logits: (B, K) class logits of labelled images.
        labels: (B,) int class ids in [0, K).

    Returns:
        Float32 scalar, minimised by the discriminator.
    """
    class_logits = _f32(class_logits)
    labels = ops.cast(labels, "int32")
    picked = ops.take_along_axis(class_logits, ops.expand_dims(labels, -1), axis=-1)[:, 0]
    return ops.mean(ops.logsumexp(class_logits, axis=-1) - picked)


def unsupervised_discriminator_loss(real_class_logits: Tensor, fake_class_logits: Tensor) -> Tensor:
    """Real/fake loss on unlabelled and generated images, through the logsumexp logit.

    Formula (L = logsumexp_k l_k, D = sigmoid(L)):
    ```
    loss = -mean(log D(x_u)) - mean(log(1 - D(G(z))))
         =  mean(softplus(-L(x_u))) + mean(softplus(L(G(z))))
    ```

    Which is `gan_kit.losses.bce_discriminator_loss` applied to the logsumexp logits: the
    usual GAN discriminator loss. Minimised by the discriminator.

    Paper: Salimans et al. 2016, arXiv:1606.03498, Sec. 5 (L_unsupervised).

    Note:
        Salimans et al.'s code halves this loss (0.5 * each mean); here the weight is the
        `unsupervised_weight` of `SemiSupervisedGAN`.

    Args:
        real_class_logits: (B, K) class logits of unlabelled real images.
        fake_class_logits: (B', K) class logits of generated images.

    Returns:
        Float32 scalar.
    """
    return losses.bce_discriminator_loss(
        real_fake_logits(real_class_logits), real_fake_logits(fake_class_logits)
    )


def feature_matching_generator_loss(real_features: Tensor, fake_features: Tensor) -> Tensor:
    """Feature matching: the generator matches the mean discriminator features of real data.

    Formula (f = the discriminator's intermediate feature layer, F features):
    ```
    loss = mean_j (mean_batch f_j(x) - mean_batch f_j(G(z)))**2
         = ||E f(x) - E f(G(z))||^2 / F
    ```

    Minimised by the generator (the real features are treated as constants).

    Paper: Salimans et al. 2016, arXiv:1606.03498, Sec. 3.1.

    Args:
        real_features: (B, F) features of real images.
        fake_features: (B', F) features of generated images.

    Returns:
        Float32 scalar.
    """
    real_mean = ops.stop_gradient(ops.mean(_f32(real_features), axis=0))
    fake_mean = ops.mean(_f32(fake_features), axis=0)
    return ops.mean(ops.square(real_mean - fake_mean))


def class_accuracy(class_logits: Tensor, labels: Tensor) -> Tensor:
    """Share of argmax_k l_k(x) == y: float32 scalar."""
    return ops.mean(_correct(class_logits, labels))


def _correct(class_logits: Tensor, labels: Tensor) -> Tensor:
    """1.0 where argmax_k l_k(x) == y, else 0.0: float32 (B,)."""
    predicted = ops.argmax(class_logits, axis=-1)
    return ops.cast(ops.equal(predicted, ops.cast(labels, predicted.dtype)), "float32")


# --- The training model -------------------------------------------------------------------------


@keras.saving.register_keras_serializable(package="gan_kit")
class SemiSupervisedGAN(keras.Model):
    """A generator and a K-class discriminator trained with `fit` on few labels.

    Each batch is ((labelled images, labels), unlabelled images), as
    `make_semi_supervised_dataset` makes it. One step: a discriminator update on
    supervised_loss + unsupervised_weight * unsupervised_discriminator_loss, then a
    generator update (feature matching, or the non-saturating loss on the logsumexp logit).
    `fit(..., validation_data=(images, labels) batches)` reports the test accuracy per epoch
    as `val_accuracy`.

    Args:
        generator: z (B, latent_dim) -> images (B, H, W, C) in [-1, 1].
        discriminator: images -> [class_logits (B, K), features (B, F)], e.g. from
            `build_ssgan_discriminator`.
        latent_dim: size of z; read from the generator when None.
        unsupervised_weight: weight of the real/fake loss against the supervised loss.
        feature_matching: the generator loss; False uses the non-saturating loss.
        seed: seeds the noise z (stateless draws from (seed, counter)).
    """

    def __init__(
        self,
        generator: keras.Model,
        discriminator: keras.Model,
        *,
        latent_dim: int | None = None,
        unsupervised_weight: float = 1.0,
        feature_matching: bool = True,
        seed: int = 0,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if len(discriminator.outputs) != 2:
            raise ValueError(
                "the discriminator must output [class_logits, features]; "
                "build it with build_ssgan_discriminator"
            )
        if unsupervised_weight < 0:
            raise ValueError(f"unsupervised_weight must be >= 0, got {unsupervised_weight}")
        self.generator = generator
        self.discriminator = discriminator
        self.latent_dim = int(latent_dim or generator.inputs[0].shape[-1])
        self.num_classes = int(discriminator.outputs[0].shape[-1])
        self.unsupervised_weight = float(unsupervised_weight)
        self.feature_matching = bool(feature_matching)
        self.seed = int(seed)
        self.random_draws = keras.Variable(0, dtype="int64", trainable=False, name="random_draws")
        self.built = True
        names = ("d_loss", "g_loss", "supervised_loss", "unsupervised_loss", "accuracy")
        self.trackers = {name: keras.metrics.Mean(name=name) for name in names}
        self.trackers["d_real"] = keras.metrics.Mean(name="d_real")
        self.trackers["d_fake"] = keras.metrics.Mean(name="d_fake")

    def compile(
        self,
        d_optimizer: keras.optimizers.Optimizer,
        g_optimizer: keras.optimizers.Optimizer,
        **kwargs,
    ) -> None:
        """Set one optimizer per network."""
        super().compile(optimizer=None, **kwargs)
        self.d_optimizer = d_optimizer
        self.g_optimizer = g_optimizer
        for optimizer, network in (
            (d_optimizer, self.discriminator),
            (g_optimizer, self.generator),
        ):
            if not optimizer.built:
                optimizer.build(network.trainable_variables)

    @property
    def metrics(self) -> list[keras.metrics.Metric]:
        return list(self.trackers.values())

    def call(self, images, training: bool = False):
        """The class logits (B, K) of images."""
        return self.discriminator(images, training=training)[0]

    def sample_z(self, batch_size) -> tf.Tensor:
        """z ~ N(0, I) of shape (batch_size, latent_dim), drawn from (seed, draw counter)."""
        self.random_draws.assign_add(1)
        seed = tf.stack([tf.constant(self.seed, tf.int64), self.random_draws.value])
        return tf.random.stateless_normal(tf.stack([batch_size, self.latent_dim]), seed)

    def train_step(self, data):
        (labelled_images, labels), unlabelled_images = _unpack(data)
        batch_size = ops.shape(unlabelled_images)[0]  # from the tensor: last batch is smaller
        d_loss, sup_loss, unsup_loss, correct, real_logits, fake_logits = self.d_step(
            labelled_images, labels, unlabelled_images, batch_size
        )
        g_loss = self.g_step(unlabelled_images, batch_size)
        for name, value in (
            ("d_loss", d_loss),
            ("g_loss", g_loss),
            ("supervised_loss", sup_loss),
            ("unsupervised_loss", unsup_loss),
            ("d_real", ops.mean(ops.sigmoid(real_logits))),
            ("d_fake", ops.mean(ops.sigmoid(fake_logits))),
        ):
            self.trackers[name].update_state(value)
        # Per example, so that a smaller last batch counts for what it holds.
        self.trackers["accuracy"].update_state(correct)
        return {name: tracker.result() for name, tracker in self.trackers.items()}

    def d_step(self, labelled_images, labels, unlabelled_images, batch_size):
        """One discriminator update on the labelled, unlabelled and generated batches."""
        fake_images = self.generator(self.sample_z(batch_size), training=True)
        with tf.GradientTape() as tape:
            labelled_logits, _ = self.discriminator(labelled_images, training=True)
            real_class_logits, _ = self.discriminator(unlabelled_images, training=True)
            fake_class_logits, _ = self.discriminator(fake_images, training=True)
            sup_loss = supervised_loss(labelled_logits, labels)
            unsup_loss = unsupervised_discriminator_loss(real_class_logits, fake_class_logits)
            d_loss = sup_loss + self.unsupervised_weight * unsup_loss
        weights = self.discriminator.trainable_weights
        self.d_optimizer.apply_gradients(zip(tape.gradient(d_loss, weights), weights, strict=True))
        return (
            d_loss,
            sup_loss,
            unsup_loss,
            _correct(labelled_logits, labels),
            real_fake_logits(real_class_logits),
            real_fake_logits(fake_class_logits),
        )

    def g_step(self, unlabelled_images, batch_size):
        """One generator update with fresh noise; the discriminator's weights stay fixed."""
        z = self.sample_z(batch_size)
        with tf.GradientTape() as tape:
            fake_images = self.generator(z, training=True)
            fake_class_logits, fake_features = self.discriminator(fake_images, training=True)
            if self.feature_matching:
                _, real_features = self.discriminator(unlabelled_images, training=True)
                g_loss = feature_matching_generator_loss(real_features, fake_features)
            else:
                g_loss = losses.non_saturating_generator_loss(real_fake_logits(fake_class_logits))
        weights = self.generator.trainable_weights
        self.g_optimizer.apply_gradients(zip(tape.gradient(g_loss, weights), weights, strict=True))
        return g_loss

    def test_step(self, data):
        """Accuracy and supervised loss of (images, labels) batches, in inference mode."""
        images, labels = data[0], data[1]
        class_logits = self(images, training=False)
        # Weighted by examples: the test set's last batch may be smaller.
        self.trackers["accuracy"].update_state(_correct(class_logits, labels))
        self.trackers["supervised_loss"].update_state(
            supervised_loss(class_logits, labels), sample_weight=ops.shape(labels)[0]
        )
        return {
            "accuracy": self.trackers["accuracy"].result(),
            "supervised_loss": self.trackers["supervised_loss"].result(),
        }

    def generate(self, n: int, seed: int = 0) -> np.ndarray:
        """n images from the generator in inference mode: (n, H, W, C) float32 in [-1, 1]."""
        z = np.random.default_rng(seed).standard_normal((n, self.latent_dim)).astype("float32")
        return ops.convert_to_numpy(self.generator(z, training=False))

    def get_config(self) -> dict:
        return {
            "name": self.name,
            "generator": keras.saving.serialize_keras_object(self.generator),
            "discriminator": keras.saving.serialize_keras_object(self.discriminator),
            "latent_dim": self.latent_dim,
            "unsupervised_weight": self.unsupervised_weight,
            "feature_matching": self.feature_matching,
            "seed": self.seed,
        }

    @classmethod
    def from_config(cls, config: dict) -> SemiSupervisedGAN:
        config = dict(config)
        config["generator"] = keras.saving.deserialize_keras_object(config["generator"])
        config["discriminator"] = keras.saving.deserialize_keras_object(config["discriminator"])
        return cls(**config)


def _unpack(data):
    ok = (
        isinstance(data, (tuple, list))
        and len(data) == 2
        and isinstance(data[0], (tuple, list))
        and len(data[0]) == 2
    )
    if not ok:
        raise ValueError(
            "SemiSupervisedGAN batches must be ((labelled_images, labels), unlabelled_images); "
            "build the dataset with make_semi_supervised_dataset"
        )
    return data


# --- Evaluation and the supervised baseline ----------------------------------------------------


def make_test_dataset(images: np.ndarray, labels: np.ndarray, batch_size: int = 1000):
    """(images, labels) batches in [-1, 1] for `validation_data` and `evaluate`, in order.

    The dataset states its length, so Keras knows where an evaluation ends (without it Keras
    warns "Your input ran out of data" at the end of every evaluation).
    """
    batches = data.steps_per_epoch(len(images), batch_size)
    dataset = data.make_dataset(images, labels, batch_size=batch_size, epochs=1)
    return dataset.apply(tf.data.experimental.assert_cardinality(batches))


def predict_classes(
    discriminator: keras.Model, images: np.ndarray, batch_size: int = 1000
) -> np.ndarray:
    """argmax_k l_k(x) in inference mode (no noise): int64 (N,).

    Args:
        discriminator: a `build_ssgan_discriminator` network (or a model giving (B, K) logits).
        images: uint8 (N, H, W, C), or float32 already in [-1, 1].
    """
    images = to_model_range(images)
    predicted = []
    for start in range(0, len(images), batch_size):
        outputs = discriminator(images[start : start + batch_size], training=False)
        logits = outputs[0] if isinstance(outputs, (list, tuple)) else outputs
        predicted.append(np.argmax(ops.convert_to_numpy(logits), axis=-1))
    return np.concatenate(predicted) if predicted else np.zeros(0, np.int64)


def evaluate_accuracy(
    discriminator: keras.Model, images: np.ndarray, labels: np.ndarray, batch_size: int = 1000
) -> float:
    """Test accuracy of the class logits (inference mode): share of argmax == label.

    Args:
        discriminator: a `build_ssgan_discriminator` network (or a model giving (B, K) logits).
        images: uint8 (N, H, W, C), or float32 already in [-1, 1].
        labels: int class ids (N,).
    """
    labels = np.asarray(labels)
    if len(images) != len(labels) or len(images) == 0:
        raise ValueError(f"need as many labels as images (>0); got {len(images)}, {len(labels)}")
    return float(np.mean(predict_classes(discriminator, images, batch_size) == labels))


def train_supervised_baseline(
    discriminator: keras.Model,
    images: np.ndarray,
    labels: np.ndarray,
    *,
    steps: int,
    batch_size: int = 100,
    learning_rate: float = 1e-3,
    validation_data: tf.data.Dataset | None = None,
    evaluations: int = 10,
    seed: int = 0,
    verbose: int | str = 0,
) -> keras.callbacks.History:
    """Trains the class head of `discriminator` on the labelled images alone.

    The baseline of the semi-supervised GAN: the same network, the same labels, the same
    supervised loss, no unlabelled or generated images. `steps` Adam updates on batches of
    the (repeated, reshuffled) labelled set, split into `evaluations` Keras epochs so that
    `validation_data` gives `val_accuracy` at `evaluations` points.

    Args:
        discriminator: a `build_ssgan_discriminator` network; its weights are trained in place.
        images: uint8 (L, H, W, C) labelled images.
        labels: int class ids (L,).
        steps: total number of updates.
        batch_size: labelled images per update.
        learning_rate: Adam's step size (beta_1 = 0.5, as in the SSGAN).
        validation_data: (images, labels) batches, e.g. from `make_test_dataset`.
        evaluations: number of Keras epochs; steps must be divisible by it.

    Returns:
        The Keras History: `loss`, `accuracy` and (with validation data) `val_accuracy`.
    """
    steps = check_positive_int("steps", steps, "1000")
    evaluations = check_positive_int("evaluations", evaluations, "10")
    if steps % evaluations:
        raise ValueError(f"steps ({steps}) must be a multiple of evaluations ({evaluations})")
    classifier = build_classifier(discriminator)
    classifier.compile(
        optimizer=keras.optimizers.Adam(learning_rate, beta_1=0.5),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    dataset = (
        data.make_dataset(images, labels, batch_size=len(images), seed=seed)
        .unbatch()
        .batch(batch_size, drop_remainder=True)
    )
    return classifier.fit(
        dataset,
        epochs=evaluations,
        steps_per_epoch=steps // evaluations,
        validation_data=validation_data,
        shuffle=False,  # the dataset is shuffled already (seeded, per sweep)
        verbose=verbose,
    )


def plot_accuracy_curves(
    curves: Mapping[str, tuple[Sequence[float], Sequence[float]]],
    title: str | None = None,
    chance: float | None = None,
) -> NotebookFigure:
    """Test accuracy against training steps, one line per model.

    Args:
        curves: label -> (steps, accuracies), e.g. {"SSGAN": ([200, 400], [0.8, 0.85])}.
        title: optional title.
        chance: draw a dashed line at this accuracy (1 / K for K balanced classes).

    Returns:
        The matplotlib ``Figure``; a notebook shows it when it is the cell's value.
    """
    if not curves:
        raise ValueError("curves is empty: pass {label: (steps, accuracies)}")
    fig = NotebookFigure(figsize=(6.0, 3.6))
    ax = fig.subplots()
    for label, (steps, accuracies) in curves.items():
        if len(steps) != len(accuracies):
            raise ValueError(f"{label!r}: {len(steps)} steps but {len(accuracies)} accuracies")
        ax.plot(steps, accuracies, marker="o", markersize=3, label=label)
    if chance is not None:
        ax.axhline(chance, color="gray", linestyle="--", linewidth=1, label="chance")
    ax.set_xlabel("training step")
    ax.set_ylabel("test accuracy")
    ax.set_ylim(0.0, 1.0)
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right")
    if title:
        ax.set_title(title)
    fig.tight_layout()
    return fig
