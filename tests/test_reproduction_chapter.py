"""The reproduction chapter's table and sentences (vgteach.reproduction.verdicts) and its prediction question
(vgteach.labs.reproduction_chapter), on hand-made studies; then what the chapter and the book's intro say
in words, checked on the committed reference studies."""

import html
import re
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from reproduction_tables import flipped, summary, with_values

from vgteach.labs.reproduction_chapter import check_verdict_prediction
from vgteach.reproduction import CLAIMS, VERDICTS, score_studies, verdicts
from vgteach.training.speeds import compaction_epoch, intra_change

REPO = Path(__file__).resolve().parents[1]

GROUP = ["triplet", "supcon"], ["contrastive", "infonce"]


def robustness_study(high=None):
    parts = {"low": summary(), "default": summary(), "high": high if high is not None else summary()}
    return pd.concat([frame.assign(setting=setting) for setting, frame in parts.items()])


@pytest.fixture(scope="module")
def made_up():
    """Three hand-made studies: one where every claim holds, one where every group claim reverses, and a
    robustness study whose high setting flips the intra claim."""
    high = summary(with_values("intra", supcon=0.14))
    return score_studies({"agreeing": summary(), "mirrored": summary(flipped()), "robustness": robustness_study(high)})


# -- the table ----------------------------------------------------------------------------------------------
def test_the_grid_has_one_row_per_claim_and_one_column_per_study(made_up):
    grid = verdicts.verdict_grid(made_up)
    assert len(grid) == len(CLAIMS)
    assert list(grid.columns) == ["reading kind", "agreeing", "mirrored", "robustness"]
    assert list(grid.index) == [(claim.sentence, claim.column) for claim in CLAIMS]
    assert (grid["agreeing"] == "reproduced").all()
    group_claims = [claim.column for claim in CLAIMS if claim.low is not None]
    assert (grid.xs("intra", level="column")["mirrored"] == "not reproduced").all()
    assert grid.loc[[key for key in grid.index if key[1] in group_claims], "mirrored"].eq("not reproduced").all()
    assert grid.loc[("Triplet and SCL preserve higher within-class variance", "ratio"), "reading kind"] == "relative"


def test_the_html_table_names_every_claim_once_and_colours_every_verdict(made_up):
    shown = verdicts.verdict_table(made_up)
    page = shown._repr_html_()
    table = shown.table_html()
    for sentence in {claim.sentence for claim in CLAIMS}:
        quoted = f"“{html.escape(sentence)}”"
        assert table.count(quoted) == 1, sentence  # twins share one cell (rowspan)
    assert table.count("<tr>") == len(CLAIMS) + 1  # the header and one row per reading
    assert table.count('<td style="background-color:') == len(CLAIMS) * 3
    for verdict in set(made_up["verdict"]):
        assert verdicts.VERDICT_COLORS[verdict] in table
    assert "…" not in table and "..." not in table.replace("compact embeddings ... quickly", "")
    assert page.count("<details>") == len(CLAIMS) and page.count("<li>") == len(CLAIMS) * 3
    assert "flips at high" in table and "robust" in table  # the robustness column's notes
    assert "flips at high: reproduced → mixed" in page  # the evidence says to what


def test_every_compaction_reading_says_which_reading_it_is():
    for claim in CLAIMS:
        words = verdicts.measured_as(claim.column, claim.reading_kind)
        assert claim.column in verdicts.MEASURED_AS
        if claim.reading_kind:
            assert words.endswith(f"({claim.reading_kind})")
            assert ("intra/inter" in words) == (claim.reading_kind == "relative")


def test_the_plain_text_view_is_the_grid(made_up):
    text = repr(verdicts.verdict_table(made_up))
    assert len(text.splitlines()) == len(CLAIMS) + 1 and "agreeing" in text.splitlines()[0]


def test_counts_add_up_to_the_claims(made_up):
    counts = verdicts.verdict_counts(made_up)
    assert list(counts.index) == ["agreeing", "mirrored", "robustness"]
    assert (counts.sum(axis=1) == len(CLAIMS)).all()
    assert list(counts.columns) == [v for v in VERDICTS if v in counts.columns]
    shown = verdicts.counts_table(made_up, titles={"agreeing": "closed"})
    assert list(shown.columns) == ["closed", "mirrored", "robustness"] and shown.index.name == "verdict"
    assert verdicts.counts_text(made_up, "agreeing") == f"{len(CLAIMS)} reproduced"
    numbers = [int(n) for n in re.findall(r"\d+", verdicts.counts_text(made_up, "mirrored"))]
    assert sum(numbers) == len(CLAIMS)


