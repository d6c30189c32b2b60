"""One verdict per claim on one study's summary: :func:`score_claims` and the rule that decides it,
:func:`decide` (DESIGN.md §5; the rules are spelt out in the package docstring, :mod:`vgteach.reproduction`).
"""

from __future__ import annotations

from typing import Optional

import numpy as np
import pandas as pd

from .claims import CLAIMS, NEVER, PROTOCOLS, Claim

VERDICTS = ("reproduced", "mixed", "not reproduced", "inconclusive", "no difference", "not testable")
#: two values closer than this (relative to the largest finite value of the claim's table) are equal
TIE_TOLERANCE = 1e-9


# -- one claim's table --------------------------------------------------------------------------------------
def claim_table(summary: pd.DataFrame, claim: Claim):
    """``(table seed × loss of claim.column, None)``, or ``(None, reason)`` when the claim cannot be tested.

    For a claim with ``never_when`` (the compaction epochs), a run that does not compact — its
    ``never_when`` change is ≥ 0, or its value is missing and the summary has no ``never_when`` — is
    ``+inf``. The sign is recomputed from the change, so summaries written when every run had a compaction
    epoch (whichever way intra went) are scored by the same rule as new ones.
    """
    if claim.column not in summary.columns:
        return None, f"no column {claim.column!r} in the summary (written before it existed: regenerate it)"
    high, low = claim.sides(list(dict.fromkeys(summary["loss"])))
    missing = [name for name in high + low if name not in set(summary["loss"])]
    if missing:
        return None, f"loss {missing[0]!r} is not in the summary"
    if not low:
        return None, f"no other loss than {', '.join(high)} in the summary to compare with"
    table = per_seed(summary, claim.column, high + low)
    if claim.never_when:
        if claim.never_when in summary.columns:
            table = table.mask(per_seed(summary, claim.never_when, high + low) >= 0, np.inf)
        else:
            table = table.fillna(np.inf)
    if table.isna().any(axis=None):
        loss = table.columns[table.isna().any()][0]
        seeds = table.index[table[loss].isna()].tolist()
        return None, f"no {claim.column} for {loss} in seed(s) {', '.join(map(str, seeds))}"
    return table, None


def per_seed(summary: pd.DataFrame, column: str, losses) -> pd.DataFrame:
    table = summary.pivot(index="seed", columns="loss", values=column)[list(losses)]
    return table.apply(pd.to_numeric, errors="coerce").astype(float)


# -- the numbers a verdict rests on -------------------------------------------------------------------------
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


def split_infinite(table: pd.DataFrame) -> tuple:
    """``(finite part, share)``: the table with +∞ set to 0, and the indicator (0/1) of +∞ — a value
    ``finite + M·share`` in the limit M → ∞."""
    infinite = np.isposinf(table.to_numpy(dtype=float))
    share = pd.DataFrame(infinite.astype(float), index=table.index, columns=table.columns)
    return table.mask(infinite, 0.0), share


def pair_signs(table: pd.DataFrame, h: str, lo: str, scale: float) -> np.ndarray:
    """Per seed, the sign of ``table[h] − table[lo]``: +∞ beats any finite value and ties with +∞."""
    a, b = table[h].to_numpy(dtype=float), table[lo].to_numpy(dtype=float)
    ia, ib = np.isposinf(a), np.isposinf(b)
    by_value = sign(np.where(ia | ib, 0.0, a) - np.where(ia | ib, 0.0, b), scale)
    return np.where(ia & ~ib, 1, np.where(ib & ~ia, -1, by_value)).astype(int)


def scale_of(table: pd.DataFrame) -> float:
    finite = np.abs(table.to_numpy()[np.isfinite(table.to_numpy())])
    return max(1.0, float(finite.max())) if finite.size else 1.0


def every_seed(n: int) -> str:
    """``"all 3 seeds"``, or ``"the one seed"`` (never "all 1 seeds")."""
    return "the one seed" if n == 1 else f"all {n} seeds"


def seeds_text(seeds) -> str:
    return f"seed{'s' if len(seeds) > 1 else ''} {', '.join(map(str, seeds))}"


def failing_pairs(table: pd.DataFrame, high, low, scale, low_negative: bool = False) -> list:
    """``"h < l in seeds …"`` (or ``=``) for every cross pair that does not hold in some seed; with
    ``low_negative``, ``"h > l but l does not compact in seeds …"`` where only the low loss's sign fails."""
    found = []
    for h in high:
        for lo in low:
            signs = pair_signs(table, h, lo, scale)
            for relation, mark in (("<", -1), ("=", 0)):
                seeds = table.index[signs == mark].tolist()
                if seeds:
                    found.append(f"{h} {relation} {lo} in {seeds_text(seeds)}")
            if low_negative:
                seeds = table.index[(signs > 0) & (table[lo] >= 0)].tolist()
                if seeds:
                    found.append(f"{h} > {lo} but {lo} {NEVER} in {seeds_text(seeds)}")
    return found


