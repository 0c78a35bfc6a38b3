"""Codecs, tar/zip members, nesting, corrupt inputs and limits: all read in-stream."""

from __future__ import annotations

import bz2 as _bz2
import io
import lzma as _lzma
import struct
import subprocess
import sys
import zlib
from collections.abc import Callable
from pathlib import Path

import pytest
import zstandard
from archive_builders import (
    CODECS,
    bz,
    flip,
    gz,
    gz_multi,
    lzma_alone,
    seed,
    tar,
    truncated,
    xz,
    zip_,
    zip_with_encrypted,
    zst,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from logaudit.findings import Finding
from logaudit.rules import load_rule_file
from logaudit.runner import ScanOptions, run
from logaudit.sources.interface import InputError
from logaudit.sources.limits import Limits
from logaudit.sources.walk import discover

ROOT = Path(__file__).resolve().parent.parent
RULES = tuple(load_rule_file(ROOT / "patterns" / "pii" / "pii.toml"))


def scan(paths: list[Path | str], workers: int = 1, **kw: object
         ) -> tuple[list[Finding], list[InputError]]:
    opts = ScanOptions(rules=RULES, run_id="t", key=b"k", **kw)  # type: ignore[arg-type]
    findings, errors, _ = run(discover([str(p) for p in paths]), opts, workers)
    return findings, errors


Key = list[tuple[int, int, str, str]]


def key(findings: list[Finding]) -> Key:
    """What must be equal between a compressed log and the same log uncompressed."""
    return sorted((f.line, f.column, f.rule_id, f.fingerprint) for f in findings)


def by_path(findings: list[Finding]) -> dict[str, list[Finding]]:
    out: dict[str, list[Finding]] = {}
    for f in findings:
        out.setdefault(f.path, []).append(f)
    return out


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Key]:
    d = tmp_path_factory.mktemp("ref")
    out = {}
    for name in ("app", "web"):
        (d / f"{name}.log").write_bytes(seed(name))
        found, errors = scan([d / f"{name}.log"])
        assert not errors and found
        out[name] = key(found)
    return out


@pytest.mark.parametrize("codec", sorted(CODECS))
def test_each_codec_gives_the_plain_findings(tmp_path: Path, codec: str,
                                             reference: dict[str, Key]
                                             ) -> None:
    # A misleading extension: detection is by magic bytes.
    p = tmp_path / "app.txt"
    p.write_bytes(CODECS[codec](seed("app")))
    found, errors = scan([p])
    assert errors == []
    assert key(found) == reference["app"]


@pytest.mark.parametrize("data", [gz_multi(seed("web"), 4), zst(seed("web"), 3),
                                  gz(gz(seed("web")))], ids=["gz-members", "zst-frames", "gz-gz"])
def test_multi_member_and_stacked(tmp_path: Path, data: bytes,
                                  reference: dict[str, Key]) -> None:
    (tmp_path / "w").write_bytes(data)
    found, errors = scan([tmp_path / "w"])
    assert errors == [] and key(found) == reference["web"]


