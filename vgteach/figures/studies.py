"""The figures of the protocol and sweep studies (DESIGN §4-§5): transfer, three protocols, temperature.

Each reads the tables a study writes (``summary.csv``: one row per loss and seed; columns ``loss``,
``seed``, ``setting`` where a sweep has one, ``recall@1``, ``map@r``, ``ratio``, ``intra``,
``train_spectral_decay``, …) and draws one question:

- :func:`transfer_scatter`: does the training split's compression predict retrieval on unseen classes?
  One point per run, coloured by loss, with the Spearman ρ of :func:`vgteach.reproduction.
  transfer_correlations` and its bootstrap interval in the title.
- :func:`protocol_slopes`: how each loss's R@1 moves from the closed protocol to zero-shot and
  coarse-to-fine (a slope chart, one line per loss, named at its end).
- :func:`temperature_sweep`: intra/inter and R@1 against the temperature τ for InfoNCE and SupCon.

::

    from vgteach import figures
    from vgteach.reproduction import transfer_correlations
    table = transfer_correlations(zero_shot.summary)
    row = table[(table.measure == "train_spectral_decay") & (table.target == "recall@1")].iloc[0]
    figures.transfer_scatter(zero_shot.summary, row.rho, (row.low, row.high))
    figures.protocol_slopes({"closed": closed.summary, "zero-shot": zero_shot.summary,
                             "coarse-to-fine": coarse.summary})
    figures.temperature_sweep(tau_study.summary)
"""

from __future__ import annotations

import re
from typing import Mapping, Optional, Sequence

import numpy as np
import pandas as pd

from .labels import end_labels, loss_legend
from .style import (
    FIGURE_WIDTH,
    TITLE_SIZE,
    loss_color,
    loss_label,
    measure_label,
    new_figure,
    panel_grid,
    readable,
)

#: the protocols' names on the slope chart's axis, in the order of DESIGN §4
PROTOCOL_ORDER = ("closed", "zero-shot", "coarse-to-fine")
#: the panels of :func:`temperature_sweep`: (summary column, title)
SWEEP_MEASURES = (("ratio", "intra / inter"), ("recall@1", "R@1"))


def _check(summary, what: str, columns: Sequence[str]) -> None:
    from .study import _unknown, _validate_frame

    _validate_frame(summary, what, ("loss",))
    _unknown(list(columns), summary, what)


def mean_and_spread(summary: pd.DataFrame, column: str, by: Sequence[str] = ("loss",)) -> pd.DataFrame:
    """Per group of ``by``: the mean of ``column`` over seeds (``mean``), their standard deviation (``sd``,
    NaN for one seed) and how many runs (``runs``), groups in the order they first appear."""
    values = summary.assign(_value=pd.to_numeric(summary[column], errors="coerce"))
    grouped = values.groupby(list(by), sort=False)["_value"]
    return pd.DataFrame({"mean": grouped.mean(), "sd": grouped.std(ddof=1), "runs": grouped.count()}).reset_index()


def correlation_text(rho: float, interval, measure: str) -> str:
    """``"Spearman ρ = −0.52 (95 % interval −0.86 to 0.10); Roth et al.: negative"``; the Roth et al. part
    only for the measures whose sign they report (:data:`vgteach.reproduction.ROTH`)."""
    from ..reproduction import ROTH

    low, high = (np.nan, np.nan) if interval is None else (float(interval[0]), float(interval[1]))
    if rho is None or np.isnan(rho):
        text = "Spearman ρ not measured"
    else:
        text = f"Spearman ρ = {_signed(rho)}"
        if np.isfinite(low) and np.isfinite(high):
            text += f" (95 % interval {_signed(low)} to {_signed(high)})"
    if measure in ROTH:
        text += f"; Roth et al.: {'negative' if ROTH[measure] < 0 else 'positive'}"
    return text


def _signed(value: float) -> str:
    return f"{value:.2f}".replace("-", "−")


