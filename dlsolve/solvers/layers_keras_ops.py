"""The Keras layers of ``conv-shape --net`` (see :mod:`dlsolve.solvers.layers_keras` for the conventions):
argument checks as Keras makes them, and for each layer the output shape ``(None, ..., C)``, its
trainable and non-trainable parameters and the working.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from dlsolve.solvers.conv_geometry import Geometry, dimension_steps, floor_warnings, spatial_output
from dlsolve.solvers.layers_args import Context, _is_int

KShape = tuple[int | None, ...]

ACTIVATIONS = frozenset(
    (
        "celu",
        "elu",
        "exponential",
        "gelu",
        "glu",
        "hard_shrink",
        "hard_sigmoid",
        "hard_silu",
        "hard_swish",
        "hard_tanh",
        "leaky_relu",
        "linear",
        "log_sigmoid",
        "log_softmax",
        "mish",
        "relu",
        "relu6",
        "selu",
        "sigmoid",
        "silu",
        "soft_shrink",
        "softmax",
        "softplus",
        "softsign",
        "sparse_plus",
        "sparse_sigmoid",
        "sparsemax",
        "squareplus",
        "swish",
        "tanh",
        "tanh_shrink",
        "threshold",
    )
)


@dataclass
class KerasOut:
    """What one Keras layer does: output shape, trainable and non-trainable parameters, working."""

    shape: KShape
    trainable: int = 0
    non_trainable: int = 0
    lines: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def snake_case(name: str) -> str:
    """Keras's ``to_snake_case``: ``MaxPooling2D`` -> ``max_pooling2d`` (the default layer name)."""
    name = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", name).lower()


def _shape_text(shape: KShape) -> str:
    return "(" + ", ".join("None" if v is None else str(v) for v in shape) + ("," if len(shape) == 1 else "") + ")"


# --------------------------------------------------------------------------- argument checks


def _int(ctx: Context, value: Any, what: str, minimum: int = 0) -> int:
    if not _is_int(value):
        raise ctx.bad(f"{what} must be a whole number, got {value!r}")
    if value < minimum:
        raise ctx.invalid(
            f"Invalid value for argument `{what}`. Expected a value >= {minimum}. Received {what}={value}"
        )
    return value


def _tuple(ctx: Context, value: Any, n: int, what: str, minimum: int = 1) -> tuple[int, ...]:
    """Keras's ``standardize_tuple``: an int for every dimension or a tuple (list) of ``n`` ints."""
    values = (value,) * n if _is_int(value) else value
    if not (isinstance(values, tuple) and len(values) == n and all(_is_int(v) for v in values)):
        raise ctx.bad(f"The `{what}` argument must be a tuple of {n} integers. Received {what}={value!r}")
    if any(v < minimum for v in values):
        raise ctx.invalid(
            f"The `{what}` argument must be a tuple of {n} integers >= {minimum}. Received {what}={value!r}"
        )
    return values


def _bool(ctx: Context, value: Any, what: str) -> bool:
    if not isinstance(value, bool):
        raise ctx.bad(f"{what} must be True or False, got {value!r}")
    return value


def _padding(ctx: Context, value: Any, causal: bool = False) -> str:
    allowed = ("valid", "same", "causal") if causal else ("valid", "same")
    if not isinstance(value, str) or value.lower() not in allowed:
        raise ctx.bad(f"The `padding` argument must be one of {', '.join(map(repr, allowed))}. Received: {value!r}")
    return value.lower()


def _channels_last(ctx: Context, a: dict[str, Any]) -> None:
    if a.get("data_format") not in (None, "channels_last"):
        raise ctx.bad("only data_format='channels_last' (Keras's default) is traced; give shapes as (H, W, C)")


def _activation(ctx: Context, value: Any) -> None:
    if value is not None and (not isinstance(value, str) or value not in ACTIVATIONS):
        raise ctx.bad(f"Could not interpret activation function identifier: {value!r}")


def _ndim(ctx: Context, shape: KShape, ndim: int, minimum: bool = False) -> None:
    if len(shape) < ndim if minimum else len(shape) != ndim:
        kind = "min_ndim" if minimum else "ndim"
        raise ctx.invalid(
            f'Input 0 of layer "{ctx.name}" is incompatible with the layer: expected {kind}={ndim}, '
            f"found ndim={len(shape)}. Full shape received: {_shape_text(shape)}"
        )


