"""Findings → Polars DataFrame with an explicit schema (the finding columns of DESIGN.md)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import polars as pl

from logaudit.findings import COLUMNS, Finding
from logaudit.scrub import name_text

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
    """Build the findings table; an empty scan gives an empty table with the same schema.

    Paths leave here as every report shows them (:func:`logaudit.scrub.name_text`): secrets
    in a file or member name masked, bytes that are not UTF-8 written as ``\\xff``.
    """
    data = {c: [getattr(f, c) for f in findings] for c in COLUMNS}
    data["path"] = [name_text(p) for p in data["path"]]
    return pl.DataFrame(data, schema=SCHEMA)


def run_start_expr(run_starts: dict[str, datetime] | None = None) -> pl.Expr:
    """The start time of each row's run: from ``run_starts`` (run records), else its run id."""
    from_id = (pl.col("run_id").str.slice(0, 16)
               .str.strptime(pl.Datetime("us"), "%Y%m%dT%H%M%SZ", strict=False)
               .dt.replace_time_zone("UTC"))
    if not run_starts:
        return from_id
    known = pl.col("run_id").replace_strict(
        dict(run_starts), default=None,
        return_dtype=pl.Datetime("us", "UTC"))
    return pl.coalesce(known, from_id)


def event_time_expr(run_starts: dict[str, datetime] | None = None) -> pl.Expr:
    """When a finding happened: its log ``timestamp`` if it has one, else its run's start."""
    return pl.coalesce(pl.col("timestamp"), run_start_expr(run_starts))


def day_expr(run_starts: dict[str, datetime] | None = None) -> pl.Expr:
    """The UTC day of a finding (see :func:`event_time_expr`) as ``YYYY-MM-DD`` text."""
    return event_time_expr(run_starts).dt.strftime("%Y-%m-%d").fill_null("unknown")


def with_event_time(
    lf: pl.LazyFrame, run_starts: dict[str, datetime] | None = None
) -> pl.LazyFrame:
    """Add ``event_time`` (see :func:`event_time_expr`) to a lazy frame, streaming-friendly.

    NOTE: the run records are joined as a small table rather than mapped with
    ``replace_strict``, which the streaming engine does not run in bounded memory.
    """
    if not run_starts:
        return lf.with_columns(event_time=event_time_expr())
    runs = pl.LazyFrame({"run_id": list(run_starts), "_run_started": list(run_starts.values())},
                        schema={"run_id": pl.String(), "_run_started": pl.Datetime("us", "UTC")})
    return lf.join(runs, on="run_id", how="left", maintain_order="left").with_columns(
        event_time=pl.coalesce(pl.col("timestamp"), pl.col("_run_started"), run_start_expr())
    ).drop("_run_started")
