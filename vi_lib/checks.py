"""Self-checks for the exercises in ``exercises/``: they name the mistake.

Every task of the exercise notebooks has one function ``check_<task>(student_fn)``.
It calls the student's function on many inputs (hand-picked edge cases and seeded
random ones) and either prints one success line and returns ``None``, or raises
:class:`AssertionError` whose message

- says *what* is wrong when the answer matches a known mistake (arguments of the
  KL swapped, variance used where the standard deviation is meant, a determinant
  where a trace belongs, a sign error, ...), found by computing each wrong variant
  here and comparing it with the student's outputs on every input;
- otherwise shows one failing input with the expected and the received value.

A check survives anything the student's code does: ``NotImplementedError``
("not implemented yet"), any other exception, ``None``, NaN, a wrong type or
shape. Tolerances are loose enough (relative 1e-6) for any correct textbook
formula; no input is chosen to provoke cancellation.

The shared logic lives in :func:`_check`; each public check only lists its inputs,
its reference answer and its catalogue of mistakes. The reference answer is the
course library's own function wherever it has one (``vi_lib.models.coin``,
``vi_lib.elbo``, ``vi_lib.divergences``, ``vi_lib.cavi``,
``vi_lib.models.linear_regression``); private code here computes only the wrong
variants and the answers the library has no function for.
"""

from __future__ import annotations

import copy
import functools
import textwrap
import warnings
from dataclasses import dataclass
from typing import Callable

import numpy as np
from scipy import special, stats

from .cavi import cavi_factorized_gaussian
from .divergences import kl_mvn_diag, kl_normal
from .elbo import (elbo_beta_coin, elbo_gaussian_quadrature, entropy_beta, entropy_categorical,
                   entropy_normal)
from .models.coin import coin_laplace, coin_log_evidence, coin_log_joint_logit, coin_posterior
from .models.linear_regression import blr_posterior, blr_precision

__all__ = [
    # 01 Bayesian recap
    "check_coin_posterior",
    "check_coin_log_evidence",
    "check_coin_laplace",
    # 02 KL divergence
    "check_kl_normal",
    "check_kl_mvn_diag",
    "check_kl_standard_normal",
    # 03 ELBO
    "check_entropy_discrete",
    "check_elbo_monte_carlo",
    "check_elbo_beta_coin",
    # 04 mean-field and CAVI
    "check_cavi_factor",
    "check_cavi_sweep",
    # 05 KL direction and alpha-divergences
    "check_mean_field_variances",
    "check_alpha_divergence",
    # 06 gradient-based VI
    "check_score_function_grad",
    "check_reparam_grad",
    # 07 worked examples
    "check_blr_posterior",
    "check_mean_field_blr_variances",
    "check_vae_kl",
    "check_elbo_logit_normal",
]

RTOL = 1e-6
ATOL = 1e-9


# ---------------------------------------------------------------------------
# The shared machinery
# ---------------------------------------------------------------------------

class _Fn:
    """A callable input with a readable description (shown in failure messages)."""

    def __init__(self, fn, text):
        self._fn = fn
        self._text = text

    def __call__(self, *args, **kwargs):
        return self._fn(*args, **kwargs)

    def __repr__(self):
        return self._text


@dataclass
class _Mistake:
    """A known wrong answer: ``wrong(*args)`` computes it, ``message`` names it.

    For a function with several outputs, ``wrong`` may return ``None`` for the
    outputs the mistake does not affect; only the others are compared.
    """

    message: str
    wrong: Callable


def _fmt(x):
    if isinstance(x, (bool, np.bool_)):
        return repr(bool(x))
    if isinstance(x, (int, np.integer)):
        return str(int(x))
    if isinstance(x, (float, np.floating)):
        return f"{float(x):.6g}"
    if isinstance(x, np.ndarray):
        with np.printoptions(precision=4, threshold=12, edgeitems=3, suppress=False):
            text = np.array2string(x, separator=", ")
        return " ".join(text.split())
    return repr(x)


def _fmt_inputs(names, args):
    return ", ".join(f"{n}={_fmt(a)}" for n, a in zip(names, args))


def _fmt_parts(parts, out_names):
    if len(parts) == 1:
        return _fmt(parts[0])
    return "(" + ", ".join(f"{n}={_fmt(p)}" for n, p in zip(out_names, parts) if p is not None) + ")"


def _wrap(text, width=76):
    """Wrap a message's headline, so that it reads well in a notebook and in the book."""
    return textwrap.fill(text, width=width, subsequent_indent="  ", break_long_words=False,
                         break_on_hyphens=False)


def _as_parts(value, n_out):
    """A reference or mistake value as a tuple of float arrays (None kept)."""
    parts = (value,) if n_out == 1 else tuple(value)
    return tuple(None if p is None else np.asarray(p, dtype=float) for p in parts)


def _quietly(fn, *args):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with np.errstate(all="ignore"):
            return fn(*args)


def _normalise(value, n_out, out_names):
    """The student's value as a tuple of float arrays, or (None, problem)."""
    if value is None:
        return None, "your function returned None: did you forget the `return` statement?"
    if n_out == 1:
        parts = (value,)
    else:
        if not isinstance(value, (tuple, list)) or len(value) != n_out:
            kind = type(value).__name__
            size = f" of length {len(value)}" if isinstance(value, (tuple, list)) else ""
            return None, (f"your function should return a tuple of {n_out} values "
                          f"({', '.join(out_names)}), but returned a {kind}{size}")
        parts = tuple(value)
    arrays = []
    for name, p in zip(out_names, parts):
        what = "your function" if n_out == 1 else f"`{name}`"
        if p is None:
            return None, f"{what} is None: did you forget to compute it?"
        if isinstance(p, (str, bytes, dict, set)) or callable(p):
            return None, f"{what} is a {type(p).__name__}, not a number or an array of numbers"
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                a = np.asarray(p, dtype=float)
        except (TypeError, ValueError) as err:
            return None, (f"{what} returned a {type(p).__name__} that is not a number or an "
                          f"array of numbers ({err})")
        except Exception as err:  # exotic array types
            return None, f"{what} could not be converted to a NumPy array: {err!r}"
        arrays.append(a)
    return tuple(arrays), None


def _matches(got, target, rtol=RTOL, atol=ATOL):
    """True when every compared output of ``target`` (None = ignored) equals ``got``."""
    compared = False
    for g, t in zip(got, target):
        if t is None:
            continue
        compared = True
        if g.shape != t.shape:
            return False
        if not np.allclose(g, t, rtol=rtol, atol=atol, equal_nan=True):
            return False
    return compared


