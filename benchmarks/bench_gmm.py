"""vi_lib.cavi.cavi_gmm against scikit-learn's BayesianGaussianMixture (issue 12, "Speed").

Run by hand:  .venv/bin/python benchmarks/bench_gmm.py

Workload: N = 10**5 points in d = 2 drawn around 10 centres (fixed seed), K = 10 components,
the same random initial responsibilities for both, 100 iterations, float64. sklearn is
configured to run the same updates (covariance_type="full", Dirichlet weights, reg_covar=0,
tol=0 so that it never stops early) and is started from our responsibilities by overriding
its ``_initialize_parameters``. Both then do the same work: 101 global steps and 101 local
steps (vi_lib: ``max_iter=101``, each iteration global then local; sklearn: one global step at
initialisation, 100 (local, global) pairs, and the final local step of ``fit``). Both compute
a lower bound once per iteration (sklearn's leaves out constants).

Times are the best of REPEAT runs of each, timed alternately so that both see the same load;
wall time and CPU time (process_time, all threads) are shown. The script also reports the
largest relative difference between the two fits' parameters and the ELBO of each
(vi_lib's ``elbo_gmm`` evaluated at sklearn's parameters, mapped back with W = (ν Σ)^{-1}).
"""

from __future__ import annotations

import time
import warnings

import numpy as np
from sklearn.mixture import BayesianGaussianMixture

from vi_lib.cavi import cavi_gmm, elbo_gmm

N, D, K, N_ITER = 10**5, 2, 10, 100
REPEAT = 3
RNG = np.random.default_rng(20261202)


class _FromResp(BayesianGaussianMixture):
    """BayesianGaussianMixture started from given responsibilities (global step first)."""

    def _initialize_parameters(self, X, random_state, xp=None):
        self._initialize(X, self.resp0_)


def run_sklearn(x, resp0, prior):
    bgm = _FromResp(n_components=K, covariance_type="full",
                    weight_concentration_prior_type="dirichlet_distribution",
                    weight_concentration_prior=prior["alpha0"], mean_precision_prior=prior["beta0"],
                    mean_prior=prior["m0"], degrees_of_freedom_prior=prior["nu0"],
                    covariance_prior=np.linalg.inv(prior["W0"]), reg_covar=0.0,
                    max_iter=N_ITER, tol=0.0, init_params="random")
    bgm.resp0_ = resp0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")       # ConvergenceWarning: tol = 0 never converges
        bgm.fit(x)
    return bgm


def run_vi_lib(x, resp0, prior):
    return cavi_gmm(x, K, **prior, resp_init=resp0, max_iter=N_ITER + 1, tol=0.0)


def timed(fn):
    w, c = time.perf_counter(), time.process_time()
    out = fn()
    return out, time.perf_counter() - w, time.process_time() - c


def main():
    centres = RNG.uniform(-10, 10, (10, D))
    x = centres[RNG.integers(0, 10, N)] + RNG.normal(size=(N, D))
    resp0 = RNG.uniform(size=(N, K))
    resp0 /= resp0.sum(axis=1, keepdims=True)
    prior = dict(alpha0=1e-3, beta0=1.0, m0=x.mean(axis=0), nu0=float(D), W0=np.linalg.inv(np.cov(x.T)))

    times = {"vi_lib": [], "sklearn": []}
    for _ in range(REPEAT):
        fit, w, c = timed(lambda: run_vi_lib(x, resp0, prior))
        times["vi_lib"].append((w, c))
        bgm, w, c = timed(lambda: run_sklearn(x, resp0, prior))
        times["sklearn"].append((w, c))

    print(f"N = {N}, d = {D}, K = {K}, {N_ITER} iterations, best of {REPEAT} (alternating)")
    best = {}
    for name, t in times.items():
        wall = min(v[0] for v in t)
        cpu = min(v[1] for v in t)
        best[name] = (wall, cpu)
        print(f"  {name:8s} wall {wall:7.3f} s ({1e3 * wall / N_ITER:6.2f} ms/iter)   "
              f"cpu {cpu:7.3f} s ({1e3 * cpu / N_ITER:6.2f} ms/iter)")
    print(f"  ratio vi_lib / sklearn: wall {best['vi_lib'][0] / best['sklearn'][0]:.2f}, "
          f"cpu {best['vi_lib'][1] / best['sklearn'][1]:.2f}")

    cov = np.linalg.inv(fit.W) / fit.nu[:, None, None]
    pairs = [("alpha", fit.alpha, bgm.weight_concentration_), ("beta", fit.beta, bgm.mean_precision_),
             ("nu", fit.nu, bgm.degrees_of_freedom_), ("m", fit.m, bgm.means_), ("W^{-1}/nu", cov, bgm.covariances_)]
    rel = max(float(np.max(np.abs(a - b)) / np.max(np.abs(a))) for _, a, b in pairs)
    w_sk = np.linalg.inv(bgm.covariances_ * bgm.degrees_of_freedom_[:, None, None])
    elbo_sk = elbo_gmm(x, bgm.weight_concentration_, bgm.mean_precision_, bgm.means_, w_sk,
                       bgm.degrees_of_freedom_, **prior)
    print(f"  largest relative parameter difference: {rel:.1e}")
    print(f"  ELBO (nats): vi_lib {fit.elbo[-1]:.6f}, at sklearn's parameters {elbo_sk:.6f}; "
          f"components with N_k > 1: {int(np.sum(fit.alpha - prior['alpha0'] > 1))}")


if __name__ == "__main__":
    main()
