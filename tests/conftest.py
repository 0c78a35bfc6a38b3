"""Shared fixtures."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
ASSETS = Path(__file__).resolve().parent / "assets"


@pytest.fixture(autouse=True)
def _fingerprint_key(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests never touch the user's key file."""
    monkeypatch.setenv("LOGAUDIT_KEY", "test-key-not-secret")


@pytest.fixture
def sample_logs() -> Path:
    """The repo's sample_logs/ directory."""
    return ROOT / "sample_logs"
