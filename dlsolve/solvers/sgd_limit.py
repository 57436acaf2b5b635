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
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from dlsolve import fmt
from dlsolve.errors import BadInput, InvalidProblem
from dlsolve.solution import Plot, Series, Solution, Step
from dlsolve.solvers import linalg_exact as la
from dlsolve.values import Matrix, Preconditioner, Scalar

Number = Fraction | float
#: Vectors longer than this are shown abbreviated in the working.
SHOWN_ENTRIES = 12
#: Relative tolerance of the float path for "X theta = y" and for symmetry of M.
FLOAT_TOLERANCE = 1e-8
#: Largest magnitude of an input number (the JSON answer holds floats).
MAX_MAGNITUDE = 1e150
#: Exact inputs with more entries in X than this are solved in float64 (Fraction elimination is slow).
EXACT_MAX_ENTRIES = 4000
DEFAULT_STEPS = 2000
MAX_STEPS = 1_000_000
SCHEDULES = ("auto", "constant", "decay")
#: Smallest value drawn on the log-scale plots (exact zeros would stretch the axis).
PLOT_FLOOR = 1e-16


@dataclass
class Problem:
    """Validated inputs. ``rows`` (exact or small float) or ``array`` (large) hold ``X``."""

    rows: list[list[Number]]
    array: Any
    y: list[Number]
    theta0: list[Number]
    p: list[Number]
    reweight: bool
    precond: Preconditioner
    weight_decay: Number
    full_batch: bool
    exact: bool
    #: Indices of the rows that are ever used (p_i > 0, or all with a full batch).
    kept: list[int]
    #: c_i of the expected objective and w_i of the sampled gradient, over all rows.
    objective_weights: list[Number]
    sample_weights: list[Number]
    #: Fixed preconditioner: None (identity), a diagonal, or full rows.
    m_diagonal: list[Number] | None = None
    m_rows: list[list[Number]] | None = None
    warnings: list[str] = field(default_factory=list)

    @property
    def n(self) -> int:
        return len(self.y)

    @property
    def d(self) -> int:
        return len(self.theta0)

    @property
    def large(self) -> bool:
        return self.array is not None


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


# --------------------------------------------------------------------------- display helpers


def _vec(values: Sequence[Number]) -> str:
    """A vector with decimals beside exact entries, abbreviated when long."""
    if len(values) <= SHOWN_ENTRIES:
        return fmt.vector(list(values), with_decimal=True)
    head = ", ".join(fmt.number(v) for v in values[:6])
    return f"[{head}, … ({len(values)} entries)]"


def _mat(rows: Sequence[Sequence[Number]], indent: str = "    ") -> str:
    if len(rows) <= SHOWN_ENTRIES and all(len(row) <= SHOWN_ENTRIES for row in rows):
        return fmt.matrix(rows, indent=indent)
    return f"{indent}({len(rows)}x{len(rows[0]) if rows else 0} matrix, not shown)"


def _latex_vec(values: Sequence[Number]) -> str:
    return fmt.latex_vector(list(values)) if len(values) <= SHOWN_ENTRIES else r"\theta^*"


def _json_list(values: Sequence[Number]) -> list[float]:
    return [float(v) for v in values]


# --------------------------------------------------------------------------- validation


def _all_fractions(values: Sequence[Any]) -> bool:
    return all(isinstance(v, Fraction) for v in values)


def _check_length(values: Sequence[Any], size: int, option: str, what: str) -> None:
    if len(values) != size:
        raise BadInput(f"expected {size} entries ({what}), got {len(values)}", option=option)


def _probabilities(p: list[Scalar] | None, n: int, exact: bool, full_batch: bool, warnings: list[str]) -> list[Number]:
    if p is None:
        return [Fraction(1, n)] * n if exact else [1.0 / n] * n
    _check_length(p, n, "--p", "one sampling probability per row of X")
    if any(v < 0 for v in p):
        raise BadInput("sampling probabilities must not be negative", option="--p")
    total = sum(p, Fraction(0))
    if (total != 1) if exact else abs(float(total) - 1) > 1e-9:
        raise BadInput(f"sampling probabilities must sum to 1, they sum to {fmt.number(total)}", option="--p")
    if full_batch:
        warnings.append("--p is ignored with --full-batch (every step uses all rows)")
    return list(p)


def _fixed_preconditioner(problem: Problem) -> None:
    """Check the fixed ``M`` (size, symmetric positive definite) and store it on ``problem``."""
    precond, d = problem.precond, problem.d
    if precond.kind == "diag":
        _check_length(precond.diagonal, d, "--precond", "one diagonal entry per coordinate of theta")
        if any(v <= 0 for v in precond.diagonal):
            raise BadInput(
                "a diagonal preconditioner needs positive entries (M must be positive definite)", option="--precond"
            )
        problem.m_diagonal = list(precond.diagonal)
    elif precond.kind == "matrix" and precond.matrix is not None:
        rows, _ = precond.matrix.shape
        if rows != d:
            raise BadInput(
                f"expected a {d}x{d} matrix (theta has {d} coordinates), got {rows}x{rows}", option="--precond"
            )
        if problem.exact and precond.matrix.is_exact:
            m_rows = [list(row) for row in precond.matrix.rows]
            if not la.is_positive_definite(m_rows):
                raise BadInput("the matrix is not symmetric positive definite", option="--precond")
        else:
            import numpy as np

            array = precond.matrix.to_numpy()
            scale = max(1.0, float(np.abs(array).max()))
            if not np.allclose(array, array.T, rtol=0, atol=FLOAT_TOLERANCE * scale):
                raise BadInput("the matrix is not symmetric", option="--precond")
            if float(np.linalg.eigvalsh(array).min()) <= FLOAT_TOLERANCE * scale:
                raise BadInput("the matrix is not positive definite", option="--precond")
            m_rows = array.tolist()
        problem.m_rows = m_rows


