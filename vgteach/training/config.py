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
import numbers
from dataclasses import dataclass, field
from typing import Optional, Tuple, Union

from .._validation import validate_positive_int

HEADS = ("linear", "mlp")
#: names of evaluation schedules (``TrainConfig.eval_epochs``); see :func:`evaluation_epochs`
EVAL_SCHEDULES = ("default",)


@dataclass
class TrainConfig:
    """One training run (one loss, one seed) on one dataset.

    Attributes
    ----------
    dataset, backbone : str
        A name of :data:`vgteach.data.DATASET_NAMES` and of :data:`vgteach.backbones.BACKBONE_NAMES`.
    protocol : {"closed", "zero-shot", "coarse-to-fine"}, optional
        Which classes train and which the evaluation split scores (DESIGN.md §4, :mod:`vgteach.protocols`):
        ``"closed"`` every class both; ``"zero-shot"`` the first half of the class ids trains and the test
        images of the second half are scored; ``"coarse-to-fine"`` superclass labels train and the test
        split's fine labels are scored. ``None`` (the default) is the dataset's own split, stored as such:
        ``"closed"``, except CUB-200 and Cars196, whose loaders split the classes and which are
        ``"zero-shot"`` only (so a config written before protocols existed reads the same). A protocol the
        dataset cannot support is a ``ValueError`` here, before anything is loaded.
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
    eval_epochs : "default", int or sequence of int
        When to evaluate retrieval, VARIANCE and geometry (see :func:`evaluation_epochs`): ``"default"``
        is DESIGN.md §3's schedule (every epoch up to 10, every 5 up to 50, then every 10), an integer
        ``n`` every ``n`` epochs, a sequence those epochs. Epoch 0 (the untrained head, the reference of
        every speed) and the last epoch are always evaluated. A list is stored as a sorted tuple.
    keep_embeddings : bool
        Keep the evaluation embeddings of every evaluated epoch in the result (for the training scrubber).
    max_per_class : int, optional
        Train on the first ``max_per_class`` training samples of every *training* class of the protocol
        only (a class-balanced subset, for CPU-budget runs; a superclass of ``coarse-to-fine`` takes its
        fine classes in turn; the evaluation split is always complete). ``None``: all of them.
    data_root, cache_dir, download : where the real datasets and the feature cache live.
    """

    dataset: str = "digits"
    protocol: Optional[str] = None
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
    eval_epochs: Union[str, int, Tuple[int, ...]] = "default"
    keep_embeddings: bool = False
    max_per_class: Optional[int] = None
    data_root: Optional[str] = None
    cache_dir: Optional[str] = None
    download: bool = False

    def __post_init__(self):
        if self.protocol is None:
            self.protocol = native_protocol(self.dataset)
        validate_config(self)
        if isinstance(self.eval_epochs, (list, tuple)):  # JSON gives a list: store one canonical form
            self.eval_epochs = tuple(sorted({_epoch(e) for e in self.eval_epochs}))

    def evaluated_epochs(self) -> Tuple[int, ...]:
        """The epochs this run evaluates: :func:`evaluation_epochs` of ``epochs`` and ``eval_epochs``."""
        return evaluation_epochs(self.epochs, self.eval_epochs)

    def protocol_split(self):
        """This run's :class:`vgteach.protocols.Protocol`: which classes train, which are scored."""
        from ..protocols import protocol_for

        return protocol_for(self.protocol, self.dataset)

    def input_spec(self, progress: bool = True):
        """Where this run's inputs come from, as one :class:`vgteach.inputs.InputSpec`: the dataset's
        registry entry (looked up once), the backbone, the data and cache folders, the device of a frozen
        backbone and ``download``. The trainer and the study load every split from it."""
        from ..inputs import InputSpec

        return InputSpec.of(
            self.dataset,
            backbone=self.backbone,
            root=self.data_root,
            cache_dir=self.cache_dir,
            device=self.device,
            download=self.download,
            progress=progress,
        )

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict) -> "TrainConfig":
        """The config of ``values`` (``to_dict``'s, or an older study.json's ``config``). Written before
        ``eval_epochs``: its ``eval_every``; before ``protocol``: the dataset's own split (``"closed"``;
        ``"zero-shot"`` for CUB-200 and Cars196)."""
        known = {f.name for f in dataclasses.fields(cls)}
        if "eval_every" in values and "eval_epochs" not in values:  # written before eval_epochs existed
            values = {**values, "eval_epochs": values["eval_every"]}
            values.pop("eval_every")
        unknown = set(values) - known
        if unknown:
            raise ValueError(f"unknown config fields {sorted(unknown)}; valid fields: {sorted(known)}")
        return cls(**values)

    def replace(self, **changes) -> "TrainConfig":
        return dataclasses.replace(self, **changes)


