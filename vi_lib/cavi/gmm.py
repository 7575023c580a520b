"""CAVI for the Bayesian Gaussian mixture (Bishop 2006, §10.2).

The model, in Bishop's notation (``W`` is the Wishart *scale* matrix, so ``E[Λ] = ν W``)::

    π                 ~ Dir(α0, ..., α0)                          (K weights)
    Λ_k               ~ W(W0, ν0)                                 (precision of component k)
    μ_k | Λ_k         ~ N(m0, (β0 Λ_k)^{-1})
    z_n | π           ~ Cat(π)                                    (local: one per data point)
    x_n | z_n = k     ~ N(μ_k, Λ_k^{-1})

and the mean-field family ``q(Z) q(π) Π_k q(μ_k, Λ_k)``, whose optimal factors are
``q(z_n) = Cat(r_n)``, ``q(π) = Dir(α)`` and ``q(μ_k, Λ_k) = N(m_k, (β_k Λ_k)^{-1}) W(W_k, ν_k)``
(Bishop 2006, eqs 10.48, 10.57, 10.59).

The algorithm is split into pure functions so that stochastic VI can reuse them:

- :func:`gmm_log_rho` and :func:`gmm_local_update` -- the *local* step, the
  responsibilities given the global factors (Bishop 2006, eqs 10.46–10.49, 10.64–10.66);
- :func:`gmm_suff_stats` -- the responsibility-weighted statistics ``N_k, x̄_k, S_k``
  (eqs 10.51–10.53);
- :func:`gmm_global_update` -- the *global* step from those statistics (eqs 10.58, 10.60–10.63);
- :func:`gmm_global_kl` -- ``KL(q(π) ‖ p(π)) + Σ_k KL(q(μ_k, Λ_k) ‖ p(μ_k, Λ_k))``;
- :func:`gmm_natural_params` and :func:`gmm_from_natural` -- the global factors as the
  natural parameters of their exponential families, and back (for the natural-gradient
  steps of stochastic VI, Hoffman et al. 2013, §2.4);
- :func:`elbo_gmm` and :func:`cavi_gmm`.

All numbers are float64; ELBOs are in nats.
"""

from __future__ import annotations

from numbers import Integral
from typing import NamedTuple

import numpy as np
from scipy import special

from ._common import _LOG_2PI, _check_iterations

__all__ = [
    "GMMGlobal",
    "GMMLocal",
    "GMMStats",
    "GMMNatural",
    "GMMCAVI",
    "gmm_log_rho",
    "gmm_local_update",
    "gmm_suff_stats",
    "gmm_global_update",
    "gmm_global_kl",
    "gmm_natural_params",
    "gmm_from_natural",
    "elbo_gmm",
    "cavi_gmm",
]

_LOG_2 = np.log(2.0)
_LOG_PI = np.log(np.pi)


# =========================================================================== results
class GMMGlobal(NamedTuple):
    """The global factors ``q(π) = Dir(alpha)``, ``q(μ_k, Λ_k) = N(m_k, (beta_k Λ_k)^{-1}) W(W_k, nu_k)``.

    Attributes
    ----------
    alpha : ndarray, shape (K,)
        Dirichlet concentrations.
    beta : ndarray, shape (K,)
        Precision scale of ``q(μ_k | Λ_k)``.
    m : ndarray, shape (K, d)
        Means of ``q(μ_k | Λ_k)``.
    W : ndarray, shape (K, d, d)
        Wishart scale matrices (``E_q[Λ_k] = nu_k W_k``).
    nu : ndarray, shape (K,)
        Wishart degrees of freedom.
    """

    alpha: np.ndarray
    beta: np.ndarray
    m: np.ndarray
    W: np.ndarray
    nu: np.ndarray


class GMMLocal(NamedTuple):
    """The local factors ``q(z_n) = Cat(resp[n])`` at their optimum.

    Attributes
    ----------
    resp : ndarray, shape (N, K)
        Responsibilities ``r_nk`` (rows sum to 1).
    log_norm : ndarray, shape (N,)
        ``log Σ_k ρ_nk`` (nats): the part of the ELBO contributed by data point ``n``
        once ``q(z_n)`` is optimal, so that ``ELBO = Σ_n log_norm[n] - gmm_global_kl(...)``.
    """

    resp: np.ndarray
    log_norm: np.ndarray


class GMMStats(NamedTuple):
    """Responsibility-weighted statistics (Bishop 2006, eqs 10.51–10.53).

    Attributes
    ----------
    nk : ndarray, shape (K,)
        ``N_k = Σ_n r_nk``.
    xbar : ndarray, shape (K, d)
        ``x̄_k = Σ_n r_nk x_n / N_k`` (0 where ``N_k = 0``).
    S : ndarray, shape (K, d, d)
        ``S_k = Σ_n r_nk (x_n - x̄_k)(x_n - x̄_k)^T / N_k`` (0 where ``N_k = 0``).
    """

    nk: np.ndarray
    xbar: np.ndarray
    S: np.ndarray


