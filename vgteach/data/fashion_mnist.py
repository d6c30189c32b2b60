"""Fashion-MNIST (Xiao et al., 2017): 70,000 28x28 greyscale images of 10 clothing classes, 60k/10k.

Layout read (torchvision's): ``<root>/FashionMNIST/raw/{train,t10k}-{images-idx3,labels-idx1}-ubyte``,
each file either uncompressed or as the ``.gz`` that Zalando distributes (read directly, never unpacked
into the user's folder). ``download=True`` fetches them with ``torchvision.datasets.FashionMNIST``.
"""

from __future__ import annotations

import gzip

import numpy as np

from .base import ArrayImageDataset, default_root, missing, validate_split

CLASSES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot")
PREFIX = {"train": "train", "test": "t10k"}


def _find(raw, stem):
    """The idx file ``stem`` in ``raw``, uncompressed or gzipped, else ``None``."""
    for candidate in (raw / stem, raw / f"{stem}.gz"):
        if candidate.is_file():
            return candidate
    return None


def read_idx(path) -> np.ndarray:
    """Read an idx file of unsigned bytes (LeCun's MNIST format), plain or gzipped.

    Header: two zero bytes, type code ``0x08`` (uint8), number of dimensions ``n``, then ``n`` big-endian
    int32 sizes; the data follow in C order.
    """
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "rb") as handle:
        data = handle.read()
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] != 0x08:
        raise ValueError(f"{path} is not an idx file of unsigned bytes (bad magic number {data[:4].hex()})")
    ndim = data[3]
    shape = tuple(int(size) for size in np.frombuffer(data, dtype=">i4", count=ndim, offset=4))
    array = np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim)
    if array.size != int(np.prod(shape)):
        raise ValueError(f"{path} is truncated: header says {shape}, found {array.size} values")
    return array.reshape(shape)


def fashion_mnist(split: str, root=None, download: bool = False, transform=None):
    """Return the Fashion-MNIST ``split`` from ``root``; items are greyscale (mode ``"L"``) PIL images."""
    validate_split(split)
    root = default_root(root)
    raw = root / "FashionMNIST" / "raw"
    stems = [f"{PREFIX[split]}-images-idx3-ubyte", f"{PREFIX[split]}-labels-idx1-ubyte"]
    files = [_find(raw, stem) for stem in stems]
    if None in files and download:
        from torchvision.datasets import FashionMNIST

        FashionMNIST(str(root), train=split == "train", download=True)
        files = [_find(raw, stem) for stem in stems]
    if None in files:
        raise missing(
            "fashion-mnist",
            [raw / f"{stem}[.gz]" for stem in stems],
            "Put the four idx-ubyte(.gz) files of Fashion-MNIST in that folder, or pass download=True "
            "(--download) to fetch them.",
        )
    images, labels = read_idx(files[0]), read_idx(files[1])
    if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
        raise ValueError(
            f"{files[0]} / {files[1]}: expected images [N, 28, 28] and labels [N], "
            f"got {images.shape} and {labels.shape}"
        )
    dataset = ArrayImageDataset(images, labels.tolist(), CLASSES, transform=transform)
    dataset.source = "fashion-mnist/idx"
    return dataset
