"""The student and instructor editions of the labs, from the lab notebooks (one source).

The lab notebooks (``notebooks/lab*.ipynb``) carry everything, marked with cell tags:

* ``exercise-stub``: what the student fills in — a code cell (a function that raises
  ``NotImplementedError``, which every check reports as "not written yet") or a Markdown cell for a
  written answer. Every exercise has at least one;
* ``exercise-solution``: a solution (code, a written answer, and the ``solution-start``/``-end`` cells
  around them);
* ``hidden-test`` and ``instructor``: instructor-only cells (the instructor edition adds them).

:func:`student_notebook` drops the solutions and instructor-only cells; :func:`instructor_notebook` keeps
everything and adds, after each exercise, its rubric (points, hidden tests, what the written part is graded
on) and a ``hidden_test(...)`` cell that runs the grader's test on the solution. Both are in the
Colab-readable form of :mod:`vgteach.editions.colab`. The hidden tests themselves live in
:mod:`vgteach.labs.exercises`, where ``vgteach lab grade`` finds them.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from ..labs.exercises import LABS, Exercise, Lab
from .book import Book, cell_source
from .colab import COLAB_FOLDER, add_note, convert_cells, dumps, edition_metadata, edition_note, split_lines
from .myst import Context, exercise_labels, to_markdown

STUB, SOLUTION = "exercise-stub", "exercise-solution"
#: Cells the student edition never contains.
INSTRUCTOR_ONLY = {SOLUTION, "hidden-test", "instructor", "rubric"}
#: Where the committed student editions live, beside the Colab edition.
STUDENT_FOLDER = f"{COLAB_FOLDER}/student"


def tags(cell: dict) -> set:
    return set(cell.get("metadata", {}).get("tags", []))


def exercise_spans(cells: list) -> list:
    """``(label, start, end)`` of every exercise: the cell of its ``{exercise}`` and the cell of the next
    exercise (or the end); its stubs and solutions are in between."""
    starts = []
    for index, cell in enumerate(cells):
        if cell["cell_type"] == "markdown":
            for label in exercise_labels(cell_source(cell)):
                starts.append((label, index))
    return [
        (label, start, starts[k + 1][1] if k + 1 < len(starts) else len(cells))
        for k, (label, start) in enumerate(starts)
    ]


def check_markup(cells: list, lab: Lab) -> None:
    """``ValueError`` unless the notebook's exercises are the lab's, in order, each with a stub cell after it."""
    spans = exercise_spans(cells)
    labels = [label for label, _, _ in spans]
    expected = [exercise.label for exercise in lab.exercises]
    if labels != expected:
        raise ValueError(f"{lab.name}: the notebook's exercises {labels} are not vgteach.labs.exercises' {expected}")
    for label, start, end in spans:
        if not any(STUB in tags(cells[k]) for k in range(start + 1, end)):
            raise ValueError(f"{lab.name}: exercise {label} has no cell tagged {STUB!r} for the student to fill in")


def student_notebook(source: Path, book: Book) -> dict:
    """The student edition of one lab: no solutions, no hidden tests, a stub for every exercise."""
    notebook = json.loads(Path(source).read_text(encoding="utf-8"))
    lab = LABS[Path(source).stem]
    check_markup(notebook["cells"], lab)
    docname = f"notebooks/{lab.name}"
    cells = [cell for cell in notebook["cells"] if not tags(cell) & INSTRUCTOR_ONLY]
    notebook["cells"] = convert_cells(cells, book, docname)
    add_note(
        notebook["cells"],
        edition_note(
            docname,
            "Student edition",
            notebook["cells"],
            " Write your answers in the cells after each exercise; `hint(n)` shows a hint for this lab's n-th "
            "exercise, "
            'and the checks say "not written yet" until you do.',
        ),
    )
    notebook["metadata"] = edition_metadata(notebook["metadata"], docname, "student", lab=lab.name)
    return notebook


def rubric_text(lab: Lab, number: int, exercise: Exercise) -> str:
    """The rubric of one exercise, for the instructor edition (Markdown)."""
    lines = [f"**Rubric — “{exercise.title}” ({_points(exercise.points)}, {exercise.minutes} minutes).**"]
    for test in exercise.tests:
        lines.append(f"- {_points(test.points)}: `{test.description}` passes on fresh batches (`vgteach lab grade`).")
    if exercise.forbidden:
        called = " or ".join(f"`{target.replace(':', '.')}`" for target in exercise.forbidden)
        lines.append(f"- Code that calls {called} scores 0 (the library-call shortcut).")
    if exercise.written:
        lines.append(f"- {_points(exercise.written)} by hand: {exercise.rubric}")
    lines.append(f"- In the one-session track: {'homework' if exercise.homework else 'in class'}.")
    return "\n".join(lines)


def _points(points: float) -> str:
    return f"{points:g} point{'' if points == 1 else 's'}"


def hidden_test_code(exercise: Exercise, solution_names: dict) -> str:
    """A cell that runs the exercise's hidden tests on the solution, as the grader does."""
    arguments = ", ".join(f"{function}={solution_names[function]}" for function in exercise.functions)
    return (
        "# Hidden test: what `vgteach lab grade` runs on a submission (fresh batches; library calls score 0)\n"
        "from vgteach.labs.hidden import hidden_test\n\n"
        f"hidden_test({exercise.label!r}, {arguments})"
    )


