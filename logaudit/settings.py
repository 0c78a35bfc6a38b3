"""Settings: one frozen, validated object per command, built before any input is opened.

Each command (``scan``, ``report``) has a settings class whose fields are its options, named
by their long option (``fail-on`` → ``fail_on``). A value comes from, lowest first: the
default, a config file (``logaudit.toml``, ``[tool.logaudit]`` in ``pyproject.toml`` or
``--config FILE``), the environment (``LOGAUDIT_FAIL_ON``), the command line (or a keyword
argument of the library call). Every value is checked by the same parser whatever its source,
and remembers where it came from (``logaudit config show``). A bad value is a
:class:`~logaudit.errors.ConfigError` naming its source (``FILE:LINE: key: reason``,
``LOGAUDIT_X: reason``, ``--x: reason``): exit 2, nothing scanned.

To add an option: add a field made with :func:`option` to the command's class (and the typer
option of the same name to the command). The config schema, the environment variable and
``config show`` follow from the field.
"""

from __future__ import annotations

import dataclasses
import enum
import os
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar, cast

from logaudit.allowlist import AllowList, build_allowlist, entries_in_file
from logaudit.errors import ConfigError, ReportError
from logaudit.reports.writers import ReportFormat, format_for_path
from logaudit.rules import PACKS, RuleSelection, Severity
from logaudit.runner import DEFAULT_MAX_PER_RULE
from logaudit.sources.limits import Limits, parse_size
from logaudit.sources.remote import parse_storage_options

ENV_PREFIX = "LOGAUDIT_"


class Engine(str, enum.Enum):
    """``--engine``: the prefilter backend."""

    AUTO = "auto"
    HYPERSCAN = "hyperscan"
    PYAHOCORASICK = "pyahocorasick"


class Executor(str, enum.Enum):
    """``--executor``: where the tasks run."""

    LOCAL = "local"
    DASK = "dask"


class LogFormat(str, enum.Enum):
    """``--log-format``: logaudit's own log."""

    TEXT = "text"
    JSON = "json"


class Replace(str, enum.Enum):
    """``redact --replace``: what a replaced value is written as."""

    MASK = "mask"
    LABEL = "label"
    PSEUDONYM = "pseudonym"


class By(str, enum.Enum):
    """``report --by``: what the summary counts findings per."""

    CATEGORY = "category"
    RULE = "rule"
    SEVERITY = "severity"
    PATH = "path"
    DAY = "day"
    SERVICE = "service"


class Source(str, enum.Enum):
    """Where a setting's value came from, lowest precedence first."""

    DEFAULT = "default"
    CONFIG = "config"
    ENV = "environment"
    CLI = "command line"
    ARGUMENT = "argument"


@dataclass(frozen=True)
class Origin:
    """A value's source, and where exactly (``logaudit.toml:12``, ``LOGAUDIT_WORKERS``)."""

    source: Source
    where: str = ""

    def __str__(self) -> str:
        return f"{self.source.value} ({self.where})" if self.where else self.source.value


# ---------------------------------------------------------------- value parsers
# Each takes a value as TOML gives it (typed) or as the environment/command line gives it
# (often a string) and returns the typed value, or raises ValueError with the reason.

Parser = Callable[[Any], Any]


def p_str(v: Any) -> str:
    """A string."""
    if not isinstance(v, (str, Path)):
        raise ValueError(f"expected a string, not {_kind(v)}")
    return str(v)


def p_opt_str(v: Any) -> str | None:
    """A string; empty means unset."""
    return p_str(v) or None


def p_bool(v: Any) -> bool:
    """``true``/``false`` (TOML), or 1/0, yes/no, true/false from the environment."""
    if isinstance(v, bool):
        return v
    if isinstance(v, str) and v.strip().lower() in ("1", "true", "yes", "on"):
        return True
    if isinstance(v, str) and v.strip().lower() in ("0", "false", "no", "off", ""):
        return False
    raise ValueError(f"expected true or false, not {_show(v)}")


