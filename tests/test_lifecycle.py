"""Fault injection: a real ``-j2 --state`` scan killed (SIGKILL, SIGTERM) at several moments.

After each kill: no process of the run is left, the state lock is free, the previous report and
state are byte for byte intact; the next run reports every new finding exactly once.
"""

from __future__ import annotations

import fcntl
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import polars as pl
import pytest

from logaudit import lifecycle
from logaudit.executors import batches
from logaudit.runner import Task
from logaudit.sources.interface import InputRef
from logaudit.state import state_lock

ROOT = Path(__file__).resolve().parent.parent


def line(i: int) -> str:
    """A log line holding one unique e-mail finding."""
    return f"2026-11-{1 + i % 28:02d}T10:00:00Z INFO signup user{i}@example.com ok\n"


def _env() -> dict[str, str]:
    return {**os.environ, "LOGAUDIT_KEY": "k", "PYTHONPATH": str(ROOT)}


def _children(pid: int) -> list[int]:
    """Live processes whose parent is ``pid``."""
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            stat = Path(f"/proc/{d}/stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[1]) == pid and fields[0] != "Z":
            out.append(int(d))
    return out


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def _cpu_ticks(pid: int) -> int:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0
    return int(fields[11]) + int(fields[12])


def _poll(cond: Callable[[], bool], proc: subprocess.Popen[bytes], limit: float = 60) -> bool:
    """Wait until ``cond()`` (True) or the run ends (False)."""
    end = time.monotonic() + limit
    while time.monotonic() < end:
        if cond():
            return True
        if proc.poll() is not None:
            return False
        time.sleep(0.005)
    raise AssertionError("the moment to kill at never came")


def _lock_is_free(state: Path) -> bool:
    fd = os.open(f"{state}.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except OSError:
        return False
    finally:
        os.close(fd)


class Tree:
    def __init__(self, tmp: Path) -> None:
        self.logs = tmp / "logs"
        self.logs.mkdir()
        self.out_dir = tmp / "reports"
        self.out_dir.mkdir()
        self.out = self.out_dir / "report.jsonl"
        self.state = tmp / "state.json"
        self.big = self.logs / "big.log"
        self.n = 0
        self.big_lines = 0

    def add(self, big: int, small: int) -> set[tuple[str, int]]:
        """Append ``big`` lines to big.log and write ``small`` new one-line files; return the
        (path, line) of each new finding."""
        with self.big.open("a") as f:
            f.writelines(line(self.n + i) for i in range(big))
        new = {(str(self.big), self.big_lines + i + 1) for i in range(big)}
        self.n += big
        self.big_lines += big
        for _ in range(small):
            path = self.logs / f"s{self.n:07d}.log"
            path.write_text(line(self.n))
            new.add((str(path), 1))
            self.n += 1
        return new

    def cmd(self) -> list[str]:
        return [sys.executable, "-m", "logaudit", "scan", str(self.logs), "--state",
                str(self.state), "-o", str(self.out), "-q", "-j", "2",
                "--max-findings-per-rule", "0"]


def _moments(tree: Tree, proc: subprocess.Popen[bytes]) -> dict[str, Callable[[], bool]]:
    pid = proc.pid
    lock = Path(f"{tree.state}.lock")

    def planning() -> bool:  # the lock is taken (pid written) before inputs are planned
        try:
            return lock.read_text().strip() == str(pid)
        except OSError:
            return False

    def pool_started() -> bool:
        return bool(_children(pid))

    def mid_scan() -> bool:
        return any(_cpu_ticks(c) > 30 for c in _children(pid))

    def writing_report() -> bool:
        return any(p.name != tree.out.name for p in tree.out_dir.iterdir())

    return {"planning": planning, "pool start": pool_started, "mid-scan": mid_scan,
            "writing the report": writing_report}


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM, signal.SIGINT],
                         ids=["SIGKILL", "SIGTERM", "SIGINT"])
