"""``filter transpose``: a transposed convolution's output by hand, in its two equivalent views.

PyTorch's ``conv_transpose2d(x, weight, bias, stride, padding, output_padding, groups=1, dilation)``
with one output channel (``weight`` is C_in x 1 x k_h x k_w, one kernel slice per input channel).
Per axis (n input size, k kernel, s stride, p padding, o output_padding, d dilation)::

    out = (n − 1)·s − 2p + d(k − 1) + o + 1          (o < s or o < d; out ≥ 1)

Scatter view: every input cell multiplies the whole kernel and adds it into the output, the copy for
x[i, j] starting at row i·s − p, column j·s − p (taps d apart)::

    y[i·s − p + a·d, j·s − p + b·d] += Σ_c x[c, i, j] · K[c, a, b]      (then + bias everywhere)

Equivalent view: insert s − 1 zeros between the input cells, pad each side with d(k − 1) − p zeros
(plus o more at the bottom/right; a negative amount crops), and cross-correlate with stride 1 with
the kernel rotated by 180° (dilation d).
"""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction
from typing import Any

from dlsolve import fmt
from dlsolve.errors import BadInput, InvalidProblem
from dlsolve.solution import Solution, Step
from dlsolve.solvers.filter_grid import (
    MAX_PADDED_ENTRIES,
    Grid,
    Pair,
    _compatible,
    factor,
    heatmap,
    image_and_kernel,
    image_text,
    matrix_quiet,
    output_answer,
    pair_text,
)
from dlsolve.solvers.filters import correlate, dilate
from dlsolve.values import Matrix, Scalar

STEP_KINDS = {
    "filter.scatter": "transposed convolution, scatter view: each input cell times the kernel, added into the output",
    "filter.equivalent": "transposed convolution as a convolution: zeros inserted, padded, the flipped kernel",
}


def _scatter(x: Grid, k: Grid, stride: Pair, dilation: Pair, full_size: Pair) -> tuple[Any, bool, int]:
    """The uncropped output ``Σ_c Σ_{i,j} x[c,i,j]·K[c]`` placed at (i·s, j·s): (array, exact, denominator)."""
    import numpy as np

    channels, height, width = x.shape
    _, kh, kw = k.shape
    xd, kd, exact = _compatible(x, k, channels * kh * kw)
    total = np.zeros(full_size, dtype=xd.dtype)
    for c in range(channels):
        for a in range(kh):
            for b in range(kw):
                weight = kd[c, a, b]
                if weight:
                    r, s = a * dilation[0], b * dilation[1]
                    rows = slice(r, r + stride[0] * (height - 1) + 1, stride[0])
                    cols = slice(s, s + stride[1] * (width - 1) + 1, stride[1])
                    total[rows, cols] += weight * xd[c]
    return total, exact, x.denominator * k.denominator


def transpose_filter(
    image: Sequence[Matrix],
    kernel: Sequence[Matrix],
    *,
    stride: Pair = (1, 1),
    padding: Pair = (0, 0),
    output_padding: Pair = (0, 0),
    dilation: Pair = (1, 1),
    bias: Scalar | None = None,
    full: bool = False,
) -> Solution:
    """The output of ``conv_transpose2d`` with one output channel (see the module docstring).

    ``kernel`` has one slice per input channel (or one slice for all); ``bias`` (None: none) is added
    to every output cell.
    """
    for name, option, pair, low in (
        ("stride", "--stride", stride, 1),
        ("dilation", "--dilation", dilation, 1),
        ("padding", "--padding", padding, 0),
        ("output padding", "--output-padding", output_padding, 0),
    ):
        if min(pair) < low:
            raise BadInput(f"expected a {name} >= {low}, got {pair_text(pair)}", option=option)
    for o, s, d in zip(output_padding, stride, dilation, strict=True):
        if o >= s and o >= d:
            raise InvalidProblem(
                f"output padding must be smaller than either stride or dilation, but got output_padding "
                f"{pair_text(output_padding)}, stride {pair_text(stride)}, dilation {pair_text(dilation)}",
                option="--output-padding",
            )
    x, k, bias, warnings = image_and_kernel(image, kernel, bias)
    channels, height, width = x.shape
    _, kh, kw = k.shape
    sizes, kernel_hw = (height, width), (kh, kw)
    full_size = tuple(
        (n - 1) * s + d * (kk - 1) + 1 + o
        for n, s, d, kk, o in zip(sizes, stride, dilation, kernel_hw, output_padding, strict=True)
    )
    out = (full_size[0] - 2 * padding[0], full_size[1] - 2 * padding[1])
    if min(out) < 1:
        raise InvalidProblem(
            f"Given input size per channel: ({height} x {width}). Calculated output size per channel: "
            f"({out[0]} x {out[1]}). Output size is too small",
            option="--padding",
        )
    if full_size[0] * full_size[1] > MAX_PADDED_ENTRIES:
        raise BadInput(f"the output would have {full_size[0] * full_size[1]} entries; too large", option="--image")
    total, exact, denominator = _scatter(x, k, stride, dilation, (full_size[0], full_size[1]))
    cropped = total[padding[0] : padding[0] + out[0], padding[1] : padding[1] + out[1]]
    if exact:
        shift = Fraction(bias) if bias else Fraction(0)
        output: list[list[Scalar]] = [[Fraction(int(v), denominator) + shift for v in row] for row in cropped.tolist()]
    else:
        output = [[float(v) + float(bias or 0) for v in row] for row in cropped.tolist()]

    def build() -> list[Step]:
        return _steps(x, k, output, stride, padding, output_padding, dilation, out, bias, full)

    summary, answer = output_answer(output, exact, bias)
    return Solution(
        command="filter transpose",
        inputs={
            "image": f"{channels}x{height}x{width}",
            "kernel": f"{kh}x{kw}",
            "stride": pair_text(stride),
            "padding": pair_text(padding),
            "output_padding": pair_text(output_padding) if output_padding != (0, 0) else None,
            "dilation": pair_text(dilation) if dilation != (1, 1) else None,
            "bias": None if bias is None else fmt.exact(bias),
        },
        answer=answer,
        summary=summary,
        quiet=matrix_quiet(output),
        steps=build,
        warnings=warnings,
        answer_latex=fmt.latex_matrix(output) if out[0] * out[1] <= 64 else "",
    )


