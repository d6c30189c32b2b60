"""What each scored study is, for the reproduction chapter's table of studies: its data and settings, what the
head trains on and what every measure is scored on, and how many runs back each verdict."""

from __future__ import annotations

from typing import Mapping, Optional

import pandas as pd

from .table import STUDY_TITLES

#: how a study's data and settings are named in the chapter (issue 21's two datasets; digits as it is)
STUDY_DATA = {
    ("cifar10", "paper"): "full CIFAR-10, paper settings",
    ("cifar10-features", "book"): "shipped features, book settings",
    ("digits", "paper"): "digits, paper settings",
}


def _classes(names) -> str:
    names = [str(name) for name in names]
    if len(names) > 5:
        return f"all {len(names)} classes"
    return ", ".join(names)


def studies_table(studies: Mapping, titles: Optional[Mapping] = None) -> pd.DataFrame:
    """What each scored study is, one row per study: its data and settings, what the head trains on and what
    every measure is scored on (from ``study.json``'s protocol), and how many runs back each verdict.

    Parameters
    ----------
    studies : mapping of str to ReferenceResults
        Name -> ``vgteach.results.load(name)``, as given to :func:`~vgteach.reproduction.score_studies`.
    titles : mapping of str to str, optional
        A study's name in the table (default :data:`STUDY_TITLES`, else its name).
    """
    if not isinstance(studies, Mapping) or not studies:
        raise TypeError("studies must be a non-empty mapping of study name -> vgteach.results.load(...)")
    titles = dict(titles or {})
    rows = []
    for name, study in studies.items():
        meta = getattr(study, "meta", None)
        if not isinstance(meta, dict) or "config" not in meta:
            raise TypeError(f"study {name!r} must be vgteach.results.load(...)'s result (with study.json)")
        config, protocol = meta["config"], meta.get("protocol") or {}
        if not isinstance(protocol, dict):
            protocol = {"name": protocol}
        kind = protocol.get("name") or config.get("protocol") or "closed"
        trained, scored = protocol.get("train_classes", []), protocol.get("eval_classes", [])
        if kind == "coarse-to-fine":
            trained_on = f"{' / '.join(trained)} (superclasses)" if trained else "superclasses"
            scored_on = f"the {len(scored)} fine classes" if scored else "the fine classes"
        elif kind == "zero-shot":
            trained_on, scored_on = _classes(trained), f"{_classes(scored)} (unseen)"
        else:
            trained_on = _classes(trained) if trained else "every class"
            scored_on = "the same classes"
        settings = meta.get("grid", {}).get("settings", {}) if isinstance(meta.get("grid"), dict) else {}
        losses, seeds = len(meta.get("losses", [])), len(meta.get("seeds", []))
        runs = f"{losses} losses × {seeds} seed{'s' * (seeds != 1)}"
        if settings:
            runs = f"{losses} losses × {len(settings)} settings × {seeds} seed{'s' * (seeds != 1)}"
        data = STUDY_DATA.get((config.get("dataset"), meta.get("profile")))
        if data is None:
            data = f"{config.get('dataset')}, {meta.get('profile', 'study')} settings"
        rows.append(
            {
                "study": titles.get(name, STUDY_TITLES.get(name, name)),
                "data": data,
                "trained on": trained_on,
                "scored on": scored_on,
                "runs": runs,
            }
        )
    return pd.DataFrame(rows)
