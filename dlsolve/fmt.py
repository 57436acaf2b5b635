"""Formatting of exact and floating-point numbers, vectors and matrices as text and LaTeX.

Pure functions used by solvers to write step text; no terminal styling here (that is the
renderers' job). Exact values are :class:`fractions.Fraction` (or ``int``); a non-integer exact
value is shown with its decimal beside it, e.g. ``1/3 ≈ 0.333333``.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    # Start-up cost: ``fractions`` (with ``decimal`` and ``numbers``) is imported by the functions
    # that need it; ``conv-shape`` with whole numbers never does.
    from fractions import Fraction

    Number = int | float | Fraction

DECIMAL_DIGITS = 6


def is_exact(value: object) -> bool:
    """True for ints and Fractions (not bools, not floats)."""
    from fractions import Fraction

    return isinstance(value, int | Fraction) and not isinstance(value, bool)


def decimal(value: Number, digits: int = DECIMAL_DIGITS) -> str:
    """``value`` as a short decimal: up to ``digits`` significant digits, no trailing zeros."""
    try:
        number = float(value)
    except OverflowError:  # an exact value beyond float range: format it with Decimal instead
        return _big_decimal(value, digits)
    if number == 0:
        return "0" if value == 0 else _big_decimal(value, digits)
    if number != number or number in (float("inf"), float("-inf")):
        return str(number)
    text = f"{number:.{digits}g}"
    if "e" in text:
        mantissa, exponent = text.split("e")
        return f"{mantissa}e{int(exponent)}"
    return text


def _big_decimal(value: Number, digits: int) -> str:
    import decimal as decimal_module
    from fractions import Fraction

    value = Fraction(value)
    context = decimal_module.Context(prec=digits)
    quotient = context.divide(decimal_module.Decimal(value.numerator), decimal_module.Decimal(value.denominator))
    mantissa, _, exponent = f"{quotient:e}".partition("e")
    mantissa = mantissa.rstrip("0").rstrip(".") if "." in mantissa else mantissa
    return f"{mantissa}e{int(exponent)}"


def _terminates(value: Fraction) -> bool:
    denominator = value.denominator
    for prime in (2, 5):
        while denominator % prime == 0:
            denominator //= prime
    return denominator == 1


def exact(value: Number) -> str:
    """The exact form: ``3``, ``-1/3``, ``0.25`` (a short terminating decimal) or a float's repr."""
    if isinstance(value, float):
        return decimal(value, 12)
    from fractions import Fraction

    value = Fraction(value)
    if value.denominator == 1:
        return str(value.numerator)
    if _terminates(value):
        text = decimal(value, 15)
        if Fraction(text) == value and len(text) <= 10:
            return text
    return f"{value.numerator}/{value.denominator}"


def number(value: Number) -> str:
    """Exact and decimal together where they differ: ``1/3 ≈ 0.333333``, ``0.25``, ``7``."""
    shown = exact(value)
    if isinstance(value, float) or "/" not in shown:
        return shown
    return f"{shown} ≈ {decimal(value)}"


def latex_number(value: Number) -> str:
    """LaTeX of an exact value: ``\\frac{1}{3}``, ``-\\frac{2}{5}``, ``0.25``, ``7``."""
    if isinstance(value, float):
        return decimal(value, 12)
    from fractions import Fraction

    value = Fraction(value)
    shown = exact(value)
    if "/" not in shown:
        return shown
    sign = "-" if value < 0 else ""
    return f"{sign}\\frac{{{abs(value.numerator)}}}{{{value.denominator}}}"


def shape(dims: Iterable[int]) -> str:
    """``[32, 128, 26, 26]``."""
    return "[" + ", ".join(str(d) for d in dims) + "]"


def vector(values: Sequence[Number], *, with_decimal: bool = False) -> str:
    """``[1, 1/10, 1/100]``; with ``with_decimal`` each entry as ``number`` does."""
    show = number if with_decimal else exact
    return "[" + ", ".join(show(v) for v in values) + "]"


def matrix(rows: Sequence[Sequence[Number]], *, indent: str = "") -> str:
    """Rows of right-aligned exact entries, one line per row."""
    cells = [[exact(v) for v in row] for row in rows]
    if not cells:
        return indent + "[]"
    widths = [max(len(row[j]) for row in cells) for j in range(max(map(len, cells)))]
    lines = ["  ".join(c.rjust(w) for c, w in zip(row, widths, strict=False)) for row in cells]
    return "\n".join(indent + "[ " + line + " ]" for line in lines)


def latex_matrix(rows: Sequence[Sequence[Number]], environment: str = "bmatrix") -> str:
    """``\\begin{bmatrix} 1 & 2 \\\\ 3 & 4 \\end{bmatrix}``."""
    body = r" \\ ".join(" & ".join(latex_number(v) for v in row) for row in rows)
    return f"\\begin{{{environment}}} {body} \\end{{{environment}}}"


