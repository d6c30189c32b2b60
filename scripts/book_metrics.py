"""How the book's chapters read, in numbers: the table issue 21's note gives before and after a rewrite.

Usage::

    python scripts/book_metrics.py                 # the notebooks as they are in the working tree
    python scripts/book_metrics.py --rev HEAD      # as committed at a revision
    python scripts/book_metrics.py --glued DIR     # with the text a run glued (DIR/<chapter>.jsonl)

One row per chapter notebook (``notebooks/*.ipynb`` but the labs), with:

``visible``
    Visible code lines: the non-blank lines of the code cells a reader sees (cells not tagged
    ``remove-input``, ``remove-cell``, ``hide-input`` or ``hide-cell``, :data:`HIDDEN_TAGS`).
``> 79``
    Visible lines longer than 79 characters (lines holding a URL are exempt, as in the project's hook);
    ``wide cells``: visible code cells with such a line, of all visible code cells.
``plumbing`` / ``share``
    Visible lines that only serve the prose: glue values, sentences, table formatting (the rule below),
    and their share of ``visible``.
``max nums``
    The most numbers in one Markdown paragraph (:func:`vgteach.results.proofread.numbers_in`: literal
    numbers, maths and code left out; a glue role counts as one number, or as the numbers of its text with
    ``--glued``); ``> 5`` counts the paragraphs above five.
``typed refs``
    Cross-references typed by hand (``"exercise 3"``; :func:`vgteach.results.proofread.typed_references`).

The last lines give the totals and the plumbing share of the ten results chapters (:data:`RESULTS_CHAPTERS`:
the seven loss chapters, ``comparison``, ``reproduction`` and ``choosing``, the chapters whose subject is the
reference study's results, where issue 21 found 15–39 % of the visible code assembling sentences).

**The plumbing rule.** Each code cell is parsed (IPython magics read as ``pass``) into statements;
compound statements (``for``, ``if``, ``with``, ``try``) are split into their header and body statements,
a ``def``/``class`` is one statement. A statement is *plumbing* when

1. it calls ``glue(...)`` (any ``….glue``) or ``Markdown(...)`` (a generated sentence shown as Markdown);
2. it builds text: an assignment, expression or ``def`` whose value (every ``return``) is an f-string, a
   string ``+``/``%``/``.join``/``.format``, a conditional of those, a subscript of or a collection
   (dict, list, tuple) most of whose leaves are such text or sentence-like strings (three spaces or more);
3. it formats a table for display: it calls ``rename``, ``set_option``, ``style``, ``applymap``,
   ``set_caption``, ``set_table_styles``, ``format_index``, ``set_properties``, ``to_markdown`` or
   ``to_html``;
4. it only feeds plumbing: every name it binds (assignment targets, ``for`` targets, imports, ``def``
   names, subscript/attribute targets' base names) that the notebook reads anywhere is read only by
   plumbing statements, and at least one is read (repeated until nothing changes, across all the
   notebook's code cells, hidden ones included);
5. it is a compound header whose whole body is plumbing.

A comment line counts with the statement that follows it. A cell that exists for its plumbing counts
entirely: when every top-level statement but its imports and its closing display expression is plumbing,
those serve the glue too (the ranks table under the loss chapters' glue cell).
The rule is a heuristic: it reads what code does, not why; a line it misjudges shows in ``--detail``.
"""

from __future__ import annotations

import argparse
import ast
import json
import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Mapping, Optional

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from vgteach.results.proofread import numbers_in, prose_paragraphs, typed_references  # noqa: E402

