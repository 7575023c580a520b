"""Correct, wrong and fragile answers for the checks of exercises 11 (vi_lib.checks.diagnostics).

tests/test_checks.py merges CORRECT, WRONG and FRAGILE into its own catalogues, so every
generic test there (correct answers pass, the stub is "not implemented yet", odd student code
is reported, fragile answers are caught with their cause, other containers, float32 answers,
mutated inputs, hints) runs on these checks too.
"""

import numpy as np
from scipy import special, stats


def log_importance_weights(log_joint, mu_q, sigma_q, z):
    return np.asarray(log_joint(z)) - stats.norm.logpdf(z, mu_q, sigma_q).sum(axis=-1)


def log_importance_weights_by_hand(log_joint, mu_q, sigma_q, z):
    u = (z - mu_q) / sigma_q
    log_q = -0.5 * np.sum(u**2, axis=1) - np.sum(np.log(sigma_q)) - 0.5 * z.shape[1] * np.log(2 * np.pi)
    return log_joint(z) - log_q


def khat_verdict(khat):
    return 0 if khat < 0.5 else (1 if khat <= 0.7 else 2)


def khat_verdict_count(khat):
    return int(khat >= 0.5) + int(khat > 0.7)


def self_normalised_mean(values, log_weights):
    w = np.exp(log_weights - special.logsumexp(log_weights))
    return float(np.sum(w * values))


def self_normalised_mean_max(values, log_weights):
    w = np.exp(log_weights - np.max(log_weights))
    return float(np.dot(w, values) / np.sum(w))


CORRECT = {
    "check_log_importance_weights": [log_importance_weights, log_importance_weights_by_hand],
    "check_khat_verdict": [khat_verdict, khat_verdict_count],
    "check_self_normalised_mean": [self_normalised_mean, self_normalised_mean_max],
}


def _log_q(m, s, z):
    return stats.norm.logpdf(z, m, s).sum(axis=-1)


WRONG = {
    "check_log_importance_weights": [
        (lambda lj, m, s, z: lj(z), "log q(z) is missing"),
        (lambda lj, m, s, z: _log_q(m, s, z) - lj(z), "upside down"),
        (lambda lj, m, s, z: lj(z) - _log_q(m, s**2, z), "sigma_q² as the standard deviation"),
        (lambda lj, m, s, z: lj(z) - _log_q(m, np.sqrt(s), z), "as variances"),
        (lambda lj, m, s, z: lj(z) + 0.5 * np.sum(((z - m) / s) ** 2, axis=-1),
         "normalising constant"),
        (lambda lj, m, s, z: lj(z) - _log_q(m, s, z) - np.sum(np.log(s)), "-log(sigma) terms"),
        (lambda lj, m, s, z: np.exp(lj(z) - _log_q(m, s, z)), "exponentiated"),
        (lambda lj, m, s, z: lj(z) - stats.norm.logpdf(z, m, s).sum(), "wrong value"),
        (lambda lj, m, s, z: lj(z)[:, None] - stats.norm.logpdf(z, m, s), "wrong shape"),
    ],
    "check_khat_verdict": [
        (lambda k: 2 - khat_verdict(k), "reversed"),
        (lambda k: khat_verdict(abs(k)), "negative k-hat is good"),
        (lambda k: 2 if k >= 0.7 else khat_verdict(k), "0.7 is still usable"),
        (lambda k: 0 if k <= 0.5 else khat_verdict(k), "0.5 is already only 'usable'"),
        (lambda k: 0 if k < 0.7 else (1 if k <= 1 else 2), "not 0.7 and 1"),
        (lambda k: 1 if np.isinf(k) else khat_verdict(k), "wrong value"),
    ],
    "check_self_normalised_mean": [
        (lambda v, lw: float(np.sum(np.exp(lw) * v) / np.sum(np.exp(lw))), "overflowed"),
        (lambda v, lw: float(np.mean(np.exp(lw - np.max(lw)) * v)), "not normalised"),
        (lambda v, lw: float(np.mean(v)), "without weights"),
        (lambda v, lw: float(np.sum(lw * v) / np.sum(lw)), "log weights themselves"),
        (lambda v, lw: float(np.median(v)), "wrong value"),
    ],
}


# Answers right on ordinary inputs that break on extreme ones, with words the message must
# contain (the cause and the stable function).
def _log_weights_from_densities(lj, m, s, z):
    # log of a product of densities: q(z) underflows to 0 far in its tails
    return np.asarray(lj(z)) - np.log(np.prod(stats.norm.pdf(z, m, s), axis=-1))


def _log_weights_from_ratio(lj, m, s, z):
    # the weight itself, then its log: exp(log p) underflows as well
    return np.log(np.exp(lj(z)) / np.prod(stats.norm.pdf(z, m, s), axis=-1))


FRAGILE = {
    "check_log_importance_weights": [
        (_log_weights_from_densities, "scipy.stats.norm.logpdf"),
        (_log_weights_from_ratio, "underflows to 0"),
    ],
    # k-hat has no over- or underflowing textbook form: an answer that only works for
    # moderate k-hat (and inf) is caught by the very large and very negative ones
    "check_khat_verdict": [
        (lambda k: khat_verdict(k) if abs(k) < 100 or np.isinf(k) else 0, "very large k̂"),
        (lambda k: khat_verdict(k) if k > -100 else 2, "very negative k̂"),
    ],
    # the offsets of +-1000 are ordinary inputs of this check: the naive ratio is a named mistake
    "check_self_normalised_mean": [
        (lambda v, lw: float(np.sum(np.exp(lw) * v) / np.sum(np.exp(lw))),
         "scipy.special.logsumexp"),
    ],
}
