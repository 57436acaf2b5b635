"""Output shapes of convolution and pooling layers, exactly as PyTorch computes them.

Conventions (PyTorch's, per spatial dimension; ``in`` is the input size, ``k`` the kernel size,
``s`` the stride, ``p`` the padding added on *each* side, ``d`` the dilation)::

    conv        out = floor((in + 2p - d(k-1) - 1) / s) + 1
    transposed  out = (in - 1)s - 2p + d(k-1) + output_padding + 1
    max/avg pool (floor mode) as conv; with ceil_mode=True
                out = ceil((in + 2p - d(k-1) - 1) / s) + 1, minus 1 when the last window would start
                      in the right padding, i.e. when (out - 1)s >= in + p

``padding='same'`` (stride 1 only) pads d(k-1) in total, the extra one on the right when it is odd,
so out = in. Pooling has no dilation for avg pools, its stride defaults to the kernel size, and its
padding may be at most half the kernel (p <= k // 2); AvgPool3d also refuses an input smaller than
the kernel in any dimension, padding aside. A transposed convolution's output must be >= 1 (PyTorch's
oneDNN CPU path returns an empty tensor for some outputs of exactly 0; we follow the documented rule).

Refusals: the configurations PyTorch refuses raise :class:`~dlsolve.errors.InvalidProblem` with
PyTorch's reason (kernel larger than the padded input, output size < 1, pool padding over half the
kernel, ``padding='same'`` with stride > 1, output_padding not smaller than stride or dilation,
groups not dividing the channels).

This module holds the formulas and the single-layer mode (:func:`conv_shape`, including solving for
one unknown ``?``); :mod:`dlsolve.solvers.layers` holds the PyTorch layer catalogue used by the
network mode (:func:`network_shape`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

from dlsolve import fmt
from dlsolve.errors import BadInput, InvalidProblem
from dlsolve.solution import Solution, Step

KINDS = ("conv", "transposed", "maxpool", "avgpool")
KIND_NAMES = {"conv": "Conv", "transposed": "ConvTranspose", "maxpool": "MaxPool", "avgpool": "AvgPool"}
#: Names of the spatial dimensions by number of dimensions.
DIM_NAMES = {1: ("L",), 2: ("H", "W"), 3: ("D", "H", "W")}
#: Which input lines a dimension's size counts (for warnings).
DIM_NOUNS = {"L": "positions", "D": "depth slices", "H": "rows", "W": "columns"}
#: Largest number of candidate values tried when solving for an unknown.
MAX_CANDIDATES = 20_000
#: Unknown field -> (option name, noun).
UNKNOWNS = {
    "size": ("--in", "input size"),
    "kernel": ("--k", "kernel size"),
    "stride": ("--s", "stride"),
    "padding": ("--p", "padding"),
    "dilation": ("--d", "dilation"),
    "output_padding": ("--output-padding", "output padding"),
}


# --------------------------------------------------------------------------- per-dimension formulas


def conv_output_size(size: int, kernel: int, stride: int, padding: int, dilation: int) -> int:
    """``floor((in + 2p - d(k-1) - 1) / s) + 1`` (no validity check)."""
    return (size + 2 * padding - dilation * (kernel - 1) - 1) // stride + 1


def transposed_output_size(
    size: int, kernel: int, stride: int, padding: int, dilation: int, output_padding: int
) -> int:
    """``(in - 1)s - 2p + d(k-1) + output_padding + 1`` (no validity check)."""
    return (size - 1) * stride - 2 * padding + dilation * (kernel - 1) + output_padding + 1


def pool_output_size(size: int, kernel: int, stride: int, padding: int, dilation: int, ceil: bool) -> int:
    """PyTorch's ``pooling_output_shape``: floor or ceil mode with the last-window rule."""
    numerator = size + 2 * padding - dilation * (kernel - 1) - 1 + (stride - 1 if ceil else 0)
    out = numerator // stride + 1
    if ceil and (out - 1) * stride >= size + padding:
        out -= 1
    return out


