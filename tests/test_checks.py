"""vi_lib.checks: every check accepts correct answers and names each known mistake.

For each check: the reference solution and at least one independently written
correct variant must pass (print one line, return None); the stub and a
catalogue of wrong answers (one per recognised mistake) must raise
AssertionError whose message names the mistake; exceptions, NaN, None and
wrong types or shapes must be reported, never crash the check.
"""

import math
import re

import numpy as np
import pytest
from scipy import integrate, special, stats

from vi_lib import checks


def stub(*args):
    raise NotImplementedError("write your code here")


# ---------------------------------------------------------------------------
# Correct answers: a reference solution and independent variants per check
# ---------------------------------------------------------------------------

def coin_posterior(heads, tails, a0, b0):
    return a0 + heads, b0 + tails


def coin_posterior_list(heads, tails, a0, b0):
    return [float(a0 + heads), float(b0 + tails)]


def coin_log_evidence(heads, tails, a0, b0):
    return special.betaln(a0 + heads, b0 + tails) - special.betaln(a0, b0)


def coin_log_evidence_gammaln(heads, tails, a0, b0):
    g = special.gammaln
    return (g(a0 + heads) + g(b0 + tails) - g(a0 + b0 + heads + tails)
            - g(a0) - g(b0) + g(a0 + b0))


def coin_log_evidence_sequential(heads, tails, a0, b0):
    # Chain rule of probability: multiply predictive probabilities toss by toss.
    total, h, t = 0.0, 0, 0
    for _ in range(heads):
        total += math.log((a0 + h) / (a0 + b0 + h + t))
        h += 1
    for _ in range(tails):
        total += math.log((b0 + t) / (a0 + b0 + h + t))
        t += 1
    return total


def coin_laplace(heads, tails, a0, b0):
    a1, b1 = a0 + heads - 1, b0 + tails - 1
    mode = a1 / (a1 + b1)
    curvature = a1 / mode**2 + b1 / (1 - mode) ** 2
    return mode, curvature**-0.5


def coin_laplace_closed(heads, tails, a0, b0):
    a1, b1 = a0 + heads - 1, b0 + tails - 1
    n = a1 + b1
    return a1 / n, math.sqrt(a1 * b1 / n**3)


def kl_normal(mu_q, sigma_q, mu_p, sigma_p):
    # ratios before squares: no overflow for huge sigmas
    return math.log(sigma_p / sigma_q) + ((sigma_q / sigma_p) ** 2 + ((mu_q - mu_p) / sigma_p) ** 2) / 2 - 0.5


def kl_normal_var_form(mu_q, sigma_q, mu_p, sigma_p):
    # fragile: sigma² overflows (Python raises OverflowError) and log(vq) of an underflowed vq
    vq, vp = sigma_q**2, sigma_p**2
    return 0.5 * (vq / vp + (mu_p - mu_q) ** 2 / vp - 1 + math.log(vp) - math.log(vq))


def kl_normal_textbook(mu_q, sigma_q, mu_p, sigma_p):
    # fragile: sigma_q**2 overflows for sigma ~ 1e160
    return (math.log(sigma_p / sigma_q) + (sigma_q**2 + (mu_q - mu_p) ** 2) / (2 * sigma_p**2) - 0.5)


def kl_normal_quadrature(mu_q, sigma_q, mu_p, sigma_p):
    q, p = stats.norm(mu_q, sigma_q), stats.norm(mu_p, sigma_p)
    val, _ = integrate.quad(lambda z: q.pdf(z) * (q.logpdf(z) - p.logpdf(z)),
                            mu_q - 12 * sigma_q, mu_q + 12 * sigma_q, epsabs=1e-13, epsrel=1e-12,
                            limit=200)
    return val


def kl_mvn_diag(mu_q, sigma_q, mu_p, sigma_p):
    return float(np.sum(np.log(sigma_p / sigma_q)
                        + (sigma_q**2 + (mu_q - mu_p) ** 2) / (2 * sigma_p**2) - 0.5))


def kl_mvn_diag_logs(mu_q, sigma_q, mu_p, sigma_p):
    # log-variances: 2 log sigma, never log(sigma²)
    log_ratio = 2 * (np.log(sigma_p) - np.log(sigma_q))
    return 0.5 * float(np.sum(np.exp(-log_ratio) + ((mu_q - mu_p) / sigma_p) ** 2 - 1 + log_ratio))


def kl_mvn_diag_matrix(mu_q, sigma_q, mu_p, sigma_p):
    # The general formula with full (diagonal) matrices: trace, quadratic form, log-determinants.
    # Fragile: sigma² of 1e-170 underflows, so the log-determinant of cov_q is -inf.
    cov_q, cov_p = np.diag(sigma_q**2), np.diag(sigma_p**2)
    d = len(mu_q)
    inv_p = np.linalg.inv(cov_p)
    diff = mu_p - mu_q
    return 0.5 * (np.trace(inv_p @ cov_q) + diff @ inv_p @ diff - d
                  + np.linalg.slogdet(cov_p)[1] - np.linalg.slogdet(cov_q)[1])


def kl_standard_normal(mu, sigma):
    return 0.5 * float(np.sum(sigma**2 + mu**2 - 1 - 2 * np.log(sigma)))


def kl_standard_normal_loop(mu, sigma):
    total = 0.0
    for m, s in zip(mu, sigma):
        total += kl_normal(float(m), float(s), 0.0, 1.0)
    return total


def entropy(probs):
    return float(-np.sum(special.xlogy(probs, probs)))


def entropy_mask(probs):
    p = probs[probs > 0]
    return -(p * np.log(p)).sum()


def entropy_scipy(probs):
    return stats.entropy(probs)


def elbo_mc(log_joint, log_q, samples):
    return float(np.mean(log_joint(samples) - log_q(samples)))


def elbo_mc_loop(log_joint, log_q, samples):
    terms = [log_joint(z) - log_q(z) for z in samples]
    return sum(terms) / len(terms)


def elbo_beta_coin(a_q, b_q, heads, tails, a0, b0):
    e_log_t = special.digamma(a_q) - special.digamma(a_q + b_q)
    e_log_1mt = special.digamma(b_q) - special.digamma(a_q + b_q)
    e_log_joint = (a0 + heads - 1) * e_log_t + (b0 + tails - 1) * e_log_1mt - special.betaln(a0, b0)
    return e_log_joint + stats.beta(a_q, b_q).entropy()


def elbo_beta_coin_via_kl(a_q, b_q, heads, tails, a0, b0):
    # ELBO = log p(X) - KL(q ‖ posterior); KL between two Betas in closed form.
    a_post, b_post = a0 + heads, b0 + tails
    psi = special.digamma
    kl = (special.betaln(a_post, b_post) - special.betaln(a_q, b_q)
          + (a_q - a_post) * psi(a_q) + (b_q - b_post) * psi(b_q)
          + (a_post - a_q + b_post - b_q) * psi(a_q + b_q))
    return coin_log_evidence(heads, tails, a0, b0) - kl


def cavi_factor(mu, precision, m, j):
    others = np.arange(len(mu)) != j
    mean = mu[j] - precision[j, others] @ (m[others] - mu[others]) / precision[j, j]
    return mean, 1 / precision[j, j]


def cavi_factor_loop(mu, precision, m, j):
    s = 0.0
    for k in range(len(mu)):
        if k != j:
            s += precision[j][k] * (m[k] - mu[k])
    return float(mu[j] - s / precision[j][j]), float(1.0 / precision[j][j])


def cavi_sweep(mu, precision, m):
    m = m.copy()
    for j in range(len(mu)):
        m[j] = cavi_factor(mu, precision, m, j)[0]
    return m


def cavi_sweep_inplace(mu, precision, m):
    for j in range(len(m)):
        m[j] = cavi_factor_loop(mu, precision, m, j)[0]
    return m


def mean_field_variances(cov):
    return 1 / np.diag(np.linalg.inv(cov)), np.diag(cov)


def mean_field_variances_schur(cov):
    # 1/Λ_jj is the conditional variance: Σ_jj - Σ_j,-j Σ_-j,-j⁻¹ Σ_-j,j (Schur complement).
    d = len(cov)
    rev = []
    for j in range(d):
        o = [k for k in range(d) if k != j]
        rev.append(cov[j, j] - cov[j, o] @ np.linalg.solve(cov[np.ix_(o, o)], cov[o, j]))
    return np.array(rev), np.array([cov[j, j] for j in range(d)])


def alpha_divergence(p, q, dx, alpha):
    if alpha == 1:
        return np.sum(special.rel_entr(p, q)) * dx
    if alpha == -1:
        return np.sum(special.rel_entr(q, p)) * dx
    return 4 / (1 - alpha**2) * (1 - np.sum(p ** ((1 + alpha) / 2) * q ** ((1 - alpha) / 2)) * dx)


def alpha_divergence_naive(p, q, dx, alpha):
    # fragile: 0 * log(0 / q) is NaN where p underflows
    if abs(alpha) == 1:
        a, b = (p, q) if alpha == 1 else (q, p)
        return np.sum(a * np.log(a / b)) * dx
    return alpha_divergence(p, q, dx, alpha)


