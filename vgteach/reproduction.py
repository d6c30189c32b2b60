"""Score the paper's claims against a study's results: one measurement per claim, a verdict per claim.

Zeng et al. (ICASSP 2026) state their findings in words. This module turns each statement into a
comparison of columns of a study's ``summary.csv`` (one row per loss and seed) and scores it **per seed**:

- ``reproduced``      the claimed inequality holds in every seed;
- ``not reproduced``  the opposite holds in every seed;
- ``inconclusive``    it holds in some seeds and not in others (the spread is larger than the effect);
- ``no difference``   both sides are equal in every seed (the measurement cannot separate the losses,
                      e.g. every convergence epoch is 0 when R@1 starts above 90 % of its final value);
- ``not testable``    a column the claim needs is missing.

Group claims compare the mean over the group's losses, e.g. mean(intra of triplet, supcon) against
mean(intra of contrastive, infonce). The trade-off claim is a rank correlation across all seven losses.

    from vgteach.reproduction import score_claims
    table = score_claims(pd.read_csv("results/cifar10-efficientnet_lite0/summary.csv"))
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import pandas as pd
from scipy.stats import spearmanr

GRANULAR = ("triplet", "supcon")           # "Triplet and SCL preserve higher within-class variance"
COMPACTING = ("contrastive", "infonce")    # "Contrastive and InfoNCE compact embeddings quickly"


@dataclass(frozen=True)
class Claim:
    """A statement of the paper and how we measure it: ``measure(rows of one seed) -> (a, b)``; the
    claim is that ``a > b``."""

    text: str
    measurement: str
    measure: Callable[[pd.DataFrame], tuple]
    columns: tuple


def group_mean(rows: pd.DataFrame, losses, column: str) -> float:
    return float(rows.set_index("loss").loc[list(losses), column].mean())


def groups(column: str, high=GRANULAR, low=COMPACTING):
    return lambda rows: (group_mean(rows, high, column), group_mean(rows, low, column))


def npair_vs_others(column: str, reduce=np.max):
    def measure(rows):
        by_loss = rows.set_index("loss")[column]
        return float(by_loss["npair"]), float(reduce(by_loss.drop("npair")))
    return measure


def tradeoff(rows: pd.DataFrame) -> tuple:
    """Spearman ρ between compaction epoch (slowness) and final intra-class variance, across losses."""
    rho = spearmanr(rows["compaction_epoch"], rows["intra"]).statistic
    return float(0.0 if np.isnan(rho) else rho), 0.0


CLAIMS = (
    Claim("Triplet and SCL preserve higher within-class variance than Contrastive and InfoNCE",
          "intra: mean(triplet, supcon) > mean(contrastive, infonce)", groups("intra"), ("intra",)),
    Claim("Triplet and SCL keep clearer inter-class margins",
          "centroid_dist_min: mean(triplet, supcon) > mean(contrastive, infonce)", groups("centroid_dist_min"),
          ("centroid_dist_min",)),
    Claim("Triplet and SCL give stronger top-1 retrieval",
          "recall@1: mean(triplet, supcon) > mean(contrastive, infonce)", groups("recall@1"), ("recall@1",)),
    Claim("Contrastive and InfoNCE compact embeddings quickly",
          "compaction_epoch: mean(triplet, supcon) > mean(contrastive, infonce) (later = slower)",
          groups("compaction_epoch"), ("compaction_epoch",)),
    Claim("Contrastive and InfoNCE converge fast",
          "convergence_epoch: mean(triplet, supcon) > mean(contrastive, infonce)", groups("convergence_epoch"),
          ("convergence_epoch",)),
    Claim("Contrastive and InfoNCE converge fast (judged on MAP@R, which still moves where R@1 starts high)",
          "map_convergence_epoch: mean(triplet, supcon) > mean(contrastive, infonce)",
          groups("map_convergence_epoch"), ("map_convergence_epoch",)),
    Claim("Contrastive and InfoNCE update through many small updates (many active terms)",
          "active_ratio: mean(contrastive, infonce) > mean(triplet, supcon)",
          groups("active_ratio", COMPACTING, GRANULAR), ("active_ratio",)),
    Claim("… and spread the update evenly over samples (low Gini of per-sample gradient norms)",
          "grad_gini: mean(triplet, supcon) > mean(contrastive, infonce)", groups("grad_gini"), ("grad_gini",)),
    Claim("Contrastive and InfoNCE oversimplify class structure (lower within-class dimensionality)",
          "effective_rank: mean(triplet, supcon) > mean(contrastive, infonce)", groups("effective_rank"),
          ("effective_rank",)),
    Claim("N-pair reaches a large mean class separation",
          "centroid_dist_mean: npair > every other loss", npair_vs_others("centroid_dist_mean"),
          ("centroid_dist_mean",)),
    Claim("N-pair spaces classes unevenly",
          "centroid_dist_cv: npair > median of the other losses", npair_vs_others("centroid_dist_cv", np.median),
          ("centroid_dist_cv",)),
    Claim("Efficiency–granularity trade-off: the losses that compact slowly keep more within-class variance",
          "Spearman ρ(compaction_epoch, intra) across the seven losses > 0", tradeoff,
          ("compaction_epoch", "intra")),
)


def verdict(pairs: list) -> str:
    """The verdict from the per-seed ``(a, b)`` pairs of a claim ``a > b``."""
    if all(a > b for a, b in pairs):
        return "reproduced"
    if all(a < b for a, b in pairs):
        return "not reproduced"
    if all(a == b for a, b in pairs):
        return "no difference"
    return "inconclusive"


def score_claims(summary: pd.DataFrame, claims=CLAIMS) -> pd.DataFrame:
    """One row per claim: the measurement, ``a`` and ``b`` as mean ± std over seeds, the seeds where
    ``a > b`` held, and the verdict (see the module docstring)."""
    if not isinstance(summary, pd.DataFrame) or not {"loss", "seed"} <= set(summary.columns):
        raise ValueError("summary must be a study's summary.csv as a DataFrame (columns 'loss' and 'seed')")
    rows = []
    for claim in claims:
        missing = [c for c in claim.columns if c not in summary.columns]
        needed = set(GRANULAR + COMPACTING + ("npair",))
        if missing or not needed <= set(summary["loss"]):
            rows.append({"claim": claim.text, "measurement": claim.measurement, "a": "", "b": "",
                         "seeds holding": "", "verdict": "not testable"})
            continue
        pairs = [claim.measure(seed_rows) for _, seed_rows in summary.groupby("seed")]
        a, b = np.array(pairs).T
        holds = [x > y for x, y in pairs]
        rows.append({"claim": claim.text, "measurement": claim.measurement, "a": mean_std(a), "b": mean_std(b),
                     "seeds holding": f"{sum(holds)}/{len(holds)}", "verdict": verdict(pairs)})
    return pd.DataFrame(rows)


def mean_std(values: np.ndarray) -> str:
    if len(values) == 1:
        return f"{values[0]:.4g}"
    return f"{values.mean():.4g} ± {values.std(ddof=1):.2g}"
