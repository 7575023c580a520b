"""Gaussian targets of the mean-field chapters, as pure functions.

Three models, each with its exact answer so that approximations can be checked:

- a correlated multivariate Gaussian ``N(mu, Lambda^{-1})`` given by its mean and
  precision matrix (Bishop 2006, §10.1.2), with :func:`correlated_gaussian`,
  :func:`mvn_log_density`;
- the latent linear-Gaussian model ``z ~ N(0, I)``, ``x | z ~ N(theta^T z, 1)``,
  with :func:`latent_linear_log_joint`, :func:`latent_linear_posterior` and
  :func:`latent_linear_log_evidence`;
- the univariate Gaussian with unknown mean ``mu`` and precision ``tau`` under a
  Normal–Gamma prior (Bishop 2006, §10.1.3), with
  :func:`normal_gamma_log_joint`, :func:`normal_gamma_posterior`,
  :func:`normal_gamma_log_density`, :func:`normal_gamma_marginals` and
  :func:`normal_gamma_log_evidence`.

Everything is float64 NumPy; log densities are in nats.  Gamma distributions use
the shape–rate parameterisation ``Gam(tau | a, b) ∝ tau^(a-1) exp(-b tau)`` as in
Bishop (2006), eq. (B.26).
"""

from __future__ import annotations

import numbers

import numpy as np
from scipy import special, stats

__all__ = [
    "random_covariance",
    "correlated_gaussian",
    "mvn_log_density",
    "latent_linear_log_joint",
    "latent_linear_posterior",
    "latent_linear_log_evidence",
    "normal_gamma_log_joint",
    "normal_gamma_posterior",
    "normal_gamma_log_density",
    "normal_gamma_marginals",
    "normal_gamma_log_evidence",
]

_LOG_2PI = np.log(2.0 * np.pi)


# --------------------------------------------------------------------------- validation
def _array(name, value, *, ndim=None):
    """``value`` as a finite float64 array, else TypeError/ValueError naming ``name``."""
    if isinstance(value, (str, bytes)) or value is None:
        raise TypeError(f"{name} must be numeric, got {type(value).__name__}")
    try:
        arr = np.asarray(value, dtype=float)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{name} must be numeric, got {type(value).__name__}") from exc
    if ndim is not None and arr.ndim != ndim:
        raise ValueError(f"{name} must have {ndim} dimension(s), got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite, got {value!r}")
    return arr


def _positive(name, value):
    arr = _array(name, value)
    if np.any(arr <= 0):
        raise ValueError(f"{name} must be > 0, got {value!r}")
    return arr


def _positive_scalar(name, value):
    if isinstance(value, bool) or not isinstance(value, (numbers.Real, np.ndarray)):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__}")
    arr = _positive(name, value)
    if arr.ndim != 0:
        raise ValueError(f"{name} must be a scalar, got shape {arr.shape}")
    return float(arr)


def _precision_cholesky(precision):
    """Lower Cholesky factor of a symmetric positive-definite ``precision``."""
    lam = _array("precision", precision, ndim=2)
    if lam.shape[0] != lam.shape[1]:
        raise ValueError(f"precision must be square, got shape {lam.shape}")
    if not np.allclose(lam, lam.T, rtol=1e-12, atol=1e-14 * np.max(np.abs(lam))):
        raise ValueError("precision must be symmetric")
    try:
        return np.linalg.cholesky(lam)
    except np.linalg.LinAlgError as exc:
        raise ValueError("precision must be positive definite") from exc


# --------------------------------------------------------------------------- correlated Gaussian
def correlated_gaussian(mu, sigma, rho):
    """Mean, covariance and precision of a 2-D Gaussian with correlation ``rho``.

    Parameters
    ----------
    mu : array_like, shape (2,)
        Mean.
    sigma : array_like, shape (2,)
        Marginal standard deviations, > 0.
    rho : float
        Correlation coefficient, ``-1 < rho < 1``.

    Returns
    -------
    mu : ndarray, shape (2,)
    cov : ndarray, shape (2, 2)
        ``[[s1², rho s1 s2], [rho s1 s2, s2²]]``.
    precision : ndarray, shape (2, 2)
        ``cov^{-1}``, written in closed form:
        ``1/(1-rho²) [[1/s1², -rho/(s1 s2)], [-rho/(s1 s2), 1/s2²]]``.

    Raises
    ------
    ValueError
        If ``sigma`` is not positive, ``|rho| >= 1`` or a shape is wrong.

    Notes
    -----
    This is the target of Bishop (2006), §10.1.2, where the precision entries are
    written ``Lambda_11, Lambda_12, Lambda_22``.  The partial correlation
    ``-Lambda_12 / sqrt(Lambda_11 Lambda_22)`` equals ``rho`` in two dimensions.

    Examples
    --------
    >>> mu, cov, lam = correlated_gaussian([0.0, 0.0], [1.0, 1.0], 0.5)
    >>> bool(np.allclose(cov @ lam, np.eye(2)))
    True
    """
    mu = _array("mu", mu, ndim=1)
    sigma = _positive("sigma", sigma)
    if mu.shape != (2,) or sigma.shape != (2,):
        raise ValueError(f"mu and sigma must have shape (2,), got {mu.shape} and {sigma.shape}")
    rho = float(_array("rho", rho, ndim=0))
    if not -1.0 < rho < 1.0:
        raise ValueError(f"rho must be in (-1, 1), got {rho}")
    s1, s2 = sigma
    cov = np.array([[s1**2, rho * s1 * s2], [rho * s1 * s2, s2**2]])
    precision = np.array([[1.0 / s1**2, -rho / (s1 * s2)],
                          [-rho / (s1 * s2), 1.0 / s2**2]]) / (1.0 - rho**2)
    return mu.copy(), cov, precision


