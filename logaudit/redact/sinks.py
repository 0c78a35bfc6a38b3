"""Where rewritten bytes go: codec encoders (the input's codec out), files written beside their
final name and renamed only when complete, and the concatenation of byte-range parts."""

from __future__ import annotations

import bz2
import contextlib
import gzip
import lzma
import os
import shutil
import tempfile
from typing import IO, Any, BinaryIO, cast

from logaudit import fsio

TMP_SUFFIX = ".logaudit-tmp"


class _Closing:
    """An encoder that finishes its codec stream on ``close`` and leaves the sink open."""

    def __init__(self, enc: Any) -> None:
        self._enc = enc

    def write(self, data: bytes) -> int:
        return cast(int, self._enc.write(data))

    def flush(self) -> None:
        """Nothing: a codec flush would end a block early (and change the output)."""

    def close(self) -> None:
        self._enc.close()


def encoder(codec: str, sink: BinaryIO) -> _Closing:
    """A writer compressing with ``codec`` (as detected on input) into ``sink``.

    gzip is written without a name and with mtime 0, so the output does not depend on when
    or where it was made.
    """
    if codec == "gzip":
        try:
            from isal import igzip  # ISA-L: several times faster than zlib at similar ratios

            return _Closing(igzip.IGzipFile(filename="", fileobj=sink, mode="wb", mtime=0))  # type: ignore[no-untyped-call]
        except ImportError:  # pragma: no cover - depends on the platform
            return _Closing(gzip.GzipFile(fileobj=sink, mode="wb", mtime=0, filename=""))
    if codec == "bzip2":
        return _Closing(bz2.BZ2File(sink, "wb"))
    if codec == "xz":
        return _Closing(lzma.LZMAFile(sink, "wb", format=lzma.FORMAT_XZ))
    if codec == "lzma":
        return _Closing(lzma.LZMAFile(sink, "wb", format=lzma.FORMAT_ALONE))
    if codec == "zstd":
        import zstandard

        cctx = zstandard.ZstdCompressor(write_checksum=True)
        return _Closing(cctx.stream_writer(sink, closefd=False))
    raise ValueError(f"no encoder for {codec}")


class AtomicFile:
    """A file written beside ``final`` under a temporary name; :meth:`commit` fsyncs it and
    renames it over ``final``, :meth:`discard` removes it. Nothing partial ever carries the
    final name."""

    def __init__(self, final: str, prefix: str | None = None) -> None:
        # As every file logaudit writes (logaudit.fsio): through a symlink the file it points
        # to is replaced and the link stays; a device or FIFO is refused, never renamed over.
        self.final = fsio.regular_target(final)
        d, name = os.path.split(self.final)
        fd, self.tmp = tempfile.mkstemp(dir=d or ".", prefix=prefix or f".{name}.",
                                        suffix=TMP_SUFFIX)
        self.file: IO[bytes] = os.fdopen(fd, "wb", buffering=1 << 20)
        self._done = False

    def write(self, data: bytes) -> int:
        """Write ``data``."""
        return self.file.write(data)

    def fsync(self) -> None:
        """Flush and fsync the data (before a rename makes it visible)."""
        self.file.flush()
        os.fsync(self.file.fileno())

    def commit(self, fsync: bool = True) -> None:
        """Make the file visible under its final name."""
        if fsync:
            self.fsync()
        self.file.close()
        os.replace(self.tmp, self.final)
        self._done = True

    def close_as_part(self) -> str:
        """Close and keep the temporary file (a byte-range part); return its path."""
        self.file.close()
        self._done = True
        return self.tmp

    def discard(self) -> None:
        """Remove the temporary file (idempotent)."""
        if self._done:
            return
        self._done = True
        with contextlib.suppress(OSError):
            self.file.close()
        with contextlib.suppress(OSError):
            os.unlink(self.tmp)


def append_file(src: str, dst: IO[bytes]) -> None:
    """Append the bytes of ``src`` to ``dst`` (in the kernel where it can)."""
    dst.flush()
    with open(src, "rb") as f:
        size = os.fstat(f.fileno()).st_size
        copied = 0
        try:
            while copied < size:
                n = os.copy_file_range(f.fileno(), dst.fileno(), size - copied)
                if n == 0:
                    break
                copied += n
        except (AttributeError, OSError):
            f.seek(copied)
            dst.seek(0, os.SEEK_END)
            shutil.copyfileobj(f, dst, 1 << 20)
