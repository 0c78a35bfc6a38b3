"""Runs sources × engine over inputs (in-process or on a process pool); collects findings,
per-input errors and counters.

The unit of work is a picklable :class:`Task`: an input, optionally narrowed to a byte range of
a large plain file or to one archive member. A large plain file is cut into ranges of about
``split_size`` bytes whatever the worker count. A range owns the lines that *start* inside it;
it finds its first line by looking for the newline before it, and reads past its end to finish
its last line, so no pre-pass over the file is needed. Line numbers are local to the range, and
each range returns how many lines it owns: the merge adds the counts of the preceding ranges
(``chunking`` counts newlines per chunk anyway, so this costs nothing extra).
"""

from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import BinaryIO, cast

from logaudit.allowlist import AllowList
from logaudit.engine.blocks import DETECTORS
from logaudit.engine.model import Hit, LineHits
from logaudit.engine.scanner import Engine, StreamScan, resolve_overlaps
from logaudit.findings import Finding, build_findings
from logaudit.rules import Rule
from logaudit.scrub import name_variants, to_bytes
from logaudit.sources.archives import Walk, walk_stream
from logaudit.sources.chunking import DEFAULT_BLOCK, DEFAULT_MAX_LINE, Chunk, iter_chunks
from logaudit.sources.interface import InputError, InputRef, StreamError
from logaudit.sources.limits import Budget, Limits
from logaudit.sources.openers import SNIFF_BYTES, Stream, open_file, open_raw
from logaudit.sources.sniff import sniff

DEFAULT_SPLIT = 32 << 20
DEFAULT_MAX_PER_RULE = 10_000
# Decoded streams are read in pieces of this size: a decoder error loses at most one piece.
READ_SIZE = 1 << 20
# How far a range reads past its end so a multi-line block (traceback) that starts inside it
# can be completed; blocks that start past the end belong to the next range.
BLOCK_TAIL = 1 << 20
# ``details`` of a finding in a file or archive-member name (its ``line`` is 0).
NAME_DETAILS = '{"location": "name"}'


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
    # An input named on the command line that is not scanned (binary, device) is skipped
    # without making the scan incomplete.
    skip_binary: bool = False
    limits: Limits = field(default_factory=Limits)
    split_size: int = DEFAULT_SPLIT
    # At most this many findings of one rule are listed per input (per task); the rest are
    # counted. Keeps memory bounded when a rule fires on every line (0: no limit).
    max_per_rule: int = DEFAULT_MAX_PER_RULE
    # fsspec options for object-storage inputs (frozen pairs); may hold credentials: no repr.
    storage_options: tuple[tuple[str, object], ...] = field(default=(), repr=False)
    # Allowlist entries (matched on the raw value, here in the worker), and whether the
    # findings they allow are kept to be listed (else only counted per entry).
    allow: AllowList | None = None
    keep_allowed: bool = False
    # Rules run only to claim values in overlap resolution (rules.claimant_rules): selection
    # options select rows, they do not change what a row reports.
    claimants: tuple[Rule, ...] = ()


@dataclass(frozen=True)
class Task:
    """One unit of work: an input, or one byte range of it, or one archive member of it.

    ``part``/``parts`` number the ranges of a split file; ``end`` is None for the last range
    (read to the end, so a file that grows is read as far as it goes).
    """

    ref: InputRef
    start: int = 0
    end: int | None = None
    member: str | None = None
    part: int = 0
    parts: int = 1
    # Incremental (--state) scan of a plain file from ``start`` (a line start); the lines
    # before it number ``line_base``.
    resume: bool = False
    line_base: int = 0