def alpha_divergence_trapezoid(p, q, dx, alpha):
    if abs(alpha) == 1:
        a, b = (p, q) if alpha == 1 else (q, p)
        return np.trapezoid(special.xlogy(a, a) - special.xlogy(a, b), dx=dx)
    log_integrand = (1 + alpha) / 2 * np.log(p) + (1 - alpha) / 2 * np.log(q)
    return 4 / ((1 - alpha) * (1 + alpha)) * (1 - np.trapezoid(np.exp(log_integrand), dx=dx))


def score_grad(f_values, z, mu, sigma):
    return (np.mean(f_values * (z - mu) / sigma**2),
            np.mean(f_values * ((z - mu) ** 2 / sigma**3 - 1 / sigma)))


def score_grad_eps(f_values, z, mu, sigma):
    eps = (z - mu) / sigma
    return (f_values @ eps / (sigma * len(z)), f_values @ (eps**2 - 1) / (sigma * len(z)))


def reparam_grad(df, mu, sigma, eps):
    g = df(mu + sigma * eps)
    return np.mean(g), np.mean(g * eps)


def reparam_grad_loop(df, mu, sigma, eps):
    gm = gs = 0.0
    for e in eps:
        d = df(mu + sigma * e)
        gm += d
        gs += d * e
    return gm / len(eps), gs / len(eps)


def blr_posterior(X, y, alpha, beta):
    A = alpha * np.eye(X.shape[1]) + beta * X.T @ X
    cov = np.linalg.inv(A)
    return beta * cov @ X.T @ y, cov


def blr_posterior_cholesky(X, y, alpha, beta):
    from scipy.linalg import cho_factor, cho_solve
    A = alpha * np.eye(X.shape[1]) + beta * X.T @ X
    c = cho_factor(A)
    return cho_solve(c, beta * X.T @ y), cho_solve(c, np.eye(len(A)))


def mf_blr_variances(X, alpha, beta):
    return 1 / np.diag(alpha * np.eye(X.shape[1]) + beta * X.T @ X)


def mf_blr_variances_colsum(X, alpha, beta):
    return 1 / (alpha + beta * np.sum(X**2, axis=0))


def vae_kl(mu, log_var):
    return -0.5 * np.sum(1 + log_var - mu**2 - np.exp(log_var), axis=1)


def vae_kl_rows(mu, log_var):
    return np.array([kl_standard_normal(m, np.exp(0.5 * lv)) for m, lv in zip(mu, log_var)])


def _log_joint_logit(eta, heads, tails, a0, b0, jac=1.0):
    return ((a0 + heads - 1 + jac) * -np.logaddexp(0, -eta)
            + (b0 + tails - 1 + jac) * -np.logaddexp(0, eta) - special.betaln(a0, b0))


HERMITE_40 = np.polynomial.hermite_e.hermegauss(40)


def elbo_logit_normal(mu_q, sigma_q, heads, tails, a0, b0, jac=1.0):
    x, w = HERMITE_40
    log_joint = _log_joint_logit(mu_q + sigma_q * x, heads, tails, a0, b0, jac)
    expected = w @ log_joint / np.sqrt(2 * np.pi)
    return expected + 0.5 * np.log(2 * np.pi * np.e * sigma_q**2)


def elbo_logit_normal_quad(mu_q, sigma_q, heads, tails, a0, b0):
    q = stats.norm(mu_q, sigma_q)

    def integrand(eta):
        return q.pdf(eta) * (_log_joint_logit(eta, heads, tails, a0, b0) - q.logpdf(eta))
    val, _ = integrate.quad(integrand, mu_q - 12 * sigma_q, mu_q + 12 * sigma_q,
                            epsabs=1e-12, epsrel=1e-12,
                            limit=200)
    return val


# --- 04b Gaussian mixture (Bishop 2006, §10.2) -------------------------------------------
def expected_log_pi(alpha):
    return special.digamma(alpha) - special.digamma(alpha.sum())


def expected_log_pi_loop(alpha):
    total = special.digamma(float(np.sum(alpha)))
    return [float(special.digamma(a)) - total for a in alpha]


def gmm_resp(x, alpha, beta, m, W, nu):
    d = x.shape[1]
    e_log_pi = special.digamma(alpha) - special.digamma(alpha.sum())
    e_logdet = (special.digamma(0.5 * (nu[:, None] + 1 - np.arange(1, d + 1))).sum(1)
                + d * np.log(2) + np.linalg.slogdet(W)[1])
    diff = x[:, None, :] - m[None]
    maha = np.einsum("nki,kij,nkj->nk", diff, W, diff)
    log_rho = e_log_pi + 0.5 * e_logdet - 0.5 * d * np.log(2 * np.pi) - 0.5 * (d / beta + nu * maha)
    return np.exp(log_rho - special.logsumexp(log_rho, axis=1, keepdims=True))


def gmm_resp_loop(x, alpha, beta, m, W, nu):
    # one data point and one component at a time, max-shift instead of logsumexp
    n, d = x.shape
    k = alpha.size
    out = np.empty((n, k))
    for i in range(n):
        lr = np.empty(k)
        for j in range(k):
            e_logdet = sum(special.digamma((nu[j] + 1 - t) / 2) for t in range(1, d + 1))
            e_logdet += d * math.log(2) + math.log(np.linalg.det(W[j]))
            diff = x[i] - m[j]
            e_quad = d / beta[j] + nu[j] * diff @ W[j] @ diff
            lr[j] = (special.digamma(alpha[j]) - special.digamma(alpha.sum()) + 0.5 * e_logdet
                     - 0.5 * d * math.log(2 * math.pi) - 0.5 * e_quad)
        w = np.exp(lr - lr.max())
        out[i] = w / w.sum()
    return out


def gmm_resp_naive(x, alpha, beta, m, W, nu):
    # the textbook softmax, without the log-sum-exp shift
    d = x.shape[1]
    e_log_pi = special.digamma(alpha) - special.digamma(alpha.sum())
    e_logdet = (special.digamma(0.5 * (nu[:, None] + 1 - np.arange(1, d + 1))).sum(1)
                + d * np.log(2) + np.linalg.slogdet(W)[1])
    diff = x[:, None, :] - m[None]
    maha = np.einsum("nki,kij,nkj->nk", diff, W, diff)
    rho = np.exp(e_log_pi + 0.5 * e_logdet - 0.5 * d * np.log(2 * np.pi) - 0.5 * (d / beta + nu * maha))
    return rho / rho.sum(axis=1, keepdims=True)


def gmm_resp_slip(**slip):
    from vi_lib.checks.gmm import _log_rho_variant

    def fn(x, alpha, beta, m, W, nu):
        lr = _log_rho_variant(x, alpha, beta, m, W, nu, **slip)
        return np.exp(lr - special.logsumexp(lr, axis=1, keepdims=True))
    return fn


def dirichlet_update(resp, alpha0):
    return alpha0 + resp.sum(axis=0)


def dirichlet_update_loop(resp, alpha0):
    return [alpha0 + sum(row[k] for row in resp) for k in range(resp.shape[1])]


# chapter 12: flows and bounds
def affine_coupling(z, conditioner):
    cut = z.shape[1] // 2
    shift, log_scale = conditioner(z[:, :cut])
    y = np.concatenate([z[:, :cut], z[:, cut:] * np.exp(log_scale) + shift], axis=1)
    return y, log_scale.sum(axis=1)


