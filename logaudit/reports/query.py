"""Summaries over findings from many runs: filters, group-bys, diff by fingerprint, trend.

Every function takes and returns lazy frames or small collected results, so a report over
millions of rows runs in bounded memory (Polars' streaming engine does the group-bys).

The *day* of a finding is the UTC date of its log ``timestamp`` where the line had one,
else of its run's start (see :func:`logaudit.reports.frame.event_time_expr`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timezone

import polars as pl

from logaudit.errors import ConfigError
from logaudit.reports.frame import CATEGORY_ORDER, SEVERITY_ORDER, with_event_time

BY_CHOICES = ("category", "rule", "severity", "path", "day", "service")
_BY_COLUMN = {"rule": "rule_id"}


def collect(lf: pl.LazyFrame) -> pl.DataFrame:
    """Collect with the streaming engine (bounded memory for aggregations)."""
    return lf.collect(engine="streaming")


def parse_bound(value: str, end: bool = False) -> datetime:
    """``YYYY-MM-DD`` or an ISO 8601 time as UTC; a bare date as ``--until`` covers that day."""
    try:
        dt = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise ConfigError(f"{value!r}: not a date (YYYY-MM-DD) or ISO 8601 time") from None
    if end and len(value.strip()) == 10:
        dt = dt.replace(hour=23, minute=59, second=59, microsecond=999999)
    return dt.replace(tzinfo=timezone.utc) if dt.tzinfo is None else dt.astimezone(timezone.utc)


def service_expr(pattern: str | None) -> pl.Expr:
    """The service of a finding from its path.

    With ``pattern`` (a regex): its first group, or the whole match, or ``(none)``. Without:
    the directory that holds the file (``nginx`` for ``/var/log/nginx/access.log``); for an
    archive member, the directory of the archive.
    """
    outer = pl.col("path").str.split("!").list.first()
    if pattern:
        try:
            rx = re.compile(pattern)
        except re.error as e:
            raise ConfigError(f"--service-pattern: invalid regex ({e})") from None
        group = 1 if rx.groups else 0
        return pl.col("path").str.extract(pattern, group).fill_null("(none)")
    parent = outer.str.replace(r"[/\\][^/\\]*$", "").str.extract(r"([^/\\]+)$", 1)
    return pl.when(outer.str.contains(r"[/\\]")).then(parent).otherwise(pl.lit(".")).fill_null(
        "/")


@dataclass(frozen=True)
class Filters:
    """Which findings a report covers."""

    since: datetime | None = None
    until: datetime | None = None
    min_severity: str = "info"
    service_pattern: str | None = None


def prepare(lf: pl.LazyFrame, f: Filters,
            run_starts: dict[str, datetime] | None = None) -> pl.LazyFrame:
    """Add ``event_time``, ``day`` and ``service`` columns, then apply the filters."""
    if f.min_severity not in SEVERITY_ORDER:
        raise ConfigError(f"--min-severity: unknown severity {f.min_severity!r}; expected one "
                          "of " + ", ".join(SEVERITY_ORDER))
    out = with_event_time(lf, run_starts).with_columns(
        day=pl.col("event_time").dt.strftime("%Y-%m-%d").fill_null("unknown"),
        service=service_expr(f.service_pattern),
    )
    if f.min_severity != "info":
        out = out.filter(pl.col("severity").is_in(SEVERITY_ORDER[
            SEVERITY_ORDER.index(f.min_severity):]))
    if f.since is not None:
        out = out.filter(pl.col("event_time") >= f.since)
    if f.until is not None:
        out = out.filter(pl.col("event_time") <= f.until)
    return out


def summarize(lf: pl.LazyFrame, by: str, top: int | None = None) -> pl.DataFrame:
    """Findings per value of ``by``: count, runs, first and last day; days in order, else
    largest first. ``lf`` comes from :func:`prepare`."""
    if by not in BY_CHOICES:
        raise ConfigError(f"--by: unknown {by!r}; expected one of {', '.join(BY_CHOICES)}")
    col = _BY_COLUMN.get(by, by)
    agg = lf.group_by(col).agg(
        findings=pl.len(), runs=pl.col("run_id").n_unique(),
        first_day=pl.col("day").min(), last_day=pl.col("day").max())
    if by == "day":
        agg = agg.sort(col)
    else:
        agg = agg.sort(["findings", col], descending=[True, False])
    if top:
        agg = agg.tail(top) if by == "day" else agg.head(top)
    return collect(agg.rename({col: by}) if col != by else agg)


def trend(lf: pl.LazyFrame) -> pl.DataFrame:
    """Findings per day per category (one column per category), with total and run count."""
    per = collect(lf.group_by("day", "category").len())
    runs = collect(lf.group_by("day").agg(runs=pl.col("run_id").n_unique()))
    cats = [c for c in CATEGORY_ORDER if c in set(per["category"].to_list())]
    cats += sorted(set(per["category"].to_list()) - set(cats))
    if per.is_empty():
        return pl.DataFrame(schema={"day": pl.String, "total": pl.UInt32, "runs": pl.UInt32})
    wide = per.pivot(on="category", index="day", values="len").fill_null(0)
    wide = wide.select("day", *[pl.col(c).cast(pl.UInt32) for c in cats])
    wide = wide.with_columns(total=pl.sum_horizontal(cats).cast(pl.UInt32))
    return wide.join(runs, on="day", how="left").with_columns(
        pl.col("runs").cast(pl.UInt32)).sort("day")


@dataclass
class Diff:
    """Findings of NEW against OLD, by fingerprint."""

    per_rule: pl.DataFrame  # rule_id, new, fixed, still
    new_findings: pl.LazyFrame  # rows of NEW whose fingerprint OLD does not have

    @property
    def totals(self) -> dict[str, int]:
        """Overall new, fixed and still-present fingerprints."""
        return {k: int(self.per_rule[k].sum()) for k in ("new", "fixed", "still")}


def diff(old: pl.LazyFrame, new: pl.LazyFrame) -> Diff:
    """New, fixed and still-present findings by fingerprint (not by line), per rule."""
    a = old.select("fingerprint", "rule_id").unique()
    b = new.select("fingerprint", "rule_id").unique()
    old_set = a.with_columns(in_old=pl.lit(True))
    new_set = b.with_columns(in_new=pl.lit(True))
    both = old_set.join(new_set, on=["fingerprint", "rule_id"], how="full", coalesce=True)
    status = both.with_columns(
        pl.col("in_old").fill_null(False), pl.col("in_new").fill_null(False)
    ).group_by("rule_id").agg(
        new=(~pl.col("in_old") & pl.col("in_new")).sum().cast(pl.UInt32),
        fixed=(pl.col("in_old") & ~pl.col("in_new")).sum().cast(pl.UInt32),
        still=(pl.col("in_old") & pl.col("in_new")).sum().cast(pl.UInt32),
    ).sort(["new", "fixed", "rule_id"], descending=[True, True, False])
    new_rows = new.join(a.select("fingerprint"), on="fingerprint", how="anti")
    return Diff(collect(status), new_rows)


# ---------------------------------------------------------------- summaries as data


def _as_date(col: str) -> pl.Expr:
    return pl.col(col).str.to_date("%Y-%m-%d", strict=False)


def summary_table(lf: pl.LazyFrame, by: str, top: int | None = None) -> pl.DataFrame:
    """``--by`` as data: value, findings, share of all, runs, first and last day (dates);
    the findings of every row add up to the selection's (``top`` aside)."""
    df = summarize(lf, by, top)
    total = int(collect(lf.select(pl.len())).item())
    df = df.with_columns(
        pl.col("findings").cast(pl.Int64), pl.col("runs").cast(pl.Int64),
        share=(pl.col("findings") / total if total else pl.lit(0.0)).cast(pl.Float64),
        first_day=_as_date("first_day"), last_day=_as_date("last_day"))
    if by == "day":
        df = df.with_columns(_as_date("day"))
    return df.select(by, "findings", "share", "runs", "first_day", "last_day")


