"""Tests for the KL divergences in vi_lib.divergences.

References are computed here, independently of vi_lib, in mpmath with 60
significant digits from the closed forms (the float64 inputs are exact in
mpmath, so the reference is the exact divergence of the float64 parameters).
"""

import math

import mpmath
import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from scipy import integrate, stats

from vi_lib.divergences import kl_divergence, kl_monte_carlo, kl_mvn, kl_mvn_diag, kl_normal

DPS = 60


# --------------------------------------------------------------------------- references


def kl_normal_ref(mu_q, sigma_q, mu_p, sigma_p):
    """KL(N(mu_q, sigma_q^2) || N(mu_p, sigma_p^2)) in mpmath."""
    with mpmath.workdps(DPS):
        mq, sq, mp_, sp = (mpmath.mpf(float(x)) for x in (mu_q, sigma_q, mu_p, sigma_p))
        r = (sq / sp) ** 2
        return (r - 1 - mpmath.log(r) + ((mq - mp_) / sp) ** 2) / 2


def kl_mvn_ref(mu_q, cov_q, mu_p, cov_p):
    """KL(N(mu_q, cov_q) || N(mu_p, cov_p)) in mpmath, from the textbook formula."""
    with mpmath.workdps(DPS):
        sq = mpmath.matrix(np.asarray(cov_q).tolist())
        sp = mpmath.matrix(np.asarray(cov_p).tolist())
        diff = mpmath.matrix((np.asarray(mu_q) - 0.0).tolist()) - mpmath.matrix(
            np.asarray(mu_p).tolist())
        d = sq.rows
        sp_inv = mpmath.inverse(sp)
        tr = sum((sp_inv * sq)[i, i] for i in range(d))
        maha = (diff.T * sp_inv * diff)[0]
        return (tr - d - mpmath.log(mpmath.det(sq) / mpmath.det(sp)) + maha) / 2


def rel_err(value, ref):
    ref = mpmath.mpf(ref)
    if ref == 0:
        return abs(float(value))
    return float(abs((mpmath.mpf(float(value)) - ref) / ref))


# --------------------------------------------------------------------------- kl_normal accuracy

# q ~ p with relative parameter differences down to 1e-12 (and one ulp), far apart,
# and scales from 1e-200 to 1e200.
NEAR_CASES = [
    (0.0, 1.0 + 1e-12, 0.0, 1.0),
    (0.0, 1.0 - 1e-12, 0.0, 1.0),
    (0.0, 1.0, 1e-12, 1.0),
    (1.0, 1.0 + 1e-12, 1.0 + 1e-12, 1.0),
    (0.0, math.nextafter(1.0, 2.0), 0.0, 1.0),
    (0.0, 0.7, 0.0, math.nextafter(0.7, 0.0)),
    (3.0, 2.0 * (1 + 3e-13), 3.0 * (1 - 1e-12), 2.0),
    (1e200, 1e200, 1e200 * (1 + 1e-12), 1e200 * (1 - 3e-12)),
    (-1e-200, 1e-200 * (1 + 1e-12), 1e-200, 1e-200),
    (5.0, 1e-5 * (1 + 1e-9), 5.0 + 1e-12, 1e-5),
    (0.0, 1.0 + 1e-6, 0.0, 1.0),
    (0.0, 1.0 + 0.2, 0.0, 1.0),     # near the series / closed-form switch
    (0.0, math.exp(0.25), 0.0, 1.0),
    (0.0, math.exp(-0.25), 0.0, 1.0),
]
FAR_CASES = [
    (0.0, 1.0, 1.0, 2.0),
    (0.0, 1e-200, 0.0, 1e200),
    (0.0, 1e150, 0.0, 1e-4),         # KL ~ 5e307, still finite
    (1e200, 1e100, -1e200, 1e100 * 1.5),
    (0.0, 1e154, 0.0, 1.0),          # ratio**2 near overflow, result finite
    (-1e150, 1.0, 1e150, 1e-3),      # huge mean term (~2e306)
    (1.5e308, 1e154, -1.5e308, 1e200),  # mu_q - mu_p overflows, result finite
    (0.3e-300, 1e-300, -0.3e-300, 1e-300 * 7),
    (2.0, 3.0, -1.0, 0.5),
]


