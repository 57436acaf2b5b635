"""``dlsolve optim``: optimizer steps as torch.optim takes them; ``optim ewma``: the EWMA step by step."""

from __future__ import annotations

from typing import Annotated, Any

from dlsolve import parsing
from dlsolve.commands import Assignment, Labels, Vector, option
from dlsolve.registry import command
from dlsolve.solution import Solution
from dlsolve.values import Matrix


def _optimizer(value: Any, flag: str) -> str:
    from dlsolve.solvers.optim_rules import OPTIMIZERS

    return parsing.parse_choice(value, flag, OPTIMIZERS)


def _convention(value: Any, flag: str) -> str:
    return parsing.parse_choice(value, flag, ("torch", "textbook"))


def _steps(value: Any, flag: str) -> int:
    return parsing.parse_int(value, flag, minimum=1)


@command("optim")
def optim(
    f: Annotated[
        str | None,
        option("--f", help="The loss f(params), in the grammar of backprop: `sum((A @ w - b)**2)`, `w**2`."),
    ] = None,
    at: Annotated[
        list[Assignment] | None,
        option(
            "--at",
            parse=parsing.parse_assignment,
            help="NAME=VALUE, repeated: the starting values of the parameters and the constants' values "
            '(w=1, "w=0,0", "A=1,2;0,1").',
        ),
    ] = None,
    params: Annotated[
        Labels | None,
        option(
            "--params",
            parse=parsing.parse_labels,
            help="What is optimized: a,b (default: every name of f with a value).",
        ),
    ] = None,
    grads: Annotated[
        Matrix | None,
        option(
            "--grads",
            parse=parsing.parse_matrix,
            help='Given gradients instead of --f: one row per step, the parameters\' entries in order ("4", "2;1").',
        ),
    ] = None,
    opt: Annotated[
        str, option("--opt", parse=_optimizer, help="sgd | momentum | nesterov | adagrad | rmsprop | adam | adamw.")
    ] = "sgd",
    lr: Annotated[Any, option("--lr", parse=parsing.parse_scalar, help="Learning rate (default: PyTorch's).")] = None,
    steps: Annotated[
        int | None, option("--steps", parse=_steps, help="Steps (default: one per --grads row, else 1).")
    ] = None,
    momentum: Annotated[
        Any, option("--momentum", parse=parsing.parse_scalar, help="Momentum μ (sgd, momentum, nesterov, rmsprop).")
    ] = None,
    dampening: Annotated[
        Any, option("--dampening", parse=parsing.parse_scalar, help="SGD's dampening τ: b ← μb + (1 − τ)g.")
    ] = None,
    betas: Annotated[
        Vector | None, option("--betas", parse=parsing.parse_vector, help="Adam's b1,b2 (default 0.9,0.999).")
    ] = None,
    eps: Annotated[Any, option("--eps", parse=parsing.parse_scalar, help="ε (default 1e-8; Adagrad 1e-10).")] = None,
    alpha: Annotated[
        Any, option("--alpha", parse=parsing.parse_scalar, help="RMSprop's smoothing α (default 0.99).")
    ] = None,
    weight_decay: Annotated[
        Any,
        option(
            "--weight-decay",
            parse=parsing.parse_scalar,
            help="λ: g + λθ (coupled), or θ(1 − ηλ) for adamw (default 0; adamw 0.01).",
        ),
    ] = None,
    amsgrad: Annotated[bool, option("--amsgrad", help="Adam/AdamW: use the running maximum of v.")] = False,
    initial_accumulator: Annotated[
        Any, option("--initial-accumulator", parse=parsing.parse_scalar, help="Adagrad's s₀ (default 0).")
    ] = None,
    lr_decay: Annotated[
        Any, option("--lr-decay", parse=parsing.parse_scalar, help="Adagrad: η_t = η/(1 + (t − 1)·lr_decay).")
    ] = None,
    centered: Annotated[bool, option("--centered", help="RMSprop: subtract the squared mean gradient.")] = False,
    convention: Annotated[
        str,
        option(
            "--convention", parse=_convention, help="torch (default) | textbook (EMA momentum, look-ahead Nesterov)."
        ),
    ] = "torch",
    use_float: Annotated[bool, option("--float", help="Float64 even for exact inputs.")] = False,
    full: Annotated[bool, option("--full", help="Every step in the table.")] = False,
) -> Solution:
    """Optimizer steps by hand, exactly as torch.optim (2.13) takes them.

    The update rule, step 1 substituted, then a row per step: gradient, state (buffer, m, v, m̂, v̂,
    accumulator), update, new parameters, loss. Gradients come from --f (the backprop grammar, with
    --at) or are given with --grads (one row per step). SGD, momentum and Nesterov are exact for
    exact inputs; Adagrad, RMSprop, Adam and AdamW run in float64 (surds shown for step 1).

    Examples:

      dlsolve optim --f "w**2" --at w=1 --opt adam --lr 0.1 --steps 2

      dlsolve optim --f "sum((A @ w - b)**2)" --at "A=1,2;0,1" --at "b=1,2" --at "w=0,0" --params w --opt momentum

      dlsolve optim --grads "2;1" --at w=1 --opt nesterov --lr 0.1 --convention textbook
    """
    from dlsolve.errors import BadInput
    from dlsolve.solvers import optim as solver

    values = parsing.assignments_dict(at, "--at")  # type: ignore[arg-type]
    names = list(params) if params is not None else None  # type: ignore[call-overload]
    keywords = {
        "steps": steps, "lr": lr, "momentum": momentum, "dampening": dampening, "betas": betas, "eps": eps,
        "alpha": alpha, "weight_decay": weight_decay, "amsgrad": amsgrad, "initial_accumulator": initial_accumulator,
        "lr_decay": lr_decay, "centered": centered, "convention": convention, "use_float": use_float, "full": full,
    }  # fmt: skip
    if f is not None:
        if grads is not None:
            raise BadInput("give either --f or --grads, not both", option="--grads")
        parameters, objective = solver.from_expression(f, values, names)
        return solver.optim(opt, parameters, objective=objective, **keywords)
    if grads is None:
        raise BadInput("give the function (--f) or the gradients (--grads, one row per step)", option="--f")
    return solver.optim(opt, solver.params_from_values(values, names), grads=_rows(grads), **keywords)


def _rows(matrix: Matrix) -> list[list[Any]]:
    if matrix.is_large:
        return matrix.array.tolist()  # type: ignore[union-attr]
    return [list(row) for row in matrix.rows]


@command("optim ewma")
def ewma(
    values: Annotated[
        Vector, option("--values", parse=parsing.parse_vector, help="The sequence x_1, x_2, ... (10,10).")
    ],
    beta: Annotated[Any, option("--beta", parse=parsing.parse_scalar, help="β in [0, 1): the weight of the past.")],
    bias_correction: Annotated[
        bool, option("--bias-correction", help="Also v̂_t = v_t/(1 − βᵗ), as Adam corrects its moments.")
    ] = False,
    full: Annotated[bool, option("--full", help="Every t in the table.")] = False,
) -> Solution:
    """The exponentially weighted moving average v_t = βv_{t−1} + (1 − β)x_t from v₀ = 0, step by step.

    Exact for exact inputs; with --bias-correction also v̂_t = v_t/(1 − βᵗ).

    Example: dlsolve optim ewma --values 10,10 --beta 0.5 --bias-correction
    """
    from dlsolve.solvers.ewma import ewma as solve

    return solve(list(values), beta, bias_correction=bias_correction, full=full)  # type: ignore[call-overload]
