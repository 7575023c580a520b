"""Unit tests for vi_lib.divergences (placeholder; extended by issue 3)."""

import numpy as np
from scipy import integrate, stats

import vi_lib


def test_kl_normal_matches_quadrature():
    mu_q, s_q, mu_p, s_p = 0.3, 0.7, -1.1, 1.9
    q, p = stats.norm(mu_q, s_q), stats.norm(mu_p, s_p)
    ref, _ = integrate.quad(lambda x: q.pdf(x) * (q.logpdf(x) - p.logpdf(x)), -np.inf, np.inf)
    np.testing.assert_allclose(vi_lib.kl_normal(mu_q, s_q, mu_p, s_p), ref, rtol=1e-9)
