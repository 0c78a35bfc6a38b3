"""Multi-line database errors are one finding spanning their lines (engine.dbblocks): SQL Server
header + message, raw PostgreSQL output with its LINE/caret/HINT lines, node-postgres errors
printed as JS objects — with and without a log prefix, cut by any chunk boundary, and the
incremental scan's pending line while one is open."""

from __future__ import annotations

import io

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from logaudit.engine.blocks import DETECTORS
from logaudit.engine.model import LineHits
from logaudit.engine.prefilter import hyperscan_available
from logaudit.engine.scanner import Engine, all_hits, scan_bytes
from logaudit.findings import build_findings
from logaudit.rules import load_builtin_rules
from logaudit.sources.chunking import Chunk, iter_chunks

BACKENDS = ["pyahocorasick"] + (["hyperscan"] if hyperscan_available() else [])
ENGINES = {b: Engine(load_builtin_rules(), backend=b, detectors=DETECTORS) for b in BACKENDS}

SQLSERVER = b"Msg 208, Level 16, State 1, Line 1\nInvalid object name 'dbo.Users'.\n"
POSTGRES = (b'ERROR:  column "x" does not exist\nLINE 1: select x from t\n'
            b"               ^\nHINT:  Perhaps you meant to reference the column \"t.y\".\n"
            b"DETAIL:  nothing more\nCONTEXT:  SQL function \"f\"\nSTATEMENT:  select x from t\n")
NODE = (b'error: column "x" does not exist\n'
        b"    at Parser.parseErrorMessage (/app/node_modules/pg-protocol/dist/parser.js:287:98)\n"
        b"    at Socket.<anonymous> (/app/node_modules/pg-protocol/dist/index.js:11:42) {\n"
        b"  length: 104,\n  severity: 'ERROR',\n  code: '42703',\n  position: '8',\n"
        b"  file: 'parse_relation.c',\n  routine: 'errorMissingColumn'\n}\n")
SHAPES = {"sqlserver": (SQLSERVER, "sqlserver-message"),
          "postgres": (POSTGRES, "postgres-error-message"),
          "node": (NODE, "postgres-error-message")}
AFTER = b"INFO request done\n"


def _db(lines: list[LineHits]) -> list[tuple[str, int, int]]:
    return sorted((h.rule.id, h.line, h.end_line) for h in all_hits(lines)
                  if h.rule.category.value == "db_error")


def _prefixed(text: bytes, prefix: bytes) -> bytes:
    return b"".join(prefix + line + b"\n" for line in text.splitlines())


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("shape", sorted(SHAPES))
@pytest.mark.parametrize("prefix", [b"", b"2024-05-01 10:00:00.123 UTC [4121] "])
def test_one_finding_spans_the_error(backend: str, shape: str, prefix: bytes) -> None:
    text, rule = SHAPES[shape]
    data = b"INFO start\n" + _prefixed(text, prefix) + AFTER
    n = text.count(b"\n")
    assert _db(scan_bytes(ENGINES[backend], data)) == [(rule, 2, 1 + n)]


def test_prefix_with_other_times_and_raw_continuations_join() -> None:
    data = (b"2024-05-01 10:00:00.123 UTC [4121] ERROR:  relation \"pay\" does not exist\n"
            b"2024-05-01 10:00:01.456 UTC [4121] STATEMENT:  select * from pay\n"
            b"LINE 1: select * from pay\n"
            b"2024-05-01 10:00:02 UTC [4122] LOG:  checkpoint starting\n")
    for engine in ENGINES.values():
        assert _db(scan_bytes(engine, data)) == [("postgres-error-message", 1, 3)]


def test_single_line_shapes_stay_one_line() -> None:
    cases = [
        (b"Msg 50000, Level 16, State 1, Line 3\n\nnext\n", [("sqlserver-msg-header", 1, 1)]),
        (b"Invalid object name 'dbo.Users'.\nLINE 1: x\n", [("sqlserver-message", 1, 1)]),
        (b'ERROR:  column "x" does not exist\nINFO next\n', [("postgres-error-message", 1, 1)]),
        (b'error: column "x" does not exist\nsomething else\n', [("postgres-error-message", 1, 1)]),
        # a header followed by another header: each is its own error
        (b"Msg 208, Level 16, State 1, Line 1\nMsg 207, Level 16, State 1, Line 2\nboom\n",
         [("sqlserver-msg-header", 1, 1), ("sqlserver-msg-header", 2, 3)]),
    ]
    for data, want in cases:
        for engine in ENGINES.values():
            assert _db(scan_bytes(engine, data)) == want, data


