"""The paper's trade-off in one picture: one point per loss, drawn over the region the paper predicts.

Zeng et al. (ICASSP 2026) say that Triplet and SupCon keep more within-class variance, compact more slowly
and retrieve better in fine-grained settings, and that Contrastive and InfoNCE compact quickly (the
claims, :data:`vgteach.reproduction.CLAIMS`). On any two of those measures the paper so predicts an
*order*, not values: its granular losses above or right of its compacting ones. :func:`tradeoff_scatter`
draws each loss's mean over seeds (error bars: the seeds' standard deviation) with its name beside it (no
two names overlapping, :func:`~vgteach.figures.labels.place_labels`), and shades the two quadrants where
the paper puts its two groups (:func:`predicted_sides`, split at the median over the losses of each
axis), so that the sentence under the figure can say whether the points fall there::

    from vgteach import figures, results
    reference = results.load("cifar10")
    figures.tradeoff_scatter(reference.summary, "compaction_epoch", "intra")    # speed against granularity
    figures.plot_tradeoff(reference.summary_by_loss)                             # R@1 against intra
    figures.tradeoff_panels(reference.summary)                                   # both speeds, side by side

A compaction epoch counts a run whose intra-class variance does not fall (``intra_change`` ≥ 0) as never
compacting, as the claims' scoring does (DESIGN §3): such a loss is drawn in a strip past the right edge,
"does not compact".
"""

from __future__ import annotations

from typing import Optional

import numpy as np
import pandas as pd

from .labels import _hits, _outside, artist_box, layout_renderer, place_labels, text_box
from .style import (
    FIGURE_WIDTH,
    FONT_SIZE,
    TITLE_SIZE,
    loss_color,
    loss_label,
    measure_label,
    new_figure,
    panel_grid,
    readable,
)

#: the two axes of :func:`tradeoff_panels`: each speed against the final intra-class variance
SPEED_PAIRS = (("convergence_epoch", "intra"), ("compaction_epoch", "intra"))
#: the fill of the paper's two regions: its granular losses (Triplet, SupCon) and its compacting ones
REGION_COLORS = {"granular": "#f6dcc0", "compacting": "#cfe0f0"}
#: the text colour of each region's name
REGION_TEXT = {"granular": "#8a4b08", "compacting": "#1f4e79"}
#: a speed axis's reading (later = slower), added to its label
SLOWER = " (later = slower)"


def predicted_sides(column: str) -> Optional[int]:
    """+1 where the paper says its granular losses (Triplet, SupCon) have the larger ``column``, −1 where
    its compacting ones (Contrastive, InfoNCE) do, None where no claim of
    :data:`vgteach.reproduction.CLAIMS` compares the two groups on ``column``."""
    from ..reproduction import CLAIMS, COMPACTING, GRANULAR

    for claim in CLAIMS:
        if claim.column != column or claim.low is None:
            continue
        if set(claim.high) == set(GRANULAR) and set(claim.low) == set(COMPACTING):
            return 1
        if set(claim.high) == set(COMPACTING) and set(claim.low) == set(GRANULAR):
            return -1
    return None


def never_column(column: str) -> Optional[str]:
    """The change column that says a run does not compact, for a compaction epoch (``intra_change`` for
    ``compaction_epoch``: the claims' ``never_when``); None for other columns."""
    from ..reproduction import CLAIMS

    return next((claim.never_when for claim in CLAIMS if claim.column == column and claim.never_when), None)


