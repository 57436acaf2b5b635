"""``convergence-bound``: SGD's expected-loss contraction on interpolating least squares (exam part 5).

Conventions (see :mod:`dlsolve.solvers.convergence_math`): ``f_i = (y_i - x_i^T theta)^2`` (``c = 2``)
or ``1/2 (...)^2`` with ``half`` (``c = 1``); ``L = sum_i p_i f_i``; ``H = sum_i p_i x_i x_i^T``;
``R^2 = max_i ||x_i||^2``; ``beta = max_i x_i^T H x_i``; ``lambda_min`` the smallest NONZERO
eigenvalue of ``H``. The textbook bound ``E[L_{t+1} | theta_t] <= (1 - rho(eta)) L_t`` has
``rho(eta) = 2 c eta lambda_min - c^2 eta^2 lambda_max R^2``, maximised at
``eta* = lambda_min / (c lambda_max R^2)`` where ``rho* = lambda_min^2 / (lambda_max R^2)``.
The exact worst-case factor ``max_e E[L_{t+1}] / L_t`` (errors in the row space) is a
generalised eigenvalue.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from dlsolve import fmt
from dlsolve.errors import BadInput, InvalidProblem
from dlsolve.solution import Heatmap, Plot, Series, Solution, Step, Table
from dlsolve.solvers import convergence_math as cm
from dlsolve.values import Matrix

Value = Fraction | float

SCHEMES = ("uniform", "importance")
#: Largest runs * steps * n for ``--simulate`` (about a second of NumPy work).
MAX_SIMULATION_WORK = 20_000_000
#: Smallest ratio of nonzero entries (min/max), so that h_i ~ x^4 p stays in float64's range.
MAX_RANGE = 1e-60
#: Entries above this size (in absolute value) would overflow float64 squares of squares.
MAX_ENTRY = 1e60


@dataclass
class Scheme:
    """One sampling scheme's numbers: the spectrum and both bounds, at its own best step sizes."""

    name: str
    analysis: cm.Analysis
    scale: float  # the float path works on X / scale (numbers are reported unscaled)
    eta_best: Value
    rho_best: Value
    eta_max: Value
    eta_tight_best: Value
    rho_tight_best: Value
    best_exact: tuple[float, float] | None = None


def _show(value: Value | None) -> str:
    return "—" if value is None else fmt.number(value)


def _json(value: Value | None) -> int | float | None:
    return None if value is None else fmt.json_number(value)


def _exact_text(value: Value | None) -> str | None:
    """The exact form for the ``exact`` JSON field (None for floats)."""
    return fmt.exact(value) if isinstance(value, Fraction) else None


# --------------------------------------------------------------------------- input checks


def _check_rows(x: Matrix) -> tuple[Any, list[list[Value]] | None]:
    """``(float64 array, exact rows or None)``; refuses zero rows and entries float64 cannot carry."""
    import numpy as np

    if not x.is_large:
        for index, row in enumerate(x.rows):
            if not any(row):
                raise BadInput(
                    f"row {index + 1} of X is all zeros (f_{index + 1} is constant and never moves θ); remove it",
                    option="--x",
                )
        if any(abs(v) > MAX_ENTRY for row in x.rows for v in row):
            raise BadInput(f"entries must be at most {MAX_ENTRY:g} in size (rescale X)", option="--x")
    array = x.array if x.array is not None else x.to_numpy()  # never modified
    magnitudes = np.abs(array)
    row_largest = magnitudes.max(axis=1)
    if not (row_largest > 0).all():
        row = int(np.argmin(row_largest > 0)) + 1
        raise BadInput(f"row {row} of X is all zeros (f_{row} is constant and never moves θ); remove it", option="--x")
    largest = float(row_largest.max())
    if not math.isfinite(largest) or not 1 / MAX_ENTRY <= largest <= MAX_ENTRY:
        raise BadInput(
            f"the largest entry must be between {1 / MAX_ENTRY:g} and {MAX_ENTRY:g} (rescale X)", option="--x"
        )
    if float(np.min(magnitudes, where=magnitudes > 0, initial=math.inf)) < MAX_RANGE * largest:
        raise BadInput(
            f"the nonzero entries span more than {-math.log10(MAX_RANGE):.0f} orders of magnitude "
            "(their fourth powers would leave float64's range)",
            option="--x",
        )
    rows = None if x.is_large else [list(row) for row in x.rows]
    return array, rows


