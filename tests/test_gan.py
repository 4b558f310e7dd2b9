"""The training model: one real `fit` step per GAN flavour, compiled and eager, and the promises
its training loop makes.

Checked here: each of the two updates moves only its own network (and the fused update both),
the counters (optimizer steps, noise draws) have their exact values, trackers report
probabilities only for the BCE losses, WGAN weight clipping, a smaller last batch, seeded
determinism, the EMA generator, `generate`, save -> load -> resume, mixed precision,
`tf.distribute` and the argument checks.

Every network is tiny and every dataset is a handful of synthetic images in [-1, 1].
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field

import keras
import numpy as np
import pytest
import tensorflow as tf

from gan_kit import hardware, losses
from gan_kit.gan import GAN
from gan_kit.models import (
    build_dcgan_discriminator,
    build_dcgan_generator,
    build_mlp_critic,
    build_mlp_discriminator,
    build_mlp_generator,
    build_wgan_critic,
)

# 16 = 4 * 2**2: the smallest DCGAN whose networks both keep a batch-norm block.
IMAGE_SHAPE = (16, 16, 1)
LATENT_DIM = 8
NUM_CLASSES = 3
SMALL_CONV = {"base_filters": 4, "kernel_size": 3, "embedding_dim": 4}
# 10 images in batches of 4 give batches of 4, 4 and 2: every fit below also trains on a last,
# smaller batch, which a batch size taken from a constant would get wrong.
N_IMAGES = 10
BATCH = 4
N_BATCHES = 3


# ----------------------------------------------------------------------------- flavours
def mlp_networks(num_classes: int | None) -> tuple[keras.Model, keras.Model]:
    return (
        build_mlp_generator(
            latent_dim=LATENT_DIM,
            image_shape=IMAGE_SHAPE,
            hidden_units=(16,),
            num_classes=num_classes,
        ),
        build_mlp_discriminator(
            image_shape=IMAGE_SHAPE, hidden_units=(16,), num_classes=num_classes
        ),
    )


def dcgan_generator(num_classes: int | None) -> keras.Model:
    return build_dcgan_generator(
        latent_dim=LATENT_DIM, image_shape=IMAGE_SHAPE, num_classes=num_classes, **SMALL_CONV
    )


def dcgan_networks(num_classes: int | None) -> tuple[keras.Model, keras.Model]:
    discriminator = build_dcgan_discriminator(
        image_shape=IMAGE_SHAPE, num_classes=num_classes, **SMALL_CONV
    )
    return dcgan_generator(num_classes), discriminator


def mlp_critic_networks(num_classes: int | None) -> tuple[keras.Model, keras.Model]:
    # The course's weight-clipping WGAN (preset wasserstein_mnist) is the vanilla MLP pair.
    generator, _ = mlp_networks(num_classes)
    critic = build_mlp_critic(image_shape=IMAGE_SHAPE, hidden_units=(16,), num_classes=num_classes)
    return generator, critic


def wgan_networks(num_classes: int | None) -> tuple[keras.Model, keras.Model]:
    # No layer norm: its second derivative (for the penalty) makes the trace half as long again;
    # the wgan_gp presets train one step with it in test_presets.py.
    critic = build_wgan_critic(
        image_shape=IMAGE_SHAPE, num_classes=num_classes, normalization="none", **SMALL_CONV
    )
    return dcgan_generator(num_classes), critic


@dataclass(frozen=True)
class Flavour:
    networks: Callable[[int | None], tuple[keras.Model, keras.Model]]
    loss: str = "non_saturating"
    conditional: bool = False
    gan_kwargs: dict = field(default_factory=dict)

    @property
    def n_critic(self) -> int:
        return self.gan_kwargs.get("n_critic", 1)

    @property
    def fused(self) -> bool:
        return self.gan_kwargs.get("fused", False)

    @property
    def draws_per_batch(self) -> int:
        # One z per discriminator step (plus one set of penalty weights with WGAN-GP), one z for
        # the generator step; the fused update shares a single z between the two.
        if self.fused:
            return 1
        per_d_step = 2 if self.gan_kwargs.get("gp_weight", 0) > 0 else 1
        return self.n_critic * per_d_step + 1


FLAVOURS = {
    "vanilla_mlp": Flavour(mlp_networks),
    "dcgan": Flavour(dcgan_networks),
    "wgan_clip": Flavour(
        mlp_critic_networks, "wasserstein", gan_kwargs={"clip_value": 0.01, "n_critic": 2}
    ),
    "wgan_gp": Flavour(wgan_networks, "wasserstein", gan_kwargs={"gp_weight": 10.0, "n_critic": 2}),
    "conditional_mlp": Flavour(mlp_networks, conditional=True),
    "conditional_dcgan": Flavour(dcgan_networks, conditional=True),
    # The TF DCGAN tutorial's simultaneous update (one generator pass for both), on the MLP pair.
    "fused_mlp": Flavour(mlp_networks, gan_kwargs={"fused": True}),
}
BCE_FLAVOURS = [name for name, flavour in FLAVOURS.items() if flavour.loss == "non_saturating"]
# Algorithm 1's alternating flavours: d_step n_critic times, then g_step.
ALTERNATING_FLAVOURS = [name for name, flavour in FLAVOURS.items() if not flavour.fused]
MODES = [pytest.param(False, id="compiled"), pytest.param(True, id="eager")]


def make_gan(
    name: str,
    *,
    seed: int = 0,
    run_eagerly: bool = False,
    loss: str | None = None,
    learning_rate: float = 1e-3,
    **gan_kwargs,
) -> GAN:
    """The flavour's GAN, compiled; the initial weights are the same on every call."""
    flavour = FLAVOURS[name]
    keras.utils.set_random_seed(0)  # weight initialisation; `seed` only drives the GAN's noise
    generator, discriminator = flavour.networks(NUM_CLASSES if flavour.conditional else None)
    gan = GAN(generator, discriminator, seed=seed, **{**flavour.gan_kwargs, **gan_kwargs})
    gan.compile(
        d_optimizer=keras.optimizers.Adam(learning_rate, beta_1=0.5),
        g_optimizer=keras.optimizers.Adam(learning_rate, beta_1=0.5),
        loss=loss or flavour.loss,
        run_eagerly=run_eagerly,
    )
    return gan


