"""vi_lib.advi on the issue-8 Bayesian linear regression, and the BLR model itself.

Model: n = 200, d = 5, prior N(0, I), noise sd 0.5, data from make_regression_data(seed=0).
Targets asserted (issue 8): with default settings, full-rank KL(q ‖ exact posterior) ≤ 1e-3
nats, mean-field within 1e-3 nats of the exact mean-field optimum. Times are not asserted
(see benchmarks/bench_advi.py).
"""

import numpy as np
import pytest
from scipy import stats

import vi_lib
from vi_lib.models import linear_regression as lr

blackbox = pytest.importorskip("vi_lib.blackbox")
import jax.numpy as jnp  # noqa: E402

N, D, NOISE_SD, PRIOR_SD = 200, 5, 0.5, 1.0


@pytest.fixture(scope="module")
def blr():
    X, y, w_true = lr.make_regression_data(N, D, NOISE_SD, seed=0)
    mean, cov = lr.blr_posterior(X, y, NOISE_SD, PRIOR_SD)
    return {
        "X": X, "y": y, "w_true": w_true, "mean": mean, "cov": cov,
        "log_z": lr.blr_log_evidence(X, y, NOISE_SD, PRIOR_SD),
        "log_joint": lr.make_blr_log_joint(X, y, NOISE_SD, PRIOR_SD),
    }


@pytest.fixture(scope="module")
def fit_full(blr):
    return vi_lib.advi(blr["log_joint"], D)


@pytest.fixture(scope="module")
def fit_mf(blr):
    return vi_lib.advi(blr["log_joint"], D, family="mean-field")


# --------------------------------------------------------------------------- the model
def test_data_are_seeded():
    a = lr.make_regression_data(30, 3, 0.2, seed=4)
    b = lr.make_regression_data(30, 3, 0.2, seed=4)
    c = lr.make_regression_data(30, 3, 0.2, seed=5)
    assert all(np.array_equal(u, v) for u, v in zip(a, b))
    assert not np.array_equal(a[1], c[1])


def test_posterior_matches_direct_inverse(blr):
    X, y = blr["X"], blr["y"]
    prec = np.eye(D) / PRIOR_SD**2 + X.T @ X / NOISE_SD**2
    cov = np.linalg.inv(prec)
    assert np.allclose(blr["cov"], cov, rtol=1e-12, atol=1e-15)
    assert np.allclose(blr["mean"], cov @ X.T @ y / NOISE_SD**2, rtol=1e-10)
    # With 200 observations the posterior mean is close to the weights that made the data.
    assert np.all(np.abs(blr["mean"] - blr["w_true"]) < 4 * np.sqrt(np.diag(blr["cov"])))


def test_log_evidence_matches_marginal_gaussian(blr):
    X, y = blr["X"], blr["y"]
    marginal = stats.multivariate_normal(np.zeros(N), NOISE_SD**2 * np.eye(N)
                                         + PRIOR_SD**2 * X @ X.T)
    assert abs(blr["log_z"] - marginal.logpdf(y)) < 1e-9


def test_log_joint_is_bayes_rule(blr):
    """log p(y, w) − log p(w | y) = log p(y) at any w (Bayes' rule, exactly)."""
    post = stats.multivariate_normal(blr["mean"], blr["cov"])
    w = np.random.default_rng(0).standard_normal((4, D))
    lj = np.asarray(lr.blr_log_joint(jnp.asarray(w), blr["X"], blr["y"], NOISE_SD, PRIOR_SD))
    assert lj.shape == (4,)
    assert np.allclose(lj - post.logpdf(w), blr["log_z"], atol=1e-8)
    assert abs(float(blr["log_joint"](jnp.asarray(w[0]))) - lj[0]) < 1e-10


