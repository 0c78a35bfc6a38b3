"""Dart and Flutter: numbered frames ``#0      Widget.build (package:app/home.dart:42:18)``
padded to eight columns, ``<asynchronous suspension>`` between them, the exception on the line
above the first frame (``Unhandled Exception: …`` in Flutter's ``E/flutter`` logcat lines)."""

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

_FIRST = re.compile(rb"#0 {6}\S")
_FRAME = re.compile(
    rb"^#\d+\s+.+? \(((?:package|dart|file|org-dartlang-sdk):[^\s()]+?)(?::\d+(?::\d+)?)?\)$")
_HEAD = re.compile(
    rb"(Unhandled Exception): (.*)$|(?<![\w.])([A-Z]\w*(?:Exception|Error)|Exception|Error)"
    rb"(?::[ \t](.*)|:?[ \t]*$)")
_VM_LEAD = re.compile(rb"(Unhandled exception:)[ \t]*$")  # the Dart VM, above the exception
_STD = (b"dart:", b"package:flutter/", b"package:async/", b"package:http/", b"package:dio/",
        b"org-dartlang-sdk:")


@dataclass
class DartBlock(Block):
    """A Dart/Flutter stack trace."""

    LANGUAGE = "dart"

    def feed(self, s: bytes, indent: int) -> Verdict:
        m = _FRAME.match(s)
        if m:
            self.frames += 1
            loc = m.group(1)
            if not loc.startswith(_STD):
                add(self.paths, loc)
                if loc.startswith(b"package:"):
                    add(self.pkgs, loc[8:].split(b"/", 1)[0])
            return ACCEPT
        if s == b"<asynchronous suspension>":
            return ACCEPT
        return REJECT


def start(line: bytes, line_no: int, back: Back) -> Block | None:
    """The first frame ``#0      …``, adopting the exception line above it."""
    m = _FIRST.search(line)
    if m is None:
        return None
    blk = DartBlock.open(line, line_no, m.start(), (m.start(), m.start() + 2))
    pm = blk.prefix.match(line) if blk.prefix is not None else None
    if blk.feed(line[pm.end() if pm else 0:].strip(), 0) is not ACCEPT:
        return None
    for text, no in back[:2]:
        if no != blk.line - 1:
            break
        off = 0
        if blk.prefix is not None:
            p = blk.prefix.match(text)
            if p is None:
                break
            off = p.end()
        if blk.exc:  # the header is adopted: the VM's lead line above it joins the span
            v = _VM_LEAD.match(text, off)
            if v is not None:
                blk.line, blk.text, blk.span = no, text, v.span(1)
            break
        h = _HEAD.search(text, off)
        if h is None:
            break
        g = 1 if h.group(1) else 3
        blk.exc = h.group(g).decode("utf-8", "replace")
        blk.msg = h.group(g + 1) or b""
        blk.chain.append(blk.exc)
        blk.line, blk.text, blk.span = no, text, h.span(g)
    return blk


FAMILY = Family(
    name="dart",
    detectors={"dart-stack-trace": ("dart",)},
    keywords=("#0      ",),
    starters=((120, start),),
)
