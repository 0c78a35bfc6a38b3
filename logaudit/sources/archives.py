"""Walk an input's layers in-stream: codecs, tar and zip members, nested archives.

Nothing is extracted to disk and nothing needs a seekable input: tar is read with tarfile's
stream mode and zip by its local headers, one member after the other. Each text member found is
handed to ``Walk.on_text`` with its display path (``a.zip!b.tar.gz!c.log``). A broken member is
reported and the walk goes on where the archive format allows it; a broken archive stream or a
hit limit stops that input.
"""

from __future__ import annotations

import struct
import tarfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field

from logaudit.sources.interface import InputError, StreamError, human_bytes
from logaudit.sources.limits import Budget, LimitExceeded
from logaudit.sources.openers import SNIFF_BYTES, Stream, decompress, text_stream
from logaudit.sources.sniff import is_tar as is_tar  # re-exported
from logaudit.sources.sniff import is_zip as is_zip
from logaudit.sources.sniff import sniff

TextHandler = Callable[[str, Stream], None]


@dataclass
class Walk:
    """State of one input's walk: budget, handler for text streams, errors found on the way.

    ``only`` restricts the walk to one archive member (and what is nested in it), so that a
    single member can be a unit of work of its own.
    """

    budget: Budget
    on_text: TextHandler
    scan_binary: bool = False
    only: str | None = None
    errors: list[InputError] = field(default_factory=list)
    members: int = 0


def _wanted(walk: Walk, member_path: str) -> bool:
    o = walk.only
    return o is None or o == member_path or o.startswith(member_path + "!")


def walk_stream(stream: Stream, walk: Walk) -> None:
    """Decode ``stream`` layer by layer and hand every text stream to ``walk.on_text``."""
    kind = sniff(stream.peek(SNIFF_BYTES))
    if kind.codec:
        walk.budget.depth(stream.level + 1, stream.path)
        walk_stream(decompress(stream, kind.codec, walk.budget), walk)
    elif kind.form == "tar":
        walk.budget.depth(stream.level + 1, stream.path)
        _walk_tar(stream, walk)
    elif kind.form == "zip":
        walk.budget.depth(stream.level + 1, stream.path)
        _walk_zip(stream, walk)
    elif kind.form == "binary" and not walk.scan_binary:
        walk.errors.append(InputError(stream.path, f"binary data ({kind.detail}), not a log; "
                                      "use --scan-binary to scan it anyway", "skipped"))
    elif kind.form == "binary":
        walk.on_text(stream.path, stream)
    else:
        walk.on_text(stream.path, text_stream(stream, kind))


def _member(walk: Walk, stream: Stream, member: Stream) -> None:
    """Walk one member; a failure inside it is recorded, one in ``stream`` itself propagates."""
    try:
        walk_stream(member, walk)
    except LimitExceeded:
        raise
    except StreamError as e:
        if e.level <= stream.level:
            raise
        walk.errors.append(e.as_error())


# ---------------------------------------------------------------- tar


def _walk_tar(stream: Stream, walk: Walk) -> None:
    level = stream.level + 1
    try:
        # Names that are not UTF-8 come through as lone surrogates, whatever the locale.
        tf = tarfile.open(fileobj=stream, mode="r|", bufsize=1 << 20,  # type: ignore[call-overload]
                          encoding="utf-8", errors="surrogateescape")
    except tarfile.ReadError as e:
        raise StreamError(stream.path, f"corrupt tar archive ({e})", stream.level) from None
    with tf:
        while True:
            try:
                info = tf.next()
            except (tarfile.ReadError, EOFError) as e:
                raise StreamError(stream.path, f"corrupt or truncated tar archive after "
                                  f"{human_bytes(stream.pos)} ({e})", stream.level) from None
            if info is None:
                # tarfile ends quietly where the data ends; a tar ends with zero blocks. Data
                # that stops at a member boundary without them was cut.
                if stream.pos < tf.offset + 512 and not stream.peek(1):
                    raise StreamError(stream.path, f"truncated tar archive after "
                                      f"{human_bytes(tf.offset)} (no end-of-archive blocks)",
                                      stream.level)
                return
            if not info.isfile():
                continue  # directories, links, devices: nothing to read
            mpath = f"{stream.path}!{info.name}"
            walk.budget.member(mpath)
            walk.members += 1
            if not _wanted(walk, mpath):
                continue
            fobj = tf.extractfile(info)
            if fobj is None:  # pragma: no cover - regular files always have data
                continue
            _member(walk, stream, Stream(_TarMember(fobj, mpath, level), mpath, level))


