"""Open the built book in headless Chromium and check what a reader sees.

For every page of ``_build/html`` (served on localhost) the check waits for MathJax and for the widget
manager, then asserts:

- no JavaScript errors: nothing at level SEVERE in the browser log (uncaught exceptions, unhandled promise
  rejections, ``console.error``, failed resource loads);
- rendered math: a page whose HTML holds math has MathJax output (``mjx-container``) and no TeX errors;
- visible widgets: every stored widget view was replaced by a rendered view of non-zero size, and no
  "Loading widget" placeholder is left;
- figures: every ``<img>`` has loaded (``naturalWidth > 0``), and no figure is shown as its text repr
  (``<Figure size 640x480 with 1 Axes>``: a pyplot-free figure displayed in a kernel whose inline backend
  was never activated);
- display math that fits: every rendered display equation (MathJax ``mjx-container[display="true"]``,
  folded ``<details>`` opened first) is no wider than its content column, stays inside it and is not
  clipped or scrolled by its own box or any box up to the article; a failure names the page and the start
  of the equation's TeX.

What a reader sees (issue 21; measured on every page, reported, and failing only for the pages in
``REWRITTEN_CHAPTERS`` of tests/test_book_style.py, or for every page with ``--strict``):

- code that fits: no code block (``pre``, ``div.highlight``: cell inputs and outputs, the labs' grader
  messages included) scrolls sideways (``scrollWidth > clientWidth``) or runs past the article's column;
  a failure names the page and the block's first line;
- figures shown at their size: every image of a cell output (widget frames included) is shown at 80 % or
  more of its natural width (``clientWidth / naturalWidth``): an image narrower than the column is shown
  whole, a wider one is scaled down, so a figure more than 1.25 × the column wide fails. With the figure
  rule of ``vgteach/figures/style.py`` (fonts ≥ 9 pt at the book's column width) this keeps text in
  figures ≥ 9 pt as displayed: the browser cannot read font sizes inside a PNG;
- tables whole: no table cell cut short — its text ends in ``...``/``…`` or is only that (pandas'
  ``max_colwidth`` and its elided rows and columns; a table cannot show a literal trailing ellipsis), or
  the cell clips its content (``overflow``/``text-overflow`` with ``scrollWidth > clientWidth``) — and no
  table wider than its column (it would scroll, hiding columns).

It saves a screenshot of one chapter (by default the first page with widgets) for the CI artifacts;
``scripts/screenshot_book.py`` saves one of every page.

**One page, cheaply** (a writer checking a rewritten chapter; the build executes it in the ``book`` profile,
about a minute)::

    bash book/js/fetch.sh                          # once: the widget JavaScript and MathJax (needs npm)
    jupyter-book build notebooks/variance.ipynb --config _config.yml
    cp -r book/js/extra/* _build/_page/notebooks-variance/html/
    python tests/check_browser.py _build/_page/notebooks-variance/html --page variance.html --strict
    python scripts/screenshot_book.py _build/_page/notebooks-variance/html --page variance.html --out /tmp/pages

Run from the repository root, the single-page build writes ``_build/_page/notebooks-<name>/html/<name>.html``
with the book's configuration; it resolves the configuration's relative paths from the page's folder, so the
widget JavaScript and MathJax (``html_extra_path``) are copied beside the page by hand (without them math and
widgets do not render and the check says so; the layout checks still measure), and citations and ``{doc}``
links to other chapters stay unresolved (warnings only). ``--strict`` fails on the layout problems whatever
the switch says.

Needs the Debian packages ``chromium`` and ``chromium-driver`` (``/usr/bin/chromium``,
``/usr/bin/chromedriver``; override with ``$CHROMIUM``/``$CHROMEDRIVER``) and ``pip install selenium``;
the driver is given explicitly, so Selenium Manager never downloads anything.

Usage::

    jupyter-book build . -W --keep-going
    python tests/check_browser.py _build/html --screenshot ci-artifacts/chapter.png
    python tests/check_browser.py _build/html --page notebooks/arcface.html     # one page
    python tests/check_browser.py _build/html --strict       # the layout checks fail on every page
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import http.server
import os
import shutil
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator, Optional, Sequence

CHROMIUM_CANDIDATES = ("chromium", "chromium-browser", "google-chrome")
DRIVER_CANDIDATES = ("chromedriver",)
#: Chromium flags for a quiet, reproducible, offline headless run.
CHROMIUM_FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-quic",
    "--no-first-run",
    "--disable-sync",
    "--disable-extensions",
    "--hide-scrollbars",
    "--window-size=1280,1600",
)
#: Output folders of the build that are not pages.
SKIP_DIRS = {"_static", "_sources", "_images", "widget-js", "mathjax", ".doctrees", "_downloads"}
SKIP_PAGES = {"genindex.html", "search.html", "py-modindex.html"}
WIDGET_VIEW = 'script[type="application/vnd.jupyter.widget-view+json"]'
WIDGET_STATE = 'script[type="application/vnd.jupyter.widget-state+json"]'

# What the page looks like once settled, measured in the browser.
PAGE_PROBE = """
const views = Array.from(document.querySelectorAll('%(view)s'));
const rendered = views.filter(v => {
    const area = v.previousElementSibling;
    if (!area || !area.classList.contains('widget-subarea') || !area.firstElementChild) return false;
    const box = area.firstElementChild.getBoundingClientRect();
    return box.width > 0 && box.height > 0;
});
const images = Array.from(document.images);
const text = document.body ? document.body.innerText : '';
return {
    title: document.title,
    ready: document.readyState,
    math_sources: document.querySelectorAll('.math, span.math, div.math').length,
    math_rendered: document.querySelectorAll('mjx-container').length,
    math_errors: document.querySelectorAll('mjx-merror').length,
    mathjax_loaded: !!(window.MathJax && window.MathJax.version),
    widget_states: document.querySelectorAll('%(state)s').length,
    widget_views: views.length,
    widget_rendered: rendered.length,
    widget_elements: document.querySelectorAll('.jupyter-widgets, .widget-subarea').length,
    loading_leftovers: (text.match(/Loading widget/g) || []).length,
    figures_as_text: (text.match(/<Figure size \\d+(\\.\\d+)?x\\d+(\\.\\d+)? with \\d+ Axes>/g) || []).length,
    images: images.length,
    images_pending: images.filter(i => !i.complete).length,
    images_broken: images.filter(i => i.complete && i.naturalWidth === 0).map(i => i.src.slice(0, 120)),
};
""" % {"view": WIDGET_VIEW, "state": WIDGET_STATE}

# The frame each rendered widget shows now (vgteach widgets: precomputed frames in a Stack).
VISIBLE_FRAMES = """
return Array.from(document.querySelectorAll('.widget-subarea')).map(area =>
    Array.from(area.querySelectorAll('.vgteach-frame img')).filter(img => img.offsetParent !== null)
        .map(img => img.src.length + ':' + img.src.slice(-64)).join('|'));
