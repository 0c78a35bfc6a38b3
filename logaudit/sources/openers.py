"""Open an input as a stream of decoded bytes; codecs and archives are detected by magic bytes.

:class:`Stream` is the one reader every layer uses: it can peek and push back, charges decoded
bytes to the input's :class:`~logaudit.sources.limits.Budget`, and turns a decoder's exception
into a :class:`StreamError` with a reason a user can act on.
"""

from __future__ import annotations

import bz2
import lzma
import sys
import zlib
from typing import Any, BinaryIO, Protocol, cast

from logaudit.sources.interface import InputRef, StreamError, human_bytes
from logaudit.sources.limits import Budget
from logaudit.sources.remote import is_url, open_object

# Re-exported: the one sniffer lives in sniff.py.
from logaudit.sources.sniff import BINARY_MAGIC as BINARY_MAGIC
from logaudit.sources.sniff import MAGIC as MAGIC
from logaudit.sources.sniff import SNIFF_BYTES as SNIFF_BYTES
from logaudit.sources.sniff import Kind, binary_reason
from logaudit.sources.sniff import detect_codec as detect_codec


class Reader(Protocol):
    """Anything with ``read(n)``."""

    def read(self, n: int = -1, /) -> bytes:
        """Up to ``n`` bytes; ``b""`` at the end."""
        ...


def binary_kind(head: bytes) -> str | None:
    """Why ``head`` is not text to scan as it is (a named format, NUL or control bytes,
    UTF-16/32), or None; see :func:`~logaudit.sources.sniff.sniff`."""
    return binary_reason(head)


class TrailingData(Exception):
    """Bytes after the last complete frame that are neither a frame nor NUL padding."""

    def __init__(self, size: int) -> None:
        super().__init__(f"{size} bytes of trailing data")
        self.size = size


def _zlib_module() -> Any:
    try:
        from isal import isal_zlib  # fast gzip (Intel ISA-L); stdlib is the fallback
    except ImportError:  # pragma: no cover - depends on the platform
        return zlib
    return isal_zlib


class _Frame:
    """One frame (gzip member, bzip2/xz stream, zstd frame) of a codec, decoded in pieces.

    ``decode(data, limit)`` takes new input (None: go on with the input it holds) and returns
    at most about ``limit`` bytes; ``wants_input`` says when it needs more.
    """

    __slots__ = ("_d", "_kind")

    def __init__(self, codec: str) -> None:
        self._kind = codec
        if codec == "gzip":
            self._d: Any = _zlib_module().decompressobj(31)
        elif codec == "bzip2":
            self._d = bz2.BZ2Decompressor()
        elif codec == "xz":
            self._d = lzma.LZMADecompressor(lzma.FORMAT_XZ)
        elif codec == "lzma":
            self._d = lzma.LZMADecompressor(lzma.FORMAT_ALONE)
        else:
            import zstandard

            self._d = zstandard.ZstdDecompressor().decompressobj()

    def wants_input(self) -> bool:
        """True when everything given so far has been decoded."""
        if self._kind == "gzip":
            return not self._d.unconsumed_tail
        if self._kind == "zstd":
            return True
        return bool(self._d.needs_input)

    def decode(self, data: bytes | None, limit: int) -> bytes:
        """Decode ``data`` (or the input held back), about ``limit`` bytes at most."""
        if self._kind == "gzip":
            return bytes(self._d.decompress(self._d.unconsumed_tail if data is None else data,
                                            limit))
        if self._kind == "zstd":  # no output limit: the caller feeds small pieces
            return bytes(self._d.decompress(data or b""))
        return bytes(self._d.decompress(data or b"", limit))

    @property
    def eof(self) -> bool:
        """The frame's end was reached (and its checksum verified)."""
        return bool(self._d.eof)

    @property
    def unused(self) -> bytes:
        """Input after the frame's end."""
        return bytes(self._d.unused_data)


