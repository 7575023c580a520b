"""Shared machinery of the exercise checks: run a student's function, judge, explain.

Every topic module of :mod:`vi_lib.checks` builds its checks from these helpers
(their names are stable; new helpers are added, existing ones are not renamed):

- :class:`Mistake` -- a known wrong answer and the message that names it;
- :class:`Fn` -- a callable input with a readable description for messages;
- :func:`run_check` -- call the student's function on every case, compare with the
  reference, name the first known mistake that explains the outputs, raise
  :class:`CheckFailed` with a message otherwise;
- :func:`student_check` -- decorator for a public ``check_<task>`` function;
- :func:`seeded_rng`, :func:`gauss_logpdf`, :func:`random_precision` -- inputs;
- :func:`fmt`, :func:`fmt_inputs` -- how values appear in messages.
"""

from __future__ import annotations

import copy
import textwrap
import warnings
from dataclasses import dataclass
from typing import Callable

import numpy as np

RTOL = 1e-6
ATOL = 1e-9


class CheckFailed(AssertionError):
    """A check's verdict: the student's answer is wrong (the message says why).

    A subclass of :class:`AssertionError`, so that ``pytest.raises(AssertionError)``
    and plain ``except AssertionError`` still catch it.
    """


class Fn:
    """A callable input with a readable description (shown in failure messages)."""

    def __init__(self, fn, text):
        self._fn = fn
        self._text = text

    def __call__(self, *args, **kwargs):
        return self._fn(*args, **kwargs)

    def __repr__(self):
        return self._text


@dataclass
class Mistake:
    """A known wrong answer: ``wrong(*args)`` computes it, ``message`` names it.

    For a function with several outputs, ``wrong`` may return ``None`` for the
    outputs the mistake does not affect; only the others are compared.
    """

    message: str
    wrong: Callable


def fmt(x):
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


def fmt_inputs(names, args):
    return ", ".join(f"{n}={fmt(a)}" for n, a in zip(names, args))


def fmt_parts(parts, out_names):
    if len(parts) == 1:
        return fmt(parts[0])
    return "(" + ", ".join(f"{n}={fmt(p)}" for n, p in zip(out_names, parts) if p is not None) + ")"


def wrap(text, width=76):
    """Wrap a message's headline, so that it reads well in a notebook and in the book."""
    return textwrap.fill(text, width=width, subsequent_indent="  ", break_long_words=False,
                         break_on_hyphens=False)


def as_parts(value, n_out):
    """A reference or mistake value as a tuple of float arrays (None kept)."""
    parts = (value,) if n_out == 1 else tuple(value)
    return tuple(None if p is None else np.asarray(p, dtype=float) for p in parts)


def quietly(fn, *args):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with np.errstate(all="ignore"):
            return fn(*args)


def normalise(value, n_out, out_names):
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


def matches(got, target, rtol=RTOL, atol=ATOL):
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