def decide(table: pd.DataFrame, high, low, *, low_negative: bool = False, column: str = "") -> dict:
    """The verdict of one claim on its seed × loss table, with the evidence that decided it.

    ``+inf`` entries (runs that do not compact) are compared as the limit of an ever larger number M; see the
    package docstring. ``low_negative``: a cross pair also needs the low loss's value below 0.
    """
    scale = scale_of(table)
    finite, share = split_infinite(table)
    high, low = list(high), list(low)
    shares = share[high].mean(axis=1) - share[low].mean(axis=1)  # per seed: the coefficient of M
    group = finite[high].mean(axis=1) - finite[low].mean(axis=1)  # per seed: what is left
    group_signs = np.where(np.abs(shares) > 1e-12, np.sign(shares), sign(group, scale)).astype(int)
    pairs = []
    for h in high:
        for lo in low:
            signs = pair_signs(table, h, lo, scale)
            pairs.append(np.where(low_negative & (table[lo].to_numpy() >= 0), -1, signs))
    pair_signs_ = np.stack(pairs)  # pairs × seeds
    failing = failing_pairs(table, high, low, scale, low_negative)
    n = len(table)
    effect, size, exceeds = effect_size(finite, share, shares, group, high)
    if (group_signs == 0).all():
        verdict, why = "no difference", f"the two sides are equal in {every_seed(n)}"
    elif (group_signs > 0).all() and (pair_signs_ > 0).all() and exceeds:
        verdict, why = "reproduced", f"all {pair_signs_.shape[0]} cross pairs hold in {every_seed(n)}; {size}"
    elif (group_signs > 0).all() and failing:
        verdict, why = "mixed", f"the group direction holds in {every_seed(n)}, but {'; '.join(failing)}"
    elif (group_signs < 0).all():
        verdict, why = "not reproduced", f"the group direction reverses in {every_seed(n)}; {size}"
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
    notes = never_notes(table, high + low, column, low if low_negative else ())
    return {
        "a": side_text(table[high].mean(axis=1)),
        "b": side_text(table[low].mean(axis=1)),
        "effect": effect["effect"],
        "2× pooled std": effect["noise"],
        "seeds holding": f"{int((group_signs > 0).sum())}/{n}",
        "pairs holding": f"{int((pair_signs_ > 0).sum())}/{pair_signs_.size}",
        "reversed pairs": "; ".join(failing),
        "verdict": verdict,
        "evidence": "; ".join([why, *notes]),
    }


def effect_size(finite, share, shares, group, high) -> tuple:
    """``({"effect", "noise"}, text, effect > noise)``: the group difference against twice the pooled seed
    std. Where runs are +∞ the effect is ``c·M + g`` and the noise ``2·sqrt(A·M² + …)`` (c: mean share of +∞
    runs, high minus low side; A: pooled seed variance of the +∞ indicators), so in the limit the effect
    exceeds the noise when c > 2·sqrt(A): the share of runs that do not compact decides, not their epochs."""
    c, g = float(shares.mean()), float(group.mean())
    variance = pooled_std(share) ** 2  # NaN for one seed
    infinite_noise = bool(variance > 0)
    noise = np.inf if infinite_noise else 2 * pooled_std(finite)
    if abs(c) <= 1e-12 and not infinite_noise:
        text = f"effect {g:.3g} vs 2× pooled std {noise:.3g}"
        return {"effect": g, "noise": noise}, text, bool(g > noise)
    effect = np.inf * np.sign(c) if abs(c) > 1e-12 else g
    shown = {np.inf: "+∞", -np.inf: "−∞"}.get(effect, f"{effect:.3g}")
    more = "higher" if c >= 0 else "lower"
    # said in words a reader can follow: the epochs' own std is beside the point once a side has +∞ runs
    text = (
        f"effect {shown}: a run that {NEVER} counts as +∞, so the share of such runs decides, not the epochs. "
        f"That share is {abs(c):.2g} {more} per seed on the {', '.join(high)} side, and it varies between seeds "
        f"by {2 * np.sqrt(variance):.2g} (twice its pooled seed std)"
    )
    return {"effect": effect, "noise": noise}, text, bool(c > 2 * np.sqrt(variance) + 1e-12)


def never_notes(table: pd.DataFrame, losses, column: str, must_fall) -> list:
    """Evidence notes: which runs do not compact (+∞), and which low losses do not compact (``must_fall``)."""
    notes = []
    infinite = [
        f"{loss} in {seeds_text(table.index[np.isposinf(table[loss])].tolist())}"
        for loss in losses
        if np.isposinf(table[loss]).any()
    ]
    if infinite:
        notes.append(f"a run that {NEVER} counts as slower than any run that does (+∞): {', '.join(infinite)}")
    what = f"{column} ≥ 0" if column else "a value ≥ 0"
    for loss in must_fall:
        seeds = table.index[table[loss] >= 0].tolist()
        if seeds:
            notes.append(f"{loss} {NEVER} ({what}) in {seeds_text(seeds)}: it holds no pair there")
    return notes


