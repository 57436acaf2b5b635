"""The board working of ``norm``: statistics, x̂, y = γx̂ + β, running statistics, backward pass.

Built on demand from the values :func:`dlsolve.solvers.norm.normalize` computed (nothing here is
recomputed for the answer). Each step shows its formula once, one worked entry, then the result.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from dlsolve import fmt
from dlsolve.solution import Step, Table
from dlsolve.solvers import norm_math as nm
from dlsolve.solvers.norm_math import Value

if TYPE_CHECKING:
    import numpy as np

    from dlsolve.solvers.norm import _Setup
    from dlsolve.values import Tensor

_MAX_TERMS = 6
_MAX_ROWS = 12


@dataclass
class Working:
    setup: _Setup
    x: np.ndarray
    view: nm.Layout
    stats: nm.RowStats
    x_hat: np.ndarray
    y: np.ndarray
    gamma: list[Value] | None
    beta: list[Value] | None
    eps: Value
    factor: Value
    cumulative: bool
    old_mean: list[Value] | None
    old_var: list[Value] | None
    new_mean: np.ndarray | None
    new_var: np.ndarray | None
    unbiased: np.ndarray | None
    gradients: dict[str, Any] | None
    grad_y: Tensor | None
    stack: list[np.ndarray]
    full: bool


def _n(value: Value) -> str:
    """A value in running text: exact with its decimal, or a short decimal."""
    return (
        fmt.number(value)
        if isinstance(value, int) or (fmt.is_exact(value) and len(fmt.exact(value)) <= 12)
        else fmt.decimal(value)
    )


def _p(value: Value) -> str:
    """A value inside an expression, parenthesised when negative."""
    text = nm.cell(value)
    return f"({text})" if text.startswith("-") else text


def _row_label(w: Working, row: int) -> str:
    kind, shape = w.setup.kind, w.setup.shape
    if kind == "batch":
        return f"channel {row}"
    if kind in ("layer", "rms"):
        lead = shape[: len(shape) - w.setup.normalized]
        index = nm.unravel(row, lead)
        return "sample " + (",".join(map(str, index)) if index else "0")
    second = "group" if kind == "group" else "channel"
    per = w.setup.groups if kind == "group" else shape[1]
    return f"sample {row // per}, {second} {row % per}"


def _first_position(w: Working) -> tuple[int, ...]:
    """Where the first entry of the first statistic's row sits in the input (for worked examples)."""
    import numpy as np

    positions = np.arange(w.x.size).reshape(w.x.shape)
    return nm.unravel(int(w.view.to_rows(positions)[0, 0]), w.x.shape)


def _param_index(w: Working, position: tuple[int, ...]) -> int:
    if w.setup.kind in ("layer", "rms"):
        trailing = w.setup.shape[len(w.setup.shape) - w.setup.normalized :]
        flat = 0
        for size, i in zip(trailing, position[len(position) - len(trailing) :], strict=True):
            flat = flat * size + i
        return flat
    return position[1]


def _scope(w: Working, width: int) -> str:
    kind, shape = w.setup.kind, w.setup.shape
    if kind == "batch":
        spatial = "·".join(map(str, shape[2:]))
        over = (
            f"N·{'·'.join('LHWD'[: len(shape) - 2]) if len(shape) > 3 else 'L'} = {shape[0]}·{spatial}"
            if len(shape) > 2
            else f"N = {shape[0]}"
        )
        return (
            f"Batch norm normalizes each of the {shape[1]} channels over the batch: M = {over} = {width} values"
            if len(shape) > 2
            else f"Batch norm normalizes each of the {shape[1]} features over the N = {width} samples of the batch"
        )
    if kind in ("layer", "rms"):
        trailing = list(shape[len(shape) - w.setup.normalized :])
        name = "Layer norm" if kind == "layer" else "RMS norm"
        return f"{name} normalizes each sample over its normalized_shape {trailing}: M = {width} values"
    if kind == "group":
        return (
            f"Group norm splits the {shape[1]} channels into {w.setup.groups} groups of "
            f"{shape[1] // w.setup.groups} and normalizes each (sample, group): M = {width} values"
        )
    return f"Instance norm normalizes each (sample, channel) over its spatial positions: M = {width} values"