# --------------------------------------------------------------------------------- data
def real_images(n: int = N_IMAGES) -> np.ndarray:
    return np.random.default_rng(0).uniform(-1.0, 1.0, (n, *IMAGE_SHAPE)).astype("float32")


def class_labels(n: int = N_IMAGES) -> np.ndarray:
    return (np.arange(n) % NUM_CLASSES).astype("int32")


def make_dataset(conditional: bool, n: int = N_IMAGES, batch: int = BATCH) -> tf.data.Dataset:
    data = (real_images(n), class_labels(n)) if conditional else real_images(n)
    return tf.data.Dataset.from_tensor_slices(data).batch(batch)


def fit(gan: GAN, dataset: tf.data.Dataset, epochs: int = 1) -> dict[str, list[float]]:
    # shuffle=False only silences Keras's warning: a tf.data dataset is never shuffled by fit.
    return gan.fit(dataset, epochs=epochs, verbose=0, shuffle=False).history


def one_batch(name: str) -> tuple[tf.Tensor, tf.Tensor | None]:
    """(real_images, labels) as tensors, as `train_step` receives them; labels None if unconditional."""
    labels = tf.constant(class_labels(BATCH)) if FLAVOURS[name].conditional else None
    return tf.constant(real_images(BATCH)), labels


# ------------------------------------------------------------------------------ weights
def snapshot(variables) -> list[np.ndarray]:
    return [np.array(variable.numpy()) for variable in variables]


def moved(before: list[np.ndarray], variables) -> list[bool]:
    return [
        not np.array_equal(old, variable.numpy())
        for old, variable in zip(before, variables, strict=True)
    ]


def all_equal(first: list[np.ndarray], second: list[np.ndarray]) -> bool:
    return len(first) == len(second) and all(
        np.array_equal(a, b) for a, b in zip(first, second, strict=True)
    )


@dataclass
class Fitted:
    gan: GAN
    history: dict[str, list[float]]
    generator_before: list[np.ndarray]
    discriminator_before: list[np.ndarray]


@pytest.fixture(scope="module")
def fitted() -> Callable[[str, bool], Fitted]:
    """fitted(name, run_eagerly): the flavour's GAN after one epoch (3 batches) of `fit`.

    Each model is trained once per module, because tracing a train step costs seconds; the
    tests share them, so they read these models and never train them further.
    """
    cache: dict[tuple[str, bool], Fitted] = {}

    def get(name: str, run_eagerly: bool = False) -> Fitted:
        if (name, run_eagerly) not in cache:
            gan = make_gan(name, run_eagerly=run_eagerly)
            generator_before = snapshot(gan.generator.trainable_weights)
            discriminator_before = snapshot(gan.discriminator.trainable_weights)
            history = fit(gan, make_dataset(FLAVOURS[name].conditional))
            cache[name, run_eagerly] = Fitted(gan, history, generator_before, discriminator_before)
        return cache[name, run_eagerly]

    return get


# ========================================================================= one fit step
@pytest.mark.parametrize("run_eagerly", MODES)
@pytest.mark.parametrize("name", FLAVOURS)
def test_fit_reports_the_four_trackers_finite(fitted, name, run_eagerly):
    history = fitted(name, run_eagerly).history
    assert sorted(history) == ["d_fake", "d_loss", "d_real", "g_loss"]
    for key, values in history.items():
        assert len(values) == 1, key
        assert np.isfinite(values[0]), key


@pytest.mark.parametrize("run_eagerly", MODES)
@pytest.mark.parametrize("name", FLAVOURS)
def test_fit_moves_every_weight_of_both_networks(fitted, name, run_eagerly):
    result = fitted(name, run_eagerly)
    generator, discriminator = result.gan.generator, result.gan.discriminator
    assert all(moved(result.generator_before, generator.trainable_weights))
    still = [
        weight.path
        for weight, has_moved in zip(
            discriminator.trainable_weights,
            moved(result.discriminator_before, discriminator.trainable_weights),
            strict=True,
        )
        if not has_moved
    ]
    # In mean(fake_scores) - mean(real_scores) the critic's output bias cancels, and the gradient
    # penalty does not see it either: its gradient is exactly zero, so it never moves.
    expected = [discriminator.layers[-1].bias.path] if FLAVOURS[name].loss == "wasserstein" else []
    assert still == expected


@pytest.mark.parametrize("run_eagerly", MODES)
@pytest.mark.parametrize("name", FLAVOURS)
def test_fit_counts_steps_and_noise_draws(fitted, name, run_eagerly):
    gan, flavour = fitted(name, run_eagerly).gan, FLAVOURS[name]
    assert int(gan.d_optimizer.iterations) == flavour.n_critic * N_BATCHES
    assert int(gan.g_optimizer.iterations) == N_BATCHES
    # The draw counter is what makes a resumed run draw the noise an uninterrupted one would.
    assert int(gan.random_draws) == flavour.draws_per_batch * N_BATCHES


@pytest.mark.parametrize("run_eagerly", MODES)
@pytest.mark.parametrize("name", BCE_FLAVOURS)
def test_bce_trackers_are_probabilities(fitted, name, run_eagerly):
    result = fitted(name, run_eagerly)
    assert result.gan.scores_are_probabilities
    for key in ("d_real", "d_fake"):
        assert 0.0 <= result.history[key][0] <= 1.0, key


@pytest.mark.parametrize("run_eagerly", MODES)
def test_weight_clipping_keeps_every_critic_weight_in_range(fitted, run_eagerly):
    result = fitted("wgan_clip", run_eagerly)
    clip_value = result.gan.clip_value
    # The initial weights reach beyond c, so the clipping is visible, not vacuous.
    assert max(np.abs(w).max() for w in result.discriminator_before) > clip_value
    for weight in result.gan.discriminator.trainable_weights:
        values = weight.numpy()
        assert values.min() >= -clip_value and values.max() <= clip_value, weight.path


