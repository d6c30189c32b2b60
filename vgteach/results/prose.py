"""The sentences the chapters glue, written from the reference results (Markdown strings).

Each ``describe_…``/``…_sentence`` builder turns numbers into words at build time, so the book's prose
changes when the results do; :data:`LOSS_LABELS` is how the book names each loss.
"""

from __future__ import annotations

import math
import re
from types import MappingProxyType
from typing import Optional

import pandas as pd

from .._validation import validate_positive_int
from ..figures.style import LOSS_LABELS  # the name of each loss in figures, prose and tables (one mapping)
from ..reproduction import EFFICIENCY, GRANULARITY
from .standing import RANK_MEASURES, in_bottom_half, in_top_half, ranks, row_of
from .store import ReferenceResults, curve


def join_labels(losses) -> str:
    """``"Triplet, SupCon and CCL"`` from loss names (:data:`LOSS_LABELS`; other names as given), ``"none"``
    for none."""
    if isinstance(losses, str):
        raise TypeError("losses must be a sequence of loss names, not one string")
    labels = [LOSS_LABELS.get(name, name) for name in losses]
    if not labels:
        return "none"
    return labels[0] if len(labels) == 1 else ", ".join(labels[:-1]) + " and " + labels[-1]


def ordinal(n: int) -> str:
    """``1`` -> ``"1st"``, ``2`` -> ``"2nd"``, ``11`` -> ``"11th"``."""
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def value_text(row) -> str:
    """``"0.734 ± 0.004"`` (three decimals; the std over seeds when known)."""
    return f"{row['mean']:.3f}" if pd.isna(row["std"]) else f"{row['mean']:.3f} ± {row['std']:.3f}"


def significant_places(value: float, significant: int = 3) -> int:
    """Decimal places that show ``value`` at ``significant`` significant digits (0.0778 -> 4, 103 -> 0)."""
    validate_positive_int(significant, "significant")
    if not math.isfinite(value) or value == 0:
        return significant - 1
    return max(0, significant - 1 - math.floor(math.log10(abs(value))))


#: Below this magnitude :func:`mean_sd` writes a number in scientific notation (``"2.69e-4"``): in
#: ``"0.000269 ± 0.0000002"`` the reader has to count zeros to compare the two.
SCIENTIFIC_BELOW = 1e-3


def _fixed_or_scientific(value: float, places: int) -> str:
    """``value`` to ``places`` decimal places; in scientific notation with the same last digit when it is
    non-zero and below :data:`SCIENTIFIC_BELOW` in magnitude once rounded (``"2.69e-4"``, not ``"0.000269"``)."""
    fixed = f"{value:.{places}f}"
    if float(fixed) == 0 or abs(float(fixed)) >= SCIENTIFIC_BELOW:
        return fixed
    digits = max(1, places + math.floor(math.log10(abs(value))) + 1)
    mantissa, exponent = f"{value:.{digits - 1}e}".split("e")
    return f"{mantissa}e{int(exponent)}"


def mean_sd(mean: float, std: Optional[float] = None, significant: int = 3) -> str:
    """``"0.0778 ± 0.0017"``: the mean at ``significant`` significant digits, the std at the same decimal
    places but at most two significant digits (``"0.0824 ± 0.017"``), one where those round it to 0
    (``"103 ± 0.09"``); the mean alone when ``std`` is None or NaN. A number below 10⁻³ in magnitude is
    written in scientific notation with the same digits (``"2.69e-4 ± 2e-7"``, ``"0.500 ± 3e-5"``). The
    compact cell of the book's tables and the numbers its sentences glue.

    >>> mean_sd(0.07781, 0.00171), mean_sd(102.728, 0.092), mean_sd(0.7622), mean_sd(0.000269, 2.1e-7)
    ('0.0778 ± 0.0017', '103 ± 0.09', '0.762', '2.69e-4 ± 2e-7')
    """
    mean = float(mean)
    if math.isnan(mean):
        return "n/a"
    places = significant_places(mean, significant)
    text = _fixed_or_scientific(mean, places)
    if std is None or pd.isna(std):
        return text
    std = abs(float(std))
    if std > 0:
        places = min(places, significant_places(std, 2))
        if round(std, places) == 0:
            places = significant_places(std, 1)
    return f"{text} ± {_fixed_or_scientific(std, places)}"


#: the glue name of each heading of :data:`~.standing.RANK_MEASURES` (:func:`standing_values`)
GLUE_KEYS = MappingProxyType(
    {
        "R@1": "r1",
        "MAP@R": "mapr",
        "intra": "intra",
        "Δ intra": "intra_change",
        "within-class rank": "within_class_rank",
        "effective active ratio": "effective_active_ratio",
        "Gini": "gini",
    }
)


