"""GREEDINESS during training: per-step statistics kept on the device, averaged once per epoch.

Every training step already computes ∂L/∂e (the gradient reaching the head's output) on its way to the
head's weights; a backward hook takes its row norms as it passes (no copy, still in cache), so the
per-sample gradient norms cost one ``[B, D]`` norm. The parameter-gradient norms cost one
``_foreach_norm``. Sorting (median, Gini) and all reductions wait for the epoch's end, batched over its
steps; nothing is copied to the host until then (one ``tolist()``), so tracking adds no synchronisation
to the step. ``effective_active_ratio`` (DESIGN.md §3) needs an O(B²) pass over ∂L/∂S, taken in a hook on
the loss's similarity matrix on every :data:`EFFECTIVE_EVERY`-th step only (its epoch mean is the mean over
those steps; always including the epoch's first).
``bench/bench_training.py`` measures the overhead against the bare step in the same run (goal ≤ 5 % of a
step; the README quotes its latest table rather than this docstring, so the figures cannot go stale here).
In the training loop, Python bookkeeping after backward runs with cold caches and costs more than the arithmetic, so the
tracker keeps its parameter lists rather than walking the model each step.
"""

from __future__ import annotations

from typing import Optional

import torch
from torch import Tensor

from .._validation import validate_positive_int
from ..diagnostics.gini import gini_tensor, sort_last_dim
from ..diagnostics.greediness import GRAD_EPS

#: per-step statistics, in the order of the accumulator vector
STEP_KEYS = (
    "train_loss",
    "active_ratio",
    "effective_active_ratio",
    "sample_active_ratio",
    "grad_norm_mean",
    "grad_norm_median",
    "grad_norm_max",
    "grad_gini",
    "head_grad_norm",
    "proxy_grad_norm",
)

#: default of :class:`GreedinessTracker`'s ``effective_every``: ``effective_active_ratio`` is taken on steps
#: 0, 10, 20, … of each epoch. Its pass over ∂L/∂S [B, B] (a transposed copy, an add and three reductions)
#: costs ~0.3 ms at B = 512 on a CPU, ~5 % of a head step on its own: every step would break the ≤ 5 %
#: tracking budget, every 10th adds ~0.5 % (``bench/bench_training.py``, README)
EFFECTIVE_EVERY = 10


