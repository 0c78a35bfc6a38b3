"""``logaudit report FILE|DIR|GLOB...``: summaries, diff and trend over earlier reports."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import polars as pl
import typer

from logaudit.cli.console import EXIT_INCOMPLETE, fail, note_line, out_console
from logaudit.cli.options import CONFIG_OPTION, settings_from
from logaudit.cli.outputs import refuse_output_among
from logaudit.errors import ConfigError, LogauditError, OutputError
from logaudit.reports.frame import SCHEMA
from logaudit.reports.load import Loaded, expand, load
from logaudit.reports.query import (
    Filters,
    collect,
    diff,
    diff_rows,
    prepare,
    summarize,
    summary_table,
    trend,
    trend_table,
)
from logaudit.reports.table import render
from logaudit.reports.tables import table_text, write_table
from logaudit.reports.views import diff_view, summary_view, trend_view
from logaudit.reports.writers import ReportFormat, format_for_path, write_report
from logaudit.rules import Severity
from logaudit.settings import By, ReportSettings

D = ReportSettings()  # the defaults, shown by --help


def _run_record(loaded: list[Loaded], started: datetime, rows: int,
                filters: dict[str, Any]) -> dict[str, Any]:
    """The run record of a report made from earlier reports: their runs, files and filters."""
    runs = [r for ld in loaded for r in ld.runs]
    return {
        "run_id": "report-" + started.strftime("%Y%m%dT%H%M%SZ"), "kind": "report",
        "started": started.isoformat(), "finished": datetime.now(timezone.utc).isoformat(),
        "inputs": [{"path": p, "format": k.value} for ld in loaded for p, k in ld.files],
        "runs": runs, "filters": filters,
        "counters": {"inputs_scanned": sum(len(ld.files) for ld in loaded), "inputs_skipped": 0,
                     "inputs_failed": 0, "findings": rows,
                     "bytes_scanned": sum(int(r.get("counters", {}).get("bytes_scanned", 0))
                                          for r in runs)},
    }


def _emit(df: pl.DataFrame, output: str | None, fmt: ReportFormat | None,
          run: dict[str, Any], csv_raw: bool = False) -> None:
    if output:
        write_report(df, output, fmt or format_for_path(output), run, csv_raw=csv_raw)
        note_line(f"logaudit: {len(df)} finding(s) → {output}")
        return
    assert fmt is not None
    if fmt.binary:
        fail(f"{fmt.value} is binary: write it to a file with -o FILE.{fmt.value}")
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d) / "report"
        write_report(df, str(tmp), fmt, run, csv_raw=csv_raw)
        typer.echo(tmp.read_text(encoding="utf-8"), nl=False)


def report_command(
    ctx: typer.Context,
    paths: list[str] = typer.Argument(  # noqa: B008
        None, help="Reports to read: files, directories, globs (Parquet, JSONL, CSV or JSON, "
                   "told by content)."),
    by: By = typer.Option(D.by, "--by", help="Group by."),
    service_pattern: str | None = typer.Option(
        None, "--service-pattern",
        help="Regex over the path naming the service (first group); default: the directory "
             "holding the file."),
    top: int = typer.Option(D.top, "--top", help="Rows in the summary (0 = all)."),
    since: str | None = typer.Option(None, "--since", help="From this day/time (UTC)."),
    until: str | None = typer.Option(None, "--until", help="Up to this day/time (UTC)."),
    min_severity: Severity = typer.Option(D.min_severity, "--min-severity",
                                          help="Only findings at or above this severity."),
    diff_paths: tuple[str, str] | None = typer.Option(
        None, "--diff", metavar="OLD NEW",
        help="New, fixed and still-present findings of NEW against OLD, by fingerprint."),
    trend: bool = typer.Option(False, "--trend",
                               help="Findings per day per category, with a chart."),
    rows: bool = typer.Option(False, "--rows",
                              help="Write the selected findings (with --diff: the new ones), "
                                   "not the summary table."),
    output: str | None = typer.Option(None, "-o", "--output",
                                      help="Write the summary table (or with --rows the "
                                           "findings) to FILE; format from the extension."),
    format: ReportFormat | None = typer.Option(None, "--format", "-f",  # noqa: B008
                                               help="Format of -o, or of standard output "
                                                    "(the data alone, for pipes)."),
    csv_raw: bool = typer.Option(False, "--csv-raw",
                                 help="CSV cells verbatim, for programs: no leading ' on "
                                      "formula-like cells, control characters as they are."),
    config: str | None = CONFIG_OPTION,
) -> None:
    """Summarize earlier reports: counts, diff between runs, trend over days."""
    try:
        settings, _ = settings_from(ctx, ReportSettings, skip=("paths", "diff_paths"))
    except ConfigError as e:
        fail(str(e))
    run_report(paths or [], diff_paths, settings)


def run_report(paths: list[str], diff_paths: tuple[str, str] | None,
               s: ReportSettings) -> None:
    """Read the reports, summarize them as ``s`` says, then show the summary in the terminal,
    or write it (``-o``/``--format``) as a table, or (``--rows``) write the findings."""
    started = datetime.now(timezone.utc)
    filters = Filters(since=s.since, until=s.until, min_severity=s.min_severity.value,
                      service_pattern=s.service_pattern)
    output, fmt = s.output, s.out_format
    # Terminal view unless the output goes elsewhere in a format of its own.
    as_data = output is not None or fmt not in (None, ReportFormat.TABLE)
    try:
        refuse_output_among(output, _report_files([*diff_paths] if diff_paths else paths))
        if diff_paths:
            if paths:
                fail("--diff OLD NEW takes its two reports itself; drop the other paths")
            old, new = load([diff_paths[0]]), load([diff_paths[1]])
            lo = prepare(old.frame, filters, old.run_starts())
            ln = prepare(new.frame, filters, new.run_starts())
            record = _run_record([old, new], started, 0, _filters_dict(filters, diff=True))
            if s.rows:
                rows = collect(diff(lo, ln).new_findings.select(list(SCHEMA)))
                _emit(rows, output, fmt, {**record, "counters": {
                    **record["counters"], "findings": len(rows)}}, s.csv_raw)
            elif as_data:
                table = diff_rows(lo, ln, list(SCHEMA))
                _emit_table(table, output, fmt, _meta("diff", record, "new, fixed and still "
                                                      "present findings (OLD → NEW)"), s.csv_raw)
            else:
                d = diff(lo, ln)
                out_console.print(diff_view(d.per_rule, d.totals))
            return
        if not paths:
            fail("give the reports to read (FILE, DIR or GLOB), or --diff OLD NEW")
        loaded = load(paths)
        lf = prepare(loaded.frame, filters, loaded.run_starts())
        by = s.by.value
        record = _run_record([loaded], started, 0, _filters_dict(filters))
        if s.rows:
            rows = collect(lf.select(list(SCHEMA)))
            if output or fmt not in (None, ReportFormat.TABLE):
                _emit(rows, output, fmt, {**record, "counters": {
                    **record["counters"], "findings": len(rows)}}, s.csv_raw)
                return
            out_console.print(render(rows, record))
        elif s.trend:
            if as_data:
                _emit_table(trend_table(lf), output, fmt,
                            _meta("trend", record, "findings per day by category"), s.csv_raw)
            else:
                out_console.print(trend_view(trend(lf)))
        elif as_data:
            _emit_table(summary_table(lf, by, s.top or None), output, fmt,
                        _meta("by", record, f"findings by {by}", by=by, top=s.top), s.csv_raw)
        else:
            total = int(collect(lf.select(pl.len())).item())
            out_console.print(summary_view(summarize(lf, by, s.top or None), by, total))
    except OutputError as e:  # a full disk: the summary was not stored (exit 3)
        fail(str(e), EXIT_INCOMPLETE)
    except LogauditError as e:
        fail(str(e))
    except pl.exceptions.PolarsError as e:
        fail(f"cannot read the reports ({type(e).__name__}: {str(e).splitlines()[0][:200]})")


def _report_files(specs: list[str]) -> Iterator[str]:
    """The report files ``specs`` (files, directories, globs) name, listed only when asked;
    an unreadable spec is left to the load, which says why."""
    for spec in specs:
        try:
            yield from (str(f) for f, _ in expand([spec]))
        except LogauditError:
            yield spec


def _meta(kind: str, record: dict[str, Any], title: str, **extra: Any) -> dict[str, Any]:
    """What a summary table is: which summary, over which reports, with which filters."""
    return {"summary": kind, "title": f"logaudit: {title}", **extra,
            "generated": record["started"], "filters": record["filters"],
            "inputs": record["inputs"], "runs": [r.get("run_id") for r in record["runs"]]}


def _emit_table(df: pl.DataFrame, output: str | None, fmt: ReportFormat | None,
                meta: dict[str, Any], csv_raw: bool = False) -> None:
    fmt = fmt or ReportFormat.CSV
    if output:
        write_table(df, output, fmt, meta, csv_raw=csv_raw)
        note_line(f"logaudit: {meta['summary']} summary, {len(df)} row(s) → {output}")
        return
    typer.echo(table_text(df, fmt, meta, csv_raw=csv_raw), nl=False)


def _filters_dict(f: Filters, diff: bool = False) -> dict[str, Any]:
    return {"since": f.since.isoformat() if f.since else None,
            "until": f.until.isoformat() if f.until else None,
            "min_severity": f.min_severity, "service_pattern": f.service_pattern,
            "diff": diff}
