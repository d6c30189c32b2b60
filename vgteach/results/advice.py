"""Advice for choosing a loss, written from a study's numbers (the choosing chapter).

Every recommendation is a rank on a measured column, so the advice follows the reference runs when they
are regenerated::

    from vgteach import results
    from vgteach.results import advice
    reference = results.load("cifar10")
    advice.measures_table(reference.summary)     # the five measures the advice reads, mean ± sd
    advice.decision_table(reference.summary)     # situation -> first choice, the numbers, what to watch
    advice.leaders_text(reference.summary)       # who retrieves best, who compacts first (a sentence)

"Best" is the largest value, except for the speeds (the earliest epoch) and ``intra_change`` (the
strongest compaction, most negative, first). Compaction epochs are signed first
(:func:`vgteach.results.comparison.signed`): a loss whose intra rises has none and is never "the fastest
to compact".
"""

from __future__ import annotations

import pandas as pd

from .comparison import _check, label, loss_means, signed
from .prose import join_labels, mean_sd, ordinal

#: the losses that learn one vector per training class
PROXY_LOSSES = ("arcface", "ccl")
#: (summary column, heading) of :func:`measures_table`
MEASURES = (
    ("recall@1", "R@1"),
    ("intra", "intra"),
    ("within_class_rank", "within-class rank"),
    ("compaction_epoch", "compaction epoch"),
)
#: what a cell of :func:`decision_table` says where a loss has no value (a compaction epoch it lacks)
NEVER = "never"


def order(means: pd.DataFrame, column: str) -> list:
    """The losses best first on ``column`` of :func:`~vgteach.results.comparison.loss_means` (module
    docstring); losses without a value last."""
    if column not in means.columns:
        raise ValueError(f"no column {column!r} in the study; it has {sorted(means.columns)}")
    ascending = column.endswith("_epoch") or column == "intra_change"
    return means[column].sort_values(ascending=ascending, na_position="last").index.tolist()


def rank(means: pd.DataFrame, column: str, name: str) -> int:
    """``name``'s place in :func:`order` (1 = best)."""
    return order(means, column).index(name) + 1


def standing(means: pd.DataFrame, column: str, name: str, heading: str) -> str:
    """``"MAP@R 0.513 (1st of 7)"``: the value at three significant digits and the rank."""
    return f"{heading} {mean_sd(means.loc[name, column])} ({ordinal(rank(means, column, name))} of {len(means)})"


def measures_table(summary: pd.DataFrame) -> pd.DataFrame:
    """:data:`MEASURES` per loss, mean ± sd over seeds in one cell (:func:`~vgteach.results.mean_sd`: three
    significant digits; epochs with one decimal), compaction signed: a loss whose intra does not fall in any
    run reads "never". One row per loss, named as the book names it."""
    frame = signed(summary)
    _check(frame, [column for column, _ in MEASURES])
    groups = frame.groupby("loss")
    means, sds = loss_means(frame), groups[[column for column, _ in MEASURES]].std(ddof=1)
    table = pd.DataFrame(index=means.index)
    for column, heading in MEASURES:
        cells = []
        for name in means.index:
            mean, sd = means.loc[name, column], sds.loc[name, column]
            if pd.isna(mean):
                cells.append(NEVER)
            elif column.endswith("_epoch"):
                cells.append(f"{mean:.1f}" if pd.isna(sd) else f"{mean:.1f} ± {sd:.1f}")
            else:
                cells.append(mean_sd(mean, sd))
        table[heading] = cells
    table.index = [label(name) for name in table.index]
    table.index.name = "loss"
    return table


def first_to_compact(means: pd.DataFrame) -> list:
    """The losses that compact their classes first: those whose intra falls (``intra_change`` < 0) with the
    earliest compaction epoch as a table shows it (one decimal), several when they tie; ``[]`` when no loss
    compacts."""
    compacting = means[(means["intra_change"] < 0) & means["compaction_epoch"].notna()]
    if compacting.empty:
        return []
    epochs = compacting["compaction_epoch"].round(1)
    return [name for name in means.index if name in epochs.index and epochs[name] == epochs.min()]


