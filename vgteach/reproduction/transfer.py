r"""Does the training split's VARIANCE predict retrieval on classes the head never saw?
:func:`transfer_correlations` (DESIGN.md §5).

Across the (loss, seed) runs of one study (the zero-shot study: R@1 and MAP@R on unseen classes), the
Spearman correlation between each measure of the *training* split and each retrieval target, with a
bootstrap interval that resamples **losses** (a cluster bootstrap: a drawn loss brings all of its seeds,
because the seeds of one loss are not independent evidence about losses).

Roth et al. (ICML 2020, ``roth2020revisiting``) relate two such measures of the training split to zero-shot
generalisation across many deep-metric-learning models on CUB-200, Cars196 and SOP: the **spectral decay**
ρ (how compressed the embeddings are into few directions) correlates *negatively* with zero-shot recall
(stronger compression, worse generalisation, which their ρ-regularisation exploits), and the **π-ratio**
π_intra / π_inter (within-class distances relative to the distances between class means: how much
structure each class keeps) correlates *positively*. :data:`ROTH` writes those two signs down; the
``Roth et al.`` column says whether ours agree.
"""

from __future__ import annotations

from types import MappingProxyType

import numpy as np
import pandas as pd
from scipy.stats import spearmanr

from .scoring import validate_summary

#: the training-split VARIANCE measures of DESIGN §5 and the zero-shot retrieval targets
TRANSFER_MEASURES = ("train_intra", "train_within_class_rank", "train_spectral_decay", "train_pi_ratio")
TRANSFER_TARGETS = ("recall@1", "map@r")
#: the sign of the correlation with zero-shot recall that Roth et al. (ICML 2020) report, per measure
ROTH = MappingProxyType(
    {
        "train_spectral_decay": -1,  # stronger compression (larger ρ) -> worse zero-shot recall
        "spectral_decay": -1,
        "train_pi_ratio": 1,  # classes that keep more within-class structure -> better zero-shot recall
        "pi_ratio": 1,
    }
)
#: the interval of the bootstrap: its 2.5 and 97.5 percentiles
PERCENTILES = (2.5, 97.5)


def spearman(x, y):
    """``(ρ, None)`` or ``(nan, reason)``: scipy's Spearman ρ, guarded against inputs it cannot rank."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if len(x) < 3:
        return np.nan, f"{len(x)} run{'s' if len(x) != 1 else ''} with both values: at least 3 are needed"
    for values, which in ((x, "measure"), (y, "target")):
        if np.ptp(values) == 0:
            return np.nan, f"the {which} is the same in every run: there is no ranking to correlate"
    return float(spearmanr(x, y)[0]), None


def cluster_bootstrap(x, y, groups, n_boot: int, seed: int):
    """``(ρ values of the resamples that could be ranked, how many could not)``: each resample draws as many
    losses as there are, with replacement, and keeps every seed of each drawn loss."""
    rng = np.random.default_rng(seed)
    members = [np.flatnonzero(groups == g) for g in pd.unique(groups)]
    values, skipped = [], 0
    for _ in range(n_boot):
        index = np.concatenate([members[i] for i in rng.integers(0, len(members), len(members))])
        rho, reason = spearman(x[index], y[index])
        if reason is None:
            values.append(rho)
        else:
            skipped += 1
    return np.asarray(values), skipped


def roth_text(measure: str, rho: float, low: float, high: float) -> str:
    """Whether the sign of ρ agrees with Roth et al.'s (``""`` for measures they do not report)."""
    expected = ROTH.get(measure)
    if expected is None:
        return ""
    said = "negative" if expected < 0 else "positive"
    if np.isnan(rho):
        return f"not measured (Roth et al.: {said})"
    agrees = np.sign(rho) == expected
    text = f"agrees: {said}, as Roth et al. report" if agrees else f"disagrees: Roth et al. report a {said} correlation"
    if not np.isnan(low) and low <= 0 <= high:
        text += " (but the interval includes 0)"
    return text


