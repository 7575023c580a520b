"""Checks for exercises 07: Bayesian linear regression, the VAE's KL term, the coin on the logit."""

from __future__ import annotations

import numpy as np
from scipy import special

from ..divergences import kl_mvn_diag
from ..elbo import elbo_gaussian_quadrature, entropy_normal
from ..models.coin import coin_log_joint_logit
from ..models.linear_regression import blr_posterior, blr_precision
from ._core import Mistake, run_check, seeded_rng, student_check

__all__ = ["check_blr_posterior", "check_mean_field_blr_variances", "check_vae_kl", "check_elbo_logit_normal"]


def _blr_cases(seed, with_y=True):
    rng = seeded_rng(seed)
    cases = []
    for n, d, alpha, beta in [(1, 1, 1.0, 1.0), (5, 2, 2.0, 25.0), (20, 2, 0.5, 4.0),
                              (30, 3, 1.0, 100.0), (6, 4, 10.0, 0.5), (50, 5, 0.1, 9.0)]:
        x = rng.normal(size=(n, d))
        y = x @ rng.normal(size=d) + rng.normal(0, 1 / np.sqrt(beta), n)
        cases.append((x, y, alpha, beta) if with_y else (x, alpha, beta))
    return cases


def _sds(alpha, beta):
    """(noise_sd, prior_sd) of vi_lib.models.linear_regression from the precisions beta, alpha."""
    return 1.0 / np.sqrt(beta), 1.0 / np.sqrt(alpha)


def _ref_blr_posterior(X, y, alpha, beta):
    return blr_posterior(X, y, *_sds(alpha, beta))


@student_check
def check_blr_posterior(fn):
    """Check ``fn(X, y, alpha, beta) -> (mean, cov)``: exact posterior of Bayesian linear regression.

    Prior w ~ N(0, alpha⁻¹ I), likelihood y ~ N(X w, beta⁻¹ I) (alpha, beta are precisions).
    """
    ref = _ref_blr_posterior
    mistakes = [
        Mistake("beta is the noise *precision*, not its variance: the posterior precision is "
                 "alpha I + beta XᵀX and the mean beta S Xᵀ y.",
                 lambda X, y, a, b: ref(X, y, a, 1.0 / b)),
        Mistake("alpha is the prior *precision*, not its variance: the posterior precision is "
                 "alpha I + beta XᵀX.",
                 lambda X, y, a, b: ref(X, y, 1.0 / a, b)),
        Mistake("alpha and beta are swapped: alpha is the prior precision, beta the noise precision.",
                 lambda X, y, a, b: ref(X, y, b, a)),
        Mistake("mean: the factor beta is missing, mean = beta S Xᵀ y.",
                 lambda X, y, a, b: (ref(X, y, a, b)[1] @ X.T @ y, None)),
        Mistake("the prior term alpha I is missing from the posterior precision (that is least "
                 "squares, not Bayes).",
                 lambda X, y, a, b: (np.linalg.solve(X.T @ X, X.T @ y), np.linalg.inv(b * X.T @ X))),
        Mistake("cov: you returned the posterior precision matrix A = alpha I + beta XᵀX; the "
                 "covariance is its inverse.",
                 lambda X, y, a, b: (None, blr_precision(X, *_sds(a, b)))),
    ]
    run_check("check_blr_posterior", fn, _blr_cases(701), ref, mistakes,
           arg_names=["X", "y", "alpha", "beta"], out_names=["mean", "cov"])


def _ref_mf_blr_variances(X, alpha, beta):
    return 1.0 / np.diag(blr_precision(X, *_sds(alpha, beta)))