@pytest.mark.parametrize("case", NEAR_CASES + FAR_CASES)
def test_kl_normal_matches_mpmath(case):
    value = kl_normal(*case)
    ref = kl_normal_ref(*case)
    assert np.isfinite(value) and value >= 0
    assert rel_err(value, ref) <= 1e-12, (case, value, ref)


def test_kl_normal_overflow_is_inf_only_beyond_float_range():
    # true value ~ 5e399: inf is the correctly rounded answer
    assert kl_normal(0.0, 1e200, 0.0, 1e-300) == np.inf
    assert np.isfinite(kl_normal(0.0, 1.3e154, 0.0, 1.0))


def test_kl_normal_textbook_formula_fails_where_vi_lib_does_not():
    # The motivation of issue 3: the naive formula returns noise or inf.
    def naive(mu_q, s_q, mu_p, s_p):
        r = (s_q / s_p) ** 2
        return 0.5 * (r + ((mu_q - mu_p) / s_p) ** 2 - 1 - np.log(r))

    for case in [(1e-9, 1.0, 0.0, 1.0),            # delta**2 is absorbed by r: naive gives 0
                 (0.0, 1.0 + 1e-14, 0.0, 1.0),     # r - 1 - log r keeps ~2 digits
                 (0.0, 0.7 * (1 + 1e-14), 0.0, 0.7)]:  # r is rounded before the cancellation
        assert rel_err(naive(*case), kl_normal_ref(*case)) > 1e-3
        assert rel_err(kl_normal(*case), kl_normal_ref(*case)) < 1e-14
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        assert not np.isfinite(naive(0.0, 1e-200, 0.0, 1e200))
    assert np.isfinite(kl_normal(0.0, 1e-200, 0.0, 1e200))


def _log_uniform(rng, lo, hi, size):
    return 10.0 ** rng.uniform(lo, hi, size)


def test_kl_normal_random_sweep_matches_mpmath():
    rng = np.random.default_rng(20261124)
    n = 400
    sigma_p = _log_uniform(rng, -200, 200, n)
    kind = rng.integers(0, 3, n)
    rel = rng.choice([-1.0, 1.0], n) * _log_uniform(rng, -12, -1, n)
    sigma_q = np.where(kind == 0, sigma_p * (1 + rel),
                       np.where(kind == 1, sigma_p * _log_uniform(rng, -3, 3, n),
                                _log_uniform(rng, -200, 200, n)))
    mu_p = rng.normal(size=n) * sigma_p
    mu_q = mu_p + np.where(rng.random(n) < 0.5, rel * sigma_p, rng.normal(size=n) * sigma_q)
    values = kl_normal(mu_q, sigma_q, mu_p, sigma_p)      # vectorised call
    errs = []
    for i in range(n):
        ref = kl_normal_ref(mu_q[i], sigma_q[i], mu_p[i], sigma_p[i])
        if ref > 1e308:
            assert values[i] == np.inf
            continue
        errs.append(rel_err(values[i], ref))
    assert max(errs) <= 1e-12, max(errs)


def test_kl_normal_broadcasts_and_returns_scalars():
    out = kl_normal(np.zeros((3, 1)), 1.0, np.arange(4.0), 2.0)
    assert out.shape == (3, 4) and out.dtype == np.float64
    assert isinstance(kl_normal(0, 1, 0, 1), float)
    assert kl_normal(0, 1, 0, 1) == 0.0
    np.testing.assert_array_equal(kl_normal([0.0, 1.0], 1.0, 0.0, 1.0), [0.0, 0.5])


