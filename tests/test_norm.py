"""Tests of ``norm``: PyTorch goldens (float64, autograd), hand-checked cases, properties, refusals.

The goldens (tests/data/norm_goldens.json) were made by tests/data/make_norm_goldens.py running real
PyTorch modules; inputs are in dlsolve's text syntax, so the solver reads exactly what the CLI reads.
"""

from __future__ import annotations

import json
import math
import random
import sys
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dlsolve.errors import BadInput, InvalidProblem
from dlsolve.parsing import parse_scalar, parse_tensor
from dlsolve.solvers.norm import RMS_DEFAULT_EPS, STEP_KINDS, normalize
from dlsolve.solvers.norm_steps import engine_expression
from dlsolve.values import Tensor

GOLDENS = json.loads((Path(__file__).parent / "data" / "norm_goldens.json").read_text(encoding="utf-8"))


def flat(value: Any) -> list[float]:
    if isinstance(value, list):
        return [v for item in value for v in flat(item)]
    return [float(value)]


def close(actual: Any, expected: Any, what: str) -> None:
    a, e = flat(actual), flat(expected)
    assert len(a) == len(e), what
    for u, v in zip(a, e, strict=True):
        assert math.isclose(u, v, rel_tol=1e-9, abs_tol=1e-9), f"{what}: {a} != {e}"


def solve_case(case: dict[str, Any], backward: bool = True):
    def vec(values: list[float] | None) -> list[Fraction] | None:
        return None if values is None else [Fraction(v) for v in values]

    cumulative = case["momentum"] == "None"
    return normalize(
        case["kind"],
        parse_tensor(case["x"], "--x"),
        gamma=vec(case["gamma"]),
        beta=vec(case["beta"]),
        eps=None if case["eps"] is None else parse_scalar(case["eps"], "--eps"),
        momentum=None if cumulative else parse_scalar(case["momentum"], "--momentum"),
        cumulative=cumulative,
        num_batches_tracked=case["num_batches_tracked"],
        running_mean=vec(case["running_mean"]),
        running_var=vec(case["running_var"]),
        training=case["training"],
        affine=case["affine"],
        track_running_stats=case["track"] if case["kind"] in ("batch", "instance") else None,
        groups=case["groups"],
        normalized_shape=case["normalized_shape"],
        grad_y=parse_tensor(case["grad_y"], "--grad-y") if backward else None,
    )


def test_enough_goldens() -> None:
    kinds = {case["kind"] for case in GOLDENS["norm"]}
    assert kinds == {"batch", "layer", "group", "instance", "rms"}
    assert len(GOLDENS["norm"]) >= 200
    assert any(not case["training"] for case in GOLDENS["norm"]) and any(case["training"] for case in GOLDENS["norm"])


def check_case(case: dict[str, Any]) -> None:
    """Our answer for one golden case equals PyTorch's (or both refuse, with PyTorch's reason)."""
    expected = case["torch"]
    if "error" in expected:
        with pytest.raises(InvalidProblem) as caught:
            solve_case(case)
        reason = expected["error"].split(" (")[0].split("torch.Size")[0][:30]
        assert reason in caught.value.message
        return
    answer = solve_case(case).answer
    close(answer["y"], expected["y"], "y")
    close(answer["dx"], expected["dx"], "dx")
    for key in ("dgamma", "dbeta"):
        if expected[key] is None:
            assert answer[key] is None, key
        else:
            close(answer[key], expected[key], key)
    if expected["running_mean"] is not None:
        close(answer["running_mean"], expected["running_mean"], "running_mean")
        close(answer["running_var"], expected["running_var"], "running_var")


def test_norm_matches_torch() -> None:
    """Every golden case (one test: 228 parametrized cases would cost more in overhead than in checks)."""
    for index, case in enumerate(GOLDENS["norm"]):
        try:
            check_case(case)
        except AssertionError as error:
            raise AssertionError(f"golden case {index} ({case['kind']}, {case['shape']}): {error}") from None