def resolve_probabilities(
    rows: list[list[Value]] | None, array: Any, p: str | list[Value]
) -> tuple[str, list[Value], list[str]]:
    """``(scheme name, p, warnings)`` for ``uniform``, ``importance`` or a vector of probabilities."""
    source = rows if not _float_rows(rows) else _normalised(array)
    if isinstance(p, str):
        return p, cm.sampling_probabilities(source, p), []
    n = len(source)
    if len(p) != n:
        raise BadInput(f"expected {n} probabilities (one per row of X), got {len(p)}", option="--p")
    if any(v <= 0 for v in p):
        raise BadInput("every p_i must be > 0 (a point never sampled is not part of the problem)", option="--p")
    if min(p) < Fraction(1, 10**30) * max(p) or max(p) > MAX_ENTRY:
        raise BadInput("the probabilities span more than 30 orders of magnitude (or are huge)", option="--p")
    total = sum(p)
    warnings = []
    if abs(total - 1) > (0 if isinstance(total, Fraction) else 1e-12):
        warnings.append(f"the probabilities summed to {fmt.number(total)}; they were normalised to sum 1")
        p = [v / total for v in p]
    return "given", list(p), warnings


def _normalised(array: Any) -> Any:
    """``X / max|x_ij|`` (scale-free quantities such as importance weights do not underflow)."""
    import numpy as np

    return array / float(np.abs(array).max())


def _check_finite(answer: dict[str, Any]) -> None:
    """Refuse (exit 1) answers that left float64's range: tiny or huge inputs, not a dlsolve bug."""
    values = [v for v in answer.values() if isinstance(v, float)]
    if not all(math.isfinite(v) for v in values):
        raise InvalidProblem("the numbers leave float64's range; rescale X (the factors are scale-free)", option="--x")


def _float_rows(rows: list[list[Value]] | None) -> bool:
    return rows is None or not all(isinstance(v, Fraction) for row in rows for v in row)


def analyse_scheme(name: str, array: Any, rows: list[list[Value]] | None, p: list[Value], c: int) -> Scheme:
    """Analyse ``(X, p)``: exact when small and exact; float64 work on ``X / scale`` (reported unscaled)."""
    scale = float(2.0 ** round(math.log2(max(float(array.max()), -float(array.min())))))
    analysis = cm.analyse(array, rows, p, scale)
    curvature = analysis.lambda_max * analysis.R2
    return Scheme(
        name=name,
        analysis=analysis,
        scale=scale,
        eta_best=cm.best_eta(analysis.lambda_min, curvature, c),
        rho_best=cm.best_rho(analysis.lambda_min, curvature),
        eta_max=cm.eta_limit(analysis.lambda_min, curvature, c),
        eta_tight_best=cm.best_eta(analysis.lambda_min, analysis.beta, c),
        rho_tight_best=cm.best_rho(analysis.lambda_min, analysis.beta),
    )


def exact_factor(scheme: Scheme, rows: list[list[Value]] | None, eta: Value, c: int) -> Value:
    """Worst ``E[L_{t+1}] / L_t`` at ``eta``: exact (SymPy) when possible, else float64."""
    if scheme.analysis.exact_path and rows is not None and isinstance(eta, Fraction):
        return cm.exact_factor_rational(rows, scheme.analysis.p, eta, c)
    return cm.worst_factor(scheme.analysis.pencil, float(eta) * scheme.scale**2, c)


