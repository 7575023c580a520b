"""Monte Carlo estimators of the ELBO gradient for a Gaussian q (JAX).

The variational family is a Gaussian ``q(z) = N(loc, L Lᵀ)`` in ``dim`` dimensions, held as
a dict of *unconstrained* parameters (see :func:`init_params`):

- ``family="mean-field"``: ``{"loc": (dim,), "raw_scale": (dim,)}`` with
  ``L = diag(exp(raw_scale))`` (log-scale parameterisation);
- ``family="full-rank"``: ``{"loc": (dim,), "raw_scale": (dim, dim)}`` with ``L`` the
  lower triangle of ``raw_scale`` whose diagonal is passed through ``exp``, a Cholesky factor.

Three estimators of ∇ ELBO with respect to these parameters, each a deterministic function
of base draws ``eps`` of shape ``(num_samples, dim)`` from N(0, I), averaged over the draws:

- :func:`score_function_grad` -- the score-function / REINFORCE / log-derivative estimator
  (Williams 1992; Ranganath et al. 2014);
- :func:`reparam_grad` -- the reparameterisation (path-wise) estimator with the total
  derivative of ``log q`` (Kingma & Welling 2014; Kucukelbir et al. 2017);
- :func:`stl_grad` -- "sticking the landing" (Roeder, Wu & Duvenaud 2017): the same path, with
  the score term ``∂ log q / ∂ params`` (zero mean) dropped, so the estimator's variance
  vanishes when q equals the posterior.

All are pure functions compiled with :func:`jax.jit` (``log_joint`` is a static argument:
pass the same function object to reuse the compiled code). Importing this module turns on ``jax_enable_x64`` (float64), which
is a **process-wide** JAX setting. Review: Mohamed et al. (2020).
"""

from __future__ import annotations

import functools

import jax
import numpy as np

jax.config.update("jax_enable_x64", True)

import jax.numpy as jnp  # noqa: E402

__all__ = [
    "FAMILIES",
    "ESTIMATORS",
    "init_params",
    "scale_tril",
    "sample_q",
    "standard_normal",
    "log_q",
    "entropy_q",
    "elbo_estimate",
    "score_function_grad",
    "reparam_grad",
    "stl_grad",
    "gradient_estimator",
    "gaussian_target_elbo",
]

#: The variational families understood by this module and :func:`vi_lib.advi`.
FAMILIES = ("full-rank", "mean-field")
#: The gradient estimators, by name.
ESTIMATORS = ("stl", "reparam", "score")

_LOG_2PI = float(jnp.log(2 * jnp.pi))


def _check_family(family):
    if family not in FAMILIES:
        raise ValueError(f"family must be one of {FAMILIES}, got {family!r}")


def init_params(dim, family="full-rank", *, loc=None, scale=0.1):
    """Unconstrained parameters of q = N(loc, scale² I).

    Parameters
    ----------
    dim : int
        Dimension of z (>= 1).
    family : {"full-rank", "mean-field"}
    loc : array_like, shape (dim,), optional
        Initial mean (default zeros).
    scale : float
        Initial standard deviation of every coordinate (> 0; default 0.1, as NumPyro's
        autoguides).

    Returns
    -------
    dict
        ``{"loc": (dim,), "raw_scale": (dim,) or (dim, dim)}``, float64.
    """
    params = _init_params_numpy(dim, family, loc, scale)
    # Built with NumPy (no JAX ops to compile), stored as float64 JAX arrays.
    return {k: jnp.asarray(v) for k, v in params.items()}