class GMMNatural(NamedTuple):
    """Natural parameters of the global factors, for the statistics listed below.

    ``q(π) = Dir(alpha)`` has statistic ``log π_k`` and natural parameter ``alpha - 1``;
    ``q(μ_k, Λ_k)`` (Normal–Wishart) has statistics ``(Λ_k μ_k, μ_k^T Λ_k μ_k, Λ_k, log|Λ_k|)``
    and natural parameters ``(β_k m_k, -β_k / 2, -(W_k^{-1} + β_k m_k m_k^T) / 2, (ν_k - d) / 2)``.

    Attributes
    ----------
    eta_pi : ndarray, shape (K,)
    eta_mu : ndarray, shape (K, d)
    eta_quad : ndarray, shape (K,)
    eta_lambda : ndarray, shape (K, d, d)
    eta_logdet : ndarray, shape (K,)
    """

    eta_pi: np.ndarray
    eta_mu: np.ndarray
    eta_quad: np.ndarray
    eta_lambda: np.ndarray
    eta_logdet: np.ndarray


class GMMCAVI(NamedTuple):
    """Result of :func:`cavi_gmm`.

    Attributes
    ----------
    alpha, beta, m, W, nu : ndarray
        The global factors, shapes (K,), (K,), (K, d), (K, d, d), (K,) (see :class:`GMMGlobal`).
    resp : ndarray, shape (N, K)
        Responsibilities, optimal for the global factors returned.
    elbo : ndarray, shape (n_iter,)
        The ELBO (nats) after each iteration (global step, then local step): the ELBO of
        that iteration's global factors with the local factors at their optimum, i.e.
        ``elbo_gmm`` of them.
    n_iter : int
        Iterations run.
    converged : bool
        Whether the last iteration raised the ELBO by less than ``tol * |ELBO|``.
    """

    alpha: np.ndarray
    beta: np.ndarray
    m: np.ndarray
    W: np.ndarray
    nu: np.ndarray
    resp: np.ndarray
    elbo: np.ndarray
    n_iter: int
    converged: bool


class _Prior(NamedTuple):
    alpha0: float
    beta0: float
    m0: np.ndarray
    nu0: float
    W0: np.ndarray
    W0_inv: np.ndarray
    chol_W0_inv: np.ndarray   # L0^{-1} with W0 = L0 L0^T, so W0^{-1} = L0^{-T} L0^{-1}
    logdet_W0: float


# =========================================================================== validation
def _float_array(name, value, ndim=None):
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{name} must be a real number or array, got {type(value).__name__}") from exc
    if ndim is not None and arr.ndim != ndim:
        raise ValueError(f"{name} must have {ndim} dimension(s), got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite (no NaN or inf)")
    return arr


def _check_x(x):
    x = _float_array("x", x)
    if x.ndim != 2:
        raise ValueError(f"x must have shape (N, d), got shape {x.shape}")
    if x.shape[0] == 0 or x.shape[1] == 0:
        raise ValueError(f"x must be non-empty, got shape {x.shape}")
    return x


def _chol(name, mats):
    """Cholesky factors of a stack of symmetric positive-definite matrices, or a ValueError."""
    scale = np.max(np.abs(mats), axis=(-2, -1), keepdims=True)
    if not np.all(np.abs(mats - np.swapaxes(mats, -1, -2)) <= 1e-10 * scale):
        raise ValueError(f"{name} must be symmetric")
    try:
        return np.linalg.cholesky(mats)
    except np.linalg.LinAlgError as exc:
        raise ValueError(f"{name} must be positive definite") from exc


def _check_prior(d, alpha0, beta0, m0, nu0, W0):
    alpha0 = float(_float_array("alpha0", alpha0, ndim=0))
    if alpha0 <= 0:
        raise ValueError(f"alpha0 must be > 0, got {alpha0}")
    beta0 = float(_float_array("beta0", beta0, ndim=0))
    if beta0 <= 0:
        raise ValueError(f"beta0 must be > 0, got {beta0}")
    m0 = _float_array("m0", m0, ndim=1)
    if m0.shape != (d,):
        raise ValueError(f"m0 must have shape ({d},), got {m0.shape}")
    nu0 = float(_float_array("nu0", nu0, ndim=0))
    if nu0 <= d - 1:
        raise ValueError(f"nu0 must be > d - 1 = {d - 1}, got {nu0}")
    W0 = _float_array("W0", W0, ndim=2)
    if W0.shape != (d, d):
        raise ValueError(f"W0 must have shape ({d}, {d}), got {W0.shape}")
    L0 = _chol("W0", W0)
    L0_inv = np.linalg.solve(L0, np.eye(d))
    return _Prior(alpha0, beta0, m0, nu0, W0, L0_inv.T @ L0_inv, L0_inv,
                  2.0 * float(np.sum(np.log(np.diag(L0)))))