@dataclass
class TaskResult:
    """What one task produced. ``lines`` is the number of lines a range owns."""

    path: str
    findings: list[Finding] = field(default_factory=list)
    errors: list[InputError] = field(default_factory=list)
    bytes_scanned: int = 0
    inputs_scanned: int = 0
    members_scanned: int = 0
    lines: int = 0
    part: int = 0
    parts: int = 1
    # Findings listed per (path, rule), and counted but not listed per rule (see max_per_rule).
    listed: dict[tuple[str, str], int] = field(default_factory=dict)
    unlisted: dict[str, int] = field(default_factory=dict)
    # Incremental scans: where the next run resumes (a line start) and the lines before it.
    end_offset: int = 0
    end_line: int = 0
    # Findings an allowlist entry allowed: counted per entry index, kept if asked.
    allowed_by: dict[int, int] = field(default_factory=dict)
    allowed: list[Finding] = field(default_factory=list)


@dataclass
class Counters:
    """Run-wide counters, reported in summaries and in the run record."""

    inputs_scanned: int = 0
    inputs_skipped: int = 0
    inputs_failed: int = 0
    bytes_scanned: int = 0
    findings: int = 0
    findings_unlisted: int = 0
    seconds: float = 0.0
    # rule id -> findings counted but not listed (over ``ScanOptions.max_per_rule``)
    unlisted: dict[str, int] = field(default_factory=dict)
    # findings allowed by allowlist entries: in all, per entry index, and (if kept) the rows
    allowed: int = 0
    allowed_by: dict[int, int] = field(default_factory=dict)
    allowed_findings: list[Finding] = field(default_factory=list)

    def as_dict(self) -> dict[str, float | int]:
        """The numeric counters as a plain dict."""
        return {k: v for k, v in self.__dict__.items() if isinstance(v, (int, float))}


ProgressFn = Callable[[str, TaskResult | None, int], None]
"""Called as ``progress(event, result, total_tasks)``; events: ``start`` (result None) once the
tasks are planned, then ``done`` per finished task (``result.bytes_scanned`` for bytes); the Dask
executor adds ``workers`` (result None, ``total`` = the cluster's worker count) when it changes."""

ExecuteFn = Callable[[list["Task"], ScanOptions, int, Callable[["TaskResult"], None]], None]
"""Runs every task and hands each result to the collect callback as it arrives."""

_ENGINES: dict[tuple[tuple[str, ...], str, tuple[str, ...]], Engine] = {}
# The last options' rules and engine: one identity check per task instead of building the key
# of ~400 rule ids (20,000 small files spent a quarter of their time there).
_LAST: list[tuple[tuple[Rule, ...], str, Engine, tuple[Rule, ...]]] = []


def engine_for(opts: ScanOptions) -> Engine:
    """The compiled engine for ``opts``' rules, built once per process."""
    if _LAST and _LAST[0][0] is opts.rules and _LAST[0][1] == opts.backend \
            and _LAST[0][3] is opts.claimants:
        return _LAST[0][2]
    # Keyed by rule ids, not object identity, so pool workers forked after the parent built
    # the engine reuse it instead of compiling the rules again.
    key = (tuple(r.id for r in opts.rules), opts.backend, tuple(r.id for r in opts.claimants))
    eng = _ENGINES.get(key)
    if eng is None:
        _ENGINES.clear()
        eng = _ENGINES[key] = Engine(opts.rules, opts.backend, DETECTORS, opts.claimants)
    _LAST[:] = [(opts.rules, opts.backend, eng, opts.claimants)]
    return eng


def _emit(lines: list, path: str, opts: ScanOptions, result: TaskResult) -> None:  # type: ignore[type-arg]
    cap = opts.max_per_rule
    out = result.findings
    for lh in lines:
        if cap and all(result.listed.get((path, h.rule.id), 0) >= cap for h in lh.hits):
            for h in lh.hits:  # nothing on this line will be listed: count, skip the work
                result.unlisted[h.rule.id] = result.unlisted.get(h.rule.id, 0) + 1
            continue
        # Built from the whole line even when some are not kept: every value on it is masked.
        built = build_findings(lh, path, opts.run_id, opts.key, opts.show_secrets)
        if opts.allow is not None:
            built = _drop_allowed(lh, built, path, opts, result)
        if not cap:
            out.extend(built)
            continue
        for f in built:
            key = (path, f.rule_id)
            n = result.listed.get(key, 0)
            if n < cap:
                result.listed[key] = n + 1
                out.append(f)
            else:
                result.unlisted[f.rule_id] = result.unlisted.get(f.rule_id, 0) + 1


