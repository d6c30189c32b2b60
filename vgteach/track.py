r"""GREEDINESS in *your* training loop: wrap any loss, keep your loop. vgteach's trainer does the same.

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

Two pieces. :class:`GreedinessTracker` is the loss wrapper: its backward hooks take the per-sample gradient
norms ‖∂L/∂e_i‖ (and, for vgteach's losses, ∂L/∂S) as the gradient passes — no copy, still in cache, one
``[B, D]`` norm. :class:`StepStore`, inside it, keeps each step's raw numbers (references to a few small
tensors on the device: no host synchronisation in the step) and reduces a whole epoch of steps at once:
the sorts behind the median and the Gini coefficient, the means, one ``tolist()``. The study's trainer
(:mod:`vgteach.training.trainer`) is a loop around this same tracker. ``bench/bench_training.py`` (the
trainer) and ``bench/bench_track.py`` (a plain loop) measure the overhead against the bare step (goal ≤ 5 %;
the README quotes their latest tables, so the figures cannot go stale here). In the training loop, Python
bookkeeping after backward runs with cold caches and costs more than the arithmetic, so the tracker takes
its parameter lists once rather than walking the model each step.
"""

from __future__ import annotations

import math
from typing import Optional

import pandas as pd
import torch
from torch import Tensor, nn

from ._validation import validate_positive, validate_positive_int
from .diagnostics.greediness import GRAD_EPS, GRAD_NORM_KEYS, grad_norm_statistics
from .losses.base import LossOutput, MetricLoss

#: the columns of :meth:`GreedinessTracker.to_frame` after ``epoch`` and ``steps``, one per statistic
COLUMNS = ("loss", "active_ratio", "effective_active_ratio", *GRAD_NORM_KEYS, "param_grad_norm", "proxy_grad_norm")

#: default of :class:`GreedinessTracker`'s ``effective_every``: ``effective_active_ratio`` is taken on steps
#: 0, 10, 20, … of each epoch. Its pass over ∂L/∂S [B, B] (a transposed copy, an add and three reductions)
#: costs ~0.3 ms at B = 512 on a CPU, ~5 % of a head step on its own: every step would break the ≤ 5 %
#: tracking budget, every 10th adds ~0.5 % (``bench/bench_training.py``, README)
EFFECTIVE_EVERY = 10


