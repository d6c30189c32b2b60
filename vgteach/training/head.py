"""The trainable part: an embedding head with an L2-normalised output (optionally after a small CNN)."""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor, nn


class EmbeddingHead(nn.Module):
    """``z = normalize(head(x))`` with ``head`` linear (the paper's 128-d projection) or a 2-layer MLP.

    Parameters
    ----------
    in_dim, embedding_dim : int
    kind : {"linear", "mlp"}
    hidden_dim : int
        Width of the MLP's hidden layer (``mlp`` only).
    trunk : nn.Module, optional
        A trainable feature extractor in front of the head (the end-to-end ``cnn`` backbone).
    """

    def __init__(
        self,
        in_dim: int,
        embedding_dim: int = 128,
        kind: str = "linear",
        hidden_dim: int = 512,
        trunk: nn.Module = None,
    ):
        super().__init__()
        self.trunk = trunk if trunk is not None else nn.Flatten()
        if kind == "linear":
            self.head = nn.Linear(in_dim, embedding_dim)
        elif kind == "mlp":
            self.head = nn.Sequential(nn.Linear(in_dim, hidden_dim), nn.ReLU(), nn.Linear(hidden_dim, embedding_dim))
        else:
            raise ValueError(f"unknown head {kind!r}; valid: linear, mlp")

    def forward(self, x: Tensor) -> Tensor:
        return F.normalize(self.head(self.trunk(x)).float(), dim=1)
