"""The figures of ``vgteach diagnose``: per-class spread and spacing, recall@K, each loss's GREEDINESS.

Each takes the numbers it draws (no report folder, no dict of everything) and returns a new figure; the
report (:mod:`vgteach.diagnose.report`) saves them. Its 2-D projection is
:func:`vgteach.figures.projection_figure`.
"""

from __future__ import annotations

from typing import Mapping

import numpy as np

from .style import new_figure

#: the bars of :func:`greediness_figure`, where the statistics have them
GREEDINESS_COLUMNS = ("active_ratio", "effective_active_ratio", "sample_active_ratio", "grad_gini")


def variance_figure(spread, nearest, pair_distances, intra: float, spacing_cv: float):
    """Three panels: the per-class spread mean ‖z − μ_c‖² (``spread`` [C], its mean ``intra`` dashed), the
    distances between class means (``pair_distances``, their coefficient of variation ``spacing_cv``), and
    each class's spread against the distance to its nearest other class mean (``nearest`` [C])."""
    fig, (a, b, c) = new_figure(1, 3, (13, 3.4), layout="tight")
    a.hist(spread, bins=40, color="tab:blue")
    a.axvline(intra, color="k", ls="--", label="intra (mean)")
    a.set(title="per-class spread  mean ‖z − μ_c‖²", xlabel="spread", ylabel="classes")
    a.legend(fontsize=8)
    b.hist(pair_distances, bins=40, color="tab:orange")
    b.set(title=f"spacing: ‖μ_c − μ_c'‖ (cv {spacing_cv:.2f})", xlabel="distance", ylabel="class pairs")
    c.scatter(nearest, spread, s=6, alpha=0.6)
    c.set(
        title="each class: spread vs nearest other class", xlabel="distance to the nearest class mean", ylabel="spread"
    )
    return fig


def retrieval_figure(retrieval: Mapping[str, float]):
    """recall@K against K (log scale) from ``retrieval``'s ``recall@K`` entries; MAP@R in the title."""
    recall = {int(k.split("@")[1]): v for k, v in retrieval.items() if k.startswith("recall@")}
    fig, ax = new_figure(1, 1, (4, 3), layout="tight")
    ax.plot(list(recall), list(recall.values()), marker="o")
    ax.set(
        xscale="log",
        xticks=list(recall),
        xticklabels=[str(k) for k in recall],
        xlabel="K",
        ylabel="recall@K",
        ylim=(0, 1.02),
        title=f"leave-one-out retrieval (MAP@R {retrieval['map@r']:.3f})",
    )
    return fig


def greediness_figure(greediness: Mapping[str, Mapping[str, float]]):
    """One group of bars per loss of ``greediness`` (loss -> statistics): its ratios and the Gini of its
    per-sample gradient norms (:data:`GREEDINESS_COLUMNS`)."""
    columns = [c for c in GREEDINESS_COLUMNS if c in next(iter(greediness.values()))]
    fig, ax = new_figure(1, 1, (1.3 * len(greediness) + 2, 3.4), layout="tight")
    width = 0.8 / len(columns)
    for j, column in enumerate(columns):
        heights = [row[column] for row in greediness.values()]
        ax.bar(np.arange(len(greediness)) + j * width, heights, width, label=column)
    ax.set_xticks(np.arange(len(greediness)) + 0.4 - width / 2, list(greediness))
    ax.set(ylim=(0, 1.05), title="GREEDINESS each loss would have on these embeddings")
    ax.legend(fontsize=8, ncol=len(columns), loc="upper center", bbox_to_anchor=(0.5, -0.12))
    return fig
