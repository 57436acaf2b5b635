"""Named mistakes of ``attention`` (see :mod:`dlsolve.grading.mistakes`). The right computation is
softmax(Q Kᵀ/√d_k) V, the softmax over each query's row (its keys)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from dlsolve.grading.mistakes import mistake, rerun

if TYPE_CHECKING:
    from dlsolve.solution import Solution


def _softmax_columns(scores: list[list[float]]) -> list[list[float]]:
    import math

    columns = list(zip(*scores, strict=True))
    normalised = []
    for column in columns:
        top = max(column)
        exps = [math.exp(value - top) for value in column]
        total = sum(exps)
        normalised.append([value / total for value in exps])
    return [list(row) for row in zip(*normalised, strict=True)]


def _matmul(a: list[list[float]], b: list[list[float]]) -> list[list[float]]:
    return [[sum(x * y for x, y in zip(row, column, strict=True)) for column in zip(*b, strict=True)] for row in a]


@mistake("attention", "no-scaling", "left out the 1/√d_k scaling of the scores", step="attention.scores")
def no_scaling(kwargs: dict[str, Any], solution: Solution) -> dict[str, Any] | None:
    if kwargs.get("no_scale") or solution.answer.get("scale") in (1, 1.0):
        return None
    return rerun("attention", kwargs, no_scale=True, scale=None, exact=False)


@mistake(
    "attention",
    "softmax-wrong-axis",
    "took the softmax down each column (over queries) instead of along each row",
    step="attention.weights",
)
def softmax_wrong_axis(kwargs: dict[str, Any], solution: Solution) -> dict[str, Any] | None:
    scores = solution.answer.get("scores")
    if not scores or solution.answer.get("heads", 1) != 1 or kwargs.get("mask") is not None or kwargs.get("causal"):
        return None
    weights = _softmax_columns(scores)
    fields: dict[str, Any] = {"weights": weights}
    values = kwargs.get("v")
    if values is not None and kwargs.get("x") is None:
        fields["output"] = _matmul(weights, [[float(v) for v in row] for row in values.tolist()])
    return fields


@mistake("attention", "keys-not-transposed", "multiplied Q K instead of Q Kᵀ", step="attention.scores")
def keys_not_transposed(kwargs: dict[str, Any], solution: Solution) -> dict[str, Any] | None:
    q, k = kwargs.get("q"), kwargs.get("k")
    if q is None or k is None or q.shape[1] != k.shape[0] or k.shape[0] != k.shape[1]:
        return None
    from dlsolve.values import Matrix

    transposed = Matrix(rows=tuple(zip(*k.rows, strict=True))) if k.rows else None
    if transposed is None or transposed == k:
        return None
    return rerun("attention", kwargs, k=transposed, exact=False)


@mistake(
    "attention",
    "weights-for-output",
    "reported the attention weights where the output (weights · V) was asked",
    step="attention.output",
)
def weights_for_output(kwargs: dict[str, Any], solution: Solution) -> dict[str, Any] | None:
    weights = solution.answer.get("weights")
    return None if weights is None or weights == solution.answer.get("output") else {"output": weights}
