"""``vgteach lab grade`` on fabricated submissions: correct, wrong, library call, crashing, hanging,
memory-hungry, writing outside its folder, cells deleted, unreadable — one batch that never stops.

The submissions are made from the committed student edition of Lab 1 (``colab/student/``) and the solved
edition (``vgteach.editions.labs.solved_notebook``). The batch runs once per session (about a minute on 2
CPU cores: one kernel per submission, small limits); the other tests read its rows.
"""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from vgteach.labs import check_contrastive, seeded
from vgteach.labs.exercises import LAB1, LABS, get_lab
from vgteach.labs.grade import Limits, defined_functions, grading_notebook, read_submission, which_lab
from vgteach.labs.hidden import grade_test
from vgteach.labs.kit import around_student_code
from vgteach.labs.watch import CallWatch

REPO = Path(__file__).resolve().parents[1]
STUDENT = REPO / "colab" / "student" / "lab1_losses.ipynb"


# ------------------------------------------------------------------------ the library-call watch (fast)
def formula_contrastive(embeddings, labels, margin=1.0):
    z = F.normalize(embeddings, dim=1)
    i, j = torch.triu_indices(len(z), len(z), offset=1)
    d2 = (2 - 2 * (z[i] * z[j]).sum(dim=1)).clamp_min(0)
    d = d2.clamp_min(1e-12).sqrt()
    positive = labels[i] == labels[j]
    mean = lambda x: x.mean() if x.numel() else z.sum() * 0
    return 0.5 * mean(d2[positive]) + 0.5 * mean((margin - d[~positive]).clamp_min(0) ** 2)


def test_the_watch_sees_the_library_whatever_it_was_imported_as():
    from vgteach.losses.contrastive import ContrastiveLoss  # imported before the watch exists

    aliased = ContrastiveLoss(margin=1.0)
    shortcuts = [
        lambda e, y, margin=1.0: aliased(e, y),
        lambda e, y, margin=1.0: __import__("vgteach").build_loss("contrastive", margin=margin)(e, y),
    ]
    for shortcut in shortcuts:
        watch = CallWatch(LAB1.exercises[1].forbidden)
        with around_student_code(watch.watching):
            assert check_contrastive(shortcut).passed  # the check alone cannot tell ...
        assert any("vgteach/losses" in call for call in watch.calls)  # ... the watch can
    watch = CallWatch(LAB1.exercises[1].forbidden)
    with around_student_code(watch.watching):
        assert check_contrastive(formula_contrastive).passed
    assert watch.calls == []
    from vgteach.labs import check_squared_distances

    watch = CallWatch(LAB1.exercises[0].forbidden)  # the squared distances may not use torch.cdist
    with around_student_code(watch.watching):
        check_squared_distances(lambda z: torch.cdist(z, z) ** 2)
    assert watch.calls and "cdist" in watch.calls[0]


def test_a_hidden_test_scores_points_library_calls_and_timeouts():
    exercise = LAB1.exercises[1]
    test = exercise.tests[0]
    right = grade_test(test, exercise, {"my_contrastive": formula_contrastive}, seed=11, seconds=30)
    assert right["points"] == test.points and right["status"] == "passed"
    shortcut = {"my_contrastive": lambda e, y, margin=1.0: __import__("vgteach").build_loss("contrastive")(e, y)}
    library = grade_test(test, exercise, shortcut, seed=11, seconds=30)
    assert library["points"] == 0 and library["status"] == "library call" and "write it yourself" in library["message"]
    missing = grade_test(test, exercise, {}, seed=11, seconds=30)
    assert missing["status"] == "missing" and missing["points"] == 0

    def endless(e, y, margin=1.0):
        while True:
            pass

    hung = grade_test(test, exercise, {"my_contrastive": endless}, seed=11, seconds=1)
    assert hung["status"] == "timeout" and hung["points"] == 0


def test_hidden_tests_draw_batches_the_student_never_saw():
    seen = []

    def recording(embeddings, labels, margin=1.0):
        seen.append(embeddings.detach().clone())
        return formula_contrastive(embeddings, labels, margin)

    check_contrastive(recording)
    visible = list(seen)
    seen.clear()
    with seeded(12345):
        check_contrastive(recording)
    assert len(seen) == len(visible) and not any(torch.equal(a, b) for a, b in zip(seen, visible))


def test_the_sandbox_names_the_first_cell_that_raised(tmp_path):
    """papermill's error names the LAST cell that raised (often a NameError that only follows from the first);
    the status names the first, and a cell stopped at its time limit as such."""
    from vgteach.labs.sandbox import first_error

    def cell(kind, *errors):
        outputs = [{"output_type": "error", "ename": name, "evalue": "", "traceback": []} for name in errors]
        return {"cell_type": kind, "metadata": {}, "source": "", **({"outputs": outputs} if kind == "code" else {})}

    executed = tmp_path / "executed.ipynb"
    write = lambda cells: executed.write_text(json.dumps({"cells": cells}))
    write([cell("markdown"), cell("code"), cell("code", "KeyboardInterrupt"), cell("code", "NameError")])
    assert first_error(executed) == "cell 2 ran past its time limit"
    write([cell("code", "ZeroDivisionError"), cell("code", "NameError")])
    assert first_error(executed) == "cell 0 raised ZeroDivisionError"
    write([cell("code")])
    assert first_error(executed) == ""
    assert first_error(tmp_path / "missing.ipynb") == ""


