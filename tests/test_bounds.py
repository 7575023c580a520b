"""vi_lib.bounds: IWAE and Rényi (VR) estimates against exact values on a 1-D Gaussian target.

Target: the unnormalised density exp(LOG_Z) N(z; M_P, S_P²), so log p(x) = LOG_Z exactly and
the posterior is N(M_P, S_P²). q = N(M_Q, S_Q²), mismatched. Reference values come from closed
forms written here or from Gauss–Hermite / scipy quadrature, never from vi_lib.bounds.
Monte Carlo estimates are compared within 4 standard errors.
"""

import math

import numpy as np
import pytest
from numpy.polynomial.hermite_e import hermegauss
from scipy import integrate, stats
from scipy.special import logsumexp

from vi_lib import bounds

LOG_Z, M_P, S_P = 1.3, 0.4, 0.8
M_Q, S_Q = -0.1, 1.1   # q wider than p: the weights are bounded, all moments finite


def log_joint(z):
    return LOG_Z + stats.norm.logpdf(z[:, 0], M_P, S_P)


def log_q(z):
    return stats.norm.logpdf(z[:, 0], M_Q, S_Q)


def sample_q(n, seed):
    return M_Q + S_Q * np.random.default_rng(seed).standard_normal((n, 1))


def log_w_of_eps(eps):
    z = M_Q + S_Q * eps
    return LOG_Z + stats.norm.logpdf(z, M_P, S_P) - stats.norm.logpdf(z, M_Q, S_Q)


def exact_elbo():
    # log Z - KL(q || p) for two normals (closed form)
    kl = math.log(S_P / S_Q) + (S_Q**2 + (M_Q - M_P) ** 2) / (2 * S_P**2) - 0.5
    return LOG_Z - kl


def exact_two_particle(alpha):
    # E over two independent draws of (1/(1-a)) log((w1^(1-a) + w2^(1-a)) / 2), by a 2-D
    # probabilists' Gauss-Hermite rule in the base noise (the integrand is smooth).
    x, wts = hermegauss(80)
    wts = wts / math.sqrt(2 * math.pi)
    lw = log_w_of_eps(x)
    a = 1.0 - alpha
    pair = np.logaddexp(a * lw[:, None], a * lw[None, :]) - math.log(2)
    return float(np.sum(wts[:, None] * wts[None, :] * pair) / a)


def check_within(est, exact, n_se=4.0):
    assert np.isfinite(est.std_error) and est.std_error > 0
    assert abs(est.estimate - exact) < n_se * est.std_error, (est.estimate, exact, est.std_error)


def test_iwae_one_particle_is_the_elbo():
    est = bounds.iwae_bound(log_joint, sample_q, log_q, 1, 20_000, seed=1)
    check_within(est, exact_elbo())
    assert est.per_draw.shape == (20_000,) and est.num_particles == 1


def test_iwae_two_particles_against_quadrature():
    exact = exact_two_particle(0.0)
    assert exact > exact_elbo() + 0.01      # the two-particle bound is visibly tighter here
    est = bounds.iwae_bound(log_joint, sample_q, log_q, 2, 20_000, seed=2)
    check_within(est, exact)


@pytest.mark.parametrize("alpha", [0.3, 0.5, 2.0])
def test_renyi_two_particles_against_quadrature(alpha):
    est = bounds.renyi_bound(alpha, log_joint, sample_q, log_q, 2, 20_000, seed=3)
    check_within(est, exact_two_particle(alpha))


def test_renyi_limits():
    # alpha = 0 is the IWAE estimator on the same draws; alpha = 1 is the ELBO for any K
    iw = bounds.iwae_bound(log_joint, sample_q, log_q, 5, 400, seed=4)
    r0 = bounds.renyi_bound(0.0, log_joint, sample_q, log_q, 5, 400, seed=4)
    np.testing.assert_allclose(r0.per_draw, iw.per_draw, rtol=1e-12)
    r1 = bounds.renyi_bound(1, log_joint, sample_q, log_q, 5, 4000, seed=5)
    check_within(r1, exact_elbo())
    near = bounds.renyi_bound(1 - 1e-7, log_joint, sample_q, log_q, 5, 4000, seed=5)
    np.testing.assert_allclose(near.per_draw, r1.per_draw, atol=1e-5)


def test_renyi_large_k_approaches_the_exact_vr_bound():
    # L_alpha = (1/(1-alpha)) log int q^alpha ptilde^(1-alpha) by quadrature; the K-particle
    # estimator's expectation lies below it by about Var(v)/(2 K (1-alpha) E[v]^2), v = w^(1-alpha)
    alpha, k = 0.5, 500
    a = 1 - alpha
    moment = lambda b: integrate.quad(lambda e: stats.norm.pdf(e) * math.exp(b * log_w_of_eps(e)),
                                      -12, 12, epsabs=0, epsrel=1e-12)[0]
    m1, m2 = moment(a), moment(2 * a)
    exact = math.log(m1) / a
    bias = (m2 / m1**2 - 1) / (2 * k * a)
    assert exact_elbo() < exact < LOG_Z
    est = bounds.renyi_bound(alpha, log_joint, sample_q, log_q, k, 200, seed=6)
    assert est.estimate < exact + 4 * est.std_error
    assert est.estimate > exact - 3 * bias - 4 * est.std_error


