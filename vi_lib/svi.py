"""Stochastic variational inference: minibatches instead of full passes over the data.

Two algorithms that follow noisy but unbiased estimates of an ELBO gradient computed on a
random minibatch of B of the N data points, so that the cost of a step does not grow with N:

- :func:`advi_minibatch` -- black-box VI (a Gaussian q, reparameterisation gradients, optax's
  Adam) on the minibatch estimator log p(z) + (N/B) Σ_{i ∈ batch} log p(x_i | z) of the log
  joint (Hoffman et al. 2013, §2.4, for the scaling; Kucukelbir et al. 2017, §3.3), or,
  with ``control_variate="snapshot"``, on :func:`taylor_minibatch_log_joint`, which
  subsamples only the remainder of a first-order Taylor expansion around a snapshot
  (Johnson & Zhang 2013; Wang et al. 2013); optionally with iterate averaging;
- :func:`svi_gmm` -- stochastic VI with natural gradients for the Bayesian Gaussian mixture of
  :func:`vi_lib.cavi.cavi_gmm` (Hoffman, Blei, Wang & Paisley 2013, Algorithm 1).

The data may be any (N, d) array-like that supports ``data[index_array]`` and ``.shape``
(a NumPy array, a :class:`numpy.memmap` on disk, ...): minibatches are read by index, never
the whole array. Row indices are drawn with replacement (O(B) work, independent of N) and
sorted so that a memory-mapped file is read front to back.

The step-size schedule ρ_t = (t + τ)^(−κ) with τ ≥ 0 and κ ∈ (0.5, 1] satisfies the
Robbins–Monro conditions Σ ρ_t = ∞, Σ ρ_t² < ∞ (Robbins & Monro 1951; Hoffman et al. 2013,
eq. 35).

JAX (for :func:`advi_minibatch` and :func:`minibatch_log_joint`) is imported on first use,
so that the mixture functions load quickly, e.g. in Dask worker processes; once imported,
it runs in float64 (``jax_enable_x64``, process-wide, as :mod:`vi_lib.blackbox`).
"""

from __future__ import annotations

import functools
import math
import numbers
from typing import NamedTuple

import numpy as np

__all__ = ["step_sizes", "minibatch_indices", "minibatch_log_joint",
           "taylor_minibatch_log_joint", "full_data_sums", "advi_minibatch",
           "SVIGMM", "svi_gmm_init", "svi_gmm", "GMMSums", "gmm_sums", "add_sums",
           "gmm_global_from_sums", "synthetic_gmm_chunk"]


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
    import jax
    import jax.numpy as jnp

    jax.config.update("jax_enable_x64", True)
    x_batch = jnp.asarray(x_batch)
    scale = n_data / x_batch.shape[0]

    def log_joint(z):
        return log_prior(z) + scale * jnp.sum(jax.vmap(log_lik, in_axes=(None, 0))(z, x_batch))

    return log_joint


def taylor_minibatch_log_joint(log_prior, log_lik, x_batch, n_data, z_ref, sum_lik_ref,
                               sum_grad_ref):
    """The minibatch estimator of the log joint with a first-order Taylor control variate.

    With ℓ_n(z) = log p(x_n | z), its first-order Taylor expansion
    t_n(z) = ℓ_n(ẑ) + ∇ℓ_n(ẑ)ᵀ (z − ẑ) around a reference point ẑ, and a batch of B rows
    drawn uniformly with replacement,

    ``z -> log p(z) + Σ_{n=1}^{N} t_n(z) + (N / B) Σ_{i ∈ batch} [ℓ_i(z) − t_i(z)]``

    is unbiased for log p(x, z) at every z: the first sum is exact (it needs only
    Σ_n ℓ_n(ẑ) and Σ_n ∇ℓ_n(ẑ), one pass over the data), the second is the estimator of
    :func:`minibatch_log_joint` applied to the remainders ℓ_n − t_n. Only the remainders are
    subsampled, and they are O(|z − ẑ|²), so near ẑ the variance is far below that of the
    plain estimator. Its gradient in z is the SVRG gradient
    ∇ log p(z) + Σ_n ∇ℓ_n(ẑ) + (N / B) Σ_{i ∈ batch} [∇ℓ_i(z) − ∇ℓ_i(ẑ)]
    (the SVRG procedure of Johnson & Zhang 2013, with ẑ its "snapshot"). Taylor-expansion
    control variates for stochastic variational inference: Wang, Chen, Smola & Xing (2013,
    "Variance reduction for stochastic gradient optimization"); for subsampled log
    likelihoods in MCMC: Bardenet, Doucet & Holmes (2017) and, with ẑ a posterior mode,
    Baker, Fearnhead, Fox & Nemeth (2019).

    Parameters
    ----------
    log_prior : callable
        JAX-traceable ``z (dim,) -> log p(z)``, scalar, nats.
    log_lik : callable
        JAX-traceable ``(z (dim,), x (d,)) -> log p(x | z)`` for ONE data row, scalar, nats.
    x_batch : array, shape (B, d)
    n_data : int
        N, the size of the full data set.
    z_ref : array, shape (dim,)
        The reference point ẑ.
    sum_lik_ref : float
        Σ_{n=1}^{N} log p(x_n | ẑ) over the full data, nats (:func:`full_data_sums`).
    sum_grad_ref : array, shape (dim,)
        Σ_{n=1}^{N} ∇_z log p(x_n | ẑ) over the full data, nats per unit of z.

    Returns
    -------
    callable
        ``z -> estimate`` (JAX-traceable, scalar, nats).
    """
    import jax
    import jax.numpy as jnp

    jax.config.update("jax_enable_x64", True)
    x_batch = jnp.asarray(x_batch)
    z_ref = jnp.asarray(z_ref)
    scale = n_data / x_batch.shape[0]
    per_row = jax.vmap(log_lik, in_axes=(None, 0))
    lik_ref = per_row(z_ref, x_batch)                                       # (B,)
    grad_ref = jax.vmap(jax.grad(log_lik), in_axes=(None, 0))(z_ref, x_batch)  # (B, dim)

    def log_joint(z):
        dz = z - z_ref
        remainder = per_row(z, x_batch) - (lik_ref + grad_ref @ dz)
        return log_prior(z) + sum_lik_ref + jnp.dot(sum_grad_ref, dz) + scale * jnp.sum(remainder)

    return log_joint