def _check_global(alpha, beta, m, W, nu, d=None):
    m = _float_array("m", m, ndim=2)
    k, dm = m.shape
    if d is not None and dm != d:
        raise ValueError(f"m must have shape (K, {d}), got {m.shape}")
    d = dm
    if k == 0 or d == 0:
        raise ValueError(f"m must be non-empty, got shape {m.shape}")
    out = []
    for name, val in (("alpha", alpha), ("beta", beta), ("nu", nu)):
        arr = _float_array(name, val, ndim=1)
        if arr.shape != (k,):
            raise ValueError(f"{name} must have shape ({k},) like m's first axis, got {arr.shape}")
        out.append(arr)
    alpha, beta, nu = out
    if np.any(alpha <= 0):
        raise ValueError("alpha must be > 0")
    if np.any(beta <= 0):
        raise ValueError("beta must be > 0")
    if np.any(nu <= d - 1):
        raise ValueError(f"nu must be > d - 1 = {d - 1}")
    W = _float_array("W", W, ndim=3)
    if W.shape != (k, d, d):
        raise ValueError(f"W must have shape ({k}, {d}, {d}), got {W.shape}")
    return alpha, beta, m, W, _chol("W", W), nu


def _check_resp(resp, n, k, name="resp"):
    resp = _float_array(name, resp, ndim=2)
    if resp.shape != (n, k):
        raise ValueError(f"{name} must have shape ({n}, {k}), got {resp.shape}")
    if np.any(resp < 0):
        raise ValueError(f"{name} must be >= 0")
    if not np.allclose(resp.sum(axis=1), 1.0, rtol=0.0, atol=1e-8):
        raise ValueError(f"the rows of {name} must sum to 1 (within 1e-8)")
    return resp


# =========================================================================== building blocks
def _expected_log_det(nu, logdet_W, d):
    # E[log|Λ_k|] = Σ_{i=1}^d ψ((ν_k + 1 - i)/2) + d log 2 + log|W_k|   (Bishop 2006, eq. 10.65)
    i = np.arange(1, d + 1)
    return special.digamma(0.5 * (nu[:, None] + 1.0 - i)).sum(axis=1) + d * _LOG_2 + logdet_W


def _log_rho(x, alpha, beta, m, F, nu):
    """log ρ_nk for W_k = F_k F_k^T (F any square factor); returns (log_rho, E log|Λ|, log|W|)."""
    n, d = x.shape
    k = m.shape[0]
    logdet_W = 2.0 * np.sum(np.log(np.abs(np.diagonal(F, axis1=1, axis2=2))), axis=1)
    e_logdet = _expected_log_det(nu, logdet_W, d)
    e_log_pi = special.digamma(alpha) - special.digamma(np.sum(alpha))    # eq. 10.66
    # (x_n - m_k)^T W_k (x_n - m_k) = ||F_k^T (x_n - m_k)||², all k in one matrix product
    xf = (x @ F.transpose(1, 0, 2).reshape(d, k * d)).reshape(n, k, d)
    xf -= np.einsum("kd,kde->ke", m, F)
    maha = np.einsum("nkd,nkd->nk", xf, xf)
    # eq. 10.46 with eq. 10.64: E[(x-μ_k)^T Λ_k (x-μ_k)] = d/β_k + ν_k (x-m_k)^T W_k (x-m_k)
    log_rho = e_log_pi + 0.5 * e_logdet - 0.5 * d * _LOG_2PI - 0.5 * (d / beta + nu * maha)
    return log_rho, e_logdet, logdet_W


def _local(log_rho):
    log_norm = special.logsumexp(log_rho, axis=1)
    return np.exp(log_rho - log_norm[:, None]), log_norm


def _log_wishart_B(logdet_W, nu, d):
    # log B(W, ν) (Bishop 2006, eq. B.79)
    i = np.arange(1, d + 1)
    return (-0.5 * nu * logdet_W - 0.5 * nu * d * _LOG_2 - 0.25 * d * (d - 1) * _LOG_PI
            - special.gammaln(0.5 * (np.asarray(nu)[..., None] + 1.0 - i)).sum(axis=-1))


