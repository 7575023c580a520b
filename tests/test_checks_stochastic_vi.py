"""vi_lib.checks.stochastic_vi: the checks of exercises 06b accept right answers, name the slips.

CORRECT and WRONG follow the catalogue of tests/test_checks.py (which imports them, so that
its robustness suites -- stub, odd return values, exceptions -- cover these checks too).
The expected answers here are written independently of vi_lib.checks: the Dirichlet step is
compared with the alpha that vi_lib.svi.svi_gmm produces after one step, the schedule with
vi_lib.svi.step_sizes.
"""

import math

import numpy as np
import pytest

from vi_lib import checks, svi
from vi_lib.cavi import gmm_local_update


# ---------------------------------------------------------------- correct answers
def dirichlet_step(alpha, resp, n_data, alpha0, rho):
    alpha_hat = alpha0 + n_data / len(resp) * np.sum(resp, axis=0)
    return (1 - rho) * alpha + rho * alpha_hat


def dirichlet_step_natural(alpha, resp, n_data, alpha0, rho):
    # blend the natural parameters eta = alpha - 1 literally, then convert back
    eta = np.asarray(alpha) - 1.0
    eta_hat = (alpha0 - 1.0) + (n_data / resp.shape[0]) * resp.sum(axis=0)
    return (1 - rho) * eta + rho * eta_hat + 1.0


def dirichlet_step_gradient(alpha, resp, n_data, alpha0, rho):
    # a step of size rho along the natural gradient alpha_hat - alpha
    alpha = np.array(alpha, dtype=float)
    return alpha + rho * (alpha0 + n_data * resp.mean(axis=0) - alpha)


def dirichlet_step_float32(alpha, resp, n_data, alpha0, rho):
    return dirichlet_step(alpha, resp, n_data, alpha0, rho).astype(np.float32)


def dirichlet_step_list(alpha, resp, n_data, alpha0, rho):
    return [float(a) for a in dirichlet_step(alpha, resp, n_data, alpha0, rho)]


def step_sizes(num_steps, tau, kappa):
    if not 0.5 < kappa <= 1:
        raise ValueError(f"kappa must be in (0.5, 1], got {kappa}")
    if tau < 0:
        raise ValueError(f"tau must be >= 0, got {tau}")
    return (np.arange(1, num_steps + 1, dtype=float) + tau) ** (-kappa)


def step_sizes_loop(num_steps, tau, kappa):
    if kappa <= 0.5 or kappa > 1:
        raise ValueError("kappa outside (0.5, 1]")
    if tau < 0:
        raise ValueError("tau < 0")
    return [math.pow(t + tau, -kappa) for t in range(1, num_steps + 1)]


def step_sizes_float32(num_steps, tau, kappa):
    return np.asarray(step_sizes(num_steps, tau, kappa), dtype=np.float32)


CORRECT = {
    "check_svi_dirichlet_step": [dirichlet_step, dirichlet_step_natural, dirichlet_step_gradient,
                                 dirichlet_step_float32, dirichlet_step_list],
    "check_svi_step_sizes": [step_sizes, step_sizes_loop, step_sizes_float32],
}


# ---------------------------------------------------------------- wrong answers
def _hat(resp, n, a0):
    return a0 + n / len(resp) * np.sum(resp, axis=0)


def _in_place(alpha, resp, n, a0, rho):
    alpha *= 1 - rho
    alpha += rho * _hat(resp, n, a0)
    return alpha


def _weights(alpha, resp, n, a0, rho):
    h = _hat(resp, n, a0)
    return (1 - rho) * alpha / alpha.sum() + rho * h / h.sum()


def _no_validation(n, tau, kappa):
    return (np.arange(1, n + 1, dtype=float) + tau) ** (-kappa)


def _validates(kappa_ok, tau_ok=lambda tau: tau >= 0, exc=ValueError):
    def fn(n, tau, kappa):
        if not kappa_ok(kappa) or not tau_ok(tau):
            raise exc("bad schedule")
        return _no_validation(n, tau, kappa)
    return fn


def _validated(formula):
    """A (wrong) formula behind correct validation."""
    def fn(n, tau, kappa):
        if not 0.5 < kappa <= 1 or tau < 0:
            raise ValueError("bad schedule")
        return formula(n, tau, kappa)
    return fn


def _asserts(n, tau, kappa):
    assert 0.5 < kappa <= 1 and tau >= 0
    return _no_validation(n, tau, kappa)


