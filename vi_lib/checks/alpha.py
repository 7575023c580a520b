"""Checks for exercises 05: the direction of the KL and alpha-divergences."""

from __future__ import annotations

import numpy as np

from ._core import Mistake, gauss_logpdf, random_precision, run_check, seeded_rng, student_check

__all__ = ["check_mean_field_variances", "check_alpha_divergence"]


def _ref_mean_field_variances(cov):
    return 1.0 / np.diag(np.linalg.inv(cov)), np.diag(cov).copy()


@student_check
def check_mean_field_variances(fn):
    """Check ``fn(cov) -> (var_reverse, var_forward)``: factorised Gaussian fits of N(mu, cov).

    ``var_reverse``: variances of the best factorised q under KL(q ‖ p);
    ``var_forward``: under KL(p ‖ q).
    """
    rng = seeded_rng(501)
    cases = [np.array([[1.0, 0.9], [0.9, 1.0]]), np.array([[2.0, -0.5], [-0.5, 1.0]]),
             np.array([[3.0, 0.0], [0.0, 0.5]])]
    for d in [2, 2, 2, 3, 3, 4, 4, 5, 6, 8]:
        cases.append(np.linalg.inv(random_precision(rng, d)))
    cases = [(c,) for c in cases]

    mistakes = [
        Mistake("the two directions are swapped: KL(q ‖ p) gives the *too compact* variances "
                 "1 / Λ_jj, KL(p ‖ q) matches the marginal variances Σ_jj.",
                 lambda c: _ref_mean_field_variances(c)[::-1]),
        Mistake("you returned standard deviations; the task asks for variances.",
                 lambda c: tuple(np.sqrt(v) for v in _ref_mean_field_variances(c))),
        Mistake("var_reverse: you returned the precisions Λ_jj; the variances are their reciprocals "
                 "1 / Λ_jj.",
                 lambda c: (np.diag(np.linalg.inv(c)), None)),
        Mistake("var_reverse: 1 / Σ_jj inverts the diagonal of the covariance; the KL(q ‖ p) "
                 "variances are 1 / Λ_jj with Λ = Σ⁻¹ the precision matrix.",
                 lambda c: (1.0 / np.diag(c), None)),
    ]
    run_check("check_mean_field_variances", fn, cases, _ref_mean_field_variances, mistakes,
           arg_names=["cov"], out_names=["var_reverse", "var_forward"])


def _ref_alpha_divergence(p, q, dx, alpha):
    if alpha == 1:
        return float(np.sum(p * np.log(p / q)) * dx)
    if alpha == -1:
        return float(np.sum(q * np.log(q / p)) * dx)
    integral = np.sum(p ** ((1 + alpha) / 2) * q ** ((1 - alpha) / 2)) * dx
    return float(4.0 / (1.0 - alpha**2) * (1.0 - integral))


@student_check
def check_alpha_divergence(fn):
    """Check ``fn(p, q, dx, alpha) -> D_alpha(p ‖ q)`` for densities on a uniform grid.

    Amari's alpha-divergence (Bishop 2006, eq. 10.19), with the limits alpha = 1 → KL(p ‖ q)
    and alpha = -1 → KL(q ‖ p) returned exactly.
    """
    x = np.linspace(-12.0, 12.0, 1201)
    dx = float(x[1] - x[0])
    dens = lambda m, s: np.exp(gauss_logpdf(m, s)(x))  # noqa: E731
    mix = 0.5 * dens(-2.0, 0.8) + 0.5 * dens(2.0, 0.8)
    pairs = [(dens(0, 1), dens(0, 1)), (dens(0, 1), dens(0.5, 1.3)), (mix, dens(0.0, 2.0)),
             (mix, dens(2.0, 0.8)), (dens(-1.0, 0.6), dens(1.0, 1.5))]
    cases = [(p, q, dx, a) for p, q in pairs for a in [-1.0, -0.5, 0.0, 0.5, 1.0]]
    # |alpha| > 1: the integral exists (and the grid holds it) for equal widths.
    for p, q in [(dens(0, 1), dens(0.5, 1)), (dens(-1.0, 0.8), dens(1.0, 0.8))]:
        cases += [(p, q, dx, a) for a in [-3.0, -2.0, 2.0, 3.0]]
    ref = _ref_alpha_divergence

    def limits_swapped(p, q, dx, a):
        return ref(p, q, dx, -a) if abs(a) == 1 else ref(p, q, dx, a)

    def nan_at_limits(p, q, dx, a):
        return np.nan if abs(a) == 1 else ref(p, q, dx, a)

    mistakes = [
        Mistake("the limits are swapped: alpha → 1 gives KL(p ‖ q) and alpha → -1 gives KL(q ‖ p).",
                 limits_swapped),
        Mistake("the exponents are swapped: p gets (1 + alpha)/2 and q gets (1 - alpha)/2 "
                 "(you computed D_{-alpha}, i.e. the divergence of q from p).",
                 lambda p, q, dx, a: ref(p, q, dx, -a)),
        Mistake("the factor 4 / (1 - alpha²) is missing.",
                 lambda p, q, dx, a: ref(p, q, dx, a) * (1 - a**2) / 4 if abs(a) != 1 else ref(p, q, dx, a)),
        Mistake("you return NaN (or inf) at alpha = ±1: the formula divides by 1 - alpha² = 0 "
                 "there, so return the limits KL(p ‖ q) and KL(q ‖ p) instead.",
                 nan_at_limits),
        Mistake("the integral is missing its grid spacing dx (a Riemann sum is Σ f(x_i) dx).",
                 lambda p, q, dx, a: ref(p, q, 1.0, a)),
        Mistake("sign error: the divergence is 4/(1 - alpha²) (1 - ∫ ...), never negative.",
                 lambda p, q, dx, a: -ref(p, q, dx, a)),
    ]
    run_check("check_alpha_divergence", fn, cases, ref, mistakes, arg_names=["p", "q", "dx", "alpha"],
           rtol=1e-6, atol=1e-8, shape_hint=" (a float)", nonnegative=True)