def test_iwae_large_k_below_and_close_to_log_evidence():
    est = bounds.iwae_bound(log_joint, sample_q, log_q, 1000, 100, seed=7)
    assert est.estimate < LOG_Z + 4 * est.std_error
    # bias ~ Var(w / Z) / (2K) = (E_q[(w/Z)^2] - 1) / (2K), by quadrature
    m2 = integrate.quad(lambda e: stats.norm.pdf(e) * math.exp(2 * (log_w_of_eps(e) - LOG_Z)),
                        -12, 12, epsrel=1e-12)[0]
    bias = (m2 - 1) / 2000
    assert est.estimate > LOG_Z - 3 * bias - 4 * est.std_error


def test_log_sum_exp_survives_huge_log_weights():
    # log p(x) = 1300: exponentiating a single weight would overflow float64 (max ~ e^709)
    shifted = lambda z: log_joint(z) + 1000.0  # noqa: E731
    base = bounds.iwae_bound(log_joint, sample_q, log_q, 8, 50, seed=8)
    big = bounds.iwae_bound(shifted, sample_q, log_q, 8, 50, seed=8)
    np.testing.assert_allclose(big.per_draw - 1000.0, base.per_draw, atol=1e-9)
    vr = bounds.renyi_bound(0.5, shifted, sample_q, log_q, 8, 50, seed=8)
    assert np.all(np.isfinite(vr.per_draw))


def test_iwae_from_log_weights_matches_direct_formula():
    rng = np.random.default_rng(9)
    lw = rng.normal(size=(3, 12)) * 2
    got = bounds.iwae_from_log_weights(lw, 4)
    direct = np.array([np.mean([np.log(np.mean(np.exp(row[i:i + 4]))) for i in (0, 4, 8)])
                       for row in lw])
    np.testing.assert_allclose(got, direct, rtol=1e-12)
    with pytest.raises(ValueError, match="divide"):
        bounds.iwae_from_log_weights(lw, 5)


def test_standard_error_is_the_sample_sd_over_root_n():
    est = bounds.iwae_bound(log_joint, sample_q, log_q, 3, 64, seed=10)
    assert est.std_error == pytest.approx(np.std(est.per_draw, ddof=1) / 8, rel=1e-12)
    assert est.estimate == pytest.approx(np.mean(est.per_draw), rel=1e-12)


@pytest.mark.parametrize("k", [0, -3])
def test_num_particles_below_one_is_rejected(k):
    with pytest.raises(ValueError, match="num_particles must be >= 1"):
        bounds.iwae_bound(log_joint, sample_q, log_q, k, 10, seed=0)
    with pytest.raises(ValueError, match="num_particles must be >= 1"):
        bounds.renyi_bound(0.5, log_joint, sample_q, log_q, k, 10, seed=0)


def test_bad_counts_and_alpha():
    with pytest.raises(TypeError, match="num_particles must be an integer"):
        bounds.iwae_bound(log_joint, sample_q, log_q, 2.5, 10, seed=0)
    with pytest.raises(ValueError, match="num_draws must be >= 1"):
        bounds.iwae_bound(log_joint, sample_q, log_q, 2, 0, seed=0)
    for alpha in (-0.5, float("nan"), float("inf")):
        with pytest.raises(ValueError, match="alpha must be finite and >= 0"):
            bounds.renyi_bound(alpha, log_joint, sample_q, log_q, 2, 10, seed=0)
    with pytest.raises(TypeError, match="alpha must be a real number"):
        bounds.renyi_bound("0.5", log_joint, sample_q, log_q, 2, 10, seed=0)


def test_shape_mismatches_are_named():
    with pytest.raises(ValueError, match="sample_q"):
        bounds.iwae_bound(log_joint, lambda n, s: np.zeros(n), log_q, 2, 5, seed=0)
    with pytest.raises(ValueError, match="sample_q"):
        bounds.iwae_bound(log_joint, lambda n, s: np.zeros((n - 1, 1)), log_q, 2, 5, seed=0)
    with pytest.raises(ValueError, match=r"log_q\(z\) must return shape"):
        bounds.iwae_bound(log_joint, sample_q, lambda z: np.zeros((len(z), 1)), 2, 5, seed=0)
    with pytest.raises(ValueError, match=r"log_joint\(z\) must return shape"):
        bounds.iwae_bound(lambda z: 0.0, sample_q, log_q, 2, 5, seed=0)
    with pytest.raises(ValueError, match="log_q must be finite"):
        bounds.iwae_bound(log_joint, sample_q, lambda z: np.full(len(z), -np.inf), 2, 5, seed=0)


def test_gaussian_q_matches_scipy():
    mean, L = np.array([0.5, -1.0]), np.array([[1.2, 0.0], [0.7, 0.4]])
    q = bounds.gaussian_q(mean, L)
    z = q.sample(5000, seed=12)
    assert z.shape == (5000, 2)
    np.testing.assert_allclose(q.log_prob(z), stats.multivariate_normal(mean, L @ L.T).logpdf(z),
                               rtol=1e-12)
    np.testing.assert_allclose(np.cov(z.T), L @ L.T, atol=0.1)
    with pytest.raises(ValueError, match="lower-triangular"):
        bounds.gaussian_q(mean, L.T)
    with pytest.raises(ValueError, match="dim = 2"):
        q.log_prob(np.zeros((3, 3)))