def test_every_working_builds_with_declared_kinds() -> None:
    """The working of every golden case builds, each step of a declared kind with text that stands alone."""
    for case in GOLDENS["norm"][::4]:
        if "error" in case["torch"]:
            continue
        solution = solve_case(case)
        steps = solution.steps
        kinds = [step.kind for step in steps]
        assert set(kinds) <= set(STEP_KINDS), kinds
        assert kinds[:3] == ["norm.statistics", "norm.normalize", "norm.affine"]
        assert ("norm.running-stats" in kinds) == (
            solution.answer["running_var"] is not None and case["training"] and case["track"]
        )
        assert all(step.text for step in steps)
        backward_text = next(step.text for step in steps if step.kind == "norm.backward")
        assert "FAILED" not in backward_text
        if len(case["shape"]) == 2 and case["kind"] in ("batch", "layer", "rms"):
            assert "Check: the expression engine's reverse mode" in backward_text


def test_backward_agrees_with_the_expression_engine() -> None:
    """The compact formulas (dx = (γ/σ)(g − mean(g) − x̂·mean(g·x̂)), ...) against the engine's reverse mode."""
    from dlsolve.engine import backward, forward, parse_expression

    checked = 0
    for case in GOLDENS["norm"][::2]:
        running = case["kind"] == "batch" and not case["training"] and case["track"]
        eps = parse_scalar(case["eps"], "--eps") if case["eps"] else RMS_DEFAULT_EPS
        text = engine_expression(case["kind"], eps, affine=case["affine"], running=running)
        if text is None or len(case["shape"]) != 2 or "error" in case["torch"]:
            continue
        answer = solve_case(case).answer
        x = parse_tensor(case["x"], "--x")
        values: dict[str, Any] = {
            "x": _rows(x),
            "G": _rows(parse_tensor(case["grad_y"], "--grad-y")),
        }
        if case["affine"]:
            values["gamma"] = case["gamma"]
            if case["kind"] != "rms":
                values["beta"] = case["beta"]
        if "rm" in text:
            values["rm"], values["rv"] = case["running_mean"], case["running_var"]
        graph = parse_expression(text)
        wrt = ["x"] + [name for name in ("gamma", "beta") if name in values]
        grads = backward(forward(graph, values, exact=False), wrt=wrt).grads
        close(answer["dx"], grads["x"].tolist(), f"dx {case}")
        for name, key in (("gamma", "dgamma"), ("beta", "dbeta")):
            if name in grads:
                close(answer[key], grads[name].tolist(), f"{key} {case}")
        checked += 1
    assert checked >= 30


def _rows(tensor: Tensor) -> list[list[float]]:
    width = tensor.shape[1]
    return [[float(v) for v in tensor.values[i * width : (i + 1) * width]] for i in range(tensor.shape[0])]


def test_exact_values_where_the_inputs_are_exact() -> None:
    """Eval mode with ε = 0 and square running variances: every value is an exact fraction."""
    x = parse_tensor("1,2;3,6;5,10", "--x")
    one, two = Fraction(1), Fraction(2)
    running = {"running_mean": [two, Fraction(5)], "running_var": [Fraction(4), Fraction(9)]}
    solution = normalize(
        "batch", x, gamma=[one, two], beta=[Fraction(0), one], eps=Fraction(0), training=False, **running
    )
    assert solution.answer["y"] == [[-0.5, -1], [0.5, float(Fraction(5, 3))], [1.5, float(Fraction(13, 3))]]
    assert solution.answer["running_mean"] == [2, 5]  # eval: unchanged
    assert solution.answer["exact"]["y"] == [["-0.5", "-1"], ["0.5", "5/3"], ["1.5", "13/3"]]  # 2(x − 5)/3 + 1
    statistics = next(step for step in solution.steps if step.kind == "norm.statistics")
    assert "running" in statistics.text
    train = normalize("batch", x)
    assert train.answer["var"] == [8 / 3, 32 / 3] and train.answer["var_unbiased"] == [4, 16]
    assert train.answer["exact"]["var"] == ["8/3", "32/3"] and train.answer["exact"]["y"] is None
    assert train.answer["exact"]["std"] == ["√(800003/300000)", "√(3200003/300000)"]  # √(σ² + 1/100000)
    stats_text = next(step for step in train.steps if step.kind == "norm.statistics").text
    assert "8/3" in stats_text and "√(8/3 + 10⁻⁵) ≈ 1.633" in stats_text  # σ² + ε as σ² and ε under the root
    update = next(step for step in train.steps if step.kind == "norm.running-stats").text
    assert "unbiased" in update and "Keras" in update


