"""GREEDINESS during training: per-step statistics kept on the device, averaged once per epoch.

Every training step already computes ∂L/∂e (the gradient reaching the head's output) on its way to the
head's weights; ``retain_grad`` keeps it instead of freeing it, so the per-sample gradient norms cost one
``[B, D]`` norm, one sort of B numbers (median, Gini) and a handful of reductions. Nothing is copied to the
host until the epoch ends (one ``tolist()``), so tracking adds no synchronisation to the step.
``bench/bench_training.py`` measures the overhead (goal ≤ 5 % of a step).
"""
from __future__ import annotations

from typing import Iterable, Optional

import torch
from torch import Tensor

from ..diagnostics.gini import gini_tensor
from ..diagnostics.greediness import GRAD_EPS


#: per-step statistics, in the order of the accumulator vector
STEP_KEYS = ("train_loss", "active_ratio", "sample_active_ratio", "grad_norm_mean", "grad_norm_median",
             "grad_norm_max", "grad_gini", "head_grad_norm", "proxy_grad_norm")


def global_grad_norm(parameters: Iterable[torch.nn.Parameter]) -> Tensor:
    """‖(∂L/∂θ for all θ)‖₂ over the parameters that have a gradient (0 if none)."""
    grads = [p.grad for p in parameters if p.grad is not None]
    if not grads:
        return torch.zeros(())
    return torch.linalg.vector_norm(torch.stack(torch._foreach_norm(grads)))


class GreedinessTracker:
    """Collects each step's raw numbers (a few small tensors, no host sync) and reduces them once per epoch.

    A step only computes the per-sample gradient norms and the parameter-gradient norms and keeps
    references to them; the sort behind the median and the Gini coefficient, and every other statistic,
    runs batched over all the epoch's steps in :meth:`epoch_means`. That keeps the cost inside the step
    to a handful of kernels.
    """

    def __init__(self, device):
        self.device = torch.device(device)
        self.reset()

    def reset(self) -> None:
        self.scalars, self.norms = [], []
        self.has_proxies = False

    @property
    def steps(self) -> int:
        return len(self.scalars)

    @torch.no_grad()
    def record(self, loss: Tensor, num_terms: Tensor, num_active: Tensor, embedding_grad: Tensor,
               head_parameters, proxy_parameters: Optional[list] = None) -> None:
        """One step. ``embedding_grad`` is ∂L/∂e [B, D] of the batch the loss saw."""
        self.has_proxies = bool(proxy_parameters)
        proxy = global_grad_norm(proxy_parameters) if proxy_parameters else torch.zeros(())
        self.scalars.append(torch.stack([loss.detach().float(), num_active.float(), num_terms.float(),
                                         global_grad_norm(head_parameters), proxy.to(loss.device)]))
        self.norms.append(torch.linalg.vector_norm(embedding_grad.detach().float(), dim=1))

    @torch.no_grad()
    def epoch_means(self) -> dict:
        """The epoch's mean of each :data:`STEP_KEYS` statistic (``proxy_grad_norm`` is NaN for losses
        without proxies: not applicable, rather than 0)."""
        if not self.scalars:
            return {key: float("nan") for key in STEP_KEYS}
        loss, active, terms, head, proxy = torch.stack(self.scalars).T
        per_step = [self._norm_stats(norms) for norms in self._same_length_groups()]
        norm_stats = torch.cat(per_step).mean(0)
        means = torch.stack([loss.mean(), (active / terms.clamp_min(1)).mean(), *norm_stats, head.mean(),
                             proxy.mean()]).tolist()
        row = dict(zip(STEP_KEYS, means))
        if not self.has_proxies:
            row["proxy_grad_norm"] = float("nan")
        return row

    def _same_length_groups(self):
        """Steps stacked into [S, B] blocks (one block unless batch sizes differ)."""
        groups = {}
        for norms in self.norms:
            groups.setdefault(norms.numel(), []).append(norms)
        return [torch.stack(group) for group in groups.values()]

    @staticmethod
    def _norm_stats(norms: Tensor) -> Tensor:
        """[S, 5]: sample-active ratio, mean, lower median, max and Gini of each step's norms."""
        n = norms.shape[1]
        ordered = norms.sort(dim=1).values
        return torch.stack([(ordered > GRAD_EPS).float().mean(1), ordered.sum(1) / n, ordered[:, (n - 1) // 2],
                            ordered[:, -1], gini_tensor(ordered)], dim=1)
