"""vgteach — how metric-learning losses shape embedding geometry (VARIANCE) and training dynamics (GREEDINESS).

A teaching companion to Zeng, Niu, Li & Taya, "Variance & Greediness: a comparative study of
metric-learning losses" (ICASSP 2026). The API in five lines::

    from vgteach import build_loss, variance_stats, greediness_stats, retrieval_metrics
    loss_fn = build_loss("supcon", temperature=0.1)
    loss = loss_fn(embeddings, labels)                          # 0-dim tensor, backward() as usual
    variance_stats(embeddings, labels)["ratio"]                 # intra / inter-class variance
    greediness_stats(loss_fn, embeddings, labels)["active_ratio"]
    retrieval_metrics(embeddings, labels)["recall@1"]
"""

from .diagnostics import geometry_stats, greediness_stats, variance_stats
from .losses import LOSS_NAMES, build_loss
from .retrieval import retrieval_metrics

__version__ = "0.1.0"
#: The project's repository: every chapter's Colab install cell installs from it, and the book's
#: ``_config.yml`` links to it (tests/test_notebooks.py checks that they agree).
REPOSITORY_URL = "https://github.com/vgteach/vgteach"
__all__ = [
    "LOSS_NAMES",
    "build_loss",
    "variance_stats",
    "greediness_stats",
    "geometry_stats",
    "retrieval_metrics",
    "__version__",
    "REPOSITORY_URL",
]
