"""Named mistakes of ``convergence-bound`` (see :mod:`dlsolve.grading.mistakes`). The textbook bound
ρ(η) = 4ηλ_min − 4η²λ_max R² is best at η* = λ_min/(2λ_max R²), ρ* = λ_min²/(λ_max R²); η* scales
with λ_min and ρ* with λ_min², so each mistake rescales the right answer."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from dlsolve.grading.mistakes import mistake

if TYPE_CHECKING:
    from dlsolve.solution import Solution


@mistake(
    "convergence-bound",
    "lambda-max-for-lambda-min",
    "used λ_max where the bound needs λ_min, the smallest nonzero eigenvalue of H",
    step="convergence.bound",
)
def lambda_max_for_lambda_min(kwargs: dict[str, Any], solution: Solution) -> dict[str, Any] | None:
    answer = solution.answer
    low, high = answer.get("lambda_min"), answer.get("lambda_max")
    if not low or not high or low == high or answer.get("eta") is None or answer.get("rho") is None:
        return None
    ratio = high / low
    return {"eta": answer["eta"] * ratio, "rho": answer["rho"] * ratio**2, "lambda_min": high}


@mistake(
    "convergence-bound",
    "zero-eigenvalue-as-lambda-min",
    "took a zero eigenvalue of H as λ_min: the bound then gives ρ = 0 (no contraction) and η* = 0",
    step="convergence.bound",
)
def zero_eigenvalue_as_lambda_min(kwargs: dict[str, Any], solution: Solution) -> dict[str, Any] | None:
    rank = solution.answer.get("rank")
    x = kwargs.get("x")
    if rank is None or x is None or rank >= x.shape[1]:
        return None  # H is full rank: it has no zero eigenvalue
    return {"eta": 0, "rho": 0, "lambda_min": 0}
