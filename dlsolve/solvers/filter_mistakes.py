"""Named mistakes of ``filter apply`` and ``filter pool``: each reruns the command with the one
setting the student got wrong (see :mod:`dlsolve.grading.mistakes`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from dlsolve.grading.mistakes import mistake, rerun

if TYPE_CHECKING:
    from dlsolve.solution import Solution


@mistake(
    "filter apply",
    "kernel-flipped",
    "flipped the kernel (true convolution) where a conv layer cross-correlates, or the other way round",
    step="filter.window",
)
def kernel_flipped(kwargs: dict[str, Any], solution: Solution) -> dict[str, Any] | None:
    return rerun("filter apply", kwargs, mode="conv" if kwargs.get("mode", "xcorr") == "xcorr" else "xcorr")


@mistake("filter apply", "padding-ignored", "left out the zero padding", step="filter.padding")
def apply_padding_ignored(kwargs: dict[str, Any], solution: Solution) -> dict[str, Any] | None:
    return None if tuple(kwargs.get("padding", (0, 0))) == (0, 0) else rerun("filter apply", kwargs, padding=(0, 0))


@mistake(
    "filter apply", "stride-ignored", "slid the window one cell at a time, ignoring the stride", step="filter.window"
)
def apply_stride_ignored(kwargs: dict[str, Any], solution: Solution) -> dict[str, Any] | None:
    return None if tuple(kwargs.get("stride", (1, 1))) == (1, 1) else rerun("filter apply", kwargs, stride=(1, 1))


@mistake("filter apply", "bias-forgotten", "forgot to add the bias to every output cell", step="filter.window")
def apply_bias_forgotten(kwargs: dict[str, Any], solution: Solution) -> dict[str, Any] | None:
    return None if not kwargs.get("bias") else rerun("filter apply", kwargs, bias=None)


@mistake(
    "filter pool",
    "average-for-max",
    "averaged each window where the question asks for its maximum",
    step="filter.window",
)
def average_for_max(kwargs: dict[str, Any], solution: Solution) -> dict[str, Any] | None:
    return rerun("filter pool", kwargs, op="avg") if kwargs.get("op", "max") == "max" else None


@mistake(
    "filter pool",
    "max-for-average",
    "took each window's maximum where the question asks for its average",
    step="filter.window",
)
def max_for_average(kwargs: dict[str, Any], solution: Solution) -> dict[str, Any] | None:
    return rerun("filter pool", kwargs, op="max") if kwargs.get("op") == "avg" else None


@mistake("filter pool", "padding-ignored", "left out the padding", step="filter.padding")
def pool_padding_ignored(kwargs: dict[str, Any], solution: Solution) -> dict[str, Any] | None:
    return None if tuple(kwargs.get("padding", (0, 0))) == (0, 0) else rerun("filter pool", kwargs, padding=(0, 0))


@mistake(
    "filter pool",
    "stride-ignored",
    "slid the window one cell at a time (stride 1) instead of the stride",
    step="filter.window",
)
def pool_stride_ignored(kwargs: dict[str, Any], solution: Solution) -> dict[str, Any] | None:
    return None if kwargs.get("stride") == (1, 1) else rerun("filter pool", kwargs, stride=(1, 1))
