"""What the trade-off chapter reads off its protocol studies: which loss retrieves best under each protocol,
the paper's top-1 claim scored protocol by protocol, and whether the training split predicts transfer.

The chapter (notebooks/tradeoff.ipynb) draws with :mod:`vgteach.figures` and glues the phrases written here,
so that every direction it states (which loss retrieves best, where the paper's pair leads, the sign of a
correlation and whether its interval leaves out 0) is computed from the study it shows::

    from vgteach import results
    from vgteach.results import tradeoff
    studies = {p: results.load(n).summary for p, n in tradeoff.PROTOCOL_STUDIES.items()}
    tradeoff.granularity_table(studies)          # the paper's R@1 claim under each protocol
    tradeoff.lead_text(studies)                  # by how much Triplet and SupCon lead, protocol by protocol

The InfoNCE experiment and the robustness grid live in :mod:`vgteach.results.sweeps`. A study is a
``summary.csv`` (one row per loss and seed); losses are named as the book names them
(:data:`~vgteach.results.LOSS_LABELS`).
"""

from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from ..losses import LOSS_NAMES
from ..protocols import PROTOCOLS, protocol_for
from ..reproduction import COMPACTING, GRANULAR, ROTH, score_claims
from .prose import LOSS_LABELS, join_labels, mean_sd

#: the packaged study of each protocol (full CIFAR-10, paper settings; :func:`vgteach.results.load`)
PROTOCOL_STUDIES = {"closed": "cifar10", "zero-shot": "zero-shot", "coarse-to-fine": "coarse-to-fine"}
#: where a protocol's retrieval is scored, as the prose says it
PROTOCOL_PLACES = {
    "closed": "in the closed set",
    "zero-shot": "on the unseen classes",
    "coarse-to-fine": "on the fine labels",
}
#: the training-split measures of the transfer question and their names in the chapter's table
TRANSFER_LABELS = {
    "train_intra": "intra",
    "train_within_class_rank": "within-class rank",
    "train_spectral_decay": "spectral decay",
    "train_pi_ratio": "π-ratio",
}


def label(name: str) -> str:
    """A loss as the book names it (``"supcon"`` -> ``"SupCon"``)."""
    return LOSS_LABELS.get(name, name)


def _check(frame, what: str, columns: Sequence[str]) -> None:
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"{what} must be a pandas DataFrame, got {type(frame).__name__}")
    missing = [column for column in ("loss", *columns) if column not in frame.columns]
    if missing:
        raise ValueError(f"{what} has no column {missing[0]!r}; it has {sorted(frame.columns)}")


def _numbers(frame: pd.DataFrame, column: str) -> pd.Series:
    return pd.to_numeric(frame[column], errors="coerce").astype(float)


# ------------------------------------------------------------------------------------------ protocols
def protocol_table(dataset: str = "cifar10") -> pd.DataFrame:
    """Which classes each protocol trains on and which it scores, on ``dataset`` (:mod:`vgteach.protocols`).

    Returns a DataFrame indexed by protocol, columns ``trains on`` and ``scored on``: class names where a
    protocol takes some of the classes, "all 10 classes" where it takes every one, the superclasses'
    names for ``coarse-to-fine`` (each cell short enough to be shown whole)."""
    rows = {}
    for name in PROTOCOLS:
        protocol = protocol_for(name, dataset)
        every = f"all {len(protocol.eval_classes)} classes"
        if name == "closed":
            rows[name] = {"trains on": every, "scored on": "the same classes"}
        elif name == "coarse-to-fine":
            superclasses = " and ".join(protocol.train_classes)
            rows[name] = {"trains on": f"the superclasses {superclasses}", "scored on": f"{every}, fine labels"}
        else:
            rows[name] = {"trains on": ", ".join(protocol.train_classes), "scored on": ", ".join(protocol.eval_classes)}
    return pd.DataFrame.from_dict(rows, orient="index").rename_axis("protocol")


def loss_means(summary: pd.DataFrame, column: str) -> pd.Series:
    """Each loss's mean ``column`` over its runs, in :data:`~vgteach.losses.LOSS_NAMES` order."""
    _check(summary, "summary", (column,))
    means = _numbers(summary, column).groupby(summary["loss"]).mean()
    return means.reindex([name for name in LOSS_NAMES if name in means.index])


def best_loss(summary: pd.DataFrame, column: str = "recall@1") -> str:
    """The loss with the largest mean ``column`` over its seeds."""
    return str(loss_means(summary, column).idxmax())


