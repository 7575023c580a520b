"""Tests for vi_lib.cavi: fixed points, monotone ELBO, agreement with exact posteriors."""

import numpy as np
import pytest
from scipy import integrate, special, stats

import vi_lib
from vi_lib import cavi
from vi_lib.models import gaussian as g

# Rounding allowance for "the ELBO never decreases": a step may lose a few ulps
# once the iterates have converged.
ELBO_SLACK = 1e-12


def assert_non_decreasing(elbo):
    elbo = np.asarray(elbo)
    assert np.all(np.diff(elbo) >= -ELBO_SLACK * np.maximum(1.0, np.abs(elbo[1:]))), np.diff(elbo).min()
    assert cavi.elbo_is_non_decreasing(elbo, rtol=ELBO_SLACK)


def test_elbo_is_non_decreasing():
    assert cavi.elbo_is_non_decreasing([-5.0, -4.0, -4.0])
    assert cavi.elbo_is_non_decreasing([-1e6, -1e6 - 1e-7])          # within 1e-12 relative
    assert not cavi.elbo_is_non_decreasing([-5.0, -4.0, -4.1])
    assert not cavi.elbo_is_non_decreasing([0.0, -1e-9])
    with pytest.raises(ValueError, match="elbo"):
        cavi.elbo_is_non_decreasing([0.0, np.nan])


# =========================================================================== (a) factorised Gaussian
@pytest.mark.parametrize("rho", [-0.9, -0.4, 0.2, 0.7, 0.95])
def test_factorized_gaussian_fixed_point(rho):
    mu, cov, lam = g.correlated_gaussian([1.0, -0.5], [0.7, 1.8], rho)
    res = cavi.cavi_factorized_gaussian(mu, lam, mu_init=[-3.0, 4.0], max_sweeps=2000)
    assert res.converged
    np.testing.assert_allclose(res.mu_q, mu, atol=1e-10)
    np.testing.assert_allclose(res.sigma_q**2, 1.0 / np.diag(lam), rtol=1e-14)
    # too compact: 1/Lambda_jj = (1 - rho²) Sigma_jj <= Sigma_jj
    np.testing.assert_allclose(res.sigma_q**2, (1 - rho**2) * np.diag(cov), rtol=1e-12)
    assert_non_decreasing(res.elbo)


def test_factorized_gaussian_elbo_is_minus_kl():
    mu, cov, lam = g.correlated_gaussian([0.0, 2.0], [1.0, 0.5], 0.8)
    res = cavi.cavi_factorized_gaussian(mu, lam, mu_init=[2.0, -1.0], max_sweeps=5)
    for m, elbo in zip(res.mu_history, res.elbo):
        kl = vi_lib.kl_mvn(m, np.diag(res.sigma_q**2), mu, cov)
        assert elbo == pytest.approx(-kl, abs=1e-12)
    # and for an arbitrary q, too
    s = np.array([0.3, 1.1])
    assert cavi.elbo_factorized_gaussian([0.5, 0.5], s, mu, lam) == pytest.approx(
        -vi_lib.kl_mvn(np.array([0.5, 0.5]), np.diag(s**2), mu, cov), abs=1e-12)


@pytest.mark.parametrize("rho", [0.3, 0.6, 0.9, -0.8])
def test_factorized_gaussian_contracts_by_rho_squared(rho):
    mu, _, lam = g.correlated_gaussian([0.0, 0.0], [1.0, 3.0], rho)
    res = cavi.cavi_factorized_gaussian(mu, lam, mu_init=[1.0, 1.0], max_sweeps=8, tol=0.0)
    err = np.abs(res.mu_history[::2] - mu)  # state after each sweep
    ratio = err[2:, 0] / err[1:-1, 0]
    np.testing.assert_allclose(ratio, rho**2, rtol=1e-8)
    ratio = err[2:, 1] / err[1:-1, 1]
    np.testing.assert_allclose(ratio, rho**2, rtol=1e-8)


