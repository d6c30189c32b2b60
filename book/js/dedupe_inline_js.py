"""Sphinx extension: write each inline ``<script>`` once (a Sphinx 7.4 bug writes some of them twice).

Sphinx 7.4 registers scripts added with ``app.add_js_file(None, body=...)`` a second time with the filename
``''`` instead of ``None`` (sphinx-doc/sphinx#13402, fixed in Sphinx 8.2; Jupyter Book 1 needs Sphinx 7).
sphinx-thebe adds ``const THEBE_JS_URL = ...`` that way, so every page declares the constant twice and the
browser reports "Identifier 'THEBE_JS_URL' has already been declared" — a JavaScript error that the
browser check (tests/check_browser.py) rightly fails on. This handler drops the duplicates page by page.
Enabled in _config.yml: ``sphinx: local_extensions: {dedupe_inline_js: book/js}``.
"""

from __future__ import annotations


def script_key(script) -> tuple:
    """Identity of a script entry: ``None`` and ``''`` filenames (inline scripts) count as the same."""
    filename = getattr(script, "filename", script) or ""
    attributes = getattr(script, "attributes", {})
    return (str(filename), getattr(script, "priority", 500), tuple(sorted(attributes.items())))


def drop_duplicate_scripts(app, pagename, templatename, context, doctree) -> None:
    scripts = context.get("script_files")
    if not scripts:
        return
    seen, unique = set(), []
    for script in scripts:
        key = script_key(script)
        if key not in seen:
            seen.add(key)
            unique.append(script)
    scripts[:] = unique  # in place: Sphinx restores its own list after each page


def setup(app):
    # after myst-nb (priority 500) has added the page's widget scripts
    app.connect("html-page-context", drop_duplicate_scripts, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
