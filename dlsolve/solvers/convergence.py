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
from dlsolve.solution import Solution
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
    """A value in a message: exact when exact (``1/32``), else about six significant digits."""
    if value is None:
        return "—"
    return fmt.number(value) if isinstance(value, Fraction) else fmt.decimal(value)


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
        warnings.append(f"the probabilities summed to {_show(total)}; they were normalised to sum 1")
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


def analyse_scheme(
    name: str, array: Any, rows: list[list[Value]] | None, p: list[Value], c: int, pencil: bool = True
) -> Scheme:
    """Analyse ``(X, p)``: exact when small and exact; float64 work on ``X / scale`` (reported unscaled).

    ``pencil=False`` (a scheme only compared, not chosen) defers the reduced pencil until it is used.
    """
    scale = float(2.0 ** round(math.log2(max(float(array.max()), -float(array.min())))))
    analysis = cm.analyse(array, rows, p, scale, pencil=pencil)
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


# --------------------------------------------------------------------------- exact (irrational) values


def exact_forms(scheme: Scheme, c: int, eta: Fraction | None) -> dict[str, Any]:
    """SymPy forms of the chosen scheme's values on the exact path (``1 - sqrt(3)/3``, ``1/2 - sqrt(3)/4``).

    Empty on the float path, or when an eigenvalue has no closed form in radicals (a ``CRootOf``).
    Keys: ``lambda_min``, ``lambda_max``, ``eta_best``, ``rho_best``, ``eta_max``, ``eta_tight_best``,
    ``rho_tight_best``, and at the step size used ``eta``, ``rho``, ``bound_factor``.
    """
    roots = scheme.analysis.symbolic_eigenvalues
    if not roots:
        return {}
    import sympy as sp

    if any(root.has(sp.CRootOf) for root in roots):
        return {}
    result = scheme.analysis

    def rational(value: Value) -> Any:
        fraction = Fraction(value)
        return sp.Rational(fraction.numerator, fraction.denominator)

    lmin, lmax, r2, beta = roots[0], roots[-1], rational(result.R2), rational(result.beta)

    def tidy(expression: Any) -> Any:
        return sp.expand(sp.radsimp(expression))

    forms = {
        "lambda_min": lmin,
        "lambda_max": lmax,
        "eta_best": tidy(lmin / (c * lmax * r2)),
        "rho_best": tidy(lmin**2 / (lmax * r2)),
        "eta_max": tidy(2 * lmin / (c * lmax * r2)),
        "eta_tight_best": tidy(lmin / (c * beta)),
        "rho_tight_best": tidy(lmin**2 / beta),
    }
    step = forms["eta_best"] if eta is None else rational(eta)
    forms["eta"] = step
    forms["rho"] = tidy(2 * c * step * lmin - c * c * step**2 * lmax * r2)
    forms["bound_factor"] = tidy(1 - forms["rho"])
    return forms


# --------------------------------------------------------------------------- the exact worst-case factor


@dataclass
class Factor:
    """The exact worst-case one-step factor at one step size, with ``1 - factor`` computed without
    cancellation (``contraction``) and the rounding level below which its sign is not resolved."""

    value: Value
    contraction: Value
    resolution: float  #: 0 for the exact (SymPy) factor

    @property
    def resolved(self) -> bool:
        return abs(self.contraction) > self.resolution

    @property
    def below_float(self) -> bool:
        """A real contraction too small to show in ``1 - contraction`` (float64 prints the factor as 1)."""
        return self.resolved and self.contraction > 0 and float(1 - self.contraction) == 1.0


def worst_factor(scheme: Scheme, rows: list[list[Value]] | None, eta: Value, c: int) -> Factor:
    """The factor at ``eta``: exact (SymPy) when possible, else float64 on ``S = T - I`` (see
    :func:`dlsolve.solvers.convergence_math.top_change`)."""
    import numpy as np

    if scheme.analysis.exact_path and rows is not None and isinstance(eta, Fraction):
        value = cm.exact_factor_rational(rows, scheme.analysis.p, eta, c)
        return Factor(value, 1 - value, 0.0)
    pencil = scheme.analysis.pencil
    scaled = float(eta) * scheme.scale**2
    contraction = cm.worst_contraction(pencil, scaled, c)
    size = 2 * scaled * c * float(np.max(pencil.a, initial=0.0)) + (scaled * c) ** 2 * float(
        np.max(pencil.q_diagonal, initial=0.0)
    )
    resolution = 64 * float(np.finfo(float).eps) * size
    if pencil.size > cm.DENSE_MAX:  # Davidson stops at the rounding of 1 + theta
        resolution = max(resolution, float(np.finfo(float).eps))
    return Factor(1 - contraction, contraction, resolution)


