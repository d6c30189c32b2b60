"""The training engine: sampler, config, the loop for all seven losses, greediness tracking, resume, the
study's output folder and the ``vgteach study`` command line."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
import torch

from vgteach.cli import main as cli_main
from vgteach.diagnostics import geometry_stats, gini, per_sample_grad_norms, variance_stats
from vgteach.diagnostics.gini import gini_tensor, sort_last_dim
from vgteach.losses import LOSS_NAMES, build_loss
from vgteach.track import GreedinessTracker, StepStore
from vgteach.training import MPerClassBatches, TrainConfig, make_config, run_study, train
from vgteach.training import speeds as speeds_module
from vgteach.training import trainer as trainer_module
from vgteach.training.config import PROFILES, evaluation_epochs
from vgteach.training.trainer import GREEDINESS_COLUMNS

TIMING = ["epoch_time_s"]


@pytest.fixture(scope="module")
def digits_runs():
    """One smoke run per loss (shared by several tests: training is the slow part)."""
    return {
        name: train(make_config("smoke", dataset="digits", loss=name, keep_embeddings=True), progress=False)
        for name in LOSS_NAMES
    }


# -- sampler ------------------------------------------------------------------------------------------------
def test_sampler_gives_every_class_at_least_m_samples_per_batch():
    labels = torch.arange(300) % 12
    sampler = MPerClassBatches(labels, batch_size=64, m_per_class=4, seed=0)
    for batch in sampler.epoch(1):
        counts = torch.bincount(labels[batch])
        present = counts[counts > 0]
        assert len(batch) == sampler.batch_len <= 64
        assert present.min() >= 4 and len(present) == sampler.classes_per_batch


def test_sampler_with_few_classes_fills_the_batch_evenly():
    labels = torch.arange(1257) % 10  # digits-like: 10 classes, batch 512
    sampler = MPerClassBatches(labels, batch_size=512, m_per_class=4, seed=0)
    batch = sampler.epoch(1)[0]
    assert len(batch) == 510 and torch.bincount(labels[batch]).tolist() == [51] * 10


def test_sampler_is_a_function_of_seed_and_epoch_and_covers_the_data():
    labels = torch.randint(0, 7, (500,), generator=torch.Generator().manual_seed(0))
    a, b = MPerClassBatches(labels, 70, 5, seed=3), MPerClassBatches(labels, 70, 5, seed=3)
    assert all(torch.equal(x, y) for x, y in zip(a.epoch(2), b.epoch(2)))
    assert not all(torch.equal(x, y) for x, y in zip(a.epoch(2), a.epoch(3)))
    seen = torch.cat(a.epoch(1)).unique()
    assert len(seen) >= 0.85 * len(labels)  # without replacement within a class pool


def test_sampler_rejects_a_single_class():
    with pytest.raises(ValueError, match="at least 2 classes"):
        MPerClassBatches(torch.zeros(10, dtype=torch.long), 8, 2)


# -- config -------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "field, value, word",
    [
        ("dataset", "mnist", "dataset"),
        ("loss", "hinge", "loss"),
        ("backbone", "vgg", "backbone"),
        ("epochs", 0, "epochs"),
        ("batch_size", 4, "batch_size"),
        ("lr", -1.0, "lr"),
        ("head", "deep", "head"),
        ("seed", -1, "seed"),
    ],
)
def test_bad_config_names_the_field(field, value, word):
    with pytest.raises(ValueError, match=word):
        make_config("smoke", **{field: value})


def test_profiles_and_roundtrip():
    paper = make_config("paper")
    assert (paper.lr, paper.batch_size, paper.epochs, paper.embedding_dim) == (1e-4, 512, 100, 128)
    assert TrainConfig.from_dict(paper.to_dict()) == paper
    with pytest.raises(ValueError, match="profile"):
        make_config("huge")
    with pytest.raises(ValueError, match="unknown config fields"):
        TrainConfig.from_dict({"epochz": 3})


# -- the loop -----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", LOSS_NAMES)
def test_every_loss_trains_and_reports_finite_metrics(digits_runs, name):
    result = digits_runs[name]
    history = result.history
    assert history["epoch"].tolist() == [0, 1, 2, 3]
    columns = [
        "train_loss",
        "active_ratio",
        "grad_norm_mean",
        "grad_gini",
        "head_grad_norm",
        "recall@1",
        "map@r",
        "intra",
        "inter",
        "ratio",
        "centroid_dist_cv",
        "alignment",
        "uniformity",
        "nc1",
    ]
    assert np.isfinite(history[columns].to_numpy()).all()
    assert 0 <= history["active_ratio"].min() and history["active_ratio"].max() <= 1
    assert result.summary["recall@1"] > 0.8  # digits is easy: a broken loop would not get there
    assert set(result.embeddings) == {0, 1, 2, 3} and result.embeddings[3].shape == (540, 128)
    if result.loss_fn.proxies is not None:
        assert np.isfinite(history["proxy_grad_norm"]).all() and (history["proxy_grad_norm"] > 0).all()
    else:
        assert history["proxy_grad_norm"].isna().all()


def test_proxies_are_optimised_with_the_head(digits_runs):
    fresh = trainer_module.build_loss_for(make_config("smoke", loss="arcface"), 10)
    trained = digits_runs["arcface"].loss_fn
    assert not torch.allclose(fresh.weight, trained.weight.cpu())


def test_training_moves_the_geometry(digits_runs):
    h = digits_runs["supcon"].history
    assert h["inter"].iloc[-1] > h["inter"].iloc[0]  # classes separate
    assert h["map@r"].iloc[-1] > h["map@r"].iloc[0]


# -- speeds relative to the untrained head (DESIGN.md §3) ---------------------------------------------------
def loop_speeds(history):
    """The speeds by their DESIGN.md §3 and §5 definitions, one evaluated epoch at a time (float64); the
    compaction epochs only where the measure falls (NaN otherwise)."""

    def evaluated(column):
        return [(int(e), float(v)) for e, v in zip(history["epoch"], history[column]) if not math.isnan(v)]

    def first(column, reached):
        points = evaluated(column)
        start, final = points[0][1], points[-1][1]
        for epoch, value in points:
            if reached(value, start, final):
                return epoch

    def converged(value, start, final):
        return value - start >= 0.9 * (final - start)

    def compacted(column):
        points = evaluated(column)
        if not points[-1][1] < points[0][1]:
            return math.nan  # rises or stays: "does not compact"
        return first(column, lambda v, start, final: v - final <= 0.1 * (start - final))

    def change(column):
        points = evaluated(column)
        return points[-1][1] - points[0][1]

    return {
        "convergence_epoch": first("recall@1", converged),
        "map_convergence_epoch": first("map@r", converged),
        "compaction_epoch": compacted("intra"),
        "intra_change": change("intra"),
        "ratio_compaction_epoch": compacted("ratio"),
        "ratio_change": change("ratio"),
    }


def speeds(history):
    return {
        "convergence_epoch": speeds_module.convergence_epoch(history),
        "map_convergence_epoch": speeds_module.map_convergence_epoch(history),
        "compaction_epoch": speeds_module.compaction_epoch(history),
        "intra_change": speeds_module.intra_change(history),
        "ratio_compaction_epoch": speeds_module.ratio_compaction_epoch(history),
        "ratio_change": speeds_module.ratio_change(history),
    }


NAN = math.nan
#: hand-made histories (epoch 0 = the untrained head; NaN = not evaluated) and their speeds, worked out by hand
HAND_MADE = {
    # R@1 starts at 0.97 (digits-like): 90 % of the *final* value is reached at epoch 0, but 90 % of the
    # gain (0.02) only at epoch 4; intra shrinks 0.9 → 0.1, within 0.08 of the end at epoch 4; the ratio
    # first rises, then falls 1.0 → 0.4, within 0.06 of the end at epoch 3
    "saturated start, compacting": (
        dict(
            epoch=[0, 1, 2, 3, 4, 5],
            **{
                "recall@1": [0.97, 0.975, 0.98, 0.985, 0.989, 0.99],
                "map@r": [0.50, 0.70, 0.80, 0.87, 0.88, 0.90],
                "intra": [0.9, 0.5, 0.3, 0.2, 0.12, 0.1],
                "ratio": [1.0, 1.2, 0.9, 0.45, 0.42, 0.4],
            },
        ),
        dict(
            convergence_epoch=4,
            map_convergence_epoch=3,
            compaction_epoch=4,
            intra_change=-0.8,
            ratio_compaction_epoch=3,
            ratio_change=-0.6,
        ),
    ),
    # InfoNCE-like: intra RISES 0.46 → 0.54 (settled at epoch 3, but it spread: no compaction epoch) while
    # the ratio falls 3.3 → 0.55 (the cloud unfolds: inter grows faster), within 0.275 of the end at epoch 2;
    # epochs 4-9 not evaluated, so the MAP@R crossing between epochs 3 and 10 is seen at 10
    "spreading, sparse schedule": (
        dict(
            epoch=list(range(11)),
            **{
                "recall@1": [0.5, 0.6, 0.8, 0.93] + [NAN] * 6 + [0.96],
                "map@r": [0.14, 0.2, 0.3, 0.4] + [NAN] * 6 + [0.48],
                "intra": [0.46, 0.50, 0.53, 0.535] + [NAN] * 6 + [0.54],
                "ratio": [3.3, 1.0, 0.6, 0.57] + [NAN] * 6 + [0.55],
            },
        ),
        dict(
            convergence_epoch=3,
            map_convergence_epoch=10,
            compaction_epoch=NAN,
            intra_change=0.08,
            ratio_compaction_epoch=2,
            ratio_change=-2.75,
        ),
    ),
    # nothing changes (final == epoch 0): the convergence epochs are 0 (nothing to wait for), the changes 0,
    # and nothing compacts (NaN)
    "no change": (
        dict(epoch=[0, 1, 2], **{"recall@1": [0.8] * 3, "map@r": [0.4] * 3, "intra": [0.3] * 3, "ratio": [0.5] * 3}),
        dict(
            convergence_epoch=0,
            map_convergence_epoch=0,
            compaction_epoch=NAN,
            intra_change=0.0,
            ratio_compaction_epoch=NAN,
            ratio_change=0.0,
        ),
    ),
    # R@1 ends below where it started: no gain to wait for (0); an intra that overshoots (0.1 at epoch 1,
    # below its final 0.3) has compacted by epoch 1 (DESIGN §3's one-sided rule); the ratio rises: none
    "worse at the end, overshoot": (
        dict(
            epoch=[0, 1, 2, 3],
            **{
                "recall@1": [0.9, 0.95, 0.7, 0.8],
                "map@r": [0.3, 0.2, 0.5, 0.4],
                "intra": [0.5, 0.1, 0.35, 0.3],
                "ratio": [0.2, 0.1, 0.3, 0.4],
            },
        ),
        dict(
            convergence_epoch=0,
            map_convergence_epoch=2,
            compaction_epoch=1,
            intra_change=-0.2,
            ratio_compaction_epoch=NAN,
            ratio_change=0.2,
        ),
    ),
}
CHANGES = ("intra_change", "ratio_change")


@pytest.mark.parametrize("name", HAND_MADE)
def test_speeds_on_hand_made_histories(name):
    columns, expected = HAND_MADE[name]
    history = pd.DataFrame(columns)
    got = speeds(history)
    assert loop_speeds(history) == pytest.approx(expected, abs=1e-12, nan_ok=True)  # the hand-worked numbers
    assert got == pytest.approx(expected, abs=1e-12, nan_ok=True), got
    assert all(isinstance(got[k], int) or math.isnan(got[k]) for k in expected if k not in CHANGES)


def test_compaction_epochs_are_signed():
    """DESIGN.md §3: only a measure that falls has a compaction epoch, the first evaluated epoch within
    10 % of its fall; one that rises or stays has none (NaN, "does not compact") — the same rule on intra
    and on the ratio intra/inter, each read on its own column."""
    falls = [0.8, 0.5, 0.42, 0.41, 0.4]  # fall 0.4: within 0.04 of the end from epoch 2 on
    rises = [0.4, 0.6, 0.7, 0.79, 0.8]
    for intra, ratio, expected in ((falls, rises, (2, NAN)), (rises, falls, (NAN, 2)), (rises, rises, (NAN, NAN))):
        history = pd.DataFrame({"epoch": range(5), "intra": intra, "ratio": ratio})
        got = (speeds_module.compaction_epoch(history), speeds_module.ratio_compaction_epoch(history))
        assert got == pytest.approx(expected, nan_ok=True)
        assert speeds_module.ratio_change(history) == pytest.approx(ratio[-1] - ratio[0])
    late = pd.DataFrame({"epoch": range(4), "intra": [0.8, 0.3, 0.79, 0.5]})  # undershoots, then relaxes
    assert speeds_module.compaction_epoch(late) == 1  # 0.3 − 0.5 ≤ 0.03: compacted (more than at the end)
    slow = pd.DataFrame({"epoch": range(4), "intra": [0.8, 0.79, 0.6, 0.5]})
    assert speeds_module.compaction_epoch(slow) == 3  # 0.6 − 0.5 = 0.1 > 0.03: not yet within 10 %


def test_speeds_match_the_loop_reference_on_random_histories():
    rng = np.random.default_rng(0)
    for trial in range(200):
        epochs = int(rng.integers(1, 30))
        measured = ("recall@1", "map@r", "intra", "ratio")
        history = pd.DataFrame({"epoch": np.arange(epochs + 1), **{c: rng.random(epochs + 1) for c in measured}})
        skipped = rng.random(epochs + 1) < 0.4
        skipped[[0, -1]] = False  # always evaluated
        history.loc[skipped, list(measured)] = np.nan
        assert speeds(history) == pytest.approx(loop_speeds(history), rel=0, abs=1e-15, nan_ok=True), trial


def test_speeds_need_epoch_0_and_are_nan_without_evaluations():
    late = pd.DataFrame({"epoch": [1, 2], "recall@1": [0.5, 0.6], "map@r": [0.1, 0.2], "intra": [0.3, 0.2]})
    with pytest.raises(ValueError, match="epoch 0"):
        speeds_module.convergence_epoch(late)
    unevaluated = pd.DataFrame({"epoch": [0, 1], "train_loss": [1.0, 0.5]})  # a non-main rank's history
    assert all(math.isnan(v) for v in speeds(unevaluated).values())


def test_the_summary_holds_the_speeds_of_the_history(digits_runs):
    for name in ("contrastive", "infonce"):
        history, summary = digits_runs[name].history, digits_runs[name].summary
        assert history.loc[history["epoch"] == 0, ["recall@1", "map@r", "intra"]].notna().all(axis=None)
        got = {k: summary[k] for k in HAND_MADE["no change"][1]}
        assert got == pytest.approx(loop_speeds(history), nan_ok=True)


# -- VARIANCE of the training split (DESIGN.md §3) -----------------------------------------------------------
def test_training_split_measures_are_the_diagnostics_of_its_fixed_sample():
    """Every evaluated epoch records train_intra … train_pi_ratio: variance_stats and geometry_stats of the
    head's embeddings of training_sample's rows, with the training labels."""
    config = make_config("smoke", dataset="blobs", loss="triplet", epochs=2, eval_epochs=[0, 2])
    result = train(config, progress=False)
    x_train, y_train, _, _ = trainer_module.load_data(config, progress=False)
    sample = trainer_module.training_sample(y_train)
    z = trainer_module.embed(result.model, x_train[sample], torch.device("cpu"), False)
    expected = {**variance_stats(z, y_train[sample]), **geometry_stats(z, y_train[sample])}
    for name in trainer_module.TRAIN_MEASURES:
        assert result.summary[f"train_{name}"] == pytest.approx(expected[name], rel=1e-6, abs=1e-12), name
    columns = [f"train_{name}" for name in trainer_module.TRAIN_MEASURES]
    evaluated = result.history["epoch"].isin([0, 2])
    assert result.history.loc[evaluated, columns].notna().all(axis=None)
    assert result.history.loc[~evaluated, columns].isna().all(axis=None)  # epoch 1 is not evaluated
    assert not np.allclose(result.history.loc[evaluated, "train_intra"], result.summary["train_intra"])  # it moved


def test_the_training_sample_is_class_balanced_and_fixed():
    labels = torch.cat([torch.full((n,), k) for k, n in enumerate([5, 9, 20])])[torch.randperm(34)]
    small = trainer_module.training_sample(labels, max_rows=12)
    assert torch.bincount(labels[small]).tolist() == [4, 4, 4]  # 12 // 3 a class
    whole = trainer_module.training_sample(labels, max_rows=100)
    assert torch.bincount(labels[whole]).tolist() == [5, 5, 5]  # the smallest class sets the share
    torch.manual_seed(1)
    again = trainer_module.training_sample(labels, max_rows=12)
    assert torch.equal(small, again) and torch.equal(small, small.sort().values)  # not the global random state
    base = make_config("smoke", dataset="cifar10-features", protocol="coarse-to-fine", epochs=1)
    data = trainer_module.load_data(base, progress=False)
    runs = [
        trainer_module.start_run(base.replace(loss=loss, seed=seed), data)
        for loss, seed in [("ccl", 0), ("triplet", 3)]
    ]
    assert torch.equal(runs[0].train_sample, runs[1].train_sample)  # every loss and seed of a study
    assert torch.bincount(data[1][runs[0].train_sample]).tolist() == [4000, 4000]  # vehicles set the share
    for protocol, share in (("closed", [1000] * 10), ("zero-shot", [1000] * 5)):
        y_train = trainer_module.load_data(base.replace(protocol=protocol), progress=False)[1]
        assert torch.bincount(y_train[trainer_module.training_sample(y_train)]).tolist() == share


# -- the evaluation schedule --------------------------------------------------------------------------------
def test_default_schedule_is_the_design_one_for_every_profile():
    expected = [*range(11), 15, 20, 25, 30, 35, 40, 45, 50, 60, 70, 80, 90, 100]
    assert list(evaluation_epochs(100)) == expected
    assert list(evaluation_epochs(57)) == [*range(11), 15, 20, 25, 30, 35, 40, 45, 50, 57]  # last always
    for profile in PROFILES:
        config = make_config(profile)
        assert config.eval_epochs == "default"
        assert list(config.evaluated_epochs()) == [e for e in expected if e < config.epochs] + [config.epochs]
    assert evaluation_epochs(12, 5) == (0, 5, 10, 12)
    assert evaluation_epochs(12, [7, np.int64(3), 3]) == (0, 3, 7, 12)


@pytest.mark.parametrize(
    "value, error, words",
    [
        ("weekly", ValueError, "schedule"),
        (0, ValueError, "n >= 1"),
        ([1, 40], ValueError, "between 0 and"),
        ([1.5], ValueError, "between 0 and"),
        (2.0, TypeError, "eval_epochs"),
        (True, TypeError, "eval_epochs"),
    ],
)
def test_bad_schedule_names_the_field(value, error, words):
    with pytest.raises(error, match=words):
        make_config("smoke", epochs=30, eval_epochs=value)


def test_schedule_roundtrips_and_resumes(tmp_path):
    config = make_config("smoke", dataset="blobs", loss="triplet", epochs=3, eval_epochs=[2, 2])
    assert config.eval_epochs == (2,)
    assert TrainConfig.from_dict(json.loads(json.dumps(config.to_dict()))) == config
    legacy = {k: v for k, v in config.to_dict().items() if k != "eval_epochs"}
    assert TrainConfig.from_dict({**legacy, "eval_every": 2}).evaluated_epochs() == (0, 2, 3)
    result = train(config, progress=False, checkpoint=tmp_path / "c.pt")
    assert result.history.dropna(subset=["recall@1"])["epoch"].tolist() == [0, 2, 3]
    resumed = train(config.replace(), progress=False, checkpoint=tmp_path / "c.pt", resume=True)
    pd.testing.assert_frame_equal(result.history, resumed.history)


def test_a_run_reads_its_config_whole_and_asks_the_registry_once(monkeypatch):
    """One InputSpec per run, from one registry lookup, loads both splits: the training split limited to
    ``max_per_class``, the evaluation split whole (as ``load_inputs`` would give them)."""
    from vgteach import inputs
    from vgteach.data import registry
    from vgteach.inputs import load_inputs

    config = make_config("smoke", dataset="digits", loss="triplet", epochs=1, max_per_class=20)
    looked_up, real = [], registry.get_spec

    def counting(name):
        looked_up.append(name)
        return real(name)

    monkeypatch.setattr(registry, "get_spec", counting)
    monkeypatch.setattr(inputs, "get_spec", counting)
    x_train, y_train, x_eval, y_eval = trainer_module.load_data(config, progress=False)
    assert looked_up == ["digits"]
    assert torch.equal(x_train, load_inputs("digits", "train", max_per_class=20)[0])
    assert torch.bincount(y_train).tolist() == [20] * 10 and torch.equal(y_eval, load_inputs("digits", "test")[1])
    looked_up.clear()
    train(config, progress=False)
    assert looked_up == ["digits"]


def test_same_config_same_numbers():
    config = make_config("smoke", dataset="blobs", loss="infonce", epochs=2)
    a, b = train(config, progress=False), train(config, progress=False)
    pd.testing.assert_frame_equal(a.history.drop(columns=TIMING), b.history.drop(columns=TIMING))


# -- greediness tracking ------------------------------------------------------------------------------------
def test_gini_tensor_matches_diagnostics():
    values = torch.rand(257, generator=torch.Generator().manual_seed(1))
    assert math.isclose(float(gini_tensor(values)), gini(values), rel_tol=1e-6)
    assert float(gini_tensor(torch.zeros(5))) == 0.0
    rows = torch.rand(3, 40, generator=torch.Generator().manual_seed(2))
    torch.testing.assert_close(gini_tensor(rows.sort(dim=1).values, is_sorted=True), gini_tensor(rows))
    rows[1, 5] = float("nan")
    for dtype in (torch.float32, torch.float64, torch.bfloat16):  # NumPy path, and torch's for bfloat16
        torch.testing.assert_close(sort_last_dim(rows.to(dtype)), rows.to(dtype).sort(dim=-1).values, equal_nan=True)


def test_tracking_does_not_change_training():
    """``track=False`` (the bare steps the overhead benchmark compares with) trains to the same numbers;
    its history keeps the epoch's mean loss and leaves the greediness columns NaN."""
    config = make_config("smoke", dataset="blobs", loss="arcface", epochs=2)
    tracked, bare = train(config, progress=False), train(config, progress=False, track=False)
    evaluated = [c for c in tracked.history if c not in GREEDINESS_COLUMNS and c not in TIMING]
    pd.testing.assert_frame_equal(tracked.history[evaluated], bare.history[evaluated])
    np.testing.assert_allclose(bare.history["train_loss"], tracked.history["train_loss"], rtol=1e-6)
    assert bare.history[[k for k in GREEDINESS_COLUMNS if k != "train_loss"]].isna().all().all()
    assert math.isnan(bare.summary["active_ratio_mean"]) and bare.summary["recall@1"] == tracked.summary["recall@1"]