"""

# Every display equation MathJax typeset, measured against the column it sits in (async: waits for MathJax's
# first typeset). The column is the box the block-level mjx-container fills, cut to the article's content
# box; "clipped" means the container or a box between it and the article scrolls or hides part of it.
MATH_FIT = """
const done = arguments[arguments.length - 1];
const measure = () => {
    document.querySelectorAll('details:not([open])').forEach(d => { d.open = true; });
    const doc = window.MathJax && MathJax.startup && MathJax.startup.document;
    const items = doc && doc.math ? Array.from(doc.math).filter(item => item.display && item.typesetRoot) : [];
    const boxes = items.length ? [] : Array.from(document.querySelectorAll('mjx-container[display="true"]'));
    const found = items.map(item => [item.typesetRoot, item.math]).concat(boxes.map(box => [box, '']));
    const result = {measured: 0, hidden: 0, too_wide: []};
    for (const [box, tex] of found) {
        if (!box.isConnected || box.offsetParent === null) { result.hidden++; continue; }
        const math = box.querySelector('mjx-math') || box;
        const article = box.closest('article, .bd-article, main, [role="main"]') || document.body;
        const style = getComputedStyle(article), outer = article.getBoundingClientRect(), own = box.getBoundingClientRect();
        const left = Math.max(own.left, outer.left + parseFloat(style.paddingLeft) + parseFloat(style.borderLeftWidth));
        const right = Math.min(own.right, outer.right - parseFloat(style.paddingRight) - parseFloat(style.borderRightWidth));
        const drawn = math.getBoundingClientRect();
        const clipped = [];
        for (let node = box; node && node !== article.parentElement; node = node.parentElement) {
            const overflow = getComputedStyle(node).overflowX;
            if (node.scrollWidth > node.clientWidth + 1 && overflow !== 'visible') {
                const first = typeof node.className === 'string' ? node.className.trim().split(/\\s+/)[0] : '';
                clipped.push(node.tagName.toLowerCase() + (first ? '.' + first : '') + ' (overflow-x: ' + overflow + ')');
            }
        }
        result.measured++;
        const width = Math.max(drawn.width, box.scrollWidth);
        if (width > right - left + 1 || drawn.left < left - 1 || drawn.right > right + 1 || clipped.length) {
            result.too_wide.push({tex: tex || box.textContent, width: width, column: right - left,
                                  outside: Math.max(left - drawn.left, drawn.right - right, 0), clipped: clipped});
        }
    }
    done(result);
};
if (window.MathJax && MathJax.startup && MathJax.startup.promise) {
    MathJax.startup.promise.then(measure, measure);
} else {
    measure();
}
"""


#: a figure shown at less than this share of its natural width fails (issue 21)
MIN_FIGURE_SCALE = 0.8
# What a reader sees of code, figures and tables (issue 21), measured on the settled page with every folded
# <details> opened. The column is the article's content box; hidden elements (a widget's other frames, a
# closed toggle) are not measured.
LAYOUT = """
document.querySelectorAll('details:not([open])').forEach(d => { d.open = true; });
const article = ['article.bd-article', 'article', '.bd-article', 'main', '[role="main"]']
    .map(selector => document.querySelector(selector)).find(Boolean) || document.body;
