"""CUB-200-2011 (Wah et al., 2011): 11,788 photos of 200 bird species.

Layout read: ``<root>/CUB_200_2011/`` with ``images.txt`` (``<id> <relative path>``),
``image_class_labels.txt`` (``<id> <class 1..200>``), ``classes.txt`` (``<class> <name>``) and
``images/<path>``. Split: the standard zero-shot protocol of deep metric learning (Oh Song et al., CVPR
2016) -- classes 1-100 (5,864 images) train, classes 101-200 (5,924 images) test; the official
train/test file list is not used. Labels are remapped to ``0..99`` within each split.
``download=True`` fetches the official archive from Caltech's data repository (about 1.1 GB).
"""

from __future__ import annotations

from .base import ImageListDataset, default_root, missing, remap_labels, validate_split

URL = "https://data.caltech.edu/records/65de6-vp158/files/CUB_200_2011.tgz"
FOLDER = "CUB_200_2011"
TRAIN_CLASSES = range(1, 101)  # 1-based, inclusive of 1..100


def _read_pairs(path):
    """``<id> <value>`` lines -> dict (values may contain no spaces in CUB's files)."""
    pairs = {}
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        if not line.strip():
            continue
        fields = line.split()
        if len(fields) != 2:
            raise ValueError(f"{path}, line {number}: expected '<id> <value>', got {line!r}")
        pairs[fields[0]] = fields[1]
    return pairs


def cub200(split: str, root=None, download: bool = False, transform=None):
    """Return the zero-shot ``split`` of CUB-200-2011 (train: classes 1-100, test: 101-200); PIL RGB."""
    validate_split(split)
    root = default_root(root)
    base = root / FOLDER
    needed = [base / "images.txt", base / "image_class_labels.txt", base / "images"]
    if not all(path.exists() for path in needed) and download:
        from torchvision.datasets.utils import download_and_extract_archive

        download_and_extract_archive(URL, download_root=str(root))
    if not all(path.exists() for path in needed):
        raise missing(
            "cub200", needed, f"Unpack CUB_200_2011.tgz ({URL}) into {root}, or pass download=True (--download)."
        )
    images, classes = _read_pairs(base / "images.txt"), _read_pairs(base / "image_class_labels.txt")
    if set(images) != set(classes):
        raise ValueError(f"{base}: images.txt and image_class_labels.txt list different image ids")
    names = {}
    if (base / "classes.txt").is_file():
        names = _read_pairs(base / "classes.txt")
    in_train = lambda c: int(c) in TRAIN_CLASSES  # noqa: E731
    ids = sorted((image_id for image_id in images if in_train(classes[image_id]) == (split == "train")), key=int)
    labels, original = remap_labels([int(classes[image_id]) for image_id in ids])
    paths = [base / "images" / images[image_id] for image_id in ids]
    dataset = ImageListDataset(paths, labels, [names.get(str(c), str(c)) for c in original], transform=transform)
    dataset.source = "cub200/CUB_200_2011"
    return dataset