def test_factorized_gaussian_d_dimensional():
    rng = np.random.default_rng(5)
    a = rng.normal(size=(5, 5))
    lam = a @ a.T + 5 * np.eye(5)
    mu = rng.normal(size=5)
    res = cavi.cavi_factorized_gaussian(mu, lam, max_sweeps=1000)
    assert res.converged
    np.testing.assert_allclose(res.mu_q, mu, atol=1e-10)
    np.testing.assert_allclose(res.sigma_q, 1 / np.sqrt(np.diag(lam)))
    assert res.mu_history.shape == (1 + 5 * res.n_sweeps, 5)
    assert_non_decreasing(res.elbo)


def test_factorized_gaussian_rejects_bad_input():
    with pytest.raises(ValueError, match="precision"):
        cavi.cavi_factorized_gaussian([0.0, 0.0], [[1.0, 2.0], [2.0, 1.0]])
    with pytest.raises(ValueError, match="mu_init"):
        cavi.cavi_factorized_gaussian([0.0, 0.0], np.eye(2), mu_init=[1.0])
    with pytest.raises(ValueError, match="max_sweeps"):
        cavi.cavi_factorized_gaussian([0.0, 0.0], np.eye(2), max_sweeps=0)
    with pytest.raises(TypeError, match="max_sweeps"):
        cavi.cavi_factorized_gaussian([0.0, 0.0], np.eye(2), max_sweeps=2.5)


# =========================================================================== (b) latent linear-Gaussian
@pytest.mark.parametrize("x, theta", [(1.5, [1.0, 2.0]), (-2.0, [0.5, -0.3]), (0.7, [1.0, 1.0, -2.0])])
def test_latent_linear_matches_exact_mean_and_is_too_compact(x, theta):
    res = cavi.cavi_latent_linear(x, theta, mu_init=np.full(len(theta), 3.0), max_sweeps=1000)
    mean, cov, prec = g.latent_linear_posterior(x, theta)
    assert res.converged
    np.testing.assert_allclose(res.mu_q, mean, atol=1e-10)
    np.testing.assert_allclose(res.sigma_q**2, 1 / np.diag(prec), rtol=1e-14)
    assert np.all(res.sigma_q**2 < np.diag(cov))
    assert_non_decreasing(res.elbo)
    log_ev = g.latent_linear_log_evidence(x, theta)
    assert np.all(res.elbo <= log_ev + 1e-12)
    # ELBO = log p(x) - KL(q || p(z | x)) along the whole run
    for m, elbo in zip(res.mu_history[::3], res.elbo[::3]):
        kl = vi_lib.kl_mvn(m, np.diag(res.sigma_q**2), mean, cov)
        assert elbo == pytest.approx(log_ev - kl, abs=1e-10)


def test_latent_linear_is_factorized_gaussian_on_the_posterior():
    x, theta = 1.2, np.array([0.8, -1.5])
    mean, _, prec = g.latent_linear_posterior(x, theta)
    a = cavi.cavi_latent_linear(x, theta, mu_init=[1.0, 1.0], max_sweeps=6, tol=0.0)
    b = cavi.cavi_factorized_gaussian(mean, prec, mu_init=[1.0, 1.0], max_sweeps=6, tol=0.0)
    np.testing.assert_allclose(a.mu_history, b.mu_history, atol=1e-13)
    np.testing.assert_allclose(a.elbo - b.elbo, g.latent_linear_log_evidence(x, theta), atol=1e-12)


# =========================================================================== (c) unknown mean and precision
PRIOR = dict(mu0=0.0, lambda0=1.0, a0=2.0, b0=2.0)


@pytest.fixture
def data():
    return np.random.default_rng(6).normal(1.5, 0.7, size=15)


