"""Toy games and low-dimensional GANs: the course's experiments that run in seconds.

Two kinds of toy:

* `bilinear_game`: the two-player game min_x max_y x * y, played with simultaneous or
  alternating gradient steps, the smallest example of why GAN training can circle or diverge.
* `train_toy_gan` / `train_ring_gan`: the kit's own `GAN` (MLP family, built from a
  `TrainConfig` by `gan_kit.families.build_gan`) trained on 1-D or 2-D points, e.g. the ring
  of Gaussians (Metz et al. 2016, arXiv:1611.02163), with snapshots of the generated points
  and mode coverage along the way. A point of dimension d is fed to the networks as a
  (1, d, 1) "image", so the same code that trains MNIST trains the toys.

The MLP generator ends in tanh, so points live in [-1, 1] inside the networks: the data are
divided by `scale` on the way in and samples multiplied by it on the way out.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import keras
import numpy as np
import tensorflow as tf

from gan_kit import data
from gan_kit.config import TrainConfig
from gan_kit.families import build_gan
from gan_kit.gan import GAN

# --------------------------------------------------------------------------- bilinear game


def bilinear_game(
    x0: float = 1.0,
    y0: float = 1.0,
    learning_rate: float = 0.1,
    steps: int = 100,
    update: str = "simultaneous",
) -> np.ndarray:
    """Gradient play on V(x, y) = x * y: x descends V, y ascends it.

    The only equilibrium is (0, 0). With step size a:
    ```
    simultaneous:  x' = x - a * y,   y' = y + a * x      (both read the old point)
    alternating:   x' = x - a * y,   y' = y + a * x'     (y reads the new x)
    ```
    Simultaneous steps multiply the distance to the equilibrium by sqrt(1 + a^2) every step,
    so the players spiral outwards. The alternating map has determinant 1: for a < 2 the
    iterates stay on a closed ellipse, bounded but never converging. GANs are trained with
    both: Algorithm 1 of Goodfellow et al. 2014 alternates, the TF tutorial's fused step is
    simultaneous (analysis: Mescheder et al. 2017, arXiv:1705.10461; Gidel et al. 2019,
    arXiv:1807.04740).

    Args:
        x0, y0: starting point.
        learning_rate: step size a > 0.
        steps: number of updates.
        update: "simultaneous" or "alternating".

    Returns:
        float64 (steps + 1, 2): the points (x_t, y_t), the start first.
    """
    if update not in ("simultaneous", "alternating"):
        raise ValueError(f"update must be 'simultaneous' or 'alternating', got {update!r}")
    if learning_rate <= 0:
        raise ValueError(f"learning_rate must be positive, got {learning_rate}")
    if not isinstance(steps, int) or steps < 0:
        raise ValueError(f"steps must be a non-negative integer, got {steps!r}")
    path = np.empty((steps + 1, 2))
    x, y = float(x0), float(y0)
    path[0] = x, y
    for t in range(1, steps + 1):
        if update == "simultaneous":
            x, y = x - learning_rate * y, y + learning_rate * x
        else:
            x = x - learning_rate * y
            y = y + learning_rate * x
        path[t] = x, y
    return path


# --------------------------------------------------------------------------- toy GANs


def toy_config(**overrides) -> TrainConfig:
    """The course's small MLP GAN for 1-D and 2-D points; `overrides` replace fields.

    Two hidden layers of 128 units in each network (one is too weak for eight modes), a
    LeakyReLU discriminator, 8-d normal noise, Adam 1e-3 with beta_1 = 0.5, batch 256.
    `epochs` is not used: `train_toy_gan` counts steps.
    """
    config = TrainConfig(
        model="mlp",
        dataset="toy",
        latent_dim=8,
        generator_kwargs={"hidden_units": (128, 128)},
        discriminator_kwargs={"hidden_units": (128, 128), "activation": "leaky_relu"},
        d_learning_rate=1e-3,
        g_learning_rate=1e-3,
        batch_size=256,
        epochs=1,
        description="toy MLP GAN on low-dimensional points",
    )
    return dataclasses.replace(config, **overrides).validate()


@dataclass
class ToyRun:
    """What `train_toy_gan` returns.

    Attributes:
        steps: the training step of each snapshot, starting with 0 (before training).
        samples: generated points at each snapshot, (num_samples, d) in data units, always
            from the same fixed z.
        history: per snapshot interval, the mean d_loss, g_loss, d_real = D(x) and
            d_fake = D(G(z)) over its steps (keys as in `viz.plot_history`).
        gan: the trained model.
        scale: data units per network unit.
        coverage: per snapshot, `ring_coverage` (filled by `train_ring_gan`).
    """

    steps: list[int]
    samples: list[np.ndarray]
    history: dict[str, list[float]]
    gan: GAN
    scale: float
    coverage: list[dict] = field(default_factory=list)


class _Snapshots(keras.callbacks.Callback):
    def __init__(self, z: np.ndarray, scale: float, every: int, run: ToyRun):
        super().__init__()
        self.z, self.scale, self.every, self.run = z, scale, every, run

    def on_epoch_end(self, epoch, logs=None):
        for key in self.run.history:
            self.run.history[key].append(float(logs[key]))
        self.run.steps.append((epoch + 1) * self.every)
        self.run.samples.append(_generate(self.model, self.z, self.scale))


def _generate(gan: GAN, z: np.ndarray, scale: float) -> np.ndarray:
    images = gan.generate(z=z)  # (n, 1, d, 1)
    return images.reshape(len(z), -1) * scale


def train_toy_gan(
    points: np.ndarray,
    config: TrainConfig | None = None,
    *,
    steps: int = 2000,
    snapshot_every: int = 200,
    scale: float = 1.0,
    num_samples: int = 1000,
    anneal_instance_noise: bool = True,
    verbose: int = 0,
) -> ToyRun:
    """Train the kit's GAN on low-dimensional points with `fit`, keeping snapshots.

    Args:
        points: data samples (n, d), d >= 1 (1-D data may be given as (n,)).
        config: a `TrainConfig` of the "mlp" family (default `toy_config()`); its seed fixes
            the weights, the noise and the data order, so the same config gives the same run.
        steps: training steps (one discriminator and one generator update each when
            n_critic = 1); a multiple of `snapshot_every`.
        snapshot_every: steps between snapshots (Keras "epochs" of this many steps).
        scale: the data are divided by it so that they fit tanh's (-1, 1).
        num_samples: generated points per snapshot.
        anneal_instance_noise: with `config.instance_noise > 0`, anneal it linearly to 0 over
            `steps`; False keeps it constant.

    Returns:
        A `ToyRun`.
    """
    config = config or toy_config()
    if config.model != "mlp":
        raise ValueError(f"toy GANs use the 'mlp' family; got model={config.model!r}")
    if snapshot_every < 1 or steps < snapshot_every or steps % snapshot_every:
        raise ValueError(
            f"steps ({steps}) must be a positive multiple of snapshot_every ({snapshot_every})"
        )
    points = np.asarray(points, dtype=np.float32)
    if points.ndim == 1:
        points = points[:, None]
    if points.ndim != 2 or len(points) < config.batch_size:
        raise ValueError(
            f"points must be (n, d) with n >= batch_size ({config.batch_size}); "
            f"got shape {points.shape}"
        )
    dim = points.shape[1]
    keras.utils.set_random_seed(config.seed)
    gan = build_gan(
        config,
        (1, dim, 1),
        instance_noise_steps=steps if anneal_instance_noise else None,
    )
    dataset = (
        tf.data.Dataset.from_tensor_slices((points / scale).reshape(-1, 1, dim, 1))
        .shuffle(len(points), seed=config.seed, reshuffle_each_iteration=True)
        .repeat()
        .batch(config.batch_size, drop_remainder=True)
        .prefetch(2)
    )
    z = gan.sample_latent(num_samples, seed=config.seed + 1)
    run = ToyRun(
        steps=[0],
        samples=[_generate(gan, z, scale)],
        history={"d_loss": [], "g_loss": [], "d_real": [], "d_fake": []},
        gan=gan,
        scale=scale,
    )
    gan.fit(
        dataset,
        epochs=steps // snapshot_every,
        steps_per_epoch=snapshot_every,
        callbacks=[_Snapshots(z, scale, snapshot_every, run)],
        shuffle=False,  # the dataset shuffles itself; Keras would warn about its own flag
        verbose=verbose,
    )
    return run


def discriminator_probability(gan: GAN, x: np.ndarray, scale: float = 1.0) -> np.ndarray:
    """D(x) = sigmoid(logit) of a toy GAN's discriminator at points x (n, d) or (n,): (n,)."""
    x = np.asarray(x, dtype=np.float32)
    if x.ndim == 1:
        x = x[:, None]
    logits = gan.discriminator(x.reshape(len(x), 1, -1, 1) / scale, training=False)
    return 1.0 / (1.0 + np.exp(-keras.ops.convert_to_numpy(logits).reshape(-1)))