class GreedinessTracker:
    r"""Record the GREEDINESS statistics of DESIGN.md §3 around any loss ``(embeddings, labels) -> scalar``.

    Each tracked call ``tracker(embeddings, labels, ...)`` returns ``loss_fn(embeddings, labels, ...)``
    unchanged; a tensor hook on (an identity view of) the embeddings takes, during your ``backward``, the
    per-sample gradient norms :math:`g_i = \lVert \partial L / \partial e_i \rVert_2` of *this* loss (other
    terms added to it, e.g. a regulariser on the embeddings, are not included). :meth:`step`, after the
    backward, stores them with the gradient norm of ``model``'s parameters; :meth:`end_epoch` reduces the
    epoch's steps to one row, the mean over steps of (:data:`COLUMNS`; the definitions are
    :func:`~vgteach.diagnostics.greediness_stats`'s):

    - ``loss``; ``sample_active_ratio`` = #{i : g_i > 1e-8}/B; ``grad_norm_mean``, ``grad_norm_median``,
      ``grad_norm_max`` of the g_i; ``grad_gini`` = Gini coefficient of the g_i ("many small updates" → low,
      "few large ones" → high);
    - ``param_grad_norm`` = ‖∂L/∂θ‖₂ over all of ``model``'s parameters (NaN without a model);
      ``proxy_grad_norm`` = the same over the loss's own parameters, e.g. ArcFace's proxies (vgteach's or
      pytorch-metric-learning's ``ArcFaceLoss.W``; NaN for a loss without parameters);
    - only for vgteach losses, whose :meth:`~vgteach.losses.base.MetricLoss.compute` exposes their
      elementary terms (DESIGN.md §2) and their similarity matrix S: ``active_ratio`` = active terms / all
      terms, and ``effective_active_ratio`` = the participation ratio (Σw)²/(n·Σw²) of the pair weights
      w = |∂L/∂S| (∂L/∂S taken by a second hook, on S, during the same backward), on every
      ``effective_every``-th step of an epoch (its first included).

    Everything but the last two is well defined for *any* callable. Those two are NaN for a foreign loss
    (pytorch-metric-learning's, yours): its terms and its S are internal to it, so neither can be counted
    nor differentiated from outside.

    Parameters
    ----------
    loss_fn : callable
        ``loss_fn(embeddings, labels, *args, **kwargs)`` returning a scalar tensor.
    model : nn.Module, iterable of Parameter, or None
        Whose gradient norm to record (``param_grad_norm``).
    effective_every : int, default :data:`EFFECTIVE_EVERY` (10)
        ``effective_active_ratio`` is taken on steps 0, k, 2k, … of each epoch: its pass over the [B, B]
        ∂L/∂S costs ~5 % of a head step on its own, so every step would break the ≤ 5 % budget.
    loss_scale : float, default 1
        The factor by which the loop multiplies the tracked loss before ``backward`` while the parameter
        gradients come out unscaled: the DDP recipe of vgteach's trainer (the loss × W, which DDP's average
        over W ranks undoes; :mod:`vgteach.training.distributed`). The per-sample norms are divided by it.

    Notes
    -----
    - Only calls that can be backpropagated are tracked (gradients enabled, embeddings that require grad);
      a validation call under ``torch.no_grad()`` passes straight through.
    - One tracked call per :meth:`step`; calling the loss twice before ``step()`` raises, so a forgotten
      ``step()`` does not go unnoticed. For gradient accumulation, call ``step()`` after each micro-batch's
      backward: each is a step.
    - Cost per step: one identity view, one hook, a [B, D] → [B] norm in the backward and one
      ``torch._foreach_norm`` over the gradients.
    """

    def __init__(self, loss_fn, model=None, effective_every: int = EFFECTIVE_EVERY, *, loss_scale: float = 1):
        if not callable(loss_fn):
            raise TypeError(f"loss_fn must be callable as loss_fn(embeddings, labels), got {type(loss_fn).__name__}")
        if model is not None and not isinstance(model, nn.Module) and not hasattr(model, "__iter__"):
            raise TypeError(
                f"model must be an nn.Module, an iterable of parameters or None, got {type(model).__name__}"
            )
        self.loss_fn = loss_fn
        self.effective_every = validate_positive_int(effective_every, "effective_every")
        self.loss_scale = validate_positive(loss_scale, "loss_scale")
        params = model.parameters() if isinstance(model, nn.Module) else (model or ())
        # fixed lists, taken once: walking ``model.parameters()`` every step measured ~35 µs, more than the norms
        self.model_parameters = None if model is None else [p for p in params if p.requires_grad]
        self.proxies = [p for p in loss_fn.parameters() if p.requires_grad] if isinstance(loss_fn, nn.Module) else []
        self.rows: list[dict] = []
        self._store: Optional[StepStore] = None
        self._pending = None

    # -- the three calls in a training loop ----------------------------------------------------------------
    def __call__(self, embeddings, labels, *args, **kwargs):
        """``loss_fn(embeddings, labels, *args, **kwargs)``, tracked when it can be backpropagated."""
        if not _trackable(embeddings):
            return self.loss_fn(embeddings, labels, *args, **kwargs)
        return self.compute(embeddings, labels, *args, **kwargs).loss

    def compute(self, embeddings, labels, *args, **kwargs) -> LossOutput:
        """The tracked call as a :class:`~vgteach.losses.LossOutput`: for a vgteach loss called as
        ``loss_fn(embeddings, labels)``, its :meth:`~vgteach.losses.base.MetricLoss.compute` (the loss, the
        term counts, S), otherwise ``(loss, None, None)``. What the trainer calls (it reports the counts).
        A call that cannot be backpropagated is computed the same way but not tracked."""
        if not _trackable(embeddings):
            return self._loss_output(embeddings, labels, args, kwargs)
        if self._pending is not None:
            raise RuntimeError(
                "the loss was called again before tracker.step(): call step() after each "
                "loss.backward() (before optimizer.step())"
            )
        e = embeddings.view_as(embeddings)  # an identity node: its gradient is this loss's alone
        hooks = _BackwardHooks(self.loss_scale)
        e.register_hook(hooks.keep_sample_norms)
        out = self._loss_output(e, labels, args, kwargs)
        if not isinstance(out.loss, Tensor) or out.loss.numel() != 1:
            raise TypeError(
                f"loss_fn must return a scalar tensor, got {type(out.loss).__name__}"
                f"{tuple(out.loss.shape) if isinstance(out.loss, Tensor) else ''}"
            )
        counted = out.num_terms is not None
        if counted and self._store_on(e.device).wants_effective_ratio:
            hooks.watch_similarity(out.similarity)
        self._pending = (out, hooks, len(e))
        return out

    def step(self) -> None:
        """Record the step of the last tracked call; after its ``backward``, before ``optimizer.step()``
        (which may change nothing here) and before the next ``zero_grad``."""
        if self._pending is None:
            raise RuntimeError("tracker.step() without a tracked loss call since the last step")
        out, hooks, batch = self._pending
        if hooks.sample_norms is None:
            if out.loss.requires_grad:
                raise RuntimeError("tracker.step() before loss.backward(): no gradient reached the embeddings")
            hooks.sample_norms = out.loss.new_zeros(batch)  # a loss with no path to the embeddings: no push at all
        self._pending = None
        counts = None if out.num_terms is None else (out.num_terms, out.num_active)
        self._store_on(out.loss.device).record(out.loss, hooks.sample_norms, counts, hooks.effective_ratio())

    def end_epoch(self) -> Optional[dict]:
        """Close the epoch: append (and return) its row of means; an epoch without steps adds nothing."""
        row = self._current_row()
        if row is not None:
            self.rows.append(row)
            self._store.reset()
        return row

    def _loss_output(self, embeddings, labels, args, kwargs) -> LossOutput:
        if isinstance(self.loss_fn, MetricLoss) and not args and not kwargs:
            return self.loss_fn.compute(embeddings, labels)  # the same value, plus the term counts and S
        return LossOutput(self.loss_fn(embeddings, labels, *args, **kwargs), None, None)

    def _store_on(self, device) -> StepStore:
        """The per-step store, made on the first tracked call's device."""
        if self._store is None:
            self._store = StepStore(device, self.model_parameters, self.proxies, self.effective_every)
        return self._store

    # -- reading -------------------------------------------------------------------------------------------
    @property
    def steps(self) -> int:
        """Steps recorded in the current (open) epoch."""
        return 0 if self._store is None else self._store.steps

    @property
    def last_sample_grad_norms(self) -> Tensor:
        """‖∂L/∂e_i‖ [B] of the last recorded step (on the device)."""
        if not self.steps:
            raise RuntimeError("no step recorded in the current epoch")
        return self._store.norms[-1]

    def _current_row(self) -> Optional[dict]:
        if not self.steps:
            return None
        return {"epoch": len(self.rows), "steps": self.steps, **self._store.epoch_means()}

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
        study's :func:`~vgteach.figures.plot_history`; returns the matplotlib Figure."""
        from .figures import plot_history

        frame = self.to_frame()
        panels = [(column, column) for column in columns if frame[column].notna().any()] or [("loss", "loss")]
        return plot_history(frame, panels, axes=axes, title=f"GREEDINESS of {type(self.loss_fn).__name__}")