def build_problem(
    x: Matrix,
    *,
    y: list[Scalar] | None = None,
    theta0: list[Scalar] | None = None,
    p: list[Scalar] | None = None,
    reweight: bool = False,
    precond: Preconditioner | None = None,
    weight_decay: Scalar = Fraction(0),
    full_batch: bool = False,
) -> Problem:
    """Check sizes and values (BadInput naming the option) and fill in the defaults."""
    precond = precond or Preconditioner()
    n, d = x.shape
    warnings: list[str] = []
    if y is None:
        y = [Fraction(1)] * n
        warnings.append(
            f"no --y given: assuming every target is 1 (y = {fmt.vector(y) if n <= SHOWN_ENTRIES else '1'})"
        )
    _check_length(y, n, "--y", "one target per row of X")
    if theta0 is None:
        theta0 = [Fraction(0)] * d
    _check_length(theta0, d, "--theta0", "one entry per column of X")
    if weight_decay < 0:
        raise BadInput("weight decay must be >= 0", option="--weight-decay")
    matrix_values = (
        [] if precond.matrix is None or precond.matrix.is_large else [v for r in precond.matrix.rows for v in r]
    )
    for option, values in (
        ("--x", [] if x.is_large else [v for row in x.rows for v in row]),
        ("--y", y),
        ("--theta0", theta0),
        ("--weight-decay", [weight_decay]),
        ("--precond", [*precond.diagonal, *matrix_values]),
    ):
        if any(abs(v) > MAX_MAGNITUDE for v in values):
            raise BadInput(f"values beyond ±{MAX_MAGNITUDE:g} are out of float64 range for the answer", option=option)
    scalars = [*y, *theta0, *(p or []), weight_decay, *precond.diagonal]
    matrix_exact = precond.matrix is None or precond.matrix.is_exact
    exact = x.is_exact and matrix_exact and _all_fractions(scalars)
    if exact and n * d > EXACT_MAX_ENTRIES:
        exact = False
        warnings.append(
            f"X has {n * d} entries: solved in float64 (exact arithmetic is used up to {EXACT_MAX_ENTRIES} entries)"
        )
    if x.is_large:
        import numpy as np

        zero_rows = np.flatnonzero(~x.array.any(axis=1)).tolist()
    else:
        zero_rows = [i for i, row in enumerate(x.rows) if not any(row)]
    if zero_rows:
        raise BadInput(
            f"row {zero_rows[0] + 1} of X is all zeros: its loss does not depend on theta; remove it", option="--x"
        )
    probabilities = _probabilities(p, n, exact, full_batch, warnings)
    kept = list(range(n)) if full_batch else [i for i in range(n) if probabilities[i] > 0]
    if len(kept) < n:
        dropped = ", ".join(str(i + 1) for i in range(n) if i not in kept)
        warnings.append(f"row(s) {dropped} have p_i = 0: they are never sampled and do not affect the limit")
    one = Fraction(1) if exact else 1.0
    if full_batch or reweight:
        objective_weights = [one / n if i in kept else one * 0 for i in range(n)]
    else:
        objective_weights = list(probabilities)
    sample_weights = [
        one / (n * probabilities[i]) if reweight and not full_batch and probabilities[i] > 0 else one for i in range(n)
    ]
    problem = Problem(
        rows=[] if x.is_large else [list(row) for row in x.rows],
        array=x.array,
        y=list(y),
        theta0=list(theta0),
        p=probabilities,
        reweight=reweight,
        precond=precond,
        weight_decay=weight_decay,
        full_batch=full_batch,
        exact=exact,
        kept=kept,
        objective_weights=objective_weights,
        sample_weights=sample_weights,
        warnings=warnings,
    )
    if precond.kind in ("diag", "matrix"):
        _fixed_preconditioner(problem)
    return problem


# --------------------------------------------------------------------------- exact path


def _apply_m(problem: Problem, vector: Sequence[Number]) -> list[Number]:
    """``M v`` for the fixed preconditioner of ``problem`` (exact or float entries)."""
    if problem.m_diagonal is not None:
        return [m * v for m, v in zip(problem.m_diagonal, vector, strict=True)]
    if problem.m_rows is not None:
        return la.matvec(problem.m_rows, list(vector))  # type: ignore[arg-type]
    return list(vector)


def _rank_one_direction(rows: list[list[Number]]) -> list[Number] | None:
    """``u`` when every row is a multiple of the first row ``u`` (rank 1), else None."""
    first = rows[0]
    pivot = next(j for j, v in enumerate(first) if v != 0)
    for row in rows[1:]:
        ratio = row[pivot] / first[pivot]
        if any(a != ratio * b for a, b in zip(row, first, strict=True)):
            return None
    return list(first)