def test_kl_normal_agrees_with_quad():
    mu_q, s_q, mu_p, s_p = 0.3, 0.7, -1.1, 1.9
    q, p = stats.norm(mu_q, s_q), stats.norm(mu_p, s_p)
    ref, _ = integrate.quad(lambda x: q.pdf(x) * (q.logpdf(x) - p.logpdf(x)), -np.inf, np.inf,
                            epsabs=0, epsrel=1e-12)
    np.testing.assert_allclose(kl_normal(mu_q, s_q, mu_p, s_p), ref, rtol=1e-10)


# --------------------------------------------------------------------------- hypothesis: kl_normal

locations = st.floats(-1e3, 1e3, allow_nan=False, allow_subnormal=False)
scales = st.floats(1e-3, 1e3, allow_nan=False, allow_subnormal=False)


@settings(max_examples=100, deadline=None)
@given(locations, scales, locations, scales)
def test_kl_normal_nonnegative_and_zero_iff_equal(mu_q, s_q, mu_p, s_p):
    value = kl_normal(mu_q, s_q, mu_p, s_p)
    assert np.isfinite(value) and value >= 0
    assert kl_normal(mu_q, s_q, mu_q, s_q) == 0.0
    if (mu_q, s_q) != (mu_p, s_p) and kl_normal_ref(mu_q, s_q, mu_p, s_p) > 1e-300:
        assert value > 0  # (a true value below the float64 range may round to 0)


def _log_normal(x, mu, sigma):
    return -0.5 * ((x - mu) / sigma) ** 2 - math.log(sigma) - 0.5 * math.log(2 * math.pi)


@settings(max_examples=40, deadline=None)
@given(locations, scales, locations, scales)
def test_kl_normal_agrees_with_quad_property(mu_q, s_q, mu_p, s_p):
    assume(abs(math.log(s_q / s_p)) < 3 and abs(mu_q - mu_p) < 20 * max(s_q, s_p))

    def integrand(x):
        lq = _log_normal(x, mu_q, s_q)
        return math.exp(lq) * (lq - _log_normal(x, mu_p, s_p))

    ref, _ = integrate.quad(integrand, mu_q - 40 * s_q, mu_q + 40 * s_q, points=[mu_q],
                            epsabs=1e-13, epsrel=1e-10, limit=200)
    assert abs(kl_normal(mu_q, s_q, mu_p, s_p) - ref) <= 1e-9 * abs(ref) + 1e-11


@settings(max_examples=100, deadline=None)
@given(locations, scales, locations, scales, st.integers(-300, 300), st.floats(-1e3, 1e3))
def test_kl_normal_joint_affine_invariance(mu_q, s_q, mu_p, s_p, k, shift):
    value = kl_normal(mu_q, s_q, mu_p, s_p)
    # x -> 2^k x: exact in floating point, so the result must be bit-identical
    c = 2.0 ** k
    assert kl_normal(c * mu_q, c * s_q, c * mu_p, c * s_p) == value
    # x -> -x
    assert kl_normal(-mu_q, s_q, -mu_p, s_p) == value
    # x -> x + shift: rounding of the shifted means perturbs the input, so compare
    # against the exact divergence of the rounded parameters
    mq, mp_ = mu_q + shift, mu_p + shift
    ref = kl_normal_ref(mq, s_q, mp_, s_p)
    assert abs(kl_normal(mq, s_q, mp_, s_p) - ref) <= 1e-12 * ref + 1e-320


@settings(max_examples=100, deadline=None)
@given(st.floats(1e-300, 1e300), st.floats(-1e-3, 1e-3).filter(lambda u: u != 0),
       st.floats(-1e6, 1e6))
def test_kl_normal_near_equal_property(s_p, rel, mu):
    # q ~ p at every scale: relative error 1e-12 against mpmath
    s_q = s_p * (1 + rel)
    mu_q = mu * s_p
    mu_p = mu_q + rel * s_p
    value = kl_normal(mu_q, s_q, mu_p, s_p)
    ref = kl_normal_ref(mu_q, s_q, mu_p, s_p)
    assume(ref > 1e-300)  # keep clear of underflow of the result itself
    assert rel_err(value, ref) <= 1e-12


