"""dlsolve backprop and the expression engine: against PyTorch autograd goldens, finite differences,
the symbolic path, and the refusals PyTorch makes."""

from __future__ import annotations

import json
import math
import re
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from dlsolve.engine import (
    ExactTooLarge,
    backward,
    forward,
    parse_expression,
    value_and_grad,
)
from dlsolve.engine.notation import to_float
from dlsolve.errors import BadInput, DlsolveError, InvalidProblem
from dlsolve.parsing import parse_array, parse_assignments
from dlsolve.solvers.backprop import STEP_KINDS, solve_backprop

GOLDENS = json.loads((Path(__file__).parent / "data" / "backprop_goldens.json").read_text())
CASES = GOLDENS["lecture"] + GOLDENS["random"]


def exact_values(at: dict[str, Any]) -> dict[str, Any]:
    """The golden inputs as exact Fractions (the JSON floats are short decimals such as -1.1)."""

    def convert(value: Any) -> Any:
        if isinstance(value, list):
            return [convert(v) for v in value]
        return Fraction(repr(value)) if isinstance(value, float) else Fraction(value)

    return {name: convert(value) for name, value in at.items()}


def floats(array: Any) -> np.ndarray:
    return np.vectorize(to_float, otypes=[float])(np.asarray(array, dtype=object))


def assert_matches(case: dict[str, Any], value: Any, grads: dict[str, Any], rtol: float = 1e-9) -> None:
    assert np.allclose(floats(value), case["value"], rtol=rtol, atol=1e-12), case["f"]
    for name, expected in case["grad"].items():
        assert np.allclose(floats(grads[name]), np.asarray(expected), rtol=rtol, atol=1e-11), (case["f"], name)


def test_goldens_cover_the_grammar() -> None:
    assert len(GOLDENS["random"]) >= 300
    text = " ".join(case["f"] for case in CASES)
    for word in (
        "exp(",
        "log(",
        "sqrt(",
        "abs(",
        "sin(",
        "cos(",
        "tanh(",
        "sigmoid(",
        "relu(",
        "leaky_relu(",
        "softplus(",
        "max(",
        "min(",
        "sum(",
        "mean(",
        "softmax(",
        "log_softmax(",
        "mse(",
        "bce(",
        "bce_with_logits(",
        "cross_entropy(",
        "@",
        ".T",
        "**",
        "/",
        " - ",
    ):
        assert word in text, word
    assert re.search(r"(^|[(\s])-[a-z(]", text), "unary minus"


def test_float_path_matches_torch_autograd() -> None:
    for case in CASES:
        fw = forward(parse_expression(case["f"]), case["at"], exact=False)
        assert_matches(case, fw.value, backward(fw, list(case["grad"])).grads)


def test_exact_path_matches_torch_autograd_on_lecture_graphs() -> None:
    """Three with symbolic values here; problems/backprop.toml checks every lecture graph through the CLI."""
    chosen = {"sigmoid neuron", "staged", "logistic regression"}
    for case in [c for c in GOLDENS["lecture"] if c["title"] in chosen]:
        fw = forward(parse_expression(case["f"]), exact_values(case["at"]), exact=True)
        assert_matches(case, fw.value, backward(fw, list(case["grad"])).grads)


def test_exact_path_matches_torch_on_rational_random_cases() -> None:
    """Random goldens without transcendental functions stay Fractions: exact equality with torch's floats."""
    transcendental = (
        "exp",
        "log",
        "sqrt",
        "sin",
        "cos",
        "tanh",
        "sigmoid",
        "softplus",
        "softmax",
        "bce",
        "cross_entropy",
        "0.5",
    )
    rational = [c for c in GOLDENS["random"] if not any(word in c["f"] for word in transcendental)]
    assert len(rational) >= 10
    for case in rational[:25]:
        fw = forward(parse_expression(case["f"]), exact_values(case["at"]), exact=True)
        bw = backward(fw, list(case["grad"]))
        assert all(isinstance(v, Fraction) for g in bw.grads.values() for v in np.asarray(g).flat)
        assert_matches(case, fw.value, bw.grads)