def _check(name, student_fn, cases, reference, mistakes=(), *, arg_names, out_names=None,
           rtol=RTOL, atol=ATOL, shape_hint="", success=None, nonnegative=False):
    """Run ``student_fn`` on every case and judge it against ``reference``.

    Parameters
    ----------
    name : str
        Name of the public check (used in messages).
    student_fn : callable
        The student's function.
    cases : list of tuple
        Positional arguments for each call.
    reference : callable
        The correct answer, ``reference(*case)``.
    mistakes : sequence of _Mistake
        Known wrong answers, tried in order; the first one that the student's
        outputs match on every case (and that differs from the reference on at
        least one) is named in the message.
    arg_names, out_names : list of str
        Names of the inputs and of the outputs (several outputs = a tuple).
    """
    out_names = list(out_names or ["result"])
    n_out = len(out_names)
    if not callable(student_fn):
        raise AssertionError(f"{name}: expected your function, got a {type(student_fn).__name__}. "
                             f"Pass the function itself, without calling it: {name}(my_function).")

    records = []
    for args in cases:
        expected = _as_parts(_quietly(reference, *args), n_out)
        try:
            raw = _quietly(student_fn, *copy.deepcopy(args))
        except NotImplementedError:
            raise AssertionError(
                f"{name}: not implemented yet. Replace the line `raise NotImplementedError(...)` "
                f"with your code, then run this cell again.") from None
        except Exception as err:
            raise AssertionError(
                f"{name}: your function raised {type(err).__name__}: {err}\n"
                f"  on input: {_fmt_inputs(arg_names, args)}\n"
                f"  (the traceback above shows the line)") from err
        got, problem = _normalise(raw, n_out, out_names)
        if problem:
            raise AssertionError(f"{name}: {problem}\n  on input: {_fmt_inputs(arg_names, args)}")
        records.append((args, expected, got))

    if all(_matches(got, exp, rtol, atol) for _, exp, got in records):
        print(success or f"✓ {name}: correct on all {len(records)} test inputs.")
        return None

    found = []  # (number of outputs compared, order, mistake, first input where it differs)
    for order, mistake in enumerate(mistakes):
        try:
            targets = [_as_parts(_quietly(mistake.wrong, *args), n_out) for args, _, _ in records]
        except Exception:  # a wrong variant that cannot be computed here is skipped
            continue
        if not all(_matches(got, t, rtol, atol) for (_, _, got), t in zip(records, targets)):
            continue
        differs = [i for i, ((_, exp, _), t) in enumerate(zip(records, targets))
                   if not _matches(exp, t, rtol, atol)]
        if differs:
            n_compared = sum(t is not None for t in targets[0])
            found.append((-n_compared, order, mistake, differs[0]))
    if found:
        # The most specific explanation wins: one that accounts for every output.
        _, _, mistake, first = min(found, key=lambda item: item[:2])
        args, exp, got = records[first]
        raise AssertionError(
            _wrap(f"{name}: {mistake.message}") + "\n"
            f"  for example, on input: {_fmt_inputs(arg_names, args)}\n"
            f"  expected: {_fmt_parts(exp, out_names)}\n"
            f"  received: {_fmt_parts(got, out_names)}")

    for args, exp, got in records:
        if _matches(got, exp, rtol, atol):
            continue
        where = _fmt_inputs(arg_names, args)
        for n, g, e in zip(out_names, got, exp):
            label = "your function" if n_out == 1 else f"`{n}`"
            if g.shape != e.shape:
                raise AssertionError(
                    f"{name}: wrong shape: {label} has shape {g.shape}, expected {e.shape}"
                    f"{shape_hint}\n  on input: {where}")
            if not np.all(np.isfinite(g)) and np.all(np.isfinite(e)):
                bad = "NaN" if np.any(np.isnan(g)) else "an infinite value"
                raise AssertionError(
                    f"{name}: {label} returned {bad} (received {_fmt(g)}, expected {_fmt(e)})\n"
                    f"  on input: {where}\n"
                    f"  Look for log or sqrt of a negative number or of zero, 0/0, or inf - inf.")
        notes = []
        if n_out > 1:
            ok = [f"`{n}`" for n, g, e in zip(out_names, got, exp) if _matches((g,), (e,), rtol, atol)]
            bad = [f"`{n}`" for n, g, e in zip(out_names, got, exp) if not _matches((g,), (e,), rtol, atol)]
            notes.append(f"  wrong: {', '.join(bad)}" + (f"; right: {', '.join(ok)}" if ok else ""))
        if nonnegative and any(np.any(g < -atol) for g in got):
            notes.append("  Note: your result is negative, but a divergence is never negative.")
        raise AssertionError(
            f"{name}: wrong value (not one of the mistakes this check knows)\n"
            f"  on input: {where}\n"
            f"  expected: {_fmt_parts(exp, out_names)}\n"
            f"  received: {_fmt_parts(got, out_names)}"
            + "".join("\n" + n for n in notes))
    raise AssertionError(f"{name}: internal error, please report it")  # pragma: no cover


def _rng(seed):
    return np.random.default_rng(seed)


_CHECK_DOC = """
    Parameters
    ----------
    fn : callable
        The student's function, called with the arguments described above on many
        inputs (hand-picked edge cases and seeded random ones; copies, so that it may
        modify them).

    Returns
    -------
    None
        After printing one line starting with ``✓`` when every result is right
        (relative tolerance 1e-6).

    Raises
    ------
    AssertionError
        When a result is wrong, ``fn`` raises (``NotImplementedError`` is reported as
        "not implemented yet"), or returns None, NaN, a wrong type or shape. The message
        names the mistake when it is one this check knows, and otherwise shows one
        failing input with the expected and the received value.
"""


def _student_check(check):
    """Decorator: append the Parameters/Returns/Raises sections shared by every check."""
    check.__doc__ = (check.__doc__ or "").rstrip() + "\n" + _CHECK_DOC
    return check


# ---------------------------------------------------------------------------
# 01 Bayesian recap: the coin toss (Beta-Bernoulli)
# ---------------------------------------------------------------------------

_COIN_ARGS = ["heads", "tails", "a0", "b0"]


def _coin_cases(seed, n=20, min_post=0.0):
    """(heads, tails, a0, b0) in the order of :func:`vi_lib.models.coin_posterior`."""
    cases = [(0, 0, 1.0, 1.0), (7, 3, 1.0, 1.0), (12, 4, 2.0, 5.0), (3, 9, 0.5, 0.5),
             (1, 30, 10.0, 2.0), (50, 50, 3.0, 3.0), (0, 6, 1.5, 4.0)]
    rng = _rng(seed)
    for _ in range(n):
        a0, b0 = float(rng.uniform(0.5, 6.0)), float(rng.uniform(0.5, 6.0))
        cases.append((int(rng.integers(0, 40)), int(rng.integers(0, 40)), a0, b0))
    return [c for c in cases if c[2] + c[0] > min_post and c[3] + c[1] > min_post]


@_student_check
def check_coin_posterior(fn):
    """Check ``fn(heads, tails, a0, b0) -> (a_post, b_post)``: the Beta posterior of the coin.

    Prior Beta(a0, b0) on the probability of heads, ``heads`` and ``tails`` observed; the
    argument order is that of :func:`vi_lib.models.coin_posterior`.
    """
    mistakes = [
        _Mistake("heads and tails are swapped: heads add to the first parameter a0 "
                 "(the prior's pseudo-count of heads), tails to b0.",
                 lambda h, t, a0, b0: (a0 + t, b0 + h)),
        _Mistake("the prior is missing: the posterior parameters are the prior's a0, b0 "
                 "plus the counts, not the counts alone.",
                 lambda h, t, a0, b0: (h, t)),
        _Mistake("off by one: a0 + heads - 1 is the exponent of theta in the posterior "
                 "density, but the Beta *parameter* is a0 + heads.",
                 lambda h, t, a0, b0: (a0 + h - 1, b0 + t - 1)),
        _Mistake("you added the total number of tosses to both parameters; "
                 "heads go to a0 and tails go to b0.",
                 lambda h, t, a0, b0: (a0 + h + t, b0 + h + t)),
    ]
    _check("check_coin_posterior", fn, _coin_cases(101), coin_posterior, mistakes,
           arg_names=_COIN_ARGS, out_names=["a_post", "b_post"])


@_student_check
def check_coin_log_evidence(fn):
    """Check ``fn(heads, tails, a0, b0) -> log p(X)`` for one sequence of tosses (nats).

    The evidence of a given sequence is B(a0 + heads, b0 + tails) / B(a0, b0); the
    argument order is that of :func:`vi_lib.models.coin_log_evidence`.
    """
    log_binom = lambda h, t: special.gammaln(h + t + 1) - special.gammaln(h + 1) - special.gammaln(t + 1)  # noqa: E731
    ref = coin_log_evidence
    mistakes = [
        _Mistake("you included the binomial coefficient C(n, heads): that is the probability "
                 "of the *number* of heads, but the data are one particular sequence of tosses.",
                 lambda h, t, a0, b0: ref(h, t, a0, b0) + log_binom(h, t)),
        _Mistake("sign error: the log evidence is log B(a0 + heads, b0 + tails) - log B(a0, b0); "
                 "you have the two terms the other way round.",
                 lambda h, t, a0, b0: -ref(h, t, a0, b0)),
        _Mistake("you returned the evidence p(X), not its logarithm.",
                 lambda h, t, a0, b0: np.exp(ref(h, t, a0, b0))),
        _Mistake("the prior's normalising constant is missing: subtract log B(a0, b0).",
                 lambda h, t, a0, b0: special.betaln(a0 + h, b0 + t)),
        _Mistake("heads and tails are swapped: heads go with a0, tails with b0.",
                 lambda h, t, a0, b0: ref(t, h, a0, b0)),
        _Mistake("you used the Beta function where its logarithm belongs (or the reverse); "
                 "use scipy.special.betaln for log B.",
                 lambda h, t, a0, b0: special.beta(a0 + h, b0 + t) - special.beta(a0, b0)),
        _Mistake("the arguments are in the wrong order: the signature is "
                 "fn(heads, tails, a0, b0), as in vi_lib.models.coin_log_evidence; you used "
                 "heads and tails as the prior parameters and a0, b0 as the counts.",
                 lambda h, t, a0, b0: ref(h, t, a0, b0) + special.betaln(a0, b0) - special.betaln(h, t)),
    ]
    _check("check_coin_log_evidence", fn, _coin_cases(102), ref, mistakes,
           arg_names=_COIN_ARGS)


_ref_coin_laplace = functools.partial(coin_laplace, scale="probability")


