"""``filter apply``: a filter's output on an image, as a conv layer computes it, with the arithmetic shown.

Conventions (PyTorch's):

* ``xcorr`` (default) is what ``torch.nn.functional.conv2d`` computes, cross-correlation:
  ``y[i, j] = Σ_c Σ_a Σ_b x_pad[c, i·s_h + a·d_h, j·s_w + b·d_w] · K[c, a, b]``.
  ``conv`` flips the kernel first (``K'[c, a, b] = K[c, k_h−1−a, k_w−1−b]``): true convolution,
  what ``scipy.signal.convolve2d`` computes.
* Dilation d spreads the kernel's taps d apart (``conv2d``'s ``dilation``): the same as the kernel
  with d − 1 zeros typed between its entries; it spans d(k − 1) + 1 cells.
* A bias ``b`` (one number per filter, ``conv2d``'s ``bias``) is added to every output cell after the
  sum (in both modes). No bias is the same as ``bias = 0`` (``Conv2d(..., bias=False)``).
* Padding is zeros, per axis (before, after); output size ``⌊(n + p_b + p_a − d(k − 1) − 1)/s⌋ + 1``.

The working shows one output cell written out (``cell``, default the first) and the output table;
``full`` writes out every cell (up to :data:`~dlsolve.solvers.filter_grid.MAX_CELLS_SHOWN`).
"""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction
from typing import Any

from dlsolve import fmt
from dlsolve.errors import BadInput
from dlsolve.solution import Solution, Step
from dlsolve.solvers.filter_grid import (
    MAX_CELLS_SHOWN,
    MAX_PRODUCTS,
    MAX_TERMS,
    Grid,
    Pair,
    _compatible,
    axis_pads,
    check_geometry,
    factor,
    heatmap,
    image_and_kernel,
    image_text,
    matrix_quiet,
    output_answer,
    output_size_step,
    output_sizes,
    padded_grid,
    pads_text,
    pair_text,
    window_geometry,
)

# re-exported for dlsolve.cli (which imports them from here) until the command modules take over
from dlsolve.solvers.filter_grid import axis_pair as axis_pair
from dlsolve.solvers.filter_pool import pool as pool
from dlsolve.values import Matrix, Scalar

STEP_KINDS = {
    "filter.flip": "the kernel rotated by 180° (true convolution)",
    "filter.dilate": "the dilated kernel: its taps d apart, zeros between them",
}


def dilate(kernel: Grid, dilation: Pair) -> Grid:
    """The kernel with ``d − 1`` zeros between its taps along each axis (what dilation means)."""
    if dilation == (1, 1):
        return kernel
    import numpy as np

    channels, kh, kw = kernel.shape
    spread = np.zeros((channels, dilation[0] * (kh - 1) + 1, dilation[1] * (kw - 1) + 1), dtype=kernel.data.dtype)
    spread[:, :: dilation[0], :: dilation[1]] = kernel.data
    return Grid(spread, kernel.denominator, kernel.exact)


def _cell_terms(
    xp: Grid, kernel: Grid, i: int, j: int, stride: Pair, dilation: Pair
) -> tuple[list[tuple[int, list[str], Scalar]], Scalar]:
    """Per channel: (channel, product texts, channel sum) for output cell (i, j); and the total."""
    _, kh, kw = kernel.shape
    per_channel = []
    exact = xp.exact and kernel.exact
    total: Scalar = Fraction(0) if exact else 0.0
    for c in range(kernel.shape[0]):
        texts, subtotal = [], Fraction(0) if exact else 0.0
        for a in range(kh):
            for b in range(kw):
                xv = xp.value(xp.data[c, i * stride[0] + a * dilation[0], j * stride[1] + b * dilation[1]])
                kv = kernel.value(kernel.data[c, a, b])
                texts.append(f"{factor(xv)}·{factor(kv)}")
                subtotal += xv * kv
        per_channel.append((c, texts, subtotal))
        total += subtotal
    return per_channel, total


def _sum_text(texts: list[str]) -> str:
    if len(texts) > MAX_TERMS:
        texts = [*texts[: MAX_TERMS - 2], "…", texts[-1]]
    return " + ".join(texts)


