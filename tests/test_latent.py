"""Latent-space tools: every formula against NumPy, the pictures' shapes and files, class morphs
through both label encodings, and inversion of images a generator made itself.

Networks are tiny and untrained; nothing here reads a dataset.
"""

from __future__ import annotations

import keras
import numpy as np
import pytest
from PIL import Image

from gan_kit import latent
from gan_kit.gan import GAN
from gan_kit.models import (
    build_dcgan_generator,
    build_mlp_discriminator,
    build_mlp_generator,
)

LATENT_DIM = 8
NUM_CLASSES = 3
MLP_SHAPE = (8, 8, 1)
# 16 = 4 * 2**2: the smallest DCGAN generator with a batch-norm block between its convolutions.
DCGAN_SHAPE = (16, 16, 1)


def make_gan(generator: keras.Model, num_classes: int | None = None, **kwargs) -> GAN:
    discriminator = build_mlp_discriminator(
        image_shape=tuple(generator.outputs[0].shape[1:]),
        hidden_units=(4,),
        num_classes=num_classes,
    )
    return GAN(generator, discriminator, **kwargs)


def mlp_generator(num_classes=None, latent_dim=LATENT_DIM, hidden_units=(32,)) -> keras.Model:
    return build_mlp_generator(
        latent_dim=latent_dim,
        image_shape=MLP_SHAPE,
        hidden_units=hidden_units,
        num_classes=num_classes,
    )


def dcgan_generator(num_classes=None) -> keras.Model:
    generator = build_dcgan_generator(
        latent_dim=LATENT_DIM,
        image_shape=DCGAN_SHAPE,
        base_filters=4,
        kernel_size=3,
        num_classes=num_classes,
        embedding_dim=4,
    )
    # DCGAN's N(0, 0.02) weights make an untrained generator's images ~1e-3 everywhere and
    # two classes differ by ~1e-5, which would let a 1e-5 comparison pass by accident.
    # Larger kernels and embeddings (not the 1-D batch-norm vectors) make the labels matter.
    generator.set_weights([w * 25.0 if w.ndim >= 2 else w for w in generator.get_weights()])
    return generator


@pytest.fixture(scope="module")
def mlp_gan() -> GAN:
    keras.utils.set_random_seed(0)
    return make_gan(mlp_generator())


@pytest.fixture(scope="module")
def rng() -> np.random.Generator:
    return np.random.default_rng(0)


# ----------------------------------------------------------------------------- lerp / slerp
def test_lerp_endpoints_and_midpoint(rng):
    z0, z1 = rng.standard_normal((2, 5))
    np.testing.assert_allclose(latent.lerp(z0, z1, 0.0), z0)
    np.testing.assert_allclose(latent.lerp(z0, z1, 1.0), z1)
    np.testing.assert_allclose(latent.lerp(z0, z1, 0.5), (z0 + z1) / 2)


def test_slerp_endpoints(rng):
    z0, z1 = rng.standard_normal((2, 5))
    path = latent.slerp(z0, z1, [0.0, 1.0])
    np.testing.assert_allclose(path[0], z0, atol=1e-12)
    np.testing.assert_allclose(path[1], z1, atol=1e-12)


def test_slerp_formula_on_the_unit_circle():
    # For orthonormal e1, e2 the angle is pi/2 and slerp(t) = (cos(t pi/2), sin(t pi/2)).
    t = np.linspace(0.0, 1.0, 7)
    expected = np.stack([np.cos(t * np.pi / 2), np.sin(t * np.pi / 2)], axis=1)
    np.testing.assert_allclose(latent.slerp([1.0, 0.0], [0.0, 1.0], t), expected, atol=1e-12)


def test_slerp_keeps_the_norm_lerp_does_not():
    r = 3.0
    z0, z1 = np.array([r, 0.0, 0.0]), np.array([0.0, r, 0.0])
    assert np.linalg.norm(latent.slerp(z0, z1, 0.5)) == pytest.approx(r)
    assert np.linalg.norm(latent.lerp(z0, z1, 0.5)) == pytest.approx(r / np.sqrt(2))
    norms = np.linalg.norm(latent.slerp(z0, z1, np.linspace(0, 1, 11)), axis=1)
    np.testing.assert_allclose(norms, r)


