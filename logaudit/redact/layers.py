"""Rewrite an input layer by layer, mirroring how ``scan`` reads it: a codec gives the same codec
out, a tar or zip is rebuilt member by member (names, order, modes, times kept), text goes
through the rewriter. Any member that cannot be read fails the whole input: the caller discards
the output rather than write an archive with a member missing.
"""

from __future__ import annotations

import tarfile
import tempfile
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import IO, Any, BinaryIO, cast

from logaudit.engine.scanner import Engine
from logaudit.redact.replace import Replacer
from logaudit.redact.rewriter import Writer, rewrite_text
from logaudit.redact.sinks import encoder
from logaudit.runner import ScanOptions, TaskResult
from logaudit.sources.archives import is_tar, is_zip
from logaudit.sources.interface import InputError, StreamError, human_bytes
from logaudit.sources.limits import Budget
from logaudit.sources.openers import SNIFF_BYTES, Stream, binary_kind, decompress, detect_codec

# A member is rewritten into memory up to this size, then into a temporary file: a tar header
# needs the member's size before its data.
SPOOL_BYTES = 16 << 20


@dataclass
class Layers:
    """One input's rewrite: the scan options, engine and budget, and what it produced."""

    opts: ScanOptions
    engine: Engine
    result: TaskResult
    replacer: Replacer
    budget: Budget
    eager: bool = False
    after_chunk: Callable[[], None] | None = None
    replaced: int = 0
    notes: list[InputError] = field(default_factory=list)


def rewrite_layer(stream: Stream, out: Writer, ctx: Layers, head: bytes | None = None) -> None:
    """Decode ``stream`` and write it to ``out`` re-encoded the same way, values replaced."""
    if head is None:
        head = stream.peek(SNIFF_BYTES)
    codec = detect_codec(head)
    if codec:
        ctx.budget.depth(stream.level + 1, stream.path)
        enc = encoder(codec, cast(BinaryIO, out))
        rewrite_layer(decompress(stream, codec, ctx.budget), enc, ctx)
        enc.close()
        return
    if is_tar(head):
        ctx.budget.depth(stream.level + 1, stream.path)
        _rebuild_tar(stream, out, ctx)
    elif is_zip(head):
        ctx.budget.depth(stream.level + 1, stream.path)
        _rebuild_zip(stream, out, ctx)
    elif (kind := binary_kind(head)) and not ctx.opts.scan_binary:
        # Kept as it is, so a mirrored tree or a rebuilt archive is whole; not a log.
        _copy(stream, out)
        ctx.notes.append(InputError(stream.path, f"binary data ({kind}), copied unchanged; "
                                    "use --scan-binary to redact it as text", "skipped"))
    else:
        ctx.replaced += rewrite_text(stream, stream.path, ctx.opts, ctx.engine, ctx.result,
                                     ctx.replacer, out, eager=ctx.eager,
                                     after_chunk=ctx.after_chunk)


def _copy(stream: Stream, out: Writer) -> None:
    while piece := stream.read(1 << 20):
        out.write(piece)


# ---------------------------------------------------------------- tar


class _TarMember:
    def __init__(self, fobj: Any, path: str, level: int) -> None:
        self._f = fobj
        self._path = path
        self._level = level

    def read(self, n: int = -1) -> bytes:
        try:
            return cast(bytes, self._f.read(n))
        except tarfile.ReadError as e:
            raise StreamError(self._path.rsplit("!", 1)[0], f"truncated tar archive inside "
                              f"{self._path} ({e})", self._level - 1) from None


