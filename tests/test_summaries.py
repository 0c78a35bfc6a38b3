"""Summaries as data: ``report --by``, ``--trend`` and ``--diff`` written in every tabular
format, read back with their values and types checked, and sums equal to the findings."""

from __future__ import annotations

import json
import re
from collections import Counter
from datetime import date
from html import unescape
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from test_report_cmd import finding_day, nightly_runs, write_runs
from typer.testing import CliRunner

from logaudit.cli import app

TABULAR = {"csv": "csv", "parquet": "parquet", "json": "json", "jsonl": "jsonl",
           "markdown": "md", "html": "html"}
CATEGORIES = ("secret", "pii", "traceback", "db_error", "disclosure")


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Path]]:
    return write_runs(tmp_path_factory.mktemp("summaries"), "parquet", days=10)


@pytest.fixture(scope="module")
def rows() -> list[dict[str, Any]]:
    return [r for _, rs in nightly_runs(10) for r in rs]


def read_back(path: Path, fmt: str) -> list[dict[str, Any]]:
    """The rows of a written summary as dicts (text formats: strings)."""
    if fmt == "csv":
        return pl.read_csv(path, infer_schema=False).to_dicts()
    if fmt == "parquet":
        return pl.read_parquet(path).to_dicts()
    if fmt == "json":
        doc = json.loads(path.read_text())
        assert doc["summary"]["summary"] in ("by", "trend", "diff")
        return list(doc["rows"])
    if fmt == "jsonl":
        return [json.loads(line) for line in path.read_text().splitlines()]
    if fmt == "markdown":
        lines = [ln for ln in path.read_text().splitlines() if ln.startswith("|")]
        cells = [[c.strip().replace("\\_", "_") for c in ln.strip("|").split(" | ")]
                 for ln in lines]
        return [dict(zip(cells[0], r, strict=True)) for r in cells[2:]]
    text = path.read_text()
    head = re.findall(r"<th>(.*?)</th>", text)
    body = [re.findall(r"<td[^>]*>(.*?)</td>", tr) for tr in re.findall(r"<tr>(.*?)</tr>", text)]
    return [dict(zip(head, map(unescape, r), strict=True)) for r in body if r]


def report(tmp: Path, fmt: str, *args: str) -> list[dict[str, Any]]:
    out = tmp / f"out.{TABULAR[fmt]}"
    res = CliRunner().invoke(app, ["report", *args, "-o", str(out)])
    assert res.exit_code == 0, res.output
    return read_back(out, fmt)


def _int(v: Any) -> int:
    return int(v)


@pytest.mark.parametrize("fmt", TABULAR)
def test_by_rule_and_by_day(tmp_path: Path, fmt: str, runs: tuple[Path, list[Path]],
                            rows: list[dict[str, Any]]) -> None:
    directory, _ = runs
    got = report(tmp_path, fmt, str(directory), "--by", "rule", "--top", "0")
    expected = Counter(r["rule_id"] for r in rows)
    assert {g["rule"]: _int(g["findings"]) for g in got} == expected
    assert sum(_int(g["findings"]) for g in got) == len(rows)
    assert abs(sum(float(g["share"]) for g in got) - 1.0) < 1e-3
    runs_per_rule = {r: len({x["run_id"] for x in rows if x["rule_id"] == r}) for r in expected}
    assert {g["rule"]: _int(g["runs"]) for g in got} == runs_per_rule

    got = report(tmp_path, fmt, str(directory), "--by", "day", "--top", "0")
    days = Counter(finding_day(r) for r in rows)
    assert {str(g["day"]): _int(g["findings"]) for g in got} == days
    assert [str(g["day"]) for g in got] == sorted(days)
    if fmt == "parquet":
        schema = pl.read_parquet(tmp_path / "out.parquet").schema
        assert schema["day"] == pl.Date and schema["first_day"] == pl.Date
        assert schema["findings"] == pl.Int64 and schema["runs"] == pl.Int64
        assert schema["share"] == pl.Float64
        assert isinstance(got[0]["day"], date)