def test_value_and_grad_matches_backward() -> None:
    for case in CASES[:80]:
        graph = parse_expression(case["f"])
        fw = forward(graph, case["at"], exact=False)
        names = [n for n in case["grad"]]
        run = value_and_grad(graph, names)
        value, grads = run({name: np.asarray(v, dtype=float) for name, v in case["at"].items()})
        assert_matches(case, value, grads)
        assert value == pytest.approx(float(fw.value))


def test_value_and_grad_refuses_what_is_not_finite_and_rechecks_new_shapes() -> None:
    run = value_and_grad(parse_expression("sum(sqrt(w)) + sum(log(w))"), ["w"])
    value, grads = run({"w": np.array([1.0, 4.0])})
    assert value == pytest.approx(3 + math.log(4)) and grads["w"] == pytest.approx([1.5, 0.5])
    with pytest.raises(InvalidProblem, match=r"u1 = sqrt\(w\): sqrt of a negative value"):
        run({"w": np.array([1.0, -1.0])})
    with pytest.raises(InvalidProblem, match=r"log\(w\): log of a non-positive value 0"):
        run({"w": np.array([0.0])})
    with pytest.raises(InvalidProblem, match="derivative of sqrt at 0 is infinite"):
        value_and_grad(parse_expression("sqrt(w)"), ["w"])({"w": np.zeros(())})
    assert run({"w": np.array([1.0, 1.0, 1.0])})[1]["w"] == pytest.approx([1.5, 1.5, 1.5])
    with pytest.raises(BadInput, match="wrap it in sum"):
        value_and_grad(parse_expression("w * 2"), ["w"])({"w": np.array([1.0, 2.0])})


@pytest.mark.parametrize("case", GOLDENS["refused"], ids=lambda c: c["f"])
def test_refusals_as_torch(case: dict[str, Any]) -> None:
    graph = parse_expression(case["f"])
    with pytest.raises(DlsolveError) as caught:
        backward(forward(graph, case["at"], exact=False))
    assert caught.value.kind == case["error"]
    assert caught.value.option == "--f"
    if not case["torch"].startswith("not finite"):
        assert case["torch"].lower().rstrip(".") in str(caught.value).lower()


def test_refusals_name_the_node_and_the_value() -> None:
    with pytest.raises(InvalidProblem, match=r"u2 = log\(x - 3\): log of a non-positive value −1"):
        forward(parse_expression("log(x - 3)"), {"x": 2}, exact=True)


# --------------------------------------------------------------------------- grammar


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("foo(x)", "unknown function foo"),
        ("x.shape", "attribute .shape"),
        ("x[0]", "subscript"),
        ("(lambda: 1)()", "only the grammar's functions"),
        ("lambda: 1", "lambda"),
        ("sum(x, dim=0)", "positional arguments only"),
        ("__import__('os').system('echo pwned')", "only the grammar's functions"),
        ("x.__class__", "attribute"),
        ("__x + 1", "not allowed"),
        ("x if y else z", "conditional"),
        ("x < y", "comparison"),
        ("x // y", "//"),
        ("'a' + x", "not a number"),
        ("exp", "is a function"),
        ("exp(x, y)", "takes 1 arguments"),
        ("leaky_relu(x, y)", "expected a number"),
        ("x +", "cannot read the expression"),
        ("", "empty"),
    ],
)
def test_grammar_refusals(text: str, message: str) -> None:
    with pytest.raises(BadInput, match=message.replace("(", r"\(").replace(".", r"\.")) as caught:
        parse_expression(text)
    assert caught.value.option == "--f"


def test_unknown_function_lists_the_grammar() -> None:
    with pytest.raises(BadInput, match="sigmoid relu leaky_relu"):
        parse_expression("swish(x)")


def test_graph_one_node_per_operation_and_shared_subexpressions() -> None:
    graph = parse_expression("(x + y) * z")
    assert [graph.labels[n.index] for n in graph.operations] == ["u1", "u2"]
    shared = parse_expression("sigmoid(x) * (1 - sigmoid(x))")
    assert sum(1 for n in shared.nodes if n.op == "sigmoid") == 1


# --------------------------------------------------------------------------- properties

