"""vi_lib.neural's importance-weighted VAE helpers (issue 15), on a small random VAE.

References are computed here with SciPy (Bernoulli and normal log densities), not with the
functions under test.
"""

import jax
import numpy as np
import pytest
from scipy import stats
from scipy.special import expit, logsumexp

from vi_lib import neural


@pytest.fixture(scope="module")
def vae():
    rng = np.random.default_rng(15)
    params = neural.init_vae(rng, 6, 5, 2)
    x = (rng.uniform(size=(3, 6)) < 0.5).astype(float)
    return params, x, rng


def _log_weights_scipy(params, x, eps, mu, sigma):
    z = mu + sigma * eps
    p = expit(np.asarray(neural.vae_decode(params, z), dtype=float))
    log_lik = stats.bernoulli.logpmf(x, p).sum(-1)
    return (log_lik + stats.norm.logpdf(z).sum(-1)
            - stats.norm.logpdf(z, mu, sigma).sum(-1))


def test_log_weights_match_scipy_with_the_encoder_and_with_a_given_q(vae):
    params, x, rng = vae
    eps = rng.standard_normal((7, 3, 2))
    mu, sigma = (np.asarray(a, dtype=float) for a in neural.vae_encode(params, x))
    got = np.asarray(neural.vae_log_weights(params, eps, x), dtype=float)
    assert got.shape == (7, 3)
    np.testing.assert_allclose(got, _log_weights_scipy(params, x, eps, mu, sigma), rtol=1e-4, atol=1e-4)
    mu2, sigma2 = rng.normal(size=(3, 2)), np.exp(rng.normal(size=(3, 2)))
    got2 = np.asarray(neural.vae_log_weights(params, eps, x, mu2, sigma2), dtype=float)
    np.testing.assert_allclose(got2, _log_weights_scipy(params, x, eps, mu2, sigma2), rtol=1e-4, atol=1e-4)


def test_mean_log_weight_is_the_elbo_and_iwae_is_log_mean_weight(vae):
    params, x, rng = vae
    eps = rng.standard_normal((20_000, 3, 2))
    log_w = np.asarray(jax.jit(neural.vae_log_weights)(params, eps, x), dtype=float)
    # the closed-form-KL ELBO (vae_elbo) averaged over the same draws equals the MC ELBO in mean
    elbo_closed = np.asarray(jax.jit(neural.vae_elbo)(params, eps, x), dtype=float).mean(0)
    se = log_w.std(0) / np.sqrt(len(log_w))
    assert np.all(np.abs(log_w.mean(0) - elbo_closed) < 4 * se + 1e-4)
    iw = np.asarray(neural.vae_iwae(params, eps[:50], x), dtype=float)
    np.testing.assert_allclose(iw, logsumexp(log_w[:50], axis=0) - np.log(50), rtol=1e-4, atol=1e-4)
