"""Datasets of the study (DESIGN.md §4): a registry and one module per dataset family.

    from vgteach.data import DATASET_NAMES, get_dataset, dataset_info
    dataset = get_dataset("cifar10", "test", root="data")      # images and ``targets``

The data layer knows nothing of networks: :func:`vgteach.inputs.load_inputs`, one level up, puts a dataset
through a backbone and the feature cache.

Modules: :mod:`~vgteach.data.synthetic` (digits, blobs), :mod:`~vgteach.data.cifar10`,
:mod:`~vgteach.data.fashion_mnist`, :mod:`~vgteach.data.tiny_imagenet`, :mod:`~vgteach.data.cub200`,
:mod:`~vgteach.data.cars196`; :mod:`~vgteach.data.registry` ties them together.
"""

from .base import SPLITS, MissingDataError
from .registry import DATASET_NAMES, dataset_info, get_dataset

__all__ = ["DATASET_NAMES", "SPLITS", "MissingDataError", "dataset_info", "get_dataset"]