def _init_params_numpy(dim, family, loc, scale, *, loc_name="loc", scale_name="scale"):
    """:func:`init_params` as NumPy float64 arrays; errors name ``loc_name``/``scale_name``."""
    _check_family(family)
    try:
        scale = float(scale)
    except (TypeError, ValueError):
        raise ValueError(f"{scale_name} must be a positive number, got {scale!r}") from None
    if not (np.isfinite(scale) and scale > 0):
        raise ValueError(f"{scale_name} must be > 0, got {scale!r}")
    loc = np.zeros(dim) if loc is None else np.array(loc, dtype=np.float64)
    if loc.shape != (dim,):
        raise ValueError(f"{loc_name} must have shape (dim,) = ({dim},), got {loc.shape}")
    if not np.all(np.isfinite(loc)):
        raise ValueError(f"{loc_name} must be finite, got {loc}")
    raw = np.full(dim, np.log(scale))
    if family == "full-rank":
        raw = np.diag(raw)
    return {"loc": loc, "raw_scale": raw}


def scale_tril(params):
    """The Cholesky factor L of q's covariance (dim, dim) from unconstrained ``params``.

    Mean-field parameters (``raw_scale`` of shape (dim,)) give a diagonal L.
    """
    raw = params["raw_scale"]
    if raw.ndim == 1:
        return jnp.diag(jnp.exp(raw))
    return jnp.tril(raw, -1) + jnp.diag(jnp.exp(jnp.diag(raw)))


def _transform(params, eps):
    """z = loc + L ε for ε of shape (S, dim)."""
    raw = params["raw_scale"]
    if raw.ndim == 1:
        return params["loc"] + eps * jnp.exp(raw)
    return params["loc"] + eps @ scale_tril(params).T


def log_q(z, params):
    """log q(z) in nats for z of shape (..., dim)."""
    loc = params["loc"]
    raw = params["raw_scale"]
    dim = loc.shape[-1]
    if raw.ndim == 1:
        u = (z - loc) * jnp.exp(-raw)
        logdet = jnp.sum(raw)
    else:
        L = scale_tril(params)
        u = jax.scipy.linalg.solve_triangular(L, (z - loc).reshape(-1, dim).T, lower=True).T
        u = u.reshape(z.shape)
        logdet = jnp.sum(jnp.diag(raw))
    return -0.5 * jnp.sum(u**2, axis=-1) - logdet - 0.5 * dim * _LOG_2PI


def entropy_q(params):
    """Differential entropy of q, ½ dim log(2πe) + log|L|, in nats."""
    raw = params["raw_scale"]
    dim = params["loc"].shape[-1]
    logdet = jnp.sum(raw) if raw.ndim == 1 else jnp.sum(jnp.diag(raw))
    return 0.5 * dim * (1.0 + _LOG_2PI) + logdet


def sample_q(params, eps):
    """Samples of q, z = loc + L ε, for standard-normal ``eps`` of shape (..., dim)."""
    return _transform(params, jnp.asarray(eps))


def _log_joint_batch(log_joint, z):
    return jax.vmap(log_joint)(z)


def standard_normal(seed_or_rng, num_samples, dim, batch_shape=()):
    """Base draws ε ~ N(0, I), shape ``batch_shape + (num_samples, dim)``, from NumPy.

    The estimators below are deterministic functions of ε; drawing ε with
    ``numpy.random.default_rng`` (seeded) keeps the compiled code free of a PRNG, which
    roughly halves JAX's compile time for a whole optimisation loop.
    """
    rng = np.random.default_rng(seed_or_rng)
    return rng.standard_normal(tuple(batch_shape) + (num_samples, dim))


@functools.partial(jax.jit, static_argnames=("log_joint",))
def elbo_estimate(log_joint, params, eps):
    """Monte Carlo ELBO estimate: the mean over draws of log p(x, z) − log q(z), z = loc + L ε.

    Parameters
    ----------
    log_joint : callable
        JAX-traceable ``z (dim,) -> log p(x, z)``, scalar, nats (static argument).
    params : dict
        Unconstrained parameters of q (:func:`init_params`).
    eps : array_like, shape (num_samples, dim)
        Standard-normal draws.

    Returns
    -------
    jax.Array, shape ()
        Unbiased estimate of the ELBO, nats.
    """
    eps = jnp.asarray(eps)
    z = _transform(params, eps)
    return _elbo_from_draws(_log_joint_batch(log_joint, z), eps, params)


