"""The HTML report rendered by headless Chromium: charts and table are in the live DOM."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from test_report_cmd import nightly_runs, write_runs
from typer.testing import CliRunner

from logaudit.cli import app

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--no-first-run", "--disable-component-update", "--disable-sync"]


def _chromium() -> str:
    """The chromium binary; installed with apt-get when missing and possible, else skip."""
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found:
        return found
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        pytest.skip("chromium is not installed and cannot be installed here "
                    "(needs root and apt-get): apt-get install -y chromium")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    proc = subprocess.run(["apt-get", "install", "-y", "chromium"], capture_output=True,
                          text=True, timeout=900, check=False, env=env)
    if proc.returncode:  # a fresh machine has no package lists yet
        subprocess.run(["apt-get", "update"], capture_output=True, timeout=600, check=False,
                       env=env)
        proc = subprocess.run(["apt-get", "install", "-y", "chromium"], capture_output=True,
                              text=True, timeout=900, check=False, env=env)
    found = shutil.which("chromium")
    if proc.returncode or not found:
        pytest.skip(f"apt-get install -y chromium failed (exit {proc.returncode}): "
                    f"{(proc.stderr or proc.stdout).strip().splitlines()[-1:]}")
    return found


def dump_dom(page: Path, tmp: Path, fragment: str = "") -> str:
    """The DOM after scripts ran, as Chromium serializes it."""
    profile = tmp / f"profile{len(list(tmp.glob('profile*')))}"
    proc = subprocess.run(
        [_chromium(), *FLAGS, f"--user-data-dir={profile}", "--dump-dom",
         page.resolve().as_uri() + fragment],
        capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout


@pytest.fixture(scope="module")
def summary_html(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``logaudit report DIR --rows --format html -o summary.html`` over 30 nightly runs."""
    tmp = tmp_path_factory.mktemp("html")
    directory, _ = write_runs(tmp, "parquet")
    out = tmp / "summary.html"
    res = CliRunner().invoke(app, ["report", str(directory), "--rows", "--format", "html", "-o",
                                   str(out)])
    assert res.exit_code == 0, res.output
    return out


def test_charts_and_table_in_rendered_dom(summary_html: Path, tmp_path: Path) -> None:
    """Four charts with bars, the whole table, and the script ran (data-ready)."""
    dom = dump_dom(summary_html, tmp_path)
    for chart in ("chart-days", "chart-rules", "chart-files", "chart-severity"):
        m = re.search(rf'<svg id="{chart}".*?</svg>', dom, re.S)
        assert m, chart
        assert m.group(0).count("<rect") >= 2, chart
    days = re.search(r'<svg id="chart-days".*?</svg>', dom, re.S)
    assert days and len(set(re.findall(r"<title>(\d{4}-\d{2}-\d{2}) ", days.group(0)))) == 31
    assert re.search(r'<table id="findings"[^>]*data-ready="1"', dom)
    total = sum(len(rows) for _, rows in nightly_runs())
    assert dom.count("<tr data-category=") == total
    assert f'<span id="shown">{total}</span>' in dom


def test_filter_runs_in_the_browser(summary_html: Path, tmp_path: Path) -> None:
    """The inline filter hides rows (driven through the page's #q= fragment)."""
    dom = dump_dom(summary_html, tmp_path, "#q=worker")
    expected = sum(1 for _, rows in nightly_runs() for r in rows if "worker" in r["path"])
    assert f'<span id="shown">{expected}</span>' in dom
    assert dom.count('style="display: none;"') == \
        sum(len(rows) for _, rows in nightly_runs()) - expected