@pytest.mark.parametrize(
    "loss, probabilities",
    [
        ("non_saturating", True),
        ("minimax", True),
        ("wasserstein", False),
        ("hinge", False),
        ("least_squares", False),
    ],
)
def test_d_real_and_d_fake_are_sigmoid_for_bce_and_raw_scores_otherwise(loss, probabilities):
    # A discriminator that scores every image 5 (zero kernel, bias 5) and optimizers with a zero
    # learning rate make both trackers known exactly: sigmoid(5), or 5, outside [0, 1].
    gan = make_gan("vanilla_mlp", loss=loss, learning_rate=0.0)
    output = gan.discriminator.get_layer("logit")
    output.kernel.assign(np.zeros(output.kernel.shape, "float32"))
    output.bias.assign([5.0])
    results = gan.train_step(tf.constant(real_images(BATCH)))  # one eager step, no tracing
    expected = 1.0 / (1.0 + np.exp(-5.0)) if probabilities else 5.0
    assert gan.scores_are_probabilities is probabilities
    assert float(results["d_real"]) == pytest.approx(expected, rel=1e-6)
    assert float(results["d_fake"]) == pytest.approx(expected, rel=1e-6)


# ======================================================== each update moves its own network
@pytest.mark.parametrize("name", ALTERNATING_FLAVOURS)
def test_d_step_moves_only_the_discriminator_and_g_step_only_the_generator(name):
    # Called directly and eagerly. Only trainable weights are compared: batch-norm moving
    # statistics are state, and both steps run both networks in training mode (as the reference
    # DCGAN does), so the other network's statistics may move.
    gan = make_gan(name, run_eagerly=True)
    real, labels = one_batch(name)

    generator_before = snapshot(gan.generator.trainable_weights)
    discriminator_before = snapshot(gan.discriminator.trainable_weights)
    gan.d_step(real, labels, BATCH)
    assert not any(moved(generator_before, gan.generator.trainable_weights))
    assert any(moved(discriminator_before, gan.discriminator.trainable_weights))
    assert (int(gan.d_optimizer.iterations), int(gan.g_optimizer.iterations)) == (1, 0)

    generator_before = snapshot(gan.generator.trainable_weights)
    discriminator_before = snapshot(gan.discriminator.trainable_weights)
    gan.g_step(labels, BATCH)
    assert all(moved(generator_before, gan.generator.trainable_weights))
    assert not any(moved(discriminator_before, gan.discriminator.trainable_weights))
    assert (int(gan.d_optimizer.iterations), int(gan.g_optimizer.iterations)) == (1, 1)


@pytest.mark.parametrize("name", ["vanilla_mlp", "wgan_gp", "conditional_dcgan"])
def test_fit_runs_n_critic_d_steps_then_one_g_step_per_batch(name):
    # Eager, so that the wrappers below see every call `fit` makes.
    gan = make_gan(name, run_eagerly=True)
    calls = []

    def spy(step, which):
        def wrapped(*args):
            generator_before = snapshot(gan.generator.trainable_weights)
            discriminator_before = snapshot(gan.discriminator.trainable_weights)
            result = step(*args)
            calls.append(
                (
                    which,
                    any(moved(generator_before, gan.generator.trainable_weights)),
                    any(moved(discriminator_before, gan.discriminator.trainable_weights)),
                )
            )
            return result

        return wrapped

    gan.d_step = spy(gan.d_step, "d")
    gan.g_step = spy(gan.g_step, "g")
    fit(gan, make_dataset(FLAVOURS[name].conditional))
    # (step, generator moved, discriminator moved)
    one_batch_calls = [("d", False, True)] * FLAVOURS[name].n_critic + [("g", True, False)]
    assert calls == one_batch_calls * N_BATCHES


def test_fused_step_updates_both_networks_from_one_draw():
    gan = make_gan("fused_mlp", run_eagerly=True)
    generator_before = snapshot(gan.generator.trainable_weights)
    discriminator_before = snapshot(gan.discriminator.trainable_weights)
    real, labels = one_batch("fused_mlp")
    gan.fused_step(real, labels, BATCH)
    assert all(moved(generator_before, gan.generator.trainable_weights))
    assert all(moved(discriminator_before, gan.discriminator.trainable_weights))
    assert (int(gan.d_optimizer.iterations), int(gan.g_optimizer.iterations)) == (1, 1)
    assert int(gan.random_draws) == 1


# ===================================================================== training details
@pytest.mark.parametrize("name", ["wgan_gp", "conditional_dcgan"])
def test_last_smaller_batch_trains_compiled(fitted, name):
    # The penalty mixes real and fake images sample by sample, and the conditional generator
    # takes one label per z: a batch size fixed at 4 would fail on the last batch of 2.
    assert [int(images.shape[0]) for images, _ in make_dataset(True)] == [4, 4, 2]
    result = fitted(name, run_eagerly=False)
    assert int(result.gan.g_optimizer.iterations) == N_BATCHES
    assert np.isfinite(result.history["d_loss"][0])


def test_same_seeds_give_identical_weights_another_gan_seed_does_not(fitted):
    # Compiled, as `gan_kit.runs` trains; the saving test below checks the DCGAN eagerly.
    reference = fitted("vanilla_mlp", run_eagerly=False).gan  # weights from seed 0, GAN seed 0
    same = make_gan("vanilla_mlp", seed=0)
    fit(same, make_dataset(False))
    other = make_gan("vanilla_mlp", seed=1)  # the same initial weights, other noise
    fit(other, make_dataset(False))
    assert all_equal(snapshot(reference.weights), snapshot(same.weights))
    assert not all_equal(snapshot(reference.generator.weights), snapshot(other.generator.weights))


def test_n_critic_3_takes_three_discriminator_steps_per_generator_step():
    # Eager is enough: compiled fits with n_critic = 2 are counted above.
    gan = make_gan("vanilla_mlp", n_critic=3, run_eagerly=True)
    fit(gan, make_dataset(False, n=BATCH))  # one batch
    assert int(gan.d_optimizer.iterations) == 3
    assert int(gan.g_optimizer.iterations) == 1


