"""``logaudit config show``: the effective settings of every command and where each came from."""

from __future__ import annotations

import json
import os
from datetime import datetime
from enum import Enum
from typing import Any

import typer

from logaudit.cli.console import fail
from logaudit.cli.options import CONFIG_OPTION
from logaudit.config import find_config
from logaudit.errors import ConfigError
from logaudit.settings import COMMANDS, Option, Origin, build

config_app = typer.Typer(help="Show the effective settings (config file, environment, "
                              "defaults).", no_args_is_help=True)


def toml_value(value: Any) -> str:
    """``value`` written as TOML."""
    if isinstance(value, Enum):
        value = value.value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    return json.dumps(str(value), ensure_ascii=False)


def _shown(o: Option, value: Any) -> Any:
    if o.secret and value:  # storage options may hold credentials: keys only
        return tuple(str(v).partition("=")[0] + "=***" for v in value)
    return value


def render(command: str | None, config: str | None) -> str:
    """The effective settings as TOML, each line commented with its source."""
    cfg = find_config(config)
    out = [f"# config file: {cfg.path} ({cfg.found_by})" if cfg
           else "# config file: none (no --config, $LOGAUDIT_CONFIG, ./logaudit.toml or "
                "[tool.logaudit] in ./pyproject.toml)"]
    for name, cls in COMMANDS.items():
        if command and name != command:
            continue
        s = build(cls, config=cfg.table(name) if cfg else None,
                  base=cfg.base if cfg else None, env=os.environ)
        out += ["", f"[{name}]"]
        rows: list[tuple[str, Origin]] = []
        for o, value, origin in s.items():
            if value is None:
                rows.append((f"# {o.name} = (unset)", origin))
            else:
                rows.append((f"{o.name} = {toml_value(_shown(o, value))}", origin))
        width = max(len(r) for r, _ in rows)
        out += [f"{r.ljust(width)}  # {origin}" for r, origin in rows]
    if cfg and cfg.allow and command in (None, "scan"):
        out += ["", f"# {len(cfg.allow)} [[allow]] entr{'y' if len(cfg.allow) == 1 else 'ies'} "
                    f"in {cfg.path}"]
    return "\n".join(out) + "\n"


@config_app.command("show")
def show(
    command: str | None = typer.Argument(None, help=f"Only this command: {', '.join(COMMANDS)}."),
    config: str | None = CONFIG_OPTION,
) -> None:
    """Print the effective settings of each command, and where each value came from."""
    if command and command not in COMMANDS:
        fail(f"{command}: no such command with settings; expected one of {', '.join(COMMANDS)}")
    try:
        typer.echo(render(command, config), nl=False)
    except ConfigError as e:
        fail(str(e))