EXPRESSIONS = [
    "x * y + sin(x) * cos(y)",
    "tanh(x * y) + sigmoid(x - y)",
    "log(1 + x**2) / (1 + y**2)",
    "sqrt(1 + x**2) * exp(y / 4)",
    "softplus(x) + leaky_relu(y, 0.3) + relu(x - y)",
    "max(x, y) * min(x, 2 * y) + abs(x)",
    "sum(softmax(v * x) * w) + mean(log_softmax(v - y))",
    "cross_entropy(v * x + w, 1) + mse(v, w * y)",
    "bce(sigmoid(v * x), (1 + sigmoid(w)) / 2) + bce_with_logits(w * y, sigmoid(v))",
    "sum((A @ v) * x) + sum(v @ A.T) + w @ (A.T @ A) @ w * y",
]


AWAY_FROM_ZERO = st.floats(0.05, 2) | st.floats(-2, -0.05)


@settings(max_examples=15)
@given(
    x=AWAY_FROM_ZERO,
    y=AWAY_FROM_ZERO,
    v=st.lists(AWAY_FROM_ZERO, min_size=3, max_size=3),
    w=st.lists(AWAY_FROM_ZERO, min_size=3, max_size=3),
    a=st.lists(st.floats(-2, 2), min_size=9, max_size=9),
    which=st.integers(0, len(EXPRESSIONS) - 1),
)
def test_gradients_match_central_finite_differences(x, y, v, w, a, which) -> None:  # type: ignore[no-untyped-def]
    text = EXPRESSIONS[which]
    values = {"x": x, "y": y, "v": v, "w": w, "A": np.reshape(a, (3, 3))}
    assume(abs(x - 2 * y) > 1e-3 and abs(x - y) > 1e-3)
    graph = parse_expression(text)
    values = {n: values[n] for n in graph.names}
    bw = backward(forward(graph, values, exact=False))
    run = value_and_grad(graph, [])
    for name in graph.names:
        base = np.asarray(values[name], dtype=float)
        for position in range(base.size):
            h = 1e-6
            up, down = base.copy(), base.copy()
            up.flat[position] += h
            down.flat[position] -= h
            estimate = (run({**values, name: up})[0] - run({**values, name: down})[0]) / (2 * h)
            assert estimate == pytest.approx(float(np.asarray(bw.grads[name]).flat[position]), rel=1e-4, abs=1e-5)


SYMBOLIC = [
    "z / sigmoid(z)",
    "x * y + tanh(x)",
    "relu(x) * y",
    "log(1 + x**2) * sigmoid(y)",
    "max(x, y) + abs(y)",
    "softplus(x * y) - sqrt(1 + y**2)",
    "bce_with_logits(x, sigmoid(y))",
]


@settings(max_examples=25)
@given(
    x=st.fractions(-3, 3, max_denominator=8),
    y=st.fractions(-3, 3, max_denominator=8),
    which=st.integers(0, len(SYMBOLIC) - 1),
)
def test_symbolic_derivatives_agree_with_the_numeric_path(x: Fraction, y: Fraction, which: int) -> None:
    import sympy

    from dlsolve.engine.symbolic import symbolic_gradient

    text = SYMBOLIC[which]
    graph = parse_expression(text)
    point = {n: {"x": x, "y": y, "z": x}[n] for n in graph.names}
    _, derivatives = symbolic_gradient(graph, graph.names, {}, simplify=False)
    bw = backward(forward(graph, {n: float(v) for n, v in point.items()}, exact=False))
    for name, derivative in derivatives.items():
        substituted = derivative.subs(
            {sympy.Symbol(n, real=True): sympy.Rational(v.numerator, v.denominator) for n, v in point.items()}
        )
        assert float(substituted.evalf(20)) == pytest.approx(float(bw.grads[name]), rel=1e-9, abs=1e-12), text


# --------------------------------------------------------------------------- solver


def solve(text: str, *at: str, **options: Any) -> Any:
    return solve_backprop(text, parse_assignments(list(at), "--at"), **options)


def test_lecture_graph_answer_and_working() -> None:
    solution = solve("(x + y) * z", "x=-2", "y=5", "z=-4")
    assert solution.answer["value"] == -12
    assert solution.answer["grad"] == {"x": -4, "y": -4, "z": 3}
    assert solution.answer["mode"] == "exact"
    kinds = [step.kind for step in solution.steps]
    assert kinds == ["backprop.graph", "backprop.forward", "backprop.backward", "backprop.gradients"]
    assert set(kinds) <= set(STEP_KINDS)
    backward_step = solution.steps[2]
    assert "∂f/∂u1 = ∂f/∂u2 · ∂u2/∂u1 = 1 · z = −4" in backward_step.text
    json.dumps(solution.to_dict())