def test_the_tally_and_the_consensus(made_up):
    tally = verdicts.tally_text(made_up, titles={"agreeing": "the agreeing study"})
    n = len(CLAIMS)
    assert tally.startswith(f"Reproduced: {n} of the {n} readings on the agreeing study, ")
    first = made_up[made_up["study"] == "agreeing"]
    assert verdicts.consensus_text(first) == (
        "Reproduced on every study: " + verdicts.claim_names(list(verdicts.verdict_grid(first).index), first) + "."
    )
    mirrored = made_up[made_up["study"] == "mirrored"]  # only N-pair's two claims survive the mirror
    npair = [(claim.sentence, claim.column) for claim in CLAIMS if claim.low is None]
    assert verdicts.consensus_text(mirrored) == (
        f"Reproduced on every study: {verdicts.claim_names(npair, mirrored)}. "
        f"{n - len(npair)} of the {n} readings are reproduced on no study."
    )
    nothing = mirrored[~mirrored["measurement"].str.startswith("centroid_dist")]
    assert verdicts.consensus_text(nothing) == "No reading is reproduced on any study."


def test_robustness_and_agreement_in_words(made_up):
    text = verdicts.robustness_text(made_up)
    assert (
        text == f"{len(CLAIMS) - 1} of the {len(CLAIMS)} readings are robust, with the same verdict at every "
        "setting; the other 1 flip at the high setting."
    )
    with pytest.raises(ValueError, match="robustness"):
        verdicts.robustness_text(made_up, "agreeing")
    same = verdicts.agreement_text(made_up, "robustness", "agreeing", "at default", "on the agreeing study")
    assert (
        same
        == f"At default, {len(CLAIMS)} of the {len(CLAIMS)} readings get the verdict they get on the agreeing study."
    )


def test_part_text_names_each_half_of_the_trade_off(made_up):
    assert verdicts.part_text(made_up, "agreeing", "granularity") == (
        "final intra: reproduced; within-class rank: reproduced"
    )
    assert verdicts.part_text(made_up, "mirrored", "efficiency").count("not reproduced") == 3
    with pytest.raises(ValueError, match="part"):
        verdicts.part_text(made_up, "agreeing", "speed")


def test_bad_input():
    with pytest.raises(ValueError, match="score_studies"):
        verdicts.verdict_grid(pd.DataFrame({"verdict": ["reproduced"]}))
    with pytest.raises(TypeError, match="titles"):
        verdicts.verdict_table(score_studies({"a": summary()}), titles=["closed"])
    with pytest.raises(ValueError, match="not scored"):
        verdicts.counts_text(score_studies({"a": summary()}), "b")
    with pytest.raises(ValueError, match="single claim"):
        verdicts.verdict_of(score_studies({"a": summary()}), "a", "nmi")
    with pytest.raises(TypeError, match="load"):
        verdicts.studies_table({"a": summary()})


# -- what signed compaction changed -------------------------------------------------------------------------
def curve(start, final, settle, epochs=10):
    """An intra curve from ``start`` that reaches ``final`` at epoch ``settle`` and stays there."""
    return [start + (final - start) * min(epoch / settle, 1.0) for epoch in range(epochs + 1)]


def made_up_study():
    """Contrastive compacts by epoch 2, Triplet and SupCon by epoch 8, InfoNCE's intra *rises* and settles at
    epoch 1: compacting quickly by the old, unsigned rule, not compacting at all once signed."""
    shapes = {
        "contrastive": (0.5, 0.2, 2),
        "triplet": (0.5, 0.4, 8),
        "npair": (0.5, 0.3, 5),
        "infonce": (0.5, 0.6, 1),
        "arcface": (0.5, 0.3, 6),
        "supcon": (0.5, 0.35, 8),
        "ccl": (0.5, 0.3, 4),
    }
    rows = [
        {"loss": loss, "seed": seed, "epoch": epoch, "intra": value}
        for seed in (0, 1, 2)
        for loss, shape in shapes.items()
        for epoch, value in enumerate(curve(*shape))
    ]
    history = pd.DataFrame(rows)
    runs = history.groupby(["loss", "seed"], sort=False)
    table = pd.DataFrame(
        [
            {"loss": loss, "seed": seed, "compaction_epoch": compaction_epoch(run), "intra_change": intra_change(run)}
            for (loss, seed), run in runs
        ]
    )
    return SimpleNamespace(history=history, summary=table)


