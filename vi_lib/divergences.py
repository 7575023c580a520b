r"""Divergences between probability distributions, in nats.

Every function here follows two conventions:

* the first distribution named in the signature is the left side of ``‖``;
  ``kl_normal(mu_q, sigma_q, mu_p, sigma_p)`` is
  :math:`\mathrm{KL}(q \,\|\, p)`, ``alpha_divergence_normal(alpha, mu_p, sigma_p,
  mu_q, sigma_q)`` is :math:`D_\alpha(p \,\|\, q)`;
* ``sigma`` is a standard deviation (SciPy's ``scale``), ``cov`` a covariance
  matrix, results are in nats and in float64, and parameters broadcast against
  each other over leading (batch) axes.

The closed forms are evaluated so that they stay accurate to a few units in the
last place when the two distributions are almost equal (where the textbook
formula ``0.5 * (r - 1 - log r + ...)`` cancels catastrophically) and when the
scales differ by hundreds of orders of magnitude (where the variance ratio
``r`` overflows). The two ingredients are

* the log of a scale ratio, computed as ``log1p((sigma_q - sigma_p) / sigma_p)``
  when the ratio is near one and from logarithms when the ratio would over- or
  underflow;
* the function :math:`x \mapsto e^x - 1 - x`, evaluated by its Taylor series
  for small :math:`|x|` instead of ``expm1(x) - x``, which loses
  :math:`\log_{10}(2/|x|)` digits.

Bad input raises :class:`ValueError` (naming the argument) or
:class:`TypeError`; valid finite input never gives NaN.

References
----------
Kullback, S. and Leibler, R. A. (1951). On information and sufficiency.
*Ann. Math. Statist.* 22(1), 79--86.

Bishop, C. M. (2006). *Pattern Recognition and Machine Learning*. Springer,
section 10.1.2 (eq. 10.19, the alpha family).

Gil, M., Alajaji, F. and Linder, T. (2013). Rényi divergence measures for
commonly used univariate continuous distributions. *Information Sciences* 249,
124--131 (Table 2).

Higham, N. J. (2002). *Accuracy and Stability of Numerical Algorithms*, 2nd
ed. SIAM (Cholesky, triangular solves, cancellation).
"""

from __future__ import annotations

import math
import numbers
import warnings

import numpy as np
from scipy import integrate, stats

__all__ = [
    "kl_normal",
    "kl_mvn_diag",
    "kl_mvn",
    "kl_divergence",
    "kl_monte_carlo",
]

_LN2 = math.log(2.0)

# ---------------------------------------------------------------------------
# Input validation
# ---------------------------------------------------------------------------


def _as_array(name, x):
    """``x`` as a float64 array; TypeError if it is not real-numeric."""
    if isinstance(x, (str, bytes)) or x is None:
        raise TypeError(f"{name} must be a real number or array of real numbers, "
                        f"got {type(x).__name__}")
    try:
        arr = np.asarray(x)
    except Exception as exc:  # pragma: no cover - exotic array-likes
        raise TypeError(f"{name} must be a real number or array of real numbers") from exc
    if arr.dtype.kind not in "iuf":
        raise TypeError(f"{name} must be a real number or array of real numbers, "
                        f"got dtype {arr.dtype} ({type(x).__name__})")
    return arr.astype(np.float64, copy=False)


def _first_bad(arr, good):
    """The first element of ``arr`` where ``good`` is False, as a Python float."""
    return float(np.asarray(arr)[~np.asarray(good)].flat[0])


def _location(name, x):
    arr = _as_array(name, x)
    ok = np.isfinite(arr)
    if not ok.all():
        raise ValueError(f"{name} must be finite, got {_first_bad(arr, ok)}")
    return arr


def _scale(name, x):
    arr = _as_array(name, x)
    ok = (arr > 0.0) & (arr < np.inf)
    if not ok.all():
        bad = _first_bad(arr, ok)
        if np.isnan(bad) or np.isinf(bad):
            raise ValueError(f"{name} must be finite and > 0, got {bad}")
        raise ValueError(f"{name} must be > 0, got {bad}")
    return arr


