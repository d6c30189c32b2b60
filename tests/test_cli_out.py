"""``vgteach study --out PATH`` where PATH cannot be written: one line on stderr, exit code 2, nothing
created, no training started (issue 15)."""

from __future__ import annotations

import os
import tempfile

import pytest

from vgteach import cli


@pytest.fixture
def no_training(monkeypatch):
    def fail(**kwargs):
        raise AssertionError("run_study must not start")

    monkeypatch.setattr("vgteach.training.run_study", fail)


def run(argv, capsys):
    code = cli.main(["study", "--profile", "smoke", "--dataset", "digits", "--no-progress", *argv])
    err = capsys.readouterr().err
    return code, err


def test_out_is_a_file(tmp_path, capsys, no_training):
    target = tmp_path / "results.csv"
    target.write_text("keep me")
    code, err = run(["--out", str(target)], capsys)
    assert code == 2 and err.count("\n") == 1 and "not a folder" in err and err.startswith("vgteach: error:")
    assert target.read_text() == "keep me"


def test_out_below_a_file(tmp_path, capsys, no_training):
    blocker = tmp_path / "file"
    blocker.write_text("")
    code, err = run(["--out", str(blocker / "a" / "b")], capsys)
    assert code == 2 and err.count("\n") == 1 and "is not a folder" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file"]


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root writes into read-only folders")
def test_out_in_a_read_only_folder(tmp_path, capsys, no_training):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        code, err = run(["--out", str(locked / "run" / "deeper")], capsys)
    finally:
        locked.chmod(0o700)
    assert code == 2 and err.count("\n") == 1 and "cannot write" in err
    assert list(locked.iterdir()) == []


def test_out_in_an_unwritable_place_as_root(tmp_path, capsys, no_training, monkeypatch):
    """Root ignores permission bits, so the write probe is made to fail as a read-only mount would."""

    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(tempfile, "TemporaryFile", refuse)
    code, err = run(["--out", str(tmp_path / "new" / "run")], capsys)
    assert code == 2 and err.count("\n") == 1 and "cannot write in" in err and "Permission denied" in err
    assert list(tmp_path.iterdir()) == []


def test_an_os_error_during_the_study_is_one_line(tmp_path, capsys, monkeypatch):
    def disk_full(**kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("vgteach.training.run_study", disk_full)
    code, err = run(["--out", str(tmp_path / "run")], capsys)
    assert code == 2 and err == "vgteach: error: [Errno 28] No space left on device\n"
