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

**The scheme every vgteach figure follows.** A figure is :data:`FIGURE_WIDTH` inches wide (640 px at
:data:`BOOK_DPI`: it fits the column, so the book shows it at its natural size; a report's PNG at
:data:`REPORT_DPI` is 704 px, shown at 98 %), its text is :data:`FONT_SIZE` points or more (titles
:data:`TITLE_SIZE`), which reads at ≥ 9 pt at every dpi vgteach renders at (the widget frames' 90 dpi
needs 9.6 pt), and it has at most :data:`MAX_COLUMNS` panels in a row (:func:`panel_grid` wraps more into
rows). :func:`readable` raises any smaller text of a drawn figure to that size, so a notebook's rcParams
(seaborn's ``paper`` context: 8 pt ticks) cannot shrink it. A loss is named by :data:`LOSS_LABELS` and
coloured by :data:`LOSS_COLORS` in every figure and widget.
"""

from __future__ import annotations

import sys
import zlib
from pathlib import Path
from types import MappingProxyType

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
#: the name of each loss in the book's figures, prose and tables, in the order of ``vgteach.losses.LOSS_NAMES``
#: (re-exported as ``vgteach.results.LOSS_LABELS``)
LOSS_LABELS = MappingProxyType(
    {
        "contrastive": "Contrastive",
        "triplet": "Triplet",
        "npair": "N-pair",
        "infonce": "InfoNCE",
        "arcface": "ArcFace",
        "supcon": "SupCon",
        "ccl": "CCL",
    }
)
#: how an axis names a summary or history column (others: the column's name)
MEASURE_LABELS = MappingProxyType(
    {
        "recall@1": "R@1",
        "map@r": "MAP@R",
        "nmi": "NMI",
        "intra": "intra-class variance",
        "inter": "inter-class variance",
        "ratio": "intra / inter",
        "within_class_rank": "within-class rank",
        "centroid_dist_cv": "spacing cv",
        "centroid_dist_min": "smallest distance between class means",
        "active_ratio": "active ratio",
        "effective_active_ratio": "effective active ratio",
        "sample_active_ratio": "samples with a gradient",
        "grad_gini": "Gini of ‖∂L/∂e‖",
        "grad_norm_mean": "mean ‖∂L/∂e‖",
        "convergence_epoch": "R@1 convergence epoch",
        "map_convergence_epoch": "MAP@R convergence epoch",
        "compaction_epoch": "compaction epoch",
        "ratio_compaction_epoch": "compaction epoch of intra / inter",
        "intra_change": "Δ intra-class variance",
        "train_intra": "intra-class variance, training split",
        "train_within_class_rank": "within-class rank, training split",
        "train_spectral_decay": "spectral decay, training split",
        "train_pi_ratio": "π-ratio, training split",
        "train_loss": "training loss",
    }
)
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
#: the width of every vgteach figure, in inches: 640 px at BOOK_DPI, inside the column
FIGURE_WIDTH = 6.4
#: the height of one row of panels, in inches
ROW_HEIGHT = 2.4
#: the smallest font vgteach draws with, in points (reads at >= 9 pt at 90, 100 and 110 dpi on FIGURE_WIDTH)
FONT_SIZE = 10.0
#: the size of panel titles and figure titles
TITLE_SIZE = 11.0
#: the most panels one row of a figure holds (BOOK-STYLE.md)
MAX_COLUMNS = 3


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


def loss_label(name: str) -> str:
    """How the book names loss ``name`` (:data:`LOSS_LABELS`); another name as given."""
    return LOSS_LABELS.get(name, str(name))


def measure_label(column: str) -> str:
    """How an axis names ``column`` (:data:`MEASURE_LABELS`); another column as given."""
    return MEASURE_LABELS.get(column, str(column))


def panel_grid(panels: int, max_columns: int = MAX_COLUMNS) -> tuple:
    """``(rows, columns)`` for ``panels`` panels, at most ``max_columns`` (≤ :data:`MAX_COLUMNS`) in a row,
    the rows as full as they can be (4 panels: 2 × 2, 5: 2 rows of 3, 7: 3 rows of 3)."""
    if panels < 1:
        raise ValueError(f"a figure needs at least one panel, got {panels}")
    if not 1 <= max_columns <= MAX_COLUMNS:
        raise ValueError(f"max_columns must be 1 to {MAX_COLUMNS}, got {max_columns}")
    columns = min(max_columns, panels) if panels != 4 else 2
    return -(-panels // columns), columns


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


def new_figure(rows: int, cols: int, figsize=None, layout="constrained", **kwargs):
    """``(fig, axes)``: ``rows × cols`` panels (``Figure.subplots(rows, cols, **kwargs)``) on a figure pyplot
    never sees; ``layout`` is matplotlib's layout engine (``"constrained"``, ``"tight"`` or None).
    ``figsize`` defaults to the book's scheme: :data:`FIGURE_WIDTH` wide, :data:`ROW_HEIGHT` per row. In
    IPython the figure still displays as an image (:func:`show_figures_as_png`).

    Raises ValueError for more than :data:`MAX_COLUMNS` panels in a row (wrap them: :func:`panel_grid`)."""
    from matplotlib.figure import Figure

    if cols > MAX_COLUMNS:
        raise ValueError(f"{cols} panels in a row cannot be read in the book: at most {MAX_COLUMNS} (panel_grid)")
    show_figures_as_png()
    fig = Figure(figsize=figsize or (FIGURE_WIDTH, ROW_HEIGHT * rows), layout=layout)
    return fig, fig.subplots(rows, cols, **kwargs)


def frame_figure(width: float = FIGURE_WIDTH, height: float = ROW_HEIGHT):
    """An empty figure with constrained layout for a widget frame (the widget adds its panels): rendered to
    a PNG, never displayed, so never registered with pyplot nor leaking memory in a long session."""
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), layout="constrained")


def readable(target, size: float = FONT_SIZE):
    """Raise every text of ``target`` (a Figure, or one Axes and what it holds) smaller than ``size`` points
    to ``size``, tick labels drawn later included; larger text is left alone. Returns ``target``."""
    from matplotlib.axes import Axes
    from matplotlib.text import Text

    axes = [target] if isinstance(target, Axes) else list(target.axes)
    for ax in axes:
        for axis in (ax.xaxis, ax.yaxis):
            for which in ("major", "minor"):
                ticks = axis.get_major_ticks() if which == "major" else axis.get_minor_ticks()
                current = ticks[0].label1.get_fontsize() if ticks else size
                axis.set_tick_params(which=which, labelsize=max(size, current))
    for text in target.findobj(Text):
        if text.get_fontsize() < size:
            text.set_fontsize(size)
    return target


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
