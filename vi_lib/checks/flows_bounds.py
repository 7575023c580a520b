"""Checks for exercises 12: flows and bounds (affine coupling layer, IWAE with log-sum-exp)."""

from __future__ import annotations

import numpy as np
from scipy.special import logsumexp

from ..bounds import iwae_from_log_weights
from ._core import Fn, Mistake, run_check, seeded_rng, student_check

__all__ = ["check_affine_coupling", "check_iwae_estimate"]


# --------------------------------------------------------------------------- coupling layer

def _ref_coupling(z, conditioner):
    # Dinh et al. 2017: y_a = z_a, y_b = z_b * exp(s(z_a)) + t(z_a), log|det J| = sum_j s_j
    cut = z.shape[1] // 2
    z_a, z_b = z[:, :cut], z[:, cut:]
    shift, log_scale = conditioner(z_a)
    y = np.concatenate([z_a, z_b * np.exp(log_scale) + shift], axis=1)
    return y, np.sum(log_scale, axis=1)


def _conditioner(rng, d_a, d_b):
    w_t, w_s = rng.normal(size=(d_a, d_b)), 0.5 * rng.normal(size=(d_a, d_b))
    c = rng.normal(size=d_b)

    def conditioner(z_a):
        return np.sin(z_a @ w_t) + c, np.tanh(z_a @ w_s + c)

    return Fn(conditioner, f"<conditioner: z_a of shape (n, {d_a}) -> (shift, log_scale), "
                           f"each of shape (n, {d_b})>")


@student_check
def check_affine_coupling(fn):
    """Check ``fn(z, conditioner) -> (y, log_det)``: one affine coupling layer.

    ``z`` has shape (n, d); ``conditioner(z_a)`` returns ``(shift, log_scale)`` for the second
    half; ``y`` has shape (n, d) and ``log_det`` shape (n,) (nats).
    """
    rng = seeded_rng(1201)
    cases = []
    for n, d in [(1, 2), (4, 2), (3, 3), (5, 4), (2, 5), (6, 6), (3, 7), (8, 2)]:
        z = rng.normal(size=(n, d))
        cases.append((z, _conditioner(rng, d // 2, d - d // 2)))

    def parts(z, cond):
        cut = z.shape[1] // 2
        shift, log_scale = cond(z[:, :cut])
        return z[:, :cut], z[:, cut:], shift, log_scale

    def wrong_y(combine):
        def y_of(z, cond):
            z_a, z_b, t, s = parts(z, cond)
            return np.concatenate([z_a, combine(z_b, t, s)], axis=1)
        return y_of

    mistakes = [
        Mistake("log_det: the log-determinant is the sum of the log-scales s_j, not of the "
                "scales exp(s_j).",
                lambda z, c: (None, np.sum(np.exp(parts(z, c)[3]), axis=1))),
        Mistake("log_det: you returned the determinant exp(sum s_j); the task asks for its "
                "logarithm, sum s_j.",
                lambda z, c: (None, np.exp(np.sum(parts(z, c)[3], axis=1)))),
        Mistake("log_det: sum the log-scales per row (one value per point, shape (n,)); you "
                "summed over all rows too.",
                lambda z, c: (None, np.sum(parts(z, c)[3]))),
        Mistake("y: scale first, then shift: y_b = z_b * exp(s) + t; you computed "
                "(z_b + t) * exp(s).",
                lambda z, c: (wrong_y(lambda zb, t, s: (zb + t) * np.exp(s))(z, c), None)),
        Mistake("y: the scale is exp(s), not s: y_b = z_b * exp(s) + t.",
                lambda z, c: (wrong_y(lambda zb, t, s: zb * s + t)(z, c), None)),
        Mistake("y: the first half z_a must pass through unchanged and come first in y.",
                lambda z, c: (np.concatenate([_ref_coupling(z, c)[0][:, z.shape[1] // 2:],
                                              z[:, :z.shape[1] // 2]], axis=1), None)),
    ]
    run_check("check_affine_coupling", fn, cases, _ref_coupling, mistakes,
              arg_names=["z", "conditioner"], out_names=["y", "log_det"],
              shape_hint=" (y: (n, d), log_det: (n,))")


# --------------------------------------------------------------------------- IWAE estimate

def _ref_iwae(log_w):
    return iwae_from_log_weights(log_w, log_w.shape[1])


@student_check
def check_iwae_estimate(fn):
    """Check ``fn(log_w) -> estimates``: log (1/K) sum_k w_k for each row of ``log_w``.

    ``log_w`` has shape (num_draws, K) (log importance weights, nats); the result has shape
    (num_draws,).
    """
    rng = seeded_rng(1202)
    cases = []
    for n, k, loc, scale in [(3, 1, 0.0, 1.0), (4, 5, 0.0, 1.0), (2, 16, -3.0, 2.0),
                             (5, 8, 2.0, 0.5), (3, 64, 0.0, 3.0), (2, 10, 800.0, 5.0),
                             (3, 7, -900.0, 4.0), (4, 3, 1.0, 0.1)]:
        cases.append((loc + scale * rng.normal(size=(n, k)),))
    mistakes = [
        Mistake("the - log K is missing: the bound averages the K weights, "
                "log((w_1 + ... + w_K) / K) = logsumexp(log_w) - log K.",
                lambda lw: logsumexp(lw, axis=1)),
        Mistake("you averaged the log weights (that is the ELBO estimate); the IWAE bound is the "
                "log of the average weight, logsumexp(log_w) - log K.",
                lambda lw: np.mean(lw, axis=1)),
        Mistake("overflow or underflow: exp(log_w) is inf above ~709 and 0 below ~-745 in float64. "
                "Subtract the largest log weight before exponentiating (log-sum-exp), or use "
                "scipy.special.logsumexp.",
                lambda lw: np.log(np.mean(np.exp(lw), axis=1))),
        Mistake("you summed over the draws instead of the K particles: reduce along axis 1.",
                lambda lw: logsumexp(lw, axis=0) - np.log(lw.shape[0])),
    ]
    run_check("check_iwae_estimate", fn, cases, _ref_iwae, mistakes,
              arg_names=["log_w"], shape_hint=" (one value per row of log_w: (num_draws,))")
