"""``logaudit scan PATH...``: options → library ``scan`` → writer → exit code."""

from __future__ import annotations

import contextlib
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import typer

from logaudit.api import ScanResult, scan
from logaudit.cli.console import (
    EXIT_CLEAN,
    EXIT_FINDINGS,
    EXIT_INCOMPLETE,
    EXIT_LOCKED,
    err_console,
    error_line,
    fail,
    note_line,
    out_console,
    out_line,
    stderr_is_tty,
)
from logaudit.cli.options import CONFIG_OPTION, settings_from
from logaudit.cli.outputs import refuse_output_among, scan_inputs
from logaudit.errors import ConfigError, ReportError
from logaudit.escaping import escape_control
from logaudit.fsio import check_writable
from logaudit.logs import configure as configure_logging
from logaudit.reports.summary import one_line, severity_at_least
from logaudit.reports.table import render
from logaudit.reports.writers import ReportFormat, write_report
from logaudit.reports.writers.interface import location
from logaudit.rules import PACKS, Severity
from logaudit.runner import TaskResult
from logaudit.settings import Engine, Executor, LogFormat, ScanSettings
from logaudit.state import LockedError, state_lock

D = ScanSettings()  # the defaults, shown by --help


def exit_code(result: ScanResult, fail_on: str) -> int:
    """3 if any input could not be read, else 1 on findings at or above ``fail_on``, else 0."""
    if result.incomplete:
        return EXIT_INCOMPLETE
    if len(severity_at_least(result.findings, fail_on)):
        return EXIT_FINDINGS
    return EXIT_CLEAN


def scan_command(
    ctx: typer.Context,
    paths: list[str] = typer.Argument(..., help="Files, directories (recursive), or - for stdin."),
    output: str | None = typer.Option(None, "-o", "--output",
                                      help="Write the findings to FILE (format from extension)."),
    format: ReportFormat | None = typer.Option(None, "--format", "-f", help="Output format."),
    rules: list[Path] = typer.Option([], "--rules", help="Extra rule file (TOML); repeatable."),
    disable: list[str] = typer.Option([], "--disable", help="Disable a rule by id; repeatable."),
    enable: list[str] = typer.Option([], "--enable",
                                     help="Enable an off-by-default rule (e.g. ipv4-address)."),
    pack: str = typer.Option(D.pack, "--pack", help=f"Rule pack: {', '.join(PACKS)}."),
    category: list[str] = typer.Option([], "--category", help="Only these categories."),
    min_severity: Severity = typer.Option(D.min_severity, "--min-severity",
                                          help="Report only findings at or above this severity."),
    fail_on: Severity = typer.Option(D.fail_on, "--fail-on",
                                     help="Exit 1 on findings at or above this severity."),
    include: list[str] = typer.Option([], "--include", help="Only files matching GLOB."),
    exclude: list[str] = typer.Option([], "--exclude", help="Skip files/dirs matching GLOB."),
    workers: int = typer.Option(D.workers, "--workers", "-j",
                                help="Worker processes (0 = all cores)."),
    engine: Engine = typer.Option(D.engine, "--engine", help="Prefilter backend."),
    scan_binary: bool = typer.Option(False, "--scan-binary", help="Scan binary files as text."),
    skip_binary: bool = typer.Option(
        False, "--skip-binary",
        help="Skip a binary file or device named on the command line without exit 3."),
    max_decompressed: str = typer.Option("64G", "--max-decompressed",
                                         help="Per input: most bytes decompressed (0 = none)."),
    max_ratio: float = typer.Option(D.max_ratio, "--max-ratio",
                                    help="Per input: highest decompression ratio (0 = no limit)."),
    max_members: int = typer.Option(D.max_members, "--max-members",
                                    help="Per input: most archive members (0 = no limit)."),
    max_depth: int = typer.Option(D.max_depth, "--max-depth",
                                  help="Most nested archive/codec levels (0 = no limit)."),
    max_rows: int = typer.Option(D.max_rows, "--max-rows",
                                 help="Findings shown in the terminal report."),
    max_per_rule: int = typer.Option(
        D.max_per_rule, "--max-findings-per-rule",
        help="List at most N findings of one rule per input; count the rest (0 = list all)."),
    quiet: bool = typer.Option(False, "--quiet", "-q",
                               help="Nothing on a clean run; one summary line on findings, "
                                    "errors or skipped inputs."),
    show_secrets: bool = typer.Option(False, "--show-secrets",
                                      help="Show raw secret values (never the default)."),
    debug: bool = typer.Option(False, "--debug", help="Show tracebacks of internal errors."),
    log_file: str | None = typer.Option(None, "--log-file",
                                        help="Append logaudit's own structured log to FILE."),
    log_format: LogFormat = typer.Option(D.log_format, "--log-format", help="Log format."),
    state: str | None = typer.Option(None, "--state",
                                     help="Incremental: scan only new files and appended bytes, "
                                          "remembered in FILE (locked while running)."),
    wait: float = typer.Option(D.wait, "--wait",
                               help="With --state: wait up to SECONDS for another run's lock."),
    baseline: str | None = typer.Option(None, "--baseline",
                                        help="Report only findings not accepted in FILE."),
    executor: Executor = typer.Option(D.executor, "--executor",
                                      help="Where tasks run: local (processes) or dask "
                                           "(a cluster)."),
    scheduler: str | None = typer.Option(None, "--scheduler",
                                         help="Dask scheduler ADDRESS (tcp://host:8786; also "
                                              "$DASK_SCHEDULER_ADDRESS); none: a local cluster "
                                              "on 127.0.0.1."),
    storage_option: list[str] = typer.Option([], "--storage-option",
                                             help="fsspec option KEY=VALUE for URL paths "
                                                  "(s3://…); repeatable."),
    show_allowed: bool = typer.Option(False, "--show-allowed",
                                      help="List the findings allowlist entries allowed."),
    csv_raw: bool = typer.Option(False, "--csv-raw",
                                 help="CSV cells verbatim, for programs: no leading ' on "
                                      "formula-like cells, control characters as they are."),
    config: str | None = CONFIG_OPTION,
) -> None:
    """Scan logs for secrets, PII and verbose errors."""
    # parse → settings (every option checked, nothing opened yet) → library call → render
    try:
        settings, _ = settings_from(ctx, ScanSettings)
    except ConfigError as e:
        fail(str(e))
    raise typer.Exit(run_scan(paths, settings))