def build_tree(root: Path) -> dict[str, str]:
    """Every codec, nested archives, corrupt members and symlink loops.

    Returns display-path suffix → which seed it holds.
    """
    app, web = seed("app"), seed("web")
    root.mkdir()
    expect = {}
    for ext, fn in CODECS.items():
        (root / f"app.log.{ext}").write_bytes(fn(app))
        expect[f"app.log.{ext}"] = "app"
    (root / "web.log.gz").write_bytes(gz_multi(web))
    expect["web.log.gz"] = "web"
    members = {"logs/app.log": app, "logs/web.log": web}
    (root / "bundle.tar").write_bytes(tar(members, dirs=("logs/",)))
    for ext in ("gz", "bz2", "xz", "zst"):
        (root / f"bundle.tar.{ext}").write_bytes(CODECS[ext](tar(members)))
    for name in ("bundle.tar", "bundle.tar.gz", "bundle.tar.bz2", "bundle.tar.xz",
                 "bundle.tar.zst"):
        expect[f"{name}!logs/app.log"] = "app"
        expect[f"{name}!logs/web.log"] = "web"
    inner = gz(tar({"c.log": app}))
    (root / "a.zip").write_bytes(zip_({"b.tar.gz": inner, "w.log": web}, dirs=("d/",)))
    (root / "s.zip").write_bytes(zip_({"b.tar.gz": inner, "w.log.xz": xz(web)}, streamed=True))
    expect.update({"a.zip!b.tar.gz!c.log": "app", "a.zip!w.log": "web",
                   "s.zip!b.tar.gz!c.log": "app", "s.zip!w.log.xz": "web"})
    (root / "deep.zip").write_bytes(zip_({"x.zip": zip_({"y.tar": tar({"z.log": web})})}))
    expect["deep.zip!x.zip!y.tar!z.log"] = "web"
    # Bad inputs: one error row each, the rest of the tree is still scanned.
    bad = root / "bad"
    bad.mkdir()
    (bad / "cut.log.gz").write_bytes(truncated(gz(app * 20)))
    (bad / "crc.log.bz2").write_bytes(flip(bz(app), 60))
    (bad / "mixed.tar").write_bytes(tar({"ok.log": web, "broken.log.zst": flip(zst(app), -2)}))
    expect["bad/mixed.tar!ok.log"] = "web"
    (bad / "enc.zip").write_bytes(zip_with_encrypted({"logs/secret.log": app, "logs/ok.log": web},
                                                     "logs/secret.log"))
    expect["bad/enc.zip!logs/ok.log"] = "web"
    (root / "loop").symlink_to(".")
    (root / "self").symlink_to("self")
    return expect


def test_tree_of_everything_matches_plain_logs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    reference: dict[str, Key],
) -> None:
    root = tmp_path / "tree"
    expect = build_tree(root)
    stdin = type("Stdin", (), {"buffer": io.BytesIO(xz(seed("app"))), "close": lambda self: None,
                               "fileno": lambda self: 0})()
    monkeypatch.setattr(sys, "stdin", stdin)
    for workers in (1, 2):
        stdin.buffer.seek(0)
        found, errors = scan([root, "-"], workers=workers)
        groups = by_path(found)
        assert key(groups.pop("-")) == reference["app"]
        # The cut .gz keeps the findings of the lines read before the cut.
        assert groups.pop(str(root / "bad" / "cut.log.gz"))
        got = {p[len(str(root)) + 1:]: key(fs) for p, fs in groups.items()}
        assert got == {k: reference[v] for k, v in expect.items()}
        rows = {(e.path[len(str(root)) + 1:], e.kind): e.reason for e in errors}
        assert set(rows) == {
            ("bad/cut.log.gz", "error"), ("bad/crc.log.bz2", "error"),
            ("bad/mixed.tar!broken.log.zst", "error"), ("bad/enc.zip!logs/secret.log", "error"),
            ("self", "skipped"),
        }
        assert rows[("bad/cut.log.gz", "error")].startswith("truncated gzip stream after ")
        assert "encrypted" in rows[("bad/enc.zip!logs/secret.log", "error")]


def test_truncated_keeps_findings_before_the_cut(tmp_path: Path) -> None:
    data = seed("app") * 2000
    (tmp_path / "cut.gz").write_bytes(truncated(gz(data), 0.5))
    found, errors = scan([tmp_path / "cut.gz"])
    assert len(errors) == 1
    assert errors[0].reason.startswith("truncated gzip stream after ")
    assert "MB" in errors[0].reason or "KB" in errors[0].reason
    assert len(found) > 100


BAD: dict[str, Callable[[], bytes]] = {
    "truncated-gz": lambda: truncated(gz(seed("app") * 30)),
    "truncated-bz2": lambda: truncated(bz(seed("app") * 30)),
    "truncated-xz": lambda: truncated(xz(seed("app") * 30)),
    "truncated-lzma": lambda: truncated(lzma_alone(seed("app") * 30)),
    "truncated-zst": lambda: truncated(zst(seed("app") * 30)),
    "truncated-tar": lambda: truncated(tar({"a.log": seed("app") * 30}), 0.5),
    "truncated-zip": lambda: truncated(zip_({"a.log": seed("app") * 30}), 0.5),
    "crc-gz": lambda: flip(gz(seed("app")), -6),
    "crc-bz2": lambda: flip(bz(seed("app")), 60),
    "crc-xz": lambda: flip(xz(seed("app")), -20),
    "crc-zst": lambda: flip(zst(seed("app")), -2),
    "crc-zip": lambda: flip(zip_({"a.log": seed("web")}, stored=True), 100),
}


