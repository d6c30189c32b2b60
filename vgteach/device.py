"""Where tensors live: one rule for every ``device=`` argument of the package."""

from __future__ import annotations

import torch


def resolve_device(device="auto") -> torch.device:
    """``"auto"`` (or ``None``) -> CUDA when available, else CPU; anything else goes through ``torch.device``
    (``ValueError`` when it names no device)."""
    if device is None or device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        return torch.device(device)
    except (RuntimeError, TypeError) as error:
        raise ValueError(f"device must be 'auto', 'cpu', 'cuda' or 'cuda:N', got {device!r}") from error
