"""The ArcFace, SupCon and CCL chapters: their reader aids work and what their prose says is true.

* Each chapter opens with an "At a glance" box and learning objectives, closes with key takeaways, and
  ends its story with "What the paper says — and what we found", opened by a question (issue 21).
* Each chapter has two or more exercises; every exercise has a stub cell the book build runs as committed
  (graded "not written yet", never an error) and a solution hidden in a dropdown that passes its check.
  The exercise cells are executed here without the chapter's training (the CCL exercise on its own data
  gets a random batch and random centers in place of the live run's).
* Display equations are split into rows short enough for the text column.
* What the chapters say about the loss-landscape widget holds on the widget's own frames (default scene).
* What the chapters write in words around their glued numbers (a rank "in the top half", "tighter than
  InfoNCE's") holds on the packaged reference runs: the claims that used to be generated sentences are
  asserted here, so a regenerated study that changes them fails a test instead of the page going stale.
"""

from __future__ import annotations

import ast
import dataclasses
import re

import numpy as np
import pytest
import torch
from chapter_cells import cells, source, tags

from vgteach.labs import CheckResult
from vgteach.losses import build_loss

CHAPTERS = ("arcface", "supcon", "ccl")


# ------------------------------------------------------------------------------ objectives, takeaways
def first_markdown_after_setup(notebook: list) -> str:
    """The first Markdown cell after the install and parameters cells (where the box opens the chapter)."""
    parameters = next(i for i, cell in enumerate(notebook) if "parameters" in tags(cell))
    return next(source(cell) for cell in notebook[parameters:] if cell["cell_type"] == "markdown")


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
    bullets = [line for line in source(last).splitlines() if line.startswith("- ")]
    assert len(bullets) >= 3
    # the takeaways quote the reference runs through glue, never typed numbers
    assert "{glue:md}`" in source(last)


@pytest.mark.parametrize("name", CHAPTERS)
def test_the_story_ends_with_what_the_paper_says_and_what_we_found(name):
    markdown = "\n".join(source(cell) for cell in cells(name) if cell["cell_type"] == "markdown")
    heading = "## What the paper says — and what we found\n"
    assert markdown.count(heading) == 1
    section = markdown.split(heading, 1)[1].split("\n## ", 1)[0]
    question = section.strip().splitlines()[0]
    assert question.startswith("**") and question.endswith("?**"), question  # opened by the question
    assert "{glue:md}`" in section and "{doc}`comparison`" in section
    assert "setting may be why" not in markdown


# ------------------------------------------------------------------------------------------- exercises
def exercise_labels(text: str) -> list[str]:
    return re.findall(r"```\{exercise\}[^\n]*\n:label: (\S+)", text)


@pytest.mark.parametrize("name", CHAPTERS)
def test_every_exercise_has_a_stub_and_a_hidden_solution(name):
    notebook = cells(name)
    markdown = "\n".join(source(cell) for cell in notebook if cell["cell_type"] == "markdown")
    labels = exercise_labels(markdown)
    assert len(labels) >= 2, f"{name}: {labels}"
    for label in labels:
        assert f"```{{solution-start}} {label}\n:class: dropdown\n```" in markdown
    stubs = [cell for cell in notebook if "exercise-stub" in tags(cell)]
    solutions = [cell for cell in notebook if "exercise-solution" in tags(cell)]
    assert len(stubs) == len(solutions) == len(labels)
    for cell in solutions:
        assert cell["metadata"]["jupyter"]["source_hidden"] is True
    # each solution cell sits inside its dropdown: between a solution-start and the next solution-end
    inside = False
    for cell in notebook:
        text = source(cell)
        if "{solution-start}" in text:
            inside = True
        if "exercise-solution" in tags(cell):
            assert inside, f"{name}: a solution cell outside its dropdown"
        if "{solution-end}" in text:
            inside = False


def run_cell(code: str, namespace: dict):
    """exec a cell; return the value of its last expression (what the notebook would display)."""
    tree = ast.parse(code)
    last = tree.body.pop() if tree.body and isinstance(tree.body[-1], ast.Expr) else None
    exec(compile(tree, "<cell>", "exec"), namespace)  # noqa: S102 - the chapter's own cells
    return None if last is None else eval(compile(ast.Expression(last.value), "<cell>", "eval"), namespace)  # noqa: S307


