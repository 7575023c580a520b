"""vi_lib.svi: step sizes, the minibatch estimator, minibatch ADVI and SVI for the mixture."""

import itertools
import tracemalloc

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from vi_lib import svi

jax.config.update("jax_enable_x64", True)   # as vi_lib's JAX code does on first use


# ---------------------------------------------------------------- Robbins–Monro steps
def test_step_sizes_follow_the_formula():
    # tau = 1, kappa = 1: rho_t = 1 / (t + 1) = 1/2, 1/3, 1/4, ...
    np.testing.assert_allclose(svi.step_sizes(4, tau=1.0, kappa=1.0), [1 / 2, 1 / 3, 1 / 4, 1 / 5])
    # tau = 0 gives rho_1 = 1 whatever kappa
    assert svi.step_sizes(3, tau=0.0, kappa=0.6)[0] == 1.0
    np.testing.assert_allclose(svi.step_sizes(2, tau=3.0, kappa=0.75), [4 ** -0.75, 5 ** -0.75])


@pytest.mark.parametrize("kwargs, match", [
    ({"kappa": 0.5}, "kappa must be in"), ({"kappa": 1.01}, "kappa must be in"),
    ({"tau": -0.1}, "tau must be"), ({"tau": float("nan")}, "tau must be"),
])
def test_step_sizes_reject_bad_schedules(kwargs, match):
    with pytest.raises(ValueError, match=match):
        svi.step_sizes(10, **kwargs)


# ---------------------------------------------------------------- the minibatch estimator
def test_minibatch_log_joint_is_unbiased_over_all_batches():
    # N = 4 rows, B = 2 drawn with replacement: the 16 ordered batches are equally likely,
    # so their average must equal the full-data log joint exactly.
    x = np.array([[0.3], [-1.2], [2.0], [0.7]])
    log_prior = lambda z: -0.5 * jnp.sum(z ** 2)  # noqa: E731
    log_lik = lambda z, row: -0.5 * (row[0] - z[0]) ** 2 - 0.1 * z[0] * row[0]  # noqa: E731
    z = jnp.array([0.4])
    full = float(log_prior(z) + sum(log_lik(z, row) for row in x))
    estimates = [float(svi.minibatch_log_joint(log_prior, log_lik, x[list(b)], 4)(z))
                 for b in itertools.product(range(4), repeat=2)]
    assert np.mean(estimates) == pytest.approx(full, rel=1e-12)
    assert np.std(estimates) > 0.1          # the estimator is noisy, not the full sum


def test_minibatch_indices_cost_does_not_depend_on_n():
    rng = np.random.default_rng(0)
    idx = svi.minibatch_indices(rng, 10 ** 12, 50)   # a permutation of 1e12 would not fit
    assert idx.shape == (50,) and np.all(np.diff(idx) >= 0) and idx.max() < 10 ** 12


# ---------------------------------------------------------------- minibatch ADVI
def _gaussian_mean_problem(n, seed=1):
    """x_i ~ N(z, 1), z ~ N(0, 1): posterior N(Σx / (n + 1), 1 / (n + 1)) (conjugacy)."""
    rng = np.random.default_rng(seed)
    data = np.column_stack([rng.normal(1.0, 1.0, n), np.zeros(n)])
    post_mean = data[:, 0].sum() / (n + 1)
    post_sd = 1 / np.sqrt(n + 1)
    return data, post_mean, post_sd


def _log_prior(z):
    return -0.5 * jnp.sum(z ** 2)


def _log_lik(z, row):
    return -0.5 * (row[0] - z[0]) ** 2


def test_advi_minibatch_finds_the_conjugate_posterior():
    data, post_mean, post_sd = _gaussian_mean_problem(20_000)
    fit = svi.advi_minibatch(_log_prior, _log_lik, data, 1, batch_size=200, num_steps=8000,
                             seed=0)
    assert abs(fit.mean[0] - post_mean) < 3 * post_sd
    assert 0.7 < fit.sigma[0] / post_sd < 1.5