def standing_values(table: pd.DataFrame, headings=None, significant: int = 3) -> dict:
    """The numbers a chapter glues from a :func:`~.standing.ranks` table, by glue name.

    For each heading (default: every row of the table) with glue name ``key`` (:data:`GLUE_KEYS`; other
    headings are made into names), three texts: ``key`` the mean (``"0.0778"``), ``key_sd`` the mean ± std
    over seeds (:func:`mean_sd`) and ``key_rank`` the rank (``"7th of 7"``, 1st = the largest).

    >>> standing_values(ranks(load("cifar10"), "contrastive"), ["intra"])      # doctest: +SKIP
    {'intra': '0.0778', 'intra_sd': '0.0778 ± 0.0017', 'intra_rank': '7th of 7'}
    """
    if isinstance(headings, str):
        raise TypeError("headings must be a sequence of headings, not one string")
    values = {}
    for heading in table.index if headings is None else headings:
        row = row_of(table, heading)
        key = GLUE_KEYS.get(heading) or re.sub(r"\W+", "_", heading.lower()).strip("_")
        values[key] = mean_sd(row["mean"], significant=significant)
        values[f"{key}_sd"] = mean_sd(row["mean"], row["std"], significant)
        values[f"{key}_rank"] = rank_of(table, heading)
    return values


def rank_of(table: pd.DataFrame, heading: str) -> str:
    """``"2nd of 7"``: the rank on ``heading`` of a :func:`~.standing.ranks` table (1st = the largest mean)."""
    row = row_of(table, heading)
    return f"{ordinal(row['rank'])} of {row['of']}"


def standing_of(table: pd.DataFrame, heading: str) -> str:
    """``"5th of 7 on R@1 (0.724 ± 0.004)"``: :func:`rank_of` with the measure and its value."""
    return f"{rank_of(table, heading)} on {heading} ({value_text(row_of(table, heading))})"


def describe_ranks(table: pd.DataFrame, label: str) -> str:
    """One Markdown sentence from :func:`~.standing.ranks`: ``label``'s rank on every measure, with its value."""
    if table.empty:
        return f"The reference results hold none of the measures to rank {label} on."
    parts = [
        f"{ordinal(row['rank'])} on {heading} ({value_text(row)}"
        + (f"; {row['seed ranks']} seed by seed)" if "–" in row["seed ranks"] else ")")
        for heading, row in table.iterrows()
    ]
    return (
        f"Among the {table['of'].max()} losses, **{label}** ranks "
        + ", ".join(parts[:-1])
        + f" and {parts[-1]} (rank 1 = the largest value, mean ± std over seeds)."
    )


def setting(reference: ReferenceResults) -> str:
    """How the reference runs differ from the paper's setting, from their ``study.json`` (Markdown)."""
    config = reference.meta["config"]
    return (
        f"our runs use frozen `{config['backbone']}` features where the paper uses a frozen ViT-B/32, "
        f"{config['dataset']} only where the paper also has four harder, mostly fine-grained datasets, and "
        f"a {config.get('head', 'linear')} {config['embedding_dim']}-d head on cached features"
    )


def describe_statement(
    reference: ReferenceResults, loss: str, column: str, expect: str, statement: str, label: Optional[str] = None
) -> str:
    """A Markdown sentence saying whether the reference runs back a chapter's ``statement`` about ``loss``.

    The statement says that ``loss`` has a large (``expect="high"``) or small (``"low"``) ``column``
    among the losses. It is backed when the loss is in the top half (high) or the bottom half (low) of the
    losses (:func:`~.standing.in_top_half`, :func:`~.standing.in_bottom_half`); otherwise the sentence says
    where the loss stands and which loss is at that end instead.
    """
    if expect not in ("high", "low"):
        raise ValueError(f"expect must be 'high' or 'low', got {expect!r}")
    label = label or loss
    measure = next((m for m in RANK_MEASURES if m[0] == column), (column, column, ""))
    table = ranks(reference, loss, measures=(measure,))
    if table.empty:
        return f"The reference results have no `{column}` yet to check that {statement}."
    heading = table.index[0]
    row = table.iloc[0]
    backed = in_top_half(table, heading) if expect == "high" else in_bottom_half(table, heading)
    where = f"{label} ranks {rank_of(table, heading)} on {heading} ({value_text(row)})"
    if backed:
        return f"The reference runs agree: {where}."
    extreme = row["best"] if expect == "high" else row["worst"]
    side = "largest" if expect == "high" else "smallest"
    return f"The reference runs do not show that {statement}: {where}, and {extreme} has the {side}."


def describe_statements(reference: ReferenceResults, loss: str, checks, label: Optional[str] = None) -> str:
    """:func:`describe_statement` for each ``(column, expect, statement)`` of ``checks``, joined. Where the
    runs disagree with the paper the sentence says so; *why* is the subject of the book's trade-off chapter,
    not a paragraph repeated in every chapter."""
    sentences = [describe_statement(reference, loss, *check, label=label) for check in checks]
    return " ".join(sentences)


