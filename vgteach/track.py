r"""GREEDINESS in *your* training loop: wrap any loss, keep your loop.

    from vgteach.track import GreedinessTracker
    loss_fn = GreedinessTracker(loss_fn, model)        # 1. wrap: vgteach's, pytorch-metric-learning's or yours
    for epoch in range(epochs):
        for x, y in loader:
            optimizer.zero_grad()
            loss = loss_fn(model(x), y)                # unchanged: same value, same gradients
            loss.backward()
            loss_fn.step()                             # 2. after backward, before optimizer.step()
            optimizer.step()
        loss_fn.end_epoch()                            # 3. one row per epoch
    loss_fn.to_frame(), loss_fn.plot()

Per step it keeps a few small tensors on the device (no host synchronisation); the reductions (sorting
for the median and the Gini coefficient, the means) run once per epoch, by the same code as the study's
trainer (:class:`vgteach.training.tracking.GreedinessTracker`).
"""

from __future__ import annotations

import math

import pandas as pd
import torch
from torch import Tensor, nn

from .losses.base import MetricLoss
from .training.tracking import EFFECTIVE_EVERY, STEP_KEYS
from .training.tracking import GreedinessTracker as _EpochTable

_RENAMED = {"train_loss": "loss", "head_grad_norm": "param_grad_norm"}
#: the columns of :meth:`GreedinessTracker.to_frame` (after ``epoch`` and ``steps``): the trainer's
#: per-step statistics, with the names a loop outside vgteach's trainer reads best
COLUMNS = tuple(_RENAMED.get(key, key) for key in STEP_KEYS)


