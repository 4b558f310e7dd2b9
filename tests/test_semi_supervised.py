"""The semi-supervised GAN: losses against NumPy, the K + 1 equivalence, the labelled subset,
the data pipeline, shapes, a few real training steps, the baseline and the argument checks.

Networks are tiny and images are 8x8 synthetic digits-to-be, so the file runs in seconds.
"""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

from gan_kit import semi_supervised as ss
from gan_kit.models import build_mlp_generator

IMAGE_SHAPE = (8, 8, 1)
K = 3
LATENT_DIM = 4
HIDDEN = (16, 8)

RNG = np.random.default_rng(0)
LOGITS = RNG.normal(0, 3, (6, K)).astype(np.float32)
FAKE_LOGITS = RNG.normal(-1, 3, (5, K)).astype(np.float32)
LABELS = np.array([0, 2, 1, 1, 0, 2], np.int32)
REAL_FEATURES = RNG.normal(0, 1, (6, 4)).astype(np.float32)
FAKE_FEATURES = RNG.normal(0.5, 1, (5, 4)).astype(np.float32)


def np_logsumexp(x):
    x = x.astype(np.float64)
    top = x.max(-1, keepdims=True)
    return (top + np.log(np.exp(x - top).sum(-1, keepdims=True)))[..., 0]


def np_softplus(x):
    return np.log1p(np.exp(-np.abs(x))) + np.maximum(x, 0)


# --- Losses -----------------------------------------------------------------------------------


def test_real_fake_logit_is_the_k_plus_one_softmax_with_fake_logit_zero():
    logit = ss.real_fake_logits(LOGITS)
    assert logit.shape == (6,) and logit.dtype == "float32"
    with_fake = np.concatenate([LOGITS, np.zeros((6, 1), np.float32)], axis=1).astype(np.float64)
    softmax = np.exp(with_fake) / np.exp(with_fake).sum(1, keepdims=True)
    p_real = 1.0 - softmax[:, K]
    np.testing.assert_allclose(1 / (1 + np.exp(-np.asarray(logit))), p_real, rtol=1e-5)
    z = np.exp(LOGITS.astype(np.float64)).sum(1)
    np.testing.assert_allclose(p_real, z / (z + 1), rtol=1e-6)


def test_real_fake_logit_is_finite_for_huge_logits():
    logit = ss.real_fake_logits(np.array([[1000.0, 999.0, -1000.0]], np.float32))
    np.testing.assert_allclose(np.asarray(logit), 1000.0 + np.log1p(np.exp(-1.0)), rtol=1e-6)


def test_supervised_loss_matches_numpy_cross_entropy():
    loss = ss.supervised_loss(LOGITS, LABELS)
    assert loss.shape == () and loss.dtype == "float32"
    reference = np.mean(np_logsumexp(LOGITS) - LOGITS[np.arange(6), LABELS])
    np.testing.assert_allclose(float(loss), reference, rtol=1e-5)
    keras_loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)(LABELS, LOGITS)
    np.testing.assert_allclose(float(loss), float(keras_loss), rtol=1e-5)


def test_unsupervised_loss_matches_numpy():
    loss = ss.unsupervised_discriminator_loss(LOGITS, FAKE_LOGITS)
    real, fake = np_logsumexp(LOGITS), np_logsumexp(FAKE_LOGITS)
    # -mean(log D(x)) - mean(log(1 - D(G(z)))) with D = Z / (Z + 1).
    z_real, z_fake = np.exp(real), np.exp(fake)
    reference = -np.mean(np.log(z_real / (z_real + 1))) - np.mean(np.log(1 / (z_fake + 1)))
    np.testing.assert_allclose(float(loss), reference, rtol=1e-5)
    np.testing.assert_allclose(
        float(loss), np.mean(np_softplus(-real)) + np.mean(np_softplus(fake)), rtol=1e-5
    )


def test_feature_matching_loss_matches_numpy_and_ignores_real_gradients():
    loss = ss.feature_matching_generator_loss(REAL_FEATURES, FAKE_FEATURES)
    reference = np.mean((REAL_FEATURES.mean(0) - FAKE_FEATURES.mean(0)) ** 2)
    np.testing.assert_allclose(float(loss), reference, rtol=1e-5)
    assert (
        float(
            ss.feature_matching_generator_loss(
                REAL_FEATURES, REAL_FEATURES[:3] * 0 + REAL_FEATURES.mean(0)
            )
        )
        < 1e-10
    )
    real, fake = tf.constant(REAL_FEATURES), tf.constant(FAKE_FEATURES)
    with tf.GradientTape(persistent=True) as tape:
        tape.watch([real, fake])
        loss = ss.feature_matching_generator_loss(real, fake)
    assert tape.gradient(loss, real) is None
    assert np.abs(tape.gradient(loss, fake).numpy()).sum() > 0


def test_class_accuracy():
    logits = np.eye(K, dtype=np.float32)[[0, 1, 2, 0]]
    assert float(ss.class_accuracy(logits, np.array([0, 1, 0, 0]))) == pytest.approx(0.75)


