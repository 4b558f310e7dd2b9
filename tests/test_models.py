"""Model builders: shapes, ranges, dtypes, fixed architecture numbers and argument checks."""

from __future__ import annotations

import keras
import numpy as np
import pytest
from keras import layers

from gan_kit.models import (
    build_dcgan_discriminator,
    build_dcgan_generator,
    build_mlp_critic,
    build_mlp_discriminator,
    build_mlp_generator,
    build_report_discriminator,
    build_report_generator,
    build_tutorial_discriminator,
    build_tutorial_generator,
    build_wgan_critic,
)

BATCH = 3
SMALL = {"base_filters": 4}  # keeps every convolutional network tiny; shapes do not depend on it


@pytest.fixture(autouse=True)
def _seed():
    keras.utils.set_random_seed(0)


@pytest.fixture
def mixed_bfloat16():
    keras.mixed_precision.set_global_policy("mixed_bfloat16")
    try:
        yield
    finally:
        keras.mixed_precision.set_global_policy("float32")


def _inputs(model: keras.Model, batch: int = BATCH) -> list[np.ndarray]:
    """Random inputs for each of the model's inputs: z ~ N(0, 1), images in [-1, 1], labels."""
    rng = np.random.default_rng(0)
    arrays = []
    for tensor in model.inputs:
        shape = (batch, *tensor.shape[1:])
        if "int" in str(tensor.dtype):
            arrays.append(np.arange(batch, dtype="int32") % 2)
        elif len(shape) == 2:
            arrays.append(rng.normal(size=shape).astype("float32"))
        else:
            arrays.append(rng.uniform(-1, 1, size=shape).astype("float32"))
    return arrays


def _call(model: keras.Model, arrays: list[np.ndarray]) -> np.ndarray:
    return keras.ops.convert_to_numpy(model(arrays if len(arrays) > 1 else arrays[0]))


# (id, builder, kwargs, expected input shapes, expected output shape without the batch axis)
GENERATORS = [
    ("mlp", build_mlp_generator, {"latent_dim": 8, "hidden_units": (16,)}, [(8,)], (28, 28, 1)),
    (
        "mlp-bn-nonsquare-rgb",
        build_mlp_generator,
        {"latent_dim": 8, "image_shape": (12, 20, 3), "hidden_units": (16, 16), "batch_norm": True},
        [(8,)],
        (12, 20, 3),
    ),
    (
        "mlp-cond",
        build_mlp_generator,
        {"latent_dim": 8, "hidden_units": (16,), "num_classes": 10},
        [(8,), ()],
        (28, 28, 1),
    ),
    ("dcgan-28", build_dcgan_generator, {"latent_dim": 8, **SMALL}, [(8,)], (28, 28, 1)),
    (
        "dcgan-32",
        build_dcgan_generator,
        {"latent_dim": 8, "image_shape": (32, 32, 3), **SMALL},
        [(8,)],
        (32, 32, 3),
    ),
    (
        "dcgan-64-leaky",
        build_dcgan_generator,
        {"latent_dim": 8, "image_shape": (64, 64, 3), "activation": "leaky_relu", **SMALL},
        [(8,)],
        (64, 64, 3),
    ),
    (
        "dcgan-cond",
        build_dcgan_generator,
        {"latent_dim": 8, "num_classes": 10, "embedding_dim": 4, **SMALL},
        [(8,), ()],
        (28, 28, 1),
    ),
    ("tutorial", build_tutorial_generator, {"latent_dim": 8}, [(8,)], (28, 28, 1)),
    (
        "report-28",
        build_report_generator,
        {"latent_dim": 8, "image_shape": (28, 28, 1)},
        [(8,)],
        (28, 28, 1),
    ),
    ("report-32", build_report_generator, {"latent_dim": 8}, [(8,)], (32, 32, 3)),
    (
        "report-cond",
        build_report_generator,
        {"latent_dim": 8, "image_shape": (28, 28, 1), "num_classes": 10},
        [(8,), ()],
        (28, 28, 1),
    ),
]

