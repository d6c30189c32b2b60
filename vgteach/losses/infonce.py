"""Supervised InfoNCE / NT-Xent (Oord et al. 2018; Chen et al., SimCLR 2020)."""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor

from .._validation import validate_positive
from .base import MetricLoss, Terms, masked_logsumexp, pair_similarity, same_label_masks


class InfoNCELoss(MetricLoss):
    r"""One softmax per ordered positive pair, against the anchor's negatives only.

    .. math::
        \ell_{ip} = -\log \frac{e^{s_{ip}/\tau}}{e^{s_{ip}/\tau} + \sum_{n:\,y_n\ne y_i} e^{s_{in}/\tau}}
                  = \operatorname{softplus}\Big(\log\sum_{n} e^{s_{in}/\tau} - s_{ip}/\tau\Big),
        \qquad L = \operatorname{mean}_{(i,p):\,y_i=y_p,\ i\ne p}\ \ell_{ip}

    The softplus form is the numerically stable one (a log-sum-exp, no explicit exponentials). A row
    without negatives gives ℓ = 0.

    Parameters
    ----------
    temperature : float, default 0.1
        τ. Small τ sharpens the softmax onto the hardest negatives.

    Terms
    -----
    Every ordered positive pair (i, p), row-major; softmax-type: active iff ℓ > ε. Each ℓ_ip stays
    positive until every negative is far below the positive, so nearly all pairs contribute small
    gradients: "many small updates".

    References
    ----------
    A. van den Oord, Y. Li, O. Vinyals. Representation learning with contrastive predictive coding.
    arXiv 1807.03748. T. Chen et al. A simple framework for contrastive learning (SimCLR). ICML 2020.
    Equivalent to pytorch-metric-learning's ``NTXentLoss``.
    """

    name = "infonce"

    def __init__(self, temperature: float = 0.1):
        super().__init__()
        self.temperature = validate_positive(temperature, "temperature")

    def extra_repr(self) -> str:
        return f"temperature={self.temperature}"

    def _terms(self, z: Tensor, labels: Tensor) -> Terms:
        sim = pair_similarity(z)
        logits = sim.matrix / self.temperature
        pos, neg = same_label_masks(labels)
        neg_lse = masked_logsumexp(logits, neg, dim=1)  # [B], −inf when no negatives
        values = F.softplus(neg_lse[:, None] - logits)[pos]  # row-major ordered positive pairs
        return Terms(values, similarity=sim)