def test_the_unsigned_rule_gives_a_rising_intra_the_epoch_it_settles():
    study = made_up_study()
    old = verdicts.unsigned_compaction_epochs(study.history).set_index(["loss", "seed"])["compaction_epoch"]
    assert old[("infonce", 0)] == 1 and old[("contrastive", 0)] == 2 and old[("triplet", 0)] == 8
    assert np.isnan(study.summary.set_index(["loss", "seed"]).loc[("infonce", 0), "compaction_epoch"])
    with pytest.raises(ValueError, match="history"):
        verdicts.unsigned_compaction_epochs(study.summary)


def test_signing_turns_a_spreading_loss_from_quick_to_slowest():
    change = verdicts.signing_change(made_up_study())
    assert (change.before, change.after) == ("reproduced", "not reproduced") and change.changed
    assert change.not_compacting == ("infonce",)
    with pytest.raises(TypeError, match="load"):
        verdicts.signing_change(summary())


# -- the studies ----------------------------------------------------------------------------------------
def test_the_studies_table_reads_each_protocol():
    def meta(protocol, train, scored, profile="paper", dataset="cifar10", grid=None):
        found = {
            "profile": profile,
            "losses": ["a"] * 7,
            "seeds": [0, 1, 2],
            "config": {"dataset": dataset},
            "protocol": {"name": protocol, "train_classes": train, "eval_classes": scored},
        }
        if grid:
            found["grid"] = {"settings": dict.fromkeys(("low", "default", "high"), {})}
        return SimpleNamespace(meta=found)

    ten = [f"c{i}" for i in range(10)]
    table = verdicts.studies_table(
        {
            "cifar10": meta("closed", ten, ten),
            "zero-shot": meta("zero-shot", ten[:5], ten[5:]),
            "coarse-to-fine": meta("coarse-to-fine", ["vehicles", "animals"], ten),
            "robustness": meta("closed", ten, ten, "book", "cifar10-features", grid=True),
        }
    )
    assert list(table.columns) == ["study", "data", "trained on", "scored on", "runs"]
    assert list(table["study"]) == ["closed", "zero-shot", "coarse-to-fine", "robustness"]
    assert table.loc[1, "scored on"] == "c5, c6, c7, c8, c9 (unseen)"
    assert table.loc[2, "trained on"] == "vehicles / animals (superclasses)"
    assert table.loc[2, "scored on"] == "the 10 fine classes"
    assert table.loc[3, "data"] == "shipped features, book settings"
    assert table.loc[3, "runs"] == "7 losses × 3 settings × 3 seeds"
    assert table.loc[0, "data"] == "full CIFAR-10, paper settings" and table.loc[0, "trained on"] == "all 10 classes"


def test_score_studies_reads_the_protocol_block_of_study_json():
    frame = summary().assign(protocol=None)
    study = SimpleNamespace(summary=frame, meta={"protocol": {"name": "zero-shot"}, "config": {}})
    scored = score_studies({"unseen": study})
    assert (scored["protocol"] == "zero-shot").all()


# -- the prediction question ----------------------------------------------------------------------------
def made_up_table(**changes):
    values = {
        "triplet": [0.50, 0.52, 0.51],
        "supcon": [0.48, 0.47, 0.49],
        "contrastive": [0.40, 0.41, 0.39],
        "infonce": [0.47, 0.49, 0.50],
    }
    values.update(changes)
    return pd.DataFrame(values, index=pd.Index([0, 1, 2], name="seed"))


def test_the_verdict_prediction_is_graded_against_decide():
    table = made_up_table()
    assert not check_verdict_prediction(None, table, *GROUP)
    assert "Not answered" in str(check_verdict_prediction(None, table, *GROUP))
    right = check_verdict_prediction("mixed", table, *GROUP)
    assert right and "supcon < infonce in seeds 1, 2" in str(right)
    wrong = check_verdict_prediction("reproduced", table, *GROUP)
    assert not wrong and "'mixed'" in str(wrong)
    assert check_verdict_prediction(" Reproduced ", made_up_table(infonce=[0.42, 0.40, 0.41]), *GROUP)
    assert not check_verdict_prediction("maybe", table, *GROUP)
    with pytest.raises(ValueError, match="column"):
        check_verdict_prediction("mixed", table, ["arcface"], ["triplet"])
    with pytest.raises(TypeError, match="DataFrame"):
        check_verdict_prediction("mixed", table.to_numpy(), *GROUP)


# -- the chapter's and the intro's sentences, on the committed studies ----------------------------------------
REFERENCE_STUDIES = ("cifar10", "zero-shot", "coarse-to-fine", "robustness")  # the chapter's four


