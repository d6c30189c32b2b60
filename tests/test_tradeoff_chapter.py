"""The trade-off chapter (notebooks/tradeoff.ipynb): its helpers, its exercises, and what its prose says.

* :mod:`vgteach.results.tradeoff` and :mod:`vgteach.results.sweeps` (the tables and phrases the chapter glues) and
  :mod:`vgteach.labs.tradeoff_chapter` (its two graded exercises) on fabricated studies whose answers are
  planted, right and wrong.
* The chapter's shape: its place in the book, hidden glue, one visible recipe, tables of three to six
  columns, exercises with a stub graded "not answered yet" and a solution that passes.
* What the prose writes in words around its glued numbers holds on the packaged studies: the InfoNCE
  experiment on the temperature sweep (and on the closed-set reference runs), the robustness grid, the
  protocols and transfer on the zero-shot and coarse-to-fine studies. A regenerated study that changes a
  direction the page states fails here instead of the page going stale.
"""

from __future__ import annotations

import ast
import re

import numpy as np
import pandas as pd
import pytest
from chapter_cells import cells, source, tags

from vgteach import results
from vgteach.labs import CheckResult, check_spearman_by_hand, check_transfer_prediction
from vgteach.labs.kit import NOT_ANSWERED
from vgteach.losses import LOSS_NAMES
from vgteach.reproduction import COMPACTING, GRANULAR, score_robustness, transfer_correlations
from vgteach.results import sweeps, tradeoff
from vgteach.results.proofread import text_problems
from vgteach.widgets import summary_table

NAME = "tradeoff"


# ----------------------------------------------------------------------------------- fabricated studies
def fake_summary(values: dict, seeds=(0, 1, 2), noise: float = 0.001, **columns) -> pd.DataFrame:
    """One row per loss and seed: ``recall@1`` = values[loss] (+ a little noise per seed), other columns
    from ``columns`` (column -> {loss: value})."""
    rng = np.random.default_rng(0)
    rows = []
    for loss in LOSS_NAMES:
        for seed in seeds:
            row = {"loss": loss, "seed": seed, "recall@1": values[loss] + noise * rng.standard_normal()}
            row.update({column: by_loss[loss] + noise * rng.standard_normal() for column, by_loss in columns.items()})
            rows.append(row)
    return pd.DataFrame(rows)


R1 = dict(zip(LOSS_NAMES, (0.60, 0.80, 0.65, 0.70, 0.66, 0.75, 0.64)))  # triplet best, then supcon
DECAY = dict(zip(LOSS_NAMES, (0.9, 0.3, 0.8, 0.5, 0.7, 0.4, 0.85)))  # triplet least compressed


def fake_sweep(ratio_gap=(0.15, 0.15, 0.03, 0.0, 0.0), seeds=(0, 1, 2)) -> pd.DataFrame:
    """A temperature sweep: InfoNCE's ratio above SupCon's by ``ratio_gap`` at τ = 0.05 … 1."""
    rng = np.random.default_rng(1)
    rows = []
    for tau, gap in zip((0.05, 0.1, 0.2, 0.5, 1.0), ratio_gap):
        for seed in seeds:
            for loss, shift in (("infonce", gap), ("supcon", 0.0)):
                rows.append(
                    {
                        "setting": f"tau={tau:g}",
                        "loss": loss,
                        "seed": seed,
                        "ratio": 0.4 + shift + 0.002 * rng.standard_normal(),
                        "far_pull_share": (0.26 if loss == "infonce" else 0.38) + 0.002 * rng.standard_normal(),
                    }
                )
    return pd.DataFrame(rows)


# ----------------------------------------------------------------------------------- the exercises
def test_transfer_prediction_is_graded_against_the_planted_winner():
    summary = fake_summary(R1, train_spectral_decay=DECAY)
    assert not check_transfer_prediction(None, summary) and NOT_ANSWERED in str(
        check_transfer_prediction(None, summary)
    )
    right = check_transfer_prediction("Triplet", summary)
    assert right and "Triplet" in str(right) and "smallest spectral decay) is Triplet's" in str(right)
    assert check_transfer_prediction("triplet", summary)
    wrong = check_transfer_prediction("supcon", summary)
    assert not wrong and "SupCon comes 2nd of 7" in str(wrong) and "Triplet is first" in str(wrong)
    unknown = check_transfer_prediction("resnet", summary)
    assert not unknown and "expected the name of a loss" in str(unknown)
    assert not check_transfer_prediction(3, summary)
    with pytest.raises(ValueError, match="no column"):
        check_transfer_prediction("triplet", summary.drop(columns="recall@1"))