const style = getComputedStyle(article), outer = article.getBoundingClientRect();
const left = outer.left + parseFloat(style.paddingLeft) + parseFloat(style.borderLeftWidth);
const right = outer.right - parseFloat(style.paddingRight) - parseFloat(style.borderRightWidth);
const shown = el => el.offsetParent !== null && el.getBoundingClientRect().width > 0;
const firstLine = el => (el.innerText || el.textContent || '').split('\\n').find(l => l.trim()) || '';
const result = {column: right - left, code: 0, code_too_wide: [], figures: 0, figures_small: [],
                cells: 0, cells_truncated: [], tables_too_wide: []};
// code blocks: a div.highlight holds a pre; measure the pre, or a pre/highlight on its own
const blocks = Array.from(document.querySelectorAll('pre, div.highlight')).filter(el =>
    shown(el) && !(el.matches('div.highlight') && el.querySelector('pre')));
for (const el of blocks) {
    result.code++;
    const box = el.getBoundingClientRect();
    const scrolls = el.scrollWidth > el.clientWidth + 1;
    const outside = Math.max(left - box.left, box.right - right, 0);
    if (scrolls || outside > 1) {
        result.code_too_wide.push({line: firstLine(el).slice(0, 100), width: el.scrollWidth,
                                   shown: el.clientWidth, outside: outside,
                                   output: !!el.closest('.cell_output, .output')});
    }
}
// figures: the images of cell outputs (matplotlib PNGs, widget frames, glued figures)
const images = Array.from(document.querySelectorAll('.cell_output img, .output img, figure img'));
for (const img of new Set(images)) {
    if (!shown(img) || !img.naturalWidth) continue;
    result.figures++;
    const scale = img.getBoundingClientRect().width / img.naturalWidth;
    if (scale < %(min_scale)s) {
        result.figures_small.push({src: img.src.startsWith('data:') ? 'data:… (' + img.alt + ')' : img.src.split('/').pop(),
                                   natural: img.naturalWidth, shown: img.getBoundingClientRect().width,
                                   scale: scale});
    }
}
// tables: cells cut short, tables wider than the column
for (const table of Array.from(document.querySelectorAll('table')).filter(shown)) {
    const box = table.getBoundingClientRect(), width = Math.max(box.width, table.scrollWidth);
    if (width > right - left + 1 || box.left < left - 1) {  // wider than the column: it scrolls or spills
        result.tables_too_wide.push({first: firstLine(table).slice(0, 80), width: width, column: right - left});
    }
    for (const cell of table.querySelectorAll('td, th')) {
        result.cells++;
        const text = (cell.innerText || '').trim();
        const css = getComputedStyle(cell);
        const clips = cell.scrollWidth > cell.clientWidth + 1 &&
            (css.textOverflow === 'ellipsis' || ['hidden', 'clip'].includes(css.overflowX));
        if (/(\\.\\.\\.|…)$/.test(text) || clips) {
            result.cells_truncated.push({text: text.slice(-60), clips: clips});
        }
    }
}
return result;
""" % {"min_scale": MIN_FIGURE_SCALE}


def tex_start(tex: str, length: int = 60) -> str:
    """The first ``length`` characters of an equation's TeX, on one line, without the ``split``/``aligned``
    wrapper Sphinx puts around multi-line math."""
    text = " ".join(tex.split())
    for wrapper in ("\\begin{split}", "\\begin{aligned}", "\\begin{align}", "\\begin{equation}"):
        if text.startswith(wrapper):
            text = text[len(wrapper) :].lstrip()
    return text if len(text) <= length else text[: length - 1] + "…"


def math_fit(session, timeout: float = 10.0) -> dict:
    """Measure the display equations of the loaded page (:data:`MATH_FIT`): ``{measured, hidden, too_wide}``."""
    session.set_script_timeout(timeout)
    return session.execute_async_script(MATH_FIT)


@dataclass
class PageReport:
    """What the browser saw on one page."""

    page: str
    probe: dict
    js_errors: list = field(default_factory=list)
    switched: list = field(default_factory=list)  # indices of frame widgets that switched frames
    stuck_widgets: list = field(default_factory=list)  # ... and of those that did not
    math_fit: dict = field(default_factory=dict)  # display equations measured, hidden, and those too wide
    layout: dict = field(default_factory=dict)  # code blocks, figures and tables as shown (LAYOUT)
    strict: bool = False  # the layout problems count as problems (a rewritten page, or --strict)

    def layout_problems(self) -> list:
        """Code too wide, figures shown small, table cells cut short, tables too wide (issue 21)."""
        layout, found = self.layout, []
        for block in layout.get("code_too_wide", []):
            where = "output" if block["output"] else "code"
            how = f"{block['width']:.0f} px in {block['shown']:.0f} px"
            if block["outside"] > 1:
                how += f", {block['outside']:.0f} px outside the column"
            found.append(f"{where} block too wide on {self.page} ({how}): {block['line'].strip()[:80]}")
        for image in layout.get("figures_small", []):
            found.append(
                f"figure shown at {image['scale']:.0%} of its width on {self.page} ({image['shown']:.0f} of "
                f"{image['natural']} px; at least {MIN_FIGURE_SCALE:.0%}): {image['src']}"
            )
        for cell in layout.get("cells_truncated", []):
            how = "clipped by CSS" if cell["clips"] else "ends in an ellipsis"
            found.append(f"table cell cut short on {self.page} ({how}): …{cell['text']}")
        for table in layout.get("tables_too_wide", []):
            found.append(
                f"table wider than its column on {self.page} ({table['width']:.0f} px in {table['column']:.0f} px): "
                f"{table['first'].strip()[:60]}"
            )
        return found

    def problems(self) -> list:
        probe, found = self.probe, []
        if self.strict:
            found += self.layout_problems()
        found += [f"JavaScript error: {message}" for message in self.js_errors]
        if probe["math_sources"] and not probe["math_rendered"]:
            found.append(
                f"{probe['math_sources']} math elements but no MathJax output "
                f"(MathJax loaded: {probe['mathjax_loaded']})"
            )
        if probe["math_errors"]:
            found.append(f"{probe['math_errors']} TeX errors rendered by MathJax")
        if probe["widget_rendered"] < probe["widget_views"]:
            found.append(
                f"{probe['widget_views'] - probe['widget_rendered']} of {probe['widget_views']} widget "
                "views not rendered (or of zero size)"
            )
        if probe["loading_leftovers"]:
            found.append(f"{probe['loading_leftovers']} 'Loading widget' placeholders left")
        if probe.get("figures_as_text"):
            found.append(
                f"{probe['figures_as_text']} matplotlib figures shown as text ('<Figure size … with … Axes>'): "
                "the kernel never activated the inline backend (no pyplot import; add %matplotlib inline)"
            )
        if probe["images_pending"]:
            found.append(f"{probe['images_pending']} images still loading")
        found += [f"image not loaded: {src}" for src in probe["images_broken"]]
        found += [
            f"widget {index}: its frames do not switch without a kernel (jslink broken?)"
            for index in self.stuck_widgets
        ]
        for equation in self.math_fit.get("too_wide", []):
            how = f"{equation['width']:.0f} px in a {equation['column']:.0f} px column"
            if equation["outside"] > 1:
                how += f", {equation['outside']:.0f} px outside it"
            if equation["clipped"]:
                how += f", clipped/scrolled by {', '.join(equation['clipped'])}"
            found.append(f"display math too wide on {self.page} ({how}): {tex_start(equation['tex'])}")
        return found

    def summary(self) -> str:
        probe, layout = self.probe, self.layout
        return (
            f"{self.page}: math {probe['math_rendered']}/{probe['math_sources']}, widget views "
            f"{probe['widget_rendered']}/{probe['widget_views']}, images "
            f"{probe['images'] - len(probe['images_broken']) - probe['images_pending']}/{probe['images']}, "
            f"JS errors {len(self.js_errors)}, frame widgets switched "
            f"{len(self.switched)}/{len(self.switched) + len(self.stuck_widgets)}, display math fitting "
            f"{self.math_fit.get('measured', 0) - len(self.math_fit.get('too_wide', []))}/"
            f"{self.math_fit.get('measured', 0)}; code blocks too wide "
            f"{len(layout.get('code_too_wide', []))}/{layout.get('code', 0)}, figures under "
            f"{MIN_FIGURE_SCALE:.0%} {len(layout.get('figures_small', []))}/{layout.get('figures', 0)}, table cells "
            f"cut {len(layout.get('cells_truncated', []))}/{layout.get('cells', 0)}, tables too wide "
            f"{len(layout.get('tables_too_wide', []))}"
        )


def find_chromium() -> Optional[tuple]:
    """``(chromium, chromedriver)`` paths, or ``None`` when either is missing."""
    browser_names = [os.environ["CHROMIUM"]] if os.environ.get("CHROMIUM") else CHROMIUM_CANDIDATES
    driver_names = [os.environ["CHROMEDRIVER"]] if os.environ.get("CHROMEDRIVER") else DRIVER_CANDIDATES
    browser = next(filter(None, map(shutil.which, browser_names)), None)
    driver = next(filter(None, map(shutil.which, driver_names)), None)
    return (browser, driver) if browser and driver else None


def list_pages(html_dir: Path) -> list:
    """Every page of the built book, as paths relative to ``html_dir`` (posix)."""
    pages = []
    for path in sorted(html_dir.rglob("*.html")):
        relative = path.relative_to(html_dir)
        if SKIP_DIRS.intersection(relative.parts[:-1]) or relative.name in SKIP_PAGES:
            continue
        pages.append(relative.as_posix())
    return pages


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:  # keep the test output readable
        pass


@contextlib.contextmanager
def serve(directory: Path) -> Iterator[str]:
    """Serve ``directory`` on an ephemeral localhost port in a thread; yields the base URL."""
    handler = functools.partial(QuietHandler, directory=str(directory))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


@contextlib.contextmanager
def chromium(browser: str, driver: str) -> Iterator[object]:
    """A headless Chromium driven by Selenium, with a fresh profile and the browser log enabled."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    with tempfile.TemporaryDirectory(prefix="vgteach-chromium-") as profile:
        options = webdriver.ChromeOptions()
        options.binary_location = browser
        for flag in (*CHROMIUM_FLAGS, f"--user-data-dir={profile}"):
            options.add_argument(flag)
        options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        session = webdriver.Chrome(options=options, service=Service(executable_path=driver))
        try:
            yield session
        finally:
            session.quit()


