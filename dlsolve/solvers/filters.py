"""``filter apply`` and ``filter pool``: a filter's or a pooling layer's output, with the arithmetic shown.

Conventions (PyTorch's):

* ``xcorr`` (default) is what ``torch.nn.functional.conv2d`` computes, cross-correlation:
  ``y[i, j] = Σ_c Σ_a Σ_b x_pad[c, i·s_h + a, j·s_w + b] · K[c, a, b]``.
  ``conv`` flips the kernel first (``K'[c, a, b] = K[c, k_h−1−a, k_w−1−b]``): true convolution,
  what ``scipy.signal.convolve2d`` computes.
* A bias ``b`` (one number per filter, ``conv2d``'s ``bias``) is added to every output cell after the
  sum: ``y[i, j] = Σ_c Σ_a Σ_b x_pad[…] · K[c, a, b] + bias`` (in both modes). No bias is the same as
  ``bias = 0`` (``Conv2d(..., bias=False)``). Pooling has no bias.
* Output size per axis: ``⌊(n + 2p − k)/s⌋ + 1`` (pooling with ``ceil``: ``⌈·⌉``, and the last window
  must start inside the input or the left padding).
* Pooling pads with −∞ for max; average pooling divides by the window size clipped to the padded
  image (``count_include_pad=True``, PyTorch's default) or, with ``exclude_pad``, by the number of
  real input cells in the window.
* Exact inputs (ints, decimals, fractions) give exact outputs: entries are scaled to integers by a
  common denominator and the sums are done in integer arithmetic (int64 when it cannot overflow,
  Python integers otherwise). Float inputs (float ``.npy`` files, inputs over 10,000 entries) use
  float64.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import TYPE_CHECKING, Any

from dlsolve import fmt
from dlsolve.errors import BadInput
from dlsolve.solution import Heatmap, Solution, Step
from dlsolve.values import Matrix, Scalar

if TYPE_CHECKING:
    import numpy as np

#: Largest matrix shown in full as a heatmap; larger ones show their top-left corner.
MAX_HEATMAP = 16
#: Output cells whose arithmetic is written out when no ``--cell`` is given (all of them if fewer).
MAX_CELLS_SHOWN = 16
#: At most this many products are written out in one cell's sum before it is abbreviated.
MAX_TERMS = 36
#: Bound on the padded image (entries per channel) and on the work (products), to stay fast.
MAX_PADDED_ENTRIES = 4_000_000
MAX_PRODUCTS = 50_000_000
#: Largest entry accepted: products and sums stay far inside float range (JSON has no inf).
MAX_MAGNITUDE = 10**100

Pair = tuple[int, int]


# --------------------------------------------------------------------------- option values


def axis_pair(values: Sequence[int], option: str) -> Pair:
    """One value for both axes or two values ``(rows, cols)``."""
    if len(values) == 1:
        return (values[0], values[0])
    if len(values) == 2:
        return (values[0], values[1])
    raise BadInput(f"expected one whole number or two (rows,cols), got {len(values)}", option=option)


def pair_text(pair: Pair) -> str:
    """``2`` when both axes agree, else ``2,1``."""
    return str(pair[0]) if pair[0] == pair[1] else f"{pair[0]},{pair[1]}"


# --------------------------------------------------------------------------- exact/float grids


@dataclass(frozen=True)
class Grid:
    """A C x H x W stack of numbers.

    Exact grids hold integers ``data`` (int64, or Python ints in an object array) with one common
    ``denominator``: entry = data / denominator. Float grids hold float64 and denominator 1.
    """

    data: np.ndarray
    denominator: int
    exact: bool

    @property
    def shape(self) -> tuple[int, int, int]:
        return (int(self.data.shape[0]), int(self.data.shape[1]), int(self.data.shape[2]))

    def value(self, raw: Any) -> Scalar:
        """A raw array entry as an exact Fraction (exact grids) or a float."""
        if self.exact:
            return Fraction(int(raw), self.denominator)
        return float(raw)

    def channel(self, index: int) -> list[list[Scalar]]:
        return [[self.value(v) for v in row] for row in self.data[index].tolist()]


def check_magnitude(channels: Sequence[Matrix], option: str) -> None:
    """Refuse entries above :data:`MAX_MAGNITUDE` (their products would not fit a JSON float)."""
    import numpy as np

    for m in channels:
        biggest = float(np.max(np.abs(m.array))) if m.array is not None else max(abs(v) for r in m.rows for v in r)
        if biggest > MAX_MAGNITUDE:
            raise BadInput(f"entries must be at most 1e100 in size, got {fmt.decimal(biggest)}", option=option)


def grid_from_channels(channels: Sequence[Matrix], force_float: bool = False) -> Grid:
    """A :class:`Grid` from parsed matrices: exact when every entry is exact."""
    import numpy as np

    if force_float or not all(m.is_exact for m in channels):
        return Grid(np.stack([m.to_numpy() for m in channels]), 1, False)
    denominator = 1
    for m in channels:
        for row in m.rows:
            for v in row:
                denominator = math.lcm(denominator, v.denominator)  # type: ignore[union-attr]
    ints = [[[int(v * denominator) for v in row] for row in m.rows] for m in channels]
    biggest = max(abs(v) for channel in ints for row in channel for v in row)
    dtype = np.int64 if biggest < 2**62 else object
    return Grid(np.array(ints, dtype=dtype), denominator, True)


def grid_from_rows(rows: Sequence[Sequence[Scalar]]) -> Grid:
    """A one-channel grid from nested rows (Fractions or floats)."""
    return grid_from_channels([Matrix(rows=tuple(tuple(r) for r in rows))])


def _as_float(grid: Grid) -> Grid:
    import numpy as np

    if not grid.exact:
        return grid
    return Grid(np.vectorize(lambda v: v / grid.denominator, otypes=[np.float64])(grid.data), 1, False)


def _compatible(x: Grid, k: Grid, terms: int) -> tuple[np.ndarray, np.ndarray, bool]:
    """Arrays of a common type for ``Σ x·k`` over ``terms`` products (exact unless a float is present)."""
    if not (x.exact and k.exact):
        return _as_float(x).data, _as_float(k).data, False
    import numpy as np

    bound = int(np.max(np.abs(x.data))) * int(np.max(np.abs(k.data))) * terms
    if x.data.dtype == np.int64 and k.data.dtype == np.int64 and bound < 2**62:
        return x.data, k.data, True
    return x.data.astype(object), k.data.astype(object), True


def pad(data: np.ndarray, top: int, bottom: int, left: int, right: int, fill: Any) -> np.ndarray:
    """``data`` (C x H x W) surrounded by ``fill``."""
    import numpy as np

    channels, height, width = data.shape
    padded = np.full((channels, height + top + bottom, width + left + right), fill, dtype=data.dtype)
    padded[:, top : top + height, left : left + width] = data
    return padded


def conv_output_size(size: int, kernel: int, stride: int, padding: int) -> int:
    """``⌊(n + 2p − k)/s⌋ + 1`` (the caller checks ``n + 2p >= k``)."""
    return (size + 2 * padding - kernel) // stride + 1


def pool_output_size(size: int, kernel: int, stride: int, padding: int, ceil: bool) -> int:
    """PyTorch's pooling output size, with ``ceil_mode`` and its last-window rule."""
    span = size + 2 * padding - kernel
    out = (-(-span // stride) if ceil else span // stride) + 1
    if ceil and (out - 1) * stride >= size + padding:
        out -= 1
    return out


# --------------------------------------------------------------------------- display helpers


def heatmap(
    rows: Sequence[Sequence[Scalar]], title: str, *, row_start: int = 0, col_start: int = 0, fill_text: str = ""
) -> Heatmap:
    """A heatmap block of ``rows`` (top-left corner only when large); ``None`` entries show ``fill_text``."""
    height, width = len(rows), len(rows[0]) if rows else 0
    shown_h, shown_w = min(height, MAX_HEATMAP), min(width, MAX_HEATMAP)
    if (shown_h, shown_w) != (height, width):
        title = f"{title} (top-left {shown_h}x{shown_w} of {height}x{width})"
    finite = [float(v) for row in rows[:shown_h] for v in row[:shown_w] if v is not None]
    low = min(finite) if finite else 0.0
    values = [[low if v is None else float(v) for v in row[:shown_w]] for row in rows[:shown_h]]
    cells = [[fill_text if v is None else fmt.exact(v) for v in row[:shown_w]] for row in rows[:shown_h]]
    return Heatmap(
        values=values,
        cells=cells,
        title=title,
        row_labels=[str(row_start + i) for i in range(shown_h)],
        col_labels=[str(col_start + j) for j in range(shown_w)],
    )


def matrix_quiet(rows: Sequence[Sequence[Scalar]]) -> str:
    """Rows of space-separated exact numbers, one line per row."""
    return "\n".join(" ".join(fmt.exact(v) for v in row) for row in rows)


def json_matrix(rows: Sequence[Sequence[Scalar]]) -> list[list[int | float]]:
    return [[fmt.json_number(v) for v in row] for row in rows]


def exact_strings(rows: Sequence[Sequence[Scalar]]) -> list[list[str]]:
    return [[fmt.exact(v) for v in row] for row in rows]


def short_matrix(rows: Sequence[Sequence[Scalar]]) -> str:
    """``[[1, 2], [3, 4]]`` for small matrices, else its shape."""
    if len(rows) * len(rows[0]) > 36:
        return f"a {len(rows)}x{len(rows[0])} matrix"
    return "[" + ", ".join(fmt.vector(row) for row in rows) + "]"


def _signed_term(index: int, text: str) -> str:
    if index == 0:
        return text
    return f"− {text[1:]}" if text.startswith("-") else f"+ {text}"


def _factor(value: Scalar) -> str:
    text = fmt.exact(value)
    return f"({text})" if text.startswith("-") or "/" in text else text


# --------------------------------------------------------------------------- filter apply


def _output_size_step(
    height: int, width: int, kernel: Pair, stride: Pair, padding: Pair, out: Pair, *, ceil: bool = False
) -> Step:
    bracket = ("⌈", "⌉") if ceil else ("⌊", "⌋")
    lines, latex = [], []
    for axis, n, k, s, p, o in zip(("H", "W"), (height, width), kernel, stride, padding, out, strict=True):
        span = n + 2 * p - k
        lines.append(
            f"{axis}_out = {bracket[0]}({axis} + 2·p − k)/s{bracket[1]} + 1 = {bracket[0]}({n} + 2·{p} − {k})/{s}"
            f"{bracket[1]} + 1 = {bracket[0]}{span}/{s}{bracket[1]} + 1 = {o}"
        )
        function = "lceil" if ceil else "lfloor"
        close = "rceil" if ceil else "rfloor"
        latex.append(f"{axis}_{{out}} = \\{function} \\frac{{{n} + 2 \\cdot {p} - {k}}}{{{s}}} \\{close} + 1 = {o}")
    if ceil:
        lines.append("(ceil mode: a last window that would start in the right/bottom padding is dropped)")
    return Step("Output size", "\n".join(lines), r" \qquad ".join(latex))


def _check_geometry(height: int, width: int, kernel: Pair, padding: Pair, kernel_option: str) -> None:
    for axis, n, k, p in zip(("rows", "columns"), (height, width), kernel, padding, strict=True):
        if n + 2 * p < k:
            raise BadInput(
                f"the kernel has {k} {axis} but the padded image only {n + 2 * p} ({n} + 2·{p}); "
                "use a smaller kernel or more padding",
                option=kernel_option,
            )
    padded = (height + 2 * padding[0]) * (width + 2 * padding[1])
    if padded > MAX_PADDED_ENTRIES:
        raise BadInput(f"the padded image would have {padded} entries per channel; too large", option="--padding")


def _cell_terms(
    xp: Grid, kernel: Grid, i: int, j: int, stride: Pair
) -> tuple[list[tuple[int, list[str], Scalar]], Scalar]:
    """Per channel: (channel, product texts, channel sum) for output cell (i, j); and the total."""
    _, kh, kw = kernel.shape
    per_channel = []
    total: Scalar = Fraction(0) if xp.exact and kernel.exact else 0.0
    for c in range(kernel.shape[0]):
        texts, subtotal = [], Fraction(0) if xp.exact and kernel.exact else 0.0
        for a in range(kh):
            for b in range(kw):
                xv = xp.value(xp.data[c, i * stride[0] + a, j * stride[1] + b])
                kv = kernel.value(kernel.data[c, a, b])
                texts.append(f"{_factor(xv)}·{_factor(kv)}")
                subtotal += xv * kv
        per_channel.append((c, texts, subtotal))
        total += subtotal
    return per_channel, total


def _sum_text(texts: list[str]) -> str:
    if len(texts) > MAX_TERMS:
        texts = [*texts[: MAX_TERMS - 2], "…", texts[-1]]
    return " + ".join(texts)


def _cell_step(
    xp: Grid, kernel: Grid, i: int, j: int, stride: Pair, padding: Pair, *, full: bool, bias: Scalar | None = None
) -> Step:
    """Output cell (i, j) written out: window, products and their sum; with a bias, ``... + bias = s + b = y``."""
    _, kh, kw = kernel.shape
    r0, c0 = i * stride[0] - padding[0], j * stride[1] - padding[1]
    per_channel, total = _cell_terms(xp, kernel, i, j, stride)
    where = f"window rows {r0}..{r0 + kh - 1}, columns {c0}..{c0 + kw - 1} (image coordinates)"
    lines = [where]
    blocks = []
    single = len(per_channel) == 1
    for c, texts, subtotal in per_channel:
        label = "" if single else f"channel {c}: "
        if single and bias is not None:
            lines.append(f"{_sum_text(texts)} + bias = {_plus_bias(subtotal, bias)}")
        else:
            lines.append(f"{label}{_sum_text(texts)} = {fmt.exact(subtotal)}")
        if full:
            rows = range(i * stride[0], i * stride[0] + kh)
            cols = range(j * stride[1], j * stride[1] + kw)
            window = [[xp.value(xp.data[c, r, s]) for s in cols] for r in rows]
            products = [[window[a][b] * kernel.value(kernel.data[c, a, b]) for b in range(kw)] for a in range(kh)]
            suffix = f" (channel {c})" if len(per_channel) > 1 else ""
            blocks.append(heatmap(window, f"window{suffix}", row_start=r0, col_start=c0))
            blocks.append(heatmap(products, f"window ⊙ kernel{suffix}", row_start=r0, col_start=c0))
    if not single:
        channel_sums = " + ".join(_factor(s) for _, _, s in per_channel)
        if bias is None:
            lines.append(f"sum over channels: {channel_sums} = {fmt.exact(total)}")
        else:
            lines.append(f"sum over channels + bias: {channel_sums} + bias = {_plus_bias(total, bias)}")
    if bias is not None:
        total = total + bias
    lines.append(f"y[{i},{j}] = {fmt.number(total)}")
    return Step(f"y[{i},{j}]", "\n".join(lines), blocks=blocks)


def _plus_bias(subtotal: Scalar, bias: Scalar) -> str:
    """``s + b = y`` with exact numbers (a negative bias in parentheses)."""
    return f"{fmt.exact(subtotal)} + {_factor(bias)} = {fmt.exact(subtotal + bias)}"


def correlate(x: Grid, kernel: Grid, stride: Pair, out: Pair, bias: Scalar | None = None) -> list[list[Scalar]]:
    """``y[i,j] = Σ_c Σ_a Σ_b x[c, i·s_h + a, j·s_w + b] · K[c,a,b] + bias`` over an already padded ``x``.

    The bias (``None``: none) is added to every cell after the sum, as ``conv2d`` does; exact grids
    add it as a Fraction, float grids as a float.
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
        if bias:
            shift = Fraction(bias)
            return [[Fraction(int(v), denominator) + shift for v in row] for row in total.tolist()]
        return [[Fraction(int(v), denominator) for v in row] for row in total.tolist()]
    if bias:
        shift_float = float(bias)
        return [[float(v) + shift_float for v in row] for row in total.tolist()]
    return [[float(v) for v in row] for row in total.tolist()]


def apply_filter(
    image: Sequence[Matrix],
    kernel: Sequence[Matrix],
    *,
    stride: Pair = (1, 1),
    padding: Pair = (0, 0),
    mode: str = "xcorr",
    cell: tuple[int, int] | None = None,
    kernel_name: str | None = None,
    bias: Scalar | None = None,
) -> Solution:
    """Apply ``kernel`` to ``image`` as a conv layer does (one output channel, summed over input channels).

    ``mode="xcorr"``: ``y[i,j] = Σ_c Σ_a Σ_b x_pad[c, i·s_h+a, j·s_w+b]·K[c,a,b] + bias`` (PyTorch
    ``conv2d(input, weight, bias)``); ``mode="conv"``: the same with the kernel rotated by 180° (true
    convolution, SciPy convolve2d, then the bias). ``bias=None`` adds nothing (``bias=False``).
    """
    import numpy as np

    if min(stride) < 1:
        raise BadInput(f"expected a stride >= 1, got {pair_text(stride)}", option="--stride")
    if min(padding) < 0:
        raise BadInput(f"expected a padding >= 0, got {pair_text(padding)}", option="--padding")
    check_magnitude(image, "--image")
    check_magnitude(kernel, "--kernel")
    if bias is not None and not abs(bias) <= MAX_MAGNITUDE:  # also refuses NaN
        raise BadInput(f"the bias must be at most 1e100 in size, got {fmt.decimal(bias)}", option="--bias")
    warnings = []
    if len(kernel) != len(image):
        if len(kernel) != 1:
            raise BadInput(
                f"the kernel has {len(kernel)} channel slices but the image has {len(image)} channels; "
                "give one slice per channel (separated by ';;') or one slice for all",
                option="--kernel",
            )
        kernel = list(kernel) * len(image)
        warnings.append(f"the one kernel slice is used for each of the {len(image)} channels and the results summed")
    force_float = not (
        all(m.is_exact for m in image) and all(m.is_exact for m in kernel) and not isinstance(bias, float)
    )
    x = grid_from_channels(image, force_float)
    k = grid_from_channels(kernel, force_float)
    if bias is not None:
        bias = float(bias) if force_float else Fraction(bias)
    channels, height, width = x.shape
    _, kh, kw = k.shape
    _check_geometry(height, width, (kh, kw), padding, "--kernel")
    out = (
        conv_output_size(height, kh, stride[0], padding[0]),
        conv_output_size(width, kw, stride[1], padding[1]),
    )
    if out[0] * out[1] * channels * kh * kw > MAX_PRODUCTS:
        raise BadInput("this needs more than 50 million products; use a smaller image or kernel", option="--image")
    if cell is not None and not (0 <= cell[0] < out[0] and 0 <= cell[1] < out[1]):
        raise BadInput(
            f"cell {cell[0]},{cell[1]} is outside the {out[0]}x{out[1]} output (rows 0..{out[0] - 1}, "
            f"columns 0..{out[1] - 1})",
            option="--cell",
        )
    steps = []
    kernel_label = f"{kernel_name} " if kernel_name else ""
    input_blocks = []
    for c in range(channels):
        suffix = f" channel {c}" if channels > 1 else ""
        input_blocks.append(heatmap(x.channel(c), f"image{suffix}"))
    for c in range(channels):
        suffix = f" slice {c}" if channels > 1 else ""
        input_blocks.append(heatmap(k.channel(c), " ".join(filter(None, ["kernel", kernel_name, suffix.strip()]))))
    steps.append(
        Step(
            "Image and kernel",
            f"image: {channels} channel(s) of {height}x{width}; kernel {kernel_label}{kh}x{kw}"
            f"{' per channel' if channels > 1 else ''}; stride {pair_text(stride)}; padding {pair_text(padding)}"
            + ("" if bias is None else f"; bias {fmt.number(bias)} (added to every output cell)")
            + "\n"
            + (
                "mode xcorr: cross-correlation, what a conv layer (PyTorch conv2d) computes; the kernel is not flipped"
                if mode == "xcorr"
                else "mode conv: true convolution; the kernel is rotated by 180° first"
            ),
            blocks=input_blocks,
        )
    )
    if mode == "conv":
        k = Grid(np.ascontiguousarray(k.data[:, ::-1, ::-1]), k.denominator, k.exact)
        steps.append(
            Step(
                "Flip the kernel (true convolution)",
                "K'[a,b] = K[k_h−1−a, k_w−1−b]: the kernel rotated by 180°, then slid as in cross-correlation",
                "K'_{a,b} = K_{k_h-1-a,\\,k_w-1-b}",
                blocks=[
                    heatmap(k.channel(c), "flipped kernel" + (f" slice {c}" if channels > 1 else ""))
                    for c in range(channels)
                ],
            )
        )
    steps.append(_output_size_step(height, width, (kh, kw), stride, padding, out))
    xp = x
    if padding != (0, 0):
        xp = Grid(pad(x.data, padding[0], padding[0], padding[1], padding[1], 0), x.denominator, x.exact)
        steps.append(
            Step(
                "Pad the image with zeros",
                f"{padding[0]} row(s) of zeros above and below, {padding[1]} column(s) left and right: "
                f"{height + 2 * padding[0]}x{width + 2 * padding[1]} per channel (labels are image coordinates)",
                blocks=[
                    heatmap(
                        xp.channel(c),
                        "padded image" + (f" channel {c}" if channels > 1 else ""),
                        row_start=-padding[0],
                        col_start=-padding[1],
                    )
                    for c in range(channels)
                ],
            )
        )
    output = correlate(xp, k, stride, out, bias)
    steps.append(_cells_step(xp, k, stride, padding, out, cell, bias))
    output_text = f"{out[0]}x{out[1]} output"
    if bias is not None:
        output_text += f" = (x ⋆ K) + bias: the bias {fmt.number(bias)} is included in every cell"
    steps.append(Step("Output", output_text, blocks=[heatmap(output, "output")]))
    if out[0] * out[1] <= 36:
        summary = f"output ({out[0]}x{out[1]}): {short_matrix(output)}"
    else:
        summary = f"output is {out[0]}x{out[1]}; y[0,0] = {fmt.number(output[0][0])}"
    if bias is not None:
        summary += f" (bias {fmt.exact(bias)} included)"
    answer: dict[str, Any] = {
        "output": json_matrix(output),
        "shape": [out[0], out[1]],
        "mode": mode,
        "bias": fmt.json_number(bias if bias is not None else 0),
    }
    if x.exact and k.exact:
        answer["output_exact"] = exact_strings(output)
        answer["bias_exact"] = fmt.exact(bias if bias is not None else Fraction(0))
    else:
        warnings.append("float inputs: the output is computed in float64")
    if cell is not None:
        answer["cell"] = {"index": list(cell), "value": fmt.json_number(output[cell[0]][cell[1]])}
    return Solution(
        command="filter apply",
        inputs={
            "image": f"{channels}x{height}x{width}",
            "kernel": f"{kernel_label}{kh}x{kw}",
            "stride": pair_text(stride),
            "padding": pair_text(padding),
            "mode": mode,
            **({} if bias is None else {"bias": fmt.exact(bias)}),
        },
        answer=answer,
        summary=summary,
        quiet=matrix_quiet(output),
        steps=steps,
        warnings=warnings,
        answer_latex=fmt.latex_matrix(output) if out[0] * out[1] <= 64 else "",
    )


def _cells_step(
    xp: Grid,
    k: Grid,
    stride: Pair,
    padding: Pair,
    out: Pair,
    cell: tuple[int, int] | None,
    bias: Scalar | None = None,
) -> Step:
    """``y[i,j] = Σ_c Σ_a Σ_b x_pad[c, i·s_h + a, j·s_w + b] · K[c,a,b] (+ bias)`` and a few cells written out."""
    channels = k.shape[0]
    formula = (
        "y[i,j] = Σ_c Σ_a Σ_b x_pad[c, i·s_h + a, j·s_w + b] · K[c,a,b]"
        if channels > 1
        else "y[i,j] = Σ_a Σ_b x_pad[i·s_h + a, j·s_w + b] · K[a,b]"
    )
    if bias is not None:
        formula += (
            f" + bias, with bias = {fmt.number(bias)}: one number per filter (conv2d's bias), "
            "added to every output cell"
        )
    cells = [(i, j) for i in range(out[0]) for j in range(out[1])]
    shown = cells if len(cells) <= MAX_CELLS_SHOWN else cells[:3]
    substeps = [
        _cell_step(xp, k, i, j, stride, padding, full=(i, j) == cell, bias=bias) for i, j in shown if (i, j) != cell
    ]
    if cell is not None:
        substeps.insert(0, _cell_step(xp, k, cell[0], cell[1], stride, padding, full=True, bias=bias))
    text = (
        formula + f"\nwith stride ({stride[0]}, {stride[1]}): window (i, j) starts at padded row i·{stride[0]}, "
        f"column j·{stride[1]}"
    )
    if len(shown) < len(cells):
        text += f"\n(showing {len(shown)} of {len(cells)} cells; --cell i,j writes out any cell in full)"
    latex = r"y_{i,j} = \sum_{c}\sum_{a}\sum_{b} x^{pad}_{c,\, i s_h + a,\, j s_w + b}\, K_{c,a,b}"
    if bias is not None:
        latex += r" + \mathrm{bias}"
    title = "Each output cell: window · kernel, summed" + (", plus the bias" if bias is not None else "")
    return Step(title, text, latex, substeps=substeps)


# --------------------------------------------------------------------------- filter pool


def pool(
    image: Sequence[Matrix],
    *,
    size: Pair = (2, 2),
    stride: Pair | None = None,
    padding: Pair = (0, 0),
    op: str = "max",
    ceil: bool = False,
    exclude_pad: bool = False,
) -> Solution:
    """Max or average pooling per channel, with PyTorch's rules (``max_pool2d``/``avg_pool2d``).

    Window (i, j) covers padded rows ``i·s_h .. i·s_h + k_h − 1`` (and columns likewise). Max pooling
    pads with −∞. Average pooling divides the window sum by the window size clipped to the padded
    image (``count_include_pad=True``) or, with ``exclude_pad``, by the real input cells it covers.
    The stride defaults to the window size.
    """
    import numpy as np

    stride = stride or size
    if min(size) < 1:
        raise BadInput(f"expected a window size >= 1, got {pair_text(size)}", option="--size")
    if min(stride) < 1:
        raise BadInput(f"expected a stride >= 1, got {pair_text(stride)}", option="--stride")
    if min(padding) < 0:
        raise BadInput(f"expected a padding >= 0, got {pair_text(padding)}", option="--padding")
    for k, p in zip(size, padding, strict=True):
        if 2 * p > k:
            raise BadInput(
                f"padding {p} is more than half the window size {k} (PyTorch requires padding <= size/2)",
                option="--padding",
            )
    check_magnitude(image, "--image")
    x = grid_from_channels(image)
    channels, height, width = x.shape
    _check_geometry(height, width, size, padding, "--size")
    out = (
        pool_output_size(height, size[0], stride[0], padding[0], ceil),
        pool_output_size(width, size[1], stride[1], padding[1], ceil),
    )
    # the padded image, extended bottom/right so that every (ceil-mode) window is in range
    extra = (
        max(0, (out[0] - 1) * stride[0] + size[0] - height - 2 * padding[0]),
        max(0, (out[1] - 1) * stride[1] + size[1] - width - 2 * padding[1]),
    )
    inside = pad(
        np.ones((1, height, width), dtype=bool),
        padding[0],
        padding[0] + extra[0],
        padding[1],
        padding[1] + extra[1],
        False,
    )[0]
    if op == "max":
        fill: Any = -math.inf if not x.exact else int(np.min(x.data)) - 1
        data = pad(x.data, padding[0], padding[0] + extra[0], padding[1], padding[1] + extra[1], fill)
    else:
        data = pad(x.data, padding[0], padding[0] + extra[0], padding[1], padding[1] + extra[1], 0)
        if x.exact and data.dtype != object:
            bound = int(np.max(np.abs(x.data))) * size[0] * size[1]
            data = data if bound < 2**62 else data.astype(object)
    xp = Grid(data, x.denominator, x.exact)
    outputs = _pool_values(xp, inside, size, stride, padding, (height, width), out, op, exclude_pad)
    steps = _pool_steps(x, xp, inside, outputs, size, stride, padding, out, op, ceil, exclude_pad)
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
        summary = f"{op} pooling output ({out[0]}x{out[1]}): {short_matrix(shown)}"
    else:
        summary = f"{op} pooling output is {out[0]}x{out[1]}"
    if not single:
        summary = f"{channels} channels; channel 0 " + summary
    quiet = "\n\n".join(matrix_quiet(o) for o in outputs)
    return Solution(
        command="filter pool",
        inputs={
            "image": f"{channels}x{height}x{width}",
            "size": pair_text(size),
            "stride": pair_text(stride),
            "padding": pair_text(padding),
            "op": op,
            "ceil": ceil,
            "exclude_pad": exclude_pad,
        },
        answer=answer,
        summary=summary,
        quiet=quiet,
        steps=steps,
        warnings=([] if x.exact else ["float inputs: the output is computed in float64"])
        + (
            ["--exclude-pad only changes average pooling; max pooling ignores padding anyway"]
            if exclude_pad and op == "max"
            else []
        ),
        answer_latex=fmt.latex_matrix(shown) if single and out[0] * out[1] <= 64 else "",
    )


def _pool_values(
    xp: Grid,
    inside: np.ndarray,
    size: Pair,
    stride: Pair,
    padding: Pair,
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
    else:  # PyTorch: the window clipped to the padded image [−p, n + p)
        starts = [np.arange(out[axis]) * stride[axis] - padding[axis] for axis in (0, 1)]
        spans = [np.minimum(starts[axis] + size[axis], hw[axis] + padding[axis]) - starts[axis] for axis in (0, 1)]
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
    padding: Pair,
    hw: Pair,
    op: str,
    exclude_pad: bool,
) -> str:
    """The window of output cell (c, i, j) written out: its values (padding shown), the max or sum / divisor."""
    r0, c0 = i * stride[0], j * stride[1]
    padded_h, padded_w = hw[0] + 2 * padding[0], hw[1] + 2 * padding[1]
    real: list[Scalar] = []
    shown: list[str] = []  # window entries in reading order: values, padding; not the ceil-mode overhang
    for r in range(r0, r0 + size[0]):
        for s in range(c0, c0 + size[1]):
            if inside[r, s]:
                real.append(xp.value(xp.data[c, r, s]))
                shown.append(_factor(real[-1]))
            elif r < padded_h and s < padded_w and (op == "max" or not exclude_pad):
                shown.append("−∞" if op == "max" else "0")
    window_text = (
        f"rows {r0 - padding[0]}..{r0 - padding[0] + size[0] - 1}, "
        f"columns {c0 - padding[1]}..{c0 - padding[1] + size[1] - 1}"
    )
    if op == "max":
        best = max(real)
        return f"{window_text}: max({', '.join(shown)}) = {fmt.number(best)}"
    # PyTorch: the divisor counts the window clipped to the padded image (H + 2p), or only real cells
    h_start, w_start = r0 - padding[0], c0 - padding[1]
    h_end = min(h_start + size[0], hw[0] + padding[0])
    w_end = min(w_start + size[1], hw[1] + padding[1])
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
    size: Pair,
    stride: Pair,
    padding: Pair,
    out: Pair,
    op: str,
    ceil: bool,
    exclude_pad: bool,
) -> list[Step]:
    channels, height, width = x.shape
    steps = [
        Step(
            "Image and window",
            f"image: {channels} channel(s) of {height}x{width}; {op} pooling, window {pair_text(size)}, "
            f"stride {pair_text(stride)}, padding {pair_text(padding)}"
            + (", ceil mode" if ceil else "")
            + (
                ""
                if op == "max"
                else (
                    "; padding excluded from the average"
                    if exclude_pad
                    else "; padding zeros counted in the average (count_include_pad)"
                )
            ),
            blocks=[
                heatmap(x.channel(c), "image" + (f" channel {c}" if channels > 1 else "")) for c in range(channels)
            ],
        ),
        _output_size_step(height, width, size, stride, padding, out, ceil=ceil),
    ]
    if padding != (0, 0):
        fill_text = "−∞" if op == "max" else "0"
        blocks = []
        for c in range(channels):
            rows = [
                [xp.value(v) if m else None for v, m in zip(row, mask, strict=True)]
                for row, mask in zip(xp.data[c].tolist(), inside.tolist(), strict=True)
            ]
            rows = [r[: width + 2 * padding[1]] for r in rows[: height + 2 * padding[0]]]
            if op != "max":
                zero: Scalar = Fraction(0) if x.exact else 0.0
                rows = [[zero if v is None else v for v in r] for r in rows]
            blocks.append(
                heatmap(
                    rows,
                    "padded image" + (f" channel {c}" if channels > 1 else ""),
                    row_start=-padding[0],
                    col_start=-padding[1],
                    fill_text=fill_text,
                )
            )
        steps.append(
            Step(
                "Pad the image",
                "max pooling pads with −∞ (padding never wins)" if op == "max" else "average pooling pads with 0",
                blocks=blocks,
            )
        )
    formula = (
        "y[i,j] = max of the window rows i·s_h − p_h .. i·s_h − p_h + k_h − 1, columns likewise"
        if op == "max"
        else "y[i,j] = (sum of the window) / divisor; divisor = "
        + (
            "number of real input cells in the window"
            if exclude_pad
            else "window size clipped to the padded image (padding zeros count)"
        )
    )
    cells = [(c, i, j) for c in range(channels) for i in range(out[0]) for j in range(out[1])]
    shown = cells if len(cells) <= MAX_CELLS_SHOWN else cells[:4]
    substeps = [
        Step(
            f"y[{c},{i},{j}]" if channels > 1 else f"y[{i},{j}]",
            _pool_cell(xp, inside, c, i, j, size, stride, padding, (height, width), op, exclude_pad),
        )
        for c, i, j in shown
    ]
    text = formula
    if len(shown) < len(cells):
        text += f"\n(showing {len(shown)} of {len(cells)} windows)"
    steps.append(Step("Each window", text, substeps=substeps))
    steps.append(
        Step(
            "Output",
            f"{out[0]}x{out[1]} per channel",
            blocks=[heatmap(o, "output" + (f" channel {c}" if channels > 1 else "")) for c, o in enumerate(outputs)],
        )
    )
    return steps