# --- Data -------------------------------------------------------------------------------------


def test_labelled_subset_is_balanced_deterministic_and_seeded():
    labels = np.repeat(np.arange(K), 20)
    RNG.shuffle(labels)
    subset = ss.make_labelled_subset(labels, per_class=4, num_classes=K, seed=0)
    assert subset.shape == (4 * K,) and len(set(subset)) == 4 * K
    assert np.all(np.diff(subset) > 0)
    np.testing.assert_array_equal(np.bincount(labels[subset], minlength=K), [4] * K)
    np.testing.assert_array_equal(subset, ss.make_labelled_subset(labels, 4, K, seed=0))
    assert not np.array_equal(subset, ss.make_labelled_subset(labels, 4, K, seed=1))


@pytest.mark.parametrize(
    "labels, kwargs, match",
    [
        (np.repeat(np.arange(3), 2), {"per_class": 3, "num_classes": 3}, "class 0 has 2"),
        (np.arange(5), {"num_classes": 3, "per_class": 1}, r"\[0, 3\)"),
        (np.zeros((2, 2), int), {"num_classes": 3}, "1-D"),
        (np.zeros(4, np.float32), {"num_classes": 3}, "int class ids"),
        (np.zeros(4, int), {"per_class": 0}, "per_class"),
        (np.zeros(4, int), {"num_classes": 1}, "num_classes"),
    ],
)
def test_labelled_subset_rejects_bad_input(labels, kwargs, match):
    with pytest.raises(ValueError, match=match):
        ss.make_labelled_subset(labels, **kwargs)


def _images(n, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (n, *IMAGE_SHAPE), dtype=np.uint8)


def test_semi_supervised_dataset_yields_full_labelled_batches():
    labelled, labels = _images(6), np.array([0, 1, 2, 0, 1, 2], np.int32)
    ds = ss.make_semi_supervised_dataset(
        labelled, labels, _images(10, 1), batch_size=4, labelled_batch_size=4, epochs=1
    )
    batches = list(ds)
    assert [len(unlabelled) for (_, _), unlabelled in batches] == [4, 4, 2]
    for (x, y), u in batches:
        assert x.shape == (4, *IMAGE_SHAPE) and y.shape == (4,) and x.dtype == tf.float32
        assert y.dtype == tf.int32 and u.dtype == tf.float32
        assert -1.0 <= float(tf.reduce_min(u)) and float(tf.reduce_max(u)) <= 1.0
    # Every labelled image is used once per sweep (6 = 4 + 2 of the next batch).
    first = np.concatenate([y.numpy() for (_, y), _ in batches])[:6]
    np.testing.assert_array_equal(np.sort(first), np.sort(labels))


def test_semi_supervised_dataset_rejects_mismatched_labels():
    with pytest.raises(ValueError, match="one label per labelled image"):
        ss.make_semi_supervised_dataset(_images(3), np.zeros(2, np.int32), _images(4))
    with pytest.raises(ValueError, match="labelled_batch_size"):
        ss.make_semi_supervised_dataset(
            _images(3), np.zeros(3, np.int32), _images(4), labelled_batch_size=-1
        )


# --- Networks and training --------------------------------------------------------------------


def _networks(seed=0):
    keras.utils.set_random_seed(seed)
    discriminator = ss.build_ssgan_discriminator(IMAGE_SHAPE, num_classes=K, hidden_units=HIDDEN)
    generator = build_mlp_generator(LATENT_DIM, IMAGE_SHAPE, hidden_units=(8,), batch_norm=True)
    return generator, discriminator


def test_discriminator_shapes_and_noise_only_in_training():
    _, discriminator = _networks()
    x = np.zeros((5, *IMAGE_SHAPE), np.float32)
    class_logits, features = discriminator(x, training=False)
    assert class_logits.shape == (5, K) and features.shape == (5, HIDDEN[-1])
    assert class_logits.dtype == "float32" and features.dtype == "float32"
    again, _ = discriminator(x, training=False)
    np.testing.assert_array_equal(class_logits, again)
    noisy, _ = discriminator(x, training=True)
    assert not np.allclose(noisy, class_logits)
    assert ss.build_classifier(discriminator)(x).shape == (5, K)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"hidden_units": ()}, "at least one layer"),
        ({"hidden_units": 10}, "sequence"),
        ({"hidden_units": (0,)}, "hidden unit"),
        ({"input_noise": -0.1}, "input_noise"),
        ({"num_classes": 1}, "num_classes"),
        ({"image_shape": (8, 8, 2)}, "image_shape"),
    ],
)
def test_discriminator_rejects_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        ss.build_ssgan_discriminator(**kwargs)


def _compiled_model(seed=0, **kwargs):
    generator, discriminator = _networks(seed)
    model = ss.SemiSupervisedGAN(generator, discriminator, seed=seed, **kwargs)
    model.compile(
        d_optimizer=keras.optimizers.Adam(3e-3, beta_1=0.5),
        g_optimizer=keras.optimizers.Adam(3e-3, beta_1=0.5),
    )
    return model


