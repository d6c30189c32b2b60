"""The figures of the foundations chapters (embeddings, VARIANCE, GREEDINESS), sized for the book.

Each function draws one figure on a pyplot-free :func:`~vgteach.figures.style.new_figure` and returns it, so
the chapter's cell shows the experiment and one call::

    circle_figure(z2, labels, classes, title="Live run (shipped features): SupCon, D = 2")
    active_share_figure(curves, title="Active share against ε, untrained head")
    grad_norm_figure(norms, title="Per-sample gradient norms, untrained head")
    reduction_figure(history, title="Live run (shipped features): Triplet")

They follow the scheme of :mod:`vgteach.figures.style`: :data:`~vgteach.figures.style.FIGURE_WIDTH` inches
wide (shown at its natural size in the book's column), text of at least
:data:`~vgteach.figures.style.FONT_SIZE` points and titles of :data:`~vgteach.figures.style.TITLE_SIZE`
(≥ 9 pt as displayed), panels laid out by :func:`~vgteach.figures.style.panel_grid`. Losses are drawn in
their palette colour (:func:`~vgteach.figures.style.loss_color`) and named by their book label
(:func:`~vgteach.figures.style.loss_label`); classes by their names.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..losses import DEFAULT_ACTIVE_EPS
from .style import (
    FIGURE_WIDTH,
    FONT_SIZE,
    ROW_HEIGHT,
    TITLE_SIZE,
    class_colors,
    loss_color,
    loss_label,
    new_figure,
    panel_grid,
    readable,
)


def _check_columns(frame: pd.DataFrame, columns, what: str) -> None:
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"{what} must be a pandas DataFrame, got {type(frame).__name__}")
    missing = [column for column in columns if column not in frame]
    if missing:
        raise ValueError(f"{what} lacks the column(s) {missing}")


def circle_figure(points, labels, class_names, title: str = "", ring_step: float = 0.04):
    """Two-dimensional embeddings ``points`` [N, 2] by their angle on the unit circle, coloured by class,
    with a legend of ``class_names`` (``class_names[k]`` names label ``k``) beside the circle.

    Each class is drawn on a ring of its own, the last class on the unit circle and every earlier one
    ``ring_step`` inside the next, so that classes sharing an arc stay visible; only the angle is the
    embedding's (``ring_step=0`` draws every point on the unit circle)."""
    points = np.asarray(points, dtype=float)
    labels = np.asarray(labels).ravel()
    if points.ndim != 2 or points.shape[1] != 2:
        raise ValueError(f"points must be [N, 2], got shape {points.shape}")
    if len(labels) != len(points):
        raise ValueError(f"{len(points)} points but {len(labels)} labels")
    classes = np.unique(labels)
    if int(classes.max(initial=-1)) >= len(class_names) or int(classes.min(initial=0)) < 0:
        raise ValueError(f"labels must index class_names ({len(class_names)} names)")
    fig, ax = new_figure(1, 1, (FIGURE_WIDTH, 4.6), layout="constrained")
    colours = class_colors(labels)
    angle = np.linspace(0, 2 * np.pi, 361)
    ax.plot(np.cos(angle), np.sin(angle), color="0.8", linewidth=1, zorder=0)
    if ring_step < 0 or ring_step * len(classes) >= 1:
        raise ValueError(f"ring_step must be in [0, 1 / {len(classes)}), got {ring_step}")
    theta = np.arctan2(points[:, 1], points[:, 0])
    ring = {k: 1 - ring_step * (len(classes) - 1 - order) for order, k in enumerate(classes)}
    radius = np.array([ring[k] for k in labels])
    ax.scatter(radius * np.cos(theta), radius * np.sin(theta), color=colours, s=8)
    for k in classes:
        colour = colours[np.flatnonzero(labels == k)[0]]
        ax.scatter([], [], color=colour, s=30, label=str(class_names[k]))
    ax.legend(
        title="class", loc="center left", bbox_to_anchor=(1.02, 0.5), fontsize=FONT_SIZE, title_fontsize=FONT_SIZE
    )
    ax.set_aspect("equal")
    ax.set(xlim=(-1.15, 1.15), ylim=(-1.15, 1.15), xticks=[-1, 0, 1], yticks=[-1, 0, 1])
    ax.tick_params(labelsize=FONT_SIZE)
    ax.set_title(title, fontsize=TITLE_SIZE)
    return readable(fig)