@pytest.mark.parametrize("name", sorted(BAD))
def test_bad_input_is_one_error_row(tmp_path: Path, name: str) -> None:
    p = tmp_path / name
    p.write_bytes(BAD[name]())
    (tmp_path / "good.log").write_bytes(seed("web"))
    found, errors = scan([tmp_path])
    assert [e.kind for e in errors] == ["error"], errors
    assert errors[0].path.startswith(str(p))
    assert any(f.path.endswith("good.log") for f in found)


@pytest.mark.parametrize("data", [
    b"", gz(b""), tar({}), zip_({}), zip_({}, dirs=("only/", "dirs/")),
], ids=["empty", "empty-gz", "zero-member-tar", "empty-zip", "zip-only-dirs"])
def test_empty_inputs_are_clean(tmp_path: Path, data: bytes) -> None:
    (tmp_path / "x").write_bytes(data)
    assert scan([tmp_path / "x"]) == ([], [])


def test_wrong_magic_is_not_decoded(tmp_path: Path) -> None:
    # Named .gz but plain text: scanned as text. Starts like gzip but is garbage: binary, skipped.
    (tmp_path / "plain.gz").write_bytes(seed("web"))
    (tmp_path / "fake.gz").write_bytes(b"\x1f\x8c\x08\x00" + bytes(64))
    found, errors = scan([tmp_path])
    assert {f.path for f in found} == {str(tmp_path / "plain.gz")}
    assert [(e.path, e.kind) for e in errors] == [(str(tmp_path / "fake.gz"), "skipped")]


def test_corrupt_gzip_header_is_an_error(tmp_path: Path) -> None:
    data = bytearray(gz(seed("web")))
    data[2] = 7  # unknown compression method
    (tmp_path / "x.gz").write_bytes(bytes(data))
    _, errors = scan([tmp_path / "x.gz"])
    assert len(errors) == 1 and errors[0].reason.startswith("corrupt gzip stream")


# ---------------------------------------------------------------- limits


