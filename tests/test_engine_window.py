"""Confirm in a window around each prefilter hit: findings as on short lines, work bounded by
the rule's reach; rules that could backtrack catastrophically never reach Python's ``re``."""

from __future__ import annotations

import random
from collections import Counter

import pytest

from logaudit.engine.scanner import Engine, all_hits, confirm_windows, scan_bytes
from logaudit.errors import RuleError
from logaudit.regex_shape import (
    DEFAULT_UNBOUNDED_REACH,
    MAX_REACH,
    nested_quantifiers,
    re2_available,
    reach,
)
from logaudit.rules import RuleSelection, build_rule, select_rules

RULES = select_rules(RuleSelection(pack="all"))


def _rule(**kw: object):  # type: ignore[no-untyped-def]
    raw = {
        "id": "test-tok", "category": "secret", "severity": "high", "description": "t",
        "keywords": ["tok_"], "regex": r"\btok_[a-z0-9]{8}\b",
        "examples": ["x tok_abcd1234 y"], "counter_examples": ["tok_short"],
    }
    raw.update(kw)
    return build_rule(raw, "test.toml")


def _values(engine: Engine, data: bytes) -> Counter[tuple[str, bytes]]:
    return Counter((h.rule.id, lh.text[h.secret_start:h.secret_end])
                   for lh in scan_bytes(engine, data) for h in lh.hits)


def _b64_items(n: int) -> list[bytes]:
    rng = random.Random(7)
    alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz/+"
    return [bytes(rng.choice(alphabet) for _ in range(1000)) for _ in range(n)]


SHAPES = {
    # name: (items, joined into one line with this separator)
    "base64": (_b64_items(1500), b" "),
    "cards": ([b"4111 1111 1111 1111", b"5500005555555559", b"x"] * 60_000, b" "),
    "digits": ([b"0123456789012345678"] * 100_000, b" "),
    "keywords": ([b"password", b"token", b"secret", b"api_key", b"ghp_"] * 80_000, b" "),
    "at-a-dot": ([b"@a." * 40] * 20_000, b" "),
    "eq-pairs": ([b"a=b", b"password=hunter2x", b"k=v"] * 150_000, b" "),
    "mails": ([b"bob@example.com", b"AKIAIOSFODNN7EXAMPLE", b"tok_abcd1234"] * 80_000, b" "),
}


@pytest.mark.slow
@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_one_long_line_finds_what_short_lines_find(shape: str) -> None:
    """A few MB as one line (cut by the chunker into 1 MiB windows) and as short lines give the
    same values per rule: the confirm step looks near each hit, not across the whole line."""
    items, sep = SHAPES[shape]
    eng = Engine([*RULES, _rule()])
    long_line = sep.join(items) + b"\n"
    short_lines = b"\n".join(items) + b"\n"
    assert len(long_line) > 1_500_000
    assert _values(eng, long_line) == _values(eng, short_lines)


@pytest.mark.parametrize("backend", ["pyahocorasick", "re2", "auto"])
def test_far_hits_are_confirmed_separately_and_near_ones_together(backend: str) -> None:
    eng = Engine([_rule()], backend)
    filler = b"x" * 50_000
    line = (b"tok_aaaa1111 " + filler + b" tok_bbbb2222 tok_cccc3333 " + filler
            + b"tok_dddd4444\n")
    assert [v for _r, v in sorted(_values(eng, line))] == [
        b"tok_aaaa1111", b"tok_bbbb2222", b"tok_cccc3333"]  # the last is glued: no \b


def test_windows_cover_every_match_touching_a_hit() -> None:
    assert confirm_windows([100], 10, 1000) == [(90, 122, 110)]
    assert confirm_windows([5], 10, 12) == [(0, 12, 15)]
    # near hits merge (a match of one could run into the other), far ones do not
    assert confirm_windows([100, 125, 500], 10, 1000) == [(90, 147, 135), (490, 522, 510)]


def test_reach_is_derived_from_the_regex_or_declared() -> None:
    assert reach(r"\btok_[a-z0-9]{8}\b") == 12
    assert reach(r"(?<![\w-])ab(?=c{3})") == 6  # lookarounds count: they read bytes too
    assert reach(r"key=\S+") is None
    assert _rule().reach == 12
    unbounded = _rule(regex=r"\btok_[a-z0-9]+", counter_examples=["tok_"])
    assert unbounded.reach == DEFAULT_UNBOUNDED_REACH
    declared = _rule(regex=r"\btok_[a-z0-9]+", counter_examples=["tok_"], max_match=200)
    assert declared.reach == 200
    huge = _rule(regex=r"\btok_[a-z0-9]{8}(?:x{1000}){0,100}")
    assert huge.reach == MAX_REACH
    with pytest.raises(RuleError, match="max_match"):
        _rule(max_match=-1)