def _real_scalar(name, x):
    """A finite real scalar or array (alpha, order)."""
    arr = _as_array(name, x)
    ok = np.isfinite(arr)
    if not ok.all():
        raise ValueError(f"{name} must be finite, got {_first_bad(arr, ok)}")
    return arr


def _broadcast(**arrays):
    """Broadcast named arrays; ValueError naming them all if impossible."""
    try:
        shape = np.broadcast_shapes(*(a.shape for a in arrays.values()))
    except ValueError:
        shapes = ", ".join(f"{k} {v.shape}" for k, v in arrays.items())
        raise ValueError(f"shapes do not broadcast: {shapes}") from None
    return shape, [np.broadcast_to(a, shape) for a in arrays.values()]


def _covariance(name, x):
    """Validated symmetric positive-definite covariance, shape (..., d, d)."""
    arr = _as_array(name, x)
    if arr.ndim < 2 or arr.shape[-1] != arr.shape[-2]:
        raise ValueError(f"{name} must have shape (..., d, d), got {arr.shape}")
    if arr.shape[-1] == 0:
        raise ValueError(f"{name} must have d >= 1, got shape {arr.shape}")
    ok = np.isfinite(arr)
    if not ok.all():
        raise ValueError(f"{name} must be finite, got {_first_bad(arr, ok)}")
    arr_t = np.swapaxes(arr, -1, -2)
    scale = np.max(np.abs(arr), axis=(-2, -1), keepdims=True)
    if np.any(np.abs(arr - arr_t) > 1e-10 * scale):
        raise ValueError(f"{name} must be symmetric")
    arr = 0.5 * (arr + arr_t)
    try:
        chol = np.linalg.cholesky(arr)
    except np.linalg.LinAlgError:
        raise ValueError(f"{name} must be positive definite") from None
    diag = np.diagonal(chol, axis1=-2, axis2=-1)
    if not (np.all(diag > 0.0) and np.all(np.isfinite(chol))):
        raise ValueError(f"{name} must be positive definite")
    return arr, chol


def _mean_vector(name, x):
    arr = _location(name, x)
    if arr.ndim < 1 or arr.shape[-1] == 0:
        raise ValueError(f"{name} must have shape (..., d) with d >= 1, got {arr.shape}")
    return arr


# ---------------------------------------------------------------------------
# Accurate elementary helpers
# ---------------------------------------------------------------------------

# 1/k! for k = 2..17: the Taylor coefficients of exp(x) - 1 - x.
_EXPM1MX_COEF = np.array([1.0 / math.factorial(k) for k in range(17, 1, -1)])
_SERIES_CUT = 0.5


def _expm1mx_series(x):
    """exp(x) - 1 - x for |x| <= 0.5 by Horner's rule on the Taylor series.

    The truncation error of the 16 terms is below 2e-19 relative; every term
    has the sign pattern of x**k, so the sum is accurate to a few ulp.
    """
    acc = np.full_like(x, _EXPM1MX_COEF[0])
    for c in _EXPM1MX_COEF[1:]:
        acc = acc * x + c
    return acc * x * x


def _expm1mx(x):
    """exp(x) - 1 - x, accurate to a few ulp for every float64 x (>= 0)."""
    x = np.asarray(x, dtype=np.float64)
    with np.errstate(over="ignore", invalid="ignore"):
        out = np.expm1(x) - x
    small = np.abs(x) < _SERIES_CUT
    if small.any():
        if out.ndim == 0:
            out = _expm1mx_series(x)
        else:
            out[small] = _expm1mx_series(x[small])
    return out


