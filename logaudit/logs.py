"""logaudit's own structured log: every record carries the run id; never a raw finding value.

The library logs through the standard ``logging`` module under the ``logaudit`` logger; the CLI
configures where it goes (``--log-file``) and how (``--log-format text|json``).
"""

from __future__ import annotations

import json
import logging
from datetime import datetime, timezone
from typing import Any

LOGGER = logging.getLogger("logaudit")

_STD_ATTRS = frozenset(vars(logging.LogRecord("x", 0, "", 0, "", None, None))) | {"message"}


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time, level, event, run_id and the record's extra fields."""

    def format(self, record: logging.LogRecord) -> str:
        """Render ``record`` as a single JSON line."""
        doc: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, timezone.utc).isoformat(),
            "level": record.levelname.lower(),
            "event": record.getMessage(),
        }
        doc.update((k, v) for k, v in vars(record).items()
                   if k not in _STD_ATTRS and not k.startswith("_"))
        if record.exc_info and record.exc_info[0] is not None:
            doc["exception"] = record.exc_info[0].__name__
        return json.dumps(doc, default=str, sort_keys=False)


class TextFormatter(logging.Formatter):
    """``time level event key=value ...`` on one line."""

    def format(self, record: logging.LogRecord) -> str:
        """Render ``record`` as a single text line."""
        extras = " ".join(
            f"{k}={v}" for k, v in vars(record).items()
            if k not in _STD_ATTRS and not k.startswith("_")
        )
        ts = datetime.fromtimestamp(record.created, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        return f"{ts} {record.levelname.lower()} {record.getMessage()} {extras}".rstrip()


def configure(path: str | None, fmt: str = "text", level: str = "info") -> None:
    """Send the ``logaudit`` logger to ``path`` (appending) in ``fmt``; nowhere if it is None."""
    for h in list(LOGGER.handlers):
        LOGGER.removeHandler(h)
    LOGGER.propagate = False
    if not path:
        LOGGER.addHandler(logging.NullHandler())
        return
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    LOGGER.addHandler(handler)
    LOGGER.setLevel(level.upper())


def event(name: str, run_id: str, level: int = logging.INFO, /, **fields: Any) -> None:
    """Log one structured event. Callers pass counts, paths and reasons — never matched values."""
    LOGGER.log(level, name, extra={"run_id": run_id, **fields})