def tradeoff_points(summary: pd.DataFrame, x: str, y: str) -> pd.DataFrame:
    """One row per loss (in :data:`~vgteach.losses.LOSS_NAMES` order): the mean over seeds of ``x`` and ``y``
    and their standard deviation over seeds, from a study's ``summary.csv`` (one row per loss and seed) or
    ``summary_by_loss.csv`` (its ``<column>_std`` columns).

    Returns
    -------
    pandas.DataFrame
        ``loss``, ``x``, ``y``, ``x_sd``, ``y_sd`` (NaN with one seed), ``runs`` and ``x_never``/``y_never``:
        how many runs do not compact (a compaction epoch: :func:`never_column`); their epochs are left out
        of the mean, which is NaN when no run compacts.
    """
    from .study import _unknown, _validate_frame, loss_order

    _validate_frame(summary, "summary", ("loss",))
    _unknown([x, y], summary, "summary")
    per_seed = "seed" in summary.columns
    rows = []
    for loss in loss_order(summary["loss"]):
        runs = summary[summary["loss"] == loss]
        row = {"loss": loss, "runs": len(runs) if per_seed else int(runs.get("num_seeds", pd.Series([1])).iloc[0])}
        for axis, column in (("x", x), ("y", y)):
            values = pd.to_numeric(runs[column], errors="coerce").astype(float)
            change = never_column(column)
            never = (
                pd.to_numeric(runs[change], errors="coerce") >= 0
                if change and change in runs.columns
                else pd.Series(False, index=runs.index)
            )
            kept = values[~never].dropna()
            row[axis] = kept.mean() if len(kept) else np.nan
            if per_seed:
                row[f"{axis}_sd"] = kept.std(ddof=1) if len(kept) > 1 else np.nan
            else:
                sd = runs.get(f"{column}_std")
                row[f"{axis}_sd"] = float(sd.iloc[0]) if sd is not None and len(kept) else np.nan
            row[f"{axis}_never"] = int(never.sum()) if per_seed else (row["runs"] if never.any() else 0)
        rows.append(row)
    return pd.DataFrame(rows)


def axis_text(column: str) -> str:
    """The axis label of ``column``: its name (:func:`~.style.measure_label`) and, for an epoch, "later =
    slower"."""
    return measure_label(column) + (SLOWER if column.endswith("_epoch") else "")


def tradeoff_scatter(
    summary: pd.DataFrame,
    x: str = "compaction_epoch",
    y: str = "intra",
    ax=None,
    seeds: bool = False,
    region: bool = True,
    title: Optional[str] = None,
):
    """The paper's trade-off on two measures: one point per loss, the region the paper predicts shaded.

    Parameters
    ----------
    summary : pandas.DataFrame
        A study's ``summary.csv`` (one row per loss and seed; seeds are averaged) or ``summary_by_loss.csv``.
    x, y : str
        Summary columns: a speed (``"compaction_epoch"``, ``"convergence_epoch"``) or a measure of
        granularity (``"intra"``, ``"within_class_rank"``) against a granularity or retrieval measure
        (``"intra"``, ``"recall@1"``).
    ax : matplotlib Axes, optional
        Where to draw (with the rest of its figure laid out: names are placed in the final layout); by
        default a new figure :data:`~.style.FIGURE_WIDTH` wide.
    seeds : bool
        Also draw every run as a small faint dot.
    region : bool
        Shade the paper's prediction: its granular losses (Triplet, SupCon) on the side of each axis where
        :func:`predicted_sides` puts them, its compacting ones (Contrastive, InfoNCE) on the other, split at
        the median over the losses' means. An axis the claims do not read splits nothing (the region is a
        band of the other axis); with neither axis read nothing is shaded.
    title : str, optional
        Default: "Where the paper puts each loss (shaded) and where our runs put it".

    Returns
    -------
    matplotlib.figure.Figure
        Each loss's point is a ``Line2D`` with ``gid`` the loss; its name a text with ``gid =
        "point-label"``; the shaded regions patches with ``gid`` ``"paper-granular"`` and
        ``"paper-compacting"`` and their names texts with the same ``gid`` + ``"-text"``.

    Raises
    ------
    ValueError
        For a column the summary does not have (named in the message).
    """
    points = tradeoff_points(summary, x, y)
    given_figure = ax is None
    if ax is None:
        _, ax = new_figure(1, 1, (FIGURE_WIDTH, 4.4))
    anchors, bars, regions = _draw(ax, summary, points, x, y, seeds, region)
    ax.set_title(title if title is not None else _TITLE, fontsize=TITLE_SIZE)
    readable(ax)
    names = _name_regions(ax, regions, [anchor[1:3] for anchor in anchors], bars)
    if names is None:  # a region too small for its name, or every corner taken: a legend under the panel
        names = []
        _region_legend(ax.figure if given_figure else ax, regions)
    place_labels(ax, anchors, bars + names)
    return ax.figure