def test_which_lab_and_what_a_submission_defines():
    notebook = read_submission(STUDENT)
    assert which_lab(notebook).name == "lab1_losses"
    notebook["metadata"].pop("vgteach")
    assert which_lab(notebook).name == "lab1_losses"  # from the title
    for cell in notebook["cells"]:
        cell["source"] = cell["source"].replace("# Lab 1", "# A lab")
    with pytest.raises(ValueError, match="pass --lab"):
        which_lab(notebook)
    assert which_lab(notebook, "lab1").name == "lab1_losses" and get_lab(3).name == "lab3_tradeoff"
    assert {"my_contrastive", "my_supcon", "PROFILE"} <= defined_functions(notebook)
    with pytest.raises(ValueError, match="not a notebook"):
        read_submission_text("{ not json")


def read_submission_text(text, tmp=Path(os.environ.get("TMPDIR", "/tmp"))):
    path = tmp / "vgteach-test-unreadable.ipynb"
    path.write_text(text)
    try:
        return read_submission(path)
    finally:
        path.unlink()


def test_the_grading_notebook_keeps_the_students_cells_and_adds_one():
    notebook = read_submission(STUDENT)
    for cell in notebook["cells"]:
        cell["metadata"].pop("tags", None)  # Colab lost the tags
    graded = grading_notebook(notebook, LAB1, seed=3, results=Path("/x/results.jsonl"), limits=Limits())
    assert len(graded["cells"]) == len(notebook["cells"]) + 1
    assert "run_hidden_tests('lab1_losses', globals(), seed=3" in graded["cells"][-1]["source"]
    parameters = [c for c in graded["cells"] if "parameters" in c["metadata"].get("tags", [])]
    assert len(parameters) == 1 and "PROFILE =" in parameters[0]["source"]


# --------------------------------------------------------------------------- one batch of submissions
def student_cells():
    return json.loads(STUDENT.read_text(encoding="utf-8"))


def replace_function(notebook, name, code):
    for cell in notebook["cells"]:
        if cell["cell_type"] == "code" and f"def {name}(" in "".join(cell["source"]):
            cell["source"] = code
            return notebook
    raise AssertionError(name)


def add_cell(notebook, code, after="def my_squared_distances("):
    index = next(i for i, c in enumerate(notebook["cells"]) if after in "".join(c["source"]))
    notebook["cells"].insert(index + 1, {"cell_type": "code", "metadata": {}, "source": code, "outputs": []})


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    """Grade every fabricated submission in one call of the CLI; return (rows by student, folders)."""
    pytest.importorskip("papermill")
    from vgteach.cli import main
    from vgteach.editions import Book
    from vgteach.editions.labs import solved_notebook

    root = tmp_path_factory.mktemp("grading")
    submissions, instructor = root / "submissions", root / "instructor"
    submissions.mkdir()
    instructor.mkdir()
    write = lambda name, notebook: (submissions / f"{name}.ipynb").write_text(json.dumps(notebook))

    write("alice", solved_notebook(REPO / "notebooks" / "lab1_losses.ipynb", Book.read(REPO)))  # correct
    write("bob", student_cells())  # handed in untouched

    wrong = student_cells()  # wrong, library call, deleted cell, hanging function, crashing function
    replace_function(wrong, "my_squared_distances", "def my_squared_distances(z):\n    return 2 - 2 * z @ z.T + 1\n")
    replace_function(
        wrong,
        "my_contrastive",
        "from vgteach.losses import build_loss\n\n\ndef my_contrastive(embeddings, labels, margin=1.0):\n"
        '    return build_loss("contrastive", margin=margin)(embeddings, labels)\n',
    )
    wrong["cells"] = [c for c in wrong["cells"] if "def my_triplet(" not in "".join(c["source"])]
    replace_function(
        wrong, "my_infonce", "def my_infonce(embeddings, labels, temperature=0.1):\n    while True:\n        pass\n"
    )
    replace_function(wrong, "my_supcon", "def my_supcon(embeddings, labels, temperature=0.1):\n    return 1 / 0\n")
    # ... and cells that misbehave: raise, hang, eat memory, write outside the folder
    add_cell(wrong, "raise RuntimeError('a crash at the top level')")
    add_cell(wrong, "import time\ntime.sleep(3600)")
    add_cell(wrong, "import torch\nhog = torch.empty(4 * 2**30)")  # 16 GiB: more than the memory limit
    add_cell(wrong, "open('../../escaped.txt', 'w').write('x')\nopen('grades.csv', 'w').write('forged')")
    write("carol", wrong)

    (submissions / "dave.ipynb").write_text("{ this is not a notebook")  # unreadable
    dying = student_cells()  # the kernel dies before any function is defined
    add_cell(dying, "import os\nos._exit(1)", after="import torch")
    write("erin", dying)

    cwd = os.getcwd()
    os.chdir(instructor)  # grading must not touch the folder it runs in
    try:
        status = main(
            ["lab", "grade", *sorted(str(p) for p in submissions.iterdir()), "--out", str(root / "out" / "grades.csv")]
            + ["--time-limit", "8", "--test-time-limit", "5", "--memory-mb", "3072", "--seed", "4242"]
        )
    finally:
        os.chdir(cwd)
    assert status == 0
    with (root / "out" / "grades.csv").open(encoding="utf-8") as stream:
        rows = list(csv.DictReader(stream))
    by_student = {}
    for row in rows:
        by_student.setdefault(row["student"], []).append(row)
    return by_student, root, instructor