def js_errors(session) -> list:
    """SEVERE entries of the browser log since the last call (the log is drained on read)."""
    errors = []
    for entry in session.get_log("browser"):
        if entry.get("level") == "SEVERE" and "favicon.ico" not in entry.get("message", ""):
            errors.append(entry["message"])
    return errors


def settled(probe: dict) -> bool:
    return (
        probe["ready"] == "complete"
        and not probe["images_pending"]
        and probe["widget_rendered"] >= probe["widget_views"]
        and (not probe["math_sources"] or probe["math_rendered"] > 0)
    )


def load_page(session, base_url: str, page: str, timeout: float = 30.0) -> dict:
    """Open ``page`` and wait until math, widgets and images are done (or ``timeout``); returns the probe."""
    session.get(base_url + page)
    deadline = time.monotonic() + timeout
    probe = session.execute_script(PAGE_PROBE)
    while not settled(probe) and time.monotonic() < deadline:
        time.sleep(0.25)
        probe = session.execute_script(PAGE_PROBE)
    return probe


def check_page(
    session, base_url: str, page: str, timeout: float = 30.0, interact: bool = True, strict: bool = False
) -> PageReport:
    """Load ``page``, wait until math, widgets and images are done (or ``timeout``), measure its layout, then
    (``interact``) operate the frame widgets, and report; ``strict``: the layout problems are problems."""
    js_errors(session)  # drop what earlier pages left in the log
    load_page(session, base_url, page, timeout)
    report = PageReport(page, session.execute_script(PAGE_PROBE), strict=strict)
    report.math_fit = math_fit(session)
    report.layout = session.execute_script(LAYOUT)
    if interact:
        report.switched, report.stuck_widgets = switch_frames(session)
    time.sleep(0.5)  # let late errors (e.g. from a timer) reach the log
    report.js_errors = js_errors(session)
    return report