DISCRIMINATORS = [
    ("mlp", build_mlp_discriminator, {"hidden_units": (16,)}, [(28, 28, 1)]),
    (
        "mlp-leaky-dropout-nonsquare",
        build_mlp_discriminator,
        {"image_shape": (12, 20, 3), "activation": "leaky_relu", "dropout": 0.3},
        [(12, 20, 3)],
    ),
    (
        "mlp-cond",
        build_mlp_discriminator,
        {"hidden_units": (16,), "num_classes": 10},
        [(28, 28, 1), ()],
    ),
    ("mlp-critic", build_mlp_critic, {"hidden_units": (16,)}, [(28, 28, 1)]),
    ("dcgan-28", build_dcgan_discriminator, SMALL, [(28, 28, 1)]),
    ("dcgan-32", build_dcgan_discriminator, {"image_shape": (32, 32, 3), **SMALL}, [(32, 32, 3)]),
    (
        "dcgan-64-nobn-dropout",
        build_dcgan_discriminator,
        {"image_shape": (64, 64, 3), "batch_norm": False, "dropout": 0.3, **SMALL},
        [(64, 64, 3)],
    ),
    (
        "dcgan-cond",
        build_dcgan_discriminator,
        {"num_classes": 10, "embedding_dim": 4, **SMALL},
        [(28, 28, 1), ()],
    ),
    ("wgan-28", build_wgan_critic, SMALL, [(28, 28, 1)]),
    (
        "wgan-32-none",
        build_wgan_critic,
        {"image_shape": (32, 32, 3), "normalization": "none", **SMALL},
        [(32, 32, 3)],
    ),
    ("wgan-cond", build_wgan_critic, {"num_classes": 10, **SMALL}, [(28, 28, 1), ()]),
    ("tutorial", build_tutorial_discriminator, {}, [(28, 28, 1)]),
    ("report-28", build_report_discriminator, {}, [(28, 28, 1)]),
    ("report-32", build_report_discriminator, {"image_shape": (32, 32, 3)}, [(32, 32, 3)]),
    ("report-cond", build_report_discriminator, {"num_classes": 10}, [(28, 28, 1), ()]),
]


def _ids(table):
    return [row[0] for row in table]


@pytest.mark.parametrize(
    ("case", "builder", "kwargs", "in_shapes", "out_shape"), GENERATORS, ids=_ids(GENERATORS)
)
def test_generator_shapes_and_range(case, builder, kwargs, in_shapes, out_shape):
    generator = builder(**kwargs)
    assert isinstance(generator, keras.Model) and generator.name.endswith("generator")
    assert [tuple(t.shape[1:]) for t in generator.inputs] == in_shapes
    if len(in_shapes) == 2:
        assert str(generator.inputs[1].dtype) == "int32"
    images = _call(generator, _inputs(generator))
    assert images.shape == (BATCH, *out_shape)
    assert images.dtype == np.float32
    assert np.all(images >= -1.0) and np.all(images <= 1.0)


@pytest.mark.parametrize(
    ("case", "builder", "kwargs", "in_shapes"), DISCRIMINATORS, ids=_ids(DISCRIMINATORS)
)
def test_discriminator_shapes_and_logits(case, builder, kwargs, in_shapes):
    discriminator = builder(**kwargs)
    assert isinstance(discriminator, keras.Model)
    assert discriminator.name.endswith(("discriminator", "critic"))
    assert [tuple(t.shape[1:]) for t in discriminator.inputs] == in_shapes
    logits = _call(discriminator, _inputs(discriminator))
    assert logits.shape == (BATCH, 1)
    assert logits.dtype == np.float32
    assert np.all(np.isfinite(logits))
    # Raw logits/scores: the last layer is a linear Dense(1), never a sigmoid.
    last = discriminator.layers[-1]
    assert isinstance(last, layers.Dense) and last.activation is keras.activations.linear


def test_dcgan_64_generator_is_the_papers():
    """4x4x1024, then 512-256-128-3 filters, 5x5, stride 2: the DCGAN lecture's generator."""
    generator = build_dcgan_generator(latent_dim=100, image_shape=(64, 64, 3), base_filters=64)
    reshape = next(layer for layer in generator.layers if isinstance(layer, layers.Reshape))
    assert tuple(reshape.output.shape[1:]) == (4, 4, 1024)
    deconvs = [layer for layer in generator.layers if isinstance(layer, layers.Conv2DTranspose)]
    assert [layer.filters for layer in deconvs] == [512, 256, 128, 3]
    assert all(tuple(layer.kernel_size) == (5, 5) for layer in deconvs)
    assert all(tuple(layer.strides) == (2, 2) for layer in deconvs)


