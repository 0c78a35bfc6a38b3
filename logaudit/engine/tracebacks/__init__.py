"""Multi-line stack traces, one finding per block: Python, JVM, Go, Node.js, Ruby, PHP, .NET, Rust.

How it stays fast and chunk-independent:

- The engine's prefilter finds the start markers (``KEYWORDS``) over a whole chunk; this module
  touches only the lines holding a marker and, once a block is open, the lines that follow it
  until the block closes. No Python runs on other lines.
- A block is a small line-by-line state machine. Its state (and the last two lines of the
  previous chunk, for a header that stands one line above the first frame) is carried from one
  chunk to the next, so a trace cut by a chunk boundary gives the finding one big chunk gives.
- Log prefixes (timestamp, level, thread, container) are learnt from the block's first line: the
  prefix with its time-like tokens generalised becomes a regex every later line must start with
  (or the line carries no prefix at all). A line with another prefix (another thread) is foreign:
  it neither ends nor joins the block, so interleaved traces stay apart.
- A trace inside one JSON line (``"exc_info": "Traceback…\\n  File…"``) is decoded and parsed
  the same way, and reported on that line.

Layout: ``base`` holds the :class:`Verdict` of a line, the :class:`Block` every family extends
(prefix handling, what a block revealed) and the :class:`Family` registry entry; one module per
language family (``python``, ``rust``, ``atframes`` for JVM/Node.js/.NET, ``go``, ``php``,
``ruby``) holds its line shapes, block class and start functions; ``registry`` lists the
families. This module is the detector: it walks chunks, opens blocks through the registry and
emits the closed ones.

Messages in ``details`` and the reported first line are masked with a conservative, local,
length-preserving function (e-mails, ``password=``-style values, long mixed tokens, digit runs of
nine or more): the detector only receives block rules, so it cannot run the secret/PII rule set,
and a traceback must never carry a raw value into a report.
"""

from __future__ import annotations

from collections.abc import Sequence

from logaudit.engine.model import Hit, LineHits
from logaudit.engine.tracebacks.base import (
    ACCEPT,
    FOREIGN,
    PENDING,
    REJECT,
    Block,
    Verdict,
    docker_log,
    unescape,
)
from logaudit.engine.tracebacks.registry import DETECTOR_LANGS, KEYWORDS, first_block
from logaudit.masking import mask_text
from logaudit.rules import Rule
from logaudit.sources.chunking import Chunk

__all__ = ["DETECTOR_LANGS", "KEYWORDS", "Block", "TracebackDetector", "Verdict", "docker_log",
           "make_detector", "mask_text", "start_block"]

_Block = Block  # the name the single-class module used (tests patch ``offer`` through it)
MAX_OPEN = 8
BACK = 10  # lines looked back for a header (past other threads' lines, or a message of a few lines)


def _lang_of(lang: str) -> str:
    for name, langs in DETECTOR_LANGS.items():
        if lang in langs:
            return name
    return ""


def start_block(line: bytes, line_no: int, back: Sequence[tuple[bytes, int]]) -> Block | None:
    """Open a block at ``line`` if it starts a stack trace; ``back`` = preceding lines, nearest
    first, that no block consumed."""
    return first_block(line, line_no, back)


# ---------------------------------------------------------------- traces inside one JSON line


def _string_around(line: bytes, pos: int) -> tuple[int, int] | None:
    """The (start, end) of the JSON string literal holding ``pos``, quotes excluded."""
    i = pos
    while True:
        i = line.rfind(b'"', 0, i)
        if i < 0:
            return None
        if not _escaped(line, i):
            break
    j = pos
    while True:
        j = line.find(b'"', j)
        if j < 0:
            return None
        if not _escaped(line, j):
            return i + 1, j
        j += 1


def _escaped(line: bytes, i: int) -> bool:
    n = 0
    while i - n - 1 >= 0 and line[i - n - 1] == 92:
        n += 1
    return n % 2 == 1