def switch_frames(session, timeout: float = 4.0) -> tuple:
    """Click each frame widget's control (last toggle button, else play) the way a reader would, and
    check that another frame shows: the jslinks work without a kernel. Returns (switched, stuck) indices."""
    from selenium.webdriver.common.by import By

    before = session.execute_script(VISIBLE_FRAMES)
    areas = session.find_elements(By.CSS_SELECTOR, ".widget-subarea")
    switched, stuck = [], []
    for index, (area, frame) in enumerate(zip(areas, before)):
        if not frame:
            continue
        toggles = area.find_elements(By.CSS_SELECTOR, "button.widget-toggle-button")
        # a button other than the selected one (the chapter's own choice may be the last button, as CCL's
        # highlighted loss is: clicking it again changes nothing)
        unselected = area.find_elements(By.CSS_SELECTOR, "button.widget-toggle-button:not(.mod-active)")
        plays = area.find_elements(By.CSS_SELECTOR, ".widget-play button")[:1]
        if len(toggles) > 1 and unselected:
            control, uses_play = unselected[-1], False
        elif plays:
            control, uses_play = plays[0], True
        else:
            continue
        session.execute_script("arguments[0].scrollIntoView({block: 'center'})", control)
        control.click()
        deadline = time.monotonic() + timeout
        while session.execute_script(VISIBLE_FRAMES)[index] == frame and time.monotonic() < deadline:
            time.sleep(0.2)
        (stuck if session.execute_script(VISIBLE_FRAMES)[index] == frame else switched).append(index)
        if uses_play:
            control.click()  # pause the animation again
    return switched, stuck