def test_layer_norm_backward_is_the_compact_formula_by_hand() -> None:
    """x = [0, 2] (one sample, ε = 0): x̂ = [−1, 1], σ = 1; g = [1, 0] gives dx = g − mean(g) − x̂·mean(g·x̂) = [0, 0]."""
    solution = normalize("layer", parse_tensor("0,2", "--x"), eps=Fraction(0), grad_y=parse_tensor("1,0", "--grad-y"))
    assert solution.answer["y"] == [[-1, 1]]
    assert solution.answer["dx"] == [[0, 0]]
    assert solution.answer["dgamma"] == [-1, 0] and solution.answer["dbeta"] == [1, 0]


@given(
    st.lists(st.lists(st.integers(-20, 20), min_size=2, max_size=2), min_size=2, max_size=3),
    st.integers(1, 5),
    st.integers(-5, 5),
)
def test_batch_norm_ignores_shift_and_scale_of_the_batch(rows: list[list[int]], scale: int, shift: int) -> None:
    """BN(a·x + b) = BN(x) per channel for a > 0 when ε = 0 scales with a² (here ε = 1/4 and a²·ε)."""
    text = ";".join(",".join(map(str, row)) for row in rows)
    moved = ";".join(",".join(str(scale * v + shift) for v in row) for row in rows)
    first = normalize("batch", parse_tensor(text, "--x"), eps=Fraction(1, 4)).answer["y"]
    second = normalize("batch", parse_tensor(moved, "--x"), eps=Fraction(scale * scale, 4)).answer["y"]
    close(first, second, "shift/scale invariance")


@pytest.mark.parametrize(
    ("kind", "kwargs", "error", "option"),
    [
        ("batch", {"gamma": [Fraction(1)] * 3}, BadInput, "--gamma"),
        ("batch", {"running_var": [Fraction(1)]}, BadInput, "--running-var"),
        ("layer", {"running_mean": [Fraction(0)] * 2}, BadInput, "--running-mean"),
        ("batch", {"groups": 2}, BadInput, "--groups"),
        ("batch", {"eps": Fraction(0)}, InvalidProblem, "--eps"),
        ("group", {"groups": 3}, InvalidProblem, "--groups"),
        ("layer", {"normalized_shape": [3]}, InvalidProblem, "--normalized-shape"),
        ("rms", {"beta": [Fraction(0)] * 2}, BadInput, "--beta"),
        ("batch", {"grad_y": Tensor((2, 2), (Fraction(1),) * 4)}, BadInput, "--grad-y"),
        ("batch", {"blocks": 2}, BadInput, "--blocks"),
    ],
)
def test_refusals_name_the_option(kind: str, kwargs: dict[str, Any], error: type, option: str) -> None:
    with pytest.raises(error) as caught:
        normalize(kind, parse_tensor("1,2;3,4;5,7", "--x"), **kwargs)
    assert caught.value.option == option


@pytest.mark.torch
@pytest.mark.slow
def test_live_torch_random_cases() -> None:
    """Fresh random cases from the golden generator, run through real PyTorch now."""
    pytest.importorskip("torch")
    sys.path.insert(0, str(Path(__file__).parent / "data"))
    import make_norm_goldens

    for case in make_norm_goldens.make_norm(random.Random(), sample=20):
        check_case(case)


def _kind(solution: Any, kind: str) -> Any:
    return next(step for step in solution.steps if step.kind == kind)


def test_board_notation_minus_signs_powers_of_ten_and_rows() -> None:
    """−1.22474 (not -1.22474), ε = 10⁻⁵ (not 1e-5), matrices as rows [a, b; c, d] (not [[a, b], [c, d]])."""
    x = parse_tensor("1,2;3,6", "--x")
    solution = normalize("batch", x, grad_y=parse_tensor("1,0;0,1", "--grad-y"))
    for step in solution.steps:
        assert "1e-" not in step.text and "e-6" not in step.text and " -" not in step.text, step.text
        assert "e-" not in step.latex.replace(r"\text{e.g. }", ""), step.latex
    assert "ε = 10⁻⁵" in _kind(solution, "norm.statistics").text
    assert "[[" not in solution.summary and "∂L/∂x = [4.99993·10⁻⁶, −6.24998·10⁻⁷; −4.99993·10⁻⁶" in solution.summary
    assert r"4.99993 \cdot 10^{-6}" in solution.answer_latex
    assert solution.inputs["eps"] == "10⁻⁵"


