"""The real-browser check (tests/check_browser.py) in headless Chromium.

Three layers, each skipped cleanly when what it needs is absent:
- the checker itself, on small hand-made pages (needs chromium + chromedriver + selenium);
- a vgteach widget embedded in a static page with the vendored widget JavaScript (also needs
  ``bash book/js/fetch.sh``): it must render and switch frames without a kernel;
- every page of the built book (also needs ``jupyter-book build .``; ``$VGTEACH_BOOK_HTML`` overrides
  ``_build/html``), plus a screenshot of one chapter in ``ci-artifacts/`` (``$VGTEACH_ARTIFACTS``).

With ``VGTEACH_REQUIRE_BROWSER=1`` (set by ``.ci/run``) a missing prerequisite is a failure, not a skip:
CI cannot go green without the browser check.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
from pathlib import Path

import check_browser  # tests/check_browser.py, importable through conftest.py's sys.path entry
import pytest

REPO = Path(__file__).resolve().parents[1]
HTML_DIR = Path(os.environ.get("VGTEACH_BOOK_HTML", REPO / "_build" / "html"))
ARTIFACTS = Path(os.environ.get("VGTEACH_ARTIFACTS", REPO / "ci-artifacts"))
WIDGET_JS = REPO / "book" / "js" / "extra" / "widget-js"
MATHJAX = REPO / "book" / "js" / "extra" / "mathjax"


BROWSER = check_browser.find_chromium()
BOOK_BUILT = (HTML_DIR / "index.html").is_file()
#: CI sets this: a missing browser, driver, widget JavaScript or built book fails the run instead of skipping.
REQUIRED = os.environ.get("VGTEACH_REQUIRE_BROWSER", "").strip().lower() not in ("", "0", "false", "no")


def unavailable(reason: str) -> None:
    """Skip (a dev machine without the browser setup), or fail under ``VGTEACH_REQUIRE_BROWSER=1``."""
    if REQUIRED:
        pytest.fail(f"{reason} [VGTEACH_REQUIRE_BROWSER is set: the browser check must run]", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="module")
def browser():
    if importlib.util.find_spec("selenium") is None:
        unavailable("selenium is not installed (pip install -r requirements.txt)")
    if BROWSER is None:
        unavailable("chromium/chromedriver not found (apt-get install chromium chromium-driver)")
    with check_browser.chromium(*BROWSER) as session:
        yield session


# ------------------------------------------------------------------------------------- the checker itself
BROKEN_PAGE = """<!doctype html><html><head><title>broken</title></head><body>
<p>text</p>
<img src="missing.png" alt="a figure that does not exist">
<pre>&lt;Figure size 840x310 with 2 Axes&gt;</pre>
<script type="application/vnd.jupyter.widget-view+json">{"version_major": 2, "version_minor": 0,
 "model_id": "0123456789abcdef"}</script>
<script>throw new Error("boom from the test page");</script>
</body></html>"""

ONE_PIXEL_PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
CLEAN_PAGE = f"""<!doctype html><html><head><title>clean</title></head><body>
<p>Just text and a picture.</p>
<img src="data:image/png;base64,{ONE_PIXEL_PNG}" alt="one pixel">
</body></html>"""


def test_checker_reports_js_errors_broken_images_and_unrendered_widgets(browser, tmp_path):
    (tmp_path / "broken.html").write_text(BROKEN_PAGE, encoding="utf-8")
    (tmp_path / "clean.html").write_text(CLEAN_PAGE, encoding="utf-8")
    with check_browser.serve(tmp_path) as base_url:
        broken = check_browser.check_page(browser, base_url, "broken.html", timeout=3)
        clean = check_browser.check_page(browser, base_url, "clean.html", timeout=3)
    problems = "\n".join(broken.problems())
    assert "boom from the test page" in problems
    assert "missing.png" in problems  # the 404 and the unloaded image
    assert "1 of 1 widget views not rendered" in problems
    assert "1 matplotlib figures shown as text" in problems
    assert clean.problems() == [] and clean.probe["images"] == 1


# A page laid out like the book's (an article column, MathJax 3 CHTML from the vendored copy): one display
# equation that fits, one far too long for the 420 px column, and one long one inside a folded <details>.
MATH_PAGE = r"""<!doctype html><html><head><title>math</title>
<style>article { width: 420px; padding: 0 20px; } mjx-container[display="true"] { overflow-x: auto; }</style>
<script>window.MathJax = {tex: {inlineMath: [["\\(", "\\)"]], displayMath: [["\\[", "\\]"]]}};</script>
<script defer src="mathjax/tex-mml-chtml.js"></script></head><body><article>
<div class="math notranslate nohighlight">\[ z = e / \lVert e \rVert \]</div>
<div class="math notranslate nohighlight">\[ L_{\text{much too long}} = a_1 + a_2 + a_3 + a_4 + a_5 + a_6 + a_7 + a_8 + a_9
 + a_{10} + a_{11} + a_{12} + a_{13} + a_{14} + a_{15} + a_{16} + a_{17} + a_{18} + a_{19} + a_{20} \]</div>
<details><summary>folded</summary><div class="math notranslate nohighlight">\[ M_{\text{folded}} = b_1 + b_2 + b_3
 + b_4 + b_5 + b_6 + b_7 + b_8 + b_9 + b_{10} + b_{11} + b_{12} + b_{13} + b_{14} + b_{15} + b_{16} + b_{17} \]</div>
