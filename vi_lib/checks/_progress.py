"""Progress for students: :func:`summary` of the checks run so far, :func:`hint` on request."""

from __future__ import annotations

import textwrap

from ._core import RESULTS

#: Hints by task name (the check's name without ``check_``), weakest first. Each topic
#: module defines its own ``HINTS`` dict; ``vi_lib.checks`` merges them here.
HINTS: dict[str, tuple[str, ...]] = {}

_HINTS_GIVEN: dict[str, int] = {}


def _task(name):
    name = getattr(name, "__name__", name)
    return name[len("check_"):] if name.startswith("check_") else name


def _headline(message):
    """The first sentence-group of a check's message, unwrapped, without the check's name."""
    text = " ".join(message.split())
    for cut in (" for example, on input:", " on input:", " expected:", " ("):
        text = text.split(cut)[0]
    return text.split(": ", 1)[-1]


def summary(tasks=None, *, title="Exercises"):
    """Print which tasks pass, which fail and which are not attempted yet.

    Parameters
    ----------
    tasks : sequence of str, optional
        Task names (``"kl_normal"``) or check names (``"check_kl_normal"``), in the
        order of the notebook. Default: every check run in this session.
    title : str
        First word(s) of the headline.

    Returns
    -------
    dict of str to str
        Status of each task: ``"pass"``, ``"fail"`` or ``"not attempted"``.
    """
    names = [_task(t) for t in (tasks if tasks is not None else RESULTS)]
    status = {}
    lines = []
    for task in names:
        verdict = RESULTS.get("check_" + task)
        state = verdict.status if verdict else "not attempted"
        status[task] = state
        if state == "pass":
            lines.append(f"  ✓ {task}")
        elif state == "fail":
            headline = _headline(verdict.message)
            lines.append(f"  ✗ {task}: {headline[:90]}{'…' if len(headline) > 90 else ''}")
        else:
            lines.append(f"  · {task}: not attempted yet")
    passed = sum(s == "pass" for s in status.values())
    print(f"{title}: {passed} of {len(names)} tasks pass")
    print("\n".join(lines))
    return status


def hint(task):
    """Print a hint for ``task`` (``"kl_normal"`` or ``"check_kl_normal"``).

    The first call gives a nudge, the next ones stronger hints; none gives the
    solution away. Returns None.
    """
    task = _task(task)
    hints = HINTS.get(task)
    if not hints:
        known = ", ".join(sorted(HINTS))
        print(f"No hints for {task!r}. Tasks with hints: {known}.")
        return None
    n = _HINTS_GIVEN.get(task, 0)
    k = min(n, len(hints) - 1)
    last = " (That is the last hint.)" if n >= len(hints) - 1 else ""
    print(textwrap.fill(f"Hint {k + 1} of {len(hints)} for {task}: {hints[k]}{last}", width=88,
                        subsequent_indent="  ", break_on_hyphens=False))
    _HINTS_GIVEN[task] = n + 1
    return None
