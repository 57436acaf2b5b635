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
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from dlsolve import fmt
from dlsolve.errors import BadInput, InvalidProblem
from dlsolve.solution import Solution, Step, Table
from dlsolve.solvers.conv_geometry import Geometry

# The shared pieces live in layers_args (re-exported here for the modules that import them from layers)
from dlsolve.solvers.layers_args import REQUIRED as REQUIRED
from dlsolve.solvers.layers_args import Applied as Applied
from dlsolve.solvers.layers_args import Context as Context
from dlsolve.solvers.layers_args import LayerSpec as LayerSpec
from dlsolve.solvers.layers_args import Shape as Shape
from dlsolve.solvers.layers_args import _bool as _bool
from dlsolve.solvers.layers_args import _expect_ndim as _expect_ndim
from dlsolve.solvers.layers_args import _float as _float
from dlsolve.solvers.layers_args import _int as _int
from dlsolve.solvers.layers_args import _ints as _ints
from dlsolve.solvers.layers_args import _is_int as _is_int
from dlsolve.solvers.layers_args import bind as bind
from dlsolve.solvers.layers_pad import (
    _channel_shuffle_apply,
    _pad_apply,
    _pixel_shuffle_apply,
    _pixel_unshuffle_apply,
)
from dlsolve.solvers.layers_torch import (
    _adaptive_apply,
    _batchnorm_apply,
    _conv_apply,
    _dropout_apply,
    _flatten_apply,
    _groupnorm_apply,
    _instancenorm_apply,
    _keep,
    _layernorm_apply,
    _linear_apply,
    _lrn_apply,
    _pool_apply,
    _prelu_apply,
    _softmax_apply,
    _unflatten_apply,
    _upsample_apply,
)
from dlsolve.values import LayerCall

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
        LayerSpec("LocalResponseNorm", (("size", REQUIRED), ("alpha", 1e-4), ("beta", 0.75), ("k", 1.0)), _lrn_apply),
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
    from dlsolve.solvers.layers_sequence import sequence_specs  # imports this module: see its docstring

    specs += sequence_specs()
    return {spec.name: spec for spec in specs}


CATALOGUE: dict[str, LayerSpec] = _catalogue()


