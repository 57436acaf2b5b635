"""Exact rational linear algebra on small matrices (lists of :class:`fractions.Fraction` rows).

Pure Python, no NumPy or SymPy: for the few-by-few systems of exam problems this is much faster
than importing SymPy, and every result is exact. Matrices are ``list[list[Fraction]]`` (rows);
vectors are ``list[Fraction]``. Functions never modify their arguments.

Conventions: :func:`rref` uses Gauss-Jordan elimination with the first non-zero pivot in each
column; :func:`pinv` is the Moore-Penrose pseudo-inverse computed from the full-rank factorisation
``A = C F`` (``C`` the pivot columns of ``A``, ``F`` the non-zero rows of ``rref(A)``):
``A^+ = F^T (F F^T)^{-1} (C^T C)^{-1} C^T``.
"""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction

Vector = list[Fraction]
Rows = list[list[Fraction]]


def to_fractions(rows: Sequence[Sequence[int | Fraction]]) -> Rows:
    """A copy of ``rows`` with every entry a Fraction."""
    return [[Fraction(v) for v in row] for row in rows]


def identity(size: int) -> Rows:
    """The ``size`` x ``size`` identity matrix."""
    return [[Fraction(int(i == j)) for j in range(size)] for i in range(size)]


def diagonal(values: Sequence[Fraction]) -> Rows:
    """The diagonal matrix with ``values`` on its diagonal."""
    return [[values[i] if i == j else Fraction(0) for j in range(len(values))] for i in range(len(values))]


def transpose(a: Rows) -> Rows:
    """``A^T``."""
    return [list(column) for column in zip(*a, strict=True)] if a else []


def dot(u: Sequence[Fraction], v: Sequence[Fraction]) -> Fraction:
    """``u^T v``."""
    return sum((a * b for a, b in zip(u, v, strict=True)), Fraction(0))


def matvec(a: Rows, v: Sequence[Fraction]) -> Vector:
    """``A v``."""
    return [dot(row, v) for row in a]


def matmul(a: Rows, b: Rows) -> Rows:
    """``A B``."""
    columns = transpose(b)
    return [[dot(row, column) for column in columns] for row in a]


def is_symmetric(a: Rows) -> bool:
    """True when ``A == A^T``."""
    return all(a[i][j] == a[j][i] for i in range(len(a)) for j in range(i))


def is_positive_definite(a: Rows) -> bool:
    """True when the square matrix ``A`` is symmetric positive definite.

    Symmetric Gaussian elimination without row exchanges (the LDL^T factorisation): ``A`` is
    positive definite exactly when every pivot is positive.
    """
    if not a or any(len(row) != len(a) for row in a) or not is_symmetric(a):
        return False
    work = [list(row) for row in a]
    size = len(work)
    for k in range(size):
        pivot = work[k][k]
        if pivot <= 0:
            return False
        for i in range(k + 1, size):
            factor = work[i][k] / pivot
            if factor:
                for j in range(k, size):
                    work[i][j] -= factor * work[k][j]
    return True


def rref(a: Rows) -> tuple[Rows, list[int]]:
    """Reduced row echelon form of ``A`` and the indices of its pivot columns."""
    work = [list(row) for row in a]
    rows = len(work)
    columns = len(work[0]) if work else 0
    pivots: list[int] = []
    row = 0
    for column in range(columns):
        found = next((r for r in range(row, rows) if work[r][column] != 0), None)
        if found is None:
            continue
        work[row], work[found] = work[found], work[row]
        pivot = work[row][column]
        work[row] = [v / pivot for v in work[row]]
        for r in range(rows):
            factor = work[r][column]
            if r != row and factor:
                work[r] = [v - factor * w for v, w in zip(work[r], work[row], strict=True)]
        pivots.append(column)
        row += 1
        if row == rows:
            break
    return work, pivots


def rank(a: Rows) -> int:
    """The rank of ``A``."""
    return len(rref(a)[1])


def solve(a: Rows, b: Sequence[Fraction]) -> Vector | None:
    """One solution ``v`` of ``A v = b`` (free variables set to 0), or None when there is none."""
    return solve_with_rank(a, b)[0]


def solve_with_rank(a: Rows, b: Sequence[Fraction]) -> tuple[Vector | None, int]:
    """``(v, rank(A))``: one solution of ``A v = b`` (free variables 0, None when inconsistent).

    One Gauss-Jordan elimination of ``[A | b]`` gives both.
    """
    augmented = [[*row, value] for row, value in zip(a, b, strict=True)]
    reduced, pivots = rref(augmented)
    columns = len(a[0]) if a else 0
    if columns in pivots:
        return None, len(pivots) - 1
    solution = [Fraction(0)] * columns
    for row, column in enumerate(pivots):
        solution[column] = reduced[row][columns]
    return solution, len(pivots)


def inverse(a: Rows) -> Rows:
    """``A^{-1}`` of an invertible square matrix (raises ValueError when it is singular)."""
    size = len(a)
    augmented = [[*row, *unit] for row, unit in zip(a, identity(size), strict=True)]
    reduced, pivots = rref(augmented)
    if pivots[:size] != list(range(size)):
        raise ValueError("singular matrix")
    return [row[size:] for row in reduced]


def pinv(a: Rows) -> Rows:
    """The Moore-Penrose pseudo-inverse ``A^+`` (the inverse when ``A`` is invertible)."""
    rows = len(a)
    columns = len(a[0]) if a else 0
    reduced, pivots = rref(a)
    if not pivots:
        return [[Fraction(0)] * rows for _ in range(columns)]
    factor_c = [[row[j] for j in pivots] for row in a]  # rows x r
    factor_f = reduced[: len(pivots)]  # r x columns
    factor_c_t = transpose(factor_c)
    factor_f_t = transpose(factor_f)
    left = matmul(factor_f_t, inverse(matmul(factor_f, factor_f_t)))
    right = matmul(inverse(matmul(factor_c_t, factor_c)), factor_c_t)
    return matmul(left, right)