NOTEBOOKS = REPO / "notebooks"
#: cell tags that keep a cell's code off the page
HIDDEN_TAGS = frozenset({"remove-input", "remove-cell", "hide-input", "hide-cell"})
#: longest visible code line (about 80 monospace characters fit the book's code column)
MAX_LINE = 79
#: the chapters whose subject is the reference study's results (issue 21's "ten results chapters")
RESULTS_CHAPTERS = (
    "contrastive",
    "triplet",
    "npair",
    "infonce",
    "arcface",
    "supcon",
    "ccl",
    "comparison",
    "reproduction",
    "choosing",
)
#: most numbers in one paragraph (BOOK-STYLE.md: "at most a handful")
MAX_NUMBERS = 5
FORMAT_METHODS = frozenset(
    {
        "rename",
        "set_option",
        "applymap",
        "set_caption",
        "set_table_styles",
        "format_index",
        "set_properties",
        "to_markdown",
        "to_html",
    }
)
PROSE_CALLS = frozenset({"glue", "Markdown"})


# ------------------------------------------------------------------------------------------- reading
def read_notebook(name: str, rev: Optional[str] = None) -> dict:
    """``notebooks/<name>.ipynb`` from the working tree, or as committed at ``rev``."""
    if rev is None:
        return json.loads((NOTEBOOKS / f"{name}.ipynb").read_text(encoding="utf-8"))
    text = subprocess.run(
        ["git", "show", f"{rev}:notebooks/{name}.ipynb"], cwd=REPO, check=True, capture_output=True, text=True
    ).stdout
    return json.loads(text)


def chapter_names(rev: Optional[str] = None, labs: bool = False) -> list[str]:
    """The chapter notebooks (``notebooks/*.ipynb``), labs left out unless ``labs``."""
    if rev is None:
        names = sorted(path.stem for path in NOTEBOOKS.glob("*.ipynb"))
    else:
        listing = subprocess.run(
            ["git", "ls-tree", "--name-only", rev, "notebooks/"], cwd=REPO, check=True, capture_output=True, text=True
        ).stdout.split()
        names = sorted(Path(path).stem for path in listing if path.endswith(".ipynb"))
    return [name for name in names if labs or not name.startswith("lab")]


def source(cell: dict) -> str:
    text = cell["source"]
    return text if isinstance(text, str) else "".join(text)


def is_visible(cell: dict) -> bool:
    """Whether a code cell's input shows on the page (no tag of :data:`HIDDEN_TAGS`)."""
    return not HIDDEN_TAGS.intersection(cell.get("metadata", {}).get("tags", []))


def visible_code(notebook: dict) -> list[str]:
    """The sources of the code cells a reader sees."""
    return [source(cell) for cell in notebook["cells"] if cell["cell_type"] == "code" and is_visible(cell)]


def long_lines(code: str, limit: int = MAX_LINE) -> list[str]:
    """The lines of ``code`` longer than ``limit`` characters; a line with a URL is exempt."""
    return [line for line in code.splitlines() if len(line) > limit and "http" not in line]


def code_lines(code: str) -> list[int]:
    """Line numbers (1-based) of the non-blank lines of ``code``."""
    return [number for number, line in enumerate(code.splitlines(), 1) if line.strip()]


# --------------------------------------------------------------------------------------- plumbing
@dataclass(eq=False)
class Unit:
    """One statement (or a compound statement's header) of one cell."""

    cell: int
    lines: set
    binds: set = field(default_factory=set)
    reads: set = field(default_factory=set)
    direct: bool = False
    children: list = field(default_factory=list)
    kind: str = ""  # the statement's class name: "Import", "Expr", "Assign", …


def parse_cell(code: str) -> ast.Module:
    """``code`` parsed, IPython magics and shell lines read as ``pass`` (a cell that still fails: empty)."""
    lines = [re.sub(r"^(\s*)[%!].*", r"\1pass", line) for line in code.splitlines()]
    try:
        return ast.parse("\n".join(lines))
    except SyntaxError:
        return ast.Module(body=[], type_ignores=[])


def call_name(node: ast.Call) -> Optional[str]:
    return getattr(node.func, "id", getattr(node.func, "attr", None))


def is_sentence(node) -> bool:
    return isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value.count(" ") >= 3


