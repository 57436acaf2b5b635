"""The working of ``convergence-bound``, built on demand: what a TA writes, then (``full``) the extras.

Default: the derivation, the spectrum of ``H`` and the textbook bound with its best step ``eta*`` and
``rho*`` (and the steps to reach ``eps`` when asked). With ``full``: the data table, the SymPy
identity check, the tighter constant ``beta``, the exact worst-case factor with the step size minimising
it, uniform versus importance sampling and randomized Kaczmarz. Numbers: exact values as fractions or
radicals with a short decimal (``1 − √3/3 ≈ 0.42265``), floats to about six significant digits.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import TYPE_CHECKING, Any

from dlsolve import fmt
from dlsolve.solution import Heatmap, Plot, Series, Step, Table
from dlsolve.solvers.convergence_math import Value

if TYPE_CHECKING:
    from dlsolve.solvers.convergence import Factor, Scheme

STEP_KINDS = {
    "convergence.derivation": "the general bound derived with SymPy, before any numbers (substeps below)",
    "convergence.setup": "the loss as a quadratic form in the error e = θ − θ*, and one SGD step",
    "convergence.one-step": "L(θ_{t+1}) = L(θ_t) + A + B: the cross term A and the quadratic term B",
    "convergence.expect-a": "E[A | θ_t] exactly, and its bound with the smallest nonzero eigenvalue",
    "convergence.expect-b": "E[B | θ_t] exactly, and its bounds with β and with λ_max R²",
    "convergence.rho": "ρ(η), its maximiser η*, ρ* and the step sizes that contract",
    "convergence.identity-check": "SymPy's check of the exact expectations on a generic problem",
    "convergence.spectrum": "H = Σ p_i x_i x_iᵀ, its nonzero eigenvalues, λ_min and λ_max",
    "convergence.bound": "the textbook bound with these numbers: η*, ρ* and the factor 1 − ρ",
    "convergence.tight-bound": "the tighter bound with β = max_i x_iᵀHx_i",
    "convergence.exact-factor": "the exact worst-case one-step factor, a generalised eigenvalue",
    "convergence.steps-to-eps": "how many steps reduce the expected loss by ε",
    "convergence.comparison": "uniform versus importance sampling, each at its own best step sizes",
    "convergence.kaczmarz": "the randomized Kaczmarz rate, for reference",
    "convergence.simulation": "Monte Carlo SGD runs against the bound and the exact factor",
}


@dataclass
class Context:
    """Everything the working shows (computed by :func:`dlsolve.solvers.convergence.solve_convergence_bound`)."""

    schemes: dict[str, Scheme]
    chosen: Scheme
    rows: list[list[Value]] | None
    array: Any
    c: int
    eta: Value
    default_eta: bool
    rho: Value
    rho_tight: Value
    factor: Factor
    best_exact: tuple[float, float]
    eps: Fraction | None
    steps_bound: int | None
    steps_exact: int | None
    kaczmarz: Value
    norms_total: Value
    forms: dict[str, Any]  #: SymPy forms of irrational exact values (convergence.exact_forms)
    simulation: tuple[list[float], int, int, bool] | None  #: (mean losses, runs, seed, y defaulted)
    full: bool


def show(value: Value | None, form: Any = None) -> str:
    """An exact value with its decimal (``1/32 = 0.03125``, ``1/3 ≈ 0.333333``, ``1 − √3/3 ≈ 0.42265``),
    an integer, or a float to about six significant digits."""
    if value is None:
        return "—"
    if form is not None and not isinstance(value, Fraction):
        return board_product(fmt.symbolic_number(form))
    if isinstance(value, Fraction) and value.denominator != 1:
        decimal = fmt.decimal(value)
        sign = "=" if Fraction(decimal) == value else "≈"
        return f"{value.numerator}/{value.denominator} {sign} {decimal}"
    if isinstance(value, Fraction):
        return str(value.numerator)
    return fmt.decimal(value)


def board_product(text: str) -> str:
    """``5√3/6`` for SymPy's ``5·√3/6``: no ``·`` between a number and a root or a letter."""
    import re

    return re.sub(r"(?<=\d)·(?=[√A-Za-zα-ωΑ-Ω(])", "", text)


