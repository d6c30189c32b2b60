r"""GREEDINESS (DESIGN.md §3): how many elementary terms of a loss still push, and how the push is shared.

A loss is a reduction of elementary terms (pairs, triplets, anchors or samples — DESIGN.md §2). Some of them
are *active* (a hinge above 0, a cross-entropy above its floor + ε) and produce a gradient; the others are
already satisfied. Zeng et al. call a loss *greedy* when it keeps updating through many small pushes
(Contrastive, InfoNCE) rather than a few large ones. :func:`greediness_stats` measures both views on one
batch: the fraction of active terms, and the distribution of the per-sample gradient norms ||∂L/∂e_i||;
and, comparable across hinge and softmax losses, the effective share of pairs that carry the update (the
participation ratio of |∂L/∂S| over the pairs of the similarity matrix S).
"""

from __future__ import annotations

import numbers

import numpy as np
import pandas as pd
import torch
from torch import Tensor

from .._validation import validate_positive
from ..losses.base import DEFAULT_ACTIVE_EPS, LossOutput, MetricLoss
from ._common import as_batch
from .gini import gini_tensor, sort_last_dim

#: a sample counts as active when ||∂L/∂e_i|| exceeds this (DESIGN.md §3 ``grad_eps``)
GRAD_EPS = 1e-8
#: the statistics of the per-sample gradient norms, in the order of :func:`grad_norm_statistics`
GRAD_NORM_KEYS = ("sample_active_ratio", "grad_norm_mean", "grad_norm_median", "grad_norm_max", "grad_gini")
#: the default ε sweep of :func:`active_share_curve`: 1e-6 … 1, four points a decade (1e-3 included exactly)
EPS_GRID = tuple(10.0 ** (k / 4) for k in range(-24, 1))


def _validate_loss_fn(loss_fn) -> None:
    if not isinstance(loss_fn, MetricLoss):
        raise TypeError(f"loss_fn must be a vgteach loss (e.g. build_loss('triplet')), got {type(loss_fn).__name__}")


def _loss_and_grad(loss_fn: MetricLoss, embeddings, labels, eps: float) -> tuple[LossOutput, Tensor, Tensor]:
    """One forward (:meth:`MetricLoss.compute`) and one backward on a detached leaf copy of ``embeddings``:
    the loss, ∂L/∂e and the effective active ratio from ∂L/∂S (in float64; 0 when the loss has no S).

    The gradients are taken with ``torch.autograd.grad`` with respect to that copy and to the loss's
    similarity node S only, so nothing is written
    into ``embeddings.grad``, the caller's graph is neither traversed nor freed, and the loss's own
    parameters (ArcFace's ``.weight``, CCL's ``.centers``) get no ``.grad``. Gradients are enabled (and
    inference mode switched off) for the call, so it also works inside an evaluation loop under
    ``torch.no_grad()``.
    """
    _validate_loss_fn(loss_fn)
    embeddings, labels = as_batch(embeddings, labels)
    with torch.inference_mode(False), torch.enable_grad():
        e = embeddings.detach().clone().requires_grad_(True)
        out = loss_fn.compute(e, labels, eps)
        sim = out.similarity
        inputs = [e] if sim is None else [e, sim.matrix]
        if out.loss.requires_grad:
            grads = torch.autograd.grad(out.loss, inputs, allow_unused=True, materialize_grads=True)
        else:  # a loss with no path to e (never the case for vgteach's losses)
            grads = [torch.zeros_like(x) for x in inputs]
    loss = out.loss.detach()
    ratio = (
        e.new_zeros((), dtype=torch.float64) if sim is None else sim.effective_active_ratio(grads[1].to(torch.float64))
    )
    return LossOutput(loss, out.num_terms, out.num_active), grads[0], ratio


