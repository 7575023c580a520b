"""Generate the student exercise notebooks from the solution notebooks.

The solution notebooks ``exercises/solutions/NN_topic_solutions.ipynb`` are the single
source of truth. For each one this script writes ``exercises/NN_topic.ipynb`` in which

- the code between ``# BEGIN SOLUTION`` and ``# END SOLUTION`` (marker lines included)
  is replaced by ``raise NotImplementedError("...")`` at the same indentation;
- every check cell (a code cell that calls ``checks.check_...``) gets the tag
  ``raises-exception``, so that nbval and the book accept the failing check;
- cells tagged ``solution-only`` are dropped (solution discussion, links into the book);
- a last cell is appended that prints ``vi_lib.checks.summary([...])`` of the notebook's
  tasks (which pass, which fail, which are not attempted yet);
- outputs and execution counts are cleared.

Usage::

    python exercises/make_student_notebooks.py            # write every student notebook
    python exercises/make_student_notebooks.py --check    # exit 1 if any is out of date
    python exercises/make_student_notebooks.py exercises/solutions/02_kl_divergence_solutions.ipynb

``tests/test_exercises.py`` regenerates the notebooks in memory and asserts that the
committed student notebooks equal them, so the two versions never drift apart.
"""

from __future__ import annotations

import argparse
import copy
import pathlib
import re
import sys

import nbformat

HERE = pathlib.Path(__file__).resolve().parent
SOLUTIONS = HERE / "solutions"
SUFFIX = "_solutions"

BEGIN = "# BEGIN SOLUTION"
END = "# END SOLUTION"
SOLUTION_ONLY = "solution-only"
RAISES = "raises-exception"
CHECK_CALL = re.compile(r"\bchecks\.check_\w+\(")
CHECK_NAME = re.compile(r"\bchecks\.check_(\w+)\(")
SUMMARY_MARK = "# Your progress: which tasks pass, fail, or are not attempted yet."
STUB_MESSAGE = "Replace this line with your code"


class MarkerError(ValueError):
    """A BEGIN/END SOLUTION pair is missing, nested or unbalanced."""


def strip_solution(source: str, where: str = "cell") -> str:
    """Replace each marked solution block of ``source`` by ``raise NotImplementedError``.

    Parameters
    ----------
    source : str
        Code of one cell.
    where : str
        Name of the cell, used in error messages.

    Returns
    -------
    str
        The code with every block ``# BEGIN SOLUTION`` ... ``# END SOLUTION`` replaced by
        one ``raise NotImplementedError(...)`` line indented like the BEGIN marker.

    Raises
    ------
    MarkerError
        If the markers are unbalanced or nested.
    """
    out, inside = [], False
    for number, line in enumerate(source.splitlines(), start=1):
        stripped = line.strip()
        if stripped.startswith(BEGIN):
            if inside:
                raise MarkerError(f"{where}, line {number}: nested {BEGIN}")
            inside = True
            indent = line[: len(line) - len(line.lstrip())]
            out.append(f'{indent}raise NotImplementedError("{STUB_MESSAGE}")')
        elif stripped.startswith(END):
            if not inside:
                raise MarkerError(f"{where}, line {number}: {END} without {BEGIN}")
            inside = False
        elif not inside:
            out.append(line)
    if inside:
        raise MarkerError(f"{where}: {BEGIN} without {END}")
    return "\n".join(out)


def is_check_cell(cell) -> bool:
    return cell.cell_type == "code" and bool(CHECK_CALL.search(cell.source))


def task_names(nb: nbformat.NotebookNode) -> list[str]:
    """Tasks of a notebook in order: the names ``X`` of its ``checks.check_X(...)`` calls."""
    names = []
    for cell in nb.cells:
        if is_check_cell(cell) and SOLUTION_ONLY not in cell.metadata.get("tags", []):
            names += [n for n in CHECK_NAME.findall(cell.source) if n not in names]
    return names


def summary_cell(tasks: list[str], title: str) -> nbformat.NotebookNode:
    """The last cell of a student notebook: ``vi_lib.checks.summary`` of its tasks."""
    listed = ", ".join(f'"{t}"' for t in tasks)
    return nbformat.v4.new_code_cell(
        f'{SUMMARY_MARK}\nvi_lib.checks.summary([{listed}], title="{title}");')


def student_notebook(solution: nbformat.NotebookNode, title: str = "Exercises") -> nbformat.NotebookNode:
    """The student version of a solution notebook (a new object; the input is unchanged)."""
    nb = copy.deepcopy(solution)
    cells = []
    for index, cell in enumerate(nb.cells):
        tags = list(cell.metadata.get("tags", []))
        if SOLUTION_ONLY in tags:
            continue
        if cell.cell_type == "code":
            cell.source = strip_solution(cell.source, where=f"cell {index}")
            cell.outputs = []
            cell.execution_count = None
            if is_check_cell(cell) and RAISES not in tags:
                tags.append(RAISES)
        if tags:
            cell.metadata["tags"] = tags
        cells.append(cell)
    summary = summary_cell(task_names(solution), title)
    summary["id"] = "summary"          # fixed, so that regeneration is reproducible
    nb.cells = cells + [summary]
    nb.metadata["kernelspec"] = {"display_name": "Python 3", "language": "python", "name": "python3"}
    return nb


def student_path(solution_path: pathlib.Path) -> pathlib.Path:
    """``exercises/solutions/NN_topic_solutions.ipynb`` -> ``exercises/NN_topic.ipynb``."""
    stem = solution_path.stem
    if not stem.endswith(SUFFIX):
        raise ValueError(f"solution notebook names end in {SUFFIX}.ipynb, got {solution_path.name}")
    return solution_path.parent.parent / (stem[: -len(SUFFIX)] + ".ipynb")


def render(solution_path: pathlib.Path) -> str:
    """The text of the student notebook generated from ``solution_path``."""
    solution = nbformat.read(solution_path, as_version=4)
    title = "Exercises " + solution_path.stem.split("_")[0]
    return nbformat.writes(student_notebook(solution, title)) + "\n"


def solution_paths() -> list[pathlib.Path]:
    return sorted(SOLUTIONS.glob(f"*{SUFFIX}.ipynb"))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("solutions", nargs="*", type=pathlib.Path,
                        help="solution notebooks (default: every exercises/solutions/*_solutions.ipynb)")
    parser.add_argument("--check", action="store_true",
                        help="write nothing; exit 1 if a student notebook is missing or out of date")
    args = parser.parse_args(argv)
    stale = []
    for path in args.solutions or solution_paths():
        target = student_path(path)
        text = render(path)
        if args.check:
            if not target.exists() or target.read_text() != text:
                stale.append(target)
        elif not target.exists() or target.read_text() != text:
            target.write_text(text)
            print(f"wrote {target}")
    if stale:
        print("out of date (run python exercises/make_student_notebooks.py):",
              *map(str, stale), sep="\n  ", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