def is_text(node) -> bool:
    """Whether the expression ``node`` builds text for the page (rule 2 of the module docstring)."""
    if isinstance(node, ast.JoinedStr) or is_sentence(node):
        return True
    if isinstance(node, ast.BinOp):
        if isinstance(node.op, ast.Mod):
            return isinstance(node.left, ast.Constant) and isinstance(node.left.value, str)
        if isinstance(node.op, ast.Add):
            sides = (node.left, node.right)
            return any(
                is_text(side) or (isinstance(side, ast.Constant) and isinstance(side.value, str)) for side in sides
            )
    if isinstance(node, ast.Call) and call_name(node) in ("join", "format"):
        receiver = getattr(node.func, "value", None)
        return isinstance(receiver, (ast.Constant, ast.JoinedStr)) or any(is_text(arg) for arg in node.args)
    if isinstance(node, ast.IfExp):
        return is_text(node.body) or is_text(node.orelse)
    if isinstance(node, ast.Subscript):
        return is_text(node.value)
    if isinstance(node, (ast.Dict, ast.List, ast.Tuple, ast.Set)):
        leaves = list(collection_leaves(node))
        return bool(leaves) and 2 * sum(map(is_text, leaves)) > len(leaves)
    return False


def collection_leaves(node) -> Iterable:
    children = node.values if isinstance(node, ast.Dict) else node.elts
    for child in children:
        if isinstance(child, (ast.Dict, ast.List, ast.Tuple, ast.Set)):
            yield from collection_leaves(child)
        else:
            yield child


def names_bound(targets) -> set:
    names = set()
    for target in targets:
        for node in ast.walk(target):
            if isinstance(node, ast.Name):
                names.add(node.id)
        while isinstance(target, (ast.Subscript, ast.Attribute)):
            target = target.value
        if isinstance(target, ast.Name):
            names.add(target.id)
    return names


def names_read(nodes, local: frozenset = frozenset()) -> set:
    return {
        node.id
        for root in nodes
        for node in ast.walk(root)
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load) and node.id not in local
    }


def makes_prose(nodes) -> bool:
    """Rules 1 and 3: a glue/Markdown call or a table-formatting call or ``.style`` in ``nodes``."""
    for root in nodes:
        for node in ast.walk(root):
            if isinstance(node, ast.Call) and call_name(node) in PROSE_CALLS | FORMAT_METHODS:
                return True
            if isinstance(node, ast.Attribute) and node.attr == "style":
                return True
    return False


def statement_units(statement, cell: int) -> Unit:
    """The :class:`Unit` of one statement (compound statements with their body's units as children)."""
    unit = _statement_unit(statement, cell)
    unit.kind = type(statement).__name__
    return unit


def _statement_unit(statement, cell: int) -> Unit:
    span = set(range(statement.lineno, statement.end_lineno + 1))
    decorated = getattr(statement, "decorator_list", [])
    if decorated:
        span |= set(range(min(d.lineno for d in decorated), statement.lineno))
    if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        local = {arg.arg for arg in ast.walk(statement) if isinstance(arg, ast.arg)}
        local |= {n.id for n in ast.walk(statement) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}
        returns = [node.value for node in ast.walk(statement) if isinstance(node, ast.Return) and node.value]
        text = bool(returns) and all(map(is_text, returns))
        return Unit(
            cell, span, {statement.name}, names_read([statement], frozenset(local)), text or makes_prose([statement])
        )
    bodies = [
        getattr(statement, name, [])
        for name in ("body", "orelse", "finalbody", "handlers")
        if isinstance(getattr(statement, name, None), list)
    ]
    if any(bodies) and not isinstance(statement, (ast.Expr, ast.Assign)):
        children = [statement_units(child, cell) for body in bodies for child in body if isinstance(child, ast.stmt)]
        children += [
            statement_units(child, cell) for handler in getattr(statement, "handlers", []) for child in handler.body
        ]
        header_nodes = [
            getattr(statement, name)
            for name in ("test", "iter", "target", "subject")
            if getattr(statement, name, None) is not None
        ] + [item for item in getattr(statement, "items", [])]
        inner = set().union(*(child.lines for child in children)) if children else set()
        binds = names_bound([statement.target]) if hasattr(statement, "target") else set()
        for item in getattr(statement, "items", []):
            if item.optional_vars is not None:
                binds |= names_bound([item.optional_vars])
        return Unit(cell, span - inner, binds, names_read(header_nodes), makes_prose(header_nodes), children)
    binds = set()
    if isinstance(statement, ast.Assign):
        binds = names_bound(statement.targets)
    elif isinstance(statement, (ast.AugAssign, ast.AnnAssign)):
        binds = names_bound([statement.target])
    elif isinstance(statement, (ast.Import, ast.ImportFrom)):
        binds = {(alias.asname or alias.name).split(".")[0] for alias in statement.names}
    binds |= {node.target.id for node in ast.walk(statement) if isinstance(node, ast.NamedExpr)}
    value = getattr(statement, "value", None)
    text = isinstance(statement, (ast.Assign, ast.AnnAssign, ast.Expr)) and value is not None and is_text(value)
    return Unit(cell, span, binds, names_read([statement]), text or makes_prose([statement]))


