"""The library entry point: ``scan(paths, ...)`` wires sources → engine → findings → reports."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, cast

import polars as pl

from logaudit import __version__, incremental, scrub
from logaudit.baseline import apply_baseline, load_baseline
from logaudit.engine.prefilter import engine_name
from logaudit.executors import run_with
from logaudit.findings import load_key
from logaudit.lifecycle import uninterrupted
from logaudit.logs import event
from logaudit.reports.frame import to_frame
from logaudit.rules import claimant_rules, select_rules
from logaudit.runner import (
    DEFAULT_SPLIT,
    Counters,
    ProgressFn,
    ScanOptions,
    Task,
    TaskResult,
    default_workers,
)
from logaudit.settings import ScanSettings, from_arguments
from logaudit.sources.chunking import DEFAULT_BLOCK
from logaudit.sources.interface import InputError, InputRef
from logaudit.sources.remote import freeze, with_endpoint
from logaudit.sources.walk import discover
from logaudit.state import State, load_state, save_state


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
    state_file: str | None = None
    new_state: State | None = None
    # Findings an allowlist entry allowed (listed only with ``show_allowed``; counted always
    # in ``extra["allowed"]``).
    allowed: pl.DataFrame = field(default_factory=lambda: to_frame([]))

    def commit_state(self) -> None:
        """Save the incremental state (atomically). Call only after the report is stored."""
        if self.state_file and self.new_state is not None:
            with uninterrupted():  # the report is stored: finish the run rather than split it
                save_state(self.state_file, self.new_state)

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
    settings: ScanSettings | None = None,
    *,
    key: bytes | None = None,
    run_id: str | None = None,
    progress: ProgressFn | None = None,
    block_size: int = DEFAULT_BLOCK,
    split_size: int = DEFAULT_SPLIT,
    storage_options: Mapping[str, Any] | None = None,
    **options: Any,
) -> ScanResult:
    """Scan files, directories (recursively) or ``-`` (stdin) and return the findings.

    ``settings`` holds every option of ``logaudit scan`` (see :class:`ScanSettings`); or give
    them as keyword arguments named like its fields (``workers=2, exclude=["*.gz"],
    fail_on="high"``), checked the same way. ``key``/``run_id`` default to the fingerprint key
    and a fresh run id; ``block_size`` and ``split_size`` (the byte-range size a large plain
    file is cut into; the findings do not depend on it) tune the runner;
    ``storage_options`` adds fsspec options (a dict) to ``settings.storage_option``.

    Raises :class:`logaudit.errors.ConfigError` (a bad option, a bad rule file) before reading
    anything. Inputs that cannot be read do not raise: they are listed in
    ``ScanResult.errors``. At most ``max_per_rule`` findings of one rule are listed per input,
    the rest counted (``counters.findings_unlisted``, ``extra["unlisted"]``).

    ``state``: incremental scans. The new state is *not* saved here: call
    :meth:`ScanResult.commit_state` once the findings are safely stored, so a run killed
    before that is rescanned by the next one. ``baseline``: findings in it are suppressed
    (counted in ``extra``). ``executor``: ``local`` or ``dask`` (``scheduler`` address, else a
    local cluster).
    """
    if settings is None:
        settings = from_arguments(ScanSettings, options)
    elif options:
        raise TypeError("scan(): give ScanSettings or keyword options, not both")
    s = settings
    workers = s.workers or None
    state = s.state
    baseline = s.baseline
    max_per_rule = s.max_per_rule
    backend = s.engine.value
    selected = select_rules(s.selection)
    allowlist = s.allowlist
    storage = with_endpoint([str(p) for p in paths],
                            {**s.storage_options, **(storage_options or {})})
    # Every message from here on (stderr, log, run record) is scrubbed of these credentials.
    scrub.register([str(p) for p in paths], storage, selected)
    opts = ScanOptions(
        rules=tuple(selected), run_id=run_id or new_run_id(),
        key=key if key is not None else load_key(), backend=backend,
        show_secrets=s.show_secrets, block_size=block_size, scan_binary=s.scan_binary,
        skip_binary=s.skip_binary,
        limits=s.limits, split_size=split_size, storage_options=freeze(storage),
        max_per_rule=max_per_rule, allow=allowlist if allowlist.entries else None,
        keep_allowed=s.show_allowed,
        claimants=tuple(claimant_rules(s.selection, selected)),
    )
    started = datetime.now(timezone.utc)
    engine = engine_name(backend)
    event("scan.start", opts.run_id, paths=len(paths), rules=len(selected), engine=engine,
          workers=workers or default_workers())
    items: Iterable[InputRef | InputError | Task] = discover(
        [str(p) for p in paths], s.include, s.exclude, storage_options=storage)
    old_state: State | None = load_state(state) if state else None
    base = load_baseline(baseline, opts.key) if baseline else None
    plans: dict[str, incremental.Planned] = {}
    unchanged = 0
    results: dict[str, TaskResult] = {}
    if old_state is not None:
        items, plans, unchanged = incremental.plan(
            cast("Iterable[InputRef | InputError]", items), old_state, opts.key, storage,
            opts, workers or default_workers())

    range_lines: dict[str, int] = {}

    def on_progress(name: str, res: TaskResult | None, total: int) -> None:
        if res is not None and res.path in plans:
            results[res.path] = res
            if res.parts > 1:
                range_lines[res.path] = range_lines.get(res.path, 0) + res.lines
        if progress:
            progress(name, res, total)

    findings, errors, counters = run_with(s.executor.value, items, opts,
                                          workers or default_workers(), on_progress,
                                          s.scheduler)
    extra: dict[str, Any] = {}
    if counters.unlisted:
        extra["unlisted"] = {"limit_per_rule_and_input": max_per_rule,
                             "by_rule": dict(sorted(counters.unlisted.items()))}
    if allowlist.entries:
        extra["allowed"] = allowlist.outcome(counters.allowed_by)
    new_state: State | None = None
    if old_state is not None and state:
        failed = {e.path.split("!")[0] for e in errors if e.kind == "error"}
        new_state, findings = incremental.finish(old_state, plans, results, range_lines,
                                                 findings, failed, opts.key)
        extra["state"] = {"file": state, "inputs_unchanged": unchanged,
                          "inputs_planned": len(plans)}
        counters.findings = len(findings)
    if base is not None:
        findings, outcome = apply_baseline(findings, base)
        extra["baseline"] = {"file": baseline, "suppressed": outcome.suppressed,
                             "stale": len(outcome.stale), "stale_fingerprints": outcome.stale}
        counters.findings = len(findings)
    for err in errors:
        event("input." + err.kind, opts.run_id, logging.WARNING, path=err.path, reason=err.reason)
    event("scan.end", opts.run_id, **counters.as_dict())
    return ScanResult(
        findings=to_frame(findings), errors=errors, counters=counters, run_id=opts.run_id,
        started=started, finished=datetime.now(timezone.utc),
        engine=engine, rules=len(selected), extra=extra,
        state_file=state, new_state=new_state,
        allowed=to_frame(sorted(counters.allowed_findings,
                                key=lambda f: (f.path, f.line, f.column, f.rule_id))),
    )
