"""``-q``: the answer only, plain text, one line where possible."""

from __future__ import annotations

from typing import TextIO

from dlsolve.solution import Solution


def render(solution: Solution, stream: TextIO) -> None:
    stream.write(solution.quiet.rstrip("\n") + "\n")
