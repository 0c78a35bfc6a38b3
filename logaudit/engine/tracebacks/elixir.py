"""The BEAM: Elixir's ``** (Module.Error) message`` followed by frames
``(app 1.2.3) lib/file.ex:12: Module.fun/2`` (a message may run over a few lines first, Ecto
prints its query; a crashed GenServer adds ``Last message:`` / ``State:``), and Erlang/OTP's
``=ERROR REPORT==== … ===`` / ``=CRASH REPORT====`` with ``** …`` lines whose reason holds
``{file,"…"},{line,N}`` stack entries."""

from __future__ import annotations

import re
from dataclasses import dataclass

from logaudit.engine.tracebacks.base import (
    ACCEPT,
    PENDING,
    REJECT,
    Back,
    Block,
    Family,
    Verdict,
    add,
    holds_marker,
    third_party_path,
)

MAX_MSG = 8  # message lines before the first frame

_HEAD = re.compile(rb"(?:^|[\s\]])(\*\* \(([A-Za-z][\w.]*)\))(?: (.*))?$")
_REPORT = re.compile(rb"=((?:ERROR|CRASH|SUPERVISOR) REPORT)==== [^=\n]{1,60} ===[ \t]*$")
_ERL_FILE = re.compile(rb'\{file,"([^"\n]{1,300})"\},\s*\{line,\d+\}')
_FRAME = re.compile(
    rb"^(?:\((\w+)(?: [\w.+-]+)?\) )?((?:[\w.@/-]+/)?[\w.@-]+\.(?:ex|exs|erl|hrl)):\d+: \S")
_TAIL = (b"Last message", b"State: ", b"Client ", b"Parent: ", b"Process ")
_STD_APPS = (b"elixir", b"stdlib", b"kernel", b"iex", b"mix", b"logger", b"ecto", b"ecto_sql",
             b"phoenix", b"plug", b"plug_cowboy", b"cowboy", b"ranch", b"bandit", b"postgrex",
             b"db_connection", b"jason", b"telemetry", b"oban", b"erts")


@dataclass
class ElixirBlock(Block):
    """An Elixir exception with its stacktrace."""

    LANGUAGE = "elixir"
    msg_lines: int = 0

    def reportable(self) -> bool:
        return self.frames >= 1

    def keeps_blank(self) -> bool:
        return not self.frames  # Ecto's message holds a blank line before its query

    def feed(self, s: bytes, indent: int) -> Verdict:
        m = _FRAME.match(s)
        if m:
            self.frames += 1
            if not third_party_path(m.group(2)) and not m.group(2).endswith((b".erl", b".hrl")):
                add(self.paths, m.group(2))
            app = m.group(1)
            if app and app not in _STD_APPS:
                add(self.pkgs, app)
            return ACCEPT
        if self.frames and s.startswith(_TAIL):
            return ACCEPT
        if not self.frames and self.msg_lines < MAX_MSG and not holds_marker(s):
            self.msg_lines += 1
            return PENDING
        return REJECT


@dataclass
class ErlangReport(Block):
    """An OTP error/crash report: its ``**`` and indented lines, up to a blank line."""

    LANGUAGE = "erlang"

    def reportable(self) -> bool:
        return self.frames >= 1

    def feed(self, s: bytes, indent: int) -> Verdict:
        if not (s.startswith((b"** ", b"crasher:", b"initial call:", b"pid:", b"exception ",
                              b"ancestors:", b"messages:", b"links:", b"neighbours:")) or
                indent > 0):
            return REJECT
        for m in _ERL_FILE.finditer(s):
            self.frames += 1
            if not third_party_path(m.group(1)):
                add(self.paths, m.group(1))
        if s.startswith(b"** Reason for termination") or s.startswith(b"exception "):
            self.msg = self.msg or s
        return ACCEPT


def start_report(line: bytes, line_no: int, back: Back) -> Block | None:
    """``=ERROR REPORT==== 2-Jun-2024::09:34:00 ===`` (and CRASH/SUPERVISOR reports)."""
    m = _REPORT.search(line)
    if m is None:
        return None
    blk = ErlangReport.open(line, line_no, m.start(), m.span(1))
    blk.exc = m.group(1).decode()
    return blk


def start(line: bytes, line_no: int, back: Back) -> Block | None:
    """``** (Module.Error) message``."""
    m = _HEAD.search(line)
    if m is None:
        return None
    blk = ElixirBlock.open(line, line_no, m.start(1), m.span(1))
    blk.exc = m.group(2).decode("utf-8", "replace")
    blk.msg = m.group(3) or b""
    blk.chain.append(blk.exc)
    return blk


FAMILY = Family(
    name="elixir",
    detectors={"elixir-stack-trace": ("elixir", "erlang")},
    keywords=("** (", " REPORT==== "),
    starters=((65, start), (66, start_report)),
)