def test_ema_generator_is_the_warmed_up_moving_average():
    gan = make_gan("vanilla_mlp", ema_decay=0.999)
    before = snapshot(gan.generator.weights)
    assert all_equal(snapshot(gan.ema_generator.weights), before)  # starts as a copy
    fit(gan, make_dataset(False, n=BATCH))  # one step
    assert int(gan.ema_updates) == 1
    # tf.train.ExponentialMovingAverage's warm-up: at step t the decay is min(d, (1 + t) / (10 + t)).
    decay = min(0.999, (1 + 1) / (10 + 1))
    after = snapshot(gan.generator.weights)
    assert not all_equal(after, before)
    for old, new, ema in zip(before, after, snapshot(gan.ema_generator.weights), strict=True):
        np.testing.assert_allclose(ema, decay * old + (1 - decay) * new, rtol=1e-5, atol=1e-7)
    assert not np.allclose(gan.generate(4, use_ema=True), gan.generate(4, use_ema=False))


# ============================================================================ generate
def test_generate_gives_float32_images_in_range(fitted):
    images = fitted("dcgan").gan.generate(5, seed=0)
    assert images.shape == (5, *IMAGE_SHAPE)
    assert images.dtype == np.float32
    assert images.min() >= -1.0 and images.max() <= 1.0


def test_generate_is_deterministic_for_a_seed(fitted):
    gan = fitted("dcgan").gan
    np.testing.assert_array_equal(gan.generate(4, seed=3), gan.generate(4, seed=3))
    assert not np.allclose(gan.generate(4, seed=3), gan.generate(4, seed=4))
    # Chunking does not change the images: inference-mode batch norm treats samples independently.
    np.testing.assert_allclose(
        gan.generate(5, seed=3, batch_size=2), gan.generate(5, seed=3), atol=1e-6
    )


def test_generate_runs_the_generator_in_inference_mode(fitted):
    gan = fitted("dcgan").gan
    moving_statistics = snapshot(gan.generator.non_trainable_weights)
    assert moving_statistics  # the DCGAN generator has batch norm, so the check has teeth
    z = gan.sample_latent(4, seed=0)
    images = gan.generate(z=z)
    assert all_equal(snapshot(gan.generator.non_trainable_weights), moving_statistics)
    inference = keras.ops.convert_to_numpy(gan.generator(z, training=False))
    training = keras.ops.convert_to_numpy(gan.generator(z, training=True))
    np.testing.assert_allclose(images, inference, atol=1e-6)
    assert not np.allclose(images, training, atol=1e-3)


def test_generate_rejects_bad_requests(fitted):
    unconditional = fitted("dcgan").gan
    conditional = fitted("conditional_mlp", run_eagerly=True).gan
    with pytest.raises(ValueError, match="not conditional"):
        unconditional.generate(2, labels=[0, 1])
    with pytest.raises(ValueError, match="pass labels"):
        conditional.generate(2)
    with pytest.raises(ValueError, match="positive n"):
        unconditional.generate(0)


def test_generate_conditional_broadcasts_an_int_label(fitted):
    gan = fitted("conditional_mlp", run_eagerly=True).gan
    np.testing.assert_array_equal(
        gan.generate(3, labels=2, seed=0), gan.generate(3, labels=[2, 2, 2], seed=0)
    )
    assert gan.generate(labels=[0, 1, 2, 0]).shape == (4, *IMAGE_SHAPE)  # n from the labels
    # The label reaches the generator: the same z with another class gives another image.
    assert not np.allclose(gan.generate(3, labels=0, seed=0), gan.generate(3, labels=1, seed=0))


# ============================================================================== saving
def test_saved_gan_loads_and_resumes_exactly(tmp_path):
    # Conditional, with batch norm and an EMA generator: every kind of state the model carries.
    # Eager, to save two traces: what is checked is the state that the file carries.
    # Op determinism (TrainConfig.deterministic) makes the equality hold on a GPU too.
    hardware.enable_op_determinism(0)
    gan = make_gan("conditional_dcgan", ema_decay=0.9, run_eagerly=True)
    dataset = make_dataset(True)
    fit(gan, dataset)
    gan.save(tmp_path / "m.keras")
    loaded = keras.models.load_model(tmp_path / "m.keras")
    loaded.run_eagerly = True  # Keras's own compile arguments are not saved

    assert isinstance(loaded, GAN)
    for use_ema in (True, False):
        np.testing.assert_array_equal(
            loaded.generate(4, labels=1, seed=7, use_ema=use_ema),
            gan.generate(4, labels=1, seed=7, use_ema=use_ema),
        )
    for counter in ("random_draws", "ema_updates"):
        assert int(getattr(loaded, counter)) == int(getattr(gan, counter)), counter
    for optimizer in ("d_optimizer", "g_optimizer"):
        assert int(getattr(loaded, optimizer).iterations) == int(getattr(gan, optimizer).iterations)

    # One more epoch on each: a resumed run is the uninterrupted run, weight for weight.
    fit(gan, dataset)
    fit(loaded, dataset)
    assert all_equal(snapshot(loaded.weights), snapshot(gan.weights))
    assert all_equal(snapshot(loaded.d_optimizer.variables), snapshot(gan.d_optimizer.variables))
    assert all_equal(snapshot(loaded.g_optimizer.variables), snapshot(gan.g_optimizer.variables))


def test_gan_is_built_once_constructed():
    # The builders build both networks. Unbuilt, Keras would warn on save and, under
    # tf.distribute, build the model by calling GAN.call(images), feeding images to the generator.
    assert GAN(*mlp_networks(None)).built


# ==================================================================== mixed precision
@contextlib.contextmanager
def precision_policy(name: str):
    keras.mixed_precision.set_global_policy(name)
    try:
        yield
    finally:
        keras.mixed_precision.set_global_policy("float32")


