r"""Tighter bounds on log p(x): the importance-weighted bound (IWAE) and the Rényi (VR) bounds.

Both are Monte Carlo estimates built from log importance weights
``log w = log p(x, z) − log q(z)``, ``z ~ q``, combined with log-sum-exp so that no weight is
ever exponentiated on its own (a log weight of −1000 or +1000 is an ordinary number here).

- :func:`iwae_bound` estimates :math:`\mathcal{L}_K = \mathbb{E}\big[\log \tfrac1K
  \sum_{k=1}^K w_k\big]` (Burda, Grosse & Salakhutdinov 2016), with
  :math:`\mathcal{L}_1 = \mathrm{ELBO} \le \mathcal{L}_K \le \mathcal{L}_{K+1} \le \log p(x)`
  (their Theorem 1).
- :func:`renyi_bound` estimates the variational Rényi bound of order α (Li & Turner
  2016), :math:`\mathcal{L}_\alpha = \frac{1}{1-\alpha}\log \mathbb{E}_q[w^{1-\alpha}]
  = \log p(x) - D_\alpha(q\,\|\,p(\cdot\mid x))` with :math:`D_\alpha` the Rényi divergence of
  order α (q on the left), from K particles per draw.
- :func:`iwae_from_log_weights` evaluates the K-particle estimator on a pool of log weights that
  you already have, averaged over disjoint blocks (for curves over K with common draws).

The callables are vectorised over a leading batch axis (NumPy or JAX):
``sample_q(num_samples, seed) -> (num_samples, dim)``, ``log_q(z) -> (n,)`` and
``log_joint(z) -> (n,)`` for ``z`` of shape ``(n, dim)``. A fitted flow from
:func:`vi_lib.flows.fit_flow` provides ``sample`` and ``log_prob`` in exactly this form; wrap a
per-point JAX log density with :func:`jax.vmap`. All values are in nats.
"""

from __future__ import annotations

import math
import numbers
from typing import NamedTuple

import numpy as np
from scipy.linalg import solve_triangular
from scipy.special import logsumexp

__all__ = ["BoundEstimate", "GaussianQ", "gaussian_q", "iwae_bound", "renyi_bound",
           "iwae_from_log_weights", "log_weights"]


class BoundEstimate(NamedTuple):
    """A Monte Carlo estimate of a bound on log p(x), in nats.

    Attributes
    ----------
    estimate : float
        Mean of the ``num_draws`` independent K-particle estimates.
    std_error : float
        Their sample standard deviation divided by sqrt(num_draws); ``nan`` when
        ``num_draws = 1``.
    per_draw : ndarray, shape (num_draws,)
        The independent K-particle estimates.
    num_particles : int
    num_draws : int
    """

    estimate: float
    std_error: float
    per_draw: np.ndarray
    num_particles: int
    num_draws: int


class GaussianQ(NamedTuple):
    """A Gaussian q with the interface of :class:`vi_lib.flows.FlowFit` (see :func:`gaussian_q`)."""

    mean: np.ndarray
    scale_tril: np.ndarray

    def sample(self, num_samples, seed):
        """``num_samples`` draws ``mean + L ε``, ε ~ N(0, I) from ``numpy.random.default_rng(seed)``;
        shape ``(num_samples, dim)``."""
        num_samples = _check_count("num_samples", num_samples)
        eps = np.random.default_rng(seed).standard_normal((num_samples, self.mean.size))
        return self.mean + eps @ self.scale_tril.T

    def log_prob(self, z):
        """log N(z; mean, L Lᵀ) in nats for ``z`` of shape ``(n, dim)`` -> ``(n,)``, via a
        triangular solve (no inverse)."""
        z = np.asarray(z, dtype=np.float64)
        d = self.mean.size
        if z.ndim != 2 or z.shape[1] != d:
            raise ValueError(f"z must have shape (n, dim) with dim = {d}, got shape {z.shape}")
        u = solve_triangular(self.scale_tril, (z - self.mean).T, lower=True)
        return (-0.5 * np.sum(u**2, axis=0) - np.sum(np.log(np.diag(self.scale_tril)))
                - 0.5 * d * math.log(2 * math.pi))


def gaussian_q(mean, scale_tril):
    """A Gaussian q = N(mean, L Lᵀ) with ``sample(num_samples, seed)`` and ``log_prob(z)``.

    Parameters
    ----------
    mean : array_like, shape (dim,)
    scale_tril : array_like, shape (dim, dim)
        Lower-triangular L with a positive diagonal (e.g. ``vi_lib.advi(...).scale_tril``).

    Returns
    -------
    GaussianQ

    Raises
    ------
    ValueError
        If the shapes disagree, L is not lower-triangular with a positive diagonal, or a value
        is not finite.
    """
    mean = np.atleast_1d(np.asarray(mean, dtype=np.float64))
    L = np.asarray(scale_tril, dtype=np.float64)
    d = mean.size
    if mean.ndim != 1 or L.shape != (d, d):
        raise ValueError(f"need mean of shape (dim,) and scale_tril of shape (dim, dim), got "
                         f"{mean.shape} and {L.shape}")
    if not (np.all(np.isfinite(mean)) and np.all(np.isfinite(L))):
        raise ValueError("mean and scale_tril must be finite")
    if np.any(np.triu(L, 1) != 0) or np.any(np.diag(L) <= 0):
        raise ValueError("scale_tril must be lower-triangular with a positive diagonal")
    return GaussianQ(mean, L)