def latex(value: Value, form: Any = None) -> str:
    """LaTeX of a value: a fraction or radical when exact (positive terms first, the rational part
    first: ``1 + \\frac{\\sqrt{3}}{3}``, ``\\frac{5\\sqrt{3}}{6} - \\frac{1}{2}``), else about six
    significant digits."""
    if form is not None and not isinstance(value, Fraction):
        import sympy as sp

        terms = sorted(sp.Add.make_args(form), key=lambda t: (t.could_extract_minus_sign(), not t.is_Rational))
        text = ""
        for index, term in enumerate(terms):
            negative = term.could_extract_minus_sign()
            shown = sp.latex(-term if negative else term)
            text += ("-" if negative else "") + shown if index == 0 else (" - " if negative else " + ") + shown
        return text
    return fmt.latex_number(value) if isinstance(value, Fraction) else fmt.decimal(value)


def factor_text(factor: Factor) -> str:
    """The exact worst factor, with ``1 − contraction`` when float64 cannot show it."""
    if factor.below_float:
        return f"1 − {fmt.decimal(factor.contraction)} (below float64's resolution near 1)"
    if not factor.resolved:
        return f"1 to within rounding (±{fmt.decimal(factor.resolution)})"
    return show(factor.value)


def answer_latex(context: Context) -> str:
    """The boxed answer: ``η*`` (or the given η), ``ρ`` and the bound."""
    forms = context.forms
    rho = latex(context.rho, forms.get("rho"))
    bound = latex(1 - context.rho, forms.get("bound_factor"))
    return (
        rf"\eta = {latex(context.eta, forms.get('eta'))},\quad \rho = {rho},\quad "
        rf"\mathbb{{E}}[L_{{t+1}}\mid\theta_t] \le {bound}\, L_t"
    )


def working(context: Context) -> list[Step]:
    """The steps: derivation, spectrum, bound (and ε); with ``full`` the tighter bound, exact factor,
    comparison and Kaczmarz; the simulation when one was run."""
    from dlsolve.solvers import convergence_symbolic as cs

    steps = [
        Step(
            kind="convergence.derivation",
            title="Derivation (SymPy)",
            text="The general result, before any numbers.",
            substeps=cs.derivation_steps(cs.derive(context.c), full=context.full),
        ),
        _spectrum_step(context),
        _bound_step(context),
    ]
    if context.full:
        steps += [_tight_step(context), _exact_step(context)]
    if context.eps is not None:
        steps.append(_eps_step(context))
    if context.full:
        steps += [_comparison_step(context), _kaczmarz_step(context)]
    if context.simulation is not None:
        steps.append(_simulation_step(context))
    return steps


def _steps_text(steps: int | None) -> str:
    return "none (q ≥ 1: no guarantee)" if steps is None else str(steps)


def _spectrum_step(context: Context) -> Step:
    scheme, rows = context.chosen, context.rows
    result, forms = scheme.analysis, context.forms
    n, d = context.array.shape
    how = "(exact, from the characteristic polynomial)" if result.exact_path else "(float64, NumPy)"
    symbolic = result.symbolic_eigenvalues if forms else None
    eigenvalues = (
        [show(value, form) for value, form in zip(result.eigenvalues, symbolic, strict=True)]
        if symbolic is not None
        else [show(value) for value in result.eigenvalues]
    )
    lambda_min = show(result.lambda_min, forms.get("lambda_min"))
    lambda_max = show(result.lambda_max, forms.get("lambda_max"))
    listed = (
        ""
        if len(eigenvalues) <= 2
        else ": " + (", ".join(eigenvalues) if len(eigenvalues) <= 12 else f"{result.rank} values")
    )
    text = (
        f"Sampling: {scheme.name}, p = {fmt.vector(result.p, with_decimal=True) if n <= 12 else f'({n} values)'}.\n"
        f"H = Σ p_i x_i x_iᵀ is {d}x{d} with rank {result.rank}"
        + (" (singular: d > n or dependent rows)" if result.rank < d else "")
        + f"; nonzero eigenvalues {how}{listed}.\n"
        f"λ_min = {lambda_min}, λ_max = {lambda_max} "
        "(λ_min the smallest NONZERO eigenvalue: the error stays in the row space, see step 1.3)."
    )
    blocks: list[Any] = []
    h_exact: list[list[Fraction]] = []
    if rows is not None and d <= 8 and all(isinstance(v, Fraction) for row in rows for v in row):
        h_matrix = [
            [sum((w * row[a] * row[b] for w, row in zip(result.p, rows, strict=True)), Fraction(0)) for b in range(d)]
            for a in range(d)
        ]
        h_exact = h_matrix
        blocks.append(
            Heatmap(
                values=[[float(v) for v in line] for line in h_matrix],
                cells=[[fmt.exact(v) for v in line] for line in h_matrix],
                title="H = Σ p_i x_i x_iᵀ",
            )
        )
    if context.full and rows is not None and d <= 8 and n <= 12:
        row_norms = [sum(v * v for v in row) for row in rows]
        blocks.append(
            Table(
                title="Data points",
                columns=["i", "x_i", "||x_i||²", "p_i", "h_i = x_iᵀHx_i"],
                rows=[
                    [str(i + 1), fmt.vector(row), show(norm), show(weight), show(h)]
                    for i, (row, norm, weight, h) in enumerate(zip(rows, row_norms, result.p, result.h, strict=True))
                ],
            )
        )
    # H typeset once, beside its eigenvalues (the typeset keys then leave out its heatmap block)
    h_latex = next(
        (
            r"H = \sum_i p_i x_i x_i^\top = " + fmt.latex_matrix(h_exact) + r",\quad "
            for block in blocks
            if isinstance(block, Heatmap)
        ),
        "",
    )
    return Step(
        kind="convergence.spectrum",
        title="The numbers: H and its spectrum",
        text=text,
        latex=h_latex + rf"\lambda_{{\min}} = {latex(result.lambda_min, forms.get('lambda_min'))},\quad "
        rf"\lambda_{{\max}} = {latex(result.lambda_max, forms.get('lambda_max'))}",
        blocks=blocks,
    )