def _known(ctx: Context, shape: KShape) -> tuple[int, ...]:
    if any(v is None for v in shape[1:]):
        raise ctx.invalid(f"the input shape {_shape_text(shape)} has an unknown size; give every size")
    return tuple(v for v in shape[1:] if v is not None)


# --------------------------------------------------------------------------- conv and pooling


def _conv(n: int, kind: str) -> Callable[[Context, dict[str, Any], KShape], KerasOut]:
    """ConvND, ConvNDTranspose, DepthwiseConv2D (kind "depthwise"), SeparableConv2D ("separable")."""

    def apply(ctx: Context, a: dict[str, Any], shape: KShape) -> KerasOut:
        kernel = _tuple(ctx, a["kernel_size"], n, "kernel_size")
        strides = _tuple(ctx, a["strides"], n, "strides")
        dilation = _tuple(ctx, a["dilation_rate"], n, "dilation_rate")
        padding = _padding(ctx, a["padding"], causal=kind == "conv" and n == 1)
        use_bias = _bool(ctx, a["use_bias"], "use_bias")
        _channels_last(ctx, a)
        _activation(ctx, a["activation"])
        filters = None if kind == "depthwise" else _int(ctx, a["filters"], "filters", 1)
        multiplier = _int(ctx, a["depth_multiplier"], "depth_multiplier", 1) if "depth_multiplier" in a else 1
        groups = _int(ctx, a["groups"], "groups", 1) if "groups" in a else 1
        output_padding = a.get("output_padding")
        ops: tuple[int | None, ...] = (None,) * n
        if output_padding is not None:
            ops = _tuple(ctx, output_padding, n, "output_padding", 0)
        if filters is not None and filters % groups:
            raise ctx.invalid(
                "The number of filters must be evenly divisible by the number of groups. "
                f"Received: groups={groups}, filters={filters}."
            )
        _ndim(ctx, shape, n + 2)
        sizes = _known(ctx, shape)
        channels = sizes[-1]
        if channels % groups:
            raise ctx.invalid(
                f"The number of input channels must be evenly divisible by the number of groups. Received "
                f"groups={groups}, but the input has {channels} channels (full input shape is {_shape_text(shape)})."
            )
        geometry = Geometry(
            "transposed" if kind == "transposed" else "conv",
            kernel,
            strides,
            "same" if padding == "causal" else padding,
            dilation,
            ops,
            framework="keras",
        )
        spatial = spatial_output(geometry, sizes[:-1], where=ctx.where(), option="--net")
        lines = [step.text for step in dimension_steps(geometry, sizes[:-1])]
        if padding == "causal":
            lines.append("causal padding: d(k − 1) zeros on the left only; the length is as for SAME with stride 1")
        k_text = "·".join(map(str, kernel))
        k_prod = math.prod(kernel)
        if kind == "depthwise":
            out_channels = channels * multiplier
            params = k_prod * channels * multiplier + (out_channels if use_bias else 0)
            lines.append(
                f"params = ∏k·C·depth_multiplier{' + C·dm' if use_bias else ''} = {k_text}·{channels}·{multiplier}"
                         f"{f' + {out_channels}' if use_bias else ''} = {params}")  # fmt: skip
        elif kind == "separable":
            assert filters is not None
            out_channels = filters
            depthwise = k_prod * channels * multiplier
            pointwise = channels * multiplier * filters
            params = depthwise + pointwise + (filters if use_bias else 0)
            lines.append(
                f"params = depthwise ∏k·C·dm + pointwise C·dm·filters{' + filters' if use_bias else ''} = "
                f"{k_text}·{channels}·{multiplier} + {channels}·{multiplier}·{filters}"
                f"{f' + {filters}' if use_bias else ''} = {params}"
            )
        else:
            assert filters is not None
            out_channels = filters
            per_group = channels // groups if kind == "conv" else channels
            params = k_prod * per_group * filters + (filters if use_bias else 0)
            cin = f"({channels}/{groups})" if groups != 1 else f"{channels}"
            lines.append(
                f"params = ∏k·{'(C_in/groups)' if groups != 1 else 'C_in'}·filters{' + filters' if use_bias else ''} "
                f"= {k_text}·{cin}·{filters}{f' + {filters}' if use_bias else ''} = {params}"
            )
        warnings = floor_warnings(geometry, sizes[:-1], spatial) if kind != "transposed" else []
        return KerasOut((shape[0], *spatial, out_channels), params, 0, lines, warnings)

    return apply


