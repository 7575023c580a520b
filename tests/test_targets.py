"""vi_lib.models.targets: each log_z is the log of the integral of exp(log_density).

Checked by grid sums (midpoint rule) over boxes that hold all but a negligible part of the mass:
a fixed grid for the banana and the mixture, and for the funnel, whose width in x changes by
orders of magnitude with v, a grid in x scaled to each v's conditional standard deviation.
"""

import math

import numpy as np
import pytest

from vi_lib.models import targets


def grid_log_z(log_density, xlim, ylim, h):
    x = np.arange(xlim[0], xlim[1], h) + h / 2
    y = np.arange(ylim[0], ylim[1], h) + h / 2
    xx, yy = np.meshgrid(x, y)
    logd = np.asarray(log_density(np.stack([xx, yy], axis=-1)))
    m = logd.max()
    return m + math.log(np.exp(logd - m).sum() * h * h)


@pytest.mark.parametrize("a,b", [(2.0, 0.5), (1.0, 1.5)])
def test_banana_log_z(a, b):
    t = targets.banana(a, b)
    got = grid_log_z(t.log_density, (-8 * a, 8 * a), (-b * a**2 - 9, 64 * b * a**2 + 9), 0.02)
    assert abs(got - t.log_z) < 1e-6


@pytest.mark.parametrize("sep,sigma", [(3.0, 1.0), (1.0, 0.5)])
def test_mixture_log_z(sep, sigma):
    t = targets.gaussian_mixture_2d(sep, sigma)
    r = sep + 10 * sigma
    assert abs(grid_log_z(t.log_density, (-r, r), (-r, r), sigma / 50) - t.log_z) < 1e-6


@pytest.mark.parametrize("dim", [2, 3])
def test_funnel_log_z(dim):
    t = targets.funnel(dim, scale=3.0)
    v = np.linspace(-30, 30, 1201)           # +-10 sd of v
    total = 0.0
    for vi in v:
        s = math.exp(vi / 2)                 # sd of each x_i given v
        x = np.linspace(-10 * s, 10 * s, 81)
        grids = np.meshgrid(*([x] * (dim - 1)))
        z = np.stack([np.full_like(grids[0], vi), *grids], axis=-1)
        total += np.exp(np.asarray(t.log_density(z))).sum() * (x[1] - x[0]) ** (dim - 1)
    total *= v[1] - v[0]
    assert abs(math.log(total) - t.log_z) < 1e-4


def test_bad_parameters():
    with pytest.raises(ValueError):
        targets.banana(a=0.0)
    with pytest.raises(ValueError):
        targets.gaussian_mixture_2d(sigma=-1.0)
    with pytest.raises(ValueError):
        targets.funnel(1)
