"""The contrastive, triplet, N-pair and InfoNCE chapters: their reader aids work and what their prose says is
true.

* Each chapter opens with an "At a glance" box and learning objectives, closes with key takeaways, and ends
  its story with "What the paper says — and what we found", opened by a question (issue 21).
* Each chapter has two exercises, each with a stub the book build runs as committed (graded "not written
  yet" / "not answered yet", never an error) and a solution hidden in a dropdown that passes its check.
  Implementing a loss that Lab 1 has (contrastive, triplet, InfoNCE) is a link to the lab, not a copy.
* The page shows teaching code: the cells that only glue numbers are hidden, the live run shows its recipe,
  the tables have three to six columns, and no inventory of the landscape's frames is glued into the prose
  (what the prose says about the widget is asserted on its frames in tests/test_widget_captions.py).
* What the chapters write in words around their glued numbers ("the tightest classes of the seven",
  "jumps after one epoch") holds on the packaged reference runs: asserted here, so a regenerated study
  that changes them fails a test instead of the page going stale.
"""

from __future__ import annotations

import ast
import re

import pytest
from chapter_cells import cells, source, tags

from vgteach import results
from vgteach.labs import CheckResult

CHAPTERS = ("contrastive", "triplet", "npair", "infonce")
#: the chapters whose loss Lab 1 implements (the chapter links to it instead of repeating the exercise)
IN_LAB1 = ("contrastive", "triplet", "infonce")
HIDDEN = {"remove-cell", "remove-input"}


def markdown(name: str) -> str:
    return "\n".join(source(cell) for cell in cells(name) if cell["cell_type"] == "markdown")


def first_markdown_after_setup(notebook: list) -> str:
    """The first Markdown cell after the install and parameters cells (where the box opens the chapter)."""
    parameters = next(i for i, cell in enumerate(notebook) if "parameters" in tags(cell))
    return next(source(cell) for cell in notebook[parameters:] if cell["cell_type"] == "markdown")


# ------------------------------------------------------------------------------------------- the story
@pytest.mark.parametrize("name", CHAPTERS)
def test_at_a_glance_and_objectives_open_and_takeaways_close_the_chapter(name):
    notebook = cells(name)
    opening = first_markdown_after_setup(notebook)
    assert opening.startswith(":::{admonition} At a glance\n:class: tip\n")
    glance = opening.split(":::", 2)[1]
    for item in ("**Formula.**", "**Family.**", "**What it pushes.**", "**What the reference runs say.**"):
        assert f"- {item}" in glance, item
    assert "{glue:md}`" in glance.split("**What the reference runs say.**")[1]  # its numbers are glued
    assert ":::{admonition} Learning objectives" in opening
    last = notebook[-1]
    assert last["cell_type"] == "markdown" and ":::{admonition} Key takeaways" in source(last)
    bullets = source(last).split("\n- ")[1:]
    assert len(bullets) >= 3
    assert "reference runs" in bullets[-1] and "{glue:md}`" in bullets[-1]  # the last one: what the runs say


@pytest.mark.parametrize("name", CHAPTERS)
def test_the_story_ends_with_what_the_paper_says_and_what_we_found(name):
    text = markdown(name)
    heading = "## What the paper says — and what we found\n"
    assert text.count(heading) == 1
    section = text.split(heading, 1)[1].split("\n## ", 1)[0]
    question = section.strip().splitlines()[0]
    assert question.startswith("**") and question.endswith("?**"), question  # opened by the question
    assert "{glue:md}`" in section and "{doc}`comparison`" in section
    assert "setting may be why" not in text


@pytest.mark.parametrize("name", CHAPTERS)
def test_the_two_datasets_have_their_names(name):
    text = markdown(name)
    assert "{term}`live run`" in text and "{term}`reference runs`" in text
    assert not re.search(r"\bour (reference )?runs\b", text, re.I), "say which runs: live run or reference runs"
    assert "## The live run" in text and "## The reference runs" in text


# ------------------------------------------------------------------------------------------ the code
def code_cells(name: str) -> list[dict]:
    return [cell for cell in cells(name) if cell["cell_type"] == "code"]


