"""The seven metric-learning losses compared by Zeng et al. (ICASSP 2026), one module each.

>>> from vgteach.losses import build_loss
>>> loss_fn = build_loss("triplet", margin=0.2)
>>> loss = loss_fn(embeddings, labels)                 # 0-dim tensor
>>> out = loss_fn.compute(embeddings, labels)          # loss + GREEDINESS counts
>>> loss_fn = build_loss(name, num_classes=K, embedding_dim=D)   # any of the seven; .proxies: [K, D] or None
"""

from __future__ import annotations

import inspect
from typing import Optional

from .._validation import validate_positive_int
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
#: losses that own learnable parameters (``.proxies``) and need ``num_classes`` (the others ignore it)
PROXY_LOSSES = ("arcface", "ccl")
_ALIASES = {"scl": "supcon", "centercontrastive": "ccl", "ntxent": "infonce", "npairs": "npair"}


def build_loss(
    name: str, num_classes: Optional[int] = None, embedding_dim: Optional[int] = None, **hparams
) -> MetricLoss:
    """Build a loss by its DESIGN.md name; one call shape for all seven.

    Parameters
    ----------
    name : str
        One of :data:`LOSS_NAMES` (aliases: ``scl``, ``ntxent``, ``npairs``, ``center-contrastive``).
    num_classes : int, optional
        K. Required by the proxy losses (:data:`PROXY_LOSSES`: one learnable vector per class); the pair
        losses accept it and ignore it, so a caller never branches on the name.
    embedding_dim : int, optional
        D of the proxies (default: the loss's own, 128); ignored by the pair losses.
    **hparams
        The loss's hyper-parameters (e.g. ``margin``, ``temperature``), DESIGN.md defaults otherwise.

    Examples
    --------
    >>> build_loss("arcface", num_classes=10, embedding_dim=128).proxies.shape
    torch.Size([10, 128])
    >>> build_loss("triplet", num_classes=10, embedding_dim=128).proxies is None
    True

    Unknown names and unknown hyper-parameters raise ``ValueError`` listing the valid ones; so do a missing
    ``num_classes`` for a proxy loss and a ``num_classes``/``embedding_dim`` that is not a positive integer.
    """
    if not isinstance(name, str):
        raise TypeError(f"loss name must be a string, got {type(name).__name__}")
    key = name.lower().replace("-", "").replace("_", "")
    key = _ALIASES.get(key, key)
    if key not in LOSSES:
        raise ValueError(f"unknown loss {name!r}; valid names: {', '.join(LOSS_NAMES)}")
    cls = LOSSES[key]
    accepted = set(inspect.signature(cls.__init__).parameters) - {"self", "num_classes", "embedding_dim"}
    unknown = set(hparams) - accepted
    if unknown:
        raise ValueError(
            f"{key} does not take {sorted(unknown)}; it accepts num_classes, embedding_dim and {sorted(accepted)}"
        )
    num_classes = validate_positive_int(num_classes, "num_classes", allow_none=True)
    embedding_dim = validate_positive_int(embedding_dim, "embedding_dim", allow_none=True)
    if key not in PROXY_LOSSES:
        return cls(**hparams)
    if num_classes is None:
        raise ValueError(f"{key} needs num_classes=K (it owns one learnable vector per class)")
    if embedding_dim is not None:
        hparams["embedding_dim"] = embedding_dim
    return cls(num_classes, **hparams)


__all__ = [
    "LOSSES",
    "LOSS_NAMES",
    "PROXY_LOSSES",
    "build_loss",
    "MetricLoss",
    "Terms",
    "LossOutput",
    "Similarity",
    "DEFAULT_ACTIVE_EPS",
    "ContrastiveLoss",
    "TripletLoss",
    "NPairLoss",
    "InfoNCELoss",
    "ArcFaceLoss",
    "SupConLoss",
    "CenterContrastiveLoss",
]
