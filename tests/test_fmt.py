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