def _pool(n: int) -> Callable[[Context, dict[str, Any], KShape], KerasOut]:
    def apply(ctx: Context, a: dict[str, Any], shape: KShape) -> KerasOut:
        size = _tuple(ctx, a["pool_size"], n, "pool_size")
        strides = size if a["strides"] is None else _tuple(ctx, a["strides"], n, "strides")
        padding = _padding(ctx, a["padding"])
        _channels_last(ctx, a)
        _ndim(ctx, shape, n + 2)
        sizes = _known(ctx, shape)
        geometry = Geometry("maxpool", size, strides, padding, (1,) * n, (0,) * n, framework="keras")
        spatial = spatial_output(geometry, sizes[:-1], where=ctx.where(), option="--net")
        lines = [step.text for step in dimension_steps(geometry, sizes[:-1])]
        if a["strides"] is None:
            lines.insert(0, f"strides default to pool_size = {size[0] if len(set(size)) == 1 else size}")
        warnings = floor_warnings(geometry, sizes[:-1], spatial)
        return KerasOut((shape[0], *spatial, sizes[-1]), 0, 0, [*lines, "no parameters"], warnings)

    return apply


def _global_pool(n: int) -> Callable[[Context, dict[str, Any], KShape], KerasOut]:
    def apply(ctx: Context, a: dict[str, Any], shape: KShape) -> KerasOut:
        _channels_last(ctx, a)
        keepdims = _bool(ctx, a["keepdims"], "keepdims")
        _ndim(ctx, shape, n + 2)
        out = (shape[0], *([1] * n), shape[-1]) if keepdims else (shape[0], shape[-1])
        return KerasOut(out, 0, 0, [f"one value per channel over the {n}-D positions; no parameters"])

    return apply


# --------------------------------------------------------------------------- dense, normalization, recurrent


def _dense(ctx: Context, a: dict[str, Any], shape: KShape) -> KerasOut:
    units = _int(ctx, a["units"], "units", 1)
    use_bias = _bool(ctx, a["use_bias"], "use_bias")
    _activation(ctx, a["activation"])
    _ndim(ctx, shape, 2, minimum=True)
    features = shape[-1]
    if features is None:
        raise ctx.invalid("the last dimension of the inputs to a Dense layer should be defined. Found None.")
    params = features * units + (units if use_bias else 0)
    lines = [
        f"last axis {features} -> {units}; params = in·units{' + units' if use_bias else ''} = "
        f"{features}·{units}{f' + {units}' if use_bias else ''} = {params}"
    ]
    warnings = []
    if len(shape) > 2:
        lines.append(f"Dense acts on the last axis only: the other axes {_shape_text(shape[:-1])} stay")
        warnings.append(
            "Dense on a tensor of rank > 2 acts on the last axis only; add Flatten() before it for a classifier"
        )
    return KerasOut((*shape[:-1], units), params, 0, lines, warnings)


def _batchnorm(ctx: Context, a: dict[str, Any], shape: KShape) -> KerasOut:
    axis = a["axis"]
    center, scale = _bool(ctx, a["center"], "center"), _bool(ctx, a["scale"], "scale")
    if not _is_int(axis):
        raise ctx.bad(f"axis must be a whole number, got {axis!r}")
    if not -len(shape) <= axis < len(shape) or axis % len(shape) == 0:
        raise ctx.invalid(f"Invalid axis: {axis} for the input {_shape_text(shape)}")
    channels = shape[axis]
    assert channels is not None
    trainable = channels * (int(center) + int(scale))
    lines = [
        f"shape unchanged; {channels} features on axis {axis}: γ{' and β' if center and scale else ''} trainable "
        f"({trainable}), moving mean and variance non-trainable (2·{channels} = {2 * channels})"
    ]
    return KerasOut(shape, trainable, 2 * channels, lines)