def test_transfer_prediction_names_the_rules_pick_when_it_is_not_the_winner():
    decay = {**DECAY, "infonce": 0.1}  # InfoNCE least compressed, Triplet still retrieves best
    result = check_transfer_prediction("infonce", fake_summary(R1, train_spectral_decay=decay))
    assert not result and "is InfoNCE's" in str(result)


X, Y = [0.72, 0.83, 2.0, 5.5, 5.8], [0.692, 0.699, 0.678, 0.661, 0.579]


def test_spearman_by_hand_right_flipped_pearson_and_off():
    # ranks (1, 2, 3, 4, 5) and (4, 5, 3, 2, 1): d = (-3, -3, 0, 2, 4), sum d^2 = 38, rho = 1 - 228/120
    assert check_spearman_by_hand(-0.9, X, Y)
    assert check_spearman_by_hand(np.float64(-0.9001), X, Y)
    flipped = check_spearman_by_hand(0.9, X, Y)
    assert not flipped and "sign is flipped" in str(flipped)
    pearson = float(np.corrcoef(X, Y)[0, 1])
    assert not check_spearman_by_hand(pearson, X, Y) and "Pearson" in str(check_spearman_by_hand(pearson, X, Y))
    off = check_spearman_by_hand(-0.5, X, Y)
    assert not off and "too large" in str(off) and "-0.9" not in str(off)
    assert NOT_ANSWERED in str(check_spearman_by_hand(None, X, Y))
    assert not check_spearman_by_hand("minus one", X, Y)
    with pytest.raises(ValueError, match="same length"):
        check_spearman_by_hand(0.5, X, Y[:3])


# ----------------------------------------------------------------------------------- the helpers
def test_protocol_table_names_the_classes_each_protocol_trains_on_and_scores():
    table = tradeoff.protocol_table("cifar10")
    assert list(table.index) == ["closed", "zero-shot", "coarse-to-fine"]
    assert table.loc["zero-shot", "trains on"] == "airplane, automobile, bird, cat, deer"
    assert table.loc["zero-shot", "scored on"] == "dog, frog, horse, ship, truck"
    assert table.loc["coarse-to-fine", "trains on"] == "the superclasses vehicles and animals"
    assert table.loc["closed", "trains on"] == "all 10 classes"
    assert table.map(len).max().max() <= 50  # pandas shows a cell whole up to 50 characters


def test_granularity_table_and_best_text_follow_the_planted_numbers():
    closed = fake_summary({**R1, "infonce": 0.9})
    summaries = {"closed": closed, "zero-shot": fake_summary(R1), "coarse-to-fine": fake_summary(R1)}
    table = tradeoff.granularity_table(summaries)
    assert list(table.columns) == ["Triplet and SupCon", "Contrastive and InfoNCE", "best", "verdict"]
    assert table.loc["zero-shot", "best"] == "Triplet" and table.loc["closed", "best"] == "InfoNCE"
    assert table.loc["zero-shot", "verdict"] == "reproduced"  # 0.775 vs 0.65 in every seed and pair
    assert table.loc["closed", "verdict"] != "reproduced"  # InfoNCE tops Triplet there
    assert tradeoff.best_text(summaries) == (
        "InfoNCE retrieves best in the closed set, Triplet on the unseen classes and on the fine labels"
    )
    everywhere = {p: fake_summary(R1) for p in summaries}
    assert tradeoff.best_text(everywhere) == "Triplet retrieves best under every protocol"
    assert tradeoff.verdicts_text(table).endswith("*reproduced* on the fine labels")
    with pytest.raises(ValueError, match="unknown protocol"):
        tradeoff.granularity_table({"open": closed})


