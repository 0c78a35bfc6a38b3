"""``redact`` of archives: tar and zip rebuilt member by member, nested, and failing whole."""

from __future__ import annotations

import gzip
import io
import tarfile
import zipfile
from pathlib import Path

import pytest
from archive_builders import flip, seed, truncated, zip_with_encrypted

from logaudit.redact import redact

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "sample_logs"
KEY = b"test-key-not-secret"
APP = (SAMPLES / "app.jsonl").read_bytes()
CI = (SAMPLES / "ci_job.log").read_bytes()
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4


def plain_redacted(tmp: Path, data: bytes) -> bytes:
    """What redacting ``data`` as a plain file gives (the reference for members)."""
    src = tmp / "ref.log"
    src.write_bytes(data)
    redact([src], out_dir=tmp / "ref", workers=1, key=KEY)
    return (tmp / "ref" / src.relative_to("/")).read_bytes()


def out_of(tmp: Path, src: Path, name: str = "o") -> Path:
    return tmp / name / src.relative_to("/")


def make_tar(compress: bool = False) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz" if compress else "w",
                      format=tarfile.GNU_FORMAT) as tf:
        d = tarfile.TarInfo("logs")
        d.type, d.mode, d.mtime = tarfile.DIRTYPE, 0o750, 1_600_000_000
        tf.addfile(d)
        for name, data, mode, mtime in (("logs/app.jsonl", APP, 0o640, 1_600_000_100),
                                        ("logs/img.png", PNG, 0o600, 1_600_000_200),
                                        ("logs/ci.log", CI, 0o644, 1_600_000_300)):
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.mtime, info.uname = len(data), mode, mtime, "app"
            tf.addfile(info, io.BytesIO(data))
        link = tarfile.TarInfo("logs/latest.log")
        link.type, link.linkname = tarfile.SYMTYPE, "ci.log"
        tf.addfile(link)
    return buf.getvalue()


def tar_members(data: bytes) -> list[tuple[str, int, int, int, str, bytes | None]]:
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:*") as tf:
        out = []
        for m in tf.getmembers():
            f = tf.extractfile(m) if m.isfile() else None
            out.append((m.name, m.mode, int(m.mtime), m.type[0], m.linkname,
                        f.read() if f else None))
        return out


@pytest.mark.parametrize("compress", [False, True])
def test_tar_rebuilt_member_by_member(tmp_path: Path, compress: bool) -> None:
    src = tmp_path / ("bundle.tar.gz" if compress else "bundle.tar")
    src.write_bytes(make_tar(compress))
    res = redact([src], out_dir=tmp_path / "o", workers=1, key=KEY)
    assert not res.incomplete
    out = out_of(tmp_path, src).read_bytes()
    assert out[:2] == b"\x1f\x8b" if compress else tarfile.is_tarfile(out_of(tmp_path, src))
    before, after = tar_members(src.read_bytes()), tar_members(out)
    assert [m[:5] for m in before] == [m[:5] for m in after]  # names, order, modes, times
    contents = {m[0]: m[5] for m in after}
    assert contents["logs/app.jsonl"] == plain_redacted(tmp_path, APP)
    assert contents["logs/ci.log"] == plain_redacted(tmp_path, CI)
    assert contents["logs/img.png"] == PNG  # binary: copied as it was
    assert {e.path for e in res.errors if e.kind == "skipped"} == {f"{src}!logs/img.png"}


def make_zip(members: list[tuple[str, bytes, int]]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        d = zipfile.ZipInfo("logs/", (2021, 3, 4, 5, 6, 8))
        d.external_attr = (0o40755 << 16) | 0x10
        zf.writestr(d, b"")
        for name, data, method in members:
            info = zipfile.ZipInfo(name, (2022, 1, 2, 3, 4, 6))
            info.compress_type = method
            info.external_attr = 0o100640 << 16
            zf.writestr(info, data)
    return buf.getvalue()


def zip_members(data: bytes) -> list[tuple[str, tuple[int, ...], int, int, bytes]]:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return [(i.filename, i.date_time, i.external_attr, i.compress_type, zf.read(i))
                for i in zf.infolist()]


def test_nested_zip_with_tar_gz_keeps_its_structure(tmp_path: Path) -> None:
    inner = make_tar(compress=True)
    src = tmp_path / "support.zip"
    src.write_bytes(make_zip([("logs/app.jsonl", APP, zipfile.ZIP_DEFLATED),
                              ("logs/node1.tar.gz", inner, zipfile.ZIP_STORED),
                              ("logs/ci.log", CI, zipfile.ZIP_STORED)]))
    res = redact([src], out_dir=tmp_path / "o", workers=1, key=KEY)
    assert not res.incomplete
    before, after = zip_members(src.read_bytes()), zip_members(out_of(tmp_path, src).read_bytes())
    assert [m[:4] for m in before] == [m[:4] for m in after]
    got = {m[0]: m[4] for m in after}
    assert got["logs/app.jsonl"] == plain_redacted(tmp_path, APP)
    assert got["logs/ci.log"] == plain_redacted(tmp_path, CI)
    nested = got["logs/node1.tar.gz"]
    assert nested[:2] == b"\x1f\x8b"
    assert [m[:5] for m in tar_members(nested)] == [m[:5] for m in tar_members(inner)]
    assert {m[0]: m[5] for m in tar_members(nested)}["logs/app.jsonl"] == \
        plain_redacted(tmp_path, APP)
    # findings name the nested member as scan does
    assert f"{src}!logs/node1.tar.gz!logs/ci.log" in set(res.findings["path"].to_list())
    for value in (b"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", b"jane.doe@example.com"):
        assert value not in gzip.decompress(nested)
        assert value not in out_of(tmp_path, src).read_bytes()


@pytest.mark.parametrize("case", ["crc", "encrypted", "truncated-tar-gz", "truncated-zip"])
def test_unreadable_member_fails_the_input_and_writes_nothing(tmp_path: Path,
                                                              case: str) -> None:
    members = {"logs/a.log": seed("app"), "logs/b.log": seed("web")}
    if case == "crc":
        data = make_zip([("logs/a.log", seed("app"), zipfile.ZIP_STORED),
                         ("logs/b.log", seed("web"), zipfile.ZIP_STORED)])
        data = flip(data, data.index(seed("web")[:40]) + 10)
        name = "x.zip"
    elif case == "encrypted":
        data, name = zip_with_encrypted(members, "logs/b.log"), "x.zip"
    elif case == "truncated-tar-gz":
        data, name = truncated(make_tar(compress=True), 0.7), "x.tar.gz"
    else:
        data, name = truncated(make_zip([("logs/a.log", seed("app"), 8)]), 0.8), "x.zip"
    src = tmp_path / name
    src.write_bytes(data)
    ok = tmp_path / "ok.log"
    ok.write_bytes(b"fine\n")
    res = redact([src, ok], out_dir=tmp_path / "o", workers=1, key=KEY)
    assert res.incomplete
    assert any(e.kind == "error" and e.path.startswith(str(src)) for e in res.errors)
    written = sorted(p.name for p in out_of(tmp_path, tmp_path).iterdir())
    assert written == ["ok.log"]  # no shortened archive, no temporary file
