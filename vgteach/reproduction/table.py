"""The reproduction chapter's verdicts as a reader reads them (DESIGN.md §5): one table, claims by studies.

:func:`~vgteach.reproduction.score_studies` scores every claim on every study in one long table (a row per
study and claim). A reader wants the opposite shape: one row per claim, one column per study, the verdict
coloured, and the evidence that decided it folded away beside the claim. :func:`verdict_table` draws that
(HTML, shown the same in the book, Jupyter and Colab); :func:`verdict_counts` and :func:`counts_text` give the
tallies the chapter's takeaways quote; :func:`signing_change` says what signed compaction changed on a study
(the old rule gave a run whose intra rises the epoch its rise settled)::

    from vgteach import results
    from vgteach.reproduction import score_studies
    from vgteach.reproduction.table import verdict_table

    scored = score_studies({name: results.load(name) for name in ("cifar10", "zero-shot")})
    verdict_table(scored)          # last expression of a cell: the table, then the evidence per claim
"""

from __future__ import annotations

import html
from dataclasses import dataclass, replace
from typing import Mapping, Optional

import numpy as np
import pandas as pd

from ..training.speeds import first_evaluated_epoch
from .claims import CLAIMS, Claim
from .scoring import VERDICTS, score_claims
from .studies import STUDY_COLUMNS

#: how each claim's measurement is named in the table (a claim's ``column`` -> a few words); the readings
#: of "compact" say which they are (absolute: ``intra``; relative: ``intra/inter``)
MEASURED_AS = {
    "intra": "final intra",
    "ratio": "final intra/inter",
    "centroid_dist_min": "closest two class means",
    "recall@1": "R@1",
    "intra_change": "change of intra",
    "ratio_change": "change of intra/inter",
    "compaction_epoch": "epoch intra settles",
    "ratio_compaction_epoch": "epoch intra/inter settles",
    "effective_active_ratio": "effective active ratio",
    "grad_gini": "Gini of gradient norms",
    "convergence_epoch": "epoch R@1 settles",
    "map_convergence_epoch": "epoch MAP@R settles",
    "within_class_rank": "within-class rank",
    "centroid_dist_mean": "mean distance of class means",
    "centroid_dist_cv": "unevenness of those distances",
}
#: the background of each verdict's cell (text stays dark: readable in print and for colour-blind readers,
#: who read the word)
VERDICT_COLORS = {
    "reproduced": "#cfe8cf",
    "mixed": "#fbe7b5",
    "not reproduced": "#f4c7c3",
    "inconclusive": "#e4e4e4",
    "no difference": "#dbe6f2",
    "not testable": "#ffffff",
}
#: how a study is headed in the table where the chapter gives no title (its short name otherwise)
STUDY_TITLES = {
    "cifar10": "closed",
    "zero-shot": "zero-shot",
    "coarse-to-fine": "coarse-to-fine",
    "robustness": "robustness",
    "digits": "digits",
}
#: the old, unsigned rule for a compaction epoch (before issue 20): |v_t − v_T| ≤ 0.1·|v_0 − v_T|, whatever
#: the sign of the change, so a run whose intra rises got the epoch its rise settled
UNSIGNED_RULE = "first evaluated epoch within 10 % of intra's total change, whichever way it went"


def _check_scored(scored) -> None:
    if not isinstance(scored, pd.DataFrame) or not set(STUDY_COLUMNS) <= set(scored.columns):
        raise ValueError("scored must be vgteach.reproduction.score_studies(...)'s table (columns STUDY_COLUMNS)")
    if scored.empty:
        raise ValueError("scored is empty: score at least one study")


def column_of(measurement: str) -> str:
    """The summary column of a scored ``measurement`` (``"intra: triplet, supcon > …"`` -> ``"intra"``)."""
    return str(measurement).split(":", 1)[0]


def measured_as(column: str, reading_kind: str = "") -> str:
    """The table's name for a claim's measurement, with its reading of "compact" where it has one."""
    words = MEASURED_AS.get(column, column)
    return f"{words} ({reading_kind})" if reading_kind else words


def studies_of(scored: pd.DataFrame) -> list:
    """The studies of a scored table, in the order they were scored."""
    return list(dict.fromkeys(scored["study"]))


