"""Black-box VI with a Gaussian q: :func:`advi` (JAX + optax).

Automatic-differentiation variational inference (Kucukelbir et al. 2017) for a model given
only as a JAX-traceable log joint density ``log_joint(z) = log p(x, z)`` on ``R^dim``:
q is a Gaussian, mean-field or full-rank (Cholesky-factor parameterisation, log scale on
the diagonal), the ELBO gradient is estimated by Monte Carlo (:mod:`vi_lib.gradients`), and
optax's Adam (Kingma & Ba 2015) with a cosine-decaying step size follows it. The whole loop runs
inside :func:`jax.lax.scan` (in a few chunks when a progress bar is shown).

Importing this module turns on ``jax_enable_x64`` (float64) for the whole process: JAX and
NumPyro computations made afterwards in the same process are float64 too. Float32 is not
precise enough to bring KL(q ‖ posterior) below ~1e-2 nats reliably.
"""

from __future__ import annotations

import math
import numbers
from typing import NamedTuple

import jax

jax.config.update("jax_enable_x64", True)

import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
import optax  # noqa: E402

from . import gradients  # noqa: E402

__all__ = ["ADVIResult", "advi", "default_schedule"]


class ADVIResult(NamedTuple):
    """What :func:`advi` returns (all NumPy arrays, float64).

    Attributes
    ----------
    mean : ndarray, shape (dim,)
        Mean of q.
    cov : ndarray, shape (dim, dim)
        Covariance of q, L Lᵀ (diagonal for the mean-field family).
    sigma : ndarray, shape (dim,)
        Marginal standard deviations of q, sqrt(diag(cov)).
    scale_tril : ndarray, shape (dim, dim)
        Lower-triangular L with cov = L Lᵀ.
    elbo : ndarray, shape (num_steps,)
        Monte Carlo ELBO estimate at each step (nats), from that step's draws.
    params : dict
        Final unconstrained variational parameters ``{"loc", "raw_scale"}``
        (see :mod:`vi_lib.gradients`).
    family : str
    estimator : str
    num_steps : int
    num_samples : int
    trace : dict or None
        With ``advi(..., trace=True)``: ``{"loc": (num_steps, dim), "scale_tril":
        (num_steps, dim, dim)}``, q after every step (for convergence plots); else None.
    """

    mean: np.ndarray
    cov: np.ndarray
    sigma: np.ndarray
    scale_tril: np.ndarray
    elbo: np.ndarray
    params: dict
    family: str
    estimator: str
    num_steps: int
    num_samples: int
    trace: dict | None = None


def default_schedule(num_steps, peak=0.03, final=1e-4):
    """Adam's default step size: cosine decay from ``peak`` to ``final`` over ``num_steps``.

    Parameters
    ----------
    num_steps : int
        Length of the run.
    peak, final : float
        First and last step sizes (> 0), in units of the unconstrained parameters.

    Returns
    -------
    optax.Schedule

    Notes
    -----
    Large steps early move q quickly to the posterior's neighbourhood; the small final steps
    let Adam settle instead of oscillating around the optimum at an amplitude ~ step size.
    Chosen on test problems (the issue-8 regression, unit Gaussians) among exponential and
    cosine decays with peaks 0.02–0.1: with a peak of 0.1, Adam's normalised steps
    (size ~ step size even when the STL gradient is tiny) threw q away from the optimum
    mid-run; 0.03 converged monotonically and fast.
    """
    peak, final = float(peak), float(final)
    if not (0 < final <= peak):
        raise ValueError(f"need 0 < final <= peak, got peak={peak}, final={final}")
    return optax.cosine_decay_schedule(peak, decay_steps=num_steps, alpha=final / peak)


