"""What every loss shares: input checks, L2-normalisation, elementary terms and their reduction.

A loss in vgteach is written as *elementary terms* ℓ_t (one per pair, triplet, anchor or sample, as listed in
DESIGN.md §2) and a *reduction* L = Σ_t w_t ℓ_t. Keeping the terms explicit is what lets GREEDINESS count how
many of them are still "active" (still pushing on the embeddings) without any hidden global state: a call
to :meth:`MetricLoss.compute` returns the loss together with the term counts.

Every loss also forms the cosine-similarity matrix S it depends on through one helper
(:func:`pair_similarity`, :func:`proxy_similarity`) and returns it as a :class:`Similarity`, a node of its
graph: the gradient ∂L/∂S, taken with ``torch.autograd.grad`` or a tensor hook, says how hard each pair pushes
(``effective_active_ratio``, DESIGN.md §3).
"""

from __future__ import annotations

import contextlib
import math
from dataclasses import dataclass
from typing import Optional, Union

import torch
from torch import Tensor, nn

from .._validation import validate_batch

DEFAULT_ACTIVE_EPS = 1e-3


@dataclass(frozen=True)
class Similarity:
    r"""The cosine-similarity matrix S a loss depends on, as a node of the loss's graph (DESIGN.md §3).

    Everything the loss computes from the embeddings goes through S (distances too: d² = 2 − 2s), so
    G = ∂L/∂S, with every entry of S its own variable, says how hard each pair pushes.

    Attributes
    ----------
    matrix : Tensor
        S: ``z zᵀ`` [B, B] for pair losses, ``z ŵᵀ`` [B, K] against the normalised proxies/centers for proxy
        losses, or a block of ``z zᵀ`` whose entries are distinct pairs (N-pair's anchors × positives).
    num_pairs : int
        n, the pairs the weights are spread over: the B(B − 1)/2 unordered pairs of the batch for pair
        losses (N-pair included: pairs outside its block weigh 0), the B·K sample–proxy pairs for proxy losses.
    symmetric : bool
        True when ``matrix`` is the whole ``z zᵀ``: s_ij and s_ji are one pair, weighted
        w_ij = |G_ij + G_ji| (i < j). False when each entry is a distinct pair: w = |G|.
    """

    matrix: Tensor
    num_pairs: int
    symmetric: bool = True

    def without_matrix(self) -> "Similarity":
        """The same pair rule (n, symmetric) without S itself: what a hook registered on S may hold.

        A hook on ``matrix`` that closes over ``matrix`` makes a reference cycle through autograd's C++
        graph, which Python's garbage collector cannot see: every step would leak its whole graph.
        """
        return Similarity(None, self.num_pairs, self.symmetric)

    def effective_active_ratio(self, grad: Optional[Tensor]) -> Tensor:
        r"""The participation ratio of the pair weights w (from G = ``grad`` = ∂L/∂S):

        .. math::
            \text{effective\_active\_ratio} = \frac{(\sum w)^2}{n \sum w^2} \in [0, 1]

        k equal non-zero weights give exactly k/n; unequal ones less; 0 when every w = 0 (or ``grad`` is
        ``None``: no gradient reached S). A 0-dim tensor on ``grad``'s device, with no host synchronisation.
        Evaluated as 1/(n·Σ(w/Σw)²): scaled by Σw first, the squares cannot underflow however small the
        gradient; clamped at 1, which rounding can pass when all weights are equal.
        """
        if grad is None:
            return torch.zeros(()) if self.matrix is None else self.matrix.new_zeros(())
        pairs = self.num_pairs
        if self.symmetric:
            # every pair twice (ij and ji): both sums double and the ratio stays. ``copy_`` of a transposed
            # view takes a cache-blocked path; ``grad + grad.T`` walks columns (~100× slower on a CPU at B=512)
            weights = torch.empty_like(grad, memory_format=torch.contiguous_format).copy_(grad.T).add_(grad)
            weights.diagonal().zero_()  # s_ii is no pair
            weights.abs_()
            pairs *= 2
        else:
            weights = grad.abs()
        total = weights.sum()
        shares = torch.linalg.vector_norm(weights.div_(total.clamp_min(torch.finfo(weights.dtype).tiny)))
        ratio = (shares.square() * max(pairs, 1)).reciprocal().clamp_max(1.0)
        return torch.where(total > 0, ratio, 0.0)


