"""Named mistakes of ``optim``, ``optim ewma`` and ``lr-schedule`` (see :mod:`dlsolve.grading.mistakes`).

Each is the same run with one convention swapped: the textbook momentum for PyTorch's buffer (or the
other way round), Nesterov taken as plain momentum, AdamW's decoupled decay for Adam's coupled one
(and back), the weight decay forgotten, the EWMA's bias correction missing or applied, the schedule
read one epoch off.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from dlsolve.grading.mistakes import mistake, rerun
from dlsolve.solvers.lr_schedule_kinds import KINDS

if TYPE_CHECKING:
    from dlsolve.solution import Solution

MOMENTUM = ("momentum", "nesterov")


def _theta(answer: dict[str, Any] | None) -> dict[str, Any] | None:
    return None if answer is None else {"theta": answer["theta"]}


@mistake(
    "optim",
    "no-bias-correction",
    "left out Adam's bias correction: m_t/(√v_t + ε) instead of m̂_t/(√v̂_t + ε), m̂ = m/(1 − β₁ᵗ), v̂ = v/(1 − β₂ᵗ)",
    step="optim.rule",
)
def no_bias_correction(kwargs: dict[str, Any], solution: Solution) -> dict[str, Any] | None:
    if kwargs.get("opt") not in ("adam", "adamw"):
        return None
    return _theta(rerun("optim", kwargs, convention="no-bias-correction"))


@mistake(
    "optim",
    "textbook-momentum-for-torch",
    "used the textbook momentum v ← βv + (1 − β)g (v₀ = 0) where PyTorch's buffer starts at b₁ = g₁ and adds all of g",
    step="optim.rule",
)
def textbook_for_torch(kwargs: dict[str, Any], solution: Solution) -> dict[str, Any] | None:
    if kwargs.get("opt") not in MOMENTUM or kwargs.get("convention") == "textbook" or kwargs.get("dampening"):
        return None
    return _theta(rerun("optim", kwargs, convention="textbook"))


@mistake(
    "optim",
    "torch-momentum-for-textbook",
    "used PyTorch's momentum buffer (b₁ = g₁, b ← μb + g) where the textbook form v ← βv + (1 − β)g was asked",
    step="optim.rule",
)
def torch_for_textbook(kwargs: dict[str, Any], solution: Solution) -> dict[str, Any] | None:
    if kwargs.get("opt") not in MOMENTUM or kwargs.get("convention") != "textbook":
        return None
    return _theta(rerun("optim", kwargs, convention="torch"))


@mistake(
    "optim",
    "nesterov-as-momentum",
    "took plain momentum steps θ − ηb instead of Nesterov's θ − η(g + μb)",
    step="optim.rule",
)
def nesterov_as_momentum(kwargs: dict[str, Any], solution: Solution) -> dict[str, Any] | None:
    return _theta(rerun("optim", kwargs, opt="momentum")) if kwargs.get("opt") == "nesterov" else None


@mistake(
    "optim",
    "decoupled-for-coupled",
    "applied the weight decay as AdamW does (θ(1 − ηλ)) where Adam adds λθ to the gradient",
    step="optim.weight-decay",
)
def decoupled_for_coupled(kwargs: dict[str, Any], solution: Solution) -> dict[str, Any] | None:
    if kwargs.get("opt") != "adam" or not kwargs.get("weight_decay"):
        return None
    return _theta(rerun("optim", kwargs, opt="adamw"))


@mistake(
    "optim",
    "coupled-for-decoupled",
    "added λθ to the gradient (Adam's L2 form) where AdamW shrinks θ by 1 − ηλ outside the adaptive step",
    step="optim.weight-decay",
)
def coupled_for_decoupled(kwargs: dict[str, Any], solution: Solution) -> dict[str, Any] | None:
    if kwargs.get("opt") != "adamw":
        return None
    decay = kwargs.get("weight_decay")
    return _theta(rerun("optim", kwargs, opt="adam", weight_decay=decay if decay is not None else 0.01))


@mistake("optim", "weight-decay-forgotten", "left out the weight decay", step="optim.weight-decay")
def weight_decay_forgotten(kwargs: dict[str, Any], solution: Solution) -> dict[str, Any] | None:
    if not solution.answer.get("weight_decay"):
        return None
    return _theta(rerun("optim", kwargs, weight_decay=0))


@mistake(
    "optim ewma",
    "bias-correction-confused",
    "gave the bias-corrected v̂_t for v_t, or v_t for v̂_t",
    step="ewma.first",
)
def bias_correction_confused(kwargs: dict[str, Any], solution: Solution) -> dict[str, Any] | None:
    answer = solution.answer
    return {"final": answer["final_corrected"], "final_corrected": answer["final"]}


def _epoch_off(command: str, kwargs: dict[str, Any], solution: Solution, shift: int) -> dict[str, Any] | None:
    lrs = solution.answer["lr"]
    epoch = len(lrs) - 1 + shift
    if epoch < 0:
        return None
    if epoch < len(lrs):
        return {"final": lrs[epoch]}
    answer = rerun(command, kwargs, epochs=epoch)
    return None if answer is None else {"final": answer["final"]}


for _kind in KINDS:
    _command = f"lr-schedule {_kind}"

    def _early(kwargs: dict[str, Any], solution: Solution, command: str = _command) -> dict[str, Any] | None:
        return _epoch_off(command, kwargs, solution, -1)

    def _late(kwargs: dict[str, Any], solution: Solution, command: str = _command) -> dict[str, Any] | None:
        return _epoch_off(command, kwargs, solution, 1)

    mistake(
        _command,
        "epoch-counted-from-one",
        "counted epochs from 1: gave the rate of the epoch before (epoch e is after e scheduler.step() calls)",
        step="lr-schedule.values",
    )(_early)
    mistake(
        _command,
        "one-step-too-many",
        "took one scheduler.step() too many: gave the rate of the next epoch",
        step="lr-schedule.values",
    )(_late)
