"""``logaudit baseline create|update|prune``: accepted findings, by keyed fingerprint."""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from typing import Any

import typer

from logaudit.api import scan
from logaudit.baseline import Baseline, default_who, key_id, load_baseline, save_baseline
from logaudit.cli.console import EXIT_INCOMPLETE, error_line, fail, out_line
from logaudit.findings import load_key
from logaudit.rules import PACKS
from logaudit.scrub import name_text

baseline_app = typer.Typer(
    help="Accept known findings so that scans report only new ones.", no_args_is_help=True)

_PATHS = typer.Argument(None, help="Logs to scan for the findings to accept.")
_REPORTS = typer.Option([], "--from-report",
                        help="Take the findings from an earlier report (jsonl/csv/parquet/json).")
_PACK = typer.Option("default", "--pack", help=f"Rule pack: {', '.join(PACKS)}.")


def _rows(paths: list[str] | None, reports: list[str], pack: str) -> Iterator[Mapping[str, Any]]:
    if not paths and not reports:
        fail("give PATHs to scan or --from-report FILE")
    if reports:
        from logaudit.reports.load import load

        frame = load(reports).frame.select("fingerprint", "rule_id", "category", "severity",
                                           "path").collect()
        yield from frame.iter_rows(named=True)
    if paths:
        result = scan(paths, pack=pack)
        for e in result.errors:
            error_line(f"{name_text(e.path)}: {e.reason}")
        if result.incomplete:
            fail("some inputs could not be read; the baseline was not changed", EXIT_INCOMPLETE)
        yield from result.findings.iter_rows(named=True)


@baseline_app.command("create")
def create(
    baseline: str = typer.Argument(..., help="The baseline file to write (JSON)."),
    paths: list[str] | None = _PATHS,
    reports: list[str] = _REPORTS,
    who: str = typer.Option("", "--who", help="Who accepts these findings (default: $USER)."),
    why: str = typer.Option("", "--why", help="Why they are accepted."),
    force: bool = typer.Option(False, "--force", help="Overwrite an existing baseline."),
    pack: str = _PACK,
) -> None:
    """Create a baseline from a scan (or earlier reports): these findings become accepted."""
    if os.path.exists(baseline) and not force:
        fail(f"{baseline}: already exists; use 'baseline update', or --force to replace it")
    b = Baseline(key_id=key_id(load_key()))
    n = b.add(_rows(paths, reports, pack), who or default_who(), why)
    save_baseline(baseline, b)
    out_line(f"{baseline}: {n} finding(s) accepted")


@baseline_app.command("update")
def update(
    baseline: str = typer.Argument(..., help="The baseline file to update."),
    paths: list[str] | None = _PATHS,
    reports: list[str] = _REPORTS,
    who: str = typer.Option("", "--who", help="Who accepts the new findings (default: $USER)."),
    why: str = typer.Option("", "--why", help="Why they are accepted."),
    pack: str = _PACK,
) -> None:
    """Add the findings of a scan (or reports) that the baseline does not hold yet."""
    b = load_baseline(baseline, load_key(), missing_ok=True)
    n = b.add(_rows(paths, reports, pack), who or default_who(), why)
    save_baseline(baseline, b)
    out_line(f"{baseline}: {n} new finding(s) accepted, {len(b.entries)} in all")


@baseline_app.command("prune")
def prune(
    baseline: str = typer.Argument(..., help="The baseline file to prune."),
    paths: list[str] | None = _PATHS,
    reports: list[str] = _REPORTS,
    pack: str = _PACK,
) -> None:
    """Drop accepted findings that no longer occur in a scan (or reports)."""
    b = load_baseline(baseline, load_key())
    seen = {str(r["fingerprint"]) for r in _rows(paths, reports, pack)}
    n = b.prune(seen)
    save_baseline(baseline, b)
    out_line(f"{baseline}: {n} entr{'y' if n == 1 else 'ies'} removed, "
                      f"{len(b.entries)} left")
