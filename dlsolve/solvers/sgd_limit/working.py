"""The working of ``sgd-limit``: set-up, the span argument, the limit and its check, the simulation.

Built on demand (``Solution(steps=...)``): nothing here runs under ``-q`` or in batch answers.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from dlsolve import fmt
from dlsolve.solution import Plot, Series, Step
from dlsolve.solvers.sgd_limit.closed_form import Limit, data
from dlsolve.solvers.sgd_limit.problem import SHOWN_ENTRIES, Number, Problem
from dlsolve.solvers.sgd_limit_simulation import SimulationSettings

STEP_KINDS = {
    "sgd-limit.setup": "the loss, the update rule, the sampling and the data",
    "sgd-limit.span": "the subspace the iterates never leave, θ_0 + M·rowspace(X)",
    "sgd-limit.preconditioner": "adaptive M_t on parallel rows: the fixed direction sign(u), M = diag(1/|u_j|)",
    "sgd-limit.constraint": "the interpolation constraint K a = y − X θ_0, K = X M Xᵀ",
    "sgd-limit.limit": "the limit θ*",
    "sgd-limit.check": "the residual y − X θ* of the limit",
    "sgd-limit.independence": "why the limit does not depend on p or on the step size",
    "sgd-limit.line": "convergence of adaptive methods along the fixed direction",
    "sgd-limit.no-interpolation": "X θ = y has no solution: constant steps keep fluctuating",
    "sgd-limit.decaying-steps": "decaying steps reach the (weighted) least-squares solution",
    "sgd-limit.ridge": "weight decay: the ridge normal equations",
    "sgd-limit.simulation": "a NumPy simulation of the actual update rule",
}

#: Smallest value drawn on the log-scale plots (exact zeros would stretch the axis).
PLOT_FLOOR = 1e-16


def vec(values: Sequence[Number]) -> str:
    """A vector with decimals beside exact entries, abbreviated when long."""
    if len(values) <= SHOWN_ENTRIES:
        return fmt.vector(list(values), with_decimal=True)
    head = ", ".join(fmt.number(v) for v in values[:6])
    return f"[{head}, … ({len(values)} entries)]"


def mat(rows: Sequence[Sequence[Number]], indent: str = "    ") -> str:
    if len(rows) <= SHOWN_ENTRIES and all(len(row) <= SHOWN_ENTRIES for row in rows):
        return fmt.matrix(rows, indent=indent)
    return f"{indent}({len(rows)}x{len(rows[0]) if rows else 0} matrix, not shown)"


def latex_vec(values: Sequence[Number]) -> str:
    """A column vector written on one line, ``(a, b, c)ᵀ`` (a 1-vector as its number)."""
    if len(values) > SHOWN_ENTRIES:
        return r"\theta^*"
    return latex_row(values)


def latex_entry(value: Number) -> str:
    """An entry as inline-height LaTeX: ``\\tfrac{1}{3}``, ``0.25``, ``7``."""
    return fmt.latex_number(value).replace(r"\frac", r"\tfrac")


def latex_row(values: Sequence[Number], *, transpose: bool = True) -> str:
    """``\\left(a, b, c\\right)^\\top`` (``transpose=False``: a row, no ᵀ); one entry: the number itself."""
    if len(values) == 1:
        return latex_entry(values[0])
    body = r"\left(" + ", ".join(latex_entry(v) for v in values) + r"\right)"
    return body + (r"^\top" if transpose else "")


def _zero(values: Sequence[Number]) -> bool:
    return all(v == 0 for v in values)


#: Each adaptive preconditioner in words and formulas (the plain text of the set-up step).
ADAPTIVE_TEXT = {
    "adagrad": "Adagrad (adaptive): M_t = diag(1/(√(Σ_{s≤t} g_s²) + ε))",
    "rmsprop": "RMSprop (adaptive): M_t = diag(1/(√v_t + ε)), v_t = 0.99 v_{t−1} + 0.01 g_t²",
    "adam": "Adam (adaptive): step m̂_t/(√v̂_t + ε) with m, v moving averages of g and g²",
    "epoch-rms": "epoch-rms (adaptive): M_t diagonal, recomputed at the start of every epoch (n steps) from "
    "that epoch's gradients g_ij; M_jj = 1/√(mean_i g_ij²)",
}
#: The formula of :data:`ADAPTIVE_TEXT` that the set-up display shows (where there is one).
ADAPTIVE_LATEX = {"epoch-rms": r"M_{jj} = 1\big/\sqrt{\operatorname{mean}_i g_{ij}^2}"}


def _precond(problem: Problem) -> tuple[str, str]:
    """The preconditioner as plain text, and as LaTeX for the set-up display ("" when the text says it)."""
    kind = problem.precond.kind
    if kind == "identity":
        return "M = I (plain SGD)", r"M = I\ \text{(plain SGD)}"
    if kind == "diag":
        diagonal = problem.precond.diagonal
        shown = len(diagonal) <= SHOWN_ENTRIES
        return (
            f"M = diag{vec(diagonal)} (fixed)",
            r"M = \operatorname{diag}" + latex_row(diagonal, transpose=False) + r"\ \text{(fixed)}" if shown else "",
        )
    if kind == "matrix":
        rows = problem.m_rows or []
        small = len(rows) <= SHOWN_ENTRIES
        return "M fixed, symmetric positive definite:\n" + mat(rows), "M = " + fmt.latex_matrix(rows) if small else ""
    return ADAPTIVE_TEXT[kind], ADAPTIVE_LATEX.get(kind, "")


def setup_step(problem: Problem) -> Step:
    """The update rule, the loss and the data, each once: the display has them all, the text too."""
    m = "M_t" if problem.precond.is_adaptive else "M"
    weight, weight_latex = ("w_{i_t} ", r"w_{i_t}") if problem.reweight else ("", "")
    decay, decay_latex = (" + λθ_t", r" + \lambda\theta_t") if problem.weight_decay else ("", "")
    if problem.full_batch:
        gradient, gradient_latex = "∇F(θ_t)", r"\nabla F(\theta_t)"
        sampling = "F = (1/n) Σ_i f_i (full batch)"
        sampling_latex = r"F = \tfrac1n \textstyle\sum_i f_i\ \text{(full batch)}"
    else:
        gradient, gradient_latex = f"{weight}∇f_{{i_t}}(θ_t)", weight_latex + r"\nabla f_{i_t}(\theta_t)"
        sampling, sampling_latex = "P(i_t = i) = p_i", r"P(i_t = i) = p_i"
        if problem.reweight:
            sampling += ", w_i = 1/(n p_i)"
            sampling_latex += r",\ w_i = 1/(n p_i)"
    if decay:
        gradient, gradient_latex = f"({gradient}{decay})", rf"\left({gradient_latex}{decay_latex}\right)"
    update = f"θ_{{t+1}} = θ_t − η {m} {gradient}, {sampling}"
    loss = "f_i(θ) = (y_i − x_iᵀθ)², ∇f_i(θ) = −2(y_i − x_iᵀθ) x_i"
    update_latex = rf"\theta_{{t+1}} = \theta_t - \eta\, {m} {gradient_latex},\quad {sampling_latex}"
    loss_latex = r"f_i(\theta) = (y_i - x_i^\top\theta)^2,\quad \nabla f_i(\theta) = -2(y_i - x_i^\top\theta)\,x_i"
    # one line when it fits (plain sampling); the loss on a line of its own after a longer update
    long_update = problem.reweight or bool(problem.weight_decay) or problem.full_batch
    latex_lines = [update_latex, loss_latex] if long_update else [update_latex + r",\quad " + loss_latex]
    data = []
    if problem.weight_decay:
        data.append(f"λ = {fmt.number(problem.weight_decay)}")
    shown = not problem.large and problem.n <= SHOWN_ENTRIES and problem.d <= SHOWN_ENTRIES
    theta0 = "0" if _zero(problem.theta0) else vec(problem.theta0)
    values = [f"y = {vec(problem.y)}", f"θ_0 = {theta0}"] + ([] if problem.full_batch else [f"p = {vec(problem.p)}"])
    precond, precond_latex = _precond(problem)
    if shown:
        theta0_latex = "0" if _zero(problem.theta0) else latex_row(problem.theta0)
        pieces = [
            "X = " + fmt.latex_matrix(problem.rows),
            "y = " + latex_row(problem.y),
            r"\theta_0 = " + theta0_latex,
            *([] if problem.full_batch else ["p = " + latex_row(problem.p, transpose=False)]),
            *([rf"\lambda = {latex_entry(problem.weight_decay)}"] if problem.weight_decay else []),
        ]
        latex_lines.append(r",\quad ".join(pieces))
    if precond_latex:
        latex_lines.append(precond_latex)
    rows_text = mat(problem.rows) if not problem.large else f"    ({problem.n}x{problem.d} float64 array)"
    arithmetic = (
        "Exact rational arithmetic."
        if problem.exact
        else "Float64 arithmetic (float or large input): NumPy lstsq (SVD) / solve."
    )
    given = ", ".join(values + data)
    text = f"{arithmetic}\n{update}; {loss}.\nX ({problem.n}x{problem.d}) =\n{rows_text}\n" + (
        f"{given}.\n{precond}" if "\n" in precond else f"{given}; {precond}."
    )
    return Step("Set-up and conventions", text, " \\\\ ".join(latex_lines), kind="sgd-limit.setup")


def span_step(problem: Problem, limit: Limit) -> Step:
    if limit.direction is not None:
        effective = problem.m_diagonal or []
        text = (
            "All rows of X are multiples of u = x_1, so every gradient is g_t = c_t u, where c_t is a scalar. "
            "A diagonal M_t built from squared gradients then has entries γ_t/|u_j|, one scalar γ_t for every j "
            "(Adam's first moment is also a multiple of u; the tiny ε of torch.optim bends this by O(ε)), so every "
            f"step M_t g_t is a multiple of the fixed vector sign(u) = {fmt.vector(limit.direction)}.\n"
            f"Hence θ_t = θ_0 + s_t·sign(u) for all t: the same path as plain GD with the fixed "
            f"M = diag(1/|u_j|) = diag{vec(effective)}, whose limit is the interpolating point nearest θ_0 "
            "in the M⁻¹ norm.\n"
            "(Without the square root, entries 1/g_j² ∝ 1/u_j² would give steps along [1/u_j] and a different "
            f"limit: that is --precond diag:{','.join(fmt.exact(m * m) for m in effective)}.)"
        )
        latex = (
            r"M_t\,g_t \parallel \operatorname{sign}(u) \;\Rightarrow\; "
            r"\theta_t \in \theta_0 + \operatorname{span}\{\operatorname{sign}(u)\}"
        )
        return Step("The update direction is fixed", text, latex, kind="sgd-limit.preconditioner")
    weight = " w_i" if problem.reweight else ""
    text = (
        f"Each update adds 2η{weight}(y_i − x_iᵀθ) M x_i, a multiple of M x_i"
        + (" (weight decay adds −ηλMθ, which leaves that set; see the ridge step)" if problem.weight_decay else "")
        + ". By induction θ_t = θ_0 + M Xᵀ a_t for some a_t ∈ R^n: the iterates never leave "
        "θ_0 + M·rowspace(X), whatever the order of the samples and the (positive) step sizes."
    )
    return Step(
        "The iterates stay in θ_0 + M·rowspace(X)", text, r"\theta_t = \theta_0 + M X^\top a_t", kind="sgd-limit.span"
    )


def _shown(values: Sequence[Number]) -> str:
    """A vector as :func:`vec` writes it, a 1-vector as its number."""
    return fmt.number(values[0]) if len(values) == 1 else vec(values)


def _gram_latex(gram: Sequence[Sequence[Number]]) -> str:
    return latex_entry(gram[0][0]) if len(gram) == 1 else fmt.latex_matrix(gram)


def _gram_text(gram: Sequence[Sequence[Number]]) -> str:
    return f"K = X M Xᵀ = {fmt.number(gram[0][0])}" if len(gram) == 1 else f"K = X M Xᵀ =\n{mat(gram)}"


def constraint_step(limit: Limit) -> Step:
    """``K a = r_0`` with ``K``, ``r_0`` and ``a``: one display, each value once."""
    assert limit.gram is not None and limit.start_residual is not None and limit.coefficients is not None
    if limit.singular:
        solved = (
            "a = one solution of K a = r_0 (K is singular, X is rank deficient; every solution gives the same "
            "M Xᵀ a as the pseudo-inverse choice a = K^+ r_0)"
        )
        solved_latex = r"a = K^{+} r_0"
    else:
        solved, solved_latex = "a = K⁻¹ r_0", r"a = K^{-1} r_0"
    residual, coefficients = limit.start_residual, limit.coefficients
    latex = r"K a = r_0,\quad K = X M X^\top"
    if len(limit.gram) <= SHOWN_ENTRIES:
        latex += (
            f" = {_gram_latex(limit.gram)},\\quad r_0 = y - X\\theta_0 = {latex_row(residual)},\\quad "
            f"{solved_latex} = {latex_row(coefficients)}"
        )
    return Step(
        kind="sgd-limit.constraint",
        title="Interpolation constraint",
        text="An interpolating solution exists (checked below), and at a limit every sampled gradient "
        "vanishes, so X θ* = y. With θ* = θ_0 + M Xᵀ a this is K a = r_0:\n"
        f"{_gram_text(limit.gram)}\n"
        f"r_0 = y − X θ_0 = {_shown(residual)}; {solved} = {_shown(coefficients)}",
        latex=latex,
    )


def min_norm_steps(problem: Problem, limit: Limit) -> list[Step]:
    assert limit.theta is not None
    inverse = "K^+" if limit.singular else "K⁻¹"
    steps = []
    if limit.gram is not None and limit.start_residual is not None and limit.coefficients is not None:
        steps.append(constraint_step(limit))
    check, check_latex = interpolation_check(problem, limit)
    text = (
        f"θ* = θ_0 + M Xᵀ {inverse} (y − X θ_0) = {vec(limit.theta)}; {check}.\n"
        "This is argmin ||θ − θ_0||_{M⁻¹} subject to X θ = y (Lagrange: θ − θ_0 = M Xᵀ a)."
    )
    if problem.large:
        text += "\nLarge input: solved in float64 with numpy.linalg.lstsq on X M^{1/2} (SVD, min-norm)."
    inverse_latex = "K^{+}" if limit.singular else "K^{-1}"
    steps.append(
        Step(
            kind="sgd-limit.limit",
            title="The limit",
            text=text,
            latex=rf"\theta^* = \theta_0 + M X^\top {inverse_latex} (y - X\theta_0) = "
            + latex_vec(limit.theta)
            + check_latex,
        )
    )
    if limit.direction is None:
        weight = "w_i " if problem.reweight else ""
        bound = " stable η"
        if limit.step_bound:
            bound = f" 0 < η < 1/max_i({weight}x_iᵀ M x_i) = {fmt.number(limit.step_bound)}"
        steps.append(
            Step(
                kind="sgd-limit.independence",
                title="Independent of p and of the step size",
                text="Neither the span argument nor the constraint uses p or η: every sampling with all p_i > 0 and "
                f"every constant step{bound} reach this same θ* (each update shrinks the error in the M⁻¹ norm).",
            )
        )
    else:
        steps.append(
            Step(
                kind="sgd-limit.line",
                title="Convergence along the line",
                text="The constant s_t solves x_iᵀ(θ_0 + s·sign(u)) = y_i. Adagrad converges with a constant step "
                "(its effective step shrinks); RMSprop, Adam and epoch-rms take steps of size about η whatever the "
                "residual, so with a constant η they hover within O(η) of θ* on the same line; with a decaying "
                "step they reach θ*.",
            )
        )
    return steps


def interpolation_check(problem: Problem, limit: Limit) -> tuple[str, str]:
    """The check that the limit interpolates, as text (``X θ* = [1] = y``) and as a LaTeX suffix."""
    residual = residual_of(problem, limit.theta or [])
    if problem.large:
        norm = sum(float(r) ** 2 for r in residual) ** 0.5
        return f"check: ||y − X θ*|| = {fmt.decimal(norm)}, so X θ* = y up to rounding", ""
    fitted = [t - r for t, r in zip(problem.y, residual, strict=True)]
    if any(r != 0 for r in residual):  # float input: zero up to rounding
        norm = sum(float(r) ** 2 for r in residual) ** 0.5
        return f"check: X θ* = {_shown(fitted)} = y up to rounding (||y − X θ*|| = {fmt.decimal(norm)})", ""
    shown = len(fitted) <= SHOWN_ENTRIES
    return f"check: X θ* = {_shown(fitted)} = y", (
        rf",\quad X\theta^* = {latex_row(fitted)} = y\ \text{{(check)}}" if shown else ""
    )


def check_step(problem: Problem, limit: Limit, claim: str) -> Step:
    residual = residual_of(problem, limit.theta or [])
    if problem.large:
        norm = sum(float(r) ** 2 for r in residual) ** 0.5
        return Step("Check", f"||y − X θ*|| = {fmt.decimal(norm)} ({claim} up to rounding).", kind="sgd-limit.check")
    fitted = [t - r for t, r in zip(problem.y, residual, strict=True)]
    return Step("Check", f"X θ* = {vec(fitted)}, y − X θ* = {vec(residual)} ({claim}).", kind="sgd-limit.check")


def residual_of(problem: Problem, theta: Sequence[Number]) -> list[Number]:
    """``y - X theta`` over all rows, in the problem's number type."""
    import numpy as np

    x, y, _, _ = data(problem)
    return (y - x @ np.array(theta, dtype=x.dtype)).tolist()


