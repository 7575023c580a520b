"""Checks for exercises 02: KL divergences between Gaussians."""

from __future__ import annotations

import numpy as np

from ..divergences import kl_mvn_diag, kl_normal
from ._core import Mistake, run_check, seeded_rng, student_check

__all__ = ["check_kl_normal", "check_kl_mvn_diag", "check_kl_standard_normal"]


def _ref_kl_normal(mu_q, sigma_q, mu_p, sigma_p):
    return float(kl_normal(mu_q, sigma_q, mu_p, sigma_p))


def _kl_normal_formula(mu_q, sigma_q, mu_p, sigma_p, *, half=0.5, const=-0.5, log_factor=1.0,
                       mean_scale=None, power=2):
    """The textbook formula with knobs to build wrong variants (elementwise)."""
    mean_scale = sigma_p if mean_scale is None else mean_scale
    return (log_factor * np.log(sigma_p / sigma_q)
            + sigma_q**power / (2 * sigma_p**power)
            + half * (mu_q - mu_p) ** 2 / mean_scale**power + const)


@student_check
def check_kl_normal(fn):
    """Check ``fn(mu_q, sigma_q, mu_p, sigma_p) -> KL(N(mu_q, sigma_q²) ‖ N(mu_p, sigma_p²))``.

    Inputs are Python floats; sigma is a standard deviation; the result is in nats.
    """
    rng = seeded_rng(201)
    cases = [(0.0, 1.0, 0.0, 1.0), (1.0, 1.0, 0.0, 1.0), (0.0, 2.0, 0.0, 1.0), (0.0, 0.5, 0.0, 1.0),
             (0.3, 0.7, -1.2, 2.5), (-2.0, 3.0, 1.0, 0.4), (5.0, 0.1, 4.0, 0.2),
             (0.0, 1.0, 0.0, 4.0), (10.0, 2.0, -10.0, 5.0)]
    for _ in range(20):
        cases.append((float(rng.normal(0, 2)), float(rng.uniform(0.2, 4.0)),
                      float(rng.normal(0, 2)), float(rng.uniform(0.2, 4.0))))
    f = _kl_normal_formula
    mistakes = [
        Mistake("the arguments are swapped: you computed KL(p ‖ q). The first pair (mu_q, sigma_q) "
                 "is the left side of ‖, the distribution the expectation is taken under.",
                 lambda mq, sq, mp, sp: _ref_kl_normal(mp, sp, mq, sq)),
        Mistake("you used sigma as if it were the variance: sigma is the standard deviation, "
                 "so the formula needs sigma² where you wrote sigma.",
                 lambda mq, sq, mp, sp: _ref_kl_normal(mq, np.sqrt(sq), mp, np.sqrt(sp))),
        Mistake("variance used where the standard deviation belongs: you squared sigma twice "
                 "(sigma⁴ where sigma² belongs).",
                 lambda mq, sq, mp, sp: _ref_kl_normal(mq, sq**2, mp, sp**2)),
        Mistake("standard deviation used where the variance belongs: the fractions need "
                 "sigma_q² / (2 sigma_p²) and (mu_q - mu_p)² / (2 sigma_p²), with squares.",
                 lambda mq, sq, mp, sp: f(mq, sq, mp, sp, power=1)),
        Mistake("the log term uses the ratio of variances without the factor 1/2: "
                 "log(sigma_p / sigma_q) = ½ log(sigma_p² / sigma_q²).",
                 lambda mq, sq, mp, sp: f(mq, sq, mp, sp, log_factor=2.0)),
        Mistake("the constant -1/2 is missing (the KL of q with itself must be 0).",
                 lambda mq, sq, mp, sp: f(mq, sq, mp, sp, const=0.0)),
        Mistake("sign error: your result is minus the KL (a KL divergence is never negative).",
                 lambda mq, sq, mp, sp: -_ref_kl_normal(mq, sq, mp, sp)),
        Mistake("sign error in the log term: it is log(sigma_p / sigma_q), not log(sigma_q / sigma_p).",
                 lambda mq, sq, mp, sp: f(mq, sq, mp, sp, log_factor=-1.0)),
        Mistake("the factor 1/2 on the mean term is missing: (mu_q - mu_p)² / (2 sigma_p²).",
                 lambda mq, sq, mp, sp: f(mq, sq, mp, sp, half=1.0)),
        Mistake("the mean term is scaled by the wrong variance: it is (mu_q - mu_p)² / (2 sigma_p²), "
                 "with p's variance (the expectation of log p under q).",
                 lambda mq, sq, mp, sp: f(mq, sq, mp, sp, mean_scale=sq)),
    ]
    run_check("check_kl_normal", fn, cases, _ref_kl_normal, mistakes,
           arg_names=["mu_q", "sigma_q", "mu_p", "sigma_p"], nonnegative=True)


