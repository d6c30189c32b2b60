"""vgteach.results.ranks and the sentences built from it: ranks against a loop over a fabricated summary."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from vgteach import results
from vgteach.results.proofread import text_problems

LOSSES = ("a", "b", "c", "d", "e")


def fabricated(seeds=(0, 1, 2), rng=np.random.default_rng(0)) -> pd.DataFrame:
    rows = []
    for seed in seeds:
        for index, loss in enumerate(LOSSES):
            rows.append(
                {
                    "loss": loss,
                    "seed": seed,
                    "recall@1": 0.5 + 0.1 * index + 0.01 * rng.standard_normal(),
                    "intra": 0.3 - 0.05 * index + 0.001 * rng.standard_normal(),
                    "grad_gini": 0.4,
                }
            )
    return pd.DataFrame(rows)


def loop_rank(values: dict, loss: str) -> int:
    """1 + the number of losses with a strictly larger value (ties share the better rank)."""
    return 1 + sum(value > values[loss] for value in values.values())


@pytest.mark.parametrize("loss", LOSSES)
def test_ranks_follow_a_loop_over_the_means(loss):
    summary = fabricated()
    table = results.ranks(summary, loss)
    assert list(table.index) == ["R@1", "intra", "Gini"]  # measures the summary lacks are left out
    for heading, row in table.iterrows():
        means = {name: float(summary.loc[summary["loss"] == name, row["column"]].mean()) for name in LOSSES}
        assert row["rank"] == loop_rank(means, loss)
        assert row["mean"] == pytest.approx(means[loss], rel=1e-12)
        values = summary.loc[summary["loss"] == loss, row["column"]].to_numpy()
        assert row["std"] == pytest.approx(values.std(ddof=1), rel=1e-12, abs=1e-15)
        assert row["of"] == len(LOSSES)
        assert row["best"] == max(means, key=means.get) and row["worst"] == min(means, key=means.get)


def test_ties_share_the_better_rank_and_seed_ranks_show_the_spread():
    summary = fabricated()
    assert set(results.ranks(summary, loss).loc["Gini", "rank"] for loss in LOSSES) == {1}
    summary.loc[(summary["loss"] == "a") & (summary["seed"] == 2), "recall@1"] = 10.0  # a wins one seed
    row = results.ranks(summary, "a").loc["R@1"]
    assert row["seed ranks"] == "1–5" and row["rank"] == 1


def test_ranks_take_reference_results_and_reject_bad_input():
    reference = results.load("cifar10")
    table = results.ranks(reference, "triplet")
    assert table.loc["R@1", "of"] == reference.summary["loss"].nunique()
    with pytest.raises(ValueError, match="not in the results"):
        results.ranks(reference, "softmax")
    with pytest.raises(TypeError):
        results.ranks(reference.summary_by_loss, "triplet")  # no seed column
    with pytest.raises(TypeError):
        results.ranks(reference, 3)


def test_describe_ranks_names_every_measure_and_rank():
    table = results.ranks(fabricated(), "e")
    text = results.describe_ranks(table, "E")
    assert "**E** ranks 1st on R@1" in text and "5th on intra" in text and "1st on Gini" in text


def test_check_statement_backs_or_contradicts_by_rank():
    reference = results.load("cifar10")
    summary = reference.summary
    means = summary.groupby("loss")["intra"].mean()
    top, bottom = means.idxmax(), means.idxmin()
    assert results.describe_statement(reference, top, "intra", "high", "it keeps variance").startswith(
        "The reference runs agree:"
    )
    against = results.describe_statement(reference, bottom, "intra", "high", "it keeps variance")
    assert against.startswith("The reference runs do not show that it keeps variance")
    assert top in against and reference.meta["config"]["backbone"] not in against
    assert results.describe_statement(reference, bottom, "intra", "low", "it compacts").startswith(
        "The reference runs agree:"
    )
    assert "no `not_a_column` yet" in results.describe_statement(reference, top, "not_a_column", "high", "x")
    with pytest.raises(ValueError, match="expect"):
        results.describe_statement(reference, top, "intra", "up", "x")
    both = results.describe_statements(reference, bottom, [("intra", "high", "a"), ("intra", "low", "b")], "L")
    # one sentence per statement, no boilerplate paragraph about the setting (issue 21: it explained nothing)
    assert both.startswith("The reference runs do not show that a:") and "The reference runs agree:" in both
    assert "setting" not in both and not text_problems(both)


@pytest.mark.parametrize("loss", LOSSES)
def test_rank_of_standing_of_and_halves_follow_the_ranks_table(loss):
    table = results.ranks(fabricated(), loss)
    for heading, row in table.iterrows():
        rank, n = row["rank"], row["of"]
        assert results.rank_of(table, heading) == f"{results.ordinal(rank)} of {n}"
        standing = results.standing_of(table, heading)
        assert standing.startswith(f"{results.ordinal(rank)} of {n} on {heading} (")
        assert f"{row['mean']:.3f}" in standing
        top, bottom = results.in_top_half(table, heading), results.in_bottom_half(table, heading)
        assert isinstance(top, bool) and isinstance(bottom, bool)
        # a loop over the ranks: the top half is the n // 2 best, the bottom half the n // 2 worst
        assert top == (rank in range(1, n // 2 + 1)) and bottom == (rank in range(n - n // 2 + 1, n + 1))
        assert not (top and bottom)


def test_halves_leave_the_middle_loss_of_an_odd_number_out():
    table = results.ranks(fabricated(), "c")  # 5 losses: c is 3rd on R@1 and on intra
    assert table.loc["R@1", "rank"] == 3
    assert not results.in_top_half(table, "R@1") and not results.in_bottom_half(table, "R@1")
    assert results.in_top_half(results.ranks(fabricated(), "e"), "R@1")
    assert results.in_bottom_half(results.ranks(fabricated(), "a"), "R@1")


def test_rank_helpers_reject_bad_input():
    table = results.ranks(fabricated(), "a")
    with pytest.raises(ValueError, match="no measure 'MAP@R'"):
        results.rank_of(table, "MAP@R")  # the fabricated summary has no map@r
    with pytest.raises(TypeError, match="ranks"):
        results.in_top_half(fabricated(), "R@1")
    with pytest.raises(ValueError, match="no measure"):
        results.standing_of(table, "r@1")


def test_loss_labels_name_every_loss_in_order_and_join_as_prose():
    from vgteach.losses import LOSS_NAMES

    assert tuple(results.LOSS_LABELS) == tuple(LOSS_NAMES)
    assert len(set(results.LOSS_LABELS.values())) == len(LOSS_NAMES)
    with pytest.raises(TypeError):
        results.LOSS_LABELS["triplet"] = "x"  # one mapping for the whole package: read-only
    assert results.join_labels([]) == "none"
    assert results.join_labels(["npair"]) == results.LOSS_LABELS["npair"]
    three = results.join_labels(["triplet", "supcon", "softmax"])
    assert three == f"{results.LOSS_LABELS['triplet']}, {results.LOSS_LABELS['supcon']} and softmax"
    with pytest.raises(TypeError):
        results.join_labels("triplet")


def test_ordinal():
    assert [results.ordinal(n) for n in (1, 2, 3, 4, 11, 12, 13, 21, 22, 101)] == [
        "1st",
        "2nd",
        "3rd",
        "4th",
        "11th",
        "12th",
        "13th",
        "21st",
        "22nd",
        "101st",
    ]


def test_findings_has_a_sentence_per_claim_from_the_verdict_table():
    from vgteach.reproduction import score_claims

    scores = score_claims(results.load("cifar10").summary)
    text = results.findings(scores, "CIFAR-10")
    bullets = [line for line in text.splitlines() if line.startswith("- **")]
    assert len(bullets) == len(scores)
    for bullet, (_, row) in zip(bullets, scores.iterrows()):
        assert bullet.startswith(f"- **{row['verdict']}** — “{row['claim']}”") and row["measurement"] in bullet
    for verdict, count in scores["verdict"].value_counts().items():
        assert f"{count} {verdict}" in text.splitlines()[0]
    whole = "it is reproduced here" in text
    assert (
        whole
        == (
            scores["verdict"][
                scores["measurement"].str.split(":").str[0].isin(results.GRANULARITY + results.EFFICIENCY)
            ]
            == "reproduced"
        ).all()
    )
    with pytest.raises(TypeError):
        results.findings(results.load("cifar10").summary, "x")


@pytest.mark.parametrize(
    "mean, std, text",
    [
        (0.07781, 0.00171, "0.0778 ± 0.0017"),  # three significant digits, the std at the same places
        (0.0824, 0.0169, "0.0824 ± 0.017"),  # ... but at most two significant digits
        (102.728, 0.092, "103 ± 0.09"),  # one significant digit where the mean's places round it to 0
        (-0.384, 0.0141, "-0.384 ± 0.014"),
        (0.7622, None, "0.762"),
        (0.7622, float("nan"), "0.762"),
        (0.0, 0.0, "0.00 ± 0.00"),
        # below 1e-3, scientific notation with the same digits: no zeros to count
        (0.000269, 2.1e-7, "2.69e-4 ± 2e-7"),  # N-pair's effective active ratio, once "0.000269 ± 0.0000002"
        (0.000269, 1.74e-5, "2.69e-4 ± 1.7e-5"),
        (-0.00412e-1, None, "-4.12e-4"),
        (0.5, 3e-9, "0.500 ± 3e-9"),  # the std alone below 1e-3
        (0.00123, 0.00045, "0.00123 ± 4.5e-4"),  # at 1e-3 and above, fixed
    ],
)
def test_mean_sd_is_three_significant_digits_in_one_compact_cell(mean, std, text):
    assert results.mean_sd(mean, std) == text


def last_place(shown: str) -> int:
    """The power of ten of a shown number's last digit: -4 for "0.0778" and for "7.78e-2", 0 for "103"."""
    mantissa, _, exponent = shown.partition("e")
    decimals = len(mantissa.split(".")[1]) if "." in mantissa else 0
    return int(exponent or 0) - decimals


