"""Frozen-backbone features: extracted once, cached on disk, checked on every load.

The paper's protocol (Zeng et al., ICASSP 2026; DESIGN.md §4) freezes the backbone and trains only the
128-d head, so the expensive forward pass through e.g. ViT-B/32 is needed once per (dataset, split,
backbone, transform). :func:`extract_features` runs it (batched, ``no_grad``, CUDA when present, tqdm);
:class:`FeatureCache` stores the result.

Cache file format — one ``torch.save`` file per entry holding only tensors, strings and numbers::

    {"features": float32 [N, F], "labels": int64 [N], "meta": {description..., "sha256": hex, ...}}

loaded with ``torch.load(..., weights_only=True)``, which refuses arbitrary pickled objects. The file name
carries a hash of the canonical (sorted-key JSON) description; ``meta`` repeats the description, so a
file whose metadata disagrees with the request, whose checksum (sha256 of the feature and label bytes)
fails, or that does not load at all is reported with a warning and rebuilt. Writes are atomic
(:func:`vgteach.io.atomic_torch_save`: a reader sees the old file or the new one, never half of one).
"""

from __future__ import annotations

import hashlib
import json
import os
import warnings
from pathlib import Path
from typing import Callable, Optional

import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset

from ._validation import validate_positive_int
from .device import resolve_device
from .io import atomic_torch_save

CACHE_FORMAT_VERSION = 1
CACHE_DIR_ENV = "VGTEACH_CACHE_DIR"
#: default extraction batch on a CPU and on a GPU (see :func:`extract_features`)
CPU_BATCH_SIZE, GPU_BATCH_SIZE = 32, 256


def default_cache_dir(cache_dir=None) -> Path:
    """``cache_dir``, else ``$VGTEACH_CACHE_DIR``, else ``~/.cache/vgteach/features``."""
    if cache_dir is None:
        cache_dir = os.environ.get(CACHE_DIR_ENV, Path.home() / ".cache" / "vgteach" / "features")
    if not isinstance(cache_dir, (str, os.PathLike)):
        raise TypeError(f"cache_dir must be a path, got {type(cache_dir).__name__}")
    return Path(cache_dir).expanduser()


@torch.no_grad()
def extract_features(
    module: Optional[nn.Module],
    dataset: Dataset,
    batch_size: Optional[int] = None,
    device="auto",
    progress: bool = True,
    num_workers: Optional[int] = None,
    desc: str = "features",
) -> tuple[torch.Tensor, torch.Tensor]:
    """Run ``module`` over every item of ``dataset`` and return ``(features [N, F] float32, labels [N] long)``.

    ``dataset`` yields ``(tensor, label)`` (its transform already makes the tensor the module expects).
    ``module=None`` stacks the input tensors unchanged (used for the pixel cache). The module runs in eval
    mode without gradients on ``device`` (``"auto"``: CUDA if present), in channels-last memory format
    for convolutions; the result is returned on the CPU in dataset order.

    ``batch_size=None`` picks :data:`CPU_BATCH_SIZE` on a CPU and :data:`GPU_BATCH_SIZE` on a GPU. On a CPU
    small batches are faster: a 224-px batch of 256 holds ~1.2 GB per expanded activation, and every such
    buffer is a fresh ``mmap`` that the kernel must zero (system time rivalled user time); at 32 the
    working set stays small and the rate is the same or better (``bench/bench_features.py --batch-size``).
    """
    device = resolve_device(device)
    if batch_size is None:
        batch_size = GPU_BATCH_SIZE if device.type == "cuda" else CPU_BATCH_SIZE
    validate_positive_int(batch_size, "batch_size")
    if len(dataset) == 0:
        raise ValueError("dataset is empty: nothing to extract")
    if num_workers is None:
        # Decoding JPEGs in workers pays off when a GPU waits for them; on a shared CPU it only competes.
        num_workers = min(8, os.cpu_count() or 1) if device.type == "cuda" else 0
    loader = DataLoader(
        dataset, batch_size=batch_size, shuffle=False, num_workers=num_workers, pin_memory=device.type == "cuda"
    )
    if module is not None:
        was_training = module.training
        module.eval().to(device)
        module.to(memory_format=torch.channels_last)
    chunks, labels = [], []
    try:
        from tqdm.auto import tqdm

        for inputs, targets in tqdm(loader, desc=desc, disable=not progress, unit="batch"):
            if module is not None:
                inputs = inputs.to(device, non_blocking=True)
                if inputs.dim() == 4:
                    inputs = inputs.contiguous(memory_format=torch.channels_last)
                inputs = module(inputs).float().cpu()
            chunks.append(inputs)
            labels.append(torch.as_tensor(targets, dtype=torch.long))
    finally:
        if module is not None:
            module.train(was_training)
    return torch.cat(chunks), torch.cat(labels)


