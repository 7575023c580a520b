"""Checks for exercises 06b: stochastic VI (the Dirichlet step, the step-size schedule).

The SVI step for q(π) = Dir(α) of the Bayesian mixture (Hoffman et al. 2013, eqs 25–26):
with a minibatch of B responsibilities r_nk drawn from N data points,

    α̂_k = α0 + (N / B) Σ_{n ∈ batch} r_nk,        α_new = (1 − ρ) α + ρ α̂,

the convex combination of the natural parameters α − 1 and α̂ − 1 (the same line, since the
weights 1 − ρ and ρ sum to 1). The schedule is ρ_t = (t + t₀)^(−κ), t = 1, 2, …, with t₀ ≥ 0
and κ ∈ (0.5, 1] (Robbins & Monro 1951; Hoffman et al. 2013, eq. 35); the reference is
:func:`vi_lib.svi.step_sizes`. The library has no function for the Dirichlet step alone
(:func:`vi_lib.svi.svi_gmm` does it inside each step), so its reference is written here
and tested against ``svi_gmm`` in ``tests/test_checks_stochastic_vi.py``.

Following the package's conventions (``README.md``): the Dirichlet step must leave ``alpha``
unchanged (``unchanged=["alpha"]``) and must work on a large minibatch (the step has no
over- or underflowing textbook form: in double precision even the literal round trip
α − 1, blend, + 1 is off by about 1e-16 in absolute terms); the schedule must work for
integer arguments (NumPy refuses integers to negative integer powers) and, when graded,
must not call :func:`vi_lib.svi.step_sizes`.
"""

from __future__ import annotations

import contextlib
import io
import warnings

import numpy as np

from ._core import CheckFailed, Labelled, Mistake, Stress, run_check, seeded_rng, student_check, wrap

__all__ = ["check_svi_dirichlet_step", "check_svi_step_sizes"]

HINTS = {   # progressive hints for vi_lib.checks.hint(task): a nudge, then a stronger one
    "svi_dirichlet_step": (
        "Two stages: first the intermediate parameter α̂, computed as if the minibatch, "
        "repeated until it is as large as the whole data set, were all the data; then a step "
        "of size ρ from the current α towards α̂.",
        "In α̂ only the batch counts Σ_n r_nk (a sum over the batch, axis 0) are scaled up to "
        "the data set; the prior α0 is added once. The step blends natural parameters with "
        "weights 1 − ρ and ρ, and because these weights sum to 1 the concentrations themselves "
        "can be blended. Build the result in a new array: do not update `alpha` in place.",
    ),
    "svi_step_sizes": (
        "Build the array of step numbers t = 1, …, num_steps first (np.arange), then apply "
        "the schedule to all of them at once.",
        "Validate before computing: raise ValueError for κ outside (0.5, 1] (open at 0.5, "
        "closed at 1) and for t₀ < 0. Make t a float array: NumPy refuses to raise integers to "
        "negative integer powers, which happens for integer arguments such as kappa=1.",
    ),
}


# ---------------------------------------------------------------- the Dirichlet step
def _intermediate(resp, n_data, alpha0):
    """α̂ = α0 + (N/B) Σ_n r_nk (Hoffman et al. 2013, eq. 25, for the Dirichlet factor)."""
    resp = np.asarray(resp, dtype=float)
    return alpha0 + n_data / resp.shape[0] * resp.sum(axis=0)


def _ref_dirichlet_step(alpha, resp, n_data, alpha0, rho):
    """(1 − ρ) α + ρ α̂ (eq. 26), computed on the natural parameters η = α − 1."""
    eta = np.asarray(alpha, dtype=float) - 1.0
    eta_hat = _intermediate(resp, n_data, alpha0) - 1.0
    return (1.0 - rho) * eta + rho * eta_hat + 1.0


def _blend(alpha, hat, rho):
    return (1.0 - rho) * np.asarray(alpha, dtype=float) + rho * hat