def _drop_allowed(lh: LineHits, built: list[Finding], path: str, opts: ScanOptions,
                  result: TaskResult) -> list[Finding]:
    """The findings of one line that no allowlist entry allows; the others are counted."""
    assert opts.allow is not None
    kept: list[Finding] = []
    for h, f in zip(lh.hits, built, strict=True):
        value = (lh.text[h.secret_start:h.secret_end] if h.secret_end > h.secret_start
                 else lh.text[h.start:h.end])
        i = opts.allow.match(f.rule_id, path, value, lh.text)
        if i is None:
            kept.append(f)
            continue
        result.allowed_by[i] = result.allowed_by.get(i, 0) + 1
        if opts.keep_allowed:
            result.allowed.append(f)
    return kept


def scan_name(path: str, opts: ScanOptions, engine: Engine, result: TaskResult) -> None:
    """Scan an input's or archive member's path like a line of content: a secret in a name
    (``dump-ghp_….log``) is a finding with ``line`` 0 and ``details`` :data:`NAME_DETAILS`.

    The path is matched as the bytes it stands for, once as it is and once with ``-`` read as
    a separator (see :func:`logaudit.scrub.name_variants`). A path is scanned for every member
    and task that carries it; :func:`run` keeps one finding per value and rule.
    """
    raw = to_bytes(path)
    seen: set[tuple[str, int, int]] = set()
    hits: list[Hit] = []
    for text in name_variants(raw):
        for lh in engine.scan_line_rules(Chunk(text, 0, 0, len(text), 0))[0]:
            for h in lh.hits:
                if (h.rule.id, h.start, h.end) not in seen:
                    seen.add((h.rule.id, h.start, h.end))
                    h.line = h.end_line = 0
                    hits.append(h)
    if not hits:
        return
    before = len(result.findings)
    _emit([LineHits(0, 0, raw, resolve_overlaps(hits))], path, opts, result)
    result.findings[before:] = [dataclasses.replace(f, details=NAME_DETAILS)
                                for f in result.findings[before:]]


def _one_per_name_value(findings: list[Finding]) -> list[Finding]:
    """Name findings (line 0) once per rule and value: a secret in a directory's name is
    carried by every path under it, and a member's path repeats its archive's."""
    seen: set[tuple[str, str]] = set()
    out: list[Finding] = []
    for f in findings:
        if f.line == 0 and f.details == NAME_DETAILS:
            if (f.rule_id, f.fingerprint) in seen:
                continue
            seen.add((f.rule_id, f.fingerprint))
        out.append(f)
    return out


def scan_text(stream: BinaryIO | Stream, path: str, opts: ScanOptions, engine: Engine,
              result: TaskResult) -> None:
    """Scan one decoded text stream into ``result``.

    A :class:`StreamError` propagates after the findings made so far are kept.
    """
    scan = engine.stream()
    done = 0
    reader = _StopOnError(stream)
    try:
        for chunk in iter_chunks(cast(BinaryIO, reader), opts.block_size, opts.max_line,
                                 read_size=READ_SIZE, skip_bom=True):
            _emit(scan.feed(chunk), path, opts, result)
            done = chunk.offset + len(chunk.data)
    finally:
        _emit(scan.finish(), path, opts, result)
        result.bytes_scanned += done
        result.members_scanned += 1
    if reader.error is not None:
        raise reader.error


class _StopOnError:
    """Ends the stream at a read error (kept in ``error``), so the chunker still hands over
    the whole lines it holds and their findings are kept."""

    def __init__(self, stream: BinaryIO | Stream) -> None:
        self._stream = stream
        self.error: StreamError | None = None

    def read(self, n: int = -1) -> bytes:
        if self.error is not None:
            return b""
        try:
            return self._stream.read(n)
        except StreamError as e:
            self.error = e
            return b""


