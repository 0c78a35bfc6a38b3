"""Newline-aligned chunks of a byte stream, with line numbers, in bounded memory.

A chunk holds whole lines. A line longer than ``max_line`` is cut into overlapping windows so
memory stays bounded; each window reports only the matches that *start* before its ``limit``,
and the next window starts ``overlap`` bytes before the previous one ended, so every match no
longer than ``overlap`` is reported exactly once.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

DEFAULT_BLOCK = 8 << 20
DEFAULT_MAX_LINE = 1 << 20
DEFAULT_OVERLAP = 16 << 10
UTF8_BOM = b"\xef\xbb\xbf"


@dataclass(frozen=True, slots=True)
class Chunk:
    """A piece of decompressed text made of whole lines (or one window of an over-long line).

    ``first_line`` is the 1-based number of the line ``data`` starts in; ``first_col`` is the byte
    offset of ``data[0]`` inside that line (non-zero only after a window cut); ``limit`` is the
    offset from which matches belong to the next chunk; ``offset`` is ``data[0]``'s byte offset
    in the whole stream.
    """

    data: bytes
    first_line: int
    first_col: int
    limit: int
    offset: int


def iter_chunks(
    stream: BinaryIO,
    block_size: int = DEFAULT_BLOCK,
    max_line: int = DEFAULT_MAX_LINE,
    overlap: int = DEFAULT_OVERLAP,
    read_size: int | None = None,
    eager: bool = False,
    skip_bom: bool = False,
) -> Iterator[Chunk]:
    """Yield newline-aligned chunks of about ``block_size`` bytes read from ``stream``.

    Memory is bounded by ``block_size + max_line + read_size`` whatever the input holds.
    ``eager``: yield the whole lines read so far after every read instead of waiting for a
    full block (a live pipe whose reader returns what is available). ``skip_bom``: a UTF-8
    byte-order mark at the start is not part of the first line (columns do not shift), though
    its bytes still count in the offsets.
    """
    if overlap >= max_line:
        raise ValueError("overlap must be smaller than max_line")
    read_size = read_size or block_size
    buf = bytearray()
    line = 1
    col = 0  # byte offset, inside the current line, of buf[0]
    offset = 0
    eof = False
    bom = skip_bom
    while not eof:
        piece = stream.read(read_size)
        if piece:
            buf += piece
        else:
            eof = True
        if bom:
            if len(buf) < len(UTF8_BOM) and not eof:
                continue
            bom = False
            if buf.startswith(UTF8_BOM):
                del buf[:len(UTF8_BOM)]
                offset = len(UTF8_BOM)
        while buf:
            first_nl = buf.find(b"\n", 0, max_line + 1)
            if first_nl < 0:
                if len(buf) > max_line:
                    # An over-long line: emit one window, keep the overlap for the next one.
                    step = max_line - overlap
                    yield Chunk(bytes(buf[:max_line]), line, col, step, offset)
                    del buf[:step]
                    col += step
                    offset += step
                    continue
                if eof:
                    data = bytes(buf)
                    buf.clear()
                    yield Chunk(data, line, col, len(data), offset)
                break
            if not eof and len(buf) < block_size and not eager:
                break
            cut = max(buf.rfind(b"\n", 0, block_size), first_nl)
            data = bytes(buf[: cut + 1])
            del buf[: cut + 1]
            yield Chunk(data, line, col, len(data), offset)
            line += data.count(b"\n")
            offset += len(data)
            col = 0
