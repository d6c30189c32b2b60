"""Shared pytest setup: make the helpers that live next to the tests (e.g. ``reference_losses``) importable
whatever pytest's import mode is."""

import sys
from pathlib import Path

TESTS_DIR = str(Path(__file__).resolve().parent)
if TESTS_DIR not in sys.path:
    sys.path.insert(0, TESTS_DIR)
