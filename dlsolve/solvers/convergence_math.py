"""The mathematics behind ``convergence-bound``: SGD's one-step contraction on interpolating least squares.

Conventions (exam part 5): rows ``x_i`` of ``X`` (n x d), sampling probabilities ``p_i > 0``
(sum 1), ``f_i(theta) = (c/2) (y_i - x_i^T theta)^2`` with ``c = 2`` by default (the exam's
``(y_i - x_i^T theta)^2``) and ``c = 1`` with ``--half``; ``L = sum_i p_i f_i``;
SGD ``theta <- theta - eta grad f_i(theta)`` with ``i ~ p``. Interpolation: ``X theta* = y``.

With ``e = theta - theta*`` and ``r_i = x_i^T e``: ``grad f_i = c r_i x_i``,
``L = (c/2) e^T H e`` with ``H = sum_i p_i x_i x_i^T``, and exactly

    E[L(theta_{t+1}) | theta_t] = (c/2) e^T M e,   M = H - 2 eta c H^2 + eta^2 c^2 K,
    K = sum_i p_i h_i x_i x_i^T,   h_i = x_i^T H x_i,   beta = max_i h_i <= lambda_max R^2.

So the worst one-step factor over errors in the row space is the largest generalised eigenvalue of
``(M, H)`` there. In an orthonormal basis of the H-metric on the row space it is the largest
eigenvalue of ``T(eta) = I - 2 eta c A + eta^2 c^2 Q`` (a *reduced pencil* ``(A, Q)``).

Exact inputs stay exact where cheap (:class:`fractions.Fraction`, SymPy for characteristic
polynomials); otherwise NumPy float64.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np

Value = Fraction | float

#: Largest min(n, d) (and n * d) handled with exact SymPy characteristic polynomials.
EXACT_MAX_RANK = 6
EXACT_MAX_ENTRIES = 120
#: Reduced pencils up to this size use a dense eigensolver; larger ones use Davidson (_davidson_top).
DENSE_MAX = 400


# --------------------------------------------------------------------------- loss constants


def loss_constant(half: bool) -> int:
    """``c`` in ``f_i = (c/2) r_i^2``: 2 for the exam's ``(y - x^T theta)^2``, 1 for ``1/2 (...)^2``."""
    return 1 if half else 2


def rho_of(eta: Value, lambda_min: Value, curvature: Value, c: int) -> Value:
    """``rho(eta) = 2 c eta lambda_min - c^2 eta^2 curvature`` (curvature = lambda_max R^2 or beta)."""
    return 2 * c * eta * lambda_min - c * c * eta * eta * curvature


def best_eta(lambda_min: Value, curvature: Value, c: int) -> Value:
    """The maximiser of :func:`rho_of`: ``eta* = lambda_min / (c curvature)``."""
    return lambda_min / (c * curvature)


def best_rho(lambda_min: Value, curvature: Value) -> Value:
    """``rho(eta*) = lambda_min^2 / curvature`` (the same for both loss conventions)."""
    return lambda_min * lambda_min / curvature


def eta_limit(lambda_min: Value, curvature: Value, c: int) -> Value:
    """``rho(eta) > 0`` exactly for ``0 < eta < 2 lambda_min / (c curvature)``."""
    return 2 * lambda_min / (c * curvature)


def steps_to_reduce(factor: Value, eps: Value, contraction: float | None = None) -> int | None:
    """Smallest ``t`` with ``factor^t <= eps`` (None when ``factor >= 1``, i.e. no guarantee).

    ``ln factor`` is ``log1p(-(1 - factor))`` so that factors within 1e-16 of 1 still count;
    ``contraction`` is ``1 - factor`` when known more precisely than ``factor`` itself.
    """
    gap = float(1 - factor) if contraction is None else contraction
    if (factor <= 0 and contraction is None) or eps >= 1:
        return 1 if eps < 1 else 0
    if gap >= 1:
        return 1
    if factor >= 1 and contraction is None:
        return None
    if gap <= 0:  # closer to 1 than float64 can tell: astronomically many steps
        return None
    steps = max(1, math.ceil(math.log(float(eps)) / math.log1p(-gap) - 1e-12))
    if isinstance(factor, Fraction) and isinstance(eps, Fraction) and steps < 2000:
        while steps > 1 and factor ** (steps - 1) <= eps:
            steps -= 1
        while factor**steps > eps:
            steps += 1
    return steps


