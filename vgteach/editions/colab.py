"""The Colab edition: every notebook of the book as plain Markdown, with the glued values shown where they run.

Colab renders plain Markdown, not MyST. :func:`colab_notebook` rewrites a chapter's Markdown cells with
:func:`vgteach.editions.myst.to_markdown` and leaves its code cells as they are. The book shows a glued
value (``{glue:md}`key```) inside a sentence; outside a book build :func:`vgteach.results.glue` displays
it instead, under its name (**⟨key⟩**), in the output of the cell that computes it. So the Colab copy
replaces the role by that name and says where the output is ("printed by the code cell above").

:func:`write_colab_editions` writes ``colab/<name>.ipynb`` for every ``notebooks/<name>.ipynb``; the
committed copies are checked to be what it writes (``tests/test_editions.py``).
"""

from __future__ import annotations

import ast
import copy
import json
import re
from pathlib import Path
from typing import Optional

from .book import COLAB_URL, Book, cell_source, page_url
from .myst import HEADING, Context, exercise_labels, to_markdown

#: The folder of the Colab edition, beside ``notebooks/``.
COLAB_FOLDER = "colab"
#: What names a glued value in the reader's output and in the prose that points to it.
GLUE_NAME = "**⟨{name}⟩**"
GLUE_ONLY = re.compile(r"^(\s*\{glue(?::\w+)?\}`[^`]+`\s*)+$")


def glued_names(code: str) -> list:
    """The literal keys of the ``glue("key", …)`` calls of a code cell (magics read as ``pass``)."""
    lines = [re.sub(r"^(\s*)[%!].*", r"\1pass", line) for line in code.splitlines()]
    try:
        tree = ast.parse("\n".join(lines))
    except SyntaxError:
        return []
    return [
        node.args[0].value
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and getattr(node.func, "id", getattr(node.func, "attr", None)) == "glue"
        and node.args
        and isinstance(node.args[0], ast.Constant)
        and isinstance(node.args[0].value, str)
    ]


class GluePointers:
    """Says, for a glue role in a Markdown cell, where the reader finds the value: which code cell prints it."""

    def __init__(self, cells: list):
        self.cells = cells
        self.computed_in = {}  # glue key -> index of the (first) code cell that glues it
        self.section = {}  # cell index -> title of the section it is in
        title = None
        for index, cell in enumerate(cells):
            if cell["cell_type"] == "markdown":
                for line in cell_source(cell).splitlines():
                    heading = HEADING.match(line)
                    if heading:
                        title = line[len(heading["hashes"]) :].strip()
            else:
                for name in glued_names(cell_source(cell)):
                    self.computed_in.setdefault(name, index)
            self.section[index] = title
        self.current = 0

    def where(self, name: str) -> str:
        """ "printed by the code cell above", "printed below, in “Section”", …"""
        index = self.computed_in.get(name)
        if index is None:
            return "printed when you run the notebook"
        code_between = [
            k
            for k in range(min(index, self.current) + 1, max(index, self.current))
            if self.cells[k]["cell_type"] == "code"
        ]
        direction = "above" if index < self.current else "below"
        if not code_between:
            return f"printed by the code cell {direction}"
        section = self.section.get(index)
        return f"printed {direction}, in “{section}”" if section else f"printed by a code cell {direction}"

    def pointer(self, name: str) -> str:
        return f"{GLUE_NAME.format(name=name)} ({self.where(name)})"

    def only_glue(self, text: str) -> Optional[str]:
        """The whole cell as one line when it holds nothing but glue roles, else None."""
        if not GLUE_ONLY.match(text):
            return None
        names = re.findall(r"`([^`:]+)(?::[^`]*)?`", text)
        where = {self.where(name) for name in names}
        listed = ", ".join(GLUE_NAME.format(name=name) for name in names)
        if len(where) == 1:
            return f"*{where.pop().capitalize()}:* {listed}."
        return " ".join(self.pointer(name) for name in names)


def exercise_numbers(cells: list) -> dict:
    """``label -> number`` of the exercises of a notebook, in order."""
    labels = []
    for cell in cells:
        if cell["cell_type"] == "markdown":
            labels += exercise_labels(cell_source(cell))
    return {label: number for number, label in enumerate(labels, start=1) if label}