@_student_check
def check_coin_laplace(fn):
    """Check ``fn(heads, tails, a0, b0) -> (mode, sigma)``: Laplace approximation on the probability scale.

    Inputs satisfy a0 + heads > 1 and b0 + tails > 1, so the posterior mode is inside (0, 1);
    ``sigma`` is the standard deviation. Order and outputs as in
    :func:`vi_lib.models.coin_laplace` with ``scale="probability"``.
    """
    def beta_mean(h, t, a0, b0):
        return (a0 + h) / (a0 + b0 + h + t)

    def beta_sd(h, t, a0, b0):
        return stats.beta(a0 + h, b0 + t).std()

    mistakes = [
        _Mistake("the centre is the posterior *mean*; the Laplace approximation is centred at "
                 "the *mode* (the maximum of the log joint), (a0 + heads - 1) / (a0 + b0 + n - 2).",
                 lambda h, t, a0, b0: (beta_mean(h, t, a0, b0), None)),
        _Mistake("you returned the variance 1 / curvature; the task asks for the standard "
                 "deviation, its square root.",
                 lambda h, t, a0, b0: (None, _ref_coin_laplace(h, t, a0, b0)[1] ** 2)),
        _Mistake("you returned the curvature (the precision) itself; the standard deviation "
                 "is 1 / sqrt(curvature).",
                 lambda h, t, a0, b0: (None, _ref_coin_laplace(h, t, a0, b0)[1] ** -2)),
        _Mistake("you returned the exact posterior standard deviation of the Beta; the Laplace "
                 "sigma comes from the curvature of the log joint at the mode.",
                 lambda h, t, a0, b0: (None, beta_sd(h, t, a0, b0))),
        _Mistake("the -1 of the exponents is missing: the log joint is "
                 "(a0 + heads - 1) log theta + (b0 + tails - 1) log(1 - theta).",
                 lambda h, t, a0, b0: _ref_coin_laplace(h, t, a0 + 1, b0 + 1)),
    ]
    _check("check_coin_laplace", fn, _coin_cases(103, min_post=1.5), _ref_coin_laplace, mistakes,
           arg_names=_COIN_ARGS, out_names=["mode", "sigma"])


# ---------------------------------------------------------------------------
# 02 KL divergence
# ---------------------------------------------------------------------------

def _ref_kl_normal(mu_q, sigma_q, mu_p, sigma_p):
    return float(kl_normal(mu_q, sigma_q, mu_p, sigma_p))


def _kl_normal_formula(mu_q, sigma_q, mu_p, sigma_p, *, half=0.5, const=-0.5, log_factor=1.0,
                       mean_scale=None, power=2):
    """The textbook formula with knobs to build wrong variants (elementwise)."""
    mean_scale = sigma_p if mean_scale is None else mean_scale
    return (log_factor * np.log(sigma_p / sigma_q)
            + sigma_q**power / (2 * sigma_p**power)
            + half * (mu_q - mu_p) ** 2 / mean_scale**power + const)


@_student_check
def check_kl_normal(fn):
    """Check ``fn(mu_q, sigma_q, mu_p, sigma_p) -> KL(N(mu_q, sigma_q²) ‖ N(mu_p, sigma_p²))``.

    Inputs are Python floats; sigma is a standard deviation; the result is in nats.
    """
    rng = _rng(201)
    cases = [(0.0, 1.0, 0.0, 1.0), (1.0, 1.0, 0.0, 1.0), (0.0, 2.0, 0.0, 1.0), (0.0, 0.5, 0.0, 1.0),
             (0.3, 0.7, -1.2, 2.5), (-2.0, 3.0, 1.0, 0.4), (5.0, 0.1, 4.0, 0.2),
             (0.0, 1.0, 0.0, 4.0), (10.0, 2.0, -10.0, 5.0)]
    for _ in range(20):
        cases.append((float(rng.normal(0, 2)), float(rng.uniform(0.2, 4.0)),
                      float(rng.normal(0, 2)), float(rng.uniform(0.2, 4.0))))
    f = _kl_normal_formula
    mistakes = [
        _Mistake("the arguments are swapped: you computed KL(p ‖ q). The first pair (mu_q, sigma_q) "
                 "is the left side of ‖, the distribution the expectation is taken under.",
                 lambda mq, sq, mp, sp: _ref_kl_normal(mp, sp, mq, sq)),
        _Mistake("you used sigma as if it were the variance: sigma is the standard deviation, "
                 "so the formula needs sigma² where you wrote sigma.",
                 lambda mq, sq, mp, sp: _ref_kl_normal(mq, np.sqrt(sq), mp, np.sqrt(sp))),
        _Mistake("variance used where the standard deviation belongs: you squared sigma twice "
                 "(sigma⁴ where sigma² belongs).",
                 lambda mq, sq, mp, sp: _ref_kl_normal(mq, sq**2, mp, sp**2)),
        _Mistake("standard deviation used where the variance belongs: the fractions need "
                 "sigma_q² / (2 sigma_p²) and (mu_q - mu_p)² / (2 sigma_p²), with squares.",
                 lambda mq, sq, mp, sp: f(mq, sq, mp, sp, power=1)),
        _Mistake("the log term uses the ratio of variances without the factor 1/2: "
                 "log(sigma_p / sigma_q) = ½ log(sigma_p² / sigma_q²).",
                 lambda mq, sq, mp, sp: f(mq, sq, mp, sp, log_factor=2.0)),
        _Mistake("the constant -1/2 is missing (the KL of q with itself must be 0).",
                 lambda mq, sq, mp, sp: f(mq, sq, mp, sp, const=0.0)),
        _Mistake("sign error: your result is minus the KL (a KL divergence is never negative).",
                 lambda mq, sq, mp, sp: -_ref_kl_normal(mq, sq, mp, sp)),
        _Mistake("sign error in the log term: it is log(sigma_p / sigma_q), not log(sigma_q / sigma_p).",
                 lambda mq, sq, mp, sp: f(mq, sq, mp, sp, log_factor=-1.0)),
        _Mistake("the factor 1/2 on the mean term is missing: (mu_q - mu_p)² / (2 sigma_p²).",
                 lambda mq, sq, mp, sp: f(mq, sq, mp, sp, half=1.0)),
        _Mistake("the mean term is scaled by the wrong variance: it is (mu_q - mu_p)² / (2 sigma_p²), "
                 "with p's variance (the expectation of log p under q).",
                 lambda mq, sq, mp, sp: f(mq, sq, mp, sp, mean_scale=sq)),
    ]
    _check("check_kl_normal", fn, cases, _ref_kl_normal, mistakes,
           arg_names=["mu_q", "sigma_q", "mu_p", "sigma_p"], nonnegative=True)


def _diag_cases(seed, n=16):
    rng = _rng(seed)
    cases = [
        (np.zeros(1), np.ones(1), np.zeros(1), np.ones(1)),
        (np.array([0.5]), np.array([2.0]), np.array([-1.0]), np.array([0.7])),
        (np.zeros(3), np.ones(3), np.zeros(3), np.ones(3)),
        (np.array([1.0, -1.0]), np.array([0.5, 2.0]), np.array([0.0, 0.0]), np.array([1.0, 1.0])),
        (np.array([0.2, 0.1, -0.3, 2.0]), np.array([0.3, 1.5, 0.9, 2.2]),
         np.array([1.0, -0.5, 0.0, 0.0]), np.array([1.2, 0.8, 0.9, 3.0])),
    ]
    for d in rng.integers(1, 9, size=n):
        cases.append((rng.normal(0, 1.5, d), rng.uniform(0.2, 3.0, d),
                      rng.normal(0, 1.5, d), rng.uniform(0.2, 3.0, d)))
    return cases


def _ref_kl_mvn_diag(mu_q, sigma_q, mu_p, sigma_p):
    return float(kl_mvn_diag(mu_q, sigma_q, mu_p, sigma_p))


