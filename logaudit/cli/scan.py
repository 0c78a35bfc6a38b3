"""``logaudit scan PATH...``: options → library ``scan`` → writer → exit code."""

from __future__ import annotations

import contextlib
import os
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
    out_console,
    stderr_is_tty,
)
from logaudit.engine.prefilter import BACKENDS, hyperscan_available
from logaudit.errors import ConfigError, ReportError
from logaudit.executors import EXECUTORS
from logaudit.logs import configure as configure_logging
from logaudit.reports.frame import SEVERITY_ORDER
from logaudit.reports.summary import one_line, severity_at_least
from logaudit.reports.table import render
from logaudit.reports.writers import ReportFormat, format_for_path, write_report
from logaudit.rules import PACKS, RuleSelection
from logaudit.runner import DEFAULT_MAX_PER_RULE, TaskResult
from logaudit.sources.limits import Limits, parse_size
from logaudit.sources.remote import parse_storage_options
from logaudit.state import LockedError, state_lock


def exit_code(result: ScanResult, fail_on: str) -> int:
    """3 if any input could not be read, else 1 on findings at or above ``fail_on``, else 0."""
    if result.incomplete:
        return EXIT_INCOMPLETE
    if len(severity_at_least(result.findings, fail_on)):
        return EXIT_FINDINGS
    return EXIT_CLEAN


def scan_command(
    paths: list[str] = typer.Argument(..., help="Files, directories (recursive), or - for stdin."),
    output: str | None = typer.Option(None, "-o", "--output",
                                      help="Write the findings to FILE (format from extension)."),
    fmt: ReportFormat | None = typer.Option(None, "--format", "-f", help="Output format."),
    rules: list[Path] = typer.Option([], "--rules", help="Extra rule file (TOML); repeatable."),
    disable: list[str] = typer.Option([], "--disable", help="Disable a rule by id; repeatable."),
    enable: list[str] = typer.Option([], "--enable",
                                     help="Enable an off-by-default rule (e.g. ipv4-address)."),
    pack: str = typer.Option("default", "--pack", help=f"Rule pack: {', '.join(PACKS)}."),
    category: list[str] = typer.Option([], "--category", help="Only these categories."),
    min_severity: str = typer.Option("info", "--min-severity",
                                     help="Report only findings at or above this severity."),
    fail_on: str = typer.Option("low", "--fail-on",
                                help="Exit 1 on findings at or above this severity."),
    include: list[str] = typer.Option([], "--include", help="Only files matching GLOB."),
    exclude: list[str] = typer.Option([], "--exclude", help="Skip files/dirs matching GLOB."),
    workers: int = typer.Option(0, "--workers", "-j", help="Worker processes (0 = all cores)."),
    engine: str = typer.Option("auto", "--engine",
                               help="Prefilter: auto, hyperscan or pyahocorasick."),
    scan_binary: bool = typer.Option(False, "--scan-binary", help="Scan binary files as text."),
    max_decompressed: str = typer.Option("64G", "--max-decompressed",
                                         help="Per input: most bytes decompressed (0 = none)."),
    max_ratio: float = typer.Option(1000.0, "--max-ratio",
                                    help="Per input: highest decompression ratio (0 = no limit)."),
    max_members: int = typer.Option(100_000, "--max-members",
                                    help="Per input: most archive members (0 = no limit)."),
    max_depth: int = typer.Option(8, "--max-depth",
                                  help="Most nested archive/codec levels (0 = no limit)."),
    max_rows: int = typer.Option(50, "--max-rows", help="Findings shown in the terminal report."),
    max_per_rule: int = typer.Option(
        DEFAULT_MAX_PER_RULE, "--max-findings-per-rule",
        help="List at most N findings of one rule per input; count the rest (0 = list all)."),
    quiet: bool = typer.Option(False, "--quiet", "-q",
                               help="Nothing on a clean run; one summary line on findings."),
    show_secrets: bool = typer.Option(False, "--show-secrets",
                                      help="Show raw secret values (never the default)."),
    debug: bool = typer.Option(False, "--debug", help="Show tracebacks of internal errors."),
    log_file: str | None = typer.Option(None, "--log-file",
                                        help="Append logaudit's own structured log to FILE."),
    log_format: str = typer.Option("text", "--log-format", help="Log format: text or json."),
    state: str | None = typer.Option(None, "--state",
                                     help="Incremental: scan only new files and appended bytes, "
                                          "remembered in FILE (locked while running)."),
    wait: float = typer.Option(0.0, "--wait",
                               help="With --state: wait up to SECONDS for another run's lock."),
    baseline: str | None = typer.Option(None, "--baseline",
                                        help="Report only findings not accepted in FILE."),
    executor: str = typer.Option("local", "--executor",
                                 help="Where tasks run: local (processes) or dask (a cluster)."),
    scheduler: str | None = typer.Option(None, "--scheduler", envvar="DASK_SCHEDULER_ADDRESS",
                                         help="Dask scheduler ADDRESS (tcp://host:8786); "
                                              "none: a local cluster on 127.0.0.1."),
    storage_option: list[str] = typer.Option([], "--storage-option",
                                             help="fsspec option KEY=VALUE for URL paths "
                                                  "(s3://…); repeatable."),
) -> None:
    """Scan logs for secrets, PII and verbose errors."""
    if log_format not in ("text", "json"):
        fail(f"--log-format: expected text or json, not {log_format!r}")
    try:
        configure_logging(log_file, log_format, "debug" if debug else "info")
    except OSError as e:
        fail(f"{log_file}: cannot open the log file ({e.strerror})")
    if fail_on not in SEVERITY_ORDER:
        fail(f"--fail-on: unknown severity {fail_on!r}; expected one of "
             + ", ".join(SEVERITY_ORDER))
    try:
        out_fmt = fmt or (format_for_path(output) if output else ReportFormat.TABLE)
    except ReportError as e:  # an extension that names no format
        fail(str(e))
    selection = RuleSelection(
        rule_files=tuple(rules), disable=tuple(disable), enable=tuple(enable),
        categories=tuple(category), min_severity=min_severity, pack=pack,
    )
    show_progress = not quiet and stderr_is_tty()
    try:
        limits = Limits(parse_size(max_decompressed), max_ratio, max_members, max_depth)
    except ValueError as e:
        fail(f"--max-decompressed: {e}")
    if engine not in BACKENDS:
        fail(f"--engine: expected one of {', '.join(BACKENDS)}, not {engine!r}")
    if engine == "hyperscan" and not hyperscan_available():
        fail("--engine hyperscan: the hyperscan module does not import on this machine; "
             "use --engine pyahocorasick (or auto)")
    if output:
        output = time.strftime(output)  # date templates: -o /var/lib/logaudit/%Y-%m-%d.parquet
        out_dir = os.path.dirname(os.path.abspath(output))
        if not os.path.isdir(out_dir) or not os.access(out_dir, os.W_OK):
            fail(f"{output}: cannot write the report there: {out_dir} is not a writable "
                 "directory; create it or choose another -o")
    kwargs: dict[str, Any] = {
        "rules": selection, "include": include, "exclude": exclude,
        "workers": workers or None, "show_secrets": show_secrets, "backend": engine,
        "scan_binary": scan_binary, "limits": limits, "state": state, "baseline": baseline,
        "max_per_rule": max_per_rule,
    }
    if executor not in EXECUTORS:
        fail(f"--executor: expected one of {', '.join(EXECUTORS)}, not {executor!r}")
    try:
        kwargs["storage_options"] = parse_storage_options(storage_option)
    except ConfigError as e:
        fail(str(e))
    kwargs.update(executor=executor, scheduler=scheduler)
    lock = state_lock(state, wait) if state else contextlib.nullcontext()
    try:
        with lock:
            code = _scan_and_report(paths, kwargs, show_progress, output, out_fmt, fail_on,
                                    quiet, max_rows)
    except LockedError as e:
        fail(str(e), EXIT_LOCKED)
    raise typer.Exit(code)


