"""Input checks shared by every public function.

Bad input must fail early with a message that names the problem, instead of a NaN three calls later or a
deep traceback from inside ``torch``. Every loss, diagnostic and metric calls :func:`validate_batch` first.

Checks come in two kinds. *Structural* checks (type, dtype, shape) read only tensor metadata and are free.
*Value* checks (finite embeddings, labels within a proxy table) read tensor values: on a GPU each one is a
host synchronisation, which stalls the queue of kernels. A public call always runs both. A training loop
wraps its step in :func:`value_checks_once`: the value checks then run on the first batch of each shape and
are skipped afterwards (the trainer's data do not change between steps; a NaN from a diverging run shows up
in the logged loss). ``VGTEACH_DEBUG=1`` in the environment keeps every value check on, on every step.
"""

from __future__ import annotations

import contextlib
import contextvars
import numbers
import os
import weakref

import torch
from torch import Tensor

#: ``VGTEACH_DEBUG=1``: value checks on every call, also inside :func:`skip_value_checks`
DEBUG = os.environ.get("VGTEACH_DEBUG", "0") not in ("", "0")
_SKIP_VALUE_CHECKS = contextvars.ContextVar("vgteach_skip_value_checks", default=False)
_CHECKED = weakref.WeakKeyDictionary()  # owner -> batch keys whose values were checked once


def checks_values() -> bool:
    """Whether the checks that read tensor values (and so synchronise with a GPU) should run now."""
    return not _SKIP_VALUE_CHECKS.get()


@contextlib.contextmanager
def skip_value_checks(skip: bool = True):
    """Within this context, :func:`checks_values` is False (unless ``VGTEACH_DEBUG=1``): only the
    structural checks run. For hot loops over data that were already checked; never for user input."""
    token = _SKIP_VALUE_CHECKS.set(skip and not DEBUG)
    try:
        yield
    finally:
        _SKIP_VALUE_CHECKS.reset(token)


@contextlib.contextmanager
def value_checks_once(owner, key):
    """Value checks on ``owner``'s first call for ``key`` (e.g. a batch shape), skipped on later calls.

    ``owner`` (e.g. the loss module) is held weakly. A key counts as checked only when its first call
    succeeded, so a batch that failed is checked again.
    """
    seen = _CHECKED.setdefault(owner, set())
    with skip_value_checks(key in seen):
        yield
    seen.add(key)


def validate_embeddings(embeddings, name: str = "embeddings") -> Tensor:
    """Return ``embeddings`` if it is a finite, floating-point ``[B, D]`` tensor with ``B, D >= 1``
    (finiteness is a value check: skipped inside :func:`skip_value_checks`)."""
    if not isinstance(embeddings, Tensor):
        raise TypeError(f"{name} must be a torch.Tensor of shape [B, D], got {type(embeddings).__name__}")
    if not embeddings.is_floating_point():
        raise TypeError(f"{name} must have a floating dtype (float32/float64/bfloat16), got {embeddings.dtype}")
    if embeddings.dim() != 2:
        raise ValueError(f"{name} must be 2-D [B, D], got shape {tuple(embeddings.shape)}")
    if embeddings.shape[0] < 1 or embeddings.shape[1] < 1:
        raise ValueError(f"{name} must hold at least one sample and one dimension, got shape {tuple(embeddings.shape)}")
    # one pass, no [B, D] temporaries: NaN propagates through min/max and ±Inf shows up as an extreme
    if checks_values() and not all(torch.isfinite(v) for v in torch.aminmax(embeddings.detach())):
        raise ValueError(f"{name} contains NaN or Inf values")
    return embeddings


def validate_labels(labels, batch_size: int, name: str = "labels") -> Tensor:
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


def validate_batch(embeddings, labels) -> tuple[Tensor, Tensor]:
    """Validate an ``(embeddings [B, D], labels [B])`` pair and move labels to the embeddings' device."""
    embeddings = validate_embeddings(embeddings)
    labels = validate_labels(labels, embeddings.shape[0])
    return embeddings, labels.to(embeddings.device)


def validate_positive(value: float, name: str, allow_zero: bool = False) -> float:
    """Return ``float(value)`` if it is a finite number > 0 (>= 0 with ``allow_zero``)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name} must be a number, got {type(value).__name__}")
    value = float(value)
    ok = value >= 0 if allow_zero else value > 0
    if not (ok and value < float("inf")):
        bound = ">= 0" if allow_zero else "> 0"
        raise ValueError(f"{name} must be a finite number {bound}, got {value}")
    return value


def validate_positive_int(value, name: str, allow_none: bool = False):
    """Return ``int(value)`` if it is an integer >= 1 (Python or NumPy; ``bool`` is not a count), or
    ``None`` when ``allow_none`` and ``value is None``; else ``ValueError`` naming ``name``."""
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        expected = "a positive integer or None" if allow_none else "a positive integer"
        raise ValueError(f"{name} must be {expected}, got {value!r}")
    return int(value)


def validate_proxy_inputs(embeddings: Tensor, labels: Tensor, num_classes: int, embedding_dim: int, owner: str) -> None:
    """Proxy losses (ArcFace, CCL) own a [K, D] table: ``embeddings`` must have D = ``embedding_dim``
    columns and every label must lie in [0, K = ``num_classes``) (the label range is a value check)."""
    if embeddings.shape[1] != embedding_dim:
        raise ValueError(
            f"{owner} was built with embedding_dim={embedding_dim} but embeddings have {embeddings.shape[1]} columns"
        )
    if not checks_values() or not len(labels):
        return
    low, high = (int(v) for v in torch.aminmax(labels))
    if low < 0 or high >= num_classes:
        raise ValueError(
            f"{owner} was built with num_classes={num_classes} but labels span "
            f"[{low}, {high}]; labels must be in [0, num_classes)"
        )