# Both run eagerly: a policy changes which kernels run, not how the step is traced, and on a CPU
# the low-precision kernels are slow enough without a trace on top.
def test_mixed_bfloat16_step_has_finite_losses():
    with precision_policy("mixed_bfloat16"):
        gan = make_gan("dcgan", run_eagerly=True)
    # The policy is captured when the layers are built: `gan_kit.runs` builds under it, too.
    assert any(layer.dtype_policy.compute_dtype == "bfloat16" for layer in gan.generator.layers)
    history = fit(gan, make_dataset(False, n=BATCH))
    assert all(np.isfinite(values[0]) for values in history.values())
    assert gan.generate(2).dtype == np.float32


def test_mixed_float16_wraps_optimizers_in_loss_scaling():
    with precision_policy("mixed_float16"):
        gan = make_gan("dcgan", run_eagerly=True)
    assert any(layer.dtype_policy.compute_dtype == "float16" for layer in gan.generator.layers)
    # float16 gradients underflow without loss scaling, so compile wraps both optimizers.
    assert isinstance(gan.d_optimizer, keras.optimizers.LossScaleOptimizer)
    assert isinstance(gan.g_optimizer, keras.optimizers.LossScaleOptimizer)
    history = fit(gan, make_dataset(False, n=BATCH))
    assert all(np.isfinite(values[0]) for values in history.values())
    # Saved compile configs name the inner optimizer: loading re-wraps it.
    assert gan.get_compile_config()["d_optimizer"]["class_name"] == "Adam"


# What a GPU's `precision="auto"` runs (mixed_float16), proven on a CPU that emulates float16:
# tiny networks and eager steps keep it to seconds.
@pytest.mark.parametrize("name", ["vanilla_mlp", "dcgan"])
def test_mixed_float16_steps_train_and_skip_an_overflowing_step(name):
    with precision_policy("mixed_float16"):
        gan = make_gan(name, run_eagerly=True)
    generator, discriminator = gan.generator, gan.discriminator
    assert any(layer.dtype_policy.compute_dtype == "float16" for layer in discriminator.layers)
    real, _ = one_batch(name)
    # float16 inside, float32 at both ends: samples and logits leave the networks as float32.
    assert generator(gan.sample_latent(2), training=False).dtype == "float32"
    assert discriminator(real, training=False).dtype == "float32"
    assert all(weight.dtype == "float32" for weight in gan.trainable_weights)  # master weights

    before = snapshot(gan.trainable_weights)
    for _ in range(2):
        logs = gan.train_on_batch(real, return_dict=True)
        assert all(np.isfinite(value) for value in logs.values()), logs
    assert all(moved(before, gan.trainable_weights))

    # Inject an overflow: a loss scale of 2**40 makes the discriminator's gradient about 1e11
    # at its float32 logit, which is inf once it flows back into the float16 layers.
    d_optimizer, g_optimizer = gan.d_optimizer, gan.g_optimizer
    d_optimizer.dynamic_scale.assign(2.0**40)
    g_scale = float(g_optimizer.dynamic_scale)
    d_weights = snapshot(discriminator.trainable_weights)
    d_slots = snapshot(d_optimizer.inner_optimizer.variables)
    g_weights = snapshot(generator.trainable_weights)
    gan.train_on_batch(real)
    # LossScaleOptimizer: a non-finite gradient halves the scale and skips the update, moments
    # and step count included; the generator's own optimizer and step are untouched by it.
    assert float(d_optimizer.dynamic_scale) == 2.0**39
    assert all_equal(snapshot(discriminator.trainable_weights), d_weights)
    assert all_equal(snapshot(d_optimizer.inner_optimizer.variables), d_slots)
    assert float(g_optimizer.dynamic_scale) == g_scale
    assert all(moved(g_weights, generator.trainable_weights))


# ====================================================================== tf.distribute
# Logical devices must be configured before TensorFlow initialises its devices, so the strategy
# runs in a fresh interpreter. It trains the same tiny DCGAN twice: as gan_kit builds it, and with
# its two optimizers built before `fit` by hand (which compile() now does itself).
DISTRIBUTED_SCRIPT = """
import json
import numpy as np
import tensorflow as tf

cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(
    cpu, [tf.config.LogicalDeviceConfiguration(), tf.config.LogicalDeviceConfiguration()]
)
import keras
from gan_kit.gan import GAN
from gan_kit.models import build_dcgan_discriminator, build_dcgan_generator

small = {"base_filters": 4, "kernel_size": 3}
images = np.random.default_rng(0).uniform(-1, 1, (8, 16, 16, 1)).astype("float32")
dataset = tf.data.Dataset.from_tensor_slices(images).batch(4)  # 2 images per replica


def train(build_optimizers):
    strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    with strategy.scope():
        keras.utils.set_random_seed(0)
        generator = build_dcgan_generator(latent_dim=8, image_shape=(16, 16, 1), **small)
        discriminator = build_dcgan_discriminator(image_shape=(16, 16, 1), **small)
        gan = GAN(generator, discriminator, seed=0)
        gan.compile(keras.optimizers.Adam(1e-3), keras.optimizers.Adam(1e-3))
        if build_optimizers and not gan.d_optimizer.built:
            gan.d_optimizer.build(discriminator.trainable_variables)
            gan.g_optimizer.build(generator.trainable_variables)
    before = [w.numpy().copy() for w in gan.trainable_weights]
    try:
        history = gan.fit(dataset, epochs=1, verbose=0, shuffle=False).history
    except Exception as error:
        return {"error": f"{type(error).__name__}: {str(error)[-500:]}"}
    return {
        "replicas": strategy.num_replicas_in_sync,
        "history": {key: float(values[0]) for key, values in history.items()},
        "moved": [bool(not np.array_equal(b, w.numpy())) for b, w in zip(before, gan.trainable_weights)],
        "d_iterations": int(gan.d_optimizer.iterations.numpy()),
        "g_iterations": int(gan.g_optimizer.iterations.numpy()),
        "random_draws": int(gan.random_draws.numpy()),
    }


print(json.dumps({"as_built": train(False), "optimizers_built": train(True)}))
"""


