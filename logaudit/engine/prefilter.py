"""Keyword prefilters: find, over a whole block in C, where candidate rules might match.

Two interchangeable backends give the same candidates: hyperscan (fast, x86-64 Linux) and
pyahocorasick plus ``re`` for keyword-less prefilter patterns (portable). Each returns
``(offset, pattern_id)`` pairs where ``offset`` lies inside the line that holds the hit.
"""

from __future__ import annotations

import hashlib
import os
import platform
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from logaudit.cache import cache_dir, write_entry
from logaudit.errors import ConfigError


@dataclass(frozen=True)
class Pattern:
    """One prefilter pattern: a case-insensitive literal keyword, or a regex compiled in
    multi-line mode (``^`` matches at each line start) that must not match across a newline."""

    text: str
    literal: bool


class Prefilter(Protocol):
    """Finds candidate positions for a fixed list of patterns."""

    name: str

    def scan(self, data: bytes) -> list[tuple[int, int]]:
        """Return ``(offset, pattern_index)`` for every hit, offset inside the hit's line."""
        ...


class AhoCorasickPrefilter:
    """pyahocorasick over the lower-cased block for keywords; ``re`` for the other patterns."""

    name = "pyahocorasick"

    def __init__(self, patterns: Sequence[Pattern]) -> None:
        import ahocorasick

        self._automaton: Any = ahocorasick.Automaton()
        by_literal: dict[str, list[int]] = {}
        for i, p in enumerate(patterns):
            if p.literal:
                # the block is searched as bytes lowered and read as latin-1: a non-ASCII
                # keyword must be its UTF-8 bytes read the same way
                by_literal.setdefault(p.text.encode().lower().decode("latin-1"), []).append(i)
        for lit, ids in by_literal.items():
            self._automaton.add_word(lit, tuple(ids))
        self._has_words = bool(by_literal)
        if self._has_words:
            self._automaton.make_automaton()
        self._regexes = [
            (i, re.compile(p.text.encode(), re.M)) for i, p in enumerate(patterns) if not p.literal
        ]

    def scan(self, data: bytes) -> list[tuple[int, int]]:
        """See :class:`Prefilter`."""
        out: list[tuple[int, int]] = []
        if self._has_words:
            text = data.lower().decode("latin-1")
            for end, ids in self._automaton.iter(text):
                out.extend((end, i) for i in ids)
        for i, rx in self._regexes:
            out.extend((m.end() - 1, i) for m in rx.finditer(data))
        return out


def _hs_literal(text: str) -> bytes:
    return b"".join(b"\\x%02x" % c for c in text.encode())


class HyperscanPrefilter:
    """One hyperscan database holding every keyword (caseless literal) and prefilter pattern."""

    name = "hyperscan"

    def __init__(self, patterns: Sequence[Pattern]) -> None:
        import hyperscan

        self._db: Any = hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK)
        exprs = [_hs_literal(p.text) if p.literal else p.text.encode() for p in patterns]
        flags = [
            hyperscan.HS_FLAG_CASELESS if p.literal else hyperscan.HS_FLAG_MULTILINE
            for p in patterns
        ]
        self._empty = not exprs
        if not exprs:
            return
        cache = _cache_path(exprs, flags)
        cached = _load_cached(cache) if cache else None
        if cached is not None:
            self._db = cached
            return
        self._db.compile(
            expressions=exprs, ids=list(range(len(exprs))), elements=len(exprs), flags=flags
        )
        if cache:
            _store_cached(cache, self._db)

    def scan(self, data: bytes) -> list[tuple[int, int]]:
        """See :class:`Prefilter`."""
        out: list[tuple[int, int]] = []
        if self._empty or not data:
            return out
        append = out.append

        def on_match(pid: int, start: int, end: int, flags: int, ctx: Any) -> None:
            append((end - 1, pid))

        self._db.scan(data, match_event_handler=on_match)
        return out


def _cache_path(exprs: Sequence[bytes], flags: Sequence[int]) -> Path | None:
    """Where a compiled database for exactly these patterns is cached (None: caching off).

    ``LOGAUDIT_CACHE_DIR`` overrides ``${XDG_CACHE_HOME:-~/.cache}/logaudit``; set it to an
    empty string to disable the cache.
    """
    import hyperscan

    root = cache_dir()
    if root is None:
        return None
    h = hashlib.sha256(f"{getattr(hyperscan, '__version__', '?')}\0{platform.machine()}".encode())
    for e, f in zip(exprs, flags, strict=True):
        h.update(b"%d\0%s\0" % (f, e))
    return root / f"hs-{h.hexdigest()[:32]}.db"


def _load_cached(path: Path) -> Any | None:
    """A database deserialised from ``path``, or None (missing, stale or corrupt: recompile)."""
    import hyperscan

    try:
        db = hyperscan.loadb(path.read_bytes(), hyperscan.HS_MODE_BLOCK)
        db.scratch = hyperscan.Scratch(db)
        return db
    except Exception:  # hyperscan validates the blob; anything wrong means "compile afresh"
        return None


def _store_cached(path: Path, db: Any) -> None:
    """Save a compiled database (atomically, mode 0600); a read-only cache is not an error."""
    import hyperscan

    try:
        write_entry(path, hyperscan.dumpb(db))
    except Exception:  # a database hyperscan cannot serialise: just do not cache it
        return


_HS_ERROR: list[str] = []


def hyperscan_available() -> bool:
    """Whether the hyperscan module imports on this machine."""
    if _HS_ERROR:
        return not _HS_ERROR[0]
    try:
        import hyperscan  # noqa: F401
    except Exception as e:  # any import-time failure (missing lib, CPU) means "not available"
        _HS_ERROR.append(f"{type(e).__name__}: {e}" or type(e).__name__)
        return False
    _HS_ERROR.append("")
    return True


def _announce_fallback() -> None:
    """One stderr line, once per process, when ``auto`` cannot have hyperscan."""
    if len(_HS_ERROR) > 1:
        return
    _HS_ERROR.append("announced")
    debug = "--debug" in sys.argv or bool(os.environ.get("LOGAUDIT_DEBUG"))
    why = f": {_HS_ERROR[0]}" if debug else "; --debug says why"
    sys.stderr.write("logaudit: engine pyahocorasick (portable, slower): hyperscan does not "
                     f"import on this machine{why}\n")


BACKENDS = ("auto", "hyperscan", "pyahocorasick")


def engine_name(backend: str = "auto") -> str:
    """The backend ``make_prefilter`` would choose for ``backend``."""
    if backend == "auto":
        if hyperscan_available():
            return "hyperscan"
        _announce_fallback()
        return "pyahocorasick"
    if backend not in BACKENDS:
        raise ConfigError(f"unknown engine {backend!r}; expected one of {', '.join(BACKENDS)}")
    return backend


def make_prefilter(patterns: Sequence[Pattern], backend: str = "auto") -> Prefilter:
    """Build the prefilter: hyperscan when it imports (or is asked for), else pyahocorasick."""
    backend = engine_name(backend)
    if backend == "hyperscan":
        return HyperscanPrefilter(patterns)
    if backend == "pyahocorasick":
        return AhoCorasickPrefilter(patterns)
    raise ValueError(f"unknown engine backend {backend!r}")