def _log_det_scale(params):
    """log|L| = Σ log L_ii (the log-scale parameters on the diagonal)."""
    raw = params["raw_scale"]
    return jnp.sum(raw) if raw.ndim == 1 else jnp.sum(jnp.diag(raw))


def _elbo_from_draws(log_p, eps, params):
    """mean_s[log p(x, z_s) − log q(z_s)] with z_s = loc + L ε_s, using
    log q(z_s) = −½|ε_s|² − log|L| − ½ dim log 2π (no triangular solve needed)."""
    dim = eps.shape[-1]
    log_q_z = -0.5 * jnp.sum(eps**2, axis=-1) - _log_det_scale(params) - 0.5 * dim * _LOG_2PI
    return jnp.mean(log_p - log_q_z)


def _surrogate_reparam(params, log_joint, eps):
    # Along the path z = loc + L ε, log q(z; λ) = −½|ε|² − log|L| − const: its total
    # derivative is −∇ log|L|, so differentiating this expression differentiates both the
    # path and the score term of log q, exactly as autodiff through log_q would.
    z = _transform(params, eps)
    elbo = _elbo_from_draws(_log_joint_batch(log_joint, z), eps, params)
    return elbo, elbo


def _surrogate_stl(params, log_joint, eps):
    # STL keeps only the path term of −log q: ∂/∂λ[−log q(z(λ); λ_frozen)]
    # = ∇_z[−log q](z) · ∂z/∂λ with ∇_z[−log q](z) = Σ⁻¹(z − loc) = L⁻ᵀ ε, a constant
    # (stop_gradient) times z(λ). The value returned for the ELBO is the usual estimate.
    z = _transform(params, eps)
    log_p = _log_joint_batch(log_joint, z)
    raw = params["raw_scale"]
    if raw.ndim == 1:
        score_z = eps * jnp.exp(-raw)
    else:
        L = scale_tril(params)
        score_z = jax.scipy.linalg.solve_triangular(L.T, eps.T, lower=False).T
    score_z = jax.lax.stop_gradient(score_z)
    surrogate = jnp.mean(log_p + jnp.sum(score_z * z, axis=-1))
    elbo = _elbo_from_draws(jax.lax.stop_gradient(log_p), eps, jax.lax.stop_gradient(params))
    return surrogate, elbo


@functools.partial(jax.jit, static_argnames=("log_joint",))
def reparam_grad(log_joint, params, eps):
    """Reparameterisation estimator of ∇ ELBO (total derivative of log q).

    Parameters
    ----------
    log_joint : callable
        JAX-traceable ``z (dim,) -> log p(x, z)`` (scalar, nats). Static: pass the same
        function object to reuse the compiled code.
    params : dict
        Unconstrained parameters of q (:func:`init_params`).
    eps : array_like, shape (num_samples, dim)
        Standard-normal draws (:func:`standard_normal`); the estimate averages over them.

    Returns
    -------
    grad : dict
        Same structure as ``params``.
    elbo : jax.Array, shape ()
        The Monte Carlo ELBO estimate from the same draws, nats.

    Notes
    -----
    With z = loc + L ε, ε ~ N(0, I), the ELBO is E_ε[log p(x, z(ε)) − log q(z(ε); λ)], an
    expectation under a distribution that does not depend on λ, so the gradient moves inside
    (Kingma & Welling 2014; Kucukelbir et al. 2017, §2.5). Both the path through z and the
    explicit dependence of log q on λ are differentiated.
    """
    grad, elbo = jax.grad(_surrogate_reparam, has_aux=True)(params, log_joint, eps)
    return grad, elbo