def _group_cell(summary: pd.DataFrame, column: str, losses) -> str:
    """The mean over seeds (± sd) of the per-seed mean of ``column`` over ``losses``."""
    rows = summary[summary["loss"].isin(losses)]
    by_seed = _numbers(rows, column).groupby(rows["seed"] if "seed" in rows.columns else 0).mean()
    return mean_sd(by_seed.mean(), by_seed.std(ddof=1) if len(by_seed) > 1 else None)


def granularity_table(summaries: Mapping[str, pd.DataFrame], column: str = "recall@1") -> pd.DataFrame:
    """The paper's top-1 claim (Triplet and SupCon above Contrastive and InfoNCE) under each protocol.

    Parameters
    ----------
    summaries : mapping protocol -> DataFrame
        Each protocol's study ``summary.csv`` (``"closed"``, ``"zero-shot"``, ``"coarse-to-fine"``).
    column : str
        The claim's measure (``"recall@1"``).

    Returns
    -------
    DataFrame indexed by protocol: the two groups' mean over seeds of their per-seed mean, the loss with
    the best mean, and the verdict of :func:`~vgteach.reproduction.score_claims` under the protocol.
    """
    if not isinstance(summaries, Mapping) or not summaries:
        raise ValueError("summaries must be a non-empty mapping protocol -> study summary")
    rows = {}
    for protocol, summary in summaries.items():
        if protocol not in PROTOCOLS:
            raise ValueError(f"unknown protocol {protocol!r}; valid: {', '.join(PROTOCOLS)}")
        _check(summary, f"summary of {protocol!r}", (column,))
        scores = score_claims(summary, protocol=protocol)
        claim = scores[scores["measurement"].str.startswith(f"{column}:")]
        rows[protocol] = {
            join_labels(GRANULAR): _group_cell(summary, column, GRANULAR),
            join_labels(COMPACTING): _group_cell(summary, column, COMPACTING),
            "best": label(best_loss(summary, column)),
            "verdict": claim["verdict"].iloc[0] if len(claim) else "not testable",
        }
    return pd.DataFrame.from_dict(rows, orient="index").rename_axis("protocol")


def best_text(summaries: Mapping[str, pd.DataFrame], column: str = "recall@1") -> str:
    """``"InfoNCE retrieves best in the closed set and on the unseen classes, Triplet on the fine labels"``
    (one loss everywhere: ``"InfoNCE retrieves best under every protocol"``)."""
    winners: dict = {}
    for protocol, summary in summaries.items():
        winners.setdefault(best_loss(summary, column), []).append(PROTOCOL_PLACES.get(protocol, protocol))
    if len(winners) == 1 and len(summaries) > 1:
        return f"{label(next(iter(winners)))} retrieves best under every protocol"
    parts = [f"{label(loss)} {_and(places)}" for loss, places in winners.items()]
    return parts[0].replace(" ", " retrieves best ", 1) + "".join(f", {part}" for part in parts[1:])


def _and(words) -> str:
    words = list(words)
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def verdicts_text(table: pd.DataFrame) -> str:
    """``"*mixed* in the closed set, *reproduced* on the fine labels"``: :func:`granularity_table`'s verdicts
    protocol by protocol."""
    return _and(f"*{row.verdict}* {PROTOCOL_PLACES.get(protocol, protocol)}" for protocol, row in table.iterrows())


def group_gap(summary: pd.DataFrame, column: str = "recall@1") -> float:
    """Mean over seeds of (mean ``column`` of Triplet and SupCon − that of Contrastive and InfoNCE)."""
    _check(summary, "summary", (column,))
    by_seed = summary.assign(_v=_numbers(summary, column)).groupby(["seed", "loss"])["_v"].mean().unstack("loss")
    return float((by_seed[list(GRANULAR)].mean(axis=1) - by_seed[list(COMPACTING)].mean(axis=1)).mean())


def lead_text(summaries: Mapping[str, pd.DataFrame], column: str = "recall@1") -> str:
    """``"0.019 in the closed set, 0.034 on the unseen classes and 0.103 on the fine labels"``: by how much
    Triplet and SupCon's mean ``column`` is above Contrastive and InfoNCE's under each protocol (a gap
    below zero reads ``"−0.010"``)."""
    return _and(
        f"{mean_sd(group_gap(summary, column)).replace('-', '−')} {PROTOCOL_PLACES.get(p, p)}"
        for p, summary in summaries.items()
    )


def reversals_text(summaries: Mapping[str, pd.DataFrame], column: str = "recall@1") -> str:
    """The cross pairs in which a loss of the compacting pair has the higher mean ``column``, protocol by
    protocol: ``"InfoNCE above Triplet and SupCon in the closed set, InfoNCE above SupCon on the unseen
    classes"``; ``"none"`` where no pair reverses anywhere."""
    parts = []
    for protocol, summary in summaries.items():
        means = loss_means(summary, column)
        for low in COMPACTING:
            above = [high for high in GRANULAR if means[low] > means[high]]
            if above:
                parts.append(f"{label(low)} above {join_labels(above)} {PROTOCOL_PLACES.get(protocol, protocol)}")
    return ", ".join(parts) if parts else "none"