def check_names(names, what: str) -> tuple:
    if isinstance(names, str) or not all(isinstance(name, str) for name in names):
        raise TypeError(f"{what} must be a sequence of column names, not {names!r}")
    if not names:
        raise ValueError(f"{what} is empty")
    return tuple(names)


def transfer_correlations(
    summary: pd.DataFrame,
    measures=TRANSFER_MEASURES,
    targets=TRANSFER_TARGETS,
    n_boot: int = 2000,
    seed: int = 0,
) -> pd.DataFrame:
    """Spearman ρ between each training-split measure and each retrieval target across a study's runs.

    Parameters
    ----------
    summary : pandas.DataFrame
        A study's ``summary.csv`` (one row per loss and seed); the zero-shot study for DESIGN §5's question.
    measures, targets : sequence of str
        Summary columns: default :data:`TRANSFER_MEASURES` against :data:`TRANSFER_TARGETS`.
    n_boot : int
        Cluster-bootstrap resamples of the losses (each with all its seeds).
    seed : int
        Seed of the resampling: the same seed gives the same interval.

    Returns
    -------
    DataFrame, one row per (measure, target):
        ``measure``, ``target``, ``rho`` (Spearman, on every run with both values), ``low``/``high`` (the 2.5 and
        97.5 percentiles of ρ over the resamples), ``runs``, ``losses`` (how many went in), ``Roth et al.``
        (whether ρ's sign agrees with Roth et al.'s, for spectral decay and π-ratio), ``reason``: why a
        number is NaN, or what was left out (runs without a value, resamples that could not be ranked).
        Degenerate inputs (a missing column, fewer than 3 runs, a constant measure) give NaN with a reason.

    Examples
    --------
    >>> transfer_correlations(results.load("zero-shot").summary)    # doctest: +SKIP
    """
    validate_summary(summary)
    measures, targets = check_names(measures, "measures"), check_names(targets, "targets")
    if isinstance(n_boot, bool) or not isinstance(n_boot, (int, np.integer)) or n_boot < 1:
        raise ValueError(f"n_boot must be a positive integer, got {n_boot!r}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"seed must be an integer, got {seed!r}")
    return pd.DataFrame(
        [correlate(summary, measure, target, n_boot, seed) for measure in measures for target in targets]
    )


def correlate(summary: pd.DataFrame, measure: str, target: str, n_boot: int, seed: int) -> dict:
    """One row of :func:`transfer_correlations`."""
    row = {"measure": measure, "target": target, "rho": np.nan, "low": np.nan, "high": np.nan}
    row.update({"runs": 0, "losses": 0, "Roth et al.": roth_text(measure, np.nan, np.nan, np.nan)})
    absent = [name for name in (measure, target) if name not in summary.columns]
    if absent:
        return {**row, "reason": f"no column {absent[0]!r} in the summary (written before it existed: regenerate it)"}
    data = summary[["loss", measure, target]].copy()
    data[[measure, target]] = data[[measure, target]].apply(pd.to_numeric, errors="coerce")
    kept = data.dropna(subset=[measure, target])
    notes = [f"{len(data) - len(kept)} run(s) without a value left out"] if len(kept) < len(data) else []
    x, y, groups = kept[measure].to_numpy(float), kept[target].to_numpy(float), kept["loss"].to_numpy()
    row.update({"runs": len(kept), "losses": len(pd.unique(groups))})
    rho, reason = spearman(x, y)
    if reason is not None:
        return {**row, "reason": "; ".join([reason, *notes])}
    row["rho"] = rho
    if row["losses"] < 2:
        notes.append("one loss: the bootstrap over losses has nothing to resample")
        return {**row, "Roth et al.": roth_text(measure, rho, np.nan, np.nan), "reason": "; ".join(notes)}
    values, skipped = cluster_bootstrap(x, y, groups, n_boot, seed)
    if skipped:
        notes.append(f"{skipped} of {n_boot} resamples could not be ranked (too few runs or a constant column)")
    if len(values):
        row["low"], row["high"] = (float(v) for v in np.percentile(values, PERCENTILES))
    row["Roth et al."] = roth_text(measure, rho, row["low"], row["high"])
    return {**row, "reason": "; ".join(notes)}
