"""What the editions need to know about the book: where it is published, its pages, labels and references.

A Colab or classroom copy cannot link inside the book with ``{doc}``/``{ref}``: it links to the published
pages instead. :data:`BOOK_URL` is the one place that says where they are (GitHub Pages of
:data:`vgteach.REPOSITORY_URL`); :class:`Book` reads the sources of a checkout (``notebooks/*.ipynb``,
``book/*.md``, ``book/references.bib``) once and answers "which page, which title, which anchor".
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from .. import REPOSITORY_URL

#: The branch the book is built from (``_config.yml``'s ``repository.branch``).
BRANCH = "main"


def pages_url(repository_url: str) -> str:
    """The GitHub Pages address of a GitHub repository: ``https://<owner>.github.io/<name>/``."""
    match = re.fullmatch(r"https://github\.com/([^/]+)/([^/]+?)/?", repository_url)
    if not match:
        raise ValueError(f"not a GitHub repository URL: {repository_url!r}")
    owner, name = match.groups()
    return f"https://{owner.lower()}.github.io/{name}/"


#: Where the book is published: every link of a Colab or classroom copy into the book starts here.
BOOK_URL = pages_url(REPOSITORY_URL)
#: Colab's address of a file of the repository: ``COLAB_URL + "colab/contrastive.ipynb"`` opens it.
COLAB_URL = "https://colab.research.google.com/github/" + REPOSITORY_URL.split("github.com/", 1)[1] + f"/blob/{BRANCH}/"

#: A MyST target line, ``(label)=``.
TARGET = re.compile(r"^\((?P<label>[^()\s]+)\)=\s*$")
HEADING = re.compile(r"^(?P<hashes>#{1,6})\s+(?P<title>.+?)\s*#*\s*$")
EXERCISE = re.compile(r"^[`:~]{3,}\{exercise\}\s*(?P<title>.*)$")
LABEL_OPTION = re.compile(r"^:label:\s*(?P<label>\S+)\s*$")


@dataclass(frozen=True)
class Target:
    """Where a ``{ref}`` label points: a page (docname), the anchor on it, and the text a link shows."""

    docname: str
    anchor: str
    title: str
    kind: str  # "section" or "exercise"
    number: Optional[int] = None  # an exercise's number on its page


@dataclass
class Book:
    """The pages, labels and references of a checkout of the book (see :meth:`read`)."""

    root: Path
    titles: dict = field(default_factory=dict)  # docname -> page title
    targets: dict = field(default_factory=dict)  # label -> Target
    references: dict = field(default_factory=dict)  # bibtex key -> (authors text, year)

    @classmethod
    def read(cls, root) -> "Book":
        """Read ``notebooks/*.ipynb``, ``book/*.md`` and ``book/references.bib`` under ``root``."""
        root = Path(root)
        if not (root / "notebooks").is_dir() or not (root / "book").is_dir():
            raise FileNotFoundError(
                f"{root} is not a checkout of the book (no notebooks/ and book/ folders); the editions are "
                f"generated from the sources: clone {REPOSITORY_URL} and run this there"
            )
        book = cls(root)
        for path in sorted((root / "notebooks").glob("*.ipynb")):
            book._index(f"notebooks/{path.stem}", markdown_of_notebook(path))
        for path in sorted((root / "book").glob("*.md")):
            book._index(f"book/{path.stem}", path.read_text(encoding="utf-8"))
        bib = root / "book" / "references.bib"
        if bib.exists():
            book.references = read_bibtex(bib.read_text(encoding="utf-8"))
        return book

    def _index(self, docname: str, markdown: str) -> None:
        lines = markdown.splitlines()
        pending = None
        exercises = 0
        for index, line in enumerate(lines):
            heading = HEADING.match(line)
            if heading and docname not in self.titles and len(heading["hashes"]) == 1:
                self.titles[docname] = heading["title"]
            target = TARGET.match(line)
            if target:
                pending = target["label"]
            elif heading and pending:
                self.targets[pending] = Target(docname, pending, heading["title"], "section")
                pending = None
            elif line.strip():
                pending = None
            exercise = EXERCISE.match(line)
            if exercise:
                exercises += 1
                for option in lines[index + 1 : index + 6]:
                    label = LABEL_OPTION.match(option)
                    if label:
                        title = exercise["title"].strip() or label["label"]
                        self.targets[label["label"]] = Target(docname, label["label"], title, "exercise", exercises)
                        break
        self.titles.setdefault(docname, docname.rsplit("/", 1)[-1])

    # ------------------------------------------------------------------------------------------ links
    def resolve_doc(self, target: str, current: str) -> tuple[str, str]:
        """``(title, url)`` of a ``{doc}`` target written in page ``current`` (relative or ``/``-absolute)."""
        docname = resolve_docname(target, current)
        if docname not in self.titles:
            raise KeyError(f"{current}: {{doc}} target {target!r} is not a page of the book")
        return self.titles[docname], page_url(docname)

    def resolve_ref(self, label: str) -> tuple[Target, str]:
        """The :class:`Target` of a ``{ref}`` label and its URL."""
        if label not in self.targets:
            raise KeyError(f"{{ref}} label {label!r} is not defined in the book")
        target = self.targets[label]
        return target, f"{page_url(target.docname)}#{target.anchor}"

    def cite(self, keys: str, textual: bool) -> str:
        """A citation as text: ``Zeng et al. (2026)`` (textual) or ``(Zeng et al. 2026; …)``, linked to the
        bibliography page."""
        parts = []
        for key in (k.strip() for k in keys.split(",") if k.strip()):
            if key not in self.references:
                raise KeyError(f"citation key {key!r} is not in book/references.bib")
            authors, year = self.references[key]
            parts.append(f"{authors} ({year})" if textual else f"{authors} {year}")
        url = page_url("book/bibliography")
        text = "; ".join(parts)
        return f"[{text}]({url})" if textual else f"([{text}]({url}))"


