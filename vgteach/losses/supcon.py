"""Supervised contrastive loss, L_out (Khosla et al., NeurIPS 2020)."""

from __future__ import annotations

import torch
from torch import Tensor

from .._validation import validate_positive
from .base import MetricLoss, Terms, pair_similarity


class SupConLoss(MetricLoss):
    r"""All positives of an anchor share one softmax over every other sample.

    .. math::
        \ell_i = -\frac{1}{|P(i)|} \sum_{p \in P(i)}
            \log \frac{e^{s_{ip}/\tau}}{\sum_{a \ne i} e^{s_{ia}/\tau}},
        \qquad L = \operatorname{mean}_{i:\,|P(i)|\ge 1}\ \ell_i

    Parameters
    ----------
    temperature : float, default 0.1

    Terms
    -----
    One term per anchor with at least one positive, in batch order. Because the |P(i)| positives share
    one softmax, their probabilities sum to at most 1, so ℓ_i ≥ log |P(i)| (equality when all positives
    have the same similarity and every negative has weight 0). The *floor* of term i is therefore
    log |P(i)|, and a term is active iff ℓ_i − log |P(i)| > ε. Without that shift every SupCon anchor
    would count as active forever.

    References
    ----------
    P. Khosla et al. Supervised contrastive learning. NeurIPS 2020 (the L_out variant, their Eq. 2).
    Equivalent to pytorch-metric-learning's ``SupConLoss``.
    """

    name = "supcon"

    def __init__(self, temperature: float = 0.1):
        super().__init__()
        self.temperature = validate_positive(temperature, "temperature")

    def extra_repr(self) -> str:
        return f"temperature={self.temperature}"

    def _terms(self, z: Tensor, labels: Tensor) -> Terms:
        same = labels[:, None] == labels[None, :]
        is_self = torch.eye(len(z), dtype=torch.bool, device=z.device)
        pos = same & ~is_self
        sim = pair_similarity(z)
        logits = sim.matrix / self.temperature
        # log Σ_{a≠i} e^{s_ia/τ}: finite for every row of a batch of two or more
        log_denominator = torch.logsumexp(logits.masked_fill(is_self, float("-inf")), dim=1)
        num_pos = pos.sum(dim=1).to(logits.dtype)
        # ℓ_i = −mean_{p∈P(i)} (s_ip/τ − log_denominator_i), on every row; the clamp keeps rows without a
        # positive finite (they have no term) so that no NaN reaches the backward
        values = log_denominator - torch.where(pos, logits, 0.0).sum(dim=1) / num_pos.clamp_min(1.0)
        anchors = num_pos > 0  # a mask, not `if not anchors.all()`: no host synchronisation
        return Terms(values[anchors], floor=torch.log(num_pos[anchors]), similarity=sim)