def _kl_global(alpha, beta, m, F, nu, e_logdet, logdet_W, prior):
    d = m.shape[1]
    k = alpha.size
    a0, b0, m0, n0 = prior.alpha0, prior.beta0, prior.m0, prior.nu0
    # KL(Dir(α) ‖ Dir(α0 1)) = log C(α) - log C(α0 1) + Σ_k (α_k - α0)(ψ(α_k) - ψ(α̂))
    a_hat = np.sum(alpha)
    kl_dir = (special.gammaln(a_hat) - np.sum(special.gammaln(alpha))
              - special.gammaln(k * a0) + k * special.gammaln(a0)
              + np.sum((alpha - a0) * (special.digamma(alpha) - special.digamma(a_hat))))
    # KL of the Gaussian factor given Λ_k, averaged over q(Λ_k):
    # 1/2 [d β0/β_k - d + d log(β_k/β0) + β0 ν_k (m_k - m0)^T W_k (m_k - m0)]
    fm = np.einsum("kde,kd->ke", F, m - m0)
    kl_gauss = 0.5 * (d * b0 / beta - d + d * np.log(beta / b0) + b0 * nu * np.sum(fm * fm, axis=1))
    # KL(W(W_k, ν_k) ‖ W(W0, ν0)) = log B(W_k,ν_k) - log B(W0,ν0) + (ν_k - ν0)/2 E[log|Λ_k|]
    #                                - ν_k d/2 + ν_k/2 tr(W0^{-1} W_k)
    tr = np.sum((prior.chol_W0_inv @ F) ** 2, axis=(1, 2))      # tr(W0^{-1} F F^T) = ||L0^{-1} F||²
    kl_wish = (_log_wishart_B(logdet_W, nu, d) - _log_wishart_B(prior.logdet_W0, n0, d)
               + 0.5 * (nu - n0) * e_logdet - 0.5 * nu * d + 0.5 * nu * tr)
    return float(kl_dir + np.sum(kl_gauss) + np.sum(kl_wish))


def _suff_stats(x, resp):
    nk = resp.sum(axis=0)
    safe = np.where(nk > 0, nk, 1.0)
    xbar = (resp.T @ x) / safe[:, None]
    xbar[nk <= 0] = 0.0
    diff = x[None, :, :] - xbar[:, None, :]                       # (K, N, d)
    S = (diff * resp.T[:, :, None]).transpose(0, 2, 1) @ diff / safe[:, None, None]
    return GMMStats(nk, xbar, 0.5 * (S + S.transpose(0, 2, 1)))


def _global(nk, xbar, S, prior):
    """Bishop 2006, eqs 10.58, 10.60–10.63; returns (alpha, beta, m, W, F, nu) with W = F F^T."""
    d = xbar.shape[1]
    alpha = prior.alpha0 + nk                                      # eq. 10.58
    beta = prior.beta0 + nk                                        # eq. 10.60
    m = (prior.beta0 * prior.m0 + nk[:, None] * xbar) / beta[:, None]   # eq. 10.61
    diff = xbar - prior.m0
    w_inv = (prior.W0_inv + nk[:, None, None] * S                  # eq. 10.62
             + (prior.beta0 * nk / beta)[:, None, None] * diff[:, :, None] * diff[:, None, :])
    nu = prior.nu0 + nk                                            # eq. 10.63
    C = np.linalg.cholesky(w_inv)                                  # W^{-1} = C C^T
    F = np.swapaxes(np.linalg.solve(C, np.broadcast_to(np.eye(d), C.shape)), 1, 2)  # W = F F^T, F = C^{-T}
    W = F @ np.swapaxes(F, 1, 2)
    return alpha, beta, m, 0.5 * (W + np.swapaxes(W, 1, 2)), F, nu


# =========================================================================== public pure functions
def gmm_log_rho(x, alpha, beta, m, W, nu):
    """Unnormalised log responsibilities ``log ρ_nk`` of the Bayesian Gaussian mixture.

    Parameters
    ----------
    x : array_like, shape (N, d)
        Data.
    alpha, beta, m, W, nu : array_like
        Global factors, shapes (K,), (K,), (K, d), (K, d, d), (K,) (see :class:`GMMGlobal`).

    Returns
    -------
    ndarray, shape (N, K)
        ``log ρ_nk = E[log π_k] + E[log|Λ_k|]/2 - (d/2) log 2π
        - E[(x_n - μ_k)^T Λ_k (x_n - μ_k)]/2`` (nats), i.e. ``E_{-z_n}[log p(x_n, z_n = k | π, μ, Λ)]``.

    Raises
    ------
    ValueError
        On shapes that disagree, non-finite values, ``alpha, beta <= 0``, ``nu <= d - 1``
        or a ``W_k`` that is not symmetric positive definite.

    Notes
    -----
    Bishop (2006), eq. 10.46 with the expectations of eqs 10.64–10.66::

        E[(x - μ_k)^T Λ_k (x - μ_k)] = d/β_k + ν_k (x - m_k)^T W_k (x - m_k)
        E[log|Λ_k|] = Σ_{i=1}^d ψ((ν_k + 1 - i)/2) + d log 2 + log|W_k|
        E[log π_k]  = ψ(α_k) - ψ(Σ_j α_j)

    The quadratic form uses the Cholesky factor of ``W_k`` (no inverse).
    """
    x = _check_x(x)
    alpha, beta, m, _, L, nu = _check_global(alpha, beta, m, W, nu, d=x.shape[1])
    return _log_rho(x, alpha, beta, m, L, nu)[0]