def least_squares_steps(problem: Problem, limit: Limit) -> list[Step]:
    assert limit.theta is not None
    weights = [problem.objective_weights[i] for i in range(problem.n)]
    kind = "ordinary least squares" if limit.case == "least-squares" else "weighted least squares"
    steps = [
        Step(
            kind="sgd-limit.no-interpolation",
            title="No interpolating solution",
            text="X θ = y has no solution (y − X θ_0 is not in the column space of X), so some residual stays "
            "non-zero.\n"
            + (
                "Full batch: GD with a constant stable step converges to the minimiser of the mean loss."
                if problem.full_batch
                else "With a constant step SGD does not converge: at the best point θ* the sampled gradients g_i "
                f"are not all zero (E[g_iᵀ M g_i] = {fmt.number(limit.noise or 0)}), so θ_t keeps fluctuating around "
                f"θ*. Noise floor: for small η the expected excess loss settles near (η/4)·E[g_iᵀ M g_i] = "
                f"η·{fmt.number((limit.noise or 0) / 4)}."
            ),
        ),
        Step(
            kind="sgd-limit.decaying-steps",
            title=f"Decaying steps: {kind}",
            text="With Σ η_t = ∞ and Σ η_t² < ∞ the iterates follow the expected update −η M ∇F "
            "and converge to a minimiser of "
            f"F(θ) = Σ_i c_i f_i(θ), c = {vec(weights)}"
            + (
                " (c_i = p_i·w_i = 1/n: ordinary least squares)"
                if limit.case == "least-squares"
                else " (c_i = p_i w_i)"
            )
            + ", inside θ_0 + M·rowspace(X): the one nearest θ_0 in the M⁻¹ norm.\n"
            + (
                f"With θ = θ_0 + M Xᵀ a the normal equations Xᵀ C (X θ − y) = 0 become K C K a = K C r_0, "
                f"a = {vec(limit.coefficients)}."
                if limit.coefficients is not None and not problem.large
                else "Solved exactly in a basis F of rowspace(X) (the rows of rref(X)): θ = θ_0 + M Fᵀ b with "
                "Gᵀ C G b = Gᵀ C r_0, G = X M Fᵀ."
                if problem.exact
                else "Solved with numpy.linalg.lstsq on C^{1/2} X M^{1/2} (float64)."
            ),
            latex=r"X^\top C (X\theta^* - y) = 0,\quad \theta^* \in \theta_0 + M X^\top \mathbb{R}^n",
        ),
        Step("The limit", f"θ* = {vec(limit.theta)}", r"\theta^* = " + latex_vec(limit.theta), kind="sgd-limit.limit"),
        check_step(problem, limit, "not zero: no interpolation"),
    ]
    return steps


