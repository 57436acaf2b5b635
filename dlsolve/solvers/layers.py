"""The PyTorch layer catalogue of ``conv-shape --net``: constructor signatures, shapes, parameters.

Each layer is described by its constructor's parameters exactly as in PyTorch (names, positional
order, defaults; note ConvTranspose's order ``in, out, kernel, stride, padding, output_padding,
groups, bias, dilation``) and a function mapping an input shape to the output shape, the number of
trainable parameters and the working. A :class:`~dlsolve.parsing.LayerCall` is bound to the
parameters the way Python binds a call (too many positional arguments, unknown or duplicate keywords
and missing required arguments are :class:`BadInput`, exit 2).

Errors: wrong argument *types* are BadInput (exit 2); values PyTorch refuses when it builds or runs
the layer (a kernel larger than the padded input, groups not dividing the channels, a Conv2d whose
``in_channels`` differs from the incoming channels, a Linear whose ``in_features`` differs from the
incoming features, ...) are :class:`InvalidProblem` (exit 1, "the layer cannot apply"), naming the
layer and both numbers.

Receptive field and jump (per spatial dimension, in input pixels) follow the usual recurrence for
conv/pool stacks: ``rf_out = rf_in + d(k-1)·jump_in``, ``jump_out = jump_in·s``; pointwise layers
(activations, normalization, dropout) keep them; layers that are not local windows (transposed
convolutions, upsampling, adaptive pooling, Flatten, Linear) end them (shown as ``-``/null).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from dlsolve import fmt
from dlsolve.errors import BadInput, InvalidProblem
from dlsolve.parsing import LayerCall
from dlsolve.solution import Solution, Step, Table
from dlsolve.solvers.conv_geometry import Geometry, dimension_steps, floor_warnings, spatial_output

Shape = tuple[int, ...]


class _Required:
    def __repr__(self) -> str:
        return "REQUIRED"


REQUIRED: Any = _Required()


@dataclass
class Applied:
    """What one layer does to a shape: the output, its trainable parameters, the working."""

    shape: Shape
    params: int = 0
    lines: list[str] = field(default_factory=list)
    latex: list[str] = field(default_factory=list)
    #: ``"keep"`` (pointwise), ``"end"`` (not a local window) or the Geometry of a conv/pool window.
    receptive: str | Geometry = "keep"
    warnings: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class LayerSpec:
    """A layer constructor: parameters in PyTorch's order with defaults, and its shape function."""

    name: str
    params: tuple[tuple[str, Any], ...]
    apply: Callable[[Context, dict[str, Any], Shape], Applied]
    keyword_only: tuple[tuple[str, Any], ...] = ()
    var_args: bool = False  # Identity(*args, **kwargs)


@dataclass(frozen=True)
class Context:
    """The layer being applied, for error messages: ``layer 2 (Conv2d(1, 16, 3))``."""

    index: int
    name: str
    source: str

    def where(self) -> str:
        return f"layer {self.index} ({self.source}): "

    def bad(self, message: str) -> BadInput:
        return BadInput(self.where() + message, option="--net")

    def invalid(self, message: str) -> InvalidProblem:
        return InvalidProblem(self.where() + message, option="--net")

    def mismatch(self, argument: str, expected: int, shape: Shape, found: int, noun: str) -> InvalidProblem:
        """The layer expects ``expected`` (its ``argument``) but the incoming tensor has ``found``."""
        return self.invalid(f"{argument} is {expected} but the incoming tensor {fmt.shape(shape)} has {found} {noun}")


# --------------------------------------------------------------------------- argument checks


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _int(ctx: Context, value: Any, what: str) -> int:
    if not _is_int(value):
        raise ctx.bad(f"{what} must be a whole number, got {value!r}")
    return value


def _bool(ctx: Context, value: Any, what: str) -> bool:
    if not isinstance(value, bool):
        raise ctx.bad(f"{what} must be True or False, got {value!r}")
    return value


