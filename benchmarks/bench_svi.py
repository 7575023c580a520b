"""Stochastic VI against batch CAVI at N = 10**6 (issue 13, chapter 06b).

Run by hand:  .venv/bin/python benchmarks/bench_svi.py
(options: ``--help``; e.g. ``--parts gmm --datasets overlapping --kappa 0.55 --cavi-final X``
reruns SVI alone against a batch CAVI ELBO X from an earlier run).

Three measurements, all float64, all generators seeded, in one process:

1. Bayesian Gaussian mixture (vi_lib.cavi, Bishop 2006 §10.2), N = 10**6, d = 2, K = 5,
   prior alpha0 = 0.01, beta0 = 1, m0 = 0, nu0 = 3, W0 = I, on two synthetic data sets
   generated in chunks of 10**5 rows (one seeded generator per chunk):
   "separated" (5 components with centres 4 apart, sd 0.7) and "overlapping" (centres 1.5
   apart, sd 0.8). Both algorithms start from the same global factors: k-means++ centres of
   one minibatch (``svi.svi_gmm_init``); batch CAVI starts from the responsibilities of
   those factors on all N rows (one E-step, timed separately), then ``cavi_gmm`` runs to
   convergence (relative ELBO change < TOL_CAVI, at most MAX_ITER iterations). One CAVI
   iteration reads every row once, so its passes = its iterations. SVI (``svi.svi_gmm``,
   batch B = 500, kappa = 0.6, tau = 1) runs in segments of a quarter pass; between segments the
   full-data ELBO (``elbo_gmm``) is evaluated and NOT counted in SVI's time. A segment
   continues the schedule exactly: it is started from the previous factors with
   tau' = tau + (steps done), so that its rho_s = (s + t0 + tau)^(-kappa); only the random
   stream of minibatch indices differs from one long run (a new seed per segment).
   SVI stops at the first checkpoint whose ELBO per point is within 1e-3 nats of batch
   CAVI's final ELBO per point. Reported: passes and wall time of each, and the ratios.
   Why B = 500 and kappa = 0.6 (chosen on the overlapping set, then used for both): near an
   optimum a CAVI iteration maps the error e of the natural parameters to J e, and an SVI step
   (minibatch noise aside) to (1 - rho_t) e + rho_t J e. Along a slow direction, where J has an
   eigenvalue j close to 1, CAVI shrinks the error by j^n ~ exp(-(1 - j) n) in n iterations
   and SVI by prod_t (1 - rho_t (1 - j)) ~ exp(-(1 - j) sum_t rho_t): SVI's progress is worth
   sum_t rho_t CAVI iterations, printed below. On the overlapping set CAVI needed 36 and 61
   iterations to come within 1e-3 (two runs, k-means++ starts from first minibatches of 500
   and 2000 rows), so SVI needs sum rho_t of that order within 3 passes:
   B = 2000, kappa = 0.7 gives sum rho = 26 in 3 passes (33 in 6) and did not get there in
   6 passes (a run on 2026-12-02: still 1.41e-3 short); B = 500, kappa = 0.6 gives 78 in 3.
   Also reported: the CAVI iteration at which CAVI itself first came within 1e-3 nats per
   point of its final ELBO (its time there is estimated as the share of its iterations).
2. Cost per SVI step with the data in an ``np.memmap`` on disk, N = 10**5 and 10**6
   (the file was just written, so it is likely in the page cache), and the ``tracemalloc``
   peak of a run (NumPy's allocations are traced; the memory map itself is not a Python
   allocation, which is the point).
3. Minibatch ADVI (``svi.advi_minibatch``, full-rank Gaussian q, B = 1000, 10**4 steps,
   reparameterisation gradients, default schedule and start) on Bayesian logistic
   regression, N = 10**6, d = 5, prior N(0, I), synthetic (chunks of 10**5 rows, one seeded
   generator per chunk). References: the Laplace approximation at the MAP
   (scipy.optimize, trust-exact with the exact Hessian) and full-data ADVI (``vi_lib.advi``
   on the full log joint, STL, one draw per step; every step reads all N rows), run twice:
   from vi_lib.advi's default start (10**4 steps), and, as the reference q_full, started
   at the MAP with the median Laplace sd (4000 steps, cosine schedule 3e-4 -> 1e-6). At this
   N the posterior is very close to Gaussian, so q_full should agree with Laplace to a
   small KL; both are printed. First, the variance of the minibatch gradient of the log
   likelihood at the MAP for B = 10, 100, 1000 (2000 batches each), measured against the
   derived (N²/B) Var_n, without and with the Taylor control variate (reference point one
   Laplace sd away). Then four minibatch runs: plain; with iterate averaging over the last
   20% of the steps (``average_last=0.2``); with the Taylor control variate, snapshots
   every max(N/B, 1000) steps (``control_variate="snapshot"``); with both. For each: wall time, passes
   over the data (minibatch rows / N, plus one per snapshot), KL(q ‖ q_full),
   KL(q ‖ Laplace), mean error in units of q_full's sd, sd ratio q / q_full.

Last full run of part 3 (2026-12-02, 2-core machine, load average ~1.5), quoted in chapter
06b: full-data ADVI from the default start 119 s, KL(q ‖ Laplace) 0.70 (not converged);
q_full from the MAP 46.1 s, KL(q_full ‖ Laplace) 1.35e-4; minibatch KL(q ‖ q_full):
plain 9.32 nats (1.4 s), averaging 5.74, Taylor control variate 0.0849 (2.1 s), control
variate + averaging 0.0118 (2.0 s, 20 passes: 10 of minibatches, 10 snapshots).
Part 1 (same day, load ~1): separated set, SVI within 1e-3 nats/point after 0.25 passes
(0.041x CAVI's time); overlapping set, after 0.75 passes (0.004x; CAVI 36 iterations to
1e-3, not converged in 300). Part 2: 0.413 / 0.436 ms per step at N = 10**5 / 10**6,
tracemalloc peak 0.25 MiB at both.

The machine is shared: wall times include waiting for a core; the load average is printed.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import tracemalloc

import numpy as np
from scipy import optimize, special

from vi_lib import svi
from vi_lib.cavi import cavi_gmm, elbo_gmm, gmm_local_update
from vi_lib.divergences import kl_mvn

N, D, K = 10**6, 2, 5
CHUNK = 10**5
PRIOR = dict(alpha0=1e-2, beta0=1.0, m0=np.zeros(D), nu0=3.0, W0=np.eye(D))
BATCH = 500
KAPPA, TAU = 0.6, 1.0
MAX_PASSES = 6
TARGET = 1e-3           # nats per data point
TOL_CAVI, MAX_ITER = 1e-9, 300
DATASETS = {
    # name: (distance scale of the centres, component sd)
    "separated": (4.0, 0.7),
    "overlapping": (1.5, 0.8),
}
CENTRES = np.array([[-1.0, 0.0], [0.0, 1.0], [1.0, 0.0], [0.0, -1.0], [0.0, 0.0]])
WEIGHTS = np.array([0.3, 0.25, 0.2, 0.15, 0.1])


def mixture_chunks(out, scale, sd, seed):
    """Fill ``out`` (N, 2), chunk by chunk, with draws of the mixture (one generator per chunk)."""
    for i, lo in enumerate(range(0, out.shape[0], CHUNK)):
        rng = np.random.default_rng([seed, i])
        n = min(CHUNK, out.shape[0] - lo)
        z = rng.choice(K, size=n, p=WEIGHTS)
        out[lo:lo + n] = scale * CENTRES[z] + sd * rng.standard_normal((n, D))
    return out


def wall(fn):
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def per_point(x, fit):
    return elbo_gmm(x, fit.alpha, fit.beta, fit.m, fit.W, fit.nu, **PRIOR) / x.shape[0]


def gmm_comparison(name, scale, sd, seed, kappa=KAPPA, bsize=BATCH, cavi_final=None):
    x = mixture_chunks(np.empty((N, D)), scale, sd, seed)
    rng = np.random.default_rng(seed + 100)
    first = x[svi.minibatch_indices(rng, N, bsize)]
    start = svi.svi_gmm_init(first, K, n_data=N, seed=0, **PRIOR)

    if cavi_final is None:
        t_e, resp = wall(lambda: gmm_local_update(x, *start).resp)
        t_cavi, batch = wall(lambda: cavi_gmm(x, K, resp_init=resp, max_iter=MAX_ITER,
                                              tol=TOL_CAVI, **PRIOR))
        del resp
        final = batch.elbo[-1] / N
        within = np.flatnonzero(batch.elbo / N >= final - TARGET)[0] + 1    # iterations needed
    else:
        final = cavi_final

    steps_per_quarter = N // bsize // 4
    fit, done, t_svi, reached, history = start, 0, 0.0, None, []
    for segment in range(4 * MAX_PASSES):
        dt, fit = wall(lambda: svi.svi_gmm(x, K, batch_size=bsize, num_steps=steps_per_quarter,
                                           tau=TAU + done, kappa=kappa, seed=1000 + segment,
                                           init=fit, **PRIOR))
        done += steps_per_quarter
        t_svi += dt
        value = per_point(x, fit)
        history.append((done * bsize / N, value))
        if value >= final - TARGET:
            reached = done * bsize / N
            break
    print(f"\n[{name}] centres {scale} apart (scaled), sd {sd}; N = {N:,}, K = {K}, B = {bsize}, "
          f"kappa = {kappa}, tau = {TAU}; sum of rho_t per pass: "
          f"{svi.step_sizes(N // bsize, tau=TAU, kappa=kappa).sum():.1f} (1st), "
          f"{svi.step_sizes(3 * N // bsize, tau=TAU, kappa=kappa).sum():.1f} (3 passes)")
    if cavi_final is not None:
        print(f"  batch CAVI not run: its final ELBO per point {final:.6f} is taken from an "
              f"earlier run (--cavi-final)")
        print("  SVI full-data ELBO per point at checkpoints (passes: gap to CAVI final):")
        print("    " + ", ".join(f"{p:.2f}: {v - final:+.2e}" for p, v in history))
        print(f"  SVI {'reached it after %.2f passes' % reached if reached else 'did NOT reach it'}"
              f" in {t_svi:.1f} s (ELBO checkpoints excluded)")
        return
    cavi_passes = batch.n_iter + 1          # + the initial E-step
    cavi_time = t_e + t_cavi
    print(f"  batch CAVI: {batch.n_iter} iterations (converged={batch.converged}, tol {TOL_CAVI:g} "
          f"relative) + 1 initial E-step = {cavi_passes} passes, {cavi_time:.1f} s "
          f"(E-step {t_e:.1f} s, iterations {t_cavi:.1f} s, {t_cavi / batch.n_iter:.2f} s each)")
    print(f"  batch CAVI final ELBO: {final:.6f} nats/point; within {TARGET:g} of it after "
          f"{within} iterations (≈ {t_e + t_cavi * within / batch.n_iter:.1f} s incl. E-step)")
    print("  SVI full-data ELBO per point at checkpoints (passes: gap to CAVI final):")
    print("    " + ", ".join(f"{p:.2f}: {v - final:+.2e}" for p, v in history))
    if reached is None:
        print(f"  SVI did NOT reach {TARGET:g} nats/point of batch CAVI within {MAX_PASSES} passes "
              f"({t_svi:.1f} s)")
    else:
        print(f"  SVI reached it after {reached:.2f} passes in {t_svi:.1f} s (ELBO checkpoints "
              f"excluded): {reached / cavi_passes:.3f}× CAVI's passes, "
              f"{t_svi / cavi_time:.3f}× CAVI's wall time to convergence "
              f"[target ≤ 3 passes, ≤ 0.25×: {'MET' if reached <= 3 and t_svi <= 0.25 * cavi_time else 'NOT MET'}]")
        print(f"  against CAVI only up to its own 1e-3 point ({within + 1} passes): SVI takes "
              f"{t_svi / (t_e + t_cavi * within / batch.n_iter):.3f}× the time")
    order = np.argsort(-fit.alpha)
    print(f"  SVI weights E[pi] (sorted): {np.round(fit.alpha[order] / fit.alpha.sum(), 4)}; "
          f"CAVI: {np.round(np.sort(batch.alpha)[::-1] / batch.alpha.sum(), 4)}")


def memmap_costs(seed=7, num_steps=300):
    print(f"\n[memmap] time per SVI step (B = {BATCH}, {num_steps} steps) and tracemalloc peak")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in (10**5, 10**6):
            path = os.path.join(tmp, f"x{n}.dat")
            mm = np.memmap(path, dtype=np.float64, mode="w+", shape=(n, D))
            mixture_chunks(mm, 4.0, 0.7, seed)
            mm.flush()
            del mm
            data = np.memmap(path, dtype=np.float64, mode="r", shape=(n, D))
            start = svi.svi_gmm_init(data[:BATCH], K, n_data=n, seed=0, **PRIOR)

            def run():
                return svi.svi_gmm(data, K, batch_size=BATCH, num_steps=num_steps, init=start,
                                   seed=1, **PRIOR)

            run()                                       # warm-up (imports, page cache)
            times = [wall(run)[0] for _ in range(3)]
            tracemalloc.start()
            run()
            _, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
            rows.append((n, min(times) / num_steps, peak))
            print(f"  N = {n:>9,}: {1e3 * min(times) / num_steps:.3f} ms per step (best of 3), "
                  f"tracemalloc peak {peak / 2**20:.2f} MiB (file {n * D * 8 / 2**20:.0f} MiB)")
            del data
    print(f"  ratio N = 10^6 / 10^5: time per step {rows[1][1] / rows[0][1]:.2f}, "
          f"peak memory {rows[1][2] / rows[0][2]:.2f}")


def gradient_variance(X, y, w, w_ref, rng, draws=2000):
    """Variance of the minibatch estimator of the likelihood gradient at ``w``, measured and derived.

    Plain: (N/B) Σ_batch g_n(w), derived variance (N²/B) Var_n[g_n(w)] per coordinate.
    Taylor control variate around ``w_ref``: (N/B) Σ_batch [g_n(w) − g_n(w_ref)] (+ the exact
    full-data sum at w_ref, which has no variance), derived (N²/B) Var_n[g_n(w) − g_n(w_ref)].
    g_n(w) = (y_n − σ(x_nᵀ w)) x_n is the gradient of log p(y_n | x_n, w).
    """
    n = X.shape[0]
    g = (y - special.expit(X @ w))[:, None] * X
    diff = g - (y - special.expit(X @ w_ref))[:, None] * X
    print(f"  variance of the minibatch gradient of the log likelihood at the MAP, "
          f"{draws} batches per B (measured / derived N²/B Var_n, per coordinate):")
    for B in (10, 100, 1000):
        idx = rng.integers(0, n, size=(draws, B))
        for name, per_point in (("plain", g), ("Taylor CV, ref 1 sd away", diff)):
            est = n / B * per_point[idx].sum(axis=1)
            derived = n**2 / B * per_point.var(axis=0)
            print(f"    B = {B:4d} {name:>25}: measured/derived {np.round(est.var(axis=0) / derived, 2)}, "
                  f"derived sd {np.array2string(np.sqrt(derived), precision=2)}")
        del idx


def logistic_regression(seed=11, dim=5, batch=1000, num_steps=10_000, full_steps=10_000):
    """Minibatch ADVI (B = ``batch``) vs full-data ADVI and the Laplace approximation."""
    import jax.numpy as jnp

    from vi_lib import advi
    from vi_lib.blackbox import default_schedule

    print(f"\n[logistic regression] N = {N:,}, d = {dim}, prior N(0, I), full-rank Gaussian q")
    w_true = np.array([1.0, -2.0, 0.5, 0.0, 1.5])[:dim]
    data = np.empty((N, dim + 1))
    for i, lo in enumerate(range(0, N, CHUNK)):
        rng = np.random.default_rng([seed, i])
        n = min(CHUNK, N - lo)
        xc = rng.standard_normal((n, dim))
        data[lo:lo + n, :dim] = xc
        data[lo:lo + n, dim] = rng.uniform(size=n) < special.expit(xc @ w_true)
    X, y = data[:, :dim], data[:, dim]

    def neg_log_post(w):
        f = X @ w
        return -(np.sum(y * f - np.logaddexp(0.0, f)) - 0.5 * w @ w)

    def grad(w):
        return -(X.T @ (y - special.expit(X @ w)) - w)

    def hess(w):
        p = special.expit(X @ w)
        return (X.T * (p * (1 - p))) @ X + np.eye(dim)

    t_lap, opt = wall(lambda: optimize.minimize(neg_log_post, np.zeros(dim), jac=grad, hess=hess,
                                                method="trust-exact"))
    mean_lap = opt.x
    cov_lap = np.linalg.inv(hess(mean_lap))
    sd_lap = np.sqrt(np.diag(cov_lap))
    print(f"  Laplace: {t_lap:.1f} s, MAP {np.round(mean_lap, 4)}, sd {np.round(sd_lap, 5)} "
          f"(optimizer success={opt.success}, |grad| {np.max(np.abs(grad(mean_lap))):.1e})")

    gradient_variance(X, y, mean_lap, mean_lap + sd_lap, np.random.default_rng(seed + 1))

    def log_prior(w):
        return -0.5 * jnp.sum(w**2)

    def log_lik(w, row):
        f = jnp.dot(row[:dim], w)
        return row[dim] * f - jnp.logaddexp(0.0, f)

    xj, yj = jnp.asarray(X), jnp.asarray(y)

    def log_joint_full(w):
        f = xj @ w
        return log_prior(w) + jnp.sum(yj * f - jnp.logaddexp(0.0, f))

    # Full-data ADVI, twice. From vi_lib.advi's default start (q = N(0, 0.1² I), cosine
    # schedule 0.03 -> 1e-4): every step reads all N rows.
    t_cold, cold = wall(lambda: advi(log_joint_full, dim, family="full-rank", num_steps=full_steps,
                                     num_samples=1, estimator="stl", seed=0, fast_compile=False))
    print(f"  full-data ADVI from the default start (vi_lib.advi, STL, 1 draw, {full_steps} steps): "
          f"{t_cold:.1f} s incl. compilation, {full_steps} passes over the data")
    print(f"    vs Laplace: KL(q ‖ Laplace) = {float(kl_mvn(cold.mean, cold.cov, mean_lap, cov_lap)):.3g} "
          f"nats, mean error / Laplace sd {np.round((cold.mean - mean_lap) / sd_lap, 3)}, "
          f"sd ratio {np.round(cold.sigma / sd_lap, 3)}")
    # The reference q_full: started at the MAP with the median Laplace sd, small steps.
    warm_steps = 4000
    t_full, full = wall(lambda: advi(log_joint_full, dim, family="full-rank", num_steps=warm_steps,
                                     num_samples=1, estimator="stl", seed=1, fast_compile=False,
                                     init_loc=mean_lap, init_scale=float(np.median(sd_lap)),
                                     learning_rate=default_schedule(warm_steps, 3e-4, 1e-6)))
    print(f"  full-data ADVI q_full, started at the MAP with sd {np.median(sd_lap):.2e} (STL, 1 draw, "
          f"{warm_steps} steps, cosine schedule 3e-4 -> 1e-6): {t_full:.1f} s incl. compilation, "
          f"{warm_steps} passes (+ Laplace's {t_lap:.1f} s)")
    print(f"    vs Laplace: KL(q_full ‖ Laplace) = {float(kl_mvn(full.mean, full.cov, mean_lap, cov_lap)):.3g} "
          f"nats, mean error / Laplace sd {np.round((full.mean - mean_lap) / sd_lap, 3)}, "
          f"sd ratio {np.round(full.sigma / sd_lap, 3)}")

    print(f"  minibatch ADVI (svi.advi_minibatch, B = {batch}, {num_steps} steps, reparam, default "
          f"schedule and init), compared with full-data ADVI:")
    snapshot_every = max(N // batch, 1000)      # advi_minibatch's default
    variants = {
        "plain": {},
        "plain + averaging": dict(average_last=0.2),
        "Taylor CV": dict(control_variate="snapshot"),
        "Taylor CV + averaging": dict(control_variate="snapshot", average_last=0.2),
    }
    for name, kw in variants.items():
        t_mb, fit = wall(lambda: svi.advi_minibatch(log_prior, log_lik, data, dim, batch_size=batch,
                                                    num_steps=num_steps, family="full-rank", seed=0,
                                                    **kw))
        passes = num_steps * batch / N
        snapshots = -(-num_steps // snapshot_every) if "control_variate" in kw else 0
        kl_full = float(kl_mvn(fit.mean, fit.cov, full.mean, full.cov))
        kl_lap = float(kl_mvn(fit.mean, fit.cov, mean_lap, cov_lap))
        print(f"    [{name}] {t_mb:.1f} s incl. compilation ({t_mb / t_cold:.3f}× full-data ADVI from "
              f"the default start), {passes + snapshots:.0f} passes ({passes:.0f} of minibatches + "
              f"{snapshots} snapshots; {(passes + snapshots) / full_steps:.4f}× its passes)")
        print(f"      KL(q ‖ q_full) = {kl_full:.3g} nats "
              f"[target ≤ 0.05: {'MET' if kl_full <= 0.05 else 'NOT MET'}], "
              f"KL(q ‖ Laplace) = {kl_lap:.3g} nats")
        print(f"      mean error / q_full sd {np.round((fit.mean - full.mean) / full.sigma, 3)}, "
              f"sd ratio q / q_full {np.round(fit.sigma / full.sigma, 3)}")


def main(argv=None):
    parser = argparse.ArgumentParser(description="SVI vs batch CAVI at N = 10**6 (see the module "
                                     "docstring); with no options, everything with the defaults.")
    parser.add_argument("--parts", default="gmm,memmap,logreg",
                        help="comma-separated subset of gmm, memmap, logreg")
    parser.add_argument("--datasets", default=",".join(DATASETS),
                        help="comma-separated subset of " + ", ".join(DATASETS))
    parser.add_argument("--kappa", type=float, default=KAPPA, help=f"SVI's kappa (default {KAPPA})")
    parser.add_argument("--batch", type=int, default=BATCH, help=f"SVI's B (default {BATCH})")
    parser.add_argument("--cavi-final", type=float, default=None,
                        help="skip batch CAVI and compare SVI with this final ELBO per point "
                             "(from an earlier run; one data set only)")
    parser.add_argument("--advi-batch", type=int, default=1000, help="minibatch ADVI's B")
    args = parser.parse_args(argv)
    parts = args.parts.split(",")
    print(f"bench_svi.py {' '.join(argv if argv is not None else sys.argv[1:])}  load average "
          f"{os.getloadavg()[0]:.2f}, {os.getloadavg()[1]:.2f}, {os.getloadavg()[2]:.2f} on "
          f"{os.cpu_count()} cores; numpy {np.__version__}")
    if "gmm" in parts:
        for seed, (name, (scale, sd)) in enumerate(DATASETS.items()):
            if name in args.datasets.split(","):
                gmm_comparison(name, scale, sd, seed, kappa=args.kappa, bsize=args.batch,
                               cavi_final=args.cavi_final)
    if "memmap" in parts:
        memmap_costs()
    if "logreg" in parts:
        logistic_regression(batch=args.advi_batch)
    print(f"\nload average at the end: {os.getloadavg()[0]:.2f}, {os.getloadavg()[1]:.2f}, "
          f"{os.getloadavg()[2]:.2f}")


if __name__ == "__main__":
    main()
