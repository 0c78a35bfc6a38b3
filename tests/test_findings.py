"""Finding record: masking, keyed fingerprints, timestamps."""

from __future__ import annotations

import os
import stat
from datetime import datetime, timezone
from pathlib import Path

import pytest

from logaudit.engine.scanner import Engine, scan_bytes
from logaudit.findings import build_findings, fingerprint, load_key, mask_value, parse_timestamp
from logaudit.rules import Category, load_builtin_rules

RULES = [r for r in load_builtin_rules() if not r.detector]
ENGINE = Engine(RULES)


def findings_for(line: str, show: bool = False) -> list:  # type: ignore[type-arg]
    out = []
    for lh in scan_bytes(ENGINE, line.encode() + b"\n"):
        out.extend(build_findings(lh, "x.log", "run", b"k", show_secrets=show))
    return out


@pytest.mark.parametrize(("value", "category", "expected"), [
    (b"4111 1111 1111 1111", Category.PII, "**** **** **** 1111"),
    (b"536-90-4399", Category.PII, "***-**-4399"),
    (b"jane.doe@example.com", Category.PII, "j***@example.com"),
    (b"DE89370400440532013000", Category.PII, "DE** **** 3000"),
    (b"+14155550134", Category.PII, "+*********34"),
])
def test_pii_masks(value: bytes, category: Category, expected: str) -> None:
    assert mask_value(value, category) == expected


def test_secret_mask_keeps_at_most_prefix_and_last4() -> None:
    v = b"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"
    assert mask_value(v, Category.SECRET, b"ghp_") == "ghp_********4xXH"
    assert mask_value(b"short", Category.SECRET) == "********"  # short values show nothing


def test_context_masks_every_value_on_the_line() -> None:
    fs = findings_for("pay card=4111 1111 1111 1111 mail=jane.doe@example.com ssn 536-90-4399")
    assert {f.rule_id for f in fs} == {"payment-card-number", "email-address", "us-ssn"}
    for f in fs:
        assert "4111 1111 1111 1111" not in f.context
        assert "jane.doe" not in f.context and "536-90" not in f.context
        assert "**** **** **** 1111" in f.context and "j***@example.com" in f.context


def test_show_secrets_shows_raw_values() -> None:
    fs = findings_for("card=4111 1111 1111 1111", show=True)
    assert fs[0].match == "4111 1111 1111 1111" and "4111 1111 1111 1111" in fs[0].context


def test_fingerprint_is_keyed_and_stable() -> None:
    a = fingerprint(b"key1", "us-ssn", b"536-90-4399")
    assert a == fingerprint(b"key1", "us-ssn", b"536-90-4399")
    assert a != fingerprint(b"key2", "us-ssn", b"536-90-4399")
    assert a != fingerprint(b"key1", "us-ssn-undashed", b"536-90-4399")
    import hashlib

    assert a != hashlib.sha256(b"536-90-4399").hexdigest()


