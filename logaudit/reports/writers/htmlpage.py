"""HTML: one self-contained page (inline CSS, SVG charts and a little JS; no network)."""

from __future__ import annotations

from datetime import datetime
from html import escape
from pathlib import Path
from typing import Any

import polars as pl

from logaudit.escaping import escape_any
from logaudit.reports.charts import CATEGORY_COLOURS, SEVERITY_COLOURS, hbars, stacked_days
from logaudit.reports.frame import CATEGORY_ORDER, SEVERITY_ORDER, day_expr
from logaudit.reports.run import parse_time
from logaudit.reports.summary import counts
from logaudit.reports.writers.interface import Writer, escaped_frame, location

#: Rows in the findings table; the charts always count every finding.
MAX_ROWS = 5000

CSS = """
body{font:14px/1.4 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;color:#1d2330;
background:#f4f6f9}
header{background:#1d2330;color:#fff;padding:16px 24px}header h1{margin:0 0 4px;font-size:20px}
header .meta{color:#c4cad6;font-size:13px}main{padding:16px 24px}
.cards{display:flex;gap:12px;flex-wrap:wrap;margin-bottom:16px}
.card{background:#fff;border-radius:6px;padding:10px 16px;box-shadow:0 1px 2px #0002}
.card b{display:block;font-size:22px}
.panel{background:#fff;border-radius:6px;padding:12px 16px;margin-bottom:16px;
box-shadow:0 1px 2px #0002}.panel h2{font-size:15px;margin:0 0 8px}
.grid2{display:grid;grid-template-columns:1fr 1fr;gap:16px}
svg.chart{width:100%;height:auto}svg .axis{font-size:11px;fill:#555}svg .label{font-size:12px;
fill:#222}svg .grid{stroke:#e3e6ea}
#controls{display:flex;gap:8px;margin-bottom:8px}#controls input{flex:1;padding:4px 8px}
table{border-collapse:collapse;width:100%;font-size:12px}th{cursor:pointer;text-align:left;
background:#eef1f5;position:sticky;top:0}th,td{padding:4px 6px;border-bottom:1px solid #e3e6ea;
vertical-align:top}td.ctx,td.match{font-family:ui-monospace,Menlo,monospace;word-break:break-all}
th.asc::after{content:" \\25B2"}th.desc::after{content:" \\25BC"}
.sev{font-weight:600;padding:1px 6px;border-radius:3px;color:#fff}
"""

JS = """
(function(){
var t=document.getElementById('findings');if(!t)return;var tb=t.tBodies[0];
var rows=Array.prototype.slice.call(tb.rows);
var q=document.getElementById('q'),fc=document.getElementById('fcat'),
fs=document.getElementById('fsev'),shown=document.getElementById('shown');
function apply(){var s=q.value.toLowerCase(),c=fc.value,v=fs.value,n=0;
rows.forEach(function(r){var ok=(!s||r.textContent.toLowerCase().indexOf(s)>=0)&&
(!c||r.dataset.category===c)&&(!v||r.dataset.severity===v);r.style.display=ok?'':'none';
if(ok)n++;});shown.textContent=n;}
[q,fc,fs].forEach(function(e){e.addEventListener('input',apply);});
Array.prototype.forEach.call(t.tHead.rows[0].cells,function(th,i){
th.addEventListener('click',function(){var asc=!th.classList.contains('asc');
Array.prototype.forEach.call(t.tHead.rows[0].cells,function(h){h.className='';});
th.className=asc?'asc':'desc';rows.sort(function(a,b){
var x=a.cells[i].dataset.sort||a.cells[i].textContent,y=b.cells[i].dataset.sort||
b.cells[i].textContent;var nx=parseFloat(x),ny=parseFloat(y);
var r=(!isNaN(nx)&&!isNaN(ny))?nx-ny:x.localeCompare(y);return asc?r:-r;});
rows.forEach(function(r){tb.appendChild(r);});});});
var h=decodeURIComponent(location.hash.slice(1));if(h.indexOf('q=')===0){q.value=h.slice(2);}
apply();t.setAttribute('data-ready','1');
})();
"""


def _run_starts(run: dict[str, Any]) -> dict[str, datetime]:
    out: dict[str, datetime] = {}
    for r in [run, *run.get("runs", [])]:
        t = parse_time(r.get("started"))
        if r.get("run_id") and t is not None:
            out[str(r["run_id"])] = t
    return out


def _day_chart(df: pl.DataFrame, run: dict[str, Any]) -> str:
    per = (df.with_columns(day=day_expr(_run_starts(run))).group_by("day", "category").len()
           .sort("day"))
    days = sorted(set(per["day"].to_list()))
    cats = [c for c in CATEGORY_ORDER if c in set(per["category"].to_list())]
    cats += sorted(set(per["category"].to_list()) - set(cats))
    grid = {(d, c): n for d, c, n in per.iter_rows()}
    return stacked_days(days, {c: [grid.get((d, c), 0) for d in days] for c in cats})


def _options(values: list[str]) -> str:
    return "".join(f'<option value="{escape(v)}">{escape(v)}</option>' for v in values)