class _TarMember:
    """A tar member's bytes; a short read means the tar stream itself was cut."""

    def __init__(self, fobj: object, path: str, level: int) -> None:
        self._f = fobj
        self._path = path
        self._level = level

    def read(self, n: int = -1) -> bytes:
        try:
            return self._f.read(n)  # type: ignore[attr-defined, no-any-return]
        except tarfile.ReadError as e:
            # The member was cut short: the archive's stream is broken (level - 1).
            archive = self._path.rsplit("!", 1)[0]
            raise StreamError(archive, f"truncated tar archive inside {self._path} ({e})",
                              self._level - 1) from None


# ---------------------------------------------------------------- zip

_LOCAL = b"PK\x03\x04"
_DESCRIPTOR = b"PK\x07\x08"
_END_SIGS = (b"PK\x01\x02", b"PK\x05\x06", b"PK\x06\x06", b"PK\x06\x07")


def _read_exact(stream: Stream, n: int, what: str) -> bytes:
    parts: list[bytes] = []
    got = 0
    while got < n:
        piece = stream.read(n - got)
        if not piece:
            raise StreamError(stream.path, f"truncated zip archive after "
                              f"{human_bytes(stream.pos)} (in {what})", stream.level)
        parts.append(piece)
        got += len(piece)
    return b"".join(parts)


def _skip(stream: Stream, n: int, what: str) -> None:
    while n > 0:
        piece = stream.read(min(n, 1 << 20))
        if not piece:
            raise StreamError(stream.path, f"truncated zip archive after "
                              f"{human_bytes(stream.pos)} (in {what})", stream.level)
        n -= len(piece)


def _zip64_sizes(extra: bytes, csize: int, usize: int) -> tuple[int, int]:
    i = 0
    while i + 4 <= len(extra):
        tag, size = struct.unpack_from("<HH", extra, i)
        if tag == 1:
            body = extra[i + 4 : i + 4 + size]
            vals = [struct.unpack_from("<Q", body, j)[0] for j in range(0, len(body) - 7, 8)]
            k = 0
            if usize == 0xFFFFFFFF and k < len(vals):
                usize, k = vals[k], k + 1
            if csize == 0xFFFFFFFF and k < len(vals):
                csize = vals[k]
            break
        i += 4 + size
    return csize, usize


def _read_upto(stream: Stream, n: int) -> bytes:
    """``n`` bytes, fewer only at the end: a read may stop at a buffer boundary."""
    data = stream.read(n)
    while 0 < len(data) < n:
        more = stream.read(n - len(data))
        if not more:
            break
        data += more
    return data


