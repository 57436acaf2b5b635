"""The closed-form limit of ``sgd-limit``, written once over the number type.

Exact problems use NumPy object arrays of Fractions (every product and sum stays a Fraction) and
:mod:`dlsolve.solvers.linalg_exact` for elimination; float problems use float64 arrays and NumPy's
SVD-based ``lstsq``. The skeleton (kept rows, the adaptive direction, ridge, noise, step bound) is the
same code for both; only the linear solve differs (exact elimination on the Gram matrix versus an SVD
least-squares solve, which is what float64 needs to be stable).
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from dlsolve.solvers import linalg_exact as la
from dlsolve.solvers.sgd_limit.problem import FLOAT_TOLERANCE, SHOWN_ENTRIES, Number, Problem


@dataclass
class Limit:
    """The predicted limit and the intermediate values the working shows."""

    case: str
    theta: list[Number] | None
    consistent: bool
    converges_constant: bool
    direction: list[Number] | None = None
    gram: list[list[Number]] | None = None
    start_residual: list[Number] | None = None
    coefficients: list[Number] | None = None
    singular: bool = False
    noise: Number | None = None
    step_bound: Number | None = None


# --------------------------------------------------------------------------- arrays of either number type


def _array(problem: Problem, values: Any) -> Any:
    """``values`` as a NumPy array: Fractions in an object array (exact), else float64."""
    import numpy as np

    if problem.exact:
        return np.array([Fraction(v) for v in values], dtype=object)
    return np.array([float(v) for v in values], dtype=np.float64)


def data(problem: Problem) -> tuple[Any, Any, Any, Any]:
    """``X`` (all rows), ``y``, ``theta_0`` and the objective weights ``c`` as arrays of the problem's number type."""
    import numpy as np

    if problem.large:
        x = problem.array
    elif problem.exact:
        x = np.array([[Fraction(v) for v in row] for row in problem.rows], dtype=object).reshape(problem.n, problem.d)
    else:
        x = np.array(problem.rows, dtype=np.float64).reshape(problem.n, problem.d)
    return x, _array(problem, problem.y), _array(problem, problem.theta0), _array(problem, problem.objective_weights)


def _number(problem: Problem, value: Any) -> Number:
    return Fraction(value) if problem.exact else float(value)


def apply_m(problem: Problem, rows: Any) -> Any:
    """``M v`` for every row ``v`` of ``rows`` (the fixed preconditioner of ``problem``)."""
    import numpy as np

    if problem.m_diagonal is not None:
        return rows * _array(problem, problem.m_diagonal)
    if problem.m_rows is not None:
        matrix = np.array(problem.m_rows, dtype=object if problem.exact else np.float64)
        return rows @ matrix.T
    return rows


def _is_zero(problem: Problem, array: Any, scale: float) -> bool:
    """Exactly zero (exact), or zero up to ``FLOAT_TOLERANCE * scale`` (float)."""
    import numpy as np

    if problem.exact:
        return not array.any()
    return bool(np.abs(array).max() <= FLOAT_TOLERANCE * scale) if array.size else True


def rank_one_direction(problem: Problem, x: Any) -> Any | None:
    """``u`` when every row is a multiple of one nonzero row ``u`` (rank 1), else None."""
    import numpy as np

    nonzero = np.flatnonzero(np.abs(x).max(axis=1) > 0) if x.size else []
    if len(nonzero) == 0:
        return None
    first = x[nonzero[0]]
    pivot = int(np.argmax(np.abs(first)))
    ratios = x[:, pivot] / first[pivot]
    scale = max(1.0, float(np.abs(x).max()))
    return first if _is_zero(problem, x - np.outer(ratios, first), scale) else None


def noise(problem: Problem, theta: Any) -> Number:
    """``E[g_i^T M g_i]`` at the limit: the gradient noise that sets the constant-step noise floor."""
    x, y, _, _ = data(problem)
    kept = problem.kept
    p = _array(problem, [problem.p[i] for i in kept])
    w = _array(problem, [problem.sample_weights[i] for i in kept])
    theta = _array(problem, theta)
    residual = y[kept] - x[kept] @ theta
    gradients = -2 * (w * residual)[:, None] * x[kept] + _number(problem, problem.weight_decay) * theta
    return _number(problem, p @ (gradients * apply_m(problem, gradients)).sum(axis=1))


def _step_bound(problem: Problem, x: Any) -> Number | None:
    """Largest stable constant step of sampled SGD: ``1 / max_i w_i x_i^T M x_i`` (None for full batch or
    when every kept row is zero: any step is stable)."""
    if problem.full_batch:
        return None
    w = _array(problem, [problem.sample_weights[i] for i in problem.kept])
    largest = (w * (x * apply_m(problem, x)).sum(axis=1)).max()
    return None if largest == 0 else _number(problem, 1 / largest)


