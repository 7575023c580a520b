"""CAVI for Bayesian linear regression with unknown noise precision (after Bishop 2006, §10.3).

All numbers are float64; ELBOs are in nats.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from scipy import linalg, special

from ..models.gaussian import _array, _positive_scalar
from ._common import _LOG_2PI, _check_iterations, _gamma_entropy

__all__ = ["LinearRegressionCAVI", "cavi_linear_regression", "elbo_linear_regression"]


# =========================================================================== result
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