def native_protocol(dataset) -> str:
    """The protocol of ``dataset``'s own split: ``"zero-shot"`` for a dataset its loader splits
    class-disjoint (CUB-200, Cars196), else ``"closed"`` (also for an unknown name, which
    :func:`validate_config` then reports)."""
    from ..data.registry import REGISTRY

    spec = REGISTRY.get(dataset)
    return "zero-shot" if spec is not None and spec.protocol == "zero-shot" else "closed"


def validate_config(config: TrainConfig) -> None:
    """Raise ``ValueError`` naming the first bad field (names are checked against the registries; the
    protocol against what the dataset supports, :func:`vgteach.protocols.protocol_for`)."""
    from ..backbones import BACKBONE_NAMES
    from ..data import DATASET_NAMES
    from ..losses import LOSS_NAMES

    for name, valid in (
        ("dataset", DATASET_NAMES),
        ("backbone", BACKBONE_NAMES),
        ("loss", LOSS_NAMES),
        ("head", HEADS),
        ("device", ("auto", "cpu", "cuda")),
    ):
        value = getattr(config, name)
        if value not in valid and not (name == "device" and isinstance(value, str) and value.startswith("cuda:")):
            raise ValueError(f"unknown {name} {value!r}; valid: {', '.join(valid)}")
    for name in ("embedding_dim", "hidden_dim", "epochs", "batch_size", "m_per_class"):
        setattr(config, name, validate_positive_int(getattr(config, name), name))  # NumPy integers -> int
    validate_eval_epochs(config.eval_epochs, config.epochs)
    if config.batch_size < 2 * config.m_per_class:
        raise ValueError(
            f"batch_size={config.batch_size} must hold at least two classes of m_per_class={config.m_per_class} samples"
        )
    if not (isinstance(config.lr, (int, float)) and config.lr > 0):
        raise ValueError(f"lr must be a positive number, got {config.lr!r}")
    if not isinstance(config.loss_kwargs, dict):
        raise TypeError(f"loss_kwargs must be a dict, got {type(config.loss_kwargs).__name__}")
    config.max_per_class = validate_positive_int(config.max_per_class, "max_per_class", allow_none=True)
    if isinstance(config.seed, bool) or not isinstance(config.seed, int) or config.seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {config.seed!r}")
    config.protocol_split()  # an unsupported protocol fails here, not after the features are extracted


def _epoch(value) -> int:
    """An epoch number from a list (``numpy`` integers included); anything else is returned unchanged
    for :func:`validate_eval_epochs` to reject."""
    return int(value) if isinstance(value, numbers.Integral) and not isinstance(value, bool) else value


def validate_eval_epochs(schedule, epochs: int) -> None:
    """Raise ``ValueError``/``TypeError`` unless ``schedule`` is a valid ``eval_epochs`` for ``epochs``."""
    if isinstance(schedule, str):
        if schedule not in EVAL_SCHEDULES:
            raise ValueError(
                f"unknown eval_epochs schedule {schedule!r}; valid: {', '.join(EVAL_SCHEDULES)}, "
                "a positive integer (every n epochs) or a list of epochs"
            )
    elif isinstance(schedule, numbers.Integral) and not isinstance(schedule, bool):
        if schedule < 1:
            raise ValueError(f"eval_epochs as an integer evaluates every n epochs: n >= 1, got {schedule}")
    elif isinstance(schedule, (list, tuple)):
        bad = [e for e in schedule if not isinstance(_epoch(e), int) or not 0 <= e <= epochs]
        if bad:
            raise ValueError(f"eval_epochs must list epochs between 0 and epochs={epochs}, got {bad[0]!r}")
    else:
        raise TypeError(
            f"eval_epochs must be a schedule name, an integer or a list of epochs, got {type(schedule).__name__}"
        )