def best_exact_step(scheme: Scheme, c: int) -> tuple[float, float]:
    """``(eta, factor)`` minimising the exact worst-case factor (float64; computed once per scheme)."""
    if scheme.best_exact is None:
        guesses = [float(scheme.eta_best) * scheme.scale**2, float(scheme.eta_tight_best) * scheme.scale**2]
        eta, factor = cm.minimise_worst_factor(scheme.analysis.pencil, c, guesses)
        scheme.best_exact = (eta / scheme.scale**2, factor)
    return scheme.best_exact


# --------------------------------------------------------------------------- simulation


def simulate(
    array: Any, p: list[Value], y: list[Value], c: int, eta: float, runs: int, steps: int, seed: int
) -> list[float]:
    """Monte Carlo mean of ``L_t`` over ``runs`` SGD runs from ``theta_0 = 0`` (``t = 0..steps``).

    Works on residuals ``r = X e`` (``r_0 = -y``): a step on point ``i`` is
    ``r <- r - eta c r_i G[i, :]`` with ``G = X X^T``; ``L = (c/2) sum_j p_j r_j^2``.
    """
    import numpy as np

    generator = np.random.default_rng(seed)
    weights = np.array([float(v) for v in p])
    weights = weights / weights.sum()
    gram = array @ array.T
    residuals = np.tile(-np.array([float(v) for v in y]), (runs, 1))
    every_run = np.arange(runs)
    means = [float((c / 2) * (residuals**2 @ weights).mean())]
    for _ in range(steps):
        picks = generator.choice(len(weights), size=runs, p=weights)
        residuals -= (eta * c * residuals[every_run, picks])[:, None] * gram[picks]
        means.append(float((c / 2) * (residuals**2 @ weights).mean()))
    return means


# --------------------------------------------------------------------------- the command


def solve_symbolic(half: bool) -> Solution:
    """The derivation alone, with no data."""
    from dlsolve.solvers import convergence_symbolic as cs

    derivation = cs.derive(cm.loss_constant(half))
    found = cs.formulas(derivation)
    return Solution(
        command="convergence-bound",
        inputs={"symbolic": True, "half": half},
        answer={"symbolic": found, "identity_checked": derivation.identity_checked},
        summary=f"ρ(η) = {found['rho']}, best η = {found['eta_best']}, ρ* = {found['rho_best']}",
        quiet=f"rho = {found['rho']}; eta* = {found['eta_best']}; rho* = {found['rho_best']}; "
        f"contraction for 0 < eta < {found['eta_max']}",
        steps=cs.derivation_steps(derivation),
    )


