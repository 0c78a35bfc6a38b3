"""Report writers: one per format, chosen through the exhaustive :class:`ReportFormat` enum."""

from __future__ import annotations

import enum
import json
import os
import tempfile
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any, NoReturn

import polars as pl

from logaudit.errors import ReportError


class ReportFormat(str, enum.Enum):
    """Every output format logaudit writes."""

    TABLE = "table"
    JSONL = "jsonl"
    JSON = "json"
    CSV = "csv"
    PARQUET = "parquet"


EXTENSIONS: dict[str, ReportFormat] = {
    ".jsonl": ReportFormat.JSONL,
    ".ndjson": ReportFormat.JSONL,
    ".json": ReportFormat.JSON,
    ".csv": ReportFormat.CSV,
    ".parquet": ReportFormat.PARQUET,
    ".txt": ReportFormat.TABLE,
}


def format_for_path(path: str) -> ReportFormat:
    """The format implied by an output file's extension."""
    suffix = Path(path).suffix.lower()
    try:
        return EXTENSIONS[suffix]
    except KeyError:
        raise ReportError(f"{path}: cannot tell the report format from the extension "
                          f"{suffix or '(none)'}; use --format") from None


def _assert_never(x: NoReturn) -> NoReturn:
    raise AssertionError(f"unhandled format {x!r}")


def _json_default(o: Any) -> Any:
    if isinstance(o, datetime):
        return o.isoformat()
    raise TypeError(type(o).__name__)


def _rows(df: pl.DataFrame) -> list[dict[str, Any]]:
    rows = df.to_dicts()
    for r in rows:
        if r.get("details"):
            try:
                r["details"] = json.loads(r["details"])
            except (TypeError, ValueError):
                pass
    return rows


def write_jsonl(df: pl.DataFrame, path: Path, run: dict[str, Any]) -> None:
    """One JSON object per finding per line."""
    with path.open("w", encoding="utf-8") as f:
        for r in _rows(df):
            f.write(json.dumps(r, default=_json_default, ensure_ascii=False) + "\n")


def write_json(df: pl.DataFrame, path: Path, run: dict[str, Any]) -> None:
    """One JSON document: ``{"run": {...}, "findings": [...]}``."""
    doc = {"run": run, "findings": _rows(df)}
    path.write_text(json.dumps(doc, default=_json_default, ensure_ascii=False, indent=2) + "\n",
                    encoding="utf-8")


def write_csv(df: pl.DataFrame, path: Path, run: dict[str, Any]) -> None:
    """CSV with a header row; timestamps in ISO 8601."""
    df.write_csv(path)


def write_parquet(df: pl.DataFrame, path: Path, run: dict[str, Any]) -> None:
    """Typed Parquet (zstd), the run record in the file's key-value metadata."""
    typed = df.with_columns(
        pl.col("category").cast(pl.Categorical), pl.col("severity").cast(pl.Categorical),
        pl.col("rule_id").cast(pl.Categorical),
    )
    typed.write_parquet(path, compression="zstd",
                        metadata={"logaudit.run": json.dumps(run, default=_json_default)})


def write_table(df: pl.DataFrame, path: Path, run: dict[str, Any]) -> None:
    """A plain-text rendering of the summary table."""
    from logaudit.reports.table import render_text

    path.write_text(render_text(df, run), encoding="utf-8")


Writer = Callable[[pl.DataFrame, Path, dict[str, Any]], None]


def writer_for(fmt: ReportFormat) -> Writer:
    """The writer of one format (exhaustive over :class:`ReportFormat`)."""
    if fmt is ReportFormat.TABLE:
        return write_table
    if fmt is ReportFormat.JSONL:
        return write_jsonl
    if fmt is ReportFormat.JSON:
        return write_json
    if fmt is ReportFormat.CSV:
        return write_csv
    if fmt is ReportFormat.PARQUET:
        return write_parquet
    _assert_never(fmt)


def write_report(df: pl.DataFrame, path: str, fmt: ReportFormat, run: dict[str, Any]) -> None:
    """Write atomically: a temp file in the same directory, fsync, then rename over ``path``."""
    target = Path(path)
    directory = target.parent if str(target.parent) else Path(".")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=directory)
    except OSError as e:
        raise ReportError(f"{path}: cannot write the report ({e.strerror}); "
                          "check the directory exists and is writable") from None
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        writer_for(fmt)(df, tmp_path, run)
        with tmp_path.open("rb") as f:
            os.fsync(f.fileno())
        os.replace(tmp_path, target)
    except OSError as e:
        raise ReportError(f"{path}: cannot write the report ({e.strerror})") from None
    finally:
        if tmp_path.exists():
            tmp_path.unlink()
