"""What every trace family shares: the verdict of one line, the block with its log prefix,
what a block revealed (exception, message, paths, packages) and the family registry entry."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, TypeVar

from logaudit.masking import mask_text

MAX_FOREIGN = 32  # consecutive lines of other prefixes (threads) a block waits through
MAX_LIST = 10
MAX_BLANKS = 3  # blank lines a family that allows them (Python, Go) waits through


class Verdict(Enum):
    """What one line means to an open block."""

    REJECT = 0  # the line ends the block
    ACCEPT = 1  # the line is part of the block
    PENDING = 2  # part of it unless nothing follows (a blank line inside a Go dump)
    FOREIGN = 3  # another stream's line (other prefix): neither ends nor joins the block


ACCEPT, PENDING, REJECT, FOREIGN = Verdict.ACCEPT, Verdict.PENDING, Verdict.REJECT, Verdict.FOREIGN


def show(b: bytes, limit: int = 200) -> str:
    """A message for ``details``: masked, decoded, bounded."""
    return mask_text(b.strip()).decode("utf-8", "replace")[:limit]


_VOLATILE = re.compile(rb"\d+(?:[-/:.,T]\d+)+(?:Z|[+-]\d\d:?\d\d)?|\d{6,}|[ \t]+")


def prefix_regex(raw: bytes) -> re.Pattern[bytes] | None:
    """A regex matching the same log prefix on another line (times and dates may differ)."""
    if not raw:
        return None
    parts: list[bytes] = [b"^"]
    pos = 0
    for m in _VOLATILE.finditer(raw):
        parts.append(re.escape(raw[pos:m.start()]))
        parts.append(rb"[ \t]+" if m.group(0)[:1] in b" \t" else rb"\d[\dTZ:/.,+-]*")
        pos = m.end()
    parts.append(re.escape(raw[pos:]))
    return re.compile(b"".join(parts))


_DOCKER = re.compile(rb'^\{"log": ?"((?:[^"\\]|\\.)*)"')


def unescape(raw: bytes) -> bytes:
    """The text of a JSON string literal's body (lenient where it is not valid JSON)."""
    try:
        text = json.loads(b'"' + raw + b'"')
        return text.encode("utf-8", "replace") if isinstance(text, str) else raw
    except ValueError:
        return raw.replace(b"\\n", b"\n").replace(b"\\t", b"\t").replace(b'\\"', b'"')


def docker_log(line: bytes) -> bytes | None:
    """The ``log`` text of a Docker json-file record (one output line per record), or None."""
    m = _DOCKER.match(line)
    return unescape(m.group(1)).rstrip(b"\r\n") if m else None


def add(lst: list[str], value: bytes) -> None:
    """Append ``value`` once, up to MAX_LIST entries."""
    s = value.decode("utf-8", "replace")
    if s and s not in lst and len(lst) < MAX_LIST:
        lst.append(s)


def holds_marker(s: bytes) -> bool:
    """Whether a line holds a start marker of some family (such a line must not pass as a
    message line of an open block: it may start a trace of its own)."""
    from logaudit.engine.tracebacks.registry import KEYWORDS  # the registry imports families

    low = s.lower()
    return any(k.lower().encode() in low for k in KEYWORDS)


def third_party_path(p: bytes) -> bool:
    """A library's or the runtime's own file (not the application's source)."""
    return any(k in p for k in (b"site-packages", b"dist-packages", b"node_modules", b"/gems/",
                                b"/vendor/", b"/pkg/mod/", b"/usr/local/go/", b"/usr/lib/python",
                                b"/rustc/", b".cargo/registry", b"node:", b"/lib/ruby/"))


_B = TypeVar("_B", bound="Block")