@pytest.mark.parametrize("feature_matching", [True, False])
def test_a_few_steps_lower_the_supervised_loss_and_move_both_networks(feature_matching):
    labelled = _images(6)
    labels = np.array([0, 1, 2, 0, 1, 2], np.int32)
    model = _compiled_model(feature_matching=feature_matching)
    x = ss.to_model_range(labelled)
    before = float(ss.supervised_loss(model(x), labels))
    g_before = [w.numpy().copy() for w in model.generator.trainable_weights]
    ds = ss.make_semi_supervised_dataset(labelled, labels, _images(12, 1), batch_size=6)
    history = model.fit(ds, epochs=2, steps_per_epoch=15, verbose=0)
    after = float(ss.supervised_loss(model(x), labels))
    assert after < before
    assert history.history["supervised_loss"][-1] < history.history["supervised_loss"][0]
    for name in ("d_loss", "g_loss", "unsupervised_loss", "accuracy", "d_real", "d_fake"):
        assert np.all(np.isfinite(history.history[name])), name
    moved = [
        not np.allclose(a, b.numpy())
        for a, b in zip(g_before, model.generator.trainable_weights, strict=True)
    ]
    assert any(moved)
    assert model.random_draws.numpy() == 2 * 30  # one z for each of the two updates per step


def test_validation_data_reports_test_accuracy():
    model = _compiled_model()
    labels = np.array([0, 1, 2, 0, 1, 2], np.int32)
    ds = ss.make_semi_supervised_dataset(_images(6), labels, _images(8, 1), batch_size=4)
    test = ss.make_test_dataset(_images(7, 2), np.array([0, 1, 2, 0, 1, 2, 0]), batch_size=3)
    history = model.fit(ds, epochs=1, steps_per_epoch=2, validation_data=test, verbose=0)
    expected = ss.evaluate_accuracy(model.discriminator, _images(7, 2), [0, 1, 2, 0, 1, 2, 0])
    assert history.history["val_accuracy"][0] == pytest.approx(expected)
    samples = model.generate(5, seed=0)
    assert samples.shape == (5, *IMAGE_SHAPE) and np.all(np.abs(samples) <= 1)
    np.testing.assert_array_equal(samples, model.generate(5, seed=0))


def test_training_rejects_batches_without_labelled_part():
    model = _compiled_model()
    with pytest.raises(ValueError, match="make_semi_supervised_dataset"):
        model.fit(tf.data.Dataset.from_tensors(ss.to_model_range(_images(4))), verbose=0)


def test_model_rejects_a_single_output_discriminator_and_negative_weight():
    generator, discriminator = _networks()
    with pytest.raises(ValueError, match="build_ssgan_discriminator"):
        ss.SemiSupervisedGAN(generator, ss.build_classifier(discriminator))
    with pytest.raises(ValueError, match="unsupervised_weight"):
        ss.SemiSupervisedGAN(generator, discriminator, unsupervised_weight=-1.0)


def test_supervised_baseline_learns_its_labels_and_checks_steps():
    _, discriminator = _networks()
    images, labels = _images(6), np.array([0, 1, 2, 0, 1, 2], np.int32)
    history = ss.train_supervised_baseline(
        discriminator, images, labels, steps=40, batch_size=6, learning_rate=3e-3, evaluations=2
    )
    assert history.history["loss"][-1] < history.history["loss"][0]
    assert ss.evaluate_accuracy(discriminator, images, labels) > 0.5
    with pytest.raises(ValueError, match="multiple of evaluations"):
        ss.train_supervised_baseline(discriminator, images, labels, steps=5, evaluations=2)


def test_evaluate_accuracy_rejects_mismatched_lengths():
    _, discriminator = _networks()
    with pytest.raises(ValueError, match="as many labels"):
        ss.evaluate_accuracy(discriminator, _images(3), [0, 1])


def test_plot_accuracy_curves():
    fig = ss.plot_accuracy_curves(
        {"SSGAN": ([1, 2], [0.5, 0.8]), "baseline": ([1, 2], [0.4, 0.6])}, chance=0.1
    )
    assert len(fig.axes[0].lines) == 3
    assert fig._repr_png_()[:4] == b"\x89PNG"
    with pytest.raises(ValueError, match="2 steps but 1"):
        ss.plot_accuracy_curves({"x": ([1, 2], [0.5])})
    with pytest.raises(ValueError, match="empty"):
        ss.plot_accuracy_curves({})


def test_test_dataset_knows_its_length():
    test = ss.make_test_dataset(_images(7), np.arange(7) % K, batch_size=3)
    assert int(test.cardinality()) == 3
    assert [len(y) for _, y in test] == [3, 3, 1]


def test_config_round_trip():
    model = _compiled_model(unsupervised_weight=0.5, feature_matching=False)
    clone = ss.SemiSupervisedGAN.from_config(model.get_config())
    assert clone.unsupervised_weight == 0.5 and clone.feature_matching is False
    assert clone.num_classes == K and clone.latent_dim == LATENT_DIM
    assert clone.discriminator.count_params() == model.discriminator.count_params()
