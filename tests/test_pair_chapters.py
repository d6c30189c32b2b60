"""The contrastive, triplet, N-pair and InfoNCE chapters: their reader aids work and their landscape prose is
generated from the frames.

* Learning objectives open each chapter and key takeaways close it (MyST admonitions); the takeaway about
  our results is glued from the reference runs.
* Each chapter has two exercises, each with a stub the book build runs as committed (graded "not written
  yet" / "not answered yet", never an error) and a solution hidden in a dropdown that passes its check.
* The sentence under the loss-landscape widget is ``landscape_summary(NAME)`` (the statements that
  tests/test_widget_captions.py checks on the frames), and the hand-written claims around it are checked there.
* The run's summary is a few readable columns, not the whole summary row.
"""

from __future__ import annotations

import ast
import re

import pytest
from chapter_cells import cells, source, tags

from vgteach.labs import CheckResult

CHAPTERS = ("contrastive", "triplet", "npair", "infonce")


@pytest.mark.parametrize("name", CHAPTERS)
def test_objectives_open_and_takeaways_close_the_chapter(name):
    notebook = cells(name)
    assert ":::{admonition} Learning objectives" in source(notebook[0])
    last = notebook[-1]
    assert last["cell_type"] == "markdown" and ":::{admonition} Key takeaways" in source(last)
    assert len([line for line in source(last).splitlines() if line.startswith("- ")]) >= 3
    assert "{glue:md}`takeaway_reference`" in source(last)


@pytest.mark.parametrize("name", CHAPTERS)
def test_every_exercise_has_a_stub_and_a_hidden_solution(name):
    notebook = cells(name)
    markdown = "\n".join(source(cell) for cell in notebook if cell["cell_type"] == "markdown")
    labels = re.findall(r"```\{exercise\}[^\n]*\n:label: (\S+)", markdown)
    assert len(labels) >= 2, labels
    for label in labels:
        assert f"```{{solution-start}} {label}\n:class: dropdown\n```" in markdown
    stubs = [cell for cell in notebook if "exercise-stub" in tags(cell)]
    solutions = [cell for cell in notebook if "exercise-solution" in tags(cell)]
    assert len(stubs) == len(solutions) == len(labels)
    assert all(cell["metadata"]["jupyter"]["source_hidden"] is True for cell in solutions)
    inside = False
    for cell in notebook:
        inside = inside or "{solution-start}" in source(cell)
        if "exercise-solution" in tags(cell):
            assert inside, f"{name}: a solution cell outside its dropdown"
        inside = inside and "{solution-end}" not in source(cell)


def run_cell(code: str, namespace: dict):
    """exec a cell; return the value of its last expression (what the notebook would display)."""
    tree = ast.parse(code)
    last = tree.body.pop() if tree.body and isinstance(tree.body[-1], ast.Expr) else None
    exec(compile(tree, "<cell>", "exec"), namespace)  # noqa: S102 - the chapter's own cells
    return None if last is None else eval(compile(ast.Expression(last.value), "<cell>", "eval"), namespace)  # noqa: S307


@pytest.mark.parametrize("name", CHAPTERS)
def test_stubs_are_graded_not_written_and_solutions_pass(name):
    namespace: dict = {}
    imports = next(source(c) for c in cells(name) if c["cell_type"] == "code" and f'NAME = "{name}"' in source(c))
    run_cell(imports, namespace)  # the chapter's own imports: a solution needing more must fail here
    graded = []
    for cell in cells(name):
        kind = {"exercise-stub", "exercise-solution"} & set(tags(cell))
        if kind:
            value = run_cell(source(cell), namespace)
            assert isinstance(value, CheckResult), f"{name}: the cell's last line must show a check"
            graded.append((kind.pop(), value))
    assert [kind for kind, _ in graded] == ["exercise-stub", "exercise-solution"] * (len(graded) // 2)
    for kind, result in graded:
        if kind == "exercise-stub":
            assert not result and re.search(r"not written yet|Not answered yet", str(result)), str(result)
        else:
            assert result, str(result)


@pytest.mark.parametrize("name", CHAPTERS)
def test_landscape_prose_is_glued_from_the_frames(name):
    notebook = cells(name)
    widget = next(i for i, c in enumerate(notebook) if "loss_landscape(loss_names=" in source(c))
    glue_cell, prose = source(notebook[widget + 1]), source(notebook[widget + 2])
    assert 'results.glue("landscape", landscape_summary(NAME))' in glue_cell
    assert prose.startswith("**What the frames show**") and "{glue:md}`landscape`" in prose


@pytest.mark.parametrize("name", CHAPTERS)
def test_the_run_summary_shows_a_few_columns(name):
    code = next(source(c) for c in cells(name) if "summary_table(result.summary" in source(c))
    namespace: dict = {}
    exec(code.split("summary_table(")[0], namespace)  # noqa: S102 - the column list only
    assert 4 <= len(namespace["RUN_COLUMNS"]) <= 8