@pytest.mark.parametrize(("size", "start", "n"), [(28, 7, 2), (32, 4, 3), (64, 4, 4)])
def test_dcgan_depth_follows_image_size(size, start, n):
    generator = build_dcgan_generator(image_shape=(size, size, 1), **SMALL)
    reshape = next(layer for layer in generator.layers if isinstance(layer, layers.Reshape))
    assert tuple(reshape.output.shape[1:]) == (start, start, 4 * 2**n)
    discriminator = build_dcgan_discriminator(image_shape=(size, size, 1), **SMALL)
    convs = [layer for layer in discriminator.layers if isinstance(layer, layers.Conv2D)]
    assert [layer.filters for layer in convs] == [4 * 2**i for i in range(n)]
    assert tuple(convs[-1].output.shape[1:3]) == (start, start)


def test_tutorial_parameter_counts_match_the_tutorial():
    assert build_tutorial_generator(latent_dim=100).count_params() == 2_330_944
    assert build_tutorial_discriminator().count_params() == 212_865


def _kinds(model: keras.Model) -> list[type]:
    return [type(layer) for layer in model.layers]


@pytest.mark.parametrize(
    "generator",
    [
        lambda: build_mlp_generator(hidden_units=(16,), batch_norm=True),
        lambda: build_dcgan_generator(image_shape=(32, 32, 3), **SMALL),
        lambda: build_dcgan_generator(num_classes=10, **SMALL),
        build_tutorial_generator,
        lambda: build_report_generator(latent_dim=8),
    ],
    ids=["mlp-bn", "dcgan", "dcgan-cond", "tutorial", "report"],
)
def test_no_batch_norm_before_generator_output(generator):
    model = generator()
    kinds = _kinds(model)
    assert layers.BatchNormalization in kinds  # the hidden layers do have it
    # From the output layer (the last one with weights: Dense or convolution) to the end,
    # only reshape and tanh may follow.
    last_weighted = [i for i, layer in enumerate(model.layers) if layer.weights][-1]
    assert layers.BatchNormalization not in kinds[last_weighted:]


@pytest.mark.parametrize(("size", "n"), [(28, 2), (64, 4)])
@pytest.mark.parametrize("num_classes", [None, 10])
def test_no_batch_norm_in_first_discriminator_block(size, n, num_classes):
    model = build_dcgan_discriminator(image_shape=(size, size, 3), num_classes=num_classes, **SMALL)
    kinds = _kinds(model)
    second_conv = [i for i, kind in enumerate(kinds) if kind is layers.Conv2D][1]
    assert layers.BatchNormalization not in kinds[:second_conv]
    assert kinds.count(layers.BatchNormalization) == n - 1


@pytest.mark.parametrize("normalization", ["layer", "none"])
@pytest.mark.parametrize("num_classes", [None, 10])
def test_wgan_critic_has_no_batch_norm(normalization, num_classes):
    model = build_wgan_critic(
        image_shape=(32, 32, 3), normalization=normalization, num_classes=num_classes, **SMALL
    )
    kinds = _kinds(model)
    assert layers.BatchNormalization not in kinds
    # Per-sample layer norm on every block but the first (32x32: three blocks).
    expected = 2 if normalization == "layer" else 0
    assert kinds.count(layers.GroupNormalization) == expected


CONDITIONAL = [
    ("mlp-g", lambda: build_mlp_generator(hidden_units=(16,), num_classes=10)),
    ("dcgan-g", lambda: build_dcgan_generator(num_classes=10, **SMALL)),
    ("report-g", lambda: build_report_generator(image_shape=(28, 28, 1), num_classes=10)),
    ("mlp-d", lambda: build_mlp_discriminator(hidden_units=(16,), num_classes=10)),
    ("dcgan-d", lambda: build_dcgan_discriminator(num_classes=10, **SMALL)),
    ("wgan-c", lambda: build_wgan_critic(num_classes=10, **SMALL)),
    ("report-d", lambda: build_report_discriminator(num_classes=10)),
]


@pytest.mark.parametrize(("case", "build"), CONDITIONAL, ids=_ids(CONDITIONAL))
def test_label_changes_the_output(case, build):
    model = build()
    first = _inputs(model, batch=1)[0]
    same_input = np.repeat(first, 2, axis=0)  # one z (or image), two different labels
    outputs = _call(model, [same_input, np.array([3, 7], dtype="int32")])
    assert np.max(np.abs(outputs[0] - outputs[1])) > 1e-6