def test_forks_add_and_are_shown() -> None:
    solution = solve("x * y + x**2", "x=3", "y=2")
    assert solution.answer["grad"] == {"x": 8, "y": 3}
    fork = next(step for step in solution.steps if step.kind == "backprop.fork")
    assert "∂f/∂x = 2 (from u1) + 6 (from u2) = 8" in fork.text


def test_kinks_follow_pytorch_and_are_said() -> None:
    solution = solve("relu(x) + abs(y) + max(x, y)", "x=0", "y=0")
    assert solution.answer["grad"] == {"x": 0.5, "y": 0.5}
    assert any("relu'(0) = 0" in w for w in solution.warnings)
    # the kinks are said once, as warnings (and in the backward table's local derivatives), not a third time
    assert not any(step.kind == "backprop.kink" for step in solution.steps)
    backward = next(step for step in solution.steps if step.kind == "backprop.backward")
    assert any("½ on a tie" in local for local in _locals(backward))


def _locals(step: Any) -> list[str]:
    """The backward table's local derivative column."""
    table = step.blocks[0]
    column = table.columns.index("local derivative")
    return [row[column] for row in table.rows]


def _step(solution: Any, kind: str) -> Any:
    return next(step for step in solution.steps if step.kind == kind)


def test_board_notation_of_the_working() -> None:
    """The known board defects: σ((−4)), σ(1 − σ) = u5(1 − u5), 2·u4^(2 − 1), "+ −0.03", /1."""
    solution = solve("(x + sigmoid(y)) / (sigmoid(x) + (x + y)**2)", "x=3", "y=-4")
    forward = _step(solution, "backprop.forward")
    assert "u1 = σ(y) = σ(−4) ≈ 0.0179862" in forward.text and "((" not in forward.text
    locals_ = _locals(_step(solution, "backprop.backward"))
    assert "u1(1 − u1)" in locals_ and not any("σ(1 − σ)" in local for local in locals_)
    assert "2·u4" in locals_ and not any("^(" in local for local in locals_)
    fork = _step(solution, "backprop.fork").text
    assert "− 0.0357615 (from u3)" in fork and "+ −" not in fork
    assert "(from u4)" in fork and "(σ(3) + 1)²" not in fork  # the long exact term by its decimal alone
    mse = solve("mse(w * x, y)", "w=2", "x=1", "y=1")
    assert "2(u1 − y)" in _locals(_step(mse, "backprop.backward"))
    assert "/1" not in _step(mse, "backprop.backward").text
    negative = solve("-(x * y)", "x=1", "y=2")
    assert "= 1 · (−1) = −1" in _step(negative, "backprop.backward").text


def test_matrices_as_rows_and_small_decimals_as_powers_of_ten() -> None:
    solution = solve(
        "mse(W2 @ sigmoid(W1 @ x + b1) + b2, y)", "W1=1,2;3,4", "b1=0,0", "W2=1,-1", "b2=0", "x=1,2", "y=1"
    )
    assert "[[" not in solution.summary and "e-" not in solution.summary and "e−" not in solution.summary
    assert "3.36253·10⁻⁵; 6.72506·10⁻⁵]" not in solution.summary  # rows split by ";", entries by ","
    assert "[−0.0133849, −0.0267698; 3.36253·10⁻⁵, 6.72506·10⁻⁵]" in solution.summary
    assert r"3.36253 \cdot 10^{-5}" in solution.answer_latex and "e-5" not in solution.answer_latex
    table = _step(solution, "backprop.backward").blocks[0]
    assert not any("[[" in cell or "e−" in cell for row in table.rows for cell in row)


