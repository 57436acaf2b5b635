"""``--json``: the Solution's documented JSON form (see :mod:`dlsolve.solution`)."""

from __future__ import annotations

import functools
import json
from typing import TYPE_CHECKING, Any, TextIO

from dlsolve.solution import Solution

if TYPE_CHECKING:  # only for annotations: importing problems (tomllib, ...) costs start-up time
    from dlsolve.problems import Outcome


@functools.cache
def _encoder(indent: int | None) -> json.JSONEncoder:
    # One encoder per indent, built once (json.dumps builds one per call with these options).
    # check_circular=False: solutions are trees built afresh by the solvers, and skipping the cycle
    # bookkeeping per container halves the encoding time in batch mode (a cycle, a bug, would still
    # fail: RecursionError instead of ValueError, both reported as internal errors).
    return json.JSONEncoder(indent=indent, ensure_ascii=False, allow_nan=False, check_circular=False)


def dumps(data: Any, *, indent: int | None = 2) -> str:
    """JSON text; NaN and infinities are refused (they are not JSON)."""
    return _encoder(indent).encode(data)


def render(solution: Solution, stream: TextIO) -> None:
    stream.write(dumps(solution.to_dict()) + "\n")


def sheet_summary(outcomes: list[Outcome]) -> dict[str, int]:
    """Counts of problems solved/passed."""
    passed = sum(outcome.passed for outcome in outcomes)
    return {"total": len(outcomes), "passed": passed, "failed": len(outcomes) - passed}


def render_sheet(outcomes: list[Outcome], stream: TextIO, *, check: bool = False) -> None:
    """``{"problems": [...], "summary": {...}}``; each problem as ``Outcome.to_dict``."""
    payload = {"problems": [outcome.to_dict() for outcome in outcomes], "summary": sheet_summary(outcomes)}
    stream.write(dumps(payload) + "\n")
