"""Shared machinery of the exercise checks: run a student's function, judge, explain.

Every topic module of :mod:`vi_lib.checks` builds its checks from these helpers
(their names are stable; new helpers are added, existing ones are not renamed):

- :class:`Mistake` -- a known wrong answer and the message that names it
  (``accepted=True``: a different but correct answer, passed with a note);
- :class:`Stress` -- an input on which a fragile formula over- or underflows, with
  the cause and the stable function to use;
- :class:`Fn`, :class:`Labelled` -- a callable or an array input with a readable
  description for messages ("N(0, 1) on [-12, 12], 1201 points");
- :func:`run_check` -- call the student's function on every case, compare with the
  reference (tolerances follow the precision of the answer), name the first known
  mistake that explains the outputs, raise :class:`CheckFailed` otherwise;
- :func:`student_check` -- decorator for a public ``check_<task>`` function (records
  the verdict for :func:`vi_lib.checks.summary`);
- :func:`seeded_rng`, :func:`gauss_logpdf`, :func:`random_precision` -- inputs;
- :func:`fmt`, :func:`fmt_inputs` -- how values appear in messages;
- :func:`grading_mode` -- True inside ``python -m vi_lib.checks.grade``.
"""

from __future__ import annotations

import contextlib
import copy
import functools
import inspect
import io
import os
import pathlib
import sys
import textwrap
import traceback
import warnings
from dataclasses import dataclass
from typing import Callable, NamedTuple

import numpy as np

RTOL = 1e-6
ATOL = 1e-9
#: Tolerances for answers computed in single precision (float32, e.g. JAX's default):
#: a correct float32 formula is off by ~1e-7 per operation and ~1e-5 after sums.
RTOL_SINGLE = 1e-4
ATOL_SINGLE = 1e-5
#: Environment variable set by the grader (``python -m vi_lib.checks.grade``).
GRADING_ENV = "VI_LIB_CHECKS_GRADING"

_HERE = pathlib.Path(__file__).resolve().parent


def grading_mode() -> bool:
    """True when the checks run inside the instructors' grader."""
    return os.environ.get(GRADING_ENV) == "1"


class CheckFailed(AssertionError):
    """A check's verdict: the student's answer is wrong (the message says why).

    A subclass of :class:`AssertionError`, so that ``pytest.raises(AssertionError)``
    and plain ``except AssertionError`` still catch it. In IPython/Jupyter only the
    message is shown (``_render_traceback_``), not the frames inside the checks; when
    the student's own code raised, its frames are shown under the message.

    Attributes
    ----------
    kind : str
        ``"wrong"`` (a wrong answer), ``"not implemented"`` or ``"error"`` (the
        student's function raised).
    """

    def __init__(self, message, kind="wrong", student_error=None):
        super().__init__(message)
        self.kind = kind
        self.student_error = student_error

    def _render_traceback_(self):
        lines = [f"{type(self).__name__}: {self.args[0]}"]
        err = self.student_error
        if err is not None and err.__traceback__ is not None:
            frames = [f for f in traceback.extract_tb(err.__traceback__)
                      if not pathlib.Path(f.filename).resolve().is_relative_to(_HERE)]
            if frames:
                lines.append("\nWhere your code raised it:")
                lines.extend("".join(traceback.format_list(frames)).rstrip().splitlines())
                lines.append(f"{type(err).__name__}: {err}")
        return lines


class Fn:
    """A callable input with a readable description (shown in failure messages)."""

    def __init__(self, fn, text):
        self._fn = fn
        self._text = text

    def __call__(self, *args, **kwargs):
        return self._fn(*args, **kwargs)

    def __repr__(self):
        return self._text


class Labelled(NamedTuple):
    """An input ``value`` shown as ``text`` in messages; the student's function gets ``value``."""

    value: object
    text: str


@dataclass
class Mistake:
    """A known wrong answer: ``wrong(*args)`` computes it, ``message`` names it.

    For a function with several outputs, ``wrong`` may return ``None`` for the
    outputs the mistake does not affect; only the others are compared. With
    ``accepted=True`` the variant is a *correct* alternative (an unbiased estimator
    with a baseline, say): it passes, and ``message`` is printed as a note.
    """

    message: str
    wrong: Callable
    accepted: bool = False


class Stress(NamedTuple):
    """An input where a fragile (naive) formula over- or underflows.

    ``cause`` names what breaks and the stable function to use, e.g. "the Beta
    function underflows; use `scipy.special.betaln`". Stress inputs are tried after
    the ordinary ones pass, and only for double-precision answers.
    """

    args: tuple
    cause: str


def _plain(x):
    return x.value if isinstance(x, Labelled) else x