def run_task(task: Task, opts: ScanOptions) -> TaskResult:
    """Scan one task in this process."""
    if task.resume:
        return _run_resume(task, opts)
    if task.parts > 1:
        return _run_range(task, opts)
    ref = task.ref
    result = TaskResult(ref.path)
    engine = engine_for(opts)
    scan_name(ref.path, opts, engine, result)
    budget = Budget(opts.limits, ref.path)
    try:
        stream, closer = open_raw(ref, budget, opts.storage_options)
    except OSError as e:
        result.errors.append(_open_error(ref.path, e))
        return result

    def on_text(path: str, stream: Stream) -> None:
        if path != ref.path:
            scan_name(path, opts, engine, result)
        scan_text(stream, path, opts, engine, result)

    walk = Walk(budget, on_text, opts.scan_binary, task.member)
    try:
        walk_stream(stream, walk)
    except StreamError as e:
        walk.errors.append(e.as_error())
    finally:
        if closer is not None:
            closer.close()
    skipped = any(e.kind == "skipped" and e.path == ref.path for e in walk.errors)
    if skipped and ref.explicit:
        walk.errors = [dataclasses.replace(e, explicit=True) if e.path == ref.path else e
                       for e in walk.errors]
    result.errors.extend(walk.errors)
    result.inputs_scanned = int(not skipped)
    return result


def _open_error(path: str, e: OSError) -> InputError:
    if isinstance(e, FileNotFoundError):
        # Fail closed: it was listed, so its content (maybe under a new name after rotation)
        # went unscanned in this run.
        return InputError(path, "vanished before it was read (rotated or deleted?); "
                          "scan again to cover it")
    return InputError(path, f"cannot open: {e.strerror}; check that it is readable")


# ---------------------------------------------------------------- incremental (--state)


class _CompleteLines:
    """Reads a file to its current end but withholds an unterminated last line: a line still
    being written is left for the next run, which resumes at its start."""

    def __init__(self, f: BinaryIO) -> None:
        self._f = f
        self._held = b""
        self._eof = False

    def read(self, n: int = -1) -> bytes:
        while not self._eof:
            piece = self._f.read(max(n, 1 << 16))
            if not piece:
                self._eof = True
                return b""
            data = self._held + piece
            cut = data.rfind(b"\n")
            if cut < 0:
                self._held = data
                if len(self._held) > 64 << 20:  # a huge unterminated line: scan it anyway
                    self._held = b""
                    return data
                continue
            self._held = data[cut + 1:]
            return data[: cut + 1]
        return b""


def _run_resume(task: Task, opts: ScanOptions) -> TaskResult:
    """Scan a plain file from ``task.start`` to its last complete line (see :class:`Task`)."""
    ref = task.ref
    assert ref.fs_path is not None
    result = TaskResult(ref.path, end_offset=task.start, end_line=task.line_base)
    engine = engine_for(opts)
    if task.start == 0:  # the name was scanned with the file's first lines
        scan_name(ref.path, opts, engine, result)
    try:
        f = open(ref.fs_path, "rb")
    except OSError as e:
        result.errors.append(_open_error(ref.path, e))
        return result
    groups: list = []  # type: ignore[type-arg]
    recent: list[Chunk] = []
    lines = done = 0
    with f:
        try:
            f.seek(task.start)
            scan = engine.stream()
            for chunk in iter_chunks(_CompleteLines(f), opts.block_size,  # type: ignore[arg-type]
                                     opts.max_line, skip_bom=True):
                groups.extend(scan.feed(chunk))
                lines = chunk.first_line - 1 + chunk.data.count(b"\n")
                done = chunk.offset + len(chunk.data)
                recent = [*recent[-1:], chunk]
        except OSError as e:
            result.errors.append(InputError(ref.path, f"read error after byte {task.start + done}"
                                            f": {e.strerror}"))
            return result
    pending = scan.pending_line()
    stop_line, stop_offset = lines, done
    if pending is None:
        groups.extend(scan.finish())
    else:
        # Resume at the open block's first line next time and report nothing from that line on
        # now: the next run finds it all, the block whole.
        stop_line, stop_offset = pending - 1, _line_offset(recent, pending, done)
        groups = [g for g in groups if g.line < pending]
    base = task.line_base
    for lh in groups:
        for h in lh.hits:
            h.line += base
            h.end_line += base
        lh.line += base
    _emit(groups, ref.path, opts, result)
    result.inputs_scanned = 1
    result.bytes_scanned = done
    result.end_offset = task.start + stop_offset
    result.end_line = base + stop_line
    return result