def leaders_text(summary: pd.DataFrame) -> str:
    """Who retrieves best, who compacts first, and whether the two go together (Markdown, two sentences)."""
    means = loss_means(summary)
    top_r1, top_map = order(means, "recall@1")[:2], order(means, "map@r")[:2]
    text = f"{join_labels(top_r1)} retrieve best on R@1"
    text += " and on MAP@R alike." if set(top_r1) == set(top_map) else f", {join_labels(top_map)} on MAP@R."
    firsts = first_to_compact(means)
    if not firsts:
        return text + " No loss compacts its classes: every `intra` rises."
    if len(firsts) > 1:
        return (
            text + f" {join_labels(firsts)} compact their classes equally fast (by epoch "
            f"{means.loc[firsts[0], 'compaction_epoch']:.1f}): here compaction speed does not separate them."
        )
    first = firsts[0]
    place = rank(means, "recall@1", first)
    if place <= 2:
        return (
            text + f" {label(first)} compacts its classes first and is among them: fast compaction and good "
            "retrieval go together here."
        )
    return (
        text + f" {label(first)} compacts its classes first, yet ranks {ordinal(place)} of {len(means)} on R@1: "
        "compacting fast does not buy retrieval here."
    )


def structure_text(summary: pd.DataFrame) -> str:
    """Which loss keeps the most within-class variance (``intra``) and the most dimensions per class
    (within-class rank), and where the paper's two granular losses rank on the second."""
    means = loss_means(summary)
    wide, rich = order(means, "intra")[0], order(means, "within_class_rank")[0]
    kept = (
        f"{label(wide)} keeps the most, in size (`intra`) and in dimensions (within-class rank) alike"
        if wide == rich
        else f"{label(wide)} keeps the widest classes (`intra`) and {label(rich)} the most dimensions per class "
        "(within-class rank)"
    )
    granular = [name for name in ("triplet", "supcon") if name in means.index and name not in (wide, rich)]
    if granular:
        places = " and ".join(f"{label(name)} {ordinal(rank(means, 'within_class_rank', name))}" for name in granular)
        kept += f"; on within-class rank {places} of {len(means)}"
    return kept


def samples_text(summary: pd.DataFrame, batch_size: int, name: str = "npair") -> str:
    """``"in the reference runs 20 of its 512 samples a batch get a gradient"``, from
    ``sample_active_ratio``."""
    means = loss_means(summary)
    share = means.loc[name, "sample_active_ratio"]
    return f"in the reference runs {share * batch_size:.0f} of the {batch_size} samples of a batch get a gradient"


def compute_text(summary: pd.DataFrame) -> str:
    """Which loss's epochs take longest in the study, against the range of the others (evaluation included)."""
    means = loss_means(summary)
    slowest = means["epoch_time_s"].idxmax()
    others = means["epoch_time_s"].drop(slowest)
    return (
        f"In the reference runs {label(slowest)}'s epochs take the longest, {mean_sd(means.loc[slowest, 'epoch_time_s'], significant=2)} s "
        f"against {mean_sd(others.min(), significant=2)}–{mean_sd(others.max(), significant=2)} s for the "
        "others (the same machine, evaluation included)"
    )


def decision_table(summary: pd.DataFrame) -> pd.DataFrame:
    """The chapter's decision table: for each situation, the loss the study points to, the numbers that decide
    it (value and rank of 7) and what to watch.

    Parameters
    ----------
    summary : pandas.DataFrame
        A study's ``summary.csv`` (one row per loss and seed) with the seven losses' ``recall@1``,
        ``map@r``, ``intra``, ``intra_change``, ``within_class_rank``, ``centroid_dist_min``,
        ``centroid_dist_mean``, ``convergence_epoch`` and ``compaction_epoch``.

    Returns
    -------
    pandas.DataFrame
        Index: the situations (fine-grained or open set; coarse classes, a good embedding fast; closed
        set, classification-like; classes should collapse; well-separated classes); columns ``first
        choice``, ``the numbers`` (means over seeds and ranks), ``watch``.
    """
    _check(summary, _DECISION_COLUMNS)
    means = loss_means(summary)
    rows = {
        "fine-grained or open set": _fine_grained_row(means),
        "coarse classes, a good embedding fast": _fast_row(means),
        "closed set, classification-like": _closed_set_row(means),
        "classes should collapse": _collapse_row(means),
        "well-separated classes": _separated_row(means),
    }
    return pd.DataFrame.from_dict(rows, orient="index", columns=["first choice", "the numbers", "watch"])


