"""``cifar10-features``: real CIFAR-10 seen through a frozen ImageNet backbone, shipped inside the package.

This is the book's live data (DESIGN.md §6) and the default of ``vgteach study``. Frozen ImageNet
EfficientNet-Lite0 features (1280-d, :mod:`vgteach.efficientnet_lite0`) of a class-balanced subset of the
real CIFAR-10 images, compressed by PCA to :data:`DIM` dimensions and stored as float16 — a few MB, no
download, no torchvision, loaded like any dataset::

    X, y = vgteach.inputs.load_inputs("cifar10-features", "train")      # [N, 128] float32, [N] long

It is the paper's protocol in miniature (frozen backbone, cached features, a head trained on top): the
untrained head retrieves far worse than a trained one, so a chapter's live training has something to show,
and one loss trains in seconds on a laptop CPU. What it is not: the paper's ViT-B/32 features, or all
50,000 training images (the reference results in :mod:`vgteach.results` use all of them).

The file (:data:`PATH`, an ``.npz`` read with ``allow_pickle=False``) holds

``x_train``, ``y_train``, ``x_test``, ``y_test``
    the projected features (float16) and labels (int64) of the subset;
``index_train``, ``index_test``
    the rows' positions in the full split (``ImageFolder`` order of ``train/<class>/*.jpg``);
``pca_mean`` [1280], ``pca_components`` [DIM, 1280]
    the stored projection ``x = (f − mean) @ componentsᵀ`` (fit on all 50,000 training features), so a
    reader can project new EfficientNet-Lite0 features the same way (:func:`project`);
``meta``
    a JSON string: how it was made (command, versions, subset sizes, kNN figures).

``scripts/make_cifar10_features.py`` regenerates it from ``../shared/data/cifar10`` (the JPEGs); a test
recomputes a sample of rows from the images and compares.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

import numpy as np

from .base import VectorDataset, validate_split
from .cifar10 import CLASSES, SUPERCLASSES  # noqa: F401 - the same classes as CIFAR-10's

PATH = Path(__file__).with_name("cifar10_features.npz")
DIM = 128


@lru_cache(maxsize=1)
def _arrays() -> dict:
    if not PATH.is_file():
        raise FileNotFoundError(
            f"the shipped CIFAR-10 features are missing from the package ({PATH}); "
            "regenerate them with scripts/make_cifar10_features.py"
        )
    with np.load(PATH, allow_pickle=False) as archive:
        return {name: archive[name] for name in archive.files}


def metadata() -> dict:
    """How the shipped file was made (command, versions, subset sizes, retrieval figures)."""
    return json.loads(str(_arrays()["meta"]))


def project(features) -> np.ndarray:
    """Project 1280-d EfficientNet-Lite0 features with the shipped PCA: ``(f − mean) @ componentsᵀ``."""
    arrays = _arrays()
    features = np.asarray(features, dtype=np.float32)
    if features.ndim != 2 or features.shape[1] != arrays["pca_mean"].shape[0]:
        raise ValueError(f"features must be [N, {arrays['pca_mean'].shape[0]}], got {list(features.shape)}")
    return (features - arrays["pca_mean"]) @ arrays["pca_components"].T.astype(np.float32)


def cifar10_features(split: str, root=None, download: bool = False, transform=None) -> VectorDataset:
    """The shipped CIFAR-10 EfficientNet-Lite0 features of ``split`` as float32 vectors.

    ``root`` and ``download`` are accepted for a uniform signature and ignored: the data ship with vgteach.
    """
    validate_split(split)
    arrays = _arrays()
    return VectorDataset(
        arrays[f"x_{split}"].astype(np.float32),
        arrays[f"y_{split}"].tolist(),
        classes=list(CLASSES),
        transform=transform,
    )
