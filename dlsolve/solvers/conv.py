"""``conv-shape`` for one layer: output shape, parameters and MACs of a conv/transposed/pool layer.

The formulas (PyTorch's and TF/Keras's, with asymmetric padding) and the refusals live in
:mod:`dlsolve.solvers.conv_geometry`; this module holds the single-layer mode (:func:`conv_shape`,
including solving for one unknown ``?``). :mod:`dlsolve.solvers.layers` (PyTorch) and
:mod:`dlsolve.solvers.layers_keras` (Keras) hold the layer catalogues of the network mode.

Parameters: conv C_out·(C_in/groups)·∏k + C_out, transposed C_in·(C_out/groups)·∏k + C_out, pools 0.
MACs (multiply-accumulates) are counted as torchinfo's "Mult-Adds": a conv layer's weights and bias
once per output position and batch item, N·∏out·params (transposed convolutions too, as torchinfo
counts them); FLOPs are usually quoted as 2 × MACs, and fvcore/thop/ptflops leave the bias out.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

from dlsolve import fmt
from dlsolve.errors import BadInput, InvalidProblem
from dlsolve.solution import Solution, Step
from dlsolve.solvers.conv_geometry import (
    DIM_NAMES,
    FRAMEWORKS,
    KINDS,
    Geometry,
    Pad,
    dimension_steps,
    floor_warnings,
    layer_name,
    params_working,
    raw_output,
    refusal,
    spatial_output,
)

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

STEP_KINDS = {
    "conv.solve-unknown": "the values of the option given as ? that give the wanted output size",
    "conv.output-shape": "the full output shape [N, C, spatial...] (or Keras's [N, spatial..., C])",
}


def params_of(
    kind: str, kernel: Sequence[int], channels: int | None, filters: int | None, groups: int, bias: bool
) -> tuple[int | None, Step | None]:
    """Trainable parameters of a conv layer (pools have none) and the step showing the count.

    conv: C_out·(C_in/groups)·prod(k) + C_out; transposed: C_in·(C_out/groups)·prod(k) + C_out.
    """
    if kind in ("maxpool", "avgpool"):
        return 0, Step("Parameters", "pooling layers have no parameters: 0", "\\text{params} = 0", kind="conv.params")
    if channels is None or filters is None:
        return None, None
    total, text, latex = params_working(kind == "transposed", kernel, channels, filters, groups, bias)
    return total, Step("Parameters", text, latex, kind="conv.params")


def macs_of(kind: str, params: int, bias_count: int, batch: int | None, spatial: Sequence[int]) -> tuple[int, Step]:
    """Multiply-accumulates as torchinfo's Mult-Adds: ``N·∏out·params`` (weights and bias once per output
    position and batch item; pools 0), with the bias-free count other tools give and FLOPs ≈ 2 × MACs.
    """
    positions = 1
    for out in spatial:
        positions *= out
    n = 1 if batch is None else batch
    macs = n * positions * params
    if kind in ("maxpool", "avgpool"):
        return 0, Step("MACs", "pooling multiplies nothing: 0 MACs", "\\text{MACs} = 0", kind="conv.macs")
    per = "" if batch is not None else " (per sample: N = 1)"
    out_text = "·".join(map(str, spatial))
    # a lead line (a typeset key puts the display after it), the count once, then the other conventions
    lines = [
        "as torchinfo counts Mult-Adds: each weight and bias once per output position and batch item",
        f"MACs = N·∏out·params = {n}·{out_text}·{params} = {macs:,}{per}",
    ]
    others = []
    if bias_count:
        others.append(f"fvcore and thop leave the bias out: {n * positions * (params - bias_count):,}")
    if kind == "transposed":
        others.append("for a transposed conv torchinfo counts per output position too")
    others.append(f"FLOPs ≈ 2 × MACs = {2 * macs:,}")
    text = "\n".join([*lines, "; ".join(others)])
    factors = " \\cdot ".join(map(str, [n, *spatial, params]))
    latex = (
        f"\\text{{MACs}} = N\\cdot {{\\textstyle\\prod}} \\mathrm{{out}}\\cdot \\text{{params}} = {factors} = "
        + f"{macs:,}".replace(",", "{,}")
        + ("" if batch is not None else "\\quad \\text{(per sample: } N = 1)")
    )
    return macs, Step("MACs", text, latex, kind="conv.macs")


# --------------------------------------------------------------------------- single-layer mode


def _per_dim(values: Sequence[Any] | None, dims: int, option: str, default: int | None = None) -> tuple[Any, ...]:
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
    framework: str,
) -> None:
    pooling = layer in ("maxpool", "avgpool")
    if (output_padding is not None or unknown == "output_padding") and layer != "transposed":
        raise BadInput("--output-padding applies to --layer transposed only", option="--output-padding")
    if ceil and not pooling:
        raise BadInput("--ceil applies to --layer maxpool or avgpool only", option="--ceil")
    if pooling and (dilation is not None or unknown == "dilation") and (layer == "avgpool" or framework == "keras"):
        raise BadInput(
            f"{layer_name(layer, 2, framework)[:-2]} has no dilation; --d applies to conv layers", option="--d"
        )
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
    if framework == "keras":
        if (padding is not None and not isinstance(padding, str)) or unknown == "padding":
            raise BadInput("TF/Keras padding is 'same' or 'valid' (--framework keras)", option="--p")
        if ceil:
            raise BadInput("Keras pooling has no ceil mode; --ceil is PyTorch's", option="--ceil")
        if layer == "transposed" and groups != 1:
            raise BadInput("Keras's Conv*DTranspose has no groups", option="--groups")
    elif isinstance(padding, str) and (pooling or layer == "transposed"):
        raise BadInput(f"padding {padding!r} applies to --layer conv only; give whole numbers", option="--p")


def _geometry(
    layer: str,
    dims: int,
    kernel: Sequence[int] | None,
    stride: Sequence[int] | None,
    padding: Sequence[Pad] | str | None,
    dilation: Sequence[int] | None,
    output_padding: Sequence[int] | None,
    ceil: bool,
    framework: str = "pytorch",
) -> Geometry:
    kernel_t = _per_dim(kernel, dims, "--k")
    default_stride = None if layer in ("maxpool", "avgpool") else 1
    stride_t = kernel_t if stride is None and default_stride is None else _per_dim(stride, dims, "--s", 1)
    padding_t: tuple[Pad, ...] | str
    if framework == "keras":
        padding_t = "valid" if padding is None else str(padding)
        output_t: tuple[int | None, ...] = (
            (None,) * dims if output_padding is None else _per_dim(output_padding, dims, "--output-padding")
        )
    else:
        if padding == "valid":
            padding = None
        padding_t = padding if isinstance(padding, str) else _per_dim(padding, dims, "--p", 0)  # type: ignore[arg-type]
        output_t = _per_dim(output_padding, dims, "--output-padding", 0)
    return Geometry(
        kind=layer,
        kernel=kernel_t,
        stride=stride_t,
        padding=padding_t,
        dilation=_per_dim(dilation, dims, "--d", 1),
        output_padding=output_t,
        ceil=ceil,
        framework=framework,
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
        return max(v if isinstance(v, int) else max(v) for v in values) if values else default

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
    framework: str = "pytorch",
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
            word = values.get("padding")
            keras = framework == "keras"
            padding: tuple[Pad, ...] | str = (
                ("valid" if word is None else str(word)) if keras else word if word == "same" else (setting["padding"],)
            )
            op_given = isinstance(values.get("output_padding"), list | tuple) or unknown == "output_padding"
            geometry = Geometry(
                layer,
                (setting["kernel"],),
                (setting["stride"],),
                padding,
                (setting["dilation"],),
                (setting["output_padding"] if op_given or not keras else None,),
                ceil,
                framework,
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
    padding: Sequence[Pad] | str | None = None,
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
    framework: str = "pytorch",
) -> Solution:
    """Output shape, parameter count and MACs of one conv/transposed/pool layer.

    Sizes are per spatial dimension (one value is used for every dimension). ``padding`` holds an int
    or a (before, after) pair per dimension, or ``"same"``/``"valid"`` (PyTorch: convolutions only).
    ``framework="keras"`` applies TF/Keras's rules (padding ``"same"``/``"valid"``, any stride; the
    shape is ``[N, spatial..., C]``). ``unknown`` names the one field given as ``?`` (``size``,
    ``kernel``, ``stride``, ``padding``, ``dilation`` or ``output_padding``; its value is None): every
    value giving ``out`` is found, by trying each candidate with the framework's rules.
    """
    if layer not in KINDS:
        raise BadInput(f"expected one of {', '.join(KINDS)}; got {layer!r}", option="--layer")
    if framework not in FRAMEWORKS:
        raise BadInput(f"expected one of {', '.join(FRAMEWORKS)}; got {framework!r}", option="--framework")
    if isinstance(padding, str) and padding not in ("same", "valid"):
        raise BadInput(f"expected same, valid or whole numbers; got {padding!r}", option="--p")
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
        framework=framework,
    )
    if unknown is not None and out is None:
        raise BadInput(f"{UNKNOWNS[unknown][0]} is '?': give the output size with --out", option="--out")
    if size is None and unknown != "size":
        raise BadInput("the input size is required, e.g. --in 28", option="--in")
    if kernel is None and unknown != "kernel":
        raise BadInput("the kernel size is required, e.g. --k 3", option="--k")
    values: dict[str, Sequence[Any] | str | None] = {
        "size": size,
        "kernel": kernel,
        "stride": stride,
        "padding": padding,
        "dilation": dilation,
        "output_padding": output_padding,
    }
    n_dims = _choose_dims(dims, [*values.values(), out])
    out_given = None if out is None else _per_dim(out, n_dims, "--out")
    name = layer_name(layer, n_dims, framework)
    dim_names = DIM_NAMES[n_dims]
    pooling = layer in ("maxpool", "avgpool")
    keras = framework == "keras"
    warnings: list[str] = []
    answer_extra: dict[str, object] = {}

    if channels is not None and groups and channels % groups:
        raise InvalidProblem(f"in_channels must be divisible by groups ({channels} by {groups})", option="--groups")
    if filters is not None and groups and filters % groups:
        raise InvalidProblem(f"out_channels must be divisible by groups ({filters} by {groups})", option="--groups")

    solved: _Unknown | None = None
    solve_text = ""
    if unknown is not None:
        assert out_given is not None
        solved, per_dim = _solve_unknown(layer, unknown, values, n_dims, ceil, out_given, framework)  # type: ignore[arg-type]
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
        rules = "TF/Keras's" if keras else "PyTorch's"
        solve_text = (
            f"Trying every candidate value with {rules} rules, the output {fmt.shape(out_given)} comes "
            f"from {description}."
        )
        chosen = solved.values[0] if solved.values else solved.from_value
        assert chosen is not None
        values[unknown] = [chosen]
        if len(solved.values) + (solved.from_value is not None) > 1:
            solve_text += f" The working below uses {chosen}."

    sizes = _per_dim(values["size"], n_dims, "--in")
    geometry = _geometry(
        layer,
        n_dims,
        values["kernel"],
        values["stride"],
        values["padding"],  # type: ignore[arg-type]
        values["dilation"],
        values["output_padding"],
        ceil,
        framework,
    )
    spatial = spatial_output(geometry, sizes, where=f"{name}: ")
    warnings.extend(floor_warnings(geometry, sizes, spatial))
    if out_given is not None and unknown is None and list(out_given) != spatial:
        raise InvalidProblem(f"{name} gives spatial size {spatial}, not the --out {list(out_given)}", option="--out")

    out_channels = channels if pooling else filters
    params, params_step = params_of(layer, geometry.kernel, channels, filters, groups, bias)
    if unknown == "kernel" and solved is not None and (len(solved.values) != 1 or solved.from_value is not None):
        params, params_step = None, None
    macs: int | None = None
    macs_step: Step | None = None
    if params is not None:
        macs, macs_step = macs_of(layer, params, filters if bias and not pooling and filters else 0, batch, spatial)
    shape: list[int] | None = None
    if batch is not None and out_channels is not None:
        shape = [batch, *spatial, out_channels] if keras else [batch, out_channels, *spatial]

    def build() -> list[Step]:
        steps: list[Step] = []
        if solve_text:
            steps.append(Step(f"Solve for the {UNKNOWNS[unknown][1]}", solve_text, kind="conv.solve-unknown"))  # type: ignore[index]
        steps.extend(dimension_steps(geometry, sizes))
        if shape is not None:
            # the same names in text and LaTeX (N batch, C channels), so a typeset key shows the line once
            order = f"N, {', '.join(dim_names)}, C" if keras else f"N, C, {', '.join(dim_names)}"
            line = f"[{order}] = {fmt.shape(shape)}"
            steps.append(Step("Output shape", line, line, kind="conv.output-shape"))
        steps.extend(step for step in (params_step, None if pooling else macs_step) if step is not None)
        return steps

    shown = shape if shape is not None else spatial
    summary = f"{name}: output {'shape' if shape is not None else 'spatial size'} {fmt.shape(shown)}"
    if params is not None:
        summary += f", {params} parameters"
    if macs:
        summary += f", {macs:,} MACs"
    quiet = " ".join(str(v) for v in shown)
    if solved is not None:
        summary = f"{_describe_unknown(unknown, solved)}; " + summary  # type: ignore[arg-type]
        quiet = " ".join(str(v) for v in solved.values)
        if solved.from_value is not None:
            quiet = (quiet + f" >={solved.from_value}").strip()
    conv_like = not pooling

    def listed(value: Sequence[Any] | None) -> list[Any] | None:
        return None if value is None else [list(v) if isinstance(v, tuple) else v for v in value]

    inputs: dict[str, Any] = {
        "in": listed(size),
        "kernel": listed(kernel),
        "stride": listed(stride),
        "padding": padding if padding is None or isinstance(padding, str) else listed(padding),
        "dilation": listed(dilation),
        "dims": n_dims,
        "layer": layer,
        "output_padding": listed(output_padding) if layer == "transposed" else None,
        "ceil": True if ceil else None,  # shown only when set (the input line lists non-null settings)
        "groups": groups if conv_like else None,
        "batch": batch,
        "channels": channels,
        "filters": filters,
        "bias": bias if conv_like else None,
        "out": listed(out),
        "unknown": unknown,
    }
    if keras:
        inputs["framework"] = "keras"
    answer: dict[str, Any] = {"spatial": spatial, "shape": shape, "params": params, **answer_extra}
    if macs is not None:
        answer["macs"] = macs
    return Solution(
        command="conv-shape",
        inputs=inputs,
        answer=answer,
        summary=summary,
        quiet=quiet,
        steps=build,
        warnings=warnings,
        answer_latex=fmt.shape(shown),
    )