def test_lead_and_reversals_follow_the_planted_numbers():
    summaries = {"closed": fake_summary({**R1, "infonce": 0.99}), "zero-shot": fake_summary(R1, noise=0.0)}
    # zero-shot: (0.80 + 0.75) / 2 − (0.60 + 0.70) / 2 = 0.125
    assert tradeoff.group_gap(summaries["zero-shot"]) == pytest.approx(0.125)
    assert tradeoff.lead_text(summaries).endswith("0.125 on the unseen classes")
    assert tradeoff.lead_text(summaries).startswith("−")  # InfoNCE's 0.99 puts the granular pair behind
    assert tradeoff.reversals_text(summaries) == "InfoNCE above Triplet and SupCon in the closed set"
    assert tradeoff.reversals_text({"zero-shot": summaries["zero-shot"]}) == "none"


def test_transfer_phrases_read_the_sign_and_the_interval():
    row = pd.Series({"measure": "train_spectral_decay", "rho": -0.52, "low": -0.86, "high": 0.1})
    assert tradeoff.rho_text(row) == "ρ = −0.52 (95 % interval −0.86 to 0.10)"
    assert tradeoff.roth_text(row) == "negative, as Roth et al. find, but its interval includes 0"
    row = pd.Series({"measure": "train_spectral_decay", "rho": 0.4, "low": 0.1, "high": 0.7})
    assert tradeoff.roth_text(row) == "positive, where Roth et al. find a negative one, and its interval leaves out 0"
    row = pd.Series({"measure": "train_intra", "rho": 0.4, "low": 0.1, "high": 0.7})
    assert tradeoff.roth_text(row).startswith("positive (Roth et al. do not report")
    summary = fake_summary(R1, train_spectral_decay=DECAY)
    assert tradeoff.rule_text(summary) == "the rule picks Triplet, and Triplet does retrieve best on the unseen classes"
    assert "but Triplet retrieves best" in tradeoff.rule_text(
        fake_summary(R1, train_spectral_decay={**DECAY, "ccl": 0.0})
    )
    assert tradeoff.roth_sign_text(-0.9).startswith("negative") and "against" in tradeoff.roth_sign_text(0.3)
    correlations = transfer_correlations(summary, n_boot=50)
    view = tradeoff.transfer_view(correlations)
    assert list(view.columns) == ["Spearman ρ", "95 % interval", "Roth et al."]
    assert view.loc["spectral decay", "Roth et al."] == "negative" and view.loc["intra", "Roth et al."] == "—"
    assert view.loc["spectral decay", "Spearman ρ"].startswith("−")  # planted: less compressed, better


def test_readings_table_starts_from_the_untrained_head():
    rows = []
    for loss, (intra, inter) in {"infonce": (0.5, 1.0), "supcon": (0.2, 0.6)}.items():
        for seed in (0, 1):
            rows += [
                {"loss": loss, "seed": seed, "epoch": 0, "intra": 0.4, "inter": 0.1, "ratio": 4.0},
                {"loss": loss, "seed": seed, "epoch": 5, "intra": intra, "inter": inter, "ratio": intra / inter},
                {"loss": loss, "seed": seed, "epoch": 6, "intra": np.nan, "inter": np.nan, "ratio": np.nan},
            ]
    table = sweeps.readings_table(pd.DataFrame(rows))
    assert list(table.index) == ["untrained head (epoch 0)", "InfoNCE, trained", "SupCon, trained"]
    assert table.loc["untrained head (epoch 0)", "intra / inter"].startswith("4.00")
    assert table.loc["InfoNCE, trained", "intra"].startswith("0.500")
    assert sweeps.final_means(pd.DataFrame(rows), "inter").to_dict() == {"infonce": 1.0, "supcon": 0.6}


def test_sweep_gaps_close_where_the_planted_gap_is_within_seed_noise():
    sweep = fake_sweep()
    means = sweeps.sweep_means(sweep, "ratio")
    assert list(means.columns) == ["infonce", "supcon"] and list(means.index) == [0.05, 0.1, 0.2, 0.5, 1.0]
    gaps = sweeps.sweep_gaps(sweep, "ratio")
    assert gaps.shape == (5, 3) and (gaps.loc[0.1] > 0.1).all()
    assert not sweeps.gap_within_noise(sweep, "ratio", 0.2)
    assert sweeps.gap_within_noise(sweep, "ratio", 0.5)
    assert sweeps.first_level_tau(sweep, "ratio") == 0.5
    assert sweeps.first_level_tau(fake_sweep(ratio_gap=(0.2,) * 5), "ratio") is None
    assert len(sweeps.sweep_point(sweep, 0.1)) == 6
    with pytest.raises(ValueError, match="no run at τ = 0.3"):
        sweeps.sweep_point(sweep, 0.3)