def _dirichlet_cases():
    rng = seeded_rng(1301)
    cases = [
        # alpha, resp, n_data, alpha0, rho
        (np.array([2.0, 3.0]), np.array([[1.0, 0.0], [0.0, 1.0], [0.5, 0.5]]), 30, 1.0, 0.5),
        (np.array([1.5, 1.5, 1.5]), np.eye(3)[[0, 0, 1, 2, 2, 2, 2]], 700, 0.01, 0.2),
        (np.array([10.0, 0.5, 4.0, 1.0]), np.full((5, 4), 0.25), 10**6, 1e-3, 0.05),
        (np.array([1.0, 2.0]), np.array([[0.9, 0.1]]), 1, 2.0, 1.0),   # B = N = 1, rho = 1
    ]
    for k, b, n, rho in [(2, 7, 100, 0.9), (3, 11, 5_000, 0.3), (4, 50, 10**5, 0.01),
                         (5, 200, 10**6, 0.0126), (5, 3, 9, 0.7), (6, 40, 400, 0.45),
                         (3, 1, 1_000, 0.25), (2, 64, 64, 0.6)]:
        alpha = rng.uniform(0.2, 50.0, k) * (n / 100) ** 0.5
        resp = rng.dirichlet(np.full(k, 0.7), size=b)
        cases.append((alpha, resp, n, float(rng.choice([1e-3, 0.1, 1.0, 3.0])), rho))
    return cases


def _large_case():
    """A minibatch of B = 100 000 points of N = 10⁹, K = 20 components."""
    rng = seeded_rng(13010)
    k, b, n = 20, 100_000, 10**9
    alpha = rng.uniform(0.5, 2.0, k) * n / k
    resp = Labelled(rng.dirichlet(np.full(k, 0.3), size=b),
                    f"responsibilities of {b:,} points and {k} components".replace(",", " "))
    return (alpha, resp, n, 1e-3, 0.0126)


def _fail(text):
    """CheckFailed with the headline wrapped like run_check's messages."""
    return CheckFailed(wrap(text))


