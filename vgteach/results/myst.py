"""Hand a chapter's sentence to the book: myst-nb ``glue``, or a plain display where myst-nb is missing."""

from __future__ import annotations


def glue(name: str, value, display: bool = False):
    """``myst_nb.glue`` for the book build; text is glued as Markdown (use the ``{glue:md}`` role).

    Where myst-nb is not installed (a chapter opened on Colab) the value is displayed instead, so the reader
    still sees the sentence the book's prose would have quoted.
    """
    if isinstance(value, str):
        from IPython.display import Markdown

        value = Markdown(value)
    try:
        from myst_nb import glue as myst_glue
    except ImportError:
        from IPython.display import display as show

        show(value)
        return None
    return myst_glue(name, value, display=display)
