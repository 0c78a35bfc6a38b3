"""Where the runner's tasks run: an :class:`Executor`. :class:`LocalExecutor` (``local``, the
default: this process and a process pool) or :class:`DaskExecutor` (``dask``: a Dask distributed
cluster, an existing scheduler or a ``LocalCluster`` on 127.0.0.1).

Only :class:`~logaudit.runner.Task` records travel to the workers (an input's path or URL and a
byte range): workers open the files or objects themselves, the driver never moves log bytes.
The scan options (compiled rules, key) are scattered to the workers once. Tasks are submitted
with a bounded number in flight and merged as they come back by the runner's own ``collect``,
so ordering, dedup and exit codes are those of the local runner.
"""

from __future__ import annotations

import concurrent.futures
import logging
import multiprocessing.context
import os
import pickle
import time
import uuid
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import Any, Protocol

from logaudit import lifecycle
from logaudit.errors import ConfigError
from logaudit.findings import Finding
from logaudit.runner import (
    Counters,
    ProgressFn,
    ScanOptions,
    Task,
    TaskResult,
    engine_for,
    run,
    run_task,
)
from logaudit.sources.interface import InputError, InputRef

EXECUTORS = ("local", "dask")
DASK_INSTALL = "pip install 'logaudit[dask]'"
# Task exceptions are retried this often; a worker lost mid-task is counted separately by the
# scheduler (``distributed.scheduler.allowed-failures``) before the task is given up.
DEFAULT_RETRIES = 2

# The scheduler's HTTP server (health, metrics) still starts without a dashboard: on a free
# loopback port, not on 8787, which another cluster may hold.
NO_DASHBOARD = {"dashboard": False, "dashboard_address": "127.0.0.1:0"}

TaskFn = Callable[[Task, ScanOptions], TaskResult]

# Small inputs go to a worker in batches: one round trip per 2 KB log costs more than its scan
# (20,000 small files ran 2-4x slower on 2 workers than on 1).
BATCH_BYTES = 4 << 20
BATCH_TASKS = 256
# What a file costs beyond its bytes (open, sniff, result), in bytes of scanning.
FILE_COST = 4096


class Executor(Protocol):
    """Where the runner's tasks run (see :func:`logaudit.runner.run`)."""

    def execute(self, tasks: list[Task], opts: ScanOptions, workers: int,
                collect: Callable[[TaskResult], None]) -> None:
        """Run every task; hand each result to ``collect``, in this thread, as it arrives."""
        ...


def _task_bytes(task: Task) -> int | None:
    end = task.end if task.end is not None else task.ref.size
    return None if end is None else max(end - task.start, 0) + FILE_COST