@pytest.mark.parametrize("fmt", TABULAR)
def test_trend(tmp_path: Path, fmt: str, runs: tuple[Path, list[Path]],
               rows: list[dict[str, Any]]) -> None:
    directory, _ = runs
    got = report(tmp_path, fmt, str(directory), "--trend")
    expected = Counter((finding_day(r), r["category"]) for r in rows)
    seen = {(str(g["day"]), c): _int(g[c]) for g in got for c in CATEGORIES if _int(g[c])}
    assert seen == expected
    assert sum(_int(g["total"]) for g in got) == len(rows)
    assert all(_int(g["total"]) == sum(_int(g[c]) for c in CATEGORIES) for g in got)
    if fmt == "parquet":
        schema = pl.read_parquet(tmp_path / "out.parquet").schema
        assert schema["day"] == pl.Date
        assert all(schema[c] == pl.Int64 for c in (*CATEGORIES, "total", "runs"))


@pytest.mark.parametrize("fmt", TABULAR)
def test_diff_one_row_per_finding_with_status(tmp_path: Path, fmt: str,
                                              runs: tuple[Path, list[Path]]) -> None:
    _, files = runs
    old_rows = nightly_runs(10)[3][1]
    new_rows = nightly_runs(10)[4][1]
    old_fp = {r["fingerprint"] for r in old_rows}
    new_fp = {r["fingerprint"] for r in new_rows}
    got = report(tmp_path, fmt, "--diff", str(files[3]), str(files[4]))
    status = {g["fingerprint"]: g["status"] for g in got}
    assert len(status) == len(got) == len(old_fp | new_fp)
    assert status == {**dict.fromkeys(old_fp - new_fp, "fixed"),
                      **dict.fromkeys(new_fp - old_fp, "new"),
                      **dict.fromkeys(old_fp & new_fp, "still")}
    assert Counter(status.values())["still"] == 3
    lines = {g["fingerprint"]: _int(g["line"]) for g in got}
    assert all(lines[r["fingerprint"]] == r["line"] for r in new_rows)
    if fmt == "parquet":
        schema = pl.read_parquet(tmp_path / "out.parquet").schema
        assert schema["status"] == pl.String and schema["line"] == pl.Int64


def test_summary_to_stdout_and_rows_flag(runs: tuple[Path, list[Path]],
                                         rows: list[dict[str, Any]]) -> None:
    directory, files = runs
    res = CliRunner().invoke(app, ["report", str(directory), "--by", "severity", "-f", "jsonl"])
    assert res.exit_code == 0, res.output
    got = [json.loads(line) for line in res.output.splitlines()]
    assert sum(g["findings"] for g in got) == len(rows)
    res = CliRunner().invoke(app, ["report", str(directory), "--rows", "-f", "jsonl"])
    assert res.exit_code == 0 and len(res.output.splitlines()) == len(rows)
    res = CliRunner().invoke(app, ["report", str(directory), "-f", "sarif"])
    assert res.exit_code == 2 and "a summary is a table" in res.output
    res = CliRunner().invoke(app, ["report", "--diff", str(files[0]), str(files[1]), "--rows",
                                   "-f", "jsonl"])
    new = {r["fingerprint"] for r in nightly_runs(10)[1][1]} - {
        r["fingerprint"] for r in nightly_runs(10)[0][1]}
    assert {json.loads(line)["fingerprint"] for line in res.output.splitlines()} == new


def test_csv_cells_cannot_become_formulas(tmp_path: Path) -> None:
    from logaudit.reports.tables import write_table
    from logaudit.reports.writers import ReportFormat

    df = pl.DataFrame({"path": ["=HYPERLINK(\"http://x\")", "-2+3", "ok"], "findings": [1, 2, 3]})
    write_table(df, str(tmp_path / "t.csv"), ReportFormat.CSV, {})
    back = pl.read_csv(tmp_path / "t.csv")
    assert back["path"].to_list() == ["'=HYPERLINK(\"http://x\")", "'-2+3", "ok"]
    assert back["findings"].to_list() == [1, 2, 3]