def _parse_lines(lines: list[bytes]) -> Block | None:
    """Run the block machine over an in-memory list of lines; the first reportable block."""
    open_blk: Block | None = None
    low_kw = [k.lower().encode() for k in KEYWORDS]
    for i, line in enumerate(lines):
        if open_blk is not None:
            r = open_blk.offer(line, i + 1)
            if r in (ACCEPT, PENDING, FOREIGN):
                continue
            if open_blk.reportable():
                return open_blk
            open_blk = None
        low = line.lower()
        if any(k in low for k in low_kw):
            back = [(lines[j], j + 1) for j in range(i - 1, max(-1, i - 1 - BACK), -1)]
            open_blk = start_block(line, i + 1, back)
    return open_blk if open_blk is not None and open_blk.reportable() else None


def docker_block(line: bytes, line_no: int, back: Sequence[tuple[bytes, int]]) -> Block | None:
    """A trace starting in a Docker json-file record: its lines follow in the next records."""
    inner = docker_log(line)
    if inner is None:
        return None
    inner_back = [(t, n) for b, n in back if (t := docker_log(b)) is not None]
    blk = start_block(inner, line_no, inner_back)
    if blk is not None:
        blk.docker = True
    return blk


def embedded_block(line: bytes, line_no: int, marks: Sequence[int]) -> Block | None:
    """A whole trace inside one JSON string of ``line`` (escaped newlines), if any."""
    for pos in marks:
        span = _string_around(line, pos)
        if span is None:
            continue
        raw = line[span[0]:span[1]]
        if b"\\n" not in raw:
            continue
        blk = _parse_lines(unescape(raw).split(b"\n"))
        if blk is None:
            continue
        head_end = line.find(b"\\n", span[0], span[1])
        blk.line = blk.end_line = line_no
        blk.text, blk.span, blk.embedded = line, (span[0], head_end), True
        return blk
    return None


# ---------------------------------------------------------------- the detector


