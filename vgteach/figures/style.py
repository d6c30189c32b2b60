"""What every vgteach figure shares: the loss colours, the class colours, and figures pyplot never sees.

A figure is drawn on a ``matplotlib.figure.Figure`` made here, never through pyplot: writing a report or a
widget frame must not touch the session's backend (``matplotlib.use("Agg")`` inside a Jupyter kernel
switches inline figures off for good).

**Text you can read in the book** (issue 21: text in figures ≥ 9 pt as displayed). The book shows a figure
as a PNG: drawn at ``dpi`` pixels per inch, ``width_in`` inches wide, it is ``natural = width_in · dpi``
pixels wide, shown at that size when it fits the book's content column (:data:`BOOK_COLUMN_PX` CSS pixels)
and scaled down to the column when it does not, by ``scale = min(1, BOOK_COLUMN_PX / natural)``. Text of
``size`` points is ``size · dpi / 72`` pixels tall in the PNG and ``size · dpi / 72 · scale`` CSS pixels on
the page, that is ``size · dpi · scale / 96`` points as displayed (CSS: 96 px = 72 pt = 1 inch). So a font
reads at :data:`MIN_DISPLAYED_PT` or more when

    size ≥ MIN_DISPLAYED_PT · 96 / (dpi · scale) = max(MIN_DISPLAYED_PT · 96 / dpi,
                                                      MIN_DISPLAYED_PT · 96 · width_in / BOOK_COLUMN_PX)

(:func:`min_font_size`). The first term binds while the figure fits the column (at the inline backend's
:data:`BOOK_DPI` = 100: 8.64 pt; at the widget frames' 90 dpi: 9.6 pt), the second once it is scaled down:
a figure 12 inches wide needs 15 pt fonts, one 6.4 inches wide (the column at 100 dpi is 6.88 inches)
8.64 pt. Wide, many-panel figures are the ones that cannot be read: the browser check
(tests/check_browser.py) also fails a figure shown under 80 % of its natural width, and
tests/test_figures.py checks every figure vgteach draws against :func:`displayed_points`.
"""

from __future__ import annotations

import sys
import zlib
from pathlib import Path

import numpy as np

from ..losses import LOSS_NAMES

#: matplotlib's ``tab10`` (= seaborn's), the colours the loss palette is drawn from
TAB10 = (
    "#1f77b4",
    "#ff7f0e",
    "#2ca02c",
    "#d62728",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#7f7f7f",
    "#bcbd22",
    "#17becf",
)
#: one colour per loss, in every figure and widget: ``tab10`` in DESIGN.md's loss order
LOSS_COLORS = dict(zip(LOSS_NAMES, TAB10))
#: resolution of the PNG files a report writes
REPORT_DPI = 110
#: the width of the book's content column, in CSS pixels (Jupyter Book's theme in a 1280 px wide window, as
#: tests/check_browser.py measures it)
BOOK_COLUMN_PX = 688
#: the resolution the book's figures are drawn at: matplotlib's ``figure.dpi`` under the inline backend
BOOK_DPI = 100
#: the smallest text a figure may show, in points as displayed in the book (BOOK-STYLE.md)
MIN_DISPLAYED_PT = 9.0
#: CSS pixels per inch (and 72 points per inch): how the browser turns pixels into points
CSS_PX_PER_INCH = 96


def displayed_points(size: float, natural_px: float, dpi: float = BOOK_DPI, column_px: float = BOOK_COLUMN_PX) -> float:
    """How large text of ``size`` points drawn at ``dpi`` appears in the book, in points, on a figure whose
    PNG is ``natural_px`` pixels wide (scaled down to ``column_px`` when wider; module docstring)."""
    if size <= 0 or natural_px <= 0 or dpi <= 0 or column_px <= 0:
        raise ValueError("size, natural_px, dpi and column_px must be positive")
    return size * dpi * min(1.0, column_px / natural_px) / CSS_PX_PER_INCH


def min_font_size(width_in: float, dpi: float = BOOK_DPI, column_px: float = BOOK_COLUMN_PX) -> float:
    """The smallest font size (points) that reads at :data:`MIN_DISPLAYED_PT` in the book on a figure
    ``width_in`` inches wide drawn at ``dpi`` (module docstring)."""
    if width_in <= 0:
        raise ValueError("width_in must be positive")
    return MIN_DISPLAYED_PT * CSS_PX_PER_INCH / (dpi * min(1.0, column_px / (width_in * dpi)))


def loss_color(name: str) -> str:
    """The colour of loss ``name`` (:data:`LOSS_COLORS`); a name outside it gets one of the spare ``tab10``
    colours, the same one every time (chosen from the name's CRC-32)."""
    if name in LOSS_COLORS:
        return LOSS_COLORS[name]
    spare = TAB10[len(LOSS_COLORS) :] or TAB10
    return spare[zlib.crc32(str(name).encode()) % len(spare)]


def class_colors(labels) -> np.ndarray:
    """RGBA [N, 4]: one colour per class of ``labels`` (any values, sorted order): ``tab10`` up to 10
    classes, ``tab20`` up to 20, evenly spaced hues of ``hsv`` above."""
    from matplotlib import colormaps

    classes, index = np.unique(np.asarray(labels), return_inverse=True)
    if len(classes) <= 20:
        return colormaps["tab10" if len(classes) <= 10 else "tab20"](index.ravel())
    return colormaps["hsv"](index.ravel() / len(classes))


def new_figure(rows: int, cols: int, figsize, layout=None, **kwargs):
    """``(fig, axes)``: ``rows × cols`` panels (``Figure.subplots(rows, cols, **kwargs)``) on a figure pyplot
    never sees; ``layout`` is matplotlib's layout engine (``"constrained"``, ``"tight"`` or None). In
    IPython the figure still displays as an image (:func:`show_figures_as_png`)."""
    from matplotlib.figure import Figure

    show_figures_as_png()
    fig = Figure(figsize=figsize, layout=layout)
    return fig, fig.subplots(rows, cols, **kwargs)


def frame_figure(width: float, height: float):
    """An empty figure with constrained layout for a widget frame (the widget adds its panels): rendered to
    a PNG, never displayed, so never registered with pyplot nor leaking memory in a long session."""
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), layout="constrained")


def show_figures_as_png() -> None:
    """In an IPython session, display matplotlib ``Figure`` objects as PNG images.

    pyplot's inline backend registers that formatter when pyplot is imported; a kernel that only ever
    sees vgteach's pyplot-free figures would otherwise print ``<Figure size 1200x800 with 6 Axes>``. A
    formatter already registered (by pyplot or the user) is kept. Outside IPython this does nothing.
    """
    shell = sys.modules.get("IPython") and sys.modules["IPython"].get_ipython()
    if shell is None or not hasattr(shell, "display_formatter"):
        return
    from matplotlib.figure import Figure

    formatter = shell.display_formatter.formatters["image/png"]
    if Figure in formatter.type_printers:
        return
    from IPython.core.pylabtools import print_figure

    formatter.for_type(Figure, lambda fig: print_figure(fig, "png", bbox_inches="tight"))


def save_figure(fig, path) -> str:
    """Write ``fig`` to the PNG ``path`` atomically (a temporary file, then a rename); returns the file name."""
    path = Path(path)
    tmp = path.with_name(path.stem + ".tmp.png")
    fig.savefig(tmp, dpi=REPORT_DPI, bbox_inches="tight")
    tmp.replace(path)
    return path.name
