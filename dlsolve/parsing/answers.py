"""A student's answer (answer checking): numbers, shapes, vectors, matrices or words.

Part of :mod:`dlsolve.parsing` (see its docstring for the conventions)."""

from __future__ import annotations

import ast
import re
from typing import TYPE_CHECKING, Any

from dlsolve.errors import BadInput
from dlsolve.parsing.arrays import parse_matrix
from dlsolve.parsing.text import _PLAIN_NUMBER, _check_length, _evaluate_scalar, _quote, _regex
from dlsolve.values import (
    Answer,
)

if TYPE_CHECKING:
    # Start-up cost: ``fractions`` (with ``decimal`` and ``numbers``) is imported by the functions
    # that need it; ``conv-shape`` with whole numbers never does.

    pass


# --------------------------------------------------------------------------- answers (answer checking)


def _decimal_places(token: str) -> int | None:
    """Places after the point of a plain decimal (``0.9009`` -> 4); None for an exact literal."""
    token = token.strip()
    if not _regex(_PLAIN_NUMBER).fullmatch(token) or "." not in token or "e" in token.lower():
        return None
    return len(token.split(".", 1)[1])


def _answer_from_rows(rows: list[list[Any]], decimals: list[list[int | None]], text: str) -> Answer:
    from fractions import Fraction

    exact = tuple(tuple(Fraction(value) for value in row) for row in rows)
    places = tuple(tuple(row) for row in decimals)
    if len(exact) == 1 and len(exact[0]) == 1:
        kind = "number"
    elif len(exact) == 1 or all(len(row) == 1 for row in exact):
        kind = "vector"
        exact = (tuple(value for row in exact for value in row),)
        places = (tuple(value for row in places for value in row),)
    else:
        kind = "matrix"
    return Answer(kind, exact, places, text=text)


def _scaled_vector(text: str, option: str) -> Answer | None:
    """``(1/3)[1, 10, 100]`` or ``1/3 * [1, 10, 100]``: a scalar times a list, as sheets write it."""
    try:
        node = ast.parse(text.strip(), mode="eval").body
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    if isinstance(node, ast.Subscript):
        scale_node, items = node.value, node.slice
    elif isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mult) and isinstance(node.right, ast.List):
        scale_node, items = node.left, node.right
    else:
        return None
    elements = items.elts if isinstance(items, ast.Tuple | ast.List) else [items]
    try:
        scale = _evaluate_scalar(scale_node, text.strip(), option, False)
        values = [scale * _evaluate_scalar(item, text.strip(), option, False) for item in elements]
    except (ValueError, TypeError, ZeroDivisionError, BadInput, RecursionError):
        return None
    return _answer_from_rows([values], [[None] * len(values)], text)


def parse_answer(value: Any, option: str = "--answer") -> Answer:
    """A student's answer: a number (``100/111``, ``0.9009``), a shape or vector (``32,128,26,26``,
    ``[1, 2]``, ``(1/3)[1, 10, 100]``), a matrix (``1,2;3,4``) or words (``horizontal edge``).

    Typed values from an answers file (numbers, lists, lists of lists) are read as they are; a float
    counts as the decimal it prints as.
    """
    if not isinstance(value, str):
        matrix = parse_matrix(value, option)
        places = [[_decimal_places(repr(v)) if isinstance(v, float) else None for v in row] for row in _listify(value)]
        return _answer_from_rows([list(row) for row in matrix.rows], places, repr(value))
    text = value.strip()
    _check_length(text, option)
    if not text:
        raise BadInput("expected an answer, got an empty one", option=option)
    scaled = _scaled_vector(text, option) if "[" in text else None
    if scaled is not None:
        return scaled
    if text.startswith("(") and text.endswith(")") and "(" not in text[1:]:
        text = text[1:-1]  # a shape written as a tuple: (32, 128, 26, 26)
    try:
        matrix = parse_matrix(text, option)
    except BadInput:
        words = " ".join(text.lower().replace("-", " ").replace(",", " ").split())
        if not re.fullmatch(r"[\w\s.'/()<>]+", words) or not any(char.isalpha() for char in words):
            raise BadInput(f"cannot read {_quote(text)} as a number, shape, matrix or words", option=option) from None
        return Answer("words", words=words, text=value)
    if matrix.is_large:
        raise BadInput("the answer is too large to check", option=option)
    lines = [line for line in text.replace(";", "\n").splitlines() if line.strip()]
    tokens = [line.replace(",", " ").split() for line in lines]
    shape_matches = [len(row) for row in tokens] == [len(row) for row in matrix.rows]
    places = (
        [[_decimal_places(t) for t in row] for row in tokens]
        if shape_matches
        else [[None] * len(row) for row in matrix.rows]
    )
    return _answer_from_rows([list(row) for row in matrix.rows], places, value)


def _listify(value: Any) -> list[list[Any]]:
    if not isinstance(value, list | tuple):
        return [[value]]
    if all(isinstance(item, list | tuple) for item in value):
        return [list(row) for row in value]
    return [list(value)]