def flatten(units) -> list:
    for unit in units:
        yield unit
        yield from flatten(unit.children)


def plumbing_units(codes: list[str]) -> tuple[list, set]:
    """The top-level units of a notebook's code cells ``codes`` (all of them, in order) and the set of its
    plumbing units (rules 1-5)."""
    tops = [
        statement_units(statement, index) for index, code in enumerate(codes) for statement in parse_cell(code).body
    ]
    units = list(flatten(tops))
    readers: dict = {}
    for unit in units:
        for name in unit.reads:
            readers.setdefault(name, set()).add(unit)
    plumbing = {unit for unit in units if unit.direct}
    changed = True
    while changed:
        changed = False
        for unit in units:
            if unit in plumbing:
                continue
            if unit.children and all(child in plumbing for child in unit.children):
                plumbing.add(unit)
                changed = True
                continue
            used = set().union(*(readers.get(name, set()) for name in unit.binds)) - {unit} if unit.binds else set()
            if used and used <= plumbing:
                plumbing.add(unit)
                changed = True
    return tops, plumbing


def serves_plumbing(cell_tops: list, plumbing: set) -> bool:
    """Whether a cell exists for its plumbing: it has some, and every other top-level statement is an import
    or the cell's closing display expression."""
    imports = ("Import", "ImportFrom")
    rest = [unit for unit in cell_tops if unit not in plumbing and unit.kind not in imports]
    if rest and rest[-1] is cell_tops[-1] and rest[-1].kind == "Expr":
        rest = rest[:-1]
    return not rest and any(unit in plumbing and unit.kind not in imports for unit in cell_tops)


def plumbing_lines(codes: list[str]) -> list[set]:
    """For each cell of ``codes``, the line numbers (1-based, non-blank) that count as plumbing."""
    tops, plumbing = plumbing_units(codes)
    marked = [set() for _ in codes]
    for unit in plumbing:
        marked[unit.cell] |= unit.lines
    result = []
    for index, code in enumerate(codes):
        lines = code.splitlines()
        numbered = set(code_lines(code))
        mine = marked[index] & numbered
        # a comment line counts with the statement that follows it
        for number in sorted(numbered, reverse=True):
            if lines[number - 1].lstrip().startswith("#") and number + 1 in mine:
                mine.add(number)
        if serves_plumbing([unit for unit in tops if unit.cell == index], plumbing):
            mine = numbered
        result.append(mine)
    return result


# ------------------------------------------------------------------------------------------ metrics
@dataclass
class ChapterMetrics:
    name: str
    visible: int
    long: int
    cells: int
    wide_cells: int
    plumbing: int
    max_numbers: int
    crowded: int
    typed_refs: int
    details: list = field(default_factory=list)

    @property
    def share(self) -> float:
        return self.plumbing / self.visible if self.visible else 0.0


