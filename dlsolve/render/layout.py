"""Layout shared by the terminal view and the typeset keys: table column widths that never cut a
word, numeric columns, heatmap colours. Cheap to import (the terminal view loads it on every run)."""

from __future__ import annotations

import re


def heat_rgb(value: float, low: float, high: float) -> tuple[int, int, int]:
    """Background colour of a heatmap cell holding ``value`` among values from ``low`` to ``high``:
    diverging blue-white-red around 0 when signs are mixed, else white to blue."""
    if low < 0 < high:
        scale = max(-low, high)
        t = value / scale if scale else 0.0
        strength = int(200 * min(abs(t), 1.0))
        if t >= 0:
            return 255, 255 - strength, 255 - strength
        return 255 - strength, 255 - strength, 255
    span = high - low
    if not span:
        return 255, 255, 255
    t = (value - low) / span
    strength = int(200 * min(max(t, 0.0), 1.0))
    if high <= 0:
        strength = 200 - strength
    return 255 - strength, 255 - strength // 3, 255


def column_widths(natural: list[int], least: list[int], budget: float) -> list[float]:
    """Widths of table columns that must share ``budget``: each column gets its ``least`` (its
    longest word, so that no word or number is cut), and what is left is shared in proportion to
    how much wider each column would like to be (up to its ``natural`` width)."""
    shares = [float(n) for n in least]
    spare = budget - sum(shares)
    wants = [max(n - m, 0) for n, m in zip(natural, least, strict=True)]
    total = sum(wants)
    if spare > 0 and total:
        shares = [share + min(spare * want / total, want) for share, want in zip(shares, wants, strict=True)]
    return shares


#: A table cell that holds one number (right-aligned in tables).
NUMERIC = re.compile(r"[-−+]?[\d.,]+(?:e[-+]?\d+)?(?:/\d+)?%?|[-−]?inf|nan|-|")


def numeric_column(cells: list[str]) -> bool:
    """Whether every cell of a table column is a number (such columns are right-aligned)."""
    return all(NUMERIC.fullmatch(cell.strip()) for cell in cells)