def affine_coupling_rows(z, conditioner):
    ys, lds = [], []
    for row in z:
        d = row.size
        t, s = conditioner(row[None, : d // 2])
        ys.append(np.r_[row[: d // 2], row[d // 2:] * np.exp(s[0]) + t[0]])
        lds.append(math.fsum(s[0]))
    return np.array(ys), np.array(lds)


def iwae_estimate(log_w):
    return special.logsumexp(log_w, axis=1) - math.log(log_w.shape[1])


def iwae_estimate_max_shift(log_w):
    m = log_w.max(axis=1, keepdims=True)
    return m[:, 0] + np.log(np.mean(np.exp(log_w - m), axis=1))


CORRECT = {
    "check_coin_posterior": [coin_posterior, coin_posterior_list],
    "check_coin_log_evidence": [coin_log_evidence, coin_log_evidence_gammaln,
                                coin_log_evidence_sequential],
    "check_coin_laplace": [coin_laplace, coin_laplace_closed],
    "check_kl_normal": [kl_normal, kl_normal_quadrature],
    "check_kl_mvn_diag": [kl_mvn_diag, kl_mvn_diag_logs],
    "check_kl_standard_normal": [kl_standard_normal, kl_standard_normal_loop],
    "check_entropy_discrete": [entropy, entropy_mask, entropy_scipy],
    "check_elbo_monte_carlo": [elbo_mc, elbo_mc_loop],
    "check_elbo_beta_coin": [elbo_beta_coin, elbo_beta_coin_via_kl],
    "check_cavi_factor": [cavi_factor, cavi_factor_loop],
    "check_cavi_sweep": [cavi_sweep],
    "check_mean_field_variances": [mean_field_variances, mean_field_variances_schur],
    "check_alpha_divergence": [alpha_divergence, alpha_divergence_trapezoid],
    "check_score_function_grad": [score_grad, score_grad_eps],
    "check_reparam_grad": [reparam_grad, reparam_grad_loop],
    "check_blr_posterior": [blr_posterior, blr_posterior_cholesky],
    "check_mean_field_blr_variances": [mf_blr_variances, mf_blr_variances_colsum],
    "check_vae_kl": [vae_kl, vae_kl_rows],
    "check_elbo_logit_normal": [elbo_logit_normal, elbo_logit_normal_quad],
    "check_affine_coupling": [affine_coupling, affine_coupling_rows],
    "check_iwae_estimate": [iwae_estimate, iwae_estimate_max_shift],
    "check_expected_log_pi": [expected_log_pi, expected_log_pi_loop],
    "check_gmm_responsibilities": [gmm_resp, gmm_resp_loop],
    "check_dirichlet_update": [dirichlet_update, dirichlet_update_loop],
}

# Chapters whose checks are catalogued in their own test file join the suites below.
from test_checks_stochastic_vi import CORRECT as _CORRECT_06B, WRONG as _WRONG_06B  # noqa: E402
from test_checks_stochastic_vi import FRAGILE as _FRAGILE_06B  # noqa: E402

CORRECT.update(_CORRECT_06B)
# Checks of later chapters keep their catalogues beside this file (one module per chapter).
from catalogue_diagnostics import CORRECT as _CORRECT_11, WRONG as _WRONG_11  # noqa: E402
from catalogue_diagnostics import FRAGILE as _FRAGILE_11  # noqa: E402

CORRECT.update(_CORRECT_11)


def test_every_check_is_tested():
    assert sorted(CORRECT) == sorted(checks.__all__)
    assert sorted(WRONG) == sorted(checks.__all__)


@pytest.mark.parametrize("name,fn", [(n, f) for n, fs in CORRECT.items() for f in fs],
                         ids=lambda x: x if isinstance(x, str) else x.__name__)
def test_correct_answer_passes(name, fn, capsys):
    assert getattr(checks, name)(fn) is None
    out = capsys.readouterr().out
    assert out.startswith("✓ " + name) and out.count("\n") == 1


@pytest.mark.parametrize("name", sorted(CORRECT))
def test_stub_is_not_implemented_yet(name):
    with pytest.raises(AssertionError, match="not implemented yet"):
        getattr(checks, name)(stub)


# ---------------------------------------------------------------------------
# Catalogue of wrong answers: (function, words the message must contain)
# ---------------------------------------------------------------------------

def _det_kl_std(mu, sigma):  # the published slip, literally
    det = np.prod(sigma**2)
    return 0.5 * (det + mu @ mu - 1 - np.log(det))


WRONG = {
    "check_coin_posterior": [
        (lambda h, t, a0, b0: (a0 + t, b0 + h), "swapped"),
        (lambda h, t, a0, b0: (h, t), "prior is missing"),
        (lambda h, t, a0, b0: (a0 + h - 1, b0 + t - 1), "off by one"),
        (lambda h, t, a0, b0: (a0 + h + t, b0 + h + t), "total number"),
        (lambda h, t, a0, b0: (a0 + h) / (a0 + b0 + h + t), "tuple of 2 values"),
    ],
    "check_coin_log_evidence": [
        (lambda h, t, a0, b0: coin_log_evidence(h, t, a0, b0) + math.log(math.comb(h + t, h)),
         "binomial coefficient"),
        (lambda h, t, a0, b0: special.betaln(a0, b0) - special.betaln(a0 + h, b0 + t), "sign error"),
        (lambda h, t, a0, b0: math.exp(coin_log_evidence(h, t, a0, b0)), "not its logarithm"),
        (lambda h, t, a0, b0: special.betaln(a0 + h, b0 + t), "normalising constant"),
        (lambda h, t, a0, b0: coin_log_evidence(t, h, a0, b0), "swapped"),
        (lambda h, t, a0, b0: special.beta(a0 + h, b0 + t) - special.beta(a0, b0), "betaln"),
        (lambda h, t, a0, b0: coin_log_evidence(a0, b0, h, t), "wrong order"),
    ],
    "check_coin_laplace": [
        (lambda h, t, a0, b0: ((a0 + h) / (a0 + b0 + h + t), coin_laplace(h, t, a0, b0)[1]), "mean"),
        (lambda h, t, a0, b0: (coin_laplace(h, t, a0, b0)[0], coin_laplace(h, t, a0, b0)[1] ** 2),
         "variance"),
        (lambda h, t, a0, b0: (coin_laplace(h, t, a0, b0)[0], coin_laplace(h, t, a0, b0)[1] ** -2),
         "curvature"),
        (lambda h, t, a0, b0: (coin_laplace(h, t, a0, b0)[0], stats.beta(a0 + h, b0 + t).std()),
         "exact posterior standard deviation"),
        (lambda h, t, a0, b0: coin_laplace(h, t, a0 + 1, b0 + 1), "-1 of the exponents"),
    ],
    "check_kl_normal": [
        (lambda mq, sq, mp, sp: kl_normal(mp, sp, mq, sq), "swapped"),
        (lambda mq, sq, mp, sp: math.log(math.sqrt(sp) / math.sqrt(sq))
         + (sq + (mq - mp) ** 2) / (2 * sp) - 0.5, "variance"),
        (lambda mq, sq, mp, sp: kl_normal(mq, sq**2, mp, sp**2), "squared sigma twice"),
        (lambda mq, sq, mp, sp: math.log(sp / sq) + (sq + (mq - mp) ** 2) / (2 * sp) - 0.5,
         "standard deviation used where the variance belongs"),
        (lambda mq, sq, mp, sp: math.log(sp**2 / sq**2) + (sq**2 + (mq - mp) ** 2) / (2 * sp**2) - 0.5,
         "factor 1/2"),
        (lambda mq, sq, mp, sp: kl_normal(mq, sq, mp, sp) + 0.5, "constant -1/2 is missing"),
        (lambda mq, sq, mp, sp: -kl_normal(mq, sq, mp, sp), "sign error"),
        (lambda mq, sq, mp, sp: math.log(sq / sp) + (sq**2 + (mq - mp) ** 2) / (2 * sp**2) - 0.5,
         "sign error in the log term"),
        (lambda mq, sq, mp, sp: math.log(sp / sq) + sq**2 / (2 * sp**2) + (mq - mp) ** 2 / sp**2 - 0.5,
         "factor 1/2 on the mean term"),
        (lambda mq, sq, mp, sp: math.log(sp / sq) + sq**2 / (2 * sp**2) + (mq - mp) ** 2 / (2 * sq**2)
         - 0.5, "wrong variance"),
        (lambda mq, sq, mp, sp: float("nan"), "NaN"),
        (lambda mq, sq, mp, sp: np.array([kl_normal(mq, sq, mp, sp)] * 2), "wrong shape"),
    ],
    "check_kl_mvn_diag": [
        (lambda mq, sq, mp, sp: kl_mvn_diag(mp, sp, mq, sq), "swapped"),
        (lambda mq, sq, mp, sp: kl_mvn_diag(mq, np.sqrt(sq), mp, np.sqrt(sp)), "as if it were the variance"),
        (lambda mq, sq, mp, sp: kl_mvn_diag(mq, sq**2, mp, sp**2), "squared sigma twice"),
        (lambda mq, sq, mp, sp: np.sum(np.log(sp / sq) + (sq + (mq - mp) ** 2) / (2 * sp) - 0.5),
         "standard deviation used where the variance belongs"),
        (lambda mq, sq, mp, sp: 0.5 * (np.prod(sq**2 / sp**2) + np.sum((mq - mp) ** 2 / sp**2) - 1
                                       - np.log(np.prod(sq**2 / sp**2))), "published derivation"),
        (lambda mq, sq, mp, sp: 0.5 * (np.prod(sq**2 / sp**2) + np.sum((mq - mp) ** 2 / sp**2) - len(mq)
                                       - np.log(np.prod(sq**2 / sp**2))), "determinant"),
        (lambda mq, sq, mp, sp: kl_mvn_diag(mq, sq, mp, sp) + 0.5 * (len(mq) - 1), "-d/2"),
        (lambda mq, sq, mp, sp: kl_mvn_diag(mq, sq, mp, sp) + 0.5 * len(mq), "-d/2 is missing"),
        (lambda mq, sq, mp, sp: -kl_mvn_diag(mq, sq, mp, sp), "sign error"),
        (lambda mq, sq, mp, sp: kl_mvn_diag(mq, sq, mp, sp) / len(mq), "averaged"),
        (lambda mq, sq, mp, sp: np.log(sp / sq) + (sq**2 + (mq - mp) ** 2) / (2 * sp**2) - 0.5,
         "per-dimension terms"),
        (lambda mq, sq, mp, sp: np.full(3, kl_mvn_diag(mq, sq, mp, sp)), "wrong shape"),
        (lambda mq, sq, mp, sp: kl_mvn_diag(mq, sq, mp, sp) * np.nan, "NaN"),
    ],
    "check_kl_standard_normal": [
        (_det_kl_std, "published derivation"),
        (lambda mu, s: 0.5 * (np.prod(s**2) + mu @ mu - len(mu) - np.log(np.prod(s**2))), "determinant"),
        (lambda mu, s: 0.5 * np.sum(s**2 + mu**2 - np.log(s**2)) - 0.5, "-d/2"),
        (lambda mu, s: 0.5 * np.sum(s**2 + mu**2 - np.log(s**2)), "-d/2 is missing"),
        (lambda mu, s: 0.5 * np.sum(1 / s**2 + mu**2 / s**2 - 1 + np.log(s**2)), "swapped"),
        (lambda mu, s: 0.5 * np.sum(s + mu**2 - 1 - np.log(s)), "as if it were the variance"),
        (lambda mu, s: kl_standard_normal(mu, s**2), "squared sigma twice"),
        (lambda mu, s: 0.5 * np.sum(s + mu**2 - 1 - np.log(s**2)), "standard deviation used where"),
        (lambda mu, s: 0.5 * np.sum(s**2 + mu**2 - 1 - np.log(s)), "log sigma²"),
        (lambda mu, s: -kl_standard_normal(mu, s), "sign error"),
        (lambda mu, s: 0.5 * (s**2 + mu**2 - 1 - np.log(s**2)), "per-dimension"),
        (lambda mu, s: np.log(-s).sum(), "NaN"),
        (lambda mu, s: None, "returned None"),
    ],
    "check_entropy_discrete": [
        (lambda p: -np.sum(p * np.log(p)), "0 log 0"),
        (lambda p: entropy(p) / math.log(2), "bits"),
        (lambda p: np.sum(special.xlogy(p, p)), "sign error"),
        (lambda p: -np.sum(np.log(p[p > 0])), "without the weights"),
        (lambda p: special.entr(p), "terms"),
        (lambda p: "entropy", "not a number"),
    ],
    "check_elbo_monte_carlo": [
        (lambda lj, lq, z: np.mean(lq(z) - lj(z)), "sign error"),
        (lambda lj, lq, z: np.mean(lj(z)), "entropy part is missing"),
        (lambda lj, lq, z: np.sum(lj(z) - lq(z)), "average"),
        (lambda lj, lq, z: lj(z) - lq(z), "one term per sample"),
        (lambda lj, lq, z: np.log(np.mean(np.exp(lj(z) - lq(z)))), "biased"),
        (lambda lj, lq, z: lj(z[0]) - lq(z[0]), "wrong value"),
    ],
    "check_elbo_beta_coin": [
        (lambda aq, bq, h, t, a0, b0: elbo_beta_coin(aq, bq, h, t, a0, b0) - 2 * stats.beta(aq, bq).entropy(),
         "sign error on the entropy"),
        (lambda aq, bq, h, t, a0, b0: elbo_beta_coin(aq, bq, h, t, a0, b0) - stats.beta(aq, bq).entropy(),
         "entropy ℍ[q] is missing"),
        (lambda aq, bq, h, t, a0, b0: elbo_beta_coin(aq, bq, h, t, a0, b0) + special.betaln(a0, b0),
         "normalising constant"),
        (lambda aq, bq, h, t, a0, b0: coin_log_evidence(h, t, a0, b0) - elbo_beta_coin(aq, bq, h, t, a0, b0),
         "KL(q ‖ posterior)"),
        (lambda *args: -elbo_beta_coin(*args), "minus the ELBO"),
        (lambda aq, bq, h, t, a0, b0: ((a0 + h - 1) * np.log(aq / (aq + bq)) + (b0 + t - 1)
                                       * np.log(bq / (aq + bq)) - special.betaln(a0, b0)
                                       + stats.beta(aq, bq).entropy()), "digamma"),
        (lambda *args: 1 / 0, "ZeroDivisionError"),
        (lambda aq, bq, h, t, a0, b0: elbo_beta_coin(aq, bq, a0, b0, h, t), "wrong order"),
    ],
    "check_cavi_factor": [
        (lambda mu, lam, m, j: (cavi_factor(mu, lam, m, j)[0], np.linalg.inv(lam)[j, j]), "marginal variance"),
        (lambda mu, lam, m, j: cavi_factor(mu, np.linalg.inv(lam), m, j), "covariance"),
        (lambda mu, lam, m, j: (2 * mu[j] - cavi_factor(mu, lam, m, j)[0], 1 / lam[j, j]), "sign error"),
        (lambda mu, lam, m, j: (cavi_factor(mu, lam, m, j)[0], lam[j, j] ** -0.5), "standard deviation"),
        (lambda mu, lam, m, j: (cavi_factor(mu, lam, m, j)[0], lam[j, j]), "reciprocal"),
        (lambda mu, lam, m, j: (mu[j] - sum(lam[j, k] * (m[k] - mu[k]) for k in range(len(mu)) if k != j),
                                1 / lam[j, j]), "division by Λ_jj"),
        (lambda mu, lam, m, j: (mu[j] - lam[j] @ (m - mu) / lam[j, j], 1 / lam[j, j]), "leave out k = j"),
        (lambda mu, lam, m, j: cavi_factor(mu, lam, m, j)[0], "tuple of 2 values"),
    ],
    "check_cavi_sweep": [
        (lambda mu, lam, m: np.array([cavi_factor(mu, lam, m, j)[0] for j in range(len(mu))]), "Jacobi"),
        (lambda mu, lam, m: cavi_sweep(mu[::-1], lam[::-1, ::-1], m[::-1])[::-1], "last to first"),
        (lambda mu, lam, m: m, "unchanged"),
        (lambda mu, lam, m: mu, "target mean"),
        (lambda mu, lam, m: cavi_sweep(mu, np.linalg.inv(lam), m), "covariance"),
        (lambda mu, lam, m: cavi_sweep(mu, lam, m)[:1], "wrong shape"),
    ],
    "check_mean_field_variances": [
        (lambda c: mean_field_variances(c)[::-1], "swapped"),
        (lambda c: tuple(np.sqrt(v) for v in mean_field_variances(c)), "standard deviations"),
        (lambda c: (np.diag(np.linalg.inv(c)), np.diag(c)), "precisions"),
        (lambda c: (1 / np.diag(c), np.diag(c)), "diagonal of the covariance"),
    ],
    "check_alpha_divergence": [
        (lambda p, q, dx, a: alpha_divergence(p, q, dx, -a) if abs(a) == 1 else alpha_divergence(p, q, dx, a),
         "limits are swapped"),
        (lambda p, q, dx, a: alpha_divergence(q, p, dx, a), "exponents are swapped"),
        (lambda p, q, dx, a: alpha_divergence(p, q, dx, a) * (1 - a**2) / 4 if abs(a) != 1
         else alpha_divergence(p, q, dx, a), "4 / (1 - alpha²)"),
        (lambda p, q, dx, a: 4 / (1 - a**2 + 0.0) * (1 - np.sum(p ** ((1 + a) / 2) * q ** ((1 - a) / 2)) * dx)
         if abs(a) != 1 else np.float64(4) / np.float64(0) * 0.0, "NaN (or inf) at alpha = ±1"),
        (lambda p, q, dx, a: alpha_divergence(p, q, 1.0, a), "grid spacing"),
        (lambda p, q, dx, a: -alpha_divergence(p, q, dx, a), "sign error"),
        (lambda p, q, dx, a: 4 / (1 - a**2) * (1 - np.sum(p ** ((1 + a) / 2) * q ** ((1 - a) / 2)) * dx),
         "ZeroDivisionError"),
    ],
    "check_score_function_grad": [
        (lambda fv, z, mu, s: (np.mean(fv * (z - mu) / s), score_grad(fv, z, mu, s)[1]), "divided by sigma"),
        (lambda fv, z, mu, s: (score_grad(fv, z, mu, s)[0], np.mean(fv * (z - mu) ** 2 / s**3)), "-1/sigma"),
        (lambda fv, z, mu, s: (score_grad(fv, z, mu, s)[0],
                               np.mean(fv * ((z - mu) ** 2 / (2 * s**4) - 1 / (2 * s**2)))), "variance sigma²"),
        (lambda fv, z, mu, s: tuple(-g for g in score_grad(fv, z, mu, s)), "sign error"),
        (lambda fv, z, mu, s: score_grad(np.ones_like(fv), z, mu, s), "f(z) is missing"),
        (lambda fv, z, mu, s: (fv * (z - mu) / s**2, fv), "wrong shape"),
    ],
    "check_reparam_grad": [
        (lambda df, mu, s, e: (np.mean(df(mu + s * e)), np.mean(df(mu + s * e))), "factor eps is missing"),
        (lambda df, mu, s, e: (np.mean(df(mu + s * e)), np.mean(df(mu + s * e) * (mu + s * e))), "not z"),
        (lambda df, mu, s, e: (np.mean(df(e)), np.mean(df(e) * e)), "evaluated f' at eps"),
        (lambda df, mu, s, e: (np.mean(df(mu + s * e)), s * np.mean(df(mu + s * e))), "not sigma"),
        (lambda df, mu, s, e: reparam_grad(df, mu, s**2, e), "variance sigma²"),
        (lambda df, mu, s, e: (None, 0.0), "grad_mu` is None"),
    ],
    "check_blr_posterior": [
        (lambda X, y, a, b: blr_posterior(X, y, a, 1 / b), "noise *precision*"),
        (lambda X, y, a, b: blr_posterior(X, y, 1 / a, b), "prior *precision*"),
        (lambda X, y, a, b: blr_posterior(X, y, b, a), "swapped"),
        (lambda X, y, a, b: (blr_posterior(X, y, a, b)[1] @ X.T @ y, blr_posterior(X, y, a, b)[1]),
         "factor beta is missing"),
        (lambda X, y, a, b: blr_posterior(X, y, 0.0, b), "alpha I is missing"),
        (lambda X, y, a, b: (blr_posterior(X, y, a, b)[0], a * np.eye(X.shape[1]) + b * X.T @ X),
         "precision matrix"),
    ],
    "check_mean_field_blr_variances": [
        (lambda X, a, b: np.diag(blr_posterior(X, X[:, 0], a, b)[1]), "exact marginal variances"),
        (lambda X, a, b: a + b * np.sum(X**2, axis=0), "reciprocals"),
        (lambda X, a, b: np.sqrt(mf_blr_variances(X, a, b)), "standard deviations"),
        (lambda X, a, b: mf_blr_variances(X, a, 1 / b), "noise precision"),
        (lambda X, a, b: mf_blr_variances(X, a, b)[0], "wrong shape"),
    ],
    "check_vae_kl": [
        (lambda mu, lv: 0.5 * (np.exp(lv.sum(1)) + (mu**2).sum(1) - 1 - lv.sum(1)), "published derivation"),
        (lambda mu, lv: 0.5 * (np.exp(lv.sum(1)) + (mu**2).sum(1) - mu.shape[1] - lv.sum(1)), "determinant"),
        (lambda mu, lv: 0.5 * np.sum(np.exp(lv) + mu**2 - lv, axis=1) - 0.5, "-d/2"),
        (lambda mu, lv: vae_kl(mu, 2 * lv), "log sigma"),
        (lambda mu, lv: -vae_kl(mu, lv), "sign error"),
        (lambda mu, lv: -0.5 * np.sum(1 + lv - mu**2 - np.exp(lv), axis=0), "wrong axis"),
        (lambda mu, lv: vae_kl(mu, lv).sum(), "whole batch"),
        (lambda mu, lv: -0.5 * (1 + lv - mu**2 - np.exp(lv)), "per-dimension terms"),
    ],
    "check_elbo_logit_normal": [
        (lambda *args: elbo_logit_normal(*args, jac=0.0), "Jacobian is missing"),
        (lambda m, s, h, t, a0, b0: elbo_logit_normal(m, s, h, t, a0, b0)
         - 0.5 * np.log(2 * np.pi * np.e * s**2), "entropy of q is missing"),
        (lambda m, s, h, t, a0, b0: elbo_logit_normal(m, s, h, t, a0, b0)
         - np.log(2 * np.pi * np.e * s**2), "sign error on the entropy"),
        (lambda m, s, h, t, a0, b0: elbo_logit_normal(m, s, h, t, a0, b0) - 0.5 * np.log(s),
         "not the standard deviation"),
        (lambda m, s, h, t, a0, b0: elbo_logit_normal(m, s, h, t, a0, b0) - 0.5, "the e"),
        (lambda m, s, h, t, a0, b0: elbo_logit_normal(m, s, h, t, a0, b0) + special.betaln(a0, b0),
         "normalising constant"),
        (lambda m, s, h, t, a0, b0: elbo_logit_normal(m, s, t, h, a0, b0), "swapped"),
        (lambda m, s, h, t, a0, b0: elbo_logit_normal(m, s, h, t, a0, b0) + 0.01 * m, "wrong value"),
        (lambda m, s, h, t, a0, b0: elbo_logit_normal(m, s, a0, b0, h, t), "wrong order"),
    ],
    "check_affine_coupling": [
        (lambda z, c: (affine_coupling(z, c)[0], np.exp(c(z[:, :z.shape[1] // 2])[1]).sum(1)),
         "not of the scales exp(s_j)"),
        (lambda z, c: (affine_coupling(z, c)[0], np.exp(affine_coupling(z, c)[1])), "its logarithm"),
        (lambda z, c: (affine_coupling(z, c)[0], affine_coupling(z, c)[1].sum()), "summed over all rows"),
        (lambda z, c: (np.concatenate([z[:, :z.shape[1] // 2],
                                       (z[:, z.shape[1] // 2:] + c(z[:, :z.shape[1] // 2])[0])
                                       * np.exp(c(z[:, :z.shape[1] // 2])[1])], 1),
                       affine_coupling(z, c)[1]), "scale first, then shift"),
        (lambda z, c: (np.concatenate([z[:, :z.shape[1] // 2],
                                       z[:, z.shape[1] // 2:] * c(z[:, :z.shape[1] // 2])[1]
                                       + c(z[:, :z.shape[1] // 2])[0]], 1),
                       affine_coupling(z, c)[1]), "not s"),
        (lambda z, c: (affine_coupling(z, c)[0], c(z[:, :z.shape[1] // 2])[1]),
         "sum the log-scales over the coordinates of each row"),
        # log_det of shape (n, 1) is accepted (axes of length 1 are ignored); y without z_a is not
        (lambda z, c: (affine_coupling(z, c)[0][:, z.shape[1] // 2:], affine_coupling(z, c)[1]),
         "wrong shape"),
    ],
    "check_iwae_estimate": [
        (lambda lw: special.logsumexp(lw, axis=1), "log K is missing"),
        (lambda lw: lw.mean(axis=1), "ELBO estimate"),
        (lambda lw: np.log(np.exp(lw).mean(axis=1)), "overflow or underflow"),
        (lambda lw: special.logsumexp(lw, axis=0) - np.log(len(lw)), "axis 1"),
        (lambda lw: float(iwae_estimate(lw).mean()), "wrong shape"),
    ],
    "check_expected_log_pi": [
        (lambda a: np.log(a / a.sum()), "not log E[π_k]"),
        (lambda a: special.digamma(a), "-ψ(Σ_j α_j) is missing"),
        (lambda a: special.digamma(a) - np.log(a.sum()), "not log(Σ_j α_j)"),
        (lambda a: special.digamma(a) - special.digamma(a).sum(), "not the sum of the ψ"),
        (lambda a: special.digamma(a) - special.digamma(a.sum()) + 0.01, "wrong value"),
    ],
    "check_gmm_responsibilities": [
        (gmm_resp_naive, "naive softmax"),
        (gmm_resp_slip(log_pi="log_mean"), "needs the digamma function"),
        (gmm_resp_slip(logdet_digamma=False), "digamma sum"),
        (gmm_resp_slip(logdet_W=False), "log|W_k| is missing"),
        (gmm_resp_slip(d_over_beta=False), "d / β_k"),
        (gmm_resp_slip(nu_factor=False), "factor ν_k is missing"),
        (gmm_resp_slip(inverse_W=True), "W_k⁻¹"),
        (gmm_resp_slip(half=False), "factor 1/2"),
        (lambda *c: np.log(gmm_resp(*c)), "wrong value"),
        (lambda *c: gmm_resp(*c)[:, :1], "wrong shape"),
    ],
    "check_dirichlet_update": [
        (lambda r, a0: r.sum(axis=0), "α0 is missing"),
        (lambda r, a0: a0 - 1 + r.sum(axis=0), "natural parameter"),
        (lambda r, a0: a0 + r.sum(axis=1), "over the data points"),
        (lambda r, a0: a0 + r.mean(axis=0), "not a mean"),
        (lambda r, a0: (a0 + r.sum(axis=0))[::-1], "wrong value"),
    ],
}

WRONG.update(_WRONG_11)


WRONG.update(_WRONG_06B)


@pytest.mark.parametrize("name,fn,words",
                         [(n, f, w) for n, items in WRONG.items() for f, w in items],
                         ids=lambda x: x if isinstance(x, str) and not x.startswith(" ") else "")
def test_wrong_answer_is_named(name, fn, words):
    with pytest.raises(AssertionError) as info:
        getattr(checks, name)(fn)
    message = " ".join(str(info.value).split())   # headlines are wrapped
    assert words in message, message
    assert message.startswith(name + ":")


# ---------------------------------------------------------------------------
# Robustness: anything the student's code does is reported, never a crash
# ---------------------------------------------------------------------------

def _raises(exc):
    def fn(*args):
        raise exc
    return fn


ODD = [
    (_raises(ValueError("boom")), "raised ValueError: boom"),
    (_raises(ZeroDivisionError("division by zero")), "raised ZeroDivisionError"),
    (_raises(KeyError("x")), "raised KeyError"),
    (lambda *args: None, "returned None"),
    (lambda *args: "0.5", ("not a number", "tuple of")),
    (lambda *args: {"a": 1}, ("not a number", "tuple of")),
    (lambda *args: [1.0, "x"], ""),
    (lambda *args: (1.0, 2.0, 3.0), ""),
    (lambda *args: 1j, ""),
    (lambda *args: np.full((2, 3), np.nan), ""),
    (lambda *args: float("inf"), ""),
    (lambda *args: print, ("not a number", "tuple of")),
    (lambda *args: 0.123456, ""),
]


@pytest.mark.parametrize("name", sorted(CORRECT))
@pytest.mark.parametrize("fn,words", ODD)
def test_check_survives_odd_student_code(name, fn, words):
    with pytest.raises(AssertionError) as info:
        getattr(checks, name)(fn)
    message = " ".join(str(info.value).split())
    words = (words,) if isinstance(words, str) else words
    assert message.startswith(name + ":") and any(w in message for w in words), message


def test_not_a_function():
    with pytest.raises(AssertionError, match="Pass the function itself"):
        checks.check_kl_normal(0.5)


def test_student_mutating_inputs_does_not_break_the_check():
    def vandal(mu_q, sigma_q, mu_p, sigma_p):
        value = kl_mvn_diag(mu_q, sigma_q, mu_p, sigma_p)
        sigma_q[:] = -1.0
        mu_p[:] = np.nan
        return value
    checks.check_kl_mvn_diag(vandal)
    checks.check_kl_mvn_diag(kl_mvn_diag)


def test_nan_message_shows_input_and_expected():
    def nan_sometimes(mu, sigma):
        return float("nan") if len(mu) == 4 else kl_standard_normal(mu, sigma)
    with pytest.raises(AssertionError) as info:
        checks.check_kl_standard_normal(nan_sometimes)
    message = str(info.value)
    assert "NaN" in message and "on input: mu=" in message and "expected" in message


def test_unknown_mistake_shows_one_failing_input():
    with pytest.raises(AssertionError) as info:
        checks.check_kl_normal(lambda mq, sq, mp, sp: kl_normal(mq, sq, mp, sp) + 0.01 * mq)
    message = str(info.value)
    assert "wrong value" in message and "expected:" in message and "received:" in message
    assert "mu_q=" in message


def test_jax_arrays_are_accepted():
    jnp = pytest.importorskip("jax.numpy")

    def kl_jax(mu, sigma):
        # JAX's default float32, asked for explicitly: importing vi_lib.diagnostics (say, in
        # tests/test_diagnostics.py in the same worker) turns on float64 process-wide
        mu, sigma = jnp.asarray(mu, dtype=jnp.float32), jnp.asarray(sigma, dtype=jnp.float32)
        return jnp.sum(sigma**2 + mu**2 - 1 - jnp.log(sigma**2)) / 2
    # float32: a correct formula must still pass the tolerance
    checks.check_kl_standard_normal(kl_jax)


def test_unknown_mistake_names_the_wrong_output_and_negative_kl():
    with pytest.raises(AssertionError) as info:
        checks.check_coin_laplace(lambda h, t, a0, b0: (coin_laplace(h, t, a0, b0)[0], 0.1))
    assert "wrong: `sigma`; right: `mode`" in str(info.value)
    with pytest.raises(AssertionError) as info:
        checks.check_kl_normal(lambda mq, sq, mp, sp: kl_normal(mq, sq, mp, sp) - 0.1 - mq**2)
    assert "never negative" in str(info.value)


def test_library_functions_pass_the_coin_checks():
    """The exercises use vi_lib's argument order and names: the library's own functions pass."""
    import functools

    from vi_lib.elbo import elbo_beta_coin as lib_elbo_beta_coin
    from vi_lib.elbo import elbo_gaussian_quadrature
    from vi_lib.models import coin

    checks.check_coin_posterior(coin.coin_posterior)
    checks.check_coin_log_evidence(coin.coin_log_evidence)
    checks.check_coin_laplace(functools.partial(coin.coin_laplace, scale="probability"))
    checks.check_elbo_beta_coin(lib_elbo_beta_coin)
    checks.check_elbo_logit_normal(
        lambda mu_q, sigma_q, heads, tails, a0, b0: elbo_gaussian_quadrature(
            lambda eta: coin.coin_log_joint_logit(eta, heads, tails, a0, b0), mu_q, sigma_q))


def test_library_functions_pass_the_other_checks():
    """Where vi_lib has the function a task asks for, it passes the check (it is the reference)."""
    from vi_lib import divergences
    from vi_lib.cavi import cavi_factorized_gaussian
    from vi_lib.elbo import entropy_categorical
    from vi_lib.models import linear_regression as lr

    checks.check_kl_normal(divergences.kl_normal)
    checks.check_kl_mvn_diag(divergences.kl_mvn_diag)
    checks.check_kl_standard_normal(
        lambda mu, sigma: divergences.kl_mvn_diag(mu, sigma, np.zeros_like(mu), np.ones_like(sigma)))
    checks.check_vae_kl(lambda mu, log_var: divergences.kl_mvn_diag(
        mu, np.exp(0.5 * log_var), np.zeros_like(mu), np.ones_like(mu)))
    checks.check_entropy_discrete(entropy_categorical)
    checks.check_cavi_sweep(
        lambda mu, precision, m: cavi_factorized_gaussian(mu, precision, m, max_sweeps=1).mu_q)
    checks.check_blr_posterior(
        lambda X, y, alpha, beta: lr.blr_posterior(X, y, beta**-0.5, alpha**-0.5))
    checks.check_mean_field_blr_variances(
        lambda X, alpha, beta: 1 / np.diag(lr.blr_precision(X, beta**-0.5, alpha**-0.5)))
    for private in ["_ref_coin_posterior", "_ref_coin_log_evidence", "_laplace_pieces",
                    "_hermite_nodes", "_gauss_expectation"]:
        assert not hasattr(checks, private), f"{private}: use the vi_lib function instead"


# ---------------------------------------------------------------------------
# Fragile answers: right on ordinary inputs, wrong where a naive form over- or
# underflows. The message names the cause and the stable function to use.
# ---------------------------------------------------------------------------

def _naive_log_evidence(heads, tails, a0, b0):
    return np.log(special.beta(a0 + heads, b0 + tails) / special.beta(a0, b0))


def _gamma_log_evidence(heads, tails, a0, b0):
    g = special.gamma
    return np.log(g(a0 + heads) * g(b0 + tails) / g(a0 + b0 + heads + tails)
                  * g(a0 + b0) / (g(a0) * g(b0)))


def _naive_elbo_beta_coin(a_q, b_q, heads, tails, a0, b0):
    psi = special.digamma
    e1, e2 = psi(a_q) - psi(a_q + b_q), psi(b_q) - psi(a_q + b_q)
    entropy = (np.log(special.beta(a_q, b_q)) - (a_q - 1) * e1 - (b_q - 1) * e2)
    return (a0 + heads - 1) * e1 + (b0 + tails - 1) * e2 - np.log(special.beta(a0, b0)) + entropy


def _sigmoid_elbo_logit_normal(mu_q, sigma_q, heads, tails, a0, b0):
    x, w = HERMITE_40
    s = special.expit(mu_q + sigma_q * x)
    log_joint = (a0 + heads) * np.log(s) + (b0 + tails) * np.log(1 - s) - special.betaln(a0, b0)
    return w @ log_joint / np.sqrt(2 * np.pi) + 0.5 * np.log(2 * np.pi * np.e * sigma_q**2)


FRAGILE = {
    "check_coin_log_evidence": [(_naive_log_evidence, "scipy.special.betaln"),
                                (_gamma_log_evidence, "Gamma function overflows")],
    "check_kl_normal": [(kl_normal_var_form, "sigma² underflows or overflows"),
                        (kl_normal_textbook, "(sigma_q / sigma_p)²")],
    "check_kl_mvn_diag": [
        (lambda mq, sq, mp, sp: 0.5 * float(np.sum((sq / sp) ** 2 + ((mq - mp) / sp) ** 2 - 1)
                                            - np.log(np.prod(sq**2 / sp**2))),
         "sum the logs instead"),
        (kl_mvn_diag_matrix, "underflows"),
    ],
    "check_kl_standard_normal": [
        (lambda mu, s: 0.5 * float(np.sum(s**2 + mu**2 - 1) - np.log(np.prod(s**2))), "sum the logs"),
        (lambda mu, s: 0.5 * float(np.sum(s**2 + mu**2 - 1 - np.log(s**2))), "2 log sigma"),
    ],
    "check_elbo_monte_carlo": [
        (lambda lj, lq, z: float(np.mean(np.log(np.exp(lj(z)) / np.exp(lq(z))))), "without exponentiating"),
    ],
    "check_elbo_beta_coin": [(_naive_elbo_beta_coin, "scipy.special.betaln")],
    "check_alpha_divergence": [(alpha_divergence_naive, "scipy.special.rel_entr")],
    "check_vae_kl": [
        (lambda mu, lv: -0.5 * np.sum(1 + np.log(np.exp(lv)) - mu**2 - np.exp(lv), axis=1),
         "use log_var itself"),
    ],
    "check_elbo_logit_normal": [(_sigmoid_elbo_logit_normal, "np.logaddexp")],
    # Large inputs for checks whose textbook formula has no fragile form: a function that
    # only works for small inputs is caught.
    "check_coin_posterior": [(lambda h, t, a0, b0: coin_posterior(h, t, a0, b0) if h + t < 500
                              else (np.nan, np.nan), "large counts")],
    "check_coin_laplace": [(lambda h, t, a0, b0: coin_laplace(h, t, a0, b0) if h + t < 500
                            else (0.5, 0.1), "large counts")],
    "check_entropy_discrete": [(lambda p: entropy(p) if len(p) < 1000 else 0.0, "many small")],
    "check_cavi_factor": [(lambda mu, lam, m, j: cavi_factor(mu, lam, m, j) if len(mu) < 100
                           else (0.0, 1.0), "300 coordinates")],
    "check_mean_field_variances": [(lambda c: mean_field_variances(c) if len(c) < 100
                                    else (np.diag(c), np.diag(c)), "200 coordinates")],
    "check_blr_posterior": [(lambda X, y, a, b: blr_posterior(X, y, a, b) if len(X) < 1000
                             else (np.zeros(X.shape[1]), np.eye(X.shape[1])), "2000 observations")],
    "check_mean_field_blr_variances": [(lambda X, a, b: mf_blr_variances(X, a, b) if len(X) < 1000
                                        else np.ones(X.shape[1]), "2000 observations")],
    "check_cavi_sweep": [(lambda mu, lam, m: cavi_sweep(mu, lam, m) if len(mu) < 100 else m.copy(),
                          "300 coordinates")],
    "check_score_function_grad": [(lambda fv, z, mu, s: score_grad(fv, z, mu, s) if len(z) < 10_000
                                   else (0.0, 0.0), "100 000 samples")],
    "check_reparam_grad": [(lambda df, mu, s, e: reparam_grad(df, mu, s, e) if len(e) < 10_000
                            else (0.0, 0.0), "100 000 samples")],
    # the far-away points are ordinary inputs of this check: the naive softmax is a named mistake
    "check_gmm_responsibilities": [(gmm_resp_naive, "logsumexp")],
    "check_expected_log_pi": [(lambda a: expected_log_pi(a) if len(a) < 100 else np.zeros(len(a)),
                               "1000 components")],
    "check_dirichlet_update": [(lambda r, a0: dirichlet_update(r, a0) if len(r) < 10_000
                                else np.full(r.shape[1], a0), "100 000 data points")],
    # chapter 12: log-scales of about ±300 (the product of the scales over/underflows) and
    # log weights at ±1000 (ordinary inputs: naive exp is a named mistake), rows at very
    # different levels (stress: one maximum for the whole array underflows)
    "check_affine_coupling": [
        (lambda z, c: (affine_coupling(z, c)[0],
                       np.log(np.prod(np.exp(c(z[:, :z.shape[1] // 2])[1]), axis=1))),
         "over- or underflows"),
        (lambda z, c: (affine_coupling(z, c)[0],
                       np.log(np.abs(np.linalg.det(np.stack([np.diag(np.exp(s)) for s in
                                                             c(z[:, :z.shape[1] // 2])[1]]))))),
         "sum the log-scales s_j themselves"),
    ],
    "check_iwae_estimate": [
        (lambda lw: np.log(np.mean(np.exp(lw), axis=1)), "scipy.special.logsumexp"),
        (lambda lw: np.max(lw) + np.log(np.mean(np.exp(lw - np.max(lw)), axis=1)),
         "each row's own maximum"),
    ],
}
FRAGILE.update(_FRAGILE_06B)
FRAGILE.update(_FRAGILE_11)


def test_every_check_has_a_fragile_case():
    assert sorted(FRAGILE) == sorted(checks.__all__)


@pytest.mark.parametrize("name,fn,words",
                         [(n, f, w) for n, items in FRAGILE.items() for f, w in items],
                         ids=lambda x: x if isinstance(x, str) and x.startswith("check_") else "")
def test_fragile_answer_is_caught_with_its_cause(name, fn, words):
    with pytest.raises(AssertionError) as info:
        getattr(checks, name)(fn)
    message = " ".join(str(info.value).split())
    assert words in message and "not one of the mistakes" not in message, message


# ---------------------------------------------------------------------------
# Containers, float32, mutation: any container that unpacks into the documented
# outputs passes; single-precision answers pass with a dtype-aware tolerance;
# inputs modified in place are caught only where the task says "update a copy".
# ---------------------------------------------------------------------------

N_OUT = {"check_coin_posterior": 2, "check_coin_laplace": 2, "check_cavi_factor": 2,
         "check_mean_field_variances": 2, "check_score_function_grad": 2,
         "check_reparam_grad": 2, "check_blr_posterior": 2, "check_affine_coupling": 2}


def _container(fn, name):
    """The correct answer in another container: an array for a pair, shape (1,) for a scalar."""
    def wrapped(*args):
        value = fn(*args)
        if N_OUT.get(name, 1) == 2:
            a, b = value
            return [a, b] if np.ndim(a) != np.ndim(b) else np.array([a, b])
        return np.reshape(value, (1,)) if np.ndim(value) == 0 else np.expand_dims(value, -1)
    return wrapped


@pytest.mark.parametrize("name", sorted(CORRECT))
def test_other_containers_pass(name, capsys):
    getattr(checks, name)(_container(CORRECT[name][0], name))
    assert capsys.readouterr().out.startswith("✓ " + name)


def _to32(x):
    if isinstance(x, float) or (isinstance(x, np.ndarray) and x.dtype.kind == "f"):
        return np.float32(x) if isinstance(x, float) else x.astype(np.float32)
    return x


def _float32(fn):
    """The correct answer computed in single precision (as JAX does by default)."""
    def wrapped(*args):
        value = fn(*[_to32(a) for a in args])
        if isinstance(value, (tuple, list)):
            return tuple(np.asarray(v, dtype=np.float32) for v in value)
        return np.asarray(value, dtype=np.float32)
    return wrapped


@pytest.mark.parametrize("name", sorted(CORRECT))
def test_float32_answers_pass(name, capsys):
    fn = _float32(CORRECT[name][0])
    if name == "check_alpha_divergence":
        # its densities underflow in float32 far from their mode (q = 0 where p > 0 makes the
        # KL infinite): the answer is computed in float64 and returned in float32
        fn = lambda *args: np.float32(alpha_divergence(*args))  # noqa: E731
    getattr(checks, name)(fn)
    assert capsys.readouterr().out.startswith("✓ " + name)


def test_float32_tolerance_still_names_mistakes_and_shows_relative_error():
    wrong = _float32(lambda mq, sq, mp, sp: kl_normal(mp, sp, mq, sq))
    with pytest.raises(AssertionError, match="swapped"):
        checks.check_kl_normal(wrong)
    off = lambda mq, sq, mp, sp: kl_normal(mq, sq, mp, sp) * (1 + 3e-6)  # noqa: E731
    with pytest.raises(AssertionError) as info:
        checks.check_kl_normal(off)
    message = str(info.value)
    assert "relative error 3e-06" in message and "double precision" in message
    # enough digits to see the difference
    expected = re.search(r"expected: (\S+)", message).group(1)
    received = re.search(r"received: (\S+)", message).group(1)
    assert expected != received


def test_jax_float32_answer_passes():
    jnp = pytest.importorskip("jax.numpy")

    def kl_jax(mu_q, sigma_q, mu_p, sigma_p):
        return jnp.log(sigma_p / sigma_q) + ((sigma_q / sigma_p) ** 2 + ((mu_q - mu_p) / sigma_p) ** 2) / 2 - 0.5
    checks.check_kl_normal(kl_jax)
    checks.check_vae_kl(lambda mu, lv: -0.5 * jnp.sum(1 + lv - mu**2 - jnp.exp(lv), axis=1))


def _vandal(fn):
    """Compute the right answer, then overwrite every array argument."""
    def wrapped(*args):
        value = fn(*args)
        value = tuple(np.array(v, copy=True) for v in value) if isinstance(value, tuple) else (
            np.array(value, copy=True))
        for a in args:
            if isinstance(a, np.ndarray) and a.dtype.kind == "f":
                a[...] = -1.0
        return value
    return wrapped


@pytest.mark.parametrize("name", sorted(CORRECT))
def test_mutating_inputs(name, capsys):
    """Checks pass copies, so mutation does not matter, except where the task says "update a copy"."""
    if name == "check_cavi_sweep":
        with pytest.raises(AssertionError, match="in place"):
            checks.check_cavi_sweep(cavi_sweep_inplace)
        with pytest.raises(AssertionError, match="in place"):
            checks.check_cavi_sweep(_vandal(cavi_sweep))
    elif name == "check_svi_dirichlet_step":   # the task says: leave `alpha` unchanged
        with pytest.raises(AssertionError, match="changed its input `alpha` in place"):
            checks.check_svi_dirichlet_step(_vandal(CORRECT[name][0]))
    else:
        getattr(checks, name)(_vandal(CORRECT[name][0]))
        assert capsys.readouterr().out.startswith("✓ " + name)


# ---------------------------------------------------------------------------
# Named slips of issue 16, helpers, delegation, messages, summary and hints
# ---------------------------------------------------------------------------

def test_score_function_baseline_is_accepted_with_a_note(capsys):
    def with_baseline(f_values, z, mu, sigma):
        return score_grad(f_values - np.mean(f_values), z, mu, sigma)
    checks.check_score_function_grad(with_baseline)
    out = capsys.readouterr().out
    assert out.startswith("✓") and "baseline" in out and "variance" in out


def test_sweep_with_a_broken_helper_says_fix_the_helper_first():
    namespace = {"np": np}
    exec("def cavi_factor(mu, precision, m, j):\n    raise NotImplementedError\n"
         "def cavi_sweep(mu, precision, m):\n    m = m.copy()\n"
         "    for j in range(len(m)):\n        m[j] = cavi_factor(mu, precision, m, j)[0]\n"
         "    return m\n", namespace)
    with pytest.raises(AssertionError, match="fix `cavi_factor` first"):
        checks.check_cavi_sweep(namespace["cavi_sweep"])
    namespace["cavi_factor"] = lambda mu, precision, m, j: (0.0, 1.0)   # wrong, not unfinished
    namespace["cavi_sweep"].__globals__["cavi_factor"] = namespace["cavi_factor"]
    with pytest.raises(AssertionError, match="fix `cavi_factor` first"):
        checks.check_cavi_sweep(namespace["cavi_sweep"])


def test_delegation_is_detected_only_in_grading_mode(monkeypatch, capsys):
    from vi_lib import divergences
    checks.check_kl_normal(divergences.kl_normal)              # self-study: fine
    monkeypatch.setenv("VI_LIB_CHECKS_GRADING", "1")
    with pytest.raises(AssertionError, match="vi_lib.divergences.kl_normal"):
        checks.check_kl_normal(lambda *args: float(divergences.kl_normal(*args)))
    checks.check_kl_normal(kl_normal)                           # own code passes when graded


def test_iwae_delegation_is_detected_only_in_grading_mode(monkeypatch, capsys):
    from vi_lib.bounds import iwae_from_log_weights

    def delegating(log_w):
        return iwae_from_log_weights(log_w, log_w.shape[1])
    checks.check_iwae_estimate(delegating)                     # self-study: fine
    monkeypatch.setenv("VI_LIB_CHECKS_GRADING", "1")
    with pytest.raises(AssertionError, match="vi_lib.bounds.iwae_from_log_weights"):
        checks.check_iwae_estimate(delegating)
    checks.check_iwae_estimate(iwae_estimate)                   # own code passes when graded


def test_message_has_no_check_machinery_in_ipython_rendering():
    with pytest.raises(checks.CheckFailed) as info:
        checks.check_kl_normal(lambda *args: 1 / 0)
    lines = info.value._render_traceback_()
    text = "\n".join(lines)
    assert text.startswith("CheckFailed: check_kl_normal: your function raised ZeroDivisionError")
    assert "_core.py" not in text and "vi_lib" not in text
    assert "test_checks.py" in text    # the student's own frame is shown


def test_student_facing_text_names_no_internal_seed():
    import inspect

    import vi_lib.checks as package
    for module in [package.recap, package.kl, package.elbo, package.mean_field, package.alpha,
                   package.gradients, package.worked_examples]:
        assert "seed 0" not in inspect.getsource(module)
    for text in [h for hints in checks.HINTS.values() for h in hints]:
        assert "seed" not in text


def test_laplace_mode_formula_is_not_given_away():
    def mean_not_mode(h, t, a0, b0):
        return (a0 + h) / (a0 + b0 + h + t), coin_laplace(h, t, a0, b0)[1]
    with pytest.raises(AssertionError) as info:
        checks.check_coin_laplace(mean_not_mode)
    headline = " ".join(str(info.value).split("for example")[0].split())
    assert "mode" in headline and "- 1" not in headline and "n - 2" not in headline


def test_grid_inputs_are_described_not_dumped():
    with pytest.raises(AssertionError) as info:
        checks.check_alpha_divergence(lambda p, q, dx, a: alpha_divergence(p, q, dx, a) + 0.1)
    message = str(info.value)
    assert "on [-12, 12], 1201 points" in message and message.count("\n") < 8


def test_summary_lists_pass_fail_and_not_attempted(capsys):
    checks.check_kl_normal(kl_normal)
    with pytest.raises(AssertionError):
        checks.check_kl_mvn_diag(lambda mq, sq, mp, sp: kl_mvn_diag(mp, sp, mq, sq))
    checks.RESULTS.pop("check_kl_standard_normal", None)
    capsys.readouterr()
    status = checks.summary(["kl_normal", "kl_mvn_diag", "kl_standard_normal"])
    out = capsys.readouterr().out
    assert status == {"kl_normal": "pass", "kl_mvn_diag": "fail",
                      "kl_standard_normal": "not attempted"}
    assert "1 of 3 tasks pass" in out and "✗ kl_mvn_diag: the arguments are swapped" in out


def test_stub_counts_as_not_attempted(capsys):
    with pytest.raises(AssertionError):
        checks.check_vae_kl(stub)
    assert checks.summary(["vae_kl"]) == {"vae_kl": "not attempted"}


@pytest.mark.parametrize("name", sorted(CORRECT))
def test_every_task_has_progressive_hints(name, capsys):
    task = name[len("check_"):]
    hints = checks.HINTS[task]
    assert len(hints) >= 2 and len(set(hints)) == len(hints)
    checks._progress._HINTS_GIVEN.pop(task, None)
    checks.hint(task)
    first = capsys.readouterr().out
    checks.hint(name)
    second = capsys.readouterr().out
    assert hints[0] in " ".join(first.split()) or hints[0][:40] in first
    assert first != second and "Hint 2" in second


def _hermgauss_elbo(mu_q, sigma_q, heads, tails, a0, b0, normalise=True, scale=True):
    x, w = np.polynomial.hermite.hermgauss(40)
    eta = mu_q + (np.sqrt(2) if scale else 1.0) * sigma_q * x
    expected = w @ _log_joint_logit(eta, heads, tails, a0, b0) / (np.sqrt(np.pi) if normalise else 1.0)
    return expected + 0.5 * np.log(2 * np.pi * np.e * sigma_q**2)


def _sweep_skipping(first):
    def sweep(mu, precision, m):
        m = np.array(m, dtype=float)
        for j in range(1, len(m)) if first else range(len(m) - 1):
            m[j] = cavi_factor(mu, precision, m, j)[0]
        return m
    return sweep


def _blr_no_identity(X, y, alpha, beta):
    cov = np.linalg.inv(alpha + beta * X.T @ X)
    return beta * cov @ X.T @ y, cov


NAMED_SLIPS = [
    ("check_elbo_logit_normal", lambda *a: _hermgauss_elbo(*a, normalise=False), "hermgauss"),
    ("check_elbo_logit_normal",
     lambda m, s, h, t, a0, b0: (elbo_logit_normal(m, s, h, t, a0, b0) - 0.5 * np.log(2 * np.pi * np.e * s**2))
     * np.sqrt(2 * np.pi) + 0.5 * np.log(2 * np.pi * np.e * s**2), "hermegauss"),
    ("check_elbo_logit_normal", lambda *a: _hermgauss_elbo(*a, scale=False), "nodes are not scaled"),
    ("check_cavi_sweep", _sweep_skipping(first=False), "skipped the last coordinate"),
    ("check_cavi_sweep", _sweep_skipping(first=True), "skipped the first coordinate"),
    ("check_blr_posterior", _blr_no_identity, "alpha·I"),
    ("check_elbo_beta_coin",
     lambda aq, bq, h, t, a0, b0: elbo_beta_coin(aq, bq, h, t, a0 + 1, b0 + 1)
     + special.betaln(a0 + 1, b0 + 1) - special.betaln(a0, b0), "the -1 in the exponents is missing"),
]


@pytest.mark.parametrize("name,fn,words", NAMED_SLIPS, ids=[w for _, _, w in NAMED_SLIPS])
def test_more_slips_are_named(name, fn, words):
    with pytest.raises(AssertionError) as info:
        getattr(checks, name)(fn)
    message = " ".join(str(info.value).split())
    assert words in message and "not one of the mistakes" not in message, message
