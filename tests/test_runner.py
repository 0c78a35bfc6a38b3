"""The runner: byte ranges, worker pool, deterministic output, progress, Ctrl-C, memory."""

from __future__ import annotations

import os
import pickle
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from archive_builders import gz, seed
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from logaudit.findings import Finding
from logaudit.rules import load_rule_file
from logaudit.runner import ScanOptions, Task, TaskResult, plan, run, run_task
from logaudit.sources.interface import InputError, InputRef
from logaudit.sources.walk import discover

ROOT = Path(__file__).resolve().parent.parent
RULES = tuple(load_rule_file(ROOT / "patterns" / "pii" / "pii.toml"))


def opts(**kw: object) -> ScanOptions:
    return ScanOptions(rules=RULES, run_id="t", key=b"k", **kw)  # type: ignore[arg-type]


def scan(paths: list[Path], workers: int = 1, **kw: object
         ) -> tuple[list[Finding], list[InputError]]:
    f, e, _ = run(discover([str(p) for p in paths]), opts(**kw), workers)
    return f, e


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("corpus")
    long_line = b"x" * 5000 + b" mail=ann.lee@example.com " + b"y" * 3000 + b"\n"
    (d / "big.log").write_bytes((seed("app") + long_line + seed("web") + b"\n") * 30)
    (d / "tail.log").write_bytes(seed("web") * 20)  # no newline at the very end
    (d / "small.log.gz").write_bytes(gz(seed("app")))
    return d


@pytest.fixture(scope="module")
def whole(corpus: Path) -> list[Finding]:
    found, errors = scan([corpus], max_line=1 << 16)
    assert errors == [] and len(found) > 100
    return found


@pytest.mark.parametrize(("workers", "split"), [(1, 4096), (2, 4096), (3, 1000), (2, 777)])
def test_output_identical_whatever_workers_and_ranges(corpus: Path, whole: list[Finding],
                                                      workers: int, split: int) -> None:
    found, errors = scan([corpus], workers, split_size=split, block_size=2048, max_line=1 << 16)
    assert errors == []
    assert found == whole


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(split=st.integers(min_value=1, max_value=50_000),
       block=st.integers(min_value=64, max_value=70_000))
def test_ranges_keep_line_numbers(corpus: Path, whole: list[Finding], split: int,
                                  block: int) -> None:
    found, _ = scan([corpus], split_size=split, block_size=block, max_line=1 << 16)
    assert found == whole


def test_plan_splits_only_large_plain_files(corpus: Path) -> None:
    o = opts(split_size=4096)
    big = corpus / "big.log"
    tasks = plan(InputRef(str(big), str(big), big.stat().st_size), o)
    assert len(tasks) > 2 and tasks[0].start == 0 and tasks[-1].end is None
    assert all(a.end == b.start for a, b in zip(tasks, tasks[1:], strict=False))
    gzp = corpus / "small.log.gz"
    assert len(plan(InputRef(str(gzp), str(gzp), 10**9), o)) == 1


def test_task_and_result_are_picklable(corpus: Path) -> None:
    big = corpus / "big.log"
    task = Task(InputRef(str(big), str(big), big.stat().st_size), 0, 9000, part=0, parts=3)
    assert pickle.loads(pickle.dumps(task)) == task
    res = run_task(task, opts())
    assert isinstance(res, TaskResult) and res.lines > 0
    assert pickle.loads(pickle.dumps(res)) == res


def test_progress_events(corpus: Path) -> None:
    events: list[tuple[str, int]] = []
    run(discover([str(corpus)]), opts(split_size=4096), 2,
        lambda ev, res, total: events.append((ev, total)))
    assert events[0][0] == "start"
    total = events[0][1]
    assert [e for e, _ in events[1:]] == ["done"] * total


def test_vanished_file_makes_the_scan_incomplete(tmp_path: Path) -> None:
    p = tmp_path / "gone.log"
    p.write_bytes(seed("web"))
    items = list(discover([str(tmp_path)]))
    p.unlink()
    _, errors, _ = run(items, opts(), 1)
    assert [(e.kind, "vanished" in e.reason) for e in errors] == [("error", True)]


