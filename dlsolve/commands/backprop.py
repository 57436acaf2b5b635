"""``dlsolve backprop``: forward and backward pass through a computational graph, by hand."""

from __future__ import annotations

from typing import Annotated

from dlsolve import parsing
from dlsolve.commands import Assignment, Labels, option
from dlsolve.registry import command
from dlsolve.solution import Solution


@command("backprop")
def backprop(
    f: Annotated[
        str,
        option(
            "--f",
            help="f: numbers, names, + - * / ** @, unary -, .T, exp log sqrt abs sin cos tanh sigmoid relu "
            "leaky_relu(x, slope) softplus max(a, b) min(a, b) sum mean softmax log_softmax (last dim), "
            "mse(pred, target) bce(p, y) bce_with_logits(z, y) cross_entropy(logits, target).",
        ),
    ],
    at: Annotated[
        list[Assignment] | None,
        option(
            "--at",
            parse=parsing.parse_assignment,
            help="NAME=VALUE, repeated: a scalar 'x=2', a vector 'b=1,2' (1-D), a matrix 'W=1,2;3,4' (2-D), "
            "or NAME=@file (.npy/.csv/.txt). Names without a value: the derivative as a formula.",
        ),
    ] = None,
    wrt: Annotated[
        Labels | None,
        option(
            "--wrt", parse=parsing.parse_labels, help="Gradients to report: 'W1,b1' (default: every name with a value)."
        ),
    ] = None,
    check: Annotated[bool, option("--check", help="Compare with central finite differences.")] = False,
    float_: Annotated[bool, option("--float", help="Compute in float64 even for exact inputs.")] = False,
) -> Solution:
    """Gradients of f by backpropagation: the graph, the forward pass, the backward pass.

    One node per operation; forward in topological order; backward in reverse order, each node's
    upstream gradient times its local derivative (∂σ/∂z = σ(1 − σ), ∂(W x)/∂W = ḡ xᵀ, softmax +
    cross-entropy: p − y), gradients adding at forks. PyTorch's autograd conventions (relu'(0) = 0,
    abs'(0) = 0, max/min split ties) and broadcasting; f must be a scalar. Exact values for exact
    inputs (exp, log, sqrt, sigmoid kept symbolic with a decimal beside).

    Examples:

      dlsolve backprop --f "(x + y) * z" --at x=-2 --at y=5 --at z=-4

      dlsolve backprop --f "mse(sigmoid(W @ x + b), y)" --at "W=1,2;3,4" --at "b=0,0" --at "x=1,2" --at y=1

      dlsolve backprop --f "cross_entropy(X @ W, t)" --at "X=1,0;0,1" --at "W=1,-1,0;0,1,2" --at "t=0,2" --check

      dlsolve backprop --f "z / sigmoid(z)"
    """
    from dlsolve.solvers.backprop import solve_backprop

    values = parsing.assignments_dict(at, "--at")  # type: ignore[arg-type]
    return solve_backprop(f, values, list(wrt) if wrt else None, check=check, exact=False if float_ else None)