def _check_int(name, value, minimum=1):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def _check_log_joint(log_joint, dim):
    """Shape checks by tracing only (no compilation), with clear errors."""
    if not callable(log_joint):
        raise ValueError(f"log_joint must be a callable z -> log p(x, z), got {log_joint!r}")
    probe = jax.ShapeDtypeStruct((dim,), jnp.float64)
    try:
        out = jax.eval_shape(log_joint, probe)
    except (TypeError, ValueError, IndexError) as err:
        raise ValueError(
            f"log_joint failed on an input of shape (dim,) = ({dim},); is dim={dim} the "
            f"dimension of z that log_joint expects, and does log_joint use jax.numpy "
            f"(not numpy)? The error was: {type(err).__name__}: {err}") from err
    shape = getattr(out, "shape", None)
    if shape is None:
        raise ValueError(f"log_joint must return a scalar array, got {type(out).__name__}")
    if shape != ():
        raise ValueError(
            f"log_joint must return a scalar log density, got shape {shape} for an input of "
            f"shape (dim,) = ({dim},) (sum the log densities of the observations)")


def _zeros_like_tree(tree_shapes):
    return jax.tree_util.tree_map(lambda s: np.zeros(s.shape, s.dtype), tree_shapes)


def advi(log_joint, dim, *, family="full-rank", num_steps=2000, num_samples=8,
         estimator="stl", learning_rate=None, seed=0, init_loc=None, init_scale=0.1,
         progress=False, trace=False, fast_compile=True):
    """Fit a Gaussian q(z) to p(z | x) ∝ exp(log_joint(z)) by maximising the ELBO.

    Parameters
    ----------
    log_joint : callable
        JAX-traceable function ``z -> log p(x, z)`` taking ``z`` of shape ``(dim,)`` and
        returning a scalar (nats). Constants may be dropped (they shift the ELBO only).
    dim : int
        Dimension of z.
    family : {"full-rank", "mean-field"}
        Full-rank: q = N(m, L Lᵀ) with L lower-triangular (Cholesky factor, log-scale
        diagonal). Mean-field: L diagonal, i.e. independent coordinates.
    num_steps : int
        Number of Adam steps (default 2000).
    num_samples : int
        Draws of q per step averaged in the gradient estimate (default 8, vectorised).
    estimator : {"stl", "reparam", "score"}
        Gradient estimator (:mod:`vi_lib.gradients`). The default, "sticking the landing",
        has zero variance at q = posterior and converges to the optimum; "reparam" is the
        standard reparameterisation estimator; "score" (REINFORCE) is for teaching only.
    learning_rate : float or optax schedule, optional
        Adam's step size. Default: :func:`default_schedule` (cosine decay from 0.03 to 1e-4
        over ``num_steps``).
    seed : int
        Seed of ``numpy.random.default_rng``, which draws the base noise ε ~ N(0, I) of
        every step (z = m + L ε). Drawing it outside the compiled loop keeps a PRNG out of
        the XLA program, which roughly halves compile time.
    init_loc : array_like, shape (dim,), optional
        Initial mean of q (default zeros).
    init_scale : float
        Initial standard deviation of every coordinate of q (default 0.1).
    progress : bool
        Show a tqdm progress bar (the loop then runs as 20 compiled chunks).
    trace : bool
        Also return q's mean and Cholesky factor after every step (``result.trace``);
        memory ~ num_steps × dim² floats.
    fast_compile : bool
        Compile the loop with XLA's backend optimisation level 0 and without its CPU
        fusion emitters (default True). For small models compilation dominates the run
        time and this cuts it about threefold; each step can become up to ~2× slower, so
        pass False for long runs of large models. Ignored (default compilation) if the
        installed XLA does not know these options.

    Returns
    -------
    ADVIResult
        ``mean``, ``cov``, ``sigma``, ``scale_tril``, ``elbo`` (trace, one value per step,
        nats), ``params`` (final unconstrained parameters) and the settings used.

    Raises
    ------
    ValueError
        For an unknown ``family`` or ``estimator``; a ``dim`` that does not match what
        ``log_joint`` expects; a ``log_joint`` that returns a non-scalar; a log joint or
        gradient that is not finite at the initial point; non-positive counts.

    Notes
    -----
    The ELBO ``E_q[log p(x, z)] − E_q[log q(z)]`` is maximised over the unconstrained
    parameters by Adam (Kingma & Ba 2015) with Monte Carlo gradients, as in ADVI
    (Kucukelbir et al. 2017) but with a Gaussian on an unconstrained z directly (transform
    constrained parameters yourself). With ``estimator="stl"`` (Roeder et al. 2017) the
    gradient noise vanishes as q approaches the posterior (exactly so when the posterior is
    in the family), so the decaying step size converges to the optimum instead of
    hovering at a noise floor. Runs in float64: importing this module enables
    ``jax_enable_x64`` process-wide.

    The defaults (steps of ~0.03 in the unconstrained parameters, ``init_scale=0.1``) suit
    posteriors whose standard deviations are not far below 0.1. For a very concentrated
    posterior they may not converge: on the logistic regression of
    ``benchmarks/bench_svi.py`` (N = 10⁶, posterior sds ~3·10⁻³) 10⁴ steps with one draw
    each ended 0.7 nats of KL from the Laplace approximation, with sds up to 1.7 times
    too large; started at the posterior mode with ``init_scale`` of the posterior's size
    and a schedule from 3e-4 to 1e-6 it ended 1.4·10⁻⁴ nats away.

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> fit = advi(lambda z: -0.5 * jnp.sum((z - 1.0) ** 2), dim=2)
    >>> bool(np.allclose(fit.mean, 1.0, atol=1e-3) and np.allclose(fit.cov, np.eye(2), atol=1e-3))
    True
    """
    gradients._check_family(family)
    grad_fn = gradients.gradient_estimator(estimator)
    dim = _check_int("dim", dim)
    num_steps = _check_int("num_steps", num_steps)
    num_samples = _check_int("num_samples", num_samples)
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise ValueError(f"seed must be an integer, got {seed!r}")
    params = gradients._init_params_numpy(dim, family, init_loc, init_scale,
                                          loc_name="init_loc", scale_name="init_scale")
    _check_log_joint(log_joint, dim)

    if learning_rate is None:
        learning_rate = default_schedule(num_steps)
    elif not callable(learning_rate):
        learning_rate = float(learning_rate)
        if not learning_rate > 0:
            raise ValueError(f"learning_rate must be > 0, got {learning_rate!r}")
    optimizer = optax.adam(learning_rate)
    # Adam's initial state is all zeros: build it from shapes, without running JAX ops.
    opt_state = _zeros_like_tree(jax.eval_shape(optimizer.init, params))

    # Chunks: 20 for the progress bar; more if the draws of a chunk would exceed ~32 MB.
    bytes_per_step = 8 * num_samples * dim
    n_chunks = max(min(20, num_steps) if progress else 1,
                   math.ceil(num_steps * bytes_per_step / 2**25))
    n_chunks = min(n_chunks, num_steps)
    chunk = math.ceil(num_steps / n_chunks)
    padded = n_chunks * chunk != num_steps
    rng = np.random.default_rng(seed)

    def step(carry, eps):
        params, opt_state, t = carry
        grad, elbo = grad_fn(log_joint, params, eps)
        neg = jax.tree_util.tree_map(jnp.negative, grad)  # optax minimises
        updates, new_state = optimizer.update(neg, opt_state, params)
        new_params = optax.apply_updates(params, updates)
        if padded:
            # Steps past num_steps (padding of the last chunk) leave everything unchanged.
            active = t < num_steps
            keep = lambda new, old: jnp.where(active, new, old)  # noqa: E731
            new_params = jax.tree_util.tree_map(keep, new_params, params)
            new_state = jax.tree_util.tree_map(keep, new_state, opt_state)
        params, opt_state = new_params, new_state
        return (params, opt_state, t + 1), ((elbo, params) if trace else elbo)

    def chunk_fn(carry, eps, z0):
        # The value and gradient of log_joint at the initial point ride along (cheap), so
        # that the checks below cost no separate compilation.
        v0, g0 = jax.value_and_grad(log_joint)(z0)
        carry, elbo = jax.lax.scan(step, carry, eps)
        return carry, elbo, v0, jnp.all(jnp.isfinite(g0))

    carry = (params, opt_state, np.int64(0))
    run_chunk = _compile(chunk_fn, fast_compile, carry,
                         jax.ShapeDtypeStruct((chunk, num_samples, dim), jnp.float64),
                         params["loc"])
    traces = []
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=num_steps, desc=f"ADVI ({family}, {estimator})", unit="step")
    try:
        for c in range(n_chunks):
            # Base draws from NumPy: the compiled loop then holds no PRNG (faster compile).
            eps = rng.standard_normal((chunk, num_samples, dim))
            carry, elbo_chunk, v0, g0_finite = run_chunk(carry, eps, params["loc"])
            if c == 0:
                _raise_if_not_finite(float(v0), bool(g0_finite), params["loc"])
            traces.append(jax.tree_util.tree_map(np.asarray, elbo_chunk))
            if bar is not None:
                done = min((c + 1) * chunk, num_steps) - min(c * chunk, num_steps)
                last = traces[-1][0] if trace else traces[-1]
                bar.set_postfix(elbo=f"{np.mean(last[-min(chunk, 50):]):.3f}", refresh=False)
                bar.update(done)
    finally:
        if bar is not None:
            bar.close()
    final = {k: np.asarray(v) for k, v in carry[0].items()}
    path = None
    if trace:
        elbo = np.concatenate([t[0] for t in traces])[:num_steps]
        locs = np.concatenate([t[1]["loc"] for t in traces])[:num_steps]
        raws = np.concatenate([t[1]["raw_scale"] for t in traces])[:num_steps]
        if family == "mean-field":
            trils = np.exp(raws)[:, :, None] * np.eye(dim)
        else:
            trils = np.tril(raws, -1) + np.exp(np.diagonal(raws, axis1=1, axis2=2))[:, :, None] * np.eye(dim)
        path = {"loc": locs, "scale_tril": trils}
    else:
        elbo = np.concatenate(traces)[:num_steps]
    L = _scale_tril_np(final)
    cov = L @ L.T
    return ADVIResult(mean=final["loc"].copy(), cov=cov, sigma=np.sqrt(np.diag(cov)),
                      scale_tril=L, elbo=elbo, params=final, family=family,
                      estimator=estimator, num_steps=num_steps, num_samples=num_samples,
                      trace=path)


#: XLA options for :func:`advi`'s compiled loop when ``fast_compile=True``.
FAST_COMPILE_OPTIONS = {"xla_backend_optimization_level": 0,
                        "xla_cpu_use_fusion_emitters": False}


def _compile(fn, fast_compile, *example_args):
    """Ahead-of-time compile ``fn`` for arguments like ``example_args``."""
    lowered = jax.jit(fn).lower(*example_args)
    if fast_compile:
        try:
            return lowered.compile(FAST_COMPILE_OPTIONS)
        except Exception:  # an XLA without these options: compile with the defaults
            pass
    return lowered.compile()


def _raise_if_not_finite(value, grad_finite, z0):
    if not np.isfinite(value):
        raise ValueError(
            f"log_joint is {value} at the initial point z = {np.asarray(z0)}; "
            "pass an init_loc where the log density is finite")
    if not grad_finite:
        raise ValueError(
            f"the gradient of log_joint is not finite at the initial point "
            f"z = {np.asarray(z0)}; pass another init_loc")


def _scale_tril_np(params):
    raw = params["raw_scale"]
    if raw.ndim == 1:
        return np.diag(np.exp(raw))
    return np.tril(raw, -1) + np.diag(np.exp(np.diag(raw)))