def read_glued(folder: Optional[Path], name: str) -> dict:
    """The text a run glued for chapter ``name`` (``folder/<name>.jsonl``, one ``{"name", "text"}`` a line)."""
    if folder is None or not (Path(folder) / f"{name}.jsonl").is_file():
        return {}
    records = [json.loads(line) for line in (Path(folder) / f"{name}.jsonl").read_text(encoding="utf-8").splitlines()]
    return {record["name"]: record["text"] for record in records if record.get("text") is not None}


def measure(name: str, notebook: dict, glued: Optional[Mapping] = None) -> ChapterMetrics:
    """The metrics of one chapter notebook (see the module docstring)."""
    codes = [source(cell) for cell in notebook["cells"] if cell["cell_type"] == "code"]
    visible = [is_visible(cell) for cell in notebook["cells"] if cell["cell_type"] == "code"]
    marked = plumbing_lines(codes)
    shown = [code for code, seen in zip(codes, visible) if seen]
    details = [
        (index, number, code.splitlines()[number - 1])
        for index, (code, seen, mine) in enumerate(zip(codes, visible, marked))
        if seen
        for number in sorted(mine)
    ]
    paragraphs = [
        paragraph
        for cell in notebook["cells"]
        if cell["cell_type"] == "markdown"
        for paragraph in prose_paragraphs(source(cell), glued)
    ]
    counts = [len(numbers_in(paragraph)) for paragraph in paragraphs]
    return ChapterMetrics(
        name=name,
        visible=sum(len(code_lines(code)) for code in shown),
        long=sum(len(long_lines(code)) for code in shown),
        cells=len(shown),
        wide_cells=sum(bool(long_lines(code)) for code in shown),
        plumbing=sum(len(mine) for mine, seen in zip(marked, visible) if seen),
        max_numbers=max(counts, default=0),
        crowded=sum(count > MAX_NUMBERS for count in counts),
        typed_refs=sum(len(typed_references(paragraph)) for paragraph in paragraphs),
        details=details,
    )


def table(rows: list[ChapterMetrics]) -> str:
    """The Markdown table of the module docstring, with totals and the results chapters' share."""
    out = [
        "| chapter | visible | > 79 | wide cells | plumbing | share | max nums | > 5 | typed refs |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        out.append(
            f"| {row.name}{' *' if row.name in RESULTS_CHAPTERS else ''} | {row.visible} | {row.long} | "
            f"{row.wide_cells}/{row.cells} | "
            f"{row.plumbing} | {row.share:.0%} | {row.max_numbers} | {row.crowded} | {row.typed_refs} |"
        )
    ten = [row for row in rows if row.name in RESULTS_CHAPTERS]
    for label, group in (("all chapters", rows), ("results chapters (*)", ten)):
        visible, plumbing = sum(r.visible for r in group), sum(r.plumbing for r in group)
        out.append(
            f"| **{label}** | {visible} | {sum(r.long for r in group)} | "
            f"{sum(r.wide_cells for r in group)}/{sum(r.cells for r in group)} | {plumbing} | "
            f"{plumbing / visible if visible else 0:.1%} | {max((r.max_numbers for r in group), default=0)} | "
            f"{sum(r.crowded for r in group)} | {sum(r.typed_refs for r in group)} |"
        )
    return "\n".join(out)


def main(argv: Optional[list] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rev", help="read the notebooks as committed at this git revision (default: working tree)")
    parser.add_argument("--glued", type=Path, help="folder of <chapter>.jsonl glue logs to count glued numbers")
    parser.add_argument("--labs", action="store_true", help="include the labs")
    parser.add_argument("--detail", action="append", default=[], help="print the plumbing lines of a chapter")
    parser.add_argument("chapters", nargs="*", help="chapters to measure (default: all)")
    args = parser.parse_args(argv)
    names = args.chapters or chapter_names(args.rev, labs=args.labs)
    rows = [measure(name, read_notebook(name, args.rev), read_glued(args.glued, name)) for name in names]
    print(table(rows))
    for row in rows:
        if row.name in args.detail:
            print(f"\n{row.name}: plumbing lines (code cell, line)")
            for cell, number, line in row.details:
                print(f"  [{cell}:{number}] {line}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
