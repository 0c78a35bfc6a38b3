"""The Rule model: loading, validating and compiling rule packs from ``patterns/`` and user files.

A rule is data (TOML). Loading checks every rule completely — keys, category, severity, regex,
secret group, validators, and that every example matches and no counter-example does — so a bad
rule file is refused before anything is scanned.
"""

from __future__ import annotations

import contextlib
import enum
import hashlib
import pickle
import re
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from logaudit.cache import cache_dir, read_entry, write_entry
from logaudit.errors import RuleError
from logaudit.regex_shape import (
    DEFAULT_UNBOUNDED_REACH,
    MAX_REACH,
    Re2Pattern,
    compile_re2,
    nested_quantifiers,
    reach,
)
from logaudit.validators import VALIDATORS, Validator, shannon_entropy

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


class Category(str, enum.Enum):
    """What kind of leak a rule finds."""

    SECRET = "secret"
    PII = "pii"
    TRACEBACK = "traceback"
    DB_ERROR = "db_error"
    DISCLOSURE = "disclosure"


class Severity(str, enum.Enum):
    """How bad a finding is; ordered from ``info`` (lowest) to ``critical``."""

    INFO = "info"
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        """0 for info up to 4 for critical."""
        return _SEVERITY_ORDER.index(self)


_SEVERITY_ORDER = list(Severity)

_ID_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")

REQUIRED_KEYS = frozenset({"id", "category", "severity", "description", "examples",
                           "counter_examples"})
OPTIONAL_KEYS = frozenset({
    "keywords", "regex", "secret_group", "validators", "min_entropy", "references",
    "remediation", "prefilter", "ignore_case", "generic", "enabled", "detector",
    "packs", "priority", "mask", "max_match",
})

#: How a finding shows its ``secret_group``: ``value`` (a sensitive value, masked like a secret
#: or PII), ``message`` (free text such as a driver's error message: only the secret- or
#: PII-looking parts are masked), ``none`` (evidence that is not sensitive, e.g. a version
#: banner; shown as is, while other values on the line stay masked).
MASK_MODES = ("value", "message", "none")

#: Names of multi-line block detectors a rule may use instead of a regex (see engine.blocks).
BLOCK_DETECTORS: set[str] = {
    "python-traceback", "jvm-stack-trace", "go-panic", "nodejs-stack-trace",
    "ruby-backtrace", "php-stack-trace", "dotnet-stack-trace", "rust-panic", "elixir-stack-trace",
    "dart-stack-trace", "swift-fatal-error",
}


@dataclass(frozen=True)
class RuleMatch:
    """One confirmed match of a rule inside a line (byte offsets within that line)."""

    start: int
    end: int
    secret_start: int
    secret_end: int


