"""Multi-line database errors, one finding each: the line rules find the error's first line; this
module extends that finding over the lines the server or driver printed after it.

- SQL Server (sqlcmd, SSMS): ``Msg 208, Level 16, State 1, Line 1`` then the message on the next
  line. The message line's ``sqlserver-message`` hit (masked as a message) becomes the finding,
  starting at the header line; the header's own hit is dropped. A message no rule knows still
  joins the header's finding.
- Raw PostgreSQL output (psql, server log): ``ERROR:  column "x" does not exist`` then
  ``LINE n:``, the caret line, ``DETAIL:``, ``HINT:``, ``CONTEXT:``, ``STATEMENT:`` … lines.
- node-postgres errors printed as a JS object: ``error: …``, ``    at …`` frames, then
  ``{ … length: 104, severity: 'ERROR', code: '42703' … }``.

The joiner runs after the line rules, on their hits, so a finding keeps its rule, category and
masking mode. A finding whose continuation reaches the end of a chunk is held (and
:meth:`DbJoiner.pending_line` names its first line) until a later chunk ends it. Continuation
lines carry the first line's log prefix (times may differ) or none.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from enum import Enum

from logaudit.engine.model import Hit, LineHits
from logaudit.engine.tracebacks.base import prefix_regex
from logaudit.sources.chunking import Chunk

MAX_LINES = 64  # continuation lines one error may take (bounded memory while held)

HEADER_RULE = "sqlserver-msg-header"
MESSAGE_RULE = "sqlserver-message"
PG_RULES = frozenset({"postgres-error-message", "postgres-error-position"})
#: Rules whose hits on a continuation line are the same error again (dropped when joined).
JOINED = frozenset({HEADER_RULE, MESSAGE_RULE, *PG_RULES})

_PG_MORE = re.compile(rb"^(?:LINE \d+: |\^\s*$|(?:DETAIL|HINT|CONTEXT|STATEMENT|QUERY|WHERE"
                      rb"|LOCATION):\s)")
_MS_HEADER = re.compile(rb"\bMsg \d{3,5}, Level \d{1,2}, State \d{1,3}")
_JS_FRAME = re.compile(rb"^\s+at \S")
_JS_FIELD = re.compile(rb"^\s+(?:[\w$]+|'[^'\n]{1,60}'|\[[^\]\n]{1,60}\]): ")
_JS_END = re.compile(rb"^\s*\}\s*$")


class _Kind(Enum):
    SQLSERVER = "sqlserver"
    POSTGRES = "postgres"
    NODE = "node-postgres"


@dataclass
class _Open:
    """A database error whose continuation lines are still being read."""

    kind: _Kind
    lh: LineHits
    hit: Hit
    prefix: re.Pattern[bytes] | None
    in_object: bool = False  # node-postgres: inside the ``{ … }`` of the error's fields
    lines: int = 0

    def step(self, line: bytes) -> tuple[bool, bool]:
        """(joins, ends): whether ``line`` continues the error, and whether it is its last."""
        if self.prefix is not None:
            m = self.prefix.match(line)
            if m is not None:
                line = line[m.end():]
        if not line.strip() or self.lines >= MAX_LINES:
            return False, True
        if self.kind is _Kind.SQLSERVER:
            return not _MS_HEADER.search(line), True
        if self.kind is _Kind.POSTGRES:
            return bool(_PG_MORE.match(line.lstrip())), False
        if self.in_object:
            if _JS_END.match(line):
                return True, True
            return bool(_JS_FIELD.match(line)), False
        if _JS_FRAME.match(line):
            self.in_object = line.rstrip().endswith(b"{")
            return True, False
        return False, True


def _opener(lh: LineHits) -> _Open | None:
    """The error starting on this line whose continuation may follow, if any."""
    for i, h in enumerate(lh.hits):
        if h.rule.id == HEADER_RULE:
            kind = _Kind.SQLSERVER
            cut = h.start
        elif h.rule.id in PG_RULES:
            word = lh.text[h.start:h.start + 6]
            if word in (b"ERROR:", b"FATAL:", b"PANIC:"):
                kind = _Kind.POSTGRES
            elif word == b"error:":
                kind = _Kind.NODE
            else:
                continue
            cut = h.start
        else:
            continue
        if lh.col_base:
            return None
        h = _replace(h)  # the finding's own hit: its end line grows, the chunk's stays
        blk = _Open(kind, _copy(lh, [h if x is lh.hits[i] else x for x in lh.hits]), h,
                    prefix_regex(lh.text[:cut].rstrip(b" \t")))
        blk.in_object = kind is _Kind.NODE and lh.text.rstrip().endswith(b"{")
        return blk
    return None


def _copy(lh: LineHits, hits: list[Hit]) -> LineHits:
    return LineHits(lh.line, lh.col_base, lh.text, hits, lh.offset)


def _replace(h: Hit, **kw: int) -> Hit:
    return replace(h, **kw)  # type: ignore[arg-type]


class DbJoiner:
    """Joins the continuation lines of database errors to their findings (one stream)."""

    def __init__(self) -> None:
        self._blk: _Open | None = None

    def pending_line(self) -> int | None:
        """First line of the error still being read (an incremental scan resumes there)."""
        return self._blk.hit.line if self._blk is not None else None

    def finish(self) -> list[LineHits]:
        """End of stream: the held error, as far as it got."""
        out: list[LineHits] = []
        self._close(out)
        return out

    def feed(self, chunk: Chunk, hits: list[LineHits]) -> list[LineHits]:
        """The line hits of one chunk, with database errors joined over their lines."""
        data = chunk.data
        out: list[LineHits] = []
        if chunk.first_col or chunk.limit < len(data):  # a window of an over-long line
            self._close(out)
            return out + hits
        by_line = {lh.line: lh for lh in hits}
        skip: set[int] = set()
        if self._blk is not None:
            self._walk(data, 0, chunk.first_line, by_line, skip, out)
        for lh in hits:
            if lh.line in skip:
                continue
            blk = _opener(lh) if lh.offset >= 0 else None
            if blk is None:
                out.append(lh)
                continue
            self._blk = blk
            nl = data.find(b"\n", lh.offset)
            if nl < 0:
                continue  # the chunk ends on this line: held
            self._walk(data, nl + 1, lh.line + 1, by_line, skip, out)
        return out

    # -- internals

    def _walk(self, data: bytes, pos: int, line_no: int, by_line: dict[int, LineHits],
              skip: set[int], out: list[LineHits]) -> None:
        """Read lines from ``pos`` while they continue the open error."""
        n = len(data)
        while self._blk is not None and pos < n:
            blk = self._blk
            le = data.find(b"\n", pos)
            if le < 0:
                le = n
            line = data[pos:le]
            if line.endswith(b"\r"):
                line = line[:-1]
            joins, ends = blk.step(line)
            if not joins:
                self._close(out)
                return
            blk.lines += 1
            blk.hit.end_line = line_no
            lh = by_line.get(line_no)
            if lh is not None:
                skip.add(line_no)
                self._absorb(blk, lh, out)
            if ends:
                self._close(out)
                return
            pos = le + 1
            line_no += 1

    def _absorb(self, blk: _Open, lh: LineHits, out: list[LineHits]) -> None:
        """A continuation line with hits: the same error's hits join the finding, others stay.

        The chunk's own ``LineHits`` are left as they are (a rewriter gets them unjoined):
        what changes is a copy."""
        msg = next((h for h in lh.hits if h.rule.id == MESSAGE_RULE), None)
        if blk.kind is _Kind.SQLSERVER and msg is not None:
            # The message line reports the error (its text is what is masked and shown).
            rest = [h for h in blk.lh.hits if h is not blk.hit]
            if rest:
                out.append(_copy(blk.lh, rest))
            msg = _replace(msg, line=blk.hit.line, end_line=lh.line)
            blk.hit = msg
            blk.lh = _copy(lh, [msg if h.rule.id == MESSAGE_RULE else h for h in lh.hits
                                if h.rule.id not in JOINED or h.rule.id == MESSAGE_RULE])
            return
        kept = [h for h in lh.hits if h.rule.id not in JOINED]
        if kept:
            out.append(_copy(lh, kept))

    def _close(self, out: list[LineHits]) -> None:
        if self._blk is not None:
            out.append(self._blk.lh)
            self._blk = None