def _log_ratio(num, den):
    """t = log(num / den) for positive arrays, accurate and overflow-free.

    Returns ``(t, ratio)`` where ``ratio = num / den`` as computed (may be 0 or
    inf). Near ratio 1 uses ``log1p((num - den) / den)`` (the difference is
    exact by Sterbenz's lemma); when the ratio leaves the normal range uses
    ``log(num) - log(den)``.
    """
    with np.errstate(over="ignore", under="ignore", divide="ignore"):
        ratio = num / den
        t = np.log(ratio)
    near = np.abs(t) < 0.25
    extreme = ~((ratio > 1e-300) & (ratio < 1e300))
    if near.any() or extreme.any():
        t = np.array(t, copy=True)
        if t.ndim == 0:
            if near:
                t = np.log1p((num - den) / den)
            elif extreme:
                t = np.log(num) - np.log(den)
        else:
            idx = np.nonzero(near)
            t[idx] = np.log1p((num[idx] - den[idx]) / den[idx])
            idx = np.nonzero(extreme)
            t[idx] = np.log(num[idx]) - np.log(den[idx])
    return t, ratio


def _half_f_of_2t(t, ratio):
    """(exp(2t) - 1 - 2t) / 2, given t = log(ratio), without overflow.

    For |t| >= 0.25 uses ``0.5 * ratio**2 - 0.5 - t`` (cancellation costs at
    most a factor ~12), written so that ``ratio**2 / 2`` cannot overflow early;
    for |t| < 0.25 the series of :func:`_expm1mx`.
    """
    with np.errstate(over="ignore", under="ignore"):
        out = (0.5 * ratio) * ratio - 0.5 - t
    near = np.abs(t) < 0.25
    if near.any():
        if out.ndim == 0:
            out = 0.5 * _expm1mx_series(2.0 * t)
        else:
            out = np.array(out, copy=True)
            out[near] = 0.5 * _expm1mx_series(2.0 * t[near])
    return out


def _standardised_difference(mu_a, mu_b, sigma):
    """(mu_a - mu_b) / sigma without spurious overflow of the difference."""
    with np.errstate(over="ignore"):
        diff = mu_a - mu_b
    bad = np.isinf(diff)
    with np.errstate(over="ignore"):
        out = diff / sigma
        if bad.any():
            # |mu| near the float64 limit: divide first (no cancellation, signs differ).
            out = np.where(bad, mu_a / sigma - mu_b / sigma, out)
    return out


def _half_square(x):
    """x**2 / 2 written as (x/2)*x so it overflows only if the result does."""
    with np.errstate(over="ignore", under="ignore"):
        return (0.5 * x) * x


def _scalar_or_array(x):
    x = np.asarray(x, dtype=np.float64)
    return x[()] if x.ndim == 0 else x


# ---------------------------------------------------------------------------
# Kullback--Leibler divergence
# ---------------------------------------------------------------------------