def _exact_limit(problem: Problem) -> Limit:
    """The closed-form limit in exact arithmetic (Fractions), or a ``simulation`` verdict."""
    rows = [problem.rows[i] for i in problem.kept]
    y = [problem.y[i] for i in problem.kept]
    weights = [problem.objective_weights[i] for i in problem.kept]
    theta0 = problem.theta0
    start_residual = [t - la.dot(row, theta0) for row, t in zip(rows, y, strict=True)]  # type: ignore[arg-type]
    direction = None
    if problem.precond.is_adaptive:
        u = _rank_one_direction(rows) if problem.weight_decay == 0 else None
        if u is None:
            return Limit("simulation", None, consistent=False, converges_constant=False)
        direction = [Fraction((v > 0) - (v < 0)) for v in u]
        problem.m_diagonal = [1 / abs(v) if v else Fraction(1) for v in u]  # type: ignore[misc]
    if problem.weight_decay:
        return _exact_ridge(problem, rows, y, weights)
    m_rows = [_apply_m(problem, row) for row in rows]  # M x_i
    if len(rows) > SHOWN_ENTRIES:
        return _exact_basis_limit(problem, rows, m_rows, weights, start_residual, direction)
    gram = [[la.dot(a, b) for b in m_rows] for a in rows]  # K = X M X^T
    # K a = r_0 is solvable exactly when X theta = y is (col K = col X); when K is singular every
    # solution a gives the same M X^T a (K delta = 0 implies X^T delta = 0).
    found, gram_rank = la.solve_with_rank(gram, start_residual)  # type: ignore[arg-type]
    singular = gram_rank < len(gram)
    consistent = found is not None
    coefficients: list[Number] = list(found) if found is not None else []
    theta = _combine(theta0, m_rows, coefficients) if found is not None else list(theta0)
    if consistent and any(la.dot(row, theta) != t for row, t in zip(rows, y, strict=True)):
        raise AssertionError("the min-norm solution does not interpolate")
    if not consistent:
        if direction is not None:
            return Limit("simulation", None, consistent=False, converges_constant=False)
        coefficients = _weighted_normal_solution(gram, weights, start_residual)  # K C K a = K C r_0 (K = K^T)
        theta = _combine(theta0, m_rows, coefficients)
    return _limit(
        problem,
        theta,
        consistent,
        direction,
        rows,
        m_rows,
        singular=singular,
        gram=gram,
        start_residual=start_residual,
        coefficients=coefficients,
    )


def _weighted_normal_solution(a: list[list[Number]], weights: list[Number], rhs: list[Number]) -> list[Number]:
    """One solution ``z`` of the weighted normal equations ``A^T C A z = A^T C rhs`` (``C = diag(weights)``)."""
    a_t = la.transpose(a)  # type: ignore[arg-type]
    weighted = [[w * v for v in row] for w, row in zip(weights, a, strict=True)]  # C A
    found = la.solve(la.matmul(a_t, weighted), la.matvec(a_t, [w * r for w, r in zip(weights, rhs, strict=True)]))  # type: ignore[arg-type]
    assert found is not None  # the normal equations are always solvable
    return found  # type: ignore[return-value]


def _limit(
    problem: Problem,
    theta: list[Number],
    consistent: bool,
    direction: list[Number] | None,
    rows: list[list[Number]],
    m_rows: list[list[Number]],
    **display: Any,
) -> Limit:
    """The ``min-norm`` or least-squares Limit with its noise at ``theta`` and the stable step bound."""
    limit = Limit(
        "min-norm" if consistent else _least_squares_case(problem),
        theta,
        consistent=consistent,
        converges_constant=consistent or problem.full_batch,
        direction=direction,
        **display,
    )
    limit.noise = _noise(problem, theta) if not consistent and not problem.full_batch else Fraction(0)
    limit.step_bound = _step_bound(problem, m_rows, rows)
    return limit


def _exact_basis_limit(
    problem: Problem,
    rows: list[list[Number]],
    m_rows: list[list[Number]],
    weights: list[Number],
    start_residual: list[Number],
    direction: list[Number] | None,
) -> Limit:
    """The same limit for many rows, in a basis of rowspace(X): ``theta = theta_0 + M F^T b``.

    ``F`` holds the non-zero rows of ``rref(X)`` (``r`` rows), ``G = X M F^T`` (``n x r``, full column
    rank). Consistent: ``G b = r_0``; otherwise the normal equations ``G^T C G b = G^T C r_0``. The
    eliminations are ``r x r`` instead of ``n x n``.
    """
    reduced, pivots = la.rref(rows)  # type: ignore[arg-type]
    basis = reduced[: len(pivots)]
    m_basis = [_apply_m(problem, row) for row in basis]  # M f_k
    g = [[la.dot(row, m_f) for m_f in m_basis] for row in rows]  # type: ignore[arg-type]
    found = la.solve(g, start_residual)  # type: ignore[arg-type]
    consistent = found is not None
    if found is None:
        if direction is not None:
            return Limit("simulation", None, consistent=False, converges_constant=False)
        found = _weighted_normal_solution(g, weights, start_residual)  # G^T C G b = G^T C r_0
    theta = _combine(problem.theta0, m_basis, found)  # type: ignore[arg-type]
    return _limit(problem, theta, consistent, direction, rows, m_rows, singular=len(pivots) < len(rows))


