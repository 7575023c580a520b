"""Bayesian linear regression with known noise: data, exact posterior, evidence, log joint.

The model (Bishop 2006, §3.3) with a zero-mean isotropic Gaussian prior,

.. math::

    w \\sim \\mathcal N(0, \\sigma_0^2 I_d), \\qquad
    y \\mid X, w \\sim \\mathcal N(X w, \\sigma^2 I_n),

where ``prior_sd`` is :math:`\\sigma_0` and ``noise_sd`` is :math:`\\sigma` (standard
deviations). In Bishop's notation :math:`\\alpha = 1/\\sigma_0^2` and
:math:`\\beta = 1/\\sigma^2`. Everything here is conjugate, so the exact posterior, the
log evidence and the best mean-field Gaussian are available in closed form: the model is
the course's test bench for gradient-based VI, where the full-rank Gaussian family
contains the exact posterior and ``log_evidence - elbo`` is exactly ``KL(q ‖ posterior)``.

The exact quantities use NumPy/SciPy (float64, Cholesky factors, no explicit inverse of a
data matrix). :func:`blr_log_joint` uses ``jax.numpy`` so that it can be differentiated and
compiled by :func:`vi_lib.advi`; JAX is imported only when it is first called.
"""

from __future__ import annotations

import numbers

import numpy as np
from scipy import linalg

__all__ = [
    "make_regression_data",
    "blr_precision",
    "blr_posterior",
    "blr_log_evidence",
    "blr_log_joint",
    "make_blr_log_joint",
    "blr_mean_field_optimum",
    "blr_mean_field_kl",
]


# --------------------------------------------------------------------------- validation
def _check_positive(name, value):
    if not isinstance(value, numbers.Real) or isinstance(value, bool):
        try:
            value = float(value)
        except (TypeError, ValueError):
            raise ValueError(f"{name} must be a positive number, got {value!r}") from None
    value = float(value)
    if not np.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be > 0 and finite, got {value!r}")
    return value


def _check_int(name, value, minimum=1):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def _check_data(X, y):
    X = np.asarray(X, dtype=float)
    y = np.asarray(y, dtype=float)
    if X.ndim != 2:
        raise ValueError(f"X must be a 2-D array of shape (n, d), got shape {X.shape}")
    if y.ndim != 1:
        raise ValueError(f"y must be a 1-D array of shape (n,), got shape {y.shape}")
    if y.shape[0] != X.shape[0]:
        raise ValueError(
            f"X and y must have the same number of rows, got X {X.shape} and y {y.shape}")
    if X.shape[0] < 1 or X.shape[1] < 1:
        raise ValueError(f"X must have at least one row and one column, got shape {X.shape}")
    if not (np.all(np.isfinite(X)) and np.all(np.isfinite(y))):
        raise ValueError("X and y must be finite (no NaN or inf)")
    return X, y


# --------------------------------------------------------------------------- data
def make_regression_data(n=200, d=5, noise_sd=0.5, seed=0, *, prior_sd=1.0):
    """Synthetic, seeded data from the Bayesian linear regression model.

    Parameters
    ----------
    n : int
        Number of observations (>= 1).
    d : int
        Number of weights / features (>= 1).
    noise_sd : float
        Standard deviation of the observation noise (> 0), in the units of ``y``.
    seed : int
        Seed of the ``numpy.random.default_rng`` generator: the same seed gives the same data.
    prior_sd : float, optional
        Standard deviation of the prior the true weights are drawn from (default 1).

    Returns
    -------
    X : ndarray, shape (n, d)
        Design matrix with independent standard-normal entries.
    y : ndarray, shape (n,)
        Targets ``y = X @ w_true + noise``.
    w_true : ndarray, shape (d,)
        The weights the data were drawn with, ``w_true ~ N(0, prior_sd² I)``.

    Raises
    ------
    ValueError
        If ``n`` or ``d`` is not a positive integer, or ``noise_sd``/``prior_sd`` is not > 0.

    Examples
    --------
    >>> X, y, w_true = make_regression_data(200, 5, 0.5, seed=0)
    >>> X.shape, y.shape, w_true.shape
    ((200, 5), (200,), (5,))
    """
    n = _check_int("n", n)
    d = _check_int("d", d)
    noise_sd = _check_positive("noise_sd", noise_sd)
    prior_sd = _check_positive("prior_sd", prior_sd)
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    rng = np.random.default_rng(seed)
    w_true = prior_sd * rng.standard_normal(d)
    X = rng.standard_normal((n, d))
    y = X @ w_true + noise_sd * rng.standard_normal(n)
    return X, y, w_true