def test_killed_scan_loses_nothing(tmp_path: Path, sig: int) -> None:
    tree = Tree(tmp_path)
    tree.add(big=20_000, small=200)
    first = subprocess.run(tree.cmd(), env=_env(), capture_output=True, timeout=300)
    assert first.returncode == 1, first.stderr
    report, state = tree.out.read_bytes(), tree.state.read_bytes()
    new = tree.add(big=40_000, small=400)
    killed = 0
    for moment in ("planning", "pool start", "mid-scan", "writing the report"):
        proc = subprocess.Popen(tree.cmd(), env=_env(), stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE)
        try:
            reached = _poll(_moments(tree, proc)[moment], proc)
            kids = _children(proc.pid)
            if reached:
                proc.send_signal(sig)
            _, err = proc.communicate(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
        if not reached or proc.returncode in (0, 1):
            continue  # it finished first: nothing to recover from at this moment
        killed += 1
        if sig in (signal.SIGTERM, signal.SIGINT):
            code, word = ((lifecycle.EXIT_TERMINATED, b"terminated") if sig == signal.SIGTERM
                          else (130, b"interrupted"))
            assert proc.returncode == code, (moment, err)
            assert b"Traceback" not in err and len(err.strip().splitlines()) == 1, err
            assert word in err
        for _ in range(500):  # the kernel ends orphaned workers at once; allow for scheduling
            if not any(_alive(k) for k in kids):
                break
            time.sleep(0.01)
        assert not any(_alive(k) for k in kids), f"workers left after a kill at {moment}"
        assert _lock_is_free(tree.state), moment
        assert tree.out.read_bytes() == report, f"report changed by a kill at {moment}"
        assert tree.state.read_bytes() == state, f"state changed by a kill at {moment}"
        stray = [p.name for p in tree.out_dir.iterdir() if p.name != tree.out.name]
        for name in stray:  # a SIGKILL may leave the writer's temporary file, never a report
            assert name.startswith("."), name
            (tree.out_dir / name).unlink()
    assert killed >= 3
    done = subprocess.run(tree.cmd(), env=_env(), capture_output=True, timeout=300)
    assert done.returncode == 1, done.stderr
    df = pl.read_ndjson(tree.out)
    assert df.height == len(new)  # every new finding, exactly once
    assert set(df.select("path", "line").iter_rows()) == new


def test_a_worker_killed_mid_scan_makes_the_scan_incomplete(tmp_path: Path) -> None:
    tree = Tree(tmp_path)
    new = tree.add(big=60_000, small=100)
    proc = subprocess.Popen(tree.cmd(), env=_env(), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    try:
        assert _poll(_moments(tree, proc)["mid-scan"], proc)
        busy = max(_children(proc.pid), key=_cpu_ticks)
        os.kill(busy, signal.SIGKILL)  # the OOM killer picks a worker
        _, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 3, err  # fail closed: never "clean" about what was not read
    assert b"worker process died" in err and b"Traceback" not in err
    first = pl.read_ndjson(tree.out)
    again = subprocess.run(tree.cmd(), env=_env(), capture_output=True, timeout=300)
    assert again.returncode == 1, again.stderr  # what was lost is scanned by the next run
    both = pl.concat([first, pl.read_ndjson(tree.out)])
    assert both.height == len(new) and set(both.select("path", "line").iter_rows()) == new


def test_forked_workers_do_not_hold_the_state_lock(tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    lock = os.path.realpath(f"{state}.lock")
    with state_lock(str(state)):
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:
            held = any(os.path.realpath(f"/proc/self/fd/{fd}") == lock
                       for fd in os.listdir("/proc/self/fd"))
            os.write(w, b"held" if held else b"free")
            os._exit(0)
        os.close(w)
        os.waitpid(pid, 0)
        assert os.read(r, 10) == b"free"
        os.close(r)
        assert any(os.path.realpath(f"/proc/self/fd/{fd}") == lock
                   for fd in os.listdir("/proc/self/fd"))  # the parent still holds it


def test_lock_is_free_once_the_holder_dies_even_if_its_child_lives(tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    code = ("import os, sys, time\n"
            "from logaudit.state import state_lock\n"
            "with state_lock(sys.argv[1]):\n"
            "    if os.fork() == 0:\n"
            "        time.sleep(30); os._exit(0)\n"
            "    print('locked', flush=True); time.sleep(30)\n")
    proc = subprocess.Popen([sys.executable, "-c", code, str(state)], env=_env(),
                            stdout=subprocess.PIPE, start_new_session=True)
    try:
        assert proc.stdout is not None and proc.stdout.readline() == b"locked\n"
        assert not _lock_is_free(state)
        kids = _children(proc.pid)
        assert kids
        proc.kill()
        proc.wait(timeout=10)
        assert _lock_is_free(state)  # the forked child lives on, without the lock
    finally:
        os.killpg(proc.pid, signal.SIGKILL)


def test_batches_group_small_files_and_keep_large_ones_alone() -> None:
    small = [Task(InputRef(f"s{i}", f"s{i}", 1000)) for i in range(1000)]
    big = Task(InputRef("big", "big", 100 << 20))
    stream = Task(InputRef("fifo", "fifo", None))
    groups = batches([*small[:500], big, stream, *small[500:]], workers=2)
    assert [big] in groups and [stream] in groups
    flat = [t for g in groups for t in g]
    assert sorted(t.ref.path for t in flat) == sorted(t.ref.path for t in [*small, big, stream])
    assert 16 <= len(groups) < 200  # batched, yet enough batches to keep 2 workers busy
