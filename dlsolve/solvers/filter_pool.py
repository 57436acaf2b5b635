"""``filter pool``: max or average pooling per channel, PyTorch's or TF/Keras's rules, with the arithmetic shown.

PyTorch (``max_pool2d``/``avg_pool2d``): window (i, j) covers padded rows ``i·s_h .. i·s_h + k_h − 1``
(columns likewise); the stride defaults to the window size; padding at most half the window on each
side. Max pooling pads with −∞. Average pooling divides the window sum by the window size clipped to
the padded image (``count_include_pad=True``) or, with ``exclude_pad``, by the real input cells.
``ceil`` rounds the output size up (a last window starting in the right padding is dropped).
Padding may differ before and after (per axis, ``F.pad`` then pooling with these rules).

TF/Keras (``MaxPooling2D``/``AveragePooling2D``, ``framework="keras"``): padding ``'valid'`` (none,
out = ⌊(n − k)/s⌋ + 1) or ``'same'`` (out = ⌈n/s⌉, total padding max((out − 1)s + k − n, 0), the
extra one at the bottom/right); SAME max pooling pads with −∞, SAME average pooling divides by the
number of real cells in the window.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from fractions import Fraction
from typing import TYPE_CHECKING, Any

from dlsolve import fmt
from dlsolve.errors import BadInput
from dlsolve.solution import Solution, Step
from dlsolve.solvers.filter_grid import (
    MAX_CELLS_SHOWN,
    MAX_TERMS,
    Grid,
    Pads,
    Pair,
    axis_pads,
    check_geometry,
    check_magnitude,
    exact_strings,
    factor,
    grid_from_channels,
    heatmap,
    image_text,
    json_matrix,
    matrix_quiet,
    output_size_step,
    output_sizes,
    pad,
    pads_text,
    pair_text,
    short_matrix,
    window_geometry,
)
from dlsolve.values import Matrix, Scalar

if TYPE_CHECKING:
    import numpy as np


def _keras_pads(padding: str, hw: Pair, size: Pair, stride: Pair) -> Pads:
    if padding not in ("same", "valid"):
        raise BadInput(f"TF/Keras padding is 'same' or 'valid', got {padding!r}", option="--padding")
    if padding == "valid":
        return (0, 0), (0, 0)
    from dlsolve.solvers.conv_geometry import keras_same_pads

    rows = keras_same_pads(hw[0], size[0], stride[0], 1)
    cols = keras_same_pads(hw[1], size[1], stride[1], 1)
    return rows, cols


def pool(
    image: Sequence[Matrix],
    *,
    size: Pair = (2, 2),
    stride: Pair | None = None,
    padding: Sequence[int | Pair] | str = (0, 0),
    op: str = "max",
    ceil: bool = False,
    exclude_pad: bool = False,
    framework: str = "pytorch",
    full: bool = False,
) -> Solution:
    """Max or average pooling per channel (see the module docstring for both frameworks' rules).

    ``padding`` holds per axis an int or a (before, after) pair (PyTorch), or is ``"same"``/``"valid"``
    (``framework="keras"``).
    """
    import numpy as np

    stride = stride or size
    keras = framework == "keras"
    if framework not in ("pytorch", "keras"):
        raise BadInput(f"expected pytorch or keras, got {framework!r}", option="--framework")
    if min(size) < 1:
        raise BadInput(f"expected a window size >= 1, got {pair_text(size)}", option="--size")
    if min(stride) < 1:
        raise BadInput(f"expected a stride >= 1, got {pair_text(stride)}", option="--stride")
    if keras and ceil:
        raise BadInput("Keras pooling has no ceil mode; --ceil is PyTorch's", option="--ceil")
    if keras and exclude_pad:
        raise BadInput("Keras's SAME average pooling always divides by the real cells", option="--exclude-pad")
    if keras and not isinstance(padding, str) and all(p in (0, (0, 0)) for p in padding):
        padding = "valid"  # Keras's default
    if keras != isinstance(padding, str):
        message = (
            "with --framework keras the padding is same or valid"
            if keras
            else f"padding {padding!r} is TF/Keras's: add --framework keras, or give whole numbers"
        )
        raise BadInput(message, option="--padding")
    check_magnitude(image, "--image")
    x = grid_from_channels(image)
    channels, height, width = x.shape
    if isinstance(padding, str):
        pads = _keras_pads(padding, (height, width), size, stride)
        exclude_pad = True  # SAME average pooling divides by the real cells
        if padding == "valid" and (height < size[0] or width < size[1]):
            raise BadInput(
                f"the window ({pair_text(size)}) is larger than the {height}x{width} image: Keras's VALID output "
                "size would be zero or negative",
                option="--size",
            )
    else:
        pads = axis_pads(padding)
        if min(min(pair) for pair in pads) < 0:
            raise BadInput(f"expected a padding >= 0, got {pads_text(pads)}", option="--padding")
        for k, (before, after) in zip(size, pads, strict=True):
            if 2 * max(before, after) > k:
                raise BadInput(
                    f"padding {max(before, after)} is more than half the window size {k} "
                    "(PyTorch requires padding <= size/2)",
                    option="--padding",
                )
    check_geometry(height, width, size, pads, "--size")
    geometry = window_geometry("maxpool" if op == "max" else "avgpool", size, stride, pads, ceil=ceil)
    out = output_sizes(geometry, height, width)
    (top, bottom), (left, right) = pads
    # the padded image, extended bottom/right so that every (ceil-mode) window is in range
    extra = (
        max(0, (out[0] - 1) * stride[0] + size[0] - height - top - bottom),
        max(0, (out[1] - 1) * stride[1] + size[1] - width - left - right),
    )
    around = (top, bottom + extra[0], left, right + extra[1])
    inside = pad(np.ones((1, height, width), dtype=bool), *around, False)[0]
    if op == "max":
        fill: Any = -math.inf if not x.exact else int(np.min(x.data)) - 1
        data = pad(x.data, *around, fill)
    else:
        data = pad(x.data, *around, 0)
        if x.exact and data.dtype != object:
            bound = int(np.max(np.abs(x.data))) * size[0] * size[1]
            data = data if bound < 2**62 else data.astype(object)
    xp = Grid(data, x.denominator, x.exact)
    outputs = _pool_values(xp, inside, size, stride, pads, (height, width), out, op, exclude_pad)

    def build() -> list[Step]:
        return _pool_steps(
            x,
            xp,
            inside,
            outputs,
            geometry,
            out,
            op,
            exclude_pad,
            padding if keras else None,
            full,  # type: ignore[arg-type]
        )

    single = channels == 1
    output_json: Any = json_matrix(outputs[0]) if single else [json_matrix(o) for o in outputs]
    answer: dict[str, Any] = {
        "output": output_json,
        "shape": [out[0], out[1]] if single else [channels, *out],
        "op": op,
    }
    if x.exact:
        answer["output_exact"] = exact_strings(outputs[0]) if single else [exact_strings(o) for o in outputs]
    shown = outputs[0]
    if out[0] * out[1] <= 36:
        summary = f"{op} pooling output ({out[0]}x{out[1]}){short_matrix(shown)}"
    else:
        summary = f"{op} pooling output is {out[0]}x{out[1]}"
    if not single:
        summary = f"{channels} channels; channel 0 " + summary
    quiet = "\n\n".join(matrix_quiet(o) for o in outputs)
    inputs: dict[str, Any] = {
        "image": f"{channels}x{height}x{width}",
        "size": pair_text(size),
        "stride": pair_text(stride),
        "padding": padding if isinstance(padding, str) else pads_text(pads),
        "op": op,
        # shown only when set (the input line lists non-null settings)
        "ceil": True if ceil else None,
        "exclude_pad": True if exclude_pad and op == "avg" and not keras else None,
    }
    if keras:
        inputs["framework"] = "keras"
    return Solution(
        command="filter pool",
        inputs=inputs,
        answer=answer,
        summary=summary,
        quiet=quiet,
        steps=build,
        warnings=([] if x.exact else ["float inputs: the output is computed in float64"])
        + (
            ["--exclude-pad only changes average pooling; max pooling ignores padding anyway"]
            if exclude_pad and op == "max" and not keras
            else []
        ),
        answer_latex=fmt.latex_matrix(shown) if single and out[0] * out[1] <= 64 else "",
    )


def _pool_values(
    xp: Grid,
    inside: np.ndarray,
    size: Pair,
    stride: Pair,
    pads: Pads,
    hw: Pair,
    out: Pair,
    op: str,
    exclude_pad: bool,
) -> list[list[list[Scalar]]]:
    """Every channel's pooled output, vectorised over the windows (one array operation per window offset)."""
    import numpy as np

    def window(array: np.ndarray, a: int, b: int) -> np.ndarray:
        return array[
            ..., a : a + stride[0] * (out[0] - 1) + 1 : stride[0], b : b + stride[1] * (out[1] - 1) + 1 : stride[1]
        ]

    offsets = [(a, b) for a in range(size[0]) for b in range(size[1])]
    if op == "max":
        best = window(xp.data, 0, 0).copy()
        for a, b in offsets[1:]:
            best = np.maximum(best, window(xp.data, a, b))
        return [[[xp.value(v) for v in row] for row in channel] for channel in best.tolist()]
    total = np.zeros((xp.shape[0], *out), dtype=xp.data.dtype)
    real = np.zeros(out, dtype=np.int64)
    for a, b in offsets:
        total += window(xp.data, a, b)
        real += window(inside, a, b)
    if exclude_pad:
        divisor = real
    else:  # PyTorch: the window clipped to the padded image [−p_b, n + p_a)
        starts = [np.arange(out[axis]) * stride[axis] - pads[axis][0] for axis in (0, 1)]
        spans = [np.minimum(starts[axis] + size[axis], hw[axis] + pads[axis][1]) - starts[axis] for axis in (0, 1)]
        divisor = np.outer(spans[0], spans[1])
    divisors = divisor.tolist()
    if xp.exact:
        return [
            [
                [Fraction(int(v), xp.denominator * d) for v, d in zip(row, drow, strict=True)]
                for row, drow in zip(ch, divisors, strict=True)
            ]
            for ch in total.tolist()
        ]
    return [
        [[v / d for v, d in zip(row, drow, strict=True)] for row, drow in zip(ch, divisors, strict=True)]
        for ch in total.tolist()
    ]


def _pool_cell(
    xp: Grid,
    inside: np.ndarray,
    c: int,
    i: int,
    j: int,
    size: Pair,
    stride: Pair,
    pads: Pads,
    hw: Pair,
    op: str,
    exclude_pad: bool,
) -> str:
    """The window of output cell (c, i, j) written out: its values (padding shown), the max or sum / divisor."""
    r0, c0 = i * stride[0], j * stride[1]
    (top, bottom), (left, right) = pads
    padded_h, padded_w = hw[0] + top + bottom, hw[1] + left + right
    real: list[Scalar] = []
    shown: list[str] = []  # window entries in reading order: values, padding; not the ceil-mode overhang
    for r in range(r0, r0 + size[0]):
        for s in range(c0, c0 + size[1]):
            if inside[r, s]:
                real.append(xp.value(xp.data[c, r, s]))
                shown.append(factor(real[-1]))
            elif r < padded_h and s < padded_w and (op == "max" or not exclude_pad):
                shown.append("−∞" if op == "max" else "0")
    window_text = f"rows {r0 - top}..{r0 - top + size[0] - 1}, columns {c0 - left}..{c0 - left + size[1] - 1}"
    if op == "max":
        best = max(real)
        return f"{window_text}: max({', '.join(shown)}) = {fmt.number(best)}"
    # PyTorch: the divisor counts the window clipped to the padded image, or only real cells
    h_start, w_start = r0 - top, c0 - left
    h_end = min(h_start + size[0], hw[0] + bottom)
    w_end = min(w_start + size[1], hw[1] + right)
    divisor = len(real) if exclude_pad else (h_end - h_start) * (w_end - w_start)
    total = sum(real, Fraction(0) if xp.exact else 0.0)
    average = total / divisor
    terms = " + ".join(shown) if len(shown) <= MAX_TERMS else " + ".join([*shown[: MAX_TERMS - 2], "…", shown[-1]])
    result = fmt.number(average)
    quotient = f"{fmt.exact(total)}/{divisor}"
    middle = "" if quotient == fmt.exact(average) else f" = {quotient}"
    return f"{window_text}: ({terms}) / {divisor}{middle} = {result}"


def _pool_steps(
    x: Grid,
    xp: Grid,
    inside: np.ndarray,
    outputs: list[list[list[Scalar]]],
    geometry: Any,
    out: Pair,
    op: str,
    exclude_pad: bool,
    keras_padding: str | None,
    full: bool,
) -> list[Step]:
    channels, height, width = x.shape
    size, stride, pads, ceil = geometry.kernel, geometry.stride, geometry.padding, geometry.ceil
    (top, bottom), (left, right) = pads
    if keras_padding is not None:
        padding_text = f"padding '{keras_padding}' (TF/Keras)"
        average_text = "; SAME divides by the real cells in the window" if keras_padding == "same" else ""
    else:
        padding_text = f"padding {pads_text(pads)}"
        average_text = (
            "; padding excluded from the average"
            if exclude_pad
            else "; padding zeros counted in the average (count_include_pad)"
        )
    steps = [
        Step(
            "Image and window",
            f"{image_text(channels, height, width)}; {op} pooling, window {pair_text(size)}, "
            f"stride {pair_text(stride)}, {padding_text}"
            + (", ceil mode" if ceil else "")
            + ("" if op == "max" else average_text),
            blocks=[
                heatmap(x.channel(c), "image" + (f" channel {c}" if channels > 1 else "")) for c in range(channels)
            ],
            kind="filter.inputs",
        ),
    ]
    if keras_padding is not None:
        from dlsolve.solvers.conv_geometry import dimension_steps

        keras_geometry = geometry._replace(padding=keras_padding, framework="keras")
        lines = [step.text for step in dimension_steps(keras_geometry, [height, width])]
        steps.append(Step("Output size", "\n".join(lines), kind="filter.output-size"))
    else:
        note = "(ceil mode: a last window that would start in the right/bottom padding is dropped)" if ceil else ""
        steps.append(output_size_step(geometry, height, width, note))
    if pads != ((0, 0), (0, 0)):
        fill_text = "−∞" if op == "max" else "0"
        blocks = []
        for c in range(channels):
            rows = [
                [xp.value(v) if m else None for v, m in zip(row, mask, strict=True)]
                for row, mask in zip(xp.data[c].tolist(), inside.tolist(), strict=True)
            ]
            rows = [r[: width + left + right] for r in rows[: height + top + bottom]]
            if op != "max":
                zero: Scalar = Fraction(0) if x.exact else 0.0
                rows = [[zero if v is None else v for v in r] for r in rows]
            blocks.append(
                heatmap(
                    rows,
                    "padded image" + (f" channel {c}" if channels > 1 else ""),
                    row_start=-top,
                    col_start=-left,
                    fill_text=fill_text,
                )
            )
        steps.append(
            Step(
                "Pad the image",
                "max pooling pads with −∞ (padding never wins)"
                if op == "max"
                else "average pooling pads with 0" + (" (not counted)" if exclude_pad else ""),
                blocks=blocks,
                kind="filter.padding",
            )
        )
    formula = (
        "y[i,j] = max of the window rows i·s_h − p_top .. i·s_h − p_top + k_h − 1, columns likewise"
        if op == "max"
        else "y[i,j] = (sum of the window) / divisor; divisor = "
        + (
            "number of real input cells in the window"
            if exclude_pad
            else "window size clipped to the padded image (padding zeros count)"
        )
    )
    cells = [(c, i, j) for c in range(channels) for i in range(out[0]) for j in range(out[1])]
    shown = [cells[0]]
    if full:
        shown = cells if len(cells) <= MAX_CELLS_SHOWN else cells[:4]
    substeps = [
        Step(
            f"y[{c},{i},{j}]" if channels > 1 else f"y[{i},{j}]",
            _pool_cell(xp, inside, c, i, j, size, stride, pads, (height, width), op, exclude_pad),
            kind="filter.window",
        )
        for c, i, j in shown
    ]
    text = formula
    if len(shown) < len(cells):
        text += f"\n(one window of {len(cells)} worked out; --full writes out more)"
    steps.append(Step("Each window", text, substeps=substeps, kind="filter.windows"))
    steps.append(
        Step(
            "Output",
            f"{out[0]}x{out[1]} output" + (" per channel" if channels > 1 else ""),
            blocks=[heatmap(o, "output" + (f" channel {c}" if channels > 1 else "")) for c, o in enumerate(outputs)],
            kind="filter.output",
        )
    )
    return steps
