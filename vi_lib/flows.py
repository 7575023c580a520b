r"""Normalising flows as variational families (JAX; flowjax and optax for the fits).

A flow pushes a base density through an invertible map: :math:`z = T(\varepsilon)`,
:math:`\varepsilon \sim \mathcal{N}(0, I)`, and by the change of variables

.. math::

    \log q(z) = \log \mathcal{N}(\varepsilon; 0, I) - \log\big|\det J_T(\varepsilon)\big|,
    \qquad \varepsilon = T^{-1}(z)

(Rezende & Mohamed 2015; Papamakarios et al. 2021). The ELBO of such a q is
:math:`\mathbb{E}_\varepsilon[\log p(x, T(\varepsilon)) - \log\mathcal{N}(\varepsilon; 0, I)
+ \log|\det J_T(\varepsilon)|]`.

Two parts:

- **Teaching code**: one affine coupling layer (Dinh, Sohl-Dickstein & Bengio 2017),
  written out: :func:`affine_coupling`, :func:`affine_coupling_inverse`, and a stack of them,
  :func:`realnvp_init`, :func:`realnvp_forward`, :func:`realnvp_inverse`,
  :func:`realnvp_log_prob`. Pure functions of a parameter pytree.
- **Fits** with a maintained library: :func:`fit_flow` builds a coupling flow with flowjax
  (Ward 2023), maximises flowjax's ELBO loss with optax's Adam inside one
  :func:`jax.lax.scan`, and returns a :class:`FlowFit` with ``sample``, ``log_prob`` and the
  ELBO trace.

Importing this module turns on ``jax_enable_x64`` (float64) process-wide, like
:mod:`vi_lib.blackbox`.
"""

from __future__ import annotations

import numbers
from typing import Any, NamedTuple

import jax

jax.config.update("jax_enable_x64", True)

import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
import optax  # noqa: E402

from .blackbox import FAST_COMPILE_OPTIONS, _check_int, _check_log_joint  # noqa: E402

__all__ = [
    "affine_coupling",
    "affine_coupling_inverse",
    "realnvp_init",
    "realnvp_forward",
    "realnvp_inverse",
    "realnvp_log_prob",
    "FlowFit",
    "fit_flow",
]

_LOG_2PI = float(np.log(2 * np.pi))


# --------------------------------------------------------------------------- teaching code

def _conditioner(params, z_a):
    """One-hidden-layer MLP: the untouched half -> (shift, log_scale) for the other half."""
    h = jnp.tanh(z_a @ params["w1"] + params["b1"])
    out = h @ params["w2"] + params["b2"]
    shift, raw = jnp.split(out, 2, axis=-1)
    return shift, jnp.tanh(raw)  # log-scale in (-1, 1): each layer scales by e^{±1} at most


def affine_coupling(params, z, flip=False):
    r"""Forward pass of one affine coupling layer and its log-determinant.

    Split ``z`` into its first ``dim // 2`` coordinates and the rest; ``z_a`` is the first
    part and ``z_b`` the second, or the other way round when ``flip``. Then

    .. math::

        y_a = z_a, \qquad y_b = z_b \odot \exp(s(z_a)) + t(z_a),
        \qquad \log|\det J| = \textstyle\sum_j s_j(z_a),

    because the Jacobian is block-triangular with identity and :math:`\mathrm{diag}(e^{s})`
    on its diagonal (Dinh et al. 2017).

    Parameters
    ----------
    params : dict
        ``w1 (d_a, h)``, ``b1 (h,)``, ``w2 (h, 2 d_b)``, ``b2 (2 d_b,)`` of the conditioner.
    z : array, shape (..., dim)
    flip : bool
        Transform the first half instead of the second.

    Returns
    -------
    y : array, shape (..., dim)
    log_det : array, shape (...)
        :math:`\log|\det \partial y / \partial z|` in nats.
    """
    z = jnp.asarray(z)
    d = z.shape[-1]
    cut = d // 2
    z_a, z_b = z[..., :cut], z[..., cut:]
    if flip:
        z_a, z_b = z_b, z_a
    shift, log_scale = _conditioner(params, z_a)
    y_b = z_b * jnp.exp(log_scale) + shift
    y = jnp.concatenate([y_b, z_a] if flip else [z_a, y_b], axis=-1)
    return y, jnp.sum(log_scale, axis=-1)


def affine_coupling_inverse(params, y, flip=False):
    r"""Inverse of :func:`affine_coupling`: :math:`z_b = (y_b - t(y_a)) \odot \exp(-s(y_a))`.

    Parameters and shapes as in :func:`affine_coupling`; returns ``z`` of shape ``(..., dim)``.
    """
    y = jnp.asarray(y)
    d = y.shape[-1]
    cut = d // 2
    y_a, y_b = y[..., :cut], y[..., cut:]
    if flip:
        y_a, y_b = y_b, y_a
    shift, log_scale = _conditioner(params, y_a)
    z_b = (y_b - shift) * jnp.exp(-log_scale)
    return jnp.concatenate([z_b, y_a] if flip else [y_a, z_b], axis=-1)


