"""Tests for vi_lib.neural: JAX Gaussian KLs, the MLP, mean-field q, Bayes by Backprop, VAE, fit."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from scipy import stats

import vi_lib
from vi_lib import neural


@pytest.fixture(scope="module")
def rng():
    return np.random.default_rng(1234)


# --- KL divergences -------------------------------------------------------------------------

def test_kl_normal_matches_vi_lib(rng):
    mu_q, mu_p = rng.normal(size=(2, 200))
    sigma_q, sigma_p = np.exp(rng.normal(size=(2, 200)))
    got = np.asarray(neural.kl_normal(mu_q, sigma_q, mu_p, sigma_p), dtype=float)
    want = vi_lib.kl_normal(mu_q, sigma_q, mu_p, sigma_p)
    # JAX may run in float32 here
    np.testing.assert_allclose(got, want, rtol=2e-5, atol=1e-6)


def test_kl_normal_zero_and_small_when_q_equals_p():
    assert float(neural.kl_normal(0.3, 1.7, 0.3, 1.7)) == 0.0
    # sigma_q = sigma_p (1 + 1e-3): KL ≈ (1e-3)² exactly to leading order, no cancellation
    kl = float(neural.kl_normal(0.0, 1.0 + 1e-3, 0.0, 1.0))
    t = 2 * np.log1p(1e-3)
    np.testing.assert_allclose(kl, 0.5 * (np.expm1(t) - t), rtol=1e-4)


def test_kl_normal_matches_quadrature():
    from scipy import integrate
    mu_q, s_q, mu_p, s_p = 0.3, 0.7, -1.1, 1.9
    q, p = stats.norm(mu_q, s_q), stats.norm(mu_p, s_p)
    ref, _ = integrate.quad(lambda x: q.pdf(x) * (q.logpdf(x) - p.logpdf(x)), -20, 20)
    np.testing.assert_allclose(float(neural.kl_normal(mu_q, s_q, mu_p, s_p)), ref, rtol=1e-5)


def test_kl_normal_gradient_is_finite_and_correct():
    # d/ds KL(N(0, s²) || N(0, 1)) = -1/s + s
    for s in (0.5, 1.0, 1.0 + 1e-4, 3.0):
        g = float(jax.grad(lambda s: neural.kl_normal(0.0, s, 0.0, 1.0))(s))
        np.testing.assert_allclose(g, -1 / s + s, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("bad", [0.0, -1.0, np.nan])
def test_kl_normal_rejects_bad_sigma(bad):
    with pytest.raises(ValueError, match="sigma_q"):
        neural.kl_normal(0.0, bad, 0.0, 1.0)
    with pytest.raises(ValueError, match="sigma_p"):
        neural.kl_normal(0.0, 1.0, 0.0, bad)


def test_kl_standard_normal_matches_kl_mvn_diag_and_kl_mvn(rng):
    mu = rng.normal(size=(7, 3))
    sigma = np.exp(0.5 * rng.normal(size=(7, 3)))
    got = np.asarray(neural.kl_standard_normal(mu, sigma), dtype=float)
    assert got.shape == (7,)
    np.testing.assert_allclose(got, vi_lib.kl_mvn_diag(mu, sigma, 0.0, 1.0), rtol=2e-5)
    for i in range(7):
        full = vi_lib.kl_mvn(mu[i], np.diag(sigma[i] ** 2), np.zeros(3), np.eye(3))
        np.testing.assert_allclose(got[i], full, rtol=2e-5)


def test_kl_standard_normal_uses_trace_not_determinant():
    # E[zᵀz] = tr Σ + μᵀμ: with Σ = diag(4, 0.25), |Σ| = 1 but tr Σ = 4.25.
    sigma = np.array([2.0, 0.5])
    got = float(neural.kl_standard_normal(np.zeros(2), sigma))
    want = 0.5 * (np.sum(sigma**2) - 2 - np.sum(np.log(sigma**2)))
    np.testing.assert_allclose(got, want, rtol=1e-6)
    wrong = 0.5 * np.prod(sigma**2) - np.sum(np.log(sigma)) - 0.5  # the slip in seed 003
    assert abs(got - wrong) > 1.0


# --- MLP and mean-field q -------------------------------------------------------------------

def test_mlp_shapes_and_linear_output():
    params = neural.init_mlp(np.random.default_rng(0), (3, 5, 2))
    out = neural.mlp(params, jnp.ones((4, 3)))
    assert out.shape == (4, 2)
    with pytest.raises(ValueError, match="sizes"):
        neural.init_mlp(np.random.default_rng(0), (3,))
    with pytest.raises(ValueError, match="rng"):
        neural.init_mlp(jax.random.PRNGKey(0), (3, 2))


def test_mean_field_sampling_and_kl():
    q, unravel = neural.init_mean_field(np.random.default_rng(0), (1, 4, 1), sigma_init=0.3)
    P = 1 * 4 + 4 + 4 * 1 + 1
    assert q["mu"].shape == (P,) and q["rho"].shape == (P,)
    np.testing.assert_allclose(np.asarray(neural.mean_field_sigma(q)), 0.3, rtol=1e-5)
    w = neural.sample_mean_field(jax.random.PRNGKey(1), q, 20000)
    assert w.shape == (20000, P)
    np.testing.assert_allclose(np.asarray(w.mean(0)), np.asarray(q["mu"]), atol=0.02)
    np.testing.assert_allclose(np.asarray(w.std(0)), 0.3, rtol=0.03)
    assert len(unravel(w[0])) == 2
    kl = float(neural.kl_mean_field(q, 2.0))
    want = np.sum(vi_lib.kl_normal(np.asarray(q["mu"], float), 0.3, 0.0, 2.0))
    np.testing.assert_allclose(kl, want, rtol=1e-5)


def test_softplus_inverse_roundtrip():
    s = jnp.array([1e-4, 0.01, 1.0, 30.0])
    np.testing.assert_allclose(np.asarray(jax.nn.softplus(neural.softplus_inverse(s))),
                               np.asarray(s), rtol=1e-5)


def test_bbb_loss_is_kl_minus_expected_loglik():
    x = jnp.linspace(-1, 1, 5)[:, None]
    y = jnp.sin(x)
    q, unravel = neural.init_mean_field(np.random.default_rng(0), (1, 3, 1), sigma_init=1e-6)
    eps = jnp.asarray(np.random.default_rng(1).standard_normal((3, q["mu"].size)))
    loss = float(neural.bbb_loss(q, eps, x, y, unravel, noise_sigma=0.5, sigma_prior=1.0))
    # sigma → 0: every draw is the mean network
    fit = neural.mlp(unravel(q["mu"]), x)
    loglik = float(np.sum(stats.norm.logpdf(np.asarray(y), np.asarray(fit), 0.5)))
    kl = float(neural.kl_mean_field(q, 1.0))
    np.testing.assert_allclose(loss, kl - loglik, rtol=1e-4)


# --- VAE ------------------------------------------------------------------------------------

def test_vae_elbo_with_custom_kl_and_bound():
    rng = np.random.default_rng(0)
    params = neural.init_vae(rng, 6, 8, 2)
    x = jnp.asarray(rng.integers(0, 2, (10, 6)), dtype=jnp.float32)
    eps = jnp.asarray(rng.standard_normal((10, 2)))
    e1 = neural.vae_elbo(params, eps, x)
    assert e1.shape == (10,)
    e2 = neural.vae_elbo(params, eps, x,
                         kl_fn=lambda m, s: jnp.sum(neural.kl_normal(m, s, 0.0, 1.0), -1))
    np.testing.assert_allclose(np.asarray(e1), np.asarray(e2), rtol=1e-5)
    # several draws per data vector through a leading axis
    many = neural.vae_elbo(params, jnp.asarray(rng.standard_normal((200, 10, 2))), x)
    assert many.shape == (200, 10)
    # the ELBO of a binary vector is a lower bound on a log-probability: below 0 on average
    assert np.all(np.asarray(many.mean(0)) < 0)


# --- fit ------------------------------------------------------------------------------------

def test_fit_minimises_a_noisy_quadratic():
    target = jnp.array([1.0, -2.0])

    def loss(p, noise):
        return jnp.sum((p - target) ** 2) + 0.01 * jnp.sum(noise * p)

    noise = jnp.asarray(np.random.default_rng(0).standard_normal((500, 2)))
    p, losses = neural.fit(loss, jnp.zeros(2), optax.adam(0.05), noise)
    assert losses.shape == (500,)
    np.testing.assert_allclose(np.asarray(p), np.asarray(target), atol=0.05)
    assert float(losses[-1]) < float(losses[0])
    with pytest.raises(ValueError, match="xs"):
        neural.fit(loss, jnp.zeros(2), optax.adam(0.05), noise[:0])
    with pytest.raises(ValueError, match="xs"):
        neural.fit(loss, jnp.zeros(2), optax.adam(0.05), (noise, noise[:10]))
