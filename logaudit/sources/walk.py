"""Expand the user's paths into inputs: files, directories (recursive), ``-`` for stdin."""

from __future__ import annotations

import errno
import fnmatch
import os
import stat
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from logaudit.sources.interface import InputError, InputRef
from logaudit.sources.remote import discover_url, is_url


def _matches(path: str, globs: Sequence[str]) -> bool:
    name = os.path.basename(path)
    return any(fnmatch.fnmatch(path, g) or fnmatch.fnmatch(name, g) for g in globs)


def _selected(path: str, include: Sequence[str], exclude: Sequence[str]) -> bool:
    if exclude and _matches(path, exclude):
        return False
    return not include or _matches(path, include)


def discover(
    paths: Sequence[str],
    include: Sequence[str] = (),
    exclude: Sequence[str] = (),
    follow_symlinks: bool = True,
    storage_options: Mapping[str, Any] | None = None,
) -> Iterator[InputRef | InputError]:
    """Yield each input under ``paths`` once, in a stable order, or why it was not taken.

    Directories are walked recursively in sorted order; a directory reached twice (a symlink
    loop, or two paths naming the same tree) is walked once. FIFOs, sockets and devices found
    while walking are skipped and counted; a missing or unreadable path is an error. An fsspec
    URL (``s3://bucket/prefix/``) is listed by :mod:`logaudit.sources.remote`.
    """
    seen_dirs: set[tuple[int, int]] = set()
    seen_files: set[tuple[int, int]] = set()
    for p in paths:
        if p == "-":
            yield InputRef("-", None, explicit=True)
            continue
        if is_url(p):
            yield from discover_url(p, include, exclude, storage_options or {})
            continue
        try:
            st = os.stat(p)
        except FileNotFoundError:
            yield InputError(p, "no such file or directory")
            continue
        except OSError as e:
            reason = "symlink loop" if e.errno == errno.ELOOP else f"cannot access: {e.strerror}"
            yield InputError(p, reason)
            continue
        if stat.S_ISDIR(st.st_mode):
            yield from _walk_dir(p, include, exclude, follow_symlinks, seen_dirs, seen_files)
        else:
            yield from _file(p, st, seen_files, explicit=True)


def _file(
    path: str, st: os.stat_result, seen: set[tuple[int, int]], explicit: bool
) -> Iterator[InputRef | InputError]:
    ident = (st.st_dev, st.st_ino)
    if ident in seen:
        return
    seen.add(ident)
    if stat.S_ISREG(st.st_mode):
        yield InputRef(path, path, st.st_size, explicit=explicit)
    elif stat.S_ISFIFO(st.st_mode) and explicit:
        # a FIFO named on the command line is read as a stream
        yield InputRef(path, path, None, explicit=True)
    else:
        kind = ("FIFO" if stat.S_ISFIFO(st.st_mode) else
                "socket" if stat.S_ISSOCK(st.st_mode) else "device")
        yield InputError(path, f"{kind}, not a regular file", kind="skipped", explicit=explicit)


def _walk_dir(
    root: str,
    include: Sequence[str],
    exclude: Sequence[str],
    follow_symlinks: bool,
    seen_dirs: set[tuple[int, int]],
    seen_files: set[tuple[int, int]],
) -> Iterator[InputRef | InputError]:
    stack = [root]
    while stack:
        d = stack.pop()
        try:
            st = os.stat(d)
        except OSError as e:
            yield InputError(d, f"cannot access directory: {e.strerror}")
            continue
        ident = (st.st_dev, st.st_ino)
        if ident in seen_dirs:
            continue  # symlink loop or the same tree named twice
        seen_dirs.add(ident)
        try:
            with os.scandir(d) as it:
                entries = sorted(it, key=lambda e: e.name)
        except OSError as e:
            yield InputError(d, f"cannot list directory: {e.strerror}; check its permissions")
            continue
        subdirs: list[str] = []
        for entry in entries:
            full = entry.path
            try:
                is_link = entry.is_symlink()
                if is_link and not follow_symlinks:
                    continue
                est = os.stat(full)
            except FileNotFoundError:
                if entry.is_symlink():
                    yield InputError(full, "dangling symlink", kind="skipped")
                continue  # vanished while walking
            except OSError as e:
                if e.errno == errno.ELOOP:
                    yield InputError(full, "symlink loop", kind="skipped")
                else:
                    yield InputError(full, f"cannot access: {e.strerror}")
                continue
            if stat.S_ISDIR(est.st_mode):
                if exclude and _matches(full, exclude):
                    continue
                subdirs.append(full)
            elif _selected(full, include, exclude):
                yield from _file(full, est, seen_files, explicit=False)
        stack.extend(reversed(subdirs))