def _terms(values: list[Value], make: Any) -> str:
    shown = [make(v) for v in values[:_MAX_TERMS]]
    return " + ".join(shown) + (" + …" if len(values) > _MAX_TERMS else "")


def _statistics_step(w: Working) -> Step:
    s = w.stats
    rows = w.view.to_rows(w.x)
    width = rows.shape[1]
    first = list(rows[0])
    rms = w.setup.kind == "rms"
    if not w.setup.batch_stats:
        text = (
            "Eval mode: the running statistics normalize (the batch's own statistics are not used and nothing is "
            f"updated); ε = {_n(w.eps)}."
        )
        latex = r"\hat{x} = \frac{x - \mu_{\text{running}}}{\sqrt{\sigma^2_{\text{running}} + \varepsilon}}"
    elif rms:
        ms = s.var[0]
        text = (
            f"{_scope(w, width)}.\nms = (1/M)·Σ x², rms = √(ms + ε), ε = {_n(w.eps)}\n"
            f"{_row_label(w, 0)}: ms = ({_terms(first, lambda v: _p(v) + '²')})/{width} = {_n(ms)}, "
            f"rms = {nm.sqrt_text(s.denominator[0])}"
        )
        latex = r"\operatorname{rms} = \sqrt{\tfrac{1}{M}\textstyle\sum x^2 + \varepsilon}"
    else:
        mean = s.mean[0]
        text = (
            f"{_scope(w, width)}; the variance that normalizes is the biased one (divide by M):\n"
            "μ = (1/M)·Σ x, σ² = (1/M)·Σ (x − μ)², ε = " + _n(w.eps) + "\n"
            f"{_row_label(w, 0)}: μ = ({_terms(first, nm.cell)})/{width} = {_n(mean)}, "
            f"σ² = ({_terms(first, lambda v: f'({nm.cell(v)} − {_p(mean)})²')})/{width} = {_n(s.var[0])}, "
            f"√(σ² + ε) = {nm.sqrt_text(s.denominator[0])}"
        )
        latex = (
            (
                r"\mu = \frac{1}{M}\sum x = " + fmt.latex_number(mean)
                if fmt.is_exact(mean)
                else r"\mu = \frac{1}{M}\sum x"
            )
            + r",\quad \sigma^2 = \frac{1}{M}\sum (x-\mu)^2,\quad \sqrt{\sigma^2+\varepsilon} = "
            + nm.sqrt_latex(s.denominator[0])
        )
    count = s.var.shape[0] if w.full else min(s.var.shape[0], _MAX_ROWS)
    columns = ["", "ms" if rms else "μ", "" if rms else "σ²", "rms" if rms else "√(σ² + ε)"]
    table_rows = [
        [
            _row_label(w, i),
            nm.cell(s.var[i]) if rms else nm.cell(s.mean[i]),
            "" if rms else nm.cell(s.var[i]),
            nm.sqrt_text(s.denominator[i]),
        ]
        for i in range(count)
    ]
    if rms:
        columns, table_rows = [columns[0], columns[1], columns[3]], [[r[0], r[1], r[3]] for r in table_rows]
    if not w.setup.batch_stats:
        columns = ["", "running μ", "running σ²", "√(σ² + ε)"]
    return Step(
        "Statistics",
        text,
        latex,
        blocks=[
            Table(
                columns,
                table_rows,
                title="per statistic" + ("" if count == s.var.shape[0] else " (first rows; --full for all)"),
            )
        ],
        kind="norm.statistics",
    )


