"""The book's prose says what its data says: no hand-typed measurements, and every glued number exists.

A measured value typed into a chapter's Markdown goes stale the day the results are regenerated. So the
Markdown cells of every chapter may not hold measured-looking decimals (two or more decimal places, e.g.
``0.762``) outside math and code spans: such numbers come from the results through myst-nb ``glue`` (the
``{glue:md}`` / ``{glue:text}`` roles). And every glue role in a chapter's Markdown must name a key that a
``glue("key", ...)`` call in a code cell of the same chapter sets, or the book shows an empty hole.
"""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import pytest

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
CHAPTERS = sorted(path.stem for path in NOTEBOOKS.glob("*.ipynb"))
#: a measured-looking decimal: 0.762, 12.50 (not 0.1, not a version such as 2.9.1's tail, not part of a word)
DECIMAL = re.compile(r"(?<![\w.])\d+\.\d{2,}(?!\d|\.\d)")
#: {glue}`key`, {glue:md}`key`, {glue:text}`key:.3f` and the ```{glue:figure} key directive
GLUE_ROLE = re.compile(r"\{glue(?::\w+)?\}`([^`:]+)(?::[^`]*)?`")
GLUE_DIRECTIVE = re.compile(r"^[`:]{3,}\{glue(?::\w+)?\}\s+(\S+)", re.M)
#: what is not prose: fenced code, display math ($$ and \begin environments), inline math, code spans
NOT_PROSE = [
    re.compile(pattern, re.S)
    for pattern in (r"```.*?```", r"\$\$.*?\$\$", r"\\begin\{(\w+\*?)\}.*?\\end\{\1\}", r"\$[^$\n]+\$", r"`[^`\n]*`")
]


def cells(name: str, kind: str) -> list[str]:
    notebook = json.loads((NOTEBOOKS / f"{name}.ipynb").read_text(encoding="utf-8"))
    return [
        "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
        for cell in notebook["cells"]
        if cell["cell_type"] == kind
    ]


def prose(markdown: str) -> str:
    for pattern in NOT_PROSE:
        markdown = pattern.sub(" ", markdown)
    return markdown


def glued_keys(code: str) -> set:
    """First arguments of every ``glue(...)`` / ``something.glue(...)`` call with a literal string key."""
    lines = [re.sub(r"^(\s*)[%!].*", r"\1pass", line) for line in code.splitlines()]
    keys = set()
    for node in ast.walk(ast.parse("\n".join(lines))):
        if isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", None)) == "glue":
            if node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str):
                keys.add(node.args[0].value)
    return keys


def test_the_checks_see_what_they_should():
    """The patterns themselves: a typed measurement is caught; math, code and glue roles are not prose."""
    assert DECIMAL.findall(prose("InfoNCE reaches R@1 0.762 vs 0.744.")) == ["0.762", "0.744"]
    assert DECIMAL.findall(prose("τ is $0.07$, `lr=0.001`, $$s = 0.25$$ , version 2.14.1; rate 0.1")) == []
    assert GLUE_ROLE.findall("see {glue:md}`standing` and {glue:text}`r1:.3f`, {glue}`x`") == ["standing", "r1", "x"]
    assert glued_keys('from myst_nb import glue\nglue("a", 1)\nvgteach.results.glue("b", "t")\n%matplotlib inline') == {
        "a",
        "b",
    }


@pytest.mark.parametrize("name", CHAPTERS)
def test_prose_holds_no_hand_typed_measurements(name):
    found = [
        (index, number) for index, text in enumerate(cells(name, "markdown")) for number in DECIMAL.findall(prose(text))
    ]
    assert not found, (
        f"notebooks/{name}.ipynb: decimals typed in prose (markdown cell, number): {found}; "
        "compute them from the results and glue them (vgteach.results.glue + {glue:md})"
    )


@pytest.mark.parametrize("name", CHAPTERS)
def test_every_glue_role_has_its_glue_call(name):
    used = {key for text in cells(name, "markdown") for key in GLUE_ROLE.findall(text) + GLUE_DIRECTIVE.findall(text)}
    glued = glued_keys("\n".join(cells(name, "code")))
    assert used <= glued, f"notebooks/{name}.ipynb: glue roles without a glue(...) call: {sorted(used - glued)}"
