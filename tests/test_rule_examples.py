"""Every shipped rule's examples match and counter-examples do not, through the whole engine."""

from __future__ import annotations

import pytest

from logaudit.engine.prefilter import hyperscan_available
from logaudit.engine.scanner import Engine, all_hits, scan_bytes
from logaudit.rules import load_builtin_rules

RULES = [r for r in load_builtin_rules() if not r.detector]
BACKENDS = ["pyahocorasick"] + (["hyperscan"] if hyperscan_available() else [])
_ENGINES = {b: Engine(RULES, backend=b) for b in BACKENDS}


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("rule", RULES, ids=[r.id for r in RULES])
def test_rule_examples(rule, backend):  # type: ignore[no-untyped-def]
    engine = _ENGINES[backend]
    for ex in rule.examples:
        hits = [h for h in all_hits(scan_bytes(engine, ex.encode() + b"\n")) if h.rule is rule]
        assert hits, f"{rule.id}: example not found by the {backend} engine: {ex!r}"
    for ex in rule.counter_examples:
        hits = [h for h in all_hits(scan_bytes(engine, ex.encode() + b"\n")) if h.rule is rule]
        assert not hits, f"{rule.id}: counter-example found: {ex!r}"


def test_rule_metadata_complete() -> None:
    rules = load_builtin_rules()
    for r in rules:
        assert r.description and r.examples and r.counter_examples, r.id
        assert len(r.description) >= 40, f"{r.id}: say what it grants and why it must not leak"
        assert r.remediation, f"{r.id}: say what to do about it"
        if r.category.value == "secret":
            assert r.references and all(u.startswith("https://") for u in r.references), \
                f"{r.id}: secret rules cite the provider's format documentation"
    secrets = [r for r in rules if r.category.value == "secret"]
    assert len(secrets) >= 250, "the catalogue covers at least 250 secret formats"


def test_keywords_are_specific() -> None:
    """Common words flood the confirm step (DESIGN.md: 'password' is 431 hits/MB in sshd logs)."""
    too_common = {"password", "token", "key", "secret", "uid=", "user", "error", "at", "api"}
    for r in load_builtin_rules():
        for kw in r.keywords:
            assert kw.lower() not in too_common, f"{r.id}: keyword {kw!r} is too common"
            assert len(kw) >= 3, f"{r.id}: keyword {kw!r} is too short"