def side_text(values) -> str:
    """``mean ± std`` over seeds of one side's group means; ``∞`` where a side has a run at +∞."""
    values = pd.Series(values, dtype=float)
    infinite = np.isposinf(values)
    if not infinite.any():
        return mean_std(values)
    if infinite.all():
        return "∞"
    return f"∞ in {seeds_text(values.index[infinite].tolist())}, {mean_std(values[~infinite])} in the others"


def mean_std(values) -> str:
    values = np.asarray(values, dtype=float)
    if len(values) == 1:
        return f"{values[0]:.4g}"
    return f"{values.mean():.4g} ± {values.std(ddof=1):.2g}"


# -- every claim --------------------------------------------------------------------------------------------
def validate_summary(summary) -> None:
    if not isinstance(summary, pd.DataFrame) or not {"loss", "seed"} <= set(summary.columns):
        raise ValueError("summary must be a study's summary.csv as a DataFrame (columns 'loss' and 'seed')")
    repeated = summary.duplicated(["loss", "seed"])
    if repeated.any():
        loss, seed = summary.loc[repeated, ["loss", "seed"]].iloc[0]
        hint = " (a robustness study: score it with score_robustness)" if "setting" in summary.columns else ""
        raise ValueError(f"summary has several rows for loss {loss!r} and seed {seed}: one row per loss and seed{hint}")


def protocol_of(summary: pd.DataFrame, protocol: Optional[str] = None) -> str:
    """``protocol``, else the summary's one ``protocol`` value, else ``"closed"``; ValueError if unknown."""
    if protocol is None and "protocol" in summary.columns:
        found = summary["protocol"].dropna().unique()
        if len(found) > 1:
            raise ValueError(f"summary mixes protocols {sorted(found)}: score one protocol at a time")
        protocol = found[0] if len(found) else None
    protocol = "closed" if protocol is None else protocol
    if protocol not in PROTOCOLS:
        raise ValueError(f"protocol must be one of {tuple(PROTOCOLS)}, got {protocol!r}")
    return protocol


def score_claims(
    summary: pd.DataFrame, claims=CLAIMS, protocol: Optional[str] = None, dataset: Optional[str] = None
) -> pd.DataFrame:
    """Score every claim on a study's ``summary.csv`` (one row per loss and seed). See the package docstring.

    Parameters
    ----------
    summary : pandas.DataFrame
        One row per loss and seed.
    claims : sequence of Claim
        Default :data:`~vgteach.reproduction.CLAIMS`.
    protocol : str, optional
        ``"closed"``, ``"zero-shot"`` or ``"coarse-to-fine"``: how each claim reads (:meth:`Claim.on`);
        default: the summary's ``protocol`` column, else ``"closed"``.
    dataset : str, optional
        The study's dataset: a fine-grained one (``cub200``, ``cars196``) drops the "still not fine-grained"
        caveat.

    Returns
    -------
    DataFrame, one row per claim:
        ``claim`` (the paper's words), ``measurement`` (``column: high losses > low losses``), ``reading``
        (how the sentence becomes that direction), ``reading kind`` (``absolute``/``relative`` reading of
        "compact", ``""`` for the other claims); ``a`` and ``b``: the group means of the high and the low
        side, as mean ± std over seeds (``∞`` where a run does not compact); ``effect``: mean over seeds of
        mean(high) − mean(low) (±inf where the share of non-compacting runs differs); ``2× pooled std``:
        twice the pooled seed standard deviation of the losses involved (what ``effect`` must exceed);
        ``seeds holding``: seeds whose group means follow the claim; ``pairs holding``: (cross pair, seed)
        combinations that follow it; ``reversed pairs``: each cross pair that does not, with its seeds
        (``"supcon < infonce in seeds 0, 1, 2"``); ``verdict``; ``evidence``: the sentence that decided the
        verdict (or why the claim is not testable), with the protocol's caveat where it matters.
    """
    validate_summary(summary)
    protocol = protocol_of(summary, protocol)
    losses = list(dict.fromkeys(summary["loss"]))
    return pd.DataFrame([_score_claim(summary, claim.on(protocol, dataset), losses) for claim in claims])


def _score_claim(summary: pd.DataFrame, claim, losses: list) -> dict:
    """One row of :func:`score_claims`: ``claim`` (already read for the protocol, :meth:`Claim.on`) on the
    ``losses`` of ``summary``, its caveat after the evidence."""
    row = {
        "claim": claim.sentence,
        "measurement": claim.measurement(losses),
        "reading": claim.reading,
        "reading kind": claim.reading_kind,
    }
    table, reason = claim_table(summary, claim)
    if table is None:
        scored = _not_testable(reason)
    else:
        scored = decide(table, *claim.sides(losses), low_negative=claim.low_negative, column=claim.column)
    if claim.caveat:
        scored["evidence"] = f"{scored['evidence']} ({claim.caveat})"
    return {**row, **scored}


def _not_testable(reason: str) -> dict:
    """The scored columns of a claim the summary cannot test, ``reason`` as its evidence."""
    return {
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