def solve_convergence_bound(
    x: Matrix,
    p: str | list[Value] = "uniform",
    eta: Fraction | None = None,
    y: list[Value] | None = None,
    half: bool = False,
    eps: Fraction | None = None,
    simulate_runs: int | None = None,
    simulate_steps: int = 50,
    seed: int = 0,
) -> Solution:
    """Bound, tighter bound and exact worst-case factor of SGD's one-step loss contraction for ``(X, p)``.

    ``p`` is ``"uniform"``, ``"importance"`` (``p_i ∝ ||x_i||^2``) or a vector; ``eta`` defaults to
    the textbook best ``lambda_min / (c lambda_max R^2)``; ``simulate_runs`` turns on Monte Carlo.
    """
    from dlsolve.solvers import convergence_symbolic as cs

    c = cm.loss_constant(half)
    array, rows = _check_rows(x)
    n, d = array.shape
    name, weights, warnings = resolve_probabilities(rows, array, p)
    if eps is not None and not 1e-300 <= eps < 1:
        raise BadInput("expected 1e-300 <= eps < 1", option="--eps")
    if eta is not None and not 1e-200 <= eta <= 1e200:
        raise BadInput("expected a step size between 1e-200 and 1e200", option="--eta")
    if y is not None:
        if len(y) != n:
            raise BadInput(f"expected {n} targets (one per row of X), got {len(y)}", option="--y")
        if any(abs(v) > MAX_ENTRY for v in y):
            raise BadInput(f"targets must be at most {MAX_ENTRY:g} in size", option="--y")
        residual = cm.check_interpolation(array, rows, y)
        if residual > 1e-9:
            raise BadInput(
                "X θ = y has no solution (relative least-squares residual "
                f"{fmt.decimal(residual)}); the bound assumes interpolation",
                option="--y",
            )
    if simulate_runs is not None and simulate_runs * simulate_steps * n > MAX_SIMULATION_WORK:
        raise BadInput(
            f"runs x steps x n = {simulate_runs * simulate_steps * n} is too much work (at most {MAX_SIMULATION_WORK})",
            option="--runs",
        )

    derivation = cs.derive(c)
    schemes = {name: analyse_scheme(name, array, rows, weights, c)}
    for other in SCHEMES:
        if other not in schemes:
            other_p = cm.sampling_probabilities(rows if not _float_rows(rows) else _normalised(array), other)
            schemes[other] = analyse_scheme(other, array, rows, other_p, c)
    chosen = schemes[name]
    result = chosen.analysis
    step_size: Value = eta if eta is not None else chosen.eta_best
    curvature = result.lambda_max * result.R2
    try:
        rho = cm.rho_of(step_size, result.lambda_min, curvature, c)
        rho_tight = cm.rho_of(step_size, result.lambda_min, result.beta, c)
        factor = exact_factor(chosen, rows, step_size, c)
        finite = all(math.isfinite(value) for value in (rho, rho_tight, factor))
    except OverflowError:
        finite = False
    if not finite:  # only a given η can be this far out: the best one is about 1 / (c λ_max R²)
        raise BadInput(
            f"η = {float(step_size):.3g} is too large for these data: η² λ_max R² overflows a float "
            f"(the bound contracts for 0 < η < {fmt.number(chosen.eta_max)})",
            option="--eta",
        )
    eta_exact_best, factor_best = best_exact_step(chosen, c)
    steps_bound = cm.steps_to_reduce(1 - rho, eps) if eps is not None else None
    steps_exact = cm.steps_to_reduce(factor, eps) if eps is not None else None
    uniform = schemes["uniform"].analysis
    norms_total: Value = (
        sum((v * v for row in rows for v in row), Fraction(0))
        if not _float_rows(rows)
        else float((array * array).sum())
    )
    kaczmarz = 1 - n * uniform.lambda_min / norms_total
    if rho <= 0:
        warnings.append(
            f"η = {fmt.number(step_size)} is outside 0 < η < {fmt.number(chosen.eta_max)}: the textbook bound "
            "proves no contraction (1 − ρ ≥ 1)"
        )
    if factor >= 1:
        warnings.append(f"at η = {fmt.number(step_size)} the expected loss can grow: worst factor {_show(factor)} ≥ 1")

    steps = [
        Step(
            title="Derivation (SymPy)",
            text="The general result, before any numbers.",
            substeps=cs.derivation_steps(derivation),
        )
    ]
    steps.append(_spectrum_step(chosen, rows, array, n, d, name))
    steps.append(_bound_step(chosen, step_size, eta is None, rho, c))
    steps.append(_tight_step(chosen, step_size, rho_tight, c))
    steps.append(_exact_step(chosen, step_size, factor, eta_exact_best, factor_best, rho))
    if eps is not None:
        steps.append(
            Step(
                title=f"Steps to reduce the loss by ε = {fmt.number(eps)}",
                text=(
                    f"E[L_t] ≤ q^t L_0 ≤ ε L_0 once t ≥ ln ε / ln q.\n"
                    f"Textbook bound q = 1 − ρ = {_show(1 - rho)}: t = {_steps_text(steps_bound)}.\n"
                    f"Exact worst-case factor q = {_show(factor)}: t = {_steps_text(steps_exact)}."
                ),
            )
        )
    steps.append(_comparison_step(schemes, c))
    steps.append(
        Step(
            title="Reference: randomized Kaczmarz (Strohmer and Vershynin 2009)",
            text=(
                "Kaczmarz samples row i with p_i = ||x_i||²/||X||_F² and projects onto x_iᵀθ = y_i "
                "(SGD on f_i/||x_i||² with the 1/2 convention and η = 1); for errors in the row space\n"
                "E||e_{t+1}||² ≤ (1 − σ_min²(X)/||X||_F²) ||e_t||², σ_min the smallest nonzero singular value.\n"
                f"σ_min² = n λ_min(H_uniform) = {_show(n * uniform.lambda_min)}, ||X||_F² = {_show(norms_total)}: "
                f"rate {_show(kaczmarz)} per step (on the squared error, not on L)."
            ),
        )
    )
    answer: dict[str, Any] = {
        "lambda_min": _json(result.lambda_min),
        "lambda_max": _json(result.lambda_max),
        "R2": _json(result.R2),
        "beta": _json(result.beta),
        "eta": _json(step_size),
        "rho": _json(rho),
        "bound_factor": _json(1 - rho),
        "exact_factor": _json(factor),
        "eta_exact_best": eta_exact_best,
        "exact_factor_best": factor_best,
        "steps_to_eps": steps_bound,
        "steps_to_eps_exact": steps_exact,
        "eps": _json(eps),
        "eta_best": _json(chosen.eta_best),
        "rho_best": _json(chosen.rho_best),
        "eta_max": _json(chosen.eta_max),
        "rho_tight": _json(rho_tight),
        "eta_tight_best": _json(chosen.eta_tight_best),
        "rho_tight_best": _json(chosen.rho_tight_best),
        "rank": result.rank,
        "kaczmarz_rate": _json(kaczmarz),
        "sampling": name,
        "p": [_json(v) for v in weights] if n <= 1000 else None,
        "loss": "half" if half else "square",
        "comparison": {
            key: {
                "lambda_min": _json(s.analysis.lambda_min),
                "lambda_max": _json(s.analysis.lambda_max),
                "beta": _json(s.analysis.beta),
                "eta_best": _json(s.eta_best),
                "rho_best": _json(s.rho_best),
                "eta_tight_best": _json(s.eta_tight_best),
                "rho_tight_best": _json(s.rho_tight_best),
            }
            for key, s in schemes.items()
        },
    }
    answer["exact"] = {
        key: text
        for key, value in (
            ("lambda_min", result.lambda_min),
            ("lambda_max", result.lambda_max),
            ("R2", result.R2),
            ("beta", result.beta),
            ("eta", step_size),
            ("rho", rho),
            ("bound_factor", 1 - rho),
            ("exact_factor", factor),
            ("rho_best", chosen.rho_best),
        )
        if (text := _exact_text(value)) is not None
    }
    _check_finite(answer)
    if simulate_runs is not None:
        targets = y if y is not None else [float(v) for v in array.sum(axis=1)]
        means = simulate(array, weights, targets, c, float(step_size), simulate_runs, simulate_steps, seed)
        steps.append(_simulation_step(means, rho, factor, simulate_runs, seed, y is None))
        ratio = (means[-1] / means[0]) ** (1 / simulate_steps) if means[0] > 0 else 0.0
        answer["simulation"] = {
            "runs": simulate_runs,
            "steps": simulate_steps,
            "seed": seed,
            "mean_loss": means,
            "empirical_ratio": ratio,
        }
    summary = (
        f"λ_min = {_show(result.lambda_min)}, λ_max = {_show(result.lambda_max)}, R² = {_show(result.R2)}: at η = "
        f"{_show(step_size)} the bound gives E[L_{{t+1}}] ≤ {_show(1 - rho)} L_t (ρ = {_show(rho)}); the exact worst "
        f"factor is {_show(factor)}; best η for it ≈ {fmt.decimal(eta_exact_best)} (factor {fmt.decimal(factor_best)})"
    )
    quiet = (
        f"eta={fmt.exact(step_size)} rho={fmt.exact(rho)} bound_factor={fmt.exact(1 - rho)} "
        f"exact_factor={fmt.exact(factor)} eta_exact_best={fmt.decimal(eta_exact_best)}"
    )
    if steps_bound is not None:
        quiet += f" steps_to_eps={steps_bound}"
    return Solution(
        command="convergence-bound",
        inputs={
            "x": [[fmt.exact(v) for v in row] for row in x.tolist()] if n * d <= 400 else f"{n}x{d} matrix",
            "p": p if isinstance(p, str) else [fmt.exact(v) for v in p],
            "eta": None if eta is None else fmt.exact(eta),
            "y": None if y is None else [fmt.exact(v) for v in y],
            "half": half,
            "eps": None if eps is None else fmt.exact(eps),
        }
        | ({"runs": simulate_runs, "steps": simulate_steps, "seed": seed} if simulate_runs is not None else {}),
        answer=answer,
        summary=summary,
        quiet=quiet,
        steps=steps,
        warnings=warnings,
        answer_latex=rf"\mathbb{{E}}[L_{{t+1}}\mid\theta_t] \le {fmt.latex_number(1 - rho)}\, L_t",
    )


