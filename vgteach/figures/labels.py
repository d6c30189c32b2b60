"""Names that do not overlap: one at the end of each line, one beside each point, or one legible legend.

A legend of seven losses in a small panel is unreadable; a name at the end of each line, in the line's
colour, is read where the eye already is. Both placements work in display coordinates, so they need the
figure's final layout: draw everything (titles included) first, then label.

- :func:`end_labels`: a name to the right of each line's last point, nudged up or down until no two
  names overlap (:func:`spread`: a deterministic one-dimensional de-overlap).
- :func:`place_labels`: a name beside each point of a scatter, at the first of a fixed list of offsets
  (nearest first, eight directions) where it overlaps no other name, no point, no given obstacle and
  stays inside the axes; a name moved far from its point gets a thin leader line.
- :func:`loss_legend`: one legend for a figure of several panels, under them, at :data:`FONT_SIZE`.
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np

from .style import FONT_SIZE, loss_color, loss_label

#: the offsets (points) :func:`place_labels` tries, nearest first
RADII = (5, 9, 14, 20, 28, 38, 50, 64)
#: the directions it tries at each radius (degrees, counter-clockwise from the right)
ANGLES = (0, 180, 90, 270, 30, 150, 330, 210, 60, 120, 300, 240)
#: the gap (points) between a line's last point and its name
END_GAP = 5.0


def layout_renderer(fig):
    """The renderer of ``fig`` after its layout engine has run (constrained layout places the axes when the
    figure is drawn): the coordinates labels are placed in."""
    fig.draw_without_rendering()
    return fig._get_renderer()


def spread(wanted, height: float, low: float = -math.inf, high: float = math.inf) -> np.ndarray:
    """Positions as close to ``wanted`` as two passes allow, at least ``height`` apart, in the same order.

    A forward pass pushes each position (in ascending order) up to ``height`` above the one below it,
    starting no lower than ``low``; a backward pass pulls them down under ``high`` where the top one went
    past it. Where the names do not fit between ``low`` and ``high`` they keep their spacing and overflow
    ``low``. Returns an array in the order of ``wanted``.
    """
    wanted = np.asarray(wanted, dtype=float)
    if wanted.ndim != 1:
        raise ValueError("wanted must be a one-dimensional sequence of positions")
    if height < 0:
        raise ValueError(f"height must be non-negative, got {height}")
    order = np.argsort(wanted, kind="stable")
    placed = wanted[order].copy()
    for i in range(len(placed)):
        floor = low if i == 0 else placed[i - 1] + height
        placed[i] = max(placed[i], floor)
    if len(placed) and placed[-1] > high:
        placed[-1] = high
        for i in range(len(placed) - 2, -1, -1):
            placed[i] = min(placed[i], placed[i + 1] - height)
    result = np.empty_like(placed)
    result[order] = placed
    return result


def end_labels(ax, ends: Sequence[tuple], fontsize: float = FONT_SIZE, gid: str = "end-label") -> list:
    """Write each name to the right of its line's last point, no two names overlapping.

    Parameters
    ----------
    ax : matplotlib Axes
        Drawn on, with its limits, titles and the rest of its figure already set.
    ends : sequence of (text, x, y, color) or (text, x, y, color, weight)
        Each line's name and last point (data coordinates); entries with a NaN coordinate are skipped.
    fontsize : float
    gid : str
        The ``gid`` of every name (tests and callers find them by it).

    Returns
    -------
    list of matplotlib.text.Annotation
    """
    ends = [end for end in ends if np.isfinite(end[1]) and np.isfinite(end[2])]
    annotations = [
        ax.annotate(
            end[0],
            (end[1], end[2]),
            xytext=(END_GAP, 0),
            textcoords="offset points",
            ha="left",
            va="center",
            color=end[3],
            fontsize=fontsize,
            fontweight=end[4] if len(end) > 4 else "normal",
            annotation_clip=False,
            gid=gid,
        )
        for end in ends
    ]
    if not annotations:
        return annotations
    fig = ax.figure
    for _ in range(2):  # the names widen the axes' right margin: place them again in the new layout
        renderer = layout_renderer(fig)
        anchors = ax.transData.transform([(end[1], end[2]) for end in ends])[:, 1]
        heights = [text_box(note, renderer).height for note in annotations]
        height = 1.08 * max(heights)
        box = ax.get_window_extent(renderer)
        placed = spread(anchors, height, box.y0 + height / 2, box.y1 - height / 2)
        points_per_pixel = 72.0 / fig.dpi
        for note, anchor, y in zip(annotations, anchors, placed):
            note.xyann = (END_GAP, (y - anchor) * points_per_pixel)
    return annotations


def text_box(annotation, renderer):
    """The display box of an annotation's text alone (its leader line, if any, left out)."""
    from matplotlib.text import Text

    annotation.update_positions(renderer)
    return Text.get_window_extent(annotation, renderer)