def _walk_zip(stream: Stream, walk: Walk) -> None:
    level = stream.level + 1
    count = 0
    while True:
        sig = _read_upto(stream, 4)
        if sig in _END_SIGS:
            return
        if sig != _LOCAL:
            if not sig:
                raise StreamError(stream.path, f"truncated zip archive after {count} member(s)"
                                  " (no central directory)", stream.level)
            raise StreamError(stream.path, f"corrupt zip archive: bad header after "
                              f"{human_bytes(stream.pos)}", stream.level)
        hdr = _read_exact(stream, 26, "a local header")
        _ver, flags, method, _t, _d, crc, csize, usize, nlen, xlen = struct.unpack(
            "<HHHHHIIIHH", hdr)
        raw_name = _read_exact(stream, nlen, "a member name")
        extra = _read_exact(stream, xlen, "a header extra field")
        # Lossless: bytes that are not UTF-8 come through as lone surrogates (like tar names).
        name = raw_name.decode("utf-8" if flags & 0x800 else "cp437", "surrogateescape")
        zip64 = csize == 0xFFFFFFFF or usize == 0xFFFFFFFF
        if zip64:
            csize, usize = _zip64_sizes(extra, csize, usize)
        has_dd = bool(flags & 0x08)
        # With a data descriptor the header's sizes are usually 0, but a writer that could
        # seek back (Info-ZIP) fills them in: then the member can be skipped by its size.
        sized = not has_dd or csize > 0
        mpath = f"{stream.path}!{name}"
        count += 1
        if name.endswith("/"):  # a directory: nothing to read, but find where it ends
            if sized:
                _skip(stream, csize, name)
            elif method == 8 and not flags & 0x01:
                _ZipMember(stream, 8, None, None, mpath, level).drain()
            else:
                _UntilDescriptor(stream, zip64, name).drain()
            if has_dd:
                _descriptor(stream, zip64, name, csize if sized else None)
            continue
        walk.budget.member(mpath)
        walk.members += 1
        problem = None
        if flags & 0x01:
            problem = "encrypted zip member; cannot be read without the password"
        elif method not in (0, 8):
            problem = f"zip compression method {method} is not supported (stored and deflate are)"
        if problem:
            walk.errors.append(InputError(mpath, problem))
        if problem or not _wanted(walk, mpath):
            if sized:
                _skip(stream, csize, name)
                if has_dd:
                    _descriptor(stream, zip64, name, csize)
                continue
            if method != 8 or flags & 0x01:
                _UntilDescriptor(stream, zip64, name).drain()
                _descriptor(stream, zip64, name, None)
                continue
        # Deflate finds its own end; a stored member needs its size, or its descriptor.
        member: _ZipMember | _UntilDescriptor
        if method == 0 and not sized:
            member = _UntilDescriptor(stream, zip64, name)
        else:
            member = _ZipMember(stream, method, None if method == 8 and has_dd else csize,
                                None if has_dd else crc, mpath, level)
        if not problem and _wanted(walk, mpath):
            _member(walk, stream, Stream(member, mpath, level, "deflate" if method else None,
                                         walk.budget if method else None))
        member.drain()
        if has_dd:
            crc = _descriptor(stream, zip64, name, None)
            if member.crc != crc and not problem:
                walk.errors.append(InputError(mpath, "corrupt zip member: CRC mismatch"))


def _descriptor(stream: Stream, zip64: bool, name: str, csize: int | None) -> int:
    """Read a data descriptor (its signature is optional); return its CRC-32. With ``csize``,
    check that the descriptor ends a member of that size."""
    d = _read_exact(stream, 4, "a data descriptor")
    if d != _DESCRIPTOR:
        stream.unread(d)
    desc = _read_exact(stream, 20 if zip64 else 12, "a data descriptor")
    crc, size = struct.unpack_from("<IQ" if zip64 else "<II", desc)
    if csize is not None and size != csize:
        raise StreamError(stream.path, f"cannot find the end of member {name}: its sizes "
                          "disagree; rest of the archive not scanned", stream.level)
    return int(crc)


