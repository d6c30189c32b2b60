"""Every vgteach figure, drawn with matplotlib (and seaborn) on figures pyplot never sees.

Read a study's tables (``vgteach study``, :func:`vgteach.results.load`) and draw them::

    from vgteach import figures, results
    reference = results.load("cifar10")
    figures.curves_with_bands(reference.history, "recall@1", highlight="triplet")
    figures.measure_heatmap(reference.summary, ["recall@1", "map@r", "intra", "grad_gini"])
    figures.plot_history(result.history)            # one run: loss, R@1, VARIANCE, GREEDINESS per epoch
    figures.tradeoff_scatter(reference.summary, "compaction_epoch", "intra")   # the paper's trade-off

Every figure follows one scheme (:mod:`~vgteach.figures.style`): :data:`FIGURE_WIDTH` wide so that the book
shows it at its natural size, text of :data:`FONT_SIZE` points or more, at most three panels in a row,
losses by their display names (:data:`LOSS_LABELS`) in their colours (:data:`LOSS_COLORS`), named at the
ends of their lines or beside their points without overlapping (:mod:`~vgteach.figures.labels`), classes
by their names where the data has them.

A function given no ``ax``/``axes`` draws on a new figure and returns it (the last expression of a notebook
cell shows it); given them it draws there. Modules: :mod:`~vgteach.figures.style` (the scheme, the loss and
class colours, :func:`new_figure`), :mod:`~vgteach.figures.labels` (names that do not overlap),
:mod:`~vgteach.figures.history` (per-epoch curves), :mod:`~vgteach.figures.study` (comparison curves),
:mod:`~vgteach.figures.heatmap` (the losses × measures heatmap),
:mod:`~vgteach.figures.tradeoff` (the paper's trade-off, its predicted region drawn),
:mod:`~vgteach.figures.studies` (transfer, protocols, temperature), :mod:`~vgteach.figures.projection` (the 2-D PCA picture, computed here for
every figure and widget) and :mod:`~vgteach.figures.diagnose` (``vgteach diagnose``'s figures).
"""

from ..losses import LOSS_NAMES
from .diagnose import greediness_figure, retrieval_figure, variance_figure
from .heatmap import STUDY_MEASURES, cell_text, heatmap_table, measure_heatmap
from .history import HISTORY_PANELS, MARKER_POINTS, plot_curve, plot_curves, plot_history
from .labels import end_labels, loss_legend, place_labels, spread
from .projection import (
    class_names_of,
    fit_pca_2d,
    pca_2d,
    projection_figure,
    projection_panels,
    projection_scatter,
)
from .studies import PROTOCOL_ORDER, SWEEP_MEASURES, protocol_slopes, tau_of, temperature_sweep, transfer_scatter
from .study import BAND, band_data, band_panels, curves_with_bands, grad_norm_panels, loss_order, loss_panels
from .style import (
    FIGURE_WIDTH,
    FONT_SIZE,
    LOSS_COLORS,
    LOSS_LABELS,
    MAX_COLUMNS,
    MEASURE_LABELS,
    TITLE_SIZE,
    class_colors,
    frame_figure,
    loss_color,
    loss_label,
    measure_label,
    new_figure,
    panel_grid,
    readable,
    save_figure,
    show_figures_as_png,
)
from .tradeoff import SPEED_PAIRS, plot_tradeoff, predicted_sides, tradeoff_panels, tradeoff_points, tradeoff_scatter

__all__ = [
    "LOSS_NAMES",
    "LOSS_COLORS",
    "LOSS_LABELS",
    "MEASURE_LABELS",
    "FIGURE_WIDTH",
    "FONT_SIZE",
    "TITLE_SIZE",
    "MAX_COLUMNS",
    "loss_color",
    "loss_label",
    "measure_label",
    "class_colors",
    "new_figure",
    "panel_grid",
    "readable",
    "frame_figure",
    "save_figure",
    "show_figures_as_png",
    "end_labels",
    "place_labels",
    "loss_legend",
    "spread",
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
    "band_panels",
    "loss_panels",
    "grad_norm_panels",
    "fit_pca_2d",
    "pca_2d",
    "projection_scatter",
    "projection_figure",
    "projection_panels",
    "class_names_of",
    "SPEED_PAIRS",
    "predicted_sides",
    "tradeoff_points",
    "tradeoff_scatter",
    "tradeoff_panels",
    "plot_tradeoff",
    "PROTOCOL_ORDER",
    "SWEEP_MEASURES",
    "transfer_scatter",
    "protocol_slopes",
    "tau_of",
    "temperature_sweep",
    "variance_figure",
    "retrieval_figure",
    "greediness_figure",
]
