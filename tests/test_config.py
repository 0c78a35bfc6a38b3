"""The config file: discovery, precedence, ``config show``, errors with file and line."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from logaudit.cli import app
from logaudit.config import find_config, load_config, tomllib
from logaudit.errors import ConfigError
from logaudit.rules import Severity
from logaudit.settings import ScanSettings, Source, build

ROOT = Path(__file__).resolve().parent.parent
LOG = ROOT / "sample_logs" / "payment_service.log"

CONFIG = """\
# nightly scan
[scan]
fail-on = "high"
exclude = ["*.md", "debug/*"]
workers = 1
state = "state/state.json"
storage-option = ["key=AKIAEXAMPLEVALUE"]

[report]
by = "rule"
top = 5
"""


def test_precedence_default_config_environment_command_line(tmp_path: Path) -> None:
    (tmp_path / "logaudit.toml").write_text(CONFIG)
    cfg = load_config(str(tmp_path / "logaudit.toml"))
    assert cfg is not None

    def make(env: dict[str, str], cli: dict[str, object]) -> ScanSettings:
        return build(ScanSettings, config=cfg.table("scan"), base=cfg.base, env=env, cli=cli)

    s = make({}, {})
    assert (s.fail_on, s.workers, s.max_rows) == (Severity.HIGH, 1, 50)
    assert str(s.origin("fail_on")) == f"config ({tmp_path}/logaudit.toml:3)"
    assert s.origin("max_rows").source is Source.DEFAULT
    # a relative path in the file is taken from the file's directory
    assert s.state == str(tmp_path / "state" / "state.json")
    s = make({"LOGAUDIT_FAIL_ON": "medium", "LOGAUDIT_WORKERS": "2"}, {})
    assert (s.fail_on, s.workers) == (Severity.MEDIUM, 2)
    assert s.origin("workers").where == "LOGAUDIT_WORKERS"
    s = make({"LOGAUDIT_FAIL_ON": "medium"}, {"fail_on": "critical"})
    assert s.fail_on is Severity.CRITICAL and s.origin("fail_on").source is Source.CLI
    assert s.exclude == ("*.md", "debug/*")  # untouched layers still come from the file


def test_discovery(tmp_path: Path) -> None:
    assert find_config(cwd=tmp_path, env={}) is None
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    assert find_config(cwd=tmp_path, env={}) is None  # a pyproject without [tool.logaudit]
    (tmp_path / "pyproject.toml").write_text(
        "[project]\nname = 'x'\n\n[tool.logaudit.scan]\nworkers = 3\nfail-on = 'bogus'\n")
    cfg = find_config(cwd=tmp_path, env={})
    assert cfg is not None and cfg.table("scan")["workers"] == (3, f"{cfg.path}:5")
    with pytest.raises(ConfigError, match=r"pyproject\.toml:6: fail-on: expected one of"):
        build(ScanSettings, config=cfg.table("scan"), env={})
    (tmp_path / "logaudit.toml").write_text("[scan]\nworkers = 4\n")
    cfg = find_config(cwd=tmp_path, env={})  # logaudit.toml wins over pyproject.toml
    assert cfg is not None and cfg.path.endswith("logaudit.toml")
    other = tmp_path / "other.toml"
    other.write_text("[scan]\nworkers = 5\n")
    env_cfg = find_config(cwd=tmp_path, env={"LOGAUDIT_CONFIG": str(other)})
    assert env_cfg is not None and env_cfg.found_by == "$LOGAUDIT_CONFIG"
    explicit = find_config(str(other), cwd=tmp_path, env={})
    assert explicit is not None and explicit.table("scan")["workers"][0] == 5
    with pytest.raises(ConfigError, match="nope.toml: config file not found"):
        find_config(str(tmp_path / "nope.toml"), env={})


@pytest.mark.parametrize(("text", "message"), [
    ("[scan]\nfail-on = 'high'\n\nworkerz = 2\n", "bad.toml:4: workerz: unknown key in [scan]"),
    ("[scan]\nworkers = '2'\n", "bad.toml:2: workers: expected a whole number, not a string"),
    ("[scan]\nexclude = '*.md'\n", "bad.toml:2: exclude: expected a list, not a string"),
    ("[scan]\nquiet = 1\n", "bad.toml:2: quiet: expected true or false, not 1"),
    ("# c\n[scan]\nengine = 'grep'\n", "bad.toml:3: engine: expected one of auto, hyperscan"),
    ("[scan]\nmax-decompressed = 'lots'\n", "bad.toml:2: max-decompressed: not a size"),
    ("[report]\nservice-pattern = '(('\n", "bad.toml:2: service-pattern: invalid regex"),
    ("[report]\nsince = 'yesterday'\n", "bad.toml:2: since: 'yesterday': not a date"),
    ("[scna]\nworkers = 1\n", "bad.toml:1: scna: unknown table; expected one of scan, report"),
    ("[scan]\nworkers = 1\n[scan\n", "bad.toml:3: invalid TOML"),
    ("scan = 3\n", "bad.toml:1: scan: expected a table"),
])
def test_errors_name_file_line_and_key_and_nothing_is_scanned(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str, message: str) -> None:
    (tmp_path / "bad.toml").write_text(text)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr("logaudit.cli.scan.scan", _never)
    monkeypatch.setattr("logaudit.reports.load.load", _never)  # imported on use
    command = "report" if "[report]" in text else "scan"
    r = CliRunner().invoke(app, [command, "--config", "bad.toml", str(LOG)])
    assert r.exit_code == 2, r.output
    assert f"logaudit: {message}" in " ".join(r.output.split())


def _never(*a: object, **k: object) -> object:
    raise AssertionError("an input was opened")


def test_config_show_prints_values_and_sources(tmp_path: Path) -> None:
    (tmp_path / "logaudit.toml").write_text(CONFIG)
    env = {**os.environ, "LOGAUDIT_MAX_ROWS": "7"}
    env.pop("LOGAUDIT_CONFIG", None)
    r = subprocess.run([sys.executable, "-m", "logaudit", "config", "show"], cwd=tmp_path,
                       env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    lines: dict[str, str] = {}  # the first section holding a key wins ([scan] comes first)
    for ln in r.stdout.splitlines():
        if "=" in ln:
            lines.setdefault(ln.split("=")[0].strip(), ln)
    assert f"# config file: {tmp_path}/logaudit.toml (working directory)" in r.stdout
    assert lines["fail-on"].split("#")[1].strip() == f"config ({tmp_path}/logaudit.toml:3)"
    assert lines["max-rows"].startswith("max-rows = 7 ")
    assert lines["max-rows"].endswith("# environment (LOGAUDIT_MAX_ROWS)")
    assert lines["engine"].endswith("# default")
    assert lines["by"].startswith('by = "rule"')
    assert "AKIAEXAMPLEVALUE" not in r.stdout and 'storage-option = ["key=***"]' in r.stdout
    # the output is itself a valid config file
    shown = tomllib.loads(r.stdout)
    assert shown["scan"]["fail-on"] == "high" and shown["report"]["top"] == 5


def test_readme_config_example_is_valid(tmp_path: Path) -> None:
    """The README's nightly config file loads, and its rule ids and pack exist."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    start = readme.index("# /etc/logaudit/logaudit.toml\n")
    text = readme[start: readme.index("```", start)]
    (tmp_path / "logaudit.toml").write_text(text)
    cfg = load_config(str(tmp_path / "logaudit.toml"))
    assert cfg is not None
    s = build(ScanSettings, config=cfg.table("scan"), base=cfg.base, env={})
    assert s.quiet and s.fail_on is Severity.HIGH and s.output is not None
    from logaudit.rules import select_rules

    ids = {r.id for r in select_rules(s.selection)}
    assert ids and not ids & set(s.disable)
    all_ids = {r.id for r in select_rules(build(ScanSettings, env={}, cli={"pack": "all"})
                                          .selection)}
    assert set(s.disable) <= all_ids
