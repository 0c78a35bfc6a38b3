"""The compiled ruleset: prefilter → candidate (line, rule) → regex + validators on that line.

Per-byte work runs in C (the prefilter over a whole block, ``bytes.count`` for line numbers);
Python touches only the lines that hold a candidate.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable, Iterable, Sequence

from logaudit.engine.model import BlockDetector, Hit, LineHits
from logaudit.engine.prefilter import Pattern, Prefilter, engine_name, make_prefilter
from logaudit.errors import RuleError
from logaudit.rules import Category, Rule
from logaudit.sources.chunking import Chunk

DetectorFactory = Callable[[Sequence[Rule]], BlockDetector]

_SUPPRESSIBLE = (Category.SECRET, Category.PII)


def resolve_overlaps(hits: list[Hit]) -> list[Hit]:
    """Drop a secret/PII hit whose value overlaps the value of a stronger hit on the same line.

    Stronger = lower ``priority`` (specific token rules 10, structural rules such as URL
    credentials and key blocks 15, PII 20, generic rules 30), then higher severity.

    A generic database-error hit (priority 30 and up: a server message or SQLSTATE wherever it
    is printed) is dropped when a stronger database-error hit's match overlaps its match: the
    driver rule (``psycopg2.errors.X: …``, ``PDOException: SQLSTATE…``) already reports the line.
    """
    if len(hits) < 2:
        return hits
    ranked = sorted(hits, key=lambda h: (h.rule.priority, -h.rule.severity.rank,
                                         h.secret_start, h.rule.id))
    kept: list[Hit] = []
    # The kept secret/PII values never overlap one another: keep them sorted by start, and
    # check a newcomer against its two neighbours only (n log n for a line of 50,000 values).
    starts: list[int] = []
    ends: list[int] = []
    db: list[Hit] = []  # kept database-error hits (a handful per line at most)
    for h in ranked:
        if h.rule.category is Category.DB_ERROR:
            if h.rule.priority >= 30 and any(k.start < h.end and h.start < k.end for k in db):
                continue
            db.append(h)
        elif h.rule.category in _SUPPRESSIBLE:
            i = bisect_right(starts, h.secret_start)
            if (i and ends[i - 1] > h.secret_start) or \
                    (i < len(starts) and starts[i] < h.secret_end):
                continue
            starts.insert(i, h.secret_start)
            ends.insert(i, h.secret_end)
        kept.append(h)
    kept.sort(key=lambda h: (h.start, h.rule.id))
    return kept


def confirm_windows(offsets: list[int], reach: int, length: int) -> list[tuple[int, int, int]]:
    """Where to confirm one rule on a line of ``length`` bytes, given its prefilter hits.

    A match that touches a hit (its bytes or lookarounds within ``reach`` of it) starts in
    ``[hit - reach, hit + reach]`` and reads no further than ``hit + 2 * reach``. Returns
    ``(pos, endpos, last_start)`` per group of nearby hits; groups are far enough apart that a
    match of one cannot run into the next, so every match is found once, in line order, and
    the work is linear in the line's length whatever the number of hits.
    """
    out: list[tuple[int, int, int]] = []
    first = last = offsets[0]
    for off in offsets[1:]:
        if off - last > 3 * reach:
            out.append((max(0, first - reach), min(length, last + 2 * reach + 2),
                        last + reach))
            first = off
        last = off
    out.append((max(0, first - reach), min(length, last + 2 * reach + 2), last + reach))
    return out


class Engine:
    """Rules compiled for scanning. Build once, then call :meth:`stream` for each input."""

    def __init__(
        self,
        rules: Sequence[Rule],
        backend: str = "auto",
        detectors: Sequence[DetectorFactory] = (),
        claimants: Sequence[Rule] = (),
    ) -> None:
        # Claimants (rules.claimant_rules) take part in overlap resolution only: a value they
        # win is not reported by a weaker selected rule, and their own hits are dropped.
        self.line_rules = [r for r in rules if not r.detector]
        reported = {r.id for r in self.line_rules}
        extra = [r for r in claimants if not r.detector and r.id not in reported]
        self.claim_only = frozenset(r.id for r in extra)
        self.line_rules += extra
        self.block_rules = [r for r in rules if r.detector]
        self._detector_factories = list(detectors) if self.block_rules else []
        patterns: list[Pattern] = []
        # pattern index → rule index (>= 0) or -1 for a block-detector keyword
        self._owner: list[int] = []
        seen: dict[tuple[str, bool], int] = {}
        targets: list[list[int]] = []
        backend = engine_name(backend)
        for ri, rule in enumerate(self.line_rules):
            # A rule with both gives each engine its cheaper superset: hyperscan runs the
            # (keyword and shape) prefilter as fast as a literal, Python `re` would not.
            use_prefilter = bool(rule.prefilter) and (backend == "hyperscan" or not rule.keywords)
            if not use_prefilter:
                for kw in rule.keywords:
                    self._add(patterns, targets, seen, Pattern(kw.lower(), True), ri)
            else:
                self._add(patterns, targets, seen, Pattern(rule.prefilter, False), ri)
        self._detector_pattern_ids: set[int] = set()
        for det_kw in self._detector_keywords():
            pid = self._add(patterns, targets, seen, Pattern(det_kw.lower(), True), -1)
            self._detector_pattern_ids.add(pid)
        self._targets = [tuple(t) for t in targets]
        try:
            self.prefilter: Prefilter = make_prefilter(patterns, backend)
        except Exception as e:  # hyperscan.error: name the rule whose pattern it refused
            if not patterns or backend == "pyahocorasick":
                raise
            for pid, pattern in enumerate(patterns):
                try:
                    make_prefilter([pattern], backend)
                except Exception as inner:
                    owner = [self.line_rules[i] for i in targets[pid] if i >= 0]
                    raise RuleError(owner[0].source if owner else "-",
                                    owner[0].id if owner else "-",
                                    f"the {backend} engine cannot compile pattern "
                                    f"{pattern.text!r}: {inner}") from None
            raise RuleError("-", "-", f"the {backend} engine failed: {e}") from None

    @staticmethod
    def _add(
        patterns: list[Pattern],
        targets: list[list[int]],
        seen: dict[tuple[str, bool], int],
        pattern: Pattern,
        rule_index: int,
    ) -> int:
        key = (pattern.text, pattern.literal)
        pid = seen.get(key)
        if pid is None:
            pid = seen[key] = len(patterns)
            patterns.append(pattern)
            targets.append([])
        if rule_index not in targets[pid]:
            targets[pid].append(rule_index)
        return pid

    def _detector_keywords(self) -> list[str]:
        kws: list[str] = []
        for factory in self._detector_factories:
            for kw in factory(self.block_rules).keywords():
                if kw not in kws:
                    kws.append(kw)
        return kws

    @property
    def backend(self) -> str:
        """Name of the prefilter backend in use."""
        return self.prefilter.name

    def stream(self) -> StreamScan:
        """A scanner for one input stream (carries block-detector state across chunks)."""
        return StreamScan(self, [f(self.block_rules) for f in self._detector_factories])

    def scan_line_rules(self, chunk: Chunk) -> tuple[list[LineHits], list[int]]:
        """Confirm line rules in one chunk; also return the offsets of block-detector keywords."""
        data = chunk.data
        raw = self.prefilter.scan(data)
        if not raw:
            return [], []
        raw.sort()
        targets = self._targets
        rules = self.line_rules
        marks: list[int] = []
        out: list[LineHits] = []
        line_no = chunk.first_line
        counted_to = 0
        line_end = -1
        cand: dict[int, list[int]] = {}
        line_start = 0
        det_ids = self._detector_pattern_ids
        claim_only = self.claim_only

        def flush() -> None:
            nonlocal line_no, counted_to
            if not cand:
                return
            line_no += data.count(b"\n", counted_to, line_start)
            counted_to = line_start
            text = data[line_start:line_end]
            if text.endswith(b"\r"):
                text = text[:-1]
            col_base = chunk.first_col if line_start == 0 else 0
            hits: list[Hit] = []
            n = len(text)
            limit = chunk.limit - line_start
            for ri in sorted(cand):
                rule = rules[ri]
                offs = cand[ri]
                for pos, endpos, last_start in confirm_windows(offs, rule.reach, n):
                    hits.extend(Hit(rule, line_no, line_no, m.start, m.end,
                                    m.secret_start, m.secret_end)
                                for m in rule.find(text, pos, endpos, min(last_start, limit - 1)))
            if hits:
                hits = resolve_overlaps(hits)
                if claim_only:
                    hits = [h for h in hits if h.rule.id not in claim_only]
                if hits:
                    out.append(LineHits(line_no, col_base, text, hits, line_start))

        for off, pid in raw:
            if pid in det_ids:
                marks.append(off)
            if off >= line_end:
                flush()
                cand = {}
                line_start = data.rfind(b"\n", 0, off) + 1
                line_end = data.find(b"\n", off)
                if line_end < 0:
                    line_end = len(data)
            rel = off - line_start
            for ri in targets[pid]:
                if ri >= 0:
                    offs = cand.get(ri)
                    if offs is None:
                        cand[ri] = [rel]
                    elif offs[-1] != rel:
                        offs.append(rel)
        flush()
        return out, marks


class StreamScan:
    """Scans the chunks of one input in order; returns hits grouped by line."""

    def __init__(self, engine: Engine, detectors: list[BlockDetector]) -> None:
        self._engine = engine
        self._detectors = detectors

    def feed(self, chunk: Chunk) -> list[LineHits]:
        """Scan one chunk; block hits may be returned by a later call once their block ends."""
        out, marks = self._engine.scan_line_rules(chunk)
        for det in self._detectors:
            out.extend(det.feed(chunk, marks))
        return out

    def pending_line(self) -> int | None:
        """First line of the earliest multi-line block still open, if any.

        An incremental scan stops before that line instead of calling :meth:`finish`, so a block
        still being written is found whole by the next run.
        """
        lines = [n for det in self._detectors
                 if (n := getattr(det, "pending_line", lambda: None)()) is not None]
        return min(lines) if lines else None

    def finish(self) -> list[LineHits]:
        """End of the stream: flush open multi-line blocks."""
        out: list[LineHits] = []
        for det in self._detectors:
            out.extend(det.finish())
        return out


def scan_bytes(engine: Engine, data: bytes) -> list[LineHits]:
    """Scan an in-memory text as one stream (for tests and ``rules test``)."""
    import io

    from logaudit.sources.chunking import iter_chunks

    stream = engine.stream()
    out: list[LineHits] = []
    for chunk in iter_chunks(io.BytesIO(data)):
        out.extend(stream.feed(chunk))
    out.extend(stream.finish())
    return out


def all_hits(lines: Iterable[LineHits]) -> list[Hit]:
    """Flatten line groups to hits."""
    return [h for lh in lines for h in lh.hits]