def _normalize_step(w: Working) -> Step:
    s = w.stats
    position = _first_position(w)
    value = w.x[position]
    label = f"x{list(position)}"
    if w.setup.kind == "rms":
        example = f"{label}: {nm.cell(value)}/{nm.root_text(s.denominator[0])} = {_n(w.x_hat[position])}"
        formula = "x̂ = x/rms"
        latex = r"\hat{x} = \frac{x}{\operatorname{rms}}"
    else:
        root = nm.root_text(s.denominator[0])
        example = f"{label}: ({nm.cell(value)} − {_p(s.mean[0])})/{root} = {_n(w.x_hat[position])}"
        formula = "x̂ = (x − μ)/√(σ² + ε)"
        latex = r"\hat{x} = \frac{x - \mu}{\sqrt{\sigma^2 + \varepsilon}}"
    text = f"{formula}, e.g. {example}\nx̂ =\n{nm.array_text(w.x_hat, full=w.full)}"
    if w.x_hat.ndim == 2:
        latex += r" = " + nm.latex_grid([list(r) for r in w.x_hat])
    return Step("Normalize", text, latex, kind="norm.normalize")


def _affine_step(w: Working) -> Step:
    if not w.setup.affine:
        return Step(
            "Output",
            f"affine=False: no γ or β, so y = x̂.\ny =\n{nm.array_text(w.y, full=w.full)}",
            r"y = \hat{x}",
            kind="norm.affine",
        )
    assert w.gamma is not None and w.beta is not None
    position = _first_position(w)
    p = _param_index(w, position)
    rms = w.setup.kind == "rms"
    worked = f"{_p(w.gamma[p])}·{_p(w.x_hat[position])}" + ("" if rms else f" + {_p(w.beta[p])}")
    text = (
        f"{'y = γ·x̂' if rms else 'y = γ·x̂ + β'} with γ = {nm.vector_text(w.gamma)}"
        + ("" if rms else f", β = {nm.vector_text(w.beta)}")
        + f" (one per {'feature' if w.setup.kind in ('layer', 'rms') else 'channel'}), "
        f"e.g. y{list(position)} = {worked} = {_n(w.y[position])}\ny =\n{nm.array_text(w.y, full=w.full)}"
    )
    latex = r"y = \gamma \hat{x}" + ("" if rms else r" + \beta")
    if w.y.ndim == 2:
        latex += " = " + nm.latex_grid([list(r) for r in w.y])
    return Step("Scale and shift", text, latex, kind="norm.affine")


def _running_step(w: Working) -> Step:
    assert w.new_mean is not None and w.new_var is not None and w.unbiased is not None
    assert w.old_mean is not None and w.old_var is not None
    width = w.view.to_rows(w.x).shape[1]
    m = w.factor
    keep = 1 - m
    instance = w.setup.kind == "instance"
    batch_mean = (
        w.stats.mean if not instance else w.stats.mean.reshape(w.setup.shape[0], -1).sum(axis=0) / w.setup.shape[0]
    )
    batch_var = w.unbiased if not instance else w.unbiased.reshape(w.setup.shape[0], -1).sum(axis=0) / w.setup.shape[0]
    momentum = f"m = {_n(m)}"
    if w.cumulative:
        momentum = (
            "momentum=None: InstanceNorm uses m = 0, so nothing moves"
            if instance
            else f"momentum=None: a cumulative average, m = 1/num_batches_tracked = {_n(m)}"
        )
    text = (
        f"PyTorch: new = (1 − m)·old + m·batch, {momentum}. Keras's BatchNormalization uses the opposite "
        "convention: its momentum (default 0.99) weights the old value, new = m·old + (1 − m)·batch.\n"
        f"The gotcha: x̂ used the biased σ² (divided by M), but the running variance takes the unbiased one, "
        f"σ²·M/(M − 1) = {_p(w.stats.var[0])}·{width}/{width - 1} = {_n(w.unbiased[0])} for {_row_label(w, 0)}."
        + (" Instance norm averages each channel's per-sample statistics over the batch first." if instance else "")
        + f"\nchannel 0: running_mean = {_n(keep)}·{_p(w.old_mean[0])} + {_n(m)}·{_p(batch_mean[0])} = "
        f"{_n(w.new_mean[0])}, running_var = {_n(keep)}·{_p(w.old_var[0])} + {_n(m)}·{_p(batch_var[0])} = "
        f"{_n(w.new_var[0])}"
    )
    rows = [
        [f"channel {c}", nm.cell(batch_mean[c]), nm.cell(batch_var[c]), nm.cell(w.new_mean[c]), nm.cell(w.new_var[c])]
        for c in range(len(w.new_mean))
    ]
    table = Table(["", "batch μ", "unbiased σ²", "running_mean", "running_var"], rows, title="running statistics")
    latex = (
        r"\hat{\mu} \leftarrow (1-m)\,\hat{\mu} + m\,\mu_B,\quad "
        r"\hat{\sigma}^2 \leftarrow (1-m)\,\hat{\sigma}^2 + m\,\frac{M}{M-1}\sigma_B^2"
    )
    return Step("Running statistics", text, latex, blocks=[table], kind="norm.running-stats")


