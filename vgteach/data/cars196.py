"""Stanford Cars 196 (Krause et al., 2013): 16,185 photos of 196 car models.

Two common layouts under ``root`` are read, in this order:

1. ``<root>/stanford_cars/`` -- torchvision's ``StanfordCars`` layout: ``devkit/cars_meta.mat``,
   ``devkit/cars_train_annos.mat``, ``cars_train/*.jpg``, ``cars_test/*.jpg`` and
   ``cars_test_annos_withlabels.mat`` (in ``stanford_cars/`` or in ``devkit/``).
2. ``<root>/cars196/`` -- the all-in-one release used by most metric-learning code: ``cars_annos.mat``
   (fields ``relative_im_path``, ``class``, ...; ``class_names``) and ``car_ims/*.jpg``.

Split: the zero-shot protocol of deep metric learning (Oh Song et al., CVPR 2016) over all 16,185
images -- classes 1-98 (8,054 images) train, classes 99-196 (8,131 images) test; labels remapped to
``0..97``. The original download URL is gone (torchvision cannot fetch it either), so ``download=True``
is refused with a message.
"""

from __future__ import annotations

import numpy as np

from .base import ImageListDataset, default_root, missing, remap_labels, validate_split

NUM_TRAIN_CLASSES = 98


def _loadmat(path):
    from scipy.io import loadmat

    return loadmat(str(path), squeeze_me=True)


def _records(path):
    """The ``annotations`` struct array of a .mat file as a 1-D array of records."""
    return np.atleast_1d(_loadmat(path)["annotations"])


def _class_names(path):
    return [str(name) for name in np.atleast_1d(_loadmat(path)["class_names"])]


def _devkit_layout(base):
    devkit = base / "devkit"
    test_annos = next(
        (
            p
            for p in (base / "cars_test_annos_withlabels.mat", devkit / "cars_test_annos_withlabels.mat")
            if p.is_file()
        ),
        None,
    )
    if test_annos is None:
        raise missing(
            "cars196",
            [base / "cars_test_annos_withlabels.mat"],
            "The test labels file of the devkit layout is missing.",
        )
    items = []
    for annos, images in ((devkit / "cars_train_annos.mat", base / "cars_train"), (test_annos, base / "cars_test")):
        items += [(images / str(record["fname"]), int(record["class"])) for record in _records(annos)]
    return items, _class_names(devkit / "cars_meta.mat"), "cars196/stanford_cars-devkit"


def _annos_layout(base):
    mat = _loadmat(base / "cars_annos.mat")
    items = [
        (base / str(record["relative_im_path"]), int(record["class"])) for record in np.atleast_1d(mat["annotations"])
    ]
    return items, [str(name) for name in np.atleast_1d(mat["class_names"])], "cars196/cars_annos"


def cars196(split: str, root=None, download: bool = False, transform=None):
    """Return the zero-shot ``split`` of Cars196 (train: classes 1-98, test: 99-196); PIL RGB images."""
    validate_split(split)
    root = default_root(root)
    devkit, annos = root / "stanford_cars", root / "cars196"
    if (devkit / "devkit" / "cars_train_annos.mat").is_file():
        items, names, source = _devkit_layout(devkit)
    elif (annos / "cars_annos.mat").is_file():
        items, names, source = _annos_layout(annos)
    else:
        hint = (
            "Put either torchvision's StanfordCars layout (devkit/cars_meta.mat, devkit/cars_train_annos.mat, "
            "cars_train/, cars_test/, cars_test_annos_withlabels.mat) in the first folder, or cars_annos.mat "
            "and car_ims/ in the second."
        )
        if download:
            hint += " Automatic download is not possible: the original Stanford URL no longer exists."
        raise missing("cars196", [devkit / "devkit" / "cars_train_annos.mat", annos / "cars_annos.mat"], hint)
    chosen = [(path, c) for path, c in items if (c <= NUM_TRAIN_CLASSES) == (split == "train")]
    labels, original = remap_labels([c for _, c in chosen])
    classes = [names[c - 1] if 0 < c <= len(names) else str(c) for c in original]
    dataset = ImageListDataset([path for path, _ in chosen], labels, classes, transform=transform)
    dataset.source = source
    return dataset
