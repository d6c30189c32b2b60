"""N-pair loss (Sohn, NeurIPS 2016)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from .._validation import validate_positive
from .base import MetricLoss, Similarity, Terms


def first_two_per_label(labels: Tensor) -> tuple[Tensor, Tensor]:
    """For each label present at least twice: the batch index of its first and of its second sample,
    ordered by label value."""
    order = torch.argsort(labels, stable=True)  # stable: keeps batch order within a label
    _, counts = torch.unique_consecutive(labels[order], return_counts=True)
    starts = torch.cumsum(counts, 0) - counts
    starts = starts[counts >= 2]
    return order[starts], order[starts + 1]


class NPairLoss(MetricLoss):
    r"""One anchor–positive pair per class; every other class's positive is a negative.

    .. math::
        L = \frac1K \sum_{k=1}^{K} -\log \frac{e^{\gamma\, a_k \cdot p_k}}{\sum_{l} e^{\gamma\, a_k \cdot p_l}}

    where, for each of the K labels present at least twice, ``a_k`` is its first and ``p_k`` its second
    sample in batch order. ``L = 0`` (with a gradient path) when K < 2.

    Parameters
    ----------
    scale : float, default 1.0
        γ, the logit scale (book/notation.md). With γ = 1 on the unit sphere the logits live in [−1, 1], so the
        loss never gets close to 0: N-pair stays "active" for every anchor, which is the paper's N-pair
        greediness story.

    Terms
    -----
    One cross-entropy per anchor k (ordered by label value); softmax-type: active iff CE > ε.

    References
    ----------
    K. Sohn. Improved deep metric learning with multi-class N-pair loss objective. NeurIPS 2016.
    """

    name = "npair"

    def __init__(self, scale: float = 1.0):
        super().__init__()
        self.scale = validate_positive(scale, "scale")

    def extra_repr(self) -> str:
        return f"scale={self.scale}"

    def _terms(self, z: Tensor, labels: Tensor) -> Terms:
        anchor_idx, positive_idx = first_two_per_label(labels)
        if len(anchor_idx) < 2:
            return Terms(z.new_zeros(0))
        # the anchors × positives block of z zᵀ: anchors and positives are distinct samples, so each entry is
        # its own unordered pair; the other pairs of the batch weigh 0
        sim = Similarity(z[anchor_idx] @ z[positive_idx].T, len(z) * (len(z) - 1) // 2, symmetric=False)
        logits = self.scale * sim.matrix
        target = torch.arange(len(anchor_idx), device=z.device)
        return Terms(F.cross_entropy(logits, target, reduction="none"), similarity=sim)
