"""The README's command reference, generated from the CLI's own option declarations.

Run by cog (``cog -r README.md``; ``tests/test_readme.py`` checks it is current with ``cog --check``),
so the reference cannot drift from ``dlsolve COMMAND --help``: both come from the same Click commands.
"""

from __future__ import annotations

import click
import typer.main

from dlsolve.cli import build_app

#: Options every command has; the reference states them once instead of in every table.
COMMON = {"--json", "--quiet", "--latex", "--markdown", "--help"}


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def _leaves(group: click.Group, prefix: str) -> list[tuple[str, click.Command]]:
    """Every runnable command under ``group``, with its full name (a group with a callback runs too)."""
    found: list[tuple[str, click.Command]] = []
    for name, command in group.commands.items():
        full = f"{prefix} {name}".strip()
        if isinstance(command, click.Group):
            if command.invoke_without_command:
                found.append((full, command))
            found += _leaves(command, full)
        else:
            found.append((full, command))
    return found


def _default(parameter: click.Parameter) -> str:
    if isinstance(parameter, click.Option) and parameter.is_flag:
        return ""
    default = parameter.default
    if default is None or default == () or callable(default):
        return ""
    if getattr(parameter, "show_default", None) is False:  # the help text states it
        return ""
    return f"`{default}`"


def command_markdown(name: str, command: click.Command) -> str:
    """One command: its summary line, then a table of its arguments and options."""
    summary = (command.help or "").strip().split("\n\n")[0]
    rows = []
    for parameter in command.params:
        if isinstance(parameter, click.Argument):
            names = f"`{parameter.human_readable_name}`"
            meaning = getattr(parameter, "help", None) or ""
        else:
            assert isinstance(parameter, click.Option)
            if COMMON & set(parameter.opts):
                continue
            names = ", ".join(f"`{option}`" for option in [*parameter.opts, *parameter.secondary_opts])
            meaning = parameter.help or ""
        default = _default(parameter)
        rows.append(f"| {names} | {_cell(meaning)}{f' Default: {default}.' if default else ''} |")
    table = ["| option | meaning |", "| --- | --- |", *rows] if rows else []
    return "\n".join([f"### `dlsolve {name}`", "", _cell(summary), "", *table, ""])


def markdown() -> str:
    """The whole reference: every command in the order ``dlsolve --help`` lists them."""
    root = typer.main.get_command(build_app())
    assert isinstance(root, click.Group)
    return "\n".join(command_markdown(name, command) for name, command in _leaves(root, ""))


if __name__ == "__main__":
    print(markdown())
