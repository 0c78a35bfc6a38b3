"""Shared fixtures."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

# Compiled-engine cache for this test session only (never the user's ~/.cache).
os.environ["LOGAUDIT_CACHE_DIR"] = tempfile.mkdtemp(prefix="logaudit-test-cache-")

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


@pytest.fixture(scope="module")
def s3() -> Iterator[Any]:
    """A fake S3 server on 127.0.0.1 for one test module (see moto_s3.py)."""
    from moto_s3 import moto_s3

    with moto_s3() as server:
        yield server


@pytest.fixture(scope="module")
def local_tree(s3: Any, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The fake bucket's objects as local files."""
    from moto_s3 import write_tree

    root = tmp_path_factory.mktemp("tree")
    write_tree(root, s3.objects)
    return root