def test_pushed_text_and_robustness_view():
    assert sweeps.pushed_text(0.0) == "pushes no positive pair apart"
    assert sweeps.pushed_text(0.0689) == "pushes 7 % of its positive pairs apart"
    table = pd.DataFrame(
        {
            "claim": ["a", "b"],
            "measurement": ["intra: triplet > infonce", "ratio_change: triplet > infonce"],
            "low": ["mixed", "mixed"],
            "default": ["mixed", "reproduced"],
            "high": ["mixed", "mixed"],
            "robust": [True, False],
            "robustness": ["robust", "flips at low: reproduced → mixed; at high: reproduced → mixed"],
        }
    )
    view = sweeps.robustness_view(table)
    assert list(view.columns) == ["claim", "measure", "low", "default", "high", "holds"]
    assert list(view["holds"]) == ["robust", "flips at low and high"]
    assert list(view["measure"]) == ["final intra", "change of intra/inter"]  # the reproduction table's names
    kinds = sweeps.robustness_view(table.assign(**{"reading kind": ["absolute", "relative"]}))["measure"]
    assert list(kinds) == ["final intra (absolute)", "change of intra/inter (relative)"]
    assert sweeps.robust_count(table) == (1, 2)


# ----------------------------------------------------------------------------------- the chapter's shape
def markdown() -> str:
    return "\n".join(source(cell) for cell in cells(NAME) if cell["cell_type"] == "markdown")


def test_the_chapter_sits_between_the_comparison_and_the_reproduction():
    import yaml
    from test_notebooks import REPO

    toc = yaml.safe_load((REPO / "_toc.yml").read_text())
    files = [chapter["file"] for part in toc["parts"] for chapter in part["chapters"]]
    at = files.index("notebooks/tradeoff")
    assert files[at - 1] == "notebooks/comparison" and files[at + 1] == "notebooks/reproduction"


def test_the_story_objectives_takeaways_and_two_datasets():
    text = markdown()
    assert ":::{admonition} Learning objectives" in source(cells(NAME)[1])
    assert ":::{admonition} Key takeaways" in source(cells(NAME)[-1])
    assert "## What the paper says — and what we found" in text
    found = text.split("## What the paper says — and what we found")[1]
    assert re.search(r"\*\*[^*]+\?\*\*", found), "the section opens with the question it answers"
    for term in ("zero-shot", "coarse-to-fine", "protocol", "spectral decay", "live run", "reference runs"):
        assert re.search(r"\{term\}`" + re.escape(term) + r"`", text), term
    assert "{term}`π-ratio <pi-ratio>`" in text
    assert "CUB-200" in text and "Cars196" in text  # the protocols are still not fine-grained: said plainly
    assert "roth2020revisiting" in text


def test_glue_cells_are_hidden_and_one_visible_cell_trains():
    code = [cell for cell in cells(NAME) if cell["cell_type"] == "code"]
    for cell in code:
        if "results.glue(" in source(cell):
            assert "remove-cell" in tags(cell), source(cell)[:60]
    training = [cell for cell in code if "run_study(" in source(cell)]
    assert len(training) == 1 and "print(recipe(config)" in source(training[0])
    assert "remove-cell" not in tags(training[0])


def test_the_tables_have_three_to_six_columns():
    """Each table the chapter shows, rebuilt from the packaged studies as the chapter builds it."""
    namespace: dict = {"results": results}
    run_cell(code_cell("PULL_COLUMNS = ").split("point = ")[0], namespace)
    PULL_COLUMNS = namespace["PULL_COLUMNS"]  # noqa: N806 - the chapter's own name
    summaries = {p: results.load(n).summary for p, n in tradeoff.PROTOCOL_STUDIES.items()}
    sweep = results.load("temperature").summary
    tables = [
        tradeoff.protocol_table("cifar10").reset_index(),
        tradeoff.granularity_table(summaries).reset_index(),
        tradeoff.transfer_view(transfer_correlations(summaries["zero-shot"], n_boot=20)).reset_index(),
        sweeps.readings_table(results.load("cifar10").history).reset_index(),
        sweeps.robustness_view(score_robustness(results.load("robustness").summary)),
        summary_table(sweeps.sweep_point(sweep, 0.1), columns=PULL_COLUMNS, spread=True),
    ]
    for table in tables:
        assert 3 <= len(table.columns) <= 6, list(table.columns)