def exact_factor(scheme: Scheme, rows: list[list[Value]] | None, eta: Value, c: int) -> Value:
    """Worst ``E[L_{t+1}] / L_t`` at ``eta``: exact (SymPy) when possible, else float64."""
    return worst_factor(scheme, rows, eta, c).value


# --------------------------------------------------------------------------- the command


def solve_symbolic(half: bool) -> Solution:
    """The derivation alone, with no data."""
    from dlsolve.solvers import convergence_symbolic as cs

    derivation = cs.derive(cm.loss_constant(half))
    found = cs.formulas(derivation)
    shown = cs.maths_formulas(derivation)
    return Solution(
        command="convergence-bound",
        inputs={"symbolic": True, "half": half},
        answer={"symbolic": found, "identity_checked": derivation.identity_checked},
        summary=f"ρ(η) = {shown['rho']}, best η* = {shown['eta_best']}, ρ* = {shown['rho_best']}",
        quiet=f"rho = {shown['rho']}; eta* = {shown['eta_best']}; rho* = {shown['rho_best']}; "
        f"contraction for 0 < eta < {shown['eta_max']}",
        steps=lambda: cs.derivation_steps(derivation, full=True),
    )


def _check_inputs(
    x: Matrix, p: str | list[Value], eta: Fraction | None, y: list[Value] | None, eps: Fraction | None
) -> tuple[Any, list[list[Value]] | None, str, list[Value], list[str]]:
    """``(array, exact rows, scheme name, p, warnings)``; BadInput naming the option otherwise."""
    array, rows = _check_rows(x)
    n = array.shape[0]
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
    return array, rows, name, weights, warnings


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
    full: bool = False,
) -> Solution:
    """Bound, tighter bound and exact worst-case factor of SGD's one-step loss contraction for ``(X, p)``.

    ``p`` is ``"uniform"``, ``"importance"`` (``p_i ∝ ||x_i||^2``) or a vector; ``eta`` defaults to
    the textbook best ``lambda_min / (c lambda_max R^2)``; ``simulate_runs`` turns on Monte Carlo.
    The answer holds every number; the working (built on demand) stops at ``eta*`` and ``rho*`` unless
    ``full`` (the tighter bound, the exact factor, the comparison of sampling schemes, Kaczmarz).
    """
    from dlsolve.solvers import convergence_steps

    c = cm.loss_constant(half)
    array, rows, name, weights, warnings = _check_inputs(x, p, eta, y, eps)
    n, d = array.shape
    if simulate_runs is not None and simulate_runs * simulate_steps * n > MAX_SIMULATION_WORK:
        raise BadInput(
            f"runs x steps x n = {simulate_runs * simulate_steps * n} is too much work (at most {MAX_SIMULATION_WORK})",
            option="--runs",
        )
    schemes = {name: analyse_scheme(name, array, rows, weights, c)}
    for other in SCHEMES:
        if other not in schemes:
            other_p = cm.sampling_probabilities(rows if not _float_rows(rows) else _normalised(array), other)
            schemes[other] = analyse_scheme(other, array, rows, other_p, c, pencil=False)
    chosen = schemes[name]
    result = chosen.analysis
    step_size: Value = eta if eta is not None else chosen.eta_best
    curvature = result.lambda_max * result.R2
    try:
        rho = cm.rho_of(step_size, result.lambda_min, curvature, c)
        rho_tight = cm.rho_of(step_size, result.lambda_min, result.beta, c)
        factor = worst_factor(chosen, rows, step_size, c)
        finite = all(math.isfinite(value) for value in (rho, rho_tight, factor.value))
    except OverflowError:
        finite = False
    if not finite:  # only a given η can be this far out: the best one is about 1 / (c λ_max R²)
        raise BadInput(
            f"η = {float(step_size):.3g} is too large for these data: η² λ_max R² overflows a float "
            f"(the bound contracts for 0 < η < {_show(chosen.eta_max)})",
            option="--eta",
        )
    eta_exact_best, factor_best = best_exact_step(chosen, c)
    steps_bound = cm.steps_to_reduce(1 - rho, eps, float(rho)) if eps is not None else None
    steps_exact = cm.steps_to_reduce(factor.value, eps, float(factor.contraction)) if eps is not None else None
    uniform = schemes["uniform"].analysis
    norms_total: Value = (
        sum((v * v for row in rows for v in row), Fraction(0))
        if not _float_rows(rows)
        else float((array * array).sum())
    )
    kaczmarz = 1 - n * uniform.lambda_min / norms_total
    warnings += _factor_warnings(step_size, chosen, rho, factor)
    forms = exact_forms(chosen, c, eta)
    answer = _answer(chosen, schemes, step_size, rho, rho_tight, factor, (eta_exact_best, factor_best), forms)
    answer.update(
        {
            "steps_to_eps": steps_bound,
            "steps_to_eps_exact": steps_exact,
            "eps": _json(eps),
            "kaczmarz_rate": _json(kaczmarz),
            "sampling": name,
            "p": [_json(v) for v in weights] if n <= 1000 else None,
            "loss": "half" if half else "square",
        }
    )
    _check_finite(answer)
    means = None
    if simulate_runs is not None:
        targets = y if y is not None else [float(v) for v in array.sum(axis=1)]
        means = simulate(array, weights, targets, c, float(step_size), simulate_runs, simulate_steps, seed)
        ratio = (means[-1] / means[0]) ** (1 / simulate_steps) if means[0] > 0 else 0.0
        answer["simulation"] = {
            "runs": simulate_runs,
            "steps": simulate_steps,
            "seed": seed,
            "mean_loss": means,
            "empirical_ratio": ratio,
        }
    context = convergence_steps.Context(
        schemes=schemes,
        chosen=chosen,
        rows=rows,
        array=array,
        c=c,
        eta=step_size,
        default_eta=eta is None,
        rho=rho,
        rho_tight=rho_tight,
        factor=factor,
        best_exact=(eta_exact_best, factor_best),
        eps=eps,
        steps_bound=steps_bound,
        steps_exact=steps_exact,
        kaczmarz=kaczmarz,
        norms_total=norms_total,
        forms=forms,
        simulation=None if means is None else (means, simulate_runs or 0, seed, y is None),
        full=full,
    )
    show = convergence_steps.show
    rho_text = show(rho, forms.get("rho"))
    summary = (
        f"λ_min = {show(result.lambda_min, forms.get('lambda_min'))}, λ_max = "
        f"{show(result.lambda_max, forms.get('lambda_max'))}, R² = {show(result.R2)}: at η = "
        f"{show(step_size, forms.get('eta'))} the bound gives E[L_{{t+1}}] ≤ (1 − ρ) L_t with ρ = {rho_text}; the "
        f"exact worst factor is {convergence_steps.factor_text(factor)}; best η for it ≈ {fmt.decimal(eta_exact_best)} "
        f"(factor {fmt.decimal(factor_best)})"
    )
    quiet = (
        f"eta={_quiet(step_size, forms.get('eta'))} rho={_quiet(rho, forms.get('rho'))} "
        f"bound_factor={_quiet(1 - rho, forms.get('bound_factor'))} "
        f"exact_factor={_quiet(factor.value)} eta_exact_best={fmt.decimal(eta_exact_best)}"
    )
    if steps_bound is not None:
        quiet += f" steps_to_eps={steps_bound}"
    return Solution(
        command="convergence-bound",
        inputs=_inputs(x, n, d, p, eta, y, half, eps)
        | ({"runs": simulate_runs, "steps": simulate_steps, "seed": seed} if simulate_runs is not None else {}),
        answer=answer,
        summary=summary,
        quiet=quiet,
        steps=lambda: convergence_steps.working(context),
        warnings=warnings,
        answer_latex=convergence_steps.answer_latex(context),
    )


