"""Open an input as a stream of decoded bytes; codecs and archives are detected by magic bytes.

:class:`Stream` is the one reader every layer uses: it can peek and push back, charges decoded
bytes to the input's :class:`~logaudit.sources.limits.Budget`, and turns a decoder's exception
into a :class:`StreamError` with a reason a user can act on.
"""

from __future__ import annotations

import bz2
import gzip
import lzma
import sys
import zlib
from collections.abc import Callable
from typing import Any, BinaryIO, Protocol, cast

from logaudit.sources.interface import InputRef, StreamError, human_bytes
from logaudit.sources.limits import Budget
from logaudit.sources.remote import is_url, open_object

MAGIC: list[tuple[bytes, str]] = [
    (b"\x1f\x8b", "gzip"),
    (b"BZh", "bzip2"),
    (b"\xfd7zXZ\x00", "xz"),
    (b"\x28\xb5\x2f\xfd", "zstd"),
    (b"\x5d\x00\x00", "lzma"),
]

SNIFF_BYTES = 8192

# Binary formats worth naming in the "skipped" reason (a NUL byte alone also means binary).
BINARY_MAGIC: list[tuple[bytes, str]] = [
    (b"\x89PNG", "PNG image"), (b"\xff\xd8\xff", "JPEG image"), (b"GIF8", "GIF image"),
    (b"\x7fELF", "ELF executable"), (b"MZ", "Windows executable"),
    (b"SQLite format 3\x00", "SQLite database"), (b"%PDF-", "PDF document"),
    (b"\xca\xfe\xba\xbe", "Java class / Mach-O"), (b"\xcf\xfa\xed\xfe", "Mach-O executable"),
    (b"7z\xbc\xaf\x27\x1c", "7z archive (not supported)"), (b"Rar!", "RAR archive (not supported)"),
    (b"PAR1", "Parquet file"), (b"\x00asm", "WebAssembly"), (b"RIFF", "RIFF media"),
]

_TEXT_CONTROLS = frozenset(b"\t\n\r\f\b\x1b")
_NONTEXT = bytes(c for c in range(32) if c not in _TEXT_CONTROLS) + b"\x7f"


class Reader(Protocol):
    """Anything with ``read(n)``."""

    def read(self, n: int = -1, /) -> bytes:
        """Up to ``n`` bytes; ``b""`` at the end."""
        ...


def detect_codec(head: bytes) -> str | None:
    """The compression codec that ``head`` starts with, or None for plain data."""
    for magic, name in MAGIC:
        if head.startswith(magic):
            return name
    return None


def binary_kind(head: bytes) -> str | None:
    """Why ``head`` looks like binary data (a named format, NUL bytes, control bytes), or None.

    Text logs hold no NUL bytes and few control bytes; images, executables and databases do.
    """
    for magic, name in BINARY_MAGIC:
        if head.startswith(magic) and (name != "Windows executable" or b"\x00" in head):
            return name
    if b"\x00" in head:
        return "NUL bytes"
    if head and len(head.translate(None, _NONTEXT)) < len(head) * 0.9:
        return "control bytes"
    return None


def _gzip_reader(raw: Any) -> Reader:
    try:
        from isal import igzip  # fast gzip (Intel ISA-L); stdlib is the fallback
    except ImportError:  # pragma: no cover - depends on the platform
        return gzip.GzipFile(fileobj=raw, mode="rb")
    return cast(Reader, igzip.IGzipFile(fileobj=raw, mode="rb"))  # type: ignore[no-untyped-call]


def _zstd_reader(raw: Any) -> Reader:
    return _ZstdReader(raw)


class _ZstdReader:
    """Multi-frame zstd decoding with bounded output per call and truncation detection.

    zstandard's own ``stream_reader`` returns ``b""`` on a truncated frame, so frames are decoded
    here with ``decompressobj``. Input is fed in pieces sized from the observed ratio so one
    call never produces much more than ``_TARGET`` bytes (a zstd block can expand 32000:1).
    """

    _TARGET = 1 << 20

    def __init__(self, raw: Reader) -> None:
        import zstandard

        self._raw = raw
        self._dctx = zstandard.ZstdDecompressor()
        self._dobj: Any = None
        self._pending = b""
        self._feed = 1024
        self._eof = False

    def read(self, n: int = -1) -> bytes:
        while not self._eof:
            if self._pending:
                data, self._pending = self._pending[: self._feed], self._pending[self._feed:]
            else:
                data = self._raw.read(self._feed)
                if not data:
                    self._eof = True
                    if self._dobj is not None:
                        raise EOFError("compressed data ended inside a zstd frame")
                    return b""
            if self._dobj is None:
                self._dobj = self._dctx.decompressobj()
            out: bytes = self._dobj.decompress(data)
            if self._dobj.eof:
                self._pending = self._dobj.unused_data + self._pending
                self._dobj = None
            ratio = max(len(out), 1) / len(data)
            self._feed = int(min(max(self._TARGET / ratio, 1024), 1 << 18))
            if out:
                return out
        return b""


DECODERS: dict[str, Callable[[Any], Reader]] = {
    "gzip": _gzip_reader,
    "bzip2": lambda raw: bz2.BZ2File(raw, "rb"),
    "xz": lambda raw: lzma.LZMAFile(raw, "rb"),
    "lzma": lambda raw: lzma.LZMAFile(raw, "rb", format=lzma.FORMAT_ALONE),
    "zstd": _zstd_reader,
}


