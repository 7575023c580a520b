"""Models used across the course, one submodule per model.

- :mod:`vi_lib.models.coin` -- the coin toss (Beta–Bernoulli).
- :mod:`vi_lib.models.gaussian` -- Gaussian targets (correlated 2-D Gaussian,
  latent linear-Gaussian model, Normal–Gamma).
- :mod:`vi_lib.models.linear_regression` -- Bayesian linear regression.
- :mod:`vi_lib.models.targets` -- test targets with a known normaliser (banana, mixture,
  funnel); import it as ``from vi_lib.models import targets``.
"""

from . import coin, gaussian, linear_regression  # noqa: F401
from .coin import *  # noqa: F401,F403
from .gaussian import *  # noqa: F401,F403
from .linear_regression import *  # noqa: F401,F403