def active_share_figure(curves: pd.DataFrame, title: str = ""):
    """The share of active terms against the threshold ε (log axis), one line per loss.

    ``curves`` has the columns ``loss`` (a ``build_loss`` name), ``eps`` and ``active_ratio`` (e.g.
    :func:`~vgteach.diagnostics.active_share_curve` of each loss with a ``loss`` column). Hinge-free lines
    that coincide at 1 are drawn with decreasing width so that each stays visible; the dotted line marks the
    default ε."""
    _check_columns(curves, ["loss", "eps", "active_ratio"], "curves")
    fig, ax = new_figure(1, 1, (FIGURE_WIDTH, 3.4), layout="constrained")
    names = list(dict.fromkeys(curves["loss"]))
    for order, name in enumerate(names):
        rows = curves[curves["loss"] == name].sort_values("eps")
        ax.plot(
            rows["eps"],
            rows["active_ratio"],
            marker="o",
            markersize=4,
            linewidth=1.5 + 3.5 * (len(names) - 1 - order) / max(len(names) - 1, 1),
            color=loss_color(name),
            label=loss_label(name),
        )
    ax.axvline(DEFAULT_ACTIVE_EPS, color="grey", linestyle=":", linewidth=1)
    ax.set_xscale("log")
    ax.set_ylim(-0.03, 1.05)
    ax.set_xlabel("threshold ε", fontsize=FONT_SIZE)
    ax.set_ylabel("share of active terms", fontsize=FONT_SIZE)
    ax.tick_params(labelsize=FONT_SIZE)
    ax.legend(loc="center left", bbox_to_anchor=(1.02, 0.5), fontsize=FONT_SIZE)
    ax.set_title(title, fontsize=TITLE_SIZE)
    return readable(fig)


def grad_norm_figure(norms: pd.DataFrame, title: str = "", floor: float = 1e-3):
    """Each sample's gradient norm divided by the mean of its loss's batch, one row per loss, log axis.

    ``norms`` has the columns ``loss`` (a ``build_loss`` name) and ``norm`` (‖∂L/∂e_i‖, one row per
    sample). A dot per sample, and a box over the quartiles of the non-zero norms; a sample with no gradient
    at all is drawn at ``floor`` (the dotted line at the left edge)."""
    _check_columns(norms, ["loss", "norm"], "norms")
    if floor <= 0:
        raise ValueError("floor must be positive (the log axis has no zero)")
    names = list(dict.fromkeys(norms["loss"]))
    fig, ax = new_figure(1, 1, (FIGURE_WIDTH, 0.45 * len(names) + 1.3), layout="constrained")
    rng = np.random.default_rng(0)
    boxes, positions = [], []
    for row, name in enumerate(names):
        values = norms.loc[norms["loss"] == name, "norm"].to_numpy(dtype=float)
        mean = values.mean()
        relative = values / mean if mean > 0 else np.zeros_like(values)
        shown = np.clip(relative, floor, None)
        jitter = rng.uniform(-0.22, 0.22, len(shown))
        ax.scatter(shown, row + jitter, s=7, color=loss_color(name), alpha=0.7, linewidths=0)
        if (relative > 0).any():
            boxes.append(relative[relative > 0])
            positions.append(row)
    ax.boxplot(
        boxes,
        positions=positions,
        orientation="horizontal",
        widths=0.55,
        showfliers=False,
        medianprops={"color": "0.2"},
        boxprops={"color": "0.3"},
        whiskerprops={"color": "0.3"},
        capprops={"color": "0.3"},
    )
    ax.axvline(floor, color="grey", linestyle=":", linewidth=1)
    ax.set_xscale("log")
    ax.set_yticks(range(len(names)), [loss_label(name) for name in names])
    ax.set_ylim(len(names) - 0.5, -0.5)
    ax.set_xlabel("‖∂L/∂e_i‖ / batch mean (log; dotted: no gradient at all)", fontsize=FONT_SIZE)
    ax.tick_params(labelsize=FONT_SIZE)
    ax.set_title(title, fontsize=TITLE_SIZE)
    return readable(fig)


def reduction_figure(history: pd.DataFrame, title: str = ""):
    """Two panels of one Triplet run, epoch by epoch: the active ratio and the effective active ratio
    (left), and the mean per-sample gradient norm as trained (mean over the active triplets) and as the
    mean over all triplets would have made it at the same points, the trained one times the active ratio
    (right). ``history`` is a run's history (``epoch``, ``active_ratio``, ``effective_active_ratio``,
    ``grad_norm_mean``)."""
    columns = ["epoch", "active_ratio", "effective_active_ratio", "grad_norm_mean"]
    _check_columns(history, columns, "history")
    rows = history.dropna(subset=columns[1:]).sort_values("epoch")
    grid_rows, grid_columns = panel_grid(2)
    fig, (left, right) = new_figure(
        grid_rows, grid_columns, (FIGURE_WIDTH, ROW_HEIGHT * grid_rows + 0.6), layout="constrained"
    )
    left.plot(rows["epoch"], rows["active_ratio"], marker=".", color="C0", label="active ratio")
    left.plot(rows["epoch"], rows["effective_active_ratio"], marker=".", color="C1", label="effective\nactive ratio")
    right.plot(rows["epoch"], rows["grad_norm_mean"], marker=".", color="C0", label="mean over\nactive (trained)")
    right.plot(
        rows["epoch"],
        rows["grad_norm_mean"] * rows["active_ratio"],
        marker=".",
        color="C2",
        label="mean over all\n(same points)",
    )
    left.set_title("share of terms / pairs", fontsize=TITLE_SIZE)
    right.set_title("mean ‖g_i‖", fontsize=TITLE_SIZE)
    for ax in (left, right):
        ax.set_xlabel("epoch", fontsize=FONT_SIZE)
        ax.tick_params(labelsize=FONT_SIZE)
        ax.legend(fontsize=FONT_SIZE, frameon=False)
    if title:
        fig.suptitle(title, fontsize=TITLE_SIZE)
    return readable(fig)