def _plain_args(args):
    return tuple(_plain(a) for a in args)


def fmt(x, digits=6):
    """A value as it appears in a message (arrays shortened)."""
    if isinstance(x, Labelled):
        return x.text
    if isinstance(x, (bool, np.bool_)):
        return repr(bool(x))
    if isinstance(x, (int, np.integer)):
        return str(int(x))
    if isinstance(x, (float, np.floating)):
        return f"{float(x):.{digits}g}"
    if isinstance(x, np.ndarray):
        if x.ndim == 0:
            return fmt(float(x), digits)
        with np.printoptions(precision=max(4, digits - 2), threshold=12, edgeitems=3,
                             suppress=False):
            text = np.array2string(x, separator=", ")
        return " ".join(text.split())
    return repr(x)


def fmt_inputs(names, args):
    """``name=value, ...`` for the inputs of one case."""
    return ", ".join(f"{n}={fmt(a)}" for n, a in zip(names, args))


def fmt_parts(parts, out_names, digits=6):
    if len(parts) == 1:
        return fmt(parts[0], digits)
    return "(" + ", ".join(f"{n}={fmt(p, digits)}" for n, p in zip(out_names, parts)
                           if p is not None) + ")"


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


def _precision(p):
    """Machine epsilon of the answer's floating type (float64 for Python numbers)."""
    dtype = getattr(p, "dtype", None)
    if dtype is None and isinstance(p, (tuple, list)) and p:
        return max(_precision(x) for x in p)
    try:
        if dtype is not None and np.issubdtype(np.dtype(dtype), np.floating):
            return float(np.finfo(np.dtype(dtype)).eps)
    except TypeError:
        pass
    return float(np.finfo(np.float64).eps)


def normalise(value, n_out, out_names):
    """The student's value as a tuple of float arrays, or (None, problem).

    Containers are accepted as long as they unpack into the documented outputs: a
    tuple, a list or an array of ``n_out`` entries (a 2 x d array for a pair of
    vectors), JAX arrays, NumPy scalars.
    """
    if value is None:
        return None, "your function returned None: did you forget the `return` statement?"
    if n_out == 1:
        parts = (value,)
    else:
        parts = None
        if not isinstance(value, (str, bytes, dict, set)) and not callable(value):
            try:
                parts = tuple(value)
            except TypeError:
                parts = None
        if parts is None or len(parts) != n_out:
            kind = type(value).__name__
            size = f" of length {len(parts)}" if parts is not None else ""
            return None, (f"your function should return a tuple of {n_out} values "
                          f"({', '.join(out_names)}; any container of {n_out} entries works), "
                          f"but returned a {kind}{size}")
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


def _same_shape(g, t):
    """``g`` reshaped to ``t``'s shape when they differ only by axes of length 1, else None."""
    if g.shape == t.shape:
        return g
    if g.size == t.size and np.squeeze(g).shape == np.squeeze(t).shape:
        return g.reshape(t.shape)
    return None


def matches(got, target, rtol=RTOL, atol=ATOL):
    """True when every compared output of ``target`` (None = ignored) equals ``got``."""
    compared = False
    for g, t in zip(got, target):
        if t is None:
            continue
        compared = True
        g = _same_shape(g, t)
        if g is None:
            return False
        if not np.allclose(g, t, rtol=rtol, atol=atol, equal_nan=True):
            return False
    return compared


def _rel_error(g, e):
    g, e = np.asarray(g, dtype=float), np.asarray(e, dtype=float)
    with np.errstate(all="ignore"):
        err = np.abs(g - e) / np.maximum(np.abs(e), np.finfo(float).tiny)
    err = err[np.isfinite(err)] if err.ndim else (err if np.isfinite(err) else np.array(np.inf))
    return float(np.max(err)) if np.size(err) else float("inf")


def _digits_to_differ(got, exp):
    """Enough significant digits to show that ``got`` and ``exp`` differ (6 to 17)."""
    for digits in range(6, 18):
        if fmt(got, digits) != fmt(exp, digits):
            return digits
    return 17


def _code_names(fn, depth=2):
    """Global names used by ``fn`` (and by functions it defines), for helper detection."""
    code = getattr(inspect.unwrap(fn), "__code__", None)
    names, stack = set(), [(code, 0)] if code is not None else []
    while stack:
        c, d = stack.pop()
        names.update(c.co_names)
        if d < depth:
            stack.extend((k, d + 1) for k in c.co_consts if inspect.iscode(k))
    return names


