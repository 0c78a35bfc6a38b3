"""JSON: one document, ``{"run": {...}, "findings": [...]}``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import polars as pl

from logaudit.escaping import json_text
from logaudit.reports.writers.interface import Writer, json_default, rows


class JsonWriter(Writer):
    """The run record and every finding in one JSON document."""

    name = "json"

    def write(self, df: pl.DataFrame, path: Path, run: dict[str, Any]) -> None:
        """Write ``{"run": run, "findings": [...]}``, indented."""
        doc = {"run": run, "findings": rows(df)}
        path.write_text(json_text(doc, default=json_default, indent=2)
                        + "\n", encoding="utf-8")