@student_check
def check_mean_field_blr_variances(fn):
    """Check ``fn(X, alpha, beta) -> var``: variances of the mean-field KL(q ‖ p) fit, 1 / A_ii."""
    mistakes = [
        Mistake("you returned the exact marginal variances diag(A⁻¹) (what KL(p ‖ q) would give); "
                 "mean-field KL(q ‖ p) gives 1 / A_ii, with A the posterior precision.",
                 lambda X, a, b: np.diag(np.linalg.inv(a * np.eye(X.shape[1]) + b * X.T @ X))),
        Mistake("you returned the precisions A_ii; the variances are their reciprocals.",
                 lambda X, a, b: np.diag(a * np.eye(X.shape[1]) + b * X.T @ X)),
        Mistake("you returned standard deviations; the task asks for variances.",
                 lambda X, a, b: np.sqrt(_ref_mf_blr_variances(X, a, b))),
        Mistake("beta is the noise precision, not its variance.",
                 lambda X, a, b: _ref_mf_blr_variances(X, a, 1.0 / b)),
    ]
    run_check("check_mean_field_blr_variances", fn, _blr_cases(702, with_y=False), _ref_mf_blr_variances,
           mistakes, arg_names=["X", "alpha", "beta"], shape_hint=" (one variance per weight)")


def _ref_vae_kl(mu, log_var):
    return kl_mvn_diag(mu, np.exp(0.5 * log_var), np.zeros_like(mu), np.ones_like(mu))


@student_check
def check_vae_kl(fn):
    """Check ``fn(mu, log_var) -> kl``: per-row KL(N(mu_i, diag exp(log_var_i)) ‖ N(0, I)).

    ``mu`` and ``log_var`` have shape (n, d); the result has shape (n,).
    """
    rng = seeded_rng(703)
    cases = [(np.zeros((1, 1)), np.zeros((1, 1))), (np.zeros((3, 2)), np.zeros((3, 2))),
             (np.array([[1.0, -1.0]]), np.array([[0.5, -0.5]]))]
    for n, d in [(4, 2), (2, 5), (8, 3), (16, 8), (5, 1), (3, 4)]:
        cases.append((rng.normal(0, 1.2, (n, d)), rng.normal(0, 0.8, (n, d))))
    ref = _ref_vae_kl

    def seed003(mu, lv, const):
        return 0.5 * (np.exp(np.sum(lv, 1)) + np.sum(mu**2, 1) - const - np.sum(lv, 1))

    mistakes = [
        Mistake("product of variances |Σ| where the trace tr(Σ) belongs, and -1/2 where -d/2 "
                 "belongs: the error of seed 003. E[zᵀz] = tr(Σ) + μᵀμ.",
                 lambda mu, lv: seed003(mu, lv, 1.0)),
        Mistake("product of variances |Σ| (a determinant) where the trace tr(Σ) belongs: "
                 "E[zᵀz] = tr(Σ) + μᵀμ.",
                 lambda mu, lv: seed003(mu, lv, mu.shape[1])),
        Mistake("the constant is -1/2 but it must be -d/2 (the 1 inside the sum counts once "
                 "per latent dimension).",
                 lambda mu, lv: ref(mu, lv) + 0.5 * (mu.shape[1] - 1)),
        Mistake("you treated log_var as log sigma: the variance is exp(log_var), not exp(2·log_var).",
                 lambda mu, lv: ref(mu, 2 * lv)),
        Mistake("sign error: the KL is -½ Σ (1 + log_var - mu² - exp(log_var)), never negative.",
                 lambda mu, lv: -ref(mu, lv)),
        Mistake("wrong axis: you summed over the batch (axis 0); sum over the latent "
                 "dimensions (axis 1) to get one KL per row.",
                 lambda mu, lv: -0.5 * np.sum(1.0 + lv - mu**2 - np.exp(lv), axis=0)),
        Mistake("wrong shape: you summed over the whole batch; return one KL per row, shape (n,).",
                 lambda mu, lv: np.sum(ref(mu, lv))),
        Mistake("wrong shape: you returned the (n, d) per-dimension terms; sum over axis 1.",
                 lambda mu, lv: -0.5 * (1.0 + lv - mu**2 - np.exp(lv))),
    ]
    run_check("check_vae_kl", fn, cases, ref, mistakes, arg_names=["mu", "log_var"],
           shape_hint=" (one KL per row of mu)", nonnegative=True)


def _ref_elbo_logit_normal(mu_q, sigma_q, heads, tails, a0, b0, jacobian=True):
    """The library's quadrature ELBO; ``jacobian=False`` drops log |dtheta/deta| (a mistake)."""
    def log_joint(eta):
        value = coin_log_joint_logit(eta, heads, tails, a0, b0)
        # log theta + log(1 - theta) = -log(1 + e^-eta) - log(1 + e^eta)
        return value if jacobian else value + np.logaddexp(0.0, -eta) + np.logaddexp(0.0, eta)
    return float(elbo_gaussian_quadrature(log_joint, mu_q, sigma_q))  # 64 nodes