_FRAME_MAGIC = {"gzip": b"\x1f\x8b", "bzip2": b"BZh", "xz": b"\xfd7zXZ\x00",
                "zstd": b"\x28\xb5\x2f\xfd", "lzma": None}


class FrameReader:
    """Concatenated frames of one codec (``cat a.gz b.gz``), decoded in bounded pieces.

    Whatever was decoded before a failure is handed out before the failure is raised, so the
    lines read before a cut or a corrupt block are all scanned: a stream cut inside a frame
    raises ``EOFError`` (truncated) once everything decodable is out. After the last complete
    frame, NUL padding is ignored and any other bytes raise :class:`TrailingData` (a warning:
    nothing that was a frame is lost). Input is fed in pieces sized from the observed ratio, so
    one call never produces much more than ``_TARGET`` bytes (a zstd block can expand 32000:1).
    """

    _TARGET = 1 << 20
    _PIECE = 1 << 16

    def __init__(self, raw: Reader, codec: str) -> None:
        self._raw = raw
        self._codec = codec
        self._magic = _FRAME_MAGIC[codec]
        self._frame: _Frame | None = None
        self._frames = 0
        self._pending = b""
        # zstd has no output limit: start small (an RLE block turns 3 bytes into 128 KiB).
        self._feed = 64 if codec == "zstd" else 1 << 14
        self._done = False

    def _input(self, n: int) -> bytes:
        if self._pending:
            data, self._pending = self._pending[:n], self._pending[n:]
            return data
        return self._raw.read(n)

    def _fill(self, need: int) -> None:
        while len(self._pending) < need:
            piece = self._raw.read(1 << 16)
            if not piece:
                break
            self._pending += piece

    def _start(self) -> bool:
        """Open the next frame; False at a clean end. Between frames, NUL padding (xz stream
        padding, zeroed blocks) and zstd skippable frames (seekable zstd's seek table) are
        passed over."""
        magic = self._magic
        need = len(magic or b"x")
        while True:
            self._fill(max(need, 8))
            pending = self._pending
            if not pending:
                return False
            if not self._frames:
                break
            if pending[0] == 0:
                self._pending = pending.lstrip(b"\x00")
                continue
            if self._codec == "zstd" and pending[0] & 0xF0 == 0x50 and \
                    pending[1:4] == b"\x2a\x4d\x18" and len(pending) >= 8:
                self._skip(8 + int.from_bytes(pending[4:8], "little"))
                continue
            if magic and len(pending) < need and magic.startswith(pending):
                raise EOFError(f"compressed data ended inside a {self._codec} frame header")
            if magic is None or not pending.startswith(magic):
                self._trailing()
                return False
            break
        self._frame = _Frame(self._codec)
        return True

    def _skip(self, n: int) -> None:
        while n > len(self._pending):
            n -= len(self._pending)
            self._pending = self._raw.read(min(n, 1 << 20))
            if not self._pending:
                raise EOFError(f"compressed data ended inside a {self._codec} skippable frame")
        self._pending = self._pending[n:]

    def _trailing(self) -> None:
        size, zeros = len(self._pending), not self._pending.strip(b"\x00")
        self._pending = b""
        while piece := self._raw.read(1 << 20):
            size += len(piece)
            zeros = zeros and not piece.strip(b"\x00")
        if not zeros:
            raise TrailingData(size)

    def read(self, n: int = -1) -> bytes:
        """Up to about ``n`` decoded bytes; ``b""`` at the end."""
        # Small pieces: a corrupt block loses at most the piece it was decoded in.
        limit = min(n, self._PIECE) if n > 0 else self._PIECE
        while not self._done:
            if self._frame is None and not self._start():
                self._done = True
                break
            frame = self._frame
            assert frame is not None
            data: bytes | None = None
            if frame.wants_input():
                data = self._input(self._feed)
                if not data:
                    self._done = True
                    raise EOFError(f"compressed data ended inside a {self._codec} frame")
            out = frame.decode(data, limit)
            if data and self._codec == "zstd":
                ratio = max(len(out), 1) / len(data)
                self._feed = int(min(max(self._TARGET / ratio, 64), 1 << 18))
            if frame.eof:
                self._pending = frame.unused + self._pending
                self._frame = None
                self._frames += 1
            if out:
                return out
        return b""


