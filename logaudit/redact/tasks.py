"""Redaction tasks: the scan's :class:`~logaudit.runner.Task` (an input, or a byte range of a
large plain file), run by the scan's runner with a task function that also writes.

A whole input is rewritten into a temporary file beside its output and renamed when complete.
A byte range writes its part to a temporary file of its own; the driver joins the parts in
order once every range of the input succeeded (:func:`join_parts`), so the output does not
depend on how many workers there were.
"""

from __future__ import annotations

import os
import stat
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import cast

from logaudit.executors import LocalExecutor
from logaudit.redact.layers import Layers, rewrite_layer
from logaudit.redact.replace import Replace, Replacer
from logaudit.redact.rewriter import Rewriter, Writer, engine_recheck
from logaudit.redact.sinks import AtomicFile, append_file
from logaudit.runner import (
    READ_SIZE,
    ScanOptions,
    Task,
    TaskResult,
    _block_tail,
    _emit,
    _first_line_start,
    _open_error,
    _RangeReader,
    engine_for,
)
from logaudit.sources.chunking import Chunk, iter_chunks
from logaudit.sources.interface import InputError, StreamError
from logaudit.sources.limits import Budget
from logaudit.sources.openers import SNIFF_BYTES, Stream, open_file, open_raw


@dataclass(frozen=True)
class RedactOptions:
    """What a worker needs besides the scan options (picklable)."""

    replace: Replace = Replace.MASK
    out_dir: str | None = None
    in_place: bool = False


@dataclass
class RedactTaskResult(TaskResult):
    """A task's result plus what it wrote."""

    replaced: int = 0
    output: str | None = None  # the file committed under its final name
    part_file: str | None = None  # a byte range's temporary part
    output_path: str | None = None  # where the input's output goes (final name)
    source_mode: int | None = None
    source_times: tuple[int, int] | None = None
    notes: list[InputError] = field(default_factory=list)


def output_path(out_dir: str, path: str) -> str:
    """Where the redacted copy of input ``path`` goes under ``out_dir``.

    A relative path is kept as given; an absolute one, one that climbs out with ``..``, or a
    URL (``s3://b/k`` → ``s3/b/k``) is placed by its full path below ``out_dir``.
    """
    if "://" in path:
        scheme, rest = path.split("://", 1)
        rel = os.path.normpath(scheme + "/" + rest.lstrip("/"))
    else:
        rel = os.path.normpath(path)
        if os.path.isabs(rel) or rel == ".." or rel.startswith(".." + os.sep):
            rel = os.path.abspath(path).lstrip(os.sep)
    return os.path.join(out_dir, rel)


def _keep_metadata(tmp: str, mode: int | None, times: tuple[int, int] | None) -> None:
    if mode is not None:
        os.chmod(tmp, stat.S_IMODE(mode))
    if times is not None:
        os.utime(tmp, ns=times)


def _source_meta(ref_fs: str | None) -> tuple[int | None, tuple[int, int] | None]:
    if ref_fs is None or "://" in ref_fs:
        return None, None
    try:
        st = os.stat(ref_fs)
    except OSError:
        return None, None
    return st.st_mode, (st.st_atime_ns, st.st_mtime_ns)