def full_data_sums(log_lik, data, z, *, rows_per_read=None):
    """Σ_n log p(x_n | z) and Σ_n ∇_z log p(x_n | z) over all N rows of ``data``, in one pass.

    The rows are read in contiguous slices ``data[lo:hi]`` (front to back, so a
    :class:`numpy.memmap` is read sequentially), so memory does not grow with N.

    Parameters
    ----------
    log_lik : callable
        JAX-traceable ``(z (dim,), x (d,)) -> log p(x | z)`` for one row.
    data : array-like, shape (N, d)
        Anything with ``.shape`` and slice access.
    z : array_like, shape (dim,)
    rows_per_read : int, optional
        Rows per slice (default: about 2**20 numbers per slice).

    Returns
    -------
    sum_lik : float
        Nats.
    sum_grad : ndarray, shape (dim,)

    Raises
    ------
    ValueError
        For a ``data`` without a 2-D shape, a slice with NaN or infinite values, or a
        non-finite sum (the log likelihood or its gradient at ``z``).
    """
    import jax
    import jax.numpy as jnp

    jax.config.update("jax_enable_x64", True)
    n_data, d = _data_shape(data)
    if rows_per_read is None:
        rows_per_read = max(1, 2**20 // d)
    rows_per_read = _check_int("rows_per_read", rows_per_read)
    z = jnp.asarray(z, dtype=jnp.float64)
    total_lik, total_grad = 0.0, np.zeros(z.shape)
    for lo in range(0, n_data, rows_per_read):
        x = np.asarray(data[lo:lo + rows_per_read], dtype=np.float64)
        if not np.all(np.isfinite(x)):
            raise ValueError("data contain NaN or infinite values (rows "
                             f"{lo}-{lo + x.shape[0] - 1})")
        lik, grad = _lik_sums(log_lik)(z, x)
        total_lik += float(lik)
        total_grad += np.asarray(grad)
    if not (np.isfinite(total_lik) and np.all(np.isfinite(total_grad))):
        raise ValueError(f"the full-data log likelihood or its gradient is not finite at "
                         f"z = {np.asarray(z)}: check log_lik")
    return total_lik, total_grad


@functools.lru_cache(maxsize=16)
def _lik_sums(log_lik):
    """Compiled ``(z, x) -> (Σ_rows log_lik(z, x_row), Σ_rows ∇_z log_lik(z, x_row))``,
    built once per ``log_lik`` (so that the snapshots of a run compile once)."""
    import jax
    import jax.numpy as jnp

    def sums(z, x):
        lik, grad = jax.vmap(jax.value_and_grad(log_lik), in_axes=(None, 0))(z, x)
        return jnp.sum(lik), jnp.sum(grad, axis=0)

    return jax.jit(sums)


_ESTIMATORS = ("reparam", "stl")
_CONTROL_VARIATES = (None, "snapshot")


def advi_minibatch(log_prior, log_lik, data, dim, *, batch_size, num_steps=2000,
                   family="mean-field", num_samples=1, estimator="reparam",
                   learning_rate=None, seed=0, init_loc=None, init_scale=0.1,
                   control_variate=None, snapshot_every=None, average_last=None):
    """ADVI on minibatches: a Gaussian q(z) fitted to p(z | x) with O(batch_size) steps.

    Each step draws ``batch_size`` rows of ``data`` (by index, with replacement), forms the
    unbiased estimator :func:`minibatch_log_joint` of log p(x, z), and takes one Adam step
    along its reparameterisation gradient. The ELBO gradient estimate is then unbiased
    for two reasons at once: the draws of q and the draw of the batch.

    With ``control_variate="snapshot"`` the estimator is
    :func:`taylor_minibatch_log_joint` instead: the log likelihood is expanded to first
    order around a snapshot ẑ of q's mean, the expansion is summed over all N rows (one
    pass, :func:`full_data_sums`) and only the remainders are subsampled. The snapshot is
    taken before the first step and again every ``snapshot_every`` steps (the SVRG
    scheme of Johnson & Zhang 2013 applied to the log joint inside the ELBO).

    With ``average_last`` the returned q is the average of the variational parameters
    (mean and unconstrained Cholesky factor) over the last steps: Polyak–Ruppert
    iterate averaging (Ruppert 1988; Polyak & Juditsky 1992), recommended for
    stochastic-gradient VI by Dhaka et al. (2020). It removes the jitter of the final
    iterate around the optimum, which otherwise also inflates q's variances.

    Parameters
    ----------
    log_prior : callable
        JAX-traceable ``z (dim,) -> log p(z)``, scalar, nats.
    log_lik : callable
        JAX-traceable ``(z (dim,), x (d,)) -> log p(x | z)`` for one row of ``data``.
    data : array-like, shape (N, d)
        Anything with ``.shape`` and ``data[index_array]`` (NumPy array, ``np.memmap``);
        with a control variate also ``data[lo:hi]`` (the snapshot passes read slices).
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
        Path-wise gradient estimator (:mod:`vi_lib.gradients`). With the plain minibatch
        estimator the gradient noise from the batch remains at the optimum, so "stl" loses
        its edge; with ``control_variate="snapshot"`` the batch noise is small near the
        snapshot and "stl" has again the lower gradient variance near the optimum.
    learning_rate : float or optax schedule, optional
        Adam's step size; default :func:`vi_lib.blackbox.default_schedule`.
    seed : int
        Seeds the batch indices and the base draws ε (one ``numpy.random.default_rng``).
    init_loc : array_like, shape (dim,), optional
        Initial mean of q (default zeros); also the first snapshot ẑ.
    init_scale : float
        Initial standard deviation of every coordinate of q.
    control_variate : {None, "snapshot"}
        None (default): the plain estimator :func:`minibatch_log_joint`. "snapshot": the
        first-order Taylor control variate around snapshots of q's mean
        (:func:`taylor_minibatch_log_joint`). Each snapshot costs one pass over the data
        (Σ_n log p(x_n | ẑ) and Σ_n ∇ log p(x_n | ẑ)), and each step evaluates the batch's
        log likelihood gradient at ẑ as well as at the draws of q.
    snapshot_every : int, optional
        Steps between snapshots, >= 1, only with ``control_variate="snapshot"``. Default
        max(1, N // B): one pass of minibatches per snapshot pass, as SVRG's usual
        choice of an inner loop of the order of N draws. ``snapshot_every >= num_steps``
        keeps the first snapshot, ``init_loc``, for the whole run (e.g. a posterior mode,
        as in Baker et al. 2019).
    average_last : float, optional
        Fraction in (0, 1] of the run (the last ``round(average_last * num_steps)`` steps,
        at least one) over which the parameters are averaged; the running mean is kept with
        :func:`optax.incremental_update`. Default None: the last iterate is returned.

    Returns
    -------
    ADVIResult
        As :func:`vi_lib.advi`; ``elbo`` holds the minibatch ELBO estimate of each step
        (nats, unbiased for the full-data ELBO at that step's q, with or without the
        control variate); ``mean``, ``cov`` and ``params`` are those of the average with
        ``average_last``. Steps run in compiled chunks of up to 500 (one `jax.lax.scan`
        each), their minibatches read just before; a snapshot falls between two chunks.

    Raises
    ------
    ValueError
        For ``batch_size`` outside [1, N], non-positive counts, an unknown family,
        estimator or control variate, ``snapshot_every`` without a control variate or not a
        positive integer, ``average_last`` outside (0, 1], a ``data`` without a 2-D
        ``.shape``, a non-finite full-data log
        likelihood or gradient at a snapshot, or a non-finite ELBO estimate (the message
        gives the step).

    Notes
    -----
    Without a control variate the batch's share of the gradient variance is
    (N² / B) Var_n[∇ log p(x_n | z)] per coordinate and does not vanish at the optimum:
    on the logistic regression of ``benchmarks/bench_svi.py`` (N = 10⁶, B = 1000, posterior
    sds ~3·10⁻³) its standard deviation was ~25 times the gradient's signal, for the mean
    (q's mean one posterior sd off) and for the log scales (q 1.5 times too wide) alike
    (one draw of q). With the Taylor control
    variate the subsampled terms are ∇ log p(x_n | z) − ∇ log p(x_n | ẑ) = O(|z − ẑ|), so
    the batch noise shrinks as q's draws and its mean approach the snapshot.

    At a new snapshot Adam's moment estimates are restarted (the step-size schedule is
    not): the new estimator is less noisy than the old one, and Adam's second-moment
    estimate, an average over ~1 / (1 − β₂) = 1000 steps (Kingma & Ba 2015), would
    otherwise keep the steps small for thousands of steps. This is our choice, not a
    published recipe; on the benchmark's logistic regression (B = 1000, 10⁴ steps,
    ``average_last=0.2``) it brought KL(q ‖ Laplace) from 0.28 nats without the restarts
    to 0.012 with them (seed 0; 0.009 for seeds 1 and 2).
    """
    import jax
    import jax.numpy as jnp
    import optax

    from . import gradients
    from .blackbox import ADVIResult, _scale_tril_np, default_schedule

    gradients._check_family(family)
    if estimator not in _ESTIMATORS:
        raise ValueError(f"estimator must be one of {_ESTIMATORS}, got {estimator!r}")
    if not (control_variate is None or (isinstance(control_variate, str)
                                        and control_variate in _CONTROL_VARIATES)):
        raise ValueError(f"control_variate must be one of {_CONTROL_VARIATES}, "
                         f"got {control_variate!r}")
    surrogate = {"stl": gradients._surrogate_stl, "reparam": gradients._surrogate_reparam}[estimator]
    n_data, d = _data_shape(data)
    batch_size = _check_int("batch_size", batch_size, 1, n_data)
    dim = _check_int("dim", dim)
    num_steps = _check_int("num_steps", num_steps)
    num_samples = _check_int("num_samples", num_samples)
    if control_variate is None:
        if snapshot_every is not None:
            raise ValueError("snapshot_every is only used with control_variate='snapshot', "
                             f"got snapshot_every={snapshot_every!r} and control_variate=None")
        snapshot_every = num_steps
    else:
        snapshot_every = max(1, n_data // batch_size) if snapshot_every is None \
            else _check_int("snapshot_every", snapshot_every)
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise ValueError(f"seed must be an integer, got {seed!r}")
    if average_last is not None:
        try:
            average_last = float(average_last)
        except (TypeError, ValueError):
            raise ValueError(f"average_last must be a number in (0, 1], got {average_last!r}") from None
        if not 0.0 < average_last <= 1.0:
            raise ValueError(f"average_last must be in (0, 1], got {average_last!r}")
        # average the iterates after steps average_start + 1, ..., num_steps
        average_start = num_steps - max(1, round(average_last * num_steps))
    else:
        average_start = num_steps
    params = {k: jnp.asarray(v) for k, v in gradients._init_params_numpy(
        dim, family, init_loc, init_scale, loc_name="init_loc", scale_name="init_scale").items()}
    if learning_rate is None:
        learning_rate = default_schedule(num_steps)
    # optax.adam is this chain; spelled out so that Adam's moments (state[0]) can be
    # restarted at a snapshot while the schedule's step count (state[1]) runs on.
    optimizer = optax.chain(optax.scale_by_adam(), optax.scale_by_learning_rate(learning_rate))
    opt_state = optimizer.init(params)

    # Steps run in chunks inside one compiled lax.scan; each chunk's minibatches are read
    # from `data` just before it (at most ~2**20 numbers, so memory does not grow with N).
    chunk = max(1, min(num_steps, 2**20 // (batch_size * max(d, 1)), 500))

    def step(carry, inputs, stop, log_joint_of):
        params, opt_state, t, avg = carry
        eps, x_batch = inputs
        grad, elbo = jax.grad(surrogate, has_aux=True)(params, log_joint_of(x_batch), eps)
        neg = jax.tree_util.tree_map(jnp.negative, grad)
        updates, new_state = optimizer.update(neg, opt_state, params)
        new_params = optax.apply_updates(params, updates)
        active = t < stop            # padding steps of a segment's last chunk change nothing
        keep = lambda new, old: jnp.where(active, new, old)  # noqa: E731
        new_params = jax.tree_util.tree_map(keep, new_params, params)
        new_state = jax.tree_util.tree_map(keep, new_state, opt_state)
        if average_last is not None:
            # running mean of the iterates after steps average_start + 1, ..., t + 1
            k = jnp.maximum(t + 1 - average_start, 1)
            new_avg = optax.incremental_update(new_params, avg, 1.0 / k)
            avg = jax.tree_util.tree_map(
                lambda new, old: jnp.where(active & (t >= average_start), new, old), new_avg, avg)
        return (new_params, new_state, t + active, avg), elbo

    if control_variate is None:
        def run(carry, eps, xs, stop, ref):
            def log_joint_of(x):
                return minibatch_log_joint(log_prior, log_lik, x, n_data)
            return jax.lax.scan(lambda c, i: step(c, i, stop, log_joint_of), carry, (eps, xs))
    else:
        def run(carry, eps, xs, stop, ref):
            z_ref, sum_lik, sum_grad = ref

            def log_joint_of(x):
                return taylor_minibatch_log_joint(log_prior, log_lik, x, n_data, z_ref,
                                                  sum_lik, sum_grad)
            return jax.lax.scan(lambda c, i: step(c, i, stop, log_joint_of), carry, (eps, xs))
    run_chunk = jax.jit(run)

    rng = np.random.default_rng(seed)
    carry = (params, opt_state, jnp.asarray(0), params if average_last is not None else None)
    elbo, ref = [], None
    for seg_start in range(0, num_steps, snapshot_every):
        seg_stop = min(num_steps, seg_start + snapshot_every)
        if control_variate is not None:
            z_ref = np.asarray(carry[0]["loc"])
            sum_lik, sum_grad = full_data_sums(log_lik, data, z_ref)
            ref = (jnp.asarray(z_ref), jnp.asarray(sum_lik), jnp.asarray(sum_grad))
            if seg_start > 0:
                # A new snapshot makes a new, less noisy estimator: restart Adam's moment
                # estimates (its second moment remembers ~1/(1 - b2) = 1000 steps of the
                # old, larger gradients), keep the step-size schedule's count.
                p_now, (_, schedule_state), t_now, avg = carry
                carry = (p_now, (optimizer.init(p_now)[0], schedule_state), t_now, avg)
        for c0 in range(seg_start, seg_stop, chunk):
            idx = np.stack([minibatch_indices(rng, n_data, batch_size) for _ in range(chunk)])
            x_batches = _read_rows(data, idx.ravel(), d).reshape(chunk, batch_size, d)
            eps = rng.standard_normal((chunk, num_samples, dim))
            carry, values = run_chunk(carry, eps, x_batches, seg_stop, ref)
            values = np.asarray(values)[:seg_stop - c0]
            bad = np.flatnonzero(~np.isfinite(values))
            if bad.size:
                raise ValueError(
                    f"the minibatch ELBO estimate is {values[bad[0]]} at step {c0 + bad[0] + 1}: "
                    f"check log_prior and log_lik, or lower the learning rate")
            elbo.append(values)
    final = {k: np.asarray(v) for k, v in carry[0 if average_last is None else 3].items()}
    L = _scale_tril_np(final)
    cov = L @ L.T
    return ADVIResult(mean=final["loc"].copy(), cov=cov, sigma=np.sqrt(np.diag(cov)),
                      scale_tril=L, elbo=np.concatenate(elbo), params=final, family=family,
                      estimator=estimator, num_steps=num_steps, num_samples=num_samples)


# =========================================================================== SVI for the mixture
class SVIGMM(NamedTuple):
    """Result of :func:`svi_gmm`: the global factors (fields as :func:`vi_lib.cavi.cavi_gmm`).

    Attributes
    ----------
    alpha, beta, m, W, nu : ndarray
        Global factors, shapes (K,), (K,), (K, d), (K, d, d), (K,).
    resp : None
        No responsibilities are kept for the N data points (that would take O(N) memory);
        :func:`vi_lib.cavi.gmm_local_update` computes them for any rows on demand.
    elbo : ndarray, shape (num_steps,)
        Minibatch ELBO estimate at each step, nats for the whole data set:
        (N / B) Σ_{n ∈ batch} log Σ_k ρ_nk − KL(global factors ‖ prior), unbiased for the ELBO
        of the global factors the step started from (local factors at their optimum).
    rho : ndarray, shape (num_steps,)
        The step sizes used.
    batch_size : int
    trace : list of (int, GMMGlobal) or None
        With ``trace_every``: (steps taken, global factors) along the run.
    """

    alpha: np.ndarray
    beta: np.ndarray
    m: np.ndarray
    W: np.ndarray
    nu: np.ndarray
    resp: None
    elbo: np.ndarray
    rho: np.ndarray
    batch_size: int
    trace: list | None = None


def _read_rows(data, idx, d):
    x = np.asarray(data[idx], dtype=np.float64)
    if x.shape != (idx.size, d):
        raise ValueError(f"data[index_array] returned shape {x.shape}, expected ({idx.size}, {d})")
    if not np.all(np.isfinite(x)):
        raise ValueError("data contain NaN or infinite values (in a minibatch)")
    return x


def svi_gmm_init(x, n_components, *, n_data, alpha0, beta0, m0, nu0, W0, init="kmeans++",
                 seed=0):
    """Initial global factors for :func:`svi_gmm` from one minibatch ``x``.

    Parameters
    ----------
    x : array_like, shape (B, d)
        The first minibatch.
    n_components : int
    n_data : int
        N, the size of the full data set (the statistics are scaled by N / B).
    alpha0, beta0, m0, nu0, W0
        The prior, as in :func:`vi_lib.cavi.gmm_global_update`.
    init : {"kmeans++", "random"}
        "kmeans++": centres chosen by k-means++ seeding (Arthur & Vassilvitskii 2007;
        :func:`sklearn.cluster.kmeans_plusplus`) and each row assigned to its nearest
        centre. "random": responsibilities drawn uniformly and normalised (as
        :func:`vi_lib.cavi.cavi_gmm` does), which leaves every component close to the
        average of the batch.
    seed : int

    Returns
    -------
    GMMGlobal
        The global CAVI step (:func:`vi_lib.cavi.gmm_global_update`) from these
        responsibilities, with N_k scaled by N / B.
    """
    from sklearn.cluster import kmeans_plusplus

    from .cavi import gmm_global_update, gmm_suff_stats

    x = np.asarray(x, dtype=np.float64)
    b, k = x.shape[0], int(n_components)
    if k > b:
        raise ValueError(f"n_components ({k}) must be <= batch_size ({b})")
    if init == "kmeans++":
        centres, _ = kmeans_plusplus(x, k, random_state=seed)
        d2 = np.sum((x[:, None, :] - centres[None, :, :]) ** 2, axis=-1)
        resp = np.zeros((b, k))
        resp[np.arange(b), np.argmin(d2, axis=1)] = 1.0
    elif init == "random":
        resp = np.random.default_rng(seed).uniform(size=(b, k))
        resp /= resp.sum(axis=1, keepdims=True)
    else:
        raise ValueError(f"init must be 'kmeans++', 'random' or global factors, got {init!r}")
    stats = gmm_suff_stats(x, resp)
    return gmm_global_update(stats.nk * (n_data / b), stats.xbar, stats.S, alpha0=alpha0,
                             beta0=beta0, m0=m0, nu0=nu0, W0=W0)


def svi_gmm(data, n_components, *, batch_size, num_steps, alpha0, beta0, m0, nu0, W0,
            tau=1.0, kappa=0.7, seed=0, init=None, trace_every=None):
    """Stochastic VI for the Bayesian Gaussian mixture (Hoffman et al. 2013, Algorithm 1).

    The model and variational family are those of :func:`vi_lib.cavi.cavi_gmm` (Bishop 2006,
    §10.2). Each step t reads a minibatch of B rows, sets their local factors q(z_n) to
    their optimum (:func:`vi_lib.cavi.gmm_local_update`), forms the intermediate global
    factors λ̂ -- the CAVI update as if the batch were replicated N / B times -- and moves the
    natural parameters of the global factors a step ρ_t = (t + τ)^(−κ) towards them:
    λ ← (1 − ρ_t) λ + ρ_t λ̂.

    Parameters
    ----------
    data : array-like, shape (N, d)
        Anything with ``.shape`` and ``data[index_array]`` (NumPy array, ``np.memmap``).
        Only minibatches are read.
    n_components : int
        K >= 1.
    batch_size : int
        B in [1, N].
    num_steps : int
        Number of SVI steps (>= 1); the data points processed are num_steps × B.
    alpha0, beta0, m0, nu0, W0
        The prior, as in :func:`vi_lib.cavi.cavi_gmm`.
    tau : float
        Delay τ >= 0 of the step-size schedule.
    kappa : float
        Forgetting rate κ in (0.5, 1].
    seed : int
        Seeds the minibatch indices and the initialisation (``numpy.random.default_rng``).
    init : None, "kmeans++", "random" or global factors
        Start: None or "kmeans++" (default) seeds the factors from a first minibatch with
        k-means++ centres; "random" from random responsibilities on that batch
        (:func:`svi_gmm_init`); or any object with fields ``alpha, beta, m, W, nu``.
    trace_every : int, optional
        Also keep the global factors before step 1 and after every ``trace_every`` steps
        (``result.trace``, a list of ``(step, GMMGlobal)``), to evaluate the full-data ELBO
        along the run. Memory ~ num_steps / trace_every × K d² floats.

    Returns
    -------
    SVIGMM
        ``alpha, beta, m, W, nu`` (global factors), ``resp=None``, ``elbo`` (minibatch
        estimates, nats), ``rho``, ``batch_size``. Evaluate the full-data ELBO with
        :func:`vi_lib.cavi.elbo_gmm`.

    Raises
    ------
    ValueError
        For κ outside (0.5, 1], τ < 0, ``batch_size`` outside [1, N], K > B, an invalid
        prior, NaN in a minibatch, or a non-finite ELBO estimate (the step is named).

    Notes
    -----
    The global factors are in the exponential family with natural parameters λ
    (:func:`vi_lib.cavi.gmm_natural_params`). The natural gradient of the ELBO with
    respect to λ is E_φ[η(x, z)] − λ, the expected natural parameter of the complete
    conditional minus the current one (Hoffman et al. 2013, eq. 24); with a minibatch
    it is estimated without bias by λ̂ − λ, λ̂ = prior + (N/B) Σ_{n ∈ batch} E[t(x_n, z_n)]
    (eq. 25). A step of size ρ_t along it is the convex combination above (eq. 26), which
    stays inside the set of valid natural parameters. With ρ_t satisfying the
    Robbins–Monro conditions the iterates converge to a local optimum of the ELBO.
    """
    from .cavi import gmm as _gmm

    n_data, d = _data_shape(data)
    batch_size = _check_int("batch_size", batch_size, 1, n_data)
    num_steps = _check_int("num_steps", num_steps)
    rho = step_sizes(num_steps, tau=tau, kappa=kappa)
    if isinstance(n_components, bool) or not isinstance(n_components, numbers.Integral) \
            or n_components < 1:
        raise ValueError(f"n_components must be an integer >= 1, got {n_components!r}")
    if n_components > batch_size:
        raise ValueError(f"n_components ({n_components}) must be <= batch_size ({batch_size})")
    prior = _gmm._check_prior(d, alpha0, beta0, m0, nu0, W0)
    rng = np.random.default_rng(seed)
    if init is None or isinstance(init, str):
        x0 = _read_rows(data, minibatch_indices(rng, n_data, batch_size), d)
        glob = svi_gmm_init(x0, n_components, n_data=n_data, init=init or "kmeans++",
                            seed=int(rng.integers(2**31)), alpha0=alpha0, beta0=beta0,
                            m0=m0, nu0=nu0, W0=W0)
    else:
        glob = init
    alpha, beta, m, W, _, nu = _gmm._check_global(*(getattr(glob, f) for f in
                                                    ("alpha", "beta", "m", "W", "nu")), d=d)
    if alpha.size != n_components:
        raise ValueError(f"init has {alpha.size} components, expected {n_components}")
    lam = _natural(alpha, beta, m, np.linalg.inv(W), nu)
    scale = n_data / batch_size
    elbo = np.empty(num_steps)
    if trace_every is not None:
        trace_every = _check_int("trace_every", trace_every)
    trace = [] if trace_every else None
    for t in range(num_steps):
        if trace is not None and t % trace_every == 0:
            trace.append((t, _global_factors(lam)))
        x = _read_rows(data, minibatch_indices(rng, n_data, batch_size), d)
        alpha, beta, m, F, nu = _from_natural(lam)
        # local step: optimal q(z_n) for the batch, and the minibatch ELBO estimate
        log_rho, e_logdet, logdet_W = _gmm._log_rho(x, alpha, beta, m, F, nu)
        resp, log_norm = _gmm._local(log_rho)
        elbo[t] = scale * np.sum(log_norm) - _gmm._kl_global(alpha, beta, m, F, nu, e_logdet,
                                                             logdet_W, prior)
        if not np.isfinite(elbo[t]):
            raise ValueError(f"the minibatch ELBO estimate is {elbo[t]} at step {t + 1}")
        # global step: blend the natural parameters with the intermediate ones
        lam_hat = _intermediate(x, resp, scale, prior)
        lam = tuple((1.0 - rho[t]) * a + rho[t] * b for a, b in zip(lam, lam_hat))
    glob = _global_factors(lam)
    if trace is not None and trace[-1][0] != num_steps:
        trace.append((num_steps, glob))
    return SVIGMM(*glob, resp=None, elbo=elbo, rho=rho, batch_size=batch_size, trace=trace)


# Natural coordinates used by svi_gmm: for q(π) the concentrations α, and for each
# q(μ_k, Λ_k) the tuple (β_k, β_k m_k, W_k^{-1} + β_k m_k m_k^T, ν_k). Each is an affine
# function of the natural parameters of vi_lib.cavi.gmm_natural_params (α - 1, β m, -β/2,
# -(W^{-1} + β m m^T)/2, (ν - d)/2), so a convex combination in one system is the same
# convex combination in the other; these avoid the factors of -1/2.
def _natural(alpha, beta, m, w_inv, nu):
    bm = beta[:, None] * m
    return (alpha, beta, bm, w_inv + bm[:, :, None] * m[:, None, :], nu)


def _from_natural(lam):
    """(alpha, beta, m, F, nu) with W = F F^T, F = C^{-T}, W^{-1} = C C^T (Cholesky)."""
    alpha, beta, bm, quad, nu = lam
    m = bm / beta[:, None]
    w_inv = quad - bm[:, :, None] * m[:, None, :]
    C = np.linalg.cholesky(0.5 * (w_inv + np.swapaxes(w_inv, 1, 2)))
    F = np.swapaxes(np.linalg.solve(C, np.broadcast_to(np.eye(m.shape[1]), C.shape)), 1, 2)
    return alpha, beta, m, F, nu


def _global_factors(lam):
    from .cavi import GMMGlobal

    alpha, beta, m, F, nu = _from_natural(lam)
    W = F @ np.swapaxes(F, 1, 2)
    return GMMGlobal(alpha, beta, m, 0.5 * (W + np.swapaxes(W, 1, 2)), nu)


def _intermediate(x, resp, scale, prior):
    """λ̂: prior natural parameters + (N/B) × the batch's expected sufficient statistics.

    Σ_n r_nk, Σ_n r_nk x_n and Σ_n r_nk x_n x_n^T (Hoffman et al. 2013, eq. 25; it equals the
    CAVI update of Bishop 2006, eqs 10.58–10.63, with N_k scaled by N/B).
    """
    return _lam_from_sums(resp.sum(axis=0), resp.T @ x, np.einsum("nk,nd,ne->kde", resp, x, x),
                          scale, prior)


def _lam_from_sums(nk, sum_x, sum_xx, scale, prior):
    b0m0 = prior.beta0 * prior.m0
    return (prior.alpha0 + scale * nk,
            prior.beta0 + scale * nk,
            b0m0 + scale * sum_x,
            (prior.W0_inv + np.outer(b0m0, prior.m0)) + scale * sum_xx,
            prior.nu0 + scale * nk)



# =========================================================================== map-reduce
class GMMSums(NamedTuple):
    """Additive statistics of the local step on a set of rows (sums over those rows).

    Attributes
    ----------
    nk : ndarray, shape (K,)
        Σ_n r_nk.
    sum_x : ndarray, shape (K, d)
        Σ_n r_nk x_n.
    sum_xx : ndarray, shape (K, d, d)
        Σ_n r_nk x_n x_n^T.
    log_norm : float
        Σ_n log Σ_k ρ_nk (nats): the rows' part of the ELBO with q(z_n) optimal.
    n : int
        Number of rows.
    """

    nk: np.ndarray
    sum_x: np.ndarray
    sum_xx: np.ndarray
    log_norm: float
    n: int


def gmm_sums(x, alpha, beta, m, W, nu):
    """The *map* of one batch-CAVI iteration: local step and additive statistics of rows ``x``.

    Parameters
    ----------
    x : array_like, shape (n, d)
        Any subset of the data (a chunk on one machine, a minibatch).
    alpha, beta, m, W, nu : array_like
        Global factors, shapes (K,), (K,), (K, d), (K, d, d), (K,).

    Returns
    -------
    GMMSums
        Sums over the rows, so that the statistics of a union of chunks are the sums of the
        chunks' statistics (the *reduce* is ``+``, see :func:`add_sums`).

    Notes
    -----
    The responsibilities are those of :func:`vi_lib.cavi.gmm_local_update` (Bishop 2006,
    eq. 10.49); the statistics are the expected sufficient statistics of the
    Normal–Wishart and Dirichlet complete conditionals (Hoffman et al. 2013, eq. 16).
    """
    from .cavi import gmm_local_update

    x = np.asarray(x, dtype=np.float64)
    local = gmm_local_update(x, alpha, beta, m, W, nu)
    r = local.resp
    return GMMSums(r.sum(axis=0), r.T @ x, np.einsum("nk,nd,ne->kde", r, x, x),
                   float(np.sum(local.log_norm)), x.shape[0])


def add_sums(a, b):
    """Sum of two :class:`GMMSums` (the reduce step; associative and commutative)."""
    return GMMSums(a.nk + b.nk, a.sum_x + b.sum_x, a.sum_xx + b.sum_xx,
                   a.log_norm + b.log_norm, a.n + b.n)


def gmm_global_from_sums(sums, *, alpha0, beta0, m0, nu0, W0, scale=1.0):
    """Global factors whose natural parameters are the prior's plus ``scale`` × the sums.

    With the sums of all N rows and ``scale = 1`` this is the global CAVI step (Bishop 2006,
    eqs 10.58–10.63, written as natural parameters); with a minibatch of B rows and
    ``scale = N / B`` it is SVI's intermediate λ̂ (Hoffman et al. 2013, eq. 25).

    Returns
    -------
    vi_lib.cavi.GMMGlobal
    """
    from .cavi import gmm as _gmm

    d = sums.sum_x.shape[1]
    prior = _gmm._check_prior(d, alpha0, beta0, m0, nu0, W0)
    lam = _lam_from_sums(sums.nk, sums.sum_x, sums.sum_xx, scale, prior)
    return _global_factors(lam)


def synthetic_gmm_chunk(index, chunk_size, *, weights, means, covs, seed):
    """Rows ``index * chunk_size`` to ``(index + 1) * chunk_size`` of a synthetic mixture data set.

    Each chunk has its own generator, ``default_rng([seed, index])``, so any chunk can be
    made on any machine, in any order, and the data set is the same however it is cut.

    Parameters
    ----------
    index : int
        Chunk number (>= 0).
    chunk_size : int
    weights : array_like, shape (K,)
        Mixture weights (non-negative, summing to 1).
    means : array_like, shape (K, d)
    covs : array_like, shape (K, d, d)
        Covariances (symmetric positive definite).
    seed : int

    Returns
    -------
    ndarray, shape (chunk_size, d)
    """
    rng = np.random.default_rng([int(seed), int(index)])
    weights = np.asarray(weights, dtype=np.float64)
    means = np.asarray(means, dtype=np.float64)
    chol = np.linalg.cholesky(np.asarray(covs, dtype=np.float64))
    z = rng.choice(weights.size, size=chunk_size, p=weights)
    eps = rng.standard_normal((chunk_size, means.shape[1]))
    return means[z] + np.einsum("nde,ne->nd", chol[z], eps)