def _steps(
    x: Grid,
    k: Grid,
    output: list[list[Scalar]],
    stride: Pair,
    padding: Pair,
    output_padding: Pair,
    dilation: Pair,
    out: Pair,
    bias: Scalar | None,
    full: bool,
) -> list[Step]:
    from dlsolve.solvers.conv_geometry import Geometry, dimension_steps

    channels, height, width = x.shape
    _, kh, kw = k.shape
    suffix = (lambda c: f" channel {c}") if channels > 1 else (lambda c: "")
    steps = [
        Step(
            "Image and kernel",
            f"{image_text(channels, height, width)}; kernel {kh}x{kw}"
            f"{' per channel' if channels > 1 else ''}; stride {pair_text(stride)}; padding {pair_text(padding)}"
            + (f"; output padding {pair_text(output_padding)}" if output_padding != (0, 0) else "")
            + (f"; dilation {pair_text(dilation)}" if dilation != (1, 1) else "")
            + ("" if bias is None else f"; bias {fmt.number(bias)} (added to every output cell)"),
            blocks=[heatmap(x.channel(c), "image" + suffix(c)) for c in range(channels)]
            + [heatmap(k.channel(c), "kernel" + suffix(c)) for c in range(channels)],
            kind="filter.inputs",
        )
    ]
    geometry = Geometry("transposed", (kh, kw), stride, padding, dilation, output_padding)
    size_steps = dimension_steps(geometry, [height, width])
    steps.append(
        Step(
            "Output size",
            "\n".join(step.text for step in size_steps),
            r" \qquad ".join(step.latex for step in size_steps),
            kind="filter.output-size",
        )
    )
    steps.append(_scatter_step(x, k, stride, padding, dilation, out))
    steps.append(_equivalent_step(x, k, stride, padding, output_padding, dilation, out, bias, full))
    text = f"{out[0]}x{out[1]} output" + ("" if bias is None else f"; the bias {fmt.number(bias)} is in every cell")
    steps.append(Step("Output", text, blocks=[heatmap(output, "output")], kind="filter.output"))
    return steps


