"""Shared pieces of :mod:`vi_lib.svi`: argument checks, minibatch indices, step sizes."""

from __future__ import annotations

import numbers

import numpy as np


def _check_int(name, value, minimum=1, maximum=None):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum \
            or (maximum is not None and value > maximum):
        rule = f">= {minimum}" if maximum is None else f"in [{minimum}, {maximum}]"
        raise ValueError(f"{name} must be an integer {rule}, got {value!r}")
    return int(value)


def _data_shape(data):
    shape = getattr(data, "shape", None)
    if shape is None or len(shape) != 2:
        raise ValueError(
            f"data must be a 2-D array-like of shape (N, d) with .shape and index access, "
            f"got {type(data).__name__} with shape {shape}")
    n, d = int(shape[0]), int(shape[1])
    if n < 1 or d < 1:
        raise ValueError(f"data must have at least one row and one column, got shape {shape}")
    return n, d


def step_sizes(num_steps, *, tau=1.0, kappa=0.7):
    """The Robbins–Monro step sizes ρ_t = (t + tau)^(−κ), t = 1, …, num_steps.

    Parameters
    ----------
    num_steps : int
        Number of steps (>= 1).
    tau : float
        Delay tau >= 0: down-weights the early, noisy steps (Hoffman et al. 2013, eq. 35).
    kappa : float
        Forgetting rate κ in (0.5, 1]: the range where Σ ρ_t diverges and Σ ρ_t² converges.

    Returns
    -------
    ndarray, shape (num_steps,)
        ρ_1, …, ρ_num_steps, each in (0, 1] (ρ_1 = 1 when tau = 0: the first step replaces the
        initial factors by the minibatch's estimate).

    Raises
    ------
    ValueError
        For κ outside (0.5, 1], tau < 0 or a non-positive ``num_steps``.
    """
    num_steps = _check_int("num_steps", num_steps)
    tau, kappa = float(tau), float(kappa)
    if not (0.5 < kappa <= 1.0):
        raise ValueError(f"kappa must be in (0.5, 1] (Robbins-Monro conditions), got {kappa}")
    if not (np.isfinite(tau) and tau >= 0):
        raise ValueError(f"tau must be a finite number >= 0, got {tau}")
    t = np.arange(1, num_steps + 1, dtype=np.float64)
    return (t + tau) ** (-kappa)


def minibatch_indices(rng, n_data, batch_size):
    """``batch_size`` row indices in [0, n_data), drawn uniformly with replacement, sorted.

    O(batch_size) time and memory, independent of ``n_data`` (unlike a permutation).
    """
    return np.sort(rng.integers(0, n_data, size=batch_size))




def _read_rows(data, idx, d):
    x = np.asarray(data[idx], dtype=np.float64)
    if x.shape != (idx.size, d):
        raise ValueError(f"data[index_array] returned shape {x.shape}, expected ({idx.size}, {d})")
    if not np.all(np.isfinite(x)):
        raise ValueError("data contain NaN or infinite values (in a minibatch)")
    return x