def chapter_namespace(name: str) -> dict:
    """The chapter's import cell (the one that sets NAME), plus stand-ins for the live run's batch."""
    namespace: dict = {}
    imports = next(source(cell) for cell in cells(name) if cell["cell_type"] == "code" and "NAME = " in source(cell))
    run_cell(imports, namespace)
    generator = torch.Generator().manual_seed(0)
    labels = torch.arange(4).repeat_interleave(6)
    loss = build_loss(name, num_classes=4, embedding_dim=16) if name != "supcon" else None
    namespace.update(emb=torch.randn(len(labels), 16, generator=generator), labels=labels, epoch=0, ccl=loss)
    return namespace


@pytest.mark.parametrize("name", CHAPTERS)
def test_stubs_are_graded_not_written_and_solutions_pass(name):
    namespace = chapter_namespace(name)
    graded = []
    for cell in cells(name):
        kind = {"exercise-stub", "exercise-solution"} & set(tags(cell))
        if not kind:
            continue
        value = run_cell(source(cell), namespace)
        assert isinstance(value, CheckResult), f"{name}: the cell's last line must show a check"
        graded.append((kind.pop(), value))
    assert graded
    for kind, result in graded:
        if kind == "exercise-stub":
            assert not result and ("not written yet" in str(result) or "Not answered yet" in str(result)), str(result)
        else:
            assert result, str(result)


@pytest.mark.parametrize("name", CHAPTERS)
def test_the_graders_come_from_the_package(name):
    """Every exercise is graded by a vgteach.labs check (tested in tests/test_labs.py to pass a right answer and
    fail a wrong one); the chapters define no grader of their own."""
    from vgteach import labs

    code = [source(cell) for cell in cells(name) if cell["cell_type"] == "code"]
    assert not [cell for cell in cells(name) if "exercise-grader" in tags(cell)]
    assert not [text for text in code if re.search(r"^def check_|CheckResult\(", text, re.M)], name
    stubs = [source(cell) for cell in cells(name) if "exercise-stub" in tags(cell)]
    for stub in stubs:
        checks = re.findall(r"^(check_\w+)\(", stub, re.M)
        assert len(checks) == 1 and f"from vgteach.labs import {checks[0]}" in stub, stub
        assert callable(getattr(labs, checks[0]))


# ------------------------------------------------------------------------------------ display equations
#: a rough rendered width of one row, in characters (about 10 px each): the old unsplit equations of these
#: chapters measured 48 to 58 and were clipped in a ~700 px column; the split rows measure 44 at most
MAX_ROW_WIDTH = 46
SPACES = {",": 0.2, ";": 0.3, ":": 0.25, "!": 0, "quad": 1.5, "qquad": 3, " ": 0.3}
NAMED = {"log", "sin", "cos", "exp", "max", "min", "mean"}


def group(tex, i):
    """(content, next index) of the {...} group or single token at tex[i] (spaces skipped)."""
    while i < len(tex) and tex[i] == " ":
        i += 1
    if i >= len(tex):
        return "", i
    if tex[i] == "{":
        depth, j = 0, i
        while j < len(tex):
            depth += {"{": 1, "}": -1}.get(tex[j], 0)
            if depth == 0:
                return tex[i + 1 : j], j + 1
            j += 1
        return tex[i + 1 :], len(tex)
    if tex[i] == "\\":
        m = re.match(r"\\([A-Za-z]+|.)", tex[i:])
        return m.group(0), i + len(m.group(0))
    return tex[i], i + 1