def evaluation_epochs(epochs: int, schedule="default") -> Tuple[int, ...]:
    """The epochs (0 … ``epochs``) at which a run evaluates, sorted; 0 and ``epochs`` always included.

    Speeds are measured on this grid (DESIGN.md §3: a convergence epoch is the first *evaluated* epoch
    that meets its rule), so they are only as fine as the schedule. ``"default"``: every epoch up to 10,
    every 5 up to 50, then every 10 — the paper profile included, so that a loss converging within its
    first ten epochs is told apart from one that needs ten. An integer ``n``: every ``n`` epochs. A
    sequence: those epochs.

    >>> evaluation_epochs(100)[:14], evaluation_epochs(100)[-3:]
    ((0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 15, 20, 25), (80, 90, 100))
    """
    validate_eval_epochs(schedule, epochs)
    if isinstance(schedule, str):  # "default", the only name
        chosen = {e for e in range(epochs + 1) if e <= 10 or (e <= 50 and e % 5 == 0) or e % 10 == 0}
    elif isinstance(schedule, (list, tuple)):
        chosen = {_epoch(e) for e in schedule}
    else:
        chosen = set(range(0, epochs + 1, int(schedule)))
    return tuple(sorted(chosen | {0, epochs}))


#: overrides of :class:`TrainConfig`'s defaults (which are the paper's) for each profile
PROFILES = {
    "smoke": {"epochs": 3, "batch_size": 128, "lr": 1e-3},
    "book": {"epochs": 30, "batch_size": 256, "lr": 1e-3},
    "paper": {"epochs": 100, "batch_size": 512, "lr": 1e-4, "embedding_dim": 128},
}


#: the data a chapter trains on in each profile, ``(dataset, backbone)`` (DESIGN.md §6): digits for instant
#: smoke runs, the shipped CIFAR-10 features for the book, the paper's protocol (CIFAR-10 through a frozen
#: ViT-B/32, downloaded when the reader allows it) on a GPU
CHAPTER_DATA = {
    "smoke": ("digits", "identity"),
    "book": ("cifar10-features", "identity"),
    "paper": ("cifar10", "vit_b_32"),
}


def chapter_config(
    profile: str,
    loss: str,
    dataset: Optional[str] = None,
    backbone: Optional[str] = None,
    protocol: Optional[str] = None,
    **overrides,
) -> TrainConfig:
    """The config of a chapter's live training: ``make_config(profile, ...)`` on the profile's data.

    ``dataset``/``backbone`` ``None`` take :data:`CHAPTER_DATA`'s choice for ``profile``; a dataset given
    without a backbone is read as it is (``identity``: raw vectors or pixels), except the profile's own
    dataset, which keeps the profile's backbone. ``protocol`` is :attr:`TrainConfig.protocol` (``"closed"``,
    ``"zero-shot"``, ``"coarse-to-fine"``; ``None``: the dataset's own split). Everything else (``device``, ``download``, ``data_root``,
    ``keep_embeddings``, ...) passes through to :func:`make_config`.

    >>> chapter_config("book", "triplet").dataset
    'cifar10-features'
    >>> chapter_config("book", "triplet", protocol="zero-shot").protocol_split().eval_classes
    ('dog', 'frog', 'horse', 'ship', 'truck')
    """
    if profile not in CHAPTER_DATA:
        raise ValueError(f"unknown profile {profile!r}; valid: {', '.join(CHAPTER_DATA)}")
    default_dataset, default_backbone = CHAPTER_DATA[profile]
    if backbone is None:
        backbone = default_backbone if dataset in (None, default_dataset) else "identity"
    dataset = dataset or default_dataset
    return make_config(profile, dataset=dataset, backbone=backbone, loss=loss, protocol=protocol, **overrides)


def make_config(profile: str = "book", **overrides) -> TrainConfig:
    """A :class:`TrainConfig` from a profile's settings plus ``overrides`` (which win), e.g. ``protocol``.

    >>> make_config("smoke", dataset="digits", loss="triplet", loss_kwargs={"margin": 0.1})
    >>> make_config("book", dataset="cifar10-features", protocol="coarse-to-fine")
    """
    if profile not in PROFILES:
        raise ValueError(f"unknown profile {profile!r}; valid: {', '.join(PROFILES)}")
    return TrainConfig(**{**PROFILES[profile], **overrides})
