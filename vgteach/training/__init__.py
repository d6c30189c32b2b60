"""Training engine: one loop for all seven losses, and the paper's study on top of it.

    from vgteach.training import make_config, train, run_study
    result = train(make_config("book", dataset="digits", loss="triplet"))
    summary = run_study(dataset="digits", profile="book", out="runs/study")
    summary = run_study(grid="robustness", seeds=(0, 1, 2))     # a setting column: low / default / high

Modules: :mod:`~vgteach.training.config` (TrainConfig, profiles), :mod:`~vgteach.training.sampler`
(m-per-class batches), :mod:`~vgteach.training.head`, :mod:`~vgteach.training.trainer` (the loop around
the public GREEDINESS tracker :class:`vgteach.track.GreedinessTracker`, checkpoints),
:mod:`~vgteach.training.speeds` (convergence and compaction epochs, the run's summary), the protocols
(closed, zero-shot, coarse-to-fine) of :mod:`vgteach.protocols`,
:mod:`~vgteach.training.distributed` (torchrun), :mod:`~vgteach.training.study`,
:mod:`~vgteach.training.grids` (the hyper-parameter grids of a grid study: ``robustness``, ``temperature``)
and :mod:`~vgteach.training.report`.
"""

from .config import CHAPTER_DATA, PROFILES, TrainConfig, chapter_config, make_config
from .grids import GRIDS
from .head import EmbeddingHead
from .sampler import MPerClassBatches
from .speeds import (
    compaction_epoch,
    convergence_epoch,
    intra_change,
    map_convergence_epoch,
    ratio_change,
    ratio_compaction_epoch,
)
from .study import run_study
from .trainer import TrainResult, load_data, train

__all__ = [
    "CHAPTER_DATA",
    "GRIDS",
    "PROFILES",
    "TrainConfig",
    "chapter_config",
    "make_config",
    "EmbeddingHead",
    "MPerClassBatches",
    "run_study",
    "TrainResult",
    "load_data",
    "train",
    "convergence_epoch",
    "map_convergence_epoch",
    "compaction_epoch",
    "intra_change",
    "ratio_compaction_epoch",
    "ratio_change",
]