def width(tex):
    """A rough rendered width of TeX, in characters (fractions stack, scripts are small)."""
    total, i = 0.0, 0
    while i < len(tex):
        ch = tex[i]
        if ch == "\\":
            m = re.match(r"\\([A-Za-z]+|.)", tex[i:])
            name, i = m.group(1), i + len(m.group(0))
            if name == "frac":
                a, i = group(tex, i)
                b, i = group(tex, i)
                total += max(width(a), width(b))
            elif name == "begin":
                env, i = group(tex, i)
                end = tex.find(r"\end{" + env + "}", i)
                body, i = tex[i:end], end + len(r"\end{" + env + "}")
                rows = re.split(r"\\\\(?:\[[^\]]*\])?", body)
                total += max(sum(width(col) + 1 for col in row.split("&")) for row in rows) + 1
            elif name in ("text", "operatorname", "mathrm", "mathbb", "hat", "lVert", "rVert"):
                if name in ("lVert", "rVert"):
                    total += 0.6
                else:
                    arg, i = group(tex, i)
                    total += len(arg) if name in ("text", "operatorname", "mathrm") else width(arg)
            elif name in SPACES:
                total += SPACES[name]
            elif name in NAMED:
                total += len(name)
            elif name in ("left", "right", "big", "Big", "bigl", "bigr", "displaystyle", "tfrac", "dfrac"):
                pass
            else:
                total += 1
        elif ch in "^_":
            arg, i = group(tex, i + 1)
            total += 0.7 * width(arg)
        elif ch in "{}":
            i += 1
        elif ch in " \n&":
            i += 1
        else:
            total += 1
            i += 1
    return total


def display_rows(text: str) -> list[str]:
    """The rows of every $$ … $$ block: split at the top-level \\\\ (not inside cases)."""
    rows = []
    for block in re.findall(r"\$\$(.*?)\$\$", text, re.S):
        block = re.sub(r"\\(begin|end)\{aligned\}", "", block)
        depth, current = 0, ""
        for token in re.split(r"(\\begin\{\w+\}|\\end\{\w+\}|\\\\(?:\[[^\]]*\])?)", block):
            depth += token.startswith("\\begin") - token.startswith("\\end")
            if token.startswith("\\\\") and depth == 0:
                rows.append(current)
                current = ""
            else:
                current += token
        rows.append(current)
    return rows


def test_the_width_measure_catches_an_unsplit_equation():
    unsplit = (
        r"$$ \ell_i = -\log \frac{e^{\,s\, \varphi(\cos\theta_{y_i})}}{e^{\,s\, \varphi(\cos\theta_{y_i})} + "
        r"\sum_{k \ne y_i} e^{\,s \cos\theta_k}}, \qquad \varphi = \begin{cases} \cos(\theta_y + m) & \text{if } "
        r"\theta_y + m < \pi, \\ \cos\theta_y - m \sin(\pi - m) & \text{otherwise,} \end{cases} $$"
    )
    assert max(map(width, display_rows(unsplit))) > MAX_ROW_WIDTH
    assert width(r"\frac{abc}{defgh}") == 5 and width(r"x^{ab}") == 1 + 0.7 * 2


@pytest.mark.parametrize("name", CHAPTERS)
def test_display_equations_are_split_into_short_rows(name):
    text = "\n".join(source(cell) for cell in cells(name) if cell["cell_type"] == "markdown")
    wide = [(round(width(row)), row.strip()) for row in display_rows(text) if width(row) > MAX_ROW_WIDTH]
    assert not wide, f"{name}: split these rows with aligned and \\\\: {wide}"


# ---------------------------------------------------------------------- the widget sentences, on the frames
@pytest.fixture(scope="module")
def frames():
    """|force| and the force along the circle (counter-clockwise) of a, p, p₂, n₁, n₂ in each default frame."""
    landscape = pytest.importorskip("vgteach.widgets.landscape")
    scene = landscape.CircleScene()
    out = {}
    for name in ("arcface", "ccl", "supcon", "infonce"):
        loss = landscape.make_loss(name, landscape.default_hparams(name), scene)
        rows = []
        for negative in landscape.DEFAULT_NEGATIVE_DEGREES:
            frame = dataclasses.replace(scene, negative=float(negative))
            forces = landscape.forces(loss, frame).forces
            angles = np.radians([0.0, frame.positive, frame.second_positive, frame.negative, frame.second_negative])
            along = forces[:, 0] * -np.sin(angles) + forces[:, 1] * np.cos(angles)
            rows.append((np.linalg.norm(forces, axis=1), along))
        out[name] = rows
    return out


A, P, P2, N1, N2 = range(5)
SILENT = 1e-3  # an arrow shorter than this share of the longest is drawn as nothing