def _diag_cases(seed, n=16):
    rng = seeded_rng(seed)
    cases = [
        (np.zeros(1), np.ones(1), np.zeros(1), np.ones(1)),
        (np.array([0.5]), np.array([2.0]), np.array([-1.0]), np.array([0.7])),
        (np.zeros(3), np.ones(3), np.zeros(3), np.ones(3)),
        (np.array([1.0, -1.0]), np.array([0.5, 2.0]), np.array([0.0, 0.0]), np.array([1.0, 1.0])),
        (np.array([0.2, 0.1, -0.3, 2.0]), np.array([0.3, 1.5, 0.9, 2.2]),
         np.array([1.0, -0.5, 0.0, 0.0]), np.array([1.2, 0.8, 0.9, 3.0])),
    ]
    for d in rng.integers(1, 9, size=n):
        cases.append((rng.normal(0, 1.5, d), rng.uniform(0.2, 3.0, d),
                      rng.normal(0, 1.5, d), rng.uniform(0.2, 3.0, d)))
    return cases


def _ref_kl_mvn_diag(mu_q, sigma_q, mu_p, sigma_p):
    return float(kl_mvn_diag(mu_q, sigma_q, mu_p, sigma_p))


@student_check
def check_kl_mvn_diag(fn):
    """Check ``fn(mu_q, sigma_q, mu_p, sigma_p) -> float``: KL between diagonal Gaussians.

    Inputs are 1-D NumPy arrays of length d (sigma = standard deviations); the result is
    KL(N(mu_q, diag sigma_q²) ‖ N(mu_p, diag sigma_p²)) in nats, one number.
    """
    def det_form(mq, sq, mp, sp, const):
        r = (sq / sp) ** 2
        return 0.5 * (np.prod(r) + np.sum((mq - mp) ** 2 / sp**2) - const - np.log(np.prod(r)))

    ref = _ref_kl_mvn_diag
    mistakes = [
        Mistake("the arguments are swapped: you computed KL(p ‖ q). The first pair (mu_q, sigma_q) "
                 "is the left side of ‖.",
                 lambda mq, sq, mp, sp: ref(mp, sp, mq, sq)),
        Mistake("you used sigma as if it were the variance: sigma holds standard deviations, "
                 "so the formula needs sigma² where you wrote sigma.",
                 lambda mq, sq, mp, sp: ref(mq, np.sqrt(sq), mp, np.sqrt(sp))),
        Mistake("variance used where the standard deviation belongs: you squared sigma twice.",
                 lambda mq, sq, mp, sp: ref(mq, sq**2, mp, sp**2)),
        Mistake("standard deviation used where the variance belongs: the fractions need "
                 "sigma_q² / (2 sigma_p²) and (mu_q - mu_p)² / (2 sigma_p²), with squares.",
                 lambda mq, sq, mp, sp: float(np.sum(_kl_normal_formula(mq, sq, mp, sp, power=1)))),
        Mistake("product of variances (a determinant) where a sum (the trace "
                 "tr(Σ_p⁻¹ Σ_q)) belongs, and -1/2 where -d/2 belongs: this is the error of "
                 "seed 003. E[zᵀz] = tr(Σ) + μᵀμ, not |Σ| + μᵀμ.",
                 lambda mq, sq, mp, sp: det_form(mq, sq, mp, sp, 1.0)),
        Mistake("product of variances (a determinant) where a sum (the trace tr(Σ_p⁻¹ Σ_q)) "
                 "belongs: E[zᵀz] = tr(Σ) + μᵀμ, not |Σ| + μᵀμ.",
                 lambda mq, sq, mp, sp: det_form(mq, sq, mp, sp, float(np.size(mq)))),
        Mistake("the constant is -1/2 but it must be -d/2 (one -1/2 per dimension).",
                 lambda mq, sq, mp, sp: ref(mq, sq, mp, sp) + 0.5 * (np.size(mq) - 1)),
        Mistake("the constant -d/2 is missing (the KL of q with itself must be 0).",
                 lambda mq, sq, mp, sp: ref(mq, sq, mp, sp) + 0.5 * np.size(mq)),
        Mistake("sign error: your result is minus the KL (a KL divergence is never negative).",
                 lambda mq, sq, mp, sp: -ref(mq, sq, mp, sp)),
        Mistake("you averaged over the dimensions; the KL of independent coordinates is the "
                 "*sum* of the per-dimension KLs.",
                 lambda mq, sq, mp, sp: ref(mq, sq, mp, sp) / np.size(mq)),
        Mistake("wrong shape: you returned the d per-dimension terms; the KL is their sum, "
                 "one number.",
                 lambda mq, sq, mp, sp: kl_normal(mq, sq, mp, sp)),
    ]
    run_check("check_kl_mvn_diag", fn, _diag_cases(202), ref, mistakes,
           arg_names=["mu_q", "sigma_q", "mu_p", "sigma_p"],
           shape_hint=" (a float: sum the per-dimension terms)", nonnegative=True)