@pytest.mark.parametrize("name", ["triplet", "infonce", "ccl"])
def test_tracked_step_equals_greediness_of_that_batch(name):
    config = make_config("smoke", dataset="blobs", loss=name)
    x, y = config.input_spec(progress=False).load("train")
    model = trainer_module.build_model(config, x)
    loss_fn = trainer_module.build_loss_for(config, 10)
    batch = MPerClassBatches(y, 64, 4).epoch(1)[0]
    expected = per_sample_grad_norms(loss_fn, model(x[batch]).detach(), y[batch])
    tracker = GreedinessTracker(loss_fn, model)
    optimizer = torch.optim.SGD([*model.parameters(), *loss_fn.parameters()], lr=0.0)
    out = trainer_module.train_step(model, loss_fn, optimizer, x[batch], y[batch], False, tracker, update=False)
    assert torch.allclose(tracker.last_sample_grad_norms, expected, rtol=1e-5, atol=1e-9)
    row = tracker.end_epoch()
    assert math.isclose(row["grad_norm_mean"], float(expected.mean()), rel_tol=1e-5)
    assert math.isclose(row["grad_gini"], gini(expected), rel_tol=1e-4, abs_tol=1e-7)
    assert math.isclose(row["active_ratio"], float(out.num_active) / float(out.num_terms), rel_tol=1e-6)
    head_norm = torch.cat([p.grad.flatten() for p in model.parameters()]).norm()
    assert math.isclose(row["param_grad_norm"], float(head_norm), rel_tol=1e-5)