def _line_offset(recent: list[Chunk], line: int, default: int) -> int:
    """Byte offset (in the scanned stream) of the start of ``line``, from the last chunks."""
    for chunk in recent:
        last = chunk.first_line + chunk.data.count(b"\n")
        if chunk.first_line <= line <= last:
            pos = 0
            for _ in range(line - chunk.first_line):
                pos = chunk.data.index(b"\n", pos) + 1
            return chunk.offset + pos
    return default


# ---------------------------------------------------------------- byte ranges


class _RangeReader:
    """Reads ``limit`` bytes of ``f`` (None: to the end), then on to the next newline."""

    def __init__(self, f: BinaryIO, limit: int | None) -> None:
        self._f = f
        self._left = limit
        self._done = False
        self._last = b"\n"

    def read(self, n: int = -1) -> bytes:
        if self._done:
            return b""
        if self._left is None or self._left > 0:
            want = n if self._left is None else min(n, self._left)
            data = self._f.read(want)
            if not data:
                self._done = True
                return b""
            if self._left is not None:
                self._left -= len(data)
            self._last = data[-1:]
            return data
        if self._last == b"\n":
            self._done = True
            return b""
        piece = self._f.read(min(n, 1 << 16))
        i = piece.find(b"\n")
        if i >= 0:
            self._f.seek(i + 1 - len(piece), os.SEEK_CUR)
            piece = piece[: i + 1]
            self._done = True
        elif not piece:
            self._done = True
        self._last = piece[-1:]
        return piece


def _first_line_start(f: BinaryIO, start: int, end: int | None) -> int | None:
    """Offset of the first line starting in ``[start, end)``, or None if none does."""
    if start == 0:
        return 0
    f.seek(start - 1)
    pos = start - 1
    while end is None or pos < end - 1:
        n = 1 << 20 if end is None else min(1 << 20, end - 1 - pos)
        piece = f.read(n)
        if not piece:
            return None
        i = piece.find(b"\n")
        if i >= 0:
            return pos + i + 1
        pos += len(piece)
    return None


def _run_range(task: Task, opts: ScanOptions) -> TaskResult:
    ref = task.ref
    assert ref.fs_path is not None
    result = TaskResult(ref.path, part=task.part, parts=task.parts)
    result.inputs_scanned = int(task.part == 0)
    engine = engine_for(opts)
    if task.part == 0:
        scan_name(ref.path, opts, engine, result)
    try:
        f = open_file(ref.fs_path, opts.storage_options)
    except OSError as e:
        if task.part == 0:
            result.errors.append(_open_error(ref.path, e))
        return result
    with f:
        try:
            begin = _first_line_start(f, task.start, task.end)
            if begin is None:
                return result
            f.seek(begin)
            limit = None if task.end is None else task.end - begin
            scan = engine.stream()
            owned: list = []  # type: ignore[type-arg]
            final: Chunk | None = None
            for chunk in iter_chunks(_RangeReader(f, limit), opts.block_size,  # type: ignore[arg-type]
                                     opts.max_line, read_size=READ_SIZE, skip_bom=True):
                owned.extend(scan.feed(chunk))
                final = chunk
            if final is None:
                return result
            # Newlines are counted once, in the last chunk: the chunker counted the others.
            lines = final.first_line - 1 + final.data.count(b"\n")
            last = lines + (not final.data.endswith(b"\n"))  # an unended last line counts
            done = final.offset + len(final.data)
            if engine.block_rules and task.end is not None:
                owned.extend(_block_tail(f, scan, lines, done))
            owned.extend(scan.finish())
        except OSError as e:
            result.errors.append(InputError(ref.path, f"read error in bytes {task.start}-"
                                            f"{task.end}: {e.strerror}"))
            return result
    _emit([lh for lh in owned if lh.line <= last], ref.path, opts, result)
    result.lines = lines
    result.bytes_scanned = done
    return result