def code_rows(rows):
    return {row["exercise"]: row for row in rows if row["part"] == "code"}


def test_a_correct_submission_gets_full_points(batch):
    rows = code_rows(batch[0]["alice"])
    assert set(rows) == {exercise.label for exercise in LAB1.exercises}
    assert all(row["status"] == "passed" and float(row["points"]) == float(row["max_points"]) for row in rows.values())
    written = [row for row in batch[0]["alice"] if row["part"] == "written"]
    assert [row["exercise"] for row in written] == ["lab1-supcon"] and written[0]["status"] == "by hand"


def test_an_untouched_student_edition_is_not_written_yet(batch):
    rows = code_rows(batch[0]["bob"])
    assert all(row["status"] == "not written" and float(row["points"]) == 0 for row in rows.values())


def test_each_kind_of_broken_exercise_gets_a_row_that_says_why(batch):
    rows = code_rows(batch[0]["carol"])
    assert rows["lab1-distances"]["status"] == "failed" and "entry" in rows["lab1-distances"]["message"]
    assert rows["lab1-contrastive"]["status"] == "library call" and float(rows["lab1-contrastive"]["points"]) == 0
    assert (
        rows["lab1-triplet"]["status"] == "missing" and "no cell defines my_triplet" in rows["lab1-triplet"]["message"]
    )
    assert rows["lab1-infonce"]["status"] == "timeout"
    assert rows["lab1-supcon"]["status"] == "failed" and "ZeroDivisionError" in rows["lab1-supcon"]["message"]
    notebook = [row for row in batch[0]["carol"] if row["part"] == "notebook"]
    raised = " ".join(row["message"] for row in notebook)
    assert "RuntimeError: a crash at the top level" in raised
    assert "KeyboardInterrupt" in raised  # the sleeping cell, interrupted at the time limit
    assert "can't allocate memory" in raised  # the 16 GiB tensor, refused under the memory limit


def test_unreadable_and_dead_submissions_get_rows_and_the_batch_goes_on(batch):
    rows = batch[0]
    assert set(rows) == {"alice", "bob", "carol", "dave", "erin"}
    assert all(row["status"] == "unreadable" and "not a notebook" in row["message"] for row in rows["dave"])
    assert len(rows["dave"]) == 1  # which lab it was is unknown: one row (with --lab, one per exercise part)
    erin = code_rows(rows["erin"])
    assert all(float(row["points"]) == 0 and row["status"] in ("failed", "missing") for row in erin.values())
    assert "not graded" in " ".join(row["message"] for row in rows["erin"])


def test_a_submission_never_writes_where_grading_runs(batch):
    _, root, instructor = batch
    assert list(instructor.iterdir()) == []
    assert not (root / "escaped.txt").exists() and not (root / "submissions" / "escaped.txt").exists()
    assert (root / "out" / "grades.csv").read_text(encoding="utf-8").startswith("student,lab,exercise")
    feedback = (root / "out" / "feedback" / "carol.md").read_text(encoding="utf-8")
    assert feedback.startswith("# Feedback for carol: lab1_losses") and "library's own implementation" in feedback
    assert (root / "out" / "grades.seed").read_text().strip() == "4242"


@pytest.mark.notebook
@pytest.mark.editions
@pytest.mark.parametrize("name", ["lab2_diagnostics", "lab3_tradeoff"])
def test_the_solved_editions_of_labs_2_and_3_get_full_points(name, tmp_path, request):
    if "editions" not in (request.config.getoption("markexpr") or ""):
        pytest.skip("runs with -m editions (Lab 1's solved edition is graded in every session)")
    from vgteach.editions import Book
    from vgteach.editions.labs import solved_notebook
    from vgteach.labs.grade import grade

    path = tmp_path / "solved.ipynb"
    path.write_text(json.dumps(solved_notebook(REPO / "notebooks" / f"{name}.ipynb", Book.read(REPO))))
    rows = grade([path], tmp_path / "grades.csv", seed=99)
    code = [row for row in rows if row.part == "code"]
    assert len(code) == sum(1 for exercise in LABS[name].exercises if exercise.tests)
    assert all(row.points == row.max_points for row in code), [row.message for row in code]
