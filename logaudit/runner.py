"""Runs sources × engine over inputs (in-process or on a process pool); collects findings,
per-input errors and counters. The unit of work is a picklable :class:`Task`."""

from __future__ import annotations

import os
import time
import zlib
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from typing import BinaryIO

from logaudit.engine.blocks import DETECTORS
from logaudit.engine.scanner import Engine
from logaudit.findings import Finding, build_findings
from logaudit.rules import Rule
from logaudit.sources.chunking import DEFAULT_BLOCK, DEFAULT_MAX_LINE, iter_chunks
from logaudit.sources.interface import InputError, InputRef
from logaudit.sources.openers import decompress, detect_codec, looks_binary, open_raw, peek


@dataclass(frozen=True)
class ScanOptions:
    """Everything a worker needs to scan (picklable)."""

    rules: tuple[Rule, ...]
    run_id: str
    key: bytes
    backend: str = "auto"
    show_secrets: bool = False
    block_size: int = DEFAULT_BLOCK
    max_line: int = DEFAULT_MAX_LINE
    scan_binary: bool = False


@dataclass(frozen=True)
class Task:
    """One unit of work: an input (later also a byte range or an archive member)."""

    ref: InputRef


@dataclass
class TaskResult:
    """What one task produced."""

    path: str
    findings: list[Finding] = field(default_factory=list)
    errors: list[InputError] = field(default_factory=list)
    bytes_scanned: int = 0
    inputs_scanned: int = 0


@dataclass
class Counters:
    """Run-wide counters, reported in summaries and in the run record."""

    inputs_scanned: int = 0
    inputs_skipped: int = 0
    inputs_failed: int = 0
    bytes_scanned: int = 0
    findings: int = 0
    seconds: float = 0.0

    def as_dict(self) -> dict[str, float | int]:
        """Counters as a plain dict."""
        return dict(self.__dict__)


ProgressFn = Callable[[str, TaskResult | None, int], None]
"""Called as ``progress(event, result, total_inputs)``; events: ``start``, ``done``."""

_ENGINES: dict[int, Engine] = {}


def _engine_for(opts: ScanOptions) -> Engine:
    key = id(opts.rules)
    eng = _ENGINES.get(key)
    if eng is None:
        _ENGINES.clear()
        eng = _ENGINES[key] = Engine(opts.rules, opts.backend, DETECTORS)
    return eng


def _human(n: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:.1f} {unit}" if unit != "B" else f"{n} B"
        n /= 1000  # type: ignore[assignment]
    return f"{n} B"


def scan_stream(
    stream: BinaryIO, path: str, opts: ScanOptions, engine: Engine, result: TaskResult
) -> None:
    """Scan one decoded byte stream into ``result``; a read error keeps what was found so far."""
    scan = engine.stream()
    done = 0
    try:
        for chunk in iter_chunks(stream, opts.block_size, opts.max_line):
            for lh in scan.feed(chunk):
                result.findings.extend(
                    build_findings(lh, path, opts.run_id, opts.key, opts.show_secrets))
            done = chunk.offset + len(chunk.data)
    except (EOFError, zlib.error, OSError, ValueError, RuntimeError) as e:
        reason = _read_error_reason(e, done)
        result.errors.append(InputError(path, reason))
    finally:
        for lh in scan.finish():
            result.findings.extend(
                build_findings(lh, path, opts.run_id, opts.key, opts.show_secrets))
        result.bytes_scanned += done


def _read_error_reason(e: BaseException, done: int) -> str:
    where = f"after {_human(done)}"
    if isinstance(e, EOFError):
        return f"truncated compressed stream {where}; findings before that point are kept"
    if isinstance(e, OSError) and e.strerror:
        return f"read error {where}: {e.strerror}"
    return f"corrupt data {where}: {e}"


def run_task(task: Task, opts: ScanOptions) -> TaskResult:
    """Scan one task in this process."""
    ref = task.ref
    result = TaskResult(ref.path)
    engine = _engine_for(opts)
    try:
        raw = open_raw(ref)
    except OSError as e:
        result.errors.append(InputError(ref.path, f"cannot open: {e.strerror}; "
                                        "check that it exists and is readable"))
        return result
    with raw:
        try:
            head = peek(raw)
            codec = detect_codec(head)
            stream = decompress(raw, codec) if codec else raw
            if codec:
                head = peek(stream)
        except (EOFError, zlib.error, OSError, ValueError) as e:
            result.errors.append(InputError(ref.path, _read_error_reason(e, 0)))
            return result
        if looks_binary(head) and not opts.scan_binary:
            result.errors.append(InputError(ref.path, "binary data (NUL bytes), not a log; "
                                            "use --scan-binary to scan it anyway", "skipped"))
            return result
        scan_stream(stream, ref.path, opts, engine, result)
        result.inputs_scanned += 1
    return result


_WORKER_OPTS: ScanOptions | None = None


def _init_worker(opts: ScanOptions) -> None:
    global _WORKER_OPTS
    _WORKER_OPTS = opts


def _run_in_worker(task: Task) -> TaskResult:
    assert _WORKER_OPTS is not None
    return run_task(task, _WORKER_OPTS)


def run(
    items: Iterable[InputRef | InputError],
    opts: ScanOptions,
    workers: int = 1,
    progress: ProgressFn | None = None,
) -> tuple[list[Finding], list[InputError], Counters]:
    """Scan every input; return findings (deterministic order), errors and counters."""
    started = time.monotonic()
    counters = Counters()
    findings: list[Finding] = []
    errors: list[InputError] = []
    tasks: list[Task] = []
    for item in items:
        if isinstance(item, InputError):
            errors.append(item)
        else:
            tasks.append(Task(item))
    total = len(tasks)
    for res in _results(tasks, opts, workers):
        findings.extend(res.findings)
        errors.extend(res.errors)
        counters.bytes_scanned += res.bytes_scanned
        counters.inputs_scanned += res.inputs_scanned
        if progress:
            progress("done", res, total)
    counters.inputs_skipped = sum(e.kind == "skipped" for e in errors)
    counters.inputs_failed = len({e.path for e in errors if e.kind == "error"})
    findings.sort(key=lambda f: (f.path, f.line, f.column, f.rule_id))
    errors.sort(key=lambda e: (e.path, e.reason))
    counters.findings = len(findings)
    counters.seconds = round(time.monotonic() - started, 3)
    return findings, errors, counters


def _results(tasks: list[Task], opts: ScanOptions, workers: int) -> Iterator[TaskResult]:
    if workers <= 1 or len(tasks) <= 1:
        for t in tasks:
            yield run_task(t, opts)
        return
    with ProcessPoolExecutor(max_workers=workers, initializer=_init_worker,
                             initargs=(opts,)) as pool:
        pending: set[Future[TaskResult]] = set()
        it = iter(tasks)
        limit = workers * 4  # bounded in-flight work (backpressure)
        for t in it:
            pending.add(pool.submit(_run_in_worker, t))
            if len(pending) >= limit:
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                for f in done:
                    yield f.result()
        for f in pending:
            yield f.result()


def default_workers() -> int:
    """One worker per available core."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1