def _block_tail(f: BinaryIO, scan: StreamScan, lines: int, offset: int) -> list:  # type: ignore[type-arg]
    """Feed the lines after a range's end so a block that started inside it can finish."""
    tail = f.read(BLOCK_TAIL)
    cut = tail.rfind(b"\n")
    if cut < 0:
        return []
    data = tail[: cut + 1]
    return scan.feed(Chunk(data, lines + 1, 0, len(data), offset))


def _cap_merged(res: TaskResult, cap: int, counters: Counters) -> None:
    """Keep the first ``cap`` findings per (path, rule) of a split file, in line order, so the
    listed rows do not depend on how many ranges (workers) there were; count the rest."""
    res.findings.sort(key=lambda f: (f.path, f.line, f.column, f.rule_id))
    seen: dict[tuple[str, str], int] = {}
    kept: list[Finding] = []
    for f in res.findings:
        key = (f.path, f.rule_id)
        n = seen.get(key, 0)
        if n < cap:
            seen[key] = n + 1
            kept.append(f)
        else:
            counters.unlisted[f.rule_id] = counters.unlisted.get(f.rule_id, 0) + 1
            counters.findings_unlisted += 1
    res.findings = kept


def _merge_parts(parts: list[TaskResult]) -> TaskResult:
    """One result for a split file: shift each range's line numbers by the lines before it."""
    parts.sort(key=lambda r: r.part)
    merged = TaskResult(parts[0].path)
    offset = 0
    blocks: dict[str, list[tuple[int, int]]] = {}
    for p in parts:
        for i, n in p.allowed_by.items():
            merged.allowed_by[i] = merged.allowed_by.get(i, 0) + n
        merged.allowed.extend(dataclasses.replace(f, line=f.line + offset,
                                                  end_line=f.end_line + offset)
                              for f in p.allowed)
        for f in p.findings:
            line, end_line = f.line + offset, f.end_line + offset
            if end_line > line or f.end_line > f.line:
                spans = blocks.setdefault(f.rule_id, [])
                # A block found whole by the previous range (through its tail) wins over the
                # fragment of it that this range saw.
                if any(s <= line <= e for s, e in spans):
                    continue
                spans.append((line, end_line))
            merged.findings.append(dataclasses.replace(f, line=line, end_line=end_line)
                                   if offset else f)
        merged.errors.extend(p.errors)
        merged.bytes_scanned += p.bytes_scanned
        merged.inputs_scanned += p.inputs_scanned
        merged.members_scanned = 1
        offset += p.lines
    return merged


