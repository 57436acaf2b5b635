"""Scalars, whole numbers, lists, choices and labels from text, and where text comes from (``@file``, ``-``).

Part of :mod:`dlsolve.parsing` (see its docstring for the conventions)."""

from __future__ import annotations

import ast
import functools
import math
import re
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dlsolve.errors import BadInput
from dlsolve.values import (
    UNKNOWN,
)

if TYPE_CHECKING:
    # Start-up cost: ``fractions`` (with ``decimal`` and ``numbers``) is imported by the functions
    # that need it; ``conv-shape`` with whole numbers never does.
    from fractions import Fraction

    from dlsolve.values import Scalar


#: Longest text accepted for one option (a larger input belongs in a file).
MAX_TEXT = 2_000_000
#: Matrices with more entries than this are read as float64 NumPy arrays (the "large" path).
LARGE_ENTRIES = 10_000
#: Bound on the size of exact intermediate values, in bits, so that ``9**9**9`` is refused.
MAX_BITS = 4096

#: Fast path: a plain decimal needs no syntax tree. Patterns are compiled on first use, by
#: :func:`_regex` (start-up cost: ``conv-shape`` with whole numbers needs none).
_PLAIN_NUMBER = r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d{1,3})?"
_EXPONENT = r"[eE]([+-]?\d+)"