def gmm_local_update(x, alpha, beta, m, W, nu):
    """The local CAVI step: optimal ``q(z_n) = Cat(r_n)`` given the global factors.

    Parameters
    ----------
    x : array_like, shape (N, d)
    alpha, beta, m, W, nu : array_like
        Global factors, shapes (K,), (K,), (K, d), (K, d, d), (K,).

    Returns
    -------
    GMMLocal
        ``resp`` (N, K), ``r_nk = ρ_nk / Σ_j ρ_nj`` (Bishop 2006, eq. 10.49), computed in log
        space with log-sum-exp, and ``log_norm`` (N,), ``log Σ_k ρ_nk`` (nats).

    Raises
    ------
    ValueError
        As :func:`gmm_log_rho`.

    Notes
    -----
    With every ``q(z_n)`` at this optimum, the part of the ELBO that involves ``Z`` is
    ``Σ_n Σ_k r_nk (log ρ_nk - log r_nk) = Σ_n log Σ_k ρ_nk``, so
    ``ELBO = Σ_n log_norm[n] - gmm_global_kl(...)`` (this is how :func:`elbo_gmm` computes it).
    """
    return GMMLocal(*_local(gmm_log_rho(x, alpha, beta, m, W, nu)))


def gmm_suff_stats(x, resp):
    """Responsibility-weighted statistics ``N_k``, ``x̄_k``, ``S_k`` (Bishop 2006, eqs 10.51–10.53).

    Parameters
    ----------
    x : array_like, shape (N, d)
    resp : array_like, shape (N, K)
        Responsibilities (non-negative, rows summing to 1 within 1e-8).

    Returns
    -------
    GMMStats
        ``nk`` (K,), ``xbar`` (K, d) and ``S`` (K, d, d); ``xbar`` and ``S`` are 0 for a
        component with ``N_k = 0`` (they enter the global update multiplied by ``N_k``).

    Raises
    ------
    ValueError
        On shapes that disagree, non-finite values, negative responsibilities or rows
        that do not sum to 1.

    Notes
    -----
    ``S_k`` is computed from the centred data ``x_n - x̄_k`` (no cancellation between
    ``Σ r x x^T / N_k`` and ``x̄ x̄^T``). For stochastic VI, scale ``nk`` by ``N / |B|`` for a
    mini-batch ``B`` before calling :func:`gmm_global_update`; ``xbar`` and ``S`` are
    unchanged by that scaling.
    """
    x = _check_x(x)
    resp = _float_array("resp", resp, ndim=2)
    resp = _check_resp(resp, x.shape[0], resp.shape[1])
    return _suff_stats(x, resp)


def gmm_global_update(nk, xbar, S, *, alpha0, beta0, m0, nu0, W0):
    """The global CAVI step: optimal ``q(π)`` and ``q(μ_k, Λ_k)`` from the statistics.

    Parameters
    ----------
    nk : array_like, shape (K,)
        ``N_k >= 0`` (any non-negative reals: stochastic VI passes ``N/|B|`` times a batch's).
    xbar : array_like, shape (K, d)
        Weighted means ``x̄_k``.
    S : array_like, shape (K, d, d)
        Weighted covariances ``S_k`` (symmetric positive semi-definite).
    alpha0, beta0, m0, nu0, W0
        Prior: ``Dir(α0)``, ``N(m0, (β0 Λ)^{-1}) W(W0, ν0)`` with ``W0`` the Wishart scale
        matrix (``E[Λ] = ν0 W0``); ``alpha0, beta0 > 0``, ``nu0 > d - 1``, ``W0`` (d, d)
        symmetric positive definite, ``m0`` (d,).

    Returns
    -------
    GMMGlobal
        ``alpha``, ``beta``, ``m``, ``W``, ``nu``.

    Raises
    ------
    ValueError
        On shapes that disagree, non-finite values, ``nk < 0`` or an invalid prior.

    Notes
    -----
    Bishop (2006), eqs 10.58 and 10.60–10.63::

        α_k = α0 + N_k,    β_k = β0 + N_k,    ν_k = ν0 + N_k
        m_k = (β0 m0 + N_k x̄_k) / β_k
        W_k^{-1} = W0^{-1} + N_k S_k + β0 N_k / (β0 + N_k) (x̄_k - m0)(x̄_k - m0)^T

    ``W_k`` is obtained from the Cholesky factor of ``W_k^{-1}`` by a triangular solve.
    """
    nk = _float_array("nk", nk, ndim=1)
    if np.any(nk < 0):
        raise ValueError("nk must be >= 0")
    xbar = _float_array("xbar", xbar, ndim=2)
    k, d = xbar.shape
    if nk.shape != (k,):
        raise ValueError(f"nk must have shape ({k},) like xbar's first axis, got {nk.shape}")
    S = _float_array("S", S, ndim=3)
    if S.shape != (k, d, d):
        raise ValueError(f"S must have shape ({k}, {d}, {d}), got {S.shape}")
    prior = _check_prior(d, alpha0, beta0, m0, nu0, W0)
    alpha, beta, m, W, _, nu = _global(nk, xbar, S, prior)
    return GMMGlobal(alpha, beta, m, W, nu)


