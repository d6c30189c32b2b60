"""The 2-D picture of embeddings: their first two principal components, points coloured by class.

One projection for every figure and widget (the study's per-loss panels, ``vgteach diagnose``, the
training scrubber): scikit-learn's PCA of the L2-normalised embeddings z = e/‖e‖ (DESIGN.md §3)::

    points, explained = pca_2d(z)                     # fitted on z itself
    fit = fit_pca_2d(z_final)                          # or fitted once, on the final epoch ...
    points, _ = pca_2d(z_epoch, fit)                   # ... and every epoch drawn in its frame
"""

from __future__ import annotations

import numpy as np

from .style import class_colors, new_figure


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


def projection_scatter(ax, points, labels, title: str = "", size: float = 4, **style):
    """``points`` [N, 2] on ``ax``, coloured by class (:func:`~vgteach.figures.class_colors`), with equal
    axis scales and no ticks (principal-component coordinates have no unit worth reading)."""
    points = np.asarray(points)
    ax.scatter(points[:, 0], points[:, 1], color=class_colors(labels), s=size, **style)
    ax.set(title=title, xticks=[], yticks=[])
    ax.set_aspect("equal")


def projection_figure(points, labels, title: str = "first two principal components"):
    """One panel: :func:`projection_scatter` on a new figure; returns the figure."""
    fig, ax = new_figure(1, 1, (4.5, 4.5), layout="tight")
    projection_scatter(ax, points, labels, title)
    return fig


def projection_panels(runs, title: str = "evaluation embeddings, first two principal components"):
    """One panel per run: ``runs`` is a sequence of ``(row, final)``, ``row`` a study summary row (``loss``,
    ``intra``) and ``final`` its ``final.npz`` (``projection``, ``projection_labels``); returns the figure."""
    from .study import loss_panels

    def draw(ax, row, final):
        projection_scatter(
            ax, final["projection"], final["projection_labels"], f"{row['loss']}\nintra {row['intra']:.2f}"
        )

    return loss_panels(runs, title, draw)
