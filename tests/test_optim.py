"""dlsolve optim and optim ewma: torch.optim goldens, exam numbers, conventions, bad input."""

from __future__ import annotations

import json
import math
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dlsolve.errors import BadInput
from dlsolve.parsing import parse_scalar
from dlsolve.solvers.ewma import ewma
from dlsolve.solvers.optim import STEP_KINDS, Param, from_expression, optim

GOLDENS = json.loads((Path(__file__).parent / "data" / "optim_goldens.json").read_text())
F = Fraction


def _x(text: str) -> Fraction:
    return parse_scalar(text, "--test")


def _options(options: dict[str, Any]) -> dict[str, Any]:
    """The golden case's torch options as dlsolve solver keywords (exact values)."""
    out: dict[str, Any] = {}
    for key, value in options.items():
        if key == "betas":
            out["betas"] = [_x(v) for v in value]
        elif isinstance(value, bool):
            out[key] = value
        else:
            out[key] = _x(value)
    return out


def close(actual: Any, expected: Any, rel: float = 1e-9, abs_: float = 1e-12) -> bool:
    if isinstance(expected, list):
        actual = actual if isinstance(actual, list) else [actual]
        return len(actual) == len(expected) and all(
            close(a, e, rel, abs_) for a, e in zip(actual, expected, strict=True)
        )
    return math.isclose(float(actual), float(expected), rel_tol=rel, abs_tol=abs_)


@pytest.mark.parametrize("opt", ["sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam", "adamw"])
def test_given_gradients_match_torch(opt: str) -> None:
    cases = [case for case in GOLDENS["optim"] if case["opt"] == opt]
    assert cases
    for case in cases:
        n = len(case["theta0"])
        solution = optim(
            case["opt"],
            [Param("w", (n,), [_x(v) for v in case["theta0"]])],
            grads=[[_x(v) for v in row] for row in case["grads"]],
            use_float=case["float"],
            **_options(case["options"]),
        )
        answer, expected = solution.answer, case["expected"]
        assert len(answer["trajectory"]) == len(expected["trajectory"]), case["id"]
        for mine, theirs in zip(answer["trajectory"], expected["trajectory"], strict=True):
            assert close(mine["w"], theirs), (case["id"], mine, theirs)
        state = answer["state"]
        assert set(state) == set(expected["state"]), case["id"]
        for key, value in expected["state"].items():
            assert state[key] == value if key == "step" else close(state[key]["w"], value), (case["id"], key)


class Quadratic:
    """f(θ) = Σ (Aθ − b)², ∇f = 2Aᵀ(Aθ − b): a gradient source for the solver (as an engine would give)."""

    exact = False
    text = "Σ (A·w − b)²"

    def __init__(self, a: list[list[float]], b: list[float]) -> None:
        self.a, self.b = np.array(a, dtype=float), np.array(b, dtype=float)

    def __call__(self, theta: Any) -> tuple[float, Any]:
        residual = self.a @ theta - self.b
        return float(residual @ residual), 2 * self.a.T @ residual


@pytest.mark.parametrize("source", ["numpy", "engine"])
@pytest.mark.parametrize("case", GOLDENS["quadratic"], ids=lambda c: c["id"])
def test_objective_matches_torch_autograd(case: dict[str, Any], source: str) -> None:
    """Σ (Aθ − b)² by a hand-written gradient and through the expression engine (exact for SGD with exact inputs)."""
    n = len(case["theta0"])
    start = [_x(v) for v in case["theta0"]]
    if source == "engine":
        values = {"A": [[_x(v) for v in row] for row in case["A"]], "b": [_x(v) for v in case["b"]], "w": start}
        params, objective = from_expression("sum((A @ w - b)**2)", values, ["w"])
    else:
        params = [Param("w", (n,), start)]
        objective = Quadratic([[float(v) for v in row] for row in case["A"]], [float(v) for v in case["b"]])
    answer = optim(case["opt"], params, objective=objective, steps=case["steps"], **_options(case["options"])).answer
    assert close([t["w"] for t in answer["trajectory"]], case["expected"]["trajectory"])
    assert close(answer["loss"], case["expected"]["loss"])
    assert ("exact" in answer) == (source == "engine" and case["opt"] in ("sgd", "momentum", "nesterov"))


