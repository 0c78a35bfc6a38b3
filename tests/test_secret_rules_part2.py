"""Secret rules part 2 (SaaS, payment, messaging, AI, monitoring, identity, data packs).

Checked on an engine built from these packs alone, so a finding cannot be hidden by another
pack's overlapping rule: examples are found, near misses and ordinary log text are not.
"""

from __future__ import annotations

import base64
import hashlib
import random
import re
import uuid
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from logaudit.engine.prefilter import hyperscan_available
from logaudit.engine.scanner import Engine, all_hits, scan_bytes
from logaudit.rules import Rule, builtin_patterns_dir, load_rule_file

PACKS = ("saas", "payment", "messaging", "ai", "monitoring", "identity", "data")
RULES: list[Rule] = [
    r for p in PACKS for r in load_rule_file(builtin_patterns_dir() / "secrets" / f"{p}.toml")
]
BACKENDS = ["pyahocorasick"] + (["hyperscan"] if hyperscan_available() else [])
_ENGINES: dict[str, Engine] = {}
ASSETS = Path(__file__).parent / "assets" / "secrets_part2"


def _engine(backend: str) -> Engine:
    if backend not in _ENGINES:
        _ENGINES[backend] = Engine(RULES, backend=backend)
    return _ENGINES[backend]


def _found(backend: str, text: str) -> list[str]:
    return [h.rule.id for h in all_hits(scan_bytes(_engine(backend), text.encode() + b"\n"))]


def test_packs_are_large() -> None:
    """Rule metadata is checked for every rule in test_rule_examples.py."""
    ids = [r.id for r in RULES]
    assert len(ids) >= 140 and len(ids) == len(set(ids))


def test_keywords_are_specific_literals() -> None:
    common = {"key", "token", "secret", "api", "password", "auth", "bearer", "access", "sk_"}
    for r in RULES:
        for kw in r.keywords:
            assert kw.lower() not in common and len(kw) >= 3, (r.id, kw)


def test_regexes_are_bounded() -> None:
    """No unbounded '*' or '+': bounded repeats cannot backtrack badly on a megabyte-long line."""
    for r in RULES:
        body = re.sub(r"\\.", "", r.regex)  # drop escapes such as \+ and \.
        body = re.sub(r"\[[^\]]*\]", "", body)  # drop character classes, which may hold + or *
        assert "*" not in body and "+" not in body, r.id


@pytest.mark.parametrize("backend", BACKENDS)
def test_examples_and_counter_examples(backend: str) -> None:
    for r in RULES:
        for ex in r.examples:
            assert r.id in _found(backend, ex), f"{r.id} missed {ex!r}"
        for ex in r.counter_examples:
            assert r.id not in _found(backend, ex), f"{r.id} matched {ex!r}"


def _ordinary_log(n: int = 400) -> str:
    rnd = random.Random(11)
    out = []
    for i in range(n):
        u = uuid.UUID(int=rnd.getrandbits(128), version=4)
        sha = hashlib.sha256(str(i).encode()).hexdigest()
        git = hashlib.sha1(str(i).encode()).hexdigest()
        md5 = hashlib.md5(str(i).encode()).hexdigest()
        blob = base64.b64encode(rnd.randbytes(rnd.randint(20, 150))).decode()
        out += [
            f"2024-05-01T12:00:00Z INFO request_id={u} trace_id={md5} span={git[:16]} status=200",
            f"commit {git} sha256:{sha} tree {git[::-1]}",
            f"payload={blob} etag=\"{md5}\"",
            f"com.example.Token@{git[:8]} Token{{id={i}, value=<redacted>}}",
            f"GET https://api.example.com/v1/users/{u}/orders?page={i} 200 {rnd.randint(1, 999)}ms",
            f"dd.trace_id={rnd.getrandbits(63)} lang=en-US,en-us;q=0.9 task_{git} disk_{md5}",
            f"mac 00:aa:bb:cc:dd:{i % 99:02d} blk_-{rnd.getrandbits(62)} {'A' * 24}{blob}",
            "live_" + "".join(rnd.choice("abcdefghij_") for _ in range(30)) + " secret_" + "q" * 43,
        ]
    return "\n".join(out)


@pytest.mark.parametrize("backend", BACKENDS)
def test_ordinary_log_text_gives_no_findings(backend: str) -> None:
    hits = all_hits(scan_bytes(_engine(backend), _ordinary_log().encode() + b"\n"))
    assert [h.rule.id for h in hits] == []


@pytest.mark.parametrize("backend", BACKENDS)
def test_real_log_sample_gives_no_findings(backend: str) -> None:
    data = (ASSETS / "real_logs_sample.log").read_bytes()
    assert [h.rule.id for h in all_hits(scan_bytes(_engine(backend), data))] == []


@pytest.mark.parametrize("rule", RULES, ids=[r.id for r in RULES])
def test_longer_token_is_not_a_match(rule: Rule) -> None:
    """A token glued to more id characters is part of something longer, not this credential."""
    if rule.id == "microsoft-teams-webhook-url":
        pytest.skip("its signature tail is optional: the URL up to the last UUID is still a leak")
    for ex in rule.examples:
        line = ex.encode()
        for m in rule.find(line):
            value = line[m.secret_start:m.secret_end]
            if re.fullmatch(rb"\w", value[-1:]):
                glued = line[:m.secret_start] + value + b"Q9" * 1100 + line[m.secret_end:]
                assert not any(
                    g.secret_start == m.secret_start for g in rule.find(glued)
                ), (rule.id, ex)


_TOKEN_CHARS = st.text(
    alphabet=st.sampled_from("abcdefABCDEF0123456789_-.:/=+ \"'xoxb-sk_live_"), max_size=300
)


@settings(max_examples=60, deadline=None)
@given(prefix=_TOKEN_CHARS, suffix=_TOKEN_CHARS, idx=st.integers(0, len(RULES) - 1))
def test_matches_stay_inside_the_line(prefix: str, suffix: str, idx: int) -> None:
    rule = RULES[idx]
    line = (prefix + rule.examples[0] + suffix).encode()
    for m in rule.find(line):
        assert 0 <= m.start <= m.secret_start < m.secret_end <= m.end <= len(line)
