"""Baselines: findings a team has accepted, stored by keyed fingerprint only.

A baseline never holds a raw value or a line number: only the fingerprint (HMAC of rule id and
value), the rule, and who accepted it and why. A scan with a baseline reports only findings whose
fingerprint is not in it ("new" is set subtraction), counts what it suppressed, and lists the
baseline entries that no longer occur so the baseline can be pruned.
"""

from __future__ import annotations

import getpass
import json
import time
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from logaudit.errors import ConfigError
from logaudit.findings import Finding
from logaudit.scrub import name_text
from logaudit.state import atomic_write, keyed_hash

BASELINE_VERSION = 1


@dataclass
class BaselineEntry:
    """One accepted finding. ``who``/``why`` are for people to fill in."""

    rule_id: str
    category: str
    severity: str
    first_seen: str
    paths: list[str] = field(default_factory=list)
    who: str = ""
    why: str = ""


@dataclass
class Baseline:
    """A set of accepted fingerprints."""

    entries: dict[str, BaselineEntry] = field(default_factory=dict)
    key_id: str = ""

    def add(self, rows: Iterable[Mapping[str, Any]], who: str = "", why: str = "") -> int:
        """Accept findings (rows with fingerprint, rule_id, category, severity, path);
        returns how many fingerprints were new to the baseline."""
        added = 0
        now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        for f in rows:
            fp = str(f["fingerprint"])
            e = self.entries.get(fp)
            if e is None:
                e = self.entries[fp] = BaselineEntry(
                    str(f["rule_id"]), str(f["category"]), str(f["severity"]), now, [], who, why)
                added += 1
            path = name_text(str(f["path"]))  # an older report may hold a secret in a name
            if path not in e.paths and len(e.paths) < 20:
                e.paths.append(path)
        return added

    def prune(self, seen: set[str]) -> int:
        """Drop entries whose fingerprint is not in ``seen``; returns how many were dropped."""
        stale = [fp for fp in self.entries if fp not in seen]
        for fp in stale:
            del self.entries[fp]
        return len(stale)


def key_id(key: bytes) -> str:
    """A short id of the fingerprint key, so a baseline made with another key is noticed."""
    return keyed_hash(key, b"baseline-key-id")[:16]


def load_baseline(path: str, key: bytes, missing_ok: bool = False) -> Baseline:
    """Read a baseline; refuse one made with a different fingerprint key, or one without the
    key's id (it could not be checked). Every problem is a :class:`ConfigError` (exit 2)."""
    try:
        raw = Path(path).read_bytes()
    except FileNotFoundError:
        if missing_ok:
            return Baseline(key_id=key_id(key))
        raise ConfigError(f"{path}: no such baseline; create it with "
                          "'logaudit baseline create'") from None
    except OSError as e:
        raise ConfigError(f"{path}: cannot read the baseline ({e.strerror})") from None
    try:
        doc = json.loads(raw.decode("utf-8"))
        if not isinstance(doc, dict):
            raise ValueError("not a JSON object")
        if doc.get("version") != BASELINE_VERSION:
            raise ValueError(f"unsupported version {doc.get('version')!r}")
        entries = doc.get("entries")
        if not isinstance(entries, dict):
            raise ValueError("no 'entries' object")
        loaded = {str(fp): _entry(v) for fp, v in entries.items()}
        kid = doc.get("key_id")
    except RecursionError:
        raise ConfigError(f"{path}: the baseline is malformed (nested too deeply)") from None
    except ValueError as e:
        reason = "not UTF-8" if isinstance(e, UnicodeDecodeError) else str(e).splitlines()[0]
        raise ConfigError(f"{path}: the baseline is malformed ({reason[:200]})") from None
    if not isinstance(kid, str) or not kid:
        raise ConfigError(f"{path}: the baseline has no key_id, so its fingerprints cannot be "
                          "checked against the fingerprint key; recreate it with "
                          "'logaudit baseline create --force'")
    if kid != key_id(key):
        raise ConfigError(f"{path}: this baseline was made with another fingerprint key; "
                          "use the same LOGAUDIT_KEY / key file, or create a new baseline")
    return Baseline(loaded, kid)


def _entry(v: object) -> BaselineEntry:
    """One baseline entry, every field checked (raises ValueError)."""
    if not isinstance(v, dict):
        raise ValueError("an entry is not an object")
    names = [f.name for f in fields(BaselineEntry)]
    unknown = sorted(set(v) - set(names))
    if unknown:
        raise ValueError(f"an entry has unknown field {unknown[0][:40]!r}")
    for name in names:
        if name == "paths":
            paths = v.get("paths", [])
            if not isinstance(paths, list) or not all(isinstance(p, str) for p in paths):
                raise ValueError("an entry's paths is not a list of strings")
        elif name in v and not isinstance(v[name], str):
            raise ValueError(f"an entry's {name} is not a string")
    missing = [n for n in ("rule_id", "category", "severity", "first_seen") if n not in v]
    if missing:
        raise ValueError(f"an entry lacks {', '.join(missing)}")
    return BaselineEntry(**v)


def save_baseline(path: str, baseline: Baseline) -> None:
    """Write the baseline atomically (sorted, stable diff in version control)."""
    doc: dict[str, Any] = {
        "version": BASELINE_VERSION,
        "key_id": baseline.key_id,
        "entries": {fp: asdict(e) for fp, e in sorted(baseline.entries.items())},
    }
    atomic_write(path, (json.dumps(doc, indent=2) + "\n").encode())


def default_who() -> str:
    """The user accepting findings, for the ``who`` field."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry in some containers
        return ""


@dataclass
class BaselineOutcome:
    """What applying a baseline did."""

    suppressed: int = 0
    stale: list[str] = field(default_factory=list)


def apply_baseline(findings: list[Finding], baseline: Baseline) -> tuple[list[Finding],
                                                                         BaselineOutcome]:
    """Split findings into new ones and suppressed; list baseline entries not seen."""
    seen = {f.fingerprint for f in findings}
    new = [f for f in findings if f.fingerprint not in baseline.entries]
    stale = sorted(fp for fp in baseline.entries if fp not in seen)
    return new, BaselineOutcome(len(findings) - len(new), stale)
