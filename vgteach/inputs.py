"""``load_inputs``: one call from a dataset name and a backbone name to the tensors the trainer consumes.

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

import torch

from ._validation import validate_positive_int
from .backbones import FROZEN_BACKBONES, ToRGB, build_backbone, validate_backbone
from .data.base import validate_split
from .data.registry import get_dataset, get_spec
from .features import FeatureCache, extract_features


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


def _image_pixels(spec, split, root, download, cache_dir, batch_size, progress, max_per_class=None):
    """``uint8 [N, C, H, W]`` pixels and labels of an image dataset (cached only with ``cache_dir``)."""
    transform = _pixel_transform(spec)
    dataset = _limited(get_dataset(spec.name, split, root=root, download=download, transform=transform), max_per_class)
    labels = torch.as_tensor(dataset.targets, dtype=torch.long)
    description = _cache_description(spec, split, dataset, "pixels", "none", transform, max_per_class)
    compute = lambda: extract_features(
        None,
        dataset,
        batch_size=batch_size,
        device="cpu",
        progress=progress,  # noqa: E731
        desc=f"{spec.name}/{split} pixels",
    )
    return _cached(cache_dir, description, compute, labels)


def _vector_inputs(spec, split, backbone, max_per_class=None):
    dataset = get_dataset(spec.name, split)
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


def _frozen_features(
    spec, split, backbone, root, cache_dir, device, download, batch_size, progress, max_per_class=None
):
    module, transform, _ = build_backbone(backbone, pretrained=True, download=download)
    dataset = _limited(get_dataset(spec.name, split, root=root, download=download, transform=transform), max_per_class)
    labels = torch.as_tensor(dataset.targets, dtype=torch.long)
    description = _cache_description(spec, split, dataset, backbone, module.weights_id, transform, max_per_class)
    compute = lambda: extract_features(
        module,
        dataset,
        batch_size=batch_size,
        device=device,  # noqa: E731
        progress=progress,
        desc=f"{spec.name}/{split} {backbone}",
    )
    # Frozen features are the expensive case: always cache (default folder when none is given).
    return FeatureCache(cache_dir).get_or_compute(description, compute, labels)


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
    validate_backbone(backbone)
    if spec.kind == "vector":
        return _vector_inputs(spec, split, backbone, max_per_class)
    if backbone in FROZEN_BACKBONES:
        x, y = _frozen_features(
            spec, split, backbone, root, cache_dir, device, download, batch_size, progress, max_per_class
        )
        return x.float(), y.long()
    pixels, y = _image_pixels(spec, split, root, download, cache_dir, batch_size, progress, max_per_class)
    x = pixels.float() / 255.0
    if backbone == "identity":
        return x.flatten(1), y.long()
    return (x - 0.5) / 0.5, y.long()
