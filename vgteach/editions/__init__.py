"""Editions of the book's notebooks for where they are read and taught: Colab, students, instructors.

The notebooks in ``notebooks/`` are MyST, for the book. From them:

* :mod:`~vgteach.editions.colab` writes the **Colab edition** (``colab/``): plain Markdown, links to the
  published book, glued values shown as outputs (``vgteach colab``);
* :mod:`~vgteach.editions.labs` writes the **student and instructor editions** of the labs
  (``vgteach lab student DIR``, ``vgteach lab instructor DIR``).

:mod:`~vgteach.editions.book` knows where the book is published (:data:`~vgteach.editions.book.BOOK_URL`)
and its pages, labels and references; :mod:`~vgteach.editions.myst` converts one Markdown cell.
"""

from .book import BOOK_URL, COLAB_URL, Book
from .colab import colab_notebook, write_colab_editions
from .myst import Context, to_markdown

__all__ = ["BOOK_URL", "COLAB_URL", "Book", "Context", "to_markdown", "colab_notebook", "write_colab_editions"]