@pytest.mark.parametrize("name", CHAPTERS)
def test_glue_cells_are_hidden_and_the_landscape_is_not_inventoried(name):
    for cell in code_cells(name):
        if "results.glue(" in source(cell):
            assert HIDDEN & set(tags(cell)), f"{name}: a visible glue cell:\n{source(cell)[:200]}"
    text = markdown(name)
    assert "What the frames show" not in text and "{glue:md}`landscape`" not in text
    assert not any("landscape_summary" in source(cell) for cell in code_cells(name))


@pytest.mark.parametrize("name", CHAPTERS)
def test_the_live_run_shows_its_recipe_in_one_visible_cell(name):
    visible = [source(cell) for cell in code_cells(name) if not HIDDEN & set(tags(cell))]
    training = [code for code in visible if "train(config" in code]
    assert len(training) == 1
    assert "chapter_config(PROFILE, NAME" in training[0] and "print(recipe(config))" in training[0]
    assert "title=live_run_title(config)" in training[0]
    assert len(training[0].splitlines()) <= 6


@pytest.mark.parametrize("name", CHAPTERS)
def test_the_tables_have_three_to_six_columns(name):
    for variable, call in (("RUN_COLUMNS", "summary_table(result.summary"), ("CHAPTER_COLUMNS", "reference_view(")):
        code = next(source(c) for c in code_cells(name) if call in source(c))
        namespace: dict = {}
        exec(code.split(call)[0], namespace)  # noqa: S102 - the column list only
        assert 3 <= len(namespace[variable]) <= 6, f"{name}: {variable}"
        assert variable in code.split(call)[1].split("\n")[0]


# ------------------------------------------------------------------------------------------- exercises
@pytest.mark.parametrize("name", CHAPTERS)
def test_every_exercise_has_a_stub_and_a_hidden_solution(name):
    notebook = cells(name)
    text = markdown(name)
    labels = re.findall(r"```\{exercise\}[^\n]*\n:label: (\S+)", text)
    assert len(labels) >= 2, labels
    for label in labels:
        assert f"```{{solution-start}} {label}\n:class: dropdown\n```" in text
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


@pytest.mark.parametrize("name", IN_LAB1)
def test_implementing_the_loss_is_lab_1s_exercise_not_a_copy(name):
    assert f"{{ref}}`lab1-{name}`" in markdown(name)
    assert not any(f"check_{name}" in source(cell) for cell in code_cells(name))
    lab = "\n".join(source(cell) for cell in cells("lab1_losses"))
    assert f":label: lab1-{name}" in lab and f"check_{name}" in lab


def run_cell(code: str, namespace: dict):
    """exec a cell; return the value of its last expression (what the notebook would display)."""
    tree = ast.parse(code)
    last = tree.body.pop() if tree.body and isinstance(tree.body[-1], ast.Expr) else None
    exec(compile(tree, "<cell>", "exec"), namespace)  # noqa: S102 - the chapter's own cells
    return None if last is None else eval(compile(ast.Expression(last.value), "<cell>", "eval"), namespace)  # noqa: S307


@pytest.mark.parametrize("name", CHAPTERS)
def test_stubs_are_graded_not_written_and_solutions_pass(name):
    namespace: dict = {}
    imports = next(source(c) for c in code_cells(name) if f'NAME = "{name}"' in source(c))
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


# --------------------------------------------------------- what the prose says about the reference runs
@pytest.fixture(scope="module")
def reference():
    return results.load("cifar10")


def rank(reference, loss: str, heading: str) -> tuple[int, int]:
    row = results.ranks(reference, loss).loc[heading]
    return int(row["rank"]), int(row["of"])


