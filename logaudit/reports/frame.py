"""Findings → Polars DataFrame with an explicit schema (the finding columns of DESIGN.md)."""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from logaudit.findings import COLUMNS, Finding

SCHEMA: dict[str, pl.DataType] = {
    "run_id": pl.String(),
    "path": pl.String(),
    "line": pl.Int64(),
    "end_line": pl.Int64(),
    "column": pl.Int64(),
    "rule_id": pl.String(),
    "category": pl.String(),
    "severity": pl.String(),
    "match": pl.String(),
    "fingerprint": pl.String(),
    "timestamp": pl.Datetime("us", "UTC"),
    "context": pl.String(),
    "details": pl.String(),
}
assert tuple(SCHEMA) == COLUMNS

SEVERITY_ORDER = ["info", "low", "medium", "high", "critical"]
CATEGORY_ORDER = ["secret", "pii", "traceback", "db_error", "disclosure"]


def to_frame(findings: Sequence[Finding]) -> pl.DataFrame:
    """Build the findings table; an empty scan gives an empty table with the same schema."""
    data = {c: [getattr(f, c) for f in findings] for c in COLUMNS}
    return pl.DataFrame(data, schema=SCHEMA)


def empty_frame() -> pl.DataFrame:
    """A findings table with no rows."""
    return pl.DataFrame(schema=SCHEMA)