def _trackable(embeddings) -> bool:
    """Whether a call can be backpropagated: gradients enabled and embeddings that require one."""
    return torch.is_grad_enabled() and isinstance(embeddings, Tensor) and embeddings.requires_grad


class _BackwardHooks:
    """The two backward hooks of one tracked call, and what they caught: ‖∂L/∂e_i‖ [B] from the embeddings'
    gradient, and the effective active ratio (a 0-dim tensor) from ∂L/∂S when asked to watch S."""

    __slots__ = ("scale", "sample_norms", "effective", "watching")

    def __init__(self, scale: float):
        self.scale, self.sample_norms, self.effective, self.watching = scale, None, None, False

    def keep_sample_norms(self, grad: Tensor) -> None:
        norms = torch.linalg.vector_norm(grad.detach(), dim=1)
        self.sample_norms = norms if self.scale == 1 else norms / self.scale

    def watch_similarity(self, similarity) -> None:
        """Take the effective active ratio from ∂L/∂S in the backward (DESIGN.md §3); no gradient reaching S
        (e.g. no active triplet) reads as 0: every pair weight is 0."""
        self.watching = True
        if similarity is not None and similarity.matrix.requires_grad:
            rule = similarity.without_matrix()  # the hook must not hold S (a leak, see there)
            similarity.matrix.register_hook(lambda grad: setattr(self, "effective", rule.effective_active_ratio(grad)))

    def effective_ratio(self) -> Optional[Tensor]:
        """The caught ratio, 0 if S was watched but got no gradient, ``None`` if it was not watched."""
        if not self.watching:
            return None
        if self.effective is None:
            return torch.zeros((), device=self.sample_norms.device)
        return self.effective