def test_normal_gamma_cavi_runs_to_a_fixed_point(data):
    res = cavi.cavi_normal_gamma(data, **PRIOR)
    assert res.converged
    mu_n, lambda_n, a_n, b_n = g.normal_gamma_posterior(data, **PRIOR)
    n = data.size
    # q(mu) is centred on the exact posterior location; a_q = a0 + (N+1)/2
    assert res.mu_q == pytest.approx(mu_n, abs=1e-14)
    assert res.a_q == pytest.approx(PRIOR["a0"] + (n + 1) / 2)
    # fixed point: one more sweep from the result changes nothing
    again = cavi.cavi_normal_gamma(data, **PRIOR, mu_init=res.mu_q, lambda_init=res.lambda_q,
                                   a_init=res.a_q, b_init=res.b_q, max_sweeps=1)
    assert again.b_q == pytest.approx(res.b_q, rel=1e-11)
    assert again.lambda_q == pytest.approx(res.lambda_q, rel=1e-11)
    assert_non_decreasing(res.elbo)
    assert np.all(res.elbo <= g.normal_gamma_log_evidence(data, **PRIOR))


def test_normal_gamma_elbo_matches_quadrature(data):
    """The closed form against E_q[log p(x, mu, tau) - log q] computed from the log joint.

    The log joint is quadratic in mu, so Gauss–Hermite with 5 nodes is exact in mu;
    adaptive quadrature does the tau direction.
    """
    mu_q, lambda_q, a_q, b_q = 1.2, 30.0, 8.0, 4.0
    elbo = cavi.elbo_normal_gamma(mu_q, lambda_q, a_q, b_q, data, **PRIOR)
    q_mu = stats.norm(mu_q, 1 / np.sqrt(lambda_q))
    q_tau = stats.gamma(a_q, scale=1 / b_q)
    nodes, weights = special.roots_hermitenorm(5)
    mus = mu_q + q_mu.std() * nodes
    weights = weights / weights.sum()

    def inner(tau):
        vals = g.normal_gamma_log_joint(mus, tau, data, **PRIOR) - q_mu.logpdf(mus) - q_tau.logpdf(tau)
        return q_tau.pdf(tau) * (weights @ vals)

    val, _ = integrate.quad(inner, 0, np.inf, epsabs=1e-12, epsrel=1e-12, limit=200)
    assert elbo == pytest.approx(val, rel=1e-10)


def test_normal_gamma_cavi_large_data():
    x = np.random.default_rng(7).normal(-1.0, 0.5, size=50000)
    res = cavi.cavi_normal_gamma(x, **PRIOR)
    mu_n, lambda_n, a_n, b_n = g.normal_gamma_posterior(x, **PRIOR)
    assert res.expected_tau == pytest.approx(a_n / b_n, rel=1e-3)
    assert res.expected_tau == pytest.approx(4.0, rel=0.02)
    # variance of q(mu) vs the exact marginal variance of mu (Student-t)
    mu_marg, _ = g.normal_gamma_marginals(mu_n, lambda_n, a_n, b_n)
    assert 1 / res.lambda_q == pytest.approx(mu_marg.var(), rel=1e-3)


# =========================================================================== (d) linear regression
def make_regression(n, seed=8, beta=25.0):
    rng = np.random.default_rng(seed)
    X = np.column_stack([np.ones(n), rng.uniform(-2, 2, n), rng.normal(size=n)])
    w = np.array([0.5, -1.0, 2.0])
    y = X @ w + rng.normal(0, 1 / np.sqrt(beta), n)
    return X, y, w


def exact_known_beta(X, y, alpha, beta):
    prec = alpha * np.eye(X.shape[1]) + beta * X.T @ X
    cov = np.linalg.inv(prec)
    return beta * cov @ X.T @ y, cov


def log_evidence_known_beta(X, y, alpha, beta):
    """log N(y | 0, I/beta + X X^T/alpha), with an N x N covariance (reference, small N)."""
    cov_y = np.eye(len(y)) / beta + X @ X.T / alpha
    return stats.multivariate_normal(np.zeros(len(y)), cov_y).logpdf(y)