@contextlib.contextmanager
def _watch_calls(targets, seen):
    """Record in ``seen`` which of the code objects ``targets`` are called (grading mode)."""
    if not targets:
        yield
        return

    def profile(frame, event, arg):
        if event == "call" and frame.f_code in targets:
            seen.add(targets[frame.f_code])

    previous = sys.getprofile()
    sys.setprofile(profile)
    try:
        yield
    finally:
        sys.setprofile(previous)


def _delegate_codes(delegates):
    codes = {}
    for f in delegates:
        f = inspect.unwrap(getattr(f, "func", f))
        code = getattr(f, "__code__", None)
        if code is not None:
            codes[code] = f"{f.__module__}.{f.__qualname__}"
    return codes


def _helper_failure(student_fn, helpers):
    """(name, message) of the first helper the student's function uses that fails its check."""
    used = _code_names(student_fn)
    namespace = getattr(inspect.unwrap(student_fn), "__globals__", {})
    for helper_name, helper_check in (helpers or {}).items():
        helper = namespace.get(helper_name)
        if helper_name not in used or not callable(helper):
            continue
        raw_check = getattr(helper_check, "__wrapped__", helper_check)
        try:
            with contextlib.redirect_stdout(io.StringIO()):
                raw_check(helper)
        except CheckFailed as err:
            return helper_name, str(err)
    return None


