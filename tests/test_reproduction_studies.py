"""Robustness (a verdict at every hyper-parameter setting) and every claim on every study
(vgteach.reproduction.score_robustness, score_studies; DESIGN.md §5), on hand-made summaries."""

from types import SimpleNamespace

import pandas as pd
import pytest
from reproduction_tables import flipped, summary, with_values

from vgteach import results
from vgteach.reproduction import CLAIMS, STUDY_COLUMNS, score_claims, score_robustness, score_studies


def grid(low=None, default=None, high=None):
    """A robustness study: one summary per setting (default: the agreeing study everywhere)."""
    parts = {"low": low, "default": default, "high": high}
    return pd.concat([(frame if frame is not None else summary()).assign(setting=s) for s, frame in parts.items()])


def row_of(table, column):
    rows = table[table["measurement"].str.startswith(f"{column}:")]
    assert len(rows) == 1
    return rows.iloc[0]


# -- robustness ----------------------------------------------------------------------------------------------
def test_a_claim_with_the_same_verdict_everywhere_is_robust():
    table = score_robustness(grid())
    assert list(table.columns[4:7]) == ["low", "default", "high"] and len(table) == len(CLAIMS)
    assert table["robust"].all() and (table["robustness"] == "robust").all()
    assert (table[["low", "default", "high"]] == "reproduced").all(axis=None)


def test_the_setting_that_flips_a_verdict_is_named():
    table = score_robustness(grid(high=summary(flipped()), low=summary(with_values("intra", supcon=0.14))))
    intra = row_of(table, "intra")
    assert not intra["robust"]
    assert intra["robustness"] == "flips at low: reproduced → mixed; at high: reproduced → not reproduced"
    assert (intra["low"], intra["default"], intra["high"]) == ("mixed", "reproduced", "not reproduced")
    assert row_of(table, "centroid_dist_mean")["robust"]  # single-loss claims are unchanged by the mirror


def test_robustness_of_claims_that_cannot_be_tested():
    table = score_robustness(grid().drop(columns=["within_class_rank"]))
    rank = row_of(table, "within_class_rank")
    assert rank["robustness"] == "not testable" and not rank["robust"] and "regenerate" in rank["evidence"]
    only_default = score_robustness(summary().assign(setting="default"))
    assert list(only_default.columns[4:5]) == ["default"] and only_default["robust"].all()


def test_robustness_bad_input():
    with pytest.raises(ValueError, match="setting"):
        score_robustness(summary())
    with pytest.raises(ValueError, match="empty"):
        score_robustness(summary().assign(setting=None))
    with pytest.raises(ValueError, match="several rows"):
        score_robustness(pd.concat([grid(), summary().assign(setting="low")]))


def test_a_robustness_summary_scored_as_one_study_points_to_score_robustness():
    with pytest.raises(ValueError, match="score_robustness"):
        score_claims(grid())


# -- every claim on every study ------------------------------------------------------------------------------
def test_every_claim_on_every_study_in_one_table():
    studies = {
        "cifar10": summary(),
        "cifar10-efficientnet_lite0-zero-shot": summary(),
        "coarse-to-fine": summary(),
        "robustness": grid(high=summary(flipped())),
    }
    table = score_studies(studies)
    assert tuple(table.columns) == STUDY_COLUMNS and len(table) == 4 * len(CLAIMS)
    protocols = table.groupby("study", sort=False)["protocol"].first().to_dict()
    assert protocols == {
        "cifar10": "closed",
        "cifar10-efficientnet_lite0-zero-shot": "zero-shot",
        "coarse-to-fine": "coarse-to-fine",
        "robustness": "closed",
    }
    r1 = table[table["measurement"].str.startswith("recall@1:")].set_index("study")
    assert "never saw" in r1.loc["cifar10-efficientnet_lite0-zero-shot", "reading"]
    assert "fine labels" in r1.loc["coarse-to-fine", "reading"]
    assert "CUB-200" in r1.loc["coarse-to-fine", "evidence"] and "CUB-200" not in r1.loc["cifar10", "evidence"]
    robust = table[table["study"] == "robustness"]
    assert (robust["verdict"] == "reproduced").all() and robust["robustness"].str.startswith("flips at high").any()
    assert (table[table["study"] != "robustness"]["robustness"] == "").all()


def test_studies_from_the_package_and_their_metadata():
    reference = results.load("cifar10")
    table = score_studies({"cifar10": reference})
    assert (table["protocol"] == "closed").all()
    assert table["verdict"].tolist() == score_claims(reference.summary)["verdict"].tolist()
    fine_grained = SimpleNamespace(summary=summary(), meta={"config": {"dataset": "cub200", "protocol": "zero-shot"}})
    rows = score_studies({"cub": fine_grained})
    assert (rows["protocol"] == "zero-shot").all() and not rows["evidence"].str.contains("CUB-200").any()
    named = score_studies({"mine": summary()}, protocols={"mine": "coarse-to-fine"})
    assert (named["protocol"] == "coarse-to-fine").all()


def test_studies_bad_input():
    with pytest.raises(TypeError, match="mapping"):
        score_studies([summary()])
    with pytest.raises(TypeError, match="mapping"):
        score_studies({})
    with pytest.raises(TypeError, match="'x'"):
        score_studies({"x": object()})
    with pytest.raises(ValueError, match="not given"):
        score_studies({"a": summary()}, protocols={"b": "closed"})
    with pytest.raises(ValueError, match="protocol must be one of"):
        score_studies({"a": summary()}, protocols={"a": "open-set"})
    with pytest.raises(ValueError, match="no 'default'"):
        score_studies({"a": summary().assign(setting="low")})


def test_aliases_of_studies_not_generated_yet_give_the_usual_error():
    assert {"zero-shot", "coarse-to-fine", "robustness"} <= set(results.ALIASES)
    for alias in ("zero-shot", "coarse-to-fine", "robustness"):
        if results.ALIASES[alias] not in results.names():
            with pytest.raises(ValueError, match="no reference results named"):
                results.load(alias)
        else:
            assert results.load(alias).name == results.ALIASES[alias]
