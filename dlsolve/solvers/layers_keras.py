"""The Keras layer catalogue of ``conv-shape --net``: Keras 3 signatures, channels-last shapes, parameters.

A Keras network is traced as ``keras.Sequential`` builds it: in Keras's ``(batch, H, W, C)`` order
with the batch unknown (``None``), from ``Input(shape=(H, W, C))`` (first layer), an ``input_shape=``
on the first layer, or ``--input H,W,C`` (without the batch). Each layer is bound to its Keras 3
signature (names, positional order and defaults; Layer's own ``name``, ``dtype``, ``trainable``,
``input_shape`` keywords too). Shapes follow TF/Keras's rules (:mod:`dlsolve.solvers.conv_geometry`:
SAME gives ⌈in/s⌉, VALID ⌊(in − d(k − 1) − 1)/s⌋ + 1). Parameters, as ``model.summary()`` counts them::

    ConvND          ∏k·(C_in/groups)·filters + filters (use_bias)
    ConvNDTranspose ∏k·C_in·filters + filters
    DepthwiseConv2D ∏k·C·depth_multiplier + C·depth_multiplier
    SeparableConv2D ∏k·C·depth_multiplier + C·depth_multiplier·filters + filters
    Dense           in·units + units                         (on the last axis)
    BatchNormalization  γ, β trainable (scale, center); moving mean and variance non-trainable: 2·C
    Embedding       input_dim·output_dim
    SimpleRNN       F·u + u·u + u;   LSTM 4(F·u + u·u + u)
    GRU             3(F·u + u·u) + 3u, twice (6u) with reset_after=True (Keras's default: two bias vectors)

The table looks like ``model.summary()``: ``name (Type)``, ``(None, H, W, C)`` output shapes and
Total / Trainable / Non-trainable params. Refusals (a kernel larger than a VALID input, a Dense after
a conv that Keras would apply on the last axis is allowed but warned, a Reshape that changes the
size) raise InvalidProblem with Keras's reason.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from dlsolve import fmt
from dlsolve.errors import BadInput, InvalidProblem
from dlsolve.solution import Solution, Step, Table
from dlsolve.solvers.layers_args import REQUIRED, Context, _is_int
from dlsolve.solvers.layers_keras_ops import (
    KerasOut,
    KShape,
    _activation_layer,
    _batchnorm,
    _conv,
    _dense,
    _dropout,
    _embedding,
    _flatten,
    _global_pool,
    _pool,
    _recurrent,
    _relu,
    _reshape,
    _shape_text,
    _upsampling,
    _zero_padding,
    snake_case,
)
from dlsolve.values import LayerCall

STEP_KINDS = {
    "keras.summary": "the Keras model summary: layer, output shape (None, ...), parameters",
    "keras.layer": "one Keras layer: its output-size formulas, parameter count and output shape",
    "keras.totals": "total, trainable and non-trainable parameters of a Keras model",
}

#: Keras's activation names (keras.activations), for checking ``activation=``.
_LAYER_KEYWORDS = ("name", "dtype", "trainable", "input_shape", "input_dim", "autocast")


@dataclass(frozen=True)
class KerasSpec:
    name: str
    params: tuple[tuple[str, Any], ...]
    apply: Callable[[Context, dict[str, Any], KShape], KerasOut]


# --------------------------------------------------------------------------- the catalogue


def _signature(names: str, **defaults: Any) -> tuple[tuple[str, Any], ...]:
    """Parameters in Keras's positional order; those without a default here are REQUIRED, except the
    initializer/regularizer/constraint arguments (not traced, default None)."""
    params = []
    for name in names.split():
        if name in defaults:
            params.append((name, defaults[name]))
        elif any(
            word in name
            for word in ("initializer", "regularizer", "constraint", "lora", "quantization", "weights", "seed")
        ):
            params.append((name, None))
        else:
            params.append((name, REQUIRED))
    return tuple(params)


_INIT = (
    "kernel_initializer bias_initializer kernel_regularizer bias_regularizer activity_regularizer kernel_constraint "
    "bias_constraint"
)


def _catalogue() -> dict[str, KerasSpec]:
    specs: list[KerasSpec] = []
    conv_defaults = {"strides": 1, "padding": "valid", "data_format": None, "dilation_rate": 1, "groups": 1,
                     "activation": None, "use_bias": True, "output_padding": None}  # fmt: skip
    for n in (1, 2, 3):
        specs.append(
            KerasSpec(
                f"Conv{n}D",
                _signature(
                    f"filters kernel_size strides padding data_format dilation_rate groups activation use_bias {_INIT}",
                    **conv_defaults,
                ),
                _conv(n, "conv"),
            )
        )
        order = "padding output_padding data_format" if n < 3 else "padding data_format output_padding"
        specs.append(
            KerasSpec(
                f"Conv{n}DTranspose",
                _signature(
                    f"filters kernel_size strides {order} dilation_rate activation use_bias {_INIT}", **conv_defaults
                ),
                _conv(n, "transposed"),
            )
        )
        pool_defaults = {"pool_size": 2, "strides": None, "padding": "valid", "data_format": None, "name": None}
        specs.append(
            KerasSpec(
                f"MaxPooling{n}D", _signature("pool_size strides padding data_format name", **pool_defaults), _pool(n)
            )
        )
        avg_defaults = {k: v for k, v in pool_defaults.items() if k != "pool_size"}
        specs.append(
            KerasSpec(
                f"AveragePooling{n}D",
                _signature("pool_size strides padding data_format name", **avg_defaults),
                _pool(n),
            )
        )
        for kind in ("Average", "Max"):
            specs.append(
                KerasSpec(
                    f"Global{kind}Pooling{n}D",
                    _signature("data_format keepdims", data_format=None, keepdims=False),
                    _global_pool(n),
                )
            )
        specs.append(
            KerasSpec(
                f"ZeroPadding{n}D",
                _signature("padding data_format", padding=1, data_format=None),
                _zero_padding(n),
            )
        )
        up = "size data_format interpolation" if n == 2 else "size data_format" if n == 3 else "size"
        specs.append(
            KerasSpec(
                f"UpSampling{n}D", _signature(up, size=2, data_format=None, interpolation="nearest"), _upsampling(n)
            )
        )
    depthwise = (
        "kernel_size strides padding depth_multiplier data_format dilation_rate activation use_bias "
        + _INIT.replace("kernel_", "depthwise_")
    )
    specs.append(
        KerasSpec("DepthwiseConv2D", _signature(depthwise, **conv_defaults, depth_multiplier=1), _conv(2, "depthwise"))
    )
    separable = (
        "filters kernel_size strides padding data_format dilation_rate depth_multiplier activation use_bias "
        "depthwise_initializer pointwise_initializer bias_initializer depthwise_regularizer pointwise_regularizer "
        "bias_regularizer activity_regularizer depthwise_constraint pointwise_constraint bias_constraint"
    )
    specs.append(
        KerasSpec("SeparableConv2D", _signature(separable, **conv_defaults, depth_multiplier=1), _conv(2, "separable"))
    )
    specs += [
        KerasSpec(
            "Dense",
            _signature(
                f"units activation use_bias {_INIT} lora_rank lora_alpha quantization_config",
                activation=None,
                use_bias=True,
            ),
            _dense,
        ),
        KerasSpec("Flatten", _signature("data_format", data_format=None), _flatten),
        KerasSpec("Dropout", _signature("rate noise_shape seed", noise_shape=None), _dropout),
        KerasSpec(
            "SpatialDropout2D",
            _signature("rate data_format seed name dtype", data_format=None, name=None, dtype=None),
            _dropout,
        ),
        KerasSpec(
            "BatchNormalization",
            _signature(
                "axis momentum epsilon center scale beta_initializer gamma_initializer moving_mean_initializer "
                "moving_variance_initializer beta_regularizer gamma_regularizer beta_constraint gamma_constraint "
                "renorm "
                "renorm_clipping renorm_momentum synchronized",
                axis=-1,
                momentum=0.99,
                epsilon=0.001,
                center=True,
                scale=True,
                renorm=False,
                renorm_clipping=None,
                renorm_momentum=0.99,
                synchronized=False,
            ),
            _batchnorm,
        ),
        KerasSpec("Activation", _signature("activation"), _activation_layer),
        KerasSpec(
            "ReLU",
            _signature("max_value negative_slope threshold", max_value=None, negative_slope=0.0, threshold=0.0),
            _relu,
        ),
        KerasSpec("Reshape", _signature("target_shape"), _reshape),
        KerasSpec(
            "Embedding",
            _signature(
                "input_dim output_dim embeddings_initializer embeddings_regularizer embeddings_constraint mask_zero "
                "weights "
                "lora_rank lora_alpha quantization_config",
                mask_zero=False,
            ),
            _embedding,
        ),
    ]
    rnn_common = {"activation": "tanh", "recurrent_activation": "sigmoid", "use_bias": True, "dropout": 0.0,
                  "recurrent_dropout": 0.0, "return_sequences": False, "return_state": False, "go_backwards": False,
                  "stateful": False, "unroll": False, "unit_forget_bias": True, "use_cudnn": "auto",
                  "reset_after": True}  # fmt: skip
    init = "kernel_initializer recurrent_initializer bias_initializer"
    regs = (
        "kernel_regularizer recurrent_regularizer bias_regularizer activity_regularizer kernel_constraint "
        "recurrent_constraint bias_constraint"
    )
    flags = "return_sequences return_state go_backwards stateful unroll"
    specs += [
        KerasSpec(
            "SimpleRNN",
            _signature(f"units activation use_bias {init} {regs} dropout recurrent_dropout {flags} seed", **rnn_common),
            _recurrent(1),
        ),
        KerasSpec(
            "LSTM",
            _signature(
                f"units activation recurrent_activation use_bias {init} unit_forget_bias {regs} dropout "
                f"recurrent_dropout seed {flags} use_cudnn",
                **rnn_common,
            ),
            _recurrent(4),
        ),
        KerasSpec(
            "GRU",
            _signature(
                f"units activation recurrent_activation use_bias {init} {regs} dropout recurrent_dropout seed "
                f"{flags} reset_after use_cudnn",
                **rnn_common,
            ),
            _recurrent(3),
        ),
    ]
    return {spec.name: spec for spec in specs}


CATALOGUE: dict[str, KerasSpec] = _catalogue()


#: Names that only Keras uses (PyTorch spells them differently), which select Keras's rules.
def detect(calls: Sequence[LayerCall]) -> str:
    """``"keras"`` when a layer name is Keras's only (Conv2D, Dense, Input, ...), else ``"pytorch"``."""
    from dlsolve.solvers.layers import CATALOGUE as TORCH

    # names both frameworks spell alike (Flatten, Dropout, ReLU, Embedding, LSTM, GRU) decide nothing
    keras_only = {"Input", "InputLayer", *(name for name in CATALOGUE if name not in TORCH)}
    keras_names = [call.name for call in calls if call.name in keras_only]
    if not keras_names:
        return "pytorch"
    torch_names = [call.name for call in calls if call.name in TORCH and call.name not in CATALOGUE]
    if torch_names:
        by_lower = {name.lower(): name for name in CATALOGUE}
        keras_spelling = by_lower.get(torch_names[0].lower())
        hint = f"; did you mean {keras_spelling}?" if keras_spelling else "; write one framework's layers"
        raise BadInput(
            f"the layers mix Keras ({keras_names[0]}) and PyTorch ({torch_names[0]}){hint}",
            option="--net",
        )
    return "keras"