def _combine(theta0: list[Number], m_rows: list[list[Number]], coefficients: list[Number]) -> list[Number]:
    """``theta_0 + M X^T a = theta_0 + sum_i a_i M x_i``."""
    theta = list(theta0)
    for a, column in zip(coefficients, m_rows, strict=True):
        theta = [t + a * c for t, c in zip(theta, column, strict=True)]
    return theta


def _least_squares_case(problem: Problem) -> str:
    weights = [problem.objective_weights[i] for i in range(problem.n)]
    return "least-squares" if len(set(weights)) == 1 else "weighted-least-squares"


def _exact_ridge(problem: Problem, rows: list[list[Number]], y: list[Number], weights: list[Number]) -> Limit:
    """``(X^T C X + (lambda/2) I) theta = X^T C y``; for ``n < d`` the equivalent ``n x n`` form
    ``theta = X^T C b`` with ``(X X^T C + (lambda/2) I) b = y`` (push-through identity)."""
    n, d = len(rows), problem.d
    half = Fraction(problem.weight_decay) / 2
    if n < d:
        system = [[la.dot(a, b) * w for b, w in zip(rows, weights, strict=True)] for a in rows]  # X X^T C
        for i in range(n):
            system[i][i] += half
        dual = la.solve(system, y)  # type: ignore[arg-type]
        assert dual is not None  # X X^T C + (lambda/2) I is invertible (similar to an SPD matrix)
        theta = _combine([Fraction(0)] * d, [[w * v for v in row] for w, row in zip(weights, rows, strict=True)], dual)
        limit = Limit("ridge", theta, consistent=False, converges_constant=problem.full_batch)
    else:
        system = [
            [sum((w * r[j] * r[k] for w, r in zip(weights, rows, strict=True)), Fraction(0)) for k in range(d)]
            for j in range(d)
        ]
        for j in range(d):
            system[j][j] += half
        rhs = [sum((w * t * r[j] for w, t, r in zip(weights, y, rows, strict=True)), Fraction(0)) for j in range(d)]
        solved = la.solve(system, rhs)  # type: ignore[arg-type]
        assert solved is not None  # positive definite
        limit = Limit("ridge", solved, consistent=False, converges_constant=problem.full_batch, gram=system)
    assert limit.theta is not None
    limit.noise = Fraction(0) if problem.full_batch else _noise(problem, limit.theta)
    limit.converges_constant = limit.noise == 0
    return limit


def _noise(problem: Problem, theta: list[Number]) -> Number:
    """``E[g_i^T M g_i]`` at the limit: the gradient noise that sets the constant-step noise floor."""
    total: Number = Fraction(0) if problem.exact else 0.0
    for i in problem.kept:
        row = problem.rows[i]
        residual = problem.y[i] - la.dot(row, theta)  # type: ignore[arg-type]
        gradient = [
            -2 * problem.sample_weights[i] * residual * v + problem.weight_decay * t
            for v, t in zip(row, theta, strict=True)
        ]
        total += problem.p[i] * la.dot(gradient, _apply_m(problem, gradient))  # type: ignore[arg-type]
    return total


def _step_bound(problem: Problem, m_rows: list[list[Number]], rows: list[list[Number]]) -> Number | None:
    """Largest stable constant step of sampled SGD: ``1 / max_i w_i x_i^T M x_i`` (None for full batch)."""
    if problem.full_batch:
        return None
    largest = max(
        problem.sample_weights[i] * la.dot(row, m_row) for i, row, m_row in zip(problem.kept, rows, m_rows, strict=True)
    )  # type: ignore[arg-type]
    return 1 / largest


# --------------------------------------------------------------------------- float path


def _float_data(problem: Problem) -> tuple[Any, Any, Any, Any]:
    """``X`` (all rows), ``y``, ``theta_0`` and the objective weights ``c`` as float64 arrays."""
    import numpy as np

    x = problem.array if problem.large else np.array(problem.rows, dtype=np.float64).reshape(problem.n, problem.d)
    as_array = lambda values: np.array([float(v) for v in values], dtype=np.float64)  # noqa: E731
    return x, as_array(problem.y), as_array(problem.theta0), as_array(problem.objective_weights)


def _float_rank_one_direction(rows: Any) -> Any | None:
    import numpy as np

    first = rows[0]
    pivot = int(np.argmax(np.abs(first)))
    ratios = rows[:, pivot] / first[pivot]
    scale = max(1.0, float(np.abs(rows).max()))
    return first if np.allclose(rows, np.outer(ratios, first), rtol=0, atol=FLOAT_TOLERANCE * scale) else None


