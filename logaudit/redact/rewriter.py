"""The rewriter: a decoded text stream in, the same bytes out with each value replaced.

It runs the scan's own engine chunk by chunk (same chunker, same hits, same findings) and copies
each chunk through, replacing only the value span (``secret_start``..``secret_end``) of every
hit whose rule marks a value. A chunk without such a hit is written as it is (one ``write`` of
the chunk's bytes), so line endings, invalid UTF-8 and clean lines come out byte-identical.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import BinaryIO, Protocol, cast

from logaudit.engine.model import Hit, LineHits
from logaudit.engine.scanner import Engine
from logaudit.redact.replace import Replacer, already_redacted, inside_token, rewrites
from logaudit.runner import READ_SIZE, ScanOptions, TaskResult, _emit, _StopOnError
from logaudit.sources.chunking import Chunk, iter_chunks
from logaudit.sources.openers import Stream


class Writer(Protocol):
    """Where rewritten bytes go (a file, an encoder, an archive member, stdout)."""

    def write(self, data: bytes, /) -> int | None:
        """Write ``data``."""
        ...


Recheck = Callable[[bytes], list[Hit]]

# Rounds of "replace, then look at the rewritten line again" before a line's values are all
# written as stars.
_ROUNDS = 3


def engine_recheck(engine: Engine) -> Recheck:
    """The rewritable hits the engine finds in one line (no line ending)."""

    def recheck(line: bytes) -> list[Hit]:
        found, _ = engine.scan_line_rules(Chunk(line, 1, 0, len(line), 0))
        return [h for lh in found for h in lh.hits if _rewritable(h, line)]

    return recheck


def _apply(text: bytes, hits: list[Hit], replace: Callable[[Hit, bytes], bytes]) -> bytes:
    parts: list[bytes] = []
    pos = 0
    for h in sorted(hits, key=lambda h: (h.secret_start, -h.secret_end)):
        if h.secret_end <= pos:
            continue
        if h.secret_start < pos:
            pos = h.secret_end
            continue
        parts.append(text[pos:h.secret_start])
        parts.append(replace(h, text[h.secret_start:h.secret_end]))
        pos = h.secret_end
    parts.append(text[pos:])
    return b"".join(parts)


class Rewriter:
    """Applies replacements to consecutive chunks of one stream and writes the result.

    Works in absolute stream offsets: chunks tile the stream (a window of an over-long line
    owns ``data[:limit]``), and a value that runs past a window's end is skipped in the next
    window too, so no raw byte of it is written.

    With ``recheck``, each rewritten line is scanned again: a replacement that, with what
    surrounds it, makes a new finding (``redis://:****tV7x@host`` reads as an e-mail) is
    replaced in turn, so the output holds no value a scan would report and redacting it again
    changes nothing.
    """

    def __init__(self, replacer: Replacer, out: Writer, recheck: Recheck | None = None) -> None:
        self.replacer = replacer
        self.out = out
        self.recheck = recheck
        self.cursor = 0  # stream offset written up to
        self.replaced = 0

    def _settle(self, text: bytes, hits: list[Hit]) -> bytes | None:
        """The line rewritten until a scan finds nothing in it; None if one pass does."""
        assert self.recheck is not None
        new = _apply(text, hits, self.replacer)
        again = self.recheck(new)
        if not again:
            return None
        for n in range(_ROUNDS):
            replace = self.replacer if n < _ROUNDS - 1 else _stars
            new = _apply(new, again, replace)
            self.replaced += len(again)
            again = self.recheck(new)
            if not again:
                return new
        return _apply(new, again, _stars)

    def feed(self, chunk: Chunk, lines: list[LineHits]) -> None:
        """Write ``chunk`` (its owned bytes) with the values of ``lines``' hits replaced."""
        off = chunk.offset
        data = chunk.data
        end = off + chunk.limit
        # (start, end, replacement or None, hit, value): None = the hit's own replacement
        edits: list[tuple[int, int, bytes | None, Hit | None, bytes]] = []
        for lh in lines:
            if lh.offset < 0:
                continue  # a multi-line block: no value to rewrite
            hits = [h for h in lh.hits if _rewritable(h, lh.text)]
            if not hits:
                continue
            base = off + lh.offset
            whole = lh.col_base == 0 and base + len(lh.text) <= end
            settled = self._settle(lh.text, hits) if self.recheck and whole else None
            if settled is not None:
                self.replaced += len(hits)
                edits.append((base, base + len(lh.text), settled, None, b""))
                continue
            edits.extend((base + h.secret_start, base + h.secret_end, None, h,
                          lh.text[h.secret_start:h.secret_end]) for h in hits)
        pos = self.cursor
        if not edits:
            if pos < end:
                self.out.write(data[pos - off:end - off])
                self.cursor = end
            return
        edits.sort(key=lambda x: (x[0], -x[1]))
        parts: list[bytes] = []
        for s, e, repl, hit, value in edits:
            if e <= pos:
                continue
            if s < pos:  # overlaps a value already replaced: drop its raw rest too
                pos = e
                continue
            parts.append(data[pos - off:s - off])
            if repl is None:
                assert hit is not None
                repl = self.replacer(hit, value)
                self.replaced += 1
            parts.append(repl)
            pos = e
        if pos < end:
            parts.append(data[pos - off:end - off])
            pos = end
        self.cursor = pos
        self.out.write(b"".join(parts))


def _rewritable(h: Hit, text: bytes) -> bool:
    return (h.secret_end > h.secret_start and rewrites(h.rule)
            and not already_redacted(text[h.secret_start:h.secret_end])
            and not inside_token(text, h.secret_start, h.secret_end))


def _stars(hit: Hit, value: bytes) -> bytes:
    return b"********"


def rewrite_text(
    stream: BinaryIO | Stream,
    path: str,
    opts: ScanOptions,
    engine: Engine,
    result: TaskResult,
    replacer: Replacer,
    out: Writer,
    *,
    eager: bool = False,
    after_chunk: Callable[[], None] | None = None,
) -> int:
    """Scan one decoded text stream into ``result`` (findings) and write it rewritten to ``out``.

    Returns the number of values replaced. A :class:`StreamError` propagates (the output is then
    incomplete and must be discarded by the caller). ``eager``: rewrite each line as soon as it
    is read (live pipes); ``after_chunk`` runs after each chunk is written (flush).
    """
    scan = engine.stream()
    rw = Rewriter(replacer, out, engine_recheck(engine))
    reader = _StopOnError(stream)
    done = 0
    for chunk in iter_chunks(cast(BinaryIO, reader), opts.block_size, opts.max_line,
                             read_size=READ_SIZE, eager=eager):
        lines = scan.feed(chunk)
        rw.feed(chunk, scan.line_hits)  # unjoined: every line's values with its own chunk
        _emit(lines, path, opts, result)
        done = chunk.offset + len(chunk.data)
        if after_chunk is not None:
            after_chunk()
    _emit(scan.finish(), path, opts, result)
    result.bytes_scanned += done
    result.members_scanned += 1
    if reader.error is not None:
        raise reader.error
    return rw.replaced