def kl_normal(mu_q, sigma_q, mu_p, sigma_p):
    r"""Kullback--Leibler divergence between univariate normals, in nats.

    Computes :math:`\mathrm{KL}\big(\mathcal N(\mu_q, \sigma_q^2) \,\|\,
    \mathcal N(\mu_p, \sigma_p^2)\big)` elementwise, accurate to a few units in
    the last place for all positive finite scales (1e-300 to 1e300) and all
    finite means, including :math:`q \approx p`.

    Parameters
    ----------
    mu_q, sigma_q : array_like
        Mean and standard deviation of :math:`q`, the left side of ``‖``.
    mu_p, sigma_p : array_like
        Mean and standard deviation of :math:`p`. All four broadcast to a common
        shape ``(...)``.

    Returns
    -------
    kl : float or ndarray, shape (...)
        The divergence in nats, ``>= 0``; ``inf`` only if the exact value
        exceeds the float64 range.

    Raises
    ------
    ValueError
        If a mean is NaN or infinite, a standard deviation is not finite and
        positive, or the shapes do not broadcast (the message names the
        argument).
    TypeError
        If an argument is not real-numeric.

    See Also
    --------
    kl_mvn_diag, kl_mvn, kl_divergence

    Notes
    -----
    With :math:`t = \log\sigma_q - \log\sigma_p` and
    :math:`\delta = (\mu_q - \mu_p)/\sigma_p`,

    .. math::

        \mathrm{KL}(q\,\|\,p) = \log\frac{\sigma_p}{\sigma_q}
        + \frac{\sigma_q^2 + (\mu_q-\mu_p)^2}{2\sigma_p^2} - \frac12
        = \tfrac12\big[(e^{2t} - 1 - 2t) + \delta^2\big]

    (Kullback and Leibler 1951; Bishop 2006, exercise 1.30). The textbook
    evaluation ``0.5 * (r - 1 - log(r) + delta**2)`` with
    :math:`r = \sigma_q^2/\sigma_p^2` subtracts numbers of size one to get a
    result of size :math:`t^2`, so it returns rounding noise when
    :math:`q \approx p`, and ``r`` overflows for very different scales. Here
    :math:`t` comes from ``log1p((sigma_q - sigma_p) / sigma_p)`` near
    :math:`t = 0` (exact difference by Sterbenz's lemma, Higham 2002, thm 2.5)
    and from the difference of logarithms when the ratio leaves the float64
    range; :math:`e^{2t} - 1 - 2t` uses its Taylor series for :math:`|t| < 1/4`.
    Both terms are non-negative, so no cancellation remains.

    Examples
    --------
    >>> from vi_lib.divergences import kl_normal
    >>> float(kl_normal(0.0, 1.0, 1.0, 2.0))  # doctest: +ELLIPSIS
    0.4431471805599...
    >>> float(kl_normal(0.0, 1.0 + 1e-10, 0.0, 1.0))  # the textbook formula gives 0.0
    1.00000016...e-20

    (The float64 number nearest to ``1 + 1e-10`` is ``1 + 1.00000000827e-10``,
    hence the digits after the seventh.)
    """
    mu_q = _location("mu_q", mu_q)
    sigma_q = _scale("sigma_q", sigma_q)
    mu_p = _location("mu_p", mu_p)
    sigma_p = _scale("sigma_p", sigma_p)
    _, (mu_q, sigma_q, mu_p, sigma_p) = _broadcast(
        mu_q=mu_q, sigma_q=sigma_q, mu_p=mu_p, sigma_p=sigma_p)
    return _scalar_or_array(_kl_normal(mu_q, sigma_q, mu_p, sigma_p))


def _kl_normal(mu_q, sigma_q, mu_p, sigma_p):
    t, ratio = _log_ratio(sigma_q, sigma_p)
    delta = _standardised_difference(mu_q, mu_p, sigma_p)
    with np.errstate(over="ignore"):
        return _half_f_of_2t(t, ratio) + _half_square(delta)


