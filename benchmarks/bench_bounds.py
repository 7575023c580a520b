"""VAE on binarised digits (chapter 10's setting): IWAE- vs ELBO-training at equal compute, and
posterior collapse with one remedy (issue 15). Too slow for the notebook; its output is quoted
in chapter 10.

Run by hand:  .venv/bin/python benchmarks/bench_bounds.py

Data, split, architecture (one hidden layer of 128 tanh units), batch size 100, 3000 Adam steps
with a cosine-decaying step size from 3e-3, all as in chapters/10_vae.ipynb; every run starts
from the same initial weights and sees the same minibatches. Test log p(x) of every model is
the IWAE estimate L_1000 with the model's own encoder as proposal (a lower bound on log p(x)
whose expectation rises with K, Burda et al. 2016), averaged over the 297 test images, with its
standard error over images. Differences between two models are paired by image.

1. Equal compute, K = 5 draws of z per image per step for both: the ELBO averaged over 5 draws
   versus the IWAE bound L_5 (same number of decoder evaluations per step).
2. Posterior collapse, latent dimension 8: beta = 1 (the ELBO), a beta = 4 weighted KL, and
   beta = 4 with "free bits" (Kingma et al. 2016): each dimension's batch-averaged KL enters
   the loss as max(KL_j, 0.5 nats), so a dimension gains nothing by dropping below 0.5 nats.
   Reported: the test-set average KL(q(z_j | x) ‖ N(0, 1)) per latent dimension, the number of
   "active" dimensions (KL_j > 0.05 nats) and the test L_1000.
"""

from __future__ import annotations

import time

import jax
import jax.numpy as jnp
import numpy as np
import optax
from sklearn.datasets import load_digits

from vi_lib import bounds, neural

HIDDEN, BATCH, STEPS, K_TEST, CHUNK = 128, 100, 3000, 1000, 250


def data(rng):
    digits = load_digits()
    x_all = (digits.data >= 8).astype(np.float32)
    perm = rng.permutation(len(x_all))
    return jnp.asarray(x_all[perm[:1500]]), jnp.asarray(x_all[perm[1500:]])


def test_log_px(params, x_test, latent_dim, rng):
    """Per-image L_1 (ELBO) and L_1000 on the test set, from the same 1000 draws."""
    f = jax.jit(lambda p, e: neural.vae_log_weights(p, e, x_test))
    log_w = np.concatenate([np.asarray(f(params, rng.standard_normal(
        (CHUNK, x_test.shape[0], latent_dim)).astype(np.float32)), dtype=float)
        for _ in range(K_TEST // CHUNK)], axis=0).T
    return bounds.iwae_from_log_weights(log_w, 1), bounds.iwae_from_log_weights(log_w, K_TEST)


def train(loss, params0, xs):
    opt = optax.adam(optax.cosine_decay_schedule(3e-3, STEPS, alpha=0.1))
    params, _ = neural.fit(loss, params0, opt, xs)
    return params


def summary(v):
    return f"{v.mean():8.3f} ± {v.std(ddof=1) / np.sqrt(v.size):.3f}"


def equal_compute(x_train, x_test, rng):
    latent_dim, k = 2, 5
    params0 = neural.init_vae(rng, 64, HIDDEN, latent_dim)
    batches = rng.integers(0, x_train.shape[0], size=(STEPS, BATCH))
    eps = rng.standard_normal((STEPS, k, BATCH, latent_dim)).astype(np.float32)

    def loss_elbo(p, s):
        idx, e = s
        return -jnp.mean(neural.vae_log_weights(p, e, x_train[idx]))

    def loss_iwae(p, s):
        idx, e = s
        return -jnp.mean(neural.vae_iwae(p, e, x_train[idx]))

    print(f"1. equal compute: {k} draws of z per image per step, latent dim {latent_dim}")
    res = {}
    for name, loss in (("ELBO (mean of 5)", loss_elbo), ("IWAE L_5", loss_iwae)):
        t0 = time.perf_counter()
        params = train(loss, params0, (batches, eps))
        res[name] = test_log_px(params, x_test, latent_dim, rng)
        print(f"   trained on {name:16}: test ELBO {summary(res[name][0])}, "
              f"test L_1000 {summary(res[name][1])} nats/image  ({time.perf_counter() - t0:.0f} s)")
    d = res["IWAE L_5"][1] - res["ELBO (mean of 5)"][1]
    print(f"   IWAE-trained minus ELBO-trained, test L_1000 (paired): {summary(d)} nats/image")
    d = res["IWAE L_5"][0] - res["ELBO (mean of 5)"][0]
    print(f"   IWAE-trained minus ELBO-trained, test ELBO (paired):   {summary(d)} nats/image")


def collapse(x_train, x_test, rng):
    latent_dim, free_bits = 8, 0.5
    params0 = neural.init_vae(rng, 64, HIDDEN, latent_dim)
    batches = rng.integers(0, x_train.shape[0], size=(STEPS, BATCH))
    eps = rng.standard_normal((STEPS, BATCH, latent_dim)).astype(np.float32)

    def make_loss(beta, floor):
        def loss(p, s):
            idx, e = s
            x = x_train[idx]
            mu, sigma = neural.vae_encode(p, x)
            logits = neural.vae_decode(p, mu + sigma * e)
            log_lik = jnp.sum(x * logits - jax.nn.softplus(logits), axis=-1)
            kl_dim = jnp.mean(0.5 * (mu**2 + sigma**2 - 1) - jnp.log(sigma), axis=0)  # (latent,)
            return -jnp.mean(log_lik) + beta * jnp.sum(jnp.maximum(kl_dim, floor))
        return loss

    print(f"\n2. posterior collapse, latent dim {latent_dim}")
    res = {}
    for name, beta, floor in (("beta = 1", 1.0, 0.0), ("beta = 4", 4.0, 0.0),
                              (f"beta = 4, free bits {free_bits}", 4.0, free_bits)):
        t0 = time.perf_counter()
        params = train(make_loss(beta, floor), params0, (batches, eps))
        mu, sigma = neural.vae_encode(params, x_test)
        kl_dim = np.asarray(jnp.mean(0.5 * (mu**2 + sigma**2 - 1) - jnp.log(sigma), axis=0))
        res[name] = test_log_px(params, x_test, latent_dim, rng)[1]
        print(f"   {name:24}: KL per dim {np.array2string(np.sort(kl_dim)[::-1], precision=2)}"
              f" nats; active (> 0.05): {int(np.sum(kl_dim > 0.05))}; test L_1000 "
              f"{summary(res[name])}  ({time.perf_counter() - t0:.0f} s)")
    d = res[f"beta = 4, free bits {free_bits}"] - res["beta = 4"]
    print(f"   free bits minus plain beta = 4, test L_1000 (paired): {summary(d)} nats/image")


def main():
    rng = np.random.default_rng(2014)
    x_train, x_test = data(rng)
    print(f"JAX {jax.__version__}, dtype {jnp.asarray(1.0).dtype}; "
          f"{x_train.shape[0]} training, {x_test.shape[0]} test images\n")
    equal_compute(x_train, x_test, np.random.default_rng(1))
    collapse(x_train, x_test, np.random.default_rng(2))


if __name__ == "__main__":
    main()