def _plus_bias(subtotal: Scalar, bias: Scalar) -> str:
    """``s + b = y`` with exact numbers (a negative bias in parentheses)."""
    return f"{fmt.exact(subtotal)} + {factor(bias)} = {fmt.exact(subtotal + bias)}"


def _cell_latex(text: str) -> str:
    """A worked cell's plain-text sum as LaTeX: ``1·(-1) + … + bias = -1/3`` -> ``1\\cdot (-1) + \\dots``."""
    import re

    text = re.sub(r"(\d+)/(\d+)", r"\\frac{\1}{\2}", text)
    for plain, latex in (("·", "\\cdot "), ("…", "\\dots"), ("≈", "\\approx"), ("bias", "\\mathrm{bias}")):
        text = text.replace(plain, latex)
    return text


def _cell_step(
    xp: Grid,
    kernel: Grid,
    i: int,
    j: int,
    stride: Pair,
    before: Pair,
    dilation: Pair,
    *,
    full: bool,
    bias: Scalar | None = None,
) -> Step:
    """Output cell (i, j) written out: its window, then ``y[i,j] = products = sum`` on one line (per channel,
    then the channel sums, with several channels); with a bias, ``... + bias = s + b = y``."""
    _, kh, kw = kernel.shape
    span = (dilation[0] * (kh - 1) + 1, dilation[1] * (kw - 1) + 1)
    r0, c0 = i * stride[0] - before[0], j * stride[1] - before[1]
    per_channel, total = _cell_terms(xp, kernel, i, j, stride, dilation)
    step_text = "" if dilation == (1, 1) else f", taps {pair_text(dilation)} apart"
    where = f"window rows {r0}..{r0 + span[0] - 1}, columns {c0}..{c0 + span[1] - 1}{step_text} (image coordinates)"
    sums: list[str] = []
    blocks = []
    single = len(per_channel) == 1
    for c, texts, subtotal in per_channel:
        if not single:
            sums.append(f"channel {c}: {_sum_text(texts)} = {fmt.exact(subtotal)}")
        if full:
            rows = range(i * stride[0], i * stride[0] + span[0], dilation[0])
            cols = range(j * stride[1], j * stride[1] + span[1], dilation[1])
            window = [[xp.value(xp.data[c, r, s]) for s in cols] for r in rows]
            products = [[window[a][b] * kernel.value(kernel.data[c, a, b]) for b in range(kw)] for a in range(kh)]
            suffix = f" (channel {c})" if len(per_channel) > 1 else ""
            blocks.append(heatmap(window, f"window{suffix}", row_start=r0, col_start=c0))
            blocks.append(heatmap(products, f"window ⊙ kernel{suffix}", row_start=r0, col_start=c0))
    terms = _sum_text(per_channel[0][1]) if single else " + ".join(factor(s) for _, _, s in per_channel)
    value = total if bias is None else total + bias
    decimal = fmt.number(value)[len(fmt.exact(value)) :]  # " ≈ 0.333333" for a fraction, else ""
    if bias is None:
        result = f"{terms} = {fmt.exact(total)}{decimal}"
    else:
        result = f"{terms} + bias = {_plus_bias(total, bias)}{decimal}"
    cell = f"y[{i},{j}] = {result}"
    sums.append(cell)
    latex = " \\\\ ".join(
        [f"\\text{{channel {c}: }} " + _cell_latex(line.split(": ", 1)[1]) for c, line in enumerate(sums[:-1])]
        + [f"y_{{{i},{j}}} = " + _cell_latex(result)]
    )
    return Step(f"y[{i},{j}]", "\n".join([where, *sums]), latex, blocks=blocks, kind="filter.window")


