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
    ("map@r", "MAP@R"),
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


def leaders_text(summary: pd.DataFrame) -> str:
    """Who retrieves best, who compacts first, and whether the two go together (Markdown, two sentences)."""
    means = loss_means(summary)
    top_r1, top_map = order(means, "recall@1")[:2], order(means, "map@r")[:2]
    text = f"{join_labels(top_r1)} retrieve best on R@1"
    text += " and on MAP@R alike." if set(top_r1) == set(top_map) else f", {join_labels(top_map)} on MAP@R."
    compactors = [name for name in order(means, "compaction_epoch") if means.loc[name, "intra_change"] < 0]
    if not compactors:
        return text + " No loss compacts its classes: every `intra` rises."
    first = compactors[0]
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
        Index: the situations; columns ``first choice``, ``the numbers (reference runs)``, ``watch``.
    """
    needed = (
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
    _check(summary, needed)
    means = loss_means(summary)
    proxies = [name for name in PROXY_LOSSES if name in means.index]
    pair_losses = [name for name in order(means, "within_class_rank") if name not in PROXY_LOSSES]
    kept = pair_losses[:2]
    best = order(means, "recall@1")[0]
    compactor = order(means, "intra_change")[0]
    fastest = next((n for n in order(means, "compaction_epoch") if means.loc[n, "intra_change"] < 0), None)
    margin, far = order(means, "centroid_dist_min")[0], order(means, "centroid_dist_mean")[0]
    by_map = sorted(proxies, key=lambda name: rank(means, "map@r", name))
    n = len(means)

    rows = {}
    rows["fine-grained or open set (new classes at test time)"] = (
        join_labels(kept),
        "the pair losses with the most dimensions per class, within-class rank "
        + "; ".join(standing(means, "within_class_rank", name, label(name)) for name in kept),
        "our classes are coarse and closed: check on your own fine-grained split (the paper names Triplet and SupCon)",
    )
    watch = "the fastest to compact is not the best retriever" if fastest and fastest != best else "nothing more"
    if fastest and fastest != best:
        watch += f": {label(fastest)} compacts first and is {ordinal(rank(means, 'recall@1', fastest))} on R@1"
    rows["coarse classes, a good embedding fast"] = (
        label(best),
        f"{standing(means, 'recall@1', best, 'R@1')}, {standing(means, 'map@r', best, 'MAP@R')}; 90 % of its "
        f"R@1 gain by epoch {mean_sd(means.loc[best, 'convergence_epoch'], significant=2)}",
        watch,
    )
    rows["closed set, classification-like"] = (
        " or ".join(label(name) for name in by_map),
        "; ".join(f"{label(name)}: " + standing(means, "map@r", name, "MAP@R") for name in by_map),
        "proxies learn at their own pace: compare proxy_grad_norm with head_grad_norm"
        + ("" if best in PROXY_LOSSES else f"; here {label(best)} retrieves better still"),
    )
    costly = rank(means, "map@r", compactor) > n // 2
    rows["classes should collapse (within-class variance is noise)"] = (
        label(compactor),
        f"the strongest compaction: intra falls by {mean_sd(-means.loc[compactor, 'intra_change'])} to "
        f"{mean_sd(means.loc[compactor, 'intra'])}",
        ("collapse costs retrieval here: " if costly else "retrieval: ") + standing(means, "map@r", compactor, "MAP@R"),
    )
    rows["well-separated classes (the tightest margin matters)"] = (
        label(margin),
        "the largest smallest distance between two class means: "
        + standing(means, "centroid_dist_min", margin, "min distance"),
        (
            f"uneven spacing: {label(far)} has the largest mean distance but "
            + standing(means, "centroid_dist_min", far, "min distance")
        )
        if far != margin
        else "its classes are also the farthest apart on average",
    )
    columns = ["first choice", "the numbers (reference runs)", "watch"]
    table = pd.DataFrame.from_dict(rows, orient="index", columns=columns)
    table.index.name = "situation"
    return table


def temperature_text(knobs: pd.DataFrame) -> str:
    """How R@1, MAP@R, intra and the effective active ratio move from the lowest to the highest temperature
    of ``knobs`` (index: τ; those four summary columns), and whether the effective active ratio rises with
    τ as the mechanism says."""
    if not isinstance(knobs, pd.DataFrame) or len(knobs) < 2:
        raise ValueError("knobs must be a DataFrame with one row per temperature, at least two")
    knobs = knobs.sort_index()
    low, high = knobs.index[0], knobs.index[-1]

    def moves(column, name):
        return f"{name} from {mean_sd(knobs.loc[low, column])} to {mean_sd(knobs.loc[high, column])}"

    ratios = knobs["effective_active_ratio"]
    if (ratios.diff().dropna() > 0).all():
        reading = "the effective active ratio rises at every step of τ: a higher temperature spreads the update"
    elif ratios.iloc[-1] > ratios.iloc[0]:
        reading = "the effective active ratio is highest at the highest τ, though it does not rise at every step"
    else:
        reading = "the effective active ratio does not rise with τ here: on this data the wider spread does not show"
    return f"From τ = {low:g} to τ = {high:g}, {moves('recall@1', 'R@1')} and {moves('intra', '`intra`')}; {reading}"


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
        "gini": f"In the reference runs the final Gini of the other losses lies between "
        f"{mean_sd(others.min(), significant=2)} and {mean_sd(others.max(), significant=2)}; N-pair's "
        f"{mean_sd(means.loc['npair', 'grad_gini'], significant=2)} comes with only "
        f"{means.loc['npair', 'sample_active_ratio']:.0%} of its samples getting a gradient",
        "proxy": "; ".join(
            f"{label(name)}'s proxies {mean_sd(means.loc[name, 'proxy_grad_norm'], significant=2)} against its "
            f"head's {mean_sd(means.loc[name, 'head_grad_norm'], significant=2)}"
            for name in proxies
        ),
    }
