"""The three protocols of a study (DESIGN.md §4): which classes a head trains on, which ones it is scored on.

    protocol = protocol_for("zero-shot", "cifar10-features")       # checked against the registry, no loading
    x_train, y_train, x_eval, y_eval = protocol.select(*inputs.load_train_test(protocol.load_limit(m)))

==================  ========================================================================================
``closed``          every class trains on the training split and is scored on the test split (the default)
``zero-shot``       class-disjoint, as in Musgrave et al. (2020) and Roth et al. (2020): the training images of
                    the first half of the class ids train (⌈K/2⌉ classes), the test images of the second half,
                    never seen in training, are scored. CIFAR-10: airplane, automobile, bird, cat, deer train;
                    dog, frog, horse, ship, truck are scored
``coarse-to-fine``  the training split's labels become superclass labels (the dataset's map in
                    :mod:`vgteach.data.registry`; CIFAR-10: vehicles = airplane, automobile, ship, truck,
                    animals = the other six); the test split is scored on its fine labels. Does a loss keep
                    structure it was never told about? (the paper's "granularity", testable offline)
==================  ========================================================================================

Training labels are relabelled ``0..K'−1`` (K' = the protocol's number of training classes: the size of a
proxy loss's table), evaluation labels ``0..K''−1``, each in the order of the dataset's class ids (or of its
superclass map). CUB-200 and Cars196 are loaded class-disjoint already (classes 1–100 / 1–98 train, the
rest test): they support ``zero-shot`` only, which is their standard split as loaded. Any other combination a
dataset cannot support is one ``ValueError`` from :func:`protocol_for`, which the training config calls when
it is built — long before any feature is extracted.

Selection happens after loading: the feature cache keys (:mod:`vgteach.inputs`) are those of the dataset's
own splits, so a protocol reuses the features a closed study extracted. ``max_per_class`` counts rows per
*training* class: per class for ``closed``/``zero-shot`` (the loader's own limit, the closed study's cache
entry), per superclass for ``coarse-to-fine``, whose fine classes then take equal turns
(:meth:`Protocol.select`; it loads ⌈max_per_class / n⌉ rows of each fine class of the smallest superclass of
n classes, a cache entry of its own).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional

import numpy as np
import torch

from .data.registry import REGISTRY, DatasetSpec, get_spec

PROTOCOLS = ("closed", "zero-shot", "coarse-to-fine")
#: the fewest classes a split of a protocol may have: retrieval and VARIANCE need two classes to compare
MIN_CLASSES = 2


@dataclass(frozen=True)
class Protocol:
    """One protocol on one dataset: how the loaded splits' class ids map to training and evaluation labels.

    Attributes
    ----------
    name : str
        One of :data:`PROTOCOLS`.
    dataset : str
        The dataset's registry name.
    train_map, eval_map : tuple of int
        The training (evaluation) label of each class id of the loaded training (test) split; -1: the class
        is left out of that split.
    train_classes, eval_classes : tuple of str
        The names of the training (evaluation) labels, in label order: the registry's class names
        (superclass names for the training labels of ``coarse-to-fine``; CUB-200 and Cars196, whose names
        are in their files, by their original class ids, "1" … "100" and "101" … "200" for CUB).
    """

    name: str
    dataset: str
    train_map: tuple
    eval_map: tuple
    train_classes: tuple
    eval_classes: tuple

    @property
    def num_train_classes(self) -> int:
        """K': the number of training labels (the size of ArcFace's and CCL's proxy tables)."""
        return len(self.train_classes)

    def load_limit(self, max_per_class: Optional[int]) -> Optional[int]:
        """The per-class limit to load the training split with, so that :meth:`select` can keep
        ``max_per_class`` rows of every training class: ``max_per_class`` itself, except for
        ``coarse-to-fine``, whose superclass of n fine classes needs ⌈max_per_class / n⌉ of each."""
        if max_per_class is None or self.name != "coarse-to-fine":
            return max_per_class
        fewest = min(self.train_map.count(label) for label in range(self.num_train_classes))
        return math.ceil(max_per_class / fewest)

    def select(self, x_train, y_train, x_eval, y_eval, max_per_class: Optional[int] = None) -> tuple:
        """``(x_train, y_train, x_eval, y_eval)`` of this protocol from the loaded splits (rows kept in
        their order, labels relabelled by :attr:`train_map` / :attr:`eval_map`).

        ``max_per_class`` keeps at most that many rows of every training label: the first ones of each
        class id, the class ids of a label taking turns (the first row of each, then the second, …), so a
        superclass keeps its fine classes in equal shares.
        """
        train_rows, train_labels = _relabelled(y_train, self.train_map, "training")
        if max_per_class is not None:
            train_rows = _turns(train_rows, train_labels, y_train, max_per_class)
        eval_rows, eval_labels = _relabelled(y_eval, self.eval_map, "evaluation")
        return x_train[train_rows], train_labels[train_rows], x_eval[eval_rows], eval_labels[eval_rows]

    def describe(self) -> dict:
        """What ``study.json`` records: the protocol, its training and evaluation classes, a sentence."""
        return {
            "name": self.name,
            "train_classes": list(self.train_classes),
            "eval_classes": list(self.eval_classes),
            "description": self.sentence(),
        }

    def sentence(self) -> str:
        """One sentence for a report: what trained, what the evaluation split's metrics are scored on."""
        trained, scored = _names(self.train_classes), _names(self.eval_classes)
        if self.name == "closed":
            return (
                f"Protocol `closed`: the head trains on the training images of {trained}; every metric of the "
                "evaluation split (retrieval, VARIANCE, geometry) is on the test images of the same classes."
            )
        if self.name == "zero-shot":
            return (
                f"Protocol `zero-shot` (class-disjoint): the head trains on the training images of {trained}; "
                f"every metric of the evaluation split (retrieval, VARIANCE, geometry) is on the test images "
                f"of {scored}, classes it never saw in training (unseen-class retrieval)."
            )
        return (
            f"Protocol `coarse-to-fine`: the head trains on superclass labels ({self._superclass_members()}); "
            f"every metric of the evaluation split (retrieval, VARIANCE, geometry) is scored on the fine "
            f"labels of the test images ({scored}), of which it was told only the superclass (fine-label "
            "retrieval)."
        )

    def _superclass_members(self) -> str:
        """``vehicles = airplane, automobile, ship and truck; animals = …`` (the classes of each training
        label, read from :attr:`train_map`; the fine classes are the evaluation labels)."""
        groups = []
        for label, superclass in enumerate(self.train_classes):
            members = tuple(self.eval_classes[k] for k, target in enumerate(self.train_map) if target == label)
            groups.append(f"{superclass} = {_names(members)}")
        return "; ".join(groups)


