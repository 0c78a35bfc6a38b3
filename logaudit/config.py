"""The config file: ``logaudit.toml``, ``[tool.logaudit]`` in ``pyproject.toml``, or ``--config``.

Per-command tables hold the long option names of that command (``[scan]``, ``[report]``);
``[[allow]]`` entries are allowlist entries (see :mod:`logaudit.allowlist`). Every value keeps
the ``FILE:LINE`` it was written at, so an error reads ``FILE:LINE: key: reason``. Relative
paths in path-valued options are taken from the config file's directory.

Which file: ``--config FILE`` (or ``$LOGAUDIT_CONFIG``), else ``logaudit.toml`` in the working
directory, else ``pyproject.toml`` there if it has a ``[tool.logaudit]`` table, else none.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from logaudit.errors import ConfigError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

CONFIG_NAME = "logaudit.toml"
CONFIG_ENV = "LOGAUDIT_CONFIG"


@dataclass(frozen=True)
class ConfigFile:
    """A loaded config file: per-command tables and allowlist entries, with their lines."""

    path: str
    # command -> option name -> (value, "FILE:LINE")
    tables: Mapping[str, Mapping[str, tuple[Any, str]]] = field(default_factory=dict)
    # raw [[allow]] entries, each with "FILE:LINE" of its header
    allow: tuple[tuple[Mapping[str, Any], str], ...] = ()
    # how it was found: "--config", "$LOGAUDIT_CONFIG", "working directory"
    found_by: str = ""

    def table(self, command: str) -> Mapping[str, tuple[Any, str]]:
        """The options set for ``command`` (empty when the file has no such table)."""
        return self.tables.get(command, {})

    @property
    def base(self) -> Path:
        """The directory relative paths in the file are taken from."""
        return Path(self.path).resolve().parent


def find_config(explicit: str | None = None, cwd: Path | None = None,
                env: Mapping[str, str] | None = None) -> ConfigFile | None:
    """Locate and load the config file (see the module docstring); None when there is none.

    Raises :class:`ConfigError` for a file that is named but missing, unreadable or invalid.
    """
    environ = os.environ if env is None else env
    if explicit:
        return load_config(explicit, found_by="--config")
    if environ.get(CONFIG_ENV):
        return load_config(environ[CONFIG_ENV], found_by="$" + CONFIG_ENV)
    here = cwd or Path.cwd()
    if (here / CONFIG_NAME).is_file():
        return load_config(str(here / CONFIG_NAME), found_by="working directory")
    pyproject = here / "pyproject.toml"
    if pyproject.is_file():
        cfg = load_config(str(pyproject), found_by="working directory", optional=True)
        if cfg is not None:
            return cfg
    return None


def load_config(path: str, found_by: str = "", optional: bool = False) -> ConfigFile | None:
    """Load one config file. A ``pyproject.toml`` holds its settings under ``[tool.logaudit]``
    (with ``optional``, a pyproject without that table gives None)."""
    from logaudit.settings import COMMANDS

    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: config file not found") from None
    except (OSError, UnicodeDecodeError) as e:
        reason = getattr(e, "strerror", None) or "not UTF-8 text"
        raise ConfigError(f"{path}: cannot read the config file ({reason})") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        m = re.search(r"\(at line (\d+), column \d+\)", str(e))
        line = m.group(1) if m else "1"
        msg = re.sub(r"\s*\(at line \d+, column \d+\)", "", str(e).splitlines()[0])
        raise ConfigError(f"{path}:{line}: invalid TOML: {msg}") from None
    except RecursionError:
        raise ConfigError(f"{path}: invalid TOML: nested too deeply") from None
    prefix: tuple[str, ...] = ()
    if Path(path).name == "pyproject.toml":
        tool = data.get("tool", {})
        if not isinstance(tool, dict) or "logaudit" not in tool:
            if optional:
                return None
            raise ConfigError(f"{path}: no [tool.logaudit] table")
        data, prefix = tool["logaudit"], ("tool", "logaudit")
    lines = _Lines(text)

    def where(*keys: str) -> str:
        return f"{path}:{lines.find(prefix + keys)}"

    if not isinstance(data, dict):
        raise ConfigError(f"{where()}: [tool.logaudit] must be a table")
    tables: dict[str, dict[str, tuple[Any, str]]] = {}
    allow: list[tuple[Mapping[str, Any], str]] = []
    for key, value in data.items():
        if key == "allow":
            if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
                raise ConfigError(f"{where(key)}: allow: expected [[allow]] tables")
            allow.extend((v, f"{path}:{lines.find(prefix + (key,), index=i)}")
                         for i, v in enumerate(value))
        elif key in COMMANDS:
            if not isinstance(value, dict):
                raise ConfigError(f"{where(key)}: {key}: expected a table ([{key}])")
            tables[key] = {k: (v, where(key, k)) for k, v in value.items()}
        else:
            known = ", ".join([*COMMANDS, "allow"])
            raise ConfigError(f"{where(key)}: {key}: unknown table; expected one of {known}")
    return ConfigFile(path, tables, tuple(allow), found_by)


_HEADER = re.compile(r"^\s*(\[\[?)\s*([^\]]+?)\s*\]\]?\s*(?:#.*)?$")
_KEY = re.compile(r"^\s*([A-Za-z0-9_.\"' -]+?)\s*=")


def _split_key(text: str) -> tuple[str, ...]:
    return tuple(p.strip().strip("\"'") for p in text.split("."))


class _Lines:
    """Line numbers of tables and keys in TOML text (tomllib does not keep them).

    A plain scan of headers and ``key =`` lines: enough for config files as people write
    them; anything it cannot place falls back to its table's line, then to line 1.
    """

    def __init__(self, text: str) -> None:
        self.keys: dict[tuple[tuple[str, ...], int], int] = {}
        counts: dict[tuple[str, ...], int] = {}
        table: tuple[str, ...] = ()
        index = 0
        for n, line in enumerate(text.splitlines(), start=1):
            m = _HEADER.match(line)
            if m:
                table = _split_key(m.group(2))
                index = 0
                if m.group(1) == "[[":
                    index = counts.get(table, -1) + 1
                    counts[table] = index
                self.keys.setdefault((table, index), n)
                continue
            m = _KEY.match(line)
            if m:
                self.keys.setdefault((table + _split_key(m.group(1)), index), n)

    def find(self, keys: tuple[str, ...], index: int = 0) -> int:
        """The line of ``keys`` (a table path plus key); the nearest known parent's line."""
        for cut in range(len(keys), 0, -1):
            line = self.keys.get((keys[:cut], index))
            if line:
                return line
        return 1


def read_allow(path: str) -> list[tuple[Mapping[str, Any], str]]:
    """The raw top-level ``[[allow]]`` entries of a TOML file (a rule file), with
    ``FILE:LINE``."""
    try:
        text = Path(path).read_text(encoding="utf-8")
        data = tomllib.loads(text)
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError, RecursionError) as e:
        raise ConfigError(f"{path}: cannot read the rule file ({type(e).__name__})") from None
    raw = data.get("allow", [])
    if not isinstance(raw, list) or not all(isinstance(v, dict) for v in raw):
        raise ConfigError(f"{path}:{_Lines(text).find(('allow',))}: allow: expected [[allow]] "
                          "tables")
    lines = _Lines(text)
    return [(v, f"{path}:{lines.find(('allow',), index=i)}") for i, v in enumerate(raw)]
