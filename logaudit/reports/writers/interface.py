"""The writer interface: every output format implements :class:`Writer`."""

from __future__ import annotations

import abc
import json
from datetime import date, datetime
from pathlib import Path
from typing import Any, ClassVar

import polars as pl


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
    """``path:line[-end_line]:column`` of one finding."""
    loc = f"{row['path']}:{row['line']}"
    if row.get("end_line") not in (None, row["line"]):
        loc += f"-{row['end_line']}"
    return f"{loc}:{row['column']}"
