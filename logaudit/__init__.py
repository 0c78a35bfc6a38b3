"""logaudit: audit log files for leaked secrets, PII and verbose error disclosure."""

from __future__ import annotations

__version__ = "0.1.0"

from logaudit.api import ScanResult, scan  # noqa: E402
from logaudit.rules import Rule, RuleSelection, load_builtin_rules, select_rules  # noqa: E402
from logaudit.settings import ReportSettings, ScanSettings  # noqa: E402

__all__ = [
    "RedactResult", "RedactSettings", "RedactingFilter", "RedactingProcessor", "redact",
    "ReportSettings", "Rule", "RuleSelection", "ScanResult", "ScanSettings", "__version__",
    "load_builtin_rules", "scan", "select_rules",
]


def __getattr__(name: str) -> object:
    # Redaction loads on first use: a scan does not pay for it.
    if name in ("RedactingFilter", "RedactingProcessor"):
        from logaudit import logfilter

        return getattr(logfilter, name)
    if name in ("redact", "RedactResult"):
        from logaudit import redact as redact_pkg

        return getattr(redact_pkg, name)
    if name == "RedactSettings":
        from logaudit.settings import RedactSettings

        return RedactSettings
    raise AttributeError(f"module 'logaudit' has no attribute {name!r}")
