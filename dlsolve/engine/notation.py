"""How the engine's values and nodes are written on the board: text and LaTeX.

Exact values: Fractions as ``fmt`` writes them (``1/3 ≈ 0.333333``); SymPy values in one line of
mathematical notation (``1/(1 + e⁻²) ≈ 0.880797``, ``√2``, ``ln(3)``), never SymPy's ``**`` or
``exp(...)`` reprs; floats with about six significant digits. Vectors ``[1, 2]``, matrices as rows
``[[1, 2], [3, 4]]``.
"""

from __future__ import annotations

import re
from fractions import Fraction
from typing import Any

from dlsolve import fmt

#: A SymPy value longer than this is shown by its decimal only (the exact string stays in --json).
LONG_EXACT = 36

_SUPERSCRIPT = str.maketrans("0123456789-", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻")


def is_symbolic(value: Any) -> bool:
    """True for a SymPy value (not a Fraction, int or float)."""
    return not isinstance(value, Fraction | int | float) and hasattr(value, "free_symbols")


def sympy_text(expr: Any) -> str:
    """One line of mathematical notation for a SymPy expression."""
    from sympy import sstr

    text = sstr(expr)
    text = re.sub(r"exp\((-?\d+)\)", lambda m: "e" + m.group(1).translate(_SUPERSCRIPT), text)
    text = re.sub(r"\*\*(\d)\b", lambda m: m.group(1).translate(_SUPERSCRIPT), text)
    text = re.sub(r"sqrt\((\w+)\)", r"√\1", text)
    text = text.replace("sqrt(", "√(").replace("log(", "ln(").replace("exp(", "e^(").replace("**", "^")
    text = text.replace("*", "·").replace("E", "e")
    return text.replace("-", "−")


def to_float(value: Any) -> float:
    """A float from a Fraction, float or numeric SymPy value."""
    if is_symbolic(value):
        return float(value.evalf(17))
    return float(value)


def entry_text(value: Any) -> str:
    """One entry, exact where it is exact (no decimal beside)."""
    if is_symbolic(value):
        text = sympy_text(value)
        return text if len(text) <= LONG_EXACT else "≈ " + fmt.decimal(to_float(value)).replace("-", "−")
    if isinstance(value, float) or not fmt.is_exact(value):
        return fmt.decimal(float(value)).replace("-", "−")
    return fmt.exact(value).replace("-", "−")


def scalar_text(value: Any) -> str:
    """A scalar with its decimal beside where the exact form is not already a short decimal."""
    if is_symbolic(value):
        text = sympy_text(value)
        decimal = fmt.decimal(to_float(value)).replace("-", "−")
        return f"{text} ≈ {decimal}" if len(text) <= LONG_EXACT else f"≈ {decimal}"
    if isinstance(value, float) or not fmt.is_exact(value):
        return fmt.decimal(float(value)).replace("-", "−")
    return fmt.number(value).replace("-", "−")


def value_text(array: Any) -> str:
    """A 0-d, 1-D or 2-D array: a scalar (with decimal), ``[a, b]`` or ``[[a, b], [c, d]]``."""
    if array.ndim == 0:
        return scalar_text(array.item() if hasattr(array, "item") else array)
    if array.ndim == 1:
        return "[" + ", ".join(entry_text(v) for v in array.tolist()) + "]"
    return "[" + ", ".join(value_text(row) for row in array) + "]"


def entry_latex(value: Any) -> str:
    if is_symbolic(value):
        from sympy import latex

        text = latex(value)
        return text if len(text) <= 2 * LONG_EXACT else r"\approx " + fmt.decimal(to_float(value))
    if isinstance(value, float) or not fmt.is_exact(value):
        return fmt.decimal(float(value))
    return fmt.latex_number(value)


def value_latex(array: Any) -> str:
    """LaTeX of a value: a number, a row vector or a bmatrix."""
    if array.ndim == 0:
        return entry_latex(array.item())
    if array.ndim == 1:
        return r"\begin{bmatrix} " + " & ".join(entry_latex(v) for v in array.tolist()) + r" \end{bmatrix}"
    body = r" \\ ".join(" & ".join(entry_latex(v) for v in row) for row in array.tolist())
    return r"\begin{bmatrix} " + body + r" \end{bmatrix}"


def exact_string(value: Any) -> str:
    """A string SymPy can parse back (``1/3``, ``1/(1 + exp(-2))``)."""
    if is_symbolic(value):
        from sympy import sstr

        return sstr(value)
    return fmt.exact(value) if fmt.is_exact(value) else repr(float(value))


def json_value(array: Any, convert: Any) -> Any:
    """A nested list (or a scalar) of ``convert(entry)`` for a 0-d, 1-D or 2-D array."""
    if array.ndim == 0:
        return convert(array.item())
    return [json_value(row, convert) for row in array]


def json_number(value: Any) -> int | float:
    """A JSON number: ints stay ints (exact whole values), everything else a float."""
    if isinstance(value, Fraction) and value.denominator == 1:
        return int(value.numerator)
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    return to_float(value)


def shape_note(shape: tuple[int, ...]) -> str:
    """``2×3`` for a matrix, ``3`` for a vector, empty for a scalar."""
    return "×".join(str(d) for d in shape)