@pytest.mark.parametrize("kw", [
    {},
    # with the control variate the snapshot passes also read slices data[lo:hi]
    {"control_variate": "snapshot", "snapshot_every": 70},
], ids=["plain", "control-variate"])
def test_advi_minibatch_reads_a_memmap_like_an_array(tmp_path, kw):
    data, _, _ = _gaussian_mean_problem(5_000)
    mm = np.memmap(tmp_path / "x.dat", dtype=np.float64, mode="w+", shape=data.shape)
    mm[:] = data
    mm.flush()
    ro = np.memmap(tmp_path / "x.dat", dtype=np.float64, mode="r", shape=data.shape)
    a = svi.advi_minibatch(_log_prior, _log_lik, data, 1, batch_size=50, num_steps=200, **kw)
    b = svi.advi_minibatch(_log_prior, _log_lik, ro, 1, batch_size=50, num_steps=200, **kw)
    np.testing.assert_array_equal(a.mean, b.mean)
    np.testing.assert_array_equal(a.elbo, b.elbo)
    assert a.elbo.shape == (200,) and np.all(np.isfinite(a.elbo))


def test_advi_minibatch_memory_does_not_grow_with_n(tmp_path):
    peaks = []
    for n in (10_000, 1_000_000):
        mm = np.memmap(tmp_path / f"x{n}.dat", dtype=np.float64, mode="w+", shape=(n, 2))
        mm[:, 0] = 1.0
        mm.flush()
        del mm
        ro = np.memmap(tmp_path / f"x{n}.dat", dtype=np.float64, mode="r", shape=(n, 2))
        tracemalloc.start()
        svi.advi_minibatch(_log_prior, _log_lik, ro, 1, batch_size=100, num_steps=50)
        peaks.append(tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()
    # 100x more data on disk; the in-memory peak is the same up to noise (not 100x).
    assert peaks[1] < 1.5 * peaks[0] + 100_000, peaks


@pytest.mark.parametrize("kwargs, match", [
    ({"batch_size": 0}, "batch_size must be an integer in"),
    ({"batch_size": 101}, "batch_size must be an integer in"),
    ({"batch_size": 2.5}, "batch_size must be an integer in"),
    ({"batch_size": 10, "estimator": "score"}, "estimator must be one of"),
    ({"batch_size": 10, "family": "diag"}, "family must be one of"),
])
def test_advi_minibatch_rejects_bad_arguments(kwargs, match):
    data = np.zeros((100, 2))
    with pytest.raises(ValueError, match=match):
        svi.advi_minibatch(_log_prior, _log_lik, data, 1, num_steps=5, **kwargs)


def test_advi_minibatch_rejects_data_without_two_dimensions():
    with pytest.raises(ValueError, match="data must be a 2-D array-like"):
        svi.advi_minibatch(_log_prior, _log_lik, np.zeros(10), 1, batch_size=2, num_steps=5)


def test_advi_minibatch_reports_a_non_finite_elbo():
    bad_lik = lambda z, row: jnp.log(row[0] - 1.0) + 0.0 * z[0]  # noqa: E731  log of a negative
    with pytest.raises(ValueError, match="ELBO estimate is nan at step 1"):
        svi.advi_minibatch(_log_prior, bad_lik, np.zeros((10, 2)), 1, batch_size=2, num_steps=5)


# ---------------------------------------------------------------- the Taylor control variate
def test_taylor_minibatch_log_joint_is_unbiased_and_less_noisy():
    # All 16 ordered batches of B = 2 from N = 4 rows: the average must equal the full-data
    # log joint exactly, and near the reference point the spread must be far below the
    # plain estimator's (the remainders are O(|z - z_ref|^2)).
    x = np.array([[0.3], [-1.2], [2.0], [0.7]])
    log_prior = lambda z: -0.5 * jnp.sum(z ** 2)  # noqa: E731
    log_lik = lambda z, row: -jnp.logaddexp(0.0, -row[0] * z[0])  # noqa: E731  logistic
    z_ref = np.array([0.5])
    # the full-data sums at z_ref by hand: d/dz log σ(x z) = x σ(-x z)
    sum_lik = float(np.sum(-np.logaddexp(0.0, -x[:, 0] * z_ref[0])))
    sum_grad = np.array([np.sum(x[:, 0] / (1 + np.exp(x[:, 0] * z_ref[0])))])
    z = jnp.array([0.55])
    full = float(log_prior(z) + sum(log_lik(z, row) for row in x))
    batches = list(itertools.product(range(4), repeat=2))
    taylor = [float(svi.taylor_minibatch_log_joint(log_prior, log_lik, x[list(b)], 4, z_ref,
                                                   sum_lik, sum_grad)(z)) for b in batches]
    plain = [float(svi.minibatch_log_joint(log_prior, log_lik, x[list(b)], 4)(z)) for b in batches]
    assert np.mean(taylor) == pytest.approx(full, rel=1e-12)
    assert np.std(taylor) < 0.01 * np.std(plain)
    # its gradient is the SVRG gradient: exact at z = z_ref whatever the batch
    g = jax.grad(svi.taylor_minibatch_log_joint(log_prior, log_lik, x[[0, 0]], 4, z_ref,
                                                sum_lik, sum_grad))(jnp.asarray(z_ref))
    np.testing.assert_allclose(g, -z_ref + sum_grad, rtol=1e-12)


def test_full_data_sums_match_the_closed_form_in_any_slicing():
    # log p(x | z) = -(x - z)^2 / 2: sums -Σ(x - z)^2 / 2 and Σ(x - z), by hand.
    rng = np.random.default_rng(4)
    data = np.column_stack([rng.normal(size=103), np.zeros(103)])
    z = np.array([0.3])
    for rows in (7, 103, 1000):
        lik, grad = svi.full_data_sums(_log_lik, data, z, rows_per_read=rows)
        assert lik == pytest.approx(-0.5 * np.sum((data[:, 0] - 0.3) ** 2), rel=1e-12)
        np.testing.assert_allclose(grad, [np.sum(data[:, 0] - 0.3)], rtol=1e-12)


def test_full_data_sums_name_a_non_finite_likelihood():
    bad = lambda z, row: jnp.log(row[0]) + z[0]  # noqa: E731  log 0 = -inf
    with pytest.raises(ValueError, match="not finite at z"):
        svi.full_data_sums(bad, np.zeros((10, 1)), np.zeros(1))


def _linear_regression(n, seed=3, noise_sd=2.0):
    """y_n = x_nᵀ w + N(0, s²), w ~ N(0, I): posterior N(Σ Xᵀy / s², Σ), Σ = (I + XᵀX / s²)⁻¹."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 2)) + np.array([1.0, 0.0])       # correlated posterior
    y = X @ np.array([0.5, -1.0]) + noise_sd * rng.normal(size=n)
    cov = np.linalg.inv(np.eye(2) + X.T @ X / noise_sd**2)
    return np.column_stack([X, y]), cov @ X.T @ y / noise_sd**2, cov


def _lin_lik(w, row):
    return -0.5 * (row[2] - row[:2] @ w) ** 2 / 4.0


def _kl_to(fit, mean, cov):
    from vi_lib.divergences import kl_mvn
    return float(kl_mvn(fit.mean, fit.cov, mean, cov))


def test_control_variate_and_averaging_reach_the_exact_posterior():
    # N = 10^5: posterior sd ~ 0.006, the regime where plain minibatch noise dominates.
    # Exact answer from conjugacy; the tolerance (KL < 0.02 nats) is one the plain
    # estimator misses by far with the same steps and batches (asserted too).
    data, mean, cov = _linear_regression(100_000)
    kw = dict(batch_size=100, num_steps=4000, family="full-rank", seed=0)
    fit = svi.advi_minibatch(_log_prior, _lin_lik, data, 2, control_variate="snapshot",
                             average_last=0.2, **kw)
    sd = np.sqrt(np.diag(cov))
    assert np.all(np.abs(fit.mean - mean) < 0.2 * sd), (fit.mean - mean) / sd
    assert np.all(np.abs(fit.sigma / sd - 1) < 0.1), fit.sigma / sd
    assert _kl_to(fit, mean, cov) < 0.02
    plain = svi.advi_minibatch(_log_prior, _lin_lik, data, 2, **kw)
    assert _kl_to(plain, mean, cov) > 0.2


def test_averaging_is_the_mean_of_the_last_iterates():
    # average over the last 2 of 600 steps == mean of the runs stopped at 599 and 600
    # (the same seed and schedule give the same first 599 steps).
    from vi_lib.blackbox import default_schedule
    data, _, _ = _gaussian_mean_problem(2_000)
    kw = dict(batch_size=20, learning_rate=default_schedule(600), seed=5)
    avg = svi.advi_minibatch(_log_prior, _log_lik, data, 1, num_steps=600, average_last=2 / 600, **kw)
    last = [svi.advi_minibatch(_log_prior, _log_lik, data, 1, num_steps=n, **kw) for n in (599, 600)]
    for k in ("loc", "raw_scale"):
        np.testing.assert_allclose(avg.params[k], 0.5 * (last[0].params[k] + last[1].params[k]),
                                   rtol=1e-12)
    assert not np.allclose(last[0].params["loc"], last[1].params["loc"], rtol=1e-9)


@pytest.mark.parametrize("n, batch, steps, every, expected", [
    (100, 10, 2500, None, 3),       # N // B = 10 < 1000: a snapshot every 1000 steps
    (40_000, 10, 9000, None, 3),    # N // B = 4000: every 4000 steps (steps 0, 4000, 8000)
    (100, 10, 2500, 500, 5),        # explicit
])
def test_snapshots_are_taken_every_snapshot_every_steps(monkeypatch, n, batch, steps, every,
                                                        expected):
    # Each snapshot is one pass over the data (full_data_sums); the documented default
    # interval is max(N // B, 1000) steps, the first snapshot before step 1.
    from vi_lib.svi import advi as advi_module
    calls = []
    real = advi_module.full_data_sums

    def counting(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(advi_module, "full_data_sums", counting)
    data, _, _ = _gaussian_mean_problem(n)
    kw = {} if every is None else {"snapshot_every": every}
    svi.advi_minibatch(_log_prior, _log_lik, data, 1, batch_size=batch, num_steps=steps,
                       control_variate="snapshot", **kw)
    assert len(calls) == expected


@pytest.mark.parametrize("kwargs, match", [
    ({"control_variate": "svrg"}, "control_variate must be one of"),
    ({"snapshot_every": 10}, "snapshot_every is only used with"),
    ({"control_variate": "snapshot", "snapshot_every": 0}, "snapshot_every must be an integer"),
    ({"average_last": 0.0}, r"average_last must be in \(0, 1\]"),
    ({"average_last": 1.5}, r"average_last must be in \(0, 1\]"),
    ({"average_last": "half"}, "average_last must be a number"),
])
def test_advi_minibatch_rejects_bad_variance_reduction_options(kwargs, match):
    with pytest.raises(ValueError, match=match):
        svi.advi_minibatch(_log_prior, _log_lik, np.zeros((100, 2)), 1, batch_size=10,
                           num_steps=5, **kwargs)


# ---------------------------------------------------------------- SVI for the mixture
from vi_lib.cavi import (cavi_gmm, elbo_gmm, gmm_global_update, gmm_local_update,  # noqa: E402
                         gmm_natural_params, gmm_suff_stats)

PRIOR = dict(alpha0=1e-2, beta0=1.0, m0=np.zeros(2), nu0=3.0, W0=np.eye(2))
MEANS = np.array([[-4.0, 0.0], [0.0, 4.0], [4.0, 0.0], [0.0, -4.0], [0.0, 0.0]])


def _mixture_data(n, seed=0, sd=0.7):
    rng = np.random.default_rng(seed)
    return MEANS[rng.integers(0, 5, n)] + sd * rng.standard_normal((n, 2))


def test_intermediate_factors_on_the_full_data_are_the_cavi_update():
    # λ̂ with scale 1 on all N rows must be the batch CAVI global step (Bishop 10.58-10.63),
    # computed here through vi_lib.cavi's own functions and compared as natural parameters.
    from vi_lib.cavi import gmm as g
    x = _mixture_data(500)
    rng = np.random.default_rng(3)
    resp = rng.dirichlet(np.ones(5), size=500)
    cavi = gmm_global_update(*gmm_suff_stats(x, resp), **PRIOR)
    ours = svi.gmm._from_natural(svi.gmm._intermediate(x, resp, 1.0, g._check_prior(2, **PRIOR)))
    W = ours[3] @ np.swapaxes(ours[3], 1, 2)
    for a, b in zip(gmm_natural_params(*cavi), gmm_natural_params(ours[0], ours[1], ours[2], W, ours[4])):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-10)


def test_svi_gmm_reaches_the_batch_optimum():
    x = _mixture_data(20_000)
    fit = svi.svi_gmm(x, 5, batch_size=200, num_steps=300, seed=1, **PRIOR)  # 3 passes
    start = svi.svi_gmm_init(x[:200], 5, n_data=len(x), seed=0, **PRIOR)
    batch = cavi_gmm(x, 5, resp_init=gmm_local_update(x, *start).resp, **PRIOR)
    gap = (batch.elbo[-1] - elbo_gmm(x, fit.alpha, fit.beta, fit.m, fit.W, fit.nu, **PRIOR)) / len(x)
    assert abs(gap) < 1e-3, gap
    assert fit.resp is None and fit.elbo.shape == (300,)


def test_svi_gmm_first_step_with_tau_zero_takes_the_intermediate_factors():
    # rho_1 = (1 + 0)^(-kappa) = 1: after one step the factors are λ̂ of that batch alone.
    x = _mixture_data(1_000)
    start = svi.svi_gmm_init(x[:100], 5, n_data=1_000, seed=0, **PRIOR)
    fit = svi.svi_gmm(x, 5, batch_size=100, num_steps=1, tau=0.0, seed=7, init=start, **PRIOR)
    batch = x[svi.minibatch_indices(np.random.default_rng(7), 1_000, 100)]
    resp = gmm_local_update(batch, *start).resp
    stats = gmm_suff_stats(batch, resp)
    expected = gmm_global_update(stats.nk * 10.0, stats.xbar, stats.S, **PRIOR)
    for name in ("alpha", "beta", "m", "W", "nu"):
        np.testing.assert_allclose(getattr(fit, name), getattr(expected, name), rtol=1e-9)


def test_svi_gmm_reads_a_memmap(tmp_path):
    x = _mixture_data(2_000)
    mm = np.memmap(tmp_path / "x.dat", dtype=np.float64, mode="w+", shape=x.shape)
    mm[:] = x
    mm.flush()
    ro = np.memmap(tmp_path / "x.dat", dtype=np.float64, mode="r", shape=x.shape)
    a = svi.svi_gmm(x, 5, batch_size=50, num_steps=20, **PRIOR)
    b = svi.svi_gmm(ro, 5, batch_size=50, num_steps=20, **PRIOR)
    np.testing.assert_array_equal(a.m, b.m)


@pytest.mark.parametrize("kwargs, match", [
    ({"kappa": 0.5}, "kappa must be in"), ({"kappa": 1.2}, "kappa must be in"),
    ({"tau": -1.0}, "tau must be"), ({"batch_size": 0}, "batch_size must be an integer in"),
    ({"batch_size": 101}, "batch_size must be an integer in"),
    ({"batch_size": 3}, r"n_components \(5\) must be <= batch_size"),
    ({"alpha0": 0.0}, "alpha0 must be > 0"), ({"init": "kmeans"}, "init must be"),
])
def test_svi_gmm_rejects_bad_arguments(kwargs, match):
    args = dict(PRIOR, batch_size=10, num_steps=3)
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        svi.svi_gmm(_mixture_data(100), 5, **args)


def test_svi_gmm_names_nan_in_a_minibatch():
    x = _mixture_data(100)
    x[:, 0] = np.nan
    with pytest.raises(ValueError, match="NaN or infinite"):
        svi.svi_gmm(x, 2, batch_size=10, num_steps=3, **PRIOR)


def test_map_reduce_over_chunks_is_one_cavi_iteration():
    # Sums over 4 chunks, added, then the global step == vi_lib.cavi's local + global step
    # on all rows at once (Bishop 10.46-10.63 through gmm_local_update / gmm_suff_stats).
    x = _mixture_data(4_000)
    start = svi.svi_gmm_init(x[:200], 5, n_data=len(x), seed=0, **PRIOR)
    total = svi.gmm_sums(x[:1000], *start)
    for c in range(1, 4):
        total = svi.add_sums(total, svi.gmm_sums(x[1000 * c:1000 * (c + 1)], *start))
    ours = svi.gmm_global_from_sums(total, **PRIOR)
    resp = gmm_local_update(x, *start).resp
    ref = gmm_global_update(*gmm_suff_stats(x, resp), **PRIOR)
    for name in ("alpha", "beta", "m", "W", "nu"):
        np.testing.assert_allclose(getattr(ours, name), getattr(ref, name), rtol=1e-10)
    assert total.n == 4_000


def test_synthetic_chunks_do_not_depend_on_order():
    kw = dict(weights=[0.3, 0.7], means=[[0.0, 0.0], [3.0, 3.0]], covs=[np.eye(2)] * 2, seed=5)
    a = svi.synthetic_gmm_chunk(2, 100, **kw)
    svi.synthetic_gmm_chunk(0, 100, **kw)
    np.testing.assert_array_equal(a, svi.synthetic_gmm_chunk(2, 100, **kw))
    assert not np.array_equal(a, svi.synthetic_gmm_chunk(1, 100, **kw))
