"""Multi-line block detectors (tracebacks). Registered by name for rules' ``detector`` key.

Each factory takes the selected block rules and returns a fresh, stateful detector for one input
stream. The detector names a rule may use are listed statically in
``logaudit.rules.BLOCK_DETECTORS`` (the rule loader must not import the engine); a test checks
that both lists agree.
"""

from __future__ import annotations

from logaudit.engine.scanner import DetectorFactory
from logaudit.engine.tracebacks import DETECTOR_LANGS, make_detector

DETECTORS: list[DetectorFactory] = [make_detector]

#: Every detector name the registered factories understand.
DETECTOR_NAMES: frozenset[str] = frozenset(DETECTOR_LANGS)
