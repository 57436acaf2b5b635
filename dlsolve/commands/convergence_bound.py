"""``dlsolve convergence-bound``: SGD's contraction factor on interpolating least squares, derived and checked."""

from __future__ import annotations

from typing import Annotated, Any

from dlsolve import parsing
from dlsolve.commands import Choice, option
from dlsolve.registry import command
from dlsolve.solution import Solution
from dlsolve.values import Matrix


def _sampling(value: Any, flag: str) -> str | list[Any]:
    """A sampling scheme's name, or the probabilities p_i."""
    from dlsolve.solvers.convergence import SCHEMES

    if isinstance(value, str) and value.strip().lower() in SCHEMES:
        return value.strip().lower()
    return parsing.parse_vector(value, flag)


@command("convergence-bound")
def convergence_bound(
    x: Annotated[
        Matrix | None,
        option("--x", parse=parsing.parse_matrix, help="Data X, n x d, one point per row (1,0;0,2 or @file.csv/.npy)."),
    ] = None,
    p: Annotated[
        Choice,
        option(
            "--p", parse=_sampling, help="Sampling: uniform, importance (p_i ∝ ||x_i||^2) or probabilities 0.2,0.8."
        ),
    ] = "uniform",
    eta: Annotated[
        Any,
        option("--eta", parse=parsing.parse_positive, help="Step size > 0 (default: the best of the textbook bound)."),
    ] = None,
    y: Annotated[
        Any, option("--y", parse=parsing.parse_vector, help="Targets y (checked: X theta = y must be solvable).")
    ] = None,
    half: Annotated[bool, option("--half", help="Use f_i = 1/2 (y_i - x_i^T theta)^2.")] = False,
    eps: Annotated[
        Any, option("--eps", parse=parsing.parse_positive, help="Steps to reduce the loss by this factor (0<eps<1).")
    ] = None,
    simulate: Annotated[bool, option("--simulate", help="Monte Carlo SGD runs versus the bound.")] = False,
    runs: Annotated[
        int, option("--runs", parse=parsing.parse_int, minimum=1, help="Monte Carlo runs (with --simulate).")
    ] = 200,
    steps: Annotated[
        int, option("--steps", parse=parsing.parse_int, minimum=1, help="SGD steps per run (with --simulate).")
    ] = 50,
    seed: Annotated[
        int, option("--seed", parse=parsing.parse_int, minimum=0, help="Random seed (with --simulate).")
    ] = 0,
    symbolic: Annotated[bool, option("--symbolic", help="Only the SymPy derivation, no data.")] = False,
    full: Annotated[
        bool,
        option("--full", help="Also beta, the exact factor, both sampling schemes, Kaczmarz and the identity check."),
    ] = False,
) -> Solution:
    """SGD on interpolating least squares: E[L(theta_t+1) | theta_t] <= (1 - rho) L(theta_t), derived and checked.

    f_i = (y_i - x_i^T theta)^2 (--half: 1/2 of it), L = sum_i p_i f_i, H = sum_i p_i x_i x_i^T,
    R^2 = max ||x_i||^2, lambda_min = smallest NONZERO eigenvalue of H. Shows the derivation, the
    textbook rho(eta) = 4 eta lambda_min - 4 eta^2 lambda_max R^2 and its best eta, the tighter
    beta = max_i x_i^T H x_i, the exact worst-case factor (a generalised eigenvalue), uniform versus
    importance sampling and the randomized Kaczmarz rate.

    Example: dlsolve convergence-bound --x "1,0,0;0,2,0" --eps 1e-3

    Example: dlsolve convergence-bound --x "1,1,0;0,1,1" --p importance --simulate --runs 100

    Example: dlsolve convergence-bound --symbolic --half
    """
    from dlsolve.solvers.convergence import convergence_bound as solve

    return solve(
        x,
        p=p,
        eta=eta,
        y=y,
        half=half,
        eps=eps,
        simulate=simulate,
        runs=runs,
        steps=steps,
        seed=seed,
        symbolic=symbolic,
        full=full,
    )
