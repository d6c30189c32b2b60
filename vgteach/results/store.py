"""The committed reference results, shipped inside the package: ``vgteach.results.load("cifar10")``.

Every chapter shows the same reference runs wherever it runs — a repository checkout, a ``pip install``,
a notebook opened alone on Colab — because the tables travel with the package (``vgteach/reference_results``)
instead of living only in the repository's ``results/`` folder. ``results/`` stays the human-readable copy;
a test keeps the two byte-identical, and ``results/regenerate.sh`` writes both.

Each study folder holds the files ``vgteach study`` writes (see ``results/README.md``): ``history.csv``
(per loss, seed and epoch; epoch 0 is the untrained head), ``summary.csv`` (per loss and seed),
``summary_by_loss.csv`` (mean and ``<metric>_std`` over seeds) and ``study.json`` (configuration, command,
versions, wall time).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

#: the package folder of the reference studies (``vgteach/reference_results``, package data)
ROOT = Path(__file__).resolve().parents[1] / "reference_results"
#: short names -> study folders (a study not generated yet is not in :func:`names`, and loading it says so)
ALIASES = {
    "cifar10": "cifar10-efficientnet_lite0",
    "digits": "digits-identity",
    "zero-shot": "cifar10-efficientnet_lite0-zero-shot",
    "coarse-to-fine": "cifar10-efficientnet_lite0-coarse-to-fine",
    "robustness": "cifar10-features-robustness",
    "temperature": "cifar10-features-temperature",
}
FILES = ("history.csv", "summary.csv", "summary_by_loss.csv", "study.json")


@dataclass(frozen=True)
class ReferenceResults:
    """One reference study: its tables and its ``study.json`` metadata."""

    name: str
    history: pd.DataFrame
    summary: pd.DataFrame
    summary_by_loss: pd.DataFrame
    meta: dict

    @property
    def dataset(self) -> str:
        return self.meta["config"]["dataset"]


def names() -> tuple:
    """The study folders that ship with the package (e.g. ``cifar10-efficientnet_lite0``)."""
    return tuple(sorted(p.name for p in ROOT.iterdir() if (p / "study.json").is_file())) if ROOT.is_dir() else ()


def folder(name: str) -> Path:
    """The package folder of study ``name`` (a short name of :data:`ALIASES` or a folder name)."""
    if not isinstance(name, str):
        raise TypeError(f"results name must be a string, got {type(name).__name__}")
    path = ROOT / ALIASES.get(name, name)
    if not (path / "study.json").is_file():
        valid = ", ".join(sorted(set(ALIASES) | set(names())))
        raise ValueError(f"no reference results named {name!r}; valid names: {valid}")
    return path


def load(name: str = "cifar10") -> ReferenceResults:
    """Load the reference study ``name`` (``"cifar10"``, ``"digits"`` or a folder name of :func:`names`)."""
    path = folder(name)
    return ReferenceResults(
        name=path.name,
        history=pd.read_csv(path / "history.csv"),
        summary=pd.read_csv(path / "summary.csv"),
        summary_by_loss=pd.read_csv(path / "summary_by_loss.csv"),
        meta=json.loads((path / "study.json").read_text()),
    )


def summary_of(reference) -> pd.DataFrame:
    """The per-loss-and-seed summary of a :class:`ReferenceResults`, or ``reference`` itself when it is such
    a table already (a study's ``summary.csv``); TypeError for anything else."""
    summary = reference.summary if isinstance(reference, ReferenceResults) else reference
    if not isinstance(summary, pd.DataFrame) or not {"loss", "seed"} <= set(summary.columns):
        raise TypeError("reference must be ReferenceResults or a summary DataFrame with 'loss' and 'seed' columns")
    return summary


def curve(reference: ReferenceResults, loss: str, column: str) -> pd.Series:
    """Mean over seeds of ``column`` for ``loss``, per evaluated epoch (epochs without a value dropped)."""
    history = reference.history
    if loss not in set(history["loss"]):
        raise ValueError(f"loss {loss!r} is not in the results; valid: {sorted(set(history['loss']))}")
    if column not in history.columns:
        raise ValueError(f"the history has no column {column!r}")
    return history[history["loss"] == loss].groupby("epoch")[column].mean().dropna()