# --------------------------------------------------------------------------- diagonal case


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 6), st.integers(0, 2**32 - 1))
def test_kl_mvn_diag_is_sum_of_univariate_and_matches_kl_mvn(d, seed):
    rng = np.random.default_rng(seed)
    mu_q, mu_p = rng.normal(size=(2, d))
    s_q, s_p = np.exp(rng.normal(size=(2, d)))
    value = kl_mvn_diag(mu_q, s_q, mu_p, s_p)
    assert value == np.sum(kl_normal(mu_q, s_q, mu_p, s_p))
    full = kl_mvn(mu_q, np.diag(s_q**2), mu_p, np.diag(s_p**2))
    np.testing.assert_allclose(full, value, rtol=1e-12)


def test_kl_mvn_diag_batched_and_vae_form():
    rng = np.random.default_rng(3)
    mu, log_sigma = rng.normal(size=(2, 5, 4))
    sigma = np.exp(log_sigma)
    out = kl_mvn_diag(mu, sigma, 0.0, 1.0)
    assert out.shape == (5,)
    vae = 0.5 * np.sum(sigma**2 + mu**2 - 1.0 - 2.0 * log_sigma, axis=-1)
    np.testing.assert_allclose(out, vae, rtol=1e-12)


def test_kl_mvn_diag_near_equal_matches_mpmath():
    s_p = np.array([1.0, 2.0, 1e-100, 1e100])
    s_q = s_p * (1 + np.array([1e-12, -3e-12, 1e-11, 2e-12]))
    mu_q, mu_p = np.zeros(4), np.full(4, 0.0)
    ref = sum(kl_normal_ref(mu_q[i], s_q[i], mu_p[i], s_p[i]) for i in range(4))
    assert rel_err(kl_mvn_diag(mu_q, s_q, mu_p, s_p), ref) <= 1e-12


# --------------------------------------------------------------------------- kl_mvn


def _spd(rng, d, cond):
    """Random SPD matrix with condition number `cond` and random scale."""
    q, _ = np.linalg.qr(rng.normal(size=(d, d)))
    eig = np.geomspace(1.0, cond, d) if d > 1 else np.array([1.0])
    m = (q * eig) @ q.T
    return 0.5 * (m + m.T)


@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("closeness", [0.0, 1e-12, 1e-9, 1e-6, 1e-3, 1.0, "far", "scaled"])
def test_kl_mvn_matches_mpmath(seed, closeness):
    rng = np.random.default_rng(seed)
    d = int(rng.integers(2, 6))
    cov_p = _spd(rng, d, 10.0 ** rng.uniform(0, 3))
    mu_p = rng.normal(size=d)
    if closeness == "far":
        cov_q = _spd(rng, d, 10.0 ** rng.uniform(0, 3))
        mu_q = rng.normal(size=d) * 3
    elif closeness == "scaled":
        cov_q = cov_p * 10.0 ** rng.uniform(-8, 8)
        mu_q = mu_p + rng.normal(size=d)
    else:
        b = rng.normal(size=(d, d))
        cov_q = cov_p + closeness * (b @ b.T) * np.linalg.norm(cov_p, 2) / d
        cov_q = 0.5 * (cov_q + cov_q.T)
        mu_q = mu_p + closeness * rng.normal(size=d)
    assert max(np.linalg.cond(cov_p), np.linalg.cond(cov_q)) <= 1.1e3
    value = kl_mvn(mu_q, cov_q, mu_p, cov_p)
    ref = kl_mvn_ref(mu_q, cov_q, mu_p, cov_p)
    assert value >= 0
    assert rel_err(value, ref) <= 1e-9, (value, ref)