def _backward_step(w: Working) -> Step:
    assert w.gradients is not None
    g = w.gradients
    s = w.stats
    position = _first_position(w)
    g_hat_rows = w.view.to_rows(g["g_hat"])
    width = g_hat_rows.shape[1]
    rms = w.setup.kind == "rms"
    mean_g = g_hat_rows[0].sum() / width
    mean_gx = (g_hat_rows[0] * s.x_hat[0]).sum() / width
    scale = "γ·g" if w.setup.affine else "g"
    if not w.setup.batch_stats:
        formula = f"The running statistics are constants, so dx = ĝ/√(σ² + ε) with ĝ = {scale}"
        worked = f"{_p(g_hat_rows[0, 0])}/{nm.root_text(s.denominator[0])}"
        latex = r"\frac{\partial L}{\partial x} = \frac{\gamma\, g}{\sqrt{\sigma^2_{\text{running}}+\varepsilon}}"
    elif rms:
        formula = f"dx = (1/rms)(ĝ − x̂·mean(ĝ·x̂)) with ĝ = {scale}, the mean over each statistic's M = {width} entries"
        worked = f"(1/{nm.root_text(s.denominator[0])})·({_p(g_hat_rows[0, 0])} − {_p(s.x_hat[0, 0])}·{_p(mean_gx)})"
        latex = (
            r"\frac{\partial L}{\partial x} = \frac{1}{\operatorname{rms}}"
            r"\left(\hat{g} - \hat{x}\,\overline{\hat{g}\hat{x}}\right)"
        )
    else:
        formula = (
            f"dx = (1/σ)(ĝ − mean(ĝ) − x̂·mean(ĝ·x̂)) with σ = √(σ² + ε), ĝ = {scale}, the means over each "
            f"statistic's M = {width} entries"
        )
        worked = (
            f"(1/{nm.root_text(s.denominator[0])})·({_p(g_hat_rows[0, 0])} − {_p(mean_g)} − "
            f"{_p(s.x_hat[0, 0])}·{_p(mean_gx)})"
        )
        latex = (
            r"\frac{\partial L}{\partial x} = \frac{1}{\sigma}\left(\hat{g} - \overline{\hat{g}} - "
            r"\hat{x}\,\overline{\hat{g}\hat{x}}\right),\ \hat{g} = \gamma g"
        )
    lines = [
        f"{formula}; e.g. dx{list(position)} = {worked} = {_n(g['dx'][position])}",
        "dx =",
        nm.array_text(g["dx"], full=w.full),
    ]
    if g["dgamma"] is not None:
        lines.insert(0, f"dγ = Σ g·x̂ = {nm.vector_text(g['dgamma'])}")
    if g["dbeta"] is not None:
        lines.insert(1, f"dβ = Σ g = {nm.vector_text(g['dbeta'])}")
    check = _engine_check(w)
    if check:
        lines.append(check)
    return Step("Backward pass", "\n".join(lines), latex, kind="norm.backward")


def engine_expression(kind: str, eps: Value, *, affine: bool, running: bool) -> str | None:
    """L = Σ G·y in the expression engine's grammar, for a 2-D input (batch, layer or RMS norm); None
    for the layers it cannot express (group and instance norm need reshapes).

    Names: ``x``, ``G`` (dL/dy), ``gamma``, ``beta`` and, with ``running``, ``rm``, ``rv``.
    """
    if kind not in ("batch", "layer", "rms"):
        return None
    eps_text = f"({fmt.exact(eps)})" if isinstance(eps, int) or fmt.is_exact(eps) else repr(float(eps))
    dim = "0" if kind == "batch" else "1"
    if kind == "rms":
        x_hat = f"x / sqrt(mean(x**2, 1, True) + {eps_text})"
    elif running:
        x_hat = f"(x - rm) / sqrt(rv + {eps_text})"
    else:
        centred = f"(x - mean(x, {dim}, True))"
        x_hat = f"{centred} / sqrt(mean({centred}**2, {dim}, True) + {eps_text})"
    y = f"gamma * {x_hat}" if affine else x_hat
    if affine and kind != "rms":
        y += " + beta"
    return f"sum(G * ({y}))"


