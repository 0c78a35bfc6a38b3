"""Console helpers: the stderr console, one-line errors, progress. Only ``cli`` draws.

Everything printed here may quote hostile bytes (file names, archive members, messages from
storage libraries): messages go through :func:`logaudit.escaping.escape_control` (control
characters shown as ``\\x1b``, never obeyed) and are never read as rich markup.
"""

from __future__ import annotations

import os
import sys
from typing import Any, NoReturn, TextIO

import typer
from rich.console import Console
from rich.text import Text

from logaudit.errors import OutputError
from logaudit.escaping import escape_control

EXIT_CLEAN = 0
EXIT_FINDINGS = 1
EXIT_USAGE = 2
EXIT_INCOMPLETE = 3
EXIT_LOCKED = 4
EXIT_INTERRUPTED = 130


class SafeConsole(Console):
    """A rich console that never passes a control character of a plain string to the terminal.

    Defence in depth: renderables built by logaudit escape their cells themselves; any ``str``
    that reaches this console anyway has its control characters (all but the newline, which
    rich lays out) escaped before rich renders it.
    """

    def render_str(self, text: str, **kwargs: Any) -> Text:
        """Escape control characters (newlines kept), then render as rich would."""
        safe = "\n".join(escape_control(part) for part in text.split("\n"))
        return super().render_str(safe, **kwargs)


err_console = SafeConsole(stderr=True, highlight=False, soft_wrap=True, emoji=False)
out_console = SafeConsole(highlight=False, emoji=False)


def message_text(message: str) -> str:
    """A message as it may be shown: credentials scrubbed, control characters escaped."""
    from logaudit.scrub import scrub_message

    return escape_control(scrub_message(message))


def error_line(message: str) -> None:
    """Print one error line to stderr (scrubbed, escaped, no markup interpretation)."""
    err_console.print(f"logaudit: {message_text(message)}", markup=False, style="red")


def note_line(message: str, style: str = "") -> None:
    """Print one informational line to stderr (scrubbed, escaped, no markup)."""
    err_console.print(message_text(message), markup=False, style=style)


def out_line(message: str) -> None:
    """Print one line to stdout (scrubbed, escaped, no markup)."""
    out_console.print(message_text(message), markup=False)


def traceback_lines() -> None:
    """Print the traceback of the exception being handled (``--debug``) to stderr, each line
    through the message scrubber and escaped: an exception's text may quote a credential, a
    log line or a file name."""
    import traceback

    for block in traceback.format_exc().splitlines():
        sys.stderr.write(message_text(block) + "\n")
    sys.stderr.flush()


def fail(message: str, code: int = EXIT_USAGE) -> NoReturn:
    """Print ``message`` as one line and exit with ``code`` (2 by default: nothing scanned)."""
    error_line(message)
    raise typer.Exit(code)


def stderr_is_tty() -> bool:
    """Whether progress may be drawn."""
    return sys.stderr.isatty()


class GuardedStdout:
    """``sys.stdout`` whose write failures (``> /dev/full``, a closed pipe) raise
    :class:`OutputError` — one line and exit 3 — instead of an internal error.

    On the first failure, descriptor 1 is pointed at ``/dev/null``: what is still buffered
    is dropped there at exit instead of a second failure ("Exception ignored ...") on the way
    out. Every other attribute is the wrapped stream's.
    """

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream
        self._failed = False

    def write(self, text: str) -> int:
        """Write ``text`` (dropped after a failure)."""
        if self._failed:
            return len(text)
        try:
            return self._stream.write(text)
        except OSError as e:
            self._fail(e)

    def flush(self) -> None:
        """Flush (nothing after a failure)."""
        if self._failed:
            return
        try:
            self._stream.flush()
        except OSError as e:
            self._fail(e)

    def _fail(self, e: OSError) -> NoReturn:
        self._failed = True
        try:
            null = os.open(os.devnull, os.O_WRONLY)
            try:
                os.dup2(null, self._stream.fileno())
            finally:
                os.close(null)
        except (OSError, ValueError, AttributeError):  # no descriptor (a test's StringIO)
            pass
        raise OutputError(f"standard output: cannot write ({e.strerror or type(e).__name__})")

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


def guard_stdout() -> None:
    """Route ``sys.stdout`` through :class:`GuardedStdout` (once)."""
    if not isinstance(sys.stdout, GuardedStdout) and sys.stdout is not None:
        sys.stdout = GuardedStdout(sys.stdout)
