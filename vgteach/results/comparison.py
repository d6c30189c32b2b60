"""What the comparison chapter reads off a study: the full grid of measures, signed compaction, and where
the losses fall against the paper's trade-off.

The chapter draws with :mod:`vgteach.figures` and glues the sentences written here, so that every
*direction* it states (which loss retrieves best, whether a point falls in the paper's region) is
computed from the study it shows::

    from vgteach import results
    from vgteach.results import comparison
    reference = results.load("cifar10")
    summary = comparison.signed(reference.summary)       # no compaction epoch where intra rises
    comparison.grid_measures(summary)                    # the heatmap's rows: every measure it has
    comparison.region_table(summary)                     # the paper's four losses against its regions
    comparison.region_text(summary)                      # ... read in one or two sentences

A study is a ``summary.csv`` (one row per loss and seed) or a ``summary_by_loss.csv``; the losses are
named as the book names them (:data:`~vgteach.results.LOSS_LABELS`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..figures.tradeoff import predicted_sides, tradeoff_points
from ..losses import LOSS_NAMES
from ..reproduction import COMPACTING, GRANULAR
from .prose import LOSS_LABELS, join_labels, mean_sd, ordinal

#: (summary column, heading) of the full grid, the one place in the book that shows every measure:
#: retrieval; VARIANCE (absolute, relative to the class means, after Roth et al.); GREEDINESS; speed
GRID = (
    ("recall@1", "R@1"),
    ("map@r", "MAP@R"),
    ("nmi", "NMI"),
    ("intra", "intra"),
    ("inter", "inter"),
    ("ratio", "intra / inter"),
    ("centroid_dist_cv", "spacing cv"),
    ("within_class_rank", "within-class rank"),
    ("spectral_decay", "spectral decay"),
    ("pi_ratio", "π-ratio"),
    ("intra_change", "Δ intra"),
    ("ratio_change", "Δ intra / inter"),
    ("active_ratio", "active ratio"),
    ("effective_active_ratio", "effective active ratio"),
    ("grad_gini", "Gini"),
    ("convergence_epoch", "R@1 conv. epoch"),
    ("compaction_epoch", "compaction epoch"),
    ("ratio_compaction_epoch", "ratio compaction epoch"),
)
#: compaction epoch -> the change that says whether a run compacts at all (DESIGN §3)
SIGNED = {"compaction_epoch": "intra_change", "ratio_compaction_epoch": "ratio_change"}


def _check(summary, columns=()) -> None:
    if not isinstance(summary, pd.DataFrame):
        raise TypeError(f"summary must be a pandas DataFrame (a study's summary.csv), got {type(summary).__name__}")
    missing = [column for column in ("loss", *columns) if column not in summary.columns]
    if missing:
        raise ValueError(f"the summary lacks the columns {missing}")
    if summary.empty:
        raise ValueError("the summary has no rows")


def signed(summary: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``summary`` with a compaction epoch only where the run compacts (DESIGN §3).

    ``compaction_epoch`` becomes NaN where ``intra_change`` ≥ 0 (the run's intra rises or stays: it does not
    compact), ``ratio_compaction_epoch`` where ``ratio_change`` ≥ 0. Studies written since compaction was
    signed are returned unchanged; older ones carry an epoch for every run.
    """
    _check(summary)
    out = summary.copy()
    for epoch, change in SIGNED.items():
        if epoch in out.columns and change in out.columns:
            out[epoch] = out[epoch].mask(pd.to_numeric(out[change], errors="coerce") >= 0)
    return out


def grid_measures(summary: pd.DataFrame, grid=GRID) -> list:
    """The ``(column, heading)`` pairs of ``grid`` that ``summary`` holds with at least one value: the rows of
    the chapter's heatmap (studies written before a measure existed simply lack its row)."""
    _check(summary)
    return [(column, heading) for column, heading in grid if column in summary and summary[column].notna().any()]


def loss_means(summary: pd.DataFrame) -> pd.DataFrame:
    """Mean over seeds of every numeric column, one row per loss (in :data:`~vgteach.losses.LOSS_NAMES`
    order), compaction epochs signed first (:func:`signed`: the mean of the runs that compact)."""
    frame = signed(summary)
    means = frame.drop(columns="loss").select_dtypes("number").groupby(frame["loss"]).mean()
    order = [name for name in LOSS_NAMES if name in means.index]
    return means.reindex(order + [name for name in means.index if name not in order])


def label(name: str) -> str:
    """The book's name of a loss (``"N-pair"``), other names as given."""
    return LOSS_LABELS.get(name, name)


def _verb(names, singular: str, plural: str) -> str:
    return singular if len(names) == 1 else plural


# -- the live run ------------------------------------------------------------------------------------------
def always_active(history: pd.DataFrame, tolerance: float = 1e-6) -> list:
    """The losses whose ``active_ratio`` is 1 at every epoch of ``history`` (a study's ``history.csv``): for
    them the active ratio says nothing, and the effective active ratio is the one to read."""
    _check(history, ("active_ratio",))
    lowest = history.dropna(subset=["active_ratio"]).groupby("loss")["active_ratio"].min()
    return [name for name in LOSS_NAMES if name in lowest.index and lowest[name] >= 1.0 - tolerance]


