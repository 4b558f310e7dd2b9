"""Presets and their configuration: every preset validates, builds networks that make images of
its shape and trains one real step; the preset table; TrainConfig's round trips and checks."""

from __future__ import annotations

import dataclasses
import json

import keras
import numpy as np
import pytest
import tensorflow as tf

from gan_kit import families
from gan_kit.config import TrainConfig
from gan_kit.presets import PRESETS, format_presets, get_preset

# The shape a dataset trains at when its preset gives none (its native shape in gan_kit.data),
# pinned here so that these tests do not depend on the data module.
NATIVE_SHAPES = {"mnist": (28, 28, 1), "fashion_mnist": (28, 28, 1), "cifar10": (32, 32, 3)}
NUM_CLASSES = 10  # the conditional presets train on MNIST's ten digits
BATCH = 2

# Nothing is shrunk: the largest presets, the 64x64 DCGANs (about 19M + 4M weights), take about
# 2 s for one eager step of 2 images on two CPU cores, under the 5 s at which a test would
# shrink them with dataclasses.replace (e.g. base_filters 8: other widths, the same shapes).


def image_shape_of(config: TrainConfig) -> tuple[int, int, int]:
    return tuple(config.image_shape or NATIVE_SHAPES[config.dataset])


def num_classes_of(config: TrainConfig) -> int | None:
    return NUM_CLASSES if config.conditional else None


# ============================================================================= presets
@pytest.mark.parametrize("name", PRESETS)
def test_preset_config_validates(name):
    preset = PRESETS[name]
    assert preset.name == name
    assert preset.source
    assert preset.config.validate() is preset.config


@pytest.mark.parametrize("name", PRESETS)
def test_preset_builds_its_networks_and_trains_one_step(name, monkeypatch):
    config = PRESETS[name].config
    image_shape, num_classes = image_shape_of(config), num_classes_of(config)
    keras.utils.set_random_seed(0)
    generator, discriminator = families.build_networks(config, image_shape, num_classes)
    assert tuple(generator.output.shape) == (None, *image_shape)
    assert tuple(discriminator.output.shape) == (None, 1)
    assert generator.inputs[0].shape[-1] == config.latent_dim
    # A conditional pair takes (input, labels); an unconditional one its input only.
    assert len(generator.inputs) == len(discriminator.inputs) == (2 if config.conditional else 1)

    # build_gan adds the run's GAN, optimizers and loss to build_networks' pair: hand it the
    # pair just checked rather than building the (up to 23M-weight) networks twice.
    monkeypatch.setattr(families, "build_networks", lambda *args: (generator, discriminator))
    gan = families.build_gan(config, image_shape, num_classes, total_steps=100)
    assert gan.generator is generator
    gan.run_eagerly = True  # one step of these networks costs less than tracing it

    images = np.random.default_rng(0).uniform(-1, 1, (BATCH, *image_shape)).astype("float32")
    data = (images, np.arange(BATCH, dtype="int32")) if num_classes else images
    history = gan.fit(
        tf.data.Dataset.from_tensor_slices(data).batch(BATCH), epochs=1, verbose=0, shuffle=False
    ).history

    assert sorted(history) == ["d_fake", "d_loss", "d_real", "g_loss"]
    assert all(np.isfinite(values[0]) for values in history.values())
    assert int(gan.d_optimizer.iterations) == config.n_critic
    assert int(gan.g_optimizer.iterations) == 1
    assert type(gan.d_optimizer).__name__.lower() == config.optimizer  # Adam, RMSprop, SGD
    assert gan.loss_name == config.loss


def test_format_presets_lists_every_preset_with_its_source():
    lines = format_presets().splitlines()
    for name, preset in PRESETS.items():
        config = preset.config
        [row] = [i for i, line in enumerate(lines) if line.startswith(f"{name} ")]
        assert f"{config.model} on {config.dataset}, {config.loss}" in lines[row]
        assert lines[row + 1].strip() == f"source: {preset.source}"