def run_scan(paths: list[str], s: ScanSettings) -> int:
    """Run a scan with checked settings and render it; returns the exit code."""
    try:
        configure_logging(s.log_file, s.log_format.value, "debug" if s.debug else "info")
    except OSError as e:
        fail(f"{s.log_file}: cannot open the log file ({e.strerror})")
    output = time.strftime(s.output) if s.output else None  # -o /var/lib/x/%Y-%m-%d.parquet
    if output:
        problem = check_writable(output)
        if problem:
            fail(f"{output}: cannot write the report there: {problem}; "
                 "create the directory or choose another -o")
        refuse_output_among(output, scan_inputs(output, paths, s.include, s.exclude))
    if s.state:
        problem = check_writable(s.state)
        if problem:
            fail(f"{s.state}: cannot save the state there: {problem}; choose another --state")
    show_progress = not s.quiet and stderr_is_tty()
    lock = state_lock(s.state, s.wait) if s.state else contextlib.nullcontext()
    try:
        with lock:
            return _scan_and_report(paths, s, output, show_progress)
    except LockedError as e:
        fail(str(e), EXIT_LOCKED)


def _scan_and_report(paths: list[str], s: ScanSettings, output: str | None,
                     show_progress: bool) -> int:
    """Scan, write the report, then (only then) commit the incremental state."""
    result = _run(paths, show_progress, s)
    for err in result.errors:
        if err.kind == "error":
            error_line(f"{err.path}: {err.reason}")
        elif err.kind == "warning" and not s.quiet:
            note_line(f"logaudit: warning: {err.path}: {err.reason}")
        elif not s.quiet:
            note_line(f"logaudit: skipped {err.path}: {err.reason}", style="dim")
    code = exit_code(result, s.fail_on.value)
    try:
        _write_output(result, s, output)
    except ReportError as e:
        # Nothing is committed: the next run rescans what this one scanned.
        raise ReportError(f"{e}" + ("; the state was not saved (the next run rescans these "
                                    "inputs)" if s.state else "")) from None
    # NOTE: the state moves forward only after the report is safely written: a run killed
    # before this line is rescanned, whole, by the next run.
    try:
        result.commit_state()
    except OSError as e:
        error_line(f"{s.state}: cannot save the state ({e.strerror or type(e).__name__}); the "
                   "report is complete, but the state was not saved: the next run rescans "
                   "what this one scanned")
        return EXIT_INCOMPLETE
    return code