def test_tracker_epoch_means_are_the_means_of_each_steps_statistics():
    """Steps of different batch sizes (odd and even), and a step whose proxies got no gradient (as when a
    loss's graph does not reach them), are averaged like separate steps: each statistic computed directly,
    then meaned."""
    torch.manual_seed(0)
    model = torch.nn.Linear(6, 4)
    loss_fn = build_loss("arcface", num_classes=3, embedding_dim=4)
    tracker, expected = GreedinessTracker(loss_fn, model), []
    batches = [
        (torch.randn(12, 6), torch.arange(12) % 3),
        (torch.randn(7, 6), torch.arange(7) % 3),
        (torch.randn(5, 6), torch.zeros(5, dtype=torch.long)),
        (torch.randn(12, 6), torch.arange(12) % 3),
    ]
    for x, y in batches:
        model.zero_grad(set_to_none=True)
        loss_fn.zero_grad(set_to_none=True)
        norms = per_sample_grad_norms(loss_fn, model(x).detach(), y).numpy()
        loss = tracker(model(x), y)
        loss.backward()
        if len(x) == 5:
            for p in loss_fn.parameters():
                p.grad = None
        tracker.step()
        proxy_grads = [p.grad.flatten() for p in loss_fn.parameters() if p.grad is not None]
        expected.append(
            {
                "loss": float(loss.detach()),
                "grad_norm_max": float(norms.max()),
                "grad_gini": gini(norms),
                "grad_norm_median": float(np.median(norms)),  # the usual median: even B averages two norms
                "param_grad_norm": float(torch.cat([p.grad.flatten() for p in model.parameters()]).norm()),
                "proxy_grad_norm": float(torch.cat(proxy_grads).norm()) if proxy_grads else 0.0,
            }
        )
    assert tracker.steps == len(batches)
    row = tracker.end_epoch()
    for key in expected[0]:
        assert math.isclose(row[key], float(np.mean([e[key] for e in expected])), rel_tol=1e-5, abs_tol=1e-7), key
    assert any(e["proxy_grad_norm"] == 0.0 for e in expected)  # the degenerate batch was exercised