_TITLE = "Where the paper puts each loss (shaded) and where our runs put it"


def plot_tradeoff(by_loss: pd.DataFrame, ax=None, **options):
    """R@1 against the final intra-class variance (:func:`tradeoff_scatter` with ``x="intra"``,
    ``y="recall@1"``): the paper's granular losses should sit top right. ``by_loss`` is a study's
    ``summary_by_loss.csv`` or ``summary.csv``; ``options`` go to :func:`tradeoff_scatter`."""
    options.setdefault("title", "R@1 against within-class variance: the paper's prediction shaded")
    return tradeoff_scatter(by_loss, "intra", "recall@1", ax=ax, **options)


def tradeoff_panels(summary: pd.DataFrame, pairs=SPEED_PAIRS, seeds: bool = False, title: Optional[str] = None):
    """:func:`tradeoff_scatter` for each ``(x, y)`` of ``pairs``, two to a row (default :data:`SPEED_PAIRS`:
    the R@1 convergence epoch and the compaction epoch, each against the final intra-class variance), under
    one title. Returns the figure, :data:`~.style.FIGURE_WIDTH` wide."""
    pairs = [tuple(pair) for pair in pairs]
    if not pairs or any(len(pair) != 2 for pair in pairs):
        raise ValueError(f"pairs must be a non-empty sequence of (x, y) columns, got {pairs!r}")
    rows, cols = panel_grid(len(pairs), max_columns=2)
    fig, axes = new_figure(rows, cols, (FIGURE_WIDTH, 3.4 * rows + 0.4), squeeze=False)
    drawn = []
    for ax, (x, y) in zip(axes.flat, pairs):
        drawn.append(_draw(ax, summary, tradeoff_points(summary, x, y), x, y, seeds, True))
        readable(ax)
    for ax in axes.flat[len(pairs) :]:
        ax.set_visible(False)
    fig.suptitle(title if title is not None else _TITLE, fontsize=TITLE_SIZE)
    regions = next((regions for _, _, regions in drawn if regions), [])
    _region_legend(fig, regions)  # narrow panels: the regions are named once, under them
    for ax, (anchors, bars, _) in zip(axes.flat, drawn):
        place_labels(ax, anchors, bars)
    return fig


