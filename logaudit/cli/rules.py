"""``logaudit rules list | show ID | test FILE``."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.table import Table
from rich.text import Text

from logaudit.cli.console import EXIT_USAGE, fail, out_console
from logaudit.escaping import escape_control
from logaudit.rules import Category, check_rule_file, load_builtin_rules, load_rule_file

rules_app = typer.Typer(help="List, show and test detection rules.", no_args_is_help=True)


@rules_app.command("list")
def list_rules(
    category: str | None = typer.Option(None, "--category", help="Only this category."),
    fmt: str = typer.Option("table", "--format", help="table or json."),
    rules: list[Path] = typer.Option([], "--rules", help="Also list rules from FILE."),
) -> None:
    """List the built-in rules (and a user's rule files)."""
    if category is not None and category not in {c.value for c in Category}:
        fail(f"--category: unknown category {category!r}; expected one of "
             + ", ".join(c.value for c in Category))
    all_rules = load_builtin_rules()
    for f in rules:
        all_rules.extend(load_rule_file(f))
    chosen = [r for r in all_rules if category is None or r.category.value == category]
    if fmt == "json":
        typer.echo(json.dumps([r.to_dict() for r in chosen], indent=2))
        return
    if fmt != "table":
        fail(f"--format: expected table or json, not {fmt!r}")
    # One line per rule, aligned by hand: a rich Table measuring and folding ~430 rows took
    # longer than the rest of the command (start-up target 0.35 s). `rules show ID` and
    # `--format json` give every field.
    rows = [(r.id, r.category.value, r.severity.value, "on" if r.enabled else "off",
             escape_control(r.description.splitlines()[0] if r.description else ""))
            for r in chosen]
    head = ("id", "category", "severity", "default", "description")
    widths = [max(len(h), *(len(row[i]) for row in rows)) if rows else len(h)
              for i, h in enumerate(head[:4])]
    # On a terminal the description is cut to its width; piped, it is whole (for grep).
    room = (max(20, out_console.width - sum(widths) - 2 * len(widths))
            if out_console.is_terminal else 1 << 30)

    def line(row: tuple[str, ...]) -> str:
        desc = row[4] if len(row[4]) <= room else row[4][:room - 1] + "…"
        return "  ".join(v.ljust(w) for v, w in zip(row[:4], widths, strict=True)) + "  " + desc

    out = [f"{len(chosen)} rule(s)", line(head), *(line(tuple(map(escape_control, row[:4]))
                                                       + row[4:]) for row in rows)]
    typer.echo("\n".join(out))


@rules_app.command("show")
def show_rule(rule_id: str = typer.Argument(..., help="The rule id.")) -> None:
    """Show a rule: what it finds, why it matters, how it matches, examples."""
    found = {r.id: r for r in load_builtin_rules()}.get(rule_id)
    if found is None:
        fail(f"no rule with id {rule_id!r}; see 'logaudit rules list'")
    r = found
    out_console.print(Text(f"{r.id}", style="bold"))
    rows = [
        ("category", r.category.value), ("severity", r.severity.value),
        ("enabled by default", "yes" if r.enabled else "no"),
        ("packs", ", ".join(r.packs)),
        ("description", r.description),
        ("why it matters / fix", r.remediation or "-"),
        ("keywords", ", ".join(r.keywords) or "-"),
        ("prefilter", r.prefilter or "-"),
        ("regex", r.regex or f"(multi-line detector: {r.detector})"),
        ("secret group", str(r.secret_group)),
        ("validators", ", ".join(r.validators) or "-"),
        ("min entropy", str(r.min_entropy) if r.min_entropy else "-"),
        ("references", "\n".join(r.references) or "-"),
        ("examples", "\n".join(r.examples)),
        ("counter-examples", "\n".join(r.counter_examples)),
        ("defined in", r.source),
    ]
    t = Table(show_header=False, box=None)
    t.add_column(style="bold")
    t.add_column(overflow="fold")
    for k, v in rows:
        t.add_row(k, Text(v))
    out_console.print(t)


@rules_app.command("test")
def test_rules(file: Path = typer.Argument(..., help="A rule file (TOML) to check.")) -> None:
    """Check a rule file the way loading does, and report each rule pass/fail."""
    results, error = check_rule_file(file)
    if error is not None:
        fail(str(error))
    if not results:
        fail(f"{file}: -: no [[rules]] tables found")
    bad = 0
    for rid, ok, reason in results:
        style = "green" if ok else "red"
        out_console.print(Text(f"{'PASS' if ok else 'FAIL'}  {rid}", style=style)
                          + Text("" if reason == "ok" else f"  {reason}"))
        bad += not ok
    out_console.print(f"{len(results) - bad} passed, {bad} failed")
    if bad:
        raise typer.Exit(EXIT_USAGE)
