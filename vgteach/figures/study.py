"""A study's comparison figures: curves with a band over seeds (one panel, or several with
:func:`band_panels`), the loss × measure heatmap (seaborn), and one panel per loss of a study's final
arrays. The trade-off scatters are :mod:`~vgteach.figures.tradeoff`'s.

They read the tables a study writes (``vgteach study``, :func:`vgteach.results.load`) and keep their column
names: ``history.csv`` (one row per loss, seed and epoch; evaluation columns such as ``recall@1`` or
``intra`` are NaN on the epochs that were not evaluated) and ``summary.csv`` (one row per loss and seed)::

    from vgteach import figures, results
    reference = results.load("cifar10")
    figures.curves_with_bands(reference.history, "recall@1", highlight="triplet")
    figures.measure_heatmap(reference.summary, ["recall@1", "map@r", "intra", "grad_gini"])
    figures.band_panels([(reference.history, "recall@1", "R@1"), (reference.history, "intra", "intra")])

A function given no ``ax`` draws on a new figure that pyplot never sees and returns it (the last expression of
a notebook cell shows it); given an ``ax`` it draws there.
"""

from __future__ import annotations

import warnings
from typing import Optional, Sequence

import numpy as np
import pandas as pd

from ..losses import LOSS_NAMES
from .labels import end_labels, loss_legend
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

#: what the band around a curve shows by default: mean ± one standard deviation over seeds
BAND = "sd"
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


def _validate_frame(frame, what: str, columns: Sequence[str]) -> None:
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"{what} must be a pandas DataFrame, got {type(frame).__name__}")
    missing = [column for column in columns if column not in frame.columns]
    if missing:
        raise ValueError(f"{what} lacks the columns {missing}")
    if frame.empty:
        raise ValueError(f"{what} has no rows")


def _unknown(measures, frame: pd.DataFrame, what: str) -> None:
    unknown = [measure for measure in measures if measure not in frame.columns]
    if unknown:
        numeric = sorted(c for c in frame.select_dtypes("number").columns if c not in ("seed", "epoch", "num_seeds"))
        raise ValueError(f"{what} has no measure {', '.join(map(repr, unknown))}; valid: {numeric}")


def loss_order(losses) -> list:
    """The losses present, in :data:`~vgteach.losses.LOSS_NAMES` order (others after, in the order given)."""
    present = list(dict.fromkeys(losses))
    return [name for name in LOSS_NAMES if name in present] + [name for name in present if name not in LOSS_NAMES]


def band_data(history: pd.DataFrame, measure: str) -> pd.DataFrame:
    """The long-form rows :func:`curves_with_bands` draws: ``loss``, ``seed``, ``epoch`` and ``measure`` on the
    evaluated epochs only (rows where ``measure`` is NaN dropped).

    Raises
    ------
    ValueError
        When ``history`` lacks ``loss``/``epoch`` or ``measure`` (the message names it), or ``measure`` was
        never evaluated.
    """
    _validate_frame(history, "history", ("loss", "epoch"))
    _unknown([measure], history, "history")
    columns = ["loss", *(["seed"] if "seed" in history.columns else []), "epoch", measure]
    data = history[columns].dropna(subset=[measure])
    if data.empty:
        raise ValueError(f"history has no evaluated value of {measure!r} (every row is NaN)")
    return data.reset_index(drop=True)