def verdict_grid(scored: pd.DataFrame) -> pd.DataFrame:
    """The verdicts as claims by studies: one row per claim (in the order scored), one column per study.

    Parameters
    ----------
    scored : DataFrame
        :func:`~vgteach.reproduction.score_studies`' table.

    Returns
    -------
    DataFrame indexed by ``(claim, column)`` (the paper's words and the summary column), with the columns
    ``reading kind`` and one per study (its verdict there; a robustness study's is the verdict at
    ``default``).
    """
    _check_scored(scored)
    frame = scored.assign(column=scored["measurement"].map(column_of))
    grid = frame.pivot_table(index=["claim", "column"], columns="study", values="verdict", aggfunc="first")
    order = list(dict.fromkeys(zip(frame["claim"], frame["column"])))
    kinds = frame.drop_duplicates(["claim", "column"]).set_index(["claim", "column"])["reading kind"]
    grid = grid.reindex(order)[studies_of(scored)]
    grid.insert(0, "reading kind", kinds.reindex(order))
    grid.columns.name = None
    return grid


def verdict_counts(scored: pd.DataFrame) -> pd.DataFrame:
    """How many claims get each verdict on each study: one row per study (in the order scored), one column
    per verdict that occurs (in :data:`~vgteach.reproduction.VERDICTS` order)."""
    _check_scored(scored)
    counts = pd.crosstab(scored["study"], scored["verdict"]).reindex(studies_of(scored))
    counts = counts[[verdict for verdict in VERDICTS if verdict in counts.columns]]
    counts.columns.name = counts.index.name = None
    return counts


def counts_text(scored: pd.DataFrame, study: str) -> str:
    """``"2 reproduced, 7 mixed and 6 not reproduced"``: the verdicts of ``study``, most frequent first
    (ties in :data:`~vgteach.reproduction.VERDICTS` order)."""
    _check_scored(scored)
    if study not in set(scored["study"]):
        raise ValueError(f"study {study!r} is not scored; scored: {studies_of(scored)}")
    counts = verdict_counts(scored).loc[study]
    counts = counts[counts > 0]
    ranked = sorted(counts.items(), key=lambda item: (-item[1], VERDICTS.index(item[0])))
    parts = [f"{count} {verdict}" for verdict, count in ranked]
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


def verdict_of(scored: pd.DataFrame, study: str, column: str) -> str:
    """The verdict of the claim measured on ``column`` on ``study`` (e.g. ``"cifar10"``, ``"recall@1"``)."""
    _check_scored(scored)
    rows = scored[(scored["study"] == study) & (scored["measurement"].map(column_of) == column)]
    if len(rows) != 1:
        raise ValueError(f"no single claim measured on {column!r} in study {study!r}")
    return str(rows["verdict"].iloc[0])


def claims_with(scored: pd.DataFrame, verdict: str, studies=None) -> list:
    """``(claim, column)`` of the claims whose verdict is ``verdict`` on every one of ``studies`` (default:
    every scored study), in the order scored."""
    grid = verdict_grid(scored)
    studies = studies_of(scored) if studies is None else list(studies)
    held = (grid[studies] == verdict).all(axis=1)
    return list(grid.index[held])


# -- the table --------------------------------------------------------------------------------------------
def _cell(verdict: str, note: str = "") -> str:
    colour = VERDICT_COLORS.get(verdict, "#ffffff")
    small = f'<br><span style="font-size:0.85em">{html.escape(note)}</span>' if note else ""
    return (
        f'<td style="background-color:{colour}; padding:0.25em 0.4em; border:2px solid #fff">'
        f"{html.escape(verdict)}{small}</td>"
    )


def robustness_note(text: str) -> str:
    """A robustness study's cell note: ``"robust"``, or ``"flips at low, high"`` (the settings only; the
    evidence says to what)."""
    if not text or text in ("robust", "not testable"):
        return text if text == "robust" else ""
    settings = [part.split(":", 1)[0].strip() for part in text.removeprefix("flips at ").split("; at ")]
    return "flips at " + ", ".join(settings)


