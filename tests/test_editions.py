"""The editions of the book's notebooks: Colab (colab/), student and instructor (vgteach lab …).

Checked without running anything: MyST becomes plain Markdown (directives, roles, admonitions), the
committed copies are exactly what the generator writes, no MyST syntax is left in them, every glued value
is pointed to by its name and displayed by the code that computes it, the book's launch button opens them,
the labs' marking (stubs, solutions) and front matter agree with ``vgteach.labs.exercises``, and no solution
survives in a student edition. Then a few copies run top to bottom in the smoke profile (papermill), and
every copy does under ``-m editions``.
"""

from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path

import pytest

from vgteach import REPOSITORY_URL
from vgteach.editions import BOOK_URL, COLAB_URL, Book, Context, to_markdown
from vgteach.editions.book import pages_url, read_bibtex, resolve_docname
from vgteach.editions.colab import COLAB_FOLDER, GLUE_NAME, glued_names
from vgteach.editions.labs import (
    INSTRUCTOR_ONLY,
    SOLUTION,
    STUB,
    exercise_spans,
    instructor_notebook,
    solved_notebook,
    student_notebook,
)
from vgteach.labs.exercises import LABS

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted(path.stem for path in (REPO / "notebooks").glob("*.ipynb"))
#: What plain Markdown must not contain: a role, a colon fence, a directive fence, a :label: option, a glue.
MYST = re.compile(r"\{[A-Za-z][\w:+.-]*\}`|^\s*:::|^\s*[`~]{3,}\{|^:label:|\{glue|^\([^()\s]+\)=\s*$", re.M)
#: The copies that run in every test session (a lab; the chapter whose findings are all glued values).
SAMPLE = ("lab1_losses", "reproduction")


@pytest.fixture(scope="module")
def book():
    return Book.read(REPO)


def context(book, docname="notebooks/contrastive", glue=lambda name: f"<{name}>"):
    return Context(book, docname, glue, {"x-one": 1, "x-two": 2})


def source(cell: dict) -> str:
    return "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]


def markdown_of(notebook: dict) -> str:
    return "\n\n".join(source(cell) for cell in notebook["cells"] if cell["cell_type"] == "markdown")