def p_int(v: Any) -> int:
    """A whole number ≥ 0."""
    if isinstance(v, bool):
        raise ValueError(f"expected a whole number, not {_kind(v)}")
    if isinstance(v, str):
        try:
            v = int(v.strip())
        except ValueError:
            raise ValueError(f"expected a whole number, not {_show(v)}") from None
    if not isinstance(v, int):
        raise ValueError(f"expected a whole number, not {_kind(v)}")
    if v < 0:
        raise ValueError(f"must be 0 or more, not {v}")
    return v


def p_float(v: Any) -> float:
    """A number ≥ 0."""
    if isinstance(v, bool):
        raise ValueError(f"expected a number, not {_kind(v)}")
    if isinstance(v, str):
        try:
            v = float(v.strip())
        except ValueError:
            raise ValueError(f"expected a number, not {_show(v)}") from None
    if not isinstance(v, (int, float)):
        raise ValueError(f"expected a number, not {_kind(v)}")
    if v < 0:
        raise ValueError(f"must be 0 or more, not {v}")
    return float(v)


def p_size(v: Any) -> int:
    """A byte size: a number, or a string such as ``512M`` or ``64G``."""
    if isinstance(v, int) and not isinstance(v, bool):
        return p_int(v)
    if not isinstance(v, str):
        raise ValueError(f"expected a size such as 64G, not {_kind(v)}")
    return parse_size(v)


E = TypeVar("E", bound=enum.Enum)


def p_enum(kind: type[E]) -> Callable[[Any], E]:
    """One of the values of the enum ``kind``."""
    choices = ", ".join(str(m.value) for m in kind)

    def parse(v: Any) -> E:
        if isinstance(v, kind):
            return v
        if isinstance(v, str):
            for m in kind:
                if m.value == v.strip().lower():
                    return m
            raise ValueError(f"expected one of {choices}, not {_show(v)}")
        raise ValueError(f"expected one of {choices}, not {_kind(v)}")

    return parse


def p_choice(choices: Sequence[str]) -> Parser:
    """One of ``choices`` (an open set that grows with the rule packs)."""

    def parse(v: Any) -> str:
        s = p_str(v).strip()
        if s not in choices:
            raise ValueError(f"expected one of {', '.join(choices)}, not {_show(v)}")
        return s

    return parse


def p_list(item: Parser) -> Parser:
    """A list (TOML array, repeated option, or comma-separated in the environment)."""

    def parse(v: Any) -> tuple[Any, ...]:
        if isinstance(v, str):
            v = [s for s in (p.strip() for p in v.split(",")) if s]
        if not isinstance(v, (list, tuple)):
            raise ValueError(f"expected a list, not {_kind(v)}")
        return tuple(item(x) for x in v)

    NOT_TEXT_IN_CONFIG[parse] = "a list"
    return parse


# Parsers that read text from the environment or command line, but whose values a config file
# must write with their TOML type (``workers = 2``, not ``workers = "2"``).
NOT_TEXT_IN_CONFIG: dict[Parser, str] = {
    p_int: "a whole number", p_float: "a number", p_bool: "true or false"}


def p_regex(v: Any) -> str | None:
    """A regular expression (compiled here to check it)."""
    s = p_opt_str(v)
    if s is not None:
        try:
            re.compile(s)
        except re.error as e:
            raise ValueError(f"invalid regex ({e})") from None
    return s


def p_time(end: bool) -> Parser:
    """A date (``2024-03-01``, UTC) or an ISO 8601 time; as an upper bound a date covers
    its whole day."""

    def parse(v: Any) -> datetime | None:
        if isinstance(v, datetime):
            return v
        s = p_opt_str(v.isoformat() if hasattr(v, "isoformat") else v)
        if s is None:
            return None
        from logaudit.reports.query import parse_bound

        try:
            return parse_bound(s, end=end)
        except ConfigError as e:
            raise ValueError(str(e)) from None

    return parse


def _kind(v: Any) -> str:
    return {bool: "true/false", int: "a number", float: "a number", str: "a string",
            list: "a list", tuple: "a list", dict: "a table"}.get(type(v), type(v).__name__)


def _show(v: Any) -> str:
    text = repr(v)
    return text if len(text) <= 60 else text[:57] + "…'"


# ---------------------------------------------------------------- the schema


@dataclass(frozen=True)
class Option:
    """One option of a command: its long name (the config key), parser and environment
    variable."""

    name: str
    attr: str
    parse: Parser
    env: str | None
    secret: bool = False
    path: bool = False

    @property
    def flag(self) -> str:
        """The command-line form, ``--fail-on``."""
        return "--" + self.name