def mvn_log_density(z, mu, precision):
    """Log density of ``N(mu, precision^{-1})`` at points ``z``, from the precision.

    Parameters
    ----------
    z : array_like, shape (..., d)
        Points; leading axes are a batch (e.g. a plotting grid).
    mu : array_like, shape (d,)
        Mean.
    precision : array_like, shape (d, d)
        Symmetric positive-definite precision matrix ``Lambda``.

    Returns
    -------
    ndarray, shape (...)
        ``log N(z | mu, Lambda^{-1})`` in nats.

    Raises
    ------
    ValueError
        If shapes disagree or ``precision`` is not symmetric positive definite.

    Notes
    -----
    ``log N = -d/2 log 2π + log|L| - 1/2 ||L^T (z - mu)||²`` with ``Lambda = L L^T``
    the Cholesky factorisation, so no matrix is inverted
    (Bishop 2006, eq. 2.43 written with the precision).
    """
    chol = _precision_cholesky(precision)
    d = chol.shape[0]
    mu = _array("mu", mu, ndim=1)
    z = _array("z", z)
    if mu.shape != (d,):
        raise ValueError(f"mu must have shape ({d},), got {mu.shape}")
    if z.shape[-1:] != (d,):
        raise ValueError(f"z must have last axis of length {d}, got shape {z.shape}")
    u = (z - mu) @ chol  # rows are (L^T (z - mu))^T
    half_logdet = np.sum(np.log(np.diag(chol)))
    return -0.5 * d * _LOG_2PI + half_logdet - 0.5 * np.sum(u * u, axis=-1)


# --------------------------------------------------------------------------- latent linear-Gaussian
def _check_theta_x(theta, x):
    theta = _array("theta", theta, ndim=1)
    if theta.size == 0:
        raise ValueError("theta must not be empty")
    x = float(_array("x", x, ndim=0))
    return theta, x


def latent_linear_log_joint(z, x, theta):
    """``log p(x, z)`` of the latent linear-Gaussian model.

    The model: ``z ~ N(0, I_d)`` and one observation ``x | z ~ N(theta^T z, 1)``.

    Parameters
    ----------
    z : array_like, shape (..., d)
        Latent points (leading axes are a batch).
    x : float
        The observation.
    theta : array_like, shape (d,)
        Known loading vector.

    Returns
    -------
    ndarray, shape (...)
        ``log N(z | 0, I) + log N(x | theta^T z, 1)`` in nats.

    Notes
    -----
    ``log p(x, z) = -(d+1)/2 log 2π - 1/2 (z^T z + (x - theta^T z)²)``.
    The cross term ``theta_1 theta_2 z_1 z_2`` in ``(x - theta^T z)²`` is why the
    posterior does not factorise over the coordinates of ``z``.
    """
    theta, x = _check_theta_x(theta, x)
    z = _array("z", z)
    if z.shape[-1:] != theta.shape:
        raise ValueError(f"z must have last axis of length {theta.size}, got shape {z.shape}")
    r = x - z @ theta
    d = theta.size
    return -0.5 * (d + 1) * _LOG_2PI - 0.5 * (np.sum(z * z, axis=-1) + r * r)


def latent_linear_posterior(x, theta):
    """Exact posterior ``p(z | x) = N(mean, cov)`` of the latent linear-Gaussian model.

    Parameters
    ----------
    x : float
        The observation.
    theta : array_like, shape (d,)
        Known loading vector.

    Returns
    -------
    mean : ndarray, shape (d,)
        ``theta x / (1 + theta^T theta)``.
    cov : ndarray, shape (d, d)
        ``I - theta theta^T / (1 + theta^T theta)``.
    precision : ndarray, shape (d, d)
        ``I + theta theta^T``.

    Notes
    -----
    The precision of a Gaussian prior times a linear-Gaussian likelihood is the sum
    of the precisions (Bishop 2006, eqs 2.116–2.117); the covariance and mean
    follow from the Sherman–Morrison identity, so nothing is inverted numerically.
    """
    theta, x = _check_theta_x(theta, x)
    c = 1.0 + theta @ theta
    mean = theta * x / c
    cov = np.eye(theta.size) - np.outer(theta, theta) / c
    precision = np.eye(theta.size) + np.outer(theta, theta)
    return mean, cov, precision


