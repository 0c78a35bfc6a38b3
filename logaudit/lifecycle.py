"""Process lifecycle: every process we start dies with us, and SIGTERM stops a run like Ctrl-C.

- A worker asks the kernel to kill it when its parent dies (Linux ``PR_SET_PDEATHSIG``), and
  also watches its parent from a thread (other systems, and the moment before the request took
  effect): a ``kill -9`` or an OOM kill of the main process never leaves workers behind.
- Descriptors registered with :func:`parent_only` (the ``--state`` lock) are closed in every
  child right after ``fork``: a ``flock`` is held by an open file description, which a forked
  worker would otherwise share, keeping the lock after the main process died.
- :func:`terminate_raises` turns SIGTERM into :class:`Terminated` in the main thread, so the
  same clean-up as for Ctrl-C runs (workers stopped, nothing half-written, no state saved).
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import os
import signal
import sys
import threading
import time
from collections.abc import Iterator
from types import FrameType

PR_SET_PDEATHSIG = 1
EXIT_TERMINATED = 128 + signal.SIGTERM  # 143, what a shell reports for a SIGTERM death
WATCH_INTERVAL = 0.5

_PARENT_ONLY: set[int] = set()


class Terminated(BaseException):
    """The run received SIGTERM. Like ``KeyboardInterrupt``, not an ``Exception``: nothing
    catches it on the way, so workers are stopped and no partial result is kept."""


class Interrupted(BaseException):
    """The run received Ctrl-C (SIGINT). Not a ``KeyboardInterrupt``: typer turns that into a
    silent exit 130, and the user would not be told that nothing was written."""


def parent_only(fd: int) -> None:
    """Close ``fd`` in every process forked from now on (until :func:`release`)."""
    _PARENT_ONLY.add(fd)


def release(fd: int) -> None:
    """Stop closing ``fd`` in forked children (call before closing it)."""
    _PARENT_ONLY.discard(fd)


def _close_in_child() -> None:
    for fd in _PARENT_ONLY:
        with contextlib.suppress(OSError):
            os.close(fd)
    _PARENT_ONLY.clear()


os.register_at_fork(after_in_child=_close_in_child)


def _pdeathsig(sig: int) -> bool:
    """Ask Linux to send ``sig`` to this process when its parent thread exits."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        return bool(libc.prctl(PR_SET_PDEATHSIG, sig, 0, 0, 0) == 0)
    except (OSError, AttributeError):
        return False


def die_with_parent(parent_pid: int) -> None:
    """Make this (worker) process end when ``parent_pid``, its parent, ends.

    Called first thing in a worker. The kernel request covers a parent killed by any signal;
    the check after it covers a parent that died before the request was made, and the watch
    thread covers systems without ``prctl``.
    """
    _pdeathsig(signal.SIGKILL)
    if os.getppid() != parent_pid:
        os._exit(1)

    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(WATCH_INTERVAL)
        os._exit(1)

    threading.Thread(target=watch, name="logaudit-parent-watch", daemon=True).start()


_STOP_SIGNALS = {signal.SIGINT, signal.SIGTERM}
_deferring = False
_holding: list[int] | None = None


@contextlib.contextmanager
def signals_blocked() -> Iterator[None]:
    """Hold Ctrl-C and SIGTERM back while workers are forked: a child inherits the block and
    receives them only once :func:`worker_signals` has set its own dispositions (a signal
    sent to the process group in between would otherwise raise in the child's start-up).

    The mask is per thread: the kernel may hand the signal to another thread of this process
    (a library's thread pool), and Python would then run the handler in the main thread in
    the middle of the block — between a worker's creation and its start. So the handler also
    only notes a signal within the block, and it is raised when the block ends.
    """
    global _holding
    old = signal.pthread_sigmask(signal.SIG_BLOCK, _STOP_SIGNALS)
    outer = _holding
    if outer is None:
        _holding = []
    try:
        yield
    finally:
        held = _holding
        _holding = outer
        signal.pthread_sigmask(signal.SIG_SETMASK, old)
        if outer is None and held:
            raise Terminated() if signal.SIGTERM in held else Interrupted()


def worker_signals() -> None:
    """Signal dispositions for a worker, then unblock them (see :func:`signals_blocked`):
    Ctrl-C is the main process's to handle (it stops the pool), and SIGTERM kills at once (a
    handler inherited through ``fork`` would raise inside the worker, which a process pool
    reports and survives)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, _STOP_SIGNALS)


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    if _deferring:
        return  # inside uninterrupted(): the run finishes, its work saved
    if _holding is not None:
        _holding.append(signum)  # inside signals_blocked(): raised at its end
        return
    raise Terminated() if signum == signal.SIGTERM else Interrupted()


@contextlib.contextmanager
def terminate_raises() -> Iterator[None]:
    """Within the block, SIGTERM raises :class:`Terminated` and Ctrl-C :class:`Interrupted`
    (unless Ctrl-C was ignored when the process started, as for a background job). Main
    thread only; elsewhere a no-op, since Python delivers signals to the main thread."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    old = signal.signal(signal.SIGTERM, _on_sigterm)
    old_int = signal.getsignal(signal.SIGINT)
    if old_int is not signal.SIG_IGN:
        signal.signal(signal.SIGINT, _on_sigterm)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, old)
        if old_int is not signal.SIG_IGN:
            signal.signal(signal.SIGINT, old_int)


@contextlib.contextmanager
def uninterrupted() -> Iterator[None]:
    """Defer SIGTERM and Ctrl-C for a short step that must not be cut in two (the state commit
    after the report is stored). The run then finishes normally: its work is saved."""
    global _deferring
    old_int = None
    if threading.current_thread() is threading.main_thread():
        old_int = signal.signal(signal.SIGINT, _on_sigterm)
    _deferring = True
    try:
        yield
    finally:
        _deferring = False
        if old_int is not None:
            signal.signal(signal.SIGINT, old_int)
