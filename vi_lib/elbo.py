"""The evidence lower bound (ELBO) and its pieces, in nats.

For a joint density ``p(x, z)`` and any density ``q(z)``,

.. math::

    \\mathcal{L}(q) = \\mathbb{E}_q[\\log p(x, z) - \\log q(z)]
                   = \\mathbb{E}_q[\\log p(x, z)] + \\mathrm{H}[q]
                   = \\log p(x) - \\mathrm{KL}(q \\,\\|\\, p(z \\mid x))

(Bishop 2006, eq. 10.2–10.4; Blei, Kucukelbir & McAuliffe 2017, eq. 13).

This module holds

- entropies: :func:`entropy_categorical`, :func:`entropy_normal`, :func:`entropy_beta`;
- :func:`kl_beta`, the closed-form KL between two Beta distributions (the
  divergences module covers Gaussians only);
- :func:`elbo_beta_coin`, the exact ELBO of a Beta ``q`` on the coin toss;
- two generic estimators: :func:`elbo_monte_carlo` (any ``q`` that can be
  sampled, with a standard error) and :func:`elbo_gaussian_quadrature`
  (a 1-D Gaussian ``q``, Gauss–Hermite quadrature, deterministic).

All functions are pure, vectorised with NumPy broadcasting where the
arguments allow it, and raise :class:`ValueError` naming the argument on bad
input.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from scipy import special

__all__ = [
    "MonteCarloEstimate",
    "entropy_categorical",
    "entropy_normal",
    "entropy_beta",
    "kl_beta",
    "elbo_beta_coin",
    "elbo_monte_carlo",
    "elbo_gaussian_quadrature",
]


def _positive(name, x):
    x = np.asarray(x, dtype=float)
    if np.any(~np.isfinite(x)) or np.any(x <= 0):
        raise ValueError(f"{name} must be > 0, got {x!r}")
    return x


def _nonnegative(name, x):
    x = np.asarray(x, dtype=float)
    if np.any(~np.isfinite(x)) or np.any(x < 0):
        raise ValueError(f"{name} must be a finite count >= 0, got {x!r}")
    return x


class MonteCarloEstimate(NamedTuple):
    """A Monte Carlo estimate and its standard error (both in nats)."""

    estimate: float
    std_error: float


def entropy_categorical(probs, axis=-1):
    """Shannon entropy ``-sum_k p_k log p_k`` of a categorical distribution (nats).

    Parameters
    ----------
    probs : array_like, shape (..., K)
        Probabilities along ``axis``: non-negative, summing to one (to 1e-8).
    axis : int
        Axis holding the ``K`` categories.

    Returns
    -------
    numpy.ndarray, shape (...)
        Entropy; ``0 log 0`` is taken as 0. Lies in ``[0, log K]``, with
        ``log K`` exactly for the uniform distribution (Bishop 2006, §1.6,
        eq. 1.98; Cover & Thomas 2006, Thm 2.6.4).

    Raises
    ------
    ValueError
        If ``probs`` has negative entries or does not sum to one.

    Examples
    --------
    >>> round(float(entropy_categorical(np.full(30, 1 / 30))), 4)
    3.4012
    """
    probs = np.asarray(probs, dtype=float)
    if np.any(probs < 0) or np.any(~np.isfinite(probs)):
        raise ValueError("probs must be finite and >= 0")
    if np.any(np.abs(probs.sum(axis=axis) - 1.0) > 1e-8):
        raise ValueError("probs must sum to 1 along axis")
    return -np.sum(special.xlogy(probs, probs), axis=axis)


def entropy_normal(sigma):
    """Differential entropy of ``N(mu, sigma²)``: ``log(sigma) + (1 + log 2 pi) / 2`` (nats).

    Parameters
    ----------
    sigma : array_like
        Standard deviation (> 0).

    Returns
    -------
    numpy.ndarray
        Entropy, independent of the mean (Bishop 2006, eq. 1.110).

    Raises
    ------
    ValueError
        If ``sigma <= 0``.
    """
    sigma = _positive("sigma", sigma)
    return np.log(sigma) + 0.5 * (1.0 + np.log(2.0 * np.pi))


def entropy_beta(a, b):
    """Differential entropy of ``Beta(a, b)`` (nats).

    Parameters
    ----------
    a, b : array_like, broadcastable
        Beta parameters (> 0).

    Returns
    -------
    numpy.ndarray
        ``log B(a, b) - (a - 1) psi(a) - (b - 1) psi(b) + (a + b - 2) psi(a + b)``.

    Raises
    ------
    ValueError
        If ``a`` or ``b`` is not positive.

    Notes
    -----
    From ``H = -E[log q]`` with ``E[log theta] = psi(a) - psi(a + b)`` and
    ``E[log(1 - theta)] = psi(b) - psi(a + b)`` (the Beta is the two-category
    Dirichlet: Bishop 2006, eq. B.21–B.22). Can be negative for concentrated Betas.
    """
    a = _positive("a", a)
    b = _positive("b", b)
    return (special.betaln(a, b) - (a - 1.0) * special.digamma(a)
            - (b - 1.0) * special.digamma(b) + (a + b - 2.0) * special.digamma(a + b))


def kl_beta(a_q, b_q, a_p, b_p):
    """KL(Beta(a_q, b_q) ‖ Beta(a_p, b_p)) in nats, elementwise.

    Parameters
    ----------
    a_q, b_q : array_like
        Parameters of ``q`` (> 0), the left side of ``‖``.
    a_p, b_p : array_like
        Parameters of ``p`` (> 0).

    Returns
    -------
    numpy.ndarray
        The divergence, >= 0 and zero only when the parameters agree.

    Raises
    ------
    ValueError
        If a parameter is not positive.

    Notes
    -----
    .. math::

        \\mathrm{KL} = \\log\\frac{B(a_p, b_p)}{B(a_q, b_q)}
            + (a_q - a_p)\\psi(a_q) + (b_q - b_p)\\psi(b_q)
            + (a_p - a_q + b_p - b_q)\\psi(a_q + b_q),

    derived from ``E_q[log theta] = psi(a_q) - psi(a_q + b_q)`` and
    ``E_q[log(1 - theta)] = psi(b_q) - psi(a_q + b_q)`` (Bishop 2006, eq. B.21
    with K = 2). Not in
    :mod:`vi_lib.divergences`, which covers Gaussians.
    """
    a_q = _positive("a_q", a_q)
    b_q = _positive("b_q", b_q)
    a_p = _positive("a_p", a_p)
    b_p = _positive("b_p", b_p)
    return (special.betaln(a_p, b_p) - special.betaln(a_q, b_q)
            + (a_q - a_p) * special.digamma(a_q) + (b_q - b_p) * special.digamma(b_q)
            + (a_p - a_q + b_p - b_q) * special.digamma(a_q + b_q))


def elbo_beta_coin(a_q, b_q, heads, tails, a0=1.0, b0=1.0):
    """Exact ELBO of ``q = Beta(a_q, b_q)`` for the coin toss (nats).

    Parameters
    ----------
    a_q, b_q : array_like
        Parameters of the variational Beta (> 0).
    heads, tails : array_like
        Observed counts (>= 0); the likelihood is that of the ordered sequence,
        as in :func:`vi_lib.models.coin_log_evidence`.
    a0, b0 : array_like
        Parameters of the ``Beta(a0, b0)`` prior (> 0).

    Returns
    -------
    numpy.ndarray
        ``L(q) = E_q[log p(x, theta)] + H[q]``, broadcast over all arguments.

    Raises
    ------
    ValueError
        On non-positive Beta parameters or negative counts.

    Notes
    -----
    With ``a = a0 + h``, ``b = b0 + t`` and ``s = a_q + b_q``,

    .. math::

        \\mathcal{L}(q) = (a - 1)(\\psi(a_q) - \\psi(s)) + (b - 1)(\\psi(b_q) - \\psi(s))
            - \\log B(a_0, b_0) + \\mathrm{H}[\\mathrm{Beta}(a_q, b_q)].

    It is computed from these expectations, not as ``log p(x) - KL``, so the
    identity ``L(q) + KL(q ‖ p(theta | x)) = log p(x)`` is a real check
    (Bishop 2006, eq. 10.2–10.4). The maximum over ``(a_q, b_q)`` is the
    log evidence, attained at the exact posterior ``(a, b)``.
    """
    a_q = _positive("a_q", a_q)
    b_q = _positive("b_q", b_q)
    heads = _nonnegative("heads", heads)
    tails = _nonnegative("tails", tails)
    a0 = _positive("a0", a0)
    b0 = _positive("b0", b0)
    psi_s = special.digamma(a_q + b_q)
    e_log_theta = special.digamma(a_q) - psi_s
    e_log_1m_theta = special.digamma(b_q) - psi_s
    e_log_joint = ((a0 + heads - 1.0) * e_log_theta + (b0 + tails - 1.0) * e_log_1m_theta
                   - special.betaln(a0, b0))
    return e_log_joint + entropy_beta(a_q, b_q)


def elbo_monte_carlo(log_joint, sample_q, log_q, n, rng):
    """Monte Carlo estimate of the ELBO with its standard error.

    Parameters
    ----------
    log_joint : callable
        ``log_joint(z)`` -> array of shape ``(n,)``: log p(x, z) for a batch of
        samples ``z`` with leading axis ``n`` (may be unnormalised in ``z``,
        but then the result is shifted by the same constant).
    sample_q : callable
        ``sample_q(n, rng)`` -> ``n`` independent draws from ``q``, leading axis ``n``.
    log_q : callable
        ``log_q(z)`` -> array of shape ``(n,)``: log density of ``q``.
    n : int
        Number of samples (>= 2).
    rng : numpy.random.Generator
        Source of randomness (seed it for reproducibility).

    Returns
    -------
    MonteCarloEstimate
        ``(estimate, std_error)``: the sample mean of
        ``w = log p(x, z) - log q(z)`` over ``z ~ q``, and ``std(w) / sqrt(n)``.

    Raises
    ------
    ValueError
        If ``n < 2`` or ``rng`` is not a :class:`numpy.random.Generator`.

    Notes
    -----
    Unbiased for ``L(q) = E_q[log p(x, z) - log q(z)]`` (Blei et al. 2017,
    eq. 13; Ranganath, Gerrish & Blei 2014). When ``q`` is the exact
    posterior, ``w = log p(x)`` for every sample and the standard error is 0.
    """
    if int(n) != n or n < 2:
        raise ValueError(f"n must be an integer >= 2, got {n!r}")
    if not isinstance(rng, np.random.Generator):
        raise ValueError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}")
    z = sample_q(int(n), rng)
    w = np.asarray(log_joint(z), dtype=float) - np.asarray(log_q(z), dtype=float)
    if w.shape[0] != n:
        raise ValueError(f"log_joint and log_q must return {n} values, got shape {w.shape}")
    return MonteCarloEstimate(float(np.mean(w)), float(np.std(w, ddof=1) / np.sqrt(n)))


def elbo_gaussian_quadrature(log_joint, mu_q, sigma_q, n_nodes=64):
    """ELBO of a 1-D Gaussian ``q = N(mu_q, sigma_q²)`` by Gauss–Hermite quadrature.

    Parameters
    ----------
    log_joint : callable
        Vectorised ``log p(x, z)`` for real ``z`` (e.g. on an unconstrained
        scale such as a logit); must accept arrays of any shape.
    mu_q : array_like
        Mean of ``q``.
    sigma_q : array_like
        Standard deviation of ``q`` (> 0), broadcastable with ``mu_q``.
    n_nodes : int
        Number of quadrature nodes (probabilists' Hermite rule).

    Returns
    -------
    numpy.ndarray
        ``sum_i w_i log p(x, mu_q + sigma_q u_i) + H[N(mu_q, sigma_q²)]``, with
        shape ``broadcast(mu_q, sigma_q).shape``.

    Raises
    ------
    ValueError
        If ``sigma_q <= 0`` or ``n_nodes < 1``.

    Notes
    -----
    The rule with weight ``exp(-u²/2)`` (:func:`numpy.polynomial.hermite_e.hermegauss`)
    integrates polynomials of degree ``2 n_nodes - 1`` exactly; for a smooth
    log joint, 64 nodes give the expectation to near machine precision. The
    entropy term is exact (:func:`entropy_normal`). Deterministic, so it can
    be maximised with :func:`scipy.optimize.minimize`.
    """
    sigma_q = _positive("sigma_q", sigma_q)
    mu_q = np.asarray(mu_q, dtype=float)
    if int(n_nodes) != n_nodes or n_nodes < 1:
        raise ValueError(f"n_nodes must be an integer >= 1, got {n_nodes!r}")
    u, w = np.polynomial.hermite_e.hermegauss(int(n_nodes))
    w = w / np.sqrt(2.0 * np.pi)
    mu_q, sigma_q = np.broadcast_arrays(mu_q, sigma_q)
    z = mu_q[..., None] + sigma_q[..., None] * u
    e_log_joint = np.sum(w * np.asarray(log_joint(z), dtype=float), axis=-1)
    return e_log_joint + entropy_normal(sigma_q)
