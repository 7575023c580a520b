"""Stochastic VI with natural gradients for the Bayesian Gaussian mixture
(Hoffman, Blei, Wang & Paisley 2013, Algorithm 1; see :mod:`vi_lib.svi`)."""

from __future__ import annotations

import numbers
from typing import NamedTuple

import numpy as np

from ._common import _check_int, _data_shape, _read_rows, minibatch_indices, step_sizes


class SVIGMM(NamedTuple):
    """Result of :func:`svi_gmm`: the global factors (fields as :func:`vi_lib.cavi.cavi_gmm`).

    Attributes
    ----------
    alpha, beta, m, W, nu : ndarray
        Global factors, shapes (K,), (K,), (K, d), (K, d, d), (K,).
    resp : None
        No responsibilities are kept for the N data points (that would take O(N) memory);
        :func:`vi_lib.cavi.gmm_local_update` computes them for any rows on demand.
    elbo : ndarray, shape (num_steps,)
        Minibatch ELBO estimate at each step, nats for the whole data set:
        (N / B) Σ_{n ∈ batch} log Σ_k ρ_nk − KL(global factors ‖ prior), unbiased for the ELBO
        of the global factors the step started from (local factors at their optimum).
    rho : ndarray, shape (num_steps,)
        The step sizes used.
    batch_size : int
    trace : list of (int, GMMGlobal) or None
        With ``trace_every``: (steps taken, global factors) along the run.
    """

    alpha: np.ndarray
    beta: np.ndarray
    m: np.ndarray
    W: np.ndarray
    nu: np.ndarray
    resp: None
    elbo: np.ndarray
    rho: np.ndarray
    batch_size: int
    trace: list | None = None


def svi_gmm_init(x, n_components, *, n_data, alpha0, beta0, m0, nu0, W0, init="kmeans++",
                 seed=0):
    """Initial global factors for :func:`svi_gmm` from one minibatch ``x``.

    Parameters
    ----------
    x : array_like, shape (B, d)
        The first minibatch.
    n_components : int
    n_data : int
        N, the size of the full data set (the statistics are scaled by N / B).
    alpha0, beta0, m0, nu0, W0
        The prior, as in :func:`vi_lib.cavi.gmm_global_update`.
    init : {"kmeans++", "random"}
        "kmeans++": centres chosen by k-means++ seeding (Arthur & Vassilvitskii 2007;
        :func:`sklearn.cluster.kmeans_plusplus`) and each row assigned to its nearest
        centre. "random": responsibilities drawn uniformly and normalised (as
        :func:`vi_lib.cavi.cavi_gmm` does), which leaves every component close to the
        average of the batch.
    seed : int

    Returns
    -------
    GMMGlobal
        The global CAVI step (:func:`vi_lib.cavi.gmm_global_update`) from these
        responsibilities, with N_k scaled by N / B.
    """
    from sklearn.cluster import kmeans_plusplus

    from ..cavi import gmm_global_update, gmm_suff_stats

    x = np.asarray(x, dtype=np.float64)
    b, k = x.shape[0], int(n_components)
    if k > b:
        raise ValueError(f"n_components ({k}) must be <= batch_size ({b})")
    if init == "kmeans++":
        centres, _ = kmeans_plusplus(x, k, random_state=seed)
        d2 = np.sum((x[:, None, :] - centres[None, :, :]) ** 2, axis=-1)
        resp = np.zeros((b, k))
        resp[np.arange(b), np.argmin(d2, axis=1)] = 1.0
    elif init == "random":
        resp = np.random.default_rng(seed).uniform(size=(b, k))
        resp /= resp.sum(axis=1, keepdims=True)
    else:
        raise ValueError(f"init must be 'kmeans++', 'random' or global factors, got {init!r}")
    stats = gmm_suff_stats(x, resp)
    return gmm_global_update(stats.nk * (n_data / b), stats.xbar, stats.S, alpha0=alpha0,
                             beta0=beta0, m0=m0, nu0=nu0, W0=W0)


