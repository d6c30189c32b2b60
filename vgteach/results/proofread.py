"""Read the book's prose the way a proofreader would: the rules its tests hold every chapter to.

One place for the rules (BOOK-STYLE.md, issue 21), used by ``tests/test_book_style.py`` and
``scripts/book_metrics.py``:

- :func:`text_problems`: generated text reads as written — no ``"all 1 seeds"``, no doubled word, no
  capital letter in mid-sentence, no ``"this"`` that points at nothing (``"Our reference runs back this:"``),
  no ``nan``;
- :func:`numbers_in`: the numbers a reader meets in one paragraph (at most five, BOOK-STYLE.md);
- :func:`typed_references`: ``"exercise 3"`` typed by hand instead of a ``{ref}``/``{numref}`` link;
- :func:`prose_paragraphs`: a chapter's Markdown cut into the paragraphs a reader reads, with maths, code,
  tables, headings and collapsed notes left out, and glue roles replaced by what they glue (or a
  placeholder that counts as one number when the glued text is not known).
"""

from __future__ import annotations

import re
from typing import Mapping, Optional

from .prose import LOSS_LABELS

# -- generated text reads as written ---------------------------------------------------------------------
#: capitalised words that may stand in mid-sentence: the book's loss names and the proper names its prose
#: uses (add a name here when a chapter needs one). Words with a second capital, a digit or ``@`` in them
#: (InfoNCE, CIFAR-10, R@1, MAP@R, ViT-B/32, GREEDINESS) and single letters (K, B, D) are always allowed.
PROPER_NOUNS = frozenset(
    {*LOSS_LABELS.values()}
    | {
        "Adam",
        "SGD",
        "Gini",
        "Lorenz",
        "Euclidean",
        "Gaussian",
        "Fisher",
        "Colab",
        "Jupyter",
        "Python",
        "NumPy",
        "Chromium",
        "GitHub",
        "ImageNet",
        "EfficientNet",
        "Papyan",
        "Wang",
        "Isola",
        "Zeng",
        "Khosla",
        "Oord",
        "Sohn",
        "Hadsell",
        "Schroff",
        "Deng",
        "Musgrave",
        "Roy",
        "Roth",
    }
)
#: plural nouns the book counts: ``"1 seeds"`` is always a slip
COUNT_NOUNS = frozenset(
    "seeds runs losses claims epochs samples classes pairs anchors steps dimensions points images terms "
    "negatives positives proxies batches studies chapters exercises minutes seconds datasets features "
    "verdicts measures measurements values cells columns rows panels frames times units degrees neighbours "
    "queries labels trainings sentences numbers results figures tables parts statements".split()
)
#: words before a number that make it a count: ``"all 1 settings"``, ``"over 1 folds"``
QUANTIFIERS = frozenset("all the these those its their our over across only just every each".split())
ONE_WITH_PLURAL = re.compile(r"(?<![\w@.,−-])1\s+([a-z]{2,}s)\b", re.IGNORECASE)
DOUBLED_WORD = re.compile(r"(?<![\w@-])([A-Za-z]+)\s+\1\b(?![@-])", re.IGNORECASE)
DANGLING_THIS = re.compile(r"(?<!\blike )\b([Tt]his)\s*(?=[:;,.!?]|$)")  # "like this:" announces what follows
NAN = re.compile(r"(?<![\w.])(?:nan|NaN)(?!\w)")
CAPITALISED = re.compile(r"(?<![\w@'’\-])([A-Z][a-z]+(?:['’]s)?)(?![\w@\-])")
PLACEHOLDER_END = re.compile(r"⟨glue:[^⟩]*⟩$")
#: what may stand between a sentence's end and its first word: spaces, emphasis, brackets, quotes
MARKUP = " \t\n*_()[]`\"'“”‘’>"
#: a line that opens a list item, a heading, a quote or a table cell: its first word starts a sentence
LINE_START = re.compile(r"(?:^|\n)[ \t]*(?:[-*+>]|\d+[.)]|#+|\|)?[ \t*_(\[“\"‘`]*$")


def _starts_sentence(text: str, start: int) -> bool:
    """Whether the word at ``start`` of ``text`` begins a sentence (or a list item, a cell, a quotation,
    the text itself); a sentence ends with ``.``, ``!``, ``?`` or ``:``."""
    before = text[:start]
    if LINE_START.search(before) and (before.rstrip(' \t*_([“"‘`').endswith("\n") or not before.strip()):
        return True
    if re.search(r"[“‘]\s*[*_]*$", before) or re.search(r'(^|\s)"[*_]*$', before):
        return True  # an opening quotation mark: a quotation starts with a capital
    stripped = before.rstrip(MARKUP)
    if PLACEHOLDER_END.search(stripped):
        return True  # a glue role whose text is not known may end with a full stop
    return not stripped or stripped[-1] in ".!?:|" or before.rstrip(" \t*_").endswith("|")


