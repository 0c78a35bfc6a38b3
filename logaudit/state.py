"""Incremental state for cron: what each input was scanned up to, atomic writes, and a lock.

A nightly run over a growing log tree must scan only what is new, survive rotation, and never
lose or double-report anything when it is killed. The state file records, per input, its identity
(device + inode, plus a keyed hash of its first bytes so a reused inode is noticed), its size and
the byte offset and line number scanned up to. It is written atomically (temp file, fsync,
rename) and only after the run's report is safely written, so a run killed at any point leaves
the previous state valid and the next run rescans what was not committed.
"""

from __future__ import annotations

import contextlib
import dataclasses
import errno
import fcntl
import hashlib
import hmac
import json
import math
import os
import stat
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from typing import Any

from logaudit import fsio, lifecycle
from logaudit.errors import ConfigError, LogauditError
from logaudit.scrub import mask_secrets

STATE_VERSION = 1
HEAD_BYTES = 4096


class LockedError(LogauditError):
    """Another run holds the state lock."""


@dataclass
class Entry:
    """What is known about one input after a run."""

    path: str
    dev: int
    ino: int
    size: int
    mtime: float
    head: str  # keyed hash of the first ``head_len`` raw bytes
    head_len: int
    offset: int  # raw bytes scanned (a line boundary)
    line: int  # lines before ``offset``
    tail: str = ""  # keyed hash of the (up to) 256 bytes before ``offset``
    decoded_head: str = ""  # keyed hash of the first decoded bytes (finds gzipped rotations)
    decoded_len: int = 0
    compressed: bool = False
    scanned: str = ""
    object_id: str = ""  # an object in a store: ETag|size|last-modified

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Entry:
        """Load one entry, ignoring unknown keys from newer versions."""
        known = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in d.items() if k in known})


@dataclass
class State:
    """The whole state file.

    The look-ups by identity and by content use indexes built on first use: a tree of tens of
    thousands of files must not cost a pass over every entry per file. ``entries`` is not
    changed once a look-up was made (the next state is a new :class:`State`).
    """

    entries: dict[str, Entry] = field(default_factory=dict)
    _by_inode: dict[tuple[int, int], Entry] | None = field(default=None, init=False,
                                                           repr=False, compare=False)
    _by_decoded: dict[tuple[str, int], Entry] | None = field(default=None, init=False,
                                                            repr=False, compare=False)
    _by_head: dict[int, dict[str, list[tuple[int, Entry]]]] | None = field(default=None, init=False,
                                                               repr=False, compare=False)

    def by_inode(self, dev: int, ino: int) -> Entry | None:
        """The entry of a file with this identity, whatever its name now."""
        if self._by_inode is None:
            self._by_inode = {}
            for e in self.entries.values():
                self._by_inode.setdefault((e.dev, e.ino), e)
        return self._by_inode.get((dev, ino))

    def by_decoded_head(self, head: str, length: int) -> Entry | None:
        """An entry whose decoded first bytes hash to ``head`` (a rotated file, recompressed)."""
        if self._by_decoded is None:
            self._by_decoded = {}
            for e in self.entries.values():
                if e.decoded_head and e.offset > 0:
                    self._by_decoded.setdefault((e.decoded_head, e.decoded_len), e)
        return self._by_decoded.get((head, length))

    def by_head(self, key: bytes, head: bytes, usable: Callable[[Entry], bool]) -> list[Entry]:
        """Entries, in file order, for which ``usable(entry)`` holds and whose head hash is
        that of ``head``'s first ``entry.head_len`` bytes: one keyed hash per distinct head
        length, not one per entry."""
        if self._by_head is None:
            self._by_head = {}
            for i, e in enumerate(self.entries.values()):
                self._by_head.setdefault(e.head_len, {}).setdefault(e.head, []).append((i, e))
        found: list[tuple[int, Entry]] = []
        for n, by_hash in self._by_head.items():
            if n <= len(head):
                found.extend(p for p in by_hash.get(keyed_hash(key, head[:n]), ()) if usable(p[1]))
        return [e for _, e in sorted(found, key=lambda p: p[0])]


def keyed_hash(key: bytes, data: bytes) -> str:
    """HMAC-SHA256 of ``data``: log heads may hold secrets, so no plain hash is stored."""
    return hmac.new(key, b"state\x00" + data, hashlib.sha256).hexdigest()


