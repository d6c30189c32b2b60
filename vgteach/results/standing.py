"""Where one loss stands among the study's losses: its rank on each measure (1 = the largest value)."""

from __future__ import annotations

import pandas as pd

from .store import summary_of

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
    """Table seed × loss of ``column`` from a :class:`~.store.ReferenceResults` or a study's ``summary.csv``."""
    summary = summary_of(reference)
    return summary.pivot_table(index="seed", columns="loss", values=column, aggfunc="first").astype(float)


def ranks(reference, loss: str, measures=RANK_MEASURES) -> pd.DataFrame:
    r"""Where ``loss`` stands among the study's losses on each measure: its rank on the mean over seeds.

    Rank 1 is the **largest** value (for ``intra_change`` the least compaction, for ``grad_gini`` the most
    uneven gradient); ties share the better rank. The spread is shown twice: the standard deviation over
    seeds of the loss's value, and the range of its rank when each seed is ranked on its own.

    Parameters
    ----------
    reference : ReferenceResults or pandas.DataFrame
        :func:`~.store.load`'s result, or a study's ``summary.csv`` (one row per loss and seed).
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
    summary = summary_of(reference)
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


def row_of(table: pd.DataFrame, heading: str) -> pd.Series:
    """The row ``heading`` (e.g. ``"R@1"``) of a :func:`ranks` table; TypeError/ValueError for bad input."""
    if not isinstance(table, pd.DataFrame) or not {"rank", "of"} <= set(table.columns):
        raise TypeError("table must be the DataFrame of vgteach.results.ranks")
    if heading not in table.index:
        raise ValueError(f"no measure {heading!r} in the ranks table; it has: {', '.join(table.index)}")
    return table.loc[heading]


def in_top_half(table: pd.DataFrame, heading: str) -> bool:
    """Whether the loss of a :func:`ranks` table is in the top half on ``heading``: rank ≤ n // 2 of n
    losses (the middle loss of an odd n is in neither half)."""
    row = row_of(table, heading)
    return bool(row["rank"] <= row["of"] // 2)


def in_bottom_half(table: pd.DataFrame, heading: str) -> bool:
    """Whether the loss of a :func:`ranks` table is in the bottom half on ``heading``: rank > n − n // 2."""
    row = row_of(table, heading)
    return bool(row["rank"] > row["of"] - row["of"] // 2)