def test_goldens_cover_every_optimizer_option() -> None:
    seen = {(c["opt"], key) for c in GOLDENS["optim"] for key in c["options"]}
    for opt, key in [
        ("sgd", "weight_decay"),
        ("momentum", "dampening"),
        ("nesterov", "momentum"),
        ("adagrad", "lr_decay"),
        ("adagrad", "initial_accumulator"),
        ("adagrad", "eps"),
        ("rmsprop", "centered"),
        ("rmsprop", "momentum"),
        ("rmsprop", "alpha"),
        ("adam", "amsgrad"),
        ("adam", "betas"),
        ("adamw", "weight_decay"),
        ("adamw", "amsgrad"),
    ]:
        assert (opt, key) in seen
    assert len(GOLDENS["optim"]) + len(GOLDENS["quadratic"]) + len(GOLDENS["schedules"]) >= 200


# --------------------------------------------------------------------------- exam numbers


def _w(value: str) -> list[Param]:
    return [Param("w", (), [_x(value)])]


def test_adam_two_steps_on_w_squared() -> None:
    """Adam from w = 1 on f = w², lr 0.1: at step 1 m̂ = g, v̂ = g², so w₁ = 1 − 0.1·2/(2 + 1e-8) ≈ 0.9."""

    class Square:
        exact, text = True, "w²"

        def __call__(self, theta: Any) -> tuple[Any, Any]:
            return theta[0] ** 2, 2 * theta

    answer = optim("adam", _w("1"), objective=Square(), steps=2, lr=F(1, 10)).answer
    w1 = 1 - 0.1 * 2 / (2 + 1e-8)
    # step 2: g = 2 w1, m = 0.9·0.2 + 0.1·g, v = 0.999·0.004 + 0.001·g²
    g = 2 * w1
    m, v = 0.9 * 0.2 + 0.1 * g, 0.999 * 0.004 + 0.001 * g * g
    w2 = w1 - 0.1 * (m / (1 - 0.81)) / (math.sqrt(v / (1 - 0.999**2)) + 1e-8)
    assert close([t["w"] for t in answer["trajectory"]], [w1, w2])
    assert close(answer["loss"], [1, w1 * w1])


def test_bias_corrected_first_moment_after_one_step() -> None:
    solution = optim("adam", _w("0"), grads=[[F(4)]])
    step = next(s for s in solution.steps if s.kind == "optim.first-step")
    assert "m₁ = (1 − β₁)·g₁ = 0.1·4 = 0.4" in step.text
    assert "m̂₁ = m₁/(1 − β₁) = 4" in step.text
    assert close(solution.answer["state"]["exp_avg"]["w"], 0.4)
    assert close(solution.answer["final"]["w"], -0.001 * 4 / (4 + 1e-8))


def test_ewma_exam_numbers() -> None:
    solution = ewma([F(10), F(10)], F(1, 2), bias_correction=True)
    assert solution.answer["v"] == [5, 7.5]
    assert solution.answer["v_hat"] == [10, 10]
    assert solution.quiet == "v=7.5 v_hat=10"


@settings(max_examples=15)
@given(
    st.lists(st.integers(-20, 20).map(lambda k: F(k, 2)), min_size=1, max_size=6),
    st.integers(0, 99).map(lambda k: F(k, 100)),
)
def test_ewma_of_a_constant_is_debiased_exactly(values: list[Fraction], beta: Fraction) -> None:
    constant = ewma([values[0]] * len(values), beta, bias_correction=True).answer
    assert all(F(v) == values[0] for v in constant["v_hat"]) or all(
        math.isclose(v, float(values[0])) for v in constant["v_hat"]
    )
    # v_t is a convex combination of 0 and the inputs: the weights sum to 1 − βᵗ
    answer = ewma(values, beta).answer
    weights = [(1 - beta) * beta ** (len(values) - i) for i in range(1, len(values) + 1)]
    assert math.isclose(answer["final"], float(sum(w * x for w, x in zip(weights, values, strict=True))), abs_tol=1e-12)


def test_sgd_momentum_exact() -> None:
    """momentum 0.9, lr 0.05, grads 2, 1, 3 from w = 0: b = 2, 2.8, 5.52; w = −0.1, −0.24, −0.516 (exact)."""
    answer = optim("momentum", _w("0"), grads=[[F(2)], [F(1)], [F(3)]], lr=F(1, 20)).answer
    assert answer["exact"] == {"w": "-0.516"}
    assert [t["w"] for t in answer["trajectory"]] == [-0.1, -0.24, -0.516]
    assert answer["state"]["momentum_buffer"]["w"] == 5.52


