"""Redaction: the scan pipeline with a rewriter at its end (see ``logaudit redact``)."""

from __future__ import annotations

from logaudit.redact.api import RedactResult, redact
from logaudit.redact.replace import Replace, Replacer, pseudonym, rewrites

__all__ = ["RedactResult", "Replace", "Replacer", "pseudonym", "redact", "rewrites"]