def gmm_global_kl(alpha, beta, m, W, nu, *, alpha0, beta0, m0, nu0, W0):
    """``KL(q(π) ‖ p(π)) + Σ_k KL(q(μ_k, Λ_k) ‖ p(μ_k, Λ_k))`` in nats.

    Parameters
    ----------
    alpha, beta, m, W, nu : array_like
        Global factors, shapes (K,), (K,), (K, d), (K, d, d), (K,).
    alpha0, beta0, m0, nu0, W0
        The prior, as in :func:`gmm_global_update`.

    Returns
    -------
    float
        The KL divergence of the global factors from the prior (>= 0).

    Raises
    ------
    ValueError
        On invalid factors or prior (see :func:`gmm_log_rho`, :func:`gmm_global_update`).

    Notes
    -----
    The Dirichlet term is ``log C(α) - log C(α0) + Σ_k (α_k - α0)(ψ(α_k) - ψ(α̂))`` with
    ``log C`` the log normaliser (Bishop 2006, eq. B.23). The Normal–Wishart term is,
    per component, the Gaussian KL given ``Λ_k`` averaged over ``q(Λ_k)``,
    ``[d β0/β_k - d + d log(β_k/β0) + β0 ν_k (m_k - m0)^T W_k (m_k - m0)] / 2``, plus
    ``KL(W(W_k, ν_k) ‖ W(W0, ν0)) = log B(W_k, ν_k) - log B(W0, ν0) + (ν_k - ν0) E[log|Λ_k|]/2
    - ν_k d/2 + ν_k tr(W0^{-1} W_k)/2`` (``B`` from eq. B.79, ``E[log|Λ_k|]`` from eq. 10.65).
    Together they are the negated prior and entropy terms of Bishop's eqs 10.73, 10.74,
    10.76 and 10.77.
    """
    alpha, beta, m, W, L, nu = _check_global(alpha, beta, m, W, nu)
    prior = _check_prior(m.shape[1], alpha0, beta0, m0, nu0, W0)
    logdet_W = 2.0 * np.sum(np.log(np.diagonal(L, axis1=1, axis2=2)), axis=1)
    e_logdet = _expected_log_det(nu, logdet_W, m.shape[1])
    return _kl_global(alpha, beta, m, L, nu, e_logdet, logdet_W, prior)


def gmm_natural_params(alpha, beta, m, W, nu):
    """The global factors as natural parameters (see :class:`GMMNatural`).

    Parameters
    ----------
    alpha, beta, m, W, nu : array_like
        Global factors, shapes (K,), (K,), (K, d), (K, d, d), (K,).

    Returns
    -------
    GMMNatural
        ``alpha - 1``, ``beta m``, ``-beta/2``, ``-(W^{-1} + beta m m^T)/2``, ``(nu - d)/2``.

    Raises
    ------
    ValueError
        On invalid factors.

    Notes
    -----
    From ``log q(μ, Λ) = (ν-d)/2 log|Λ| - tr(Λ (W^{-1} + β m m^T))/2 + β m^T Λ μ
    - β μ^T Λ μ / 2 + const`` (the product of Bishop 2006, eqs B.37 and B.78, expanded).
    The CAVI update of the global factors sets these to the prior's natural parameters
    plus the expected sufficient statistics (Hoffman et al. 2013, eq. 16); stochastic VI
    moves them along a straight line (Hoffman et al. 2013, eq. 26).
    """
    alpha, beta, m, W, L, nu = _check_global(alpha, beta, m, W, nu)
    d = m.shape[1]
    eye = np.broadcast_to(np.eye(d), W.shape)
    L_inv = np.linalg.solve(L, eye)
    w_inv = np.swapaxes(L_inv, 1, 2) @ L_inv
    bm = beta[:, None] * m
    return GMMNatural(alpha - 1.0, bm, -0.5 * beta,
                      -0.5 * (w_inv + bm[:, :, None] * m[:, None, :]), 0.5 * (nu - d))


