"""Tests of ``norm``: PyTorch goldens (float64, autograd), hand-checked cases, properties, refusals.

The goldens (tests/data/norm_goldens.json) were made by tests/data/make_norm_goldens.py running real
PyTorch modules; inputs are in dlsolve's text syntax, so the solver reads exactly what the CLI reads.
"""

from __future__ import annotations

import json
import math
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest

from dlsolve.errors import InvalidProblem
from dlsolve.parsing import Tensor, parse_scalar, parse_tensor
from dlsolve.solvers.norm import STEP_KINDS, normalize

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


@pytest.mark.parametrize("index", range(len(GOLDENS["norm"])))
def test_norm_matches_torch(index: int) -> None:
    case = GOLDENS["norm"][index]
    expected = case["torch"]
    if "error" in expected:
        with pytest.raises(InvalidProblem) as caught:
            solve_case(case)
        words = expected["error"].split(",")[0].split(" (")[0]
        assert words.split("torch.Size")[0][:30] in caught.value.message
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


def _engine_expression(case: dict[str, Any]) -> str | None:
    """L = Σ G·y as the expression engine's text, for the 2-D cases it can express (batch, layer, rms)."""
    kind, eps = case["kind"], case["eps"] or "2**-52"
    dim = "0" if kind == "batch" else "1"
    if len(case["shape"]) != 2 or kind not in ("batch", "layer", "rms"):
        return None
    if kind == "rms":
        x_hat = f"x / sqrt(mean(x**2, 1, True) + {eps})"
    elif kind == "batch" and not case["training"] and case["track"]:
        x_hat = f"(x - rm) / sqrt(rv + {eps})"
    else:
        centred = f"(x - mean(x, {dim}, True))"
        x_hat = f"{centred} / sqrt(mean({centred}**2, {dim}, True) + {eps})"
    y = f"gamma * {x_hat}" if case["affine"] else x_hat
    if case["affine"] and kind != "rms":
        y += " + beta"
    return f"sum(G * ({y}))"


def test_backward_agrees_with_the_expression_engine() -> None:
    """The compact formulas (dx = (γ/σ)(g − mean(g) − x̂·mean(g·x̂)), ...) against the engine's reverse mode."""
    from dlsolve.engine import backward, forward, parse_expression

    checked = 0
    for case in GOLDENS["norm"][::2]:
        text = _engine_expression(case)
        if text is None or "error" in case["torch"]:
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