def realnvp_init(dim, *, num_layers=4, hidden=16, seed=0, scale=0.1):
    """Random parameters of a stack of ``num_layers`` affine coupling layers.

    Parameters
    ----------
    dim : int
        Dimension (>= 2: a coupling layer needs two non-empty halves).
    num_layers : int
        Layers; layer i transforms the second half when i is even, the first when odd.
    hidden : int
        Width of each conditioner's hidden layer.
    seed : int
        Seed of ``numpy.random.default_rng``.
    scale : float
        Standard deviation of the initial weights (small: the flow starts near the identity).

    Returns
    -------
    list of dict
        One conditioner per layer (see :func:`affine_coupling`).

    Raises
    ------
    ValueError
        If ``dim < 2`` or a count is not a positive integer.
    """
    dim = _check_int("dim", dim, minimum=2)
    num_layers = _check_int("num_layers", num_layers)
    hidden = _check_int("hidden", hidden)
    rng = np.random.default_rng(seed)
    layers = []
    for i in range(num_layers):
        flip = bool(i % 2)
        d_a = dim - dim // 2 if flip else dim // 2
        d_b = dim - d_a
        layers.append({"w1": scale * rng.standard_normal((d_a, hidden)),
                       "b1": np.zeros(hidden),
                       "w2": scale * rng.standard_normal((hidden, 2 * d_b)),
                       "b2": np.zeros(2 * d_b)})
    return layers


def realnvp_forward(layers, eps):
    """z = T(ε) through every layer, with the summed log-determinant (shape ``(...)``)."""
    z, log_det = jnp.asarray(eps), 0.0
    for i, p in enumerate(layers):
        z, ld = affine_coupling(p, z, flip=bool(i % 2))
        log_det = log_det + ld
    return z, log_det


def realnvp_inverse(layers, z):
    """ε = T⁻¹(z): the layers' inverses in reverse order."""
    eps = jnp.asarray(z)
    for i in reversed(range(len(layers))):
        eps = affine_coupling_inverse(layers[i], eps, flip=bool(i % 2))
    return eps


def realnvp_log_prob(layers, z):
    r"""log q(z) for q = T_# N(0, I), by the change of variables.

    :math:`\log q(z) = \log\mathcal{N}(T^{-1}(z); 0, I) - \log|\det J_T(T^{-1}(z))|`
    (Rezende & Mohamed 2015). ``z`` has shape ``(..., dim)``; returns shape ``(...)``.
    """
    eps = realnvp_inverse(layers, z)
    _, log_det = realnvp_forward(layers, eps)
    d = eps.shape[-1]
    return -0.5 * jnp.sum(eps**2, axis=-1) - 0.5 * d * _LOG_2PI - log_det


# --------------------------------------------------------------------------- flowjax fits

class FlowFit(NamedTuple):
    """A fitted flow q (what :func:`fit_flow` returns).

    Attributes
    ----------
    dist : flowjax.distributions.Transformed
        The trained flowjax distribution.
    elbo : ndarray, shape (num_steps,)
        Monte Carlo ELBO estimate at each step (nats), from that step's draws.
    dim : int
    num_steps, num_samples : int
    """

    dist: Any
    elbo: np.ndarray
    dim: int
    num_steps: int
    num_samples: int

    def sample(self, num_samples, seed):
        """``num_samples`` draws of q, shape ``(num_samples, dim)`` (NumPy, float64).

        Raises ValueError if ``num_samples < 1``.
        """
        num_samples = _check_int("num_samples", num_samples)
        key = jax.random.key(int(seed))
        return np.asarray(_sample(self.dist, key, num_samples))

    def log_prob(self, z):
        """log q(z) in nats for ``z`` of shape ``(dim,)`` or ``(n, dim)``; shape ``()`` or ``(n,)``.

        Raises ValueError if the last axis of ``z`` is not ``dim``.
        """
        z = np.asarray(z, dtype=np.float64)
        if z.ndim not in (1, 2) or z.shape[-1] != self.dim:
            raise ValueError(f"z must have shape (dim,) or (n, dim) with dim = {self.dim}, "
                             f"got shape {z.shape}")
        return np.asarray(_log_prob(self.dist, z))


def _jit(fn):
    """``equinox.filter_jit`` on first use (equinox is imported lazily), cached."""
    cache = {}

    def wrapper(*args):
        if "f" not in cache:
            import equinox as eqx

            cache["f"] = eqx.filter_jit(fn)
        return cache["f"](*args)

    return wrapper


@_jit
def _sample(dist, key, n):
    return dist.sample(key, (n,))


@_jit
def _log_prob(dist, z):
    return dist.log_prob(z)