def test_each_formula_once_the_latex_says_the_texts_worked_entries() -> None:
    """The worked entry of each step is in its display (the text's names), so the key drops the text clause."""
    from dlsolve.render.board import uncovered

    solution = normalize("batch", parse_tensor("1,2;3,6;5,10", "--x"), momentum=Fraction(1, 10))
    stats = _kind(solution, "norm.statistics")
    assert r"\text{channel 0: }" in stats.latex and r"\frac{8}{3} \approx 2.66667" in stats.latex
    assert r"\sqrt{\frac{8}{3} + 10^{-5}} \approx 1.633" in stats.latex
    normalize_step = _kind(solution, "norm.normalize")
    assert "x̂[0, 0] = (1 − 3)/1.633 ≈ −1.22474" in normalize_step.text
    assert r"\hat{x}[0, 0] = \frac{1 - 3}{1.633} \approx -1.22474" in normalize_step.latex
    for kind in ("norm.statistics", "norm.normalize", "norm.affine"):
        step = _kind(solution, kind)
        formulas = [line for line in step.text.split("\n")[1:] if "=" in line and not line.strip().startswith("[")]
        assert all(uncovered(line, step.latex).strip(" .") in ("", "x̂ =", "y =") for line in formulas), (kind, formulas)
    running = _kind(solution, "norm.running-stats")
    assert r"\text{PyTorch: new} = (1 - m)" in running.latex and r"\hat{\mu} \leftarrow" not in running.latex
    assert uncovered(running.text.split("\n")[-1], running.latex) == ""  # the worked channel once


def test_backward_writes_dx_once_and_the_matrix_with_full() -> None:
    x, g = parse_tensor("1,2;3,6", "--x"), parse_tensor("1,0;0,1", "--grad-y")
    step = _kind(normalize("batch", x, grad_y=g), "norm.backward")
    assert "dx =\n" not in step.text
    assert "dγ = Σ g·x̂ and dβ = Σ g, summed over the entries that share each γ, β." in step.text
    assert r"\text{e.g. } dx[0, 0]" in step.latex
    assert "dx =\n" in _kind(normalize("batch", x, grad_y=g, full=True), "norm.backward").text


def test_y_matrix_once_and_the_stack_rule_once() -> None:
    """y is the Answer box's matrix: the affine step's display gives the rule and the worked entry only."""
    from dlsolve.render.board import uncovered

    solution = normalize("layer", parse_tensor("1,2,3;4,5,6", "--x"), eps=Fraction(0), blocks=3)
    affine = _kind(solution, "norm.affine")
    assert "bmatrix" not in affine.latex and r"\text{e.g. } y[0, 0]" in affine.latex
    assert "y = [−1.22474, 0, 1.22474; −1.22474, 0, 1.22474]" in solution.summary  # the answer still has y
    stack = _kind(solution, "norm.pre-ln-stack")
    first = stack.text.split("\n")[0]
    assert uncovered(first, stack.latex) == "Pre-LN blocks whose sublayers are the identity."


def test_three_d_output_in_the_answer_and_each_matrix_once() -> None:
    """A 3-D y is written in the answer (one matrix by rows per sample), the working labels each sample's
    matrix ("[0] =", never an index read as a row), and with affine=False y is not x̂ written again."""
    x = parse_tensor("1,2,4;3,5,9;;0,2,1;4,4,7", "--x")
    solution = normalize("instance", x)
    assert "[[−1.06904, −0.26726, 1.3363; −1.06904, −0.267261, 1.33631], [−1.22474" in solution.summary
    assert "  [0] =\n" in _kind(solution, "norm.normalize").text
    assert "y =\n" not in _kind(solution, "norm.affine").text
    assert "y =\n" in _kind(normalize("instance", x, full=True), "norm.affine").text


def test_one_statistic_has_no_table_repeating_its_worked_row() -> None:
    one = normalize("batch", parse_tensor("2;4;9", "--x"), momentum=Fraction(1, 2))
    assert _kind(one, "norm.statistics").blocks == [] and _kind(one, "norm.running-stats").blocks == []
    two = normalize("batch", parse_tensor("1,2;3,6;5,10", "--x"), momentum=Fraction(1, 10))
    assert len(_kind(two, "norm.statistics").blocks[0].rows) == 2
    assert len(_kind(two, "norm.running-stats").blocks[0].rows) == 2