# --------------------------------------------------------------------------- steps


def _steps_text(steps: int | None) -> str:
    return "none (q ≥ 1: no guarantee)" if steps is None else str(steps)


def _spectrum_step(scheme: Scheme, rows: list[list[Value]] | None, array: Any, n: int, d: int, name: str) -> Step:
    result = scheme.analysis
    how = "exact, from SymPy's characteristic polynomial" if result.exact_path else "float64, NumPy"
    text = (
        f"Sampling: {name}, p = {fmt.vector(result.p, with_decimal=True) if n <= 12 else f'({n} values)'}.\n"
        f"H = Σ p_i x_i x_iᵀ is {d}x{d} with rank {result.rank}"
        + (" (singular: d > n or dependent rows)" if result.rank < d else "")
        + f"; nonzero eigenvalues ({how}): "
        + (
            ", ".join(_show(v) for v in result.eigenvalues)
            if len(result.eigenvalues) <= 12
            else f"{result.rank} values"
        )
        + f".\nλ_min = {_show(result.lambda_min)} (smallest NONZERO eigenvalue), λ_max = {_show(result.lambda_max)}.\n"
        "Why nonzero: θ_0 = 0 and each SGD step adds a multiple of some x_i, so θ_t stays in the row space of X; "
        "θ* (the min-norm solution, the limit of SGD) is there too, so e_t = θ_t − θ* lies in the row space "
        "= range(H), where eᵀH²e ≥ λ_min eᵀHe holds with the smallest nonzero eigenvalue "
        "(null-space directions are never excited)."
    )
    blocks: list[Any] = []
    if rows is not None and d <= 8 and n <= 12:
        row_norms = [sum(v * v for v in row) for row in rows]
        blocks.append(
            Table(
                title="Data points",
                columns=["i", "x_i", "||x_i||²", "p_i", "h_i = x_iᵀHx_i"],
                rows=[
                    [str(i + 1), fmt.vector(row), _show(norm), _show(weight), _show(h)]
                    for i, (row, norm, weight, h) in enumerate(zip(rows, row_norms, result.p, result.h, strict=True))
                ],
            )
        )
    if rows is not None and d <= 8 and not _float_rows(rows):
        h_matrix = [
            [sum((w * row[a] * row[b] for w, row in zip(result.p, rows, strict=True)), Fraction(0)) for b in range(d)]
            for a in range(d)
        ]
        blocks.insert(
            0,
            Heatmap(
                values=[[float(v) for v in line] for line in h_matrix],
                cells=[[fmt.exact(v) for v in line] for line in h_matrix],
                title="H = Σ p_i x_i x_iᵀ",
            ),
        )
    return Step(
        title="The numbers: H, its spectrum and the row space",
        text=text,
        latex=rf"\lambda_{{\min}} = {fmt.latex_number(result.lambda_min)},\quad \lambda_{{\max}} = "
        rf"{fmt.latex_number(result.lambda_max)}",
        blocks=blocks,
    )


