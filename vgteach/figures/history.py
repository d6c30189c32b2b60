"""Per-epoch curves: one run's history panel by panel, or a study's history one line per loss.

A function given no ``axes`` draws on a new figure that pyplot never sees and returns it (the last
expression of a notebook cell shows it); given ``axes`` it draws there.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .labels import end_labels, loss_legend
from .style import FIGURE_WIDTH, TITLE_SIZE, loss_color, loss_label, new_figure, panel_grid, readable

#: (history column, title) of the panels of :func:`plot_history`: one run's loss, retrieval, VARIANCE and
#: GREEDINESS per epoch.
HISTORY_PANELS = (
    ("train_loss", "training loss"),
    ("recall@1", "R@1"),
    ("intra", "intra-class variance"),
    ("inter", "inter-class variance"),
    ("active_ratio", "active ratio"),
    ("grad_gini", "Gini of ‖∂L/∂e‖"),
)
#: a curve with at most this many points gets a marker on every point
MARKER_POINTS = 40


def plot_curve(ax, epoch, values, **style):
    """Draw one per-epoch curve on ``ax``, skipping NaN (epochs without an evaluation), with a marker on
    every drawn point when some epochs were skipped or there are few points: the dots are the epochs
    that were really measured, the lines between them are only a guide."""
    values = pd.Series(np.asarray(values, dtype=float), index=np.asarray(epoch))
    kept = values.dropna()
    sparse = len(kept) < len(values) or len(kept) <= MARKER_POINTS
    style = {"marker": "o" if sparse else None, "ms": 3, **style}
    return ax.plot(kept.index, kept.values, **style)


def _validate_history(history, panels) -> tuple:
    panels = tuple(panels)
    if not isinstance(history, pd.DataFrame):
        raise TypeError(f"history must be a pandas DataFrame, got {type(history).__name__}")
    if not panels:
        raise ValueError("panels is empty: give at least one (column, title) pair")
    missing = [column for column in ["epoch", *(c for c, _ in panels)] if column not in history.columns]
    if missing:
        raise ValueError(f"history lacks the columns {missing}")
    if history.empty:
        raise ValueError("history has no rows")
    return panels


def plot_history(history: pd.DataFrame, panels=HISTORY_PANELS, axes=None, title=None):
    """One panel per history column: the curves of one training run (seeds averaged per epoch).

    Evaluation columns (R@1, VARIANCE, ...) are measured on the evaluated epochs only (NaN elsewhere);
    their curves join the measured points, which are marked (:func:`plot_curve`).

    Parameters
    ----------
    history : pandas.DataFrame
        ``TrainResult.history`` (or several seeds' rows of one loss): ``epoch`` plus the ``panels`` columns.
    panels : sequence of (column, title)
        Default :data:`HISTORY_PANELS`.
    axes : sequence of matplotlib Axes, optional
        Where to draw (at least ``len(panels)``); by default a new figure, :data:`~.style.FIGURE_WIDTH`
        wide, with at most three panels in a row (:func:`~.style.panel_grid`).
    title : str, optional
        The figure's title.

    Returns
    -------
    matplotlib.figure.Figure
        The figure drawn on (in a notebook, the last expression of a cell shows it).
    """
    panels = _validate_history(history, panels)
    if axes is None:
        rows, cols = panel_grid(len(panels))
        _, axes = new_figure(rows, cols, (FIGURE_WIDTH, 2.3 * rows + 0.3), squeeze=False)
    axes = list(np.ravel(axes))
    if len(axes) < len(panels):
        raise ValueError(f"{len(panels)} panels need as many axes, got {len(axes)}")
    mean = history.groupby("epoch", as_index=False)[[c for c, _ in panels]].mean()  # seeds -> their mean
    for ax, (column, label) in zip(axes, panels):
        plot_curve(ax, mean["epoch"], mean[column])
        ax.set(title=label, xlabel="epoch")
    for ax in axes[len(panels) :]:
        ax.set_visible(False)
    fig = axes[0].figure
    if title:
        fig.suptitle(title, fontsize=TITLE_SIZE)
    for ax in axes[: len(panels)]:
        readable(ax)
    return fig


def plot_curves(history: pd.DataFrame, columns, axes=None, title=None):
    """One panel per ``(column, title)``: the per-epoch mean over seeds, one line per loss in its colour
    (:func:`~vgteach.figures.loss_color`), from a study's ``history.csv`` (its ``loss`` column naming the
    loss, in :data:`~vgteach.losses.LOSS_NAMES` order).

    On a new figure (:data:`~.style.FIGURE_WIDTH` wide, at most three panels in a row) one panel names each
    line at its end (:func:`~vgteach.figures.labels.end_labels`) and several panels share one legend under
    them, with the losses' display names; on the given ``axes`` the first panel gets the legend. Each line
    is labelled with its loss's name (``Line2D.get_label()``). Returns the figure."""
    from .study import loss_order

    columns = list(columns)
    given = axes is not None
    if not given:
        rows, cols = panel_grid(len(columns))
        height = 3.4 if len(columns) == 1 else 2.3 * rows + 0.9
        _, axes = new_figure(rows, cols, (FIGURE_WIDTH, height), squeeze=False)
    axes = list(np.ravel(axes))
    losses = loss_order(history["loss"])
    for ax, (column, label) in zip(axes, columns):
        for loss in losses:
            mean = history[history["loss"] == loss].groupby("epoch")[column].mean()
            plot_curve(ax, mean.index, mean.values, label=loss, color=loss_color(loss))
        ax.set_xlabel("epoch")
        ax.set_title(label, fontsize=TITLE_SIZE)
        readable(ax)
    for ax in axes[len(columns) :]:
        ax.axis("off")
    fig = axes[0].figure
    if title:
        fig.suptitle(title, fontsize=TITLE_SIZE)
    if given:
        axes[0].legend(handles=axes[0].lines[: len(losses)], labels=[loss_label(name) for name in losses], fontsize=10)
    elif len(columns) == 1:
        end_labels(
            axes[0], [(loss_label(line.get_label()), *_last_point(line), line.get_color()) for line in axes[0].lines]
        )
    else:
        loss_legend(fig, losses)
    return fig


def _last_point(line) -> tuple:
    """The last drawn point of ``line`` (NaN, NaN when it has none)."""
    x, y = np.asarray(line.get_xdata(), dtype=float), np.asarray(line.get_ydata(), dtype=float)
    kept = np.isfinite(x) & np.isfinite(y)
    return (x[kept][-1], y[kept][-1]) if kept.any() else (np.nan, np.nan)
