"""Everything a training run depends on, in one object (``TrainConfig``), and the three profiles.

A run is fully determined by its config: the same config gives the same numbers on the CPU, and a killed
run resumed from its checkpoint gives the same numbers as an uninterrupted one.

Profiles
--------
``paper``  DESIGN.md §4: 128-d head, Adam lr 1e-4, batch 512, m-per-class batches, 100 epochs. Meant for
           cached frozen features on a GPU (or a patient CPU).
``book``   what a chapter runs on a laptop CPU in about a minute: fewer epochs, lr 1e-3. The larger learning
           rate is our choice (not the paper's): with lr 1e-4 a linear head on digits barely moves in
           30 epochs, and the book wants to show training dynamics, not a flat line.
``smoke``  seconds: 3 epochs, a small batch; what the tests and CI run.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Optional

HEADS = ("linear", "mlp")


@dataclass
class TrainConfig:
    """One training run (one loss, one seed) on one dataset.

    Attributes
    ----------
    dataset, backbone : str
        A name of :data:`vgteach.data.DATASET_NAMES` and of :data:`vgteach.backbones.BACKBONE_NAMES`.
    loss : str
        A name of :data:`vgteach.losses.LOSS_NAMES`; ``loss_kwargs`` override its DESIGN.md defaults.
    embedding_dim : int
        Output size of the head (128 in the paper). The head's output is L2-normalised.
    head : {"linear", "mlp"}
        ``Linear(D_in → D)``, or ``Linear → ReLU → Linear`` with ``hidden_dim`` units.
    lr, weight_decay, epochs, batch_size : Adam and schedule settings (the same for every loss).
    m_per_class : int
        Samples per class in a batch (the m-per-class sampler): every batch holds positives.
    seed : int
        Seeds the head's and the proxies' initialisation and the batch order of every epoch.
    device : str
        ``"auto"`` (CUDA when present), ``"cpu"`` or ``"cuda"``.
    amp : bool or None
        bfloat16 autocast for the backbone and head; ``None``: on for CUDA, off on the CPU. The losses
        always run in float32 (see :class:`vgteach.losses.base.MetricLoss`).
    eval_every : int
        Evaluate retrieval, VARIANCE and geometry every this many epochs (and always at the last one).
    keep_embeddings : bool
        Keep the evaluation embeddings of every evaluated epoch in the result (for the training scrubber).
    max_per_class : int, optional
        Train on the first ``max_per_class`` training samples of every class only (a class-balanced
        subset, for CPU-budget runs; the evaluation split is always complete). ``None``: all of them.
    data_root, cache_dir, download : where the real datasets and the feature cache live.
    """

    dataset: str = "digits"
    loss: str = "supcon"
    loss_kwargs: dict = field(default_factory=dict)
    backbone: str = "identity"
    embedding_dim: int = 128
    head: str = "linear"
    hidden_dim: int = 512
    lr: float = 1e-4
    weight_decay: float = 0.0
    epochs: int = 100
    batch_size: int = 512
    m_per_class: int = 4
    seed: int = 0
    device: str = "auto"
    amp: Optional[bool] = None
    eval_every: int = 1
    keep_embeddings: bool = False
    max_per_class: Optional[int] = None
    data_root: Optional[str] = None
    cache_dir: Optional[str] = None
    download: bool = False

    def __post_init__(self):
        check_config(self)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict) -> "TrainConfig":
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = set(values) - known
        if unknown:
            raise ValueError(f"unknown config fields {sorted(unknown)}; valid fields: {sorted(known)}")
        return cls(**values)

    def replace(self, **changes) -> "TrainConfig":
        return dataclasses.replace(self, **changes)


def _positive_int(config, name):
    value = getattr(config, name)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")


def check_config(config: TrainConfig) -> None:
    """Raise ``ValueError`` naming the first bad field (names are checked against the registries)."""
    from ..backbones import BACKBONE_NAMES
    from ..data import DATASET_NAMES
    from ..losses import LOSS_NAMES

    for name, valid in (("dataset", DATASET_NAMES), ("backbone", BACKBONE_NAMES), ("loss", LOSS_NAMES),
                        ("head", HEADS), ("device", ("auto", "cpu", "cuda"))):
        value = getattr(config, name)
        if value not in valid and not (name == "device" and isinstance(value, str) and value.startswith("cuda:")):
            raise ValueError(f"unknown {name} {value!r}; valid: {', '.join(valid)}")
    for name in ("embedding_dim", "hidden_dim", "epochs", "batch_size", "m_per_class", "eval_every"):
        _positive_int(config, name)
    if config.batch_size < 2 * config.m_per_class:
        raise ValueError(f"batch_size={config.batch_size} must hold at least two classes of "
                         f"m_per_class={config.m_per_class} samples")
    if not (isinstance(config.lr, (int, float)) and config.lr > 0):
        raise ValueError(f"lr must be a positive number, got {config.lr!r}")
    if not isinstance(config.loss_kwargs, dict):
        raise TypeError(f"loss_kwargs must be a dict, got {type(config.loss_kwargs).__name__}")
    if config.max_per_class is not None:
        _positive_int(config, "max_per_class")
    if isinstance(config.seed, bool) or not isinstance(config.seed, int) or config.seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {config.seed!r}")


#: overrides of :class:`TrainConfig`'s defaults (which are the paper's) for each profile
PROFILES = {
    "smoke": {"epochs": 3, "batch_size": 128, "lr": 1e-3},
    "book": {"epochs": 30, "batch_size": 256, "lr": 1e-3},
    "paper": {"epochs": 100, "batch_size": 512, "lr": 1e-4, "embedding_dim": 128},
}


def make_config(profile: str = "book", **overrides) -> TrainConfig:
    """A :class:`TrainConfig` from a profile's settings plus ``overrides`` (which win).

    >>> make_config("smoke", dataset="digits", loss="triplet", loss_kwargs={"margin": 0.1})
    """
    if profile not in PROFILES:
        raise ValueError(f"unknown profile {profile!r}; valid: {', '.join(PROFILES)}")
    return TrainConfig(**{**PROFILES[profile], **overrides})