class StepStore:
    """The tracker's per-step store and its epoch reduction (internal to :class:`GreedinessTracker`).

    Keeps each step's raw numbers — references to a few small tensors, no host synchronisation — and
    reduces them in :meth:`epoch_means`, batched over all the epoch's steps: the sort behind the median and
    the Gini coefficient, combining the per-tensor gradient norms into the model's and the proxies', the
    ratios.

    Parameters
    ----------
    device : str or torch.device
        Where the epoch means are computed.
    model_parameters : list of Parameter, or None
        Whose gradients give ``param_grad_norm`` (``None``: no model, the column is NaN).
    proxy_parameters : list of Parameter
        Whose gradients give ``proxy_grad_norm`` (ArcFace's W, CCL's centers; none: NaN).
    effective_every : int
        ``effective_active_ratio`` is wanted on steps 0, k, 2k, … of each epoch; its epoch mean is the mean
        over those steps.
    """

    def __init__(self, device, model_parameters, proxy_parameters, effective_every: int = EFFECTIVE_EVERY):
        self.device = torch.device(device)
        self.effective_every = validate_positive_int(effective_every, "effective_every")
        self.has_model = model_parameters is not None
        self.model_parameters, self.proxy_parameters = list(model_parameters or ()), list(proxy_parameters)
        self.reset()

    def reset(self) -> None:
        self.scalars, self.norms, self.param_norms, self.effective = [], [], [], []

    @property
    def steps(self) -> int:
        return len(self.scalars)

    @property
    def wants_effective_ratio(self) -> bool:
        """Whether the next step's ``effective_active_ratio`` is taken (every ``effective_every``-th step)."""
        return self.steps % self.effective_every == 0

    @torch.no_grad()
    def record(
        self,
        loss: Tensor,
        sample_grad_norms: Tensor,
        counts: Optional[tuple[Tensor, Tensor]] = None,
        effective_active_ratio: Optional[Tensor] = None,
    ) -> None:
        """One step, after its backward: the loss, ‖∂L/∂e_i‖ [B], ``(num_terms, num_active)`` (0-dim
        tensors; ``None`` for a loss that does not count its terms: the epoch's ``active_ratio`` is then NaN)
        and the step's effective active ratio (``None`` on a step where it was not taken). The parameter
        gradients are read from the parameters given at construction; none with a gradient is a norm of 0."""
        model = [p.grad for p in self.model_parameters if p.grad is not None]
        grads = model + [p.grad for p in self.proxy_parameters if p.grad is not None]
        if effective_active_ratio is not None:
            self.effective.append(effective_active_ratio)
        self.scalars.append((loss.detach(), counts))
        self.param_norms.append((len(model), torch._foreach_norm(grads) if grads else ()))
        self.norms.append(sample_grad_norms)

    @torch.no_grad()
    def epoch_means(self) -> dict:
        """The epoch's mean of each :data:`COLUMNS` statistic (``param_grad_norm``/``proxy_grad_norm`` are
        NaN without a model/proxies: not applicable, rather than 0; ``effective_active_ratio`` is the mean
        over the steps where it was taken, NaN if none)."""
        if not self.scalars:
            return dict.fromkeys(COLUMNS, math.nan)
        losses, counts = zip(*self.scalars)
        loss = torch.stack(losses).to(self.device, torch.float32)
        norm_stats = torch.cat([grad_norm_statistics(norms, GRAD_EPS) for norms in self._same_length_groups()])
        model, proxy = self._parameter_norms()
        ratios = [self._active_ratio(counts), self._mean_or_nan(self.effective)]
        means = torch.stack([loss.mean(), *ratios, *norm_stats.mean(0), model.mean(), proxy.mean()]).tolist()
        row = dict(zip(COLUMNS, means))
        if not self.has_model:
            row["param_grad_norm"] = math.nan
        if not self.proxy_parameters:
            row["proxy_grad_norm"] = math.nan
        return row

    def _mean_or_nan(self, values: list) -> Tensor:
        if not values:
            return torch.full((), math.nan, device=self.device)
        return torch.stack(values).to(self.device, torch.float32).mean()

    def _active_ratio(self, counts) -> Tensor:
        """The mean over steps of active terms / all terms (0 for a step without terms); NaN if a step was
        not counted."""
        if any(step is None for step in counts):
            return torch.full((), math.nan, device=self.device)
        terms, active = (torch.stack(column).to(self.device, torch.float32) for column in zip(*counts))
        return (active / terms.clamp_min(1)).mean()

    def _same_length_groups(self) -> list[Tensor]:
        """Steps stacked into [S, B] blocks (one block unless batch sizes differ)."""
        groups = {}
        for norms in self.norms:
            groups.setdefault(norms.numel(), []).append(norms)
        return [torch.stack(group).to(self.device, torch.float32) for group in groups.values()]

    def _parameter_norms(self) -> tuple[Tensor, Tensor]:
        """Per step ``(model, proxy)`` gradient norms ‖(∂L/∂θ for all θ)‖₂ from the per-tensor norms; steps
        are grouped by how many tensors had a gradient (a degenerate batch leaves the proxies without one)."""
        groups = {}
        for num_model, norms in self.param_norms:
            groups.setdefault((num_model, len(norms)), []).append(norms)
        model, proxy = [], []
        for (num_model, total), steps in groups.items():
            if total == 0:
                model.append(torch.zeros(len(steps), device=self.device))
                proxy.append(torch.zeros(len(steps), device=self.device))
                continue
            table = torch.stack([n for norms in steps for n in norms]).view(len(steps), total).float()
            model.append(torch.linalg.vector_norm(table[:, :num_model], dim=1))
            proxy.append(torch.linalg.vector_norm(table[:, num_model:], dim=1))
        return torch.cat(model).to(self.device), torch.cat(proxy).to(self.device)