@pytest.fixture(scope="module")
def reference():
    from vgteach import results

    studies = {name: results.load(name) for name in REFERENCE_STUDIES}
    return studies, score_studies(studies)


def test_the_chapters_typed_sentences_hold_on_the_reference_studies(reference):
    """What notebooks/reproduction.ipynb types around its glued verdicts: the two readings of "compact"
    disagree on the closed runs; the losses the paper calls efficient compact and converge later there,
    not first; only coarse-to-fine has Triplet and SupCon retrieve better; where a granularity verdict on
    the two new protocols is mixed, the one reversing pair is SupCon below InfoNCE."""
    _, scores = reference
    columns = {verdicts.column_of(measurement) for measurement in scores["measurement"]}
    closed = {column: verdicts.verdict_of(scores, "cifar10", column) for column in columns}
    assert closed["intra_change"] != closed["ratio_change"]  # "The two can disagree."
    for speed in ("compaction_epoch", "convergence_epoch", "map_convergence_epoch"):
        assert closed[speed] == "not reproduced", speed  # "are not the ones that compact and converge first"
    retrieval = {study: verdicts.verdict_of(scores, study, "recall@1") for study in REFERENCE_STUDIES}
    assert [study for study, verdict in retrieval.items() if verdict == "reproduced"] == ["coarse-to-fine"]
    for study in ("zero-shot", "coarse-to-fine"):
        for column in ("recall@1", "within_class_rank"):
            row = scores[(scores["study"] == study) & (scores["measurement"].str.startswith(f"{column}:"))]
            if row["verdict"].item() == "mixed":
                reversed_pairs = re.findall(r"(\w+) < (\w+) in seeds?", row["evidence"].item())
                assert set(reversed_pairs) == {("supcon", "infonce")}, (study, column, row["evidence"].item())


def test_the_intro_says_what_the_closed_runs_found(reference):
    """book/intro.md's box: InfoNCE's intra rises in every seed and ends the highest of the seven, its R@1
    is the best, Triplet and SupCon end below it; few readings are reproduced; coarse-to-fine brings back
    the top-1 claim. The numbers the page glues are these runs', and every glue role has its value."""
    from vgteach.results.headline import headline
    from vgteach.results.proofread import numbers_in, prose_paragraphs, text_problems

    studies, scores = reference
    closed = studies["cifar10"].summary
    infonce = closed[closed["loss"] == "infonce"]
    assert (infonce["intra_change"] > 0).all()  # "its within-class variance grows during training"
    means = closed.groupby("loss")[["intra", "recall@1"]].mean()
    assert means["intra"].idxmax() == "infonce" and means["recall@1"].idxmax() == "infonce"
    assert (means.loc[["triplet", "supcon"], "intra"] < means.loc["infonce", "intra"]).all()
    assert verdicts.verdict_of(scores, "coarse-to-fine", "recall@1") == "reproduced"  # "one piece"

    values = headline(studies["cifar10"], scores)
    assert float(values["infonce_intra_end"]) == pytest.approx(infonce["intra"].mean(), abs=5e-4)
    assert float(values["infonce_intra_start"]) < float(values["infonce_intra_end"])
    assert float(values["infonce_r1"]) == pytest.approx(infonce["recall@1"].mean(), abs=5e-4)
    assert values["readings"] == str(len(CLAIMS))
    assert int(values["reproduced"]) <= len(CLAIMS) // 3  # "reproduced on only …"

    page = (REPO / "book" / "intro.md").read_text(encoding="utf-8")
    assert set(re.findall(r"\{glue:md\}`(\w+)`", page)) == set(values)
    filled, bare = prose_paragraphs(page, values), prose_paragraphs(page)
    glued = [paragraph for paragraph, placeholders in zip(filled, bare) if placeholders != paragraph]
    assert len(filled) == len(bare) and glued  # the box's paragraph, as a reader reads it
    for paragraph in glued:
        assert not text_problems(paragraph), paragraph
    assert all(len(numbers_in(paragraph)) <= 5 for paragraph in filled)


def test_the_headline_refuses_a_study_it_cannot_read(reference):
    from vgteach.results.headline import headline

    studies, scores = reference
    with pytest.raises(ValueError, match="study"):
        headline(studies["cifar10"], scores, study="digits")
    no_infonce = SimpleNamespace(summary=studies["cifar10"].summary.query("loss != 'infonce'"))
    with pytest.raises(ValueError, match="infonce"):
        headline(no_infonce, scores)