def pair_similarity(z: Tensor) -> Similarity:
    """S = z zᵀ [B, B] over the B(B − 1)/2 pairs of the batch (contrastive, triplet, InfoNCE, SupCon)."""
    return Similarity(z @ z.T, len(z) * (len(z) - 1) // 2, symmetric=True)


def proxy_similarity(z: Tensor, proxies: Tensor) -> Similarity:
    """S = z ŵᵀ [B, K] against unit-norm proxies/centers ŵ (ArcFace, CCL): B·K sample–proxy pairs."""
    return Similarity(z @ proxies.T, z.shape[0] * proxies.shape[0], symmetric=False)


@dataclass(frozen=True)
class Terms:
    """The elementary terms of a loss on one batch.

    Attributes
    ----------
    values : Tensor [T]
        Term values ℓ_t, in the order documented by the loss.
    hinge : bool
        Hinge terms ([·]₊) are active iff ℓ_t > 0; softmax-type terms are active iff ℓ_t − floor_t > eps,
        because a cross-entropy never reaches 0 exactly.
    floor : Tensor or float
        The smallest value a term can take (0, except SupCon's log #P(i)).
    weights : Tensor [T] or None
        Reduction weights, L = Σ_t w_t ℓ_t. ``None`` means the plain mean.
    similarity : Similarity or None
        The similarity matrix the terms were computed from (``None`` when the batch has none, e.g. an
        N-pair batch with fewer than two labels).
    """

    values: Tensor
    hinge: bool = False
    floor: Union[Tensor, float] = 0.0
    weights: Optional[Tensor] = None
    similarity: Optional[Similarity] = None

    def active(self, eps: float = DEFAULT_ACTIVE_EPS) -> Tensor:
        """Boolean mask [T] of the terms that still produce a gradient."""
        if self.hinge:
            return self.values > 0
        if isinstance(self.floor, Tensor):
            return (self.values - self.floor) > eps
        return self.values > self.floor + eps  # one pass when the floor is a constant

    def count_active(self, eps: float = DEFAULT_ACTIVE_EPS) -> Tensor:
        """Number of active terms, a 0-dim long tensor (``active(eps).sum()``, computed faster for hinges)."""
        if self.hinge and self.values.numel() < 2**24 and self.values.dtype in (torch.float32, torch.float64):
            # a hinge term is ≥ 0, so sign() is its active indicator (nansum skips a NaN as the mask would);
            # summing it in float is ~3× faster on a CPU than summing a bool mask, and exact below 2**24
            return torch.sign(self.values.detach()).nansum().long()
        return self.active(eps).sum()

    def detach(self) -> "Terms":
        floor = self.floor.detach() if isinstance(self.floor, Tensor) else self.floor
        weights = None if self.weights is None else self.weights.detach()
        similarity = self.similarity
        if similarity is not None:
            similarity = Similarity(similarity.matrix.detach(), similarity.num_pairs, similarity.symmetric)
        return Terms(self.values.detach(), self.hinge, floor, weights, similarity)


@dataclass(frozen=True)
class LossOutput:
    """A loss value with its GREEDINESS counts (``num_terms``/``num_active`` are 0-dim long tensors,
    kept on the device so that tracking them costs no synchronisation; ``None`` where the caller asked not
    to count, as an untracked training step does) and the :class:`Similarity` node the loss was computed
    from (``None`` when it has none, or was not asked)."""

    loss: Tensor
    num_terms: Optional[Tensor]
    num_active: Optional[Tensor]
    similarity: Optional[Similarity] = None

    @property
    def active_ratio(self) -> float:
        if self.num_terms is None:
            return math.nan
        total = int(self.num_terms)
        return float(self.num_active) / total if total else 0.0


def zero_with_grad(z: Tensor) -> Tensor:
    """A 0 that keeps the graph connected to ``z`` (an empty mean must not cut the gradient path)."""
    return z.sum() * 0.0


def mean_or_zero(values: Tensor, z: Tensor) -> Tensor:
    """Mean of ``values``; 0 with a gradient path when there are none (DESIGN.md §2: an empty mean is 0)."""
    return values.mean() if values.numel() else zero_with_grad(z)


def masked_logsumexp(x: Tensor, mask: Tensor, dim: int = -1) -> Tensor:
    """log Σ exp(x) over the entries where ``mask`` is True; −inf (with a zero, not NaN, gradient) when a
    row has no such entry."""
    has_any = mask.any(dim=dim)
    filled = x.masked_fill(~mask, torch.finfo(x.dtype).min)
    lse = torch.logsumexp(filled, dim=dim)
    return torch.where(has_any, lse, torch.full_like(lse, float("-inf")))


def same_label_masks(labels: Tensor) -> tuple[Tensor, Tensor]:
    """``(positive [B, B], negative [B, B])``: same label excluding the diagonal, and different label."""
    same = labels[:, None] == labels[None, :]
    eye = torch.eye(len(labels), dtype=torch.bool, device=labels.device)
    return same & ~eye, ~same


def unit_rows(x: Tensor, eps: float = 1e-12) -> Tensor:
    """``F.normalize(x, dim=1)`` for parameters (proxies, centers), written as a product with the reciprocal
    norm: its backward needs no [K, D] divisions, which makes it measurably cheaper on the CPU."""
    return x * torch.linalg.vector_norm(x, dim=1, keepdim=True).clamp_min(eps).reciprocal()


class _L2Normalize(torch.autograd.Function):
    """z = e / ‖e‖ per row with its backward written out: ∂L/∂e = (g − z ⟨z, g⟩) / ‖e‖, the Jacobian
    (I − z zᵀ) / ‖e‖ applied to g = ∂L/∂z (autograd's chain through the norm takes twice the passes)."""

    @staticmethod
    def forward(ctx, embeddings: Tensor, eps: float) -> Tensor:
        finfo = torch.finfo(embeddings.dtype)
        k_min = math.floor(math.log2(finfo.tiny / (finfo.eps * eps)))
        largest = embeddings.abs().amax(dim=1, keepdim=True)
        k = torch.frexp(largest).exponent.clamp_min_(k_min)  # frexp(0) = (0, 0): a zero row keeps 2⁰
        scale = torch.exp2(-k.to(embeddings.dtype))  # exact: a power of two
        unit = embeddings * scale  # u: largest |entry| in [½, 1)
        inverse = torch.linalg.vector_norm(unit, dim=1, keepdim=True).clamp_min_(eps).reciprocal_()
        unit.mul_(inverse)  # z = u / max(‖u‖, ε)
        ctx.save_for_backward(unit, inverse.mul_(scale))  # 1 / ‖e‖ (2⁻ᵏ/ε on a zero row)
        return unit

    @staticmethod
    def backward(ctx, grad: Tensor):
        unit, inverse = ctx.saved_tensors
        along = (unit * grad).sum(dim=1, keepdim=True)  # ⟨z, g⟩ (0 on a zero row: F.normalize's I/ε)
        return torch.addcmul(grad, unit, along, value=-1.0).mul_(inverse), None


def l2_normalize(embeddings: Tensor, eps: float = 1e-12) -> Tensor:
    r"""z = e / ‖e‖ row by row: exact at any finite scale, a finite gradient for every finite row, and no
    host synchronisation.

    .. math::
        u = 2^{-k} e \ \text{ with } 2^{k - 1} \le \max_j |e_j| < 2^{k}, \qquad
        z = \frac{u}{\max(\lVert u\rVert, \epsilon)}

    The norm squares the entries: in float32, rows beyond ~1e19 would overflow and rows below ~1e-19 lose
    their components to underflow. Scaling each row by a power of two near its largest |entry| first (a
    constant per row, exact in floating point; z is scale-invariant, so it changes neither z nor its
    gradient) puts ‖u‖ in [½, √D] at any scale: ordinary rows get bit for bit the values of
    ``e * (1 / ‖e‖)``, and rows at 1e-30 or 1e30 the same z as at 1.

    An all-zero row keeps k = 0 and gets what ``F.normalize`` (eps 1e-12) gives it: z = 0 and the finite
    gradient I/ε, where e/‖e‖ has an infinite one (one dead row of a ReLU head would turn Adam's state, then
    the head, into NaN). k is kept ≥ log2(tiny / (finfo.eps · ε)), so that the gradient, about 1/‖e‖, stays
    below finfo.eps / finfo.tiny (1e31 in float32, 1e292 in float64): the rare rows with a smaller norm
    than finfo.tiny / finfo.eps are shrunk towards 0 as ``F.normalize`` shrinks rows below ε.
    """
    return _L2Normalize.apply(embeddings, eps)


class MetricLoss(nn.Module):
    """Base class: ``forward(embeddings [B, D], labels [B]) -> 0-dim loss``.

    Subclasses implement :meth:`_terms` on L2-normalised embeddings. The loss is computed in float32 (or
    float64 if given float64) with autocast switched off: the B×B similarity matrix is cheap, and
    ``exp(s/τ)`` at τ = 0.01 is not something to trust to bfloat16.
    """

    name: str = "base"

    @property
    def proxies(self) -> Optional[nn.Parameter]:
        """The learnable class proxies [K, D] of a proxy loss (ArcFace's ``weight``, CCL's ``centers``);
        ``None`` for the pair losses, which own no parameters."""
        return None

    # -- public API ---------------------------------------------------------------------------------
    def forward(self, embeddings: Tensor, labels: Tensor) -> Tensor:
        """The loss alone (what a training step needs): :meth:`compute`'s ``loss`` without the counting."""
        z, labels = self._prepare(embeddings, labels)
        with self._full_precision(z):
            return self._reduce(self._terms(z, labels), z)

    def compute(self, embeddings: Tensor, labels: Tensor, eps: float = DEFAULT_ACTIVE_EPS) -> LossOutput:
        """Loss plus the number of elementary terms and of active terms (DESIGN.md §2, last column)."""
        z, labels = self._prepare(embeddings, labels)
        with self._full_precision(z):
            terms = self._terms(z, labels)
            loss = self._reduce(terms, z)
            active = terms.count_active(eps)
        count = z.new_full((), terms.values.numel(), dtype=torch.long)  # a fill: no host-to-GPU copy, no sync
        return LossOutput(loss, count, active, terms.similarity)

    def terms(self, embeddings: Tensor, labels: Tensor) -> Terms:
        """The elementary terms (detached) — the object the book's chapters inspect."""
        z, labels = self._prepare(embeddings, labels)
        with torch.no_grad(), self._full_precision(z):
            return self._terms(z, labels).detach()

    # -- for subclasses -----------------------------------------------------------------------------
    def _terms(self, z: Tensor, labels: Tensor) -> Terms:
        raise NotImplementedError

    def _reduce(self, terms: Terms, z: Tensor) -> Tensor:
        if terms.weights is None:
            return mean_or_zero(terms.values, z)
        return (terms.weights * terms.values).sum() if terms.values.numel() else zero_with_grad(z)

    def _validate_inputs(self, embeddings: Tensor, labels: Tensor) -> None:
        """Hook for losses with a fixed number of classes and dimension (ArcFace, CCL)."""

    # -- helpers ------------------------------------------------------------------------------------
    def _prepare(self, embeddings: Tensor, labels: Tensor) -> tuple[Tensor, Tensor]:
        embeddings, labels = validate_batch(embeddings, labels)
        self._validate_inputs(embeddings, labels)
        if embeddings.dtype in (torch.float16, torch.bfloat16):
            embeddings = embeddings.float()
        return l2_normalize(embeddings), labels

    @staticmethod
    def _full_precision(z: Tensor):
        if z.device.type in ("cpu", "cuda"):
            return torch.autocast(device_type=z.device.type, enabled=False)
        return contextlib.nullcontext()
