"""Contrastive loss (Hadsell, Chopra & LeCun, CVPR 2006)."""
from __future__ import annotations

import torch
from torch import Tensor

from .._validation import check_positive
from .base import MetricLoss, Terms


class ContrastiveLoss(MetricLoss):
    r"""Pull positive pairs together, push negative pairs beyond a margin.

    .. math::
        L = \tfrac12\,\operatorname{mean}_{(i,j)\in P} d_{ij}^2
          + \tfrac12\,\operatorname{mean}_{(i,j)\in N} [m - d_{ij}]_+^2,
        \qquad d_{ij} = \lVert z_i - z_j \rVert_2,\ z = e/\lVert e\rVert

    over unordered pairs ``i < j``; an empty mean is 0.

    Parameters
    ----------
    margin : float, default 1.0
        Negatives closer than ``m`` are pushed (on the unit sphere 0 ≤ d ≤ 2).

    Terms
    -----
    Every pair in P ∪ N (positives first, then negatives, each in row-major ``i < j`` order); hinge-type:
    active iff its term is > 0. A positive pair is active unless the two embeddings coincide, which is why
    Contrastive is "greedy": almost every pair keeps pushing, each a little.

    References
    ----------
    R. Hadsell, S. Chopra, Y. LeCun. Dimensionality reduction by learning an invariant mapping. CVPR 2006.
    """

    name = "contrastive"

    def __init__(self, margin: float = 1.0):
        super().__init__()
        self.margin = check_positive(margin, "margin", allow_zero=True)

    def extra_repr(self) -> str:
        return f"margin={self.margin}"

    def _terms(self, z: Tensor, labels: Tensor) -> Terms:
        i, j = torch.triu_indices(len(z), len(z), offset=1, device=z.device)
        d2 = (2.0 - 2.0 * (z[i] * z[j]).sum(dim=1)).clamp_min(0.0)
        is_pos = labels[i] == labels[j]
        # clamp before sqrt: d = 0 would give an infinite gradient
        d_neg = d2[~is_pos].clamp_min(1e-12).sqrt()
        pos_terms = d2[is_pos]
        neg_terms = (self.margin - d_neg).clamp_min(0.0) ** 2
        values = torch.cat([pos_terms, neg_terms])
        weights = torch.cat([
            torch.full_like(pos_terms, 0.5 / max(len(pos_terms), 1)),
            torch.full_like(neg_terms, 0.5 / max(len(neg_terms), 1)),
        ])
        return Terms(values, hinge=True, weights=weights)
