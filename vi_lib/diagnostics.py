"""Can q be trusted? ELBO convergence, importance weights and the PSIS diagnostic k̂.

Two different questions are asked of a fitted q:

- *Has the optimisation stopped moving?* :func:`elbo_relative_change` and
  :func:`elbo_stopping_step` implement a relative-change rule on running means of the ELBO
  trace, in the spirit of Stan's ``tol_rel_obj`` (Kucukelbir et al. 2017).
- *Is q close to the posterior?* With draws z ~ q, the importance weights
  w = p(x, z) / q(z) (:func:`importance_log_weights`) have a right tail whose Pareto shape k
  says how far apart the two are; :func:`psis_khat` estimates it by Pareto-smoothed importance
  sampling (PSIS; Vehtari et al. 2024), as proposed for VI by Yao et al. (2018): k̂ < 0.5 good,
  0.5–0.7 usable, > 0.7 untrustworthy. :func:`psis_expectation` gives PSIS-corrected posterior
  expectations.

PSIS itself is ArviZ's ``arviz.psislw`` (ArviZ 0.x), not reimplemented here. Importing this
module imports ArviZ; ArviZ 0.23 announces its coming 1.0 refactor with a ``FutureWarning``
at import, which this module silences (that one warning only, matched by its message).

Importing this module also turns on ``jax_enable_x64`` (float64) for the whole process, as
:mod:`vi_lib.blackbox` does, so that log weights are computed in double precision.

References
----------
Kucukelbir, A., Tran, D., Ranganath, R., Gelman, A. & Blei, D. M. (2017). Automatic
differentiation variational inference. JMLR 18(14).
Yao, Y., Vehtari, A., Simpson, D. & Gelman, A. (2018). Yes, but did it work?: Evaluating
variational inference. ICML, PMLR 80.
Vehtari, A., Simpson, D., Gelman, A., Yao, Y. & Gabry, J. (2024). Pareto smoothed importance
sampling. JMLR 25(72).
"""

from __future__ import annotations

import functools
import numbers
import warnings
from typing import NamedTuple

import jax

jax.config.update("jax_enable_x64", True)

import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
from scipy import special  # noqa: E402

with warnings.catch_warnings():
    # ArviZ 0.23's __init__ warns about the 1.0 refactor (arviz/__init__.py); nothing to act on.
    warnings.filterwarnings("ignore", message=r"\s*ArviZ is undergoing a major refactor",
                            category=FutureWarning)
    import arviz as az  # noqa: E402

__all__ = [
    "KHAT_GOOD",
    "KHAT_OK",
    "MIN_DRAWS",
    "ImportanceSample",
    "PSISExpectation",
    "NUTSDraws",
    "nuts_draws",
    "elbo_relative_change",
    "elbo_stopping_step",
    "importance_log_weights",
    "psis_khat",
    "psis_expectation",
]

#: Below this k̂, q is close to the posterior and PSIS estimates are reliable (Yao et al. 2018, §2; Vehtari et al. 2024).
KHAT_GOOD = 0.5
#: Above this k̂ the approximation is not trusted (Yao et al. 2018, §2).
KHAT_OK = 0.7
#: Fewest finite log weights :func:`psis_khat` accepts: the Pareto tail is fitted to the
#: largest min(S/5, 3√S) of them, i.e. 20 of 100.
MIN_DRAWS = 100


class ImportanceSample(NamedTuple):
    """Draws of q and their log importance weights (what :func:`importance_log_weights` returns).

    Attributes
    ----------
    draws : ndarray, shape (num_samples, dim)
        z_s ~ q.
    log_weights : ndarray, shape (num_samples,)
        log p(x, z_s) − log q(z_s), nats (unnormalised: their log-mean-exp estimates log p(x)
        when log_joint includes every constant).
    log_q : ndarray, shape (num_samples,)
        log q(z_s), nats.
    """

    draws: np.ndarray
    log_weights: np.ndarray
    log_q: np.ndarray


class PSISExpectation(NamedTuple):
    """A PSIS-corrected expectation and its diagnostic (what :func:`psis_expectation` returns).

    Attributes
    ----------
    value : ndarray, shape f(draws).shape[1:]
        Self-normalised PSIS estimate of E_p[f(z)].
    khat : float
        Pareto shape k̂ of the raw importance weights; trust ``value`` only if k̂ ≤ 0.7.
    ess : float
        Effective sample size of the smoothed weights, 1 / Σ_s w̃_s² for normalised w̃
        (between 1 and S; Vehtari et al. 2024).
    """

    value: np.ndarray
    khat: float
    ess: float


