"""fmt: exact and decimal forms, including values beyond float range."""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dlsolve import fmt


@pytest.mark.parametrize(
    ("value", "exact", "number"),
    [
        (Fraction(1, 3), "1/3", "1/3 ≈ 0.333333"),
        (Fraction(1, 4), "0.25", "0.25"),
        (Fraction(-2, 5), "-0.4", "-0.4"),
        (Fraction(7), "7", "7"),
        (Fraction(100, 111), "100/111", "100/111 ≈ 0.900901"),
        (3, "3", "3"),
    ],
)
def test_exact_and_number(value: Fraction, exact: str, number: str) -> None:
    assert fmt.exact(value) == exact
    assert fmt.number(value) == number


def test_latex() -> None:
    assert fmt.latex_number(Fraction(-2, 3)) == r"-\frac{2}{3}"
    assert fmt.latex_matrix([[1, Fraction(1, 2)], [0, 3]]) == r"\begin{bmatrix} 1 & 0.5 \\ 0 & 3 \end{bmatrix}"


def test_values_beyond_float_range() -> None:
    huge = Fraction(10**400, 3)
    assert fmt.decimal(huge) == "3.33333e399"
    assert fmt.number(huge).endswith("≈ 3.33333e399")
    assert fmt.json_number(huge) == fmt.exact(huge)
    tiny = Fraction(1, 3 * 10**400)
    assert fmt.decimal(tiny) == "3.33333e-401"


@given(st.fractions())
def test_exact_form_parses_back(value: Fraction) -> None:
    from dlsolve.parsing import parse_scalar

    assert parse_scalar(fmt.exact(value), "--x") == value
    assert isinstance(fmt.json_number(value), int | float)


def test_floats_show_about_six_significant_digits() -> None:
    """No 12-digit decimals on the board: a float is not exact, its short decimal is its form."""
    assert fmt.exact(0.42264973081) == "0.42265"
    assert fmt.exact(0.0669872981078) == "0.0669873"
    assert fmt.latex_number(1.57735026919) == "1.57735"
    assert fmt.number(2.5) == "2.5"


def test_symbolic_board_notation() -> None:
    """SymPy expressions as a TA writes them: no ``**``, ``*``, ``sqrt`` or ASCII Greek names."""
    import sympy

    radius, eta, big, small = sympy.symbols("R eta lambda_max lambda_min")
    assert fmt.symbolic(-4 * radius**2 * eta**2 * big + 4 * eta * small) == "−4·R²·η²·λ_max + 4·η·λ_min"
    assert fmt.symbolic(small**2 / (radius**2 * big)) == "λ_min²/(R²·λ_max)"
    assert fmt.symbolic_number(1 - 1 / sympy.sqrt(3)) == "1 − √3/3 ≈ 0.42265"
    assert fmt.symbolic_number(sympy.Rational(1, 3)) == "1/3 ≈ 0.333333"
    assert fmt.minus("[1, 0, -1] and x - y") == "[1, 0, −1] and x − y"
    assert fmt.superscript(-1) == "⁻¹"