def curves_with_bands(
    history: pd.DataFrame,
    measure: str,
    ax=None,
    highlight: Optional[str] = None,
    errorbar=BAND,
    title: Optional[str] = None,
    label: Optional[str] = None,
    legend: bool = True,
):
    """One line per loss over epochs: the mean over seeds of ``measure``, in a band that shows the seeds' spread.

    Only the evaluated epochs are drawn (NaN rows dropped, :func:`band_data`); each one gets a marker, and
    the line between two markers is only a guide. Losses follow :data:`~vgteach.losses.LOSS_NAMES` order
    in their colour (:func:`~vgteach.figures.loss_color`), the same in every panel.

    Parameters
    ----------
    history : pandas.DataFrame
        A study's ``history.csv`` (:attr:`vgteach.results.ReferenceResults.history`): columns ``loss``,
        ``epoch``, ``measure`` and, for a band, ``seed``.
    measure : str
        The column to draw, e.g. ``"recall@1"``, ``"map@r"`` or ``"intra"``.
    ax : matplotlib Axes, optional
        Where to draw; by default a new figure.
    highlight : str, optional
        One loss drawn thick and opaque; the others are drawn thin and faded.
    errorbar : str or tuple
        seaborn's ``errorbar`` of the band: ``"sd"`` (default, mean ± one standard deviation over seeds),
        ``("pi", 100)`` (the range of the seeds), ``None`` (no band). A single seed has no band.
    title, label : str, optional
        The panel's title and y-axis label (default: the measure's name, :func:`~.style.measure_label`).
    legend : bool
        Name each line at its end in the loss's colour (the book's display name, no two names
        overlapping: :func:`~vgteach.figures.labels.end_labels`). Several panels are better served by
        :func:`band_panels` (one legend under them).

    Returns
    -------
    matplotlib.figure.Figure
        The figure drawn on (:data:`~.style.FIGURE_WIDTH` wide when new). Each loss's mean line carries the
        loss's name as its ``gid``; its end label has ``gid = "end-label"``.

    Raises
    ------
    ValueError
        For a ``measure`` the history does not have (named in the message), or a ``highlight`` that is not
        one of its losses.
    """
    data = band_data(history, measure)
    losses = loss_order(data["loss"])
    if highlight is not None and highlight not in losses:
        raise ValueError(f"highlight {highlight!r} is not a loss of the history; valid: {losses}")
    if ax is None:
        _, ax = new_figure(1, 1, (FIGURE_WIDTH, 3.6))
    for name in losses:
        _band(ax, data, measure, name, errorbar if "seed" in data.columns else None, highlight)
    ax.set_xlabel("epoch")
    ax.set_ylabel(label or measure_label(measure))
    ax.set_title(title if title is not None else "", fontsize=TITLE_SIZE)
    if ax.get_legend() is not None:
        ax.get_legend().remove()
    readable(ax)
    if legend:
        ends = []
        for name in losses:
            means = data[data["loss"] == name].groupby("epoch")[measure].mean()
            strong = highlight is None or name == highlight
            weight = "bold" if highlight is not None and strong else "normal"
            colour = loss_color(name) if strong else _faded(loss_color(name))
            ends.append((loss_label(name), means.index[-1], means.iloc[-1], colour, weight))
        end_labels(ax, ends)
    return ax.figure


def _faded(colour: str) -> tuple:
    """``colour`` mixed with grey: a faded line's name, quieter than the highlighted one and still legible."""
    from matplotlib.colors import to_rgb

    return tuple(0.45 * np.asarray(to_rgb(colour)) + 0.55 * np.array([0.55, 0.55, 0.55]))


def band_panels(panels, highlight: Optional[str] = None, errorbar=BAND, title: Optional[str] = None):
    """Several :func:`curves_with_bands` panels, at most three to a row, and one legend under them.

    Parameters
    ----------
    panels : sequence of (history, measure, heading)
        One panel each: a study's ``history.csv``, the column it draws and the panel's title (the y axis is
        left unlabelled: the title names the measure). Panels may come from different studies, e.g. the
        same measure on two datasets.
    highlight, errorbar :
        As :func:`curves_with_bands`, in every panel.
    title : str, optional
        The figure's title.

    Returns
    -------
    matplotlib.figure.Figure
        :data:`~.style.FIGURE_WIDTH` wide; the legend names every loss of the panels in its colour.

    Examples
    --------
    >>> reference = results.load("cifar10")                                    # doctest: +SKIP
    >>> band_panels([(reference.history, m, h) for m, h in [("recall@1", "R@1"), ("intra", "intra")]])
    """
    panels = list(panels)
    if not panels:
        raise ValueError("panels is empty: give at least one (history, measure, heading)")
    for panel in panels:
        if not (isinstance(panel, (tuple, list)) and len(panel) == 3):
            raise TypeError(f"a panel is a (history, measure, heading) triple, got {panel!r}")
    rows, cols = panel_grid(len(panels))
    fig, axes = new_figure(rows, cols, (FIGURE_WIDTH, 2.5 * rows + 1.0), squeeze=False)
    losses = []
    for ax, (history, measure, heading) in zip(axes.flat, panels):
        curves_with_bands(history, measure, ax=ax, highlight=highlight, errorbar=errorbar, title=heading, legend=False)
        ax.set_ylabel("")
        losses += list(history["loss"])
    for ax in axes.flat[len(panels) :]:
        ax.set_visible(False)
    if title:
        fig.suptitle(title, fontsize=TITLE_SIZE)
    loss_legend(fig, loss_order(losses))
    return fig