def artist_box(artist, renderer):
    """The display box of ``artist``: a text's alone (:func:`text_box`), a line collection's from its
    segments (e.g. error bars, whose window extent matplotlib leaves empty), any other's window extent."""
    from matplotlib.collections import LineCollection
    from matplotlib.text import Annotation
    from matplotlib.transforms import Bbox

    if isinstance(artist, Annotation):
        return text_box(artist, renderer)
    if isinstance(artist, LineCollection):
        segments = [segment for segment in artist.get_segments() if len(segment)]
        if not segments:
            return Bbox.null()
        box = Bbox.from_extents(*_extents(artist.get_transform().transform(np.concatenate(segments))))
        return box.padded(2.0 * artist.figure.dpi / 72.0)  # a line has a width: a box of none covers nothing
    return artist.get_window_extent(renderer)


def _extents(xy: np.ndarray) -> tuple:
    return xy[:, 0].min(), xy[:, 1].min(), xy[:, 0].max(), xy[:, 1].max()


def _alignment(angle: float) -> tuple:
    dx, dy = math.cos(math.radians(angle)), math.sin(math.radians(angle))
    ha = "left" if dx > 0.3 else "right" if dx < -0.3 else "center"
    va = "bottom" if dy > 0.3 else "top" if dy < -0.3 else "center"
    return (dx, dy), ha, va


def _overlap(a, b) -> float:
    """The area two display boxes share (0 when they do not touch)."""
    width = min(a.x1, b.x1) - max(a.x0, b.x0)
    height = min(a.y1, b.y1) - max(a.y0, b.y0)
    return max(width, 0.0) * max(height, 0.0)


def _hits(box, others) -> float:
    """How much ``box`` covers ``others``: per box it touches, 1 plus the share of ``box`` it covers (so a
    thin error bar across a name counts as much as a point under it)."""
    area = max(box.width * box.height, 1e-9)
    return sum(1.0 + shared / area for shared in (_overlap(box, other) for other in others) if shared > 0)


def _outside(box, frame) -> float:
    """The area of ``box`` outside ``frame``."""
    return box.width * box.height - _overlap(box, frame)


def place_labels(
    ax,
    anchors: Sequence[tuple],
    obstacles: Sequence = (),
    marker_points: float = 7.0,
    fontsize: float = FONT_SIZE,
    gid: str = "point-label",
) -> list:
    """Write each name beside its point where it overlaps nothing, trying a fixed list of offsets.

    Parameters
    ----------
    ax : matplotlib Axes
        Drawn on, with its limits, titles and the rest of its figure already set (names are placed in the
        figure's final layout and kept out of it: they stay inside the axes).
    anchors : sequence of (text, x, y, color)
        Each name and its point (data coordinates); entries with a NaN coordinate are skipped.
    obstacles : sequence of matplotlib Bbox or Artist
        What a name must not cover besides the other names and the points (e.g. the texts of a shaded
        region, error bars): display boxes, or artists whose window extent is taken.
    marker_points : float
        The diameter of a point's marker in points (the area a name keeps clear around each point).
    fontsize : float
    gid : str
        The ``gid`` of every name.

    Returns
    -------
    list of matplotlib.text.Annotation
        In the order of ``anchors`` (skipped entries left out). The offsets are tried nearest first, in
        :data:`ANGLES` order at each of :data:`RADII`; the first that overlaps nothing wins, else the one
        with the least weighted overlap (per box touched: names 10, points 4, obstacles 2; the share
        outside the axes 20).
    """
    from matplotlib.transforms import Bbox

    anchors = [anchor for anchor in anchors if np.isfinite(anchor[1]) and np.isfinite(anchor[2])]
    if not anchors:
        return []
    renderer = layout_renderer(ax.figure)
    pad = 1.5 * ax.figure.dpi / 72.0
    points = _marker_boxes(ax, anchors, marker_points)
    fixed = [item if isinstance(item, Bbox) else artist_box(item, renderer) for item in obstacles]
    frame = ax.get_window_extent(renderer)
    placed, notes = [], []
    for anchor in anchors:
        note = _annotate(ax, anchor, fontsize, gid, xytext=(0, 0))
        radius, ha, va, offset = _best_offset(note, renderer, marker_points, pad, (placed, points, fixed), frame)
        if radius >= RADII[3]:  # far from its point: a thin line says whose name it is
            note.remove()
            leader = {"arrowstyle": "-", "color": anchor[3], "lw": 0.7, "shrinkA": 1, "shrinkB": marker_points / 2}
            note = _annotate(ax, anchor, fontsize, gid, xytext=offset, ha=ha, va=va, arrowprops=leader)
        else:
            note.set(ha=ha, va=va)
            note.xyann = offset
        placed.append(text_box(note, renderer).padded(pad))
        notes.append(note)
    return notes