# -- "What we found", from vgteach.reproduction.score_claims -----------------------------------------------
def claim_sentence(row) -> str:
    """One Markdown bullet for one row of :func:`vgteach.reproduction.score_claims`: verdict, claim, numbers,
    and the evidence that decided it."""
    numbers = f": {row['a']} vs {row['b']}" if row["a"] != "" else ""
    evidence = str(row["evidence"])
    return (
        f"- **{row['verdict']}** — “{row['claim']}” (`{row['measurement']}`{numbers}). "
        f"{evidence[:1].upper()}{evidence[1:]}."
    )


def findings(scores: pd.DataFrame, label: str) -> str:
    """Markdown "What we found" for one study, generated from ``score_claims``'s table (one row per claim).

    A count of the verdicts, a bullet per claim (:func:`claim_sentence`), and the trade-off read as the
    conjunction of its granularity and efficiency claims (the claims of ``vgteach.reproduction.CLAIMS``
    with a ``part``: :data:`~vgteach.reproduction.GRANULARITY`, :data:`~vgteach.reproduction.EFFICIENCY`).
    """
    if not isinstance(scores, pd.DataFrame) or not {"claim", "measurement", "verdict", "evidence"} <= set(scores):
        raise TypeError("scores must be the DataFrame of vgteach.reproduction.score_claims")
    counts = scores["verdict"].value_counts()
    tally = ", ".join(f"{count} {verdict}" for verdict, count in counts.items())
    lines = [f"On **{label}**, {len(scores)} claims: {tally}.", ""]
    lines += [claim_sentence(row) for _, row in scores.iterrows()]
    column = scores["measurement"].str.split(":").str[0]
    parts = scores[column.isin(GRANULARITY + EFFICIENCY)]
    if len(parts):
        held = (parts["verdict"] == "reproduced").all()
        verdicts = "; ".join(f"`{c}` {v}" for c, v in zip(column[parts.index], parts["verdict"]))
        lines += [
            "",
            f"The efficiency–granularity trade-off holds only if all of its parts do ({verdicts}): "
            f"{'it is reproduced here' if held else 'on these runs it is not reproduced as a whole'}.",
        ]
    return "\n".join(lines)


# -- what a curve does ---------------------------------------------------------------------------------------
def change_text(values, significant: int = 3) -> str:
    """``"falls from 0.834 to 0.213"``, ``"rises from … to …"`` or ``"stays at 0.500"``: how a curve goes from
    its first to its last value (``values``: a sequence or Series by epoch; NaN, the epochs not evaluated,
    are skipped), both at ``significant`` significant digits (:func:`mean_sd`)."""
    series = pd.Series(values, dtype=float).dropna()
    if series.empty:
        raise ValueError("the curve has no value (every entry is NaN)")
    first, last = mean_sd(series.iloc[0], significant=significant), mean_sd(series.iloc[-1], significant=significant)
    if first == last:
        return f"stays at {first}"
    return f"{'falls' if series.iloc[-1] < series.iloc[0] else 'rises'} from {first} to {last}"


def peak_text(values, significant: int = 3) -> str:
    """``"peaks at 0.663 at epoch 2 and ends at 0.626"`` when a curve's largest value (as shown, at
    ``significant`` significant digits) comes before its last; otherwise :func:`change_text`. ``values``: a
    Series by epoch (the index is the epoch) or a sequence; NaN, the epochs not evaluated, are skipped."""
    series = pd.Series(values, dtype=float).dropna()
    if series.empty:
        raise ValueError("the curve has no value (every entry is NaN)")
    top, last = mean_sd(series.max(), significant=significant), mean_sd(series.iloc[-1], significant=significant)
    if top == last:
        return change_text(series, significant)
    return f"peaks at {top} at epoch {series.idxmax()} and ends at {last}"


def trend_sentence(
    reference: ReferenceResults, loss: str, column: str, label: Optional[str] = None, settled: float = 0.1
) -> str:
    """A Markdown sentence on where ``column`` goes for ``loss``: untrained, mid-training and final values,
    and whether the second half still moves it (more than ``settled`` of the whole change), in which way."""
    values = curve(reference, loss, column)
    label = label or loss
    if len(values) < 3:
        return f"The reference runs evaluated `{column}` too rarely for {label} to say where it goes."
    first, last = values.index[0], values.index[-1]
    middle = values.index[values.index >= (first + last) / 2][0]
    start, mid, end = values[first], values[middle], values[last]
    total, late = end - start, end - mid
    if abs(late) <= settled * abs(total):
        verdict = "it has levelled off by mid-training"
    elif late * total > 0:
        verdict = f"it is still {'falling' if late < 0 else 'rising'} in the second half"
    else:
        verdict = f"it turns back in the second half ({'rising' if late > 0 else 'falling'} again)"
    return (
        f"In our reference runs {label}'s `{column}` goes from {start:.3f} (untrained head) to {mid:.3f} at "
        f"epoch {middle} and {end:.3f} at epoch {last}: {verdict}."
    )