def run_check(name, student_fn, cases, reference, mistakes=(), *, arg_names, out_names=None,
              rtol=RTOL, atol=ATOL, shape_hint="", success=None, nonnegative=False,
              stress=(), unchanged=(), helpers=None, delegates=()):
    """Run ``student_fn`` on every case and judge it against ``reference``.

    Parameters
    ----------
    name : str
        Name of the public check (used in messages).
    student_fn : callable
        The student's function.
    cases : list of tuple
        Positional arguments for each call (an argument may be a :class:`Labelled`).
    reference : callable
        The correct answer, ``reference(*case)``.
    mistakes : sequence of Mistake
        Known wrong answers, tried in order; the first one that the student's
        outputs match on every case (and that differs from the reference on at
        least one) is named in the message. An ``accepted`` one passes with a note.
    arg_names, out_names : list of str
        Names of the inputs and of the outputs (several outputs = a tuple).
    rtol, atol : float
        Tolerances for double-precision answers; single-precision answers get at
        least :data:`RTOL_SINGLE`, :data:`ATOL_SINGLE`.
    stress : sequence of Stress
        Inputs where fragile formulas fail, tried once the ordinary cases pass.
    unchanged : sequence of str
        Arguments the student's function must not modify in place ("update a copy").
    helpers : dict of str to check function
        Functions of the student's notebook this task builds on (``{"cavi_factor":
        check_cavi_factor}``): when the answer is wrong or unfinished and uses a helper
        that fails its own check, the message says to fix the helper first.
    delegates : sequence of callable
        The course library's functions that compute this task's answer; in grading
        mode a call to one of them fails the check.

    Raises
    ------
    CheckFailed
        With the message described in the module docstring.
    """
    out_names = list(out_names or ["result"])
    n_out = len(out_names)
    if not callable(student_fn):
        raise CheckFailed(f"{name}: expected your function, got a {type(student_fn).__name__}. "
                          f"Pass the function itself, without calling it: {name}(my_function).")

    def fail_helper_first():
        found = _helper_failure(student_fn, helpers)
        if found:
            helper, message = found
            headline = " ".join(message.split()).split(": ", 1)[-1].split(" on input:")[0]
            raise CheckFailed(wrap(f"{name}: your function calls `{helper}`, which does not pass "
                                   f"its own check yet: fix `{helper}` first.") + "\n" +
                              wrap(f"  ({helper}: {headline[:200]})"), kind="wrong")

    targets = _delegate_codes(delegates) if grading_mode() else {}
    delegated = set()

    def call(args, cause=None):
        expected = as_parts(quietly(reference, *_plain_args(args)), n_out)
        given = copy.deepcopy(_plain_args(args))
        try:
            with _watch_calls(targets, delegated):
                raw = quietly(student_fn, *given)
        except NotImplementedError as err:
            fail_helper_first()
            raise CheckFailed(
                f"{name}: not implemented yet. Replace the line `raise NotImplementedError(...)` "
                f"with your code, then run this cell again.", kind="not implemented",
                student_error=None) from err
        except Exception as err:
            fail_helper_first()
            if cause is not None:
                raise CheckFailed(
                    wrap(f"{name}: right on the ordinary inputs, but not on an extreme one: "
                         f"{cause}") + f"\n  your function raised {type(err).__name__}: {err}"
                    f"\n  on input: {fmt_inputs(arg_names, args)}", kind="wrong") from err
            raise CheckFailed(
                f"{name}: your function raised {type(err).__name__}: {err}\n"
                f"  on input: {fmt_inputs(arg_names, args)}", kind="error",
                student_error=err) from err
        for arg_name, before, after in zip(arg_names, _plain_args(args), given):
            if arg_name in unchanged and isinstance(before, np.ndarray) and not (
                    np.shape(after) == before.shape
                    and np.array_equal(np.asarray(after), before, equal_nan=True)):
                raise CheckFailed(wrap(
                    f"{name}: your function changed its input `{arg_name}` in place; the task "
                    f"asks you to leave it unchanged and update a copy "
                    f"(`{arg_name} = np.array({arg_name}, dtype=float)` first).") +
                    f"\n  on input: {fmt_inputs(arg_names, args)}")
        got, problem = normalise(raw, n_out, out_names)
        if problem:
            raise CheckFailed(f"{name}: {problem}\n  on input: {fmt_inputs(arg_names, args)}")
        return expected, got, _precision(raw)

    records, eps = [], 0.0
    for args in cases:
        expected, got, e = call(args)
        eps = max(eps, e)
        records.append((args, expected, got))
    single = eps > 1e-10
    if single:
        rtol, atol = max(rtol, RTOL_SINGLE), max(atol, ATOL_SINGLE)
    precision_name = "single precision (float32)" if single else "double precision"

    def delegation_check():
        if delegated:
            raise CheckFailed(wrap(
                f"{name}: your function calls {', '.join(sorted(delegated))}, the course "
                f"library's own answer to this task. That is fine for self-study, but this "
                f"notebook is graded: write the computation yourself."))

    if all(matches(got, exp, rtol, atol) for _, exp, got in records):
        for case in ([] if single else stress):
            expected, got, _ = call(case.args, case.cause)
            if not matches(got, expected, rtol, atol):
                fail_helper_first()
                received = fmt_parts(got, out_names)
                raise CheckFailed(
                    wrap(f"{name}: right on the ordinary inputs, but not on an extreme one: "
                         f"{case.cause}") + f"\n  on input: {fmt_inputs(arg_names, case.args)}"
                    f"\n  expected: {fmt_parts(expected, out_names)}\n  received: {received}")
        delegation_check()
        print(success or f"✓ {name}: correct on all {len(records) + len(stress) * (not single)}"
                         f" test inputs.")
        return None

    found = []  # (number of outputs compared, order, mistake, first input where it differs)
    for order, mistake in enumerate(mistakes):
        try:
            targets_m = [as_parts(quietly(mistake.wrong, *_plain_args(args)), n_out)
                         for args, _, _ in records]
        except Exception:  # a wrong variant that cannot be computed here is skipped
            continue
        if not all(matches(got, t, rtol, atol) for (_, _, got), t in zip(records, targets_m)):
            continue
        differs = [i for i, ((_, exp, _), t) in enumerate(zip(records, targets_m))
                   if not matches(exp, t, rtol, atol)]
        if differs:
            n_compared = sum(t is not None for t in targets_m[0])
            found.append((-n_compared, order, mistake, differs[0]))
    if found:
        # The most specific explanation wins: one that accounts for every output.
        _, _, mistake, first = min(found, key=lambda item: item[:2])
        if mistake.accepted:
            delegation_check()
            print(f"✓ {name}: correct on all {len(records)} test inputs. " + mistake.message)
            return None
        fail_helper_first()
        args, exp, got = records[first]
        raise CheckFailed(
            wrap(f"{name}: {mistake.message}") + "\n"
            f"  for example, on input: {fmt_inputs(arg_names, args)}\n"
            f"  expected: {fmt_parts(exp, out_names)}\n"
            f"  received: {fmt_parts(got, out_names)}")

    fail_helper_first()
    for args, exp, got in records:  # a wrong shape anywhere explains more than a wrong value
        for n, g, e in zip(out_names, got, exp):
            label = "your function" if n_out == 1 else f"`{n}`"
            if _same_shape(g, e) is None:
                raise CheckFailed(
                    f"{name}: wrong shape: {label} has shape {g.shape}, expected {e.shape}"
                    f"{shape_hint}\n  on input: {fmt_inputs(arg_names, args)}")
    for args, exp, got in records:
        if matches(got, exp, rtol, atol):
            continue
        where = fmt_inputs(arg_names, args)
        for n, g, e in zip(out_names, got, exp):
            label = "your function" if n_out == 1 else f"`{n}`"
            if not np.all(np.isfinite(g)) and np.all(np.isfinite(e)):
                bad = "NaN" if np.any(np.isnan(g)) else "an infinite value"
                raise CheckFailed(
                    f"{name}: {label} returned {bad} (received {fmt(g)}, expected {fmt(e)})\n"
                    f"  on input: {where}\n"
                    f"  Look for log or sqrt of a negative number or of zero, 0/0, or inf - inf.")
        notes = []
        wrong = [(n, g, e) for n, g, e in zip(out_names, got, exp)
                 if not matches((g,), (e,), rtol, atol)]
        if n_out > 1:
            ok = [f"`{n}`" for n, g, e in zip(out_names, got, exp) if matches((g,), (e,), rtol, atol)]
            notes.append(f"  wrong: {', '.join(f'`{n}`' for n, _, _ in wrong)}"
                         + (f"; right: {', '.join(ok)}" if ok else ""))
        digits = max(_digits_to_differ(_same_shape(g, e), e) for _, g, e in wrong)
        rel = max(_rel_error(_same_shape(g, e), e) for _, g, e in wrong)
        notes.append(f"  relative error {rel:.2g} (tolerance {rtol:g} for answers in "
                     f"{precision_name})")
        if nonnegative and any(np.any(g < -atol) for g in got):
            notes.append("  Note: your result is negative, but a divergence is never negative.")
        raise CheckFailed(
            f"{name}: wrong value (not one of the mistakes this check knows)\n"
            f"  on input: {where}\n"
            f"  expected: {fmt_parts(exp, out_names, digits)}\n"
            f"  received: {fmt_parts(got, out_names, digits)}"
            + "".join("\n" + n for n in notes))
    raise CheckFailed(f"{name}: internal error, please report it")  # pragma: no cover