# One MirroredStrategy per process: a second one in the same process can reuse the first's
# collective keys and abort with a shape mismatch.
SCALING_SCRIPT = """
import json
import sys

import numpy as np
import tensorflow as tf

cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(
    cpu, [tf.config.LogicalDeviceConfiguration(), tf.config.LogicalDeviceConfiguration()]
)
import keras
from gan_kit.gan import GAN


def one_step_weights(strategy, images):
    # z cannot matter (the generator's kernel is zero), so each replica's loss on its half
    # of a duplicated batch equals the single-device loss: the updates must agree exactly
    # when the loss is divided by the number of replicas, and be twice as big when not.
    with strategy.scope():
        generator = keras.Sequential([
            keras.Input((4,)),
            keras.layers.Dense(64, kernel_initializer="zeros", bias_initializer="glorot_uniform"),
            keras.layers.Reshape((8, 8, 1)),
            keras.layers.Activation("tanh"),
        ])
        discriminator = keras.Sequential([
            keras.Input((8, 8, 1)),
            keras.layers.Flatten(),
            keras.layers.Dense(1, kernel_initializer="ones"),
        ])
        gan = GAN(generator, discriminator, seed=0)
        gan.compile(keras.optimizers.SGD(0.1), keras.optimizers.SGD(0.1))
    gan.fit(tf.data.Dataset.from_tensors(images), epochs=1, verbose=0, shuffle=False)
    # The generator's kernel is left out: its gradient is z times the upstream gradient, and
    # each replica draws its own z.
    kept = [generator.layers[0].bias, *discriminator.trainable_weights]
    return np.concatenate([w.numpy().ravel() for w in kept])


half = np.random.default_rng(1).uniform(-1, 1, (4, 8, 8, 1)).astype("float32")
keras.utils.set_random_seed(0)
if sys.argv[1] == "mirrored":
    strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    weights = one_step_weights(strategy, np.concatenate([half, half]))
else:
    weights = one_step_weights(tf.distribute.get_strategy(), half)
print(json.dumps(weights.tolist()))
"""


@pytest.fixture(scope="module", autouse=True)
def distributed_process(request, tmp_path_factory):
    """Starts the tf.distribute script with this module's first test, if its tests are selected.

    It then runs beside the in-process tests, which spend most of their time tracing train steps
    in one Python thread; `distributed` waits for its result.
    """
    wanted = any(
        getattr(item, "module", None) is request.module and "mirrored" in item.name
        for item in request.session.items
    )
    if not wanted:
        yield None, None
        return
    folder = tmp_path_factory.mktemp("distribute")
    (folder / "train_mirrored.py").write_text(DISTRIBUTED_SCRIPT)
    with open(folder / "stdout", "w") as stdout, open(folder / "stderr", "w") as stderr:
        process = subprocess.Popen(
            [sys.executable, str(folder / "train_mirrored.py")],
            stdout=stdout,
            stderr=stderr,
            env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"},
        )
    yield process, folder
    if process.poll() is None:  # a test failed before waiting for it
        process.kill()
        process.wait()


@pytest.fixture(scope="module")
def distributed(distributed_process) -> dict:
    process, folder = distributed_process
    returncode = process.wait(timeout=600)
    assert returncode == 0, (folder / "stderr").read_text()[-3000:]
    return json.loads((folder / "stdout").read_text().strip().splitlines()[-1])


def check_distributed_run(result: dict) -> None:
    assert "error" not in result, result.get("error")
    assert result["replicas"] == 2
    assert all(np.isfinite(value) for value in result["history"].values())
    assert all(result["moved"])
    assert (result["d_iterations"], result["g_iterations"]) == (2, 2)  # 2 global batches of 4
    # The counter is shared by the replicas: 2 draws per batch, not 2 per replica.
    assert result["random_draws"] == 4


def test_mirrored_strategy_trains_a_dcgan(distributed):
    check_distributed_run(distributed["as_built"])


def test_mirrored_strategy_divides_the_loss_by_the_number_of_replicas(tmp_path):
    script = tmp_path / "scaling.py"
    script.write_text(SCALING_SCRIPT)
    weights = {}
    for mode in ("single", "mirrored"):
        result = subprocess.run(
            [sys.executable, str(script), mode],
            capture_output=True,
            text=True,
            timeout=600,
            env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"},
        )
        assert result.returncode == 0, result.stderr[-3000:]
        weights[mode] = np.array(json.loads(result.stdout.strip().splitlines()[-1]))
    np.testing.assert_allclose(weights["mirrored"], weights["single"], rtol=1e-5, atol=1e-6)


def test_mirrored_strategy_trains_a_dcgan_with_its_optimizers_built(distributed):
    # The same run with the repair applied from outside: the train step itself is sound.
    check_distributed_run(distributed["optimizers_built"])


# ===================================================================== argument checks
def test_generator_and_discriminator_must_agree_on_labels():
    keras.utils.set_random_seed(0)
    conditional_generator, _ = mlp_networks(NUM_CLASSES)
    _, discriminator = mlp_networks(None)
    with pytest.raises(ValueError, match="both be conditional"):
        GAN(conditional_generator, discriminator)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"n_critic": 0}, "n_critic"),
        ({"latent_distribution": "gaussian"}, "latent_distribution"),
        ({"fused": True, "n_critic": 2}, "n_critic=1"),
        ({"fused": True, "gp_weight": 10.0}, "gp_weight=0"),
    ],
)
def test_bad_gan_arguments_raise(kwargs, message):
    generator, discriminator = mlp_networks(None)
    with pytest.raises(ValueError, match=message):
        GAN(generator, discriminator, **kwargs)


def test_unknown_loss_names_the_choices():
    gan = GAN(*mlp_networks(None))
    with pytest.raises(ValueError, match="unknown loss 'nope'") as error:
        gan.compile(keras.optimizers.Adam(), keras.optimizers.Adam(), loss="nope")
    for name in losses.LOSS_PAIRS:
        assert name in str(error.value)


def test_label_smoothing_is_refused_for_wasserstein():
    gan = GAN(*mlp_networks(None))
    with pytest.raises(ValueError, match="label_smoothing"):
        gan.compile(
            keras.optimizers.Adam(),
            keras.optimizers.Adam(),
            loss="wasserstein",
            label_smoothing=0.1,
        )


