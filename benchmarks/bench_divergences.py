"""vi_lib.divergences against the naive NumPy one-liners (issue 3, "Speed").

Run by hand:  .venv/bin/python benchmarks/bench_divergences.py

Workloads (float64, fixed seed, all in one process):

1. 10**6 univariate pairs, ``kl_normal`` against
   ``0.5 * (r + ((mu_q - mu_p) / sigma_p)**2 - 1 - log(r))`` with ``r = (sigma_q / sigma_p)**2``;
   (a) random pairs, (b) nearly equal pairs (relative differences 1e-12 .. 1e-3), where every
   element takes vi_lib's series branch.
2. 10**4 batched 5 x 5 covariances, ``kl_mvn`` against
   ``0.5 * (tr(inv(S_p) S_q) + dᵀ inv(S_p) d - k + logdet S_p - logdet S_q)`` with
   ``np.linalg.inv`` and ``np.linalg.slogdet``; (a) unrelated pairs, (b) nearly equal pairs.

Times are the best of 15 repeats of one call, the two versions timed alternately so that both
see the same machine load; CPU time (process_time) is the figure of merit, wall time is shown
too. vi_lib's time includes its input validation.
For each workload the script also prints the largest relative error of both versions on a
subsample, against 50-digit mpmath references, to show what the extra time buys.
"""

from __future__ import annotations

import time

import mpmath
import numpy as np

from vi_lib.divergences import kl_mvn, kl_normal

RNG = np.random.default_rng(20261124)
N_UNI = 10**6
N_MVN = 10**4
D = 5
N_CHECK = 300          # subsample checked against mpmath
REPEAT = 15            # timing repeats (the best one is reported)


def naive_kl_normal(mu_q, sigma_q, mu_p, sigma_p):
    r = (sigma_q / sigma_p) ** 2
    return 0.5 * (r + ((mu_q - mu_p) / sigma_p) ** 2 - 1 - np.log(r))


def naive_kl_mvn(mu_q, cov_q, mu_p, cov_p):
    inv_p = np.linalg.inv(cov_p)
    diff = mu_p - mu_q
    maha = np.einsum("...i,...ij,...j->...", diff, inv_p, diff)
    tr = np.einsum("...ij,...ji->...", inv_p, cov_q)
    return 0.5 * (tr + maha - cov_p.shape[-1]
                  + np.linalg.slogdet(cov_p)[1] - np.linalg.slogdet(cov_q)[1])


def best_times(fast, naive, repeat=REPEAT):
    """Best CPU and wall times of each, measured alternately (same machine load for both).

    CPU time (``time.process_time``, all threads of this process) is the robust number on a
    shared machine; wall time is printed too.
    """
    fast(), naive()  # warm-up
    cpu = {"fast": [], "naive": []}
    wall = {"fast": [], "naive": []}
    for _ in range(repeat):
        for key, fn in (("fast", fast), ("naive", naive)):
            c0, w0 = time.process_time(), time.perf_counter()
            fn()
            cpu[key].append(time.process_time() - c0)
            wall[key].append(time.perf_counter() - w0)
    return ({k: min(v) for k, v in cpu.items()}, {k: min(v) for k, v in wall.items()})


def ref_normal(mu_q, sigma_q, mu_p, sigma_p):
    with mpmath.workdps(50):
        mq, sq, mp_, sp = (mpmath.mpf(float(x)) for x in (mu_q, sigma_q, mu_p, sigma_p))
        r = (sq / sp) ** 2
        return (r - 1 - mpmath.log(r) + ((mq - mp_) / sp) ** 2) / 2


def ref_mvn(mu_q, cov_q, mu_p, cov_p):
    with mpmath.workdps(50):
        sq, sp = mpmath.matrix(cov_q.tolist()), mpmath.matrix(cov_p.tolist())
        diff = mpmath.matrix((mu_p - mu_q).tolist())
        inv_p = mpmath.inverse(sp)
        tr = sum((inv_p * sq)[i, i] for i in range(sq.rows))
        return (tr + (diff.T * inv_p * diff)[0] - sq.rows
                + mpmath.log(mpmath.det(sp) / mpmath.det(sq))) / 2


def max_rel_err(values, refs):
    return max(float(abs((mpmath.mpf(float(v)) - r) / r)) if r != 0 else abs(float(v))
               for v, r in zip(values, refs))


