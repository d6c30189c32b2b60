"""Hand-made study summaries for the tests of vgteach.reproduction: a study where every claim of the paper
holds for every pair of losses by construction, and the edits that break one claim at a time."""

import pandas as pd

from vgteach.reproduction import score_claims

COLUMNS = (
    "intra",
    "centroid_dist_min",
    "recall@1",
    "intra_change",
    "compaction_epoch",
    "effective_active_ratio",
    "grad_gini",
    "convergence_epoch",
    "map_convergence_epoch",
    "within_class_rank",
    "centroid_dist_mean",
    "centroid_dist_cv",
    "ratio",
    "ratio_change",
    "ratio_compaction_epoch",
)
AGREEING = {
    #              intra dmin  r1    dintra comp eff   gini conv mapc wrank dmean cv    ratio dratio rcomp
    "contrastive": (0.10, 0.50, 0.80, -0.30, 2, 0.90, 0.20, 1, 2, 10, 1.00, 0.10, 0.20, -3.0, 2),
    "triplet": (0.40, 0.90, 0.90, -0.05, 9, 0.10, 0.60, 5, 7, 30, 1.10, 0.12, 0.50, -1.0, 9),
    "npair": (0.30, 0.60, 0.85, -0.10, 5, 0.50, 0.40, 3, 4, 20, 1.50, 0.40, 0.35, -2.0, 5),
    "infonce": (0.15, 0.55, 0.82, -0.25, 3, 0.95, 0.25, 2, 3, 12, 1.05, 0.11, 0.25, -2.8, 3),
    "arcface": (0.25, 0.70, 0.86, -0.15, 6, 0.40, 0.50, 4, 5, 22, 1.20, 0.15, 0.30, -1.5, 6),
    "supcon": (0.35, 0.80, 0.88, -0.08, 8, 0.30, 0.55, 6, 8, 28, 1.15, 0.13, 0.45, -1.2, 8),
    "ccl": (0.20, 0.65, 0.84, -0.20, 4, 0.60, 0.30, 3, 4, 15, 1.25, 0.14, 0.28, -2.2, 4),
}


def summary(table=AGREEING, seeds=(0, 1, 2), jitter=0.001, offsets=None):
    """One row per loss and seed; seed s adds ``jitter * s`` (or ``offsets[s]``) to every value."""
    rows = []
    for seed in seeds:
        shift = offsets[seed] if offsets is not None else jitter * seed
        for loss, values in table.items():
            rows.append({"loss": loss, "seed": seed, **{c: v + shift for c, v in zip(COLUMNS, values)}})
    return pd.DataFrame(rows)


def with_values(column, table=AGREEING, **values):
    """``table`` with ``column`` replaced for the given losses."""
    index = COLUMNS.index(column)
    return {
        loss: tuple(values.get(loss, v) if i == index else v for i, v in enumerate(row)) for loss, row in table.items()
    }


def flipped(table=AGREEING):
    """Every loss takes the values of its mirror on the other side, so every group claim reverses."""
    mirror = {"contrastive": "triplet", "triplet": "contrastive", "infonce": "supcon", "supcon": "infonce"}
    return {loss: table[mirror.get(loss, loss)] for loss in table}


def scored(frame, column, **options):
    """The row of the claim on ``column`` (one claim per column in CLAIMS)."""
    table = score_claims(frame, **options)
    rows = table[table["measurement"].str.startswith(f"{column}:")]
    assert len(rows) == 1, column
    return rows.iloc[0]
