"""gan_kit.divergences: each formula against a hand computation or a known identity."""

import numpy as np
import pytest
from scipy.stats import norm

from gan_kit import divergences as dv


def test_kl_matches_hand_computation_and_is_asymmetric():
    p, q = [0.5, 0.5], [0.9, 0.1]
    expected = 0.5 * np.log(0.5 / 0.9) + 0.5 * np.log(0.5 / 0.1)
    assert dv.kl_divergence(p, q) == pytest.approx(expected)
    assert dv.kl_divergence(q, p) != pytest.approx(expected)
    assert dv.kl_divergence(p, p) == 0.0


def test_kl_is_infinite_when_q_misses_the_support_of_p():
    assert dv.kl_divergence([0.5, 0.5], [1.0, 0.0]) == float("inf")
    # the other way round is finite: p_i = 0 terms count 0
    assert np.isfinite(dv.kl_divergence([1.0, 0.0], [0.5, 0.5]))


def test_counts_are_normalised():
    assert dv.kl_divergence([1, 1], [9, 1]) == pytest.approx(
        dv.kl_divergence([0.5, 0.5], [0.9, 0.1])
    )


def test_js_is_symmetric_bounded_and_log2_for_disjoint_supports():
    p, q = [0.2, 0.3, 0.5], [0.6, 0.3, 0.1]
    assert dv.js_divergence(p, q) == pytest.approx(dv.js_divergence(q, p))
    assert 0 < dv.js_divergence(p, q) < np.log(2)
    assert dv.js_divergence([1, 0, 0, 0], [0, 0, 0, 1]) == pytest.approx(np.log(2))
    assert dv.js_divergence([1, 0, 0, 0], [0, 1, 0, 0]) == pytest.approx(np.log(2))


def test_optimal_discriminator_formula_and_empty_points():
    d = dv.optimal_discriminator([3.0, 1.0, 0.0, 0.0], [1.0, 1.0, 0.0, 2.0])
    np.testing.assert_allclose(d, [0.75, 0.5, 0.5, 0.0])


def test_value_at_optimal_discriminator_is_minus_log4_plus_twice_js():
    x = np.linspace(-8, 8, 4001)
    dx = x[1] - x[0]
    p_data = norm.pdf(x, loc=0.0, scale=1.0)
    p_g = norm.pdf(x, loc=1.5, scale=0.7)
    d_star = dv.optimal_discriminator(p_data, p_g)
    value = dv.value_function(d_star, p_data, p_g, dx)
    js = dv.js_divergence(p_data, p_g)  # same grid: the bins' weights are density * dx
    assert value == pytest.approx(-np.log(4) + 2 * js, abs=1e-6)
    # D* is the maximiser: any other discriminator does worse
    for other in (np.full_like(x, 0.5), np.clip(d_star + 0.05, 0, 1), 1 / (1 + np.exp(-x))):
        assert dv.value_function(other, p_data, p_g, dx) < value
    # p_g = p_data: the global optimum, V = -log 4 and D* = 1/2
    same = dv.value_function(dv.optimal_discriminator(p_data, p_data), p_data, p_data, dx)
    assert same == pytest.approx(-np.log(4), abs=1e-6)


def test_value_function_ignores_log_zero_where_density_is_zero():
    assert dv.value_function([1.0, 0.0], [1.0, 0.0], [0.0, 1.0]) == pytest.approx(0.0)
    # a sure mistake (D = 0 on a real point) is very costly, not -inf: D is clipped at 1e-16
    assert dv.value_function([0.0, 0.0], [1.0, 0.0], [0.0, 1.0]) < -30


def test_histogram_probabilities():
    probs = dv.histogram([0.1, 0.2, 1.5, 9.0], edges=[0, 1, 2])
    np.testing.assert_allclose(probs, [2 / 3, 1 / 3])


def test_wasserstein_1d_of_point_masses_and_shifts():
    assert dv.wasserstein_1d([0.0], [3.0]) == pytest.approx(3.0)
    rng = np.random.default_rng(0)
    x = rng.normal(size=2000)
    assert dv.wasserstein_1d(x, x + 2.0) == pytest.approx(2.0)


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: dv.kl_divergence([0.5, 0.5], [1.0]), "same bins"),
        (lambda: dv.js_divergence([-1, 2], [1, 1]), "non-negative"),
        (lambda: dv.js_divergence([0, 0], [1, 1]), "sums to 0"),
        (lambda: dv.optimal_discriminator([1.0], [1.0, 2.0]), "one grid"),
        (lambda: dv.value_function([2.0], [1.0], [1.0]), "sigmoid"),
        (lambda: dv.value_function([0.5], [1.0], [1.0], dx=0), "positive"),
        (lambda: dv.wasserstein_1d([], [1.0]), "at least one sample"),
    ],
)
def test_bad_input_names_the_problem(call, message):
    with pytest.raises(ValueError, match=message):
        call()
