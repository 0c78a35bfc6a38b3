"""Log content is hostile: escapes, formula cells and symlinked targets must never reach the
operator's terminal, spreadsheet or file system as the log's author intended (issue 13)."""

from __future__ import annotations

import csv
import io
import json
import os
import stat
import subprocess
import sys
import threading
from pathlib import Path

import polars as pl
import pytest

from logaudit.api import scan
from logaudit.errors import ReportError
from logaudit.escaping import escape_control, json_text
from logaudit.fsio import atomic_write, resolve
from logaudit.reports.frame import SCHEMA
from logaudit.reports.table import render_text
from logaudit.reports.writers import ReportFormat, write_report

# Terminal attacks: clear screen, a fake green "ALL CLEAR", an OSC 8 hyperlink, a one-byte C1 CSI,
# a right-to-left override, and a newline that would split a table row.
CLEAR = "\x1b[2J"
FAKE_OK = "\x1b[32mALL CLEAR\x1b[0m"
LINK = "\x1b]8;;http://evil.example/\x07click\x1b]8;;\x07"
C1_CSI = "\x9b31m"
RLO = "\u202e"
RAW_CONTROLS = ("\x1b", "\x9b", "\x07", RLO)

EVIL_NAME = f"app{CLEAR}{RLO}\nfake-row.log"
EVIL_LINE = f"2024-03-01T10:00:00Z user=bob password=Tr0ub4dorX77xq {FAKE_OK} {LINK} {C1_CSI}\n"
FORMULA_LINE = '=HYPERLINK("http://evil.example/","x") password=Zr8uY3nQ5wE1tV7x\n'


def _cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[bytes]:
    # wide enough that a table never cuts the escaped name short (pytest's tmp paths vary)
    env = {**os.environ, "LOGAUDIT_KEY": "test-key-not-secret", "COLUMNS": "400"}
    return subprocess.run([sys.executable, "-m", "logaudit", *args], capture_output=True,
                          env=env, cwd=cwd, timeout=300)


@pytest.fixture(scope="module")
def evil_tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("evil")
    (root / EVIL_NAME).write_text(EVIL_LINE + FORMULA_LINE, encoding="utf-8")
    return root


@pytest.fixture(scope="module")
def evil_findings(evil_tree: Path) -> tuple[pl.DataFrame, dict[str, object]]:
    res = scan([str(evil_tree)], workers=1)
    assert len(res.findings) == 2, res.findings
    return res.findings, res.run_record()


def _assert_no_raw_controls(text: str, where: str) -> None:
    raw = [c for c in RAW_CONTROLS if c in text]
    assert not raw, f"raw control characters in {where}: {raw!r}"


def test_escape_control_makes_every_control_visible() -> None:
    assert escape_control(f"a{CLEAR}b\nc\td\r") == "a\\x1b[2Jb\\nc\\td\\r"
    assert escape_control(f"{RLO}x\x9b\x7f\u2028") == "\\u202ex\\x9b\\x7f\\u2028"
    assert escape_control("plain ünïcødé \\x1b") == "plain ünïcødé \\x1b"
    for code in [*range(0x20), *range(0x7F, 0xA0)]:
        assert not any(ord(c) == code for c in escape_control(chr(code)))


def test_json_text_is_lossless_and_terminal_safe() -> None:
    doc = {"context": f"{CLEAR}{C1_CSI}{RLO}\x7f ünï", "n": 1}
    text = json_text(doc)
    _assert_no_raw_controls(text, "json")
    assert "\x7f" not in text and "ünï" in text
    assert json.loads(text) == doc


@pytest.mark.parametrize("fmt", [f for f in ReportFormat if f is not ReportFormat.PARQUET],
                         ids=lambda f: f.value)