@_student_check
def check_kl_mvn_diag(fn):
    """Check ``fn(mu_q, sigma_q, mu_p, sigma_p) -> float``: KL between diagonal Gaussians.

    Inputs are 1-D NumPy arrays of length d (sigma = standard deviations); the result is
    KL(N(mu_q, diag sigma_q²) ‖ N(mu_p, diag sigma_p²)) in nats, one number.
    """
    def det_form(mq, sq, mp, sp, const):
        r = (sq / sp) ** 2
        return 0.5 * (np.prod(r) + np.sum((mq - mp) ** 2 / sp**2) - const - np.log(np.prod(r)))

    ref = _ref_kl_mvn_diag
    mistakes = [
        _Mistake("the arguments are swapped: you computed KL(p ‖ q). The first pair (mu_q, sigma_q) "
                 "is the left side of ‖.",
                 lambda mq, sq, mp, sp: ref(mp, sp, mq, sq)),
        _Mistake("you used sigma as if it were the variance: sigma holds standard deviations, "
                 "so the formula needs sigma² where you wrote sigma.",
                 lambda mq, sq, mp, sp: ref(mq, np.sqrt(sq), mp, np.sqrt(sp))),
        _Mistake("variance used where the standard deviation belongs: you squared sigma twice.",
                 lambda mq, sq, mp, sp: ref(mq, sq**2, mp, sp**2)),
        _Mistake("standard deviation used where the variance belongs: the fractions need "
                 "sigma_q² / (2 sigma_p²) and (mu_q - mu_p)² / (2 sigma_p²), with squares.",
                 lambda mq, sq, mp, sp: float(np.sum(_kl_normal_formula(mq, sq, mp, sp, power=1)))),
        _Mistake("product of variances (a determinant) where a sum (the trace "
                 "tr(Σ_p⁻¹ Σ_q)) belongs, and -1/2 where -d/2 belongs: this is the error of "
                 "seed 003. E[zᵀz] = tr(Σ) + μᵀμ, not |Σ| + μᵀμ.",
                 lambda mq, sq, mp, sp: det_form(mq, sq, mp, sp, 1.0)),
        _Mistake("product of variances (a determinant) where a sum (the trace tr(Σ_p⁻¹ Σ_q)) "
                 "belongs: E[zᵀz] = tr(Σ) + μᵀμ, not |Σ| + μᵀμ.",
                 lambda mq, sq, mp, sp: det_form(mq, sq, mp, sp, float(np.size(mq)))),
        _Mistake("the constant is -1/2 but it must be -d/2 (one -1/2 per dimension).",
                 lambda mq, sq, mp, sp: ref(mq, sq, mp, sp) + 0.5 * (np.size(mq) - 1)),
        _Mistake("the constant -d/2 is missing (the KL of q with itself must be 0).",
                 lambda mq, sq, mp, sp: ref(mq, sq, mp, sp) + 0.5 * np.size(mq)),
        _Mistake("sign error: your result is minus the KL (a KL divergence is never negative).",
                 lambda mq, sq, mp, sp: -ref(mq, sq, mp, sp)),
        _Mistake("you averaged over the dimensions; the KL of independent coordinates is the "
                 "*sum* of the per-dimension KLs.",
                 lambda mq, sq, mp, sp: ref(mq, sq, mp, sp) / np.size(mq)),
        _Mistake("wrong shape: you returned the d per-dimension terms; the KL is their sum, "
                 "one number.",
                 lambda mq, sq, mp, sp: kl_normal(mq, sq, mp, sp)),
    ]
    _check("check_kl_mvn_diag", fn, _diag_cases(202), ref, mistakes,
           arg_names=["mu_q", "sigma_q", "mu_p", "sigma_p"],
           shape_hint=" (a float: sum the per-dimension terms)", nonnegative=True)


def _ref_kl_standard_normal(mu, sigma):
    return float(kl_mvn_diag(mu, sigma, np.zeros_like(mu), np.ones_like(sigma)))


@_student_check
def check_kl_standard_normal(fn):
    """Check ``fn(mu, sigma) -> KL(N(mu, diag sigma²) ‖ N(0, I))``, the VAE term (nats).

    ``mu`` and ``sigma`` are 1-D arrays of length d; the result is one float.
    """
    rng = _rng(203)
    cases = [(np.zeros(1), np.ones(1)), (np.zeros(4), np.ones(4)), (np.array([1.0]), np.array([1.0])),
             (np.array([0.0, 0.0]), np.array([0.5, 2.0])), (np.array([1.0, -2.0, 0.5]), np.array([0.3, 1.0, 1.7]))]
    for d in rng.integers(1, 11, size=16):
        cases.append((rng.normal(0, 1.5, d), rng.uniform(0.1, 2.5, d)))
    ref = _ref_kl_standard_normal

    def seed003(mu, sigma, const):
        det = np.prod(sigma**2)
        return 0.5 * (det + mu @ mu - const - np.log(det))

    mistakes = [
        _Mistake("product of variances |Σ| where the trace tr(Σ) = Σ sigma_j² belongs, and -1/2 "
                 "where -d/2 belongs: this is exactly the error of seed 003. "
                 "E[zᵀz] = tr(Σ) + μᵀμ, not |Σ| + μᵀμ.",
                 lambda mu, s: seed003(mu, s, 1.0)),
        _Mistake("product of variances |Σ| (a determinant) where the trace tr(Σ) = Σ sigma_j² "
                 "belongs: E[zᵀz] = tr(Σ) + μᵀμ, not |Σ| + μᵀμ.",
                 lambda mu, s: seed003(mu, s, float(np.size(mu)))),
        _Mistake("the constant is -1/2 but it must be -d/2 (one -1/2 per latent dimension).",
                 lambda mu, s: ref(mu, s) + 0.5 * (np.size(mu) - 1)),
        _Mistake("the constant -d/2 is missing (the KL is 0 when mu = 0 and sigma = 1).",
                 lambda mu, s: ref(mu, s) + 0.5 * np.size(mu)),
        _Mistake("the arguments are swapped: you computed KL(N(0, I) ‖ q). The approximation q is "
                 "the left side of ‖.",
                 lambda mu, s: float(kl_mvn_diag(np.zeros_like(mu), np.ones_like(s), mu, s))),
        _Mistake("you used sigma as if it were the variance: sigma holds standard deviations, "
                 "so you need sigma² and log sigma².",
                 lambda mu, s: ref(mu, np.sqrt(s))),
        _Mistake("variance used where the standard deviation belongs: you squared sigma twice.",
                 lambda mu, s: ref(mu, s**2)),
        _Mistake("standard deviation used where the variance belongs: the first term is "
                 "sigma_j², not sigma_j.",
                 lambda mu, s: 0.5 * float(np.sum(s + mu**2 - 1.0 - np.log(s**2)))),
        _Mistake("the log term should be log sigma² = 2 log sigma; you wrote log sigma.",
                 lambda mu, s: 0.5 * float(np.sum(s**2 + mu**2 - 1.0 - np.log(s)))),
        _Mistake("sign error: your result is minus the KL (a KL divergence is never negative).",
                 lambda mu, s: -ref(mu, s)),
        _Mistake("wrong shape: you returned the d per-dimension terms; the KL is their sum, "
                 "one number.",
                 lambda mu, s: 0.5 * (s**2 + mu**2 - 1.0 - np.log(s**2))),
    ]
    _check("check_kl_standard_normal", fn, cases, ref, mistakes, arg_names=["mu", "sigma"],
           shape_hint=" (a float: sum over the latent dimensions)", nonnegative=True)


# ---------------------------------------------------------------------------
# 03 The ELBO
# ---------------------------------------------------------------------------

def _ref_entropy(probs):
    return float(entropy_categorical(probs))


