"""``logaudit report``: 30 nightly scans, summaries, diff and trend on Parquet, JSONL and CSV."""

from __future__ import annotations

import re
from collections import Counter
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from typer.testing import CliRunner

from logaudit.cli import app
from logaudit.reports.frame import SCHEMA
from logaudit.reports.load import InputKind, detect, load
from logaudit.reports.query import Filters, diff, prepare, summarize, trend
from logaudit.reports.writers import ReportFormat, write_report

SERVICES = ("api", "web", "worker")
DAILY_RULES = (("email-address", "pii", "medium"), ("python-traceback", "traceback", "low"),
               ("sql-error", "db_error", "high"), ("stack-disclosure", "disclosure", "info"))
START = date(2024, 3, 1)
FORMATS = ("parquet", "jsonl", "csv")


def _finding(run_id: str, svc: str, line: int, rule: tuple[str, str, str], fp: str,
             ts: datetime | None) -> dict[str, Any]:
    return {"run_id": run_id, "path": f"/var/log/{svc}/app.log", "line": line, "end_line": line,
            "column": 3, "rule_id": rule[0], "category": rule[1], "severity": rule[2],
            "match": "j***@example.com", "fingerprint": fp, "timestamp": ts,
            "context": f"user j***@example.com | line {line}", "details": None}


def nightly_runs(days: int = 30) -> list[tuple[dict[str, Any], list[dict[str, Any]]]]:
    """Synthetic nightly scans: the run at 02:00 UTC on day d+1 covers the logs of day d.

    Each service leaks one persistent secret every day (the worker's is fixed after day 20)
    and ``d % 4 + 1 + service index`` new findings; every third new finding has no log
    timestamp, so its day is the run's start (the next day).
    """
    out = []
    for d in range(days):
        day = datetime.combine(START + timedelta(days=d), datetime.min.time(), timezone.utc)
        started = day + timedelta(days=1, hours=2)
        run_id = started.strftime("%Y%m%dT%H%M%SZ-") + f"{d:08x}"
        rows = []
        for s, svc in enumerate(SERVICES):
            if not (svc == "worker" and d >= 20):
                rows.append(_finding(run_id, svc, 5, ("aws-access-key", "secret", "critical"),
                                     f"persist-{svc}", day + timedelta(hours=10)))
            for i in range(d % 4 + 1 + s):
                ts = None if i % 3 == 2 else day + timedelta(hours=12, minutes=i)
                rows.append(_finding(run_id, svc, 100 + i, DAILY_RULES[(d + i) % 4],
                                     f"fp-{d}-{svc}-{i}", ts))
        run = {"run_id": run_id, "started": started.isoformat(),
               "finished": (started + timedelta(minutes=3)).isoformat(),
               "counters": {"inputs_scanned": 3, "inputs_skipped": 0, "inputs_failed": 0,
                            "bytes_scanned": 3_000_000, "findings": len(rows)}}
        out.append((run, rows))
    return out


def finding_day(row: dict[str, Any]) -> str:
    """The documented rule: the log timestamp's UTC day, else the run start's."""
    if row["timestamp"] is not None:
        return str(row["timestamp"].date())
    started = datetime.strptime(row["run_id"][:16], "%Y%m%dT%H%M%SZ")
    return str(started.date())


def write_runs(tmp: Path, fmt: str, days: int = 30) -> tuple[Path, list[Path]]:
    """Write every nightly run as one report file (odd extensions: content decides)."""
    out = tmp / f"runs-{fmt}"
    out.mkdir()
    files = []
    for run, rows in nightly_runs(days):
        p = out / f"{run['run_id']}.{fmt}"
        write_report(pl.DataFrame(rows, schema=SCHEMA), str(p), ReportFormat(fmt), run)
        files.append(p)
    return out, files


@pytest.fixture(scope="module")
def all_rows() -> list[dict[str, Any]]:
    """Every synthetic finding of the 30 runs."""
    return [r for _, rows in nightly_runs() for r in rows]


@pytest.mark.parametrize("fmt", FORMATS)
def test_detect_by_content(tmp_path: Path, fmt: str) -> None:
    """The kind of a report comes from its bytes, not its name."""
    _, files = write_runs(tmp_path, fmt, days=1)
    odd = files[0].rename(files[0].with_suffix(".dat"))
    assert detect(odd) is InputKind(fmt)
    (tmp_path / "notes.txt").write_text("hello\n")
    assert detect(tmp_path / "notes.txt") is None


@pytest.mark.parametrize("fmt", FORMATS)
def test_by_day_trend_and_diff_numbers(tmp_path: Path, fmt: str,
                                       all_rows: list[dict[str, Any]]) -> None:
    """--by day, --trend and --diff agree with a plain-Python reference, in every input format."""
    directory, files = write_runs(tmp_path, fmt)
    loaded = load([str(directory)])
    assert len(loaded.files) == 30
    lf = prepare(loaded.frame, Filters(), loaded.run_starts())

    expected_days = Counter(finding_day(r) for r in all_rows)
    by_day = summarize(lf, "day")
    assert dict(zip(by_day["day"], by_day["findings"], strict=True)) == expected_days
    assert by_day["day"].to_list() == sorted(expected_days)  # in order, 31 days
    assert len(by_day) == 31

    expected_trend = Counter((finding_day(r), r["category"]) for r in all_rows)
    tr = trend(lf)
    got = {(row["day"], c): row[c] for row in tr.iter_rows(named=True)
           for c in ("secret", "pii", "traceback", "db_error", "disclosure") if row[c]}
    assert got == expected_trend
    assert tr["total"].sum() == len(all_rows)

    old = [r for r in all_rows if r["run_id"].endswith(f"{20 - 1:08x}")]  # day 19
    new = [r for r in all_rows if r["run_id"].endswith(f"{20:08x}")]  # day 20
    d = diff(load([str(files[19])]).frame, load([str(files[20])]).frame)
    old_fp, new_fp = {r["fingerprint"] for r in old}, {r["fingerprint"] for r in new}
    assert d.totals == {"new": len(new_fp - old_fp), "fixed": len(old_fp - new_fp),
                        "still": len(old_fp & new_fp)}
    assert d.totals["still"] == 2  # api and web keep leaking; worker's was fixed on day 20
    per_rule = {r["rule_id"]: (r["new"], r["fixed"], r["still"])
                for r in d.per_rule.iter_rows(named=True)}
    assert per_rule["aws-access-key"] == (0, 1, 2)


