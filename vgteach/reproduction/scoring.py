"""Score the paper's claims against a study's results, seed by seed and loss pair by loss pair (DESIGN.md §5).

Zeng et al. (ICASSP 2026) state their findings in words. Each :class:`Claim` below turns one of their
sentences into a *direction on one measurement between two groups of losses*: "``column`` is larger for
the losses ``high`` than for the losses ``low``" (e.g. ``intra``: {triplet, supcon} > {contrastive,
infonce}). A claim about one loss (N-pair's uneven spacing) compares it with *every* other loss.

It is scored on every seed and on every **cross pair** (one loss from each side), not only on the group
means, so that a single loss cannot carry a group:

- ``reproduced``      the direction holds for every cross pair in every seed, **and** the group difference
                      (mean over seeds of mean(high) − mean(low)) exceeds 2× the pooled seed standard
                      deviation of the losses involved;
- ``mixed``           the group direction holds in every seed, but some cross pair does not (it reverses,
                      or ties) in some seed — the ``reversed pairs`` column names them;
- ``not reproduced``  the group direction reverses in every seed;
- ``no difference``   the two group means are equal in every seed (the measurement cannot separate them);
- ``inconclusive``    anything else: the seeds disagree, or every pair holds but the effect is within the
                      seed-to-seed noise (with a single seed the noise is unknown, so nothing is reproduced);
- ``not testable``    the summary lacks the claim's column (results written before it existed: regenerate
                      them) or one of its losses, or a value is missing; the ``evidence`` column says which.

The paper's "efficiency–granularity trade-off" is not a claim of its own here: it is the conjunction of
the claims of :data:`CLAIMS` marked ``part="granularity"`` (their columns: :data:`GRANULARITY`) and
``part="efficiency"`` (:data:`EFFICIENCY`), each scored like every other claim. :data:`CLAIMS` is the one
list of the paper's claims; everything else (the findings of :func:`vgteach.results.findings`, the book's
reproduction chapter) is generated from it.

    from vgteach.reproduction import score_claims
    table = score_claims(pd.read_csv("results/cifar10-efficientnet_lite0/summary.csv"))
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import numpy as np
import pandas as pd

GRANULAR = ("triplet", "supcon")  # "Triplet and SCL preserve higher within-class variance"
COMPACTING = ("contrastive", "infonce")  # "Contrastive and InfoNCE compact embeddings ... quickly"
#: the two sides of the paper's efficiency–granularity trade-off (``Claim.part``; ``""``: not part of it)
TRADE_OFF_PARTS = ("", "granularity", "efficiency")
VERDICTS = ("reproduced", "mixed", "not reproduced", "inconclusive", "no difference", "not testable")
#: two values closer than this (relative to the largest value of the claim's table) are equal
TIE_TOLERANCE = 1e-9


@dataclass(frozen=True)
class Claim:
    """One sentence of the paper as "``column`` is larger for every loss of ``high`` than for every loss
    of ``low``". ``low=None``: every other loss in the summary (single-loss claims). ``reading`` says how
    the sentence becomes that direction; ``part`` is ``"granularity"`` or ``"efficiency"`` for the claims
    whose conjunction is the paper's trade-off (``""`` for the others)."""

    sentence: str
    column: str
    high: tuple
    low: Optional[tuple] = None
    reading: str = ""
    part: str = ""

    def __post_init__(self):
        if self.part not in TRADE_OFF_PARTS:
            raise ValueError(f"part must be one of {TRADE_OFF_PARTS}, got {self.part!r}")

    def sides(self, losses) -> tuple:
        """``(high, low)`` for a summary holding ``losses`` (``low=None`` resolved to every other loss)."""
        low = self.low if self.low is not None else tuple(name for name in losses if name not in self.high)
        return tuple(self.high), tuple(low)

    def measurement(self, losses) -> str:
        high, low = self.sides(losses)
        return f"{self.column}: {', '.join(high)} > {', '.join(low) if self.low else 'each of ' + ', '.join(low)}"


