"""The 2-D picture of embeddings: their first two principal components, points coloured by class.

One projection for every figure and widget (the study's per-loss panels, ``vgteach diagnose``, the
training scrubber): scikit-learn's PCA of the L2-normalised embeddings z = e/‖e‖ (DESIGN.md §3)::

    points, explained = pca_2d(z)                     # fitted on z itself
    fit = fit_pca_2d(z_final)                          # or fitted once, on the final epoch ...
    points, _ = pca_2d(z_epoch, fit)                   # ... and every epoch drawn in its frame
"""

from __future__ import annotations

import numpy as np

from .style import FIGURE_WIDTH, FONT_SIZE, TITLE_SIZE, class_colors, new_figure, readable

#: a class legend lists at most this many classes (more would not be read); above, colours alone
MAX_LEGEND_CLASSES = 20


def unit_rows(embeddings) -> np.ndarray:
    """``embeddings`` [N, D] as float64 rows of norm 1 (an all-zero row stays 0, as ``F.normalize``)."""
    z = np.asarray(embeddings, dtype=np.float64)
    if z.ndim != 2:
        raise ValueError(f"expected embeddings [N, D], got shape {z.shape}")
    return z / np.maximum(np.linalg.norm(z, axis=1, keepdims=True), 1e-12)


def fit_pca_2d(reference):
    """scikit-learn's ``PCA(n_components=2)`` fitted on the normalised ``reference`` [N, D] (deterministic:
    ``random_state=0``). Raises ValueError when D < 2 or N < 2: there is no plane to project on."""
    from sklearn.decomposition import PCA

    z = unit_rows(reference)
    if z.shape[1] < 2 or z.shape[0] < 2:
        raise ValueError(f"a 2-D projection needs at least 2 samples of at least 2 dimensions, got shape {z.shape}")
    return PCA(n_components=2, random_state=0).fit(z)


def pca_2d(embeddings, fit=None) -> tuple:
    """``(points [N, 2], explained)``: the normalised ``embeddings`` on their first two principal components,
    and the share of the variance those two keep. ``fit`` (from :func:`fit_pca_2d`) reuses one projection
    for several sets of embeddings; by default it is fitted on ``embeddings`` themselves."""
    fit = fit_pca_2d(embeddings) if fit is None else fit
    return fit.transform(unit_rows(embeddings)), float(fit.explained_variance_ratio_.sum())


def class_names_of(labels, class_names=None) -> list:
    """The name of each class of ``labels`` (its distinct values, sorted): ``class_names[label]`` for integer
    labels when names are given (e.g. ``vgteach.data.cifar10.CLASSES``, or a run's
    ``config.protocol_split().eval_classes``), the label itself otherwise.

    Raises ValueError when a label has no name in ``class_names``."""
    classes = np.unique(np.asarray(labels))
    if class_names is None:
        return [str(label) for label in classes]
    names = list(class_names)
    if not np.issubdtype(classes.dtype, np.integer) or classes.min() < 0 or classes.max() >= len(names):
        raise ValueError(
            f"class_names has {len(names)} names; the labels must be integers 0..{len(names) - 1}, got "
            f"{classes.tolist()[:12]}"
        )
    return [str(names[label]) for label in classes]


def class_handles(labels, class_names=None) -> list:
    """Legend handles, one per class of ``labels`` in its :func:`~vgteach.figures.class_colors` colour, named
    by :func:`class_names_of`; empty above :data:`MAX_LEGEND_CLASSES` classes."""
    from matplotlib.lines import Line2D

    classes = np.unique(np.asarray(labels))
    if len(classes) > MAX_LEGEND_CLASSES:
        return []
    colours = class_colors(classes)
    return [
        Line2D([], [], ls="", marker="o", ms=6, color=colour, label=name)
        for colour, name in zip(colours, class_names_of(labels, class_names))
    ]


def projection_scatter(
    ax, points, labels, title: str = "", size: float = 4, class_names=None, legend: bool = False, circle=False, **style
):
    """``points`` [N, 2] on ``ax``, coloured by class (:func:`~vgteach.figures.class_colors`), with equal
    axis scales and no ticks (principal-component coordinates have no unit worth reading).

    ``legend`` adds a legend of the classes beside the panel, named by ``class_names`` (indexed by the
    integer labels; without names, the labels themselves; none above :data:`MAX_LEGEND_CLASSES` classes).
    ``circle`` draws the unit circle under the points (2-D embeddings, normalised)."""
    points = np.asarray(points)
    if circle:
        theta = np.linspace(0, 2 * np.pi, 181)
        ax.plot(np.cos(theta), np.sin(theta), color="0.82", lw=1, zorder=0)
    ax.scatter(points[:, 0], points[:, 1], color=class_colors(labels), s=size, **style)
    ax.set(xticks=[], yticks=[])
    ax.set_title(title, fontsize=TITLE_SIZE)
    ax.set_aspect("equal")
    if legend:
        handles = class_handles(labels, class_names)
        if handles:
            ax.legend(
                handles=handles,
                loc="upper left",
                bbox_to_anchor=(1.02, 1.0),
                frameon=False,
                fontsize=FONT_SIZE,
                handletextpad=0.3,
                borderaxespad=0.0,
            )
    readable(ax)


def projection_figure(
    points, labels, title: str = "first two principal components", class_names=None, circle: bool = False
):
    """One panel: :func:`projection_scatter` on a new figure, with a legend of the classes (named by
    ``class_names`` when given) beside it; ``circle`` draws the unit circle. Returns the figure."""
    fig, ax = new_figure(1, 1, (FIGURE_WIDTH * 0.85, 4.2))
    projection_scatter(ax, points, labels, title, class_names=class_names, legend=True, circle=circle)
    return fig


def projection_panels(runs, title: str = "evaluation embeddings, first two principal components", class_names=None):
    """One panel per run, at most three to a row, and one legend of the classes under them (named by
    ``class_names``, e.g. ``vgteach.data.cifar10.CLASSES``, when given): ``runs`` is a sequence of ``(row,
    final)``, ``row`` a study summary row (``loss``, ``intra``) and ``final`` its ``final.npz``
    (``projection``, ``projection_labels``); returns the figure."""
    from .study import loss_panels
    from .style import loss_label

    runs = list(runs)

    def draw(ax, row, final):
        projection_scatter(
            ax, final["projection"], final["projection_labels"], f"{loss_label(row['loss'])}\nintra {row['intra']:.2f}"
        )
        ax.title.set_fontsize(FONT_SIZE)

    fig = loss_panels(runs, title, draw, panel_height=2.2)
    if runs:
        labels = np.concatenate([np.asarray(final["projection_labels"]) for _, final in runs])
        handles = class_handles(labels, class_names)
        if handles:
            fig.legend(
                handles=handles,
                loc="outside lower center",
                ncols=min(5, len(handles)),
                frameon=False,
                fontsize=FONT_SIZE,
                handletextpad=0.3,
                columnspacing=1.0,
            )
    return fig