def test_unreadable_file_is_an_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    p = tmp_path / "locked.log"
    p.write_bytes(seed("web"))
    real_open = open

    def deny(path: object, *a: object, **k: object) -> object:
        if str(path) == str(p):
            raise PermissionError(13, "Permission denied")
        return real_open(path, *a, **k)  # type: ignore[call-overload]

    monkeypatch.setattr("builtins.open", deny)
    _, errors, counters = run(discover([str(tmp_path)]), opts(), 1)
    assert errors == [InputError(str(p), "cannot open: Permission denied; check that it is "
                                 "readable")]
    assert counters.inputs_failed == 1


def test_growing_file_is_read_to_its_end(tmp_path: Path) -> None:
    p = tmp_path / "grow.log"
    p.write_bytes(seed("app") * 10)
    items = list(discover([str(p)]))  # size recorded now
    with open(p, "ab") as f:
        f.write(b"later: bob@example.org\n")
    found, errors, _ = run(items, opts(split_size=2048), 2)
    assert errors == []
    assert any("b**@example.org" in f.match or "example.org" in f.match for f in found)


def _env() -> dict[str, str]:
    return {**os.environ, "LOGAUDIT_KEY": "k", "PYTHONPATH": str(ROOT)}


def test_ctrl_c_stops_cleanly_and_writes_nothing(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    (tmp_path / "a.log").write_bytes(seed("app"))
    out = tmp_path / "report.jsonl"
    proc = subprocess.Popen(
        [sys.executable, "-m", "logaudit", "scan", str(fifo), str(tmp_path / "a.log"),
         "-o", str(out), "--workers", "2"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=_env(), start_new_session=True)
    with open(fifo, "wb") as w:  # returns once the scan has opened the FIFO
        w.write(seed("web"))
        w.flush()
        os.killpg(proc.pid, signal.SIGINT)  # what the terminal does on Ctrl-C
        _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert not out.exists()
    assert b"Traceback" not in err


def _peak_rss_mib(code: str) -> float:
    """Run ``code`` in a fresh interpreter; its own peak RSS (MiB), read inside the child from
    VmHWM. (``ru_maxrss`` would not do: Linux carries it across fork+exec, so the child would
    report this whole test session's peak.)"""
    probe = ("\nfor _l in open('/proc/self/status'):\n"
             "    if _l.startswith('VmHWM:'):\n        print('PEAK', _l.split()[1])\n")
    out = subprocess.run([sys.executable, "-c", code + probe], check=True, env=_env(),
                         capture_output=True, text=True).stdout
    return int(out.rsplit("PEAK", 1)[1]) / 1024


SCAN_CODE = """
from pathlib import Path
from logaudit.rules import load_rule_file
from logaudit.runner import ScanOptions, run
from logaudit.sources.walk import discover
rules = tuple(load_rule_file(Path({rules!r})))
f, e, c = run(discover([{path!r}]), ScanOptions(rules=rules, run_id="t", key=b"k"), 1)
assert c.inputs_scanned == 1, (e, c)
"""


@pytest.mark.slow
def test_memory_bounded_on_a_huge_line_and_a_bomb(tmp_path: Path) -> None:
    rules = str(ROOT / "patterns" / "pii" / "pii.toml")
    line = tmp_path / "one_line.log"
    with open(line, "wb") as f:
        piece = b"a=1 b=2 " * (1 << 17)  # 1 MiB, no newline
        for _ in range(384):
            f.write(piece)
    assert _peak_rss_mib(SCAN_CODE.format(rules=rules, path=str(line))) < 512
    bomb = tmp_path / "bomb.gz"
    import isal.igzip as ig

    with ig.open(bomb, "wb", compresslevel=3) as f:
        chunk = b"2026-01-01 INFO heartbeat ok\n" * (1 << 15)
        for _ in range(1 << 10):  # ~ 950 MB decompressed, ~1000:1
            f.write(chunk)
    assert _peak_rss_mib(SCAN_CODE.format(rules=rules, path=str(bomb))) < 512
