"""Where things are on disk, for tests in any folder: the repository root and the test data."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
"""The repository root (the folder holding ``bot/``, ``tests/`` and ``pyproject.toml``)."""

DATA = ROOT / "tests" / "data"
"""Test data files (``tests/data/ics/`` ...)."""
