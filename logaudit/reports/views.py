"""Terminal views (rich) of ``logaudit report``: summaries, diff, trend with bars."""

from __future__ import annotations

import polars as pl
from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from logaudit.escaping import escape_any
from logaudit.reports.table import SEVERITY_STYLE

CATEGORY_STYLE = {"secret": "red", "pii": "blue", "traceback": "dark_orange",
                  "db_error": "magenta", "disclosure": "green"}
SPARKS = "▁▂▃▄▅▆▇█"
BAR_WIDTH = 40


def summary_view(df: pl.DataFrame, by: str, total: int) -> RenderableType:
    """``--by`` as a table: value, findings, share, runs, first and last day."""
    t = Table(title=f"Findings by {by} ({total} in all)", title_justify="left")
    t.add_column(by, overflow="fold")
    for col in ("findings", "share", "runs"):
        t.add_column(col, justify="right")
    t.add_column("first day")
    t.add_column("last day")
    for row in df.iter_rows(named=True):
        value = escape_any(row[by])
        share = f"{100 * row['findings'] / total:.1f}%" if total else "-"
        t.add_row(Text(value, style=SEVERITY_STYLE.get(value, CATEGORY_STYLE.get(value, ""))),
                  str(row["findings"]), share, str(row["runs"]), row["first_day"] or "",
                  row["last_day"] or "")
    return t


def diff_view(per_rule: pl.DataFrame, totals: dict[str, int]) -> RenderableType:
    """``--diff``: new, fixed, still-present fingerprints per rule, then totals."""
    t = Table(title="Diff by fingerprint (OLD → NEW)", title_justify="left")
    t.add_column("rule")
    t.add_column("new", justify="right", style="red")
    t.add_column("fixed", justify="right", style="green")
    t.add_column("still", justify="right")
    for rule, new, fixed, still in per_rule.iter_rows():
        t.add_row(Text(escape_any(rule)), str(new), str(fixed), str(still))
    t.add_section()
    t.add_row(Text("total", style="bold"), str(totals["new"]), str(totals["fixed"]),
              str(totals["still"]))
    return t


def sparkline(values: list[int]) -> str:
    """One character per value, ``▁`` (zero or least) to ``█`` (most)."""
    top = max(values, default=0)
    if not top:
        return SPARKS[0] * len(values)
    return "".join(SPARKS[min(len(SPARKS) - 1, round(v / top * (len(SPARKS) - 1)))]
                   for v in values)


def _stacked_bar(row: dict[str, int], cats: list[str], scale: float) -> Text:
    bar = Text()
    for c in cats:
        n = round(row[c] * scale)
        if n:
            bar.append("█" * n, style=CATEGORY_STYLE.get(c, "white"))
    return bar


def trend_view(df: pl.DataFrame) -> RenderableType:
    """``--trend``: a day × category table with a stacked bar per day, then sparklines."""
    if df.is_empty():
        return Text("No findings in the selected period.", style="green")
    cats = [c for c in df.columns if c not in ("day", "total", "runs")]
    peak = int(df["total"].max() or 0)  # type: ignore[arg-type]
    scale = BAR_WIDTH / peak if peak else 0.0
    t = Table(title="Findings per day by category", title_justify="left")
    t.add_column("day")
    for c in cats:
        t.add_column(c, justify="right", style=CATEGORY_STYLE.get(c, ""))
    t.add_column("total", justify="right", style="bold")
    t.add_column("runs", justify="right")
    t.add_column("", no_wrap=True)
    for row in df.iter_rows(named=True):
        t.add_row(row["day"], *[str(row[c]) for c in cats], str(row["total"]),
                  str(row["runs"] or 0), _stacked_bar(row, cats, scale))
    sp = Table.grid(padding=(0, 2))
    sp.add_column(justify="right")
    sp.add_column()
    sp.add_column(justify="right")
    for c in [*cats, "total"]:
        values = [int(v) for v in df[c].to_list()]
        sp.add_row(Text(c, style=CATEGORY_STYLE.get(c, "bold")),
                   Text(sparkline(values), style=CATEGORY_STYLE.get(c, "")),
                   f"max {max(values)}")
    return Group(t, Text(f"{df['day'][0]} … {df['day'][-1]}", style="dim"), sp)
