"""Python tracebacks: ``Traceback (most recent call last):``, ``File "…", line N`` frames with
their source (and 3.11+ caret) lines, the exception line, chained tracebacks, and 3.11+
exception groups drawn inside ``|`` and ``+---`` frames."""

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

MAX_SRC = 12  # source and caret lines under one frame (3.11+ adds ~~~^^^ lines)

_TB = re.compile(rb"Traceback \(most recent call last\):")
_GROUP_HEAD = re.compile(rb"\+ Exception Group Traceback \(most recent call last\):")
_GROUP_LINE = re.compile(rb"^(?:\+[-+]*(?: \d+ -+| \.\.\. -+)?|\|) ?")
_FILE = re.compile(rb'^File "([^"]+)", line (\d+)')
_EXC = re.compile(rb"^([A-Za-z_][\w.]*)(?::[ \t]?(.*))?$")
_CHAIN = (b"During handling of the above exception, another exception occurred:",
          b"The above exception was the direct cause of the following exception:")
_MSG_CONT = re.compile(
    rb"^(?:LINE \d+:|\^|\[SQL: |\[parameters: |\(Background on this error at|DETAIL: |HINT: )")


class _S(Enum):
    HEAD = "head"  # after "Traceback …:", a File line must follow
    FRAME = "frame"  # after a File line
    SRC = "src"  # after a source/caret line
    END = "end"  # after the exception line: a chain marker or message continuation may follow
    CHAIN = "chain"  # after a chain marker: the next "Traceback" continues the block
    GROUP = "group"  # inside an exception group


@dataclass
class PythonBlock(Block):
    """A Python traceback (or exception group)."""

    LANGUAGE = "python"
    state: _S = _S.HEAD
    src: int = 0  # source/caret lines since the last ``File`` line

    def keeps_blank(self) -> bool:
        return self.state in (_S.END, _S.CHAIN, _S.HEAD)

    def reportable(self) -> bool:
        return self.frames >= 1

    def feed(self, s: bytes, indent: int) -> Verdict:
        st = self.state
        if st is _S.GROUP:
            return self._group_line(s)
        if st in (_S.HEAD, _S.FRAME, _S.SRC):
            m = _FILE.match(s)
            if m:
                self.frames += 1
                self.src = 0
                self.state = _S.FRAME
                if not third_party_path(m.group(1)):
                    add(self.paths, m.group(1))
                return ACCEPT
            if st is _S.HEAD or self.blanks:
                return REJECT
            if indent >= 3 and self.src < MAX_SRC:
                self.state = _S.SRC
                self.src += 1
                return ACCEPT
            m = _EXC.match(s)
            if m and indent <= 1:
                self._exception(m.group(1), m.group(2) or b"")
                self.state = _S.END
                return ACCEPT
            return REJECT
        if st is _S.END:
            if s in _CHAIN:
                self.state = _S.CHAIN
                return ACCEPT
            return ACCEPT if not self.blanks and _MSG_CONT.match(s) else REJECT
        if st is _S.CHAIN and _TB.match(s):
            self.state = _S.HEAD
            return ACCEPT
        return REJECT

    def _group_line(self, s: bytes) -> Verdict:
        """An exception group: every line of it is drawn inside "|" or "+---" frames."""
        m = _GROUP_LINE.match(s)
        if m is None:
            return REJECT
        inner = s[m.end():].strip()
        while (m := _GROUP_LINE.match(inner)) is not None and m.end():
            inner = inner[m.end():].strip()  # nested groups: "| | File …"
        f = _FILE.match(inner)
        if f:
            self.frames += 1
            if not third_party_path(f.group(1)):
                add(self.paths, f.group(1))
            return ACCEPT
        e = _EXC.match(inner)
        if e and not inner.startswith((b"Traceback", b"raise ", b"return ")) and b" " not in (
                e.group(1)):
            name = e.group(1).decode("utf-8", "replace")
            if not self.msg and name.endswith("Group"):
                self._exception(e.group(1), e.group(2) or b"")
            elif name not in self.chain:
                self.chain.append(name)
        return ACCEPT

    def _exception(self, exc: bytes, msg: bytes) -> None:
        name = exc.decode("utf-8", "replace")
        self.chain.append(name)
        self.exc, self.msg = name, msg  # Python prints the outermost exception last


def start_group(line: bytes, line_no: int, back: Back) -> Block | None:
    """``+ Exception Group Traceback (most recent call last):``."""
    m = _GROUP_HEAD.search(line)
    if m is None:
        return None
    blk = PythonBlock.open(line, line_no, m.start(), m.span())
    blk.state, blk.exc = _S.GROUP, "ExceptionGroup"
    return blk


def start(line: bytes, line_no: int, back: Back) -> Block | None:
    """``Traceback (most recent call last):``."""
    m = _TB.search(line)
    if m is None:
        return None
    blk = PythonBlock.open(line, line_no, m.start(), m.span())
    return blk


FAMILY = Family(
    name="python",
    detectors={"python-traceback": ("python",)},
    keywords=("Traceback (most recent call last)",),
    starters=((10, start_group), (20, start)),
)