def option(name: str, default: Any, parse: Parser, *, env: bool | str = True,
           secret: bool = False, path: bool = False) -> Any:
    """A settings field that is the option ``--NAME`` (config key ``NAME``). ``secret``: its
    value is never shown; ``path``: a relative path in a config file is taken from the
    file's directory."""
    return field(default=default, metadata={
        "option": (name, parse, env, secret, path)})


def options_of(cls: type) -> tuple[Option, ...]:
    """The options of a settings class, in declaration order."""
    out = []
    for f in dataclasses.fields(cls):
        meta = f.metadata.get("option")
        if meta is None:
            continue
        name, parse, env, secret, path = meta
        env_name = (env if isinstance(env, str)
                    else ENV_PREFIX + name.upper().replace("-", "_") if env else None)
        out.append(Option(name, f.name, parse, env_name, secret, path))
    return tuple(out)


@dataclass(frozen=True)
class Layer:
    """The values one source gives: option name → (value, where). ``where`` of a config
    value is ``FILE:LINE``."""

    source: Source
    values: Mapping[str, tuple[Any, str]]


class Settings:
    """Base of the per-command settings classes (frozen dataclasses)."""

    #: The command these settings belong to (the config table's name).
    command = ""
    origins: tuple[tuple[str, Origin], ...]

    def origin(self, attr: str) -> Origin:
        """Where the value of field ``attr`` came from."""
        return dict(self.origins).get(attr, Origin(Source.DEFAULT))

    def check(self) -> None:
        """Checks across options; raises ConfigError."""

    def items(self) -> list[tuple[Option, Any, Origin]]:
        """Every option with its value and origin, in declaration order."""
        return [(o, getattr(self, o.attr), self.origin(o.attr)) for o in options_of(type(self))]


S = TypeVar("S", bound=Settings)


def build(cls: type[S], *, config: Mapping[str, tuple[Any, str]] | None = None,
          env: Mapping[str, str] | None = None, cli: Mapping[str, Any] | None = None,
          cli_source: Source = Source.CLI, base: Path | None = None) -> S:
    """Settings of ``cls`` from defaults < ``config`` (key → (value, FILE:LINE); relative
    paths from ``base``) < ``env`` (environment variables) < ``cli`` (field name → value).
    Each value is parsed by its option's parser; the first bad one raises
    :class:`ConfigError` naming its source."""
    opts = options_of(cls)
    by_name = {o.name: o for o in opts}
    for key, (_, where) in (config or {}).items():
        if key not in by_name:
            known = ", ".join(sorted(by_name))
            raise ConfigError(f"{where}: {key}: unknown key in [{cls.command}]; expected one "
                              f"of {known}")
    values: dict[str, Any] = {}
    origins: list[tuple[str, Origin]] = []
    environ = os.environ if env is None else env
    for o in opts:
        origin: Origin | None = None
        if config and o.name in config:
            raw, where = config[o.name]
            if isinstance(raw, str) and o.parse in NOT_TEXT_IN_CONFIG:
                raise ConfigError(f"{where}: {o.name}: expected "
                                  f"{NOT_TEXT_IN_CONFIG[o.parse]}, not a string")
            values[o.attr] = _parse(o, raw, f"{where}: {o.name}")
            if o.path and base is not None:
                values[o.attr] = _rebase(values[o.attr], base)
            origin = Origin(Source.CONFIG, where)
        if o.env and environ.get(o.env) is not None:
            values[o.attr] = _parse(o, environ[o.env], o.env)
            origin = Origin(Source.ENV, o.env)
        if cli and o.attr in cli:
            label = o.flag if cli_source is Source.CLI else o.attr
            values[o.attr] = _parse(o, cli[o.attr], label)
            origin = Origin(cli_source, label)
        if origin is not None:
            origins.append((o.attr, origin))
    # Fields that are not options (the allowlist entries) are taken as given.
    plain = ({f.name for f in dataclasses.fields(cast(Any, cls))}
             - {o.attr for o in opts} - {"origins"})
    values.update({k: v for k, v in (cli or {}).items() if k in plain})
    unknown = set(cli or {}) - {o.attr for o in opts} - plain
    if unknown:
        raise ConfigError(f"unknown setting(s) for {cls.command}: {', '.join(sorted(unknown))}")
    made = cls(**values, origins=tuple(origins))  # type: ignore[call-arg]
    made.check()
    return made


