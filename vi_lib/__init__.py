"""vi_lib: the numerics behind the executable course *Variational Inference*.

Modules, by concept:

- :mod:`vi_lib.divergences` -- KL, alpha-, Rényi and Hellinger divergences.
- :mod:`vi_lib.elbo` -- the ELBO and its pieces.
- :mod:`vi_lib.cavi` -- coordinate-ascent VI for the course's models.
- :mod:`vi_lib.models` -- the course's models (coin toss, Gaussians, regression).
- :mod:`vi_lib.gradients` -- score-function and reparameterisation estimators (JAX).
- :mod:`vi_lib.blackbox` -- :func:`advi`, black-box VI with a Gaussian q (JAX).
- :mod:`vi_lib.neural` -- Bayes by Backprop and VAE building blocks (JAX).
- :mod:`vi_lib.svi` -- stochastic VI: minibatch ADVI and natural-gradient SVI for the mixture.
- :mod:`vi_lib.data` -- data shipped with the course (Old Faithful).
- :mod:`vi_lib.diagnostics` -- ELBO stopping rule, importance weights, PSIS k̂ (ArviZ).
- :mod:`vi_lib.bounds` -- importance-weighted (IWAE) and Rényi (VR) bounds on log p(x).
- :mod:`vi_lib.flows` -- normalising flows: a teaching coupling layer, :func:`fit_flow` (flowjax).
- :mod:`vi_lib.checks` -- self-checks for the exercises.
- :mod:`vi_lib.plotting` -- one look for every figure in the book.

All divergences are in nats; the first argument is the left side of ``‖``.
The JAX-based modules are imported on first use, so ``import vi_lib`` stays fast.
"""

import importlib

from .divergences import (
    alpha_divergence,
    alpha_divergence_mvn,
    alpha_divergence_normal,
    hellinger_normal,
    kl_divergence,
    kl_monte_carlo,
    kl_mvn,
    kl_mvn_diag,
    kl_normal,
    renyi_divergence_mvn,
    renyi_divergence_normal,
)

__all__ = [
    "alpha_divergence",
    "alpha_divergence_mvn",
    "alpha_divergence_normal",
    "hellinger_normal",
    "kl_divergence",
    "kl_monte_carlo",
    "kl_mvn",
    "kl_mvn_diag",
    "kl_normal",
    "renyi_divergence_mvn",
    "renyi_divergence_normal",
    "advi",
]

__version__ = "0.1.0"

_LAZY_MODULES = {"divergences", "elbo", "cavi", "models", "gradients", "blackbox", "checks",
                 "neural", "plotting", "diagnostics", "bounds", "flows", "svi", "data"}


def __getattr__(name):
    # Submodules, and ``advi`` from the JAX-based ``blackbox`` module, load lazily.
    if name in _LAZY_MODULES:
        return importlib.import_module(f".{name}", __name__)
    if name == "advi":
        return importlib.import_module(".blackbox", __name__).advi
    raise AttributeError(f"module 'vi_lib' has no attribute {name!r}")