def kl_mvn_diag(mu_q, sigma_q, mu_p, sigma_p):
    r"""KL divergence between Gaussians with diagonal covariances, in nats.

    Computes :math:`\mathrm{KL}\big(\mathcal N(\mu_q, \mathrm{diag}\,\sigma_q^2)
    \,\|\, \mathcal N(\mu_p, \mathrm{diag}\,\sigma_p^2)\big)`: the sum over the
    last axis of :func:`kl_normal`, since both densities factorise.

    Parameters
    ----------
    mu_q, sigma_q : array_like, shape (..., d)
        Mean vector and per-coordinate standard deviations of :math:`q`.
    mu_p, sigma_p : array_like, shape (..., d)
        The same for :math:`p`. All four broadcast to a common shape
        ``(..., d)`` with ``d >= 1``.

    Returns
    -------
    kl : float or ndarray, shape (...)
        The divergence in nats.

    Raises
    ------
    ValueError
        As for :func:`kl_normal`, or if the broadcast shape has no last axis.
    TypeError
        If an argument is not real-numeric.

    Notes
    -----
    :math:`\mathrm{KL} = \sum_{i=1}^d \tfrac12\big[\sigma_{q,i}^2/\sigma_{p,i}^2
    - 1 - \log(\sigma_{q,i}^2/\sigma_{p,i}^2) + (\mu_{q,i}-\mu_{p,i})^2/\sigma_{p,i}^2\big]`,
    a sum of non-negative terms, each evaluated as in :func:`kl_normal`. With
    :math:`p = \mathcal N(0, I)` this is the KL term of the VAE objective
    (Kingma and Welling 2014), :math:`\tfrac12\sum_i(\sigma_i^2 + \mu_i^2 - 1 -
    \log\sigma_i^2)`.

    Examples
    --------
    >>> from vi_lib.divergences import kl_mvn_diag
    >>> float(kl_mvn_diag([0.0, 1.0], [1.0, 2.0], [0.0, 0.0], [1.0, 1.0]))  # doctest: +ELLIPSIS
    1.306852819440...
    """
    mu_q = _location("mu_q", mu_q)
    sigma_q = _scale("sigma_q", sigma_q)
    mu_p = _location("mu_p", mu_p)
    sigma_p = _scale("sigma_p", sigma_p)
    shape, (mu_q, sigma_q, mu_p, sigma_p) = _broadcast(
        mu_q=mu_q, sigma_q=sigma_q, mu_p=mu_p, sigma_p=sigma_p)
    if len(shape) == 0 or shape[-1] == 0:
        raise ValueError(f"mu_q, sigma_q, mu_p, sigma_p must broadcast to shape (..., d) "
                         f"with d >= 1, got {shape}")
    with np.errstate(over="ignore"):
        return _scalar_or_array(np.sum(_kl_normal(mu_q, sigma_q, mu_p, sigma_p), axis=-1))


def _solve_lower(chol, b):
    """Solve chol @ x = b for lower-triangular chol, batched (b has shape (..., d, k))."""
    return np.linalg.solve(chol, b)


def _mvn_parts(mu_q, cov_q, mu_p, cov_p, need_chol_q=True):
    """Validate and broadcast the arguments of the multivariate functions."""
    mu_q = _mean_vector("mu_q", mu_q)
    mu_p = _mean_vector("mu_p", mu_p)
    cov_q, chol_q = _covariance("cov_q", cov_q)
    cov_p, chol_p = _covariance("cov_p", cov_p)
    d = cov_p.shape[-1]
    for name, arr in (("mu_q", mu_q), ("mu_p", mu_p), ("cov_q", cov_q)):
        if arr.shape[-1] != d:
            raise ValueError(f"{name} has dimension {arr.shape[-1]} but cov_p is {d} x {d}")
    try:
        batch = np.broadcast_shapes(mu_q.shape[:-1], mu_p.shape[:-1],
                                    cov_q.shape[:-2], cov_p.shape[:-2])
    except ValueError:
        raise ValueError(
            f"batch shapes do not broadcast: mu_q {mu_q.shape}, cov_q {cov_q.shape}, "
            f"mu_p {mu_p.shape}, cov_p {cov_p.shape}") from None
    mu_q = np.broadcast_to(mu_q, batch + (d,))
    mu_p = np.broadcast_to(mu_p, batch + (d,))
    cov_q = np.broadcast_to(cov_q, batch + (d, d))
    cov_p = np.broadcast_to(cov_p, batch + (d, d))
    chol_q = np.broadcast_to(chol_q, batch + (d, d))
    chol_p = np.broadcast_to(chol_p, batch + (d, d))
    return batch, d, mu_q, cov_q, chol_q, mu_p, cov_p, chol_p


def _whitened_difference(cov_q, cov_p, chol_p):
    """E = L_p^{-1} (cov_q - cov_p) L_p^{-T}, symmetrised; its eigenvalues are λ_i - 1."""
    diff = cov_q - cov_p
    a = _solve_lower(chol_p, diff)
    e = _solve_lower(chol_p, np.swapaxes(a, -1, -2))
    return 0.5 * (e + np.swapaxes(e, -1, -2))


