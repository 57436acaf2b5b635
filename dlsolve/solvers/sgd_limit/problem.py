"""``sgd-limit`` inputs: validated sizes and values, defaults filled in, the fixed preconditioner checked.

Conventions in :mod:`dlsolve.solvers.sgd_limit`. Exact inputs (Fractions, up to ``EXACT_MAX_ENTRIES``
entries of ``X``) keep ``Problem.exact``; the rest is solved in float64.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from dlsolve import fmt
from dlsolve.errors import BadInput
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
        shown = ", ".join(str(i + 1) for i in zero_rows[:SHOWN_ENTRIES])
        shown += ", …" if len(zero_rows) > SHOWN_ENTRIES else ""
        warnings.append(
            f"row(s) {shown} of X are all zeros: their loss (y_i − 0)² is a constant and their gradient is zero, "
            "so they never move θ (they count in the sampling and in the residual)"
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
