"""Input checks shared by every public function.

Bad input must fail early with a message that names the problem, instead of a NaN three calls later or a
deep traceback from inside ``torch``. Every loss, diagnostic and metric calls :func:`check_batch` first.
"""
from __future__ import annotations

import torch
from torch import Tensor


def check_embeddings(embeddings, name: str = "embeddings") -> Tensor:
    """Return ``embeddings`` if it is a finite, floating-point ``[B, D]`` tensor with ``B, D >= 1``."""
    if not isinstance(embeddings, Tensor):
        raise TypeError(f"{name} must be a torch.Tensor of shape [B, D], got {type(embeddings).__name__}")
    if not embeddings.is_floating_point():
        raise TypeError(f"{name} must have a floating dtype (float32/float64/bfloat16), got {embeddings.dtype}")
    if embeddings.dim() != 2:
        raise ValueError(f"{name} must be 2-D [B, D], got shape {tuple(embeddings.shape)}")
    if embeddings.shape[0] < 1 or embeddings.shape[1] < 1:
        raise ValueError(f"{name} must hold at least one sample and one dimension, got shape {tuple(embeddings.shape)}")
    # one pass, no [B, D] temporaries: NaN propagates through min/max and ±Inf shows up as an extreme
    if not all(torch.isfinite(v) for v in torch.aminmax(embeddings.detach())):
        raise ValueError(f"{name} contains NaN or Inf values")
    return embeddings


def check_labels(labels, batch_size: int, name: str = "labels") -> Tensor:
    """Return ``labels`` if it is a 1-D integer tensor of length ``batch_size``."""
    if not isinstance(labels, Tensor):
        raise TypeError(f"{name} must be a torch.Tensor of integer class ids, got {type(labels).__name__}")
    if labels.is_floating_point() or labels.is_complex() or labels.dtype == torch.bool:
        raise TypeError(f"{name} must have an integer dtype (e.g. torch.long), got {labels.dtype}")
    if labels.dim() != 1:
        raise ValueError(f"{name} must be 1-D [B], got shape {tuple(labels.shape)}")
    if labels.shape[0] != batch_size:
        raise ValueError(f"{name} has length {labels.shape[0]} but embeddings have {batch_size} rows")
    return labels


def check_batch(embeddings, labels) -> tuple[Tensor, Tensor]:
    """Validate an ``(embeddings [B, D], labels [B])`` pair and move labels to the embeddings' device."""
    embeddings = check_embeddings(embeddings)
    labels = check_labels(labels, embeddings.shape[0])
    return embeddings, labels.to(embeddings.device)


def check_positive(value: float, name: str, allow_zero: bool = False) -> float:
    """Return ``float(value)`` if it is a finite number > 0 (>= 0 with ``allow_zero``)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name} must be a number, got {type(value).__name__}")
    value = float(value)
    ok = value >= 0 if allow_zero else value > 0
    if not (ok and value < float("inf")):
        bound = ">= 0" if allow_zero else "> 0"
        raise ValueError(f"{name} must be a finite number {bound}, got {value}")
    return value
