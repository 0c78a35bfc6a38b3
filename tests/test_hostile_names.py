"""File and archive-member names are chosen by whoever wrote the logs (issues 12 and 13): a name
that is not UTF-8 never aborts a run, a secret in a name is reported once and masked wherever a
path is shown, and what logaudit writes beside its outputs (lock, redacted copies) never goes
through a planted link."""

from __future__ import annotations

import gzip
import io
import json
import os
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path
from urllib.parse import unquote

import polars as pl
import pytest

from logaudit import scrub
from logaudit.api import scan
from logaudit.reports.writers import ReportFormat

TOKEN = "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"  # a valid-checksum classic GitHub PAT
MASKED = "ghp_********G2TV"
SECRET_NAME = f"dump-{TOKEN}.log"
# Not UTF-8 (0xff, a lone continuation byte 0x80), plus a terminal escape.
BAD_NAME = b"bad\xff\x80name\x1b[2J.log"
CONTENT = b"2024-03-01T10:00:00Z login password=Tr0ub4dorX77xq\nmail bob@corp.example\n"
TEXT_FORMATS = ("json", "jsonl", "csv", "sarif", "html", "markdown", "txt")


def _cli(*args: str, cwd: Path | None = None,
         columns: int = 80) -> subprocess.CompletedProcess[bytes]:
    env = {**os.environ, "LOGAUDIT_KEY": "test-key-not-secret", "COLUMNS": str(columns)}
    return subprocess.run([sys.executable, "-m", "logaudit", *args], capture_output=True,
                          env=env, cwd=cwd, timeout=300)


def _tar(members: list[tuple[bytes, bytes]]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.GNU_FORMAT,
                      encoding="utf-8", errors="surrogateescape") as tf:
        for name, data in members:
            info = tarfile.TarInfo(name.decode("utf-8", "surrogateescape"))
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    return buf.getvalue()


@pytest.fixture(autouse=True)
def _fresh_scrubber() -> None:
    scrub.forget()


@pytest.fixture
def bad_tree(tmp_path: Path) -> Path:
    root = tmp_path / "logs"
    root.mkdir()
    with open(os.path.join(os.fsencode(root), BAD_NAME), "wb") as f:
        f.write(CONTENT)
    (root / "inner.tar").write_bytes(_tar([(b"m\xfe\x1b]8;;x\x07.log", CONTENT)]))
    return root