def test_lone_continuation_lines_are_not_findings() -> None:
    data = (b"LINE 1: select x from t\n               ^\nHINT:  Perhaps you meant x.\n"
            b"DETAIL:  something\n{\n  length: 104,\n  severity: 'ERROR',\n  code: '42703',\n}\n"
            b"    at Object.<anonymous> (/app/x.js:1:1) {\n  code: 'E1'\n}\n")
    for engine in ENGINES.values():
        assert _db(scan_bytes(engine, data)) == []


def test_a_driver_rule_on_the_line_still_reports_alone() -> None:
    data = (b'SQLSTATE[42703]: Undefined column: 7 ERROR:  column "x" does not exist\n'
            b"LINE 1: select x from t\n")
    for engine in ENGINES.values():
        assert _db(scan_bytes(engine, data)) == [("sqlstate-error", 1, 1)]


def test_key_detail_on_a_continuation_line_is_kept() -> None:
    data = (b'ERROR:  duplicate key value violates unique constraint "users_email_key"\n'
            b"DETAIL:  Key (email)=(ann@example.com) already exists.\n")
    for engine in ENGINES.values():
        assert _db(scan_bytes(engine, data)) == [("postgres-error-message", 1, 2),
                                                 ("postgres-key-detail", 2, 2)]


def test_joined_finding_keeps_message_masking() -> None:
    data = (b"Msg 2601, Level 14, State 1, Line 1\nCannot insert duplicate key row in object "
            b"'dbo.Users' with unique index 'IX_Email'. The duplicate key value is "
            b"(ann@example.com).\n")
    for engine in ENGINES.values():
        lines = scan_bytes(engine, data)
        found = [f for lh in lines for f in build_findings(lh, "x.log", "run", b"k")
                 if f.category == "db_error"]  # the e-mail is also its own PII finding
        assert [(f.rule_id, f.category, f.line, f.end_line) for f in found] == \
            [("sqlserver-message", "db_error", 1, 2)]
        shown = repr(found[0])
        assert "ann@example.com" not in shown and "dbo.Users" in shown


CORPUS = b"".join(b"INFO a line %d\n" % i + SHAPES[k][0] for i, k in
                  enumerate(sorted(SHAPES) * 3)) + AFTER


def _chunked(data: bytes, block: int, read: int) -> list[tuple[str, int, int]]:
    stream = ENGINES[BACKENDS[-1]].stream()
    out: list[LineHits] = []
    for chunk in iter_chunks(io.BytesIO(data), block_size=block, read_size=read):
        out.extend(stream.feed(chunk))
    out.extend(stream.finish())
    return _db(out)


@settings(max_examples=60, deadline=None)
@given(block=st.integers(min_value=1, max_value=2000), read=st.integers(min_value=1, max_value=997))
def test_chunk_boundaries_do_not_change_findings(block: int, read: int) -> None:
    whole = _db(scan_bytes(ENGINES[BACKENDS[-1]], CORPUS))
    assert len(whole) == 9 and all(end > start for _r, start, end in whole)
    assert _chunked(CORPUS, block, read) == whole


def test_pending_line_names_an_open_error() -> None:
    stream = ENGINES[BACKENDS[0]].stream()
    data = b"INFO x\n" + POSTGRES
    out: list[LineHits] = []
    for chunk in iter_chunks(io.BytesIO(data)):
        out.extend(stream.feed(chunk))
    assert stream.pending_line() == 2  # the error could go on in the next write
    assert _db(out) == []
    out.extend(stream.finish())
    assert _db(out) == [("postgres-error-message", 2, 8)]
    assert stream.pending_line() is None



@settings(max_examples=30, deadline=None)
@given(block=st.integers(min_value=1, max_value=600))
def test_a_rewriter_gets_each_line_with_its_chunk(block: int) -> None:
    """Redaction rewrites a line's values with the chunk that holds it (offsets are chunk
    relative): ``line_hits`` are the chunk's own, unjoined, with every value hit."""
    stream = ENGINES[BACKENDS[0]].stream()
    seen: list[tuple[str, int]] = []
    for chunk in iter_chunks(io.BytesIO(CORPUS), block_size=block, read_size=97):
        stream.feed(chunk)
        last = chunk.first_line + chunk.data.count(b"\n")
        for lh in stream.line_hits:
            assert chunk.first_line <= lh.line <= last
            assert chunk.data[lh.offset:lh.offset + len(lh.text)] == lh.text
            seen += [(h.rule.id, h.line) for h in lh.hits if h.line == h.end_line == lh.line]
    one = ENGINES[BACKENDS[0]].stream()
    one.feed(Chunk(CORPUS, 1, 0, len(CORPUS), 0))
    assert sorted(seen) == sorted((h.rule.id, h.line) for h in all_hits(one.line_hits))
    assert ("sqlserver-msg-header", 21) in seen  # the joined-away hit is still there to rewrite