def _bound_step(context: Context) -> Step:
    """The textbook bound with the numbers: R², ρ(η) substituted, η*, ρ*, the contracting range, 1 − ρ."""
    from dlsolve.solvers import convergence_symbolic as cs

    scheme, c, forms = context.chosen, context.c, context.forms
    result = scheme.analysis
    formulas = cs.board_formulas(cs.derive(c))
    curvature = result.lambda_max * result.R2
    eta_best = show(scheme.eta_best, forms.get("eta_best"))
    rho_best = show(scheme.rho_best, forms.get("rho_best"))
    bound = show(1 - context.rho, forms.get("bound_factor"))
    decimal_curvature = ("= " + show(curvature)) if isinstance(curvature, Fraction) else "≈ " + fmt.decimal(curvature)
    substituted = _coefficients(2 * c * result.lambda_min, c * c * curvature)
    text = (
        f"R² = max_i ||x_i||² = {show(result.R2)}, λ_max R² {decimal_curvature}: ρ(η) {substituted[0]}.\n"
        f"η* = {formulas['eta_best'][0]} = {eta_best}, ρ* = {formulas['rho_best'][0]} = {rho_best}; "
        f"ρ > 0 ⇔ 0 < η < {show(scheme.eta_max, forms.get('eta_max'))}.\n"
    )
    latex_lines = [
        rf"R^2 = \max_i \|x_i\|^2 = {latex(result.R2)},\quad \rho(\eta) {substituted[1]}",
        rf"\eta^* = {formulas['eta_best'][1]} = {latex(scheme.eta_best, forms.get('eta_best'))},\quad "
        rf"\rho^* = {formulas['rho_best'][1]} = {latex(scheme.rho_best, forms.get('rho_best'))},\quad "
        rf"\rho > 0 \iff 0 < \eta < {latex(scheme.eta_max, forms.get('eta_max'))}",
    ]
    factor = latex(1 - context.rho, forms.get("bound_factor"))
    if context.default_eta:
        text += f"E[L(θ_{{t+1}}) | θ_t] ≤ (1 − ρ*) L(θ_t) at η = η*, 1 − ρ* = {bound}."
        latex_lines.append(
            r"\mathbb{E}[L(\theta_{t+1})\mid\theta_t] \le (1-\rho^*)\,L(\theta_t)\ \text{at}\ \eta = \eta^*,\quad "
            rf"1-\rho^* = {factor}"
        )
    else:
        eta = show(context.eta, forms.get("eta"))
        rho = show(context.rho, forms.get("rho"))
        text += f"At η = {eta} (given by --eta): ρ = {rho}, so E[L(θ_{{t+1}}) | θ_t] ≤ (1 − ρ) L(θ_t), 1 − ρ = {bound}."
        latex_lines.append(
            rf"\eta = {latex(context.eta, forms.get('eta'))}:\ \rho = {latex(context.rho, forms.get('rho'))},\quad "
            r"\mathbb{E}[L(\theta_{t+1})\mid\theta_t] \le (1-\rho)\,L(\theta_t),\quad "
            rf"1-\rho = {factor}"
        )
    if not context.full:
        text += (
            "\n(--full adds the tighter constant β, the exact worst-case factor, the sampling schemes and Kaczmarz.)"
        )
    return Step(
        kind="convergence.bound",
        title="The textbook bound with these numbers",
        text=text,
        latex=r" \\ ".join(latex_lines),
    )


