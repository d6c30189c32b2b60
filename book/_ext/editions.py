"""Sphinx extension: the book and its Colab edition.

1. The launch button *Colab* opens the chapter's Colab edition, ``colab/<name>.ipynb`` (plain Markdown,
   written by ``vgteach colab``), instead of the MyST source ``notebooks/<name>.ipynb``, whose roles and
   directives Colab cannot render. sphinx-book-theme builds the button's URL from the page's source path
   (``…/blob/<branch>/notebooks/<name>.ipynb``); this rewrites that path after the theme has added it.
   A Markdown page that runs code (the front page, ``book/intro.md``) gets no launch menu.
2. The build says it is a build: it sets ``VGTEACH_BOOK_BUILD=1`` in its environment, which the kernels
   that execute the chapters inherit, so ``vgteach.results.glue`` hands values to myst-nb (the prose's
   ``{glue:md}`` roles show them) instead of displaying them as it does on Colab or in Jupyter.
"""

import os
import re

BOOK_BUILD_ENV = "VGTEACH_BOOK_BUILD"  # vgteach.results.myst.BOOK_BUILD_ENV
SOURCE_FOLDER, COLAB_FOLDER = "notebooks", "colab"
#: the tail of a Colab launch URL that opens a chapter's source
SOURCE_PATH = re.compile(rf"(/blob/[^/]+/){SOURCE_FOLDER}/([^/]+\.ipynb)$")


def colab_edition_url(url: str) -> str:
    """The launch URL of a chapter's Colab edition: ``…/blob/main/notebooks/x.ipynb`` → ``…/colab/x.ipynb``.
    Any other URL is returned unchanged."""
    return SOURCE_PATH.sub(rf"\1{COLAB_FOLDER}/\2", url)


def _launch_buttons(buttons):
    for button in buttons:
        if button.get("type") == "group":
            yield from _launch_buttons(button.get("buttons", []))
        else:
            yield button


def open_colab_editions(app, pagename, templatename, context, doctree):
    if context.get("page_source_suffix", ".ipynb") != ".ipynb":
        # a Markdown page that runs code (the front page glues its numbers) has no Colab edition and no
        # notebook to launch: drop the launch menu rather than offer a link Colab cannot open
        buttons = context.get("header_buttons", [])
        context["header_buttons"] = [button for button in buttons if button.get("label") != "launch-buttons"]
        return
    for button in _launch_buttons(context.get("header_buttons", [])):
        if button.get("text") == "Colab" and "url" in button:
            button["url"] = colab_edition_url(button["url"])


def setup(app):
    os.environ[BOOK_BUILD_ENV] = "1"
    # sphinx-book-theme adds the launch buttons at priority 501 and renders them later: run in between
    app.connect("html-page-context", open_colab_editions, priority=502)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