def test_nested_quantifiers_are_recognised() -> None:
    for risky in (r"(a+)+$", r"(\w*,?)*x", r"(a|a*)*", r"^(\d+)*$", r"(?:[a-z]+ ?)+!"):
        assert nested_quantifiers(risky), risky
    for safe in (r"(?:\.\d+)+", r"(?:\w+\.)*", r"[a-z]+@[a-z]+", r"(?:ab){1,8}c+"):
        assert not nested_quantifiers(safe), safe


@pytest.mark.skipif(not re2_available(), reason="google-re2 is not installed here")
def test_catastrophic_user_rule_is_confirmed_in_linear_time() -> None:
    """``(a+)+$`` takes Python's re hours on a 50,000-character near miss; RE2 confirms it."""
    rule = _rule(id="hang", keywords=["aaaa"], regex=r"(a+)+$",
                 examples=["aaaa"], counter_examples=["aaaab"])
    assert rule.needs_re2
    eng = Engine([rule])
    assert _values(eng, b"a" * 50_000 + b"b\n") == Counter()
    assert _values(eng, b"x aaaa\n") == Counter({("hang", b"aaaa"): 1})


def test_nested_quantifiers_with_lookaround_are_refused_at_load() -> None:
    with pytest.raises(RuleError, match="nests unbounded repeats"):
        _rule(keywords=["aaaa"], regex=r"(?<!x)(a+)+$", examples=["aaaa"],
              counter_examples=["xaaab"])


def test_rules_pickle_without_their_compiled_regexes() -> None:
    import pickle

    rule = _rule()
    assert list(rule.find(b"a tok_abcd1234"))
    state = pickle.dumps(rule)
    assert b"sre" not in state and b"re.compile" not in state
    again = pickle.loads(state)
    assert again == rule and list(again.find(b"a tok_abcd1234"))


def test_all_hits_flattens() -> None:
    eng = Engine([_rule()])
    assert len(all_hits(scan_bytes(eng, b"tok_abcd1234 tok_abcd1235\n"))) == 2


def test_rules_test_reports_the_risk(tmp_path: object) -> None:
    from pathlib import Path

    from logaudit.rules import check_rule_file

    body = """
[[rules]]
id = "{id}"
category = "secret"
severity = "high"
description = "x"
keywords = ["aaaa"]
regex = '{rx}'
examples = ["aaaa"]
counter_examples = ["aaab"]
"""
    f = Path(str(tmp_path)) / "r.toml"
    f.write_text(body.format(id="plain", rx=r"\baaaa\b")
                 + body.format(id="nested", rx=r"(a+)+$")
                 + body.format(id="nested-lookaround", rx=r"(?<!x)(a+)+$"))
    results, error = check_rule_file(f)
    assert error is None
    by_id = {rid: (ok, reason) for rid, ok, reason in results}
    assert by_id["plain"] == (True, "ok")
    assert by_id["nested"][0] and "RE2" in by_id["nested"][1]
    assert by_id["nested"][1].count("unbounded") == 2
    assert not by_id["nested-lookaround"][0]
    assert "nests unbounded repeats" in by_id["nested-lookaround"][1]


@pytest.mark.slow
def test_memory_bounded_on_dense_candidate_lines(tmp_path: object) -> None:
    """10 MB of base64-like lines and of lines holding a candidate every few bytes: a worker's
    peak RSS stays near the interpreter's own (findings past the per-rule cap are only
    counted; candidates live one block at a time)."""
    import subprocess
    import sys
    from pathlib import Path

    d = Path(str(tmp_path))
    rng = random.Random(11)
    alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    b64 = d / "b64.log"
    b64.write_bytes(b"".join(bytes(rng.choice(alphabet) for _ in range(1000)) + b"\n"
                             for _ in range(5000)))
    dense = d / "dense.log"
    line = b"4111111111111111 bob@example.com tok_abcd1234 " * 3 + b"\n"
    dense.write_bytes(line * (5_000_000 // len(line)))
    code = f"""
from logaudit.rules import RuleSelection, select_rules
from logaudit.runner import ScanOptions, run
from logaudit.sources.walk import discover
rules = tuple(select_rules(RuleSelection(pack="all")))
f, e, c = run(discover([{str(b64)!r}, {str(dense)!r}]), ScanOptions(rules=rules, run_id="t",
              key=b"k"), 1)
assert c.inputs_scanned == 2 and c.findings_unlisted > 0, (e, c)
for _l in open('/proc/self/status'):
    if _l.startswith('VmHWM:'):
        print('PEAK', _l.split()[1])
"""
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True,
                         text=True).stdout
    peak_mib = int(out.rsplit("PEAK", 1)[1]) / 1024
    assert peak_mib < 256, peak_mib