def test_no_raw_escape_in_any_text_report(tmp_path: Path, fmt: ReportFormat,
                                          evil_findings: tuple[pl.DataFrame, dict[str, object]]
                                          ) -> None:
    df, run = evil_findings
    out = tmp_path / "report"
    write_report(df, str(out), fmt, dict(run))
    text = out.read_text(encoding="utf-8")
    _assert_no_raw_controls(text, fmt.value)
    if fmt in (ReportFormat.TABLE, ReportFormat.MARKDOWN, ReportFormat.HTML, ReportFormat.CSV):
        assert "\\x1b[2J" in text and "\\u202e" in text  # shown, escaped
    if fmt is not ReportFormat.HTML:  # HTML keeps the name in one cell of its own
        rows = [ln for ln in text.splitlines() if "fake-row.log" in ln]
        assert all("app" in ln for ln in rows), f"a newline in the name split a row: {rows}"


def test_parquet_keeps_the_data_and_report_shows_it_escaped(
        tmp_path: Path, evil_findings: tuple[pl.DataFrame, dict[str, object]]) -> None:
    df, run = evil_findings
    out = tmp_path / "r.parquet"
    write_report(df, str(out), ReportFormat.PARQUET, dict(run))
    assert pl.read_parquet(out)["path"].to_list() == df["path"].to_list()
    shown = _cli("report", str(out), "--by", "path")
    _assert_no_raw_controls(shown.stdout.decode() + shown.stderr.decode(), "report --by path")
    assert b"\\x1b[2J" in shown.stdout


def test_terminal_quiet_and_stderr_show_escapes(evil_tree: Path, tmp_path: Path) -> None:
    missing = str(evil_tree / f"gone{CLEAR}.log")
    table = _cli("scan", "-j", "1", str(evil_tree), missing)
    assert table.returncode == 3
    out, err = table.stdout.decode(), table.stderr.decode()
    _assert_no_raw_controls(out, "terminal table")
    _assert_no_raw_controls(err, "stderr")
    assert "\\x1b[2J" in out and "gone\\x1b[2J.log" in err
    assert len(err.strip().splitlines()) == 1  # the error is one line, not split by the name
    quiet = _cli("scan", "-q", "-j", "1", str(evil_tree), "-o", str(tmp_path / f"o{CLEAR}.csv"))
    assert quiet.returncode == 1
    _assert_no_raw_controls(quiet.stdout.decode() + quiet.stderr.decode(), "--quiet")


def test_text_log_cannot_be_forged_by_a_name(evil_tree: Path, tmp_path: Path) -> None:
    log = tmp_path / "run.log"
    missing = str(evil_tree / "gone\n2024-01-01T00:00:00Z info scan.end forged=1.log")
    r = _cli("scan", "-q", "-j", "1", missing, "--log-file", str(log))
    assert r.returncode == 3
    lines = log.read_text().splitlines()
    assert not any(ln.startswith("2024-01-01") for ln in lines), lines
    assert any("gone\\n2024" in ln for ln in lines)


# ---------------------------------------------------------------- spreadsheets

FORMULAS = ["=1+2", "+cmd|' /C calc'!A0", "-2+3", "@SUM(A1)", "\t=1", "\r=1", "'=x"]


def _frame_with(values: list[str]) -> pl.DataFrame:
    row = dict.fromkeys(SCHEMA) | {
        "run_id": "r", "line": 1, "end_line": 1, "column": 1, "rule_id": "x",
        "category": "secret", "severity": "high", "fingerprint": "f"}
    return pl.DataFrame([row] * len(values), schema=SCHEMA).with_columns(
        pl.Series("path", values), pl.Series("match", values), pl.Series("context", values))


def _cells(path: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(path.read_bytes().decode("utf-8"), newline="")))


def test_csv_formula_cells_are_neutralised(tmp_path: Path) -> None:
    out = tmp_path / "r.csv"
    write_report(_frame_with(FORMULAS), str(out), ReportFormat.CSV, {})
    for row in _cells(out):
        for col in ("path", "match", "context"):
            cell = row[col]
            assert cell[:1] not in ("=", "+", "-", "@", "\t", "\r"), (col, cell)


def test_csv_raw_writes_cells_verbatim_and_report_reads_guarded_back(tmp_path: Path) -> None:
    raw = tmp_path / "raw.csv"
    write_report(_frame_with(FORMULAS), str(raw), ReportFormat.CSV, {}, csv_raw=True)
    assert [r["match"] for r in _cells(raw)] == FORMULAS
    from logaudit.reports.load import load

    guarded = tmp_path / "g.csv"
    safe = [v for v in FORMULAS if v[0] not in "\t\r"]  # tab/CR come back escaped
    write_report(_frame_with(safe), str(guarded), ReportFormat.CSV, {})
    assert load([str(guarded)]).frame.collect()["match"].to_list() == safe