def test_answer_box_gives_exact_values_their_decimal_and_writes_each_gradient_once() -> None:
    solution = solve("sigmoid(w0 * x0 + w1 * x1 + w2)", "w0=2", "x0=-1", "w1=-3", "x1=-2", "w2=-3")
    assert r"\approx 0.731059" in solution.answer_latex and r"\approx -0.589836" in solution.answer_latex
    assert r"\partial w_{0}" in solution.answer_latex
    gradients = _step(solution, "backprop.gradients")
    assert not gradients.latex and "0.196612" not in gradients.text  # the values are the Answer box's
    bn = solve("sum(g * (gamma * (x - mean(x)) + beta))", "x=1,2,6", "gamma=2", "beta=1", "g=1,0,-1")
    assert r"\partial \gamma}" in bn.answer_latex and r"\partial \beta}" in bn.answer_latex
    assert "∂f/∂x is 3" in _step(bn, "backprop.gradients").text


def test_cancelled_exact_gradient_is_zero_not_a_tiny_decimal() -> None:
    solution = solve("sum(G * (softmax(Q @ K.T / sqrt(2)) @ V))", "Q=1,0;0,1", "K=1,0;1,1", "V=1,2;3,4", "G=1,0;0,1")
    assert solution.answer["grad"]["Q"][1][0] == 0
    assert "10^{-1" not in solution.answer_latex and "·10⁻" not in solution.summary


def test_graph_step_lists_inputs_and_f_and_the_forward_table_the_nodes() -> None:
    """Each node once: its operation is a row of the forward table, not also a line of the graph step."""
    from dlsolve.solvers.backprop import _latex_text

    solution = solve("sum(tanh(W @ h + U @ x))", "W=1,0;0,1", "U=1,-1;2,0", "h=0,1", "x=1,1")
    graph = _step(solution, "backprop.graph")
    assert r"\text{inputs}" in graph.latex and r"f &= u_{5}" in graph.latex and r"W\, [2 \times 2]" in graph.latex
    assert "inputs: W [2×2], h [2], U [2×2], x [2]" in graph.text and "u4 = " not in graph.text
    forward = _step(solution, "backprop.forward").blocks[0]
    assert forward.rows[3][:2] == ["u4", "tanh(u3)"]
    assert _latex_text("√(2)") == r"\sqrt{2}" and _latex_text("mse(u5, y)") == r"\operatorname{mse}(u_{5}, y)"


def test_backward_asides_only_where_they_apply() -> None:
    scalar = _step(solve("(x + y) * z", "x=-2", "y=5", "z=-4"), "backprop.backward").text
    assert "ḡ" not in scalar and "broadcast" not in scalar
    bias = _step(solve("sum(X @ w + b)", "X=1,2;3,4", "w=1,1", "b=1"), "backprop.backward").text
    assert "ḡ is the upstream gradient" in bias and "broadcast" in bias


def test_exact_values_keep_sigmoid_symbolic_with_a_decimal() -> None:
    solution = solve("sigmoid(w * x)", "w=2", "x=1", wrt=["w"])
    assert "exp(-2)" in solution.answer["exact"]["w"]
    assert solution.answer["grad"]["w"] == pytest.approx(math.exp(-2) / (1 + math.exp(-2)) ** 2)
    assert "≈ 0.104994" in solution.summary


def test_float_inputs_and_large_inputs_use_float64() -> None:
    rng = np.random.default_rng(0)
    values = {"X": rng.normal(size=(30, 20)), "W": rng.normal(size=(20, 5)), "t": np.arange(30) % 5}
    solution = solve_backprop("cross_entropy(X @ W, t)", values)
    assert solution.answer["mode"] == "float"
    assert set(solution.answer["grad"]) == {"X", "W"}
    x = values["X"] @ values["W"]
    p = np.exp(x - x.max(1, keepdims=True))
    p /= p.sum(1, keepdims=True)
    p[np.arange(30), values["t"]] -= 1
    assert np.allclose(solution.answer["grad"]["W"], values["X"].T @ p / 30)


def test_exact_path_falls_back_to_float_when_values_grow() -> None:
    text = "cross_entropy(leaky_relu(y * x, 0.2), softmax(log_softmax(softmax(z))))"
    at = {
        "x": [[Fraction(1, 10), Fraction(-3, 10)]],
        "y": [Fraction(7, 10), Fraction(2)],
        "z": [[Fraction(1, 2), Fraction(-1, 5)]],
    }
    with pytest.raises(ExactTooLarge):
        backward(forward(parse_expression(text), at, exact=True))
    solution = solve(text, "x=[[0.1,-0.3]]", "y=0.7,2", "z=[[0.5,-0.2]]")
    assert solution.answer["mode"] == "float"
    assert any("float64" in w for w in solution.warnings)


