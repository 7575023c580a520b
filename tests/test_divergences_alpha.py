"""Tests for the alpha-, Rényi and Hellinger divergences in vi_lib.divergences.

Two independent references, both in mpmath:

* the definition, integrated by mpmath quadrature (30 digits), for a
  representative set of cases with alpha in [-3, 3] including ±1 and near ±1;
* the Gaussian closed form (Gil et al. 2013, Table 2) at 120 digits, checked
  against the quadrature above, for large random sweeps.
"""

import math

import mpmath
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import integrate, stats

from vi_lib.divergences import (
    alpha_divergence,
    alpha_divergence_mvn,
    alpha_divergence_normal,
    hellinger_normal,
    kl_mvn,
    kl_normal,
    renyi_divergence_mvn,
    renyi_divergence_normal,
)

TOL = 1e-10          # issue 3: alpha, Rényi, Hellinger vs mpmath
TOL_MVN = 1e-9       # full covariances with condition number <= 1e3


# --------------------------------------------------------------------------- references


def _log_normal_pdf(x, mu, sigma):
    return -(x - mu) ** 2 / (2 * sigma**2) - mpmath.log(sigma) - mpmath.log(2 * mpmath.pi) / 2


def alpha_quad_ref(alpha, mu_p, s_p, mu_q, s_q, dps=30):
    """D_alpha(p || q) = 4/(1-alpha^2) (1 - int p^a q^b) by mpmath quadrature.

    At alpha = ±1 the KL integral itself. Returns mpmath.inf where the integral
    of p^a q^b diverges (its Gaussian exponent has non-positive curvature).
    """
    with mpmath.workdps(dps):
        al, mp_, sp, mq, sq = (mpmath.mpf(float(x)) for x in (alpha, mu_p, s_p, mu_q, s_q))
        a = (1 + al) / 2
        b = 1 - a

        def lp(x):
            return _log_normal_pdf(x, mp_, sp)

        def lq(x):
            return _log_normal_pdf(x, mq, sq)

        if b == 0 or a == 0:
            w, o, centre, width = (lp, lq, mp_, sp) if b == 0 else (lq, lp, mq, sq)

            def f(x):
                return mpmath.exp(w(x)) * (w(x) - o(x))
        else:
            prec = a / sp**2 + b / sq**2
            if prec <= 0:
                return mpmath.inf
            centre = (a * mp_ / sp**2 + b * mq / sq**2) / prec
            width = 1 / mpmath.sqrt(prec)

            def f(x):
                return mpmath.exp(a * lp(x) + b * lq(x))
        points = [-mpmath.inf] + [centre + k * width for k in (-12, -4, 0, 4, 12)] + [mpmath.inf]
        value = mpmath.quad(f, points)
        return value if (a == 0 or b == 0) else (1 - value) / (a * b)


def log_integral_ref(a, mu_p, s_p, mu_q, s_q):
    """log int p^a q^(1-a) for normals, closed form (None if divergent).

    ``a`` is an mpmath number (exact (1 + alpha)/2: rounding it to float64 would
    move b = 1 - a near alpha = 1 by a relative 1e-7).
    """
    a = mpmath.mpf(a)
    mp_, sp, mq, sq = (mpmath.mpf(float(x)) for x in (mu_p, s_p, mu_q, s_q))
    b = 1 - a
    var = a * sq**2 + b * sp**2
    if var <= 0:
        return None
    return (b * mpmath.log(sp) + a * mpmath.log(sq) - mpmath.log(var) / 2
            - a * b * (mp_ - mq) ** 2 / (2 * var))


def _kl_ref(mu_l, s_l, mu_r, s_r):
    mu_l, s_l, mu_r, s_r = (mpmath.mpf(float(x)) for x in (mu_l, s_l, mu_r, s_r))
    return mpmath.log(s_r / s_l) + (s_l**2 + (mu_l - mu_r) ** 2) / (2 * s_r**2) - mpmath.mpf(1) / 2