def _bound_step(scheme: Scheme, eta: Value, default_eta: bool, rho: Value, c: int) -> Step:
    result = scheme.analysis
    curvature = result.lambda_max * result.R2
    chosen = "the best step size of this bound (default)" if default_eta else "given by --eta"
    return Step(
        title="The textbook bound with these numbers",
        text=(
            f"R² = max_i ||x_i||² = {_show(result.R2)}; λ_max R² = {_show(curvature)}.\n"
            f"ρ(η) = {2 * c}·λ_min·η − {c * c}·λ_max R²·η² = {_show(2 * c * result.lambda_min)} η − "
            f"{_show(c * c * curvature)} η².\n"
            f"Best η* = λ_min/({c}·λ_max R²) = {_show(scheme.eta_best)}, ρ* = λ_min²/(λ_max R²) = "
            f"{_show(scheme.rho_best)}; any contraction needs 0 < η < {_show(scheme.eta_max)}.\n"
            f"At η = {_show(eta)} ({chosen}): ρ = {_show(rho)}, so E[L(θ_{{t+1}}) | θ_t] ≤ {_show(1 - rho)} L(θ_t)."
        ),
        latex=rf"\rho(\eta) = {fmt.latex_number(rho)},\quad 1-\rho = {fmt.latex_number(1 - rho)}",
    )