def test_check_by_finite_differences() -> None:
    solution = solve("mse(W @ x, y)", "W=1,2;3,4", "x=1,-1", "y=0.5,2", check=True)
    assert max(solution.answer["check"].values()) < 1e-6
    assert any(step.kind == "backprop.check" for step in solution.steps)


def test_symbolic_mode() -> None:
    solution = solve("z / sigmoid(z)")
    assert solution.answer["mode"] == "symbolic"
    import sympy

    z = sympy.Symbol("z")
    parsed = sympy.sympify(solution.answer["symbolic"]["z"])  # the JSON string parses back (test code only)
    assert sympy.simplify(parsed - sympy.diff(z * (1 + sympy.exp(-z)), z)) == 0
    assert "σ(z)" in solution.summary and "**" not in solution.summary
    partly = solve("w * x + b", "w=3")
    assert partly.answer["symbolic"] == {"w": "x", "x": "3", "b": "1"}
    assert partly.answer["grad"] == {"x": 3, "b": 1}


@pytest.mark.parametrize(
    ("text", "at", "options", "error", "message"),
    [
        ("x * 2", ["x=1,2"], {}, BadInput, "wrap it in sum"),
        ("x + y", ["x=1", "q=2"], {}, BadInput, "q does not appear"),
        ("x + y", ["x=1", "y=2"], {"wrt": ["z"]}, BadInput, "z does not appear"),
        ("cross_entropy(z, t)", ["z=1,2,3", "t=1"], {"wrt": ["t"]}, BadInput, "class indices"),
        ("W @ x", ["W=1,2;3,4", "x"], {}, BadInput, "symbolic mode"),
        ("log(x)", ["x=0"], {}, InvalidProblem, "log of a non-positive value 0"),
        ("sum(A @ B)", ["A=1,2,3;4,5,6", "B=1,2;3,4"], {}, BadInput, r"\(2x3 and 2x2\)"),
    ],
)
def test_solver_refusals(text: str, at: list[str], options: dict[str, Any], error: type, message: str) -> None:
    with pytest.raises(error, match=message):
        if at == ["W=1,2;3,4", "x"]:
            solve_backprop(text, parse_assignments(at[:1], "--at"), **options)
        else:
            solve(text, *at, **options)


def test_a_name_given_twice() -> None:
    with pytest.raises(BadInput, match="x is given twice"):
        parse_assignments(["x=1", "x=2"], "--at")


@pytest.mark.parametrize(
    ("text", "shape"),
    [
        ("3", ()),
        ("-1/2", ()),
        ("1,2,3", (3,)),
        ("[1,2]", (2,)),
        ("1,2;3,4", (2, 2)),
        ("1;2;3", (3, 1)),
        ("[[1,2]]", (1, 2)),
    ],
)
def test_parse_array_dimensions(text: str, shape: tuple[int, ...]) -> None:
    assert parse_array(text, "--at").shape == shape


# --------------------------------------------------------------------------- command line