class TracebackDetector:
    """Finds stack traces in one stream, chunk after chunk (see the module docstring)."""

    def __init__(self, rules: Sequence[Rule]) -> None:
        self.rules = [r for r in rules if r.detector in DETECTOR_LANGS]
        self._rule_for = {r.detector: r for r in self.rules}
        self._open: list[Block] = []  # newest first
        self._tail: list[tuple[bytes, int]] = []  # last lines of the previous chunk, newest first
        self._consumed: set[int] = set()  # recent line numbers that belong to some block

    def keywords(self) -> list[str]:
        """Start markers for the engine's prefilter (none when no traceback rule is selected)."""
        return list(KEYWORDS) if self.rules else []

    def feed(self, chunk: Chunk, marks: list[int]) -> list[LineHits]:
        """Walk the lines of open blocks and of lines holding a marker; emit closed blocks."""
        out: list[LineHits] = []
        if not self.rules:
            return out
        data, n = chunk.data, len(chunk.data)
        if chunk.first_col or chunk.limit < n:  # a window of an over-long line: no structure
            self._close_all(out)
            self._tail = []
            return out
        pos, line_no, mi, nm = 0, chunk.first_line, 0, len(marks)
        while pos < n:
            if not self._open:
                while mi < nm and marks[mi] < pos:
                    mi += 1
                if mi >= nm:
                    break
                cut = data.rfind(b"\n", pos, marks[mi])
                ls = pos if cut < 0 else cut + 1
                line_no += data.count(b"\n", pos, ls)
                pos = ls
            le = data.find(b"\n", pos)
            if le < 0:
                le = n
            line_marks: list[int] = []
            while mi < nm and marks[mi] < le:
                if marks[mi] >= pos:
                    line_marks.append(marks[mi] - pos)
                mi += 1
            line = data[pos:le - 1] if le > pos and data[le - 1] == 13 else data[pos:le]
            consumed = self._offer(line, line_no, out) if self._open else False
            if not consumed and line_marks:
                consumed = self._start(line, line_no, line_marks, data, pos, chunk, out)
            if consumed:
                self._consume(line_no)
            pos = le + 1
            line_no += 1
        self._remember_tail(chunk)
        return out

    def pending_line(self) -> int | None:
        """First line of the earliest block still open (an incremental scan resumes there)."""
        return min((b.line for b in self._open), default=None)

    def finish(self) -> list[LineHits]:
        """End of stream: report open blocks."""
        out: list[LineHits] = []
        self._close_all(out)
        self._tail = []
        self._consumed.clear()
        return out

    # -- internals

    def _offer(self, line: bytes, line_no: int, out: list[LineHits]) -> bool:
        consumed = False
        for blk in list(self._open):
            if consumed:
                continue
            r = blk.offer(line, line_no)
            if r in (ACCEPT, PENDING):
                consumed = True
            elif r == REJECT:
                self._open.remove(blk)
                self._emit(blk, out)
        return consumed

    def _start(self, line: bytes, line_no: int, line_marks: list[int], data: bytes, pos: int,
               chunk: Chunk, out: list[LineHits]) -> bool:
        if b"\\n" in line or b"\\t" in line:
            blk = embedded_block(line, line_no, line_marks)
            if blk is not None:
                self._emit(blk, out)
                return True
        back = self._back(data, pos, line_no, chunk)
        blk = (docker_block(line, line_no, back) if line.startswith(b'{"log":') else None) \
            or start_block(line, line_no, back)
        if blk is None:
            return False
        self._open.insert(0, blk)
        while len(self._open) > MAX_OPEN:
            self._emit(self._open.pop(), out)
        return True

    def _consume(self, line_no: int) -> None:
        self._consumed.add(line_no)
        if len(self._consumed) > 4 * BACK:
            self._consumed = {n for n in self._consumed if n > line_no - BACK}

    def _back(self, data: bytes, pos: int, line_no: int, chunk: Chunk) -> list[tuple[bytes, int]]:
        """Up to BACK lines before ``pos`` (this chunk, then the previous one), newest first,
        without those a block already holds."""
        got: list[tuple[bytes, int]] = []
        end = pos
        while len(got) < BACK and end > 0:
            s = data.rfind(b"\n", 0, end - 1) + 1
            got.append((data[s:end - 1].rstrip(b"\r"), line_no - len(got) - 1))
            end = s
        if end == 0:
            got.extend(self._tail[: BACK - len(got)])
        return [(t, no) for t, no in got if no not in self._consumed]

    def _remember_tail(self, chunk: Chunk) -> None:
        data = chunk.data
        nl = data.endswith(b"\n")
        last = chunk.first_line + data.count(b"\n") - (1 if nl else 0)
        end = len(data) - (1 if nl else 0)
        got: list[tuple[bytes, int]] = []
        while len(got) < BACK and end >= 0:
            s = data.rfind(b"\n", 0, end) + 1
            got.append((data[s:end].rstrip(b"\r"), last - len(got)))
            if s == 0:
                break
            end = s - 1
        got.extend(self._tail[: BACK - len(got)])
        self._tail = got

    def _close_all(self, out: list[LineHits]) -> None:
        while self._open:
            self._emit(self._open.pop(), out)

    def _emit(self, blk: Block, out: list[LineHits]) -> None:
        if not blk.reportable():
            return
        rule = self._rule_for.get(_lang_of(blk.language()))
        if rule is None:
            return
        s, e = blk.span
        hit = Hit(rule, blk.line, blk.end_line, s, e, s, s, blk.details())
        out.append(LineHits(blk.line, 0, mask_text(blk.text), [hit]))


def make_detector(rules: Sequence[Rule]) -> TracebackDetector:
    """Factory registered in :data:`logaudit.engine.blocks.DETECTORS`."""
    return TracebackDetector(rules)