def leaders_text(summary: pd.DataFrame) -> str:
    """``"InfoNCE has the best R@1 and Contrastive the tightest classes (the smallest intra)"``, or one loss
    doing both."""
    means = loss_means(summary)
    for column in ("recall@1", "intra"):
        if column not in means or means[column].isna().all():
            raise ValueError(f"the summary has no value of {column!r}")
    best, tight = means["recall@1"].idxmax(), means["intra"].idxmin()
    if best == tight:
        return f"{label(best)} has both the best R@1 and the tightest classes (the smallest `intra`)"
    return f"{label(best)} has the best R@1 and {label(tight)} the tightest classes (the smallest `intra`)"


# -- the grid ----------------------------------------------------------------------------------------------
def order_text(summary: pd.DataFrame) -> str:
    """Whether retrieval and compactness order the losses the same way, in one sentence: the best retriever,
    the loss with the widest classes, and where the tightest loss ranks on R@1."""
    means = loss_means(summary)
    n = len(means)
    best, wide, tight = means["recall@1"].idxmax(), means["intra"].idxmax(), means["intra"].idxmin()
    tight_rank = int(means["recall@1"].rank(ascending=False, method="min")[tight])
    first = (
        f"{label(best)} retrieves best and also keeps the widest classes"
        if best == wide
        else f"{label(best)} retrieves best while {label(wide)} keeps the widest classes"
    )
    if tight == best:
        return f"{first}; the tightest classes are its own too"
    if tight_rank > n - n // 2:
        moral = "tight classes do not buy retrieval here"
    elif tight_rank <= n // 2:
        moral = "tight classes and good retrieval go together here"
    else:
        moral = "tight classes neither help nor hurt retrieval clearly here"
    return f"{first}, and {label(tight)}, the tightest, ranks {ordinal(tight_rank)} of {n} on R@1: {moral}"


def spread_text(summary: pd.DataFrame, column: str = "recall@1") -> str:
    """How large the seed-to-seed noise of ``column`` is against the gaps between losses: the largest
    standard deviation over seeds, and how many pairs of losses differ by more than twice it."""
    _check(summary, (column, "seed"))
    sd = summary.groupby("loss")[column].std(ddof=1)
    if sd.isna().all():
        raise ValueError("the summary has a single seed: the seed-to-seed noise is unknown")
    largest = float(sd.max())
    means = summary.groupby("loss")[column].mean().to_numpy()
    gaps = np.abs(means[:, None] - means[None, :])[np.triu_indices(len(means), k=1)]
    wide = int((gaps > 2 * largest).sum())
    return (
        f"the largest standard deviation of a loss's final {'R@1' if column == 'recall@1' else column} over "
        f"the seeds is {mean_sd(largest, significant=2)}, and {wide} of the {len(gaps)} pairs of losses differ "
        "by more than twice that"
    )


def readings_text(summary: pd.DataFrame, history: pd.DataFrame) -> str:
    """The two readings of "compact" in one sentence: how many losses lower ``intra`` (and which raise it),
    how many lower the intra/inter ratio, each from the untrained head (epoch 0 of ``history``), and the
    losses the two readings disagree on."""
    means = loss_means(summary)
    _check(history, ("epoch", "ratio"))
    start = history[history["epoch"] == 0].groupby("loss")["ratio"].mean()
    n = len(means)
    lower = [name for name in means.index if means.loc[name, "intra_change"] < 0]
    raised = [name for name in means.index if means.loc[name, "intra_change"] > 0]
    ratio_lower = [name for name in means.index if name in start and means.loc[name, "ratio"] < start[name]]

    def count(names):
        return f"all {n}" if len(names) == n else f"{len(names)} of the {n}"

    text = f"{count(lower)} losses end with a smaller `intra` than the untrained head"
    if raised:
        text += f" ({join_labels(raised)} {_verb(raised, 'ends', 'end')} with a larger one)"
    text += f", and {count(ratio_lower)} with a smaller intra/inter ratio"
    split = [name for name in means.index if name in start and (name in lower) != (name in ratio_lower)]
    if split:
        return text + f": the two readings disagree on {join_labels(split)}"
    return text + ": the two readings agree on every loss"


def never_text(summary: pd.DataFrame) -> str:
    """Which losses do not compact (their intra rises in every run, so they have no compaction epoch), or
    that every loss compacts."""
    _check(summary, ("intra_change",))
    rises = (pd.to_numeric(summary["intra_change"], errors="coerce") >= 0).groupby(summary["loss"]).all()
    never = [name for name in LOSS_NAMES if name in rises.index and rises[name]]
    if not never:
        return "Every loss compacts: each has a compaction epoch"
    return (
        f"{join_labels(never)} {_verb(never, 'does', 'do')} not compact: "
        f"{_verb(never, 'its', 'their')} `intra` rises, so {_verb(never, 'it has', 'they have')} no compaction "
        f"epoch and {_verb(never, 'sits', 'sit')} in the strip at the right edge (“never”)"
    )