def code_cell(marker: str) -> str:
    return next(source(cell) for cell in cells(NAME) if cell["cell_type"] == "code" and marker in source(cell))


def run_cell(code: str, namespace: dict):
    """Execute a cell; return the value of its last expression (as Jupyter shows it)."""
    tree = ast.parse(code)
    last = tree.body.pop() if tree.body and isinstance(tree.body[-1], ast.Expr) else None
    exec(compile(tree, "<cell>", "exec"), namespace)  # noqa: S102 - the chapter's own cells
    return None if last is None else eval(compile(ast.Expression(last.value), "<cell>", "eval"), namespace)  # noqa: S307


def test_stubs_are_graded_not_answered_and_solutions_pass():
    namespace: dict = {"display": lambda *args, **kwargs: None}
    run_cell(code_cell("from vgteach.results import sweeps, tradeoff"), namespace)
    namespace["sweep"] = results.load("temperature").summary
    graded = []
    for cell in cells(NAME):
        kind = {"exercise-stub", "exercise-solution"} & set(tags(cell))
        if kind:
            value = run_cell(source(cell), namespace)
            assert isinstance(value, CheckResult), "the cell's last line must show a check"
            graded.append((kind.pop(), value))
    assert [kind for kind, _ in graded] == ["exercise-stub", "exercise-solution"] * 2
    for kind, result in graded:
        assert bool(result) == (kind == "exercise-solution"), str(result)
        if kind == "exercise-stub":
            assert NOT_ANSWERED in str(result)


def test_exercises_are_labelled_and_cited():
    text = markdown()
    for label in ("tradeoff-predict", "tradeoff-spearman"):
        assert f":label: {label}" in text and f"{{solution-start}} {label}" in text
    assert "{ref}`tradeoff-predict`" in text  # the transfer section asks for the prediction first


# ------------------------------------------------------------ the InfoNCE experiment: the temperature sweep
@pytest.fixture(scope="module")
def sweep():
    return sweeps.with_tau(results.load("temperature").summary)


@pytest.fixture(scope="module")
def sweep_history():
    history = results.load("temperature").history
    return sweeps.with_tau(history)


DEFAULT_TAU = 0.1


def per_seed(frame: pd.DataFrame, column: str, tau: float) -> pd.DataFrame:
    at = frame[np.isclose(frame["tau"], tau)]
    return at.pivot_table(index="seed", columns="loss", values=column)


def test_at_small_temperatures_supcon_aims_at_its_stragglers_in_every_seed(sweep):
    for tau in sorted(t for t in sweep["tau"].unique() if t <= DEFAULT_TAU):
        far = per_seed(sweep, "far_pull_share", tau)
        assert (far["infonce"] < far["supcon"]).all(), tau
        pushed = per_seed(sweep, "pushed_positive_share", tau)
        assert (pushed["supcon"] > 0).all(), tau
        ratio = per_seed(sweep, "ratio", tau)
        assert (ratio["infonce"] > ratio["supcon"]).all(), tau  # SupCon tightens its classes further
        assert not sweeps.gap_within_noise(sweep.drop(columns="tau"), "ratio", tau)


def test_infonce_never_pushes_a_positive_pair_apart(sweep_history):
    infonce = sweep_history[sweep_history["loss"] == "infonce"]
    assert (infonce["pushed_positive_share"].dropna() == 0).all()


def test_the_default_temperature_row_holds_seed_by_seed(sweep):
    """The sentence under the three-seed table: InfoNCE ends with the larger ratio and within-class rank,
    SupCon aims more at the stragglers, in every seed."""
    for column, larger in (("ratio", "infonce"), ("within_class_rank", "infonce"), ("far_pull_share", "supcon")):
        values = per_seed(sweep, column, DEFAULT_TAU)
        smaller = "supcon" if larger == "infonce" else "infonce"
        assert (values[larger] > values[smaller]).all(), column
    assert (per_seed(sweep, "pushed_positive_share", DEFAULT_TAU)["infonce"] == 0).all()