def alpha_closed_ref(alpha, mu_p, s_p, mu_q, s_q):
    with mpmath.workdps(120):
        al = mpmath.mpf(float(alpha))
        a = (1 + al) / 2
        b = 1 - a
        if b == 0:
            return _kl_ref(mu_p, s_p, mu_q, s_q)
        if a == 0:
            return _kl_ref(mu_q, s_q, mu_p, s_p)
        log_i = log_integral_ref(a, mu_p, s_p, mu_q, s_q)
        if log_i is None:
            return mpmath.inf
        return -mpmath.expm1(log_i) / (a * b)


def renyi_closed_ref(order, mu_p, s_p, mu_q, s_q):
    with mpmath.workdps(120):
        a = mpmath.mpf(float(order))
        if a == 1:
            return _kl_ref(mu_p, s_p, mu_q, s_q)
        log_i = log_integral_ref(a, mu_p, s_p, mu_q, s_q)
        if log_i is None:
            return mpmath.inf
        return log_i / (a - 1)


def rel_err(value, ref):
    if ref == mpmath.inf:
        return 0.0 if value == np.inf else math.inf
    if ref == 0:
        return abs(float(value))
    return float(abs((mpmath.mpf(float(value)) - ref) / ref))


# --------------------------------------------------------------------------- univariate alpha

ALPHAS = [-3.0, -2.0, -1.5, -1.0 - 1e-6, -1.0, -1.0 + 1e-9, -0.5, 0.0, 0.4,
          1.0 - 1e-9, 1.0, 1.0 + 1e-6, 2.0, 3.0]
PAIRS = [
    (0.0, 1.0, 1.0, 2.0),
    (0.3, 0.5, -0.2, 0.45),
    (0.0, 1e-5, 3e-5, 2e-5),
    (100.0, 3.0, 101.0, 2.5),
]


@pytest.mark.parametrize("pair", PAIRS)
@pytest.mark.parametrize("alpha", ALPHAS)
def test_alpha_normal_matches_mpmath_quadrature(alpha, pair):
    value = alpha_divergence_normal(alpha, *pair)
    ref = alpha_quad_ref(alpha, *pair)
    assert not np.isnan(value)
    if ref == mpmath.inf:
        assert value == np.inf
    else:
        assert rel_err(value, ref) <= TOL, (value, ref)
        # the 120-digit closed form agrees with the quadrature
        assert rel_err(float(alpha_closed_ref(alpha, *pair)), ref) <= 1e-14


def test_alpha_normal_random_sweep_matches_closed_form():
    rng = np.random.default_rng(42)
    n = 600
    near_one = 10.0 ** rng.uniform(-15, -1, n) * rng.choice([-1, 1], n)
    alpha = np.where(rng.random(n) < 0.5, rng.uniform(-3, 3, n),
                     rng.choice([-1.0, 1.0], n) + near_one)
    alpha = np.where(rng.random(n) < 0.1, rng.choice([-1.0, 0.0, 1.0], n), alpha)
    s_p = 10.0 ** rng.uniform(-50, 50, n)
    kind = rng.integers(0, 3, n)
    s_q = np.where(kind == 0, s_p * (1 + 10.0 ** rng.uniform(-12, -1, n) * rng.choice([-1, 1], n)),
                   np.where(kind == 1, s_p * np.exp(rng.uniform(-2, 2, n)),
                            s_p * 10.0 ** rng.uniform(-100, 100, n)))
    mu_p = rng.normal(size=n) * s_p
    mu_q = mu_p + rng.normal(size=n) * np.where(rng.random(n) < 0.5, s_p, s_p * 1e-9)
    values = alpha_divergence_normal(alpha, mu_p, s_p, mu_q, s_q)
    assert not np.any(np.isnan(values))
    worst = 0.0
    for i in range(n):
        ref = alpha_closed_ref(alpha[i], mu_p[i], s_p[i], mu_q[i], s_q[i])
        if ref != mpmath.inf and ref > 1e300:
            assert values[i] == np.inf
            continue
        worst = max(worst, rel_err(values[i], ref))
    assert worst <= TOL, worst


