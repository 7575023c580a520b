"""Minibatch ADVI: unbiased minibatch estimators of the log joint, with or without a
Taylor control variate, inside reparameterisation-gradient VI (see :mod:`vi_lib.svi`)."""

from __future__ import annotations

import functools
import numbers

import numpy as np

from ._common import _check_int, _data_shape, _read_rows, minibatch_indices


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
        max(N // B, 1000): at least one pass of minibatches per snapshot pass, as SVRG's
        usual choice of an inner loop of the order of N draws, and at least the ~1000 steps
        over which Adam's second-moment estimate averages (its moments restart at each
        snapshot, see Notes). On chapter 06b's logistic regression (N = 10⁴, B = 1000,
        10⁴ steps) snapshots every N // B = 10 steps gave KL 0.12 nats to full-data ADVI,
        every 1000 steps 0.0009. ``snapshot_every >= num_steps``
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

    from .. import gradients
    from ..blackbox import ADVIResult, _scale_tril_np, default_schedule

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
        snapshot_every = max(n_data // batch_size, 1000) if snapshot_every is None \
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
    # A chunk never spans a snapshot: no compiled step is wasted on padding.
    chunk = max(1, min(num_steps, snapshot_every, 2**20 // (batch_size * max(d, 1)), 500))

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

    def run(carry, eps, xs, stop, ref):
        # ref: None (plain estimator) or the snapshot (z_ref, Σ_n ℓ_n(z_ref), Σ_n ∇ℓ_n(z_ref))
        def log_joint_of(x):
            if ref is None:
                return minibatch_log_joint(log_prior, log_lik, x, n_data)
            return taylor_minibatch_log_joint(log_prior, log_lik, x, n_data, *ref)
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
