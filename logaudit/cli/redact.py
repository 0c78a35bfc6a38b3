"""``logaudit redact PATH...``: options → library ``redact`` → report (``-o``) → exit code."""

from __future__ import annotations

import os
import time
from pathlib import Path

import typer

from logaudit.cli.console import error_line, fail, note_line
from logaudit.cli.options import CONFIG_OPTION, settings_from
from logaudit.cli.outputs import refuse_output_among, scan_inputs
from logaudit.cli.scan import exit_code
from logaudit.errors import ConfigError
from logaudit.logs import configure as configure_logging
from logaudit.redact import redact
from logaudit.reports.summary import one_line
from logaudit.reports.writers import ReportFormat, write_report
from logaudit.rules import PACKS, Severity
from logaudit.settings import Engine, LogFormat, RedactSettings, Replace

D = RedactSettings()  # the defaults, shown by --help


def redact_command(
    ctx: typer.Context,
    paths: list[str] = typer.Argument(..., help="Files, directories (recursive), or - "
                                      "(standard input to standard output)."),
    out_dir: str | None = typer.Option(None, "--out-dir",
                                       help="Write redacted copies under DIR (paths kept)."),
    in_place: bool = typer.Option(False, "--in-place",
                                  help="Rewrite each file beside itself and rename over it."),
    replace: Replace = typer.Option(D.replace, "--replace",
                                    help="mask (as scan shows), label ([REDACTED:rule-id]) or "
                                         "pseudonym (<rule-id#keyed-token>)."),
    output: str | None = typer.Option(None, "-o", "--output",
                                      help="Also write this run's findings to FILE."),
    format: ReportFormat | None = typer.Option(None, "--format", "-f",
                                               help="Format of -o (default: its extension)."),
    rules: list[Path] = typer.Option([], "--rules", help="Extra rule file (TOML); repeatable."),
    disable: list[str] = typer.Option([], "--disable", help="Disable a rule by id; repeatable."),
    enable: list[str] = typer.Option([], "--enable", help="Enable an off-by-default rule."),
    pack: str = typer.Option(D.pack, "--pack", help=f"Rule pack: {', '.join(PACKS)}."),
    category: list[str] = typer.Option([], "--category", help="Only these categories."),
    fail_on: Severity = typer.Option(D.fail_on, "--fail-on",
                                     help="Exit 1 on findings at or above this severity."),
    include: list[str] = typer.Option([], "--include", help="Only files matching GLOB."),
    exclude: list[str] = typer.Option([], "--exclude", help="Skip files/dirs matching GLOB."),
    workers: int = typer.Option(D.workers, "--workers", "-j",
                                help="Worker processes (0 = all cores)."),
    engine: Engine = typer.Option(D.engine, "--engine", help="Prefilter backend."),
    scan_binary: bool = typer.Option(False, "--scan-binary",
                                     help="Redact binary files as text (else copied as is)."),
    max_decompressed: str = typer.Option("64G", "--max-decompressed",
                                         help="Per input: most bytes decompressed (0 = none)."),
    max_ratio: float = typer.Option(D.max_ratio, "--max-ratio",
                                    help="Per input: highest decompression ratio (0 = no limit)."),
    max_members: int = typer.Option(D.max_members, "--max-members",
                                    help="Per input: most archive members (0 = no limit)."),
    max_depth: int = typer.Option(D.max_depth, "--max-depth",
                                  help="Most nested archive/codec levels (0 = no limit)."),
    max_per_rule: int = typer.Option(
        D.max_per_rule, "--max-findings-per-rule",
        help="List at most N findings of one rule per input in -o (all are redacted)."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No summary line."),
    debug: bool = typer.Option(False, "--debug", help="Show tracebacks of internal errors."),
    log_file: str | None = typer.Option(None, "--log-file",
                                        help="Append logaudit's own structured log to FILE."),
    log_format: LogFormat = typer.Option(D.log_format, "--log-format", help="Log format."),
    config: str | None = CONFIG_OPTION,
) -> None:
    """Write copies of logs with every secret and PII value replaced (or rewrite them in place,
    or filter standard input to standard output)."""
    try:
        settings, _ = settings_from(ctx, RedactSettings)
    except ConfigError as e:
        fail(str(e))
    raise typer.Exit(run_redact(paths, settings))


def run_redact(paths: list[str], s: RedactSettings) -> int:
    """Run a redaction with checked settings; write the report; return the exit code."""
    try:
        configure_logging(s.log_file, s.log_format.value, "debug" if s.debug else "info")
    except OSError as e:
        fail(f"{s.log_file}: cannot open the log file ({e.strerror})")
    output = time.strftime(s.output) if s.output else None
    if output:
        report_dir = os.path.dirname(os.path.abspath(output))
        if not os.path.isdir(report_dir) or not os.access(report_dir, os.W_OK):
            fail(f"{output}: cannot write the report there: {report_dir} is not a writable "
                 "directory; create it or choose another -o")
        refuse_output_among(output, scan_inputs(output, paths, s.include, s.exclude))
    result = redact(paths, s)
    for err in result.errors:
        if err.kind == "error":
            error_line(f"{err.path}: {err.reason}")
        elif not s.quiet:
            note_line(f"logaudit: skipped {err.path}: {err.reason}", style="dim")
    out_fmt = s.out_format
    if output and out_fmt is not None:
        write_report(result.findings, output, out_fmt, result.run_record())
    if not s.quiet:
        where = " in place" if s.in_place else f" → {s.out_dir}" if s.out_dir else ""
        summary = one_line(result.findings, result.counters.inputs_failed,
                           result.counters.findings_unlisted).removeprefix("logaudit: ")
        target = ("from standard input" if list(paths) == ["-"]
                  else f"in {len(result.written)} file(s){where}")
        note_line(f"logaudit: redacted {result.replaced} value(s) {target}; {summary}"
                  + (f" → {output}" if output else ""))
    return exit_code(result, s.fail_on.value)