def test_alpha_limits_are_kl_in_both_directions():
    pair = (0.3, 0.5, -0.2, 0.45)
    kl_pq = kl_normal(0.3, 0.5, -0.2, 0.45)
    kl_qp = kl_normal(-0.2, 0.45, 0.3, 0.5)
    # bit-identical to kl_normal at the ends (also vectorised, mixed with other alphas)
    assert alpha_divergence_normal(1.0, *pair) == kl_pq
    assert alpha_divergence_normal(-1.0, *pair) == kl_qp
    assert renyi_divergence_normal(1.0, *pair) == kl_pq
    rng = np.random.default_rng(0)
    mu_p, mu_q = rng.normal(size=(2, 500))
    s_p, s_q = np.exp(rng.normal(size=(2, 500)))
    alpha = rng.choice([-1.0, 0.5, 1.0], 500)
    d = alpha_divergence_normal(alpha, mu_p, s_p, mu_q, s_q)
    np.testing.assert_array_equal(d[alpha == 1], kl_normal(mu_p, s_p, mu_q, s_q)[alpha == 1])
    np.testing.assert_array_equal(d[alpha == -1], kl_normal(mu_q, s_q, mu_p, s_p)[alpha == -1])
    # continuity: |D(1 ± h) - D(1)| = O(h), no jump and no 0/0
    for h in 10.0 ** -np.arange(1, 16):
        for sign in (-1, 1):
            for target, ref in ((1.0, kl_pq), (-1.0, kl_qp)):
                value = alpha_divergence_normal(target + sign * h, *pair)
                assert abs(value - ref) <= 10 * h * ref + 1e-15 * ref


def _one_sided(x):
    return np.nextafter(x, -np.inf), x, np.nextafter(x, np.inf)


def test_alpha_is_continuous_across_its_branches():
    # Every switch between evaluation formulas: alpha = 0 (a = 1/2), alpha = ±1, sigma ratios
    # e^{±1/4} and e^{±1/2}. Values on both sides of a switch agree to rounding.
    for alpha0 in (-1.0, 0.0, 1.0):
        for ratio in (0.3, 0.9, 1.0 + 1e-9, 1.7, 40.0):
            d = alpha_divergence_normal(np.array(_one_sided(alpha0)), 0.1, 1.0, -0.2, ratio)
            # one ulp of alpha moves D by |dD/dalpha| * 1.1e-16 (up to ~1e3 * D here)
            np.testing.assert_allclose(d, d[1], rtol=1e-12)
    for ratio0 in (math.exp(0.25), math.exp(-0.25), math.exp(0.5), math.exp(-0.5)):
        for alpha in (-2.5, -1.0, -0.3, 0.0, 0.7, 1.0, 2.0):
            d = alpha_divergence_normal(alpha, 0.1, 1.0, -0.2, np.array(_one_sided(ratio0)))
            if np.all(np.isfinite(d)):
                np.testing.assert_allclose(d, d[1], rtol=1e-12)
    # a smooth sweep through alpha = ±1 has no jumps (differences shrink with the step)
    alpha = np.linspace(-1.5, 1.5, 30001)
    d = alpha_divergence_normal(alpha, 0.0, 1.0, 0.5, 1.3)
    assert np.all(np.isfinite(d))
    assert np.max(np.abs(np.diff(d))) < 1e-3 * np.max(d)