#: the summary columns :func:`decision_table` reads
_DECISION_COLUMNS = (
    "recall@1",
    "map@r",
    "intra",
    "intra_change",
    "within_class_rank",
    "centroid_dist_min",
    "centroid_dist_mean",
    "convergence_epoch",
    "compaction_epoch",
)


def _place(means: pd.DataFrame, column: str, name: str) -> str:
    """``"2nd of 7"``: ``name``'s :func:`rank` on ``column`` among the losses."""
    return f"{ordinal(rank(means, column, name))} of {len(means)}"


def _value(means: pd.DataFrame, column: str, name: str, heading: str = "") -> str:
    """``"R@1 0.744 (1st of 7)"``: ``heading``, then ``name``'s mean on ``column`` and its :func:`_place`."""
    return f"{heading}{mean_sd(means.loc[name, column])} ({_place(means, column, name)})"


def _fine_grained_row(means: pd.DataFrame) -> tuple:
    """The two pair losses that keep the most dimensions per class (highest within-class rank)."""
    kept = [name for name in order(means, "within_class_rank") if name not in PROXY_LOSSES][:2]
    return (
        join_labels(kept),
        "the most dimensions per class among the pair losses: within-class rank "
        + ", ".join(_value(means, "within_class_rank", name, f"{label(name)} ") for name in kept),
        "our data are coarse and closed: check on your own split (the paper names Triplet and SupCon)",
    )


def _fast_row(means: pd.DataFrame) -> tuple:
    """The loss with the best R@1, how soon it gets there, and whether it also compacts first."""
    best = order(means, "recall@1")[0]
    return (
        label(best),
        f"{_value(means, 'recall@1', best, 'R@1 ')}, {_value(means, 'map@r', best, 'MAP@R ')}, 90\u00a0% of its R@1 "
        f"gain by epoch {mean_sd(means.loc[best, 'convergence_epoch'], significant=2)}",
        _compaction_watch(means, best),
    )


def _compaction_watch(means: pd.DataFrame, best: str) -> str:
    """Whether the loss that retrieves best (``best``) is also the one that compacts first (ties said)."""
    firsts = first_to_compact(means)
    if len(firsts) == 1 and firsts[0] != best:
        return (
            f"compacting first is not retrieving best: {label(firsts[0])} compacts first and is "
            f"{_place(means, 'recall@1', firsts[0])} on R@1"
        )
    if firsts == [best]:
        return "it also compacts its classes first"
    if firsts:
        return f"compaction speed does not separate {join_labels(firsts)}: they compact equally fast"
    return "no loss compacts its classes here"


def _closed_set_row(means: pd.DataFrame) -> tuple:
    """The proxy losses by MAP@R, and whether a pair loss retrieves better still."""
    proxies = [name for name in PROXY_LOSSES if name in means.index]
    by_map = sorted(proxies, key=lambda name: rank(means, "map@r", name))
    best = order(means, "recall@1")[0]
    return (
        " or ".join(label(name) for name in by_map),
        "MAP@R " + ", ".join(_value(means, "map@r", name, f"{label(name)} ") for name in by_map),
        "proxies learn at their own pace: compare proxy_grad_norm with head_grad_norm"
        + ("" if best in PROXY_LOSSES else f"; {label(best)} retrieves better still"),
    )


def _collapse_row(means: pd.DataFrame) -> tuple:
    """The loss that compacts most (most negative ``intra_change``) and what that costs retrieval."""
    compactor = order(means, "intra_change")[0]
    costly = rank(means, "map@r", compactor) > len(means) // 2
    return (
        label(compactor),
        f"the strongest compaction: intra falls by {mean_sd(-means.loc[compactor, 'intra_change'])}, to "
        f"{mean_sd(means.loc[compactor, 'intra'])}",
        ("collapse costs retrieval here: " if costly else "retrieval: ") + _value(means, "map@r", compactor, "MAP@R "),
    )


def _separated_row(means: pd.DataFrame) -> tuple:
    """The loss whose two closest class means are farthest apart, against the one with the largest mean
    distance."""
    margin, far = order(means, "centroid_dist_min")[0], order(means, "centroid_dist_mean")[0]
    n = len(means)
    if far == margin:
        watch = "its classes are also the farthest apart on average"
    elif rank(means, "centroid_dist_min", far) > n - n // 2:
        watch = (
            f"uneven spacing: {label(far)} has the largest mean distance but is "
            f"{_place(means, 'centroid_dist_min', far)} on the closest pair"
        )
    else:
        watch = (
            f"{label(far)} has the largest mean distance and is {_place(means, 'centroid_dist_min', far)} on "
            "the closest pair"
        )
    return (
        label(margin),
        "its two closest class means are the farthest apart: " + _value(means, "centroid_dist_min", margin),
        watch,
    )