def _ref_kl_standard_normal(mu, sigma):
    return float(kl_mvn_diag(mu, sigma, np.zeros_like(mu), np.ones_like(sigma)))


@student_check
def check_kl_standard_normal(fn):
    """Check ``fn(mu, sigma) -> KL(N(mu, diag sigma²) ‖ N(0, I))``, the VAE term (nats).

    ``mu`` and ``sigma`` are 1-D arrays of length d; the result is one float.
    """
    rng = seeded_rng(203)
    cases = [(np.zeros(1), np.ones(1)), (np.zeros(4), np.ones(4)), (np.array([1.0]), np.array([1.0])),
             (np.array([0.0, 0.0]), np.array([0.5, 2.0])), (np.array([1.0, -2.0, 0.5]), np.array([0.3, 1.0, 1.7]))]
    for d in rng.integers(1, 11, size=16):
        cases.append((rng.normal(0, 1.5, d), rng.uniform(0.1, 2.5, d)))
    ref = _ref_kl_standard_normal

    def seed003(mu, sigma, const):
        det = np.prod(sigma**2)
        return 0.5 * (det + mu @ mu - const - np.log(det))

    mistakes = [
        Mistake("product of variances |Σ| where the trace tr(Σ) = Σ sigma_j² belongs, and -1/2 "
                 "where -d/2 belongs: this is exactly the error of seed 003. "
                 "E[zᵀz] = tr(Σ) + μᵀμ, not |Σ| + μᵀμ.",
                 lambda mu, s: seed003(mu, s, 1.0)),
        Mistake("product of variances |Σ| (a determinant) where the trace tr(Σ) = Σ sigma_j² "
                 "belongs: E[zᵀz] = tr(Σ) + μᵀμ, not |Σ| + μᵀμ.",
                 lambda mu, s: seed003(mu, s, float(np.size(mu)))),
        Mistake("the constant is -1/2 but it must be -d/2 (one -1/2 per latent dimension).",
                 lambda mu, s: ref(mu, s) + 0.5 * (np.size(mu) - 1)),
        Mistake("the constant -d/2 is missing (the KL is 0 when mu = 0 and sigma = 1).",
                 lambda mu, s: ref(mu, s) + 0.5 * np.size(mu)),
        Mistake("the arguments are swapped: you computed KL(N(0, I) ‖ q). The approximation q is "
                 "the left side of ‖.",
                 lambda mu, s: float(kl_mvn_diag(np.zeros_like(mu), np.ones_like(s), mu, s))),
        Mistake("you used sigma as if it were the variance: sigma holds standard deviations, "
                 "so you need sigma² and log sigma².",
                 lambda mu, s: ref(mu, np.sqrt(s))),
        Mistake("variance used where the standard deviation belongs: you squared sigma twice.",
                 lambda mu, s: ref(mu, s**2)),
        Mistake("standard deviation used where the variance belongs: the first term is "
                 "sigma_j², not sigma_j.",
                 lambda mu, s: 0.5 * float(np.sum(s + mu**2 - 1.0 - np.log(s**2)))),
        Mistake("the log term should be log sigma² = 2 log sigma; you wrote log sigma.",
                 lambda mu, s: 0.5 * float(np.sum(s**2 + mu**2 - 1.0 - np.log(s)))),
        Mistake("sign error: your result is minus the KL (a KL divergence is never negative).",
                 lambda mu, s: -ref(mu, s)),
        Mistake("wrong shape: you returned the d per-dimension terms; the KL is their sum, "
                 "one number.",
                 lambda mu, s: 0.5 * (s**2 + mu**2 - 1.0 - np.log(s**2))),
    ]
    run_check("check_kl_standard_normal", fn, cases, ref, mistakes, arg_names=["mu", "sigma"],
           shape_hint=" (a float: sum over the latent dimensions)", nonnegative=True)