</details></article></body></html>"""


def test_checker_names_display_math_wider_than_its_column(browser, tmp_path):
    if not (MATHJAX / "tex-mml-chtml.js").is_file():
        unavailable("MathJax not fetched (bash book/js/fetch.sh)")
    (tmp_path / "mathjax").symlink_to(MATHJAX, target_is_directory=True)
    (tmp_path / "math.html").write_text(MATH_PAGE, encoding="utf-8")
    with check_browser.serve(tmp_path) as base_url:
        report = check_browser.check_page(browser, base_url, "math.html", timeout=10, interact=False)
    assert report.math_fit["measured"] == 3, report.math_fit
    wide = [problem for problem in report.problems() if problem.startswith("display math too wide")]
    assert len(wide) == 2, report.problems()
    assert "on math.html" in wide[0] and "L_{\\text{much too long}} = a_1 + a_2" in wide[0]
    assert "clipped/scrolled by mjx-container" in wide[0]  # the overflow-x: auto of the style above
    assert "M_{\\text{folded}}" in wide[1]  # measured with its <details> opened
    assert not any("z = e" in problem for problem in report.problems())
    assert "display math fitting 1/3" in report.summary()


def test_tex_start_drops_the_split_wrapper_and_shortens():
    assert (
        check_browser.tex_start("\\begin{split}\n  a &= b \\\\\n c &= d\\end{split}")
        == "a &= b \\\\ c &= d\\end{split}"
    )
    assert check_browser.tex_start("x" * 100, length=10) == "x" * 9 + "…"


# ------------------------------------------------------------------------ a widget in a static page
def test_embedded_widgets_render_and_switch_without_kernel(browser, tmp_path):
    if not (WIDGET_JS / "embed.js").is_file():
        unavailable("widget JavaScript not fetched (bash book/js/fetch.sh)")
    pytest.importorskip("ipywidgets")
    import pandas as pd
    from ipywidgets.embed import embed_minimal_html

    from vgteach.widgets import greediness_dashboard, loss_landscape

    history = pd.DataFrame(
        {
            "epoch": [1, 2],
            "active_ratio": [1.0, 0.5],
            "grad_norm_mean": [0.2, 0.1],
            "grad_gini": [0.3, 0.4],
            "recall@1": [0.5, 0.7],
        }
    )
    views = [
        loss_landscape(("triplet",), negative_degrees=(30, 150)),
        greediness_dashboard({"triplet": history, "supcon": history * 0.9}),
    ]
    shutil.copytree(WIDGET_JS, tmp_path / "widget-js")
    embed_minimal_html(
        str(tmp_path / "widgets.html"),
        views=views,
        title="vgteach widgets",
        requirejs=False,
        embed_url="widget-js/embed.js",
    )
    with check_browser.serve(tmp_path) as base_url:
        report = check_browser.check_page(browser, base_url, "widgets.html")
    assert report.problems() == []
    assert report.probe["widget_rendered"] == 2
    assert report.switched == [0, 1]  # play moved n₁; the toggle highlighted a loss


# ------------------------------------------------------------------------------------- the built book
BOOK_PAGES = check_browser.list_pages(HTML_DIR) if BOOK_BUILT else []


@pytest.fixture(scope="module")
def book_url(browser):
    if not BOOK_BUILT:
        unavailable(f"no built book at {HTML_DIR} (jupyter-book build . -W --keep-going)")
    with check_browser.serve(HTML_DIR) as base_url:
        yield base_url


@pytest.mark.parametrize("page", BOOK_PAGES or ["(none)"])
def test_book_page_renders_cleanly(browser, book_url, page):
    report = check_browser.check_page(browser, book_url, page)
    print(report.summary())
    assert report.problems() == [], f"{page}:\n  " + "\n  ".join(report.problems())


def notebook_draws_figures(page: str) -> bool:
    """Whether the chapter behind ``page`` (``notebooks/<name>.html``) draws matplotlib figures."""
    import json

    path = REPO / Path(page).with_suffix(".ipynb")
    if not path.is_file():
        return False
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    return any("plt." in "".join(cell["source"]) for cell in cells if cell["cell_type"] == "code")


def test_book_has_widgets_math_figures_and_a_chapter_screenshot(browser, book_url):
    texts = {page: (HTML_DIR / page).read_text(encoding="utf-8") for page in BOOK_PAGES}
    with_widgets = [page for page, text in texts.items() if "application/vnd.jupyter.widget-view+json" in text]
    assert with_widgets, "no page of the book embeds a widget view: were the notebooks executed?"
    assert any('class="math' in text for text in texts.values()), "no page of the book has math"
    # the inline backend writes each figure to _images/; MPLBACKEND=Agg in the build's environment, or a
    # matplotlib.use("Agg") run inside the kernel, silently drops the figures that follow
    without_figures = [
        page for page, text in texts.items() if notebook_draws_figures(page) and 'src="../_images/' not in text
    ]
    assert not without_figures, f"chapters that draw figures show none: {without_figures}"
    path = check_browser.screenshot(browser, book_url, with_widgets[0], ARTIFACTS / "chapter.png")
    assert path.stat().st_size > 10_000