def gmm_from_natural(eta_pi, eta_mu, eta_quad, eta_lambda, eta_logdet):
    """Inverse of :func:`gmm_natural_params`.

    Parameters
    ----------
    eta_pi, eta_mu, eta_quad, eta_lambda, eta_logdet : array_like
        Shapes (K,), (K, d), (K,), (K, d, d), (K,) (a :class:`GMMNatural` unpacks into them).

    Returns
    -------
    GMMGlobal

    Raises
    ------
    ValueError
        If the parameters are not those of valid factors (``eta_pi <= -1``,
        ``eta_quad >= 0``, ``W^{-1}`` not positive definite, ``nu <= d - 1``).
    """
    eta_mu = _float_array("eta_mu", eta_mu, ndim=2)
    k, d = eta_mu.shape
    alpha = _float_array("eta_pi", eta_pi, ndim=1) + 1.0
    beta = -2.0 * _float_array("eta_quad", eta_quad, ndim=1)
    nu = 2.0 * _float_array("eta_logdet", eta_logdet, ndim=1) + d
    eta_lambda = _float_array("eta_lambda", eta_lambda, ndim=3)
    if eta_lambda.shape != (k, d, d) or alpha.shape != (k,) or beta.shape != (k,) or nu.shape != (k,):
        raise ValueError("natural parameters must have shapes (K,), (K, d), (K,), (K, d, d), (K,)")
    if np.any(beta <= 0):
        raise ValueError("eta_quad must be < 0")
    m = eta_mu / beta[:, None]
    w_inv = -2.0 * eta_lambda - eta_mu[:, :, None] * m[:, None, :]
    C = _chol("W^{-1} = -2 eta_lambda - beta m m^T", 0.5 * (w_inv + np.swapaxes(w_inv, 1, 2)))
    F = np.swapaxes(np.linalg.solve(C, np.broadcast_to(np.eye(d), C.shape)), 1, 2)
    W = F @ np.swapaxes(F, 1, 2)
    _check_global(alpha, beta, m, W, nu)  # alpha > 0, nu > d - 1
    return GMMGlobal(alpha, beta, m, 0.5 * (W + np.swapaxes(W, 1, 2)), nu)


def elbo_gmm(x, alpha, beta, m, W, nu, *, alpha0, beta0, m0, nu0, W0, resp=None):
    """ELBO of the Bayesian Gaussian mixture for given global factors.

    Parameters
    ----------
    x : array_like, shape (N, d)
        Data.
    alpha, beta, m, W, nu : array_like
        Global factors, shapes (K,), (K,), (K, d), (K, d, d), (K,) (see :class:`GMMGlobal`).
    alpha0, beta0, m0, nu0, W0
        The prior, as in :func:`gmm_global_update`.
    resp : array_like, shape (N, K), optional
        Local factors ``q(z_n) = Cat(resp[n])``. By default they are at their optimum for
        the global factors given (:func:`gmm_local_update`), which gives the largest ELBO
        over ``resp``.

    Returns
    -------
    float
        ``E_q[log p(X, Z, π, μ, Λ)] + ℍ[q]`` in nats.

    Raises
    ------
    ValueError
        On shapes that disagree, non-finite values, invalid factors or prior, or
        responsibilities that are negative or whose rows do not sum to 1.

    Notes
    -----
    The terms of Bishop (2006), eqs 10.70–10.77, regrouped::

        ELBO = Σ_n Σ_k r_nk (log ρ_nk - log r_nk) - KL(q(π) ‖ p(π)) - Σ_k KL(q(μ_k,Λ_k) ‖ p(μ_k,Λ_k))

    with ``log ρ_nk`` from :func:`gmm_log_rho` (eqs 10.71, 10.72 and 10.75 are the first sum)
    and the KL terms from :func:`gmm_global_kl` (eqs 10.73, 10.74, 10.76, 10.77). At the
    optimal ``resp`` the first sum is ``Σ_n log Σ_k ρ_nk``.
    """
    x = _check_x(x)
    alpha, beta, m, W, L, nu = _check_global(alpha, beta, m, W, nu, d=x.shape[1])
    prior = _check_prior(x.shape[1], alpha0, beta0, m0, nu0, W0)
    log_rho, e_logdet, logdet_W = _log_rho(x, alpha, beta, m, L, nu)
    if resp is None:
        data_term = float(np.sum(special.logsumexp(log_rho, axis=1)))
    else:
        resp = _check_resp(resp, x.shape[0], alpha.size)
        data_term = float(np.sum(resp * log_rho) - np.sum(special.xlogy(resp, resp)))
    return data_term - _kl_global(alpha, beta, m, L, nu, e_logdet, logdet_W, prior)


