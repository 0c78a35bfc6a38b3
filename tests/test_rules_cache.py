"""Validated rule sets are cached per file content (0600, atomic); a corrupt entry is rebuilt."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from logaudit import rules as rules_mod
from logaudit.errors import RuleError
from logaudit.rules import load_rule_file

RULE = """
[[rules]]
id = "acme-key"
category = "secret"
severity = "high"
description = "ACME key"
keywords = ["acme_"]
regex = '\\bacme_[a-z0-9]{{{n}}}\\b'
examples = ["x acme_{ex} y"]
counter_examples = ["acme_short"]
"""


def _write(path: Path, n: int) -> None:
    path.write_text(RULE.format(n=n, ex="a" * n))


def test_rule_file_is_validated_once_then_read_from_the_cache(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cache = tmp_path / "cache"
    monkeypatch.setenv("LOGAUDIT_CACHE_DIR", str(cache))
    monkeypatch.setattr(rules_mod, "_LOADED", {})
    f = tmp_path / "r.toml"
    _write(f, 12)
    first = load_rule_file(f)
    entries = list(cache.glob("rules-*.pickle"))
    assert len(entries) == 1
    assert stat.S_IMODE(entries[0].stat().st_mode) == 0o600

    built: list[str] = []
    real = rules_mod._parse_rule_file
    monkeypatch.setattr(rules_mod, "_parse_rule_file",
                        lambda src, content: built.append(src) or real(src, content))
    monkeypatch.setattr(rules_mod, "_LOADED", {})
    again = load_rule_file(f)
    assert again == first and built == []  # from disk, not validated again
    assert list(again[0].find(b"x acme_" + b"b" * 12 + b" y"))

    entries[0].write_bytes(b"\x80\x04 not a pickle")
    monkeypatch.setattr(rules_mod, "_LOADED", {})
    assert load_rule_file(f) == first and built == [str(f)]  # corrupt: rebuilt

    _write(f, 16)  # new content, new key: validated afresh
    monkeypatch.setattr(rules_mod, "_LOADED", {})
    changed = load_rule_file(f)
    assert changed[0].regex != first[0].regex and len(built) == 2
    assert len(list(cache.glob("rules-*.pickle"))) == 2


def test_a_bad_rule_file_is_never_cached(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cache = tmp_path / "cache"
    monkeypatch.setenv("LOGAUDIT_CACHE_DIR", str(cache))
    f = tmp_path / "bad.toml"
    f.write_text(RULE.format(n=12, ex="short"))
    for _ in range(2):
        with pytest.raises(RuleError, match="example does not match"):
            load_rule_file(f)
    assert not list(cache.glob("rules-*.pickle"))


def test_cache_off(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOGAUDIT_CACHE_DIR", "")
    monkeypatch.setattr(rules_mod, "_LOADED", {})
    f = tmp_path / "r.toml"
    _write(f, 12)
    assert load_rule_file(f)
    assert not any(tmp_path.rglob("*.pickle"))