def test_tracker_without_proxies_reports_nan_and_empty_epoch_is_nan():
    model = torch.nn.Linear(6, 4)
    loss_fn = build_loss("supcon")
    tracker = GreedinessTracker(loss_fn, model)
    assert tracker.end_epoch() is None and tracker.to_frame().empty
    assert all(math.isnan(v) for v in StepStore("cpu", list(model.parameters()), []).epoch_means().values())
    optimizer = torch.optim.SGD(model.parameters(), lr=0.0)
    trainer_module.train_step(model, loss_fn, optimizer, torch.randn(8, 6), torch.arange(8) % 2, False, tracker)
    row = tracker.end_epoch()
    assert math.isnan(row["proxy_grad_norm"]) and math.isfinite(row["param_grad_norm"]) and row["param_grad_norm"] > 0


def test_a_step_without_any_parameter_gradient_is_recorded_as_zero():
    """No parameter with a gradient (a frozen model, or embeddings that do not come from the model): the
    parameter-gradient norm of the step is 0, not a failure of ``torch._foreach_norm`` on an empty list."""
    frozen = torch.nn.Linear(6, 4).requires_grad_(False)
    store = StepStore("cpu", list(frozen.parameters()), [])
    store.record(torch.tensor(0.5), torch.ones(8))
    row = store.epoch_means()
    assert row["param_grad_norm"] == 0.0 and row["loss"] == 0.5 and math.isnan(row["active_ratio"])
    loss_fn = build_loss("supcon")
    for model in (frozen, torch.nn.Linear(6, 4)):  # frozen; trainable, but not on the loss's path
        tracker = GreedinessTracker(loss_fn, model)
        tracker(torch.randn(8, 4, requires_grad=True), torch.arange(8) % 2).backward()
        tracker.step()
        row = tracker.end_epoch()
        assert row["param_grad_norm"] == 0.0 and math.isnan(row["proxy_grad_norm"]) and row["grad_norm_mean"] > 0