def kl_mvn(mu_q, cov_q, mu_p, cov_p):
    r"""KL divergence between multivariate normals with full covariances, in nats.

    Computes :math:`\mathrm{KL}\big(\mathcal N(\mu_q, \Sigma_q) \,\|\,
    \mathcal N(\mu_p, \Sigma_p)\big)` for batches of Gaussians, from Cholesky
    factors and triangular solves (no matrix inverse). The result is never
    negative, and stays accurate when :math:`\Sigma_q \approx \Sigma_p`.

    Parameters
    ----------
    mu_q : array_like, shape (..., d)
        Mean of :math:`q`, the left side of ``‖``.
    cov_q : array_like, shape (..., d, d)
        Covariance of :math:`q`, symmetric positive definite.
    mu_p : array_like, shape (..., d)
        Mean of :math:`p`.
    cov_p : array_like, shape (..., d, d)
        Covariance of :math:`p`, symmetric positive definite. The batch shapes
        ``(...)`` of the four arguments broadcast.

    Returns
    -------
    kl : float or ndarray, shape (...)
        The divergence in nats, ``>= 0``.

    Raises
    ------
    ValueError
        If a mean is not finite, a covariance is not finite, not symmetric (to
        a relative 1e-10) or not positive definite, the dimensions disagree or
        the batch shapes do not broadcast; the message names the argument.
    TypeError
        If an argument is not real-numeric.

    Notes
    -----
    .. math::

        \mathrm{KL}(q\,\|\,p) = \tfrac12\Big[\operatorname{tr}(\Sigma_p^{-1}\Sigma_q)
        - d - \log\frac{\det\Sigma_q}{\det\Sigma_p}
        + (\mu_q-\mu_p)^\top\Sigma_p^{-1}(\mu_q-\mu_p)\Big]

    (Kullback and Leibler 1951; Bishop 2006, eq. 10.x family; Murphy 2023).
    Write :math:`\Sigma_p = L_pL_p^\top`, :math:`\Sigma_q = L_qL_q^\top` and
    :math:`C = L_p^{-1}L_q` (lower triangular, diagonal
    :math:`c_i = L_{q,ii}/L_{p,ii}`). Then the covariance part equals

    .. math::

        \operatorname{tr}(CC^\top) - d - 2\sum_i\log c_i
        = \sum_{i>j} C_{ij}^2 + \sum_i \big(e^{2\log c_i} - 1 - 2\log c_i\big),

    a sum of non-negative terms evaluated like :func:`kl_normal`, and the mean
    part is :math:`\|L_p^{-1}(\mu_q-\mu_p)\|^2`. When the covariance part is
    small (below one nat) the off-diagonal of :math:`C` is itself a small
    difference of rounded numbers, so it is recomputed from the eigenvalues
    :math:`\varepsilon_i` of :math:`E = L_p^{-1}(\Sigma_q-\Sigma_p)L_p^{-\top}`
    as :math:`\sum_i (\varepsilon_i - \log(1+\varepsilon_i))`, which uses the
    difference :math:`\Sigma_q-\Sigma_p` of the inputs directly. Forward error
    is of order :math:`d\,\kappa(\Sigma_p)\,u` relative (Higham 2002, ch. 8, 10).

    Examples
    --------
    >>> import numpy as np
    >>> from vi_lib.divergences import kl_mvn
    >>> cov = np.array([[2.0, 0.5], [0.5, 1.0]])
    >>> float(kl_mvn(np.zeros(2), cov, np.zeros(2), np.eye(2)))  # doctest: +ELLIPSIS
    0.22019210603228...
    """
    batch, d, mu_q, cov_q, chol_q, mu_p, cov_p, chol_p = _mvn_parts(mu_q, cov_q, mu_p, cov_p)
    return _scalar_or_array(_kl_mvn(mu_q, cov_q, chol_q, mu_p, cov_p, chol_p))


