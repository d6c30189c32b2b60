"""vgteach.results.comparison: what the comparison chapter reads off a study, on fabricated studies whose
answers are known, and on the packaged reference runs (the texts read as written)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from vgteach import figures, results
from vgteach.losses import LOSS_NAMES
from vgteach.reproduction import score_claims
from vgteach.results import comparison
from vgteach.results.proofread import text_problems

#: per loss: (compaction epoch, final intra, intra change, R@1); infonce's intra rises
POINTS = {
    "contrastive": (1.0, 0.08, -0.38, 0.68),
    "triplet": (40.0, 0.45, -0.02, 0.74),
    "npair": (30.0, 0.29, -0.17, 0.66),
    "infonce": (7.0, 0.54, 0.08, 0.76),
    "arcface": (90.0, 0.29, -0.17, 0.72),
    "supcon": (50.0, 0.40, -0.06, 0.73),
    "ccl": (16.0, 0.35, -0.11, 0.729),
}


def fabricated(points=POINTS, seeds=(0, 1, 2), noise=0.001) -> pd.DataFrame:
    """A study summary (one row per loss and seed) with the given means and a small seed-to-seed noise."""
    rng = np.random.default_rng(0)
    rows = []
    for seed in seeds:
        for loss, (epoch, intra, change, r1) in points.items():
            rows.append(
                {
                    "loss": loss,
                    "seed": seed,
                    "compaction_epoch": epoch,
                    "intra": intra + noise * rng.standard_normal(),
                    "intra_change": change,
                    "recall@1": r1 + noise * rng.standard_normal(),
                    "ratio": 0.3,
                }
            )
    return pd.DataFrame(rows)


def test_signed_drops_the_epoch_of_runs_that_do_not_compact_only():
    summary = fabricated()
    out = comparison.signed(summary)
    rises = summary["intra_change"] >= 0
    assert out.loc[rises, "compaction_epoch"].isna().all()
    pd.testing.assert_series_equal(out.loc[~rises, "compaction_epoch"], summary.loc[~rises, "compaction_epoch"])
    assert summary["compaction_epoch"].notna().all(), "the input is left alone"
    # idempotent, and a study without the change column is returned as it is
    pd.testing.assert_frame_equal(comparison.signed(out), out)
    bare = summary.drop(columns="intra_change")
    pd.testing.assert_frame_equal(comparison.signed(bare), bare)


def test_signed_also_signs_the_ratio_reading():
    summary = fabricated().assign(ratio_compaction_epoch=5.0, ratio_change=-0.1)
    summary.loc[summary["loss"] == "ccl", "ratio_change"] = 0.2
    out = comparison.signed(summary)
    assert out.loc[out["loss"] == "ccl", "ratio_compaction_epoch"].isna().all()
    assert out.loc[out["loss"] != "ccl", "ratio_compaction_epoch"].eq(5.0).all()


@pytest.mark.parametrize("bad, error", [(None, TypeError), (pd.DataFrame({"x": [1]}), ValueError)])
def test_bad_summaries_are_refused(bad, error):
    with pytest.raises(error):
        comparison.signed(bad)


def test_grid_measures_keep_the_grids_order_and_skip_absent_or_empty_columns():
    summary = fabricated().assign(nmi=np.nan, grad_gini=0.3)
    measures = comparison.grid_measures(summary)
    columns = [column for column, _ in measures]
    assert columns == [column for column, _ in comparison.GRID if column in columns]
    assert {"recall@1", "intra", "ratio", "intra_change", "grad_gini", "compaction_epoch"} == set(columns)
    assert "nmi" not in columns  # every value missing


def test_loss_means_are_signed_means_in_book_order():
    means = comparison.loss_means(fabricated())
    assert list(means.index) == list(LOSS_NAMES)
    assert np.isnan(means.loc["infonce", "compaction_epoch"])
    assert means.loc["triplet", "compaction_epoch"] == 40.0


def loop_region(summary, loss, x="compaction_epoch", y="intra"):
    """The region of ``loss`` by hand: median split of the per-loss means (never-compacting left out of the
    x median and placed past every loss), granular = late and wide, compacting = early and tight."""
    means = comparison.loss_means(summary)
    xs = means[x].dropna()
    x_split, y_split = float(np.median(xs)), float(np.median(means[y]))
    px = means.loc[loss, x] if not np.isnan(means.loc[loss, x]) else np.inf
    py = means.loc[loss, y]
    late, wide = px >= x_split, py >= y_split
    early, tight = px <= x_split, py <= y_split
    own_granular = loss in ("triplet", "supcon")
    if (late and wide) if own_granular else (early and tight):
        return "own"
    if (early and tight) if own_granular else (late and wide):
        return "other"
    return "neither"


def test_region_table_follows_the_figures_split():
    summary = fabricated()
    table = comparison.region_table(summary)
    assert set(table.index) == {"triplet", "supcon", "contrastive", "infonce"}
    for loss in table.index:
        assert table.loc[loss, "where"] == loop_region(summary, loss), loss
    # by construction: Triplet and SupCon late and wide, Contrastive early and tight, InfoNCE never compacts
    # (drawn past the right edge) with the widest classes: the granular losses' region
    assert table["where"].to_dict() == {"triplet": "own", "supcon": "own", "contrastive": "own", "infonce": "other"}
    assert not table["edge"].any()


def test_region_table_uses_the_same_points_as_the_figure():
    summary = fabricated()
    points = figures.tradeoff_points(summary, "compaction_epoch", "intra").set_index("loss")
    assert np.isnan(points.loc["infonce", "x"]) and points.loc["infonce", "x_never"] == 3


def test_a_point_on_the_median_is_on_the_edge():
    points = dict(POINTS, triplet=(30.0, 0.45, -0.02, 0.74))  # npair's epoch: the median of the six
    table = comparison.region_table(fabricated(points))
    assert table.loc["triplet", "edge"] and table.loc["triplet", "where"] == "own"
    text = comparison.region_text(fabricated(points))
    assert "SupCon and Contrastive fall in the regions the paper predicts for them" in text
    assert "Triplet sits on the edge of its own" in text
    assert text_problems(text) == []


def test_region_text_says_whether_the_picture_matches():
    matched = {**POINTS, "infonce": (2.0, 0.1, -0.3, 0.76)}
    text = comparison.region_text(fabricated(matched))
    assert "matches the paper's." in text and "only in part" not in text
    assert text_problems(text) == []
    text = comparison.region_text(fabricated())
    assert "InfoNCE sits in the region of Triplet and SupCon" in text and "only in part" in text
    swapped = {
        **POINTS,
        "triplet": (1.0, 0.05, -0.4, 0.7),
        "supcon": (2.0, 0.06, -0.4, 0.7),
        "contrastive": (80.0, 0.6, -0.01, 0.7),
    }
    text = comparison.region_text(fabricated(swapped))
    assert "does not match the paper's at all" in text and "fall in the region" not in text
    assert text_problems(text) == []


def test_order_text_names_the_best_the_widest_and_the_tightest():
    text = comparison.order_text(fabricated())
    assert text.startswith("InfoNCE retrieves best and also keeps the widest classes")
    assert "Contrastive, the tightest, ranks 6th of 7 on R@1" in text  # 0.68 beats only N-pair's 0.66
    assert text.endswith("tight classes do not buy retrieval here")
    assert text_problems(text) == []


def test_leaders_text_names_the_best_retriever_and_the_tightest_loss():
    assert comparison.leaders_text(fabricated()).startswith("InfoNCE has the best R@1 and Contrastive the tightest")


def test_spread_text_counts_the_pairs_wider_than_twice_the_noise():
    summary = fabricated(noise=0.004)
    sd = summary.groupby("loss")["recall@1"].std()
    means = summary.groupby("loss")["recall@1"].mean()
    wide = sum(abs(means[a] - means[b]) > 2 * sd.max() for i, a in enumerate(means.index) for b in means.index[i + 1 :])
    assert f"{wide} of the 21 pairs of losses" in comparison.spread_text(summary)
    with pytest.raises(ValueError, match="single seed"):
        comparison.spread_text(fabricated(seeds=(0,)))


def test_readings_text_counts_both_readings():
    summary = fabricated().assign(ratio=lambda frame: np.where(frame["loss"] == "ccl", 5.0, 1.0))
    history = pd.DataFrame({"loss": list(POINTS), "epoch": 0, "ratio": 3.0})
    text = comparison.readings_text(summary, history)
    assert text.startswith("6 of the 7 losses end with a smaller `intra`")
    assert "(InfoNCE ends with a larger one)" in text and "6 of the 7 with a smaller intra/inter ratio" in text
    assert text.endswith("the two readings disagree on InfoNCE and CCL")  # InfoNCE: ratio falls; CCL: rises
    agreeing = summary.assign(ratio=1.0, intra_change=-0.1)
    assert comparison.readings_text(agreeing, history).endswith("the two readings agree on every loss")


def test_never_text_and_always_active():
    assert comparison.never_text(fabricated()).startswith("InfoNCE does not compact")
    compacting = fabricated({**POINTS, "infonce": (2.0, 0.1, -0.3, 0.76)})
    assert comparison.never_text(compacting).startswith("Every loss compacts")
    history = pd.DataFrame(
        {"loss": ["triplet", "triplet", "infonce", "infonce"], "epoch": [1, 2, 1, 2], "active_ratio": [1, 0.4, 1, 1]}
    )
    assert comparison.always_active(history) == ["infonce"]


def test_tally_text_counts_every_claim():
    scores = pd.DataFrame({"verdict": ["mixed", "mixed", "reproduced"]})
    assert comparison.tally_text(scores) == "3 readings: 2 mixed and 1 reproduced"
    with pytest.raises(TypeError):
        comparison.tally_text(pd.DataFrame({"x": [1]}))


def test_the_texts_on_the_reference_runs_read_as_written():
    reference = results.load("cifar10")
    summary = reference.summary
    texts = [
        comparison.leaders_text(summary),
        comparison.order_text(summary),
        comparison.spread_text(summary),
        comparison.readings_text(summary, reference.history),
        comparison.never_text(summary),
        comparison.region_text(summary),
        comparison.tally_text(score_claims(summary)),
    ]
    for text in texts:
        assert text_problems(text) == [], text