def _rebase(value: Any, base: Path) -> Any:
    """A relative path (or each of a tuple of them) taken from ``base``; URLs and ``-`` kept."""
    if isinstance(value, tuple):
        return tuple(_rebase(v, base) for v in value)
    if not isinstance(value, str) or value == "-" or "://" in value or os.path.isabs(value):
        return value
    return str(base / value)


def _parse(o: Option, raw: Any, where: str) -> Any:
    try:
        return o.parse(raw)
    except ValueError as e:
        raise ConfigError(f"{where}: {e}") from None


# ---------------------------------------------------------------- scan


@dataclass(frozen=True)
class ScanSettings(Settings):
    """Every option of ``logaudit scan``, checked."""

    command = "scan"

    output: str | None = option("output", None, p_opt_str, path=True)
    format: ReportFormat | None = option("format", None, p_enum(ReportFormat))
    rules: tuple[str, ...] = option("rules", (), p_list(p_str), path=True)
    disable: tuple[str, ...] = option("disable", (), p_list(p_str))
    enable: tuple[str, ...] = option("enable", (), p_list(p_str))
    pack: str = option("pack", "default", p_choice(PACKS))
    category: tuple[str, ...] = option("category", (), p_list(p_str))
    min_severity: Severity = option("min-severity", Severity.INFO, p_enum(Severity))
    fail_on: Severity = option("fail-on", Severity.LOW, p_enum(Severity))
    include: tuple[str, ...] = option("include", (), p_list(p_str))
    exclude: tuple[str, ...] = option("exclude", (), p_list(p_str))
    workers: int = option("workers", 0, p_int)
    engine: Engine = option("engine", Engine.AUTO, p_enum(Engine))
    scan_binary: bool = option("scan-binary", False, p_bool)
    # An input named on the command line that is not scanned (binary data, a device) is
    # skipped and counted instead of making the scan incomplete (exit 3).
    skip_binary: bool = option("skip-binary", False, p_bool)
    # CSV cells verbatim (no formula guard, raw control characters): for programs.
    csv_raw: bool = option("csv-raw", False, p_bool)
    max_decompressed: int = option("max-decompressed", Limits().max_decompressed, p_size)
    max_ratio: float = option("max-ratio", Limits().max_ratio, p_float)
    max_members: int = option("max-members", Limits().max_members, p_int)
    max_depth: int = option("max-depth", Limits().max_depth, p_int)
    max_rows: int = option("max-rows", 50, p_int)
    max_per_rule: int = option("max-findings-per-rule", DEFAULT_MAX_PER_RULE, p_int)
    quiet: bool = option("quiet", False, p_bool)
    show_secrets: bool = option("show-secrets", False, p_bool)
    debug: bool = option("debug", False, p_bool)
    log_file: str | None = option("log-file", None, p_opt_str, path=True)
    log_format: LogFormat = option("log-format", LogFormat.TEXT, p_enum(LogFormat))
    state: str | None = option("state", None, p_opt_str, path=True)
    wait: float = option("wait", 0.0, p_float)
    baseline: str | None = option("baseline", None, p_opt_str, path=True)
    executor: Executor = option("executor", Executor.LOCAL, p_enum(Executor))
    scheduler: str | None = option("scheduler", None, p_opt_str, env="DASK_SCHEDULER_ADDRESS")
    # KEY=VALUE pairs; values may be credentials: never shown by ``config show``.
    storage_option: tuple[str, ...] = option("storage-option", (), p_list(p_str), env=False,
                                             secret=True)
    show_allowed: bool = option("show-allowed", False, p_bool)
    # [[allow]] entries of the config file (raw table, FILE:LINE) or plain dicts; the rule
    # files' own [[allow]] entries are added by :attr:`allowlist`.
    allow: tuple[Any, ...] = ()
    origins: tuple[tuple[str, Origin], ...] = field(default=(), repr=False, compare=False)

    def check(self) -> None:
        """The format is known and printable where it goes; the engine is available."""
        if self.scan_binary and self.skip_binary:
            raise ConfigError("--scan-binary and --skip-binary: choose one (scan binary data "
                              "as text, or skip it without failing the scan)")
        fmt = _checked_format(self.format, self.output) or ReportFormat.TABLE
        if fmt.binary and not self.output:
            raise ConfigError(f"{fmt.value} is binary: write it to a file with "
                              f"-o FILE.{fmt.value} (nothing was scanned)")
        if self.engine is Engine.HYPERSCAN:
            from logaudit.engine.prefilter import hyperscan_available

            if not hyperscan_available():
                raise ConfigError("--engine hyperscan: the hyperscan module does not import on "
                                  "this machine; use --engine pyahocorasick (or auto)")
        parse_storage_options(self.storage_option)
        self.allowlist  # noqa: B018  (checks every entry and regex)

    @property
    def allowlist(self) -> AllowList:
        """The allowlist: the config file's entries, then each rule file's."""
        raw: list[tuple[Mapping[str, Any], str]] = []
        for i, item in enumerate(self.allow):
            raw.append(item if isinstance(item, tuple) else (item, f"allow[{i}]"))
        for path in self.rules:
            raw.extend(entries_in_file(path))
        return build_allowlist(raw)

    @property
    def out_format(self) -> ReportFormat:
        """``--format``, else the one ``-o``'s extension names, else the terminal table."""
        if self.format is not None:
            return self.format
        return format_for_path(self.output) if self.output else ReportFormat.TABLE

    @property
    def selection(self) -> RuleSelection:
        """Which rules the scan uses."""
        return RuleSelection(
            rule_files=tuple(Path(p) for p in self.rules), disable=self.disable,
            enable=self.enable, categories=self.category, min_severity=self.min_severity.value,
            pack=self.pack)

    @property
    def limits(self) -> Limits:
        """The per-input limits against hostile archives."""
        return Limits(self.max_decompressed, self.max_ratio, self.max_members, self.max_depth)

    @property
    def storage_options(self) -> dict[str, Any]:
        """``--storage-option`` pairs as a (nested) fsspec options dict."""
        return parse_storage_options(self.storage_option)


