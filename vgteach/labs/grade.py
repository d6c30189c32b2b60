"""``vgteach lab grade``: run submitted lab notebooks and grade every exercise into one CSV.

For each submission (a student's copy of a lab notebook, named after the student, e.g. ``alice.ipynb``):

1. read it and find its lab (the notebook's ``vgteach`` metadata, else its title, else ``--lab``);
2. copy it, with a grading cell appended (:func:`vgteach.labs.hidden.run_hidden_tests`), into its own
   temporary folder, and run it there with papermill in the ``smoke`` profile, in a separate process with
   a time and memory limit (:mod:`vgteach.labs.sandbox`);
3. write one row per exercise part: the hidden tests' points and message (``code``), and the written
   answers to grade by hand (``written``), plus a feedback file for the student.

A submission that cannot be read, raises, hangs, runs out of memory or lost the cell of an exercise gets
rows that say so; the batch always goes on. Grading *runs the students' code*: do it in a container or a
throw-away machine (the instructors' guide shows how).
"""

from __future__ import annotations

import ast
import csv
import json
import os
import re
import secrets
import subprocess
import sys
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Optional

from .exercises import LABS, Lab, get_lab

#: The columns of grades.csv.
COLUMNS = ("student", "lab", "exercise", "number", "part", "points", "max_points", "status", "message")
KERNEL_NAME = "vgteach-grading"
GRADING_TAG = "vgteach-grading"


@dataclass
class Row:
    """One line of grades.csv: a student's result on one part of one exercise."""

    student: str
    lab: str
    exercise: str
    number: object  # the exercise's number in the lab ("" for a notebook-level row)
    part: str  # "code" (hidden tests), "written" (by hand) or "notebook"
    points: object  # a number, or "" where a person grades
    max_points: float
    status: str
    message: str


@dataclass(frozen=True)
class Limits:
    """How long and how much memory one submission may use."""

    seconds: int = 300  # a cell (and the student's cells in all: the notebook gets this plus the tests' time)
    test_seconds: int = 30  # one hidden test
    memory_mb: int = 4096
    file_mb: int = 256


# ------------------------------------------------------------------------------------------- reading
def read_submission(path: Path) -> dict:
    """The notebook of a submission; ``ValueError`` (with the reason) when it is not one."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise ValueError(f"cannot read the file ({error})") from None
    try:
        notebook = json.loads(text)
    except json.JSONDecodeError as error:
        raise ValueError(f"not a notebook: the JSON does not parse ({error})") from None
    if not isinstance(notebook, dict) or not isinstance(notebook.get("cells"), list):
        raise ValueError("not a notebook: it has no list of cells")
    for cell in notebook["cells"]:
        if not isinstance(cell, dict) or cell.get("cell_type") not in ("code", "markdown", "raw"):
            raise ValueError("not a notebook: a cell has no cell_type")
        cell.setdefault("metadata", {})
        if isinstance(cell.get("source"), list):
            cell["source"] = "".join(cell["source"])
    return notebook


def which_lab(notebook: dict, default: Optional[str] = None) -> Lab:
    """The lab of a notebook: its ``vgteach.lab`` metadata, else ``default``, else its title ("# Lab 2")."""
    name = notebook.get("metadata", {}).get("vgteach", {}).get("lab")
    if name in LABS:
        return LABS[name]
    if default:
        return get_lab(default)
    for cell in notebook["cells"]:
        match = re.match(r"#\s*Lab\s*(\d)", str(cell.get("source", "")))
        if cell.get("cell_type") == "markdown" and match:
            return get_lab(match.group(1))
    raise ValueError("cannot tell which lab this is (no vgteach metadata, no '# Lab n' title): pass --lab")


def defined_functions(notebook: dict) -> set:
    """The names the notebook's code cells define at top level (``def f``, ``f = …``)."""
    names = set()
    for cell in notebook["cells"]:
        if cell.get("cell_type") != "code":
            continue
        lines = [re.sub(r"^(\s*)[%!].*", r"\1pass", line) for line in str(cell.get("source", "")).splitlines()]
        try:
            tree = ast.parse("\n".join(lines))
        except SyntaxError:
            names.update(re.findall(r"^def\s+(\w+)", str(cell.get("source", "")), re.M))
            continue
        for node in tree.body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                names.add(node.name)
            elif isinstance(node, ast.Assign):
                names.update(target.id for target in node.targets if isinstance(target, ast.Name))
    return names


