"""Rust panics: ``thread 'main' panicked at …`` (old and 1.73+ forms), ``note:`` lines and a
``stack backtrace:`` of numbered frames with their ``at file:line`` lines."""

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

_HEAD = re.compile(rb"thread '[^']*'(?: \(\d+\))? panicked at ")
_OLD = re.compile(rb"panicked at '(.*)', (\S+?):\d+(?::\d+)?$")
_NEW = re.compile(rb"panicked at (\S+?):\d+(?::\d+)?:?$")
_BT = re.compile(rb"(?i)stack backtrace:[ \t]*$")
_FRAME = re.compile(rb"^\d+:[ \t]+(\S+)")
_STD_CRATES = (b"std", b"core", b"alloc", b"rust_begin_unwind", b"__rust_begin_short_backtrace",
               b"__libc_start_main", b"_start", b"tokio")


class _S(Enum):
    MSG = "msg"  # 1.73+: the message is on the line after "panicked at file:line:"
    AFTER = "after"  # after the header: notes or a backtrace may follow
    BT = "bt"  # inside "stack backtrace:"


@dataclass
class RustBlock(Block):
    """A Rust panic, with or without its backtrace."""

    LANGUAGE = "rust"
    state: _S = _S.AFTER

    def reportable(self) -> bool:
        return self.state is not _S.BT or self.frames >= 2 or bool(self.exc)

    def feed(self, s: bytes, indent: int) -> Verdict:
        if self.state is _S.MSG:
            self.msg = s
            self.state = _S.AFTER
            return ACCEPT
        if s.startswith(b"note: "):
            return ACCEPT
        if _BT.match(s):
            self.state = _S.BT
            return ACCEPT
        m = _FRAME.match(s)
        if m and self.state is _S.BT:
            self.frames += 1
            crate = m.group(1).split(b"::")[0].lstrip(b"<")
            if crate not in _STD_CRATES:
                add(self.pkgs, crate)
            return ACCEPT
        if s.startswith(b"at ") and self.state is _S.BT:
            path = s[3:].rsplit(b":", 2)[0]
            if not third_party_path(path):
                add(self.paths, path)
            return ACCEPT
        return REJECT


def start_panic(line: bytes, line_no: int, back: Back) -> Block | None:
    """``thread '…' panicked at …``."""
    m = _HEAD.search(line)
    if m is None:
        return None
    blk = RustBlock.open(line, line_no, m.start(), (m.start(), m.end() - 1))
    blk.exc = "panic"
    old = _OLD.search(line)
    new = _NEW.search(line)
    if old:
        blk.msg = old.group(1)
        add(blk.paths, old.group(2))
    elif new:
        add(blk.paths, new.group(1))
        blk.state = _S.MSG if line.rstrip().endswith(b":") else _S.AFTER
    return blk


def start_backtrace(line: bytes, line_no: int, back: Back) -> Block | None:
    """A ``stack backtrace:`` whose panic line was not seen (another stream, an earlier chunk)."""
    m = _BT.search(line)
    if m is None:
        return None
    blk = RustBlock.open(line, line_no, m.start(), m.span())
    blk.state = _S.BT
    return blk


FAMILY = Family(
    name="rust",
    detectors={"rust-panic": ("rust",)},
    keywords=("panicked at", "stack backtrace:"),
    starters=((30, start_panic), (90, start_backtrace)),
)
