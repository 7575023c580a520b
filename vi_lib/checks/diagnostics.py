"""Checks for exercises 11: importance weights, reading k̂, self-normalised averages.

Following the package's conventions (``README.md``): every task has progressive hints
(``HINTS``), and each check tries inputs on which a fragile formula breaks. The log weights
are tried far in the tails of q, where the density q(z) underflows to 0 (so the log of a
density is -inf); the self-normalised average gets log weights offset by ±1000, where
``exp`` over- and underflows (a named mistake, since these are ordinary inputs); the verdict
of k̂, which has no over- or underflowing form, gets very large and very negative k̂.
The library has no function computing these three answers from the same inputs
(:func:`vi_lib.diagnostics.psis_expectation` smooths the weights first), so there is
nothing to detect in grading mode.
"""

from __future__ import annotations

import numpy as np
from scipy import special, stats

from ._core import Fn, Mistake, Stress, run_check, seeded_rng, student_check

__all__ = ["check_log_importance_weights", "check_khat_verdict", "check_self_normalised_mean"]

# The thresholds of Yao et al. (2018), as in vi_lib.diagnostics (KHAT_GOOD, KHAT_OK); repeated
# here so that importing the checks does not import ArviZ and JAX.
_GOOD, _OK = 0.5, 0.7

HINTS = {   # progressive hints for vi_lib.checks.hint(task): a nudge, then a stronger one
    "log_importance_weights": (
        "Stay in log space: the log of a ratio is a difference of logs, one value per row of z.",
        "q is a product of one-dimensional Gaussians, so log q(z) is a sum over the coordinates "
        "(axis 1) of their log densities; scipy.stats.norm.logpdf takes the standard deviation "
        "as `scale`. Never compute q(z) itself: far in its tails it underflows to 0.",
    ),
    "khat_verdict": (
        "Compare k̂ with the two thresholds 0.5 and 0.7, the smaller one first.",
        "Mind the boundaries: 0.5 is already 'usable' and 0.7 is still 'usable'. A negative k̂ "
        "is good and k̂ = inf is not trusted; with < and <= in the right places no special "
        "case is needed.",
    ),
    "self_normalised_mean": (
        "A constant added to every log weight cancels in the ratio Σ_s w_s f_s / Σ_s w_s: use "
        "that freedom before exponentiating.",
        "Subtract the largest log weight (or their log-sum-exp, scipy.special.logsumexp) from "
        "every log weight, then exponentiate: the weights are now at most 1 and the largest is "
        "not 0. Divide by the sum of these weights, not by the number of draws.",
    ),
}


# --------------------------------------------------------------------------- task 1
def _log_q(mu_q, sigma_q, z):
    return stats.norm.logpdf(z, mu_q, sigma_q).sum(axis=-1)


def _ref_log_weights(log_joint, mu_q, sigma_q, z):
    return np.asarray(log_joint(z), dtype=float) - _log_q(mu_q, sigma_q, z)


def _log_weight_cases():
    rng = seeded_rng(1101)
    cases = []
    for d, n, offset in [(1, 1, 0.0), (1, 5, 0.0), (2, 20, -3.5), (3, 50, 12.0), (4, 200, 0.7)]:
        mu_p, sd_p = rng.normal(size=d), rng.uniform(0.5, 2.0, d)
        mu_q, sigma_q = mu_p + 0.3 * rng.normal(size=d), rng.uniform(0.3, 1.5, d)

        def log_joint(z, m=mu_p, s=sd_p, c=offset):
            return stats.norm.logpdf(z, m, s).sum(axis=-1) + c

        text = f"<log N(z | {np.round(mu_p, 2)}, diag {np.round(sd_p, 2)}²) + {offset}>"
        z = mu_q + sigma_q * rng.standard_normal((n, d))
        cases.append((Fn(log_joint, text), mu_q, sigma_q, z))
    return cases


def _tail_case():
    """Draws about 40 standard deviations from mu_q, where q(z) underflows to 0."""
    mu_q, sigma_q = np.array([0.5, -1.0]), np.array([0.2, 0.3])
    z = mu_q + sigma_q * np.array([[40.0, -45.0], [-42.0, 39.0], [44.0, 41.0]])

    def log_joint(z):
        return stats.norm.logpdf(z, 0.0, 5.0).sum(axis=-1) - 1000.0

    return (Fn(log_joint, "<log N(z | [0, 0], diag [5, 5]²) - 1000>"), mu_q, sigma_q, z)


