"""The only place where user text becomes numbers, matrices and layers.

Nothing here calls ``eval``, ``exec`` or SymPy's string parsers: arithmetic and PyTorch layer
expressions are parsed with :mod:`ast` and walked through a whitelist of node types, so text such
as ``__import__('os').system('...')`` is refused without running anything.

Conventions:

* A scalar is an int, a decimal (``0.1`` is exactly 1/10), a fraction (``3/7``), scientific
  notation (``1e-3``) or simple arithmetic of these (``1/(4*3)``, ``2**-3``). Values are
  :class:`fractions.Fraction`, so they stay exact.
* A matrix is typed as rows separated by ``;`` (or newlines) with entries separated by ``,`` or
  spaces (``"1,2;3,4"``), or as a nested list (``"[[1,2],[3,4]]"``), or read from ``@path``
  (``.csv``, ``.txt``, ``.npy``), or ``-`` for standard input. Large inputs become float64.
* Every parser also takes the typed value a problem file or a JSON batch line holds (an int, a
  float, a list, a list of lists) and converts it directly, with the same checks and messages: no
  value is turned back into text to be parsed again. A float is read as the decimal it prints as
  (``0.1`` from TOML is exactly 1/10, as typed).
"""

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
    ADAPTIVE_PRECONDITIONERS,
    UNKNOWN,
    Answer,
    LayerCall,
    LossSeries,
    Matrix,
    Preconditioner,
    SourceText,
    Tensor,
)

if TYPE_CHECKING:
    # Start-up cost: ``fractions`` (with ``decimal`` and ``numbers``) is imported by the functions
    # that need it; ``conv-shape`` with whole numbers never does.
    from fractions import Fraction

    import numpy as np

    from dlsolve.values import Scalar

__all__ = ["ADAPTIVE_PRECONDITIONERS", "UNKNOWN", "LayerCall", "Matrix", "Preconditioner"]  # re-exported

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


# --------------------------------------------------------------------------- vectors and matrices


def _parse_entry(text: str, option: str, allow_inf: bool) -> Scalar:
    try:
        return parse_scalar(text, option, allow_inf=allow_inf)
    except BadInput:
        raise BadInput(f"cannot read matrix entry {_quote(text)} as a number", option=option) from None


def _rows_from_nested(text: str, option: str, allow_inf: bool) -> list[list[Scalar]]:
    node = _parse_expression(text, option, "a matrix")
    items = node.elts if isinstance(node, ast.List | ast.Tuple) else None
    if items is None:
        raise BadInput(f"expected a matrix such as [[1,2],[3,4]], got {_quote(text)}", option=option)
    rows: list[list[Scalar]] = []
    nested = all(isinstance(item, ast.List | ast.Tuple) for item in items)
    for item in items if nested else [node]:
        entries = item.elts if isinstance(item, ast.List | ast.Tuple) else []
        row = []
        for entry in entries:
            segment = ast.get_source_segment(text.strip(), entry) or ""
            row.append(_parse_entry(segment, option, allow_inf))
        rows.append(row)
    return rows


def _rows_from_text(text: str, option: str, allow_inf: bool) -> list[list[Scalar]]:
    stripped = text.translate(_ASCII_MINUS).strip()
    if stripped.startswith(("[", "((")):
        return _rows_from_nested(stripped, option, allow_inf)
    lines = [line.split("#", 1)[0] for line in stripped.replace(";", "\n").splitlines()]
    rows = []
    for line in lines:
        if "," in line and any(not piece.strip() for piece in line.split(",")):
            raise BadInput(
                f"empty entry in row {len(rows) + 1} ({line.strip()!r}: nothing between two commas)", option=option
            )
        items = line.replace(",", " ").replace("\t", " ").split()
        if items:
            rows.append([_parse_entry(item, option, allow_inf) for item in items])
    return rows


def _matrix_from_rows(rows: list[list[Scalar]], option: str) -> Matrix:
    if not rows or not rows[0]:
        raise BadInput("expected a matrix such as 1,2;3,4, got an empty one", option=option)
    width = len(rows[0])
    for index, row in enumerate(rows):
        if len(row) != width:
            raise BadInput(
                f"ragged matrix: row 1 has {width} entries but row {index + 1} has {len(row)}",
                option=option,
            )
    return Matrix(rows=tuple(tuple(row) for row in rows))