def protocol_for(name, dataset) -> Protocol:
    """The :class:`Protocol` ``name`` on ``dataset`` (a registry name or :class:`DatasetSpec`).

    Raises one ``ValueError`` naming the problem for an unknown protocol, a protocol the dataset cannot
    support (``closed``/``coarse-to-fine`` on the class-disjoint CUB-200 and Cars196; ``coarse-to-fine``
    without a superclass map: the message names the datasets that have one) and a split with fewer than
    :data:`MIN_CLASSES` classes on either side. Reads the registry only (nothing is loaded).
    """
    spec = dataset if isinstance(dataset, DatasetSpec) else get_spec(dataset)
    if name not in PROTOCOLS:
        raise ValueError(f"unknown protocol {name!r}; valid: {', '.join(PROTOCOLS)}")
    if spec.protocol == "zero-shot" and name != "zero-shot":
        raise ValueError(
            f"dataset {spec.name!r} is split class-disjoint by its loader (the standard zero-shot split of deep "
            f"metric learning), so it supports protocol 'zero-shot' only, not {name!r}: pass "
            "protocol='zero-shot' (--protocol zero-shot)"
        )
    train_ids, test_ids = range(spec.num_classes["train"]), range(spec.num_classes["test"])
    names = spec.classes or tuple(str(k) for k in train_ids)
    if spec.protocol == "zero-shot":  # CUB/Cars: their split as loaded, named by the original class ids
        train_names = tuple(str(k + 1) for k in train_ids)
        test_names = tuple(str(k + 1 + len(train_ids)) for k in test_ids)
        protocol = Protocol(name, spec.name, tuple(train_ids), tuple(test_ids), train_names, test_names)
    elif name == "closed":
        protocol = Protocol(name, spec.name, tuple(train_ids), tuple(test_ids), names, names)
    elif name == "zero-shot":
        protocol = _zero_shot(spec, names)
    else:
        protocol = _coarse_to_fine(spec, names)
    for split, classes in (("training", protocol.train_classes), ("evaluation", protocol.eval_classes)):
        if len(classes) < MIN_CLASSES:
            raise ValueError(
                f"protocol {name!r} on {spec.name!r} leaves {len(classes)} {split} class(es); it needs at "
                f"least {MIN_CLASSES} on each side ({spec.name} has {spec.num_classes['train']} classes)"
            )
    return protocol


