"""``logaudit scan PATH...``: options → library ``scan`` → writer → exit code."""

from __future__ import annotations

from pathlib import Path

import typer

from logaudit.api import ScanResult, scan
from logaudit.cli.console import (
    EXIT_CLEAN,
    EXIT_FINDINGS,
    EXIT_INCOMPLETE,
    err_console,
    error_line,
    fail,
    out_console,
    stderr_is_tty,
)
from logaudit.errors import ConfigError
from logaudit.logs import configure as configure_logging
from logaudit.reports.frame import SEVERITY_ORDER
from logaudit.reports.summary import one_line, severity_at_least
from logaudit.reports.table import render
from logaudit.reports.writers import ReportFormat, format_for_path, write_report
from logaudit.rules import PACKS, RuleSelection
from logaudit.runner import TaskResult
from logaudit.sources.limits import Limits, parse_size


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
    quiet: bool = typer.Option(False, "--quiet", "-q",
                               help="Nothing on a clean run; one summary line on findings."),
    show_secrets: bool = typer.Option(False, "--show-secrets",
                                      help="Show raw secret values (never the default)."),
    debug: bool = typer.Option(False, "--debug", help="Show tracebacks of internal errors."),
    log_file: str | None = typer.Option(None, "--log-file",
                                        help="Append logaudit's own structured log to FILE."),
    log_format: str = typer.Option("text", "--log-format", help="Log format: text or json."),
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
    except ConfigError as e:
        fail(str(e))
    except Exception as e:  # ReportError for an unknown extension
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
    result = _run(paths, selection, include, exclude, workers, show_secrets, engine,
                  scan_binary, show_progress, limits)
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
            err_console.print(one_line(df, result.counters.inputs_failed) + f" → {output}",
                              markup=False)
    elif quiet:
        if len(df) or result.incomplete:
            print(one_line(df, result.counters.inputs_failed))
    elif out_fmt is ReportFormat.TABLE:
        out_console.print(render(df, run, max_rows=max_rows))
    else:
        import tempfile

        with tempfile.TemporaryDirectory() as d:
            tmp = Path(d) / "report"
            write_report(df, str(tmp), out_fmt, run)
            if out_fmt is ReportFormat.PARQUET:
                fail("parquet is binary: write it to a file with -o FILE.parquet")
            typer.echo(tmp.read_text(encoding="utf-8"), nl=False)
    raise typer.Exit(code)


def _run(
    paths: list[str],
    selection: RuleSelection,
    include: list[str],
    exclude: list[str],
    workers: int,
    show_secrets: bool,
    engine: str,
    scan_binary: bool,
    show_progress: bool,
    limits: Limits | None = None,
) -> ScanResult:
    if not show_progress:
        return scan(paths, rules=selection, include=include, exclude=exclude,
                    workers=workers or None, show_secrets=show_secrets, backend=engine,
                    scan_binary=scan_binary, limits=limits)
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
                   "{task.fields[found]} finding(s)"),
        TimeElapsedColumn(), TimeRemainingColumn(), console=err_console, transient=True,
    ) as bar:
        task = bar.add_task("scan", total=None, mb=0.0, mbs=0.0, found=0)
        state = {"bytes": 0, "found": 0}

        def on_progress(event: str, res: TaskResult | None, total: int) -> None:
            if res is not None:
                state["bytes"] += res.bytes_scanned
                state["found"] += len(res.findings)
            elapsed = bar.tasks[0].elapsed or 1e-9
            bar.update(task, total=total, advance=int(event == "done"), mb=state["bytes"] / 1e6,
                       mbs=state["bytes"] / 1e6 / elapsed, found=state["found"])

        return scan(paths, rules=selection, include=include, exclude=exclude,
                    workers=workers or None, show_secrets=show_secrets, backend=engine,
                    scan_binary=scan_binary, progress=on_progress, limits=limits)
