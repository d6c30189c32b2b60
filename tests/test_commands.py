"""Every shell command the reader is shown (README, book pages, chapter text) runs, in its offline form.

- ``vgteach study ...`` on data that ships (no ``--dataset``, digits, blobs, the shipped CIFAR-10 features):
  run for real, shrunk to one loss, one epoch and the smoke profile.
- ``vgteach study ...`` on a dataset that must be downloaded or pointed to: the command line goes through
  the real CLI up to training, which is replaced by a recorder, and the configuration it would train is
  built and checked (the training path itself, fabricated CIFAR-10 through a frozen ViT-B/32 with the
  download faked, is ``tests/test_features.py::test_paper_protocol_path_vit_b_32_with_download_allowed``).
- ``vgteach diagnose ...``: run for real on small fabricated files of the names the command uses.
- ``papermill notebooks/X.ipynb ...``: the chapter exists, the command sets ``--cwd notebooks``, and every
  ``-p NAME`` is a parameter of the chapter's ``parameters`` cell (the chapters themselves run in
  ``tests/test_notebooks.py``).
"""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import numpy as np
import pytest

from vgteach.cli import main as cli_main
from vgteach.losses import LOSS_NAMES
from vgteach.training import make_config
from vgteach.training.grids import grid as named_grid
from vgteach.training.grids import grid_losses

REPO = Path(__file__).resolve().parents[1]
SHIPPED = {None, "digits", "blobs", "cifar10-features"}


def shown_commands() -> list:
    """``(where, argv)`` of every ``vgteach``/``papermill`` line inside a shell block of the reader's pages."""
    sources = {
        path.relative_to(REPO).as_posix(): path.read_text()
        for path in [REPO / "README.md", *sorted((REPO / "book").glob("*.md"))]
    }
    for path in sorted((REPO / "notebooks").glob("*.ipynb")):
        cells = json.loads(path.read_text())["cells"]
        sources[path.relative_to(REPO).as_posix()] = "\n".join(
            "".join(c["source"]) for c in cells if c["cell_type"] == "markdown"
        )
    found = []
    for where, text in sources.items():
        for block in re.findall(r"```(?:bash|sh|console)?\n(.*?)```", text, re.S):
            for line in block.replace("\\\n", " ").splitlines():
                line = line.split(" #")[0].strip().rstrip("&").strip()
                if not re.match(r"([A-Z_]+=\S*\s+)*(vgteach|python -m vgteach|papermill)\b", line):
                    continue
                words = shlex.split(line)
                while words and re.fullmatch(r"[A-Z_]+=\S*", words[0]):  # CUDA_VISIBLE_DEVICES=0 ...
                    words = words[1:]
                if words[:1] == ["vgteach"] or words[:3] == ["python", "-m", "vgteach"]:
                    found.append((where, words[words.index("vgteach") + 1 :] if words[0] == "vgteach" else words[3:]))
                elif words[:1] == ["papermill"]:
                    found.append((where, words))
    return found


COMMANDS = shown_commands()


def option(argv, name, default=None):
    return argv[argv.index(name) + 1] if name in argv else default


def test_the_pages_show_commands():
    kinds = {argv[0] for _, argv in COMMANDS}
    assert {"study", "diagnose", "papermill"} <= kinds, kinds


@pytest.mark.parametrize(
    "where, argv",
    [c for c in COMMANDS if c[1][0] == "study"],
    ids=lambda value: " ".join(value) if isinstance(value, list) else value,
)
def test_study_command_runs_offline(where, argv, tmp_path, monkeypatch, capsys):
    if "--help" in argv:
        with pytest.raises(SystemExit) as exit_info:
            cli_main(argv)
        assert exit_info.value.code == 0 and "--dataset" in capsys.readouterr().out
        return
    dataset = option(argv, "--dataset")
    if dataset in SHIPPED:
        grid = option(argv, "--grid")  # a grid study runs one of its own losses
        loss = grid_losses(named_grid(grid))[0] if grid else "contrastive"
        shrunk = [a for a in argv if a != "--download"] + [
            "--profile",
            "smoke",
            "--epochs",
            "1",
            "--losses",
            loss,
            "--seeds",
            "0",
            "--out",
            str(tmp_path / "o"),
            "--no-progress",
            "--device",
            "cpu",
        ]
        assert cli_main(shrunk) == 0, where
        assert (tmp_path / "o" / "summary.csv").is_file()
        return
    seen = {}
    monkeypatch.setattr("vgteach.training.run_study", lambda **kwargs: seen.update(kwargs))
    assert cli_main([*argv, "--no-progress"]) == 0, where
    run_options = ("losses", "seeds", "profile", "out", "resume", "progress", "workers", "grid")
    fields = {k: v for k, v in seen.items() if k not in run_options}
    config = make_config(seen["profile"], loss=(seen["losses"] or LOSS_NAMES)[0], **fields)
    assert config.dataset == dataset and config.backbone == option(argv, "--backbone", "identity")


@pytest.mark.parametrize(
    "where, argv",
    [c for c in COMMANDS if c[1][0] == "diagnose"],
    ids=lambda value: " ".join(value) if isinstance(value, list) else value,
)
def test_diagnose_command_runs_offline(where, argv, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(4), 10)
    embeddings = rng.normal(size=(40, 8)) + 3 * np.eye(8)[labels]
    for name in argv[1:]:
        if name.endswith(".npy"):
            np.save(name, labels if "label" in name else embeddings)
        elif name.endswith(".csv"):
            Path(name).write_text("label\n" + "\n".join(f"class-{y}" for y in labels) + "\n")
        elif name.endswith(".npz"):
            np.savez(name, embeddings=embeddings, labels=labels)
    out = tmp_path / option(argv, "--out")
    assert cli_main([*argv, "--no-progress"] if "--no-progress" not in argv else argv) == 0, where
    assert (out / "report.md").is_file() and (out / "metrics.json").is_file()


@pytest.mark.parametrize(
    "where, argv",
    [c for c in COMMANDS if c[1][0] == "papermill"],
    ids=lambda value: " ".join(value) if isinstance(value, list) else value,
)
def test_papermill_command_names_a_chapter_and_its_parameters(where, argv):
    notebook = REPO / argv[1]
    assert notebook.is_file(), where
    assert option(argv, "--cwd") == "notebooks", f"{where}: chapters read paths relative to notebooks/"
    cells = json.loads(notebook.read_text())["cells"]
    (parameters,) = ["".join(c["source"]) for c in cells if "parameters" in c.get("metadata", {}).get("tags", [])]
    declared = set(re.findall(r"(?m)^([A-Z_]+)\s*=", parameters))
    given = {argv[i + 1] for i, a in enumerate(argv) if a == "-p"}
    assert given <= declared, f"{where}: {sorted(given - declared)} not in the parameters cell"
