"""Settings: one frozen, checked object per command, from defaults < environment < command line."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from typer.testing import CliRunner

import logaudit
from logaudit.cli import app
from logaudit.errors import ConfigError
from logaudit.reports.writers import ReportFormat
from logaudit.rules import Severity
from logaudit.settings import (
    Engine,
    Executor,
    ReportSettings,
    ScanSettings,
    Source,
    build,
    from_arguments,
)

ROOT = Path(__file__).resolve().parent.parent
LOG = ROOT / "sample_logs" / "payment_service.log"


def test_defaults_are_the_documented_ones() -> None:
    s = build(ScanSettings, env={})
    assert (s.fail_on, s.min_severity, s.engine, s.executor, s.pack) == (
        Severity.LOW, Severity.INFO, Engine.AUTO, Executor.LOCAL, "default")
    assert s.max_per_rule == 10_000 and s.max_decompressed == 64 << 30
    assert all(o.source is Source.DEFAULT for _, _, o in s.items())


def test_environment_overrides_default_and_command_line_overrides_both() -> None:
    env = {"LOGAUDIT_FAIL_ON": "high", "LOGAUDIT_WORKERS": "3", "LOGAUDIT_EXCLUDE": "a/*, *.gz"}
    s = build(ScanSettings, env=env)
    assert (s.fail_on, s.workers, s.exclude) == (Severity.HIGH, 3, ("a/*", "*.gz"))
    assert s.origin("fail_on").source is Source.ENV
    assert s.origin("fail_on").where == "LOGAUDIT_FAIL_ON"
    s = build(ScanSettings, env=env, cli={"fail_on": "critical"})
    assert s.fail_on is Severity.CRITICAL and str(s.origin("fail_on")) == \
        "command line (--fail-on)"
    assert s.workers == 3  # still from the environment
    # the Dask scheduler keeps Dask's own variable
    assert build(ScanSettings, env={"DASK_SCHEDULER_ADDRESS": "tcp://h:8786"}).scheduler == \
        "tcp://h:8786"


@pytest.mark.parametrize(("env", "cli", "message"), [
    ({"LOGAUDIT_FAIL_ON": "bogus"}, {}, "LOGAUDIT_FAIL_ON: expected one of info, low"),
    ({"LOGAUDIT_WORKERS": "two"}, {}, "LOGAUDIT_WORKERS: expected a whole number"),
    ({"LOGAUDIT_QUIET": "maybe"}, {}, "LOGAUDIT_QUIET: expected true or false"),
    ({}, {"engine": "grep"}, "--engine: expected one of auto, hyperscan, re2, pyahocorasick"),
    ({}, {"max_decompressed": "lots"}, "--max-decompressed: not a size"),
    ({}, {"pack": "nope"}, "--pack: expected one of default, strict"),
    ({}, {"workers": -1}, "--workers: must be 0 or more"),
    ({}, {"format": "parquet"}, "parquet is binary: write it to a file with -o"),
    ({}, {"output": "x.docx"}, "x.docx: cannot tell the report format from the extension"),
    ({}, {"storage_option": ["novalue"]}, "--storage-option: expected KEY=VALUE"),
])
def test_a_bad_value_names_its_source(env: dict[str, str], cli: dict[str, object],
                                      message: str) -> None:
    with pytest.raises(ConfigError, match="^" + message.replace(".", r"\.")):
        build(ScanSettings, env=env, cli=cli)


def test_settings_are_frozen_and_typed() -> None:
    s = build(ScanSettings, env={}, cli={"output": "r.parquet", "log_format": "json"})
    assert s.out_format is ReportFormat.PARQUET
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.workers = 2  # type: ignore[misc]
    r = build(ReportSettings, env={}, cli={"until": "2024-03-01", "by": "rule"})
    assert r.until is not None and (r.until.hour, r.until.minute) == (23, 59)
    with pytest.raises(ConfigError, match="^--service-pattern: invalid regex"):
        build(ReportSettings, env={}, cli={"service_pattern": "(("})


def test_library_scan_checks_its_keyword_options_before_reading(tmp_path: Path) -> None:
    missing = str(tmp_path / "never-opened.log")
    with pytest.raises(ConfigError, match="^fail_on: expected one of"):
        logaudit.scan([missing], fail_on="sometimes")
    with pytest.raises(ConfigError, match="unknown setting"):
        logaudit.scan([missing], rule_files=["x.toml"])
    s = from_arguments(ScanSettings, {"workers": 1, "category": ["pii"]})
    with pytest.raises(TypeError):
        logaudit.scan([missing], s, workers=2)
    result = logaudit.scan([LOG], s)
    assert set(result.findings["category"].to_list()) == {"pii"}


def _cli(monkeypatch: pytest.MonkeyPatch, *args: str) -> tuple[int, str, list[str]]:
    """Run the app in-process; any call of the library's scan is recorded, not run."""
    calls: list[str] = []

    def no_scan(*a: object, **k: object) -> object:
        calls.append("scan")
        raise AssertionError("scanned")

    monkeypatch.setattr("logaudit.cli.scan.scan", no_scan)
    r = CliRunner().invoke(app, list(args))
    return r.exit_code, r.output, calls


def test_binary_format_without_output_fails_before_scanning(
        monkeypatch: pytest.MonkeyPatch) -> None:
    code, out, calls = _cli(monkeypatch, "scan", str(LOG), "-f", "parquet")
    assert (code, calls) == (2, [])
    assert "parquet is binary: write it to a file with -o FILE.parquet" in out


@pytest.mark.parametrize(("args", "env", "message"), [
    (["--engine", "grep"], {}, "'grep' is not one of"),
    (["--fail-on", "sometimes"], {}, "'sometimes' is not one of"),
    (["--executor", "spark"], {}, "'spark' is not one of"),
    (["--log-format", "xml"], {}, "'xml' is not one of"),
    ([], {"LOGAUDIT_MAX_RATIO": "-1"}, "LOGAUDIT_MAX_RATIO: must be 0 or more"),
    (["-o", "out.unknown"], {}, "cannot tell the report format"),
])
def test_bad_options_exit_2_before_scanning(monkeypatch: pytest.MonkeyPatch, args: list[str],
                                            env: dict[str, str], message: str) -> None:
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    code, out, calls = _cli(monkeypatch, "scan", str(LOG), *args)
    assert (code, calls) == (2, []), out
    assert message in " ".join(out.split())
