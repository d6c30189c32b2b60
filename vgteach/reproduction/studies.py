"""Every claim on every study in one long table: :func:`score_studies` (DESIGN.md §5).

Each study is scored under its protocol (:data:`~vgteach.reproduction.claims.PROTOCOLS`), so the granularity
claims that a closed set of coarse classes can only test indirectly read on the ``coarse-to-fine`` study as
"on the fine labels" and on the ``zero-shot`` study as "on the unseen classes" (:meth:`Claim.on`); a
robustness study (a ``setting`` column) is scored at ``default`` and says whether each verdict survives.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Optional

import pandas as pd

from .claims import CLAIMS, PROTOCOLS
from .robustness import score_robustness
from .scoring import score_claims

#: the columns of :func:`score_studies`, in order
STUDY_COLUMNS = (
    "study",
    "protocol",
    "claim",
    "measurement",
    "reading kind",
    "reading",
    "verdict",
    "evidence",
    "robustness",
)


def parts_of(name: str, study) -> tuple:
    """``(summary, study.json metadata or {})`` of a :class:`~vgteach.results.ReferenceResults` or a summary."""
    if isinstance(study, pd.DataFrame):
        return study, {}
    summary, meta = getattr(study, "summary", None), getattr(study, "meta", None)
    if not isinstance(summary, pd.DataFrame) or not isinstance(meta, dict):
        raise TypeError(f"study {name!r} must be a summary DataFrame or vgteach.results.load(...)'s result")
    return summary, meta


def protocol_of_study(name: str, summary: pd.DataFrame, meta: dict, given: Optional[str]) -> str:
    """The protocol: ``given``, else study.json's, else the summary's ``protocol`` column, else the one the
    study's name contains (``…-zero-shot``, ``…-coarse-to-fine``), else ``"closed"``."""
    found = given or meta.get("protocol") or meta.get("config", {}).get("protocol")
    if isinstance(found, dict):  # study.json's "protocol" block: {"name": "zero-shot", "train_classes": …}
        found = found.get("name")
    if found is None and "protocol" in summary.columns and summary["protocol"].notna().any():
        found = summary["protocol"].dropna().iloc[0]
    if found is None:
        found = next((p for p in PROTOCOLS if p != "closed" and p in name), "closed")
    if found not in PROTOCOLS:
        raise ValueError(f"study {name!r}: protocol must be one of {tuple(PROTOCOLS)}, got {found!r}")
    return found


def score_studies(studies: Mapping, claims=CLAIMS, protocols: Optional[Mapping] = None) -> pd.DataFrame:
    """Score every claim on every study: one row per (study, claim), the evidence beside each verdict.

    Parameters
    ----------
    studies : mapping of str to DataFrame or ReferenceResults
        Name -> a study's ``summary.csv``, or ``vgteach.results.load(name)`` (whose ``study.json`` gives the
        protocol and the dataset), e.g. ``{"cifar10": results.load("cifar10"), …}``.
    claims : sequence of Claim
        Default :data:`~vgteach.reproduction.CLAIMS`.
    protocols : mapping of str to str, optional
        A study's protocol where neither its metadata, its summary nor its name says it (see
        :func:`protocol_of_study`).

    Returns
    -------
    DataFrame with the columns :data:`STUDY_COLUMNS`: ``robustness`` is ``"robust"``, ``"not testable"`` or
    ``"flips at …"`` for a robustness study (whose verdicts are those at ``default``) and ``""`` otherwise.
    """
    if not isinstance(studies, Mapping) or not studies:
        raise TypeError("studies must be a non-empty mapping of study name -> summary or ReferenceResults")
    protocols = dict(protocols or {})
    unknown = set(protocols) - set(studies)
    if unknown:
        raise ValueError(f"protocols names studies that are not given: {sorted(unknown)}")
    tables = []
    for name, study in studies.items():
        summary, meta = parts_of(name, study)
        protocol = protocol_of_study(name, summary, meta, protocols.get(name))
        dataset = meta.get("config", {}).get("dataset")
        if "setting" in summary.columns:
            table = score_robustness(summary, claims, protocol, dataset)
            if "default" not in table.columns:
                raise ValueError(f"study {name!r} has settings but no 'default' one to report")
            table = table.rename(columns={"default": "verdict"})
        else:
            table = score_claims(summary, claims, protocol, dataset).assign(robustness="")
        tables.append(table.assign(study=name, protocol=protocol)[list(STUDY_COLUMNS)])
    return pd.concat(tables, ignore_index=True)