@dataclass(frozen=True)
class Rule:
    """A compiled, validated rule."""

    id: str
    category: Category
    severity: Severity
    description: str
    keywords: tuple[str, ...]
    regex: str
    secret_group: int | str
    validators: tuple[str, ...]
    min_entropy: float
    examples: tuple[str, ...]
    counter_examples: tuple[str, ...]
    references: tuple[str, ...] = ()
    remediation: str = ""
    prefilter: str = ""
    ignore_case: bool = False
    generic: bool = False
    enabled: bool = True
    detector: str = ""
    packs: tuple[str, ...] = ()
    priority: int = 10
    mask: str = "value"
    source: str = ""
    #: Declared longest match (bytes), for a regex whose length is unbounded; 0: derived.
    max_match: int = 0
    #: How far from a prefilter hit a match and its lookarounds can reach (bytes): the engine
    #: confirms within this distance of each hit instead of over the whole line.
    reach: int = 0
    #: The regex nests unbounded repeats (``(a+)+``): confirmed with RE2, never with ``re``.
    needs_re2: bool = False

    # The compiled forms are built on first use (a scan compiles only the rules that get a
    # candidate) and are not pickled: a worker compiles its own.
    @cached_property
    def compiled(self) -> re.Pattern[bytes]:
        """The rule's regex compiled by Python's ``re`` (bytes)."""
        return re.compile(self.regex.encode(), re.IGNORECASE if self.ignore_case else 0)

    @cached_property
    def matcher(self) -> re.Pattern[bytes] | Re2Pattern:
        """What confirms a candidate: RE2 (linear time) for a regex that nests repeats, else
        ``re`` within the rule's reach of the hit."""
        if self.needs_re2:
            rx = compile_re2(self.regex, self.ignore_case)
            if rx is None:
                raise RuleError(self.source, self.id, _RE2_MISSING)
            return rx
        return self.compiled

    @cached_property
    def validator_funcs(self) -> tuple[Validator, ...]:
        """The validator functions named by ``validators``."""
        return tuple(VALIDATORS[v] for v in self.validators)

    @cached_property
    def _group(self) -> int:
        g = self.secret_group
        if isinstance(g, str):
            return int(self.matcher.groupindex[g])
        return g

    def __getstate__(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items()
                if k not in ("compiled", "matcher", "validator_funcs", "_group")}

    def find(self, line: bytes, pos: int = 0, endpos: int | None = None,
             last_start: int | None = None) -> Iterator[RuleMatch]:
        """Yield the confirmed matches of this rule in one line (no newline in ``line``).

        With ``pos``/``endpos`` only ``line[pos:endpos]`` is searched (the bytes around it still
        count for lookbehind, ``^`` and ``\\b``); matches starting after ``last_start`` are not
        wanted and end the search.
        """
        group = self._group
        end = len(line) if endpos is None else endpos
        for m in self.matcher.finditer(line, pos, end):
            if last_start is not None and m.start() > last_start:
                return
            s, e = m.span(group)
            if s < 0 or e <= s:
                continue
            value = line[s:e]
            if self.min_entropy and shannon_entropy(value) < self.min_entropy:
                continue
            if all(v(value) for v in self.validator_funcs):
                yield RuleMatch(m.start(), m.end(), s, e)

    def to_dict(self) -> dict[str, Any]:
        """The rule as plain data (for ``rules list --format json`` and ``rules show``)."""
        return {
            "id": self.id, "category": self.category.value, "severity": self.severity.value,
            "description": self.description, "remediation": self.remediation,
            "keywords": list(self.keywords), "regex": self.regex, "prefilter": self.prefilter,
            "secret_group": self.secret_group, "validators": list(self.validators),
            "min_entropy": self.min_entropy, "references": list(self.references),
            "generic": self.generic, "enabled": self.enabled, "detector": self.detector,
            "packs": list(self.packs), "priority": self.priority, "mask": self.mask,
            "examples": list(self.examples), "counter_examples": list(self.counter_examples),
            "source": self.source,
        }


_NESTED_REFUSED = (
    "regex nests unbounded repeats (like '(a+)+') and uses a feature RE2 lacks (lookaround, "
    "back-reference or conditional): a crafted line could make it run for hours. Rewrite it "
    "so repeated parts cannot overlap (e.g. '(?:\\.\\d+)+'), or drop the lookaround so the "
    "linear-time RE2 engine can confirm it")
_RE2_MISSING = (
    "regex nests unbounded repeats and needs the google-re2 package to run safely; "
    "install it (pip install google-re2)")