def test_alpha_inf_exactly_where_the_integral_diverges():
    # alpha = 3: a = 2, b = -1, weighted variance 2 s_q^2 - s_p^2
    s_p = 1.0
    assert alpha_divergence_normal(3.0, 0.0, s_p, 0.0, 0.7) == np.inf        # 0.98 - 1 < 0
    assert np.isfinite(alpha_divergence_normal(3.0, 0.0, s_p, 0.0, 0.71))   # 1.0082 - 1 > 0
    # alpha = -3: a = -1, b = 2, weighted variance 2 s_p^2 - s_q^2
    assert alpha_divergence_normal(-3.0, 0.0, 1.0, 0.0, 1.42) == np.inf
    assert np.isfinite(alpha_divergence_normal(-3.0, 0.0, 1.0, 0.0, 1.41))
    # |alpha| <= 1 never diverges
    assert np.all(np.isfinite(alpha_divergence_normal(np.linspace(-1, 1, 101), 0, 1e-50, 5, 1e50)))


def test_alpha_far_apart_tends_to_4_over_1_minus_alpha_squared():
    alpha = np.array([-0.9, -0.5, 0.0, 0.5, 0.9])
    d = alpha_divergence_normal(alpha, 0.0, 1.0, 1e10, 1.0)
    np.testing.assert_allclose(d, 4 / (1 - alpha**2), rtol=1e-15)


alphas = st.floats(-3, 3)
locations = st.floats(-1e3, 1e3, allow_subnormal=False)
scales = st.floats(1e-3, 1e3, allow_subnormal=False)


@settings(max_examples=100, deadline=None)
@given(alphas, locations, scales, locations, scales)
def test_alpha_nonnegative_zero_iff_equal_and_dual(alpha, mu_p, s_p, mu_q, s_q):
    value = alpha_divergence_normal(alpha, mu_p, s_p, mu_q, s_q)
    assert not np.isnan(value) and value >= 0
    assert alpha_divergence_normal(alpha, mu_p, s_p, mu_p, s_p) == 0.0
    if (mu_p, s_p) != (mu_q, s_q) and (abs(mu_p - mu_q) / max(s_p, s_q) > 1e-100
                                       or s_p != s_q):
        assert value > 0
    # duality: D_alpha(p || q) = D_{-alpha}(q || p)
    dual = alpha_divergence_normal(-alpha, mu_q, s_q, mu_p, s_p)
    assert dual == pytest.approx(value, rel=1e-13) or (dual == value == np.inf)


@settings(max_examples=80, deadline=None)
@given(alphas, locations, scales, locations, scales, st.integers(-200, 200),
       st.floats(-1e3, 1e3))
def test_alpha_joint_affine_invariance(alpha, mu_p, s_p, mu_q, s_q, k, shift):
    value = alpha_divergence_normal(alpha, mu_p, s_p, mu_q, s_q)
    c = 2.0**k   # exact scaling
    assert alpha_divergence_normal(alpha, c * mu_p, c * s_p, c * mu_q, c * s_q) == value
    assert alpha_divergence_normal(alpha, -mu_p, s_p, -mu_q, s_q) == value
    mp_, mq = mu_p + shift, mu_q + shift
    ref = alpha_closed_ref(alpha, mp_, s_p, mq, s_q)
    shifted = alpha_divergence_normal(alpha, mp_, s_p, mq, s_q)
    if ref == mpmath.inf or ref > np.finfo(float).max:
        assert shifted == np.inf
    else:
        assert abs(shifted - ref) <= TOL * ref + 1e-100  # (mpmath rounding noise near 0)


# --------------------------------------------------------------------------- Rényi and Hellinger

ORDERS = [0.1, 0.5, 1.0 - 1e-8, 1.0, 1.0 + 1e-8, 1.7, 2.0, 3.0]


def renyi_quad_ref(order, mu_p, s_p, mu_q, s_q, dps=30):
    with mpmath.workdps(dps):
        a = mpmath.mpf(float(order))
        if a == 1:
            return alpha_quad_ref(1.0, mu_p, s_p, mu_q, s_q, dps)
        mp_, sp, mq, sq = (mpmath.mpf(float(x)) for x in (mu_p, s_p, mu_q, s_q))
        b = 1 - a
        prec = a / sp**2 + b / sq**2
        if prec <= 0:
            return mpmath.inf
        centre = (a * mp_ / sp**2 + b * mq / sq**2) / prec
        width = 1 / mpmath.sqrt(prec)
        points = [-mpmath.inf] + [centre + k * width for k in (-12, -4, 0, 4, 12)] + [mpmath.inf]
        val = mpmath.quad(lambda x: mpmath.exp(a * _log_normal_pdf(x, mp_, sp)
                                               + b * _log_normal_pdf(x, mq, sq)), points)
        return mpmath.log(val) / (a - 1)