def _table(df: pl.DataFrame, run: dict[str, Any]) -> str:
    shown = df.head(MAX_ROWS).with_columns(day=day_expr(_run_starts(run)))
    body = []
    for r in shown.iter_rows(named=True):
        sev = r["severity"]
        rank = SEVERITY_ORDER.index(sev) if sev in SEVERITY_ORDER else -1
        body.append(
            f'<tr data-category="{escape(r["category"])}" data-severity="{escape(sev)}" '
            f'data-fingerprint="{escape(r["fingerprint"])}">'
            f'<td data-sort="{rank}"><span class="sev" style="background:'
            f'{SEVERITY_COLOURS.get(sev, "#777")}">{escape(sev)}</span></td>'
            f'<td>{escape(r["category"])}</td><td>{escape(r["rule_id"])}</td>'
            f'<td data-sort="{escape(r["path"])}:{r["line"]:012d}">{escape(location(r))}</td>'
            f'<td>{escape(r["day"])}</td><td class="match">{escape(r["match"])}</td>'
            f'<td class="ctx">{escape(r["context"])}</td></tr>')
    cats = sorted(set(df["category"].to_list()))
    sevs = [s for s in reversed(SEVERITY_ORDER) if s in set(df["severity"].to_list())]
    more = (f"<p>Showing the first {MAX_ROWS} of {len(df)} findings; the charts count all of "
            "them.</p>" if len(df) > MAX_ROWS else "")
    return (f'<div id="controls"><input id="q" type="search" placeholder="Filter findings…">'
            f'<select id="fcat"><option value="">all categories</option>{_options(cats)}'
            f'</select><select id="fsev"><option value="">all severities</option>'
            f'{_options(sevs)}</select><span><span id="shown">{len(shown)}</span> shown</span>'
            f'</div>{more}<table id="findings"><thead><tr><th>severity</th><th>category</th>'
            f'<th>rule</th><th>location</th><th>day</th><th>match</th><th>context</th></tr>'
            f'</thead><tbody>{"".join(body)}</tbody></table>')


def render_html(df: pl.DataFrame, run: dict[str, Any]) -> str:
    """The whole page as a string (control characters in every text shown as escapes)."""
    df = escaped_frame(df)
    c = run.get("counters", {})
    cards = [("findings", len(df)), ("inputs scanned", c.get("inputs_scanned", 0)),
             ("skipped", c.get("inputs_skipped", 0)), ("failed", c.get("inputs_failed", 0)),
             ("MB scanned", f"{c.get('bytes_scanned', 0) / 1e6:.1f}")]
    meta = (f"run {escape(escape_any(run.get('run_id', '?')))} · started "
            f"{escape(escape_any(run.get('started', '?')))} · finished "
            f"{escape(escape_any(run.get('finished', '?')))} · logaudit "
            f"{escape(escape_any(run.get('version', '?')))} · rules "
            f"{escape(escape_any(run.get('rule_pack_version', '?')))}")
    parts = [f'<div class="cards">{"".join(f"<div class=card><b>{escape(str(v))}</b>{k}</div>" for k, v in cards)}</div>']  # noqa: E501
    if df.is_empty():
        parts.append('<div class="panel"><h2>No findings</h2></div>')
    else:
        top_rules = list(counts(df, "rule_id").head(10).iter_rows())
        top_files = list(counts(df, "path").head(10).iter_rows())
        sev = dict(counts(df, "severity").iter_rows())
        sev_items = [(s, sev[s]) for s in reversed(SEVERITY_ORDER) if s in sev]
        cat = list(counts(df, "category").iter_rows())
        parts += [
            f'<div class="panel"><h2>Findings per day by category</h2>{_day_chart(df, run)}'
            "</div>",
            '<div class="grid2">'
            f'<div class="panel"><h2>Top rules</h2>'
            f'{hbars(top_rules, "chart-rules", "Top rules")}</div>'
            f'<div class="panel"><h2>Top files</h2>'
            f'{hbars(top_files, "chart-files", "Top files", colour="#457b9d")}</div>'
            f'<div class="panel"><h2>Severity mix</h2>'
            f'{hbars(sev_items, "chart-severity", "Severity mix", SEVERITY_COLOURS)}</div>'
            f'<div class="panel"><h2>Categories</h2>'
            f'{hbars(cat, "chart-categories", "Categories", CATEGORY_COLOURS)}</div></div>',
            f'<div class="panel"><h2>Findings</h2>{_table(df, run)}</div>',
        ]
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">"
            "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
            "style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:\">"
            f"<title>logaudit report</title><style>{CSS}</style></head><body>"
            f"<header><h1>logaudit report</h1><div class=\"meta\">{meta}</div></header>"
            f"<main>{''.join(parts)}</main><script>{JS}</script></body></html>\n")


class HtmlWriter(Writer):
    """A single self-contained HTML page: charts, run record and a filterable table."""

    name = "html"

    def write(self, df: pl.DataFrame, path: Path, run: dict[str, Any]) -> None:
        """Write the page."""
        path.write_text(render_html(df, run), encoding="utf-8")