def _quiet(value: Value, form: Any = None) -> str:
    """``-q``'s form of a value, one token: a fraction when exact (``1/32``), a radical with its decimal
    (``1/2−√3/4≈0.0669873``), else about six significant digits."""
    if form is not None and not isinstance(value, Fraction):
        return f"{fmt.symbolic(form).replace(' ', '')}≈{fmt.decimal(value)}"
    if isinstance(value, Fraction):
        return str(value.numerator) if value.denominator == 1 else f"{value.numerator}/{value.denominator}"
    return fmt.decimal(value)


def _factor_warnings(step_size: Value, chosen: Scheme, rho: Value, factor: Factor) -> list[str]:
    """No contraction proven, real growth, and contractions float64 cannot show (never growth on rounding)."""
    warnings = []
    if rho <= 0:
        warnings.append(
            f"η = {_show(step_size)} is outside 0 < η < {_show(chosen.eta_max)}: the textbook bound "
            "proves no contraction (1 − ρ ≥ 1)"
        )
    elif float(1 - rho) == 1.0:
        warnings.append(
            f"ρ = {fmt.decimal(rho)} is below float64's resolution near 1: the bound's factor 1 − ρ prints as 1 "
            "but is smaller"
        )
    if factor.resolved and factor.contraction < 0:
        warnings.append(
            f"at η = {_show(step_size)} the expected loss can grow: worst factor {fmt.decimal(factor.value)} "
            f"> 1 (by {fmt.decimal(-factor.contraction)})"
        )
    elif not factor.resolved:
        warnings.append(
            f"at η = {_show(step_size)} the exact worst factor is 1 to within float64 rounding "
            f"(|1 − factor| ≤ {fmt.decimal(factor.resolution)}): H is too ill-conditioned to tell contraction "
            "from growth"
        )
    elif factor.below_float:
        warnings.append(
            f"the exact contraction 1 − factor = {fmt.decimal(factor.contraction)} is below float64's resolution "
            "near 1: the factor prints as 1 but is smaller (answer.exact_contraction holds it)"
        )
    return warnings


