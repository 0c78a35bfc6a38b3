"""Multi-line block detectors (tracebacks). Registered by name for rules' ``detector`` key."""

from __future__ import annotations

from logaudit.engine.scanner import DetectorFactory

DETECTORS: list[DetectorFactory] = []