def test_label_smoothing_out_of_range_is_refused_at_compile():
    gan = GAN(*mlp_networks(None))
    with pytest.raises(ValueError, match="label_smoothing"):
        gan.compile(keras.optimizers.Adam(), keras.optimizers.Adam(), label_smoothing=1.0)


@pytest.mark.parametrize("run_eagerly", MODES)
def test_conditional_gan_without_labels_says_so(run_eagerly):
    gan = make_gan("conditional_mlp", run_eagerly=run_eagerly)
    with pytest.raises(ValueError, match="labels"):
        fit(gan, make_dataset(False))


# ====================================================================== instance noise
def _noise_gan(**kwargs) -> GAN:
    keras.utils.set_random_seed(0)
    gan = GAN(*mlp_networks(None), latent_dim=LATENT_DIM, **kwargs)
    gan.compile(keras.optimizers.Adam(1e-3), keras.optimizers.Adam(1e-3))
    return gan


class _RecordingDiscriminator:
    """Wraps a discriminator and keeps every input it is called with (eager steps only)."""

    def __init__(self, discriminator):
        self.discriminator, self.inputs = discriminator, []

    def __call__(self, x, training=False):
        self.inputs.append(np.array(x))
        return self.discriminator(x, training=training)

    def __getattr__(self, name):
        return getattr(self.discriminator, name)


@pytest.mark.parametrize("fused", [False, True])
def test_instance_noise_reaches_every_input_of_the_discriminator(fused):
    gan = _noise_gan(instance_noise=0.5, fused=fused)
    real = tf.zeros((BATCH, *IMAGE_SHAPE))
    recorder = _RecordingDiscriminator(gan.discriminator)
    gan.discriminator = recorder
    try:
        if fused:
            gan.fused_step(real, None, BATCH)
        else:
            gan.d_step(real, None, BATCH)
            gan.g_step(None, BATCH)
    finally:
        gan.discriminator = recorder.discriminator
    seen_real = recorder.inputs[0]
    # The real batch is all zeros: what D saw is the noise alone, with the std asked for.
    assert seen_real.std() == pytest.approx(0.5, rel=0.1)
    # Fake images are tanh outputs in (-1, 1): with noise some inputs leave that range.
    assert all(np.abs(x).max() > 1.0 for x in recorder.inputs[1:])
    assert len(recorder.inputs) == (2 if fused else 3)


def test_instance_noise_anneals_linearly_to_zero():
    gan = _noise_gan(instance_noise=0.4, instance_noise_steps=4)
    data = tf.data.Dataset.from_tensor_slices(tf.zeros((BATCH * 6, *IMAGE_SHAPE))).batch(BATCH)
    stds = []
    for _ in range(6):
        gan.fit(data.take(1), epochs=1, verbose=0)
        stds.append(round(float(gan.instance_noise_std()), 6))
    assert stds == [0.3, 0.2, 0.1, 0.0, 0.0, 0.0]
    assert float(_noise_gan(instance_noise=0.4).instance_noise_std()) == pytest.approx(0.4)


def test_no_instance_noise_adds_no_variable_and_no_draws():
    # Checkpoints of runs without noise keep their variables; the noise stream is unchanged.
    gan = _noise_gan()
    assert not hasattr(gan, "instance_noise_updates")
    real = tf.zeros((BATCH, *IMAGE_SHAPE))
    gan.d_step(real, None, BATCH)
    assert int(gan.random_draws) == 1
    noisy = _noise_gan(instance_noise=0.1)
    noisy.d_step(real, None, BATCH)
    assert int(noisy.random_draws) == 3  # z, then noise for the real and the fake batch


def test_instance_noise_survives_the_config_round_trip_and_reaches_the_gan():
    from gan_kit.config import TrainConfig
    from gan_kit.families import build_gan

    config = TrainConfig(model="mlp", latent_dim=LATENT_DIM, instance_noise=0.2)
    assert TrainConfig.from_dict(config.to_dict()) == config
    gan = build_gan(config, IMAGE_SHAPE, instance_noise_steps=100)
    assert (gan.instance_noise, gan.instance_noise_steps) == (0.2, 100)
    assert GAN.from_config(gan.get_config()).instance_noise == 0.2


@pytest.mark.parametrize("value", [-0.1, 10.0, "0.1", True])
def test_config_refuses_bad_instance_noise(value):
    from gan_kit.config import TrainConfig

    with pytest.raises(ValueError, match="instance_noise"):
        TrainConfig(instance_noise=value).validate()


@pytest.mark.parametrize(
    "kwargs, message",
    [({"instance_noise": -1.0}, "instance_noise"), ({"instance_noise_steps": 0}, "positive")],
)
def test_gan_refuses_bad_instance_noise(kwargs, message):
    with pytest.raises(ValueError, match=message):
        GAN(*mlp_networks(None), **kwargs)


@pytest.mark.parametrize("name", ["dcgan", "fused_mlp"])
def test_later_epochs_do_not_retrace_the_train_step(name):
    # train_step's Python body runs only while tf.function traces it, so counting its calls
    # counts traces. The last batch of an epoch is smaller: Keras (reduce_retracing) traces
    # once more with a free batch dimension, and every later batch reuses that graph.
    gan = make_gan(name)
    traces = []
    original = gan.train_step

    def counted_train_step(data):
        traces.append(1)
        return original(data)

    gan.train_step = counted_train_step
    dataset = make_dataset(False)  # batches of 4, 4, 2
    fit(gan, dataset, epochs=1)
    first_epoch = len(traces)
    assert 1 <= first_epoch <= 2
    fit(gan, dataset, epochs=3)
    assert len(traces) == first_epoch


