"""Sphinx extension: never show papermill's injected-parameters cell in the book.

The book executes the notebooks as committed (their ``parameters`` cell says ``PROFILE = "book"``), so
normally there is nothing to hide. But a notebook that went through papermill, e.g.
``papermill notebooks/triplet.ipynb notebooks/triplet.ipynb -p PROFILE paper`` on a GPU, carries an extra
cell tagged ``injected-parameters``; this adds myst-nb's ``remove-cell`` tag to it when Sphinx reads the
notebook. The cell still *runs* (its values still apply), it is only not rendered.
"""
import json

INJECTED_TAG = "injected-parameters"
REMOVE_TAG = "remove-cell"


def hide_injected_cells(notebook_json: str) -> str:
    """The notebook text with ``remove-cell`` added to every cell tagged ``injected-parameters``."""
    notebook = json.loads(notebook_json)
    changed = False
    for cell in notebook.get("cells", []):
        tags = cell.setdefault("metadata", {}).setdefault("tags", [])
        if INJECTED_TAG in tags and REMOVE_TAG not in tags:
            tags.append(REMOVE_TAG)
            changed = True
    return json.dumps(notebook) if changed else notebook_json


def on_source_read(app, docname, source):
    if str(app.env.doc2path(docname)).endswith(".ipynb"):
        source[0] = hide_injected_cells(source[0])


def setup(app):
    app.connect("source-read", on_source_read)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
