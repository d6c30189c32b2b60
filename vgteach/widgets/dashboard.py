"""The greediness dashboard: per-epoch GREEDINESS and retrieval curves of several losses, side by side.

Zeng et al. (ICASSP 2026) separate losses that make *many small updates* (Contrastive, InfoNCE: most
terms stay active, gradient norms spread evenly, low Gini) from losses whose updates concentrate on few
samples (Triplet after the easy triplets die out: few active terms, high Gini). The dashboard plots the
per-epoch history columns of DESIGN.md §3 for every loss; a toggle highlights one loss against the others
(greyed), and the caption lists the final-epoch values.
"""

from __future__ import annotations

import html
from typing import Mapping, Optional, Sequence

import numpy as np
import pandas as pd
from matplotlib.ticker import MaxNLocator

from ..figures import FIGURE_WIDTH, TITLE_SIZE, frame_figure, loss_color, loss_label, plot_curve, readable
from ..figures.labels import loss_legend
from ._frames import FrameExplorer, frame_html, frame_stack, intro, link_index, widgets

#: (history column, axis label) of the four panels.
DASHBOARD_METRICS = (
    ("active_ratio", "active ratio"),
    ("grad_norm_mean", "mean ‖∂L/∂e‖"),
    ("grad_gini", "Gini of ‖∂L/∂e‖"),
    ("recall@1", "R@1"),
)
ALL = "all"
#: The final-values table's type: the caption's size (the frame's caption is 0.9 em), never under 12 CSS px,
#: 9 pt (96 px = 72 pt), the smallest text the book shows (figures.style.MIN_DISPLAYED_PT). It was 0.85 em
#: of the caption, about 8 pt on the page.
TABLE_FONT = "max(1em, 12px)"


#: Columns that may name the loss in a long-format history; a per-run history's numeric ``loss`` column
#: holds the loss *value* and is not one of them.
LOSS_NAME_COLUMNS = ("loss_name", "loss")


def split_long_history(history: pd.DataFrame) -> dict:
    """``{loss_name: rows}`` from a long-format history (e.g. a study's ``history.csv``)."""
    for column in LOSS_NAME_COLUMNS:
        if column in history.columns and not pd.api.types.is_numeric_dtype(history[column]):
            return {str(name): rows for name, rows in history.groupby(column, sort=False)}
    raise ValueError(
        "a single history DataFrame needs a column naming the loss ('loss_name', or 'loss' holding "
        "names); for one run's history pass a dict, e.g. {'triplet': result.history}"
    )


def histories_by_loss(histories, metrics: Sequence[tuple]) -> dict:
    """Normalise the input to ``{loss: DataFrame(epoch, *metrics)}``, averaging over seeds if present."""
    if isinstance(histories, pd.DataFrame):
        histories = split_long_history(histories)
    if not isinstance(histories, Mapping):
        raise TypeError(
            f"histories must be a dict loss_name -> DataFrame or a long DataFrame with a loss-name "
            f"column, got {type(histories).__name__}"
        )
    if not histories:
        raise ValueError("histories is empty: give at least one loss's training history")
    columns = [column for column, _ in metrics]
    tidy = {}
    for name, history in histories.items():
        if not isinstance(history, pd.DataFrame):
            raise TypeError(f"history of {name!r} must be a pandas DataFrame, got {type(history).__name__}")
        missing = [column for column in ["epoch", *columns] if column not in history.columns]
        if missing:
            raise ValueError(f"history of {name!r} lacks the columns {missing}")
        if history.empty:
            raise ValueError(f"history of {name!r} has no rows")
        # several seeds (or a resumed run) give several rows per epoch: show their mean
        tidy[str(name)] = history.groupby("epoch", as_index=False)[columns].mean().sort_values("epoch")
    return tidy


def draw_dashboard(tidy: Mapping[str, pd.DataFrame], metrics: Sequence[tuple], highlight: str):
    """One frame: a panel per metric, two to a row, one line per loss (the highlighted one thick, the others
    grey unless ``highlight`` is :data:`ALL`), and one legend of the coloured losses under the panels, by
    their display names (each line's label is its loss's name)."""
    rows = int(np.ceil(len(metrics) / 2))
    fig = frame_figure(FIGURE_WIDTH, 2.1 * rows + 0.8)
    axes = np.atleast_1d(fig.subplots(rows, 2, squeeze=False).ravel())
    for ax, (column, label) in zip(axes, metrics):
        # draw the greyed losses first so that the highlighted one is on top
        order = sorted(tidy, key=lambda name: name == highlight)
        for name in order:
            emphasised = highlight in (ALL, name)
            # evaluation columns are NaN between evaluations: plot_curve joins and marks the measured epochs
            plot_curve(
                ax,
                tidy[name]["epoch"],
                tidy[name][column],
                lw=2.2 if name == highlight else 1.4,
                color=loss_color(name) if emphasised else "0.8",
                label=name if emphasised else None,
            )
        ax.set_title(label, fontsize=TITLE_SIZE)
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        readable(ax)
    for ax in axes[len(metrics) :]:
        ax.set_visible(False)
    shown = [name for name in tidy if highlight in (ALL, name)]
    others = [("other losses", "0.8")] if len(shown) < len(tidy) else []
    loss_legend(fig, shown, marker="", extra=others)
    return fig


