"""Tests for vi_lib.elbo: entropies, KL between Betas and the ELBO of the coin toss."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import integrate, special, stats

from vi_lib import elbo as elbo_mod
from vi_lib.elbo import (
    MonteCarloEstimate,
    elbo_beta_coin,
    elbo_gaussian_quadrature,
    elbo_monte_carlo,
    entropy_beta,
    entropy_categorical,
    entropy_normal,
    kl_beta,
)
from vi_lib.models import coin_log_evidence, coin_log_joint, coin_log_joint_logit, coin_posterior

beta_param = st.floats(min_value=0.1, max_value=100.0)
counts = st.integers(min_value=0, max_value=50)
prior = st.floats(min_value=0.5, max_value=10.0)


def test_all_names_exist():
    for name in elbo_mod.__all__:
        assert hasattr(elbo_mod, name)


# --- the ELBO identity on the coin toss -----------------------------------------------------

@settings(max_examples=200, deadline=None)
@given(a_q=beta_param, b_q=beta_param, heads=counts, tails=counts, a0=prior, b0=prior)
def test_elbo_plus_kl_is_log_evidence(a_q, b_q, heads, tails, a0, b0):
    a, b = coin_posterior(heads, tails, a0, b0)
    elbo = elbo_beta_coin(a_q, b_q, heads, tails, a0, b0)
    kl = kl_beta(a_q, b_q, a, b)
    log_z = coin_log_evidence(heads, tails, a0, b0)
    assert abs(elbo + kl - log_z) < 1e-10
    assert elbo <= log_z + 1e-12
    assert kl >= -1e-12


@settings(max_examples=50, deadline=None)
@given(heads=counts, tails=counts, a0=prior, b0=prior)
def test_elbo_equals_log_evidence_at_exact_posterior(heads, tails, a0, b0):
    a, b = coin_posterior(heads, tails, a0, b0)
    assert abs(elbo_beta_coin(a, b, heads, tails, a0, b0)
               - coin_log_evidence(heads, tails, a0, b0)) < 1e-10
    assert abs(kl_beta(a, b, a, b)) < 1e-12


def test_elbo_is_maximised_at_posterior():
    from scipy import optimize
    heads, tails, a0, b0 = 7, 3, 2.0, 2.0
    res = optimize.minimize(lambda p: -elbo_beta_coin(*np.exp(p), heads, tails, a0, b0),
                            x0=np.zeros(2), method="BFGS", options={"gtol": 1e-10})
    assert np.allclose(np.exp(res.x), [9.0, 5.0], rtol=1e-4)
    assert abs(-res.fun - coin_log_evidence(heads, tails, a0, b0)) < 1e-9


def test_elbo_vectorises():
    a_q = np.linspace(0.5, 20, 7)[:, None]
    b_q = np.linspace(0.5, 20, 5)[None, :]
    out = elbo_beta_coin(a_q, b_q, 7, 3, 1.0, 1.0)
    assert out.shape == (7, 5)
    assert out[2, 3] == elbo_beta_coin(a_q[2, 0], b_q[0, 3], 7, 3, 1.0, 1.0)


def test_elbo_against_quadrature():
    a_q, b_q, heads, tails, a0, b0 = 3.0, 4.5, 6, 2, 1.5, 2.0
    q = stats.beta(a_q, b_q)
    f = lambda th: q.pdf(th) * (coin_log_joint(th, heads, tails, a0, b0) - q.logpdf(th))  # noqa
    val, _ = integrate.quad(f, 0, 1, epsabs=1e-13, epsrel=1e-12)
    assert abs(val - elbo_beta_coin(a_q, b_q, heads, tails, a0, b0)) < 1e-9


# --- Monte Carlo and quadrature estimators ---------------------------------------------------

@pytest.mark.parametrize("a_q, b_q", [(2.0, 2.0), (9.0, 4.0), (30.0, 5.0), (0.8, 1.5)])
def test_monte_carlo_elbo_within_four_standard_errors(a_q, b_q):
    rng = np.random.default_rng(20261124)
    heads, tails, a0, b0 = 7, 3, 1.0, 1.0
    q = stats.beta(a_q, b_q)
    est = elbo_monte_carlo(lambda th: coin_log_joint(th, heads, tails, a0, b0),
                           lambda n, r: q.rvs(size=n, random_state=r), q.logpdf, 20_000, rng)
    assert isinstance(est, MonteCarloEstimate)
    exact = elbo_beta_coin(a_q, b_q, heads, tails, a0, b0)
    assert est.std_error > 0
    assert abs(est.estimate - exact) < 4 * est.std_error


def test_monte_carlo_elbo_zero_variance_at_posterior():
    rng = np.random.default_rng(1)
    q = stats.beta(8.0, 4.0)
    est, se = elbo_monte_carlo(lambda th: coin_log_joint(th, 7, 3),
                               lambda n, r: q.rvs(size=n, random_state=r), q.logpdf, 1000, rng)
    assert se < 1e-10
    assert abs(est - coin_log_evidence(7, 3)) < 1e-10


def test_monte_carlo_elbo_is_reproducible_with_seed():
    q = stats.norm(0.3, 0.5)
    args = (lambda e: coin_log_joint_logit(e, 7, 3), lambda n, r: q.rvs(size=n, random_state=r),
            q.logpdf, 500)
    assert elbo_monte_carlo(*args, np.random.default_rng(5)) == elbo_monte_carlo(
        *args, np.random.default_rng(5))


@pytest.mark.parametrize("mu_q, sigma_q", [(0.0, 1.0), (0.85, 0.69), (-1.0, 0.2), (2.0, 1.5)])
def test_gaussian_quadrature_elbo_against_quad(mu_q, sigma_q):
    log_joint = lambda e: coin_log_joint_logit(e, 7, 3, 1.0, 1.0)  # noqa: E731
    q = stats.norm(mu_q, sigma_q)
    f = lambda e: q.pdf(e) * (log_joint(e) - q.logpdf(e))  # noqa: E731
    val, _ = integrate.quad(f, mu_q - 15 * sigma_q, mu_q + 15 * sigma_q, epsabs=1e-13,
                            epsrel=1e-12)
    assert abs(elbo_gaussian_quadrature(log_joint, mu_q, sigma_q) - val) < 1e-10
    assert elbo_gaussian_quadrature(log_joint, mu_q, sigma_q) < coin_log_evidence(7, 3)


def test_gaussian_quadrature_elbo_vectorises():
    log_joint = lambda e: coin_log_joint_logit(e, 7, 3)  # noqa: E731
    mu = np.array([0.0, 0.5, 1.0])
    out = elbo_gaussian_quadrature(log_joint, mu, 0.7)
    assert out.shape == (3,)
    assert out[1] == pytest.approx(elbo_gaussian_quadrature(log_joint, 0.5, 0.7), abs=1e-14)


# --- entropies and KL --------------------------------------------------------------------------

def test_entropy_categorical_uniform_is_maximal():
    k = 30
    assert abs(entropy_categorical(np.full(k, 1 / k)) - np.log(k)) < 1e-14
    rng = np.random.default_rng(0)
    p = rng.dirichlet(np.ones(k), size=2000)
    assert np.all(entropy_categorical(p) < np.log(k))
    assert entropy_categorical(np.eye(k)[3]) == 0.0


@settings(max_examples=100, deadline=None)
@given(a=beta_param, b=beta_param)
def test_entropy_beta_against_scipy(a, b):
    assert np.isclose(entropy_beta(a, b), stats.beta(a, b).entropy(), rtol=1e-9, atol=1e-9)


def test_entropy_normal_against_scipy():
    s = np.array([1e-3, 0.5, 1.0, 40.0])
    assert np.allclose(entropy_normal(s), stats.norm(0, s).entropy(), rtol=0, atol=1e-13)


@settings(max_examples=100, deadline=None)
@given(a_q=st.floats(0.5, 50.0), b_q=st.floats(0.5, 50.0), a_p=st.floats(0.5, 50.0),
       b_p=st.floats(0.5, 50.0))
def test_kl_beta_against_quadrature(a_q, b_q, a_p, b_p):
    q, p = stats.beta(a_q, b_q), stats.beta(a_p, b_p)
    f = lambda th: q.pdf(th) * (q.logpdf(th) - p.logpdf(th))  # noqa: E731
    val, _ = integrate.quad(f, 0, 1, points=[q.mean()], epsabs=1e-11, epsrel=1e-9, limit=200)
    assert np.isclose(kl_beta(a_q, b_q, a_p, b_p), val, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("call, name", [
    (lambda: kl_beta(0.0, 1.0, 1.0, 1.0), "a_q"),
    (lambda: kl_beta(1.0, 1.0, 1.0, -2.0), "b_p"),
    (lambda: entropy_beta(1.0, np.nan), "b"),
    (lambda: entropy_normal(-1.0), "sigma"),
    (lambda: entropy_categorical([0.5, 0.6]), "probs"),
    (lambda: entropy_categorical([-0.5, 1.5]), "probs"),
    (lambda: elbo_beta_coin(1.0, 1.0, -1, 2), "heads"),
    (lambda: elbo_beta_coin(1.0, 1.0, 1, 2, 1.0, 0.0), "b0"),
    (lambda: elbo_gaussian_quadrature(np.sin, 0.0, 0.0), "sigma_q"),
    (lambda: elbo_monte_carlo(np.sin, lambda n, r: r.normal(size=n), np.cos, 1,
                              np.random.default_rng(0)), "n"),
    (lambda: elbo_monte_carlo(np.sin, lambda n, r: r.normal(size=n), np.cos, 10, 0), "rng"),
])
def test_bad_input_raises_value_error_naming_argument(call, name):
    with pytest.raises(ValueError, match=name):
        call()
