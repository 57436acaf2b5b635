"""Renderers: one registry from output mode to the module that prints a Solution that way.

Each renderer module defines ``render(solution, stream)`` and ``render_sheet(outcomes, stream, check)``
(an answer sheet of several problems, for ``dlsolve solve``). Modules are imported only when used, so
``-q`` and ``--json`` never pay for Rich.
"""

from __future__ import annotations

import importlib
import sys
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from dlsolve.problems import Outcome
    from dlsolve.solution import Solution

#: Output mode -> module implementing ``render(solution, stream)``.
RENDERERS: dict[str, str] = {
    "rich": "dlsolve.render.rich_view",
    "json": "dlsolve.render.json_view",
    "quiet": "dlsolve.render.quiet",
    "latex": "dlsolve.render.latex",
    "markdown": "dlsolve.render.markdown",
    "html": "dlsolve.render.html",
}


def render(solution: Solution, mode: str = "rich", stream: TextIO | None = None) -> None:
    """Print ``solution`` in output ``mode`` (a key of :data:`RENDERERS`)."""
    module = importlib.import_module(RENDERERS[mode])
    module.render(solution, stream if stream is not None else sys.stdout)


def render_sheet(
    outcomes: list[Outcome], mode: str = "rich", stream: TextIO | None = None, *, check: bool = False
) -> None:
    """Print the solved problems as one answer sheet in output ``mode``."""
    module = importlib.import_module(RENDERERS[mode])
    module.render_sheet(outcomes, stream if stream is not None else sys.stdout, check=check)
