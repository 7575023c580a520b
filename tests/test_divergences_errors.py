"""Bad input to vi_lib.divergences: clear errors naming the argument, never a silent NaN."""

import math
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from vi_lib import divergences as dv

EYE = np.eye(2)
COV = np.array([[2.0, 0.3], [0.3, 1.0]])

# function -> (valid keyword arguments, kind of each argument)
SIGNATURES = {
    dv.kl_normal: dict(mu_q=(0.1, "loc"), sigma_q=(1.0, "scale"),
                       mu_p=(0.5, "loc"), sigma_p=(2.0, "scale")),
    dv.kl_mvn_diag: dict(mu_q=(np.zeros(2), "loc"), sigma_q=(np.ones(2), "scale"),
                         mu_p=(np.ones(2), "loc"), sigma_p=(np.full(2, 2.0), "scale")),
    dv.alpha_divergence_normal: dict(alpha=(0.5, "real"), mu_p=(0.1, "loc"),
                                     sigma_p=(1.0, "scale"), mu_q=(0.5, "loc"),
                                     sigma_q=(2.0, "scale")),
    dv.renyi_divergence_normal: dict(order=(0.5, "real"), mu_p=(0.1, "loc"),
                                     sigma_p=(1.0, "scale"), mu_q=(0.5, "loc"),
                                     sigma_q=(2.0, "scale")),
    dv.hellinger_normal: dict(mu_p=(0.1, "loc"), sigma_p=(1.0, "scale"),
                              mu_q=(0.5, "loc"), sigma_q=(2.0, "scale")),
    dv.kl_mvn: dict(mu_q=(np.zeros(2), "loc"), cov_q=(COV, "cov"),
                    mu_p=(np.ones(2), "loc"), cov_p=(EYE, "cov")),
    dv.alpha_divergence_mvn: dict(alpha=(0.5, "real"), mu_p=(np.zeros(2), "loc"),
                                  cov_p=(COV, "cov"), mu_q=(np.ones(2), "loc"),
                                  cov_q=(EYE, "cov")),
    dv.renyi_divergence_mvn: dict(order=(0.5, "real"), mu_p=(np.zeros(2), "loc"),
                                  cov_p=(COV, "cov"), mu_q=(np.ones(2), "loc"),
                                  cov_q=(EYE, "cov")),
}

BAD_VALUES = {
    "loc": [np.nan, np.inf, -np.inf],
    "scale": [-1.0, 0.0, np.nan, np.inf, -np.inf],
    "real": [np.nan, np.inf, -np.inf],
    "cov": [np.array([[1.0, 0.5], [0.0, 1.0]]),        # not symmetric
            np.array([[1.0, 2.0], [2.0, 1.0]]),        # indefinite
            np.array([[1.0, 0.0], [0.0, 0.0]]),        # singular
            np.array([[np.nan, 0.0], [0.0, 1.0]]),     # NaN
            np.array([[np.inf, 0.0], [0.0, 1.0]]),     # inf
            np.ones((2, 3)),                           # not square
            np.eye(3)],                                # wrong dimension
}


def _valid(func):
    return {k: v for k, (v, _) in SIGNATURES[func].items()}


def _cases():
    for func, sig in SIGNATURES.items():
        for name, (value, kind) in sig.items():
            for bad in BAD_VALUES[kind]:
                if kind in ("loc", "scale") and np.ndim(value) == 1:
                    bad = np.array([1.0, bad]) if kind == "scale" else np.array([0.0, bad])
                yield pytest.param(func, name, bad, id=f"{func.__name__}-{name}-{_short(bad)}")


def _short(x):
    x = np.asarray(x)
    return str(x.tolist()).replace(" ", "") if x.size <= 2 else f"shape{x.shape}"


@pytest.mark.parametrize("func, name, bad", list(_cases()))
def test_value_error_names_the_argument(func, name, bad):
    kwargs = _valid(func)
    assert np.all(np.isfinite(func(**kwargs)))
    kwargs[name] = bad
    with pytest.raises(ValueError) as info:
        func(**kwargs)
    assert name in str(info.value)


@pytest.mark.parametrize("func", list(SIGNATURES))
@pytest.mark.parametrize("bad", ["1.0", None, 1j, [1.0, "a"], True, object()])
def test_type_error_for_non_numeric(func, bad):
    for name in SIGNATURES[func]:
        kwargs = _valid(func)
        kwargs[name] = bad
        with pytest.raises(TypeError) as info:
            func(**kwargs)
        assert name in str(info.value)


def test_messages_read_well():
    with pytest.raises(ValueError, match=r"^sigma_q must be > 0, got -1\.0$"):
        dv.kl_normal(0.0, -1.0, 0.0, 1.0)
    with pytest.raises(ValueError, match=r"^sigma_p must be finite and > 0, got nan$"):
        dv.kl_normal(0.0, 1.0, 0.0, np.nan)
    with pytest.raises(ValueError, match=r"^mu_p must be finite, got inf$"):
        dv.kl_normal(0.0, 1.0, np.inf, 1.0)
    with pytest.raises(ValueError, match=r"^alpha must be finite, got nan$"):
        dv.alpha_divergence_normal(np.nan, 0.0, 1.0, 0.0, 1.0)
    with pytest.raises(ValueError, match=r"^order must be >= 0, got -0\.5$"):
        dv.renyi_divergence_normal(-0.5, 0.0, 1.0, 0.0, 1.0)
    with pytest.raises(ValueError, match=r"^cov_q must be symmetric$"):
        dv.kl_mvn(np.zeros(2), [[1.0, 0.5], [0.0, 1.0]], np.zeros(2), EYE)
    with pytest.raises(ValueError, match=r"^cov_p must be positive definite$"):
        dv.kl_mvn(np.zeros(2), EYE, np.zeros(2), [[1.0, 2.0], [2.0, 1.0]])


