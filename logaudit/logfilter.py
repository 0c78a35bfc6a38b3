"""Keep secrets out of logs at the source: a ``logging.Filter`` and a structlog processor that
rewrite each record with the same rules, engine and replacements as ``logaudit redact``.

A record without a candidate costs one prefilter pass over its formatted message (hyperscan or
pyahocorasick, in C); only a record that holds a value is rewritten.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping, Sequence
from typing import Any

from logaudit.engine.scanner import Engine
from logaudit.findings import load_key
from logaudit.redact.replace import Replacer
from logaudit.redact.rewriter import Rewriter, engine_recheck
from logaudit.rules import RuleSelection, claimant_rules, select_rules
from logaudit.settings import Replace
from logaudit.sources.chunking import Chunk

_ENGINES: dict[tuple[tuple[str, ...], str, tuple[str, ...]], Engine] = {}
_LOCK = threading.Lock()


def _engine(selection: RuleSelection, backend: str) -> Engine:
    rules = [r for r in select_rules(selection) if not r.detector]
    claimants = claimant_rules(selection, rules)
    key = (tuple(r.id for r in rules), backend, tuple(r.id for r in claimants))
    with _LOCK:
        eng = _ENGINES.get(key)
        if eng is None:
            eng = _ENGINES[key] = Engine(rules, backend, claimants=claimants)
        return eng


class _Buffer:
    def __init__(self) -> None:
        self.parts: list[bytes] = []

    def write(self, data: bytes) -> int:
        self.parts.append(data)
        return len(data)


class TextRedactor:
    """Redacts one string at a time (thread-safe: no state is kept between calls)."""

    def __init__(self, replace: Replace | str = Replace.MASK,
                 categories: Sequence[str] = ("secret", "pii"),
                 selection: RuleSelection | None = None, key: bytes | None = None,
                 backend: str = "auto") -> None:
        self.engine = _engine(selection or RuleSelection(categories=tuple(categories)), backend)
        self.replacer = Replacer(Replace(replace), key if key is not None else load_key())
        self._recheck = engine_recheck(self.engine)

    def __call__(self, text: str) -> str:
        """``text`` with every value replaced; the same object when it holds none."""
        data = text.encode("utf-8", "surrogatepass")
        if not self.engine.prefilter.scan(data):
            return text
        chunk = Chunk(data, 1, 0, len(data), 0)
        lines, _ = self.engine.scan_line_rules(chunk)
        if not lines:
            return text
        out = _Buffer()
        Rewriter(self.replacer, out, self._recheck).feed(chunk, lines)
        return b"".join(out.parts).decode("utf-8", "surrogatepass")


class RedactingFilter(logging.Filter):
    """A ``logging.Filter`` that rewrites each record before any handler writes it.

    The message is formatted with its args first (``"password=%s", pw``: the key is in the
    message, the value in the args) and, when it holds a value, replaces ``msg`` with ``args``
    cleared. The formatted exception text and stack info are rewritten the same way. Records
    are never dropped. Attach it to the handlers (or loggers) whose output must stay clean::

        handler.addFilter(logaudit.RedactingFilter())                  # masked as scan shows
        handler.addFilter(logaudit.RedactingFilter(replace="pseudonym"))
    """

    def __init__(self, name: str = "", *, replace: Replace | str = Replace.MASK,
                 categories: Sequence[str] = ("secret", "pii"),
                 selection: RuleSelection | None = None, key: bytes | None = None,
                 backend: str = "auto") -> None:
        super().__init__(name)
        self.redact = TextRedactor(replace, categories, selection, key, backend)
        self._formatter = logging.Formatter()

    def filter(self, record: logging.LogRecord) -> bool:
        """Rewrite ``record`` in place; always keep it."""
        if not super().filter(record):
            return True  # not ours to rewrite (another logger's name)
        try:
            message = record.getMessage()
        except Exception:  # a broken format: leave it to the handler to report
            return True
        clean = self.redact(message)
        if clean is not message:
            record.msg, record.args = clean, None
        if record.exc_info and not record.exc_text:
            record.exc_text = self._formatter.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self.redact(record.stack_info)
        return True


class RedactingProcessor:
    """A structlog processor: every string value of the event dict rewritten (a value is seen
    with its key, ``password=…``, so a bare value under a telling key is found too); nested
    dicts and lists are walked. structlog is not needed to build one::

        structlog.configure(processors=[logaudit.RedactingProcessor(), ...,
                                        structlog.processors.JSONRenderer()])
    """

    def __init__(self, **kwargs: Any) -> None:
        self.redact = TextRedactor(**kwargs)

    def _value(self, key: str, value: Any) -> Any:
        if isinstance(value, str):
            prefix = f"{key}="
            clean = self.redact(prefix + value)
            return clean[len(prefix):] if clean.startswith(prefix) else self.redact(value)
        if isinstance(value, Mapping):
            return {k: self._value(str(k), v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return type(value)(self._value(key, v) for v in value)
        return value

    def __call__(self, logger: Any, method: str, event_dict: dict[str, Any]) -> dict[str, Any]:
        """Return ``event_dict`` with its values rewritten."""
        for k, v in list(event_dict.items()):
            event_dict[k] = self.redact(v) if k == "event" and isinstance(v, str) \
                else self._value(k, v)
        return event_dict
