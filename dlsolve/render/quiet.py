"""``-q``: the answer only, plain text, one line where possible; warnings go to standard error.

The working is never built here (a Solution's steps stay an unbuilt builder).
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, TextIO

from dlsolve.solution import Solution

if TYPE_CHECKING:  # only for annotations: importing problems (tomllib, ...) costs start-up time
    from dlsolve.problems import Outcome


def _warn(warnings: list[str], prefix: str = "") -> None:
    if sys.stderr is not None:  # None when started with standard error closed (`2>&-`)
        for warning in warnings:
            sys.stderr.write(f"warning: {prefix}{warning}\n")


def one_line(quiet: str) -> str:
    """A multi-line ``-q`` answer on one line, its lines kept apart: rows of a matrix as
    ``3 3 3 3; 0 0 0 0`` (as a matrix is typed), a line ending in ``=`` or ``:`` runs on with a space."""
    lines = [" ".join(line.split()) for line in quiet.splitlines() if line.strip()]
    text = ""
    for line in lines:
        text += ("" if not text else " " if text.endswith(("=", ":")) else "; ") + line
    return text


def render(solution: Solution, stream: TextIO) -> None:
    stream.write(solution.quiet.rstrip("\n") + "\n")
    _warn(solution.warnings)


def render_sheet(outcomes: list[Outcome], stream: TextIO, *, check: bool = False) -> None:
    """One line per problem: ``id: answer`` (:func:`one_line`; ``id: PASS|FAIL ...`` when checking)."""
    for outcome in outcomes:
        if check:
            stream.write(f"{outcome.problem.id}: {outcome.verdict}\n")
        elif outcome.solution is not None:
            stream.write(f"{outcome.problem.id}: {one_line(outcome.solution.quiet)}\n")
            _warn(outcome.solution.warnings, f"{outcome.problem.id}: ")
        else:
            stream.write(f"{outcome.problem.id}: error: {outcome.error}\n")
