"""JSON Lines: one finding per line (no run record: it would not be a finding)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import polars as pl

from logaudit.escaping import json_text
from logaudit.reports.writers.interface import Writer, json_default, rows


class JsonlWriter(Writer):
    """One JSON object per finding per line; ``details`` as a nested object."""

    name = "jsonl"

    def write(self, df: pl.DataFrame, path: Path, run: dict[str, Any]) -> None:
        """Write every finding as one line of JSON."""
        with path.open("w", encoding="utf-8") as f:
            for r in rows(df):
                f.write(json_text(r, default=json_default) + "\n")