def _write_output(result: ScanResult, s: ScanSettings, output: str | None) -> None:
    """The report (``-o`` or standard output) and the notes after it on stderr."""
    run = result.run_record()
    quiet = s.quiet
    df = result.findings
    out_fmt = s.out_format
    if output:
        write_report(df, output, out_fmt, run, csv_raw=s.csv_raw)
        if not quiet:
            summary = one_line(df, result.counters.inputs_failed,
                               result.counters.findings_unlisted, result.counters.allowed,
                               result.counters.inputs_skipped)
            note_line(summary + f" → {output}")
    elif quiet:
        # A skipped input is not silent under -q: something was not read.
        if len(df) or result.incomplete or result.counters.inputs_skipped:
            out_line(one_line(df, result.counters.inputs_failed, result.counters.findings_unlisted,
                              result.counters.allowed, result.counters.inputs_skipped))
    elif out_fmt is ReportFormat.TABLE:
        out_console.print(render(df, run, max_rows=s.max_rows))
    else:
        with tempfile.TemporaryDirectory() as d:
            tmp = Path(d) / "report"
            write_report(df, str(tmp), out_fmt, run, csv_raw=s.csv_raw)
            sys.stdout.write(tmp.read_text(encoding="utf-8"))
            sys.stdout.flush()
    unlisted = result.extra.get("unlisted")
    if unlisted and not quiet:
        for rid, n in unlisted["by_rule"].items():
            note_line(
                f"logaudit: {rid}: {n} more finding(s) counted but not listed (at most "
                f"{unlisted['limit_per_rule_and_input']} per rule and input; "
                "--max-findings-per-rule 0 lists all)")
    b = result.extra.get("baseline")
    if b and not quiet:
        note_line(
            f"logaudit: baseline {b['file']}: {b['suppressed']} finding(s) suppressed; "
            f"{b['stale']} baseline entr{'y' if b['stale'] == 1 else 'ies'} no longer occur"
            + (" (remove them with 'logaudit baseline prune')" if b["stale"] else ""))
    allowed = result.extra.get("allowed")
    if allowed and not quiet:
        _print_allowed(allowed, result, s.show_allowed)


def _print_allowed(allowed: dict[str, Any], result: ScanResult, show: bool) -> None:
    """The allowlist's outcome on stderr: allowed per entry, stale entries; with
    ``--show-allowed`` the allowed findings (masked) on stdout."""
    used = [e for e in allowed["entries"] if e["allowed"]]
    err_console.print(
        f"logaudit: allowlist: {allowed['allowed']} finding(s) allowed"
        + (" (" + "; ".join(f"{e['where']}: {e['allowed']}" for e in used) + ")" if used else "")
        + ("" if show or not allowed["allowed"] else "; --show-allowed lists them"),
        markup=False)
    for e in allowed["entries"]:
        if not e["allowed"]:
            err_console.print(f"logaudit: allowlist: {e['where']}: stale, allowed nothing in "
                              f"this run ({e['reason']}); remove it if it is no longer needed",
                              markup=False)
    if show and len(result.allowed):
        from rich.table import Table
        from rich.text import Text

        t = Table(title=f"Allowed findings ({len(result.allowed)})", title_justify="left")
        for col in ("rule", "location", "match"):
            t.add_column(col, overflow="fold")
        for r in result.allowed.iter_rows(named=True):
            # Names and values are chosen by whoever wrote the logs: escaped, never obeyed.
            t.add_row(Text(escape_control(r["rule_id"])), Text(escape_control(location(r))),
                      Text(escape_control(r["match"])))
        out_console.print(t)


def _run(paths: list[str], show_progress: bool, s: ScanSettings) -> ScanResult:
    if not show_progress:
        return scan(paths, s)
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    with Progress(
        TextColumn("[bold]scanning"), BarColumn(), MofNCompleteColumn(),
        TextColumn("{task.fields[mb]:.1f} MB · {task.fields[mbs]:.0f} MB/s · "
                   "{task.fields[found]} finding(s){task.fields[wk]}"),
        TimeElapsedColumn(), TimeRemainingColumn(), console=err_console, transient=True,
    ) as bar:
        task = bar.add_task("scan", total=None, mb=0.0, mbs=0.0, found=0, wk="")
        counts = {"bytes": 0, "found": 0}

        def on_progress(event: str, res: TaskResult | None, total: int) -> None:
            if event == "workers":  # a Dask cluster's size (``total`` is the worker count)
                bar.update(task, wk=f" · {total} worker(s)")
                return
            if res is not None:
                counts["bytes"] += res.bytes_scanned
                counts["found"] += len(res.findings)
            elapsed = bar.tasks[0].elapsed or 1e-9
            bar.update(task, total=total, advance=int(event == "done"),
                       mb=counts["bytes"] / 1e6, mbs=counts["bytes"] / 1e6 / elapsed,
                       found=counts["found"])

        return scan(paths, s, progress=on_progress)
