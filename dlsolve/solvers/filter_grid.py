"""What ``filter apply``, ``filter pool`` and ``filter transpose`` share: option values, exact/float grids,
padding, output sizes and display helpers.

Padding is per axis ``(before, after)`` (rows: top, bottom; columns: left, right); one int pads both
sides alike. Output size per axis (d the dilation, 1 for pools)::

    ⌊(n + p_b + p_a − d(k − 1) − 1)/s⌋ + 1         (d = 1: ⌊(n + 2p − k)/s⌋ + 1)

Exact inputs (ints, decimals, fractions) give exact outputs: entries are scaled to integers by a
common denominator and the sums are done in integer arithmetic (int64 when it cannot overflow,
Python integers otherwise). Float inputs (float ``.npy`` files, inputs over 10,000 entries) use float64.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import TYPE_CHECKING, Any

from dlsolve import fmt
from dlsolve.errors import BadInput
from dlsolve.solution import Heatmap, Step
from dlsolve.values import Matrix, Scalar

if TYPE_CHECKING:
    import numpy as np

    from dlsolve.solvers.conv_geometry import Geometry

STEP_KINDS = {
    "filter.inputs": "the image and the kernel (or pooling window) as given, with the settings",
    "filter.output-size": "the output-size formula per axis, substituted",
    "filter.padding": "the image padded (zeros, or −∞ for max pooling)",
    "filter.output": "the output matrix (each channel)",
    "filter.windows": "the rule for one output cell, then one worked window (with full, several)",
    "filter.window": "one window: its values and the result (products summed, or the max or average)",
}

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
#: Per axis (before, after): ((top, bottom), (left, right)).
Pads = tuple[Pair, Pair]


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


def axis_pads(padding: Sequence[int | Pair]) -> Pads:
    """Per axis (before, after) from ints (both sides alike) or pairs: ``(1, (0, 2))`` -> ``((1, 1), (0, 2))``."""
    rows, cols = (p if isinstance(p, tuple) else (p, p) for p in padding)
    return (rows[0], rows[1]), (cols[0], cols[1])


def pads_text(pads: Pads) -> str:
    """``1`` (all sides alike), ``1,0`` (per axis) or ``0:1,1:2`` (before:after per axis)."""
    if all(b == a for b, a in pads):
        return pair_text((pads[0][0], pads[1][0]))
    return ",".join(f"{b}:{a}" for b, a in pads)


def check_pads(pads: Pads) -> None:
    if min(min(pair) for pair in pads) < 0:
        raise BadInput(f"expected a padding >= 0, got {pads_text(pads)}", option="--padding")


def window_geometry(
    kind: str, kernel: Pair, stride: Pair, pads: Pads, dilation: Pair = (1, 1), ceil: bool = False
) -> Geometry:
    """The conv/pool window as :class:`~dlsolve.solvers.conv_geometry.Geometry` (explicit pads)."""
    from dlsolve.solvers.conv_geometry import Geometry

    return Geometry(kind, kernel, stride, pads, dilation, (0, 0), ceil)


def output_sizes(geometry: Geometry, height: int, width: int) -> Pair:
    from dlsolve.solvers.conv_geometry import raw_output

    out = raw_output(geometry, [height, width])
    return out[0], out[1]


def image_text(channels: int, height: int, width: int) -> str:
    """``image: 1 channel of 5x6`` (the input line of the filter commands' first step)."""
    return f"image: {channels} channel{'' if channels == 1 else 's'} of {height}x{width}"


def output_size_step(geometry: Geometry, height: int, width: int, note: str = "") -> Step:
    """The output-size formula per axis (as ``conv-shape`` writes it), in one step."""
    from dlsolve.solvers.conv_geometry import dimension_steps

    steps = dimension_steps(geometry, [height, width])
    text = "\n".join(step.text for step in steps) + (f"\n{note}" if note else "")
    return Step("Output size", text, r" \qquad ".join(step.latex for step in steps), kind="filter.output-size")


def check_geometry(height: int, width: int, kernel: Pair, pads: Pads, kernel_option: str) -> None:
    """The (dilated) kernel must fit the padded image; the padded image must stay small."""
    for axis, n, k, (before, after) in zip(("rows", "columns"), (height, width), kernel, pads, strict=True):
        if n + before + after < k:
            raise BadInput(
                f"the kernel spans {k} {axis} but the padded image only {n + before + after} "
                f"({n} + {before} + {after}); use a smaller kernel or more padding",
                option=kernel_option,
            )
    padded = (height + sum(pads[0])) * (width + sum(pads[1]))
    if padded > MAX_PADDED_ENTRIES:
        raise BadInput(f"the padded image would have {padded} entries per channel; too large", option="--padding")


def padded_grid(x: Grid, pads: Pads, fill: Any = 0) -> Grid:
    """``x`` with ``fill`` around it (pads per axis)."""
    if pads == ((0, 0), (0, 0)):
        return x
    return Grid(pad(x.data, pads[0][0], pads[0][1], pads[1][0], pads[1][1], fill), x.denominator, x.exact)


def image_and_kernel(
    image: Sequence[Matrix], kernel: Sequence[Matrix], bias: Scalar | None
) -> tuple[Grid, Grid, Scalar | None, list[str]]:
    """The image and kernel grids of ``filter apply``/``transpose`` (exact unless a float is given), the bias
    as a Fraction or a float, and the warnings. One kernel slice serves every channel (with a warning)."""
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
    force_float = not (all(m.is_exact for m in (*image, *kernel)) and not isinstance(bias, float))
    if bias is not None:
        bias = float(bias) if force_float else Fraction(bias)
    if force_float:
        warnings.append("float inputs: the output is computed in float64")
    return grid_from_channels(image, force_float), grid_from_channels(kernel, force_float), bias, warnings


def output_answer(output: list[list[Scalar]], exact: bool, bias: Scalar | None) -> tuple[str, dict[str, Any]]:
    """The summary and the answer fields every one-output filter command gives: output, shape, bias."""
    height, width = len(output), len(output[0])
    included = "" if bias is None else f", bias {fmt.exact(bias)} included"
    if height * width <= 36:
        summary = f"output ({height}x{width}{included}){short_matrix(output)}"
    else:
        summary = f"output is {height}x{width}{included}; y[0,0] = {fmt.number(output[0][0])}"
    answer: dict[str, Any] = {
        "output": json_matrix(output),
        "shape": [height, width],
        "bias": fmt.json_number(bias if bias is not None else 0),
    }
    if exact:
        answer["output_exact"] = exact_strings(output)
        answer["bias_exact"] = fmt.exact(bias if bias is not None else Fraction(0))
    return summary, answer


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
    """A small matrix as the answer box writes it, one row a line (``=`` then ``  [1, 2]`` lines);
    a large one as ``: a 9x9 matrix``. It follows the matrix's name in a summary."""
    if len(rows) * len(rows[0]) > 36:
        return f": a {len(rows)}x{len(rows[0])} matrix"
    return " =\n" + "\n".join("  " + fmt.vector(row) for row in rows)


def factor(value: Scalar) -> str:
    text = fmt.exact(value)
    return f"({text})" if text.startswith("-") or "/" in text else text
