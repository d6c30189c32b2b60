"""MyST Markdown (the book's) to plain Markdown (what Colab and Jupyter render).

:func:`to_markdown` rewrites one Markdown cell: directives (```` ```{exercise} ````, ``:::{admonition}``,
```` ```{solution-start} ```` …) become headed sections, blockquotes or ``<details>`` blocks; roles
(``{doc}``, ``{ref}``, ``{numref}``, ``{term}``, ``{cite}``, ``{glue:…}``, ``{math}``) become links, text
or maths; ``(label)=`` targets and ``%`` comments go. Code fences and display maths are copied as they
are. What a role or directive points to is asked of a :class:`Context`, which knows the book and the
notebook being converted.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Callable, Optional

from .book import Book, glossary_url

#: The opening line of a fence: backticks, tildes or colons (MyST's colon fence), and what follows.
FENCE = re.compile(r"^(?P<indent> {0,3})(?P<fence>`{3,}|~{3,}|:{3,})(?P<info>.*)$")
DIRECTIVE_INFO = re.compile(r"^\{(?P<name>[^{}\s]+)\}\s*(?P<argument>.*)$")
OPTION = re.compile(r"^:(?P<key>[\w-]+):\s*(?P<value>.*)$")
TARGET = re.compile(r"^\s*\([^()\s]+\)=\s*$")
COMMENT = re.compile(r"^%")
HEADING = re.compile(r"^(?P<hashes>#{1,6})\s")
#: An exercise directive with its option lines (to number the exercises of a page in order).
EXERCISE_BLOCK = re.compile(r"^[`:~]{3,}\{exercise\}.*(?:\n:[\w-]+:.*)*", re.M)
#: A role, ``{name}`content```, or a code span (left alone) — whichever starts first.
ROLE_OR_CODE = re.compile(r"\{(?P<name>[A-Za-z][\w:+.-]*)\}`(?P<content>[^`]*)`|(?P<ticks>`+)(?:.+?)(?P=ticks)")
EXPLICIT = re.compile(r"^(?P<text>.*?)\s*<(?P<target>[^<>]+)>$", re.S)
ADMONITIONS = {
    "note": "Note",
    "tip": "Tip",
    "hint": "Hint",
    "important": "Important",
    "warning": "Warning",
    "caution": "Caution",
    "attention": "Attention",
    "danger": "Danger",
    "error": "Error",
    "seealso": "See also",
}


@dataclass
class Context:
    """What a conversion needs to know beyond the text.

    Parameters
    ----------
    book : Book
        The book's pages, labels and references.
    docname : str
        The page being converted, e.g. ``"notebooks/lab1_losses"``.
    glue : callable
        ``glue(name) -> str``: the text that replaces a ``{glue}`` role (a pointer to the output that
        shows the value where the reader runs the notebook).
    exercise_numbers : dict
        ``label -> number`` of the exercises on this page (solutions are headed "Solution to Exercise n").
    """

    book: Book
    docname: str
    glue: Callable[[str], str]
    exercise_numbers: dict = field(default_factory=dict)
    level: int = 1  # the level of the last heading seen (exercises are headed one level below it)
    exercises_seen: int = 0

    def exercise_heading(self, text: str) -> str:
        return "#" * min(self.level + 1, 6) + " " + text


def to_markdown(text: str, context: Context) -> str:
    """The plain-Markdown form of one MyST Markdown cell (see the module docstring)."""
    return re.sub(r"\n{3,}", "\n\n", "\n".join(_blocks(text.splitlines(), context))).strip("\n")


def _blocks(lines: list, context: Context) -> list:
    out = []
    index = 0
    while index < len(lines):
        line = lines[index]
        fence = FENCE.match(line)
        if fence:
            end = _closing(lines, index, fence["fence"])
            directive = DIRECTIVE_INFO.match(fence["info"].strip())
            if directive:
                body = lines[index + 1 : end]
                out += _directive(directive["name"], directive["argument"].strip(), body, context)
            else:  # a code block (or a plain colon fence): verbatim
                out += lines[index : end + 1]
            index = end + 1
            continue
        if line.strip() == "$$" or (line.strip().startswith("$$") and line.strip().count("$$") == 1):
            end = next((k for k in range(index + 1, len(lines)) if "$$" in lines[k]), len(lines) - 1)
            out += lines[index : end + 1]
            index = end + 1
            continue
        if TARGET.match(line) or COMMENT.match(line):
            index += 1
            continue
        heading = HEADING.match(line)
        if heading:
            context.level = len(heading["hashes"])
        out.append(inline(line, context))
        index += 1
    return out


def _closing(lines: list, start: int, fence: str) -> int:
    """Index of the line that closes the fence opened at ``start`` (the last line if none does)."""
    char, length = fence[0], len(fence)
    closing = re.compile(rf"^ {{0,3}}{re.escape(char)}{{{length},}}\s*$")
    for index in range(start + 1, len(lines)):
        if closing.match(lines[index]):
            return index
    return len(lines)


def _options(body: list) -> tuple[dict, list]:
    """The ``:key: value`` options (or a ``---`` YAML block) at the top of a directive, and the rest."""
    options, index = {}, 0
    if body and body[0].strip() == "---":
        end = next((k for k in range(1, len(body)) if body[k].strip() == "---"), 0)
        for line in body[1:end]:
            key, _, value = line.partition(":")
            options[key.strip()] = value.strip()
        index = end + 1
    else:
        while index < len(body) and OPTION.match(body[index]):
            match = OPTION.match(body[index])
            options[match["key"]] = match["value"].strip()
            index += 1
    while index < len(body) and not body[index].strip():
        index += 1
    return options, body[index:]


def _directive(name: str, argument: str, body: list, context: Context) -> list:
    options, content = _options(body)
    converted = _blocks(content, context) if content else []
    classes = options.get("class", "").split()
    if name == "exercise":
        context.exercises_seen += 1
        title = inline(argument, context)
        # no number: the book numbers exercises across all its pages, a copy could only number its own
        heading = f"Exercise: {title}" if title else "Exercise"
        return ["", context.exercise_heading(heading), "", *converted, ""]
    if name == "solution-start":
        return ["", context.exercise_heading(_solution_title(argument, context)), ""]
    if name == "solution-end":
        return []
    if name == "solution":
        return _details(_solution_title(argument, context), converted)
    if name == "admonition":
        title = inline(argument, context) or "Note"
        return _details(title, converted) if "dropdown" in classes else _quote(title, converted)
    if name in ADMONITIONS:
        title = ADMONITIONS[name]
        if argument:  # ```{note} The first line of the text
            converted = [inline(argument, context), *converted]
        return _details(title, converted) if "dropdown" in classes else _quote(title, converted)
    if name in ("dropdown", "toggle"):
        return _details(inline(argument, context) or "Details", converted)
    if name.startswith("glue"):
        return ["", context.glue(argument.split()[0] if argument else ""), ""]
    if name == "math":
        return ["", "$$", *content, "$$", ""]
    if name in ("code", "code-block", "code-cell", "sourcecode"):
        return ["```" + argument, *content, "```"]
    if name in ("figure", "image"):
        caption = " ".join(line.strip() for line in converted if line.strip())
        return ["", f"![{caption or options.get('alt', '')}]({argument})", ""]
    # anything else: keep the content, drop the fence
    return ["", *converted, ""]


def exercise_labels(text: str) -> list:
    """The labels of the exercises of a Markdown text, in order (``None`` for an exercise without one)."""
    labels = []
    for block in EXERCISE_BLOCK.finditer(text):
        label = re.search(r"^:label:\s*(\S+)", block.group(0), re.M)
        labels.append(label.group(1) if label else None)
    return labels


def _solution_title(label: str, context: Context) -> str:
    target = context.book.targets.get(label.strip())
    return f"Solution: {target.title}" if target is not None and target.kind == "exercise" else "Solution"


def _quote(title: str, lines: list) -> list:
    """A titled blockquote: ``> **Title**`` then the content, every line quoted."""
    body = [f"> {line}" if line.strip() else ">" for line in lines]
    return ["", f"> **{title}**", ">", *body, ""]


def _details(summary: str, lines: list) -> list:
    """A collapsed block: ``<details><summary>…</summary>`` with the Markdown content inside."""
    return ["", "<details>", f"<summary>{summary}</summary>", "", *lines, "", "</details>", ""]


# -------------------------------------------------------------------------------------------- roles
def inline(line: str, context: Context) -> str:
    """A line with its roles rewritten (code spans left alone)."""

    def replace(match: re.Match) -> str:
        if match["name"] is None:
            return match.group(0)
        return role(match["name"], match["content"], context)

    return ROLE_OR_CODE.sub(replace, line)


def role(name: str, content: str, context: Context) -> str:
    """The plain-Markdown text of one role."""
    text, target = _explicit(content)
    book = context.book
    if name == "doc":
        title, url = book.resolve_doc(target, context.docname)
        return f"[{text or title}]({url})"
    if name in ("ref", "numref"):
        found, url = book.resolve_ref(target)
        if not text:
            text = f"exercise “{found.title}”" if found.kind == "exercise" else found.title
            if found.docname != context.docname:
                text += f", in “{book.titles[found.docname]}”"
        return f"[{text}]({url})"
    if name == "term":
        return f"[{text or target}]({glossary_url(target)})"
    if name.startswith("cite"):
        return book.cite(target, textual=name in ("cite:t", "cite:ts"))
    if name.startswith("glue"):
        return context.glue(target.split(":")[0])
    if name == "math":
        return f"${content}$"
    if name == "eq":
        return f"({target})"
    if name == "sub":
        return f"<sub>{content}</sub>"
    if name == "sup":
        return f"<sup>{content}</sup>"
    if name == "kbd":
        return f"<kbd>{content}</kbd>"
    if name == "abbr":
        return text or target
    return f"`{content}`"


def _explicit(content: str) -> tuple[Optional[str], str]:
    """``"Text <target>"`` → ``("Text", "target")``; ``"target"`` → ``(None, "target")``."""
    match = EXPLICIT.match(content.strip())
    if match and match["text"]:
        return match["text"], match["target"].strip()
    return None, content.strip()