# -- checkpoints and resume ---------------------------------------------------------------------------------
def test_resume_after_a_kill_gives_the_same_numbers(tmp_path, monkeypatch):
    config = make_config("smoke", dataset="digits", loss="arcface", epochs=4, keep_embeddings=True)
    full = train(config, progress=False, checkpoint=tmp_path / "full.pt")

    real_save = trainer_module.save_checkpoint

    def save_then_die(path, cfg, epoch, *args):
        real_save(path, cfg, epoch, *args)
        if epoch == 2:
            raise KeyboardInterrupt("killed after epoch 2")

    monkeypatch.setattr(trainer_module, "save_checkpoint", save_then_die)
    with pytest.raises(KeyboardInterrupt):
        train(config, progress=False, checkpoint=tmp_path / "killed.pt")
    monkeypatch.setattr(trainer_module, "save_checkpoint", real_save)
    state = torch.load(tmp_path / "killed.pt", weights_only=True)
    assert state["epoch"] == 2
    resumed = train(config, progress=False, checkpoint=tmp_path / "killed.pt", resume=True)
    pd.testing.assert_frame_equal(full.history.drop(columns=TIMING), resumed.history.drop(columns=TIMING))
    assert torch.equal(full.loss_fn.weight, resumed.loss_fn.weight)
    assert np.array_equal(full.embeddings[4], resumed.embeddings[4])


