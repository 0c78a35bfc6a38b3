"""The terminal report (rich) as plain text, for ``--format table -o FILE``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import polars as pl

from logaudit.reports.writers.interface import Writer


class TableWriter(Writer):
    """Every finding, rendered as the terminal table without colours."""

    name = "table"

    def write(self, df: pl.DataFrame, path: Path, run: dict[str, Any]) -> None:
        """Write the rendered summary and findings table."""
        from logaudit.reports.table import render_text

        path.write_text(render_text(df, run), encoding="utf-8")
