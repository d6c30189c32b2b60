r"""Geometry beyond the paper (DESIGN.md §3): alignment & uniformity, neural collapse, effective ranks,
compression.

Zeng et al. describe geometry through within-/between-class variance (:func:`variance_stats`). Seven standard
measures from the representation-learning literature complement them, kept separate so that the paper's
numbers stay what they are:

- **alignment** and **uniformity** (Wang & Isola 2020): are positives close, and do the embeddings use the
  whole sphere?
- **NC1** (Papyan, Han & Donoho 2020): within-class variability relative to the between-class spread — the
  first property of "neural collapse", → 0 as classes collapse onto their means.
- **effective rank** (Roy & Vetterli 2007): how many directions of the embedding space are actually used
  (dimensional collapse).
- **within-class rank**: the effective rank of each class's *centred* embeddings, averaged over classes —
  in how many directions a class still varies, the "class structure" that Zeng et al. say Contrastive and
  InfoNCE oversimplify.
- **spectral decay** and **π-ratio** (Roth et al. 2020, :mod:`~vgteach.diagnostics.compression`): how
  compressed the embedding is and how dense its classes are, which relate to zero-shot generalisation.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from .._validation import validate_positive
from ..losses.base import l2_normalize
from ._common import as_batch, class_index, class_means, unit_float64
from .compression import pi_ratio, spectral_decay

#: entries of one block of pair distances (32 MiB in float64, 16 in float32): bounds the pair terms' memory
_PAIR_BLOCK = 1 << 22


def _alignment(z: Tensor, labels: Tensor, alpha: float) -> float:
    r"""Mean ||z_i − z_j||^α over positive pairs i < j (0.0 without any).

    For α = 2 it needs no pairs: within a class of n samples with mean μ,
    Σ_{i<j} ||z_i − z_j||² = n Σ_i ||z_i − μ||², an O(B·D) identity. Other α visit the pairs by blocks.
    """
    inverse, counts = class_index(labels)
    num_pairs = int((counts * (counts - 1) // 2).sum())
    if num_pairs == 0:
        return 0.0
    if alpha == 2:
        residual = (z - class_means(z, inverse, counts)[inverse]).pow(2).sum(dim=1)
        scatter = torch.zeros(len(counts), dtype=z.dtype, device=z.device).index_add_(0, inverse, residual)
        return float((counts.to(z.dtype) * scatter).sum() / num_pairs)
    total = sum(float(sq[same].pow(alpha / 2.0).sum()) for sq, same in _upper_pair_blocks(z, labels))
    return total / num_pairs


def _uniformity(z: Tensor, t: float) -> float:
    r"""log mean_{i<j} exp(−t ||z_i − z_j||²) (0.0 for a single sample), over the pairs i < j by blocks.

    On the unit sphere d² ≤ 4, so every term lies in [e^{−4t}, 1]: while e^{−4t} stays well above the
    smallest normal number of z's dtype (t ≤ 150 in float64, t ≤ 18 in float32) a plain sum cannot underflow
    and needs no log-sum-exp (each block summed in z's dtype by torch's cascaded sum, the blocks in float64).
    Larger t moves to float64, and beyond t = 150 to log-sum-exp.
    """
    n = z.shape[0]
    num_pairs = n * (n - 1) // 2
    if num_pairs == 0:
        return 0.0
    if not _plain_sum_is_safe(t, z.dtype):
        z = z.to(torch.float64)
    if not _plain_sum_is_safe(t, z.dtype):
        parts = [torch.logsumexp(-t * sq.flatten(), dim=0) for sq, _ in _upper_pair_blocks(z)]
        return float(torch.logsumexp(torch.stack(parts), dim=0)) - math.log(num_pairs)
    total = sum(float(sq.mul_(-t).exp_().sum()) for sq, _ in _upper_pair_blocks(z))  # blocks summed in float64
    return math.log(total) - math.log(num_pairs)


def _plain_sum_is_safe(t: float, dtype: torch.dtype) -> bool:
    """Whether e^{−4t}, the smallest uniformity term, stays far above ``dtype``'s smallest normal number."""
    return 4 * t <= -0.85 * math.log(torch.finfo(dtype).tiny)


