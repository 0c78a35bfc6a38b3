"""Refuse an output that is one of the run's inputs, before anything is read or written.

``scan app.log -o app.log`` would replace the log being audited with its report, and
``report --diff OLD NEW -o OLD`` the history it compares. "The same file" is decided by device
and inode, not by name: through a symbolic link, a hard link, ``./`` or ``..`` it is refused too.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable, Iterator, Sequence

from logaudit.cli.console import fail
from logaudit.errors import LogauditError
from logaudit.fsio import file_id
from logaudit.sources.interface import InputRef
from logaudit.sources.remote import is_url
from logaudit.sources.walk import discover


def refuse_output_among(output: str | None, inputs: Iterable[str], option: str = "-o") -> None:
    """Exit 2 when ``output`` exists and is one of the files ``inputs`` names."""
    if not output:
        return
    try:
        st = os.stat(output)
    except (OSError, ValueError):
        return  # a new file cannot be an input
    if not stat.S_ISREG(st.st_mode):
        return  # a device (/dev/stdout, /dev/null) is written to, not replaced
    target = (st.st_dev, st.st_ino)
    for name in inputs:
        if file_id(name) == target:
            same = "" if os.path.abspath(name) == os.path.abspath(output) else f" ({name})"
            fail(f"{output}: {option} names an input of this run{same}; writing there would "
                 f"replace what is being read — choose another {option}")


def scan_inputs(output: str | None, paths: Sequence[str], include: Sequence[str] = (),
                exclude: Sequence[str] = ()) -> Iterator[str]:
    """The local files ``scan``/``redact`` would read that could be ``output``: the files
    named, standard input's file, and files found under a directory when ``output`` lies
    below it (or has other hard links)."""
    if not output or file_id(output) is None:
        return
    try:
        st_out = os.stat(output)
    except OSError:
        return
    real_out = os.path.realpath(output)
    for p in paths:
        if p == "-":
            yield "/dev/stdin"
            continue
        if is_url(p):
            continue
        try:
            st = os.stat(p)
        except OSError:
            continue
        if not stat.S_ISDIR(st.st_mode):
            yield p
            continue
        inside = os.path.commonpath([real_out, os.path.realpath(p)]) == os.path.realpath(p)
        if inside or st_out.st_nlink > 1:
            try:
                for item in discover([p], include, exclude):
                    if isinstance(item, InputRef) and item.fs_path:
                        yield item.fs_path
            except (OSError, LogauditError):
                continue  # the scan itself reports what cannot be listed