# ------------------------------------------------------------------------------------------- running
def grading_notebook(notebook: dict, lab: Lab, seed: int, results: Path, limits: Limits) -> dict:
    """The submission with outputs cleared, its ``PROFILE`` cell tagged ``parameters``, and the grading cell."""
    notebook = json.loads(json.dumps(notebook))
    cells = [cell for cell in notebook["cells"] if GRADING_TAG not in cell["metadata"].get("tags", [])]
    tagged = [cell for cell in cells if "parameters" in cell["metadata"].get("tags", [])]
    if not tagged:  # a lost tag: papermill would inject PROFILE at the top, and a later PROFILE = "book" win
        for cell in cells:
            if cell["cell_type"] == "code" and re.search(r"^PROFILE\s*=", str(cell["source"]), re.M):
                cell["metadata"].setdefault("tags", []).append("parameters")
                break
    for cell in cells:
        if cell["cell_type"] == "code":
            cell["outputs"], cell["execution_count"] = [], None
    code = (
        "# Added by vgteach lab grade: the hidden tests (not part of the submission)\n"
        "from vgteach.labs.hidden import run_hidden_tests\n"
        f"run_hidden_tests({lab.name!r}, globals(), seed={seed}, out={str(results)!r}, "
        f"seconds={limits.test_seconds})"
    )
    cells.append({"cell_type": "code", "metadata": {"tags": [GRADING_TAG]}, "source": code, "outputs": []})
    cells[-1]["execution_count"] = None
    notebook["cells"] = cells
    notebook["nbformat"], notebook["nbformat_minor"] = 4, max(4, int(notebook.get("nbformat_minor", 4)))
    for index, cell in enumerate(cells):
        cell.setdefault("id", f"cell-{index}")
    notebook.setdefault("metadata", {})["kernelspec"] = {
        "name": KERNEL_NAME,
        "display_name": "Python",
        "language": "python",
    }
    return notebook


def write_kernelspec(data_dir: Path, grading: bool = True) -> None:
    """A kernelspec for this interpreter in a private Jupyter data folder. For grading: one thread, no figures
    drawn; otherwise figures inline, as in the book."""
    spec_dir = data_dir / "kernels" / KERNEL_NAME
    spec_dir.mkdir(parents=True, exist_ok=True)
    env = (
        {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "MPLBACKEND": "agg"}
        if grading
        else {"MPLBACKEND": "module://matplotlib_inline.backend_inline"}
    )
    spec = {
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Python (vgteach)",
        "language": "python",
        "env": env,
    }
    (spec_dir / "kernel.json").write_text(json.dumps(spec), encoding="utf-8")


def run_isolated(notebook: dict, folder: Path, limits: Limits, total_seconds: int) -> tuple[dict, Optional[dict]]:
    """Run ``notebook`` in ``folder`` (its own home, temp and Jupyter folders) through :mod:`.sandbox`.

    Returns ``(status, executed notebook or None)``.
    """
    home, work, jupyter = folder / "home", folder / "home" / "work", folder / "jupyter"
    for path in (work, jupyter / "runtime"):
        path.mkdir(parents=True, exist_ok=True)
    write_kernelspec(jupyter)
    source, executed, status = folder / "submission.ipynb", folder / "executed.ipynb", folder / "status.json"
    source.write_text(json.dumps(notebook, ensure_ascii=False), encoding="utf-8")
    command = _sandbox_command(source, executed, status, work, limits, total_seconds)
    outcome = _run_sandbox(command, work, _sandbox_env(home, jupyter), status, total_seconds)
    return outcome, _read_executed(executed)


def _sandbox_env(home: Path, jupyter: Path) -> dict:
    """The sandbox's environment: only the path, locale and Python path of this one, every home, temp, Jupyter
    and cache folder in ``home``/``jupyter``, one thread, no bytecode written."""
    env = {
        key: value for key, value in os.environ.items() if key in ("PATH", "LANG", "LC_ALL", "SYSTEMROOT", "PYTHONPATH")
    }
    env.update(
        HOME=str(home),
        TMPDIR=str(home),
        JUPYTER_PATH=str(jupyter),
        JUPYTER_DATA_DIR=str(jupyter),
        JUPYTER_RUNTIME_DIR=str(jupyter / "runtime"),
        JUPYTER_CONFIG_DIR=str(jupyter / "config"),
        IPYTHONDIR=str(home / ".ipython"),
        MPLCONFIGDIR=str(home / ".matplotlib"),
        OMP_NUM_THREADS="1",
        PYTHONDONTWRITEBYTECODE="1",
    )
    return env


