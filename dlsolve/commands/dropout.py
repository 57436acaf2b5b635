"""``dlsolve dropout``: inverted dropout as PyTorch runs it (and the classic variant), with a given mask."""

from __future__ import annotations

from typing import Annotated, Any

from dlsolve import parsing
from dlsolve.commands import option
from dlsolve.commands.norm import TENSOR_HELP
from dlsolve.registry import command
from dlsolve.solution import Solution
from dlsolve.values import Tensor


def _convention(value: Any, flag: str) -> str:
    return parsing.parse_choice(value, flag, ("inverted", "classic"))


@command("dropout")
def dropout(
    x: Annotated[Tensor, option("--x", "-x", parse=parsing.parse_tensor, help=f"Input x: {TENSOR_HELP}")],
    p: Annotated[Any, option("--p", parse=parsing.parse_scalar, help="Drop probability p, in [0, 1).")],
    mask: Annotated[
        Tensor | None,
        option("--mask", parse=parsing.parse_tensor, help="The mask, x's shape: 1 kept, 0 dropped (training)."),
    ] = None,
    eval_mode: Annotated[bool, option("--eval", help="Eval mode (model.eval()): dropout is off.")] = False,
    convention: Annotated[
        str,
        option(
            "--convention",
            parse=_convention,
            help="inverted (PyTorch: scale 1/(1 − p) in training) or classic (scale 1 − p at test time).",
        ),
    ] = "inverted",
) -> Solution:
    """Dropout with a given mask: y = x·mask/(1 − p) in training, y = x in eval (PyTorch's nn.Dropout).

    E[mask] = 1 − p, so inverted dropout keeps E[y] = x and needs nothing at test time; the classic
    variant (--convention classic) trains with y = x·mask and scales by 1 − p at test time.

    Example: dlsolve dropout --x "1,2,3,4" --p 0.5 --mask 1,0,0,1

    Example: dlsolve dropout --x "1,2,3,4" --p 0.5 --eval --convention classic
    """
    from dlsolve.solvers.dropout import dropout as solve

    return solve(x, p, mask, training=not eval_mode, convention=convention)
