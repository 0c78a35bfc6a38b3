"""Counts and summaries of a findings table."""

from __future__ import annotations

import polars as pl

from logaudit.reports.frame import SEVERITY_ORDER


def counts(df: pl.DataFrame, by: str) -> pl.DataFrame:
    """Findings per value of column ``by``, largest first (ties by name)."""
    return (
        df.group_by(by).len("findings").sort(["findings", by], descending=[True, False])
    )


def severity_at_least(df: pl.DataFrame, floor: str) -> pl.DataFrame:
    """Rows whose severity is ``floor`` or worse."""
    allowed = SEVERITY_ORDER[SEVERITY_ORDER.index(floor):]
    return df.filter(pl.col("severity").is_in(allowed))


def one_line(df: pl.DataFrame, failed: int, unlisted: int = 0, allowed: int = 0,
             skipped: int = 0) -> str:
    """A one-line summary for cron mail and logs."""
    if df.is_empty() and not failed:
        msg = "logaudit: no findings" + (f" ({allowed} allowed by the allowlist)"
                                         if allowed else "")
        return msg + _skipped(skipped)
    parts = [f"{n} {c}" for c, n in counts(df, "category").iter_rows()] if len(df) else []
    msg = f"logaudit: {len(df)} finding(s)" + (f" ({', '.join(parts)})" if parts else "")
    if unlisted:
        msg += f" and {unlisted} more counted but not listed"
    if allowed:
        msg += f"; {allowed} allowed by the allowlist"
    if failed:
        msg += f"; {failed} input(s) could not be read"
    return msg + _skipped(skipped)


def _skipped(n: int) -> str:
    return f"; {n} input(s) skipped, not scanned (binary data, devices…)" if n else ""
