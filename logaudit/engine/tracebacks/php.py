"""PHP: ``PHP Fatal error: Uncaught …`` with ``Stack trace:`` / ``#N file(line): fn()`` frames
(Laravel's ``[stacktrace]`` too), ``Next …`` chains and Xdebug's numbered call stacks."""

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
    header_from,
    third_party_path,
)

_FATAL = re.compile(rb"PHP Fatal error: +(.*)$")
_TRACE = re.compile(rb"(?:^|[ \t\]])((?:PHP )?Stack trace:|\[stacktrace\])[ \t]*$")
_FRAME = re.compile(rb"^(?:PHP[ \t]+)?#\d+ (?:(\S+?)\((\d+)\): ([\w\\]+))?")
_XDEBUG = re.compile(rb"^(?:PHP[ \t]+)?\d+\. \S")
_WHERE = re.compile(rb" in (/\S+|[A-Za-z]:\\\S+?)(?::\d+| on line \d+)")
_HEAD = re.compile(rb"(?<![\w\\])([A-Z][\w\\]*(?:Exception|Error)\w*)(?:\(code: \d+\))?"
                   rb"(?:: (.*?))?(?: in | at )(/\S+?|[A-Za-z]:\\\S+?)(?::\d+\)?)?$")
_FRAMEWORKS = (b"Illuminate", b"Symfony", b"Laravel", b"Composer")


@dataclass
class PhpBlock(Block):
    """A PHP fatal error or exception with its stack trace."""

    LANGUAGE = "php"
    has_where: bool = False  # the header names a source file

    def reportable(self) -> bool:
        return self.frames >= 1 or self.has_where

    def feed(self, s: bytes, indent: int) -> Verdict:
        if _TRACE.match(s) or s.startswith(b"Next "):
            return ACCEPT
        m = _FRAME.match(s)
        if m or _XDEBUG.match(s):
            self.frames += 1
            if m and m.group(1) and not third_party_path(m.group(1)):
                add(self.paths, m.group(1))
            if m and m.group(3) and b"\\" in m.group(3):
                ns = m.group(3).rsplit(b"\\", 1)[0]
                if not ns.startswith(_FRAMEWORKS):
                    add(self.pkgs, ns)
            return ACCEPT
        if s.startswith((b"thrown in ", b"PHP   thrown in ")):
            return ACCEPT
        return REJECT


def start_fatal(line: bytes, line_no: int, back: Back) -> Block | None:
    """``PHP Fatal error: …``."""
    m = _FATAL.search(line)
    if m is None:
        return None
    blk = PhpBlock.open(line, line_no, m.start(), (m.start(), m.start(1)))
    rest = m.group(1)
    if rest.startswith(b"Uncaught "):
        exc, _, msg = rest[9:].partition(b": ")
        blk.exc, blk.msg = exc.decode("utf-8", "replace"), msg
    else:
        blk.exc, blk.msg = "Fatal error", rest
    w = _WHERE.search(rest)
    if w:
        blk.has_where = True
        add(blk.paths, w.group(1))
    return blk


def start_trace(line: bytes, line_no: int, back: Back) -> Block | None:
    """``Stack trace:`` (or ``[stacktrace]``), adopting the exception line above it."""
    m = _TRACE.search(line)
    if m is None:
        return None
    blk = PhpBlock.open(line, line_no, m.start(1), m.span(1))
    h = header_from(blk, back, _HEAD)
    if h is not None and not third_party_path(h.group(3)):
        add(blk.paths, h.group(3))
    return blk


FAMILY = Family(
    name="php",
    detectors={"php-stack-trace": ("php",)},
    keywords=("Stack trace:", "[stacktrace]", "PHP Fatal error"),
    starters=((70, start_fatal), (80, start_trace)),
)