#: the paper's claims (sentences of its abstract, arXiv 2601.21450), written once
CLAIMS = (
    Claim(
        "Triplet and SCL preserve higher within-class variance",
        "intra",
        GRANULAR,
        COMPACTING,
        "final intra-class variance",
        part="granularity",
    ),
    Claim(
        "[Triplet and SCL preserve] clearer inter-class margins",
        "centroid_dist_min",
        GRANULAR,
        COMPACTING,
        "the smallest distance between two class centroids: the tightest margin",
    ),
    Claim(
        "leading to stronger top-1 retrieval in fine-grained settings",
        "recall@1",
        GRANULAR,
        COMPACTING,
        "final R@1 (our data are coarse-grained: a weaker test of the same statement)",
    ),
    Claim(
        "Contrastive and InfoNCE compact embeddings",
        "intra_change",
        GRANULAR,
        COMPACTING,
        "intra at the end minus at epoch 0: more negative = compacted more",
    ),
    Claim(
        "Contrastive and InfoNCE compact embeddings ... quickly",
        "compaction_epoch",
        GRANULAR,
        COMPACTING,
        "first epoch within 10 % of the total change of intra, whatever its sign (a loss whose intra rises also settles: read with intra_change): later = slower",
        part="efficiency",
    ),
    Claim(
        "through many small updates",
        "effective_active_ratio",
        COMPACTING,
        GRANULAR,
        "many: the effective share of pairs that carry the update",
    ),
    Claim(
        "through many small updates",
        "grad_gini",
        GRANULAR,
        COMPACTING,
        "small: an even spread of per-sample gradient norms (low Gini)",
    ),
    Claim(
        "accelerating convergence",
        "convergence_epoch",
        GRANULAR,
        COMPACTING,
        "first epoch with 90 % of the run's R@1 gain: later = slower",
        part="efficiency",
    ),
    Claim(
        "accelerating convergence",
        "map_convergence_epoch",
        GRANULAR,
        COMPACTING,
        "the same on MAP@R, which still moves where R@1 starts high",
        part="efficiency",
    ),
    Claim(
        "but potentially oversimplifying class structures",
        "within_class_rank",
        GRANULAR,
        COMPACTING,
        "effective rank of each class's centred embeddings: its dimensionality",
        part="granularity",
    ),
    Claim(
        "N-pair achieves a large mean separation",
        "centroid_dist_mean",
        ("npair",),
        None,
        "mean distance between class centroids, against every other loss",
    ),
    Claim(
        "but with uneven spacing",
        "centroid_dist_cv",
        ("npair",),
        None,
        "coefficient of variation of the centroid distances, against every other loss",
    ),
)

#: the columns of the trade-off's claims: granularity (kept structure) and efficiency (speed), from CLAIMS
GRANULARITY = tuple(claim.column for claim in CLAIMS if claim.part == "granularity")
EFFICIENCY = tuple(claim.column for claim in CLAIMS if claim.part == "efficiency")


# -- one claim ----------------------------------------------------------------------------------------------
def claim_table(summary: pd.DataFrame, claim: Claim):
    """``(table seed × loss of claim.column, None)``, or ``(None, reason)`` when the claim cannot be tested."""
    if claim.column not in summary.columns:
        return None, f"no column {claim.column!r} in the summary (written before it existed: regenerate it)"
    high, low = claim.sides(list(dict.fromkeys(summary["loss"])))
    missing = [name for name in high + low if name not in set(summary["loss"])]
    if missing:
        return None, f"loss {missing[0]!r} is not in the summary"
    if not low:
        return None, f"no other loss than {', '.join(high)} in the summary to compare with"
    table = summary.pivot(index="seed", columns="loss", values=claim.column)[list(high + low)]
    table = table.apply(pd.to_numeric, errors="coerce").astype(float)
    if table.isna().any(axis=None):
        loss = table.columns[table.isna().any()][0]
        seeds = table.index[table[loss].isna()].tolist()
        return None, f"no {claim.column} for {loss} in seed(s) {', '.join(map(str, seeds))}"
    return table, None


def sign(values, scale: float) -> np.ndarray:
    """-1, 0 or +1 per value, with ties up to :data:`TIE_TOLERANCE` × ``scale``."""
    values = np.asarray(values, dtype=float)
    return np.where(np.abs(values) <= TIE_TOLERANCE * scale, 0, np.sign(values)).astype(int)


def pooled_std(table: pd.DataFrame) -> float:
    """Pooled seed standard deviation of the losses (columns): sqrt(Σ (n−1)·s² / Σ (n−1)); NaN for 1 seed."""
    n = table.notna().sum()
    dof = (n - 1).clip(lower=0)
    if dof.sum() == 0:
        return float("nan")
    return float(np.sqrt((dof * table.var(ddof=1).fillna(0)).sum() / dof.sum()))


def seeds_text(seeds) -> str:
    return f"seed{'s' if len(seeds) > 1 else ''} {', '.join(map(str, seeds))}"


def failing_pairs(table: pd.DataFrame, high, low, scale) -> list:
    """``"h < l in seeds …"`` (or ``=``) for every cross pair that does not hold in some seed."""
    found = []
    for h in high:
        for lo in low:
            signs = sign(table[h] - table[lo], scale)
            for relation, mark in (("<", -1), ("=", 0)):
                seeds = table.index[signs == mark].tolist()
                if seeds:
                    found.append(f"{h} {relation} {lo} in {seeds_text(seeds)}")
    return found