def _coefficients(linear: Value, square: Value) -> tuple[str, str]:
    """``= 2η − 32η²`` with exact coefficients, ``≈ 1.6906η − 12.6188η²`` otherwise (text, LaTeX)."""
    if isinstance(linear, Fraction) and isinstance(square, Fraction):
        first, second = ("" if v == 1 else fmt.exact(v) for v in (linear, square))
        first_latex, second_latex = ("" if v == 1 else fmt.latex_number(v) for v in (linear, square))
        return f"= {first}η − {second}η²", rf"= {first_latex}\eta - {second_latex}\eta^2"
    return (
        f"≈ {fmt.decimal(linear)}η − {fmt.decimal(square)}η²",
        rf"\approx {fmt.decimal(linear)}\eta - {fmt.decimal(square)}\eta^2",
    )


def _tight_step(context: Context) -> Step:
    from dlsolve.solvers import convergence_symbolic as cs

    scheme, c, forms = context.chosen, context.c, context.forms
    result = scheme.analysis
    formulas = cs.board_formulas(cs.derive(c))
    curvature = result.lambda_max * result.R2
    return Step(
        kind="convergence.tight-bound",
        title="A tighter constant: β = max_i x_iᵀHx_i",
        text=(
            f"E[B | θ_t] ≤ {cs._coefficient(c * c, 'η²')} β L with β = max_i x_iᵀHx_i = {show(result.beta)} "
            f"≤ λ_max R² {'=' if isinstance(curvature, Fraction) else '≈'} {show(curvature)}.\n"
            f"ρ_β(η) = {formulas['rho_tight'][0]}; at η = {show(context.eta, forms.get('eta'))}: ρ_β = "
            f"{show(context.rho_tight)} (factor {show(1 - context.rho_tight)}).\n"
            f"Best for this bound: η = {formulas['eta_tight_best'][0]} = "
            f"{show(scheme.eta_tight_best, forms.get('eta_tight_best'))}, "
            f"ρ_β* = {formulas['rho_tight_best'][0]} = {show(scheme.rho_tight_best, forms.get('rho_tight_best'))}."
        ),
        latex=rf"\rho_\beta(\eta) = {formulas['rho_tight'][1]} = {latex(context.rho_tight)}",
    )


def _exact_step(context: Context) -> Step:
    factor = context.factor
    how = "exactly (largest root of det(M_r − μ H_r))" if isinstance(factor.value, Fraction) else "in float64"
    text = (
        "E[L(θ_{t+1}) | θ_t] = (c/2) eᵀMe exactly, with M = H − 2cη H² + c²η² Σ_i p_i (x_iᵀHx_i) x_i x_iᵀ, "
        "and L = (c/2) eᵀHe, so max over e in the row space of E[L_{t+1}]/L_t is the largest "
        "generalised eigenvalue of (M, H) on the row space.\n"
        f"At η = {show(context.eta, context.forms.get('eta'))}: factor = {factor_text(factor)} ({how}); the "
        f"textbook bound says {show(1 - context.rho, context.forms.get('bound_factor'))}.\n"
    )
    if not isinstance(factor.value, Fraction):
        text += (
            f"1 − factor = {fmt.decimal(factor.contraction)}, computed as the smallest eigenvalue of "
            "I − T(η) = 2cηA − c²η²Q (no cancellation against 1).\n"
        )
    text += (
        f"The step size minimising the exact factor (convex in η; cutting planes): η ≈ "
        f"{fmt.decimal(context.best_exact[0])}, factor ≈ {fmt.decimal(context.best_exact[1])}."
    )
    return Step(
        kind="convergence.exact-factor",
        title="Exact worst-case one-step factor",
        text=text,
        latex=r"\max_{e} \frac{\mathbb{E}[L_{t+1}]}{L_t} = \lambda_{\max}(M, H) = " + latex(factor.value),
    )