def plan(ref: InputRef, opts: ScanOptions, workers: int = 1) -> list[Task]:
    """The tasks for one input: several byte ranges for a large plain text file, else one.

    The number of ranges is rounded up to a multiple of ``workers`` so they share it evenly
    (the findings do not depend on how a file is cut).
    """
    size = ref.size or 0
    if ref.fs_path is None or size < 2 * opts.split_size or not _plain_text(ref.fs_path, opts):
        return [Task(ref)]
    n = -(-size // opts.split_size)
    n = -(-n // max(workers, 1)) * max(workers, 1)
    step = -(-size // n)
    return [Task(ref, i * step, None if i == n - 1 else (i + 1) * step, part=i, parts=n)
            for i in range(n)]


def _plain_text(path: str, opts: ScanOptions) -> bool:
    try:
        with open_file(path, opts.storage_options) as f:
            head = f.read(SNIFF_BYTES)
    except OSError:
        return False
    kind = sniff(head)
    return kind.plain or (kind.form == "binary" and opts.scan_binary)


# ---------------------------------------------------------------- running


def run(
    items: Iterable[InputRef | InputError | Task],
    opts: ScanOptions,
    workers: int = 1,
    progress: ProgressFn | None = None,
    execute: ExecuteFn | None = None,
) -> tuple[list[Finding], list[InputError], Counters]:
    """Scan every input; return findings (deterministic order), errors and counters.

    The result does not depend on ``workers`` nor on ``execute`` (how the tasks are run: an
    :class:`~logaudit.executors.Executor`'s ``execute``; by default this process and a local
    process pool, :class:`~logaudit.executors.LocalExecutor`). ``KeyboardInterrupt`` or
    :class:`~logaudit.lifecycle.Terminated` stops the workers and propagates; nothing partial
    is returned.
    """
    started = time.monotonic()
    counters = Counters()
    findings: list[Finding] = []
    errors: list[InputError] = []
    tasks: list[Task] = []
    for item in items:
        if isinstance(item, InputError):
            errors.append(item)
        elif isinstance(item, Task):
            tasks.append(item)
        else:
            tasks.extend(plan(item, opts, workers))
    total = len(tasks)
    if progress:
        progress("start", None, total)
    pending_parts: dict[str, list[TaskResult]] = {}

    def collect(res: TaskResult) -> None:
        if progress:
            progress("done", res, total)
        for rid, n in res.unlisted.items():
            counters.unlisted[rid] = counters.unlisted.get(rid, 0) + n
            counters.findings_unlisted += n
        if res.parts > 1:
            got = pending_parts.setdefault(res.path, [])
            got.append(res)
            if len(got) < res.parts:
                return
            res = _merge_parts(pending_parts.pop(res.path))
            if opts.max_per_rule:
                _cap_merged(res, opts.max_per_rule, counters)
        findings.extend(res.findings)
        for i, n in res.allowed_by.items():
            counters.allowed_by[i] = counters.allowed_by.get(i, 0) + n
            counters.allowed += n
        counters.allowed_findings.extend(res.allowed)
        errors.extend(res.errors)
        counters.bytes_scanned += res.bytes_scanned
        counters.inputs_scanned += res.inputs_scanned

    if execute is None:
        from logaudit.executors import LocalExecutor  # executors builds on this module

        execute = LocalExecutor().execute
    execute(tasks, opts, workers, collect)
    if not opts.skip_binary:
        errors = [_named_not_scanned(e) if e.explicit and e.kind == "skipped" else e
                  for e in errors]
    counters.inputs_skipped = sum(e.kind == "skipped" for e in errors)
    counters.inputs_failed = len({e.path for e in errors if e.kind == "error"})
    findings.sort(key=lambda f: (f.path, f.line, f.column, f.rule_id, f.fingerprint))
    findings = _one_per_name_value(findings)
    errors.sort(key=lambda e: (e.path, e.reason))
    counters.findings = len(findings)
    counters.seconds = round(time.monotonic() - started, 3)
    return findings, errors, counters


def _named_not_scanned(e: InputError) -> InputError:
    """A skipped input the user named on the command line: asked for, not read, so an error."""
    what, _, _ = e.reason.partition("; use --scan-binary")
    way = ("--scan-binary reads it as text, --skip-binary skips it without failing the scan"
           if what.startswith("binary data") else
           "--skip-binary skips it without failing the scan")
    return dataclasses.replace(
        e, kind="error", reason=f"{what}; named on the command line but not scanned ({way})")


def default_workers() -> int:
    """One worker per available core."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1