def test_key_file_created_0600(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LOGAUDIT_KEY", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    k1 = load_key()
    path = tmp_path / "logaudit" / "fingerprint.key"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert load_key() == k1 and len(k1) >= 32


def test_column_counts_characters_not_bytes() -> None:
    fs = findings_for("naïve café user=jane.doe@example.com")
    assert fs[0].column == len("naïve café user=") + 1


NOW = datetime(2026, 11, 25, tzinfo=timezone.utc)
# Lines copied from the formats in ../shared/real_logs (Loghub) and common log formats.
TS_CASES = [
    ("081109 203615 148 INFO dfs.DataNode$PacketResponder: PacketResponder 1 for block",
     datetime(2008, 11, 9, 20, 36, 15, tzinfo=timezone.utc)),
    ("03-17 16:13:38.811  1702  2395 D WindowManager: printFreezingDisplayLogsopening",
     datetime(2026, 3, 17, 16, 13, 38, 811000, tzinfo=timezone.utc)),
    ("Jun 14 15:16:01 combo sshd(pam_unix)[19939]: authentication failure; logname=",
     datetime(2026, 6, 14, 15, 16, 1, tzinfo=timezone.utc)),
    ("Dec 10 06:55:46 LabSZ sshd[24200]: Invalid user webmaster from 173.234.31.186",
     datetime(2025, 12, 10, 6, 55, 46, tzinfo=timezone.utc)),
    ("[Sun Dec 04 04:47:44 2005] [notice] workerEnv.init() ok /etc/httpd/conf/workers2.properties",
     datetime(2005, 12, 4, 4, 47, 44, tzinfo=timezone.utc)),
    ('127.0.0.1 - - [10/Oct/2000:13:55:36 -0700] "GET /apache_pb.gif HTTP/1.0" 200 2326',
     datetime(2000, 10, 10, 20, 55, 36, tzinfo=timezone.utc)),
    ("2026-11-12T08:20:01.112Z level=info msg=ok",
     datetime(2026, 11, 12, 8, 20, 1, 112000, tzinfo=timezone.utc)),
    ("<34>1 2003-10-11T22:14:15.003+02:00 mymachine su - ID47 - 'su root' failed",
     datetime(2003, 10, 11, 20, 14, 15, 3000, tzinfo=timezone.utc)),
    ("2026-11-12 10:02:11,482 INFO  [http-nio-8443-exec-3] checkout",
     datetime(2026, 11, 12, 10, 2, 11, 482000, tzinfo=timezone.utc)),
    ('{"level":"info","ts":1700000000,"msg":"x"}',
     datetime(2023, 11, 14, 22, 13, 20, tzinfo=timezone.utc)),
    ('{"level":"info","timestamp":1700000000123,"msg":"x"}',
     datetime(2023, 11, 14, 22, 13, 20, 123000, tzinfo=timezone.utc)),
    ("no time here at all", None),
]


@pytest.mark.parametrize(("line", "expected"), TS_CASES)
def test_parse_timestamp(line: str, expected: datetime | None) -> None:
    assert parse_timestamp(line.encode(), now=NOW) == expected


def test_error_findings_show_the_evidence_and_mask_values() -> None:
    """``mask = "message"`` keeps a driver message readable but hides values in it; ``none``
    shows non-sensitive evidence; ``value`` masks the value like PII."""
    by_rule = {f.rule_id: f for f in findings_for(
        "ERROR 1062 (23000): Duplicate entry 'alice.w@example.com' for key 'users.email'")}
    msg = by_rule["mysql-error-code"].match
    assert "Duplicate entry" in msg and "users.email" in msg and "alice.w@" not in msg
    assert by_rule["mysql-duplicate-entry"].match == "Duplicate entry 'a***@example.com' for key"
    ver = findings_for("HTTP/1.1 500 Internal Server Error Server: Apache/2.4.1 (Unix)")
    assert [f.match for f in ver if f.rule_id == "server-version-in-error"] == [
        "Server: Apache/2.4.1"]
    for f in by_rule.values():
        assert "alice.w@example.com" not in f.context


def test_mask_key_is_validated() -> None:
    from logaudit.errors import RuleError
    from logaudit.rules import build_rule

    base = {"id": "x-y", "category": "secret", "severity": "low", "description": "d" * 40,
            "keywords": ["abc"], "regex": "abc", "examples": ["abc"], "counter_examples": ["x"]}
    with pytest.raises(RuleError, match="always masked"):
        build_rule({**base, "mask": "none"}, "t.toml")
    with pytest.raises(RuleError, match="bad mask"):
        build_rule({**base, "category": "db_error", "mask": "all"}, "t.toml")


def test_traceback_messages_mask_token_like_values() -> None:
    from logaudit.masking import mask_text

    assert mask_text(b"boto error for AKIAMXGEDN73U55XTPLP in us-east-1") == (
        b"boto error for AK****************** in us-east-1")
    assert mask_text(b"ValueError: bad password=hunter2 for jane@example.com") == (
        b"ValueError: bad password=******* for j***@example.com")
    keep = b"java.lang.IllegalStateException: missing config"
    assert mask_text(keep) == keep
