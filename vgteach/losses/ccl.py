"""Center contrastive loss (after Cai et al., 2023)."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .._validation import validate_positive, validate_positive_int, validate_proxy_inputs
from .base import MetricLoss, Terms, proxy_similarity, unit_rows


class CenterContrastiveLoss(MetricLoss):
    r"""Contrast each sample with learnable class centers, plus a pull to its own center.

    .. math::
        \ell_i = -\log\frac{e^{(z_i\cdot\hat c_{y_i} - m)/\tau}}
                          {e^{(z_i\cdot\hat c_{y_i} - m)/\tau} + \sum_{k\ne y_i} e^{z_i\cdot\hat c_k/\tau}}
                 + \lambda\,\lVert z_i - \hat c_{y_i}\rVert^2,
        \qquad L = \operatorname{mean}_i \ell_i

    This is the project's reading of the Center Contrastive loss: the original paper's exact formula and
    its center-update rule could not be read, so the centers here are ordinary parameters updated by
    gradient descent together with the head (see DESIGN.md §2 and the CCL chapter).

    Parameters
    ----------
    num_classes : int
    embedding_dim : int, default 128
    temperature : float, default 0.1
    margin : float, default 0.2
        Subtracted from the target cosine before the softmax (an additive cosine margin).
    pull_weight : float, default 1.0
        λ; ``‖z − ĉ‖² = 2 − 2 z·ĉ`` on the sphere.

    Attributes
    ----------
    centers : nn.Parameter [K, D]
        The class centers; optimise them with the head (the trainer collects ``loss_fn.parameters()``).
    proxies : nn.Parameter [K, D]
        ``centers`` under the name every loss answers (read-only; ArcFace's ``weight``, None for pair losses).

    Terms
    -----
    One ℓ_i per sample; softmax-type: active iff ℓ_i > ε.

    References
    ----------
    B. Cai, P. Xiong, S. Tian. Center contrastive loss for metric learning. arXiv 2308.00458 (2023).
    """

    name = "ccl"

    def __init__(
        self,
        num_classes: int,
        embedding_dim: int = 128,
        temperature: float = 0.1,
        margin: float = 0.2,
        pull_weight: float = 1.0,
    ):
        super().__init__()
        self.num_classes = validate_positive_int(num_classes, "num_classes")
        self.embedding_dim = validate_positive_int(embedding_dim, "embedding_dim")
        self.temperature = validate_positive(temperature, "temperature")
        self.margin = validate_positive(margin, "margin", allow_zero=True)
        self.pull_weight = validate_positive(pull_weight, "pull_weight", allow_zero=True)
        self.centers = nn.Parameter(torch.randn(num_classes, embedding_dim) / math.sqrt(embedding_dim))

    @property
    def proxies(self) -> nn.Parameter:
        """The class centers [K, D] (the ``centers`` parameter itself, not a copy)."""
        return self.centers

    def extra_repr(self) -> str:
        return (
            f"num_classes={self.num_classes}, embedding_dim={self.embedding_dim}, temperature={self.temperature}, "
            f"margin={self.margin}, pull_weight={self.pull_weight}"
        )

    def _validate_inputs(self, embeddings: Tensor, labels: Tensor) -> None:
        validate_proxy_inputs(embeddings, labels, self.num_classes, self.embedding_dim, "CenterContrastiveLoss")

    def _terms(self, z: Tensor, labels: Tensor) -> Terms:
        sim = proxy_similarity(z, unit_rows(self.centers.to(z.dtype)))
        cos = sim.matrix  # [B, K]
        target = labels[:, None]
        cos_y = cos.gather(1, target)  # [B, 1]
        # the margin replaces cos θ_y by cos θ_y − m (a scatter: F.one_hot would read the labels on the host)
        logits = cos.scatter(1, target, cos_y - self.margin) / self.temperature
        pull = (2.0 - 2.0 * cos_y.squeeze(1)).clamp_min(0.0)
        return Terms(F.cross_entropy(logits, labels, reduction="none") + self.pull_weight * pull, similarity=sim)
