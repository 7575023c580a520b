"""Reusable JAX pieces for variational inference in neural networks.

Used by the worked examples on Bayes by Backprop (a Bayesian neural network,
Blundell et al. 2015) and on the variational autoencoder (Kingma & Welling 2014).

- Gaussian KL divergences in closed form, written in JAX so that they can be
  differentiated and compiled: :func:`kl_normal` (the twin of
  :func:`vi_lib.divergences.kl_normal`) and :func:`kl_standard_normal`
  (KL from a diagonal Gaussian to N(0, I), the VAE's KL term).
- A small multilayer perceptron: :func:`init_mlp`, :func:`mlp`.
- A mean-field Gaussian over the weights of an MLP: :func:`init_mean_field`,
  :func:`mean_field_sigma`, :func:`reparameterise`, :func:`sample_mean_field`, :func:`kl_mean_field`,
  and the negative ELBO of Bayes by Backprop, :func:`bbb_loss`.
- A Gaussian-encoder / Bernoulli-decoder VAE: :func:`init_vae`, :func:`vae_encode`,
  :func:`vae_decode`, :func:`vae_elbo`.
- :func:`fit`, a whole optax optimisation compiled into one ``jax.lax.scan``, with the
  random draws of every step passed in as data.

The module works in whatever precision JAX is set to (float32 by default, which
is enough for the neural-network examples). Nats throughout; ``sigma`` is a
standard deviation; the first argument of a divergence is the left side of ``‖``.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax.flatten_util import ravel_pytree

__all__ = [
    "kl_normal",
    "kl_standard_normal",
    "softplus_inverse",
    "init_mlp",
    "mlp",
    "init_mean_field",
    "mean_field_sigma",
    "reparameterise",
    "sample_mean_field",
    "kl_mean_field",
    "gaussian_log_likelihood",
    "bbb_loss",
    "init_vae",
    "vae_encode",
    "vae_decode",
    "vae_elbo",
    "fit",
]


def _check_positive(name, value):
    """Raise ValueError if a concrete (non-traced) array has an entry <= 0."""
    if isinstance(value, jax.core.Tracer):
        return
    arr = np.asarray(value)
    if arr.size and not np.all(arr > 0):
        bad = arr[~(arr > 0)].ravel()[0]
        raise ValueError(f"{name} must be > 0, got {bad}")


# ----------------------------------------------------------------------------
# Gaussian KL divergences
# ----------------------------------------------------------------------------

def kl_normal(mu_q, sigma_q, mu_p, sigma_p):
    r"""KL(N(mu_q, sigma_q²) ‖ N(mu_p, sigma_p²)) in nats, elementwise, in JAX.

    Parameters
    ----------
    mu_q, sigma_q : array_like
        Mean and standard deviation (> 0) of q; broadcastable.
    mu_p, sigma_p : array_like
        Mean and standard deviation (> 0) of p; broadcastable with q's.

    Returns
    -------
    jax.Array
        The divergence, elementwise, with the broadcast shape.

    Raises
    ------
    ValueError
        If a concrete (not traced) ``sigma_q`` or ``sigma_p`` has an entry <= 0.

    Notes
    -----
    With :math:`t = 2\log(\sigma_q/\sigma_p)`,

    .. math::
        \mathrm{KL} = \tfrac12\Big[\frac{(\mu_q-\mu_p)^2}{\sigma_p^2}
                      + \big(e^{t} - 1 - t\big)\Big],

    which is the textbook formula
    :math:`\log\frac{\sigma_p}{\sigma_q} + \frac{\sigma_q^2 + (\mu_q-\mu_p)^2}{2\sigma_p^2}
    - \frac12` (Bishop 2006, exercise 1.30; derived in the KL chapter)
    written with :math:`e^t - 1 - t` (a Taylor series for small :math:`|t|`) so that
    no digits are lost when q ≈ p.

    Examples
    --------
    >>> float(kl_normal(0.0, 1.0, 0.0, 1.0))
    0.0
    """
    _check_positive("sigma_q", sigma_q)
    _check_positive("sigma_p", sigma_p)
    return _kl_normal(mu_q, sigma_q, mu_p, sigma_p)


@jax.jit
def _kl_normal(mu_q, sigma_q, mu_p, sigma_p):
    # compiled once per shape, so that eager calls do not dispatch a dozen small ops
    t = 2.0 * (jnp.log(sigma_q) - jnp.log(sigma_p))
    return 0.5 * (((mu_q - mu_p) / sigma_p) ** 2 + _expm1mx(t))


def _expm1mx(t):
    """``exp(t) - 1 - t`` without cancellation: Taylor series for |t| < 0.1."""
    small = jnp.abs(t) < 0.1
    ts = jnp.where(small, t, 0.0)
    # t²/2! + t³/3! + ... + t⁹/9!, by Horner; truncation error < 1e-14 relative.
    series = ts * ts * (1 / 2 + ts * (1 / 6 + ts * (1 / 24 + ts * (1 / 120 + ts * (
        1 / 720 + ts * (1 / 5040 + ts * (1 / 40320 + ts / 362880)))))))
    tl = jnp.where(small, 1.0, t)
    return jnp.where(small, series, jnp.expm1(tl) - tl)


def kl_standard_normal(mu, sigma):
    r"""KL(N(mu, diag(sigma²)) ‖ N(0, I)) in nats, summed over the last axis, in JAX.

    The KL term of a variational autoencoder with a diagonal Gaussian encoder.

    Parameters
    ----------
    mu : array_like, shape (..., n)
        Means of q.
    sigma : array_like, shape (..., n)
        Standard deviations of q (> 0).

    Returns
    -------
    jax.Array, shape (...)

    Raises
    ------
    ValueError
        If a concrete ``sigma`` has an entry <= 0.

    Notes
    -----
    .. math::
        \mathrm{KL}\big(\mathcal N(\mu, \operatorname{diag}\sigma^2)\,\|\,\mathcal N(0, I)\big)
        = \tfrac12 \sum_{i=1}^n \big(\sigma_i^2 + \mu_i^2 - 1 - \log\sigma_i^2\big),

    from :math:`\mathbb E_q[z^\top z] = \operatorname{tr}\Sigma + \mu^\top\mu`
    (Kingma & Welling 2014, appendix B). It is :func:`kl_normal` with
    ``mu_p = 0, sigma_p = 1`` summed over the coordinates.
    """
    return jnp.sum(kl_normal(mu, sigma, 0.0, 1.0), axis=-1)


def softplus_inverse(sigma):
    """The ``rho`` with ``softplus(rho) = sigma`` (sigma > 0), computed stably."""
    _check_positive("sigma", sigma)
    sigma = jnp.asarray(sigma)
    return sigma + jnp.log(-jnp.expm1(-sigma))


# ----------------------------------------------------------------------------
# A small multilayer perceptron
# ----------------------------------------------------------------------------

def init_mlp(rng, sizes, *, scale=1.0):
    """Random weights for an MLP with layer widths ``sizes``.

    Parameters
    ----------
    rng : numpy.random.Generator
        Seeded NumPy generator (drawing here, not with ``jax.random``, avoids compiling
        a handful of one-off JAX operations).
    sizes : sequence of int
        Widths ``(d_in, h_1, ..., d_out)``; at least two entries.
    scale : float
        Weights are ``N(0, scale² / fan_in)`` (LeCun scaling times ``scale``); biases 0.

    Returns
    -------
    list of dict
        One ``{"W": (d_k, d_{k+1}), "b": (d_{k+1},)}`` per layer, as JAX arrays in JAX's
        default float type.

    Raises
    ------
    ValueError
        If ``sizes`` has fewer than two entries or a width < 1.
    """
    sizes = [int(s) for s in sizes]
    if len(sizes) < 2 or min(sizes) < 1:
        raise ValueError(f"sizes must list >= 2 positive widths, got {sizes}")
    if not isinstance(rng, np.random.Generator):
        raise ValueError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}")
    return [
        {"W": jnp.asarray(scale * rng.standard_normal((m, n)) / np.sqrt(m)),
         "b": jnp.zeros(n)}
        for m, n in zip(sizes[:-1], sizes[1:])
    ]


def mlp(params, x, activation=jax.nn.tanh):
    """Apply an MLP: ``activation`` after every layer but the last (which is linear).

    Parameters
    ----------
    params : list of dict
        As returned by :func:`init_mlp`.
    x : array_like, shape (..., d_in)
    activation : callable

    Returns
    -------
    jax.Array, shape (..., d_out)
    """
    h = jnp.asarray(x)
    for layer in params[:-1]:
        h = activation(h @ layer["W"] + layer["b"])
    return h @ params[-1]["W"] + params[-1]["b"]


# ----------------------------------------------------------------------------
# Mean-field Gaussian over the weights (Bayes by Backprop)
# ----------------------------------------------------------------------------

def init_mean_field(rng, sizes, *, sigma_init=1e-2, scale=1.0):
    """A mean-field Gaussian q(w) over the weights of an MLP, as flat vectors.

    Parameters
    ----------
    rng : numpy.random.Generator
    sizes : sequence of int
        Layer widths, as for :func:`init_mlp`.
    sigma_init : float
        Initial standard deviation of every weight (> 0).
    scale : float
        Scale of the random initial means (see :func:`init_mlp`).

    Returns
    -------
    q : dict
        ``{"mu": (P,), "rho": (P,)}``: means and unconstrained scales of the ``P``
        weights and biases, with ``sigma = softplus(rho)`` (Blundell et al. 2015, sec. 3.2).
    unravel : callable
        Maps a flat weight vector of shape ``(P,)`` to the MLP parameters of :func:`mlp`.

    Notes
    -----
    Keeping all weights in one vector makes a draw of the weights one call to
    ``jax.random.normal``, which keeps the compiled training loop small.
    """
    _check_positive("sigma_init", sigma_init)
    mu, unravel = ravel_pytree(init_mlp(rng, sizes, scale=scale))
    rho = jnp.full_like(mu, float(np.log(np.expm1(sigma_init))))
    return {"mu": mu, "rho": rho}, unravel


def mean_field_sigma(q):
    """Standard deviations ``softplus(rho)`` of a mean-field q, shape ``(P,)``."""
    return jax.nn.softplus(q["rho"])


def reparameterise(q, eps):
    """Weights ``w = mu + softplus(rho) * eps`` for standard-normal ``eps`` of shape ``(..., P)``.

    The reparameterisation trick: ``w`` is a draw from q when ``eps ~ N(0, I)``, and gradients
    flow to ``q["mu"]`` and ``q["rho"]``.
    """
    return q["mu"] + mean_field_sigma(q) * eps


def sample_mean_field(key, q, num_samples=1):
    """Draws from q with ``jax.random``: shape ``(num_samples, P)``, see :func:`reparameterise`.

    Parameters
    ----------
    key : jax.Array
    q : dict
        ``{"mu": (P,), "rho": (P,)}`` from :func:`init_mean_field`.
    num_samples : int
    """
    eps = jax.random.normal(key, (num_samples,) + q["mu"].shape, q["mu"].dtype)
    return reparameterise(q, eps)


def kl_mean_field(q, sigma_prior):
    """KL(q ‖ prior) for a mean-field q and the prior N(0, sigma_prior²) on every weight.

    The sum of :func:`kl_normal` over all ``P`` weights and biases (nats).
    """
    _check_positive("sigma_prior", sigma_prior)
    return jnp.sum(kl_normal(q["mu"], mean_field_sigma(q), 0.0, sigma_prior))


def gaussian_log_likelihood(y, mean, sigma):
    """Sum over all entries of log N(y | mean, sigma²) (nats)."""
    z = (y - mean) / sigma
    return jnp.sum(-0.5 * z**2 - jnp.log(sigma) - 0.5 * jnp.log(2 * jnp.pi))


def bbb_loss(q, eps, x, y, unravel, *, noise_sigma, sigma_prior, activation=jax.nn.tanh):
    r"""Negative ELBO of Bayes by Backprop for regression with Gaussian noise.

    Parameters
    ----------
    q : dict
        Mean-field q over the MLP weights (:func:`init_mean_field`).
    eps : array, shape (S, P)
        Standard-normal draws; the expected log-likelihood is averaged over the ``S``
        weight vectors ``reparameterise(q, eps)``.
    x : array, shape (n, d_in)
    y : array, shape (n, d_out)
    unravel : callable
        From :func:`init_mean_field`: flat weights to MLP parameters.
    noise_sigma : float
        Known standard deviation of the observation noise.
    sigma_prior : float
        Prior standard deviation of every weight.
    activation : callable
        Hidden-layer nonlinearity of the MLP.

    Returns
    -------
    jax.Array, scalar
        :math:`-\mathrm{ELBO} = \mathrm{KL}(q\,\|\,p) - \mathbb E_q[\log p(y\mid x, w)]`,
        the KL in closed form (:func:`kl_mean_field`) and the expectation by
        reparameterised Monte Carlo (Blundell et al. 2015, eq. 2).
    """
    def loglik(w):
        return gaussian_log_likelihood(y, mlp(unravel(w), x, activation), noise_sigma)

    ws = reparameterise(q, eps)
    return kl_mean_field(q, sigma_prior) - jnp.mean(jax.vmap(loglik)(ws))


# ----------------------------------------------------------------------------
# Variational autoencoder (Gaussian encoder, Bernoulli decoder)
# ----------------------------------------------------------------------------

def init_vae(rng, data_dim, hidden, latent_dim):
    """Weights of an MLP encoder ``x -> (mu, log sigma)`` and decoder ``z -> logits``.

    Parameters
    ----------
    rng : numpy.random.Generator
    data_dim, hidden, latent_dim : int
        Sizes of the data vector, of the one hidden layer, and of the latent z.

    Returns
    -------
    dict
        ``{"encoder": mlp params (data_dim -> hidden -> 2 latent_dim),
        "decoder": mlp params (latent_dim -> hidden -> data_dim)}``.
    """
    return {
        "encoder": init_mlp(rng, (data_dim, hidden, 2 * latent_dim)),
        "decoder": init_mlp(rng, (latent_dim, hidden, data_dim)),
    }


def vae_encode(params, x):
    """Encoder: the mean and standard deviation of q(z | x), each shape ``(..., latent_dim)``."""
    out = mlp(params["encoder"], x)
    mu, log_sigma = jnp.split(out, 2, axis=-1)
    return mu, jnp.exp(log_sigma)


def vae_decode(params, z):
    """Decoder: Bernoulli logits of p(x | z), shape ``(..., data_dim)``."""
    return mlp(params["decoder"], z)


def vae_elbo(params, eps, x, kl_fn=kl_standard_normal):
    r"""ELBO of each data vector with reparameterised draws of z (nats).

    Parameters
    ----------
    params : dict
        From :func:`init_vae`.
    eps : array, shape (..., n, latent_dim)
        Standard-normal draws; ``z = mu(x) + sigma(x) * eps``. A leading axis gives several
        draws per data vector.
    x : array, shape (n, data_dim)
        Binary data (0/1).
    kl_fn : callable
        ``kl_fn(mu, sigma)`` returning KL(q(z|x) ‖ N(0, I)) per row; the closed form by default.

    Returns
    -------
    jax.Array, shape (..., n)
        :math:`\log p(x\mid z) - \mathrm{KL}(q(z\mid x)\,\|\,\mathcal N(0, I))`
        (Kingma & Welling 2014, eq. 10, with one draw of z per entry of ``eps``).
    """
    mu, sigma = vae_encode(params, x)
    z = mu + sigma * eps
    logits = vae_decode(params, z)
    # log Bernoulli(x | sigmoid(logits)) = x * logits - softplus(logits)
    log_lik = jnp.sum(x * logits - jax.nn.softplus(logits), axis=-1)
    return log_lik - kl_fn(mu, sigma)


# ----------------------------------------------------------------------------
# Training loop compiled into one scan
# ----------------------------------------------------------------------------

def fit(loss_fn, params, optimizer, xs):
    """Minimise a stochastic loss with an optax optimiser, all steps in one ``lax.scan``.

    Parameters
    ----------
    loss_fn : callable
        ``loss_fn(params, x_t) -> scalar``, where ``x_t`` is step ``t``'s slice of ``xs``.
    params : pytree
        Initial parameters.
    optimizer : optax.GradientTransformation
    xs : pytree of arrays
        Per-step inputs with a common leading axis of length ``num_steps`` (>= 1): the
        random draws and minibatch indices of each step.

    Returns
    -------
    params : pytree
        Final parameters.
    losses : jax.Array, shape (num_steps,)
        The loss at each step (before that step's update).

    Raises
    ------
    ValueError
        If ``xs`` is empty or its leaves disagree on the number of steps.

    Notes
    -----
    The randomness comes in as data (drawn beforehand, e.g. with a seeded NumPy
    generator) rather than from ``jax.random`` inside the loop: on CPU, the
    counter-based PRNG inside a scanned, differentiated step roughly doubled XLA's
    compile time for the course's models, and compile time dominates these short runs.
    """
    leaves = jax.tree_util.tree_leaves(xs)
    lengths = {int(np.shape(a)[0]) if np.ndim(a) else -1 for a in leaves}
    if not leaves or len(lengths) != 1 or min(lengths) < 1:
        raise ValueError(f"xs must hold arrays with one common leading length >= 1 (the number "
                         f"of steps), got leading lengths {sorted(lengths)}")

    @jax.jit
    def run(params, xs):
        def step(carry, x_t):
            params, opt_state = carry
            loss, grads = jax.value_and_grad(loss_fn)(params, x_t)
            updates, opt_state = optimizer.update(grads, opt_state, params)
            return (optax.apply_updates(params, updates), opt_state), loss

        (params, _), losses = jax.lax.scan(step, (params, optimizer.init(params)), xs)
        return params, losses

    return run(params, xs)


# ----------------------------------------------------------------------------
# Importance-weighted quantities of a VAE (chapter 10's extension, issue 15)
# ----------------------------------------------------------------------------

def _log_normal_diag(z, mu, sigma):
    return jnp.sum(-0.5 * ((z - mu) / sigma) ** 2 - jnp.log(sigma) - 0.5 * jnp.log(2 * jnp.pi),
                   axis=-1)


def vae_log_weights(params, eps, x, mu=None, sigma=None):
    r"""Log importance weights :math:`\log p(x, z) - \log q(z)` of a VAE, in nats.

    Parameters
    ----------
    params : dict
        From :func:`init_vae`.
    eps : array, shape (K, n, latent_dim)
        Standard-normal draws; ``z = mu + sigma * eps``.
    x : array, shape (n, data_dim)
        Binary data.
    mu, sigma : array, shape (n, latent_dim), optional
        The Gaussian q(z) to draw from; default: the encoder's q(z | x).

    Returns
    -------
    jax.Array, shape (K, n)
        :math:`\log p_\theta(x\mid z) + \log\mathcal N(z; 0, I) - \log q(z)` at each draw. Their
        mean over K is an ELBO estimate; ``logsumexp - log K`` over K is the IWAE estimate
        (Burda, Grosse & Salakhutdinov 2016).
    """
    if mu is None or sigma is None:
        mu, sigma = vae_encode(params, x)
    z = mu + sigma * eps
    logits = vae_decode(params, z)
    log_lik = jnp.sum(x * logits - jax.nn.softplus(logits), axis=-1)
    return log_lik + _log_normal_diag(z, 0.0, 1.0) - _log_normal_diag(z, mu, sigma)


def vae_iwae(params, eps, x):
    r"""The K-particle IWAE estimate of :math:`\log p_\theta(x)` per data vector (nats).

    ``eps`` has shape (K, n, latent_dim); returns shape (n,):
    :math:`\operatorname{logsumexp}_k \log w_k - \log K` with the encoder as proposal
    (Burda, Grosse & Salakhutdinov 2016). Differentiable: use it as a training objective.
    """
    log_w = vae_log_weights(params, eps, x)
    return jax.scipy.special.logsumexp(log_w, axis=0) - jnp.log(eps.shape[0])
