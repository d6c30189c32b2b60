"""Grid studies (``run_study(grid=...)``, ``vgteach study --grid``): the grids bracket DESIGN.md's defaults,
each (setting, loss, seed) run trains with its own loss_kwargs in its own folder, the tables carry a
``setting`` column, a killed grid study resumes, and score_robustness reads the result."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from vgteach.cli import build_parser, default_out
from vgteach.cli import main as cli_main
from vgteach.losses import LOSS_NAMES, build_loss
from vgteach.reproduction import CLAIMS, score_robustness
from vgteach.training import grids, run_study
from vgteach.training.study import validate_grid

#: DESIGN.md §2's defaults of each loss's main hyper-parameter (§5's robustness grid halves and doubles them)
DESIGN_DEFAULTS = {
    "contrastive": ("margin", 1.0),
    "triplet": ("margin", 0.2),
    "npair": ("scale", 1.0),
    "infonce": ("temperature", 0.1),
    "arcface": ("scale", 64.0),
    "supcon": ("temperature", 0.1),
    "ccl": ("temperature", 0.1),
}


# -- the grids ------------------------------------------------------------------------------------------------
def test_robustness_grid_halves_and_doubles_the_design_defaults():
    grid = grids.grid("robustness")
    assert list(grid) == ["low", "default", "high"]
    for setting, factor in (("low", 0.5), ("default", 1.0), ("high", 2.0)):
        assert list(grid[setting]) == list(LOSS_NAMES)  # every loss at every grid point
        for loss, (name, default) in DESIGN_DEFAULTS.items():
            assert grid[setting][loss] == {name: pytest.approx(factor * default)}, (setting, loss)
    assert grid["low"]["arcface"] == {"scale": 32.0} and grid["high"]["arcface"] == {"scale": 128.0}


def test_temperature_grid_runs_infonce_and_supcon_at_the_same_tau():
    grid = grids.grid("temperature")
    assert list(grid) == ["tau=0.05", "tau=0.1", "tau=0.2", "tau=0.5", "tau=1.0"]
    for setting, per_loss in grid.items():
        tau = float(setting.split("=")[1])
        assert per_loss == {"infonce": {"temperature": tau}, "supcon": {"temperature": tau}}
    assert grids.grid_losses(grid) == ("infonce", "supcon")


@pytest.mark.parametrize("name", list(grids.GRIDS))
def test_every_grid_point_builds_its_loss(name):
    for per_loss in grids.grid(name).values():
        for loss, kwargs in per_loss.items():
            built = build_loss(loss, num_classes=3, embedding_dim=4, **kwargs)
            assert all(getattr(built, key) == value for key, value in kwargs.items())


def test_a_grid_is_a_fresh_copy():
    grids.grid("robustness")["low"]["triplet"]["margin"] = 99.0
    assert grids.grid("robustness")["low"]["triplet"] == {"margin": 0.1}


def test_restricting_a_grid_to_some_losses():
    settings = validate_grid("robustness", ("supcon", "triplet"))
    assert list(settings) == ["low", "default", "high"]
    assert all(list(per_loss) == ["triplet", "supcon"] for per_loss in settings.values())  # LOSS_NAMES order
    assert validate_grid("temperature", "infonce")["tau=0.5"] == {"infonce": {"temperature": 0.5}}


@pytest.mark.parametrize(
    "grid, losses, error, match",
    [
        ("robust", None, ValueError, "unknown grid 'robust'; valid: robustness, temperature"),
        ("temperature", ("contrastive",), ValueError, "no 'contrastive'; its losses: infonce, supcon"),
        ({"a": {"triplet": {"tau": 1}}}, None, ValueError, r"triplet does not take \['tau'\]"),
        ({"a": {"hinge": {}}}, None, ValueError, "unknown loss 'hinge'"),
        ({"../up": {"triplet": {}}}, None, ValueError, "folder-safe"),
        ({"a": {"triplet": 0.1}}, None, TypeError, "must be a dict"),
        ({}, None, TypeError, "non-empty dict"),
    ],
)
def test_bad_grids_are_refused(grid, losses, error, match):
    with pytest.raises(error, match=match):
        validate_grid(grid, losses)


def test_a_grid_and_loss_kwargs_are_not_combined(tmp_path):
    with pytest.raises(ValueError, match="grid or loss_kwargs"):
        run_study(dataset="digits", grid="robustness", loss_kwargs={"margin": 0.1}, out=tmp_path, progress=False)


# -- a grid study, end to end ---------------------------------------------------------------------------------
STUDY = dict(dataset="digits", grid="robustness", losses=("triplet", "supcon"), profile="smoke", epochs=1)


@pytest.fixture(scope="module")
def grid_study(tmp_path_factory):
    """A smoke robustness study of two losses on digits, its six runs in two processes."""
    out = tmp_path_factory.mktemp("grid") / "robustness"
    summary = run_study(out=out, progress=False, figures=False, workers=2, **STUDY)
    return out, summary


def test_the_tables_have_a_setting_column(grid_study):
    out, summary = grid_study
    history = pd.read_csv(out / "history.csv")
    by_loss = pd.read_csv(out / "summary_by_loss.csv")
    pairs = [(s, loss) for s in ("low", "default", "high") for loss in ("triplet", "supcon")]
    assert list(zip(summary["setting"], summary["loss"])) == pairs  # the order of the runs
    assert list(zip(by_loss["setting"], by_loss["loss"])) == pairs and (by_loss["num_seeds"] == 1).all()
    assert summary.columns[0] == by_loss.columns[0] == "setting"
    assert len(history) == 6 * 2 and set(history.groupby(["setting", "loss", "seed"]).size()) == {2}
    pd.testing.assert_frame_equal(pd.read_csv(out / "summary.csv"), summary, check_dtype=False, rtol=1e-5)


def test_each_setting_trains_with_its_own_hyperparameters(grid_study):
    out, _ = grid_study
    history = pd.read_csv(out / "history.csv")
    first = history[history["epoch"] == 0].set_index(["loss", "setting"])["train_loss"]
    # the same head and batches (same seed) under a larger margin / temperature: a different loss at epoch 0
    assert first["triplet", "low"] < first["triplet", "default"] < first["triplet", "high"]
    assert len({first["supcon", s] for s in ("low", "default", "high")}) == 3
    for setting in ("low", "default", "high"):  # one folder per (setting, loss, seed), with its checkpoint
        for loss in ("triplet", "supcon"):
            assert (out / "runs" / setting / "runs" / f"{loss}-seed0" / "checkpoint.pt").is_file()


def test_study_json_describes_the_grid(grid_study):
    out, _ = grid_study
    meta = json.loads((out / "study.json").read_text())
    assert meta["grid"]["name"] == "robustness"
    assert meta["grid"]["settings"] == {
        "low": {"triplet": {"margin": 0.1}, "supcon": {"temperature": 0.05}},
        "default": {"triplet": {"margin": 0.2}, "supcon": {"temperature": 0.1}},
        "high": {"triplet": {"margin": 0.4}, "supcon": {"temperature": 0.2}},
    }
    assert meta["losses"] == ["triplet", "supcon"] and "loss_kwargs" not in meta["config"]


def test_a_grid_study_resumes_without_retraining(grid_study, monkeypatch):
    out, summary = grid_study
    (out / "summary.csv").unlink()
    monkeypatch.setattr("vgteach.training.study.train", lambda *a, **k: pytest.fail("retrained a finished run"))
    again = run_study(out=out, progress=False, figures=False, resume=True, **STUDY)
    pd.testing.assert_frame_equal(again, summary, check_dtype=False)


def test_a_killed_run_of_a_grid_continues_from_its_checkpoint(tmp_path, monkeypatch):
    out = tmp_path / "killed"
    settings = {"a": {"triplet": {"margin": 0.1}}, "b": {"triplet": {"margin": 0.3}}}
    study = dict(dataset="digits", grid=settings, profile="smoke", epochs=2, progress=False, figures=False)
    first = run_study(out=out, **study)
    (out / "runs" / "b" / "runs" / "triplet-seed0" / "summary.json").unlink()  # killed after its last checkpoint
    import vgteach.training.study as study_module

    trained = []
    real_train = study_module.train
    monkeypatch.setattr(study_module, "train", lambda config, **kw: trained.append(config) or real_train(config, **kw))
    again = run_study(out=out, resume=True, **study)
    assert [(c.loss, c.loss_kwargs) for c in trained] == [("triplet", {"margin": 0.3})]  # only that run
    numeric = [c for c in first.select_dtypes("number").columns if not c.endswith("time_s")]
    pd.testing.assert_frame_equal(again[numeric], first[numeric], rtol=1e-6)
    assert json.loads((out / "study.json").read_text())["grid"] == {"name": None, "settings": settings}


def test_score_robustness_reads_a_grid_study(grid_study):
    _, summary = grid_study
    table = score_robustness(summary)
    assert len(table) == len(CLAIMS)
    assert {"low", "default", "high", "robust", "robustness"} <= set(table.columns)


# -- the command line -----------------------------------------------------------------------------------------
def test_the_command_line_takes_a_grid():
    parser = build_parser()
    assert parser.parse_args(["study"]).grid is None and parser.parse_args(["study"]).losses is None
    assert parser.parse_args(["study", "--grid", "temperature"]).grid == "temperature"
    with pytest.raises(SystemExit):
        parser.parse_args(["study", "--grid", "margins"])


def test_the_default_folder_names_the_grid():
    assert default_out("cifar10-features", None, "book", "robustness") == "runs/study-cifar10-features-robustness-book"
    assert (
        default_out("cifar10", "zero-shot", "paper", "temperature") == "runs/study-cifar10-zero-shot-temperature-paper"
    )
    assert default_out("digits", None, "smoke") == "runs/study-digits-smoke"


def test_the_command_line_passes_the_grid_and_refuses_a_loss_it_lacks(monkeypatch, tmp_path, capsys):
    seen = {}
    monkeypatch.setattr("vgteach.training.run_study", lambda **kwargs: seen.update(kwargs))
    assert cli_main(["study", "--grid", "temperature", "--losses", "supcon", "--out", str(tmp_path / "t")]) == 0
    assert seen["grid"] == "temperature" and seen["losses"] == ("supcon",)
    monkeypatch.undo()
    argv = ["study", "--grid", "temperature", "--losses", "triplet", "--out", str(tmp_path / "u"), "--no-progress"]
    assert cli_main(argv) == 2
    assert "no 'triplet'; its losses: infonce, supcon" in capsys.readouterr().err