def test_linear_schedule_decays_both_learning_rates_to_zero_over_the_run():
    from gan_kit.config import TrainConfig
    from gan_kit.families import build_gan

    config = TrainConfig(
        model="mlp",
        latent_dim=LATENT_DIM,
        lr_schedule="linear",
        n_critic=2,
        d_learning_rate=1e-3,
        g_learning_rate=2e-3,
    )
    gan = build_gan(config, IMAGE_SHAPE, total_steps=10)

    def learning_rate(optimizer, iterations):
        optimizer.iterations.assign(iterations)
        return float(optimizer.learning_rate)

    assert learning_rate(gan.d_optimizer, 0) == pytest.approx(1e-3)
    # n_critic discriminator updates per step: the D schedule is twice as long as the G one.
    assert learning_rate(gan.d_optimizer, 10) == pytest.approx(0.5e-3)
    assert learning_rate(gan.d_optimizer, 20) == pytest.approx(0.0)
    assert learning_rate(gan.g_optimizer, 5) == pytest.approx(1e-3)  # half of 2e-3
    assert learning_rate(gan.g_optimizer, 10) == pytest.approx(0.0)
    with pytest.raises(ValueError, match="total_steps"):
        build_gan(config, IMAGE_SHAPE)
    with pytest.raises(ValueError, match="lr_schedule"):
        TrainConfig(lr_schedule="cosine").validate()


def test_spectral_norm_discriminator_keeps_every_kernel_at_unit_spectral_norm():
    from gan_kit.models import build_dcgan_discriminator

    discriminator = build_dcgan_discriminator(
        image_shape=(28, 28, 1), base_filters=8, batch_norm=False, spectral_norm=True
    )
    wrapped = [
        layer for layer in discriminator.layers if "SpectralNormalization" in type(layer).__name__
    ]
    assert len(wrapped) == 3  # two convolutions and the output layer
    images = np.random.default_rng(0).uniform(-1, 1, (4, 28, 28, 1)).astype("float32")
    for _ in range(30):  # power iterations converge over training calls
        discriminator(images, training=True)
    for layer in wrapped:
        kernel = keras.ops.convert_to_numpy(layer.kernel)
        largest = np.linalg.svd(kernel.reshape(-1, kernel.shape[-1]), compute_uv=False)[0]
        assert largest == pytest.approx(1.0, rel=0.05)


def test_mixture_prior_draws_separate_islands_in_the_compiled_step_and_in_numpy():
    generator, discriminator = mlp_networks(None)
    gan = GAN(
        generator,
        discriminator,
        latent_distribution="mixture",
        mixture_components=3,
        mixture_scale=5.0,
    )
    for z in (gan.sample_latent(600, seed=0), gan.sample_z(600).numpy()):
        islands = z[:, LATENT_DIM - 3 :]
        # Exactly one of the last K entries is s, the others 0: K islands s * sqrt(2) apart.
        assert np.allclose(np.sort(islands, axis=1), [0.0, 0.0, 5.0])
        assert np.all(np.bincount(islands.argmax(axis=1), minlength=3) > 150)
        assert abs(z[:, : LATENT_DIM - 3].std() - 1.0) < 0.1
    restored = GAN.from_config(gan.get_config())
    assert (restored.latent_distribution, restored.mixture_components) == ("mixture", 3)
    with pytest.raises(ValueError, match="mixture_components"):
        GAN(generator, discriminator, latent_distribution="mixture", mixture_components=LATENT_DIM)


def xla_config(jit_compile: bool):
    from gan_kit.config import TrainConfig

    return TrainConfig(
        model="dcgan",
        latent_dim=LATENT_DIM,
        generator_kwargs={"base_filters": 4, "kernel_size": 4},
        discriminator_kwargs={"base_filters": 4, "kernel_size": 4},
        fused=True,
        ema_decay=0.9,
        # SGD: Adam's first steps move every weight by about the learning rate whatever the
        # gradient's size, so rounding in a near-zero gradient would flip a whole step.
        optimizer="sgd",
        d_learning_rate=0.05,
        g_learning_rate=0.05,
        jit_compile=jit_compile,
    ).validate()


def test_xla_step_computes_the_plain_step_and_survives_a_save(tmp_path):
    from gan_kit.families import build_gan
    from gan_kit.runs import precision_policy

    def same_noise_either_way(gan):
        # XLA has its own Philox, so stateless draws differ from the plain step's: feed both
        # steps the same made-up noise to compare what they compute with it.
        def sample_z(batch_size):
            gan.random_draws.assign_add(1)
            grid = tf.range(batch_size * LATENT_DIM, dtype="float32")
            grid = tf.reshape(grid, tf.stack([batch_size, LATENT_DIM]))
            return tf.sin(0.37 * grid + tf.cast(gan.random_draws, "float32"))

        gan.sample_z = sample_z

    trained = {}
    for jit_compile in (False, True):
        keras.utils.set_random_seed(0)
        with precision_policy("float32"):
            gan = build_gan(xla_config(jit_compile), IMAGE_SHAPE)
        assert gan.jit_compile is jit_compile
        same_noise_either_way(gan)
        fit(gan, make_dataset(False), epochs=2)
        trained[jit_compile] = gan
    # Fused kernels round differently, but they compute the same step.
    pairs = zip(snapshot(trained[False].weights), snapshot(trained[True].weights), strict=True)
    for plain, xla in pairs:
        np.testing.assert_allclose(xla, plain, rtol=1e-3, atol=1e-5)

    with precision_policy("float32"):
        gan = build_gan(xla_config(True), IMAGE_SHAPE)
    fit(gan, make_dataset(False))
    gan.save(tmp_path / "xla.keras")
    loaded = keras.models.load_model(tmp_path / "xla.keras")
    assert loaded.jit_compile is True  # a resumed run keeps its compiled step
    fit(gan, make_dataset(False))
    fit(loaded, make_dataset(False))
    assert all_equal(snapshot(loaded.weights), snapshot(gan.weights))


def test_xla_is_left_to_float32_steps_and_asked_for_with_a_bool():
    from gan_kit.config import TrainConfig
    from gan_kit.families import build_gan
    from gan_kit.runs import precision_policy

    with precision_policy("mixed_bfloat16"):
        gan = build_gan(xla_config(True), IMAGE_SHAPE)
    assert gan.jit_compile is False
    with pytest.raises(ValueError, match="jit_compile must be true or false"):
        TrainConfig(jit_compile="yes").validate()
