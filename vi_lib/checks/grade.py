"""Grade submitted exercise notebooks: ``python -m vi_lib.checks.grade NB.ipynb [NB2.ipynb ...]``.

For each notebook the grader

1. executes it top to bottom in a fresh kernel with :mod:`nbclient` (the kernel's
   working directory is the notebook's folder), with a per-cell timeout after which
   the kernel is interrupted, so that an endless loop costs one timeout, not the run;
   errors in cells do not stop the run;
2. runs each task's check once more in that kernel, in grading mode (the environment
   variable :data:`vi_lib.checks._core.GRADING_ENV` is set, so a check also fails an
   answer that only calls the course library's own function for the task). The tasks
   and their check calls come from the matching solution notebook
   ``solutions/<stem>_solutions.ipynb`` beside the submission when it exists (so that
   deleting a check cell does not remove a task), otherwise from the submission's own
   check cells;
3. writes ``<stem>.grade.json`` (every message in full) and ``<stem>.grade.txt`` (one
   screen: task, result, points, the first line of the message) into ``--out`` and
   prints the text report.

Each task is worth one point unless its check cell in the solution notebook has the
metadata ``"points": n``. A task passes or earns nothing; "not attempted" means the
function still raises ``NotImplementedError``.

Exit status: 0 when every notebook was graded (whatever the marks), 2 for a missing file.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import logging
import os
import pathlib
import re
import sys
import textwrap

import nbformat

from ._core import GRADING_ENV, CheckFailed

MARKER = "VI-LIB-GRADE-RESULT "
CHECK_LINE = re.compile(r"^.*\bchecks\.check_(\w+)\(.*\)\s*$", re.M)


def run_task(task, thunk):
    """Run one check inside the graded kernel; print its verdict as one JSON line.

    Called by the cells the grader appends; ``thunk`` calls the check on the student's
    function. Never raises.
    """
    out = io.StringIO()
    try:
        with contextlib.redirect_stdout(out):
            thunk()
        verdict = {"status": "pass", "message": out.getvalue().strip()}
    except CheckFailed as err:
        status = "not attempted" if err.kind == "not implemented" else "fail"
        verdict = {"status": status, "message": str(err)}
    except NameError as err:
        verdict = {"status": "not attempted",
                   "message": f"{err}: the notebook does not define the function of this task"}
    except KeyboardInterrupt:       # the grader interrupts a cell that exceeds its timeout
        verdict = {"status": "timeout", "message": ""}
    except BaseException as err:  # noqa: BLE001 - anything the student's code does is a verdict
        verdict = {"status": "fail", "message": f"{type(err).__name__}: {err}"}
    print(MARKER + json.dumps({"task": task, **verdict}))


def _tasks(notebook_path, nb):
    """[(task, check call source, points)] from the solution notebook or the submission."""
    solution = notebook_path.parent / "solutions" / f"{notebook_path.stem}_solutions.ipynb"
    source_nb = nbformat.read(solution, as_version=4) if solution.exists() else nb
    tasks = []
    for cell in source_nb.cells:
        if cell.cell_type != "code" or "solution-only" in cell.metadata.get("tags", []):
            continue
        for match in CHECK_LINE.finditer(cell.source):
            task = match.group(1)
            if task not in [t for t, _, _ in tasks]:
                tasks.append((task, match.group(0).strip(), int(cell.metadata.get("points", 1))))
    return tasks


def grade_notebook(path, *, timeout=60, kernel_name="python3"):
    """Execute ``path`` and run its checks; return the report as a dict.

    Parameters
    ----------
    path : str or pathlib.Path
        The submitted notebook.
    timeout : float
        Seconds per cell (the notebook's cells and each task's check).
    kernel_name : str
        Jupyter kernel to start.

    Returns
    -------
    dict
        ``{"notebook", "tasks": [{"task", "status", "points", "max_points", "message"}],
        "points", "max_points"}``.
    """
    from nbclient import NotebookClient

    path = pathlib.Path(path)
    nb = nbformat.read(path, as_version=4)
    tasks = _tasks(path, nb)
    for task, call, _ in tasks:
        source = (f"__import__('vi_lib.checks.grade', fromlist=['run_task']).run_task("
                  f"{task!r}, lambda: {call})")
        nb.cells.append(nbformat.v4.new_code_cell(source))
    log = logging.getLogger("vi_lib.checks.grade")
    log.addHandler(logging.NullHandler())
    log.propagate = False
    client = NotebookClient(nb, timeout=timeout, kernel_name=kernel_name, allow_errors=True,
                            interrupt_on_timeout=True, log=log,
                            resources={"metadata": {"path": str(path.parent.resolve())}})
    previous = os.environ.get(GRADING_ENV)
    os.environ[GRADING_ENV] = "1"          # the kernel inherits the environment
    try:
        client.execute()
    finally:
        if previous is None:
            os.environ.pop(GRADING_ENV, None)
        else:
            os.environ[GRADING_ENV] = previous

    verdicts = {}
    for cell in nb.cells[len(nb.cells) - len(tasks):]:
        for output in cell.get("outputs", []):
            for line in output.get("text", "").splitlines():
                if line.startswith(MARKER):
                    result = json.loads(line[len(MARKER):])
                    verdicts[result["task"]] = result
    rows = []
    timed_out = {"status": "fail",
                 "message": f"the check did not finish within {timeout:g} s (an endless loop?)"}
    for task, _, points in tasks:
        result = verdicts.get(task, timed_out)
        if result["status"] == "timeout":
            result = timed_out
        earned = points if result["status"] == "pass" else 0
        rows.append({"task": task, "status": result["status"], "points": earned,
                     "max_points": points, "message": result["message"]})
    return {"notebook": str(path), "tasks": rows,
            "points": sum(r["points"] for r in rows),
            "max_points": sum(r["max_points"] for r in rows)}


def text_report(report, width=110, max_lines=3):
    """The one-screen text report of :func:`grade_notebook`'s result.

    One row per task (task, result, points) with the start of the message, wrapped to at
    most ``max_lines`` lines; the JSON report has every message in full.
    """
    indent = " " * 50
    lines = [f"Grade report: {report['notebook']}",
             f"{'task':<26} {'result':<14} {'points':>6}  message"]
    for row in report["tasks"]:
        headline = " ".join(row["message"].split()) if row["status"] != "pass" else ""
        prefix = f"check_{row['task']}: "
        if headline.startswith(prefix):
            headline = headline[len(prefix):]
        wrapped = textwrap.wrap(headline, width=width - len(indent), max_lines=max_lines,
                                placeholder=" …") or [""]
        lines.append(f"{row['task']:<26} {row['status']:<14} "
                     f"{row['points']:>3}/{row['max_points']:<2}  {wrapped[0]}".rstrip())
        lines.extend(indent + more for more in wrapped[1:])
    lines.append(f"Total: {report['points']}/{report['max_points']}")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m vi_lib.checks.grade",
                                     description="Grade exercise notebooks with vi_lib.checks.")
    parser.add_argument("notebooks", nargs="+", type=pathlib.Path)
    parser.add_argument("--timeout", type=float, default=60,
                        help="seconds per cell before the kernel is interrupted (default 60)")
    parser.add_argument("--out", type=pathlib.Path, default=pathlib.Path("grades"),
                        help="folder for <stem>.grade.json and <stem>.grade.txt (default ./grades)")
    args = parser.parse_args(argv)
    missing = [str(p) for p in args.notebooks if not p.is_file()]
    if missing:
        parser.print_usage(sys.stderr)
        print(f"no such notebook: {', '.join(missing)}", file=sys.stderr)
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    for path in args.notebooks:
        report = grade_notebook(path, timeout=args.timeout)
        text = text_report(report)
        (args.out / f"{path.stem}.grade.json").write_text(json.dumps(report, indent=2,
                                                                     ensure_ascii=False) + "\n")
        (args.out / f"{path.stem}.grade.txt").write_text(text + "\n")
        print(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