def test_arcface_sentence_matches_its_frames(frames):
    norms = np.array([norm for norm, _ in frames["arcface"]])
    silent = SILENT * norms.max()
    # moving n₁ changes only n₁'s arrow; a and p feel nothing; p₂ is pulled (toward its proxy at 20°)
    assert np.allclose(norms[:, [A, P, P2, N2]], norms[0, [A, P, P2, N2]], rtol=1e-4, atol=silent)
    assert (norms[:, [A, P]] < silent).all() and (norms[:, P2] > silent).all()
    # n₁'s arrow: shortest first (next to the other proxy), growing, then gone once past the margin
    n1 = norms[:, N1]
    alive = n1 > silent
    assert alive[0] and not alive[-1] and (alive[:-1] >= alive[1:]).all()
    assert np.all(np.diff(n1[alive]) >= -silent) and n1[alive].argmax() == alive.sum() - 1


def test_ccl_sentence_matches_its_frames(frames):
    norms = np.array([norm for norm, _ in frames["ccl"]])
    assert (norms > SILENT * norms.max()).all()  # CCL's arrows never vanish
    assert np.allclose(norms[:, [A, P, N2]], norms[0, [A, P, N2]], rtol=1e-4)  # the same pull in every frame
    arcface = np.array([norm for norm, _ in frames["arcface"]])
    silent = SILENT * arcface.max()
    assert (arcface[:, [A, P]] < silent).all() and arcface[-1, N1] < silent


def test_supcon_sentence_matches_its_frames(frames):
    for name in ("supcon", "infonce"):
        for _, along in frames[name]:
            # both positives move toward a (at 0°): p at 40° clockwise, p₂ at 300° counter-clockwise
            assert along[P] < 0 and along[P2] > 0, name
    for (supcon, _), (infonce, _) in zip(frames["supcon"], frames["infonce"]):
        assert supcon[P] < infonce[P]  # SupCon pulls the closer positive less than InfoNCE


def test_supcon_anchor_term_alone_pushes_the_closer_positive_back():
    """The mechanism the SupCon sentence names: in a's own softmax (the chapter's ℓ_a), p (closer) is pushed
    away from a and p₂ pulled toward it."""
    angles = torch.tensor([0.0, 40.0, 300.0, 90.0, 220.0], dtype=torch.float64).deg2rad()
    z = torch.stack([angles.cos(), angles.sin()], dim=1).requires_grad_(True)
    logits = z[0] @ z[1:].T / 0.1  # a against p, p₂, n₁, n₂
    anchor_term = torch.logsumexp(logits, dim=0) - logits[:2].mean()  # ℓ_a with P(a) = {p, p₂}
    (grad,) = torch.autograd.grad(anchor_term, z)
    similarity_change = -(grad * z[0].detach()).sum(dim=1)  # d(z_a·z_x) along the descent direction −grad_x
    assert similarity_change[1] < 0 < similarity_change[2]
    # and the same ℓ_a is vgteach's first term
    terms = build_loss("supcon", temperature=0.1).terms(z.detach(), torch.tensor([0, 0, 0, 1, 1]))
    assert torch.isclose(terms.values[0], anchor_term.detach())


# ------------------------------------------------------------------------------------------ notation
#: Old meanings book/notation.md retired (one meaning per symbol), as they were written in the chapters.
RETIRED = {
    "a softmax probability is q_ik (π is only the constant)": r"\\pi_",
    "a softmax denominator is Q_ip (D is only the dimension)": r"(?<![\\\w])D_\{",
    "centers are named by row, c_k (C is only the number of classes)": r"\bC \\in|\bc_\{i[a-z]\}",
    "the logit scale is γ (s is only a cosine similarity)": (
        r"(?<![\\\w])s\s*=\s*\d|\\frac\{s\}|/s\b|[{(]\\?,?s\\,|e\^\{-s|\bscale \$?s\$?(?!\w)|\bby \$s\$"
    ),
}
LOSS_CHAPTERS = ("contrastive", "triplet", "npair", "infonce", "arcface", "supcon", "ccl")


def retired_symbols(text: str) -> list:
    return [rule for rule, pattern in RETIRED.items() if re.search(pattern, text)]