# (builder, kwargs, pattern that the message must match: what would work)
BAD_ARGUMENTS = [
    (build_mlp_generator, {"latent_dim": 0}, r"latent_dim must be an integer >= 1"),
    (build_dcgan_generator, {"latent_dim": 2.5}, r"latent_dim must be an integer >= 1"),
    (build_tutorial_generator, {"latent_dim": -1}, r"latent_dim must be an integer >= 1"),
    (build_report_generator, {"latent_dim": 0}, r"latent_dim must be an integer >= 1"),
    (build_mlp_generator, {"image_shape": (28, 28)}, r"\(H, W, C\) with H, W >= 1 and C in"),
    (build_mlp_discriminator, {"image_shape": (28, 28, 2)}, r"C in \{1, 3\}.*\(28, 28, 1\)"),
    (build_dcgan_generator, {"image_shape": (32, 32, 4)}, r"C in \{1, 3\}"),
    (build_wgan_critic, {"image_shape": (0, 0, 1)}, r"C in \{1, 3\}"),
    (build_dcgan_generator, {"image_shape": (30, 30, 1)}, r"near 30 that work: 24, 28, 32, 40"),
    (build_dcgan_discriminator, {"image_shape": (100, 100, 3)}, r"near 100 .*96, 112"),
    (build_wgan_critic, {"image_shape": (27, 27, 1)}, r"near 27 that work: .*24, 28"),
    (build_dcgan_generator, {"image_shape": (28, 32, 1)}, r"square images only.*\(28, 28, 1\)"),
    (build_dcgan_discriminator, {"image_shape": (64, 32, 3)}, r"square.*\(32, 32, 3\)"),
    (build_report_generator, {"image_shape": (30, 30, 3)}, r"multiples of 4.*\(32, 32, 3\)"),
    (build_report_discriminator, {"image_shape": (4, 4, 1)}, r"at least 8x8.*\(28, 28, 1\)"),
    (build_dcgan_generator, {"base_filters": 0}, r"base_filters must be an integer >= 1"),
    (build_dcgan_discriminator, {"base_filters": -8}, r"base_filters must be an integer >= 1"),
    (build_wgan_critic, {"base_filters": 0}, r"base_filters must be an integer >= 1"),
    (build_dcgan_generator, {"kernel_size": 0}, r"kernel_size must be an integer >= 1"),
    (build_dcgan_discriminator, {"kernel_size": 0}, r"kernel_size must be an integer >= 1"),
    (build_mlp_generator, {"num_classes": 1}, r"None \(unconditional\) or an integer >= 2"),
    (build_dcgan_discriminator, {"num_classes": 0}, r"an integer >= 2"),
    (build_report_discriminator, {"num_classes": 1}, r"an integer >= 2"),
    (build_dcgan_generator, {"activation": "tanh"}, r"one of \('relu', 'leaky_relu'\)"),
    (build_mlp_discriminator, {"activation": "elu"}, r"one of \('relu', 'leaky_relu'\)"),
    (build_mlp_discriminator, {"dropout": 1.0}, r"in \[0, 1\)"),
    (build_dcgan_discriminator, {"dropout": -0.1}, r"in \[0, 1\)"),
    (build_mlp_generator, {"hidden_units": (128, 0)}, r"integer >= 1 \(e.g. \(128,\)\)"),
    (build_mlp_discriminator, {"hidden_units": 128}, r"sequence of layer widths, e.g. \(128,\)"),
    (build_dcgan_generator, {"num_classes": 10, "embedding_dim": 0}, r"embedding_dim .* >= 1"),
    (build_wgan_critic, {"normalization": "batch"}, r"penalty.*one of \('layer', 'none'\)"),
    (build_wgan_critic, {"normalization": "instance"}, r"one of \('layer', 'none'\)"),
]


@pytest.mark.parametrize(
    ("builder", "kwargs", "pattern"),
    BAD_ARGUMENTS,
    ids=[f"{b.__name__}-{next(iter(k))}={next(iter(k.values()))!r}" for b, k, _ in BAD_ARGUMENTS],
)
def test_bad_arguments_say_what_would_work(builder, kwargs, pattern):
    with pytest.raises(ValueError, match=pattern):
        builder(**kwargs)


MIXED = [
    ("mlp-g-cond", lambda: build_mlp_generator(hidden_units=(16,), num_classes=10)),
    ("mlp-d-cond", lambda: build_mlp_discriminator(hidden_units=(16,), num_classes=10)),
    ("dcgan-g-cond", lambda: build_dcgan_generator(latent_dim=8, num_classes=10, **SMALL)),
    ("dcgan-d-cond", lambda: build_dcgan_discriminator(num_classes=10, **SMALL)),
    ("wgan-c", lambda: build_wgan_critic(**SMALL)),
    ("mlp-c", lambda: build_mlp_critic(hidden_units=(16,))),
    ("tutorial-g", lambda: build_tutorial_generator(latent_dim=8)),
    ("tutorial-d", build_tutorial_discriminator),
    ("report-g", lambda: build_report_generator(latent_dim=8)),
    ("report-d-cond", lambda: build_report_discriminator(num_classes=10)),
]


