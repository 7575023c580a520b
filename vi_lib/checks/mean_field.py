"""Checks for exercises 04: mean-field and CAVI (factorised Gaussian, Bishop 2006, §10.1.2)."""

from __future__ import annotations

import numpy as np

from ..cavi import cavi_factorized_gaussian
from ._core import Mistake, random_precision, run_check, seeded_rng, student_check

__all__ = ["check_cavi_factor", "check_cavi_sweep"]


def _gauss_cases(seed, with_j):
    rng = seeded_rng(seed)
    base = [(np.array([0.0, 0.0]), np.array([[2.0, 1.8], [1.8, 2.0]]), np.array([1.0, -1.0])),
            (np.array([1.0, -1.0]), np.array([[1.0, -0.5], [-0.5, 3.0]]), np.array([0.0, 0.0])),
            (np.array([0.5, 2.0]), np.array([[4.0, 0.0], [0.0, 0.25]]), np.array([3.0, 3.0]))]
    for d in [2, 2, 2, 3, 3, 3, 4, 5, 6]:
        base.append((rng.normal(0, 2, d), random_precision(rng, d), rng.normal(0, 2, d)))
    if not with_j:
        return base
    return [(mu, lam, m, j) for mu, lam, m in base for j in range(len(mu))]


def _ref_cavi_factor(mu, precision, m, j):
    others = [k for k in range(len(mu)) if k != j]
    lam_jj = precision[j, j]
    mean = mu[j] - precision[j, others] @ (m[others] - mu[others]) / lam_jj
    return float(mean), float(1.0 / lam_jj)


@student_check
def check_cavi_factor(fn):
    """Check ``fn(mu, precision, m, j) -> (mean_j, var_j)``: the optimal factor q_j*.

    Target N(mu, precision⁻¹); ``m`` holds the current means of the other factors
    (``m[j]`` is ignored); ``j`` is a 0-based index.
    """
    def cov_version(mu, lam, m, j):
        return _ref_cavi_factor(mu, np.linalg.inv(lam), m, j)

    mistakes = [
        Mistake("the variance of q_j* is 1 / Λ_jj from the *precision* matrix; (Λ⁻¹)_jj is the "
                 "marginal variance of p, which mean-field KL(q ‖ p) does not reach.",
                 lambda mu, lam, m, j: (None, np.linalg.inv(lam)[j, j])),
        Mistake("you used the covariance where the precision Λ belongs (Bishop eq. 10.13 is "
                 "written with precision entries).",
                 cov_version),
        Mistake("sign error in the mean: m_j = mu_j - (1/Λ_jj) Σ_{k≠j} Λ_jk (m_k - mu_k).",
                 lambda mu, lam, m, j: (2 * mu[j] - _ref_cavi_factor(mu, lam, m, j)[0], None)),
        Mistake("you returned the standard deviation 1 / sqrt(Λ_jj); the task asks for the variance.",
                 lambda mu, lam, m, j: (None, 1.0 / np.sqrt(lam[j, j]))),
        Mistake("the precision Λ_jj itself is not the variance: take its reciprocal.",
                 lambda mu, lam, m, j: (None, lam[j, j])),
        Mistake("the division by Λ_jj is missing in the mean.",
                 lambda mu, lam, m, j: (mu[j] - sum(lam[j, k] * (m[k] - mu[k])
                                                    for k in range(len(mu)) if k != j), None)),
        Mistake("the sum must leave out k = j: only the *other* factors' means enter m_j.",
                 lambda mu, lam, m, j: (mu[j] - lam[j] @ (m - mu) / lam[j, j], None)),
    ]
    run_check("check_cavi_factor", fn, _gauss_cases(401, True), _ref_cavi_factor, mistakes,
           arg_names=["mu", "precision", "m", "j"], out_names=["mean_j", "var_j"])


def _ref_cavi_sweep(mu, precision, m):
    """One sweep of the library's CAVI, started at ``m``."""
    return cavi_factorized_gaussian(mu, precision, mu_init=m, max_sweeps=1).mu_q


@student_check
def check_cavi_sweep(fn):
    """Check ``fn(mu, precision, m) -> new m``: one CAVI sweep over j = 0, ..., d-1, in order."""
    def jacobi(mu, lam, m):
        return np.array([_ref_cavi_factor(mu, lam, m, j)[0] for j in range(len(mu))])

    def backwards(mu, lam, m):
        m = np.array(m, dtype=float)
        for j in reversed(range(len(mu))):
            m[j] = _ref_cavi_factor(mu, lam, m, j)[0]
        return m

    mistakes = [
        Mistake("you updated every coordinate from the *old* means at once (a Jacobi step); "
                 "coordinate ascent uses each new m_j immediately in the later updates.",
                 jacobi),
        Mistake("you swept the coordinates from last to first; the task asks for j = 0, 1, ..., d-1.",
                 backwards),
        Mistake("you returned m unchanged: update each entry in turn with the optimal-factor mean.",
                 lambda mu, lam, m: np.array(m, dtype=float)),
        Mistake("you returned the target mean mu: that is where CAVI converges, not one sweep.",
                 lambda mu, lam, m: np.array(mu, dtype=float)),
        Mistake("you used the covariance where the precision Λ belongs.",
                 lambda mu, lam, m: _ref_cavi_sweep(mu, np.linalg.inv(lam), m)),
    ]
    run_check("check_cavi_sweep", fn, _gauss_cases(402, False), _ref_cavi_sweep, mistakes,
           arg_names=["mu", "precision", "m"], shape_hint=" (the new means, one per coordinate)")


