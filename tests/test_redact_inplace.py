"""``redact --in-place``: rename over, metadata kept, and no line lost to a live appender."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from logaudit.redact import redact
from logaudit.runner import TaskResult

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "sample_logs"
KEY = b"test-key-not-secret"
SECRET = "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"


def test_in_place_equals_out_dir_and_keeps_metadata(tmp_path: Path) -> None:
    src = tmp_path / "app.jsonl"
    src.write_bytes((SAMPLES / "app.jsonl").read_bytes())
    os.chmod(src, 0o640)
    os.utime(src, ns=(1_600_000_000_000_000_000, 1_600_000_123_456_789_000))
    owner = os.stat(src).st_uid
    if os.geteuid() == 0:
        owner = 4321
        os.chown(src, owner, 4321)
    inode = os.stat(src).st_ino
    redact([src], out_dir=tmp_path / "o", workers=1, key=KEY)
    res = redact([src], in_place=True, workers=1, key=KEY)
    assert not res.incomplete and res.written == [str(src)] and res.replaced == 7
    assert src.read_bytes() == (tmp_path / "o" / src.relative_to("/")).read_bytes()
    st = os.stat(src)
    assert st.st_ino != inode  # written beside, renamed over
    assert (st.st_mode & 0o7777, st.st_mtime_ns, st.st_uid) == (0o640,
                                                                1_600_000_123_456_789_000, owner)
    assert [p.name for p in tmp_path.iterdir() if p.is_file()] == ["app.jsonl"]
    again = redact([src], in_place=True, workers=1, key=KEY)
    assert again.replaced == 0 and os.stat(src).st_mtime_ns == st.st_mtime_ns


def test_in_place_compressed_keeps_its_codec(tmp_path: Path) -> None:
    import gzip

    src = tmp_path / "app.jsonl.gz"
    src.write_bytes(gzip.compress((SAMPLES / "app.jsonl").read_bytes()))
    res = redact([src], in_place=True, workers=1, key=KEY)
    assert not res.incomplete
    assert b"jane.doe@example.com" not in gzip.decompress(src.read_bytes())
    assert b"j***@example.com" in gzip.decompress(src.read_bytes())


def test_symlink_is_not_followed(tmp_path: Path) -> None:
    target = tmp_path / "secret.txt"
    target.write_text("password=hunter2hunter2\n")
    link = tmp_path / "link.log"
    link.symlink_to(target)
    res = redact([link], in_place=True, workers=1, key=KEY)
    assert target.read_text() == "password=hunter2hunter2\n" and link.is_symlink()
    assert [e.kind for e in res.errors] == ["skipped"] and not res.incomplete


def test_cli_in_place_and_usage(tmp_path: Path) -> None:
    src = tmp_path / "a.log"
    src.write_text("user jane.doe@example.com logged in\n")
    env = {**os.environ, "LOGAUDIT_KEY": "k"}
    r = subprocess.run([sys.executable, "-m", "logaudit", "redact", str(src), "--in-place",
                        "--replace", "label"], capture_output=True, env=env, timeout=120)
    assert r.returncode == 1, r.stderr
    assert src.read_text() == "user [REDACTED:email-address] logged in\n"
    r = subprocess.run([sys.executable, "-m", "logaudit", "redact", "-", "--in-place"],
                       capture_output=True, env=env, timeout=120, input=b"x\n")
    assert r.returncode == 2 and b"destination" in r.stderr


APPENDER = r"""
import sys, time
path, n, hold = sys.argv[1], int(sys.argv[2]), sys.argv[3] == "hold"
f = open(path, "a") if hold else None
print("ready", flush=True)
for i in range(n):
    line = f"appended {i:06d} token={SECRET if i % 3 == 0 else 'none'}\n"
    if hold:
        f.write(line); f.flush()
    else:
        with open(path, "a") as g:  # as `echo >> app.log` does: one open per line
            g.write(line)
    time.sleep(0.001)
""".replace("SECRET", repr(SECRET))


def _big_log(path: Path, lines: int = 200_000) -> None:
    with open(path, "w") as f:
        for i in range(lines):
            f.write(f"2026-01-01T00:00:00Z req {i} ok user=jane.doe@example.com\n"
                    if i % 50 == 0 else f"2026-01-01T00:00:00Z req {i} ok\n")


@pytest.mark.slow
def test_in_place_under_a_live_appender_loses_no_line(tmp_path: Path) -> None:
    src = tmp_path / "app.log"
    _big_log(src)
    n = 3000
    procs: list[subprocess.Popen[bytes]] = []

    def start_appender(event: str, res: TaskResult | None, total: int) -> None:
        if event != "start" or procs:
            return
        p = subprocess.Popen([sys.executable, "-c", APPENDER, str(src), str(n), "reopen"],
                             stdout=subprocess.PIPE)
        assert p.stdout is not None and p.stdout.readline() == b"ready\n"
        procs.append(p)
        while src.stat().st_size == size0:  # the file is growing while it is rewritten
            time.sleep(0.001)

    size0 = src.stat().st_size
    res = redact([src], in_place=True, workers=1, key=KEY, progress=start_appender)
    assert not res.incomplete, res.errors
    procs[0].wait(120)
    lines = src.read_text().splitlines()
    assert len(lines) == 200_000 + n
    appended = [ln for ln in lines if ln.startswith("appended ")]
    ids = [int(ln.split()[1]) for ln in appended]
    assert sorted(ids) == list(range(n))  # every appended line, once
    # in order, except that a line written to the old file in the instant of the rename may
    # follow a few written to the new file just after it (it is appended once its writer closes)
    assert sum(a > b for a, b in zip(ids, ids[1:], strict=False)) <= 1
    assert "jane.doe@example.com" not in "\n".join(lines[:200_000])
    # some appended lines came in while the file was rewritten, and went through redaction
    assert any("ghp_********4xXH" in ln for ln in appended)


@pytest.mark.slow
def test_in_place_refuses_a_file_held_open_for_writing(tmp_path: Path) -> None:
    src = tmp_path / "app.log"
    _big_log(src, 1000)
    p = subprocess.Popen([sys.executable, "-c", APPENDER, str(src), "2000", "hold"],
                         stdout=subprocess.PIPE)
    try:
        assert p.stdout is not None and p.stdout.readline() == b"ready\n"
        res = redact([src], in_place=True, workers=1, key=KEY)
        assert res.incomplete and "held open for writing" in res.errors[0].reason
        assert not res.written
    finally:
        p.wait(120)
    lines = src.read_text().splitlines()
    assert len(lines) == 1000 + 2000  # untouched: the original and every appended line
    assert sum("jane.doe@example.com" in ln for ln in lines) == 20
    assert [p.name for p in tmp_path.iterdir()] == ["app.log"]
