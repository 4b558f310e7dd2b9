"""Every loss in gan_kit.losses against a NumPy reference, plus the convention it relies on."""

import keras
import numpy as np
import pytest
import tensorflow as tf
from keras import ops

from gan_kit import losses

# Large magnitudes (±30) prove the softplus forms stay finite where log(sigmoid) would not.
REAL = np.array([[30.0], [2.0], [0.5], [-1.0], [-30.0]], dtype=np.float32)
FAKE = np.array([[-30.0], [-3.0], [0.0], [1.5], [30.0]], dtype=np.float32)


def softplus(x):
    return np.logaddexp(0.0, np.asarray(x, dtype=np.float64))


def relu(x):
    return np.maximum(np.asarray(x, dtype=np.float64), 0.0)


# name -> (loss called on (REAL, FAKE), NumPy reference in float64)
REFERENCES = {
    "minimax_g": (
        lambda r, f: losses.minimax_generator_loss(f),
        lambda r, f: -np.mean(softplus(f)),
    ),
    "non_saturating_g": (
        lambda r, f: losses.non_saturating_generator_loss(f),
        lambda r, f: np.mean(softplus(-f)),
    ),
    "bce_d": (
        lambda r, f: losses.bce_discriminator_loss(r, f),
        lambda r, f: np.mean(softplus(-r)) + np.mean(softplus(f)),
    ),
    "bce_d_smoothed": (
        lambda r, f: losses.bce_discriminator_loss(r, f, real_label=0.9),
        lambda r, f: np.mean(0.9 * softplus(-r) + 0.1 * softplus(r)) + np.mean(softplus(f)),
    ),
    "wasserstein_d": (
        lambda r, f: losses.wasserstein_critic_loss(r, f),
        lambda r, f: np.mean(f) - np.mean(r),
    ),
    "wasserstein_g": (
        lambda r, f: losses.wasserstein_generator_loss(f),
        lambda r, f: -np.mean(f),
    ),
    "hinge_d": (
        lambda r, f: losses.hinge_discriminator_loss(r, f),
        lambda r, f: np.mean(relu(1 - r)) + np.mean(relu(1 + f)),
    ),
    "hinge_g": (
        lambda r, f: losses.hinge_generator_loss(f),
        lambda r, f: -np.mean(f),
    ),
    "least_squares_d": (
        lambda r, f: losses.least_squares_discriminator_loss(r, f),
        lambda r, f: 0.5 * np.mean((r - 1.0) ** 2) + 0.5 * np.mean(f.astype(np.float64) ** 2),
    ),
    "least_squares_g": (
        lambda r, f: losses.least_squares_generator_loss(f),
        lambda r, f: 0.5 * np.mean((f - 1.0) ** 2),
    ),
}