def _kl_mvn(mu_q, cov_q, chol_q, mu_p, cov_p, chol_p):
    batch, d = cov_p.shape[:-2], cov_p.shape[-1]
    mu_q, mu_p = mu_q.reshape(-1, d), mu_p.reshape(-1, d)
    cov_q, chol_q = cov_q.reshape(-1, d, d), chol_q.reshape(-1, d, d)
    cov_p, chol_p = cov_p.reshape(-1, d, d), chol_p.reshape(-1, d, d)
    # Mean part: || L_p^{-1} (mu_q - mu_p) ||^2.
    z = _solve_lower(chol_p, (mu_q - mu_p)[..., None])[..., 0]
    mean_part = np.sum(z * z, axis=-1)
    # Covariance part from C = L_p^{-1} L_q.
    dq = np.diagonal(chol_q, axis1=-2, axis2=-1)
    dp = np.diagonal(chol_p, axis1=-2, axis2=-1)
    t, ratio = _log_ratio(np.ascontiguousarray(dq), np.ascontiguousarray(dp))
    diag_part = 2.0 * np.sum(_half_f_of_2t(t, ratio), axis=-1)
    if d > 1:
        c = _solve_lower(chol_p, chol_q)
        off = np.tril(c, -1)
        cov_part = diag_part + np.sum(off * off, axis=(-2, -1))
    else:
        cov_part = diag_part
    # Nearly equal covariances: recompute from the eigenvalues of E.
    near = cov_part < 1.0
    if d > 1 and np.any(near):
        e = _whitened_difference(cov_q[near], cov_p[near], chol_p[near])
        eps = np.linalg.eigvalsh(e)
        # eps - log1p(eps) = f(log1p(eps)) with f(x) = exp(x) - 1 - x >= 0.
        cov_part[near] = np.sum(_expm1mx(np.log1p(eps)), axis=-1)
    return (0.5 * (cov_part + mean_part)).reshape(batch)


def _frozen_kind(dist):
    """'norm', 'mvn' or None for a SciPy frozen distribution."""
    d = getattr(dist, "dist", None)
    if isinstance(d, stats.rv_continuous) and d.name == "norm" and hasattr(dist, "args"):
        return "norm"
    if type(dist).__name__ == "multivariate_normal_frozen":
        return "mvn"
    return None


def _describe(dist):
    d = getattr(dist, "dist", None)
    name = getattr(d, "name", None)
    if name is None:
        name = type(dist).__name__
    return name


def _norm_loc_scale(dist):
    args, kwds = dist.args, dist.kwds
    loc = kwds.get("loc", args[0] if len(args) > 0 else 0.0)
    scale = kwds.get("scale", args[1] if len(args) > 1 else 1.0)
    return loc, scale


def kl_divergence(q, p):
    r"""KL divergence between two frozen SciPy distributions, in nats.

    Dispatches on the pair of distribution families, like
    ``torch.distributions.kl_divergence``.

    Parameters
    ----------
    q : frozen scipy.stats distribution
        Left side of ``‖``: ``scipy.stats.norm(loc, scale)`` or
        ``scipy.stats.multivariate_normal(mean, cov)``.
    p : frozen scipy.stats distribution
        Right side of ``‖``, of the same family as ``q``.

    Returns
    -------
    kl : float or ndarray
        :math:`\mathrm{KL}(q\,\|\,p)` in nats; an array if a frozen ``norm`` was
        given array parameters.

    Raises
    ------
    NotImplementedError
        For any other pair of families; the message names both.
    ValueError
        If the parameters are invalid (see :func:`kl_normal`, :func:`kl_mvn`).

    Notes
    -----
    Implemented pairs: ``(norm, norm)`` via :func:`kl_normal` and
    ``(multivariate_normal, multivariate_normal)`` via :func:`kl_mvn`.

    Examples
    --------
    >>> from scipy import stats
    >>> from vi_lib.divergences import kl_divergence
    >>> float(kl_divergence(stats.norm(0, 1), stats.norm(1, 2)))  # doctest: +ELLIPSIS
    0.4431471805599...
    """
    kq, kp = _frozen_kind(q), _frozen_kind(p)
    if kq == "norm" and kp == "norm":
        mu_q, sigma_q = _norm_loc_scale(q)
        mu_p, sigma_p = _norm_loc_scale(p)
        return kl_normal(mu_q, sigma_q, mu_p, sigma_p)
    if kq == "mvn" and kp == "mvn":
        return kl_mvn(q.mean, q.cov, p.mean, p.cov)
    raise NotImplementedError(
        f"kl_divergence is not implemented for the pair ({_describe(q)}, {_describe(p)}); "
        "implemented pairs: (norm, norm), (multivariate_normal, multivariate_normal)")


