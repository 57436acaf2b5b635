"""Exact values of the form ``a + b·√c`` (``a``, ``b`` rational, ``c`` a square-free integer).

Enough for the exact learning rates of cosine schedules (cos(πk/T) for T dividing 4 or 6 is
0, ±1, ±1/2, ±√2/2 or ±√3/2) and for square roots of small rationals (Adam's √v̂ on the board).
Anything else stays a float: :func:`cos_pi` and :func:`sqrt` return ``None`` when no such form
exists, and the caller falls back to floating point.
"""

from __future__ import annotations

import math
from fractions import Fraction

from dlsolve import fmt
from dlsolve.solution import FrozenRecord

#: Largest integer whose square part :func:`sqrt` looks for by trial division.
MAX_EXACT_ROOT = 10**12


class Surd(FrozenRecord):
    """``rational + coefficient·√radicand``; ``radicand`` is 1 (no root) or square-free > 1."""

    _fields = ("rational", "coefficient", "radicand")

    def __init__(self, rational: Fraction, coefficient: Fraction = Fraction(0), radicand: int = 1) -> None:
        if radicand == 1 or coefficient == 0:
            rational, coefficient, radicand = rational + coefficient * (radicand == 1), Fraction(0), 1
        object.__setattr__(self, "rational", Fraction(rational))
        object.__setattr__(self, "coefficient", Fraction(coefficient))
        object.__setattr__(self, "radicand", radicand)

    @property
    def is_rational(self) -> bool:
        return self.radicand == 1

    def __float__(self) -> float:
        return float(self.rational) + float(self.coefficient) * math.sqrt(self.radicand)

    def scale(self, factor: Fraction) -> Surd:
        """``factor·(a + b√c)``."""
        return Surd(self.rational * factor, self.coefficient * factor, self.radicand)

    def shift(self, offset: Fraction) -> Surd:
        """``offset + a + b√c``."""
        return Surd(self.rational + offset, self.coefficient, self.radicand)

    def exact_text(self) -> str:
        """``1/20 + √2/40``, ``3√2/4``, ``−√3/2``; a rational alone as :func:`dlsolve.fmt.exact`."""
        if self.is_rational:
            return fmt.exact(self.rational)
        root = _root_term(abs(self.coefficient), self.radicand)
        if self.rational == 0:
            return ("−" if self.coefficient < 0 else "") + root
        sign = " − " if self.coefficient < 0 else " + "
        return fmt.exact(self.rational).replace("-", "−") + sign + root

    def text(self) -> str:
        """The exact form with a short decimal beside where they differ: ``√2/2 ≈ 0.707107``."""
        if self.is_rational:
            return fmt.number(self.rational)
        return f"{self.exact_text()} ≈ {fmt.decimal(float(self))}"

    def latex(self) -> str:
        """LaTeX of the exact form."""
        if self.is_rational:
            return fmt.latex_number(self.rational)
        magnitude = abs(self.coefficient)
        numerator = "" if magnitude.numerator == 1 else str(magnitude.numerator)
        root = f"{numerator}\\sqrt{{{self.radicand}}}"
        term = root if magnitude.denominator == 1 else f"\\frac{{{root}}}{{{magnitude.denominator}}}"
        if self.rational == 0:
            return ("-" if self.coefficient < 0 else "") + term
        return fmt.latex_number(self.rational) + (" - " if self.coefficient < 0 else " + ") + term


def _root_term(magnitude: Fraction, radicand: int) -> str:
    numerator = "" if magnitude.numerator == 1 else str(magnitude.numerator)
    root = f"{numerator}√{radicand}"
    return root if magnitude.denominator == 1 else f"{root}/{magnitude.denominator}"


