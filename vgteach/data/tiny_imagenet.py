"""Tiny ImageNet 200 (Le & Yang, 2015): 64x64 colour images of 200 ImageNet classes.

Layout read: ``<root>/tiny-imagenet-200/`` with ``wnids.txt`` (the 200 WordNet ids),
``train/<wnid>/images/*.JPEG`` (500 per class) and ``val/images/*.JPEG`` + ``val/val_annotations.txt``
(``file<TAB>wnid<TAB>box...``, 50 per class). The official test folder has no labels, so vgteach's
``"test"`` split is the labelled ``val`` folder (the usual practice). Labels: position of the wnid in the
sorted ``wnids.txt``. ``download=True`` fetches and unpacks the official zip (about 240 MB).
"""

from __future__ import annotations

from .base import ImageListDataset, default_root, missing, validate_split

URL = "http://cs231n.stanford.edu/tiny-imagenet-200.zip"
FOLDER = "tiny-imagenet-200"


def _read_wnids(base):
    wnids = sorted(line.strip() for line in (base / "wnids.txt").read_text().splitlines() if line.strip())
    if not wnids:
        raise ValueError(f"{base / 'wnids.txt'} lists no classes")
    return wnids


def _train_items(base, wnids):
    paths, labels = [], []
    for label, wnid in enumerate(wnids):
        folder = base / "train" / wnid / "images"
        if not folder.is_dir():
            raise missing(
                "tiny-imagenet", [folder], f"The train folder of class {wnid} (listed in wnids.txt) is missing."
            )
        files = sorted(p for p in folder.iterdir() if p.suffix.lower() in (".jpeg", ".jpg", ".png"))
        paths += files
        labels += [label] * len(files)
    return paths, labels


def _val_items(base, wnids):
    annotations = base / "val" / "val_annotations.txt"
    if not annotations.is_file():
        raise missing("tiny-imagenet", [annotations], "The val split needs val/val_annotations.txt and val/images/.")
    label_of = {wnid: label for label, wnid in enumerate(wnids)}
    paths, labels = [], []
    for number, line in enumerate(annotations.read_text().splitlines(), start=1):
        if not line.strip():
            continue
        fields = line.split("\t")
        if len(fields) < 2 or fields[1] not in label_of:
            raise ValueError(
                f"{annotations}, line {number}: expected 'file<TAB>wnid...' with a wnid of wnids.txt, got {line!r}"
            )
        paths.append(base / "val" / "images" / fields[0])
        labels.append(label_of[fields[1]])
    return paths, labels


def tiny_imagenet(split: str, root=None, download: bool = False, transform=None):
    """Return Tiny ImageNet's ``train`` split or its labelled ``val`` folder as ``"test"``; PIL RGB images."""
    validate_split(split)
    root = default_root(root)
    base = root / FOLDER
    if not (base / "wnids.txt").is_file() and download:
        from torchvision.datasets.utils import download_and_extract_archive

        download_and_extract_archive(URL, download_root=str(root))
    if not (base / "wnids.txt").is_file():
        raise missing(
            "tiny-imagenet",
            [base / "wnids.txt"],
            f"Unzip tiny-imagenet-200.zip ({URL}) into {root}, or pass download=True (--download).",
        )
    wnids = _read_wnids(base)
    paths, labels = _train_items(base, wnids) if split == "train" else _val_items(base, wnids)
    dataset = ImageListDataset(paths, labels, wnids, transform=transform)
    dataset.source = "tiny-imagenet-200"
    return dataset