def seeded_rng(seed):
    """A NumPy Generator seeded with ``seed`` (one per check, so inputs never change)."""
    return np.random.default_rng(seed)


def gauss_logpdf(mu, sigma):
    """log N(z | mu, sigma²) as a function of z."""
    return lambda z: -0.5 * ((z - mu) / sigma) ** 2 - np.log(sigma) - 0.5 * np.log(2 * np.pi)


def random_precision(rng, d):
    """A random d x d precision matrix (well conditioned)."""
    a = rng.normal(size=(d, d))
    cov = a @ a.T + d * 0.3 * np.eye(d)
    return np.linalg.inv(cov)


def grid_density(x, mu, sigma, text=None):
    """N(mu, sigma²) on the grid ``x`` as a :class:`Labelled` ("N(0, 1) on [-12, 12], 1201 points")."""
    values = np.exp(gauss_logpdf(mu, sigma)(x))
    return Labelled(values, text or f"N({mu:g}, {sigma:g}²) on {grid_text(x)}")


def grid_text(x):
    """"[a, b], n points" for a uniform grid."""
    return f"[{x[0]:g}, {x[-1]:g}], {len(x)} points"


# ---------------------------------------------------------------------------
# Verdicts, for vi_lib.checks.summary() and the grader
# ---------------------------------------------------------------------------

class Verdict(NamedTuple):
    """The last verdict of one check in this session."""

    status: str  # "pass", "fail" or "not attempted"
    message: str


#: Latest verdict of every check run in this Python session, by check name.
RESULTS: dict[str, Verdict] = {}

_CHECK_DOC = """
    Parameters
    ----------
    fn : callable
        The student's function, called with the arguments described above on many
        inputs (hand-picked edge cases, seeded random ones and inputs where a naive
        formula over- or underflows; copies, so that it may modify them unless the task
        says to update a copy). Any container that unpacks into the documented outputs
        is accepted (tuple, list, array; NumPy or JAX).

    Returns
    -------
    None
        After printing one line starting with ``✓`` when every result is right
        (relative tolerance 1e-6 for double-precision answers, 1e-4 for float32).

    Raises
    ------
    CheckFailed
        (a subclass of AssertionError) When a result is wrong, ``fn`` raises
        (``NotImplementedError`` is reported as "not implemented yet"), or returns None,
        NaN, a wrong type or shape. The message names the mistake when it is one this
        check knows, and otherwise shows one failing input with the expected and the
        received value and the relative error.
"""


def student_check(check):
    """Decorator for a public check: shared docstring sections, verdict recorded in RESULTS."""
    name = check.__name__

    @functools.wraps(check)
    def run(fn):
        try:
            result = check(fn)
        except CheckFailed as err:
            status = "not attempted" if err.kind == "not implemented" else "fail"
            RESULTS[name] = Verdict(status, str(err))
            raise
        RESULTS[name] = Verdict("pass", "")
        return result

    run.__doc__ = (check.__doc__ or "").rstrip() + "\n" + _CHECK_DOC
    return run
