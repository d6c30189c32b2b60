"""Save a full-page screenshot of every page of a built book, to read it as a reader sees it.

Usage::

    jupyter-book build . -W --keep-going            # or one page: see tests/check_browser.py
    python scripts/screenshot_book.py _build/html --out ci-artifacts/pages
    python scripts/screenshot_book.py notebooks/_build/_page/variance/html --out /tmp/pages

Each page is opened in headless Chromium (tests/check_browser.py's flags: ``--headless=new --no-sandbox
--disable-gpu --disable-background-networking --disable-component-update`` and the rest), served from
localhost, left to settle (math typeset, widgets rendered, images loaded) and captured whole through the
DevTools protocol (``Page.captureScreenshot`` beyond the viewport) at the window's width: folded notes stay
folded, as a reader first sees them. A page taller than ``--part-height`` pixels is saved in parts,
``<page>-1.png``, ``<page>-2.png``, …, each readable on a screen. The files are named after the pages
(``notebooks/variance.html`` -> ``notebooks-variance.png``).
"""

from __future__ import annotations

import argparse
import base64
import sys
from pathlib import Path
from typing import Optional, Sequence

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

import check_browser  # noqa: E402  (tests/check_browser.py: the browser, the server, the page list)

#: the window the pages are laid out in (the browser check's: a 688 px content column)
WIDTH = 1280


def capture(session, path: Path, part_height: int) -> list[Path]:
    """Screenshots of the loaded page, top to bottom, in parts of at most ``part_height`` pixels.

    Each part is the viewport itself, made ``part_height`` tall (``Emulation.setDeviceMetricsOverride``) and
    scrolled to the part: capturing beyond a smaller viewport made Chromium lay some pages out again, shifted
    about 250 px to the left."""
    height = int(session.execute_script("return document.documentElement.scrollHeight"))
    parts = max(1, -(-height // part_height))
    saved = []
    for index in range(parts):
        top = index * part_height
        tall = min(part_height, height - top)
        metrics = {"width": WIDTH, "height": tall, "deviceScaleFactor": 1, "mobile": False}
        session.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", metrics)
        session.execute_script("window.scrollTo(0, arguments[0])", top)
        shot = session.execute_cdp_cmd("Page.captureScreenshot", {"format": "png"})
        target = path if parts == 1 else path.with_name(f"{path.stem}-{index + 1}{path.suffix}")
        target.write_bytes(base64.b64decode(shot["data"]))
        saved.append(target)
    session.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
    return saved


def screenshot_book(
    html_dir, out, pages: Optional[Sequence[str]] = None, part_height: int = 4000, timeout: float = 30.0
) -> list[Path]:
    """Full-page screenshots of ``pages`` (default: every page) of the book built in ``html_dir``, into
    ``out``; returns the files written."""
    html_dir, out = Path(html_dir), Path(out)
    found = check_browser.find_chromium()
    if found is None:
        raise FileNotFoundError("chromium and chromedriver not found (apt-get install chromium chromium-driver)")
    pages = list(pages) if pages else check_browser.list_pages(html_dir)
    if not pages:
        raise FileNotFoundError(f"no pages under {html_dir} (build the book first)")
    out.mkdir(parents=True, exist_ok=True)
    saved = []
    with check_browser.serve(html_dir) as base_url, check_browser.chromium(*found) as session:
        session.set_window_size(WIDTH, 1600)
        for page in pages:
            check_browser.load_page(session, base_url, page, timeout)
            saved += capture(session, out / (page.replace("/", "-").removesuffix(".html") + ".png"), part_height)
    return saved


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("html_dir", nargs="?", default="_build/html")
    parser.add_argument("--out", default="ci-artifacts/pages", help="folder for the PNG files")
    parser.add_argument("--page", action="append", help="only these pages (relative paths)")
    parser.add_argument("--part-height", type=int, default=4000, help="split taller pages into parts (pixels)")
    args = parser.parse_args(argv)
    for path in screenshot_book(args.html_dir, args.out, args.page, args.part_height):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
