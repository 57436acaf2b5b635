"""Named mistakes of ``sgd-limit`` (see :mod:`dlsolve.grading.mistakes`). The right limit with a
fixed SPD preconditioner M is θ₀ + M Xᵀ (X M Xᵀ)⁺ (y − X θ₀), sampling weights included."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from dlsolve.grading.mistakes import mistake, rerun

if TYPE_CHECKING:
    from dlsolve.solution import Solution


@mistake(
    "sgd-limit",
    "preconditioner-without-square-root",
    "used 1/(mean g²) on the diagonal where the adaptive preconditioner is 1/√(mean g²)",
    step="sgd-limit.preconditioner",
)
def preconditioner_without_square_root(kwargs: dict[str, Any], solution: Solution) -> dict[str, Any] | None:
    """One data point x: g_j ∝ x_j, so M ∝ diag(1/|x_j|); without the root M ∝ diag(1/x_j²)."""
    precond, x = kwargs.get("precond"), kwargs.get("x")
    if precond is None or not precond.is_adaptive or x is None or x.is_large:
        return None
    rows = [row for row in x.rows if any(row)]
    first = rows[0] if rows else None
    parallel = first is not None and all(
        all(a * first[j] == b * first[i] for i, a in enumerate(row) for j, b in enumerate(row)) for row in rows
    )
    if not parallel or any(value == 0 for value in first):  # type: ignore[union-attr]
        return None
    from dlsolve.values import Preconditioner

    diagonal = tuple(1 / (value * value) for value in first)  # type: ignore[union-attr]
    return rerun("sgd-limit", kwargs, precond=Preconditioner("diag", diagonal=diagonal))


@mistake("sgd-limit", "start-ignored", "ignored θ₀: took the minimum-norm solution from 0", step="sgd-limit.limit")
def start_ignored(kwargs: dict[str, Any], solution: Solution) -> dict[str, Any] | None:
    theta0 = kwargs.get("theta0")
    return None if not theta0 or not any(theta0) else rerun("sgd-limit", kwargs, theta0=None)


@mistake(
    "sgd-limit",
    "sampling-ignored",
    "ignored the sampling probabilities p_i (took them uniform)",
    step="sgd-limit.limit",
)
def sampling_ignored(kwargs: dict[str, Any], solution: Solution) -> dict[str, Any] | None:
    p = kwargs.get("p")
    return None if not p or len(set(p)) == 1 else rerun("sgd-limit", kwargs, p=None)


@mistake(
    "sgd-limit",
    "plain-min-norm",
    "gave the plain minimum-norm solution Xᵀ(XXᵀ)⁻¹y although a preconditioner changes the geometry",
    step="sgd-limit.limit",
)
def plain_min_norm(kwargs: dict[str, Any], solution: Solution) -> dict[str, Any] | None:
    precond = kwargs.get("precond")
    if precond is None or precond.kind == "identity":
        return None
    from dlsolve.values import Preconditioner

    return rerun("sgd-limit", kwargs, precond=Preconditioner("identity"))
