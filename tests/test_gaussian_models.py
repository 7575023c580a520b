"""Tests for vi_lib.models.gaussian: the Gaussian targets and their exact posteriors."""

import numpy as np
import pytest
from scipy import integrate, stats

from vi_lib.models import gaussian as g


# --------------------------------------------------------------------------- correlated Gaussian
@pytest.mark.parametrize("rho", [-0.95, -0.3, 0.0, 0.5, 0.99])
def test_correlated_gaussian_precision_is_inverse(rho):
    mu, cov, lam = g.correlated_gaussian([0.3, -1.0], [0.5, 2.0], rho)
    np.testing.assert_allclose(cov @ lam, np.eye(2), atol=1e-12)
    np.testing.assert_allclose(np.sqrt(np.diag(cov)), [0.5, 2.0])
    # the partial correlation from the precision is rho in two dimensions
    np.testing.assert_allclose(-lam[0, 1] / np.sqrt(lam[0, 0] * lam[1, 1]), rho, atol=1e-14)


@pytest.mark.parametrize("kwargs, name", [
    (dict(mu=[0.0, 0.0], sigma=[1.0, -1.0], rho=0.1), "sigma"),
    (dict(mu=[0.0, 0.0], sigma=[1.0, 1.0], rho=1.0), "rho"),
    (dict(mu=[0.0, np.nan], sigma=[1.0, 1.0], rho=0.1), "mu"),
    (dict(mu=[0.0, 0.0, 0.0], sigma=[1.0, 1.0], rho=0.1), "mu"),
])
def test_correlated_gaussian_rejects_bad_input(kwargs, name):
    with pytest.raises(ValueError, match=name):
        g.correlated_gaussian(**kwargs)


def test_mvn_log_density_matches_scipy_on_a_grid():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(3, 3))
    cov = a @ a.T + 0.5 * np.eye(3)
    mu = rng.normal(size=3)
    z = rng.normal(size=(4, 5, 3))
    ref = stats.multivariate_normal(mu, cov).logpdf(z)
    got = g.mvn_log_density(z, mu, np.linalg.inv(cov))
    assert got.shape == (4, 5)
    np.testing.assert_allclose(got, ref, rtol=1e-10)


def test_mvn_log_density_rejects_bad_precision():
    with pytest.raises(ValueError, match="precision"):
        g.mvn_log_density(np.zeros(2), np.zeros(2), [[1.0, 2.0], [2.0, 1.0]])
    with pytest.raises(ValueError, match="precision"):
        g.mvn_log_density(np.zeros(2), np.zeros(2), [[1.0, 0.5], [0.0, 1.0]])
    with pytest.raises(ValueError, match="z"):
        g.mvn_log_density(np.zeros(3), np.zeros(2), np.eye(2))


# --------------------------------------------------------------------------- latent linear-Gaussian
@pytest.mark.parametrize("x, theta", [(1.5, [1.0, 2.0]), (-0.7, [0.3, -1.2]), (2.0, [0.5, 0.5, 1.0])])
def test_latent_linear_posterior_and_evidence_satisfy_bayes(x, theta):
    mean, cov, prec = g.latent_linear_posterior(x, theta)
    theta = np.asarray(theta)
    d = theta.size
    # precision and mean from a direct solve
    np.testing.assert_allclose(prec, np.eye(d) + np.outer(theta, theta))
    np.testing.assert_allclose(cov @ prec, np.eye(d), atol=1e-12)
    np.testing.assert_allclose(mean, np.linalg.solve(prec, theta * x), rtol=1e-12)
    # log p(x) = log p(x, z) - log p(z | x) at arbitrary z
    z = np.random.default_rng(1).normal(size=(7, d))
    log_post = stats.multivariate_normal(mean, cov).logpdf(z)
    np.testing.assert_allclose(g.latent_linear_log_joint(z, x, theta) - log_post,
                               g.latent_linear_log_evidence(x, theta), rtol=1e-10)


def test_latent_linear_posterior_does_not_factorise():
    _, cov, _ = g.latent_linear_posterior(1.0, [1.0, 2.0])
    assert abs(cov[0, 1]) > 0.3  # -theta1 theta2 / (1 + |theta|²) = -1/3
    np.testing.assert_allclose(cov[0, 1], -1.0 / 3.0)
    _, cov, _ = g.latent_linear_posterior(1.0, [1.0, 0.0])
    assert cov[0, 1] == 0.0  # factorises only when a loading is zero


def test_latent_linear_rejects_bad_input():
    with pytest.raises(ValueError, match="theta"):
        g.latent_linear_posterior(1.0, [[1.0, 2.0]])
    with pytest.raises(ValueError, match="x"):
        g.latent_linear_log_evidence(np.inf, [1.0, 2.0])
    with pytest.raises(TypeError, match="x"):
        g.latent_linear_log_evidence("1", [1.0, 2.0])