def transfer_scatter(
    summary: pd.DataFrame,
    rho: float,
    interval,
    measure: str = "train_spectral_decay",
    target: str = "recall@1",
    ax=None,
    title: Optional[str] = None,
):
    """Zero-shot retrieval against a training-split measure: one point per (loss, seed), coloured by loss.

    Parameters
    ----------
    summary : pandas.DataFrame
        The zero-shot study's ``summary.csv``: ``loss``, ``measure`` and ``target`` columns (a ``seed``
        column is not needed: every row is a point).
    rho : float
        Spearman's ρ between ``measure`` and ``target`` over the runs (the ``rho`` of
        :func:`vgteach.reproduction.transfer_correlations`; NaN: not measured).
    interval : (float, float) or None
        Its bootstrap interval (``low``, ``high`` of the same row).
    measure, target : str
        The x and y columns: default the training split's spectral decay and R@1 on the unseen classes.
    ax : matplotlib Axes, optional
        Where to draw (then the losses are named in a legend on it); by default a new figure with one
        legend under the panel.
    title : str, optional
        The first line of the title; the second is :func:`correlation_text`.

    Returns
    -------
    matplotlib.figure.Figure
        Each loss's points are one ``PathCollection`` with ``gid`` the loss.
    """
    _check(summary, "summary", (measure, target))
    from .study import loss_order

    given = ax is not None
    if not given:
        _, ax = new_figure(1, 1, (FIGURE_WIDTH, 4.4))
    losses = loss_order(summary["loss"])
    for loss in losses:
        _scatter_runs(ax, summary[summary["loss"] == loss], loss, measure, target)
    _transfer_labels(ax, rho, interval, measure, target, title)
    readable(ax)
    if given:
        ax.legend(fontsize=10, frameon=False)
    else:
        loss_legend(ax.figure, losses, line=False)
    return ax.figure


def _scatter_runs(ax, runs: pd.DataFrame, loss: str, measure: str, target: str) -> None:
    """One loss's runs as points in its colour (one ``PathCollection``, ``gid`` the loss)."""
    ax.scatter(
        pd.to_numeric(runs[measure], errors="coerce"),
        pd.to_numeric(runs[target], errors="coerce"),
        s=36,
        color=loss_color(loss),
        edgecolors="white",
        linewidths=0.5,
        label=loss_label(loss),
        gid=loss,
        zorder=3,
    )


def _transfer_labels(ax, rho: float, interval, measure: str, target: str, title: Optional[str]) -> None:
    """The axes' labels and a two-line title: ``title`` (or what is plotted) over :func:`correlation_text`."""
    ax.set_xlabel(measure_label(measure))
    ax.set_ylabel(f"{measure_label(target)}, unseen classes")
    first = title if title is not None else f"Zero-shot {measure_label(target)} against the {measure_label(measure)}"
    ax.set_title(f"{first}\n{correlation_text(rho, interval, measure)}", fontsize=TITLE_SIZE)


def protocol_slopes(
    summaries: Mapping[str, pd.DataFrame],
    measure: str = "recall@1",
    ax=None,
    title: Optional[str] = None,
):
    """One line per loss across the protocols: its mean ``measure`` over seeds under each (error bars: the
    seeds' standard deviation), named at its end, so that a loss whose rank changes is seen to cross.

    Parameters
    ----------
    summaries : mapping protocol -> pandas.DataFrame
        Each protocol's study ``summary.csv`` (one row per loss and seed), in the order to draw them, e.g.
        ``{"closed": …, "zero-shot": …, "coarse-to-fine": …}`` (:data:`PROTOCOL_ORDER`). A loss missing
        from a study has no point there.
    measure : str
        ``"recall@1"`` (default) or ``"map@r"``, or any summary column.
    ax : matplotlib Axes, optional
    title : str, optional

    Returns
    -------
    matplotlib.figure.Figure
        Each loss's line is a ``Line2D`` with ``gid`` the loss (its y: the means, NaN where missing).
    """
    from .study import loss_order

    if not isinstance(summaries, Mapping) or not summaries:
        raise ValueError("summaries must be a non-empty mapping protocol -> study summary")
    for name, summary in summaries.items():
        _check(summary, f"summary of {name!r}", (measure,))
    protocols = list(summaries)
    losses = loss_order([loss for summary in summaries.values() for loss in summary["loss"]])
    table = pd.concat([mean_and_spread(summary, measure).assign(protocol=name) for name, summary in summaries.items()])
    if ax is None:
        _, ax = new_figure(1, 1, (FIGURE_WIDTH, 4.2))
    dodge = 0.14 / max(len(losses) - 1, 1)
    ends = []
    for k, loss in enumerate(losses):
        rows = table[table["loss"] == loss].set_index("protocol").reindex(protocols)
        x = np.arange(len(protocols)) + (k - (len(losses) - 1) / 2) * dodge
        colour = loss_color(loss)
        (line,) = ax.plot(x, rows["mean"].to_numpy(float), color=colour, marker="o", ms=5, lw=1.6, gid=loss)
        ax.errorbar(x, rows["mean"], yerr=rows["sd"].fillna(0.0), fmt="none", ecolor=colour, elinewidth=1, capsize=2)
        kept = rows["mean"].notna().to_numpy()
        if kept.any():
            last = np.flatnonzero(kept)[-1]
            ends.append((loss_label(loss), x[last], rows["mean"].iloc[last], colour))
    ax.set_xticks(range(len(protocols)), protocols)
    ax.set_xlim(-0.25, len(protocols) - 0.75)
    ax.set_ylabel(measure_label(measure))
    ax.set_title(
        title if title is not None else f"{measure_label(measure)} of each loss under each protocol",
        fontsize=TITLE_SIZE,
    )
    readable(ax)
    # every name starts right of the rightmost point: the dodge puts other losses' last points to the right of
    # a line's own, where a name written beside its own point would cover them
    right = max((end[1] for end in ends), default=0.0)
    end_labels(ax, [(text, right, y, colour) for text, _, y, colour in ends])
    return ax.figure