def _solve(problem: Problem, system: Any, rhs: Any) -> Any:
    """The solution of a nonsingular square system, in the problem's number type."""
    import numpy as np

    if problem.exact:
        found = la.solve(system.tolist(), rhs.tolist())
        assert found is not None  # callers only pass nonsingular systems
        return np.array(found, dtype=object)
    return np.linalg.solve(system, rhs)


def _least_squares_case(problem: Problem) -> str:
    return "least-squares" if len(set(problem.objective_weights)) == 1 else "weighted-least-squares"


# --------------------------------------------------------------------------- the limit


def closed_form(problem: Problem) -> Limit:
    """The closed-form limit (module docstring of :mod:`dlsolve.solvers.sgd_limit`), or a ``simulation`` verdict."""
    import numpy as np

    x, y, theta0, weights = data(problem)
    kept = problem.kept
    if len(kept) < problem.n:
        x, y, weights = x[kept], y[kept], weights[kept]
    start_residual = y - x @ theta0
    direction = None
    if problem.precond.is_adaptive:
        u = rank_one_direction(problem, x) if problem.weight_decay == 0 else None
        if u is None:
            return Limit("simulation", None, consistent=False, converges_constant=False)
        one = Fraction(1) if problem.exact else 1.0
        direction = [one * ((v > 0) - (v < 0)) for v in u.tolist()]
        problem.m_diagonal = [one / abs(v) if v else one for v in u.tolist()]
    if problem.weight_decay:
        return _ridge(problem, x, y, weights)
    solved = (_exact_solution if problem.exact else _float_solution)(problem, x, y, weights, start_residual)
    theta, consistent, display = solved
    if not consistent and direction is not None:
        return Limit("simulation", None, consistent=False, converges_constant=False)
    limit = Limit(
        "min-norm" if consistent else _least_squares_case(problem),
        np.asarray(theta).tolist(),
        consistent=consistent,
        converges_constant=consistent or problem.full_batch,
        direction=direction,
        **display,
    )
    zero = _number(problem, 0)
    limit.noise = zero if consistent or problem.full_batch else noise(problem, theta)
    limit.step_bound = _step_bound(problem, x)
    return limit


def _ridge(problem: Problem, x: Any, y: Any, weights: Any) -> Limit:
    """``(X^T C X + (lambda/2) I) theta = X^T C y``; for ``n < d`` the equivalent ``n x n`` form
    ``theta = X^T C b`` with ``(X X^T C + (lambda/2) I) b = y`` (push-through identity)."""
    n, d = x.shape
    half = _number(problem, problem.weight_decay) / 2
    gram = None
    if n < d:
        system = (x @ x.T) * weights[None, :]
        for i in range(n):
            system[i, i] += half
        theta = x.T @ (weights * _solve(problem, system, y))
    else:
        system = x.T @ (weights[:, None] * x)
        for j in range(d):
            system[j, j] += half
        theta = _solve(problem, system, x.T @ (weights * y))
        gram = system.tolist() if problem.exact else None
    limit = Limit("ridge", theta.tolist(), consistent=False, converges_constant=False, gram=gram)
    limit.noise = _number(problem, 0) if problem.full_batch else noise(problem, theta)
    limit.converges_constant = limit.noise == 0
    return limit


# --------------------------------------------------------------------------- the solve, by number type


def _exact_solution(
    problem: Problem, x: Any, y: Any, weights: Any, start_residual: Any
) -> tuple[list[Number], bool, dict[str, Any]]:
    """``theta* = theta_0 + M X^T a`` by exact elimination: ``K a = r_0`` (``K = X M X^T``) when
    solvable, else the weighted normal equations ``K C K a = K C r_0``."""
    rows, m_rows = x.tolist(), apply_m(problem, x).tolist()  # x_i and M x_i
    residual, c = start_residual.tolist(), weights.tolist()
    if len(rows) > SHOWN_ENTRIES:
        return _exact_basis_solution(problem, rows, c, residual)
    gram = [[la.dot(a, b) for b in m_rows] for a in rows]
    # K a = r_0 is solvable exactly when X theta = y is (col K = col X); when K is singular every
    # solution a gives the same M X^T a (K delta = 0 implies X^T delta = 0).
    found, gram_rank = la.solve_with_rank(gram, residual)
    consistent = found is not None
    coefficients = list(found) if found is not None else _weighted_normal_solution(gram, c, residual)
    theta = _combine(problem.theta0, m_rows, coefficients)
    if consistent and any(la.dot(row, theta) != t for row, t in zip(rows, y.tolist(), strict=True)):
        raise AssertionError("the min-norm solution does not interpolate")
    display = {
        "singular": gram_rank < len(gram),
        "gram": gram,
        "start_residual": residual,
        "coefficients": coefficients,
    }
    return theta, consistent, display


