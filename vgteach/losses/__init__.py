"""The seven metric-learning losses compared by Zeng et al. (ICASSP 2026), one module each.

>>> from vgteach.losses import build_loss
>>> loss_fn = build_loss("triplet", margin=0.2)
>>> loss = loss_fn(embeddings, labels)                 # 0-dim tensor
>>> out = loss_fn.compute(embeddings, labels)          # loss + GREEDINESS counts
"""
from __future__ import annotations

from .arcface import ArcFaceLoss
from .base import DEFAULT_ACTIVE_EPS, LossOutput, MetricLoss, Similarity, Terms
from .ccl import CenterContrastiveLoss
from .contrastive import ContrastiveLoss
from .infonce import InfoNCELoss
from .npair import NPairLoss
from .supcon import SupConLoss
from .triplet import TripletLoss

LOSSES = {
    "contrastive": ContrastiveLoss,
    "triplet": TripletLoss,
    "npair": NPairLoss,
    "infonce": InfoNCELoss,
    "arcface": ArcFaceLoss,
    "supcon": SupConLoss,
    "ccl": CenterContrastiveLoss,
}
LOSS_NAMES = tuple(LOSSES)
#: losses that own learnable parameters (proxies / centers) and need ``num_classes``
PROXY_LOSSES = ("arcface", "ccl")


def build_loss(name: str, **hparams) -> MetricLoss:
    """Build a loss by its DESIGN.md name, e.g. ``build_loss("arcface", num_classes=10, embedding_dim=128)``.

    Unknown names and unknown hyper-parameters raise ``ValueError`` listing the valid ones.
    """
    if not isinstance(name, str):
        raise TypeError(f"loss name must be a string, got {type(name).__name__}")
    key = name.lower().replace("-", "").replace("_", "")
    aliases = {"scl": "supcon", "centercontrastive": "ccl", "ntxent": "infonce", "npairs": "npair"}
    key = aliases.get(key, key)
    if key not in LOSSES:
        raise ValueError(f"unknown loss {name!r}; valid names: {', '.join(LOSS_NAMES)}")
    cls = LOSSES[key]
    import inspect

    accepted = set(inspect.signature(cls.__init__).parameters) - {"self"}
    unknown = set(hparams) - accepted
    if unknown:
        raise ValueError(f"{key} does not take {sorted(unknown)}; it accepts {sorted(accepted)}")
    if key in PROXY_LOSSES and "num_classes" not in hparams:
        raise ValueError(f"{key} needs num_classes=K (it owns one learnable vector per class)")
    return cls(**hparams)


__all__ = [
    "LOSSES", "LOSS_NAMES", "PROXY_LOSSES", "build_loss", "MetricLoss", "Terms", "LossOutput", "Similarity",
    "DEFAULT_ACTIVE_EPS",
    "ContrastiveLoss", "TripletLoss", "NPairLoss", "InfoNCELoss", "ArcFaceLoss", "SupConLoss", "CenterContrastiveLoss",
]
