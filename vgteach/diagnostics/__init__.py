"""Diagnostics of DESIGN.md §3, one concept per module.

- :func:`variance_stats` — VARIANCE: within-class variance, between-class separation, centroid spacing.
- :func:`greediness_stats`, :func:`per_sample_grad_norms` — GREEDINESS: active terms, the effective share
  of pairs carrying the update, and per-sample gradient norms of a loss on one batch;
  :func:`active_share_curve` — the share of active terms as the threshold ε sweeps.
- :func:`pull_focus` — which positives a loss pulls: the share of the pull on a class's farthest pairs.
- :func:`gini` — the Gini coefficient used for the gradient norms' inequality.
- :func:`geometry_stats` — beyond the paper: alignment, uniformity, NC1, effective rank, within-class rank,
  and Roth et al.'s spectral decay and π-ratio; :func:`compression_stats` — those two alone (cheap: one
  SVD and class sums, for a training-split sample).

>>> from vgteach.diagnostics import variance_stats, greediness_stats
>>> variance_stats(embeddings, labels)["intra"]
>>> greediness_stats(build_loss("triplet"), embeddings, labels)["active_ratio"]
"""

from __future__ import annotations

from .compression import compression_stats
from .geometry import geometry_stats
from .gini import gini
from .greediness import active_share_curve, greediness_stats, per_sample_grad_norms
from .pull import pull_focus
from .variance import variance_stats

__all__ = [
    "variance_stats",
    "greediness_stats",
    "per_sample_grad_norms",
    "active_share_curve",
    "geometry_stats",
    "compression_stats",
    "gini",
    "pull_focus",
]
