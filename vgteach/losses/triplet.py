"""Triplet loss, batch-all (Schroff, Kalenichenko & Philbin, FaceNet, CVPR 2015).

:func:`batch_all_triplet_loss` is the equation as the chapter writes it, one dense [B, B, B] tensor of
triplets. :class:`TripletLoss` computes the same value and the same gradient chunk by chunk, in O(B²·chunk)
memory (at the paper's B = 512 the cube would hold 134 M entries); a test holds the two equal.
"""

from __future__ import annotations

import torch
from torch import Tensor

from .._validation import checks_values, validate_positive, validate_positive_int
from .base import DEFAULT_ACTIVE_EPS, LossOutput, MetricLoss, Terms, pair_similarity, same_label_masks


def batch_all_triplet_loss(z: Tensor, labels: Tensor, margin: float = 0.2) -> Tensor:
    r"""The batch-all triplet loss as written, on unit-norm rows ``z`` [B, D] — the reference.

    .. math::
        \ell_{apn} = [\,d_{ap}^2 - d_{an}^2 + \alpha\,]_+ \ \text{ for } y_a = y_p,\ a \ne p,\ y_n \ne y_a,
        \qquad L = \frac{\sum \ell_{apn}}{\#\{\ell_{apn} > 0\}} \quad (0 \text{ when no triplet is active})

    Parameters
    ----------
    z : Tensor [B, D]
        Unit-norm embeddings (``l2_normalize`` first: d² = 2 − 2 z·z' holds on the sphere only).
    labels : Tensor [B]
    margin : float, default 0.2
        α, in squared-distance units.

    Returns
    -------
    Tensor
        0-dim; ``0`` with a gradient path when no triplet is active.

    Dense: it holds the whole [B, B, B] cube of triplets (134 M entries at B = 512). :class:`TripletLoss`
    computes the same value and gradient in O(B²·chunk) memory.
    """
    d2 = (2.0 - 2.0 * z @ z.T).clamp_min(0.0)  # d²_ij = ‖z_i − z_j‖² on the sphere
    same = labels[:, None] == labels[None, :]
    positive = same & ~torch.eye(len(labels), dtype=torch.bool, device=z.device)
    valid = positive[:, :, None] & ~same[:, None, :]  # [a, p, n]
    ell = (d2[:, :, None] - d2[:, None, :] + margin).clamp_min(0.0) * valid
    return ell.sum() / (ell > 0).sum().clamp_min(1)