def svi_gmm(data, n_components, *, batch_size, num_steps, alpha0, beta0, m0, nu0, W0,
            tau=1.0, kappa=0.7, seed=0, init=None, trace_every=None):
    """Stochastic VI for the Bayesian Gaussian mixture (Hoffman et al. 2013, Algorithm 1).

    The model and variational family are those of :func:`vi_lib.cavi.cavi_gmm` (Bishop 2006,
    §10.2). Each step t reads a minibatch of B rows, sets their local factors q(z_n) to
    their optimum (:func:`vi_lib.cavi.gmm_local_update`), forms the intermediate global
    factors λ̂ -- the CAVI update as if the batch were replicated N / B times -- and moves the
    natural parameters of the global factors a step ρ_t = (t + tau)^(−κ) towards them:
    λ ← (1 − ρ_t) λ + ρ_t λ̂.

    Parameters
    ----------
    data : array-like, shape (N, d)
        Anything with ``.shape`` and ``data[index_array]`` (NumPy array, ``np.memmap``).
        Only minibatches are read.
    n_components : int
        K >= 1.
    batch_size : int
        B in [1, N].
    num_steps : int
        Number of SVI steps (>= 1); the data points processed are num_steps × B.
    alpha0, beta0, m0, nu0, W0
        The prior, as in :func:`vi_lib.cavi.cavi_gmm`.
    tau : float
        Delay tau >= 0 of the step-size schedule.
    kappa : float
        Forgetting rate κ in (0.5, 1].
    seed : int
        Seeds the minibatch indices and the initialisation (``numpy.random.default_rng``).
    init : None, "kmeans++", "random" or global factors
        Start: None or "kmeans++" (default) seeds the factors from a first minibatch with
        k-means++ centres; "random" from random responsibilities on that batch
        (:func:`svi_gmm_init`); or any object with fields ``alpha, beta, m, W, nu``.
    trace_every : int, optional
        Also keep the global factors before step 1 and after every ``trace_every`` steps
        (``result.trace``, a list of ``(step, GMMGlobal)``), to evaluate the full-data ELBO
        along the run. Memory ~ num_steps / trace_every × K d² floats.

    Returns
    -------
    SVIGMM
        ``alpha, beta, m, W, nu`` (global factors), ``resp=None``, ``elbo`` (minibatch
        estimates, nats), ``rho``, ``batch_size``. Evaluate the full-data ELBO with
        :func:`vi_lib.cavi.elbo_gmm`.

    Raises
    ------
    ValueError
        For κ outside (0.5, 1], tau < 0, ``batch_size`` outside [1, N], K > B, an invalid
        prior, NaN in a minibatch, or a non-finite ELBO estimate (the step is named).

    Notes
    -----
    The global factors are in the exponential family with natural parameters λ
    (:func:`vi_lib.cavi.gmm_natural_params`). The natural gradient of the ELBO with
    respect to λ is E_φ[η(x, z)] − λ, the expected natural parameter of the complete
    conditional minus the current one (Hoffman et al. 2013, eq. 24); with a minibatch
    it is estimated without bias by λ̂ − λ, λ̂ = prior + (N/B) Σ_{n ∈ batch} E[t(x_n, z_n)]
    (eq. 25). A step of size ρ_t along it is the convex combination above (eq. 26), which
    stays inside the set of valid natural parameters. With ρ_t satisfying the
    Robbins–Monro conditions the iterates converge to a local optimum of the ELBO.
    """
    from ..cavi import gmm as _gmm

    n_data, d = _data_shape(data)
    batch_size = _check_int("batch_size", batch_size, 1, n_data)
    num_steps = _check_int("num_steps", num_steps)
    rho = step_sizes(num_steps, tau=tau, kappa=kappa)
    if isinstance(n_components, bool) or not isinstance(n_components, numbers.Integral) \
            or n_components < 1:
        raise ValueError(f"n_components must be an integer >= 1, got {n_components!r}")
    if n_components > batch_size:
        raise ValueError(f"n_components ({n_components}) must be <= batch_size ({batch_size})")
    prior = _gmm._check_prior(d, alpha0, beta0, m0, nu0, W0)
    rng = np.random.default_rng(seed)
    if init is None or isinstance(init, str):
        x0 = _read_rows(data, minibatch_indices(rng, n_data, batch_size), d)
        glob = svi_gmm_init(x0, n_components, n_data=n_data, init=init or "kmeans++",
                            seed=int(rng.integers(2**31)), alpha0=alpha0, beta0=beta0,
                            m0=m0, nu0=nu0, W0=W0)
    else:
        glob = init
    alpha, beta, m, W, _, nu = _gmm._check_global(*(getattr(glob, f) for f in
                                                    ("alpha", "beta", "m", "W", "nu")), d=d)
    if alpha.size != n_components:
        raise ValueError(f"init has {alpha.size} components, expected {n_components}")
    lam = _natural(alpha, beta, m, np.linalg.inv(W), nu)
    scale = n_data / batch_size
    elbo = np.empty(num_steps)
    if trace_every is not None:
        trace_every = _check_int("trace_every", trace_every)
    trace = [] if trace_every else None
    for t in range(num_steps):
        if trace is not None and t % trace_every == 0:
            trace.append((t, _global_factors(lam)))
        x = _read_rows(data, minibatch_indices(rng, n_data, batch_size), d)
        alpha, beta, m, F, nu = _from_natural(lam)
        # local step: optimal q(z_n) for the batch, and the minibatch ELBO estimate
        log_rho, e_logdet, logdet_W = _gmm._log_rho(x, alpha, beta, m, F, nu)
        resp, log_norm = _gmm._local(log_rho)
        elbo[t] = scale * np.sum(log_norm) - _gmm._kl_global(alpha, beta, m, F, nu, e_logdet,
                                                             logdet_W, prior)
        if not np.isfinite(elbo[t]):
            raise ValueError(f"the minibatch ELBO estimate is {elbo[t]} at step {t + 1}")
        # global step: blend the natural parameters with the intermediate ones
        lam_hat = _intermediate(x, resp, scale, prior)
        lam = tuple((1.0 - rho[t]) * a + rho[t] * b for a, b in zip(lam, lam_hat))
    glob = _global_factors(lam)
    if trace is not None and trace[-1][0] != num_steps:
        trace.append((num_steps, glob))
    return SVIGMM(*glob, resp=None, elbo=elbo, rho=rho, batch_size=batch_size, trace=trace)