_SUPERSCRIPT = str.maketrans("0123456789-", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻")


def _powers_of_ten(text: str) -> str:
    """``4e-7`` as a board writes it, ``4·10⁻⁷`` (``1e-8``: ``10⁻⁸``); other text unchanged."""
    import re

    def power(match: re.Match[str]) -> str:
        mantissa = match.group(1)
        return ("" if mantissa == "1" else mantissa + "·") + "10" + match.group(2).translate(_SUPERSCRIPT)

    return re.sub(r"(\d+(?:\.\d+)?)e(-?\d+)", power, text)


def _powers_latex(text: str) -> str:
    import re

    def power(match: re.Match[str]) -> str:
        mantissa = match.group(1)
        return ("" if mantissa == "1" else mantissa + r" \cdot ") + "10^{" + match.group(2) + "}"

    return re.sub(r"(\d+(?:\.\d+)?)e(-?\d+)", power, text)


def value_text(value: Fraction | Surd | float) -> str:
    """Any schedule or optimizer value on the board: exact with a decimal beside, or a short decimal."""
    if isinstance(value, Surd):
        return value.text()
    if isinstance(value, float):
        return _powers_of_ten(fmt.decimal(value))
    return _powers_of_ten(fmt.number(value))


def value_latex(value: Fraction | Surd | float) -> str:
    if isinstance(value, Surd):
        return value.latex()
    if isinstance(value, float):
        return _powers_latex(fmt.decimal(value))
    return _powers_latex(fmt.latex_number(value))


#: cos(π·k/T) for the reduced fractions k/T in [0, 2) with T in {1, 2, 3, 4, 6}: (rational, coefficient, radicand).
_HALF = Fraction(1, 2)
_COS_TABLE: dict[Fraction, tuple[Fraction, Fraction, int]] = {
    Fraction(0): (Fraction(1), Fraction(0), 1),
    Fraction(1, 6): (Fraction(0), _HALF, 3),
    Fraction(1, 4): (Fraction(0), _HALF, 2),
    Fraction(1, 3): (_HALF, Fraction(0), 1),
    Fraction(1, 2): (Fraction(0), Fraction(0), 1),
}


def cos_pi(ratio: Fraction) -> Surd | None:
    """``cos(π·ratio)`` exactly when ``ratio``'s reduced denominator divides 4 or 6, else ``None``."""
    if 12 % ratio.denominator or ratio.denominator == 12:
        return None
    reduced = ratio % 2  # cos has period 2π
    sign = 1
    if reduced > 1:  # cos(π(2 − x)) = cos(πx)
        reduced = 2 - reduced
    if reduced > _HALF:  # cos(π(1 − x)) = −cos(πx)
        reduced, sign = 1 - reduced, -1
    rational, coefficient, radicand = _COS_TABLE[reduced]
    return Surd(sign * rational, sign * coefficient, radicand)


def _square_part(n: int) -> tuple[int, int]:
    """``(s, r)`` with ``n = s²·r`` and ``r`` square-free (trial division; ``n <= MAX_EXACT_ROOT``)."""
    square, rest, p = 1, n, 2
    while p * p <= rest:
        while rest % (p * p) == 0:
            rest //= p * p
            square *= p
        p += 1 if p == 2 else 2
    return square, rest


def sqrt(value: Fraction) -> Surd | None:
    """``√value`` as ``b·√c`` for a rational ``value >= 0`` of moderate size, else ``None``."""
    if value < 0 or value.numerator > MAX_EXACT_ROOT or value.denominator > MAX_EXACT_ROOT:
        return None
    # √(p/q) = √(p·q)/q
    product = value.numerator * value.denominator
    if product > MAX_EXACT_ROOT:
        return None
    square, rest = _square_part(product)
    return (
        Surd(Fraction(0), Fraction(square, value.denominator), rest)
        if rest != 1
        else Surd(Fraction(square, value.denominator))
    )


def exact_text(value: Fraction | Surd | float) -> str:
    """The exact form alone (for substitutions inside a formula): ``1/3``, ``√2/2``; a float as a short decimal."""
    if isinstance(value, Surd):
        return value.exact_text()
    if isinstance(value, float):
        return _powers_of_ten(fmt.decimal(value))
    return _powers_of_ten(fmt.exact(value)).replace("-", "−")
