"""``--json``: the Solution's documented JSON form (see :mod:`dlsolve.solution`)."""

from __future__ import annotations

import json
from typing import Any, TextIO

from dlsolve.solution import Solution


def dumps(data: Any, *, indent: int | None = 2) -> str:
    """JSON text; NaN and infinities are refused (they are not JSON)."""
    return json.dumps(data, indent=indent, ensure_ascii=False, allow_nan=False)


def render(solution: Solution, stream: TextIO) -> None:
    stream.write(dumps(solution.to_dict()) + "\n")
