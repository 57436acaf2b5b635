"""``-q``: the answer only, plain text, one line where possible."""

from __future__ import annotations

from typing import TYPE_CHECKING, TextIO

from dlsolve.solution import Solution

if TYPE_CHECKING:  # only for annotations: importing problems (tomllib, ...) costs start-up time
    from dlsolve.problems import Outcome


def render(solution: Solution, stream: TextIO) -> None:
    stream.write(solution.quiet.rstrip("\n") + "\n")


def render_sheet(outcomes: list[Outcome], stream: TextIO, *, check: bool = False) -> None:
    """One line per problem: ``id: answer`` (``id: PASS|FAIL ...`` when checking)."""
    for outcome in outcomes:
        if check:
            stream.write(f"{outcome.problem.id}: {outcome.verdict}\n")
        elif outcome.solution is not None:
            stream.write(f"{outcome.problem.id}: {' '.join(outcome.solution.quiet.split())}\n")
        else:
            stream.write(f"{outcome.problem.id}: error: {outcome.error}\n")
