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

from logaudit import __version__, incremental
from logaudit.baseline import apply_baseline, load_baseline
from logaudit.engine.prefilter import engine_name
from logaudit.executors import run_with
from logaudit.findings import load_key
from logaudit.logs import event
from logaudit.reports.frame import to_frame
from logaudit.rules import RuleSelection, select_rules
from logaudit.runner import (
    DEFAULT_MAX_PER_RULE,
    DEFAULT_SPLIT,
    Counters,
    ProgressFn,
    ScanOptions,
    Task,
    TaskResult,
    default_workers,
)
from logaudit.sources.chunking import DEFAULT_BLOCK
from logaudit.sources.interface import InputError, InputRef
from logaudit.sources.limits import Limits
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

    def commit_state(self) -> None:
        """Save the incremental state (atomically). Call only after the report is stored."""
        if self.state_file and self.new_state is not None:
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
    max_per_rule: int = DEFAULT_MAX_PER_RULE,
    state: str | None = None,
    baseline: str | None = None,
    executor: str = "local",
    scheduler: str | None = None,
    storage_options: Mapping[str, Any] | None = None,
) -> ScanResult:
    """Scan files, directories (recursively) or ``-`` (stdin) and return the findings.

    Raises :class:`logaudit.errors.ConfigError` (e.g. a bad rule file) before reading anything.
    Inputs that cannot be read do not raise: they are listed in ``ScanResult.errors``.
    ``max_per_rule``: at most this many findings of one rule are listed per input, the rest
    counted (``counters.findings_unlisted``, ``extra["unlisted"]``); 0 lists everything.
    ``limits`` guards against hostile archives; ``split_size`` is the byte-range size a large
    plain file is cut into for the workers (the findings do not depend on it).

    ``state``: a state file for incremental scans (only new inputs and appended bytes are
    scanned). The new state is *not* saved here: call :meth:`ScanResult.commit_state` once the
    findings are safely stored, so a run killed before that is rescanned by the next one.
    ``baseline``: a baseline file; findings in it are suppressed (counted in ``extra``).

    ``executor``: ``local`` (default) or ``dask`` (``scheduler`` address, else
    ``DASK_SCHEDULER_ADDRESS``, else a local cluster). ``storage_options``: fsspec options for
    URL paths (``s3://…``); credentials otherwise come from the providers' usual chains.
    """
    selected = select_rules(rules or RuleSelection())
    storage = with_endpoint([str(p) for p in paths], storage_options or {})
    opts = ScanOptions(
        rules=tuple(selected), run_id=run_id or new_run_id(),
        key=key if key is not None else load_key(), backend=backend,
        show_secrets=show_secrets, block_size=block_size, scan_binary=scan_binary,
        limits=limits or Limits(), split_size=split_size, storage_options=freeze(storage),
        max_per_rule=max_per_rule,
    )
    started = datetime.now(timezone.utc)
    engine = engine_name(backend)
    event("scan.start", opts.run_id, paths=len(paths), rules=len(selected), engine=engine,
          workers=workers or default_workers())
    items: Iterable[InputRef | InputError | Task] = discover(
        [str(p) for p in paths], include, exclude, storage_options=storage)
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

    findings, errors, counters = run_with(executor, items, opts, workers or default_workers(),
                                          on_progress, scheduler)
    extra: dict[str, Any] = {}
    if counters.unlisted:
        extra["unlisted"] = {"limit_per_rule_and_input": max_per_rule,
                             "by_rule": dict(sorted(counters.unlisted.items()))}
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
    )