def test_cli_quiet_and_json(cli) -> None:  # type: ignore[no-untyped-def]
    result = cli("backprop", "--f", "(x + y) * z", "--at", "x=-2", "--at", "y=5", "--at", "z=-4", "-q")
    assert result.exit_code == 0
    assert result.stdout.split() == ["f", "=", "−12", "∂f/∂x", "=", "−4", "∂f/∂y", "=", "−4", "∂f/∂z", "=", "3"]
    data = cli("backprop", "--f", "sum(W @ x)", "--at", "W=1,2;3,4", "--at", "x=1,-1", "--wrt", "W", "--json").json()
    assert data["answer"]["grad"] == {"W": [[1, -1], [1, -1]]}
    assert {step["kind"] for step in data["steps"]} <= set(STEP_KINDS)


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["--f", "foo(x)", "--at", "x=1"], 2, "--f: unknown function foo()"),
        (["--f", "x.__class__", "--at", "x=1"], 2, "--f: the attribute .__class__ is not allowed"),
        (["--f", "x + y", "--at", "x=1", "--at", "x=2", "--at", "y=1"], 2, "--at: x is given twice"),
        (["--f", "x * 2", "--at", "x=1,2"], 2, "not a scalar"),
        (["--f", "log(x)", "--at", "x=-1"], 1, "u1 = log(x): log of a non-positive value −1"),
        (["--f", "sum(x + y)", "--at", "x=1,2,3", "--at", "y=1,2"], 2, "size of tensor a (3) must match"),
        (["--f", "x", "--at", "x"], 2, "--at: expected NAME=VALUE"),
        (["--f", "x * 9**9**9", "--at", "x=1"], 1, "overflows"),
    ],
)
def test_cli_errors_are_one_line(cli, args: list[str], code: int, message: str) -> None:  # type: ignore[no-untyped-def]
    result = cli("backprop", *args)
    assert result.exit_code == code
    assert message in result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_values_from_files(tmp_path: Path) -> None:
    np.save(tmp_path / "w.npy", np.array([1.0, -2.0]))
    (tmp_path / "X.csv").write_text("1,2\n3,4\n")
    values = parse_assignments([f"w=@{tmp_path / 'w.npy'}", f"X=@{tmp_path / 'X.csv'}"], "--at")
    assert values["w"].shape == (2,) and values["X"].shape == (2, 2)
    solution = solve_backprop("sum(X @ w)", values)
    assert solution.answer["grad"]["w"] == [4, 6]
    assert solution.answer["grad"]["X"] == [[1, -2], [1, -2]]


@pytest.mark.parametrize(
    ("typed", "board"),
    [
        ("w**2 + 3*w", "w² + 3 · w"),
        ("sum((A @ w - b)**2)", "Σ (A @ w − b)²"),
        ("a - (b + c)", "a − (b + c)"),
        ("a/(b*c)", "a / (b · c)"),
        ("(-a)**2", "(−a)²"),
        ("-a**2", "−a²"),
        ("(a+b)*(c-d)", "(a + b) · (c − d)"),
        ("mse(W2 @ sigmoid(W1 @ x + b1) + b2, y)", "mse(W2 @ σ(W1 @ x + b1) + b2, y)"),
    ],
)
def test_formula_in_board_notation_keeps_only_the_brackets_it_needs(typed: str, board: str) -> None:
    from dlsolve.engine import parse_expression
    from dlsolve.engine.notation import formula_text

    assert formula_text(parse_expression(typed)) == board


def test_backward_table_writes_each_upstream_gradient_once() -> None:
    """A node fed by one consumer got its upstream gradient in that consumer's row: no column repeats it;
    a node fed by several consumers keeps the column, with the sum."""
    chain = _step(solve("sum(X @ W + b)", "X=1,2;3,4", "W=1,0;0,1", "b=1,1"), "backprop.backward")
    assert "upstream ∂f/∂u" not in chain.blocks[0].columns and "in the row above" in chain.text
    fork = _step(solve("sigmoid(x) * sigmoid(x) + sigmoid(x)", "x=1"), "backprop.backward")
    table = fork.blocks[0]
    column = table.columns.index("upstream ∂f/∂u")
    assert any(row[column] == "as sent" for row in table.rows)
    assert any(row[column] not in ("", "as sent", "1") for row in table.rows)  # the summed gradient of σ(x)


def test_sigmoid_squared_typesets() -> None:
    """σ(x)² in the Answer box: SymPy's power printer hands the exponent to σ's LaTeX (an internal error before)."""
    solution = solve("sigmoid(x) * sigmoid(x)", "x=1")
    assert r"\sigma^{2}\left(1\right)" in solution.answer_latex


def test_scalar_answers_share_a_line() -> None:
    solution = solve("(x + y) * z", "x=-2", "y=5", "z=-4")
    assert r" \\ " not in solution.answer_latex  # one line: f and the three gradients
    assert r"f = -12,\quad \partial f/\partial x = -4" in solution.answer_latex
    matrices = solve("sum(X @ w)", "X=1,2;3,4", "w=1,1")
    assert r"\frac{\partial f}{\partial X}" in matrices.answer_latex  # a matrix keeps its own line
