"""The reproduction chapter's verdicts read in words: which readings every study reproduces, how many keep
their verdict across a robustness grid, how two studies agree, each half of the trade-off, the tallies."""

from __future__ import annotations

from typing import Mapping, Optional

import pandas as pd

from ..claims import CLAIMS
from ..scoring import VERDICTS
from .table import (
    MEASURED_AS,
    STUDY_TITLES,
    _check_scored,
    claims_with,
    measured_as,
    robustness_note,
    studies_of,
    verdict_counts,
    verdict_grid,
    verdict_of,
)


def _joined(parts) -> str:
    parts = list(parts)
    if not parts:
        return ""
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


def claim_names(keys, scored: pd.DataFrame) -> str:
    """``(claim, column)`` keys as a reader reads them: ``“sentence” (measured as)``, joined with "and"."""
    grid = verdict_grid(scored)
    return _joined(
        f"“{claim}” ({measured_as(column, grid.loc[(claim, column), 'reading kind'])})" for claim, column in keys
    )


def consensus_text(scored: pd.DataFrame) -> str:
    """Which readings every scored study reproduces, and how many no study reproduces, in one or two
    sentences (``"Reproduced on every study: “…” (…). 9 of the 15 readings are reproduced on no study."``)."""
    grid = verdict_grid(scored)
    studies = studies_of(scored)
    everywhere = claims_with(scored, "reproduced")
    nowhere = int((grid[studies] != "reproduced").all(axis=1).sum())
    first = (
        f"Reproduced on every study: {claim_names(everywhere, scored)}."
        if everywhere
        else "No reading is reproduced on every study."
    )
    if nowhere == len(grid):
        return "No reading is reproduced on any study."
    return f"{first} {nowhere} of the {len(grid)} readings are reproduced on no study." if nowhere else first


def flip_settings(text: str) -> tuple:
    """The settings a robustness text flips at (``"flips at low: a → b; at high: …"`` -> ``("low", "high")``)."""
    note = robustness_note(text)
    return tuple(note.removeprefix("flips at ").split(", ")) if note.startswith("flips at ") else ()


def robustness_text(scored: pd.DataFrame, study: str = "robustness") -> str:
    """How many readings keep their verdict at every setting of a robustness study, and where the others flip
    (``"9 of the 15 readings are robust: …; the other 6 flip at the low setting, the high one or both."``)."""
    _check_scored(scored)
    rows = scored[scored["study"] == study]
    if rows.empty or not rows["robustness"].astype(bool).any():
        raise ValueError(f"study {study!r} is not a scored robustness study")
    robust = int((rows["robustness"] == "robust").sum())
    flipped = [flip_settings(text) for text in rows["robustness"] if flip_settings(text)]
    text = f"{robust} of the {len(rows)} readings are robust, with the same verdict at every setting"
    if not flipped:
        return text + "."
    where = {setting for settings in flipped for setting in settings}
    both = any(len(settings) > 1 for settings in flipped)
    places = [f"the {setting} setting" for setting in ("low", "high") if setting in where]
    places += [f"the {setting} setting" for setting in sorted(where - {"low", "high"})]
    if both and len(places) > 1:
        places.append("both")
    return f"{text}; the other {len(flipped)} flip at {_joined(places).replace(' and ', ' or ')}."


def agreement_text(scored: pd.DataFrame, study: str, other: str, study_words: str, other_words: str) -> str:
    """How many readings get the same verdict on two studies (``"On the shipped features, 6 of the 15
    readings get the verdict they get on the closed reference runs."``)."""
    grid = verdict_grid(scored)
    for name in (study, other):
        if name not in grid.columns:
            raise ValueError(f"study {name!r} is not scored; scored: {studies_of(scored)}")
    same = int((grid[study] == grid[other]).sum())
    return f"{study_words[:1].upper()}{study_words[1:]}, {same} of the {len(grid)} readings get the verdict they get {other_words}."


def part_text(scored: pd.DataFrame, study: str, part: str) -> str:
    """The verdicts of one half of the paper's trade-off on ``study`` (``part``: ``"granularity"`` or
    ``"efficiency"``, :data:`~vgteach.reproduction.claims.TRADE_OFF_PARTS`): ``"final intra: not reproduced;
    within-class rank: mixed"``."""
    columns = [claim.column for claim in CLAIMS if claim.part == part]
    if not columns:
        raise ValueError(f"part must be 'granularity' or 'efficiency', got {part!r}")
    return "; ".join(f"{MEASURED_AS.get(column, column)}: {verdict_of(scored, study, column)}" for column in columns)


def tally_text(scored: pd.DataFrame, verdict: str = "reproduced", titles: Optional[Mapping] = None) -> str:
    """How many readings get ``verdict`` on each study, in one sentence (``"Reproduced: 2 of the 15
    readings on closed, 0 on zero-shot, 0 on coarse-to-fine and 4 on robustness."``)."""
    counts = verdict_counts(scored)
    if verdict not in VERDICTS:
        raise ValueError(f"verdict must be one of {VERDICTS}, got {verdict!r}")
    titles = dict(titles or {})
    n = len(verdict_grid(scored))
    found = counts[verdict] if verdict in counts.columns else pd.Series(0, index=counts.index)
    parts = [f"{int(found[study])} on {titles.get(study, STUDY_TITLES.get(study, study))}" for study in counts.index]
    parts[0] = parts[0].replace(" on ", f" of the {n} readings on ", 1)
    return f"{verdict[:1].upper()}{verdict[1:]}: {_joined(parts)}."


def counts_table(scored: pd.DataFrame, titles: Optional[Mapping] = None) -> pd.DataFrame:
    """:func:`verdict_counts` as the chapter shows it: one row per verdict that occurs, one column per study
    (headed as in :func:`verdict_table`), so that it stays as narrow as the verdict table."""
    titles = dict(titles or {})
    counts = verdict_counts(scored).T
    counts.columns = [titles.get(study, STUDY_TITLES.get(study, study)) for study in counts.columns]
    counts.index.name = "verdict"
    return counts