def _sha256(features: torch.Tensor, labels: torch.Tensor) -> str:
    digest = hashlib.sha256()
    for tensor in (features, labels):
        digest.update(tensor.contiguous().numpy().tobytes())
    return digest.hexdigest()


def _canonical(description: dict) -> dict:
    """Round-trip through JSON: keys sorted, tuples -> lists, so equal descriptions compare equal."""
    try:
        return json.loads(json.dumps(description, sort_keys=True))
    except TypeError as error:
        raise TypeError(f"cache description must be JSON-serialisable (str/int/float/list/dict): {error}") from error


class FeatureCache:
    """A folder of cached ``(features, labels)`` tensors keyed by a description dict.

    Parameters
    ----------
    cache_dir : str or Path
        Folder for the cache files (created when first written).

    The description is any JSON-serialisable dict; :func:`vgteach.inputs.load_inputs` uses
    ``{"dataset", "split", "backbone", "weights", "transform", "source", "num_samples"}``. Its sha256 is
    the key. ``dataset``, ``split`` and ``backbone`` also appear in the file name to make the folder
    readable.
    """

    def __init__(self, cache_dir):
        self.cache_dir = default_cache_dir(cache_dir)

    @staticmethod
    def key(description: dict) -> str:
        """sha256 hex digest of the canonical JSON of ``description``."""
        text = json.dumps(_canonical(description), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()

    def path(self, description: dict) -> Path:
        """File of ``description``: ``<dataset>_<split>_<backbone>_<key[:16]>.pt``."""
        parts = [str(description.get(field, "")) for field in ("dataset", "split", "backbone")]
        stem = "_".join(part.replace(os.sep, "-") for part in parts if part)
        return self.cache_dir / f"{stem or 'entry'}_{self.key(description)[:16]}.pt"

    def load(self, description: dict, expected_labels: Optional[torch.Tensor] = None):
        """Return ``(features, labels)`` if a valid entry exists, else ``None`` (with a warning if invalid).

        Invalid means: not loadable with ``weights_only=True``, wrong structure, metadata that differs
        from ``description``, checksum mismatch, or labels that differ from ``expected_labels``.
        """
        path = self.path(description)
        if not path.is_file():
            return None
        try:
            entry = torch.load(path, map_location="cpu", weights_only=True)
            features, labels, meta = entry["features"], entry["labels"], entry["meta"]
            if not (isinstance(features, torch.Tensor) and isinstance(labels, torch.Tensor) and isinstance(meta, dict)):
                raise TypeError("entry must hold tensors 'features', 'labels' and a dict 'meta'")
        except Exception as error:  # noqa: BLE001 - any unreadable file is a corrupt cache entry
            return self._invalid(path, f"cannot be read ({type(error).__name__}: {error})")
        if meta.get("description") != _canonical(description) or meta.get("format_version") != CACHE_FORMAT_VERSION:
            return self._invalid(path, "its metadata does not match the request")
        if features.shape[0] != labels.shape[0] or meta.get("sha256") != _sha256(features, labels):
            return self._invalid(path, "its checksum does not match its contents")
        if expected_labels is not None and not torch.equal(labels, expected_labels.to(labels.dtype)):
            return self._invalid(path, "its labels differ from the dataset's")
        return features, labels

    def save(self, description: dict, features: torch.Tensor, labels: torch.Tensor) -> Path:
        """Write an entry atomically (temporary file in the cache folder, then ``os.replace``)."""
        features, labels = features.detach().cpu().contiguous(), labels.detach().cpu().long().contiguous()
        if features.shape[0] != labels.shape[0]:
            raise ValueError(f"{features.shape[0]} feature rows but {labels.shape[0]} labels")
        path = self.path(description)
        path.parent.mkdir(parents=True, exist_ok=True)
        meta = {
            "description": _canonical(description),
            "format_version": CACHE_FORMAT_VERSION,
            "sha256": _sha256(features, labels),
            "shape": list(features.shape),
            "dtype": str(features.dtype),
        }
        return atomic_torch_save({"features": features, "labels": labels, "meta": meta}, path)

    def get_or_compute(self, description: dict, compute: Callable[[], tuple], expected_labels=None):
        """Return the cached ``(features, labels)`` or call ``compute()``, save its result and return it."""
        cached = self.load(description, expected_labels)
        if cached is not None:
            return cached
        features, labels = compute()
        self.save(description, features, labels)
        return features, labels

    @staticmethod
    def _invalid(path: Path, reason: str):
        warnings.warn(f"feature cache {path} is invalid: {reason}; rebuilding it", RuntimeWarning, stacklevel=3)
        return None
