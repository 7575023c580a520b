"""Checks for exercises 04b: the Bayesian Gaussian mixture (Bishop 2006, §10.2)."""

from __future__ import annotations

import numpy as np
from scipy import special

from ..cavi import gmm_local_update
from ._core import Mistake, run_check, seeded_rng, student_check

__all__ = ["check_expected_log_pi", "check_gmm_responsibilities", "check_dirichlet_update"]


# =========================================================================== E[log pi]
def _ref_expected_log_pi(alpha):
    return special.digamma(alpha) - special.digamma(np.sum(alpha))


def _alpha_cases(seed):
    rng = seeded_rng(seed)
    cases = [(np.array([1.0, 1.0]),), (np.array([1e-3, 174.9, 97.1, 1e-3]),),
             (np.array([0.5, 2.0, 10.0]),)]
    for k in [2, 3, 4, 6, 10]:
        cases.append((np.exp(rng.uniform(np.log(1e-2), np.log(50.0), k)),))
    return cases


@student_check
def check_expected_log_pi(fn):
    """Check ``fn(alpha) -> E[log pi]``, shape (K,), under q(pi) = Dir(alpha) (Bishop eq. 10.66)."""
    mistakes = [
        Mistake("E[log π_k] is not log E[π_k] = log(α_k / Σ_j α_j): the expectation of a log "
                "needs the digamma function, ψ(α_k) - ψ(Σ_j α_j).",
                lambda a: np.log(a / a.sum())),
        Mistake("the term -ψ(Σ_j α_j) is missing: E[log π_k] = ψ(α_k) - ψ(Σ_j α_j).",
                lambda a: special.digamma(a)),
        Mistake("the normalising term is ψ(Σ_j α_j), the digamma of the sum, not log(Σ_j α_j).",
                lambda a: special.digamma(a) - np.log(a.sum())),
        Mistake("the normalising term is ψ of the sum Σ_j α_j, not the sum of the ψ(α_j).",
                lambda a: special.digamma(a) - special.digamma(a).sum()),
    ]
    run_check("check_expected_log_pi", fn, _alpha_cases(1201), _ref_expected_log_pi, mistakes,
              arg_names=["alpha"], shape_hint=" (one value per component)")


# =========================================================================== responsibilities
def _log_rho_variant(x, alpha, beta, m, W, nu, *, log_pi="digamma", logdet_digamma=True,
                     logdet_W=True, d_over_beta=True, nu_factor=True, inverse_W=False, half=True):
    """log ρ_nk (Bishop eqs 10.46, 10.64-10.66), optionally with one known slip."""
    d = x.shape[1]
    if log_pi == "digamma":
        e_log_pi = special.digamma(alpha) - special.digamma(alpha.sum())
    else:
        e_log_pi = np.log(alpha / alpha.sum())
    e_logdet = d * np.log(2.0) + np.zeros_like(nu)
    if logdet_digamma:
        e_logdet = e_logdet + special.digamma(0.5 * (nu[:, None] + 1 - np.arange(1, d + 1))).sum(1)
    if logdet_W:
        e_logdet = e_logdet + np.linalg.slogdet(W)[1]
    A = np.linalg.inv(W) if inverse_W else W
    diff = x[:, None, :] - m[None]
    maha = np.einsum("nki,kij,nkj->nk", diff, A, diff)
    quad = (nu if nu_factor else 1.0) * maha + (d / beta if d_over_beta else 0.0)
    return e_log_pi + (0.5 if half else 1.0) * e_logdet - 0.5 * d * np.log(2 * np.pi) - 0.5 * quad


def _normalise(log_rho):
    return np.exp(log_rho - special.logsumexp(log_rho, axis=1, keepdims=True))


def _ref_responsibilities(x, alpha, beta, m, W, nu):
    return gmm_local_update(x, alpha, beta, m, W, nu).resp


def _naive_softmax(x, alpha, beta, m, W, nu):
    rho = np.exp(_log_rho_variant(x, alpha, beta, m, W, nu))
    return rho / rho.sum(axis=1, keepdims=True)


def _resp_cases(seed):
    rng = seeded_rng(seed)
    cases = []
    for n, d, k in [(6, 1, 2), (8, 2, 3), (10, 2, 4), (7, 3, 3), (12, 2, 2), (9, 1, 3)]:
        a = rng.normal(size=(k, d, d))
        W = a @ a.transpose(0, 2, 1) / d + 0.2 * np.eye(d)
        cases.append((rng.normal(0, 1.5, (n, d)), rng.uniform(0.5, 30.0, k), rng.uniform(0.3, 20.0, k),
                      rng.normal(0, 1.0, (k, d)), W, d + rng.uniform(0.2, 30.0, k)))
    # points far from every component: every rho_nk underflows to 0
    x_far = np.array([[0.0, 0.0], [60.0, -45.0], [-80.0, 10.0]])
    cases.append((x_far, np.array([100.0, 60.0]), np.array([50.0, 30.0]),
                  np.array([[-1.0, 0.0], [1.0, 0.5]]), np.array([np.eye(2), 0.5 * np.eye(2)]),
                  np.array([52.0, 33.0])))
    return cases