def _zip_with_name(name: bytes, data: bytes) -> bytes:
    """A zip whose member name is ``name`` with the UTF-8 flag set, valid UTF-8 or not."""
    buf = io.BytesIO()
    placeholder = "é" * (len(name) // 2) + "x" * (len(name) % 2)  # sets the UTF-8 flag
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr(placeholder, data)
    raw = buf.getvalue()
    assert raw.count(placeholder.encode()) == 2  # local header and central directory
    return raw.replace(placeholder.encode(), name)


def test_non_utf8_zip_member_name_is_kept(tmp_path: Path) -> None:
    (tmp_path / "a.zip").write_bytes(_zip_with_name(b"z\xff\xfe.log", CONTENT))
    res = scan([str(tmp_path / "a.zip")], workers=1)
    assert not res.errors
    assert set(res.findings["path"]) == {f"{tmp_path}/a.zip!z\\xff\\xfe.log"}


@pytest.fixture
def secret_tree(tmp_path: Path) -> Path:
    root = tmp_path / "logs"
    root.mkdir()
    (root / SECRET_NAME).write_bytes(CONTENT)
    # The same token named by a member of an archive.
    (root / "a.tar").write_bytes(_tar([(f"x/{SECRET_NAME}".encode(), CONTENT)]))
    return root


def _all_text(path: Path) -> str:
    if path.suffix == ".parquet":
        df = pl.read_parquet(path)
        meta = pl.read_parquet_metadata(path)
        return df.write_csv() + json.dumps(meta)
    return path.read_bytes().decode("utf-8")  # strict: every output is valid UTF-8


def test_scrub_helpers_keep_bytes_and_escape_them() -> None:
    name = os.fsdecode(b"a/\xff\x80b.log")
    assert scrub.to_bytes(name) == b"a/\xff\x80b.log"
    assert scrub.printable(name) == "a/\\xff\\x80b.log"
    assert scrub.name_text(name) == "a/\\xff\\x80b.log"
    assert scrub.name_text(f"logs/{SECRET_NAME}") == f"logs/dump-{MASKED}.log"
    kept = scrub.mask_secrets(f"{SECRET_NAME}\udcff", keep_bytes=True)
    assert kept == f"dump-{MASKED}.log\udcff"
    assert scrub.name_text("plain/ünï.log") == "plain/ünï.log"


@pytest.mark.slow
def test_non_utf8_file_and_member_names_are_scanned_in_every_format(
        bad_tree: Path, tmp_path: Path) -> None:
    res = scan([str(bad_tree)], workers=1)
    paths = set(res.findings["path"].to_list())
    shown = {str(bad_tree / "bad\\xff\\x80name\x1b[2J.log"),
             str(bad_tree / "inner.tar") + "!m\\xfe\x1b]8;;x\x07.log"}
    assert paths == shown
    assert len(res.findings) == 4 and not res.errors
    for fmt in (*TEXT_FORMATS, "parquet"):
        out = tmp_path / f"r.{fmt}"
        r = _cli("scan", "-q", "-j", "1", str(bad_tree), "-o", str(out))
        assert r.returncode == 1, r.stderr
        text = _all_text(out)
        if fmt in ("json", "jsonl", "sarif"):
            text = text.replace("\\\\", "\\")  # JSON writes the backslash as \\
        if fmt == "sarif":
            text = unquote(text)  # artifact URIs are percent-encoded
        assert "\\xff\\x80name" in text and "m\\xfe" in text, fmt
        if fmt not in ("json", "jsonl", "sarif", "parquet"):
            assert "\x1b" not in text, fmt
    table = _cli("scan", "-j", "1", str(bad_tree))
    assert table.returncode == 1
    out = table.stdout.decode("utf-8")
    assert "bad\\xff\\x80name\\x1b[2J.log" in out and "\x1b" not in out


def test_non_utf8_names_in_baseline_state_and_errors(bad_tree: Path, tmp_path: Path) -> None:
    base = tmp_path / "base.json"
    r = _cli("baseline", "create", str(base), str(bad_tree))
    assert r.returncode == 0, r.stderr
    doc = json.loads(base.read_text(encoding="utf-8"))
    assert any("\\xff\\x80name" in p for e in doc["entries"].values() for p in e["paths"])
    st = tmp_path / "state.json"
    (bad_tree / "inner.tar").unlink()
    assert _cli("scan", "-q", "-j", "1", str(bad_tree), "--state", str(st)).returncode == 1
    # Lossless in the state: the entry names the file's real bytes, so the next run finds
    # it unchanged and reports nothing again.
    entries = json.loads(st.read_text(encoding="utf-8"))["entries"]
    assert [os.fsencode(p) for p in entries] == [os.path.join(os.fsencode(bad_tree), BAD_NAME)]
    again = _cli("scan", "-j", "1", str(bad_tree), "--state", str(st), "-f", "jsonl")
    assert (again.returncode, again.stdout) == (0, b"")
    # An error about such a file is one line, escaped, and does not stop the run.
    with open(os.path.join(os.fsencode(bad_tree), b"cut\xff.gz"), "wb") as f:
        f.write(gzip.compress(CONTENT * 3000)[:200])
    r = _cli("scan", "-j", "1", str(bad_tree), "-o", str(tmp_path / "r.json"))
    assert r.returncode == 3
    err = r.stderr.decode("utf-8")
    assert "cut\\xff.gz" in err and "internal error" not in err


def test_secret_in_a_name_is_reported_once(secret_tree: Path) -> None:
    res = scan([str(secret_tree)], workers=1)
    names = res.findings.filter(pl.col("line") == 0)
    assert names["rule_id"].to_list() == ["github-pat-classic"]
    row = names.row(0, named=True)
    assert json.loads(row["details"]) == {"location": "name"}
    assert row["match"] == MASKED and TOKEN not in row["context"]
    # both places the name occurs (file, archive member) are scanned as content too
    assert res.findings.filter(pl.col("line") > 0)["rule_id"].to_list().count(
        "generic-password") == 2


@pytest.mark.slow
def test_secret_in_a_name_is_masked_everywhere(secret_tree: Path, tmp_path: Path) -> None:
    seen: dict[str, str] = {}
    # A truncated gzip of that name: its error message quotes the path.
    cut = secret_tree / f"{SECRET_NAME}.gz"
    cut.write_bytes(gzip.compress(CONTENT * 2000)[:300])
    for fmt in (*TEXT_FORMATS, "parquet"):
        out = tmp_path / f"r.{fmt}"
        log = tmp_path / f"run-{fmt}.log"
        r = _cli("scan", "-j", "1", str(secret_tree), "-o", str(out), "--log-file", str(log),
                 "--log-format", "json" if fmt == "json" else "text")
        assert r.returncode == 3, r.stderr  # the truncated gzip
        seen[f"report {fmt}"] = _all_text(out)
        seen[f"stderr {fmt}"] = r.stderr.decode("utf-8")
        seen[f"log {fmt}"] = log.read_text(encoding="utf-8")
    table = _cli("scan", "-j", "1", str(secret_tree))
    seen["terminal"] = table.stdout.decode() + table.stderr.decode()
    quiet = _cli("scan", "-q", "-j", "1", str(secret_tree))
    seen["quiet"] = quiet.stdout.decode() + quiet.stderr.decode()
    cut.unlink()
    base = tmp_path / "base.json"
    r = _cli("baseline", "create", str(base), str(secret_tree))
    assert r.returncode == 0, r.stderr
    seen["baseline"] = base.read_text() + r.stderr.decode()
    st = tmp_path / "state.json"
    r = _cli("scan", "-q", "-j", "1", str(secret_tree), "--state", str(st))
    seen["state"] = st.read_text() + r.stderr.decode()
    leaks = [where for where, text in seen.items() if TOKEN in text]
    assert not leaks, leaks
    assert MASKED in seen["report json"] and MASKED in seen["stderr csv"]
    assert MASKED in seen["baseline"] and MASKED in seen["state"]


def test_state_with_a_masked_name_resumes(secret_tree: Path, tmp_path: Path) -> None:
    st = tmp_path / "state.json"
    first = scan([str(secret_tree / SECRET_NAME)], workers=1, state=str(st))
    first.commit_state()
    assert len(first.findings) == 3  # the name, the password, the e-mail
    with open(secret_tree / SECRET_NAME, "ab") as f:
        f.write(b"later password=Zr8uY3nQ5wE1tV7x\n")
    second = scan([str(secret_tree / SECRET_NAME)], workers=1, state=str(st))
    second.commit_state()
    assert second.findings["line"].to_list() == [3]
    assert TOKEN not in st.read_text()


def test_show_allowed_escapes_names(tmp_path: Path) -> None:
    root = tmp_path / "logs"
    root.mkdir()
    (root / "evil\n\x1b[2J.log").write_bytes(CONTENT)
    cfg = tmp_path / "logaudit.toml"
    cfg.write_text('[[allow]]\nrules = ["email-address"]\nreason = "test"\n')
    r = _cli("scan", "-j", "1", str(root), "--config", str(cfg), "--show-allowed", "-o",
             str(tmp_path / "r.json"), columns=300)
    assert r.returncode == 1, r.stderr
    out = r.stdout.decode()
    assert "Allowed findings (1)" in out
    assert "evil\\n\\x1b[2J.log:2:6" in out
    assert "\x1b" not in out


def test_state_lock_is_never_opened_through_a_link(tmp_path: Path) -> None:
    log = tmp_path / "a.log"
    log.write_bytes(CONTENT)
    victim = tmp_path / "victim"
    victim.write_text("keep me")
    st = tmp_path / "state.json"
    os.symlink(victim, f"{st}.lock")
    r = _cli("scan", "-q", str(log), "--state", str(st))
    assert r.returncode == 2 and b"symbolic link" in r.stderr
    assert victim.read_text() == "keep me"
    os.unlink(f"{st}.lock")
    os.mkfifo(f"{st}.lock")  # would block an open for writing forever
    r = _cli("scan", "-q", str(log), "--state", str(st))
    assert r.returncode == 2 and b"not a regular file" in r.stderr


def test_redacted_copy_through_a_symlink_replaces_its_target(tmp_path: Path) -> None:
    src = tmp_path / "in"
    src.mkdir()
    (src / "a.log").write_bytes(CONTENT)
    out = tmp_path / "out"
    (out / "in").mkdir(parents=True)
    target = tmp_path / "target.log"
    target.write_text("old\n")
    link = out / "in" / "a.log"
    os.symlink(target, link)
    r = _cli("redact", "in", "--out-dir", str(out), cwd=tmp_path)
    assert r.returncode == 1, r.stderr
    assert link.is_symlink()
    assert b"Tr0ub4dorX77xq" not in target.read_bytes() and b"login" in target.read_bytes()
    # a FIFO where the copy goes is refused, never renamed over
    os.unlink(link)
    os.mkfifo(link)
    r = _cli("redact", "in", "--out-dir", str(out), cwd=tmp_path)
    assert r.returncode == 3 and b"not a regular file" in r.stderr
    assert link.is_fifo()


def test_report_accepts_csv_raw(tmp_path: Path) -> None:
    log = tmp_path / "a.log"
    log.write_bytes(b"=cmd|' /C calc'!A0 password=Tr0ub4dorX77xq\n")
    rep = tmp_path / "r.jsonl"
    assert _cli("scan", "-q", str(log), "-o", str(rep)).returncode == 1
    for extra, first in (((), "'=cmd"), (("--csv-raw",), "=cmd")):
        out = tmp_path / f"rows{len(extra)}.csv"
        r = _cli("report", str(rep), "--rows", "-o", str(out), *extra)
        assert r.returncode == 0, r.stderr
        row = pl.read_csv(out).row(0, named=True)
        assert row["context"].startswith(first)
        summary = _cli("report", str(rep), "--by", "rule", "-f", "csv", *extra)
        assert summary.returncode == 0 and b"generic-password" in summary.stdout


def test_debug_traceback_is_scrubbed(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    from logaudit import cli

    def boom(*_a: object, **_k: object) -> None:
        raise RuntimeError(f"failed on {tmp_path}/{SECRET_NAME}\x1b[2J")

    monkeypatch.setattr("logaudit.cli.scan.scan", boom)
    monkeypatch.setattr(sys, "argv", ["logaudit", "scan", str(tmp_path), "--debug"])
    with pytest.raises(SystemExit) as exc:
        cli._main()
    assert exc.value.code == 3
    err = capsys.readouterr().err
    assert "Traceback" in err and "RuntimeError" in err
    assert TOKEN not in err and MASKED in err and "\x1b" not in err


@pytest.mark.parametrize("fmt", [ReportFormat.SARIF])
def test_sarif_name_finding_has_no_region(secret_tree: Path, tmp_path: Path,
                                          fmt: ReportFormat) -> None:
    out = tmp_path / "r.sarif"
    assert _cli("scan", "-q", "-j", "1", str(secret_tree / SECRET_NAME), "-o",
                str(out)).returncode == 1
    results = json.loads(out.read_text())["runs"][0]["results"]
    names = [r for r in results if r["properties"].get("location") == "name"]
    assert len(names) == 1
    assert "region" not in names[0]["locations"][0]["physicalLocation"]
    assert all(r["locations"][0]["physicalLocation"]["region"]["startLine"] >= 1
               for r in results if r not in names)


def test_baseline_from_an_older_report_masks_names() -> None:
    from logaudit.baseline import Baseline

    b = Baseline()
    b.add([{"fingerprint": "f1", "rule_id": "generic-password", "category": "secret",
            "severity": "medium", "path": f"logs/{SECRET_NAME}"}])
    assert b.entries["f1"].paths == [f"logs/dump-{MASKED}.log"]


def test_masking_many_names_uses_the_engine() -> None:
    # The engine's prefilter picks the rules to confirm; the loop over every rule is only the
    # fallback. Same result either way.
    names = [f"/var/log/app-{i}/{SECRET_NAME}" for i in range(3)] + ["/var/log/plain.log"]
    fast = [scrub.mask_secrets(n) for n in names]
    assert scrub._engine() is not None
    scrub._engine_cache[:] = [(scrub._secret_rules(), None)]
    slow = [scrub.mask_secrets(n) for n in names]
    assert fast == slow and TOKEN not in "".join(fast) and fast[-1] == "/var/log/plain.log"
