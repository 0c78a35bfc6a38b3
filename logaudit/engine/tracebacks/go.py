"""Go panics and goroutine dumps: ``panic:`` / ``fatal error:``, ``[signal …]``, then
``goroutine N [running]:`` sections of function lines and ``file.go:N +0x…`` lines. A dump may
also start at a bare ``goroutine N [running]:`` or at a recovered panic's ``runtime error:``
line (``http: panic serving …: runtime error: …``) with no ``panic:``."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum

from logaudit.engine.tracebacks.base import (
    ACCEPT,
    REJECT,
    Back,
    Block,
    Family,
    Verdict,
    add,
    third_party_path,
)

_PANIC = re.compile(rb"(?:^|[\s\]|:])((?:panic|fatal error): )")
_RUNTIME = re.compile(rb"(?:^|[\s\]|:])(runtime error: )")
_ROUTINE = re.compile(rb"goroutine \d+ \[[^\]]*\]:[ \t]*$")
_FILE = re.compile(rb"^(\S+\.(?:go|s)):(\d+)(?: \+0x[0-9a-f]+)?$")
_FUNC = re.compile(rb"^[\w.\-/~%*()\[\]]+\(.*\)$|^created by \S+(?: in goroutine \d+)?$")
_PKG = re.compile(rb"^(?:created by )?((?:[\w.\-~%]+/)*[\w\-~%]+)\.")


class _S(Enum):
    HEAD = "head"  # after "panic:": the signal line, nested panics, then a goroutine header
    ROUTINE = "routine"  # inside a goroutine section


@dataclass
class GoBlock(Block):
    """A Go panic or goroutine dump."""

    LANGUAGE = "go"
    state: _S = _S.HEAD

    def keeps_blank(self) -> bool:
        return True  # blank lines separate the header and every goroutine section

    def reportable(self) -> bool:
        return self.frames >= 1

    def feed(self, s: bytes, indent: int) -> Verdict:
        if _ROUTINE.match(s):
            self.state = _S.ROUTINE
            return ACCEPT
        if self.state is _S.HEAD:
            if s.startswith((b"[signal ", b"panic: ", b"fatal error: ", b"runtime error: ")) \
                    and not self.blanks:
                return ACCEPT
            return REJECT
        m = _FILE.match(s)
        if m:
            if not third_party_path(m.group(1)):
                add(self.paths, m.group(1))
            return ACCEPT
        if s.startswith(b"exit status ") or s == b"...additional frames elided...":
            return ACCEPT
        if _FUNC.match(s):
            if not s.startswith(b"created by "):
                self.frames += 1
            p = _PKG.match(s)
            if p and (b"." in p.group(1).split(b"/")[0] or p.group(1) == b"main"):
                add(self.pkgs, p.group(1))
            return ACCEPT
        return REJECT


def start_panic(line: bytes, line_no: int, back: Back) -> Block | None:
    """``panic: …`` or ``fatal error: …``."""
    m = _PANIC.search(line)
    if m is None:
        return None
    blk = GoBlock.open(line, line_no, m.start(1), (m.start(1), m.end(1) - 1))
    blk.exc = m.group(1)[:-2].decode()
    blk.msg = line[m.end():]
    return blk


def start_runtime(line: bytes, line_no: int, back: Back) -> Block | None:
    """``runtime error: …`` without ``panic:`` (a recovered panic logged with its stack)."""
    m = _RUNTIME.search(line)
    if m is None:
        return None
    blk = GoBlock.open(line, line_no, m.start(1), (m.start(1), m.end(1) - 1))
    blk.exc, blk.msg = "runtime error", line[m.end():]
    return blk


def start_routine(line: bytes, line_no: int, back: Back) -> Block | None:
    """``goroutine N [state]:``, adopting a ``panic:`` line just above it."""
    m = _ROUTINE.search(line)
    if m is None:
        return None
    blk = GoBlock.open(line, line_no, m.start(), m.span())
    blk.state = _S.ROUTINE
    for text, no in back[:2]:
        f = _PANIC.search(text) or _RUNTIME.search(text)
        if f:
            blk.line, blk.text, blk.span = no, text, (f.start(1), f.end(1) - 1)
            blk.exc, blk.msg = f.group(1)[:-2].decode(), text[f.end():]
            break
        if text.strip():
            break
    return blk


FAMILY = Family(
    name="go",
    detectors={"go-panic": ("go",)},
    keywords=("goroutine ", "panic: ", "runtime error: "),
    starters=((50, start_panic), (55, start_runtime), (60, start_routine)),
)