def latex_vector(values: Sequence[Number]) -> str:
    """A column vector in LaTeX."""
    return latex_matrix([[v] for v in values])


def json_number(value: Number) -> int | float | str:
    """An exact or float value as JSON: ints stay ints, other values become floats.

    A non-integer exact value beyond float range (|x| > 1.8e308) becomes its exact string.
    """
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    from fractions import Fraction

    if isinstance(value, Fraction) and value.denominator == 1:
        return value.numerator
    try:
        return float(value)
    except OverflowError:
        return exact(value)


#: How symbols of derived formulas are written (SymPy names -> maths).
_SYMBOL_TEXT = {"eta": "η", "lambda_min": "λ_min", "lambda_max": "λ_max", "beta": "β", "R^2": "R²", "rho": "ρ"}
_SYMBOL_LATEX = {"lambda_min": r"\lambda_{\min}", "lambda_max": r"\lambda_{\max}", "R^2": "R^2"}
_SUPERSCRIPTS = str.maketrans("0123456789-", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻")


def symbolic(expression: object) -> str:
    """A SymPy expression as one line of maths text: ``1 − √3/3``, ``4·η·λ_min − 4·R²·η²·λ_max``.

    Roots as ``√``, integer powers as superscripts, ``·`` for products, ``−`` for minus, Greek
    letters for the derivation's symbols; positive terms first. Imports SymPy (callers have it loaded).
    """
    return _maths_printer().doprint(expression).replace("-", "−")


def symbolic_latex(expression: object) -> str:
    """LaTeX of a SymPy expression with the derivation's symbols typeset (``\\lambda_{\\min}``, ``R^2``),
    positive terms first."""
    import sympy

    names = {symbol: _SYMBOL_LATEX[symbol.name] for symbol in expression.free_symbols if symbol.name in _SYMBOL_LATEX}  # type: ignore[attr-defined]
    return sympy.latex(expression, symbol_names=names, order="old")


def symbolic_number(expression: object) -> str:
    """An exact (irrational) SymPy number with its short decimal: ``1 − √3/3 ≈ 0.42265``."""
    return f"{symbolic(expression)} ≈ {decimal(float(expression))}"  # type: ignore[arg-type]


@functools.cache
def _maths_printer() -> object:
    import re

    from sympy import Integer, Rational
    from sympy.printing.precedence import precedence
    from sympy.printing.str import StrPrinter

    class MathsPrinter(StrPrinter):
        def _print_Exp1(self, expr: object) -> str:
            return "e"

        def _print_exp(self, expr: object) -> str:
            (power,) = expr.args  # type: ignore[attr-defined]
            if isinstance(power, Integer) and power > 0:
                return "e" + ("" if power == 1 else str(int(power)).translate(_SUPERSCRIPTS))
            return f"e^({self._print(power)})"

        def _print_Symbol(self, expr: object) -> str:
            name = str(expr)
            return _SYMBOL_TEXT.get(name, name)

        def _print_Pow(self, expr: object, rational: bool = False) -> str:
            base, exponent = expr.as_base_exp()  # type: ignore[attr-defined]
            inner = self.parenthesize(base, precedence(expr), strict=False)
            if exponent == Rational(1, 2):
                return f"√{inner}"
            if exponent == Rational(-1, 2):
                return f"1/√{inner}"
            if isinstance(exponent, Integer) and exponent > 0:
                return inner + str(int(exponent)).translate(_SUPERSCRIPTS)
            if isinstance(exponent, Integer):
                return f"1/{inner}{str(-int(exponent)).translate(_SUPERSCRIPTS) if exponent != -1 else ''}"
            return f"{inner}^({self._print(exponent)})"

        def _print_Mul(self, expr: object) -> str:
            text = super()._print_Mul(expr).replace("*", "·")
            return re.sub(r"(?<![\w.])(\d+)·(?=[^\d(])", r"\1", text)  # 5√3/6, 4η, but 2·3

        def _print_Add(self, expr: object, order: str | None = None) -> str:
            terms = list(expr.as_ordered_terms())  # type: ignore[attr-defined]
            # positive terms first, numbers before the rest: 1 + √3/3, 4·η·λ_min − 4·R²·η²·λ_max
            terms.sort(key=lambda term: (term.could_extract_minus_sign(), not term.is_Rational))
            text = ""
            for index, term in enumerate(terms):
                negative = term.could_extract_minus_sign()
                shown = self.parenthesize(-term if negative else term, precedence(expr), strict=False)
                if index == 0:
                    text = f"-{shown}" if negative else shown
                else:
                    text += f" - {shown}" if negative else f" + {shown}"
            return text

    return MathsPrinter()
