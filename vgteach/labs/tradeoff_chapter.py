"""The exercises of the trade-off chapter (notebooks/tradeoff.ipynb).

Two questions about transfer (DESIGN.md §5): which loss retrieves best on classes its head never saw, predicted
from the training split's VARIANCE (:func:`check_transfer_prediction`), and Spearman's ρ worked out by hand
on a tiny table (:func:`check_spearman_by_hand`). Each truth is computed from the data the exercise shows
(a study's ``summary.csv``, the table's two columns), not typed in.
"""

from __future__ import annotations

import math
from typing import Optional

import numpy as np
import pandas as pd

from ..losses import LOSS_NAMES
from ..results.prose import LOSS_LABELS
from .kit import CheckResult, Failure, as_number, grader, require_answer

#: how close a hand-computed ρ must come (the table's ranks give ρ exactly; this forgives rounding)
RHO_TOLERANCE = 0.005
#: the training-split compression Roth et al. read (smaller: less compressed, better transfer, they find)
ROTH_MEASURE = "train_spectral_decay"
SPEARMAN_HINT = (
    "rank each column from 1 (smallest) to n, take d = rank of x − rank of y for every row, "
    "then ρ = 1 − 6 Σ d² / (n (n² − 1))."
)


def loss_name(answer) -> Optional[str]:
    """The ``build_loss`` name of ``answer``: a loss name (``"supcon"``) or its display name (``"SupCon"``,
    ``"N-pair"``), in any case; ``None`` when it names no loss."""
    if not isinstance(answer, str):
        return None
    wanted = answer.strip().lower()
    for name in LOSS_NAMES:
        if wanted in (name, LOSS_LABELS.get(name, name).lower()):
            return name
    return None


def loss_means(summary: pd.DataFrame, column: str) -> pd.Series:
    """Each loss's mean ``column`` over its seeds, largest first (a study's ``summary.csv``)."""
    if not isinstance(summary, pd.DataFrame) or "loss" not in summary.columns:
        raise ValueError("summary must be a study's summary.csv as a DataFrame, with a 'loss' column")
    if column not in summary.columns:
        raise ValueError(f"the summary has no column {column!r}")
    values = pd.to_numeric(summary[column], errors="coerce")
    return values.groupby(summary["loss"]).mean().dropna().sort_values(ascending=False)


@grader("check_transfer_prediction")
def check_transfer_prediction(answer, summary: pd.DataFrame, target: str = "recall@1") -> CheckResult:
    """Grade the prediction "which loss retrieves best on the unseen classes?".

    ``answer`` is a loss name (``"triplet"`` or ``"Triplet"``), or ``None`` while not answered. The truth is
    the loss with the largest mean ``target`` over its seeds in ``summary`` (the zero-shot study's
    ``summary.csv``). Either way the message says which loss the training split's least compressed
    embedding (the smallest ``train_spectral_decay``: Roth et al.'s rule) would have picked.
    """
    require_answer(answer)
    means = loss_means(summary, target)
    name = loss_name(answer)
    if name is None or name not in means.index:
        raise Failure(f"expected the name of a loss of the study ({_names(means.index)}), got {answer!r}.")
    best = means.index[0]
    rule = _roth_pick(summary)
    if name != best:
        place = list(means.index).index(name) + 1
        raise Failure(
            f"{_label(name)} comes {_ordinal(place)} of {len(means)} on {target} on the unseen classes "
            f"({means[name]:.3f}); {_label(best)} is first ({means[best]:.3f}).{rule}"
        )
    return f"right: {_label(best)} retrieves best on the unseen classes ({target} {means[best]:.3f}).{rule}"


def _roth_pick(summary: pd.DataFrame) -> str:
    """`` Roth et al.'s rule … picks X.`` (empty without the training split's spectral decay)."""
    if ROTH_MEASURE not in summary.columns:
        return ""
    least = loss_means(summary, ROTH_MEASURE).index[-1]
    return f" The least compressed training split (smallest spectral decay) is {_label(least)}'s."


def _label(name: str) -> str:
    return LOSS_LABELS.get(name, name)


def _names(names) -> str:
    return ", ".join(_label(name) for name in names)


def _ordinal(n: int) -> str:
    return f"{n}{'th' if 10 <= n % 100 <= 20 else {1: 'st', 2: 'nd', 3: 'rd'}.get(n % 10, 'th')}"


@grader("check_spearman_by_hand")
def check_spearman_by_hand(answer, x, y, tolerance: float = RHO_TOLERANCE) -> CheckResult:
    """Grade Spearman's ρ between the columns ``x`` and ``y`` of a small table, worked out by hand.

    ``answer`` is a number, or ``None`` while not answered. The truth is ``scipy.stats.spearmanr(x, y)``;
    the answer passes within ``tolerance``. A flipped sign and Pearson's r (the values not ranked) are
    named as such; otherwise the message says whether the answer is too large or too small, not the value.
    """
    require_answer(answer)
    x, y = np.asarray(x, dtype=float).reshape(-1), np.asarray(y, dtype=float).reshape(-1)
    if len(x) != len(y) or len(x) < 3:
        raise ValueError(f"x and y must have the same length, at least 3; got {len(x)} and {len(y)}")
    value = as_number(answer)
    if value is None or not math.isfinite(value):
        raise Failure(f"expected a number between −1 and 1, got {answer!r}.")
    from scipy.stats import pearsonr, spearmanr  # here: scipy.stats costs every lab 1.5 s of import

    truth = float(spearmanr(x, y)[0])
    if abs(value - truth) <= tolerance:
        return f"right: ρ = {truth:.3f} over the {len(x)} rows."
    if abs(value + truth) <= tolerance and abs(truth) > tolerance:
        raise Failure("the size is right but the sign is flipped.", "rank both columns the same way, smallest = 1.")
    if abs(value - float(pearsonr(x, y)[0])) <= tolerance:
        raise Failure("that is Pearson's r of the values themselves; Spearman's ρ is computed on their ranks.")
    raise Failure(f"{value:.3f} is too {'large' if value > truth else 'small'}.", SPEARMAN_HINT)