# --------------------------------------------------------------------------- sampling


def sampling_probabilities(rows: list[list[Value]] | np.ndarray, scheme: str) -> list[Value]:
    """``uniform``: ``1/n``; ``importance``: ``p_i = ||x_i||^2 / ||X||_F^2``.

    Exact rows give Fractions; a float64 array gives floats.
    """
    n = len(rows)
    if not isinstance(rows, list):
        if scheme == "uniform":
            return [1.0 / n] * n
        norms = (rows * rows).sum(axis=1)
        return (norms / norms.sum()).tolist()
    if scheme == "uniform":
        return [Fraction(1, n)] * n
    norms = [sum(v * v for v in row) for row in rows]
    total = sum(norms)
    return [norm / total for norm in norms]


def _all_exact(rows: list[list[Value]]) -> bool:
    return all(isinstance(v, Fraction) for row in rows for v in row)


# --------------------------------------------------------------------------- the analysis


@dataclass
class Analysis:
    """Everything ``convergence-bound`` computes for one sampling scheme ``p``.

    Exact values are Fractions; values that are not rational (or come from the float path) are
    floats. ``exact_path`` says whether the exact (SymPy) path was used.
    """

    p: list[Value]
    lambda_min: Value
    lambda_max: Value
    rank: int
    R2: Value
    beta: Value
    h: list[Value]
    eigenvalues: list[Value]
    exact_path: bool
    #: The float64 reduced pencil (A, Q), or what builds it on first use: ``(x, p, scale)``.
    pencil_source: Pencil | tuple[Any, list[Value], float]
    #: The exact path's eigenvalues as SymPy numbers (sorted; irrational ones stay exact, e.g. 1 - sqrt(3)/3).
    symbolic_eigenvalues: list[Any] | None = None

    @property
    def pencil(self) -> Pencil:
        """The reduced pencil (A, Q), built when first asked for (a scheme only compared needs none)."""
        if not isinstance(self.pencil_source, Pencil):
            self.pencil_source = reduced_pencil(*self.pencil_source)[0]
        return self.pencil_source


def analyse(
    x: np.ndarray, rows: list[list[Value]] | None, p: list[Value], scale: float = 1.0, pencil: bool = True
) -> Analysis:
    """Spectrum of ``H``, ``R^2``, ``h_i = x_i^T H x_i``, ``beta`` and the reduced pencil for ``(X, p)``.

    ``x`` is the float64 data; the float work is on ``x / scale`` (a power of two, so that squares of
    squares stay in range); ``rows`` holds the exact entries when the input is exact (else None).
    Reported values are unscaled; the pencil stays in scaled units (use ``eta * scale**2`` with it).
    ``pencil=False`` computes the eigenvalues alone (no eigenvectors) and leaves the pencil to be built
    when first used (:attr:`Analysis.pencil`).
    """
    import numpy as np

    exact = rows is not None and _exact_feasible(rows) and all(isinstance(v, Fraction) for v in p)
    source: Pencil | tuple[Any, list[Value], float]
    if pencil:
        source, float_eigenvalues, float_h = reduced_pencil(x, p, scale)
    else:
        source, (float_eigenvalues, float_h) = (x, p, scale), spectrum(x, p, scale)
    if exact:
        assert rows is not None
        h_exact = exact_leverages(rows, p)
        roots = sorted(exact_nonzero_roots(rows, p), key=float)
        eigenvalues = [_sympy_value(root) for root in roots]
        r2: Value = max(sum(v * v for v in row) for row in rows)
        return Analysis(
            p=list(p),
            lambda_min=min(eigenvalues),
            lambda_max=max(eigenvalues),
            rank=len(eigenvalues),
            R2=r2,
            beta=max(h_exact),
            h=list(h_exact),
            eigenvalues=sorted(eigenvalues),
            exact_path=True,
            pencil_source=source,
            symbolic_eigenvalues=roots,
        )
    eigenvalues = sorted(float(v) * scale**2 for v in float_eigenvalues)
    return Analysis(
        p=list(p),
        lambda_min=eigenvalues[0],
        lambda_max=eigenvalues[-1],
        rank=len(eigenvalues),
        R2=float(np.einsum("ij,ij->i", x, x).max()),
        beta=float(max(float_h)) * scale**4,
        h=[float(v) * scale**4 for v in float_h],
        eigenvalues=eigenvalues,
        exact_path=False,
        pencil_source=source,
    )