def _draw(ax, summary, points: pd.DataFrame, x: str, y: str, seeds: bool, region: bool):
    """Points, error bars, the never-compacting strip and the region on ``ax``; returns ``(anchors,
    obstacles)`` for :func:`~vgteach.figures.labels.place_labels`."""
    if points["x"].isna().all() and points["x_never"].sum() == 0:
        raise ValueError(f"no loss has a value of {x!r}")
    if points["y"].isna().all():
        raise ValueError(f"no loss has a value of {y!r}")
    runs = _runs(summary, points, x, y) if seeds and "seed" in summary.columns else None
    xlim = _limits(points["x"], points["x_sd"], None if runs is None else runs["x"])
    ylim = _limits(points["y"], points["y_sd"], None if runs is None else runs["y"])
    never = points["x"].isna() & (points["x_never"] > 0)
    strip = edge = None
    if never.any() or (runs is not None and runs["never"].any()):
        edge, strip = xlim[1], xlim[1] + 0.12 * (xlim[1] - xlim[0])
        ax.axvline(edge, color="0.6", lw=0.8, ls="--", zorder=1)
        xlim = (xlim[0], strip + 0.12 * (strip - xlim[0]))
    shown_x = points["x"].where(~never, strip)
    bars = []
    for (_, row), px in zip(points.iterrows(), shown_x):
        container = ax.errorbar(
            px,
            row["y"],
            xerr=None if np.isnan(row["x_sd"]) else row["x_sd"],
            yerr=None if np.isnan(row["y_sd"]) else row["y_sd"],
            fmt=">" if np.isnan(row["x"]) else "o",
            ms=7,
            capsize=3,
            color=loss_color(row["loss"]),
            zorder=3,
        )
        container.lines[0].set_gid(row["loss"])
        bars += list(container.lines[2])
    if runs is not None:
        for loss, dots in runs.groupby("loss", sort=False):
            xs = dots["x"].where(~dots["never"], strip)
            ax.scatter(xs, dots["y"], s=14, color=loss_color(loss), alpha=0.4, linewidths=0, zorder=2)
    ax.set(xlim=xlim, ylim=ylim)
    if strip is not None:  # the strip's tick says what it holds
        from matplotlib.ticker import MaxNLocator

        ticks = [tick for tick in MaxNLocator(nbins=4).tick_values(xlim[0], edge) if xlim[0] <= tick < edge]
        ax.set_xticks([*ticks, strip], [f"{tick:g}" for tick in ticks] + ["never"])
    ax.set_xlabel(axis_text(x))
    ax.set_ylabel(axis_text(y))
    regions = _region(ax, points, x, y, xlim, ylim) if region else []
    anchors = [
        (loss_label(row["loss"]), px, row["y"], loss_color(row["loss"]))
        for (_, row), px in zip(points.iterrows(), shown_x)
    ]
    return anchors, bars, regions


def _runs(summary: pd.DataFrame, points: pd.DataFrame, x: str, y: str) -> pd.DataFrame:
    """Every run of the losses of ``points``: ``loss``, ``x``, ``y`` and ``never`` (it does not compact)."""
    runs = summary[summary["loss"].isin(points["loss"])]
    change = never_column(x)
    never = (
        pd.to_numeric(runs[change], errors="coerce") >= 0
        if change and change in runs.columns
        else pd.Series(False, index=runs.index)
    )
    return pd.DataFrame(
        {
            "loss": runs["loss"],
            "x": pd.to_numeric(runs[x], errors="coerce").astype(float).mask(never),
            "y": pd.to_numeric(runs[y], errors="coerce").astype(float),
            "never": never.to_numpy(),
        }
    )


def _limits(values: pd.Series, spread: pd.Series, runs: Optional[pd.Series] = None) -> tuple:
    """The axis range: the finite values, their error bars (and every run), with 12 % room on each side."""
    sd = spread.fillna(0.0)
    ends = [values - sd, values + sd] + ([runs] if runs is not None else [])
    stacked = pd.concat(ends, ignore_index=True).dropna()
    if stacked.empty:
        return (0.0, 1.0)
    low, high = float(stacked.min()), float(stacked.max())
    if high == low:
        low, high = low - 0.5 * (abs(low) or 1.0), high + 0.5 * (abs(high) or 1.0)
    pad = 0.12 * (high - low)
    return (low - pad, high + pad)


