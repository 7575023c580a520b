"""Tests for vi_lib.cavi.gmm: the Bayesian Gaussian mixture (Bishop 2006, §10.2).

The references are independent of the code under test: densities from scipy.stats
(Monte Carlo ELBO, candidate's formula for the evidence), the conjugate posterior in
"raw moment" form, scikit-learn's BayesianGaussianMixture.
"""

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import special, stats

from vi_lib import cavi
from vi_lib.data import load_faithful

# A step may lose a few ulps once the iterates have converged.
ELBO_SLACK = 1e-12


def _prior(d, alpha0=1e-2, beta0=0.5, nu0=None, scale=1.0):
    return dict(alpha0=alpha0, beta0=beta0, m0=np.zeros(d), nu0=float(d) if nu0 is None else nu0,
                W0=scale * np.eye(d))


def _blobs(rng, n, d, k, spread=3.0):
    centres = rng.normal(0.0, spread, (k, d))
    labels = rng.integers(0, k, n)
    return centres[labels] + rng.normal(0.0, 1.0, (n, d))


def _random_global(rng, k, d):
    alpha = rng.uniform(0.5, 5.0, k)
    beta = rng.uniform(0.5, 5.0, k)
    m = rng.normal(0.0, 1.0, (k, d))
    a = rng.normal(0.0, 1.0, (k, d, d))
    W = a @ a.transpose(0, 2, 1) / d + 0.3 * np.eye(d)
    nu = d + rng.uniform(0.5, 5.0, k)
    return alpha, beta, m, W, nu


def _random_resp(rng, n, k):
    r = rng.uniform(size=(n, k))
    return r / r.sum(axis=1, keepdims=True)


# =========================================================================== data
def test_load_faithful():
    x = load_faithful()
    assert x.shape == (272, 2) and x.dtype == np.float64
    # R: summary(faithful); first and last rows of the data set
    np.testing.assert_allclose(x.mean(axis=0), [3.487783, 70.897059], atol=5e-7)
    np.testing.assert_allclose(x.min(axis=0), [1.6, 43.0])
    np.testing.assert_allclose(x.max(axis=0), [5.1, 96.0])
    np.testing.assert_array_equal(x[0], [3.6, 79.0])
    np.testing.assert_array_equal(x[-3:], [[4.417, 90.0], [1.817, 46.0], [4.467, 74.0]])
    z = load_faithful(standardize=True)
    np.testing.assert_allclose(z.mean(axis=0), 0.0, atol=1e-14)
    np.testing.assert_allclose(z.std(axis=0), 1.0, rtol=1e-14)
    with pytest.raises(TypeError, match="standardize"):
        load_faithful(standardize="yes")


# =========================================================================== building blocks
def test_expected_log_det_and_log_pi_match_monte_carlo():
    rng = np.random.default_rng(1)
    alpha, beta, m, W, nu = _random_global(rng, 2, 2)
    x = rng.normal(size=(3, 2))
    log_rho = cavi.gmm_log_rho(x, alpha, beta, m, W, nu)
    # Monte Carlo of E[log π_k + log N(x_n | μ_k, Λ_k^{-1})] with scipy's samplers and densities
    s = 40_000
    pis = stats.dirichlet(alpha).rvs(s, random_state=rng)
    mc = np.empty((3, 2))
    se = np.empty((3, 2))
    for k in range(2):
        lam = stats.wishart(df=nu[k], scale=W[k]).rvs(s, random_state=rng)
        chol_cov = np.linalg.cholesky(np.linalg.inv(beta[k] * lam))
        mu = m[k] + np.einsum("sij,sj->si", chol_cov, rng.normal(size=(s, 2)))
        diff = x[:, None, :] - mu[None]                                  # (3, s, 2)
        maha = np.einsum("nsi,sij,nsj->ns", diff, lam, diff)
        vals = np.log(pis[:, k]) + 0.5 * np.linalg.slogdet(lam)[1] - np.log(2 * np.pi) - 0.5 * maha
        mc[:, k] = vals.mean(axis=1)
        se[:, k] = vals.std(axis=1) / np.sqrt(s)
    assert np.all(np.abs(log_rho - mc) < 5 * se), (log_rho, mc, se)


