"""``logaudit redact PATH...``: options → library ``redact`` → report (``-o``) → exit code."""

from __future__ import annotations

import os
import time
from pathlib import Path

import typer

from logaudit.cli.console import error_line, fail, note_line
from logaudit.cli.scan import exit_code
from logaudit.engine.prefilter import BACKENDS
from logaudit.errors import ReportError
from logaudit.logs import configure as configure_logging
from logaudit.redact import Replace, redact
from logaudit.reports.frame import SEVERITY_ORDER
from logaudit.reports.summary import one_line
from logaudit.reports.writers import ReportFormat, format_for_path, write_report
from logaudit.rules import PACKS, RuleSelection
from logaudit.runner import DEFAULT_MAX_PER_RULE
from logaudit.sources.limits import Limits, parse_size


def redact_command(
    paths: list[str] = typer.Argument(..., help="Files, directories (recursive), or - "
                                      "(standard input to standard output)."),
    out_dir: str | None = typer.Option(None, "--out-dir",
                                       help="Write redacted copies under DIR (paths kept)."),
    in_place: bool = typer.Option(False, "--in-place",
                                  help="Rewrite each file beside itself and rename over it."),
    replace: Replace = typer.Option(Replace.MASK, "--replace",
                                    help="mask (as scan shows), label ([REDACTED:rule-id]) or "
                                         "pseudonym (<rule-id:keyed-token>)."),
    output: str | None = typer.Option(None, "-o", "--output",
                                      help="Also write this run's findings to FILE."),
    fmt: ReportFormat | None = typer.Option(None, "--format", "-f",
                                            help="Format of -o (default: its extension)."),
    rules: list[Path] = typer.Option([], "--rules", help="Extra rule file (TOML); repeatable."),
    disable: list[str] = typer.Option([], "--disable", help="Disable a rule by id; repeatable."),
    enable: list[str] = typer.Option([], "--enable", help="Enable an off-by-default rule."),
    pack: str = typer.Option("default", "--pack", help=f"Rule pack: {', '.join(PACKS)}."),
    category: list[str] = typer.Option([], "--category", help="Only these categories."),
    fail_on: str = typer.Option("low", "--fail-on",
                                help="Exit 1 on findings at or above this severity."),
    include: list[str] = typer.Option([], "--include", help="Only files matching GLOB."),
    exclude: list[str] = typer.Option([], "--exclude", help="Skip files/dirs matching GLOB."),
    workers: int = typer.Option(0, "--workers", "-j", help="Worker processes (0 = all cores)."),
    engine: str = typer.Option("auto", "--engine",
                               help="Prefilter: auto, hyperscan or pyahocorasick."),
    scan_binary: bool = typer.Option(False, "--scan-binary",
                                     help="Redact binary files as text (else copied as is)."),
    max_decompressed: str = typer.Option("64G", "--max-decompressed",
                                         help="Per input: most bytes decompressed (0 = none)."),
    max_ratio: float = typer.Option(1000.0, "--max-ratio",
                                    help="Per input: highest decompression ratio (0 = no limit)."),
    max_members: int = typer.Option(100_000, "--max-members",
                                    help="Per input: most archive members (0 = no limit)."),
    max_depth: int = typer.Option(8, "--max-depth",
                                  help="Most nested archive/codec levels (0 = no limit)."),
    max_per_rule: int = typer.Option(
        DEFAULT_MAX_PER_RULE, "--max-findings-per-rule",
        help="List at most N findings of one rule per input in -o (all are redacted)."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No summary line."),
    debug: bool = typer.Option(False, "--debug", help="Show tracebacks of internal errors."),
    log_file: str | None = typer.Option(None, "--log-file",
                                        help="Append logaudit's own structured log to FILE."),
    log_format: str = typer.Option("text", "--log-format", help="Log format: text or json."),
) -> None:
    """Write copies of logs with every secret and PII value replaced (or rewrite them in place,
    or filter standard input to standard output)."""
    if log_format not in ("text", "json"):
        fail(f"--log-format: expected text or json, not {log_format!r}")
    try:
        configure_logging(log_file, log_format, "debug" if debug else "info")
    except OSError as e:
        fail(f"{log_file}: cannot open the log file ({e.strerror})")
    if fail_on not in SEVERITY_ORDER:
        fail(f"--fail-on: unknown severity {fail_on!r}; expected one of "
             + ", ".join(SEVERITY_ORDER))
    if engine not in BACKENDS:
        fail(f"--engine: expected one of {', '.join(BACKENDS)}, not {engine!r}")
    out_fmt: ReportFormat | None = None
    if output:
        output = time.strftime(output)
        try:
            out_fmt = fmt or format_for_path(output)
        except ReportError as e:
            fail(str(e))
        report_dir = os.path.dirname(os.path.abspath(output))
        if not os.path.isdir(report_dir) or not os.access(report_dir, os.W_OK):
            fail(f"{output}: cannot write the report there: {report_dir} is not a writable "
                 "directory; create it or choose another -o")
    elif fmt is not None:
        fail("--format needs -o FILE: standard output carries the redacted data or nothing")
    try:
        limits = Limits(parse_size(max_decompressed), max_ratio, max_members, max_depth)
    except ValueError as e:
        fail(f"--max-decompressed: {e}")
    selection = RuleSelection(rule_files=tuple(rules), disable=tuple(disable),
                              enable=tuple(enable), categories=tuple(category), pack=pack)
    result = redact(paths, out_dir=out_dir, in_place=in_place, replace=replace, rules=selection,
                    include=include, exclude=exclude, workers=workers or None, backend=engine,
                    scan_binary=scan_binary, limits=limits, max_per_rule=max_per_rule)
    for err in result.errors:
        if err.kind == "error":
            error_line(f"{err.path}: {err.reason}")
        elif not quiet:
            note_line(f"logaudit: skipped {err.path}: {err.reason}", style="dim")
    if output and out_fmt is not None:
        write_report(result.findings, output, out_fmt, result.run_record())
    if not quiet:
        where = (" in place" if in_place else f" → {out_dir}" if out_dir else "")
        summary = one_line(result.findings, result.counters.inputs_failed,
                           result.counters.findings_unlisted)
        note_line(f"logaudit: redacted {result.replaced} value(s) in "
                  f"{len(result.written)} file(s){where}; {summary}"
                  + (f" → {output}" if output else ""))
    raise typer.Exit(exit_code(result, fail_on))