def _matrix_from_array(array: Any, option: str) -> Matrix:
    import numpy as np

    if array.ndim == 1:
        array = array.reshape(1, -1)
    if array.ndim != 2 or array.size == 0:
        raise BadInput(f"expected a non-empty 2-D array, got shape {list(array.shape)}", option=option)
    if array.dtype.kind not in "biuf":
        raise BadInput(f"expected numbers, got an array of dtype {array.dtype}", option=option)
    if array.dtype.kind == "f" and not np.all(np.isfinite(array)):
        raise BadInput("the array contains NaN or infinite entries", option=option)
    if array.dtype.kind in "biu" and array.size <= LARGE_ENTRIES:
        from fractions import Fraction

        return Matrix(rows=tuple(tuple(Fraction(int(v)) for v in row) for row in array.tolist()))
    if array.size <= LARGE_ENTRIES:
        return Matrix(rows=tuple(tuple(float(v) for v in row) for row in array.tolist()))
    return Matrix(array=np.ascontiguousarray(array, dtype=np.float64))


def load_array(path_text: str, option: str) -> np.ndarray:
    """A NumPy array from a ``.npy`` file (never unpickles)."""
    import numpy as np

    try:
        return np.load(path_text, allow_pickle=False)
    except (OSError, ValueError, EOFError) as error:
        raise BadInput(f"cannot read array file {path_text!r}: {_os_reason(error)}", option=option) from None


def _typed_rows(value: Any, option: str, allow_inf: bool) -> list[list[Scalar]]:
    """Matrix rows from a list of lists (or one list: a row; or one number: 1 x 1)."""
    if not isinstance(value, list | tuple):
        return [[_typed_scalar(value, option, allow_inf)]]
    if all(isinstance(item, list | tuple) for item in value):
        return [[_typed_scalar(entry, option, allow_inf) for entry in row] for row in value]
    if any(isinstance(item, list | tuple) for item in value):
        raise BadInput("expected a matrix (a list of rows), got numbers and lists mixed", option=option)
    return [[_typed_scalar(entry, option, allow_inf) for entry in value]]


def parse_matrix(text: str | list[Any] | float, option: str, *, allow_inf: bool = False) -> Matrix:
    """A matrix from typed text, ``@file`` (.csv/.txt/.npy) or ``-`` (stdin); or a list of rows."""
    if not isinstance(text, str):
        return _matrix_from_rows(_typed_rows(text, option, allow_inf), option)
    if text.startswith("@") and text.lower().endswith(".npy"):
        return _matrix_from_array(load_array(text[1:], option), option)
    return _matrix_from_source(read_source(text, option), text, option, allow_inf)


def _matrix_from_source(source: str, text: str, option: str, allow_inf: bool) -> Matrix:
    """The matrix in ``source``, the text that the option value ``text`` referred to (read once:
    standard input cannot be read twice)."""
    _check_length(source, option)
    if text.startswith("@") and len(source) > 20 * LARGE_ENTRIES:
        import numpy as np

        try:
            array = np.loadtxt(text[1:], delimiter="," if text.lower().endswith(".csv") else None, ndmin=2)
        except ValueError as error:
            raise BadInput(f"cannot read {text[1:]!r} as numbers: {error}", option=option) from None
        return _matrix_from_array(array, option)
    return _matrix_from_rows(_rows_from_text(source, option, allow_inf), option)


def parse_vector(text: str | list[Any] | float, option: str) -> list[Scalar]:
    """A vector: one row or one column of a matrix (``1,0.1,0.01`` or ``1;2;3``)."""
    matrix = parse_matrix(text, option)
    rows, cols = matrix.shape
    if rows != 1 and cols != 1:
        raise BadInput(f"expected a vector, got a {rows}x{cols} matrix", option=option)
    values = [v for row in matrix.tolist() for v in row]
    return values


def _array_rank(text: str, source: str) -> int:
    """How many dimensions typed text means: 0 (one number), 1 (one row) or 2 (rows)."""
    stripped = source.strip()
    if stripped.startswith(("[[", "((")):
        return 2
    lines = [line for line in stripped.replace(";", "\n").splitlines() if line.split("#", 1)[0].strip()]
    if len(lines) > 1:
        return 2
    if stripped.startswith(("[", "(")):
        return 1
    return 1 if len(lines[0].replace(",", " ").split()) > 1 else 0


