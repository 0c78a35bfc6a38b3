"""Plans an incremental (``--state``) scan and derives the next state from its results.

Per input: plain files resume at the offset the previous run reached (or restart when they
shrank or their head changed); a file renamed by rotation is recognised by its inode, or by its
content (keyed hashes of its first bytes and of the bytes before the old offset); a compressed
rotation of a scanned file is recognised by its decoded head and its already-reported lines are
dropped; unchanged compressed files and archives are skipped.
"""

from __future__ import annotations

import dataclasses
import os
import stat
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from logaudit.findings import Finding
from logaudit.runner import ScanOptions, Task, TaskResult
from logaudit.runner import plan as runner_plan
from logaudit.sources.interface import InputError, InputRef
from logaudit.sources.remote import is_url, stat_object
from logaudit.sources.sniff import SNIFF_BYTES, sniff
from logaudit.state import (
    HEAD_BYTES,
    Entry,
    Resume,
    State,
    keyed_hash,
    make_entry,
    read_head,
    resume_point,
)


@dataclass
class Planned:
    """What the plan knew about one input before the run."""

    ref: InputRef
    key_path: str  # absolute path: the state's key, whatever the working directory
    st: os.stat_result
    head: bytes
    compressed: bool
    decoded_head: bytes
    resume: Resume
    prev: Entry | None = None
    object_id: str = ""  # objects in a store: ETag|size|last-modified
    split_end: int = 0  # first scan cut into ranges: where the last one ends


def _decoded_head(path: str) -> bytes:
    """First decoded bytes of a compressed file ('' if it cannot be decoded)."""
    from logaudit.sources.openers import decompress, open_raw, peek

    try:
        stream, closer = open_raw(InputRef(path, path))
        try:
            codec = sniff(peek(stream)).codec
            if codec is None:
                return b""
            return peek(decompress(stream, codec), HEAD_BYTES)
        finally:
            if closer is not None:
                closer.close()
    except Exception:  # a corrupt file: the scan itself reports why; here it is just "new"
        return b""


def plan(
    items: Iterable[InputRef | InputError], state: State, key: bytes,
    storage_options: Mapping[str, Any] | None = None,
    opts: ScanOptions | None = None, workers: int = 1,
) -> tuple[list[InputRef | InputError | Task], dict[str, Planned], int]:
    """Turn discovered inputs into tasks; returns (items for the runner, plans, unchanged).

    With ``opts``, a large plain file seen for the first time is cut into byte ranges (all
    cores), the last range ending at the last complete line.
    """
    out: list[InputRef | InputError | Task] = []
    plans: dict[str, Planned] = {}
    unchanged = 0
    for item in items:
        if isinstance(item, InputError) or item.fs_path is None:
            out.append(item)  # errors, and stdin (no identity: always scanned whole)
            continue
        if is_url(item.fs_path):
            if _plan_object(item, state, storage_options or {}, plans):
                unchanged += 1
            else:
                out.append(item)
            continue
        try:
            st = os.stat(item.fs_path)
            if not stat.S_ISREG(st.st_mode):
                out.append(item)  # a FIFO or device: a stream without identity, read whole
                continue
            head = read_head(item.fs_path, SNIFF_BYTES)
        except OSError:
            out.append(item)  # the runner reports it
            continue
        kind = sniff(head)
        head = head[:HEAD_BYTES]
        # Whole-file identity (size + head), rescanned whole when changed: compressed data,
        # and text whose bytes are not its lines (UTF-16/32, CR-only line ends).
        compressed = kind.codec is not None or kind.transcode is not None or kind.cr_only
        dhead = _decoded_head(item.fs_path) if compressed else b""
        key_path = os.path.abspath(item.fs_path)
        resume, prev = resume_point(state, key_path, st, head, key,
                                    dhead if compressed else None)
        if not compressed and resume.offset == 0 and not resume.unchanged:
            resume = _by_content(state, item.fs_path, st, head, key) or resume
        plans[item.path] = Planned(item, key_path, st, head, compressed, dhead, resume, prev)
        if resume.unchanged:
            unchanged += 1
            continue
        if compressed or kind.archive or (kind.form == "binary"
                                          and not (opts is not None and opts.scan_binary)):
            out.append(item)  # read whole by the walker (a binary file: skipped and counted)
            continue
        ranges = _first_scan_ranges(item, st, resume, opts, workers)
        if ranges:
            plans[item.path].split_end = ranges[-1].end or 0
            out.extend(ranges)
        else:
            out.append(Task(item, start=resume.offset, resume=True, line_base=resume.line))
    return out, plans, unchanged


_NO_STAT = os.stat_result((0,) * 10)


def _plan_object(item: InputRef, state: State, options: Mapping[str, Any],
                 plans: dict[str, Planned]) -> bool:
    """An object in a store: its identity is ETag + size + last-modified. Objects are
    rewritten, not appended to, so a changed object is scanned whole. True if unchanged."""
    assert item.fs_path is not None
    try:
        ident = object_identity_key(stat_object(item.fs_path, options))
    except OSError:
        return False  # the runner reports why it cannot be read
    prev = state.entries.get(item.fs_path)
    unchanged = prev is not None and prev.object_id == ident and bool(ident)
    plans[item.path] = Planned(item, item.fs_path, _NO_STAT, b"", True, b"",
                               Resume(unchanged=unchanged, reason="object"), prev, ident)
    return unchanged


def object_identity_key(ident: Mapping[str, Any]) -> str:
    """One string for an object version; empty when the store gives neither ETag nor time."""
    if not ident.get("etag") and not ident.get("last_modified"):
        return ""
    return f"{ident.get('etag')}|{ident.get('size')}|{ident.get('last_modified')}"