def per_sample_grad_norms(loss_fn: MetricLoss, embeddings, labels) -> Tensor:
    r"""Per-sample gradient norms :math:`g_i = \lVert \partial L / \partial e_i \rVert_2` of a batch loss.

    The gradient is with respect to the **raw** embeddings :math:`e_i` (the head's output), before the loss's
    internal normalisation :math:`z_i = e_i/\lVert e_i \rVert`. Since
    :math:`\partial L/\partial e_i = (I - z_i z_i^\top)\,(\partial L/\partial z_i) / \lVert e_i \rVert`,
    it is the part of the push tangent to the sphere, scaled by :math:`1/\lVert e_i \rVert`: it is what
    actually reaches the head.

    Parameters
    ----------
    loss_fn : MetricLoss
        A vgteach loss (``build_loss(name, ...)``).
    embeddings : Tensor or numpy array [B, D]
        Not modified; the computation runs on a detached copy (see :func:`greediness_stats`).
    labels : Tensor or numpy array [B]

    Returns
    -------
    Tensor [B]
        Detached, on the embeddings' device and in their dtype. All zeros when the loss has no gradient
        path to the embeddings.
    """
    _, grad, _ = _loss_and_grad(loss_fn, embeddings, labels, DEFAULT_ACTIVE_EPS)
    return torch.linalg.vector_norm(grad, dim=1)


