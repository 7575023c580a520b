"""vi_lib: the numerics behind the executable course *Variational Inference*.

Modules, by concept:

- :mod:`vi_lib.divergences` -- KL, alpha-, Renyi and Hellinger divergences.
- :mod:`vi_lib.plotting` -- one look for every figure in the book.

All divergences are in nats; the first argument is the left side of ``‖``.
"""

from .divergences import (
    kl_divergence,
    kl_monte_carlo,
    kl_mvn,
    kl_mvn_diag,
    kl_normal,
)

__all__ = [
    "kl_divergence",
    "kl_monte_carlo",
    "kl_mvn",
    "kl_mvn_diag",
    "kl_normal",
]

__version__ = "0.1.0"