@student_check
def check_svi_dirichlet_step(fn):
    """Check ``fn(alpha, resp, n_data, alpha0, rho) -> alpha_new``: one SVI step for q(π) = Dir(α).

    ``alpha`` (K,) current concentrations; ``resp`` (B, K) responsibilities of a minibatch
    of B of the ``n_data`` points; ``alpha0`` the prior concentration (a number); ``rho``
    the step size in (0, 1]. The result has shape (K,). ``alpha`` must not be modified.
    """
    name = "check_svi_dirichlet_step"
    hat = _intermediate

    def weights_blend(a, r, n, a0, rho):
        a = np.asarray(a, dtype=float)
        h = hat(r, n, a0)
        return (1 - rho) * a / a.sum() + rho * h / h.sum()

    mistakes = [
        Mistake("the minibatch counts Σ_n r_nk are not scaled by N/B: the batch of B points "
                "stands in for all N, so α̂ = α0 + (N/B) Σ_n r_nk.",
                lambda a, r, n, a0, rho: _blend(a, a0 + np.sum(r, axis=0), rho)),
        Mistake("you averaged the responsibilities over the batch (divided by B) but did not "
                "multiply by N: the scale is N/B, α̂ = α0 + (N/B) Σ_n r_nk.",
                lambda a, r, n, a0, rho: _blend(a, a0 + np.mean(r, axis=0), rho)),
        Mistake("you multiplied the counts by N without dividing by B: the scale is N/B.",
                lambda a, r, n, a0, rho: _blend(a, a0 + n * np.sum(r, axis=0), rho)),
        Mistake("the scale is inverted: it is N/B (the batch is replicated N/B times), not B/N.",
                lambda a, r, n, a0, rho: _blend(a, a0 + len(r) / n * np.sum(r, axis=0), rho)),
        Mistake("the prior α0 must be added once, not scaled by N/B with the counts: "
                "α̂ = α0 + (N/B) Σ_n r_nk.",
                lambda a, r, n, a0, rho: _blend(a, n / len(r) * (a0 + np.sum(r, axis=0)), rho)),
        Mistake("the prior α0 is missing from the intermediate parameter: "
                "α̂ = α0 + (N/B) Σ_n r_nk.",
                lambda a, r, n, a0, rho: _blend(a, hat(r, n, a0) - a0, rho)),
        Mistake("ρ and 1 − ρ are swapped: the new value is (1 − ρ) α + ρ α̂, so that a small ρ "
                "(late in the run) changes α only a little.",
                lambda a, r, n, a0, rho: _blend(hat(r, n, a0), np.asarray(a, dtype=float), rho)),
        Mistake("you returned the intermediate α̂ without blending it with the current α: "
                "that is the step ρ = 1; SVI takes (1 − ρ) α + ρ α̂.",
                lambda a, r, n, a0, rho: hat(r, n, a0)),
        Mistake("you blended the normalised weights α/Σα (mean parameters E[π]) and returned "
                "them; SVI blends the natural parameters α − 1, which gives the concentrations "
                "(1 − ρ) α + ρ α̂.",
                weights_blend),
        Mistake("you blended the normalised weights α/Σα (mean parameters) and rescaled them "
                "by a total: that is not the natural-parameter step; blend α − 1 (or, "
                "equivalently, α) itself: (1 − ρ) α + ρ α̂.",
                lambda a, r, n, a0, rho: weights_blend(a, r, n, a0, rho)
                * ((1 - rho) * np.sum(a) + rho * np.sum(hat(r, n, a0)))),
        Mistake("you blended the normalised weights α/Σα (mean parameters) and rescaled them "
                "by the old total Σα: that is not the natural-parameter step; blend α − 1 "
                "(or, equivalently, α) itself: (1 − ρ) α + ρ α̂.",
                lambda a, r, n, a0, rho: weights_blend(a, r, n, a0, rho) * np.sum(a)),
        Mistake("you blended log α (a geometric mean of α and α̂): a step in another "
                "parameterisation gives another answer. The Dirichlet's natural parameter is "
                "α − 1, and the natural-gradient step is the straight line (1 − ρ) α + ρ α̂.",
                lambda a, r, n, a0, rho: np.exp((1 - rho) * np.log(a)
                                                + rho * np.log(hat(r, n, a0)))),
        Mistake("you returned the natural parameter η = (1 − ρ)(α − 1) + ρ(α̂ − 1): add 1 "
                "back to get the concentrations α_new = η + 1.",
                lambda a, r, n, a0, rho: _ref_dirichlet_step(a, r, n, a0, rho) - 1.0),
        Mistake("you mixed parameterisations: α (a concentration) blended with α̂ − 1 (a "
                "natural parameter). Blend like with like: (1 − ρ)(α − 1) + ρ(α̂ − 1), "
                "then add 1 back; or simply (1 − ρ) α + ρ α̂.",
                lambda a, r, n, a0, rho: _ref_dirichlet_step(a, r, n, a0, rho) - rho),
        Mistake("you mixed parameterisations: α − 1 (a natural parameter) blended with α̂ (a "
                "concentration). Blend like with like: (1 − ρ)(α − 1) + ρ(α̂ − 1), then add 1 "
                "back; or simply (1 − ρ) α + ρ α̂.",
                lambda a, r, n, a0, rho: _ref_dirichlet_step(a, r, n, a0, rho) - (1 - rho)),
    ]
    run_check(name, fn, _dirichlet_cases(), _ref_dirichlet_step, mistakes,
              arg_names=["alpha", "resp", "n_data", "alpha0", "rho"],
              shape_hint=" (one concentration per component: sum the responsibilities "
                         "over the batch, axis 0)",
              unchanged=["alpha"],
              stress=[Stress(_large_case(), "a minibatch of 100 000 points (of N = 10⁹, 20 "
                                            "components) must work as well.")])