class TripletLoss(MetricLoss):
    r"""Batch-all triplet loss with squared distances, averaged over the *active* triplets.

    .. math::
        \ell_{apn} = [\,d_{ap}^2 - d_{an}^2 + \alpha\,]_+, \qquad
        L = \frac{1}{|A|}\sum_{(a,p,n)\in A} \ell_{apn}, \quad A = \{\ell_{apn} > 0\}

    over every valid triplet (``y_a = y_p``, ``a ≠ p``, ``y_n ≠ y_a``); ``L = 0`` when no triplet is active.
    ``d² = 2 − 2 z·z'`` on the unit sphere. :meth:`compute` gives the value and the gradient of
    :func:`batch_all_triplet_loss` (the dense equation) in O(B²·chunk) memory instead of O(B³).

    Parameters
    ----------
    margin : float, default 0.2
        The margin α (in squared-distance units).
    chunk_size : int, default 32
        Memory budget, in anchors of a dense chunk: each step holds at most ``chunk_size · B²`` entries —
        never the dense B³ tensor (at B = 512 that would be 134 M entries). Only the P ≤ B − 1 positives of
        each anchor are visited, so a step covers ``chunk_size · B / P`` anchors (all 512 at once at the
        paper's B = 512 with 10 classes).

    Notes
    -----
    How it stays O(B²·chunk): each active triplet contributes ``+1`` to ∂L/∂d²_ap and ``−1`` to ∂L/∂d²_an
    (times 1/|A|). So we count, without autograd and chunk by chunk, ``W_ap`` = #active negatives of the
    pair (a, p) and ``W_an`` = #active positives of (a, n), and write the loss as
    ``(Σ W_ap d²_ap − Σ W_an d²_an + α|A|) / |A|`` on the B×B distance matrix: the same value and the same
    gradient as the sum over triplets, with a graph of size B². Positive and negative pairs never overlap,
    so both counts live in one matrix ``W = W_ap − W_an``. |A| is a count and carries no gradient, as in
    pytorch-metric-learning's ``AvgNonZeroReducer``.

    Valid triplets are enumerated as [anchor, k-th positive, n] blocks: ``d²_ap`` is gathered per anchor
    (padding = −∞) and ``d²_an`` is +∞ wherever n is not a negative, so ``ℓ > 0`` holds exactly on the valid
    active triplets without any mask multiplication.

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
        self.margin = validate_positive(margin, "margin", allow_zero=True)
        self.chunk_size = validate_positive_int(chunk_size, "chunk_size")
        self._hot_widths = {}  # batch size -> P, for the trainer's hot path

    def extra_repr(self) -> str:
        return f"margin={self.margin}"

    def forward(self, embeddings: Tensor, labels: Tensor) -> Tensor:
        return self.compute(embeddings, labels).loss  # the counting *is* the loss here

    def compute(self, embeddings: Tensor, labels: Tensor, eps: float = DEFAULT_ACTIVE_EPS) -> LossOutput:
        z, labels = self._prepare(embeddings, labels)
        with self._full_precision(z):
            sim = pair_similarity(z)  # one [B, B] node: the chunks below only read it
            d2 = (2.0 - 2.0 * sim.matrix).clamp_min(0.0)
            pos, neg = same_label_masks(labels)
            num_terms = (pos.sum(1) * neg.sum(1)).sum()
            weight, num_active = self._count_active(d2.detach(), pos, neg)
            # num_active is a long tensor: float * long would promote to the default dtype (float32). With no
            # active triplet W = 0: the loss is 0 with a gradient path, and no `if` reads the count on the host
            count = num_active.to(d2.dtype)
            loss = ((weight * d2).sum() + self.margin * count) / count.clamp_min(1.0)
            return LossOutput(loss, num_terms, num_active, sim)

    @torch.no_grad()
    def _count_active(self, d2: Tensor, pos: Tensor, neg: Tensor) -> tuple[Tensor, Tensor]:
        """``W = W_ap − W_an`` [B, B] and |A|, visiting the valid triplets chunk by chunk."""
        weight = torch.zeros_like(d2)
        num_active = torch.zeros((), dtype=torch.long, device=d2.device)
        pos_idx, d_ap, d_an = self._positives_first(d2, pos, neg, self._packing_width(pos))
        for rows in self._chunks(d_ap.shape[1], len(d2)):
            # 1.0 where ℓ > 0, in place: the chunk's only [c, P, B] tensor (a bool mask would be cast to a
            # float copy by each sum)
            active = self._violations(d_ap[rows], d_an[rows]).gt_(0)
            per_pos = active.sum(2)  # [c, P]: active negatives of (a, p)
            weight[rows].scatter_add_(1, pos_idx[rows], per_pos)
            weight[rows] -= active.sum(1)  # [c, B]: active positives of (a, n)
            num_active += per_pos.sum(dtype=torch.long)  # exact: each count is ≤ B
        return weight, num_active

    def _packing_width(self, pos: Tensor) -> int:
        """P, the most positives any anchor has: the width of the [B, P] block the chunks visit.

        Reading it is a host synchronisation. A checked call (every public call) reads it each time. In the
        trainer's hot path (:func:`~vgteach._validation.skip_value_checks`) it is read once per batch size and
        reused, since the m-per-class sampler gives every batch the same class sizes; a device-side assert
        (no synchronisation) stops the run should a later batch need a wider block. ``VGTEACH_DEBUG=1``
        reads it on every step.
        """
        if not len(pos):
            return 0
        most = pos.sum(1).max()
        if checks_values():
            return int(most)
        width = self._hot_widths.get(len(pos))
        if width is None:
            width = self._hot_widths[len(pos)] = int(most)
        torch._assert_async(
            most <= width,
            f"TripletLoss: an anchor has more than the {width} positives of the "
            "first batch of this size; run with VGTEACH_DEBUG=1 to size every batch",
        )
        return width

    @staticmethod
    def _positives_first(d2: Tensor, pos: Tensor, neg: Tensor, num_pos: int) -> tuple[Tensor, Tensor, Tensor]:
        """Per anchor: the indices of its positives packed to the left (batch order) [B, P = ``num_pos``],
        their d² (−∞ in the padding) and the d² to every sample (+∞ where it is not a negative) [B, B]."""
        pos_idx = torch.argsort(pos.to(torch.uint8), dim=1, descending=True, stable=True)[:, :num_pos]
        d_ap = d2.gather(1, pos_idx).masked_fill(~pos.gather(1, pos_idx), float("-inf"))
        d_an = d2.masked_fill(~neg, float("inf"))
        return pos_idx, d_ap, d_an

    def _chunks(self, num_pos: int, batch_size: int):
        """Slices of anchors with at most chunk_size · B² entries in each [c, P, B] block."""
        step = max(1, self.chunk_size * batch_size // max(num_pos, 1))
        return [slice(start, start + step) for start in range(0, batch_size, step)]

    def _violations(self, d_ap: Tensor, d_an: Tensor) -> Tensor:
        """d²_ap − d²_an + α for [c, P] positives × [c, B] samples; −∞ wherever (a, p, n) is not valid."""
        return (d_ap + self.margin)[:, :, None] - d_an[:, None, :]

    def _terms(self, z: Tensor, labels: Tensor) -> Terms:
        """Every valid triplet's ℓ in (a, p, n) row-major order (O(#triplets) memory: for inspection only)."""
        sim = pair_similarity(z)
        d2 = (2.0 - 2.0 * sim.matrix).clamp_min(0.0)
        pos, neg = same_label_masks(labels)
        pos_idx, d_ap, d_an = self._positives_first(d2, pos, neg, self._packing_width(pos))
        valid_pos = pos.gather(1, pos_idx)
        chunks = []
        for rows in self._chunks(d_ap.shape[1], len(d2)):
            valid = valid_pos[rows, :, None] & neg[rows, None, :]
            chunks.append(self._violations(d_ap[rows], d_an[rows])[valid].clamp_min(0.0))
        return Terms(torch.cat(chunks) if chunks else d2.new_zeros(0), hinge=True, similarity=sim)