@_student_check
def check_entropy_discrete(fn):
    """Check ``fn(probs) -> H`` in nats for a 1-D array of probabilities (zeros allowed)."""
    rng = _rng(301)
    cases = [np.full(30, 1 / 30), np.array([1.0]), np.array([0.5, 0.5]), np.array([1.0, 0.0, 0.0]),
             np.array([0.2, 0.0, 0.8]), np.array([0.1, 0.2, 0.3, 0.4])]
    for k in rng.integers(2, 40, size=12):
        w = rng.gamma(0.7, size=k)
        if k % 3 == 0:
            w[rng.integers(0, k, size=max(1, k // 4))] = 0.0
        w[0] += 0.1
        cases.append(w / w.sum())
    cases = [(c,) for c in cases]

    def naive(p):
        return float(-np.sum(p * np.log(p)))

    mistakes = [
        _Mistake("you get NaN when a probability is 0: by convention 0 log 0 = 0 "
                 "(use scipy.special.entr or xlogy, or leave the zero entries out of the sum).",
                 naive),
        _Mistake("you computed the entropy in bits (log base 2); the course uses nats (natural log).",
                 lambda p: _ref_entropy(p) / np.log(2)),
        _Mistake("sign error: H = -Σ p log p is never negative.",
                 lambda p: -_ref_entropy(p)),
        _Mistake("you summed log p without the weights p: H = -Σ p_k log p_k.",
                 lambda p: float(-np.sum(np.log(p[p > 0])))),
        _Mistake("wrong shape: you returned the terms -p_k log p_k; the entropy is their sum.",
                 lambda p: special.entr(p)),
    ]
    _check("check_entropy_discrete", fn, cases, _ref_entropy, mistakes, arg_names=["probs"],
           shape_hint=" (a float)")


def _gauss_logpdf(mu, sigma):
    return lambda z: -0.5 * ((z - mu) / sigma) ** 2 - np.log(sigma) - 0.5 * np.log(2 * np.pi)


def _elbo_mc_cases():
    rng = _rng(302)
    cases = []
    specs = [(0.0, 1.0, 0.0, 1.0, 0.0), (0.0, 1.0, 1.0, 0.5, 0.0), (2.0, 0.7, 1.0, 2.0, -3.2),
             (-1.0, 1.5, 0.5, 1.0, 1.7), (0.3, 0.2, 0.0, 1.0, 0.0)]
    for (m_q, s_q, m_p, s_p, log_z), n in zip(specs, [1, 5, 50, 200, 1000]):
        log_q = _Fn(_gauss_logpdf(m_q, s_q), f"<log N(z | {m_q}, {s_q}²)>")
        lp = _gauss_logpdf(m_p, s_p)
        log_joint = _Fn(lambda z, lp=lp, c=log_z: lp(z) + c, f"<log N(z | {m_p}, {s_p}²) + {log_z}>")
        cases.append((log_joint, log_q, m_q + s_q * rng.standard_normal(n)))
    return cases


def _ref_elbo_mc(log_joint, log_q, samples):
    return float(np.mean(np.asarray(log_joint(samples)) - np.asarray(log_q(samples))))


@_student_check
def check_elbo_monte_carlo(fn):
    """Check ``fn(log_joint, log_q, samples) -> float``: Monte Carlo ELBO from samples of q.

    ``log_joint`` and ``log_q`` take an array of samples and return an array of log densities.
    """
    mistakes = [
        _Mistake("sign error: the ELBO is the average of log p(x, z) - log q(z); you have "
                 "log q(z) - log p(x, z).",
                 lambda lj, lq, z: -_ref_elbo_mc(lj, lq, z)),
        _Mistake("the entropy part is missing: subtract log q(z) from log p(x, z) before averaging.",
                 lambda lj, lq, z: float(np.mean(lj(z)))),
        _Mistake("you summed over the samples; the Monte Carlo estimate is the *average*.",
                 lambda lj, lq, z: float(np.sum(lj(z) - lq(z)))),
        _Mistake("wrong shape: you returned one term per sample; the estimate is their average.",
                 lambda lj, lq, z: lj(z) - lq(z)),
        _Mistake("you averaged the ratio p/q and took its log (that is a different, biased "
                 "estimator of log p(x)); the ELBO averages log p(x, z) - log q(z).",
                 lambda lj, lq, z: float(np.log(np.mean(np.exp(lj(z) - lq(z)))))),
    ]
    _check("check_elbo_monte_carlo", fn, _elbo_mc_cases(), _ref_elbo_mc, mistakes,
           arg_names=["log_joint", "log_q", "samples"], shape_hint=" (a float)")


def _elbo_beta_pieces(a_q, b_q, heads, tails, a0, b0):
    """(E_q[log p(X, θ)], H[q]) from the library's ELBO and entropy."""
    entropy = float(entropy_beta(a_q, b_q))
    return float(elbo_beta_coin(a_q, b_q, heads, tails, a0, b0)) - entropy, entropy


@_student_check
def check_elbo_beta_coin(fn):
    """Check ``fn(a_q, b_q, heads, tails, a0, b0) -> ELBO`` of q = Beta(a_q, b_q) for the coin (nats).

    Prior Beta(a0, b0); the argument order is that of :func:`vi_lib.elbo.elbo_beta_coin`.
    """
    rng = _rng(303)
    cases = [(1.0, 1.0, 0, 0, 1.0, 1.0), (8.0, 4.0, 7, 3, 1.0, 1.0), (2.0, 2.0, 7, 3, 1.0, 1.0),
             (14.0, 9.0, 12, 4, 2.0, 5.0), (3.0, 30.0, 1, 30, 10.0, 2.0), (0.8, 1.3, 3, 9, 0.5, 0.5)]
    for _ in range(16):
        a_q, b_q = float(rng.uniform(0.5, 30)), float(rng.uniform(0.5, 30))
        a0, b0 = float(rng.uniform(0.5, 5)), float(rng.uniform(0.5, 5))
        cases.append((a_q, b_q, int(rng.integers(0, 30)), int(rng.integers(0, 30)), a0, b0))

    def piece(i, sign=1.0):
        return lambda *args: _elbo_beta_pieces(*args)[0] + sign * _elbo_beta_pieces(*args)[1] * i

    mistakes = [
        _Mistake("sign error on the entropy: ELBO = E_q[log p(X, θ)] + H[q]; you subtracted H[q].",
                 piece(1.0, -1.0)),
        _Mistake("the entropy H[q] is missing: ELBO = E_q[log p(X, θ)] + H[q] "
                 "(equivalently E_q[log p(X, θ)] - E_q[log q(θ)]).",
                 piece(0.0)),
        _Mistake("the prior's normalising constant is missing from log p(X, θ): it contains "
                 "-log B(a0, b0).",
                 lambda aq, bq, h, t, a0, b0: (elbo_beta_coin(aq, bq, h, t, a0, b0)
                                               + special.betaln(a0, b0))),
        _Mistake("you returned KL(q ‖ posterior) = log p(X) - ELBO, not the ELBO.",
                 lambda aq, bq, h, t, a0, b0: coin_log_evidence(h, t, a0, b0)
                 - elbo_beta_coin(aq, bq, h, t, a0, b0)),
        _Mistake("sign error: you returned minus the ELBO (the loss an optimiser minimises).",
                 lambda *args: -elbo_beta_coin(*args)),
        _Mistake("E_q[log θ] is ψ(a_q) - ψ(a_q + b_q) (digamma), not log of the mean "
                 "log(a_q / (a_q + b_q)).",
                 lambda aq, bq, h, t, a0, b0: ((a0 + h - 1) * np.log(aq / (aq + bq))
                                               + (b0 + t - 1) * np.log(bq / (aq + bq))
                                               - special.betaln(a0, b0)
                                               + entropy_beta(aq, bq))),
        _Mistake("the arguments are in the wrong order: the signature is "
                 "fn(a_q, b_q, heads, tails, a0, b0), as in vi_lib.elbo.elbo_beta_coin; you used "
                 "heads and tails as the prior parameters and a0, b0 as the counts.",
                 lambda aq, bq, h, t, a0, b0: (elbo_beta_coin(aq, bq, h, t, a0, b0)
                                               + special.betaln(a0, b0) - special.betaln(h, t))),
    ]
    _check("check_elbo_beta_coin", fn, cases, elbo_beta_coin, mistakes,
           arg_names=["a_q", "b_q", "heads", "tails", "a0", "b0"])


# ---------------------------------------------------------------------------
# 04 Mean-field and CAVI (factorised Gaussian approximation, Bishop §10.1.2)
# ---------------------------------------------------------------------------

def _random_precision(rng, d):
    a = rng.normal(size=(d, d))
    cov = a @ a.T + d * 0.3 * np.eye(d)
    return np.linalg.inv(cov)


def _gauss_cases(seed, with_j):
    rng = _rng(seed)
    base = [(np.array([0.0, 0.0]), np.array([[2.0, 1.8], [1.8, 2.0]]), np.array([1.0, -1.0])),
            (np.array([1.0, -1.0]), np.array([[1.0, -0.5], [-0.5, 3.0]]), np.array([0.0, 0.0])),
            (np.array([0.5, 2.0]), np.array([[4.0, 0.0], [0.0, 0.25]]), np.array([3.0, 3.0]))]
    for d in [2, 2, 2, 3, 3, 3, 4, 5, 6]:
        base.append((rng.normal(0, 2, d), _random_precision(rng, d), rng.normal(0, 2, d)))
    if not with_j:
        return base
    return [(mu, lam, m, j) for mu, lam, m in base for j in range(len(mu))]


def _ref_cavi_factor(mu, precision, m, j):
    others = [k for k in range(len(mu)) if k != j]
    lam_jj = precision[j, j]
    mean = mu[j] - precision[j, others] @ (m[others] - mu[others]) / lam_jj
    return float(mean), float(1.0 / lam_jj)


@_student_check
def check_cavi_factor(fn):
    """Check ``fn(mu, precision, m, j) -> (mean_j, var_j)``: the optimal factor q_j*.

    Target N(mu, precision⁻¹); ``m`` holds the current means of the other factors
    (``m[j]`` is ignored); ``j`` is a 0-based index.
    """
    def cov_version(mu, lam, m, j):
        return _ref_cavi_factor(mu, np.linalg.inv(lam), m, j)

    mistakes = [
        _Mistake("the variance of q_j* is 1 / Λ_jj from the *precision* matrix; (Λ⁻¹)_jj is the "
                 "marginal variance of p, which mean-field KL(q ‖ p) does not reach.",
                 lambda mu, lam, m, j: (None, np.linalg.inv(lam)[j, j])),
        _Mistake("you used the covariance where the precision Λ belongs (Bishop eq. 10.13 is "
                 "written with precision entries).",
                 cov_version),
        _Mistake("sign error in the mean: m_j = mu_j - (1/Λ_jj) Σ_{k≠j} Λ_jk (m_k - mu_k).",
                 lambda mu, lam, m, j: (2 * mu[j] - _ref_cavi_factor(mu, lam, m, j)[0], None)),
        _Mistake("you returned the standard deviation 1 / sqrt(Λ_jj); the task asks for the variance.",
                 lambda mu, lam, m, j: (None, 1.0 / np.sqrt(lam[j, j]))),
        _Mistake("the precision Λ_jj itself is not the variance: take its reciprocal.",
                 lambda mu, lam, m, j: (None, lam[j, j])),
        _Mistake("the division by Λ_jj is missing in the mean.",
                 lambda mu, lam, m, j: (mu[j] - sum(lam[j, k] * (m[k] - mu[k])
                                                    for k in range(len(mu)) if k != j), None)),
        _Mistake("the sum must leave out k = j: only the *other* factors' means enter m_j.",
                 lambda mu, lam, m, j: (mu[j] - lam[j] @ (m - mu) / lam[j, j], None)),
    ]
    _check("check_cavi_factor", fn, _gauss_cases(401, True), _ref_cavi_factor, mistakes,
           arg_names=["mu", "precision", "m", "j"], out_names=["mean_j", "var_j"])


def _ref_cavi_sweep(mu, precision, m):
    """One sweep of the library's CAVI, started at ``m``."""
    return cavi_factorized_gaussian(mu, precision, mu_init=m, max_sweeps=1).mu_q


@_student_check
def check_cavi_sweep(fn):
    """Check ``fn(mu, precision, m) -> new m``: one CAVI sweep over j = 0, ..., d-1, in order."""
    def jacobi(mu, lam, m):
        return np.array([_ref_cavi_factor(mu, lam, m, j)[0] for j in range(len(mu))])

    def backwards(mu, lam, m):
        m = np.array(m, dtype=float)
        for j in reversed(range(len(mu))):
            m[j] = _ref_cavi_factor(mu, lam, m, j)[0]
        return m

    mistakes = [
        _Mistake("you updated every coordinate from the *old* means at once (a Jacobi step); "
                 "coordinate ascent uses each new m_j immediately in the later updates.",
                 jacobi),
        _Mistake("you swept the coordinates from last to first; the task asks for j = 0, 1, ..., d-1.",
                 backwards),
        _Mistake("you returned m unchanged: update each entry in turn with the optimal-factor mean.",
                 lambda mu, lam, m: np.array(m, dtype=float)),
        _Mistake("you returned the target mean mu: that is where CAVI converges, not one sweep.",
                 lambda mu, lam, m: np.array(mu, dtype=float)),
        _Mistake("you used the covariance where the precision Λ belongs.",
                 lambda mu, lam, m: _ref_cavi_sweep(mu, np.linalg.inv(lam), m)),
    ]
    _check("check_cavi_sweep", fn, _gauss_cases(402, False), _ref_cavi_sweep, mistakes,
           arg_names=["mu", "precision", "m"], shape_hint=" (the new means, one per coordinate)")


# ---------------------------------------------------------------------------
# 05 KL direction and alpha-divergences
# ---------------------------------------------------------------------------

def _ref_mean_field_variances(cov):
    return 1.0 / np.diag(np.linalg.inv(cov)), np.diag(cov).copy()


@_student_check
def check_mean_field_variances(fn):
    """Check ``fn(cov) -> (var_reverse, var_forward)``: factorised Gaussian fits of N(mu, cov).

    ``var_reverse``: variances of the best factorised q under KL(q ‖ p);
    ``var_forward``: under KL(p ‖ q).
    """
    rng = _rng(501)
    cases = [np.array([[1.0, 0.9], [0.9, 1.0]]), np.array([[2.0, -0.5], [-0.5, 1.0]]),
             np.array([[3.0, 0.0], [0.0, 0.5]])]
    for d in [2, 2, 2, 3, 3, 4, 4, 5, 6, 8]:
        cases.append(np.linalg.inv(_random_precision(rng, d)))
    cases = [(c,) for c in cases]

    mistakes = [
        _Mistake("the two directions are swapped: KL(q ‖ p) gives the *too compact* variances "
                 "1 / Λ_jj, KL(p ‖ q) matches the marginal variances Σ_jj.",
                 lambda c: _ref_mean_field_variances(c)[::-1]),
        _Mistake("you returned standard deviations; the task asks for variances.",
                 lambda c: tuple(np.sqrt(v) for v in _ref_mean_field_variances(c))),
        _Mistake("var_reverse: you returned the precisions Λ_jj; the variances are their reciprocals "
                 "1 / Λ_jj.",
                 lambda c: (np.diag(np.linalg.inv(c)), None)),
        _Mistake("var_reverse: 1 / Σ_jj inverts the diagonal of the covariance; the KL(q ‖ p) "
                 "variances are 1 / Λ_jj with Λ = Σ⁻¹ the precision matrix.",
                 lambda c: (1.0 / np.diag(c), None)),
    ]
    _check("check_mean_field_variances", fn, cases, _ref_mean_field_variances, mistakes,
           arg_names=["cov"], out_names=["var_reverse", "var_forward"])


def _ref_alpha_divergence(p, q, dx, alpha):
    if alpha == 1:
        return float(np.sum(p * np.log(p / q)) * dx)
    if alpha == -1:
        return float(np.sum(q * np.log(q / p)) * dx)
    integral = np.sum(p ** ((1 + alpha) / 2) * q ** ((1 - alpha) / 2)) * dx
    return float(4.0 / (1.0 - alpha**2) * (1.0 - integral))


@_student_check
def check_alpha_divergence(fn):
    """Check ``fn(p, q, dx, alpha) -> D_alpha(p ‖ q)`` for densities on a uniform grid.

    Amari's alpha-divergence (Bishop 2006, eq. 10.19), with the limits alpha = 1 → KL(p ‖ q)
    and alpha = -1 → KL(q ‖ p) returned exactly.
    """
    x = np.linspace(-12.0, 12.0, 1201)
    dx = float(x[1] - x[0])
    dens = lambda m, s: np.exp(_gauss_logpdf(m, s)(x))  # noqa: E731
    mix = 0.5 * dens(-2.0, 0.8) + 0.5 * dens(2.0, 0.8)
    pairs = [(dens(0, 1), dens(0, 1)), (dens(0, 1), dens(0.5, 1.3)), (mix, dens(0.0, 2.0)),
             (mix, dens(2.0, 0.8)), (dens(-1.0, 0.6), dens(1.0, 1.5))]
    cases = [(p, q, dx, a) for p, q in pairs for a in [-1.0, -0.5, 0.0, 0.5, 1.0]]
    # |alpha| > 1: the integral exists (and the grid holds it) for equal widths.
    for p, q in [(dens(0, 1), dens(0.5, 1)), (dens(-1.0, 0.8), dens(1.0, 0.8))]:
        cases += [(p, q, dx, a) for a in [-3.0, -2.0, 2.0, 3.0]]
    ref = _ref_alpha_divergence

    def limits_swapped(p, q, dx, a):
        return ref(p, q, dx, -a) if abs(a) == 1 else ref(p, q, dx, a)

    def nan_at_limits(p, q, dx, a):
        return np.nan if abs(a) == 1 else ref(p, q, dx, a)

    mistakes = [
        _Mistake("the limits are swapped: alpha → 1 gives KL(p ‖ q) and alpha → -1 gives KL(q ‖ p).",
                 limits_swapped),
        _Mistake("the exponents are swapped: p gets (1 + alpha)/2 and q gets (1 - alpha)/2 "
                 "(you computed D_{-alpha}, i.e. the divergence of q from p).",
                 lambda p, q, dx, a: ref(p, q, dx, -a)),
        _Mistake("the factor 4 / (1 - alpha²) is missing.",
                 lambda p, q, dx, a: ref(p, q, dx, a) * (1 - a**2) / 4 if abs(a) != 1 else ref(p, q, dx, a)),
        _Mistake("you return NaN (or inf) at alpha = ±1: the formula divides by 1 - alpha² = 0 "
                 "there, so return the limits KL(p ‖ q) and KL(q ‖ p) instead.",
                 nan_at_limits),
        _Mistake("the integral is missing its grid spacing dx (a Riemann sum is Σ f(x_i) dx).",
                 lambda p, q, dx, a: ref(p, q, 1.0, a)),
        _Mistake("sign error: the divergence is 4/(1 - alpha²) (1 - ∫ ...), never negative.",
                 lambda p, q, dx, a: -ref(p, q, dx, a)),
    ]
    _check("check_alpha_divergence", fn, cases, ref, mistakes, arg_names=["p", "q", "dx", "alpha"],
           rtol=1e-6, atol=1e-8, shape_hint=" (a float)", nonnegative=True)


# ---------------------------------------------------------------------------
# 06 Gradient-based VI: the two estimators of d/dθ E_q[f(z)], q = N(mu, sigma²)
# ---------------------------------------------------------------------------

def _ref_score_grad(f_values, z, mu, sigma):
    score_mu = (z - mu) / sigma**2
    score_sigma = (z - mu) ** 2 / sigma**3 - 1.0 / sigma
    return float(np.mean(f_values * score_mu)), float(np.mean(f_values * score_sigma))


_TEST_FUNCTIONS = [
    (lambda z: z**2, lambda z: 2 * z, "z**2", "2*z"),
    (np.sin, np.cos, "sin(z)", "cos(z)"),
    (lambda z: np.log1p(np.exp(z)), lambda z: special.expit(z), "log(1 + exp(z))", "sigmoid(z)"),
    (lambda z: z**3 - z, lambda z: 3 * z**2 - 1, "z**3 - z", "3*z**2 - 1"),
]


def _gradient_specs(rng):
    """(mu, sigma, number of samples) for the gradient-estimator checks."""
    specs = [(0.0, 1.0, 1), (1.0, 0.5, 10), (-2.0, 2.0, 100), (0.5, 1.5, 1000), (3.0, 0.3, 50),
             (0.0, 1.0, 7), (-1.0, 0.8, 300), (2.0, 1.2, 20)]
    for n in [2, 5, 40, 200, 3, 64, 500, 13]:
        specs.append((float(rng.normal(0, 2)), float(rng.uniform(0.3, 2.0)), n))
    return specs


@_student_check
def check_score_function_grad(fn):
    """Check ``fn(f_values, z, mu, sigma) -> (grad_mu, grad_sigma)``: score-function estimator.

    ``z`` are samples of N(mu, sigma²), ``f_values = f(z)``.
    """
    rng = _rng(601)
    cases = []
    for (f, _, _, _), (mu, sigma, n) in zip(_TEST_FUNCTIONS * 5,
                                             _gradient_specs(rng)):
        z = mu + sigma * rng.standard_normal(n)
        cases.append((f(z), z, mu, sigma))
    ref = _ref_score_grad
    mistakes = [
        _Mistake("grad_mu: the score of the mean is (z - mu) / sigma², with the variance; "
                 "you divided by sigma.",
                 lambda fv, z, mu, s: (float(np.mean(fv * (z - mu) / s)), None)),
        _Mistake("grad_sigma: the term -1/sigma of the score d/dsigma log q is missing: "
                 "(z - mu)² / sigma³ - 1 / sigma.",
                 lambda fv, z, mu, s: (None, float(np.mean(fv * (z - mu) ** 2 / s**3)))),
        _Mistake("grad_sigma: you differentiated with respect to the variance sigma², not the "
                 "standard deviation sigma.",
                 lambda fv, z, mu, s: (None, float(np.mean(fv * ((z - mu) ** 2 / (2 * s**4)
                                                                 - 1 / (2 * s**2)))))),
        _Mistake("sign error: the score of the mean is +(z - mu) / sigma² and d/dsigma log q is "
                 "+(z - mu)²/sigma³ - 1/sigma.",
                 lambda fv, z, mu, s: tuple(-g for g in ref(fv, z, mu, s))),
        _Mistake("f(z) is missing: the estimator averages f(z) times the score, not the score alone.",
                 lambda fv, z, mu, s: ref(np.ones_like(fv), z, mu, s)),
    ]
    _check("check_score_function_grad", fn, cases, ref, mistakes,
           arg_names=["f_values", "z", "mu", "sigma"], out_names=["grad_mu", "grad_sigma"])


def _ref_reparam_grad(df, mu, sigma, eps):
    g = np.asarray(df(mu + sigma * eps))
    return float(np.mean(g)), float(np.mean(g * eps))


@_student_check
def check_reparam_grad(fn):
    """Check ``fn(df, mu, sigma, eps) -> (grad_mu, grad_sigma)``: reparameterisation estimator.

    ``eps`` are standard normal draws, ``df`` is the derivative f' (vectorised).
    """
    rng = _rng(602)
    cases = []
    for (_, df, _, dtext), (mu, sigma, n) in zip(_TEST_FUNCTIONS * 5,
                                                  _gradient_specs(rng)):
        cases.append((_Fn(df, f"<df(z) = {dtext}>"), mu, sigma, rng.standard_normal(n)))
    ref = _ref_reparam_grad
    mistakes = [
        _Mistake("grad_sigma: the chain rule gives f'(mu + sigma·eps) · eps; the factor eps is missing.",
                 lambda df, mu, s, e: (None, float(np.mean(df(mu + s * e))))),
        _Mistake("grad_sigma: d z / d sigma is eps, not z = mu + sigma·eps.",
                 lambda df, mu, s, e: (None, float(np.mean(df(mu + s * e) * (mu + s * e))))),
        _Mistake("you evaluated f' at eps; it must be evaluated at the sample z = mu + sigma·eps.",
                 lambda df, mu, s, e: (float(np.mean(df(e))), float(np.mean(df(e) * e)))),
        _Mistake("grad_sigma: d z / d sigma is eps, not sigma.",
                 lambda df, mu, s, e: (None, float(np.mean(df(mu + s * e)) * s))),
        _Mistake("the samples must be z = mu + sigma·eps with sigma the standard deviation; "
                 "you scaled eps by the variance sigma².",
                 lambda df, mu, s, e: ref(df, mu, s**2, e)),
    ]
    _check("check_reparam_grad", fn, cases, ref, mistakes,
           arg_names=["df", "mu", "sigma", "eps"], out_names=["grad_mu", "grad_sigma"])


# ---------------------------------------------------------------------------
# 07 Worked examples: Bayesian linear regression and the VAE's KL term
# ---------------------------------------------------------------------------

def _blr_cases(seed, with_y=True):
    rng = _rng(seed)
    cases = []
    for n, d, alpha, beta in [(1, 1, 1.0, 1.0), (5, 2, 2.0, 25.0), (20, 2, 0.5, 4.0),
                              (30, 3, 1.0, 100.0), (6, 4, 10.0, 0.5), (50, 5, 0.1, 9.0)]:
        x = rng.normal(size=(n, d))
        y = x @ rng.normal(size=d) + rng.normal(0, 1 / np.sqrt(beta), n)
        cases.append((x, y, alpha, beta) if with_y else (x, alpha, beta))
    return cases


def _sds(alpha, beta):
    """(noise_sd, prior_sd) of vi_lib.models.linear_regression from the precisions beta, alpha."""
    return 1.0 / np.sqrt(beta), 1.0 / np.sqrt(alpha)


def _ref_blr_posterior(X, y, alpha, beta):
    return blr_posterior(X, y, *_sds(alpha, beta))


@_student_check
def check_blr_posterior(fn):
    """Check ``fn(X, y, alpha, beta) -> (mean, cov)``: exact posterior of Bayesian linear regression.

    Prior w ~ N(0, alpha⁻¹ I), likelihood y ~ N(X w, beta⁻¹ I) (alpha, beta are precisions).
    """
    ref = _ref_blr_posterior
    mistakes = [
        _Mistake("beta is the noise *precision*, not its variance: the posterior precision is "
                 "alpha I + beta XᵀX and the mean beta S Xᵀ y.",
                 lambda X, y, a, b: ref(X, y, a, 1.0 / b)),
        _Mistake("alpha is the prior *precision*, not its variance: the posterior precision is "
                 "alpha I + beta XᵀX.",
                 lambda X, y, a, b: ref(X, y, 1.0 / a, b)),
        _Mistake("alpha and beta are swapped: alpha is the prior precision, beta the noise precision.",
                 lambda X, y, a, b: ref(X, y, b, a)),
        _Mistake("mean: the factor beta is missing, mean = beta S Xᵀ y.",
                 lambda X, y, a, b: (ref(X, y, a, b)[1] @ X.T @ y, None)),
        _Mistake("the prior term alpha I is missing from the posterior precision (that is least "
                 "squares, not Bayes).",
                 lambda X, y, a, b: (np.linalg.solve(X.T @ X, X.T @ y), np.linalg.inv(b * X.T @ X))),
        _Mistake("cov: you returned the posterior precision matrix A = alpha I + beta XᵀX; the "
                 "covariance is its inverse.",
                 lambda X, y, a, b: (None, blr_precision(X, *_sds(a, b)))),
    ]
    _check("check_blr_posterior", fn, _blr_cases(701), ref, mistakes,
           arg_names=["X", "y", "alpha", "beta"], out_names=["mean", "cov"])


def _ref_mf_blr_variances(X, alpha, beta):
    return 1.0 / np.diag(blr_precision(X, *_sds(alpha, beta)))


@_student_check
def check_mean_field_blr_variances(fn):
    """Check ``fn(X, alpha, beta) -> var``: variances of the mean-field KL(q ‖ p) fit, 1 / A_ii."""
    mistakes = [
        _Mistake("you returned the exact marginal variances diag(A⁻¹) (what KL(p ‖ q) would give); "
                 "mean-field KL(q ‖ p) gives 1 / A_ii, with A the posterior precision.",
                 lambda X, a, b: np.diag(np.linalg.inv(a * np.eye(X.shape[1]) + b * X.T @ X))),
        _Mistake("you returned the precisions A_ii; the variances are their reciprocals.",
                 lambda X, a, b: np.diag(a * np.eye(X.shape[1]) + b * X.T @ X)),
        _Mistake("you returned standard deviations; the task asks for variances.",
                 lambda X, a, b: np.sqrt(_ref_mf_blr_variances(X, a, b))),
        _Mistake("beta is the noise precision, not its variance.",
                 lambda X, a, b: _ref_mf_blr_variances(X, a, 1.0 / b)),
    ]
    _check("check_mean_field_blr_variances", fn, _blr_cases(702, with_y=False), _ref_mf_blr_variances,
           mistakes, arg_names=["X", "alpha", "beta"], shape_hint=" (one variance per weight)")


def _ref_vae_kl(mu, log_var):
    return kl_mvn_diag(mu, np.exp(0.5 * log_var), np.zeros_like(mu), np.ones_like(mu))


@_student_check
def check_vae_kl(fn):
    """Check ``fn(mu, log_var) -> kl``: per-row KL(N(mu_i, diag exp(log_var_i)) ‖ N(0, I)).

    ``mu`` and ``log_var`` have shape (n, d); the result has shape (n,).
    """
    rng = _rng(703)
    cases = [(np.zeros((1, 1)), np.zeros((1, 1))), (np.zeros((3, 2)), np.zeros((3, 2))),
             (np.array([[1.0, -1.0]]), np.array([[0.5, -0.5]]))]
    for n, d in [(4, 2), (2, 5), (8, 3), (16, 8), (5, 1), (3, 4)]:
        cases.append((rng.normal(0, 1.2, (n, d)), rng.normal(0, 0.8, (n, d))))
    ref = _ref_vae_kl

    def seed003(mu, lv, const):
        return 0.5 * (np.exp(np.sum(lv, 1)) + np.sum(mu**2, 1) - const - np.sum(lv, 1))

    mistakes = [
        _Mistake("product of variances |Σ| where the trace tr(Σ) belongs, and -1/2 where -d/2 "
                 "belongs: the error of seed 003. E[zᵀz] = tr(Σ) + μᵀμ.",
                 lambda mu, lv: seed003(mu, lv, 1.0)),
        _Mistake("product of variances |Σ| (a determinant) where the trace tr(Σ) belongs: "
                 "E[zᵀz] = tr(Σ) + μᵀμ.",
                 lambda mu, lv: seed003(mu, lv, mu.shape[1])),
        _Mistake("the constant is -1/2 but it must be -d/2 (the 1 inside the sum counts once "
                 "per latent dimension).",
                 lambda mu, lv: ref(mu, lv) + 0.5 * (mu.shape[1] - 1)),
        _Mistake("you treated log_var as log sigma: the variance is exp(log_var), not exp(2·log_var).",
                 lambda mu, lv: ref(mu, 2 * lv)),
        _Mistake("sign error: the KL is -½ Σ (1 + log_var - mu² - exp(log_var)), never negative.",
                 lambda mu, lv: -ref(mu, lv)),
        _Mistake("wrong axis: you summed over the batch (axis 0); sum over the latent "
                 "dimensions (axis 1) to get one KL per row.",
                 lambda mu, lv: -0.5 * np.sum(1.0 + lv - mu**2 - np.exp(lv), axis=0)),
        _Mistake("wrong shape: you summed over the whole batch; return one KL per row, shape (n,).",
                 lambda mu, lv: np.sum(ref(mu, lv))),
        _Mistake("wrong shape: you returned the (n, d) per-dimension terms; sum over axis 1.",
                 lambda mu, lv: -0.5 * (1.0 + lv - mu**2 - np.exp(lv))),
    ]
    _check("check_vae_kl", fn, cases, ref, mistakes, arg_names=["mu", "log_var"],
           shape_hint=" (one KL per row of mu)", nonnegative=True)


def _ref_elbo_logit_normal(mu_q, sigma_q, heads, tails, a0, b0, jacobian=True):
    """The library's quadrature ELBO; ``jacobian=False`` drops log |dtheta/deta| (a mistake)."""
    def log_joint(eta):
        value = coin_log_joint_logit(eta, heads, tails, a0, b0)
        # log theta + log(1 - theta) = -log(1 + e^-eta) - log(1 + e^eta)
        return value if jacobian else value + np.logaddexp(0.0, -eta) + np.logaddexp(0.0, eta)
    return float(elbo_gaussian_quadrature(log_joint, mu_q, sigma_q))  # 64 nodes


def _logit_elbo_parts(mu_q, sigma_q, heads, tails, a0, b0):
    """(E_q[log p(X, eta)], H[q])."""
    entropy = float(entropy_normal(sigma_q))
    return _ref_elbo_logit_normal(mu_q, sigma_q, heads, tails, a0, b0) - entropy, entropy


@_student_check
def check_elbo_logit_normal(fn):
    """Check ``fn(mu_q, sigma_q, heads, tails, a0, b0) -> ELBO`` of q(eta) = N(mu_q, sigma_q²) on the logit.

    The coin toss with prior Beta(a0, b0) on theta = sigmoid(eta); the log joint in eta
    includes the Jacobian log theta(1 - theta) (:func:`vi_lib.models.coin_log_joint_logit`,
    same order of the data arguments). The result is in nats.
    """
    rng = _rng(704)
    cases = [(0.0, 1.0, 0, 0, 1.0, 1.0), (0.8, 0.6, 7, 3, 1.0, 1.0), (0.0, 0.1, 5, 5, 2.0, 2.0),
             (-1.5, 0.3, 4, 12, 2.0, 5.0), (2.0, 1.5, 20, 2, 0.5, 0.5)]
    for _ in range(15):
        mu_q, sigma_q = float(rng.normal(0, 1.5)), float(rng.uniform(0.1, 2.0))
        a0, b0 = float(rng.uniform(0.5, 5)), float(rng.uniform(0.5, 5))
        cases.append((mu_q, sigma_q, int(rng.integers(0, 30)), int(rng.integers(0, 30)), a0, b0))
    parts = _logit_elbo_parts
    ref = _ref_elbo_logit_normal
    mistakes = [
        _Mistake("the Jacobian is missing: in the logit eta the log joint gains "
                 "log |dtheta/deta| = log theta + log(1 - theta), so the exponents become "
                 "a0 + heads and b0 + tails.",
                 lambda *args: ref(*args, jacobian=False)),
        _Mistake("the entropy of q is missing: ELBO = E_q[log p(X, eta)] + H[q], with "
                 "H[N(mu_q, sigma_q²)] = ½ log(2 pi e sigma_q²).",
                 lambda *args: parts(*args)[0]),
        _Mistake("sign error on the entropy: ELBO = E_q[log p(X, eta)] + H[q].",
                 lambda *args: parts(*args)[0] - parts(*args)[1]),
        _Mistake("the entropy of N(mu_q, sigma_q²) is ½ log(2 pi e sigma_q²) with the variance "
                 "sigma_q², not the standard deviation sigma_q.",
                 lambda m, s, *rest: parts(m, s, *rest)[0] + 0.5 * np.log(2 * np.pi * np.e * s)),
        _Mistake("the entropy of N(mu_q, sigma_q²) is ½ log(2 pi e sigma_q²): the e (a +½) is "
                 "missing.",
                 lambda *args: sum(parts(*args)) - 0.5),
        _Mistake("the prior's normalising constant -log B(a0, b0) is missing from the log joint.",
                 lambda m, s, h, t, a0, b0: ref(m, s, h, t, a0, b0) + special.betaln(a0, b0)),
        _Mistake("heads and tails are swapped: heads go with log sigmoid(eta) = log theta.",
                 lambda m, s, h, t, a0, b0: ref(m, s, t, h, a0, b0)),
        _Mistake("the arguments are in the wrong order: the signature is "
                 "fn(mu_q, sigma_q, heads, tails, a0, b0), the data in the order of "
                 "vi_lib.models.coin_log_joint_logit; you used heads and tails as the prior "
                 "parameters and a0, b0 as the counts.",
                 lambda m, s, h, t, a0, b0: (ref(m, s, h, t, a0, b0) + special.betaln(a0, b0)
                                             - special.betaln(h, t))),
    ]
    _check("check_elbo_logit_normal", fn, cases, ref, mistakes,
           arg_names=["mu_q", "sigma_q", "heads", "tails", "a0", "b0"], rtol=1e-6, atol=1e-8)