def test_contrastive_reference_claims(reference):
    """ "the tightest classes of the seven, none shrinks them more, none leaves them fewer directions, the
    most evenly spread gradient; R@1 near the bottom; the active ratio jumps after one epoch, when most
    negative pairs come inside the margin, then eases down; intra falls within a single epoch" """
    for heading in ("intra", "Δ intra", "within-class rank", "Gini"):
        place, of = rank(reference, "contrastive", heading)
        assert place == of, heading  # rank 1 = the largest: the smallest of all
    place, of = rank(reference, "contrastive", "R@1")
    assert place >= of - 1
    active = results.curve(reference, "contrastive", "active_ratio")
    assert active.iloc[1] > max(active.iloc[0], 0.9) and active.iloc[-1] < active.iloc[1]
    intra = results.curve(reference, "contrastive", "intra")
    assert intra.iloc[0] - intra.iloc[1] > 0.8 * (intra.iloc[0] - intra.iloc[-1])  # most of the fall: epoch 1


def test_triplet_reference_claims(reference):
    """ "more directions than any loss but one (InfoNCE); intra below the middle, level with ArcFace's and
    N-pair's and far below InfoNCE's, SupCon tighter still; R@1 second only to InfoNCE's; Gini in the middle; the active ratio falls
    until most triplets are ordered" """
    table = results.ranks(reference, "triplet")
    assert tuple(table.loc["within-class rank", ["rank", "best"]]) == (2, "infonce")
    assert tuple(table.loc["R@1", ["rank", "best"]]) == (2, "infonce")
    assert not results.in_top_half(table, "intra")
    intra = results.per_seed(reference, "intra").mean()
    assert intra["triplet"] < intra.median()  # below the middle of the seven
    assert abs(intra["triplet"] - intra["arcface"]) < 0.01 and abs(intra["triplet"] - intra["npair"]) < 0.01
    assert intra["infonce"] - intra["triplet"] > 0.2  # far below InfoNCE's
    assert not results.in_top_half(table, "Gini") and not results.in_bottom_half(table, "Gini")
    supcon = results.ranks(reference, "supcon").loc["intra", "mean"]
    assert supcon < table.loc["intra", "mean"]
    active = results.curve(reference, "triplet", "active_ratio")
    assert active.iloc[-1] < min(active.iloc[0], 0.5)


def test_npair_reference_claims(reference):
    """ "class means the farthest apart, the least evenly spaced (Contrastive's nearly as uneven), the highest
    Gini by far, the lowest R@1; only two samples per label get a gradient; the active ratio stays at 1" """
    spacing = (("centroid_dist_mean", "class-mean distance", ""), ("centroid_dist_cv", "spacing", ""))
    table = results.ranks(reference, "npair", results.RANK_MEASURES + spacing)
    for heading in ("class-mean distance", "spacing", "Gini"):
        assert table.loc[heading, "rank"] == 1, heading
    assert table.loc["R@1", "rank"] == table.loc["R@1", "of"]
    gini = results.per_seed(reference, "grad_gini").mean().sort_values()
    assert gini["npair"] - gini.iloc[-2] > 0.3  # by far
    contrastive = results.ranks(reference, "contrastive", spacing).loc["spacing"]
    assert contrastive["rank"] == 2 and contrastive["mean"] > 0.95 * table.loc["spacing", "mean"]
    samples = results.per_seed(reference, "sample_active_ratio").mean()
    assert samples["npair"] < 0.5 and samples.idxmin() == "npair"
    assert results.curve(reference, "npair", "active_ratio").min() == pytest.approx(1.0)


def test_infonce_reference_claims(reference):
    """ "the largest classes, the best R@1, the only loss whose classes grow (a positive Δ intra); the second
    lowest Gini, after Contrastive; the most directions per class; the active ratio stays at 1" """
    table = results.ranks(reference, "infonce")
    for heading in ("intra", "R@1", "within-class rank"):
        assert table.loc[heading, "rank"] == 1, heading
    change = results.per_seed(reference, "intra_change").mean()
    assert change["infonce"] > 0 and (change.drop("infonce") < 0).all()
    assert table.loc["Gini", "rank"] == table.loc["Gini", "of"] - 1 and table.loc["Gini", "worst"] == "contrastive"
    assert results.curve(reference, "infonce", "active_ratio").min() == pytest.approx(1.0)
