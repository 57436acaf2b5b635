"""parsing.py: exact numbers, matrices, files, layers; and that user text is never executed."""

from __future__ import annotations

import contextlib
import io
import os
import sys
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from dlsolve.errors import BadInput
from dlsolve.parsing import (
    LARGE_ENTRIES,
    parse_choice,
    parse_int,
    parse_int_list,
    parse_layers,
    parse_matrix,
    parse_scalar,
    parse_vector,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("3", Fraction(3)),
        ("-0.25", Fraction(-1, 4)),
        ("0.1", Fraction(1, 10)),
        ("3/7", Fraction(3, 7)),
        ("1e-3", Fraction(1, 1000)),
        ("1.5E2", Fraction(150)),
        ("1/(4*3)", Fraction(1, 12)),
        ("2**-3", Fraction(1, 8)),
        ("-(1/3) + 1", Fraction(2, 3)),
        (" 7 ", Fraction(7)),
        ("1_000", Fraction(1000)),
    ],
)
def test_scalars_are_exact(text: str, expected: Fraction) -> None:
    value = parse_scalar(text, "--x")
    assert value == expected
    assert isinstance(value, Fraction)


@pytest.mark.parametrize(
    "text",
    ["", "abc", "1/0", "1 +", "sqrt(2)", "1j", "'3'", "True", "[1]", "9**9**9", "inf", "nan", "x.y", "2**0.5"],
)
def test_bad_scalars_name_the_option(text: str) -> None:
    with pytest.raises(BadInput) as caught:
        parse_scalar(text, "--eta")
    assert caught.value.option == "--eta"
    assert "\n" not in str(caught.value)


def test_inf_only_where_allowed() -> None:
    assert parse_scalar("-inf", "--mask", allow_inf=True) == -float("inf")