def text_problems(text: str) -> list[str]:
    """What in ``text`` (Markdown prose, generated or typed) does not read as written; ``[]`` when fine.

    The rules, each a generation slip seen in the book:

    - *the number 1 with a plural noun*: ``"1 seeds"`` — a noun the book counts (:data:`COUNT_NOUNS`), or
      any plural after a quantifier (``"all 1 folds"``, :data:`QUANTIFIERS`); ``"near 1 says"``,
      ``"epoch 1 shows"`` are fine;
    - *a doubled word*: ``"say say"``, ``"the the"`` (letters only, any case);
    - *a capital letter in mid-sentence*: a capitalised word (``"The"``, ``"Every"``) that neither starts a
      sentence (after ``.``, ``!``, ``?``, ``:``, the start of the text, a list marker, a table cell or an
      opening quotation mark) nor is a name (:data:`PROPER_NOUNS`, or a word with a second capital, a digit
      or ``@``: InfoNCE, CIFAR-10, R@1);
    - *a dangling "this"*: ``"this"`` right before punctuation or the end of the text (``"Our reference
      runs back this:"``), where the thing it points at was never said (``"like this:"`` announces what
      follows and is fine);
    - *a missing value*: ``nan`` printed into the text.

    Each problem is a short message quoting the words at fault.
    """
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, not {type(text).__name__}")
    found = []
    for match in ONE_WITH_PLURAL.finditer(text):
        previous = (text[: match.start()].split()[-1:] or [""])[0].lower().strip("*_(")
        if match.group(1).lower() in COUNT_NOUNS or previous in QUANTIFIERS:
            found.append(f"'{match.group(0)}': the number 1 with a plural noun")
    found += [f"'{match.group(0)}': a doubled word" for match in DOUBLED_WORD.finditer(text)]
    for match in CAPITALISED.finditer(text):
        word = match.group(1)
        base = re.sub(r"['’]s$", "", word)
        if base in PROPER_NOUNS or _starts_sentence(text, match.start()):
            continue
        context = text[max(0, match.start() - 20) : match.end()].replace("\n", " ")
        found.append(f"'…{context}': a capital letter in mid-sentence")
    for match in DANGLING_THIS.finditer(text):
        context = text[max(0, match.start() - 30) : match.end() + 1].replace("\n", " ").strip()
        found.append(f"'…{context}': '{match.group(1)}' points at nothing")
    found += [f"'{match.group(0)}': a missing value printed" for match in NAN.finditer(text)]
    return found


# -- numbers in a paragraph -------------------------------------------------------------------------------
#: what a glue role becomes when the glued text is not known: it counts as one number
GLUE_PLACEHOLDER = "⟨glue:{}⟩"
PLACEHOLDER = re.compile(r"⟨glue:[^⟩]*⟩")
#: a number as a reader meets it: 3, 0.762, 50,000, 12%, 3rd, 10k, −0.2 (not part of a name: CIFAR-10, R@1,
#: ViT-B/32, lite0, PCA-128)
NUMBER = re.compile(r"(?<![\w@/.,\-−])[-−]?\d+(?:,\d{3})*(?:\.\d+)?|(?<=[\s(])[-−]\d+(?:\.\d+)?")


def numbers_in(paragraph: str) -> list[str]:
    """The numbers of one prose ``paragraph`` (from :func:`prose_paragraphs`), in order: every literal number
    (``0.734 ± 0.004`` is two; a range ``0.5–0.9`` is two) and every glue placeholder (one each). Numbers
    spelled in words (``seven``) and digits inside names (``CIFAR-10``, ``R@1``) are not counted."""
    placeholders = PLACEHOLDER.findall(paragraph)
    rest = PLACEHOLDER.sub(" ", paragraph)
    return [match.group(0) for match in NUMBER.finditer(rest)] + placeholders


# -- typed cross-references -----------------------------------------------------------------------------
TYPED_REFERENCE = re.compile(
    r"(?<![{`\w-])(?:exercises?|sections?|figures?|fig\.|tables?|§)\s*\d+(?![\w-])", re.IGNORECASE
)


def typed_references(paragraph: str) -> list[str]:
    """``"exercise 3"``, ``"Section 2"``, ``"Figure 4"``, ``"§5"`` typed in ``paragraph``: numbering that
    breaks when a chapter changes; cite with ``{ref}``/``{numref}`` instead."""
    return [match.group(0) for match in TYPED_REFERENCE.finditer(paragraph)]