def tau_of(setting) -> float:
    """The temperature of a ``setting`` such as ``"tau=0.05"`` (also ``"τ=0.05"``, ``"temperature=0.05"``).

    Raises ValueError for a setting that names no temperature."""
    match = re.fullmatch(r"\s*(?:tau|τ|temperature)\s*=\s*([0-9.eE+-]+)\s*", str(setting))
    if match is None:
        raise ValueError(f"setting {setting!r} names no temperature: expected e.g. 'tau=0.05'")
    try:
        return float(match.group(1))
    except ValueError:
        raise ValueError(f"setting {setting!r} names no temperature: expected e.g. 'tau=0.05'") from None


def temperature_sweep(
    summary: pd.DataFrame,
    losses: Sequence[str] = ("infonce", "supcon"),
    measures=SWEEP_MEASURES,
    title: Optional[str] = None,
):
    """Each measure against the temperature τ (log axis), one line per loss: the mean over seeds at each τ
    with the seeds' standard deviation as error bars; one panel per measure (at most three to a row) and
    one legend under them.

    Parameters
    ----------
    summary : pandas.DataFrame
        The temperature study's ``summary.csv``: ``loss``, ``seed``, ``setting`` (``"tau=0.05"``, …:
        :func:`tau_of`) and the ``measures`` columns.
    losses : sequence of str
        The losses to draw (default InfoNCE and SupCon, the two with a temperature).
    measures : sequence of (column, title)
        Default :data:`SWEEP_MEASURES`: intra/inter and R@1.
    title : str, optional

    Returns
    -------
    matplotlib.figure.Figure
        Each line a ``Line2D`` with ``gid`` the loss, its x the temperatures in increasing order.

    Raises
    ------
    ValueError
        For a missing column, a loss the summary lacks, or a setting that names no temperature.
    """
    measures = [tuple(item) for item in measures]
    _check(summary, "summary", ("setting", *(column for column, _ in measures)))
    missing = [loss for loss in losses if loss not in set(summary["loss"])]
    if missing:
        raise ValueError(f"the summary has no runs of {missing}; it has {sorted(set(summary['loss']))}")
    data = summary[summary["loss"].isin(losses)].assign(tau=lambda frame: frame["setting"].map(tau_of))
    rows, cols = panel_grid(len(measures))
    fig, axes = new_figure(rows, cols, (FIGURE_WIDTH, 2.8 * rows + 0.8), squeeze=False)
    taus = sorted(data["tau"].unique())
    for ax, (column, heading) in zip(axes.flat, measures):
        for loss in losses:
            stats = mean_and_spread(data[data["loss"] == loss], column, by=("tau",)).sort_values("tau")
            colour = loss_color(loss)
            ax.plot(stats["tau"], stats["mean"], color=colour, marker="o", ms=5, lw=1.6, gid=loss)
            ax.errorbar(stats["tau"], stats["mean"], yerr=stats["sd"].fillna(0.0), fmt="none", ecolor=colour, capsize=2)
        ax.set_xscale("log")
        ax.set_xticks(taus, [f"{tau:g}" for tau in taus])
        ax.minorticks_off()
        if len(taus) > 4:  # a third or half of the column holds no more than four labels side by side
            ax.tick_params(axis="x", labelrotation=45)
        ax.set_xlabel("temperature τ")
        ax.set_title(heading, fontsize=TITLE_SIZE)
        readable(ax)
    for ax in axes.flat[len(measures) :]:
        ax.set_visible(False)
    fig.suptitle(title if title is not None else "What the temperature does", fontsize=TITLE_SIZE)
    loss_legend(fig, list(losses))
    return fig