# --------------------------------------------------------------------------- a layer's geometry


class Geometry(NamedTuple):
    """The spatial settings of one conv/pool layer, one value per spatial dimension.

    ``padding`` is a tuple of ints, or ``"same"`` (conv only). ``dilation`` is all ones for avg
    pools; ``output_padding`` is all zeros except for transposed convolutions.
    """

    kind: str
    kernel: tuple[int, ...]
    stride: tuple[int, ...]
    padding: tuple[int, ...] | str
    dilation: tuple[int, ...]
    output_padding: tuple[int, ...]
    ceil: bool = False

    @property
    def dims(self) -> int:
        return len(self.kernel)

    def pads(self) -> list[tuple[int, int]]:
        """Padding (before, after) per dimension; 'same' puts the odd one after, as PyTorch does."""
        if self.padding == "same":
            totals = [d * (k - 1) for k, d in zip(self.kernel, self.dilation, strict=True)]
            return [(total // 2, total - total // 2) for total in totals]
        return [(p, p) for p in self.padding]


def _cross(values: Sequence[int]) -> str:
    return " x ".join(str(v) for v in values)


def refusal(geometry: Geometry, sizes: Sequence[int]) -> str | None:
    """PyTorch's reason for refusing ``geometry`` on spatial ``sizes``, or None when it applies."""
    g = geometry
    kind = g.kind
    if isinstance(g.padding, str):
        if kind != "conv":
            return f"{KIND_NAMES[kind]} does not support string padding {g.padding!r}; padding must be whole numbers"
        if any(s != 1 for s in g.stride):
            return "padding='same' is not supported for strided convolutions"
    elif any(p < 0 for p in g.padding):
        return "negative padding is not supported" if kind in ("conv", "transposed") else "pad must be non-negative"
    if any(s < 1 for s in g.stride):
        return "non-positive stride is not supported" if kind in ("conv", "transposed") else "stride should not be zero"
    if any(d < 1 for d in g.dilation):
        return f"dilation should be greater than zero, but got {list(g.dilation)}"
    if any(k < 1 for k in g.kernel):
        return f"kernel size should be greater than zero, but got kernel size {list(g.kernel)}"
    if kind == "conv":
        padded = [n + before + after for n, (before, after) in zip(sizes, g.pads(), strict=True)]
        effective = [d * (k - 1) + 1 for k, d in zip(g.kernel, g.dilation, strict=True)]
        if any(e > n for e, n in zip(effective, padded, strict=True)):
            return (
                f"Calculated padded input size per channel: ({_cross(padded)}). Kernel size: ({_cross(effective)}). "
                "Kernel size can't be greater than actual input size"
            )
        return None
    if kind == "transposed":
        if any(op < 0 for op in g.output_padding):
            return "output padding must be non-negative"
        if any(op >= s and op >= d for op, s, d in zip(g.output_padding, g.stride, g.dilation, strict=True)):
            return (
                "output padding must be smaller than either stride or dilation, but got "
                f"output_padding {list(g.output_padding)}, stride {list(g.stride)}, dilation {list(g.dilation)}"
            )
    else:
        if kind == "avgpool" and g.dims == 3 and any(n < k for n, k in zip(sizes, g.kernel, strict=True)):
            image = " ".join(f"{axis}: {n}" for axis, n in zip("THW", sizes, strict=True))
            kernel = " ".join(f"k{axis}: {k}" for axis, k in zip("THW", g.kernel, strict=True))
            return f"input image ({image}) smaller than kernel size ({kernel})"
        for p, k in zip(g.padding, g.kernel, strict=True):
            if 2 * p > k:
                return (
                    f"pad should be smaller than or equal to half of kernel size, but got pad={p}, "
                    f"kernel_size={k}{f' and dilation={g.dilation[0]}' if kind == 'maxpool' else ''}"
                )
    outs = raw_output(g, sizes)
    if any(out < 1 for out in outs):
        if kind == "transposed":
            return (
                f"Given input size per channel: ({_cross(sizes)}). Calculated output size per channel: "
                f"({_cross(outs)}). Output size is too small"
            )
        given, calculated = "x".join(map(str, sizes)), "x".join(map(str, outs))
        return f"Given input size: ({given}). Calculated output size: ({calculated}). Output size is too small"
    return None


def raw_output(geometry: Geometry, sizes: Sequence[int]) -> list[int]:
    """The output size per dimension by the formula, without checking validity."""
    g = geometry
    outs = []
    for index, size in enumerate(sizes):
        k, s, d = g.kernel[index], g.stride[index], g.dilation[index]
        if g.padding == "same":
            outs.append(size)
        elif g.kind == "conv":
            outs.append(conv_output_size(size, k, s, g.padding[index], d))
        elif g.kind == "transposed":
            outs.append(transposed_output_size(size, k, s, g.padding[index], d, g.output_padding[index]))
        else:
            outs.append(pool_output_size(size, k, s, g.padding[index], d, g.ceil))
    return outs


def spatial_output(
    geometry: Geometry, sizes: Sequence[int], *, where: str = "", option: str | None = None
) -> list[int]:
    """Output size per spatial dimension; InvalidProblem with PyTorch's reason when it refuses."""
    reason = refusal(geometry, sizes)
    if reason is not None:
        raise InvalidProblem(f"{where}{reason}", option=option)
    return raw_output(geometry, sizes)


def floor_warnings(geometry: Geometry, sizes: Sequence[int], outs: Sequence[int]) -> list[str]:
    """One warning per dimension where the floor drops input lines that no window covers."""
    names = DIM_NAMES[len(sizes)]
    return [
        f"the floor drops the last {count} input {DIM_NOUNS[name]} along {name}: no window covers them"
        for name, count in zip(names, dropped_inputs(geometry, sizes, outs), strict=True)
        if count
    ]


def dropped_inputs(geometry: Geometry, sizes: Sequence[int], outs: Sequence[int]) -> list[int]:
    """Per dimension, how many real input lines at the end no window covers (the floor's loss)."""
    if geometry.kind == "transposed":
        return [0] * len(sizes)
    dropped = []
    for index, (size, out) in enumerate(zip(sizes, outs, strict=True)):
        before = geometry.pads()[index][0]
        k, s, d = geometry.kernel[index], geometry.stride[index], geometry.dilation[index]
        covered_end = (out - 1) * s + d * (k - 1) + 1  # exclusive, in padded coordinates
        dropped.append(max(0, before + size - covered_end))
    return dropped


# --------------------------------------------------------------------------- working


def dimension_steps(geometry: Geometry, sizes: Sequence[int]) -> list[Step]:
    """One step per spatial dimension, or one for all when every dimension has the same numbers."""
    names = DIM_NAMES[len(sizes)]
    per_dim = (geometry.kernel, geometry.stride, geometry.dilation, geometry.output_padding, geometry.pads())
    settings = {(size, *(values[i] for values in per_dim)) for i, size in enumerate(sizes)}
    if len(settings) == 1 and len(sizes) > 1:
        return [dimension_step(geometry, sizes, 0, names)]
    return [dimension_step(geometry, sizes, index, (name,)) for index, name in enumerate(names)]


def dimension_step(geometry: Geometry, sizes: Sequence[int], index: int, names: Sequence[str]) -> Step:
    """The formula for dimension ``index`` (shared by the dimensions ``names``) with its numbers substituted."""
    g = geometry
    name = " = ".join(f"{n}_out" for n in names)[:-4]
    latex_name = " = ".join(f"{n}_{{out}}" for n in names)[: -len("_{out}")]
    title = f"Output size along {', '.join(names)}"
    size, k, s, d = sizes[index], g.kernel[index], g.stride[index], g.dilation[index]
    if g.padding == "same":
        before, after = g.pads()[index]
        text = (
            f"{', '.join(names)}: padding='same' pads d(k−1) = {d}·({k}−1) = {before + after} in total "
            f"({before} before, {after} after), so {name}_out = in = {size}"
        )
        latex = f"{latex_name}_{{out}} = {size}"
        return Step(title, text, latex)
    p = g.padding[index]
    if g.kind == "transposed":
        op = g.output_padding[index]
        out = transposed_output_size(size, k, s, p, d, op)
        text = (
            f"{name}_out = (in − 1)·s − 2p + d(k − 1) + output_padding + 1 "
            f"= ({size} − 1)·{s} − 2·{p} + {d}·({k} − 1) + {op} + 1 = {out}"
        )
        latex = (
            f"{latex_name}_{{out}} = (in-1)s - 2p + d(k-1) + p_{{out}} + 1 = ({size}-1)\\cdot {s} - 2\\cdot {p} "
            f"+ {d}\\cdot({k}-1) + {op} + 1 = {out}"
        )
        return Step(title, text, latex)
    numerator = size + 2 * p - d * (k - 1) - 1
    ceil = g.ceil and g.kind != "conv"
    out = raw_output(Geometry(g.kind, (k,), (s,), (p,), (d,), (0,), g.ceil), [size])[0]
    bracket = ("⌈", "⌉") if ceil else ("⌊", "⌋")
    lbracket = ("\\left\\lceil", "\\right\\rceil") if ceil else ("\\left\\lfloor", "\\right\\rfloor")
    quotient = -(-numerator // s) if ceil else numerator // s
    text = (
        f"{name}_out = {bracket[0]}(in + 2p − d(k − 1) − 1)/s{bracket[1]} + 1 "
        f"= {bracket[0]}({size} + 2·{p} − {d}·({k} − 1) − 1)/{s}{bracket[1]} + 1 "
        f"= {bracket[0]}{numerator}/{s}{bracket[1]} + 1 = {quotient + 1}"
    )
    latex = (
        f"{latex_name}_{{out}} = {lbracket[0]} \\frac{{in + 2p - d(k-1) - 1}}{{s}} {lbracket[1]} + 1 = "
        f"{lbracket[0]} \\frac{{{size} + 2\\cdot {p} - {d}\\cdot({k}-1) - 1}}{{{s}}} {lbracket[1]} + 1 = {quotient + 1}"
    )
    if ceil and out != quotient + 1:
        text += (
            f"; the last window would start at (out − 1)·s = {quotient}·{s} = {quotient * s} ≥ in + p = {size + p}, "
            f"inside the right padding only, so PyTorch drops it: {name}_out = {out}"
        )
        latex += f" \\to {out}"
    return Step(title, text, latex)


def params_of(
    kind: str, kernel: Sequence[int], channels: int | None, filters: int | None, groups: int, bias: bool
) -> tuple[int | None, Step | None]:
    """Trainable parameters of a conv layer (pools have none) and the step showing the count.

    conv: C_out·(C_in/groups)·prod(k) + C_out; transposed: C_in·(C_out/groups)·prod(k) + C_out.
    """
    if kind in ("maxpool", "avgpool"):
        return 0, Step("Parameters", "pooling layers have no parameters: 0", "\\text{params} = 0")
    if channels is None or filters is None:
        return None, None
    kernel_product = 1
    for k in kernel:
        kernel_product *= k
    kernel_text = "·".join(str(k) for k in kernel)
    if kind == "conv":
        weights = filters * (channels // groups) * kernel_product
        formula = "C_out·(C_in/groups)·∏k"
        substituted = f"{filters}·({channels}/{groups})·{kernel_text}"
    else:
        weights = channels * (filters // groups) * kernel_product
        formula = "C_in·(C_out/groups)·∏k"
        substituted = f"{channels}·({filters}/{groups})·{kernel_text}"
    total = weights + (filters if bias else 0)
    bias_text = f" + {filters}" if bias else ""
    text = f"params = {formula}{' + C_out (bias)' if bias else ' (no bias)'} = {substituted}{bias_text} = {total}"
    cdot = " \\cdot "
    latex = f"\\text{{params}} = {substituted.replace('·', cdot)}{bias_text} = {total}"
    return total, Step("Parameters", text, latex)


# --------------------------------------------------------------------------- single-layer mode


def _per_dim(values: Sequence[int] | None, dims: int, option: str, default: int | None = None) -> tuple[int, ...]:
    if values is None:
        if default is None:
            raise BadInput("a value is required", option=option)
        return (default,) * dims
    if len(values) == 1:
        return (values[0],) * dims
    if len(values) != dims:
        raise BadInput(
            f"expected 1 or {dims} values (one per spatial dimension), got {len(values)}: {list(values)}",
            option=option,
        )
    return tuple(values)


def _choose_dims(dims: int | None, lists: Sequence[Sequence[int] | str | None]) -> int:
    if dims is not None:
        if dims not in (1, 2, 3):
            raise BadInput(f"expected 1, 2 or 3 spatial dimensions, got {dims}", option="--dims")
        return dims
    lengths = {len(v) for v in lists if isinstance(v, list | tuple) and len(v) > 1}
    if len(lengths) > 1:
        raise BadInput(f"options give different numbers of dimensions: {sorted(lengths)}", option="--in")
    chosen = lengths.pop() if lengths else 2
    if chosen > 3:
        raise BadInput(f"expected at most 3 spatial dimensions, got {chosen}", option="--in")
    return chosen


def _check_options(
    layer: str,
    *,
    dilation: Sequence[int] | None,
    output_padding: Sequence[int] | None,
    ceil: bool,
    groups: int,
    filters: int | None,
    bias: bool,
    padding: object,
    unknown: str | None,
) -> None:
    pooling = layer in ("maxpool", "avgpool")
    if (output_padding is not None or unknown == "output_padding") and layer != "transposed":
        raise BadInput("--output-padding applies to --layer transposed only", option="--output-padding")
    if ceil and not pooling:
        raise BadInput("--ceil applies to --layer maxpool or avgpool only", option="--ceil")
    if layer == "avgpool" and (dilation is not None or unknown == "dilation"):
        raise BadInput("AvgPool has no dilation; --d applies to conv, transposed and maxpool", option="--d")
    if pooling and groups != 1:
        raise BadInput("--groups applies to conv and transposed layers only", option="--groups")
    if pooling and filters is not None:
        raise BadInput(
            "pooling keeps the channels; --filters applies to conv and transposed layers", option="--filters"
        )
    if pooling and not bias:
        raise BadInput(
            "pooling layers have no bias; --no-bias applies to conv and transposed layers", option="--no-bias"
        )
    if isinstance(padding, str) and (pooling or layer == "transposed"):
        raise BadInput(f"padding {padding!r} applies to --layer conv only; give whole numbers", option="--p")


def _geometry(
    layer: str,
    dims: int,
    kernel: Sequence[int] | None,
    stride: Sequence[int] | None,
    padding: Sequence[int] | str | None,
    dilation: Sequence[int] | None,
    output_padding: Sequence[int] | None,
    ceil: bool,
) -> Geometry:
    kernel_t = _per_dim(kernel, dims, "--k")
    default_stride = None if layer in ("maxpool", "avgpool") else 1
    stride_t = kernel_t if stride is None and default_stride is None else _per_dim(stride, dims, "--s", 1)
    if padding == "valid":
        padding = None
    padding_t: tuple[int, ...] | str = padding if isinstance(padding, str) else _per_dim(padding, dims, "--p", 0)
    return Geometry(
        kind=layer,
        kernel=kernel_t,
        stride=stride_t,
        padding=padding_t,
        dilation=_per_dim(dilation, dims, "--d", 1),
        output_padding=_per_dim(output_padding, dims, "--output-padding", 0),
        ceil=ceil,
    )


class _Unknown(NamedTuple):
    """The solution set for one unknown: finite values and, maybe, every value from a bound on."""

    values: list[int]
    from_value: int | None


def _search_bound(layer: str, unknown: str, known: dict[str, Sequence[int]], outs: Sequence[int]) -> tuple[int, int]:
    """Candidate range [low, high] for the unknown; past ``high`` the output cannot reach ``outs``
    again, or stays what it is at ``high`` (which the caller reports as "every value from ...").

    Bounds from the formulas with p, s, d >= 0 or 1: a conv output grows by about 2p/s, so the
    padding is at most (out·s + d·k)/2; an input at most out·s + d·k; a kernel, stride or dilation
    beyond the padded input plus a stride (ceil mode's overhang) changes nothing (output 1, or
    refused); a transposed output grows with
    the input, kernel, stride and dilation, so each is at most out + 2p + output_padding.
    """

    def largest(name: str, default: int) -> int:
        values = known.get(name)
        return max(values) if values else default

    out = max(outs)
    size, kernel, padding = largest("size", 1), largest("kernel", 1), largest("padding", 0)
    dilation, output_padding = largest("dilation", 1), largest("output_padding", 0)
    stride = largest("stride", kernel if layer in ("maxpool", "avgpool") else 1)
    low = 0 if unknown in ("padding", "output_padding") else 1
    if layer == "transposed":
        high = {
            "padding": ((size - 1) * stride + dilation * kernel + output_padding) // 2,
            "output_padding": max(stride, dilation),
        }.get(unknown, out + 2 * padding + output_padding)
    else:
        high = {
            "padding": (out * stride + dilation * kernel) // 2,
            "size": out * stride + dilation * kernel,
        }.get(unknown, size + 2 * padding + stride)
    high += 2
    if high - low > MAX_CANDIDATES:
        raise BadInput(
            f"the sizes are too large to search for the unknown {UNKNOWNS[unknown][1]} "
            f"(over {MAX_CANDIDATES} candidates)",
            option=UNKNOWNS[unknown][0],
        )
    return low, high


def _solve_unknown(
    layer: str,
    unknown: str,
    values: dict[str, Sequence[int] | str | None],
    dims: int,
    ceil: bool,
    outs: Sequence[int],
) -> tuple[_Unknown, list[list[int]]]:
    """Every value of ``unknown`` (shared by all dimensions) that gives ``outs``; also per dimension."""
    known = {k: v for k, v in values.items() if isinstance(v, list | tuple)}
    low, high = _search_bound(layer, unknown, known, outs)
    per_dim: list[list[int]] = []
    for index in range(dims):

        def pick(name: str, default: int, index: int = index) -> int:
            value = values.get(name)
            if not isinstance(value, list | tuple):
                return default
            return value[index] if len(value) > 1 else value[0]

        found = []
        for candidate in range(low, high + 1):
            setting = {
                "size": pick("size", 1),
                "kernel": pick("kernel", 1),
                "stride": pick("stride", -1),
                "padding": pick("padding", 0),
                "dilation": pick("dilation", 1),
                "output_padding": pick("output_padding", 0),
            }
            setting[unknown] = candidate
            if setting["stride"] == -1:
                setting["stride"] = 1 if layer in ("conv", "transposed") else setting["kernel"]
            same = values.get("padding") == "same"
            geometry = Geometry(
                layer,
                (setting["kernel"],),
                (setting["stride"],),
                "same" if same else (setting["padding"],),
                (setting["dilation"],),
                (setting["output_padding"],),
                ceil,
            )
            if (
                refusal(geometry, [setting["size"]]) is None
                and raw_output(geometry, [setting["size"]])[0] == outs[index]
            ):
                found.append(candidate)
        per_dim.append(found)
    shared = sorted(set(per_dim[0]).intersection(*per_dim[1:]))
    from_value = None
    if shared and shared[-1] == high:
        start = high
        while start - 1 in shared:
            start -= 1
        from_value = start
        shared = [v for v in shared if v < start]
    return _Unknown(shared, from_value), per_dim


def _describe_unknown(unknown: str, solution: _Unknown) -> str:
    noun = UNKNOWNS[unknown][1]
    parts = [str(v) for v in solution.values]
    if solution.from_value is not None:
        parts.append(f"every value ≥ {solution.from_value}")
    if not parts:
        return f"no {noun}"
    return f"{noun} = " + (parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " or " + parts[-1])


def conv_shape(
    size: Sequence[int] | None,
    kernel: Sequence[int] | None,
    *,
    stride: Sequence[int] | None = None,
    padding: Sequence[int] | str | None = None,
    dilation: Sequence[int] | None = None,
    dims: int | None = None,
    layer: str = "conv",
    output_padding: Sequence[int] | None = None,
    ceil: bool = False,
    groups: int = 1,
    batch: int | None = None,
    channels: int | None = None,
    filters: int | None = None,
    bias: bool = True,
    out: Sequence[int] | None = None,
    unknown: str | None = None,
) -> Solution:
    """Output shape (and parameter count) of one conv/transposed/pool layer, PyTorch semantics.

    Sizes are per spatial dimension (one value is used for every dimension). ``padding`` may be
    ``"same"``/``"valid"`` for convolutions. ``unknown`` names the one field given as ``?``
    (``size``, ``kernel``, ``stride``, ``padding``, ``dilation`` or ``output_padding``; its value is
    None): every value giving ``out`` is found, by trying each candidate with PyTorch's rules.
    """
    if layer not in KINDS:
        raise BadInput(f"expected one of {', '.join(KINDS)}; got {layer!r}", option="--layer")
    _check_options(
        layer,
        dilation=dilation,
        output_padding=output_padding,
        ceil=ceil,
        groups=groups,
        filters=filters,
        bias=bias,
        padding=padding,
        unknown=unknown,
    )
    if unknown is not None and out is None:
        raise BadInput(f"{UNKNOWNS[unknown][0]} is '?': give the output size with --out", option="--out")
    if size is None and unknown != "size":
        raise BadInput("the input size is required, e.g. --in 28", option="--in")
    if kernel is None and unknown != "kernel":
        raise BadInput("the kernel size is required, e.g. --k 3", option="--k")
    values: dict[str, Sequence[int] | str | None] = {
        "size": size,
        "kernel": kernel,
        "stride": stride,
        "padding": padding,
        "dilation": dilation,
        "output_padding": output_padding,
    }
    n_dims = _choose_dims(dims, [*values.values(), out])
    out_given = None if out is None else _per_dim(out, n_dims, "--out")
    name = f"{KIND_NAMES[layer]}{n_dims}d"
    dim_names = DIM_NAMES[n_dims]
    pooling = layer in ("maxpool", "avgpool")
    warnings: list[str] = []
    steps: list[Step] = []
    answer_extra: dict[str, object] = {}

    if channels is not None and groups and channels % groups:
        raise InvalidProblem(f"in_channels must be divisible by groups ({channels} by {groups})", option="--groups")
    if filters is not None and groups and filters % groups:
        raise InvalidProblem(f"out_channels must be divisible by groups ({filters} by {groups})", option="--groups")

    solved: _Unknown | None = None
    if unknown is not None:
        assert out_given is not None
        solved, per_dim = _solve_unknown(layer, unknown, values, n_dims, ceil, out_given)
        description = _describe_unknown(unknown, solved)
        answer_extra = {
            "unknown": unknown,
            "solutions": solved.values,
            "solutions_from": solved.from_value,
        }
        if not solved.values and solved.from_value is None:
            detail = ""
            if n_dims > 1 and any(per_dim):
                detail = (
                    " (one value per dimension: "
                    + "; ".join(f"{dim_names[i]}: {per_dim[i] or 'none'}" for i in range(n_dims))
                    + ")"
                )
            raise InvalidProblem(
                f"no {UNKNOWNS[unknown][1]} gives output size {list(out_given)} for {name}{detail}",
                option=UNKNOWNS[unknown][0],
            )
        steps.append(
            Step(
                f"Solve for the {UNKNOWNS[unknown][1]}",
                f"Trying every candidate value with PyTorch's rules, the output {fmt.shape(out_given)} comes "
                f"from {description}.",
            )
        )
        chosen = solved.values[0] if solved.values else solved.from_value
        assert chosen is not None
        values[unknown] = [chosen]
        if len(solved.values) + (solved.from_value is not None) > 1:
            steps[-1].text += f" The working below uses {chosen}."

    sizes = _per_dim(values["size"], n_dims, "--in")  # type: ignore[arg-type]
    geometry = _geometry(
        layer,
        n_dims,
        values["kernel"],  # type: ignore[arg-type]
        values["stride"],  # type: ignore[arg-type]
        values["padding"],
        values["dilation"],  # type: ignore[arg-type]
        values["output_padding"],  # type: ignore[arg-type]
        ceil,
    )
    spatial = spatial_output(geometry, sizes, where=f"{name}: ")
    steps.extend(dimension_steps(geometry, sizes))
    warnings.extend(floor_warnings(geometry, sizes, spatial))
    if out_given is not None and unknown is None and list(out_given) != spatial:
        raise InvalidProblem(f"{name} gives spatial size {spatial}, not the --out {list(out_given)}", option="--out")

    out_channels = channels if pooling else filters
    kernel_for_params = geometry.kernel
    params, params_step = params_of(layer, kernel_for_params, channels, filters, groups, bias)
    if unknown == "kernel" and solved is not None and (len(solved.values) != 1 or solved.from_value is not None):
        params, params_step = None, None
    shape = [batch, out_channels, *spatial] if batch is not None and out_channels is not None else None
    if shape is not None:
        steps.append(
            Step(
                "Output shape",
                f"[batch, channels, {', '.join(dim_names)}] = {fmt.shape(shape)}",
                f"[N, C, {', '.join(dim_names)}] = {fmt.shape(shape)}",
            )
        )
    if params_step is not None:
        steps.append(params_step)
    shown = shape if shape is not None else spatial
    summary = f"{name}: output {'shape' if shape is not None else 'spatial size'} {fmt.shape(shown)}"
    if params is not None:
        summary += f", {params} parameters"
    quiet = " ".join(str(v) for v in shown)
    if solved is not None:
        summary = f"{_describe_unknown(unknown, solved)}; " + summary  # type: ignore[arg-type]
        quiet = " ".join(str(v) for v in solved.values)
        if solved.from_value is not None:
            quiet = (quiet + f" >={solved.from_value}").strip()
    return Solution(
        command="conv-shape",
        inputs={
            "in": None if size is None else list(size),
            "kernel": None if kernel is None else list(kernel),
            "stride": None if stride is None else list(stride),
            "padding": padding if padding is None or isinstance(padding, str) else list(padding),
            "dilation": None if dilation is None else list(dilation),
            "dims": n_dims,
            "layer": layer,
            "output_padding": None if output_padding is None else list(output_padding),
            "ceil": ceil,
            "groups": groups,
            "batch": batch,
            "channels": channels,
            "filters": filters,
            "bias": bias,
            "out": None if out is None else list(out),
            "unknown": unknown,
        },
        answer={"spatial": spatial, "shape": shape, "params": params, **answer_extra},
        summary=summary,
        quiet=quiet,
        steps=steps,
        warnings=warnings,
        answer_latex=fmt.shape(shown),
    )
