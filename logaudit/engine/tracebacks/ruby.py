"""Ruby backtraces: ``file.rb:N:in `method'`` frames (``from`` lines too), the exception in
the first frame's tail (``: message (Class)``) or on the line above."""

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

_FRAME_AT = re.compile(rb"(?:^|[ \t])(?:from[ \t]+)?[^\s:'`][^\s:]*:\d+:in [`']")
_FRAME = re.compile(
    rb"^(?:from[ \t]+)?(?:[\w-]+ \([\w.]+\) )?(\S+?):(\d+):in [`']([^'`]*)'(.*)$")
_TAIL = re.compile(rb"^: (.*) \(([A-Z][\w:]*)\)$")
_HEAD = re.compile(
    rb"(?<![\w:])([A-Z]\w*(?:::[A-Z]\w*)*(?:Error|Exception|Invalid|NotFound|Timeout)\w*)"
    rb"(?: \((.*)\))?:(?:[ \t](.*))?$")


@dataclass
class RubyBlock(Block):
    """A Ruby backtrace."""

    LANGUAGE = "ruby"

    def feed(self, s: bytes, indent: int) -> Verdict:
        m = _FRAME.match(s)
        if not m:
            return REJECT
        self.frames += 1
        if not third_party_path(m.group(1)):
            add(self.paths, m.group(1))
        t = _TAIL.match(m.group(4))
        if t and not self.exc:
            self.exc, self.msg = t.group(2).decode("utf-8", "replace"), t.group(1)
        return ACCEPT


def start(line: bytes, line_no: int, back: Back) -> Block | None:
    """The first ``file:N:in `m'`` frame of a backtrace."""
    m = _FRAME_AT.search(line)
    if m is None:
        return None
    co = m.start() + (1 if line[m.start():m.start() + 1] in (b" ", b"\t") else 0)
    blk = RubyBlock.open(line, line_no, co, (co, m.end() - 1))
    if blk.feed(line[co:].strip(), 0) is not ACCEPT:
        return None
    if not blk.exc:
        header_from(blk, back, _HEAD)
    return blk


FAMILY = Family(
    name="ruby",
    detectors={"ruby-backtrace": ("ruby",)},
    keywords=(":in `", ":in '"),
    starters=((110, start),),
)
