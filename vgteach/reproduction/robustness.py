"""Does a verdict survive its hyper-parameters? :func:`score_robustness` (DESIGN.md §5, after Musgrave et al.'s
reality check): each loss's main hyper-parameter at half, default and double — contrastive m, triplet α,
npair s, infonce τ, arcface s, supcon τ, ccl τ — every loss at the same grid point, and each claim scored at
each point. A claim is ``robust`` when its verdict is the same at every point; otherwise the table names the
setting(s) that flip it, from the verdict at ``default``.
"""

from __future__ import annotations

from typing import Optional

import pandas as pd

from .claims import CLAIMS
from .scoring import score_claims

#: the grid points of a robustness study (summary column ``setting``), in the order they are shown
SETTINGS = ("low", "default", "high")


def settings_of(summary: pd.DataFrame) -> list:
    """The summary's settings: those of :data:`SETTINGS` first, in order, then any others sorted."""
    if not isinstance(summary, pd.DataFrame) or "setting" not in summary.columns:
        raise ValueError("summary must be a robustness study's summary.csv as a DataFrame, with a 'setting' column")
    found = summary["setting"].dropna().unique().tolist()
    if not found:
        raise ValueError("the summary's 'setting' column is empty")
    return [s for s in SETTINGS if s in found] + sorted(s for s in found if s not in SETTINGS)


def flips(verdicts: dict, base: str) -> str:
    """``"robust"``, ``"not testable"`` or ``"flips at high: mixed → reproduced"`` against the verdict at ``base``."""
    values = set(verdicts.values())
    if values == {"not testable"}:
        return "not testable"
    if len(values) == 1:
        return "robust"
    changed = [f"{s}: {verdicts[base]} → {v}" for s, v in verdicts.items() if s != base and v != verdicts[base]]
    return "flips at " + "; at ".join(changed)


def score_robustness(
    summary: pd.DataFrame, claims=CLAIMS, protocol: Optional[str] = None, dataset: Optional[str] = None
) -> pd.DataFrame:
    """Score every claim at every grid point of a robustness study, and say whether its verdict holds.

    Parameters
    ----------
    summary : pandas.DataFrame
        A robustness study's ``summary.csv``: one row per loss, seed and ``setting`` (``low``, ``default``,
        ``high``: each loss's main hyper-parameter at half, default and double).
    claims, protocol, dataset
        As for :func:`~vgteach.reproduction.score_claims`.

    Returns
    -------
    DataFrame, one row per claim:
        ``claim``, ``measurement``, ``reading``, ``reading kind``; one column per setting with the verdict
        there (``low``, ``default``, ``high``); ``robust`` (True when the verdict is the same at every setting
        and the claim is testable); ``robustness``: ``"robust"``, ``"not testable"`` or the settings that flip
        it, ``"flips at high: mixed → reproduced"`` (from the verdict at ``default``, else the first setting);
        ``evidence``: the evidence at that base setting.
    """
    settings = settings_of(summary)
    base = "default" if "default" in settings else settings[0]
    scores = {
        setting: score_claims(summary[summary["setting"] == setting], claims, protocol, dataset) for setting in settings
    }
    rows = []
    for i, row in scores[base].iterrows():
        verdicts = {setting: scores[setting].loc[i, "verdict"] for setting in settings}
        text = flips(verdicts, base)
        rows.append(
            {
                "claim": row["claim"],
                "measurement": row["measurement"],
                "reading": row["reading"],
                "reading kind": row["reading kind"],
                **verdicts,
                "robust": text == "robust",
                "robustness": text,
                "evidence": row["evidence"],
            }
        )
    return pd.DataFrame(rows)
