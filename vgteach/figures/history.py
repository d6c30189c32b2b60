"""Per-epoch curves: one run's history panel by panel, or a study's history one line per loss.

A function given no ``axes`` draws on a new figure that pyplot never sees and returns it (the last
expression of a notebook cell shows it); given ``axes`` it draws there.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from .style import loss_color, new_figure

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
        Where to draw (at least ``len(panels)``); by default a new figure with rows of three panels.
    title : str, optional
        The figure's title.

    Returns
    -------
    matplotlib.figure.Figure
        The figure drawn on (in a notebook, the last expression of a cell shows it).
    """
    panels = _validate_history(history, panels)
    if axes is None:
        cols = min(3, len(panels))
        rows = math.ceil(len(panels) / cols)
        _, axes = new_figure(rows, cols, (4 * cols, 2.6 * rows), layout="constrained", squeeze=False)
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
        fig.suptitle(title)
    return fig


def plot_curves(history: pd.DataFrame, columns, axes=None, title=None):
    """One panel per ``(column, title)``: the per-epoch mean over seeds, one line per loss in its colour
    (:func:`~vgteach.figures.loss_color`), from a study's ``history.csv`` (its ``loss`` column naming the
    loss). Draws on ``axes`` or a new figure; returns the figure."""
    if axes is None:
        cols = 3 if len(columns) > 4 else len(columns)
        rows = math.ceil(len(columns) / cols)
        _, axes = new_figure(rows, cols, (4.2 * cols, 3.1 * rows), layout="tight", squeeze=False)
    axes = list(np.ravel(axes))
    for ax, (column, label) in zip(axes, columns):
        for loss, runs in history.groupby("loss", sort=False):
            mean = runs.groupby("epoch")[column].mean()
            plot_curve(ax, mean.index, mean.values, label=loss, color=loss_color(loss))
        ax.set(xlabel="epoch", title=label)
    for ax in axes[len(columns) :]:
        ax.axis("off")
    axes[0].legend(fontsize=8)
    if title:
        axes[0].figure.suptitle(title)
    return axes[0].figure
