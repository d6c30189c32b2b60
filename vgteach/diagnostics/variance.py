r"""VARIANCE (DESIGN.md §3): how spread out each class is, and how far apart the classes are.

Zeng et al. compare losses by the *within-class* variance they preserve (Triplet and SCL keep more, which
helps fine-grained retrieval) and by the *spacing* of the class means (N-pair separates means a lot on
average but unevenly). :func:`variance_stats` returns these numbers for one set of embeddings.
"""

from __future__ import annotations

import torch
from torch import Tensor

from ._common import as_batch, class_index, class_means, unit_float64


def variance_stats(embeddings, labels) -> dict:
    r"""Within-class variance, between-class separation and centroid spacing of L2-normalised embeddings.

    With :math:`z_i = e_i / \lVert e_i \rVert`, the classes :math:`c = 1..C` present in ``labels``, their
    members :math:`I_c` and means :math:`\mu_c = \frac{1}{|I_c|}\sum_{i \in I_c} z_i`:

    .. math::
        \text{intra} = \frac{1}{C} \sum_{c} \frac{1}{|I_c|} \sum_{i \in I_c} \lVert z_i - \mu_c \rVert^2,
        \qquad
        \text{inter} = \frac{1}{C(C-1)} \sum_{c \ne c'} \lVert \mu_c - \mu_{c'} \rVert^2,
        \qquad
        \text{ratio} = \text{intra} / \text{inter}.

    ``intra`` is **unweighted over classes**: every class counts once whatever its size, so a large class
    cannot hide a spread-out small one. (A class with a single member contributes 0.) The spacing statistics
    describe the :math:`C(C-1)/2` centroid distances :math:`d_{cc'} = \lVert \mu_c - \mu_{c'} \rVert`:
    their mean, their **population** standard deviation (divide by the number of pairs, not by one less),
    the coefficient of variation ``cv = std / mean`` (the "uneven spacing" of N-pair is a large cv) and
    the smallest distance (the tightest pair of classes).

    This docstring is the reference definition of VARIANCE (DESIGN.md §3), hence the function's length.

    Parameters
    ----------
    embeddings : Tensor or numpy array [B, D]
        Raw embeddings (normalised here); any floating dtype, any device.
    labels : Tensor or numpy array [B]
        Integer class ids (need not be contiguous).

    Returns
    -------
    dict
        ``intra``, ``inter``, ``ratio``, ``centroid_dist_mean``, ``centroid_dist_std``, ``centroid_dist_cv``,
        ``centroid_dist_min`` (python floats) and ``num_classes`` (python int, C).

    Notes
    -----
    - Everything is computed in **float64** (on the embeddings' device), whatever the input dtype, so that
      the numbers do not depend on whether the model ran in bfloat16, float32 or float64. The result is
      detached: no gradient flows through a diagnostic.
    - Vectorised: class means by one ``index_add_`` (no Python loop over samples or classes), centroid
      distances by ``torch.cdist`` computed from differences (exact for coincident centroids, where the Gram
      form ``||a||² + ||b||² − 2a·b`` would leave ~1e-8 of rounding after the square root). Memory
      O(B·D + C²).
    - **Degenerate batches (documented choices, every value stays finite):** with fewer than two classes
      there is no pair of centroids, so ``inter`` and the four spacing statistics are 0.0 and ``ratio`` is
      0.0; ``num_classes`` tells the caller why. More generally ``ratio`` is 0.0 whenever ``inter`` is 0
      (also when C ≥ 2 class means coincide exactly) and ``centroid_dist_cv`` is 0.0 whenever the mean
      distance is 0 — undefined quotients reported as 0.0 rather than NaN/Inf so that epoch averages stay
      finite; check ``inter`` / ``num_classes`` before reading them. An all-zero embedding row stays the
      zero vector after normalisation.
    - This docstring is the reference definition of VARIANCE (DESIGN.md §3: the trainer's history, the
      studies and ``vgteach diagnose`` use these names), hence its length; the code is three steps.

    References
    ----------
    Zeng, Niu, Li & Taya. Variance & Greediness: a comparative study of metric-learning losses. ICASSP 2026
    (arXiv 2601.21450); the exact definitions above are this project's (DESIGN.md §3).

    Examples
    --------
    >>> stats = variance_stats(embeddings, labels)
    >>> stats["intra"], stats["inter"], stats["centroid_dist_cv"]
    """
    embeddings, labels = as_batch(embeddings, labels)
    z = unit_float64(embeddings)
    inverse, counts = class_index(labels)
    mu = class_means(z, inverse, counts)  # [C, D]
    intra = _intra(z, mu, inverse, counts)
    # one device→host transfer for all numbers
    intra, inter, mean, std, minimum = torch.stack([intra, *_centroid_spacing(mu)]).tolist()
    return {
        "intra": intra,
        "inter": inter,
        "ratio": intra / inter if inter > 0 else 0.0,
        "centroid_dist_mean": mean,
        "centroid_dist_std": std,
        "centroid_dist_cv": std / mean if mean > 0 else 0.0,
        "centroid_dist_min": minimum,
        "num_classes": len(counts),
    }


def _intra(z: Tensor, mu: Tensor, inverse: Tensor, counts: Tensor) -> Tensor:
    """Mean over classes (unweighted) of mean_{i in c} ||z_i − μ_c||² (0-dim tensor)."""
    squared = (z - mu[inverse]).pow(2).sum(dim=1)  # ||z_i − μ_{y_i}||²  [B]
    per_class = z.new_zeros(len(counts)).index_add_(0, inverse, squared) / counts.to(z.dtype)
    return per_class.mean()


def _centroid_spacing(mu: Tensor) -> list[Tensor]:
    """``[inter, mean, std, min]`` of the distances between the class means ``mu`` [C, D] (0-dim tensors;
    all 0 with fewer than two classes)."""
    num_classes = len(mu)
    if num_classes < 2:
        return [mu.new_zeros(())] * 4
    dist = torch.cdist(mu, mu, compute_mode="donot_use_mm_for_euclid_dist")  # [C, C]
    rows, cols = torch.triu_indices(num_classes, num_classes, offset=1, device=mu.device)
    pair = dist[rows, cols]  # each unordered pair once
    # the mean over ordered pairs equals the mean over unordered ones (d_cc' = d_c'c)
    return [pair.pow(2).mean(), pair.mean(), pair.std(correction=0), pair.min()]