def load_state(path: str) -> State:
    """Read the state file; a missing file is an empty state.

    Anything else that is not a state this version wrote raises :class:`ConfigError` (exit 2,
    nothing scanned): not a regular file (a FIFO would block the run forever), unreadable, not
    UTF-8, not JSON (or nested too deeply to parse), or an entry with a missing or mistyped
    field (a hand edit such as ``"offset": "abc"``).
    """
    try:
        raw = _read_regular(path)
    except FileNotFoundError:
        return State()
    except OSError as e:
        raise ConfigError(f"{path}: cannot read the state file ({e.strerror}); give --state a "
                          "regular file (it is created on the first run)") from None
    try:
        doc = json.loads(raw.decode("utf-8"))
        if not isinstance(doc, dict):
            raise ValueError("not a JSON object")
        if doc.get("version") != STATE_VERSION:
            raise ValueError(f"unsupported version {doc.get('version')!r}")
        entries = doc.get("entries")
        if not isinstance(entries, dict):
            raise ValueError("no 'entries' object")
        state = State({str(k): _entry(k, v) for k, v in entries.items()})
    except RecursionError:
        raise ConfigError(f"{path}: the state file is corrupt (nested too deeply); move it "
                          "away to start afresh (the next run then rescans everything)") from None
    except ValueError as e:  # UnicodeDecodeError and json.JSONDecodeError too
        reason = "not UTF-8" if isinstance(e, UnicodeDecodeError) else _short_reason(e)
        raise ConfigError(f"{path}: the state file is corrupt ({reason}); move it away to "
                          "start afresh (the next run then rescans everything)") from None
    return state


def _short_reason(e: ValueError) -> str:
    """A reason without quoting the file's bytes (json errors quote none; ours are ours)."""
    return str(e).splitlines()[0][:200] if str(e) else type(e).__name__


def _read_regular(path: str) -> bytes:
    """The bytes of ``path`` if it is a regular file (following links); raises OSError
    otherwise. Opened non-blocking: opening a FIFO for reading would wait for a writer."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            kind = "a directory" if stat.S_ISDIR(st.st_mode) else "not a regular file"
            raise OSError(errno.EINVAL, f"{kind}")
        os.set_blocking(fd, True)
        with os.fdopen(fd, "rb", closefd=False) as f:
            return f.read()
    finally:
        os.close(fd)


# The JSON type each Entry field must have (``bool`` is not an ``int`` here).
_INT_FIELDS = ("dev", "ino", "size", "head_len", "offset", "line", "decoded_len")
_STR_FIELDS = ("path", "head", "tail", "decoded_head", "scanned", "object_id")


def _entry(key: object, v: object) -> Entry:
    """One entry of the state file, every field checked (raises ValueError)."""
    if not isinstance(v, dict):
        raise ValueError(f"entry {_shown(key)} is not an object")
    required = {f.name for f in dataclasses.fields(Entry)
                if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING}
    missing = sorted(required - set(v))
    if missing:
        raise ValueError(f"entry {_shown(key)} lacks {', '.join(missing)}")
    for name in _INT_FIELDS:
        if name in v and (type(v[name]) is not int or v[name] < 0):
            raise ValueError(f"entry {_shown(key)}: {name} is not a non-negative integer")
    for name in _STR_FIELDS:
        if name in v and not isinstance(v[name], str):
            raise ValueError(f"entry {_shown(key)}: {name} is not a string")
    if "mtime" in v and (type(v["mtime"]) not in (int, float) or not math.isfinite(v["mtime"])):
        raise ValueError(f"entry {_shown(key)}: mtime is not a number")
    if "compressed" in v and type(v["compressed"]) is not bool:
        raise ValueError(f"entry {_shown(key)}: compressed is not true or false")
    e = Entry.from_dict(v)
    e.mtime = float(e.mtime)
    return e


def _shown(key: object) -> str:
    """An entry's key in a message: a path, escaped and cut short (state keys are paths)."""
    text = str(key)
    return repr(text if len(text) <= 80 else text[:77] + "...")