@pytest.mark.parametrize("factor", [2.0, 1.0, -1.0, 0.0])
def test_slerp_falls_back_to_lerp_for_parallel_or_zero_vectors(rng, factor):
    z0 = rng.standard_normal(4)
    z1 = factor * z0  # parallel, equal, anti-parallel, zero: sin(w) = 0 or w undefined
    t = np.linspace(0.0, 1.0, 5)
    path = latent.slerp(z0, z1, t)
    assert np.all(np.isfinite(path))
    np.testing.assert_allclose(path, latent.lerp(z0, z1, t), atol=1e-12)


@pytest.mark.parametrize("method", [latent.lerp, latent.slerp])
def test_shape_rules(rng, method):
    d, n, steps = 6, 4, 5
    a, b = rng.standard_normal((2, d))
    batch_a, batch_b = rng.standard_normal((2, n, d))
    t = np.linspace(0.0, 1.0, steps)
    assert method(a, b, 0.3).shape == (d,)
    assert method(a, b, t).shape == (steps, d)
    assert method(batch_a, batch_b, 0.3).shape == (n, d)
    out = method(batch_a, batch_b, t)
    assert out.shape == (steps, n, d)
    # Row i of a batch interpolates between row i of the ends alone.
    np.testing.assert_allclose(out[:, 2], method(batch_a[2], batch_b[2], t), atol=1e-12)
    assert method(a.astype("float32"), b.astype("float32"), t).dtype == np.float32
    with pytest.raises(ValueError, match="one shape"):
        method(a, batch_b, t)
    with pytest.raises(ValueError, match="scalar or a vector"):
        method(a, b, np.zeros((2, 2)))


def test_interpolate_includes_both_ends(rng):
    z0, z1 = rng.standard_normal((2, LATENT_DIM)).astype("float32")
    for method in ("slerp", "lerp"):
        path = latent.interpolate(z0, z1, steps=8, method=method)
        assert path.shape == (8, LATENT_DIM)
        np.testing.assert_allclose(path[0], z0, atol=1e-6)
        np.testing.assert_allclose(path[-1], z1, atol=1e-6)
    with pytest.raises(ValueError, match="method"):
        latent.interpolate(z0, z1, method="cubic")
    with pytest.raises(ValueError, match="steps"):
        latent.interpolate(z0, z1, steps=1)


# ----------------------------------------------------------------------------- walks
def test_latent_walk_loops_through_the_points(rng):
    points, s = rng.standard_normal((4, LATENT_DIM)), 12
    walk = latent.latent_walk(points, steps_per_segment=s, loop=True)
    assert walk.shape == (4 * s, LATENT_DIM)
    np.testing.assert_allclose(walk[::s], points, atol=1e-12)  # frame k * s is point k
    # Continuous and seamless: every step, the wrap from the last frame to the first
    # included, is about a twelfth of a segment, never a jump across one.
    steps = np.linalg.norm(np.diff(walk, axis=0, append=walk[:1]), axis=1)
    chords = np.linalg.norm(np.roll(points, -1, axis=0) - points, axis=1)
    assert steps.max() < 2 * chords.max() / s
    assert steps[-1] < 2 * chords[-1] / s

    open_walk = latent.latent_walk(points, steps_per_segment=s, loop=False, method="lerp")
    assert open_walk.shape == (3 * s + 1, LATENT_DIM)
    np.testing.assert_allclose(open_walk[-1], points[-1])


def test_latent_walk_of_several_walks(rng):
    points = rng.standard_normal((3, 2, LATENT_DIM))
    walk = latent.latent_walk(points, steps_per_segment=5)
    assert walk.shape == (15, 2, LATENT_DIM)
    np.testing.assert_allclose(walk[:, 1], latent.latent_walk(points[:, 1], 5), atol=1e-12)


# ----------------------------------------------------------------------------- pictures
def test_interpolation_strip_shapes_ends_and_determinism(mlp_gan):
    z = mlp_gan.sample_latent(2, seed=1)
    strip = latent.interpolation_strip(mlp_gan, z[0], z[1], steps=6)
    assert strip.shape == (6, *MLP_SHAPE) and strip.dtype == np.float32
    np.testing.assert_allclose(strip[[0, -1]], mlp_gan.generate(z=z), atol=1e-6)
    np.testing.assert_array_equal(strip, latent.interpolation_strip(mlp_gan, z[0], z[1], 6))

    z1 = mlp_gan.sample_latent(3, seed=2)
    strips = latent.interpolation_strip(mlp_gan, mlp_gan.sample_latent(3, seed=1), z1, 6)
    assert strips.shape == (3, 6, *MLP_SHAPE)
    np.testing.assert_allclose(strips[:, -1], mlp_gan.generate(z=z1), atol=1e-6)


