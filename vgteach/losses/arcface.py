"""ArcFace: additive angular margin (Deng et al., CVPR 2019)."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .._validation import validate_positive, validate_positive_int, validate_proxy_inputs
from .base import MetricLoss, Terms, proxy_similarity, unit_rows


class ArcFaceLoss(MetricLoss):
    r"""Softmax over learnable class proxies with an additive angular margin on the target class.

    .. math::
        \cos\theta_j = z\cdot \hat w_j,\quad
        \varphi = \begin{cases} \cos(\theta_y + m) & \cos\theta_y > \cos(\pi - m)\\
                                \cos\theta_y - m \sin(\pi - m) & \text{otherwise}\end{cases},\quad
        L = \operatorname{mean}_i\ \mathrm{CE}\big(\gamma\,[\ldots, \varphi, \ldots, \cos\theta_j, \ldots],\ y_i\big)

    The fallback branch keeps φ decreasing in θ when θ_y + m would pass π (the "easy margin off" form of
    the reference implementation). ``cos(θ+m) = cosθ cos m − sinθ sin m`` is evaluated with
    ``sin θ = sqrt(1 − cos²θ)``, which avoids acos and its infinite slope at ±1.

    Parameters
    ----------
    num_classes : int
        K, the number of proxies (rows of ``.weight``).
    embedding_dim : int, default 128
    scale : float, default 64
        γ, the scale that multiplies every logit (book/notation.md).
    margin : float, default 0.5 (radians)
        m, the additive angular margin on the target class.

    Attributes
    ----------
    weight : nn.Parameter [K, D]
        The class proxies; optimise them with the head (the trainer collects ``loss_fn.parameters()``).
    proxies : nn.Parameter [K, D]
        ``weight`` under the name every loss answers (read-only; CCL's ``centers``, None for pair losses).

    Terms
    -----
    One cross-entropy per sample; softmax-type: active iff CE > ε.

    References
    ----------
    J. Deng, J. Guo, N. Xue, S. Zafeiriou. ArcFace: additive angular margin loss for deep face recognition.
    CVPR 2019. Equivalent to pytorch-metric-learning's ``ArcFaceLoss(margin=degrees(m), scale=γ)`` with
    its ``W`` = our ``weight.T``.
    """

    name = "arcface"

    def __init__(self, num_classes: int, embedding_dim: int = 128, scale: float = 64.0, margin: float = 0.5):
        super().__init__()
        self.num_classes = validate_positive_int(num_classes, "num_classes")
        self.embedding_dim = validate_positive_int(embedding_dim, "embedding_dim")
        self.scale = validate_positive(scale, "scale")
        self.margin = validate_positive(margin, "margin", allow_zero=True)
        if self.margin >= math.pi / 2:
            raise ValueError(f"margin is an angle in radians and must be < π/2, got {margin}")
        self.weight = nn.Parameter(torch.randn(num_classes, embedding_dim) / math.sqrt(embedding_dim))

    @property
    def proxies(self) -> nn.Parameter:
        """The class proxies [K, D] (the ``weight`` parameter itself, not a copy)."""
        return self.weight

    def extra_repr(self) -> str:
        return f"num_classes={self.num_classes}, embedding_dim={self.embedding_dim}, scale={self.scale}, margin={self.margin}"

    def _validate_inputs(self, embeddings: Tensor, labels: Tensor) -> None:
        validate_proxy_inputs(embeddings, labels, self.num_classes, self.embedding_dim, "ArcFaceLoss")

    def _terms(self, z: Tensor, labels: Tensor) -> Terms:
        sim = proxy_similarity(z, unit_rows(self.weight.to(z.dtype)))
        cos = sim.matrix  # [B, K]
        target = labels[:, None]
        cos_y = cos.gather(1, target)  # [B, 1]
        # the clamp keeps sqrt finite when rounding pushes |cos θ_y| a hair above 1
        sin_y = (1.0 - cos_y * cos_y).clamp_min(1e-12).sqrt()
        m = self.margin
        phi = torch.where(
            cos_y > math.cos(math.pi - m),
            torch.add(cos_y * math.cos(m), sin_y, alpha=-math.sin(m)),  # cos(θ_y + m)
            cos_y - m * math.sin(math.pi - m),
        )
        logits = self.scale * cos.scatter(1, target, phi)  # φ replaces cos θ_y
        return Terms(F.cross_entropy(logits, labels, reduction="none"), similarity=sim)