def batches(tasks: list[Task], workers: int) -> list[list[Task]]:
    """Group consecutive tasks into batches of about the same work, at least ~8 per worker
    so the workers stay evenly busy; a large task or a stream (size unknown) goes alone."""
    sizes = [_task_bytes(t) for t in tasks]
    total = sum(n for n in sizes if n is not None and n < BATCH_BYTES)
    target = max(FILE_COST, min(BATCH_BYTES, total // (max(workers, 1) * 8)))
    out: list[list[Task]] = []
    cur: list[Task] = []
    size = 0
    for task, n in zip(tasks, sizes, strict=True):
        if n is None or n >= target:
            out.append([task])
            continue
        if cur and (size + n > target or len(cur) >= BATCH_TASKS):
            out.append(cur)
            cur, size = [], 0
        cur.append(task)
        size += n
    if cur:
        out.append(cur)
    return out


class _TrackingForkContext(multiprocessing.context.ForkContext):
    """The ``fork`` start method (workers inherit the compiled rules), remembering the
    processes it starts so that they can be ended without the pool's private state."""

    def __init__(self) -> None:
        self.started: list[multiprocessing.context.ForkProcess] = []

    def Process(self, *args: Any, **kwargs: Any) -> multiprocessing.context.ForkProcess:  # type: ignore[override]  # noqa: N802
        proc = multiprocessing.context.ForkProcess(*args, **kwargs)
        self.started.append(proc)
        return proc


LocalTaskFn = Callable[[Task, ScanOptions], TaskResult]

_WORKER: tuple[ScanOptions, LocalTaskFn] | None = None


def _init_worker(opts: ScanOptions, task_fn: LocalTaskFn, parent: int) -> None:
    global _WORKER
    lifecycle.worker_signals()
    lifecycle.die_with_parent(parent)
    _WORKER = (opts, task_fn)


def _run_batch(tasks: list[Task]) -> list[TaskResult]:
    assert _WORKER is not None
    opts, task_fn = _WORKER
    return [task_fn(t, opts) for t in tasks]


def _lost(task: Task, reason: str) -> TaskResult:
    return TaskResult(task.ref.path, errors=[InputError(task.ref.path, reason)],
                      part=task.part, parts=task.parts)


WORKER_DIED = ("a worker process died while scanning it (out of memory or killed); "
               "not scanned, run again")


class LocalExecutor:
    """Runs tasks in this process (one worker, or a single batch) or on a pool of forked
    worker processes. Workers die with this process (see :mod:`logaudit.lifecycle`); an
    interrupt ends them at once; a worker that dies makes its inputs errors (exit 3).
    ``task_fn`` is what runs each task (the scan's :func:`~logaudit.runner.run_task`, or
    redaction's)."""

    def __init__(self, task_fn: LocalTaskFn = run_task) -> None:
        self.task_fn = task_fn

    def execute(self, tasks: list[Task], opts: ScanOptions, workers: int,
                collect: Callable[[TaskResult], None]) -> None:
        """Run ``tasks`` (standard input in this process) and ``collect`` each result."""
        local = [t for t in tasks if t.ref.fs_path is None]
        remote = [t for t in tasks if t.ref.fs_path is not None]
        groups = batches(remote, workers) if workers > 1 else []
        if len(groups) <= 1:
            local, groups = tasks, []
        for t in local:
            collect(self.task_fn(t, opts))
        if groups:
            self._pool(groups, opts, workers, collect)

    def _pool(self, groups: list[list[Task]], opts: ScanOptions, workers: int,
              collect: Callable[[TaskResult], None]) -> None:
        engine_for(opts)  # built once here; forked workers inherit it
        ctx = _TrackingForkContext()
        pool = ProcessPoolExecutor(max_workers=min(workers, len(groups)), mp_context=ctx,
                                   initializer=_init_worker,
                                   initargs=(opts, self.task_fn, os.getpid()))
        owner: dict[Future[list[TaskResult]], list[Task]] = {}
        broken = False

        def take(done: set[Future[list[TaskResult]]]) -> None:
            nonlocal broken
            for fut in done:
                batch = owner.pop(fut)
                try:
                    results = fut.result()
                except BrokenProcessPool:
                    broken = True
                    results = [_lost(t, WORKER_DIED) for t in batch]
                for res in results:
                    collect(res)

        try:
            limit = workers * 2  # bounded in-flight work (backpressure)
            for i, batch in enumerate(groups):
                if broken:
                    for t in batch:
                        collect(_lost(t, WORKER_DIED))
                    continue
                if i == 0:  # the first submit forks the workers
                    with lifecycle.signals_blocked():
                        owner[pool.submit(_run_batch, batch)] = batch
                else:
                    owner[pool.submit(_run_batch, batch)] = batch
                while len(owner) >= limit:
                    take(wait(owner, return_when=FIRST_COMPLETED)[0])
            while owner:
                take(wait(owner, return_when=FIRST_COMPLETED)[0])
        except BaseException:
            _stop(pool, ctx)
            raise
        pool.shutdown(wait=True)


def _stop(pool: ProcessPoolExecutor, ctx: _TrackingForkContext) -> None:
    # Workers ignore SIGINT and may be deep in a large file: end them now rather than wait.
    pool.shutdown(wait=False, cancel_futures=True)
    for p in ctx.started:
        if p.is_alive():
            p.terminate()
    for p in ctx.started:
        if p.pid is None:
            continue  # created, never started (stopped in between)
        p.join(timeout=5)
        if p.is_alive():
            p.kill()
            p.join(timeout=5)


def _import_distributed() -> Any:
    try:
        import distributed
    except ImportError:
        raise ConfigError(f"--executor dask needs Dask distributed: {DASK_INSTALL}") from None
    return distributed


class DaskExecutor:
    """Runs tasks on a Dask cluster; use as a context manager (or :meth:`start`/:meth:`close`).

    ``address``: a scheduler (``tcp://host:8786``); None starts a ``LocalCluster`` of
    ``workers`` single-threaded worker processes on 127.0.0.1 (``allowed_failures`` then sets
    how many worker losses a task survives). ``task_fn`` is what runs on the workers.
    """

    def __init__(
        self,
        address: str | None = None,
        workers: int = 0,
        progress: ProgressFn | None = None,
        retries: int = DEFAULT_RETRIES,
        allowed_failures: int | None = None,
        task_fn: TaskFn = run_task,
    ) -> None:
        self.address = address
        self.workers = workers
        self.progress = progress
        self.retries = retries
        self.allowed_failures = allowed_failures
        self.task_fn = task_fn
        self.client: Any = None
        self._cluster: Any = None
        self._seen_workers = -1
        self._checked = 0.0

    def start(self) -> int:
        """Connect (or start the local cluster); return the cluster's worker threads."""
        distributed = _import_distributed()
        import dask

        try:
            if self.address:
                self.client = distributed.Client(self.address, timeout="30s")
            else:
                # A worker holds only the task it runs: a lost worker costs one task, and
                # costs other tasks no retry.
                cfg: dict[str, Any] = {"distributed.scheduler.worker-saturation": 1.0}
                if self.allowed_failures is not None:
                    cfg["distributed.scheduler.allowed-failures"] = self.allowed_failures
                with dask.config.set(cfg):
                    self._cluster = distributed.LocalCluster(
                        n_workers=self.workers or (os.cpu_count() or 1), threads_per_worker=1,
                        processes=True, host="127.0.0.1", dashboard_address=None,
                        silence_logs=logging.ERROR, scheduler_kwargs=NO_DASHBOARD)
                self.client = distributed.Client(self._cluster)
        except (OSError, TimeoutError, RuntimeError) as e:
            self.close()
            where = f"the scheduler at {self.address}" if self.address else "a local cluster"
            raise ConfigError(f"--executor dask: cannot start or reach {where} "
                              f"({type(e).__name__}); check --scheduler") from None
        return self.slots()

    def slots(self) -> int:
        """Worker threads in the cluster now (at least 1)."""
        threads: dict[str, int] = self.client.nthreads()
        return max(sum(threads.values()), 1)

    def close(self) -> None:
        """Disconnect; stop the local cluster if this executor started it."""
        if self.client is not None:
            self.client.close()
            self.client = None
        if self._cluster is not None:
            self._cluster.close()
            self._cluster = None

    def __enter__(self) -> DaskExecutor:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _report_workers(self, force: bool = False) -> None:
        now = time.monotonic()
        if self.progress is None or (not force and now - self._checked < 1.0):
            return
        self._checked = now
        n = len(self.client.nthreads())
        if n != self._seen_workers:
            self._seen_workers = n
            self.progress("workers", None, n)

    def execute(self, tasks: list[Task], opts: ScanOptions, workers: int,
                collect: Callable[[TaskResult], None]) -> None:
        """Run ``tasks`` on the cluster (standard input here); ``collect`` each result."""
        distributed = _import_distributed()
        for t in tasks:
            if t.ref.fs_path is None:  # standard input can only be read by this process
                collect(run_task(t, opts))
        remote = [t for t in tasks if t.ref.fs_path is not None]
        if not remote:
            return
        client = self.client
        self._report_workers(force=True)
        # The options (compiled rules, ~0.4 MB pickled) go to the cluster once, as a task of
        # their own rather than scattered data: a task's inputs are kept by the scheduler, so
        # the options are rebuilt if every worker holding them dies (scattered data would be
        # lost for good, and every task after it with it).
        shared = client.submit(pickle.loads, pickle.dumps(opts), pure=False,
                               key=f"logaudit-opts-{uuid.uuid4().hex[:8]}")
        # On every worker from the start: else the first tasks all go where the options were
        # built (data locality) and the other workers wait for work stealing.
        if client.nthreads():  # a cluster with no worker yet has nowhere to copy them
            client.replicate([shared])
        limit = max(2 * self.slots(), 4)  # bounded in-flight work (backpressure)
        tag = uuid.uuid4().hex[:8]
        owner: dict[Any, Task] = {}
        todo = iter(enumerate(remote))

        def submit() -> Any:
            nxt = next(todo, None)
            if nxt is None:
                return None
            i, task = nxt
            fut = client.submit(_on_worker, self.task_fn, task, shared, retries=self.retries,
                                key=f"logaudit-{tag}-{i}", pure=False)
            owner[fut] = task
            return fut

        first = [f for f in (submit() for _ in range(limit)) if f is not None]
        queue = distributed.as_completed(first)
        try:
            for fut in queue:
                task = owner.pop(fut)
                collect(self._result(fut, task))
                fut.release()
                nxt = submit()
                if nxt is not None:
                    queue.add(nxt)
                self._report_workers()
        except BaseException:
            client.cancel(list(owner), force=True)
            raise
        finally:
            shared.release()

    def _result(self, fut: Any, task: Task) -> TaskResult:
        try:
            return fut.result()  # type: ignore[no-any-return]
        except Exception as exc:
            return _lost(task, dask_failure(exc, self.retries))


def dask_failure(exc: Exception, retries: int) -> str:
    """Why a task failed on a Dask cluster, by the exception's type (never its message,
    which could quote input bytes)."""
    killed = getattr(_import_distributed(), "KilledWorker", ())
    if killed and isinstance(exc, killed):
        return ("a Dask worker died on every attempt at it (lost, out of memory or killed); "
                "not scanned")
    if isinstance(exc, concurrent.futures.CancelledError):  # FutureCancelledError too
        return "cancelled on the Dask cluster (workers or scheduler lost); not scanned"
    return f"failed on a Dask worker after {retries + 1} attempt(s) ({type(exc).__name__})"


def _on_worker(task_fn: TaskFn, task: Task, opts: ScanOptions) -> TaskResult:
    return task_fn(task, opts)


def run_with(
    executor: str,
    items: Iterable[InputRef | InputError | Task],
    opts: ScanOptions,
    workers: int,
    progress: ProgressFn | None = None,
    scheduler: str | None = None,
) -> tuple[list[Finding], list[InputError], Counters]:
    """:func:`logaudit.runner.run` on the chosen executor (``local`` or ``dask``).

    For ``dask``, ``scheduler`` (else ``DASK_SCHEDULER_ADDRESS``) names the cluster; without
    one a ``LocalCluster`` of ``workers`` processes is started on 127.0.0.1 and stopped after.
    """
    if executor == "local":
        return run(items, opts, workers, progress, execute=LocalExecutor().execute)
    if executor != "dask":
        raise ConfigError(f"--executor: expected one of {', '.join(EXECUTORS)}, "
                          f"not {executor!r}")
    address = scheduler or os.environ.get("DASK_SCHEDULER_ADDRESS") or None
    with DaskExecutor(address, workers, progress) as ex:
        return run(items, opts, ex.slots(), progress, execute=ex.execute)