@pytest.mark.parametrize("name", list(REFERENCES))
def test_loss_matches_numpy_reference(name):
    loss_fn, reference = REFERENCES[name]
    loss = loss_fn(REAL, FAKE)
    assert loss.shape == () and loss.dtype == "float32"
    np.testing.assert_allclose(float(loss), reference(REAL, FAKE), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("name", list(REFERENCES))
@pytest.mark.parametrize("dtype", ["bfloat16", "float16"])
def test_low_precision_logits_give_float32_loss(name, dtype):
    loss_fn, _ = REFERENCES[name]
    # Offsets that neither format represents exactly, so the cast really rounds.
    real, fake = ops.cast(REAL + 0.1, dtype), ops.cast(FAKE - 0.1, dtype)
    loss = loss_fn(real, fake)
    assert loss.dtype == "float32"
    # Only the inputs are rounded; the arithmetic matches float32 on the rounded logits ...
    rounded = loss_fn(ops.cast(real, "float32"), ops.cast(fake, "float32"))
    np.testing.assert_allclose(float(loss), float(rounded), rtol=1e-6, atol=1e-6)
    # ... and stays within the rounding (bfloat16 steps by 0.125 near 30) of the float32 loss.
    exact = loss_fn(REAL + 0.1, FAKE - 0.1)
    np.testing.assert_allclose(float(loss), float(exact), rtol=1e-2, atol=0.1)


def test_convention_real_is_one_fake_is_zero():
    confident_real = np.full((4, 1), 30.0, np.float32)
    confident_fake = np.full((4, 1), -30.0, np.float32)
    assert float(losses.bce_discriminator_loss(confident_real, confident_fake)) < 1e-6
    # Flipped labels would make this the right answer instead: it must be huge.
    assert float(losses.bce_discriminator_loss(confident_fake, confident_real)) > 50
    assert float(losses.non_saturating_generator_loss(confident_fake)) == pytest.approx(30.0)
    assert float(losses.non_saturating_generator_loss(confident_real)) < 1e-6
    # The margin and least-squares losses are zero exactly at their targets.
    assert float(losses.hinge_discriminator_loss(np.ones(4), -np.ones(4))) == 0.0
    assert float(losses.least_squares_discriminator_loss(np.ones(4), np.zeros(4))) == 0.0
    assert float(losses.least_squares_generator_loss(np.ones(4))) == 0.0


def test_minimax_generator_loss_saturates_and_non_saturating_does_not():
    fake_logits = tf.constant([[-10.0], [-10.5], [-9.5]])
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(fake_logits)
        minimax = losses.minimax_generator_loss(fake_logits)
        non_saturating = losses.non_saturating_generator_loss(fake_logits)
    batch = fake_logits.shape[0]
    minimax_grad = tape.gradient(minimax, fake_logits).numpy() * batch
    non_saturating_grad = tape.gradient(non_saturating, fake_logits).numpy() * batch
    assert np.all(np.abs(minimax_grad) < 1e-3)
    np.testing.assert_allclose(non_saturating_grad, -1.0, atol=1e-4)


def test_label_smoothing_changes_only_the_real_term():
    other_fake = FAKE[::-1] + 1.0
    shift = [
        float(losses.bce_discriminator_loss(REAL, fake, real_label=0.9))
        - float(losses.bce_discriminator_loss(REAL, fake))
        for fake in (FAKE, other_fake)
    ]
    assert shift[0] != 0.0
    assert shift[0] == pytest.approx(shift[1], abs=1e-5)
    plain = np.mean(softplus(-REAL)) + np.mean(softplus(FAKE))
    assert float(losses.bce_discriminator_loss(REAL, FAKE, real_label=1.0)) == pytest.approx(plain)


@pytest.mark.parametrize("bad", [0.0, -0.1, 1.1])
def test_bad_real_label_raises(bad):
    with pytest.raises(ValueError, match="real_label"):
        losses.bce_discriminator_loss(REAL, FAKE, real_label=bad)


# --- Gradient penalty ---------------------------------------------------------------------------


def linear_critic(a):
    """f(x) = sum(a * x): its input gradient is `a` for every sample."""
    critic = keras.Sequential(
        [keras.Input(a.shape), keras.layers.Flatten(), keras.layers.Dense(1, use_bias=False)]
    )
    critic.layers[-1].kernel.assign(a.reshape(-1, 1))
    return critic


class QuadraticCritic(keras.Model):
    """f(x) = sum(x^2) / 2: its input gradient is x itself, so norms differ per sample."""

    def call(self, x, training=None):
        return 0.5 * ops.sum(ops.square(x), axis=(1, 2, 3))[:, None]


class ConditionalCritic(keras.Model):
    """f(x, y) = (y + 1) * sum(x): input gradient (y + 1) everywhere; records `training`."""

    def call(self, inputs, training=None):
        self.seen_training = training
        x, y = inputs
        return ops.cast(y + 1, "float32") * ops.sum(x, axis=(1, 2, 3))[:, None]


def test_gradient_penalty_of_linear_critic_is_exact():
    a = np.array([[[0.5], [1.0]], [[-2.0], [0.25]]], dtype=np.float32)
    real = np.random.default_rng(0).normal(size=(3, 2, 2, 1)).astype(np.float32)
    fake = np.zeros_like(real)
    weights = losses.sample_interpolation_weights(3, 4, seed=0)
    penalty = losses.gradient_penalty(linear_critic(a), real, fake, weights)
    assert penalty.shape == () and penalty.dtype == "float32"
    assert float(penalty) == pytest.approx((np.linalg.norm(a) - 1.0) ** 2, rel=1e-5)


def test_gradient_penalty_uses_per_sample_norms_at_interpolates():
    real = np.stack([np.full((2, 2, 1), 1.5), np.full((2, 2, 1), 0.25)]).astype(np.float32)
    fake = np.stack([np.full((2, 2, 1), -0.5), np.full((2, 2, 1), 9.0)]).astype(np.float32)
    weights = np.array([0.25, 1.0], dtype=np.float32).reshape(2, 1, 1, 1)
    x_hat = weights * real + (1 - weights) * fake  # sample 0: all 0.0; sample 1: all 0.25
    norms = np.linalg.norm(x_hat.reshape(2, -1), axis=1)  # 0.0 and 0.5
    expected = np.mean((norms - 1.0) ** 2)  # (1 + 0.25) / 2; one batch-wide norm would differ
    penalty = losses.gradient_penalty(QuadraticCritic(), real, fake, weights)
    assert np.isfinite(float(penalty))  # sample 0 has a zero gradient: the epsilon keeps it finite
    assert float(penalty) == pytest.approx(expected, rel=1e-5)


def test_gradient_penalty_with_conditional_critic():
    critic = ConditionalCritic()
    images = np.ones((2, 2, 2, 1), np.float32)
    labels = np.array([[0], [1]], np.int32)
    weights = np.full((2, 1, 1, 1), 0.5, np.float32)
    penalty = losses.gradient_penalty(critic, images, images, weights, labels=labels)
    # 4 pixels per sample: norms are 2 * (y + 1) = 2 and 4.
    assert float(penalty) == pytest.approx(((2 - 1) ** 2 + (4 - 1) ** 2) / 2)
    assert critic.seen_training is True


@pytest.mark.parametrize("compiled", [False, True])
def test_gradient_penalty_is_differentiable_in_critic_weights(compiled):
    a = np.array([[[0.6], [0.0]], [[0.0], [0.8 * 3]]], dtype=np.float32)
    critic = linear_critic(a)
    real = np.ones((2, 2, 2, 1), np.float32)

    def penalty_grad():
        with tf.GradientTape() as tape:
            penalty = losses.gradient_penalty(critic, real, real * 0, np.ones((2, 1, 1, 1)))
        return tape.gradient(penalty, critic.trainable_weights[0])

    grad = (tf.function(penalty_grad) if compiled else penalty_grad)().numpy()
    norm = np.linalg.norm(a)
    expected = 2 * (norm - 1.0) * a.reshape(-1, 1) / norm
    np.testing.assert_allclose(grad, expected, rtol=1e-5)


def test_interpolation_weights_are_uniform_per_sample_and_seeded():
    weights = losses.sample_interpolation_weights(10_000, 4, seed=keras.random.SeedGenerator(3))
    values = keras.ops.convert_to_numpy(weights)
    assert weights.dtype == "float32" and values.shape == (10_000, 1, 1, 1)
    assert values.min() >= 0.0 and values.max() < 1.0
    assert abs(values.mean() - 0.5) < 0.02 and abs(values.std() - np.sqrt(1 / 12)) < 0.02

    def draw(seed):
        return keras.ops.convert_to_numpy(losses.sample_interpolation_weights(5, 4, seed))

    np.testing.assert_array_equal(draw(7), draw(7))
    np.testing.assert_array_equal(
        draw(keras.random.SeedGenerator(7)), draw(keras.random.SeedGenerator(7))
    )
    generator = keras.random.SeedGenerator(7)
    assert not np.array_equal(draw(generator), draw(generator))


def test_interpolation_weights_take_a_dynamic_batch_size():
    @tf.function(input_signature=[tf.TensorSpec((None, 2, 2, 1))])
    def weights_for(images):
        return losses.sample_interpolation_weights(tf.shape(images)[0], 4, seed=1)

    assert weights_for(tf.zeros((3, 2, 2, 1))).shape == (3, 1, 1, 1)
    with pytest.raises(ValueError, match="ndim"):
        losses.sample_interpolation_weights(3, 0, seed=1)


# --- Weight clipping ----------------------------------------------------------------------------


def test_clip_weights_clips_only_trainable_weights():
    model = keras.Sequential(
        [keras.Input((3,)), keras.layers.Dense(2), keras.layers.BatchNormalization()]
    )
    dense, batch_norm = model.layers
    dense.kernel.assign(np.array([[5.0, -5.0], [0.001, 0.0], [-0.02, 0.3]], np.float32))
    batch_norm.moving_mean.assign([5.0, -5.0])
    losses.clip_weights(model, 0.01)
    for weight in model.trainable_weights:
        assert np.all(np.abs(keras.ops.convert_to_numpy(weight)) <= 0.01 + 1e-7)
    np.testing.assert_allclose(dense.kernel.numpy()[1], [0.001, 0.0])  # inside: unchanged
    np.testing.assert_array_equal(batch_norm.moving_mean.numpy(), [5.0, -5.0])
    with pytest.raises(ValueError, match="clip_value"):
        losses.clip_weights(model, 0.0)


# --- Registry -----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(losses.LOSS_PAIRS))
def test_every_pair_takes_the_shared_signature(name):
    d_loss_fn, g_loss_fn = losses.get_loss_pair(name)
    assert d_loss_fn(REAL, FAKE).shape == ()
    assert g_loss_fn(FAKE).shape == ()
    assert losses.reports_probabilities(name) is losses.SCORE_IS_PROBABILITY[name]


def test_registry_names_and_probability_flags():
    names = {"minimax", "non_saturating", "wasserstein", "hinge", "least_squares"}
    assert set(losses.LOSS_PAIRS) == set(losses.SCORE_IS_PROBABILITY) == names
    assert losses.get_loss_pair("non_saturating") == (
        losses.bce_discriminator_loss,
        losses.non_saturating_generator_loss,
    )
    d_loss_fn, _ = losses.get_loss_pair("minimax")
    assert d_loss_fn(REAL, FAKE, real_label=0.9).shape == ()  # the one extra keyword
    assert [n for n, p in losses.SCORE_IS_PROBABILITY.items() if p] == ["minimax", "non_saturating"]


def test_unknown_loss_name_lists_the_choices():
    with pytest.raises(ValueError, match="unknown loss 'wgan'; choose one of: minimax, .*hinge"):
        losses.get_loss_pair("wgan")
    with pytest.raises(ValueError, match="choose one of"):
        losses.reports_probabilities("wgan")
