"""gan_kit.toy: the bilinear game's two update rules, and one short toy GAN run."""

import numpy as np
import pytest

from gan_kit import data, toy


def test_simultaneous_steps_spiral_out_by_sqrt_one_plus_a_squared():
    path = toy.bilinear_game(1.0, 0.0, learning_rate=0.1, steps=50, update="simultaneous")
    radius = np.linalg.norm(path, axis=1)
    np.testing.assert_allclose(radius, np.sqrt(1.01) ** np.arange(51))


def test_alternating_steps_stay_bounded_and_conserve_the_invariant():
    a = 0.1
    path = toy.bilinear_game(1.0, 0.0, learning_rate=a, steps=2000, update="alternating")
    x, y = path[:, 0], path[:, 1]
    # x' = x - a y, y' = y + a x' keeps x^2 + y^2 - a x y fixed (an ellipse).
    np.testing.assert_allclose(x**2 + y**2 - a * x * y, 1.0, rtol=1e-9)
    assert np.linalg.norm(path, axis=1).max() < 1.1


def test_first_steps_by_hand():
    np.testing.assert_allclose(
        toy.bilinear_game(1.0, 1.0, 0.5, 1, "simultaneous"), [[1, 1], [0.5, 1.5]]
    )
    np.testing.assert_allclose(
        toy.bilinear_game(1.0, 1.0, 0.5, 1, "alternating"), [[1, 1], [0.5, 1.25]]
    )


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"update": "jacobi"}, "update"),
        ({"learning_rate": 0.0}, "learning_rate"),
        ({"steps": -1}, "steps"),
    ],
)
def test_bilinear_game_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        toy.bilinear_game(**kwargs)


def test_ring_coverage_counts_modes_and_quality():
    centers = data.ring_centers(8, 2.0)
    points = np.concatenate([np.repeat(centers[:3], 10, axis=0), [[0.0, 0.0]] * 10])
    coverage = toy.ring_coverage(points, 8, 2.0, max_distance=0.1)
    assert coverage["modes_covered"] == 3
    assert coverage["high_quality"] == pytest.approx(0.75)
    assert coverage["counts"].tolist() == [10, 10, 10, 0, 0, 0, 0, 0]
    real = data.sample_ring(1000, 8, 2.0, std=0.05, seed=0)
    assert toy.ring_coverage(real, max_distance=0.2)["modes_covered"] == 8


def test_train_ring_gan_snapshots_history_and_determinism():
    config = toy.toy_config(batch_size=64, generator_kwargs={"hidden_units": (16,)})
    run = toy.train_ring_gan(config, steps=20, snapshot_every=10, num_points=256, num_samples=50)
    assert run.steps == [0, 10, 20]
    assert [s.shape for s in run.samples] == [(50, 2)] * 3
    assert set(run.history) == {"d_loss", "g_loss", "d_real", "d_fake"}
    assert all(len(v) == 2 and np.all(np.isfinite(v)) for v in run.history.values())
    assert len(run.coverage) == 3
    # generated points are in data units: inside the ring's bounding box scaled by 1.25
    assert np.abs(np.concatenate(run.samples)).max() <= 2.5
    again = toy.train_ring_gan(config, steps=20, snapshot_every=10, num_points=256, num_samples=50)
    np.testing.assert_array_equal(run.samples[-1], again.samples[-1])


def test_train_toy_gan_on_1d_points_and_discriminator_probability():
    config = toy.toy_config(batch_size=32, instance_noise=0.1)
    points = np.random.default_rng(0).normal(0.5, 0.1, size=128)
    run = toy.train_toy_gan(points, config, steps=4, snapshot_every=2, num_samples=20)
    assert run.samples[-1].shape == (20, 1)
    assert run.gan.instance_noise_steps == 4
    d = toy.discriminator_probability(run.gan, np.linspace(-1, 1, 7))
    assert d.shape == (7,) and np.all((d > 0) & (d < 1))


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"steps": 15, "snapshot_every": 10}, "multiple"),
        ({"config": toy.toy_config(model="dcgan")}, "mlp"),
    ],
)
def test_train_toy_gan_bad_arguments(kwargs, message):
    points = np.zeros((512, 2), np.float32)
    with pytest.raises(ValueError, match=message):
        toy.train_toy_gan(points, **kwargs)
