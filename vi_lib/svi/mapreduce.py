"""Batch CAVI for the mixture as a map-reduce: additive statistics of chunks of rows
(see :mod:`vi_lib.svi`)."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from .gmm import _global_factors, _lam_from_sums


class GMMSums(NamedTuple):
    """Additive statistics of the local step on a set of rows (sums over those rows).

    Attributes
    ----------
    nk : ndarray, shape (K,)
        Σ_n r_nk.
    sum_x : ndarray, shape (K, d)
        Σ_n r_nk x_n.
    sum_xx : ndarray, shape (K, d, d)
        Σ_n r_nk x_n x_n^T.
    log_norm : float
        Σ_n log Σ_k ρ_nk (nats): the rows' part of the ELBO with q(z_n) optimal.
    n : int
        Number of rows.
    """

    nk: np.ndarray
    sum_x: np.ndarray
    sum_xx: np.ndarray
    log_norm: float
    n: int


def gmm_sums(x, alpha, beta, m, W, nu):
    """The *map* of one batch-CAVI iteration: local step and additive statistics of rows ``x``.

    Parameters
    ----------
    x : array_like, shape (n, d)
        Any subset of the data (a chunk on one machine, a minibatch).
    alpha, beta, m, W, nu : array_like
        Global factors, shapes (K,), (K,), (K, d), (K, d, d), (K,).

    Returns
    -------
    GMMSums
        Sums over the rows, so that the statistics of a union of chunks are the sums of the
        chunks' statistics (the *reduce* is ``+``, see :func:`add_sums`).

    Notes
    -----
    The responsibilities are those of :func:`vi_lib.cavi.gmm_local_update` (Bishop 2006,
    eq. 10.49); the statistics are the expected sufficient statistics of the
    Normal–Wishart and Dirichlet complete conditionals (Hoffman et al. 2013, eq. 16).
    """
    from ..cavi import gmm_local_update

    x = np.asarray(x, dtype=np.float64)
    local = gmm_local_update(x, alpha, beta, m, W, nu)
    r = local.resp
    return GMMSums(r.sum(axis=0), r.T @ x, np.einsum("nk,nd,ne->kde", r, x, x),
                   float(np.sum(local.log_norm)), x.shape[0])


def add_sums(a, b):
    """Sum of two :class:`GMMSums` (the reduce step; associative and commutative)."""
    return GMMSums(a.nk + b.nk, a.sum_x + b.sum_x, a.sum_xx + b.sum_xx,
                   a.log_norm + b.log_norm, a.n + b.n)


def gmm_global_from_sums(sums, *, alpha0, beta0, m0, nu0, W0, scale=1.0):
    """Global factors whose natural parameters are the prior's plus ``scale`` × the sums.

    With the sums of all N rows and ``scale = 1`` this is the global CAVI step (Bishop 2006,
    eqs 10.58–10.63, written as natural parameters); with a minibatch of B rows and
    ``scale = N / B`` it is SVI's intermediate λ̂ (Hoffman et al. 2013, eq. 25).

    Returns
    -------
    vi_lib.cavi.GMMGlobal
    """
    from ..cavi import gmm as _gmm

    d = sums.sum_x.shape[1]
    prior = _gmm._check_prior(d, alpha0, beta0, m0, nu0, W0)
    lam = _lam_from_sums(sums.nk, sums.sum_x, sums.sum_xx, scale, prior)
    return _global_factors(lam)


def synthetic_gmm_chunk(index, chunk_size, *, weights, means, covs, seed):
    """Rows ``index * chunk_size`` to ``(index + 1) * chunk_size`` of a synthetic mixture data set.

    Each chunk has its own generator, ``default_rng([seed, index])``, so any chunk can be
    made on any machine, in any order, and the data set is the same however it is cut.

    Parameters
    ----------
    index : int
        Chunk number (>= 0).
    chunk_size : int
    weights : array_like, shape (K,)
        Mixture weights (non-negative, summing to 1).
    means : array_like, shape (K, d)
    covs : array_like, shape (K, d, d)
        Covariances (symmetric positive definite).
    seed : int

    Returns
    -------
    ndarray, shape (chunk_size, d)
    """
    rng = np.random.default_rng([int(seed), int(index)])
    weights = np.asarray(weights, dtype=np.float64)
    means = np.asarray(means, dtype=np.float64)
    chol = np.linalg.cholesky(np.asarray(covs, dtype=np.float64))
    z = rng.choice(weights.size, size=chunk_size, p=weights)
    eps = rng.standard_normal((chunk_size, means.shape[1]))
    return means[z] + np.einsum("nde,ne->nd", chol[z], eps)
