"""Stochastic variational inference: minibatches instead of full passes over the data.

Two algorithms that follow noisy but unbiased estimates of an ELBO gradient computed on a
random minibatch of B of the N data points, so that the cost of a step does not grow with N:

- :func:`advi_minibatch` -- black-box VI (a Gaussian q, reparameterisation gradients, optax's
  Adam) on the minibatch estimator log p(z) + (N/B) Σ_{i ∈ batch} log p(x_i | z) of the log
  joint (Hoffman et al. 2013, §2.4, for the scaling; Kucukelbir et al. 2017, §3.3);
- :func:`svi_gmm` -- stochastic VI with natural gradients for the Bayesian Gaussian mixture of
  :func:`vi_lib.cavi.cavi_gmm` (Hoffman, Blei, Wang & Paisley 2013, Algorithm 1).

The data may be any (N, d) array-like that supports ``data[index_array]`` and ``.shape``
(a NumPy array, a :class:`numpy.memmap` on disk, ...): minibatches are read by index, never
the whole array. Row indices are drawn with replacement (O(B) work, independent of N) and
sorted so that a memory-mapped file is read front to back.

The step-size schedule ρ_t = (t + τ)^(−κ) with τ ≥ 0 and κ ∈ (0.5, 1] satisfies the
Robbins–Monro conditions Σ ρ_t = ∞, Σ ρ_t² < ∞ (Robbins & Monro 1951; Hoffman et al. 2013,
eq. 35).
"""

from __future__ import annotations

import numbers

import jax

jax.config.update("jax_enable_x64", True)

import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
import optax  # noqa: E402

from . import gradients  # noqa: E402
from .blackbox import ADVIResult, _scale_tril_np, default_schedule  # noqa: E402

