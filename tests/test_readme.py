"""The README's "API in five lines" runs as written, and its Quickstart names the commands CI runs."""

import re
from pathlib import Path

import torch

README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")


def test_api_in_five_lines_runs():
    block = re.search(r"## The API in five lines\n\n```python\n(.*?)```", README, re.S).group(1)
    gen = torch.Generator().manual_seed(0)
    namespace = {"embeddings": torch.randn(32, 16, generator=gen), "labels": torch.arange(32) % 4}
    exec(block, namespace)  # noqa: S102 — our own README
    assert torch.isfinite(namespace["loss"]) and namespace["loss"].dim() == 0


def test_quickstart_shows_the_ci_commands():
    ci = (Path(__file__).resolve().parents[1] / ".ci" / "run").read_text()
    for command in ("pip install -r requirements.txt", "python -m pytest"):
        assert command in README and command in ci
