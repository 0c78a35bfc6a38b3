"""Report writers: one per format, chosen through the exhaustive :class:`ReportFormat` enum."""

from __future__ import annotations

import enum
from pathlib import Path
from typing import Any, NoReturn

import polars as pl

from logaudit.errors import OutputError, ReportError
from logaudit.fsio import replacing
from logaudit.reports.run import complete_run
from logaudit.reports.writers.csvfile import CsvWriter
from logaudit.reports.writers.htmlpage import HtmlWriter
from logaudit.reports.writers.interface import Writer
from logaudit.reports.writers.jsondoc import JsonWriter
from logaudit.reports.writers.jsonl import JsonlWriter
from logaudit.reports.writers.markdown import MarkdownWriter
from logaudit.reports.writers.parquet import ParquetWriter
from logaudit.reports.writers.sarif import SarifWriter
from logaudit.reports.writers.table import TableWriter
from logaudit.scrub import scrub_data

__all__ = ["EXTENSIONS", "ReportFormat", "Writer", "format_for_path", "write_report",
           "writer_for"]


class ReportFormat(str, enum.Enum):
    """Every output format logaudit writes."""

    TABLE = "table"
    JSONL = "jsonl"
    JSON = "json"
    CSV = "csv"
    PARQUET = "parquet"
    SARIF = "sarif"
    MARKDOWN = "markdown"
    HTML = "html"

    @property
    def binary(self) -> bool:
        """True when the format cannot be printed to a terminal."""
        return writer_for(self).binary


EXTENSIONS: dict[str, ReportFormat] = {
    ".jsonl": ReportFormat.JSONL,
    ".ndjson": ReportFormat.JSONL,
    ".json": ReportFormat.JSON,
    ".csv": ReportFormat.CSV,
    ".parquet": ReportFormat.PARQUET,
    ".pq": ReportFormat.PARQUET,
    ".sarif": ReportFormat.SARIF,
    ".md": ReportFormat.MARKDOWN,
    ".markdown": ReportFormat.MARKDOWN,
    ".html": ReportFormat.HTML,
    ".htm": ReportFormat.HTML,
    ".txt": ReportFormat.TABLE,
}


def format_for_path(path: str) -> ReportFormat:
    """The format implied by an output file's extension (``x.sarif.json`` is SARIF)."""
    name = Path(path).name.lower()
    if name.endswith(".sarif.json"):
        return ReportFormat.SARIF
    suffix = Path(path).suffix.lower()
    try:
        return EXTENSIONS[suffix]
    except KeyError:
        raise ReportError(f"{path}: cannot tell the report format from the extension "
                          f"{suffix or '(none)'}; use --format") from None


def _assert_never(x: NoReturn) -> NoReturn:
    raise AssertionError(f"unhandled format {x!r}")


def writer_for(fmt: ReportFormat) -> Writer:
    """The writer of one format (exhaustive over :class:`ReportFormat`)."""
    if fmt is ReportFormat.TABLE:
        return TableWriter()
    if fmt is ReportFormat.JSONL:
        return JsonlWriter()
    if fmt is ReportFormat.JSON:
        return JsonWriter()
    if fmt is ReportFormat.CSV:
        return CsvWriter()
    if fmt is ReportFormat.PARQUET:
        return ParquetWriter()
    if fmt is ReportFormat.SARIF:
        return SarifWriter()
    if fmt is ReportFormat.MARKDOWN:
        return MarkdownWriter()
    if fmt is ReportFormat.HTML:
        return HtmlWriter()
    _assert_never(fmt)


def write_report(df: pl.DataFrame, path: str, fmt: ReportFormat, run: dict[str, Any],
                 *, csv_raw: bool = False) -> None:
    """Write the report to ``path`` through :func:`logaudit.fsio.replacing`: a temp file beside
    the file ``path`` resolves to (through symlinks), fsync, rename over it; a device or FIFO
    (``/dev/stdout``) is written directly.

    ``run`` is completed with the tool and rule-pack versions where it lacks them, and scrubbed
    (:func:`logaudit.scrub.scrub_data`): error text from storage libraries may quote credentials.
    ``csv_raw``: CSV cells verbatim, without the spreadsheet guards (see :class:`CsvWriter`).
    """
    writer = CsvWriter(raw=csv_raw) if fmt is ReportFormat.CSV else writer_for(fmt)
    record = scrub_data(complete_run(run))
    try:
        with replacing(path) as tmp:
            writer.write(df, tmp, record)
    except OSError as e:
        raise OutputError(f"{path}: cannot write the report ({e.strerror or type(e).__name__}); "
                          "check the directory exists and is writable") from None
