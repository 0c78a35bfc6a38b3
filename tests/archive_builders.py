"""Build compressed, archived, nested and broken inputs from the seed logs, in memory."""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import struct
import tarfile
import zipfile
from pathlib import Path

import zstandard

SEEDS = Path(__file__).resolve().parent / "assets" / "archives"


def seed(name: str) -> bytes:
    """A seed log's bytes (``app`` or ``web``)."""
    return (SEEDS / f"seed_{name}.log").read_bytes()


def gz(data: bytes) -> bytes:
    """gzip, one member."""
    return gzip.compress(data, mtime=0)


def gz_multi(data: bytes, parts: int = 3) -> bytes:
    """gzip made of several members (as ``cat a.gz b.gz`` makes)."""
    step = -(-len(data) // parts)
    return b"".join(gzip.compress(data[i:i + step], mtime=0) for i in range(0, len(data), step))


def bz(data: bytes) -> bytes:
    """bzip2."""
    return bz2.compress(data)


def xz(data: bytes) -> bytes:
    """xz."""
    return lzma.compress(data)


def lzma_alone(data: bytes) -> bytes:
    """Legacy .lzma (LZMA_Alone)."""
    return lzma.compress(data, format=lzma.FORMAT_ALONE)


def zst(data: bytes, frames: int = 1) -> bytes:
    """zstd with a content checksum, in one or several frames."""
    c = zstandard.ZstdCompressor(write_checksum=True)
    step = -(-len(data) // frames)
    return b"".join(c.compress(data[i:i + step]) for i in range(0, len(data), step))


CODECS = {"gz": gz, "bz2": bz, "xz": xz, "lzma": lzma_alone, "zst": zst}


def tar(members: dict[str, bytes], dirs: tuple[str, ...] = ()) -> bytes:
    """An uncompressed tar with the given regular members (and directories)."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.GNU_FORMAT) as tf:
        for d in dirs:
            info = tarfile.TarInfo(d)
            info.type = tarfile.DIRTYPE
            tf.addfile(info)
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def zip_(members: dict[str, bytes], dirs: tuple[str, ...] = (), streamed: bool = False,
         stored: bool = False) -> bytes:
    """A zip; ``streamed`` writes it to an unseekable stream (data descriptors, no sizes)."""
    buf = io.BytesIO()
    target: io.RawIOBase | io.BytesIO = _Unseekable(buf) if streamed else buf
    method = zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED
    with zipfile.ZipFile(target, "w", compression=method) as zf:  # type: ignore[arg-type]
        for d in dirs:
            zf.writestr(zipfile.ZipInfo(d), b"")
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


class _Unseekable(io.RawIOBase):
    def __init__(self, buf: io.BytesIO) -> None:
        self._buf = buf

    def writable(self) -> bool:
        return True

    def write(self, b: bytes) -> int:  # type: ignore[override]
        return self._buf.write(b)

    def flush(self) -> None:
        pass


def zip_with_encrypted(members: dict[str, bytes], encrypted: str) -> bytes:
    """A zip in which member ``encrypted`` carries the "encrypted" flag (its data is not)."""
    data = bytearray(zip_(members, dirs=("logs/",)))
    name = encrypted.encode()
    for sig, flag_at in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        pos = 0
        while (pos := data.find(sig, pos)) >= 0:
            name_at = pos + (30 if sig == b"PK\x03\x04" else 46)
            if data[name_at:name_at + len(name)] == name:
                flags = struct.unpack_from("<H", data, pos + flag_at)[0]
                struct.pack_into("<H", data, pos + flag_at, flags | 1)
            pos += 4
    return bytes(data)


def truncated(data: bytes, keep: float = 0.6) -> bytes:
    """The first ``keep`` of ``data``."""
    return data[: int(len(data) * keep)]


def flip(data: bytes, at: int) -> bytes:
    """``data`` with the byte at ``at`` (negative: from the end) changed."""
    b = bytearray(data)
    b[at] ^= 0x55
    return bytes(b)