def test_get_preset_returns_the_preset_and_names_the_choices_otherwise():
    assert get_preset("demo") is PRESETS["demo"]
    with pytest.raises(ValueError, match="unknown preset 'nope'") as error:
        get_preset("nope")
    for name in PRESETS:
        assert name in str(error.value)


# ======================================================================== TrainConfig
# Every field away from its default, so a field lost on the way would show. (Not a run that
# validates: fused refuses n_critic 5.)
CUSTOM = TrainConfig(
    model="wgan",
    dataset="cifar10",
    image_shape=(32, 32, 3),
    conditional=True,
    latent_dim=64,
    latent_distribution="uniform",
    mixture_components=12,
    mixture_scale=4.0,
    generator_kwargs={"base_filters": 32, "kernel_size": 4},
    discriminator_kwargs={"normalization": "layer"},
    loss="wasserstein",
    n_critic=5,
    gp_weight=10.0,
    clip_value=0.01,
    label_smoothing=0.1,
    instance_noise=0.05,
    ema_decay=0.999,
    fused=True,
    jit_compile=True,
    optimizer="rmsprop",
    d_learning_rate=1e-4,
    g_learning_rate=5e-5,
    beta_1=0.0,
    beta_2=0.9,
    momentum=0.9,
    lr_schedule="linear",
    batch_size=32,
    epochs=3,
    time_budget=2.5,
    train_limit=1000,
    seed=7,
    grid_size=4,
    eval_every=2,
    eval_samples=500,
    precision="mixed_bfloat16",
    deterministic=True,
    strategy="multi_worker",
    description="every field set",
)


def test_custom_config_sets_every_field():
    # Fails when TrainConfig gains a field: give it a non-default value in CUSTOM.
    for field in dataclasses.fields(TrainConfig):
        default = field.default_factory() if field.default is dataclasses.MISSING else field.default
        assert getattr(CUSTOM, field.name) != default, field.name


def test_config_round_trips_through_dict_and_json(tmp_path):
    assert TrainConfig.from_dict(CUSTOM.to_dict()) == CUSTOM
    CUSTOM.save(tmp_path / "config.json")
    assert TrainConfig.load(tmp_path / "config.json") == CUSTOM
    # The file is plain JSON: image_shape as a list.
    assert json.loads((tmp_path / "config.json").read_text())["image_shape"] == [32, 32, 3]


@pytest.mark.parametrize("name", PRESETS)
def test_preset_config_survives_save_and_load(tmp_path, name):
    config = PRESETS[name].config
    assert TrainConfig.from_dict(config.to_dict()) == config
    config.save(tmp_path / "config.json")
    assert TrainConfig.load(tmp_path / "config.json") == config


@pytest.mark.parametrize(
    "field, value",
    [
        ("epochs", 0),
        ("batch_size", -1),
        ("latent_distribution", "gaussian"),
        ("precision", "fp8"),
        ("label_smoothing", 1.0),
        ("deterministic", "yes"),
        ("strategy", "tpu"),
    ],
)
def test_validate_names_the_bad_field_and_value(field, value):
    config = dataclasses.replace(TrainConfig(), **{field: value})
    with pytest.raises(ValueError, match=field) as error:
        config.validate()
    assert repr(value) in str(error.value) or str(value) in str(error.value)


def test_validate_refuses_fused_with_several_critic_steps():
    with pytest.raises(ValueError, match="fused"):
        TrainConfig(fused=True, n_critic=5).validate()


def test_default_config_validates():
    assert TrainConfig().validate() == TrainConfig()


def test_from_dict_refuses_unknown_fields():
    data = {**TrainConfig().to_dict(), "learning_rate": 1e-3}
    with pytest.raises(ValueError, match="learning_rate"):
        TrainConfig.from_dict(data)


@pytest.mark.parametrize("minutes", [0, -1.0, True, "5"])
def test_time_budget_is_a_positive_number_of_minutes(minutes):
    with pytest.raises(ValueError, match="time_budget is minutes of training"):
        TrainConfig(time_budget=minutes).validate()
