"""Formatting of exact and floating-point numbers, vectors and matrices as text and LaTeX.

Pure functions used by solvers to write step text; no terminal styling here (that is the
renderers' job). Exact values are :class:`fractions.Fraction` (or ``int``); a non-integer exact
value is shown with its decimal beside it, e.g. ``1/3 ≈ 0.333333``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

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
    """The exact form: ``3``, ``-1/3``, ``0.25`` (a short terminating decimal); a float (not exact)
    to :data:`DECIMAL_DIGITS` significant digits."""
    if isinstance(value, float):
        return decimal(value)
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
    """LaTeX of an exact value: ``\\frac{1}{3}``, ``-\\frac{2}{5}``, ``0.25``, ``7``; a float to
    :data:`DECIMAL_DIGITS` significant digits."""
    if isinstance(value, float):
        return decimal(value)
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


# --------------------------------------------------------------------------- board notation

_SUPERSCRIPTS = str.maketrans("0123456789-", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻")
_GREEK = {
    "alpha": "α", "beta": "β", "gamma": "γ", "delta": "δ", "epsilon": "ε", "eta": "η", "theta": "θ",
    "lambda": "λ", "mu": "μ", "rho": "ρ", "sigma": "σ", "tau": "τ", "omega": "ω",
}  # fmt: skip


def superscript(power: int) -> str:
    """``x`` to the ``power`` as a board writes it: ``²``, ``³``, ``⁻¹``."""
    return str(power).translate(_SUPERSCRIPTS)


def minus(text: str) -> str:
    """Plain text with the minus sign ``−`` (U+2212) where a hyphen stands for one: before a digit
    at the start, after a space or an opening bracket, and in `` - `` between terms."""
    import re

    text = re.sub(r"(^|[\s(\[,=])-(?=[\d.√(a-zA-Zα-ω])", "\\1−", text)
    return text.replace(" - ", " − ")


def symbol_name(name: str) -> str:
    """A symbol's name in board notation: ``lambda_max`` -> ``λ_max``, ``eta`` -> ``η``, ``R^2`` -> ``R²``."""
    head, sep, tail = name.partition("_")
    return (_GREEK.get(head, head) + sep + tail).replace("^2", "²")


def symbolic(expr: object) -> str:
    """A SymPy expression as the board writes it: ``1 − √3/3``, ``λ_min²/(R²·λ_max)``,
    ``−4·R²·η²·λ_max + 4·η·λ_min``: ``·`` for products, ``√`` for square roots, superscript
    powers, Greek letters for their names, the minus sign ``−`` (never ``**``, ``*`` or ``sqrt``)."""
    import sympy
    from sympy.printing.precedence import precedence
    from sympy.printing.str import StrPrinter

    class Board(StrPrinter):
        def _print_Symbol(self, expr: sympy.Symbol) -> str:
            return symbol_name(expr.name)

        def _print_Pow(self, expr: sympy.Pow, rational: bool = False) -> str:
            base, power = expr.as_base_exp()
            if power == sympy.S.Half:
                return "√" + self.parenthesize(base, precedence(expr) + 1)
            if power == -sympy.S.Half:
                return "1/√" + self.parenthesize(base, precedence(expr) + 1)
            if power.is_Integer and int(power) > 1:
                return self.parenthesize(base, precedence(expr) + 1) + superscript(int(power))
            return super()._print_Pow(expr, rational)

        def _print_Mul(self, expr: sympy.Mul) -> str:
            return super()._print_Mul(expr).replace("*", "·")

        def _print_Add(self, expr: sympy.Add, order: str | None = None) -> str:
            if expr.free_symbols:  # a formula keeps SymPy's order
                return super()._print_Add(expr, order)
            # a number: positive terms first, the rational part first (1 + √3/3, 5√3/6 − 1/2)
            terms = sorted(expr.as_ordered_terms(), key=lambda t: (t.could_extract_minus_sign(), not t.is_Rational))
            text = ""
            for index, term in enumerate(terms):
                negative = term.could_extract_minus_sign()
                shown = self.parenthesize(-term if negative else term, precedence(expr), strict=False)
                text += ("-" if negative else "") + shown if index == 0 else (" - " if negative else " + ") + shown
            return text

        def _print_Exp1(self, expr: object) -> str:
            return "e"

        def _print_exp(self, expr: sympy.exp) -> str:  # e², e^(√2/2), never exp(...)
            (power,) = expr.args
            if power.is_Integer and int(power) > 0:
                return "e" + (superscript(int(power)) if power != 1 else "")
            return f"e^({self._print(power)})"

    return minus(Board().doprint(_as_sympy(expr)))


def _as_sympy(expr: object) -> Any:
    """A SymPy value from a SymPy expression or a number: never from text (nothing is parsed)."""
    import sympy

    if isinstance(expr, sympy.Basic):
        return expr
    if isinstance(expr, bool) or (not isinstance(expr, int | float) and type(expr).__name__ != "Fraction"):
        raise TypeError(f"expected a SymPy expression or a number, got {type(expr).__name__}")
    if isinstance(expr, int):
        return sympy.Integer(expr)
    if isinstance(expr, float):
        return sympy.Float(expr)
    return sympy.Rational(expr.numerator, expr.denominator)  # type: ignore[attr-defined]


def symbolic_number(expr: object) -> str:
    """An exact real from SymPy with its decimal when it is not a plain decimal: ``1 − √3/3 ≈ 0.42265``."""

    value = _as_sympy(expr)
    if value.is_Rational:
        from fractions import Fraction

        return minus(number(Fraction(int(value.p), int(value.q))))
    return f"{symbolic(value)} ≈ {minus(decimal(float(value)))}"


#: The derivation's symbols in LaTeX (SymPy names -> LaTeX).
_SYMBOL_LATEX = {"lambda_min": r"\lambda_{\min}", "lambda_max": r"\lambda_{\max}", "R^2": "R^2"}


def symbolic_latex(expression: object) -> str:
    """LaTeX of a SymPy expression with the derivation's symbols typeset (``\\lambda_{\\min}``, ``R^2``),
    positive terms first."""
    import sympy

    names = {s: _SYMBOL_LATEX[s.name] for s in expression.free_symbols if s.name in _SYMBOL_LATEX}  # type: ignore[attr-defined]
    return sympy.latex(expression, symbol_names=names, order="old")
