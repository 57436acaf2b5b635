"""``dlsolve train-loop``: the classic bugs of a PyTorch training loop, by static analysis."""

from __future__ import annotations

from typing import Annotated

from dlsolve import parsing
from dlsolve.commands import argument, option
from dlsolve.errors import ExitStatus
from dlsolve.registry import command
from dlsolve.solution import Solution
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

    Rules (stable codes): DL001 zero_grad missing, DL002 zero_grad between backward and step, DL003
    step before backward, DL004 zero_grad outside the loop, DL005 backward missing, DL010 loss
    arguments (targets, predictions) instead of (input, target), DL020 softmax before
    CrossEntropyLoss, DL021 sigmoid before BCEWithLogitsLoss, DL022 NLLLoss without log-softmax,
    DL023 BCELoss on logits, DL030 evaluation without model.eval(), DL031 evaluation without
    torch.no_grad(), DL032 training after model.eval() without model.train(), DL040 loss tensor
    accumulated, DL041 backward() on a loss computed under no_grad, DL042 scheduler.step() before
    optimizer.step().
    Exit status 1 when there are findings, 0 when clean.

    Examples:

      dlsolve train-loop tests/data/train_loops/exam_2b.py

      dlsolve train-loop tests/data/train_loops/exam_2b.py --diff -q > fix.patch

      cat train.py | dlsolve train-loop - --json
    """
    from dlsolve.solvers import train_loop as solver

    return solver.solve(file.text, file.name, diff=diff)