def test_nesterov_torch_and_textbook() -> None:
    grads = [[F(2)], [F(1)]]
    torch_form = optim("nesterov", _w("1"), grads=grads, lr=F(1, 10)).answer
    # b1 = 2, w1 = 1 − 0.1(2 + 1.8) = 0.62; b2 = 1.8 + 1 = 2.8, w2 = 0.62 − 0.1(1 + 2.52) = 0.268
    assert torch_form["exact"] == {"w": "0.268"}
    textbook = optim("nesterov", _w("1"), grads=grads, lr=F(1, 10), convention="textbook").answer
    # v1 = −0.2, w1 = 0.8; v2 = −0.18 − 0.1 = −0.28, w2 = 0.52
    assert textbook["exact"] == {"w": "0.52"}


def test_textbook_nesterov_lookahead_points_are_torch_iterates() -> None:
    """Sutskever's v ← μv − η∇f(θ + μv), θ ← θ + v: its look-ahead points θ_t + μv_t are PyTorch's iterates."""
    objective = Quadratic([[1.0, 2.0], [0.5, -1.0]], [1.0, 0.0])
    start = [Param("w", (2,), [F(1, 2), F(-1)])]
    torch_run = optim("nesterov", start, objective=objective, steps=5, lr=F(1, 20)).answer
    textbook = optim("nesterov", start, objective=objective, steps=5, lr=F(1, 20), convention="textbook").answer
    theta, velocity = textbook["final"]["w"], textbook["state"]["velocity"]["w"]
    assert close([t + 0.9 * v for t, v in zip(theta, velocity, strict=True)], torch_run["final"]["w"])


def test_textbook_momentum_is_torch_dampened_buffer_minus_first_gradient_term() -> None:
    """v_t (textbook) = b_t − βᵗ·g₁ where b is PyTorch's buffer with dampening β."""
    grads = [[F(3)], [F(-1)], [F(2)], [F(5)]]
    beta = F(4, 5)
    textbook = optim("momentum", _w("0"), grads=grads, lr=F(1, 10), momentum=beta, convention="textbook").answer
    dampened = optim("momentum", _w("0"), grads=grads, lr=F(1, 10), momentum=beta, dampening=beta).answer
    v = F(textbook["state"]["velocity"]["w"])
    b = F(dampened["state"]["momentum_buffer"]["w"])
    assert math.isclose(v, b - beta**4 * 3)


def test_weight_decay_is_l2_penalty_for_sgd() -> None:
    """SGD with weight decay λ on f equals SGD on f + (λ/2)w² (gradient + λw), coefficient λ/2."""
    decayed = optim("sgd", _w("2"), grads=[[F(1)], [F(1)]], lr=F(1, 10), weight_decay=F(1, 5))
    assert decayed.answer["weight_decay"] == {"coupled": True, "l2_coefficient": 0.1, "shrink_factor": 0.98}
    # w1 = 2 − 0.1(1 + 0.4) = 1.86; w2 = 1.86 − 0.1(1 + 0.372) = 1.7228
    assert decayed.answer["exact"] == {"w": "1.7228"}
    step = next(s for s in decayed.steps if s.kind == "optim.weight-decay")
    assert "coefficient λ/2 = 0.1" in step.text
    adamw = optim("adamw", _w("2"), grads=[[F(1)]], weight_decay=F(1, 10))
    assert adamw.answer["weight_decay"]["coupled"] is False
    assert "not Adam's step on any fixed" in next(s for s in adamw.steps if s.kind == "optim.weight-decay").text


def test_rmsprop_first_root_as_surd() -> None:
    solution = optim("rmsprop", _w("1"), grads=[[F(2)]], lr=F(1, 10), alpha=F(9, 10))
    text = next(s for s in solution.steps if s.kind == "optim.first-step").text
    assert "√v₁ = √10/5 ≈ 0.632456" in text