def test_cli_csv_guard_and_csv_raw(evil_tree: Path, tmp_path: Path) -> None:
    guarded, raw = tmp_path / "g.csv", tmp_path / "r.csv"
    assert _cli("scan", "-q", "-j", "1", str(evil_tree), "-o", str(guarded)).returncode == 1
    assert _cli("scan", "-q", "-j", "1", str(evil_tree), "-o", str(raw),
                "--csv-raw").returncode == 1
    g = {r["line"]: r["context"] for r in _cells(guarded)}
    r = {r["line"]: r["context"] for r in _cells(raw)}
    assert g["2"].startswith("'=HYPERLINK(") and r["2"].startswith("=HYPERLINK(")
    assert "\x1b" in r["1"] and "\x1b" not in g["1"]


# ---------------------------------------------------------------- writes that follow links


def test_report_through_a_symlink_replaces_the_target(tmp_path: Path) -> None:
    real_dir = tmp_path / "real"
    real_dir.mkdir()
    target = real_dir / "report.jsonl"
    target.write_text("old\n")
    target.chmod(0o640)
    link = tmp_path / "link.jsonl"
    link.symlink_to(target)
    write_report(_frame_with(["a"]), str(link), ReportFormat.JSONL, {})
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert json.loads(target.read_text())["match"] == "a"
    assert stat.S_IMODE(target.stat().st_mode) == 0o640
    assert sorted(p.name for p in real_dir.iterdir()) == ["report.jsonl"]  # temp beside target
    # A dangling link: the report is created where it points.
    dangling = tmp_path / "dangling.json"
    dangling.symlink_to(real_dir / "new.json")
    write_report(_frame_with(["b"]), str(dangling), ReportFormat.JSON, {})
    assert dangling.is_symlink() and (real_dir / "new.json").is_file()


def test_state_and_baseline_writes_follow_links(tmp_path: Path) -> None:
    from logaudit.baseline import Baseline, save_baseline
    from logaudit.state import State, save_state

    for name, save in (("state.json", lambda p: save_state(p, State())),
                       ("baseline.json", lambda p: save_baseline(p, Baseline(key_id="k")))):
        target = tmp_path / f"real-{name}"
        target.write_text("{}")
        link = tmp_path / name
        link.symlink_to(target)
        save(str(link))
        assert link.is_symlink() and json.loads(target.read_text())["version"] == 1


def test_devices_and_fifos_are_written_in_place(tmp_path: Path) -> None:
    write_report(_frame_with(["a"]), "/dev/null", ReportFormat.JSONL, {})
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)
    with pytest.raises(ReportError, match="No space left"):
        write_report(_frame_with(["a"]), "/dev/full", ReportFormat.JSONL, {})
    assert stat.S_ISCHR(os.stat("/dev/full").st_mode)
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    got: list[bytes] = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_bytes()))
    reader.start()
    atomic_write(fifo, b"through the pipe\n")
    reader.join(timeout=30)
    assert got == [b"through the pipe\n"] and stat.S_ISFIFO(fifo.stat().st_mode)


def test_resolve_treats_fd_links_as_direct(tmp_path: Path) -> None:
    assert resolve("/dev/stdout")[1] is True
    assert resolve(f"/proc/self/fd/{sys.stdout.fileno()}")[1] is True
    a, b = tmp_path / "a", tmp_path / "b"
    a.symlink_to(b)
    b.symlink_to(a)
    with pytest.raises(OSError):
        resolve(a)


def test_cli_output_to_dev_stdout_keeps_the_device(evil_tree: Path) -> None:
    r = _cli("scan", "-j", "1", str(evil_tree), "-o", "/dev/stdout", "-f", "jsonl")
    assert r.returncode == 1, r.stderr
    assert len([json.loads(x) for x in r.stdout.decode().splitlines() if x.startswith("{")]) == 2
    assert os.path.islink("/dev/stdout")


