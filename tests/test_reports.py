"""Writers: every format, the same rows everywhere, run records, SARIF validity, atomicity."""

from __future__ import annotations

import csv
import json
import re
from datetime import datetime, timezone
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from logaudit.errors import ReportError
from logaudit.reports.frame import SCHEMA
from logaudit.reports.writers import (
    EXTENSIONS,
    ReportFormat,
    format_for_path,
    write_report,
    writer_for,
)
from logaudit.reports.writers.parquet import RUN_KEY
from logaudit.reports.writers.sarif import FINGERPRINT_KEY

ROOT = Path(__file__).resolve().parent.parent
SARIF_SCHEMA = ROOT.parent / "shared" / "schemas" / "sarif-schema-2.1.0.json"  # ../shared
TS = datetime(2024, 5, 1, 12, 30, tzinfo=timezone.utc)

ROWS: list[dict[str, Any]] = [
    {"run_id": "20240501T020000Z-00000001", "path": "/var/log/api/app.log", "line": 3,
     "end_line": 3, "column": 7, "rule_id": "aws-access-key", "category": "secret",
     "severity": "critical", "match": "AKIA********MPLE", "fingerprint": "a" * 64,
     "timestamp": TS, "context": "key=AKIA********MPLE | <b>x</b>", "details": None},
    {"run_id": "20240501T020000Z-00000001", "path": "logs/b.tar.gz!inner dir/x.log", "line": 10,
     "end_line": 14, "column": 1, "rule_id": "python-traceback", "category": "traceback",
     "severity": "low", "match": "Traceback (most recent call last):", "fingerprint": "b" * 64,
     "timestamp": None, "context": "Traceback (most recent call last):",
     "details": json.dumps({"frames": 3, "language": "python"})},
    {"run_id": "20240501T020000Z-00000001", "path": "web/access.log", "line": 99,
     "end_line": 99, "column": 42, "rule_id": "email-address", "category": "pii",
     "severity": "medium", "match": "j***@example.com", "fingerprint": "c" * 64,
     "timestamp": TS, "context": 'GET /?u=j***@example.com "<script>alert(1)</script>"',
     "details": None},
]
RUN = {"run_id": "20240501T020000Z-00000001", "started": "2024-05-01T02:00:00+00:00",
       "finished": "2024-05-01T02:03:00+00:00", "version": "0.1.0",
       "counters": {"inputs_scanned": 3, "inputs_skipped": 1, "inputs_failed": 0,
                    "bytes_scanned": 12345, "findings": 3}}


def frame() -> pl.DataFrame:
    """The three sample findings."""
    return pl.DataFrame(ROWS, schema=SCHEMA)


