"""``init``: the standard deviation or bound of ``torch.nn.init``'s weight initializations.

Fans as ``torch.nn.init._calculate_fan_in_and_fan_out`` computes them from the weight tensor
(out, in, *k): fan_in = in·∏k, fan_out = out·∏k (a conv's fan_in is C_in/groups·∏k; a transposed
conv's weight is (C_in, C_out/groups, *k), so its "fan_in" is C_out/groups·∏k, as PyTorch has it).

* ``xavier-uniform``: U(−b, b), b = √3·std; ``xavier-normal``: N(0, std²); std = gain·√(2/(fan_in + fan_out)).
* ``kaiming-uniform`` / ``kaiming-normal`` (He): std = gain/√fan with fan = fan_in (``mode=fan_in``,
  the default) or fan_out; gain = calculate_gain(nonlinearity, a), default leaky_relu with a = 0 (√2).
* ``lecun-normal``: std = 1/√fan_in (PyTorch: ``kaiming_normal_(w, nonlinearity="linear")``; Keras's
  ``lecun_normal`` draws a truncated normal with this std).
* ``orthogonal``: a (semi-)orthogonal matrix of shape (rows, numel/rows) times gain; each entry's
  mean square is gain²/max(rows, cols), so std = gain/√max(rows, cols).

``calculate_gain``: linear, conv*, sigmoid 1; tanh 5/3; relu √2; leaky_relu √(2/(1 + a²)) (a = 0.01
when not given); selu 3/4. Every std² is rational for rational a, so std and bound are exact (√ of a
fraction) with a decimal beside.
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any

from dlsolve import fmt
from dlsolve.errors import BadInput
from dlsolve.solution import Solution, Step
from dlsolve.solvers.norm_math import cell, exact_sqrt, sqrt_latex, sqrt_text
from dlsolve.values import LayerCall

STEP_KINDS = {
    "init.fans": "fan_in and fan_out from the weight tensor's shape, as PyTorch computes them",
    "init.gain": "the gain calculate_gain returns for the nonlinearity",
    "init.std": "the standard deviation (and the uniform bound) from the initializer's formula",
    "init.variance": "the variance-propagation argument behind the formula, in one step",
}

METHODS = ("xavier-uniform", "xavier-normal", "kaiming-uniform", "kaiming-normal", "lecun-normal", "orthogonal")
NONLINEARITIES = (
    "linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d", "conv_transpose3d",
    "sigmoid", "tanh", "relu", "leaky_relu", "selu",
)  # fmt: skip


def gain_squared(nonlinearity: str, a: Fraction | None) -> Fraction:
    """calculate_gain(nonlinearity, a)², exact (leaky_relu's a defaults to 0.01, as PyTorch's)."""
    if nonlinearity not in NONLINEARITIES:
        raise BadInput(
            f"Unsupported nonlinearity {nonlinearity}; one of {', '.join(NONLINEARITIES)}", option="--nonlinearity"
        )
    if nonlinearity == "tanh":
        return Fraction(25, 9)
    if nonlinearity == "relu":
        return Fraction(2)
    if nonlinearity == "leaky_relu":
        slope = Fraction(1, 100) if a is None else a
        return 2 / (1 + slope * slope)
    if nonlinearity == "selu":
        return Fraction(9, 16)
    return Fraction(1)


def _fans(shape: tuple[int, ...]) -> tuple[int, int, int]:
    """(fan_in, fan_out, receptive field size) of a weight of ``shape``."""
    if len(shape) < 2:
        raise BadInput(
            "Fan in and fan out can not be computed for tensor with fewer than 2 dimensions", option="--shape"
        )
    receptive = math.prod(shape[2:])
    return shape[1] * receptive, shape[0] * receptive, receptive


def _gain_text(nonlinearity: str, a: Fraction | None, g2: Fraction) -> str:
    formula = {
        "tanh": "5/3",
        "relu": "√2",
        "selu": "3/4",
        "leaky_relu": f"√(2/(1 + a²)) with a = {cell(Fraction(1, 100) if a is None else a)}",
    }.get(nonlinearity, "1")
    value = sqrt_text(g2)
    return f"calculate_gain('{nonlinearity}') = {formula}" + ("" if value.startswith(formula) else f" = {value}")


def initialize(
    method: str,
    *,
    layer: LayerCall | None = None,
    shape: tuple[int, ...] | None = None,
    fan_in: int | None = None,
    fan_out: int | None = None,
    nonlinearity: str | None = None,
    a: Fraction | None = None,
    mode: str = "fan_in",
    gain: Fraction | None = None,
) -> Solution:
    """std, bound and gain of ``method`` for a layer, a weight shape or given fans (formulas above)."""
    from dlsolve.solvers.layers import weight_shape

    if method not in METHODS:
        raise BadInput(f"expected one of {', '.join(METHODS)}, got {method!r}", option="method")
    if mode not in ("fan_in", "fan_out"):
        raise BadInput(f"Mode {mode} not supported, please use one of fan_in, fan_out", option="--mode")
    given = [
        name for name, value in (("--layer", layer), ("--shape", shape), ("--fan-in", fan_in)) if value is not None
    ]
    if len(given) != 1 and not (given == ["--fan-in"] or (fan_out is not None and not given)):
        raise BadInput(
            "give exactly one of --layer, --shape or --fan-in/--fan-out", option=given[-1] if given else "--layer"
        )
    source = ""
    if layer is not None:
        shape = weight_shape(layer)
        source = f"{' '.join(layer.source.split())}: "
    if shape is not None:
        fi, fo, receptive = _fans(tuple(shape))
        product = f" with receptive field ∏k = {receptive}" if len(shape) > 2 else ""
        fans_text = (
            f"{source}weight {fmt.shape(shape)}{product.replace(' with', ',')}; "
            f"fan_in = size(1)·∏k = {shape[1]}·{receptive} = {fi}; fan_out = size(0)·∏k = {shape[0]}·{receptive} = {fo}"
            if len(shape) > 2
            else f"{source}weight {fmt.shape(shape)}; fan_in = size(1) = {fi}; fan_out = size(0) = {fo}"
        )
        fans_latex = (
            rf"\text{{fan\_in}} = \text{{size}}(1) {{\textstyle\prod}} k = {shape[1]} \cdot {receptive} = {fi},\quad "
            rf"\text{{fan\_out}} = \text{{size}}(0) {{\textstyle\prod}} k = {shape[0]} \cdot {receptive} = {fo}"
            if len(shape) > 2
            else rf"\text{{fan\_in}} = \text{{size}}(1) = {fi},\quad \text{{fan\_out}} = \text{{size}}(0) = {fo}"
        )
    else:
        if fan_in is None or fan_out is None:
            needed = "--fan-out" if fan_in is not None else "--fan-in"
            if (
                method in ("kaiming-uniform", "kaiming-normal")
                and (fan_in if mode == "fan_in" else fan_out) is not None
            ) or (method == "lecun-normal" and fan_in is not None):
                needed = ""
            if needed:
                raise BadInput(f"{method} needs {needed} (or --layer/--shape)", option=needed)
        fi, fo = fan_in, fan_out
        if method == "orthogonal":
            raise BadInput("orthogonal needs the weight's shape: give --layer or --shape", option="--shape")
        fans_text = ", ".join(
            f"{name} = {value}" for name, value in (("fan_in", fi), ("fan_out", fo)) if value is not None
        )
        fans_text += " (given)"
        fans_latex = r",\ ".join(
            rf"\text{{{name}}} = {value}" for name, value in ((r"fan\_in", fi), (r"fan\_out", fo)) if value is not None
        )
    if gain is not None and nonlinearity is not None:
        raise BadInput("give --gain or --nonlinearity, not both", option="--gain")
    if method.startswith("kaiming"):
        nonlin = nonlinearity or "leaky_relu"
        slope = Fraction(0) if a is None else a
        g2 = gain_squared(nonlin, slope) if gain is None else gain * gain
        gain_line = _gain_text(nonlin, slope, g2) if gain is None else f"gain = {fmt.number(gain)} (given)"
    elif method == "lecun-normal":
        g2, gain_line = Fraction(1), "LeCun normal is Kaiming normal with the linear gain 1, mode fan_in"
        mode = "fan_in"
    else:
        if gain is not None:
            g2, gain_line = gain * gain, f"gain = {fmt.number(gain)} (given)"
        elif nonlinearity is not None:
            g2 = gain_squared(nonlinearity, a)
            gain_line = _gain_text(nonlinearity, a, g2)
        else:
            g2, gain_line = Fraction(1), "gain = 1 (the default)"
    var, formula, latex, substituted, argument = _variance(method, g2, fi, fo, mode, shape)
    uniform = method.endswith("uniform")
    bound2 = 3 * var if uniform else None
    std, bound = exact_sqrt(var), exact_sqrt(bound2) if bound2 is not None else None
    fan_used = fi if mode == "fan_in" else fo
    answer: dict[str, Any] = {
        "std": float(std),
        "bound": None if bound is None else float(bound),
        "gain": float(exact_sqrt(g2)),
        "fan_in": fi,
        "fan_out": fo,
        "variance": fmt.json_number(var),
        "std_exact": _exact_text(var),
        "bound_exact": None if bound2 is None else _exact_text(bound2),
    }
    if method.startswith("kaiming"):
        answer["mode"] = mode
        answer["fan"] = fan_used
    if shape is not None:
        answer["weight_shape"] = list(shape)
    distribution = f"U(−b, b) with b = √3·std = {sqrt_text(bound2)}" if bound2 is not None else "N(0, std²)"
    if method == "orthogonal":
        distribution = "gain × the Q of a QR factorization of a standard normal matrix (sign-corrected)"
    summary = f"{method}: std = {sqrt_text(var)}" + (f", bound = {sqrt_text(bound2)}" if bound2 is not None else "")
    summary += " (" + ", ".join(f"{n} = {v}" for n, v in (("fan_in", fi), ("fan_out", fo)) if v is not None) + ")"
    quiet = f"std={fmt.decimal(float(std))}" + (f" bound={fmt.decimal(float(bound))}" if bound is not None else "")

    def steps() -> list[Step]:
        return [
            Step("Fans", fans_text, fans_latex, kind="init.fans"),
            Step("Gain", gain_line, rf"\text{{gain}} = {sqrt_latex(g2)}", kind="init.gain"),
            Step(
                "Standard deviation",
                f"{formula}{_result(formula, var)}; weights ~ {distribution}",
                latex
                + ("" if sqrt_latex(var).startswith(substituted) else " = " + substituted)
                + " = "
                + sqrt_latex(var)
                + (
                    r",\quad \text{weights} \sim U(-b, b) \text{ with } b = \sqrt{3}\,\text{std} = "
                    + sqrt_latex(bound2)
                    if bound2 is not None
                    else r",\quad \text{weights} \sim N(0, \text{std}^2)"
                    if method != "orthogonal"
                    else ""
                ),
                kind="init.std",
            ),
            Step("Why", argument, kind="init.variance"),
        ]

    return Solution(
        command=f"init {method}",
        inputs={"method": method, "fan_in": fi, "fan_out": fo, **({"shape": list(shape)} if shape else {})},
        answer=answer,
        summary=summary,
        answer_latex=r"\text{std} = "
        + sqrt_latex(var)
        + ("" if bound2 is None else r",\quad b = " + sqrt_latex(bound2)),
        quiet=quiet,
        steps=steps,
    )


def _result(formula: str, square: Fraction) -> str:
    """`` = √(2/27) ≈ 0.272166``, or only the decimal when the formula already ends in that exact value."""
    root = exact_sqrt(square)
    if formula.endswith(" = " + _exact_text(square)):
        return "" if isinstance(root, Fraction) and "/" not in fmt.exact(root) else f" ≈ {fmt.decimal(float(root))}"
    return f" = {sqrt_text(square)}"


def _exact_text(square: Fraction) -> str:
    """√square as exact text without the decimal (``√(2/27)``, ``1/4``)."""
    root = exact_sqrt(square)
    if isinstance(root, Fraction):
        return fmt.exact(root)
    inner = fmt.exact(square)
    return f"√{inner}" if inner.isdigit() else f"√({inner})"


def _variance(
    method: str, g2: Fraction, fi: int | None, fo: int | None, mode: str, shape: tuple[int, ...] | None
) -> tuple[Fraction, str, str, str, str]:
    """std², the formula substituted, its LaTeX, the substitution in LaTeX and the variance-propagation
    argument."""
    g2_latex = fmt.exact(g2)  # 2, or 200/101 written inline under the root's fraction bar
    if method.startswith("xavier"):
        assert fi is not None and fo is not None
        var = g2 * Fraction(2, fi + fo)
        return (
            var,
            f"std = gain·√(2/(fan_in + fan_out)) = √({fmt.exact(g2)}·2/({fi} + {fo}))",
            r"\text{std} = \text{gain}\sqrt{\frac{2}{\text{fan\_in}+\text{fan\_out}}}",
            rf"\sqrt{{\frac{{{g2_latex} \cdot 2}}{{{fi} + {fo}}}}}",
            "Var(y) = fan_in·Var(w)·Var(x) keeps the forward signal's variance when Var(w) = 1/fan_in, and the "
            "backward gradient's when Var(w) = 1/fan_out; Glorot & Bengio take the harmonic compromise "
            "Var(w) = 2/(fan_in + fan_out) (times gain² for the nonlinearity).",
        )
    if method == "orthogonal":
        assert shape is not None
        rows, cols = shape[0], math.prod(shape) // shape[0]
        var = g2 / max(rows, cols)
        return (
            var,
            f"the weight viewed as {rows}x{cols} gets orthonormal {'rows' if rows <= cols else 'columns'} times gain, "
            f"so each entry's mean square is gain²/max({rows}, {cols}): std = √({fmt.exact(g2)}/{max(rows, cols)})",
            r"\text{std} = \frac{\text{gain}}{\sqrt{\max(\text{rows},\text{cols})}}",
            rf"\sqrt{{\frac{{{g2_latex}}}{{{max(rows, cols)}}}}}",
            "An orthogonal matrix preserves norms exactly (‖Wx‖ = ‖x‖ for orthonormal columns), so the signal's "
            "scale neither grows nor shrinks through the layer, before the gain.",
        )
    fan = fi if mode == "fan_in" else fo
    assert fan is not None
    var = g2 / fan
    relu = (
        "for ReLU only half the inputs pass, E[x²] = Var(z)/2, so Var(w) = 2/fan_in keeps Var(z) constant (He et al.)"
    )
    return (
        var,
        f"std = gain/√{mode} = √({fmt.exact(g2)}/{fan})",
        r"\text{std} = \frac{\text{gain}}{\sqrt{\text{" + mode.replace("_", r"\_") + "}}}",
        rf"\sqrt{{\frac{{{g2_latex}}}{{{fan}}}}}",
        f"Var(z) = fan_in·Var(w)·E[x²] for the next pre-activation z; {relu}. mode=fan_out keeps the backward "
        "gradients' variance instead (fan_out in place of fan_in). LeCun's 1/fan_in is the linear case.",
    )