def ridge_steps(problem: Problem, limit: Limit) -> list[Step]:
    assert limit.theta is not None
    decay = fmt.number(problem.weight_decay)
    weights = vec(problem.objective_weights)
    text = (
        f"The expected update is −η M ∇F with F(θ) = Σ_i c_i f_i(θ) + (λ/2)||θ||², c = {weights}, λ = {decay}. "
        "M is invertible, so the only fixed point is ∇F(θ*) = 0:\n"
        "(Xᵀ C X + (λ/2) I) θ* = Xᵀ C y. F is strictly convex, so θ* is unique: it does not depend on θ_0 or on M."
    )
    if limit.gram is not None:
        text += f"\nXᵀ C X + (λ/2) I =\n{mat(limit.gram)}"
    floor = (
        "Every sampled gradient vanishes at θ*, so a constant stable step converges."
        if limit.converges_constant
        else f"With a constant step SGD hovers around θ* (E[g_iᵀ M g_i] = {fmt.number(limit.noise or 0)} ≠ 0; "
        f"for small η the excess loss settles near η·{fmt.number((limit.noise or 0) / 4)}); "
        "decaying steps (or --full-batch) converge to it."
    )
    return [
        Step(
            kind="sgd-limit.ridge",
            title="Weight decay: the ridge solution",
            text=text,
            latex=r"\left(X^\top C X + \tfrac{\lambda}{2} I\right)\theta^* = X^\top C y",
        ),
        Step(
            "The limit",
            f"θ* = {vec(limit.theta)}\n{floor}",
            r"\theta^* = " + latex_vec(limit.theta),
            kind="sgd-limit.limit",
        ),
        check_step(problem, limit, "residual of the ridge fit"),
    ]