def cavi_gmm(x, n_components, *, alpha0, beta0, m0, nu0, W0, resp_init=None, seed=0,
             max_iter=500, tol=1e-10):
    """CAVI for the Bayesian Gaussian mixture (Bishop 2006, §10.2).

    Parameters
    ----------
    x : array_like, shape (N, d)
        Data (finite).
    n_components : int
        Number of components ``K >= 1``.
    alpha0 : float
        Dirichlet concentration of the prior on the weights, > 0. Small values
        (e.g. 1e-3) let CAVI empty the components the data do not need.
    beta0 : float
        Prior precision scale of the means, > 0.
    m0 : array_like, shape (d,)
        Prior mean of the means.
    nu0 : float
        Wishart degrees of freedom, > d - 1.
    W0 : array_like, shape (d, d)
        Wishart *scale* matrix (``E[Λ_k] = ν0 W0`` under the prior), symmetric positive definite.
    resp_init : array_like, shape (N, K), optional
        Responsibilities to start from (non-negative, rows summing to 1). By default
        they are drawn uniformly and normalised, from ``numpy.random.default_rng(seed)``.
    seed : int or numpy.random.Generator
        Seed of the initial responsibilities when ``resp_init`` is None.
    max_iter : int
        Maximum number of iterations (>= 1).
    tol : float
        Stop when an iteration raises the ELBO by less than ``tol * |ELBO|`` (>= 0);
        ``tol = 0`` runs exactly ``max_iter`` iterations.

    Returns
    -------
    GMMCAVI
        ``alpha`` (K,), ``beta`` (K,), ``m`` (K, d), ``W`` (K, d, d), ``nu`` (K,),
        ``resp`` (N, K), ``elbo`` (n_iter,), ``n_iter``, ``converged``.

    Raises
    ------
    ValueError
        On bad shapes, NaN or infinite data, ``alpha0 <= 0``, ``beta0 <= 0``,
        ``nu0 <= d - 1``, ``W0`` not symmetric positive definite, or ``resp_init`` with
        negative entries or rows not summing to 1.
    TypeError
        If ``n_components`` or ``max_iter`` is not an int.

    Notes
    -----
    Each iteration is the global step from the current responsibilities
    (:func:`gmm_suff_stats`, :func:`gmm_global_update`; Bishop 2006, eqs 10.51–10.63), then
    the local step (:func:`gmm_local_update`; eqs 10.46–10.49, 10.64–10.66). The first
    iteration's global step uses ``resp_init``. ``elbo[t]`` is the ELBO after iteration
    ``t`` (:func:`elbo_gmm` of its global factors, local factors at their optimum); each
    step maximises the ELBO over one block of factors, so the trace never decreases.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> x = np.concatenate([rng.normal(-2, 0.5, (100, 1)), rng.normal(2, 0.5, (100, 1))])
    >>> fit = cavi_gmm(x, 4, alpha0=1e-3, beta0=1.0, m0=[0.0], nu0=2.0, W0=[[1.0]])
    >>> int(np.sum(fit.alpha > 1.0)), fit.converged
    (2, True)
    """
    x = _check_x(x)
    n, d = x.shape
    if isinstance(n_components, bool) or not isinstance(n_components, Integral):
        raise TypeError(f"n_components must be an int, got {type(n_components).__name__}")
    if n_components < 1:
        raise ValueError(f"n_components must be >= 1, got {n_components}")
    k = int(n_components)
    prior = _check_prior(d, alpha0, beta0, m0, nu0, W0)
    max_iter, tol = _check_iterations(max_iter, tol, name="max_iter")
    if resp_init is None:
        resp = np.random.default_rng(seed).uniform(size=(n, k))
        resp /= resp.sum(axis=1, keepdims=True)
    else:
        resp = _check_resp(resp_init, n, k, name="resp_init")

    elbo = []
    converged = False
    for _ in range(max_iter):
        alpha, beta, m, W, F, nu = _global(*_suff_stats(x, resp), prior)
        log_rho, e_logdet, logdet_W = _log_rho(x, alpha, beta, m, F, nu)
        resp, log_norm = _local(log_rho)
        elbo.append(float(np.sum(log_norm))
                    - _kl_global(alpha, beta, m, F, nu, e_logdet, logdet_W, prior))
        if len(elbo) > 1 and abs(elbo[-1] - elbo[-2]) < tol * abs(elbo[-1]):
            converged = True
            break
    return GMMCAVI(alpha, beta, m, W, nu, resp, np.array(elbo), len(elbo), converged)
