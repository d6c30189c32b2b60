"""Building blocks shared by every dataset module: three small ``Dataset`` classes and the checks.

Every dataset that :func:`vgteach.data.get_dataset` returns yields ``(x, label)`` pairs and exposes
``targets`` (a list of ``int`` in ``0..K-1``) and ``classes`` (a list of ``K`` names), so that labels can
be read without decoding a single image (the feature cache relies on that).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable, Optional, Sequence

import numpy as np
import torch
from PIL import Image
from torch.utils.data import Dataset

SPLITS = ("train", "test")

# Where the real datasets live when the caller gives no ``root``.
DATA_ROOT_ENV = "VGTEACH_DATA_ROOT"


def default_root(root=None) -> Path:
    """Return ``root`` as a Path, else ``$VGTEACH_DATA_ROOT``, else ``./data``."""
    if root is None:
        root = os.environ.get(DATA_ROOT_ENV, "data")
    if not isinstance(root, (str, os.PathLike)):
        raise TypeError(f"root must be a path (str or os.PathLike), got {type(root).__name__}")
    return Path(root).expanduser()


def validate_split(split) -> str:
    """Return ``split`` if it is one of :data:`SPLITS`."""
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    return split


def remap_labels(labels: Sequence[int]) -> tuple[list[int], list[int]]:
    """Map arbitrary integer class ids to ``0..K-1`` in increasing order of the original id.

    Returns ``(new_labels, original_ids)`` with ``original_ids[new] == old``. Zero-shot splits (CUB, Cars)
    keep e.g. classes 101..200 for testing; the losses and metrics want ``0..K-1`` within the split.
    """
    original_ids = sorted(set(int(label) for label in labels))
    new_id = {old: new for new, old in enumerate(original_ids)}
    return [new_id[int(label)] for label in labels], original_ids


class MissingDataError(FileNotFoundError):
    """A dataset's files are not where the loader looked; the message says what to put where."""


def missing(name: str, looked_at: Sequence[Path], how_to_get: str) -> MissingDataError:
    """Build the error raised when none of ``looked_at`` holds the dataset ``name``."""
    places = "\n".join(f"  - {path}" for path in looked_at)
    return MissingDataError(f"dataset {name!r} not found. Looked for:\n{places}\n{how_to_get}")


def load_rgb(path) -> Image.Image:
    """Open an image file and return it as an RGB PIL image (CUB and Cars hold some greyscale JPEGs)."""
    with Image.open(path) as image:
        return image.convert("RGB")


class LabelledDataset(Dataset):
    """What every in-house dataset shares: ``targets``, ``classes``, an optional ``transform`` and
    ``__getitem__ -> (transform(item), label)``; subclasses only say how to load item ``index``."""

    def __init__(self, labels: Sequence[int], classes: Sequence[str], transform: Optional[Callable] = None):
        self.targets = [int(label) for label in labels]
        self.classes = list(classes)
        self.transform = transform

    def load(self, index: int):
        raise NotImplementedError

    def __len__(self) -> int:
        return len(self.targets)

    def __getitem__(self, index: int):
        item = self.load(index)
        if self.transform is not None:
            item = self.transform(item)
        return item, self.targets[index]


class VectorDataset(LabelledDataset):
    """In-memory float vectors ``X [N, F]`` with integer labels (digits, blobs)."""

    def __init__(
        self, features: np.ndarray, labels: Sequence[int], classes: Sequence[str], transform: Optional[Callable] = None
    ):
        super().__init__(labels, classes, transform)
        self.data = torch.as_tensor(np.asarray(features, dtype=np.float32))

    def load(self, index: int):
        return self.data[index]


class ArrayImageDataset(LabelledDataset):
    """In-memory ``uint8`` images ``[N, H, W]`` (greyscale) or ``[N, H, W, 3]`` (RGB) served as PIL."""

    def __init__(
        self, images: np.ndarray, labels: Sequence[int], classes: Sequence[str], transform: Optional[Callable] = None
    ):
        images = np.asarray(images)
        if images.dtype != np.uint8 or images.ndim not in (3, 4):
            raise ValueError(f"images must be uint8 [N, H, W] or [N, H, W, 3], got {images.dtype} {images.shape}")
        if len(images) != len(labels):
            raise ValueError(f"{len(images)} images but {len(labels)} labels")
        super().__init__(labels, classes, transform)
        self.images = images

    def load(self, index: int):
        return Image.fromarray(self.images[index])


class ImageListDataset(LabelledDataset):
    """Images read lazily from a list of files (ImageFolder CIFAR, Tiny ImageNet, CUB, Cars)."""

    def __init__(
        self, paths: Sequence[Path], labels: Sequence[int], classes: Sequence[str], transform: Optional[Callable] = None
    ):
        if len(paths) != len(labels):
            raise ValueError(f"{len(paths)} image paths but {len(labels)} labels")
        super().__init__(labels, classes, transform)
        self.paths = [Path(path) for path in paths]

    def load(self, index: int):
        return load_rgb(self.paths[index])