# ---------------------------------------------------------------- ELBO convergence


def _check_window(window):
    if isinstance(window, bool) or not isinstance(window, numbers.Integral) or window < 1:
        raise ValueError(f"window must be an integer >= 1, got {window!r}")
    return int(window)


def _check_trace(elbo, window):
    elbo = np.asarray(elbo, dtype=float)
    if elbo.ndim != 1:
        raise ValueError(f"elbo must be a 1-D trace (one value per step), got shape {elbo.shape}")
    if not np.all(np.isfinite(elbo)):
        raise ValueError("elbo must be finite at every step (found NaN or inf)")
    if elbo.size < 2 * window:
        raise ValueError(f"elbo needs at least 2 * window = {2 * window} steps, got {elbo.size}")
    return elbo


def elbo_relative_change(elbo, window=100):
    """Relative change between running means of an ELBO trace, window after window.

    Parameters
    ----------
    elbo : array_like, shape (num_steps,)
        ELBO estimate at each step (nats), e.g. ``vi_lib.advi(...).elbo``.
    window : int
        Steps per window (default 100). Only whole windows are used.

    Returns
    -------
    ndarray, shape (num_steps // window - 1,)
        r_k = |m_k − m_{k−1}| / |m_k| for k = 1, 2, ..., where m_k is the mean of the ELBO over
        window k (steps k·window + 1 ... (k+1)·window). Entry k−1 is known after step
        (k+1)·window.

    Raises
    ------
    ValueError
        If ``elbo`` is not 1-D, has a non-finite entry or is shorter than two windows, or
        ``window`` is not a positive integer.

    Notes
    -----
    A relative change of the objective, as in Stan's ADVI (Kucukelbir et al. 2017; in Stan the
    ELBO is estimated every 100 iterations and the run stops when the mean or median of recent
    relative changes falls below ``tol_rel_obj``). Averaging over a window damps the Monte
    Carlo noise of the per-step estimates. A relative change depends on the size of |ELBO|,
    which grows with the number of observations and shifts with dropped constants.
    """
    window = _check_window(window)
    elbo = _check_trace(elbo, window)
    n_win = elbo.size // window
    means = elbo[: n_win * window].reshape(n_win, window).mean(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        rel = np.abs(np.diff(means)) / np.abs(means[1:])
    return rel


def elbo_stopping_step(elbo, window=100, tol=0.01):
    """The step at which a relative-change rule on running ELBO means would stop.

    Parameters
    ----------
    elbo : array_like, shape (num_steps,)
        ELBO estimate at each step (nats).
    window : int
        Steps per window of the running mean (default 100).
    tol : float
        Stop once the relative change between consecutive window means is below ``tol``
        (default 0.01, Stan's default ``tol_rel_obj``).

    Returns
    -------
    int or None
        The first step (a multiple of ``window``) after which
        :func:`elbo_relative_change` is below ``tol``; None if the rule never fires.

    Raises
    ------
    ValueError
        For the inputs :func:`elbo_relative_change` rejects, or ``tol`` not > 0.
    """
    tol = float(tol)
    if not tol > 0:
        raise ValueError(f"tol must be > 0, got {tol!r}")
    rel = elbo_relative_change(elbo, window)
    hits = np.flatnonzero(rel < tol)
    if hits.size == 0:
        return None
    return int((hits[0] + 2) * window)


# ---------------------------------------------------------------- importance weights


def _gaussian_q(q):
    """(mean, scale_tril) of a Gaussian q: an ``ADVIResult`` or a ``(mean, cov)`` pair."""
    if hasattr(q, "mean") and hasattr(q, "scale_tril"):
        mean, L = np.asarray(q.mean, dtype=float), np.asarray(q.scale_tril, dtype=float)
    elif isinstance(q, (tuple, list)) and len(q) == 2:
        mean, cov = (np.asarray(a, dtype=float) for a in q)
        if cov.ndim != 2 or cov.shape[0] != cov.shape[1] or not np.allclose(cov, cov.T):
            raise ValueError(f"q's covariance must be a symmetric square matrix, got shape "
                             f"{cov.shape}")
        try:
            L = np.linalg.cholesky(cov)
        except np.linalg.LinAlgError as err:
            raise ValueError("q's covariance must be positive definite") from err
    else:
        raise TypeError("q must be a vi_lib.advi result (with .mean and .scale_tril) or a "
                        f"(mean, cov) pair, got {type(q).__name__}")
    if mean.ndim != 1 or L.shape != (mean.size, mean.size):
        raise ValueError(f"q's mean must have shape (dim,) and its scale (dim, dim), got "
                         f"{mean.shape} and {L.shape}")
    d = np.diag(L)
    if not (np.all(np.isfinite(mean)) and np.all(np.isfinite(L)) and np.all(d > 0)):
        raise ValueError("q's mean and scale must be finite, with a positive scale diagonal")
    return mean, L


@functools.lru_cache(maxsize=32)
def _batched(log_joint):
    # One compiled, vectorised log joint per function (kept for repeated calls).
    return jax.jit(jax.vmap(log_joint))


#: Draws per call of the compiled log joint in :func:`importance_log_weights` (bounds memory:
#: a log joint over n observations holds about chunk × n intermediate values).
CHUNK = 4096


def _evaluate_in_chunks(batched, z):
    """log_joint at every row of z, in fixed-size chunks (one compilation, bounded memory)."""
    n = z.shape[0]
    size = min(CHUNK, n)
    out = np.empty(n)
    for start in range(0, n, size):
        block = z[start:start + size]
        m = block.shape[0]
        if m < size:  # pad the last chunk to the compiled shape
            block = np.concatenate([block, np.repeat(block[-1:], size - m, axis=0)])
        vals = np.asarray(batched(jnp.asarray(block)), dtype=float)
        if vals.shape != (size,):
            raise ValueError(f"log_joint must return a scalar per draw, got shape {vals.shape[1:]}")
        out[start:start + m] = vals[:m]
    return out


def importance_log_weights(log_joint, q, num_samples=10_000, seed=0):
    """Draw z ~ q and return the log importance weights log p(x, z) − log q(z).

    Parameters
    ----------
    log_joint : callable
        JAX-traceable ``z -> log p(x, z)`` for ``z`` of shape ``(dim,)`` (the function given to
        :func:`vi_lib.advi`); constants may be dropped (they shift every log weight equally).
    q : ADVIResult or tuple
        A Gaussian q: the result of :func:`vi_lib.advi` (its ``mean`` and ``scale_tril``), or
        a pair ``(mean, cov)`` with shapes ``(dim,)`` and ``(dim, dim)``.
    num_samples : int
        Number of draws S (default 10 000).
    seed : int
        Seed of ``numpy.random.default_rng`` for the draws.

    Returns
    -------
    ImportanceSample
        ``draws`` (S, dim), ``log_weights`` (S,) and ``log_q`` (S,), float64, nats.

    Raises
    ------
    TypeError
        If ``q`` is neither an ADVI result nor a (mean, cov) pair.
    ValueError
        For a non-positive ``num_samples``, a covariance that is not symmetric positive
        definite, or a ``log_joint`` that returns NaN at some draw.

    Notes
    -----
    z = m + L ε with ε ~ N(0, I), so log q(z) = Σ_i log N(ε_i | 0, 1) − Σ_i log L_ii, computed
    from ε without inverting the covariance. Since E_q[w] = p(x), the log-mean-exp of the log
    weights estimates log p(x) and their mean is the Monte Carlo ELBO (Yao et al. 2018, §2).
    """
    if not callable(log_joint):
        raise TypeError(f"log_joint must be a callable z -> log p(x, z), got {log_joint!r}")
    if (isinstance(num_samples, bool) or not isinstance(num_samples, numbers.Integral)
            or num_samples < 1):
        raise ValueError(f"num_samples must be an integer >= 1, got {num_samples!r}")
    mean, L = _gaussian_q(q)
    eps = np.random.default_rng(seed).standard_normal((int(num_samples), mean.size))
    z = mean + eps @ L.T
    log_q = (-0.5 * np.sum(eps**2, axis=1) - 0.5 * mean.size * np.log(2 * np.pi)
             - np.sum(np.log(np.diag(L))))
    log_p = _evaluate_in_chunks(_batched(log_joint), z)
    if np.any(np.isnan(log_p)):
        raise ValueError(f"log_joint returned NaN at {int(np.isnan(log_p).sum())} of "
                         f"{log_p.size} draws of q")
    return ImportanceSample(draws=z, log_weights=log_p - log_q, log_q=log_q)


# ---------------------------------------------------------------- PSIS


def _check_log_weights(log_weights):
    lw = np.asarray(log_weights)
    if not np.issubdtype(lw.dtype, np.number) or np.iscomplexobj(lw):
        raise TypeError(f"log_weights must be a real array, got dtype {lw.dtype}")
    lw = lw.astype(float)
    if lw.ndim != 1:
        raise ValueError(f"log_weights must be 1-D (one log weight per draw), got shape "
                         f"{lw.shape}")
    if np.any(np.isnan(lw)):
        raise ValueError(f"log_weights contains {int(np.isnan(lw).sum())} NaN value(s)")
    if np.any(lw == np.inf):
        raise ValueError("log_weights contains +inf (an infinite weight)")
    finite = lw[np.isfinite(lw)]
    if finite.size < MIN_DRAWS:
        raise ValueError(f"log_weights needs at least {MIN_DRAWS} finite values for a Pareto "
                         f"fit, got {finite.size}")
    if np.ptp(finite) == 0:
        raise ValueError("log_weights are all equal: q is proportional to p and the Pareto "
                         "shape k̂ is undefined (every weight is the same)")
    return lw


def _psis(log_weights):
    lw = _check_log_weights(log_weights)
    # ArviZ's Zhang-Stephens fit exponentiates differences of profile log likelihoods; for
    # heavy tails (k̂ > 1) some overflow to inf, which only gives those grid points weight 0
    # (arviz/stats/stats.py, _gpdfit). Silence that floating-point overflow, nothing else.
    with np.errstate(over="ignore"):
        smoothed, khat = az.psislw(lw, reff=1.0, normalize=True)
    return np.asarray(smoothed, dtype=float), float(khat)


def psis_khat(log_weights):
    """Pareto shape k̂ of the importance weights, by ArviZ's PSIS.

    Parameters
    ----------
    log_weights : array_like, shape (S,)
        Log importance weights log p(x, z_s) − log q(z_s) of independent draws z_s ~ q, in
        nats. Any constant offset is allowed (k̂ does not depend on it). Entries equal to −inf
        (zero weights) are allowed.

    Returns
    -------
    float
        k̂. Below 0.5 the weights behave well; 0.5–0.7 usable; above 0.7 the approximation
        (and any importance-sampling correction of it) is not to be trusted.

    Raises
    ------
    TypeError
        If ``log_weights`` is not a real numeric array.
    ValueError
        If it is not 1-D, contains NaN or +inf, has fewer than :data:`MIN_DRAWS` (100) finite
        entries, or all its finite entries are equal (k̂ undefined).

    Notes
    -----
    ArviZ (``arviz.psislw``, relative efficiency 1 for independent draws) fits a generalized
    Pareto distribution to the largest M = ⌈min(S/5, 3√S)⌉ weights by the empirical-Bayes
    method of Zhang & Stephens (2009), with a weak prior pulling k̂ towards 0.5; see Vehtari et
    al. (2024), and Yao et al. (2018), §2, for the thresholds. If the tail has 4 draws or
    fewer ArviZ returns k̂ = inf.

    Examples
    --------
    >>> rng = np.random.default_rng(42)
    >>> z = 0.5 * rng.standard_normal((50_000, 3))          # q = N(0, 0.5² I)
    >>> lw = -0.5 * np.sum(z**2, 1) + 0.5 * np.sum((z / 0.5) ** 2, 1)   # p = N(0, I), up to a constant
    >>> psis_khat(lw) > 0.7
    True
    """
    return _psis(log_weights)[1]


def psis_expectation(f, draws, log_weights):
    """PSIS-corrected estimate of the posterior expectation E_p[f(z)] from draws of q.

    Parameters
    ----------
    f : callable or array_like
        ``f(draws)`` returning an array of shape ``(S, ...)`` (one value per draw, vectorised
        over the leading axis); or those values directly, shape ``(S, ...)``.
    draws : array_like, shape (S, dim)
        z_s ~ q (e.g. ``importance_log_weights(...).draws``).
    log_weights : array_like, shape (S,)
        log p(x, z_s) − log q(z_s), any constant offset.

    Returns
    -------
    PSISExpectation
        ``value`` = Σ_s w̃_s f(z_s) / Σ_s w̃_s with the Pareto-smoothed weights w̃_s, ``khat``
        and ``ess``, the effective sample size 1 / Σ_s w̃_s² of the normalised weights.

    Raises
    ------
    ValueError
        For log weights that :func:`psis_khat` rejects, or values of f whose leading axis is
        not S or which are not finite where the weight is positive.

    Notes
    -----
    Self-normalised importance sampling with the largest weights replaced by expected order
    statistics of the fitted Pareto tail (Vehtari et al. 2024; Yao et al. 2018, §2).
    Self-normalisation makes unknown normalising constants of p and q cancel. The estimate is
    reliable when k̂ ≤ 0.7; the caller must check ``khat``.
    """
    draws = np.asarray(draws, dtype=float)
    smoothed, khat = _psis(log_weights)
    if draws.ndim < 1 or draws.shape[0] != smoothed.size:
        raise ValueError(f"draws must have one row per log weight ({smoothed.size}), got "
                         f"shape {draws.shape}")
    values = np.asarray(f(draws) if callable(f) else f, dtype=float)
    if values.ndim < 1 or values.shape[0] != smoothed.size:
        raise ValueError(f"f must give one value per draw (leading axis {smoothed.size}), got "
                         f"shape {values.shape}")
    w = np.exp(smoothed - special.logsumexp(smoothed))
    used = w > 0
    if not np.all(np.isfinite(values[used])):
        raise ValueError("f is not finite at some draws with a positive weight")
    value = np.tensordot(w[used], values[used], axes=(0, 0))
    return PSISExpectation(value=np.asarray(value), khat=khat, ess=float(1.0 / np.sum(w**2)))


# ---------------------------------------------------------------- MCMC reference


class NUTSDraws(NamedTuple):
    """Reference draws from :func:`nuts_draws`.

    Attributes
    ----------
    draws : ndarray, shape (num_chains, num_samples, dim)
        Post-warm-up draws of z, chain by chain (the layout ArviZ expects).
    divergences : int
        Number of divergent transitions after warm-up (should be 0).
    """

    draws: np.ndarray
    divergences: int


def _import_numpyro_mcmc():
    with warnings.catch_warnings():
        # numpyro.util imports tqdm.auto, which warns in a Jupyter kernel without ipywidgets
        # (tqdm/auto.py, "IProgress not found"); nuts_draws shows no progress bar anyway.
        from tqdm import TqdmWarning

        warnings.filterwarnings("ignore", message="IProgress not found", category=TqdmWarning)
        from numpyro.infer import MCMC, NUTS
    return MCMC, NUTS


def nuts_draws(log_joint, dim, *, num_warmup=500, num_samples=500, num_chains=4, seed=0,
               init_scale=0.1):
    """Draws from p(z | x) ∝ exp(log_joint(z)) by NumPyro's NUTS, for reference posteriors.

    Parameters
    ----------
    log_joint : callable
        JAX-traceable ``z -> log p(x, z)`` for ``z`` of shape ``(dim,)`` (as for
        :func:`vi_lib.advi`); NUTS uses its negative as the potential energy.
    dim : int
        Dimension of z.
    num_warmup, num_samples : int
        Warm-up (step-size and mass-matrix adaptation) and kept iterations per chain.
    num_chains : int
        Independent chains, run vectorised in one process (``chain_method="vectorized"``).
    seed : int
        Seeds the JAX key of the sampler and ``numpy.random.default_rng`` for the initial
        points, z0 ~ N(0, init_scale² I) per chain.
    init_scale : float
        Spread of the initial points (> 0).

    Returns
    -------
    NUTSDraws
        ``draws`` (num_chains, num_samples, dim) and the number of ``divergences``.

    Raises
    ------
    ValueError
        For non-positive counts or ``init_scale``.

    Notes
    -----
    The No-U-Turn sampler (Hoffman & Gelman 2014) as implemented in NumPyro (Phan et al.
    2019), without a progress bar. Check the draws before using them as a reference:
    split-R̂ and effective sample sizes (e.g. ``arviz.summary``) and zero divergences.
    """
    for name, value, minimum in (("dim", dim, 1), ("num_warmup", num_warmup, 1),
                                 ("num_samples", num_samples, 1), ("num_chains", num_chains, 1)):
        if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
            raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    if not float(init_scale) > 0:
        raise ValueError(f"init_scale must be > 0, got {init_scale!r}")
    MCMC, NUTS = _import_numpyro_mcmc()
    mcmc = MCMC(NUTS(potential_fn=lambda z: -log_joint(z)), num_warmup=num_warmup,
                num_samples=num_samples, num_chains=num_chains, chain_method="vectorized",
                progress_bar=False)
    init = float(init_scale) * np.random.default_rng(seed).standard_normal((num_chains, dim))
    mcmc.run(jax.random.PRNGKey(seed), init_params=jnp.asarray(init),
             extra_fields=("diverging",))
    draws = np.asarray(mcmc.get_samples(group_by_chain=True), dtype=float)
    return NUTSDraws(draws=draws, divergences=int(np.sum(mcmc.get_extra_fields()["diverging"])))