def test_the_live_run_recipe_starts_both_losses_from_the_same_embeddings(sweep_history):
    """The live run is this sweep's recipe at the default τ: at epoch 0 both losses see the same embeddings
    (same intra), SupCon already aims more at the far pairs and pushes some; both compact in absolute terms
    on the shipped features."""
    at = sweep_history[np.isclose(sweep_history["tau"], DEFAULT_TAU)]
    start = at[at["epoch"] == 0].pivot_table(index="seed", columns="loss", values=["intra", "far_pull_share"])
    np.testing.assert_allclose(start["intra"]["infonce"], start["intra"]["supcon"])
    assert (start["far_pull_share"]["supcon"] > start["far_pull_share"]["infonce"]).all()
    last = sweeps.last_epochs(at.drop(columns="tau"), "intra").set_index(["loss", "seed"])["intra"]
    first = at[at["epoch"] == 0].set_index(["loss", "seed"])["intra"]
    assert (last < first.reindex(last.index)).all()
    final = sweeps.last_epochs(at.drop(columns="tau"), "ratio").pivot_table(
        index="seed", columns="loss", values=["ratio", "pushed_positive_share"]
    )
    assert (final["ratio"]["supcon"] < final["ratio"]["infonce"]).all()
    assert (final["pushed_positive_share"]["supcon"] > 0).all()


def test_the_gap_closes_as_the_temperature_grows(sweep):
    summary = sweep.drop(columns="tau")
    level = sweeps.first_level_tau(summary, "ratio")
    assert level is not None and level > DEFAULT_TAU
    for tau in sweep["tau"].unique():
        if tau < level:
            assert not sweeps.gap_within_noise(summary, "ratio", tau)
    far = sweeps.sweep_means(summary, "far_pull_share")
    gap = far["supcon"] - far["infonce"]
    assert gap[level] < 0.5 * gap[DEFAULT_TAU]  # SupCon's pull has moved most of the way to even
    # a flat softmax compresses both alike: the ratios fall with τ and end level within 1 %
    ratio = sweeps.sweep_means(summary, "ratio")
    hottest = ratio.index.max()
    assert (ratio.loc[hottest] < ratio.loc[level]).all() and (ratio.loc[level] < ratio.loc[DEFAULT_TAU]).all()
    assert abs(ratio.loc[hottest, "infonce"] - ratio.loc[hottest, "supcon"]) < 0.01 * ratio.loc[hottest].mean()
    r1 = sweeps.sweep_means(summary, "recall@1")["infonce"]
    rank = sweeps.sweep_means(summary, "within_class_rank")["infonce"]
    assert r1[hottest] < r1[DEFAULT_TAU] and rank[hottest] < 10 < rank[DEFAULT_TAU]
    decay = sweeps.sweep_means(summary, "train_spectral_decay")["infonce"].round(3)
    assert decay.corr(sweeps.sweep_means(summary, "recall@1")["infonce"].round(3), method="spearman") < 0


# ------------------------------------------------------------ the InfoNCE experiment: the two readings
def test_the_untrained_head_is_bunched_and_infonce_compacts_least_by_the_ratio():
    history = results.load("cifar10").history
    start = sweeps.start_means(history)
    inter = sweeps.final_means(history, "inter")
    assert start["inter"] < start["intra"]  # bunched: the class means closer than a class is wide
    assert (inter > start["inter"]).all()  # every loss unfolds the cloud
    intra = sweeps.final_means(history, "intra")
    ratio = sweeps.final_means(history, "ratio")
    assert intra["infonce"] > start["intra"]  # InfoNCE's classes grow in absolute terms
    assert (ratio < start["ratio"]).all()  # by the ratio every loss compacts
    assert ratio.idxmax() == "infonce"  # InfoNCE least: "the largest ratio of the seven"
    assert ratio["infonce"] > ratio["supcon"]
    assert len(ratio) == 7
    far = results.load("cifar10").summary.pivot_table(index="seed", columns="loss", values="far_pull_share")
    assert (far["infonce"] < far["supcon"]).all()  # the reference runs aim their pull the same way


# -------------------------------------------------------------------- the protocols and transfer, as read
@pytest.fixture(scope="module")
def summaries():
    return {p: results.load(n).summary for p, n in tradeoff.PROTOCOL_STUDIES.items()}


