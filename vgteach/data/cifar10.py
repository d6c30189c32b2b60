"""CIFAR-10 (Krizhevsky, 2009): 60,000 32x32 colour images of 10 classes, 50,000 train / 10,000 test.

Two on-disk layouts under ``root`` are read, in this order:

1. ``<root>/cifar-10-batches-py/`` -- the official python batches (what ``torchvision.datasets.CIFAR10``
   downloads and reads; its md5 checks apply).
2. ``<root>/cifar10/{train,test}/<class>/*.jpg`` -- one JPEG per image in ImageFolder layout (e.g. the
   developers' copy in ``shared/data/cifar10``). JPEG re-encoding is lossy, so pixels differ slightly from
   the python batches; the feature cache keys the two layouts apart.

``download=True`` fetches layout 1 with torchvision when neither is present.
"""

from __future__ import annotations

from .base import ImageListDataset, default_root, missing, validate_split

CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")
#: the coarse-to-fine protocol's superclasses (DESIGN.md §4), in the order of their training labels: every
#: class of :data:`CLASSES` in exactly one
SUPERCLASSES = {
    "vehicles": ("airplane", "automobile", "ship", "truck"),
    "animals": ("bird", "cat", "deer", "dog", "frog", "horse"),
}
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png")


def _python_batches(root, split, transform):
    from torchvision.datasets import CIFAR10

    try:
        dataset = CIFAR10(str(root), train=split == "train", transform=transform, download=False)
    except RuntimeError as error:  # torchvision's md5 check of the batches failed
        raise missing(
            "cifar10",
            [root / "cifar-10-batches-py"],
            f"The python batches there are incomplete or corrupted (md5 check failed: {error}). "
            "Replace them with the official files, or delete the folder and pass download=True.",
        ) from error
    dataset.source = "cifar10/python-batches"
    return dataset


def _image_folder(folder, transform):
    """Read ``folder/<class>/*`` with the CIFAR class order (alphabetical, as ImageFolder would)."""
    found = sorted(path.name for path in folder.iterdir() if path.is_dir())
    if tuple(found) != CLASSES:
        raise ValueError(f"{folder} must hold exactly the 10 CIFAR-10 class folders {CLASSES}, found {found}")
    paths, labels = [], []
    for label, name in enumerate(CLASSES):
        files = sorted(p for p in (folder / name).iterdir() if p.suffix.lower() in IMAGE_EXTENSIONS)
        paths += files
        labels += [label] * len(files)
    dataset = ImageListDataset(paths, labels, CLASSES, transform=transform)
    dataset.source = "cifar10/imagefolder"
    return dataset


def cifar10(split: str, root=None, download: bool = False, transform=None):
    """Return the CIFAR-10 ``split`` from ``root`` (python batches, else ImageFolder JPEGs); PIL RGB images."""
    validate_split(split)
    root = default_root(root)
    batches, folder = root / "cifar-10-batches-py", root / "cifar10" / split
    if batches.is_dir():
        return _python_batches(root, split, transform)
    if folder.is_dir():
        return _image_folder(folder, transform)
    if download:
        from torchvision.datasets import CIFAR10

        CIFAR10(str(root), train=split == "train", download=True)
        return _python_batches(root, split, transform)
    raise missing(
        "cifar10",
        [batches, folder],
        "Put the python batches (data_batch_1..5, test_batch, batches.meta) in the first folder, or "
        "JPEGs as <class>/*.jpg in the second; or pass download=True (--download) to fetch them.",
    )
