"""Start-up: the commands a user runs first do not load what they do not use."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from logaudit.reports.writers import ReportFormat, writer_for

PROBE = """
import sys
from logaudit.cli import main
sys.argv = ["logaudit", *sys.argv[1:]]
try:
    main()
except SystemExit:
    pass
heavy = sorted(m for m in ("polars", "dask", "fsspec", "pyarrow", "distributed")
               if m in sys.modules)
print("HEAVY=" + ",".join(heavy))
"""


def _heavy(*args: str) -> str:
    out = subprocess.run([sys.executable, "-c", PROBE, *args], capture_output=True, text=True,
                         check=True)
    return out.stdout.strip().splitlines()[-1]


@pytest.mark.parametrize("args", [["--help"], ["rules", "list"], ["scan", "--help"]])
def test_commands_start_without_polars_or_dask(args: list[str]) -> None:
    assert _heavy(*args) == "HEAVY="


def test_scan_without_findings_does_not_build_a_table(tmp_path: Path) -> None:
    log = tmp_path / "one.log"
    log.write_text("2026-01-01T00:00:00Z INFO service started\n")
    assert _heavy("scan", str(log)) == "HEAVY="


def test_scan_with_findings_still_reports_them(tmp_path: Path) -> None:
    log = tmp_path / "one.log"
    log.write_text("user bob@example.com logged in\n")
    out = subprocess.run([sys.executable, "-m", "logaudit", "scan", str(log)],
                         capture_output=True, text=True)
    assert out.returncode == 1 and "email-address" in out.stdout


def test_binary_formats_are_those_whose_writer_is_binary() -> None:
    assert {f for f in ReportFormat if f.binary} == {f for f in ReportFormat
                                                    if writer_for(f).binary}
