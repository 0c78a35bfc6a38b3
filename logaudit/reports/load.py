"""Read earlier reports (Parquet, JSONL, CSV, JSON) lazily into one findings LazyFrame.

The kind of a file is told by its content, not its name: Parquet by its ``PAR1`` magic,
JSON Lines by a first line that is a finding object, a JSON report by its ``{"run": …}``
document, CSV by a header naming the finding columns.
"""

from __future__ import annotations

import enum
import glob
import json
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import polars as pl

from logaudit.errors import ReportError
from logaudit.reports.frame import SCHEMA
from logaudit.reports.run import parse_time
from logaudit.reports.writers.csvfile import unguard_expr
from logaudit.reports.writers.parquet import RUN_KEY

_SNIFF = 65536
_REQUIRED = ("rule_id", "fingerprint", "path", "line")
#: Reading text formats: every column as text except the integers, then cast (see ``_typed``).
TEXT_SCHEMA: dict[str, pl.DataType] = {
    c: (t if t.is_integer() else pl.String()) for c, t in SCHEMA.items()
}
_TS_FORMATS = ("%Y-%m-%dT%H:%M:%S%.f%#z", "%Y-%m-%d %H:%M:%S%.f%#z")
_NAIVE_FORMATS = ("%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f")


class InputKind(str, enum.Enum):
    """The formats ``logaudit report`` reads."""

    PARQUET = "parquet"
    JSONL = "jsonl"
    JSON = "json"
    CSV = "csv"


@dataclass
class Loaded:
    """Findings from one or more report files, not yet read (lazy), and their run records."""

    frame: pl.LazyFrame
    files: list[tuple[str, InputKind]]
    runs: list[dict[str, Any]] = field(default_factory=list)

    def run_starts(self) -> dict[str, datetime]:
        """Run id → start time, from the run records the files carry."""
        out: dict[str, datetime] = {}
        for r in self.runs:
            t = parse_time(r.get("started"))
            if r.get("run_id") and t is not None:
                out[str(r["run_id"])] = t
        return out


def detect(path: Path) -> InputKind | None:
    """The report format of ``path`` from its first bytes, or None if it is not a report."""
    try:
        with path.open("rb") as f:
            head = f.read(_SNIFF)
    except OSError as e:
        raise ReportError(f"{path}: cannot read ({e.strerror})") from None
    if head.startswith(b"PAR1"):
        return InputKind.PARQUET
    text = head.decode("utf-8", "replace").lstrip("\ufeff \t\r\n")
    if not text:  # a JSON Lines report of a clean scan is empty
        return InputKind.JSONL
    if text.startswith("{"):
        first = text.split("\n", 1)[0].strip()
        try:
            obj = json.loads(first)
        except ValueError:
            obj = None
        if isinstance(obj, dict) and all(k in obj for k in _REQUIRED):
            return InputKind.JSONL
        if text.startswith("{") and ('"findings"' in text or '"run"' in text):
            return InputKind.JSON
        return None
    header = [h.strip().strip('"') for h in text.split("\n", 1)[0].split(",")]
    if all(k in header for k in _REQUIRED):
        return InputKind.CSV
    return None


def expand(specs: list[str]) -> list[tuple[Path, InputKind]]:
    """Files, directories (recursively: every file that is a report) and globs → reports."""
    out: list[tuple[Path, InputKind]] = []
    for spec in specs:
        p = Path(spec)
        if p.is_dir():
            found = [(f, k) for f in sorted(p.rglob("*")) if f.is_file()
                     and not f.name.startswith(".") and (k := detect(f)) is not None]
            if not found:
                raise ReportError(f"{spec}: no logaudit reports (Parquet, JSONL, CSV, JSON) "
                                  "in this directory")
            out += found
            continue
        paths = [p] if p.is_file() else [Path(g) for g in sorted(glob.glob(spec, recursive=True))
                                          if Path(g).is_file()]
        if not paths:
            raise ReportError(f"{spec}: no such file, directory or matching glob")
        for f in paths:
            kind = detect(f)
            if kind is None:
                if p.is_file():
                    raise ReportError(f"{f}: not a logaudit report (expected Parquet, JSONL, "
                                      "CSV or JSON written by logaudit)")
                continue
            out.append((f, kind))
    return out


