"""Whole inputs of particular commands: preconditioners, loss series, source files.

Part of :mod:`dlsolve.parsing` (see its docstring for the conventions)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from dlsolve.errors import BadInput
from dlsolve.parsing.arrays import parse_matrix, parse_vector
from dlsolve.parsing.text import _ASCII_MINUS, _check_length, _quote, _require_text, parse_scalar, read_source
from dlsolve.values import (
    ADAPTIVE_PRECONDITIONERS,
    LossSeries,
    Preconditioner,
    SourceText,
)

if TYPE_CHECKING:
    # Start-up cost: ``fractions`` (with ``decimal`` and ``numbers``) is imported by the functions
    # that need it; ``conv-shape`` with whole numbers never does.

    pass


# --------------------------------------------------------------------------- preconditioners (sgd-limit)


def parse_preconditioner(text: str, option: str = "--precond") -> Preconditioner:
    """``identity``, ``diag:1,100,10000``, a matrix (``"2,1;1,2"``, ``@M.npy``) or an adaptive name.

    Adaptive names: ``adagrad``, ``rmsprop``, ``adam``, ``epoch-rms`` (``_`` and ``-`` alike).
    """
    if not isinstance(text, str):
        matrix = parse_matrix(text, option)
        if matrix.shape[0] != matrix.shape[1]:
            raise BadInput(f"expected a square matrix, got {matrix.shape[0]}x{matrix.shape[1]}", option=option)
        return Preconditioner("matrix", matrix=matrix)
    _check_length(text, option)
    stripped = text.strip()
    name = stripped.lower().replace("_", "-")
    if name in ("identity", "i", "eye", "none", "sgd"):
        return Preconditioner("identity")
    if name in ADAPTIVE_PRECONDITIONERS:
        return Preconditioner(name)
    if name.startswith("diag:"):
        return Preconditioner("diag", diagonal=tuple(parse_vector(stripped[5:], option)))
    if not stripped or not (stripped[0].isdigit() or stripped[0] in "-+.[(@"):
        raise BadInput(
            "expected identity, diag:a,b,c, a symmetric positive definite matrix such as 2,1;1,2, "
            f"or one of {', '.join(ADAPTIVE_PRECONDITIONERS)}; got {_quote(text)}",
            option=option,
        )
    matrix = parse_matrix(stripped, option)
    rows, cols = matrix.shape
    if rows != cols:
        raise BadInput(f"expected a square matrix, got {rows}x{cols}", option=option)
    return Preconditioner("matrix", matrix=matrix)


# --------------------------------------------------------------------------- loss series (lr-curve)


def parse_float_token(text: str, option: str) -> float:
    """One float of a series: a decimal, ``1e-3``, ``nan``, ``inf`` (or arithmetic such as ``1/3``)."""
    token = text.translate(_ASCII_MINUS).strip()
    if _is_float_token(token):
        return float(token)
    try:
        return float(parse_scalar(token, option))
    except BadInput:
        raise BadInput(f"expected a number (or nan/inf), got {_quote(text)}", option=option) from None


def parse_float_series(text: str, option: str) -> list[float]:
    """A series of floats separated by commas or whitespace, e.g. a loss curve ``"2.3, 1.9, 1.7"``.

    ``nan`` and ``inf`` are accepted (a diverging run logs them); at least one value is required.
    """
    if not isinstance(text, str):
        items = text if isinstance(text, list | tuple) else [text]
        if not items or any(isinstance(item, bool) or not isinstance(item, int | float) for item in items):
            raise BadInput(f"expected numbers such as 2.3,1.9,1.7, got {text!r}", option=option)
        return [float(item) for item in items]
    _check_length(text, option)
    items = text.replace(",", " ").replace(";", " ").split()
    if not items:
        raise BadInput(f"expected numbers such as 2.3,1.9,1.7, got {_quote(text)}", option=option)
    return [parse_float_token(item, option) for item in items]


def parse_series_table(text: str, option: str) -> list[tuple[str | None, list[float]]]:
    """Columns of a CSV text, one series per column: ``[(label or None, values), ...]``.

    The first row is a header of labels when any of its cells is not a number. Columns may have
    different lengths (empty cells at the end of a shorter column are skipped); a gap in the middle
    of a column is refused.
    """
    import csv

    _check_length(text, option)
    rows = [row for row in csv.reader(text.splitlines()) if any(cell.strip() for cell in row)]
    if not rows:
        raise BadInput("expected CSV columns of numbers (one run per column), got nothing", option=option)
    header: list[str | None] = [None] * len(rows[0])
    has_header = any(cell.strip() and not _is_float_token(cell) for cell in rows[0])
    if has_header:
        header = [cell.strip() or None for cell in rows[0]]
        rows = rows[1:]
    width = len(header)
    columns: list[list[float]] = [[] for _ in range(width)]
    ended = [False] * width
    for number, row in enumerate(rows, start=2 if has_header else 1):
        if len(row) > width:
            raise BadInput(f"CSV row {number} has {len(row)} cells, the header {width}", option=option)
        for index in range(width):
            cell = row[index].strip() if index < len(row) else ""
            if not cell:
                ended[index] = True
                continue
            if ended[index]:
                raise BadInput(f"CSV row {number}, column {index + 1}: a value after an empty cell", option=option)
            try:
                columns[index].append(parse_float_token(cell, option))
            except BadInput:
                raise BadInput(
                    f"CSV row {number}, column {index + 1}: expected a number, got {_quote(cell)}", option=option
                ) from None
    return list(zip(header, columns, strict=True))


def _is_float_token(cell: str) -> bool:
    """True when Python's ``float`` reads ``cell`` (digits, exponent, nan, inf; no evaluation)."""
    try:
        float(cell)
    except ValueError:
        return False
    return True


# --------------------------------------------------------------------------- files


def parse_source_file(path: str, option: str) -> SourceText:
    """The text of the file at ``path`` (``-``: standard input), with its name for messages."""
    path = _require_text(path, option, "train.py")
    return SourceText(read_source(path if path == "-" else "@" + path, option), "<stdin>" if path == "-" else path)


def parse_loss_series(text: str | list[float], option: str) -> LossSeries:
    """One ``--loss``: a typed run ``"2.3,1.9,1.7"`` (or a list), or ``@file.csv`` / ``-`` with a column per run."""
    if isinstance(text, str) and (text.startswith("@") or text == "-"):
        return LossSeries(parse_series_table(read_source(text, option), option), typed=False)
    return LossSeries([(None, parse_float_series(text, option))], typed=True)