# --------------------------------------------------------------------------- exact posterior
def blr_precision(X, noise_sd, prior_sd=1.0):
    """Posterior precision matrix Λ = I/prior_sd² + XᵀX/noise_sd² (Bishop 2006, eq. 3.54).

    Parameters
    ----------
    X : array_like, shape (n, d)
        Design matrix.
    noise_sd, prior_sd : float
        Noise and prior standard deviations (> 0).

    Returns
    -------
    ndarray, shape (d, d)
        The posterior precision, in units of 1/w².
    """
    X = np.asarray(X, dtype=float)
    if X.ndim != 2:
        raise ValueError(f"X must be a 2-D array of shape (n, d), got shape {X.shape}")
    noise_sd = _check_positive("noise_sd", noise_sd)
    prior_sd = _check_positive("prior_sd", prior_sd)
    d = X.shape[1]
    return np.eye(d) / prior_sd**2 + X.T @ X / noise_sd**2


def blr_posterior(X, y, noise_sd, prior_sd=1.0):
    """Exact Gaussian posterior p(w | X, y) = N(mean, cov) (Bishop 2006, eqs. 3.53–3.54).

    Parameters
    ----------
    X : array_like, shape (n, d)
        Design matrix.
    y : array_like, shape (n,)
        Targets.
    noise_sd : float
        Observation noise standard deviation σ (> 0); Bishop's β = 1/σ².
    prior_sd : float
        Prior standard deviation σ₀ (> 0); Bishop's α = 1/σ₀².

    Returns
    -------
    mean : ndarray, shape (d,)
        Posterior mean m_N = Λ⁻¹ Xᵀy / σ².
    cov : ndarray, shape (d, d)
        Posterior covariance S_N = Λ⁻¹, with Λ = I/σ₀² + XᵀX/σ².

    Raises
    ------
    ValueError
        For inconsistent shapes, non-finite data or non-positive standard deviations.

    Notes
    -----
    Bishop (2006), eqs. 3.53–3.54 with m_0 = 0, S_0 = α⁻¹ I:
    :math:`S_N^{-1} = \\alpha I + \\beta X^\\top X`, :math:`m_N = \\beta S_N X^\\top y`.
    Both solves use the Cholesky factor of Λ (``scipy.linalg.cho_factor``).
    """
    X, y = _check_data(X, y)
    prec = blr_precision(X, noise_sd, prior_sd)
    c = linalg.cho_factor(prec, lower=True)
    mean = linalg.cho_solve(c, X.T @ y / float(noise_sd) ** 2)
    cov = linalg.cho_solve(c, np.eye(X.shape[1]))
    cov = 0.5 * (cov + cov.T)
    return mean, cov


def blr_log_evidence(X, y, noise_sd, prior_sd=1.0):
    """Log marginal likelihood log p(y | X) in nats (Bishop 2006, §3.5.1, eq. 3.86).

    Parameters
    ----------
    X : array_like, shape (n, d)
    y : array_like, shape (n,)
    noise_sd, prior_sd : float
        Noise and prior standard deviations (> 0).

    Returns
    -------
    float
        log p(y | X), nats.

    Notes
    -----
    With α = 1/prior_sd², β = 1/noise_sd², A = Λ = αI + βXᵀX and m_N the posterior mean,

    .. math::

        \\log p(y) = \\tfrac d2 \\log\\alpha + \\tfrac n2 \\log\\beta - E(m_N)
                     - \\tfrac12 \\log|A| - \\tfrac n2 \\log 2\\pi,
        \\qquad E(m) = \\tfrac\\beta2 \\lVert y - X m\\rVert^2 + \\tfrac\\alpha2 m^\\top m

    (Bishop 2006, eqs. 3.79–3.86); log|A| from the Cholesky factor. It equals the log density
    of y under N(0, σ²I + σ₀² X Xᵀ), which the tests check.
    """
    X, y = _check_data(X, y)
    noise_sd = _check_positive("noise_sd", noise_sd)
    prior_sd = _check_positive("prior_sd", prior_sd)
    n, d = X.shape
    alpha, beta = 1.0 / prior_sd**2, 1.0 / noise_sd**2
    prec = blr_precision(X, noise_sd, prior_sd)
    chol = linalg.cholesky(prec, lower=True)
    mean = linalg.cho_solve((chol, True), beta * (X.T @ y))
    resid = y - X @ mean
    energy = 0.5 * beta * resid @ resid + 0.5 * alpha * mean @ mean
    logdet = 2.0 * np.sum(np.log(np.diag(chol)))
    return float(0.5 * d * np.log(alpha) + 0.5 * n * np.log(beta) - energy
                 - 0.5 * logdet - 0.5 * n * np.log(2 * np.pi))