def screenshot(session, base_url: str, page: str, path: Path, max_height: int = 6000) -> Path:
    """A screenshot of ``page``, as tall as the page (up to ``max_height`` pixels)."""
    check_page(session, base_url, page, interact=False)
    height = session.execute_script("return document.documentElement.scrollHeight")
    session.set_window_size(1280, min(int(height), max_height))
    time.sleep(0.5)
    path.parent.mkdir(parents=True, exist_ok=True)
    session.save_screenshot(str(path))
    session.set_window_size(1280, 1600)
    return path


def rewritten_chapters() -> set:
    """The pages whose layout problems fail the check: ``REWRITTEN_CHAPTERS`` of tests/test_book_style.py."""
    from test_book_style import REWRITTEN_CHAPTERS  # tests/ is this script's folder

    return set(REWRITTEN_CHAPTERS)


def is_strict(page: str, strict_pages) -> bool:
    """Whether ``page`` (``notebooks/variance.html``) is one of ``strict_pages`` (names: ``variance``)."""
    return strict_pages is True or Path(page).stem in (strict_pages or ())


def check_book(
    html_dir,
    pages: Optional[Sequence[str]] = None,
    screenshot_path=None,
    screenshot_page: Optional[str] = None,
    strict_pages=(),
) -> list:
    """Check ``pages`` (default: every page) of the book built in ``html_dir``; returns the reports. The
    layout problems fail the pages named in ``strict_pages`` (page names, or ``True`` for all)."""
    html_dir = Path(html_dir)
    if not (html_dir / "index.html").is_file():
        raise FileNotFoundError(f"no built book at {html_dir} (run `jupyter-book build .` first)")
    found = find_chromium()
    if found is None:
        raise FileNotFoundError("chromium and chromedriver not found (apt-get install chromium chromium-driver)")
    pages = list(pages) if pages is not None else list_pages(html_dir)
    with serve(html_dir) as base_url, chromium(*found) as session:
        reports = [check_page(session, base_url, page, strict=is_strict(page, strict_pages)) for page in pages]
        if screenshot_path is not None:
            with_widgets = [report.page for report in reports if report.probe["widget_views"]]
            target = screenshot_page or (with_widgets[0] if with_widgets else pages[0])
            screenshot(session, base_url, target, Path(screenshot_path))
    return reports


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("html_dir", nargs="?", default="_build/html")
    parser.add_argument("--page", action="append", help="check only these pages (relative paths)")
    parser.add_argument("--screenshot", default="ci-artifacts/chapter.png", help="where to save the screenshot")
    parser.add_argument("--screenshot-page", help="page to screenshot (default: first page with widgets)")
    parser.add_argument(
        "--strict", action="store_true", help="layout problems fail every page (default: REWRITTEN_CHAPTERS only)"
    )
    args = parser.parse_args(argv)
    strict_pages = True if args.strict else rewritten_chapters()
    reports = check_book(args.html_dir, args.page, args.screenshot, args.screenshot_page, strict_pages)
    failed = 0
    for report in reports:
        print(report.summary())
        for problem in report.problems():
            print(f"    PROBLEM {problem}")
        if not report.strict:
            for problem in report.layout_problems():
                print(f"    layout (not rewritten yet) {problem}")
        failed += bool(report.problems())
    totals = {
        key: sum(report.probe[key] for report in reports)
        for key in ("widget_views", "widget_rendered", "math_rendered", "images")
    }
    print(f"{len(reports)} pages, {failed} with problems; totals {totals}; screenshot {args.screenshot}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