@functools.partial(jax.jit, static_argnames=("log_joint",))
def stl_grad(log_joint, params, eps):
    """"Sticking the landing" estimator of ∇ ELBO (Roeder, Wu & Duvenaud 2017).

    Same arguments and returns as :func:`reparam_grad`.

    Notes
    -----
    The total derivative of log q(z(ε; λ); λ) splits into a path term through z and the score
    term ∂ log q / ∂λ at fixed z, whose expectation under q is zero. Dropping the score term
    (by evaluating log q at ``stop_gradient(λ)``) leaves an unbiased estimator whose summand
    is ∇_z[log p(x, z) − log q(z)] · ∂z/∂λ: when q equals the posterior the bracket is a
    constant in z, its gradient is zero, and so is the estimator's variance.
    """
    grad, elbo = jax.grad(_surrogate_stl, has_aux=True)(params, log_joint, eps)
    return grad, elbo


@functools.partial(jax.jit, static_argnames=("log_joint",))
def score_function_grad(log_joint, params, eps):
    """Score-function (REINFORCE) estimator of ∇ ELBO (Williams 1992; Ranganath et al. 2014).

    Same arguments and returns as :func:`reparam_grad` (the draws z = loc + L ε are treated
    as fixed samples of q).

    Notes
    -----
    ∇_λ E_q[f(z)] = E_q[f(z) ∇_λ log q(z; λ)] with f = log p(x, z) − log q(z; λ); the extra
    term −E_q[∇_λ log q] is zero. It needs only evaluations of log p (no gradient of the
    model), and its variance is typically much larger than the reparameterisation one.
    No control variate is used here.
    """
    z = jax.lax.stop_gradient(_transform(params, eps))
    f = jax.lax.stop_gradient(_log_joint_batch(log_joint, z) - log_q(z, params))

    def surrogate(p):
        return jnp.mean(f * log_q(z, p))

    grad = jax.grad(surrogate)(params)
    return grad, jnp.mean(f)


def gradient_estimator(name):
    """The estimator function for ``name`` in :data:`ESTIMATORS`.

    Raises
    ------
    ValueError
        For an unknown name.
    """
    table = {"stl": stl_grad, "reparam": reparam_grad, "score": score_function_grad}
    if name not in table:
        raise ValueError(f"estimator must be one of {ESTIMATORS}, got {name!r}")
    return table[name]


def gaussian_target_elbo(params, mu_p, cov_p):
    """Exact ELBO of q against an (unnormalised-free) Gaussian target log p(z) = log N(z; mu_p, cov_p).

    Parameters
    ----------
    params : dict
        Unconstrained parameters of q.
    mu_p : array_like, shape (dim,)
    cov_p : array_like, shape (dim, dim)

    Returns
    -------
    jax.Array, shape ()
        ELBO = −KL(q ‖ p) in nats (the target is normalised, so log evidence = 0).
        Differentiable: ``jax.grad(gaussian_target_elbo)`` gives the exact gradient the
        Monte Carlo estimators are unbiased for.

    Notes
    -----
    E_q[log N(z; m, S)] = −½[tr(S⁻¹ L Lᵀ) + (μ − m)ᵀ S⁻¹ (μ − m) + log|2πS|] and
    H(q) = ½ dim log(2πe) + log|L| (e.g. Bishop 2006, eq. B.41 for the entropy).
    """
    mu_p = jnp.asarray(mu_p)
    cov_p = jnp.asarray(cov_p)
    dim = mu_p.shape[-1]
    Lp = jnp.linalg.cholesky(cov_p)
    L = scale_tril(params)
    A = jax.scipy.linalg.solve_triangular(Lp, L, lower=True)
    b = jax.scipy.linalg.solve_triangular(Lp, params["loc"] - mu_p, lower=True)
    logdet_p = 2.0 * jnp.sum(jnp.log(jnp.diag(Lp)))
    e_log_p = -0.5 * (jnp.sum(A**2) + jnp.sum(b**2) + logdet_p + dim * _LOG_2PI)
    return e_log_p + entropy_q(params)
