"""Checks for exercises 04: mean-field and CAVI (factorised Gaussian, Bishop 2006, §10.1.2)."""

from __future__ import annotations

import functools

import numpy as np

from ..cavi import cavi_factorized_gaussian
from ._core import Mistake, Stress, random_precision, run_check, seeded_rng, student_check

__all__ = ["check_cavi_factor", "check_cavi_sweep"]

HINTS = {
    "cavi_factor": (
        "log q_j*(z_j) is the expectation of log p(z) over the other factors, up to a constant; "
        "keep only the terms that contain z_j.",
        "Those terms form a quadratic in z_j: the coefficient of z_j² gives the precision of q_j*, "
        "the linear coefficient then gives its mean. Use the precision matrix, not its inverse.",
    ),
    "cavi_sweep": (
        "Coordinate ascent updates one coordinate at a time and uses each new value at once.",
        "Loop over j = 0, ..., d-1 and call your cavi_factor with the current means; write the new "
        "mean into a copy of m before moving to the next j.",
    ),
}


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


@functools.lru_cache(maxsize=1)   # built once per session (inputs are copied per call)
def _large_case():
    rng = seeded_rng(4010)
    d = 300
    return (rng.normal(0, 1, d), random_precision(rng, d), rng.normal(0, 1, d), d // 2)


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
              arg_names=["mu", "precision", "m", "j"], out_names=["mean_j", "var_j"],
              stress=[Stress(_large_case(), "a target with 300 coordinates must work as well.")])


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

    def skipping(skip):
        def sweep(mu, lam, m):
            m = np.array(m, dtype=float)
            order = range(len(mu))
            for j in (order[1:] if skip == "first" else order[:-1]):
                m[j] = _ref_cavi_factor(mu, lam, m, j)[0]
            return m
        return sweep

    mistakes = [
        Mistake("you skipped the last coordinate: the sweep must update every j = 0, ..., d-1 "
                "(check the bounds of your loop).", skipping("last")),
        Mistake("you skipped the first coordinate (j = 0): the sweep must update every "
                "j = 0, ..., d-1 (Python counts from 0).", skipping("first")),
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
              arg_names=["mu", "precision", "m"], shape_hint=" (the new means, one per coordinate)",
              unchanged=("m",), helpers={"cavi_factor": check_cavi_factor},
              delegates=(cavi_factorized_gaussian,),
              stress=[Stress(_large_case()[:3], "a target with 300 coordinates must work as well.")])