def _float_limit(problem: Problem) -> Limit:
    """The closed-form limit in float64 (NumPy ``lstsq``/``solve``), or a ``simulation`` verdict."""
    import numpy as np

    x, y, theta0, weights = _float_data(problem)
    kept = problem.kept
    if len(kept) < problem.n:
        x, y, weights = x[kept], y[kept], weights[kept]
    start_residual = y - x @ theta0
    direction = None
    m_sqrt: Any = None  # M^{1/2}: None (identity), a diagonal vector or a matrix
    if problem.precond.is_adaptive:
        u = _float_rank_one_direction(x) if problem.weight_decay == 0 else None
        if u is None:
            return Limit("simulation", None, consistent=False, converges_constant=False)
        direction = np.sign(u)
        problem.m_diagonal = [1 / abs(float(v)) if v else 1.0 for v in u]
    if problem.m_diagonal is not None:
        m_sqrt = np.sqrt(np.array([float(v) for v in problem.m_diagonal]))
    elif problem.m_rows is not None:
        values, vectors = np.linalg.eigh(np.array(problem.m_rows, dtype=np.float64))
        m_sqrt = (vectors * np.sqrt(values)) @ vectors.T
    if problem.weight_decay:
        decay = float(problem.weight_decay)
        system = x.T @ (weights[:, None] * x) + 0.5 * decay * np.eye(problem.d)
        theta = np.linalg.solve(system, x.T @ (weights * y))
        noise = 0.0 if problem.full_batch else float(_float_noise(problem, theta))
        limit = Limit("ridge", theta.tolist(), consistent=False, converges_constant=noise == 0.0)
        limit.noise = noise
        return limit
    scaled = x if m_sqrt is None else (x * m_sqrt if m_sqrt.ndim == 1 else x @ m_sqrt)
    row_scale = None if np.all(weights == weights[0]) else np.sqrt(weights)
    if row_scale is None:
        step, *_ = np.linalg.lstsq(scaled, start_residual)
    else:
        step, *_ = np.linalg.lstsq(scaled * row_scale[:, None], start_residual * row_scale)
    theta = theta0 + (step if m_sqrt is None else (m_sqrt * step if m_sqrt.ndim == 1 else m_sqrt @ step))
    misfit = float(np.linalg.norm(x @ theta - y))
    consistent = misfit <= FLOAT_TOLERANCE * (
        float(np.linalg.norm(y)) + float(np.linalg.norm(x)) * float(np.linalg.norm(theta)) + 1.0
    )
    if not consistent and direction is not None:
        return Limit("simulation", None, consistent=False, converges_constant=False)
    limit = Limit(
        "min-norm" if consistent else _least_squares_case(problem),
        theta.tolist(),
        consistent=consistent,
        converges_constant=consistent or problem.full_batch,
        direction=None if direction is None else direction.tolist(),
    )
    if not problem.large:
        m_x = np.array([_apply_m(problem, row.tolist()) for row in x], dtype=np.float64)
        limit.gram = (x @ m_x.T).tolist()
        limit.start_residual = start_residual.tolist()
    limit.noise = 0.0 if consistent or problem.full_batch else float(_float_noise(problem, theta))
    if not problem.full_batch and direction is None:
        m_x_norms = np.einsum(
            "ij,ij->i",
            x,
            (x * m_sqrt**2)
            if m_sqrt is not None and m_sqrt.ndim == 1
            else (x if m_sqrt is None else x @ (m_sqrt @ m_sqrt)),
        )
        sample_weights = np.array([float(problem.sample_weights[i]) for i in kept])
        limit.step_bound = 1.0 / float((sample_weights * m_x_norms).max())
    return limit


def _float_noise(problem: Problem, theta: Any) -> float:
    """``E[g_i^T M g_i]`` at the limit, in float64."""
    import numpy as np

    x, y, _, _ = _float_data(problem)
    kept = problem.kept
    p = np.array([float(problem.p[i]) for i in kept])
    w = np.array([float(problem.sample_weights[i]) for i in kept])
    residual = y[kept] - x[kept] @ theta
    gradients = -2 * (w * residual)[:, None] * x[kept] + float(problem.weight_decay) * theta
    matrix = _float_matrix(problem)
    preconditioned = gradients if matrix is None else gradients @ matrix.T
    return float(p @ np.einsum("ij,ij->i", gradients, preconditioned))


# --------------------------------------------------------------------------- simulation


@dataclass
class SimulationSettings:
    steps: int
    lr: float
    schedule: str
    seed: int


def _simulation_settings(
    problem: Problem, limit: Limit, steps: int | None, lr: Scalar | None, schedule: str, seed: int
) -> SimulationSettings:
    """Defaults: a stable constant step where SGD converges with one, else a decaying step."""
    import numpy as np

    if schedule == "auto":
        converges = limit.converges_constant and not problem.precond.is_adaptive
        schedule = "constant" if converges or problem.precond.kind == "adagrad" else "decay"
    if lr is None:
        x, y, theta0, _ = _float_data(problem)
        if problem.precond.is_adaptive:
            scale = float(np.max(np.abs(y - x @ theta0) / np.abs(x).sum(axis=1)))
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

    x, y, theta0, weights = _float_data(problem)
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


# --------------------------------------------------------------------------- the working