def _zero_shot(spec: DatasetSpec, names: tuple) -> Protocol:
    """The first ⌈K/2⌉ class ids train, the others are scored (relabelled from 0)."""
    num_classes = spec.num_classes["train"]
    first = (num_classes + 1) // 2
    train_map = tuple(k if k < first else -1 for k in range(num_classes))
    eval_map = tuple(k - first if k >= first else -1 for k in range(num_classes))
    return Protocol("zero-shot", spec.name, train_map, eval_map, names[:first], names[first:])


def _coarse_to_fine(spec: DatasetSpec, names: tuple) -> Protocol:
    """Training labels = the superclass of each class id; the test split keeps its fine labels."""
    if not spec.superclasses:
        having = [entry.name for entry in REGISTRY.values() if entry.superclasses]
        raise ValueError(
            f"protocol 'coarse-to-fine' needs a superclass map, and dataset {spec.name!r} has none; "
            f"datasets with one: {', '.join(having)}"
        )
    superclass_of = {fine: label for label, members in enumerate(spec.superclasses.values()) for fine in members}
    listed = [fine for members in spec.superclasses.values() for fine in members]
    if sorted(listed) != sorted(names) or len(set(listed)) != len(listed):
        raise ValueError(f"the superclass map of {spec.name!r} must hold each of its classes exactly once")
    train_map = tuple(superclass_of[fine] for fine in names)
    return Protocol("coarse-to-fine", spec.name, train_map, tuple(range(len(names))), tuple(spec.superclasses), names)


def _relabelled(labels, mapping: tuple, split: str) -> tuple:
    """``(rows, new_labels)``: the rows whose class ``mapping`` keeps, and every row's new label (-1 for
    the others). Labels outside the mapping are a ``ValueError`` (data that are not the registry's)."""
    labels = torch.as_tensor(labels)
    table = torch.tensor(mapping, dtype=torch.long)
    if len(labels) and (int(labels.min()) < 0 or int(labels.max()) >= len(table)):
        raise ValueError(
            f"the {split} split holds labels outside 0..{len(table) - 1}, the class ids of the dataset's registry entry"
        )
    new = table[labels.long()]
    return torch.nonzero(new >= 0).flatten(), new


def _turns(rows, new_labels, old_labels, max_per_class: int):
    """At most ``max_per_class`` of ``rows`` per new label: the class ids under one label take turns (the
    first row of each, then the second, …), each in dataset order. Returned in dataset order."""
    new, old = new_labels[rows].numpy(), torch.as_tensor(old_labels)[rows].numpy()
    rank = np.empty(len(old), dtype=np.int64)  # position of each row within its class id
    for class_id in np.unique(old):
        members = np.flatnonzero(old == class_id)
        rank[members] = np.arange(len(members))
    order = np.lexsort((old, rank, new))  # by new label, then turn, then class id
    position = np.empty(len(order), dtype=np.int64)  # position of each row within its new label's queue
    for label in np.unique(new):
        queued = order[new[order] == label]
        position[queued] = np.arange(len(queued))
    return rows[torch.from_numpy(np.flatnonzero(position < max_per_class))]


def _names(classes: tuple, shown: int = 12) -> str:
    """``a, b and c``; more than ``shown`` names: their count and the first few."""
    if len(classes) > shown:
        return f"{len(classes)} classes ({', '.join(classes[:3])}, …, {classes[-1]})"
    return ", ".join(classes[:-1]) + f" and {classes[-1]}" if len(classes) > 1 else "".join(classes)
