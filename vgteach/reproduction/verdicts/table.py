"""The reproduction chapter's verdict table (DESIGN.md §5): one row per claim, one column per study, the verdict
coloured and the evidence folded beside the claim (:func:`verdict_table`), and its tallies
(:func:`verdict_counts`, :func:`counts_text`). See :mod:`vgteach.reproduction.verdicts`."""

from __future__ import annotations

import html
from dataclasses import dataclass
from typing import Mapping, Optional

import pandas as pd

from ..scoring import VERDICTS
from ..studies import STUDY_COLUMNS

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