def _rebuild_tar(stream: Stream, out: Writer, ctx: Layers) -> None:
    level = stream.level + 1
    try:
        tin = tarfile.open(fileobj=stream, mode="r|", bufsize=1 << 20)  # type: ignore[call-overload]
    except tarfile.ReadError as e:
        raise StreamError(stream.path, f"corrupt tar archive ({e})", stream.level) from None
    tout = tarfile.open(fileobj=cast(IO[bytes], out), mode="w|", format=tarfile.PAX_FORMAT)
    try:
        with tin:
            while True:
                try:
                    info = tin.next()
                except (tarfile.ReadError, EOFError) as e:
                    raise StreamError(stream.path, f"corrupt or truncated tar archive after "
                                      f"{human_bytes(stream.pos)} ({e})", stream.level) from None
                if info is None:
                    break
                if not info.isfile():
                    tout.addfile(info)  # directories, links: as they were
                    continue
                mpath = f"{stream.path}!{info.name}"
                ctx.budget.member(mpath)
                fobj = tin.extractfile(info)
                with tempfile.SpooledTemporaryFile(SPOOL_BYTES) as spool:
                    if fobj is not None:
                        rewrite_layer(Stream(_TarMember(fobj, mpath, level), mpath, level),
                                      cast(Writer, spool), ctx)
                    info.size = spool.tell()
                    info.pax_headers.pop("size", None)
                    if info.type not in (tarfile.REGTYPE, tarfile.AREGTYPE, tarfile.CONTTYPE):
                        info.type = tarfile.REGTYPE  # a sparse member is written out whole
                    spool.seek(0)
                    tout.addfile(info, spool)
    except BaseException:
        # The output is discarded: nothing more may reach it, not even the end-of-archive
        # blocks that tarfile writes when the unclosed object is collected.
        cast(Any, tout).closed = True
        cast(Any, tout.fileobj).closed = True
        raise
    tout.close()


# ---------------------------------------------------------------- zip

_ZIP_ERRORS = (zipfile.BadZipFile, zlib.error, EOFError, OSError, NotImplementedError,
               RuntimeError)


class _ZipMember:
    def __init__(self, fobj: Any, path: str, level: int) -> None:
        self._f = fobj
        self._path = path
        self._level = level

    def read(self, n: int = -1) -> bytes:
        try:
            return cast(bytes, self._f.read(n))
        except _ZIP_ERRORS as e:
            raise StreamError(self._path, f"corrupt zip member ({_short(e)})",
                              self._level) from None


def _short(e: BaseException) -> str:
    msg = str(e) or type(e).__name__
    return msg if len(msg) <= 120 else msg[:117] + "..."


def _without_zip64(extra: bytes) -> bytes:
    """The extra field minus its zip64 record (zipfile writes a fresh one when needed)."""
    out = bytearray()
    i = 0
    while i + 4 <= len(extra):
        tag = int.from_bytes(extra[i:i + 2], "little")
        size = int.from_bytes(extra[i + 2:i + 4], "little")
        if tag != 1:
            out += extra[i:i + 4 + size]
        i += 4 + size
    return bytes(out)


def _rebuild_zip(stream: Stream, out: Writer, ctx: Layers) -> None:
    level = stream.level + 1
    # A zip's modes live in its central directory, at the end: read it from a seekable copy.
    with tempfile.SpooledTemporaryFile(SPOOL_BYTES) as copy:
        _copy(stream, cast(Writer, copy))
        copy.seek(0)
        try:
            zin = zipfile.ZipFile(copy)
        except (zipfile.BadZipFile, OSError, ValueError) as e:
            raise StreamError(stream.path, f"corrupt zip archive ({_short(e)})",
                              stream.level) from None
        with zin, zipfile.ZipFile(cast(IO[bytes], out), "w") as zout:
            for info in zin.infolist():
                mpath = f"{stream.path}!{info.filename}"
                new = zipfile.ZipInfo(info.filename, info.date_time)
                new.compress_type = info.compress_type
                new.external_attr = info.external_attr
                new.create_system = info.create_system
                new.comment = info.comment
                new.extra = _without_zip64(info.extra)
                if info.is_dir():
                    zout.writestr(new, b"")
                    continue
                ctx.budget.member(mpath)
                if info.flag_bits & 0x1:
                    raise StreamError(mpath, "encrypted zip member; cannot be read without "
                                      "the password", level)
                if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
                    raise StreamError(mpath, f"zip compression method {info.compress_type} is "
                                      "not supported (stored and deflate are)", level)
                try:
                    src = zin.open(info)
                except _ZIP_ERRORS as e:
                    raise StreamError(mpath, f"corrupt zip member ({_short(e)})",
                                      level) from None
                codec = "deflate" if info.compress_type else None
                with src, zout.open(new, "w", force_zip64=info.file_size > 1 << 30) as dst:
                    rewrite_layer(Stream(_ZipMember(src, mpath, level), mpath, level, codec,
                                         ctx.budget if codec else None), cast(Writer, dst), ctx)

