"""Checks for exercises 11: importance weights, reading k̂, self-normalised averages."""

from __future__ import annotations

import numpy as np
from scipy import special, stats

from ._core import Fn, Mistake, run_check, seeded_rng, student_check

__all__ = ["check_log_importance_weights", "check_khat_verdict", "check_self_normalised_mean"]

# The thresholds of Yao et al. (2018), as in vi_lib.diagnostics (KHAT_GOOD, KHAT_OK); repeated
# here so that importing the checks does not import ArviZ and JAX.
_GOOD, _OK = 0.5, 0.7


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
              shape_hint=" (one log weight per row of z: sum log q over the coordinates)")


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
    run_check("check_khat_verdict", fn, [(k,) for k in _KHATS], _ref_verdict, mistakes,
              arg_names=["khat"], shape_hint=" (one integer: 0, 1 or 2)")


# --------------------------------------------------------------------------- task 3
def _ref_snis(values, log_weights):
    w = np.exp(log_weights - special.logsumexp(log_weights))
    return float(np.sum(w * values))


def _snis_cases():
    rng = seeded_rng(1103)
    cases = [(np.array([1.0, 3.0]), np.log(np.array([1.0, 3.0])))]  # (1·1 + 3·3) / 4 = 2.5
    for n, offset in [(5, 0.0), (50, -700.0), (200, 800.0), (1000, 3.0)]:
        values = rng.normal(size=n)
        cases.append((values, offset + 1.5 * rng.normal(size=n)))
    return cases


@student_check
def check_self_normalised_mean(fn):
    """Check ``fn(values, log_weights) -> float``: Σ_s w_s f_s / Σ_s w_s from log weights.

    ``values`` and ``log_weights`` have shape (S,); the log weights may carry any constant offset
    (here up to ±800), so exponentiate them only after subtracting their maximum.
    """
    def naive(v, lw):
        w = np.exp(lw)
        return float(np.sum(w * v) / np.sum(w))

    mistakes = [
        Mistake("exp(log_weights) overflowed or underflowed for large offsets: subtract the "
                "largest log weight first (or use scipy.special.logsumexp).",
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
