"""Cron mode: incremental state, rotation, baselines, locking and crash safety."""

from __future__ import annotations

import gzip
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import polars as pl
import pytest

import logaudit
from logaudit.state import load_state, save_state

CARD = "4111 1111 1111 1111"


def line(i: int) -> str:
    """A log line holding one unique e-mail finding."""
    return f"2026-11-{1 + i % 28:02d}T10:00:00Z INFO signup user{i}@example.com ok\n"


def write(path: Path, lines: range, mode: str = "a") -> None:
    with path.open(mode) as f:
        f.writelines(line(i) for i in lines)


@pytest.fixture
def tree(tmp_path: Path) -> tuple[Path, Path, Path]:
    """(logs directory, logs/app.log path, state file path)."""
    logs = tmp_path / "logs"
    logs.mkdir()
    return logs, logs / "app.log", tmp_path / "state.json"


def scan_state(root: Path, state: Path, **kw: object) -> pl.DataFrame:
    r = logaudit.scan([root], state=str(state), workers=1, **kw)  # type: ignore[arg-type]
    assert not r.incomplete, r.errors
    r.commit_state()
    return r.findings


def test_append_only_growth(tree: tuple[Path, Path, Path]) -> None:
    logs, app, st = tree
    write(app, range(10))
    assert len(scan_state(logs, st)) == 10
    assert len(scan_state(logs, st)) == 0
    write(app, range(10, 13))
    df = scan_state(logs, st)
    assert df["line"].to_list() == [11, 12, 13]


def test_partial_last_line_waits_for_its_end(tree: tuple[Path, Path, Path]) -> None:
    logs, app, st = tree
    app.write_text(line(0) + "2026-11-02 partial user-being-written@exa")
    assert scan_state(logs, st)["line"].to_list() == [1]
    with app.open("a") as f:
        f.write("mple.com done\n")
    df = scan_state(logs, st)
    assert df["line"].to_list() == [2] and df["match"].to_list() == ["u***@example.com"]


def test_rotation_by_rename(tree: tuple[Path, Path, Path]) -> None:
    logs, app, st = tree
    write(app, range(5))
    assert len(scan_state(logs, st)) == 5
    write(app, range(5, 7))  # appended before rotation, not scanned yet
    app.rename(logs / "app.log.1")
    write(app, range(7, 9))
    df = scan_state(logs, st)
    got = sorted(df.select("path", "line").rows())
    assert got == [(str(logs / "app.log"), 1), (str(logs / "app.log"), 2),
                   (str(logs / "app.log.1"), 6), (str(logs / "app.log.1"), 7)]


def test_copytruncate(tree: tuple[Path, Path, Path]) -> None:
    logs, app, st = tree
    write(app, range(6))
    assert len(scan_state(logs, st)) == 6
    shutil.copyfile(app, logs / "app.log.1")  # copytruncate: copy, then truncate in place
    with app.open("r+") as f:
        f.truncate(0)
    write(app, range(100, 102))
    df = scan_state(logs, st)
    assert sorted(df.select("path", "line").rows()) == [
        (str(app), 1), (str(app), 2)]


def test_copytruncate_when_new_content_outgrew_the_old(tree: tuple[Path, Path, Path]) -> None:
    logs, app, st = tree
    write(app, range(2))
    scan_state(logs, st)
    with app.open("r+") as f:
        f.truncate(0)
    write(app, range(50, 60))  # larger than before: only the changed head tells
    assert scan_state(logs, st)["line"].to_list() == list(range(1, 11))


def test_gzip_of_a_rotated_file(tree: tuple[Path, Path, Path]) -> None:
    logs, app, st = tree
    write(app, range(8))
    assert len(scan_state(logs, st)) == 8
    write(app, range(8, 9))  # one more line before rotation
    app.rename(logs / "app.log.1")
    with (logs / "app.log.1").open("rb") as src, gzip.open(logs / "app.log.1.gz", "wb") as dst:
        shutil.copyfileobj(src, dst)
    (logs / "app.log.1").unlink()
    df = scan_state(logs, st)
    assert df["path"].to_list() == [str(logs / "app.log.1.gz")]
    assert df["line"].to_list() == [9]
    assert len(scan_state(logs, st)) == 0  # the .gz is now known and unchanged


