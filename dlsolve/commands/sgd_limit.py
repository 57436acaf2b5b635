"""``dlsolve sgd-limit``: where GD/SGD/preconditioned SGD converge on least squares (implicit bias)."""

from __future__ import annotations

from typing import Annotated, Any

from dlsolve import parsing
from dlsolve.commands import Vector, option
from dlsolve.registry import command
from dlsolve.solution import Solution
from dlsolve.values import Matrix, Preconditioner


def _schedule(value: Any, flag: str) -> str:
    from dlsolve.solvers.sgd_limit import SCHEDULES

    return parsing.parse_choice(value, flag, SCHEDULES)


@command("sgd-limit")
def sgd_limit(
    x: Annotated[
        Matrix,
        option(
            "--x",
            parse=parsing.parse_matrix,
            help="Data rows x_i of X: '1,0.1,0.01' (one point), '1,0,1;0,1,1', @X.npy.",
        ),
    ],
    y: Annotated[
        Vector | None,
        option("--y", parse=parsing.parse_vector, help="Targets y_i (default: all ones, stated as a warning)."),
    ] = None,
    theta0: Annotated[
        Vector | None, option("--theta0", parse=parsing.parse_vector, help="Starting point theta_0 (default 0).")
    ] = None,
    p: Annotated[
        Vector | None,
        option("--p", parse=parsing.parse_vector, help="Sampling probabilities p_i, sum 1 (default uniform)."),
    ] = None,
    reweight: Annotated[bool, option("--reweight", help="Scale the step of point i by 1/(n p_i).")] = False,
    precond: Annotated[
        Preconditioner,
        option(
            "--precond",
            parse=parsing.parse_preconditioner,
            help="identity | diag:a,b,c | an SPD matrix '2,1;1,2' | adagrad | rmsprop | adam | epoch-rms.",
        ),
    ] = "identity",
    weight_decay: Annotated[
        Any,
        option(
            "--weight-decay",
            parse=parsing.parse_scalar,
            help="lambda >= 0 added to the gradient as lambda*theta (ridge).",
        ),
    ] = 0,
    full_batch: Annotated[bool, option("--full-batch", help="Mean-loss gradient every step (GD).")] = False,
    simulate: Annotated[bool, option("--simulate", help="Also run the optimizer (NumPy) and plot it.")] = False,
    steps: Annotated[
        int | None, option("--steps", parse=parsing.parse_int, minimum=1, help="Simulation steps (default 2000).")
    ] = None,
    lr: Annotated[
        Any, option("--lr", parse=parsing.parse_positive, help="Simulation step size eta (default: a stable one).")
    ] = None,
    seed: Annotated[int, option("--seed", parse=parsing.parse_int, minimum=0, help="Random seed of the sampling.")] = 0,
    schedule: Annotated[
        str, option("--schedule", parse=_schedule, help="Simulation steps: auto | constant | decay (eta*tau/(tau+t)).")
    ] = "auto",
) -> Solution:
    """Where GD/SGD/preconditioned SGD converge on least squares (implicit bias), with the derivation.

    f_i(theta) = (y_i - x_i^T theta)^2; update theta <- theta - eta M grad f_i(theta), point i drawn
    with probability p_i. Fixed SPD M, consistent system: the interpolating solution nearest theta_0 in
    the M^{-1} norm, theta_0 + M X^T (X M X^T)^+ (y - X theta_0). Inconsistent: constant steps do not
    converge; decaying steps give p-weighted least squares (OLS with --reweight or --full-batch).
    Weight decay: ridge. Adaptive M_t: closed form when all rows are parallel (one data point),
    otherwise a labelled simulation. Exact inputs give exact fractions.

    Examples:

      dlsolve sgd-limit --x "1,0.1,0.01" --y 1

      dlsolve sgd-limit --x "1,0.1,0.01" --y 1 --precond epoch-rms --simulate

      dlsolve sgd-limit --x "1,1,0;0,1,1" --y "1,2" --p "0.9,0.1" --precond "diag:1,2,3"

      dlsolve sgd-limit --x "1;1;1" --y "1,2,4" --full-batch --weight-decay 0.5
    """
    from dlsolve.solvers.sgd_limit import solve_sgd_limit

    if isinstance(precond, str):  # the default, when called from Python without the CLI's parsing
        precond = parsing.parse_preconditioner(precond, "--precond")
    return solve_sgd_limit(
        x,
        y=y,
        theta0=theta0,
        p=p,
        reweight=reweight,
        precond=precond,
        weight_decay=weight_decay,
        full_batch=full_batch,
        simulate=simulate,
        steps=steps,
        lr=lr,
        seed=seed,
        schedule=schedule,
    )  # type: ignore[arg-type]
