"""The terminal report (rich): counts, top rules and files, then the findings (masked), capped."""

from __future__ import annotations

import io
from typing import Any

import polars as pl
from rich.console import Console, Group, RenderableType
from rich.table import Table
from rich.text import Text

from logaudit.escaping import escape_any, escape_control
from logaudit.reports.summary import counts
from logaudit.reports.writers.interface import location
from logaudit.sources.interface import human_bytes

SEVERITY_STYLE = {
    "critical": "bold white on red", "high": "bold red", "medium": "yellow",
    "low": "cyan", "info": "dim",
}
MAX_ROWS = 50
SEVERITY_RANK = {"critical": 4, "high": 3, "medium": 2, "low": 1, "info": 0}


def context_window(context: str, match: str, width: int = 110) -> str:
    """The part of ``context`` around ``match`` (both masked), at most ``width`` characters."""
    if len(context) <= width:
        return context
    at = context.find(match[:20]) if match else -1
    start = 0 if at < 0 else max(0, min(at - width // 3, len(context) - width))
    return ("…" if start else "") + context[start : start + width] + (
        "…" if start + width < len(context) else "")


def _count_table(df: pl.DataFrame, by: str, title: str, top: int = 10) -> Table:
    t = Table(title=title, title_justify="left", show_edge=False, pad_edge=False)
    t.add_column(by)
    t.add_column("findings", justify="right")
    for value, n in counts(df, by).head(top).iter_rows():
        t.add_row(Text(escape_any(value), style=SEVERITY_STYLE.get(str(value), "")), str(n))
    return t


def render(df: pl.DataFrame, run: dict[str, Any], max_rows: int = MAX_ROWS) -> RenderableType:
    """Build the terminal report."""
    parts: list[RenderableType] = []
    c = run.get("counters", {})
    head = (f"run {escape_any(run.get('run_id', '?'))}: {c.get('inputs_scanned', 0)} input(s), "
            f"{human_bytes(c.get('bytes_scanned', 0))} scanned, {len(df)} finding(s)")
    if c.get("inputs_skipped", 0):
        head += f", {c['inputs_skipped']} skipped (not scanned)"
    if c.get("inputs_failed", 0):
        head += f", {c['inputs_failed']} not read"
    parts.append(Text(head, style="bold"))
    if df.is_empty():
        parts.append(Text("No findings.", style="green"))
        return Group(*parts)
    grid = Table.grid(padding=(0, 4))
    grid.add_row(_count_table(df, "category", "By category"),
                 _count_table(df, "severity", "By severity"))
    parts.append(grid)
    grid2 = Table.grid(padding=(0, 4))
    grid2.add_row(_count_table(df, "rule_id", "Top rules"), _count_table(df, "path", "Top files"))
    parts.append(grid2)
    t = Table(title="Findings", title_justify="left", show_lines=False, expand=False)
    t.add_column("severity", no_wrap=True)
    t.add_column("finding", overflow="fold")
    rank = pl.col("severity").replace_strict(SEVERITY_RANK, default=0, return_dtype=pl.Int8)
    worst_first = df.sort([rank, "path", "line", "column"], descending=[True, False, False, False])
    for row in worst_first.head(max_rows).iter_rows(named=True):
        loc = escape_control(location(row))
        cell = Text()
        cell.append(escape_control(row["rule_id"]), style="bold")
        cell.append(f"  {loc}\n")
        cell.append(escape_control(row["match"]), style="magenta")
        cell.append("\n")
        cell.append(context_window(escape_control(row["context"]), escape_control(row["match"])),
                    style="dim")
        t.add_row(Text(escape_control(row["severity"]),
                       style=SEVERITY_STYLE.get(row["severity"], "")), cell)
    parts.append(t)
    if len(df) > max_rows:
        parts.append(Text(f"… and {len(df) - max_rows} more finding(s); write them all with "
                          "-o FILE (jsonl, csv, parquet, …)", style="italic"))
    return Group(*parts)


def render_text(df: pl.DataFrame, run: dict[str, Any]) -> str:
    """The terminal report as plain text (for ``--format table -o FILE``)."""
    buf = io.StringIO()
    Console(file=buf, width=160, color_system=None).print(render(df, run, max_rows=len(df)))
    return buf.getvalue()