# ---------------------------------------------------------------- report


@dataclass(frozen=True)
class ReportSettings(Settings):
    """Every option of ``logaudit report``, checked."""

    command = "report"

    by: By = option("by", By.CATEGORY, p_enum(By))
    service_pattern: str | None = option("service-pattern", None, p_regex)
    top: int = option("top", 20, p_int)
    since: datetime | None = option("since", None, p_time(end=False))
    until: datetime | None = option("until", None, p_time(end=True))
    min_severity: Severity = option("min-severity", Severity.INFO, p_enum(Severity))
    trend: bool = option("trend", False, p_bool)
    rows: bool = option("rows", False, p_bool)
    output: str | None = option("output", None, p_opt_str, path=True)
    format: ReportFormat | None = option("format", None, p_enum(ReportFormat))
    # CSV cells verbatim (no formula guard, raw control characters), as ``scan --csv-raw``.
    csv_raw: bool = option("csv-raw", False, p_bool)
    origins: tuple[tuple[str, Origin], ...] = field(default=(), repr=False, compare=False)

    def check(self) -> None:
        """A binary format needs ``-o``; the output's extension names a format; a summary is
        written only in a tabular format (the findings, with ``--rows``, in any)."""
        fmt = _checked_format(self.format, self.output)
        if fmt is not None and fmt.binary and not self.output:
            raise ConfigError(f"{fmt.value} is binary: write it to a file with "
                              f"-o FILE.{fmt.value}")
        if fmt is not None and not self.rows:
            from logaudit.reports.tables import check_tabular

            check_tabular(fmt)

    @property
    def out_format(self) -> ReportFormat | None:
        """``--format``, else the one ``-o``'s extension names; None: the terminal view."""
        if self.format is not None:
            return self.format
        return format_for_path(self.output) if self.output else None


def _checked_format(fmt: ReportFormat | None, output: str | None) -> ReportFormat | None:
    if fmt is not None or not output:
        return fmt
    try:
        return format_for_path(output)
    except ReportError as e:
        raise ConfigError(str(e)) from None


