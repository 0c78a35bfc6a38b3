"""Console helpers: the stderr console, one-line errors, progress. Only ``cli`` draws."""

from __future__ import annotations

import sys
from typing import NoReturn

import typer
from rich.console import Console

err_console = Console(stderr=True, highlight=False, soft_wrap=True)
out_console = Console(highlight=False)

EXIT_CLEAN = 0
EXIT_FINDINGS = 1
EXIT_USAGE = 2
EXIT_INCOMPLETE = 3
EXIT_LOCKED = 4
EXIT_INTERRUPTED = 130


def error_line(message: str) -> None:
    """Print one error line to stderr (no markup interpretation of the message)."""
    err_console.print(f"logaudit: {message}", markup=False, style="red")


def fail(message: str, code: int = EXIT_USAGE) -> NoReturn:
    """Print ``message`` as one line and exit with ``code`` (2 by default: nothing scanned)."""
    error_line(message)
    raise typer.Exit(code)


def stderr_is_tty() -> bool:
    """Whether progress may be drawn."""
    return sys.stderr.isatty()