def redact_task(task: Task, opts: ScanOptions, ropts: RedactOptions) -> RedactTaskResult:
    """Run one task: rewrite its input (or byte range) and scan it for the report."""
    if task.ref.fs_path is None:
        return _redact_stdin(task, opts, ropts)
    if ropts.in_place:
        from logaudit.redact.inplace import redact_in_place

        return redact_in_place(task, opts, ropts)
    if task.parts > 1:
        return _redact_range(task, opts, ropts)
    ref = task.ref
    result = RedactTaskResult(ref.path, inputs_scanned=1)
    assert ropts.out_dir is not None
    final = output_path(ropts.out_dir, ref.path)
    engine = engine_for(opts)
    budget = Budget(opts.limits, ref.path)
    mode, times = _source_meta(ref.fs_path)
    try:
        stream, closer = open_raw(ref, budget, opts.storage_options)
    except OSError as e:
        result.errors.append(_open_error(ref.path, e))
        return result
    try:
        os.makedirs(os.path.dirname(final) or ".", exist_ok=True)
        sink = AtomicFile(final)
    except OSError as e:
        closer.close()
        result.errors.append(InputError(ref.path, f"cannot write {final}: {e.strerror}; "
                                        "check --out-dir"))
        return result
    ctx = Layers(opts, engine, result, Replacer(ropts.replace, opts.key), budget)
    try:
        rewrite_layer(stream, sink.file, ctx)
        sink.file.flush()
        _keep_metadata(sink.tmp, mode, times)
        sink.commit(fsync=False)  # a copy: the source is still there (see design notes)
        result.output = final
    except StreamError as e:
        result.errors.append(InputError(e.path, e.reason))
    except OSError as e:
        result.errors.append(InputError(ref.path, f"cannot write {final}: {e.strerror}"))
    finally:
        sink.discard()
        closer.close()
    result.errors.extend(ctx.notes)
    result.replaced = ctx.replaced
    return result


def _redact_range(task: Task, opts: ScanOptions, ropts: RedactOptions) -> RedactTaskResult:
    """One byte range of a large plain file: its owned lines, rewritten, into a part file."""
    ref = task.ref
    assert ref.fs_path is not None and ropts.out_dir is not None
    final = output_path(ropts.out_dir, ref.path)
    result = RedactTaskResult(ref.path, part=task.part, parts=task.parts, output_path=final)
    result.inputs_scanned = int(task.part == 0)
    result.source_mode, result.source_times = _source_meta(ref.fs_path)
    engine = engine_for(opts)
    try:
        f = open_file(ref.fs_path, opts.storage_options)
    except OSError as e:
        result.errors.append(_open_error(ref.path, e))
        return result
    try:
        os.makedirs(os.path.dirname(final) or ".", exist_ok=True)
        name = os.path.basename(final)
        part = AtomicFile(final, prefix=f".{name}.part{task.part:06d}.")
        result.output_path = part.final  # through a symlink: the file it points to
    except OSError as e:
        f.close()
        result.errors.append(InputError(ref.path, f"cannot write {final}: {e.strerror}"))
        return result
    rw = Rewriter(Replacer(ropts.replace, opts.key), part, engine_recheck(engine))
    owned: list = []  # type: ignore[type-arg]
    last = lines = done = 0
    try:
        with f:
            begin = _first_line_start(f, task.start, task.end)
            if begin is not None:
                f.seek(begin)
                limit = None if task.end is None else task.end - begin
                scan = engine.stream()
                final_chunk: Chunk | None = None
                for chunk in iter_chunks(_RangeReader(f, limit), opts.block_size,  # type: ignore[arg-type]
                                         opts.max_line, read_size=READ_SIZE):
                    got = scan.feed(chunk)
                    rw.feed(chunk, got)
                    owned.extend(got)
                    final_chunk = chunk
                if final_chunk is not None:
                    lines = final_chunk.first_line - 1 + final_chunk.data.count(b"\n")
                    last = lines + (not final_chunk.data.endswith(b"\n"))
                    done = final_chunk.offset + len(final_chunk.data)
                    if engine.block_rules and task.end is not None:
                        owned.extend(_block_tail(f, scan, lines, done))
                    owned.extend(scan.finish())
        result.part_file = part.close_as_part()
    except OSError as e:
        part.discard()
        result.errors.append(InputError(ref.path, f"read or write error in bytes {task.start}-"
                                        f"{task.end}: {e.strerror}"))
        return result
    _emit([lh for lh in owned if lh.line <= last], ref.path, opts, result)
    result.lines = lines
    result.bytes_scanned = done
    result.replaced = rw.replaced
    return result