def log_evidence_known_beta_fast(X, y, alpha, beta):
    """The same through the M x M matrix A = alpha I + beta X^T X (Bishop 2006, eq. 3.86)."""
    n, m = X.shape
    a = alpha * np.eye(m) + beta * X.T @ X
    mean = beta * np.linalg.solve(a, X.T @ y)
    e = 0.5 * beta * np.sum((y - X @ mean) ** 2) + 0.5 * alpha * mean @ mean
    return (0.5 * m * np.log(alpha) + 0.5 * n * np.log(beta) - e
            - 0.5 * np.linalg.slogdet(a)[1] - 0.5 * n * np.log(2 * np.pi))


def test_linear_regression_elbo_non_decreasing_and_converges():
    X, y, _ = make_regression(40)
    res = cavi.cavi_linear_regression(X, y, alpha=0.5, a0=1.0, b0=1.0)
    assert res.converged
    assert res.elbo.shape == (1 + 2 * res.n_iter,)
    assert_non_decreasing(res.elbo)
    # the closed-form trace agrees with the public ELBO function at the end
    assert res.elbo[-1] == pytest.approx(cavi.elbo_linear_regression(
        res.mu_w, res.cov_w, res.a_beta, res.b_beta, X, y, alpha=0.5, a0=1.0, b0=1.0), abs=1e-9)
    # fixed point equations hold at the result
    e_beta = res.expected_beta
    mu, cov = exact_known_beta(X, y, 0.5, e_beta)
    np.testing.assert_allclose(res.mu_w, mu, rtol=1e-7)
    np.testing.assert_allclose(res.cov_w, cov, rtol=1e-7)
    resid = y - X @ res.mu_w
    assert res.b_beta == pytest.approx(1.0 + 0.5 * (resid @ resid + np.trace(X.T @ X @ res.cov_w)), rel=1e-7)
    assert res.a_beta == 1.0 + 0.5 * len(y)


def test_linear_regression_known_beta_limit():
    """A Gamma prior concentrated at beta makes q(w) the exact conjugate posterior."""
    X, y, _ = make_regression(30)
    alpha, beta = 2.0, 16.0
    b0 = 1e7  # prior sd of beta = sqrt(beta / b0) ~ 1e-3; larger b0 loses digits to cancellation
    res = cavi.cavi_linear_regression(X, y, alpha=alpha, a0=beta * b0, b0=b0)
    mu, cov = exact_known_beta(X, y, alpha, beta)
    np.testing.assert_allclose(res.expected_beta, beta, rtol=1e-5)
    np.testing.assert_allclose(res.mu_w, mu, rtol=1e-5)
    np.testing.assert_allclose(res.cov_w, cov, rtol=1e-5)
    assert res.elbo[-1] == pytest.approx(log_evidence_known_beta(X, y, alpha, beta), abs=1e-4)


def test_linear_regression_against_quadrature_over_beta():
    """Exact posterior mean of w, E[beta] and log evidence by 1-D quadrature over beta."""
    X, y, _ = make_regression(200)
    alpha, a0, b0 = 1.0, 1.0, 0.1
    res = cavi.cavi_linear_regression(X, y, alpha=alpha, a0=a0, b0=b0)
    assert log_evidence_known_beta_fast(X[:20], y[:20], alpha, 7.0) == pytest.approx(
        log_evidence_known_beta(X[:20], y[:20], alpha, 7.0), rel=1e-12)
    log_prior = stats.gamma(a0, scale=1 / b0).logpdf
    centre = res.expected_beta
    shift = log_prior(centre) + log_evidence_known_beta_fast(X, y, alpha, centre)

    def integrand(beta):
        weight = np.exp(log_prior(beta) + log_evidence_known_beta_fast(X, y, alpha, beta) - shift)
        mean_w = exact_known_beta(X, y, alpha, beta)[0]
        return weight * np.concatenate([[1.0, beta], mean_w])

    # p(beta | y) is concentrated near E_q[beta] (sd about 7 % of it with N = 200)
    val, _ = integrate.quad_vec(integrand, 0.4 * centre, 1.8 * centre, epsrel=1e-11)
    log_ev = np.log(val[0]) + shift
    mean_beta, mean_w = val[1] / val[0], val[2:] / val[0]
    assert res.elbo[-1] <= log_ev
    assert log_ev - res.elbo[-1] < 0.05  # the mean-field gap is small with 200 points
    np.testing.assert_allclose(res.mu_w, mean_w, rtol=1e-3)
    assert res.expected_beta == pytest.approx(mean_beta, rel=1e-2)