def _tight_step(scheme: Scheme, eta: Value, rho_tight: Value, c: int) -> Step:
    result = scheme.analysis
    return Step(
        title="A tighter constant: β = max_i x_iᵀHx_i",
        text=(
            f"E[B | θ_t] ≤ {c * c}η² β L with β = max_i x_iᵀHx_i = {_show(result.beta)} ≤ λ_max R² = "
            f"{_show(result.lambda_max * result.R2)}.\n"
            f"ρ_β(η) = {2 * c}·λ_min·η − {c * c}·β·η²; at η = {_show(eta)}: ρ_β = {_show(rho_tight)} "
            f"(factor {_show(1 - rho_tight)}).\n"
            f"Best for this bound: η = λ_min/({c}β) = {_show(scheme.eta_tight_best)}, ρ_β* = λ_min²/β = "
            f"{_show(scheme.rho_tight_best)}."
        ),
    )


def _exact_step(
    scheme: Scheme, eta: Value, factor: Value, eta_exact_best: float, factor_best: float, rho: Value
) -> Step:
    how = "exactly (SymPy, largest root of det(M_r − μ H_r))" if isinstance(factor, Fraction) else "in float64"
    return Step(
        title="Exact worst-case one-step factor",
        text=(
            "E[L(θ_{t+1}) | θ_t] = (c/2) eᵀMe exactly, with M = H − 2cη H² + c²η² Σ_i p_i (x_iᵀHx_i) x_i x_iᵀ, "
            "and L = (c/2) eᵀHe, so max over e in the row space of E[L_{t+1}]/L_t is the largest "
            "generalised eigenvalue of (M, H) on the row space.\n"
            f"At η = {_show(eta)}: factor = {_show(factor)} ({how}); the textbook bound says "
            f"{_show(1 - rho)}.\n"
            f"The step size minimising the exact factor (convex in η; cutting planes): η ≈ "
            f"{fmt.decimal(eta_exact_best)}, factor ≈ {fmt.decimal(factor_best)}."
        ),
    )


