"""Stochastic variational inference: minibatches instead of full passes over the data.

Two algorithms that follow noisy but unbiased estimates of an ELBO gradient computed on a
random minibatch of B of the N data points, so that the cost of a step does not grow with N:

- :func:`advi_minibatch` -- black-box VI (a Gaussian q, reparameterisation gradients, optax's
  Adam) on the minibatch estimator log p(z) + (N/B) Σ_{i ∈ batch} log p(x_i | z) of the log
  joint (Hoffman et al. 2013, §2.4, for the scaling; Kucukelbir et al. 2017, §3.3), or,
  with ``control_variate="snapshot"``, on :func:`taylor_minibatch_log_joint`, which
  subsamples only the remainder of a first-order Taylor expansion around a snapshot
  (Johnson & Zhang 2013; Wang et al. 2013); optionally with iterate averaging;
- :func:`svi_gmm` -- stochastic VI with natural gradients for the Bayesian Gaussian mixture of
  :func:`vi_lib.cavi.cavi_gmm` (Hoffman, Blei, Wang & Paisley 2013, Algorithm 1).

The data may be any (N, d) array-like that supports ``data[index_array]`` and ``.shape``
(a NumPy array, a :class:`numpy.memmap` on disk, ...): minibatches are read by index, never
the whole array. Row indices are drawn with replacement (O(B) work, independent of N) and
sorted so that a memory-mapped file is read front to back.

The step-size schedule ρ_t = (t + tau)^(−κ) with tau ≥ 0 and κ ∈ (0.5, 1] satisfies the
Robbins–Monro conditions Σ ρ_t = ∞, Σ ρ_t² < ∞ (Robbins & Monro 1951; Hoffman et al. 2013,
eq. 35).

JAX (for :func:`advi_minibatch` and :func:`minibatch_log_joint`) is imported on first use,
so that the mixture functions load quickly, e.g. in Dask worker processes; once imported,
it runs in float64 (``jax_enable_x64``, process-wide, as :mod:`vi_lib.blackbox`).
"""

from __future__ import annotations

from ._common import minibatch_indices, step_sizes
from .advi import advi_minibatch, full_data_sums, minibatch_log_joint, taylor_minibatch_log_joint
from .gmm import SVIGMM, svi_gmm, svi_gmm_init
from .mapreduce import GMMSums, add_sums, gmm_global_from_sums, gmm_sums, synthetic_gmm_chunk

__all__ = ["step_sizes", "minibatch_indices", "minibatch_log_joint",
           "taylor_minibatch_log_joint", "full_data_sums", "advi_minibatch",
           "SVIGMM", "svi_gmm_init", "svi_gmm", "GMMSums", "gmm_sums", "add_sums",
           "gmm_global_from_sums", "synthetic_gmm_chunk"]

# The public names live in submodules but belong to vi_lib.svi: error messages, pickles (Dask)
# and documentation name them there.
for _name in __all__:
    globals()[_name].__module__ = __name__
del _name