def test_the_retired_symbols_are_recognised():
    old = {
        r"$s = 64$": 1,
        r"\frac{s}{B}\,\big(\pi_{ik} - \delta\big)": 2,
        r"e^{\,s\, \varphi(\cos\theta_{y_i})}": 1,
        r"Let $D_{ip} = e^{s_{ip}/\tau}$": 1,
        r"centers $C \in \mathbb{R}^{K \times D}$, $c_{ik} = z_i^\top \hat c_k$": 1,
        "# scale s = 1.0": 1,
        "multiply every logit by $s$": 1,
    }
    for text, rules in old.items():
        assert len(retired_symbols(text)) == rules, text
    new = (
        r"$\gamma = 64$, $q_{ik}$, $Q_{ip}$, $s_{ij} = z_i^\top z_j$, $d^2 = 2 - 2s$, $\hat c_k$, math.pi, $e^{s/\tau}$"
    )
    assert retired_symbols(new) == []


@pytest.mark.parametrize("name", LOSS_CHAPTERS)
def test_chapters_use_the_notation_pages_symbols(name):
    """Markdown, and the comments and strings of code cells (what a reader sees or is printed), use
    book/notation.md's symbols."""
    found = []
    for index, cell in enumerate(cells(name)):
        text = source(cell)
        if cell["cell_type"] == "code":
            comments = [line.split("#", 1)[1] for line in text.splitlines() if "#" in line]
            try:
                tree = ast.parse(text)
            except SyntaxError:  # a cell with an IPython magic (the Colab install line)
                tree = ast.parse("")
            strings = [
                node.value for node in ast.walk(tree) if isinstance(node, ast.Constant) and isinstance(node.value, str)
            ]
            text = "\n".join(comments + strings)
        found += [(index, rule) for rule in retired_symbols(text)]
    assert not found, f"{name}: {found}"


# ------------------------------------------------------------------------ SupCon's "which positives are pushed"
def closed_form_pushed(embeddings, labels, temperature=0.1):
    """The chapter's gradient read for anchor i: p is pushed away when q_ip > 1/|P(i)|."""
    z = torch.nn.functional.normalize(embeddings, dim=1)
    eye = torch.eye(len(z), dtype=torch.bool)
    positive = (labels[:, None] == labels[None, :]) & ~eye
    q = (z @ z.T / temperature).masked_fill(eye, float("-inf")).softmax(dim=1)
    return positive & (q > 1 / positive.sum(dim=1, keepdim=True).clamp_min(1))


def test_pushed_positives_follow_the_gradient_formula_and_the_landscape():
    from vgteach.labs import PUSH_BATCHES, pushed_positives
    from vgteach.labs.proxy_chapters import _push_cases

    cases = _push_cases()
    assert len(cases) == len(PUSH_BATCHES) + 1
    some_pushed = 0
    for _, embeddings, labels in cases:
        pushed, gradient = pushed_positives(embeddings, labels)
        assert torch.equal(pushed, closed_form_pushed(embeddings, labels))
        some_pushed += int(pushed.sum())
        positive = (labels[:, None] == labels[None, :]) & ~torch.eye(len(labels), dtype=torch.bool)
        assert (pushed <= positive).all() and ((~pushed) & positive).any()  # both kinds are graded
    assert some_pushed > 0
    # the landscape's scene: a (row 0) pushes p (40°, closer) and pulls p₂ (300°)
    pushed, _ = pushed_positives(*cases[-1][1:])
    assert pushed[0, 1] and not pushed[0, 2]


def test_check_pushed_positives_grades_right_and_wrong_answers():
    from vgteach.labs import check_pushed_positives

    assert check_pushed_positives(closed_form_pushed)
    none = check_pushed_positives(lambda e, y, temperature=0.1: torch.zeros(len(y), len(y), dtype=torch.bool))
    assert not none and "positive pairs disagree" in str(none)

    def every_positive(e, y, temperature=0.1):
        return (y[:, None] == y[None, :]) & ~torch.eye(len(y), dtype=torch.bool)

    assert not check_pushed_positives(every_positive)
    assert "not a positive pair" in str(
        check_pushed_positives(lambda e, y, temperature=0.1: torch.ones(len(y), len(y)))
    )
    assert "expected a boolean tensor" in str(check_pushed_positives(lambda e, y, temperature=0.1: None))
    # the temperature is passed on: an answer that ignores it fails at another τ
    assert check_pushed_positives(closed_form_pushed, temperature=0.5)
    assert not check_pushed_positives(lambda e, y, temperature=0.1: closed_form_pushed(e, y), temperature=5.0)


