"""Tests of vi_lib.diagnostics: PSIS k̂ against published values and theory, PSIS
expectations with known answers, importance weights, the ELBO stopping rule, bad input."""

from types import SimpleNamespace

import jax.numpy as jnp
import numpy as np
import pytest
from scipy import stats

from vi_lib.diagnostics import (
    MIN_DRAWS,
    elbo_relative_change,
    elbo_stopping_step,
    importance_log_weights,
    psis_expectation,
    psis_khat,
)

SCALES = (0.5, 0.7, 0.9, 0.99)

# NumPyro's test suite (test/infer/test_importance.py, _PIPELINE_REFERENCE_KHAT): k̂ for
# target N(0, I_3) and proposal N(0, s² I_3), 50 000 draws from
# numpy.random.default_rng(42).normal(0, s, (50_000, 3)) (a fresh generator per s), computed
# with Vehtari's reference gpdfitnew and with Pyro 1.9.1 (agreeing to ~1e-15).
PUBLISHED_KHAT = {
    0.5: 0.9080815512205151,
    0.7: 0.6371459500343336,
    0.9: 0.27494481323913184,
    0.99: 0.08018355166699344,
}


def normal_log_weights(scale, seed, n=50_000, dim=3):
    """log N(z | 0, I) − log N(z | 0, s² I) for z ~ N(0, s² I), as NumPyro's test draws them."""
    rng = np.random.default_rng(seed)
    z = rng.normal(0.0, scale, size=(n, dim))
    log_p = stats.norm.logpdf(z).sum(axis=1)
    log_q = stats.norm.logpdf(z, scale=scale).sum(axis=1)
    return log_p - log_q


# ---------------------------------------------------------------- psis_khat


@pytest.mark.parametrize("scale", SCALES)
def test_khat_reproduces_published_values_on_the_same_draws(scale):
    khat = psis_khat(normal_log_weights(scale, seed=42))
    assert khat == pytest.approx(PUBLISHED_KHAT[scale], abs=1e-8)


def test_khat_flags_the_narrowest_proposal_tightly():
    assert psis_khat(normal_log_weights(0.5, seed=42)) > 0.85


def test_khat_order_and_range_on_fresh_draws():
    # With other draws k̂ moves by several hundredths; it keeps its order, and its median
    # over seeds lies near the tail shape 1 - s² derived in chapter 11 (log w is
    # (1 - s²)/2 times a chi-square variable, so P(w > t) decays like t^(-1/(1 - s²))).
    khats = np.array([[psis_khat(normal_log_weights(s, seed)) for s in SCALES]
                      for seed in range(7)])
    assert np.all(np.diff(khats, axis=1) < 0), khats
    median = np.median(khats, axis=0)
    assert np.all(np.abs(median - (1 - np.array(SCALES) ** 2)) < 0.1), median
    assert np.all(khats[:, 0] > 0.6)  # s = 0.5 is always flagged as poor (k̂ > 0.5) ...
    assert np.median(khats[:, 0]) > 0.7  # ... and typically untrustworthy
    assert np.all(khats[:, 2:] < 0.5)  # s = 0.9 and 0.99 are always good


@pytest.mark.parametrize("offset", [-1e3, -7.5, 3.0, 1e3])
def test_khat_ignores_a_constant_offset(offset):
    lw = normal_log_weights(0.7, seed=1, n=5_000)
    assert psis_khat(lw + offset) == pytest.approx(psis_khat(lw), abs=1e-8)


def test_khat_accepts_zero_weights_and_lists():
    lw = normal_log_weights(0.9, seed=2, n=2_000)
    with_zeros = np.concatenate([lw, np.full(10, -np.inf)])
    assert np.isfinite(psis_khat(with_zeros))
    assert psis_khat(list(lw)) == psis_khat(lw)


def test_khat_of_bounded_weights_is_small():
    # q wider than p: the weights are bounded, their tail is short (k <= 0).
    assert psis_khat(normal_log_weights(1.5, seed=3, n=20_000)) < 0.2


def test_khat_needs_enough_finite_weights():
    rng = np.random.default_rng(0)
    psis_khat(rng.normal(size=MIN_DRAWS))  # exactly enough
    with pytest.raises(ValueError, match="at least 100 finite"):
        psis_khat(rng.normal(size=MIN_DRAWS - 1))
    few = np.concatenate([rng.normal(size=50), np.full(500, -np.inf)])
    with pytest.raises(ValueError, match="at least 100 finite"):
        psis_khat(few)


@pytest.mark.parametrize("bad, message", [
    (np.array([np.nan] + [0.1 * i for i in range(200)]), "NaN"),
    (np.array([np.inf] + [0.1 * i for i in range(200)]), r"\+inf"),
    (np.zeros((20, 20)), "1-D"),
    (np.zeros(500), "all equal"),
])
def test_khat_rejects_bad_log_weights(bad, message):
    with pytest.raises(ValueError, match=message):
        psis_khat(bad)


