r"""Compression and density after Roth et al. (ICML 2020): spectral decay ρ and the π-ratio (DESIGN.md §3).

Roth, Milbich, Sinha, Gupta, Ommer & Cohen relate two properties of a metric-learning embedding to how well
it generalises to classes it never saw (zero-shot retrieval):

- **spectral decay** ρ — how *compressed* the embedding is: is the variance spread over many directions or
  squeezed into a few? They find that less compression (a flatter spectrum, smaller ρ) goes with better
  zero-shot recall.
- **π-ratio** — the *density* of the classes: the typical distance inside a class relative to the typical
  distance between classes. Classes that are not squeezed to points (a larger π-ratio) also go with better
  generalisation.

Both are cheap: ρ needs the singular values of the [N, D] embedding matrix (one SVD, shared with the
effective rank in :func:`~vgteach.diagnostics.geometry_stats`), the π-ratio only class sums — no pair is
visited (see :func:`_mean_cosine_distance`), so 100,000 rows cost O(N·D).

Reference: K. Roth, T. Milbich, S. Sinha, P. Gupta, B. Ommer, J. P. Cohen. Revisiting training strategies
and generalization performance in deep metric learning. ICML 2020.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from ..losses.base import l2_normalize
from ._common import as_batch, class_index, class_means, unit_float64

_EPS = torch.finfo(torch.float64).eps


def compression_stats(embeddings, labels) -> dict:
    r"""Spectral decay ρ and π-ratio of L2-normalised embeddings (Roth et al. 2020; DESIGN.md §3).

    With :math:`z_i = e_i / \lVert e_i \rVert` and the singular values
    :math:`\sigma_1 \ge \dots \ge \sigma_D` of the **uncentred** matrix :math:`Z = [z_1; \dots; z_N]`
    (zeros beyond min(N, D)), drop :math:`\sigma_1` (the mean direction) and compare what is left with the
    flat spectrum:

    .. math::
        p_k = \frac{\sigma_k}{\sum_{j \ge 2} \sigma_j}\ (k = 2..D),\qquad
        \text{spectral\_decay} = \rho = \mathrm{KL}(U \,\Vert\, p)
        = \sum_{k=2}^{D} \frac{1}{D-1} \log \frac{1/(D-1)}{p_k}.

    ρ = 0 for a flat spectrum (every direction after the first used equally); it grows as the embedding is
    compressed into fewer directions. With the cosine distance :math:`d(a, b) = 1 - \cos(a, b)`,

    .. math::
        \pi_\text{intra} = \frac{1}{|\mathcal C_2|} \sum_{c \in \mathcal C_2}
        \frac{1}{n_c (n_c - 1)} \sum_{i \ne j \in c} d(z_i, z_j),\qquad
        \pi_\text{inter} = \frac{1}{C (C - 1)} \sum_{c \ne c'} d(\mu_c, \mu_{c'}),\qquad
        \text{pi\_ratio} = \pi_\text{intra} / \pi_\text{inter},

    over the classes :math:`\mathcal C_2` with at least two samples (a single sample has no pair) and the
    class means :math:`\mu_c` of all C classes (L2-normalised: only their direction counts). Small = dense
    classes far apart.

    This docstring is the reference definition of both measures (DESIGN.md §3), hence the function's length.

    Parameters
    ----------
    embeddings : Tensor or numpy array [N, D]
        Raw embeddings (normalised here).
    labels : Tensor or numpy array [N]
        Integer class ids.

    Returns
    -------
    dict
        ``spectral_decay``, ``pi_ratio`` (python floats; NaN where undefined, see Notes).

    Notes
    -----
    - The reference definition of the two measures, hence this docstring's length. Float64 on the
      embeddings' device, detached; memory O(N·D) (one SVD, class sums, a [C, D] matrix).
    - **ρ is finite or NaN, never +∞.** A singular value σ_k = 0 makes the literal KL infinite, and a
      rank-deficient matrix — N < D, or embeddings confined to a subspace — has
      them. Singular values are known only to the SVD's rounding level
      :math:`\tau = \max(N, D)\,\varepsilon_{64}\,\sigma_1`, so every :math:`\sigma_k < \tau` is raised to τ
      before p is formed. Each unused direction then adds about
      :math:`\frac{1}{D-1}\log\frac{1/(D-1)}{\tau / \sum_j \sigma_j}` (≈ 0.2 for D = 128, N = 10,000): a
      large, reproducible value instead of +∞ or rounding noise. Compare ρ only between embeddings of the
      same N and D.
    - **NaN, with reasons:** D = 1 (nothing is left after σ_1: no spectrum to compare); rank ≤ 1 (every
      σ_k with k ≥ 2 below τ — e.g. all embeddings equal or antipodal, or a single sample: the shape of a
      zero spectrum is undefined, and reporting it as flat would call a collapse "uncompressed"); for the
      π-ratio, fewer than two classes, no class with two samples, or class means that all point the same
      way (:math:`\pi_\text{inter}` at rounding level, ≤ max(C, D)·ε₆₄): a ratio of nothing.
    - Perfectly collapsed classes give :math:`\pi_\text{intra}` ≈ 1e-32, not exactly 0 (rounding).
    - An all-zero embedding row stays 0 after normalisation and is at cosine distance 1 from everything.
    """
    embeddings, labels = as_batch(embeddings, labels)
    z = unit_float64(embeddings)
    return {"spectral_decay": spectral_decay(torch.linalg.svdvals(z), *z.shape), "pi_ratio": pi_ratio(z, labels)}


def spectral_decay(sigma: Tensor, num_rows: int, dim: int) -> float:
    r"""ρ = KL(U ‖ p) of the singular values ``sigma`` (descending, float64) of an [``num_rows``, ``dim``]
    matrix of unit rows, as defined in :func:`compression_stats` (NaN for dim = 1 or rank ≤ 1)."""
    if dim < 2:
        return math.nan
    rest = torch.cat([sigma[1:], sigma.new_zeros(dim - len(sigma))])  # σ_2..σ_D, zeros beyond min(N, D)
    floor = max(num_rows, dim) * _EPS * sigma[0]  # the SVD's rounding level
    if not bool((rest > floor).any()):
        return math.nan
    p = rest.clamp_min(floor)
    p = p / p.sum()
    uniform = 1.0 / (dim - 1)
    return float((uniform * torch.log(uniform / p)).sum())


def pi_ratio(z: Tensor, labels: Tensor) -> float:
    r"""π_intra / π_inter of unit rows ``z`` (float64), as defined in :func:`compression_stats`."""
    inverse, counts = class_index(labels)
    num_classes = len(counts)
    kept = counts >= 2
    if num_classes < 2 or not bool(kept.any()):
        return math.nan
    pi_intra = _mean_cosine_distance(z, inverse, counts)[kept].mean()
    means = l2_normalize(class_means(z, inverse, counts))
    pi_inter = _mean_cosine_distance(means, torch.zeros_like(counts), counts.new_tensor([num_classes]))[0]
    if float(pi_inter) <= max(num_classes, z.shape[1]) * _EPS:
        return math.nan
    return float(pi_intra / pi_inter)


def _mean_cosine_distance(z: Tensor, inverse: Tensor, counts: Tensor) -> Tensor:
    r"""Mean of :math:`1 - z_i \cdot z_j` over the ordered pairs i ≠ j of each group (rows of ``z``: unit
    vectors or exactly 0), one value per group ([G]; inf/NaN for groups of one). No pair is visited.

    For unit rows :math:`1 - z_i \cdot z_j = \tfrac12 \lVert z_i - z_j \rVert^2` and
    :math:`\sum_{i \ne j} \lVert z_i - z_j \rVert^2 = 2n \sum_i \lVert z_i - \mu \rVert^2`, so the mean over
    the :math:`n(n-1)` pairs of a group is :math:`S / (n - 1)` with :math:`S = \sum_i \lVert z_i - \mu\rVert^2`
    — exact for a collapsed group, where the sum of the pairs' cosines would leave n²·ε of cancellation.
    A zero row is at distance 1 from every row, which adds (number of zero rows) / n.
    """
    scatter = (z - class_means(z, inverse, counts)[inverse]).pow(2).sum(dim=1)
    zero_rows = (z == 0).all(dim=1).to(z.dtype)
    per_group = torch.zeros(len(counts), 2, dtype=z.dtype, device=z.device)
    per_group.index_add_(0, inverse, torch.stack([scatter, zero_rows], dim=1))
    n = counts.to(z.dtype)
    return per_group[:, 0] / (n - 1) + per_group[:, 1] / n
