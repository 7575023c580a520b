"""Divergences between probability distributions, in nats.

Convention: the first distribution is the left side of ``‖``, so
``kl_normal(mu_q, sigma_q, mu_p, sigma_p)`` is KL(q ‖ p).
"""

from __future__ import annotations

import numpy as np
from scipy import stats

__all__ = ["kl_normal", "kl_mvn_diag", "kl_mvn", "kl_divergence", "kl_monte_carlo"]


def kl_normal(mu_q, sigma_q, mu_p, sigma_p):
    """KL(N(mu_q, sigma_q²) ‖ N(mu_p, sigma_p²)) in nats, elementwise.

    Placeholder implementation (textbook formula); see issue 3.
    """
    mu_q, sigma_q, mu_p, sigma_p = (np.asarray(a, dtype=float) for a in (mu_q, sigma_q, mu_p, sigma_p))
    r = (sigma_q / sigma_p) ** 2
    return 0.5 * (r + ((mu_q - mu_p) / sigma_p) ** 2 - 1.0 - np.log(r))


def kl_mvn_diag(mu_q, sigma_q, mu_p, sigma_p):
    """KL between diagonal Gaussians, summed over the last axis (nats)."""
    return np.sum(kl_normal(mu_q, sigma_q, mu_p, sigma_p), axis=-1)


def kl_mvn(mu_q, cov_q, mu_p, cov_p):
    """KL(N(mu_q, cov_q) ‖ N(mu_p, cov_p)) for full covariances (nats)."""
    mu_q, cov_q, mu_p, cov_p = (np.asarray(a, dtype=float) for a in (mu_q, cov_q, mu_p, cov_p))
    d = mu_q.shape[-1]
    lp = np.linalg.cholesky(cov_p)
    lq = np.linalg.cholesky(cov_q)
    m = np.linalg.solve(lp, lq)
    diff = np.linalg.solve(lp, (mu_p - mu_q)[..., None])[..., 0]
    logdet = 2 * (np.sum(np.log(np.diagonal(lp, axis1=-2, axis2=-1)), -1)
                  - np.sum(np.log(np.diagonal(lq, axis1=-2, axis2=-1)), -1))
    return 0.5 * (np.sum(m**2, axis=(-2, -1)) + np.sum(diff**2, -1) - d + logdet)


def kl_divergence(q, p):
    """KL(q ‖ p) for SciPy frozen normal / multivariate normal distributions."""
    if q.dist is stats.norm and p.dist is stats.norm:
        return kl_normal(q.mean(), q.std(), p.mean(), p.std())
    raise NotImplementedError(f"KL between {q.dist} and {p.dist} is not implemented")


def kl_monte_carlo(log_q, log_p, samples):
    """Monte Carlo estimate of KL(q ‖ p) and its standard error from samples of q."""
    w = np.asarray(log_q(samples)) - np.asarray(log_p(samples))
    n = w.shape[0]
    return w.mean(axis=0), w.std(axis=0, ddof=1) / np.sqrt(n)
