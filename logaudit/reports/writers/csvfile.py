"""CSV: a header row, then one finding per row."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import polars as pl

from logaudit.reports.writers.interface import Writer


class CsvWriter(Writer):
    """CSV with a header; timestamps in ISO 8601 with their UTC offset."""

    name = "csv"

    def write(self, df: pl.DataFrame, path: Path, run: dict[str, Any]) -> None:
        """Write the finding columns as CSV."""
        df.write_csv(path, datetime_format="%Y-%m-%dT%H:%M:%S%.f%:z")