# ---------------------------------------------------------------- redact


@dataclass(frozen=True)
class RedactSettings(Settings):
    """Every option of ``logaudit redact``, checked. The destination (``--out-dir``,
    ``--in-place``) is never read from the environment: rewriting files must be asked for."""

    command = "redact"

    out_dir: str | None = option("out-dir", None, p_opt_str, env=False)
    in_place: bool = option("in-place", False, p_bool, env=False)
    replace: Replace = option("replace", Replace.MASK, p_enum(Replace))
    output: str | None = option("output", None, p_opt_str, env=False)
    format: ReportFormat | None = option("format", None, p_enum(ReportFormat), env=False)
    rules: tuple[str, ...] = option("rules", (), p_list(p_str))
    disable: tuple[str, ...] = option("disable", (), p_list(p_str))
    enable: tuple[str, ...] = option("enable", (), p_list(p_str))
    pack: str = option("pack", "default", p_choice(PACKS))
    category: tuple[str, ...] = option("category", (), p_list(p_str))
    fail_on: Severity = option("fail-on", Severity.LOW, p_enum(Severity))
    include: tuple[str, ...] = option("include", (), p_list(p_str))
    exclude: tuple[str, ...] = option("exclude", (), p_list(p_str))
    workers: int = option("workers", 0, p_int)
    engine: Engine = option("engine", Engine.AUTO, p_enum(Engine))
    scan_binary: bool = option("scan-binary", False, p_bool)
    max_decompressed: int = option("max-decompressed", Limits().max_decompressed, p_size)
    max_ratio: float = option("max-ratio", Limits().max_ratio, p_float)
    max_members: int = option("max-members", Limits().max_members, p_int)
    max_depth: int = option("max-depth", Limits().max_depth, p_int)
    max_per_rule: int = option("max-findings-per-rule", DEFAULT_MAX_PER_RULE, p_int)
    quiet: bool = option("quiet", False, p_bool)
    debug: bool = option("debug", False, p_bool)
    log_file: str | None = option("log-file", None, p_opt_str)
    log_format: LogFormat = option("log-format", LogFormat.TEXT, p_enum(LogFormat))
    origins: tuple[tuple[str, Origin], ...] = field(default=(), repr=False, compare=False)

    def check(self) -> None:
        """One destination at most (``-`` is checked with the paths); -o names a format."""
        if self.out_dir is not None and self.in_place:
            raise ConfigError("--out-dir and --in-place: choose one destination")
        if self.format is not None and not self.output:
            raise ConfigError("--format needs -o FILE: standard output carries the redacted "
                              "data or nothing")
        _checked_format(self.format, self.output)
        if self.engine is Engine.HYPERSCAN:
            from logaudit.engine.prefilter import hyperscan_available

            if not hyperscan_available():
                raise ConfigError("--engine hyperscan: the hyperscan module does not import on "
                                  "this machine; use --engine pyahocorasick (or auto)")

    @property
    def out_format(self) -> ReportFormat | None:
        """``--format``, else the one ``-o``'s extension names; None without ``-o``."""
        if self.format is not None:
            return self.format
        return format_for_path(self.output) if self.output else None

    @property
    def selection(self) -> RuleSelection:
        """Which rules run (and so which values are replaced)."""
        return RuleSelection(
            rule_files=tuple(Path(p) for p in self.rules), disable=self.disable,
            enable=self.enable, categories=self.category, pack=self.pack)

    @property
    def limits(self) -> Limits:
        """The per-input limits against hostile archives."""
        return Limits(self.max_decompressed, self.max_ratio, self.max_members, self.max_depth)


COMMANDS: dict[str, type[Settings]] = {"scan": ScanSettings, "report": ReportSettings,
                                       "redact": RedactSettings}
"""Every command with settings: the config file's tables, ``config show``'s sections."""


def from_arguments(cls: type[S], values: Mapping[str, Any]) -> S:
    """Settings from defaults and keyword arguments (field name → value), with no config file
    and no environment: what a library call gets."""
    return build(cls, env={}, cli=values, cli_source=Source.ARGUMENT)


def names(cls: type[Settings]) -> Sequence[str]:
    """The option names (config keys) of a settings class."""
    return [o.name for o in options_of(cls)]