def parse_array(text: str, option: str) -> np.ndarray:
    """A scalar, vector or matrix as a NumPy array with as many dimensions as the text shows.

    ``3`` is 0-d, ``1,2,3`` (or ``[1,2,3]``) is 1-D, ``1,2;3,4`` (or ``[[1,2],[3,4]]``, or a file
    of several lines) is 2-D; a ``.npy`` file keeps its own dimensions (at most 2). Exact entries
    (every typed number) give an object array of Fractions; large or float ``.npy`` inputs float64.
    """
    import numpy as np

    if text.startswith("@") and text.lower().endswith(".npy"):
        array = load_array(text[1:], option)
        if array.ndim > 2:
            raise BadInput(f"expected at most 2 dimensions, got shape {list(array.shape)}", option=option)
        matrix = _matrix_from_array(array.reshape(1, -1) if array.ndim < 2 else array, option)
        rank = array.ndim
    else:
        source = read_source(text, option)
        matrix = parse_matrix(source if not text.startswith("@") or len(source) <= 20 * LARGE_ENTRIES else text, option)
        rank = _array_rank(text, source)
    if matrix.is_large:
        values = matrix.array
    elif matrix.is_exact:
        values = np.empty(matrix.shape, dtype=object)
        for i, row in enumerate(matrix.rows):
            for j, entry in enumerate(row):
                values[i, j] = entry
    else:
        values = matrix.to_numpy()
    if rank == 2:
        return values
    return values.reshape(()) if rank == 0 and values.size == 1 else values.reshape(-1)


def parse_assignment(text: str, option: str) -> tuple[str, np.ndarray]:
    """``NAME=VALUE`` -> (name, :func:`parse_array` of the value)."""
    if not isinstance(text, str):
        raise BadInput(f"expected NAME=VALUE text such as x=2 or W=1,2;3,4, got {text!r}", option=option)
    name, equals, value = text.partition("=")
    name = name.strip()
    if not equals or not name:
        raise BadInput(f"expected NAME=VALUE such as x=2 or W=1,2;3,4, got {_quote(text)}", option=option)
    if not name.isidentifier() or not name.isascii() or name.startswith("__"):
        raise BadInput(f"{_quote(name)} is not a valid name (letters, digits and _)", option=option)
    return name, parse_array(value.strip(), f"{option} {name}")


def parse_assignments(texts: Sequence[str], option: str) -> dict[str, np.ndarray]:
    """Repeated ``NAME=VALUE`` options; a name given twice is refused."""
    return assignments_dict([parse_assignment(text, option) for text in texts], option)


def assignments_dict(pairs: Sequence[tuple[str, Any]] | None, option: str) -> dict[str, Any]:
    """Parsed ``NAME=VALUE`` pairs (a repeated option, each parsed by :func:`parse_assignment`) as a
    dict; a name given twice is refused."""
    values: dict[str, Any] = {}
    for name, value in pairs or []:
        if name in values:
            raise BadInput(f"{name} is given twice", option=option)
        values[name] = value
    return values


# --------------------------------------------------------------------------- layer expressions


def _literal(node: ast.expr, source: str) -> Any:
    """A whitelisted literal: numbers (with arithmetic), strings, bools, None, tuples, lists, and a
    nested layer call (``TransformerEncoder(TransformerEncoderLayer(512, 8), 6)``) as a LayerCall."""
    if isinstance(node, ast.Call):
        name = _callee_name(node.func)
        if name is None or not name[:1].isupper() or name == "Sequential":
            raise ValueError("not a layer")
        return _layer_call(node, name, source)
    if isinstance(node, ast.Constant):
        if isinstance(node.value, bool | str | type(None)):
            return node.value
        if isinstance(node.value, int):
            return node.value
        if isinstance(node.value, float):
            return node.value
        raise ValueError("unsupported constant")
    if isinstance(node, ast.Tuple | ast.List):
        return tuple(_literal(item, source) for item in node.elts)
    if isinstance(node, ast.UnaryOp | ast.BinOp):
        value = _evaluate_scalar(node, source, "layer", False)
        if value.denominator == 1 and not _has_float(node):
            return int(value)
        return float(value)
    raise ValueError("not a literal")