def _logit_elbo_parts(mu_q, sigma_q, heads, tails, a0, b0):
    """(E_q[log p(X, eta)], H[q])."""
    entropy = float(entropy_normal(sigma_q))
    return _ref_elbo_logit_normal(mu_q, sigma_q, heads, tails, a0, b0) - entropy, entropy


@student_check
def check_elbo_logit_normal(fn):
    """Check ``fn(mu_q, sigma_q, heads, tails, a0, b0) -> ELBO`` of q(eta) = N(mu_q, sigma_q²) on the logit.

    The coin toss with prior Beta(a0, b0) on theta = sigmoid(eta); the log joint in eta
    includes the Jacobian log theta(1 - theta) (:func:`vi_lib.models.coin_log_joint_logit`,
    same order of the data arguments). The result is in nats.
    """
    rng = seeded_rng(704)
    cases = [(0.0, 1.0, 0, 0, 1.0, 1.0), (0.8, 0.6, 7, 3, 1.0, 1.0), (0.0, 0.1, 5, 5, 2.0, 2.0),
             (-1.5, 0.3, 4, 12, 2.0, 5.0), (2.0, 1.5, 20, 2, 0.5, 0.5)]
    for _ in range(15):
        mu_q, sigma_q = float(rng.normal(0, 1.5)), float(rng.uniform(0.1, 2.0))
        a0, b0 = float(rng.uniform(0.5, 5)), float(rng.uniform(0.5, 5))
        cases.append((mu_q, sigma_q, int(rng.integers(0, 30)), int(rng.integers(0, 30)), a0, b0))
    parts = _logit_elbo_parts
    ref = _ref_elbo_logit_normal
    mistakes = [
        Mistake("the Jacobian is missing: in the logit eta the log joint gains "
                 "log |dtheta/deta| = log theta + log(1 - theta), so the exponents become "
                 "a0 + heads and b0 + tails.",
                 lambda *args: ref(*args, jacobian=False)),
        Mistake("the entropy of q is missing: ELBO = E_q[log p(X, eta)] + H[q], with "
                 "H[N(mu_q, sigma_q²)] = ½ log(2 pi e sigma_q²).",
                 lambda *args: parts(*args)[0]),
        Mistake("sign error on the entropy: ELBO = E_q[log p(X, eta)] + H[q].",
                 lambda *args: parts(*args)[0] - parts(*args)[1]),
        Mistake("the entropy of N(mu_q, sigma_q²) is ½ log(2 pi e sigma_q²) with the variance "
                 "sigma_q², not the standard deviation sigma_q.",
                 lambda m, s, *rest: parts(m, s, *rest)[0] + 0.5 * np.log(2 * np.pi * np.e * s)),
        Mistake("the entropy of N(mu_q, sigma_q²) is ½ log(2 pi e sigma_q²): the e (a +½) is "
                 "missing.",
                 lambda *args: sum(parts(*args)) - 0.5),
        Mistake("the prior's normalising constant -log B(a0, b0) is missing from the log joint.",
                 lambda m, s, h, t, a0, b0: ref(m, s, h, t, a0, b0) + special.betaln(a0, b0)),
        Mistake("heads and tails are swapped: heads go with log sigmoid(eta) = log theta.",
                 lambda m, s, h, t, a0, b0: ref(m, s, t, h, a0, b0)),
        Mistake("the arguments are in the wrong order: the signature is "
                 "fn(mu_q, sigma_q, heads, tails, a0, b0), the data in the order of "
                 "vi_lib.models.coin_log_joint_logit; you used heads and tails as the prior "
                 "parameters and a0, b0 as the counts.",
                 lambda m, s, h, t, a0, b0: (ref(m, s, h, t, a0, b0) + special.betaln(a0, b0)
                                             - special.betaln(h, t))),
    ]
    run_check("check_elbo_logit_normal", fn, cases, ref, mistakes,
           arg_names=["mu_q", "sigma_q", "heads", "tails", "a0", "b0"], rtol=1e-6, atol=1e-8)