def _comparison_step(schemes: dict[str, Scheme], c: int) -> Step:
    columns = ["p", "λ_min", "λ_max", "β", "η*", "ρ*", "η_β*", "ρ_β*", "best exact factor"]
    table_rows = []
    for key, scheme in schemes.items():
        result = scheme.analysis
        best = best_exact_step(scheme, c)
        table_rows.append(
            [
                key,
                _show(result.lambda_min),
                _show(result.lambda_max),
                _show(result.beta),
                _show(scheme.eta_best),
                _show(scheme.rho_best),
                _show(scheme.eta_tight_best),
                _show(scheme.rho_tight_best),
                f"{fmt.decimal(best[1])} at η ≈ {fmt.decimal(best[0])}",
            ]
        )
    return Step(
        title="Uniform versus importance sampling (p_i ∝ ||x_i||²)",
        text=(
            "Each scheme at its own best step sizes (η*, ρ*: textbook bound; η_β*, ρ_β*: with β). "
            "Note the loss L = Σ p_i f_i itself changes with p; "
            "under interpolation all share the minimiser θ*, so the contraction factors compare convergence speed."
        ),
        blocks=[Table(columns=columns, rows=table_rows, title="Sampling schemes")],
    )


def _simulation_step(means: list[float], rho: Value, factor: Value, runs: int, seed: int, default_y: bool) -> Step:
    steps = len(means) - 1
    times = [float(t) for t in range(steps + 1)]
    bound = [means[0] * float(1 - rho) ** t for t in range(steps + 1)]
    exact = [means[0] * float(factor) ** t for t in range(steps + 1)]
    ratio = (means[-1] / means[0]) ** (1 / steps) if means[0] > 0 else 0.0
    positive = all(v > 0 for v in means + bound + exact)
    return Step(
        title=f"Monte Carlo: {runs} runs of SGD from θ_0 = 0 (seed {seed})",
        text=(
            ("y = X·1 (no --y given), so θ* is the min-norm solution of Xθ = X·1.\n" if default_y else "")
            + f"Mean L_0 = {fmt.decimal(means[0])}, mean L_{steps} = {fmt.decimal(means[-1])}; bound (1 − ρ)^t L_0 = "
            f"{fmt.decimal(bound[-1])}, exact-factor curve {fmt.decimal(exact[-1])}.\n"
            f"Empirical one-step ratio (mean L_{steps} / mean L_0)^(1/{steps}) = {fmt.decimal(ratio)} versus the "
            f"exact worst-case factor {_show(factor)} (E[L_t] ≤ factor^t L_0 for every start)."
        ),
        blocks=[
            Plot(
                series=[
                    Series("Monte Carlo mean L_t", times, means),
                    Series("bound (1-ρ)^t L_0", times, bound),
                    Series("exact factor^t L_0", times, exact),
                ],
                title="Expected loss",
                xlabel="step t",
                ylabel="L",
                logy=positive,
            )
        ],
    )


def convergence_bound(
    x: Matrix | None = None,
    *,
    p: str | list[Value] = "uniform",
    symbolic: bool = False,
    half: bool = False,
    simulate: bool = False,
    runs: int = 200,
    steps: int = 50,
    **settings: Any,
) -> Solution:
    """The ``convergence-bound`` command: the derivation alone (``symbolic``), or the bound for data ``x``.

    ``p`` is a scheme of :data:`SCHEMES` or the sampling probabilities; ``simulate`` adds ``runs``
    Monte Carlo runs of ``steps`` SGD steps; ``settings`` go to :func:`solve_convergence_bound`.
    """
    if symbolic:
        return solve_symbolic(half)
    if x is None:
        raise BadInput("expected the data matrix X (or --symbolic for the derivation alone)", option="--x")
    return solve_convergence_bound(
        x, p=p, half=half, simulate_runs=runs if simulate else None, simulate_steps=steps, **settings
    )
