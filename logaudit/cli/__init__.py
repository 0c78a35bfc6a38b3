"""The ``logaudit`` command: a thin typer layer over the library API."""

from __future__ import annotations

import os
import sys

import typer

from logaudit import __version__
from logaudit.cli.baseline import baseline_app
from logaudit.cli.config import config_app
from logaudit.cli.console import (
    EXIT_INCOMPLETE,
    EXIT_INTERRUPTED,
    EXIT_LOCKED,
    EXIT_USAGE,
    error_line,
    guard_stdout,
    traceback_lines,
)
from logaudit.cli.redact import redact_command
from logaudit.cli.report import report_command
from logaudit.cli.rules import rules_app
from logaudit.cli.scan import scan_command
from logaudit.errors import ConfigError, LogauditError
from logaudit.lifecycle import EXIT_TERMINATED, Interrupted, Terminated, terminate_raises
from logaudit.logs import write_failure

app = typer.Typer(
    name="logaudit",
    help="Audit log files for leaked secrets, PII and verbose error disclosure.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.command("scan", no_args_is_help=True)(scan_command)
app.add_typer(rules_app, name="rules")
app.add_typer(baseline_app, name="baseline")
app.command("report")(report_command)
app.command("redact", no_args_is_help=True)(redact_command)
app.add_typer(config_app, name="config")


def _version(value: bool) -> None:
    if value:
        print(f"logaudit {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                 help="Print the version and exit."),
) -> None:
    """Audit log files for leaked secrets, PII and verbose error disclosure."""


def main() -> None:
    """Console-script entry point: run the app, turn every error into one line and an exit code."""
    guard_stdout()
    try:
        _main()
    except SystemExit as e:
        code = e.code if isinstance(e.code, int) else (0 if e.code is None else EXIT_USAGE)
        sys.exit(_with_log_failure(code))


def _with_log_failure(code: int) -> int:
    """``code``, or 3 when ``--log-file`` could not be written (a full disk): the run's record is
    incomplete, said in one line. Usage errors (2) and a held lock (4) keep their code."""
    failure = write_failure()
    if failure is None:
        return code
    error_line(failure)
    kept = (EXIT_USAGE, EXIT_LOCKED, EXIT_INTERRUPTED, EXIT_TERMINATED)
    return code if code in kept else EXIT_INCOMPLETE


def _main() -> None:
    debug = "--debug" in sys.argv or bool(os.environ.get("LOGAUDIT_DEBUG"))
    try:
        with terminate_raises():
            rc = app(standalone_mode=False)
        sys.exit(rc if isinstance(rc, int) else 0)
    except typer.Exit as e:
        sys.exit(e.exit_code)
    except Terminated:
        error_line("terminated (SIGTERM): workers stopped, no report written, state not saved")
        sys.exit(EXIT_TERMINATED)
    except (Interrupted, KeyboardInterrupt):
        error_line("interrupted (Ctrl-C): workers stopped, no report written, state not saved")
        sys.exit(EXIT_INTERRUPTED)
    except ConfigError as e:
        error_line(str(e))
        sys.exit(EXIT_USAGE)
    except LogauditError as e:
        error_line(str(e))
        sys.exit(EXIT_INCOMPLETE)
    except typer.Abort:
        error_line("aborted")
        sys.exit(EXIT_INTERRUPTED)
    except typer.TyperException as e:  # usage errors: typer prints them with the usage line
        show = getattr(e, "show", None)
        if callable(show):
            show()
        else:
            error_line(str(e))
        sys.exit(int(getattr(e, "exit_code", EXIT_USAGE)))
    except Exception as e:  # anything unexpected
        if debug:
            traceback_lines()  # scrubbed: exception text may quote a secret
        # NOTE: only the exception type by default; a message could quote input bytes.
        error_line(f"internal error ({type(e).__name__}); the scan did not complete. "
                   "Run again with --debug for the traceback and report it.")
        sys.exit(EXIT_INCOMPLETE)