def bind_keras(call: LayerCall, spec: KerasSpec, ctx: Context) -> tuple[dict[str, Any], dict[str, Any]]:
    """Bind a call to a Keras signature (and Layer's keywords): (layer arguments, Layer keywords)."""
    names = [name for name, _ in spec.params]
    if len(call.args) > len(names):
        raise ctx.bad(f"{spec.name}() takes at most {len(names)} positional arguments but {len(call.args)} were given")
    bound = dict(zip(names, call.args, strict=False))
    extra: dict[str, Any] = {}
    for key, value in call.kwargs.items():
        if key in bound:
            raise ctx.bad(f"{spec.name}() got multiple values for argument '{key}'")
        if key in names:
            bound[key] = value
        elif key in _LAYER_KEYWORDS:
            extra[key] = value
        else:
            raise ctx.bad(f"Unrecognized keyword arguments passed to {spec.name}: {{'{key}': {value!r}}}")
    for name, default in spec.params:
        if name not in bound:
            if default is REQUIRED:
                raise ctx.bad(f"{spec.name}.__init__() missing required argument '{name}'")
            bound[name] = default
    return bound, extra


def _input_shape(value: Any, what: str) -> tuple[int, ...]:
    if _is_int(value):
        value = (value,)
    if not (isinstance(value, tuple) and value and all(_is_int(v) and v >= 1 for v in value)):
        raise BadInput(
            f"{what} must be a tuple of positive whole numbers such as (28, 28, 1), got {value!r}", option="--net"
        )
    return value


