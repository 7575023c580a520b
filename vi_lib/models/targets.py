r"""Unnormalised test targets with a known normaliser, so that KL(q ‖ p) = log Z − ELBO.

Each target is a :class:`Target` whose ``log_density`` is JAX-traceable, vectorised over
leading axes (``z`` of shape ``(..., dim)`` -> ``(...)``), and drops a constant that
``log_z`` gives back exactly: :math:`\int \exp(\text{log\_density}(z))\,dz = \exp(\text{log\_z})`.

- :func:`banana` -- a twisted Gaussian (in the style of the test
  targets of Haario, Saksman & Tamminen 2001), a Gaussian pushed through a volume-preserving map.
- :func:`gaussian_mixture_2d` -- two equally weighted isotropic Gaussians.
- :func:`funnel` -- Neal's funnel (Neal 2003).
"""

from __future__ import annotations

import math
from typing import Callable, NamedTuple

import jax

jax.config.update("jax_enable_x64", True)

import jax.numpy as jnp  # noqa: E402

__all__ = ["Target", "banana", "gaussian_mixture_2d", "funnel"]

_LOG_2PI = math.log(2 * math.pi)


class Target(NamedTuple):
    """An unnormalised density with its log normaliser.

    Attributes
    ----------
    name : str
    dim : int
    log_density : callable
        ``z (..., dim) -> (...)``, log of the unnormalised density (nats), JAX-traceable.
    log_z : float
        log of its integral over R^dim (exact).
    xlim, ylim : tuple of float
        A plotting window for the first two coordinates.
    """

    name: str
    dim: int
    log_density: Callable
    log_z: float
    xlim: tuple
    ylim: tuple


def banana(a=2.0, b=0.5):
    r"""Twisted Gaussian: :math:`z_1 \sim \mathcal{N}(0, a^2)`,
    :math:`z_2 \mid z_1 \sim \mathcal{N}(b(z_1^2 - a^2), 1)`.

    The map :math:`(x_1, x_2) \mapsto (x_1, x_2 + b(x_1^2 - a^2))` has unit Jacobian
    determinant, so the normaliser of
    :math:`\exp(-z_1^2/(2a^2) - (z_2 - b(z_1^2 - a^2))^2/2)` is that of the Gaussian,
    :math:`Z = 2\pi a` (the twisted Gaussian of Haario, Saksman & Tamminen 2001 has
    :math:`a^2 = 100`).
    """
    a, b = float(a), float(b)
    if not (a > 0 and math.isfinite(a) and math.isfinite(b)):
        raise ValueError(f"need a > 0 and finite b, got a={a}, b={b}")

    def log_density(z):
        z1, z2 = z[..., 0], z[..., 1]
        return -0.5 * (z1 / a) ** 2 - 0.5 * (z2 - b * (z1**2 - a**2)) ** 2

    return Target("banana", 2, log_density, _LOG_2PI + math.log(a),
                  (-3 * a, 3 * a), (-b * a**2 - 3, 8 * b * a**2 + 3))


def gaussian_mixture_2d(separation=2.0, sigma=1.0):
    r"""Equal mixture of :math:`\mathcal{N}(\pm\tfrac{s}{2}(1, 1), \sigma^2 I)` in 2-D.

    The unnormalised density is :math:`\tfrac12\sum_\pm \exp(-\lVert z \mp \tfrac s2(1,1)
    \rVert^2 / (2\sigma^2))`, with :math:`Z = 2\pi\sigma^2`.
    """
    s, sigma = float(separation), float(sigma)
    if not (s >= 0 and sigma > 0 and math.isfinite(s) and math.isfinite(sigma)):
        raise ValueError(f"need separation >= 0 and sigma > 0, got {s}, {sigma}")
    mu = 0.5 * s * jnp.ones(2)

    def log_density(z):
        a = -0.5 * jnp.sum((z - mu) ** 2, axis=-1) / sigma**2
        b = -0.5 * jnp.sum((z + mu) ** 2, axis=-1) / sigma**2
        return jnp.logaddexp(a, b) - math.log(2.0)

    r = 0.5 * s + 3.5 * sigma
    return Target("mixture", 2, log_density, _LOG_2PI + 2 * math.log(sigma), (-r, r), (-r, r))


def funnel(dim=3, scale=3.0):
    r"""Neal's funnel: :math:`v \sim \mathcal{N}(0, \text{scale}^2)`,
    :math:`x_i \mid v \sim \mathcal{N}(0, e^{v})`, :math:`i = 1, \dots, \text{dim} - 1`;
    ``z = (v, x_1, ...)``.

    The unnormalised density drops only :math:`(2\pi)^{\text{dim}/2}\,\text{scale}`:
    :math:`\log Z = \tfrac{\text{dim}}{2}\log 2\pi + \log\text{scale}` (Neal 2003 uses
    dim = 10, scale = 3).
    """
    if isinstance(dim, bool) or not isinstance(dim, int) or dim < 2:
        raise ValueError(f"dim must be an integer >= 2, got {dim!r}")
    scale = float(scale)
    if not (scale > 0 and math.isfinite(scale)):
        raise ValueError(f"scale must be finite and > 0, got {scale}")

    def log_density(z):
        v, x = z[..., 0], z[..., 1:]
        return (-0.5 * (v / scale) ** 2 - 0.5 * jnp.sum(x**2, axis=-1) * jnp.exp(-v)
                - 0.5 * (dim - 1) * v)

    return Target("funnel", dim, log_density, 0.5 * dim * _LOG_2PI + math.log(scale),
                  (-3 * scale, 3 * scale), (-12.0, 12.0))