def test_divergence_is_reported_not_refused() -> None:
    class Steep:
        exact, text, formula = False, "w**2", "w²"

        def __call__(self, theta: Any) -> tuple[Any, Any]:
            return float(theta @ theta), 2 * theta

    solution = optim("sgd", _w("1"), objective=Steep(), steps=40, lr=F(3, 2))
    assert solution.answer["diverged"] is True
    assert any("the iterates grow" in w for w in solution.warnings)
    # said once, by the warning and the answer; no step repeats the warning's sentence
    assert "the iterates grow" in solution.summary
    assert not any("the iterates grow" in s.text.lower() for s in solution.steps)
    blown = optim("sgd", _w("1"), objective=Steep(), steps=2000, lr=F(3, 2))
    assert blown.answer["steps"] < 2000
    json.dumps(blown.to_dict(), allow_nan=False)


def test_every_step_kind_declared() -> None:
    solution = optim("adamw", [Param("w", (2,), [F(1), F(2)])], grads=[[F(1), F(2)]] * 20, full=True)
    for step in solution.steps:
        assert step.kind in STEP_KINDS


@pytest.mark.parametrize(
    ("kwargs", "option"),
    [
        ({"lr": F(0)}, "--lr"),
        ({"lr": F(-1)}, "--lr"),
        ({"betas": [F(1), F(1, 2)]}, "--betas"),
        ({"betas": [F(1, 2), F(-1, 10)]}, "--betas"),
        ({"eps": F(-1)}, "--eps"),
        ({"steps": 10**6 + 1}, "--steps"),
        ({"steps": 3}, "--steps"),
        ({"grads": [[F(1), F(2)]]}, "--grads"),
        ({"momentum": F(1, 2)}, "--momentum"),
    ],
)
def test_bad_input_names_the_option(kwargs: dict[str, Any], option: str) -> None:
    arguments = {"grads": [[F(1)]]} | kwargs
    with pytest.raises(BadInput) as error:
        optim("adam", _w("0"), **arguments)
    assert error.value.option == option


@pytest.mark.parametrize(
    ("kwargs", "option"), [({"dampening": F(1, 10)}, "--dampening"), ({"momentum": F(0)}, "--momentum")]
)
def test_nesterov_refusals_as_pytorch(kwargs: dict[str, Any], option: str) -> None:
    with pytest.raises(BadInput) as error:
        optim("nesterov", _w("0"), grads=[[F(1)]], **kwargs)
    assert error.value.option == option
    assert "Nesterov momentum requires a momentum and zero dampening" in error.value.message


# --------------------------------------------------------------------------- command line


def test_cli_issue_examples(cli: Any) -> None:
    adam = cli("optim", "--f", "w**2", "--at", "w=1", "--opt", "adam", "--lr", "0.1", "--steps", "2", "--json").json()
    assert close([t["w"] for t in adam["answer"]["trajectory"]], [0.9000000005, 0.8004122286917927])
    kinds = [step["kind"] for step in adam["steps"]]
    assert kinds == ["optim.rule", "optim.first-step", "optim.steps"]
    momentum = cli(
        "optim", "--f", "sum((A @ w - b)**2)", "--at", "A=1,2;0,1;1,-1", "--at", "b=1,2,0", "--at", "w=0,0",
        "--params", "w", "--opt", "momentum", "--lr", "0.05", "--momentum", "0.9", "--steps", "3", "-q",
    )  # fmt: skip
    # the final parameters, then (a short run) the optimizer state in torch's names
    assert momentum.exit_code == 0 and momentum.stdout.strip() == "w=[0.31, 1.2] momentum_buffer=[-1.6, -5.8]"
    given = cli("optim", "--grads", "4", "--opt", "adam", "--at", "w=0", "--steps", "1", "--json").json()["answer"]
    assert close(given["state"]["exp_avg"]["w"], 0.4) and given["loss"] is None
    ewma_answer = cli("optim", "ewma", "--values", "10,10", "--beta", "0.5", "--bias-correction", "--json").json()
    assert ewma_answer["answer"]["v_hat"] == [10, 10]


def test_cli_divergence_is_not_an_error(cli: Any) -> None:
    result = cli("optim", "--f", "w**2", "--at", "w=1", "--lr", "1.5", "--steps", "5", "--json")
    assert result.exit_code == 0
    data = result.json()
    assert data["answer"]["diverged"] is True and data["answer"]["final"] == {"w": -32}
    assert any("the iterates grow" in warning for warning in data["warnings"])


