"""What an input is, from its first bytes: one :func:`sniff` for every reader.

The walker, the range planner, the incremental planner and the redactor all ask
:func:`sniff`; nothing else looks at magic bytes. Archives are told by their own structure (a
tar header whose checksum is right, a zip signature), never by NUL bytes: a log that starts with
a hole of NULs (copytruncate, preallocation) is text. UTF-16 and UTF-32 text is told by its
byte-order mark, or without one by the NUL pattern of mostly-ASCII text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

SNIFF_BYTES = 8192

MAGIC: list[tuple[bytes, str]] = [
    (b"\x1f\x8b", "gzip"),
    (b"BZh", "bzip2"),
    (b"\xfd7zXZ\x00", "xz"),
    (b"\x28\xb5\x2f\xfd", "zstd"),
    (b"\x5d\x00\x00", "lzma"),
]

# Binary formats worth naming in the "skipped" reason (a NUL byte alone also means binary).
BINARY_MAGIC: list[tuple[bytes, str]] = [
    (b"\x89PNG", "PNG image"), (b"\xff\xd8\xff", "JPEG image"), (b"GIF8", "GIF image"),
    (b"\x7fELF", "ELF executable"), (b"MZ", "Windows executable"),
    (b"SQLite format 3\x00", "SQLite database"), (b"%PDF-", "PDF document"),
    (b"\xca\xfe\xba\xbe", "Java class / Mach-O"), (b"\xcf\xfa\xed\xfe", "Mach-O executable"),
    (b"7z\xbc\xaf\x27\x1c", "7z archive (not supported)"), (b"Rar!", "RAR archive (not supported)"),
    (b"PAR1", "Parquet file"), (b"\x00asm", "WebAssembly"), (b"RIFF", "RIFF media"),
]

# Longest BOM first: the UTF-32LE mark starts with the UTF-16LE one.
BOMS: list[tuple[bytes, str]] = [
    (b"\xff\xfe\x00\x00", "utf-32-le"), (b"\x00\x00\xfe\xff", "utf-32-be"),
    (b"\xef\xbb\xbf", "utf-8"), (b"\xff\xfe", "utf-16-le"), (b"\xfe\xff", "utf-16-be"),
]

_TEXT_CONTROLS = frozenset(b"\t\n\r\f\b\x1b")
_NONTEXT = bytes(c for c in range(32) if c not in _TEXT_CONTROLS) + b"\x7f"
# A run of NULs this long is a hole (sparse region, preallocated or zeroed blocks), not part
# of a binary format's structure; binary formats also hold isolated NULs, which still count.
_HOLE = re.compile(rb"\x00{32,}")
# UTF-16/32 without a BOM: at least this share of code units must be ASCII (a NUL high byte),
# and at most this share of NUL low bytes (a NUL character) is tolerated.
_ASCII_SHARE = 0.2
_STRAY_SHARE = 0.02


@dataclass(frozen=True, slots=True)
class Kind:
    """What :func:`sniff` found.

    ``form`` is ``compressed`` (``detail``: the codec), ``tar``, ``zip``, ``text`` (``detail``:
    the encoding, ``utf-8``, ``utf-16-le``…) or ``binary`` (``detail``: why). ``bom`` is the
    length of the byte-order mark to drop; ``cr_only``: lines end in a lone CR (classic Mac).
    """

    form: str
    detail: str = ""
    bom: int = 0
    cr_only: bool = False

    @property
    def codec(self) -> str | None:
        """The compression codec, or None."""
        return self.detail if self.form == "compressed" else None

    @property
    def archive(self) -> bool:
        """A tar or zip archive."""
        return self.form in ("tar", "zip")

    @property
    def plain(self) -> bool:
        """UTF-8 (or ASCII) text with LF line ends: its bytes are its lines, so it can be cut
        into byte ranges and resumed at a byte offset."""
        return self.form == "text" and self.detail == "utf-8" and not self.cr_only

    @property
    def transcode(self) -> str | None:
        """The encoding to decode to UTF-8 before scanning, or None."""
        return self.detail if self.form == "text" and self.detail != "utf-8" else None


def detect_codec(head: bytes) -> str | None:
    """The compression codec that ``head`` starts with, or None for plain data.

    A whole input shorter than its magic but at least 3 bytes of it (``\\xfd7zXZ``) is that
    codec cut short: decoding it reports the truncation, where text would pass it clean.
    """
    for magic, name in MAGIC:
        if head.startswith(magic) or (3 <= len(head) < len(magic) and magic.startswith(head)):
            return name
    return None


def is_tar(head: bytes) -> bool:
    """A tar header whose checksum field matches (ustar, GNU and v7).

    NUL bytes alone are not a tar: an all-zero block has no valid checksum, so a log that starts
    with a hole is read as text (an empty tar, all zeros, is then text without findings).
    """
    if len(head) < 512:
        return False
    block = head[:512]
    field = block[148:156].split(b"\x00", 1)[0].strip()
    if not field:
        return False
    try:
        want = int(field, 8)
    except ValueError:
        return False
    got = sum(block[:148]) + 8 * 32 + sum(block[156:])
    # Some old writers summed signed bytes.
    signed = got - 2 * sum(b for b in block[:148] + block[156:] if b > 127)
    return want in (got, signed) and got > 8 * 32


def is_zip(head: bytes) -> bool:
    """A zip's first local header, or an empty zip's end record."""
    return head.startswith((b"PK\x03\x04", b"PK\x05\x06"))


def _named_binary(head: bytes) -> str | None:
    for magic, name in BINARY_MAGIC:
        if head.startswith(magic) and (name != "Windows executable" or b"\x00" in head):
            return name
    return None


def _wide_pattern(head: bytes) -> str | None:
    """UTF-32 or UTF-16 (either order) without a BOM, told by where the NULs fall.

    Every ASCII character (spaces, digits, punctuation, line ends: plenty in any log, whatever
    its language) has NUL high bytes, always on the same side of the code unit; a binary
    format has NULs on both. The guess is kept only if the head decodes to printable text.
    """
    for width, names in ((4, ("utf-32-le", "utf-32-be")), (2, ("utf-16-le", "utf-16-be"))):
        n = len(head) // width
        if n < 8:
            continue
        body = head[: n * width]
        lanes = [body[i::width].count(0) for i in range(width)]
        for name, high, low in ((names[0], lanes[1:], lanes[0]),
                                (names[1], lanes[:-1], lanes[-1])):
            # UTF-32: the two top bytes are always 0; UTF-16: the high byte of ASCII.
            if width == 4 and min(high[-2:] if name.endswith("le") else high[:2]) < n * 0.98:
                continue
            if min(high) >= n * _ASCII_SHARE and low <= n * _STRAY_SHARE and \
                    _printable(body.decode(name, "replace")):
                return name
    return None


def _printable(text: str) -> bool:
    bad = sum(1 for c in text if (c < " " and c not in "\t\n\r\f\x1b") or c == "\ufffd")
    return bad <= len(text) * 0.02


def _cr_only(text: bytes) -> bool:
    return b"\r" in text and b"\n" not in text


def sniff(head: bytes) -> Kind:
    """What the input starting with ``head`` is (see :class:`Kind`)."""
    codec = detect_codec(head)
    if codec:
        return Kind("compressed", codec)
    if is_tar(head):
        return Kind("tar")
    if is_zip(head):
        return Kind("zip")
    for bom, enc in BOMS:
        if head.startswith(bom):
            return _text(head[len(bom):], enc, len(bom))
    named = _named_binary(head)
    if named:
        return Kind("binary", named)
    if b"\x00" in head:
        wide = _wide_pattern(head)
        if wide:
            return _text(head, wide, 0)
        rest = _HOLE.sub(b"", head)
        if b"\x00" in rest:
            return Kind("binary", "NUL bytes")
    else:
        rest = head
    if rest and len(rest.translate(None, _NONTEXT)) < len(rest) * 0.9:
        return Kind("binary", "control bytes")
    return Kind("text", "utf-8", 0, _cr_only(rest))


def _text(body: bytes, enc: str, bom: int) -> Kind:
    if enc == "utf-8":
        return Kind("text", enc, bom, _cr_only(body))
    width = 4 if enc.startswith("utf-32") else 2
    text = body[: len(body) // width * width].decode(enc, "replace")
    return Kind("text", enc, bom, "\r" in text and "\n" not in text)


def binary_reason(head: bytes) -> str | None:
    """Why ``head`` is not text that can be scanned as it is, or None.

    UTF-16/32 text counts here (its bytes are not UTF-8): for readers that do not transcode.
    """
    k = sniff(head)
    if k.form == "binary":
        return k.detail
    if k.transcode:
        return f"{k.transcode.upper()} text"
    return None