def solution_functions(cells: list) -> dict:
    """``my_name -> solution_name`` for the functions the solutions define (``solution_x`` answers ``my_x``)."""
    names = {}
    for cell in cells:
        if cell["cell_type"] == "code" and SOLUTION in tags(cell):
            for name in re.findall(r"^def (solution_\w+)\(", cell_source(cell), re.M):
                names["my_" + name[len("solution_") :]] = name
    return names


def instructor_notebook(source: Path, book: Book) -> dict:
    """The instructor edition of one lab: everything, plus a rubric and a hidden-test cell per exercise."""
    notebook = json.loads(Path(source).read_text(encoding="utf-8"))
    lab = LABS[Path(source).stem]
    check_markup(notebook["cells"], lab)
    cells = notebook["cells"]
    solutions = solution_functions(cells)
    spans = exercise_spans(cells)
    out = []
    for index, cell in enumerate(cells):
        out.append(cell)
        for number, (label, start, end) in enumerate(spans, start=1):
            last = max(k for k in range(start, end) if k == start or tags(cells[k]) & {STUB, SOLUTION})
            if index == last:
                exercise = lab.exercises[number - 1]
                out.append(_cell("markdown", rubric_text(lab, number, exercise), f"{label}-rubric", "rubric"))
                if exercise.tests and all(f in solutions for f in exercise.functions):
                    code = hidden_test_code(exercise, solutions)
                    out.append(_cell("code", code, f"{label}-hidden-test", "hidden-test"))
    docname = f"notebooks/{lab.name}"
    notebook["cells"] = convert_cells(out, book, docname)
    add_note(
        notebook["cells"],
        edition_note(
            docname,
            "Instructor edition",
            notebook["cells"],
            " It holds the solutions, the rubric and the hidden tests: do not hand it out. Run it to see the "
            "expected numbers.",
        ),
    )
    notebook["metadata"] = edition_metadata(notebook["metadata"], docname, "instructor", lab=lab.name)
    return notebook


def solved_notebook(source: Path, book: Book) -> dict:
    """The student edition with every stub answered by the solution (``solution_x`` renamed ``my_x``): what a
    perfect submission looks like, to check a grading setup (``vgteach lab grade`` gives it full points)."""
    notebook = json.loads(Path(source).read_text(encoding="utf-8"))
    lab = LABS[Path(source).stem]
    check_markup(notebook["cells"], lab)
    cells = notebook["cells"]
    out = []
    for label, start, end in exercise_spans(cells):
        span = range(start + 1, end)
        solved = {
            kind: [
                cells[k]
                for k in span
                if SOLUTION in tags(cells[k]) and cells[k]["cell_type"] == kind and not _is_solution_fence(cells[k])
            ]
            for kind in ("code", "markdown")
        }
        for k in span:
            if STUB in tags(cells[k]) and solved[cells[k]["cell_type"]]:
                answer = solved[cells[k]["cell_type"]].pop(0)
                text = re.sub(r"\bsolution_(\w+)", r"my_\1", cell_source(answer)).replace(
                    "# @title Solution (double-click to show)\n", ""
                )
                out.append((k, {**cells[k], "source": split_lines(text)}))
    replaced = dict(out)
    kept = [replaced.get(k, cell) for k, cell in enumerate(cells) if not tags(cell) & INSTRUCTOR_ONLY]
    docname = f"notebooks/{lab.name}"
    notebook["cells"] = convert_cells(kept, book, docname)
    add_note(
        notebook["cells"], edition_note(docname, "Solved student edition (a reference submission)", notebook["cells"])
    )
    notebook["metadata"] = edition_metadata(notebook["metadata"], docname, "solved", lab=lab.name)
    return notebook


