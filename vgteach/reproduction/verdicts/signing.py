"""What signed compaction changed (issue 20): the compaction-speed claim on one study under the old, unsigned
rule (:data:`UNSIGNED_RULE`, recomputed from the study's history) and as it is scored today."""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from ...training.speeds import first_evaluated_epoch
from ..claims import CLAIMS, Claim
from ..scoring import score_claims
from .table import UNSIGNED_RULE  # noqa: F401 - the rule's words live with the chapter's other names


def unsigned_compaction_epochs(history: pd.DataFrame, column: str = "intra") -> pd.DataFrame:
    """Each run's compaction epoch by the old, unsigned rule (:data:`UNSIGNED_RULE`): ``loss``, ``seed`` and
    ``compaction_epoch`` — what studies written before compaction was signed recorded."""
    if not isinstance(history, pd.DataFrame) or not {"loss", "seed", "epoch", column} <= set(history.columns):
        raise ValueError(f"history must be a study's history.csv (columns loss, seed, epoch, {column})")
    rows = [
        {
            "loss": loss,
            "seed": seed,
            "compaction_epoch": first_evaluated_epoch(
                run, column, lambda v, start, final: np.abs(v - final) <= 0.1 * abs(start - final)
            ),
        }
        for (loss, seed), run in history.groupby(["loss", "seed"], sort=False)
    ]
    return pd.DataFrame(rows)


def _claim_on(column: str) -> Claim:
    found = [claim for claim in CLAIMS if claim.column == column]
    if len(found) != 1:
        raise ValueError(f"no single claim of CLAIMS is measured on {column!r}")
    return found[0]


@dataclass(frozen=True)
class SigningChange:
    """The compaction-speed claim on one study under the old rule and under signed compaction."""

    claim: str
    before: str
    after: str
    not_compacting: tuple

    @property
    def changed(self) -> bool:
        return self.before != self.after


def signing_change(study, column: str = "compaction_epoch") -> SigningChange:
    """The verdict of the claim measured on ``column`` before and after compaction was signed (issue 20).

    *Before*: every run has a compaction epoch by :data:`UNSIGNED_RULE`, recomputed from the study's history,
    and no run counts as "does not compact". *After*: :func:`~vgteach.reproduction.score_claims` as it
    scores today (a run whose intra does not fall counts as slower than any run that compacts).

    Parameters
    ----------
    study : ReferenceResults
        ``vgteach.results.load(name)``: its ``history`` and ``summary``.

    Returns
    -------
    SigningChange with the two verdicts and the losses with a run that does not compact (``intra_change``
    ≥ 0 in some seed), in the summary's order.
    """
    history, summary = getattr(study, "history", None), getattr(study, "summary", None)
    if not isinstance(history, pd.DataFrame) or not isinstance(summary, pd.DataFrame):
        raise TypeError("study must be vgteach.results.load(...)'s result (history and summary)")
    claim = _claim_on(column)
    if claim.never_when == "":
        raise ValueError(f"the claim on {column!r} is not a compaction speed (it has no never_when)")
    reading = "ratio" if column.startswith("ratio") else "intra"
    old = unsigned_compaction_epochs(history, reading)
    before_summary = summary.drop(columns=[column], errors="ignore").merge(
        old.rename(columns={"compaction_epoch": column}), on=["loss", "seed"], how="left"
    )
    unsigned = replace(claim, never_when="")
    before = score_claims(before_summary, [unsigned])["verdict"].iloc[0]
    after = score_claims(summary, [claim])["verdict"].iloc[0]
    change = claim.never_when
    losses = list(dict.fromkeys(summary["loss"]))
    never = ()
    if change in summary.columns:
        spreading = summary.loc[pd.to_numeric(summary[change], errors="coerce") >= 0, "loss"]
        never = tuple(loss for loss in losses if loss in set(spreading))
    return SigningChange(claim.sentence, before, after, never)