def _exact_feasible(rows: list[list[Value]]) -> bool:
    n, d = len(rows), len(rows[0])
    return _all_exact(rows) and min(n, d) <= EXACT_MAX_RANK and n * d <= EXACT_MAX_ENTRIES


def exact_leverages(rows: list[list[Value]], p: list[Value]) -> list[Value]:
    """``h_i = x_i^T H x_i = sum_j p_j (x_i . x_j)^2``, exactly."""
    gram = [[sum(a * b for a, b in zip(u, v, strict=True)) for v in rows] for u in rows]
    return [sum(pj * g * g for pj, g in zip(p, gram_row, strict=True)) for gram_row in gram]


def _sympy_value(root: Any) -> Value:
    import sympy

    if isinstance(root, sympy.Rational):
        return Fraction(int(root.p), int(root.q))
    return float(root.evalf(30))


def exact_nonzero_roots(rows: list[list[Value]], p: list[Value]) -> list[Any]:
    """Nonzero eigenvalues of ``H = X^T P X`` with multiplicity, as exact SymPy numbers.

    They are the eigenvalues of the smaller of ``X^T P X`` (d x d) and ``X X^T P`` (n x n, similar
    to ``P^1/2 X X^T P^1/2``), whichever is smaller, without the zero roots.
    """
    import sympy

    n, d = len(rows), len(rows[0])
    xs = sympy.Matrix(n, d, lambda i, j: sympy.Rational(rows[i][j].numerator, rows[i][j].denominator))
    ps = sympy.diag(*[sympy.Rational(v.numerator, v.denominator) for v in p])
    small = xs.T * ps * xs if d <= n else xs * xs.T * ps
    return _nonzero_roots(small)


def _nonzero_roots(matrix: Any) -> list[Any]:
    """The nonzero real roots of ``matrix``'s characteristic polynomial (SymPy numbers, with multiplicity)."""
    import sympy

    lam = sympy.Symbol("lambda")
    coefficients = matrix.charpoly(lam).all_coeffs()  # highest power first
    while coefficients and coefficients[-1] == 0:  # divide out the zero roots
        coefficients.pop()
    if len(coefficients) <= 1:
        return []
    return list(sympy.real_roots(sympy.Poly(coefficients, lam)))


def exact_factor_rational(rows: list[list[Value]], p: list[Value], eta: Fraction, c: int) -> Value:
    """The worst one-step factor, exactly: largest root of ``det(M_r - mu H_r)`` on the row space.

    ``B`` (rows: a rational basis of the row space of ``X``), ``H_r = B H B^T``,
    ``M_r = B M B^T``, ``M = H - 2 eta c H^2 + eta^2 c^2 K``; returns a Fraction when rational.
    """
    import sympy

    n, d = len(rows), len(rows[0])

    def rational(value: Fraction) -> Any:
        return sympy.Rational(value.numerator, value.denominator)

    xs = sympy.Matrix(n, d, lambda i, j: rational(rows[i][j]))
    weights = [rational(v) for v in p]
    leverages = [rational(v) for v in exact_leverages(rows, p)]
    h_matrix = xs.T * sympy.diag(*weights) * xs
    k_matrix = xs.T * sympy.diag(*[w * h for w, h in zip(weights, leverages, strict=True)]) * xs
    eta_s, c_s = rational(eta), sympy.Integer(c)
    m_matrix = h_matrix - 2 * eta_s * c_s * h_matrix * h_matrix + eta_s**2 * c_s**2 * k_matrix
    basis = sympy.Matrix.vstack(*xs.rowspace())
    h_reduced = basis * h_matrix * basis.T
    m_reduced = basis * m_matrix * basis.T
    roots = [_sympy_value(root) for root in _nonzero_roots(h_reduced.inv() * m_reduced)] if m_reduced.rank() else []
    return max(roots) if roots else Fraction(0)


