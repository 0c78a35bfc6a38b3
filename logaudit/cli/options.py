"""From a parsed command line to a command's settings (the one place options are checked)."""

from __future__ import annotations

import dataclasses
import os
from typing import Any, cast

import typer

from logaudit.config import ConfigFile, find_config
from logaudit.settings import S, build

CONFIG_OPTION = typer.Option(
    None, "--config", metavar="FILE",
    help="Settings file (TOML). Default: $LOGAUDIT_CONFIG, else ./logaudit.toml, else "
         "[tool.logaudit] in ./pyproject.toml.")


def given(ctx: typer.Context) -> dict[str, object]:
    """The options the user typed (not typer's defaults), by parameter name."""
    # By name: typer vendors its own click, whose ParameterSource is another class.
    return {name: value for name, value in ctx.params.items()
            if getattr(ctx.get_parameter_source(name), "name", "") == "COMMANDLINE"}


def settings_from(ctx: typer.Context, cls: type[S],
                  skip: tuple[str, ...] = ("paths",)) -> tuple[S, ConfigFile | None]:
    """``cls`` from defaults < config file < environment < the command line, and the config
    file it read (raises ConfigError)."""
    cfg = find_config(ctx.params.get("config"))
    cli = {k: v for k, v in given(ctx).items() if k not in (*skip, "config")}
    if cfg and cfg.allow and "allow" in {f.name for f in dataclasses.fields(cast(Any, cls))}:
        cli["allow"] = cfg.allow
    settings = build(cls, config=cfg.table(cls.command) if cfg else None,
                     base=cfg.base if cfg else None, env=os.environ, cli=cli)
    return settings, cfg
