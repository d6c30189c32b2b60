"""``run_study(workers=N)``: the runs of a study trained in N processes at once give the same tables as one
process (up to floating-point rounding), and ``"auto"`` picks one process per core on the CPU only."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from vgteach.cli import build_parser
from vgteach.training import run_study
from vgteach.training import study as study_module

STUDY = dict(dataset="digits", losses=("triplet", "supcon", "ccl"), profile="smoke", progress=False, epochs=2)


def test_processes_give_the_tables_of_one_process(tmp_path):
    one = run_study(out=tmp_path / "one", workers=1, **STUDY)
    two = run_study(out=tmp_path / "two", workers=2, **STUDY)
    assert two["loss"].tolist() == ["triplet", "supcon", "ccl"]  # the order of the runs, not of completion
    numeric = [c for c in one.select_dtypes("number").columns if not c.endswith("time_s")]  # timings differ
    pd.testing.assert_frame_equal(two[numeric], one[numeric], rtol=1e-4, atol=1e-6)
    history = [pd.read_csv(tmp_path / name / "history.csv") for name in ("one", "two")]
    assert len(history[0]) == len(history[1]) == 3 * 3
    assert json.loads((tmp_path / "two" / "study.json").read_text())["workers"] == 2
    assert (tmp_path / "two" / "report.md").exists()


def test_auto_is_one_process_per_core_on_the_cpu_and_one_on_a_gpu(monkeypatch):
    monkeypatch.setattr(study_module, "available_cores", lambda: 2)
    assert study_module.study_workers("auto", 7, "cpu") == 2
    assert study_module.study_workers("auto", 1, "cpu") == 1  # never more processes than runs
    assert study_module.study_workers(3, 7, "cpu") == 3
    monkeypatch.setattr(study_module, "resolve_device", lambda device: __import__("torch").device("cuda"))
    assert study_module.study_workers("auto", 7, "auto") == 1


@pytest.mark.parametrize("bad", [0, -1, 1.5, True, "two"])
def test_bad_workers_are_refused(bad):
    with pytest.raises(ValueError, match="workers"):
        study_module.study_workers(bad, 7, "cpu")


def test_the_command_line_takes_workers():
    parser = build_parser()
    assert parser.parse_args(["study"]).workers == "auto"
    assert parser.parse_args(["study", "--workers", "2"]).workers == 2
    with pytest.raises(SystemExit):
        parser.parse_args(["study", "--workers", "0"])
