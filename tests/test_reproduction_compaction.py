"""Signed compaction and the two readings of "compact" in the verdicts (DESIGN.md §3, §5): a run that does not
compact counts as slower than any run that compacts (+∞), a loss whose intra rises never holds "compacts",
and the compaction claims are scored on the absolute and the relative reading, under each protocol."""

import numpy as np
import pandas as pd
import pytest
from reproduction_tables import AGREEING, scored, summary, with_values

from vgteach.reproduction import CLAIMS, Claim, score_claims


def rising(loss="infonce", change=0.1, epoch=1, table=AGREEING):
    """AGREEING where ``loss``'s intra rises (``intra_change`` = ``change``) yet it "settles" at ``epoch``,
    the unsigned compaction epoch of results written before compaction was signed."""
    return with_values("compaction_epoch", with_values("intra_change", table, **{loss: change}), **{loss: epoch})


# -- a loss that spreads its classes never holds "compacts quickly" ------------------------------------------
@pytest.mark.parametrize("epoch", [0, 1, 2, 50])
def test_a_loss_whose_intra_rises_never_holds_compacts_quickly(epoch):
    """However early its unsigned epoch, infonce (intra rises) loses every pair and cannot be reproduced."""
    row = scored(summary(rising(epoch=epoch)), "compaction_epoch")
    assert row["verdict"] != "reproduced"
    for h in ("triplet", "supcon"):
        assert f"{h} < infonce in seeds 0, 1, 2" in row["reversed pairs"]
    assert row["pairs holding"] == "6/12" and "infonce in seeds 0, 1, 2" in row["evidence"]
    assert "does not compact" in row["evidence"] and row["b"] == "∞"


def test_signed_from_intra_change_equals_nan_in_new_summaries():
    """Old summaries (an unsigned epoch, recomputed from intra_change) and new ones (NaN) score the same."""
    old = summary(rising(epoch=1))
    new = old.copy()
    new.loc[new["loss"] == "infonce", "compaction_epoch"] = np.nan
    pd.testing.assert_series_equal(scored(old, "compaction_epoch"), scored(new, "compaction_epoch"))
    without_sign = new.drop(columns=["intra_change"])  # NaN alone still means "does not compact"
    assert scored(without_sign, "compaction_epoch")["verdict"] == scored(new, "compaction_epoch")["verdict"]


def test_a_missing_epoch_of_a_loss_that_compacts_is_not_testable():
    frame = summary()
    frame.loc[(frame["loss"] == "triplet") & (frame["seed"] == 1), "compaction_epoch"] = np.nan
    assert scored(frame, "compaction_epoch")["evidence"] == "no compaction_epoch for triplet in seed(s) 1"
    frame.loc[(frame["loss"] == "triplet") & (frame["seed"] == 1), "intra_change"] = np.nan
    assert scored(frame, "compaction_epoch")["verdict"] == "not testable"


def test_the_side_said_to_be_slow_not_compacting_at_all_is_reproduced_with_an_infinite_effect():
    table = with_values("intra_change", rising("triplet", 0.2), supcon=0.1)
    row = scored(summary(table), "compaction_epoch")
    assert row["verdict"] == "reproduced" and row["pairs holding"] == "12/12"
    assert row["effect"] == np.inf and row["a"] == "∞" and "share of such runs decides" in row["evidence"]


def test_whether_a_loss_compacts_depending_on_the_seed_is_noise():
    """triplet does not compact in seed 0 only: every pair holds (+∞ beats any epoch), but the share of
    non-compacting runs (1/6 per seed) is within twice its pooled seed std (2·sqrt(1/12) = 0.58)."""
    frame = summary()
    frame.loc[(frame["loss"] == "triplet") & (frame["seed"] == 0), "intra_change"] = 0.05
    row = scored(frame, "compaction_epoch")
    assert row["pairs holding"] == "12/12" and row["verdict"] == "inconclusive"
    assert "within the noise" in row["evidence"] and "0.17 higher" in row["evidence"] and "0.58" in row["evidence"]
    assert row["a"].startswith("∞ in seed 0")


def test_two_runs_that_do_not_compact_tie():
    """digits-like: triplet, supcon and infonce all spread their classes, contrastive compacts."""
    table = rising("infonce", table=rising("supcon", table=rising("triplet")))
    row = scored(summary(table), "compaction_epoch")
    assert row["verdict"] == "mixed" and "triplet = infonce in seeds 0, 1, 2" in row["reversed pairs"]
    assert row["pairs holding"] == "6/12"