def _has_float(node: ast.expr) -> bool:
    return any(isinstance(n, ast.Constant) and isinstance(n.value, float) for n in ast.walk(node)) or any(
        isinstance(n, ast.BinOp) and isinstance(n.op, ast.Div) for n in ast.walk(node)
    )


def _callee_name(node: ast.expr) -> str | None:
    """``Conv2d``, ``nn.Conv2d`` or ``torch.nn.Conv2d`` -> ``Conv2d``; anything else -> None."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        base = node.value
        if isinstance(base, ast.Name) and base.id in ("nn", "torch"):
            return node.attr
        is_torch_nn = isinstance(base, ast.Attribute) and isinstance(base.value, ast.Name)
        if is_torch_nn and (base.value.id, base.attr) == ("torch", "nn"):  # type: ignore[union-attr]
            return node.attr
    return None


def _layer_calls(node: ast.expr, source: str, option: str) -> list[LayerCall]:
    if isinstance(node, ast.Tuple | ast.List):
        return [call for item in node.elts for call in _layer_calls(item, source, option)]
    segment = ast.get_source_segment(source, node) or ""
    name = _callee_name(node.func) if isinstance(node, ast.Call) else None
    if not isinstance(node, ast.Call) or name is None or not name[:1].isupper():
        raise BadInput(
            f"line {node.lineno}: expected a layer such as Conv2d(1, 16, 3), got {_quote(segment)}",
            option=option,
        )
    if name == "Sequential":
        if node.keywords:
            raise BadInput(f"line {node.lineno}: Sequential takes layers only", option=option)
        return [call for item in node.args for call in _layer_calls(item, source, option)]
    return [_layer_call(node, name, source, option)]


def _layer_call(node: ast.Call, name: str, source: str, option: str = "--net") -> LayerCall:
    segment = ast.get_source_segment(source, node) or ""
    try:
        args = tuple(_literal(arg, source) for arg in node.args)
        kwargs = {}
        for keyword in node.keywords:
            if keyword.arg is None:
                raise ValueError("**kwargs")
            kwargs[keyword.arg] = _literal(keyword.value, source)
    except (ValueError, TypeError, ZeroDivisionError, BadInput):
        raise BadInput(
            f"line {node.lineno}: arguments of {name} must be literal numbers, strings, booleans, "
            f"None or tuples; got {_quote(segment, 60)}",
            option=option,
        ) from None
    return LayerCall(name=name, args=args, kwargs=kwargs, source=segment, line=node.lineno)


def parse_layers(text: str, option: str = "--net") -> list[LayerCall]:
    """Layer calls from ``"Conv2d(1, 16, 3, padding=1); ReLU(); MaxPool2d(2)"`` or a file's text.

    Accepts one layer per line or ``;``-separated, ``#`` comments, an ``nn.``/``torch.nn.`` prefix,
    trailing commas, an ``nn.Sequential(...)`` wrapper and ``model = nn.Sequential(...)``.
    """
    text = _require_text(text, option, "Conv2d(1, 16, 3)")
    _check_length(text, option)
    source = text.strip()
    if not source:
        raise BadInput("expected one or more layers such as Conv2d(1, 16, 3), got nothing", option=option)
    try:
        module = ast.parse(source, mode="exec")
    except SyntaxError as error:
        column = f", column {error.offset}" if error.offset else ""
        raise BadInput(f"line {error.lineno}{column}: cannot parse layers: {error.msg}", option=option) from None
    except (ValueError, MemoryError, RecursionError):
        raise BadInput("cannot parse layers", option=option) from None
    calls: list[LayerCall] = []
    for statement in module.body:
        if isinstance(statement, ast.Expr) or (isinstance(statement, ast.Assign) and len(statement.targets) == 1):
            value = statement.value
        else:
            raise BadInput(f"line {statement.lineno}: expected a layer such as Conv2d(1, 16, 3)", option=option)
        calls.extend(_layer_calls(value, source, option))
    if not calls:
        raise BadInput("expected one or more layers", option=option)
    return calls


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


# --------------------------------------------------------------------------- multi-channel arrays (filter)


def _channels_from_array(array: Any, option: str) -> list[Matrix]:
    if array.ndim == 3:
        if 0 in array.shape:
            raise BadInput(f"expected a non-empty C x H x W array, got shape {list(array.shape)}", option=option)
        return [_matrix_from_array(array[index], option) for index in range(array.shape[0])]
    if array.ndim in (1, 2):
        return [_matrix_from_array(array, option)]
    raise BadInput(f"expected a 2-D (H x W) or 3-D (C x H x W) array, got shape {list(array.shape)}", option=option)


def _nested_channel_texts(text: str, option: str) -> list[str] | None:
    """The channel texts of a 3-level nested list ``[[[1,2],[3,4]], [[5,6],[7,8]]]``, else None."""
    node = _parse_expression(text, option, "a matrix")
    if not isinstance(node, ast.List | ast.Tuple) or not node.elts:
        return None

    def is_matrix(item: ast.expr) -> bool:
        return (
            isinstance(item, ast.List | ast.Tuple)
            and bool(item.elts)
            and all(isinstance(row, ast.List | ast.Tuple) for row in item.elts)
        )

    if not all(is_matrix(item) for item in node.elts):
        return None
    return [ast.get_source_segment(text, item) or "" for item in node.elts]


def parse_channels(text: str | list[Any], option: str) -> list[Matrix]:
    """A C x H x W stack of equally shaped matrices (C >= 1), one :class:`Matrix` per channel.

    Channels are typed as matrices separated by ``;;`` (``"1,2;3,4;;5,6;7,8"``), or as a 3-level
    nested list (``"[[[1,2],[3,4]],[[5,6],[7,8]]]"``), or read from ``@file.npy`` holding a 2-D or
    3-D array (``@file.txt``/``.csv`` and ``-`` may also use ``;;``). One plain matrix is one channel.
    A problem file gives a list of matrices (three levels of lists) or one matrix.
    """
    if not isinstance(text, str):
        three_levels = (
            isinstance(text, list | tuple)
            and bool(text)
            and all(isinstance(item, list | tuple) and item and isinstance(item[0], list | tuple) for item in text)
        )
        channels = [parse_matrix(item, option) for item in text] if three_levels else [parse_matrix(text, option)]
    elif text.startswith("@") and text.lower().endswith(".npy"):
        channels = _channels_from_array(load_array(text[1:], option), option)
    else:
        source = read_source(text, option)
        _check_length(source, option)
        stripped = source.strip()
        pieces = stripped.split(";;") if ";;" in stripped else None
        if pieces is None and stripped.startswith("[[["):
            pieces = _nested_channel_texts(stripped, option)
        if pieces is None:
            channels = [_matrix_from_source(source, text, option, False)]
        else:
            channels = []
            for index, piece in enumerate(pieces, 1):
                if not piece.strip():
                    raise BadInput(f"channel {index} is empty (channels are separated by ';;')", option=option)
                channels.append(_matrix_from_rows(_rows_from_text(piece, option, False), option))
    first = channels[0].shape
    for index, channel in enumerate(channels[1:], 2):
        if channel.shape != first:
            raise BadInput(
                f"channel 1 is {first[0]}x{first[1]} but channel {index} is {channel.shape[0]}x{channel.shape[1]}; "
                "all channels must have the same shape",
                option=option,
            )
    return channels


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


# --------------------------------------------------------------------------- whole inputs


def parse_network(text: str, option: str) -> list[LayerCall]:
    """Layers typed in place (``"Conv2d(1, 16, 3); ReLU()"``), or ``@file`` / ``-`` holding them."""
    return parse_layers(read_source(_require_text(text, option, "Conv2d(1, 16, 3)"), option), option)


def parse_network_file(path: str, option: str) -> list[LayerCall]:
    """Layers from the file at ``path``, one layer a line."""
    return parse_layers(read_source("@" + _require_text(path, option, "net.txt"), option), option)


def parse_source_file(path: str, option: str) -> SourceText:
    """The text of the file at ``path`` (``-``: standard input), with its name for messages."""
    path = _require_text(path, option, "train.py")
    return SourceText(read_source(path if path == "-" else "@" + path, option), "<stdin>" if path == "-" else path)


def parse_loss_series(text: str | list[float], option: str) -> LossSeries:
    """One ``--loss``: a typed run ``"2.3,1.9,1.7"`` (or a list), or ``@file.csv`` / ``-`` with a column per run."""
    if isinstance(text, str) and (text.startswith("@") or text == "-"):
        return LossSeries(parse_series_table(read_source(text, option), option), typed=False)
    return LossSeries([(None, parse_float_series(text, option))], typed=True)


# --------------------------------------------------------------------------- batched tensors (norm)


def parse_tensor(text: str | list[Any], option: str) -> Tensor:
    """A batch as PyTorch lays it out: ``N x C`` (a matrix), ``N,C,L`` or ``N,C,H,W``.

    ``"1,2;3,4"`` is N x C; ``;;`` separates the N samples of an N,C,L batch, each a C x L matrix
    (``"1,2;3,4;;5,6;7,8"`` is 2x2x2); ``;;;`` separates the N samples of an N,C,H,W batch, each
    C channels of H x W separated by ``;;``; a batch of one sample ends with its separator
    (``"1,2;3,4;;"`` is 1x2x2). ``@file.npy`` holds an array of 2 to 5 dimensions. A problem file
    gives nested lists of 2 to 4 levels.
    """
    import numpy as np

    if not isinstance(text, str):
        return _typed_tensor(text, option)
    if text.startswith("@") and text.lower().endswith(".npy"):
        array = load_array(text[1:], option)
        if not 2 <= array.ndim <= 5 or array.size == 0 or array.dtype.kind not in "biuf":
            raise BadInput(f"expected a non-empty numeric array of 2 to 5 dimensions, got {array.shape}", option=option)
        if array.dtype.kind == "f" and not np.all(np.isfinite(array)):
            raise BadInput("the array contains NaN or infinite entries", option=option)
        if array.dtype.kind in "biu" and array.size <= LARGE_ENTRIES:
            from fractions import Fraction

            return Tensor(array.shape, tuple(Fraction(int(v)) for v in array.ravel().tolist()))
        return Tensor(array.shape, tuple(float(v) for v in array.ravel().tolist()))
    source = read_source(text, option).strip()
    pieces = source.split(";;;")
    if len(pieces) > 1:
        samples = [parse_channels(piece, option) for piece in (pieces[:-1] if not pieces[-1].strip() else pieces)]
        shapes = {(len(sample), *sample[0].shape) for sample in samples}
        if len(shapes) > 1:
            raise BadInput(f"the samples (separated by ';;;') differ in shape: {sorted(shapes)}", option=option)
        matrices = [matrix for sample in samples for matrix in sample]
        shape: tuple[int, ...] = (len(samples), *shapes.pop())
    elif ";;" in source:
        trimmed = source[:-2] if source.endswith(";;") else source
        matrices = parse_channels(trimmed, option) if ";;" in trimmed else [parse_matrix(trimmed, option)]
        shape = (len(matrices), *matrices[0].shape)
    else:
        matrices = [parse_matrix(source, option)]
        shape = matrices[0].shape
    return Tensor(shape, tuple(v for matrix in matrices for row in matrix.tolist() for v in row))


def _typed_tensor(value: Any, option: str) -> Tensor:
    """A tensor from nested lists (2 to 4 levels), every sub-list of one level the same length."""
    depth, probe = 0, value
    while isinstance(probe, list | tuple) and probe:
        depth, probe = depth + 1, probe[0]
    if depth < 2:
        return _typed_tensor([value if isinstance(value, list | tuple) else [value]], option)
    if depth > 4:
        raise BadInput(f"expected 2 to 4 levels of lists (N x C, N,C,L or N,C,H,W), got {depth}", option=option)
    if depth == 2:
        matrices = [parse_matrix(value, option)]
        shape: tuple[int, ...] = matrices[0].shape
    elif depth == 3:
        matrices = parse_channels(value, option)
        shape = (len(matrices), *matrices[0].shape)
    else:
        samples = [parse_channels(sample, option) for sample in value]
        shapes = {(len(sample), *sample[0].shape) for sample in samples}
        if len(shapes) > 1:
            raise BadInput(f"the samples differ in shape: {sorted(shapes)}", option=option)
        matrices = [matrix for sample in samples for matrix in sample]
        shape = (len(samples), *shapes.pop())
    return Tensor(shape, tuple(v for matrix in matrices for row in matrix.tolist() for v in row))


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
