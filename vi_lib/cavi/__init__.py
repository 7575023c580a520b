"""Coordinate-ascent variational inference (CAVI) for the course's conditionally conjugate models.

Each function runs the mean-field updates ``log q_j*(Z_j) = E_{-j}[log p(X, Z)] + const``
(Bishop 2006, eq. 10.9; Blei, Kucukelbir & McAuliffe 2017, eq. 17) one factor at a
time, and records the ELBO in closed form, so that callers can check that it never
decreases. One module per model:

- :mod:`vi_lib.cavi.gaussian` -- the Gaussian models of chapter 04:
  :func:`cavi_factorized_gaussian` (Bishop 2006, §10.1.2), :func:`cavi_latent_linear`,
  :func:`cavi_normal_gamma` (Bishop 2006, §10.1.3);
- :mod:`vi_lib.cavi.linear_regression` -- :func:`cavi_linear_regression`, Bayesian linear
  regression with unknown noise precision (after Bishop 2006, §10.3);
- :mod:`vi_lib.cavi.gmm` -- :func:`cavi_gmm`, the Bayesian Gaussian mixture
  (Bishop 2006, §10.2), with its local and global updates as separate functions
  (:func:`gmm_local_update`, :func:`gmm_global_update`, :func:`gmm_suff_stats`).

The loops are written out on purpose: they are the algorithm the course teaches.
All numbers are float64; ELBOs are in nats.
"""

from ._common import elbo_is_non_decreasing
from .gaussian import (
    FactorizedGaussianCAVI,
    NormalGammaCAVI,
    cavi_factorized_gaussian,
    cavi_latent_linear,
    cavi_normal_gamma,
    elbo_factorized_gaussian,
    elbo_latent_linear,
    elbo_normal_gamma,
)
from .gmm import (
    GMMCAVI,
    GMMGlobal,
    GMMLocal,
    GMMNatural,
    GMMStats,
    cavi_gmm,
    elbo_gmm,
    gmm_from_natural,
    gmm_global_kl,
    gmm_global_update,
    gmm_local_update,
    gmm_log_rho,
    gmm_natural_params,
    gmm_suff_stats,
)
from .linear_regression import LinearRegressionCAVI, cavi_linear_regression, elbo_linear_regression

__all__ = [
    "FactorizedGaussianCAVI",
    "NormalGammaCAVI",
    "LinearRegressionCAVI",
    "cavi_factorized_gaussian",
    "cavi_latent_linear",
    "cavi_normal_gamma",
    "cavi_linear_regression",
    "elbo_factorized_gaussian",
    "elbo_latent_linear",
    "elbo_normal_gamma",
    "elbo_linear_regression",
    "elbo_is_non_decreasing",
    "GMMCAVI",
    "GMMGlobal",
    "GMMLocal",
    "GMMNatural",
    "GMMStats",
    "cavi_gmm",
    "elbo_gmm",
    "gmm_from_natural",
    "gmm_global_kl",
    "gmm_global_update",
    "gmm_local_update",
    "gmm_log_rho",
    "gmm_natural_params",
    "gmm_suff_stats",
]
