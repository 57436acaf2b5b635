"""Tests of ``dropout`` and ``init`` against PyTorch goldens (tests/data/make_norm_goldens.py).

Dropout: PyTorch's F.dropout under a fixed seed; the mask read back from its output must reproduce
its y. Init: calculate_gain, the fans of the layer's real weight, and the std/bound of each
torch.nn.init function (checked in the generator against many real draws; the empirical std is here too).
"""

from __future__ import annotations

import itertools
import json
import math
from fractions import Fraction
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dlsolve.errors import BadInput, InvalidProblem
from dlsolve.parsing import parse_layers, parse_scalar, parse_tensor
from dlsolve.solvers.dropout import dropout
from dlsolve.solvers.weight_init import STEP_KINDS as INIT_KINDS
from dlsolve.solvers.weight_init import gain_squared, initialize
from tests.test_norm import close

GOLDENS = json.loads((Path(__file__).parent / "data" / "norm_goldens.json").read_text(encoding="utf-8"))


def test_dropout_matches_torch() -> None:
    assert len(GOLDENS["dropout"]) >= 20
    for case in GOLDENS["dropout"]:
        x, p = parse_tensor(case["x"], "--x"), parse_scalar(case["p"], "--p")
        trained = dropout(x, p, parse_tensor(case["mask"], "--mask"))
        close(trained.answer["y"], case["y"], f"dropout {case}")
        close(dropout(x, p, training=False).answer["y"], case["eval_y"], "eval")


def test_dropout_classic_and_expectation() -> None:
    x = parse_tensor("1,2,3,4", "--x")
    classic = dropout(x, Fraction(1, 4), parse_tensor("1,0,1,1", "--mask"), convention="classic")
    assert classic.answer["y"] == [[1, 0, 3, 4]]
    test_time = dropout(x, Fraction(1, 4), training=False, convention="classic")
    assert test_time.answer["y"] == [[0.75, 1.5, 2.25, 3]]  # (1 − p)·x = E[y_train]
    assert test_time.answer["y"] == classic.answer["expected"]
    inverted = dropout(x, Fraction(1, 2), parse_tensor("1,0,0,1", "--mask"))
    assert inverted.answer["y"] == [[2, 0, 0, 8]] and inverted.answer["expected"] == [[1, 2, 3, 4]]
    assert [step.kind for step in inverted.steps] == ["dropout.scale", "dropout.apply", "dropout.expectation"]


@pytest.mark.parametrize(
    ("p", "mask", "option"),
    [("1", "1,0,0,1", "--p"), ("-0.1", "1,0,0,1", "--p"), ("0.5", "1,2,0,1", "--mask"), ("0.5", "1,0,1", "--mask")],
)
def test_dropout_refusals(p: str, mask: str, option: str) -> None:
    with pytest.raises(BadInput) as caught:
        dropout(parse_tensor("1,2,3,4", "--x"), parse_scalar(p, "--p"), parse_tensor(mask, "--mask"))
    assert caught.value.option == option


def _solve_init(case: dict) -> object:
    layer = parse_layers(case["layer"], "--layer")[0]
    method = case["method"]
    if method.startswith("xavier"):
        return initialize(method, layer=layer, nonlinearity=case["nonlinearity"],
                          a=None if case["a"] is None else Fraction(case["a"]))  # fmt: skip
    if method.startswith("kaiming"):
        return initialize(
            method, layer=layer, nonlinearity=case["nonlinearity"], a=Fraction(case["a"]), mode=case["mode"]
        )
    if method == "orthogonal":  # torch was given gain 1, √2 or 5/3: calculate_gain of linear, relu or tanh
        nonlinearity = {1.0: "linear", math.sqrt(2.0): "relu", 5.0 / 3: "tanh"}[case["gain"]]
        return initialize(method, layer=layer, nonlinearity=nonlinearity)
    return initialize(method, layer=layer)


def test_init_matches_torch() -> None:
    methods = {case["method"] for case in GOLDENS["init"]}
    assert methods == {
        "xavier-uniform",
        "xavier-normal",
        "kaiming-uniform",
        "kaiming-normal",
        "lecun-normal",
        "orthogonal",
    }
    for case in GOLDENS["init"]:
        answer = _solve_init(case).answer  # type: ignore[attr-defined]
        assert answer["weight_shape"] == case["weight_shape"], case
        assert (answer["fan_in"], answer["fan_out"]) == (case["fan_in"], case["fan_out"]), case
        assert math.isclose(answer["gain"], case["gain"], rel_tol=1e-12), case
        assert math.isclose(answer["std"], case["std"], rel_tol=1e-12), case
        assert math.isclose(answer["std"], case["empirical_std"], rel_tol=0.02), case
        if case["bound"] is None:
            assert answer["bound"] is None
        else:
            assert math.isclose(answer["bound"], case["bound"], rel_tol=1e-12), case