def correlate(x: Grid, kernel: Grid, stride: Pair, out: Pair, bias: Scalar | None = None) -> list[list[Scalar]]:
    """``y[i,j] = Σ_c Σ_a Σ_b x[c, i·s_h + a, j·s_w + b] · K[c,a,b] + bias`` over an already padded ``x``.

    The bias (``None``: none) is added to every cell after the sum, as ``conv2d`` does; exact grids
    add it as a Fraction, float grids as a float. A dilated kernel is passed with its zeros typed in.
    """
    import numpy as np

    channels, kh, kw = kernel.shape
    xd, kd, exact = _compatible(x, kernel, channels * kh * kw)
    total = np.zeros(out, dtype=xd.dtype)
    rows_end = lambda a: a + stride[0] * (out[0] - 1) + 1  # noqa: E731
    cols_end = lambda b: b + stride[1] * (out[1] - 1) + 1  # noqa: E731
    for c in range(channels):
        for a in range(kh):
            for b in range(kw):
                weight = kd[c, a, b]
                if weight:
                    total += weight * xd[c, a : rows_end(a) : stride[0], b : cols_end(b) : stride[1]]
    if exact:
        denominator = x.denominator * kernel.denominator
        shift = Fraction(bias) if bias else Fraction(0)
        return [[Fraction(int(v), denominator) + shift for v in row] for row in total.tolist()]
    shift_float = float(bias) if bias else 0.0
    return [[float(v) + shift_float for v in row] for row in total.tolist()]


def _flip(k: Grid) -> Grid:
    import numpy as np

    return Grid(np.ascontiguousarray(k.data[:, ::-1, ::-1]), k.denominator, k.exact)


def apply_filter(
    image: Sequence[Matrix],
    kernel: Sequence[Matrix],
    *,
    stride: Pair = (1, 1),
    padding: Sequence[int | Pair] = (0, 0),
    dilation: Pair = (1, 1),
    mode: str = "xcorr",
    cell: tuple[int, int] | None = None,
    kernel_name: str | None = None,
    bias: Scalar | None = None,
    full: bool = False,
) -> Solution:
    """Apply ``kernel`` to ``image`` as a conv layer does (one output channel, summed over input channels).

    ``mode="xcorr"``: ``y[i,j] = Σ_c Σ_a Σ_b x_pad[c, i·s_h + a·d_h, j·s_w + b·d_w]·K[c,a,b] + bias``
    (PyTorch ``conv2d(input, weight, bias, stride, padding, dilation)``); ``mode="conv"``: the same with
    the kernel rotated by 180° (true convolution, SciPy convolve2d, then the bias). ``bias=None`` adds
    nothing (``bias=False``). ``padding`` holds per axis an int or a (before, after) pair.
    """
    pads = axis_pads(padding)
    if min(stride) < 1:
        raise BadInput(f"expected a stride >= 1, got {pair_text(stride)}", option="--stride")
    if min(dilation) < 1:
        raise BadInput(f"expected a dilation >= 1, got {pair_text(dilation)}", option="--dilation")
    if min(min(pair) for pair in pads) < 0:
        raise BadInput(f"expected a padding >= 0, got {pads_text(pads)}", option="--padding")
    x, k, bias, warnings = image_and_kernel(image, kernel, bias)
    channels, height, width = x.shape
    _, kh, kw = k.shape
    span = (dilation[0] * (kh - 1) + 1, dilation[1] * (kw - 1) + 1)
    check_geometry(height, width, span, pads, "--kernel")
    geometry = window_geometry("conv", (kh, kw), stride, pads, dilation)
    out = output_sizes(geometry, height, width)
    if out[0] * out[1] * channels * kh * kw > MAX_PRODUCTS:
        raise BadInput("this needs more than 50 million products; use a smaller image or kernel", option="--image")
    if cell is not None and not (0 <= cell[0] < out[0] and 0 <= cell[1] < out[1]):
        raise BadInput(
            f"cell {cell[0]},{cell[1]} is outside the {out[0]}x{out[1]} output (rows 0..{out[0] - 1}, "
            f"columns 0..{out[1] - 1})",
            option="--cell",
        )
    used = _flip(k) if mode == "conv" else k
    xp = padded_grid(x, pads)
    output = correlate(xp, dilate(used, dilation), stride, out, bias)

    def build() -> list[Step]:
        return _apply_steps(
            x, k, used, xp, output, geometry, out, mode=mode, cell=cell, kernel_name=kernel_name, bias=bias, full=full
        )

    summary, answer = output_answer(output, x.exact and k.exact, bias)
    answer["mode"] = mode
    if cell is not None:
        answer["cell"] = {"index": list(cell), "value": fmt.json_number(output[cell[0]][cell[1]])}
    kernel_label = f"{kernel_name} " if kernel_name else ""
    return Solution(
        command="filter apply",
        inputs={
            "image": f"{channels}x{height}x{width}",
            "kernel": f"{kernel_label}{kh}x{kw}",
            "stride": pair_text(stride),
            "padding": pads_text(pads),
            **({} if dilation == (1, 1) else {"dilation": pair_text(dilation)}),
            "mode": mode,
            **({} if bias is None else {"bias": fmt.exact(bias)}),
        },
        answer=answer,
        summary=summary,
        quiet=matrix_quiet(output),
        steps=build,
        warnings=warnings,
        answer_latex=fmt.latex_matrix(output) if out[0] * out[1] <= 64 else "",
    )