def _region(ax, points: pd.DataFrame, x: str, y: str, xlim: tuple, ylim: tuple) -> list:
    """Shade the paper's two regions (module docstring); returns ``[(group, wordings, patch, corners)]``:
    each region's name on one line and on two, its patch, and its corners (the far one first)."""
    from matplotlib.patches import Rectangle

    from ..reproduction import COMPACTING, GRANULAR

    sides = {"x": predicted_sides(x), "y": predicted_sides(y)}
    if sides["x"] is None and sides["y"] is None:
        return []
    split = {
        "x": float(np.nanmedian(points["x"])) if points["x"].notna().any() else np.mean(xlim),
        "y": float(np.nanmedian(points["y"])) if points["y"].notna().any() else np.mean(ylim),
    }
    limits = {"x": xlim, "y": ylim}
    regions = []
    for group, members, sign in (("granular", GRANULAR, 1), ("compacting", COMPACTING, -1)):
        box = {}
        for axis in ("x", "y"):
            low, high = limits[axis]
            if sides[axis] is None:
                box[axis] = (low, high, None)
            elif sides[axis] * sign > 0:
                box[axis] = (split[axis], high, "high")
            else:
                box[axis] = (low, split[axis], "low")
        (x0, x1, xs), (y0, y1, ys) = box["x"], box["y"]
        patch = Rectangle(
            (x0, y0), x1 - x0, y1 - y0, color=REGION_COLORS[group], alpha=0.55, lw=0, zorder=0, gid=f"paper-{group}"
        )
        ax.add_patch(patch)
        far = (x1 if xs != "low" else x0, y1 if ys != "low" else y0)
        corners = [far] + [(cx, cy) for cx in (x1, x0) for cy in (y1, y0) if (cx, cy) != far]
        names = ", ".join(loss_label(name) for name in members)
        regions.append((group, (f"paper: {names}", f"paper:\n{names}"), patch, corners))
    return regions


def _name_regions(ax, regions: list, marks: list, bars: list) -> Optional[list]:
    """Name each region inside it, in the first corner (far one first; one line, then two) where the name
    stays inside the region and covers no point, error bar or other name; returns the texts, or None
    (nothing left drawn) when some region has no such corner."""
    from matplotlib.transforms import Bbox

    if not regions:
        return []
    renderer = layout_renderer(ax.figure)
    pixels = ax.figure.dpi / 72.0
    marks = [(mx, my) for mx, my in marks if np.isfinite(mx) and np.isfinite(my)]
    centres = ax.transData.transform(marks) if marks else np.empty((0, 2))
    taken = [
        Bbox.from_extents(cx - 5 * pixels, cy - 5 * pixels, cx + 5 * pixels, cy + 5 * pixels) for cx, cy in centres
    ]
    taken += [artist_box(bar, renderer) for bar in bars]
    texts = []
    for group, wordings, patch, corners in regions:
        text = ax.annotate(
            wordings[0],
            corners[0],
            xytext=(0, 0),
            textcoords="offset points",
            fontsize=FONT_SIZE,
            style="italic",
            color=REGION_TEXT[group],
            zorder=1,
            gid=f"paper-{group}-text",
        )
        text.set_in_layout(False)
        texts.append(text)
        area = patch.get_window_extent(renderer)
        for wording, corner in ((wording, corner) for wording in wordings for corner in corners):
            cx, cy = ax.transData.transform(corner)
            ha = "right" if np.isclose(cx, area.x1) else "left"
            va = "top" if np.isclose(cy, area.y1) else "bottom"
            text.set(text=wording, ha=ha, va=va)
            text.xy, text.xyann = corner, (-4 if ha == "right" else 4, -3 if va == "top" else 3)
            box = text_box(text, renderer)
            others = taken + [text_box(other, renderer) for other in texts[:-1]]
            if _hits(box, others) == 0 and _outside(box, area) < 1.0:
                break
        else:
            for placed in texts:
                placed.remove()
            return None
    return texts


def _region_legend(target, regions: list):
    """A legend of the regions' colours and names: under the panels of a figure (``target`` a Figure), or
    on the axes (``target`` an Axes someone else laid out)."""
    from matplotlib.figure import Figure
    from matplotlib.patches import Patch

    if not regions:
        return None
    handles = [
        Patch(facecolor=REGION_COLORS[group], alpha=0.55, label=wordings[0], gid=f"paper-{group}-legend")
        for group, wordings, _, _ in regions
    ]
    if isinstance(target, Figure):
        return target.legend(
            handles=handles, loc="outside lower center", ncols=len(handles), frameon=False, fontsize=FONT_SIZE
        )
    return target.legend(handles=handles, loc="best", frameon=False, fontsize=FONT_SIZE)