def _sandbox_command(
    source: Path, executed: Path, status: Path, work: Path, limits: Limits, total_seconds: int
) -> list:
    """The :mod:`.sandbox` command line that runs ``source`` into ``executed`` in ``work``, within ``limits``."""
    return [
        sys.executable,
        "-m",
        "vgteach.labs.sandbox",
        str(source),
        str(executed),
        "--status",
        str(status),
        "--cwd",
        str(work),
        "--kernel",
        KERNEL_NAME,
        "--cell-timeout",
        str(limits.seconds),
        "--total-timeout",
        str(total_seconds),
        "--memory-mb",
        str(limits.memory_mb),
        "--file-mb",
        str(limits.file_mb),
    ]


def _run_sandbox(command: list, work: Path, env: dict, status: Path, total_seconds: int) -> dict:
    """Run the sandbox; its ``status.json``, else a ``failed`` or ``time limit`` status saying why not."""
    try:
        process = subprocess.run(
            command,
            cwd=work,
            env=env,
            capture_output=True,
            text=True,
            timeout=total_seconds + 60,
            start_new_session=True,
        )
    except subprocess.TimeoutExpired:
        return {"status": "time limit", "detail": f"the notebook ran past {total_seconds} s"}
    outcome = json.loads(status.read_text(encoding="utf-8")) if status.exists() else None
    if outcome is None:
        tail = (process.stderr or "").strip().splitlines()[-1:] or [f"exit status {process.returncode}"]
        outcome = {"status": "failed", "detail": f"the grading process stopped: {tail[0]}"}
    return outcome


def _read_executed(executed: Path) -> Optional[dict]:
    """The executed notebook, or None where the sandbox left none (or a broken one)."""
    try:
        return json.loads(executed.read_text(encoding="utf-8")) if executed.exists() else None
    except (OSError, json.JSONDecodeError):
        return None


def cell_errors(executed: Optional[dict]) -> list:
    """``(index, "ErrorName: message")`` of every student cell that raised in the executed notebook."""
    errors = []
    for index, cell in enumerate((executed or {}).get("cells", [])):
        if GRADING_TAG in cell.get("metadata", {}).get("tags", []) or cell.get("cell_type") != "code":
            continue
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                errors.append((index, f"{output.get('ename')}: {str(output.get('evalue', ''))[:200]}"))
    return errors


# ------------------------------------------------------------------------------------------- grading
def grade_submission(path, *, lab: Optional[str] = None, seed: int = 0, limits: Limits = Limits()) -> list:
    """Grade one submission: its rows (see :class:`Row`), never an exception for a bad submission."""
    path = Path(path)
    student = path.stem
    try:
        notebook = read_submission(path)
        the_lab = which_lab(notebook, lab)
    except ValueError as error:
        known = get_lab(lab) if lab else None
        return notebook_rows(student, known, "unreadable", str(error))
    defined = defined_functions(notebook)
    total = limits.seconds + 60 + limits.test_seconds * sum(len(e.tests) for e in the_lab.exercises)
    with tempfile.TemporaryDirectory(prefix=f"vgteach-grade-{re.sub(r'[^A-Za-z0-9_-]', '_', student)}-") as tmp:
        folder = Path(tmp)
        results = folder / "results.jsonl"
        outcome, executed = run_isolated(
            grading_notebook(notebook, the_lab, seed, results, limits), folder, limits, total
        )
        tests = []
        if results.exists():
            for line in results.read_text(encoding="utf-8").splitlines():
                try:
                    tests.append(json.loads(line))
                except json.JSONDecodeError:
                    continue
    return exercise_rows(student, the_lab, tests, outcome, cell_errors(executed), defined)


def notebook_rows(student: str, lab: Optional[Lab], status: str, message: str) -> list:
    """One row per exercise part (or a single row when the lab is unknown) saying the notebook failed."""
    if lab is None:
        return [Row(student, "", "", "", "notebook", 0, "", status, message)]
    rows = []
    for number, exercise in enumerate(lab.exercises, start=1):
        for part, points in (("code", sum(t.points for t in exercise.tests)), ("written", exercise.written)):
            if points:
                rows.append(Row(student, lab.name, exercise.label, number, part, 0, points, status, message))
    return rows


