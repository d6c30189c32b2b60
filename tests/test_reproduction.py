"""Scoring the paper's claims (vgteach.reproduction) on fabricated study summaries."""
import pandas as pd
import pytest

from vgteach.losses import LOSS_NAMES
from vgteach.reproduction import CLAIMS, score_claims

# a study where every claim of the paper holds, by construction
AGREEING = {
    #              intra  dmin  r1    comp conv active gini  erank dmean  cv   mapconv
    "contrastive": (0.10, 0.50, 0.80, 2, 1, 0.90, 0.20, 10, 1.00, 0.10, 2),
    "triplet":     (0.40, 0.90, 0.90, 9, 5, 0.10, 0.60, 30, 1.10, 0.12, 7),
    "npair":       (0.30, 0.60, 0.85, 5, 3, 0.50, 0.40, 20, 1.50, 0.40, 4),
    "infonce":     (0.15, 0.55, 0.82, 3, 2, 0.95, 0.25, 12, 1.05, 0.11, 3),
    "arcface":     (0.25, 0.70, 0.86, 6, 4, 0.40, 0.50, 22, 1.20, 0.15, 5),
    "supcon":      (0.35, 0.80, 0.88, 8, 6, 0.30, 0.55, 28, 1.15, 0.13, 8),
    "ccl":         (0.20, 0.65, 0.84, 4, 3, 0.60, 0.30, 15, 1.25, 0.14, 4),
}
COLUMNS = ("intra", "centroid_dist_min", "recall@1", "compaction_epoch", "convergence_epoch", "active_ratio",
           "grad_gini", "effective_rank", "centroid_dist_mean", "centroid_dist_cv", "map_convergence_epoch")


def summary(table, seeds=(0, 1, 2), jitter=0.001):
    rows = []
    for seed in seeds:
        for loss, values in table.items():
            rows.append({"loss": loss, "seed": seed, **{c: v + jitter * seed for c, v in zip(COLUMNS, values)}})
    return pd.DataFrame(rows)


def flipped(table):
    """Every loss takes the values of its 'mirror' so every claim reverses."""
    mirror = {"contrastive": "triplet", "triplet": "contrastive", "infonce": "supcon", "supcon": "infonce"}
    out = {loss: table[mirror.get(loss, loss)] for loss in table}
    out["npair"] = tuple(v if c not in ("centroid_dist_mean", "centroid_dist_cv") else 0.0
                         for c, v in zip(COLUMNS, table["npair"]))
    return out


def test_every_claim_is_reproduced_when_it_holds_in_every_seed():
    table = score_claims(summary(AGREEING))
    assert len(table) == len(CLAIMS)
    assert (table["verdict"] == "reproduced").all(), table[["claim", "verdict"]]
    assert (table["seeds holding"] == "3/3").all()
    assert "±" in table.loc[0, "a"]


def test_reversed_results_are_not_reproduced():
    table = score_claims(summary(flipped(AGREEING))).set_index("claim")
    group_claims = table.drop(index=[c for c in table.index if "trade-off" in c])
    assert (group_claims["verdict"] == "not reproduced").all(), group_claims["verdict"]


def test_tradeoff_is_a_rank_correlation_across_losses():
    # mirroring whole rows keeps the across-loss correlation: the trade-off still holds
    flipped_rows = score_claims(summary(flipped(AGREEING))).set_index("claim")
    tradeoff = [c for c in flipped_rows.index if "trade-off" in c][0]
    assert flipped_rows.loc[tradeoff, "verdict"] == "reproduced"
    # slow compaction with *little* variance: the opposite of the trade-off
    anti = {loss: tuple(-v if c == "compaction_epoch" else v for c, v in zip(COLUMNS, values))
            for loss, values in AGREEING.items()}
    assert score_claims(summary(anti)).set_index("claim").loc[tradeoff, "verdict"] == "not reproduced"


def test_disagreeing_seeds_are_inconclusive():
    mixed = pd.concat([summary(AGREEING, seeds=(0,)), summary(flipped(AGREEING), seeds=(1,))])
    table = score_claims(mixed)
    table = table[~table["claim"].str.contains("trade-off")]
    assert (table["verdict"] == "inconclusive").all()
    assert (table["seeds holding"] == "1/2").all()


def test_missing_columns_or_losses_are_not_testable():
    partial = summary(AGREEING).drop(columns=["effective_rank"])
    table = score_claims(partial).set_index("measurement")
    assert table.filter(like="effective_rank", axis=0)["verdict"].tolist() == ["not testable"]
    assert (table["verdict"] == "reproduced").sum() == len(CLAIMS) - 1
    only_two = summary({k: AGREEING[k] for k in ("triplet", "supcon")})
    assert (score_claims(only_two)["verdict"] == "not testable").all()


def test_bad_input():
    with pytest.raises(ValueError, match="summary"):
        score_claims(pd.DataFrame({"x": [1]}))


def test_claims_cover_the_seven_losses():
    assert set(AGREEING) == set(LOSS_NAMES)


def test_equal_sides_in_every_seed_are_no_difference():
    tied = {loss: tuple(0 if c == "convergence_epoch" else v for c, v in zip(COLUMNS, values))
            for loss, values in AGREEING.items()}
    table = score_claims(summary(tied, jitter=0.0)).set_index("measurement")
    assert table.filter(regex="^convergence_epoch", axis=0)["verdict"].tolist() == ["no difference"]
