"""CAVI for the Gaussian models of chapter 04 (Bishop 2006, §10.1).

- :func:`cavi_factorized_gaussian` -- factorised Gaussian fit of ``N(mu, Lambda^{-1})``
  (Bishop 2006, §10.1.2, eqs 10.11–10.15);
- :func:`cavi_latent_linear` -- the 2-D (or d-D) latent linear-Gaussian model
  ``z ~ N(0, I)``, ``x | z ~ N(theta^T z, 1)``;
- :func:`cavi_normal_gamma` -- univariate Gaussian with unknown mean and precision,
  ``q(mu) q(tau)`` (Bishop 2006, §10.1.3, eqs 10.21–10.30).

The loops are written out on purpose: they are the algorithm the course teaches.
All numbers are float64; ELBOs are in nats.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from scipy import special

from ..models.gaussian import (
    _array,
    _check_data,
    _check_normal_gamma_prior,
    _check_theta_x,
    _positive_scalar,
    _precision_cholesky,
)
from ._common import _LOG_2PI, _check_iterations, _gamma_entropy

__all__ = [
    "FactorizedGaussianCAVI",
    "NormalGammaCAVI",
    "cavi_factorized_gaussian",
    "cavi_latent_linear",
    "cavi_normal_gamma",
    "elbo_factorized_gaussian",
    "elbo_latent_linear",
    "elbo_normal_gamma",
]


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