def exercise_rows(student: str, lab: Lab, tests: list, outcome: dict, errors: list, defined: set) -> list:
    """The rows of a submission that ran: hidden-test results per exercise, and its written parts."""
    if outcome["status"] != "finished" and not tests:
        return notebook_rows(student, lab, outcome["status"], f"not graded: {outcome['detail']}")
    by_exercise = {}
    for test in tests:
        by_exercise.setdefault(test["exercise"], []).append(test)
    rows = []
    for number, exercise in enumerate(lab.exercises, start=1):
        if exercise.tests:
            results = by_exercise.get(exercise.label, [])
            maximum = sum(test.points for test in exercise.tests)
            if not results:
                status, points = outcome["status"], 0
                message = f"not graded: {outcome['detail'] or 'the notebook stopped before the hidden tests'}"
            else:
                points = sum(result["points"] for result in results)
                statuses = [result["status"] for result in results]
                status = next((s for s in statuses if s != "passed"), "passed")
                messages = []
                for result in results:
                    text = result["message"]
                    if result["status"] == "missing" and result["function"] not in defined:
                        text = (
                            f"no cell defines {result['function']}: the cell of Exercise {number} was deleted or "
                            "renamed (copy it back from the student edition)."
                        )
                        status = "missing"
                    messages.append(text if len(results) == 1 else f"{result['check']}: {text}")
                message = " | ".join(dict.fromkeys(messages))
            rows.append(Row(student, lab.name, exercise.label, number, "code", points, maximum, status, message))
        if exercise.written:
            rows.append(
                Row(
                    student,
                    lab.name,
                    exercise.label,
                    number,
                    "written",
                    "",
                    exercise.written,
                    "by hand",
                    f"graded by hand: {exercise.rubric}",
                )
            )
    if errors:
        listed = "; ".join(f"cell {index}: {text}" for index, text in errors[:5])
        rows.append(Row(student, lab.name, "", "", "notebook", "", "", "cells raised", listed))
    if outcome["status"] != "finished":
        rows.append(Row(student, lab.name, "", "", "notebook", "", "", outcome["status"], outcome["detail"]))
    return rows


def feedback(rows: list) -> str:
    """A student's feedback file (Markdown): points per exercise and what the hidden tests said."""
    student, lab = rows[0].student, rows[0].lab
    graded = [row for row in rows if isinstance(row.points, (int, float)) and row.part == "code"]
    points = sum(row.points for row in graded)
    maximum = sum(row.max_points for row in graded)
    lines = [f"# Feedback for {student}: {lab or 'unknown lab'}", ""]
    if graded:
        lines += [f"Automatically graded parts: **{points:g} / {maximum:g} points** (the written parts follow).", ""]
    for row in rows:
        title = f"Exercise {row.number} ({row.exercise}), {row.part}" if row.number != "" else "The notebook"
        score = (
            f"{row.points:g} / {row.max_points:g}"
            if isinstance(row.points, (int, float)) and row.max_points != ""
            else row.status
        )
        lines += [f"## {title}: {score}", "", row.message, ""]
    return "\n".join(lines).rstrip() + "\n"


def grade(
    paths,
    out,
    *,
    feedback_dir=None,
    lab: Optional[str] = None,
    seed: Optional[int] = None,
    limits: Limits = Limits(),
    log=None,
) -> list:
    """Grade submissions into ``out`` (CSV, one row per student and exercise part) and feedback files.

    Parameters
    ----------
    paths : iterable of path
        The submissions; the file name (without ``.ipynb``) names the student.
    out : path
        The CSV to write.
    feedback_dir : path, optional
        Where ``<student>.md`` go (default: ``feedback/`` beside ``out``).
    lab : str, optional
        The lab, for submissions whose metadata and title were lost.
    seed : int, optional
        Seed of the hidden tests' batches (default: a random one, written to ``<out>.seed`` beside the CSV).
    limits : Limits
        Time and memory per submission.
    log : callable, optional
        Called with a line per submission (the CLI prints them).

    Returns
    -------
    list of Row
    """
    seed = secrets.randbelow(2**31 - 1) + 1 if seed is None else int(seed)
    out = Path(out)
    feedback_dir = Path(feedback_dir) if feedback_dir else out.parent / "feedback"
    feedback_dir.mkdir(parents=True, exist_ok=True)
    rows = []
    for path in paths:
        student_rows = grade_submission(path, lab=lab, seed=seed, limits=limits)
        rows += student_rows
        (feedback_dir / f"{Path(path).stem}.md").write_text(feedback(student_rows), encoding="utf-8")
        if log:
            scored = [r for r in student_rows if isinstance(r.points, (int, float)) and r.part == "code"]
            log(f"{Path(path).stem}: {sum(r.points for r in scored):g} / {sum(r.max_points for r in scored):g}")
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", newline="", encoding="utf-8") as stream:
        writer = csv.DictWriter(stream, fieldnames=COLUMNS)
        writer.writeheader()
        for row in rows:
            writer.writerow(asdict(row))
    (out.parent / f"{out.stem}.seed").write_text(f"{seed}\n", encoding="utf-8")
    return rows
