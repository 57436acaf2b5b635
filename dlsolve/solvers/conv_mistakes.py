"""Named mistakes of ``conv-shape`` (one layer): the output-size formula and the parameter count
as students get them wrong. Each returns the answer fields the mistake produces (see
:mod:`dlsolve.grading.mistakes`); the right formulas are

    out = ⌊(in + 2p − d(k − 1) − 1)/s⌋ + 1,     params = C_out·(C_in/groups)·∏k + C_out (bias).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from dlsolve.grading.mistakes import mistake

if TYPE_CHECKING:
    from dlsolve.solution import Solution

Formula = Callable[[int, int, int, int, int], int]


def _per_dim(value: Any, dims: int, default: list[int]) -> list[int] | None:
    if value is None:
        return default
    if not isinstance(value, list) or not all(isinstance(v, int) for v in value):
        return None  # "same", "valid" or the unknown "?"
    return value * dims if len(value) == 1 else value


def _spatial(kwargs: dict[str, Any], solution: Solution, formula: Formula) -> dict[str, Any] | None:
    """The answer fields with every output size computed by ``formula(in, k, s, p, d)``."""
    if kwargs.get("net") or kwargs.get("net_file") or kwargs.get("input_shape"):
        return None
    layer = kwargs.get("layer") or "conv"
    spatial = solution.answer.get("spatial")
    if layer == "transposed" or not spatial:
        return None
    dims = len(spatial)
    size = _per_dim(kwargs.get("size"), dims, [])
    kernel = _per_dim(kwargs.get("kernel"), dims, [])
    if not size or not kernel:
        return None
    stride = _per_dim(kwargs.get("stride"), dims, kernel if layer != "conv" else [1] * dims)
    padding = _per_dim(kwargs.get("padding"), dims, [0] * dims)
    dilation = _per_dim(kwargs.get("dilation"), dims, [1] * dims)
    if stride is None or padding is None or dilation is None:
        return None
    wrong = [formula(*values) for values in zip(size, kernel, stride, padding, dilation, strict=True)]
    if wrong == spatial or min(wrong) < 1:
        return None
    shape = solution.answer.get("shape")
    fields: dict[str, Any] = {"spatial": wrong}
    if shape:
        fields["shape"] = [*shape[: len(shape) - dims], *wrong]
    return fields


@mistake("conv-shape", "no-plus-one", "forgot the + 1: ⌊(in + 2p − d(k − 1) − 1)/s⌋", step="conv.output-size")
def no_plus_one(kwargs: dict[str, Any], solution: Solution) -> dict[str, Any] | None:
    return _spatial(kwargs, solution, lambda n, k, s, p, d: (n + 2 * p - d * (k - 1) - 1) // s)


@mistake(
    "conv-shape", "padding-once", "padding counted on one side only: in + p instead of in + 2p", step="conv.output-size"
)
def padding_once(kwargs: dict[str, Any], solution: Solution) -> dict[str, Any] | None:
    return _spatial(kwargs, solution, lambda n, k, s, p, d: (n + p - d * (k - 1) - 1) // s + 1)


@mistake(
    "conv-shape",
    "ceil-for-floor",
    "rounded the division up (⌈·⌉) where PyTorch rounds down (⌊·⌋)",
    step="conv.output-size",
)
def ceil_for_floor(kwargs: dict[str, Any], solution: Solution) -> dict[str, Any] | None:
    return _spatial(kwargs, solution, lambda n, k, s, p, d: math.ceil((n + 2 * p - d * (k - 1) - 1) / s) + 1)


@mistake(
    "conv-shape",
    "dilation-ignored",
    "ignored the dilation: used k where the window spans d(k − 1) + 1",
    step="conv.output-size",
)
def dilation_ignored(kwargs: dict[str, Any], solution: Solution) -> dict[str, Any] | None:
    return _spatial(kwargs, solution, lambda n, k, s, p, d: (n + 2 * p - (k - 1) - 1) // s + 1)


@mistake("conv-shape", "stride-ignored", "ignored the stride: divided by 1 instead of s", step="conv.output-size")
def stride_ignored(kwargs: dict[str, Any], solution: Solution) -> dict[str, Any] | None:
    return _spatial(kwargs, solution, lambda n, k, s, p, d: n + 2 * p - d * (k - 1))


def _params(
    kwargs: dict[str, Any], solution: Solution, count: Callable[[int, int, int, int, bool], int]
) -> dict[str, Any] | None:
    """The parameter count as ``count(C_in, C_out, groups, ∏k, bias)`` gives it."""
    right = solution.answer.get("params")
    c_in, c_out = kwargs.get("channels"), kwargs.get("filters")
    if right is None or c_in is None or c_out is None or (kwargs.get("layer") or "conv") != "conv":
        return None
    kernel = _per_dim(kwargs.get("kernel"), len(solution.answer.get("spatial") or [1, 1]), [])
    if not kernel:
        return None
    wrong = count(c_in, c_out, kwargs.get("groups") or 1, math.prod(kernel), not kwargs.get("no_bias"))
    return None if wrong == right else {"params": wrong}


@mistake("conv-shape", "channels-swapped", "swapped C_in and C_out in the parameter count", step="conv.params")
def channels_swapped(kwargs: dict[str, Any], solution: Solution) -> dict[str, Any] | None:
    return _params(kwargs, solution, lambda c_in, c_out, g, k, bias: c_in * (c_out // g) * k + (c_in if bias else 0))


@mistake("conv-shape", "bias-forgotten", "forgot the C_out biases in the parameter count", step="conv.params")
def bias_forgotten(kwargs: dict[str, Any], solution: Solution) -> dict[str, Any] | None:
    return _params(kwargs, solution, lambda c_in, c_out, g, k, bias: c_out * (c_in // g) * k)


@mistake(
    "conv-shape",
    "groups-ignored",
    "ignored the groups: each filter sees C_in/groups channels, not C_in",
    step="conv.params",
)
def groups_ignored(kwargs: dict[str, Any], solution: Solution) -> dict[str, Any] | None:
    return _params(kwargs, solution, lambda c_in, c_out, g, k, bias: c_out * c_in * k + (c_out if bias else 0))
