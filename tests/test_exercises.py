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


def test_every_solution_notebook_has_its_student_notebook():
    assert len(SOLUTIONS) >= 8          # one per chapter with coding exercises, at least
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


# ---------------------------------------------------------------------------
# Every student notebook ends with the summary of its tasks
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("solution", SOLUTIONS, ids=_ids(SOLUTIONS))
def test_student_notebook_ends_with_the_summary(solution):
    student = _read(maker.student_path(solution))
    last = student.cells[-1]
    tasks = re.findall(r"checks\.check_(\w+)\(", "".join(
        c.source for c in _read(solution).cells
        if c.cell_type == "code" and "solution-only" not in c.metadata.get("tags", [])))
    assert last.cell_type == "code" and "vi_lib.checks.summary(" in last.source
    assert re.findall(r'"(\w+)"', last.source.split("[", 1)[1].split("]")[0]) == tasks
    assert "raises-exception" not in last.metadata.get("tags", [])


# ---------------------------------------------------------------------------
# Grading mode: python -m vi_lib.checks.grade (nbclient, per-cell timeout)
# ---------------------------------------------------------------------------

def _planted(tmp_path):
    """Student notebook 02 with a swapped KL, a correct diagonal KL, the third task untouched."""
    student = maker.student_path(EXERCISES / "solutions" / "02_kl_divergence_solutions.ipynb")
    nb = _read(student)
    answers = {
        "def kl_normal(": "def kl_normal(mu_q, sigma_q, mu_p, sigma_p):\n"
                          "    return (np.log(sigma_q / sigma_p) + ((sigma_p / sigma_q) ** 2"
                          " + ((mu_q - mu_p) / sigma_q) ** 2) / 2 - 0.5)\n",
        "def kl_mvn_diag(": "def kl_mvn_diag(mu_q, sigma_q, mu_p, sigma_p):\n"
                            "    return float(np.sum(np.log(sigma_p / sigma_q) + ((sigma_q / sigma_p)"
                            " ** 2 + ((mu_q - mu_p) / sigma_p) ** 2) / 2 - 0.5))\n",
    }
    for cell in nb.cells:
        for start, code in answers.items():
            if cell.cell_type == "code" and cell.source.startswith(start):
                cell.source = code
    folder = tmp_path / "submission"
    (folder / "solutions").mkdir(parents=True)
    target = folder / student.name
    nbformat.write(nb, target)
    # the grader takes the task list from the solution notebook beside the submission
    (folder / "solutions" / f"{student.stem}_solutions.ipynb").write_text(
        (EXERCISES / "solutions" / f"{student.stem}_solutions.ipynb").read_text())
    return target


def test_grade_planted_wrong_answer_and_solutions(tmp_path, capsys):
    from vi_lib.checks import grade

    planted = _planted(tmp_path)
    solutions = SOLUTIONS                      # every solution notebook gets full marks
    assert grade.main([str(planted), *map(str, solutions), "--out", str(tmp_path / "grades"),
                       "--timeout", "60"]) == 0
    report = json.loads((tmp_path / "grades" / "02_kl_divergence.grade.json").read_text())
    status = {row["task"]: (row["status"], row["points"]) for row in report["tasks"]}
    assert status == {"kl_normal": ("fail", 0), "kl_mvn_diag": ("pass", 1),
                      "kl_standard_normal": ("not attempted", 0)}
    swapped = next(r for r in report["tasks"] if r["task"] == "kl_normal")["message"]
    assert "the arguments are swapped" in " ".join(swapped.split())
    text = (tmp_path / "grades" / "02_kl_divergence.grade.txt").read_text()
    assert "Total: 1/3" in text and "the arguments are swapped" in text and len(text.splitlines()) < 25
    for solution in solutions:
        graded = json.loads((tmp_path / "grades" / f"{solution.stem}.grade.json").read_text())
        assert graded["points"] == graded["max_points"] >= 2, graded
    assert "Total: 1/3" in capsys.readouterr().out


def test_grade_interrupts_an_endless_loop(tmp_path):
    from vi_lib.checks import grade

    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [nbformat.v4.new_code_cell("import numpy as np\nimport vi_lib"),
                nbformat.v4.new_code_cell("def kl_normal(mu_q, sigma_q, mu_p, sigma_p):\n"
                                          "    while True:\n        pass"),
                nbformat.v4.new_code_cell("vi_lib.checks.check_kl_normal(kl_normal)")]
    path = tmp_path / "loop.ipynb"
    nbformat.write(nb, path)
    report = grade.grade_notebook(path, timeout=3)
    assert report["tasks"] == [{"task": "kl_normal", "status": "fail", "points": 0, "max_points": 1,
                                "message": "the check did not finish within 3 s (an endless loop?)"}]


def test_grade_flags_delegation_to_the_library(tmp_path):
    from vi_lib.checks import grade

    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [nbformat.v4.new_code_cell("import vi_lib\nfrom vi_lib.divergences import kl_normal"),
                nbformat.v4.new_code_cell("vi_lib.checks.check_kl_normal(kl_normal)")]
    path = tmp_path / "delegate.ipynb"
    nbformat.write(nb, path)
    row = grade.grade_notebook(path, timeout=30)["tasks"][0]
    assert row["status"] == "fail" and "vi_lib.divergences.kl_normal" in row["message"]