def _timestamp(col: pl.Expr) -> pl.Expr:
    aware = [col.str.to_datetime(f, time_zone="UTC", time_unit="us", strict=False)
             for f in _TS_FORMATS]
    naive = [col.str.to_datetime(f, time_unit="us", strict=False).dt.replace_time_zone("UTC")
             for f in _NAIVE_FORMATS]
    return pl.coalesce(*aware, *naive).alias("timestamp")


def _typed(lf: pl.LazyFrame) -> pl.LazyFrame:
    """Cast to :data:`SCHEMA` (text timestamps parsed, categoricals back to text)."""
    schema = lf.collect_schema()
    exprs = []
    for c, t in SCHEMA.items():
        if c not in schema:
            exprs.append(pl.lit(None, dtype=t).alias(c))
        elif c == "timestamp" and schema[c] == pl.String():
            exprs.append(_timestamp(pl.col(c)))
        elif c == "timestamp" and isinstance(schema[c], pl.Datetime):
            dt = schema[c]
            col = pl.col(c) if getattr(dt, "time_zone", None) else \
                pl.col(c).dt.replace_time_zone("UTC")
            exprs.append(col.dt.convert_time_zone("UTC").cast(t).alias(c))
        else:
            exprs.append(pl.col(c).cast(t))
    return lf.select(exprs)


def _json_doc(path: Path) -> tuple[pl.LazyFrame, dict[str, Any] | None]:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise ReportError(f"{path}: not a readable logaudit JSON report ({e})") from None
    rows = doc.get("findings", []) if isinstance(doc, dict) else []
    for r in rows:
        if isinstance(r.get("details"), (dict, list)):
            r["details"] = json.dumps(r["details"], sort_keys=True)
    df = pl.DataFrame(rows, schema=TEXT_SCHEMA) if rows else pl.DataFrame(schema=TEXT_SCHEMA)
    run = doc.get("run") if isinstance(doc, dict) else None
    return df.lazy(), run if isinstance(run, dict) else None


def scan_one(path: Path, kind: InputKind) -> tuple[pl.LazyFrame, dict[str, Any] | None]:
    """One report as a typed LazyFrame plus its run record where the format keeps one."""
    run: dict[str, Any] | None = None
    if kind is InputKind.PARQUET:
        lf = pl.scan_parquet(path)
        try:
            meta = pl.read_parquet_metadata(path)
            run = json.loads(meta[RUN_KEY]) if RUN_KEY in meta else None
        except (OSError, ValueError, pl.exceptions.PolarsError):
            run = None
    elif kind is InputKind.JSONL and path.stat().st_size == 0:
        lf = pl.DataFrame(schema=TEXT_SCHEMA).lazy()
    elif kind is InputKind.JSONL:
        lf = pl.scan_ndjson(path, schema=TEXT_SCHEMA, ignore_errors=True)
    elif kind is InputKind.CSV:
        lf = pl.scan_csv(path, schema=TEXT_SCHEMA).with_columns(  # undo the formula guard
            unguard_expr(c) for c, t in TEXT_SCHEMA.items() if t == pl.String())
    else:
        lf, run = _json_doc(path)
    return _typed(lf), run


def load(specs: list[str]) -> Loaded:
    """Every report named by ``specs`` (files, directories, globs) as one lazy findings table."""
    files = expand(specs)
    frames: list[pl.LazyFrame] = []
    runs: list[dict[str, Any]] = []
    for path, kind in files:
        lf, run = scan_one(path, kind)
        frames.append(lf)
        if run is not None:
            runs.append(run)
    frame = pl.concat(frames, how="vertical") if frames else pl.DataFrame(schema=SCHEMA).lazy()
    return Loaded(frame, [(str(p), k) for p, k in files], runs)
