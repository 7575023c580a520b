"""Coordinate-ascent variational inference (CAVI) for the course's conjugate models.

Each function runs the mean-field updates ``log q_j*(Z_j) = E_{i≠j}[log p(X, Z)] + const``
(Bishop 2006, eq. 10.9; Blei, Kucukelbir & McAuliffe 2017, eq. 17) one factor at a
time, and records the ELBO in closed form after every factor update, so that callers
can check that it never decreases.

- :func:`cavi_factorized_gaussian` -- factorised Gaussian fit of ``N(mu, Lambda^{-1})``
  (Bishop 2006, §10.1.2, eqs 10.11–10.15);
- :func:`cavi_latent_linear` -- the 2-D (or d-D) latent linear-Gaussian model
  ``z ~ N(0, I)``, ``x | z ~ N(theta^T z, 1)``;
- :func:`cavi_normal_gamma` -- univariate Gaussian with unknown mean and precision,
  ``q(mu) q(tau)`` (Bishop 2006, §10.1.3, eqs 10.21–10.30);
- :func:`cavi_linear_regression` -- Bayesian linear regression with unknown *noise*
  precision, ``q(w) q(beta)`` (after Bishop 2006, §10.3).

The loops are written out on purpose: they are the algorithm the course teaches.
All numbers are float64; ELBOs are in nats.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from scipy import linalg, special

from .models.gaussian import (
    _array,
    _check_data,
    _check_normal_gamma_prior,
    _check_theta_x,
    _positive_scalar,
    _precision_cholesky,
)

__all__ = [
    "FactorizedGaussianCAVI",
    "NormalGammaCAVI",
    "LinearRegressionCAVI",
    "cavi_factorized_gaussian",
    "cavi_latent_linear",
    "cavi_normal_gamma",
    "cavi_linear_regression",
    "elbo_factorized_gaussian",
    "elbo_latent_linear",
    "elbo_normal_gamma",
    "elbo_linear_regression",
    "elbo_is_non_decreasing",
]

_LOG_2PI = np.log(2.0 * np.pi)


def _check_iterations(max_sweeps, tol, name="max_sweeps"):
    if isinstance(max_sweeps, bool) or not isinstance(max_sweeps, (int, np.integer)):
        raise TypeError(f"{name} must be an int, got {type(max_sweeps).__name__}")
    if max_sweeps < 1:
        raise ValueError(f"{name} must be >= 1, got {max_sweeps}")
    tol = float(_array("tol", tol, ndim=0))
    if tol < 0:
        raise ValueError(f"tol must be >= 0, got {tol}")
    return int(max_sweeps), tol


def _gamma_entropy(a, b):
    """Entropy of Gam(a, b) (shape, rate) in nats (Bishop 2006, eq. B.31)."""
    return a - np.log(b) + special.gammaln(a) + (1.0 - a) * special.digamma(a)


def elbo_is_non_decreasing(elbo, rtol=1e-12):
    """Whether no step of an ELBO trace decreases it by more than rounding.

    Parameters
    ----------
    elbo : array_like, shape (n,)
        ELBO values (nats), in the order they were computed.
    rtol : float
        Allowed decrease per step, relative to ``max(1, |ELBO|)``: once CAVI has
        converged a step may lose a few units in the last place.

    Returns
    -------
    bool
        ``True`` if ``elbo[k+1] >= elbo[k] - rtol * max(1, |elbo[k+1]|)`` for every ``k``.

    Notes
    -----
    Every CAVI update maximises the ELBO over one factor (Bishop 2006, eq. 10.9),
    so in exact arithmetic the trace never decreases.

    Examples
    --------
    >>> elbo_is_non_decreasing([-3.0, -2.0, -2.0 - 1e-15])
    True
    >>> elbo_is_non_decreasing([-3.0, -2.0, -2.5])
    False
    """
    elbo = _array("elbo", elbo, ndim=1)
    rtol = float(_array("rtol", rtol, ndim=0))
    if rtol < 0:
        raise ValueError(f"rtol must be >= 0, got {rtol}")
    return bool(np.all(np.diff(elbo) >= -rtol * np.maximum(1.0, np.abs(elbo[1:]))))


# =========================================================================== results
class FactorizedGaussianCAVI(NamedTuple):
    """Result of a CAVI run with a fully factorised Gaussian ``q(z) = Π_j N(z_j | m_j, s_j²)``.

    Attributes
    ----------
    mu_q : ndarray, shape (d,)
        Final means ``m_j``.
    sigma_q : ndarray, shape (d,)
        Final standard deviations ``s_j``.
    mu_history : ndarray, shape (1 + d * n_sweeps, d)
        The means at initialisation and after every single-factor update, so that
        ``mu_history[::d]`` holds the state after each full sweep.
    elbo : ndarray, shape (1 + d * n_sweeps,)
        The ELBO (nats) at the same states.
    n_sweeps : int
        Sweeps run (one sweep updates every factor once, in order ``0, ..., d-1``).
    converged : bool
        Whether the means moved less than the tolerance in the last sweep.
    """

    mu_q: np.ndarray
    sigma_q: np.ndarray
    mu_history: np.ndarray
    elbo: np.ndarray
    n_sweeps: int
    converged: bool


class NormalGammaCAVI(NamedTuple):
    """Result of CAVI for unknown mean and precision, ``q(mu) q(tau)``.

    ``q(mu) = N(mu | mu_q, 1/lambda_q)`` and ``q(tau) = Gam(tau | a_q, b_q)`` (shape, rate).

    Attributes
    ----------
    mu_q, lambda_q, a_q, b_q : float
        Final parameters.
    history : ndarray, shape (1 + 2 * n_sweeps, 4)
        Rows ``(mu_q, lambda_q, a_q, b_q)`` at initialisation and after every
        factor update (``q(mu)`` first in each sweep, then ``q(tau)``).
    elbo : ndarray, shape (1 + 2 * n_sweeps,)
        The ELBO (nats) at the same states.
    n_sweeps : int
    converged : bool
    """

    mu_q: float
    lambda_q: float
    a_q: float
    b_q: float
    history: np.ndarray
    elbo: np.ndarray
    n_sweeps: int
    converged: bool

    @property
    def expected_tau(self):
        """``E_q[tau] = a_q / b_q``."""
        return self.a_q / self.b_q


class LinearRegressionCAVI(NamedTuple):
    """Result of :func:`cavi_linear_regression`: ``q(w) = N(mu_w, cov_w)``, ``q(beta) = Gam(a_beta, b_beta)``.

    Attributes
    ----------
    mu_w : ndarray, shape (M,)
        Mean of ``q(w)``.
    cov_w : ndarray, shape (M, M)
        Covariance of ``q(w)``.
    a_beta, b_beta : float
        Shape and rate of ``q(beta)``, the posterior factor of the noise precision.
    elbo : ndarray, shape (1 + 2 * n_iter,)
        ELBO (nats) at initialisation (both factors equal to their priors) and after
        every factor update (``q(w)`` then ``q(beta)`` in each iteration);
        ``elbo[2::2]`` is the ELBO at the end of each iteration.
    n_iter : int
        Iterations run.
    converged : bool
        Whether ``E_q[beta]`` changed by less than ``tol * E_q[beta]`` in the last iteration.
    """

    mu_w: np.ndarray
    cov_w: np.ndarray
    a_beta: float
    b_beta: float
    elbo: np.ndarray
    n_iter: int
    converged: bool

    @property
    def expected_beta(self):
        """``E_q[beta] = a_beta / b_beta``: the fitted noise precision."""
        return self.a_beta / self.b_beta


# =========================================================================== (a) factorised Gaussian
def elbo_factorized_gaussian(mu_q, sigma_q, mu, precision):
    """ELBO of ``q = Π_j N(m_j, s_j²)`` for the normalised target ``p = N(mu, Lambda^{-1})``.

    Parameters
    ----------
    mu_q, sigma_q : array_like, shape (d,)
        Means and standard deviations of the factors.
    mu : array_like, shape (d,)
        Target mean.
    precision : array_like, shape (d, d)
        Target precision ``Lambda`` (symmetric positive definite).

    Returns
    -------
    float
        ``E_q[log p(z)] + H[q]`` in nats.  Since ``p`` is normalised, this equals
        ``-KL(q ‖ p)``.

    Notes
    -----
    With ``delta = m - mu``::

        ELBO = 1/2 log|Lambda| - 1/2 delta^T Lambda delta
               - 1/2 sum_j Lambda_jj s_j² + sum_j log s_j + d/2
    """
    chol = _precision_cholesky(precision)
    lam = np.asarray(precision, dtype=float)
    mu = _array("mu", mu, ndim=1)
    mu_q = _array("mu_q", mu_q, ndim=1)
    sigma_q = _array("sigma_q", sigma_q, ndim=1)
    if np.any(sigma_q <= 0):
        raise ValueError(f"sigma_q must be > 0, got {sigma_q}")
    return _elbo_fg(mu_q, sigma_q, mu, lam, np.sum(np.log(np.diag(chol))))


def _elbo_fg(m, s, mu, lam, half_logdet):
    delta = m - mu
    d = m.size
    return float(half_logdet - 0.5 * delta @ lam @ delta - 0.5 * np.sum(np.diag(lam) * s * s)
                 + np.sum(np.log(s)) + 0.5 * d)


def cavi_factorized_gaussian(mu, precision, mu_init=None, *, max_sweeps=100, tol=1e-12):
    """CAVI for the factorised Gaussian approximation of ``N(mu, Lambda^{-1})``.

    Parameters
    ----------
    mu : array_like, shape (d,)
        Target mean.
    precision : array_like, shape (d, d)
        Target precision matrix ``Lambda`` (symmetric positive definite).
    mu_init : array_like, shape (d,), optional
        Initial means of the factors (default: zeros).  The initial standard
        deviations are ``1/sqrt(Lambda_jj)``, which the first update would set anyway.
    max_sweeps : int
        Maximum number of sweeps over the factors.
    tol : float
        Stop when no mean moved by more than ``tol * max(1, max|mu|)`` in a sweep.

    Returns
    -------
    FactorizedGaussianCAVI
        Final means and standard deviations, every intermediate mean and the ELBO.

    Raises
    ------
    ValueError
        If shapes disagree or ``precision`` is not symmetric positive definite.

    Notes
    -----
    Bishop (2006), eqs 10.12–10.15, written for ``d`` coordinates: the optimal
    factor given the others is ``q_j*(z_j) = N(z_j | m_j, Lambda_jj^{-1})`` with::

        m_j = mu_j - Lambda_jj^{-1} sum_{k≠j} Lambda_jk (m_k - mu_k)

    This is Gauss–Seidel on ``Lambda (m - mu) = 0``: the unique fixed point is
    ``m = mu`` and in two dimensions the error contracts by
    ``rho² = Lambda_12² / (Lambda_11 Lambda_22)`` per sweep.

    Examples
    --------
    >>> lam = np.array([[2.0, -1.0], [-1.0, 2.0]])
    >>> res = cavi_factorized_gaussian(np.array([1.0, -1.0]), lam)
    >>> bool(np.allclose(res.mu_q, [1.0, -1.0])), bool(np.allclose(res.sigma_q**2, 0.5))
    (True, True)
    """
    chol = _precision_cholesky(precision)
    lam = np.asarray(precision, dtype=float)
    d = lam.shape[0]
    mu = _array("mu", mu, ndim=1)
    if mu.shape != (d,):
        raise ValueError(f"mu must have shape ({d},), got {mu.shape}")
    m = np.zeros(d) if mu_init is None else _array("mu_init", mu_init, ndim=1).copy()
    if m.shape != (d,):
        raise ValueError(f"mu_init must have shape ({d},), got {m.shape}")
    max_sweeps, tol = _check_iterations(max_sweeps, tol)

    half_logdet = np.sum(np.log(np.diag(chol)))
    diag = np.diag(lam)
    s = 1.0 / np.sqrt(diag)  # Bishop eq. 10.13: the variance of q_j* is 1/Lambda_jj
    history = [m.copy()]
    elbo = [_elbo_fg(m, s, mu, lam, half_logdet)]
    scale = max(1.0, float(np.max(np.abs(mu))))
    converged = False
    sweeps = 0
    for sweeps in range(1, max_sweeps + 1):
        m_old = m.copy()
        for j in range(d):
            # sum over k ≠ j of Lambda_jk (m_k - mu_k)
            off = lam[j] @ (m - mu) - diag[j] * (m[j] - mu[j])
            m[j] = mu[j] - off / diag[j]
            history.append(m.copy())
            elbo.append(_elbo_fg(m, s, mu, lam, half_logdet))
        if np.max(np.abs(m - m_old)) <= tol * scale:
            converged = True
            break
    return FactorizedGaussianCAVI(m, s.copy(), np.array(history), np.array(elbo), sweeps, converged)


# =========================================================================== (b) latent linear-Gaussian
def elbo_latent_linear(mu_q, sigma_q, x, theta):
    """ELBO of ``q(z) = Π_j N(z_j | m_j, s_j²)`` for the latent linear-Gaussian model.

    Parameters
    ----------
    mu_q, sigma_q : array_like, shape (d,)
        Means and standard deviations of the factors.
    x : float
        Observation.
    theta : array_like, shape (d,)
        Loading vector of ``x | z ~ N(theta^T z, 1)``; prior ``z ~ N(0, I)``.

    Returns
    -------
    float
        ``E_q[log p(x, z)] + H[q]`` in nats::

            -1/2 log 2π - 1/2 [ sum_j (m_j² + s_j²) + (x - theta^T m)²
                                + sum_j theta_j² s_j² ] + sum_j log s_j + d/2
    """
    theta, x = _check_theta_x(theta, x)
    m = _array("mu_q", mu_q, ndim=1)
    s = _array("sigma_q", sigma_q, ndim=1)
    if m.shape != theta.shape or s.shape != theta.shape:
        raise ValueError(f"mu_q and sigma_q must have shape {theta.shape}")
    if np.any(s <= 0):
        raise ValueError(f"sigma_q must be > 0, got {s}")
    return _elbo_ll(m, s, x, theta)


def _elbo_ll(m, s, x, theta):
    r = x - theta @ m
    quad = np.sum(m * m + s * s) + r * r + np.sum(theta * theta * s * s)
    return float(-0.5 * _LOG_2PI - 0.5 * quad + np.sum(np.log(s)) + 0.5 * m.size)


def cavi_latent_linear(x, theta, mu_init=None, *, max_sweeps=100, tol=1e-12):
    """CAVI for ``z ~ N(0, I)``, ``x | z ~ N(theta^T z, 1)`` with ``q(z) = Π_j q_j(z_j)``.

    Parameters
    ----------
    x : float
        The observation.
    theta : array_like, shape (d,)
        Known loading vector.
    mu_init : array_like, shape (d,), optional
        Initial means (default: zeros); initial standard deviations are the
        optimal ``1/sqrt(1 + theta_j²)``.
    max_sweeps : int
    tol : float
        Stop when no mean moved by more than ``tol * max(1, |x|)`` in a sweep.

    Returns
    -------
    FactorizedGaussianCAVI
        ``mu_history`` and ``elbo`` are recorded after every factor update.

    Notes
    -----
    Completing the square in ``E_{q_{-j}}[log p(x, z)]`` (derived with SymPy in the
    chapter *Mean-field approximations and CAVI*) gives
    ``q_j*(z_j) = N(z_j | m_j, s_j²)`` with::

        s_j² = 1 / (1 + theta_j²)
        m_j  = theta_j (x - sum_{k≠j} theta_k m_k) / (1 + theta_j²)

    The fixed point is the exact posterior mean ``theta x / (1 + theta^T theta)``
    while ``s_j² <= `` the exact marginal variance: the factorised q is too compact.
    """
    theta, x = _check_theta_x(theta, x)
    d = theta.size
    m = np.zeros(d) if mu_init is None else _array("mu_init", mu_init, ndim=1).copy()
    if m.shape != (d,):
        raise ValueError(f"mu_init must have shape ({d},), got {m.shape}")
    max_sweeps, tol = _check_iterations(max_sweeps, tol)
    prec = 1.0 + theta * theta
    s = 1.0 / np.sqrt(prec)
    history = [m.copy()]
    elbo = [_elbo_ll(m, s, x, theta)]
    scale = max(1.0, abs(x))
    converged = False
    sweeps = 0
    for sweeps in range(1, max_sweeps + 1):
        m_old = m.copy()
        for j in range(d):
            others = theta @ m - theta[j] * m[j]
            m[j] = theta[j] * (x - others) / prec[j]
            history.append(m.copy())
            elbo.append(_elbo_ll(m, s, x, theta))
        if np.max(np.abs(m - m_old)) <= tol * scale:
            converged = True
            break
    return FactorizedGaussianCAVI(m, s.copy(), np.array(history), np.array(elbo), sweeps, converged)


# =========================================================================== (c) unknown mean and precision
def elbo_normal_gamma(mu_q, lambda_q, a_q, b_q, x, mu0, lambda0, a0, b0):
    """ELBO of ``q(mu) q(tau) = N(mu | mu_q, 1/lambda_q) Gam(tau | a_q, b_q)``.

    The model is Bishop (2006), §10.1.3: ``x_n ~ N(mu, 1/tau)``,
    ``mu | tau ~ N(mu0, 1/(lambda0 tau))``, ``tau ~ Gam(a0, b0)``.

    Parameters
    ----------
    mu_q, lambda_q, a_q, b_q : float
        Variational parameters (``lambda_q, a_q, b_q > 0``).
    x : array_like, shape (N,)
        Data.
    mu0, lambda0, a0, b0 : float
        Prior.

    Returns
    -------
    float
        ELBO in nats.

    Notes
    -----
    With ``E[tau] = a_q/b_q``, ``E[log tau] = psi(a_q) - log b_q`` and
    ``E[(x_n - mu)²] = (x_n - mu_q)² + 1/lambda_q``::

        ELBO = (N+1)/2 (E[log tau] - log 2π) + 1/2 log lambda0
               - E[tau]/2 (sum_n E[(x_n - mu)²] + lambda0 E[(mu - mu0)²])
               + a0 log b0 - log Γ(a0) + (a0 - 1) E[log tau] - b0 E[tau]
               + 1/2 log(2πe / lambda_q) + H[Gam(a_q, b_q)]
    """
    mu0, lambda0, a0, b0 = _check_normal_gamma_prior(mu0, lambda0, a0, b0)
    x = _check_data(x)
    mu_q = float(_array("mu_q", mu_q, ndim=0))
    lambda_q = _positive_scalar("lambda_q", lambda_q)
    a_q = _positive_scalar("a_q", a_q)
    b_q = _positive_scalar("b_q", b_q)
    return _elbo_ng(mu_q, lambda_q, a_q, b_q, x, mu0, lambda0, a0, b0)


def _elbo_ng(mu_q, lambda_q, a_q, b_q, x, mu0, lambda0, a0, b0):
    n = x.size
    e_tau = a_q / b_q
    e_log_tau = special.digamma(a_q) - np.log(b_q)
    e_sq_data = np.sum((x - mu_q) ** 2) + n / lambda_q
    e_sq_prior = (mu_q - mu0) ** 2 + 1.0 / lambda_q
    e_log_p = (0.5 * (n + 1) * (e_log_tau - _LOG_2PI) + 0.5 * np.log(lambda0)
               - 0.5 * e_tau * (e_sq_data + lambda0 * e_sq_prior)
               + a0 * np.log(b0) - special.gammaln(a0) + (a0 - 1.0) * e_log_tau - b0 * e_tau)
    entropy = 0.5 * (_LOG_2PI + 1.0 - np.log(lambda_q)) + _gamma_entropy(a_q, b_q)
    return float(e_log_p + entropy)


def cavi_normal_gamma(x, mu0, lambda0, a0, b0, *, mu_init=None, lambda_init=None,
                      a_init=None, b_init=None, max_sweeps=200, tol=1e-12):
    """CAVI for Gaussian data with unknown mean and precision, ``q(mu) q(tau)``.

    Parameters
    ----------
    x : array_like, shape (N,)
        Data.
    mu0, lambda0, a0, b0 : float
        Prior ``mu | tau ~ N(mu0, 1/(lambda0 tau))``, ``tau ~ Gam(a0, b0)``.
    mu_init, lambda_init, a_init, b_init : float, optional
        Initial ``q(mu) = N(mu_init, 1/lambda_init)`` and ``q(tau) = Gam(a_init, b_init)``;
        defaults are the prior: ``mu0``, ``lambda0 a0 / b0``, ``a0``, ``b0``.
    max_sweeps : int
    tol : float
        Stop when ``E[tau]`` changed by less than ``tol * E[tau]`` in a sweep.

    Returns
    -------
    NormalGammaCAVI

    Notes
    -----
    Bishop (2006), eqs 10.25–10.30.  A sweep updates ``q(mu)`` then ``q(tau)``::

        mu_q     = (lambda0 mu0 + N xbar) / (lambda0 + N)              (10.26)
        lambda_q = (lambda0 + N) E[tau]                                (10.27)
        a_q      = a0 + (N + 1) / 2                                    (10.29)
        b_q      = b0 + 1/2 E_mu[ sum_n (x_n - mu)² + lambda0 (mu - mu0)² ]   (10.30)

    ``mu_q`` equals the exact posterior location ``mu_N`` after one update; the
    factorised q cannot represent the posterior dependence between ``mu`` and ``tau``.
    """
    mu0, lambda0, a0, b0 = _check_normal_gamma_prior(mu0, lambda0, a0, b0)
    x = _check_data(x)
    max_sweeps, tol = _check_iterations(max_sweeps, tol)
    a = a0 if a_init is None else _positive_scalar("a_init", a_init)
    b = b0 if b_init is None else _positive_scalar("b_init", b_init)
    m = mu0 if mu_init is None else float(_array("mu_init", mu_init, ndim=0))
    lam = lambda0 * a0 / b0 if lambda_init is None else _positive_scalar("lambda_init", lambda_init)

    n = x.size
    xbar = x.mean()
    args = (x, mu0, lambda0, a0, b0)
    history = [(m, lam, a, b)]
    elbo = [_elbo_ng(m, lam, a, b, *args)]
    converged = False
    sweeps = 0
    for sweeps in range(1, max_sweeps + 1):
        e_tau_old = a / b
        # q(mu), Bishop eqs 10.26-10.27
        m = (lambda0 * mu0 + n * xbar) / (lambda0 + n)
        lam = (lambda0 + n) * (a / b)
        history.append((m, lam, a, b))
        elbo.append(_elbo_ng(m, lam, a, b, *args))
        # q(tau), Bishop eqs 10.29-10.30
        a = a0 + 0.5 * (n + 1)
        b = b0 + 0.5 * (np.sum((x - m) ** 2) + n / lam + lambda0 * ((m - mu0) ** 2 + 1.0 / lam))
        history.append((m, lam, a, b))
        elbo.append(_elbo_ng(m, lam, a, b, *args))
        if abs(a / b - e_tau_old) <= tol * (a / b):
            converged = True
            break
    return NormalGammaCAVI(float(m), float(lam), float(a), float(b), np.array(history),
                           np.array(elbo), sweeps, converged)


# =========================================================================== (d) linear regression
def _check_regression(X, y):
    X = _array("X", X, ndim=2)
    y = _array("y", y, ndim=1)
    if X.shape[0] != y.shape[0]:
        raise ValueError(f"X and y must have the same number of rows, got {X.shape[0]} and {y.shape[0]}")
    if X.shape[0] == 0 or X.shape[1] == 0:
        raise ValueError(f"X must be non-empty, got shape {X.shape}")
    return X, y


def _elbo_lr(mu_w, cov_w, a, b, y, X, alpha, a0, b0, tr_xx_cov, logdet_cov):
    n, m_dim = X.shape
    e_beta = a / b
    e_log_beta = special.digamma(a) - np.log(b)
    resid = y - X @ mu_w
    e_sq = resid @ resid + tr_xx_cov  # E_q(w)||y - Xw||²
    e_log_lik = 0.5 * n * (e_log_beta - _LOG_2PI) - 0.5 * e_beta * e_sq
    e_log_prior_w = 0.5 * m_dim * (np.log(alpha) - _LOG_2PI) - 0.5 * alpha * (mu_w @ mu_w + np.trace(cov_w))
    e_log_prior_beta = a0 * np.log(b0) - special.gammaln(a0) + (a0 - 1.0) * e_log_beta - b0 * e_beta
    h_w = 0.5 * m_dim * (1.0 + _LOG_2PI) + 0.5 * logdet_cov
    h_beta = _gamma_entropy(a, b)
    return float(e_log_lik + e_log_prior_w + e_log_prior_beta + h_w + h_beta)


def elbo_linear_regression(mu_w, cov_w, a_beta, b_beta, X, y, *, alpha, a0, b0):
    """ELBO of ``q(w) q(beta) = N(w | mu_w, cov_w) Gam(beta | a_beta, b_beta)``.

    For the model of :func:`cavi_linear_regression`.

    Parameters
    ----------
    mu_w : array_like, shape (M,)
    cov_w : array_like, shape (M, M)
        Symmetric positive definite.
    a_beta, b_beta : float
        Shape and rate of ``q(beta)``.
    X : array_like, shape (N, M)
    y : array_like, shape (N,)
    alpha, a0, b0 : float
        Known prior precision of ``w``; Gamma prior of ``beta``.

    Returns
    -------
    float
        ``E_q[log p(y | w, beta) + log p(w) + log p(beta)] + H[q(w)] + H[q(beta)]`` (nats),
        with ``E_q||y - Xw||² = ||y - X mu_w||² + tr(X^T X cov_w)``.
    """
    X, y = _check_regression(X, y)
    mu_w = _array("mu_w", mu_w, ndim=1)
    if mu_w.shape != (X.shape[1],):
        raise ValueError(f"mu_w must have shape ({X.shape[1]},), got {mu_w.shape}")
    cov_w = _array("cov_w", cov_w, ndim=2)
    try:
        chol = np.linalg.cholesky(cov_w)
    except np.linalg.LinAlgError as exc:
        raise ValueError("cov_w must be positive definite") from exc
    alpha = _positive_scalar("alpha", alpha)
    a0 = _positive_scalar("a0", a0)
    b0 = _positive_scalar("b0", b0)
    a = _positive_scalar("a_beta", a_beta)
    b = _positive_scalar("b_beta", b_beta)
    xl = X @ chol
    return _elbo_lr(mu_w, cov_w, a, b, y, X, alpha, a0, b0, float(np.sum(xl * xl)),
                    2.0 * float(np.sum(np.log(np.diag(chol)))))


def cavi_linear_regression(X, y, *, alpha=1.0, a0=1e-2, b0=1e-2, max_iter=500, tol=1e-10):
    """Mean-field VI for Bayesian linear regression with **unknown noise precision** ``beta``.

    The model (the prior precision ``alpha`` of the weights is known and fixed)::

        y_n | w, beta ~ N(w^T x_n, 1/beta),   n = 1..N
        w             ~ N(0, alpha^{-1} I_M)
        beta          ~ Gam(a0, b0)           (shape a0, rate b0; E[beta] = a0/b0)

    approximated by ``q(w, beta) = q(w) q(beta)``.  Because ``w`` and ``beta`` are
    a priori independent (``w`` is *not* scaled by ``beta``), the exact posterior is
    not Normal–Gamma and has no closed form; CAVI gives ``q(w) = N(mu_w, cov_w)`` and
    ``q(beta) = Gam(a_beta, b_beta)``.

    Parameters
    ----------
    X : array_like, shape (N, M)
        Design matrix (include a column of ones for an intercept).
    y : array_like, shape (N,)
        Targets.
    alpha : float
        Known prior precision of the weights, > 0.
    a0, b0 : float
        Shape and rate of the Gamma prior on the noise precision ``beta``, > 0.
    max_iter : int
        Maximum number of iterations (each updates ``q(w)`` then ``q(beta)``).
    tol : float
        Stop when ``E_q[beta]`` changed by less than ``tol * E_q[beta]`` in an iteration
        (a parameter criterion: the ELBO is flat near its maximum, so a criterion on the
        ELBO would stop with parameters accurate only to about ``sqrt(tol)``).

    Returns
    -------
    LinearRegressionCAVI
        ``mu_w``, ``cov_w``, ``a_beta``, ``b_beta`` (and the property ``expected_beta``),
        the ELBO trace ``elbo`` (initial state, then after every factor update),
        ``n_iter`` and ``converged``.

    Raises
    ------
    ValueError
        On shapes that disagree, non-finite data, or non-positive ``alpha, a0, b0``.

    Notes
    -----
    This follows Bishop (2006), §10.3 (eqs 10.87–10.98) with the roles of the two
    precisions exchanged: Bishop keeps the noise precision ``beta`` known and puts a
    Gamma prior on the weight precision ``alpha``; here ``alpha`` is known and
    ``beta`` is unknown.  The updates below are derived from eq. 10.9 for this model
    (they are checked in ``tests/test_cavi.py`` against the exact posterior, computed
    by quadrature over ``beta``).
    The general result ``log q_j* = E_{i≠j}[log p] + const`` (Bishop eq. 10.9) gives::

        cov_w^{-1} = alpha I + E[beta] X^T X
        mu_w       = E[beta] cov_w X^T y
        a_beta     = a0 + N / 2
        b_beta     = b0 + 1/2 ( ||y - X mu_w||² + tr(X^T X cov_w) )

    with ``E[beta] = a_beta / b_beta``.  ``q(w)`` is computed from a Cholesky
    factorisation of its precision (no explicit inverse of ``X^T X``).  The ELBO is
    evaluated in closed form (:func:`elbo_linear_regression`) and never decreases.

    When ``q(beta)`` is concentrated (``a0, b0 → ∞`` with ``a0/b0 = beta``), ``q(w)``
    is the exact conjugate posterior for known ``beta`` (Bishop 2006, eqs 3.53–3.54).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> X = np.column_stack([np.ones(200), rng.uniform(-1, 1, 200)])
    >>> y = X @ np.array([0.5, -1.0]) + rng.normal(0, 0.2, 200)
    >>> res = cavi_linear_regression(X, y, alpha=1.0)
    >>> res.converged, round(float(1 / np.sqrt(res.expected_beta)), 1)
    (True, 0.2)
    """
    X, y = _check_regression(X, y)
    alpha = _positive_scalar("alpha", alpha)
    a0 = _positive_scalar("a0", a0)
    b0 = _positive_scalar("b0", b0)
    max_iter, tol = _check_iterations(max_iter, tol, name="max_iter")
    n, m_dim = X.shape
    xtx = X.T @ X
    xty = X.T @ y
    eye = np.eye(m_dim)

    # initial state: both factors at their priors
    mu_w = np.zeros(m_dim)
    cov_w = eye / alpha
    a, b = a0, b0
    args = (y, X, alpha, a0, b0)
    elbo = [_elbo_lr(mu_w, cov_w, a, b, *args, float(np.sum(X * X)) / alpha, -m_dim * np.log(alpha))]
    converged = False
    it = 0
    for it in range(1, max_iter + 1):
        e_beta = a / b
        # q(w): precision alpha I + E[beta] X^T X, via its Cholesky factor L
        chol = linalg.cholesky(alpha * eye + e_beta * xtx, lower=True)
        mu_w = e_beta * linalg.cho_solve((chol, True), xty)
        cov_w = linalg.cho_solve((chol, True), eye)
        cov_w = 0.5 * (cov_w + cov_w.T)
        xl = linalg.solve_triangular(chol, X.T, lower=True)  # tr(X^T X cov_w) = ||L^{-1} X^T||²_F
        tr_xx_cov = float(np.sum(xl * xl))
        logdet_cov = -2.0 * float(np.sum(np.log(np.diag(chol))))
        elbo.append(_elbo_lr(mu_w, cov_w, a, b, *args, tr_xx_cov, logdet_cov))
        # q(beta)
        resid = y - X @ mu_w
        a = a0 + 0.5 * n
        b = b0 + 0.5 * (resid @ resid + tr_xx_cov)
        elbo.append(_elbo_lr(mu_w, cov_w, a, b, *args, tr_xx_cov, logdet_cov))
        if abs(a / b - e_beta) <= tol * (a / b):
            converged = True
            break
    return LinearRegressionCAVI(mu_w, cov_w, float(a), float(b), np.array(elbo), it, converged)
