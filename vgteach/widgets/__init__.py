"""Interactive widgets for the book: live in Jupyter and Colab, still telling their story in static HTML.

>>> from vgteach.widgets import loss_landscape, training_scrubber, greediness_dashboard
>>> loss_landscape(("triplet", "infonce"))          # forces on five points of the unit circle
>>> landscape_summary("triplet")                    # what its frames show over the sweep, in words
>>> training_scrubber(result)                        # the eval embeddings of a run, epoch by epoch
>>> greediness_dashboard(histories, highlight="triplet")  # active ratio, gradient norms, Gini, R@1 per loss

and the helpers the chapters call: ``plot_history`` (from :mod:`vgteach.figures`), and from
:mod:`vgteach.widgets.chapter` ``summary_table``, ``reference_view`` (the packaged reference runs, one loss
highlighted), ``eval_batch``, and ``recipe``/``live_run_title`` (the live run's recipe and name).

Each returns an ``ipywidgets`` box whose frames are precomputed images switched by browser-side links
(see :mod:`vgteach.widgets._frames`), so no view is ever empty in the published book.
"""

from ..figures import HISTORY_PANELS, plot_history
from .chapter import SUMMARY_COLUMNS, eval_batch, live_run_title, recipe, reference_view, summary_table
from .dashboard import DASHBOARD_METRICS, greediness_dashboard
from .landscape import DEFAULT_NEGATIVE_DEGREES, landscape_summary, loss_landscape
from .scrubber import training_scrubber

__all__ = [
    "loss_landscape",
    "landscape_summary",
    "training_scrubber",
    "greediness_dashboard",
    "DASHBOARD_METRICS",
    "DEFAULT_NEGATIVE_DEGREES",
    "plot_history",
    "HISTORY_PANELS",
    "summary_table",
    "SUMMARY_COLUMNS",
    "reference_view",
    "eval_batch",
    "live_run_title",
    "recipe",
]
