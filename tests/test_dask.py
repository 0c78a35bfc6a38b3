"""The Dask executor on a loopback ``LocalCluster(n_workers=2, processes=True)``: the same inputs
give the same rows whichever executor ran them; a worker killed mid-task is retried and its
findings are reported exactly once; a task that fails every attempt is listed (exit 3)."""

from __future__ import annotations

import functools
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

distributed = pytest.importorskip("distributed", reason="needs pip install 'logaudit[dask]'")
pytest.importorskip("s3fs", reason="needs the s3 extra: pip install 'logaudit[s3]'")
pytest.importorskip("moto", reason="needs moto[server] (test extra)")

import cloudpickle  # noqa: E402
import dask  # noqa: E402
from moto_s3 import BUCKET, S3, jsonl_rows, rows  # noqa: E402

from logaudit.api import scan  # noqa: E402
from logaudit.errors import ConfigError  # noqa: E402
from logaudit.executors import NO_DASHBOARD, DaskExecutor  # noqa: E402
from logaudit.runner import ScanOptions, Task, TaskResult, run, run_task  # noqa: E402
from logaudit.sources.remote import freeze, with_endpoint  # noqa: E402
from logaudit.sources.walk import discover  # noqa: E402

# The task functions below run on the workers: ship them by value, not by module name.
cloudpickle.register_pickle_by_value(sys.modules[__name__])

SPLIT = 64 << 10
pytestmark = pytest.mark.slow




@pytest.fixture(scope="module")
def cluster(s3: S3) -> Iterator[str]:
    """A two-process Dask cluster on 127.0.0.1; a task survives one lost worker. Workers hold
    only the task they run, so a killed worker takes no bystander task with it."""
    with dask.config.set({"distributed.scheduler.allowed-failures": 1,
                          "distributed.scheduler.worker-saturation": 1.0}):
        lc = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                      host="127.0.0.1", dashboard_address=None,
                                      scheduler_kwargs=NO_DASHBOARD)
    try:
        yield str(lc.scheduler_address)
    finally:
        lc.close()






def test_dask_s3_scan_same_rows_as_local(s3: S3, cluster: str, local_tree: Path) -> None:
    url = f"s3://{BUCKET}/"
    events: list[tuple[str, int]] = []
    on_dask = scan([url], executor="dask", scheduler=cluster, split_size=SPLIT,
                   progress=lambda e, r, n: events.append((e, n)))
    on_local = scan([url], workers=2, split_size=SPLIT)
    from_disk = scan([str(local_tree)], workers=2, split_size=SPLIT)
    assert not on_dask.errors
    assert rows(on_dask, url) == rows(on_local, url) == rows(from_disk, f"{local_tree}/")
    assert on_dask.counters.bytes_scanned == from_disk.counters.bytes_scanned
    assert ("workers", 2) in events
    total = next(n for e, n in events if e == "start")
    assert sum(e == "done" for e, _ in events) == total > len(s3.objects)  # ranges were split




def test_cli_executor_dask_same_findings(s3: S3, cluster: str, local_tree: Path) -> None:
    env = {**os.environ, "LOGAUDIT_KEY": "test-key", "DASK_SCHEDULER_ADDRESS": cluster}

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "logaudit", "scan", *args, "-f", "jsonl"],
                              capture_output=True, text=True, env=env, timeout=300)

    got = cli(f"s3://{BUCKET}/", "--executor", "dask")  # address from DASK_SCHEDULER_ADDRESS
    want = cli(str(local_tree), "-j", "1")
    assert got.returncode == want.returncode == 1, got.stderr
    assert jsonl_rows(got.stdout, f"s3://{BUCKET}/") == jsonl_rows(want.stdout, f"{local_tree}/")


def _opts(paths: list[str]) -> ScanOptions:
    from logaudit.rules import RuleSelection, select_rules

    return ScanOptions(rules=tuple(select_rules(RuleSelection())), run_id="r", key=b"k",
                       split_size=SPLIT, storage_options=freeze(with_endpoint(paths, {})))


def _kill_first_attempt(marker: str, task: Task, opts: ScanOptions) -> TaskResult:
    """Kills its own worker process the first time it runs the chosen task."""
    if task.ref.path.endswith("payment_service.log") and not os.path.exists(marker):
        Path(marker).write_text(str(os.getpid()))
        os.kill(os.getpid(), signal.SIGKILL)
    return run_task(task, opts)


def _kill_always(task: Task, opts: ScanOptions) -> TaskResult:
    if task.ref.path.endswith("payment_service.log"):
        os.kill(os.getpid(), signal.SIGKILL)
    return run_task(task, opts)


def _raise_always(task: Task, opts: ScanOptions) -> TaskResult:
    if task.ref.path.endswith("syslog.log.gz"):
        raise ValueError("boom")
    return run_task(task, opts)


def _scan(cluster: str, fn: Any) -> tuple[list[Any], list[Any]]:
    paths = [f"s3://{BUCKET}/"]
    opts = _opts(paths)
    with DaskExecutor(cluster, task_fn=fn) as ex:
        findings, errors, _ = run(discover(paths, storage_options=dict(opts.storage_options)),
                                  opts, ex.slots(), execute=ex.execute)
    return findings, errors


def test_worker_killed_mid_task_findings_exactly_once(cluster: str, tmp_path: Path) -> None:
    marker = tmp_path / "killed"
    paths = [f"s3://{BUCKET}/"]
    opts = _opts(paths)
    want, want_errors, _ = run(discover(paths, storage_options=dict(opts.storage_options)),
                               opts, 1)
    got, errors = _scan(cluster, functools.partial(_kill_first_attempt, str(marker)))
    assert marker.exists()  # a worker really died mid-task
    assert not errors and not want_errors
    assert got == want
    assert any(f.path.endswith("payment_service.log") for f in got)


def test_task_lost_on_every_attempt_is_listed(cluster: str) -> None:
    findings, errors = _scan(cluster, _kill_always)
    assert [e.path for e in errors] == [f"s3://{BUCKET}/app/payment_service.log"]
    assert "died on every attempt" in errors[0].reason and errors[0].kind == "error"
    assert findings and not any(f.path.endswith("payment_service.log") for f in findings)


def test_task_raising_on_every_retry_is_listed(cluster: str) -> None:
    _, errors = _scan(cluster, _raise_always)
    assert [e.path for e in errors] == [f"s3://{BUCKET}/app/syslog.log.gz"]
    assert "ValueError" in errors[0].reason and "boom" not in errors[0].reason


def test_local_cluster_started_without_address(tmp_path: Path) -> None:
    (tmp_path / "a.log").write_text("password=Xk9mQ2vLp7wRt4zz\n" * 3)
    res = scan([str(tmp_path)], executor="dask", workers=1)
    assert res.findings.drop("run_id").equals(scan([str(tmp_path)]).findings.drop("run_id"))


def test_missing_dask_is_config_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setitem(sys.modules, "distributed", None)
    with pytest.raises(ConfigError, match=r"pip install 'logaudit\[dask\]'"):
        scan([str(tmp_path)], executor="dask")


def test_unknown_executor_is_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="^executor: expected one of local, dask"):
        scan([str(tmp_path)], executor="spark")
