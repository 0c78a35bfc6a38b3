"""The library entry point: ``scan(paths, ...)`` wires sources → engine → findings → reports."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import polars as pl

from logaudit import __version__
from logaudit.engine.prefilter import engine_name
from logaudit.findings import load_key
from logaudit.logs import event
from logaudit.reports.frame import to_frame
from logaudit.rules import RuleSelection, select_rules
from logaudit.runner import (
    DEFAULT_SPLIT,
    Counters,
    ProgressFn,
    ScanOptions,
    default_workers,
    run,
)
from logaudit.sources.chunking import DEFAULT_BLOCK
from logaudit.sources.interface import InputError
from logaudit.sources.limits import Limits
from logaudit.sources.walk import discover


@dataclass
class ScanResult:
    """What a scan produced: the findings table, the inputs that failed, and counters."""

    findings: pl.DataFrame
    errors: list[InputError]
    counters: Counters
    run_id: str
    started: datetime
    finished: datetime
    engine: str = ""
    rules: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def incomplete(self) -> bool:
        """True when some input could not be read (the scan must not exit 0)."""
        return any(e.kind == "error" for e in self.errors)

    def run_record(self) -> dict[str, Any]:
        """The run, as recorded in every report (JSON ``run`` object, Parquet metadata)."""
        return {
            "run_id": self.run_id, "tool": "logaudit", "version": __version__,
            "started": self.started.isoformat(), "finished": self.finished.isoformat(),
            "engine": self.engine, "rules": self.rules, "counters": self.counters.as_dict(),
            "errors": [{"path": e.path, "reason": e.reason, "kind": e.kind} for e in self.errors],
            **self.extra,
        }


def new_run_id() -> str:
    """A fresh run id: UTC time plus random suffix, sortable and unique."""
    return datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ-") + uuid.uuid4().hex[:8]


def scan(
    paths: Sequence[str | Path],
    *,
    rules: RuleSelection | None = None,
    include: Sequence[str] = (),
    exclude: Sequence[str] = (),
    workers: int | None = None,
    show_secrets: bool = False,
    backend: str = "auto",
    block_size: int = DEFAULT_BLOCK,
    scan_binary: bool = False,
    key: bytes | None = None,
    run_id: str | None = None,
    progress: ProgressFn | None = None,
    limits: Limits | None = None,
    split_size: int = DEFAULT_SPLIT,
) -> ScanResult:
    """Scan files, directories (recursively) or ``-`` (stdin) and return the findings.

    Raises :class:`logaudit.errors.ConfigError` (e.g. a bad rule file) before reading anything.
    Inputs that cannot be read do not raise: they are listed in ``ScanResult.errors``.
    ``limits`` guards against hostile archives; ``split_size`` is the byte-range size a large
    plain file is cut into for the workers (the findings do not depend on it).
    """
    selected = select_rules(rules or RuleSelection())
    opts = ScanOptions(
        rules=tuple(selected), run_id=run_id or new_run_id(),
        key=key if key is not None else load_key(), backend=backend,
        show_secrets=show_secrets, block_size=block_size, scan_binary=scan_binary,
        limits=limits or Limits(), split_size=split_size,
    )
    started = datetime.now(timezone.utc)
    engine = engine_name(backend)
    event("scan.start", opts.run_id, paths=len(paths), rules=len(selected), engine=engine,
          workers=workers or default_workers())
    items = discover([str(p) for p in paths], include, exclude)
    findings, errors, counters = run(items, opts, workers or default_workers(), progress)
    for err in errors:
        event("input." + err.kind, opts.run_id, logging.WARNING, path=err.path, reason=err.reason)
    event("scan.end", opts.run_id, **counters.as_dict())
    return ScanResult(
        findings=to_frame(findings), errors=errors, counters=counters, run_id=opts.run_id,
        started=started, finished=datetime.now(timezone.utc),
        engine=engine, rules=len(selected),
    )