def simulation_step(problem: Problem, limit: Limit, settings: SimulationSettings, trajectory: Any) -> Step:
    endpoint = trajectory.theta.tolist()
    label = "predicted limit" if limit.theta is not None else "no closed form"
    text = (
        f"NumPy simulation of the actual update rule: {settings.steps} steps, η = {fmt.decimal(settings.lr)} "
        f"({settings.schedule}{', η_t = η τ/(τ + t), τ = max(1, steps/100)' if settings.schedule == 'decay' else ''}), "
        f"seed {settings.seed}.\nEndpoint θ_T = {vec([float(v) for v in endpoint])}, "
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
        text += f"\nDistance to the {label}: ||θ_T − θ*|| = {fmt.decimal(trajectory.distances[-1])}."
        series.append(Series("||θ_t − θ*||", series[0].x, [max(v, PLOT_FLOOR) for v in trajectory.distances]))
    else:
        text += (
            "\nNo closed form applies here (the adaptive preconditioner's direction changes from step to step, "
            "or weight decay/inconsistency breaks the fixed-direction argument): the answer is this simulated endpoint."
        )
    plot = Plot(series, title="simulation", xlabel="step t", ylabel="value (log scale)", logy=True)
    title = "Simulation" if limit.theta is not None else "Simulation (no closed form)"
    return Step(title, text, blocks=[plot], kind="sgd-limit.simulation")


def working(problem: Problem, limit: Limit, run: tuple[SimulationSettings, Any] | None) -> list[Step]:
    """Set-up, the span argument, the case's steps and (when run) the simulation."""
    steps = [setup_step(problem)]
    if limit.case != "ridge" and limit.case != "simulation":
        steps.append(span_step(problem, limit))
    if limit.case == "min-norm":
        steps += min_norm_steps(problem, limit)
    elif limit.case in ("least-squares", "weighted-least-squares"):
        steps += least_squares_steps(problem, limit)
    elif limit.case == "ridge":
        steps += ridge_steps(problem, limit)
    if run is not None:
        steps.append(simulation_step(problem, limit, *run))
    return steps