def _eps_step(context: Context) -> Step:
    assert context.eps is not None
    text = (
        "E[L_t] ≤ q^t L_0 ≤ ε L_0 once t ≥ ln ε / ln q.\n"
        f"Textbook bound q = 1 − ρ = {show(1 - context.rho, context.forms.get('bound_factor'))}: "
        f"t = {_steps_text(context.steps_bound)}."
    )
    if context.full:
        text += f"\nExact worst-case factor q = {factor_text(context.factor)}: t = {_steps_text(context.steps_exact)}."
    return Step(
        kind="convergence.steps-to-eps",
        title=f"Steps to reduce the loss by ε = {show(context.eps)}",
        text=text,
        latex=r"t \ge \frac{\ln \varepsilon}{\ln(1-\rho)}",
    )


def _comparison_step(context: Context) -> Step:
    from dlsolve.solvers.convergence import best_exact_step

    columns = ["p", "λ_min", "λ_max", "β", "η*", "ρ*", "η_β*", "ρ_β*", "best exact factor"]
    table_rows = []
    for key, scheme in context.schemes.items():
        result = scheme.analysis
        best = best_exact_step(scheme, context.c)
        table_rows.append(
            [
                key,
                *(
                    fmt.decimal(value)
                    for value in (
                        result.lambda_min,
                        result.lambda_max,
                        result.beta,
                        scheme.eta_best,
                        scheme.rho_best,
                        scheme.eta_tight_best,
                        scheme.rho_tight_best,
                    )
                ),
                f"{fmt.decimal(best[1])} at η ≈ {fmt.decimal(best[0])}",
            ]
        )
    return Step(
        kind="convergence.comparison",
        title="Uniform versus importance sampling (p_i ∝ ||x_i||²)",
        text=(
            "Each scheme at its own best step sizes (η*, ρ*: textbook bound; η_β*, ρ_β*: with β). "
            "Note the loss L = Σ p_i f_i itself changes with p; "
            "under interpolation all share the minimiser θ*, so the contraction factors compare convergence speed."
        ),
        blocks=[Table(columns=columns, rows=table_rows, title="Sampling schemes")],
    )


def _kaczmarz_step(context: Context) -> Step:
    n = context.array.shape[0]
    uniform = context.schemes["uniform"].analysis
    return Step(
        kind="convergence.kaczmarz",
        title="Reference: randomized Kaczmarz (Strohmer and Vershynin 2009)",
        text=(
            "Kaczmarz samples row i with p_i = ||x_i||²/||X||_F² and projects onto x_iᵀθ = y_i "
            "(SGD on f_i/||x_i||² with the 1/2 convention and η = 1); for errors in the row space\n"
            "E||e_{t+1}||² ≤ (1 − σ_min²(X)/||X||_F²) ||e_t||², σ_min the smallest nonzero singular value.\n"
            f"σ_min² = n λ_min(H_uniform) = {show(n * uniform.lambda_min)}, ||X||_F² = {show(context.norms_total)}: "
            f"rate {show(context.kaczmarz)} per step (on the squared error, not on L)."
        ),
        latex=r"\mathbb{E}\|e_{t+1}\|^2 \le \left(1 - \frac{\sigma_{\min}^2(X)}{\|X\|_F^2}\right)\|e_t\|^2",
    )


def _simulation_step(context: Context) -> Step:
    assert context.simulation is not None
    means, runs, seed, default_y = context.simulation
    rho, factor = context.rho, context.factor.value
    steps = len(means) - 1
    times = [float(t) for t in range(steps + 1)]
    bound = [means[0] * float(1 - rho) ** t for t in range(steps + 1)]
    exact = [means[0] * float(factor) ** t for t in range(steps + 1)]
    ratio = (means[-1] / means[0]) ** (1 / steps) if means[0] > 0 else 0.0
    positive = all(v > 0 for v in means + bound + exact)
    return Step(
        kind="convergence.simulation",
        title=f"Monte Carlo: {runs} runs of SGD from θ_0 = 0 (seed {seed})",
        text=(
            ("y = X·1 (no --y given), so θ* is the min-norm solution of Xθ = X·1.\n" if default_y else "")
            + f"Mean L_0 = {fmt.decimal(means[0])}, mean L_{steps} = {fmt.decimal(means[-1])}; bound (1 − ρ)^t L_0 = "
            f"{fmt.decimal(bound[-1])}, exact-factor curve {fmt.decimal(exact[-1])}.\n"
            f"Empirical one-step ratio (mean L_{steps} / mean L_0)^(1/{steps}) = {fmt.decimal(ratio)} versus the "
            f"exact worst-case factor {factor_text(context.factor)} (E[L_t] ≤ factor^t L_0 for every start)."
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
