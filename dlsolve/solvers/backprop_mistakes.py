"""Named mistakes of ``backprop`` (see :mod:`dlsolve.grading.mistakes`): the same backward pass run
with the one rule the student got wrong. The right rules: the gradients a node receives from its
consumers add ("gradients add at forks"), and ∂σ(z)/∂z = σ(z)(1 − σ(z))."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from dlsolve.grading.mistakes import mistake

if TYPE_CHECKING:
    from dlsolve.solution import Solution


def _gradients(kwargs: dict[str, Any], solution: Solution, **mistaken: Any) -> dict[str, Any] | None:
    """The answer fields ``grad.NAME`` as the backward pass gives them with ``mistaken`` rules."""
    from dlsolve import parsing
    from dlsolve.engine import backward, forward, parse_expression
    from dlsolve.engine.notation import json_number, json_value

    mode = solution.answer.get("mode")
    if mode not in ("exact", "float"):
        return None  # symbolic mode: formulas, not numbers
    graph = parse_expression(kwargs["f"])
    values = parsing.assignments_dict(kwargs.get("at"), "--at")
    passed = backward(forward(graph, values, exact=mode == "exact"), solution.answer["wrt"], **mistaken)
    fields = {f"grad.{name}": json_value(grad, json_number) for name, grad in passed.grads.items()}
    right = {f"grad.{name}": value for name, value in solution.answer["grad"].items()}
    return None if fields == right else fields


@mistake(
    "backprop",
    "fork-not-added",
    "kept one path's gradient where a value feeds several operations: the gradients of a fork add",
    step="backprop.fork",
)
def fork_not_added(kwargs: dict[str, Any], solution: Solution) -> list[dict[str, Any] | None]:
    return [_gradients(kwargs, solution, forks="first"), _gradients(kwargs, solution, forks="last")]


def _sigmoid_as_its_own_derivative(
    b: Any, g: Any, xs: list[Any], value: Any, params: Any, needs: list[bool]
) -> list[Any]:
    return [g * value if needs[0] else None]


@mistake(
    "backprop",
    "sigmoid-derivative-as-sigmoid",
    "took σ'(z) as σ(z); the derivative is σ(z)(1 − σ(z))",
    step="backprop.backward",
)
def sigmoid_derivative_as_sigmoid(kwargs: dict[str, Any], solution: Solution) -> dict[str, Any] | None:
    if "sigmoid" not in kwargs["f"]:
        return None
    return _gradients(kwargs, solution, local={"sigmoid": _sigmoid_as_its_own_derivative})