# ---------------------------------------------------------------- the step-size schedule
def _ref_step_sizes(num_steps, tau, kappa):
    # imported here: vi_lib.svi imports JAX, which `import vi_lib.checks` should not pay for
    from ..svi import step_sizes

    return step_sizes(num_steps, tau=tau, kappa=kappa)


def _schedule_cases():
    rng = seeded_rng(1302)
    cases = [(1, 0.0, 1.0), (5, 1.0, 0.7), (10, 0.0, 0.51), (100, 10.0, 0.9), (50, 1024.0, 0.6),
             (20, 0.5, 1.0), (3, 2.0, 0.75)]
    for _ in range(8):
        cases.append((int(rng.integers(2, 300)), float(rng.choice([0.0, 1.0, rng.uniform(0, 100)])),
                      float(rng.uniform(0.52, 1.0))))
    return cases


def _call_quietly(fn, *args):
    with warnings.catch_warnings(), np.errstate(all="ignore"), \
            contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        return fn(*args)


def _probe_constant(name, fn, num_steps=50, tau=1.0, kappa=0.7):
    try:
        value = np.asarray(_call_quietly(fn, num_steps, tau, kappa), dtype=float)
    except Exception:  # noqa: BLE001  (run_check reports it)
        return
    if value.shape == (num_steps,) and np.all(np.isfinite(value)) and np.ptp(value) == 0:
        raise _fail(
            f"{name}: ρ_t does not decay: your function returned the same step size "
            f"{value[0]:.6g} for all {num_steps} steps (num_steps={num_steps}, tau={tau}, "
            f"kappa={kappa}). With a constant ρ the noise of the minibatch estimates never "
            f"averages out (Σ ρ_t² = ∞); use ρ_t = (t + t₀)^(−κ) for t = 1, …, num_steps.")


# (num_steps, tau, kappa) that must raise ValueError, and what is wrong with each
_INVALID = [
    ((10, 1.0, 0.5), "κ = 0.5 must be rejected: the interval is (0.5, 1], open at 0.5, because "
                     "with κ = 0.5 Σ ρ_t² = Σ 1/(t + t₀) diverges"),
    ((10, 1.0, 0.3), "κ = 0.3 must be rejected: for κ ≤ 0.5, Σ ρ_t² diverges, so the noise never "
                     "averages out"),
    ((10, 1.0, 1.2), "κ = 1.2 must be rejected: for κ > 1, Σ ρ_t converges, so the steps shrink "
                     "too fast to reach the optimum"),
    ((10, 1.0, 0.0), "κ = 0 must be rejected (a constant step size): κ must lie in (0.5, 1]"),
    ((10, 1.0, -0.7), "κ = -0.7 must be rejected (step sizes that grow): κ must lie in (0.5, 1]"),
    ((10, -1.0, 0.7), "t₀ = -1 must be rejected: t₀ ≥ 0 (with t₀ < 0, t + t₀ can be 0 or negative)"),
    ((10, -0.5, 0.7), "t₀ = -0.5 must be rejected: t₀ ≥ 0"),
]


# (num_steps, tau, kappa) on the edge of the valid range: they must NOT raise
_VALID_EDGES = [
    ((10, 1.0, 1.0), "κ = 1 is allowed: the interval (0.5, 1] is closed at 1 (ρ_t = 1/(t + t₀) "
                     "has Σ ρ_t = ∞ and Σ ρ_t² < ∞)"),
    ((10, 0.0, 0.7), "t₀ = 0 is allowed: the rule is t₀ ≥ 0 (then ρ_1 = 1)"),
    ((10, 1.0, 0.51), "κ = 0.51 is allowed: only κ ≤ 0.5 and κ > 1 break the Robbins–Monro "
                      "conditions"),
]