@dataclass
class KerasRow:
    name: str
    type: str
    shape: KShape
    trainable: int
    non_trainable: int
    lines: list[str]


def _with_torch_hint(
    error: InvalidProblem, call: LayerCall, index: int, input_shape: Sequence[int] | None
) -> InvalidProblem:
    """Keras's refusal of a first layer that PyTorch spells alike (``Conv2D`` for ``Conv2d``) on an
    ``--input`` with a batch: the user probably meant PyTorch's layer, so say both ways out."""
    from dlsolve.solvers.layers import CATALOGUE as TORCH

    twin = {name.lower(): name for name in TORCH}.get(call.name.lower())
    if index != 1 or twin is None or twin == call.name or not input_shape:
        return error
    hint = (
        f"; {call.name} is Keras's layer (channels last, --input without the batch: H,W,C); "
        f"PyTorch's is {twin}({', '.join(map(str, call.args))}) with --input N,C,H,W"
    )
    return InvalidProblem(error.message + hint, option=error.option, where=error.where)


def keras_network_shape(input_shape: Sequence[int] | None, calls: Sequence[LayerCall]) -> Solution:
    """Trace a Keras Sequential model (see the module docstring); the table of ``model.summary()``."""
    calls = list(calls)
    start: tuple[int, ...] | None = tuple(input_shape) if input_shape else None
    batch: int | None = None
    if calls and calls[0].name in ("Input", "InputLayer"):
        first = calls.pop(0)
        names = ("shape", "batch_size", "dtype", "sparse", "ragged", "batch_shape", "name", "tensor", "optional")
        given = dict(zip(names, first.args, strict=False)) | first.kwargs
        if set(given) - set(names) or len(first.args) > len(names):
            raise BadInput(f"line {first.line}: Input() takes shape=(H, W, C) and batch_size", option="--net")
        if given.get("batch_shape") is not None:
            full = _input_shape(given["batch_shape"][1:], "Input(batch_shape=...)[1:]")
            shape_given, batch = full, given["batch_shape"][0]
        else:
            shape_given = _input_shape(given.get("shape"), "Input(shape=...)")
            batch = given.get("batch_size")
        if start is not None and start != shape_given:
            raise BadInput(f"--input {list(start)} and Input(shape={shape_given}) disagree; give one", option="--input")
        start = shape_given
    elif calls and "input_shape" in calls[0].kwargs:
        shape_given = _input_shape(calls[0].kwargs["input_shape"], "input_shape")
        if start is not None and start != shape_given:
            raise BadInput(f"--input {list(start)} and input_shape={shape_given} disagree; give one", option="--input")
        start = shape_given
    if start is None:
        raise BadInput(
            "a Keras network needs its input shape: Input(shape=(H, W, C)) first, or --input H,W,C", option="--input"
        )
    if not calls:
        raise BadInput("expected layers after Input(...)", option="--net")
    shape: KShape = (batch, *start)
    rows: list[KerasRow] = []
    warnings: list[str] = []
    counts: dict[str, int] = {}
    for index, call in enumerate(calls, 1):
        spec = CATALOGUE.get(call.name)
        if spec is None:
            from dlsolve.solvers.layers import unknown_layer

            raise unknown_layer(
                call, list(CATALOGUE), "Conv2D, MaxPooling2D, Dense, Flatten, BatchNormalization, Dropout, LSTM"
            )
        base = snake_case(call.name)
        default_name = base if base not in counts else f"{base}_{counts[base]}"
        counts[base] = counts.get(base, 0) + 1
        ctx = Context(index, default_name, " ".join(call.source.split()))
        arguments, extra = bind_keras(call, spec, ctx)
        given_name = extra.get("name", arguments.get("name"))
        layer_name = given_name if isinstance(given_name, str) else default_name
        try:
            applied = spec.apply(ctx, arguments, shape)
        except InvalidProblem as error:
            raise _with_torch_hint(error, call, index, input_shape) from None
        trainable, frozen = applied.trainable, applied.non_trainable
        if extra.get("trainable") is False:
            trainable, frozen = 0, applied.trainable + applied.non_trainable
            applied.lines.append("trainable=False: its weights are not trained")
        warnings.extend(f"layer {index} ({ctx.source}): {w}" for w in applied.warnings)
        lines = [*applied.lines, f"output shape {_shape_text(applied.shape)}"]
        rows.append(KerasRow(layer_name, call.name, applied.shape, trainable, frozen, lines))
        shape = applied.shape
    trainable_total = sum(row.trainable for row in rows)
    frozen_total = sum(row.non_trainable for row in rows)
    total = trainable_total + frozen_total

    def build() -> list[Step]:
        table = Table(
            columns=["Layer (type)", "Output Shape", "Param #"],
            rows=[
                [f"{row.name} ({row.type})", _shape_text(row.shape), f"{row.trainable + row.non_trainable:,}"]
                for row in rows
            ],
            title='Model: "sequential"',
        )
        totals = (
            f"Total params: {total:,}\nTrainable params: {trainable_total:,}\nNon-trainable params: {frozen_total:,}"
            + ("" if not frozen_total else " (BatchNormalization's moving mean and variance, frozen layers)")
        )
        return [
            Step(
                "Model summary",
                f"input {_shape_text((batch, *start))} (Keras order: batch, spatial..., channels) "
                f"through {len(rows)} layers",
                blocks=[table],
                kind="keras.summary",
            ),
            *[
                Step(f"Layer {i}: {row.name} ({row.type})", "\n".join(row.lines), kind="keras.layer")
                for i, row in enumerate(rows, 1)
            ],
            Step(
                "Totals",
                totals,
                f"\\text{{params}} = {trainable_total} + {frozen_total} = {total}",
                kind="keras.totals",
            ),
        ]

    return Solution(
        command="conv-shape",
        inputs={"input": list(start), "net": [call.source for call in calls], "framework": "keras"},
        answer={
            "shape": list(shape),
            "params": total,
            "trainable_params": trainable_total,
            "non_trainable_params": frozen_total,
            "layers": [
                {
                    "layer": row.name,
                    "type": row.type,
                    "shape": list(row.shape),
                    "params": row.trainable + row.non_trainable,
                    "trainable_params": row.trainable,
                    "non_trainable_params": row.non_trainable,
                }
                for row in rows
            ],
        },
        summary=(
            f"output shape {_shape_text(shape)}, {total:,} parameters "
            f"({trainable_total:,} trainable, {frozen_total:,} non-trainable)"
        ),
        quiet=" ".join("None" if v is None else str(v) for v in shape) + f"\n{total} parameters",
        steps=build,
        warnings=warnings,
        answer_latex=fmt.shape(["None" if v is None else v for v in shape]),  # type: ignore[misc]
    )