def _table_rows(text: str) -> dict[str, list[str]]:
    """First cell → other cells of each row of a rich table in plain output."""
    rows = {}
    for line in text.splitlines():
        cells = [c.strip() for c in re.split(r"[│┃]", line)[1:-1]]
        if len(cells) >= 2 and cells[0] and not cells[0].startswith("━"):
            rows[cells[0]] = cells[1:]
    return rows


@pytest.mark.parametrize("fmt", FORMATS)
def test_cli_by_day_diff_trend(tmp_path: Path, fmt: str, all_rows: list[dict[str, Any]]) -> None:
    """The command prints the same numbers (wide terminal, no colour)."""
    directory, files = write_runs(tmp_path, fmt)
    runner = CliRunner()
    env = {"COLUMNS": "200", "NO_COLOR": "1"}
    res = runner.invoke(app, ["report", str(directory), "--by", "day", "--top", "0"], env=env)
    assert res.exit_code == 0, res.output
    rows = _table_rows(res.output)
    for day, n in Counter(finding_day(r) for r in all_rows).items():
        assert rows[day][0] == str(n)

    res = runner.invoke(app, ["report", "--diff", str(files[19]), str(files[20])], env=env)
    assert res.exit_code == 0, res.output
    assert _table_rows(res.output)["aws-access-key"] == ["0", "1", "2"]

    res = runner.invoke(app, ["report", str(directory / "*"), "--trend"], env=env)
    assert res.exit_code == 0, res.output
    rows = _table_rows(res.output)
    first = str(START)
    n_first = sum(1 for r in all_rows if finding_day(r) == first)
    assert rows[first][-3] == str(n_first)  # the total column, before runs and the bar
    assert "█" in res.output


def test_filters_service_and_output(tmp_path: Path, all_rows: list[dict[str, Any]]) -> None:
    """--since/--until, --min-severity, --by service and -o in another format."""
    directory, _ = write_runs(tmp_path, "parquet")
    loaded = load([str(directory)])
    f = Filters(since=datetime(2024, 3, 10, tzinfo=timezone.utc),
                until=datetime(2024, 3, 12, 23, 59, 59, tzinfo=timezone.utc),
                min_severity="high")
    got = summarize(prepare(loaded.frame, f, loaded.run_starts()), "service")
    exp = Counter(r["path"].split("/")[3] for r in all_rows
                  if "2024-03-10" <= finding_day(r) <= "2024-03-12"
                  and r["severity"] in ("high", "critical"))
    assert dict(zip(got["service"], got["findings"], strict=True)) == exp

    pat = Filters(service_pattern=r"/log/(a\w+)/")
    got = summarize(prepare(loaded.frame, pat), "service")
    assert set(got["service"]) == {"api", "(none)"}

    out = tmp_path / "sel.jsonl"
    res = CliRunner().invoke(app, ["report", str(directory), "--since", "2024-03-10", "--until",
                                   "2024-03-12", "--min-severity", "high", "--rows", "-o",
                                   str(out)])
    assert res.exit_code == 0, res.output
    assert len(out.read_text().splitlines()) == sum(exp.values())
    back = load([str(out)]).frame.collect()
    assert back.schema == pl.Schema(SCHEMA)


def test_cli_errors_are_one_line(tmp_path: Path) -> None:
    """Unknown inputs, non-reports and bad options fail with one line and exit 2."""
    (tmp_path / "notes.txt").write_text("not a report\n")
    runner = CliRunner()
    for args in (["report", str(tmp_path / "missing.parquet")],
                 ["report", str(tmp_path / "notes.txt")],
                 ["report", str(tmp_path), "--by", "colour"],
                 ["report"]):
        res = runner.invoke(app, args)
        assert res.exit_code == 2, (args, res.output)
        assert "Traceback" not in res.output


def test_binary_format_needs_output(tmp_path: Path) -> None:
    """Parquet cannot go to a terminal; other formats print the summary (or with --rows the
    findings) alone."""
    directory, _ = write_runs(tmp_path, "jsonl", days=2)
    runner = CliRunner()
    res = runner.invoke(app, ["report", str(directory), "--format", "parquet"])
    assert res.exit_code == 2
    res = runner.invoke(app, ["report", str(directory), "--format", "csv", "--rows"])
    assert res.exit_code == 0
    assert res.output.startswith("run_id,path,")
    res = runner.invoke(app, ["report", str(directory), "--format", "csv"])
    assert res.exit_code == 0
    assert res.output.startswith("category,findings,share,runs,first_day,last_day")