def test_inode_reuse_is_noticed_by_the_head(tree: tuple[Path, Path, Path]) -> None:
    logs, app, st = tree
    write(app, range(4))
    scan_state(logs, st)
    other = logs / "other.log"
    write(other, range(20, 26))
    # Make the state believe other.log's inode is the one app.log had: a reused inode.
    state = load_state(str(st))
    entry = state.entries[str(app.resolve())]
    ost = os.stat(other)
    entry.dev, entry.ino = ost.st_dev, ost.st_ino
    state.entries = {str(other.resolve()): entry}
    save_state(str(st), state)
    app.unlink()
    df = scan_state(logs, st)
    assert df["line"].to_list() == list(range(1, 7))  # rescanned whole, not from offset


def test_deleted_file_is_forgotten(tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    logs.mkdir()
    write(logs / "a.log", range(2))
    write(logs / "b.log", range(2))
    st = tmp_path / "state.json"
    scan_state(logs, st)
    (logs / "a.log").unlink()
    assert len(scan_state(logs, st)) == 0
    assert list(json.loads(st.read_text())["entries"]) == [str((logs / "b.log").resolve())]


def test_traceback_being_written_is_found_whole_next_run(tree: tuple[Path, Path, Path]) -> None:
    logs, app, st = tree
    head = ("2026-11-12 10:00:00 ERROR boom\nTraceback (most recent call last):\n"
            '  File "/srv/app/main.py", line 10, in <module>\n')
    app.write_text(line(0) + head)
    first = scan_state(logs, st)
    rest = ('  File "/srv/app/db.py", line 3, in connect\n'
            "ValueError: bad dsn\n2026-11-12 10:00:01 INFO next\n")
    with app.open("a") as f:
        f.write(rest)
    second = scan_state(logs, st)
    tb = pl.concat([first, second]).filter(pl.col("category") == "traceback")
    if tb.is_empty():
        pytest.skip("no traceback detector in this build")
    assert tb.select("line", "end_line").rows() == [(3, 6)]
    assert pl.concat([first, second]).filter(pl.col("rule_id") == "email-address").height == 1


def test_database_error_being_written_is_found_whole_next_run(
        tree: tuple[Path, Path, Path]) -> None:
    logs, app, st = tree
    app.write_text(line(0) + 'ERROR:  column "emial" does not exist\n'
                   "LINE 1: SELECT emial FROM users;\n")
    first = scan_state(logs, st)
    with app.open("a") as f:
        f.write('HINT:  Perhaps you meant to reference the column "users.email".\n'
                "2026-11-12 10:00:01 INFO next\n")
    second = scan_state(logs, st)
    db = pl.concat([first, second]).filter(pl.col("category") == "db_error")
    assert db.select("rule_id", "line", "end_line").rows() == [("postgres-error-message", 2, 4)]
    assert pl.concat([first, second]).filter(pl.col("rule_id") == "email-address").height == 1


def _cli(*args: str, **kw: object) -> subprocess.Popen[bytes]:
    env = {**os.environ, "LOGAUDIT_KEY": "test-key"}
    return subprocess.Popen([sys.executable, "-m", "logaudit", *args], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kw)  # type: ignore[call-overload]


def test_three_nights_with_state_and_baseline(tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    logs.mkdir()
    app = logs / "app.log"
    st, bl = tmp_path / "state.json", tmp_path / "baseline.json"
    write(app, range(30))
    n1 = tmp_path / "night1.jsonl"
    p = _cli("scan", str(logs), "--state", str(st), "-o", str(n1))
    p.communicate(timeout=120)
    assert p.returncode == 1 and pl.read_ndjson(n1).height == 30
    p = _cli("baseline", "create", str(bl), "--from-report", str(n1), "--why", "known")
    p.communicate(timeout=120)
    assert p.returncode == 0
    write(app, range(30, 37))  # night 2: M = 7 new
    n2 = tmp_path / "night2.jsonl"
    p = _cli("scan", str(logs), "--state", str(st), "--baseline", str(bl), "-o", str(n2))
    _, err = p.communicate(timeout=120)
    assert p.returncode == 1 and pl.read_ndjson(n2).height == 7, err
    app.rename(logs / "app.log.1")  # night 3: rotation, nothing new
    app.touch()
    p = _cli("scan", str(logs), "--state", str(st), "--baseline", str(bl), "--quiet")
    out, err = p.communicate(timeout=120)
    assert p.returncode == 0 and out == b"", (out, err)
    # Without the state, the baseline alone suppresses night 1's findings.
    p = _cli("scan", str(logs), "--baseline", str(bl), "-o", str(tmp_path / "full.jsonl"))
    _, err = p.communicate(timeout=120)
    assert pl.read_ndjson(tmp_path / "full.jsonl").height == 7
    assert b"30 finding(s) suppressed" in err


def test_concurrent_runs_are_locked_out(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.log"
    os.mkfifo(fifo)
    st = tmp_path / "state.json"
    first = _cli("scan", str(fifo), "--state", str(st), "-q")
    try:
        time.sleep(1.5)  # the first run holds the lock, blocked on the FIFO
        second = _cli("scan", str(fifo), "--state", str(st), "-q")
        _, err = second.communicate(timeout=60)
        assert second.returncode == 4
        assert b"another logaudit run holds the state lock" in err
        waiting = _cli("scan", str(tmp_path / "state.json.lock"), "--state", str(st),
                       "--wait", "30", "-q")
        time.sleep(1.0)
        assert waiting.poll() is None  # still waiting for the lock
        with open(fifo, "w") as f:  # let the first run finish
            f.write(line(1))
        first.communicate(timeout=60)
        waiting.communicate(timeout=60)
        assert first.returncode == 1 and waiting.returncode == 0
    finally:
        for p in (first,):
            if p.poll() is None:
                p.kill()


ALL = ("--max-findings-per-rule", "0")  # list every finding: the test counts them


@pytest.mark.slow
def test_sigkill_mid_run_then_clean_run_reports_everything_once(tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    logs.mkdir()
    n = 300_000
    with (logs / "big.log").open("w") as f:
        f.writelines(line(i) for i in range(n))
    st = tmp_path / "state.json"
    out = tmp_path / "report.jsonl"
    for delay in (0.3, 1.0, 2.0):
        p = _cli("scan", str(logs), "--state", str(st), "-o", str(out), "-q", *ALL, "-j", "1")
        time.sleep(delay)
        p.send_signal(signal.SIGKILL)
        p.wait(timeout=30)
        if p.returncode == 1:
            break  # finished before the kill: nothing to recover from
        assert not st.exists(), "state committed by a killed run"
        # a report is either the previous one or complete, never half-written
        assert not out.exists() or pl.read_ndjson(out).height == n
    p = _cli("scan", str(logs), "--state", str(st), "-o", str(out), "-q", *ALL)
    p.communicate(timeout=300)
    df = pl.read_ndjson(out)
    assert df.height == n and df["line"].n_unique() == n
    p = _cli("scan", str(logs), "--state", str(st), "-o", str(out), "-q", *ALL)
    p.communicate(timeout=300)
    assert p.returncode == 0 and out.stat().st_size == 0  # a clean incremental run


def test_first_scan_of_a_large_file_uses_ranges_then_resumes(
        tree: tuple[Path, Path, Path]) -> None:
    logs, app, st = tree
    write(app, range(3000))
    with app.open("a") as f:
        f.write("2026-11-25 partial line being written by bob@exa")  # no newline yet
    kw = {"workers": 2, "split_size": 16 << 10, "max_per_rule": 0}
    tasks: list[int] = []
    first = logaudit.scan([logs], state=str(st), **kw,  # type: ignore[arg-type]
                          progress=lambda e, r, total: tasks.append(total))
    assert tasks[0] > 2  # cut into byte ranges: every core works on the first scan
    whole = logaudit.scan([logs], **kw)  # type: ignore[arg-type]
    assert first.findings["line"].to_list() == list(range(1, 3001))
    assert whole.findings.drop("run_id").rows() == first.findings.drop("run_id").rows()
    first.commit_state()
    entry = json.loads(st.read_text())["entries"][str(app.resolve())]
    assert entry["line"] == 3000 and entry["offset"] == app.stat().st_size - 48
    with app.open("a") as f:
        f.write("mple.com\n")
    write(app, range(5000, 5002))
    second = logaudit.scan([logs], state=str(st), **kw)  # type: ignore[arg-type]
    assert second.findings["line"].to_list() == [3001, 3002, 3003]