def test_mean_sd_keeps_what_it_rounds_within_half_a_last_digit():
    rng = np.random.default_rng(1)
    for mean, std in zip(10.0 ** rng.uniform(-6, 3, 300) * rng.choice([-1, 1], 300), 10.0 ** rng.uniform(-9, 1, 300)):
        shown_mean, shown_std = results.mean_sd(mean, std).split(" ± ")
        assert abs(float(shown_mean) - mean) <= 0.5 * 10.0 ** last_place(shown_mean) * (1 + 1e-9)
        assert ("e" in shown_mean) == (abs(float(shown_mean)) < 1e-3)  # scientific exactly below 1e-3
        assert ("e" in shown_std) == (float(shown_std) < 1e-3)
        digits = shown_mean.partition("e")[0].lstrip("-0.").replace(".", "")
        assert len(digits) == 3 or abs(mean) >= 1000  # three significant digits (a large mean keeps its units)
        assert float(shown_std) > 0  # never rounded away
        assert last_place(shown_std) >= min(last_place(shown_mean), np.floor(np.log10(std)))  # no finer than both


def test_standing_values_are_the_ranks_table_as_glue_texts():
    table = results.ranks(fabricated(), "b")
    values = results.standing_values(table, ["R@1", "intra"])
    assert set(values) == {"r1", "r1_sd", "r1_rank", "intra", "intra_sd", "intra_rank"}
    row = table.loc["intra"]
    assert values["intra_sd"] == results.mean_sd(row["mean"], row["std"])
    assert values["intra"] == values["intra_sd"].split(" ± ")[0]
    assert values["r1_rank"] == results.rank_of(table, "R@1") == "4th of 5"  # b: the second smallest R@1
    assert set(results.standing_values(table)) >= {"gini", "gini_rank"}  # default: every row
    with pytest.raises(ValueError, match="no measure"):
        results.standing_values(table, ["speed"])
    with pytest.raises(TypeError, match="not one string"):
        results.standing_values(table, "intra")


def test_change_text_says_which_way_a_curve_went_from_its_first_to_its_last_value():
    nan = float("nan")
    assert results.change_text([0.834, nan, 0.5, 0.2134]) == "falls from 0.834 to 0.213"
    assert results.change_text(pd.Series([nan, 0.462, 0.54412], index=[0, 1, 5])) == "rises from 0.462 to 0.544"
    assert results.change_text([0.5, 0.9, 0.50004]) == "stays at 0.500"  # equal as shown
    with pytest.raises(ValueError, match="no value"):
        results.change_text([nan, nan])


def test_peak_text_names_a_peak_before_the_end_and_falls_back_to_change_text():
    curve = pd.Series([0.602, 0.66, 0.6634, 0.61, 0.6258], index=[0, 1, 2, 5, 30])
    assert results.peak_text(curve) == "peaks at 0.663 at epoch 2 and ends at 0.626"
    rising = pd.Series([0.5, 0.6, 0.7001], index=[0, 10, 30])
    assert results.peak_text(rising) == results.change_text(rising) == "rises from 0.500 to 0.700"
    assert results.peak_text([0.5, 0.70004, 0.7]) == "rises from 0.500 to 0.700"  # equal as shown: no peak