WRONG = {
    "check_svi_dirichlet_step": [
        (lambda a, r, n, a0, rho: (1 - rho) * a + rho * (a0 + r.sum(0)), "not scaled by N/B"),
        (lambda a, r, n, a0, rho: (1 - rho) * a + rho * (a0 + r.mean(0)),
         "averaged the responsibilities"),
        (lambda a, r, n, a0, rho: (1 - rho) * a + rho * (a0 + n * r.sum(0)), "without dividing by B"),
        (lambda a, r, n, a0, rho: (1 - rho) * a + rho * (a0 + len(r) / n * r.sum(0)), "inverted"),
        (lambda a, r, n, a0, rho: (1 - rho) * a + rho * n / len(r) * (a0 + r.sum(0)), "added once"),
        (lambda a, r, n, a0, rho: (1 - rho) * a + rho * n / len(r) * r.sum(0), "prior α0 is missing"),
        (lambda a, r, n, a0, rho: rho * a + (1 - rho) * _hat(r, n, a0), "swapped"),
        (lambda a, r, n, a0, rho: _hat(r, n, a0), "without blending"),
        (_weights, "normalised weights α/Σα (mean parameters E[π]) and returned them"),
        (lambda a, r, n, a0, rho: _weights(a, r, n, a0, rho)
         * ((1 - rho) * a.sum() + rho * _hat(r, n, a0).sum()), "rescaled them by a total"),
        (lambda a, r, n, a0, rho: _weights(a, r, n, a0, rho) * a.sum(), "by the old total"),
        (lambda a, r, n, a0, rho: a ** (1 - rho) * _hat(r, n, a0) ** rho, "blended log α"),
        (lambda a, r, n, a0, rho: (1 - rho) * (a - 1) + rho * (_hat(r, n, a0) - 1), "add 1 back"),
        (lambda a, r, n, a0, rho: (1 - rho) * a + rho * (_hat(r, n, a0) - 1),
         "α (a concentration) blended with α̂ − 1"),
        (lambda a, r, n, a0, rho: (1 - rho) * (a - 1) + rho * _hat(r, n, a0),
         "α − 1 (a natural parameter) blended with α̂"),
        (_in_place, "changed its input `alpha` in place"),
        (lambda a, r, n, a0, rho: dirichlet_step(a, r, n, a0, rho) * 1.01, "wrong value"),
        # forgot to sum over the batch: one row per point, shape (B, K)
        (lambda a, r, n, a0, rho: (1 - rho) * a + rho * (a0 + n / len(r) * r), "wrong shape"),
    ],
    "check_svi_step_sizes": [
        (lambda n, tau, kappa: np.full(n, (1 + tau) ** (-kappa)), "does not decay"),
        (lambda n, tau, kappa: np.full(n, 0.1), "does not decay"),
        (_validated(lambda n, tau, kappa: np.arange(1, n + 1) ** (-kappa)), "t₀ is missing"),
        (_validated(lambda n, tau, kappa: (np.arange(n) + tau) ** (-kappa)), "t starts at 1"),
        (lambda n, tau, kappa: (np.arange(1, n + 1) + tau) ** kappa, "sign of the exponent"),
        (lambda n, tau, kappa: (np.arange(1, n + 1) + tau) ** (-1 / kappa), "not −1/κ"),
        (lambda n, tau, kappa: np.arange(1, n + 1) ** (-kappa) + tau, "added after the power"),
        (lambda n, tau, kappa: (np.arange(1, n + 1) * tau) ** (-kappa), "multiplied t by t₀"),
        (lambda n, tau, kappa: (np.arange(n + 1) + tau) ** (-kappa), "one too many"),
        (_no_validation, "κ = 0.5 must be rejected"),
        (_validates(lambda k: 0.5 <= k <= 1), "κ = 0.5 must be rejected"),
        (_validates(lambda k: k > 0.5), "κ = 1.2 must be rejected"),
        (_validates(lambda k: 0.5 < k <= 1, lambda t: True), "t₀ = -1 must be rejected"),
        (_validates(lambda k: 0.5 < k < 1), "κ = 1 is allowed"),
        (_validates(lambda k: 0.5 < k <= 1, lambda t: t > 0), "t₀ = 0 is allowed"),
        (_validates(lambda k: 0.6 <= k <= 1), "κ = 0.51 is allowed"),
        (_asserts, "raised AssertionError"),
        (_validates(lambda k: 0.5 < k <= 1, exc=TypeError), "raise a ValueError"),
        (lambda n, tau, kappa: step_sizes(n, tau, kappa) * 1.01, "wrong value"),
    ],
}


# ---------------------------------------------------------------- fragile answers
def _step_sizes_int_power(num_steps, tau, kappa):
    # right for float arguments; for tau=0, kappa=1 (ints) NumPy refuses t ** -1 on integers
    if not 0.5 < kappa <= 1 or tau < 0:
        raise ValueError("kappa must be in (0.5, 1] and tau >= 0")
    return (np.arange(1, num_steps + 1) + tau) ** (-kappa)


FRAGILE = {
    # no over/underflowing textbook form: a function that only works on small batches is caught
    "check_svi_dirichlet_step": [
        (lambda a, r, n, a0, rho: dirichlet_step(a, r, n, a0, rho) if len(r) < 10_000
         else np.asarray(a, dtype=float), "100 000 points"),
    ],
    "check_svi_step_sizes": [(_step_sizes_int_power, "negative integer powers")],
}


def stub(*args):
    raise NotImplementedError("write your code here")