def test_mean_field_optimum_and_its_kl(blr):
    X, y = blr["X"], blr["y"]
    m, s = lr.blr_mean_field_optimum(X, y, NOISE_SD, PRIOR_SD)
    prec = np.linalg.inv(blr["cov"])
    assert np.allclose(m, blr["mean"]) and np.allclose(s, 1 / np.sqrt(np.diag(prec)))
    kl = lr.blr_mean_field_kl(X, y, NOISE_SD, PRIOR_SD)
    assert abs(kl - vi_lib.kl_mvn(m, np.diag(s**2), blr["mean"], blr["cov"])) < 1e-12
    assert kl > 0
    # It is the optimum: perturbing the means or the sds increases the KL.
    for dm, ds in [(0.01, 1.0), (0.0, 1.05), (0.0, 0.95)]:
        assert vi_lib.kl_mvn(m + dm * s, np.diag((ds * s) ** 2), blr["mean"], blr["cov"]) > kl


@pytest.mark.parametrize("call,match", [
    (lambda: lr.make_regression_data(0, 2, 0.5, 0), "n must be an integer"),
    (lambda: lr.make_regression_data(10, 2, -0.5, 0), "noise_sd must be > 0"),
    (lambda: lr.blr_posterior(np.ones((3, 2)), np.ones(4), 0.5, 1.0), "same number of rows"),
    (lambda: lr.blr_posterior(np.ones(3), np.ones(3), 0.5, 1.0), "X must be a 2-D array"),
    (lambda: lr.blr_log_evidence(np.ones((3, 2)), np.ones(3), 0.5, 0.0), "prior_sd must be > 0"),
    (lambda: lr.make_blr_log_joint(np.ones((3, 2)), np.array([1, np.nan, 2]), 0.5),
     "must be finite"),
])
def test_model_validation(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_all_is_exported():
    import vi_lib.models as models

    for name in lr.__all__:
        assert getattr(models, name) is getattr(lr, name)


# --------------------------------------------------------------------------- advi targets
def test_full_rank_reaches_exact_posterior(blr, fit_full):
    kl = vi_lib.kl_mvn(fit_full.mean, fit_full.cov, blr["mean"], blr["cov"])
    assert kl <= 1e-3, kl
    assert np.allclose(fit_full.mean, blr["mean"], atol=0.01 * np.sqrt(np.diag(blr["cov"])).min())


def test_mean_field_reaches_mean_field_optimum(blr, fit_mf):
    X, y = blr["X"], blr["y"]
    kl = vi_lib.kl_mvn(fit_mf.mean, fit_mf.cov, blr["mean"], blr["cov"])
    kl_opt = lr.blr_mean_field_kl(X, y, NOISE_SD, PRIOR_SD)
    assert kl_opt - 1e-12 <= kl <= kl_opt + 1e-3, (kl, kl_opt)
    m, s = lr.blr_mean_field_optimum(X, y, NOISE_SD, PRIOR_SD)
    assert np.allclose(fit_mf.sigma, s, rtol=0.02)
    assert np.allclose(fit_mf.cov, np.diag(np.diag(fit_mf.cov)))


def test_result_fields(blr, fit_full):
    r = fit_full
    assert r.mean.shape == (D,) and r.cov.shape == (D, D) and r.elbo.shape == (r.num_steps,)
    assert np.allclose(r.cov, r.cov.T) and np.all(np.linalg.eigvalsh(r.cov) > 0)
    assert np.allclose(r.scale_tril @ r.scale_tril.T, r.cov)
    assert np.allclose(r.sigma, np.sqrt(np.diag(r.cov)))
    assert set(r.params) == {"loc", "raw_scale"} and r.family == "full-rank"
    assert np.all(np.isfinite(r.elbo))
    # The ELBO trace is a lower bound in expectation and ends at the log evidence.
    assert abs(np.mean(r.elbo[-200:]) - blr["log_z"]) < 1e-3
    assert r.elbo[:10].mean() < r.elbo[-10:].mean()


def test_stl_beats_reparam_at_equal_cost(blr):
    """With the same steps, draws and schedule, STL ends much closer to the posterior."""
    kls = {}
    for est in ("stl", "reparam"):
        r = vi_lib.advi(blr["log_joint"], D, estimator=est, num_steps=1000)
        kls[est] = vi_lib.kl_mvn(r.mean, r.cov, blr["mean"], blr["cov"])
    assert kls["stl"] < 0.1 * kls["reparam"], kls


def test_progress_bar_gives_the_same_fit(blr, capsys):
    a = vi_lib.advi(blr["log_joint"], D, num_steps=333, progress=False)
    b = vi_lib.advi(blr["log_joint"], D, num_steps=333, progress=True)
    assert np.allclose(a.mean, b.mean, atol=1e-10) and np.allclose(a.cov, b.cov, atol=1e-12)
    assert np.allclose(a.elbo, b.elbo, atol=1e-8) and b.elbo.shape == (333,)


def test_seed_reproducible(blr):
    a = vi_lib.advi(blr["log_joint"], D, num_steps=200, seed=3)
    b = vi_lib.advi(blr["log_joint"], D, num_steps=200, seed=3)
    assert np.array_equal(a.mean, b.mean) and np.array_equal(a.elbo, b.elbo)


def test_standard_normal_target():
    fit = vi_lib.advi(lambda z: -0.5 * jnp.sum((z - 1.0) ** 2), 2)
    assert vi_lib.kl_mvn(fit.mean, fit.cov, np.ones(2), np.eye(2)) < 1e-4
    assert np.allclose(fit.mean, 1.0, atol=0.02) and np.allclose(fit.cov, np.eye(2), atol=0.02)


# --------------------------------------------------------------------------- errors
def test_error_non_scalar_log_joint():
    with pytest.raises(ValueError, match="must return a scalar"):
        vi_lib.advi(lambda z: -0.5 * z**2, 3, num_steps=10)


def test_error_nan_at_initial_point():
    with pytest.raises(ValueError, match="initial point"):
        vi_lib.advi(lambda z: jnp.sum(jnp.log(z)), 2, num_steps=10)  # log(0) = -inf


def test_error_nan_gradient_at_initial_point():
    with pytest.raises(ValueError, match="gradient of log_joint is not finite"):
        vi_lib.advi(lambda z: -jnp.sum(jnp.sqrt(jnp.abs(z))), 2, num_steps=10)


def test_error_wrong_dim(blr):
    with pytest.raises(ValueError, match=r"dim=3"):
        vi_lib.advi(blr["log_joint"], 3, num_steps=10)


def test_error_numpy_log_joint_names_jax_numpy():
    with pytest.raises(ValueError, match="jax.numpy"):
        vi_lib.advi(lambda z: -0.5 * float(np.sum(np.asarray(z) ** 2)), 2, num_steps=10)


@pytest.mark.parametrize("kwargs,match", [
    ({"family": "diagonal"}, "family must be one of"),
    ({"estimator": "reinforce"}, "estimator must be one of"),
    ({"num_steps": 0}, "num_steps must be an integer >= 1"),
    ({"num_samples": 2.5}, "num_samples must be an integer"),
    ({"init_scale": 0.0}, "init_scale must be > 0"),
    ({"init_loc": np.zeros(3)}, r"init_loc must have shape \(dim,\)"),
    ({"learning_rate": -0.1}, "learning_rate must be > 0"),
])
def test_error_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        vi_lib.advi(lambda z: -0.5 * jnp.sum(z**2), 2, **kwargs)


def test_error_bad_dim():
    with pytest.raises(ValueError, match="dim must be an integer >= 1"):
        vi_lib.advi(lambda z: -0.5 * jnp.sum(z**2), 0)


def test_fast_compile_does_not_change_the_answer(blr):
    a = vi_lib.advi(blr["log_joint"], D, num_steps=300)
    b = vi_lib.advi(blr["log_joint"], D, num_steps=300, fast_compile=False)
    assert np.allclose(a.mean, b.mean, atol=1e-9) and np.allclose(a.cov, b.cov, atol=1e-12)
