"""Allowlists: entries by rule, path, raw value and context; counted per entry, stale when
unused, listed on request, never silently dropped; bad entries exit 2 before scanning."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

import logaudit
from logaudit.cli import app
from logaudit.errors import ConfigError

LOG = """\
2024-03-01T10:00:00Z INFO signup user=alice@example.com plan=free
2024-03-01T10:00:01Z INFO signup user=bob@corp.test plan=pro
2024-03-01T10:00:02Z DEBUG charge pan=4111 1111 1111 1111 amount=3
2024-03-01T10:00:03Z DEBUG charge pan=5500-0000-0000-0004 amount=9
2024-03-01T10:00:04Z INFO healthcheck probe contact=ops@example.com
"""


@pytest.fixture
def logs(tmp_path: Path) -> Path:
    (tmp_path / "app").mkdir()
    (tmp_path / "fixtures").mkdir()
    (tmp_path / "app" / "app.log").write_text(LOG)
    (tmp_path / "fixtures" / "cards.log").write_text(LOG)
    return tmp_path


def _scan(logs: Path, *allow: dict[str, object], show: bool = False) -> logaudit.ScanResult:
    return logaudit.scan([logs], workers=1, category=["pii"], allow=list(allow),
                         show_allowed=show)


def _count(r: logaudit.ScanResult, rule: str) -> int:
    return int((r.findings["rule_id"] == rule).sum())


def test_by_rule_path_value_context_counted_and_stale(logs: Path) -> None:
    whole = _scan(logs)
    assert _count(whole, "email-address") == 6 and _count(whole, "payment-card-number") == 4
    assert "allowed" not in whole.extra

    r = _scan(logs,
              {"contexts": [r"\bhealthcheck\b"], "reason": "probe traffic"},
              {"rules": ["email-*"], "values": [r"@example\.com$"], "reason": "test domain"},
              {"rules": ["payment-card-number"], "paths": ["fixtures/*"], "reason": "fixtures"},
              # the raw value, not its mask (**** **** **** 1111), is what a value regex sees
              {"values": ["^5500-0000"], "reason": "the processor's documented test card"},
              {"rules": ["iban"], "reason": "matches nothing here"},
              show=True)
    allowed = r.extra["allowed"]
    per = [e["allowed"] for e in allowed["entries"]]
    # the first entry that matches wins: the healthcheck lines (2 files) go to the context
    # entry, alice@example.com to the value entry; cards in fixtures/: 2; the 5500 card in
    # app/: 1 (its fixtures/ twin went to the path entry)
    assert per == [2, 2, 2, 1, 0]
    assert allowed["allowed"] == 7 == r.counters.allowed == len(r.allowed)
    assert allowed["stale"] == ["allow[4]"]
    # never silently dropped: what is allowed plus what is listed is the whole scan
    assert len(r.findings) + len(r.allowed) == len(whole.findings)
    assert _count(r, "email-address") == 2  # bob@corp.test, once per file
    assert set(r.allowed["rule_id"]) == {"email-address", "payment-card-number"}
    # the raw values are in no output
    text = json.dumps(r.run_record()) + r.allowed.write_json()
    assert "4111 1111 1111 1111" not in text and "5500-0000-0000-0004" not in text
    assert "alice@example.com" not in text


def test_context_entry_alone_and_without_show_nothing_is_kept(logs: Path) -> None:
    r = _scan(logs, {"contexts": ["plan=free"], "reason": "free tier test users"})
    assert r.extra["allowed"]["allowed"] == 2 and len(r.allowed) == 0
    assert r.counters.as_dict()["allowed"] == 2


def test_counts_do_not_depend_on_ranges_or_workers(tmp_path: Path) -> None:
    big = tmp_path / "big.log"
    big.write_text(LOG * 400)
    entry = {"values": [r"@example\.com$"], "reason": "test domain"}
    one = logaudit.scan([big], workers=1, category=["pii"], allow=[entry], show_allowed=True)
    two = logaudit.scan([big], workers=2, split_size=8 << 10, category=["pii"], allow=[entry],
                        show_allowed=True)
    assert one.extra["allowed"]["allowed"] == two.extra["allowed"]["allowed"] == 800
    assert one.allowed.drop("run_id").equals(two.allowed.drop("run_id"))
    assert one.findings.drop("run_id").equals(two.findings.drop("run_id"))


@pytest.mark.parametrize(("entry", "message"), [
    ({"values": ["(unclosed"], "reason": "x"}, "allow[0]: allow: values: invalid regex"),
    ({"contexts": ["*oops"], "reason": "x"}, "allow[0]: allow: contexts: invalid regex"),
    ({"rules": ["email-address"]}, "allow[0]: allow: reason: required"),
    ({"reason": "everything"}, "allow[0]: allow: give at least one of rules"),
    ({"rule": ["x"], "reason": "typo"}, "allow[0]: allow: unknown key(s) rule"),
    ({"paths": [], "reason": "x"}, "allow[0]: allow: paths: expected a non-empty list"),
])
def test_bad_entries_are_config_errors(tmp_path: Path, entry: dict[str, object],
                                       message: str) -> None:
    with pytest.raises(ConfigError, match="^" + re.escape(message)):
        logaudit.scan([tmp_path / "never-read.log"], allow=[entry])


def test_config_and_rule_file_entries_through_the_cli(logs: Path, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = tmp_path / "logaudit.toml"
    cfg.write_text('[scan]\ncategory = ["pii"]\nworkers = 1\n\n'
                   '[[allow]]\nrules = ["email-address"]\nvalues = [\'@example\\.com$\']\n'
                   'reason = "test domain"\n\n'
                   '[[allow]]\npaths = ["nowhere/*"]\nreason = "left over"\n')
    rules = tmp_path / "extra.toml"
    rules.write_text('[[allow]]\nrules = ["payment-card-number"]\npaths = ["fixtures/*"]\n'
                     'reason = "fixture cards"\n')
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "r.json"
    res = CliRunner().invoke(app, ["scan", str(logs), "--rules", str(rules), "-o", str(out),
                                   "--show-allowed"])
    assert res.exit_code == 1, res.output
    text = " ".join(res.output.split())
    assert "allowlist: 6 finding(s) allowed" in text
    assert f"{cfg}:5: 4" in text or "logaudit.toml:5: 4" in text
    assert "logaudit.toml:10: stale, allowed nothing in this run (left over)" in text
    assert "Allowed findings (6)" in text
    run = json.loads(out.read_text())["run"]
    assert [e["allowed"] for e in run["allowed"]["entries"]] == [4, 0, 2]
    assert run["allowed"]["entries"][2]["where"] == f"{rules}:1"
    assert run["counters"]["allowed"] == 6


def test_bad_regex_in_config_exits_2_before_scanning(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "logaudit.toml").write_text(
        '[scan]\nworkers = 1\n\n[[allow]]\nvalues = ["(x"]\nreason = "r"\n')
    monkeypatch.chdir(tmp_path)
    calls: list[int] = []
    monkeypatch.setattr("logaudit.cli.scan.scan", lambda *a, **k: calls.append(1))
    res = CliRunner().invoke(app, ["scan", str(tmp_path)])
    assert (res.exit_code, calls) == (2, [])
    assert "logaudit.toml:4: allow: values: invalid regex '(x'" in " ".join(res.output.split())