def test_init_gains_are_calculate_gains() -> None:
    """calculate_gain's table, exactly (squares): tanh 5/3, relu √2, leaky √(2/(1 + a²)), selu 3/4."""
    assert gain_squared("tanh", None) == Fraction(25, 9)
    assert gain_squared("relu", None) == 2
    assert gain_squared("leaky_relu", None) == 2 / (1 + Fraction(1, 10_000))
    assert gain_squared("leaky_relu", Fraction(1, 5)) == Fraction(2) / Fraction(26, 25)
    assert gain_squared("selu", None) == Fraction(9, 16)
    assert gain_squared("conv_transpose2d", None) == gain_squared("sigmoid", None) == 1


def test_he_init_of_a_conv_layer_by_hand() -> None:
    solution = initialize("kaiming-normal", layer=parse_layers("Conv2d(3, 64, 3)", "--layer")[0], nonlinearity="relu")
    assert solution.answer["fan_in"] == 27 and solution.answer["fan_out"] == 576  # 3·3·3 and 64·3·3
    assert solution.answer["std_exact"] == "√(2/27)"
    assert [step.kind for step in solution.steps] == list(INIT_KINDS)
    uniform = initialize("xavier-uniform", fan_in=256, fan_out=128)
    assert uniform.answer["bound"] == 0.125  # √(6/384) = 1/8


def test_formulas_are_typeset_once() -> None:
    """Each formula is in the step's display in the text's names: a key shows it once, the prose beside."""
    from dlsolve.render import board

    def prose(solution, kind: str) -> str:  # type: ignore[no-untyped-def]
        step = next(step for step in solution.steps if step.kind == kind)
        return board.uncovered(step.text, step.latex)

    he = initialize("kaiming-normal", layer=parse_layers("Conv2d(3, 64, 3)", "--layer")[0], nonlinearity="relu")
    assert prose(he, "init.fans") == "Conv2d(3, 64, 3): weight [64, 3, 3, 3], receptive field ∏k = 9."
    assert prose(he, "init.std") == ""
    std = next(step for step in he.steps if step.kind == "init.std").latex
    assert std.count(r"\sqrt{\frac{2}{27}}") == 1  # not "= √(2/27) = √(2/27)"
    assert he.summary.endswith("(fan_in = 27, fan_out = 576)")
    xavier = initialize("xavier-uniform", fan_in=256, fan_out=128)
    assert prose(xavier, "init.std") == ""  # the substitution and U(−b, b) are in the display
    inverted = dropout(parse_tensor("1,2,3,4", "--x"), Fraction(1, 2), parse_tensor("1,0,0,1", "--mask"))
    assert prose(inverted, "dropout.scale") == "Inverted dropout, training mode: keep probability 1 − p = 0.5."
    assert inverted.summary.endswith("\ny =\n  [ 2  0  0  8 ]")  # rows, not the nested list [[2, 0, 0, 8]]


@pytest.mark.parametrize(
    ("kwargs", "error", "option"),
    [
        ({"method": "kaiming-normal", "layer": "BatchNorm2d(3)"}, InvalidProblem, "--layer"),
        ({"method": "kaiming-normal", "fan_in": 10, "nonlinearity": "softmax"}, BadInput, "--nonlinearity"),
        ({"method": "kaiming-normal", "fan_in": 10, "mode": "fan_avg"}, BadInput, "--mode"),
        ({"method": "xavier-normal", "fan_in": 10}, BadInput, "--fan-out"),
        ({"method": "orthogonal", "fan_in": 10, "fan_out": 3}, BadInput, "--shape"),
    ],
)
def test_init_refusals(kwargs: dict, error: type, option: str) -> None:
    if "layer" in kwargs:
        kwargs = {**kwargs, "layer": parse_layers(kwargs["layer"], "--layer")[0]}
    with pytest.raises(error) as caught:
        initialize(**kwargs)
    assert caught.value.option == option


@given(st.lists(st.integers(-9, 9), min_size=1, max_size=3), st.sampled_from(["0", "1/4", "1/2", "2/3"]))
def test_inverted_dropout_is_unbiased_over_every_mask(values: list[int], p_text: str) -> None:
    """E[y] over all 2^n masks, weighted (1 − p)^kept·p^dropped, is exactly x (the expected-value argument)."""
    p = Fraction(p_text)
    x = parse_tensor(",".join(map(str, values)), "--x")
    total = [Fraction(0)] * len(values)
    for mask in itertools.product((0, 1), repeat=len(values)):
        weight = math.prod((1 - p) if kept else p for kept in mask)
        y = dropout(x, p, parse_tensor(",".join(map(str, mask)), "--mask")).answer["exact"]["y"][0]
        total = [t + weight * Fraction(v) for t, v in zip(total, y, strict=True)]
    assert total == values