def test_the_limit_rule_is_the_same_as_a_very_large_epoch():
    """+∞ behaves as an ever larger number: a random table scored with +∞ and with 10⁶ in its place agree."""
    rng = np.random.default_rng(3)
    signed = next(claim for claim in CLAIMS if claim.column == "compaction_epoch")
    for _ in range(30):
        frame = summary()
        frame["compaction_epoch"] = rng.integers(1, 30, len(frame)).astype(float)
        frame["intra_change"] = np.where(rng.random(len(frame)) < 0.3, 0.1, -0.1)
        large = frame.assign(compaction_epoch=frame["compaction_epoch"].where(frame["intra_change"] < 0, 1e6))
        plain = Claim("x", "compaction_epoch", ("triplet", "supcon"), ("contrastive", "infonce"), "plain")
        limit = score_claims(frame, claims=(signed,)).iloc[0]
        big = score_claims(large, claims=(plain,)).iloc[0]
        for column in ("verdict", "seeds holding", "pairs holding", "reversed pairs"):
            assert limit[column] == big[column], (column, limit["evidence"], big["evidence"])


# -- "compacts" needs the losses said to compact to compact ----------------------------------------------------
def test_a_loss_whose_intra_rises_never_holds_compacts_on_the_absolute_reading():
    # triplet and supcon rise even more, so every pair holds on the numbers; infonce still rises
    table = with_values("intra_change", triplet=0.30, supcon=0.25, infonce=0.10)
    row = scored(summary(table), "intra_change")
    assert row["verdict"] == "mixed" and row["pairs holding"] == "6/12"
    assert "triplet > infonce but infonce does not compact in seeds 0, 1, 2" in row["reversed pairs"]
    assert "infonce does not compact (intra_change ≥ 0) in seeds 0, 1, 2" in row["evidence"]


# -- two readings ----------------------------------------------------------------------------------------------
def test_every_compaction_claim_is_scored_on_both_readings():
    absolute = {c.column: c for c in CLAIMS if c.reading_kind == "absolute"}
    relative = {c.column: c for c in CLAIMS if c.reading_kind == "relative"}
    assert set(absolute) == {"intra", "intra_change", "compaction_epoch"}
    assert set(relative) == {"ratio", "ratio_change", "ratio_compaction_epoch"}
    for a, r in zip(("intra", "intra_change", "compaction_epoch"), ("ratio", "ratio_change", "ratio_compaction_epoch")):
        assert absolute[a].sentence == relative[r].sentence and absolute[a].sides([]) == relative[r].sides([])
    assert relative["ratio_compaction_epoch"].never_when == "ratio_change" and relative["ratio_change"].low_negative
    table = score_claims(summary())
    kinds = dict(zip(table["measurement"].str.split(":").str[0], table["reading kind"]))
    assert kinds["ratio"] == "relative" and kinds["intra"] == "absolute" and kinds["recall@1"] == ""


def test_the_readings_can_disagree():
    """infonce's intra rises (the cloud unfolds) while its ratio falls: absolute no, relative yes."""
    row = scored(summary(rising()), "intra_change")
    assert row["verdict"] == "mixed" and row["reading kind"] == "absolute"
    assert scored(summary(rising()), "ratio_change")["verdict"] == "reproduced"
    assert scored(summary(rising()), "ratio_compaction_epoch")["verdict"] == "reproduced"


def test_summaries_without_the_relative_columns_are_not_testable_with_a_reason():
    frame = summary().drop(columns=["ratio_change", "ratio_compaction_epoch"])
    for column in ("ratio_change", "ratio_compaction_epoch"):
        row = scored(frame, column)
        assert row["verdict"] == "not testable" and column in row["evidence"] and "regenerate" in row["evidence"]


# -- protocols --------------------------------------------------------------------------------------------------
def test_granularity_claims_read_on_fine_labels_and_unseen_classes_with_the_cifar_caveat():
    closed = scored(summary(), "recall@1")
    fine = scored(summary(), "recall@1", protocol="coarse-to-fine")
    unseen = scored(summary(), "recall@1", protocol="zero-shot")
    assert "fine labels" in fine["reading"] and "never saw" in unseen["reading"]
    assert closed["verdict"] == fine["verdict"] == unseen["verdict"] == "reproduced"
    assert "CUB-200" in fine["evidence"] and "CUB-200" in unseen["evidence"] and "CUB-200" not in closed["evidence"]
    rank = scored(summary(), "within_class_rank", protocol="coarse-to-fine")
    assert "fine class" in rank["reading"] and "not a fine-grained test" in rank["evidence"]
    assert "CUB-200" not in scored(summary(), "recall@1", protocol="zero-shot", dataset="cub200")["evidence"]
    assert "CUB-200" not in scored(summary(), "intra", protocol="zero-shot")["evidence"]  # not a granularity claim
    tagged = summary().assign(protocol="coarse-to-fine")
    assert scored(tagged, "recall@1")["reading"] == fine["reading"]


def test_bad_claims_and_protocols():
    with pytest.raises(ValueError, match="reading_kind"):
        Claim("x", "intra", ("triplet",), reading_kind="both")
    with pytest.raises(ValueError, match="protocols"):
        Claim("x", "intra", ("triplet",), protocols=(("open-set", "r", ""),))
    with pytest.raises(ValueError, match="protocol must be one of"):
        score_claims(summary(), protocol="open-set")
    with pytest.raises(ValueError, match="mixes protocols"):
        score_claims(summary().assign(protocol=["zero-shot", "closed"] * 10 + ["closed"]))
