"""Error types. Each carries a message ready for the user: where, what, and what to do."""

from __future__ import annotations


class LogauditError(Exception):
    """Base class for every error logaudit reports to a user as one line."""


class ConfigError(LogauditError):
    """A usage or configuration problem: nothing is scanned (exit 2)."""


class RuleError(ConfigError):
    """A rule file or rule is invalid. The message reads ``FILE: RULE_ID: reason``."""

    def __init__(self, source: str, rule_id: str, reason: str) -> None:
        self.source = source
        self.rule_id = rule_id
        self.reason = reason
        super().__init__(f"{source}: {rule_id}: {reason}")


class SourceError(LogauditError):
    """An input could not be read, wholly or in part. The scan goes on (exit 3)."""


class ReportError(LogauditError):
    """A report could not be read or written."""


class OutputError(ReportError):
    """An output (standard output, a report file) could not be written: a full disk, a closed
    pipe, a read-only directory. Exit 3: the run's result was not stored."""
