"""Inline SVG charts for the HTML report: no script, no network, escaped labels."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape

CATEGORY_COLOURS = {"secret": "#d62728", "pii": "#1f77b4", "traceback": "#ff7f0e",
                    "db_error": "#9467bd", "disclosure": "#2ca02c"}
SEVERITY_COLOURS = {"critical": "#7f0000", "high": "#d62728", "medium": "#ff9f1c",
                    "low": "#2a9d8f", "info": "#8d99ae"}
OTHER_COLOUR = "#7f7f7f"


def _nice_max(n: int) -> int:
    """A round axis maximum at or above ``n``."""
    if n <= 5:
        return max(n, 1)
    step = 10 ** (len(str(n)) - 1)
    for mult in (1, 2, 2.5, 5, 10):
        top = int(mult * step)
        if top >= n:
            return top
    return n


def stacked_days(
    days: Sequence[str], series: Mapping[str, Sequence[int]], chart_id: str = "chart-days",
) -> str:
    """Stacked columns, one per day, one colour per category (``series`` = category → counts)."""
    width, height, left, bottom, top = 960, 300, 48, 40, 12
    totals = [sum(s[i] for s in series.values()) for i in range(len(days))]
    ymax = _nice_max(max(totals, default=0))
    plot_w, plot_h = width - left - 10, height - bottom - top
    n = max(len(days), 1)
    bar_w = plot_w / n
    parts = [f'<svg id="{chart_id}" class="chart" role="img" viewBox="0 0 {width} {height}" '
             f'xmlns="http://www.w3.org/2000/svg"><title>Findings per day by category</title>']
    for k in range(5):  # horizontal grid lines with their values
        v = ymax * k / 4
        y = top + plot_h - plot_h * k / 4
        parts.append(f'<line x1="{left}" x2="{width - 10}" y1="{y:.1f}" y2="{y:.1f}" '
                     f'class="grid"/><text x="{left - 6}" y="{y + 4:.1f}" '
                     f'text-anchor="end" class="axis">{v:g}</text>')
    label_every = max(1, n // 12)
    for i, day in enumerate(days):
        x = left + i * bar_w
        y = top + plot_h
        for cat, values in series.items():
            v = values[i]
            if not v:
                continue
            h = plot_h * v / ymax
            y -= h
            parts.append(f'<rect class="bar" data-category="{escape(cat)}" x="{x + 1:.1f}" '
                         f'y="{y:.1f}" width="{max(bar_w - 2, 1):.1f}" height="{h:.1f}" '
                         f'fill="{CATEGORY_COLOURS.get(cat, OTHER_COLOUR)}"><title>'
                         f'{escape(day)} {escape(cat)}: {v}</title></rect>')
        if i % label_every == 0:
            parts.append(f'<text x="{x + bar_w / 2:.1f}" y="{height - bottom + 16}" '
                         f'text-anchor="middle" class="axis">{escape(day[5:] or day)}</text>')
    lx = left
    for cat in series:  # legend
        parts.append(f'<rect x="{lx}" y="{height - 14}" width="10" height="10" '
                     f'fill="{CATEGORY_COLOURS.get(cat, OTHER_COLOUR)}"/>'
                     f'<text x="{lx + 14}" y="{height - 5}" class="axis">{escape(cat)}</text>')
        lx += 24 + 8 * len(cat)
    parts.append("</svg>")
    return "".join(parts)


def hbars(
    items: Sequence[tuple[str, int]], chart_id: str, title: str,
    colours: Mapping[str, str] | None = None, colour: str = "#1f77b4",
) -> str:
    """Horizontal bars with labels, largest first as given."""
    width, row_h, label_w = 460, 22, 210
    height = max(len(items), 1) * row_h + 8
    vmax = max((n for _, n in items), default=1) or 1
    parts = [f'<svg id="{chart_id}" class="chart" role="img" viewBox="0 0 {width} {height}" '
             f'xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>']
    for i, (label, n) in enumerate(items):
        y = 4 + i * row_h
        short = label if len(label) <= 32 else "…" + label[-31:]
        w = (width - label_w - 50) * n / vmax
        fill = (colours or {}).get(label, colour)
        parts.append(f'<text x="{label_w - 6}" y="{y + 15}" text-anchor="end" class="label">'
                     f'<title>{escape(label)}</title>{escape(short)}</text>'
                     f'<rect class="bar" x="{label_w}" y="{y + 3}" width="{max(w, 1):.1f}" '
                     f'height="{row_h - 6}" fill="{fill}"><title>{escape(label)}: {n}</title>'
                     f'</rect><text x="{label_w + w + 4:.1f}" y="{y + 15}" class="axis">{n}'
                     f'</text>')
    parts.append("</svg>")
    return "".join(parts)
