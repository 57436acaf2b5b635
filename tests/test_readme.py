"""The README's generated command reference matches the CLI (cog, from the Click declarations)."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_readme_command_reference_is_current(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from cogapp import Cog

    monkeypatch.chdir(ROOT)
    status = Cog().main(["cog", "--check", "README.md"])
    assert status == 0, f"README's command reference is out of date: run `cog -r README.md`\n{capsys.readouterr()}"


def test_reference_lists_every_option_of_every_command() -> None:
    import sys

    sys.path.insert(0, str(ROOT / "scripts"))
    import click
    import command_reference
    import typer.main

    from dlsolve.cli import build_app

    text = command_reference.markdown()
    root = typer.main.get_command(build_app())
    assert isinstance(root, click.Group)
    for name, command in command_reference._leaves(root, ""):
        assert f"### `dlsolve {name}`" in text
        for parameter in command.params:
            if isinstance(parameter, click.Option) and not command_reference.COMMON & set(parameter.opts):
                assert f"`{parameter.opts[0]}`" in text, (name, parameter.opts)
