"""logaudit: audit log files for leaked secrets, PII and verbose error disclosure."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

__version__ = "0.1.0"

if TYPE_CHECKING:
    from logaudit.api import ScanResult, scan
    from logaudit.rules import Rule, RuleSelection, load_builtin_rules, select_rules
    from logaudit.settings import ReportSettings, ScanSettings

# The public names load on first use: ``import logaudit.cli`` must not spend its first second
# importing polars before the command can take Ctrl-C as a command should (one line, 130).
_LAZY = {
    "ScanResult": "logaudit.api", "scan": "logaudit.api",
    "Rule": "logaudit.rules", "RuleSelection": "logaudit.rules",
    "load_builtin_rules": "logaudit.rules", "select_rules": "logaudit.rules",
    "ReportSettings": "logaudit.settings", "ScanSettings": "logaudit.settings",
    "RedactSettings": "logaudit.settings",
    "RedactingFilter": "logaudit.logfilter", "RedactingProcessor": "logaudit.logfilter",
}

__all__ = [
    "RedactResult", "RedactSettings", "RedactingFilter", "RedactingProcessor", "redact",
    "ReportSettings", "Rule", "RuleSelection", "ScanResult", "ScanSettings", "__version__",
    "load_builtin_rules", "scan", "select_rules",
]


def __getattr__(name: str) -> object:
    module = _LAZY.get(name)
    if module is not None:
        value = getattr(importlib.import_module(module), name)
        globals()[name] = value
        return value
    # Redaction loads on first use: a scan does not pay for it.
    if name in ("redact", "RedactResult"):
        from logaudit import redact as redact_pkg

        return getattr(redact_pkg, name)
    raise AttributeError(f"module 'logaudit' has no attribute {name!r}")
