"""CSV: a header row, then one finding per row.

A CSV report is opened in spreadsheets, and a cell that starts with ``=``, ``+``, ``-`` or ``@``
(or a tab or carriage return) is a formula there: ``=HYPERLINK(…)`` or ``+cmd|' /C calc'!A0`` in
a log line would run when the operator opens the report. By default every text cell is guarded
the OWASP way — such a cell gets a leading ``'`` (a cell of ``'`` characters followed by one of
those too, so the guard can be undone exactly: :func:`unguard_expr`) — and control characters are
written as visible escapes. ``raw=True`` (``--csv-raw``) writes cells verbatim, for programs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import polars as pl

from logaudit.escaping import escape_control
from logaudit.reports.writers.interface import Writer, escaped_column

#: A cell spreadsheets would evaluate: it starts (after any guard quotes) with one of these.
FORMULA_START = r"^'*[=+\-@\t\r]"
#: A guarded cell: one leading quote added by :func:`guard_cell`.
_GUARDED = r"^'('*[=+\-@\t\r])"


def guard_cell(text: str) -> str:
    """``text`` as a spreadsheet-safe CSV cell: control characters escaped, a leading ``'`` on
    a cell that would be a formula."""
    text = escape_control(text)
    stripped = text.lstrip("'")
    if stripped[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + text
    return text


def unguard_expr(col: str) -> pl.Expr:
    """The inverse of the formula guard of :func:`guard_cell` (for reading CSV reports back)."""
    return pl.col(col).str.replace(_GUARDED, "$1").alias(col)


class CsvWriter(Writer):
    """CSV with a header; timestamps in ISO 8601 with their UTC offset."""

    name = "csv"

    def __init__(self, raw: bool = False) -> None:
        self.raw = raw

    def write(self, df: pl.DataFrame, path: Path, run: dict[str, Any]) -> None:
        """Write the finding columns as CSV (guarded cells unless ``raw``)."""
        if not self.raw:
            text_cols = [n for n, t in df.schema.items() if t == pl.String]
            df = df.with_columns(_guarded(df, n) for n in text_cols)
        df.write_csv(path, datetime_format="%Y-%m-%dT%H:%M:%S%.f%:z")


def guarded_column(s: pl.Series) -> pl.Series:
    """:func:`guard_cell` over a whole text column, vectorised."""
    return escaped_column(s).str.replace(r"^('*[=+\-@\t\r])", "'$1")


def _guarded(df: pl.DataFrame, col: str) -> pl.Series:
    return guarded_column(df.get_column(col))