def last_measured(history: pd.DataFrame, column: str, last_epoch: int) -> str:
    """The last measured value of ``column`` (evaluation columns are NaN between evaluations), with its
    epoch when that is not the last one; "–" when the column was never measured."""
    measured = history[["epoch", column]].dropna()
    if measured.empty:
        return "–"
    epoch, value = int(measured["epoch"].iloc[-1]), float(measured[column].iloc[-1])
    return f"{value:.3g}" if epoch == last_epoch else f"{value:.3g} (epoch {epoch})"


def final_values_table(tidy: Mapping[str, pd.DataFrame], metrics: Sequence[tuple], highlight: str) -> str:
    """HTML table of the last-epoch values (all losses, or the highlighted one) — readable without the image.
    A column not measured at the last epoch shows its last measured value and that value's epoch."""
    names = list(tidy) if highlight == ALL else [highlight]
    header = "".join(f"<th>{html.escape(label)}</th>" for _, label in metrics)
    body = ""
    for name in names:
        history = tidy[name]
        last_epoch = int(history["epoch"].iloc[-1])
        cells = "".join(f"<td>{last_measured(history, column, last_epoch)}</td>" for column, _ in metrics)
        body += f"<tr><td><b>{html.escape(loss_label(name))}</b></td><td>{last_epoch}</td>{cells}</tr>"
    return (
        f'<table class="vgteach-table" style="font-size:{TABLE_FONT}"><thead><tr><th>loss</th><th>epoch</th>'
        f"{header}</tr></thead><tbody>{body}</tbody></table>"
    )


def greediness_dashboard(
    histories, metrics: Sequence[tuple] = DASHBOARD_METRICS, highlight: Optional[str] = None
) -> FrameExplorer:
    """Compare the GREEDINESS curves of several losses (active ratio, gradient norms, Gini, R@1 per epoch).

    Parameters
    ----------
    histories : dict or pandas.DataFrame
        ``{loss_name: history}`` with the training-history columns of CONTRACTS.md (``epoch`` plus the
        ``metrics`` columns), or one long DataFrame whose ``loss_name`` column (or a ``loss`` column holding
        names, not values) says which loss each row belongs to, e.g. a study's ``history.csv``. Rows
        sharing a loss and an epoch (several seeds) are averaged.
    metrics : sequence of (column, label)
        The panels, default :data:`DASHBOARD_METRICS`.
    highlight : str, optional
        The loss shown first (e.g. a loss chapter's own loss), coloured against the others in grey; default:
        all losses in colour. The toggle still switches to any other loss.

    Returns
    -------
    FrameExplorer
        ``.frames`` (``"all"`` first, then one per loss), ``.links``, ``.controls`` (``"highlight"``).
    """
    metrics = tuple(metrics)
    if not metrics:
        raise ValueError("metrics is empty: give at least one (column, label) pair")
    tidy = histories_by_loss(histories, metrics)
    options = [ALL, *tidy]
    if highlight is not None and highlight not in options:
        raise ValueError(f"highlight {highlight!r} is not among the losses of the histories; valid: {options}")
    first = options.index(highlight) if highlight is not None else 0
    frame_widgets = []
    for highlight in options:
        fig = draw_dashboard(tidy, metrics, highlight)
        caption = (
            "Final epoch, "
            + ("all losses" if highlight == ALL else html.escape(loss_label(highlight)))
            + ":"
            + final_values_table(tidy, metrics, highlight)
        )
        alt = f"per-epoch {', '.join(label for _, label in metrics)} of " + (
            "all losses" if highlight == ALL else f"{loss_label(highlight)} against the other losses"
        )
        frame_widgets.append(widgets.HTML(frame_html(fig, caption, alt)))
    toggle = widgets.ToggleButtons(  # labelled as the book names the losses, valued by their code names
        options=[(name if name == ALL else loss_label(name), name) for name in options],
        index=first,
        description="highlight",
        style={"button_width": "auto"},
    )
    stack = frame_stack(frame_widgets, selected_index=first)
    links = [link_index(toggle, "index", stack)]
    text = intro(
        "Per-epoch GREEDINESS of each loss: the share of loss terms still active, the mean and the "
        "Gini coefficient of the per-sample gradient norms (low Gini: many small updates; high: a "
        "few large ones) and R@1. Pick a loss to highlight it against the others."
    )
    return FrameExplorer([text, toggle, stack], frame_widgets, links, {"highlight": toggle})
