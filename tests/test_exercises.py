"""The exercise notebooks: student versions never drift from the solutions.

- every committed student notebook equals the one generated in memory from its
  solution notebook by ``exercises/make_student_notebooks.py`` (and no student
  notebook lacks a solution notebook);
- in the student notebooks every task function raises NotImplementedError and
  every check cell reports "not implemented yet" (and is tagged raises-exception);
- in the solution notebooks every solution passes its check;
- every check of vi_lib.checks is used by exactly one notebook, and each notebook
  follows the course's notebook standard (one title, the Colab cell, 2-4 tasks).

Executing the notebooks end to end (figures, assertions) is nbval's job.
"""

import ast
import importlib.util
import io
import contextlib
import json
import re

import nbformat
import pytest

from conftest import ROOT
from vi_lib import checks

EXERCISES = ROOT / "exercises"
SCRIPT = EXERCISES / "make_student_notebooks.py"

_spec = importlib.util.spec_from_file_location("make_student_notebooks", SCRIPT)
maker = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(maker)

SOLUTIONS = maker.solution_paths()
STUDENTS = sorted(EXERCISES.glob("[0-9]*.ipynb"))
from course_config import COLAB_CELL  # noqa: E402  (derived from _config.yml)


def _ids(paths):
    return [p.name for p in paths]


def _read(path):
    return nbformat.read(path, as_version=4)


def _run_cells(nb, *, skip_checks):
    """Execute a notebook's code cells (no Colab cell, optionally no check cells) in one namespace."""
    namespace = {"__name__": "__exercise__"}
    for cell in nb.cells:
        if cell.cell_type != "code" or "remove-cell" in cell.metadata.get("tags", []):
            continue
        if skip_checks and maker.is_check_cell(cell):
            continue
        if "solution-only" in cell.metadata.get("tags", []):
            continue
        with contextlib.redirect_stdout(io.StringIO()):
            exec(compile(cell.source, "<cell>", "exec"), namespace)
    return namespace


def _task_functions(nb):
    """Names of the functions whose bodies hold the marked solution code."""
    names = []
    for cell in nb.cells:
        if cell.cell_type == "code" and maker.BEGIN in cell.source:
            for node in ast.parse(cell.source).body:
                if isinstance(node, ast.FunctionDef):
                    names.append(node.name)
    return names


def test_there_are_seven_exercise_notebooks():
    assert len(SOLUTIONS) == 8
    assert [maker.student_path(p) for p in SOLUTIONS] == STUDENTS


@pytest.mark.parametrize("solution", SOLUTIONS, ids=_ids(SOLUTIONS))
def test_student_notebook_is_generated_from_solution(solution):
    target = maker.student_path(solution)
    assert target.exists(), f"run: python exercises/make_student_notebooks.py ({target.name} missing)"
    generated = json.loads(maker.render(solution))
    committed = json.loads(target.read_text())
    assert committed == generated, (
        f"{target.name} differs from the notebook generated from {solution.name}: edit the "
        "solution notebook, then run python exercises/make_student_notebooks.py")


def test_generator_check_mode_agrees():
    assert maker.main(["--check"]) == 0


@pytest.mark.parametrize("solution", SOLUTIONS, ids=_ids(SOLUTIONS))
def test_student_stubs_raise_not_implemented(solution):
    student = _read(maker.student_path(solution))
    namespace = _run_cells(student, skip_checks=True)
    names = _task_functions(_read(solution))
    assert 2 <= len(names) <= 4, names
    for name in names:
        fn = namespace[name]
        n_args = fn.__code__.co_argcount
        with pytest.raises(NotImplementedError):
            fn(*([None] * n_args))
    check_cells = [c for c in student.cells if maker.is_check_cell(c)]
    assert len(check_cells) == len(names)
    for cell in check_cells:
        assert "raises-exception" in cell.metadata.get("tags", [])
        with pytest.raises(AssertionError, match="not implemented yet"):
            exec(compile(cell.source, "<check>", "exec"), namespace)


@pytest.mark.parametrize("solution", SOLUTIONS, ids=_ids(SOLUTIONS))
def test_solutions_pass_their_checks(solution):
    nb = _read(solution)
    namespace = _run_cells(nb, skip_checks=True)
    for cell in nb.cells:
        if maker.is_check_cell(cell) and "solution-only" not in cell.metadata.get("tags", []):
            out = io.StringIO()
            with contextlib.redirect_stdout(out):
                exec(compile(cell.source, "<check>", "exec"), namespace)
            assert out.getvalue().startswith("✓"), out.getvalue()


def test_every_check_is_used_exactly_once():
    used = []
    for solution in SOLUTIONS:
        for cell in _read(solution).cells:
            if cell.cell_type == "code" and "solution-only" not in cell.metadata.get("tags", []):
                used += re.findall(r"checks\.(check_\w+)\(", cell.source)
    assert sorted(used) == sorted(checks.__all__)


@pytest.mark.parametrize("solution", SOLUTIONS, ids=_ids(SOLUTIONS))
def test_notebook_standard(solution):
    nb = _read(solution)
    first = nb.cells[0]
    assert first.cell_type == "markdown"
    lines = first.source.splitlines()
    assert re.fullmatch(r"\([a-z0-9-]+\)=", lines[0]) and lines[1].startswith("# Exercises: ")
    titles = [line for c in nb.cells if c.cell_type == "markdown"
              for line in c.source.splitlines() if re.match(r"# ", line)]
    assert len(titles) == 1, titles
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code[0].source == COLAB_CELL and code[0].metadata.get("tags") == ["remove-cell"]
    assert "import vi_lib" in code[1].source and "default_rng(" in code[1].source
    assert nb.metadata["kernelspec"]["name"] == "python3"
    for cell in code:
        assert not cell.outputs and cell.execution_count is None
    # book links only where the book renders them (the student notebook runs in plain Jupyter)
    for cell in _read(maker.student_path(solution)).cells:
        assert "{doc}" not in cell.source and "solution-only" not in cell.metadata.get("tags", [])


def test_strip_solution_keeps_indentation_and_rejects_bad_markers():
    source = "def f(x):\n    y = 1\n    # BEGIN SOLUTION\n    return x + y\n    # END SOLUTION\n"
    assert maker.strip_solution(source) == (
        'def f(x):\n    y = 1\n    raise NotImplementedError("Replace this line with your code")')
    for bad in ["# BEGIN SOLUTION\nx = 1\n", "x = 1\n# END SOLUTION\n",
                "# BEGIN SOLUTION\n# BEGIN SOLUTION\n# END SOLUTION\n"]:
        with pytest.raises(maker.MarkerError):
            maker.strip_solution(bad)


@pytest.mark.parametrize("solution", SOLUTIONS, ids=_ids(SOLUTIONS))
def test_links_into_the_book_resolve(solution):
    """Every {doc} link of a solution notebook names an existing page (checked again by -W -n)."""
    targets = [t for c in _read(solution).cells if c.cell_type == "markdown"
               for t in re.findall(r"\{doc\}`([^`<]+)`", c.source)]
    assert targets, "each solution notebook links the chapter it belongs to"
    for target in targets:
        page = (solution.parent / target).resolve()
        assert any(page.with_suffix(s).exists() for s in (".ipynb", ".md")), target
