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
from test_book_style import REWRITTEN_CHAPTERS

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


# A page laid out like the book's: a 420 px article column with code, figures and tables that fit, and one
# of each that does not (a long code line, a long grader message, a 1000 px figure scaled to the column, a
# cell pandas cut short, a cell CSS clips, a table wider than the column); the misfits sit in a folded
# <details>, a hidden frame is not measured.
WIDE_LINE = "loss = " + " + ".join(f"term_{index}" for index in range(40))


def png(width: int, height: int = 10) -> str:
    """A data URL of a blank ``width`` × ``height`` PNG (made with matplotlib's writer, no file)."""
    import base64
    import io

    import numpy as np
    from matplotlib.image import imsave

    buffer = io.BytesIO()
    imsave(buffer, np.ones((height, width, 3)), format="png")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def layout_page() -> str:
    return f"""<!doctype html><html><head><meta charset="utf-8"><title>layout</title><style>
article {{ width: 420px; padding: 0 20px; }} pre {{ overflow-x: auto; }} img {{ max-width: 100%; }}
td.clip {{ max-width: 60px; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }}
.frame-hidden {{ display: none; }}</style></head><body><article>
<div class="cell_input"><div class="highlight"><pre>x = 1
y = 2</pre></div></div>
<div class="cell_output"><img alt="fits" src="{png(300)}"><img alt="a bit wide" src="{png(500)}"></div>
<table><tr><th>loss</th><th>R@1</th></tr><tr><td>Triplet</td><td>0.734</td></tr></table>
<details><summary>folded</summary>
<div class="cell_input"><div class="highlight"><pre>{WIDE_LINE}</pre></div></div>
<div class="cell_output"><pre>❌ Not quite: {WIDE_LINE}</pre>
<img alt="scaled down" src="{png(1000)}"><div class="frame-hidden"><img alt="hidden" src="{png(2000)}"></div></div>
<table><tr><td>a sentence pandas cut...</td><td class="clip">a long cell that CSS clips</td></tr></table>
<table><tr>{"".join(f"<td>column_{index:02d}</td>" for index in range(40))}</tr></table>
</details></article></body></html>"""


def test_checker_measures_code_figures_and_tables_as_shown(browser, tmp_path):
    (tmp_path / "layout.html").write_text(layout_page(), encoding="utf-8")
    with check_browser.serve(tmp_path) as base_url:
        report = check_browser.check_page(browser, base_url, "layout.html", timeout=5, interact=False)
        strict = check_browser.check_page(browser, base_url, "layout.html", timeout=5, interact=False, strict=True)
    layout = report.layout
    assert layout["code"] == 3 and layout["figures"] == 3, layout
    assert [block["line"][:10] for block in layout["code_too_wide"]] == ["loss = ter", "❌ Not quit"]
    assert [block["output"] for block in layout["code_too_wide"]] == [False, True]
    # 300 and 500 px images fit the 420 px column at 100 % and 84 %; the 1000 px one is shown at 42 %
    assert [image["natural"] for image in layout["figures_small"]] == [1000]
    assert layout["figures_small"][0]["scale"] == pytest.approx(0.42, abs=0.01)
    assert [(cell["text"][-8:], cell["clips"]) for cell in layout["cells_truncated"]] == [
        ("s cut...", False),
        ("SS clips", True),
    ]
    assert len(layout["tables_too_wide"]) == 1 and layout["tables_too_wide"][0]["first"].startswith("column_00")
    messages = report.layout_problems()
    assert len(messages) == 6 and "code block too wide on layout.html" in messages[0]
    assert "loss = term_0 + term_1" in messages[0] and "output block too wide" in messages[1]
    assert "figure shown at 42% of its width" in messages[2]
    assert report.problems() == []  # not strict: reported, not failed
    assert strict.problems() == strict.layout_problems() == messages
    assert "code blocks too wide 2/3, figures under 80% 1/3, table cells cut 2/" in report.summary()


def test_strict_pages_are_named_by_their_file_name():
    assert check_browser.is_strict("notebooks/variance.html", {"variance"})
    assert not check_browser.is_strict("notebooks/variance.html", {"triplet"})
    assert check_browser.is_strict("book/intro.html", True)


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
    """Every page renders; a page of REWRITTEN_CHAPTERS (tests/test_book_style.py) also has its code, figures
    and tables fit (issue 21); other pages print their layout problems without failing."""
    strict = check_browser.is_strict(page, REWRITTEN_CHAPTERS)
    report = check_browser.check_page(browser, book_url, page, strict=strict)
    print(report.summary())
    if not strict:
        print("\n".join(f"  layout (not rewritten yet): {problem}" for problem in report.layout_problems()))
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


def test_screenshot_script_saves_every_page_whole_in_parts(browser, tmp_path):
    """scripts/screenshot_book.py: one PNG per page, a tall page in parts of the asked height, 1280 px wide."""
    import importlib.util
    import struct

    spec = importlib.util.spec_from_file_location("screenshot_book", REPO / "scripts" / "screenshot_book.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    book = tmp_path / "html"
    (book / "notebooks").mkdir(parents=True)
    (book / "index.html").write_text(CLEAN_PAGE, encoding="utf-8")
    tall = "<!doctype html><html><body style='margin:0'><div style='height:4500px;background:#ace'></div></body></html>"
    (book / "notebooks" / "tall.html").write_text(tall, encoding="utf-8")
    saved = module.screenshot_book(book, tmp_path / "pages", part_height=2000, timeout=5)
    names = sorted(path.name for path in saved)
    assert names == ["index.png", "notebooks-tall-1.png", "notebooks-tall-2.png", "notebooks-tall-3.png"]
    sizes = {path.name: struct.unpack(">II", path.read_bytes()[16:24]) for path in saved}  # PNG IHDR: width, height
    assert sizes["notebooks-tall-1.png"] == (1280, 2000) and sizes["notebooks-tall-3.png"] == (1280, 500)