def join_parts(parts: list[RedactTaskResult]) -> tuple[str | None, InputError | None]:
    """Join the parts of a split input into its output, or remove them if any range failed."""
    parts = sorted(parts, key=lambda r: r.part)
    files = [p.part_file for p in parts]
    failed = any(p.errors for p in parts if any(e.kind == "error" for e in p.errors))
    complete = len(parts) == parts[0].parts and all(files)
    final = parts[0].output_path
    err: InputError | None = None
    written: str | None = None
    if complete and not failed and final:
        # The first part already lies beside the output under a temporary name: the others
        # are appended to it (in the kernel) and it is renamed, so the driver copies only
        # what the other workers wrote.
        first = cast(str, files[0])
        try:
            with open(first, "ab") as out:
                for fpath in files[1:]:
                    append_file(cast(str, fpath), out)
            _keep_metadata(first, parts[0].source_mode, parts[0].source_times)
            os.replace(first, final)
            written = final
        except OSError as e:
            err = InputError(parts[0].path, f"cannot write {final}: {e.strerror}")
    for fpath in files:
        if fpath:
            try:
                os.unlink(fpath)
            except OSError:
                pass
    return written, err


# ---------------------------------------------------------------- standard input


class _FdReader:
    """Reads what a pipe has now (``os.read``), instead of waiting for a full buffer."""

    def __init__(self, fd: int) -> None:
        self._fd = fd

    def read(self, n: int = -1) -> bytes:
        if n < 0:
            parts = []
            while piece := os.read(self._fd, 1 << 20):
                parts.append(piece)
            return b"".join(parts)
        return os.read(self._fd, n)


def _sniff_live(stream: Stream) -> bytes:
    """The head of a live stream: enough to tell text from a codec or an archive, without
    waiting for 8 KiB that a quiet application may take minutes to write."""
    n = 1
    while True:
        head = stream.peek(n)
        if len(head) < n or len(head) >= SNIFF_BYTES or (b"\n" in head and b"\x00" not in head):
            return head
        n = len(head) + 1


def _redact_stdin(task: Task, opts: ScanOptions, ropts: RedactOptions) -> RedactTaskResult:
    """Standard input to standard output; line by line when the input is a pipe or terminal."""
    ref = task.ref
    result = RedactTaskResult(ref.path, inputs_scanned=1)
    out = sys.stdout.buffer
    fd = sys.stdin.fileno()
    mode = os.fstat(fd).st_mode
    live = stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode) or stat.S_ISCHR(mode)
    reader = _FdReader(fd) if live else sys.stdin.buffer
    budget = Budget(opts.limits, ref.path)
    stream = Stream(reader, ref.path, 0, None, budget, raw=True)
    ctx = Layers(opts, engine_for(opts), result, Replacer(ropts.replace, opts.key), budget,
                 eager=live, after_chunk=out.flush if live else None)
    try:
        rewrite_layer(stream, cast(Writer, out), ctx, _sniff_live(stream) if live else None)
        out.flush()
    except StreamError as e:
        result.errors.append(InputError(e.path, e.reason))
    except BrokenPipeError:
        result.errors.append(InputError(ref.path, "standard output was closed before the end "
                                        "of the input; the rest was not written"))
        _quiet_stdout()
    result.errors.extend(ctx.notes)
    result.replaced = ctx.replaced
    return result


def _quiet_stdout() -> None:
    # Python would report the broken pipe again when it flushes stdout at exit.
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except OSError:
        pass


# ---------------------------------------------------------------- running

def executor(ropts: RedactOptions, seen: Callable[[RedactTaskResult], None]) -> Callable[
        [list[Task], ScanOptions, int, Callable[[TaskResult], None]], None]:
    """An ``execute`` function for :func:`logaudit.runner.run` that runs redaction tasks on
    the scan's :class:`~logaudit.executors.LocalExecutor` (same worker lifecycle, batches and
    lost-worker handling); ``seen`` gets each redaction result before the runner merges it."""
    local = LocalExecutor(task_fn=partial(redact_task, ropts=ropts))

    def execute(tasks: list[Task], opts: ScanOptions, workers: int,
                collect: Callable[[TaskResult], None]) -> None:
        def take(res: TaskResult) -> None:
            if isinstance(res, RedactTaskResult):
                seen(res)
            collect(res)

        local.execute(tasks, opts, workers, take)

    return execute