def _probe_valid_edges(name, fn):
    for args, why in _VALID_EDGES:
        try:
            _call_quietly(fn, *args)
        except ValueError as err:
            raise _fail(
                f"{name}: {why}; but for num_steps={args[0]}, tau={args[1]}, "
                f"kappa={args[2]} your function raised ValueError: {err}") from None
        except Exception:  # noqa: BLE001  (run_check reports it)
            return


def _probe_validation(name, fn):
    for args, why in _INVALID:
        try:
            value = _call_quietly(fn, *args)
        except ValueError:
            continue
        except Exception as err:  # noqa: BLE001
            raise _fail(
                f"{name}: for num_steps={args[0]}, tau={args[1]}, kappa={args[2]} your function "
                f"raised {type(err).__name__}: {err}; raise a ValueError that names the "
                f"argument and the rule instead (an `assert` disappears under python -O).") from None
        shown = value if not isinstance(value, np.ndarray) else "an array"
        raise _fail(
            f"{name}: {why}. Your function returned {shown!s:.60} for num_steps={args[0]}, "
            f"tau={args[1]}, kappa={args[2]}; raise ValueError instead.")


@student_check
def check_svi_step_sizes(fn):
    """Check ``fn(num_steps, tau, kappa) -> rho``: ρ_t = (t + t₀)^(−κ) for t = 1, …, num_steps.

    ``rho`` has shape (num_steps,). For κ outside (0.5, 1] or t₀ < 0 the function must raise
    ``ValueError`` (the Robbins–Monro conditions).
    """
    name = "check_svi_step_sizes"
    t = lambda n: np.arange(1, n + 1, dtype=float)  # noqa: E731
    mistakes = [
        Mistake("t₀ is missing: ρ_t = (t + t₀)^(−κ); you computed t^(−κ).",
                lambda n, tau, kappa: t(n) ** (-kappa)),
        Mistake("t starts at 1: ρ_t = (t + t₀)^(−κ) for t = 1, …, num_steps; you started at t = 0.",
                lambda n, tau, kappa: (t(n) - 1 + tau) ** (-kappa)),
        Mistake("sign of the exponent: ρ_t = (t + t₀)^(−κ) decays; (t + t₀)^κ grows.",
                lambda n, tau, kappa: (t(n) + tau) ** kappa),
        Mistake("the exponent is −κ, not −1/κ.",
                lambda n, tau, kappa: (t(n) + tau) ** (-1.0 / kappa)),
        Mistake("t₀ is added after the power: ρ_t = (t + t₀)^(−κ), not t^(−κ) + t₀.",
                lambda n, tau, kappa: t(n) ** (-kappa) + tau),
        Mistake("you multiplied t by t₀: ρ_t = (t + t₀)^(−κ).",
                lambda n, tau, kappa: (t(n) * tau) ** (-kappa)),
        Mistake("you returned ρ_t for t = 0, …, num_steps (one too many); the steps are "
                "t = 1, …, num_steps.",
                lambda n, tau, kappa: (np.arange(0, n + 1, dtype=float) + tau) ** (-kappa)),
    ]
    from ..svi import step_sizes   # the library's answer: a call to it fails when graded

    _probe_constant(name, fn)
    _probe_valid_edges(name, fn)
    cases = _schedule_cases()
    stress = [Stress((1000, 0, 1), "integer arguments (tau=0, kappa=1) must work as well: NumPy "
                                   "refuses to raise integers to negative integer powers; make "
                                   "t a float array (np.arange(..., dtype=float)).")]
    out = io.StringIO()
    with contextlib.redirect_stdout(out):    # the ✓ line only after the validation probe
        run_check(name, fn, cases, _ref_step_sizes, mistakes,
                  arg_names=["num_steps", "tau", "kappa"],
                  shape_hint=" (one step size per step t = 1, …, num_steps)",
                  stress=stress, delegates=(step_sizes,),
                  success=f"✓ {name}: correct on all {len(cases) + len(stress)} test inputs, "
                          f"and κ outside (0.5, 1] and t₀ < 0 raise ValueError.")
    _probe_validation(name, fn)
    print(out.getvalue(), end="")