class _Rows(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.fingerprints: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "tr" and a.get("data-fingerprint"):
            self.fingerprints.append(str(a["data-fingerprint"]))


def keys_of(fmt: ReportFormat, path: Path) -> set[tuple[str, str, int]]:
    """(rule, path, line) of every finding a report file holds, read back per format."""
    if fmt is ReportFormat.PARQUET:
        return {(r["rule_id"], r["path"], r["line"]) for r in pl.read_parquet(path).to_dicts()}
    text = path.read_text(encoding="utf-8")
    if fmt is ReportFormat.JSONL:
        rows = [json.loads(x) for x in text.splitlines()]
    elif fmt is ReportFormat.JSON:
        rows = json.loads(text)["findings"]
    elif fmt is ReportFormat.CSV:
        rows = [{**r, "line": int(r["line"])} for r in csv.DictReader(text.splitlines())]
    elif fmt is ReportFormat.SARIF:
        res = json.loads(text)["runs"][0]["results"]
        by_fp = {r["fingerprint"]: r for r in ROWS}
        rows = [by_fp[x["partialFingerprints"][FINGERPRINT_KEY]] for x in res]
    elif fmt is ReportFormat.HTML:
        p = _Rows()
        p.feed(text)
        by_fp = {r["fingerprint"]: r for r in ROWS}
        rows = [by_fp[f] for f in p.fingerprints]
    elif fmt is ReportFormat.MARKDOWN:
        rows = []
        for line in text.splitlines():
            m = re.match(r"\| \w+ \| `([^`]+)` \| `(.+?):(\d+)(?:-\d+)?:\d+` \|", line)
            if m:
                rows.append({"rule_id": m[1], "path": m[2], "line": int(m[3])})
    else:
        rows = []
        for r in ROWS:
            if f"{r['path']}:{r['line']}" in text.replace("\n", ""):
                rows.append(r)
    return {(r["rule_id"], r["path"], r["line"]) for r in rows}


@pytest.mark.parametrize("fmt", list(ReportFormat))
def test_every_format_writes_the_same_rows(tmp_path: Path, fmt: ReportFormat) -> None:
    """Each member of the enum has a writer, and every writer emits the same findings."""
    assert writer_for(fmt).name == fmt.value
    out = tmp_path / f"report.{fmt.value}"
    write_report(frame(), str(out), fmt, RUN)
    assert keys_of(fmt, out) == {(r["rule_id"], r["path"], r["line"]) for r in ROWS}
    assert [p.name for p in tmp_path.iterdir()] == [out.name]  # no temp file left


@pytest.mark.parametrize("fmt", list(ReportFormat))
def test_every_format_handles_no_findings(tmp_path: Path, fmt: ReportFormat) -> None:
    """An empty scan still writes a valid report."""
    out = tmp_path / f"empty.{fmt.value}"
    write_report(pl.DataFrame(schema=SCHEMA), str(out), fmt, RUN)
    assert out.stat().st_size > 0 or fmt is ReportFormat.JSONL
    if fmt.value in ("jsonl", "json", "csv", "parquet"):
        from logaudit.reports.load import load

        assert load([str(out)]).frame.collect().is_empty()


def test_extensions_cover_every_text_format() -> None:
    """-o's extension selects the format; unknown extensions are a clear error."""
    assert set(EXTENSIONS.values()) == set(ReportFormat)
    assert format_for_path("x.sarif.json") is ReportFormat.SARIF
    assert format_for_path("X.HTML") is ReportFormat.HTML
    with pytest.raises(ReportError, match="use --format"):
        format_for_path("report.xyz")


def test_parquet_is_typed_and_records_the_run(tmp_path: Path) -> None:
    """Ints, UTC datetimes, categoricals, zstd; the run record in the file metadata."""
    out = tmp_path / "r.parquet"
    write_report(frame(), str(out), ReportFormat.PARQUET, RUN)
    df = pl.read_parquet(out)
    assert df.schema["line"] == pl.Int64 and df.schema["column"] == pl.Int64
    assert df.schema["timestamp"] == pl.Datetime("us", "UTC")
    assert df.schema["severity"] == pl.Categorical and df.schema["rule_id"] == pl.Categorical
    run = json.loads(pl.read_parquet_metadata(out)[RUN_KEY])
    assert run["run_id"] == RUN["run_id"] and run["counters"]["inputs_skipped"] == 1
    assert run["rule_pack_version"] and run["tool"] == "logaudit"
    assert b"\x28\xb5\x2f\xfd" in out.read_bytes()  # zstd frame magic: pages are zstd


def test_json_has_the_run_object(tmp_path: Path) -> None:
    """JSON: ``{"run": ..., "findings": [...]}``; details decoded; times in ISO 8601."""
    out = tmp_path / "r.json"
    write_report(frame(), str(out), ReportFormat.JSON, RUN)
    doc = json.loads(out.read_text())
    assert doc["run"]["started"] == RUN["started"] and "rule_pack_version" in doc["run"]
    assert doc["findings"][1]["details"] == {"frames": 3, "language": "python"}
    assert doc["findings"][0]["timestamp"] == "2024-05-01T12:30:00+00:00"


def _validate_sarif(doc: dict[str, Any]) -> None:
    if not SARIF_SCHEMA.is_file():
        pytest.skip(f"{SARIF_SCHEMA} is absent: cannot validate SARIF against the official "
                    "schema here")
    jsonschema = pytest.importorskip("jsonschema", reason="jsonschema is in the test extra")
    jsonschema.validate(doc, json.loads(SARIF_SCHEMA.read_text()))


def test_sarif_is_valid_and_carries_rules_and_fingerprints(tmp_path: Path) -> None:
    """SARIF 2.1.0: catalogue rules with help; results with locations and fingerprints."""
    out = tmp_path / "r.sarif"
    write_report(frame(), str(out), ReportFormat.SARIF, RUN)
    doc = json.loads(out.read_text())
    _validate_sarif(doc)
    run = doc["runs"][0]
    rules = {r["id"]: r for r in run["tool"]["driver"]["rules"]}
    assert {"aws-access-key", "python-traceback", "email-address"} <= set(rules)
    assert all(r["help"]["text"] and r["shortDescription"]["text"] for r in rules.values())
    res = run["results"][1]
    loc = res["locations"][0]["physicalLocation"]
    assert loc["artifactLocation"]["uri"] == "logs/b.tar.gz!inner%20dir/x.log"
    assert loc["region"] == {"startLine": 10, "endLine": 14, "startColumn": 1,
                             "snippet": {"text": "Traceback (most recent call last):"}}
    assert res["partialFingerprints"] == {FINGERPRINT_KEY: "b" * 64}
    assert run["tool"]["driver"]["rules"][res["ruleIndex"]]["id"] == res["ruleId"]


def test_sarif_of_a_scan_of_sample_logs_validates(tmp_path: Path) -> None:
    """The SARIF of a real scan of sample_logs/ is valid and its values are masked."""
    from logaudit.api import scan

    if not (ROOT / "sample_logs").is_dir():
        pytest.skip("sample_logs/ is not in this checkout")
    result = scan([ROOT / "sample_logs"], workers=1, key=b"k")
    out = tmp_path / "s.sarif"
    write_report(result.findings, str(out), ReportFormat.SARIF, result.run_record())
    doc = json.loads(out.read_text())
    _validate_sarif(doc)
    assert len(doc["runs"][0]["results"]) == len(result.findings) > 0
    assert "4111 1111 1111 1111" not in out.read_text()


def test_html_escapes_and_needs_no_network(tmp_path: Path) -> None:
    """Values are escaped; nothing is fetched (no src/href to any URL)."""
    out = tmp_path / "r.html"
    write_report(frame(), str(out), ReportFormat.HTML, RUN)
    text = out.read_text()
    assert "<script>alert(1)" not in text and "&lt;script&gt;alert(1)" in text
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:|//)""", text)
    assert "@import" not in text and "url(" not in text


def test_markdown_escapes_pipes(tmp_path: Path) -> None:
    """A pipe inside a context or match does not break the Markdown table."""
    df = frame().with_columns(pl.lit("a|b").alias("match"))
    out = tmp_path / "r.md"
    write_report(df, str(out), ReportFormat.MARKDOWN, RUN)
    body = [x for x in out.read_text().splitlines() if x.startswith("| critical")]
    assert body and "a\\|b" in body[0]


def test_write_is_atomic(tmp_path: Path) -> None:
    """A failing writer leaves the old report in place and no temp file behind."""
    out = tmp_path / "r.jsonl"
    out.write_text("old\n")
    bad = frame().with_columns(pl.lit(None, dtype=pl.String).alias("fingerprint"))
    with pytest.raises(Exception):  # noqa: B017 - any failure of the SARIF writer
        write_report(bad.with_columns(pl.lit("zz").alias("rule_id")).drop("path"),
                     str(out), ReportFormat.SARIF, RUN)
    assert out.read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["r.jsonl"]
    with pytest.raises(ReportError, match="cannot write"):
        write_report(frame(), str(tmp_path / "missing" / "r.json"), ReportFormat.JSON, RUN)


@settings(max_examples=25, deadline=None)
@given(st.lists(st.text(min_size=0, max_size=30), min_size=1, max_size=5))
def test_text_values_round_trip(tmp_path_factory: pytest.TempPathFactory,
                                texts: list[str]) -> None:
    """Any text in match/context survives JSONL, raw CSV and Parquet unchanged; the default
    (spreadsheet-safe) CSV reads back with only its control characters escaped."""
    from logaudit.escaping import escape_control
    from logaudit.reports.load import load

    d = tmp_path_factory.mktemp("rt")
    base = pl.DataFrame([ROWS[0]] * len(texts), schema=SCHEMA).with_columns(
        pl.Series("context", texts), pl.Series("match", texts))
    for fmt, raw in ((ReportFormat.JSONL, False), (ReportFormat.CSV, True),
                     (ReportFormat.CSV, False), (ReportFormat.PARQUET, False)):
        out = d / f"r.{fmt.value}"
        write_report(base, str(out), fmt, RUN, csv_raw=raw)
        back = load([str(out)]).frame.collect()
        want = texts if raw or fmt is not ReportFormat.CSV else [escape_control(t) for t in texts]
        assert back["context"].to_list() == want, fmt
