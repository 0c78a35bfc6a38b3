"""The on-disk cache of compiled artefacts (hyperscan databases, validated rule sets).

``LOGAUDIT_CACHE_DIR`` overrides ``${XDG_CACHE_HOME:-~/.cache}/logaudit``; set it to an empty
string to disable caching. Entries are written atomically with mode 0600 and named by a digest of
everything they depend on, so a stale entry is never read; an unreadable or corrupt one is
rebuilt. A cache that cannot be written is not an error.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path


def cache_dir() -> Path | None:
    """The cache directory, or None when caching is off."""
    base = os.environ.get("LOGAUDIT_CACHE_DIR")
    if base == "":
        return None
    if base:
        return Path(base)
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "logaudit"


def read_entry(path: Path) -> bytes | None:
    """The bytes of a cache entry, or None if it is missing or unreadable."""
    try:
        return path.read_bytes()
    except OSError:
        return None


def write_entry(path: Path, data: bytes) -> None:
    """Store a cache entry atomically with mode 0600; failures are ignored."""
    tmp = ""
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=path.suffix)
        with os.fdopen(fd, "wb") as f:  # mkstemp creates the file with mode 0600
            f.write(data)
        os.replace(tmp, path)
        tmp = ""
    except OSError:
        pass
    finally:
        if tmp:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