def convert_cells(cells: list, book: Book, docname: str) -> list:
    """The cells with their Markdown in plain form (empty Markdown cells dropped); code cells untouched."""
    pointers = GluePointers(cells)
    context = Context(book, docname, pointers.pointer, exercise_numbers(cells))
    converted = []
    for index, cell in enumerate(cells):
        cell = copy.deepcopy(cell)
        if cell["cell_type"] == "markdown":
            pointers.current = index
            text = cell_source(cell)
            text = pointers.only_glue(text) or to_markdown(text, context)
            if not text.strip():
                continue
            cell["source"] = split_lines(text)
        else:
            cell["outputs"], cell["execution_count"] = [], None
        converted.append(cell)
    return converted


def edition_note(docname: str, edition: str, cells: list, extra: str = "") -> str:
    """The line under a copy's title: which edition, the book's page, where the source is, and (if the page
    quotes computed values) where they appear."""
    glued = [name for cell in cells if cell["cell_type"] == "code" for name in glued_names(cell_source(cell))]
    where = (
        f" Values the book quotes in its text appear here as outputs of the code that computes them, under "
        f"their name, e.g. {GLUE_NAME.format(name=glued[0])}."
        if glued
        else ""
    )
    return (
        f"*{edition} of [this page of the book]({page_url(docname)}), generated from `{docname}.ipynb` by "
        f"`vgteach colab` (edit that source, not this copy).{where}{extra}*"
    )


def add_note(cells: list, note: str) -> None:
    """Put ``note`` under the title (the first line of the first Markdown cell)."""
    first = next(cell for cell in cells if cell["cell_type"] == "markdown")
    title, _, rest = cell_source(first).partition("\n")
    first["source"] = split_lines(f"{title}\n\n{note}\n{rest}".rstrip("\n"))


def colab_notebook(source: Path, book: Book) -> dict:
    """The Colab edition of one notebook of the book (a notebook dict, without outputs)."""
    notebook = json.loads(Path(source).read_text(encoding="utf-8"))
    docname = f"notebooks/{Path(source).stem}"
    notebook["cells"] = convert_cells(notebook["cells"], book, docname)
    add_note(notebook["cells"], edition_note(docname, "Colab edition", notebook["cells"]))
    notebook["metadata"] = edition_metadata(notebook["metadata"], docname, "colab")
    return notebook


def edition_metadata(metadata: dict, docname: str, edition: str, **extra) -> dict:
    metadata = copy.deepcopy(metadata)
    metadata.setdefault("colab", {}).update({"provenance": [], "toc_visible": True})
    metadata["vgteach"] = {"edition": edition, "source": f"{docname}.ipynb", **extra}
    return metadata


def split_lines(text: str) -> list:
    """A cell's ``source`` as nbformat writes it: lines with their newlines, the last without."""
    lines = text.split("\n")
    return [line + "\n" for line in lines[:-1]] + [lines[-1]]


def dumps(notebook: dict) -> str:
    """A notebook as the repository stores it: indent 1, UTF-8 text, a trailing newline."""
    return json.dumps(notebook, indent=1, ensure_ascii=False) + "\n"


def write_colab_editions(root, out: Optional[Path] = None) -> list:
    """Write ``colab/<name>.ipynb`` for every ``notebooks/<name>.ipynb`` of the checkout ``root``.

    Returns
    -------
    list of Path
        The files written (unchanged ones included).
    """
    root = Path(root)
    book = Book.read(root)
    out = Path(out) if out else root / COLAB_FOLDER
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for source in sorted((root / "notebooks").glob("*.ipynb")):
        target = out / source.name
        text = dumps(colab_notebook(source, book))
        if not target.exists() or target.read_text(encoding="utf-8") != text:
            target.write_text(text, encoding="utf-8")
        written.append(target)
    return written


def colab_link(relative_path: str) -> str:
    """Colab's address of a file of the repository, e.g. ``colab_link("colab/lab1_losses.ipynb")``."""
    return COLAB_URL + relative_path
