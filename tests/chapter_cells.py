"""Reading a chapter's cells as committed (no execution), for the tests of the chapters' reader aids."""

from __future__ import annotations

import json
from pathlib import Path

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"


def cells(name: str) -> list[dict]:
    """The cells of ``notebooks/<name>.ipynb``."""
    return json.loads((NOTEBOOKS / f"{name}.ipynb").read_text(encoding="utf-8"))["cells"]


def source(cell: dict) -> str:
    """A cell's source as one string (nbformat allows a string or a list of lines)."""
    return "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]


def tags(cell: dict) -> list:
    return cell.get("metadata", {}).get("tags", [])
