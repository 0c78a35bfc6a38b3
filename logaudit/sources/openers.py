"""Open an input as a stream of decompressed bytes; codecs are detected by magic bytes."""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import sys
from collections.abc import Callable
from typing import IO, BinaryIO

from logaudit.sources.interface import InputRef

MAGIC: list[tuple[bytes, str]] = [
    (b"\x1f\x8b", "gzip"),
    (b"BZh", "bzip2"),
    (b"\xfd7zXZ\x00", "xz"),
    (b"\x28\xb5\x2f\xfd", "zstd"),
    (b"\x5d\x00\x00", "lzma"),
]

SNIFF_BYTES = 8192


def detect_codec(head: bytes) -> str | None:
    """The compression codec that ``head`` starts with, or None for plain data."""
    for magic, name in MAGIC:
        if head.startswith(magic):
            return name
    return None


def _gzip_reader(raw: BinaryIO) -> IO[bytes]:
    try:
        from isal import igzip  # fast gzip (Intel ISA-L); stdlib is the fallback

        return igzip.IGzipFile(fileobj=raw, mode="rb")  # type: ignore[no-any-return]
    except ImportError:  # pragma: no cover - depends on the platform
        return gzip.GzipFile(fileobj=raw, mode="rb")


def _zstd_reader(raw: BinaryIO) -> IO[bytes]:
    import zstandard

    dctx = zstandard.ZstdDecompressor()
    return dctx.stream_reader(raw, read_across_frames=True)  # type: ignore[no-any-return]


DECODERS: dict[str, Callable[[BinaryIO], IO[bytes]]] = {
    "gzip": _gzip_reader,
    "bzip2": lambda raw: bz2.BZ2File(raw, "rb"),
    "xz": lambda raw: lzma.LZMAFile(raw, "rb"),
    "lzma": lambda raw: lzma.LZMAFile(raw, "rb", format=lzma.FORMAT_ALONE),
    "zstd": _zstd_reader,
}


def open_raw(ref: InputRef) -> io.BufferedReader:
    """Open the input's raw bytes (a file, or standard input) as a peekable reader."""
    if ref.fs_path is None:
        return io.BufferedReader(sys.stdin.buffer.raw if hasattr(sys.stdin.buffer, "raw")
                                 else sys.stdin.buffer, buffer_size=1 << 20)  # type: ignore[arg-type]
    return open(ref.fs_path, "rb", buffering=1 << 20)


def peek(stream: io.BufferedReader, n: int = SNIFF_BYTES) -> bytes:
    """The first ``n`` bytes of ``stream`` without consuming them (may return fewer)."""
    return stream.peek(n)[:n]


def looks_binary(head: bytes) -> bool:
    """Text logs hold no NUL bytes; images, executables and databases almost always do."""
    return b"\x00" in head


def decompress(raw: BinaryIO, codec: str) -> io.BufferedReader:
    """Wrap ``raw`` in the decoder for ``codec`` (a peekable reader of the decoded bytes)."""
    return io.BufferedReader(DECODERS[codec](raw), buffer_size=1 << 20)  # type: ignore[arg-type]