def _is_solution_fence(cell: dict) -> bool:
    return re.match(r"^[`:~]{3,}\{solution-(start|end)\}", cell_source(cell).strip()) is not None


def _cell(kind: str, text: str, cell_id: str, tag: str) -> dict:
    cell = {"cell_type": kind, "id": cell_id, "metadata": {"tags": [tag]}, "source": split_lines(text)}
    if kind == "code":
        cell.update(execution_count=None, outputs=[])
    return cell


def lab_sources(root: Path) -> list:
    return [Path(root) / "notebooks" / f"{name}.ipynb" for name in LABS]


def write_student_editions(root, out) -> list:
    """Write the student edition of every lab into ``out``; returns the paths."""
    book = Book.read(root)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for source in lab_sources(root):
        target = out / source.name
        text = dumps(student_notebook(source, book))
        if not target.exists() or target.read_text(encoding="utf-8") != text:
            target.write_text(text, encoding="utf-8")
        written.append(target)
    return written


def write_instructor_editions(root, out) -> list:
    """Write into ``out`` the instructor edition of every lab, a solved student edition of each (``solved/``),
    the instructors' guide (``INSTRUCTORS.md``) and the rubric (``RUBRIC.md``)."""
    root, out = Path(root), Path(out)
    book = Book.read(root)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for source in lab_sources(root):
        target = out / source.name
        target.write_text(dumps(instructor_notebook(source, book)), encoding="utf-8")
        written.append(target)
    (out / "solved").mkdir(exist_ok=True)
    for source in lab_sources(root):
        target = out / "solved" / source.name
        target.write_text(dumps(solved_notebook(source, book)), encoding="utf-8")
        written.append(target)
    guide = root / "book" / "instructors.md"
    if guide.exists():
        context = Context(book, "book/instructors", glue=lambda name: f"`{name}`")
        target = out / "INSTRUCTORS.md"
        target.write_text(to_markdown(guide.read_text(encoding="utf-8"), context) + "\n", encoding="utf-8")
        written.append(target)
    target = out / "RUBRIC.md"
    target.write_text(rubric_table(), encoding="utf-8")
    written.append(target)
    return written


def rubric_table() -> str:
    """Every exercise of the three labs: minutes, points (hidden tests and by hand), in class or homework."""
    lines = [
        "# Rubric of the labs",
        "",
        "Points per exercise: `code` is graded by `vgteach lab grade` (hidden tests on fresh batches; calling "
        "the library's own implementation scores 0), `written` by hand with the criteria of the instructor "
        "edition.",
        "",
        "| lab | exercise | title | minutes | code | written | one-session track |",
        "|---|---|---|---|---|---|---|",
    ]
    for lab in LABS.values():
        for number, exercise in enumerate(lab.exercises, start=1):
            code = sum(test.points for test in exercise.tests)
            lines.append(
                f"| {lab.name} | {number} | {exercise.title} | {exercise.minutes} | {code:g} | {exercise.written:g} | "
                f"{'homework' if exercise.homework else 'in class'} |"
            )
        lines.append(
            f"| {lab.name} | total | | {lab.exercise_minutes} (+{lab.teaching} teaching) | "
            f"{sum(sum(t.points for t in e.tests) for e in lab.exercises):g} | "
            f"{sum(e.written for e in lab.exercises):g} | |"
        )
    return "\n".join(lines) + "\n"


def execute_notebooks(paths, profile: str = "book") -> list:
    """Run notebooks in place (papermill, this Python, in their own folder) so that they hold their outputs:
    the instructor edition's expected numbers. Returns ``(path, error)`` for those that did not finish."""
    import os
    import tempfile

    import papermill

    from ..labs.grade import KERNEL_NAME, write_kernelspec

    failed = []
    with tempfile.TemporaryDirectory() as jupyter:
        write_kernelspec(Path(jupyter), grading=False)
        previous = os.environ.get("JUPYTER_PATH")
        os.environ["JUPYTER_PATH"] = os.pathsep.join([jupyter, *([previous] if previous else [])])
        try:
            for path in paths:
                try:
                    papermill.execute_notebook(
                        str(path),
                        str(path),
                        parameters={"PROFILE": profile},
                        kernel_name=KERNEL_NAME,
                        cwd=str(Path(path).parent),
                        progress_bar=False,
                    )
                except papermill.PapermillExecutionError as error:
                    failed.append((path, f"{error.ename}: {error.evalue}"))
        finally:
            if previous is None:
                os.environ.pop("JUPYTER_PATH", None)
            else:
                os.environ["JUPYTER_PATH"] = previous
    return failed
