"""logaudit's own structured log: every record carries the run id; never a raw finding value.

The library logs through the standard ``logging`` module under the ``logaudit`` logger; the CLI
configures where it goes (``--log-file``) and how (``--log-format text|json``). Every record is
scrubbed (:func:`logaudit.scrub.scrub_message`: credentials, URL passwords, signed-URL
parameters, anything a secret rule finds) and, in the text format, control characters are
escaped, so a hostile file name can neither forge a log line nor leak a credential.

A log file that cannot be written (a full disk, a revoked permission) does not print logging's
``--- Logging error ---`` traceback: the first failure is remembered (:func:`write_failure`)
and the CLI reports it as one line and exits 3 — the run's record is incomplete.
"""

from __future__ import annotations

import logging
from datetime import datetime, timezone
from typing import Any

from logaudit.escaping import escape_control, json_text
from logaudit.scrub import scrub_data, scrub_message

LOGGER = logging.getLogger("logaudit")

_STD_ATTRS = frozenset(vars(logging.LogRecord("x", 0, "", 0, "", None, None))) | {"message"}


def _extras(record: logging.LogRecord) -> dict[str, Any]:
    return {k: v for k, v in vars(record).items() if k not in _STD_ATTRS and not k.startswith("_")}


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time, level, event, run_id and the record's extra fields."""

    def format(self, record: logging.LogRecord) -> str:
        """Render ``record`` as a single JSON line (scrubbed)."""
        doc: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, timezone.utc).isoformat(),
            "level": record.levelname.lower(),
            "event": record.getMessage(),
        }
        doc.update(_extras(record))
        if record.exc_info and record.exc_info[0] is not None:
            doc["exception"] = record.exc_info[0].__name__
        return json_text(scrub_data(doc), default=str, sort_keys=False)


class TextFormatter(logging.Formatter):
    """``time level event key=value ...`` on one line."""

    def format(self, record: logging.LogRecord) -> str:
        """Render ``record`` as a single text line (scrubbed, control characters escaped)."""
        extras = " ".join(f"{k}={v}" for k, v in _extras(record).items())
        ts = datetime.fromtimestamp(record.created, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        line = f"{ts} {record.levelname.lower()} {record.getMessage()} {extras}".rstrip()
        return escape_control(scrub_message(line))


class SafeFileHandler(logging.FileHandler):
    """A file handler that remembers its first write failure instead of printing a traceback
    to stderr, and stops writing after it (a full disk would fail every record)."""

    def __init__(self, filename: str) -> None:
        super().__init__(filename, encoding="utf-8")
        self.failure: str | None = None

    def emit(self, record: logging.LogRecord) -> None:
        """Write ``record`` unless an earlier write failed."""
        if self.failure is None:
            super().emit(record)

    def handleError(self, record: logging.LogRecord) -> None:  # noqa: N802 (logging's name)
        """Remember the failure (one line, no traceback)."""
        import sys

        e = sys.exc_info()[1]
        if self.failure is None:
            reason = (e.strerror if isinstance(e, OSError) and e.strerror
                      else type(e).__name__ if e else "unknown error")
            self.failure = f"{self.baseFilename}: cannot write the log file ({reason})"

    def flush(self) -> None:
        """Flush, remembering a failure (the data may only hit the disk here)."""
        try:
            super().flush()
        except OSError as e:
            if self.failure is None:
                self.failure = (f"{self.baseFilename}: cannot write the log file "
                                f"({e.strerror or type(e).__name__})")

    def close(self) -> None:
        """Close, remembering a failure of the last flush."""
        try:
            self.flush()
            super().close()
        except OSError:
            pass


def configure(path: str | None, fmt: str = "text", level: str = "info") -> None:
    """Send the ``logaudit`` logger to ``path`` (appending) in ``fmt``; nowhere if it is None."""
    for h in list(LOGGER.handlers):
        LOGGER.removeHandler(h)
        h.close()
    LOGGER.propagate = False
    if not path:
        LOGGER.addHandler(logging.NullHandler())
        return
    handler = SafeFileHandler(path)
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    LOGGER.addHandler(handler)
    LOGGER.setLevel(level.upper())


def write_failure() -> str | None:
    """The first failure to write the log file, as one line (None when every record was
    written). Flushes the handlers first."""
    for h in LOGGER.handlers:
        if isinstance(h, SafeFileHandler):
            h.flush()
            if h.failure:
                return h.failure
    return None


def event(name: str, run_id: str, level: int = logging.INFO, /, **fields: Any) -> None:
    """Log one structured event. Callers pass counts, paths and reasons — never matched values."""
    LOGGER.log(level, name, extra={"run_id": run_id, **fields})