# -- the paper's trade-off in one picture ------------------------------------------------------------------
def region_table(summary: pd.DataFrame, x: str = "compaction_epoch", y: str = "intra") -> pd.DataFrame:
    """Where each of the paper's four losses falls against the regions :func:`vgteach.figures.tradeoff_scatter`
    shades: its granular losses (Triplet, SupCon) on one side of each axis, its compacting ones
    (Contrastive, InfoNCE) on the other, split at the median of the losses' means (as the figure splits).

    A loss that never compacts (its ``x`` is a compaction epoch it does not have) counts as later than every
    loss, as the figure draws it past the right edge. A point on a split line counts for both sides.

    Returns
    -------
    pandas.DataFrame
        One row per loss of the paper's two groups (index: the loss): ``group`` (``"granular"`` or
        ``"compacting"``), ``where`` (``"own"``: in the region the paper predicts for it; ``"other"``: in the
        other group's; ``"neither"``), ``edge`` (it lies on a split line).
    """
    points = tradeoff_points(summary, x, y).set_index("loss")
    sides = {"x": predicted_sides(x), "y": predicted_sides(y)}
    if sides["x"] is None and sides["y"] is None:
        raise ValueError(f"the paper's claims compare its two groups on neither {x!r} nor {y!r}")
    never = points["x"].isna() & (points["x_never"] > 0)
    position = {"x": points["x"].where(~never, np.inf), "y": points["y"]}
    split = {axis: float(np.nanmedian(points[axis])) for axis in ("x", "y")}
    rows = {}
    for group, members, sign in (("granular", GRANULAR, 1), ("compacting", COMPACTING, -1)):
        for name in members:
            if name not in points.index:
                continue
            inside = {"own": True, "other": True}
            edge = False
            for axis in ("x", "y"):
                if sides[axis] is None:
                    continue
                value = position[axis][name]
                if value == split[axis]:
                    edge = True
                    continue
                high = value > split[axis]
                own_high = sides[axis] * sign > 0
                inside["own"] &= high == own_high
                inside["other"] &= high != own_high
            where = "own" if inside["own"] else "other" if inside["other"] else "neither"
            rows[name] = {"group": group, "where": where, "edge": edge}
    return pd.DataFrame.from_dict(rows, orient="index")


def region_text(summary: pd.DataFrame, x: str = "compaction_epoch", y: str = "intra") -> str:
    """:func:`region_table` read in one or two sentences: which of the paper's four losses fall in (or on the
    edge of) the region it predicts for them, which in the other group's, which in neither, and whether the
    picture matches the paper's."""
    table = region_table(summary, x, y)
    groups = {
        "granular": [n for n in GRANULAR if n in table.index],
        "compacting": [n for n in COMPACTING if n in table.index],
    }
    other_group = {"granular": "compacting", "compacting": "granular"}
    parts = []

    def chosen(where, edge, group=None):
        rows = table[(table["where"] == where) & (table["edge"] == edge)]
        return [name for name in rows.index if group is None or rows.loc[name, "group"] == group]

    if names := chosen("own", False):
        regions = "region" if len({table.loc[name, "group"] for name in names}) == 1 else "regions"
        parts.append(
            f"{join_labels(names)} {_verb(names, 'falls', 'fall')} in the {regions} the paper predicts for "
            f"{_verb(names, 'it', 'them')}"
        )
    if names := chosen("own", True):
        parts.append(
            f"{join_labels(names)} {_verb(names, 'sits', 'sit')} on the edge of {_verb(names, 'its', 'their')} own"
        )
    for edge in (False, True):
        for group in ("granular", "compacting"):
            if names := chosen("other", edge, group):
                place = "on the edge of the region" if edge else "in the region"
                parts.append(
                    f"{join_labels(names)} {_verb(names, 'sits', 'sit')} {place} of "
                    f"{join_labels(groups[other_group[group]])}"
                )
    neither = [name for name in table.index if table.loc[name, "where"] == "neither"]
    if neither:
        parts.append(f"{join_labels(neither)} {_verb(neither, 'falls', 'fall')} in neither region")
    listed = (
        parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + (", and " if len(parts) > 2 else " and ") + parts[-1]
    )
    own = int((table["where"] == "own").sum())
    if own == len(table):
        verdict = "The picture matches the paper's"
    elif own == 0:
        verdict = "The picture does not match the paper's at all"
    else:
        verdict = "The picture matches the paper's only in part"
    return f"Of the four losses the paper places, {listed}. {verdict}."


def tally_text(scores: pd.DataFrame) -> str:
    """``"15 readings: 5 reproduced, 3 mixed and 7 inconclusive"`` from :func:`vgteach.reproduction.score_claims`
    (one reading per scored measurement: some sentences of the paper are read on two)."""
    if not isinstance(scores, pd.DataFrame) or "verdict" not in scores.columns:
        raise TypeError("scores must be the DataFrame of vgteach.reproduction.score_claims")
    counts = [f"{count} {verdict}" for verdict, count in scores["verdict"].value_counts().items()]
    listed = counts[0] if len(counts) == 1 else ", ".join(counts[:-1]) + " and " + counts[-1]
    return f"{len(scores)} readings: {listed}"