def _scatter_step(x: Grid, k: Grid, stride: Pair, padding: Pair, dilation: Pair, out: Pair) -> Step:
    """The scatter view with one input cell's copy of the kernel written out (the first non-zero cell)."""
    channels, height, width = x.shape
    _, kh, kw = k.shape
    zero: Scalar = Fraction(0) if x.exact else 0.0
    cells = [(i, j) for i in range(height) for j in range(width)]
    i, j = next((c for c in cells if any(x.data[ch, c[0], c[1]] for ch in range(channels))), (0, 0))
    values = [x.value(x.data[c, i, j]) for c in range(channels)]
    copy = [
        [sum((values[c] * k.value(k.data[c, a, b]) for c in range(channels)), zero) for b in range(kw)]
        for a in range(kh)
    ]
    r0, c0 = i * stride[0] - padding[0], j * stride[1] - padding[1]
    if channels == 1 and kh * kw <= 9:
        products = ", ".join(
            f"{factor(values[0])}·{factor(k.value(k.data[0, a, b]))} = {fmt.exact(copy[a][b])}"
            for a in range(kh)
            for b in range(kw)
        )
        worked = f"x[{i},{j}] = {fmt.exact(values[0])} times the kernel: {products}"
    else:
        worked = f"Σ_c x[c,{i},{j}]·K[c] (table below)"
    span = "" if dilation == (1, 1) else f", taps {pair_text(dilation)} apart"
    text = (
        "y[i·s − p + a·d, j·s − p + b·d] += Σ_c x[c,i,j]·K[c,a,b]: each input cell multiplies the whole kernel and "
        f"adds the copy into the output, starting at row i·{stride[0]} − {padding[0]}, column j·{stride[1]} − "
        f"{padding[1]}{span}; overlapping copies add up.\n"
        f"{worked}, added at rows {r0}..{r0 + dilation[0] * (kh - 1)}, columns {c0}..{c0 + dilation[1] * (kw - 1)}"
        f" (parts outside rows 0..{out[0] - 1}, columns 0..{out[1] - 1} are cut off by the padding)"
    )
    latex = r"y_{i s - p + a d,\; j s - p + b d} \mathrel{+}= \sum_c x_{c,i,j}\, K_{c,a,b}"
    block = heatmap(copy, f"x[{i},{j}] · K (its copy)", row_start=r0, col_start=c0)
    return Step("Scatter view", text, latex, blocks=[block], kind="filter.scatter")


def _equivalent_step(
    x: Grid,
    k: Grid,
    stride: Pair,
    padding: Pair,
    output_padding: Pair,
    dilation: Pair,
    out: Pair,
    bias: Scalar | None,
    full: bool,
) -> Step:
    """The same output as an ordinary convolution of the zero-inserted, padded input with the flipped kernel."""
    import numpy as np

    channels, height, width = x.shape
    _, kh, kw = k.shape
    spread = np.zeros((channels, (height - 1) * stride[0] + 1, (width - 1) * stride[1] + 1), dtype=x.data.dtype)
    spread[:, :: stride[0], :: stride[1]] = x.data
    edges = [dilation[axis] * ((kh, kw)[axis] - 1) - padding[axis] for axis in (0, 1)]
    # each side: d(k − 1) − p zeros before, d(k − 1) − p + output_padding after; a negative amount crops
    sides = [(e, e + output_padding[axis]) for axis, e in enumerate(edges)]
    spread = spread[
        :,
        max(-sides[0][0], 0) : spread.shape[1] - max(-sides[0][1], 0),
        max(-sides[1][0], 0) : spread.shape[2] - max(-sides[1][1], 0),
    ]
    before = [max(side[0], 0) for side in sides]
    after = [max(side[1], 0) for side in sides]
    z = np.zeros(
        (channels, spread.shape[1] + before[0] + after[0], spread.shape[2] + before[1] + after[1]), dtype=x.data.dtype
    )
    z[:, before[0] : before[0] + spread.shape[1], before[1] : before[1] + spread.shape[2]] = spread
    zg = Grid(np.ascontiguousarray(z), x.denominator, x.exact)
    flipped = Grid(np.ascontiguousarray(k.data[:, ::-1, ::-1]), k.denominator, k.exact)
    check = correlate(zg, dilate(flipped, dilation), (1, 1), out, bias)
    first = check[0][0]
    pad_text = ", ".join(
        f"{'rows' if axis == 0 else 'columns'}: d(k − 1) − p = {dilation[axis]}·({(kh, kw)[axis]} − 1) − "
        f"{padding[axis]} = {edges[axis]}"
        + (f" (+{output_padding[axis]} output padding after)" if output_padding[axis] else "")
        for axis in (0, 1)
    )
    text = (
        f"Insert s − 1 zeros between the input cells ({pair_text(stride)} stride), pad each side with "
        f"d(k − 1) − p zeros ({pad_text}; negative crops), then cross-correlate with stride 1 with the kernel "
        f"rotated by 180°{'' if dilation == (1, 1) else ' (dilated)'}; y[0,0] = {fmt.number(first)}, "
        "the same output as the scatter view."
    )
    blocks = [
        heatmap(zg.channel(c), "zero-inserted, padded input" + (f" channel {c}" if channels > 1 else ""))
        for c in range(channels)
    ]
    blocks += [
        heatmap(flipped.channel(c), "kernel rotated by 180°" + (f" channel {c}" if channels > 1 else ""))
        for c in range(channels)
    ]
    if full:
        blocks.append(heatmap(check, "output of the equivalent convolution"))
    return Step("Equivalent convolution", text, blocks=blocks, kind="filter.equivalent")
