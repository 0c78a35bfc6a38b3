"""A rule that fires on every line: at most N findings per rule and input are listed, the rest
counted; the listed rows do not depend on the worker count, and memory stays bounded."""

from __future__ import annotations

from pathlib import Path

import logaudit

CATS = ("pii",)


def flood(path: Path, n: int) -> None:
    with path.open("w") as f:
        for i in range(n):
            f.write(f"2026-11-25T10:00:00Z signup user{i}@example.com ok\n")


def test_cap_lists_the_first_findings_and_counts_the_rest(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    flood(log, 50)
    r = logaudit.scan([log], category=CATS, max_per_rule=5, workers=1)
    assert r.findings["line"].to_list() == [1, 2, 3, 4, 5]
    assert r.counters.findings_unlisted == 45
    assert r.extra["unlisted"] == {"limit_per_rule_and_input": 5,
                                   "by_rule": {"email-address": 45}}
    everything = logaudit.scan([log], category=CATS, max_per_rule=0, workers=1)
    assert len(everything.findings) == 50 and everything.counters.findings_unlisted == 0


def test_capped_rows_do_not_depend_on_ranges_or_workers(tmp_path: Path) -> None:
    log = tmp_path / "big.log"
    flood(log, 40_000)
    runs = [logaudit.scan([log], category=CATS, max_per_rule=100, workers=w, split_size=s)
            for w, s in ((1, 1 << 40), (2, 64 << 10), (1, 64 << 10))]
    rows = [r.findings.drop("run_id").rows() for r in runs]
    assert rows[0] == rows[1] == rows[2]
    assert [r.counters.findings_unlisted for r in runs] == [39_900] * 3


def test_values_of_unlisted_findings_stay_masked_in_context(tmp_path: Path) -> None:
    log = tmp_path / "mixed.log"
    with log.open("w") as f:
        for i in range(5):
            f.write(f"mail jane{i}@example.com\n")
        f.write("mail jane9@example.com card 4111 1111 1111 1111\n")
    r = logaudit.scan([log], category=CATS, max_per_rule=5, workers=1)
    card = r.findings.filter(r.findings["rule_id"] == "payment-card-number")
    assert card.height == 1 and r.counters.unlisted == {"email-address": 1}
    assert "jane9@example.com" not in card["context"][0]
