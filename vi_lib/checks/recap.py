"""Checks for exercises 01 (Bayesian recap): the coin toss (Beta-Bernoulli)."""

from __future__ import annotations

import functools

import numpy as np
from scipy import special, stats

from ..models.coin import coin_laplace, coin_log_evidence, coin_posterior
from ._core import Mistake, run_check, seeded_rng, student_check

__all__ = ["check_coin_posterior", "check_coin_log_evidence", "check_coin_laplace"]


_COIN_ARGS = ["heads", "tails", "a0", "b0"]


def _coin_cases(seed, n=20, min_post=0.0):
    """(heads, tails, a0, b0) in the order of :func:`vi_lib.models.coin_posterior`."""
    cases = [(0, 0, 1.0, 1.0), (7, 3, 1.0, 1.0), (12, 4, 2.0, 5.0), (3, 9, 0.5, 0.5),
             (1, 30, 10.0, 2.0), (50, 50, 3.0, 3.0), (0, 6, 1.5, 4.0)]
    rng = seeded_rng(seed)
    for _ in range(n):
        a0, b0 = float(rng.uniform(0.5, 6.0)), float(rng.uniform(0.5, 6.0))
        cases.append((int(rng.integers(0, 40)), int(rng.integers(0, 40)), a0, b0))
    return [c for c in cases if c[2] + c[0] > min_post and c[3] + c[1] > min_post]


@student_check
def check_coin_posterior(fn):
    """Check ``fn(heads, tails, a0, b0) -> (a_post, b_post)``: the Beta posterior of the coin.

    Prior Beta(a0, b0) on the probability of heads, ``heads`` and ``tails`` observed; the
    argument order is that of :func:`vi_lib.models.coin_posterior`.
    """
    mistakes = [
        Mistake("heads and tails are swapped: heads add to the first parameter a0 "
                 "(the prior's pseudo-count of heads), tails to b0.",
                 lambda h, t, a0, b0: (a0 + t, b0 + h)),
        Mistake("the prior is missing: the posterior parameters are the prior's a0, b0 "
                 "plus the counts, not the counts alone.",
                 lambda h, t, a0, b0: (h, t)),
        Mistake("off by one: a0 + heads - 1 is the exponent of theta in the posterior "
                 "density, but the Beta *parameter* is a0 + heads.",
                 lambda h, t, a0, b0: (a0 + h - 1, b0 + t - 1)),
        Mistake("you added the total number of tosses to both parameters; "
                 "heads go to a0 and tails go to b0.",
                 lambda h, t, a0, b0: (a0 + h + t, b0 + h + t)),
    ]
    run_check("check_coin_posterior", fn, _coin_cases(101), coin_posterior, mistakes,
           arg_names=_COIN_ARGS, out_names=["a_post", "b_post"])


@student_check
def check_coin_log_evidence(fn):
    """Check ``fn(heads, tails, a0, b0) -> log p(X)`` for one sequence of tosses (nats).

    The evidence of a given sequence is B(a0 + heads, b0 + tails) / B(a0, b0); the
    argument order is that of :func:`vi_lib.models.coin_log_evidence`.
    """
    log_binom = lambda h, t: special.gammaln(h + t + 1) - special.gammaln(h + 1) - special.gammaln(t + 1)  # noqa: E731
    ref = coin_log_evidence
    mistakes = [
        Mistake("you included the binomial coefficient C(n, heads): that is the probability "
                 "of the *number* of heads, but the data are one particular sequence of tosses.",
                 lambda h, t, a0, b0: ref(h, t, a0, b0) + log_binom(h, t)),
        Mistake("sign error: the log evidence is log B(a0 + heads, b0 + tails) - log B(a0, b0); "
                 "you have the two terms the other way round.",
                 lambda h, t, a0, b0: -ref(h, t, a0, b0)),
        Mistake("you returned the evidence p(X), not its logarithm.",
                 lambda h, t, a0, b0: np.exp(ref(h, t, a0, b0))),
        Mistake("the prior's normalising constant is missing: subtract log B(a0, b0).",
                 lambda h, t, a0, b0: special.betaln(a0 + h, b0 + t)),
        Mistake("heads and tails are swapped: heads go with a0, tails with b0.",
                 lambda h, t, a0, b0: ref(t, h, a0, b0)),
        Mistake("you used the Beta function where its logarithm belongs (or the reverse); "
                 "use scipy.special.betaln for log B.",
                 lambda h, t, a0, b0: special.beta(a0 + h, b0 + t) - special.beta(a0, b0)),
        Mistake("the arguments are in the wrong order: the signature is "
                 "fn(heads, tails, a0, b0), as in vi_lib.models.coin_log_evidence; you used "
                 "heads and tails as the prior parameters and a0, b0 as the counts.",
                 lambda h, t, a0, b0: ref(h, t, a0, b0) + special.betaln(a0, b0) - special.betaln(h, t)),
    ]
    run_check("check_coin_log_evidence", fn, _coin_cases(102), ref, mistakes,
           arg_names=_COIN_ARGS)


_ref_coin_laplace = functools.partial(coin_laplace, scale="probability")


@student_check
def check_coin_laplace(fn):
    """Check ``fn(heads, tails, a0, b0) -> (mode, sigma)``: Laplace approximation on the probability scale.

    Inputs satisfy a0 + heads > 1 and b0 + tails > 1, so the posterior mode is inside (0, 1);
    ``sigma`` is the standard deviation. Order and outputs as in
    :func:`vi_lib.models.coin_laplace` with ``scale="probability"``.
    """
    def beta_mean(h, t, a0, b0):
        return (a0 + h) / (a0 + b0 + h + t)

    def beta_sd(h, t, a0, b0):
        return stats.beta(a0 + h, b0 + t).std()

    mistakes = [
        Mistake("the centre is the posterior *mean*; the Laplace approximation is centred at "
                 "the *mode* (the maximum of the log joint), (a0 + heads - 1) / (a0 + b0 + n - 2).",
                 lambda h, t, a0, b0: (beta_mean(h, t, a0, b0), None)),
        Mistake("you returned the variance 1 / curvature; the task asks for the standard "
                 "deviation, its square root.",
                 lambda h, t, a0, b0: (None, _ref_coin_laplace(h, t, a0, b0)[1] ** 2)),
        Mistake("you returned the curvature (the precision) itself; the standard deviation "
                 "is 1 / sqrt(curvature).",
                 lambda h, t, a0, b0: (None, _ref_coin_laplace(h, t, a0, b0)[1] ** -2)),
        Mistake("you returned the exact posterior standard deviation of the Beta; the Laplace "
                 "sigma comes from the curvature of the log joint at the mode.",
                 lambda h, t, a0, b0: (None, beta_sd(h, t, a0, b0))),
        Mistake("the -1 of the exponents is missing: the log joint is "
                 "(a0 + heads - 1) log theta + (b0 + tails - 1) log(1 - theta).",
                 lambda h, t, a0, b0: _ref_coin_laplace(h, t, a0 + 1, b0 + 1)),
    ]
    run_check("check_coin_laplace", fn, _coin_cases(103, min_post=1.5), _ref_coin_laplace, mistakes,
           arg_names=_COIN_ARGS, out_names=["mode", "sigma"])


