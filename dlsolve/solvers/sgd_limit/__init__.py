"""Where GD, SGD and preconditioned SGD converge on least squares (implicit bias), derived exactly.

Conventions: data rows ``x_i`` of ``X`` (``n x d``), targets ``y``, ``f_i(theta) = (y_i - x_i^T theta)^2``
so ``grad f_i(theta) = -2 (y_i - x_i^T theta) x_i``; update ``theta <- theta - eta M (w_i grad f_i(theta)
+ lambda theta)`` with point ``i`` drawn with probability ``p_i``; ``w_i = 1/(n p_i)`` with reweighting,
else 1; ``lambda`` the weight decay (added to the gradient, as ``torch.optim`` does). With a full batch
the gradient is that of the mean loss ``(1/n) sum_i f_i``. The expected update is
``-eta M grad F`` with ``F(theta) = sum_i c_i f_i(theta) + (lambda/2) ||theta||^2`` where ``c_i = p_i w_i``
(``c_i = 1/n`` with ``--reweight`` or ``--full-batch``).

Results (``M`` fixed and symmetric positive definite, ``r_0 = y - X theta_0``, ``K = X M X^T``):

* consistent (``X theta = y`` solvable): every update adds a multiple of ``M x_i``, so
  ``theta_t in theta_0 + M rowspace(X)``; the limit is the interpolating point of that set,
  ``theta* = theta_0 + M X^T K^+ r_0``, the solution nearest ``theta_0`` in the ``M^{-1}`` norm;
* inconsistent: constant steps keep fluctuating (noise floor); decaying steps reach the minimiser of
  ``sum_i c_i f_i`` in ``theta_0 + M rowspace(X)``: ``theta* = theta_0 + M X^T a`` with
  ``K C K a = K C r_0`` (``C = diag(c)``);
* weight decay ``lambda > 0``: ``(X^T C X + (lambda/2) I) theta* = X^T C y`` (ridge), whatever ``theta_0``;
* adaptive ``M_t`` (adagrad, rmsprop, adam, epoch-rms) when all rows are parallel to one ``u``:
  every gradient is a multiple of ``u``, every diagonal entry of ``M_t`` is the same scalar over
  ``|u_j|``, so ``M_t g`` is a multiple of ``sign(u)``: the limit is the min-norm answer for the
  fixed ``M = diag(1/|u_j|)``. Otherwise no closed form: a simulation, labelled as such.

Exact inputs (up to ``EXACT_MAX_ENTRIES`` entries of ``X``) are solved with
:mod:`dlsolve.solvers.linalg_exact` (Fractions, no SymPy: the exam's inputs must answer faster than
``import sympy``); large or float inputs with NumPy (``lstsq`` on ``C^{1/2} X M^{1/2}``, SVD-based).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from dlsolve import fmt
from dlsolve.errors import BadInput, InvalidProblem
from dlsolve.solution import Solution, Step
from dlsolve.solvers.sgd_limit.closed_form import Limit, closed_form, data
from dlsolve.solvers.sgd_limit.problem import EXACT_MAX_ENTRIES, SHOWN_ENTRIES, Number, Problem, build_problem
from dlsolve.solvers.sgd_limit.working import latex_vec, residual_of, vec, working
from dlsolve.solvers.sgd_limit_simulation import SimulationSettings
from dlsolve.values import Matrix, Scalar

__all__ = ["EXACT_MAX_ENTRIES", "SCHEDULES", "build_problem", "solve_sgd_limit"]

DEFAULT_STEPS = 2000
MAX_STEPS = 1_000_000
SCHEDULES = ("auto", "constant", "decay")


def _json_list(values: Sequence[Number]) -> list[float]:
    return [float(v) for v in values]


def float_data(problem: Problem) -> tuple[Any, Any, Any, Any]:
    """``X`` (all rows), ``y``, ``theta_0`` and the objective weights ``c`` as float64 arrays."""
    import numpy as np

    return tuple(np.asarray(array, dtype=np.float64) for array in data(problem))  # type: ignore[return-value]


def _simulation_settings(
    problem: Problem, limit: Limit, steps: int | None, lr: Scalar | None, schedule: str, seed: int
) -> SimulationSettings:
    """Defaults: a stable constant step where SGD converges with one, else a decaying step."""
    import numpy as np

    if schedule == "auto":
        converges = limit.converges_constant and not problem.precond.is_adaptive
        schedule = "constant" if converges or problem.precond.kind == "adagrad" else "decay"
    if lr is None:
        x, y, theta0, _ = float_data(problem)
        if problem.precond.is_adaptive:
            row_sums = np.abs(x).sum(axis=1)
            moving = row_sums > 0  # all-zero rows never move theta
            scale = float(np.max(np.abs(y - x @ theta0)[moving] / row_sums[moving], initial=0.0))
            lr = (0.5 if problem.precond.kind == "adagrad" else 0.1) * (scale or 0.1)
        else:
            matrix = _float_matrix(problem)
            decay = float(problem.weight_decay)
            m_x = x if matrix is None else x @ matrix.T
            if problem.full_batch:
                vector = np.ones(problem.d) / np.sqrt(problem.d)
                largest = 1.0
                for _ in range(100):  # power iteration for lambda_max(M H), H = (2/n) X^T X + decay I
                    image = (2.0 / problem.n) * (x.T @ (x @ vector)) + decay * vector
                    image = image if matrix is None else matrix @ image
                    largest = float(np.linalg.norm(image))
                    vector = image / largest
                lr = 1.0 / largest
            else:
                weights = np.array([float(w) for w in problem.sample_weights])
                m_largest = 1.0 if matrix is None else float(np.abs(matrix).sum(axis=1).max())
                lr = 1.0 / float(np.max(2 * weights * np.einsum("ij,ij->i", x, m_x) + decay * m_largest))
    return SimulationSettings(steps or DEFAULT_STEPS, float(lr), schedule, seed)


def _float_matrix(problem: Problem) -> Any:
    """The fixed ``M`` as a float64 array (None for the identity)."""
    import numpy as np

    if problem.m_diagonal is not None:
        return np.diag([float(v) for v in problem.m_diagonal])
    if problem.m_rows is not None:
        return np.array(problem.m_rows, dtype=np.float64)
    return None


def _simulate(problem: Problem, limit: Limit, settings: SimulationSettings) -> Any:
    import numpy as np

    from dlsolve.solvers.sgd_limit_simulation import simulate

    x, y, theta0, weights = float_data(problem)
    target = None if limit.theta is None else np.array([float(v) for v in limit.theta])
    trajectory = simulate(
        x,
        y,
        theta0,
        probabilities=np.array([float(v) for v in problem.p]),
        sample_weights=np.array([float(v) for v in problem.sample_weights]),
        objective_weights=weights,
        precond=problem.precond.kind if problem.precond.is_adaptive else "fixed",
        matrix=None if problem.precond.is_adaptive else _float_matrix(problem),
        weight_decay=float(problem.weight_decay),
        full_batch=problem.full_batch,
        steps=settings.steps,
        lr=settings.lr,
        schedule=settings.schedule,
        seed=settings.seed,
        target=target,
    )
    finite = np.all(np.isfinite(trajectory.theta)) and all(np.isfinite(trajectory.losses))
    if not finite or max(trajectory.losses) > 1e150:
        message = f"the simulation diverged with step size {fmt.decimal(settings.lr)}; choose a smaller --lr"
        raise InvalidProblem(message, option="--lr")
    return trajectory


# --------------------------------------------------------------------------- entry point


def solve_sgd_limit(
    x: Matrix,
    *,
    simulate: bool = False,
    steps: int | None = None,
    lr: Scalar | None = None,
    seed: int = 0,
    schedule: str = "auto",
    **options: Any,
) -> Solution:
    """Where (preconditioned) SGD started at ``theta0`` converges on least squares (module docstring).

    ``options`` are those of :func:`build_problem` (``y``, ``theta0``, ``p``, ``reweight``, ``precond``,
    ``weight_decay``, ``full_batch``); ``simulate`` with ``steps``, ``lr``, ``seed``, ``schedule`` runs
    the optimizer too.
    """
    try:
        return _solve(x, simulate=simulate, steps=steps, lr=lr, seed=seed, schedule=schedule, **options)
    except OverflowError:
        raise InvalidProblem("the answer (or a simulated value) is beyond float64 range") from None


def _working(problem: Problem, limit: Limit, run: tuple[SimulationSettings, Any] | None) -> list[Step]:
    """The steps (built when a renderer asks); a value beyond float64 range is refused as in the answer."""
    try:
        return working(problem, limit, run)
    except OverflowError:
        raise InvalidProblem("the answer (or a simulated value) is beyond float64 range") from None


def _solve(
    x: Matrix, *, simulate: bool, steps: int | None, lr: Scalar | None, seed: int, schedule: str, **options: Any
) -> Solution:
    if steps is not None and steps > MAX_STEPS:
        raise BadInput(f"at most {MAX_STEPS} simulation steps, got {steps}", option="--steps")
    problem = build_problem(x, **options)
    limit = closed_form(problem)
    if limit.direction is not None and problem.precond.kind != "adagrad":
        limit.converges_constant = False  # normalised steps of size ~eta: they hover within O(eta) of the limit
    simulation: dict[str, Any] | None = None
    run: tuple[SimulationSettings, Any] | None = None
    theta = limit.theta
    if simulate or limit.case == "simulation":
        settings = _simulation_settings(problem, limit, steps, lr, schedule, seed)
        trajectory = _simulate(problem, limit, settings)
        run = (settings, trajectory)
        simulation = {
            "steps": settings.steps,
            "lr": settings.lr,
            "schedule": settings.schedule,
            "seed": settings.seed,
            "theta": trajectory.theta.tolist(),
            "loss": trajectory.losses[-1],
            "distance": trajectory.distances[-1] if limit.theta is not None else None,
        }
        if theta is None:
            theta = trajectory.theta.tolist()
    elif steps is not None or lr is not None:
        problem.warnings.append("--steps/--lr only matter with --simulate")
    assert theta is not None
    exact = problem.exact and limit.case != "simulation"
    residual = residual_of(problem, theta)
    residual_norm = sum(float(r) ** 2 for r in residual) ** 0.5
    answer: dict[str, Any] = {
        "theta": _json_list(theta),
        "exact": [fmt.exact(v) for v in theta] if exact else None,
        "case": limit.case,
        "residual": _json_list(residual),
        "residual_norm": residual_norm,
        "converges_with_constant_step": None if limit.case == "simulation" else limit.converges_constant,
        "direction": None if limit.direction is None else _json_list(limit.direction),
        "gradient_noise": None if limit.noise is None else float(limit.noise),
        "simulation": simulation,
    }
    shown = vec(theta) if exact else vec([float(v) for v in theta])
    names = {
        "min-norm": "the interpolating solution nearest θ_0 in the M⁻¹ norm",
        "least-squares": "the least-squares solution (decaying steps)",
        "weighted-least-squares": "the p-weighted least-squares solution (decaying steps)",
        "ridge": "the ridge solution",
        "simulation": "simulated endpoint, no closed form",
    }
    summary = f"θ → {shown}: {names[limit.case]} ({limit.case})"
    inputs = {
        "x": f"{problem.n}x{problem.d}",
        "precond": problem.precond.kind,
        "reweight": problem.reweight or None,
        "full_batch": problem.full_batch or None,
        "weight_decay": fmt.exact(problem.weight_decay) if problem.weight_decay else None,
    }
    return Solution(
        command="sgd-limit",
        inputs=inputs,
        answer=answer,
        summary=summary,
        quiet=f"theta = {shown} ({limit.case})",
        steps=lambda: _working(problem, limit, run),
        warnings=problem.warnings,
        answer_latex=r"\theta^* = " + latex_vec(theta) if len(theta) <= SHOWN_ENTRIES else "",
    )
