"""Writing the files users name (``-o``, ``--state``, ``--baseline``): atomically, through
symbolic links, and onto devices.

* The final path is resolved first, link by link: a report written through a symlink replaces
  the file the link points to, and the link stays a link.
* A regular file (or a new one) is written to a temporary file *beside the target* (same
  directory, so same file system), fsynced and renamed over it: a run killed at any moment leaves
  the old file or the new one, never half of one. An existing file keeps its permission bits.
* A device, a FIFO, or a ``/dev/fd``/``/proc/*/fd`` link (``-o /dev/stdout``, ``/dev/null``,
  ``/dev/full``) is written directly, never renamed over: replacing ``/dev/stdout`` with a
  regular file (as root) would break the system, not write the report.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import shutil
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path

# Directories whose entries are file-descriptor links: write through them, never rename.
_FD_DIRS = re.compile(r"^/(?:proc/[^/]+|dev)/fd$")
_MAX_LINKS = 40


def resolve(path: str | os.PathLike[str]) -> tuple[str, bool]:
    """``(final path, direct)``: the path ``path`` leads to after every symbolic link, and
    whether it must be written in place (a file-descriptor link) rather than replaced.

    Raises :class:`OSError` (``ELOOP``) on a symlink loop.
    """
    p = os.path.abspath(os.fspath(path))
    for _ in range(_MAX_LINKS):
        parent = os.path.realpath(os.path.dirname(p))
        p = os.path.join(parent, os.path.basename(p))
        if _FD_DIRS.match(parent):
            return os.fspath(path), True
        if not os.path.islink(p):
            return p, False
        p = os.path.normpath(os.path.join(parent, os.readlink(p)))
    raise OSError(errno.ELOOP, "too many levels of symbolic links", os.fspath(path))


def _writes_in_place(target: str) -> bool:
    """True for an existing target that is not a regular file (device, FIFO, socket)."""
    try:
        st = os.stat(target)
    except FileNotFoundError:
        return False
    if stat.S_ISDIR(st.st_mode):
        raise IsADirectoryError(errno.EISDIR, "is a directory", target)
    return not stat.S_ISREG(st.st_mode)


def _copy_into(src: Path, target: str) -> None:
    """Copy ``src`` into an existing device/FIFO/fd link, without creating or renaming."""
    fd = os.open(target, os.O_WRONLY | os.O_APPEND | os.O_NOCTTY)
    try:
        with src.open("rb") as f, os.fdopen(fd, "wb", closefd=False) as out:
            shutil.copyfileobj(f, out, 1 << 20)
            out.flush()
    finally:
        os.close(fd)


def _fsync_dir(directory: str) -> None:
    with contextlib.suppress(OSError):
        dfd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)


@contextlib.contextmanager
def replacing(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path to write the new content of ``path`` to; on a normal exit it
    becomes ``path`` (see the module docstring), on an exception nothing changes.

    Raises :class:`OSError` (a missing directory, no permission, ``ENOSPC``, a directory target).
    """
    target, direct = resolve(path)
    if direct or _writes_in_place(target):
        with tempfile.TemporaryDirectory(prefix="logaudit-") as d:
            tmp = Path(d) / "out"
            yield tmp
            _copy_into(tmp, target)
        return
    directory = os.path.dirname(target)
    try:
        mode: int | None = stat.S_IMODE(os.stat(target).st_mode)
    except FileNotFoundError:
        mode = None
    fd, name = tempfile.mkstemp(prefix=f".{os.path.basename(target)}.", suffix=".tmp",
                                dir=directory)
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        with tmp.open("rb+") as f:
            os.fsync(f.fileno())
        if mode is not None:
            os.chmod(tmp, mode)
        os.replace(tmp, target)
        _fsync_dir(directory)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


def atomic_write(path: str | os.PathLike[str], data: bytes) -> None:
    """Write ``data`` to ``path`` as :func:`replacing` does (atomic rename beside the resolved
    target; devices and FIFOs written directly)."""
    with replacing(path) as tmp:
        tmp.write_bytes(data)


def regular_target(path: str | os.PathLike[str]) -> str:
    """The regular file (existing or not) ``path`` leads to after every symbolic link, for a
    write beside it and a rename over it (as :func:`replacing` does).

    Raises :class:`OSError` when it is a device, FIFO, socket, file-descriptor link or
    directory (which a rename would replace), or on a symlink loop.
    """
    target, direct = resolve(path)
    if direct or _writes_in_place(target):
        raise OSError(errno.EEXIST, "exists and is not a regular file", os.fspath(path))
    return target


def open_lock(path: str) -> int:
    """Open (creating it, mode 0600) the lock file ``path`` for reading and writing, never
    through a symbolic link and only if it is a regular file: its content is truncated and
    rewritten, which through a planted link would clobber the link's target. The descriptor is
    close-on-exec.

    Raises :class:`OSError` with a reason a user can act on.
    """
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK
                     | os.O_CLOEXEC | os.O_NOCTTY, 0o600)
    except OSError as e:
        if e.errno == errno.ELOOP:
            raise OSError(errno.ELOOP, "it is a symbolic link, which a lock file is never "
                          "opened through; remove it", path) from None
        raise
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise OSError(errno.EEXIST, "it is not a regular file; remove it", path)
    os.set_blocking(fd, True)
    return fd


def check_writable(path: str) -> str | None:
    """Why a file could not be written at ``path`` (one phrase), or None when it looks
    writable. Checked before a long scan so it does not fail at the very end."""
    try:
        target, direct = resolve(path)
        if direct or _writes_in_place(target):
            return None if os.access(target, os.W_OK) else f"{target} is not writable"
    except IsADirectoryError:
        return f"{path} is a directory"
    except OSError as e:
        return e.strerror or type(e).__name__
    directory = os.path.dirname(target)
    if not os.path.isdir(directory) or not os.access(directory, os.W_OK):
        return f"{directory} is not a writable directory"
    return None


def file_id(path: str | os.PathLike[str]) -> tuple[int, int] | None:
    """``(device, inode)`` of the file ``path`` leads to (through symbolic links), or None when
    there is none. Two names of one file (a symlink, a hard link) have the same id."""
    try:
        st = os.stat(path)
    except (OSError, ValueError):
        return None
    return st.st_dev, st.st_ino


def same_file(a: str | os.PathLike[str], b: str | os.PathLike[str]) -> bool:
    """True when ``a`` and ``b`` both exist and are one file (same device and inode)."""
    ida = file_id(a)
    return ida is not None and ida == file_id(b)
