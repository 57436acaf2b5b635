"""The command modules: one per command (or command group), each option declared once with its parser.

A command module declares a function per command, registered with :func:`dlsolve.registry.command`.
Its parameters are ``Annotated[value type, option("--name", parser, help=...)]``: the declaration
gives Typer the flags and help, and gives the registry the parser that problem files and batch
lines use too. The body is one call of the solver, imported inside the function (start-up cost).

Parsers take the raw value (text on the command line; text or a typed value in a problem file)
and the option's name, and raise :class:`~dlsolve.errors.BadInput` naming it (exit 2).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NewType

import typer

# Annotations of parsed options whose value is a list, a tuple or a union. Typer reads an annotation
# ``list[...]`` as a repeatable option and refuses unions, so these name what the parser returns
# without Typer seeing its structure.
#: ``list[int]``, or ``"?"`` (the unknown), or a word such as ``"same"``.
Sizes = NewType("Sizes", object)
#: ``list[int]``.
Ints = NewType("Ints", object)
#: ``list[Fraction | float]``.
Vector = NewType("Vector", object)
#: ``list[Matrix]``: the channels of an image.
Channels = NewType("Channels", object)
#: ``list[LayerCall]``.
Layers = NewType("Layers", object)
#: ``list[str]``.
Labels = NewType("Labels", object)
#: ``tuple[int, int]``: one value per axis (rows, columns).
Pair = NewType("Pair", object)
#: ``tuple[str, numpy.ndarray]``: one ``NAME=VALUE`` (``--at``).
Assignment = NewType("Assignment", object)
#: A value of one of several types (a scheme name or probabilities, ...): the docstring says which.
Choice = NewType("Choice", object)

#: Help fragment of every matrix option.
MATRIX_HELP = "matrix: rows ';', entries ',' (1,0;0,1), [[1,0],[0,1]], @file or -"


def _parser(parse: Callable[..., Any], flag: str, keywords: dict[str, Any]) -> Callable[[Any], Any]:
    """``parse`` bound to its option's flag and keywords: what Typer and the registry call."""

    def parser(value: Any) -> Any:
        return parse(value, flag, **keywords)

    parser.__name__ = flag.lstrip("-").upper().replace("-", "_")  # Typer shows it as the metavar
    return parser


def option(*flags: str, parse: Callable[..., Any] | None = None, help: str, **keywords: Any) -> Any:
    """A Typer option declared once: its flags (the first one names it in errors), help and parser.

    ``parse(value, flag, **keywords)`` converts the raw value; ``keywords`` that are not Typer's
    (``minimum=1``, ``choices=...``) go to the parser.
    """
    typer_keywords = {key: keywords.pop(key) for key in list(keywords) if key in _TYPER_KEYWORDS}
    parser = None if parse is None else _parser(parse, flags[0], keywords)
    return typer.Option(*flags, parser=parser, help=help, **typer_keywords)


def argument(name: str, *, parse: Callable[..., Any] | None = None, help: str) -> Any:
    """A positional argument declared once with its parser (``name`` labels it in errors)."""
    parser = None if parse is None else _parser(parse, name, {})
    return typer.Argument(parser=parser, help=help, metavar=name)


#: Keywords of :func:`option` that belong to Typer rather than to the parser.
_TYPER_KEYWORDS = frozenset({"show_default", "metavar", "hidden", "rich_help_panel", "is_eager", "callback"})
