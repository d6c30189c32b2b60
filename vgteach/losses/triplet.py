"""Triplet loss, batch-all (Schroff, Kalenichenko & Philbin, FaceNet, CVPR 2015).

:func:`batch_all_triplet_loss` is the equation as the chapter writes it, one dense [B, B, B] tensor of
triplets. :class:`TripletLoss` computes the same value and the same gradient from the B×B distances alone:
sorting each anchor's distances turns "how many triplets are active" into counting, O(B² log B) work and
O(B²) memory (at the paper's B = 512 the cube would hold 134 M entries); a test holds the two equal.
"""

from __future__ import annotations

import torch
from torch import Tensor

from .._validation import validate_positive, validate_positive_int
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
    computes the same value and gradient in O(B²) memory.
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
    :func:`batch_all_triplet_loss` (the dense equation) in O(B² log B) work and O(B²) memory instead of
    O(B³).

    Parameters
    ----------
    margin : float, default 0.2
        The margin α (in squared-distance units).
    chunk_size : int, default 32
        Memory budget of :meth:`terms`, which lists every valid triplet: each step holds at most
        ``chunk_size · B²`` entries. The loss itself (``forward``, :meth:`compute`) never enumerates
        triplets and holds O(B²) whatever the chunk size.

    Notes
    -----
    How it avoids the B³ triplets: each active triplet contributes ``+1`` to ∂L/∂d²_ap and ``−1`` to
    ∂L/∂d²_an (times 1/|A|). So we count, without autograd, ``W_ap`` = #active negatives of the pair (a, p)
    and ``W_an`` = #active positives of (a, n), and write the loss as
    ``(Σ W_ap d²_ap − Σ W_an d²_an + α|A|) / |A|`` on the B×B distance matrix: the same value and the same
    gradient as the sum over triplets, with a graph of size B². Positive and negative pairs never overlap,
    so both counts live in one matrix ``W = W_ap − W_an``. |A| is a count and carries no gradient, as in
    pytorch-metric-learning's ``AvgNonZeroReducer``.

    The counts are ranks. (a, p, n) is active iff ``d²_an < t_ap`` with ``t_ap = d²_ap + α`` (strictly:
    ℓ = 0 is not active). Sort anchor a's values ``t_ap`` (its positives) and ``d²_an`` (its negatives)
    together, a threshold before a distance when the two are equal: then ``W_ap`` is the number of
    negatives sorted before p and ``W_an`` the number of positives sorted after n. One sort of a B×B
    matrix, row by row, and a cumulative sum: O(B² log B), where enumerating the triplets is O(B³)
    (12 M at the paper's B = 512 with 10 classes, 33 M with the 2 classes of coarse-to-fine). The counts
    are exact, those of enumerating ``(d²_ap + α) − d²_an > 0``: ``t_ap`` is rounded once, in the
    distances' dtype, and ``x − y > 0 ⇔ x > y`` holds in floating point.

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

    def extra_repr(self) -> str:
        return f"margin={self.margin}"

    def forward(self, embeddings: Tensor, labels: Tensor) -> Tensor:
        return self.compute(embeddings, labels).loss  # the counting *is* the loss here

    def compute(self, embeddings: Tensor, labels: Tensor, eps: float = DEFAULT_ACTIVE_EPS) -> LossOutput:
        z, labels = self._prepare(embeddings, labels)
        with self._full_precision(z):
            sim = pair_similarity(z)  # one [B, B] node: the counting below only reads it
            d2 = (2.0 - 2.0 * sim.matrix).clamp_min(0.0)
            pos, neg = same_label_masks(labels)
            num_pos = pos.sum(1)
            num_terms = (num_pos * (len(pos) - 1 - num_pos)).sum()  # negatives: all but the class
            weight, num_active = active_triplet_counts(d2.detach(), pos, neg, self.margin)
            # num_active is a long tensor: float * long would promote to the default dtype (float32). With no
            # active triplet W = 0: the loss is 0 with a gradient path, and no `if` reads the count on the host
            count = num_active.to(d2.dtype)
            loss = ((weight * d2).sum() + self.margin * count) / count.clamp_min(1.0)
            return LossOutput(loss, num_terms, num_active, sim)

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

    def _terms(self, z: Tensor, labels: Tensor) -> Terms:
        """Every valid triplet's ℓ in (a, p, n) row-major order (O(#triplets) memory: for inspection only)."""
        sim = pair_similarity(z)
        d2 = (2.0 - 2.0 * sim.matrix).clamp_min(0.0)
        pos, neg = same_label_masks(labels)
        num_pos = int(pos.sum(1).max()) if len(pos) else 0  # P, the most positives of any anchor
        pos_idx, d_ap, d_an = self._positives_first(d2, pos, neg, num_pos)
        valid_pos = pos.gather(1, pos_idx)
        chunks = []
        for rows in self._chunks(num_pos, len(d2)):
            valid = valid_pos[rows, :, None] & neg[rows, None, :]
            ell = (d_ap[rows] + self.margin)[:, :, None] - d_an[rows, None, :]  # −∞ where not valid
            chunks.append(ell[valid].clamp_min(0.0))
        return Terms(torch.cat(chunks) if chunks else d2.new_zeros(0), hinge=True, similarity=sim)


@torch.no_grad()
def active_triplet_counts(d2: Tensor, pos: Tensor, neg: Tensor, margin: float) -> tuple[Tensor, Tensor]:
    r"""``W = W_ap − W_an`` [B, B] and |A| without enumerating the triplets: O(B² log B) work, O(B²) memory.

    Parameters
    ----------
    d2 : Tensor [B, B]
        Squared distances, ≥ 0 (as ``clamp_min(0.0)`` leaves them: no −0.0).
    pos, neg : Tensor [B, B] bool
        Positive pairs (same label, not the diagonal) and negative pairs (:func:`same_label_masks`).
    margin : float
        α.

    Returns
    -------
    weight : Tensor [B, B], ``d2``'s dtype
        ``W_ap`` = #{n : ℓ_apn > 0} on the positive pairs, ``−W_an`` = −#{p : ℓ_apn > 0} on the negative
        pairs, 0 elsewhere.
    num_active : Tensor
        |A| = Σ W_ap, the number of active triplets (0-dim long).

    ℓ_apn > 0 ⇔ ``d2[a, n] < t_ap`` with ``t_ap = d2[a, p] + margin`` rounded in ``d2``'s dtype: the
    comparison the chunked enumeration made, so the counts are exact. float32 on the CPU (every training
    step) sorts packed integer keys with NumPy; other dtypes and devices use ``torch.sort`` and
    ``torch.searchsorted``. A NaN distance (NaN embeddings: the loss is NaN then) leaves the counts
    unspecified, each ``W_ap`` still at most the anchor's number of negatives.
    """
    if d2.device.type == "cpu" and d2.dtype == torch.float32:
        return _counts_by_sorting_keys(d2, pos, margin)
    return _counts_by_search(d2, pos, neg, margin)


def _counts_by_sorting_keys(d2: Tensor, pos: Tensor, margin: float) -> tuple[Tensor, Tensor]:
    """:func:`active_triplet_counts` for float32 on the CPU: one NumPy sort of int64 keys per anchor.

    Row a holds ``t_ap`` at its positives and ``d²_an`` at the other columns (the largest key on the
    diagonal). Each entry becomes the key ``bits · 2^(c+1) + tag · 2^c + column`` (c = bits of a column
    index): the bits of a non-negative float order as its value does, and the tag (0 threshold,
    1 distance) puts a threshold before an equal distance (ℓ = 0 is not active). In sorted order, a
    threshold's ``W_ap`` is the number of distances before it and a distance's ``W_an`` the number of
    thresholds after it; the column rides in the key to put the counts back. NumPy sorts int64 rows with
    SIMD: ~1.5 ms for 512 × 512 on one core, where ``torch.sort`` (values and indices) takes ~35 ms.
    """
    batch = len(d2)
    col_bits = max(1, (batch - 1).bit_length())
    # t_ap = d²_ap + α on the positives, rounded once as in d²_ap + α − d²_an; arithmetic with the mask
    # rather than torch.where, whose branches mispredict on a mask in random order (~4× slower at 50 %)
    value = torch.add(d2, pos, alpha=margin)
    bits = value.view(torch.int32)
    bits.diagonal().fill_(2**31 - 1)  # the anchor itself is no negative: the largest key, after every threshold
    key = torch.add(torch.arange(batch), ~pos, alpha=1 << col_bits)  # column + tag · 2^c
    key.add_(bits, alpha=1 << (col_bits + 1))
    key.numpy().sort(axis=1)  # in place, values only
    column = key & ((1 << col_bits) - 1)
    key >>= col_bits
    key &= 1  # 1 at a distance (a negative, or the anchor itself), 0 at a threshold
    counts = key.cumsum(1, dtype=d2.dtype)  # distances so far (≤ B: exact in float32)
    num_dist = counts[:, -1].long()
    # |A| = Σ over thresholds of the distances before them: all prefix counts minus the distances' own
    num_active = counts.sum(dtype=torch.float64).long() - (num_dist * (num_dist + 1) // 2).sum()
    # a distance at position r has r + 1 − c thresholds at or before it (c: distances so far), the rest
    # after: W_an = c + P − 1 − r, so −W_an = c − (2c + P − 1 − r). The B×B buffers are reused where they
    # can be: every fresh one costs page faults on the CPU
    shift = torch.mul(counts, 2, out=value)
    shift += (batch - 1 - num_dist).to(d2.dtype)[:, None]
    shift -= torch.arange(batch, dtype=d2.dtype)
    shift *= key  # 2c + P − 1 − r at the distances, 0 at the thresholds
    counts -= shift
    return value.scatter_(1, column, counts), num_active  # column: a permutation of each row


def _counts_by_search(d2: Tensor, pos: Tensor, neg: Tensor, margin: float) -> tuple[Tensor, Tensor]:
    """:func:`active_triplet_counts` for any dtype and device: ``torch.sort`` and ``torch.searchsorted``.

    ``W_ap`` is the number of the anchor's sorted negative distances strictly below ``t_ap``
    (``searchsorted``, left side). The negative of rank r is active with p iff r < W_ap, so ``W_an`` =
    #{p : W_ap > r}: a histogram of the ``W_ap``, summed from the right and put back in column order.
    """
    inf = float("inf")
    thresholds = d2 + margin
    thresholds = torch.where(pos & (thresholds > -inf), thresholds, -inf)  # −∞: below every distance (NaN too)
    distances = torch.where(neg & (d2 < inf), d2, inf)  # +∞: below no threshold (NaN too)
    batch = len(d2)
    ranked, order = torch.sort(distances, dim=1)
    per_pos = torch.searchsorted(ranked, thresholds)  # 0 where t = −∞
    histogram = torch.zeros(batch, batch + 1, dtype=torch.long, device=d2.device)
    histogram.scatter_add_(1, per_pos, torch.ones_like(per_pos))
    above = histogram.sum(1, keepdim=True) - histogram.cumsum(1)[:, :batch]  # #{p : W_ap > r}
    per_neg = torch.empty_like(above).scatter_(1, order, above)
    return (per_pos - per_neg).to(d2.dtype), per_pos.sum()
