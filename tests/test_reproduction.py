"""Scoring the paper's claims (vgteach.reproduction, DESIGN.md §5) on hand-made study summaries: one table
per verdict, the evidence each verdict carries, and the committed results (which may lack new columns)."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from reproduction_tables import AGREEING, COLUMNS, flipped, scored, summary, with_values

from vgteach.losses import LOSS_NAMES
from vgteach.reproduction import CLAIMS, VERDICTS, Claim, pooled_std, score_claims


def test_claims_name_existing_columns_once_and_quote_the_paper():
    assert sorted(claim.column for claim in CLAIMS) == sorted(COLUMNS)
    assert all(claim.sentence and claim.reading for claim in CLAIMS)
    assert {claim.column for claim in CLAIMS if claim.low is None} == {"centroid_dist_mean", "centroid_dist_cv"}


# -- one hand-made table per verdict ------------------------------------------------------------------------
def test_reproduced_when_every_pair_holds_in_every_seed_beyond_the_noise():
    table = score_claims(summary())
    assert (table["verdict"] == "reproduced").all(), table[["measurement", "verdict", "evidence"]]
    assert (table["seeds holding"] == "3/3").all() and (table["reversed pairs"] == "").all()
    row = table.set_index("measurement").filter(regex="^intra:", axis=0).iloc[0]
    assert row["pairs holding"] == "12/12" and row["a"] == "0.376 ± 0.001" and row["b"] == "0.126 ± 0.001"
    assert row["effect"] == pytest.approx(0.25) and row["2× pooled std"] == pytest.approx(0.002)
    assert "effect 0.25 vs 2× pooled std 0.002" in row["evidence"]


def test_mixed_when_one_cross_pair_reverses_and_names_it():
    # supcon falls below infonce in every seed, the group means still follow the claim (0.275 > 0.125)
    row = scored(summary(with_values("intra", supcon=0.14)), "intra")
    assert row["verdict"] == "mixed" and row["seeds holding"] == "3/3" and row["pairs holding"] == "9/12"
    assert row["reversed pairs"] == "supcon < infonce in seeds 0, 1, 2"
    assert "supcon < infonce in seeds 0, 1, 2" in row["evidence"]
    # a reversal in one seed only is named with that seed
    frame = summary()
    frame.loc[(frame["loss"] == "triplet") & (frame["seed"] == 1), "recall@1"] = 0.81
    assert scored(frame, "recall@1")["reversed pairs"] == "triplet < infonce in seed 1"
    assert scored(frame, "recall@1")["verdict"] == "mixed"


def test_a_single_loss_cannot_carry_a_group():
    """The old group-mean rule called this reproduced: contrastive alone is far below, infonce is above SCL."""
    frame = summary(with_values("intra", contrastive=0.0, infonce=0.38))
    row = scored(frame, "intra")
    assert row["verdict"] == "mixed" and "supcon < infonce" in row["reversed pairs"]


def test_not_reproduced_when_the_group_direction_reverses_in_every_seed():
    table = score_claims(summary(flipped()))
    group = table[
        ~table["measurement"].str.startswith("centroid_dist_mean:")
        & ~table["measurement"].str.startswith("centroid_dist_cv:")
    ]
    assert (group["verdict"] == "not reproduced").all(), group[["measurement", "verdict"]]
    assert group["evidence"].str.contains("reverses in all 3 seeds").all()
    lonely = summary(with_values("centroid_dist_cv", npair=0.05))
    assert scored(lonely, "centroid_dist_cv")["verdict"] == "not reproduced"


def test_inconclusive_when_the_seeds_disagree():
    frame = pd.concat([summary(seeds=(0, 1)), summary(flipped(), seeds=(2,))])
    row = scored(frame, "grad_gini")
    assert row["verdict"] == "inconclusive" and row["seeds holding"] == "2/3"
    assert "holds in seeds 0, 1, not in seed 2" in row["evidence"]


def test_inconclusive_when_every_pair_holds_but_the_effect_is_within_the_noise():
    # a seed-wide shift of ±1 moves every loss together: every pair holds in every seed, but the
    # pooled seed std (1.0) dwarfs the group difference of intra (0.25)
    row = scored(summary(offsets={0: -1.0, 1: 0.0, 2: 1.0}), "intra")
    assert row["pairs holding"] == "12/12" and row["2× pooled std"] == pytest.approx(2.0)
    assert row["verdict"] == "inconclusive" and "within the noise" in row["evidence"]
    # a group difference larger than the noise (convergence_epoch: 5.5 - 1.5 = 4 > 2) is reproduced
    assert scored(summary(offsets={0: -1.0, 1: 0.0, 2: 1.0}), "convergence_epoch")["verdict"] == "reproduced"


def test_one_seed_is_never_reproduced():
    row = scored(summary(seeds=(0,)), "intra")
    assert row["verdict"] == "inconclusive" and "one seed" in row["evidence"]
    assert np.isnan(row["2× pooled std"]) and row["a"] == "0.375"


def test_no_difference_when_the_sides_are_equal_in_every_seed():
    tied = summary(with_values("convergence_epoch", **dict.fromkeys(AGREEING, 0)), jitter=0.0)
    row = scored(tied, "convergence_epoch")
    assert row["verdict"] == "no difference" and row["seeds holding"] == "0/3"
    # equal group means, unequal pairs (1 + 3 = 2 + 2) are also no difference between the groups
    split = scored(
        summary(with_values("convergence_epoch", triplet=1, supcon=3, contrastive=2, infonce=2)), "convergence_epoch"
    )
    assert split["verdict"] == "no difference"


def test_single_loss_claims_compare_with_every_other_loss():
    # N-pair's cv above the median of the others but below arcface's: mixed, naming arcface
    row = scored(summary(with_values("centroid_dist_cv", arcface=0.5)), "centroid_dist_cv")
    assert row["verdict"] == "mixed" and row["reversed pairs"] == "npair < arcface in seeds 0, 1, 2"
    assert row["pairs holding"] == "15/18" and "each of contrastive, triplet" in row["measurement"]
    # the other side is every other loss *present*
    two = summary({k: AGREEING[k] for k in ("npair", "ccl")})
    assert scored(two, "centroid_dist_cv")["measurement"] == "centroid_dist_cv: npair > each of ccl"


def test_every_verdict_is_exercised_by_these_tables():
    frames = [
        summary(),
        summary(with_values("intra", supcon=0.14)),
        summary(flipped()),
        summary(seeds=(0,)),
        summary(with_values("convergence_epoch", **dict.fromkeys(AGREEING, 0)), jitter=0),
        summary().drop(columns=["within_class_rank"]),
    ]
    seen = set(pd.concat([score_claims(frame) for frame in frames])["verdict"])
    assert seen == set(VERDICTS)


# -- the numbers behind a verdict ---------------------------------------------------------------------------
def test_effect_and_pooled_std_match_a_loop_reference():
    rng = np.random.default_rng(0)
    frame = summary()
    frame["intra"] = rng.normal(0.3, 0.05, len(frame))
    row = scored(frame, "intra")
    values = {(r.loss, r.seed): r.intra for r in frame.itertuples()}
    high, low, seeds = ("triplet", "supcon"), ("contrastive", "infonce"), (0, 1, 2)
    effect = sum(sum(values[h, s] for h in high) / 2 - sum(values[lo, s] for lo in low) / 2 for s in seeds) / 3
    variances = []
    for loss in high + low:
        mean = sum(values[loss, s] for s in seeds) / 3
        variances.append(sum((values[loss, s] - mean) ** 2 for s in seeds) / 2)
    assert row["effect"] == pytest.approx(effect, rel=1e-12)
    assert row["2× pooled std"] == pytest.approx(2 * (sum(variances) / 4) ** 0.5, rel=1e-12)


def test_pooled_std_weights_losses_by_their_seeds():
    table = pd.DataFrame({"a": [0.0, 2.0, np.nan], "b": [0.0, 1.0, 2.0]})  # var 2 (1 dof), var 1 (2 dof)
    assert pooled_std(table) == pytest.approx(np.sqrt((1 * 2 + 2 * 1) / 3))


# -- what cannot be scored ----------------------------------------------------------------------------------
def test_missing_columns_losses_or_values_are_not_testable_with_a_reason():
    table = score_claims(summary().drop(columns=["within_class_rank"]))
    rank = table[table["measurement"].str.startswith("within_class_rank")].iloc[0]
    assert (
        rank["verdict"] == "not testable"
        and "within_class_rank" in rank["evidence"]
        and "regenerate" in rank["evidence"]
    )
    assert (table["verdict"] == "reproduced").sum() == len(CLAIMS) - 1
    only_two = score_claims(summary({k: AGREEING[k] for k in ("triplet", "supcon")}))
    assert (only_two["verdict"] == "not testable").all()
    assert only_two["evidence"].str.contains("not in the summary|no other loss").all()
    gap = summary()
    gap.loc[(gap["loss"] == "infonce") & (gap["seed"] == 2), "intra"] = np.nan
    assert scored(gap, "intra")["evidence"] == "no intra for infonce in seed(s) 2"


def test_bad_input():
    with pytest.raises(ValueError, match="summary"):
        score_claims(pd.DataFrame({"x": [1]}))
    with pytest.raises(ValueError, match="several rows for loss 'contrastive' and seed 0"):
        score_claims(pd.concat([summary(), summary(seeds=(0,))]))


def test_custom_claims():
    claim = Claim("ArcFace beats CCL on R@1", "recall@1", ("arcface",), ("ccl",), "final R@1")
    table = score_claims(summary(), claims=(claim,))
    assert table["verdict"].tolist() == ["reproduced"] and table["measurement"][0] == "recall@1: arcface > ccl"


@pytest.mark.parametrize(
    "folder",
    sorted((Path(__file__).resolve().parents[1] / "results").glob("*/summary.csv")),
    ids=lambda p: p.parent.name,
)
def test_committed_results_score_without_crashing(folder):
    """Results written before a column existed skip its claim with a reason; the others get a verdict (a grid
    study, one row per setting, loss and seed: at each of its settings, as score_robustness reads it)."""
    frame = pd.read_csv(folder)
    settings = frame.groupby("setting") if "setting" in frame.columns else [(None, frame)]
    for _, part in settings:
        table = score_claims(part.drop(columns="setting", errors="ignore"))
        every_loss = part["loss"].nunique() == len(LOSS_NAMES)
        for claim, (_, row) in zip(CLAIMS, table.iterrows()):
            assert row["verdict"] in VERDICTS and row["evidence"], row["measurement"]
            if claim.column not in part.columns or every_loss:
                missing = claim.column not in part.columns
                assert (row["verdict"] == "not testable") == missing, row["measurement"]


def test_the_trade_off_is_read_from_the_claims_parts():
    from vgteach.reproduction import EFFICIENCY, GRANULARITY

    assert GRANULARITY == tuple(claim.column for claim in CLAIMS if claim.part == "granularity")
    assert EFFICIENCY == tuple(claim.column for claim in CLAIMS if claim.part == "efficiency")
    assert GRANULARITY and EFFICIENCY and not set(GRANULARITY) & set(EFFICIENCY)
    assert {claim.column for claim in CLAIMS} >= set(GRANULARITY + EFFICIENCY)
    with pytest.raises(ValueError, match="part"):
        Claim("x", "intra", ("triplet",), part="speed")