def atomic_write(path: str, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically (:func:`logaudit.fsio.atomic_write`: temp file
    beside the file ``path`` resolves to, fsync, rename, fsync of the directory). A crash leaves
    either the old file or the new one; a symlink stays a link to the new content."""
    fsio.atomic_write(path, data)


def save_state(path: str, state: State) -> None:
    """Write the state atomically.

    Paths are stored as the bytes they name (a name that is not UTF-8 as ``\\udcff`` escapes,
    which load back to the same name), except that a secret in a name is masked: such an entry
    is found again by its inode (or content), and its key is made unique.
    """
    entries: dict[str, dict[str, Any]] = {}
    for k, v in sorted(state.entries.items()):
        stored = mask_secrets(k, keep_bytes=True)
        if stored != k:
            base, n = stored, 1
            while stored in entries or stored in state.entries:
                n += 1
                stored = f"{base}#{n}"
        entries[stored] = {**asdict(v), "path": stored if v.path == k
                           else mask_secrets(v.path, keep_bytes=True)}
    doc = {"version": STATE_VERSION, "entries": entries}
    atomic_write(path, (json.dumps(doc, indent=1, sort_keys=True) + "\n").encode())


@contextlib.contextmanager
def state_lock(path: str, wait: float = 0.0) -> Iterator[None]:
    """Hold an exclusive ``flock`` on ``PATH.lock`` for the run; wait up to ``wait`` seconds.

    Raises :class:`LockedError` when another run holds it. The lock file is left in place
    (removing it would race with a waiting run); the kernel frees the lock when the holder dies
    (forked workers do not share it, see :func:`logaudit.lifecycle.parent_only`).
    """
    lock_path = f"{path}.lock"
    try:
        fd = fsio.open_lock(lock_path)  # never through a symlink, only a regular file
    except OSError as e:
        raise ConfigError(f"{lock_path}: cannot create the lock file ({e.strerror})") from None
    # Held by this process only: a forked worker sharing the descriptor would hold the lock
    # for as long as it lives.
    lifecycle.parent_only(fd)
    try:
        deadline = time.monotonic() + wait
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError as e:
                if e.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                    raise
                if time.monotonic() >= deadline:
                    raise LockedError(
                        f"{path}: another logaudit run holds the state lock ({lock_path}); "
                        "it exits when done — use --wait SECONDS to wait for it") from None
                time.sleep(0.2)
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        yield
    finally:
        lifecycle.release(fd)
        os.close(fd)


@dataclass(frozen=True)
class Resume:
    """Where to scan an input from: ``offset`` raw bytes (plain files) or ``skip`` decoded bytes
    (a compressed rotation of a file already scanned), with ``line`` lines before it.
    ``offset == size`` and ``skip == 0`` with ``unchanged`` means nothing new."""

    offset: int = 0
    line: int = 0
    skip: int = 0
    unchanged: bool = False
    reason: str = "new"


def read_head(path: str, n: int) -> bytes:
    """The first ``n`` raw bytes of a file (fewer if it is shorter)."""
    with open(path, "rb") as f:
        return f.read(n)


def resume_point(state: State, path: str, st: os.stat_result, head: bytes, key: bytes,
                 decoded_head: bytes | None) -> tuple[Resume, Entry | None]:
    """Decide where to scan ``path`` from, given what the state knows.

    ``head`` is the file's first raw bytes (up to HEAD_BYTES); ``decoded_head`` the first decoded
    bytes of a compressed file (None for plain files). Returns the resume point and the entry it
    was derived from (which the caller replaces after the run).
    """
    prev = state.entries.get(path)
    same = prev if prev and (prev.dev, prev.ino) == (st.st_dev, st.st_ino) else None
    if same is None:
        same = state.by_inode(st.st_dev, st.st_ino)  # renamed (app.log -> app.log.1)
    if same is not None and decoded_head is None and not same.compressed:
        if st.st_size < same.offset:
            return Resume(reason="shrank (truncated or copytruncate): rescanned"), same
        if keyed_hash(key, head[: same.head_len]) != same.head or len(head) < same.head_len:
            return Resume(reason="content changed (rewritten or inode reused): rescanned"), same
        if st.st_size == same.offset:
            return Resume(same.offset, same.line, unchanged=True, reason="unchanged"), same
        return Resume(same.offset, same.line, reason="appended"), same
    if same is not None and same.compressed and decoded_head is not None:
        if (same.size == st.st_size and same.head == keyed_hash(key, head[: same.head_len])):
            return Resume(unchanged=True, reason="unchanged"), same
    if decoded_head is not None and decoded_head:
        n = min(len(decoded_head), HEAD_BYTES)
        for cand in state.by_head(key, decoded_head[:n],
                                  lambda c: not c.compressed and c.offset > 0):
            # A rotated file that was compressed: skip what was already scanned of it.
            return Resume(skip=cand.offset, line=cand.line,
                          reason=f"compressed rotation of {cand.path}"), cand
    return Resume(), None


def make_entry(path: str, st: os.stat_result, head: bytes, key: bytes, offset: int, line: int,
               compressed: bool, decoded_head: bytes = b"") -> Entry:
    """The state entry recorded after scanning ``path`` up to ``offset``."""
    hl = min(len(head), HEAD_BYTES, offset if not compressed else len(head))
    return Entry(
        path=path, dev=st.st_dev, ino=st.st_ino, size=st.st_size, mtime=st.st_mtime,
        head=keyed_hash(key, head[:hl]), head_len=hl, offset=offset, line=line,
        decoded_head=keyed_hash(key, decoded_head[:HEAD_BYTES]) if decoded_head else "",
        decoded_len=min(len(decoded_head), HEAD_BYTES), compressed=compressed,
        scanned=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    )
