"""The latent space: interpolation, walks, class morphs, vector arithmetic, truncation, inversion.

A generator maps every z of its prior to an image, so paths and directions in z-space become
animations and edits of images. Everything here is a pure function of its arguments: latent
vectors come from the caller or from a `seed`, and files go to the `path` the caller gives.

    z = gan.sample_latent(2, seed=0)                       # (2, latent_dim)
    strip = interpolation_strip(gan, z[0], z[1], steps=10)  # (10, H, W, C) in [-1, 1]
    save_latent_walk_gif(gan, run_dir / "walk.gif", n_points=4, seed=0)
    result = invert(gan, images)                           # z, reconstructions, errors

Shapes: `D` is `latent_dim`, `N` a batch of latent vectors, `T` a number of interpolation
weights, `(H, W, C)` the image shape. Images are float32 in the generator's range [-1, 1].
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
from collections.abc import Sequence
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf
from keras import layers, ops
from numpy.typing import ArrayLike

from gan_kit import viz
from gan_kit.gan import GAN

PathLike = str | os.PathLike

# Below this sin(angle) the slerp weights are 0/0: an angle of 1e-6 rad separates slerp from
# lerp by ~1e-12 of the norm, far under float32 resolution, so lerp is exact enough there.
_PARALLEL_SIN = 1e-6


# --------------------------------------------------------------------------- interpolation


def _check_int(name: str, value: object, low: int) -> int:
    if isinstance(value, bool) or int(value) != value or value < low:
        raise ValueError(f"{name} must be an integer >= {low}, got {value!r}.")
    return int(value)


def _check_pair(z0: ArrayLike, z1: ArrayLike) -> tuple[np.ndarray, np.ndarray, np.dtype]:
    a, b = np.asarray(z0), np.asarray(z1)
    if a.shape != b.shape or a.ndim not in (1, 2):
        raise ValueError(
            f"z0 and z1 must have one shape, (D,) or (N, D); got {a.shape} and {b.shape}."
        )
    dtype = np.result_type(a.dtype, b.dtype)
    if not np.issubdtype(dtype, np.floating):
        dtype = np.dtype("float64")
    # float64 arithmetic, so arccos and the sine ratios lose nothing before the cast back.
    return a.astype(np.float64), b.astype(np.float64), dtype


def _check_t(t: ArrayLike, latent_ndim: int) -> np.ndarray:
    t = np.asarray(t, dtype=np.float64)
    if t.ndim > 1:
        raise ValueError(f"t must be a scalar or a vector (T,), got shape {t.shape}.")
    # (T,) -> (T, 1) for z of shape (D,), (T, 1, 1) for (N, D); a scalar broadcasts as is.
    return t.reshape(t.shape + (1,) * latent_ndim)


def lerp(z0: ArrayLike, z1: ArrayLike, t: ArrayLike) -> np.ndarray:
    """Linear interpolation between latent vectors.

    Formula:
        lerp(z0, z1, t) = (1 - t) z0 + t z1

    Shape rules (the same for `slerp`):
        z0, z1 (D,)    and t scalar -> (D,);     t (T,) -> (T, D)
        z0, z1 (N, D)  and t scalar -> (N, D);   t (T,) -> (T, N, D), row n interpolating
        between z0[n] and z1[n].

    Args:
        z0, z1: the end points, one shape, (D,) or (N, D).
        t: interpolation weight(s); 0 gives z0, 1 gives z1 (values outside [0, 1] extrapolate).

    Returns:
        The interpolated vectors, in the inputs' float dtype (float64 for integer inputs).

    Note:
        With a Gaussian prior the midpoint of two samples has norm about |z| / sqrt(2), a norm
        the generator almost never saw in training (White 2016, arXiv:1609.04468); `slerp`
        avoids that. For a uniform prior on [-1, 1]^D lerp stays inside the box.
    """
    a, b, dtype = _check_pair(z0, z1)
    t = _check_t(t, a.ndim)
    return ((1.0 - t) * a + t * b).astype(dtype)


def slerp(z0: ArrayLike, z1: ArrayLike, t: ArrayLike) -> np.ndarray:
    """Spherical linear interpolation (Shoemake 1985), as White 2016 (arXiv:1609.04468)
    recommends for GAN latent spaces.

    Formula:
        w = arccos(z0 . z1 / (|z0| |z1|))
        slerp(z0, z1, t) = sin((1 - t) w) / sin(w) z0 + sin(t w) / sin(w) z1

    The path follows the great circle between the directions of z0 and z1, so for two
    vectors of equal norm r every point has norm r (lerp's midpoint of two orthogonal
    vectors has norm r / sqrt(2)); in high dimensions samples of N(0, I) all lie near the
    sphere of radius sqrt(D), and slerp keeps the path there. When sin(w) < 1e-6 (parallel or
    anti-parallel vectors) or a vector is zero, the formula is 0/0 and lerp is returned.
    For anti-parallel vectors that lerp passes through the origin: no single great circle
    joins them. With a uniform prior on [-1, 1]^D, slerp can leave the box (the midpoint
    of (1, -1) and (1, 1) is (1.41, 0)); use lerp there.

    Shape rules: as `lerp`; with (N, D) inputs each row has its own angle w.

    Args:
        z0, z1: the end points, one shape, (D,) or (N, D).
        t: interpolation weight(s), scalar or (T,); 0 gives z0, 1 gives z1.

    Returns:
        The interpolated vectors, in the inputs' float dtype (float64 for integer inputs).
    """
    a, b, dtype = _check_pair(z0, z1)
    t = _check_t(t, a.ndim)
    norms = np.linalg.norm(a, axis=-1, keepdims=True) * np.linalg.norm(b, axis=-1, keepdims=True)
    cos_w = np.sum(a * b, axis=-1, keepdims=True) / np.where(norms > 0, norms, 1.0)
    w = np.arccos(np.clip(cos_w, -1.0, 1.0))  # (1,) or (N, 1)
    sin_w = np.sin(w)
    fallback = (sin_w < _PARALLEL_SIN) | (norms == 0)
    safe_sin = np.where(fallback, 1.0, sin_w)
    spherical = (np.sin((1.0 - t) * w) * a + np.sin(t * w) * b) / safe_sin
    linear = (1.0 - t) * a + t * b
    return np.where(fallback, linear, spherical).astype(dtype)


_METHODS = {"lerp": lerp, "slerp": slerp}


def _method(method: str):
    if method not in _METHODS:
        raise ValueError(f"method must be one of {sorted(_METHODS)}, got {method!r}.")
    return _METHODS[method]


def interpolate(z0: ArrayLike, z1: ArrayLike, steps: int = 8, method: str = "slerp") -> np.ndarray:
    """`steps` evenly spaced points from z0 to z1, both ends included.

    Formula:
        z_i = method(z0, z1, i / (steps - 1)),  i = 0 .. steps - 1

    Args:
        z0, z1: (D,) or (N, D).
        steps: number of points, >= 2.
        method: "slerp" or "lerp".

    Returns:
        (steps, D), or (steps, N, D) for (N, D) inputs; z_0 = z0 and z_{steps-1} = z1.
    """
    steps = _check_int("steps (both ends included)", steps, 2)
    return _method(method)(z0, z1, np.linspace(0.0, 1.0, steps))


def latent_walk(
    points: ArrayLike,
    steps_per_segment: int = 12,
    method: str = "slerp",
    loop: bool = True,
) -> np.ndarray:
    """A path through several latent points, `steps_per_segment` frames per segment.

    Segment k goes from points[k] to points[k + 1] at t = 0, 1/s, ..., (s - 1)/s with
    s = steps_per_segment, so frame k * s is exactly points[k] and no point is repeated.
    With `loop=True` a last segment returns from points[-1] towards points[0], stopping one
    step short of it: played in a loop, the frame after the last is the first, and the
    animation has no seam. With `loop=False` the path ends on points[-1].

    Args:
        points: (P, D), or (P, N, D) for N walks side by side; P >= 2.
        steps_per_segment: frames per segment, >= 1.
        method: "slerp" or "lerp" within each segment.
        loop: close the path back to points[0].

    Returns:
        (M, D) or (M, N, D) with M = P * s when looping, (P - 1) * s + 1 otherwise.
    """
    points = np.asarray(points)
    if points.ndim not in (2, 3) or len(points) < 2:
        raise ValueError(
            f"points must have shape (P, D) or (P, N, D) with P >= 2, got {points.shape}."
        )
    steps = _check_int("steps_per_segment", steps_per_segment, 1)
    interpolation = _method(method)
    t = np.arange(steps) / steps  # [0, 1): the segment's end is the next one's start
    ends = list(points[1:]) + ([points[0]] if loop else [])
    frames = [interpolation(a, b, t) for a, b in zip(points, ends, strict=False)]
    if not loop:
        frames.append(points[-1][None].astype(frames[0].dtype))
    return np.concatenate(frames)


# --------------------------------------------------------------------------- pictures


def _network(gan: GAN, use_ema: bool) -> keras.Model:
    # The same choice as GAN.generate: the moving-average generator when there is one.
    return gan.ema_generator if use_ema and gan.ema_generator is not None else gan.generator


def _rows(labels: ArrayLike | None, n: int, repeat: int) -> np.ndarray | None:
    """Labels for n rows (an int or (n,)), each repeated for the `repeat` images of its row."""
    if labels is None:
        return None
    labels = np.asarray(labels)
    if labels.ndim == 0 or labels.shape == (n,):
        return np.repeat(np.broadcast_to(labels, (n,)), repeat)
    raise ValueError(f"labels must be one class id or one per row ({n},), got {labels.shape}.")


def interpolation_strip(
    gan: GAN,
    z0: ArrayLike,
    z1: ArrayLike,
    steps: int = 10,
    method: str = "slerp",
    labels: ArrayLike | None = None,
    use_ema: bool = True,
) -> np.ndarray:
    """Images G(z_i) along `interpolate(z0, z1, steps, method)`.

    Args:
        gan: the trained `GAN`.
        z0, z1: (D,) for one strip, or (N, D) for N strips (pair n: z0[n] -> z1[n]).
        steps: images per strip, both ends included.
        method: "slerp" or "lerp".
        labels: conditional GANs only: one class id, or one per strip (N,).
        use_ema: use the moving-average generator when there is one.

    Returns:
        (steps, H, W, C) for (D,) inputs, or (N, steps, H, W, C), one strip per pair, float32
        in [-1, 1].
    """
    path = interpolate(z0, z1, steps, method)  # (steps, D) or (steps, N, D)
    if path.ndim == 2:
        return gan.generate(z=path, labels=labels, use_ema=use_ema)
    _, n, dim = path.shape
    pair_major = path.transpose(1, 0, 2).reshape(n * steps, dim)
    images = gan.generate(z=pair_major, labels=_rows(labels, n, steps), use_ema=use_ema)
    return images.reshape(n, steps, *images.shape[1:])


def save_interpolation_strip(
    gan: GAN,
    path: PathLike,
    z0: ArrayLike,
    z1: ArrayLike,
    steps: int = 10,
    method: str = "slerp",
    labels: ArrayLike | None = None,
    scale: int = 2,
    caption: str | None = None,
    use_ema: bool = True,
) -> Path:
    """Writes `interpolation_strip` as a PNG: one row per (z0, z1) pair, z0 on the left.

    Args:
        gan, z0, z1, steps, method, labels, use_ema: as `interpolation_strip`.
        path: where to write the PNG (the caller chooses, e.g. the run folder).
        scale: integer pixel upscaling (see `viz.make_grid`).
        caption: optional text above the strip.

    Returns:
        The path written, as a `Path`.
    """
    images = interpolation_strip(gan, z0, z1, steps, method, labels, use_ema)
    images = images.reshape(-1, *images.shape[-3:])  # rows of `steps` images
    return viz.save_image_grid(images, path, nrow=steps, scale=scale, caption=caption)


def save_latent_walk_gif(
    gan: GAN,
    path: PathLike,
    n_points: int = 4,
    steps_per_segment: int = 12,
    seed: int = 0,
    labels: ArrayLike | None = None,
    seconds_per_frame: float = 0.08,
    n_walks: int = 1,
    method: str = "slerp",
    scale: int = 4,
    use_ema: bool = True,
) -> Path:
    """Writes a looping GIF of G(z) along a closed `latent_walk` through random points.

    The points are `gan.sample_latent(n_points * n_walks, seed)`, so a seed always gives the
    same GIF. Every frame has the same delay, the last included, so the loop has no pause.

    Args:
        gan: the trained `GAN`.
        path: where to write the GIF.
        n_points: latent points visited per walk, >= 2.
        steps_per_segment: frames between consecutive points.
        seed: seeds the points.
        labels: conditional GANs only: one class id, or one per walk (n_walks,).
        seconds_per_frame: delay of each frame.
        n_walks: walks shown side by side in a square grid, each frame one grid.
        method: "slerp" or "lerp".
        scale: integer pixel upscaling of each image.
        use_ema: use the moving-average generator when there is one.

    Returns:
        The path written, as a `Path`; the GIF has n_points * steps_per_segment frames
        (Pillow merges identical consecutive frames, which a real walk does not produce).
    """
    n_points, n_walks = _check_int("n_points", n_points, 2), _check_int("n_walks", n_walks, 1)
    points = gan.sample_latent(n_points * n_walks, seed).reshape(n_points, n_walks, -1)
    walk = latent_walk(points, steps_per_segment, method, loop=True)  # (M, n_walks, D)
    frames = len(walk)
    images = gan.generate(
        z=walk.reshape(frames * n_walks, -1),
        labels=None if labels is None else np.tile(_rows(labels, n_walks, 1), frames),
        use_ema=use_ema,
    )
    images = images.reshape(frames, n_walks, *images.shape[1:])
    nrow = math.ceil(math.sqrt(n_walks))
    padding = 0 if n_walks == 1 else 2  # a border only where it separates images
    grids = [viz.make_grid(f, nrow=nrow, padding=padding, scale=scale) for f in images]
    return viz.save_gif(grids, path, seconds_per_frame, hold_last=seconds_per_frame)


# --------------------------------------------------------------------------- class morphs


class _SoftEmbedding(layers.Layer):
    """Mixing weights (B, K) -> (B, dim): the weighted sum of an Embedding's rows.

    Formula:
        e(p) = p @ E = sum_k p_k E[k]; for p = (1 - t) onehot(a) + t onehot(b) this is
        (1 - t) E[a] + t E[b], and for a one-hot p exactly the Embedding's output E[a].

    Reads the Embedding's own variable, so the weights stay shared with the generator.
    """

    def __init__(self, embedding: layers.Embedding, **kwargs):
        super().__init__(**kwargs)
        self.embedding = embedding

    def call(self, soft_labels):
        table = self.embedding.embeddings
        return ops.matmul(ops.cast(soft_labels, table.dtype), table)


def _is_one_hot(layer: object) -> bool:
    return isinstance(layer, layers.CategoryEncoding) and layer.output_mode == "one_hot"


def conditional_generator_with_soft_labels(generator: keras.Model) -> keras.Model:
    """The generator G(z, y) rewired to take mixing weights over classes instead of class ids.

    The conditional builders encode the int label y first, and only that encoding reaches
    the rest of the network: a one-hot vector in the MLP family (`CategoryEncoding`), a
    learned vector E[y] in the DCGAN family (`Embedding`). This model replaces that encoding
    with its linear extension to mixing weights p of shape (K,):

        one-hot:    onehot(y) -> p
        Embedding:  E[y]      -> p @ E = sum_k p_k E[k]

    so with p = (1 - t) onehot(a) + t onehot(b) the label moves from class a to class b
    while z stays fixed, and a one-hot p gives exactly G(z, y). Every layer is the
    generator's own (shared weights, not a copy), found by cloning its functional graph.

    Args:
        generator: a conditional functional generator taking `[z, labels]`, labels (B,) int,
            whose labels enter only through one `CategoryEncoding(output_mode="one_hot")` or
            one `Embedding`, as every `gan_kit.models` builder's do.

    Returns:
        A `keras.Model` mapping `[z (B, D), soft_labels (B, K) float32]` to images
        (B, H, W, C); call it with `training=False`.

    Raises:
        ValueError: for an unconditional generator, or when the labels reach a layer that
            is neither of the two encodings (the message names it).
    """
    inputs = list(getattr(generator, "inputs", None) or [])
    is_int = [bool(np.issubdtype(np.dtype(x.dtype), np.integer)) for x in inputs]
    if len(inputs) != 2 or sum(is_int) != 1:
        raise ValueError(
            f"{generator.name} is not a conditional functional generator taking [z, labels] "
            f"with int labels (inputs: {[(x.name, x.dtype) for x in inputs]}); class "
            "interpolation needs one built with num_classes."
        )
    encoders = [
        layer
        for layer in generator.layers
        if _is_one_hot(layer) or isinstance(layer, layers.Embedding)
    ]
    if len(encoders) != 1:
        raise ValueError(
            f"cannot find one label encoding in {generator.name}: expected a single one-hot "
            f"CategoryEncoding or Embedding layer, found {[x.name for x in encoders]}."
        )
    encoder = encoders[0]
    num_classes = encoder.num_tokens if _is_one_hot(encoder) else encoder.input_dim

    new_inputs = [
        keras.Input((num_classes,), dtype="float32", name="soft_labels")
        if integer
        else keras.Input(x.shape[1:], dtype=x.dtype, name=x.name)
        for x, integer in zip(inputs, is_int, strict=True)
    ]
    soft_labels = new_inputs[is_int.index(True)]

    def call_function(layer, *args, **kwargs):
        # clone_model feeds soft_labels where the int labels were; intercept its consumers.
        if not any(x is soft_labels for x in keras.tree.flatten((args, kwargs))):
            return layer(*args, **kwargs)
        if layer is not encoder:
            raise ValueError(
                f"the labels of {generator.name} enter layer {layer.name!r} "
                f"({type(layer).__name__}), not only {encoder.name!r}; soft labels are defined "
                "for labels that reach the network through that encoding alone."
            )
        if _is_one_hot(layer):
            # A new tensor (not soft_labels itself), so its consumers pass the check above.
            return layers.Identity(name="soft_label_one_hot")(soft_labels)
        return _SoftEmbedding(layer, name="soft_label_embedding")(soft_labels)

    soft = keras.models.clone_model(
        generator,
        input_tensors=new_inputs,
        clone_function=lambda layer: layer,  # reuse the layers: the weights stay shared
        call_function=call_function,
    )
    soft.name = f"{generator.name}_soft_labels"
    return soft


def _class_weights(class_a: int, class_b: int, t: np.ndarray, num_classes: int) -> np.ndarray:
    """(T, K) rows (1 - t) onehot(a) + t onehot(b)."""
    for name, c in (("class_a", class_a), ("class_b", class_b)):
        if int(c) != c or not 0 <= c < num_classes:
            raise ValueError(f"{name} must be a class id in [0, {num_classes}), got {c!r}.")
    eye = np.eye(num_classes, dtype=np.float32)
    t = t.astype(np.float32)[:, None]
    return (1.0 - t) * eye[int(class_a)] + t * eye[int(class_b)]


def class_interpolation(
    gan: GAN,
    z: ArrayLike,
    class_a: int,
    class_b: int,
    steps: int = 10,
    use_ema: bool = True,
) -> np.ndarray:
    """Images G(z, y_t) for fixed z while the label moves from class a to class b.

    Formula:
        y_t = (1 - t) onehot(a) + t onehot(b),  t = 0, 1/(steps - 1), ..., 1
        (through `conditional_generator_with_soft_labels`: for an Embedding family the
        network sees (1 - t) E[a] + t E[b])

    Args:
        gan: a trained conditional `GAN`.
        z: (D,) for one morph, or (N, D) for N morphs with the same classes.
        class_a, class_b: class ids at t = 0 and t = 1.
        steps: images per morph, both ends included (>= 2).
        use_ema: use the moving-average generator when there is one.

    Returns:
        (steps, H, W, C) for z (D,), or (N, steps, H, W, C); float32 in [-1, 1]. The first
        image is G(z, a) and the last G(z, b).
    """
    steps = _check_int("steps (both ends included)", steps, 2)
    soft = conditional_generator_with_soft_labels(_network(gan, use_ema))
    z = np.asarray(z, dtype=np.float32)
    if z.ndim not in (1, 2) or z.shape[-1] != gan.latent_dim:
        raise ValueError(
            f"z must have shape (D,) or (N, D) with D = {gan.latent_dim}, got {z.shape}."
        )
    zs = z[None] if z.ndim == 1 else z  # (N, D)
    n = len(zs)
    position = [x.name for x in soft.inputs].index("soft_labels")
    weights = _class_weights(
        class_a, class_b, np.linspace(0.0, 1.0, steps), soft.inputs[position].shape[-1]
    )
    # Morph-major order: all steps of z[0], then all of z[1], ...
    feed = [np.repeat(zs, steps, axis=0)]
    feed.insert(position, np.tile(weights, (n, 1)))
    images = soft(feed, training=False)
    images = ops.convert_to_numpy(images).astype(np.float32)
    images = images.reshape(n, steps, *images.shape[1:])
    return images[0] if z.ndim == 1 else images


def save_class_morph_strip(
    gan: GAN,
    path: PathLike,
    z: ArrayLike,
    class_a: int,
    class_b: int,
    steps: int = 10,
    scale: int = 2,
    caption: str | None = None,
    use_ema: bool = True,
) -> Path:
    """Writes `class_interpolation` as a PNG, one row per z, class a on the left.

    Args:
        gan, z, class_a, class_b, steps, use_ema: as `class_interpolation`.
        path: where to write the PNG.
        scale: integer pixel upscaling.
        caption: optional text above the strip.

    Returns:
        The path written, as a `Path`.
    """
    images = class_interpolation(gan, z, class_a, class_b, steps, use_ema)
    images = images.reshape(-1, *images.shape[-3:])
    return viz.save_image_grid(images, path, nrow=steps, scale=scale, caption=caption)


def save_class_morph_gif(
    gan: GAN,
    path: PathLike,
    z: ArrayLike,
    class_a: int,
    class_b: int,
    steps: int = 10,
    seconds_per_frame: float = 0.1,
    bounce: bool = True,
    scale: int = 4,
    use_ema: bool = True,
) -> Path:
    """Writes a GIF of `class_interpolation`: every z morphing from class a to class b.

    Args:
        gan, z, class_a, class_b, steps, use_ema: as `class_interpolation`; for z (N, D)
            each frame is a square grid of the N images at one t.
        path: where to write the GIF.
        seconds_per_frame: delay of each frame.
        bounce: play a -> b -> a (2 * steps - 2 frames) so the loop has no jump; otherwise
            a -> b (steps frames), holding b for a second.
        scale: integer pixel upscaling.

    Returns:
        The path written, as a `Path`.
    """
    images = class_interpolation(gan, z, class_a, class_b, steps, use_ema)
    if images.ndim == 4:
        images = images[None]  # (1, steps, H, W, C)
    per_t = images.transpose(1, 0, 2, 3, 4)  # (steps, N, H, W, C)
    if bounce:
        per_t = np.concatenate([per_t, per_t[-2:0:-1]])  # back without repeating either end
    n = per_t.shape[1]
    padding = 0 if n == 1 else 2
    frames = [
        viz.make_grid(f, nrow=math.ceil(math.sqrt(n)), padding=padding, scale=scale) for f in per_t
    ]
    return viz.save_gif(
        frames, path, seconds_per_frame, hold_last=seconds_per_frame if bounce else 1.0
    )


# --------------------------------------------------------------------------- vector arithmetic


def attribute_direction(
    z: ArrayLike, groups: ArrayLike, source: object, target: object
) -> np.ndarray:
    """The latent direction from one group of samples to another.

    Formula:
        d = mean(z[groups == target]) - mean(z[groups == source])

    Radford et al. 2015 (arXiv:1511.06434, Sec. 6.3) average the z of three exemplars per
    concept ("smiling woman", "neutral woman", ...) and show that such averages add and
    subtract like word vectors: smiling woman - neutral woman + neutral man = smiling man.
    Here the groups can be any labelling of the samples, e.g. the class a classifier gives
    G(z[i]), or a hand-picked set; averaging many samples cancels what they do not share.

    Args:
        z: (N, D) latent vectors.
        groups: (N,) a label per vector.
        source, target: the two group labels.

    Returns:
        (D,) direction; add it to z to move from source towards target (`apply_direction`).

    Raises:
        ValueError: on mismatched lengths, or a group with no member.
    """
    z = np.asarray(z)
    groups = np.asarray(groups)
    if z.ndim != 2 or groups.shape != (len(z),):
        raise ValueError(f"need z (N, D) and groups (N,), got {z.shape} and {groups.shape}.")
    means = []
    for name, value in (("target", target), ("source", source)):
        members = groups == value
        if not members.any():
            raise ValueError(f"{name} group {value!r} has no members in groups.")
        means.append(z[members].mean(axis=0))
    return means[0] - means[1]


def apply_direction(z: ArrayLike, direction: ArrayLike, scales: ArrayLike) -> np.ndarray:
    """Moves latent vectors along a direction by several amounts.

    Formula:
        out[s] = z + scales[s] * direction

    Args:
        z: (N, D) (or (D,)) latent vectors.
        direction: (D,), e.g. from `attribute_direction`.
        scales: (S,) amounts; 0 returns z, 1 adds the whole direction, negative values
            move the other way.

    Returns:
        (S, N, D) (or (S, D)): row s holds every z moved by scales[s].
    """
    z = np.asarray(z)
    direction = np.asarray(direction)
    scales = np.asarray(scales, dtype=np.float64)
    if direction.shape != z.shape[-1:] or scales.ndim != 1:
        raise ValueError(
            f"need direction (D,) matching z {z.shape} and scales (S,), "
            f"got {direction.shape} and {scales.shape}."
        )
    dtype = np.result_type(z.dtype, direction.dtype, np.float32)
    moved = z[None] + scales.reshape((-1,) + (1,) * z.ndim) * direction
    return moved.astype(dtype)


# --------------------------------------------------------------------------- truncation


def truncated_normal_latents(
    n: int, latent_dim: int, threshold: float, seed: int | None = 0
) -> np.ndarray:
    """Samples of N(0, I) truncated to |z_j| <= threshold: the truncation trick.

    Every entry with |z_j| > threshold is redrawn from N(0, 1) until none is left, which
    gives each entry the normal density restricted to [-threshold, threshold]. Brock et al.
    2018 (BigGAN, arXiv:1809.11096, Sec. 3.1) sample this way at test time: a smaller
    threshold trades variety for fidelity, since the samples come from where the prior,
    and so the training, was densest. threshold = inf is the untruncated prior.

    Entries drawn within the threshold at the first draw do not depend on it, so for one
    seed the samples of two thresholds differ only where an entry was redrawn.

    Args:
        n: number of vectors.
        latent_dim: D.
        threshold: c > 0.
        seed: seeds NumPy's generator; the same seed gives the same samples.

    Returns:
        (n, latent_dim) float32, every |entry| <= threshold.
    """
    if not threshold > 0:
        raise ValueError(f"threshold must be > 0 (inf for no truncation), got {threshold!r}.")
    rng = np.random.default_rng(seed)
    z = rng.standard_normal((n, latent_dim))
    outside = np.abs(z) > threshold
    while outside.any():
        z[outside] = rng.standard_normal(int(outside.sum()))
        outside = np.abs(z) > threshold
    return z.astype(np.float32)


def _truncated_latents(gan: GAN, n: int, threshold: float, seed: int | None) -> np.ndarray:
    if gan.latent_distribution == "normal":
        return truncated_normal_latents(n, gan.latent_dim, threshold, seed)
    # U[-1, 1] truncated at c < 1 is exactly U[-c, c], drawn here as c * u with one u for
    # every c, so a sweep shows the same samples shrinking towards 0; c >= 1 truncates nothing.
    if not threshold > 0:
        raise ValueError(f"threshold must be > 0, got {threshold!r}.")
    return min(float(threshold), 1.0) * gan.sample_latent(n, seed)


def truncation_sweep(
    gan: GAN,
    thresholds: Sequence[float],
    n: int = 16,
    seed: int | None = 0,
    labels: ArrayLike | None = None,
    use_ema: bool = True,
) -> dict[float, np.ndarray]:
    """Samples at several truncation thresholds, to plot quality against diversity.

    Normal prior: `truncated_normal_latents(n, D, c, seed)`. Uniform prior: the same idea
    applied to U[-1, 1], whose truncation at c < 1 is U[-c, c]; it is drawn as c * u with
    one u ~ U[-1, 1] per seed, and c >= 1 changes nothing.

    Args:
        gan: the trained `GAN`.
        thresholds: values of c > 0 (inf: no truncation).
        n: images per threshold.
        seed: one seed for every threshold, so the rows are comparable.
        labels: conditional GANs only: one class id or (n,).
        use_ema: use the moving-average generator when there is one.

    Returns:
        {c: images (n, H, W, C) float32 in [-1, 1]}, in the order given; hand them to the
        metrics of your choice (e.g. a sharpness or FID score against the spread).
    """
    return {
        float(c): gan.generate(
            z=_truncated_latents(gan, n, c, seed), labels=labels, use_ema=use_ema
        )
        for c in thresholds
    }


# --------------------------------------------------------------------------- inversion


def _as_model_range(images: ArrayLike, shape: tuple) -> np.ndarray:
    images = np.asarray(images)
    if images.dtype == np.uint8:
        images = images.astype(np.float32) / 127.5 - 1.0  # inverse of viz.to_uint8
    images = images.astype(np.float32)
    if images.ndim != 4 or images.shape[1:] != tuple(shape):
        raise ValueError(
            f"images must have the generator's output shape (N, {', '.join(map(str, shape))}), "
            f"got {images.shape}."
        )
    return images


class _DropRetracingWarning(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return "triggered tf.function retracing" not in record.getMessage()


@contextlib.contextmanager
def _quiet_retracing():
    # Each `invert` call traces its own loop once, by design (new network, batch, steps).
    # TF counts traces per source line, so from the sixth call on it warns of "excessive
    # retracing", advice meant for a function retraced inside a loop; drop just that message.
    logger = tf.get_logger()
    quiet = _DropRetracingWarning()
    logger.addFilter(quiet)
    try:
        yield
    finally:
        logger.removeFilter(quiet)


def invert(
    gan: GAN,
    images: ArrayLike,
    *,
    steps: int = 300,
    restarts: int = 4,
    learning_rate: float = 0.05,
    seed: int = 0,
    labels: ArrayLike | None = None,
    use_ema: bool = True,
    prior_weight: float = 1e-3,
) -> dict[str, np.ndarray]:
    """Finds z with G(z) close to each image: predicting z from x, by gradient descent.

    Creswell & Bharath 2016 (arXiv:1611.05644) and Lipton & Tripathi 2017 ("Precise recovery
    of latent vectors from generative adversarial networks", arXiv:1702.04782) invert a
    trained generator by descending the reconstruction error with respect to z:

    Formula (per image x_i and start r, minimised with Adam over z):
        L(z) = mean_pixels (G(z) - x_i)^2 + prior_weight * mean_j z_j^2
        error_i = min_r mean_pixels (G(z_{r,i}) - x_i)^2   (in [-1, 1] units)

    The small prior term is the negative log-density of N(0, I) up to scale and a constant:
    it keeps z in the region the generator was trained on, where G(z) is meaningful,
    instead of letting it drift to large norms that may happen to fit one image. For a
    uniform prior z is also clipped to [-1, 1] after every step (Lipton & Tripathi redraw
    such entries at random instead, "stochastic clipping").

    Each of the `restarts` starts (drawn from the prior) descends independently and the
    best per image is kept: the error is not convex in z, and one start can stall in a poor
    local minimum. Start r is drawn from the seed (seed, r), so start 0 does not depend on
    `restarts` and more restarts never give a worse result. The generator runs in inference
    mode (batch norm uses its moving averages), so each z sees only its own image.

    Args:
        gan: the trained `GAN`.
        images: (N, H, W, C) float in [-1, 1], or uint8 in [0, 255] (converted).
        steps: Adam steps.
        restarts: independent starts per image, >= 1.
        learning_rate: Adam's step size.
        seed: seeds the starts; the same seed gives the same result.
        labels: conditional GANs only: one class id or (N,), the class to invert under.
        use_ema: invert the moving-average generator when there is one.
        prior_weight: weight of the prior term (0 turns it off).

    Returns:
        {"z": (N, D) float32, the best latent vector per image,
         "reconstructions": (N, H, W, C) float32, G(z),
         "errors": (N,) float32, per-image MSE of the reconstruction in [-1, 1] units,
         "restart_errors": (restarts, N) float32, the final MSE of every start; `errors` is
         its minimum over starts}.
    """
    restarts, steps = _check_int("restarts", restarts, 1), _check_int("steps", steps, 0)
    network = _network(gan, use_ema)
    targets = _as_model_range(images, network.outputs[0].shape[1:])
    n, dim = len(targets), gan.latent_dim
    if gan.conditional:
        if labels is None:
            raise ValueError("this GAN is conditional: pass the labels to invert under")
        labels = tf.constant(np.tile(np.broadcast_to(np.asarray(labels, "int32"), (n,)), restarts))
    elif labels is not None:
        raise ValueError("this GAN is not conditional: it takes no labels")

    # Start r from its own seed (seed, r), so adding restarts leaves the first ones unchanged.
    starts = [gan.sample_latent(n, seed=[seed, r]) for r in range(restarts)]
    z = tf.Variable(np.concatenate(starts), name="z")  # (restarts * N, D), restart-major
    x = tf.constant(np.tile(targets, (restarts, 1, 1, 1)))
    optimizer = keras.optimizers.Adam(learning_rate)
    optimizer.build([z])  # create the slots now: no variables may be made inside tf.function
    uniform = gan.latent_distribution == "uniform"

    def reconstruction_errors(z_value):
        inputs = z_value if labels is None else [z_value, labels]
        fake = tf.cast(network(inputs, training=False), tf.float32)
        return tf.reduce_mean(tf.square(fake - x), axis=[1, 2, 3])  # (restarts * N,)

    @tf.function
    def descend():
        for _ in tf.range(steps):
            with tf.GradientTape() as tape:
                loss = reconstruction_errors(z) + prior_weight * tf.reduce_mean(z**2, axis=1)
                # A sum, not a mean: each z gets the gradient of its own loss, not scaled by
                # the batch size, so a start descends alike however many restarts run.
                total = tf.reduce_sum(loss)
            optimizer.apply_gradients([(tape.gradient(total, z), z)])
            if uniform:
                z.assign(tf.clip_by_value(z, -1.0, 1.0))

    with _quiet_retracing():
        descend()
    errors = reconstruction_errors(z).numpy().reshape(restarts, n)
    best = errors.argmin(axis=0)
    z_best = z.numpy().reshape(restarts, n, dim)[best, np.arange(n)]
    reconstructions = gan.generate(
        z=z_best, labels=None if labels is None else labels.numpy()[:n], use_ema=use_ema
    )
    return {
        "z": z_best.astype(np.float32),
        "reconstructions": reconstructions,
        "errors": errors[best, np.arange(n)].astype(np.float32),
        "restart_errors": errors.astype(np.float32),
    }
