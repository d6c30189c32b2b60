"""The two datasets that need no download: scikit-learn's bundled ``digits`` and synthetic ``blobs``.

Both are small enough to train all seven losses in seconds on a laptop CPU, which is why ``digits`` is
the default of ``vgteach study``. Their train/test split is fixed: stratified, 70 % / 30 %, seed
:data:`SPLIT_SEED`, so every run, notebook and test sees the same samples.
"""

from __future__ import annotations

import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

from .._validation import validate_positive_int
from .base import VectorDataset, validate_split

SPLIT_SEED = 0
TEST_FRACTION = 0.3

# ``blobs`` defaults: 10 classes x 100 points in R^32, on the unit sphere S^31.
BLOBS_NUM_CLASSES = 10
BLOBS_DIM = 32
BLOBS_PER_CLASS = 100
BLOBS_NOISE = 0.25
BLOBS_SEED = 0


def _split(features: np.ndarray, labels: np.ndarray, split: str):
    """Stratified 70/30 split with the fixed seed; return the rows of ``split``."""
    x_train, x_test, y_train, y_test = train_test_split(
        features, labels, test_size=TEST_FRACTION, stratify=labels, random_state=SPLIT_SEED
    )
    return (x_train, y_train) if split == "train" else (x_test, y_test)


def digits(split: str, root=None, download: bool = False, transform=None) -> VectorDataset:
    """scikit-learn's 8x8 handwritten digits (1,797 images, 10 classes) as 64-d vectors in ``[0, 1]``.

    The raw pixels are counts ``0..16`` (4x4 blocks of a 32x32 bitmap); dividing by 16 puts them in
    ``[0, 1]``. ``root`` and ``download`` are accepted for a uniform signature and ignored: the data ship
    with scikit-learn. Split: stratified 70 % train (1,257) / 30 % test (540), seed 0.
    """
    validate_split(split)
    bunch = load_digits()
    features = bunch.data.astype(np.float32) / 16.0
    x, y = _split(features, bunch.target, split)
    return VectorDataset(x, y, classes=[str(digit) for digit in range(10)], transform=transform)


def make_sphere_blobs(
    num_classes: int = BLOBS_NUM_CLASSES,
    dim: int = BLOBS_DIM,
    per_class: int = BLOBS_PER_CLASS,
    noise: float = BLOBS_NOISE,
    seed: int = BLOBS_SEED,
) -> tuple[np.ndarray, np.ndarray]:
    r"""Gaussian clusters projected onto the unit sphere :math:`S^{d-1}`.

    Class centres :math:`\mu_c = g_c / \lVert g_c \rVert` with :math:`g_c \sim \mathcal N(0, I_d)`, and
    samples :math:`x = (\mu_c + \sigma \epsilon) / \lVert \mu_c + \sigma \epsilon \rVert`,
    :math:`\epsilon \sim \mathcal N(0, I_d)`. With the defaults (:math:`d = 32`, :math:`\sigma = 0.25`) the
    noise has norm about :math:`\sigma\sqrt d \approx 1.4`, larger than the centres' unit norm: the classes
    overlap enough that a metric-learning head has something to do (1-NN test accuracy of the raw points
    is about 0.93).

    Returns ``(X [num_classes * per_class, dim] float32, y [N] int64)``, class-major order.
    """
    for value, name in ((num_classes, "num_classes"), (dim, "dim"), (per_class, "per_class")):
        validate_positive_int(value, name)
    if not np.isfinite(noise) or noise < 0:
        raise ValueError(f"noise must be a finite number >= 0, got {noise!r}")
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((num_classes, dim))
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    labels = np.repeat(np.arange(num_classes), per_class)
    points = centres[labels] + noise * rng.standard_normal((len(labels), dim))
    points /= np.linalg.norm(points, axis=1, keepdims=True)
    return points.astype(np.float32), labels.astype(np.int64)


def blobs(split: str, root=None, download: bool = False, transform=None) -> VectorDataset:
    """Synthetic clusters on the unit sphere (:func:`make_sphere_blobs` with its defaults).

    10 classes x 100 points in :math:`\\mathbb R^{32}`, seed 0; stratified 70/30 split, seed 0.
    ``root`` and ``download`` are ignored (nothing to read or fetch).
    """
    validate_split(split)
    features, labels = make_sphere_blobs()
    x, y = _split(features, labels, split)
    return VectorDataset(x, y, classes=[f"blob{c}" for c in range(BLOBS_NUM_CLASSES)], transform=transform)