def _engine_check(w: Working) -> str:
    """The backward pass redone by the expression engine's reverse mode (float64), as a sentence;
    "" when the engine cannot express the layer or the input is not 2-D."""
    import numpy as np

    from dlsolve.engine import backward, forward, parse_expression

    kind, g = w.setup.kind, w.gradients
    running = not w.setup.batch_stats
    text = engine_expression(kind, w.eps, affine=w.setup.affine, running=running)
    if text is None or w.x.ndim != 2 or g is None or w.grad_y is None:
        return ""
    values: dict[str, Any] = {
        "x": w.x.astype(float),
        "G": np.array([float(v) for v in w.grad_y.values]).reshape(w.x.shape),
    }
    if w.setup.affine:
        values["gamma"] = np.array([float(v) for v in w.gamma or []])
        if kind != "rms":
            values["beta"] = np.array([float(v) for v in w.beta or []])
    if running:
        values["rm"] = np.array([float(v) for v in w.old_mean or []])
        values["rv"] = np.array([float(v) for v in w.old_var or []])
    wrt = ["x"] + [name for name in ("gamma", "beta") if name in values]
    grads = backward(forward(parse_expression(text, "--grad-y"), values, exact=False), wrt=wrt).grads
    ours = {"x": g["dx"], "gamma": g["dgamma"], "beta": g["dbeta"]}
    gap = max(float(np.max(np.abs(grads[name] - ours[name].astype(float)))) for name in wrt)
    scale = max(1.0, *(float(np.max(np.abs(ours[name].astype(float)))) for name in wrt))
    names = ", ".join({"x": "dx", "gamma": "dγ", "beta": "dβ"}[name] for name in wrt)
    if gap <= 1e-9 * scale:
        return (
            f"Check: the expression engine's reverse mode on L = Σ g·y gives the same {names} "
            f"(largest difference {fmt.decimal(gap, 2)})."
        )
    return (
        "Check FAILED: the expression engine's reverse mode differs from the compact formula by "
        f"{fmt.decimal(gap)}; please report it."
    )


def build(w: Working) -> list[Step]:
    """The steps: statistics, x̂, y, then the running-statistics update and the backward pass when asked."""
    steps = [_statistics_step(w), _normalize_step(w), _affine_step(w)]
    if w.new_mean is not None:
        steps.append(_running_step(w))
    if w.gradients is not None:
        steps.append(_backward_step(w))
    if w.stack:
        steps.append(_stack_step(w))
    return steps


def _stack_step(w: Working) -> Step:
    name = "LN" if w.setup.kind == "layer" else "RMSNorm"
    plain = w.gamma is None or (all(g == 1 for g in w.gamma) and all(b == 0 for b in (w.beta or [0])))
    shown = w.stack if w.full else w.stack[-1:]
    lines = [
        f"Pre-LN blocks whose sublayers are the identity: x_(l+1) = x_l + {name}(x_l), {len(w.stack)} blocks.",
    ]
    if plain and w.setup.kind == "layer":
        lines.append(
            "With γ = 1, β = 0, x_l = μ + (σ + l)·x̂ keeps the same x̂, so LN(x_l) = x̂ (up to ε) and "
            "x_L ≈ x + L·x̂: the residual stream grows linearly with depth while each block adds a unit-scale update."
        )
    for index, block in enumerate(shown, len(w.stack) - len(shown) + 1):
        lines += [f"x_{index} =", nm.array_text(block, full=w.full)]
    return Step("Pre-LN stack", "\n".join(lines), r"x_{l+1} = x_l + \operatorname{LN}(x_l)", kind="norm.pre-ln-stack")