def resolve_docname(target: str, current: str) -> str:
    """The docname of a ``{doc}`` target: ``../book/families`` from ``notebooks/x`` is ``book/families``."""
    target = target.strip()
    if target.startswith("/"):
        parts = []
        target = target[1:]
    else:
        parts = current.split("/")[:-1]
    for piece in target.split("/"):
        if piece == "..":
            if parts:
                parts.pop()
        elif piece not in ("", "."):
            parts.append(piece)
    name = "/".join(parts)
    return re.sub(r"\.(ipynb|md)$", "", name)


def page_url(docname: str) -> str:
    """The published address of a page of the book."""
    return f"{BOOK_URL}{docname}.html"


def glossary_url(term: str) -> str:
    """The address of a glossary entry (Sphinx's id: ``term-`` and the term, lower-case, ``-`` for the rest)."""
    slug = re.sub(r"[^a-z0-9]+", "-", term.lower()).strip("-")
    return f"{page_url('book/glossary')}#term-{slug}"


def markdown_of_notebook(path: Path) -> str:
    """All Markdown cells of a notebook, one after the other."""
    notebook = json.loads(Path(path).read_text(encoding="utf-8"))
    return "\n\n".join(cell_source(cell) for cell in notebook["cells"] if cell["cell_type"] == "markdown")


def cell_source(cell: dict) -> str:
    source = cell.get("source", "")
    return source if isinstance(source, str) else "".join(source)


# ------------------------------------------------------------------------------------------- bibtex
ENTRY = re.compile(r"@(?P<kind>\w+)\s*\{\s*(?P<key>[^,\s]+)\s*,")


def read_bibtex(text: str) -> dict:
    """``{key: (authors, year)}`` of a BibTeX file: "Hadsell et al.", "Wang and Isola", "Zeng et al."."""
    references = {}
    for match in ENTRY.finditer(text):
        if match["kind"].lower() in ("comment", "string", "preamble"):
            continue
        body = _braced(text, text.index("{", match.start()))
        fields = _fields(body[len(match["key"]) + 1 :])
        references[match["key"]] = (
            _authors(fields.get("author", fields.get("editor", match["key"]))),
            fields.get("year", "n.d."),
        )
    return references


def _braced(text: str, start: int) -> str:
    """The text inside the braces that open at ``start``."""
    depth = 0
    for index in range(start, len(text)):
        depth += {"{": 1, "}": -1}.get(text[index], 0)
        if depth == 0:
            return text[start + 1 : index]
    raise ValueError("unbalanced braces in the bibliography")


def _fields(body: str) -> dict:
    fields = {}
    for match in re.finditer(r"(\w+)\s*=\s*", body):
        start = match.end()
        if start < len(body) and body[start] == "{":
            value = _braced(body, start)
        else:
            value = re.match(r'"([^"]*)"|([^,\n]+)', body[start:]).group(0).strip('"')
        fields.setdefault(match.group(1).lower(), re.sub(r"\s+", " ", value.replace("{", "").replace("}", "")).strip())
    return fields


def _authors(field: str) -> str:
    names = [name.strip() for name in field.split(" and ") if name.strip()]
    last = [name.split(",")[0].strip() if "," in name else name.split()[-1] for name in names]
    if len(last) == 1:
        return last[0]
    if len(last) == 2:
        return f"{last[0]} and {last[1]}"
    return f"{last[0]} et al."
