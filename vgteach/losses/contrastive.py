"""Contrastive loss (Hadsell, Chopra & LeCun, CVPR 2006)."""

from __future__ import annotations

import functools

import torch
from torch import Tensor

from .._validation import validate_positive
from .base import MetricLoss, Terms, pair_similarity


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
    Every unordered pair ``i < j`` in row-major order (positive or negative); hinge-type:
    active iff its term is > 0. A positive pair is active unless the two embeddings coincide, which is why
    Contrastive is "greedy": almost every pair keeps pushing, each a little.

    References
    ----------
    R. Hadsell, S. Chopra, Y. LeCun. Dimensionality reduction by learning an invariant mapping. CVPR 2006.
    """

    name = "contrastive"

    def __init__(self, margin: float = 1.0):
        super().__init__()
        self.margin = validate_positive(margin, "margin", allow_zero=True)

    def extra_repr(self) -> str:
        return f"margin={self.margin}"

    def _terms(self, z: Tensor, labels: Tensor) -> Terms:
        i, j, flat = unordered_pairs(len(z), z.device)
        sim = pair_similarity(z)
        d2 = (2.0 - 2.0 * sim.matrix.flatten().index_select(0, flat)).clamp_min(0.0)  # d² = 2 − 2 z·z'
        is_pos = labels.index_select(0, i) == labels.index_select(0, j)
        # clamp before sqrt: d = 0 would give an infinite gradient
        d = d2.clamp_min(1e-12).sqrt()
        values = torch.where(is_pos, d2, (self.margin - d).clamp_min(0.0) ** 2)
        num_pos = is_pos.sum().to(d2.dtype)  # counts stay on the device: no host sync
        num_neg = len(is_pos) - num_pos
        weights = torch.where(is_pos, 0.5 / num_pos.clamp_min(1.0), 0.5 / num_neg.clamp_min(1.0))
        return Terms(values, hinge=True, weights=weights, similarity=sim)


@functools.lru_cache(maxsize=16)
def unordered_pairs(batch_size: int, device: torch.device) -> tuple[Tensor, Tensor, Tensor]:
    """``(i, j, i·B + j)`` for every pair i < j in row-major order. Cached: building the index lists
    costs more than the loss itself, and a training run sees one or two batch sizes."""
    i, j = torch.triu_indices(batch_size, batch_size, offset=1, device=device)
    return i, j, i * batch_size + j
