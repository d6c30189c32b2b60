"""vgteach.results.advice: the choosing chapter's decision table and sentences, on a fabricated study whose
answers are known, and on the packaged reference runs (the texts read as written)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from vgteach import results
from vgteach.losses import LOSS_NAMES
from vgteach.results import advice, comparison
from vgteach.results.proofread import text_problems

#: per loss, the study's means; the winners are planted: ccl retrieves best, contrastive compacts most and
#: first, npair has the widest mean spacing but the tightest margin, arcface the widest margin, triplet and
#: infonce keep the most dimensions among the pair losses, infonce's intra rises
MEANS = {
    #               R@1   MAP@R  intra  Δintra  rank  dmin  dmean conv  comp  epoch_s
    "contrastive": (0.68, 0.38, 0.08, -0.38, 12.0, 0.17, 0.65, 20.0, 1.0, 6.0),
    "triplet": (0.74, 0.47, 0.29, -0.17, 100.0, 0.38, 0.77, 3.0, 35.0, 8.0),
    "npair": (0.66, 0.32, 0.29, -0.16, 57.0, 0.10, 1.20, 28.0, 40.0, 5.5),
    "infonce": (0.75, 0.50, 0.54, 0.08, 110.0, 0.52, 0.96, 3.0, 5.0, 7.0),
    "arcface": (0.72, 0.46, 0.29, -0.17, 39.0, 0.60, 0.90, 2.0, 90.0, 6.2),
    "supcon": (0.73, 0.48, 0.23, -0.23, 88.0, 0.37, 0.80, 3.0, 36.0, 6.1),
    "ccl": (0.77, 0.52, 0.35, -0.11, 35.0, 0.53, 1.01, 2.0, 16.0, 5.0),
}
COLUMNS = (
    "recall@1",
    "map@r",
    "intra",
    "intra_change",
    "within_class_rank",
    "centroid_dist_min",
    "centroid_dist_mean",
    "convergence_epoch",
    "compaction_epoch",
    "epoch_time_s",
)


def fabricated(means=MEANS, seeds=(0, 1, 2)) -> pd.DataFrame:
    rng = np.random.default_rng(1)
    rows = []
    for seed in seeds:
        for loss, values in means.items():
            row = {"loss": loss, "seed": seed}
            row.update({column: value * (1 + 1e-4 * rng.standard_normal()) for column, value in zip(COLUMNS, values)})
            row.update(
                active_ratio=0.5, sample_active_ratio=0.04 if loss == "npair" else 1.0, grad_gini=0.4, head_grad_norm=2
            )
            row["grad_gini"] = 0.97 if loss == "npair" else 0.3 + 0.02 * len(loss)
            row["proxy_grad_norm"] = 0.5 if loss in advice.PROXY_LOSSES else np.nan
            rows.append(row)
    return pd.DataFrame(rows)


def test_order_puts_the_best_first_and_missing_values_last():
    means = comparison.loss_means(fabricated())
    assert advice.order(means, "recall@1")[0] == "ccl"
    assert advice.order(means, "intra_change")[0] == "contrastive"  # the most negative: compacted most
    speeds = advice.order(means, "compaction_epoch")
    assert speeds[0] == "contrastive" and speeds[-1] == "infonce"  # infonce's intra rises: no epoch, last
    assert advice.rank(means, "recall@1", "npair") == 7
    with pytest.raises(ValueError, match="no column"):
        advice.order(means, "nope")


def test_decision_table_points_to_the_planted_winners():
    table = advice.decision_table(fabricated())
    assert list(table.columns) == ["first choice", "the numbers", "watch"]
    choice = table["first choice"]
    assert choice["fine-grained or open set"] == "InfoNCE and Triplet"  # pair losses only: not ccl, arcface
    assert choice["coarse classes, a good embedding fast"] == "CCL"
    assert choice["closed set, classification-like"] == "CCL or ArcFace"  # by MAP@R
    assert choice["classes should collapse"] == "Contrastive"
    assert choice["well-separated classes"] == "ArcFace"
    watch = table["watch"]
    assert "N-pair has the largest mean distance but is 7th of 7 on the closest pair" in watch["well-separated classes"]
    assert "Contrastive compacts first and is 6th of 7 on R@1" in watch["coarse classes, a good embedding fast"]
    assert "collapse costs retrieval here" in watch["classes should collapse"]
    assert "R@1 0.770 (1st of 7)" in table.loc["coarse classes, a good embedding fast", "the numbers"]


def test_the_fastest_compactor_is_never_a_loss_that_does_not_compact():
    means = dict(MEANS, infonce=(0.75, 0.50, 0.54, 0.08, 110.0, 0.52, 0.96, 3.0, 0.5, 7.0))  # an early "epoch"
    table = advice.decision_table(fabricated(means))
    assert "Contrastive compacts first" in table.loc["coarse classes, a good embedding fast", "watch"]
    assert "Contrastive compacts its classes first" in advice.leaders_text(fabricated(means))


def test_ties_and_even_spacing_are_said_as_they_are():
    means = {name: (*values[:8], 1.0, values[9]) for name, values in MEANS.items()}  # every loss by epoch 1
    means["npair"] = (0.66, 0.32, 0.29, -0.16, 57.0, 0.58, 1.20, 28.0, 1.0, 5.5)  # widest and well spaced
    summary = fabricated(means)
    text = advice.leaders_text(summary)
    assert "compact their classes equally fast (by epoch 1.0)" in text and "compacts its classes first" not in text
    table = advice.decision_table(summary)
    assert "compaction speed does not separate" in table.loc["coarse classes, a good embedding fast", "watch"]
    spacing = table.loc["well-separated classes", "watch"]
    assert spacing.startswith("N-pair has the largest mean distance and is 2nd of 7") and "uneven" not in spacing
    assert text_problems(text) == [] and text_problems(spacing) == []


def test_decision_table_refuses_a_study_without_its_columns():
    with pytest.raises(ValueError, match="lacks the columns"):
        advice.decision_table(fabricated().drop(columns="centroid_dist_min"))


def test_measures_table_is_five_compact_columns_with_never_for_a_loss_that_does_not_compact():
    table = advice.measures_table(fabricated())
    assert list(table.index) == [results.LOSS_LABELS[name] for name in LOSS_NAMES]
    assert 3 <= table.shape[1] <= 6
    assert table.loc["InfoNCE", "compaction epoch"] == "never"
    assert table.loc["Triplet", "compaction epoch"].startswith("35.0 ± ")
    assert " ± " in table.loc["CCL", "R@1"]


def test_leaders_text_says_whether_compacting_first_buys_retrieval():
    text = advice.leaders_text(fabricated())
    assert text.startswith("CCL and InfoNCE retrieve best on R@1 and on MAP@R alike.")
    assert "Contrastive compacts its classes first, yet ranks 6th of 7 on R@1" in text
    fast_and_good = dict(MEANS, contrastive=(0.80, 0.60, 0.08, -0.38, 12.0, 0.17, 0.65, 20.0, 1.0, 6.0))
    assert "go together here" in advice.leaders_text(fabricated(fast_and_good))
    for text in (advice.leaders_text(fabricated()), advice.leaders_text(fabricated(fast_and_good))):
        assert text_problems(text) == []


def test_structure_text_names_the_widest_and_the_richest():
    text = advice.structure_text(fabricated())
    assert text.startswith("InfoNCE keeps the most, in size (`intra`) and in dimensions")
    assert "Triplet 2nd and SupCon 3rd of 7" in text


def test_temperature_text_reads_the_directions_of_the_sweep():
    knobs = pd.DataFrame(
        {"recall@1": [0.5, 0.6, 0.7], "intra": [0.2, 0.3, 0.4], "effective_active_ratio": [0.1, 0.2, 0.3]},
        index=[0.5, 0.05, 0.1],  # any order: read from the lowest τ to the highest
    )
    text = advice.temperature_text(knobs)  # by τ: ratio 0.2, 0.3, 0.1; intra 0.3, 0.4, 0.2; R@1 best at 0.1
    assert text.startswith("the effective active ratio does not rise with τ here")
    assert "the classes end tighter at the highest τ" in text and text.endswith("R@1 is best at τ = 0.1")
    knobs["effective_active_ratio"] = [0.5, 0.1, 0.2]
    knobs["intra"] = [0.5, 0.1, 0.2]
    text = advice.temperature_text(knobs)
    assert text.startswith("the effective active ratio rises at every step of τ")
    assert "the classes spread at every step (`intra` rises)" in text
    assert text_problems(text) == []
    knobs["effective_active_ratio"] = [0.3221, 0.17201, 0.17204]  # the first step does not show at 3 s.f.
    assert "highest at the highest τ, though it does not rise at every step" in advice.temperature_text(knobs)
    with pytest.raises(ValueError):
        advice.temperature_text(knobs.iloc[:1])
    with pytest.raises(ValueError, match="lacks"):
        advice.temperature_text(knobs.drop(columns="intra"))


def test_the_texts_on_the_reference_runs_read_as_written():
    reference = results.load("cifar10")
    summary = reference.summary
    texts = [
        advice.leaders_text(summary),
        advice.structure_text(summary),
        advice.samples_text(summary, reference.meta["config"]["batch_size"]),
        advice.compute_text(summary),
        *advice.watch_texts(summary, reference.history).values(),
        *advice.decision_table(summary).to_numpy().ravel(),
    ]
    for text in texts:
        assert text_problems(text) == [], text


def test_the_chapters_typed_claims_hold_on_the_reference_runs():
    """What the choosing chapter says in words, not glued: N-pair's Gini is high "by construction" (the
    highest of the seven, with only a few samples getting a gradient), and N-pair is the loss whose share of
    samples with a gradient is the glued 'n of the batch' (two per class)."""
    reference = results.load("cifar10")
    means = comparison.loss_means(reference.summary)
    assert means["grad_gini"].idxmax() == "npair"
    assert means.loc["npair", "sample_active_ratio"] < 0.5 <= means.drop(index="npair")["sample_active_ratio"].min()
    batch_size = reference.meta["config"]["batch_size"]
    classes = 10  # CIFAR-10: N-pair keeps two samples of each class
    assert round(means.loc["npair", "sample_active_ratio"] * batch_size) == 2 * classes