# ------------------------------------------------------------------------------------------- transfer
def transfer_row(correlations: pd.DataFrame, measure: str = "train_spectral_decay", target: str = "recall@1"):
    """The row of :func:`~vgteach.reproduction.transfer_correlations` for ``measure`` against ``target``."""
    rows = correlations[(correlations["measure"] == measure) & (correlations["target"] == target)]
    if rows.empty:
        raise ValueError(f"no correlation of {measure!r} with {target!r} in the table")
    return rows.iloc[0]


def _signed(value: float) -> str:
    return f"{value:.2f}".replace("-", "−")


def interval_text(row) -> str:
    """``"−0.86 to 0.10"`` (``"not measured"`` without an interval)."""
    if not (np.isfinite(row["low"]) and np.isfinite(row["high"])):
        return "not measured"
    return f"{_signed(row['low'])} to {_signed(row['high'])}"


def transfer_view(correlations: pd.DataFrame, target: str = "recall@1") -> pd.DataFrame:
    """The correlations with ``target`` as the chapter shows them: one row per training-split measure,
    Spearman ρ (two decimals), its 95 % bootstrap interval and the sign Roth et al. report."""
    rows = {}
    for measure, name in TRANSFER_LABELS.items():
        found = correlations[(correlations["measure"] == measure) & (correlations["target"] == target)]
        if found.empty:
            continue
        row = found.iloc[0]
        sign = ROTH.get(measure)
        rows[name] = {
            "Spearman ρ": _signed(row["rho"]) if np.isfinite(row["rho"]) else "not measured",
            "95 % interval": interval_text(row),
            "Roth et al.": "—" if sign is None else ("negative" if sign < 0 else "positive"),
        }
    return pd.DataFrame.from_dict(rows, orient="index").rename_axis("training split")


def rho_text(row) -> str:
    """``"ρ = −0.52 (95 % interval −0.86 to 0.10)"``."""
    text = f"ρ = {_signed(row['rho'])}"
    return text + (f" (95 % interval {interval_text(row)})" if np.isfinite(row["low"]) else "")


def sign_word(value: float) -> str:
    """``"negative"``, ``"positive"`` or ``"zero"``."""
    return "negative" if value < 0 else "positive" if value > 0 else "zero"


def roth_text(row) -> str:
    """Whether ρ's sign agrees with Roth et al.'s, and whether its interval leaves out 0:
    ``"negative, as Roth et al. find, and its interval leaves out 0"``."""
    expected = ROTH.get(row["measure"])
    said = sign_word(row["rho"])
    if expected is None:
        text = f"{said} (Roth et al. do not report this measure)"
    elif np.sign(row["rho"]) == expected:
        text = f"{said}, as Roth et al. find"
    else:
        text = f"{said}, where Roth et al. find a {'negative' if expected < 0 else 'positive'} one"
    if np.isfinite(row["low"]) and np.isfinite(row["high"]):
        text += ", but its interval includes 0" if row["low"] <= 0 <= row["high"] else ", and its interval leaves out 0"
    return text


def roth_pick(summary: pd.DataFrame, measure: str = "train_spectral_decay") -> str:
    """The loss Roth et al.'s finding points to: the least compressed training embeddings (the smallest
    mean ``measure``)."""
    return str(loss_means(summary, measure).idxmin())


def rule_text(summary: pd.DataFrame, target: str = "recall@1") -> str:
    """Whether Roth et al.'s pick (:func:`roth_pick`) retrieves best: ``"the rule picks InfoNCE, and InfoNCE
    does retrieve best on the unseen classes"`` or ``"…, but Triplet retrieves best …"``."""
    pick, best = roth_pick(summary), best_loss(summary, target)
    if pick == best:
        return f"the rule picks {label(pick)}, and {label(best)} does retrieve best on the unseen classes"
    return f"the rule picks {label(pick)}, but {label(best)} retrieves best on the unseen classes"


def roth_sign_text(rho: float) -> str:
    """What the sign of ρ between a spectral decay and R@1 says, against Roth et al.'s finding."""
    if not np.isfinite(rho) or rho == 0:
        return "no correlation either way"
    if rho < 0:
        return (
            "negative: the more compressed the training embeddings, the lower the R@1, the direction Roth et al. report"
        )
    return "positive: the more compressed the training embeddings, the higher the R@1, against Roth et al."
