"""Does a student's answer match an answer field? And which field is it an answer to?

Conventions: an exact expected value (an integer, or a string such as ``"100/111"``) is compared
exactly; a given decimal with n places is right when it rounds the exact value at n places
(``|e − d| ≤ ½·10⁻ⁿ``), so ``0.9009`` is right for 100/111 and ``0.9`` is right too, at its own
precision. A float expected value (a float answer, found numerically) is compared within the
relative tolerance ``tol`` (default 1e-3). Words compare as words: every word of the expected value
must appear in the answer (``horizontal edge`` for orientation ``horizontal``, kind ``edge``); rule
codes as a set.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

from dlsolve.solvers.lr_schedule_kinds import KINDS as SCHEDULE_KINDS
from dlsolve.values import Answer

#: Default relative tolerance for float answers.
DEFAULT_TOL = 1e-3

#: Answer fields a student's bare answer is compared with, in order of preference, by command.
PRIMARY_FIELDS: dict[str, list[str]] = {
    "conv-shape": ["shape", "spatial", "params"],
    "filter apply": ["output"],
    "filter pool": ["output"],
    "filter explain": ["orientation", "kind"],
    "filter design": ["kernel"],
    "attention": ["output", "weights"],
    "attention shapes": ["output_shape", "params"],
    "sgd-limit": ["exact", "theta"],
    "convergence-bound": ["rho", "eta"],
    "lr-curve": ["too_high", "too_low"],
    "train-loop": ["rules"],
    "optim": ["theta", "final_loss"],
    "optim ewma": ["final", "final_corrected"],
    **{f"lr-schedule {kind}": ["final", "lr"] for kind in SCHEDULE_KINDS},
    "rnn": ["h_exact", "h", "h_last", "c_last"],
    "decode greedy": ["sequence", "probability"],
    "decode beam": ["sequence", "probability"],
}


def _number(value: Any) -> Fraction | float | None:
    """An expected number: ints and exact strings (``"100/111"``) exactly, floats as floats."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return Fraction(value)
    if isinstance(value, float):
        return value
    if isinstance(value, str):
        try:
            return Fraction(value.replace(" ", ""))
        except (ValueError, ZeroDivisionError):
            return None
    return None


def expected_rows(value: Any) -> list[list[Fraction | float]] | None:
    """An answer field as rows of numbers (a number is 1 x 1, a list one row); None if not numeric."""
    rows = value if isinstance(value, list) and value and all(isinstance(v, list) for v in value) else [value]
    if not isinstance(value, list) and not rows:
        return None
    result = []
    for row in rows:
        items = row if isinstance(row, list) else [row]
        numbers = [_number(item) for item in items]
        if not items or any(number is None for number in numbers):
            return None
        result.append(numbers)
    return result  # type: ignore[return-value]


def _flat(rows: list[list[Any]]) -> list[Any]:
    return [value for row in rows for value in row]


def _broadcast(given: Answer, rows: list[list[Any]]) -> bool:
    """One number for a size that is the same along every dimension (``13`` for a 13 x 13 output)."""
    flat = _flat(rows)
    return given.kind == "number" and len(rows) == 1 and len(flat) > 1 and all(v == flat[0] for v in flat)


def _same_shape(given: Answer, rows: list[list[Any]]) -> bool:
    if given.kind == "number":
        return (len(rows) == 1 and len(rows[0]) == 1) or _broadcast(given, rows)
    if given.kind == "vector":
        return len(_flat(rows)) == len(given.values) and (len(rows) == 1 or all(len(row) == 1 for row in rows))
    return [len(row) for row in rows] == [len(row) for row in given.rows]


def _words(value: Any) -> list[str]:
    items = value if isinstance(value, list) else [value]
    return [word for item in items if isinstance(item, str) for word in item.lower().replace("-", " ").split()]


def fits(given: Answer, value: Any) -> bool:
    """Whether ``given`` has the form of ``value`` (same kind and size), so it is an answer to it."""
    if given.kind == "words":
        return bool(_words(value))
    rows = expected_rows(value)
    return rows is not None and _same_shape(given, rows)


def lookup(answer: dict[str, Any], field: str) -> Any:
    """The answer field ``field``; ``grad.x`` is the entry ``x`` of the field ``grad`` (None if absent)."""
    value: Any = answer
    for part in field.split(".") if field not in answer else [field]:
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return value


def choose_field(given: Answer, answer: dict[str, Any], candidates: list[str]) -> str | None:
    """The first candidate field of ``answer`` that ``given`` has the form of (else the first one)."""
    present = [field for field in candidates if lookup(answer, field) is not None]
    return next((field for field in present if fits(given, lookup(answer, field))), present[0] if present else None)


def _close(expected: Fraction | float, given: Fraction, places: int | None, tol: float) -> bool:
    if isinstance(expected, Fraction):
        if places is None:
            return given == expected
        return abs(expected - given) <= Fraction(1, 2 * 10**places)
    scale = max(abs(expected), 1e-12)
    return abs(float(given) - expected) <= tol * scale or (expected == 0 and abs(float(given)) <= tol)


def matches(given: Answer, value: Any, tol: float = DEFAULT_TOL) -> bool:
    """Whether ``given`` is a right answer for the answer field ``value`` (see the module docstring)."""
    if given.kind == "words":
        expected_words = _words(value)
        if not expected_words:
            return False
        given_words = given.words.replace(",", " ").split()
        if isinstance(value, list):  # a set of codes or labels
            return sorted(set(given_words)) == sorted(set(expected_words))
        return all(word in given_words for word in expected_words)
    rows = expected_rows(value)
    if rows is None or not _same_shape(given, rows):
        return False
    if _broadcast(given, rows):
        rows = [[rows[0][0]]]
    places = [place for row in given.decimals for place in row] or [None] * len(given.values)
    return all(
        _close(expected, actual, place, tol)
        for expected, actual, place in zip(_flat(rows), given.values, places, strict=True)
    )


def show(value: Any) -> str:
    """An answer field in one line, as a grader reads it (matrices as rows ``a, b; c, d``)."""
    if isinstance(value, list) and value and all(isinstance(row, list) for row in value):
        return "; ".join(", ".join(_show_one(v) for v in row) for row in value)
    if isinstance(value, list):
        return ", ".join(_show_one(v) for v in value)
    return _show_one(value)


def _show_one(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)