@pytest.mark.parametrize("order", ORDERS)
def test_renyi_normal_matches_mpmath_quadrature(order):
    pair = (0.3, 0.5, -0.2, 0.45)
    value = renyi_divergence_normal(order, *pair)
    ref = renyi_quad_ref(order, *pair)
    assert rel_err(value, ref) <= TOL, (value, ref)


def test_renyi_normal_random_sweep_matches_closed_form():
    rng = np.random.default_rng(7)
    n = 300
    order = np.where(rng.random(n) < 0.5, rng.uniform(0, 3, n),
                     1 + 10.0 ** rng.uniform(-15, -1, n) * rng.choice([-1, 1], n))
    s_p = 10.0 ** rng.uniform(-20, 20, n)
    s_q = s_p * np.where(rng.random(n) < 0.5, np.exp(rng.uniform(-2, 2, n)),
                         1 + 10.0 ** rng.uniform(-12, -2, n))
    mu_p = rng.normal(size=n) * s_p
    mu_q = mu_p + rng.normal(size=n) * s_q
    values = renyi_divergence_normal(order, mu_p, s_p, mu_q, s_q)
    errs = [rel_err(values[i], renyi_closed_ref(order[i], mu_p[i], s_p[i], mu_q[i], s_q[i]))
            for i in range(n)]
    assert max(errs) <= TOL


@settings(max_examples=80, deadline=None)
@given(st.floats(0, 3), st.floats(0, 3), locations, scales, locations, scales)
def test_renyi_is_nondecreasing_in_order_and_one_is_kl(o1, o2, mu_p, s_p, mu_q, s_q):
    lo, hi = sorted((o1, o2))
    d_lo = renyi_divergence_normal(lo, mu_p, s_p, mu_q, s_q)
    d_hi = renyi_divergence_normal(hi, mu_p, s_p, mu_q, s_q)
    assert 0 <= d_lo <= d_hi * (1 + 1e-12) or d_hi == np.inf
    assert renyi_divergence_normal(1.0, mu_p, s_p, mu_q, s_q) == pytest.approx(
        kl_normal(mu_p, s_p, mu_q, s_q), rel=1e-13, abs=1e-300)


def test_renyi_alpha_relation_and_order_zero():
    # D_alpha = (1 - exp(-(1 - r) D_r)) / (r (1 - r)) with r = (1 + alpha) / 2
    pair = (0.3, 0.5, -0.2, 0.45)
    for alpha in (-2.0, -0.5, 0.0, 0.5, 2.0):
        r = (1 + alpha) / 2
        d_r = renyi_divergence_normal(r, *pair) if r >= 0 else None
        if d_r is not None:
            expected = -math.expm1(-(1 - r) * d_r) / (r * (1 - r))
            assert alpha_divergence_normal(alpha, *pair) == pytest.approx(expected, rel=1e-13)
    assert renyi_divergence_normal(0.0, *pair) == 0.0


def hellinger_ref(mu_p, s_p, mu_q, s_q):
    with mpmath.workdps(60):
        mp_, sp, mq, sq = (mpmath.mpf(float(x)) for x in (mu_p, s_p, mu_q, s_q))
        v = sp**2 + sq**2
        bc = mpmath.sqrt(2 * sp * sq / v) * mpmath.exp(-(mp_ - mq) ** 2 / (4 * v))
        return 1 - bc