def _recurrent(gates: int) -> Callable[[Context, dict[str, Any], KShape], KerasOut]:
    """SimpleRNN (1 gate), GRU (3), LSTM (4): units·(F + units + bias) per gate; GRU reset_after: two biases."""

    def apply(ctx: Context, a: dict[str, Any], shape: KShape) -> KerasOut:
        units = _int(ctx, a["units"], "units", 1)
        use_bias = _bool(ctx, a["use_bias"], "use_bias")
        sequences = _bool(ctx, a["return_sequences"], "return_sequences")
        if _bool(ctx, a["return_state"], "return_state"):
            raise ctx.bad("return_state=True gives several outputs; a Sequential trace follows one tensor")
        reset_after = _bool(ctx, a["reset_after"], "reset_after") if "reset_after" in a else False
        _ndim(ctx, shape, 3)
        features = shape[-1]
        assert features is not None
        biases = (2 if reset_after else 1) * units if use_bias else 0
        params = gates * (features * units + units * units + biases)
        gate = f"{gates}·" if gates > 1 else ""
        bias_symbol = ("2u" if reset_after else "u") if use_bias else ""
        formula = f"{gate}(F·u + u·u{f' + {bias_symbol}' if bias_symbol else ''})"
        numbers = f"{gate}({features}·{units} + {units}·{units}{f' + {biases}' if biases else ''})"
        lines = [f"params = {formula} = {numbers} = {params}"]
        if reset_after and use_bias:
            lines.append("reset_after=True (Keras's default): an input bias and a recurrent bias, 2u per gate")
        lines.append(
            f"return_sequences={sequences}: the output is "
            + ("every step (None, T, units)" if sequences else "the last step (None, units)")
        )
        out = (shape[0], shape[1], units) if sequences else (shape[0], units)
        return KerasOut(out, params, 0, lines)

    return apply


def _embedding(ctx: Context, a: dict[str, Any], shape: KShape) -> KerasOut:
    vocabulary = _int(ctx, a["input_dim"], "input_dim", 1)
    dim = _int(ctx, a["output_dim"], "output_dim", 1)
    params = vocabulary * dim
    return KerasOut(
        (*shape, dim),
        params,
        0,
        [f"each index -> a vector of {dim}; params = input_dim·output_dim = {vocabulary}·{dim} = {params}"],
    )


# --------------------------------------------------------------------------- shape-changing and pointwise


def _flatten(ctx: Context, a: dict[str, Any], shape: KShape) -> KerasOut:
    _channels_last(ctx, a)
    sizes = _known(ctx, shape)
    size = math.prod(sizes)
    return KerasOut((shape[0], size), 0, 0, [f"{'·'.join(map(str, sizes))} = {size}; no parameters"])


def _reshape(ctx: Context, a: dict[str, Any], shape: KShape) -> KerasOut:
    target = a["target_shape"]
    if _is_int(target):
        target = (target,)
    if not (isinstance(target, tuple) and all(_is_int(v) for v in target)):
        raise ctx.bad(f"target_shape must be a tuple of whole numbers, got {target!r}")
    sizes = _known(ctx, shape)
    total = math.prod(sizes)
    unknown = [i for i, v in enumerate(target) if v == -1]
    known = math.prod(v for v in target if v != -1)
    if len(unknown) > 1 or any(v < -1 or v == 0 for v in target):
        raise ctx.invalid(f"There must be at most one unknown dimension (-1) in target_shape. Received: {target}")
    resolved = list(target)
    if unknown:
        if total % known:
            raise ctx.invalid(
                f"The total size of the tensor must be unchanged. Received: input_shape={_shape_text(shape)}, "
                f"target_shape={target}"
            )
        resolved[unknown[0]] = total // known
    elif known != total:
        raise ctx.invalid(
            f"The total size of the tensor must be unchanged. Received: input_shape={_shape_text(shape)}, "
            f"target_shape={target}"
        )
    return KerasOut((shape[0], *resolved), 0, 0, [f"{total} values as {tuple(resolved)}; no parameters"])