def test_save_interpolation_strip_rows(mlp_gan, tmp_path):
    z0, z1 = mlp_gan.sample_latent(3, seed=1), mlp_gan.sample_latent(3, seed=2)
    path = latent.save_interpolation_strip(mlp_gan, tmp_path / "strip.png", z0, z1, steps=5)
    with Image.open(path) as image:
        # 3 rows x 5 cells of 8 px scaled x2, 2-px padding: see viz.make_grid.
        assert image.size == (5 * (16 + 2) + 2, 3 * (16 + 2) + 2)


def test_latent_walk_gif_has_one_frame_per_step(mlp_gan, tmp_path):
    path = latent.save_latent_walk_gif(
        mlp_gan, tmp_path / "walk.gif", n_points=3, steps_per_segment=4, seed=0, scale=2
    )
    with Image.open(path) as gif:
        assert gif.n_frames == 12
        assert gif.size == (16, 16)
    again = latent.save_latent_walk_gif(
        mlp_gan, tmp_path / "again.gif", n_points=3, steps_per_segment=4, seed=0, scale=2
    )
    assert path.read_bytes() == again.read_bytes()


# ----------------------------------------------------------------------------- class morphs
@pytest.mark.parametrize("family", ["mlp", "dcgan"])
def test_class_interpolation_ends_are_the_two_classes(family):
    keras.utils.set_random_seed(1)
    generator = mlp_generator(NUM_CLASSES) if family == "mlp" else dcgan_generator(NUM_CLASSES)
    gan = make_gan(generator, NUM_CLASSES)
    z = gan.sample_latent(2, seed=3)
    images = latent.class_interpolation(gan, z, class_a=0, class_b=2, steps=5)
    assert images.shape == (2, 5, *generator.outputs[0].shape[1:])

    image_a = keras.ops.convert_to_numpy(generator([z, np.full(2, 0)], training=False))
    image_b = keras.ops.convert_to_numpy(generator([z, np.full(2, 2)], training=False))
    assert np.abs(image_a - image_b).max() > 1e-2  # the labels matter, so the check has teeth
    np.testing.assert_allclose(images[:, 0], image_a, atol=1e-5)
    np.testing.assert_allclose(images[:, -1], image_b, atol=1e-5)
    # One z gives one morph, (steps, H, W, C).
    np.testing.assert_allclose(latent.class_interpolation(gan, z[0], 0, 2, 5), images[0])


@pytest.mark.parametrize(
    ("family", "layer_name"), [("mlp", "soft_label_one_hot"), ("dcgan", "soft_label_embedding")]
)
def test_soft_labels_mix_the_label_encoding(family, layer_name):
    keras.utils.set_random_seed(2)
    generator = mlp_generator(NUM_CLASSES) if family == "mlp" else dcgan_generator(NUM_CLASSES)
    soft = latent.conditional_generator_with_soft_labels(generator)
    encoding = keras.Model(soft.inputs, soft.get_layer(layer_name).output)
    t = 0.3
    weights = np.array([[1 - t, 0.0, t]], dtype="float32")
    z = np.zeros((1, LATENT_DIM), "float32")
    if family == "mlp":
        expected = weights  # the one-hot vector itself
    else:
        table = keras.ops.convert_to_numpy(generator.get_layer("label_embedding").embeddings)
        expected = (1 - t) * table[0:1] + t * table[2:3]  # (1 - t) E[a] + t E[b]
    np.testing.assert_allclose(encoding([z, weights]), expected, atol=1e-6)
    # The layers are the generator's own: no weights were copied.
    assert {id(w) for w in soft.weights} == {id(w) for w in generator.weights}


def test_class_interpolation_uses_the_ema_generator():
    keras.utils.set_random_seed(3)
    gan = make_gan(mlp_generator(NUM_CLASSES), NUM_CLASSES, ema_decay=0.9)
    gan.ema_generator.set_weights([w + 0.1 for w in gan.generator.get_weights()])
    z = gan.sample_latent(1, seed=0)
    for use_ema, network in ((True, gan.ema_generator), (False, gan.generator)):
        images = latent.class_interpolation(gan, z[0], 1, 0, steps=3, use_ema=use_ema)
        np.testing.assert_allclose(images[-1:], network([z, np.zeros(1)], training=False), 1e-5)


