"""``--in-place``: rewrite a file beside itself, fsync, rename over; keep mode, owner (when
permitted) and times.

A log can grow while it is rewritten. For a plain text file the growth is copied through the
rewriter before the rename: the reader follows the file to its current end, and once the
rewrite is done the size is checked again (and the new lines rewritten) until it holds still;
after the rename, once no process holds the old file open for writing (one that opened it just
before the rename may still write), the lines that reached it are rewritten and appended to the
new file. A process that holds the file open for writing would go on writing to the replaced
(unlinked) file, so such a file is refused (exit 3, left as it was) when /proc shows a writer.
A compressed file or an archive that changes while it is rewritten is refused the same way.
"""

from __future__ import annotations

import os
import stat
import time
from typing import BinaryIO, cast

from logaudit.logs import event
from logaudit.redact.layers import Layers, rewrite_layer
from logaudit.redact.replace import Replacer
from logaudit.redact.rewriter import Writer, rewrite_text
from logaudit.redact.sinks import AtomicFile
from logaudit.redact.tasks import RedactOptions, RedactTaskResult
from logaudit.runner import ScanOptions, Task, _open_error, engine_for
from logaudit.sources.archives import is_tar, is_zip
from logaudit.sources.interface import InputError, StreamError
from logaudit.sources.limits import Budget
from logaudit.sources.openers import SNIFF_BYTES, Stream, detect_codec

# How long a file that ends inside a line is watched for the rest of that line.
SETTLE_SECONDS = 0.05
# How long a writer that opened the old file before the rename is waited for.
LATE_WRITER_SECONDS = 2.0
# Catch-up passes before giving up on a file that never stops growing.
MAX_PASSES = 50


class _Following:
    """Reads a file to its current end, again and again while it grows.

    Returns whole lines only while the file keeps growing; an unterminated last line is handed
    out once the file has held still for ``SETTLE_SECONDS``.
    """

    def __init__(self, f: BinaryIO, follow: bool) -> None:
        self._f = f
        self.follow = follow
        self.pos = 0  # bytes handed out
        self._held = b""

    def read(self, n: int = -1) -> bytes:
        n = n if n > 0 else 1 << 20
        while True:
            piece = self._f.read(n)
            if piece:
                data = self._held + piece
                if not self.follow:
                    self._held = b""
                    self.pos += len(data)
                    return data
                cut = data.rfind(b"\n") + 1
                self._held = data[cut:]
                if cut:
                    self.pos += cut
                    return data[:cut]
                continue
            if not self.follow or not self._held:
                return b""
            time.sleep(SETTLE_SECONDS)
            if os.fstat(self._f.fileno()).st_size > self.pos + len(self._held):
                continue
            data, self._held = self._held, b""
            self.pos += len(data)
            return data


def writers_of(st: os.stat_result) -> list[str]:
    """Other processes that hold the file open for writing (Linux /proc; those we may see)."""
    found: list[str] = []
    me = os.getpid()
    try:
        pids = [p for p in os.listdir("/proc") if p.isdigit() and int(p) != me]
    except OSError:
        return found
    for pid in pids:
        fd_dir = f"/proc/{pid}/fd"
        try:
            fds = os.listdir(fd_dir)
        except OSError:
            continue
        for fd in fds:
            try:
                tst = os.stat(f"{fd_dir}/{fd}")
                if (tst.st_ino, tst.st_dev) != (st.st_ino, st.st_dev):
                    continue
                with open(f"/proc/{pid}/fdinfo/{fd}") as info:
                    flags = next((int(line.split()[1], 8) for line in info
                                  if line.startswith("flags:")), 0)
                if flags & (os.O_WRONLY | os.O_RDWR):
                    with open(f"/proc/{pid}/comm") as c:
                        found.append(f"pid {pid} ({c.read().strip()[:32]})")
                    break
            except (OSError, ValueError):
                continue
    return found


def _held_open(st: os.stat_result) -> list[str]:
    """Writers seen in three looks 20 ms apart: one that opens the file for each line it
    appends (``echo >> log``) is not holding it, and is caught up with instead."""
    holders = writers_of(st)
    for _ in range(2):
        if not holders:
            break
        time.sleep(0.02)
        again = set(writers_of(st))
        holders = [h for h in holders if h in again]
    return holders


def _catch_up(f: BinaryIO, start: int, ctx: Layers, sink: object) -> int:
    """Rewrite the bytes appended after ``start`` (whole lines) into ``sink``; new end."""
    f.seek(start)
    reader = _Following(f, follow=True)
    ctx.replaced += rewrite_text(cast(BinaryIO, reader), ctx.result.path, ctx.opts, ctx.engine,
                                 ctx.result, ctx.replacer, cast(Writer, sink))
    return start + reader.pos