def _float(ctx: Context, value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ctx.bad(f"{what} must be a number, got {value!r}")
    try:
        number = float(value)
    except OverflowError:
        number = math.inf
    if not math.isfinite(number):
        raise ctx.bad(f"{what} must be a finite number, got {value!r}")
    return number


def _ints(ctx: Context, value: Any, n: int, what: str) -> tuple[int, ...]:
    """An int for every dimension, or a tuple of ``n`` ints (PyTorch's ``_ntuple``)."""
    if _is_int(value):
        return (value,) * n
    if isinstance(value, tuple) and len(value) == n and all(_is_int(v) for v in value):
        return value
    raise ctx.bad(f"{what} must be a whole number or a tuple of {n} whole numbers, got {value!r}")


def _dims_text(n: int) -> str:
    return {1: "1-D", 2: "2-D", 3: "3-D", 4: "4-D", 5: "5-D"}.get(n, f"{n}-D")


def _expect_ndim(ctx: Context, shape: Shape, allowed: Sequence[int], what: str = "") -> None:
    if len(shape) not in allowed:
        choices = " or ".join(_dims_text(n) for n in allowed)
        raise ctx.invalid(f"expected a {choices} input{what}, got {fmt.shape(shape)} ({_dims_text(len(shape))})")


def _spatial_ndim(ctx: Context, shape: Shape, n: int) -> None:
    _expect_ndim(ctx, shape, (n + 1, n + 2), f" ({_dims_text(n + 1)} unbatched or {_dims_text(n + 2)} batched)")


def _channel_axis(shape: Shape, n: int) -> int:
    """The channel axis for an input with ``n`` spatial dimensions (0 unbatched, 1 batched)."""
    return len(shape) - n - 1


# --------------------------------------------------------------------------- conv and pool layers


def _conv_apply(n: int, transposed: bool) -> Callable[[Context, dict[str, Any], Shape], Applied]:
    def apply(ctx: Context, a: dict[str, Any], shape: Shape) -> Applied:
        in_channels = _int(ctx, a["in_channels"], "in_channels")
        out_channels = _int(ctx, a["out_channels"], "out_channels")
        kernel = _ints(ctx, a["kernel_size"], n, "kernel_size")
        stride = _ints(ctx, a["stride"], n, "stride")
        dilation = _ints(ctx, a["dilation"], n, "dilation")
        groups = _int(ctx, a["groups"], "groups")
        bias = _bool(ctx, a["bias"], "bias")
        padding_mode = a["padding_mode"]
        if padding_mode not in ("zeros", "reflect", "replicate", "circular"):
            raise ctx.bad(f"padding_mode must be 'zeros', 'reflect', 'replicate' or 'circular', got {padding_mode!r}")
        padding: tuple[int, ...] | str
        if isinstance(a["padding"], str):
            if a["padding"] not in ("same", "valid"):
                raise ctx.bad(f"Invalid padding string {a['padding']!r}, should be one of {{'valid', 'same'}}")
            padding = (0,) * n if a["padding"] == "valid" else "same"
        else:
            padding = _ints(ctx, a["padding"], n, "padding")
        output_padding = _ints(ctx, a["output_padding"], n, "output_padding") if transposed else (0,) * n
        if groups <= 0:
            raise ctx.invalid("groups must be a positive integer")
        if in_channels % groups:
            raise ctx.invalid(f"in_channels must be divisible by groups ({in_channels} by {groups})")
        if out_channels % groups:
            raise ctx.invalid(f"out_channels must be divisible by groups ({out_channels} by {groups})")
        if transposed and padding_mode != "zeros":
            raise ctx.invalid(f'Only "zeros" padding mode is supported for {ctx.name}')
        if padding == "same" and any(s != 1 for s in stride):
            raise ctx.invalid("padding='same' is not supported for strided convolutions")
        _spatial_ndim(ctx, shape, n)
        axis = _channel_axis(shape, n)
        if shape[axis] != in_channels:
            raise ctx.mismatch("in_channels", in_channels, shape, shape[axis], "channels")
        geometry = Geometry("transposed" if transposed else "conv", kernel, stride, padding, dilation, output_padding)
        sizes = shape[axis + 1 :]
        spatial = spatial_output(geometry, sizes, where=ctx.where(), option="--net")
        lines, latex = _dimension_lines(geometry, sizes, n)
        kernel_product = math.prod(kernel)
        if transposed:
            weights = in_channels * (out_channels // groups) * kernel_product
            formula = f"C_in·(C_out/groups)·∏k = {in_channels}·({out_channels}/{groups})·{'·'.join(map(str, kernel))}"
        else:
            weights = out_channels * (in_channels // groups) * kernel_product
            formula = f"C_out·(C_in/groups)·∏k = {out_channels}·({in_channels}/{groups})·{'·'.join(map(str, kernel))}"
        params = weights + (out_channels if bias else 0)
        lines.append(f"params = {formula}{f' + {out_channels} (bias)' if bias else ''} = {params}")
        latex.append(f"\\text{{params}} = {params}")
        receptive = "end" if transposed else geometry
        warnings = floor_warnings(geometry, sizes, spatial)
        return Applied((*shape[:axis], out_channels, *spatial), params, lines, latex, receptive, warnings)

    return apply


def _dimension_lines(geometry: Geometry, sizes: Sequence[int], n: int) -> tuple[list[str], list[str]]:
    steps = dimension_steps(geometry, sizes)
    return [step.text for step in steps], [step.latex for step in steps]


def _pool_apply(n: int, kind: str) -> Callable[[Context, dict[str, Any], Shape], Applied]:
    def apply(ctx: Context, a: dict[str, Any], shape: Shape) -> Applied:
        kernel = _ints(ctx, a["kernel_size"], n, "kernel_size")
        stride = kernel if a["stride"] is None else _ints(ctx, a["stride"], n, "stride")
        padding = _ints(ctx, a["padding"], n, "padding")
        dilation = _ints(ctx, a["dilation"], n, "dilation") if kind == "maxpool" else (1,) * n
        ceil = _bool(ctx, a["ceil_mode"], "ceil_mode")
        if kind == "avgpool":
            _bool(ctx, a["count_include_pad"], "count_include_pad")
            if a.get("divisor_override") is not None and _int(ctx, a["divisor_override"], "divisor_override") == 0:
                raise ctx.invalid("divisor must be not zero")
        else:
            _bool(ctx, a["return_indices"], "return_indices")
        _spatial_ndim(ctx, shape, n)
        axis = _channel_axis(shape, n)
        geometry = Geometry(kind, kernel, stride, padding, dilation, (0,) * n, ceil)
        sizes = shape[axis + 1 :]
        spatial = spatial_output(geometry, sizes, where=ctx.where(), option="--net")
        lines, latex = _dimension_lines(geometry, sizes, n)
        warnings = floor_warnings(geometry, sizes, spatial)
        return Applied((*shape[: axis + 1], *spatial), 0, lines, latex, geometry, warnings)

    return apply


def _adaptive_apply(n: int) -> Callable[[Context, dict[str, Any], Shape], Applied]:
    def apply(ctx: Context, a: dict[str, Any], shape: Shape) -> Applied:
        size = a["output_size"]
        if _is_int(size) or size is None:
            wanted: tuple[int | None, ...] = (size,) * n
        elif isinstance(size, tuple) and len(size) == n and all(v is None or _is_int(v) for v in size):
            wanted = size
        else:
            raise ctx.bad(f"output_size must be a whole number or a tuple of {n} (whole numbers or None), got {size!r}")
        if "return_indices" in a:
            _bool(ctx, a["return_indices"], "return_indices")
        _spatial_ndim(ctx, shape, n)
        axis = _channel_axis(shape, n)
        sizes = shape[axis + 1 :]
        if any(v is not None and v < 0 for v in wanted):
            raise ctx.invalid(f"output_size must be non-negative, got {list(wanted)}")
        spatial = [s if w is None else w for s, w in zip(sizes, wanted, strict=True)]
        lines = [f"adaptive pooling outputs output_size {list(wanted)} (None keeps the input size): {spatial}"]
        return Applied((*shape[: axis + 1], *spatial), 0, lines, [], "end")

    return apply


# --------------------------------------------------------------------------- normalization


def _affine_params(count: int, affine: bool, bias: bool) -> int:
    """Trainable parameters of a normalization layer: a weight (and a bias) per ``count`` entries."""
    return count * (2 if bias else 1) if affine else 0


def _batchnorm_apply(n: int) -> Callable[[Context, dict[str, Any], Shape], Applied]:
    allowed = {1: (2, 3), 2: (4,), 3: (5,)}[n]

    def apply(ctx: Context, a: dict[str, Any], shape: Shape) -> Applied:
        features = _int(ctx, a["num_features"], "num_features")
        affine = _bool(ctx, a["affine"], "affine")
        track = _bool(ctx, a["track_running_stats"], "track_running_stats")
        bias = _bool(ctx, a["bias"], "bias")
        _expect_ndim(ctx, shape, allowed)
        if (affine or track) and shape[1] != features:
            raise ctx.mismatch("num_features", features, shape, shape[1], "channels")
        params = _affine_params(features, affine, bias)
        lines = [f"shape unchanged; params = {'2·C' if bias else 'C'} (γ{', β' if bias else ''}) = {params}"]
        if not affine:
            lines = ["shape unchanged; affine=False: no parameters"]
        return Applied(shape, params, lines)

    return apply


def _instancenorm_apply(n: int) -> Callable[[Context, dict[str, Any], Shape], Applied]:
    def apply(ctx: Context, a: dict[str, Any], shape: Shape) -> Applied:
        features = _int(ctx, a["num_features"], "num_features")
        affine = _bool(ctx, a["affine"], "affine")
        track = _bool(ctx, a["track_running_stats"], "track_running_stats")
        bias = _bool(ctx, a["bias"], "bias")
        _spatial_ndim(ctx, shape, n)
        axis = _channel_axis(shape, n)
        if (affine or track) and shape[axis] != features:
            raise ctx.mismatch("num_features", features, shape, shape[axis], "channels")
        params = _affine_params(features, affine, bias)
        return Applied(shape, params, [f"shape unchanged; params = {params}"])

    return apply


def _layernorm_apply(ctx: Context, a: dict[str, Any], shape: Shape) -> Applied:
    normalized = _ints(ctx, a["normalized_shape"], 1, "normalized_shape") if _is_int(a["normalized_shape"]) else None
    if normalized is None:
        value = a["normalized_shape"]
        if not (isinstance(value, tuple) and value and all(_is_int(v) for v in value)):
            raise ctx.bad(f"normalized_shape must be a whole number or a tuple of whole numbers, got {value!r}")
        normalized = value
    affine = _bool(ctx, a["elementwise_affine"], "elementwise_affine")
    bias = _bool(ctx, a["bias"], "bias")
    if tuple(shape[-len(normalized) :]) != tuple(normalized) or len(shape) < len(normalized):
        raise ctx.invalid(
            f"normalized_shape is {list(normalized)} but the incoming tensor {fmt.shape(shape)} "
            f"ends in {list(shape[-len(normalized) :])}"
        )
    size = math.prod(normalized)
    params = _affine_params(size, affine, bias)
    return Applied(shape, params, [f"shape unchanged; params = {'2' if bias else '1'}·∏normalized_shape = {params}"])


def _groupnorm_apply(ctx: Context, a: dict[str, Any], shape: Shape) -> Applied:
    groups = _int(ctx, a["num_groups"], "num_groups")
    channels = _int(ctx, a["num_channels"], "num_channels")
    affine = _bool(ctx, a["affine"], "affine")
    bias = _bool(ctx, a["bias"], "bias")
    if groups <= 0 or channels % groups:
        raise ctx.invalid(f"num_channels ({channels}) must be divisible by num_groups ({groups})")
    if len(shape) < 2:
        raise ctx.invalid(f"expected at least 2 dimensions for input tensor, got {fmt.shape(shape)}")
    if affine and shape[1] != channels:
        raise ctx.mismatch("num_channels", channels, shape, shape[1], "channels")
    if shape[1] % groups:
        raise ctx.invalid(
            f"Expected number of channels in input to be divisible by num_groups, but got input of shape "
            f"{fmt.shape(shape)} and num_groups={groups}"
        )
    params = _affine_params(channels, affine, bias)
    return Applied(shape, params, [f"shape unchanged; params = {params}"])


# --------------------------------------------------------------------------- shape-changing layers


def _linear_apply(ctx: Context, a: dict[str, Any], shape: Shape) -> Applied:
    in_features = _int(ctx, a["in_features"], "in_features")
    out_features = _int(ctx, a["out_features"], "out_features")
    bias = _bool(ctx, a["bias"], "bias")
    if in_features < 0 or out_features < 0:
        raise ctx.invalid("in_features and out_features must be non-negative")
    if shape[-1] != in_features:
        raise ctx.mismatch("in_features", in_features, shape, shape[-1], "features")
    params = in_features * out_features + (out_features if bias else 0)
    lines = [
        f"last dimension {in_features} -> {out_features}; params = in·out{' + out' if bias else ''} "
        f"= {in_features}·{out_features}{f' + {out_features}' if bias else ''} = {params}"
    ]
    return Applied((*shape[:-1], out_features), params, lines, [], "end")


def _normalize_dim(ctx: Context, dim: int, ndim: int, what: str) -> int:
    bound = max(ndim, 1)
    if not -bound <= dim < bound:
        raise ctx.invalid(
            f"{what}: Dimension out of range (expected to be in range of [{-bound}, {bound - 1}], but got {dim})"
        )
    return dim % bound


def _flatten_apply(ctx: Context, a: dict[str, Any], shape: Shape) -> Applied:
    start = _normalize_dim(ctx, _int(ctx, a["start_dim"], "start_dim"), len(shape), "start_dim")
    end = _normalize_dim(ctx, _int(ctx, a["end_dim"], "end_dim"), len(shape), "end_dim")
    if start > end:
        raise ctx.invalid("flatten() has invalid args: start_dim cannot come after end_dim")
    merged = math.prod(shape[start : end + 1])
    out = (*shape[:start], merged, *shape[end + 1 :])
    joined = "·".join(str(v) for v in shape[start : end + 1])
    return Applied(out, 0, [f"dimensions {start}..{end} merged: {joined} = {merged}"], [], "end")


def _unflatten_apply(ctx: Context, a: dict[str, Any], shape: Shape) -> Applied:
    dim = _normalize_dim(ctx, _int(ctx, a["dim"], "dim"), len(shape), "dim")
    sizes = a["unflattened_size"]
    if not (isinstance(sizes, tuple) and sizes and all(_is_int(v) for v in sizes)):
        raise ctx.bad(f"unflattened_size must be a tuple of whole numbers, got {sizes!r}")
    unknown = [i for i, v in enumerate(sizes) if v == -1]
    if len(unknown) > 1 or any(v < -1 for v in sizes):
        raise ctx.invalid(f"unflattened_size may hold one -1 and otherwise non-negative sizes, got {list(sizes)}")
    known = math.prod(v for v in sizes if v != -1)
    resolved = list(sizes)
    if unknown:
        if known == 0 or shape[dim] % known:
            raise ctx.invalid(
                f"unflatten: Provided sizes {list(sizes)} don't multiply up to the size of dim {dim} ({shape[dim]})"
            )
        resolved[unknown[0]] = shape[dim] // known
    elif known != shape[dim]:
        raise ctx.invalid(
            f"unflatten: Provided sizes {list(sizes)} don't multiply up to the size of dim {dim} ({shape[dim]})"
        )
    out = (*shape[:dim], *resolved, *shape[dim + 1 :])
    return Applied(out, 0, [f"dimension {dim} ({shape[dim]}) split into {resolved}"], [], "end")


_UPSAMPLE_MODES = {
    "nearest": None,
    "nearest-exact": None,
    "area": None,
    "linear": 3,
    "bilinear": 4,
    "bicubic": 4,
    "trilinear": 5,
}


def _upsample_apply(ctx: Context, a: dict[str, Any], shape: Shape) -> Applied:
    size, scale, mode = a["size"], a["scale_factor"], a["mode"]
    if mode not in _UPSAMPLE_MODES:
        raise ctx.bad(f"mode must be one of {', '.join(_UPSAMPLE_MODES)}, got {mode!r}")
    if (size is None) == (scale is None):
        raise ctx.invalid(
            "only one of size or scale_factor should be defined"
            if size is not None
            else "either size or scale_factor should be defined"
        )
    if len(shape) not in (3, 4, 5):
        raise ctx.invalid(f"Only 3D, 4D and 5D input Tensors supported (got {len(shape)}D)")
    if a["align_corners"] is not None and mode in ("nearest", "nearest-exact", "area"):
        raise ctx.invalid(
            "align_corners option can only be set with the interpolating modes: linear | bilinear | bicubic | trilinear"
        )
    needed = _UPSAMPLE_MODES[mode]
    if needed is not None and len(shape) != needed:
        raise ctx.invalid(f"Got {len(shape)}D input, but {mode} mode needs {needed}D input")
    n = len(shape) - 2
    sizes = shape[2:]
    if size is not None:
        if _is_int(size):
            spatial = [size] * n
        elif isinstance(size, tuple) and all(_is_int(v) for v in size):
            if len(size) != n:
                raise ctx.invalid(
                    f"Input and output must have the same number of spatial dimensions, but got input with "
                    f"spatial dimensions of {list(sizes)} and output size of {size}"
                )
            spatial = list(size)
        else:
            raise ctx.bad(f"size must be a whole number or a tuple of whole numbers, got {size!r}")
        lines = [f"size given: spatial {list(sizes)} -> {spatial}"]
    else:
        if isinstance(scale, tuple):
            if len(scale) != n:
                raise ctx.invalid(
                    f"Input and scale_factor must have the same number of spatial dimensions, but got input with "
                    f"spatial dimensions of {list(sizes)} and scale_factor of shape {scale}"
                )
            factors = [_float(ctx, v, "scale_factor") for v in scale]
        else:
            factors = [_float(ctx, scale, "scale_factor")] * n
        products = [float(s) * f for s, f in zip(sizes, factors, strict=True)]
        if not all(math.isfinite(v) and v < 2**62 for v in products):
            raise ctx.invalid(f"scale_factor {scale} makes the output too large to compute")
        spatial = [math.floor(v) for v in products]
        lines = [
            "out = ⌊in·scale_factor⌋: "
            + ", ".join(f"⌊{s}·{fmt.decimal(f)}⌋ = {o}" for s, f, o in zip(sizes, factors, spatial, strict=True))
        ]
    if any(v <= 0 for v in spatial):
        raise ctx.invalid(
            f"Input and output sizes should be greater than 0, but got input {list(sizes)} output {spatial}"
        )
    return Applied((*shape[:2], *spatial), 0, lines, [], "end")


# --------------------------------------------------------------------------- padding and rearranging layers

_SIDES = ("left", "right", "top", "bottom", "front", "back")
_AXIS_NAMES = ("W", "H", "D")


def _padding_tuple(ctx: Context, value: Any, n: int) -> tuple[int, ...]:
    """PyTorch's ``_ntuple(2n)``: an int for every side, or a tuple of ints kept as given (any length)."""
    if _is_int(value):
        return (value,) * (2 * n)
    if isinstance(value, tuple) and all(_is_int(v) for v in value):
        return value
    raise ctx.bad(f"padding must be a whole number or a tuple of whole numbers, got {value!r}")


def _axis_name(axis: int, shape: Shape, named: int) -> str:
    """``W``, ``H``, ``D`` for the last ``named`` axes (the layer's own), ``dim i`` for any other."""
    from_end = len(shape) - 1 - axis
    return _AXIS_NAMES[from_end] if from_end < named else f"dim {axis}"


def _padded_sizes(pads: tuple[int, ...], shape: Shape) -> list[tuple[int, int, int, int]]:
    """(axis, size, before, after) per padded axis, outermost first; pads run from the last axis back."""
    m = len(pads) // 2
    return [(len(shape) - 1 - i, shape[len(shape) - 1 - i], pads[2 * i], pads[2 * i + 1]) for i in reversed(range(m))]


def _pad_output(mode: str, pads: tuple[int, ...], shape: Shape, ctx: Context) -> Shape:
    """Output shape of ``F.pad(input, pads, mode)``, refusing what PyTorch refuses, in its order.

    Every padded axis becomes ``out = in + before + after`` (pads are ``(left, right, top, bottom,
    front, back)``: the last axis first). Constant: negative pads crop (each crop at most the size
    left). Reflect: ``|pad| < in`` on each side. Circular: each pad at most ``in`` and ``out ≥ 0``.
    Reflect/replicate: non-zero sizes besides the batch, and not every padded axis below 1.
    """
    ndim = len(shape)
    if len(pads) % 2:
        raise ctx.invalid("Padding length must be divisible by 2")
    if len(pads) > 2 * ndim:
        raise ctx.invalid(
            "Padding length should be less than or equal to two times the input dimension but got "
            f"padding length {len(pads)} and input of dimension {ndim}"
        )
    axes = _padded_sizes(pads, shape)
    out = list(shape)
    if mode == "constant":
        for axis, size, before, after in axes:
            cropped = size + min(before, 0)
            if cropped < 0 or cropped + min(after, 0) < 0:
                raise ctx.invalid(
                    f"narrow(): length must be non-negative (padding ({before}, {after}) crops more than "
                    f"the {size} entries of dimension {axis})"
                )
            out[axis] = size + before + after
        return tuple(out)
    m = len(pads) // 2
    if m not in (1, 2, 3) or ndim not in (m + 1, m + 2):
        raise ctx.invalid(f"Padding size {len(pads)} is not supported for {ndim}D input tensor.")
    if mode == "circular":
        for axis, size, before, after in axes:
            if before > size or after > size:
                raise ctx.invalid(
                    f"Padding value causes wrapping around more than once (padding ({before}, {after}) "
                    f"on dimension {axis} of size {size})"
                )
            if size + before + after < 0:
                raise ctx.invalid(
                    f"Negative padding value is resulting in an empty dimension ({size} + {before} + {after} "
                    f"on dimension {axis})"
                )
            out[axis] = size + before + after
        _circular_copies(ctx, axes, out)
        return tuple(out)
    non_batch = shape[1:] if ndim == m + 2 else shape
    if 0 in non_batch:
        raise ctx.invalid(
            f"Expected {m + 1}D or {m + 2}D (batch mode) tensor with possibly 0 batch size and other non-zero "
            f"dimensions for input, but got: {fmt.shape(shape)}"
        )
    if mode == "reflect":
        for i, (axis, size, before, after) in enumerate(reversed(axes)):
            if before >= size or after >= size:
                raise ctx.invalid(
                    f"Argument #{4 + 2 * i}: Padding size should be less than the corresponding input dimension, "
                    f"but got: padding ({before}, {after}) at dimension {axis} of input {fmt.shape(shape)}"
                )
    for axis, size, before, after in axes:
        out[axis] = size + before + after
    if all(out[axis] < 1 for axis, _, _, _ in axes):
        names = _AXIS_NAMES[:m][::-1]
        sizes = ", ".join(f"{name}: {shape[axis]}" for name, (axis, _, _, _) in zip(names, axes, strict=True))
        outs = " ".join(f"{name}: {out[axis]}" for name, (axis, _, _, _) in zip(names, axes, strict=True))
        raise ctx.invalid(f"input ({sizes}) is too small. Calculated output {outs}")
    negative = [out[axis] for axis, _, _, _ in axes if out[axis] < 0]
    if negative:
        raise ctx.invalid(f"Trying to create tensor with negative dimension {negative[0]}: {fmt.shape(out)}")
    return tuple(out)


def _slice(size: int, start: int, end: int) -> tuple[int, int]:
    """(start, length) of ATen's ``slice(start, end)`` on an axis of ``size``: negative ends wrap once, then clamp."""
    start, end = (v + size if v < 0 else v for v in (start, end))
    start = min(max(start, 0), size)
    return start, min(max(end, start), size) - start


def _circular_copies(ctx: Context, axes: list[tuple[int, int, int, int]], out: list[int]) -> None:
    """Circular padding copies slices (the input's kept part, then each wrapped side); refuse what PyTorch refuses.

    A copy needs the source length equal to the destination's, or 1 (broadcast), and a wrapped side
    may not partly overlap the part it is copied from where PyTorch can see it (a contiguous slice).
    With a positive pad on one side and a crop on the other that removes more than the pad adds,
    PyTorch's slices disagree.
    """
    overlap = (
        "unsupported operation: some elements of the input tensor and the written-to tensor refer to a single "
        "memory location. Please clone() the tensor before performing the operation."
    )
    targets, sources = list(out), list(out)
    for axis, size, before, after in axes:
        targets[axis] = _slice(out[axis], max(before, 0), out[axis] - max(after, 0))[1]
        sources[axis] = _slice(size, max(-before, 0), size - max(-after, 0))[1]
    copies: list[tuple[list[int], list[int], bool]] = [(targets, sources, False)]
    for axis, _, before, after in reversed(axes):
        total, kept_left, kept_right = out[axis], max(before, 0), max(after, 0)
        sides = []
        if before > 0:
            sides.append((_slice(total, 0, before), _slice(total, total - before - kept_right, total - kept_right)))
        if after > 0:
            sides.append((_slice(total, total - after, total), _slice(total, kept_left, kept_left + after)))
        for (target_start, target_length), (source_start, source_length) in sides:
            target, source = list(out), list(out)
            target[axis], source[axis] = target_length, source_length
            shared = min(target_start + target_length, source_start + source_length) - max(target_start, source_start)
            dense = all(v == 1 for v in out[:axis])  # else PyTorch cannot tell overlap and lets it pass
            partial = shared > 0 and (target_start, target_length) != (source_start, source_length)
            copies.append((target, source, dense and partial and 0 not in target))
    for target, source, overlapping in copies:
        if overlapping:
            raise ctx.invalid(overlap)
        for axis in reversed(range(len(out))):
            if target[axis] != source[axis] and source[axis] != 1:
                if target[axis] == 1:
                    broadcast = [t if t != 1 else v for t, v in zip(target, source, strict=True)]
                    raise ctx.invalid(
                        f"output with shape {fmt.shape(target)} doesn't match the broadcast shape "
                        f"{fmt.shape(broadcast)}"
                    )
                raise ctx.invalid(
                    f"The size of tensor a ({target[axis]}) must match the size of tensor b ({source[axis]}) at "
                    f"non-singleton dimension {axis} (circular padding copies slices of unequal length)"
                )


def _pad_apply(n: int, mode: str) -> Callable[[Context, dict[str, Any], Shape], Applied]:
    """ZeroPad/ConstantPad/ReflectionPad/ReplicationPad/CircularPad{n}d: ``out = in + before + after``."""

    def apply(ctx: Context, a: dict[str, Any], shape: Shape) -> Applied:
        pads = _padding_tuple(ctx, a["padding"], n)
        if "value" in a and (not isinstance(a["value"], int | float)):
            raise ctx.bad(f"value must be a number, got {a['value']!r}")
        if mode == "circular" and len(shape) not in (n + 1, n + 2):
            raise ctx.invalid(f"expected {n + 1}D or {n + 2}D input (got {len(shape)}D input)")
        out = _pad_output(mode, pads, shape, ctx)
        axes = _padded_sizes(pads, shape)
        sides = ", ".join(_SIDES[: len(pads)]) if len(pads) <= len(_SIDES) else "before, after per dimension"
        named = n if len(pads) == 2 * n else 0
        terms = [
            f"{_axis_name(axis, shape, named)} {size} + {before} + {after} = {out[axis]}"
            for axis, size, before, after in axes
        ]
        given = ", ".join(map(str, pads))
        lines = [
            f"padding ({sides}) = ({given}); out = in + before + after: "
            f"{', '.join(terms) or 'nothing padded'}; no parameters"
        ]
        return Applied(out, 0, lines)

    return apply


def _pixel_checks(ctx: Context, a: dict[str, Any], shape: Shape, op: str, argument: str) -> int:
    factor = _int(ctx, a[argument], argument)
    if len(shape) < 3:
        raise ctx.invalid(
            f"{op} expects input to have at least 3 dimensions, but got input with {len(shape)} dimension(s)"
        )
    if factor <= 0:
        raise ctx.invalid(f"{op} expects a positive {argument}, but got {factor}")
    return factor


def _pixel_shuffle_apply(ctx: Context, a: dict[str, Any], shape: Shape) -> Applied:
    """PixelShuffle(r): ``(*, C, H, W) -> (*, C/r², H·r, W·r)``, C divisible by r²."""
    r = _pixel_checks(ctx, a, shape, "pixel_shuffle", "upscale_factor")
    channels, height, width = shape[-3:]
    if channels % (r * r):
        raise ctx.invalid(
            "pixel_shuffle expects its input's 'channel' dimension to be divisible by the square of "
            f"upscale_factor, but input.size(-3)={channels} is not divisible by {r * r}"
        )
    out = (*shape[:-3], channels // (r * r), height * r, width * r)
    lines = [
        f"C/r² = {channels}/{r}² = {out[-3]}, H·r = {height}·{r} = {out[-2]}, W·r = {width}·{r} = {out[-1]}; "
        "no parameters"
    ]
    return Applied(out, 0, lines, [], "end")


def _pixel_unshuffle_apply(ctx: Context, a: dict[str, Any], shape: Shape) -> Applied:
    """PixelUnshuffle(r): ``(*, C, H, W) -> (*, C·r², H/r, W/r)``, H and W divisible by r.

    For the receptive field it is an r x r window with stride r (every output position gathers one block).
    """
    r = _pixel_checks(ctx, a, shape, "pixel_unshuffle", "downscale_factor")
    channels, height, width = shape[-3:]
    for name, offset, size in (("height", -2, height), ("width", -1, width)):
        if size % r:
            raise ctx.invalid(
                f"pixel_unshuffle expects {name} to be divisible by downscale_factor, but "
                f"input.size({offset})={size} is not divisible by {r}"
            )
    out = (*shape[:-3], channels * r * r, height // r, width // r)
    lines = [
        f"C·r² = {channels}·{r}² = {out[-3]}, H/r = {height}/{r} = {out[-2]}, W/r = {width}/{r} = {out[-1]}; "
        "no parameters"
    ]
    window: str | Geometry = "end"
    if len(shape) in (3, 4):
        window = Geometry("conv", (r, r), (r, r), (0, 0), (1, 1), (0, 0))
    return Applied(out, 0, lines, [], window)


def _channel_shuffle_apply(ctx: Context, a: dict[str, Any], shape: Shape) -> Applied:
    """ChannelShuffle(g): shape unchanged; the channels (dimension 1) must be divisible by g."""
    groups = _int(ctx, a["groups"], "groups")
    if len(shape) <= 2:
        raise ctx.invalid(f"channel_shuffle expects input with > 2 dims, but got input with sizes {fmt.shape(shape)}")
    if groups <= 0:
        raise ctx.invalid(f"Number of groups to divide channels in must be positive. Value of groups:{groups}")
    if shape[1] % groups:
        raise ctx.invalid(
            f"Number of channels must be divisible by groups. Got {shape[1]} channels and {groups} groups."
        )
    lines = [f"shape unchanged: C = {shape[1]} channels in {groups} groups of {shape[1] // groups}; no parameters"]
    return Applied(shape, 0, lines)


# --------------------------------------------------------------------------- pointwise layers


def _keep(ctx: Context, a: dict[str, Any], shape: Shape) -> Applied:
    return Applied(shape, 0, ["shape unchanged"])


def _dropout_apply(ctx: Context, a: dict[str, Any], shape: Shape) -> Applied:
    p = _float(ctx, a["p"], "p")
    _bool(ctx, a["inplace"], "inplace")
    if not 0 <= p <= 1:
        raise ctx.invalid(f"dropout probability has to be between 0 and 1, but got {a['p']}")
    return Applied(shape, 0, ["shape unchanged (no parameters)"])


def _softmax_apply(ctx: Context, a: dict[str, Any], shape: Shape) -> Applied:
    if a["dim"] is not None:
        _normalize_dim(ctx, _int(ctx, a["dim"], "dim"), len(shape), "dim")
    return Applied(shape, 0, ["shape unchanged"])


def _prelu_apply(ctx: Context, a: dict[str, Any], shape: Shape) -> Applied:
    count = _int(ctx, a["num_parameters"], "num_parameters")
    _float(ctx, a["init"], "init")
    if count < 1:
        raise ctx.invalid(f"num_parameters must be at least 1, got {count}")
    channels = shape[1] if len(shape) >= 2 else 1
    if count != 1 and count != channels:
        raise ctx.invalid(
            "Mismatch of parameter numbers and input channel size. "
            f"Found parameter numbers = {count} and channel size = {channels}."
        )
    return Applied(shape, count, [f"shape unchanged; params = num_parameters = {count}"])


_INPLACE = (("inplace", False),)
_DEVICE = (("device", None), ("dtype", None))
_CONV = (
    ("in_channels", REQUIRED),
    ("out_channels", REQUIRED),
    ("kernel_size", REQUIRED),
    ("stride", 1),
    ("padding", 0),
    ("dilation", 1),
    ("groups", 1),
    ("bias", True),
    ("padding_mode", "zeros"),
    *_DEVICE,
)
_CONV_TRANSPOSE = (
    ("in_channels", REQUIRED),
    ("out_channels", REQUIRED),
    ("kernel_size", REQUIRED),
    ("stride", 1),
    ("padding", 0),
    ("output_padding", 0),
    ("groups", 1),
    ("bias", True),
    ("dilation", 1),
    ("padding_mode", "zeros"),
    *_DEVICE,
)
_MAXPOOL = (
    ("kernel_size", REQUIRED),
    ("stride", None),
    ("padding", 0),
    ("dilation", 1),
    ("return_indices", False),
    ("ceil_mode", False),
)
_AVGPOOL1 = (
    ("kernel_size", REQUIRED),
    ("stride", None),
    ("padding", 0),
    ("ceil_mode", False),
    ("count_include_pad", True),
)
_AVGPOOL = (*_AVGPOOL1, ("divisor_override", None))
_NORM_KW = (("bias", True),)
_BATCHNORM = (
    ("num_features", REQUIRED),
    ("eps", 1e-5),
    ("momentum", 0.1),
    ("affine", True),
    ("track_running_stats", True),
    *_DEVICE,
)
_INSTANCENORM = (
    ("num_features", REQUIRED),
    ("eps", 1e-5),
    ("momentum", 0.1),
    ("affine", False),
    ("track_running_stats", False),
    *_DEVICE,
)
_DROPOUT = (("p", 0.5), ("inplace", False))


def _catalogue() -> dict[str, LayerSpec]:
    specs = [
        LayerSpec(
            "Linear", (("in_features", REQUIRED), ("out_features", REQUIRED), ("bias", True), *_DEVICE), _linear_apply
        ),
        LayerSpec("Flatten", (("start_dim", 1), ("end_dim", -1)), _flatten_apply),
        LayerSpec("Unflatten", (("dim", REQUIRED), ("unflattened_size", REQUIRED)), _unflatten_apply),
        LayerSpec(
            "Upsample",
            (
                ("size", None),
                ("scale_factor", None),
                ("mode", "nearest"),
                ("align_corners", None),
                ("recompute_scale_factor", None),
            ),
            _upsample_apply,
        ),
        LayerSpec("Identity", (), _keep, var_args=True),
        LayerSpec(
            "LayerNorm",
            (("normalized_shape", REQUIRED), ("eps", 1e-5), ("elementwise_affine", True), ("bias", True), *_DEVICE),
            _layernorm_apply,
        ),
        LayerSpec(
            "GroupNorm",
            (("num_groups", REQUIRED), ("num_channels", REQUIRED), ("eps", 1e-5), ("affine", True), *_DEVICE),
            _groupnorm_apply,
            keyword_only=_NORM_KW,
        ),
        LayerSpec("PReLU", (("num_parameters", 1), ("init", 0.25), *_DEVICE), _prelu_apply),
        LayerSpec("PixelShuffle", (("upscale_factor", REQUIRED),), _pixel_shuffle_apply),
        LayerSpec("PixelUnshuffle", (("downscale_factor", REQUIRED),), _pixel_unshuffle_apply),
        LayerSpec("ChannelShuffle", (("groups", REQUIRED),), _channel_shuffle_apply),
    ]
    for n in (1, 2, 3):
        specs += [
            LayerSpec(f"Conv{n}d", _CONV, _conv_apply(n, transposed=False)),
            LayerSpec(f"ConvTranspose{n}d", _CONV_TRANSPOSE, _conv_apply(n, transposed=True)),
            LayerSpec(f"MaxPool{n}d", _MAXPOOL, _pool_apply(n, "maxpool")),
            LayerSpec(f"AvgPool{n}d", _AVGPOOL1 if n == 1 else _AVGPOOL, _pool_apply(n, "avgpool")),
            LayerSpec(f"AdaptiveAvgPool{n}d", (("output_size", REQUIRED),), _adaptive_apply(n)),
            LayerSpec(
                f"AdaptiveMaxPool{n}d", (("output_size", REQUIRED), ("return_indices", False)), _adaptive_apply(n)
            ),
            LayerSpec(f"BatchNorm{n}d", _BATCHNORM, _batchnorm_apply(n), keyword_only=_NORM_KW),
            LayerSpec(f"InstanceNorm{n}d", _INSTANCENORM, _instancenorm_apply(n), keyword_only=_NORM_KW),
            LayerSpec(f"Dropout{n}d", _DROPOUT, _dropout_apply),
            LayerSpec(f"ZeroPad{n}d", (("padding", REQUIRED),), _pad_apply(n, "constant")),
            LayerSpec(f"ConstantPad{n}d", (("padding", REQUIRED), ("value", REQUIRED)), _pad_apply(n, "constant")),
            LayerSpec(f"ReflectionPad{n}d", (("padding", REQUIRED),), _pad_apply(n, "reflect")),
            LayerSpec(f"ReplicationPad{n}d", (("padding", REQUIRED),), _pad_apply(n, "replicate")),
            LayerSpec(f"CircularPad{n}d", (("padding", REQUIRED),), _pad_apply(n, "circular")),
        ]
    for name in ("Dropout", "AlphaDropout", "FeatureAlphaDropout"):
        specs.append(LayerSpec(name, _DROPOUT, _dropout_apply))
    pointwise: dict[str, tuple[tuple[str, Any], ...]] = {
        "ReLU": _INPLACE,
        "ReLU6": _INPLACE,
        "SELU": _INPLACE,
        "SiLU": _INPLACE,
        "Mish": _INPLACE,
        "Hardswish": _INPLACE,
        "Hardsigmoid": _INPLACE,
        "LeakyReLU": (("negative_slope", 0.01), *_INPLACE),
        "ELU": (("alpha", 1.0), *_INPLACE),
        "CELU": (("alpha", 1.0), *_INPLACE),
        "GELU": (("approximate", "none"),),
        "Hardtanh": (("min_val", -1.0), ("max_val", 1.0), *_INPLACE, ("min_value", None), ("max_value", None)),
        "Softplus": (("beta", 1.0), ("threshold", 20.0)),
        "Threshold": (("threshold", REQUIRED), ("value", REQUIRED), *_INPLACE),
        "RReLU": (("lower", 0.125), ("upper", 1 / 3), *_INPLACE),
        "Hardshrink": (("lambd", 0.5),),
        "Softshrink": (("lambd", 0.5),),
        "Sigmoid": (),
        "Tanh": (),
        "Softsign": (),
        "Tanhshrink": (),
        "LogSigmoid": (),
    }
    specs += [LayerSpec(name, params, _keep) for name, params in pointwise.items()]
    for name in ("Softmax", "LogSoftmax", "Softmin"):
        specs.append(LayerSpec(name, (("dim", None),), _softmax_apply))
    return {spec.name: spec for spec in specs}


CATALOGUE: dict[str, LayerSpec] = _catalogue()


# --------------------------------------------------------------------------- binding and the network


def bind(call: LayerCall, spec: LayerSpec, ctx: Context) -> dict[str, Any]:
    """Bind a call's arguments to the constructor's parameters, as Python would."""
    if spec.var_args:
        return {}
    names = [name for name, _ in spec.params]
    if len(call.args) > len(names):
        raise ctx.bad(f"{spec.name}() takes at most {len(names)} positional arguments but {len(call.args)} were given")
    bound = dict(zip(names, call.args, strict=False))
    keyword_names = {name for name, _ in spec.keyword_only}
    for key, value in call.kwargs.items():
        if key in bound:
            raise ctx.bad(f"{spec.name}() got multiple values for argument '{key}'")
        if key not in names and key not in keyword_names:
            raise ctx.bad(f"{spec.name}() got an unexpected keyword argument '{key}'")
        bound[key] = value
    for name, default in (*spec.params, *spec.keyword_only):
        if name not in bound:
            if default is REQUIRED:
                raise ctx.bad(f"{spec.name}() missing required argument '{name}'")
            bound[name] = default
    return bound


@dataclass
class LayerRow:
    """One applied layer, as shown in the table and the JSON answer."""

    layer: str
    shape: Shape
    params: int
    receptive_field: list[int] | None
    jump: list[int] | None
    step: Step


def _rf_text(values: list[int] | None) -> str:
    if values is None:
        return "-"
    return str(values[0]) if len(set(values)) == 1 else "x".join(map(str, values))


def _short(source: str) -> str:
    text = " ".join(source.split())
    for prefix in ("torch.nn.", "nn."):
        if text.startswith(prefix):
            text = text[len(prefix) :]
    return text


def network_shape(input_shape: Sequence[int], calls: Sequence[LayerCall]) -> Solution:
    """Trace ``input_shape`` through the layers; the output shape, parameters, receptive field of each."""
    shape: Shape = tuple(input_shape)
    rf: list[int] | None = None
    jump: list[int] | None = None
    started = False  # a conv/pool window has been seen (receptive field defined)
    ended = False  # a non-local layer ended the receptive field
    rows: list[LayerRow] = []
    warnings: list[str] = []
    for index, call in enumerate(calls, 1):
        name = _short(call.source)
        ctx = Context(index, call.name, name)
        spec = CATALOGUE.get(call.name)
        if spec is None:
            raise BadInput(
                f"line {call.line}: unknown layer {call.name!r}; known layers include Conv2d, ConvTranspose2d, "
                "MaxPool2d, AvgPool2d, BatchNorm2d, ReLU, Flatten, Linear, Upsample, ReflectionPad2d, PixelShuffle "
                "(see README)",
                option="--net",
            )
        applied = spec.apply(ctx, bind(call, spec, ctx), shape)
        warnings.extend(f"layer {index} ({name}): {warning}" for warning in applied.warnings)
        if isinstance(applied.receptive, Geometry) and not ended:
            g = applied.receptive
            if not started or rf is None or jump is None or len(rf) != g.dims:
                rf, jump, started = [1] * g.dims, [1] * g.dims, True
            rf = [r + d * (k - 1) * j for r, k, d, j in zip(rf, g.kernel, g.dilation, jump, strict=True)]
            jump = [j * s for j, s in zip(jump, g.stride, strict=True)]
            applied.lines.append(
                f"receptive field = rf_in + d(k−1)·jump_in = {_rf_text(rf)}, jump = jump_in·s = {_rf_text(jump)}"
            )
        elif applied.receptive == "end":
            ended, rf, jump = True, None, None
        lines = [*applied.lines, f"output shape {fmt.shape(applied.shape)}"]
        step = Step(f"Layer {index}: {name}", "\n".join(lines), " \\\\ ".join(applied.latex))
        rows.append(LayerRow(name, applied.shape, applied.params, rf, jump, step))
        shape = applied.shape
    total = sum(row.params for row in rows)
    table = Table(
        columns=["Layer", "Output shape", "Params", "RF", "Jump"],
        rows=[["Input", fmt.shape(input_shape), "", "", ""]]
        + [
            [
                f"{i}. {row.layer}",
                fmt.shape(row.shape),
                f"{row.params:,}",
                _rf_text(row.receptive_field),
                _rf_text(row.jump),
            ]
            for i, row in enumerate(rows, 1)
        ]
        + [["Total", "", f"{total:,}", "", ""]],
        title="Layers (params: trainable; RF and jump in input pixels)",
    )
    counted = [str(row.params) for row in rows if row.params]
    total_text = f"total parameters = {' + '.join(counted) if counted else '0'} = {total} (all trainable)"
    steps = [
        Step("Network", f"input {fmt.shape(input_shape)} through {len(rows)} layers", blocks=[table]),
        *[row.step for row in rows],
        Step("Totals", total_text, f"\\text{{params}} = {total}"),
    ]
    return Solution(
        command="conv-shape",
        inputs={"input": list(input_shape), "net": [call.source for call in calls]},
        answer={
            "shape": list(shape),
            "params": total,
            "layers": [
                {
                    "layer": row.layer,
                    "shape": list(row.shape),
                    "params": row.params,
                    "receptive_field": row.receptive_field,
                    "jump": row.jump,
                }
                for row in rows
            ],
        },
        summary=f"output shape {fmt.shape(shape)}, {total:,} parameters",
        quiet=" ".join(str(v) for v in shape),
        steps=steps,
        warnings=warnings,
        answer_latex=fmt.shape(shape),
    )
