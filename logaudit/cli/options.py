"""From a parsed command line to a command's settings (the one place options are checked)."""

from __future__ import annotations

import os

import typer

from logaudit.settings import S, build


def given(ctx: typer.Context) -> dict[str, object]:
    """The options the user typed (not typer's defaults), by parameter name."""
    # By name: typer vendors its own click, whose ParameterSource is another class.
    return {name: value for name, value in ctx.params.items()
            if getattr(ctx.get_parameter_source(name), "name", "") == "COMMANDLINE"}


def settings_from(ctx: typer.Context, cls: type[S], skip: tuple[str, ...] = ("paths",)) -> S:
    """``cls`` from defaults < environment < the command line (raises ConfigError)."""
    cli = {k: v for k, v in given(ctx).items() if k not in skip}
    return build(cls, env=os.environ, cli=cli)
