"""Swift runtime traps: ``Fatal error: message: file X.swift, line N`` (or ``X.swift:N: Fatal
error: …``), then the numbered frames of the crash backtrace (``0  libswiftCore.dylib  0x… symbol
+ 12``), on Linux after ``Current stack trace:``."""

from __future__ import annotations

import re
from dataclasses import dataclass

from logaudit.engine.tracebacks.base import (
    ACCEPT,
    REJECT,
    Back,
    Block,
    Family,
    Verdict,
    add,
)

_FATAL = re.compile(
    rb"(?:^|[\s\]])(?:((?:[\w.@/-]+/)?[\w.@-]+\.swift):\d+: )?(Fatal error): ?(.*?)"
    rb"(?:: file ((?:[\w.@/-]+/)?[\w.@-]+\.swift), line \d+)?$")
_FRAME = re.compile(rb"^\d+\s+(\S+)\s+0x[0-9a-fA-F]+ \S.*$")
_SOURCE = re.compile(rb"\(([\w.@-]+\.swift):\d+\)$")
_STD = (b"libswift", b"libsystem", b"libdispatch", b"libc.", b"libc-", b"libdyld", b"dyld",
        b"Foundation", b"UIKitCore", b"CoreFoundation", b"GraphicsServices", b"ld-linux")


@dataclass
class SwiftBlock(Block):
    """A Swift fatal error and its backtrace."""

    LANGUAGE = "swift"
    has_file: bool = False

    def reportable(self) -> bool:
        return self.frames >= 1 or self.has_file

    def feed(self, s: bytes, indent: int) -> Verdict:
        if s == b"Current stack trace:" or s.startswith(b"Stack dump:"):
            return ACCEPT
        m = _FRAME.match(s)
        if m is None:
            return REJECT
        self.frames += 1
        image = m.group(1)
        if not image.startswith(_STD):
            add(self.pkgs, image)
        src = _SOURCE.search(s)
        if src:
            add(self.paths, src.group(1))
        return ACCEPT


def start(line: bytes, line_no: int, back: Back) -> Block | None:
    """``Fatal error: …`` naming a ``.swift`` file (a PHP fatal error is PHP's)."""
    m = _FATAL.search(line)
    if m is None or b"PHP Fatal error" in line:
        return None
    path = m.group(1) or m.group(4)
    if path is None:
        return None
    co = m.start(1) if m.group(1) else m.start(2)
    blk = SwiftBlock.open(line, line_no, co, m.span(2))
    blk.exc, blk.msg, blk.has_file = "Fatal error", m.group(3), True
    add(blk.paths, path)
    return blk


FAMILY = Family(
    name="swift",
    detectors={"swift-fatal-error": ("swift",)},
    keywords=("Fatal error:",),
    starters=((75, start),),
)
