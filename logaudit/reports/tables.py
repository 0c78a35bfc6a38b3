"""Summaries as data: a summary table (``report --by``, ``--trend``, ``--diff``) written in
any tabular format, typed (counts are integers, days are dates).

The finding writers (:mod:`logaudit.reports.writers`) write findings; these write whatever
table a summary is, with its description (which summary, filters, inputs) where the format has
room for it: JSON's ``summary`` object and the Parquet key-value metadata
(``logaudit.summary``), the Markdown and HTML headers.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from html import escape
from pathlib import Path
from typing import Any

import polars as pl

from logaudit.errors import ConfigError, OutputError
from logaudit.escaping import escape_control, json_text
from logaudit.fsio import replacing
from logaudit.reports.writers import ReportFormat
from logaudit.reports.writers.csvfile import guarded_column
from logaudit.reports.writers.interface import json_default
from logaudit.reports.writers.markdown import md_cell

TABULAR = (ReportFormat.CSV, ReportFormat.PARQUET, ReportFormat.JSON, ReportFormat.JSONL,
           ReportFormat.MARKDOWN, ReportFormat.HTML)
META_KEY = "logaudit.summary"


def check_tabular(fmt: ReportFormat) -> None:
    """Raise ConfigError unless a summary can be written in ``fmt``."""
    if fmt not in TABULAR and fmt is not ReportFormat.TABLE:
        raise ConfigError(f"--format {fmt.value}: a summary is a table; write it as "
                          f"{', '.join(f.value for f in TABULAR)}, or add --rows to write the "
                          "selected findings")


def _csv_safe(df: pl.DataFrame) -> pl.DataFrame:
    strings = [c for c, t in df.schema.items() if t == pl.String]
    return df.with_columns(guarded_column(df.get_column(c)) for c in strings)


def _csv(df: pl.DataFrame, path: Path, meta: dict[str, Any]) -> None:
    _csv_safe(df).write_csv(path, datetime_format="%Y-%m-%dT%H:%M:%S%.f%:z")


def _csv_raw(df: pl.DataFrame, path: Path, meta: dict[str, Any]) -> None:
    df.write_csv(path, datetime_format="%Y-%m-%dT%H:%M:%S%.f%:z")


def _parquet(df: pl.DataFrame, path: Path, meta: dict[str, Any]) -> None:
    df.write_parquet(path, compression="zstd", statistics=True,
                     metadata={META_KEY: json_text(meta, default=json_default)})


def _json(df: pl.DataFrame, path: Path, meta: dict[str, Any]) -> None:
    doc = {"summary": meta, "rows": df.to_dicts()}
    path.write_text(json_text(doc, default=json_default, indent=1) + "\n",
                    encoding="utf-8")


def _jsonl(df: pl.DataFrame, path: Path, meta: dict[str, Any]) -> None:
    with path.open("w", encoding="utf-8") as f:
        for row in df.iter_rows(named=True):
            f.write(json_text(row, default=json_default) + "\n")


def _cell(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, float):
        return f"{v:.4g}"
    return escape_control(str(v))


def _title(meta: dict[str, Any]) -> str:
    return escape_control(str(meta.get("title", "logaudit summary")))


def _markdown(df: pl.DataFrame, path: Path, meta: dict[str, Any]) -> None:
    lines = [f"## {md_cell(_title(meta))}", "",
             "| " + " | ".join(md_cell(c) for c in df.columns) + " |",
             "|" + "|".join(" --- " for _ in df.columns) + "|"]
    lines += ["| " + " | ".join(md_cell(_cell(v)) for v in row) + " |" for row in df.iter_rows()]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _html(df: pl.DataFrame, path: Path, meta: dict[str, Any]) -> None:
    numeric = {c for c, t in df.schema.items() if t.is_numeric()}
    head = "".join(f"<th>{escape(c)}</th>" for c in df.columns)
    body = "\n".join(
        "<tr>" + "".join(
            f'<td{" class=n" if c in numeric else ""}>{escape(_cell(v))}</td>'
            for c, v in zip(df.columns, row, strict=True)) + "</tr>"
        for row in df.iter_rows())
    title = escape(_title(meta))
    page = (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        "<meta http-equiv=Content-Security-Policy content=\"default-src 'none'; "
        "style-src 'unsafe-inline'\">"
        f"<title>{title}</title><style>body{{font:14px system-ui,sans-serif;margin:2em}}"
        "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.25em .6em;"
        "text-align:left}td.n{text-align:right;font-variant-numeric:tabular-nums}</style>"
        f"</head><body><h1>{title}</h1><p>{escape(_describe(meta))}</p>"
        f"<table><thead><tr>{head}</tr></thead><tbody>\n{body}\n</tbody></table>"
        "</body></html>\n")
    path.write_text(page, encoding="utf-8")


def _describe(meta: dict[str, Any]) -> str:
    filters = {k: v for k, v in (meta.get("filters") or {}).items() if v not in (None, False)}
    parts = [f"{len(meta.get('inputs', []))} report(s)"]
    if filters:
        parts.append("filters: " + ", ".join(f"{k}={v}" for k, v in filters.items()))
    return escape_control(" · ".join(parts))


_WRITERS: dict[ReportFormat, Callable[[pl.DataFrame, Path, dict[str, Any]], None]] = {
    ReportFormat.CSV: _csv, ReportFormat.PARQUET: _parquet, ReportFormat.JSON: _json,
    ReportFormat.JSONL: _jsonl, ReportFormat.MARKDOWN: _markdown, ReportFormat.HTML: _html,
}


def _writer(fmt: ReportFormat, csv_raw: bool
            ) -> Callable[[pl.DataFrame, Path, dict[str, Any]], None]:
    return _csv_raw if csv_raw and fmt is ReportFormat.CSV else _WRITERS[fmt]


def write_table(df: pl.DataFrame, path: str, fmt: ReportFormat, meta: dict[str, Any],
                *, csv_raw: bool = False) -> None:
    """Write a summary table atomically through :func:`logaudit.fsio.replacing` (temp file
    beside the resolved target, fsync, rename; devices written in place). ``csv_raw``: CSV
    cells verbatim, without the spreadsheet guards."""
    check_tabular(fmt)
    try:
        with replacing(path) as tmp:
            _writer(fmt, csv_raw)(df, tmp, meta)
    except OSError as e:
        raise OutputError(f"{path}: cannot write the summary ({e.strerror or type(e).__name__}); "
                          "check the directory exists and is writable") from None


def table_text(df: pl.DataFrame, fmt: ReportFormat, meta: dict[str, Any],
               *, csv_raw: bool = False) -> str:
    """A summary table in a text format, as a string (for standard output)."""
    check_tabular(fmt)
    if fmt is ReportFormat.PARQUET:
        raise ConfigError("parquet is binary: write it to a file with -o FILE.parquet")
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d) / "summary"
        _writer(fmt, csv_raw)(df, tmp, meta)
        return tmp.read_text(encoding="utf-8")
