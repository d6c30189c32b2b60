"""The losses × measures heatmap of a study (seaborn): each cell a loss's mean over seeds, coloured by where
it stands in its column, so that measures of very different scales share one colour scale::

    from vgteach import figures, results
    reference = results.load("cifar10")
    figures.measure_heatmap(reference.summary, ["recall@1", "map@r", "intra", "grad_gini"])

:func:`heatmap_table` computes the two tables drawn (the means and the colours), :func:`cell_text` the text of
a cell.
"""

from __future__ import annotations

import warnings
from typing import Optional

import numpy as np
import pandas as pd

from .study import _unknown, _validate_frame, loss_order
from .style import FIGURE_WIDTH, FONT_SIZE, TITLE_SIZE, loss_label, new_figure, readable

#: (summary column, heading) of the DESIGN.md measures, the default columns of :func:`measure_heatmap`:
#: retrieval, VARIANCE, GREEDINESS and speed (epochs relative to the untrained head)
STUDY_MEASURES = (
    ("recall@1", "R@1"),
    ("map@r", "MAP@R"),
    ("nmi", "NMI"),
    ("intra", "intra"),
    ("inter", "inter"),
    ("centroid_dist_cv", "spacing cv"),
    ("within_class_rank", "within-class rank"),
    ("intra_change", "Δ intra"),
    ("active_ratio", "active ratio"),
    ("effective_active_ratio", "effective active ratio"),
    ("grad_gini", "Gini"),
    ("convergence_epoch", "R@1 conv. epoch"),
    ("compaction_epoch", "compaction epoch"),
)


def _measure_names(measures) -> list:
    """``measures`` as ``[(column, heading)]``: each item a column name or a ``(column, heading, ...)`` tuple."""
    if isinstance(measures, str):
        measures = [measures]
    pairs = []
    for item in measures:
        if isinstance(item, str):
            pairs.append((item, item))
        elif isinstance(item, (tuple, list)) and item and isinstance(item[0], str):
            pairs.append((item[0], str(item[1]) if len(item) > 1 else item[0]))
        else:
            raise TypeError(f"a measure is a column name or a (column, heading) pair, got {item!r}")
    if not pairs:
        raise ValueError("measures is empty: give at least one column")
    return pairs


def heatmap_table(summary: pd.DataFrame, measures, scale: str = "z") -> tuple:
    """The two tables :func:`measure_heatmap` draws: per-loss means over seeds, and the colour of each cell.

    Parameters
    ----------
    summary : pandas.DataFrame
        A study's ``summary.csv`` (one row per loss and seed) or ``summary_by_loss.csv`` (one row per loss).
    measures : sequence of str or (column, heading)
        The columns, in order.
    scale : ``"z"`` or ``"rank"``
        The colour of a cell: ``"z"`` (default) its column's standardised value over the losses, (value −
        mean) / std, 0 where the losses are all equal; ``"rank"`` its rank among the losses (1 = the
        largest, ties share the better rank, as :func:`vgteach.results.ranks`).

    Returns
    -------
    (means, colours) : two pandas.DataFrame
        Index: the losses in :data:`~vgteach.losses.LOSS_NAMES` order; columns: the measures' headings.
    """
    if scale not in ("z", "rank"):
        raise ValueError(f"scale must be 'z' or 'rank', got {scale!r}")
    pairs = _measure_names(measures)
    _validate_frame(summary, "summary", ("loss",))
    _unknown([column for column, _ in pairs], summary, "summary")
    columns = [column for column, _ in pairs]
    means = summary.groupby("loss", sort=False)[columns].mean().astype(float)
    means = means.reindex(loss_order(means.index))
    means.columns = [heading for _, heading in pairs]
    if scale == "rank":
        colours = means.rank(ascending=False, method="min")
    else:
        spread = means.std(ddof=1).replace(0.0, np.nan)
        colours = ((means - means.mean()) / spread).where(means.notna())
        colours = colours.fillna(0.0).where(means.notna())
    return means, colours


def cell_text(value: float) -> str:
    """A cell's annotation: three decimals below 10, one from 10, none from 1000 (``0.744``, ``36.7``)."""
    if pd.isna(value):
        return ""
    size = abs(value)
    return f"{value:.3f}" if size < 10 else f"{value:.1f}" if size < 1000 else f"{value:.0f}"