def grad_norm_statistics(norms: Tensor, grad_eps: float = GRAD_EPS) -> Tensor:
    r"""The :data:`GRAD_NORM_KEYS` statistics of per-sample gradient norms, along the last dimension.

    The one definition of these five numbers, used by :func:`greediness_stats` on one batch ``[B]`` and by
    the training tracker (:class:`vgteach.track.GreedinessTracker`) on a whole epoch of steps ``[S, B]`` at
    once: ``sample_active_ratio`` = #{i : g_i > ``grad_eps``}/B, the mean, the **usual median** (the middle
    value for odd B, the mean of the two middle values for even B), the maximum, and the Gini coefficient
    (:func:`~vgteach.diagnostics.gini`). One sort serves the median, the maximum and the Gini coefficient.

    Parameters
    ----------
    norms : Tensor [..., B]
        Non-negative floats, B ≥ 1 (validated by the caller: this runs in the training loop).
    grad_eps : float
        The activity threshold of a sample's gradient norm.

    Returns
    -------
    Tensor [..., 5]
        On ``norms``' device and in its dtype; no host synchronisation.
    """
    n = norms.shape[-1]
    ordered = sort_last_dim(norms)
    return torch.stack(
        [
            (ordered > grad_eps).to(ordered.dtype).mean(-1),
            ordered.sum(-1) / n,
            (ordered[..., (n - 1) // 2] + ordered[..., n // 2]) / 2,
            ordered[..., -1],
            gini_tensor(ordered, is_sorted=True),
        ],
        dim=-1,
    )


def greediness_stats(
    loss_fn: MetricLoss, embeddings, labels, eps: float = DEFAULT_ACTIVE_EPS, grad_eps: float = GRAD_EPS
) -> dict:
    r"""Active-term ratio, effective active ratio and the distribution of per-sample gradient norms of
    ``loss_fn`` on one batch.

    With :math:`T` elementary terms :math:`\ell_t` of the loss (DESIGN.md §2) and
    :math:`g_i = \lVert \partial L / \partial e_i \rVert` (see :func:`per_sample_grad_norms`):

    .. math::
        \text{active\_ratio} = \frac{\#\{t : \ell_t \text{ active}\}}{T},\qquad
        \text{sample\_active\_ratio} = \frac{\#\{i : g_i > \text{grad\_eps}\}}{B},\qquad
        \text{grad\_gini} = G(g_1, \dots, g_B),

    where a hinge term is active iff :math:`\ell_t > 0` and a softmax-type term iff
    :math:`\ell_t - \text{floor}_t > \varepsilon`, and :math:`G` is the Gini coefficient (:func:`~vgteach.diagnostics.gini`):
    "many small updates" → low, "few large updates" → high.

    ``effective_active_ratio`` counts *pairs*, alike for hinge and softmax losses (a softmax term is never
    exactly inactive, so ``active_ratio`` is 1.0 for InfoNCE, SupCon, N-pair and CCL and says nothing there).
    Let :math:`S` be the cosine-similarity matrix the loss depends on — :math:`S = z z^\top` [B, B] for the
    pair losses (contrastive, triplet, npair, infonce, supcon), :math:`S = z \hat w^\top` [B, K] against the
    normalised proxies/centers for arcface and ccl — and :math:`\Gamma = \partial L / \partial S` with every
    entry of :math:`S` its own variable. The pair weights are :math:`w_{ij} = |\Gamma_{ij} + \Gamma_{ji}|` over
    the :math:`n = B(B-1)/2` pairs :math:`i < j` (pair losses) or :math:`w_{ic} = |\Gamma_{ic}|` over the
    :math:`n = BK` sample–proxy pairs (proxy losses), and

    .. math::
        \text{effective\_active\_ratio} = \frac{\big(\sum w\big)^2}{n \sum w^2} \in [0, 1],

    the participation ratio (0 when every w = 0): exactly k/n for k equal non-zero weights, lower when the
    weights are unequal — "the effective share of pairs that carry the update". N-pair reads only its
    anchors × positives block of :math:`S`; every other pair weighs 0.

    One :meth:`MetricLoss.compute` and one backward, on a **detached leaf copy** of ``embeddings`` (as in
    :func:`per_sample_grad_norms`): the caller's graph is untouched and the loss's parameters (ArcFace's
    ``.weight``, CCL's ``.centers``) receive no ``.grad``. This docstring is the reference definition of
    the GREEDINESS statistics (the tracker and the trainer's history use the same names), hence its length.

    Parameters
    ----------
    loss_fn : MetricLoss
        A vgteach loss.
    embeddings : Tensor or numpy array [B, D]
        Raw embeddings (the head's output).
    labels : Tensor or numpy array [B]
        Integer class ids.
    eps : float, default 1e-3
        Activity threshold ε of softmax-type terms (a parameter of the diagnostic, not of the loss).
    grad_eps : float, default 1e-8
        A sample counts as updated when its gradient norm exceeds this.

    Returns
    -------
    dict
        ``loss`` (float), ``num_terms`` and ``num_active`` (int), ``active_ratio``, ``effective_active_ratio``,
        ``sample_active_ratio``, ``grad_norm_mean``, ``grad_norm_median``, ``grad_norm_max``, ``grad_gini``
        (floats).

    Notes
    -----
    - ``active_ratio`` is 0.0 when the batch has no elementary term at all (e.g. a triplet batch without
      negatives): nothing is active. The gradient norms are then 0 as well (the loss is the constant 0 with a
      gradient path), so ``sample_active_ratio``, the norm statistics and ``grad_gini`` are 0.0 — the Gini of
      all-zero values is defined as 0.
    - ``effective_active_ratio`` is 0.0 when no gradient reaches S (no active triplet, no positive pair, an
      N-pair batch with fewer than two labels present twice). It is computed in float64 from ∂L/∂S.
    - ``grad_norm_median`` is the usual median (mean of the two middle values when B is even), as in the
      training tracker: both take the five gradient-norm statistics from :func:`grad_norm_statistics`.
    - Cost: one forward and one backward of the loss, plus a handful of reductions (an O(B²) pass over
      ∂L/∂S) and a single device→host transfer.

    References
    ----------
    Zeng, Niu, Li & Taya. Variance & Greediness: a comparative study of metric-learning losses. ICASSP 2026
    (arXiv 2601.21450); the exact definitions above are this project's (DESIGN.md §3). The participation
    ratio: D. J. Thouless, Electrons in disordered systems and the theory of localization, Physics Reports
    13(3), 1974 (the inverse participation ratio of a normalised weight vector).

    Examples
    --------
    >>> loss_fn = build_loss("triplet")
    >>> greediness_stats(loss_fn, embeddings, labels)["active_ratio"]
    """
    eps = validate_positive(eps, "eps", allow_zero=True)
    grad_eps = validate_positive(grad_eps, "grad_eps", allow_zero=True)
    out, grad, effective = _loss_and_grad(loss_fn, embeddings, labels, eps)
    norms = torch.linalg.vector_norm(grad.to(torch.float64), dim=1)
    return _batch_summary(out, effective, grad_norm_statistics(norms, grad_eps))


def _batch_summary(out: LossOutput, effective: Tensor, norm_stats: Tensor) -> dict:
    """:func:`greediness_stats`'s dict from the loss's output, its effective active ratio and the
    :data:`GRAD_NORM_KEYS` statistics (float64), fetched from the device in one synchronisation."""
    scalars = [out.loss, out.num_terms, out.num_active, effective.to(norm_stats.device)]
    values = torch.cat([torch.stack([x.to(torch.float64) for x in scalars]), norm_stats]).tolist()
    loss, num_terms, num_active, effective = values[:4]
    num_terms, num_active = int(num_terms), int(num_active)
    return {
        "loss": loss,
        "num_terms": num_terms,
        "num_active": num_active,
        "active_ratio": num_active / num_terms if num_terms else 0.0,
        "effective_active_ratio": effective,
        **dict(zip(GRAD_NORM_KEYS, values[4:])),
    }


def _validate_eps_values(eps_values) -> np.ndarray:
    """The ε values as a sorted float64 array without duplicates; ``ValueError`` for anything else than a
    non-empty 1-D collection of finite numbers ≥ 0."""
    if isinstance(eps_values, (str, bytes)) or isinstance(eps_values, numbers.Number):
        raise ValueError(f"eps_values must be a 1-D collection of numbers, got {type(eps_values).__name__}")
    if isinstance(eps_values, Tensor):
        eps_values = eps_values.detach().cpu().numpy()
    try:
        values = np.asarray(eps_values, dtype=np.float64)
    except (TypeError, ValueError) as error:
        raise ValueError(f"eps_values must be a 1-D collection of numbers: {error}") from None
    if values.ndim != 1 or values.size == 0:
        raise ValueError(f"eps_values must be a non-empty 1-D collection of numbers, got shape {values.shape}")
    bad = values[~(np.isfinite(values) & (values >= 0))]
    if bad.size:
        raise ValueError(f"eps_values must be finite numbers >= 0, got {bad.tolist()}")
    return np.unique(values)


def active_share_curve(loss_fn: MetricLoss, embeddings, labels, eps_values=EPS_GRID) -> pd.DataFrame:
    r"""The share of active terms of ``loss_fn`` on one batch as the activity threshold ε sweeps.

    ``active_ratio`` (:func:`greediness_stats`) depends on ε for softmax-type terms (active iff
    :math:`\ell_t - \text{floor}_t > \varepsilon`) and not at all for hinge terms (active iff
    :math:`\ell_t > 0`). This curve shows how much the number depends on that choice: a softmax loss whose
    terms all sit far above ε = 1e-3 reads 1.0 at the default, and only a much larger ε would make its
    ratio move.

    The terms are computed once (:meth:`MetricLoss.terms`, no gradient) and counted with
    :meth:`Terms.count_active` — the rule :meth:`MetricLoss.compute` and :func:`greediness_stats` use — at
    each ε, so the value at ε = 1e-3 is ``greediness_stats(loss_fn, embeddings, labels)["active_ratio"]``.

    Parameters
    ----------
    loss_fn : MetricLoss
        A vgteach loss (``build_loss(name, num_classes=K, embedding_dim=D)``).
    embeddings : Tensor or numpy array [B, D]
        Raw embeddings (not modified).
    labels : Tensor or numpy array [B]
    eps_values : 1-D collection of finite numbers ≥ 0, default :data:`EPS_GRID` (1e-6 … 1)
        The thresholds; sorted and de-duplicated in the result.

    Returns
    -------
    pandas.DataFrame
        One row per ε, increasing: ``eps``, ``num_terms``, ``num_active``, ``active_ratio`` (0.0 when the
        batch has no term at all, as in :func:`greediness_stats`). ``active_ratio`` never increases with ε.

    Raises
    ------
    TypeError
        ``loss_fn`` is not a vgteach loss.
    ValueError
        ``eps_values`` is empty, not 1-D, or holds a negative, NaN or infinite value; or the batch is invalid
        (as for the loss itself).

    Examples
    --------
    >>> curve = active_share_curve(build_loss("infonce"), embeddings, labels, [1e-6, 1e-3, 1.0])
    >>> curve.set_index("eps")["active_ratio"]                         # doctest: +SKIP
    """
    _validate_loss_fn(loss_fn)
    eps = _validate_eps_values(eps_values)
    embeddings, labels = as_batch(embeddings, labels)
    with torch.inference_mode(False):
        terms = loss_fn.terms(embeddings.detach(), labels)
    num_terms = terms.values.numel()
    if terms.hinge:  # a hinge term's activity does not depend on ε: count once
        counts = [int(terms.count_active())] * len(eps)
    else:
        counts = torch.stack([terms.count_active(float(value)) for value in eps]).tolist()  # one sync
    return pd.DataFrame(
        {
            "eps": eps,
            "num_terms": num_terms,
            "num_active": np.asarray(counts, dtype=np.int64),
            "active_ratio": [count / num_terms if num_terms else 0.0 for count in counts],
        }
    )