def _answer(
    chosen: Scheme,
    schemes: dict[str, Scheme],
    step_size: Value,
    rho: Value,
    rho_tight: Value,
    factor: Factor,
    best_exact: tuple[float, float],
    forms: dict[str, Any],
) -> dict[str, Any]:
    """The JSON answer: every number, ``exact`` strings of the rational ones, ``exact_text`` maths text
    of every exact one (irrational ones too: ``1 − √3/3``)."""
    result = chosen.analysis
    answer: dict[str, Any] = {
        "lambda_min": _json(result.lambda_min),
        "lambda_max": _json(result.lambda_max),
        "R2": _json(result.R2),
        "beta": _json(result.beta),
        "eta": _json(step_size),
        "rho": _json(rho),
        "bound_factor": _json(1 - rho),
        "exact_factor": _json(factor.value),
        "exact_contraction": _json(factor.contraction),
        "eta_exact_best": best_exact[0],
        "exact_factor_best": best_exact[1],
        "eta_best": _json(chosen.eta_best),
        "rho_best": _json(chosen.rho_best),
        "eta_max": _json(chosen.eta_max),
        "rho_tight": _json(rho_tight),
        "eta_tight_best": _json(chosen.eta_tight_best),
        "rho_tight_best": _json(chosen.rho_tight_best),
        "rank": result.rank,
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
    values = {
        "lambda_min": result.lambda_min,
        "lambda_max": result.lambda_max,
        "R2": result.R2,
        "beta": result.beta,
        "eta": step_size,
        "rho": rho,
        "bound_factor": 1 - rho,
        "exact_factor": factor.value,
        "rho_best": chosen.rho_best,
    }
    answer["exact"] = {key: text for key, value in values.items() if (text := _exact_text(value)) is not None}
    texts = {key: _quiet(value) for key, value in values.items() if isinstance(value, Fraction)}
    texts.update({key: fmt.symbolic(form) for key, form in forms.items() if key in values or key == "eta_best"})
    answer["exact_text"] = texts
    return answer


def _inputs(
    x: Matrix,
    n: int,
    d: int,
    p: str | list[Value],
    eta: Fraction | None,
    y: list[Value] | None,
    half: bool,
    eps: Fraction | None,
) -> dict[str, Any]:
    """The input line: X as maths rows (``1 0 1; 0 1 1``), no Python lists."""
    shown_x = (
        "; ".join(" ".join(fmt.exact(v) for v in row) for row in x.tolist()) if n * d <= 400 else f"{n}x{d} matrix"
    )
    return {
        "x": f"[{shown_x}]" if n * d <= 400 else shown_x,
        "p": p if isinstance(p, str) else fmt.vector(p),
        "eta": None if eta is None else fmt.exact(eta),
        "y": None if y is None else fmt.vector(y),
        "half": half or None,
        "eps": None if eps is None else fmt.exact(eps),
    }


def convergence_bound(
    x: Matrix | None = None,
    *,
    p: str | list[Value] = "uniform",
    symbolic: bool = False,
    half: bool = False,
    simulate: bool = False,
    runs: int = 200,
    steps: int = 50,
    full: bool = False,
    **settings: Any,
) -> Solution:
    """The ``convergence-bound`` command: the derivation alone (``symbolic``), or the bound for data ``x``.

    ``p`` is a scheme of :data:`SCHEMES` or the sampling probabilities; ``simulate`` adds ``runs``
    Monte Carlo runs of ``steps`` SGD steps; ``full`` adds the extras to the working (the CLI's
    ``--full``); ``settings`` go to :func:`solve_convergence_bound`.
    """
    if symbolic:
        return solve_symbolic(half)
    if x is None:
        raise BadInput("expected the data matrix X (or --symbolic for the derivation alone)", option="--x")
    return solve_convergence_bound(
        x, p=p, half=half, simulate_runs=runs if simulate else None, simulate_steps=steps, full=full, **settings
    )
