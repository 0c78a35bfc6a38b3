"""The run record every report carries (run id, times, versions, counters)."""

from __future__ import annotations

import hashlib
from datetime import datetime, timezone
from functools import lru_cache
from typing import Any

from logaudit import __version__


@lru_cache(maxsize=1)
def rule_pack_version() -> str:
    """A short digest of the built-in rule catalogue: changes whenever any shipped rule does."""
    from logaudit.errors import LogauditError
    from logaudit.rules import load_builtin_rules

    try:
        rules = load_builtin_rules()
    except LogauditError:
        return "unknown"
    h = hashlib.sha256()
    for r in sorted(rules, key=lambda r: r.id):
        h.update("\x00".join((r.id, r.category.value, r.severity.value, r.regex, r.prefilter,
                              ",".join(r.validators), str(r.min_entropy))).encode())
        h.update(b"\x01")
    return f"{__version__}+{h.hexdigest()[:12]}"


def complete_run(run: dict[str, Any]) -> dict[str, Any]:
    """``run`` with the fields every report records filled in where the caller left them out."""
    out = dict(run)
    out.setdefault("tool", "logaudit")
    out.setdefault("version", __version__)
    out.setdefault("rule_pack_version", rule_pack_version())
    out.setdefault("counters", {})
    return out


def parse_time(value: object) -> datetime | None:
    """An ISO 8601 time from a run record, as an aware UTC datetime (None if absent or bad)."""
    if isinstance(value, datetime):
        dt = value
    elif isinstance(value, str) and value:
        try:
            dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
    else:
        return None
    return dt.replace(tzinfo=timezone.utc) if dt.tzinfo is None else dt.astimezone(timezone.utc)


def started_from_run_id(run_id: str) -> datetime | None:
    """The start time encoded in a run id made by ``api.new_run_id`` (``YYYYmmddTHHMMSSZ-…``)."""
    try:
        return datetime.strptime(run_id[:16], "%Y%m%dT%H%M%SZ").replace(tzinfo=timezone.utc)
    except ValueError:
        return None