# --------------------------------------------------------------------------- float path


class Pencil:
    """The reduced pencil ``T(eta) = I - 2 eta c A + eta^2 c^2 Q`` with ``A = diag(a)``, ``Q = F^T F`` (float64).

    ``F`` (m x size) is kept instead of Q: a product with Q is two passes over ``F``, where forming
    Q costs an m x size x size product; Q is formed only for :attr:`dense`. ``q_diagonal`` is
    ``diag(Q)``. ``space`` keeps the eigensolver's subspace from one ``eta`` to the next.
    """

    def __init__(self, a: np.ndarray, factor: np.ndarray, q_diagonal: np.ndarray) -> None:
        self.a, self.factor, self.q_diagonal = a, factor, q_diagonal
        self.size = len(a)
        self.space: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
        self._dense: tuple[np.ndarray, np.ndarray] | None = None

    @property
    def dense(self) -> tuple[np.ndarray, np.ndarray]:
        """``(A, Q)`` as matrices (formed once)."""
        import numpy as np

        if self._dense is None:
            self._dense = (np.diag(self.a), self.factor.T @ self.factor)
        return self._dense

    def products(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(V A, V Q)`` for vectors in the rows of ``V`` (A and Q are symmetric)."""
        return rows * self.a, (rows @ self.factor.T) @ self.factor


def reduced_pencil(x: np.ndarray, p: list[Value], scale: float = 1.0) -> tuple[Pencil, Any, Any]:
    """``(pencil (A, Q), nonzero eigenvalues of H, h)`` in float64 for the data ``x / scale``.

    ``T(eta) = I - 2 eta c A + eta^2 c^2 Q`` has, as its largest eigenvalue, the worst ratio
    ``E[L_{t+1}] / L_t`` over errors in the row space. Coordinates: if ``d < n``, the eigenbasis
    of ``H = V diag(lambda) V^T`` scaled by the H-metric, ``e = V lambda^{-1/2} w`` (nonzero
    eigenvalues only): ``A = diag(lambda)``, ``Q = Y^T diag(p h) Y`` with ``Y = X V lambda^{-1/2}``
    and ``h = (Y * Y) lambda^2`` (kept as the factor ``diag(p h)^{1/2} Y``).
    Otherwise the residual side ``s = P^{1/2} X e`` (n-dim) in the eigenbasis of
    ``G_p = P^{1/2} X X^T P^{1/2} = W diag(lambda) W^T`` restricted to its range (nonzero
    eigenvalues): ``A = diag(lambda)``, ``Q = W^T diag(h) W`` (kept as the factor ``diag(h)^{1/2} W``).
    Either way A is diagonal and T nearly so, which the eigensolver's preconditioner relies on.
    ``scale`` is a power of two, so dividing the small factors by it instead of ``x`` is exact.
    """
    import numpy as np

    weights = np.array([float(v) for v in p])
    n, d = x.shape
    xp = x * (np.sqrt(weights) / scale)[:, None]
    if d < n:
        values, vectors = np.linalg.eigh(xp.T @ xp)
        keep = values > _zero_tolerance(values, n, d)
        kept = values[keep]
        factor = x @ ((vectors if keep.all() else vectors[:, keep]) / (scale * np.sqrt(kept)))
        squares = factor * factor
        leverages = squares @ (kept * kept)
        weighted = weights * leverages
        q_diagonal = weighted @ squares
        factor *= np.sqrt(weighted)[:, None]
        return Pencil(kept, factor, q_diagonal), kept, leverages
    gram_p = xp @ xp.T
    root = np.sqrt(weights)
    gram = gram_p / root[:, None] / root[None, :]
    leverages = (gram * gram) @ weights
    values, vectors = np.linalg.eigh(gram_p)
    keep = values > _zero_tolerance(values, n, d)
    factor = vectors[:, keep] * np.sqrt(leverages)[:, None]
    return Pencil(values[keep], factor, (factor * factor).sum(axis=0)), values[keep], leverages


def spectrum(x: np.ndarray, p: list[Value], scale: float = 1.0) -> tuple[Any, Any]:
    """``(nonzero eigenvalues of H, h)`` as :func:`reduced_pencil` gives them, without eigenvectors
    (``eigvalsh``; ``h_i = x_i^T G x_i`` with the d x d Gram matrix, or from the n x n one)."""
    import numpy as np

    weights = np.array([float(v) for v in p])
    n, d = x.shape
    xp = x * (np.sqrt(weights) / scale)[:, None]
    if d < n:
        gram = xp.T @ xp
        values = np.linalg.eigvalsh(gram)
        leverages = np.einsum("ij,ij->i", x @ gram, x) / scale**2
    else:
        gram_p = xp @ xp.T
        root = np.sqrt(weights)
        leverages = ((gram_p / root[:, None] / root[None, :]) ** 2) @ weights
        values = np.linalg.eigvalsh(gram_p)
    return values[values > _zero_tolerance(values, n, d)], leverages


def _zero_tolerance(eigenvalues: np.ndarray, n: int, d: int) -> float:
    """Eigenvalues of a Gram matrix below this count as zero (rounding level, as in matrix_rank)."""
    import numpy as np

    return float(max(eigenvalues.max(), 0.0) * max(n, d) * np.finfo(float).eps * 10)


def pencil_matrix(pencil: Pencil, eta: float, c: int) -> np.ndarray:
    """``T(eta) = I - 2 eta c A + eta^2 c^2 Q``."""
    import numpy as np

    a_matrix, q_matrix = pencil.dense
    return np.eye(pencil.size) - 2 * eta * c * a_matrix + (eta * c) ** 2 * q_matrix


def top_eigenpair(pencil: Pencil, eta: float, c: int) -> tuple[float, np.ndarray, float, float]:
    """``(lambda_max(T(eta)), unit eigenvector w, w^T A w, w^T Q w)``: dense, or Davidson above DENSE_MAX."""
    change, vector, a_value, q_value = top_change(pencil, eta, c)
    return 1 + change, vector, a_value, q_value


def top_change(pencil: Pencil, eta: float, c: int) -> tuple[float, np.ndarray, float, float]:
    """As :func:`top_eigenpair` but the eigenvalue of ``S = T(eta) - I = eta^2 c^2 Q - 2 eta c A``.

    ``lambda_max(S) = factor - 1`` keeps its relative precision where ``T``'s eigenvalues are all
    within rounding of 1 (ill-conditioned ``H``: the contraction ``1 - factor`` can be 1e-23, far
    below float64's resolution of numbers near 1).
    """
    import numpy as np

    if pencil.size > DENSE_MAX:
        return _davidson_top(pencil, eta, c)
    a_matrix, q_matrix = pencil.dense
    values, vectors = np.linalg.eigh((eta * c) ** 2 * q_matrix - 2 * eta * c * a_matrix)
    vector = vectors[:, -1]
    return float(values[-1]), vector, float(vector @ a_matrix @ vector), float(vector @ q_matrix @ vector)


#: Davidson: largest subspace, vectors kept at a restart, expansions per call, relative residual.
SUBSPACE_MAX = 40
SUBSPACE_KEEP = 8
DAVIDSON_STEPS = 2000
RESIDUAL_TOLERANCE = 1e-12
#: Eigenvalue error accepted: a sixteenth of float64's epsilon, relative to ``1 + theta``.
ROUNDING = 2.0**-56


def _davidson_top(pencil: Pencil, eta: float, c: int) -> tuple[float, np.ndarray, float, float]:
    """Top eigenpair of ``S = T(eta) - I`` (as :func:`top_change`) by Davidson's method with the diagonal
    preconditioner (Olsen's form).

    Works on ``S = T - I = eta^2 c^2 Q - 2 eta c A`` (``T``'s eigenvalues are within rounding of 1,
    ``S`` keeps their differences). Each step adds ``(theta - diag S)^{-1} (r - epsilon u)``,
    orthogonal to the subspace, for the Ritz pair ``(theta, u)`` with residual ``r = S u - theta u``;
    ``S`` is close to diagonal in the eigenbasis of ``H``, so this converges in a few products where
    Lanczos needs hundreds. The subspace (with its images under A and Q) is kept on the pencil: the
    next ``eta`` starts from the Rayleigh-Ritz pair of the whole subspace. The first start holds the
    unit vectors of the four largest diagonal entries and a fixed pseudo-random vector. Stops when
    ``theta``'s error bound ``||r||^2 / gap`` (gap to the next Ritz value) is below the rounding of
    ``1 + theta`` with ``||r|| <= 1e-6 ||S||``, or at ``||r|| <= 1e-12 ||S||`` (``||S||`` estimated
    by the Ritz values).
    """
    import numpy as np

    down, up = 2 * eta * c, (eta * c) ** 2
    diag_s = up * pencil.q_diagonal - down * pencil.a
    floor = max(float(diag_s.max() - diag_s.min()), float(np.abs(diag_s).max()), 1e-300) * 1e-10
    if pencil.space is None:
        picks = np.argsort(diag_s)[-4:]
        start = np.zeros((len(picks) + 1, pencil.size))
        start[np.arange(len(picks)), picks] = 1.0
        start[-1] = np.random.default_rng(12345).standard_normal(pencil.size)
        start[-1] -= (start[:-1] @ start[-1]) @ start[:-1]
        start[-1] /= np.linalg.norm(start[-1])
        pencil.space = (start, *pencil.products(start))
    basis, a_rows, q_rows = pencil.space
    for _ in range(DAVIDSON_STEPS):
        gram_a, gram_q = basis @ a_rows.T, basis @ q_rows.T
        small = up * gram_q - down * gram_a
        ritz_values, ritz_vectors = np.linalg.eigh((small + small.T) / 2)
        theta, weights = float(ritz_values[-1]), ritz_vectors[:, -1]
        vector = weights @ basis
        residual = up * (weights @ q_rows) - down * (weights @ a_rows) - theta * vector
        size = max(abs(float(ritz_values[0])), abs(theta), 1e-300)
        gap = theta - float(ritz_values[-2])
        error = float(np.linalg.norm(residual))
        small_error = error * error <= ROUNDING * max(1.0, abs(1 + theta)) * gap and error <= 1e-6 * size
        if error <= RESIDUAL_TOLERANCE * size or small_error:
            break
        if len(basis) >= SUBSPACE_MAX:
            kept = ritz_vectors[:, -SUBSPACE_KEEP:].T
            basis, a_rows, q_rows = kept @ basis, kept @ a_rows, kept @ q_rows
        inverse = 1 / np.maximum(theta - diag_s, floor)
        correction = inverse * residual
        correction -= (vector @ correction) / (vector @ (inverse * vector)) * (inverse * vector)
        for _ in range(2):
            correction -= (basis @ correction) @ basis
        norm = float(np.linalg.norm(correction))
        if norm <= 1e-12 * float(np.linalg.norm(inverse * residual)):  # nothing new: take the residual
            correction = residual - (basis @ residual) @ basis
            correction -= (basis @ correction) @ basis
            norm = float(np.linalg.norm(correction))
            if norm == 0.0:
                break
        correction = (correction / norm)[None, :]
        new_a, new_q = pencil.products(correction)
        basis, a_rows, q_rows = np.vstack([basis, correction]), np.vstack([a_rows, new_a]), np.vstack([q_rows, new_q])
    pencil.space = (basis, a_rows, q_rows)
    return theta, vector, float(weights @ gram_a @ weights), float(weights @ gram_q @ weights)


def worst_factor(pencil: Pencil, eta: float, c: int) -> float:
    """``max E[L_{t+1}] / L_t`` over errors in the row space, at step size ``eta`` (float)."""
    return top_eigenpair(pencil, eta, c)[0]


def worst_contraction(pencil: Pencil, eta: float, c: int) -> float:
    """``1 - max E[L_{t+1}] / L_t`` computed without cancellation (``-lambda_max(S)``, see :func:`top_change`)."""
    return -top_change(pencil, eta, c)[0]


def minimise_worst_factor(pencil: Pencil, c: int, guesses: list[float]) -> tuple[float, float]:
    """``(eta, factor)`` minimising the worst one-step factor ``F(eta) = lambda_max(T(eta))``.

    ``F`` is convex (a maximum of convex quadratics ``q_w(eta) = 1 - 2 eta c a_w + eta^2 c^2 b_w``
    over unit ``w``). Cutting planes: each evaluation adds its top eigenvector's quadratic, a lower
    bound touching ``F`` there; the next ``eta`` minimises the maximum of the quadratics so far.
    Works on ``F - 1`` (:func:`top_change`), so that factors within rounding of 1 (ill-conditioned
    ``H``) still compare; stops when the best value is within ``min(1e-12, 1e-6 |F - 1|)`` of that
    lower bound.
    """
    pieces: list[tuple[float, float]] = []
    best_eta, best_change = 0.0, 0.0
    etas = [g for g in guesses if g > 0]
    for _ in range(200):
        eta = etas.pop(0) if etas else _model_minimum(pieces, c)[0]
        change, _vector, a_value, q_value = top_change(pencil, eta, c)
        pieces.append((a_value, q_value))
        if change < best_change:
            best_eta, best_change = eta, change
        if not etas:
            lower = _model_minimum(pieces, c)[1]
            if best_change - lower <= min(1e-12, 1e-6 * abs(best_change)):
                break
    return best_eta, 1 + best_change


def _model_minimum(pieces: list[tuple[float, float]], c: int) -> tuple[float, float]:
    """Minimiser over ``eta >= 0`` of ``max_k -2 eta c a_k + eta^2 c^2 b_k`` (a convex function: ``F - 1``)."""

    def model(eta: float) -> float:
        return max(-2 * eta * c * a + (eta * c) ** 2 * b for a, b in pieces)

    candidates = [0.0]
    for index, (a, b) in enumerate(pieces):
        if b > 0:
            candidates.append(a / (c * b))
        for a2, b2 in pieces[:index]:
            if b != b2:
                crossing = 2 * (a - a2) / (c * (b - b2))
                if crossing > 0:
                    candidates.append(crossing)
    eta = min(candidates, key=model)
    return eta, model(eta)


# --------------------------------------------------------------------------- consistency of y


def check_interpolation(x: np.ndarray, rows: list[list[Value]] | None, y: list[Value]) -> float:
    """Relative residual ``||X theta_ls - y|| / ||y||`` (0 exactly when exact input is consistent)."""
    import numpy as np

    if rows is not None and _all_exact(rows) and all(isinstance(v, Fraction) for v in y) and len(rows) <= 40:
        import sympy

        xs = sympy.Matrix([[sympy.Rational(v.numerator, v.denominator) for v in row] for row in rows])
        ys = sympy.Matrix([sympy.Rational(v.numerator, v.denominator) for v in y])
        return 0.0 if xs.rank() == xs.row_join(ys).rank() else 1.0
    target = np.array([float(v) for v in y])
    solution = np.linalg.lstsq(x, target, rcond=None)[0]
    scale = max(float(np.linalg.norm(target)), 1e-300)
    return float(np.linalg.norm(x @ solution - target) / scale)