def read(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


# --------------------------------------------------------------------------------------- the converter
def test_the_book_url_is_the_pages_url_of_the_repository():
    owner, name = REPOSITORY_URL.rstrip("/").split("/")[-2:]
    assert BOOK_URL == f"https://{owner.lower()}.github.io/{name}/"
    assert COLAB_URL == f"https://colab.research.google.com/github/{owner}/{name}/blob/main/"
    with pytest.raises(ValueError, match="not a GitHub repository"):
        pages_url("https://gitlab.com/a/b")


def test_directives_become_headed_sections_quotes_and_details(book):
    ctx = context(book)
    text = (
        "## Exercises\n\n```{exercise} First\n:label: x-one\n\nDo $a^2$.\n```\n\n"
        "```{solution-start} x-one\n:class: dropdown\n```\n\n```{solution-end}\n```\n\n"
        ":::{admonition} Key points\n:class: important\n- one\n- two\n:::\n\n"
        ":::{admonition} All the numbers\n:class: dropdown\nHidden text.\n:::\n\n"
        "```{note}\nA note.\n```\n\n```python\n{doc}`not a role in code`\n```\n\n(a-label)=\n### Later\n"
    )
    out = to_markdown(text, ctx)
    assert "### Exercise: First\n\nDo $a^2$." in out  # unnumbered: the book numbers exercises book-wide
    assert "### Solution" in out and not re.search(r"Exercise \d", out)
    assert "> **Key points**\n>\n> - one\n> - two" in out
    assert "<details>\n<summary>All the numbers</summary>\n\nHidden text.\n\n</details>" in out
    assert "> **Note**\n>\n> A note." in out
    assert "```python\n{doc}`not a role in code`\n```" in out  # code blocks are copied as they are
    assert "(a-label)=" not in out and "### Later" in out
    assert not MYST.search(out.replace("{doc}`not a role in code`", ""))


def test_roles_become_links_text_and_maths(book):
    ctx = context(book)
    families = book.titles["book/families"]
    assert role_text(ctx, "{doc}`../book/families`") == f"[{families}]({BOOK_URL}book/families.html)"
    assert role_text(ctx, "{doc}`the seven <triplet>`") == f"[the seven]({BOOK_URL}notebooks/triplet.html)"
    assert role_text(ctx, "{ref}`contrastive-reference`").endswith(
        f"({BOOK_URL}notebooks/contrastive.html#contrastive-reference)"
    )
    assert "exercise “Squared distances”" in role_text(
        ctx, "{ref}`lab1-distances`"
    ) and "lab1_losses.html#lab1-distances" in role_text(ctx, "{ref}`lab1-distances`")
    assert role_text(ctx, "{term}`active ratio`") == f"[active ratio]({BOOK_URL}book/glossary.html#term-active-ratio)"
    assert role_text(ctx, "{cite:t}`zeng2026variance`") == f"[Zeng et al. (2026)]({BOOK_URL}book/bibliography.html)"
    assert (
        role_text(ctx, "{cite}`hadsell2006dimensionality`")
        == f"([Hadsell et al. 2006]({BOOK_URL}book/bibliography.html))"
    )
    assert role_text(ctx, "{math}`x^2`") == "$x^2$"
    assert role_text(ctx, "see {glue:md}`standing` and `{glue:md}` in code") == "see <standing> and `{glue:md}` in code"
    with pytest.raises(KeyError, match="not a page"):
        role_text(ctx, "{doc}`nowhere`")


def role_text(ctx, text):
    return to_markdown(text, ctx)


def test_bibtex_authors_and_doc_paths():
    refs = read_bibtex("@article{k1, author = {Wang, Tongzhou and Isola, Phillip}, title = {{A} b}, year = {2020}}")
    assert refs == {"k1": ("Wang and Isola", "2020")}
    assert resolve_docname("../book/families", "notebooks/x") == "book/families"
    assert resolve_docname("triplet.ipynb", "notebooks/x") == "notebooks/triplet"
    assert resolve_docname("/book/using", "notebooks/x") == "book/using"


# ----------------------------------------------------------------------------------- committed copies
def test_regenerating_the_colab_edition_changes_nothing(tmp_path):
    from vgteach.cli import main

    assert main(["colab", "--repo", str(REPO), "--check"]) == 0, "run `vgteach colab` and commit colab/"
    expected = sorted([f"{name}.ipynb" for name in NOTEBOOKS] + [f"student/{name}.ipynb" for name in LABS])
    committed = sorted(str(path.relative_to(REPO / COLAB_FOLDER)) for path in (REPO / COLAB_FOLDER).rglob("*.ipynb"))
    assert committed == expected


def committed_copies():
    return sorted((REPO / COLAB_FOLDER).rglob("*.ipynb"))


@pytest.mark.parametrize("path", committed_copies(), ids=lambda p: str(p.relative_to(REPO / COLAB_FOLDER)))
def test_no_myst_syntax_is_left_and_code_is_the_sources(path):
    copy = read(path)
    markdown = markdown_of(copy)
    leftover = [match.group(0) for match in MYST.finditer(re.sub(r"```.*?```", "", markdown, flags=re.S))]
    assert not leftover, f"{path.name}: MyST syntax left: {leftover[:5]}"
    assert all(cell.get("outputs", []) == [] for cell in copy["cells"] if cell["cell_type"] == "code")
    original = read(REPO / "notebooks" / path.name)
    code = [source(cell) for cell in original["cells"] if cell["cell_type"] == "code"]
    if copy["metadata"]["vgteach"]["edition"] == "colab":
        assert [source(cell) for cell in copy["cells"] if cell["cell_type"] == "code"] == code
    else:  # a student edition: the same code minus the solutions
        kept = [source(c) for c in original["cells"] if c["cell_type"] == "code" and not set(tags(c)) & INSTRUCTOR_ONLY]
        assert [source(cell) for cell in copy["cells"] if cell["cell_type"] == "code"] == kept
    assert f"{BOOK_URL}notebooks/{path.stem}.html" in markdown, "the copy links to its page of the book"


def tags(cell):
    return cell.get("metadata", {}).get("tags", [])


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_every_glued_value_is_pointed_to_by_name_and_computed_in_the_copy(name):
    copy = read(REPO / COLAB_FOLDER / f"{name}.ipynb")
    pointed = set(re.findall(re.escape(GLUE_NAME).replace(r"\{name\}", r"(\w+)"), markdown_of(copy)))
    glued = {key for cell in copy["cells"] if cell["cell_type"] == "code" for key in glued_names(source(cell))}
    original_roles = set(
        re.findall(r"\{glue(?::\w+)?\}`([^`:]+)", markdown_of(read(REPO / "notebooks" / f"{name}.ipynb")))
    )
    assert pointed == original_roles, "every glue role of the source becomes a pointer"
    assert pointed <= glued, f"pointers without a glue(...) call: {sorted(pointed - glued)}"
    assert "printed when you run the notebook" not in markdown_of(copy)


def test_glue_displays_the_value_under_its_name_outside_a_book_build(monkeypatch):
    from IPython.display import Markdown

    from vgteach.results import myst

    shown = []
    monkeypatch.delenv(myst.BOOK_BUILD_ENV, raising=False)
    monkeypatch.setattr("IPython.display.display", lambda value: shown.append(value))
    myst.glue("standing", "Contrastive ranks 1st.")
    myst.glue("table", "| a |\n|---|")
    assert [m.data for m in shown] == ["**⟨standing⟩** Contrastive ranks 1st.", "**⟨table⟩**\n\n| a |\n|---|"]
    assert all(isinstance(m, Markdown) for m in shown)

    myst_nb = pytest.importorskip("myst_nb")
    glued = []
    monkeypatch.setenv(myst.BOOK_BUILD_ENV, "1")
    monkeypatch.setattr(myst_nb, "glue", lambda name, value, display: glued.append((name, value.data, display)))
    myst.glue("standing", "Contrastive ranks 1st.")
    assert glued == [("standing", "Contrastive ranks 1st.", False)] and len(shown) == 2


def load_extension():
    spec = importlib.util.spec_from_file_location("editions_ext", REPO / "book" / "_ext" / "editions.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_launch_button_opens_the_colab_edition():
    extension = load_extension()
    source = "https://colab.research.google.com/github/vgteach/vgteach/blob/main/notebooks/triplet.ipynb"
    assert extension.colab_edition_url(source).endswith("/blob/main/colab/triplet.ipynb")
    assert extension.colab_edition_url("https://mybinder.org/v2/gh/x") == "https://mybinder.org/v2/gh/x"
    context = {
        "header_buttons": [
            {
                "type": "group",
                "buttons": [{"type": "link", "text": "Colab", "url": source}, {"text": "Binder", "url": source}],
            }
        ]
    }
    extension.open_colab_editions(None, "notebooks/triplet", "page.html", context, None)
    colab, binder = context["header_buttons"][0]["buttons"]
    assert colab["url"].endswith("/colab/triplet.ipynb") and binder["url"] == source
    front = {
        "page_source_suffix": ".md",
        "header_buttons": [{"label": "launch-buttons", "buttons": []}, {"label": "download-buttons"}],
    }
    extension.open_colab_editions(None, "book/intro", "page.html", front, None)
    assert front["header_buttons"] == [{"label": "download-buttons"}]  # the front page has no Colab edition
    assert (REPO / "colab" / "triplet.ipynb").exists()
    import yaml

    config = yaml.safe_load((REPO / "_config.yml").read_text())
    assert config["sphinx"]["local_extensions"]["editions"] == "book/_ext"
    assert config["repository"]["branch"] == "main" and COLAB_URL.endswith("/blob/main/")
    assert extension.BOOK_BUILD_ENV == __import__("vgteach.results.myst", fromlist=["x"]).BOOK_BUILD_ENV


# ------------------------------------------------------------------------------------------------ labs
@pytest.mark.parametrize("name", list(LABS))
def test_the_labs_mark_a_stub_for_every_exercise_in_the_rubrics_order(name):
    lab = LABS[name]
    cells = read(REPO / "notebooks" / f"{name}.ipynb")["cells"]
    spans = exercise_spans(cells)
    assert [label for label, _, _ in spans] == [exercise.label for exercise in lab.exercises]
    for (label, start, end), exercise in zip(spans, lab.exercises):
        inside = cells[start + 1 : end]
        stubs = [cell for cell in inside if STUB in tags(cell)]
        assert stubs, f"{label}: no stub"
        stub_code = "\n".join(source(cell) for cell in stubs if cell["cell_type"] == "code")
        for function in exercise.functions:
            assert f"def {function}(" in stub_code and "NotImplementedError" in stub_code
        assert bool(exercise.written) == any(c["cell_type"] == "markdown" for c in stubs) or label == "lab3-predict"
        assert any(SOLUTION in tags(cell) for cell in inside), f"{label}: no solution"
    hidden = [cell for cell in cells if SOLUTION in tags(cell) and cell["cell_type"] == "code"]
    assert all(cell["metadata"].get("cellView") == "form" for cell in hidden), "solutions fold on Colab"


@pytest.mark.parametrize("name", list(LABS))
def test_the_front_matter_says_the_minutes_of_the_rubric(name):
    lab = LABS[name]
    title = source(read(REPO / "notebooks" / f"{name}.ipynb")["cells"][0])
    assert f"**Teaching:** {lab.teaching} min" in title
    assert f"**Exercises:** {lab.exercise_minutes} min" in title
    for heading in ("**Questions**", "**Objectives**", "**Compute:**"):
        assert heading in title
    pace = re.findall(r"^\| \{ref\}`([\w-]+)` \| (\d+) \| (in class|homework) \|$", title, re.M)
    expected = [(e.label, str(e.minutes), "homework" if e.homework else "in class") for e in lab.exercises]
    assert pace == expected, "the pace table lists every exercise with the rubric's minutes and track"
    student = f"{COLAB_URL}{COLAB_FOLDER}/student/{name}.ipynb"
    assert f"({student})" in title, "the lab links to its student edition on Colab"
    key_points = source(read(REPO / "notebooks" / f"{name}.ipynb")["cells"][-1])
    assert key_points.startswith(":::{admonition} Key points")


def test_the_one_session_track_fits_90_minutes():
    in_class = sum(e.minutes for lab in LABS.values() for e in lab.exercises if not e.homework)
    assert in_class <= 80, "90 minutes with 10 of teaching"


def solution_lines(name: str) -> list:
    """The distinctive lines of a lab's solutions (code and written answers): long, and not also in the
    lab's other cells (a solution may repeat boilerplate such as ``backbone=BACKBONE, download=DOWNLOAD``)."""
    cells = read(REPO / "notebooks" / f"{name}.ipynb")["cells"]
    shared = {line.strip() for cell in cells if SOLUTION not in tags(cell) for line in source(cell).splitlines()}
    lines = []
    for cell in cells:
        if SOLUTION in tags(cell) and not re.match(r"^[`:]{3}\{solution-", source(cell)):
            lines += [line.strip() for line in source(cell).splitlines() if len(line.strip()) > 25]
    return [line for line in lines if line not in shared]


@pytest.mark.parametrize("name", list(LABS))
def test_no_solution_survives_in_the_student_edition(name, book):
    student = student_notebook(REPO / "notebooks" / f"{name}.ipynb", book)
    text = json.dumps(student, ensure_ascii=False)
    everything = {line.strip() for cell in student["cells"] for line in source(cell).splitlines()}
    assert solution_lines(name), "the lab has solutions to hide"
    leaked = [line for line in solution_lines(name) if line in everything]
    assert not leaked, f"solution text in the student edition: {leaked[:3]}"
    assert "solution_" not in text and "Solution to Exercise" not in text
    assert student["metadata"]["vgteach"] == {"edition": "student", "source": f"notebooks/{name}.ipynb", "lab": name}
    stubs = [cell for cell in student["cells"] if STUB in tags(cell)]
    assert len(stubs) >= len(LABS[name].exercises)


@pytest.mark.parametrize("name", list(LABS))
def test_the_instructor_edition_has_solutions_rubric_and_hidden_tests(name, book):
    lab = LABS[name]
    notebook = instructor_notebook(REPO / "notebooks" / f"{name}.ipynb", book)
    rubrics = [cell for cell in notebook["cells"] if "rubric" in tags(cell)]
    assert len(rubrics) == len(lab.exercises)
    for cell, exercise in zip(rubrics, lab.exercises):
        assert source(cell).startswith(f"**Rubric — “{exercise.title}” (")
    hidden = [source(cell) for cell in notebook["cells"] if "hidden-test" in tags(cell)]
    assert len(hidden) == sum(1 for exercise in lab.exercises if exercise.tests)
    assert all("hidden_test(" in code and "solution_" in code for code in hidden)
    assert not MYST.search(markdown_of(notebook))
    solved = solved_notebook(REPO / "notebooks" / f"{name}.ipynb", book)
    code = "\n".join(source(cell) for cell in solved["cells"] if cell["cell_type"] == "code")
    assert "NotImplementedError" not in code and "solution_" not in code


def test_lab_commands_write_the_editions(tmp_path):
    from vgteach.cli import main

    assert main(["lab", "student", str(tmp_path / "handout"), "--repo", str(REPO)]) == 0
    assert sorted(p.name for p in (tmp_path / "handout").iterdir()) == sorted(f"{name}.ipynb" for name in LABS)
    assert main(["lab", "instructor", str(tmp_path / "teach"), "--repo", str(REPO), "--no-execute"]) == 0
    written = {str(p.relative_to(tmp_path / "teach")) for p in (tmp_path / "teach").rglob("*") if p.is_file()}
    assert written >= {
        "INSTRUCTORS.md",
        "RUBRIC.md",
        *(f"{n}.ipynb" for n in LABS),
        *(f"solved/{n}.ipynb" for n in LABS),
    }
    guide = (tmp_path / "teach" / "INSTRUCTORS.md").read_text(encoding="utf-8")
    assert not MYST.search(guide) and "vgteach lab grade" in guide
    rubric = (tmp_path / "teach" / "RUBRIC.md").read_text(encoding="utf-8")
    assert all(exercise.title in rubric for lab in LABS.values() for exercise in lab.exercises)
    assert main(["lab", "student", str(tmp_path / "x"), "--repo", str(tmp_path)]) == 2  # not a checkout


# --------------------------------------------------------------------------------- running the copies
def opted_in(request) -> bool:
    return "editions" in (request.config.getoption("markexpr") or "")


def run_copy(path: Path, kernel_name: str, tmp_path: Path) -> dict:
    import papermill

    output = tmp_path / path.name
    try:
        papermill.execute_notebook(
            str(path),
            str(output),
            parameters={"PROFILE": "smoke"},
            kernel_name=kernel_name,
            cwd=str(tmp_path),  # as on Colab: no repository around the copy
            progress_bar=False,
            execution_timeout=300,
        )
    except papermill.PapermillExecutionError as error:
        pytest.fail(f"{path.name}: cell {error.cell_index} failed: {error.ename}: {error.evalue}", pytrace=False)
    return read(output)


def outputs_text(cell: dict) -> str:
    texts = []
    for output in cell.get("outputs", []):
        texts.append("".join(output.get("text", "")))
        for value in output.get("data", {}).values():
            texts.append(value if isinstance(value, str) else "".join(value) if isinstance(value, list) else "")
    return "\n".join(texts)


def sample_or_opt_in(names, sample):
    """``names`` as parameters: those in ``sample`` run always, the others are marked ``editions`` and
    run only when selected (``-m editions``)."""
    return [name if name in sample else pytest.param(name, marks=pytest.mark.editions) for name in names]


@pytest.mark.notebook
@pytest.mark.parametrize("name", sample_or_opt_in(NOTEBOOKS, SAMPLE))
def test_a_colab_copy_runs_offline_and_shows_its_glued_values(name, kernel_name, tmp_path, request):
    if name not in SAMPLE and not opted_in(request):
        pytest.skip("every copy runs with -m editions; a sample runs always")
    executed = run_copy(REPO / COLAB_FOLDER / f"{name}.ipynb", kernel_name, tmp_path)
    shown = "\n".join(outputs_text(cell) for cell in executed["cells"])
    for key in {k for cell in executed["cells"] if cell["cell_type"] == "code" for k in glued_names(source(cell))}:
        assert GLUE_NAME.format(name=key) in shown, f"the value glued as {key!r} is not displayed"


@pytest.mark.notebook
@pytest.mark.parametrize("name", sample_or_opt_in(list(LABS), ("lab1_losses",)))
def test_a_student_edition_runs_and_every_check_says_not_written_yet(name, kernel_name, tmp_path, request):
    if name != "lab1_losses" and not opted_in(request):
        pytest.skip("every student edition runs with -m editions; Lab 1 runs always")
    executed = run_copy(REPO / COLAB_FOLDER / "student" / f"{name}.ipynb", kernel_name, tmp_path)
    checks = [
        outputs_text(cell)
        for cell in executed["cells"]
        if cell["cell_type"] == "code" and re.search(r"check_\w+\(my_", source(cell))
    ]
    assert len(checks) == sum(1 for exercise in LABS[name].exercises if exercise.tests)  # one stub cell each
    for text in checks:
        lines = [line for line in text.splitlines() if line.startswith(("✅", "❌"))]
        assert lines and all("not written yet" in line for line in lines), text


@pytest.fixture(scope="module")
def kernel_name(tmp_path_factory):
    """A kernel for this interpreter (inline figures, one thread), as tests/test_notebooks.py uses."""
    import os
    import sys

    pytest.importorskip("papermill")
    data_dir = tmp_path_factory.mktemp("jupyter")
    spec_dir = data_dir / "kernels" / "vgteach-editions"
    spec_dir.mkdir(parents=True)
    spec = {
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Python (vgteach editions)",
        "language": "python",
        "env": {"MPLBACKEND": "module://matplotlib_inline.backend_inline", "OMP_NUM_THREADS": "1"},
    }
    (spec_dir / "kernel.json").write_text(json.dumps(spec))
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("JUPYTER_PATH", os.pathsep.join([str(data_dir), *filter(None, [os.environ.get("JUPYTER_PATH")])]))
        patch.delenv("VGTEACH_BOOK_BUILD", raising=False)
        yield "vgteach-editions"


def test_the_guide_quotes_the_labs_minutes_points_and_track():
    guide = (REPO / "book" / "instructors.md").read_text(encoding="utf-8")
    for number, lab in enumerate(LABS.values(), start=1):
        row = next(line for line in guide.splitlines() if line.startswith(f"| {lab.title} |"))
        cells = [cell.strip() for cell in row.strip().strip("|").split("|")]
        assert cells[1] == f"{lab.teaching} min" and cells[2].startswith(f"{lab.exercise_minutes} min")
        code = sum(test.points for exercise in lab.exercises for test in exercise.tests)
        assert cells[4] == f"{code:g} + {sum(exercise.written for exercise in lab.exercises):g}"
        in_class = [exercise.label for exercise in lab.exercises if not exercise.homework]
        track = re.search(rf"^\| [\d–]+ \| Lab {number}: (.*) \|$", guide, re.M).group(1)
        assert re.findall(r"\{ref\}`([\w-]+)`", track) == in_class


# ------------------------------------------------------------------------- the guide's expected numbers
def notebook_code(name: str) -> str:
    return "\n".join(source(cell) for cell in read(REPO / "notebooks" / f"{name}.ipynb")["cells"])


def test_regenerating_the_guides_numbers_changes_nothing():
    """The guide's costs and expected numbers are generated blocks (vgteach lab expected): what the
    committed numbers and the labs' definitions give, never typed."""
    from vgteach.labs import expected

    guide = (REPO / "book" / "instructors.md").read_text(encoding="utf-8")
    assert expected.update_guide(guide) == guide, "run `vgteach lab expected --no-train` and commit the guide"
    assert expected.EXPECTED_FILE.parent == REPO / "vgteach" / "labs"
    with pytest.raises(ValueError, match="no generated block 'costs'"):
        expected.update_guide(guide.replace("<!-- end generated: costs -->", ""))


def test_the_expected_numbers_are_of_the_labs_as_written():
    """The runs vgteach lab expected trains are those of the lab notebooks' cells."""
    from vgteach.labs import expected

    numbers = expected.read_expected()
    assert numbers["profile"] == "book" and numbers["device"] == "cpu"
    assert f"LOSSES = {expected.STUDY_LOSSES!r}".replace("'", '"') in notebook_code("lab3_tradeoff")
    assert f"for margin in {expected.KNOB_MARGINS!r}:" in notebook_code("lab3_tradeoff")
    assert f"flatten()[:{expected.PER_CLASS}]" in notebook_code("lab2_diagnostics")
    assert f"solution_triplet_counts(final[batch], labels[batch], {expected.TRIPLET_MARGIN})" in notebook_code(
        "lab2_diagnostics"
    )
    assert [row["loss"] for row in numbers["lab3_study"]] == list(expected.STUDY_LOSSES)
    assert [row["margin"] for row in numbers["lab3_knob"]] == list(expected.KNOB_MARGINS)
    assert [row["loss"] for row in numbers["lab2_runs"]] == list(expected.LAB2_LOSSES)
    for lab in LABS.values():  # a lab's compute fits in the minutes it budgets for it
        assert numbers["cpu_seconds"].get(lab.name, 0) <= 60 * lab.compute, lab.name


def test_the_guides_sentences_about_the_expected_numbers_hold():
    """What the guide says in words about the tables, asserted on the committed numbers."""
    from vgteach.labs import expected

    numbers = expected.read_expected()
    guide = " ".join((REPO / "book" / "instructors.md").read_text(encoding="utf-8").split())  # one line
    lab2 = {row["loss"]: row for row in numbers["lab2_runs"]}
    study = {row["loss"]: row for row in numbers["lab3_study"]}
    knob = {row["margin"]: row for row in numbers["lab3_knob"]}
    # Lab 2's answer: the measurements agree with the history to the printed digits; Contrastive leaves the
    # tighter classes, Triplet the higher Gini
    assert "agree with the runs' history to the printed digits" in guide
    for row in lab2.values():
        assert f"{row['ratio']:.3f}" == f"{row['history_ratio']:.3f}"
        assert f"{row['recall@1']:.3f}" == f"{row['history_recall@1']:.3f}"
    assert "the contrastive run leaves the tighter classes" in guide
    assert lab2["contrastive"]["ratio"] < lab2["triplet"]["ratio"]
    assert "the triplet run has the higher Gini coefficient" in guide
    assert lab2["triplet"]["gini"] > lab2["contrastive"]["gini"]
    # the study: Contrastive compacts most, InfoNCE ends with the highest intra
    assert "Contrastive compacts its classes most" in guide and "ends with the *highest* `intra`" in guide
    assert min(study, key=lambda loss: study[loss]["intra"]) == "contrastive"
    assert max(study, key=lambda loss: study[loss]["intra"]) == "infonce"
    # the knob: the smallest margin about as compact as Contrastive, the largest about as spread as InfoNCE
    assert "the smallest margin leaves its classes about as" in guide
    smallest, largest = knob[min(knob)]["intra"], knob[max(knob)]["intra"]
    assert smallest == pytest.approx(study["contrastive"]["intra"], rel=0.1)
    assert largest == pytest.approx(study["infonce"]["intra"], rel=0.1)
    assert smallest < study["triplet"]["intra"] < largest  # the default margin in between


def test_vgteach_lab_expected_rewrites_a_stale_guide(tmp_path):
    from vgteach.cli import main

    for folder in ("notebooks", "book", "vgteach/labs"):
        (tmp_path / folder).mkdir(parents=True)
    guide = (REPO / "book" / "instructors.md").read_text(encoding="utf-8")
    stale = guide.replace("| Lab 1: losses from scratch | 15 min |", "| Lab 1: losses from scratch | 99 min |")
    assert stale != guide
    (tmp_path / "book" / "instructors.md").write_text(stale, encoding="utf-8")
    (tmp_path / "vgteach" / "labs" / "expected_book.json").write_bytes(
        (REPO / "vgteach" / "labs" / "expected_book.json").read_bytes()
    )
    assert main(["lab", "expected", "--no-train", "--repo", str(tmp_path)]) == 0
    assert (tmp_path / "book" / "instructors.md").read_text(encoding="utf-8") == guide