def test_elbo_matches_monte_carlo_with_any_resp():
    """E_q[log p(X, Z, π, μ, Λ) - log q] by sampling every factor, scipy densities only."""
    rng = np.random.default_rng(2)
    n, d, k = 6, 2, 2
    x = rng.normal(size=(n, d))
    prior = _prior(d, alpha0=0.7, beta0=0.8, nu0=2.5, scale=0.6)
    alpha, beta, m, W, nu = _random_global(rng, k, d)
    resp = _random_resp(rng, n, k)
    closed = cavi.elbo_gmm(x, alpha, beta, m, W, nu, **prior, resp=resp)

    s = 20_000
    pis = stats.dirichlet(alpha).rvs(s, random_state=rng)
    total = stats.dirichlet(np.full(k, prior["alpha0"])).logpdf(pis.T) - stats.dirichlet(alpha).logpdf(pis.T)
    z = (rng.uniform(size=(s, n, 1)) > np.cumsum(resp, axis=1)[None]).sum(axis=2)   # (s, n)
    total += np.log(pis[np.arange(s)[:, None], z]).sum(axis=1)
    total -= np.log(resp[np.arange(n)[None, :], z]).sum(axis=1)
    w0 = stats.wishart(df=prior["nu0"], scale=prior["W0"])

    def log_normal(v, mean, lam):       # log N(v | mean, lam^{-1}) for a stack of precisions lam
        diff = v - mean
        return (0.5 * np.linalg.slogdet(lam)[1] - 0.5 * d * np.log(2 * np.pi)
                - 0.5 * np.einsum("...i,...ij,...j->...", diff, lam, diff))

    for j in range(k):
        qw = stats.wishart(df=nu[j], scale=W[j])
        lam = qw.rvs(s, random_state=rng)
        chol_cov = np.linalg.cholesky(np.linalg.inv(beta[j] * lam))
        mu = m[j] + np.einsum("sij,sj->si", chol_cov, rng.normal(size=(s, d)))
        total += w0.logpdf(lam.transpose(1, 2, 0)) - qw.logpdf(lam.transpose(1, 2, 0))
        total += log_normal(mu, prior["m0"], prior["beta0"] * lam) - log_normal(mu, m[j], beta[j] * lam)
        lik = log_normal(x[None, :, :], mu[:, None, :], lam[:, None, :, :])        # (s, n)
        total += np.sum(np.where(z == j, lik, 0.0), axis=1)
    mc, se = total.mean(), total.std() / np.sqrt(s)
    # a loose check (5 standard errors is about 1 nat); the term-by-term test below is tight
    assert se < 0.3 and abs(closed - mc) < 5 * se, (closed, mc, se)