# --------------------------------------------------------------------------- Normal–Gamma
PRIOR = dict(mu0=0.5, lambda0=2.0, a0=3.0, b0=1.5)


@pytest.fixture
def data():
    return np.random.default_rng(2).normal(1.0, 0.8, size=12)


def test_normal_gamma_posterior_and_evidence_satisfy_bayes(data):
    post = g.normal_gamma_posterior(data, **PRIOR)
    rng = np.random.default_rng(3)
    mu = rng.normal(1.0, 0.5, size=9)
    tau = rng.gamma(2.0, 1.0, size=9)
    lhs = g.normal_gamma_log_joint(mu, tau, data, **PRIOR) - g.normal_gamma_log_density(mu, tau, *post)
    np.testing.assert_allclose(lhs, g.normal_gamma_log_evidence(data, **PRIOR), rtol=1e-11)


def test_normal_gamma_log_evidence_matches_quadrature(data):
    log_ev = g.normal_gamma_log_evidence(data, **PRIOR)
    mu_n, lambda_n, a_n, b_n = g.normal_gamma_posterior(data, **PRIOR)

    # tensor Gauss–Legendre rule on [0, tau_hi] x [mu_N - 4, mu_N + 4], one vectorised call
    tau_hi = stats.gamma(a_n, scale=1 / b_n).ppf(1 - 1e-13)
    nodes, weights = np.polynomial.legendre.leggauss(300)
    taus = 0.5 * tau_hi * (nodes + 1)
    mus = mu_n + 4 * nodes
    w2 = np.outer(weights * 0.5 * tau_hi, weights * 4)
    vals = np.exp(g.normal_gamma_log_joint(mus[None, :], taus[:, None], data, **PRIOR) - log_ev)
    np.testing.assert_allclose(np.sum(w2 * vals), 1.0, rtol=1e-9)


def test_normal_gamma_marginals(data):
    post = g.normal_gamma_posterior(data, **PRIOR)
    mu_marg, tau_marg = g.normal_gamma_marginals(*post)
    for mu in (0.2, post[0], 1.9):
        val, _ = integrate.quad(lambda t: np.exp(g.normal_gamma_log_density(mu, t, *post)), 0, np.inf)
        np.testing.assert_allclose(val, mu_marg.pdf(mu), rtol=1e-9)
    for tau in (0.3, 1.0, 2.5):
        val, _ = integrate.quad(lambda m: np.exp(g.normal_gamma_log_density(m, tau, *post)),
                                -np.inf, np.inf)
        np.testing.assert_allclose(val, tau_marg.pdf(tau), rtol=1e-9)
    assert tau_marg.mean() == pytest.approx(post[2] / post[3])


def test_normal_gamma_posterior_concentrates():
    rng = np.random.default_rng(4)
    x = rng.normal(-2.0, 0.5, size=20000)
    mu_n, lambda_n, a_n, b_n = g.normal_gamma_posterior(x, **PRIOR)
    assert abs(mu_n + 2.0) < 0.02
    assert abs(a_n / b_n - 4.0) < 0.2  # tau = 1 / 0.5² = 4


@pytest.mark.parametrize("bad, name", [
    (dict(lambda0=0.0), "lambda0"), (dict(a0=-1.0), "a0"), (dict(b0=np.nan), "b0"),
    (dict(mu0=np.inf), "mu0"),
])
def test_normal_gamma_rejects_bad_prior(data, bad, name):
    with pytest.raises(ValueError, match=name):
        g.normal_gamma_posterior(data, **{**PRIOR, **bad})


def test_normal_gamma_rejects_bad_data():
    with pytest.raises(ValueError, match="x"):
        g.normal_gamma_posterior([], **PRIOR)
    with pytest.raises(ValueError, match="x"):
        g.normal_gamma_posterior([1.0, np.nan], **PRIOR)
    with pytest.raises(ValueError, match="tau"):
        g.normal_gamma_log_joint(0.0, -1.0, [1.0], **PRIOR)


def test_all_is_exported():
    import vi_lib.models as models
    for name in g.__all__:
        assert getattr(models, name) is getattr(g, name)


def test_random_covariance_is_symmetric_with_eigenvalues_at_least_one_half():
    from vi_lib.models.gaussian import random_covariance
    rng = np.random.default_rng(0)
    for d in (1, 3, 10):
        c = random_covariance(d, rng)
        assert c.shape == (d, d) and np.array_equal(c, c.T)
        assert np.linalg.eigvalsh(c).min() >= 0.5 - 1e-12
    with pytest.raises(ValueError, match="d must be a positive integer"):
        random_covariance(0, rng)
