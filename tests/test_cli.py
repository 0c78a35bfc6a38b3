"""The command line as a user runs it: exit codes, one-line errors, no raw values in any output."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

from logaudit.reports.writers import ReportFormat

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "sample_logs"

# Every raw value planted in sample_logs/ (see sample_logs/README.md).
PLANTED = [
    "eyJhbGciOiAiSFMyNTYiLCAidHlwIjogIkpXVCJ9.eyJzdWIiOiAiMTIzNCIsICJuYW1lIjogIkphbmUgRG9lIiwgImlhdCI6IDE3MDAwMDAwMDB9",
    "maria.garcia@example.org", "Tr0ub4dor-77xq", "vR7q2LmX9pZs4Tn", "jane.doe@example.com",
    "Xk9#mQ2v!Lp7wRt4", "536-90-4399", "AKIAMXGEDN73U55XTPLP",
    "kM+R5Kjp1vRt/1fjORS+6ilI8ihN5KXSc7Tvo+hB",
    "xoxb-92497528604-28795761994-Oq9wMxEhh2FDEEtfjgVvVqE1", "Qm7vT2xLr9pW4sKz",
    "Zr8uY3nQ5wE1tV7x", "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",
    "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", "dckr_pat_ucAUsdMlHUvTCQCyEZDz_TddJ8H",
    "sk_live_OzdmenCkhvMdgaKjIg8xNbe3", "4111 1111 1111 1111", "5500-0000-0000-0004",
    "DE89370400440532013000", "+14155550134", "finance@merchant.example.net",
    "c2hvcGJvdDpQYXk0UjNhbFN1bW1lcjIwMjQ=", "378282246310005",
]


def run(*args: str, stdin: bytes | None = None, env: dict[str, str] | None = None,
        cwd: Path | None = None) -> subprocess.CompletedProcess[bytes]:
    e = {**os.environ, "LOGAUDIT_KEY": "test-key", **(env or {})}
    return subprocess.run([sys.executable, "-m", "logaudit", *args], capture_output=True,
                          input=stdin, env=e, cwd=cwd, timeout=300)


def test_clean_log_exits_0() -> None:
    r = run("scan", str(SAMPLES / "clean.log"))
    assert r.returncode == 0, r.stdout.decode() + r.stderr.decode()
    assert b"No findings" in r.stdout


def test_findings_exit_1_and_fail_on() -> None:
    assert run("scan", "-q", str(SAMPLES / "payment_service.log")).returncode == 1
    r = run("scan", "-q", "--fail-on", "critical", "--category", "pii",
            "--disable", "payment-card-number", "--disable", "payment-card-number-keyword",
            "--disable", "iban", str(SAMPLES / "payment_service.log"))
    assert r.returncode == 0, r.stdout


def test_missing_input_is_incomplete_exit_3(tmp_path: Path) -> None:
    r = run("scan", str(SAMPLES / "clean.log"), str(tmp_path / "nope.log"))
    assert r.returncode == 3
    assert b"nope.log: no such file or directory" in r.stderr
    assert b"Traceback" not in r.stderr


def test_unreadable_file_exit_3() -> None:
    """Run as an unprivileged user (root reads a 0000 file anyway): via setpriv when root."""
    import shutil
    import tempfile

    # Not under tmp_path: pytest's base directory is 0700, which would hide the file itself.
    d = Path(tempfile.mkdtemp(prefix="logaudit-unreadable-"))
    d.chmod(0o755)
    f = d / "secret.log"
    f.write_text("x\n")
    f.chmod(0)
    prefix: list[str] = []
    if os.geteuid() == 0:
        setpriv = shutil.which("setpriv")
        if not setpriv:
            pytest.skip("running as root and setpriv (util-linux) is missing: root reads 0000")
        prefix = [setpriv, "--reuid=65534", "--regid=65534", "--clear-groups"]
    e = {**os.environ, "LOGAUDIT_KEY": "test-key", "LOGAUDIT_CACHE_DIR": ""}
    try:
        r = subprocess.run([*prefix, sys.executable, "-m", "logaudit", "scan", str(f)],
                           capture_output=True, env=e, timeout=300)
    finally:
        shutil.rmtree(d)
    assert r.returncode == 3, r.stderr
    assert b"cannot open: Permission denied" in r.stderr and b"Traceback" not in r.stderr


BAD_RULES = {
    "regex": ('id = "my-rule"\nregex = "([a-z"\nkeywords = ["abc"]\n', "regex does not compile"),
    "category": ('id = "my-rule"\nregex = "abc"\nkeywords = ["abc"]\ncategory = "oops"\n',
                 "bad category"),
    "unknown-key": ('id = "my-rule"\nregex = "abc"\nkeywords = ["abc"]\ncolour = "red"\n',
                    "unknown key"),
    "group": ('id = "my-rule"\nregex = "abc"\nkeywords = ["abc"]\nsecret_group = 2\n',
              "secret_group 2 does not exist"),
    "validator": ('id = "my-rule"\nregex = "abc"\nkeywords = ["abc"]\nvalidators = ["nope"]\n',
                  "unknown validator"),
    "example": ('id = "my-rule"\nregex = "abcd"\nkeywords = ["abc"]\nexamples = ["abc"]\n',
                "example does not match"),
    "counter": ('id = "my-rule"\nregex = "abc"\nkeywords = ["abc"]\ncounter_examples = ["xabc"]\n',
                "counter-example matches"),
    "duplicate": ('id = "github-pat-classic-dup"\nregex = "abc"\nkeywords = ["abc"]\n'
                  '[[rules]]\nid = "github-pat-classic-dup"\nregex = "abc"\nkeywords = ["abc"]\n'
                  'category = "secret"\nseverity = "low"\ndescription = "d"\n'
                  'examples = ["abc"]\ncounter_examples = ["xyz"]\n', "duplicate rule id"),
}


@pytest.mark.parametrize("case", sorted(BAD_RULES))
def test_bad_rule_file_exit_2_one_line(tmp_path: Path, case: str) -> None:
    body, reason = BAD_RULES[case]
    defaults = {"category": 'category = "secret"\n', "severity": 'severity = "low"\n',
                "description": 'description = "d"\n', "examples": 'examples = ["abc"]\n',
                "counter_examples": 'counter_examples = ["xyz"]\n'}
    head, _, tail = body.partition("[[rules]]")
    for key, line in defaults.items():
        if f"\n{key} =" not in "\n" + head:
            head += line
    f = tmp_path / "mine.toml"
    f.write_text("[[rules]]\n" + head + ("[[rules]]" + tail if tail else ""))
    r = run("scan", "--rules", str(f), str(SAMPLES))
    assert r.returncode == 2
    err = r.stderr.decode().strip()
    assert len(err.splitlines()) == 1, err
    assert err.startswith(f"logaudit: {f}: ") and reason in err, err
    assert r.stdout == b""  # nothing scanned


def test_rules_test_reports_each_rule(tmp_path: Path) -> None:
    f = tmp_path / "mine.toml"
    f.write_text('[[rules]]\nid = "good-one"\ncategory = "secret"\nseverity = "high"\n'
                 'description = "d"\nkeywords = ["acme_"]\nregex = "acme_[a-z]{8}"\n'
                 'examples = ["acme_abcdefgh"]\ncounter_examples = ["acme_abc"]\n'
                 '[[rules]]\nid = "bad-one"\ncategory = "secret"\nseverity = "high"\n'
                 'description = "d"\nkeywords = ["acme_"]\nregex = "acme_[a-z]{8}"\n'
                 'examples = ["acme_abc"]\ncounter_examples = ["x"]\n')
    r = run("rules", "test", str(f))
    out = r.stdout.decode()
    assert r.returncode == 2
    assert "PASS  good-one" in out and "FAIL  bad-one" in out and "1 passed, 1 failed" in out


def test_rules_list_and_show() -> None:
    r = run("rules", "list", "--category", "pii", "--format", "json")
    assert r.returncode == 0
    import json

    ids = {x["id"] for x in json.loads(r.stdout)}
    assert {"payment-card-number", "us-ssn", "iban", "email-address"} <= ids
    r = run("rules", "show", "payment-card-number")
    assert r.returncode == 0 and b"Luhn" in r.stdout and b"examples" in r.stdout
    assert run("rules", "show", "no-such-rule").returncode == 2


def test_stdin() -> None:
    r = run("scan", "-q", "-", stdin=b"card=4111 1111 1111 1111\n")
    assert r.returncode == 1 and b"1 finding" in r.stdout


def _all_text(path: Path, fmt: ReportFormat) -> str:
    if fmt is ReportFormat.PARQUET:
        return pl.read_parquet(path).write_csv() + str(pl.read_parquet_schema(path))
    return path.read_bytes().decode("utf-8", "replace")


def _ext(fmt: ReportFormat) -> str:
    return {"table": "txt", "markdown": "md"}.get(fmt.value, fmt.value)


@pytest.mark.parametrize("fmt", list(ReportFormat), ids=lambda f: f.value)
def test_no_raw_value_in_any_output(tmp_path: Path, fmt: ReportFormat) -> None:
    out = tmp_path / f"report.{_ext(fmt)}"
    r = run("scan", str(SAMPLES), "-o", str(out), "--format", fmt.value)
    assert r.returncode == 1, r.stderr
    text = _all_text(out, fmt) + r.stdout.decode() + r.stderr.decode()
    leaked = [v for v in PLANTED if v in text]
    assert not leaked, f"raw values in {fmt.value} output: {leaked}"


def test_no_raw_value_on_terminal_and_show_secrets_shows_them() -> None:
    r = run("scan", str(SAMPLES), "--max-rows", "500")
    text = r.stdout.decode() + r.stderr.decode()
    assert not [v for v in PLANTED if v in text]
    r = run("scan", str(SAMPLES / "payment_service.log"), "--show-secrets", "-f", "jsonl")
    assert "4111 1111 1111 1111" in r.stdout.decode()


def test_every_planted_value_is_found(tmp_path: Path) -> None:
    out = tmp_path / "all.jsonl"
    run("scan", str(SAMPLES), "-o", str(out), "--show-secrets")
    df = pl.read_ndjson(out)
    found = "\n".join(df["match"].to_list())
    missing = [v for v in PLANTED if v not in found]
    assert not missing, f"planted values not found: {missing}"
    assert df.filter(pl.col("path").str.ends_with("clean.log")).is_empty()


def test_wheel_ships_rules(tmp_path: Path) -> None:
    """The rule packs are inside the wheel: a wheel install run elsewhere has every rule."""
    pytest.importorskip("build", reason="needs the 'build' package (test extra)")
    dist = tmp_path / "dist"
    subprocess.run([sys.executable, "-m", "build", "--wheel", "--outdir", str(dist), str(ROOT)],
                   check=True, capture_output=True, timeout=600)
    wheel = next(dist.glob("logaudit-*.whl"))
    import zipfile

    names = zipfile.ZipFile(wheel).namelist()
    assert any(n.startswith("logaudit/patterns/pii/") for n in names)
    assert any(n.startswith("logaudit/patterns/secrets/") for n in names)


@pytest.mark.parametrize("cmd", [[], ["scan"], ["rules"], ["rules", "list"], ["rules", "show"],
                                 ["rules", "test"], ["report"], ["baseline"],
                                 ["baseline", "create"], ["baseline", "update"],
                                 ["baseline", "prune"]], ids=lambda c: " ".join(c) or "logaudit")
def test_every_command_has_help(cmd: list[str]) -> None:
    r = run(*cmd, "--help")
    assert r.returncode == 0, r.stderr
    assert b"Usage:" in r.stdout and len(r.stdout) > 200


def test_version() -> None:
    from logaudit import __version__

    r = run("--version")
    assert r.returncode == 0 and r.stdout.decode().strip() == f"logaudit {__version__}"


def test_structured_log_has_run_id_and_no_values(tmp_path: Path) -> None:
    log = tmp_path / "logaudit.log"
    r = run("scan", str(SAMPLES), str(tmp_path / "missing.log"), "-q", "--log-file", str(log),
            "--log-format", "json")
    assert r.returncode == 3
    import json

    events = [json.loads(x) for x in log.read_text().splitlines()]
    names = [e["event"] for e in events]
    assert names[0] == "scan.start" and names[-1] == "scan.end" and "input.error" in names
    assert len({e["run_id"] for e in events}) == 1
    end = events[-1]
    assert end["findings"] > 0 and end["bytes_scanned"] > 0 and "seconds" in end
    text = log.read_text()
    assert not [v for v in PLANTED if v in text]