@pytest.mark.parametrize("func, kwargs", [
    (dv.kl_normal, dict(mu_q=np.zeros(3), sigma_q=np.ones(2), mu_p=0.0, sigma_p=1.0)),
    (dv.kl_mvn_diag, dict(mu_q=np.zeros(3), sigma_q=np.ones(2), mu_p=0.0, sigma_p=1.0)),
    (dv.alpha_divergence_normal, dict(alpha=np.zeros(4), mu_p=0.0, sigma_p=np.ones(3),
                                      mu_q=0.0, sigma_q=1.0)),
    (dv.hellinger_normal, dict(mu_p=np.zeros(3), sigma_p=np.ones(2), mu_q=0.0, sigma_q=1.0)),
    (dv.kl_mvn, dict(mu_q=np.zeros((3, 2)), cov_q=np.stack([EYE] * 4), mu_p=np.zeros(2),
                     cov_p=EYE)),
    (dv.alpha_divergence_mvn, dict(alpha=np.zeros(5), mu_p=np.zeros((3, 2)), cov_p=EYE,
                                   mu_q=np.zeros(2), cov_q=EYE)),
    (dv.renyi_divergence_mvn, dict(order=np.ones(5), mu_p=np.zeros((3, 2)), cov_p=EYE,
                                   mu_q=np.zeros(2), cov_q=EYE)),
])
def test_shapes_that_do_not_broadcast(func, kwargs):
    with pytest.raises(ValueError, match="broadcast"):
        func(**kwargs)


def test_mvn_dimension_mismatch_names_argument():
    with pytest.raises(ValueError, match="mu_q"):
        dv.kl_mvn(np.zeros(3), EYE, np.zeros(2), EYE)
    with pytest.raises(ValueError, match="cov_q"):
        dv.kl_mvn(np.zeros(2), np.eye(3), np.zeros(2), EYE)


def test_alpha_divergence_quad_errors():
    lp = stats.norm().logpdf
    with pytest.raises(ValueError, match="alpha must be finite"):
        dv.alpha_divergence(np.inf, lp, lp)
    with pytest.raises(TypeError, match="alpha"):
        dv.alpha_divergence("0.5", lp, lp)
    with pytest.raises(TypeError, match="log_p must be callable"):
        dv.alpha_divergence(0.5, 1.0, lp)
    with pytest.raises(TypeError, match="log_q must be callable"):
        dv.alpha_divergence(0.5, lp, None)
    with pytest.raises(ValueError, match="lower must be < upper"):
        dv.alpha_divergence(0.5, lp, lp, 1.0, 0.0)
    with pytest.raises(ValueError, match="upper must not be NaN"):
        dv.alpha_divergence(0.5, lp, lp, 0.0, np.nan)


def test_kl_mvn_diag_needs_a_last_axis():
    with pytest.raises(ValueError, match="d >= 1"):
        dv.kl_mvn_diag(0.0, 1.0, 0.0, 1.0)


# --------------------------------------------------------------------------- never NaN

finite = st.floats(-1e300, 1e300)
positive = st.floats(1e-300, 1e300)
alphas = st.floats(-10, 10)


@settings(max_examples=150, deadline=None)
@given(alphas, finite, positive, finite, positive)
def test_no_nan_for_valid_finite_input(alpha, mu_p, s_p, mu_q, s_q):
    with warnings.catch_warnings():
        warnings.simplefilter("error")   # no RuntimeWarning leaks out to the reader either
        values = [
            dv.kl_normal(mu_q, s_q, mu_p, s_p),
            dv.kl_mvn_diag([mu_q], [s_q], [mu_p], [s_p]),
            dv.alpha_divergence_normal(alpha, mu_p, s_p, mu_q, s_q),
            dv.renyi_divergence_normal(abs(alpha), mu_p, s_p, mu_q, s_q),
            dv.hellinger_normal(mu_p, s_p, mu_q, s_q),
        ]
    for v in values:
        assert not math.isnan(v) and v >= 0
    assert values[4] <= 1.0


@settings(max_examples=60, deadline=None)
@given(alphas, st.integers(0, 2**32 - 1), st.floats(-30, 30))
def test_no_nan_mvn(alpha, seed, log_scale):
    rng = np.random.default_rng(seed)
    a, b = rng.normal(size=(2, 3, 3))
    cov_p = a @ a.T + 0.1 * np.eye(3)
    cov_q = (b @ b.T + 0.1 * np.eye(3)) * math.exp(log_scale)
    mu_p, mu_q = rng.normal(size=(2, 3)) * 10
    for v in (dv.kl_mvn(mu_q, cov_q, mu_p, cov_p),
              dv.alpha_divergence_mvn(alpha, mu_p, cov_p, mu_q, cov_q),
              dv.renyi_divergence_mvn(abs(alpha), mu_p, cov_p, mu_q, cov_q)):
        assert not math.isnan(v) and v >= 0