def _decoder_errors() -> tuple[type[BaseException], ...]:
    errs: list[type[BaseException]] = [OSError, ValueError, zlib.error, lzma.LZMAError]
    try:
        import zstandard

        errs.append(zstandard.ZstdError)
    except ImportError:  # pragma: no cover
        pass
    return tuple(errs)


_DECODER_ERRORS = _decoder_errors()


class Stream:
    """A reader with ``peek`` and ``unread`` over one layer (file, codec, archive member).

    A codec layer (``codec`` set) charges what it decodes to ``budget`` and reports decoder
    failures as :class:`StreamError` naming ``path``, the codec and how far it got.
    """

    __slots__ = ("_inner", "_buf", "path", "level", "codec", "budget", "pos", "decoded", "_raw")

    def __init__(
        self, inner: Reader, path: str, level: int = 0, codec: str | None = None,
        budget: Budget | None = None, raw: bool = False,
    ) -> None:
        self._inner = inner
        self._buf = b""
        self.path = path
        self.level = level
        self.codec = codec
        self.budget = budget
        self.pos = 0  # bytes handed out so far
        self.decoded = 0  # bytes this layer produced (handed out or buffered)
        self._raw = raw  # the input's own bytes: count them as compressed input for the ratio

    def _fill(self, n: int) -> bytes:
        try:
            data = self._inner.read(n)
        except StreamError:
            raise
        except EOFError:
            raise StreamError(self.path, f"truncated {self.codec or 'data'} stream after "
                              f"{human_bytes(self.decoded)}", self.level) from None
        except _DECODER_ERRORS as e:
            if self.codec is None and isinstance(e, OSError) and e.strerror:
                raise StreamError(self.path, f"read error after {human_bytes(self.decoded)}: "
                                  f"{e.strerror}", self.level) from None
            raise StreamError(self.path, f"corrupt {self.codec or 'data'} stream after "
                              f"{human_bytes(self.decoded)} ({_short(e)})", self.level) from None
        self.decoded += len(data)
        if self.budget is not None and data:
            if self._raw:
                self.budget.raw += len(data)
            elif self.codec is not None:
                self.budget.charge(len(data))
        return data

    def read(self, n: int = -1) -> bytes:
        """Up to ``n`` bytes (all that is left when ``n < 0``); ``b""`` at the end."""
        if self._buf:
            if n < 0 or n >= len(self._buf):
                data, self._buf = self._buf, b""
                if n < 0:
                    data += self._read_all()
            else:
                data, self._buf = self._buf[:n], self._buf[n:]
        elif n < 0:
            data = self._read_all()
        else:
            data = self._fill(n)
            if len(data) > n:  # some decoders return more than asked
                data, self._buf = data[:n], data[n:]
        self.pos += len(data)
        return data

    def _read_all(self) -> bytes:
        parts = []
        while piece := self._fill(1 << 20):
            parts.append(piece)
        return b"".join(parts)

    def peek(self, n: int = SNIFF_BYTES) -> bytes:
        """The next ``n`` bytes (fewer at the end) without consuming them."""
        while len(self._buf) < n:
            piece = self._fill(max(n - len(self._buf), 1 << 16))
            if not piece:
                break
            self._buf += piece
        return self._buf[:n]

    def unread(self, data: bytes) -> None:
        """Push ``data`` back in front of the stream."""
        if data:
            self._buf = data + self._buf
            self.pos -= len(data)

    def readinto(self, b: bytearray | memoryview) -> int:
        """Read into ``b`` (some decoders read this way)."""
        data = self.read(len(b))
        n = len(data)
        b[:n] = data
        return n

    def readable(self) -> bool:
        """For libraries that check (tarfile)."""
        return True


def _short(e: BaseException) -> str:
    msg = str(e) or type(e).__name__
    return msg if len(msg) <= 120 else msg[:117] + "..."


def open_file(fs_path: str, storage_options: Any = ()) -> BinaryIO:
    """Open a local path, or an fsspec URL (object storage), for seekable binary reading."""
    if is_url(fs_path):
        return cast(BinaryIO, open_object(fs_path, storage_options))
    return open(fs_path, "rb", buffering=0)


def open_raw(ref: InputRef, budget: Budget | None = None,
             storage_options: Any = ()) -> tuple[Stream, Any]:
    """Open the input's raw bytes (a file, an object, or standard input) as a :class:`Stream`.

    Returns the stream and the object to close (None for standard input).
    """
    if ref.fs_path is None:
        return Stream(sys.stdin.buffer, ref.path, 0, None, budget, raw=True), None
    f = open_file(ref.fs_path, storage_options)
    return Stream(f, ref.path, 0, None, budget, raw=True), f


def peek(stream: Stream, n: int = SNIFF_BYTES) -> bytes:
    """The first ``n`` bytes of ``stream`` without consuming them (may return fewer)."""
    return stream.peek(n)


def decompress(raw: Stream, codec: str, budget: Budget | None = None) -> Stream:
    """Wrap ``raw`` in the decoder for ``codec`` (one level deeper)."""
    return Stream(DECODERS[codec](raw), raw.path, raw.level + 1, codec, budget)
