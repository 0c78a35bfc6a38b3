"""Database-error and disclosure rules: examples through the engine (both backends), masking of
disclosed values, silence on real log lines, and the sample logs."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from logaudit.engine.blocks import DETECTORS
from logaudit.engine.prefilter import hyperscan_available
from logaudit.engine.scanner import Engine, all_hits, scan_bytes
from logaudit.findings import build_findings
from logaudit.rules import Rule, load_rule_file

ROOT = Path(__file__).resolve().parent.parent
ASSETS = Path(__file__).resolve().parent / "assets" / "errors"
SAMPLES = ROOT / "sample_logs" / "errors"
PACKS = {n: load_rule_file(ROOT / "patterns" / "errors" / f"{n}.toml")
         for n in ("tracebacks", "db", "disclosure")}
LINE_RULES = PACKS["db"] + PACKS["disclosure"]
ALL = [r for rules in PACKS.values() for r in rules]
BACKENDS = ["pyahocorasick"] + (["hyperscan"] if hyperscan_available() else [])
ENGINES = {b: Engine(ALL, backend=b, detectors=DETECTORS) for b in BACKENDS}


def test_categories_and_remediation() -> None:
    assert {r.category.value for r in PACKS["db"]} == {"db_error"}
    assert {r.category.value for r in PACKS["disclosure"]} == {"disclosure"}
    for r in LINE_RULES + PACKS["tracebacks"]:
        assert r.remediation, r.id
    for r in PACKS["disclosure"]:
        text = r.remediation.lower()
        assert "generic" in text and "request id" in text, r.id


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("rule", LINE_RULES, ids=[r.id for r in LINE_RULES])
def test_examples_through_engine(rule: Rule, backend: str) -> None:
    engine = ENGINES[backend]
    for ex in rule.examples:
        assert any(h.rule is rule for h in all_hits(scan_bytes(engine, ex.encode() + b"\n"))), ex
    for ex in rule.counter_examples:
        assert not any(h.rule is rule for h in all_hits(scan_bytes(engine, ex.encode() + b"\n")))


@pytest.mark.parametrize("line, raw, shown", [
    (b"ERROR DETAIL:  Key (email)=(bob@example.com) already exists.", "bob@example.com",
     "Key (email)=(b***@example.com)"),
    (b"Duplicate entry 'carol@example.org' for key 'users.uk_email'", "carol@example.org",
     "Duplicate entry 'c***@example.org'"),
    (b"[parameters: {'email_1': 'dave@example.com', 'pw': 's3cr3t'}]", "s3cr3t", "[parameters: "),
    (b"login failed: user \"mallory@example.com\" not found", "mallory@example.com",
     "m***@example.com"),
])
def test_disclosed_values_are_masked(line: bytes, raw: str, shown: str) -> None:
    for engine in ENGINES.values():
        findings = [f for lh in scan_bytes(engine, line + b"\n")
                    for f in build_findings(lh, "x.log", "run", b"k")]
        assert findings
        for f in findings:
            assert raw not in f.match and raw not in f.context, f
        assert any(shown in f.match for f in findings), [f.match for f in findings]


def test_private_address_only_inside_error_messages() -> None:
    engine = ENGINES[BACKENDS[-1]]
    quiet = [
        b"081109 204005 35 INFO dfs.FSNamesystem: BLOCK* NameSystem.addStoredBlock: blockMap "
        b"updated: 10.251.73.220:50010 is added to blk_7128370237687728475 size 67108864",
        b"Accepted publickey for deploy from 192.168.4.20 port 52814 ssh2",
        b"GET /api 200 client=10.0.0.7 upstream_time=0.012",
    ]
    loud = b'connect() failed (111: Connection refused) while connecting to upstream, ' \
           b'upstream: "http://10.0.4.17:8080/api"'
    for q in quiet:
        assert not [h for h in all_hits(scan_bytes(engine, q + b"\n"))
                    if h.rule.category.value == "disclosure"], q
    (h,) = all_hits(scan_bytes(engine, loud + b"\n"))
    assert loud[h.secret_start:h.secret_end] == b"10.0.4.17"


def test_real_log_lines_stay_silent() -> None:
    """Lines copied from real_logs that hold error-ish words (exceptions, 'Invalid user', private
    IPs, 'user unknown', 'timed out') give no error-category finding."""
    data = (ASSETS / "real_lines.log").read_bytes()
    for engine in ENGINES.values():
        assert not all_hits(scan_bytes(engine, data))


def _rules_found(path: Path) -> Counter[str]:
    engine = ENGINES[BACKENDS[-1]]
    return Counter(h.rule.id for h in all_hits(scan_bytes(engine, path.read_bytes())))


def test_sample_logs_show_each_category() -> None:
    tb = _rules_found(SAMPLES / "tracebacks.log")
    for r in PACKS["tracebacks"]:
        assert tb[r.id] == len(r.examples), (r.id, tb)
    db = _rules_found(SAMPLES / "db_errors.log")
    assert {r.id for r in PACKS["db"]} <= set(db)
    disc = _rules_found(SAMPLES / "disclosure.log")
    assert {r.id for r in PACKS["disclosure"]} <= set(disc)


def test_traceback_details_are_json_serialisable() -> None:
    engine = ENGINES[BACKENDS[0]]
    for lh in scan_bytes(engine, (SAMPLES / "tracebacks.log").read_bytes()):
        for f in build_findings(lh, "x.log", "run", b"k"):
            if f.category == "traceback":
                assert f.details and json.loads(f.details)["language"]


# (text, the database rules found, in line order): one error, one finding — the generic message
# rules yield to a driver rule on the same line, and the lines printed after a message
# (LINE n:, caret, HINT:, node-postgres' fields) carry no rule of their own.
ONE_DB_FINDING = [
    (b'psycopg2.errors.UndefinedColumn: column "x" does not exist\n', ["psycopg-error"]),
    (b'SQLSTATE[42703]: Undefined column: 7 ERROR:  column "x" does not exist\n',
     ["sqlstate-error"]),
    (b"PHP Fatal error:  Uncaught PDOException: SQLSTATE[42S02]: Base table or view not found\n",
     ["pdo-exception"]),
    (b'org.postgresql.util.PSQLException: ERROR: relation "t" does not exist\n',
     ["jdbc-hibernate-error"]),
    (b"Microsoft.Data.SqlClient.SqlException (0x80131904): Invalid object name 'dbo.T'.\n",
     ["sqlserver-error"]),
    (b'ERROR:  column "emial" does not exist\nLINE 1: SELECT emial FROM users;\n'
     b'               ^\nHINT:  Perhaps you meant to reference the column "users.email".\n',
     ["postgres-error-message"]),
    (b'error: column "x" does not exist\n'
     b"    at Parser.parseErrorMessage (/app/node_modules/pg-protocol/dist/parser.js:287:98) {\n"
     b"  length: 104,\n  severity: 'ERROR',\n  code: '42703',\n  routine: 'errorMissingColumn'\n"
     b"}\n", ["postgres-error-message"]),
    # sqlcmd prints the header and the message on two lines: two findings
    (b"Msg 208, Level 16, State 1, Line 1\nInvalid object name 'dbo.CustomerCards'.\n",
     ["sqlserver-msg-header", "sqlserver-message"]),
]


@pytest.mark.parametrize("text, rules", ONE_DB_FINDING)
def test_one_database_error_is_one_finding(text: bytes, rules: list[str]) -> None:
    for engine in ENGINES.values():
        got = [h.rule.id for h in sorted(all_hits(scan_bytes(engine, text)),
                                         key=lambda h: (h.line, h.start))
               if h.rule.category.value == "db_error"]
        assert got == rules
