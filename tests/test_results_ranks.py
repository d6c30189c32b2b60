"""vgteach.results.ranks and the sentences built from it: ranks against a loop over a fabricated summary."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from vgteach import results

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
        "Our reference runs back"
    )
    against = results.describe_statement(reference, bottom, "intra", "high", "it keeps variance")
    assert against.startswith("Our reference runs do not show that it keeps variance")
    assert top in against and reference.meta["config"]["backbone"] not in against
    assert results.describe_statement(reference, bottom, "intra", "low", "it compacts").startswith(
        "Our reference runs back"
    )
    assert "no `not_a_column` yet" in results.describe_statement(reference, top, "not_a_column", "high", "x")
    with pytest.raises(ValueError, match="expect"):
        results.describe_statement(reference, top, "intra", "up", "x")
    both = results.describe_statements(reference, bottom, [("intra", "high", "a"), ("intra", "low", "b")], "L")
    assert both.count("setting may be why") == 1 and reference.meta["config"]["backbone"] in both
    assert "setting may be why" not in results.describe_statements(reference, bottom, [("intra", "low", "b")])


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