@dataclass(frozen=True, repr=False)
class VerdictTable:
    """Every claim by every study, shown as an HTML table (:meth:`_repr_html_`) with the evidence folded
    per claim; ``grid`` is the same as a DataFrame (:func:`verdict_grid`)."""

    scored: pd.DataFrame
    titles: Mapping

    @property
    def grid(self) -> pd.DataFrame:
        return verdict_grid(self.scored)

    def table_html(self) -> str:
        scored, studies = self.scored, studies_of(self.scored)
        frame = scored.assign(column=scored["measurement"].map(column_of))
        cell = {(row.study, row.claim, row.column): row for row in frame.itertuples(index=False)}
        head = "".join(
            f'<th style="padding:0.25em 0.4em">{html.escape(self.titles.get(s, STUDY_TITLES.get(s, s)))}</th>'
            for s in studies
        )
        rows, keys = [], list(self.grid.index)
        for i, (claim, column) in enumerate(keys):
            span = 1
            while i + span < len(keys) and keys[i + span][0] == claim:
                span += 1
            first = i == 0 or keys[i - 1][0] != claim
            quote = (
                f'<td rowspan="{span}" style="padding:0.25em 0.4em; text-align:left">“{html.escape(claim)}”</td>'
                if first
                else ""
            )
            kind = self.grid.loc[(claim, column), "reading kind"]
            what = f'<td style="padding:0.25em 0.4em; text-align:left">{html.escape(measured_as(column, kind))}</td>'
            verdicts = "".join(
                _cell(cell[(s, claim, column)].verdict, robustness_note(cell[(s, claim, column)].robustness))
                if (s, claim, column) in cell
                else _cell("not testable")
                for s in studies
            )
            rows.append(f"<tr>{quote}{what}{verdicts}</tr>")
        return (
            '<table class="vg-verdicts" style="font-size:0.9em; border-collapse:collapse; width:100%">'
            '<thead><tr><th style="padding:0.25em 0.4em; text-align:left">The paper says</th>'
            f'<th style="padding:0.25em 0.4em; text-align:left">measured as</th>{head}</tr></thead>'
            f"<tbody>{''.join(rows)}</tbody></table>"
        )

    def evidence_html(self) -> str:
        """One folded ``<details>`` per claim: the direction scored, then each study's verdict and evidence."""
        scored, studies = self.scored, studies_of(self.scored)
        frame = scored.assign(column=scored["measurement"].map(column_of))
        blocks = []
        for claim, column in self.grid.index:
            rows = frame[(frame["claim"] == claim) & (frame["column"] == column)]
            first = rows.iloc[0]
            items = []
            for study in studies:
                found = rows[rows["study"] == study]
                if found.empty:
                    continue
                row = found.iloc[0]
                title = self.titles.get(study, STUDY_TITLES.get(study, study))
                flips = f" ({row['robustness']})" if row["robustness"] else ""
                items.append(
                    f"<li><b>{html.escape(title)}</b>: <i>{html.escape(row['verdict'])}</i>{html.escape(flips)}"
                    f" — {html.escape(row['evidence'])}</li>"
                )
            blocks.append(
                f"<details><summary>“{html.escape(claim)}” — {html.escape(measured_as(column, first['reading kind']))}"
                f"</summary><p>Scored as <code>{html.escape(first['measurement'])}</code>: "
                f"{html.escape(first['reading'])}.</p><ul>{''.join(items)}</ul></details>"
            )
        return "".join(blocks)

    def __repr__(self) -> str:
        """Plain text (a console, Colab's text view): the verdicts as claims by studies."""
        grid = self.grid.copy()
        grid.index = [measured_as(column, kind) for (_, column), kind in zip(grid.index, grid["reading kind"])]
        return grid.drop(columns="reading kind").to_string()

    def _repr_html_(self) -> str:
        return (
            self.table_html()
            + '<p style="margin-top:1em"><b>The evidence, claim by claim</b></p>'
            + (self.evidence_html())
        )


def verdict_table(scored: pd.DataFrame, titles: Optional[Mapping] = None) -> VerdictTable:
    """Every claim on every study as one table a reader can read: claims as rows (the paper's words once for
    the claims that share them, then what each reading measures), studies as columns, each verdict in its
    colour (:data:`VERDICT_COLORS`); a robustness study's cell adds ``robust`` or the settings that flip it.
    Under the table, one folded note per claim holds the direction scored and every study's evidence.

    Parameters
    ----------
    scored : DataFrame
        :func:`~vgteach.reproduction.score_studies`' table.
    titles : mapping of str to str, optional
        A study's column heading (default :data:`STUDY_TITLES`, else the study's name).
    """
    _check_scored(scored)
    if titles is not None and not isinstance(titles, Mapping):
        raise TypeError("titles must be a mapping of study name -> column heading")
    return VerdictTable(scored, dict(titles or {}))


# -- what signed compaction changed -----------------------------------------------------------------------
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


# -- the studies ------------------------------------------------------------------------------------------
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


# -- the verdicts read in words ---------------------------------------------------------------------------
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
    sentences (``"Reproduced on every study: “…” (…). 9 of the 15 readings are reproduced on none."``)."""
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
    return f"{first} {nowhere} of the {len(grid)} readings are reproduced on none." if nowhere else first


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