def _zero_padding(n: int) -> Callable[[Context, dict[str, Any], KShape], KerasOut]:
    def apply(ctx: Context, a: dict[str, Any], shape: KShape) -> KerasOut:
        value = a["padding"]
        if _is_int(value):
            pads = [(value, value)] * n
        elif isinstance(value, tuple) and len(value) == n and all(_is_int(v) for v in value):
            pads = [(v, v) for v in value]
        elif (
            isinstance(value, tuple)
            and len(value) == n
            and all(isinstance(p, tuple) and len(p) == 2 and all(_is_int(v) for v in p) for p in value)
        ):
            pads = [(p[0], p[1]) for p in value]
        elif n == 1 and isinstance(value, tuple) and len(value) == 2 and all(_is_int(v) for v in value):
            pads = [(value[0], value[1])]
        else:
            raise ctx.bad(
                f"`padding` should be an int, a tuple of {n} ints or a tuple of {n} (before, after) pairs. Received: "
                f"{value!r}"
            )
        if any(min(p) < 0 for p in pads):
            raise ctx.invalid(f"The `padding` argument must be a tuple of non-negative integers. Received: {value!r}")
        if "data_format" in a:
            _channels_last(ctx, a)
        _ndim(ctx, shape, n + 2)
        sizes = _known(ctx, shape)
        spatial = [s + b + e for s, (b, e) in zip(sizes[:-1], pads, strict=True)]
        terms = ", ".join(f"{s} + {b} + {e} = {o}" for s, (b, e), o in zip(sizes[:-1], pads, spatial, strict=True))
        return KerasOut((shape[0], *spatial, sizes[-1]), 0, 0, [f"out = in + before + after: {terms}; no parameters"])

    return apply


def _upsampling(n: int) -> Callable[[Context, dict[str, Any], KShape], KerasOut]:
    def apply(ctx: Context, a: dict[str, Any], shape: KShape) -> KerasOut:
        size = _tuple(ctx, a["size"], n, "size")
        if "data_format" in a:
            _channels_last(ctx, a)
        if a.get("interpolation", "nearest") not in ("nearest", "bilinear", "bicubic", "lanczos3", "lanczos5", "area"):
            raise ctx.bad(
                f"interpolation must be nearest, bilinear, bicubic, lanczos3, lanczos5 or area, got "
                f"{a['interpolation']!r}"
            )
        _ndim(ctx, shape, n + 2)
        sizes = _known(ctx, shape)
        spatial = [s * f for s, f in zip(sizes[:-1], size, strict=True)]
        terms = ", ".join(f"{s}·{f} = {o}" for s, f, o in zip(sizes[:-1], size, spatial, strict=True))
        return KerasOut((shape[0], *spatial, sizes[-1]), 0, 0, [f"out = in·size: {terms}; no parameters"])

    return apply


def _dropout(ctx: Context, a: dict[str, Any], shape: KShape) -> KerasOut:
    rate = a["rate"]
    if isinstance(rate, bool) or not isinstance(rate, int | float) or not 0 <= rate <= 1:
        raise ctx.invalid(
            f"Invalid value received for argument `rate`. Expected a float value between 0 and 1. Received: "
            f"rate={rate!r}"
        )
    return KerasOut(shape, 0, 0, ["shape unchanged (no parameters)"])


def _activation_layer(ctx: Context, a: dict[str, Any], shape: KShape) -> KerasOut:
    if a["activation"] is None:
        raise ctx.bad("Activation needs an activation, e.g. Activation('relu')")
    _activation(ctx, a["activation"])
    return KerasOut(shape, 0, 0, ["shape unchanged (no parameters)"])


def _relu(ctx: Context, a: dict[str, Any], shape: KShape) -> KerasOut:
    for key in ("max_value", "negative_slope", "threshold"):
        value = a[key]
        if value is not None and (isinstance(value, bool) or not isinstance(value, int | float) or value < 0):
            raise ctx.invalid(f"{key} of a ReLU layer cannot be a negative value. Received: {key}={value!r}")
    return KerasOut(shape, 0, 0, ["shape unchanged (no parameters)"])
