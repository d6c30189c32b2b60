"""Training engine: one loop for all seven losses, and the paper's study on top of it.

    from vgteach.training import make_config, train, run_study
    result = train(make_config("book", dataset="digits", loss="triplet"))
    summary = run_study(dataset="digits", profile="book", out="runs/study")

Modules: :mod:`~vgteach.training.config` (TrainConfig, profiles), :mod:`~vgteach.training.sampler`
(m-per-class batches), :mod:`~vgteach.training.head`, :mod:`~vgteach.training.tracking` (GREEDINESS per
step), :mod:`~vgteach.training.trainer` (the loop, checkpoints), :mod:`~vgteach.training.distributed`
(torchrun), :mod:`~vgteach.training.study` and :mod:`~vgteach.training.report`.
"""

from .config import CHAPTER_DATA, PROFILES, TrainConfig, chapter_config, make_config
from .head import EmbeddingHead
from .sampler import MPerClassBatches
from .study import run_study
from .trainer import TrainResult, compaction_epoch, convergence_epoch, intra_change, map_convergence_epoch, train

__all__ = [
    "CHAPTER_DATA",
    "PROFILES",
    "TrainConfig",
    "chapter_config",
    "make_config",
    "EmbeddingHead",
    "MPerClassBatches",
    "run_study",
    "TrainResult",
    "train",
    "convergence_epoch",
    "map_convergence_epoch",
    "compaction_epoch",
    "intra_change",
]
