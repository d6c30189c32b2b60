"""The dataset registry: one :class:`DatasetSpec` per name, and :func:`get_dataset` / :func:`dataset_info`.

Splits follow DESIGN.md §4. Closed-set datasets (``digits``, ``blobs``, ``cifar10``, ``fashion-mnist``,
``tiny-imagenet``) train on their train split and evaluate on their test split (Tiny ImageNet: its
labelled ``val`` folder). The fine-grained ones (``cub200``, ``cars196``) use the standard zero-shot
split of deep metric learning (Oh Song et al., CVPR 2016): the first half of the classes trains, the
second half, never seen in training, is the test split. Labels are remapped to ``0..K-1`` within a split.
The protocols that select and relabel classes on top of these splits (zero-shot on a closed-set dataset,
coarse-to-fine) are :mod:`vgteach.protocols`; they read the class names and superclass maps kept here.
"""

from __future__ import annotations

import importlib
from dataclasses import asdict, dataclass, field
from typing import Optional

from .base import validate_split
from .cifar10 import CLASSES as CIFAR10_CLASSES
from .cifar10 import SUPERCLASSES as CIFAR10_SUPERCLASSES
from .fashion_mnist import CLASSES as FASHION_MNIST_CLASSES


@dataclass(frozen=True)
class DatasetSpec:
    """What the rest of vgteach needs to know about a dataset without loading it.

    ``builder`` is ``"module:function"`` inside :mod:`vgteach.data`, imported on first use so that
    ``import vgteach.data`` stays light. ``kind`` is ``"vector"`` (rows of floats) or ``"image"`` (PIL).
    ``image_shape`` is ``(C, H, W)`` of the pixel tensors that the ``identity`` and ``cnn`` backbones see
    (``None``: no image structure). ``num_classes`` maps split to ``K``. ``protocol`` is the split the
    loaders give: ``"closed-set"`` (the same classes in both splits) or ``"zero-shot"`` (CUB, Cars:
    class-disjoint already). ``classes`` names the label ids where they are known without reading the
    data (``None``: read from the files, e.g. Tiny ImageNet's wnids); ``superclasses`` maps each superclass
    of the coarse-to-fine protocol to its classes, in the order of the superclass labels (``None``: the
    dataset has none).
    """

    name: str
    builder: str
    kind: str
    num_classes: dict
    protocol: str
    image_shape: Optional[tuple] = None
    description: str = ""
    extra: dict = field(default_factory=dict)
    classes: Optional[tuple] = None
    superclasses: Optional[dict] = None

    def build(self):
        module_name, function_name = self.builder.split(":")
        module = importlib.import_module(f"vgteach.data.{module_name}")
        return getattr(module, function_name)

    def get_dataset(self, split, root=None, download=False, transform=None):
        """This dataset's ``split`` as a ``torch`` Dataset: :func:`get_dataset` for a spec already in hand
        (e.g. :class:`vgteach.inputs.InputSpec`'s, which looked it up once)."""
        validate_split(split)
        if not isinstance(download, bool):
            raise TypeError(f"download must be True or False, got {download!r}")
        if transform is not None and not callable(transform):
            raise TypeError(f"transform must be callable or None, got {type(transform).__name__}")
        return self.build()(split, root=root, download=download, transform=transform)


REGISTRY: dict[str, DatasetSpec] = {
    spec.name: spec
    for spec in (
        DatasetSpec(
            "digits",
            "synthetic:digits",
            "vector",
            {"train": 10, "test": 10},
            "closed-set",
            image_shape=(1, 8, 8),
            description="scikit-learn's bundled 8x8 digits, 64-d in [0,1], stratified 70/30 split (seed 0)",
            classes=tuple(str(digit) for digit in range(10)),
        ),
        DatasetSpec(
            "cifar10-features",
            "cifar10_features:cifar10_features",
            "vector",
            {"train": 10, "test": 10},
            "closed-set",
            description="real CIFAR-10 through a frozen ImageNet EfficientNet-Lite0, PCA to 128-d, "
            "a class-balanced subset shipped inside vgteach (no download)",
            classes=CIFAR10_CLASSES,
            superclasses=CIFAR10_SUPERCLASSES,
        ),
        DatasetSpec(
            "blobs",
            "synthetic:blobs",
            "vector",
            {"train": 10, "test": 10},
            "closed-set",
            description="10 Gaussian clusters on the unit sphere S^31 (seed 0), stratified 70/30 split",
            classes=tuple(f"blob{c}" for c in range(10)),
        ),
        DatasetSpec(
            "cifar10",
            "cifar10:cifar10",
            "image",
            {"train": 10, "test": 10},
            "closed-set",
            image_shape=(3, 32, 32),
            description="CIFAR-10, 50k/10k 32x32 RGB; python batches or ImageFolder JPEGs",
            classes=CIFAR10_CLASSES,
            superclasses=CIFAR10_SUPERCLASSES,
        ),
        DatasetSpec(
            "fashion-mnist",
            "fashion_mnist:fashion_mnist",
            "image",
            {"train": 10, "test": 10},
            "closed-set",
            image_shape=(1, 28, 28),
            description="Fashion-MNIST, 60k/10k 28x28 greyscale, idx-ubyte files",
            classes=FASHION_MNIST_CLASSES,
        ),
        DatasetSpec(
            "tiny-imagenet",
            "tiny_imagenet:tiny_imagenet",
            "image",
            {"train": 200, "test": 200},
            "closed-set",
            image_shape=(3, 64, 64),
            description="Tiny ImageNet 200, 100k train / 10k val (used as test), 64x64 RGB",
        ),
        DatasetSpec(
            "cub200",
            "cub200:cub200",
            "image",
            {"train": 100, "test": 100},
            "zero-shot",
            image_shape=(3, 64, 64),
            description="CUB-200-2011 birds; classes 1-100 train, 101-200 test; pixels resized to 64",
        ),
        DatasetSpec(
            "cars196",
            "cars196:cars196",
            "image",
            {"train": 98, "test": 98},
            "zero-shot",
            image_shape=(3, 64, 64),
            description="Stanford Cars 196; classes 1-98 train, 99-196 test; pixels resized to 64",
        ),
    )
}

DATASET_NAMES = tuple(REGISTRY)


def get_spec(name) -> DatasetSpec:
    """Return the :class:`DatasetSpec` of ``name``; unknown names list the valid ones."""
    if not isinstance(name, str):
        raise TypeError(f"dataset name must be a string, got {type(name).__name__}")
    if name not in REGISTRY:
        raise ValueError(f"unknown dataset {name!r}; valid names: {', '.join(DATASET_NAMES)}")
    return REGISTRY[name]


def get_dataset(name, split, root=None, download=False, transform=None):
    """Return the ``split`` (``"train"`` or ``"test"``) of dataset ``name`` as a ``torch`` Dataset.

    Items are ``(x, label)``: a float vector for ``digits``/``blobs``, a PIL image for the real datasets,
    with ``transform`` applied to ``x``. ``root`` is the folder that holds the dataset in its own layout
    (default ``$VGTEACH_DATA_ROOT`` or ``./data``); ``download=True`` fetches it there where a public
    source exists, otherwise a missing dataset raises :class:`~vgteach.data.base.MissingDataError`
    saying what to put where. The returned object has ``targets`` (labels ``0..K-1``) and ``classes``.
    """
    return get_spec(name).get_dataset(split, root=root, download=download, transform=transform)


def dataset_info(name) -> dict:
    """Describe ``name`` without loading it: kind, classes per split, protocol, image shape, description."""
    info = asdict(get_spec(name))
    info.pop("builder")
    info.pop("extra")
    return info