@pytest.mark.parametrize("pair", PAIRS + [(0.0, 1.0, 1e-7, 1.0 + 1e-7), (0.0, 1e-100, 1.0, 1e100)])
def test_hellinger_matches_mpmath_and_d0_relation(pair):
    h2 = hellinger_normal(*pair)
    assert 0 <= h2 <= 1
    assert rel_err(h2, hellinger_ref(*pair)) <= TOL
    # Amari alpha = 0 is four times the squared Hellinger distance (H^2 = 1 - BC):
    # D_0 = 4 (1 - int sqrt(pq)) = 4 H^2 = 2 int (sqrt p - sqrt q)^2
    assert alpha_divergence_normal(0.0, *pair) == pytest.approx(4 * h2, rel=1e-14)
    # symmetric
    assert hellinger_normal(pair[2], pair[3], pair[0], pair[1]) == pytest.approx(h2, rel=1e-14)


def test_hellinger_against_scipy_quad_of_its_definition():
    p, q = stats.norm(0.2, 0.8), stats.norm(-0.5, 1.3)
    half_sq, _ = integrate.quad(lambda x: 0.5 * (math.sqrt(p.pdf(x)) - math.sqrt(q.pdf(x))) ** 2,
                                -np.inf, np.inf, epsabs=0, epsrel=1e-12)
    assert hellinger_normal(0.2, 0.8, -0.5, 1.3) == pytest.approx(half_sq, rel=1e-10)
    # and Rényi order 1/2 is -2 log(1 - H^2)
    assert renyi_divergence_normal(0.5, 0.2, 0.8, -0.5, 1.3) == pytest.approx(
        -2 * math.log1p(-half_sq), rel=1e-10)


# --------------------------------------------------------------------------- multivariate


def mvn_log_integral_ref(a, mu_p, cov_p, mu_q, cov_q):
    """log int p^a q^(1-a) for multivariate normals at 60 digits (None if divergent)."""
    with mpmath.workdps(60):
        a = mpmath.mpf(a)
        b = 1 - a
        sp, sq = (mpmath.matrix(np.asarray(c).tolist()) for c in (cov_p, cov_q))
        diff = mpmath.matrix(np.asarray(mu_p).tolist()) - mpmath.matrix(np.asarray(mu_q).tolist())
        sa = a * sq + b * sp
        if min(mpmath.eigsy(sa)[0]) <= 0:
            return None
        return (b / 2 * mpmath.log(mpmath.det(sp)) + a / 2 * mpmath.log(mpmath.det(sq))
                - mpmath.log(mpmath.det(sa)) / 2
                - a * b / 2 * (diff.T * mpmath.inverse(sa) * diff)[0])


def _spd(rng, d, cond):
    q, _ = np.linalg.qr(rng.normal(size=(d, d)))
    m = (q * np.geomspace(1.0, cond, d)) @ q.T
    return 0.5 * (m + m.T)


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("alpha", [-3.0, -1.0, -1.0 + 1e-7, -0.3, 0.0, 0.5, 1.0 - 1e-7, 2.0, 3.0])
def test_alpha_mvn_matches_mpmath_closed_form(seed, alpha):
    rng = np.random.default_rng(seed)
    d = int(rng.integers(2, 5))
    cov_p = _spd(rng, d, 10.0 ** rng.uniform(0, 3)) * 10.0 ** rng.uniform(-3, 3)
    mode = seed % 3
    if mode == 0:      # nearly identical
        b = rng.normal(size=(d, d))
        cov_q = cov_p + 1e-8 * np.linalg.norm(cov_p, 2) * (b @ b.T) / d
    elif mode == 1:    # unrelated
        cov_q = _spd(rng, d, 10.0 ** rng.uniform(0, 3))
    else:              # one much smaller
        cov_q = cov_p * 1e-6
    cov_q = 0.5 * (cov_q + cov_q.T)
    mu_p = rng.normal(size=d)
    mu_q = mu_p + rng.normal(size=d) * (1e-6 if mode == 0 else 1.0)
    value = alpha_divergence_mvn(alpha, mu_p, cov_p, mu_q, cov_q)
    with mpmath.workdps(60):
        am = (1 + mpmath.mpf(alpha)) / 2
        bm = 1 - am
        if bm == 0 or am == 0:
            ref = None
        else:
            log_i = mvn_log_integral_ref(am, mu_p, cov_p, mu_q, cov_q)
            ref = mpmath.inf if log_i is None else -mpmath.expm1(log_i) / (am * bm)
    if ref is None:   # alpha = -1: KL(q || p)
        assert value == pytest.approx(kl_mvn(mu_q, cov_q, mu_p, cov_p), rel=1e-12)
    elif ref == mpmath.inf:
        assert value == np.inf
    else:
        assert rel_err(value, ref) <= TOL_MVN, (value, ref)