def decide(table: pd.DataFrame, high, low) -> dict:
    """The verdict of one claim on its seed × loss table, with the evidence that decided it."""
    scale = max(1.0, float(table.abs().max(axis=None)))
    group = table[list(high)].mean(axis=1) - table[list(low)].mean(axis=1)  # per seed
    group_signs = sign(group, scale)
    pair_signs = np.stack([sign(table[h] - table[lo], scale) for h in high for lo in low])  # pairs × seeds
    effect, noise = float(group.mean()), 2 * pooled_std(table)
    failing = failing_pairs(table, high, low, scale)
    n = len(table)
    size = f"effect {effect:.3g} vs 2× pooled std {noise:.3g}"
    if (group_signs == 0).all():
        verdict, why = "no difference", f"the two sides are equal in all {n} seeds"
    elif (group_signs > 0).all() and (pair_signs > 0).all() and effect > noise:
        verdict, why = "reproduced", f"all {pair_signs.shape[0]} cross pairs hold in all {n} seeds; {size}"
    elif (group_signs > 0).all() and failing:
        verdict, why = "mixed", f"the group direction holds in all {n} seeds, but {'; '.join(failing)}"
    elif (group_signs < 0).all():
        verdict, why = "not reproduced", f"the group direction reverses in all {n} seeds; {size}"
    elif (group_signs > 0).all():
        verdict = "inconclusive"
        why = (
            f"every cross pair holds, but one seed cannot measure the noise ({size})"
            if n == 1
            else f"every cross pair holds in every seed, but the effect is within the noise: {size}"
        )
    else:
        verdict = "inconclusive"
        why = (
            f"the seeds disagree: the group direction holds in {seeds_text(table.index[group_signs > 0].tolist())}, "
            f"not in {seeds_text(table.index[group_signs <= 0].tolist())}"
        )
    return {
        "a": mean_std(table[list(high)].mean(axis=1)),
        "b": mean_std(table[list(low)].mean(axis=1)),
        "effect": effect,
        "2× pooled std": noise,
        "seeds holding": f"{int((group_signs > 0).sum())}/{n}",
        "pairs holding": f"{int((pair_signs > 0).sum())}/{pair_signs.size}",
        "reversed pairs": "; ".join(failing),
        "verdict": verdict,
        "evidence": why,
    }


# -- every claim --------------------------------------------------------------------------------------------
def validate_summary(summary) -> None:
    if not isinstance(summary, pd.DataFrame) or not {"loss", "seed"} <= set(summary.columns):
        raise ValueError("summary must be a study's summary.csv as a DataFrame (columns 'loss' and 'seed')")
    repeated = summary.duplicated(["loss", "seed"])
    if repeated.any():
        loss, seed = summary.loc[repeated, ["loss", "seed"]].iloc[0]
        raise ValueError(f"summary has several rows for loss {loss!r} and seed {seed}: one row per loss and seed")


def score_claims(summary: pd.DataFrame, claims=CLAIMS) -> pd.DataFrame:
    """Score every claim on a study's ``summary.csv`` (one row per loss and seed). See the module docstring.

    Returns
    -------
    DataFrame, one row per claim:
        ``claim`` (the paper's words), ``measurement`` (``column: high losses > low losses``), ``reading``
        (how the sentence becomes that direction); ``a`` and ``b``: the group means of the high and the low
        side, as mean ± std over seeds; ``effect``: mean over seeds of mean(high) − mean(low);
        ``2× pooled std``: twice the pooled seed standard deviation of the losses involved (what
        ``effect`` must exceed); ``seeds holding``: seeds whose group means follow the claim;
        ``pairs holding``: (cross pair, seed) combinations that follow it; ``reversed pairs``: each cross
        pair that does not, with its seeds (``"supcon < infonce in seeds 0, 1, 2"``); ``verdict``;
        ``evidence``: the sentence that decided the verdict (or why the claim is not testable).
    """
    validate_summary(summary)
    losses = list(dict.fromkeys(summary["loss"]))
    rows = []
    for claim in claims:
        row = {"claim": claim.sentence, "measurement": claim.measurement(losses), "reading": claim.reading}
        table, reason = claim_table(summary, claim)
        if table is None:
            rows.append(
                {
                    **row,
                    "a": "",
                    "b": "",
                    "effect": np.nan,
                    "2× pooled std": np.nan,
                    "seeds holding": "",
                    "pairs holding": "",
                    "reversed pairs": "",
                    "verdict": "not testable",
                    "evidence": reason,
                }
            )
        else:
            rows.append({**row, **decide(table, *claim.sides(losses))})
    return pd.DataFrame(rows)


def mean_std(values) -> str:
    values = np.asarray(values, dtype=float)
    if len(values) == 1:
        return f"{values[0]:.4g}"
    return f"{values.mean():.4g} ± {values.std(ddof=1):.2g}"