def _decoder_errors() -> tuple[type[BaseException], ...]:
    errs: list[type[BaseException]] = [OSError, ValueError, zlib.error, lzma.LZMAError]
    try:
        import zstandard

        errs.append(zstandard.ZstdError)
    except ImportError:  # pragma: no cover
        pass
    try:
        from isal import isal_zlib

        errs.append(cast("type[BaseException]", isal_zlib.error))
    except ImportError:  # pragma: no cover - depends on the platform
        pass
    return tuple(errs)


_DECODER_ERRORS = _decoder_errors()


class Stream:
    """A reader with ``peek`` and ``unread`` over one layer (file, codec, archive member).

    A codec layer (``codec`` set) charges what it decodes to ``budget`` and reports decoder
    failures as :class:`StreamError` naming ``path``, the codec and how far it got.
    """

    __slots__ = ("_inner", "_buf", "path", "level", "codec", "budget", "pos", "decoded", "_raw",
                 "_error")

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
        # A failure met while reading ahead (peek): raised once the bytes before it are out.
        self._error: StreamError | None = None

    def _fill(self, n: int) -> bytes:
        if self._error is not None:
            raise self._error
        try:
            data = self._inner.read(n)
        except StreamError:
            raise
        except TrailingData as e:
            raise StreamError(self.path, f"{human_bytes(e.size)} of trailing data after the "
                              f"{self.codec} stream ignored (not {self.codec} data)", self.level,
                              kind="warning") from None
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
        try:
            while piece := self._fill(1 << 20):
                parts.append(piece)
        except StreamError as e:
            if not parts:
                raise
            self._error = e
        return b"".join(parts)

    def peek(self, n: int = SNIFF_BYTES) -> bytes:
        """The next ``n`` bytes (fewer at the end) without consuming them."""
        while len(self._buf) < n:
            try:
                piece = self._fill(max(n - len(self._buf), 1 << 16))
            except StreamError as e:
                if not self._buf:
                    raise
                self._error = e  # the bytes decoded before it are read first
                break
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
    return Stream(FrameReader(raw, codec), raw.path, raw.level + 1, codec, budget)


class _Transcoder:
    """UTF-16/32 text decoded to UTF-8 (bad code units become U+FFFD), the BOM dropped; with
    ``cr_only`` a lone CR ends a line (turned into LF)."""

    def __init__(self, src: Reader, encoding: str | None, cr_only: bool) -> None:
        import codecs

        self._src = src
        self._dec = codecs.getincrementaldecoder(encoding)("replace") if encoding else None
        self._cr = cr_only
        self._eof = False

    def read(self, n: int = -1) -> bytes:
        while not self._eof:
            data = self._src.read(n if n > 0 else 1 << 20)
            if self._dec is not None:
                self._eof = not data
                data = self._dec.decode(data, final=self._eof).encode("utf-8", "replace")
            elif not data:
                self._eof = True
            if self._cr:
                data = data.replace(b"\r", b"\n")
            if data:
                return data
        return b""


def text_stream(stream: Stream, kind: Kind) -> Stream:
    """``stream`` as UTF-8 text with LF line ends, per what :func:`sniff` found.

    UTF-16/32 is decoded (a layer of its own, so errors name it); a UTF-8 BOM is left for the
    chunker to drop (its bytes still count in offsets); CR-only line ends become LF (same
    length). Plain UTF-8 is returned as it is.
    """
    if kind.transcode is None and not kind.cr_only:
        return stream
    if kind.transcode is not None and kind.bom:
        stream.read(kind.bom)
    return Stream(_Transcoder(stream, kind.transcode, kind.cr_only), stream.path, stream.level,
                  kind.transcode)