@functools.cache
def _regex(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


def _is_plain_integer(text: str) -> bool:
    """Fast path: ``text`` matches ``[+-]?[0-9]+`` (ASCII digits), so ``int`` reads it exactly."""
    digits = text[1:] if text[:1] in ("+", "-") else text
    return digits.isascii() and digits.isdigit()


_ARITHMETIC_OPS: dict[type[ast.operator], Callable[[Any, Any], Any]] = {
    ast.Add: lambda a, b: a + b,
    ast.Sub: lambda a, b: a - b,
    ast.Mult: lambda a, b: a * b,
    ast.Div: lambda a, b: a / b,
}


# --------------------------------------------------------------------------- text sources


#: Typed text as Python's syntax reads it: the minus sign U+2212 (which dlsolve itself prints) as ``-``.
_ASCII_MINUS = str.maketrans({"\u2212": "-"})


def read_source(value: str, option: str) -> str:
    """The text an option refers to: ``@path`` reads a file, ``-`` reads standard input."""
    if value == "-":
        text = sys.stdin.read()
        if not text.strip():
            raise BadInput("expected input on standard input, got nothing", option=option)
        return text
    if value.startswith("@"):
        path = Path(value[1:])
        try:
            return path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            raise BadInput(f"cannot read file {str(path)!r}: {_os_reason(error)}", option=option) from None
    return value


def _os_reason(error: Exception) -> str:
    if isinstance(error, OSError) and error.strerror:
        return error.strerror
    return str(error).splitlines()[0] if str(error) else type(error).__name__


def _check_length(text: str, option: str) -> None:
    if len(text) > MAX_TEXT:
        raise BadInput(f"input of {len(text)} characters is too long; put it in a file", option=option)
    if "\x00" in text:
        raise BadInput("input contains a NUL character", option=option)


# --------------------------------------------------------------------------- scalars


def _parse_expression(text: str, option: str, what: str) -> ast.expr:
    _check_length(text, option)
    stripped = text.translate(_ASCII_MINUS).strip()
    if not stripped:
        raise BadInput(f"expected {what}, got an empty value", option=option)
    try:
        tree = ast.parse(stripped, mode="eval")
    except (SyntaxError, ValueError, MemoryError, RecursionError):
        raise BadInput(f"expected {what}, got {_quote(text)}", option=option) from None
    return tree.body


def _quote(text: str, limit: int = 40) -> str:
    text = text.strip()
    return repr(text if len(text) <= limit else text[: limit - 1] + "…")


def _check_size(value: Fraction, text: str, option: str) -> Fraction:
    if value.numerator.bit_length() > MAX_BITS or value.denominator.bit_length() > MAX_BITS:
        raise BadInput(f"the number {_quote(text)} is too large to handle exactly", option=option)
    return value


def _literal_number(node: ast.Constant, source: str) -> Fraction:
    value = node.value
    from fractions import Fraction

    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError("not a number")
    if isinstance(value, int):
        return Fraction(value)
    segment = ast.get_source_segment(source, node) or repr(value)
    exponent = _regex(_EXPONENT).search(segment)
    if exponent and abs(int(exponent.group(1))) > 1000:
        raise ValueError("exponent too large")
    try:
        return Fraction(segment.replace("_", ""))
    except (ValueError, ZeroDivisionError):
        if math.isfinite(value):
            return Fraction(value)
        raise ValueError("not a finite number") from None


def _evaluate_scalar(node: ast.expr, source: str, option: str, allow_inf: bool) -> Scalar:
    """Evaluate whitelisted arithmetic exactly; ``inf`` only where ``allow_inf``."""
    if isinstance(node, ast.Constant):
        return _check_size(_literal_number(node, source), source, option)
    if isinstance(node, ast.Name) and allow_inf and node.id in ("inf", "Infinity"):
        return math.inf
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
        operand = _evaluate_scalar(node.operand, source, option, allow_inf)
        return -operand if isinstance(node.op, ast.USub) else operand
    if isinstance(node, ast.BinOp):
        left = _evaluate_scalar(node.left, source, option, allow_inf)
        right = _evaluate_scalar(node.right, source, option, allow_inf)
        if isinstance(left, float) or isinstance(right, float):
            raise ValueError("arithmetic with inf")
        if isinstance(node.op, ast.Pow):
            if right.denominator != 1 or abs(right) > 256:
                raise ValueError("only small whole-number powers are exact")
            if left == 0 and right < 0:
                raise ZeroDivisionError
            return _check_size(left ** int(right), source, option)
        operation = _ARITHMETIC_OPS.get(type(node.op))
        if operation is None:
            raise ValueError("operator not allowed")
        return _check_size(operation(left, right), source, option)
    raise ValueError("not arithmetic")


def _typed_scalar(value: Any, option: str, allow_inf: bool = False) -> Scalar:
    """A number given as a value (a problem file's int or float), not as text."""
    from fractions import Fraction

    if isinstance(value, Fraction):
        return value
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise BadInput(f"expected a number such as 3, 0.5 or 1/3, got {value!r}", option=option)
    if isinstance(value, int):
        return _check_size(Fraction(value), str(value), option)
    if math.isinf(value) and allow_inf:
        return value
    if not math.isfinite(value):
        raise BadInput(f"expected a finite number, got {value!r}", option=option)
    return Fraction(repr(value))


def parse_scalar(text: str | float, option: str, *, allow_inf: bool = False) -> Scalar:
    """An exact number from ``text``: ``3``, ``-0.25``, ``3/7``, ``1e-3``, ``1/(4*3)``.

    Returns a Fraction; ``inf``/``-inf`` (floats) only when ``allow_inf``. The minus sign may be
    typed as U+2212 (``−1``), as dlsolve prints it.
    """
    if not isinstance(text, str):
        return _typed_scalar(text, option, allow_inf)
    text = text.translate(_ASCII_MINUS)
    plain = text.strip()
    if _regex(_PLAIN_NUMBER).fullmatch(plain) and len(plain) < 100:
        from fractions import Fraction

        return Fraction(plain)
    node = _parse_expression(text, option, "a number")
    try:
        return _evaluate_scalar(node, plain, option, allow_inf)
    except ZeroDivisionError:
        raise BadInput(f"division by zero in {_quote(text)}", option=option) from None
    except (ValueError, TypeError, OverflowError, RecursionError):
        raise BadInput(f"expected a number such as 3, 0.5 or 1/3, got {_quote(text)}", option=option) from None


def parse_positive(text: str | float, option: str) -> Fraction:
    """A number > 0."""
    value = parse_scalar(text, option)
    if value <= 0:
        raise BadInput(f"expected a positive number, got {_quote(str(text))}", option=option)
    from fractions import Fraction

    return Fraction(value)


def parse_int(text: str | int, option: str, *, minimum: int | None = None) -> int:
    """A whole number, at least ``minimum`` when given."""
    if not isinstance(text, str):
        from fractions import Fraction

        whole = isinstance(text, int | Fraction) or (isinstance(text, float) and text.is_integer())
        if isinstance(text, bool) or not whole or int(text) != text:
            raise BadInput(f"expected a whole number, got {text!r}", option=option)
        result = int(text)
        if minimum is not None and result < minimum:
            raise BadInput(f"expected a whole number >= {minimum}, got {result}", option=option)
        return result
    text = text.translate(_ASCII_MINUS)
    plain = text.strip()
    if _is_plain_integer(plain) and len(plain) < 100:
        result = int(plain)
    else:
        value = parse_scalar(text, option)
        if value != int(value):
            raise BadInput(f"expected a whole number, got {_quote(text)}", option=option)
        result = int(value)
    if minimum is not None and result < minimum:
        raise BadInput(f"expected a whole number >= {minimum}, got {result}", option=option)
    return result


def split_items(text: str) -> list[str]:
    """Split ``"28,32"``, ``"28 32"``, ``"28x32"`` or ``"(28, 32)"`` into items."""
    inner = text.strip()
    if len(inner) >= 2 and inner[0] + inner[-1] in ("()", "[]"):
        inner = inner[1:-1]
    for separator in (",", "x", "X", "×"):
        inner = inner.replace(separator, " ")
    return inner.split()


def parse_int_list(text: str | int | list[int], option: str, *, minimum: int | None = None) -> list[int]:
    """One or more whole numbers: ``28``, ``28,32``, ``28x32`` (or ``[28, 32]`` from a file)."""
    if not isinstance(text, str):
        items = text if isinstance(text, list | tuple) else [text]
        if not items:
            raise BadInput("expected one or more whole numbers, got an empty list", option=option)
        return [parse_int(item, option, minimum=minimum) for item in items]
    _check_length(text, option)
    items = [text] if _is_plain_integer(text.strip()) else split_items(text)
    if not items:
        raise BadInput(f"expected one or more whole numbers, got {_quote(text)}", option=option)
    return [parse_int(item, option, minimum=minimum) for item in items]


def _require_text(value: Any, option: str, example: str) -> str:
    if not isinstance(value, str):
        raise BadInput(f"expected text such as {example}, got {value!r}", option=option)
    return value


def parse_choice(text: str, option: str, choices: Sequence[str]) -> str:
    """One of ``choices`` (case-insensitive, ``_`` and ``-`` interchangeable)."""
    text = _require_text(text, option, choices[0])
    normalized = text.strip().lower().replace("_", "-")
    if normalized not in choices:
        raise BadInput(f"expected one of {', '.join(choices)}; got {_quote(text)}", option=option)
    return normalized


def parse_labels(text: str, option: str, *, count: int | None = None) -> list[str]:
    """Labels such as token names: ``"This,exam,is"`` (comma-separated; spaces if there is no comma).

    Each label is stripped and must be non-empty; with ``count`` there must be exactly that many.
    """
    if isinstance(text, list | tuple):
        text = ",".join(str(item) for item in text)  # a list of labels from a problem file
    text = _require_text(text, option, "This,exam,is")
    _check_length(text, option)
    stripped = text.strip()
    items = [item.strip() for item in stripped.split(",")] if "," in stripped else stripped.split()
    if not items or any(not item for item in items):
        raise BadInput(f"expected comma-separated labels such as This,exam,is, got {_quote(text)}", option=option)
    if count is not None and len(items) != count:
        raise BadInput(f"expected {count} labels, got {len(items)} ({_quote(text)})", option=option)
    return items


def parse_int_list_or_unknown(
    text: str | int | list[int], option: str, *, minimum: int | None = None, words: Sequence[str] = ()
) -> list[int] | str:
    """Whole numbers (``3`` or ``3,5``, one per dimension), ``?`` for the unknown (returns
    :data:`~dlsolve.values.UNKNOWN`), or one of ``words`` such as ``same`` (returned lower-cased).
    """
    if not isinstance(text, str):
        return parse_int_list(text, option, minimum=minimum)
    _check_length(text, option)
    stripped = text.strip()
    if stripped == UNKNOWN:
        return UNKNOWN
    if stripped.lower() in words:
        return stripped.lower()
    try:
        return parse_int_list(text, option, minimum=minimum)
    except BadInput:
        if not words or any(ch.isdigit() for ch in stripped):
            raise
        expected = f"expected whole numbers, ?, or one of {', '.join(words)}"
        raise BadInput(f"{expected}; got {_quote(text)}", option=option) from None


def parse_padding(
    text: str | int | list[Any], option: str, *, minimum: int = 0, words: Sequence[str] = ()
) -> list[int | tuple[int, int]] | str:
    """Padding per dimension: whole numbers (``1``, ``1,0``: both sides alike), ``before:after`` pairs
    (``0:1,1:2``; may mix with plain numbers), ``?`` (:data:`~dlsolve.values.UNKNOWN`) or one of
    ``words`` (``same``). From a file: an int, a list of ints or of ``[before, after]`` pairs.
    """
    if isinstance(text, str):
        if ":" not in text:
            return parse_int_list_or_unknown(text, option, minimum=minimum, words=words)
        _check_length(text, option)
        items: list[Any] = [item.split(":") if ":" in item else item for item in text.split(",")]
    else:
        items = list(text) if isinstance(text, list | tuple) else [text]
        if not items:
            raise BadInput("expected one or more paddings, got an empty list", option=option)
    pads: list[int | tuple[int, int]] = []
    for item in items:
        if isinstance(item, list | tuple):
            if len(item) != 2:
                raise BadInput(f"expected before:after such as 0:1, got {':'.join(map(str, item))!r}", option=option)
            pads.append((parse_int(item[0], option, minimum=minimum), parse_int(item[1], option, minimum=minimum)))
        else:
            pads.append(parse_int(item, option, minimum=minimum))
    return pads
