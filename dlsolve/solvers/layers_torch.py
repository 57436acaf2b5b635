"""PyTorch's conv, pooling, normalization, shape-changing and pointwise layers for ``conv-shape --net``:
for each, the output shape, the trainable parameters and the working (see :mod:`dlsolve.solvers.layers`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

from dlsolve import fmt
from dlsolve.solvers.conv_geometry import Geometry, dimension_steps, floor_warnings, params_working, spatial_output
from dlsolve.solvers.layers_args import (
    Applied,
    Context,
    Shape,
    _bool,
    _channel_axis,
    _expect_ndim,
    _float,
    _int,
    _ints,
    _is_int,
    _spatial_ndim,
)

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
        params, params_text, params_latex = params_working(transposed, kernel, in_channels, out_channels, groups, bias)
        lines.append(params_text)
        latex.append(params_latex)
        receptive = "end" if transposed else geometry
        warnings = floor_warnings(geometry, sizes, spatial)
        # each weight once per batch item and output position (transposed: per input position); no bias
        weights = params - (out_channels if bias else 0)
        positions = [*shape[:axis], *(sizes if transposed else spatial)]
        return Applied(
            (*shape[:axis], out_channels, *spatial),
            params,
            lines,
            latex,
            receptive,
            warnings,
            compute_macs=math.prod(positions) * weights,
            compute_formula="·".join(map(str, [*positions, weights])),
        )

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


def _lrn_apply(ctx: Context, a: dict[str, Any], shape: Shape) -> Applied:
    """LocalResponseNorm(size, alpha, beta, k): each value divided by (k + α/n·Σ of squares over n channels)^β;
    the shape is unchanged and there are no parameters (AlexNet's normalization)."""
    size = _int(ctx, a["size"], "size")
    for name in ("alpha", "beta", "k"):
        _float(ctx, a[name], name)
    if len(shape) < 3:
        raise ctx.invalid(f"Expected 3D or higher dimensionality input (got {len(shape)} dimensions)")
    if size < 1:
        raise ctx.invalid(f"size must be at least 1, got {size}")
    return Applied(
        shape, 0, [f"shape unchanged: each value is normalized over {size} neighbouring channels; no parameters"]
    )


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
        error = ctx.mismatch("in_features", in_features, shape, shape[-1], "features")
        if len(shape) >= 3:
            flat = math.prod(shape[1:])
            error = ctx.invalid(
                f"{error.message.split(': ', 1)[1]}; a Linear acts on the last dimension only: add Flatten() before "
                f"it to make {fmt.shape((shape[0], flat))}"
                + (f" (then in_features = {flat} fits)" if flat != in_features else " (in_features fits then)")
            )
        raise error
    params = in_features * out_features + (out_features if bias else 0)
    lines = [
        f"last dimension {in_features} -> {out_features}; params = in·out{' + out' if bias else ''} "
        f"= {in_features}·{out_features}{f' + {out_features}' if bias else ''} = {params}"
    ]
    out = (*shape[:-1], out_features)
    # every position (all leading axes) times in·out; the bias add is not a product
    compute = {
        "compute_macs": math.prod(shape[:-1]) * in_features * out_features,
        "compute_formula": "·".join(map(str, [*shape[:-1], f"({in_features}·{out_features})"]))
        if len(shape) > 1
        else f"{in_features}·{out_features}",
    }
    if len(shape) < 3 or not params:
        return Applied(out, params, lines, [], "end", **compute)
    # torchinfo multiplies by the first axis alone: say what a count per position would be
    positions = "·".join(str(v) for v in shape[:-1])
    note = (
        "torchinfo counts the parameters once per entry of the first axis only; once per position it would be "
        f"{positions}·{params} = {math.prod(shape[:-1]) * params:,}"
    )
    return Applied(
        out,
        params,
        lines,
        [],
        "end",
        macs=shape[0] * params,
        macs_formula=f"{shape[0]}·{params}",
        macs_note=note,
        **compute,
    )


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