def weight_shape(call: LayerCall, option: str = "--layer") -> Shape:
    """The shape of a layer's ``weight`` tensor as PyTorch allocates it (what ``torch.nn.init`` sees).

    Linear: (out, in); ConvNd: (out, in/groups, *kernel); ConvTransposeNd: (in, out/groups, *kernel).
    Other layers have no weight of two or more dimensions (InvalidProblem, as ``nn.init`` refuses).
    """
    spec = CATALOGUE.get(call.name)
    if spec is None:
        raise BadInput(f"unknown layer {call.name!r}; give Linear, ConvNd or ConvTransposeNd", option=option)
    ctx = Context(1, call.name, _short(call.source))
    a = bind(call, spec, ctx)
    if call.name == "Linear":
        return (_int(ctx, a["out_features"], "out_features"), _int(ctx, a["in_features"], "in_features"))
    if call.name[:-2] in ("Conv", "ConvTranspose"):
        n = int(call.name[-2])
        c_in, c_out = _int(ctx, a["in_channels"], "in_channels"), _int(ctx, a["out_channels"], "out_channels")
        groups = _int(ctx, a["groups"], "groups")
        if groups <= 0 or c_in % groups or c_out % groups:
            raise InvalidProblem(f"in_channels and out_channels must be divisible by groups ({groups})", option=option)
        kernel = _ints(ctx, a["kernel_size"], n, "kernel_size")
        first, second = (c_in, c_out) if call.name.startswith("ConvTranspose") else (c_out, c_in)
        return (first, second // groups, *kernel)
    raise InvalidProblem(
        f"{call.name} has no weight of 2 or more dimensions: Fan in and fan out can not be computed for tensor "
        "with fewer than 2 dimensions",
        option=option,
    )


STEP_KINDS = {
    "conv.network": "the layer table of a network: output shape, parameters, MACs, receptive field per layer",
    "conv.layer": "one layer of a network: its output-size formulas, parameter count and output shape",
    "conv.totals": "the network's total parameters and MACs",
}


@dataclass
class LayerRow:
    """One applied layer, as shown in the table and the JSON answer."""

    layer: str
    shape: Shape
    params: int
    receptive_field: list[int] | None
    jump: list[int] | None
    lines: list[str]
    latex: list[str]
    macs: int = 0
    note: str = ""
    #: Multiply-accumulates of the forward pass's matrix products and convolutions (``Applied.compute_macs``).
    compute_macs: int = 0
    compute_formula: str = ""


def _rf_text(values: list[int] | None) -> str:
    if values is None:
        return "-"
    return str(values[0]) if len(set(values)) == 1 else "x".join(map(str, values))


def _thousands(value: int) -> str:
    """``1{,}638{,}400``: thousands separated in LaTeX as the text separates them (1,638,400)."""
    return f"{value:,}".replace(",", "{,}")


def _short(source: str) -> str:
    text = " ".join(source.split())
    for prefix in ("torch.nn.", "nn."):
        if text.startswith(prefix):
            text = text[len(prefix) :]
    return text


def _latex_product(formula: str) -> str:
    """``5·(2224 − 1088)`` typeset, followed by `` = `` (empty when there is no formula)."""
    return formula.replace("·", "\\cdot ").replace("−", "-") + " = " if formula else ""


def torchinfo_macs(name: str, params: int, shape: Shape) -> int:
    """torchinfo's Mult-Adds of one layer (``LayerInfo.calculate_macs`` of torchinfo 1.8.0, summed over the
    modules its hooks see run): a layer whose class name holds "Conv" counts each parameter once per batch
    item and output position (``N·∏out·params``); RNN/LSTM/GRU once per entry of the output's first two axes;
    any other layer once per entry of the output's first axis (``N·params``, whatever that axis means).

    The sequence layers whose count differs (attention, transformers, a frozen embedding) give their own
    ``Applied.macs``; see :mod:`dlsolve.solvers.layers_sequence`."""
    if not params or not shape:
        return 0
    if "Conv" in name:
        return params * shape[0] * math.prod(shape[2:])
    if name in ("RNN", "LSTM", "GRU"):  # inner weights (weight_ih_l0, ...): once per item of the first two axes
        return params * math.prod(shape[:2])
    return params * shape[0]


_RECURRENT = {"RNN", "LSTM", "GRU"}
_ATTENTION = {
    "MultiheadAttention",
    "TransformerEncoderLayer",
    "TransformerDecoderLayer",
    "TransformerEncoder",
    "TransformerDecoder",
    "Transformer",
}


def _macs_rule(calls: Sequence[LayerCall]) -> str:
    """torchinfo's rule, in words, for the kinds of layer the network has."""
    names = {call.name for call in calls}
    rule = ["N·∏out·params for a conv layer"] if any("Conv" in name for name in names) else []
    if names & _RECURRENT:
        rule.append("the output's first two axes × params for a recurrent layer")
    if names & _ATTENTION:
        rule.append("attention's projections left out")
    rule.append("N·params for the others" if rule else "N·params")
    sequence = names & (_RECURRENT | _ATTENTION | {"Embedding", "EmbeddingBag"})
    return ", ".join(rule) + (" (N: the output's first axis)" if sequence else "")


def unknown_layer(call: LayerCall, known: Sequence[str], examples: str) -> BadInput:
    """An unknown layer name, with the closest known names ("did you mean ReLU?")."""
    import difflib

    by_lower = {name.lower(): name for name in known}
    same = call.name.lower() in by_lower
    matches = [call.name.lower()] if same else difflib.get_close_matches(call.name.lower(), list(by_lower), 3, 0.75)
    hint = (
        f"; did you mean {' or '.join(by_lower[m] for m in matches)}?"
        if matches
        else f"; known layers include {examples}"
    )
    return BadInput(f"line {call.line}: unknown layer {call.name!r}{hint} (see README)", option="--net")


def trace_layers(input_shape: Sequence[int], calls: Sequence[LayerCall]) -> tuple[list[LayerRow], list[str]]:
    """PyTorch layers applied one after the other to ``input_shape``: a :class:`LayerRow` per layer (shape,
    parameters, torchinfo's MACs, compute MACs, receptive field, working lines) and the warnings."""
    from dlsolve.solvers import layers_keras

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
            raise unknown_layer(
                call,
                [*CATALOGUE, *layers_keras.CATALOGUE],
                "Conv2d, ConvTranspose2d, MaxPool2d, AvgPool2d, BatchNorm2d, ReLU, Flatten, Linear, Upsample, "
                "ReflectionPad2d, PixelShuffle, LSTM, Embedding, TransformerEncoderLayer",
            )
        applied = spec.apply(ctx, bind(call, spec, ctx), shape)
        warnings.extend(f"layer {index} ({name}): {warning}" for warning in applied.warnings)
        tail: list[str] = []
        tail_latex: list[str] = []
        if isinstance(applied.receptive, Geometry) and not ended:
            g = applied.receptive
            if not started or rf is None or jump is None or len(rf) != g.dims:
                rf, jump, started = [1] * g.dims, [1] * g.dims, True
            rf = [r + d * (k - 1) * j for r, k, d, j in zip(rf, g.kernel, g.dilation, jump, strict=True)]
            jump = [j * s for j, s in zip(jump, g.stride, strict=True)]
            # after the formulas of the layer, the rest briefly on one line (text and LaTeX say the same words)
            tail = [f"receptive field = rf_in + d(k−1)·jump_in = {_rf_text(rf)}, jump = jump_in·s = {_rf_text(jump)}"]
            tail_latex.append(
                "\\text{receptive field} = \\mathrm{rf}_{\\mathrm{in}} + d(k-1)\\cdot \\mathrm{jump}_{\\mathrm{in}} = "
                f"{_rf_text(rf)},\\quad \\text{{jump}} = \\mathrm{{jump}}_{{\\mathrm{{in}}}}\\cdot s = {_rf_text(jump)}"
            )
        elif applied.receptive == "end":
            ended, rf, jump = True, None, None
        macs = applied.macs if applied.macs is not None else torchinfo_macs(call.name, applied.params, applied.shape)
        tail.append(f"output shape {fmt.shape(applied.shape)}")
        shown = bool(macs or applied.macs_note)  # MultiheadAttention's 0 is shown with its note
        formula = applied.macs_formula
        if shown:
            tail.append(f"MACs = {formula + ' = ' if formula else ''}{macs:,}")
        tail_latex.append(
            f"\\text{{output shape }} {fmt.shape(applied.shape)}"
            + (f",\\quad \\text{{MACs}} = {_latex_product(formula)}{_thousands(macs)}" if shown else "")
        )
        lines = [*applied.lines, "; ".join(tail), *([applied.macs_note] if applied.macs_note else [])]
        latex = [*applied.latex, *tail_latex] if applied.latex else []  # LaTeX only where the layer has its formulas
        rows.append(
            LayerRow(
                name,
                applied.shape,
                applied.params,
                rf,
                jump,
                lines,
                latex,
                macs,
                applied.note,
                applied.compute_macs,
                applied.compute_formula,
            )
        )
        shape = applied.shape
    return rows, warnings


def network_shape(
    input_shape: Sequence[int], calls: Sequence[LayerCall], framework: str | None = None, *, full: bool = False
) -> Solution:
    """Trace ``input_shape`` through the layers; the output shape, parameters, MACs, receptive field of each.

    The working writes out the first layer of each kind (one worked example; the table has them all),
    or every layer with ``full``.

    ``framework`` is ``"pytorch"``, ``"keras"`` or None (Keras when the layers are Keras's: ``Conv2D``,
    ``Dense``, ``Input(shape=...)``; see :mod:`dlsolve.solvers.layers_keras`).
    """
    from dlsolve.solvers import layers_keras

    if framework is None:
        framework = layers_keras.detect(calls)
    if framework == "keras":
        return layers_keras.keras_network_shape(input_shape, calls)
    rows, warnings = trace_layers(input_shape, calls)
    shape: Shape = rows[-1].shape if rows else tuple(input_shape)
    total = sum(row.params for row in rows)
    total_macs = sum(row.macs for row in rows)

    def build() -> list[Step]:
        table = Table(
            columns=["Layer", "Output shape", "Params", "MACs", "RF", "Jump"],
            rows=[["Input", fmt.shape(input_shape), "", "", "", ""]]
            + [
                [
                    f"{i}. {row.layer}",
                    fmt.shape(row.shape) + (f" ({row.note})" if row.note else ""),
                    f"{row.params:,}",
                    f"{row.macs:,}",
                    _rf_text(row.receptive_field),
                    _rf_text(row.jump),
                ]
                for i, row in enumerate(rows, 1)
            ]
            + [["Total", "", f"{total:,}", f"{total_macs:,}", "", ""]],
            title="Layers (params: trainable; MACs as torchinfo's Mult-Adds; RF and jump in input pixels)",
        )
        first_of_kind: dict[str, int] = {}
        for index, row in enumerate(rows):
            first_of_kind.setdefault(row.layer.split("(")[0], index)
        worked = set(first_of_kind.values())
        counted = [str(row.params) for row in rows if row.params]
        params_sum = " + ".join(counted) if len(counted) > 1 else ""
        # the lead line first (a typeset key puts the display maths after it), then the totals once
        total_text = (
            f"the table's columns summed (MACs as torchinfo counts Mult-Adds: {_macs_rule(calls)}; "
            "fvcore and thop leave the bias out)\n"
            f"params = {params_sum + ' = ' if params_sum else ''}{total} (all trainable)\n"
            f"MACs = {total_macs:,}; FLOPs ≈ 2 × MACs = {2 * total_macs:,}"
        )
        total_latex = (
            f"\\text{{params}} = {params_sum + ' = ' if params_sum else ''}{total}\\ \\text{{(all trainable)}} \\\\ "
            f"\\text{{MACs}} = {_thousands(total_macs)},\\quad "
            f"\\text{{FLOPs}} \\approx 2 \\times \\text{{MACs}} = {_thousands(2 * total_macs)}"
        )
        return [
            Step(
                "Network",
                f"input {fmt.shape(input_shape)} through {len(rows)} layers"
                + (
                    ""
                    if full or len(worked) == len(rows)
                    else "; the first layer of each kind is worked below, the "
                    "others are the same formula (every layer with --full)"
                ),
                blocks=[table],
                kind="conv.network",
            ),
            *[
                Step(f"Layer {i}: {row.layer}", "\n".join(row.lines), " \\\\ ".join(row.latex), kind="conv.layer")
                for i, row in enumerate(rows, 1)
                if full or i - 1 in worked
            ],
            *(
                []
                if len(rows) == 1  # the table's total and the answer say it all
                else [Step("Totals", total_text, total_latex, kind="conv.totals")]
            ),
        ]

    return Solution(
        command="conv-shape",
        inputs={"input": list(input_shape), "net": [call.source for call in calls]},
        answer={
            "shape": list(shape),
            "params": total,
            "macs": total_macs,
            "layers": [
                {
                    "layer": row.layer,
                    "shape": list(row.shape),
                    "params": row.params,
                    "macs": row.macs,
                    "receptive_field": row.receptive_field,
                    "jump": row.jump,
                    **({"note": row.note} if row.note else {}),
                }
                for row in rows
            ],
        },
        summary=f"output shape {fmt.shape(shape)}, {total:,} parameters, {total_macs:,} MACs",
        quiet=" ".join(str(v) for v in shape) + f"\n{total} parameters",
        steps=build,
        warnings=warnings,
        answer_latex=fmt.shape(shape),
    )