def test_kl_mvn_identical_is_zero_and_never_negative():
    rng = np.random.default_rng(11)
    covs = np.stack([_spd(rng, 4, 1e3) for _ in range(50)])
    mus = rng.normal(size=(50, 4))
    np.testing.assert_array_equal(kl_mvn(mus, covs, mus, covs), 0.0)
    # one-ulp perturbations: tiny but never negative
    covs2 = np.nextafter(covs, np.inf)
    covs2 = 0.5 * (covs2 + np.swapaxes(covs2, -1, -2))
    assert np.all(kl_mvn(mus, covs2, mus, covs) >= 0)


def test_kl_mvn_batched_broadcasting_and_d1():
    rng = np.random.default_rng(5)
    cov_p = _spd(rng, 3, 10)
    covs_q = np.stack([_spd(rng, 3, 100) for _ in range(6)]).reshape(2, 3, 3, 3)
    mu_q = rng.normal(size=(2, 3, 3))
    out = kl_mvn(mu_q, covs_q, np.zeros(3), cov_p)
    assert out.shape == (2, 3)
    for i in range(2):
        for j in range(3):
            assert out[i, j] == pytest.approx(kl_mvn(mu_q[i, j], covs_q[i, j], np.zeros(3), cov_p),
                                              rel=1e-14)
    # d = 1 reduces to kl_normal
    np.testing.assert_allclose(kl_mvn([0.5], [[4.0]], [0.0], [[1.0]]), kl_normal(0.5, 2.0, 0, 1),
                               rtol=1e-15)


@pytest.mark.parametrize("rel", [1e-12, -1e-9, 1e-6, 0.3, 5.0])
def test_kl_mvn_d1_matches_mpmath(rel):
    # the variance (not the sd) is perturbed: sqrt in the Cholesky factor must not round it away
    var_p = 2.7
    var_q = var_p * (1 + rel)
    value = kl_mvn([0.1], [[var_q]], [0.1 + 1e-9], [[var_p]])
    ref = kl_mvn_ref([0.1], [[var_q]], [0.1 + 1e-9], [[var_p]])
    assert rel_err(value, ref) <= 1e-12


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 5), st.integers(0, 2**32 - 1))
def test_kl_mvn_joint_affine_invariance(d, seed):
    rng = np.random.default_rng(seed)
    cov_q, cov_p = _spd(rng, d, 30.0), _spd(rng, d, 30.0)
    mu_q, mu_p, shift = rng.normal(size=(3, d))
    a = _spd(rng, d, 5.0) @ np.linalg.qr(rng.normal(size=(d, d)))[0]
    value = kl_mvn(mu_q, cov_q, mu_p, cov_p)
    moved = kl_mvn(a @ mu_q + shift, a @ cov_q @ a.T, a @ mu_p + shift, a @ cov_p @ a.T)
    np.testing.assert_allclose(moved, value, rtol=1e-9)
    assert value >= 0


def test_kl_mvn_agrees_with_quadrature_2d():
    mu_q, cov_q = np.array([0.2, -0.1]), np.array([[1.0, 0.3], [0.3, 0.5]])
    mu_p, cov_p = np.array([0.0, 0.4]), np.array([[2.0, -0.4], [-0.4, 1.0]])
    prec_q, prec_p = np.linalg.inv(cov_q), np.linalg.inv(cov_p)
    c_q = -0.5 * math.log(np.linalg.det(2 * math.pi * cov_q))
    c_p = -0.5 * math.log(np.linalg.det(2 * math.pi * cov_p))

    def log_density(x, y, mu, prec, c):
        u, v = x - mu[0], y - mu[1]
        return c - 0.5 * (prec[0, 0] * u * u + 2 * prec[0, 1] * u * v + prec[1, 1] * v * v)

    def integrand(y, x):
        lq = log_density(x, y, mu_q, prec_q, c_q)
        return math.exp(lq) * (lq - log_density(x, y, mu_p, prec_p, c_p))

    ref, _ = integrate.dblquad(integrand, -8, 8, -8, 8, epsabs=1e-11, epsrel=1e-10)
    np.testing.assert_allclose(kl_mvn(mu_q, cov_q, mu_p, cov_p), ref, rtol=1e-8)