class _UntilDescriptor:
    """The bytes of a member whose size only its data descriptor gives and that cannot be
    decoded to find its end (stored, encrypted): read up to the descriptor whose compressed
    size equals the bytes before it (with its signature, or followed by the next header),
    which is left in the archive stream. Memory stays bounded; the CRC-32 is kept."""

    def __init__(self, src: Stream, zip64: bool, name: str) -> None:
        self._src = src
        self._dlen = 20 if zip64 else 12
        self._fmt = "<Q" if zip64 else "<I"
        self._name = name
        self._buf = bytearray()
        self._base = 0  # offset, in the member's data, of _buf[0]
        self._done = False
        self.crc = 0

    def _end(self) -> int | None:
        """Offset in ``_buf`` where the descriptor starts, if it is there."""
        buf, dlen, fmt, base = self._buf, self._dlen, self._fmt, self._base
        i = 0
        while (i := buf.find(_DESCRIPTOR, i)) >= 0 and i + 4 + dlen <= len(buf):
            if struct.unpack_from(fmt, buf, i + 8)[0] == base + i:
                return i
            i += 1
        for sig in (_LOCAL, b"PK\x01\x02"):
            j = 0
            while (j := buf.find(sig, j)) >= 0:
                p = j - dlen
                if p >= 0 and struct.unpack_from(fmt, buf, p + 4)[0] == base + p:
                    return p
                j += 1
        return None

    def read(self, n: int = -1) -> bytes:
        """Up to about ``n`` bytes of the member; ``b""`` at its end."""
        keep = 4 + self._dlen + 4  # a descriptor and the signature after it
        while not self._done:
            piece = self._src.read(max(n, 1 << 16))
            if not piece:
                raise StreamError(self._src.path, f"truncated zip archive: end of member "
                                  f"{self._name} not found", self._src.level)
            self._buf += piece
            end = self._end()
            if end is not None:
                out = bytes(self._buf[:end])
                self._src.unread(bytes(self._buf[end:]))
                self._done = True
            else:
                cut = max(len(self._buf) - keep, 0)
                out = bytes(self._buf[:cut])
                del self._buf[:cut]
                self._base += cut
            if out:
                self.crc = zlib.crc32(out, self.crc)
                return out
        return b""

    def drain(self) -> None:
        """Move the archive stream to the member's descriptor."""
        while self.read(1 << 20):
            pass


class _ZipMember:
    """Decoded bytes of one zip member read from the archive stream; checks its CRC-32."""

    def __init__(self, src: Stream, method: int, csize: int | None, crc: int | None, path: str,
                 level: int) -> None:
        self._src = src
        self._left = csize  # compressed bytes not read yet; None: deflate decides the end
        self._zd = zlib.decompressobj(-15) if method == 8 else None
        self._want_crc = crc  # None: the data descriptor gives it
        self.crc = 0
        self._path = path
        self._level = level
        self._done = False

    def _input(self) -> bytes:
        if self._zd is not None and self._zd.unconsumed_tail:
            return self._zd.unconsumed_tail
        n = 1 << 16 if self._left is None else min(1 << 16, self._left)
        data = self._src.read(n) if n else b""
        if self._left is not None:
            if not data and self._left:
                raise StreamError(self._src.path, f"truncated zip archive inside {self._path}",
                                  self._level - 1)
            self._left -= len(data)
        return data

    def read(self, n: int = -1) -> bytes:
        n = n if n > 0 else 1 << 20
        while not self._done:
            data = self._input()
            if self._zd is None:
                out = data
                if not data:
                    self._finish()
            else:
                if not data and not self._zd.unconsumed_tail:
                    if self._left is None:
                        raise StreamError(self._src.path, "truncated zip archive inside "
                                          f"{self._path}", self._level - 1)
                    raise StreamError(self._path, "corrupt zip member: deflate data ended "
                                      "early", self._level)
                try:
                    out = self._zd.decompress(data, n)
                except zlib.error as e:
                    raise StreamError(self._path, f"corrupt zip member ({e})",
                                      self._level) from None
            if out:
                self.crc = zlib.crc32(out, self.crc)
            if self._zd is not None and self._zd.eof:
                if self._left is None:
                    self._src.unread(self._zd.unused_data)
                self._finish()
            if out:
                return out
        return b""

    def _finish(self) -> None:
        self._done = True
        if self._want_crc is not None and self.crc != self._want_crc:
            raise StreamError(self._path, "corrupt zip member: CRC mismatch", self._level)

    def drain(self) -> None:
        """Move the archive stream to the end of this member, so the next header can be read.

        With a known compressed size the rest is skipped undecoded; otherwise (a data
        descriptor follows) the deflate stream is decoded to its end.
        """
        if not self._done and self._left is not None:
            _skip(self._src, self._left, self._path)
            self._left = 0
            self._done = True
            return
        try:
            while self.read(1 << 20):
                pass
        except StreamError as e:
            if e.level < self._level:
                raise
            raise StreamError(self._src.path, f"cannot find the end of corrupt member "
                              f"{self._path}; rest of the archive not scanned",
                              self._level - 1) from None
