"""Helpers shared by the CAVI modules: iteration arguments, Gamma entropy, monotone-ELBO check."""

from __future__ import annotations

import numpy as np
from scipy import special

from ..models.gaussian import _array

__all__ = ["elbo_is_non_decreasing"]

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