def _bishop_elbo(x, resp, alpha, beta, m, W, nu, alpha0, beta0, m0, nu0, W0):
    """Bishop (2006), eqs 10.70-10.77 term by term (B.79 for ln B, B.23 for ln C)."""
    n, d = x.shape
    k = alpha.size
    nk = resp.sum(0)
    xbar = resp.T @ x / nk[:, None]
    S = np.einsum("nk,nki,nkj->kij", resp, x[:, None] - xbar, x[:, None] - xbar) / nk[:, None, None]
    ln_pi = special.digamma(alpha) - special.digamma(alpha.sum())
    ln_lam = np.array([np.sum(special.digamma((nu[j] + 1 - np.arange(1, d + 1)) / 2)) + d * np.log(2)
                       + np.linalg.slogdet(W[j])[1] for j in range(k)])
    ln_c = lambda a: special.gammaln(a.sum()) - special.gammaln(a).sum()          # noqa: E731
    ln_b = lambda w, v: (-v / 2 * np.linalg.slogdet(w)[1] - v * d / 2 * np.log(2)    # noqa: E731
                         - d * (d - 1) / 4 * np.log(np.pi)
                         - np.sum(special.gammaln((v + 1 - np.arange(1, d + 1)) / 2)))
    w0_inv = np.linalg.inv(W0)
    e_px = 0.5 * sum(nk[j] * (ln_lam[j] - d / beta[j] - nu[j] * np.trace(S[j] @ W[j])
                              - nu[j] * (xbar[j] - m[j]) @ W[j] @ (xbar[j] - m[j]) - d * np.log(2 * np.pi))
                     for j in range(k))                                          # 10.71
    e_pz = np.sum(resp * ln_pi)                                                  # 10.72
    e_ppi = ln_c(np.full(k, alpha0)) + (alpha0 - 1) * ln_pi.sum()                # 10.73
    e_pml = (0.5 * sum(d * np.log(beta0 / (2 * np.pi)) + ln_lam[j] - d * beta0 / beta[j]
                       - beta0 * nu[j] * (m[j] - m0) @ W[j] @ (m[j] - m0) for j in range(k))
             + k * ln_b(W0, nu0) + (nu0 - d - 1) / 2 * ln_lam.sum()
             - 0.5 * sum(nu[j] * np.trace(w0_inv @ W[j]) for j in range(k)))     # 10.74
    e_qz = np.sum(special.xlogy(resp, resp))                                     # 10.75
    e_qpi = np.sum((alpha - 1) * ln_pi) + ln_c(alpha)                            # 10.76
    h_lam = [-ln_b(W[j], nu[j]) - (nu[j] - d - 1) / 2 * ln_lam[j] + nu[j] * d / 2 for j in range(k)]  # B.82
    e_qml = sum(0.5 * ln_lam[j] + d / 2 * np.log(beta[j] / (2 * np.pi)) - d / 2 - h_lam[j]
                for j in range(k))                                               # 10.77
    return e_px + e_pz + e_ppi + e_pml - e_qz - e_qpi - e_qml


def test_elbo_matches_bishop_term_by_term():
    rng = np.random.default_rng(3)
    x = rng.normal(size=(30, 3))
    prior = _prior(3, alpha0=0.3, beta0=2.0, nu0=4.0, scale=0.5)
    glob = _random_global(rng, 4, 3)
    resp = _random_resp(rng, 30, 4)
    expected = _bishop_elbo(x, resp, *glob, **prior)
    np.testing.assert_allclose(cavi.elbo_gmm(x, *glob, **prior, resp=resp), expected, rtol=1e-12)


def test_global_kl_is_zero_at_the_prior_and_positive_elsewhere():
    d, k = 2, 3
    prior = _prior(d, alpha0=0.5, beta0=2.0, nu0=3.0, scale=0.4)
    at_prior = (np.full(k, 0.5), np.full(k, 2.0), np.zeros((k, d)), np.tile(0.4 * np.eye(d), (k, 1, 1)),
                np.full(k, 3.0))
    assert abs(cavi.gmm_global_kl(*at_prior, **prior)) < 1e-12
    rng = np.random.default_rng(4)
    for _ in range(5):
        assert cavi.gmm_global_kl(*_random_global(rng, k, d), **prior) > 0


def test_suff_stats_match_definitions_and_handle_empty_components():
    rng = np.random.default_rng(5)
    x = rng.normal(size=(50, 2)) + 100.0          # far from the origin: no cancellation allowed
    resp = _random_resp(rng, 50, 3)
    resp[:, 2] = 0.0
    resp /= resp.sum(axis=1, keepdims=True)
    nk, xbar, S = cavi.gmm_suff_stats(x, resp)
    np.testing.assert_allclose(nk[:2], resp[:, :2].sum(0), rtol=1e-14)
    for j in range(2):
        w = resp[:, j]
        np.testing.assert_allclose(xbar[j], np.average(x, axis=0, weights=w), rtol=1e-13)
        np.testing.assert_allclose(S[j], np.cov(x.T, aweights=w, bias=True), rtol=1e-11)
    assert nk[2] == 0 and np.all(xbar[2] == 0) and np.all(S[2] == 0)
    glob = cavi.gmm_global_update(nk, xbar, S, **_prior(2))
    # an empty component keeps the prior
    assert glob.alpha[2] == 1e-2 and glob.beta[2] == 0.5 and glob.nu[2] == 2.0
    np.testing.assert_allclose(glob.W[2], np.eye(2), rtol=1e-14)


