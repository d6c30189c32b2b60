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
from typing import Optional

import pandas as pd

ROOT = Path(__file__).with_name("reference_results")
#: short names -> study folders
ALIASES = {"cifar10": "cifar10-efficientnet_lite0", "digits": "digits-identity"}
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


# -- where one loss stands among the seven --------------------------------------------------------------------
#: (summary column, heading, what a large value means) of :func:`ranks`; rank 1 = the largest value
RANK_MEASURES = (
    ("recall@1", "R@1", "better top-1 retrieval"),
    ("map@r", "MAP@R", "better ranking of the whole class"),
    ("intra", "intra", "more within-class variance"),
    ("intra_change", "Δ intra", "compacted less (negative: classes shrank during training)"),
    ("within_class_rank", "within-class rank", "more dimensions per class"),
    ("effective_active_ratio", "effective active ratio", "more pairs carry the update"),
    ("grad_gini", "Gini", "fewer samples get most of the gradient"),
)


def per_seed(reference, column: str) -> pd.DataFrame:
    """Table seed × loss of ``column`` from a :class:`ReferenceResults` or a study's ``summary.csv``."""
    summary = reference.summary if isinstance(reference, ReferenceResults) else reference
    if not isinstance(summary, pd.DataFrame) or not {"loss", "seed"} <= set(summary.columns):
        raise TypeError("reference must be ReferenceResults or a summary DataFrame with 'loss' and 'seed' columns")
    return summary.pivot_table(index="seed", columns="loss", values=column, aggfunc="first").astype(float)


def ranks(reference, loss: str, measures=RANK_MEASURES) -> pd.DataFrame:
    r"""Where ``loss`` stands among the study's losses on each measure: its rank on the mean over seeds.

    Rank 1 is the **largest** value (for ``intra_change`` the least compaction, for ``grad_gini`` the most
    uneven gradient); ties share the better rank. The spread is shown twice: the standard deviation over
    seeds of the loss's value, and the range of its rank when each seed is ranked on its own.

    Parameters
    ----------
    reference : ReferenceResults or pandas.DataFrame
        :func:`load`'s result, or a study's ``summary.csv`` (one row per loss and seed).
    loss : str
        One of the study's losses.
    measures : sequence of (column, heading, meaning)
        Default :data:`RANK_MEASURES`; columns the summary lacks (results written before they existed) are
        left out.

    Returns
    -------
    pandas.DataFrame
        Index: the headings; columns ``column``, ``mean``, ``std`` (over seeds), ``rank`` (of the mean),
        ``seed ranks`` (``"2"`` or ``"2–3"``), ``of`` (number of losses), ``best``/``worst`` (the losses at
        rank 1 and last), ``large means``.

    Examples
    --------
    >>> ranks(load("cifar10"), "supcon").loc["intra", "rank"]      # doctest: +SKIP
    6
    """
    if not isinstance(loss, str):
        raise TypeError(f"loss must be a string, got {type(loss).__name__}")
    summary = reference.summary if isinstance(reference, ReferenceResults) else reference
    if not isinstance(summary, pd.DataFrame) or not {"loss", "seed"} <= set(summary.columns):
        raise TypeError("reference must be ReferenceResults or a summary DataFrame with 'loss' and 'seed' columns")
    if loss not in set(summary["loss"]):
        raise ValueError(f"loss {loss!r} is not in the results; valid: {sorted(set(summary['loss']))}")
    rows = {}
    for column, heading, meaning in measures:
        if column not in summary.columns:
            continue
        table = per_seed(summary, column)
        mean = table.mean()
        if pd.isna(mean[loss]):
            continue
        seed_ranks = table.rank(axis=1, ascending=False, method="min")[loss].dropna().astype(int)
        low, high = (seed_ranks.min(), seed_ranks.max()) if len(seed_ranks) else (0, 0)
        rows[heading] = {
            "column": column,
            "mean": mean[loss],
            "std": table[loss].std(ddof=1),
            "rank": int(mean.rank(ascending=False, method="min")[loss]),
            "seed ranks": f"{low}" if low == high else f"{low}–{high}",
            "of": int(mean.notna().sum()),
            "best": mean.idxmax(),
            "worst": mean.idxmin(),
            "large means": meaning,
        }
    return pd.DataFrame.from_dict(rows, orient="index")


