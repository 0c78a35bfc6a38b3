"""What the engine produces: confirmed hits, grouped by the line they stand in."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from logaudit.rules import Rule
from logaudit.sources.chunking import Chunk


@dataclass(slots=True)
class Hit:
    """A confirmed match: byte offsets inside its ``LineHits.text``.

    ``secret_start == secret_end`` means the hit has no value to hide (a traceback header).
    """

    rule: Rule
    line: int
    end_line: int
    start: int
    end: int
    secret_start: int
    secret_end: int
    details: dict[str, Any] | None = None


@dataclass(slots=True)
class LineHits:
    """Every hit on one line. ``text`` is the line without its line ending; ``col_base`` is the
    byte offset of ``text[0]`` inside the line (non-zero for a window of an over-long line);
    ``offset`` is the byte offset of ``text[0]`` in the chunk's data (-1: not known, as for
    multi-line blocks, which carry no value to rewrite)."""

    line: int
    col_base: int
    text: bytes
    hits: list[Hit] = field(default_factory=list)
    offset: int = -1


class BlockDetector(Protocol):
    """A stateful multi-line detector (tracebacks), fed chunk after chunk of one stream.

    The engine runs the detector's ``keywords`` through the same prefilter as the rules and hands
    it the offsets (in ``chunk.data``) where they occur; the detector may then read lines of the
    chunk itself, and carries any open block into the next chunk.
    """

    rules: list[Rule]

    def keywords(self) -> list[str]:
        """Literals (case-insensitive) that can start or continue a block."""
        ...

    def feed(self, chunk: Chunk, marks: list[int]) -> list[LineHits]:
        """Process one chunk given the sorted offsets of keyword hits in it."""
        ...

    def finish(self) -> list[LineHits]:
        """End of stream: close any open block."""
        ...