def _precond_text(problem: Problem) -> str:
    kind = problem.precond.kind
    if kind == "identity":
        return "M = I (plain SGD)"
    if kind == "diag":
        return f"M = diag{_vec(problem.precond.diagonal)} (fixed)"
    if kind == "matrix":
        return "M fixed, symmetric positive definite:\n" + _mat(problem.m_rows or [])
    descriptions = {
        "adagrad": "Adagrad: M_t = diag(1/(sqrt(sum_{s<=t} g_s^2) + eps))",
        "rmsprop": "RMSprop: M_t = diag(1/(sqrt(v_t) + eps)), v_t = 0.99 v_{t-1} + 0.01 g_t^2",
        "adam": "Adam: step m̂_t/(sqrt(v̂_t) + eps) with m, v moving averages of g and g^2",
        "epoch-rms": "epoch-rms: M diagonal, recomputed at the start of every epoch (n steps), "
        "M_jj = 1/sqrt(mean over the n points of g_ij^2)",
    }
    return descriptions[kind] + " (adaptive)"


def _setup_step(problem: Problem) -> Step:
    rows_text = _mat(problem.rows) if not problem.large else f"    ({problem.n}x{problem.d} float64 array)"
    if problem.full_batch:
        sampling = "full batch: every step uses the gradient of the mean loss (1/n) Σ f_i"
    else:
        sampling = f"point i drawn with probability p = {_vec(problem.p)}"
        if problem.reweight:
            sampling += "; gradient scaled by w_i = 1/(n p_i) (--reweight)"
    decay = f" + λ θ with λ = {fmt.number(problem.weight_decay)}" if problem.weight_decay else ""
    arithmetic = (
        "Exact rational arithmetic."
        if problem.exact
        else "Float64 arithmetic (float or large input): NumPy lstsq (SVD) / solve."
    )
    text = (
        f"f_i(θ) = (y_i - x_i^T θ)^2, ∇f_i(θ) = -2 (y_i - x_i^T θ) x_i. {arithmetic}\n"
        f"Update: θ ← θ - η M (w_i ∇f_i(θ){decay}), {sampling}.\n"
        f"X ({problem.n}x{problem.d}) =\n{rows_text}\n"
        f"y = {_vec(problem.y)}, θ_0 = {_vec(problem.theta0)}\n"
        f"{_precond_text(problem)}"
    )
    latex = (
        r"\theta_{t+1} = \theta_t - \eta\, M_t \nabla f_{i_t}(\theta_t),\quad f_i(\theta) = (y_i - x_i^\top\theta)^2"
    )
    return Step("Set-up and conventions", text, latex)


def _span_step(problem: Problem, limit: Limit) -> Step:
    if limit.direction is not None:
        effective = problem.m_diagonal or []
        text = (
            "All rows of X are multiples of u = x_1, so every gradient is a multiple of u: "
            "g_t = c_t u (c_t a scalar). An adaptive diagonal M_t built from squared gradients has "
            "entries (scalar_t)/|u_j| (Adam's first moment is also a multiple of u; the tiny ε of torch.optim "
            "bends this by O(ε)), so every step "
            "M_t g_t is a multiple of the fixed vector sign(u) = "
            f"{fmt.vector(limit.direction)}.\n"
            f"Hence θ_t = θ_0 + s_t·sign(u) for all t: the same path as plain GD with the fixed "
            f"M = diag(1/|u_j|) = diag{_vec(effective)}, whose limit is the interpolating point nearest θ_0 "
            "in the M^{-1} norm.\n"
            "(Without the square root, entries 1/g_j^2 ∝ 1/u_j^2 would give steps along [1/u_j] and a different "
            f"limit: that is --precond diag:{','.join(fmt.exact(m * m) for m in effective)}.)"
        )
        latex = (
            r"M_t\,g_t \parallel \operatorname{sign}(u) \;\Rightarrow\; "
            r"\theta_t \in \theta_0 + \operatorname{span}\{\operatorname{sign}(u)\}"
        )
        return Step("The update direction is fixed", text, latex)
    text = (
        "Each update adds η·2 w_i (y_i - x_i^T θ)·M x_i, a multiple of M x_i"
        + (" (weight decay adds -ηλMθ, which leaves that set; see the ridge step)" if problem.weight_decay else "")
        + ". By induction θ_t = θ_0 + M X^T a_t for some a_t ∈ R^n: the iterates never leave "
        "θ_0 + M·rowspace(X), whatever the order of the samples and the (positive) step sizes."
    )
    return Step("The iterates stay in θ_0 + M·rowspace(X)", text, r"\theta_t = \theta_0 + M X^\top a_t")