def _upper_pair_blocks(z: Tensor, labels: Tensor | None = None):
    """``(d², same)`` for every pair i < j exactly once, in blocks: for each block of rows [a, b), the pairs
    inside it (the strict upper triangle of its square, flattened), then the rectangle [a, b) × [b, B).
    ``same`` tells which pairs share a label (None without ``labels``). d² in the Gram form, clamped at 0;
    half the work of the full matrix; each block at most about :data:`_PAIR_BLOCK` entries."""
    n = z.shape[0]
    sq_norms = z.pow(2).sum(dim=1)
    start = 0
    while start < n:
        stop = min(n, start + max(1, _PAIR_BLOCK // (n - start)))
        # ||z_i||² + ||z_j||² − 2 z_i·z_j, the product and one sum fused in addmm (no [rows, B] temporaries)
        block = torch.addmm(sq_norms[None, start:], z[start:stop], z[start:].T, alpha=-2.0)
        block = block.add_(sq_norms[start:stop, None]).clamp_min_(0.0)
        rows, cols = torch.triu_indices(stop - start, stop - start, offset=1, device=z.device)
        own = None if labels is None else labels[start:stop]
        yield block[rows, cols], None if labels is None else own[rows] == own[cols]
        if stop < n:
            yield block[:, stop - start :], None if labels is None else own[:, None] == labels[None, stop:]
        start = stop


def _nc1(z: Tensor, labels: Tensor) -> Tensor:
    r"""tr(Σ_W Σ_B⁺)/C (0-dim tensor)."""
    inverse, counts = class_index(labels)
    num_classes = len(counts)
    mu = class_means(z, inverse, counts)  # [C, D]
    residual = z - mu[inverse]  # [B, D]
    sigma_w = residual.T @ residual / z.shape[0]  # averaged over samples
    centred = mu - z.mean(dim=0)  # around the global mean
    sigma_b = centred.T @ centred / num_classes
    # pinv's usual relative cut-off, plus an absolute one at rounding level: with one class the centred
    # means are ~1e-17 of noise, not a direction to invert (1e33). z has unit rows, so the scale is 1.
    rounding = max(num_classes, z.shape[1]) * torch.finfo(z.dtype).eps
    pinv = torch.linalg.pinv(
        sigma_b, atol=rounding**2 / num_classes, rtol=z.shape[1] * torch.finfo(z.dtype).eps, hermitian=True
    )
    return (sigma_w * pinv).sum() / num_classes  # tr(A B) = Σ A ⊙ Bᵀ, B = Bᵀ


def _rank_of_singular_values(sigma: Tensor) -> Tensor:
    r"""exp(H(p)), p = σ / Σσ along the last dim (one value per row; 0 where every σ is 0)."""
    total = sigma.sum(dim=-1)
    p = sigma / total.clamp_min(torch.finfo(sigma.dtype).tiny)[..., None]
    entropy = -torch.xlogy(p, p).sum(dim=-1)  # 0·log 0 = 0
    return torch.where(total > 0, entropy.exp(), torch.zeros_like(entropy))


def within_class_rank(z: Tensor, labels: Tensor) -> Tensor:
    r"""Mean over the classes with ≥ 2 samples of the effective rank of the centred class (0-dim tensor), of
    L2-normalised embeddings ``z`` (:func:`~vgteach.diagnostics._common.unit_float64`): ``geometry_stats``'s
    ``within_class_rank`` alone, for callers that need only it (the trainer's training-split measures).

    All classes at once: each class's centred rows are packed into a zero-padded [C, n_max, D] block (zero
    rows add no singular value), one batched ``svdvals``. Singular values below the rounding level
    max(n_c, D)·ε are set to 0, so that a collapsed class has rank 0, not the rank of its rounding noise.
    """
    inverse, counts = class_index(labels)
    centred = z - class_means(z, inverse, counts)[inverse]
    order = torch.argsort(inverse, stable=True)
    starts = torch.cumsum(counts, 0) - counts
    slot = torch.arange(len(z), device=z.device) - starts[inverse[order]]  # position inside its class
    padded = z.new_zeros(len(counts), int(counts.max()), z.shape[1])
    padded[inverse[order], slot] = centred[order]
    sigma = torch.linalg.svdvals(padded)  # [C, min(n_max, D)]
    rounding = counts.clamp_min(z.shape[1]).to(z.dtype)[:, None] * torch.finfo(z.dtype).eps
    ranks = _rank_of_singular_values(torch.where(sigma > rounding, sigma, 0.0))
    kept = (counts >= 2).to(z.dtype)
    return (ranks * kept).sum() / kept.sum().clamp_min(1.0)


def geometry_stats(embeddings, labels, *, alpha: float = 2, t: float = 2) -> dict:
    r"""Alignment, uniformity, NC1, effective rank, within-class rank, spectral decay and π-ratio of
    L2-normalised embeddings.

    With :math:`z_i = e_i/\lVert e_i \rVert`, positive pairs :math:`P = \{(i, j): i < j, y_i = y_j\}` and all
    pairs :math:`A = \{(i, j): i < j\}`:

    .. math::
        \text{alignment} = \frac{1}{|P|} \sum_{(i,j) \in P} \lVert z_i - z_j \rVert^{\alpha},
        \qquad
        \text{uniformity} = \log \frac{1}{|A|} \sum_{(i,j) \in A} e^{-t \lVert z_i - z_j \rVert^2}

    (Wang & Isola 2020; lower is better for both; uniformity lies in [−4t, 0] and is evaluated without
    underflow, with log-sum-exp for large t),

    .. math::
        \text{nc1} = \frac{1}{C}\operatorname{tr}\big(\Sigma_W \Sigma_B^{+}\big),\quad
        \Sigma_W = \frac{1}{B}\sum_i (z_i - \mu_{y_i})(z_i - \mu_{y_i})^\top,\quad
        \Sigma_B = \frac{1}{C}\sum_c (\mu_c - \mu_G)(\mu_c - \mu_G)^\top

    (Papyan, Han & Donoho 2020: within-class covariance averaged over samples, between-class covariance of
    the C class means around the global mean :math:`\mu_G` of all samples, :math:`^{+}` the Moore–Penrose
    pseudo-inverse: eigenvalues of Σ_B below D·ε₆₄ times the largest, or below the rounding level
    (max(C, D)·ε₆₄)²/C, are treated as 0), and

    .. math::
        \text{effective\_rank} = \exp\Big(-\sum_k p_k \log p_k\Big),\qquad
        p_k = \sigma_k \Big/ \sum_l \sigma_l

    over the singular values :math:`\sigma_k` of the **uncentred** matrix :math:`Z = [z_1; \dots; z_B]`
    (Roy & Vetterli 2007). It lies in [1, min(B, D)] and says how many directions the *whole* embedding
    uses (dimensional collapse): uncentred because the losses act on the unit vectors themselves, so a batch
    whose classes all sit on one great circle has effective rank ≈ 2, whatever its mean — and the mean
    direction counts as one of them. It is **not** the dimensionality of a class: C tight classes pointing
    in different directions give up to ≈ C, however little each class varies. That is

    .. math::
        \text{within\_class\_rank} = \frac{1}{|\mathcal C_2|} \sum_{c \in \mathcal C_2}
        \operatorname{erank}\big([z_i - \mu_c]_{i:\,y_i = c}\big),

    the effective rank (same formula) of each class's **centred** embeddings, averaged over the classes
    :math:`\mathcal C_2` with at least 2 samples (a single sample has no spread; DESIGN.md §3). A class
    spread isotropically in k dimensions gives ≈ k, a class stretched along one direction ≈ 1; it lies in
    [0, min(n_c − 1, D)]. Last, Roth et al.'s (2020) compression measures, ``spectral_decay`` ρ (the KL
    divergence of the flat spectrum from the normalised singular values σ_2..σ_D of the same uncentred
    matrix: 0 = every direction after the mean used equally) and ``pi_ratio`` (mean cosine distance within
    a class over mean cosine distance between the normalised class means), are defined in
    :func:`~vgteach.diagnostics.compression_stats`, which computes them alone.

    Parameters
    ----------
    embeddings : Tensor or numpy array [B, D]
        Raw embeddings (normalised here).
    labels : Tensor or numpy array [B]
        Integer class ids.
    alpha : float, default 2
        Exponent of the alignment (> 0).
    t : float, default 2
        Temperature of the uniformity's Gaussian kernel (> 0).

    Returns
    -------
    dict
        ``alignment``, ``uniformity``, ``nc1``, ``effective_rank``, ``within_class_rank``,
        ``spectral_decay``, ``pi_ratio`` (python floats).

    Notes
    -----
    - This docstring is the reference definition of the geometry columns of the trainer's history and of
      ``vgteach diagnose`` (DESIGN.md §3), hence its length; the code is a few named steps.
    - Computed in float64 on the embeddings' device, detached — except the uniformity's pair kernel, in
      the embeddings' own precision when that is float32 (rounding ~1e-8 relative on the result, 1.6×
      faster than float64 on a CPU core; at t > 18 it moves to float64). Pair terms visit each pair i < j once, by row blocks
      (memory O(block), not O(B²)); NC1 needs D×D matrices, the effective rank and ρ share one SVD of
      [B, D], the within-class rank is one batched SVD of the classes zero-padded to the largest (memory
      O(C·n_max·D)), the π-ratio needs only class sums.
    - ``within_class_rank`` treats singular values below the rounding level max(n_c, D)·ε₆₄ as 0 (the rows
      have unit norm, so the scale is 1): a collapsed class — all its samples equal, centred matrix 0 up to
      rounding — has within-class rank 0.0 (the effective rank of the zero matrix, defined as 0, as for
      ``effective_rank``), and it counts as 0 in the mean.
    - Squared pair distances use the Gram form, so a perfectly collapsed class has alignment ≈ 1e-16 (for
      α = 2), not exactly 0.
    - **Degenerate batches (documented choices, all finite):** no positive pair → ``alignment`` = 0.0; a
      single sample (no pair at all) → ``uniformity`` = 0.0; fewer than two classes → Σ_B = 0 (up to
      rounding, which the absolute cut-off of the pseudo-inverse discards), whose pseudo-inverse is 0, so
      ``nc1`` = 0.0 (undefined, reported as 0 — read it together with the number
      of classes); only singletons → Σ_W = 0 and ``nc1`` = 0.0; an all-zero embedding matrix →
      ``effective_rank`` = 0.0; no class with 2 samples → ``within_class_rank`` = 0.0. ``spectral_decay``
      and ``pi_ratio`` are NaN where they are undefined (D = 1, rank ≤ 1; fewer than two classes, no class
      with two samples, coincident class means: see :func:`~vgteach.diagnostics.compression_stats`).

    References
    ----------
    T. Wang, P. Isola. Understanding contrastive representation learning through alignment and uniformity
    on the hypersphere. ICML 2020.
    V. Papyan, X. Y. Han, D. L. Donoho. Prevalence of neural collapse during the terminal phase of deep
    learning training. PNAS 117(40), 2020.
    O. Roy, M. Vetterli. The effective rank: a measure of effective dimensionality. EUSIPCO 2007.
    K. Roth, T. Milbich, S. Sinha, P. Gupta, B. Ommer, J. P. Cohen. Revisiting training strategies and
    generalization performance in deep metric learning. ICML 2020.
    """
    alpha = validate_positive(alpha, "alpha")
    t = validate_positive(t, "t")
    embeddings, labels = as_batch(embeddings, labels)
    z = unit_float64(embeddings)
    sigma = torch.linalg.svdvals(z)  # one SVD for the effective rank and the spectral decay
    nc1, effective_rank, class_rank = torch.stack(  # one device→host transfer
        [_nc1(z, labels), _rank_of_singular_values(sigma), within_class_rank(z, labels)]
    ).tolist()
    return {
        "alignment": _alignment(z, labels, alpha),
        "uniformity": _uniformity(z if z.dtype == embeddings.dtype else _unit_rows(embeddings), t),
        "nc1": nc1,
        "effective_rank": effective_rank,
        "within_class_rank": class_rank,
        "spectral_decay": spectral_decay(sigma, *z.shape),
        "pi_ratio": pi_ratio(z, labels),
    }


def _unit_rows(embeddings: Tensor) -> Tensor:
    """z = e / ||e|| in the embeddings' precision, at least float32, detached (for the uniformity kernel)."""
    return l2_normalize(embeddings.detach().to(torch.promote_types(embeddings.dtype, torch.float32)))