def redact_in_place(task: Task, opts: ScanOptions, ropts: RedactOptions) -> RedactTaskResult:
    """Rewrite one file in place (see the module docstring)."""
    ref = task.ref
    path = ref.fs_path
    assert path is not None
    result = RedactTaskResult(ref.path, inputs_scanned=1)
    try:
        lst = os.lstat(path)
        if stat.S_ISLNK(lst.st_mode):
            result.errors.append(InputError(ref.path, "symlink, not rewritten in place (name "
                                            "its target to rewrite that)", "skipped"))
            return result
        if not stat.S_ISREG(lst.st_mode):
            result.errors.append(InputError(ref.path, "not a regular file, not rewritten in "
                                            "place", "skipped"))
            return result
        f = open(path, "rb", buffering=0)
    except OSError as e:
        result.errors.append(_open_error(ref.path, e))
        return result
    with f:
        st = os.fstat(f.fileno())
        holders = _held_open(st)
        if holders:
            result.errors.append(InputError(ref.path, f"held open for writing by "
                                            f"{', '.join(holders[:3])}; its next lines would "
                                            "go to the replaced file. Left as it was: redact it "
                                            "after rotation, or at the source (redact -)"))
            return result
        try:
            sink = AtomicFile(path)
        except OSError as e:
            result.errors.append(InputError(ref.path, f"cannot write beside it: {e.strerror}; "
                                            "the directory must be writable"))
            return result
        try:
            _rewrite(f, st, path, opts, ropts, result, sink)
        except StreamError as e:
            result.errors.append(InputError(e.path, e.reason))
        except OSError as e:
            result.errors.append(InputError(ref.path, f"cannot rewrite in place: {e.strerror}; "
                                            "left as it was"))
        finally:
            sink.discard()
    return result


def _rewrite(f: BinaryIO, st: os.stat_result, path: str, opts: ScanOptions,
             ropts: RedactOptions, result: RedactTaskResult, sink: AtomicFile) -> None:
    budget = Budget(opts.limits, result.path)
    reader = _Following(f, follow=False)
    stream = Stream(reader, result.path, 0, None, budget, raw=True)
    head = stream.peek(SNIFF_BYTES)
    plain = not (detect_codec(head) or is_tar(head) or is_zip(head))
    reader.follow = plain
    ctx = Layers(opts, engine_for(opts), result, Replacer(ropts.replace, opts.key), budget)
    rewrite_layer(stream, sink.file, ctx, head)
    result.errors.extend(ctx.notes)
    if any(e.kind == "error" for e in result.errors):
        return
    end = reader.pos
    passes = 0
    while True:
        now = os.fstat(f.fileno())
        if plain and now.st_size == end:
            break
        if not plain and (now.st_size, now.st_mtime_ns) == (st.st_size, st.st_mtime_ns):
            break
        if not plain or now.st_size < end:
            result.errors.append(InputError(result.path, "changed while it was rewritten "
                                            "(truncated, or a compressed file or archive "
                                            "written to); left as it was: run again"))
            return
        passes += 1
        if passes > MAX_PASSES:
            result.errors.append(InputError(result.path, "kept growing faster than it could "
                                            "be rewritten; left as it was"))
            return
        end = _catch_up(f, end, ctx, sink.file)
    try:
        current = os.lstat(path)
    except FileNotFoundError:
        current = None
    if current is None or (current.st_dev, current.st_ino) != (st.st_dev, st.st_ino):
        result.errors.append(InputError(result.path, "was renamed or replaced while it was "
                                        "rewritten (rotated?); left as it was"))
        return
    sink.file.flush()
    os.chmod(sink.tmp, stat.S_IMODE(st.st_mode))
    try:
        os.chown(sink.tmp, st.st_uid, st.st_gid)
    except PermissionError:
        event("redact.owner_not_kept", opts.run_id, path=result.path, uid=st.st_uid)
    last = os.fstat(f.fileno())
    os.utime(sink.tmp, ns=(last.st_atime_ns, last.st_mtime_ns))
    sink.commit()
    result.output = path
    result.replaced = ctx.replaced
    if not plain:
        return
    # A process that opened the old file just before the rename (``echo >> log``) may write
    # to it after: wait until no one holds it for writing, then append what reached it.
    deadline = time.monotonic() + LATE_WRITER_SECONDS
    while (holders := writers_of(st)) and time.monotonic() < deadline:
        time.sleep(0.005)
    if holders:
        result.errors.append(InputError(result.path, "redacted, but still held open for "
                                        f"writing by {', '.join(holders)} after the rename: "
                                        "what it writes now goes to the replaced file"))
    late = os.fstat(f.fileno()).st_size
    if late > end:
        with open(path, "ab") as new:
            tail = _Buffer()
            _catch_up(f, end, ctx, tail)
            new.write(tail.getvalue())
            new.flush()
            os.fsync(new.fileno())
        result.replaced = ctx.replaced


class _Buffer:
    def __init__(self) -> None:
        self._parts: list[bytes] = []

    def write(self, data: bytes) -> int:
        self._parts.append(bytes(data))
        return len(data)

    def getvalue(self) -> bytes:
        return b"".join(self._parts)
