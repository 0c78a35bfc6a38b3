"""Allowlists: ``[[allow]]`` entries that accept known-harmless findings without disabling a rule.

An entry names any of ``rules`` (ids or globs), ``paths`` (globs, as ``--exclude`` matches them),
``values`` (regexes searched in the finding's raw value) and ``contexts`` (regexes searched in
the raw line), and must give a ``reason``. A finding is allowed by the first entry all of whose
given fields match it (within a field, any item may). Matching runs in the worker, after
overlap resolution, where the raw value is at hand; the value is never stored. An allowed
finding is counted per entry and, when asked, kept to be listed; an entry that allowed nothing
in a run is *stale*.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from logaudit.errors import ConfigError

FIELDS = ("rules", "paths", "values", "contexts")
KEYS = frozenset({*FIELDS, "reason"})


@dataclass(frozen=True)
class AllowEntry:
    """One ``[[allow]]`` entry, checked and compiled."""

    where: str  # FILE:LINE of its [[allow]] header
    reason: str
    rules: tuple[str, ...] = ()
    paths: tuple[str, ...] = ()
    values: tuple[re.Pattern[str], ...] = ()
    contexts: tuple[re.Pattern[str], ...] = ()

    def matches(self, rule_id: str, path: str, value: str, line: str) -> bool:
        """Whether this entry allows a finding of ``rule_id`` at ``path`` with raw ``value``
        on ``line``."""
        if self.rules and not any(fnmatch.fnmatchcase(rule_id, g) for g in self.rules):
            return False
        if self.paths and not any(_path_match(path, g) for g in self.paths):
            return False
        if self.values and not any(rx.search(value) for rx in self.values):
            return False
        return not self.contexts or any(rx.search(line) for rx in self.contexts)

    def describe(self) -> dict[str, Any]:
        """The entry as recorded in the run record (patterns as text, no values)."""
        return {"where": self.where, "reason": self.reason, "rules": list(self.rules),
                "paths": list(self.paths), "values": [p.pattern for p in self.values],
                "contexts": [p.pattern for p in self.contexts]}


def _path_match(path: str, glob: str) -> bool:
    names = [path, *path.split("!")]
    return any(fnmatch.fnmatchcase(p, glob) or fnmatch.fnmatchcase(p, "*/" + glob)
               or fnmatch.fnmatchcase(p.rsplit("/", 1)[-1], glob) for p in names)


@dataclass(frozen=True)
class AllowList:
    """Every entry of a run, in order (the first that matches allows the finding)."""

    entries: tuple[AllowEntry, ...] = ()

    def match(self, rule_id: str, path: str, value: bytes, line: bytes) -> int | None:
        """The index of the entry that allows this finding, or None."""
        if not self.entries:
            return None
        v = value.decode("utf-8", "replace")
        text = line.decode("utf-8", "replace")
        for i, e in enumerate(self.entries):
            if e.matches(rule_id, path, v, text):
                return i
        return None

    def outcome(self, counts: Mapping[int, int]) -> dict[str, Any]:
        """The run record's ``allowed`` object: how many each entry allowed, which are stale."""
        per = [{**e.describe(), "allowed": int(counts.get(i, 0))}
               for i, e in enumerate(self.entries)]
        return {"allowed": sum(p["allowed"] for p in per), "entries": per,
                "stale": [p["where"] for p in per if not p["allowed"]]}


def _strings(v: Any, where: str, key: str) -> tuple[str, ...]:
    if isinstance(v, str):
        v = [v]
    if not isinstance(v, list) or not v or not all(isinstance(x, str) and x for x in v):
        raise ConfigError(f"{where}: allow: {key}: expected a non-empty list of strings")
    return tuple(v)


def _regexes(v: Any, where: str, key: str) -> tuple[re.Pattern[str], ...]:
    out = []
    for s in _strings(v, where, key):
        try:
            out.append(re.compile(s))
        except re.error as e:
            raise ConfigError(f"{where}: allow: {key}: invalid regex {s!r} ({e})") from None
    return tuple(out)


def parse_entry(raw: Mapping[str, Any], where: str) -> AllowEntry:
    """Check one raw ``[[allow]]`` table (raises ConfigError ``FILE:LINE: allow: reason``)."""
    unknown = set(raw) - KEYS
    if unknown:
        raise ConfigError(f"{where}: allow: unknown key(s) {', '.join(sorted(unknown))}; "
                          f"expected {', '.join(sorted(KEYS))}")
    reason = raw.get("reason")
    if not isinstance(reason, str) or not reason.strip():
        raise ConfigError(f"{where}: allow: reason: required (why these findings are harmless)")
    if not any(k in raw for k in FIELDS):
        raise ConfigError(f"{where}: allow: give at least one of {', '.join(FIELDS)}; an entry "
                          "with none would allow every finding")
    return AllowEntry(
        where=where, reason=reason.strip(),
        rules=_strings(raw["rules"], where, "rules") if "rules" in raw else (),
        paths=_strings(raw["paths"], where, "paths") if "paths" in raw else (),
        values=_regexes(raw["values"], where, "values") if "values" in raw else (),
        contexts=_regexes(raw["contexts"], where, "contexts") if "contexts" in raw else (),
    )


def build_allowlist(raw: Iterable[tuple[Mapping[str, Any], str]]) -> AllowList:
    """An allowlist from raw entries, each with its ``FILE:LINE``."""
    return AllowList(tuple(parse_entry(r, where) for r, where in raw))


def entries_in_file(path: str | Path) -> list[tuple[Mapping[str, Any], str]]:
    """The raw ``[[allow]]`` entries of a rule file (with their lines); [] when it has none."""
    from logaudit.config import read_allow

    return read_allow(str(path))
