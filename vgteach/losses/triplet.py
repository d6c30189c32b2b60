"""Triplet loss, batch-all (Schroff, Kalenichenko & Philbin, FaceNet, CVPR 2015)."""
from __future__ import annotations

import torch
from torch import Tensor

from .._validation import check_positive
from .base import DEFAULT_ACTIVE_EPS, LossOutput, MetricLoss, Terms, same_label_masks, zero_with_grad


class TripletLoss(MetricLoss):
    r"""Batch-all triplet loss with squared distances, averaged over the *active* triplets.

    .. math::
        \ell_{apn} = [\,d_{ap}^2 - d_{an}^2 + \alpha\,]_+, \qquad
        L = \frac{1}{|A|}\sum_{(a,p,n)\in A} \ell_{apn}, \quad A = \{\ell_{apn} > 0\}

    over every valid triplet (``y_a = y_p``, ``a ≠ p``, ``y_n ≠ y_a``); ``L = 0`` when no triplet is active.
    ``d² = 2 − 2 z·z'`` on the unit sphere.

    Parameters
    ----------
    margin : float, default 0.2
        The margin α (in squared-distance units).
    chunk_size : int, default 32
        Anchors processed at once. Peak extra memory is O(chunk_size · B²) booleans/floats — never the
        dense B³ tensor (at B = 512 that would be 134 M entries).

    Notes
    -----
    How it stays O(B²·chunk): each active triplet contributes ``+1`` to ∂L/∂d²_ap and ``−1`` to ∂L/∂d²_an
    (times 1/|A|). So we count, without autograd and chunk by chunk, ``W_ap`` = #active negatives of the
    pair (a, p) and ``W_an`` = #active positives of (a, n), and write the loss as
    ``(Σ W_ap d²_ap − Σ W_an d²_an + α|A|) / |A|`` on the B×B distance matrix: the same value and the same
    gradient as the sum over triplets, with a graph of size B². |A| is a count and carries no gradient,
    as in pytorch-metric-learning's ``AvgNonZeroReducer``.

    Terms: every valid triplet, hinge-type (active iff ℓ > 0). Averaging over active triplets only keeps
    the gradient large even when few triplets remain: "few but large" updates.

    References
    ----------
    F. Schroff, D. Kalenichenko, J. Philbin. FaceNet: a unified embedding for face recognition and
    clustering. CVPR 2015. A. Hermans, L. Beyer, B. Leibe. In defense of the triplet loss. arXiv 1703.07737.
    """

    name = "triplet"

    def __init__(self, margin: float = 0.2, chunk_size: int = 32):
        super().__init__()
        self.margin = check_positive(margin, "margin", allow_zero=True)
        if isinstance(chunk_size, bool) or not isinstance(chunk_size, int) or chunk_size < 1:
            raise ValueError(f"chunk_size must be a positive int, got {chunk_size!r}")
        self.chunk_size = chunk_size

    def extra_repr(self) -> str:
        return f"margin={self.margin}"

    def compute(self, embeddings: Tensor, labels: Tensor, eps: float = DEFAULT_ACTIVE_EPS) -> LossOutput:
        z, labels = self._prepare(embeddings, labels)
        with self._full_precision(z):
            d2 = (2.0 - 2.0 * z @ z.T).clamp_min(0.0)
            pos, neg = same_label_masks(labels)
            w_ap, w_an, num_active = self._count_active(d2.detach(), pos, neg)
            num_terms = (pos.sum(1) * neg.sum(1)).sum()
            if num_active == 0:
                return LossOutput(zero_with_grad(z), num_terms, num_active)
            total = (w_ap * d2).sum() - (w_an * d2).sum() + self.margin * num_active
            return LossOutput(total / num_active, num_terms, num_active)

    @torch.no_grad()
    def _count_active(self, d2: Tensor, pos: Tensor, neg: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        w_ap, w_an = torch.zeros_like(d2), torch.zeros_like(d2)
        num_active = torch.zeros((), dtype=torch.long, device=d2.device)
        for start in range(0, len(d2), self.chunk_size):
            rows = slice(start, start + self.chunk_size)
            active = self._chunk_losses(d2[rows], pos[rows], neg[rows]) > 0   # [c, B(p), B(n)]
            w_ap[rows] = active.sum(2, dtype=d2.dtype)
            w_an[rows] = active.sum(1, dtype=d2.dtype)
            num_active += active.sum()
        return w_ap, w_an, num_active

    def _chunk_losses(self, d2: Tensor, pos: Tensor, neg: Tensor) -> Tensor:
        """ℓ[a, p, n] for a chunk of anchors, 0 where (a, p, n) is not a valid triplet."""
        losses = (d2[:, :, None] - d2[:, None, :] + self.margin).clamp_min(0.0)
        return losses * (pos[:, :, None] & neg[:, None, :])

    def _terms(self, z: Tensor, labels: Tensor) -> Terms:
        """Every valid triplet's ℓ, anchors in batch order (O(#triplets) memory: for inspection only)."""
        d2 = (2.0 - 2.0 * z @ z.T).clamp_min(0.0)
        pos, neg = same_label_masks(labels)
        chunks = []
        for start in range(0, len(d2), self.chunk_size):
            rows = slice(start, start + self.chunk_size)
            valid = pos[rows, :, None] & neg[rows, None, :]
            chunks.append(self._chunk_losses(d2[rows], pos[rows], neg[rows])[valid])
        return Terms(torch.cat(chunks), hinge=True)

    def _reduce(self, terms: Terms, z: Tensor) -> Tensor:
        active = terms.values[terms.values > 0]
        return active.mean() if active.numel() else zero_with_grad(z)