def test_resume_refuses_a_checkpoint_of_another_config(tmp_path):
    train(make_config("smoke", loss="triplet", epochs=1), progress=False, checkpoint=tmp_path / "c.pt")
    with pytest.raises(ValueError, match="different configuration"):
        train(make_config("smoke", loss="supcon", epochs=1), progress=False, checkpoint=tmp_path / "c.pt", resume=True)


def test_train_rejects_a_non_config():
    with pytest.raises(TypeError, match="TrainConfig"):
        train({"loss": "triplet"})


# -- study and command line ---------------------------------------------------------------------------------
def test_study_writes_tables_figures_and_report(tmp_path, monkeypatch):
    out = tmp_path / "study"
    summary = run_study(
        dataset="digits", losses=("triplet", "ccl"), seeds=(0, 1), profile="smoke", out=out, progress=False, epochs=2
    )
    assert sorted(summary["loss"].unique()) == ["ccl", "triplet"] and len(summary) == 4
    history = pd.read_csv(out / "history.csv")
    assert len(history) == 2 * 2 * 3 and {"loss", "seed", "epoch", "recall@1", "active_ratio"} <= set(history)
    by_loss = pd.read_csv(out / "summary_by_loss.csv")
    assert by_loss["loss"].tolist() == ["triplet", "ccl"]
    expected = summary[summary["loss"] == "ccl"]["recall@1"]
    # the CSVs keep six significant digits
    assert math.isclose(by_loss.set_index("loss").loc["ccl", "recall@1"], expected.mean(), rel_tol=1e-5)
    assert math.isclose(by_loss.set_index("loss").loc["ccl", "recall@1_std"], expected.std(ddof=1), rel_tol=1e-5)
    report = (out / "report.md").read_text()
    for figure in (
        "learning_curves.png",
        "greediness_curves.png",
        "grad_norms.png",
        "projections.png",
        "recall_vs_intra.png",
    ):
        assert f"]({figure})" in report and (out / figure).stat().st_size > 1000
    assert "| triplet |" in report and "±" in report
    assert not list(out.rglob("*.tmp*"))  # atomic writes leave no temporaries
    meta = json.loads((out / "study.json").read_text())
    assert meta["config"]["protocol"] == "closed" and meta["protocol"]["eval_classes"] == [str(d) for d in range(10)]
    assert meta["protocol"]["description"] in report
    assert {"ratio_change", "ratio_compaction_epoch", "train_intra", "train_pi_ratio"} <= set(summary.columns)

    # resume: finished runs are read back, not retrained
    monkeypatch.setattr("vgteach.training.study.train", lambda *a, **k: pytest.fail("retrained a finished run"))
    again = run_study(
        dataset="digits",
        losses=("triplet", "ccl"),
        seeds=(0, 1),
        profile="smoke",
        out=out,
        progress=False,
        epochs=2,
        resume=True,
    )
    pd.testing.assert_frame_equal(again, summary, check_dtype=False)