class GreedinessTracker:
    r"""Record the GREEDINESS statistics of DESIGN.md §3 around any loss ``(embeddings, labels) -> scalar``.

    Each tracked call ``tracker(embeddings, labels, ...)`` returns ``loss_fn(embeddings, labels, ...)``
    unchanged; a tensor hook on (an identity view of) the embeddings takes, during your ``backward``, the
    per-sample gradient norms :math:`g_i = \lVert \partial L / \partial e_i \rVert_2` of *this* loss (other
    terms added to it, e.g. a regulariser on the embeddings, are not included). :meth:`step`, after the
    backward, stores them with the gradient norm of ``model``'s parameters; :meth:`end_epoch` reduces the
    epoch's steps to one row, the mean over steps of:

    - ``loss``; ``sample_active_ratio`` = #{i : g_i > 1e-8}/B; ``grad_norm_mean``, ``grad_norm_median``
      (lower median), ``grad_norm_max`` of the g_i; ``grad_gini`` = Gini coefficient of the g_i ("many small
      updates" → low, "few large ones" → high; :func:`vgteach.diagnostics.gini`);
    - ``param_grad_norm`` = ‖∂L/∂θ‖₂ over all of ``model``'s parameters (NaN without a model);
      ``proxy_grad_norm`` = the same over the loss's own parameters, e.g. ArcFace's proxies (vgteach's or
      pytorch-metric-learning's ``ArcFaceLoss.W``; NaN for a loss without parameters);
    - only for vgteach losses, whose :meth:`~vgteach.losses.base.MetricLoss.compute` exposes their
      elementary terms (DESIGN.md §2) and their similarity matrix S: ``active_ratio`` = active terms / all
      terms, and ``effective_active_ratio`` = the participation ratio (Σw)²/(n·Σw²) of the pair weights
      w = |∂L/∂S| (DESIGN.md §3; ∂L/∂S taken by a second hook, on S, during the same backward), on every
      ``effective_every``-th step of an epoch (its first included), as the study's trainer does.

    Everything but the last two is well defined for *any* callable. Those two are NaN for a foreign loss
    (pytorch-metric-learning's, yours): its terms and its S are internal to it, so neither can be counted
    nor differentiated from outside.

    Parameters
    ----------
    loss_fn : callable
        ``loss_fn(embeddings, labels, *args, **kwargs)`` returning a scalar tensor.
    model : nn.Module, iterable of Parameter, or None
        Whose gradient norm to record (``param_grad_norm``).
    effective_every : int, default 10 (:data:`vgteach.training.tracking.EFFECTIVE_EVERY`)
        ``effective_active_ratio`` is taken on steps 0, k, 2k, … of each epoch: its pass over the [B, B]
        ∂L/∂S costs ~5 % of a head step on its own, so every step would break the ≤ 5 % budget.

    Notes
    -----
    - Only calls that can be backpropagated are tracked (gradients enabled, embeddings that require grad);
      a validation call under ``torch.no_grad()`` passes straight through.
    - One tracked call per :meth:`step`; calling the loss twice before ``step()`` raises, so a forgotten
      ``step()`` does not go unnoticed. For gradient accumulation, call ``step()`` after each micro-batch's
      backward: each is a step.
    - Cost per step: one identity view, one hook, a [B, D] → [B] norm in the backward and one
      ``torch._foreach_norm`` over the gradients; ``bench/bench_track.py`` measures it against the bare step.
    """

    def __init__(self, loss_fn, model=None, effective_every: int = EFFECTIVE_EVERY):
        if not callable(loss_fn):
            raise TypeError(f"loss_fn must be callable as loss_fn(embeddings, labels), got {type(loss_fn).__name__}")
        if model is not None and not isinstance(model, nn.Module) and not hasattr(model, "__iter__"):
            raise TypeError(
                f"model must be an nn.Module, an iterable of parameters or None, got {type(model).__name__}"
            )
        self.loss_fn = loss_fn
        params = model.parameters() if isinstance(model, nn.Module) else (model or ())
        self.model_parameters = [p for p in params if p.requires_grad]
        self.has_model = model is not None
        self.proxies = [p for p in loss_fn.parameters() if p.requires_grad] if isinstance(loss_fn, nn.Module) else []
        self.effective_every = effective_every
        self.rows: list[dict] = []
        self._table = None
        self._pending = None
        self._counted = False

    # -- the three calls in a training loop ----------------------------------------------------------------
    def __call__(self, embeddings, labels, *args, **kwargs):
        """``loss_fn(embeddings, labels, *args, **kwargs)``, tracked when it can be backpropagated."""
        if not (torch.is_grad_enabled() and isinstance(embeddings, Tensor) and embeddings.requires_grad):
            return self.loss_fn(embeddings, labels, *args, **kwargs)
        if self._pending is not None:
            raise RuntimeError(
                "the loss was called again before tracker.step(): call step() after each "
                "loss.backward() (before optimizer.step())"
            )
        e = embeddings.view_as(embeddings)  # an identity node: its gradient is this loss's alone
        table = self._epoch_table(e.device)
        norms, effective = [], []
        e.register_hook(lambda grad: norms.append(torch.linalg.vector_norm(grad.detach(), dim=1)))
        if isinstance(self.loss_fn, MetricLoss) and not args and not kwargs:
            out = self.loss_fn.compute(e, labels)  # the same value, plus the term counts and S
            loss, counts, sim = out.loss, (out.num_terms, out.num_active), out.similarity
            if table.wants_effective_ratio and sim is not None and sim.matrix.requires_grad:
                rule = sim.without_matrix()  # the hook must not hold S (a leak, see there)
                sim.matrix.register_hook(lambda grad: effective.append(rule.effective_active_ratio(grad)))
        else:
            loss, counts = self.loss_fn(e, labels, *args, **kwargs), None
        if not isinstance(loss, Tensor) or loss.numel() != 1:
            raise TypeError(
                f"loss_fn must return a scalar tensor, got {type(loss).__name__}"
                f"{tuple(loss.shape) if isinstance(loss, Tensor) else ''}"
            )
        self._pending = (loss, counts, norms, effective, len(e))
        return loss

    def step(self) -> None:
        """Record the step of the last tracked call; after its ``backward``, before ``optimizer.step()``
        (which may change nothing here) and before the next ``zero_grad``."""
        if self._pending is None:
            raise RuntimeError("tracker.step() without a tracked loss call since the last step")
        loss, counts, norms, effective, batch = self._pending
        if not norms:
            if loss.requires_grad:
                raise RuntimeError("tracker.step() before loss.backward(): no gradient reached the embeddings")
            norms = [loss.new_zeros(batch)]  # a loss with no path to the embeddings: no push at all
        self._pending = None
        zero = torch.zeros((), dtype=torch.long, device=loss.device)
        terms, active = counts if counts is not None else (zero, zero)
        wanted = counts is not None and self._table.wants_effective_ratio
        if wanted and not effective:  # no gradient reached S: every pair weight is 0
            effective = [torch.zeros((), device=loss.device)]
        self._table.record(loss, terms, active, norms[0], effective[0] if wanted else None)
        self._counted = counts is not None

    def end_epoch(self) -> dict:
        """Close the epoch: append (and return) its row of means; an epoch without steps adds nothing."""
        row = self._current_row()
        if row is not None:
            self.rows.append(row)
            self._table.reset()
        return row

    def _epoch_table(self, device) -> _EpochTable:
        """The trainer's per-step store and epoch reduction, made on the first tracked call's device."""
        if self._table is None:
            # a zero gradient among the model's: adds 0 to the norm and keeps the list of gradients non-empty
            # when there is no model (or it is frozen), which ``torch._foreach_norm`` requires
            zero = nn.Parameter(torch.zeros(1, device=device))
            zero.grad = torch.zeros(1, device=device)
            self._table = _EpochTable(device, [*self.model_parameters, zero], self.proxies, self.effective_every)
        return self._table

    # -- reading -------------------------------------------------------------------------------------------
    @property
    def steps(self) -> int:
        """Steps recorded in the current (open) epoch."""
        return 0 if self._table is None else self._table.steps

    @property
    def last_sample_grad_norms(self) -> Tensor:
        """‖∂L/∂e_i‖ [B] of the last recorded step (on the device)."""
        if not self.steps:
            raise RuntimeError("no step recorded in the current epoch")
        return self._table.norms[-1]

    def _current_row(self):
        if not self.steps:
            return None
        means = self._table.epoch_means()
        row = {"epoch": len(self.rows), "steps": self.steps}
        row.update({_RENAMED.get(k, k): v for k, v in means.items() if _RENAMED.get(k, k) in COLUMNS})
        if not self._counted:
            row["active_ratio"] = row["effective_active_ratio"] = math.nan
        if not self.has_model:
            row["param_grad_norm"] = math.nan
        return row

    def to_frame(self) -> pd.DataFrame:
        """One row per epoch (columns ``epoch``, ``steps`` and :data:`COLUMNS`); steps of an epoch not yet
        closed by :meth:`end_epoch` appear as a last row."""
        current = self._current_row()
        rows = self.rows + ([current] if current is not None else [])
        return pd.DataFrame(rows, columns=["epoch", "steps", *COLUMNS])

    def plot(
        self,
        columns=(
            "loss",
            "active_ratio",
            "effective_active_ratio",
            "sample_active_ratio",
            "grad_gini",
            "param_grad_norm",
        ),
        axes=None,
    ):
        """One panel per column against the epoch (columns that are all NaN are left out), drawn by the
        study's :func:`~vgteach.training.report.plot_history`; returns the matplotlib Figure."""
        from .figures import plot_history

        frame = self.to_frame()
        panels = [(column, column) for column in columns if frame[column].notna().any()] or [("loss", "loss")]
        return plot_history(frame, panels, axes=axes, title=f"GREEDINESS of {type(self.loss_fn).__name__}")
