"""``dlsolve lr-curve``: whether each run's learning rate is too high, too low or fine, from its losses."""

from __future__ import annotations

from typing import Annotated

from dlsolve import parsing
from dlsolve.commands import option
from dlsolve.registry import command
from dlsolve.solution import Solution
from dlsolve.values import LossSeries


@command("lr-curve")
def lr_curve(
    loss: Annotated[
        list[LossSeries] | None,
        option(
            "--loss",
            parse=parsing.parse_loss_series,
            help="A run's losses '2.3,1.9,...' (repeat per run), or @file.csv (a column per run).",
        ),
    ] = None,
    label: Annotated[
        list[str] | None,
        option("--label", parse=parsing.parse_labels, help="Label of the typed runs, in order (default A, B, C, ...)."),
    ] = None,
) -> Solution:
    """Say from loss curves whether each run's learning rate is too high, too low or fine.

    Each curve is diverging (NaN/inf or growing: learning rate too high), oscillating without
    progress (too high), too slow (still falling almost linearly, far from a plateau: too low) or
    healthy; the evidence (growth, direction changes, swing/drop, final speed) and the thresholds
    are shown, with a plot of all curves. A CSV file has one column per run, labels in the header.

    Examples:

      dlsolve lr-curve --loss 2.3,2.8,4.1,7.9,15 --label A --loss 2.3,1.2,0.7,0.5,0.45,0.43 --label B

      dlsolve lr-curve --loss 2.3,2.25,2.2,2.15,2.1,2.05 --loss 2.3,1.5,2.1,1.4,2.2,1.6,2.0 -q

      dlsolve lr-curve --loss @tests/data/lr_curve_exam.csv
    """
    from dlsolve.solvers.lr_curve import solve_series

    labels = [name for names in label or [] for name in names]  # type: ignore[attr-defined]
    return solve_series(list(loss or []), labels)