def _apply_steps(
    x: Grid,
    k: Grid,
    used: Grid,
    xp: Grid,
    output: list[list[Scalar]],
    geometry: Any,
    out: Pair,
    *,
    mode: str,
    cell: tuple[int, int] | None,
    kernel_name: str | None,
    bias: Scalar | None,
    full: bool,
) -> list[Step]:
    """The working of :func:`apply_filter`: inputs, flip/dilation, size, padding, one cell, output."""
    channels, height, width = x.shape
    _, kh, kw = k.shape
    stride, pads, dilation = geometry.stride, geometry.padding, geometry.dilation
    kernel_label = f"{kernel_name} " if kernel_name else ""
    input_blocks = [heatmap(x.channel(c), "image" + (f" channel {c}" if channels > 1 else "")) for c in range(channels)]
    for c in range(channels):
        suffix = f" slice {c}" if channels > 1 else ""
        input_blocks.append(heatmap(k.channel(c), " ".join(filter(None, ["kernel", kernel_name, suffix.strip()]))))
    dilation_text = "" if dilation == (1, 1) else f"; dilation {pair_text(dilation)}"
    steps = [
        Step(
            "Image and kernel",
            f"{image_text(channels, height, width)}; kernel {kernel_label}{kh}x{kw}"
            f"{' per channel' if channels > 1 else ''}; stride {pair_text(stride)}; padding {pads_text(pads)}"
            + dilation_text
            + ("" if bias is None else f"; bias {fmt.number(bias)} (one number per filter, added to every output cell)")
            + "\n"
            + (
                "cross-correlation (PyTorch's conv2d): the kernel is not flipped"
                if mode == "xcorr"
                else "true convolution: the kernel is rotated by 180° first"
            ),
            blocks=input_blocks,
            kind="filter.inputs",
        )
    ]
    if mode == "conv":
        steps.append(
            Step(
                "Flip the kernel (true convolution)",
                "K'[a,b] = K[k_h−1−a, k_w−1−b]: the kernel rotated by 180°, then slid as in cross-correlation",
                "K'_{a,b} = K_{k_h-1-a,\\,k_w-1-b}",
                blocks=[
                    heatmap(used.channel(c), "flipped kernel" + (f" slice {c}" if channels > 1 else ""))
                    for c in range(channels)
                ],
                kind="filter.flip",
            )
        )
    if dilation != (1, 1):
        spread = dilate(used, dilation)
        steps.append(
            Step(
                "Dilate the kernel",
                f"dilation {pair_text(dilation)}: the taps are d apart, d − 1 zeros between them; the kernel spans "
                f"d(k − 1) + 1 = {spread.shape[1]}x{spread.shape[2]} cells",
                blocks=[
                    heatmap(spread.channel(c), "dilated kernel" + (f" slice {c}" if channels > 1 else ""))
                    for c in range(channels)
                ],
                kind="filter.dilate",
            )
        )
    steps.append(output_size_step(geometry, height, width))
    before = (pads[0][0], pads[1][0])
    if pads != ((0, 0), (0, 0)):
        (top, bottom), (left, right) = pads
        sides = (
            f"{top} row(s) of zeros above and below, {left} column(s) left and right"
            if top == bottom and left == right
            else f"zeros: {top} row(s) above, {bottom} below, {left} column(s) left, {right} right"
        )
        steps.append(
            Step(
                "Pad the image with zeros",
                f"{sides}: {xp.shape[1]}x{xp.shape[2]} per channel (labels are image coordinates)",
                blocks=[
                    heatmap(
                        xp.channel(c),
                        "padded image" + (f" channel {c}" if channels > 1 else ""),
                        row_start=-top,
                        col_start=-left,
                    )
                    for c in range(channels)
                ],
                kind="filter.padding",
            )
        )
    padded = pads != ((0, 0), (0, 0))
    symbol = "K" if mode == "xcorr" else "K'"
    steps.append(_cells_step(xp, used, stride, before, dilation, out, cell, bias, full, padded, symbol))
    # the output matrix is the answer: the text reads alone (a key shows the matrix once, in the Answer)
    kernel_used = "K" if mode == "xcorr" else "K'"
    output_text = f"{out[0]}x{out[1]} output: y = x ⋆ {kernel_used}" + (
        "" if bias is None else f", plus the bias {fmt.number(bias)} in every cell"
    )
    if mode == "conv":
        output_text += " (true convolution: K' is K rotated by 180°)"
    steps.append(Step("Output", output_text, blocks=[heatmap(output, "output")], kind="filter.output"))
    return steps