def _scan_and_report(paths: list[str], kwargs: dict[str, Any], show_progress: bool,
                     output: str | None, out_fmt: ReportFormat, fail_on: str, quiet: bool,
                     max_rows: int) -> int:
    """Scan, write the report, then (only then) commit the incremental state."""
    result = _run(paths, show_progress, kwargs)
    run = result.run_record()
    for err in result.errors:
        if err.kind == "error":
            error_line(f"{err.path}: {err.reason}")
        elif not quiet:
            err_console.print(f"logaudit: skipped {err.path}: {err.reason}", markup=False,
                              style="dim")
    df = result.findings
    code = exit_code(result, fail_on)
    if output:
        write_report(df, output, out_fmt, run)
        if not quiet:
            summary = one_line(df, result.counters.inputs_failed,
                               result.counters.findings_unlisted)
            err_console.print(summary + f" → {output}", markup=False)
    elif quiet:
        if len(df) or result.incomplete:
            print(one_line(df, result.counters.inputs_failed, result.counters.findings_unlisted))
    elif out_fmt is ReportFormat.TABLE:
        out_console.print(render(df, run, max_rows=max_rows))
    else:
        if out_fmt is ReportFormat.PARQUET:
            fail("parquet is binary: write it to a file with -o FILE.parquet")
        with tempfile.TemporaryDirectory() as d:
            tmp = Path(d) / "report"
            write_report(df, str(tmp), out_fmt, run)
            sys.stdout.write(tmp.read_text(encoding="utf-8"))
            sys.stdout.flush()
    unlisted = result.extra.get("unlisted")
    if unlisted and not quiet:
        for rid, n in unlisted["by_rule"].items():
            err_console.print(
                f"logaudit: {rid}: {n} more finding(s) counted but not listed (at most "
                f"{unlisted['limit_per_rule_and_input']} per rule and input; "
                "--max-findings-per-rule 0 lists all)", markup=False)
    b = result.extra.get("baseline")
    if b and not quiet:
        err_console.print(
            f"logaudit: baseline {b['file']}: {b['suppressed']} finding(s) suppressed; "
            f"{b['stale']} baseline entr{'y' if b['stale'] == 1 else 'ies'} no longer occur"
            + (" (remove them with 'logaudit baseline prune')" if b["stale"] else ""),
            markup=False)
    # NOTE: the state moves forward only after the report is safely written: a run killed
    # before this line is rescanned, whole, by the next run.
    result.commit_state()
    return code


def _run(paths: list[str], show_progress: bool, kwargs: dict[str, Any]) -> ScanResult:
    if not show_progress:
        return scan(paths, **kwargs)
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

        return scan(paths, progress=on_progress, **kwargs)