def latent_linear_log_evidence(x, theta):
    """``log p(x)`` of the latent linear-Gaussian model: ``x ~ N(0, 1 + theta^T theta)``.

    Parameters
    ----------
    x : float
    theta : array_like, shape (d,)

    Returns
    -------
    float
        Log evidence in nats (Bishop 2006, eq. 2.115).
    """
    theta, x = _check_theta_x(theta, x)
    var = 1.0 + theta @ theta
    return float(-0.5 * (_LOG_2PI + np.log(var) + x * x / var))


# --------------------------------------------------------------------------- Normal–Gamma
def _check_normal_gamma_prior(mu0, lambda0, a0, b0):
    mu0 = float(_array("mu0", mu0, ndim=0))
    return (mu0, _positive_scalar("lambda0", lambda0), _positive_scalar("a0", a0),
            _positive_scalar("b0", b0))


def _check_data(x):
    x = _array("x", x, ndim=1)
    if x.size == 0:
        raise ValueError("x must contain at least one observation")
    return x


def normal_gamma_log_joint(mu, tau, x, mu0, lambda0, a0, b0):
    """``log p(x, mu, tau)`` for Gaussian data with unknown mean and precision.

    The model of Bishop (2006), §10.1.3:
    ``x_n | mu, tau ~ N(mu, 1/tau)`` i.i.d., ``mu | tau ~ N(mu0, 1/(lambda0 tau))``,
    ``tau ~ Gam(a0, b0)`` (shape, rate).

    Parameters
    ----------
    mu : array_like, shape (...)
        Mean values (broadcast against ``tau``).
    tau : array_like, shape (...)
        Precision values, > 0.
    x : array_like, shape (N,)
        Data.
    mu0, lambda0, a0, b0 : float
        Prior parameters; ``lambda0, a0, b0 > 0``.

    Returns
    -------
    ndarray
        Log joint density in nats, shape ``broadcast(mu, tau)``.

    Notes
    -----
    Bishop (2006), eqs 10.21–10.23.
    """
    mu0, lambda0, a0, b0 = _check_normal_gamma_prior(mu0, lambda0, a0, b0)
    x = _check_data(x)
    mu = _array("mu", mu)
    tau = _positive("tau", tau)
    n = x.size
    xbar = x.mean()
    ss = np.sum((x - xbar) ** 2)
    log_tau = np.log(tau)
    # sum_n (x_n - mu)² = ss + N (xbar - mu)²
    log_lik = 0.5 * n * (log_tau - _LOG_2PI) - 0.5 * tau * (ss + n * (xbar - mu) ** 2)
    log_prior_mu = 0.5 * (np.log(lambda0) + log_tau - _LOG_2PI) - 0.5 * lambda0 * tau * (mu - mu0) ** 2
    log_prior_tau = a0 * np.log(b0) - special.gammaln(a0) + (a0 - 1.0) * log_tau - b0 * tau
    return log_lik + log_prior_mu + log_prior_tau


def normal_gamma_posterior(x, mu0, lambda0, a0, b0):
    """Exact Normal–Gamma posterior parameters for unknown mean and precision.

    Parameters
    ----------
    x : array_like, shape (N,)
        Data, ``N >= 1``.
    mu0, lambda0, a0, b0 : float
        Prior ``mu | tau ~ N(mu0, 1/(lambda0 tau))``, ``tau ~ Gam(a0, b0)``.

    Returns
    -------
    mu_N, lambda_N, a_N, b_N : float
        Posterior ``p(mu, tau | x) = N(mu | mu_N, 1/(lambda_N tau)) Gam(tau | a_N, b_N)``.

    Notes
    -----
    With ``xbar`` the sample mean (conjugacy of the Normal–Gamma prior, eq. 2.154 of
    Bishop 2006, §2.3.6; the update is checked in the tests through Bayes' rule)::

        lambda_N = lambda0 + N
        mu_N     = (lambda0 mu0 + N xbar) / lambda_N
        a_N      = a0 + N / 2
        b_N      = b0 + 1/2 sum_n (x_n - xbar)² + lambda0 N (xbar - mu0)² / (2 lambda_N)
    """
    mu0, lambda0, a0, b0 = _check_normal_gamma_prior(mu0, lambda0, a0, b0)
    x = _check_data(x)
    n = x.size
    xbar = x.mean()
    lambda_n = lambda0 + n
    mu_n = (lambda0 * mu0 + n * xbar) / lambda_n
    a_n = a0 + 0.5 * n
    b_n = b0 + 0.5 * np.sum((x - xbar) ** 2) + lambda0 * n * (xbar - mu0) ** 2 / (2.0 * lambda_n)
    return float(mu_n), float(lambda_n), float(a_n), float(b_n)


