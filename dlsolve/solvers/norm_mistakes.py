"""Named mistakes of ``norm batch``, ``dropout`` and ``init``: the classic slips, each a rerun of the
command with the one thing the student got wrong (see :mod:`dlsolve.grading.mistakes`)."""

from __future__ import annotations

import math
from fractions import Fraction
from typing import TYPE_CHECKING, Any

from dlsolve.grading.mistakes import mistake, rerun

if TYPE_CHECKING:
    from dlsolve.solution import Solution


def _training_update(kwargs: dict[str, Any]) -> bool:
    return not kwargs.get("eval_mode") and not kwargs.get("no_track")


def _momentum(kwargs: dict[str, Any]) -> Fraction | None:
    momentum = kwargs.get("momentum")
    return None if momentum == "none" else Fraction(1, 10) if momentum is None else momentum


@mistake(
    "norm batch",
    "unbiased-variance-to-normalize",
    "normalized with the unbiased variance (divided by M − 1); the batch is normalized with the biased one (by M)",
    step="norm.statistics",
)
def unbiased_to_normalize(kwargs: dict[str, Any], solution: Solution) -> dict[str, Any] | None:
    answer = solution.answer
    if not answer["batch_statistics"] or answer["mean"] is None:
        return None
    x = kwargs["x"]
    count = math.prod(x.shape) // x.shape[1]
    unbiased = [Fraction(v) * count / (count - 1) for v in answer["var"]]
    wrong = rerun(
        "norm batch", kwargs, eval_mode=True, running_mean=[Fraction(v) for v in answer["mean"]],
        running_var=unbiased, no_track=False, momentum=None,
    )  # fmt: skip
    return None if wrong is None else {"y": wrong["y"]}


@mistake(
    "norm batch",
    "keras-momentum",
    "used Keras's momentum convention, new = m·old + (1 − m)·batch; PyTorch's is new = (1 − m)·old + m·batch",
    step="norm.running-stats",
)
def keras_momentum(kwargs: dict[str, Any], solution: Solution) -> dict[str, Any] | None:
    m = _momentum(kwargs)
    if not _training_update(kwargs) or m is None or m == Fraction(1, 2):
        return None
    wrong = rerun("norm batch", kwargs, momentum=1 - m)
    return None if wrong is None else {"running_mean": wrong["running_mean"], "running_var": wrong["running_var"]}


@mistake(
    "norm batch",
    "biased-running-variance",
    "updated the running variance with the biased batch variance (divided by M); PyTorch's is unbiased (by M − 1)",
    step="norm.running-stats",
)
def biased_running_variance(kwargs: dict[str, Any], solution: Solution) -> dict[str, Any] | None:
    m = _momentum(kwargs)
    if not _training_update(kwargs) or m is None:
        return None
    old = kwargs.get("running_var") or [Fraction(1)] * len(solution.answer["var"])
    return {
        "running_var": [float((1 - m) * v + m * Fraction(b)) for v, b in zip(old, solution.answer["var"], strict=True)]
    }


@mistake(
    "norm batch",
    "batch-statistics-in-eval",
    "normalized with the batch's own statistics in eval mode; eval mode uses the running statistics",
    step="norm.statistics",
)
def batch_statistics_in_eval(kwargs: dict[str, Any], solution: Solution) -> dict[str, Any] | None:
    if not kwargs.get("eval_mode") or solution.answer["batch_statistics"]:
        return None
    wrong = rerun("norm batch", kwargs, eval_mode=False)
    return None if wrong is None else {"y": wrong["y"]}


def _classic_dropout(kwargs: dict[str, Any], eval_mode: bool) -> dict[str, Any] | None:
    """y of the classic (non-inverted) convention, for an inverted-dropout question in that mode."""
    if bool(kwargs.get("eval_mode")) != eval_mode or kwargs.get("convention", "inverted") != "inverted":
        return None
    wrong = rerun("dropout", kwargs, convention="classic")
    return None if wrong is None else {"y": wrong["y"]}


@mistake(
    "dropout",
    "no-rescale",
    "dropped the units without scaling the kept ones by 1/(1 − p) (PyTorch's dropout is inverted)",
    step="dropout.scale",
)
def no_rescale(kwargs: dict[str, Any], solution: Solution) -> dict[str, Any] | None:
    return _classic_dropout(kwargs, eval_mode=False)


@mistake(
    "dropout",
    "scaled-at-test",
    "scaled by 1 − p at test time; with inverted dropout the eval-mode layer is the identity",
    step="dropout.scale",
)
def scaled_at_test(kwargs: dict[str, Any], solution: Solution) -> dict[str, Any] | None:
    return _classic_dropout(kwargs, eval_mode=True)


@mistake(
    "init kaiming-normal",
    "fan-out-for-fan-in",
    "divided by fan_out where mode='fan_in' (the default) divides by fan_in",
    step="init.std",
)
def fan_out_for_fan_in(kwargs: dict[str, Any], solution: Solution) -> dict[str, Any] | None:
    answer = solution.answer
    if kwargs.get("mode", "fan_in") != "fan_in" or answer["fan_out"] is None or answer["fan_out"] == answer["fan_in"]:
        return None
    wrong = rerun("init kaiming-normal", kwargs, mode="fan_out")
    return None if wrong is None else {"std": wrong["std"]}


def _kernel_ignored(solution: Solution) -> dict[str, Any] | None:
    """std with the fans of the channels alone (C_in, C_out): both fans lose the factor ∏k, so
    gain/√fan and gain·√(2/(fan_in + fan_out)) both grow by √∏k."""
    shape = solution.answer.get("weight_shape")
    if not shape or math.prod(shape[2:]) == 1:
        return None
    return {"std": solution.answer["std"] * math.sqrt(math.prod(shape[2:]))}


@mistake(
    "init kaiming-normal",
    "kernel-ignored",
    "took fan_in = C_in, leaving out the kernel: a conv's fan_in is C_in·∏k",
    step="init.fans",
)
def kaiming_kernel_ignored(kwargs: dict[str, Any], solution: Solution) -> dict[str, Any] | None:
    return _kernel_ignored(solution)


@mistake(
    "init xavier-normal",
    "kernel-ignored",
    "took fan_in = C_in and fan_out = C_out, leaving out the kernel: a conv's fans are C·∏k",
    step="init.fans",
)
def xavier_kernel_ignored(kwargs: dict[str, Any], solution: Solution) -> dict[str, Any] | None:
    return _kernel_ignored(solution)