@pytest.mark.parametrize(
    "payload",
    [
        "__import__('os').system('touch {marker}')",
        "open('{marker}', 'w')",
        "(lambda: __import__('os').system('touch {marker}'))()",
        "[c for c in ().__class__.__base__.__subclasses__()]",
        'exec(\'open("{marker}", "w")\')',
    ],
)
def test_user_text_is_never_executed(payload: str, tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    text = payload.format(marker=marker)
    for parse in (
        lambda: parse_scalar(text, "--x"),
        lambda: parse_matrix(text, "--x"),
        lambda: parse_matrix(f"[[{text}]]", "--x"),
        lambda: parse_layers(text),
        lambda: parse_layers(f"Conv2d({text}, 1, 3)"),
        lambda: parse_int_list(text, "--in"),
    ):
        with pytest.raises(BadInput):
            parse()
    assert not marker.exists()
    assert not os.path.exists("pwned")


def test_int_and_int_list() -> None:
    assert parse_int("4", "--k") == 4
    assert parse_int_list("28,32", "--in") == [28, 32]
    assert parse_int_list("28x32", "--in") == [28, 32]
    assert parse_int_list("(3, 5)", "--k") == [3, 5]
    with pytest.raises(BadInput, match="whole number"):
        parse_int("2.5", "--k")
    with pytest.raises(BadInput, match=">= 1"):
        parse_int_list("3,0", "--k", minimum=1)


@pytest.mark.parametrize(
    "text", ["1,2;3,4", "1 2; 3 4", "[[1,2],[3,4]]", "1, 2\n3, 4", "((1, 2), (3, 4))", " 1,2 ;3,4; "]
)
def test_matrix_spellings(text: str) -> None:
    matrix = parse_matrix(text, "--m")
    assert matrix.shape == (2, 2)
    assert matrix.tolist() == [[1, 2], [3, 4]]
    assert matrix.is_exact


def test_matrix_decimals_are_exact() -> None:
    assert parse_matrix("0.1,1/3", "--m").tolist() == [[Fraction(1, 10), Fraction(1, 3)]]


@pytest.mark.parametrize(
    ("text", "message"),
    [("1,2;3", "ragged"), ("", "empty"), ("1,a", "'a'"), ("[[1,2],[3]]", "ragged"), (";;", "empty")],
)
def test_bad_matrices(text: str, message: str) -> None:
    with pytest.raises(BadInput, match=message) as caught:
        parse_matrix(text, "--image")
    assert caught.value.option == "--image"


def test_matrix_files(tmp_path: Path) -> None:
    (tmp_path / "m.csv").write_text("1,2\n0.5,4\n")
    (tmp_path / "m.txt").write_text("# comment\n1 2\n0.5 4\n")
    np.save(tmp_path / "m.npy", np.array([[1, 2], [3, 4]]))
    np.save(tmp_path / "f.npy", np.array([[0.5, 2.0]]))
    expected = [[1, 2], [Fraction(1, 2), 4]]
    assert parse_matrix(f"@{tmp_path / 'm.csv'}", "--m").tolist() == expected
    assert parse_matrix(f"@{tmp_path / 'm.txt'}", "--m").tolist() == expected
    assert parse_matrix(f"@{tmp_path / 'm.npy'}", "--m").tolist() == [[1, 2], [3, 4]]
    assert parse_matrix(f"@{tmp_path / 'f.npy'}", "--m").tolist() == [[0.5, 2.0]]
    with pytest.raises(BadInput, match="cannot read"):
        parse_matrix(f"@{tmp_path / 'missing.csv'}", "--m")


def test_large_npy_takes_the_float_path(tmp_path: Path) -> None:
    array = np.arange(LARGE_ENTRIES + 10, dtype=np.float64).reshape(-1, 10)
    np.save(tmp_path / "big.npy", array)
    matrix = parse_matrix(f"@{tmp_path / 'big.npy'}", "--x")
    assert matrix.is_large and not matrix.is_exact
    assert np.array_equal(matrix.to_numpy(), array)


def test_npy_refuses_pickles(tmp_path: Path) -> None:
    np.save(tmp_path / "obj.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(BadInput):
        parse_matrix(f"@{tmp_path / 'obj.npy'}", "--m")


def test_matrix_from_stdin(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO("1 2\n3 4\n"))
    assert parse_matrix("-", "--m").tolist() == [[1, 2], [3, 4]]


def test_vector() -> None:
    assert parse_vector("1,0.1,0.01", "--x") == [1, Fraction(1, 10), Fraction(1, 100)]
    assert parse_vector("1;2;3", "--x") == [1, 2, 3]
    with pytest.raises(BadInput, match="vector"):
        parse_vector("1,2;3,4", "--x")


def test_layers() -> None:
    calls = parse_layers("Conv2d(1, 16, 3, padding=1); nn.ReLU(); torch.nn.MaxPool2d(2)")
    assert [c.name for c in calls] == ["Conv2d", "ReLU", "MaxPool2d"]
    assert calls[0].args == (1, 16, 3) and calls[0].kwargs == {"padding": 1}
    text = """
    # an encoder
    model = nn.Sequential(
        nn.Conv2d(1, 16, kernel_size=(3, 3), padding='same'),  # same padding
        nn.LeakyReLU(0.2, inplace=True),
        nn.Sequential(nn.Flatten(), nn.Linear(16 * 4, 10, bias=False)),
    )
    """
    calls = parse_layers(text.replace("\n    ", "\n"))
    assert [c.name for c in calls] == ["Conv2d", "LeakyReLU", "Flatten", "Linear"]
    assert calls[0].kwargs == {"kernel_size": (3, 3), "padding": "same"}
    assert calls[1].args == (0.2,) and calls[3].args == (64, 10) and calls[3].kwargs == {"bias": False}


@pytest.mark.parametrize(
    "text", ["", "Conv2d(1, 16, x)", "Conv2d(**k)", "import os", "os.system('x')", "Conv2d(1,", "1 + 2"]
)
def test_bad_layers(text: str) -> None:
    with pytest.raises(BadInput):
        parse_layers(text)


def test_choice() -> None:
    assert parse_choice("Max_Pool", "--layer", ["conv", "max-pool"]) == "max-pool"
    with pytest.raises(BadInput, match="one of"):
        parse_choice("pool", "--layer", ["conv", "maxpool"])


@given(st.fractions(max_denominator=10**6))
def test_fraction_text_round_trips(value: Fraction) -> None:
    assert parse_scalar(str(value), "--x") == value


@given(st.decimals(allow_nan=False, allow_infinity=False, places=6))
def test_decimals_parse_exactly(value) -> None:  # type: ignore[no-untyped-def]
    assert parse_scalar(str(value), "--x") == Fraction(value)


@given(st.text(max_size=60))
def test_arbitrary_text_is_refused_or_parsed_never_crashes(text: str) -> None:
    assume(text != "-")  # "-" reads standard input (tested in test_cli with a real stdin)
    for parse in (parse_scalar, parse_matrix, parse_int_list):
        try:
            parse(text, "--x")
        except BadInput as error:
            assert error.option == "--x"
    with contextlib.suppress(BadInput):
        parse_layers(text)


@pytest.mark.parametrize(
    ("parse", "text", "expected"),
    [
        (parse_scalar, "−1", -1),
        (parse_scalar, "−1/4", Fraction(-1, 4)),
        (parse_matrix, "1,−2;3,4", [[1, -2], [3, 4]]),
        (parse_matrix, "[[1, −2], [3, 4]]", [[1, -2], [3, 4]]),
    ],
)
def test_unicode_minus_is_a_minus(parse, text: str, expected) -> None:  # type: ignore[no-untyped-def]
    """dlsolve prints the minus sign U+2212; text copied from its output reads back."""
    value = parse(text, "--x")
    assert (value.tolist() if hasattr(value, "tolist") else value) == expected


@pytest.mark.parametrize("text", ["1,,2;3,4,5", "1,2,;3,4", "1,2;,3,4"])
def test_empty_matrix_entry_is_named_not_called_ragged(text: str) -> None:
    with pytest.raises(BadInput, match="empty entry in row") as error:
        parse_matrix(text, "--x")
    assert "ragged" not in str(error.value)


@pytest.mark.parametrize(
    ("args", "quiet"),
    [
        (["filter", "pool", "-i", "-"], "4"),
        (["filter", "apply", "-i", "-", "-k", "1,0;0,1"], "5"),
        (["filter", "explain", "-k", "-"], "smoothing"),
    ],
)
def test_image_and_kernel_read_from_standard_input(cli, args: list[str], quiet: str) -> None:  # type: ignore[no-untyped-def]
    """``-i -`` / ``-k -``: standard input is read once (a second read found it empty)."""
    result = cli(*args, "-q", stdin="1,2;3,4")
    assert (result.exit_code, result.stdout.strip()) == (0, quiet), result.stderr