@student_check
def check_gmm_responsibilities(fn):
    """Check ``fn(x, alpha, beta, m, W, nu) -> resp``, shape (N, K): the local CAVI step.

    ``x`` (N, d); the global factors ``alpha`` (K,), ``beta`` (K,), ``m`` (K, d), ``W`` (K, d, d)
    (Wishart scale matrices), ``nu`` (K,) (Bishop 2006, eqs 10.46-10.49, 10.64-10.66).
    """
    def variant(**slip):
        return lambda *case: _normalise(_log_rho_variant(*case, **slip))

    mistakes = [
        Mistake("the naive softmax ρ_nk / Σ_j ρ_nj underflows: for a point far from every "
                "component all ρ_nk are exp(-thousands) = 0 and the ratio is 0/0 = NaN. "
                "Normalise in log space: subtract the row's log-sum-exp (scipy.special.logsumexp) "
                "before exponentiating.",
                _naive_softmax),
        Mistake("E[log π_k] needs the digamma function: ψ(α_k) - ψ(Σ_j α_j), not log(α_k / Σ_j α_j).",
                variant(log_pi="log_mean")),
        Mistake("the digamma sum Σ_i ψ((ν_k + 1 - i)/2) of E[log|Λ_k|] is missing "
                "(Bishop eq. 10.65: E[log|Λ_k|] = Σ_i ψ((ν_k + 1 - i)/2) + d log 2 + log|W_k|).",
                variant(logdet_digamma=False)),
        Mistake("log|W_k| is missing from E[log|Λ_k|] (Bishop eq. 10.65).",
                variant(logdet_W=False)),
        Mistake("the term d / β_k of E[(x_n - μ_k)ᵀ Λ_k (x_n - μ_k)] is missing: it is the "
                "uncertainty in μ_k (Bishop eq. 10.64).",
                variant(d_over_beta=False)),
        Mistake("the factor ν_k is missing in ν_k (x_n - m_k)ᵀ W_k (x_n - m_k): E[Λ_k] = ν_k W_k.",
                variant(nu_factor=False)),
        Mistake("you used W_k⁻¹ in the quadratic form; W_k is the Wishart scale matrix and "
                "E[Λ_k] = ν_k W_k, so the form is ν_k (x_n - m_k)ᵀ W_k (x_n - m_k).",
                variant(inverse_W=True)),
        Mistake("E[log|Λ_k|] enters log ρ_nk with a factor 1/2 (from the Gaussian's |Λ|^(1/2)).",
                variant(half=False)),
        Mistake("you returned log ρ_nk; the responsibilities are exp(log ρ_nk) normalised so that "
                "each row sums to 1.",
                lambda *case: _log_rho_variant(*case)),
        Mistake("normalise each row (over the components k), not each column (over the data n).",
                lambda *case: np.exp(_log_rho_variant(*case)
                                     - special.logsumexp(_log_rho_variant(*case), axis=0, keepdims=True))),
    ]
    run_check("check_gmm_responsibilities", fn, _resp_cases(1202), _ref_responsibilities, mistakes,
              arg_names=["x", "alpha", "beta", "m", "W", "nu"],
              shape_hint=" (one row per data point, one column per component)")


# =========================================================================== Dirichlet update
def _ref_dirichlet_update(resp, alpha0):
    return alpha0 + resp.sum(axis=0)


def _dirichlet_cases(seed):
    rng = seeded_rng(seed)
    cases = [(np.eye(3)[[0, 0, 1, 2, 2, 2]], 1e-3), (np.full((4, 2), 0.5), 1.0)]
    for n, k, a0 in [(10, 3, 1e-3), (7, 2, 0.5), (12, 4, 2.0), (5, 6, 10.0), (20, 3, 1.0)]:
        cases.append((rng.dirichlet(np.ones(k), size=n), a0))
    return cases


@student_check
def check_dirichlet_update(fn):
    """Check ``fn(resp, alpha0) -> alpha``, shape (K,): the update of q(pi) (Bishop eq. 10.58).

    ``resp`` (N, K) responsibilities (rows sum to 1); ``alpha0`` the prior concentration.
    """
    mistakes = [
        Mistake("the prior concentration α0 is missing: α_k = α0 + N_k.",
                lambda r, a0: r.sum(axis=0)),
        Mistake("α0 - 1 + N_k is the natural parameter of Dir(α); the concentration itself is "
                "α_k = α0 + N_k.",
                lambda r, a0: a0 - 1 + r.sum(axis=0)),
        Mistake("N_k is the sum of the responsibilities over the data points n (axis 0, one "
                "value per component), not over the components.",
                lambda r, a0: a0 + r.sum(axis=1)),
        Mistake("N_k = Σ_n r_nk is a sum, not a mean over the data points.",
                lambda r, a0: a0 + r.mean(axis=0)),
    ]
    run_check("check_dirichlet_update", fn, _dirichlet_cases(1203), _ref_dirichlet_update, mistakes,
              arg_names=["resp", "alpha0"], shape_hint=" (one concentration per component)")