def _band(ax, data: pd.DataFrame, measure: str, name: str, errorbar, highlight: Optional[str]) -> None:
    """One loss's mean line and band (:func:`curves_with_bands`), its lines tagged with ``gid = name``."""
    import seaborn as sns

    faded = highlight is not None and name != highlight
    before = len(ax.lines)
    sns.lineplot(
        data=data[data["loss"] == name],
        x="epoch",
        y=measure,
        estimator="mean",
        errorbar=errorbar,
        seed=0,
        color=loss_color(name),
        marker="o",
        markersize=3.5 if faded else 4.5,
        markeredgewidth=0,
        linewidth=1.0 if faded else (2.6 if highlight else 1.6),
        alpha=0.35 if faded else 1.0,
        err_kws={"alpha": 0.08 if faded else 0.2, "linewidth": 0},
        label=loss_label(name),
        ax=ax,
    )
    for line in ax.lines[before:]:
        line.set_gid(name)


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
    annotations = _annotations(means, measures)
    transpose = rows == "measures" or (rows == "auto" and means.shape[1] > means.shape[0])
    colours = colours.rename(index=loss_label)
    annotations = annotations.rename(index=loss_label)
    if transpose:
        colours, annotations = colours.T, annotations.T
    if ax is None:
        _, ax = new_figure(1, 1, (FIGURE_WIDTH, 1.3 + 0.34 * colours.shape[0]))
    options = _heatmap_colours(colours, scale, cmap)
    with warnings.catch_warnings():  # seaborn 0.13 calls Colormap.set_bad, which matplotlib 3.11 deprecates
        warnings.simplefilter("ignore", PendingDeprecationWarning)
        sns.heatmap(
            colours, annot=annotations, fmt="", annot_kws={"fontsize": FONT_SIZE}, linewidths=0.5, ax=ax, **options
        )
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
    return ax.figure


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


def loss_panels(runs, title: str, draw, panel_height: float = 2.3):
    """One panel per run, at most three to a row (:func:`~.style.panel_grid`): ``draw(ax, row, final)`` for
    each ``(row, final)`` of ``runs`` (a study summary row and its ``final.npz`` arrays); returns the figure,
    :data:`~.style.FIGURE_WIDTH` wide."""
    runs = list(runs)
    if not runs:
        raise ValueError("runs is empty: give at least one (row, final) pair")
    rows, cols = panel_grid(len(runs))
    fig, axes = new_figure(rows, cols, (FIGURE_WIDTH, panel_height * rows + 0.4), squeeze=False)
    for ax, (row, final) in zip(axes.flat, runs):
        draw(ax, row, final)
        readable(ax)
    for ax in axes.flat[len(runs) :]:
        ax.set_visible(False)
    fig.suptitle(title, fontsize=TITLE_SIZE)
    return fig


def grad_norm_panels(runs, title: str = "per-sample gradient norms on one batch after training"):
    """Per run (:func:`loss_panels`): the histogram of the per-sample gradient norms ‖∂L/∂e_i‖ of one batch
    after training (``final["grad_norms"]``), in the loss's colour, the loss's display name and its Gini in
    the title."""

    def draw(ax, row, final):
        ax.hist(final["grad_norms"], bins=30, color=loss_color(row["loss"]))
        ax.set_title(f"{loss_label(row['loss'])}\nGini {row['grad_gini']:.2f}", fontsize=FONT_SIZE)
        ax.set_xlabel("‖∂L/∂e_i‖")

    return loss_panels(runs, title, draw)