# ---------------------------------------------------------------- the prose around the glued numbers is true
@pytest.fixture(scope="module")
def reference():
    from vgteach import results

    return results.load("cifar10")


def means(reference, column: str) -> dict:
    """``{loss: mean over seeds}`` of ``column`` in the reference runs."""
    from vgteach.results import per_seed

    return per_seed(reference, column).mean().to_dict()


def test_supcon_prose_holds_on_the_reference_runs(reference):
    from vgteach.results import curve, in_bottom_half, in_top_half, ranks

    standing = ranks(reference, "supcon")
    # At a glance: "SupCon retrieves well (… on R@1), but its classes end tighter than most (… on intra)"
    assert in_top_half(standing, "R@1") and in_bottom_half(standing, "intra")
    # "What SupCon does keep is dimensions: it ranks … on within-class rank"
    assert in_top_half(standing, "within-class rank")
    # "its effective active ratio settles near the top of the seven: its update stays spread over many pairs"
    assert standing.loc["effective active ratio", "rank"] <= 2
    # "the lowest share of active anchors in any of their epochs is …; the active ratio says nothing"
    assert curve(reference, "supcon", "active_ratio").min() >= 0.99
    # "InfoNCE retrieves a little better, and SupCon's classes end much tighter, in fewer dimensions"
    r1, intra, rank = (means(reference, c) for c in ("recall@1", "intra", "within_class_rank"))
    assert 0 < r1["infonce"] - r1["supcon"] < 0.05
    assert intra["supcon"] < 0.6 * intra["infonce"] and rank["supcon"] < rank["infonce"]


def test_arcface_prose_holds_on_the_reference_runs(reference):
    from vgteach.results import curve, in_bottom_half, in_top_half, ranks

    standing = ranks(reference, "arcface")
    # At a glance and "what we found": its update is concentrated (Gini, effective active ratio), yet its
    # classes keep few dimensions, and it does not retrieve better than most
    assert in_top_half(standing, "Gini") and in_bottom_half(standing, "effective active ratio")
    assert in_bottom_half(standing, "within-class rank") and in_bottom_half(standing, "R@1")
    # "ArcFace's row is unremarkable on retrieval and intra": neither end of the seven
    for heading in ("R@1", "intra"):
        assert 3 <= standing.loc[heading, "rank"] <= 5, heading
    # "… of the samples are still active in the last epoch: most never get past the margin"
    active = curve(reference, "arcface", "active_ratio")
    assert active.iloc[-1] > 0.5
    # "its active ratio falls over the first epochs …, then creeps back up in the second half"
    assert active.idxmin() < active.index[-1] / 2 and active.iloc[-1] - active.min() > 0.05


def test_ccl_prose_holds_on_the_reference_runs(reference):
    from vgteach.results import curve, in_bottom_half, in_top_half, ranks

    standing = ranks(reference, "ccl")
    # At a glance and "what we found": CCL keeps more within-class variance than most, shrinks less than
    # most during training (Δ intra: rank 1 = the least shrinkage), along few directions
    assert in_top_half(standing, "intra") and in_top_half(standing, "Δ intra")
    assert in_bottom_half(standing, "within-class rank")
    # "… the update is far from even: CCL ranks … on the Gini" / "its Gini climbs among the highest"
    assert in_top_half(standing, "Gini")
    # "Every sample stays active (the lowest active ratio of the reference runs is …)"
    assert curve(reference, "ccl", "active_ratio").min() >= 0.99
    # "its intra falls from … to … over the run, levelling off by mid-training" (intra shrinks overall)
    intra = curve(reference, "ccl", "intra")
    middle = intra[intra.index >= intra.index[-1] / 2].iloc[0]
    assert intra.iloc[-1] < intra.iloc[0]
    assert abs(intra.iloc[-1] - middle) <= 0.1 * abs(intra.iloc[-1] - intra.iloc[0])