def _trend(values: pd.Series) -> str:
    """``"up"`` (rises at every step), ``"down"``, ``"higher"``/``"lower"`` (ends so, not at every step) or
    ``"flat"``, read on the values as a table shows them (three significant digits): a step too small to
    show is no step."""
    values = values.map(lambda value: float(f"{value:.3g}"))
    steps = values.diff().dropna()
    if (steps > 0).all():
        return "up"
    if (steps < 0).all():
        return "down"
    if values.iloc[-1] > values.iloc[0]:
        return "higher"
    return "lower" if values.iloc[-1] < values.iloc[0] else "flat"


def temperature_text(knobs: pd.DataFrame) -> str:
    """What a temperature sweep shows, in one sentence of directions (the table above it holds the numbers):
    whether the effective active ratio rises with τ as the mechanism says, whether the classes spread or
    tighten, and at which τ R@1 is best. ``knobs``: one row per τ (the index, any order) with the summary
    columns ``recall@1``, ``intra`` and ``effective_active_ratio``."""
    if not isinstance(knobs, pd.DataFrame) or len(knobs) < 2:
        raise ValueError("knobs must be a DataFrame with one row per temperature, at least two")
    _check(knobs.assign(loss="infonce"), ("recall@1", "intra", "effective_active_ratio"))
    knobs = knobs.sort_index()
    ratio = {
        "up": "the effective active ratio rises at every step of τ: a higher temperature spreads the update "
        "over more pairs",
        "higher": "the effective active ratio is highest at the highest τ, though it does not rise at every step",
    }.get(
        _trend(knobs["effective_active_ratio"]),
        "the effective active ratio does not rise with τ here: on this data the wider spread does not show",
    )
    intra = {
        "up": "the classes spread at every step (`intra` rises)",
        "down": "the classes tighten at every step (`intra` falls)",
        "higher": "the classes end wider at the highest τ than at the lowest",
        "lower": "the classes end tighter at the highest τ than at the lowest",
    }.get(_trend(knobs["intra"]), "the classes keep their size")
    return f"{ratio}; {intra}, and R@1 is best at τ = {knobs['recall@1'].idxmax():g}"


def watch_texts(summary: pd.DataFrame, history: pd.DataFrame) -> dict:
    """The numbers behind the chapter's "what to watch" list, as short Markdown texts by name:
    ``active`` (the final active ratio of the hinge losses), ``stuck`` (the losses whose active ratio is 1
    at every epoch), ``gini`` (the range of the final Gini without N-pair, and N-pair's), ``proxy`` (the
    proxies' gradient norm against the head's)."""
    from .comparison import always_active

    means = loss_means(summary)
    hinge = [name for name in ("triplet", "contrastive", "arcface") if name in means.index]
    others = means.drop(index="npair", errors="ignore")["grad_gini"]
    proxies = [name for name in PROXY_LOSSES if name in means.index]
    stuck = always_active(history)
    return {
        "active": "in the reference runs it ends at "
        + join_labels(
            [f"{mean_sd(means.loc[name, 'active_ratio'], significant=2)} for {label(name)}" for name in hinge]
        ),
        "stuck": join_labels(stuck) if stuck else "no loss",
        "gini": f"In the reference runs N-pair ends with a Gini of {mean_sd(means.loc['npair', 'grad_gini'], significant=2)} "
        f"and only {means.loc['npair', 'sample_active_ratio']:.0%} of its samples getting a gradient; the other losses "
        f"end between {mean_sd(others.min(), significant=2)} and {mean_sd(others.max(), significant=2)}",
        "proxy": join_labels(
            [
                f"{label(name)}'s proxies get a gradient norm of "
                f"{mean_sd(means.loc[name, 'proxy_grad_norm'], significant=2)} against its head's "
                f"{mean_sd(means.loc[name, 'head_grad_norm'], significant=2)}"
                for name in proxies
            ]
        ),
    }
