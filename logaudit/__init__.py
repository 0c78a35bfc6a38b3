"""logaudit: audit log files for leaked secrets, PII and verbose error disclosure."""

from __future__ import annotations

__version__ = "0.1.0"

from logaudit.api import ScanResult, scan  # noqa: E402
from logaudit.rules import Rule, RuleSelection, load_builtin_rules, select_rules  # noqa: E402
from logaudit.settings import ReportSettings, ScanSettings  # noqa: E402

__all__ = [
    "ReportSettings", "Rule", "RuleSelection", "ScanResult", "ScanSettings", "__version__",
    "load_builtin_rules", "scan", "select_rules",
]