# --------------------------------------------------------------------------- log joint (JAX)
def blr_log_joint(w, X, y, noise_sd, prior_sd=1.0):
    """log p(y, w | X) = log N(y | Xw, σ²I) + log N(w | 0, σ₀²I), JAX-traceable.

    Parameters
    ----------
    w : array_like, shape (d,) or (..., d)
        Weights; a leading batch shape is allowed.
    X : array_like, shape (n, d)
    y : array_like, shape (n,)
    noise_sd, prior_sd : float
        Noise and prior standard deviations (> 0; not checked here, so that the function
        can be traced; :func:`make_blr_log_joint` checks them once).

    Returns
    -------
    jax.Array, shape () or (...)
        The log joint density in nats (both normalising constants included, so that
        ``log_evidence - ELBO(q) = KL(q ‖ posterior)`` holds exactly).

    Notes
    -----
    Uses ``jax.numpy``: it can be passed (through a closure, see :func:`make_blr_log_joint`)
    to :func:`vi_lib.advi`, which differentiates and compiles it. Computations are in
    float64 only if ``jax_enable_x64`` is on (importing :mod:`vi_lib.blackbox` turns it on).
    """
    import jax.numpy as jnp

    w = jnp.asarray(w)
    X = jnp.asarray(X)
    y = jnp.asarray(y)
    n, d = X.shape
    resid = y - w @ X.T
    log_lik = (-0.5 * jnp.sum(resid**2, axis=-1) / noise_sd**2
               - n * jnp.log(noise_sd) - 0.5 * n * jnp.log(2 * jnp.pi))
    log_prior = (-0.5 * jnp.sum(w**2, axis=-1) / prior_sd**2
                 - d * jnp.log(prior_sd) - 0.5 * d * jnp.log(2 * jnp.pi))
    return log_lik + log_prior


def make_blr_log_joint(X, y, noise_sd, prior_sd=1.0):
    """The log joint as a function of the weights only, ready for :func:`vi_lib.advi`.

    Parameters
    ----------
    X : array_like, shape (n, d)
    y : array_like, shape (n,)
    noise_sd, prior_sd : float
        Noise and prior standard deviations (> 0).

    Returns
    -------
    callable
        ``log_joint(w)`` for ``w`` of shape (d,) (or (..., d)), returning nats.

    Raises
    ------
    ValueError
        For inconsistent shapes, non-finite data or non-positive standard deviations.

    Examples
    --------
    >>> X, y, _ = make_regression_data(50, 2, 0.5, seed=1)
    >>> log_joint = make_blr_log_joint(X, y, noise_sd=0.5, prior_sd=1.0)
    >>> fit = vi_lib.advi(log_joint, dim=2)  # doctest: +SKIP
    """
    X, y = _check_data(X, y)
    noise_sd = _check_positive("noise_sd", noise_sd)
    prior_sd = _check_positive("prior_sd", prior_sd)

    def log_joint(w):
        return blr_log_joint(w, X, y, noise_sd, prior_sd)

    return log_joint


# --------------------------------------------------------------------------- mean field
def blr_mean_field_optimum(X, y, noise_sd, prior_sd=1.0):
    """The best mean-field Gaussian q(w) = ∏ N(w_i | m_i, s_i²) for KL(q ‖ posterior).

    Parameters
    ----------
    X : array_like, shape (n, d)
    y : array_like, shape (n,)
    noise_sd, prior_sd : float
        Noise and prior standard deviations (> 0).

    Returns
    -------
    mean : ndarray, shape (d,)
        Equal to the exact posterior mean.
    sigma : ndarray, shape (d,)
        Standard deviations s_i = 1/sqrt(Λ_ii), with Λ the posterior precision.

    Notes
    -----
    For a Gaussian target N(m, Λ⁻¹), the CAVI fixed point of the factorised approximation
    has factor means m and variances 1/Λ_ii (Bishop 2006, §10.1.2, eqs. 10.12–10.13).
    """
    mean, _ = blr_posterior(X, y, noise_sd, prior_sd)
    prec = blr_precision(X, noise_sd, prior_sd)
    return mean, 1.0 / np.sqrt(np.diag(prec))


def blr_mean_field_kl(X, y, noise_sd, prior_sd=1.0):
    """KL(q* ‖ posterior) of the mean-field optimum, in nats.

    Returns
    -------
    float
        ½ (Σ_i log Λ_ii − log|Λ|) ≥ 0, zero iff Λ is diagonal.

    Notes
    -----
    With q* = N(m, D), D = diag(1/Λ_ii), and the posterior N(m, Λ⁻¹), the Gaussian KL
    ½[tr(Λ D) − d + log|Λ⁻¹| − log|D|] reduces to ½(Σ log Λ_ii − log|Λ|) since
    tr(ΛD) = d (Hadamard's inequality makes it non-negative). log|Λ| from its Cholesky factor.
    """
    X, y = _check_data(X, y)
    prec = blr_precision(X, noise_sd, prior_sd)
    chol = linalg.cholesky(prec, lower=True)
    logdet = 2.0 * np.sum(np.log(np.diag(chol)))
    return float(0.5 * (np.sum(np.log(np.diag(prec))) - logdet))