def test_khat_rejects_non_numbers():
    with pytest.raises(TypeError, match="real array"):
        psis_khat(np.array(["a"] * 200))
    with pytest.raises(TypeError, match="real array"):
        psis_khat(np.ones(200) * 1j)


# ---------------------------------------------------------------- psis_expectation


def test_psis_expectation_recovers_known_moments():
    # p = N(1, 1) known only up to a constant, q = N(0, 1.5²): E_p[z] = 1, E_p[z²] = 2.
    rng = np.random.default_rng(5)
    z = 1.5 * rng.standard_normal((40_000, 1))
    log_p = -0.5 * (z[:, 0] - 1.0) ** 2 + 12.3
    log_q = stats.norm.logpdf(z[:, 0], scale=1.5)
    est = psis_expectation(lambda d: np.column_stack([d[:, 0], d[:, 0] ** 2]), z, log_p - log_q)
    assert est.value.shape == (2,)
    np.testing.assert_allclose(est.value, [1.0, 2.0], atol=0.03)
    assert est.khat < 0.5
    # effective sample size of the weights: close to S (E_q[w])² / E_q[w²]
    ratio = stats.norm.pdf(z[:, 0], 1.0) / stats.norm.pdf(z[:, 0], scale=1.5)
    assert 1 < est.ess < z.shape[0]
    assert est.ess == pytest.approx(z.shape[0] * ratio.mean() ** 2 / np.mean(ratio**2), rel=0.05)
    # values may be passed directly instead of a function
    direct = psis_expectation(z[:, 0], z, log_p - log_q)
    assert direct.value == pytest.approx(est.value[0], abs=1e-12)


def test_psis_expectation_rejects_mismatched_values():
    rng = np.random.default_rng(1)
    z = rng.standard_normal((200, 2))
    lw = rng.normal(size=200)
    with pytest.raises(ValueError, match="one value per draw"):
        psis_expectation(lambda d: d[:10], z, lw)
    with pytest.raises(ValueError, match="one row per log weight"):
        psis_expectation(lambda d: d, z[:100], lw)
    with pytest.raises(ValueError, match="not finite"):
        psis_expectation(lambda d: np.full(200, np.nan), z, lw)
    with pytest.raises(ValueError, match="NaN"):
        psis_expectation(lambda d: d, z, np.full(200, np.nan))


# ---------------------------------------------------------------- importance_log_weights


def _gaussian_log_joint(mean, cov, log_z):
    """Unnormalised log density of N(mean, cov) whose integral is exp(log_z)."""
    prec = jnp.asarray(np.linalg.inv(cov))
    m = jnp.asarray(mean)
    logdet = np.linalg.slogdet(cov)[1]
    const = log_z - 0.5 * len(mean) * np.log(2 * np.pi) - 0.5 * logdet
    return lambda z: const - 0.5 * (z - m) @ prec @ (z - m)


MEAN = np.array([1.0, -2.0, 0.5])
COV = np.array([[2.0, 0.6, 0.0], [0.6, 1.0, -0.3], [0.0, -0.3, 0.5]])


def test_weights_are_the_evidence_when_q_is_the_posterior():
    log_joint = _gaussian_log_joint(MEAN, COV, log_z=-4.2)
    # 5000 draws: two chunks of the compiled log joint, the second one padded
    iw = importance_log_weights(log_joint, (MEAN, COV), num_samples=5000, seed=0)
    assert iw.draws.shape == (5000, 3) and iw.log_weights.shape == (5000,)
    np.testing.assert_allclose(iw.log_weights, -4.2, atol=1e-10)
    np.testing.assert_allclose(iw.log_q, stats.multivariate_normal(MEAN, COV).logpdf(iw.draws),
                               atol=1e-10)
    with pytest.raises(ValueError, match="all equal"):
        psis_khat(np.full(5000, -4.2))


def test_weights_average_to_the_evidence_and_q_forms_agree():
    log_joint = _gaussian_log_joint(MEAN, COV, log_z=2.0)
    q_cov = 1.5 * np.diag(np.diag(COV))  # a wider, factorised q: bounded weights
    q_fit = SimpleNamespace(mean=MEAN + 0.2, scale_tril=np.linalg.cholesky(q_cov))
    a = importance_log_weights(log_joint, q_fit, num_samples=40_000, seed=3)
    b = importance_log_weights(log_joint, (MEAN + 0.2, q_cov), num_samples=40_000, seed=3)
    np.testing.assert_allclose(a.log_weights, b.log_weights, atol=1e-10)
    log_mean_w = np.log(np.mean(np.exp(a.log_weights - 2.0))) + 2.0
    assert log_mean_w == pytest.approx(2.0, abs=0.02)  # E_q[w] = p(x)
    np.testing.assert_allclose(a.draws.mean(axis=0), MEAN + 0.2, atol=0.03)
    assert psis_khat(a.log_weights) < 0.5


