"""The arithmetic of the normalization layers, exact where the inputs are exact.

Every normalization layer reduces to the same computation on a 2-D view ``rows`` of the input: one
row per statistic (a channel for batch norm, a sample for layer norm, a (sample, group) for group
norm, a (sample, channel) for instance norm), the entries it normalizes along the row::

    μ = (1/M)·Σ x                 σ² = (1/M)·Σ (x − μ)²   (biased: divide by M)
    x̂ = (x − μ)/√(σ² + ε)         y = γ·x̂ + β

RMSNorm skips the mean: ``x̂ = x/√((1/M)·Σ x² + ε)``. Arrays are NumPy arrays of ``Fraction``
(dtype object) for exact inputs, float64 otherwise; √ stays exact where σ² + ε is the square of a
rational and becomes a float elsewhere (so x̂ and y are floats there, and exact otherwise).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from typing import TYPE_CHECKING, Any

from dlsolve import fmt

if TYPE_CHECKING:
    import numpy as np

Value = Fraction | float


def exact_sqrt(value: Value) -> Value:
    """√value: a Fraction when ``value`` is the square of a rational, else a float."""
    if isinstance(value, Fraction) and value >= 0:
        top, bottom = math.isqrt(value.numerator), math.isqrt(value.denominator)
        if top * top == value.numerator and bottom * bottom == value.denominator:
            return Fraction(top, bottom)
    return math.sqrt(value)


#: Longest exact radicand written out (``√(26/3)``); longer ones (``800003/300000``, σ² + ε with a
#: small ε) are shown as decimals.
MAX_RADICAND = 9

_SUPERSCRIPT = str.maketrans("0123456789-", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻")


def decimal_text(value: Value, digits: int = fmt.DECIMAL_DIGITS) -> str:
    """A short decimal as a board writes it: ``−1.22474``, ``4.99993·10⁻⁶``, ``10⁻⁵`` (never ``1e-5``)."""
    mantissa, _, exponent = fmt.decimal(value, digits).partition("e")
    if exponent:
        power = "10" + exponent.translate(_SUPERSCRIPT)
        mantissa = {"1": "", "-1": "-"}.get(mantissa, mantissa + "·")
        return (mantissa + power).replace("-", "−")
    return mantissa.replace("-", "−")


def decimal_latex(value: Value, digits: int = fmt.DECIMAL_DIGITS) -> str:
    """A short decimal in LaTeX: ``-1.22474``, ``4.99993 \\cdot 10^{-6}``, ``10^{-5}``."""
    mantissa, _, exponent = fmt.decimal(value, digits).partition("e")
    if exponent:
        mantissa = {"1": "", "-1": "-"}.get(mantissa, mantissa + r" \cdot ")
        return f"{mantissa}10^{{{exponent}}}"
    return mantissa


def root_text(value: Value, longest: int | None = MAX_RADICAND) -> str:
    """√value as an expression: ``2``, ``8/3`` (exact roots), ``√(8/3)``, or a decimal when the
    radicand is longer than ``longest`` characters (None: never)."""
    root = exact_sqrt(value)
    if isinstance(root, Fraction):
        return fmt.exact(root)
    inner = fmt.exact(value) if isinstance(value, Fraction) else ""
    if not inner or (longest is not None and len(inner) > longest):
        return decimal_text(root)
    return f"√{inner}" if inner.isdigit() else f"√({inner})"


def sqrt_text(value: Value) -> str:
    """``√(8/3) ≈ 1.63299``, ``2`` or ``2/3 ≈ 0.666667`` (exact roots), or a decimal when long."""
    root = exact_sqrt(value)
    if isinstance(root, Fraction):
        return fmt.number(root).replace("-", "−")
    text = root_text(value)
    return text if not text.startswith("√") else f"{text} ≈ {decimal_text(root)}"


def sqrt_latex(value: Value) -> str:
    root = exact_sqrt(value)
    if isinstance(root, Fraction) or not isinstance(value, Fraction) or len(fmt.exact(value)) > MAX_RADICAND:
        return fmt.latex_number(root) if isinstance(root, Fraction) else decimal_latex(root)
    return f"\\sqrt{{{fmt.latex_number(value)}}} \\approx {decimal_latex(root)}"


def cell(value: Value) -> str:
    """A short table cell: an exact value when it is short, else about six significant digits."""
    if isinstance(value, Fraction):
        text = fmt.exact(value).replace("-", "−")
        return text if len(text) <= 9 else decimal_text(value)
    return decimal_text(value)


def vector_text(values: Any) -> str:
    """``[0.3, 1/3, 1.22474]``: short cells of a list or an array (flattened)."""
    flat = values.flat if hasattr(values, "flat") else values
    return "[" + ", ".join(cell(v) for v in flat) + "]"


#: Most entries an answer line writes out (a larger array is named by its shape there).
MAX_ANSWER_ENTRIES = 36


def nested_text(array: np.ndarray) -> str:
    """``[1, 2; 3, 4]`` (rows split by ``;``) with short cells, ``[[1, 2; 3, 4], [5, 6; 7, 8]]`` for 3-D;
    ``[3×4×5 array]`` beyond :data:`MAX_ANSWER_ENTRIES`."""
    if array.size > MAX_ANSWER_ENTRIES:
        return "[" + "×".join(map(str, array.shape)) + " array]"
    if array.ndim == 1:
        return vector_text(array)
    if array.ndim > 2:  # one matrix (by rows) per leading index
        return "[" + ", ".join(nested_text(item) for item in array) + "]"
    return "[" + "; ".join(", ".join(cell(v) for v in row) for row in array) + "]"


def latex_answer(parts: list[tuple[str, Any]]) -> str:
    """``name = matrix`` lines for a boxed answer (gathered), or "" when an array is not 1-D/2-D or
    too large to typeset (the renderer then boxes the summary)."""
    lines = []
    for name, array in parts:
        if array is None:
            continue
        if array.ndim > 2 or array.size > MAX_ANSWER_ENTRIES:
            return ""
        rows = [list(array)] if array.ndim == 1 else [list(row) for row in array]
        lines.append(f"{name} = {latex_grid(rows)}")
    return r"\begin{gathered} " + r" \\ ".join(lines) + r" \end{gathered}" if lines else ""


def grid(rows: list[list[Value]], indent: str = "  ") -> str:
    """Rows of right-aligned short cells, one line per row."""
    cells = [[cell(v) for v in row] for row in rows]
    widths = [max(len(row[j]) for row in cells) for j in range(len(cells[0]))]
    return "\n".join(
        indent + "[ " + "  ".join(c.rjust(w) for c, w in zip(row, widths, strict=True)) + " ]" for row in cells
    )


def latex_grid(rows: list[list[Value]]) -> str:
    body = r" \\ ".join(
        " & ".join(fmt.latex_number(v) if isinstance(v, Fraction) else decimal_latex(v) for v in row) for row in rows
    )
    return f"\\begin{{bmatrix}} {body} \\end{{bmatrix}}"


#: Entries a working shows of an array before it elides the rest (``--full`` shows them all).
MAX_SHOWN = 64


def array_text(array: np.ndarray, indent: str = "  ", *, full: bool = True) -> str:
    """A 1-D to 5-D array: a matrix per leading index (``[n]``) for 3-D and more.

    Without ``full``, an array of more than :data:`MAX_SHOWN` entries shows its first rows or
    leading items and says how many more there are.
    """
    if array.ndim == 1:
        return grid([list(array)], indent)
    count = array.shape[0] if full or array.size <= MAX_SHOWN else max(1, MAX_SHOWN // array[0].size)
    if array.ndim == 2:
        text = grid([list(row) for row in array[:count]], indent)
    else:
        # "[0] =" above each matrix: a label, so no view reads the index as a row of the matrix
        parts = [f"{indent}[{index}] =\n{array_text(array[index], indent + '  ', full=full)}" for index in range(count)]
        text = "\n".join(parts)
    if count < array.shape[0]:
        what = "rows" if array.ndim == 2 else f"of the {array.shape[0]} along this axis"
        text += f"\n{indent}… {array.shape[0] - count} more {what} (--full shows all)"
    return text


def to_strings(array: np.ndarray, *, root: bool = False) -> Any:
    """Nested lists of exact strings (``"8/3"``; with ``root``, √ of each entry: ``"√(8/3)"``, ``"2"``)."""
    if not hasattr(array, "ndim") or array.ndim == 0:
        value = array.item() if hasattr(array, "item") else array
        return root_text(value, None) if root else fmt.exact(value)
    return [to_strings(item, root=root) for item in array]


def unravel(flat: int, shape: tuple[int, ...]) -> tuple[int, ...]:
    """The index of entry ``flat`` (row-major) in an array of ``shape`` (``()`` for a 0-d shape)."""
    import numpy as np

    return tuple(int(i) for i in np.unravel_index(flat, shape)) if shape else ()


def to_json(array: np.ndarray) -> Any:
    """Nested lists of JSON numbers (ints stay ints)."""
    if not hasattr(array, "ndim"):  # an element of an object array
        return fmt.json_number(array)
    if array.ndim == 0:
        return fmt.json_number(array.item())
    return [to_json(item) for item in array]


def is_exact_array(array: np.ndarray) -> bool:
    return array.dtype == object and all(isinstance(v, Fraction) for v in array.flat)


def sqrt_array(array: np.ndarray) -> np.ndarray:
    """Element-wise √ (exact where possible) of an object or float64 array."""
    import numpy as np

    if array.dtype != object:
        return np.sqrt(array)
    out = np.empty(array.shape, dtype=object)
    for index, value in np.ndenumerate(array):
        out[index] = exact_sqrt(value)
    return out


def as_array(values: Any, shape: tuple[int, ...]) -> np.ndarray:
    """A NumPy array of exact values (dtype object) or float64 when any value is a float."""
    import numpy as np

    flat = list(values)
    if all(isinstance(v, Fraction) for v in flat):
        array = np.empty(len(flat), dtype=object)
        array[:] = flat
        return array.reshape(shape)
    return np.array([float(v) for v in flat], dtype=np.float64).reshape(shape)


@dataclass
class RowStats:
    """The statistics of a 2-D view (one row per statistic) and the normalized rows."""

    mean: np.ndarray | None  # None for RMSNorm
    var: np.ndarray  # biased variance (mean of squares for RMSNorm)
    denominator: np.ndarray  # σ² + ε
    sigma: np.ndarray  # √(σ² + ε)
    x_hat: np.ndarray


def row_stats(rows: np.ndarray, eps: Value, *, rms: bool = False) -> RowStats:
    """μ, σ² (biased), √(σ² + ε) and x̂ of each row (RMSNorm: the mean of squares, no centring)."""
    width = rows.shape[1]
    if rms:
        var = (rows * rows).sum(axis=1) / width
        mean = None
        centred = rows
    else:
        mean = rows.sum(axis=1) / width
        centred = rows - mean[:, None]
        var = (centred * centred).sum(axis=1) / width
    denominator = var + eps
    sigma = sqrt_array(denominator)
    return RowStats(mean, var, denominator, sigma, centred / sigma[:, None])


def given_stats(rows: np.ndarray, mean: np.ndarray, var: np.ndarray, eps: Value) -> RowStats:
    """x̂ of each row with given (running) statistics, as eval-mode batch norm uses them."""
    denominator = var + eps
    sigma = sqrt_array(denominator)
    return RowStats(mean, var, denominator, sigma, (rows - mean[:, None]) / sigma[:, None])


def backward_rows(g_hat: np.ndarray, stats: RowStats, *, batch_stats: bool, rms: bool = False) -> np.ndarray:
    """dL/dx of each row, from ĝ = γ·g (the gradient reaching x̂).

    Batch statistics (they depend on x): dx = (1/σ)(ĝ − mean(ĝ) − x̂·mean(ĝ·x̂)); RMSNorm drops the
    mean(ĝ) term: dx = (1/σ)(ĝ − x̂·mean(ĝ·x̂)); fixed (running) statistics: dx = ĝ/σ.
    """
    sigma = stats.sigma[:, None]
    if not batch_stats:
        return g_hat / sigma
    width = g_hat.shape[1]
    projection = (g_hat * stats.x_hat).sum(axis=1)[:, None] / width
    centred = g_hat if rms else g_hat - (g_hat.sum(axis=1)[:, None] / width)
    return (centred - stats.x_hat * projection) / sigma


@dataclass
class Layout:
    """How a layer views the input as rows of statistics, and where γ and β apply.

    ``to_rows``/``from_rows`` convert between the input's shape and the 2-D view; ``stats_shape`` is
    the shape of μ and σ² as PyTorch reports them per layer (``(C,)`` for batch norm, ``(N,)`` for
    layer norm, ...); ``param_shape`` the broadcast shape of γ and β; ``param_axes`` the axes summed
    for dγ and dβ.
    """

    to_rows: Callable[[np.ndarray], np.ndarray]
    from_rows: Callable[[np.ndarray], np.ndarray]
    stats_shape: tuple[int, ...]
    param_shape: tuple[int, ...]
    param_axes: tuple[int, ...]


def layout(kind: str, shape: tuple[int, ...], *, groups: int = 1, normalized: int = 1) -> Layout:
    """The :class:`Layout` of ``kind`` (batch, instance, group, layer, rms) on an input of ``shape``.

    ``normalized`` is the number of trailing dimensions that layer and RMS norm normalize over.
    """
    import numpy as np

    ndim = len(shape)
    if kind in ("layer", "rms"):
        lead = shape[: ndim - normalized]
        return Layout(
            lambda a: a.reshape(math.prod(lead), -1),
            lambda r: r.reshape(shape),
            lead,
            (1,) * len(lead) + shape[ndim - normalized :],
            tuple(range(len(lead))),
        )
    n, c = shape[0], shape[1]
    param_shape = (1, c) + (1,) * (ndim - 2)
    param_axes = (0, *range(2, ndim))
    if kind == "batch":
        moved = (c, n, *shape[2:])
        return Layout(
            lambda a: np.moveaxis(a, 1, 0).reshape(c, -1),
            lambda r: np.moveaxis(r.reshape(moved), 0, 1),
            (c,),
            param_shape,
            param_axes,
        )
    stats_shape = (n, groups) if kind == "group" else (n, c)
    return Layout(
        lambda a: a.reshape(math.prod(stats_shape), -1),
        lambda r: r.reshape(shape),
        stats_shape,
        param_shape,
        param_axes,
    )