def test_log_file_on_a_full_disk_is_one_line_and_exit_3(evil_tree: Path) -> None:
    r = _cli("scan", "-q", "-j", "1", str(evil_tree), "--log-file", "/dev/full")
    err = r.stderr.decode()
    assert r.returncode == 3, err
    assert "Logging error" not in err and "Traceback" not in err
    assert err.strip().splitlines() == ["logaudit: /dev/full: cannot write the log file "
                                        "(No space left on device)"]


def test_render_text_escapes(evil_findings: tuple[pl.DataFrame, dict[str, object]]) -> None:
    df, run = evil_findings
    text = render_text(df, dict(run))
    _assert_no_raw_controls(text, "render_text")


# ---------------------------------------------------------------- credentials in URLs and errors

AWS_ID = "AKIAZ3MHQ7XKP2LNR4TB"
AWS_SECRET = "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"  # a raw "/" as real keys have


def test_scrubber_masks_known_credentials_signed_urls_and_rule_hits() -> None:
    from logaudit import scrub

    scrub.register([f"s3://{AWS_ID}:{AWS_SECRET}@bucket/logs/"], {"token": "opt-tok-3141"})
    try:
        text = scrub.scrub_message(
            f"HEAD failed for bucket {AWS_ID}:{AWS_SECRET}@bucket (encoded "
            f"{AWS_SECRET.replace('/', '%2F').replace('+', '%2B')}) opt-tok-3141 "
            "https://b.s3.amazonaws.com/k?X-Amz-Algorithm=AWS4&X-Amz-Credential=AKIAX%2F2024"
            "&X-Amz-Signature=9f0e1d2c3b4a&x=1 https://a.blob.core.windows.net/c/b?sv=2022&"
            "sig=abc%2Bdef%3D&se=2030 github 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 "
            "expected KEY=VALUE")
    finally:
        scrub.forget()
    for raw in (AWS_ID, AWS_SECRET, "%2F", "opt-tok-3141", "9f0e1d2c3b4a", "AKIAX",
                "abc%2Bdef", "u8jzPde0IgxLd6GncfBAepfJBd0Kh8024xXH"):
        assert raw not in text, raw
    assert "x=1" in text and "sv=2022" in text and "expected KEY=VALUE" in text


def test_credentials_in_an_unreachable_s3_url_reach_no_output(tmp_path: Path) -> None:
    pytest.importorskip("s3fs", reason="needs the s3 extra (s3fs)")
    from moto_s3 import free_port

    url = f"s3://{AWS_ID}:{AWS_SECRET}@bucket/logs/"
    env = {"AWS_ENDPOINT_URL": f"http://127.0.0.1:{free_port()}",  # nothing listens there
           "AWS_ACCESS_KEY_ID": "envkeyid-2718", "AWS_SECRET_ACCESS_KEY": "envsecret-1618",
           "AWS_MAX_ATTEMPTS": "1", "AWS_RETRY_MODE": "standard"}
    outputs = []
    for fmt in ("json", "sarif", "parquet"):
        out = tmp_path / f"r.{fmt}"
        log = tmp_path / f"{fmt}.log"
        r = subprocess.run(
            [sys.executable, "-m", "logaudit", "scan", "-j", "1", url, "-o", str(out),
             "--log-file", str(log), "--log-format", "json" if fmt == "json" else "text",
             "--storage-option", "config_kwargs.connect_timeout=2"],
            capture_output=True, env={**os.environ, "LOGAUDIT_KEY": "k", **env}, timeout=300)
        assert r.returncode == 3, r.stderr
        meta = json.dumps(pl.read_parquet_metadata(out)) if fmt == "parquet" else ""
        outputs.append((fmt, r.stdout.decode() + r.stderr.decode() + log.read_text()
                        + (meta or out.read_text())))
        assert "logs/" in r.stderr.decode()  # the input is still named
    for fmt, text in outputs:
        for raw in (AWS_ID, AWS_SECRET, AWS_SECRET.split("/")[0], "envsecret-1618",
                    "envkeyid-2718"):
            assert raw not in text, (fmt, raw)