def test_class_morph_files(tmp_path):
    keras.utils.set_random_seed(4)
    gan = make_gan(mlp_generator(NUM_CLASSES), NUM_CLASSES)
    z = gan.sample_latent(4, seed=0)
    gif = latent.save_class_morph_gif(gan, tmp_path / "morph.gif", z, 0, 1, steps=6, scale=1)
    with Image.open(gif) as image:
        assert image.n_frames == 2 * 6 - 2  # a -> b -> a, neither end repeated
        assert image.size == (2 * (8 + 2) + 2, 2 * (8 + 2) + 2)  # 4 images in a 2 x 2 grid
    png = latent.save_class_morph_strip(gan, tmp_path / "morph.png", z, 0, 1, steps=6, scale=1)
    with Image.open(png) as image:
        assert image.size == (6 * (8 + 2) + 2, 4 * (8 + 2) + 2)
    with pytest.raises(ValueError, match="class_b"):
        latent.class_interpolation(gan, z, 0, NUM_CLASSES)


def test_unsupported_generators_are_refused(mlp_gan):
    with pytest.raises(ValueError, match="not a conditional"):
        latent.conditional_generator_with_soft_labels(mlp_gan.generator)
    with pytest.raises(ValueError, match="not a conditional"):
        latent.class_interpolation(mlp_gan, np.zeros(LATENT_DIM), 0, 1)

    z = keras.Input((LATENT_DIM,), name="z")
    labels = keras.Input((), dtype="int32", name="labels")
    # Labels fed to the network as a number: no encoding layer to mix.
    as_number = keras.layers.Reshape((1,))(keras.ops.cast(labels, "float32"))
    outputs = keras.layers.Dense(4)(keras.layers.Concatenate()([z, as_number]))
    with pytest.raises(ValueError, match="cannot find one label encoding"):
        latent.conditional_generator_with_soft_labels(keras.Model([z, labels], outputs))
    # An embedding, but the labels also reach another layer directly.
    embedded = keras.layers.Embedding(NUM_CLASSES, 2)(labels)
    side = keras.layers.Reshape((1,), name="raw_labels")(labels)
    outputs = keras.layers.Concatenate()([z, embedded, keras.ops.cast(side, "float32")])
    with pytest.raises(ValueError, match="raw_labels"):
        latent.conditional_generator_with_soft_labels(keras.Model([z, labels], outputs))


# ----------------------------------------------------------------------------- arithmetic
def test_attribute_direction_and_apply_direction():
    z = np.array([[1.0, 0.0], [3.0, 0.0], [0.0, 2.0], [0.0, 4.0], [9.0, 9.0]])
    groups = np.array(["neutral", "neutral", "smiling", "smiling", "other"])
    direction = latent.attribute_direction(z, groups, source="neutral", target="smiling")
    np.testing.assert_allclose(direction, [0.0, 3.0] - np.array([2.0, 0.0]))

    moved = latent.apply_direction(z[:2], direction, scales=[0.0, 1.0, -0.5])
    assert moved.shape == (3, 2, 2)
    np.testing.assert_allclose(moved[0], z[:2])
    np.testing.assert_allclose(moved[1], z[:2] + direction)
    np.testing.assert_allclose(moved[2], z[:2] - 0.5 * direction)
    # The mean of the source group lands on the mean of the target group at scale 1.
    np.testing.assert_allclose(latent.apply_direction(z[:2], direction, [1.0])[0].mean(0), [0, 3])
    with pytest.raises(ValueError, match="no members"):
        latent.attribute_direction(z, groups, source="neutral", target="frowning")


# ----------------------------------------------------------------------------- truncation
def test_truncated_normal_latents():
    z = latent.truncated_normal_latents(2000, 4, threshold=0.5, seed=0)
    assert z.shape == (2000, 4) and z.dtype == np.float32
    assert np.abs(z).max() <= 0.5
    np.testing.assert_array_equal(z, latent.truncated_normal_latents(2000, 4, 0.5, seed=0))
    spreads = [latent.truncated_normal_latents(2000, 4, c, seed=0).std() for c in (0.5, 1.0, 2.0)]
    assert spreads[0] < spreads[1] < spreads[2] < 1.0
    # Truncation of N(0, 1) at 0.5: variance 1 - 2 c phi(c) / (2 Phi(c) - 1) = 0.0800.
    assert z.var() == pytest.approx(0.0800, abs=0.005)
    untruncated = latent.truncated_normal_latents(5, 4, np.inf, seed=7)
    plain = np.random.default_rng(7).standard_normal((5, 4)).astype("float32")
    np.testing.assert_array_equal(untruncated, plain)  # inf: the prior itself
    with pytest.raises(ValueError, match="threshold"):
        latent.truncated_normal_latents(5, 4, 0.0)