def test_the_protocol_readings_hold_on_the_reference_runs(summaries):
    """The prose under the protocols' table and in "what we found": the lead grows closed → unseen → fine;
    only InfoNCE reverses a cross pair (above SupCon on the unseen classes), none on the fine labels; the
    fine labels reproduce the claim; InfoNCE retrieves best in the closed set, the paper's pair elsewhere."""
    gaps = [tradeoff.group_gap(summaries[p]) for p in ("closed", "zero-shot", "coarse-to-fine")]
    assert 0 < gaps[0] < gaps[1] < gaps[2]
    table = tradeoff.granularity_table(summaries)
    assert table.loc["coarse-to-fine", "verdict"] == "reproduced"
    assert table.loc["zero-shot", "verdict"] == "mixed"
    for protocol, summary in summaries.items():
        means = tradeoff.loss_means(summary, "recall@1")
        reversed_pairs = {(low, high) for low in COMPACTING for high in GRANULAR if means[low] > means[high]}
        assert all(low == "infonce" for low, _ in reversed_pairs), protocol
        if protocol == "zero-shot":
            assert reversed_pairs == {("infonce", "supcon")}
        if protocol == "coarse-to-fine":
            assert not reversed_pairs
        best = tradeoff.best_loss(summary)
        assert best == "infonce" if protocol == "closed" else best in GRANULAR, protocol


def test_the_comparison_finding_the_intro_and_found_section_repeat():
    """InfoNCE keeps the most within-class variance and retrieves best in the closed set; by the ratio it
    compacts less than Triplet and SupCon."""
    closed = results.load("cifar10")
    intra = sweeps.final_means(closed.history, "intra")
    ratio = sweeps.final_means(closed.history, "ratio")
    assert intra.idxmax() == "infonce" and tradeoff.best_loss(closed.summary) == "infonce"
    for loss in GRANULAR:
        assert ratio["infonce"] > ratio[loss] and intra["infonce"] > intra[loss]


def test_the_transfer_readings_hold_on_the_zero_shot_study(summaries):
    """Spectral decay correlates negatively with R@1 on the unseen classes, its interval below 0; within-class
    rank and π-ratio positively, intervals above 0; intra's interval includes 0 ("spread, not amount")."""
    correlations = transfer_correlations(summaries["zero-shot"], n_boot=2000, seed=0)  # as the chapter
    decay = tradeoff.transfer_row(correlations, "train_spectral_decay")
    assert decay["rho"] < 0 and decay["high"] < 0
    for measure in ("train_within_class_rank", "train_pi_ratio"):
        assert tradeoff.transfer_row(correlations, measure)["low"] > 0, measure
    intra = tradeoff.transfer_row(correlations, "train_intra")
    assert intra["low"] <= 0 <= intra["high"]


# ------------------------------------------------------------------------------------------ robustness
def test_the_granularity_verdicts_are_robust_and_the_speed_verdicts_flip():
    table = score_robustness(results.load("robustness").summary)
    column = table["measurement"].str.split(":").str[0]
    for measure in ("intra", "ratio", "recall@1"):
        assert table.loc[column == measure, "robust"].all(), measure
        row = table[column == measure].iloc[0]  # "on this closed set they are *mixed* at every point"
        assert (row["low"], row["default"], row["high"]) == ("mixed",) * 3, measure
    for measure in ("compaction_epoch", "ratio_compaction_epoch", "convergence_epoch", "map_convergence_epoch"):
        assert not table.loc[column == measure, "robust"].any(), measure
    greed = table[column == "effective_active_ratio"].iloc[0]
    assert (greed["low"], greed["high"]) == ("not reproduced", "reproduced")


# ------------------------------------------------------------------------------------------ glued phrases
def test_the_phrases_read_as_written_on_the_packaged_studies():
    summaries = {p: results.load(n).summary for p, n in tradeoff.PROTOCOL_STUDIES.items()}
    row = tradeoff.transfer_row(transfer_correlations(summaries["zero-shot"], n_boot=50))
    phrases = [
        tradeoff.best_text(summaries),
        tradeoff.verdicts_text(tradeoff.granularity_table(summaries)),
        tradeoff.rho_text(row),
        tradeoff.roth_text(row),
        tradeoff.rule_text(summaries["zero-shot"]),
        tradeoff.roth_sign_text(-0.9),
        sweeps.pushed_text(0.07),
    ]
    for phrase in phrases:
        assert text_problems(phrase) == [], phrase