def _marker_boxes(ax, anchors, marker_points: float) -> list:
    """The display box of each anchor's marker (``marker_points`` wide), in the figure's final layout."""
    from matplotlib.transforms import Bbox

    radius = marker_points / 2 * ax.figure.dpi / 72.0
    xy = ax.transData.transform([(anchor[1], anchor[2]) for anchor in anchors])
    return [Bbox.from_extents(x - radius, y - radius, x + radius, y + radius) for x, y in xy]


def _annotate(ax, anchor, fontsize: float, gid: str, **options):
    """The name of one ``(text, x, y, color)`` anchor, at an offset in points, left out of the layout."""
    text, x, y, color = anchor
    note = ax.annotate(text, (x, y), textcoords="offset points", color=color, fontsize=fontsize, gid=gid, **options)
    note.set_in_layout(False)
    return note


def _best_offset(note, renderer, marker_points: float, pad: float, others, frame) -> tuple:
    """``(radius, ha, va, offset)`` of the first offset (:data:`RADII` × :data:`ANGLES`, nearest first) where
    ``note`` overlaps nothing, else of the one with the least :func:`_cost`; ``note`` is moved while trying."""
    best = None
    for radius in RADII:
        for angle in ANGLES:
            (dx, dy), ha, va = _alignment(angle)
            note.set(ha=ha, va=va)
            note.xyann = (radius * dx + marker_points / 2 * dx, radius * dy + marker_points / 2 * dy)
            cost = _cost(text_box(note, renderer).padded(pad), *others, frame)
            if best is None or cost < best[0]:
                best = (cost, radius, ha, va, note.xyann)
            if cost == 0:
                return best[1:]
    return best[1:]


def _cost(box, placed, points, fixed, frame) -> float:
    """The weighted overlap of a name's ``box`` (per box touched: names 10, points 4, obstacles 2; the share
    outside the axes' ``frame`` 20)."""
    return (
        10 * _hits(box, placed)
        + 4 * _hits(box, points)
        + 2 * _hits(box, fixed)
        + 20 * _outside(box, frame) / (box.width * box.height)
    )


def loss_legend(
    fig, losses: Sequence[str], marker: str = "o", extra: Sequence[tuple] = (), line: bool = True, **kwargs
):
    """One legend of ``losses`` (display names, :data:`~vgteach.figures.style.LOSS_LABELS`, in their colours)
    and of the ``extra`` ``(label, colour)`` entries, under the panels of ``fig`` (constrained layout:
    outside them), up to four to a row: a line with a ``marker`` each, or the marker alone (``line=False``,
    for a scatter). ``kwargs`` go to ``Figure.legend``. Returns the legend."""
    from matplotlib.lines import Line2D

    style = {"marker": marker, "lw": 2 if line else 0, "ms": 6}
    handles = [Line2D([], [], color=loss_color(name), label=loss_label(name), **style) for name in losses]
    handles += [Line2D([], [], color=colour, label=label, **style) for label, colour in extra]
    options = {
        "loc": "outside lower center",
        "ncols": min(4, len(handles)),
        "frameon": False,
        "fontsize": FONT_SIZE,
        **kwargs,
    }
    if fig.get_layout_engine() is None or "outside" not in str(options["loc"]):
        options["loc"] = str(options["loc"]).replace("outside ", "")
    return fig.legend(handles=handles, **options)