def measure_heatmap(
    summary: pd.DataFrame,
    measures=STUDY_MEASURES,
    ax=None,
    scale: str = "z",
    title: Optional[str] = None,
    cmap: str = "vlag",
    rows: str = "auto",
):
    """The losses × measures heatmap: each cell annotated with the loss's mean value over seeds (:func:`cell_text`;
    epochs with one decimal), coloured by where that value stands in its column, so that measures of very
    different scales share one colour scale.

    Parameters
    ----------
    summary : pandas.DataFrame
        A study's ``summary.csv`` (seeds are averaged) or ``summary_by_loss.csv``; a ``loss`` column.
    measures : sequence of str or (column, heading)
        The columns (e.g. ``"recall@1"`` or ``("recall@1", "R@1")``; the triples of
        :data:`vgteach.results.RANK_MEASURES` work too). Default :data:`STUDY_MEASURES`.
    ax : matplotlib Axes, optional
        Where to draw; by default a new figure.
    scale : ``"z"`` or ``"rank"``
        The colour (:func:`heatmap_table`): the standardised value (red: above the losses' average, blue:
        below) or the rank (1 = largest, red).
    title : str, optional
        The panel's title.
    cmap : str
        A diverging colour map.
    rows : ``"auto"``, ``"losses"`` or ``"measures"``
        What the rows are: by default the longer list (the thirteen :data:`STUDY_MEASURES` as rows and the
        losses as columns, so that the cells' numbers fit the book's column), or the one named.

    Returns
    -------
    matplotlib.figure.Figure
        The figure drawn on (:data:`~.style.FIGURE_WIDTH` wide when new); losses by their display names.

    Raises
    ------
    ValueError
        For a measure the summary does not have (named in the message), or an unknown ``rows``.
    """
    import seaborn as sns

    if rows not in ("auto", "losses", "measures"):
        raise ValueError(f"rows must be 'auto', 'losses' or 'measures', got {rows!r}")
    means, colours = heatmap_table(summary, measures, scale=scale)
    colours, annotations = _oriented(means, colours, _annotations(means, measures), rows)
    if ax is None:
        _, ax = new_figure(1, 1, (FIGURE_WIDTH, 1.3 + 0.34 * colours.shape[0]))
    options = _heatmap_colours(colours, scale, cmap)
    with warnings.catch_warnings():  # seaborn 0.13 calls Colormap.set_bad, which matplotlib 3.11 deprecates
        warnings.simplefilter("ignore", PendingDeprecationWarning)
        sns.heatmap(
            colours, annot=annotations, fmt="", annot_kws={"fontsize": FONT_SIZE}, linewidths=0.5, ax=ax, **options
        )
    _label_heatmap(ax, title)
    return ax.figure


def _oriented(means: pd.DataFrame, colours: pd.DataFrame, annotations: pd.DataFrame, rows: str) -> tuple:
    """``colours`` and ``annotations`` with the losses by their display names, transposed when the measures are
    the rows (``rows="measures"``, or ``"auto"`` with more measures than losses)."""
    transpose = rows == "measures" or (rows == "auto" and means.shape[1] > means.shape[0])
    colours = colours.rename(index=loss_label)
    annotations = annotations.rename(index=loss_label)
    if transpose:
        colours, annotations = colours.T, annotations.T
    return colours, annotations


def _label_heatmap(ax, title: Optional[str]) -> None:
    """The title, no axis labels, the column names slanted to end under their column; the colour bar too
    made :func:`~.style.readable`."""
    ax.set(xlabel="", ylabel="")
    ax.set_title(title or "", fontsize=TITLE_SIZE)
    ax.tick_params(axis="x", labelrotation=30, labelsize=FONT_SIZE)
    ax.tick_params(axis="y", labelrotation=0, labelsize=FONT_SIZE)
    for text in ax.get_xticklabels():
        text.set_horizontalalignment("right")
        text.set_rotation_mode("anchor")
    for axes in ax.figure.axes:
        if axes is ax or axes.get_label() == "<colorbar>":
            readable(axes)


def _annotations(means: pd.DataFrame, measures) -> pd.DataFrame:
    """The text of each heatmap cell: :func:`cell_text`, epochs with one decimal as the summary tables."""
    annotations = means.map(cell_text)
    for column, heading in _measure_names(measures):
        if column.endswith("_epoch"):
            annotations[heading] = means[heading].map(lambda value: "" if pd.isna(value) else f"{value:.1f}")
    return annotations


def _heatmap_colours(colours: pd.DataFrame, scale: str, cmap: str) -> dict:
    """seaborn's colour options for a ``"rank"`` or a ``"z"`` heatmap (symmetric about 0, at least ±1)."""
    if scale == "rank":
        return {"cmap": f"{cmap}_r", "vmin": 1, "vmax": len(colours), "cbar_kws": {"label": "rank (1 = largest)"}}
    bound = max(1.0, float(np.nanmax(np.abs(colours.to_numpy()))))
    return {
        "cmap": cmap,
        "center": 0.0,
        "vmin": -bound,
        "vmax": bound,
        "cbar_kws": {"label": "standardised over losses (z)"},
    }