def _min_norm_steps(problem: Problem, limit: Limit) -> list[Step]:
    assert limit.theta is not None
    inverse = "K^+ (pseudo-inverse: K is singular, X is rank deficient)" if limit.singular else "K^{-1}"
    solved = (
        "a = one solution of K a = r_0 (K is singular, X is rank deficient; every solution gives the same "
        "M X^T a as the pseudo-inverse choice a = K^+ r_0)"
        if limit.singular
        else "a = K^{-1} r_0"
    )
    steps = []
    if limit.gram is not None and limit.start_residual is not None and limit.coefficients is not None:
        steps.append(
            Step(
                "Interpolation constraint",
                "An interpolating solution exists (checked below), and at a limit every sampled gradient "
                "vanishes, so X θ* = y. With θ* = θ_0 + M X^T a:\n"
                f"(X M X^T) a = y - X θ_0, K = X M X^T =\n{_mat(limit.gram)}\n"
                f"r_0 = y - X θ_0 = {_vec(limit.start_residual)}\n"
                f"{solved} = {_vec(limit.coefficients)}",
                r"K a = y - X\theta_0,\quad K = X M X^\top",
            )
        )
    text = (
        f"θ* = θ_0 + M X^T {inverse.split(' ')[0]} (y - X θ_0) = {_vec(limit.theta)}.\n"
        "This is argmin ||θ - θ_0||_{M^{-1}} subject to X θ = y (Lagrange: θ - θ_0 = M X^T a)."
    )
    if problem.large:
        text += "\nLarge input: solved in float64 with numpy.linalg.lstsq on X M^{1/2} (SVD, min-norm)."
    steps.append(
        Step(
            "The limit",
            text,
            r"\theta^* = \theta_0 + M X^\top (X M X^\top)^{+} (y - X\theta_0) = " + _latex_vec(limit.theta),
        )
    )
    steps.append(_check_step(problem, limit, "X θ* = y"))
    if limit.direction is None:
        bound = (
            f" 0 < η < 1/max_i(w_i x_i^T M x_i) = {fmt.number(limit.step_bound)}" if limit.step_bound else " a stable η"
        )
        steps.append(
            Step(
                "Independent of p and of the step size",
                "The span argument and the constraint use neither p nor η: any sampling with p_i > 0 and any "
                f"constant step with{bound} (each update then shrinks the error in the M^{{-1}} norm) "
                "reach this same θ*.",
            )
        )
    else:
        steps.append(
            Step(
                "Convergence along the line",
                "The constant s_t solves x_i^T(θ_0 + s·sign(u)) = y_i. Adagrad converges with a constant step (its "
                "effective step shrinks); RMSprop, Adam and epoch-rms take steps of size about η whatever the "
                "residual, so with a constant η they hover within O(η) of θ* on the same line; with a decaying "
                "step they reach θ*.",
            )
        )
    return steps


def _check_step(problem: Problem, limit: Limit, claim: str) -> Step:
    residual = _residual(problem, limit.theta or [])
    if problem.large:
        norm = sum(float(r) ** 2 for r in residual) ** 0.5
        return Step("Check", f"||y - X θ*|| = {fmt.decimal(norm)} ({claim} up to rounding).")
    fitted = [t - r for t, r in zip(problem.y, residual, strict=True)]
    return Step("Check", f"X θ* = {_vec(fitted)}, y - X θ* = {_vec(residual)} ({claim}).")


def _residual(problem: Problem, theta: Sequence[Number]) -> list[Number]:
    """``y - X theta`` over all rows."""
    if problem.large or not problem.exact:
        import numpy as np

        x, y, _, _ = _float_data(problem)
        return (y - x @ np.array([float(v) for v in theta])).tolist()
    return [t - la.dot(row, theta) for row, t in zip(problem.rows, problem.y, strict=True)]  # type: ignore[arg-type]


def _least_squares_steps(problem: Problem, limit: Limit) -> list[Step]:
    assert limit.theta is not None
    weights = [problem.objective_weights[i] for i in range(problem.n)]
    kind = "ordinary least squares" if limit.case == "least-squares" else "weighted least squares"
    steps = [
        Step(
            "No interpolating solution",
            "X θ = y has no solution (y - X θ_0 is not in the column space of X), so some residual stays non-zero.\n"
            + (
                "Full batch: GD with a constant stable step converges to the minimiser of the mean loss."
                if problem.full_batch
                else "With a constant step SGD does not converge: at the best point θ* the sampled gradients g_i "
                f"are not all zero (E[g_i^T M g_i] = {fmt.number(limit.noise or 0)}), so θ_t keeps fluctuating around "
                f"θ*. Noise floor: for small η the expected excess loss settles near (η/4)·E[g_i^T M g_i] = "
                f"η·{fmt.number((limit.noise or 0) / 4)}."
            ),
        ),
        Step(
            f"Decaying steps: {kind}",
            "With Σ η_t = ∞ and Σ η_t^2 < ∞ the iterates follow the expected update -η M ∇F "
            "and converge to a minimiser of "
            f"F(θ) = Σ_i c_i f_i(θ), c = {_vec(weights)}"
            + (
                " (c_i = p_i·w_i = 1/n: ordinary least squares)"
                if limit.case == "least-squares"
                else " (c_i = p_i w_i)"
            )
            + ", inside θ_0 + M·rowspace(X): the one nearest θ_0 in the M^{-1} norm.\n"
            + (
                f"With θ = θ_0 + M X^T a the normal equations X^T C (X θ - y) = 0 become K C K a = K C r_0, "
                f"a = {_vec(limit.coefficients)}."
                if limit.coefficients is not None and not problem.large
                else "Solved exactly in a basis F of rowspace(X) (the rows of rref(X)): θ = θ_0 + M F^T b with "
                "G^T C G b = G^T C r_0, G = X M F^T."
                if problem.exact
                else "Solved with numpy.linalg.lstsq on C^{1/2} X M^{1/2} (float64)."
            ),
            r"X^\top C (X\theta^* - y) = 0,\quad \theta^* \in \theta_0 + M X^\top \mathbb{R}^n",
        ),
        Step("The limit", f"θ* = {_vec(limit.theta)}", r"\theta^* = " + _latex_vec(limit.theta)),
        _check_step(problem, limit, "not zero: no interpolation"),
    ]
    return steps


