"""Datasets of the study (DESIGN.md §4): a registry, one module per dataset family, and ``load_inputs``.

    from vgteach.data import DATASET_NAMES, get_dataset, load_inputs, dataset_info
    X, y = load_inputs("digits", "train")                       # [1257, 64] float32, [1257] long
    X, y = load_inputs("cifar10", "test", backbone="vit_b_32", root="data")   # cached frozen features

Modules: :mod:`~vgteach.data.synthetic` (digits, blobs), :mod:`~vgteach.data.cifar10`,
:mod:`~vgteach.data.fashion_mnist`, :mod:`~vgteach.data.tiny_imagenet`, :mod:`~vgteach.data.cub200`,
:mod:`~vgteach.data.cars196`; :mod:`~vgteach.data.registry` and :mod:`~vgteach.data.inputs` tie them together.
"""
from .base import SPLITS, MissingDataError
from .inputs import load_inputs
from .registry import DATASET_NAMES, dataset_info, get_dataset

__all__ = ["DATASET_NAMES", "SPLITS", "MissingDataError", "dataset_info", "get_dataset", "load_inputs"]