def _index_text(stride: int, dilation: int, out_index: str, tap: str) -> str:
    """``i + a``, ``2i + a``, ``i + 2a``: a window's row (or column) in the (padded) image."""
    return f"{stride if stride > 1 else ''}{out_index} + {dilation if dilation > 1 else ''}{tap}"


def _cells_step(
    xp: Grid,
    k: Grid,
    stride: Pair,
    before: Pair,
    dilation: Pair,
    out: Pair,
    cell: tuple[int, int] | None,
    bias: Scalar | None,
    full: bool,
    padded: bool = False,
    symbol: str = "K",
) -> Step:
    """The formula with the stride and dilation as numbers (``x[2i + a, 2j + b]``), then one cell written out
    (``cell``, else the first); ``full``: the first few cells too. Text and LaTeX say the same formula."""
    channels = k.shape[0]
    row, col = _index_text(stride[0], dilation[0], "i", "a"), _index_text(stride[1], dilation[1], "j", "b")
    x_name, x_latex = ("x_pad", "x^{pad}") if padded else ("x", "x")
    if channels > 1:
        formula = f"y[i,j] = Σ_c Σ_a Σ_b {x_name}[c, {row}, {col}]·{symbol}[c,a,b]"
        latex = (
            f"y_{{i,j}} = \\sum_{{c}}\\sum_{{a}}\\sum_{{b}} {x_latex}_{{c,\\, {row},\\, {col}}}\\, {symbol}_{{c,a,b}}"
        )
    else:
        formula = f"y[i,j] = Σ_a Σ_b {x_name}[{row}, {col}]·{symbol}[a,b]"
        latex = f"y_{{i,j}} = \\sum_{{a}}\\sum_{{b}} {x_latex}_{{{row},\\, {col}}}\\, {symbol}_{{a,b}}"
    if bias is not None:
        formula += f" + bias, bias = {fmt.exact(bias)}"
        latex += f" + \\mathrm{{bias}},\\quad \\mathrm{{bias}} = {fmt.latex_number(bias)}"
    first = cell if cell is not None else (0, 0)
    cells = [(i, j) for i in range(out[0]) for j in range(out[1])]
    shown = [first]
    if full:
        shown += [c for c in (cells if len(cells) <= MAX_CELLS_SHOWN else cells[:3]) if c != first]
    substeps = [
        _cell_step(xp, k, i, j, stride, before, dilation, full=full or (i, j) == cell, bias=bias) for i, j in shown
    ]
    lines = [formula]
    if len(shown) < len(cells):
        # the lead line (a typeset key puts the formula after it)
        lines.insert(
            0,
            f"one cell of {len(cells)} worked out (--cell i,j (0-based) for another, --full for the first few)",
        )
    title = "Each output cell: window · kernel, summed" + (", plus the bias" if bias is not None else "")
    return Step(title, "\n".join(lines), latex, substeps=substeps, kind="filter.windows")
