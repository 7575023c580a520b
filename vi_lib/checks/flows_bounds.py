"""Checks for exercises 12: flows and bounds (affine coupling layer, IWAE with log-sum-exp).

Following the package's conventions (``README.md``): every task has progressive hints
(``HINTS``), the coupling layer's ``(y, log_det)`` may come in any container that unpacks
into two outputs, and each check tries inputs on which a fragile formula breaks. The coupling
layer gets log-scales of about ±300 per coordinate, where the determinant of the Jacobian
(the product of the scales exp(s_j)) over- or underflows in float64 while its logarithm, the
sum of the s_j, is an ordinary number. The IWAE estimate gets log weights around +1000 and
-1000 (a named mistake: naive ``exp`` over- and underflows) and, once the ordinary inputs
pass, rows at very different levels in one array, where one maximum for the whole array is
not enough. When graded, the IWAE estimate must not call
:func:`vi_lib.bounds.iwae_from_log_weights`, the course library's answer.
"""

from __future__ import annotations

import numpy as np
from scipy.special import logsumexp

from ..bounds import iwae_from_log_weights
from ._core import Fn, Mistake, Stress, run_check, seeded_rng, student_check

__all__ = ["check_affine_coupling", "check_iwae_estimate"]

HINTS = {   # progressive hints for vi_lib.checks.hint(task): a nudge, then a stronger one
    "affine_coupling": (
        "Split each row at d // 2: the first part passes through unchanged and is what the "
        "conditioner sees; only the second part is transformed.",
        "Transform the second part elementwise: scale by exp(log_scale), then add shift. The "
        "Jacobian is triangular, so log|det J| is a sum over the coordinates of each row "
        "(axis 1), one value per point; never form the determinant itself, which over- or "
        "underflows for large log-scales.",
    ),
    "iwae_estimate": (
        "The estimate is the log of an average of weights, row by row (axis 1), not an "
        "average of log weights.",
        "Factor each row's own largest log weight out of the sum before exponentiating "
        "(keepdims=True keeps the shapes aligned), so that the largest term is exp(0) = 1; or "
        "use scipy.special.logsumexp along axis 1. Do not forget the 1/K.",
    ),
}


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


def _large_scale_case():
    """log-scales of about +300 (rows 0, 2) and -300 (row 1) in each of 4 coordinates.

    The sign follows the first coordinate of z_a, so that the conditioner acts on each row
    alone. y stays finite (exp(±350) is about 1e±152) and log|det J| = Σ_j s_j lies between
    ±1000 and ±1400, but Π_j exp(s_j) is then inf or 0 in float64.
    """
    rng = seeded_rng(12010)
    z = rng.normal(size=(3, 8))
    z[:, 0] = [0.8, -0.9, 1.1]
    w = rng.normal(size=(4, 4))

    def conditioner(z_a):
        sign = np.where(z_a[:, :1] > 0, 1.0, -1.0)
        return np.sin(z_a @ w), sign * (300.0 + 50.0 * np.tanh(z_a @ w))

    text = ("<conditioner: z_a of shape (n, 4) -> (shift, log_scale), each of shape (n, 4); "
            "log_scale about +300 where z_a[:, 0] > 0, about -300 elsewhere>")
    return (z, Fn(conditioner, text))


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
        Mistake("log_det: sum the log-scales over the coordinates of each row (axis 1), one value "
                "per point; you returned the log-scales themselves.",
                lambda z, c: (None, parts(z, c)[3])),
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
              shape_hint=" (y: (n, d), log_det: (n,))",
              stress=[Stress(_large_scale_case(),
                             "the log-scales are large here (about +300 or -300 in each of 4 "
                             "coordinates): the determinant of the Jacobian, the product of the "
                             "scales exp(s_j), is beyond exp(±1000), which over- or underflows in "
                             "float64 (exp overflows above about 709), so its logarithm comes out "
                             "as ±inf. Never form the determinant or the product of the scales: "
                             "sum the log-scales s_j themselves.")])


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
                             (5, 8, 2.0, 0.5), (3, 64, 0.0, 3.0), (2, 10, 1000.0, 5.0),
                             (3, 7, -1000.0, 4.0), (4, 3, 1.0, 0.1)]:
        cases.append((loc + scale * rng.normal(size=(n, k)),))
    mistakes = [
        Mistake("the - log K is missing: the bound averages the K weights, "
                "log((w_1 + ... + w_K) / K) = logsumexp(log_w) - log K.",
                lambda lw: logsumexp(lw, axis=1)),
        Mistake("you averaged the log weights (that is the ELBO estimate); the IWAE bound is the "
                "log of the average weight, logsumexp(log_w) - log K.",
                lambda lw: np.mean(lw, axis=1)),
        Mistake("overflow or underflow: exp(log_w) is inf above ~709 and 0 below ~-745 in float64 "
                "(here the log weights are near +1000 and -1000). "
                "Subtract the largest log weight before exponentiating (log-sum-exp), or use "
                "scipy.special.logsumexp.",
                lambda lw: np.log(np.mean(np.exp(lw), axis=1))),
        Mistake("you summed over the draws instead of the K particles: reduce along axis 1.",
                lambda lw: logsumexp(lw, axis=0) - np.log(lw.shape[0])),
    ]
    levels = np.array([[-1000.0], [0.0], [1000.0]]) + seeded_rng(12020).normal(size=(3, 6))
    run_check("check_iwae_estimate", fn, cases, _ref_iwae, mistakes,
              arg_names=["log_w"], shape_hint=" (one value per row of log_w: (num_draws,))",
              stress=[Stress((levels,),
                             "the rows of log_w lie at very different levels (about -1000, 0 and "
                             "+1000): subtracting one maximum for the whole array leaves "
                             "exp(-1000) or less, that is 0, in the lower rows, whose log is -inf. "
                             "Factor out each "
                             "row's own maximum (keepdims=True), or use "
                             "scipy.special.logsumexp(log_w, axis=1).")],
              delegates=(iwae_from_log_weights,))
