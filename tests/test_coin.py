"""Tests for vi_lib.models.coin: the Beta–Bernoulli coin toss."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import integrate, special, stats

from vi_lib.models import coin
from vi_lib.models.coin import (
    coin_laplace,
    coin_log_evidence,
    coin_log_joint,
    coin_log_joint_logit,
    coin_posterior,
    coin_posterior_mean,
)

counts = st.integers(min_value=0, max_value=60)
prior = st.floats(min_value=0.5, max_value=20.0)


def test_all_is_exported():
    assert set(coin.__all__) == {"coin_posterior", "coin_posterior_mean", "coin_log_evidence",
                                 "coin_log_joint", "coin_log_joint_logit", "coin_laplace",
                                 "logit_normal_pdf"}
    import vi_lib.models as models
    for name in coin.__all__:
        assert getattr(models, name) is getattr(coin, name)


def test_posterior_is_conjugate_update():
    a, b = coin_posterior(7, 3, 2.0, 5.0)
    assert (a, b) == (9.0, 8.0)
    assert np.isclose(coin_posterior_mean(7, 3, 2.0, 5.0), 9.0 / 17.0, rtol=0, atol=1e-15)


def test_posterior_broadcasts():
    a, b = coin_posterior(np.arange(4), 2, 1.0, np.array([[1.0], [2.0]]))
    assert a.shape == (4,) and b.shape == (2, 1)


@settings(max_examples=40, deadline=None)
@given(heads=counts, tails=counts, a0=prior, b0=prior)
def test_log_evidence_matches_quadrature(heads, tails, a0, b0):
    # p(x) = ∫ p(x, θ) dθ over (0, 1); integrate exp(log joint - log evidence) ≈ 1
    # to avoid underflow, which checks the value and the normalisation together.
    log_z = coin_log_evidence(heads, tails, a0, b0)
    f = lambda th: np.exp(coin_log_joint(th, heads, tails, a0, b0) - log_z)  # noqa: E731
    mode = (a0 + heads) / (a0 + b0 + heads + tails)
    val, _ = integrate.quad(f, 0.0, 1.0, points=[mode], epsabs=1e-12, epsrel=1e-10, limit=200)
    assert abs(val - 1.0) < 1e-8


@settings(max_examples=40, deadline=None)
@given(heads=counts, tails=counts, a0=prior, b0=prior)
def test_log_joint_logit_integrates_to_evidence(heads, tails, a0, b0):
    log_z = coin_log_evidence(heads, tails, a0, b0)
    f = lambda e: np.exp(coin_log_joint_logit(e, heads, tails, a0, b0) - log_z)  # noqa: E731
    center = np.log((a0 + heads) / (b0 + tails))
    # the integrand decays at least like exp(-min(a, b) |eta|) with a, b >= 0.5: ±80 suffices
    val, _ = integrate.quad(f, center - 80, center + 80, points=[center], epsabs=1e-12,
                            epsrel=1e-10, limit=200)
    assert abs(val - 1.0) < 1e-8


def test_log_evidence_small_cases_by_hand():
    # uniform prior, one head: 1/2; two heads: 1/3; HT sequence: 1/6
    assert np.isclose(coin_log_evidence(1, 0), np.log(1 / 2), rtol=0, atol=1e-15)
    assert np.isclose(coin_log_evidence(2, 0), np.log(1 / 3), rtol=0, atol=1e-15)
    assert np.isclose(coin_log_evidence(1, 1), np.log(1 / 6), rtol=0, atol=1e-15)
    # count convention: P(one head in two tosses) = 1/3 under a uniform prior
    assert np.isclose(coin_log_evidence(1, 1, convention="count"), np.log(1 / 3),
                      rtol=0, atol=1e-15)


@settings(max_examples=40, deadline=None)
@given(heads=counts, tails=counts, a0=prior, b0=prior)
def test_count_convention_against_betabinom(heads, tails, a0, b0):
    n = heads + tails
    expected = stats.betabinom.logpmf(heads, n, a0, b0)
    assert np.isclose(coin_log_evidence(heads, tails, a0, b0, convention="count"), expected,
                      rtol=1e-10, atol=1e-10)


def test_log_evidence_large_counts_is_finite():
    v = coin_log_evidence(10**6, 2 * 10**6, 1.0, 1.0)
    assert np.isfinite(v)
    assert np.isclose(v, special.betaln(1 + 1e6, 1 + 2e6), rtol=1e-14)


def test_log_joint_matches_scipy_and_support():
    th = np.linspace(0.01, 0.99, 50)
    h, t, a0, b0 = 7, 3, 2.0, 3.0
    expected = (stats.beta.logpdf(th, a0, b0) + h * np.log(th) + t * np.log1p(-th))
    assert np.allclose(coin_log_joint(th, h, t, a0, b0), expected, rtol=0, atol=1e-12)
    assert np.all(coin_log_joint(np.array([-0.1, 1.1]), h, t, a0, b0) == -np.inf)
    # exponent zero at a boundary: 0 * log 0 = 0, finite
    assert np.isfinite(coin_log_joint(0.0, 0, 3, 1.0, 1.0))
    assert coin_log_joint(0.0, 2, 3, 1.0, 1.0) == -np.inf


def test_log_joint_logit_is_change_of_variables_and_stable():
    eta = np.linspace(-5, 5, 41)
    th = special.expit(eta)
    jac = np.log(th) + np.log1p(-th)
    assert np.allclose(coin_log_joint_logit(eta, 7, 3, 2.0, 3.0),
                       coin_log_joint(th, 7, 3, 2.0, 3.0) + jac, rtol=0, atol=1e-12)
    far = coin_log_joint_logit(np.array([-800.0, 800.0]), 7, 3, 2.0, 3.0)
    assert np.all(np.isfinite(far))
    # for large |eta|: log sigma(eta) ≈ -|eta| on the losing side
    assert np.isclose(far[0], -9.0 * 800.0 - special.betaln(2.0, 3.0), rtol=1e-12)


@settings(max_examples=40, deadline=None)
@given(heads=counts, tails=counts, a0=prior, b0=prior)
def test_laplace_logit_closed_form(heads, tails, a0, b0):
    a, b = a0 + heads, b0 + tails
    mode, sigma = coin_laplace(heads, tails, a0, b0, scale="logit")
    m = a / (a + b)
    assert np.isclose(mode, np.log(a / b), rtol=0, atol=1e-10)
    assert np.isclose(sigma, 1 / np.sqrt((a + b) * m * (1 - m)), rtol=1e-10)


@settings(max_examples=40, deadline=None)
@given(heads=counts, tails=counts, a0=st.floats(1.5, 20.0), b0=st.floats(1.5, 20.0))
def test_laplace_probability_closed_form_and_curvature(heads, tails, a0, b0):
    a, b = a0 + heads, b0 + tails
    mode, sigma = coin_laplace(heads, tails, a0, b0, scale="probability")
    assert np.isclose(mode, (a - 1) / (a + b - 2), rtol=0, atol=1e-12)
    # curvature against a central finite difference of the log joint
    h = 1e-4 * min(mode, 1 - mode)
    f = lambda x: coin_log_joint(x, heads, tails, a0, b0)  # noqa: E731
    d2 = (f(mode + h) - 2 * f(mode) + f(mode - h)) / h**2
    assert np.isclose(sigma, 1 / np.sqrt(-d2), rtol=1e-4)


@pytest.mark.parametrize("call, name", [
    (lambda: coin_posterior(-1, 2), "heads"),
    (lambda: coin_posterior(1, -2), "tails"),
    (lambda: coin_posterior(1, 2, 0.0, 1.0), "a0"),
    (lambda: coin_posterior(1, 2, 1.0, -1.0), "b0"),
    (lambda: coin_log_evidence(np.nan, 2), "heads"),
    (lambda: coin_log_evidence(1, 2, convention="binomial"), "convention"),
    (lambda: coin_log_joint(0.5, 1, 2, -1.0, 1.0), "a0"),
    (lambda: coin_log_joint_logit(0.5, 1, -2), "tails"),
    (lambda: coin_log_joint(np.array([0.5, np.nan]), 1, 2), "theta"),
    (lambda: coin_log_joint_logit(np.nan, 1, 2), "eta"),
    (lambda: coin_laplace(0, 3, 1.0, 1.0, scale="probability"), "scale='probability'"),
    (lambda: coin_laplace(1, 3, scale="log"), "scale"),
])
def test_bad_input_raises_value_error_naming_argument(call, name):
    with pytest.raises(ValueError, match=name):
        call()


def test_logit_normal_pdf_is_the_pushforward_of_a_gaussian():
    from vi_lib.models.coin import logit_normal_pdf

    mu, sigma = 1.3, 0.7
    total, _ = integrate.quad(logit_normal_pdf, 0, 1, args=(mu, sigma))
    assert abs(total - 1) < 1e-9
    # P(theta < c) = P(eta < logit c)
    c = 0.6
    mass, _ = integrate.quad(logit_normal_pdf, 0, c, args=(mu, sigma))
    assert abs(mass - stats.norm.cdf(np.log(c / (1 - c)), mu, sigma)) < 1e-9
    assert np.all(logit_normal_pdf(np.array([-0.5, 0.0, 1.0, 2.0]), mu, sigma) == 0.0)
    with pytest.raises(ValueError, match="sigma"):
        logit_normal_pdf(0.5, 0.0, -1.0)