@pytest.mark.parametrize(("case", "build"), MIXED, ids=_ids(MIXED))
def test_outputs_stay_float32_under_mixed_precision(mixed_bfloat16, case, build):
    model = build()
    assert any(layer.compute_dtype == "bfloat16" for layer in model.layers)
    assert model.layers[-1].compute_dtype == "float32"
    outputs = _call(model, _inputs(model))
    assert outputs.dtype == np.float32


@pytest.mark.parametrize(
    "build",
    [
        lambda: build_mlp_generator(hidden_units=(16,), num_classes=10),
        lambda: build_wgan_critic(num_classes=10, **SMALL),
    ],
    ids=["mlp-g-cond", "wgan-c-cond"],
)
def test_saved_model_reloads_with_the_same_outputs(tmp_path, build):
    model = build()
    path = tmp_path / "model.keras"
    model.save(path)
    reloaded = keras.saving.load_model(path)
    arrays = _inputs(model)
    np.testing.assert_allclose(_call(reloaded, arrays), _call(model, arrays), rtol=1e-6)


def test_mixed_precision_fixture_restores_float32():
    assert keras.mixed_precision.global_policy().name == "float32"


@pytest.mark.parametrize(
    "normalization, kinds, params",
    [
        ("batch", ["Conv2D", "BatchNormalization", "LeakyReLU"], 4 * 4 * 3 * 8 + 4 * 8),
        ("none", ["Conv2D", "LeakyReLU"], 4 * 4 * 3 * 8 + 8),
        ("layer", ["Conv2D", "GroupNormalization", "LeakyReLU"], 4 * 4 * 3 * 8 + 8 + 2 * 8),
    ],
)
def test_dcgan_discriminator_block_halves_the_size(normalization, kinds, params):
    from gan_kit.models import dcgan_discriminator_block

    images = keras.Input((15, 15, 3))
    block = keras.Model(images, dcgan_discriminator_block(images, 8, 4, normalization))
    assert tuple(block.output.shape) == (None, 8, 8, 8)  # ceil(15 / 2)
    assert [type(layer).__name__ for layer in block.layers[1:]] == kinds
    assert block.count_params() == params
    assert block.layers[-1].negative_slope == pytest.approx(0.2)


def test_minibatch_std_channel_is_the_batch_spread():
    from gan_kit.models._common import MinibatchStdDev

    rng = np.random.default_rng(0)
    varied = rng.normal(size=(8, 7, 7, 3)).astype("float32")
    same = np.repeat(varied[:1], 8, axis=0)
    out_varied = np.asarray(MinibatchStdDev()(varied))
    out_same = np.asarray(MinibatchStdDev()(same))
    assert out_varied.shape == (8, 7, 7, 4)
    np.testing.assert_array_equal(out_varied[..., :3], varied)  # the input passes unchanged
    expected = np.sqrt(varied.var(axis=0) + 1e-8).mean()
    np.testing.assert_allclose(out_varied[..., 3], expected, rtol=1e-5)
    # A batch of one image repeated (a collapsed generator) shows no spread at all.
    assert np.abs(out_same[..., 3]).max() < 1e-3 < expected


def test_minibatch_std_discriminator_sees_batch_variety(tmp_path):
    discriminator = build_dcgan_discriminator(base_filters=4, kernel_size=4, minibatch_std=True)
    plain = build_dcgan_discriminator(base_filters=4, kernel_size=4)
    # One more input channel to the output layer: 7 * 7 more weights.
    assert discriminator.count_params() == plain.count_params() + 7 * 7
    images = np.random.default_rng(1).uniform(-1, 1, (6, 28, 28, 1)).astype("float32")
    alone = np.asarray(discriminator(images[:1], training=False))
    in_batch = np.asarray(discriminator(images, training=False))[:1]
    assert not np.allclose(alone, in_batch)  # the logit of one image depends on its batch
    discriminator.save(tmp_path / "d.keras")
    reloaded = keras.saving.load_model(tmp_path / "d.keras")
    np.testing.assert_allclose(
        reloaded(images, training=False), discriminator(images, training=False), rtol=1e-5
    )
