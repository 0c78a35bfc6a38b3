"""Recall on our own corpus of leaks (real formats, fake values): how many of the planted items the
default pack finds, per category and per class, and how many counter-cases it flags.

Cases live in ``bench/recall/cases/*.jsonl``, one JSON object per line::

    {"text": "...", "category": "secret|pii|traceback|database|disclosure",
     "class": "<short class>", "expect": true|false}

``text`` may span lines. Each case is written to a file of its own, all files are scanned in one
run through the library API (:func:`logaudit.api.scan`), and a case counts as *found* when a
finding of its category lies on one of its lines (every finding of the file does: the file is
the case). ``expect: true`` cases give recall; ``expect: false`` cases (prose, placeholders,
near misses) give precision: a finding of the case's category there is a false positive.

Run: ``.venv/bin/python bench/recall.py`` (or ``make recall``); ``--pack``, ``--cases`` and
``--show-misses`` change what is scanned and printed.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

CASES = HERE / "recall" / "cases"
#: case category → the finding category that satisfies it
CATEGORIES = {"secret": "secret", "pii": "pii", "traceback": "traceback",
              "database": "db_error", "disclosure": "disclosure"}


@dataclass(frozen=True)
class Case:
    """One planted item (``expect``) or counter-case (not ``expect``)."""

    source: str  # file:line of the case
    text: str
    category: str
    klass: str
    expect: bool


@dataclass
class Tally:
    """Counts for one category or class."""

    cases: int = 0
    found: int = 0
    counter: int = 0
    flagged: int = 0  # counter-cases with a finding of the category (false positives)

    def recall(self) -> float | None:
        """Found / cases, None without cases."""
        return self.found / self.cases if self.cases else None

    def precision(self) -> float | None:
        """Found / (found + flagged counter-cases), None when nothing was reported."""
        reported = self.found + self.flagged
        return self.found / reported if reported else None


def load_cases(paths: Iterable[Path]) -> list[Case]:
    """Read every case; a malformed line raises ``ValueError`` naming file and line."""
    out: list[Case] = []
    for path in sorted(paths):
        for no, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if not raw.strip():
                continue
            where = f"{path.name}:{no}"
            try:
                obj = json.loads(raw)
            except ValueError as e:
                raise ValueError(f"{where}: not JSON ({e})") from None
            if not isinstance(obj, dict):
                raise ValueError(f"{where}: not an object")
            text, cat, klass, expect = (obj.get("text"), obj.get("category"), obj.get("class"),
                                        obj.get("expect"))
            if not isinstance(text, str) or not text.strip():
                raise ValueError(f"{where}: 'text' must be a non-empty string")
            if cat not in CATEGORIES:
                raise ValueError(f"{where}: 'category' must be one of {', '.join(CATEGORIES)}")
            if not isinstance(klass, str) or not klass:
                raise ValueError(f"{where}: 'class' must be a non-empty string")
            if not isinstance(expect, bool):
                raise ValueError(f"{where}: 'expect' must be true or false")
            out.append(Case(where, text, cat, klass, expect))
    return out


def score(cases: Sequence[Case], pack: str = "default") -> list[tuple[Case, list[str]]]:
    """Scan every case (one file each, one run) and return each case with the rule ids of the
    findings of its category."""
    from logaudit.api import scan

    with tempfile.TemporaryDirectory(prefix="logaudit-recall-") as tmp:
        files: list[Path] = []
        for i, c in enumerate(cases):
            p = Path(tmp) / f"case{i:05d}.log"
            p.write_text(c.text if c.text.endswith("\n") else c.text + "\n", encoding="utf-8")
            files.append(p)
        res = scan([tmp], pack=pack, key=b"recall", workers=1)
        if res.errors:
            raise RuntimeError(f"scan errors: {res.errors}")
        rules_by_file: dict[str, list[tuple[str, str]]] = defaultdict(list)
        for path, cat, rule in zip(res.findings["path"].to_list(),
                                   res.findings["category"].to_list(),
                                   res.findings["rule_id"].to_list(), strict=True):
            rules_by_file[Path(path).name].append((cat, rule))
    return [(c, [r for cat, r in rules_by_file.get(p.name, []) if cat == CATEGORIES[c.category]])
            for c, p in zip(cases, files, strict=True)]


def tally(scored: Sequence[tuple[Case, list[str]]]) -> tuple[dict[str, Tally],
                                                             dict[tuple[str, str], Tally]]:
    """Per category and per (category, class)."""
    by_cat: dict[str, Tally] = defaultdict(Tally)
    by_class: dict[tuple[str, str], Tally] = defaultdict(Tally)
    for c, rules in scored:
        for t in (by_cat[c.category], by_class[(c.category, c.klass)]):
            if c.expect:
                t.cases += 1
                t.found += bool(rules)
            else:
                t.counter += 1
                t.flagged += bool(rules)
    return dict(by_cat), dict(by_class)


def _pct(x: float | None) -> str:
    return "    -" if x is None else f"{100 * x:5.1f}"


def report(scored: Sequence[tuple[Case, list[str]]], show_misses: bool = False) -> str:
    """The printed table: per category, then per class; misses and false positives if asked."""
    by_cat, by_class = tally(scored)
    lines = [f"{'category':12} {'class':22} {'found':>11} {'recall%':>7} "
             f"{'counter':>7} {'flagged':>7} {'prec%':>6}"]
    for cat in CATEGORIES:
        t = by_cat.get(cat)
        if t is None:
            continue
        lines.append(f"{cat:12} {'(all)':22} {t.found:5d}/{t.cases:<5d} {_pct(t.recall()):>7} "
                     f"{t.counter:7d} {t.flagged:7d} {_pct(t.precision()):>6}")
        for (c2, klass), u in sorted(by_class.items()):
            if c2 == cat:
                lines.append(f"{'':12} {klass:22} {u.found:5d}/{u.cases:<5d} "
                             f"{_pct(u.recall()):>7} {u.counter:7d} {u.flagged:7d} "
                             f"{_pct(u.precision()):>6}")
    if show_misses:
        for c, rules in scored:
            if c.expect and not rules:
                lines.append(f"MISS {c.source} [{c.category}/{c.klass}] {c.text[:100]!r}")
            elif not c.expect and rules:
                lines.append(f"FP   {c.source} [{c.category}/{c.klass}] {rules} "
                             f"{c.text[:100]!r}")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Load the cases, scan, print the table."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cases", type=Path, nargs="*", default=None,
                    help="case files (default: bench/recall/cases/*.jsonl)")
    ap.add_argument("--pack", default="default")
    ap.add_argument("--show-misses", action="store_true")
    a = ap.parse_args(argv)
    cases = load_cases(a.cases if a.cases else CASES.glob("*.jsonl"))
    if not cases:
        print("no cases found", file=sys.stderr)
        return 2
    scored = score(cases, a.pack)
    print(f"{len(cases)} cases, pack {a.pack!r}")
    print(report(scored, a.show_misses))
    return 0


if __name__ == "__main__":
    sys.exit(main())