def fit_flow(log_joint, dim, *, num_layers=4, num_steps=2000, seed=0, num_samples=16,
             transformer="affine", nn_width=32, nn_depth=1, knots=8, interval=6.0,
             learning_rate=None, fast_compile=True):
    r"""Fit a coupling-flow q(z) to p(z | x) ∝ exp(log_joint(z)) by maximising the ELBO.

    Parameters
    ----------
    log_joint : callable
        JAX-traceable ``z -> log p(x, z)`` for ``z`` of shape ``(dim,)``, returning a scalar
        (nats), as for :func:`vi_lib.advi`.
    dim : int
        Dimension of z (>= 2: each coupling layer splits z into two non-empty halves).
    num_layers : int
        Coupling layers (each followed by a permutation), default 4.
    num_steps : int
        Adam steps (default 2000).
    seed : int
        Seeds the flow's initial weights and every step's base draws (``jax.random``).
    num_samples : int
        Draws of q per step in the ELBO estimate (default 16).
    transformer : {"affine", "spline"}
        Elementwise map inside each coupling layer: affine (RealNVP; Dinh et al. 2017) or a
        rational-quadratic spline on ``[-interval, interval]`` with ``knots`` knots (Durkan et
        al. 2019), identity outside.
    nn_width, nn_depth : int
        Conditioner MLP width and number of hidden layers.
    knots : int
        Spline knots (``transformer="spline"`` only).
    interval : float
        Spline half-width (``transformer="spline"`` only).
    learning_rate : float or optax schedule, optional
        Default: cosine decay from 3e-3 to 3e-5 over ``num_steps``.
    fast_compile : bool
        Compile with XLA's backend optimisation level 0 (as :func:`vi_lib.advi`): for these
        small flows compilation dominates the run time.

    Returns
    -------
    FlowFit
        ``sample(num_samples, seed) -> (num_samples, dim)``, ``log_prob(z)``, ``elbo`` (trace).

    Raises
    ------
    ValueError
        If ``dim < 2``, a count is not a positive integer, ``transformer`` is unknown,
        ``log_joint`` does not take shape ``(dim,)`` or does not return a scalar, or the ELBO
        trace is not finite.

    Notes
    -----
    The loss is flowjax's ``ElboLoss`` (the negative Monte Carlo ELBO, reparameterised through
    the flow); optax's Adam (Kingma & Ba 2015) minimises it inside one :func:`jax.lax.scan`.
    The flow is flowjax's ``coupling_flow`` with ``invert=False``, so sampling runs the
    forward map and ``sample_and_log_prob`` costs one pass.
    """
    import equinox as eqx
    import paramax
    from flowjax.bijections import RationalQuadraticSpline
    from flowjax.distributions import Normal
    from flowjax.flows import coupling_flow
    from flowjax.train.losses import ElboLoss

    dim = _check_int("dim", dim, minimum=2)
    num_layers = _check_int("num_layers", num_layers)
    num_steps = _check_int("num_steps", num_steps)
    num_samples = _check_int("num_samples", num_samples)
    nn_width = _check_int("nn_width", nn_width)
    nn_depth = _check_int("nn_depth", nn_depth, minimum=0)
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise ValueError(f"seed must be an integer, got {seed!r}")
    if transformer == "affine":
        bij = None  # flowjax's default: affine with a minimum scale
    elif transformer == "spline":
        bij = RationalQuadraticSpline(knots=_check_int("knots", knots), interval=float(interval))
    else:
        raise ValueError(f"transformer must be 'affine' or 'spline', got {transformer!r}")
    _check_log_joint(log_joint, dim)

    key_init, key_run = jax.random.split(jax.random.key(int(seed)))
    flow = coupling_flow(key_init, base_dist=Normal(jnp.zeros(dim)), transformer=bij,
                         flow_layers=num_layers, nn_width=nn_width, nn_depth=nn_depth,
                         invert=False)
    params, static = eqx.partition(flow, eqx.is_inexact_array,
                                   is_leaf=lambda leaf: isinstance(leaf, paramax.NonTrainable))
    loss = ElboLoss(log_joint, num_samples=num_samples)
    if learning_rate is None:
        learning_rate = optax.cosine_decay_schedule(3e-3, num_steps, alpha=0.01)
    optimizer = optax.adam(learning_rate)

    def step(carry, key):
        p, state = carry
        value, grad = eqx.filter_value_and_grad(loss)(p, static, key)
        updates, state = optimizer.update(grad, state, p)
        return (eqx.apply_updates(p, updates), state), -value

    def run(p, key):
        return jax.lax.scan(step, (p, optimizer.init(p)), jax.random.split(key, num_steps))

    lowered = jax.jit(run).lower(params, key_run)
    compiled = None
    if fast_compile:
        try:
            compiled = lowered.compile(FAST_COMPILE_OPTIONS)
        except Exception:  # an XLA without these options
            compiled = None
    if compiled is None:
        compiled = lowered.compile()

    (params, _), elbo = compiled(params, key_run)
    elbo = np.asarray(elbo)
    if not np.all(np.isfinite(elbo)):
        first = int(np.argmax(~np.isfinite(elbo)))
        raise ValueError(f"the ELBO became {elbo[first]} at step {first}; lower the "
                         "learning rate or check log_joint for overflow")
    return FlowFit(eqx.combine(params, static), elbo, dim, num_steps, num_samples)
