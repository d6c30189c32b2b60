"""Every vgteach figure, drawn with matplotlib (and seaborn) on figures pyplot never sees.

Read a study's tables (``vgteach study``, :func:`vgteach.results.load`) and draw them::

    from vgteach import figures, results
    reference = results.load("cifar10")
    figures.curves_with_bands(reference.history, "recall@1", highlight="triplet")
    figures.measure_heatmap(reference.summary, ["recall@1", "map@r", "intra", "grad_gini"])
    figures.plot_history(result.history)            # one run: loss, R@1, VARIANCE, GREEDINESS per epoch

A function given no ``ax``/``axes`` draws on a new figure and returns it (the last expression of a notebook
cell shows it); given them it draws there. Modules: :mod:`~vgteach.figures.style` (the loss and class
colours, :func:`new_figure`), :mod:`~vgteach.figures.history` (per-epoch curves),
:mod:`~vgteach.figures.study` (comparison figures), :mod:`~vgteach.figures.projection` (the 2-D PCA
picture, computed here for every figure and widget) and :mod:`~vgteach.figures.diagnose`
(``vgteach diagnose``'s figures).
"""

from ..losses import LOSS_NAMES
from .diagnose import greediness_figure, retrieval_figure, variance_figure
from .history import HISTORY_PANELS, MARKER_POINTS, plot_curve, plot_curves, plot_history
from .projection import fit_pca_2d, pca_2d, projection_figure, projection_panels, projection_scatter
from .study import (
    BAND,
    STUDY_MEASURES,
    band_data,
    cell_text,
    curves_with_bands,
    grad_norm_panels,
    heatmap_table,
    loss_order,
    loss_panels,
    measure_heatmap,
    plot_tradeoff,
)
from .style import (
    LOSS_COLORS,
    class_colors,
    frame_figure,
    loss_color,
    new_figure,
    save_figure,
    show_figures_as_png,
)

__all__ = [
    "LOSS_NAMES",
    "LOSS_COLORS",
    "loss_color",
    "class_colors",
    "new_figure",
    "frame_figure",
    "save_figure",
    "show_figures_as_png",
    "HISTORY_PANELS",
    "MARKER_POINTS",
    "plot_curve",
    "plot_history",
    "plot_curves",
    "BAND",
    "STUDY_MEASURES",
    "loss_order",
    "band_data",
    "curves_with_bands",
    "heatmap_table",
    "cell_text",
    "measure_heatmap",
    "plot_tradeoff",
    "loss_panels",
    "grad_norm_panels",
    "fit_pca_2d",
    "pca_2d",
    "projection_scatter",
    "projection_figure",
    "projection_panels",
    "variance_figure",
    "retrieval_figure",
    "greediness_figure",
]