def _ridge_steps(problem: Problem, limit: Limit) -> list[Step]:
    assert limit.theta is not None
    decay = fmt.number(problem.weight_decay)
    weights = _vec(problem.objective_weights)
    text = (
        f"The expected update is -η M ∇F with F(θ) = Σ_i c_i f_i(θ) + (λ/2)||θ||^2, c = {weights}, λ = {decay}. "
        "M is invertible, so the only fixed point is ∇F(θ*) = 0:\n"
        "(X^T C X + (λ/2) I) θ* = X^T C y. F is strictly convex, so θ* is unique: it does not depend on θ_0 or on M."
    )
    if limit.gram is not None:
        text += f"\nX^T C X + (λ/2) I =\n{_mat(limit.gram)}"
    floor = (
        "Every sampled gradient vanishes at θ*, so a constant stable step converges."
        if limit.converges_constant
        else f"With a constant step SGD hovers around θ* (E[g_i^T M g_i] = {fmt.number(limit.noise or 0)} ≠ 0; "
        f"for small η the excess loss settles near η·{fmt.number((limit.noise or 0) / 4)}); "
        "decaying steps (or --full-batch) converge to it."
    )
    return [
        Step(
            "Weight decay: the ridge solution",
            text,
            r"\left(X^\top C X + \tfrac{\lambda}{2} I\right)\theta^* = X^\top C y",
        ),
        Step("The limit", f"θ* = {_vec(limit.theta)}\n{floor}", r"\theta^* = " + _latex_vec(limit.theta)),
        _check_step(problem, limit, "residual of the ridge fit"),
    ]


def _simulation_step(problem: Problem, limit: Limit, settings: SimulationSettings, trajectory: Any) -> Step:
    endpoint = trajectory.theta.tolist()
    label = "predicted limit" if limit.theta is not None else "no closed form"
    text = (
        f"NumPy simulation of the actual update rule: {settings.steps} steps, η = {fmt.decimal(settings.lr)} "
        f"({settings.schedule}{', η_t = η τ/(τ + t), τ = max(1, steps/100)' if settings.schedule == 'decay' else ''}), "
        f"seed {settings.seed}.\nEndpoint θ_T = {_vec([float(v) for v in endpoint])}, "
        f"loss F(θ_T) = {fmt.decimal(trajectory.losses[-1])}."
    )
    series = [
        Series(
            "loss F(θ_t)",
            [float(s) for s in trajectory.recorded_steps],
            [max(v, PLOT_FLOOR) for v in trajectory.losses],
        )
    ]
    if limit.theta is not None:
        text += f"\nDistance to the {label}: ||θ_T - θ*|| = {fmt.decimal(trajectory.distances[-1])}."
        series.append(Series("||θ_t - θ*||", series[0].x, [max(v, PLOT_FLOOR) for v in trajectory.distances]))
    else:
        text += (
            "\nNo closed form applies here (the adaptive preconditioner's direction changes from step to step, "
            "or weight decay/inconsistency breaks the fixed-direction argument): the answer is this simulated endpoint."
        )
    plot = Plot(series, title="simulation", xlabel="step t", ylabel="value (log scale)", logy=True)
    return Step("Simulation" if limit.theta is not None else "Simulation (no closed form)", text, blocks=[plot])


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


def _solve(
    x: Matrix, *, simulate: bool, steps: int | None, lr: Scalar | None, seed: int, schedule: str, **options: Any
) -> Solution:
    if steps is not None and steps > MAX_STEPS:
        raise BadInput(f"at most {MAX_STEPS} simulation steps, got {steps}", option="--steps")
    problem = build_problem(x, **options)
    limit = _exact_limit(problem) if problem.exact else _float_limit(problem)
    if limit.direction is not None and problem.precond.kind != "adagrad":
        limit.converges_constant = False  # normalised steps of size ~eta: they hover within O(eta) of the limit
    steps_out = [_setup_step(problem)]
    if limit.case != "ridge" and limit.case != "simulation":
        steps_out.append(_span_step(problem, limit))
    if limit.case == "min-norm":
        steps_out += _min_norm_steps(problem, limit)
    elif limit.case in ("least-squares", "weighted-least-squares"):
        steps_out += _least_squares_steps(problem, limit)
    elif limit.case == "ridge":
        steps_out += _ridge_steps(problem, limit)
    simulation: dict[str, Any] | None = None
    theta = limit.theta
    if simulate or limit.case == "simulation":
        settings = _simulation_settings(problem, limit, steps, lr, schedule, seed)
        trajectory = _simulate(problem, limit, settings)
        steps_out.append(_simulation_step(problem, limit, settings, trajectory))
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
    residual = _residual(problem, theta)
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
    shown = _vec(theta) if exact else _vec([float(v) for v in theta])
    names = {
        "min-norm": "the interpolating solution nearest θ_0 in the M^{-1} norm",
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
        steps=steps_out,
        warnings=problem.warnings,
        answer_latex=r"\theta^* = " + _latex_vec(theta) if len(theta) <= SHOWN_ENTRIES else "",
    )