@student_check
def check_log_importance_weights(fn):
    """Check ``fn(log_joint, mu_q, sigma_q, z) -> log_w``: log importance weights of draws of q.

    q = N(mu_q, diag(sigma_q²)) (sigma_q are standard deviations, shape (d,)), ``z`` has shape
    (S, d), ``log_joint(z)`` returns log p(x, z) for each row, shape (S,); the answer is
    log p(x, z_s) − log q(z_s), shape (S,).
    """
    mistakes = [
        Mistake("log q(z) is missing: the weight is p(x, z) / q(z), so subtract log q(z) from "
                "log p(x, z).",
                lambda lj, m, s, z: np.asarray(lj(z), dtype=float)),
        Mistake("the ratio is upside down: you computed log q(z) - log p(x, z), the log of q/p; "
                "the importance weight is p(x, z) / q(z).",
                lambda lj, m, s, z: -_ref_log_weights(lj, m, s, z)),
        Mistake("your log q(z) uses sigma_q² as the standard deviation; sigma_q already is the "
                "standard deviation (scipy's `scale`).",
                lambda lj, m, s, z: np.asarray(lj(z), dtype=float) - _log_q(m, s**2, z)),
        Mistake("sigma_q holds standard deviations, but your log q(z) uses them as variances.",
                lambda lj, m, s, z: np.asarray(lj(z), dtype=float) - _log_q(m, np.sqrt(s), z)),
        Mistake("log q(z) lacks its normalising constant -log(sigma) - log(2 pi)/2 per "
                "coordinate: every log weight is off by the same amount (k-hat would not notice, "
                "but the estimate of log p(x) would).",
                lambda lj, m, s, z: np.asarray(lj(z), dtype=float)
                + 0.5 * np.sum(((z - m) / s) ** 2, axis=-1)),
        Mistake("log q(z) lacks the -log(sigma) terms of its normalising constant.",
                lambda lj, m, s, z: _ref_log_weights(lj, m, s, z) - np.sum(np.log(s))),
        Mistake("you exponentiated: the task asks for the log weights, not the weights.",
                lambda lj, m, s, z: np.exp(_ref_log_weights(lj, m, s, z))),
    ]
    run_check("check_log_importance_weights", fn, _log_weight_cases(), _ref_log_weights, mistakes,
              arg_names=["log_joint", "mu_q", "sigma_q", "z"],
              shape_hint=" (one log weight per row of z: sum log q over the coordinates)",
              stress=[Stress(_tail_case(),
                             "these draws lie about 40 standard deviations from mu_q, where the "
                             "density q(z) underflows to 0 in float64 and log(0) = -inf (and "
                             "exp(log p(x, z)), about exp(-1000), is 0 as well). Compute log q(z) in log "
                             "space (scipy.stats.norm.logpdf, or the quadratic form), never as "
                             "the log of a density.")])


# --------------------------------------------------------------------------- task 2
_KHATS = [-1.0, -0.2, 0.0, 0.3, 0.49, 0.5, 0.6, 0.7, 0.71, 0.9, 1.5, np.inf]


def _ref_verdict(khat):
    if khat < _GOOD:
        return 0
    if khat <= _OK:
        return 1
    return 2


@student_check
def check_khat_verdict(fn):
    """Check ``fn(khat) -> int``: 0 if q is good (k̂ < 0.5), 1 if usable (0.5 ≤ k̂ ≤ 0.7), 2 if not
    to be trusted (k̂ > 0.7, including k̂ = inf)."""
    mistakes = [
        Mistake("the scale is reversed: a *small* k-hat is good (light tail of the weights), a "
                "large one is bad.",
                lambda k: 2 - _ref_verdict(k)),
        Mistake("a negative k-hat is good (the weights are bounded), not bad: did you use |k-hat|?",
                lambda k: _ref_verdict(abs(k))),
        Mistake("k-hat = 0.7 is still usable: the rule is k-hat > 0.7 for 'not trusted'.",
                lambda k: 2 if k >= _OK else _ref_verdict(k)),
        Mistake("k-hat = 0.5 is already only 'usable': the rule is k-hat < 0.5 for 'good'.",
                lambda k: 0 if k <= _GOOD else _ref_verdict(k)),
        Mistake("the thresholds are 0.5 and 0.7 (Yao et al. 2018), not 0.7 and 1 (1 is where the "
                "mean of the weights stops existing).",
                lambda k: 0 if k < _OK else (1 if k <= 1.0 else 2)),
    ]
    # k̂ has no over- or underflowing textbook form: the extreme inputs are large ones
    run_check("check_khat_verdict", fn, [(k,) for k in _KHATS], _ref_verdict, mistakes,
              arg_names=["khat"], shape_hint=" (one integer: 0, 1 or 2)",
              stress=[Stress((1e300,), "a very large k̂ (1e300: an extremely heavy tail of the "
                                       "weights) must work as well."),
                      Stress((-1e300,), "a very negative k̂ (-1e300: bounded weights) must work "
                                        "as well.")])


# --------------------------------------------------------------------------- task 3
def _ref_snis(values, log_weights):
    w = np.exp(log_weights - special.logsumexp(log_weights))
    return float(np.sum(w * values))


def _snis_cases():
    rng = seeded_rng(1103)
    cases = [(np.array([1.0, 3.0]), np.log(np.array([1.0, 3.0])))]  # (1·1 + 3·3) / 4 = 2.5
    for n, offset in [(5, 0.0), (50, -1000.0), (200, 1000.0), (1000, 3.0)]:
        values = rng.normal(size=n)
        cases.append((values, offset + 1.5 * rng.normal(size=n)))
    return cases


@student_check
def check_self_normalised_mean(fn):
    """Check ``fn(values, log_weights) -> float``: Σ_s w_s f_s / Σ_s w_s from log weights.

    ``values`` and ``log_weights`` have shape (S,); the log weights may carry any constant offset
    (here up to ±1000), so exponentiate them only after subtracting their maximum.
    """
    def naive(v, lw):
        w = np.exp(lw)
        return float(np.sum(w * v) / np.sum(w))

    mistakes = [
        Mistake("exp(log_weights) overflowed or underflowed for large offsets (exp(1000) is inf "
                "and exp(-1000) is 0 in float64, so the ratio is NaN): subtract the largest log "
                "weight first (or use scipy.special.logsumexp).",
                naive),
        Mistake("the weights are not normalised: divide by their sum, not by the number of draws.",
                lambda v, lw: float(np.mean(np.exp(lw - np.max(lw)) * v))),
        Mistake("you averaged the values without weights.",
                lambda v, lw: float(np.mean(v))),
        Mistake("you used the log weights themselves as weights; exponentiate them first.",
                lambda v, lw: float(np.sum(lw * v) / np.sum(lw))),
    ]
    run_check("check_self_normalised_mean", fn, _snis_cases(), _ref_snis, mistakes,
              arg_names=["values", "log_weights"], shape_hint=" (a float)")
