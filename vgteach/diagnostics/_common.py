"""Input handling shared by the diagnostics: numpy → torch, validation, L2-normalisation in float64."""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

from .._validation import validate_batch
from ..losses.base import l2_normalize


def from_numpy(value, name: str):
    """``torch.from_numpy`` for numpy arrays (anything else is returned unchanged for the checks to judge)."""
    if isinstance(value, np.ndarray):
        if value.dtype.kind not in "fiub":
            raise TypeError(f"{name} must be a numeric array, got numpy dtype {value.dtype}")
        return torch.from_numpy(np.ascontiguousarray(value))
    return value


def as_batch(embeddings, labels) -> tuple[Tensor, Tensor]:
    """Validated ``(embeddings [B, D], labels [B])`` tensors; numpy arrays are accepted and converted."""
    return validate_batch(from_numpy(embeddings, "embeddings"), from_numpy(labels, "labels"))


def unit_float64(embeddings: Tensor) -> Tensor:
    """z = e / ||e|| in float64, detached (diagnostics measure, they do not train). An all-zero row stays 0."""
    return l2_normalize(embeddings.detach().to(torch.float64))


def class_index(labels: Tensor) -> tuple[Tensor, Tensor]:
    """``(inverse [B], counts [C])``: each sample's class as an index 0..C−1 (sorted label order) and the
    class sizes, from one ``torch.unique`` — no Python loop over samples or classes."""
    _, inverse, counts = torch.unique(labels, return_inverse=True, return_counts=True)
    return inverse, counts


def class_means(z: Tensor, inverse: Tensor, counts: Tensor) -> Tensor:
    """μ_c = mean of the rows of ``z`` in class c, as a [C, D] tensor (one ``index_add_``)."""
    sums = z.new_zeros(len(counts), z.shape[1]).index_add_(0, inverse, z)
    return sums / counts.to(z.dtype)[:, None]