def ring_coverage(
    points: np.ndarray,
    num_modes: int = 8,
    radius: float = 2.0,
    max_distance: float = 0.2,
    min_share: float = 0.02,
) -> dict:
    """How many modes of the ring the points cover, and how many points are good.

    A point is "high quality" when it lies within `max_distance` of its nearest centre; a mode
    is covered when at least `min_share` of all points are high-quality points of that mode
    (the protocol of VEEGAN, Srivastava et al. 2017, with its 3-std radius loosened for short
    CPU runs).

    Returns:
        {"modes_covered": int, "high_quality": share in [0, 1], "counts": int array
        (num_modes,) of high-quality points per mode}.
    """
    points = np.asarray(points, dtype=np.float32)
    if points.ndim != 2 or points.shape[1] != 2 or len(points) == 0:
        raise ValueError(f"points must be (n, 2) with n >= 1, got shape {points.shape}")
    index, distance = data.nearest_mode(points, data.ring_centers(num_modes, radius))
    good = distance <= max_distance
    counts = np.bincount(index[good], minlength=num_modes)
    return {
        "modes_covered": int(np.sum(counts >= min_share * len(points))),
        "high_quality": float(good.mean()),
        "counts": counts,
    }


def train_ring_gan(
    config: TrainConfig | None = None,
    *,
    steps: int = 2000,
    snapshot_every: int = 200,
    num_modes: int = 8,
    radius: float = 2.0,
    std: float = 0.05,
    num_points: int = 10_000,
    num_samples: int = 1000,
    anneal_instance_noise: bool = True,
    verbose: int = 0,
) -> ToyRun:
    """`train_toy_gan` on the ring of `num_modes` Gaussians, with `ring_coverage` per snapshot.

    The data are `data.sample_ring(num_points, num_modes, radius, std, seed=config.seed)`,
    scaled by 1.25 * radius into the generator's range.
    """
    config = config or toy_config()
    points = data.sample_ring(num_points, num_modes, radius, std, seed=config.seed)
    run = train_toy_gan(
        points,
        config,
        steps=steps,
        snapshot_every=snapshot_every,
        scale=1.25 * radius,
        num_samples=num_samples,
        anneal_instance_noise=anneal_instance_noise,
        verbose=verbose,
    )
    run.coverage = [
        ring_coverage(s, num_modes, radius, max_distance=max(4 * std, 0.1 * radius))
        for s in run.samples
    ]
    return run