def bomb(size: int) -> bytes:
    line = b"2026-01-01 00:00:00 INFO heartbeat ok\n"
    return gz(line * (size // len(line)))


@pytest.mark.parametrize(("limits", "needle"), [
    (Limits(max_ratio=50), "--max-ratio"),
    (Limits(max_decompressed=1 << 20), "--max-decompressed"),
    (Limits(max_members=3), "--max-members"),
    (Limits(max_depth=2), "--max-depth"),
])
def test_each_limit_is_an_error_row_and_the_rest_goes_on(tmp_path: Path, limits: Limits,
                                                          needle: str) -> None:
    d = tmp_path / "in"
    d.mkdir()
    if needle == "--max-members":
        data = zip_({f"m{i}.log": seed("web") for i in range(10)})
    elif needle == "--max-depth":
        data = gz(tar({"x.zip": zip_({"w.log": seed("web")})}))
    else:
        data = bomb(32 << 20)
    (d / "hostile").write_bytes(data)
    (d / "ok.log").write_bytes(seed("web"))
    found, errors = scan([d], limits=limits)
    assert [e.path for e in errors] == [str(d / "hostile")]
    assert needle in errors[0].reason
    assert any(f.path == str(d / "ok.log") for f in found)


def test_default_limits_pass_ordinary_archives(tmp_path: Path) -> None:
    (tmp_path / "a.tgz").write_bytes(gz(tar({"a.log": seed("app") * 200})))
    found, errors = scan([tmp_path])
    assert errors == [] and found


# ---------------------------------------------------------------- binary members


PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(100)
ELF = b"\x7fELF\x02\x01\x01" + bytes(200)
SQLITE = b"SQLite format 3\x00" + bytes(200)


def test_binary_files_and_members_are_skipped_and_counted(tmp_path: Path) -> None:
    (tmp_path / "img.png").write_bytes(PNG)
    (tmp_path / "tool").write_bytes(ELF)
    (tmp_path / "db.sqlite").write_bytes(SQLITE)
    (tmp_path / "mix.tar.gz").write_bytes(gz(tar({"a.png": PNG, "w.log": seed("web")})))
    opts = ScanOptions(rules=RULES, run_id="t", key=b"k")
    found, errors, counters = run(discover([str(tmp_path)]), opts, 1)
    assert counters.inputs_skipped == 4 and counters.inputs_failed == 0
    assert {e.kind for e in errors} == {"skipped"}
    reasons = " ".join(e.reason for e in errors)
    assert "PNG image" in reasons and "ELF" in reasons and "SQLite" in reasons
    assert {f.path for f in found} == {str(tmp_path / "mix.tar.gz") + "!w.log"}


def test_scan_binary_reads_them_as_text(tmp_path: Path) -> None:
    (tmp_path / "x.bin").write_bytes(b"\x00\x01 user=jane.doe@example.com\n")
    found, errors = scan([tmp_path], scan_binary=True)
    assert errors == [] and [f.rule_id for f in found] == ["email-address"]


# ---------------------------------------------------------------- what could be read is kept

def mail_lines(n: int, every: int = 14) -> bytes:
    """``n`` log lines, one e-mail address every ``every`` lines (line i holds user{i}@...)."""
    return b"".join((f"2026-01-01 line {i} user{i}@example.com\n" if i % every == 0
                     else f"2026-01-01 line {i} nothing to see\n").encode() for i in range(n))


def mail_line_numbers(text: bytes) -> set[int]:
    """1-based numbers of the complete lines of ``text`` that hold an e-mail address."""
    lines = text.split(b"\n")[:-1]  # the last piece is not a complete line
    return {i + 1 for i, line in enumerate(lines) if b"@example." in line}


def test_truncated_gz_keeps_every_complete_line(tmp_path: Path) -> None:
    data = mail_lines(100)
    g = gz(data)
    (tmp_path / "cut.gz").write_bytes(g[:-12])
    readable = zlib.decompressobj(31).decompress(g[:-12])
    found, errors = scan([tmp_path / "cut.gz"])
    assert [e.kind for e in errors] == ["error"] and "truncated gzip" in errors[0].reason
    assert len(mail_line_numbers(readable)) >= 7  # 98 complete lines read
    assert {f.line for f in found} >= mail_line_numbers(readable)


@pytest.mark.parametrize("tail", [b"this is not gzip\n", b"\x00\x01garbage" * 100])
def test_gz_trailing_garbage_is_a_warning_and_keeps_the_member(tmp_path: Path,
                                                               tail: bytes) -> None:
    data = mail_lines(100)
    (tmp_path / "x.gz").write_bytes(gz(data) + tail)
    (tmp_path / "pad.gz").write_bytes(gz_multi(data) + bytes(4096))  # NUL padding: fine
    found, errors = scan([tmp_path])
    assert [(Path(e.path).name, e.kind) for e in errors] == [("x.gz", "warning")]
    assert "trailing data" in errors[0].reason
    for name in ("x.gz", "pad.gz"):
        assert {f.line for f in found if f.path.endswith(name)} == mail_line_numbers(data)


def test_padding_and_skippable_frames_between_frames(tmp_path: Path) -> None:
    data = mail_lines(300)
    half = len(data) // 2
    skippable = b"\x5a\x2a\x4d\x18" + struct.pack("<I", 9) + b"seektable"
    blobs = {
        "x.xz": xz(data[:half]) + bytes(8) + xz(data[half:]) + bytes(4),  # xz stream padding
        "x.zst": zst(data[:half]) + skippable + zst(data[half:]) + skippable,
        "x.gz": gz(data[:half]) + bytes(512) + gz(data[half:]) + bytes(512),
    }
    for name, blob in blobs.items():
        (tmp_path / name).write_bytes(blob)
    found, errors = scan([tmp_path])
    assert errors == []
    for name in blobs:
        assert {f.line for f in found if f.path.endswith(name)} == mail_line_numbers(data)
    (tmp_path / "cut.zst").write_bytes(zst(data) + skippable[:10])
    _, errors = scan([tmp_path / "cut.zst"])
    assert [e.kind for e in errors] == ["error"]


def test_a_garbled_second_member_header_is_reported(tmp_path: Path) -> None:
    data = mail_lines(300)
    blob = bytearray(gz_multi(data, 3))
    second = blob.find(b"\x1f\x8b", 10)
    blob[second] ^= 0xFF
    (tmp_path / "x.gz").write_bytes(bytes(blob))
    found, errors = scan([tmp_path / "x.gz"])
    assert [e.kind for e in errors] == ["warning"] and found


def stored_zip_with_header_at(offset: int) -> bytes:
    """A stored zip whose second local header starts at ``offset``."""
    n = offset - 30 - len("a.log")
    first = (b"x" * 99 + b"\n") * (n // 100) + b"y" * (n % 100)
    data = zip_({"a.log": first, "b.log": b"mail=john.roe@example.org\n"}, stored=True)
    assert data.find(b"PK\x03\x04", 10) == offset
    return data


@pytest.mark.parametrize("offset", [65536 - k for k in range(0, 31)] + [65537, 131071])
def test_zip_header_across_a_read_boundary(tmp_path: Path, offset: int) -> None:
    (tmp_path / "x.zip").write_bytes(stored_zip_with_header_at(offset))
    found, errors = scan([tmp_path / "x.zip"])
    assert errors == [] and [f.path for f in found] == [str(tmp_path / "x.zip") + "!b.log"]


def raw_zip(members: list[tuple[str, bytes, int, bool]]) -> bytes:
    """A stored zip written by hand: (name, data, flags, sizes in the local header). With flag
    0x08 a data descriptor (with its signature) follows the data."""
    out = bytearray()
    central = bytearray()
    for name, data, flags, sized in members:
        crc = zlib.crc32(data)
        at = len(out)
        size = len(data) if sized or not flags & 0x08 else 0
        out += struct.pack("<4sHHHHHIIIHH", b"PK\x03\x04", 20, flags, 0, 0, 0,
                           crc if size else 0, size, size, len(name), 0) + name.encode() + data
        if flags & 0x08:
            out += struct.pack("<4sIII", b"PK\x07\x08", crc, len(data), len(data))
        central += struct.pack("<4sHHHHHHIIIHHHHHII", b"PK\x01\x02", 20, 20, flags, 0, 0, 0,
                               crc, len(data), len(data), len(name), 0, 0, 0, 0, 0, at)
        central += name.encode()
    end = struct.pack("<4sHHHHIIH", b"PK\x05\x06", 0, 0, len(members), len(members),
                      len(central), len(out), 0)
    return bytes(out + central + end)


@pytest.mark.parametrize("sized", [True, False], ids=["sizes-in-header", "descriptor-only"])
def test_encrypted_member_is_skipped_and_listed_and_the_rest_scanned(tmp_path: Path,
                                                                    sized: bool) -> None:
    secret = b"\x8a\x13 encrypted bytes PK\x07\x08 not a descriptor" * 50
    (tmp_path / "x.zip").write_bytes(raw_zip([
        ("a.log", b"user=jane.doe@example.com\n", 0, True),
        ("enc.log", secret, 0x01 | 0x08, sized),
        ("c.log", b"mail=john.roe@example.org\n", 0x08, sized),
    ]))
    found, errors = scan([tmp_path / "x.zip"])
    assert [(e.path.rsplit("!", 1)[1], e.kind) for e in errors] == [("enc.log", "error")]
    assert "encrypted" in errors[0].reason
    assert sorted(f.path.rsplit("!", 1)[1] for f in found) == ["a.log", "c.log"]


def test_streamed_stored_members_and_directories(tmp_path: Path) -> None:
    (tmp_path / "x.zip").write_bytes(raw_zip([
        ("d/", b"", 0x08, False),
        ("a.log", b"user=jane.doe@example.com\n" * 3000, 0x08, False),
        ("e/", b"", 0, True),
        ("b.log", b"mail=john.roe@example.org\n", 0x08, False),
    ]))
    found, errors = scan([tmp_path / "x.zip"])
    assert errors == []
    assert sorted({f.path.rsplit("!", 1)[1] for f in found}) == ["a.log", "b.log"]
    assert len(found) == 3001


def test_info_zip_encrypted_member(tmp_path: Path) -> None:
    import shutil

    if shutil.which("zip") is None:
        pytest.skip("Info-ZIP's zip is not installed")
    (tmp_path / "a.log").write_text("user=jane.doe@example.com\n")
    (tmp_path / "c.log").write_text("mail=john.roe@example.org\n")
    for args in (["-e", "-P", "pw", "x.zip", "a.log"], ["x.zip", "c.log"]):
        subprocess.run(["zip", "-q", *args], cwd=tmp_path, check=True)
    found, errors = scan([tmp_path / "x.zip"])
    assert [(e.path.rsplit("!", 1)[1], e.kind) for e in errors] == [("a.log", "error")]
    assert [f.path.rsplit("!", 1)[1] for f in found] == ["c.log"]


# ---------------------------------------------------------------- fuzz: cut and corrupt readers


def _reference(codec: str, blob: bytes) -> tuple[bytes, bool]:
    """What an independent decoder reads from ``blob`` (all frames), and whether it read it to
    a clean end."""
    out = []
    while blob:
        d: object
        if codec == "gz":
            d = zlib.decompressobj(31)
        elif codec == "bz2":
            d = _bz2.BZ2Decompressor()
        elif codec == "xz":
            d = _lzma.LZMADecompressor(_lzma.FORMAT_XZ)
        else:
            d = zstandard.ZstdDecompressor().decompressobj()
        try:
            out.append(d.decompress(blob))  # type: ignore[attr-defined]
        except Exception:
            return b"".join(out), False
        if not d.eof:  # type: ignore[attr-defined]
            return b"".join(out), False
        blob = d.unused_data  # type: ignore[attr-defined]
        if blob and not blob.strip(b"\x00"):
            break
    return b"".join(out), True


FUZZ_CODECS = {"gz": lambda d: gz_multi(d, 3), "bz2": bz, "xz": xz,
               "zst": lambda d: zst(d, frames=3)}
FUZZ_DATA = mail_lines(3000, every=37)
FUZZ_BLOBS = {c: f(FUZZ_DATA) for c, f in FUZZ_CODECS.items()}


@pytest.mark.slow
@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.sampled_from(sorted(FUZZ_CODECS)), st.floats(0.0, 1.0))
def test_fuzz_truncated_streams_keep_every_readable_line(tmp_path: Path, codec: str,
                                                         keep: float) -> None:
    blob = FUZZ_BLOBS[codec]
    cut = blob[: int(len(blob) * keep)]
    (tmp_path / "x").write_bytes(cut)
    found, errors = scan([tmp_path / "x"])  # never raises: every failure is a row
    readable, clean = _reference(codec, cut)
    if clean:
        # whole, or cut exactly between two frames/members: then it *is* a complete stream
        assert errors == []
    elif len(cut) >= 4:  # (a cut inside the magic bytes leaves a tiny text file)
        assert [e.kind for e in errors] == ["error"], errors  # never exit 0 on a cut stream
    assert {f.line for f in found} >= mail_line_numbers(readable)


@pytest.mark.slow
@settings(max_examples=80, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.sampled_from(sorted(FUZZ_CODECS)), st.floats(0.0, 1.0), st.integers(1, 255))
def test_fuzz_corrupt_streams_fail_closed(tmp_path: Path, codec: str, where: float,
                                          xor: int) -> None:
    blob = bytearray(FUZZ_BLOBS[codec])
    at = min(int(len(blob) * where), len(blob) - 1)
    blob[at] ^= xor
    (tmp_path / "x").write_bytes(bytes(blob))
    found, errors = scan([tmp_path / "x"])
    readable, _ = _reference(codec, bytes(blob))
    if not any(e.kind in ("error", "warning") for e in errors):
        # Nothing reported: then nothing was lost (a flip the format does not check, such as
        # a header's time stamp or a reserved flag, is not damage to the log). A garbled header
        # of a later frame is a warning row: listed, never silent.
        assert {f.line for f in found} == mail_line_numbers(FUZZ_DATA)
    # Lines decoded well before the damage are all there (a piece in flight may be lost).
    ok = FUZZ_DATA[: max(0, len(_common_prefix(readable, FUZZ_DATA)) - (256 << 10))]
    assert {f.line for f in found if f.path == str(tmp_path / "x")} >= mail_line_numbers(ok)


def _common_prefix(a: bytes, b: bytes) -> bytes:
    n = 0
    while n < min(len(a), len(b)) and a[n] == b[n]:
        n += 1
    return a[:n]


TAR_MEMBERS = {f"m{i}.log": mail_lines(200 + i * 50, every=23) for i in range(5)}
TAR_BLOB = tar(TAR_MEMBERS)
ZIP_BLOBS = {"deflate": zip_(TAR_MEMBERS), "stored": zip_(TAR_MEMBERS, stored=True),
             "streamed": zip_(TAR_MEMBERS, streamed=True),
             "streamed-stored": zip_(TAR_MEMBERS, streamed=True, stored=True),
             "at-64k": stored_zip_with_header_at(65535)}


def _zip_members(blob: bytes) -> dict[str, bytes]:
    import zipfile

    with zipfile.ZipFile(io.BytesIO(blob)) as z:
        return {n: z.read(n) for n in z.namelist()}


ZIP_MEMBERS = {k: _zip_members(b) for k, b in ZIP_BLOBS.items()}


def _member_ends_tar() -> dict[str, int]:
    import tarfile

    ends = {}
    with tarfile.open(fileobj=io.BytesIO(TAR_BLOB)) as tf:
        for info in tf:
            ends[info.name] = info.offset_data + info.size
    return ends


TAR_ENDS = _member_ends_tar()


@pytest.mark.slow
@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.sampled_from(["tar", *sorted(ZIP_BLOBS)]), st.floats(0.0, 1.0),
       st.sampled_from(["cut", "flip"]), st.integers(1, 255))
def test_fuzz_archives_never_crash_and_keep_whole_members(
        tmp_path: Path, kind: str, where: float, how: str, xor: int) -> None:
    blob = bytearray(TAR_BLOB if kind == "tar" else ZIP_BLOBS[kind])
    at = min(int(len(blob) * where), len(blob) - 1)
    if how == "cut":
        blob = blob[:at]
    else:
        blob[at] ^= xor
    (tmp_path / "x").write_bytes(bytes(blob))
    found, errors = scan([tmp_path / "x"])  # never raises
    assert all(e.kind in ("error", "skipped", "warning") for e in errors)
    if kind != "tar" and not any(e.kind == "error" for e in errors) and len(blob) >= 4:
        # Nothing reported: nothing lost (zip checks each member's CRC; a flip in a name or a
        # time stamp moves no line).
        want = sorted(n for m in (ZIP_MEMBERS[kind]).values() for n in mail_line_numbers(m))
        assert sorted(f.line for f in found) == want
    if how == "cut" and kind == "tar":
        whole = {n for n, end in TAR_ENDS.items() if end <= at}
        if at >= 512 and len(whole) < len(TAR_ENDS):  # (a tar is told by its first header)
            assert any(e.kind == "error" for e in errors)  # a cut tar is never clean
        for name in whole:  # members read whole before the cut keep their findings
            want = mail_line_numbers(TAR_MEMBERS[name])
            assert {f.line for f in found if f.path.endswith("!" + name)} == want
    if kind.startswith("streamed") and how == "cut":
        data = bytes(blob)
        starts = {n: data.find(n.encode()) for n in TAR_MEMBERS}
        # A member followed by another header was read whole (its descriptor included).
        whole = [n for n, at in starts.items() if at >= 0 and data.find(b"PK\x03\x04", at) > 0]
        for name in whole:
            want = mail_line_numbers(TAR_MEMBERS[name])
            assert {f.line for f in found if f.path.endswith("!" + name)} == want
    if how == "cut" and kind != "tar" and kind != "at-64k":
        cd = bytes(ZIP_BLOBS[kind]).find(b"PK\x01\x02")
        if 4 <= at < cd:
            assert any(e.kind == "error" for e in errors)  # a cut zip is never clean