@pytest.mark.parametrize(
    ("args", "option"),
    [
        (["--f", "w**2", "--at", "w=1", "--lr", "0"], "--lr"),
        (["--f", "w**2", "--at", "w=1", "--opt", "adam", "--betas", "1,0.5"], "--betas"),
        (["--f", "w**2", "--at", "w=1", "--opt", "adam", "--eps", "-1"], "--eps"),
        (["--f", "w**2", "--at", "w=1", "--opt", "nesterov", "--dampening", "0.1"], "--dampening"),
        (["--f", "w**2", "--at", "w=1", "--opt", "nesterov", "--momentum", "0"], "--momentum"),
        (["--f", "w**2", "--at", "w=1", "--params", "x"], "--params"),
        (["--f", "w**2", "--at", "w=1", "--at", "x=2"], "--at"),
        (["--grads", "1,2;3", "--at", "w=1"], "--grads"),
        (["--grads", "1,2", "--at", "w=1"], "--grads"),
        (["--f", "w**2", "--at", "w=1", "--steps", "1000001"], "--steps"),
        (["--f", "w**2", "--at", "w=1", "--opt", "lbfgs"], "--opt"),
    ],
)
def test_cli_bad_input_exit_2_naming_the_option(cli: Any, args: list[str], option: str) -> None:
    result = cli("optim", *args)
    assert result.exit_code == 2, result.stderr
    assert option in result.stderr and len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_converging_from_zero_is_not_called_growth() -> None:
    """‖θ‖ rises from θ₀ = 0 towards the minimiser while f falls: no warning."""
    params, objective = from_expression("sum((w - c)**2)", {"w": [F(0), F(0)], "c": [F(30), F(40)]}, ["w"])
    solution = optim("sgd", params, objective=objective, steps=20, lr=F(1, 4))
    assert solution.answer["diverged"] is False and not solution.warnings


def test_two_tensors_through_the_engine_match_torch() -> None:
    """f = mse(W @ x + b, y) with W (2x3) and b optimized together: shapes kept, torch's trajectory."""
    for case in GOLDENS["multi"]:
        values = {
            "W": [[_x(v) for v in row] for row in case["W"]],
            "b": [_x(v) for v in case["b"]],
            "x": [_x(v) for v in case["x"]],
            "y": [_x(v) for v in case["y"]],
        }
        params, objective = from_expression("mse(W @ x + b, y)", values, ["W", "b"])
        answer = optim(
            case["opt"], params, objective=objective, steps=case["steps"], **_options(case["options"])
        ).answer
        for mine, theirs in zip(answer["trajectory"], case["expected"]["trajectory"], strict=True):
            assert close(mine["W"], theirs["W"]), (case["id"], mine, theirs)
            assert close(mine["b"], theirs["b"]), (case["id"], mine, theirs)


def test_exact_run_falls_back_to_float_when_fractions_explode() -> None:
    """w⁴ + w³: each exact step multiplies the denominators' size; past the engine's limit, float64."""
    params, objective = from_expression("w**4 + w**3", {"w": F(3, 10)})
    solution = optim("momentum", params, objective=objective, steps=200, lr=F(1, 100))
    assert "exact" not in solution.answer
    assert "grew too large" in next(s for s in solution.steps if s.kind == "optim.rule").text
    params, objective = from_expression("w**4 + w**3", {"w": F(3, 10)})
    assert "exact" in optim("momentum", params, objective=objective, steps=3, lr=F(1, 100)).answer


@settings(max_examples=20)
@given(
    st.sampled_from(["sgd", "momentum", "nesterov"]),
    st.lists(st.integers(-9, 9), min_size=1, max_size=6),
    st.integers(1, 9),
    st.integers(0, 3),
)
def test_exact_and_float_runs_agree(opt: str, grads: list[int], lr_tenths: int, decay_tenths: int) -> None:
    """The exact (Fraction) path and the float64 path are the same rule."""
    arguments = {
        "grads": [[F(g)] for g in grads],
        "lr": F(lr_tenths, 10),
        "weight_decay": F(decay_tenths, 10),
    }
    exact = optim(opt, _w("1/2"), **arguments).answer
    floats = optim(opt, _w("1/2"), use_float=True, **arguments).answer
    assert "exact" in exact and "exact" not in floats
    assert close([t["w"] for t in exact["trajectory"]], [t["w"] for t in floats["trajectory"]], abs_=1e-12)


def _kind(solution: Any, kind: str) -> Any:
    return next(step for step in solution.steps if step.kind == kind)


