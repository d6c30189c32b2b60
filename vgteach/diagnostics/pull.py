r"""Where a loss aims its pull: the share of the pull on positive pairs that lands on a class's stragglers.

GREEDINESS asks *how many* pairs carry the update; this asks *which* positives are pulled. With
G = ∂L/∂S (DESIGN.md §3; S the cosine similarities the loss reads), a positive pair is pulled together with
strength :math:`-(G_{ij} + G_{ji})` (a pair loss, i < j) or :math:`-G_{i y_i}` (a proxy loss: sample i and
its own class's proxy). Sort the positive pairs by similarity; the *far* pairs are the ``far`` fraction with
the smallest similarity — the members of a class that sit farthest apart.

- ``far_pull_share`` = pull on the far pairs / pull on all positive pairs (pulls only: a pair pushed apart
  adds nothing). A loss that pulls every positive equally gives about ``far`` (0.25); a loss that aims
  at its stragglers gives more.
- ``pushed_positive_share`` = the fraction of positive pairs whose weight pushes them *apart*
  (:math:`G_{ij} + G_{ji} > 0`). SupCon's softmax runs over every other sample, positives included, so a
  positive that is already closer than its siblings can be pushed away; InfoNCE's runs over one positive and
  the negatives, so it never pushes a positive.

This is the measurement behind the book's InfoNCE-versus-SupCon experiment (the trade-off chapter): the two
losses differ only in their denominator, and the difference shows in where the pull lands.
"""

from __future__ import annotations

import torch

from ..losses.base import MetricLoss
from ._common import as_batch


def positive_pull(loss_fn: MetricLoss, embeddings, labels) -> tuple[torch.Tensor, torch.Tensor]:
    """``(pull, similarity)`` of every positive pair on one batch, as 1-D float64 tensors.

    ``pull`` > 0 pulls the pair together, < 0 pushes it apart (see the module docstring). Runs forward and
    backward on a detached copy of ``embeddings``; the caller's graph is untouched.
    """
    if not isinstance(loss_fn, MetricLoss):
        raise TypeError(f"loss_fn must be a vgteach loss (build_loss), got {type(loss_fn).__name__}")
    embeddings, labels = as_batch(embeddings, labels)
    e = embeddings.detach().float().clone().requires_grad_(True)
    out = loss_fn.compute(e, labels)
    sim = out.similarity
    if sim is None or not sim.matrix.requires_grad:
        raise ValueError(f"{type(loss_fn).__name__} exposes no similarity matrix with a gradient on this batch")
    (grad,) = torch.autograd.grad(out.loss, sim.matrix, allow_unused=True)
    grad = torch.zeros_like(sim.matrix) if grad is None else grad
    matrix, grad, labels = sim.matrix.detach().double(), grad.double(), labels.to(grad.device)
    if sim.symmetric and matrix.shape[0] == matrix.shape[1] == len(labels):
        upper = torch.triu(torch.ones_like(matrix, dtype=torch.bool), diagonal=1)
        positive = upper & (labels[:, None] == labels[None, :])
        return -(grad + grad.T)[positive], matrix[positive]
    if not sim.symmetric and matrix.shape[0] == len(labels) and matrix.shape[1] > int(labels.max()):
        rows = torch.arange(len(labels), device=matrix.device)
        return -grad[rows, labels], matrix[rows, labels]
    raise ValueError(
        f"{type(loss_fn).__name__}'s similarity matrix {tuple(matrix.shape)} is neither the batch's z zᵀ nor "
        "sample × proxy similarities (N-pair's is an anchor × positive block): pull_focus cannot read it"
    )


def pull_focus(loss_fn: MetricLoss, embeddings, labels, far: float = 0.25) -> dict:
    """``far_pull_share`` and ``pushed_positive_share`` of one batch (see the module docstring).

    Parameters
    ----------
    loss_fn : MetricLoss
        A vgteach loss whose similarity matrix is the batch's z zᵀ (contrastive, triplet, infonce, supcon)
        or the sample × proxy similarities (arcface, ccl).
    embeddings : Tensor [B, D]
    labels : Tensor [B]
    far : float in (0, 1)
        The fraction of positive pairs, by smallest similarity, counted as far.

    Returns
    -------
    dict
        ``far_pull_share``, ``pushed_positive_share``, ``positive_pairs`` (how many), ``far`` (echoed).
        NaN shares when the batch has no positive pair or no pull.
    """
    if not (isinstance(far, (int, float)) and 0 < far < 1):
        raise ValueError(f"far must be a fraction in (0, 1), got {far!r}")
    pull, similarity = positive_pull(loss_fn, embeddings, labels)
    count = len(pull)
    if count == 0:
        return {"far_pull_share": float("nan"), "pushed_positive_share": float("nan"), "positive_pairs": 0, "far": far}
    order = torch.argsort(similarity, stable=True)  # farthest (least similar) first; ties by pair order
    far_count = max(1, round(far * count))
    pulls = pull.clamp_min(0)
    total = pulls.sum()
    share = float(pulls[order[:far_count]].sum() / total) if total > 0 else float("nan")
    return {
        "far_pull_share": share,
        "pushed_positive_share": float((pull < 0).double().mean()),
        "positive_pairs": count,
        "far": far,
    }