def test_importance_log_weights_from_an_advi_fit():
    import vi_lib

    log_joint = _gaussian_log_joint(MEAN, COV, log_z=0.0)
    fr = vi_lib.advi(log_joint, 3, family="full-rank", num_steps=1500, seed=0)
    mf = vi_lib.advi(log_joint, 3, family="mean-field", num_steps=1500, seed=0)
    k_fr = psis_khat(importance_log_weights(log_joint, fr, 20_000, seed=1).log_weights)
    k_mf = psis_khat(importance_log_weights(log_joint, mf, 20_000, seed=1).log_weights)
    assert k_fr < 0.5 < k_mf  # the too-narrow mean-field q has a heavy weight tail


def test_importance_log_weights_rejects_bad_input():
    log_joint = _gaussian_log_joint(MEAN, COV, log_z=0.0)
    with pytest.raises(TypeError, match="q must be"):
        importance_log_weights(log_joint, MEAN, 100)
    with pytest.raises(ValueError, match="positive definite"):
        importance_log_weights(log_joint, (MEAN, -np.eye(3)), 100)
    with pytest.raises(ValueError, match="symmetric"):
        importance_log_weights(log_joint, (MEAN, np.triu(np.ones((3, 3)))), 100)
    with pytest.raises(ValueError, match="num_samples"):
        importance_log_weights(log_joint, (MEAN, COV), 0)
    with pytest.raises(TypeError, match="callable"):
        importance_log_weights("log p", (MEAN, COV), 100)
    with pytest.raises(ValueError, match="NaN"):
        importance_log_weights(lambda z: jnp.log(z[0]), (MEAN, COV), 200, seed=0)


# ---------------------------------------------------------------- ELBO stopping rule


def test_relative_change_by_hand():
    elbo = np.concatenate([np.full(100, -100.0), np.full(100, -50.0), np.full(100, -49.5),
                           np.full(30, 7.0)])  # the incomplete last window is ignored
    np.testing.assert_allclose(elbo_relative_change(elbo, 100), [50 / 50, 0.5 / 49.5])
    assert elbo_stopping_step(elbo, 100, tol=0.02) == 300
    assert elbo_stopping_step(elbo, 100, tol=0.001) is None


def test_relative_rule_depends_on_the_scale_of_the_elbo():
    # The same optimisation, with a constant dropped from log p: the rule stops elsewhere.
    steps = np.arange(2000)
    elbo = -10.0 - 5.0 * np.exp(-steps / 300)
    assert elbo_stopping_step(elbo, 100, 0.01) != elbo_stopping_step(elbo - 1000.0, 100, 0.01)


@pytest.mark.parametrize("elbo, window, tol, message", [
    (np.zeros(150), 100, 0.01, "at least 2 \\* window"),
    (np.zeros((2, 200)), 100, 0.01, "1-D"),
    (np.r_[np.zeros(199), np.nan], 100, 0.01, "finite"),
    (np.zeros(400), 0, 0.01, "window"),
    (np.zeros(400), 100, 0.0, "tol"),
])
def test_stopping_rule_rejects_bad_input(elbo, window, tol, message):
    with pytest.raises(ValueError, match=message):
        elbo_stopping_step(elbo, window, tol)


# ---------------------------------------------------------------- NUTS reference


def test_nuts_draws_sample_a_known_gaussian():
    from vi_lib.diagnostics import nuts_draws

    log_joint = _gaussian_log_joint(MEAN, COV, log_z=5.0)
    out = nuts_draws(log_joint, 3, num_warmup=300, num_samples=1000, num_chains=2, seed=3)
    assert out.draws.shape == (2, 1000, 3) and out.divergences == 0
    flat = out.draws.reshape(-1, 3)
    sd = np.sqrt(np.diag(COV))
    # 2000 draws, effective sample size of several hundred: means within 0.25 sd, sds within 15 %
    assert np.all(np.abs(flat.mean(axis=0) - MEAN) < 0.25 * sd)
    assert np.all(np.abs(flat.std(axis=0) / sd - 1) < 0.15)
    again = nuts_draws(log_joint, 3, num_warmup=300, num_samples=1000, num_chains=2, seed=3)
    np.testing.assert_array_equal(out.draws, again.draws)  # seeded


@pytest.mark.parametrize("kwargs, message", [
    ({"dim": 0}, "dim"), ({"num_samples": 0}, "num_samples"), ({"num_chains": 1.5}, "num_chains"),
    ({"init_scale": 0.0}, "init_scale"),
])
def test_nuts_draws_rejects_bad_settings(kwargs, message):
    from vi_lib.diagnostics import nuts_draws

    args = {"dim": 3, **kwargs}
    dim = args.pop("dim")
    with pytest.raises(ValueError, match=message):
        nuts_draws(_gaussian_log_joint(MEAN, COV, 0.0), dim, **args)
