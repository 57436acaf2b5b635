"""``dlsolve train-loop``: the classic bugs of a PyTorch training loop, by static analysis."""

from __future__ import annotations

from typing import Annotated

from dlsolve import parsing
from dlsolve.commands import argument, option
from dlsolve.errors import ExitStatus
from dlsolve.registry import command
from dlsolve.solution import Solution
from dlsolve.solvers.train_loop.rules import rules_help
from dlsolve.values import SourceText


@command("train-loop", exit_status=lambda solution: ExitStatus(int(not solution.answer["clean"])))
def train_loop(
    file: Annotated[
        SourceText,
        argument(
            "FILE", parse=parsing.parse_source_file, help="A Python file of PyTorch training code, or - for stdin."
        ),
    ],
    diff: Annotated[
        bool, option("--diff", help="Also print a corrected version (unified diff) of the mechanical fixes.")
    ] = False,
) -> Solution:
    """Find the classic bugs of a PyTorch training loop by static analysis (the code is never run).

    Rules (stable codes): {rules}

    Exit status 1 when there are findings, 0 when no rule fires (the answer then says what no rule
    checks) or the file has no training loop.

    Examples:

      dlsolve train-loop tests/data/train_loops/exam_2b.py

      dlsolve train-loop tests/data/train_loops/exam_2b.py --diff -q > fix.patch

      cat train.py | dlsolve train-loop - --json
    """
    from dlsolve.solvers import train_loop as solver

    return solver.solve(file.text, file.name, diff=diff)


# The rule list is written once, in the solver package (a light module: the analysis is not imported).
train_loop.__doc__ = (train_loop.__doc__ or "").replace("{rules}", rules_help())