def test_alpha_mvn_limits_and_univariate_case():
    rng = np.random.default_rng(1)
    cov_p, cov_q = _spd(rng, 3, 50.0), _spd(rng, 3, 20.0)
    mu_p, mu_q = rng.normal(size=(2, 3))
    assert alpha_divergence_mvn(1.0, mu_p, cov_p, mu_q, cov_q) == kl_mvn(mu_p, cov_p, mu_q, cov_q)
    assert alpha_divergence_mvn(-1.0, mu_p, cov_p, mu_q, cov_q) == kl_mvn(mu_q, cov_q, mu_p, cov_p)
    assert renyi_divergence_mvn(1.0, mu_p, cov_p, mu_q, cov_q) == kl_mvn(mu_p, cov_p, mu_q, cov_q)
    # smooth through the ends: alpha = 1 - 1e-9 is within 1e-6 (relative) of KL
    near = alpha_divergence_mvn(1.0 - 1e-9, mu_p, cov_p, mu_q, cov_q)
    assert near == pytest.approx(kl_mvn(mu_p, cov_p, mu_q, cov_q), rel=1e-6)
    alpha = np.array([-2.0, -0.5, 0.7, 1.5])
    np.testing.assert_allclose(alpha_divergence_mvn(alpha, [0.3], [[0.25]], [-0.2], [[0.2025]]),
                               alpha_divergence_normal(alpha, 0.3, 0.5, -0.2, 0.45), rtol=1e-13)


@settings(max_examples=40, deadline=None)
@given(st.floats(0, 3), st.integers(1, 5), st.integers(0, 2**32 - 1))
def test_renyi_mvn_diagonal_is_sum_of_univariate(order, d, seed):
    # Rényi divergence is additive over independent coordinates
    rng = np.random.default_rng(seed)
    mu_p, mu_q = rng.normal(size=(2, d))
    s_p, s_q = np.exp(rng.normal(size=(2, d)) * 0.5)
    total = np.sum(renyi_divergence_normal(order, mu_p, s_p, mu_q, s_q))
    value = renyi_divergence_mvn(order, mu_p, np.diag(s_p**2), mu_q, np.diag(s_q**2))
    assert value == pytest.approx(total, rel=1e-11) or value == total == np.inf


@settings(max_examples=30, deadline=None)
@given(st.floats(-3, 3), st.integers(1, 4), st.integers(0, 2**32 - 1))
def test_alpha_mvn_affine_invariance_and_nonnegative(alpha, d, seed):
    rng = np.random.default_rng(seed)
    cov_p, cov_q = _spd(rng, d, 20.0), _spd(rng, d, 20.0)
    mu_p, mu_q, shift = rng.normal(size=(3, d))
    a = _spd(rng, d, 4.0) @ np.linalg.qr(rng.normal(size=(d, d)))[0]
    value = alpha_divergence_mvn(alpha, mu_p, cov_p, mu_q, cov_q)
    moved = alpha_divergence_mvn(alpha, a @ mu_p + shift, a @ cov_p @ a.T,
                                 a @ mu_q + shift, a @ cov_q @ a.T)
    assert value >= 0 and not np.isnan(value)
    assert moved == pytest.approx(value, rel=1e-8) or moved == value == np.inf
    assert alpha_divergence_mvn(alpha, mu_p, cov_p, mu_p, cov_p) == 0.0


