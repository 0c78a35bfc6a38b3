"""Inputs that look odd but hold logs: NUL holes, UTF-16/32, BOMs, CR-only line ends; binary
inputs skipped and counted, or failing the scan when they were named on the command line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from archive_builders import gz, tar
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from logaudit.findings import Finding
from logaudit.rules import load_rule_file
from logaudit.runner import Counters, ScanOptions, run
from logaudit.sources.interface import InputError
from logaudit.sources.sniff import Kind, sniff
from logaudit.sources.walk import discover

ROOT = Path(__file__).resolve().parent.parent
RULES = tuple(load_rule_file(ROOT / "patterns" / "pii" / "pii.toml"))
EMAIL = "jane.doe@example.com"


def scan(paths: list[Path | str], workers: int = 1, **kw: object
         ) -> tuple[list[Finding], list[InputError], Counters]:
    opts = ScanOptions(rules=RULES, run_id="t", key=b"k", **kw)  # type: ignore[arg-type]
    return run(discover([str(p) for p in paths]), opts, workers)


def where(findings: list[Finding]) -> list[tuple[int, int, str, str]]:
    return sorted((f.line, f.column, f.rule_id, f.fingerprint) for f in findings)


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "LOGAUDIT_KEY": "test-key-not-secret"}
    return subprocess.run([sys.executable, "-m", "logaudit", *args], capture_output=True,
                          text=True, env=env, timeout=120)


TEXT = f"first line\nsecond é日本 user={EMAIL} here\n\tthird mail=john.roe@example.org\n"


# ---------------------------------------------------------------- sniff


def test_tar_is_told_by_its_header_checksum_not_by_nuls() -> None:
    t = tar({"a.log": b"x\n"})
    assert sniff(t).form == "tar"
    broken = bytearray(t)
    broken[150] ^= 1  # the checksum field
    assert sniff(bytes(broken)).form != "tar"
    assert sniff(bytes(10240)) == Kind("text", "utf-8")  # an empty tar, or a hole: text
    assert sniff(bytes(2048) + b"log line\n") == Kind("text", "utf-8")


@pytest.mark.parametrize(("head", "kind"), [
    (b"\xff\xfe" + "a\nb\n".encode("utf-16-le"), Kind("text", "utf-16-le", 2)),
    (b"\xfe\xff" + "a\nb\n".encode("utf-16-be"), Kind("text", "utf-16-be", 2)),
    (b"\xff\xfe\x00\x00" + "a\n".encode("utf-32-le"), Kind("text", "utf-32-le", 4)),
    (b"\x00\x00\xfe\xff" + "a\n".encode("utf-32-be"), Kind("text", "utf-32-be", 4)),
    ("service started ok\n".encode("utf-16-le"), Kind("text", "utf-16-le")),
    ("service started ok\n".encode("utf-16-be"), Kind("text", "utf-16-be")),
    ("service started\n".encode("utf-32-le"), Kind("text", "utf-32-le")),
    ("2026-01-01 ОШИБКА: пользователь не найден\n".encode("utf-16-le") * 3,
     Kind("text", "utf-16-le")),
    ("12:00 エラー: ユーザーが見つかりません\n".encode("utf-16-be") * 3, Kind("text", "utf-16-be")),
    (bytes(range(256)) * 8, Kind("binary", "NUL bytes")),
    (b"\xef\xbb\xbfa\n", Kind("text", "utf-8", 3)),
    (b"a\rb\rc\r", Kind("text", "utf-8", 0, cr_only=True)),
    (b"a\r\nb\r\n", Kind("text", "utf-8")),
    (b"\x7fELF\x02\x01\x01" + bytes(200), Kind("binary", "ELF executable")),
    (b"abc\x00def\x00ghi", Kind("binary", "NUL bytes")),
    (gz(b"x"), Kind("compressed", "gzip")),
])
def test_sniff(head: bytes, kind: Kind) -> None:
    assert sniff(head) == kind


# ---------------------------------------------------------------- NUL holes


@pytest.mark.parametrize("hole", [1024, 4096, 20000])
def test_a_log_after_a_nul_hole_is_scanned(tmp_path: Path, hole: int) -> None:
    (tmp_path / "ref.log").write_bytes(TEXT.encode())
    (tmp_path / "hole.log").write_bytes(bytes(hole) + TEXT.encode())
    ref, _, _ = scan([tmp_path / "ref.log"])
    found, errors, counters = scan([tmp_path / "hole.log"])
    assert errors == [] and counters.inputs_scanned == 1
    # The hole is part of the first line: the same lines, the first one's columns shifted.
    assert [(f.line, f.rule_id) for f in found] == [(f.line, f.rule_id) for f in ref]
    assert counters.bytes_scanned == hole + len(TEXT.encode())


def test_cli_nul_hole_is_not_an_empty_tar(tmp_path: Path) -> None:
    (tmp_path / "app.log").write_bytes(bytes(2048) + f"user={EMAIL}\n".encode())
    r = cli("scan", str(tmp_path / "app.log"), "--format", "jsonl")
    assert r.returncode == 1, r.stderr
    assert [json.loads(x)["rule_id"] for x in r.stdout.splitlines()] == ["email-address"]


# ---------------------------------------------------------------- encodings, line ends


ENCODED = {
    "utf-16-le-bom": b"\xff\xfe" + TEXT.encode("utf-16-le"),
    "utf-16-be-bom": b"\xfe\xff" + TEXT.encode("utf-16-be"),
    "utf-32-le-bom": b"\xff\xfe\x00\x00" + TEXT.encode("utf-32-le"),
    "utf-32-be-bom": b"\x00\x00\xfe\xff" + TEXT.encode("utf-32-be"),
    "utf-16-le": TEXT.encode("utf-16-le"),
    "utf-16-be": TEXT.encode("utf-16-be"),
    "utf-8-bom": b"\xef\xbb\xbf" + TEXT.encode(),
    "cr-only": TEXT.replace("\n", "\r").encode(),
    "crlf": TEXT.replace("\n", "\r\n").encode(),
    "utf-16-le-cr-only": b"\xff\xfe" + TEXT.replace("\n", "\r").encode("utf-16-le"),
}


@pytest.mark.parametrize("name", sorted(ENCODED))
def test_encodings_give_the_utf8_lines_and_columns(tmp_path: Path, name: str) -> None:
    (tmp_path / "ref.log").write_bytes(TEXT.encode())
    (tmp_path / "x.log").write_bytes(ENCODED[name])
    ref, _, _ = scan([tmp_path / "ref.log"])
    found, errors, _ = scan([tmp_path / "x.log"])
    assert errors == []
    assert len(ref) == 2 and where(found) == where(ref)


@pytest.mark.parametrize("name", ["utf-16-le-bom", "utf-8-bom", "cr-only"])
def test_encodings_inside_archives(tmp_path: Path, name: str) -> None:
    (tmp_path / "ref.log").write_bytes(TEXT.encode())
    (tmp_path / "x.tgz").write_bytes(gz(tar({"x.log": ENCODED[name]})))
    ref, _, _ = scan([tmp_path / "ref.log"])
    found, errors, _ = scan([tmp_path / "x.tgz"])
    assert errors == [] and where(found) == where(ref)


def test_utf8_bom_keeps_columns_in_byte_ranges(tmp_path: Path) -> None:
    body = "".join(f"line {i} user{i}@example.com\n" for i in range(3000)).encode()
    (tmp_path / "ref.log").write_bytes(body)
    (tmp_path / "bom.log").write_bytes(b"\xef\xbb\xbf" + body)
    ref, _, _ = scan([tmp_path / "ref.log"], workers=1, split_size=16 << 10)
    found, errors, _ = scan([tmp_path / "bom.log"], workers=1, split_size=16 << 10)
    assert errors == [] and where(found) == where(ref) and len(ref) == 3000


line_text = st.text(alphabet=st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp")),
                    max_size=30)


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(line_text, st.booleans()), min_size=1, max_size=12),
       st.sampled_from(["utf-16-le", "utf-16-be", "utf-32-le", "utf-8-sig", "cr"]))
def test_any_text_decodes_to_the_same_findings(tmp_path: Path,
                                               lines: list[tuple[str, bool]], enc: str) -> None:
    text = "".join(f"{t} {'user=' + EMAIL if mail else ''}\n" for t, mail in lines)
    ref_p, x_p = tmp_path / "ref.log", tmp_path / "x.log"
    ref_p.write_bytes(text.encode())
    if enc == "cr":
        if "\r" in text:
            return
        data = text.replace("\n", "\r").encode()
    elif enc == "utf-8-sig":
        data = text.encode(enc)
    else:
        data = {"utf-16-le": b"\xff\xfe", "utf-16-be": b"\xfe\xff",
                "utf-32-le": b"\xff\xfe\x00\x00"}[enc] + text.encode(enc)
    x_p.write_bytes(data)
    ref, _, _ = scan([ref_p])
    found, errors, _ = scan([x_p])
    assert [e for e in errors if e.kind == "error"] == []
    assert where(found) == where(ref)


# ---------------------------------------------------------------- binary: skipped, counted


ELF = b"\x7fELF\x02\x01\x01" + bytes(200)


def test_binary_in_a_directory_is_skipped_counted_not_scanned(tmp_path: Path) -> None:
    (tmp_path / "tool").write_bytes(ELF)
    (tmp_path / "a.log").write_text(f"user={EMAIL}\n")
    found, errors, counters = scan([tmp_path])
    assert [(e.kind, e.explicit) for e in errors] == [("skipped", False)]
    assert counters.inputs_skipped == 1 and counters.inputs_scanned == 1
    assert counters.inputs_failed == 0 and len(found) == 1


def test_binary_named_explicitly_fails_the_scan_unless_skip_binary(tmp_path: Path) -> None:
    (tmp_path / "tool").write_bytes(ELF)
    _, errors, counters = scan([tmp_path / "tool"])
    assert [e.kind for e in errors] == ["error"] and counters.inputs_failed == 1
    assert "--skip-binary" in errors[0].reason and "--scan-binary" in errors[0].reason
    _, errors, counters = scan([tmp_path / "tool"], skip_binary=True)
    assert [e.kind for e in errors] == ["skipped"] and counters.inputs_skipped == 1
    assert counters.inputs_scanned == 0
    _, errors, counters = scan([tmp_path / "tool"], scan_binary=True)
    assert errors == [] and counters.inputs_scanned == 1


def test_a_member_of_an_explicit_archive_is_only_skipped(tmp_path: Path) -> None:
    (tmp_path / "a.tgz").write_bytes(gz(tar({"tool": ELF, "a.log": f"{EMAIL}\n".encode()})))
    found, errors, _ = scan([tmp_path / "a.tgz"])
    assert [e.kind for e in errors] == ["skipped"] and len(found) == 1


def test_device_named_explicitly_fails_the_scan_unless_skip_binary() -> None:
    _, errors, _ = scan(["/dev/null"])
    assert [e.kind for e in errors] == ["error"]
    _, errors, _ = scan(["/dev/null"], skip_binary=True)
    assert [e.kind for e in errors] == ["skipped"]


def test_cli_binary_rule_and_every_summary(tmp_path: Path) -> None:
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "tool").write_bytes(ELF)
    (tmp_path / "d" / "u16.log").write_bytes(ENCODED["utf-16-le-bom"])
    tool = str(tmp_path / "d" / "tool")
    # Named on the command line: exit 3, with the way out in the message.
    r = cli("scan", "-q", tool)
    assert r.returncode == 3 and "--skip-binary" in r.stderr
    r = cli("scan", "-q", "--skip-binary", tool)
    assert r.returncode == 0 and "1 input(s) skipped" in r.stdout
    r = cli("scan", "--scan-binary", "--skip-binary", tool)
    assert r.returncode == 2 and "choose one" in r.stderr
    # Found in a directory: exit as the findings say, but never silent, even under -q.
    r = cli("scan", "-q", str(tmp_path / "d"))
    assert r.returncode == 1, r.stderr
    assert "2 finding(s)" in r.stdout and "1 input(s) skipped" in r.stdout
    r = cli("scan", str(tmp_path / "d"))
    assert "1 skipped" in r.stdout and "skipped " + tool in r.stderr.replace("\n", "")
    r = cli("scan", str(tmp_path / "d"), "--format", "json")
    run_rec = json.loads(r.stdout)["run"]
    assert run_rec["counters"]["inputs_skipped"] == 1
    assert run_rec["counters"]["inputs_scanned"] == 1
    assert [(e["path"], e["kind"]) for e in run_rec["errors"]] == [(tool, "skipped")]
    r = cli("scan", str(tmp_path / "d"), "--format", "sarif")
    inv = json.loads(r.stdout)["runs"][0]["invocations"][0]
    assert [n["level"] for n in inv["toolExecutionNotifications"]] == ["note"]


def test_skip_binary_is_a_setting_like_the_others(tmp_path: Path) -> None:
    (tmp_path / "tool").write_bytes(ELF)
    env = {**os.environ, "LOGAUDIT_KEY": "k", "LOGAUDIT_SKIP_BINARY": "true"}
    r = subprocess.run([sys.executable, "-m", "logaudit", "scan", "-q", str(tmp_path / "tool")],
                       capture_output=True, text=True, env=env, timeout=120)
    assert r.returncode == 0, r.stderr
    (tmp_path / "logaudit.toml").write_text("[scan]\nskip-binary = true\n")
    r = subprocess.run([sys.executable, "-m", "logaudit", "config", "show"], cwd=tmp_path,
                       capture_output=True, text=True, env={**os.environ}, timeout=120)
    assert "skip-binary" in r.stdout and "true" in r.stdout.lower()


def test_state_scans_utf16_once_and_skips_binary(tmp_path: Path) -> None:
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "u16.log").write_bytes(ENCODED["utf-16-le-bom"])
    (tmp_path / "d" / "tool").write_bytes(ELF + f"user={EMAIL}\n".encode())
    state = str(tmp_path / "state.json")
    r = cli("scan", str(tmp_path / "d"), "--state", state, "--format", "jsonl")
    rows = [json.loads(x) for x in r.stdout.splitlines()]
    assert r.returncode == 1, r.stderr
    assert sorted((Path(x["path"]).name, x["line"]) for x in rows) == [("u16.log", 2),
                                                                      ("u16.log", 3)]
    r = cli("scan", str(tmp_path / "d"), "--state", state, "--format", "jsonl")
    assert r.returncode == 0 and r.stdout == "", r.stderr


def test_one_object_named_by_url_is_explicit_a_prefix_is_not() -> None:
    fsspec = pytest.importorskip("fsspec")
    from fsspec.implementations.memory import MemoryFileSystem

    class BinFS(MemoryFileSystem):  # type: ignore[misc]
        protocol = "oddbinfs"

        @classmethod
        def _strip_protocol(cls, path: str) -> str:
            return "/" + path.split("://", 1)[-1].strip("/")

    fsspec.register_implementation(BinFS.protocol, BinFS, clobber=True)
    MemoryFileSystem().pipe("/oddbinfs-bucket/tool", ELF)
    try:
        _, errors, _ = scan(["oddbinfs://oddbinfs-bucket/tool"])
        assert [e.kind for e in errors] == ["error"]
        _, errors, _ = scan(["oddbinfs://oddbinfs-bucket/"])
        assert [e.kind for e in errors] == ["skipped"]
    finally:
        MemoryFileSystem().rm("/oddbinfs-bucket", recursive=True)


def test_sarif_lists_inputs_not_read_and_validates(tmp_path: Path) -> None:
    from test_reports import _validate_sarif

    from logaudit.api import scan as api_scan
    from logaudit.reports.writers import ReportFormat, write_report

    (tmp_path / "tool").write_bytes(ELF)
    (tmp_path / "cut.gz").write_bytes(gz(f"user={EMAIL}\n".encode() * 500)[:-20])
    (tmp_path / "junk.gz").write_bytes(gz(b"ok\n") + b"junk")
    result = api_scan([tmp_path], workers=1, key=b"k")
    out = tmp_path / "r.sarif"
    write_report(result.findings, str(out), ReportFormat.SARIF, result.run_record())
    doc = json.loads(out.read_text())
    _validate_sarif(doc)
    notes = doc["runs"][0]["invocations"][0]["toolExecutionNotifications"]
    assert sorted(n["level"] for n in notes) == ["error", "note", "warning"]
    assert doc["runs"][0]["invocations"][0]["executionSuccessful"] is False
