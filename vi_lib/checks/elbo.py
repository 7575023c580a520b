"""Checks for exercises 03: entropy and the ELBO."""

from __future__ import annotations

import numpy as np
from scipy import special

from ..elbo import elbo_beta_coin, entropy_beta, entropy_categorical
from ..models.coin import coin_log_evidence
from ._core import Fn, Mistake, gauss_logpdf, run_check, seeded_rng, student_check

__all__ = ["check_entropy_discrete", "check_elbo_monte_carlo", "check_elbo_beta_coin"]


def _ref_entropy(probs):
    return float(entropy_categorical(probs))


@student_check
def check_entropy_discrete(fn):
    """Check ``fn(probs) -> H`` in nats for a 1-D array of probabilities (zeros allowed)."""
    rng = seeded_rng(301)
    cases = [np.full(30, 1 / 30), np.array([1.0]), np.array([0.5, 0.5]), np.array([1.0, 0.0, 0.0]),
             np.array([0.2, 0.0, 0.8]), np.array([0.1, 0.2, 0.3, 0.4])]
    for k in rng.integers(2, 40, size=12):
        w = rng.gamma(0.7, size=k)
        if k % 3 == 0:
            w[rng.integers(0, k, size=max(1, k // 4))] = 0.0
        w[0] += 0.1
        cases.append(w / w.sum())
    cases = [(c,) for c in cases]

    def naive(p):
        return float(-np.sum(p * np.log(p)))

    mistakes = [
        Mistake("you get NaN when a probability is 0: by convention 0 log 0 = 0 "
                 "(use scipy.special.entr or xlogy, or leave the zero entries out of the sum).",
                 naive),
        Mistake("you computed the entropy in bits (log base 2); the course uses nats (natural log).",
                 lambda p: _ref_entropy(p) / np.log(2)),
        Mistake("sign error: H = -Σ p log p is never negative.",
                 lambda p: -_ref_entropy(p)),
        Mistake("you summed log p without the weights p: H = -Σ p_k log p_k.",
                 lambda p: float(-np.sum(np.log(p[p > 0])))),
        Mistake("wrong shape: you returned the terms -p_k log p_k; the entropy is their sum.",
                 lambda p: special.entr(p)),
    ]
    run_check("check_entropy_discrete", fn, cases, _ref_entropy, mistakes, arg_names=["probs"],
           shape_hint=" (a float)")


def _elbo_mc_cases():
    rng = seeded_rng(302)
    cases = []
    specs = [(0.0, 1.0, 0.0, 1.0, 0.0), (0.0, 1.0, 1.0, 0.5, 0.0), (2.0, 0.7, 1.0, 2.0, -3.2),
             (-1.0, 1.5, 0.5, 1.0, 1.7), (0.3, 0.2, 0.0, 1.0, 0.0)]
    for (m_q, s_q, m_p, s_p, log_z), n in zip(specs, [1, 5, 50, 200, 1000]):
        log_q = Fn(gauss_logpdf(m_q, s_q), f"<log N(z | {m_q}, {s_q}²)>")
        lp = gauss_logpdf(m_p, s_p)
        log_joint = Fn(lambda z, lp=lp, c=log_z: lp(z) + c, f"<log N(z | {m_p}, {s_p}²) + {log_z}>")
        cases.append((log_joint, log_q, m_q + s_q * rng.standard_normal(n)))
    return cases


def _ref_elbo_mc(log_joint, log_q, samples):
    return float(np.mean(np.asarray(log_joint(samples)) - np.asarray(log_q(samples))))


@student_check
def check_elbo_monte_carlo(fn):
    """Check ``fn(log_joint, log_q, samples) -> float``: Monte Carlo ELBO from samples of q.

    ``log_joint`` and ``log_q`` take an array of samples and return an array of log densities.
    """
    mistakes = [
        Mistake("sign error: the ELBO is the average of log p(x, z) - log q(z); you have "
                 "log q(z) - log p(x, z).",
                 lambda lj, lq, z: -_ref_elbo_mc(lj, lq, z)),
        Mistake("the entropy part is missing: subtract log q(z) from log p(x, z) before averaging.",
                 lambda lj, lq, z: float(np.mean(lj(z)))),
        Mistake("you summed over the samples; the Monte Carlo estimate is the *average*.",
                 lambda lj, lq, z: float(np.sum(lj(z) - lq(z)))),
        Mistake("wrong shape: you returned one term per sample; the estimate is their average.",
                 lambda lj, lq, z: lj(z) - lq(z)),
        Mistake("you averaged the ratio p/q and took its log (that is a different, biased "
                 "estimator of log p(x)); the ELBO averages log p(x, z) - log q(z).",
                 lambda lj, lq, z: float(np.log(np.mean(np.exp(lj(z) - lq(z)))))),
    ]
    run_check("check_elbo_monte_carlo", fn, _elbo_mc_cases(), _ref_elbo_mc, mistakes,
           arg_names=["log_joint", "log_q", "samples"], shape_hint=" (a float)")


def _elbo_beta_pieces(a_q, b_q, heads, tails, a0, b0):
    """(E_q[log p(X, θ)], H[q]) from the library's ELBO and entropy."""
    entropy = float(entropy_beta(a_q, b_q))
    return float(elbo_beta_coin(a_q, b_q, heads, tails, a0, b0)) - entropy, entropy


@student_check
def check_elbo_beta_coin(fn):
    """Check ``fn(a_q, b_q, heads, tails, a0, b0) -> ELBO`` of q = Beta(a_q, b_q) for the coin (nats).

    Prior Beta(a0, b0); the argument order is that of :func:`vi_lib.elbo.elbo_beta_coin`.
    """
    rng = seeded_rng(303)
    cases = [(1.0, 1.0, 0, 0, 1.0, 1.0), (8.0, 4.0, 7, 3, 1.0, 1.0), (2.0, 2.0, 7, 3, 1.0, 1.0),
             (14.0, 9.0, 12, 4, 2.0, 5.0), (3.0, 30.0, 1, 30, 10.0, 2.0), (0.8, 1.3, 3, 9, 0.5, 0.5)]
    for _ in range(16):
        a_q, b_q = float(rng.uniform(0.5, 30)), float(rng.uniform(0.5, 30))
        a0, b0 = float(rng.uniform(0.5, 5)), float(rng.uniform(0.5, 5))
        cases.append((a_q, b_q, int(rng.integers(0, 30)), int(rng.integers(0, 30)), a0, b0))

    def piece(i, sign=1.0):
        return lambda *args: _elbo_beta_pieces(*args)[0] + sign * _elbo_beta_pieces(*args)[1] * i

    mistakes = [
        Mistake("sign error on the entropy: ELBO = E_q[log p(X, θ)] + H[q]; you subtracted H[q].",
                 piece(1.0, -1.0)),
        Mistake("the entropy H[q] is missing: ELBO = E_q[log p(X, θ)] + H[q] "
                 "(equivalently E_q[log p(X, θ)] - E_q[log q(θ)]).",
                 piece(0.0)),
        Mistake("the prior's normalising constant is missing from log p(X, θ): it contains "
                 "-log B(a0, b0).",
                 lambda aq, bq, h, t, a0, b0: (elbo_beta_coin(aq, bq, h, t, a0, b0)
                                               + special.betaln(a0, b0))),
        Mistake("you returned KL(q ‖ posterior) = log p(X) - ELBO, not the ELBO.",
                 lambda aq, bq, h, t, a0, b0: coin_log_evidence(h, t, a0, b0)
                 - elbo_beta_coin(aq, bq, h, t, a0, b0)),
        Mistake("sign error: you returned minus the ELBO (the loss an optimiser minimises).",
                 lambda *args: -elbo_beta_coin(*args)),
        Mistake("E_q[log θ] is ψ(a_q) - ψ(a_q + b_q) (digamma), not log of the mean "
                 "log(a_q / (a_q + b_q)).",
                 lambda aq, bq, h, t, a0, b0: ((a0 + h - 1) * np.log(aq / (aq + bq))
                                               + (b0 + t - 1) * np.log(bq / (aq + bq))
                                               - special.betaln(a0, b0)
                                               + entropy_beta(aq, bq))),
        Mistake("the arguments are in the wrong order: the signature is "
                 "fn(a_q, b_q, heads, tails, a0, b0), as in vi_lib.elbo.elbo_beta_coin; you used "
                 "heads and tails as the prior parameters and a0, b0 as the counts.",
                 lambda aq, bq, h, t, a0, b0: (elbo_beta_coin(aq, bq, h, t, a0, b0)
                                               + special.betaln(a0, b0) - special.betaln(h, t))),
    ]
    run_check("check_elbo_beta_coin", fn, cases, elbo_beta_coin, mistakes,
           arg_names=["a_q", "b_q", "heads", "tails", "a0", "b0"])