def test_alpha_mvn_batched():
    rng = np.random.default_rng(9)
    covs = np.stack([_spd(rng, 2, 10.0) for _ in range(4)])
    mus = rng.normal(size=(4, 2))
    alpha = np.array([-1.0, 0.0, 0.5, 1.0])
    out = alpha_divergence_mvn(alpha, mus, covs, np.zeros(2), np.eye(2))
    assert out.shape == (4,)
    for i in range(4):
        assert out[i] == pytest.approx(
            alpha_divergence_mvn(alpha[i], mus[i], covs[i], np.zeros(2), np.eye(2)), rel=1e-14)
    assert renyi_divergence_mvn(0.5, mus, covs, np.zeros(2), np.eye(2)).shape == (4,)


# --------------------------------------------------------------------------- quadrature version


@pytest.mark.parametrize("alpha", [-3.0, -1.5, -1.0, -1.0 + 1e-9, -0.5, 0.0, 0.5, 1.0 - 1e-9,
                                   1.0, 1.5, 3.0])
def test_alpha_divergence_quad_matches_closed_form(alpha):
    pair = (0.3, 0.5, -0.2, 0.45)
    p, q = stats.norm(pair[0], pair[1]), stats.norm(pair[2], pair[3])
    value = alpha_divergence(alpha, p.logpdf, q.logpdf)
    exact = alpha_divergence_normal(alpha, *pair)
    if exact == np.inf:
        assert value == np.inf or value > 1e6
    else:
        assert value == pytest.approx(exact, rel=TOL)


def test_alpha_divergence_quad_mixture_matches_mpmath():
    # p: bimodal mixture, q: a broad normal (the KL-direction chapter's example)
    w, m1, m2, s = 0.3, -2.0, 1.5, 0.6

    def log_p(x):
        return float(np.logaddexp(math.log(w) + stats.norm.logpdf(x, m1, s),
                                  math.log(1 - w) + stats.norm.logpdf(x, m2, s)))

    log_q = stats.norm(0.0, 2.0).logpdf
    for alpha in (-1.0, 0.5, 1.0):
        value = alpha_divergence(alpha, log_p, log_q)
        with mpmath.workdps(20):
            a = (1 + mpmath.mpf(alpha)) / 2
            b = 1 - a

            def lp(x):
                return mpmath.log(w * mpmath.npdf(x, m1, s) + (1 - w) * mpmath.npdf(x, m2, s))

            def lq(x):
                return mpmath.log(mpmath.npdf(x, 0, 2))

            pts = [-mpmath.inf, -10, m1, 0, m2, 10, mpmath.inf]
            if b == 0:
                ref = mpmath.quad(lambda x: mpmath.exp(lp(x)) * (lp(x) - lq(x)), pts)
            elif a == 0:
                ref = mpmath.quad(lambda x: mpmath.exp(lq(x)) * (lq(x) - lp(x)), pts)
            else:
                ref = (1 - mpmath.quad(lambda x: mpmath.exp(a * lp(x) + b * lq(x)), pts)) / (a * b)
        assert rel_err(value, ref) <= TOL, (alpha, value, ref)


def test_alpha_divergence_quad_finite_support_and_kwargs():
    # two uniform-ish densities on [0, 1] (Beta), KL by quadrature vs scipy's entropy
    p, q = stats.beta(2.0, 3.0), stats.beta(3.0, 2.0)
    value = alpha_divergence(1.0, p.logpdf, q.logpdf, 0.0, 1.0)
    ref, _ = integrate.quad(lambda x: p.pdf(x) * (p.logpdf(x) - q.logpdf(x)), 0, 1,
                            epsabs=0, epsrel=1e-13)
    assert value == pytest.approx(ref, rel=1e-10)
    value2 = alpha_divergence(1.0, p.logpdf, q.logpdf, 0.0, 1.0, points=[0.4], epsrel=1e-10)
    assert value2 == pytest.approx(ref, rel=1e-9)