def trend_table(lf: pl.LazyFrame) -> pl.DataFrame:
    """``--trend`` as data: a row per day (a date), a count per category, total and runs."""
    df = trend(lf)
    counts = [c for c in df.columns if c != "day"]
    return df.with_columns(_as_date("day"), *[pl.col(c).cast(pl.Int64) for c in counts])


DIFF_STATUS = ("new", "fixed", "still")


def diff_rows(old: pl.LazyFrame, new: pl.LazyFrame, columns: list[str]) -> pl.DataFrame:
    """``--diff`` as data: one row per finding (fingerprint and rule) of either side, with
    ``status`` new (NEW only), fixed (OLD only) or still (both); a fixed finding's row is
    from OLD, the others from NEW. Counts per status equal :func:`diff`'s."""
    key = ["fingerprint", "rule_id"]
    first_old = old.select(columns).unique(subset=key, keep="first", maintain_order=True)
    first_new = new.select(columns).unique(subset=key, keep="first", maintain_order=True)
    old_keys = first_old.select(key).with_columns(_in_old=pl.lit(True))
    now = first_new.join(old_keys, on=key, how="left").with_columns(
        status=pl.when(pl.col("_in_old")).then(pl.lit("still")).otherwise(pl.lit("new"))
    ).drop("_in_old")
    gone = first_old.join(first_new.select(key), on=key, how="anti").with_columns(
        status=pl.lit("fixed"))
    rows = pl.concat([now, gone], how="vertical")
    order = pl.col("status").replace_strict(
        {s: i for i, s in enumerate(DIFF_STATUS)}, return_dtype=pl.UInt8)
    return collect(rows.sort([order, pl.col("rule_id"), pl.col("path"), pl.col("line")])
                   .select("status", *columns))
