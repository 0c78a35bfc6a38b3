"""Markdown: a summary and a findings table for a ticket or a pull-request comment."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import polars as pl

from logaudit.escaping import escape_any
from logaudit.reports.summary import counts
from logaudit.reports.writers.interface import Writer, location

#: A comment on GitHub is limited to 65,536 characters: cap the table and say so.
MAX_ROWS = 200


def md_cell(value: object, code: bool = False) -> str:
    """One table cell: control characters escaped (so on one line), pipes and HTML escaped; as
    a code span where asked."""
    text = escape_any(value).replace("|", "\\|")
    if code and "`" not in text:
        return f"`{text}`" if text else ""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace(
        "`", "&#96;").replace("*", "\\*").replace("_", "\\_")


def _inline_counts(df: pl.DataFrame, by: str) -> str:
    return " · ".join(f"{md_cell(v)} **{n}**" for v, n in counts(df, by).iter_rows())


def render_markdown(df: pl.DataFrame, run: dict[str, Any], max_rows: int = MAX_ROWS) -> str:
    """The Markdown report as a string."""
    c = run.get("counters", {})
    lines = [
        "## logaudit report", "",
        f"Run {md_cell(run.get('run_id', '?'), code=True)} · started "
        f"{md_cell(run.get('started', '?'))} · logaudit {md_cell(run.get('version', '?'))} "
        f"(rules {md_cell(run.get('rule_pack_version', '?'))})", "",
        f"{c.get('inputs_scanned', 0)} input(s) scanned, {c.get('inputs_skipped', 0)} skipped, "
        f"{c.get('inputs_failed', 0)} failed · {c.get('bytes_scanned', 0) / 1e6:.1f} MB · "
        f"**{len(df)} finding(s)**", "",
    ]
    if df.is_empty():
        lines.append("No findings.")
        return "\n".join(lines) + "\n"
    lines += [f"**By category:** {_inline_counts(df, 'category')}", "",
              f"**By severity:** {_inline_counts(df, 'severity')}", "",
              "### Top rules", "", "| rule | findings |", "| --- | ---: |"]
    lines += [f"| {md_cell(r, code=True)} | {n} |"
              for r, n in counts(df, "rule_id").head(10).iter_rows()]
    lines += ["", "### Findings", "",
              "| severity | rule | location | match | fingerprint |",
              "| --- | --- | --- | --- | --- |"]
    for row in df.head(max_rows).iter_rows(named=True):
        lines.append(f"| {md_cell(row['severity'])} | {md_cell(row['rule_id'], code=True)} | "
                     f"{md_cell(location(row), code=True)} | {md_cell(row['match'], code=True)}"
                     f" | {md_cell(row['fingerprint'][:16], code=True)} |")
    if len(df) > max_rows:
        lines += ["", f"_… and {len(df) - max_rows} more finding(s); see the full report "
                      "(JSONL, CSV or Parquet)._"]
    return "\n".join(lines) + "\n"


class MarkdownWriter(Writer):
    """Summary, top rules and a capped findings table in GitHub-flavoured Markdown."""

    name = "markdown"

    def write(self, df: pl.DataFrame, path: Path, run: dict[str, Any]) -> None:
        """Write the Markdown report."""
        path.write_text(render_markdown(df, run), encoding="utf-8")