def _str_list(src: str, rid: str, key: str, value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise RuleError(src, rid, f"'{key}' must be a list of strings")
    return tuple(value)


def _default_packs(category: Category, generic: bool, enabled: bool) -> tuple[str, ...]:
    if category is Category.SECRET:
        return ("strict",) if (generic and not enabled) else ("default", "strict")
    if category is Category.PII:
        return ("pii", "strict") if not enabled else ("default", "pii", "strict")
    return ("default", "errors", "strict") if enabled else ("errors", "strict")


def build_rule(raw: dict[str, Any], src: str) -> Rule:
    """Validate one ``[[rules]]`` table and compile it; raise RuleError naming what is wrong."""
    rid = raw.get("id")
    if not isinstance(rid, str) or not rid:
        raise RuleError(src, "?", "rule without an 'id'")
    if not _ID_RE.match(rid):
        raise RuleError(src, rid, "id must be kebab-case: lowercase letters, digits and '-'")
    unknown = set(raw) - REQUIRED_KEYS - OPTIONAL_KEYS
    if unknown:
        raise RuleError(src, rid, f"unknown key(s): {', '.join(sorted(unknown))}")
    missing = REQUIRED_KEYS - set(raw)
    if missing:
        raise RuleError(src, rid, f"missing key(s): {', '.join(sorted(missing))}")
    try:
        category = Category(raw["category"])
    except ValueError:
        raise RuleError(src, rid, f"bad category {raw['category']!r}; expected one of "
                        + ", ".join(c.value for c in Category)) from None
    try:
        severity = Severity(raw["severity"])
    except ValueError:
        raise RuleError(src, rid, f"bad severity {raw['severity']!r}; expected one of "
                        + ", ".join(s.value for s in Severity)) from None
    description = raw["description"]
    if not isinstance(description, str) or not description.strip():
        raise RuleError(src, rid, "'description' must be a non-empty string")
    keywords = _str_list(src, rid, "keywords", raw.get("keywords", []))
    if any(not k.strip() for k in keywords):
        raise RuleError(src, rid, "empty keyword")
    examples = _str_list(src, rid, "examples", raw["examples"])
    counter = _str_list(src, rid, "counter_examples", raw["counter_examples"])
    if not examples or not counter:
        raise RuleError(src, rid, "needs at least one example and one counter-example")
    validators = _str_list(src, rid, "validators", raw.get("validators", []))
    for v in validators:
        if v not in VALIDATORS:
            raise RuleError(src, rid, f"unknown validator {v!r}; known: "
                            + ", ".join(sorted(VALIDATORS)))
    detector = raw.get("detector", "")
    regex = raw.get("regex", "")
    if not isinstance(regex, str) or not isinstance(detector, str):
        raise RuleError(src, rid, "'regex' and 'detector' must be strings")
    if bool(detector) == bool(regex):
        raise RuleError(src, rid, "needs exactly one of 'regex' or 'detector'")
    if detector and detector not in BLOCK_DETECTORS:
        raise RuleError(src, rid, f"unknown detector {detector!r}; known: "
                        + ", ".join(sorted(BLOCK_DETECTORS)))
    ignore_case = bool(raw.get("ignore_case", False))
    compiled = re.compile(b"")
    rule_reach = 0
    needs_re2 = False
    max_match = raw.get("max_match", 0)
    if not isinstance(max_match, int) or isinstance(max_match, bool) or \
            not 0 <= max_match <= MAX_REACH:
        raise RuleError(src, rid, f"'max_match' must be a whole number of bytes, 1 to {MAX_REACH}")
    secret_group = raw.get("secret_group", 0)
    if not isinstance(secret_group, (int, str)) or isinstance(secret_group, bool):
        raise RuleError(src, rid, "'secret_group' must be a group number or name")
    prefilter = raw.get("prefilter", "")
    if not isinstance(prefilter, str):
        raise RuleError(src, rid, "'prefilter' must be a string")
    if regex:
        if not keywords and not prefilter:
            raise RuleError(src, rid, "needs 'keywords' or a 'prefilter' pattern for the engine")
        try:
            compiled = re.compile(regex.encode(), re.IGNORECASE if ignore_case else 0)
        except (re.error, UnicodeEncodeError) as e:
            raise RuleError(src, rid, f"regex does not compile: {e}") from None
        if isinstance(secret_group, int) and not 0 <= secret_group <= compiled.groups:
            raise RuleError(src, rid, f"secret_group {secret_group} does not exist "
                            f"(the regex has {compiled.groups} group(s))")
        if isinstance(secret_group, str) and secret_group not in compiled.groupindex:
            raise RuleError(src, rid, f"secret_group {secret_group!r} does not exist")
        flags = re.IGNORECASE if ignore_case else 0
        derived = reach(regex, flags)
        rule_reach = min(MAX_REACH, derived if derived is not None else
                         (max_match or DEFAULT_UNBOUNDED_REACH))
        if nested_quantifiers(regex, flags):
            if compile_re2(regex, ignore_case) is None:
                raise RuleError(src, rid, _NESTED_REFUSED)
            needs_re2 = True
        if prefilter:
            try:
                re.compile(prefilter.encode())
            except re.error as e:
                raise RuleError(src, rid, f"prefilter does not compile: {e}") from None
            if "(?=" in prefilter or "(?!" in prefilter or "(?<" in prefilter:
                raise RuleError(src, rid, "prefilter must not use lookaround "
                                "(the hyperscan engine cannot compile it)")
            if "\\s" in prefilter or "(?s" in prefilter:
                raise RuleError(src, rid, "prefilter must not match a newline: use [ \\t] "
                                "instead of \\s (candidates are found line by line)")
    min_entropy = raw.get("min_entropy", 0.0)
    if not isinstance(min_entropy, (int, float)) or isinstance(min_entropy, bool):
        raise RuleError(src, rid, "'min_entropy' must be a number")
    generic = bool(raw.get("generic", False))
    enabled = bool(raw.get("enabled", True))
    packs = _str_list(src, rid, "packs", raw["packs"]) if "packs" in raw else \
        _default_packs(category, generic, enabled)
    priority = raw.get("priority", 30 if generic else 20 if category is Category.PII else 10)
    mask = raw.get("mask", "value")
    if mask not in MASK_MODES:
        raise RuleError(src, rid, f"bad mask {mask!r}; expected one of {', '.join(MASK_MODES)}")
    if mask != "value" and category in (Category.SECRET, Category.PII):
        raise RuleError(src, rid, "secret and PII values are always masked: drop 'mask'")
    if not isinstance(priority, int) or isinstance(priority, bool):
        raise RuleError(src, rid, "'priority' must be an integer")
    rule = Rule(
        id=rid, category=category, severity=severity, description=description.strip(),
        keywords=keywords, regex=regex, secret_group=secret_group, validators=validators,
        min_entropy=float(min_entropy), examples=examples, counter_examples=counter,
        references=_str_list(src, rid, "references", raw.get("references", [])),
        remediation=str(raw.get("remediation", "")).strip(), prefilter=prefilter,
        ignore_case=ignore_case, generic=generic, enabled=enabled, detector=detector,
        packs=packs, priority=priority, mask=mask, source=src,
        max_match=max_match, reach=rule_reach, needs_re2=needs_re2,
    )
    if regex and not needs_re2:
        rule.__dict__["compiled"] = compiled  # already compiled to validate it: keep it
    if regex:
        check_examples(rule)
    return rule


def _prefilter_hits(rule: Rule, text: bytes) -> bool:
    """Would every engine's prefilter consider this text a candidate for ``rule``?

    A rule may carry both ``keywords`` and a ``prefilter``: hyperscan uses the prefilter and the
    portable engine the keywords, so each must find the example on its own.
    """
    low = text.lower()
    kw = any(k.lower().encode() in low for k in rule.keywords)
    pf = bool(rule.prefilter) and re.search(rule.prefilter.encode(), text, re.M) is not None
    if rule.keywords and rule.prefilter:
        return kw and pf
    return kw or pf


def check_examples(rule: Rule) -> None:
    """Every example must be found (prefilter and confirm); no counter-example may be."""
    for ex in rule.examples:
        line = ex.encode()
        if not any(True for _ in rule.find(line)):
            raise RuleError(rule.source, rule.id, f"example does not match: {ex!r}")
        if not _prefilter_hits(rule, line):
            raise RuleError(rule.source, rule.id,
                            f"example matches the regex but holds no keyword/prefilter hit: {ex!r}")
    for ex in rule.counter_examples:
        if any(True for _ in rule.find(ex.encode())):
            raise RuleError(rule.source, rule.id, f"counter-example matches: {ex!r}")


def _code_digest() -> bytes:
    """What a validated rule set depends on besides its files: the code that validates it."""
    from logaudit import __version__

    h = hashlib.sha256(f"{sys.version}\0{__version__}\0".encode())
    here = Path(__file__).resolve().parent
    for name in ("rules.py", "regex_shape.py", "validators.py"):
        with contextlib.suppress(OSError):
            h.update((here / name).read_bytes())
    try:
        from importlib.metadata import version

        h.update(version("google-re2").encode())
    except Exception:  # not installed: part of the key all the same
        h.update(b"no-re2")
    return h.digest()


_CODE_DIGEST: list[bytes] = []
_LOADED: dict[tuple[str, bytes], tuple[Rule, ...]] = {}


def _load_cached(src: str, content: bytes) -> list[Rule]:
    """Rules of one file: from this process's memory, else the on-disk cache (keyed by the file's
    content, its label and the validating code), else parsed and validated afresh."""
    key = (src, hashlib.sha256(content).digest())
    hit = _LOADED.get(key)
    if hit is not None:
        return list(hit)
    if not _CODE_DIGEST:
        _CODE_DIGEST.append(_code_digest())
    root = cache_dir()
    entry = None
    if root is not None:
        digest = hashlib.sha256(_CODE_DIGEST[0] + src.encode() + b"\0" + key[1]).hexdigest()
        entry = root / f"rules-{digest[:32]}.pickle"
        blob = read_entry(entry)
        if blob is not None:
            try:
                rules = pickle.loads(blob)
                if isinstance(rules, list) and all(isinstance(r, Rule) for r in rules):
                    _LOADED[key] = tuple(rules)
                    return list(rules)
            except Exception:  # corrupt or from another version: rebuild it
                pass
    rules = _parse_rule_file(src, content)
    _LOADED[key] = tuple(rules)
    if entry is not None:
        write_entry(entry, pickle.dumps(rules, protocol=pickle.HIGHEST_PROTOCOL))
    return rules


def load_rule_file(path: Path, label: str | None = None) -> list[Rule]:
    """Load and validate every rule of one TOML file (validated once per content: see
    :func:`_load_cached`)."""
    src = label or str(path)
    try:
        content = path.read_bytes()
    except OSError as e:
        raise RuleError(src, "-", f"cannot read rule file: {e.strerror or e}") from None
    return _load_cached(src, content)


def _parse_rule_file(src: str, content: bytes) -> list[Rule]:
    try:
        data = tomllib.loads(content.decode("utf-8"))
    except UnicodeDecodeError:
        raise RuleError(src, "-", "rule file is not UTF-8 text") from None
    except tomllib.TOMLDecodeError as e:
        raise RuleError(src, "-", f"invalid TOML: {e}") from None
    except RecursionError:
        raise RuleError(src, "-", "invalid TOML: nested too deeply") from None
    unknown_top = set(data) - {"rules", "pack", "allow"}  # [[allow]]: logaudit.allowlist
    if unknown_top:
        raise RuleError(src, "-", f"unknown top-level key(s): {', '.join(sorted(unknown_top))}")
    rules = data.get("rules", [])
    if not isinstance(rules, list) or not all(isinstance(r, dict) for r in rules):
        raise RuleError(src, "-", "expected [[rules]] tables")
    if not rules and not data.get("allow"):
        # An empty or misnamed file ([[rule]]) would otherwise add nothing, silently.
        raise RuleError(src, "-", "no [[rules]] tables found (nor [[allow]] entries)")
    return [build_rule(r, src) for r in rules]


def builtin_patterns_dir() -> Path:
    """Where the shipped rule packs are: inside the wheel, or the repo's ``patterns/``."""
    here = Path(__file__).resolve().parent
    for candidate in (here / "patterns", here.parent / "patterns"):
        if candidate.is_dir():
            return candidate
    raise RuleError(str(here / "patterns"), "-",
                    "built-in rule packs not found; reinstall logaudit")


def load_builtin_rules() -> list[Rule]:
    """Every rule shipped in ``patterns/`` (all categories, enabled or not)."""
    base = builtin_patterns_dir()
    rules: list[Rule] = []
    for path in sorted(base.rglob("*.toml")):
        rules.extend(load_rule_file(path, path.relative_to(base).as_posix()))
    return rules


PACKS = ("default", "strict", "pii", "errors", "all")


@dataclass(frozen=True)
class RuleSelection:
    """Which rules a scan uses."""

    rule_files: tuple[Path, ...] = ()
    disable: tuple[str, ...] = ()
    enable: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    min_severity: str = "info"
    pack: str = "default"
    builtin: bool = True


def select_rules(sel: RuleSelection) -> list[Rule]:
    """Load built-in and user rules, check id uniqueness, and apply the selection."""
    rules: list[Rule] = load_builtin_rules() if sel.builtin else []
    user: list[Rule] = []
    for f in sel.rule_files:
        user.extend(load_rule_file(f))
    seen: dict[str, str] = {}
    for r in [*rules, *user]:
        if r.id in seen:
            raise RuleError(r.source, r.id, f"duplicate rule id (also in {seen[r.id]})")
        seen[r.id] = r.source
    for name in (*sel.disable, *sel.enable):
        if name not in seen:
            raise RuleError("--disable/--enable", name, "no rule with this id")
    if sel.pack not in PACKS:
        raise RuleError("--pack", sel.pack, f"unknown pack; expected one of {', '.join(PACKS)}")
    for c in sel.categories:
        try:
            Category(c)
        except ValueError:
            raise RuleError("--category", c, "unknown category; expected one of "
                            + ", ".join(x.value for x in Category)) from None
    try:
        floor = Severity(sel.min_severity).rank
    except ValueError:
        raise RuleError("--min-severity", sel.min_severity, "unknown severity") from None
    chosen: list[Rule] = []
    for r in rules:
        in_pack = sel.pack == "all" or sel.pack in r.packs
        if not ((in_pack and (r.enabled or sel.pack != "default")) or r.id in sel.enable):
            continue
        chosen.append(r)
    chosen.extend(user)  # a user's own rules always run unless disabled
    return [
        r for r in chosen
        if r.id not in sel.disable
        and (not sel.categories or r.category.value in sel.categories)
        and r.severity.rank >= floor
    ]


def claimant_rules(sel: RuleSelection, selected: Sequence[Rule]) -> list[Rule]:
    """Rules that run only to claim values, so that a row filter does not change what a row
    reports.

    ``--category`` and ``--min-severity`` select rows: a value that a full scan attributes to a
    stronger rule (a password inside a URL, a card number inside an API-key field) must not be
    reported by a weaker one because the stronger was filtered out. These are the secret and PII
    rules the scan's pack (and ``--enable``) would run, minus ``--disable`` (a disabled rule does
    not exist) and minus those already selected; a rule that ranks after every selected value
    rule (a higher ``priority`` number) can never claim one of their values and is left out.
    The engine runs them for overlap resolution and drops their own hits.
    """
    if not sel.categories and sel.min_severity == Severity.INFO.value:
        return []
    value_cats = (Category.SECRET, Category.PII)
    ranks = [r.priority for r in selected if r.category in value_cats and not r.detector]
    if not ranks:
        return []
    weakest = max(ranks)
    chosen = {r.id for r in selected}
    out: list[Rule] = []
    for r in load_builtin_rules() if sel.builtin else []:
        in_pack = sel.pack == "all" or sel.pack in r.packs
        runs = (in_pack and (r.enabled or sel.pack != "default")) or r.id in sel.enable
        if (runs and r.id not in chosen and r.id not in sel.disable and not r.detector
                and r.category in value_cats and r.priority <= weakest):
            out.append(r)
    for f in sel.rule_files:
        out.extend(r for r in load_rule_file(f)
                   if r.id not in chosen and r.id not in sel.disable and not r.detector
                   and r.category in value_cats and r.priority <= weakest)
    return out


def rule_risk(rule: Rule) -> str:
    """What the scan does to keep this rule's cost bounded (``rules test`` shows it); "ok" when
    there is nothing to say."""
    if not rule.regex:
        return "ok"
    notes: list[str] = []
    if rule.needs_re2:
        notes.append("regex nests unbounded repeats (catastrophic backtracking in Python's re): "
                     "confirmed with RE2 in linear time")
    flags = re.IGNORECASE if rule.ignore_case else 0
    if reach(rule.regex, flags) is None:
        notes.append(f"match length is unbounded: confirmed within {rule.reach} bytes of each "
                     "keyword hit (declare 'max_match' to change)")
    elif rule.reach >= MAX_REACH:
        notes.append(f"matches may be longer than {MAX_REACH} bytes: confirmed within "
                     f"{MAX_REACH} bytes of each keyword hit")
    return "; ".join(notes) or "ok"


def check_rule_file(path: Path) -> tuple[list[tuple[str, bool, str]], RuleError | None]:
    """Check a user's rule file rule by rule for ``rules test``: (id, ok, reason) per rule."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as e:
        return [], RuleError(str(path), "-", f"cannot load: {e}")
    except RecursionError:
        return [], RuleError(str(path), "-", "cannot load: invalid TOML: nested too deeply")
    results: list[tuple[str, bool, str]] = []
    seen: set[str] = set()
    for raw in data.get("rules", []) if isinstance(data.get("rules"), list) else []:
        rid = str(raw.get("id", "?")) if isinstance(raw, dict) else "?"
        try:
            if not isinstance(raw, dict):
                raise RuleError(str(path), rid, "not a table")
            rule = build_rule(raw, str(path))
            if rid in seen:
                raise RuleError(str(path), rid, "duplicate rule id")
            seen.add(rid)
            results.append((rid, True, rule_risk(rule)))
        except RuleError as e:
            results.append((rid, False, e.reason))
    return results, None