def kl_monte_carlo(log_q, log_p, samples, axis=0):
    r"""Monte Carlo estimate of KL(q ‖ p) and its standard error, in nats.

    Parameters
    ----------
    log_q, log_p : callable
        Log-densities of :math:`q` and :math:`p` (normalised, in nats), each
        mapping the whole ``samples`` array to an array of log-densities, one per
        draw (vectorised; e.g. ``scipy.stats.norm(0, 1).logpdf``).
    samples : array_like, shape (n, ...)
        Independent draws from :math:`q` along ``axis``; ``n >= 2``.
    axis : int, optional
        The axis of ``log_q(samples)`` that indexes the draws (default 0).

    Returns
    -------
    estimate : float or ndarray
        :math:`\frac1n\sum_s [\log q(z_s) - \log p(z_s)]`, an unbiased estimate
        of :math:`\mathrm{KL}(q\,\|\,p)` (it can be negative for small ``n``).
    stderr : float or ndarray
        Its standard error, the sample standard deviation of the log-ratio
        (``ddof=1``) divided by :math:`\sqrt n`.

    Raises
    ------
    TypeError
        If ``log_q`` or ``log_p`` is not callable.
    ValueError
        If there are fewer than two draws, the two log-densities return
        different shapes, or a log-ratio is NaN or infinite (a draw outside the
        support of ``p``, say).

    Notes
    -----
    :math:`\mathrm{KL}(q\,\|\,p) = \mathbb E_{q}[\log q(z) - \log p(z)]`
    (Kullback and Leibler 1951); by the central limit theorem the error of the
    average is about :math:`\mathrm{sd}/\sqrt n`.

    Examples
    --------
    >>> import numpy as np
    >>> from scipy import stats
    >>> from vi_lib.divergences import kl_monte_carlo
    >>> q, p = stats.norm(0, 1), stats.norm(1, 2)
    >>> z = q.rvs(size=100_000, random_state=np.random.default_rng(0))
    >>> est, se = kl_monte_carlo(q.logpdf, p.logpdf, z)
    >>> bool(abs(est - 0.4431471805599453) < 4 * se)
    True
    """
    if not callable(log_q):
        raise TypeError(f"log_q must be callable, got {type(log_q).__name__}")
    if not callable(log_p):
        raise TypeError(f"log_p must be callable, got {type(log_p).__name__}")
    samples = _as_array("samples", samples)
    lq = np.asarray(log_q(samples), dtype=np.float64)
    lp = np.asarray(log_p(samples), dtype=np.float64)
    if lq.shape != lp.shape:
        raise ValueError(f"log_q(samples) has shape {lq.shape} but log_p(samples) has "
                         f"shape {lp.shape}")
    if lq.ndim == 0:
        raise ValueError("samples must hold at least two draws along axis, got a scalar")
    n = lq.shape[axis]
    if n < 2:
        raise ValueError(f"samples must hold at least two draws along axis {axis}, got {n}")
    with np.errstate(invalid="ignore"):
        w = lq - lp
    ok = np.isfinite(w)
    if not ok.all():
        raise ValueError("log_q(samples) - log_p(samples) must be finite, got "
                         f"{_first_bad(w, ok)} (a draw outside the support of p?)")
    est = np.mean(w, axis=axis)
    se = np.std(w, axis=axis, ddof=1) / math.sqrt(n)
    return _scalar_or_array(est), _scalar_or_array(se)
