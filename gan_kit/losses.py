"""GAN losses as paired discriminator / generator functions.

The one convention, used by every function here:

* Labels: real = 1, fake = 0.
* Discriminators emit LOGITS (no sigmoid inside the network); D(x) = sigmoid(logit) is the
  probability that x is real. Critics (WGAN) emit unbounded scores.
* Every loss is a float32 scalar to be MINIMISED, and every expectation is a mean over the batch.

Inputs are cast to float32 first: under mixed precision the logits may arrive as float16 or
bfloat16, and log-probabilities near 0 or 1 need float32 to stay accurate. The probability
forms are written with softplus, using log(sigmoid(l)) = -softplus(-l) and
log(1 - sigmoid(l)) = -softplus(l), which stay finite for logits of any size.

Everything except `gradient_penalty` uses `keras.ops` and is backend-neutral; the gradient
penalty needs a gradient inside the loss and so uses `tf.GradientTape` (gan_kit trains on
TensorFlow only).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import keras
import tensorflow as tf
from keras import ops

# A backend tensor (tf.Tensor under TensorFlow), or anything keras.ops accepts (NumPy, floats).
Tensor = Any

# Keeps sqrt differentiable when a gradient is exactly zero; far below float32 resolution near 1.
_EPSILON = 1e-12


def _f32(x):
    return ops.cast(x, "float32")


# --- Minimax / non-saturating (binary cross-entropy) -------------------------------------------


def minimax_generator_loss(fake_logits: Tensor) -> Tensor:
    """Saturating generator loss of the original minimax game.

    Formula:
    ```
    g_loss = mean(log(1 - D(G(z)))) = -mean(softplus(fake_logits))
    ```

    Minimised by the generator. Its gradient vanishes when the discriminator confidently
    rejects the fakes (fake_logits very negative), which is exactly the situation early in
    training: this is the "saturation" that motivates `non_saturating_generator_loss`.

    Paper: Goodfellow et al., 2014, "Generative Adversarial Nets", arXiv:1406.2661 (Eq. 1).

    Args:
        fake_logits: Discriminator logits on generated images, shape (batch, 1) or (batch,).

    Returns:
        Float32 scalar.
    """
    return -ops.mean(ops.softplus(_f32(fake_logits)))


def non_saturating_generator_loss(fake_logits: Tensor) -> Tensor:
    """Non-saturating generator loss: the generator maximises log D(G(z)).

    Formula:
    ```
    g_loss = -mean(log(D(G(z)))) = mean(softplus(-fake_logits))
    ```

    Minimised by the generator. Equivalent to binary cross-entropy of the fake logits against
    the *real* label 1; its gradient is about -1 per sample when the fakes are rejected.

    Paper: Goodfellow et al., 2014, "Generative Adversarial Nets", arXiv:1406.2661 (Sec. 3).

    Args:
        fake_logits: Discriminator logits on generated images, shape (batch, 1) or (batch,).

    Returns:
        Float32 scalar.
    """
    return ops.mean(ops.softplus(-_f32(fake_logits)))


def bce_discriminator_loss(
    real_logits: Tensor, fake_logits: Tensor, real_label: float = 1.0
) -> Tensor:
    """Binary cross-entropy discriminator loss, with optional one-sided label smoothing.

    Formula (s = real_label):
    ```
    d_loss = -mean(s * log(D(x)) + (1 - s) * log(1 - D(x))) - mean(log(1 - D(G(z))))
           =  mean(s * softplus(-real_logits) + (1 - s) * softplus(real_logits))
            + mean(softplus(fake_logits))
    ```

    Minimised by the discriminator; the two means are added, not averaged, so each half has
    the weight it has in the paper's value function.

    Papers: Goodfellow et al., 2014, "Generative Adversarial Nets", arXiv:1406.2661;
    label smoothing from Salimans et al., 2016, "Improved Techniques for Training GANs",
    arXiv:1606.03498 (Sec. 3.4).

    Note:
        With `real_label < 1` only the real targets are smoothed (e.g. 0.9) and the fake
        targets stay at 0, as Salimans et al. recommend: with smoothed fake targets the optimal
        D stays above 0 where only the generator puts mass, so bad samples there would get
        no push towards the data.

    Args:
        real_logits: Discriminator logits on real images, shape (batch, 1) or (batch,).
        fake_logits: Discriminator logits on generated images, same shape convention.
        real_label: Target for real images, in (0, 1]; 1.0 gives the plain loss.

    Returns:
        Float32 scalar.

    Raises:
        ValueError: If `real_label` is not in (0, 1].
    """
    if not 0.0 < real_label <= 1.0:
        raise ValueError(f"real_label must be in (0, 1], e.g. 1.0 or 0.9; got {real_label}")
    real_logits = _f32(real_logits)
    real_term = real_label * ops.softplus(-real_logits)
    real_term += (1.0 - real_label) * ops.softplus(real_logits)
    return ops.mean(real_term) + ops.mean(ops.softplus(_f32(fake_logits)))


# --- Wasserstein --------------------------------------------------------------------------------


def wasserstein_critic_loss(real_scores: Tensor, fake_scores: Tensor) -> Tensor:
    """Wasserstein critic loss.

    Formula:
    ```
    d_loss = mean(fake_scores) - mean(real_scores)
    ```

    Minimised by the critic, i.e. the critic maximises mean(f(x)) - mean(f(G(z))), its
    estimate of the Wasserstein-1 distance.

    Paper: Arjovsky, Chintala & Bottou, 2017, "Wasserstein GAN", arXiv:1701.07875.

    Note:
        The estimate is only meaningful if the critic is (close to) 1-Lipschitz; enforce it
        with `clip_weights` (the paper, c = 0.01) or add `gradient_penalty` (WGAN-GP).

    Args:
        real_scores: Critic scores on real images, shape (batch, 1) or (batch,).
        fake_scores: Critic scores on generated images, same shape convention.

    Returns:
        Float32 scalar.
    """
    return ops.mean(_f32(fake_scores)) - ops.mean(_f32(real_scores))


def wasserstein_generator_loss(fake_scores: Tensor) -> Tensor:
    """Wasserstein generator loss.

    Formula:
    ```
    g_loss = -mean(fake_scores)
    ```

    Minimised by the generator, which pushes the critic's score of its samples up.

    Paper: Arjovsky, Chintala & Bottou, 2017, "Wasserstein GAN", arXiv:1701.07875.

    Args:
        fake_scores: Critic scores on generated images, shape (batch, 1) or (batch,).

    Returns:
        Float32 scalar.
    """
    return -ops.mean(_f32(fake_scores))


# --- Hinge --------------------------------------------------------------------------------------


def hinge_discriminator_loss(real_logits: Tensor, fake_logits: Tensor) -> Tensor:
    """Hinge discriminator loss.

    Formula:
    ```
    d_loss = mean(relu(1 - real_logits)) + mean(relu(1 + fake_logits))
    ```

    Minimised by the discriminator; samples already beyond the margin (real >= 1,
    fake <= -1) contribute no loss and no gradient.

    Papers: Lim & Ye, 2017, "Geometric GAN", arXiv:1705.02894; Miyato et al., 2018,
    "Spectral Normalization for GANs", arXiv:1802.05957.

    Args:
        real_logits: Raw discriminator output on real images, shape (batch, 1) or (batch,).
        fake_logits: Raw discriminator output on generated images, same shape convention.

    Returns:
        Float32 scalar.
    """
    return ops.mean(ops.relu(1.0 - _f32(real_logits))) + ops.mean(ops.relu(1.0 + _f32(fake_logits)))


def hinge_generator_loss(fake_logits: Tensor) -> Tensor:
    """Hinge-GAN generator loss.

    Formula:
    ```
    g_loss = -mean(fake_logits)
    ```

    Minimised by the generator.

    Papers: Lim & Ye, 2017, "Geometric GAN", arXiv:1705.02894; Miyato et al., 2018,
    "Spectral Normalization for GANs", arXiv:1802.05957.

    Note:
        The generator side has no hinge: it is the same linear loss as WGAN's generator.

    Args:
        fake_logits: Raw discriminator output on generated images, shape (batch, 1) or (batch,).

    Returns:
        Float32 scalar.
    """
    return -ops.mean(_f32(fake_logits))


# --- Least squares ------------------------------------------------------------------------------


def least_squares_discriminator_loss(real_logits: Tensor, fake_logits: Tensor) -> Tensor:
    """Least-squares (LSGAN) discriminator loss, with targets real = 1, fake = 0.

    Formula:
    ```
    d_loss = 0.5 * mean((real_logits - 1)^2) + 0.5 * mean(fake_logits^2)
    ```

    Minimised by the discriminator.

    Paper: Mao et al., 2017, "Least Squares Generative Adversarial Networks",
    arXiv:1611.04076 (Eq. 2 with the a = 0, b = c = 1 coding).

    Note:
        The squares act on the raw network output (what this module calls logits), not on
        sigmoid(logits): LSGAN's discriminator has a linear output layer.

    Args:
        real_logits: Raw discriminator output on real images, shape (batch, 1) or (batch,).
        fake_logits: Raw discriminator output on generated images, same shape convention.

    Returns:
        Float32 scalar.
    """
    real_term = ops.mean(ops.square(_f32(real_logits) - 1.0))
    fake_term = ops.mean(ops.square(_f32(fake_logits)))
    return 0.5 * real_term + 0.5 * fake_term


def least_squares_generator_loss(fake_logits: Tensor) -> Tensor:
    """Least-squares (LSGAN) generator loss: the generator wants its fakes scored 1.

    Formula:
    ```
    g_loss = 0.5 * mean((fake_logits - 1)^2)
    ```

    Minimised by the generator.

    Paper: Mao et al., 2017, "Least Squares Generative Adversarial Networks",
    arXiv:1611.04076 (Eq. 2 with c = 1).

    Note:
        Acts on the raw network output, not on sigmoid(logits).

    Args:
        fake_logits: Raw discriminator output on generated images, shape (batch, 1) or (batch,).

    Returns:
        Float32 scalar.
    """
    return 0.5 * ops.mean(ops.square(_f32(fake_logits) - 1.0))


# --- Lipschitz constraints for critics -----------------------------------------------------------


def sample_interpolation_weights(
    batch_size: int | Tensor, ndim: int, seed: keras.random.SeedGenerator | int
) -> Tensor:
    """Draw one WGAN-GP mixing weight per sample, w ~ U[0, 1).

    Formula:
    ```
    w = uniform(shape=(batch_size, 1, ..., 1), minval=0, maxval=1)   # ndim axes in total
    ```

    The trailing size-1 axes let `w` broadcast over an image batch of rank `ndim`.

    Paper: Gulrajani et al., 2017, "Improved Training of Wasserstein GANs",
    arXiv:1704.00028 (Algorithm 1, epsilon ~ U[0, 1]).

    Args:
        batch_size: Number of samples; may be a scalar tensor such as `tf.shape(x)[0]`.
        ndim: Rank of the image batch the weights will mix, e.g. 4 for (batch, H, W, C).
        seed: A `keras.random.SeedGenerator` (fresh draws on every call) or an int (the same
            draw every call).

    Returns:
        Float32 tensor of shape (batch_size, 1, ..., 1) with values in [0, 1).

    Raises:
        ValueError: If `ndim` < 1.
    """
    if ndim < 1:
        raise ValueError(f"ndim must be the rank of the image batch (>= 1, e.g. 4); got {ndim}")
    shape = (batch_size,) + (1,) * (ndim - 1)
    return keras.random.uniform(shape, minval=0.0, maxval=1.0, dtype="float32", seed=seed)


def gradient_penalty(
    critic: keras.Model,
    real_images: Tensor,
    fake_images: Tensor,
    weights: Tensor,
    labels: Tensor | None = None,
) -> Tensor:
    """WGAN-GP gradient penalty at random points between real and fake images.

    Formula:
    ```
    x_hat   = weights * real_images + (1 - weights) * fake_images
    g_i     = d critic(x_hat)_i / d x_hat_i                 # per sample
    norm_i  = sqrt(sum over non-batch axes of g_i^2 + 1e-12)
    penalty = mean((norm_i - 1)^2)
    ```

    Added to the critic loss as `gp_weight * penalty` (the paper uses gp_weight = 10) and
    minimised by the critic; the result stays differentiable with respect to the critic's
    weights, so call it inside the critic step's tape.

    Paper: Gulrajani et al., 2017, "Improved Training of Wasserstein GANs", arXiv:1704.00028
    (Eq. 3).

    Note:
        The 1e-12 inside the sqrt is not in the paper; it keeps the gradient of the norm
        finite when a sample's gradient is exactly zero. The per-sample gradient is taken
        as the gradient of the summed scores, which is exact only if the critic treats samples
        independently: use no batch normalisation in the critic (the paper uses layer norm).
        TensorFlow only: the inner gradient uses `tf.GradientTape`.

    Args:
        critic: Critic `keras.Model`; called as `critic(x_hat, training=True)`, or
            `critic([x_hat, labels], training=True)` when `labels` is given.
        real_images: Real batch, shape (batch, H, W, C) (any rank >= 2 works).
        fake_images: Generated batch, same shape as `real_images`.
        weights: Mixing weights of shape (batch, 1, ..., 1), drawn from U[0, 1]; see
            `sample_interpolation_weights`.
        labels: Class labels for a conditional critic, or None.

    Returns:
        Float32 scalar.
    """
    weights = _f32(weights)
    x_hat = weights * _f32(real_images) + (1.0 - weights) * _f32(fake_images)
    with tf.GradientTape() as tape:
        tape.watch(x_hat)
        inputs = x_hat if labels is None else [x_hat, labels]
        scores = _f32(critic(inputs, training=True))
        total = ops.sum(scores)
    grads = tape.gradient(total, x_hat)
    non_batch_axes = tuple(range(1, len(grads.shape)))
    norms = ops.sqrt(ops.sum(ops.square(grads), axis=non_batch_axes) + _EPSILON)
    return ops.mean(ops.square(norms - 1.0))


def clip_weights(model: keras.Model, clip_value: float) -> None:
    """Clip every trainable weight of `model` into [-clip_value, clip_value], in place.

    Formula:
    ```
    w <- clip(w, -clip_value, clip_value)   for every w in model.trainable_weights
    ```

    Call after each critic update. Non-trainable state (e.g. batch-norm moving statistics)
    is left alone.

    Paper: Arjovsky, Chintala & Bottou, 2017, "Wasserstein GAN", arXiv:1701.07875
    (Algorithm 1, c = 0.01).

    Args:
        model: The critic.
        clip_value: c > 0.

    Raises:
        ValueError: If `clip_value` <= 0.
    """
    if not clip_value > 0:
        raise ValueError(f"clip_value must be > 0 (the WGAN paper uses 0.01); got {clip_value}")
    for weight in model.trainable_weights:
        weight.assign(ops.clip(weight, -clip_value, clip_value))


# --- Registry -----------------------------------------------------------------------------------

LossFn = Callable[..., Tensor]

# Every d_fn takes (real_logits, fake_logits) positionally, every g_fn takes (fake_logits).
LOSS_PAIRS: dict[str, tuple[LossFn, LossFn]] = {
    "minimax": (bce_discriminator_loss, minimax_generator_loss),
    "non_saturating": (bce_discriminator_loss, non_saturating_generator_loss),
    "wasserstein": (wasserstein_critic_loss, wasserstein_generator_loss),
    "hinge": (hinge_discriminator_loss, hinge_generator_loss),
    "least_squares": (least_squares_discriminator_loss, least_squares_generator_loss),
}

# True where sigmoid(logit) is a probability D(x); otherwise the raw score is what to report.
SCORE_IS_PROBABILITY: dict[str, bool] = {
    "minimax": True,
    "non_saturating": True,
    "wasserstein": False,
    "hinge": False,
    "least_squares": False,
}


def _check_name(name: str) -> None:
    if name not in LOSS_PAIRS:
        raise ValueError(f"unknown loss {name!r}; choose one of: {', '.join(LOSS_PAIRS)}")


def get_loss_pair(name: str) -> tuple[LossFn, LossFn]:
    """Return the `(d_loss_fn, g_loss_fn)` pair registered under `name`.

    Args:
        name: One of the keys of `LOSS_PAIRS`, e.g. "non_saturating".

    Returns:
        `d_loss_fn(real_logits, fake_logits)` and `g_loss_fn(fake_logits)`.

    Raises:
        ValueError: If `name` is unknown; the message lists the choices.
    """
    _check_name(name)
    return LOSS_PAIRS[name]


def reports_probabilities(name: str) -> bool:
    """Whether sigmoid(logit) is a probability D(x) for loss `name` (the BCE losses).

    Training code reports mean D(x) as sigmoid(logit) when this is True, the raw score otherwise.

    Args:
        name: One of the keys of `LOSS_PAIRS`.

    Returns:
        `SCORE_IS_PROBABILITY[name]`.

    Raises:
        ValueError: If `name` is unknown; the message lists the choices.
    """
    _check_name(name)
    return SCORE_IS_PROBABILITY[name]