@pytest.mark.parametrize(
    "protocol, trained, scored",
    [
        ("zero-shot", "airplane, automobile, bird, cat and deer", "dog, frog, horse, ship and truck"),
        ("coarse-to-fine", "vehicles = airplane, automobile, ship and truck", "airplane, automobile, bird"),
    ],
)
def test_a_study_under_a_protocol_says_so_everywhere(protocol, trained, scored, tmp_path):
    out = tmp_path / protocol
    summary = run_study(
        losses=("arcface",), protocol=protocol, profile="smoke", out=out, progress=False, epochs=1, max_per_class=50
    )
    meta = json.loads((out / "study.json").read_text())
    assert meta["config"]["protocol"] == protocol and meta["protocol"]["name"] == protocol
    report = (out / "report.md").read_text()
    assert f"Protocol `{protocol}`" in report and trained in report and scored in report
    history = pd.read_csv(out / "history.csv")
    assert history[["recall@1", "train_intra", "train_spectral_decay"]].notna().all(axis=None)
    assert np.isfinite(summary["ratio_change"]).all()


def test_cli_study_runs_and_writes_the_report(tmp_path, capsys):
    out = tmp_path / "cli"
    code = cli_main(
        [
            "study",
            "--profile",
            "smoke",
            "--losses",
            "contrastive,npair",
            "--epochs",
            "1",
            "--out",
            str(out),
            "--no-progress",
        ]
    )
    assert code == 0 and (out / "report.md").exists()
    assert pd.read_csv(out / "summary.csv")["loss"].tolist() == ["contrastive", "npair"]
    meta = json.loads((out / "study.json").read_text())
    assert meta["config"]["epochs"] == 1 and meta["losses"] == ["contrastive", "npair"]


