"""bench/recall.py: case loading, scoring through the library API and the printed table, on a
tiny fixture (the script must not rot), and every shipped case file parses."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _recall() -> ModuleType:
    spec = importlib.util.spec_from_file_location("recall_bench", ROOT / "bench" / "recall.py")
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    sys.modules["recall_bench"] = mod  # dataclasses look their module up
    spec.loader.exec_module(mod)
    return mod


recall = _recall()

FIXTURE = [
    {"text": "GITHUB_TOKEN=ghp_" + "A" * 36, "category": "secret", "class": "fake-github",
     "expect": True},  # fails the token's checksum: a miss
    {"text": "card=4111 1111 1111 1111 used", "category": "pii", "class": "card", "expect": True},
    {"text": ("Traceback (most recent call last):\n  File \"/app/a.py\", line 3, in <module>\n"
              "    main()\nValueError: bad"), "category": "traceback", "class": "python",
     "expect": True},
    {"text": "sqlite3.OperationalError: no such table: api_tokens", "category": "database",
     "class": "sqlite", "expect": True},
    {"text": "INFO all good", "category": "database", "class": "prose", "expect": False},
    # a counter-case that is flagged: a false positive of its category
    {"text": "reset: No account with that email address exists", "category": "disclosure",
     "class": "prose", "expect": False},
    # a finding of another category does not count for this case
    {"text": "contact ann@example.com", "category": "secret", "class": "email-is-not-secret",
     "expect": True},
]


def _write(tmp_path: Path, rows: list[dict[str, object]]) -> Path:
    p = tmp_path / "cases.jsonl"
    p.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return p


def test_scoring_on_a_tiny_fixture(tmp_path: Path) -> None:
    cases = recall.load_cases([_write(tmp_path, FIXTURE)])
    scored = recall.score(cases)
    found = {(c.category, c.klass): bool(rules) for c, rules in scored}
    assert found == {("secret", "fake-github"): False, ("pii", "card"): True,
                     ("traceback", "python"): True, ("database", "sqlite"): True,
                     ("database", "prose"): False, ("disclosure", "prose"): True,
                     ("secret", "email-is-not-secret"): False}
    by_cat, by_class = recall.tally(scored)
    assert (by_cat["secret"].cases, by_cat["secret"].found) == (2, 0)
    assert by_cat["pii"].recall() == 1.0 and by_cat["traceback"].recall() == 1.0
    assert (by_cat["database"].counter, by_cat["database"].flagged) == (1, 0)
    assert (by_cat["disclosure"].counter, by_cat["disclosure"].flagged) == (1, 1)
    assert by_cat["disclosure"].precision() == 0.0
    assert by_cat["database"].precision() == 1.0
    assert by_class[("secret", "fake-github")].recall() == 0.0
    text = recall.report(scored, show_misses=True)
    assert "MISS" in text and "FP" in text and "fake-github" in text


def test_main_prints_the_table(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _write(tmp_path, FIXTURE[2:4])
    assert recall.main(["--cases", str(path)]) == 0
    out = capsys.readouterr().out
    assert "2 cases" in out
    assert "traceback" in out and " 1/1 " in out


@pytest.mark.parametrize("row, message", [
    ({"text": "x", "category": "secrets", "class": "a", "expect": True}, "'category'"),
    ({"text": "", "category": "secret", "class": "a", "expect": True}, "'text'"),
    ({"text": "x", "category": "secret", "class": "a", "expect": "yes"}, "'expect'"),
    ({"text": "x", "category": "secret", "expect": True}, "'class'"),
])
def test_bad_cases_name_file_and_line(tmp_path: Path, row: dict[str, object],
                                      message: str) -> None:
    path = _write(tmp_path, [FIXTURE[0], row])
    with pytest.raises(ValueError, match=rf"cases\.jsonl:2: {message}"):
        recall.load_cases([path])


def test_shipped_cases_parse_and_cover_every_class_of_the_issue() -> None:
    cases = recall.load_cases((ROOT / "bench" / "recall" / "cases").glob("*.jsonl"))
    secret = [c for c in cases if c.category == "secret" and c.expect]
    assert len(secret) >= 60
    classes = {c.klass for c in secret}
    assert {"teams-webhook", "logic-apps-sig", "password-hash", "twitch-stream-key",
            "vendor-hex-key", "cli-flag", "generic-low-entropy"} <= classes
    for cat in ("traceback", "database", "disclosure"):
        assert any(c.category == cat and c.expect for c in cases)
        assert any(c.category == cat and not c.expect for c in cases)
