"""Interactive widgets for the book: live in Jupyter and Colab, still telling their story in static HTML.

>>> from vgteach.widgets import loss_landscape, training_scrubber, greediness_dashboard
>>> loss_landscape(("triplet", "infonce"))          # forces on five points of the unit circle
>>> training_scrubber(result)                        # the eval embeddings of a run, epoch by epoch
>>> greediness_dashboard(histories)                  # active ratio, gradient norms, Gini, R@1 per loss

Each returns an ``ipywidgets`` box whose frames are precomputed images switched by browser-side links
(see :mod:`vgteach.widgets._frames`), so no view is ever empty in the published book.
"""
from .dashboard import DASHBOARD_METRICS, greediness_dashboard
from .landscape import DEFAULT_NEGATIVE_DEGREES, loss_landscape
from .scrubber import training_scrubber

__all__ = ["loss_landscape", "training_scrubber", "greediness_dashboard", "DASHBOARD_METRICS",
           "DEFAULT_NEGATIVE_DEGREES"]
