"""Parquet: typed columns, zstd, the run record in the file's key-value metadata."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import polars as pl

from logaudit.escaping import json_text
from logaudit.reports.writers.interface import Writer, json_default

#: Key of the run record (JSON) in the Parquet key-value metadata.
RUN_KEY = "logaudit.run"
#: Columns with few distinct values, stored as dictionary-encoded categoricals.
CATEGORICAL = ("rule_id", "category", "severity")


class ParquetWriter(Writer):
    """Int64 lines and columns, ``timestamp`` as UTC datetime, categoricals, zstd."""

    name = "parquet"
    binary = True

    def write(self, df: pl.DataFrame, path: Path, run: dict[str, Any]) -> None:
        """Write the typed table; ``run`` goes into the ``logaudit.run`` metadata key."""
        typed = df.with_columns(pl.col(c).cast(pl.Categorical) for c in CATEGORICAL)
        meta = {RUN_KEY: json_text(run, default=json_default),
                "logaudit.version": str(run.get("version", "")),
                "logaudit.rule_pack_version": str(run.get("rule_pack_version", ""))}
        typed.write_parquet(path, compression="zstd", statistics=True, metadata=meta)
