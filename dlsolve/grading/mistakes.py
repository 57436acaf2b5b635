"""The registry of named mistakes: each a small, documented recomputation of a command's answer.

A mistake module beside a solver (``dlsolve/solvers/conv_mistakes.py``) registers its mistakes::

    @mistake("conv-shape", "no-plus-one", "forgot the + 1: ⌊(in + 2p − d(k − 1) − 1)/s⌋", step="conv.output-size")
    def no_plus_one(kwargs, solution):
        ...  # the answer fields as the mistake computes them, or None where it does not apply

``kwargs`` are the command function's parsed keyword arguments, ``solution`` the right solution.
A wrong answer is diagnosed by the mistakes whose recomputation gives exactly the student's answer.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from dlsolve.solvers.lr_schedule_kinds import KINDS as SCHEDULE_KINDS

if TYPE_CHECKING:
    from dlsolve.solution import Solution

Recompute = Callable[[dict[str, Any], "Solution"], dict[str, Any] | None]

#: Command -> the module that registers its mistakes (imported when that command is graded).
MISTAKE_MODULES: dict[str, str] = {
    "conv-shape": "dlsolve.solvers.conv_mistakes",
    "backprop": "dlsolve.solvers.backprop_mistakes",
    "filter apply": "dlsolve.solvers.filter_mistakes",
    "filter pool": "dlsolve.solvers.filter_mistakes",
    "attention": "dlsolve.solvers.attention_mistakes",
    "sgd-limit": "dlsolve.solvers.sgd_limit_mistakes",
    "convergence-bound": "dlsolve.solvers.convergence_mistakes",
    "optim": "dlsolve.solvers.optim_mistakes",
    "optim ewma": "dlsolve.solvers.optim_mistakes",
    **{f"lr-schedule {kind}": "dlsolve.solvers.optim_mistakes" for kind in SCHEDULE_KINDS},
    "rnn": "dlsolve.solvers.rnn_mistakes",
    "decode greedy": "dlsolve.solvers.decode_mistakes",
    "decode beam": "dlsolve.solvers.decode_mistakes",
    "norm batch": "dlsolve.solvers.norm_mistakes",
    "dropout": "dlsolve.solvers.norm_mistakes",
    "init kaiming-normal": "dlsolve.solvers.norm_mistakes",
    "init xavier-normal": "dlsolve.solvers.norm_mistakes",
}


class Mistake:
    """A named mistake of ``command``: ``explanation`` in one line, the ``step`` kind where the
    working differs, and ``recompute(kwargs, solution)`` giving the answer fields it produces."""

    def __init__(self, command: str, name: str, explanation: str, step: str, recompute: Recompute) -> None:
        self.command = command
        self.name = name
        self.explanation = explanation
        self.step = step
        self.recompute = recompute

    def __repr__(self) -> str:
        return f"Mistake({self.command!r}, {self.name!r})"


#: Registered mistakes by command, in registration order.
MISTAKES: dict[str, list[Mistake]] = {}


def mistake(command: str, name: str, explanation: str, *, step: str = "") -> Callable[[Recompute], Recompute]:
    """Register ``recompute`` as mistake ``name`` of ``command``; returns it unchanged."""

    def register(recompute: Recompute) -> Recompute:
        MISTAKES.setdefault(command, []).append(Mistake(command, name, explanation, step, recompute))
        return recompute

    return register


def mistakes_for(command: str) -> list[Mistake]:
    """The mistakes registered for ``command`` (its module imported on first use)."""
    module = MISTAKE_MODULES.get(command)
    if module is not None:
        importlib.import_module(module)
    return MISTAKES.get(command, [])


def rerun(command: str, kwargs: dict[str, Any], **changes: Any) -> dict[str, Any] | None:
    """The answer of ``command`` with some arguments changed (None when it then has no answer)."""
    from dlsolve import registry
    from dlsolve.errors import DlsolveError

    found = registry.get(command)
    assert found is not None, command
    try:
        return found.function(**{**kwargs, **changes}).answer
    except DlsolveError:
        return None