def _exact_basis_solution(
    problem: Problem, rows: list[list[Fraction]], weights: list[Fraction], start_residual: list[Fraction]
) -> tuple[list[Number], bool, dict[str, Any]]:
    """The same limit for many rows, in a basis of rowspace(X): ``theta = theta_0 + M F^T b``.

    ``F`` holds the non-zero rows of ``rref(X)`` (``r`` rows), ``G = X M F^T`` (``n x r``, full column
    rank). Consistent: ``G b = r_0``; otherwise the normal equations ``G^T C G b = G^T C r_0``. The
    eliminations are ``r x r`` instead of ``n x n``.
    """
    import numpy as np

    reduced, pivots = la.rref(rows)
    basis = reduced[: len(pivots)]
    m_basis = apply_m(problem, np.array(basis, dtype=object).reshape(len(basis), problem.d)).tolist()  # M f_k
    g = [[la.dot(row, m_f) for m_f in m_basis] for row in rows]
    found = la.solve(g, start_residual)
    consistent = found is not None
    if found is None:
        found = _weighted_normal_solution(g, weights, start_residual)  # G^T C G b = G^T C r_0
    theta = _combine(problem.theta0, m_basis, found)
    return theta, consistent, {"singular": len(pivots) < len(rows)}


def _weighted_normal_solution(a: list[list[Fraction]], weights: list[Fraction], rhs: list[Fraction]) -> list[Fraction]:
    """One solution ``z`` of the weighted normal equations ``A^T C A z = A^T C rhs`` (``C = diag(weights)``)."""
    a_t = la.transpose(a)
    weighted = [[w * v for v in row] for w, row in zip(weights, a, strict=True)]  # C A
    found = la.solve(la.matmul(a_t, weighted), la.matvec(a_t, [w * r for w, r in zip(weights, rhs, strict=True)]))
    assert found is not None  # the normal equations are always solvable
    return found


def _combine(theta0: list[Any], m_rows: list[list[Any]], coefficients: list[Any]) -> list[Number]:
    """``theta_0 + M X^T a = theta_0 + sum_i a_i M x_i``."""
    theta = list(theta0)
    for a, column in zip(coefficients, m_rows, strict=True):
        theta = [t + a * c for t, c in zip(theta, column, strict=True)]
    return theta


def _float_solution(
    problem: Problem, x: Any, y: Any, weights: Any, start_residual: Any
) -> tuple[Any, bool, dict[str, Any]]:
    """``theta* = theta_0 + M^{1/2} z`` with ``z`` the min-norm ``lstsq`` solution of
    ``C^{1/2} X M^{1/2} z = C^{1/2} r_0`` (SVD-based, float64); consistent when ``X theta* = y`` up to
    ``FLOAT_TOLERANCE``."""
    import numpy as np

    m_sqrt: Any = None  # M^{1/2}: None (identity), a diagonal vector or a matrix
    if problem.m_diagonal is not None:
        m_sqrt = np.sqrt(np.array([float(v) for v in problem.m_diagonal]))
    elif problem.m_rows is not None:
        values, vectors = np.linalg.eigh(np.array(problem.m_rows, dtype=np.float64))
        m_sqrt = (vectors * np.sqrt(values)) @ vectors.T
    scaled = x if m_sqrt is None else (x * m_sqrt if m_sqrt.ndim == 1 else x @ m_sqrt)
    row_scale = None if np.all(weights == weights[0]) else np.sqrt(weights)
    if row_scale is None:
        step, *_ = np.linalg.lstsq(scaled, start_residual)
    else:
        step, *_ = np.linalg.lstsq(scaled * row_scale[:, None], start_residual * row_scale)
    theta0 = np.array([float(v) for v in problem.theta0])
    theta = theta0 + (step if m_sqrt is None else (m_sqrt * step if m_sqrt.ndim == 1 else m_sqrt @ step))
    misfit = float(np.linalg.norm(x @ theta - y))
    consistent = misfit <= FLOAT_TOLERANCE * (
        float(np.linalg.norm(y)) + float(np.linalg.norm(x)) * float(np.linalg.norm(theta)) + 1.0
    )
    display: dict[str, Any] = {}
    if not problem.large:
        display = {"gram": (x @ apply_m(problem, x).T).tolist(), "start_residual": start_residual.tolist()}
    return theta, consistent, display
