"""Hand a chapter's sentence to the book: myst-nb ``glue`` in a book build, a labelled display anywhere else."""

from __future__ import annotations

import json
import numbers
import os
import re

#: Set (to "1") by the book's Sphinx extension ``book/_ext/editions.py`` for the build and the kernels it starts.
BOOK_BUILD_ENV = "VGTEACH_BOOK_BUILD"


def in_book_build() -> bool:
    """Whether this kernel runs inside a book build (``jupyter-book build``)."""
    return os.environ.get(BOOK_BUILD_ENV) == "1"


#: When set to a file path, every :func:`glue` call appends ``{"name": …, "text": …}`` to it as one JSON line:
#: what a chapter glued, for the tests that read the prose as a reader would (tests/test_book_style.py).
GLUE_LOG_ENV = "VGTEACH_GLUE_LOG"


def glued_text(value):
    """The text a glued ``value`` shows in the prose: a string as it is, a number as ``str``; ``None`` for
    anything else (a figure, a table)."""
    if isinstance(value, str):
        return value
    if isinstance(value, numbers.Number):  # numpy's scalars too
        return str(value)
    return None


def record_glue(name: str, value) -> None:
    """Append ``name`` and :func:`glued_text` of ``value`` to the file ``$VGTEACH_GLUE_LOG`` names (if set)."""
    path = os.environ.get(GLUE_LOG_ENV)
    if path:
        with open(path, "a", encoding="utf-8") as log:
            log.write(json.dumps({"name": name, "text": glued_text(value)}, ensure_ascii=False) + "\n")


def glue(name: str, value, display: bool = False):
    """``myst_nb.glue`` in a book build; text is glued as Markdown (use the ``{glue:md}`` role).

    Anywhere else (Colab, Jupyter, papermill) the value is displayed instead, under its name,
    ``**⟨name⟩** value``, so the reader sees what the book's prose quotes: the Colab edition's prose points
    to it by that name ("**⟨standing⟩** (printed by the code cell above)").
    """
    record_glue(name, value)
    if in_book_build():
        from myst_nb import glue as myst_glue

        if isinstance(value, str):
            from IPython.display import Markdown

            value = Markdown(value)
        return myst_glue(name, value, display=display)
    from IPython.display import Markdown
    from IPython.display import display as show

    label = f"**⟨{name}⟩**"
    if isinstance(value, str):
        block = re.match(r"\s*([-*+] |\d+\. |\||#|>)", value) is not None  # a list, table, heading: own line
        show(Markdown(f"{label}\n\n{value}" if block else f"{label} {value}"))
    else:
        show(Markdown(label))
        show(value)
    return None