# Natural coordinates used by svi_gmm: for q(π) the concentrations α, and for each
# q(μ_k, Λ_k) the tuple (β_k, β_k m_k, W_k^{-1} + β_k m_k m_k^T, ν_k). Each is an affine
# function of the natural parameters of vi_lib.cavi.gmm_natural_params (α - 1, β m, -β/2,
# -(W^{-1} + β m m^T)/2, (ν - d)/2), so a convex combination in one system is the same
# convex combination in the other; these avoid the factors of -1/2.
def _natural(alpha, beta, m, w_inv, nu):
    bm = beta[:, None] * m
    return (alpha, beta, bm, w_inv + bm[:, :, None] * m[:, None, :], nu)


def _from_natural(lam):
    """(alpha, beta, m, F, nu) with W = F F^T, F = C^{-T}, W^{-1} = C C^T (Cholesky)."""
    alpha, beta, bm, quad, nu = lam
    m = bm / beta[:, None]
    w_inv = quad - bm[:, :, None] * m[:, None, :]
    C = np.linalg.cholesky(0.5 * (w_inv + np.swapaxes(w_inv, 1, 2)))
    F = np.swapaxes(np.linalg.solve(C, np.broadcast_to(np.eye(m.shape[1]), C.shape)), 1, 2)
    return alpha, beta, m, F, nu


def _global_factors(lam):
    from ..cavi import GMMGlobal

    alpha, beta, m, F, nu = _from_natural(lam)
    W = F @ np.swapaxes(F, 1, 2)
    return GMMGlobal(alpha, beta, m, 0.5 * (W + np.swapaxes(W, 1, 2)), nu)


def _intermediate(x, resp, scale, prior):
    """λ̂: prior natural parameters + (N/B) × the batch's expected sufficient statistics.

    Σ_n r_nk, Σ_n r_nk x_n and Σ_n r_nk x_n x_n^T (Hoffman et al. 2013, eq. 25; it equals the
    CAVI update of Bishop 2006, eqs 10.58–10.63, with N_k scaled by N/B).
    """
    return _lam_from_sums(resp.sum(axis=0), resp.T @ x, np.einsum("nk,nd,ne->kde", resp, x, x),
                          scale, prior)


def _lam_from_sums(nk, sum_x, sum_xx, scale, prior):
    b0m0 = prior.beta0 * prior.m0
    return (prior.alpha0 + scale * nk,
            prior.beta0 + scale * nk,
            b0m0 + scale * sum_x,
            (prior.W0_inv + np.outer(b0m0, prior.m0)) + scale * sum_xx,
            prior.nu0 + scale * nk)