def _check_count(name, value):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {type(value).__name__} {value!r}")
    if value < 1:
        raise ValueError(f"{name} must be >= 1, got {value}")
    return int(value)


def log_weights(log_joint, sample_q, log_q, num_samples, seed):
    """Log importance weights ``log p(x, z) − log q(z)`` of ``num_samples`` draws z ~ q.

    Parameters
    ----------
    log_joint, log_q : callable
        ``z`` of shape ``(n, dim)`` -> log densities of shape ``(n,)`` (nats).
    sample_q : callable
        ``(num_samples, seed) -> z`` of shape ``(num_samples, dim)``.
    num_samples : int
        Number of draws (>= 1).
    seed : int
        Passed to ``sample_q``.

    Returns
    -------
    ndarray, shape (num_samples,)
        float64 log weights.

    Raises
    ------
    ValueError
        If ``num_samples < 1``; ``sample_q`` does not return ``(num_samples, dim)``; a log
        density does not return ``(num_samples,)``; a log weight is NaN or +inf (−inf, a draw
        with p(x, z) = 0, is allowed).
    """
    num_samples = _check_count("num_samples", num_samples)
    for name, fn in (("log_joint", log_joint), ("sample_q", sample_q), ("log_q", log_q)):
        if not callable(fn):
            raise TypeError(f"{name} must be callable, got {type(fn).__name__}")
    z = sample_q(num_samples, seed)
    shape = np.shape(z)
    if len(shape) != 2 or shape[0] != num_samples:
        raise ValueError(
            f"sample_q(num_samples, seed) must return an array of shape (num_samples, dim) = "
            f"({num_samples}, dim), got shape {shape}")
    lw = []
    for name, fn in (("log_joint", log_joint), ("log_q", log_q)):
        v = np.asarray(fn(z), dtype=np.float64)
        if v.shape != (num_samples,):
            raise ValueError(
                f"{name}(z) must return shape (n,) = ({num_samples},) for z of shape {shape} "
                f"(one log density per row of z), got shape {v.shape}")
        lw.append(v)
    out = lw[0] - lw[1]
    bad = np.isnan(out) | (out == np.inf)
    if bad.any():
        i = int(np.argmax(bad))
        raise ValueError(
            f"log weight {out[i]} at draw {i}: log_joint = {lw[0][i]}, log_q = {lw[1][i]}; "
            "log_q must be finite wherever q draws")
    return out


def _summarise(per_draw, num_particles):
    per_draw = np.asarray(per_draw, dtype=np.float64)
    n = per_draw.size
    se = float(np.std(per_draw, ddof=1) / math.sqrt(n)) if n > 1 else float("nan")
    return BoundEstimate(float(np.mean(per_draw)), se, per_draw, num_particles, n)


