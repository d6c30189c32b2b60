"""Supervised contrastive loss, L_out (Khosla et al., NeurIPS 2020)."""
from __future__ import annotations

import torch
from torch import Tensor

from .._validation import check_positive
from .base import MetricLoss, Terms, masked_logsumexp, same_label_masks


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
        self.temperature = check_positive(temperature, "temperature")

    def extra_repr(self) -> str:
        return f"temperature={self.temperature}"

    def _terms(self, z: Tensor, labels: Tensor) -> Terms:
        pos, _ = same_label_masks(labels)
        anchors = pos.any(dim=1)
        pos = pos[anchors]                                            # [A, B]
        logits = z[anchors] @ z.T / self.temperature                   # [A, B]
        not_self = torch.ones_like(pos)
        not_self[torch.arange(len(pos), device=z.device), anchors.nonzero().squeeze(1)] = False
        log_prob = logits - masked_logsumexp(logits, not_self, dim=1)[:, None]
        num_pos = pos.sum(dim=1)
        values = -torch.where(pos, log_prob, torch.zeros_like(log_prob)).sum(dim=1) / num_pos
        return Terms(values, floor=torch.log(num_pos.to(values.dtype)))
