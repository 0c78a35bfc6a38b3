"""Sources: discovery (symlink loops, FIFOs, devices), detection by magic, sizes, stdin."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from archive_builders import CODECS, gz, seed, tar, zip_
from hypothesis import given
from hypothesis import strategies as st

from logaudit.sources.archives import is_tar, is_zip
from logaudit.sources.interface import InputError, InputRef, human_bytes
from logaudit.sources.limits import parse_size
from logaudit.sources.openers import binary_kind, detect_codec
from logaudit.sources.walk import discover

ROOT = Path(__file__).resolve().parent.parent


def test_symlink_loops_are_walked_once(tmp_path: Path) -> None:
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "a.log").write_text("x\n")
    (tmp_path / "d" / "up").symlink_to("..")
    (tmp_path / "self").symlink_to("self")
    (tmp_path / "dangling").symlink_to("nowhere")
    items = list(discover([str(tmp_path), str(tmp_path / "d")]))
    refs = [i.path for i in items if isinstance(i, InputRef)]
    assert refs == [str(tmp_path / "d" / "a.log")]
    skipped = {(Path(i.path).name, i.reason) for i in items if isinstance(i, InputError)}
    assert skipped == {("self", "symlink loop"), ("dangling", "dangling symlink")}
    assert all(i.kind == "skipped" for i in items if isinstance(i, InputError))


def test_fifos_and_devices_are_skipped_and_counted(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pipe")
    (tmp_path / "a.log").write_text("x\n")
    items = list(discover([str(tmp_path), "/dev/null"]))
    errs = {(Path(i.path).name, i.kind) for i in items if isinstance(i, InputError)}
    assert errs == {("pipe", "skipped"), ("null", "skipped")}


def test_missing_path_is_an_error() -> None:
    (item,) = discover(["/no/such/path.log"])
    assert isinstance(item, InputError) and item.kind == "error"


@pytest.mark.parametrize("codec", sorted(CODECS))
def test_codecs_detected_by_magic(codec: str) -> None:
    name = {"gz": "gzip", "bz2": "bzip2", "xz": "xz", "lzma": "lzma", "zst": "zstd"}[codec]
    assert detect_codec(CODECS[codec](b"hello\n")[:16]) == name


def test_archive_detection() -> None:
    # By a header checksum, never by NULs: an empty tar (all zeros) is not told from a hole.
    assert is_tar(tar({"a": b"x"})) and not is_tar(tar({})) and not is_tar(bytes(4096))
    assert is_zip(zip_({"a": b"x"})) and is_zip(zip_({}))
    assert not is_tar(seed("app")) and not is_zip(seed("app"))
    assert detect_codec(seed("app")) is None


@pytest.mark.parametrize(("head", "kind"), [
    (b"\x89PNG\r\n\x1a\n\x00\x00", "PNG image"), (b"\x7fELF\x02\x01", "ELF executable"),
    (b"SQLite format 3\x00", "SQLite database"), (b"abc\x00def", "NUL bytes"),
    (bytes(range(1, 32)) * 4, "control bytes"),
])
def test_binary_kinds(head: bytes, kind: str) -> None:
    assert binary_kind(head) == kind


@given(st.text(alphabet=st.characters(blacklist_categories=("Cc", "Cs")), max_size=300))
def test_text_is_never_binary(text: str) -> None:
    assert binary_kind((text + "\r\n\t").encode()) is None


def test_sizes() -> None:
    assert parse_size("512M") == 512 << 20 and parse_size("64GiB") == 64 << 30
    assert parse_size("1000") == 1000 and parse_size("0") == 0
    with pytest.raises(ValueError, match="not a size"):
        parse_size("lots")
    assert human_bytes(12_300_000) == "12.3 MB" and human_bytes(5) == "5 B"


def _cli(args: list[str], stdin: bytes) -> subprocess.CompletedProcess[bytes]:
    env = {**os.environ, "LOGAUDIT_KEY": "k", "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "logaudit", "scan", *args], input=stdin,
                          capture_output=True, env=env, timeout=120)


def test_compressed_stdin_and_exit_3_on_a_bad_input(tmp_path: Path) -> None:
    (tmp_path / "cut.tar.gz").write_bytes(gz(tar({"a.log": seed("app") * 50}))[:3000])
    proc = _cli(["-", str(tmp_path), "--format", "jsonl", "--pack", "pii"],
                gz(seed("web")))
    assert proc.returncode == 3, proc.stderr
    assert b'"path": "-"' in proc.stdout
    err = proc.stderr.decode()
    assert "cut.tar.gz" in err and "truncated" in err and "Traceback" not in err


def test_limit_flags_reach_the_scan(tmp_path: Path) -> None:
    (tmp_path / "x.tgz").write_bytes(gz(tar({"a.log": seed("web")})))
    proc = _cli([str(tmp_path), "--max-depth", "1", "-q"], b"")
    assert proc.returncode == 3
    assert b"--max-depth" in proc.stderr
    bad = _cli([str(tmp_path), "--max-decompressed", "lots"], b"")
    assert bad.returncode == 2
