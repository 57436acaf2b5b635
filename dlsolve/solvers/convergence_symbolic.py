"""The SymPy derivation of SGD's expected-loss contraction (exam part 5), with no data.

Convention: ``f_i = (c/2)(y_i - x_i^T theta)^2`` (``c = 2``: the exam's ``(y - x^T theta)^2``;
``c = 1``: ``--half``), ``L = sum_i p_i f_i = (c/2) e^T H e``, ``e = theta - theta*``,
``r_i = x_i^T e``, ``h_i = x_i^T H x_i``. One SGD step on point ``i``: ``e <- e - eta c r_i x_i``, so

    L(theta_{t+1}) = L(theta_t) + A + B,  A = -c^2 eta r_i x_i^T H e,  B = (c^3/2) eta^2 r_i^2 h_i,
    E[A | theta_t] = -c^2 eta e^T H^2 e  <= -2 c eta lambda_min L,
    E[B | theta_t] = (c^3/2) eta^2 sum_i p_i r_i^2 h_i  <= c^2 eta^2 beta L <= c^2 eta^2 lambda_max R^2 L,
    rho(eta) = 2 c lambda_min eta - c^2 lambda_max R^2 eta^2.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache
from typing import Any

from dlsolve.errors import InternalError
from dlsolve.solution import Step


@dataclass
class Derivation:
    """The derived formulas as SymPy expressions (in ``eta``, ``lambda_min``, ``lambda_max``, ``R2``, ``beta``)."""

    c: int
    symbols: dict[str, Any]
    rho: Any
    eta_best: Any
    rho_best: Any
    eta_max: Any
    rho_tight: Any
    eta_tight_best: Any
    rho_tight_best: Any
    coefficient_a: Any
    coefficient_b: Any
    identity_checked: bool


@lru_cache(maxsize=2)
def derive(c: int) -> Derivation:
    """Derive rho(eta), its maximiser, its maximum and the contraction range with SymPy (cached per ``c``)."""
    import sympy as sp

    eta, lmin, lmax, r2, beta = sp.symbols("eta lambda_min lambda_max R^2 beta", positive=True)
    rho = sp.expand(2 * c * lmin * eta - c**2 * lmax * r2 * eta**2)
    eta_best = _stationary_point(rho, eta)
    rho_tight = sp.expand(2 * c * lmin * eta - c**2 * beta * eta**2)
    eta_tight_best = _stationary_point(rho_tight, eta)
    return Derivation(
        c=c,
        symbols={"eta": eta, "lambda_min": lmin, "lambda_max": lmax, "R2": r2, "beta": beta},
        rho=rho,
        eta_best=eta_best,
        rho_best=sp.factor(rho.subs(eta, eta_best)),
        eta_max=_positive_root(rho, eta),
        rho_tight=rho_tight,
        eta_tight_best=eta_tight_best,
        rho_tight_best=sp.factor(rho_tight.subs(eta, eta_tight_best)),
        coefficient_a=sp.Integer(c) ** 2,
        coefficient_b=sp.Rational(c**3, 2),
        identity_checked=check_identity(c),
    )


def _stationary_point(quadratic: Any, eta: Any) -> Any:
    """Where d/deta of the quadratic vanishes: the root of a linear equation (cheaper than sp.solve)."""
    import sympy as sp

    derivative = sp.expand(sp.diff(quadratic, eta))
    return sp.factor(-derivative.coeff(eta, 0) / derivative.coeff(eta, 1))


def _positive_root(quadratic: Any, eta: Any) -> Any:
    """The positive root of ``a eta + b eta^2`` (a > 0 > b): rho > 0 exactly on (0, -a/b)."""
    linear, square = (quadratic.coeff(eta, power) for power in (1, 2))
    return -linear / square


def check_identity(c: int, a_coefficient: Fraction | None = None, b_coefficient: Fraction | None = None) -> bool:
    """Check E[L(theta_{t+1})] = L + E[A] + E[B] with E[A], E[B] as above, for generic 2 points in 2-D.

    Every quantity is an indeterminate (``x_ij``, ``p_1`` with ``p_2 = 1 - p_1``, ``e``, ``eta``) of a
    SymPy polynomial ring over QQ (sparse polynomials: the expansion takes milliseconds, where
    ``sp.expand`` on Matrix expressions takes a noticeable part of a second); returns True when the
    difference is the zero polynomial. The coefficients of E[A] (``c^2``) and E[B] (``c^3/2``) can be
    overridden, to show that a wrong constant fails the check.
    """
    from sympy import QQ
    from sympy.polys.rings import ring

    _, x11, x12, x21, x22, p1, eta, e1, e2 = ring("x11 x12 x21 x22 p1 eta e1 e2", QQ)
    points = [(x11, x12), (x21, x22)]
    weights = [p1, 1 - p1]
    error = (e1, e2)
    half_c = QQ(c, 2)

    def dot(u: Any, v: Any) -> Any:
        return u[0] * v[0] + u[1] * v[1]

    def h_times(v: Any) -> Any:  # H v = sum_i p_i x_i (x_i . v)
        return tuple(sum(w * x[k] * dot(x, v) for w, x in zip(weights, points, strict=True)) for k in range(2))

    def loss(v: Any) -> Any:
        return half_c * dot(v, h_times(v))

    expected_next = sum(
        w * loss(tuple(error[k] - eta * c * dot(x, error) * x[k] for k in range(2)))
        for w, x in zip(weights, points, strict=True)
    )
    h_error = h_times(error)
    a_coefficient = Fraction(c**2) if a_coefficient is None else a_coefficient
    b_coefficient = Fraction(c**3, 2) if b_coefficient is None else b_coefficient
    expected_a = -QQ(a_coefficient.numerator, a_coefficient.denominator) * eta * dot(h_error, h_error)
    expected_b = (
        QQ(b_coefficient.numerator, b_coefficient.denominator)
        * eta**2
        * sum(w * dot(x, error) ** 2 * dot(x, h_times(x)) for w, x in zip(weights, points, strict=True))
    )
    return expected_next - loss(error) - expected_a - expected_b == 0


def _coefficient(value: int | Any, symbol: str = "") -> str:
    """``4η`` / ``η`` / ``(1/2)η`` style coefficient text."""
    text = str(value)
    if text == "1":
        return symbol
    if "/" in text:
        return f"({text}){symbol}"
    return f"{text}{symbol}"


def _latex_coefficient(value: int | Any) -> str:
    """LaTeX of a coefficient, empty for 1."""
    import sympy as sp

    return "" if value == 1 else sp.latex(value)


def derivation_steps(derivation: Derivation, *, full: bool = True) -> list[Step]:
    """The derivation as Steps, in the exam's shape (no data); ``full`` adds the SymPy identity check.

    Kinds: ``convergence.setup``, ``.one-step``, ``.expect-a``, ``.expect-b``, ``.rho`` and
    ``.identity-check`` (declared in :mod:`dlsolve.solvers.convergence_steps`).
    """

    c = derivation.c
    scale = "" if c == 2 else "1/2 "
    latex_scale = "" if c == 2 else r"\tfrac12 "
    grad = "2" if c == 2 else ""
    a_coef = _coefficient(derivation.coefficient_a, "η")
    b_coef = _coefficient(derivation.coefficient_b, "η²")
    two_c = _coefficient(2 * c, "η")
    c_sq = _coefficient(c * c, "η²")
    half_b = _latex_coefficient(derivation.coefficient_b)
    a_latex = _latex_coefficient(derivation.coefficient_a)
    c_sq_latex = _latex_coefficient(c * c)
    steps = [
        Step(
            kind="convergence.setup",
            title="Set-up: the loss is a quadratic form in the error",
            text=(
                "Interpolation: y_i = x_iᵀθ* for every i. With the error e = θ − θ* and r_i = x_iᵀe:\n"
                f"f_i(θ) = {scale}(y_i − x_iᵀθ)² = {scale}r_i², L(θ) = Σ p_i f_i(θ) = {scale}eᵀHe, "
                "H = Σ p_i x_i x_iᵀ.\n"
                f"∇f_i(θ) = −{grad}(y_i − x_iᵀθ) x_i = {grad}r_i x_i, so one SGD step on point i is "
                f"e ← e − {_coefficient(c, 'η')} r_i x_i."
            ),
            latex=(
                rf"f_i(\theta) = {latex_scale}(y_i - x_i^\top\theta)^2 = {latex_scale}r_i^2,\quad "
                rf"L(\theta) = \sum_i p_i f_i(\theta) = {latex_scale}e^\top H e,\quad "
                r"H = \sum_i p_i x_i x_i^\top \\ "
                rf"\nabla f_i(\theta) = -{grad}(y_i - x_i^\top\theta)\,x_i = {grad}r_i x_i,\quad "
                rf"e \leftarrow e - {c if c != 1 else ''}\eta\, r_i x_i\ \text{{(one SGD step on point }}i)"
            ),
        ),
        Step(
            kind="convergence.one-step",
            title="One step: L(θ_{t+1}) = L(θ_t) + A + B",
            text=(
                f"Expanding {scale}(e − {_coefficient(c, 'η')} r_i x_i)ᵀH(e − {_coefficient(c, 'η')} r_i x_i):\n"
                f"A = −{a_coef} r_i x_iᵀHe (cross term), B = {b_coef} r_i² x_iᵀHx_i (quadratic term)."
            ),
            latex=(
                rf"A = -{a_latex}\eta\, r_i\, x_i^\top H e\ \text{{(cross term)}},\qquad "
                rf"B = {half_b}\eta^2 r_i^2\, x_i^\top H x_i\ \text{{(quadratic term)}}"
            ),
        ),
        Step(
            kind="convergence.expect-a",
            title="Conditional expectation of A, and its bound",
            text=(
                f"E[A | θ_t] = −{a_coef} Σ p_i r_i x_iᵀHe = −{a_coef} eᵀ(Σ p_i x_i x_iᵀ)He = −{a_coef} eᵀH²e.\n"
                "e stays in the row space of X, the range of H (θ_0 = 0, every step adds a multiple of some x_i, "
                "and θ* is the min-norm solution), so eᵀH²e ≥ λ_min eᵀHe with λ_min the smallest NONZERO "
                "eigenvalue of H (H is singular when d > n):\n"
                f"E[A | θ_t] ≤ −{a_coef} λ_min eᵀHe = −{two_c} λ_min L(θ_t)."
            ),
            latex=(
                rf"\mathbb{{E}}[A\mid\theta_t] = -{a_latex}\eta\sum_i p_i r_i\, x_i^\top H e "
                rf"= -{a_latex}\eta\, e^\top H^2 e \le -{a_latex}\eta\,\lambda_{{\min}}\, e^\top H e "
                rf"= -{2 * c}\eta\,\lambda_{{\min}} L(\theta_t)"
            ),
        ),
        Step(
            kind="convergence.expect-b",
            title="Conditional expectation of B, and its bounds",
            text=(
                f"E[B | θ_t] = {b_coef} Σ p_i r_i² x_iᵀHx_i.\n"
                f"x_iᵀHx_i ≤ β = max_i x_iᵀHx_i ≤ λ_max ||x_i||² ≤ λ_max R², R² = max_i ||x_i||², so\n"
                f"E[B | θ_t] ≤ {c_sq} β L(θ_t) ≤ {c_sq} λ_max R² L(θ_t)."
            ),
            latex=(
                rf"\mathbb{{E}}[B\mid\theta_t] = {half_b}\eta^2\sum_i p_i r_i^2 x_i^\top H x_i"
                rf"\le {c_sq_latex}\eta^2 \beta\, L \le {c_sq_latex}\eta^2\lambda_{{\max}} R^2 L,\quad "
                r"\beta = \max_i x_i^\top H x_i,\quad R^2 = \max_i \|x_i\|^2"
            ),
        ),
        _rho_step(derivation, full=full),
    ]
    if not full:
        return steps
    verdict = "holds" if derivation.identity_checked else "FAILS"
    steps.append(
        Step(
            kind="convergence.identity-check",
            title="SymPy check of the exact expectations",
            text=(
                "For a generic problem with 2 points in 2-D (every entry, p_1, e and η a symbol), SymPy expands "
                f"Σ_i p_i L(e − {_coefficient(c, 'η')} r_i x_i) − L(e) − E[A] − E[B]: the identity {verdict}."
            ),
        )
    )
    return steps


def _rho_step(derivation: Derivation, *, full: bool) -> Step:
    """ρ(η), η*, ρ* and the contracting step sizes, as a TA writes them (``full``: also ρ_β)."""
    shown, typeset = maths_formulas(derivation), latex_formulas(derivation)
    text = (
        f"E[L(θ_{{t+1}}) | θ_t] ≤ (1 − ρ(η)) L(θ_t), ρ(η) = {shown['rho']}.\n"
        f"dρ/dη = 0 ⇒ η* = {shown['eta_best']}, ρ* = {shown['rho_best']}; "
        f"ρ > 0 ⇔ 0 < η < {shown['eta_max']}."
    )
    latex = (
        r"\mathbb{E}[L(\theta_{t+1})\mid\theta_t] \le (1-\rho(\eta))\,L(\theta_t),\quad "
        rf"\rho(\eta) = {typeset['rho']} \\ "
        rf"\frac{{d\rho}}{{d\eta}} = 0 \;\Rightarrow\; \eta^* = {typeset['eta_best']},\quad "
        rf"\rho^* = {typeset['rho_best']},\quad "
        rf"\rho > 0 \iff 0 < \eta < {typeset['eta_max']}"
    )
    if full:
        text += (
            f"\nWith the tighter β: ρ_β(η) = {shown['rho_tight']}, best η = {shown['eta_tight_best']}, "
            f"ρ_β* = {shown['rho_tight_best']}."
        )
    return Step(
        kind="convergence.rho", title="ρ(η), the best step size and the contraction range", text=text, latex=latex
    )


def formulas(derivation: Derivation) -> dict[str, str]:
    """The formulas as plain SymPy strings (the JSON answer of ``--symbolic``)."""
    import sympy as sp

    return {
        "rho": sp.sstr(derivation.rho),
        "eta_best": sp.sstr(derivation.eta_best),
        "rho_best": sp.sstr(derivation.rho_best),
        "eta_max": sp.sstr(derivation.eta_max),
        "rho_tight": sp.sstr(derivation.rho_tight),
        "eta_tight_best": sp.sstr(derivation.eta_tight_best),
        "rho_tight_best": sp.sstr(derivation.rho_tight_best),
        "E_A": sp.sstr(-derivation.coefficient_a * sp.Symbol("eta")) + "*e^T H^2 e",
        "E_B": sp.sstr(derivation.coefficient_b * sp.Symbol("eta") ** 2) + "*sum_i p_i r_i**2 x_i^T H x_i",
    }


def maths_formulas(derivation: Derivation) -> dict[str, str]:
    """The formulas as a TA writes them (``4ηλ_min − 4η²λ_max R²``, ``λ_min/(2λ_max R²)``), for the
    working and the summary: see :func:`board_formulas`."""
    return {name: text for name, (text, _) in board_formulas(derivation).items()}


def latex_formulas(derivation: Derivation) -> dict[str, str]:
    """The formulas of :func:`maths_formulas` in LaTeX, the same terms in the same order."""
    return {name: latex for name, (_, latex) in board_formulas(derivation).items()}


#: The derivation's quantities as the board writes them: (plain text, LaTeX).
_LAMBDA_MIN = ("λ_min", r"\lambda_{\min}")
_LAMBDA_MIN_SQUARED = ("λ_min²", r"\lambda_{\min}^2")
_CURVATURE = ("λ_max R²", r"\lambda_{\max}R^2")
_BETA = ("β", r"\beta")


def _number(value: Any, symbol: tuple[str, str]) -> tuple[str, str]:
    """``k·symbol`` as text and LaTeX with no ``·`` and no coefficient 1: ``4η``, ``η``, ``(1/2)η``."""
    import sympy as sp

    value = sp.Rational(value)
    text, latex = symbol
    if value == 1:
        return text, latex
    if value.q == 1:
        return f"{value.p}{text}", f"{value.p}{latex}"
    return f"({value.p}/{value.q}){text}", rf"\tfrac{{{value.p}}}{{{value.q}}}{latex}"


def _quadratic(rho: Any, eta: Any, curvature: Any, name: tuple[str, str]) -> tuple[str, str]:
    """``a η λ_min − b η² (name)``: the leading (linear) term first, as a TA writes ρ(η)."""
    import sympy as sp

    linear = sp.simplify(rho.coeff(eta, 1) / curvature[0])
    square = sp.simplify(-rho.coeff(eta, 2) / curvature[1])
    if sp.expand(rho - (linear * eta * curvature[0] - square * eta**2 * curvature[1])) != 0:
        raise InternalError(f"ρ(η) is not of the form a·η·λ_min − b·η²·{name[0]}: {rho}")
    first = _number(linear, ("η" + _LAMBDA_MIN[0], r"\eta" + _LAMBDA_MIN[1]))
    second = _number(square, ("η²" + name[0], r"\eta^2" + name[1]))
    return f"{first[0]} − {second[0]}", f"{first[1]} - {second[1]}"


def _ratio(expression: Any, top: Any, bottom: Any, names: tuple[tuple[str, str], tuple[str, str]]) -> tuple[str, str]:
    """``expression = k·top/bottom`` written ``(p·top)/(q·bottom)``: ``λ_min/(2λ_max R²)``, ``λ_min²/β``."""
    import sympy as sp

    k = sp.simplify(expression * bottom / top)
    if not k.is_Rational:
        raise InternalError(f"{expression} is not a number times {top}/{bottom}")
    (top_text, top_latex), (bottom_text, bottom_latex) = names
    numerator = _number(k.p, (top_text, top_latex))
    denominator = _number(k.q, (bottom_text, bottom_latex))
    wrapped = denominator[0] if len(denominator[0]) == 1 else f"({denominator[0]})"
    return f"{numerator[0]}/{wrapped}", rf"\frac{{{numerator[1]}}}{{{denominator[1]}}}"


def board_formulas(derivation: Derivation) -> dict[str, tuple[str, str]]:
    """Each derived formula as (text, LaTeX) in the order a TA writes it, leading term first and no
    ``·`` between a number and a symbol: ``ρ(η) = 4ηλ_min − 4η²λ_max R²``, ``η* = λ_min/(2λ_max R²)``.

    The coefficients are read off SymPy's results (never assumed), and each form is checked to be
    the same expression as SymPy's.
    """
    symbols = derivation.symbols
    eta, lmin, lmax, r2, beta = (symbols[k] for k in ("eta", "lambda_min", "lambda_max", "R2", "beta"))
    curvature = lmax * r2
    forms = {
        "rho": _quadratic(derivation.rho, eta, (lmin, curvature), _CURVATURE),
        "eta_best": _ratio(derivation.eta_best, lmin, curvature, (_LAMBDA_MIN, _CURVATURE)),
        "rho_best": _ratio(derivation.rho_best, lmin**2, curvature, (_LAMBDA_MIN_SQUARED, _CURVATURE)),
        "eta_max": _ratio(derivation.eta_max, lmin, curvature, (_LAMBDA_MIN, _CURVATURE)),
        "rho_tight": _quadratic(derivation.rho_tight, eta, (lmin, beta), _BETA),
        "eta_tight_best": _ratio(derivation.eta_tight_best, lmin, beta, (_LAMBDA_MIN, _BETA)),
        "rho_tight_best": _ratio(derivation.rho_tight_best, lmin**2, beta, (_LAMBDA_MIN_SQUARED, _BETA)),
    }
    return forms