def run_check(name, student_fn, cases, reference, mistakes=(), *, arg_names, out_names=None,
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
    mistakes : sequence of Mistake
        Known wrong answers, tried in order; the first one that the student's
        outputs match on every case (and that differs from the reference on at
        least one) is named in the message.
    arg_names, out_names : list of str
        Names of the inputs and of the outputs (several outputs = a tuple).
    """
    out_names = list(out_names or ["result"])
    n_out = len(out_names)
    if not callable(student_fn):
        raise CheckFailed(f"{name}: expected your function, got a {type(student_fn).__name__}. "
                             f"Pass the function itself, without calling it: {name}(my_function).")

    records = []
    for args in cases:
        expected = as_parts(quietly(reference, *args), n_out)
        try:
            raw = quietly(student_fn, *copy.deepcopy(args))
        except NotImplementedError:
            raise CheckFailed(
                f"{name}: not implemented yet. Replace the line `raise NotImplementedError(...)` "
                f"with your code, then run this cell again.") from None
        except Exception as err:
            raise CheckFailed(
                f"{name}: your function raised {type(err).__name__}: {err}\n"
                f"  on input: {fmt_inputs(arg_names, args)}\n"
                f"  (the traceback above shows the line)") from err
        got, problem = normalise(raw, n_out, out_names)
        if problem:
            raise CheckFailed(f"{name}: {problem}\n  on input: {fmt_inputs(arg_names, args)}")
        records.append((args, expected, got))

    if all(matches(got, exp, rtol, atol) for _, exp, got in records):
        print(success or f"✓ {name}: correct on all {len(records)} test inputs.")
        return None

    found = []  # (number of outputs compared, order, mistake, first input where it differs)
    for order, mistake in enumerate(mistakes):
        try:
            targets = [as_parts(quietly(mistake.wrong, *args), n_out) for args, _, _ in records]
        except Exception:  # a wrong variant that cannot be computed here is skipped
            continue
        if not all(matches(got, t, rtol, atol) for (_, _, got), t in zip(records, targets)):
            continue
        differs = [i for i, ((_, exp, _), t) in enumerate(zip(records, targets))
                   if not matches(exp, t, rtol, atol)]
        if differs:
            n_compared = sum(t is not None for t in targets[0])
            found.append((-n_compared, order, mistake, differs[0]))
    if found:
        # The most specific explanation wins: one that accounts for every output.
        _, _, mistake, first = min(found, key=lambda item: item[:2])
        args, exp, got = records[first]
        raise CheckFailed(
            wrap(f"{name}: {mistake.message}") + "\n"
            f"  for example, on input: {fmt_inputs(arg_names, args)}\n"
            f"  expected: {fmt_parts(exp, out_names)}\n"
            f"  received: {fmt_parts(got, out_names)}")

    for args, exp, got in records:
        if matches(got, exp, rtol, atol):
            continue
        where = fmt_inputs(arg_names, args)
        for n, g, e in zip(out_names, got, exp):
            label = "your function" if n_out == 1 else f"`{n}`"
            if g.shape != e.shape:
                raise CheckFailed(
                    f"{name}: wrong shape: {label} has shape {g.shape}, expected {e.shape}"
                    f"{shape_hint}\n  on input: {where}")
            if not np.all(np.isfinite(g)) and np.all(np.isfinite(e)):
                bad = "NaN" if np.any(np.isnan(g)) else "an infinite value"
                raise CheckFailed(
                    f"{name}: {label} returned {bad} (received {fmt(g)}, expected {fmt(e)})\n"
                    f"  on input: {where}\n"
                    f"  Look for log or sqrt of a negative number or of zero, 0/0, or inf - inf.")
        notes = []
        if n_out > 1:
            ok = [f"`{n}`" for n, g, e in zip(out_names, got, exp) if matches((g,), (e,), rtol, atol)]
            bad = [f"`{n}`" for n, g, e in zip(out_names, got, exp) if not matches((g,), (e,), rtol, atol)]
            notes.append(f"  wrong: {', '.join(bad)}" + (f"; right: {', '.join(ok)}" if ok else ""))
        if nonnegative and any(np.any(g < -atol) for g in got):
            notes.append("  Note: your result is negative, but a divergence is never negative.")
        raise CheckFailed(
            f"{name}: wrong value (not one of the mistakes this check knows)\n"
            f"  on input: {where}\n"
            f"  expected: {fmt_parts(exp, out_names)}\n"
            f"  received: {fmt_parts(got, out_names)}"
            + "".join("\n" + n for n in notes))
    raise CheckFailed(f"{name}: internal error, please report it")  # pragma: no cover


def seeded_rng(seed):
    """A NumPy Generator seeded with ``seed`` (one per check, so inputs never change)."""
    return np.random.default_rng(seed)


def gauss_logpdf(mu, sigma):
    return lambda z: -0.5 * ((z - mu) / sigma) ** 2 - np.log(sigma) - 0.5 * np.log(2 * np.pi)


def random_precision(rng, d):
    a = rng.normal(size=(d, d))
    cov = a @ a.T + d * 0.3 * np.eye(d)
    return np.linalg.inv(cov)


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


def student_check(check):
    """Decorator: append the Parameters/Returns/Raises sections shared by every check."""
    check.__doc__ = (check.__doc__ or "").rstrip() + "\n" + _CHECK_DOC
    return check