def ordinal(n: int) -> str:
    """``1`` -> ``"1st"``, ``2`` -> ``"2nd"``, ``11`` -> ``"11th"``."""
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def value_text(row) -> str:
    """``"0.734 ± 0.004"`` (three decimals; the std over seeds when known)."""
    return f"{row['mean']:.3f}" if pd.isna(row["std"]) else f"{row['mean']:.3f} ± {row['std']:.3f}"


def describe_ranks(table: pd.DataFrame, label: str) -> str:
    """One Markdown sentence from :func:`ranks`: ``label``'s rank on every measure, with its value."""
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
    among the losses. It is backed when the loss's rank (1 = largest) is in the top ``n // 2`` (high) or the
    bottom ``n // 2`` (low) of the ``n`` losses; otherwise the sentence says where the loss stands, which
    loss is at that end instead, and how our setting differs from the paper's (:func:`setting`).
    """
    if expect not in ("high", "low"):
        raise ValueError(f"expect must be 'high' or 'low', got {expect!r}")
    label = label or loss
    measure = next((m for m in RANK_MEASURES if m[0] == column), (column, column, ""))
    table = ranks(reference, loss, measures=(measure,))
    if table.empty:
        return f"The reference results have no `{column}` yet to check that {statement}."
    row = table.iloc[0]
    half, rank, n = row["of"] // 2, row["rank"], row["of"]
    backed = rank <= half if expect == "high" else rank > n - half
    where = f"{label} ranks {ordinal(rank)} of {n} on {table.index[0]} ({value_text(row)})"
    if backed:
        return f"Our reference runs back this: {where}."
    extreme = row["best"] if expect == "high" else row["worst"]
    side = "largest" if expect == "high" else "smallest"
    return f"Our reference runs do not show that {statement}: {where}, and {extreme} has the {side}."


def describe_statements(reference: ReferenceResults, loss: str, checks, label: Optional[str] = None) -> str:
    """:func:`describe_statement` for each ``(column, expect, statement)`` of ``checks``, joined; when one is not
    backed, one closing sentence says how our setting differs from the paper's (:func:`setting`)."""
    sentences = [describe_statement(reference, loss, *check, label=label) for check in checks]
    if any(sentence.startswith("Our reference runs do not show") for sentence in sentences):
        sentences.append(
            f"Where our runs differ from the paper, the setting may be why: {setting(reference)}; "
            "a mechanism can be real and still not decide the ranking here."
        )
    return " ".join(sentences)


def glue(name: str, value, display: bool = False):
    """``myst_nb.glue`` for the book build; text is glued as Markdown (use the ``{glue:md}`` role).

    Where myst-nb is not installed (a chapter opened on Colab) the value is displayed instead, so the reader
    still sees the sentence the book's prose would have quoted.
    """
    if isinstance(value, str):
        from IPython.display import Markdown

        value = Markdown(value)
    try:
        from myst_nb import glue as myst_glue
    except ImportError:
        from IPython.display import display as show

        show(value)
        return None
    return myst_glue(name, value, display=display)


# -- "What we found", from vgteach.reproduction.score_claims -----------------------------------------------
#: the columns of the paper's trade-off: granularity (kept structure) and efficiency (speed) claims
GRANULARITY = ("intra", "within_class_rank")
EFFICIENCY = ("compaction_epoch", "convergence_epoch", "map_convergence_epoch")


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
    conjunction of its granularity (:data:`GRANULARITY`) and efficiency (:data:`EFFICIENCY`) claims.
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
def curve(reference: ReferenceResults, loss: str, column: str) -> pd.Series:
    """Mean over seeds of ``column`` for ``loss``, per evaluated epoch (epochs without a value dropped)."""
    history = reference.history
    if loss not in set(history["loss"]):
        raise ValueError(f"loss {loss!r} is not in the results; valid: {sorted(set(history['loss']))}")
    if column not in history.columns:
        raise ValueError(f"the history has no column {column!r}")
    return history[history["loss"] == loss].groupby("epoch")[column].mean().dropna()


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