# ---------------------------------------------------------------- tests
def test_every_check_of_the_module_is_catalogued():
    from vi_lib.checks import stochastic_vi
    assert sorted(CORRECT) == sorted(WRONG) == sorted(FRAGILE) == sorted(stochastic_vi.__all__)
    assert sorted(stochastic_vi.HINTS) == sorted(n[len("check_"):] for n in stochastic_vi.__all__)


@pytest.mark.parametrize("name,fn", [(n, f) for n, fs in CORRECT.items() for f in fs],
                         ids=lambda x: x if isinstance(x, str) else x.__name__)
def test_correct_answer_passes(name, fn, capsys):
    assert getattr(checks, name)(fn) is None
    out = capsys.readouterr().out
    assert out.startswith("✓ " + name) and out.count("\n") == 1, out


@pytest.mark.parametrize("name,fn,words",
                         [(n, f, w) for n, items in WRONG.items() for f, w in items],
                         ids=lambda x: x if isinstance(x, str) and not x.startswith(" ") else "")
def test_wrong_answer_is_named(name, fn, words, capsys):
    with pytest.raises(AssertionError) as info:
        getattr(checks, name)(fn)
    message = " ".join(str(info.value).split())   # headlines are wrapped
    assert message.startswith(name + ":"), message
    assert words in message, message
    assert "✓" not in capsys.readouterr().out      # no success line before the verdict


@pytest.mark.parametrize("name", sorted(CORRECT))
def test_stub_is_not_implemented_yet(name):
    with pytest.raises(AssertionError, match="not implemented yet"):
        getattr(checks, name)(stub)


def test_in_place_update_is_named_even_when_the_value_is_right():
    # _in_place returns the right numbers (the check passes it copies), only the mutation is wrong
    rng = np.random.default_rng(0)
    alpha, resp = rng.uniform(1, 5, 3), rng.dirichlet(np.ones(3), size=4)
    np.testing.assert_allclose(_in_place(alpha.copy(), resp, 40, 0.5, 0.3),
                               dirichlet_step(alpha, resp, 40, 0.5, 0.3))
    with pytest.raises(checks.CheckFailed, match="in place"):
        checks.check_svi_dirichlet_step(_in_place)


def test_dirichlet_step_agrees_with_svi_gmm():
    """The step the check expects is the alpha that vi_lib.svi.svi_gmm takes (tau > 0: a real blend)."""
    prior = dict(alpha0=0.05, beta0=1.0, m0=np.zeros(2), nu0=3.0, W0=np.eye(2))
    rng = np.random.default_rng(4)
    x = np.array([[-3.0, 0.0], [3.0, 0.0], [0.0, 3.0]])[rng.integers(0, 3, 3000)] \
        + 0.6 * rng.standard_normal((3000, 2))
    start = svi.svi_gmm_init(x[:120], 3, n_data=3000, seed=0, **prior)
    tau, kappa, b = 2.0, 0.6, 120
    fit = svi.svi_gmm(x, 3, batch_size=b, num_steps=1, tau=tau, kappa=kappa, seed=9, init=start,
                      **prior)
    batch = x[svi.minibatch_indices(np.random.default_rng(9), 3000, b)]
    resp = gmm_local_update(batch, *start).resp
    rho = (1 + tau) ** (-kappa)
    expected = dirichlet_step(start.alpha, resp, 3000, prior["alpha0"], rho)
    np.testing.assert_allclose(fit.alpha, expected, rtol=1e-12)
    assert not np.allclose(fit.alpha, start.alpha, rtol=1e-3)   # the step moved alpha
    # and the check accepts the step that svi_gmm takes, as a function
    checks.check_svi_dirichlet_step(dirichlet_step)


def test_library_schedule_passes_its_check(capsys):
    checks.check_svi_step_sizes(lambda n, tau, kappa: svi.step_sizes(n, tau=tau, kappa=kappa))
    assert capsys.readouterr().out.startswith("✓ check_svi_step_sizes")


def test_calling_the_library_schedule_fails_only_when_graded(monkeypatch):
    monkeypatch.setenv("VI_LIB_CHECKS_GRADING", "1")
    with pytest.raises(AssertionError, match="vi_lib.svi.step_sizes"):
        checks.check_svi_step_sizes(lambda n, tau, kappa: svi.step_sizes(n, tau=tau, kappa=kappa))
    checks.check_svi_step_sizes(step_sizes)                  # own code passes when graded


def test_vandalised_alpha_is_caught_but_vandalised_resp_is_not(capsys):
    def vandal_alpha(alpha, resp, n_data, alpha0, rho):
        value = dirichlet_step(alpha, resp, n_data, alpha0, rho)
        alpha[:] = -1.0
        return value
    with pytest.raises(checks.CheckFailed, match="changed its input `alpha` in place"):
        checks.check_svi_dirichlet_step(vandal_alpha)


def test_inputs_are_not_changed_by_the_check():
    # a student's function that vandalises resp must not change what later cases see
    def vandal(alpha, resp, n_data, alpha0, rho):
        value = dirichlet_step(alpha, resp, n_data, alpha0, rho)
        resp[:] = np.nan
        return value
    checks.check_svi_dirichlet_step(vandal)
    checks.check_svi_dirichlet_step(dirichlet_step)
