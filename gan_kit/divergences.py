"""Divergences between distributions, and the GAN objective they come from.

Plain NumPy functions for the theory notebooks: discrete (histogram) distributions are 1-D
arrays of non-negative weights over the same bins; densities on a grid are arrays of density
values at evenly spaced points together with the spacing `dx`. Logarithms are natural (nats).

The central identity (Goodfellow et al. 2014, arXiv:1406.2661, Prop. 1 and Thm. 1): for a fixed
generator the best discriminator is D*(x) = p_data(x) / (p_data(x) + p_g(x)), and plugging it
into the value function gives

    V(D*, G) = -log 4 + 2 * JS(p_data || p_g),

so the generator of the minimax game minimises the Jensen-Shannon divergence.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

# About the float64 spacing just below 1: a D closer to 1 than this rounds to 1.0.
_D_EPSILON = 1e-16


def _as_distribution(weights: ArrayLike, name: str) -> np.ndarray:
    """Non-negative weights (counts or probabilities) as a probability vector summing to 1."""
    p = np.asarray(weights, dtype=np.float64).ravel()
    if p.size == 0:
        raise ValueError(f"{name} is empty; pass one weight per bin")
    if not np.all(np.isfinite(p)) or np.any(p < 0):
        raise ValueError(f"{name} must hold finite, non-negative weights (counts or probabilities)")
    total = p.sum()
    if total <= 0:
        raise ValueError(f"{name} sums to 0; at least one bin needs a positive weight")
    return p / total


def _pair(p: ArrayLike, q: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
    p, q = _as_distribution(p, "p"), _as_distribution(q, "q")
    if p.shape != q.shape:
        raise ValueError(
            f"p has {p.size} bins and q has {q.size}; histogram both over the same bins"
        )
    return p, q


def kl_divergence(p: ArrayLike, q: ArrayLike) -> float:
    """Kullback-Leibler divergence KL(p || q) of two discrete distributions, in nats.

    Formula:
    ```
    KL(p || q) = sum_i p_i * log(p_i / q_i)      (terms with p_i = 0 count 0)
    ```

    It is >= 0, 0 only for p = q, not symmetric, and infinite as soon as q_i = 0 where
    p_i > 0: the reason a generator whose support misses the data's is not helped by it.

    Args:
        p, q: non-negative weights over the same bins, shape (bins,); each is normalised to
            sum to 1, so histogram counts work directly.

    Returns:
        A float in [0, inf].

    Example:
        >>> round(kl_divergence([0.5, 0.5], [0.9, 0.1]), 4)
        0.5108
    """
    p, q = _pair(p, q)
    support = p > 0
    if np.any(q[support] == 0):
        return float("inf")
    return float(np.sum(p[support] * np.log(p[support] / q[support])))


def js_divergence(p: ArrayLike, q: ArrayLike) -> float:
    """Jensen-Shannon divergence JS(p || q) of two discrete distributions, in nats.

    Formula:
    ```
    m = (p + q) / 2
    JS(p || q) = KL(p || m) / 2 + KL(q || m) / 2
    ```

    Symmetric, always finite, 0 only for p = q, and at most log 2 (reached when p and q have
    disjoint supports; then it stays at log 2 however far apart they are, which is why its
    gradient says nothing about which way to move: Arjovsky & Bottou 2017, arXiv:1701.04862).

    Args:
        p, q: non-negative weights over the same bins, shape (bins,), normalised to sum to 1.

    Returns:
        A float in [0, log 2].

    Example:
        >>> round(js_divergence([1, 0], [0, 1]), 4) == round(float(np.log(2)), 4)
        True
    """
    p, q = _pair(p, q)
    m = (p + q) / 2
    return float(0.5 * kl_divergence(p, m) + 0.5 * kl_divergence(q, m))


def optimal_discriminator(p_data: ArrayLike, p_g: ArrayLike) -> np.ndarray:
    """The best discriminator for a fixed generator, pointwise.

    Formula (Goodfellow et al. 2014, Prop. 1):
    ```
    D*(x) = p_data(x) / (p_data(x) + p_g(x))
    ```

    Where both densities are 0 any value is optimal (no sample ever lands there); this returns
    1/2 there.

    Args:
        p_data, p_g: densities (or probabilities) at the same points, same shape, >= 0.

    Returns:
        D*, float64 array of that shape, values in [0, 1].

    Example:
        >>> optimal_discriminator([3.0, 1.0, 0.0], [1.0, 1.0, 0.0]).tolist()
        [0.75, 0.5, 0.5]
    """
    p_data = np.asarray(p_data, dtype=np.float64)
    p_g = np.asarray(p_g, dtype=np.float64)
    if p_data.shape != p_g.shape:
        raise ValueError(
            f"p_data has shape {p_data.shape} and p_g {p_g.shape}; evaluate both on one grid"
        )
    if np.any(p_data < 0) or np.any(p_g < 0):
        raise ValueError("densities must be non-negative")
    total = p_data + p_g
    return np.divide(p_data, total, out=np.full_like(total, 0.5), where=total > 0)


def value_function(D: ArrayLike, p_data: ArrayLike, p_g: ArrayLike, dx: float = 1.0) -> float:
    """The GAN value function V(D, G) for densities on an evenly spaced grid.

    Formula (Goodfellow et al. 2014, Eq. 1), as a Riemann sum over the grid points x_i:
    ```
    V(D, G) = E_{x~p_data}[log D(x)] + E_{x~p_g}[log(1 - D(x))]
            = sum_i (p_data(x_i) * log D(x_i) + p_g(x_i) * log(1 - D(x_i))) * dx
    ```

    The discriminator maximises V, the generator minimises it. Points where a density is 0
    contribute nothing. D is clipped to [1e-16, 1 - 1e-16] before the logs: where p_g is below
    1e-16 * p_data, D* rounds to exactly 1.0 in float64, and an unclipped log(1 - D) would turn
    a negligible term into -inf. With D = D* the value is -log 4 + 2 * JS(p_data || p_g)
    (tested in `tests/test_divergences.py`).

    Args:
        D: discriminator probabilities D(x_i) in [0, 1], same shape as the densities.
        p_data, p_g: density values at the grid points (or probabilities with dx = 1).
        dx: grid spacing; 1.0 for probability vectors over bins.

    Returns:
        A float <= 0.
    """
    D = np.asarray(D, dtype=np.float64)
    p_data = np.asarray(p_data, dtype=np.float64)
    p_g = np.asarray(p_g, dtype=np.float64)
    if not (D.shape == p_data.shape == p_g.shape):
        raise ValueError(
            f"D {D.shape}, p_data {p_data.shape} and p_g {p_g.shape} must share one grid shape"
        )
    if np.any((D < 0) | (D > 1)):
        raise ValueError("D holds probabilities; apply a sigmoid to logits first")
    if dx <= 0:
        raise ValueError(f"dx is the grid spacing and must be positive, got {dx}")
    D = np.clip(D, _D_EPSILON, 1.0 - _D_EPSILON)
    log_real = np.where(p_data > 0, np.log(D), 0.0)
    log_fake = np.where(p_g > 0, np.log1p(-D), 0.0)
    return float(np.sum(p_data * log_real + p_g * log_fake) * dx)


def histogram(samples: ArrayLike, edges: ArrayLike) -> np.ndarray:
    """Probabilities of 1-D samples over the bins `edges` (values outside are dropped).

    Args:
        samples: any shape; flattened.
        edges: increasing bin edges, shape (bins + 1,).

    Returns:
        Probabilities, shape (bins,), summing to 1 (all zeros if no sample falls inside).
    """
    counts, _ = np.histogram(np.asarray(samples, dtype=np.float64).ravel(), bins=edges)
    total = counts.sum()
    return counts / total if total else counts.astype(np.float64)


def wasserstein_1d(samples_p: ArrayLike, samples_q: ArrayLike) -> float:
    """Earth mover's (Wasserstein-1) distance between two sets of 1-D samples.

    Formula (for 1-D distributions, with F the cumulative distribution functions):
    ```
    W1(p, q) = inf over couplings E|x - y| = integral |F_p(t) - F_q(t)| dt
    ```

    Unlike JS it grows with the distance between disjoint distributions (two point masses at
    0 and a have W1 = |a|), so it gives a useful signal even when supports do not overlap:
    the motivation of WGAN (Arjovsky et al. 2017, arXiv:1701.07875).

    Args:
        samples_p, samples_q: samples of any shape (flattened); sizes may differ.

    Returns:
        A float >= 0, in the samples' units. Computed by `scipy.stats.wasserstein_distance`.
    """
    from scipy.stats import wasserstein_distance

    x = np.asarray(samples_p, dtype=np.float64).ravel()
    y = np.asarray(samples_q, dtype=np.float64).ravel()
    if x.size == 0 or y.size == 0:
        raise ValueError("wasserstein_1d needs at least one sample on each side")
    return float(wasserstein_distance(x, y))
