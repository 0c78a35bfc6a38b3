"""Benchmark ``logaudit report`` over many finding rows in Parquet: time and peak RSS.

Not a test. Usage::

    .venv/bin/python bench/report_bench.py [--rows 10000000] [--files 10] [--dir /tmp/lbench]

It writes ``--files`` Parquet reports (one nightly run each, through the real writer), then
runs ``logaudit report`` in a child process per query and prints wall time and the child's
peak resident memory (``ru_maxrss``).
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import polars as pl

from logaudit.reports.frame import SCHEMA
from logaudit.reports.writers import ReportFormat, write_report

RULES = [("aws-access-key", "secret", "critical"), ("github-pat", "secret", "high"),
         ("email-address", "pii", "medium"), ("payment-card-number", "pii", "critical"),
         ("python-traceback", "traceback", "low"), ("java-stacktrace", "traceback", "low"),
         ("sql-error", "db_error", "high"), ("stack-disclosure", "disclosure", "info")]


def make_run(n: int, k: int, start: datetime) -> tuple[pl.DataFrame, dict[str, Any]]:
    """One synthetic run of ``n`` findings (day ``k``), roughly like a busy fleet's logs."""
    started = start + timedelta(days=k + 1, hours=2)
    run_id = started.strftime("%Y%m%dT%H%M%SZ-") + f"{k:08x}"
    i = pl.int_range(0, n, dtype=pl.Int64, eager=True)
    r = i % len(RULES)
    df = pl.DataFrame({"i": i, "r": r}).select(
        run_id=pl.lit(run_id),
        path=pl.format("/var/log/svc{}/app.log", pl.col("i") % 50),
        line=pl.col("i") + 1, end_line=pl.col("i") + 1, column=(pl.col("i") % 80) + 1,
        rule_id=pl.col("r").replace_strict({j: x[0] for j, x in enumerate(RULES)}),
        category=pl.col("r").replace_strict({j: x[1] for j, x in enumerate(RULES)}),
        severity=pl.col("r").replace_strict({j: x[2] for j, x in enumerate(RULES)}),
        match=pl.lit("AKIA********MPLE"),
        fingerprint=pl.format("{}", (pl.col("i") * 2654435761 + k * 97) % 3_000_000)
        .str.zfill(16),
        timestamp=pl.when(pl.col("i") % 5 == 0).then(None).otherwise(
            pl.lit(start + timedelta(days=k)) + pl.duration(seconds=pl.col("i") % 86400)),
        context=pl.format("2024-03-01 12:00:00 ERROR request {} failed key=AKIA********MPLE",
                          pl.col("i")),
        details=pl.lit(None, dtype=pl.String),
    ).cast(SCHEMA)  # type: ignore[arg-type]
    run: dict[str, Any] = {"run_id": run_id, "started": started.isoformat(),
           "finished": (started + timedelta(minutes=30)).isoformat(),
           "counters": {"inputs_scanned": 50, "inputs_skipped": 0, "inputs_failed": 0,
                        "bytes_scanned": n * 200, "findings": n}}
    return df, run


def generate(directory: Path, rows: int, files: int) -> None:
    """Write ``files`` Parquet reports holding ``rows`` findings in all."""
    directory.mkdir(parents=True, exist_ok=True)
    start = datetime(2024, 3, 1, tzinfo=timezone.utc)
    for k in range(files):
        out = directory / f"run-{k:03d}.parquet"
        if out.exists():
            continue
        df, run = make_run(rows // files, k, start)
        write_report(df, str(out), ReportFormat.PARQUET, run)


def measure(args: list[str]) -> tuple[float, float]:
    """Seconds and peak RSS (MiB) of one ``logaudit report`` child process."""
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "logaudit", "report", *args],
                            stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)  # this child's own rusage
    proc.returncode = os.waitstatus_to_exitcode(status)
    secs = time.perf_counter() - t0
    if proc.returncode:
        raise SystemExit(f"logaudit report {' '.join(args)} exited {proc.returncode}")
    return secs, usage.ru_maxrss / 1024


def main() -> None:
    """Generate the reports (once) and time the queries."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=10_000_000)
    ap.add_argument("--files", type=int, default=10)
    ap.add_argument("--dir", type=Path, default=Path("/tmp/logaudit-report-bench"))
    ap.add_argument("--generate-only", action="store_true", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.generate_only:
        generate(a.dir, a.rows, a.files)
        return
    t0 = time.perf_counter()
    # NOTE: generate in a child: on Linux a child's ru_maxrss starts from its parent's RSS at
    # fork, so a parent that built 10 million rows would inflate every measurement.
    subprocess.run([sys.executable, __file__, "--generate-only", "--rows", str(a.rows),
                    "--files", str(a.files), "--dir", str(a.dir)], check=True)
    size = sum(p.stat().st_size for p in a.dir.glob("*.parquet"))
    print(f"{a.rows:,} rows in {a.files} Parquet files, {size / 1e6:.0f} MB "
          f"(generated in {time.perf_counter() - t0:.1f} s)")
    print(f"(this process: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB; "
          "a bare `python -c 'import logaudit.cli'` peaks near 55 MiB)")
    d = str(a.dir)
    for label, args in (("--by category", [d, "--by", "category"]),
                        ("--by rule --min-severity high", [d, "--by", "rule", "--min-severity",
                                                           "high"]),
                        ("--by day", [d, "--by", "day", "--top", "0"]),
                        ("--by service", [d, "--by", "service"]),
                        ("--trend", [d, "--trend"]),
                        ("--diff first last", ["--diff", f"{d}/run-000.parquet",
                                               f"{d}/run-{a.files - 1:03d}.parquet"])):
        secs, rss = measure(args)
        print(f"report {label:32s} {secs:6.1f} s   peak RSS {rss:7.0f} MiB")


if __name__ == "__main__":
    main()