def report(title, args, fast, naive, ref, n_check=N_CHECK):
    cpu, wall = best_times(lambda: fast(*args), lambda: naive(*args))
    with np.errstate(all="ignore"):
        v_fast, v_naive = fast(*args), naive(*args)
    refs = [ref(*(a[i] for a in args)) for i in range(n_check)]
    e_fast = max_rel_err(v_fast[:n_check], refs)
    e_naive = max_rel_err(v_naive[:n_check], refs)
    print(f"{title}")
    print(f"  naive NumPy : {cpu['naive'] * 1e3:7.1f} ms CPU ({wall['naive'] * 1e3:7.1f} ms wall)"
          f"   max rel. error {e_naive:9.2e}")
    print(f"  vi_lib      : {cpu['fast'] * 1e3:7.1f} ms CPU ({wall['fast'] * 1e3:7.1f} ms wall)"
          f"   max rel. error {e_fast:9.2e}")
    ratio = cpu["fast"] / cpu["naive"]
    print(f"  ratio vi_lib / naive: {ratio:5.2f} CPU, {wall['fast'] / wall['naive']:5.2f} wall"
          "  (target <= 2)")
    return ratio


def spd_batch(n, d, rng):
    a = rng.normal(size=(n, d, d))
    return a @ np.swapaxes(a, -1, -2) + 0.5 * np.eye(d)


def main():
    print(f"numpy {np.__version__}; best of {REPEAT} alternating repeats; errors on the first "
          f"{N_CHECK} (1x) or 100 (2x) items against 50-digit mpmath\n")
    ratios = {}

    # 1a. random univariate pairs
    mu_q, mu_p = RNG.normal(size=(2, N_UNI))
    sigma_q, sigma_p = np.exp(RNG.normal(size=(2, N_UNI)))
    ratios["1a"] = report(f"1a. kl_normal, {N_UNI:,} random pairs",
                          (mu_q, sigma_q, mu_p, sigma_p), kl_normal, naive_kl_normal,
                          ref_normal)

    # 1b. nearly equal univariate pairs
    rel = 10.0 ** RNG.uniform(-12, -3, N_UNI) * RNG.choice([-1.0, 1.0], N_UNI)
    sigma_q = sigma_p * (1 + rel)
    mu_q = mu_p + rel * sigma_p * RNG.normal(size=N_UNI)
    ratios["1b"] = report(f"1b. kl_normal, {N_UNI:,} nearly equal pairs (rel. diff 1e-12..1e-3)",
                          (mu_q, sigma_q, mu_p, sigma_p), kl_normal, naive_kl_normal,
                          ref_normal)

    # 2a. random 5x5 covariances
    cov_q, cov_p = spd_batch(N_MVN, D, RNG), spd_batch(N_MVN, D, RNG)
    mvn_mu_q, mvn_mu_p = RNG.normal(size=(2, N_MVN, D))
    ratios["2a"] = report(f"2a. kl_mvn, {N_MVN:,} batched {D}x{D} covariances (unrelated)",
                          (mvn_mu_q, cov_q, mvn_mu_p, cov_p), kl_mvn, naive_kl_mvn, ref_mvn,
                          n_check=100)

    # 2b. nearly equal 5x5 covariances
    b = RNG.normal(size=(N_MVN, D, D))
    eps = 10.0 ** RNG.uniform(-10, -4, (N_MVN, 1, 1))
    cov_q = cov_p + eps * (b @ np.swapaxes(b, -1, -2))
    cov_q = 0.5 * (cov_q + np.swapaxes(cov_q, -1, -2))
    mvn_mu_q = mvn_mu_p + eps[..., 0] * RNG.normal(size=(N_MVN, D))
    ratios["2b"] = report(f"2b. kl_mvn, {N_MVN:,} batched {D}x{D} covariances (nearly equal)",
                          (mvn_mu_q, cov_q, mvn_mu_p, cov_p), kl_mvn, naive_kl_mvn, ref_mvn,
                          n_check=100)

    print("\nsummary (CPU-time ratio vi_lib / naive): "
          + ", ".join(f"{k}: {v:.2f}x" for k, v in ratios.items()))


if __name__ == "__main__":
    main()
