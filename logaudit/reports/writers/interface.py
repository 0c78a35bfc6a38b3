"""The writer interface: every output format implements :class:`Writer`."""

from __future__ import annotations

import abc
import json
from datetime import date, datetime
from pathlib import Path
from typing import Any, ClassVar

import polars as pl

from logaudit.escaping import escape_control

# The characters escaping.escape_control rewrites, in the Rust regex syntax Polars uses.
CONTROL_RUST = (r"[\x00-\x1f\x7f-\x9f\x{061c}\x{200e}\x{200f}\x{2028}-\x{202e}"
                r"\x{2066}-\x{2069}]")


class Writer(abc.ABC):
    """Writes a findings table and its run record to one file in one format."""

    #: The format's name, as given to ``--format``.
    name: ClassVar[str]
    #: True when the output is not text (cannot be printed to a terminal).
    binary: ClassVar[bool] = False

    @abc.abstractmethod
    def write(self, df: pl.DataFrame, path: Path, run: dict[str, Any]) -> None:
        """Write ``df`` (the finding columns) and ``run`` (the run record) to ``path``."""


def json_default(o: Any) -> Any:
    """``json.dumps`` fallback: datetimes and dates as ISO 8601."""
    if isinstance(o, (datetime, date)):
        return o.isoformat()
    raise TypeError(type(o).__name__)


def rows(df: pl.DataFrame) -> list[dict[str, Any]]:
    """Findings as dicts, with ``details`` decoded from its JSON text where possible."""
    out = df.to_dicts()
    for r in out:
        if r.get("details"):
            try:
                r["details"] = json.loads(r["details"])
            except (TypeError, ValueError):
                pass
    return out


def location(row: dict[str, Any]) -> str:
    """``path:line[-end_line]:column`` of one finding; ``path (name)`` for a finding in the
    file or archive-member name itself (line 0)."""
    if row["line"] == 0:
        return f"{row['path']} (name)"
    loc = f"{row['path']}:{row['line']}"
    if row.get("end_line") not in (None, row["line"]):
        loc += f"-{row['end_line']}"
    return f"{loc}:{row['column']}"


def escaped_column(s: pl.Series) -> pl.Series:
    """A text column with control characters escaped (:func:`escape_control`); only the rare
    cells that hold one go through Python."""
    needs = s.str.contains(CONTROL_RUST).fill_null(False)
    if not needs.any():
        return s
    return s.scatter(needs.arg_true(), [escape_control(v) for v in s.filter(needs).to_list()])


def escaped_frame(df: pl.DataFrame) -> pl.DataFrame:
    """``df`` with control characters escaped in every text column (for human-facing formats)."""
    cols = [n for n, t in df.schema.items() if t == pl.String]
    return df.with_columns(escaped_column(df.get_column(n)) for n in cols) if cols else df