def _first_scan_ranges(item: InputRef, st: os.stat_result, resume: Resume,
                       opts: ScanOptions | None, workers: int) -> list[Task]:
    """Range tasks for the first scan of a large plain file, or [] (one resume task).

    NOTE: unlike a resume task, a range flushes a stack trace still open at the end; a trace
    being written during that first scan is reported without the frames that follow.
    """
    if opts is None or resume.offset or st.st_size < 2 * opts.split_size:
        return []
    assert item.fs_path is not None
    end = _after_last_newline(item.fs_path, st.st_size)
    if end <= 0:
        return []
    tasks = runner_plan(InputRef(item.path, item.fs_path, end), opts, workers)
    if len(tasks) < 2:
        return []
    return [*tasks[:-1], dataclasses.replace(tasks[-1], end=end)]


def _after_last_newline(path: str, size: int) -> int:
    """Offset just after the last newline in the first ``size`` bytes (0 if there is none)."""
    pos = size
    with open(path, "rb") as f:
        while pos > 0:
            start = max(0, pos - (1 << 16))
            f.seek(start)
            i = f.read(pos - start).rfind(b"\n")
            if i >= 0:
                return start + i + 1
            pos = start
    return 0


def _by_content(state: State, path: str, st: os.stat_result, head: bytes,
                key: bytes) -> Resume | None:
    """A plain file holding what another entry scanned (copied/renamed across filesystems,
    copytruncate's copy): resume where that entry stopped, if both its head and the bytes just
    before its offset match."""
    def usable(e: Entry) -> bool:
        return (not e.compressed and 0 < e.offset <= st.st_size and bool(e.tail)
                and e.head_len >= min(HEAD_BYTES, e.offset))

    for e in state.by_head(key, head, usable):
        try:
            with open(path, "rb") as f:
                f.seek(e.offset - len_tail(e))
                tail = f.read(len_tail(e))
        except OSError:
            return None
        if keyed_hash(key, tail) == e.tail:
            return Resume(e.offset, e.line, reason=f"same content as {e.path}")
    return None


def len_tail(e: Entry) -> int:
    """How many bytes before the offset the tail hash covers."""
    return min(256, e.offset)


def finish(
    state: State,
    plans: dict[str, Planned],
    results: dict[str, TaskResult],
    lines: dict[str, int],
    findings: list[Finding],
    failed: set[str],
    key: bytes,
) -> tuple[State, list[Finding]]:
    """The next state, and the findings minus lines a compressed rotation already reported.

    ``lines`` sums, per path, the lines owned by the ranges of a split first scan.
    """
    entries = dict(state.entries)
    by_inode: dict[tuple[int, int], set[str]] = {}
    for p, e in entries.items():
        if e.ino:
            by_inode.setdefault((e.dev, e.ino), set()).add(p)
    kept: list[Finding] = []
    skip_upto = {p: pl.resume.line for p, pl in plans.items() if pl.resume.skip}
    for f in findings:
        if f.path in skip_upto and f.line <= skip_upto[f.path] and f.end_line == f.line:
            continue
        kept.append(f)
    for path, pl in plans.items():
        if path in failed and not pl.resume.unchanged:
            continue  # not advanced: the next run tries again from the old point
        res = results.get(path)
        kp = pl.key_path
        if pl.object_id or pl.resume.reason == "object":
            if not pl.object_id:
                continue  # no identity from the store: rescanned every run, nothing to keep
            entry = Entry(path=kp, dev=0, ino=0, size=0, mtime=0.0, head="", head_len=0,
                          offset=0, line=0, compressed=True, object_id=pl.object_id)
        elif pl.resume.unchanged and pl.prev is not None:
            entry = dataclasses.replace(pl.prev, path=kp, mtime=pl.st.st_mtime)
        elif pl.split_end:
            entry = make_entry(kp, pl.st, pl.head, key, pl.split_end, lines.get(path, 0), False)
            entry = dataclasses.replace(entry, tail=_tail_hash(pl.ref, pl.split_end, key))
        elif pl.compressed or res is None:
            entry = make_entry(kp, pl.st, pl.head, key, pl.st.st_size, 0, True, pl.decoded_head)
        else:
            entry = make_entry(kp, pl.st, pl.head, key, res.end_offset, res.end_line, False)
            entry = dataclasses.replace(entry, tail=_tail_hash(pl.ref, res.end_offset, key))
        # A renamed file: its old name's entry is replaced by this one (an index of the
        # entries by identity: a pass over every entry per file was quadratic).
        if entry.ino:
            for old_path in by_inode.pop((entry.dev, entry.ino), set()) - {kp}:
                if (entries[old_path].dev, entries[old_path].ino) == (entry.dev, entry.ino):
                    del entries[old_path]
        prev_here = entries.get(kp)
        if prev_here is not None and prev_here.ino:
            by_inode.get((prev_here.dev, prev_here.ino), set()).discard(kp)
        entries[kp] = entry
        if entry.ino:
            by_inode.setdefault((entry.dev, entry.ino), set()).add(kp)
    planned = {pl.key_path for pl in plans.values()}
    for old_path in list(entries):
        if old_path not in planned and not is_url(old_path) and not os.path.exists(old_path):
            del entries[old_path]  # deleted or rotated away
    return State(entries), kept


def _tail_hash(ref: InputRef, offset: int, key: bytes) -> str:
    n = min(256, offset)
    if not n or ref.fs_path is None:
        return ""
    try:
        with open(ref.fs_path, "rb") as f:
            f.seek(offset - n)
            return keyed_hash(key, f.read(n))
    except OSError:
        return ""