def test_truncation_sweep_normal_and_uniform(mlp_gan):
    sweep = latent.truncation_sweep(mlp_gan, [0.5, np.inf], n=4, seed=1)
    assert list(sweep) == [0.5, np.inf]
    assert all(images.shape == (4, *MLP_SHAPE) for images in sweep.values())
    np.testing.assert_allclose(sweep[np.inf], mlp_gan.generate(4, seed=1), atol=1e-6)

    uniform = make_gan(mlp_gan.generator, latent_distribution="uniform")
    sweep = latent.truncation_sweep(uniform, [0.5, 2.0], n=4, seed=1)
    u = uniform.sample_latent(4, seed=1)
    np.testing.assert_allclose(sweep[0.5], uniform.generate(z=0.5 * u), atol=1e-6)
    np.testing.assert_allclose(sweep[2.0], uniform.generate(z=u), atol=1e-6)


# ----------------------------------------------------------------------------- inversion
@pytest.fixture(scope="module")
def inversion_case():
    """An untrained MLP generator, z (16) -> 8x8 images, and 6 images it made from known z*."""
    keras.utils.set_random_seed(5)
    gan = make_gan(mlp_generator(latent_dim=16, hidden_units=(64,)))
    z_star = gan.sample_latent(6, seed=123)
    return gan, z_star, gan.generate(z=z_star)


def test_invert_recovers_images_the_generator_made(inversion_case):
    gan, _, images = inversion_case
    result = latent.invert(gan, images, steps=300, restarts=4, seed=0)
    assert result["z"].shape == (6, 16)
    assert result["reconstructions"].shape == images.shape
    assert result["errors"].shape == (6,)
    assert result["restart_errors"].shape == (4, 6)
    # Measured: errors 9e-6 .. 5e-5 (without the prior term they fall to 1e-13 .. 4e-7: the
    # term costs a little fit), against 0.09 .. 0.24 between unrelated samples of this
    # generator; one start alone leaves two images at 2.5e-4 and 4.1e-4. The bounds below
    # keep a margin of 20x.
    unrelated = np.mean((images - gan.generate(6, seed=7)) ** 2, axis=(1, 2, 3))
    assert unrelated.mean() > 0.05
    assert result["errors"].max() < 1e-3
    assert result["errors"].mean() < unrelated.mean() / 100
    # The reported errors are the MSE of the returned reconstructions of the returned z.
    np.testing.assert_allclose(result["reconstructions"], gan.generate(z=result["z"]), atol=1e-6)
    mse = np.mean((result["reconstructions"] - images) ** 2, axis=(1, 2, 3))
    np.testing.assert_allclose(result["errors"], mse, rtol=1e-4, atol=1e-8)
    np.testing.assert_array_equal(result["errors"], result["restart_errors"].min(axis=0))


def test_invert_restarts_never_hurt_and_are_deterministic(inversion_case):
    gan, _, images = inversion_case
    single = latent.invert(gan, images, steps=150, restarts=1, seed=0)
    several = latent.invert(gan, images, steps=150, restarts=3, seed=0)
    # Start 0 is the same in both runs and each z descends alone, so start 0's errors agree
    # (up to float summation order in a larger batch) and the best of 3 is no worse.
    np.testing.assert_allclose(several["restart_errors"][0], single["errors"], rtol=1e-3)
    assert np.all(several["errors"] <= single["errors"] * (1 + 1e-3))
    again = latent.invert(gan, images, steps=150, restarts=3, seed=0)
    np.testing.assert_array_equal(again["z"], several["z"])
    other_seed = latent.invert(gan, images, steps=150, restarts=3, seed=1)
    assert not np.array_equal(other_seed["z"], several["z"])


def test_invert_conditional_and_uniform_priors():
    keras.utils.set_random_seed(6)
    gan = make_gan(mlp_generator(NUM_CLASSES), NUM_CLASSES, latent_distribution="uniform")
    labels = np.array([0, 1, 2, 1])
    images = gan.generate(z=gan.sample_latent(4, seed=9), labels=labels)
    result = latent.invert(gan, images, steps=200, restarts=2, labels=labels)
    assert np.abs(result["z"]).max() <= 1.0  # projected back into the prior's box
    assert result["errors"].max() < 1e-3
    with pytest.raises(ValueError, match="conditional"):
        latent.invert(gan, images, steps=1)


def test_invert_checks_the_image_shape(mlp_gan):
    with pytest.raises(ValueError, match="output shape"):
        latent.invert(mlp_gan, np.zeros((2, 16, 16, 1), "float32"), steps=1)
