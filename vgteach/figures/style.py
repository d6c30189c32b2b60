"""What every vgteach figure shares: the loss colours, the class colours, and figures pyplot never sees.

A figure is drawn on a ``matplotlib.figure.Figure`` made here, never through pyplot: writing a report or a
widget frame must not touch the session's backend (``matplotlib.use("Agg")`` inside a Jupyter kernel
switches inline figures off for good).
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