def normal_gamma_log_density(mu, tau, mu_N, lambda_N, a_N, b_N):
    """Log density of ``NormalGamma(mu, tau | mu_N, lambda_N, a_N, b_N)``.

    Parameters
    ----------
    mu, tau : array_like
        Points (broadcast together); ``tau > 0``.
    mu_N, lambda_N, a_N, b_N : float
        Parameters as returned by :func:`normal_gamma_posterior`.

    Returns
    -------
    ndarray
        ``log N(mu | mu_N, 1/(lambda_N tau)) + log Gam(tau | a_N, b_N)`` in nats
        (Bishop 2006, eq. 2.154).
    """
    mu_N, lambda_N, a_N, b_N = _check_normal_gamma_prior(mu_N, lambda_N, a_N, b_N)
    mu = _array("mu", mu)
    tau = _positive("tau", tau)
    log_tau = np.log(tau)
    log_normal = 0.5 * (np.log(lambda_N) + log_tau - _LOG_2PI) - 0.5 * lambda_N * tau * (mu - mu_N) ** 2
    log_gamma = a_N * np.log(b_N) - special.gammaln(a_N) + (a_N - 1.0) * log_tau - b_N * tau
    return log_normal + log_gamma


def normal_gamma_marginals(mu_N, lambda_N, a_N, b_N):
    """Marginals of a Normal–Gamma distribution, as frozen SciPy distributions.

    Parameters
    ----------
    mu_N, lambda_N, a_N, b_N : float
        Normal–Gamma parameters.

    Returns
    -------
    mu_marginal : scipy.stats.rv_frozen
        Student-t with ``2 a_N`` degrees of freedom, location ``mu_N`` and scale
        ``sqrt(b_N / (a_N lambda_N))`` (Bishop 2006, eqs 2.158–2.159).
    tau_marginal : scipy.stats.rv_frozen
        ``Gam(a_N, b_N)``, i.e. ``scipy.stats.gamma(a_N, scale=1/b_N)``.
    """
    mu_N, lambda_N, a_N, b_N = _check_normal_gamma_prior(mu_N, lambda_N, a_N, b_N)
    mu_marginal = stats.t(df=2.0 * a_N, loc=mu_N, scale=np.sqrt(b_N / (a_N * lambda_N)))
    tau_marginal = stats.gamma(a_N, scale=1.0 / b_N)
    return mu_marginal, tau_marginal


def normal_gamma_log_evidence(x, mu0, lambda0, a0, b0):
    """``log p(x)`` for Gaussian data with unknown mean and precision.

    Parameters
    ----------
    x : array_like, shape (N,)
    mu0, lambda0, a0, b0 : float
        Normal–Gamma prior.

    Returns
    -------
    float
        Log evidence in nats::

            log Γ(a_N) - log Γ(a0) + a0 log b0 - a_N log b_N
            + 1/2 log(lambda0 / lambda_N) - N/2 log 2π

    Notes
    -----
    The ratio of prior to posterior normalising constants of the Normal–Gamma
    family (``log p(x) = log p(x, mu, tau) - log p(mu, tau | x)`` at any point);
    checked in the tests against 2-D quadrature of :func:`normal_gamma_log_joint`.
    """
    mu_n, lambda_n, a_n, b_n = normal_gamma_posterior(x, mu0, lambda0, a0, b0)
    n = np.asarray(x).size
    return float(special.gammaln(a_n) - special.gammaln(a0) + a0 * np.log(b0) - a_n * np.log(b_n)
                 + 0.5 * (np.log(lambda0) - np.log(lambda_n)) - 0.5 * n * _LOG_2PI)


def random_covariance(d, rng):
    """A random symmetric positive-definite matrix, A Aᵀ / d + I / 2 with A standard normal.

    Parameters
    ----------
    d : int
        Dimension (>= 1).
    rng : numpy.random.Generator
        Source of the entries of A (seeded by the caller).

    Returns
    -------
    ndarray, shape (d, d)
        Its eigenvalues are at least 1/2, so it is moderately conditioned for small d.

    Raises
    ------
    ValueError
        If ``d`` is not a positive integer.
    """
    if isinstance(d, bool) or not isinstance(d, (int, np.integer)) or d < 1:
        raise ValueError(f"d must be a positive integer, got {d!r}")
    a = rng.normal(size=(d, d))
    return a @ a.T / d + 0.5 * np.eye(d)