def test_linear_regression_large_data_recovers_truth():
    X, y, w = make_regression(20000, beta=25.0)
    res = cavi.cavi_linear_regression(X, y, alpha=1.0)
    np.testing.assert_allclose(res.mu_w, w, atol=0.01)
    assert res.expected_beta == pytest.approx(25.0, rel=0.03)
    ols = np.linalg.lstsq(X, y, rcond=None)[0]
    np.testing.assert_allclose(res.mu_w, ols, atol=1e-4)


def test_linear_regression_rejects_bad_input():
    X, y, _ = make_regression(10)
    with pytest.raises(ValueError, match="alpha"):
        cavi.cavi_linear_regression(X, y, alpha=0.0)
    with pytest.raises(ValueError, match="a0"):
        cavi.cavi_linear_regression(X, y, a0=-1.0)
    with pytest.raises(ValueError, match="X and y"):
        cavi.cavi_linear_regression(X, y[:-1])
    with pytest.raises(ValueError, match="y"):
        cavi.cavi_linear_regression(X, np.full(10, np.nan))
    with pytest.raises(ValueError, match="X"):
        cavi.cavi_linear_regression(X[:, 0], y)


def test_lazy_import_from_package():
    assert vi_lib.cavi.cavi_linear_regression is cavi.cavi_linear_regression
    assert special.digamma(1.0) < 0  # scipy.special is importable for the ELBO


# =========================================================================== property tests
from hypothesis import given, settings, strategies as st  # noqa: E402

finite = st.floats(-5.0, 5.0, allow_nan=False)
scale = st.floats(0.1, 5.0, allow_nan=False)


@settings(max_examples=30, deadline=None)
@given(m1=finite, m2=finite, s1=scale, s2=scale, rho=st.floats(-0.95, 0.95), i1=finite, i2=finite)
def test_property_factorized_gaussian(m1, m2, s1, s2, rho, i1, i2):
    mu, cov, lam = g.correlated_gaussian([m1, m2], [s1, s2], rho)
    res = cavi.cavi_factorized_gaussian(mu, lam, mu_init=[i1, i2], max_sweeps=5000)
    assert res.converged
    np.testing.assert_allclose(res.mu_q, mu, atol=1e-9 * max(1.0, s1, s2))
    np.testing.assert_allclose(res.sigma_q, np.sqrt(1 - rho**2) * np.array([s1, s2]), rtol=1e-12)
    assert_non_decreasing(res.elbo)
    assert res.elbo[-1] <= 1e-12  # ELBO = -KL(q || p) <= 0


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(2, 30), m=st.integers(1, 4),
       alpha=st.floats(0.01, 100.0), a0=st.floats(0.01, 10.0), b0=st.floats(0.01, 10.0))
def test_property_linear_regression_elbo_monotone(seed, n, m, alpha, a0, b0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, m))
    y = X @ rng.normal(size=m) + rng.normal(0, 0.5, n)
    res = cavi.cavi_linear_regression(X, y, alpha=alpha, a0=a0, b0=b0, max_iter=200)
    assert np.all(np.isfinite(res.elbo))
    assert_non_decreasing(res.elbo)
    np.testing.assert_allclose(res.cov_w, res.cov_w.T)
    assert np.all(np.linalg.eigvalsh(res.cov_w) > 0)
    assert res.a_beta == pytest.approx(a0 + n / 2)
