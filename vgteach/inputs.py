"""``load_inputs``: one call from a dataset name and a backbone name to the tensors the trainer consumes.

    x, y = load_inputs("digits", "train")                           # one call
    inputs = InputSpec.of("cifar10", backbone="vit_b_32")           # or: decide once, load each split
    x_train, y_train, x_test, y_test = inputs.load_train_test()

It sits above the data layer: :mod:`vgteach.data` reads datasets and knows nothing of networks; this module
puts a dataset through a backbone (:mod:`vgteach.backbones`) and the feature cache (:mod:`vgteach.features`).

=================  ===============================================================================
backbone           returns ``X``
=================  ===============================================================================
``identity``       raw pixels / vectors in ``[0, 1]`` flattened to ``[N, F]`` (digits: 64, CIFAR: 3072)
``cnn``            image tensors ``[N, C, H, W]`` normalised to ``[-1, 1]`` for an end-to-end SmallCNN
frozen backbones   cached features ``[N, F]`` (``vit_b_32`` 768, ``resnet18`` 512, ``resnet50`` 2048,
                   ``efficientnet_lite0`` 1280), extracted on the first call
=================  ===============================================================================

and ``y`` long ``[N]`` in ``0..K-1``. Real datasets' pixels for ``identity``/``cnn`` are cached too when a
``cache_dir`` is given (as ``uint8``, four times smaller than float; decoding 50,000 JPEGs takes a while).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import partial
from typing import Optional, Union

import torch

from ._validation import validate_positive_int
from .backbones import FROZEN_BACKBONES, ToRGB, build_backbone, validate_backbone
from .data.base import validate_split
from .data.registry import DatasetSpec, get_spec
from .features import FeatureCache, extract_features


@dataclass(frozen=True)
class InputSpec:
    """Where inputs come from and how they are seen, decided once; each split is then loaded from it.

    Build it with :meth:`of` (the dataset's name, looked up in the registry once) or from a training config
    (:meth:`vgteach.training.TrainConfig.input_spec`); :func:`load_inputs` is the one-call form and
    documents every field.

    Attributes
    ----------
    dataset : DatasetSpec
        The dataset's registry entry (:mod:`vgteach.data.registry`).
    backbone : str
        ``"identity"``, ``"cnn"`` or a frozen backbone of :data:`~vgteach.backbones.FROZEN_BACKBONES`.
    root, cache_dir, device, download, batch_size, progress
        As in :func:`load_inputs`.
    """

    dataset: DatasetSpec
    backbone: str = "identity"
    root: Optional[Union[str, os.PathLike]] = None
    cache_dir: Optional[Union[str, os.PathLike]] = None
    device: str = "auto"
    download: bool = False
    batch_size: Optional[int] = None
    progress: bool = True

    def __post_init__(self):
        validate_backbone(self.backbone)

    @classmethod
    def of(cls, name, **settings) -> "InputSpec":
        """The spec of dataset ``name`` (a name of :data:`~vgteach.data.DATASET_NAMES`) with ``settings``."""
        return cls(get_spec(name), **settings)

    def load(self, split, max_per_class=None) -> tuple[torch.Tensor, torch.Tensor]:
        """``(X, y)`` of ``split`` (``"train"`` or ``"test"``), limited to the first ``max_per_class``
        samples of every class when given; see :func:`load_inputs`."""
        validate_split(split)
        if self.dataset.kind == "vector":
            return _vector_inputs(self, split, max_per_class)
        if self.backbone in FROZEN_BACKBONES:
            x, y = _frozen_features(self, split, max_per_class)
            return x.float(), y.long()
        pixels, y = _image_pixels(self, split, max_per_class)
        x = pixels.float() / 255.0
        if self.backbone == "identity":
            return x.flatten(1), y.long()
        return (x - 0.5) / 0.5, y.long()

    def load_train_test(self, max_per_class=None) -> tuple[torch.Tensor, ...]:
        """``(x_train, y_train, x_test, y_test)``: the training split limited to ``max_per_class`` samples a
        class (a CPU-budget run), the test split always whole (retrieval is scored on all of it)."""
        return (*self.load("train", max_per_class), *self.load("test"))


def _pixel_transform(spec):
    """PIL image -> ``uint8 [C, H, W]`` at the registry's ``image_shape`` (CUB/Cars: resize + centre crop)."""
    from torchvision import transforms

    channels, height, width = spec.image_shape
    steps = []
    if spec.name in ("cub200", "cars196"):
        steps += [transforms.Resize(height), transforms.CenterCrop((height, width))]
    if channels == 3:
        steps.insert(0, ToRGB())
    steps.append(transforms.PILToTensor())
    return transforms.Compose(steps)


class _Subset(torch.utils.data.Subset):
    """A :class:`~torch.utils.data.Subset` that keeps ``targets`` (the feature cache checks labels)."""

    def __init__(self, dataset, indices):
        super().__init__(dataset, indices)
        self.targets = [dataset.targets[i] for i in indices]
        self.source = getattr(dataset, "source", None)


def first_per_class(targets, max_per_class):
    """Indices of the first ``max_per_class`` samples of every class, in dataset order (all if ``None``)."""
    if validate_positive_int(max_per_class, "max_per_class", allow_none=True) is None:
        return None
    seen, keep = {}, []
    for index, label in enumerate(targets):
        seen[label] = seen.get(label, 0) + 1
        if seen[label] <= max_per_class:
            keep.append(index)
    return keep


def _limited(dataset, max_per_class):
    keep = first_per_class(dataset.targets, max_per_class)
    return dataset if keep is None or len(keep) == len(dataset) else _Subset(dataset, keep)


def _source(dataset, name: str) -> str:
    """The on-disk layout a dataset came from (ImageFolder JPEGs and python batches differ in pixels)."""
    return getattr(dataset, "source", None) or name


def _cached(cache_dir, description, compute, expected_labels):
    if cache_dir is None:
        return compute()
    return FeatureCache(cache_dir).get_or_compute(description, compute, expected_labels)


def _cache_description(spec, split, dataset, backbone, weights, transform, max_per_class) -> dict:
    """The feature cache's key for one split seen through one backbone (see :class:`FeatureCache`)."""
    description = {
        "dataset": spec.name,
        "split": split,
        "backbone": backbone,
        "weights": weights,
        "transform": repr(transform),
        "source": _source(dataset, spec.name),
        "num_samples": len(dataset),
    }
    if max_per_class is not None:
        description["max_per_class"] = max_per_class
    return description


def _image_pixels(inputs: InputSpec, split, max_per_class=None):
    """``uint8 [N, C, H, W]`` pixels and labels of an image dataset (cached only with ``cache_dir``)."""
    spec = inputs.dataset
    transform = _pixel_transform(spec)
    dataset = spec.get_dataset(split, root=inputs.root, download=inputs.download, transform=transform)
    dataset = _limited(dataset, max_per_class)
    labels = torch.as_tensor(dataset.targets, dtype=torch.long)
    description = _cache_description(spec, split, dataset, "pixels", "none", transform, max_per_class)
    compute = partial(
        extract_features,
        None,
        dataset,
        batch_size=inputs.batch_size,
        device="cpu",
        progress=inputs.progress,
        desc=f"{spec.name}/{split} pixels",
    )
    return _cached(inputs.cache_dir, description, compute, labels)


def _vector_inputs(inputs: InputSpec, split, max_per_class=None):
    spec, backbone = inputs.dataset, inputs.backbone
    dataset = spec.get_dataset(split)
    x, y = dataset.data.clone(), torch.as_tensor(dataset.targets, dtype=torch.long)
    keep = first_per_class(dataset.targets, max_per_class)
    if keep is not None:
        x, y = x[keep], y[keep]
    if backbone == "identity":
        return x, y
    if backbone == "cnn":
        if spec.image_shape is None:
            raise ValueError(f"dataset {spec.name!r} has no image structure; use backbone 'identity'")
        return (x.view(len(x), *spec.image_shape) - 0.5) / 0.5, y
    raise ValueError(f"backbone {backbone!r} needs images, but {spec.name!r} holds vectors; use 'identity' or 'cnn'")


def _frozen_features(inputs: InputSpec, split, max_per_class=None):
    spec, backbone = inputs.dataset, inputs.backbone
    module, transform, _ = build_backbone(backbone, pretrained=True, download=inputs.download)
    dataset = spec.get_dataset(split, root=inputs.root, download=inputs.download, transform=transform)
    dataset = _limited(dataset, max_per_class)
    labels = torch.as_tensor(dataset.targets, dtype=torch.long)
    description = _cache_description(spec, split, dataset, backbone, module.weights_id, transform, max_per_class)
    compute = partial(
        extract_features,
        module,
        dataset,
        batch_size=inputs.batch_size,
        device=inputs.device,
        progress=inputs.progress,
        desc=f"{spec.name}/{split} {backbone}",
    )
    # Frozen features are the expensive case: always cache (default folder when none is given).
    return FeatureCache(inputs.cache_dir).get_or_compute(description, compute, labels)


def load_inputs(
    name,
    split,
    backbone="identity",
    root=None,
    cache_dir=None,
    device="auto",
    download=False,
    batch_size=None,
    progress=True,
    max_per_class=None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Return ``(X, y)`` for dataset ``name``, ``split`` as seen through ``backbone``.

    Parameters
    ----------
    name, split : str
        A name of :data:`~vgteach.data.DATASET_NAMES`; ``"train"`` or ``"test"``.
    backbone : str
        ``"identity"``, ``"cnn"`` or a frozen backbone of :data:`~vgteach.backbones.FROZEN_BACKBONES`.
    root : path, optional
        Folder holding the real datasets (see :func:`~vgteach.data.get_dataset`).
    cache_dir : path, optional
        Feature cache folder. Frozen features are always cached (default ``$VGTEACH_CACHE_DIR`` or
        ``~/.cache/vgteach/features``); pixels of real datasets only when this is given.
    device : str
        Where the frozen backbone runs (``"auto"``: CUDA when present). Results are CPU tensors.
    download : bool
        Fetch a missing dataset where a public source exists, and a frozen backbone's missing ImageNet
        weights (torchvision backbones) into the torch hub cache.
    batch_size : int, optional
        Extraction batch size (``None``: 32 on a CPU, 256 on a GPU; see
        :func:`~vgteach.features.extract_features`).
    progress : bool
        Show tqdm bars.
    max_per_class : int, optional
        Keep only the first ``max_per_class`` samples of every class (in the dataset's order): a
        class-balanced subset for CPU-budget runs. It is part of the cache key.

    Returns
    -------
    X : Tensor
        float32, ``[N, F]`` or ``[N, C, H, W]`` for ``cnn`` (see the module docstring).
    y : Tensor
        int64 ``[N]``, labels ``0..K-1`` within the split.
    """
    spec = get_spec(name)
    validate_split(split)
    inputs = InputSpec(spec, backbone, root, cache_dir, device, download, batch_size, progress)
    return inputs.load(split, max_per_class)