@dataclass
class Block:
    """An open (or closed) stack trace: a line-by-line state machine plus what it revealed.

    A family subclasses it with its own state and implements :meth:`feed` (one line's content,
    log prefix removed), :meth:`reportable` and, where it differs, :meth:`language`."""

    line: int
    text: bytes
    span: tuple[int, int]
    prefix: re.Pattern[bytes] | None = None
    base_p: int = 0  # indentation of the header's content after the prefix
    base_0: int = 0  # same, for a line without the prefix
    end_line: int = 0
    frames: int = 0
    exc: str = ""
    msg: bytes = b""
    chain: list[str] = field(default_factory=list)
    paths: list[str] = field(default_factory=list)
    pkgs: list[str] = field(default_factory=list)
    foreign: int = 0
    blanks: int = 0
    embedded: bool = False
    docker: bool = False  # lines are Docker json-file records: the trace is in their "log"

    #: the language this family reports (a family with several decides in :meth:`language`)
    LANGUAGE = ""

    def __post_init__(self) -> None:
        self.end_line = self.end_line or self.line

    @classmethod
    def open(cls: type[_B], line: bytes, line_no: int, co: int, span: tuple[int, int]) -> _B:
        """A block whose header content starts at column ``co`` of ``line``; the text before
        it is the log prefix every later line must carry (or carry none)."""
        raw = line[:co].rstrip(b" \t")
        prefix = prefix_regex(raw)
        return cls(line_no, line, span, prefix=prefix,
                   base_p=co - len(raw) if prefix is not None else 0,
                   base_0=0 if prefix is not None else co)

    # -- feeding

    def offer(self, line: bytes, line_no: int) -> Verdict:
        """ACCEPT/PENDING (the line is part of the block), REJECT (it ends it), FOREIGN."""
        if self.docker:
            inner = docker_log(line)
            if inner is None:
                return REJECT
            line = inner
        if self.prefix is None:
            r = self.step(line, self.base_0)
        else:
            m = self.prefix.match(line)
            if m is not None:
                r = self.step(line[m.end():], self.base_p)
                if r is REJECT:
                    return REJECT
            else:
                # A line without the prefix joins only right after an accepted line (a header
                # logged with a prefix, its frames printed raw); else it is another stream's.
                r = self.step(line, 0) if not self.foreign else REJECT
                if r is REJECT:
                    self.foreign += 1
                    return FOREIGN if self.foreign <= MAX_FOREIGN else REJECT
        if r is ACCEPT:
            self.end_line = line_no
            self.foreign = 0
        return r

    def step(self, content: bytes, base: int) -> Verdict:
        """Advance the state machine by one line's content (the prefix removed)."""
        s = content.strip()
        indent = len(content) - len(content.lstrip()) - base
        if not s:
            if self.keeps_blank() and self.blanks < MAX_BLANKS:
                self.blanks += 1
                return PENDING
            return REJECT
        r = self.feed(s, indent)
        if r is ACCEPT:
            self.blanks = 0
        return r

    def keeps_blank(self) -> bool:
        """Whether a blank line may sit inside the block in its current state."""
        return False

    def feed(self, s: bytes, indent: int) -> Verdict:
        """One non-blank line, stripped; ``indent`` relative to the header's."""
        raise NotImplementedError

    # -- reporting

    def language(self) -> str:
        """The language reported in ``details``."""
        return self.LANGUAGE

    def reportable(self) -> bool:
        """Enough evidence for a finding: frames (or a header naming source), not mere prose."""
        return self.frames >= 2 or (self.frames >= 1 and bool(self.exc))

    def details(self) -> dict[str, Any]:
        """What the trace reveals (message masked)."""
        d: dict[str, Any] = {
            "language": self.language(), "exception_type": self.exc or None,
            "message": show(self.msg) if self.msg else None, "frame_count": self.frames,
            "source_paths": self.paths, "internal_packages": self.pkgs,
        }
        if len(self.chain) > 1:
            d["exception_chain"] = self.chain[:MAX_LIST]
        if self.embedded:
            d["embedded"] = True
        return d


Back = Sequence[tuple[bytes, int]]
#: A family's way to open a block at a line (``back``: preceding free lines, nearest first).
StartFn = Callable[[bytes, int, Back], "Block | None"]


@dataclass(frozen=True)
class Family:
    """One registry entry: what a language family contributes to the detector."""

    name: str
    detectors: dict[str, tuple[str, ...]]  # rule ``detector`` name → languages it reports
    keywords: tuple[str, ...]  # start markers, case-insensitive literals for the prefilter
    starters: tuple[tuple[int, StartFn], ...]  # (order, start) — lower orders are tried first


def header_from(blk: Block, back: Back, rx: re.Pattern[bytes]) -> re.Match[bytes] | None:
    """Adopt a header one (or, for a .NET ``--->`` line, two) lines above the first frame;
    the header's match, if one was adopted."""
    taken: list[tuple[bytes, int, re.Match[bytes]]] = []
    for text, no in back:
        off = 0
        if blk.prefix is not None:
            pm = blk.prefix.match(text)
            if pm is None:
                continue  # another thread's line between the header and the first frame
            off = pm.end()
        if taken and b"---> " not in taken[-1][0]:
            break
        m = rx.search(text, off)
        if m is None:
            break
        taken.append((text, no, m))
    if not taken:
        return None
    for _text, _no, m in reversed(taken):
        blk.chain.append(m.group(1).decode("utf-8", "replace"))
    text, no, m = taken[-1]
    blk.exc = blk.chain[0]
    blk.msg = m.group(2) or b"" if m.lastindex and m.lastindex >= 2 else b""
    blk.line, blk.text, blk.span = no, text, m.span(1)
    return m
