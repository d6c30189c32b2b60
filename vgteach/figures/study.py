"""A study's comparison figures: curves with a band over seeds (one panel, or several with
:func:`band_panels`) and one panel per loss of a study's final arrays. The loss × measure heatmap is
:mod:`~vgteach.figures.heatmap`'s, the trade-off scatters are :mod:`~vgteach.figures.tradeoff`'s.

They read the tables a study writes (``vgteach study``, :func:`vgteach.results.load`) and keep their column
names: ``history.csv`` (one row per loss, seed and epoch; evaluation columns such as ``recall@1`` or
``intra`` are NaN on the epochs that were not evaluated) and ``summary.csv`` (one row per loss and seed)::

    from vgteach import figures, results
    reference = results.load("cifar10")
    figures.curves_with_bands(reference.history, "recall@1", highlight="triplet")
    figures.band_panels([(reference.history, "recall@1", "R@1"), (reference.history, "intra", "intra")])

A function given no ``ax`` draws on a new figure that pyplot never sees and returns it (the last expression of
a notebook cell shows it); given an ``ax`` it draws there.
"""

from __future__ import annotations

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
    ax = _draw_bands(ax, data, measure, losses, errorbar if "seed" in data.columns else None, highlight)
    _label_panel(ax, label or measure_label(measure), title)
    if legend:
        end_labels(ax, _curve_ends(data, measure, losses, highlight))
    return ax.figure


def _draw_bands(ax, data: pd.DataFrame, measure: str, losses, errorbar, highlight: Optional[str]):
    """Each loss's :func:`_band` on ``ax`` (a new figure's when None); returns the axes drawn on."""
    if ax is None:
        _, ax = new_figure(1, 1, (FIGURE_WIDTH, 3.6))
    for name in losses:
        _band(ax, data, measure, name, errorbar, highlight)
    return ax


def _label_panel(ax, ylabel: str, title: Optional[str]) -> None:
    """Epochs on x, ``ylabel`` on y, the ``title`` (or none); seaborn's legend removed."""
    ax.set_xlabel("epoch")
    ax.set_ylabel(ylabel)
    ax.set_title(title if title is not None else "", fontsize=TITLE_SIZE)
    if ax.get_legend() is not None:
        ax.get_legend().remove()
    readable(ax)


def _curve_ends(data: pd.DataFrame, measure: str, losses, highlight: Optional[str]) -> list:
    """The ``(name, epoch, mean, colour, weight)`` of each loss's last evaluated point, for :func:`end_labels`:
    the highlighted loss's name bold, the others' faded."""
    ends = []
    for name in losses:
        means = data[data["loss"] == name].groupby("epoch")[measure].mean()
        strong = highlight is None or name == highlight
        weight = "bold" if highlight is not None and strong else "normal"
        colour = loss_color(name) if strong else _faded(loss_color(name))
        ends.append((loss_label(name), means.index[-1], means.iloc[-1], colour, weight))
    return ends


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