@pytest.mark.parametrize(
    "argv, words",
    [
        (["study", "--dataset", "mnist"], ["unknown dataset 'mnist'", "digits", "cifar10"]),
        (["study", "--losses", "triplet,hinge"], ["unknown loss 'hinge'", "supcon"]),
        (["study", "--epochs", "0"], ["positive integer"]),
        (["study", "--seeds", "a,b"], ["seeds"]),
        (["study", "--profile", "huge"], ["unknown profile"]),
        (["frobnicate"], ["invalid choice"]),
        (["study", "--eval-epochs", "weekly"], ["--eval-epochs", "default"]),
        (["study", "--eval-epochs", "0,5", "--eval-every", "2"], ["not allowed with"]),
    ],
)
def test_cli_bad_arguments_exit_2_with_one_line(argv, words, capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli_main(argv)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    for word in words:
        assert word in err


@pytest.mark.parametrize(
    "argv, expected",
    [
        ([], None),
        (["--eval-epochs", "default"], "default"),
        (["--eval-epochs", "0,5,10"], (0, 5, 10)),
        (["--eval-every", "10"], 10),
    ],
)
def test_cli_passes_the_evaluation_schedule(argv, expected, monkeypatch):
    seen = {}
    monkeypatch.setattr("vgteach.training.run_study", lambda **kwargs: seen.update(kwargs))
    assert cli_main(["study", "--no-progress", "--device", "cpu", *argv]) == 0
    assert seen.get("eval_epochs") == expected


def test_cli_missing_dataset_is_one_line_exit_2(tmp_path, capsys):
    code = cli_main(
        ["study", "--dataset", "cifar10", "--data-root", str(tmp_path), "--no-progress", "--out", str(tmp_path / "o")]
    )
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1 and "cifar" in err.lower()


def test_writing_a_report_leaves_the_sessions_matplotlib_backend_alone(tmp_path):
    """A notebook's inline backend must survive run_study (matplotlib.use('Agg') used to switch it off)."""
    import matplotlib

    previous = matplotlib.get_backend()
    matplotlib.use("svg")
    try:
        run_study(dataset="digits", losses=("supcon", "npair"), profile="smoke", out=tmp_path, progress=False, epochs=1)
        assert matplotlib.get_backend() == "svg"
        assert (tmp_path / "projections.png").exists()
    finally:
        matplotlib.use(previous)


def test_cli_study_without_arguments_trains_on_the_shipped_features(monkeypatch):
    seen = {}
    monkeypatch.setattr("vgteach.training.run_study", lambda **kwargs: seen.update(kwargs))
    assert cli_main(["study", "--no-progress"]) == 0
    assert seen["dataset"] == "cifar10-features" and seen["profile"] == "book"


@pytest.mark.parametrize(
    "profile, dataset, backbone",
    [
        ("smoke", "digits", "identity"),
        ("book", "cifar10-features", "identity"),
        ("paper", "cifar10", "vit_b_32"),
    ],
)
def test_chapter_config_trains_on_the_profiles_data(profile, dataset, backbone):
    from vgteach.training import chapter_config

    config = chapter_config(profile, "triplet", device="cpu")
    assert (config.dataset, config.backbone, config.loss, config.device) == (dataset, backbone, "triplet", "cpu")
    assert config.epochs == make_config(profile).epochs
    assert chapter_config(profile, "npair", dataset="digits").backbone == "identity"  # a reader's own choice
    assert chapter_config(profile, "npair", dataset="cifar10", backbone="resnet18").backbone == "resnet18"
    with pytest.raises(ValueError, match="unknown profile"):
        chapter_config("huge", "triplet")


@pytest.mark.parametrize("loss", ["contrastive", "arcface"])
def test_tracked_step_does_not_keep_its_graph_alive(loss):
    """The hooks on S and on the embeddings must not hold their tensors: a closure over S forms a cycle
    through autograd's C++ graph that Python's gc cannot see, and every tracked step leaked its graph (the
    CIFAR-10 regeneration grew by ~50 MB/s until we found it)."""
    import gc
    import weakref

    from vgteach.training.trainer import loss_step

    torch.manual_seed(0)
    model = torch.nn.Linear(8, 4)
    loss_fn = build_loss(loss, num_classes=3, embedding_dim=4)
    tracker = GreedinessTracker(loss_fn, model, effective_every=1)  # both hooks, on S too
    out = loss_step(model, loss_fn, torch.randn(12, 8), torch.arange(12) % 3, amp=False, tracker=tracker)
    tracker.step()
    assert 0 < tracker.end_epoch()["effective_active_ratio"] <= 1  # the hook on S ran
    alive = weakref.ref(out.similarity.matrix)
    del out
    gc.collect()
    assert alive() is None


def test_pyplot_free_figures_display_as_images_in_ipython():
    """A kernel that never imports pyplot still shows vgteach's figures as PNG, not '<Figure size ...>'."""
    from IPython.core.interactiveshell import InteractiveShell
    from matplotlib.figure import Figure

    from vgteach.training.report import new_figure

    shell = InteractiveShell.instance()
    try:
        shell.display_formatter.formatters["image/png"].type_printers.pop(Figure, None)
        assert "image/png" not in shell.display_formatter.format(Figure())[0]  # the failure this prevents
        fig, ax = new_figure(1, 1, (2, 2))
        ax.plot([0, 1], [1, 0])
        png = shell.display_formatter.format(fig)[0]["image/png"]
        assert png[:4] == b"\x89PNG"
    finally:
        InteractiveShell.clear_instance()


def test_every_evaluation_reads_where_the_loss_aims_its_pull():
    """far_pull_share / pushed_positive_share at each evaluated epoch equal pull_focus of the run's loss on
    its fixed probe batch (epoch 0's first batch); NaN for N-pair, whose S block pull_focus cannot read."""
    from vgteach.diagnostics import pull_focus
    from vgteach.training.trainer import start_run

    config = make_config("smoke", dataset="digits", loss="supcon", eval_epochs=(0, 3))
    result = train(config, progress=False)
    run = start_run(config, progress=False)
    probe = run.sampler.epoch(0)[0]
    assert torch.equal(run.probe_batch, probe)
    with torch.no_grad():
        z = result.model.eval()(run.x_train[probe])
    expected = pull_focus(result.loss_fn, z, run.y_train[probe])
    final = result.history.iloc[-1]
    for name in ("far_pull_share", "pushed_positive_share"):
        assert final[name] == pytest.approx(expected[name], rel=1e-5), name
        assert result.history[name].notna().sum() == 2  # evaluated epochs only
    npair = train(config.replace(loss="npair"), progress=False)
    assert npair.history["far_pull_share"].isna().all()