def test_global_update_is_prior_natural_parameters_plus_expected_statistics():
    """Hoffman et al. (2013), eq. 16: η_q = η_0 + Σ_n r_nk t(x_n), in raw-moment form."""
    rng = np.random.default_rng(6)
    x = _blobs(rng, 80, 3, 3)
    resp = _random_resp(rng, 80, 3)
    prior = _prior(3, alpha0=0.2, beta0=0.7, nu0=5.0, scale=0.3)
    glob = cavi.gmm_global_update(*cavi.gmm_suff_stats(x, resp), **prior)
    eta = cavi.gmm_natural_params(*glob)
    eta0 = cavi.gmm_natural_params(np.full(3, prior["alpha0"]), np.full(3, prior["beta0"]),
                                   np.tile(prior["m0"], (3, 1)), np.tile(prior["W0"], (3, 1, 1)),
                                   np.full(3, prior["nu0"]))
    nk = resp.sum(0)
    np.testing.assert_allclose(eta.eta_pi, eta0.eta_pi + nk, rtol=1e-13)
    np.testing.assert_allclose(eta.eta_mu, eta0.eta_mu + resp.T @ x, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(eta.eta_quad, eta0.eta_quad - nk / 2, rtol=1e-13)
    np.testing.assert_allclose(eta.eta_lambda, eta0.eta_lambda - 0.5 * np.einsum("nk,ni,nj->kij", resp, x, x),
                               rtol=1e-11)
    np.testing.assert_allclose(eta.eta_logdet, eta0.eta_logdet + nk / 2, rtol=1e-13)
    back = cavi.gmm_from_natural(*eta)
    for a, b in zip(back, glob):
        np.testing.assert_allclose(a, b, rtol=1e-10)


def test_each_step_maximises_its_block():
    rng = np.random.default_rng(7)
    x = _blobs(rng, 60, 2, 3)
    prior = _prior(2)
    resp = _random_resp(rng, 60, 4)
    glob = cavi.gmm_global_update(*cavi.gmm_suff_stats(x, resp), **prior)
    best = cavi.elbo_gmm(x, *glob, **prior, resp=resp)
    # the global step: any perturbed global factors do worse with the same responsibilities
    for _ in range(20):
        a, b, m, W, nu = glob
        e = rng.normal(scale=0.05, size=(2, 2))
        pert = (a * np.exp(rng.normal(scale=0.05, size=4)), b * np.exp(rng.normal(scale=0.05, size=4)),
                m + rng.normal(scale=0.05, size=m.shape), W + 0.01 * (e @ e.T), nu + rng.uniform(0, 0.1, 4))
        assert cavi.elbo_gmm(x, *pert, **prior, resp=resp) < best
    # the local step: the optimal responsibilities beat any other, and give elbo_gmm's default
    local = cavi.gmm_local_update(x, *glob)
    opt = cavi.elbo_gmm(x, *glob, **prior, resp=local.resp)
    np.testing.assert_allclose(opt, cavi.elbo_gmm(x, *glob, **prior), rtol=1e-13)
    np.testing.assert_allclose(opt, local.log_norm.sum() - cavi.gmm_global_kl(*glob, **prior), rtol=1e-13)
    for _ in range(20):
        assert cavi.elbo_gmm(x, *glob, **prior, resp=_random_resp(rng, 60, 4)) < opt
    assert opt > best


def test_responsibilities_do_not_overflow():
    alpha, beta, m, W, nu = _random_global(np.random.default_rng(8), 3, 2)
    x = np.array([[1e4, -1e4], [0.0, 0.0], [-3e3, 5e3]])      # ρ_nk underflows to 0 for far points
    local = cavi.gmm_local_update(x, alpha, beta, m, W, nu)
    assert np.all(np.isfinite(local.resp)) and np.all(np.isfinite(local.log_norm))
    np.testing.assert_allclose(local.resp.sum(axis=1), 1.0, rtol=1e-15)


# =========================================================================== cavi_gmm
def test_cavi_gmm_result_and_elbo_consistency():
    rng = np.random.default_rng(9)
    x = _blobs(rng, 150, 2, 3)
    prior = _prior(2, alpha0=1e-3, beta0=1.0, nu0=2.0)
    fit = cavi.cavi_gmm(x, 5, **prior, seed=1)
    assert fit.converged and fit.n_iter == fit.elbo.size
    assert fit.alpha.shape == (5,) and fit.m.shape == (5, 2) and fit.W.shape == (5, 2, 2)
    assert fit.resp.shape == (150, 5)
    assert cavi.elbo_is_non_decreasing(fit.elbo, rtol=ELBO_SLACK)
    np.testing.assert_allclose(cavi.elbo_gmm(x, fit.alpha, fit.beta, fit.m, fit.W, fit.nu, **prior),
                               fit.elbo[-1], rtol=1e-12)
    np.testing.assert_allclose(fit.resp, cavi.gmm_local_update(x, *fit[:5]).resp, atol=1e-12)
    # seeds: same seed, same run; resp_init reproduces a seeded run
    again = cavi.cavi_gmm(x, 5, **prior, seed=1)
    np.testing.assert_array_equal(again.elbo, fit.elbo)
    r0 = np.random.default_rng(1).uniform(size=(150, 5))
    r0 /= r0.sum(axis=1, keepdims=True)
    np.testing.assert_array_equal(cavi.cavi_gmm(x, 5, **prior, resp_init=r0).elbo, fit.elbo)
    # tol = 0 runs exactly max_iter iterations
    assert cavi.cavi_gmm(x, 5, **prior, max_iter=7, tol=0.0).n_iter == 7


def test_first_step_is_the_global_update_from_resp_init():
    rng = np.random.default_rng(10)
    x = _blobs(rng, 40, 2, 2)
    prior = _prior(2)
    r0 = _random_resp(rng, 40, 3)
    one = cavi.cavi_gmm(x, 3, **prior, resp_init=r0, max_iter=1)
    glob = cavi.gmm_global_update(*cavi.gmm_suff_stats(x, r0), **prior)
    for a, b in zip(one[:5], glob):
        np.testing.assert_allclose(a, b, rtol=1e-14)
    np.testing.assert_allclose(one.elbo[0], cavi.elbo_gmm(x, *glob, **prior), rtol=1e-13)


def test_faithful_keeps_two_components():
    """Bishop (2006), Fig. 10.6: K = 6, α0 = 1e-3 on the standardised data."""
    x = load_faithful(standardize=True)
    prior = _prior(2, alpha0=1e-3, beta0=1.0, nu0=2.0)
    for seed in range(3):
        fit = cavi.cavi_gmm(x, 6, **prior, seed=seed)
        assert fit.converged
        assert cavi.elbo_is_non_decreasing(fit.elbo, rtol=ELBO_SLACK)
        nk = fit.alpha - 1e-3
        assert np.sum(nk > 1.0) == 2, nk
        assert np.all(np.sort(nk)[-2:] > 90)        # the two clusters of Fig. 10.6 hold ~100 and ~170 points


def test_k1_is_the_exact_normal_wishart_posterior():
    """K = 1: q(μ, Λ) is the conjugate posterior and the ELBO is the log evidence."""
    rng = np.random.default_rng(11)
    n, d = 25, 2
    x = rng.normal(size=(n, d)) @ np.array([[1.0, 0.3], [0.0, 0.5]]) + [1.0, -2.0]
    prior = dict(alpha0=0.5, beta0=0.3, m0=np.array([0.5, 0.0]), nu0=3.5, W0=np.array([[0.8, 0.2], [0.2, 0.5]]))
    fit = cavi.cavi_gmm(x, 1, **prior, max_iter=3)
    # raw-moment form of the posterior (no x̄_k, S_k)
    beta_n = prior["beta0"] + n
    m_n = (prior["beta0"] * prior["m0"] + x.sum(0)) / beta_n
    w_inv = (np.linalg.inv(prior["W0"]) + x.T @ x + prior["beta0"] * np.outer(prior["m0"], prior["m0"])
             - beta_n * np.outer(m_n, m_n))
    np.testing.assert_allclose(fit.beta, [beta_n], rtol=1e-14)
    np.testing.assert_allclose(fit.m[0], m_n, rtol=1e-12)
    np.testing.assert_allclose(fit.W[0], np.linalg.inv(w_inv), rtol=1e-10)
    np.testing.assert_allclose(fit.nu, [prior["nu0"] + n], rtol=1e-14)
    # candidate's formula log p(X) = log p(X | θ) + log p(θ) - log q(θ) at two points θ:
    # the same value at both shows that q is the posterior, and that value is the evidence
    values = []
    for mu, lam in [(np.array([0.9, -1.8]), np.array([[1.5, 0.2], [0.2, 3.0]])),
                    (np.array([-0.5, 0.5]), np.array([[0.4, -0.1], [-0.1, 0.9]]))]:
        cov = np.linalg.inv(lam)
        values.append(stats.multivariate_normal(mu, cov).logpdf(x).sum()
                      + stats.multivariate_normal(prior["m0"], cov / prior["beta0"]).logpdf(mu)
                      + stats.wishart(df=prior["nu0"], scale=prior["W0"]).logpdf(lam)
                      - stats.multivariate_normal(fit.m[0], cov / fit.beta[0]).logpdf(mu)
                      - stats.wishart(df=fit.nu[0], scale=fit.W[0]).logpdf(lam))
    np.testing.assert_allclose(values[0], values[1], rtol=1e-11)
    np.testing.assert_allclose(fit.elbo, values[0], rtol=1e-11)


# =========================================================================== errors
def test_errors():
    x = np.random.default_rng(12).normal(size=(10, 2))
    p = _prior(2)
    with pytest.raises(ValueError, match="x must be finite"):
        cavi.cavi_gmm(np.where(x > 1, np.nan, x), 2, **p)
    with pytest.raises(ValueError, match="x must have shape"):
        cavi.cavi_gmm(x[:, 0], 2, **p)
    with pytest.raises(ValueError, match="alpha0 must be > 0"):
        cavi.cavi_gmm(x, 2, **{**p, "alpha0": 0.0})
    with pytest.raises(ValueError, match="beta0 must be > 0"):
        cavi.cavi_gmm(x, 2, **{**p, "beta0": -1.0})
    with pytest.raises(ValueError, match="nu0 must be > d - 1"):
        cavi.cavi_gmm(x, 2, **{**p, "nu0": 1.0})
    with pytest.raises(ValueError, match="W0 must be positive definite"):
        cavi.cavi_gmm(x, 2, **{**p, "W0": np.array([[1.0, 2.0], [2.0, 1.0]])})
    with pytest.raises(ValueError, match="W0 must be symmetric"):
        cavi.cavi_gmm(x, 2, **{**p, "W0": np.array([[1.0, 0.5], [0.0, 1.0]])})
    with pytest.raises(ValueError, match="m0 must have shape"):
        cavi.cavi_gmm(x, 2, **{**p, "m0": np.zeros(3)})
    with pytest.raises(ValueError, match="rows of resp_init must sum to 1"):
        cavi.cavi_gmm(x, 2, **p, resp_init=np.full((10, 2), 0.6))
    with pytest.raises(ValueError, match="resp_init must be >= 0"):
        cavi.cavi_gmm(x, 2, **p, resp_init=np.tile([1.5, -0.5], (10, 1)))
    with pytest.raises(ValueError, match="resp_init must have shape"):
        cavi.cavi_gmm(x, 2, **p, resp_init=np.full((10, 3), 1 / 3))
    with pytest.raises(TypeError, match="n_components"):
        cavi.cavi_gmm(x, 2.0, **p)
    with pytest.raises(ValueError, match="n_components"):
        cavi.cavi_gmm(x, 0, **p)
    glob = _random_global(np.random.default_rng(13), 2, 2)
    with pytest.raises(ValueError, match="W must be positive definite"):
        cavi.elbo_gmm(x, *glob[:3], -glob[3], glob[4], **p)
    with pytest.raises(ValueError, match="nu must be > d - 1"):
        cavi.elbo_gmm(x, *glob[:4], np.array([0.5, 3.0]), **p)
    with pytest.raises(ValueError, match="m must have shape"):
        cavi.gmm_log_rho(x[:, :1], *glob)
    with pytest.raises(ValueError, match="nk must be >= 0"):
        cavi.gmm_global_update(np.array([-1.0, 2.0]), np.zeros((2, 2)), np.zeros((2, 2, 2)), **p)


# =========================================================================== scikit-learn
def _sklearn_fit(x, resp0, n_iter, prior):
    """BayesianGaussianMixture started from the responsibilities resp0 (global step first)."""
    from sklearn.mixture import BayesianGaussianMixture

    class FromResp(BayesianGaussianMixture):
        # sklearn draws its initial responsibilities in _initialize_parameters, then
        # calls _initialize(X, resp) (the global step); feed ours instead.
        def _initialize_parameters(self, X, random_state, xp=None):
            self._initialize(X, resp0)

    bgm = FromResp(n_components=resp0.shape[1], covariance_type="full",
                   weight_concentration_prior_type="dirichlet_distribution",
                   weight_concentration_prior=prior["alpha0"], mean_precision_prior=prior["beta0"],
                   mean_prior=prior["m0"], degrees_of_freedom_prior=prior["nu0"],
                   covariance_prior=np.linalg.inv(prior["W0"]),   # sklearn's is the inverse scale
                   reg_covar=0.0, max_iter=n_iter, tol=0.0, init_params="random")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")          # ConvergenceWarning: tol = 0 never stops early
        bgm.fit(x)
    return bgm


def _assert_sklearn_agrees(fit, bgm, rtol):
    np.testing.assert_allclose(bgm.weight_concentration_, fit.alpha, rtol=rtol)
    np.testing.assert_allclose(bgm.mean_precision_, fit.beta, rtol=rtol)
    np.testing.assert_allclose(bgm.degrees_of_freedom_, fit.nu, rtol=rtol)
    np.testing.assert_allclose(bgm.means_, fit.m, rtol=rtol, atol=rtol * np.abs(fit.m).max())
    cov = np.linalg.inv(fit.W) / fit.nu[:, None, None]               # covariances_ = W^{-1} / ν
    np.testing.assert_allclose(bgm.covariances_, cov, rtol=rtol, atol=rtol * np.abs(cov).max())


@pytest.mark.parametrize("d, k", [(1, 3), (2, 4), (3, 5)])
def test_agrees_with_sklearn_at_the_fixed_point(d, k):
    rng = np.random.default_rng(20 + d)
    x = _blobs(rng, 300, d, 3)
    prior = dict(alpha0=1e-2, beta0=0.5, m0=x.mean(0), nu0=d + 1.0, W0=np.linalg.inv(np.cov(x.T).reshape(d, d)))
    r0 = _random_resp(rng, 300, k)
    fit = cavi.cavi_gmm(x, k, **prior, resp_init=r0, max_iter=2000, tol=1e-14)
    assert fit.converged
    # sklearn's fit runs max_iter (local, global) pairs after its first global step
    bgm = _sklearn_fit(x, r0, fit.n_iter - 1, prior)
    _assert_sklearn_agrees(fit, bgm, rtol=1e-8)


def test_agrees_with_sklearn_iteration_by_iteration():
    rng = np.random.default_rng(30)
    x = _blobs(rng, 200, 2, 4)
    prior = _prior(2, alpha0=0.1, beta0=1.0, nu0=3.0, scale=0.5)
    r0 = _random_resp(rng, 200, 6)
    for n_iter in (1, 2, 5):
        fit = cavi.cavi_gmm(x, 6, **prior, resp_init=r0, max_iter=n_iter + 1, tol=0.0)
        _assert_sklearn_agrees(fit, _sklearn_fit(x, r0, n_iter, prior), rtol=1e-10)


# =========================================================================== properties
@st.composite
def _problems(draw):
    seed = draw(st.integers(0, 2**32 - 1))
    d = draw(st.integers(1, 3))
    k = draw(st.integers(1, 5))
    n = draw(st.integers(5, 60))
    rng = np.random.default_rng(seed)
    x = _blobs(rng, n, d, draw(st.integers(1, 4)), spread=draw(st.floats(0.0, 5.0)))
    prior = dict(alpha0=draw(st.floats(1e-3, 10.0)), beta0=draw(st.floats(1e-2, 10.0)),
                 m0=rng.normal(size=d), nu0=d - 1 + draw(st.floats(0.1, 10.0)),
                 W0=draw(st.floats(0.05, 5.0)) * np.eye(d))
    return x, k, prior, _random_resp(rng, n, k)


@settings(max_examples=40, deadline=None)
@given(_problems())
def test_elbo_never_decreases(problem):
    x, k, prior, r0 = problem
    fit = cavi.cavi_gmm(x, k, **prior, resp_init=r0, max_iter=60)
    assert np.all(np.isfinite(fit.elbo))
    assert cavi.elbo_is_non_decreasing(fit.elbo, rtol=ELBO_SLACK), np.diff(fit.elbo).min()
    # also within the iteration: after the global step (with the old resp) the ELBO is between
    one = cavi.cavi_gmm(x, k, **prior, resp_init=r0, max_iter=1)
    two = cavi.cavi_gmm(x, k, **prior, resp_init=one.resp, max_iter=1)
    half = cavi.elbo_gmm(x, *two[:5], **prior, resp=one.resp)
    slack = ELBO_SLACK * abs(half)
    assert one.elbo[0] - slack <= half <= two.elbo[0] + slack


@settings(max_examples=30, deadline=None)
@given(_problems(), st.randoms(use_true_random=False))
def test_permuting_components_permutes_the_result(problem, rnd):
    x, k, prior, r0 = problem
    perm = np.array(rnd.sample(range(k), k))
    a = cavi.cavi_gmm(x, k, **prior, resp_init=r0, max_iter=15, tol=0.0)
    b = cavi.cavi_gmm(x, k, **prior, resp_init=r0[:, perm], max_iter=15, tol=0.0)
    for u, v in zip(a[:6], b[:6]):
        axis = 1 if u.ndim == 2 and u.shape[0] == x.shape[0] else 0
        np.testing.assert_allclose(np.take(u, perm, axis=axis), v, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(a.elbo, b.elbo, rtol=1e-11)


@settings(max_examples=30, deadline=None)
@given(_problems())
def test_k1_is_conjugate_for_any_prior(problem):
    x, _, prior, _ = problem
    n, d = x.shape
    fit = cavi.cavi_gmm(x, 1, **prior, max_iter=2, tol=0.0)
    assert fit.elbo[0] == pytest.approx(fit.elbo[1], rel=1e-12)     # exact after one step
    beta_n = prior["beta0"] + n
    m_n = (prior["beta0"] * prior["m0"] + x.sum(0)) / beta_n
    w_inv = (np.linalg.inv(prior["W0"]) + x.T @ x + prior["beta0"] * np.outer(prior["m0"], prior["m0"])
             - beta_n * np.outer(m_n, m_n))
    np.testing.assert_allclose(fit.m[0], m_n, rtol=1e-9, atol=1e-9 * np.abs(m_n).max())
    np.testing.assert_allclose(np.linalg.inv(fit.W[0]), w_inv, rtol=1e-8, atol=1e-8 * np.abs(w_inv).max())
    # the log evidence in closed form (Murphy 2007, eq. 266, with Λ0 = W0^{-1}): the ELBO equals it
    nu_n = prior["nu0"] + n
    log_ev = (-n * d / 2 * np.log(np.pi) + special.multigammaln(nu_n / 2, d)
              - special.multigammaln(prior["nu0"] / 2, d)
              - prior["nu0"] / 2 * np.linalg.slogdet(prior["W0"])[1] - nu_n / 2 * np.linalg.slogdet(w_inv)[1]
              + d / 2 * np.log(prior["beta0"] / beta_n))
    np.testing.assert_allclose(fit.elbo[-1], log_ev, rtol=1e-9)