# --------------------------------------------------------------------------- kl_divergence


def test_kl_divergence_frozen_scipy():
    value = kl_divergence(stats.norm(0.3, 1.2), stats.norm(loc=-1.0, scale=0.4))
    assert value == kl_normal(0.3, 1.2, -1.0, 0.4)
    assert kl_divergence(stats.norm(), stats.norm(scale=2.0)) == kl_normal(0, 1, 0, 2)
    arr = kl_divergence(stats.norm([0.0, 1.0], 1.0), stats.norm(0.0, 1.0))
    np.testing.assert_array_equal(arr, [0.0, 0.5])
    cov_q, cov_p = np.array([[2.0, 0.5], [0.5, 1.0]]), np.eye(2)
    mvn = kl_divergence(stats.multivariate_normal([0.0, 1.0], cov_q),
                        stats.multivariate_normal([0.0, 0.0], cov_p))
    assert mvn == pytest.approx(kl_mvn([0.0, 1.0], cov_q, [0.0, 0.0], cov_p), rel=1e-15)


@pytest.mark.parametrize("q, p, names", [
    (stats.norm(), stats.expon(), ("norm", "expon")),
    (stats.gamma(2.0), stats.norm(), ("gamma", "norm")),
    (stats.norm(), stats.multivariate_normal([0.0]), ("norm", "multivariate_normal")),
    (1.0, stats.norm(), ("float", "norm")),
])
def test_kl_divergence_not_implemented_names_the_pair(q, p, names):
    with pytest.raises(NotImplementedError) as info:
        kl_divergence(q, p)
    for name in names:
        assert name in str(info.value)


# --------------------------------------------------------------------------- kl_monte_carlo


def test_kl_monte_carlo_converges_to_closed_form():
    rng = np.random.default_rng(2026)
    q, p = stats.norm(0.5, 0.8), stats.norm(0.0, 1.5)
    exact = kl_normal(0.5, 0.8, 0.0, 1.5)
    errors = []
    for n in (100, 10_000, 1_000_000):
        est, se = kl_monte_carlo(q.logpdf, p.logpdf, q.rvs(size=n, random_state=rng))
        assert abs(est - exact) < 5 * se
        errors.append(se)
    # standard error shrinks like 1/sqrt(n)
    assert errors[0] / errors[2] == pytest.approx(100, rel=0.2)


def test_kl_monte_carlo_batched_axis():
    rng = np.random.default_rng(7)
    z = rng.normal(size=(2000, 3))
    lq = stats.norm(0, 1).logpdf
    lp = stats.norm([0.0, 1.0, 2.0], 1.0).logpdf
    est, se = kl_monte_carlo(lq, lp, z)
    assert est.shape == se.shape == (3,)
    np.testing.assert_array_less(np.abs(est - np.array([0.0, 0.5, 2.0])), 5 * se + 1e-15)
    est_t, _ = kl_monte_carlo(lambda x: lq(x), lambda x: stats.norm(0.0, 1.0).logpdf(x), z.T,
                              axis=1)
    assert est_t.shape == (3,)


def test_kl_monte_carlo_errors():
    lq = stats.norm().logpdf
    with pytest.raises(ValueError, match="at least two"):
        kl_monte_carlo(lq, lq, [0.1])
    with pytest.raises(ValueError, match="finite"):
        kl_monte_carlo(lq, stats.expon().logpdf, [-1.0, 1.0])
    with pytest.raises(TypeError, match="log_q must be callable"):
        kl_monte_carlo(1.0, lq, [0.0, 1.0])
    with pytest.raises(TypeError, match="samples"):
        kl_monte_carlo(lq, lq, ["a", "b"])