class GreedinessTracker:
    """Keeps each step's raw numbers (references to a few small tensors, no host sync) and reduces them once
    per epoch.

    Parameters
    ----------
    device : str or torch.device
        Where the epoch means are computed.
    head_parameters, proxy_parameters : iterable of Parameter
        Whose gradients give ``head_grad_norm`` and ``proxy_grad_norm`` (ArcFace's W, CCL's centers; none
        for the other losses, whose ``proxy_grad_norm`` is then NaN).
    effective_every : int, default :data:`EFFECTIVE_EVERY`
        ``effective_active_ratio`` (DESIGN.md §3: the participation ratio of |∂L/∂S| over the pairs, see
        :func:`~vgteach.diagnostics.greediness_stats`) is taken on steps 0, k, 2k, … of each epoch and its
        epoch mean is the mean over those steps.

    A step costs two kernels: the per-sample gradient norms ‖∂L/∂e_i‖ ([B, D] → [B], taken by the
    caller's backward hook) and one ``torch._foreach_norm`` over the head's and the proxies' parameter
    gradients; every ``effective_every``-th step adds the effective active ratio, a 0-dim tensor computed
    in a second backward hook from ∂L/∂S (:meth:`~vgteach.losses.base.Similarity.effective_active_ratio`).
    Everything else — the sort behind the median and the Gini coefficient, combining the
    per-tensor norms into the head and proxy norms, the ratios — runs batched over all the epoch's steps in
    :meth:`epoch_means`.
    """

    def __init__(self, device, head_parameters=(), proxy_parameters=(), effective_every: int = EFFECTIVE_EVERY):
        validate_positive_int(effective_every, "effective_every")
        self.device = torch.device(device)
        self.effective_every = effective_every
        # fixed lists, taken once: in the training loop, walking ``model.parameters()`` every step measured
        # ~35 µs, more than the norms themselves
        self.head_parameters, self.proxy_parameters = list(head_parameters), list(proxy_parameters)
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
        num_terms: Tensor,
        num_active: Tensor,
        sample_grad_norms: Tensor,
        effective_active_ratio: Optional[Tensor] = None,
    ) -> None:
        """One step, after its backward. ``sample_grad_norms`` is ‖∂L/∂e_i‖ [B] over the batch the loss saw
        and ``effective_active_ratio`` a 0-dim tensor from ∂L/∂S (``None`` on a step where it was not taken);
        the trainer takes both in backward hooks, see :func:`~vgteach.training.trainer.train_step`. The
        parameter gradients are read from the parameters given at construction."""
        head = [p.grad for p in self.head_parameters if p.grad is not None]
        proxy = [p.grad for p in self.proxy_parameters if p.grad is not None]
        if effective_active_ratio is not None:
            self.effective.append(effective_active_ratio)
        self.scalars.append((loss.detach(), num_active, num_terms))
        self.param_norms.append((len(head), torch._foreach_norm(head + proxy)))
        self.norms.append(sample_grad_norms)

    @torch.no_grad()
    def epoch_means(self) -> dict:
        """The epoch's mean of each :data:`STEP_KEYS` statistic (``proxy_grad_norm`` is NaN for losses
        without proxies: not applicable, rather than 0; ``effective_active_ratio`` is the mean over the steps
        where it was taken, NaN if none)."""
        if not self.scalars:
            return {key: float("nan") for key in STEP_KEYS}
        loss, active, terms = (torch.stack(column).to(self.device, torch.float32) for column in zip(*self.scalars))
        norm_stats = torch.cat([self._norm_stats(norms) for norms in self._same_length_groups()]).mean(0)
        head, proxy = self._parameter_norms()
        effective = (
            torch.stack(self.effective).to(self.device, torch.float32).mean()
            if self.effective
            else loss.new_full((), float("nan"))
        )
        means = torch.stack(
            [loss.mean(), (active / terms.clamp_min(1)).mean(), effective, *norm_stats, head.mean(), proxy.mean()]
        ).tolist()
        row = dict(zip(STEP_KEYS, means))
        if not self.proxy_parameters:
            row["proxy_grad_norm"] = float("nan")
        return row

    def _same_length_groups(self):
        """Steps stacked into [S, B] blocks (one block unless batch sizes differ)."""
        groups = {}
        for norms in self.norms:
            groups.setdefault(norms.numel(), []).append(norms)
        return [torch.stack(group).float() for group in groups.values()]

    def _parameter_norms(self) -> tuple[Tensor, Tensor]:
        """Per step ``(head, proxy)`` gradient norms ‖(∂L/∂θ for all θ)‖₂ from the per-tensor norms; steps
        are grouped by how many tensors had a gradient (a degenerate batch leaves the proxies without one)."""
        groups = {}
        for num_head, norms in self.param_norms:
            groups.setdefault((num_head, len(norms)), []).append(norms)
        head, proxy = [], []
        for (num_head, total), steps in groups.items():
            if total == 0:
                head.append(torch.zeros(len(steps), device=self.device))
                proxy.append(torch.zeros(len(steps), device=self.device))
                continue
            table = torch.stack([n for norms in steps for n in norms]).view(len(steps), total).float()
            head.append(torch.linalg.vector_norm(table[:, :num_head], dim=1))
            proxy.append(torch.linalg.vector_norm(table[:, num_head:], dim=1))
        return torch.cat(head).to(self.device), torch.cat(proxy).to(self.device)

    @staticmethod
    def _norm_stats(norms: Tensor) -> Tensor:
        """[S, 5]: sample-active ratio, mean, lower median, max and Gini of each step's norms."""
        n = norms.shape[1]
        ordered = sort_last_dim(norms)
        return torch.stack(
            [
                (ordered > GRAD_EPS).float().mean(1),
                ordered.sum(1) / n,
                ordered[:, (n - 1) // 2],
                ordered[:, -1],
                gini_tensor(ordered, is_sorted=True),
            ],
            dim=1,
        )
