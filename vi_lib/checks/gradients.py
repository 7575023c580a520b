"""Checks for exercises 06: score-function and reparameterisation gradient estimators."""

from __future__ import annotations

import numpy as np
from scipy import special

from ._core import Fn, Mistake, run_check, seeded_rng, student_check

__all__ = ["check_score_function_grad", "check_reparam_grad"]


def _ref_score_grad(f_values, z, mu, sigma):
    score_mu = (z - mu) / sigma**2
    score_sigma = (z - mu) ** 2 / sigma**3 - 1.0 / sigma
    return float(np.mean(f_values * score_mu)), float(np.mean(f_values * score_sigma))


_TEST_FUNCTIONS = [
    (lambda z: z**2, lambda z: 2 * z, "z**2", "2*z"),
    (np.sin, np.cos, "sin(z)", "cos(z)"),
    (lambda z: np.log1p(np.exp(z)), lambda z: special.expit(z), "log(1 + exp(z))", "sigmoid(z)"),
    (lambda z: z**3 - z, lambda z: 3 * z**2 - 1, "z**3 - z", "3*z**2 - 1"),
]


def _gradient_specs(rng):
    """(mu, sigma, number of samples) for the gradient-estimator checks."""
    specs = [(0.0, 1.0, 1), (1.0, 0.5, 10), (-2.0, 2.0, 100), (0.5, 1.5, 1000), (3.0, 0.3, 50),
             (0.0, 1.0, 7), (-1.0, 0.8, 300), (2.0, 1.2, 20)]
    for n in [2, 5, 40, 200, 3, 64, 500, 13]:
        specs.append((float(rng.normal(0, 2)), float(rng.uniform(0.3, 2.0)), n))
    return specs


@student_check
def check_score_function_grad(fn):
    """Check ``fn(f_values, z, mu, sigma) -> (grad_mu, grad_sigma)``: score-function estimator.

    ``z`` are samples of N(mu, sigma²), ``f_values = f(z)``.
    """
    rng = seeded_rng(601)
    cases = []
    for (f, _, _, _), (mu, sigma, n) in zip(_TEST_FUNCTIONS * 5,
                                             _gradient_specs(rng)):
        z = mu + sigma * rng.standard_normal(n)
        cases.append((f(z), z, mu, sigma))
    ref = _ref_score_grad
    mistakes = [
        Mistake("grad_mu: the score of the mean is (z - mu) / sigma², with the variance; "
                 "you divided by sigma.",
                 lambda fv, z, mu, s: (float(np.mean(fv * (z - mu) / s)), None)),
        Mistake("grad_sigma: the term -1/sigma of the score d/dsigma log q is missing: "
                 "(z - mu)² / sigma³ - 1 / sigma.",
                 lambda fv, z, mu, s: (None, float(np.mean(fv * (z - mu) ** 2 / s**3)))),
        Mistake("grad_sigma: you differentiated with respect to the variance sigma², not the "
                 "standard deviation sigma.",
                 lambda fv, z, mu, s: (None, float(np.mean(fv * ((z - mu) ** 2 / (2 * s**4)
                                                                 - 1 / (2 * s**2)))))),
        Mistake("sign error: the score of the mean is +(z - mu) / sigma² and d/dsigma log q is "
                 "+(z - mu)²/sigma³ - 1/sigma.",
                 lambda fv, z, mu, s: tuple(-g for g in ref(fv, z, mu, s))),
        Mistake("f(z) is missing: the estimator averages f(z) times the score, not the score alone.",
                 lambda fv, z, mu, s: ref(np.ones_like(fv), z, mu, s)),
    ]
    run_check("check_score_function_grad", fn, cases, ref, mistakes,
           arg_names=["f_values", "z", "mu", "sigma"], out_names=["grad_mu", "grad_sigma"])


def _ref_reparam_grad(df, mu, sigma, eps):
    g = np.asarray(df(mu + sigma * eps))
    return float(np.mean(g)), float(np.mean(g * eps))


@student_check
def check_reparam_grad(fn):
    """Check ``fn(df, mu, sigma, eps) -> (grad_mu, grad_sigma)``: reparameterisation estimator.

    ``eps`` are standard normal draws, ``df`` is the derivative f' (vectorised).
    """
    rng = seeded_rng(602)
    cases = []
    for (_, df, _, dtext), (mu, sigma, n) in zip(_TEST_FUNCTIONS * 5,
                                                  _gradient_specs(rng)):
        cases.append((Fn(df, f"<df(z) = {dtext}>"), mu, sigma, rng.standard_normal(n)))
    ref = _ref_reparam_grad
    mistakes = [
        Mistake("grad_sigma: the chain rule gives f'(mu + sigma·eps) · eps; the factor eps is missing.",
                 lambda df, mu, s, e: (None, float(np.mean(df(mu + s * e))))),
        Mistake("grad_sigma: d z / d sigma is eps, not z = mu + sigma·eps.",
                 lambda df, mu, s, e: (None, float(np.mean(df(mu + s * e) * (mu + s * e))))),
        Mistake("you evaluated f' at eps; it must be evaluated at the sample z = mu + sigma·eps.",
                 lambda df, mu, s, e: (float(np.mean(df(e))), float(np.mean(df(e) * e)))),
        Mistake("grad_sigma: d z / d sigma is eps, not sigma.",
                 lambda df, mu, s, e: (None, float(np.mean(df(mu + s * e)) * s))),
        Mistake("the samples must be z = mu + sigma·eps with sigma the standard deviation; "
                 "you scaled eps by the variance sigma².",
                 lambda df, mu, s, e: ref(df, mu, s**2, e)),
    ]
    run_check("check_reparam_grad", fn, cases, ref, mistakes,
           arg_names=["df", "mu", "sigma", "eps"], out_names=["grad_mu", "grad_sigma"])