__all__ = ["step_sizes", "minibatch_indices", "minibatch_log_joint", "advi_minibatch"]


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
    """The Robbins–Monro step sizes ρ_t = (t + τ)^(−κ), t = 1, …, num_steps.

    Parameters
    ----------
    num_steps : int
        Number of steps (>= 1).
    tau : float
        Delay τ >= 0: down-weights the early, noisy steps (Hoffman et al. 2013, eq. 35).
    kappa : float
        Forgetting rate κ in (0.5, 1]: the range where Σ ρ_t diverges and Σ ρ_t² converges.

    Returns
    -------
    ndarray, shape (num_steps,)
        ρ_1, …, ρ_num_steps, each in (0, 1] (ρ_1 = 1 when τ = 0: the first step replaces the
        initial factors by the minibatch's estimate).

    Raises
    ------
    ValueError
        For κ outside (0.5, 1], τ < 0 or a non-positive ``num_steps``.
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


def minibatch_log_joint(log_prior, log_lik, x_batch, n_data):
    """The unbiased minibatch estimator of the log joint, as a function of z.

    ``z -> log p(z) + (N / B) Σ_{i=1}^{B} log p(x_i | z)`` for a batch of B rows drawn
    uniformly from the N data points: its expectation over the batch is
    log p(z) + Σ_{n=1}^{N} log p(x_n | z) = log p(x, z) (Hoffman et al. 2013, §2.4).

    Parameters
    ----------
    log_prior : callable
        JAX-traceable ``z (dim,) -> log p(z)``, scalar, nats.
    log_lik : callable
        JAX-traceable ``(z (dim,), x (d,)) -> log p(x | z)`` for ONE data row, scalar, nats.
    x_batch : array, shape (B, d)
    n_data : int
        N, the size of the full data set.

    Returns
    -------
    callable
        ``z -> estimate`` (JAX-traceable, scalar).
    """
    x_batch = jnp.asarray(x_batch)
    scale = n_data / x_batch.shape[0]

    def log_joint(z):
        return log_prior(z) + scale * jnp.sum(jax.vmap(log_lik, in_axes=(None, 0))(z, x_batch))

    return log_joint


_SURROGATES = {"stl": gradients._surrogate_stl, "reparam": gradients._surrogate_reparam}


def advi_minibatch(log_prior, log_lik, data, dim, *, batch_size, num_steps=2000,
                   family="mean-field", num_samples=1, estimator="reparam",
                   learning_rate=None, seed=0, init_loc=None, init_scale=0.1):
    """ADVI on minibatches: a Gaussian q(z) fitted to p(z | x) with O(batch_size) steps.

    Each step draws ``batch_size`` rows of ``data`` (by index, with replacement), forms the
    unbiased estimator :func:`minibatch_log_joint` of log p(x, z), and takes one Adam step
    along its reparameterisation gradient. The ELBO gradient estimate is then unbiased
    for two reasons at once: the draws of q and the draw of the batch.

    Parameters
    ----------
    log_prior : callable
        JAX-traceable ``z (dim,) -> log p(z)``, scalar, nats.
    log_lik : callable
        JAX-traceable ``(z (dim,), x (d,)) -> log p(x | z)`` for one row of ``data``.
    data : array-like, shape (N, d)
        Anything with ``.shape`` and ``data[index_array]`` (NumPy array, ``np.memmap``).
    dim : int
        Dimension of z.
    batch_size : int
        B, in [1, N].
    num_steps : int
        Adam steps (default 2000).
    family : {"mean-field", "full-rank"}
    num_samples : int
        Draws of q per step (default 1).
    estimator : {"reparam", "stl"}
        Path-wise gradient estimator (:mod:`vi_lib.gradients`). With minibatches the
        gradient noise from the batch remains at the optimum, so "stl" loses its edge.
    learning_rate : float or optax schedule, optional
        Adam's step size; default :func:`vi_lib.blackbox.default_schedule`.
    seed : int
        Seeds the batch indices and the base draws ε (one ``numpy.random.default_rng``).
    init_loc : array_like, shape (dim,), optional
    init_scale : float

    Returns
    -------
    ADVIResult
        As :func:`vi_lib.advi`; ``elbo`` holds the minibatch ELBO estimate of each step
        (nats, unbiased for the full-data ELBO at that step's q).

    Raises
    ------
    ValueError
        For ``batch_size`` outside [1, N], non-positive counts, an unknown family or
        estimator, a ``data`` without a 2-D ``.shape``, or a non-finite ELBO estimate
        (the message gives the step).
    """
    gradients._check_family(family)
    if estimator not in _SURROGATES:
        raise ValueError(f"estimator must be one of {tuple(_SURROGATES)}, got {estimator!r}")
    surrogate = _SURROGATES[estimator]
    n_data, _ = _data_shape(data)
    batch_size = _check_int("batch_size", batch_size, 1, n_data)
    dim = _check_int("dim", dim)
    num_steps = _check_int("num_steps", num_steps)
    num_samples = _check_int("num_samples", num_samples)
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise ValueError(f"seed must be an integer, got {seed!r}")
    params = {k: jnp.asarray(v) for k, v in gradients._init_params_numpy(
        dim, family, init_loc, init_scale, loc_name="init_loc", scale_name="init_scale").items()}
    if learning_rate is None:
        learning_rate = default_schedule(num_steps)
    optimizer = optax.adam(learning_rate)
    opt_state = optimizer.init(params)

    @jax.jit
    def step(params, opt_state, eps, x_batch):
        log_joint = minibatch_log_joint(log_prior, log_lik, x_batch, n_data)
        grad, elbo = jax.grad(surrogate, has_aux=True)(params, log_joint, eps)
        neg = jax.tree_util.tree_map(jnp.negative, grad)
        updates, opt_state = optimizer.update(neg, opt_state, params)
        return optax.apply_updates(params, updates), opt_state, elbo

    rng = np.random.default_rng(seed)
    elbo = np.empty(num_steps)
    for t in range(num_steps):
        idx = minibatch_indices(rng, n_data, batch_size)
        x_batch = np.asarray(data[idx], dtype=np.float64)
        eps = rng.standard_normal((num_samples, dim))
        params, opt_state, value = step(params, opt_state, eps, x_batch)
        elbo[t] = value
        if not np.isfinite(elbo[t]):
            raise ValueError(
                f"the minibatch ELBO estimate is {elbo[t]} at step {t + 1}: check log_prior "
                f"and log_lik, or lower the learning rate")
    final = {k: np.asarray(v) for k, v in params.items()}
    L = _scale_tril_np(final)
    cov = L @ L.T
    return ADVIResult(mean=final["loc"].copy(), cov=cov, sigma=np.sqrt(np.diag(cov)),
                      scale_tril=L, elbo=elbo, params=final, family=family,
                      estimator=estimator, num_steps=num_steps, num_samples=num_samples)