@pytest.mark.parametrize(
    ("opt", "options"),
    [
        ("momentum", {}),
        ("nesterov", {"convention": "textbook"}),
        ("nesterov", {}),
        ("adagrad", {"lr_decay": Fraction(1, 2)}),
        ("rmsprop", {}),
        ("adam", {}),
        ("adamw", {"weight_decay": Fraction(1, 10)}),
        ("sgd", {"weight_decay": Fraction(1, 5)}),
    ],
)
def test_rule_written_once_the_latex_says_the_text_rule(opt: str, options: dict[str, Any]) -> None:
    """The rule line of the text is covered by the step's LaTeX (same names, same words), so a key shows
    it once; before, momentum's text wrote b_t = μ·b_{t−1} + g_t under a display with (1 − τ)."""
    from dlsolve.render.board import uncovered

    solution = optim(opt, _w("1"), grads=[[F(2)], [F(1)]], lr=F(1, 10), **options)
    rule = _kind(solution, "optim.rule")
    rule_line = rule.text.split("\n")[1]
    assert uncovered(rule_line, rule.latex) == "", (rule_line, rule.latex)
    assert "1e-" not in rule.text and "e-8" not in rule.text


def test_epsilon_and_small_numbers_in_powers_of_ten() -> None:
    rule = _kind(optim("adam", _w("0"), grads=[[F(4)]]), "optim.rule")
    assert "ε = 10⁻⁸" in rule.text
    rule = _kind(optim("adagrad", _w("0"), grads=[[F(4)]]), "optim.rule")
    assert "ε = 10⁻¹⁰" in rule.text


def test_short_runs_have_the_table_and_no_plot_long_runs_both() -> None:
    from dlsolve.solution import Plot

    short = _kind(optim("sgd", _w("1"), grads=[[F(2)], [F(1)]], lr=F(1, 10)), "optim.steps")
    assert not any(isinstance(block, Plot) for block in short.blocks)
    long = _kind(optim("sgd", _w("1"), grads=[[F(1)]] * 13, lr=F(1, 10)), "optim.steps")
    assert any(isinstance(block, Plot) for block in long.blocks)
    assert "2 steps;" in short.text and "step(s)" not in short.text


def test_growing_iterates_said_once_and_matrices_as_rows() -> None:
    values = {"A": [[1, 2], [0, 1]], "b": [1, 2], "w": [0, 0]}
    params, objective = from_expression("sum((A @ w - b)**2)", values, ["w"])
    solution = optim("sgd", params, objective=objective, steps=3, lr=F(1, 2))
    assert solution.warnings and "the iterates grow" in solution.summary
    assert not any(step.kind == "optim.divergence" for step in solution.steps)
    assert solution.inputs["A"] == "[1, 2; 0, 1]"


def test_ewma_table_once_and_worked_values_in_the_display() -> None:
    from dlsolve.solution import Plot, Table

    solution = ewma([F(10), F(10)], F(1, 2), bias_correction=True)
    first = _kind(solution, "ewma.first")
    assert r"v_1 = 0.5\cdot 0 + 0.5\cdot 10 = 5" in first.latex and r"\frac{5}{0.5} = 10" in first.latex
    table = _kind(solution, "ewma.table")
    assert [type(block) for block in table.blocks] == [Table]
    assert "7.5" not in table.text  # the answer's numbers are the Answer box's
    assert any(isinstance(b, Plot) for b in _kind(ewma([F(1)] * 13, F(1, 2)), "ewma.table").blocks)


def test_short_run_answer_has_every_iterate_loss_and_the_state() -> None:
    """Adam's m₁, v₁, m̂₁ (asked by the quiz) and w₁, w₂ with the losses are in the answer, not only w_T."""
    first = optim("adam", _w("0"), grads=[[F(4)]])
    assert "after step 1: m = 0.4, v = 0.016, m̂ = 4, v̂ = 16" in first.summary
    assert "exp_avg=0.4 exp_avg_sq=0.016" in first.quiet
    params, objective = from_expression("w**2", {"w": 1})
    two = optim("adam", params, objective=objective, steps=2, lr=F(1, 10))
    assert "w₁, …, w₂ = 0.9, 0.800412" in two.summary and "f(θ_t), t = 0…2: 1, 0.81, 0.64066" in two.summary
    long = optim("sgd", _w("1"), grads=[[F(1)]] * 6, lr=F(1, 10))
    assert "after step" not in long.summary  # a long run keeps its answer short
