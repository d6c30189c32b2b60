"""The figures of ``vgteach diagnose``: per-class spread and spacing, recall@K, each loss's GREEDINESS.

Each takes the numbers it draws (no report folder, no dict of everything) and returns a new figure; the
report (:mod:`vgteach.diagnose.report`) saves them. Its 2-D projection is
:func:`vgteach.figures.projection_figure`.
"""

from __future__ import annotations

from typing import Mapping

import numpy as np

from .style import FIGURE_WIDTH, FONT_SIZE, TITLE_SIZE, loss_color, loss_label, measure_label, new_figure, readable

#: the bars of :func:`greediness_figure`, where the statistics have them
GREEDINESS_COLUMNS = ("active_ratio", "effective_active_ratio", "sample_active_ratio", "grad_gini")
#: their fills: greys, so that no bar takes a loss's colour (those name the losses on the axis)
GREEDINESS_FILLS = ("0.2", "0.45", "0.65", "0.85")


def variance_figure(spread, nearest, pair_distances, intra: float, spacing_cv: float):
    """Three panels: the per-class spread mean ‖z − μ_c‖² (``spread`` [C], its mean ``intra`` dashed and in the
    title), the
    distances between class means (``pair_distances``, their coefficient of variation ``spacing_cv``), and
    each class's spread against the distance to its nearest other class mean (``nearest`` [C])."""
    fig, (a, b, c) = new_figure(1, 3, (FIGURE_WIDTH, 3.0))
    a.hist(spread, bins=40, color="tab:blue")
    a.axvline(intra, color="k", ls="--")
    a.set(xlabel="spread ‖z − μ_c‖²", ylabel="classes")
    b.hist(pair_distances, bins=40, color="tab:orange")
    b.set(xlabel="‖μ_c − μ_c'‖", ylabel="class pairs")
    b.set_title(f"class-mean spacing\n(cv {spacing_cv:.2f})", fontsize=TITLE_SIZE)
    c.scatter(nearest, spread, s=6, alpha=0.6)
    c.set(xlabel="nearest class mean", ylabel="spread")
    c.set_title("spread against\nnearest class", fontsize=TITLE_SIZE)
    a.set_title(f"per-class spread\n(dashed: intra {intra:.2f})", fontsize=TITLE_SIZE)
    for ax in (a, b, c):
        ax.xaxis.set_major_locator(_few_ticks())
        readable(ax)
    return fig


def _few_ticks():
    """At most four ticks on an axis: a third of the column leaves room for no more at 10 pt."""
    from matplotlib.ticker import MaxNLocator

    return MaxNLocator(nbins=3)


def retrieval_figure(retrieval: Mapping[str, float]):
    """recall@K against K (log scale) from ``retrieval``'s ``recall@K`` entries; MAP@R in the title."""
    recall = {int(k.split("@")[1]): v for k, v in retrieval.items() if k.startswith("recall@")}
    fig, ax = new_figure(1, 1, (4.6, 3.2))
    ax.plot(list(recall), list(recall.values()), marker="o")
    ax.set(
        xscale="log",
        xticks=list(recall),
        xticklabels=[str(k) for k in recall],
        xlabel="K",
        ylabel="recall@K",
        ylim=(0, 1.02),
    )
    ax.set_title(f"leave-one-out retrieval (MAP@R {retrieval['map@r']:.3f})", fontsize=TITLE_SIZE)
    readable(ax)
    return fig


def greediness_figure(greediness: Mapping[str, Mapping[str, float]]):
    """One group of bars per loss of ``greediness`` (loss -> statistics): its ratios and the Gini of its
    per-sample gradient norms (:data:`GREEDINESS_COLUMNS`), the losses by their display names (in their
    colours), the statistics in a legend under the panel."""
    columns = [c for c in GREEDINESS_COLUMNS if c in next(iter(greediness.values()))]
    fig, ax = new_figure(1, 1, (FIGURE_WIDTH, 3.6))
    width = 0.8 / len(columns)
    for j, column in enumerate(columns):
        heights = [row[column] for row in greediness.values()]
        ax.bar(
            np.arange(len(greediness)) + j * width,
            heights,
            width,
            label=measure_label(column),
            color=GREEDINESS_FILLS[GREEDINESS_COLUMNS.index(column)],
            edgecolor="0.1",
            linewidth=0.5,
        )
    ax.set_xticks(np.arange(len(greediness)) + 0.4 - width / 2, [loss_label(name) for name in greediness])
    for tick, name in zip(ax.get_xticklabels(), greediness):
        tick.set_color(loss_color(name))
    ax.set(ylim=(0, 1.05))
    ax.set_title("GREEDINESS each loss would have on these embeddings", fontsize=TITLE_SIZE)
    fig.legend(loc="outside lower center", ncols=2, frameon=False, fontsize=FONT_SIZE)
    readable(ax)
    return fig