def iwae_from_log_weights(log_w, num_particles):
    r"""The K-particle IWAE estimator on a pool of log weights, block-averaged.

    Parameters
    ----------
    log_w : array_like, shape (num_draws, M)
        Log importance weights (nats), M independent draws of q per row.
    num_particles : int
        K, a divisor of M.

    Returns
    -------
    ndarray, shape (num_draws,)
        For each row, the mean over its M / K disjoint blocks of
        :math:`\log \frac1K\sum_{k\in\text{block}} w_k` (log-sum-exp minus log K). Each value
        has expectation :math:`\mathcal{L}_K` (Burda et al. 2016); averaging the blocks
        only lowers the variance. Using the same pool for several K gives paired estimates.

    Raises
    ------
    ValueError
        If ``log_w`` is not 2-D, K < 1, or K does not divide M.
    """
    log_w = np.asarray(log_w, dtype=np.float64)
    if log_w.ndim != 2:
        raise ValueError(f"log_w must have shape (num_draws, M), got shape {log_w.shape}")
    k = _check_count("num_particles", num_particles)
    m = log_w.shape[1]
    if m % k:
        raise ValueError(f"num_particles = {k} must divide the pool size M = {m}")
    blocks = log_w.reshape(log_w.shape[0], m // k, k)
    return np.mean(logsumexp(blocks, axis=-1) - math.log(k), axis=-1)


def iwae_bound(log_joint, sample_q, log_q, num_particles, num_draws, seed):
    r"""Monte Carlo estimate of the importance-weighted bound :math:`\mathcal{L}_K`, in nats.

    Parameters
    ----------
    log_joint : callable
        ``z`` of shape ``(n, dim)`` -> ``log p(x, z)`` of shape ``(n,)``. An unnormalised
        posterior log density gives the bound on its log normaliser.
    sample_q : callable
        ``(num_samples, seed) -> z``, shape ``(num_samples, dim)``.
    log_q : callable
        ``z`` of shape ``(n, dim)`` -> ``log q(z)`` of shape ``(n,)`` (normalised).
    num_particles : int
        K >= 1, importance samples inside the log. K = 1 is the ELBO.
    num_draws : int
        Independent K-particle estimates averaged (>= 1; >= 2 for a standard error).
    seed : int
        Passed to ``sample_q`` (one call draws all ``num_draws * K`` samples).

    Returns
    -------
    BoundEstimate
        ``estimate`` (mean of the per-draw values), ``std_error``, ``per_draw``.

    Raises
    ------
    ValueError
        If ``num_particles < 1`` or ``num_draws < 1``, or for shapes as in
        :func:`log_weights`.
    TypeError
        If a count is not an integer or a callable is not callable.

    Notes
    -----
    Each draw computes :math:`\log\frac1K\sum_k w_k = \operatorname{logsumexp}_k(\log w_k)
    - \log K`, whose expectation :math:`\mathcal{L}_K` satisfies
    :math:`\mathrm{ELBO} = \mathcal{L}_1 \le \mathcal{L}_K \le \mathcal{L}_{K+1} \le \log p(x)`
    (Burda, Grosse & Salakhutdinov 2016, Theorem 1). The inequalities hold for the
    expectations; a single estimate can break them.
    """
    k = _check_count("num_particles", num_particles)
    n = _check_count("num_draws", num_draws)
    lw = log_weights(log_joint, sample_q, log_q, n * k, seed).reshape(n, k)
    return _summarise(logsumexp(lw, axis=1) - math.log(k), k)


def renyi_bound(alpha, log_joint, sample_q, log_q, num_particles, num_draws, seed):
    r"""Monte Carlo estimate of the variational Rényi bound :math:`\mathcal{L}_\alpha`, in nats.

    Parameters
    ----------
    alpha : float
        Rényi order, finite and >= 0. α = 1 is the ELBO (the limit, computed as the mean log
        weight), α = 0 gives :math:`\log p(x)` as K → ∞ (and equals :func:`iwae_bound`).
    log_joint, sample_q, log_q, num_particles, num_draws, seed
        As in :func:`iwae_bound`.

    Returns
    -------
    BoundEstimate

    Raises
    ------
    ValueError
        If α is negative or not finite (for α < 0, :math:`\mathcal{L}_\alpha \ge \log p(x)`
        is no longer a lower bound), ``num_particles < 1``, ``num_draws < 1``, or for shapes
        as in :func:`log_weights`.
    TypeError
        If α is not a real number.

    Notes
    -----
    Li & Turner (2016) define

    .. math::

        \mathcal{L}_\alpha = \frac{1}{1-\alpha}\log\mathbb{E}_q\Big[\Big(\frac{p(x,z)}{q(z)}
        \Big)^{1-\alpha}\Big] = \log p(x) - D_\alpha\big(q\,\|\,p(\cdot\mid x)\big),

    non-increasing in α because the Rényi divergence :math:`D_\alpha` is non-decreasing in
    its order (van Erven & Harremoës 2014, Theorem 3). Each draw computes the K-particle
    estimate :math:`\frac{1}{1-\alpha}\big(\operatorname{logsumexp}_k((1-\alpha)\log w_k)
    - \log K\big)`; for α < 1 its expectation lies below :math:`\mathcal{L}_\alpha` and rises
    to it as K grows (Jensen's inequality; Li & Turner 2016 discuss this bias). With K = 1 every α
    gives the ELBO's estimator, so the order only matters for K > 1.
    """
    if isinstance(alpha, bool) or not isinstance(alpha, numbers.Real):
        raise TypeError(f"alpha must be a real number, got {type(alpha).__name__} {alpha!r}")
    alpha = float(alpha)
    if not math.isfinite(alpha) or alpha < 0:
        raise ValueError(f"alpha must be finite and >= 0 (the Rényi order; alpha = 1 is the "
                         f"ELBO, alpha = 0 log p(x)), got {alpha}")
    k = _check_count("num_particles", num_particles)
    n = _check_count("num_draws", num_draws)
    lw = log_weights(log_joint, sample_q, log_q, n * k, seed).reshape(n, k)
    if alpha == 1.0:
        per_draw = np.mean(lw, axis=1)
    else:
        a = 1.0 - alpha
        per_draw = (logsumexp(a * lw, axis=1) - math.log(k)) / a
    return _summarise(per_draw, k)