# -- the paragraphs of a chapter ------------------------------------------------------------------------
GLUE_ROLE = re.compile(r"\{glue(?::\w+)?\}`([^`:]+)(?::[^`]*)?`")
#: directives whose body is not prose (code, maths, figures glued from code)
CODE_DIRECTIVES = {
    "code",
    "code-block",
    "code-cell",
    "sourcecode",
    "math",
    "glue:figure",
    "raw",
    "eval-rst",
    "literalinclude",
}
#: directives a reader sees folded: their body is the place for "all the numbers" (BOOK-STYLE.md)
FOLDED_DIRECTIVES = {"dropdown", "toggle"}
FENCE = re.compile(r"^\s*(`{3,}|~{3,}|:{3,})\s*(?:\{([\w:-]+)\})?")
OPTION = re.compile(r"^\s*:[\w-]+:")
INLINE = [
    (re.compile(r"<!--.*?-->", re.S), " "),
    (re.compile(r"\$\$.*?\$\$", re.S), " ⟨math⟩ "),
    (re.compile(r"\\begin\{(\w+\*?)\}.*?\\end\{\1\}", re.S), " ⟨math⟩ "),
]
SPANS = [
    (re.compile(r"\{(?:term|abbr)\}`([^`<]*?)\s*(?:<[^`]*>)?`"), r"\1"),  # the term as shown
    (re.compile(r"\{[\w:-]+\}`[^`]*`"), " "),  # {ref}, {numref}, {doc}, {cite}, {eq}, {math}: no prose
    (re.compile(r"`[^`\n]+`"), "⟨code⟩"),
    (re.compile(r"(?<![\\$])\$[^$\n]+\$"), "⟨math⟩"),
    (re.compile(r"!\[[^\]]*\]\([^)]*\)"), " "),  # images
    (re.compile(r"\[([^\]]*)\]\([^)]*\)"), r"\1"),  # links: their text
    (re.compile(r"\[\^[^\]]+\]"), " "),  # footnote marks
    (re.compile(r"<[^>\n]+>"), " "),  # HTML tags and autolinks
    (re.compile(r"https?://\S+"), " "),
]


def _blocks(markdown: str) -> list[str]:
    """The lines of ``markdown`` a reader reads as prose, with ``""`` where a paragraph ends."""
    lines = markdown.splitlines()
    kept, stack, index, folded_html = [], [], 0, 0
    while index < len(lines):
        line = lines[index]
        index += 1
        fence = FENCE.match(line)
        if stack and line.strip() and set(line.strip()) == {stack[-1][0][0]} and len(line.strip()) >= len(stack[-1][0]):
            stack.pop()
            kept.append("")
            continue
        if fence and (fence.group(2) or fence.group(1)[0] == "`" or fence.group(1)[0] == "~"):
            name = fence.group(2) or ""
            options = []
            while index < len(lines) and OPTION.match(lines[index]):
                options.append(lines[index])
                index += 1
            folded = name in FOLDED_DIRECTIVES or any(
                re.match(r"\s*:class:.*\bdropdown\b", option) for option in options
            )
            hidden = not name or name in CODE_DIRECTIVES or folded
            stack.append((fence.group(1), bool(hidden or (stack and stack[-1][1]))))
            kept.append("")
            continue
        if re.search(r"<details\b", line):
            folded_html += 1
        if re.search(r"</details>", line):
            folded_html = max(0, folded_html - 1)
            kept.append("")
            continue
        if (stack and stack[-1][1]) or folded_html:
            continue
        stripped = line.strip()
        if not stripped or stripped.startswith(("#", "|", "+++")) or re.fullmatch(r"\(.+\)=", stripped):
            kept.append("")
        elif re.match(r"\s*(?:[-*+]|\d+[.)])\s+", line):
            kept += ["", line]  # a list item reads as a paragraph of its own
        else:
            kept.append(line)
    return kept


def prose_paragraphs(markdown: str, glued: Optional[Mapping[str, str]] = None) -> list[str]:
    """The paragraphs of ``markdown`` (one Markdown cell or page) as a reader reads them, on one line each.

    Glue roles become the text ``glued`` holds for their key (a book build's or a smoke run's), else
    :data:`GLUE_PLACEHOLDER`. Left out: fenced code and maths (``$…$``, ``$$…$$``, ``\\begin…\\end``),
    headings, tables, target lines, the bodies of folded notes (``{dropdown}``, ``:class: dropdown``,
    ``<details>``) and code directives; inline code becomes ``⟨code⟩``, inline maths ``⟨math⟩``, a link its
    text, a ``{term}`` its text, other roles (``{ref}``, ``{doc}``, ``{cite}``) nothing.
    """
    glued = glued or {}

    def fill(match):
        key = match.group(1).strip()
        value = glued.get(key)
        return GLUE_PLACEHOLDER.format(key) if value is None else str(value)

    text = GLUE_ROLE.sub(fill, markdown)
    for pattern, replacement in INLINE:
        text = pattern.sub(replacement, text)
    paragraphs, current = [], []
    for line in _blocks(text) + [""]:
        if line:
            current.append(line.strip())
            continue
        if current:
            paragraph = " ".join(current)
            for pattern, replacement in SPANS:
                paragraph = pattern.sub(replacement, paragraph)
            paragraph = re.sub(r"^\s*(?:[-*+]|\d+[.)])\s+", "", paragraph)
            paragraph = " ".join(paragraph.split())
            if re.search(r"[^\W\d_]", paragraph.replace("⟨math⟩", "").replace("⟨code⟩", "")):
                paragraphs.append(paragraph)
            current = []
    return paragraphs
