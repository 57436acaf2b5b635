"""Sequence layers of ``conv-shape --net``: RNN, LSTM, GRU, embeddings, attention and transformers.

Shapes and trainable parameters exactly as PyTorch's modules (``sum(p.numel())``), and PyTorch's
refusals with its words. Conventions of the trace:

* A recurrent layer returns ``(output, h_n)`` (LSTM: ``(output, (h_n, c_n))``); the trace follows
  ``output`` (``[L, N, D·H_out]``, ``[N, L, D·H_out]`` with ``batch_first``, ``[L, D·H_out]``
  unbatched; ``D = 2`` when bidirectional, ``H_out = proj_size`` or ``hidden_size``) and shows the
  hidden-state shapes as a note (``h_n [D·num_layers, N, H_out]``, ``c_n [D·num_layers, N, H]``;
  ``batch_first`` does not apply to them).
* Parameters of a recurrent layer, per layer and direction, with ``G`` = 1 (RNN), 3 (GRU), 4 (LSTM):
  ``G·H·(in + H_out) + 2·G·H`` (biases, when ``bias``) ``+ proj_size·H`` (LSTM projection), where
  ``in = input_size`` for the first layer and ``D·H_out`` after it.
* ``MultiheadAttention`` is traced as self-attention (``query = key = value =`` the incoming tensor)
  and follows ``attn_output`` (the query's shape); ``TransformerDecoderLayer``, ``TransformerDecoder``
  and ``Transformer`` take the incoming tensor as both target and memory (source).
* ``Embedding`` maps integer indices of any shape to ``[*, embedding_dim]``; ``EmbeddingBag`` a 2-D
  batch of bags ``[B, N]`` to ``[B, embedding_dim]`` (a 1-D input needs offsets, which a trace has not).
* ``TransformerEncoder(TransformerEncoderLayer(...), num_layers, norm=LayerNorm(...))`` takes the layer
  as a nested call, as in PyTorch.

MACs are torchinfo 1.8.0's "Mult-Adds" (``LayerInfo.calculate_macs``, summed over the modules whose
forward hooks run; tests/data/make_macs_goldens.py checks them):

* RNN/LSTM/GRU: every parameter once per entry of the output's first two axes (``L·N`` or ``N·L``;
  unbatched ``L`` and the ``D·H_out`` features, as torchinfo multiplies whatever the axes are).
* MultiheadAttention: 0. Its projections run inside ``F.multi_head_attention_forward`` (``out_proj`` is
  never called as a module), so no hook sees them; the transformer layers count their ``linear1``,
  ``linear2`` and LayerNorms, each once per entry of the first axis (the batch with ``batch_first``,
  the sequence without): ``first axis·(params − attention params)``. The working says what is left out.
* Embedding, EmbeddingBag: ``first axis·num_embeddings·embedding_dim``, a frozen table (``_freeze``) too.

``Applied.compute_macs`` is what ``cost flops --net`` counts instead: the multiply-accumulates of the
forward pass's matrix products, as ``torch.utils.flop_counter.FlopCounterMode`` counts them
(tests/data/make_flops_goldens.py): a recurrent layer's weights (biases left out) once per step and
batch item, ``L·N·weights``; attention ``4·N·L·E²`` (Q, K, V and output projections) ``+ 2·N·L·S·E``
(QKᵀ and AV, S keys counting ``bias_k``/``bias_v`` and the zero attention); a transformer layer that
plus ``2·N·L·d·d_ff`` (a decoder layer two attentions, the memory the same sequence); embeddings 0.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from dlsolve import fmt
from dlsolve.values import LayerCall

if TYPE_CHECKING:
    from dlsolve.solvers.layers import Applied, Context, LayerSpec, Shape

_GATES = {"RNN": 1, "GRU": 3, "LSTM": 4}


class _NotGiven:
    def __repr__(self) -> str:
        return "NOT_GIVEN"


_NOT_GIVEN: Any = _NotGiven()


def _checks() -> Any:
    """The argument checks of the layer catalogue (imported late: layers.py imports this module)."""
    from dlsolve.solvers import layers

    return layers


def _dropout_checked(ctx: Context, value: Any) -> float:
    p = _checks()._float(ctx, value, "dropout")
    if not 0 <= p <= 1:
        raise ctx.invalid(f"dropout probability has to be between 0 and 1, but got {value}")
    return p


# --------------------------------------------------------------------------- recurrent layers


def _recurrent_apply(kind: str) -> Callable[[Context, dict[str, Any], Shape], Applied]:
    gates = _GATES[kind]

    def apply(ctx: Context, a: dict[str, Any], shape: Shape) -> Applied:
        checks = _checks()
        warnings = []
        if kind != "LSTM" and a["proj_size"] is not _NOT_GIVEN:
            raise ctx.invalid("proj_size argument is only supported for LSTM, not RNN or GRU")
        if kind == "RNN" and a["nonlinearity"] not in ("tanh", "relu"):
            raise ctx.invalid(f"Unknown nonlinearity '{a['nonlinearity']}'. Select from 'tanh' or 'relu'.")
        dropout = a["dropout"]
        if isinstance(dropout, bool) or not isinstance(dropout, int | float) or not 0 <= dropout <= 1:
            raise ctx.invalid(
                "dropout should be a number in range [0, 1] representing the probability of an element being zeroed"
            )
        bias = checks._bool(ctx, a["bias"], "bias")
        batch_first = checks._bool(ctx, a["batch_first"], "batch_first")
        bidirectional = checks._bool(ctx, a["bidirectional"], "bidirectional")
        input_size = checks._int(ctx, a["input_size"], "input_size")
        hidden = checks._int(ctx, a["hidden_size"], "hidden_size")
        num_layers = checks._int(ctx, a["num_layers"], "num_layers")
        proj = 0 if a["proj_size"] is _NOT_GIVEN else checks._int(ctx, a["proj_size"], "proj_size")
        if dropout > 0 and num_layers == 1:
            warnings.append(
                "dropout option adds dropout after all but last recurrent layer, so non-zero dropout expects "
                f"num_layers greater than 1, but got dropout={dropout} and num_layers={num_layers}"
            )
        if input_size <= 0:
            raise ctx.invalid("input_size must be greater than zero")
        if hidden <= 0:
            raise ctx.invalid("hidden_size must be greater than zero")
        if num_layers <= 0:
            raise ctx.invalid("num_layers must be greater than zero")
        if proj < 0:
            raise ctx.invalid("proj_size should be a positive integer or zero to disable projections")
        if proj >= hidden:
            raise ctx.invalid("proj_size has to be smaller than hidden_size")
        if len(shape) not in (2, 3):
            raise ctx.invalid(f"{kind}: Expected input to be 2D or 3D, got {len(shape)}D instead")
        if shape[-1] != input_size:
            raise ctx.invalid(f"input.size(-1) must be equal to input_size. Expected {input_size}, got {shape[-1]}")
        batched = len(shape) == 3
        length = shape[1] if batched and batch_first else shape[0]
        if length == 0:
            raise ctx.invalid(f"Expected sequence length to be larger than 0 in {kind}")
        directions = 2 if bidirectional else 1
        out_size = proj or hidden
        width = directions * out_size
        out = (*shape[:-1], width)

        g = f"{gates}·" if gates > 1 else ""

        # parameters per layer and direction: G·H·(in + H_out) + 2·G·H + P·H
        def count(inputs: int) -> int:
            return gates * hidden * (inputs + out_size) + (2 * gates * hidden if bias else 0) + proj * hidden

        def substituted(inputs: int) -> str:
            text = f"{g}{hidden}·({inputs} + {out_size})" + (f" + 2·{g}{hidden}" if bias else "")
            return text + (f" + {proj}·{hidden}" if proj else "") + f" = {count(inputs)}"

        first, later = count(input_size), count(width)
        params = directions * (first + later * (num_layers - 1))
        h_out = "P" if proj else "H"
        order = "[N, L, H_in]" if batch_first else "[L, N, H_in]"
        returned = "output, (h_n, c_n)" if kind == "LSTM" else "output, h_n"
        lines = [
            f"input {fmt.shape(shape)} read as {order if batched else '[L, H_in] (unbatched)'}: "
            f"L = {length} steps of {input_size} features",
            (f"output = D·{h_out} = {directions}·{out_size}" if directions > 1 else f"output = {h_out}")
            + f" = {width} features per step: {fmt.shape(out)} "
            f"(the trace follows the output tensor of ({returned}))",
        ]
        per = f"{g}H·(in + {h_out})" + (f" + 2·{g}H" if bias else "") + (" + P·H" if proj else "")
        text = f"params per layer and direction = {per}: layer 1 (in = {input_size}) {substituted(input_size)}"
        if num_layers > 1:
            others = "layer 2" if num_layers == 2 else f"layers 2–{num_layers} each"
            text += f"; {others} (in = D·{h_out} = {width}) {substituted(width)}"
        factor = f"{directions}·" if directions > 1 else ""
        layers_sum = f"({first} + {num_layers - 1}·{later})" if num_layers > 2 else f"({first} + {later})"
        if params != first:
            text += f"; total = {factor}{layers_sum if num_layers > 1 else first} = {params}"
        lines.append(text)
        stack = directions * num_layers  # h_n is [D·num_layers, N, H_out] whatever batch_first says
        h_n = (stack, shape[0] if batch_first else shape[1], out_size) if batched else (stack, out_size)
        note = f"h_n {fmt.shape(h_n)}"
        if kind == "LSTM":
            note += f", c_n {fmt.shape((*h_n[:-1], hidden))}"
        lines.append(f"hidden state (a note; not traced): {note}")
        latex = [f"\\text{{params}} = {params}"]
        macs_note = (
            ""
            if batched
            else f"torchinfo multiplies by the output's first two axes; unbatched these are L = {out[0]} and the "
            f"{out[1]} output features"
        )
        # compute: every weight once per time step and batch item (both directions, every layer); no biases
        biases = directions * num_layers * 2 * gates * hidden if bias else 0
        positions = shape[:-1]
        return checks.Applied(
            out,
            params,
            lines,
            latex,
            "end",
            warnings=warnings,
            note=note,
            macs=out[0] * out[1] * params,
            macs_formula=f"{out[0]}·{out[1]}·{params}",
            macs_note=macs_note,
            compute_macs=math.prod(positions) * (params - biases),
            compute_formula="·".join(map(str, [*positions, params - biases])),
        )

    return apply


def _recurrent_params(kind: str) -> tuple[tuple[str, Any], ...]:
    from dlsolve.solvers.layers import _DEVICE, REQUIRED

    head = (("input_size", REQUIRED), ("hidden_size", REQUIRED), ("num_layers", 1))
    rnn = (("nonlinearity", "tanh"),) if kind == "RNN" else ()
    # RNN and GRU refuse a proj_size argument whatever its value ("in kwargs"): no default to fall back to
    proj = 0 if kind == "LSTM" else _NOT_GIVEN
    tail = (("bias", True), ("batch_first", False), ("dropout", 0.0), ("bidirectional", False), ("proj_size", proj))
    return (*head, *rnn, *tail, *_DEVICE)


# --------------------------------------------------------------------------- embeddings


def _padding_idx(ctx: Context, value: Any, count: int, message: str) -> None:
    if value is None:
        return
    index = _checks()._int(ctx, value, "padding_idx")
    if not -count <= index < count:
        raise ctx.invalid(message)


def _embedding_apply(ctx: Context, a: dict[str, Any], shape: Shape) -> Applied:
    checks = _checks()
    count = checks._int(ctx, a["num_embeddings"], "num_embeddings")
    dim = checks._int(ctx, a["embedding_dim"], "embedding_dim")
    frozen = checks._bool(ctx, a["_freeze"], "_freeze")
    if a["_weight"] is not None:
        raise ctx.bad("_weight takes a tensor, which --net cannot give; leave it out")
    _padding_idx(ctx, a["padding_idx"], count, "Padding_idx must be within num_embeddings")
    if count < 0 or dim < 0:
        raise ctx.invalid(f"Trying to create tensor with negative dimension {min(count, dim)}: [{count}, {dim}]")
    if count == 0 and math.prod(shape):
        raise ctx.invalid("index_select(): self indexing axis dim should be positive")
    out = (*shape, dim)
    params = 0 if frozen else count * dim
    lines = [
        f"each integer index (0..{count - 1}) becomes a row of the {count} x {dim} table: "
        f"{fmt.shape(shape)} -> {fmt.shape(out)}",
        f"params = num_embeddings·embedding_dim = {count}·{dim} = {count * dim}"
        + (" (frozen: _freeze=True, not trainable)" if frozen else ""),
    ]
    if not frozen:
        return checks.Applied(out, params, lines, [f"\\text{{params}} = {params}"], "end")
    return checks.Applied(
        out,
        params,
        lines,
        [f"\\text{{params}} = {params}"],
        "end",
        macs=out[0] * count * dim,
        macs_formula=f"{out[0]}·{count * dim}",
        macs_note="torchinfo counts the frozen table's MACs too",
    )


def _embedding_bag_apply(ctx: Context, a: dict[str, Any], shape: Shape) -> Applied:
    checks = _checks()
    count = checks._int(ctx, a["num_embeddings"], "num_embeddings")
    dim = checks._int(ctx, a["embedding_dim"], "embedding_dim")
    if a["_weight"] is not None:
        raise ctx.bad("_weight takes a tensor, which --net cannot give; leave it out")
    checks._bool(ctx, a["include_last_offset"], "include_last_offset")
    _padding_idx(ctx, a["padding_idx"], count, "padding_idx must be within num_embeddings")
    if len(shape) == 1:
        raise ctx.invalid("offsets has to be a 1D Tensor but got None (a 1-D input needs offsets; give [B, N] bags)")
    if len(shape) != 2:
        raise ctx.invalid(f"input has to be 1D or 2D Tensor, but got Tensor of dimension {len(shape)}")
    if a["mode"] not in ("sum", "mean", "max"):
        raise ctx.invalid("mode has to be one of sum, mean or max")
    out = (shape[0], dim)
    lines = [
        f"{shape[0]} bags of {shape[1]} indices, each reduced by {a['mode']} to one row of {dim}: "
        f"{fmt.shape(shape)} -> {fmt.shape(out)}",
        f"params = num_embeddings·embedding_dim = {count}·{dim} = {count * dim}",
    ]
    return checks.Applied(out, count * dim, lines, [f"\\text{{params}} = {count * dim}"], "end")


# --------------------------------------------------------------------------- attention and transformers


def _mha_params(embed: int, heads: int, bias: bool, add_bias_kv: bool, kdim: int, vdim: int) -> int:
    from dlsolve.solvers.attention_shapes import MhaSizes, parameter_counts

    head = embed // heads
    sizes = MhaSizes(1, 1, 1, embed, heads, head, head, kdim, vdim, bias, add_bias_kv)
    return sum(parameter_counts(sizes).values())


def _mha_checks(ctx: Context, embed: int, heads: int) -> None:
    if embed <= 0 or heads <= 0:
        raise ctx.invalid(
            f"embed_dim and num_heads must be greater than 0, got embed_dim={embed} and num_heads={heads} instead"
        )
    if embed % heads:
        raise ctx.invalid("embed_dim must be divisible by num_heads")


def _attention_input(ctx: Context, shape: Shape, embed: int) -> None:
    """What ``F.multi_head_attention_forward`` asserts of a query (the trace's self-attention input)."""
    if len(shape) not in (2, 3):
        raise ctx.invalid(f"query should be unbatched 2D or batched 3D tensor but received {len(shape)}-D query tensor")
    if shape[-1] != embed:
        raise ctx.invalid(f"was expecting embedding dimension of {embed}, but got {shape[-1]}")


def _batch_text(shape: Shape, batch_first: bool) -> str:
    if len(shape) == 2:
        return "[L, E] (unbatched)"
    return "[N, L, E] (batch_first=True)" if batch_first else "[L, N, E] (sequence first)"


def _mha_apply(ctx: Context, a: dict[str, Any], shape: Shape) -> Applied:
    checks = _checks()
    embed = checks._int(ctx, a["embed_dim"], "embed_dim")
    heads = checks._int(ctx, a["num_heads"], "num_heads")
    bias = checks._bool(ctx, a["bias"], "bias")
    add_bias_kv = checks._bool(ctx, a["add_bias_kv"], "add_bias_kv")
    batch_first = checks._bool(ctx, a["batch_first"], "batch_first")
    checks._float(ctx, a["dropout"], "dropout")
    kdim = embed if a["kdim"] is None else checks._int(ctx, a["kdim"], "kdim")
    vdim = embed if a["vdim"] is None else checks._int(ctx, a["vdim"], "vdim")
    _mha_checks(ctx, embed, heads)
    _attention_input(ctx, shape, embed)
    for name, size in (("key", kdim), ("value", vdim)):
        if size != embed:
            raise ctx.invalid(
                f"expecting {name} weights shape of ({embed}, {shape[-1]}), but got torch.Size([{embed}, {size}]) "
                f"(the trace uses the incoming tensor as query, key and value)"
            )
    params = _mha_params(embed, heads, bias, add_bias_kv, kdim, vdim)
    head = embed // heads
    b = " + 3E (in_proj_bias) + E (out_proj.bias)" if bias else ""
    kv = " + 2E (bias_k, bias_v)" if add_bias_kv else ""
    lines = [
        f"self-attention: query = key = value = the incoming tensor {fmt.shape(shape)}, read as "
        f"{_batch_text(shape, batch_first)}; {heads} heads of E/h = {embed}/{heads} = {head}; "
        f"the trace follows attn_output (the query's shape) {fmt.shape(shape)}",
        f"params = 3E² (in_proj_weight) + E² (out_proj.weight){b}{kv} with E = {embed}: {params}",
    ]
    zero_attn = checks._bool(ctx, a["add_zero_attn"], "add_zero_attn")
    # attn_weights [N, L, S] (unbatched [L, S]); bias_k/v and the zero attention each add one key
    length = shape[1] if len(shape) == 3 and batch_first else shape[0]
    keys = length + int(add_bias_kv) + int(zero_attn)
    batch = () if len(shape) == 2 else (shape[0] if batch_first else shape[1],)
    note = f"attn_weights {fmt.shape((*batch, length, keys))} (averaged over heads)"
    return checks.Applied(
        shape,
        params,
        lines,
        [f"\\text{{params}} = {params}"],
        "end",
        note=note,
        **_macs_without(shape, params, params),
        **_compute(_attention_macs(batch[0] if batch else 1, length, keys, embed)),
    )


def _compute(parts: list[tuple[int, str]]) -> dict[str, Any]:
    """``Applied``'s compute_macs and compute_formula from (MACs, product) parts."""
    return {"compute_macs": sum(macs for macs, _ in parts), "compute_formula": " + ".join(text for _, text in parts)}


def _attention_macs(batch: int, length: int, keys: int, embed: int, times: int = 1) -> list[tuple[int, str]]:
    """``times`` multi-head attentions' matrix products for ``batch`` sequences of ``length`` queries and
    ``keys`` keys (the query, key, value and output projections, E² each per position; QKᵀ and AV,
    ``length·keys·E`` each with all heads together). The trace's keys and values are the queries' own
    sequence (self-attention; a decoder's memory is the same shape), so every projection runs on
    ``length`` positions."""
    n, e, t = batch, embed, times
    return [
        (4 * t * n * length * e * e, f"{4 * t}·{n}·{length}·{e}²"),
        (2 * t * n * length * keys * e, f"{2 * t}·{n}·{length}{'²' if keys == length else f'·{keys}'}·{e}"),
    ]


def _sequence_axes(shape: Shape, batch_first: bool) -> tuple[int, int]:
    """(batch, length) of a sequence input: [N, L, E] with batch_first, [L, N, E] without, [L, E] unbatched."""
    if len(shape) == 2:
        return 1, shape[0]
    return (shape[0], shape[1]) if batch_first else (shape[1], shape[0])


def _layer_compute(a: dict[str, Any], shape: Shape, decoder: bool) -> list[tuple[int, str]]:
    """One transformer layer's matrix products on ``shape`` (memory = the same sequence for a decoder):
    self-attention, a decoder's cross-attention, and the feed-forward linear1, linear2 (``2·N·L·d·d_ff``)."""
    d, ff = a["d_model"], a["dim_feedforward"]
    n, length = _sequence_axes(shape, a["batch_first"])
    parts = _attention_macs(n, length, length, d, 2 if decoder else 1)  # a decoder: self- and cross-attention
    return [*parts, (2 * n * length * d * ff, f"2·{n}·{length}·{d}·{ff}")]


def _macs_without(shape: Shape, params: int, attention: int) -> dict[str, Any]:
    """torchinfo's MACs of a layer holding MultiheadAttention: the first axis × the other parameters
    (``Applied``'s ``macs``, ``macs_formula``, ``macs_note``)."""
    note = (
        "torchinfo leaves out MultiheadAttention's projections (they run in a functional call): "
        f"{attention:,} parameters not counted"
    )
    rest = params - attention
    if not rest:
        return {"macs": 0, "macs_note": note}
    return {"macs": shape[0] * rest, "macs_formula": f"{shape[0]}·({params} − {attention})", "macs_note": note}


def _layernorm_params(d_model: int, bias: bool) -> int:
    return d_model * (2 if bias else 1)


def _transformer_layer(ctx: Context, a: dict[str, Any], decoder: bool) -> tuple[int, int, list[str], int]:
    """Check a Transformer{Encoder,Decoder}Layer's arguments; (d_model, params, lines, attention params)."""
    checks = _checks()
    d_model = checks._int(ctx, a["d_model"], "d_model")
    heads = checks._int(ctx, a["nhead"], "nhead")
    feedforward = checks._int(ctx, a["dim_feedforward"], "dim_feedforward")
    bias = checks._bool(ctx, a["bias"], "bias")
    checks._bool(ctx, a["batch_first"], "batch_first")
    checks._bool(ctx, a["norm_first"], "norm_first")
    checks._float(ctx, a["layer_norm_eps"], "layer_norm_eps")
    _mha_checks(ctx, d_model, heads)
    _dropout_checked(ctx, a["dropout"])
    activation = a["activation"]
    if activation not in ("relu", "gelu"):
        raise ctx.invalid(f"activation should be relu/gelu, not {activation}")
    attention = _mha_params(d_model, heads, bias, False, d_model, d_model)
    attentions = 2 if decoder else 1
    linear = 2 * d_model * feedforward + ((feedforward + d_model) if bias else 0)
    norms = (3 if decoder else 2) * _layernorm_params(d_model, bias)
    params = attentions * attention + linear + norms
    names = "self_attn + multihead_attn (cross)" if decoder else "self_attn"
    b = " + d_ff + d" if bias else ""
    n = "2d" if bias else "d"
    attention_text = f"{attentions}·{attention}" if decoder else f"{attention}"
    line = (
        f"one {'decoder' if decoder else 'encoder'} layer (d = {d_model}, {heads} heads, d_ff = {feedforward}): "
        f"{names} {attention_text} + linear1, linear2 (2·d·d_ff{b}) {linear} + "
        f"{3 if decoder else 2} LayerNorms ({n} each) {norms} = {params}"
    )
    return d_model, params, [line], attentions * attention


def _layer_call(ctx: Context, value: Any, expected: str) -> LayerCall:
    if not isinstance(value, LayerCall) or value.name != expected:
        raise ctx.bad(f"expected a {expected}(...) layer as the first argument, got {value!r}")
    return value


def _nested(ctx: Context, call: LayerCall, shape: Shape) -> Applied:
    """Apply a nested layer call (the layer of a TransformerEncoder, its norm) through the catalogue."""
    checks = _checks()
    spec = checks.CATALOGUE[call.name]
    inner = checks.Context(ctx.index, call.name, ctx.source)
    return spec.apply(inner, checks.bind(call, spec, inner), shape)


def _stack_apply(decoder: bool) -> Callable[[Context, dict[str, Any], Shape], Applied]:
    layer_name = "TransformerDecoderLayer" if decoder else "TransformerEncoderLayer"
    argument = "decoder_layer" if decoder else "encoder_layer"

    def apply(ctx: Context, a: dict[str, Any], shape: Shape) -> Applied:
        checks = _checks()
        layer = _layer_call(ctx, a[argument], layer_name)
        count = checks._int(ctx, a["num_layers"], "num_layers")
        one = _nested(ctx, layer, shape)
        if count < 1:
            raise ctx.invalid(f"index 0 is out of range (num_layers={count}: the stack has no layer)")
        params = count * one.params
        lines = [*one.lines, f"{count} copies (deep copies, own weights): {count}·{one.params} = {params}"]
        if a["norm"] is not None:
            norm = a["norm"]
            if not isinstance(norm, LayerCall):
                raise ctx.bad(f"norm must be a layer such as LayerNorm(512) or None, got {norm!r}")
            normed = _nested(ctx, norm, one.shape)
            params += normed.params
            lines.append(f"final norm {norm.name}: {normed.params}; total = {params}")
        inner = checks.Context(ctx.index, layer.name, ctx.source)
        spec = checks.CATALOGUE[layer.name]
        bound = checks.bind(layer, spec, inner)
        attention = count * _transformer_layer(inner, bound, decoder)[3]
        latex = [f"\\text{{params}} = {params}"]
        compute = _compute(_layer_compute(bound, shape, decoder))
        compute["compute_macs"] *= count
        compute["compute_formula"] = f"{count}·({compute['compute_formula']})" if count > 1 else one.compute_formula
        return checks.Applied(
            one.shape, params, lines, latex, "end", **_macs_without(one.shape, params, attention), **compute
        )

    return apply


def _transformer_layer_apply(decoder: bool) -> Callable[[Context, dict[str, Any], Shape], Applied]:
    def apply(ctx: Context, a: dict[str, Any], shape: Shape) -> Applied:
        d_model, params, lines, attention = _transformer_layer(ctx, a, decoder)
        _attention_input(ctx, shape, d_model)
        where = f"read as {_batch_text(shape, a['batch_first'])}"
        memory = "; memory (the encoder output) taken as the incoming tensor" if decoder else ""
        lines.insert(0, f"input {fmt.shape(shape)} {where}{memory}; output the same shape")
        latex = [f"\\text{{params}} = {params}"]
        return _checks().Applied(
            shape,
            params,
            lines,
            latex,
            "end",
            **_macs_without(shape, params, attention),
            **_compute(_layer_compute(a, shape, decoder)),
        )

    return apply


def _transformer_apply(ctx: Context, a: dict[str, Any], shape: Shape) -> Applied:
    checks = _checks()
    for custom in ("custom_encoder", "custom_decoder"):
        if a[custom] is not None:
            raise ctx.bad(f"{custom} takes a module instance, which --net cannot give; leave it out")
    layer_args = {name: a[name] for name in _TRANSFORMER_LAYER_NAMES}
    _, encoder, lines, encoder_attention = _transformer_layer(ctx, layer_args, decoder=False)
    d_model, decoder, decoder_lines, decoder_attention = _transformer_layer(ctx, layer_args, decoder=True)
    encoders = checks._int(ctx, a["num_encoder_layers"], "num_encoder_layers")
    decoders = checks._int(ctx, a["num_decoder_layers"], "num_decoder_layers")
    if shape and shape[-1] != d_model:
        raise ctx.invalid("the feature number of src and tgt must be equal to d_model")
    if encoders < 1:
        raise ctx.invalid("index 0 is out of range (num_encoder_layers=0: the encoder has no layer)")
    _attention_input(ctx, shape, d_model)
    if decoders < 1:
        raise ctx.invalid("index 0 is out of range (num_decoder_layers=0: the decoder has no layer)")
    norm = _layernorm_params(d_model, a["bias"])
    params = encoders * encoder + norm + decoders * decoder + norm
    lines = [
        f"source = target = the incoming tensor {fmt.shape(shape)} (read as {_batch_text(shape, a['batch_first'])}); "
        "output: the target's shape",
        *lines,
        *decoder_lines,
        f"total = {encoders}·{encoder} + {norm} (encoder norm) + {decoders}·{decoder} + {norm} (decoder norm) "
        f"= {params}",
    ]
    attention = encoders * encoder_attention + decoders * decoder_attention
    latex = [f"\\text{{params}} = {params}"]
    encoder_macs = _compute(_layer_compute(layer_args, shape, decoder=False))
    decoder_macs = _compute(_layer_compute(layer_args, shape, decoder=True))
    compute = {
        "compute_macs": encoders * encoder_macs["compute_macs"] + decoders * decoder_macs["compute_macs"],
        "compute_formula": " + ".join(
            f"{count}·({part['compute_formula']})" if count > 1 else part["compute_formula"]
            for count, part in ((encoders, encoder_macs), (decoders, decoder_macs))
        ),
    }
    return checks.Applied(shape, params, lines, latex, "end", **_macs_without(shape, params, attention), **compute)


def _transformer_layer_params() -> tuple[tuple[str, Any], ...]:
    from dlsolve.solvers.layers import _DEVICE, REQUIRED

    return (
        ("d_model", REQUIRED),
        ("nhead", REQUIRED),
        ("dim_feedforward", 2048),
        ("dropout", 0.1),
        ("activation", "relu"),
        ("layer_norm_eps", 1e-5),
        ("batch_first", False),
        ("norm_first", False),
        ("bias", True),
        *_DEVICE,
    )


_TRANSFORMER_LAYER_NAMES = (
    "d_model",
    "nhead",
    "dim_feedforward",
    "dropout",
    "activation",
    "layer_norm_eps",
    "batch_first",
    "norm_first",
    "bias",
)


def sequence_specs() -> list[LayerSpec]:
    """The catalogue entries of this module, for ``layers.CATALOGUE``."""
    from dlsolve.solvers.layers import _DEVICE, REQUIRED, LayerSpec

    layer_params = _transformer_layer_params()
    return [
        *(LayerSpec(kind, _recurrent_params(kind), _recurrent_apply(kind)) for kind in _GATES),
        LayerSpec(
            "Embedding",
            (
                ("num_embeddings", REQUIRED),
                ("embedding_dim", REQUIRED),
                ("padding_idx", None),
                ("max_norm", None),
                ("norm_type", 2.0),
                ("scale_grad_by_freq", False),
                ("sparse", False),
                ("_weight", None),
                ("_freeze", False),
                *_DEVICE,
            ),
            _embedding_apply,
        ),
        LayerSpec(
            "EmbeddingBag",
            (
                ("num_embeddings", REQUIRED),
                ("embedding_dim", REQUIRED),
                ("max_norm", None),
                ("norm_type", 2.0),
                ("scale_grad_by_freq", False),
                ("mode", "mean"),
                ("sparse", False),
                ("_weight", None),
                ("include_last_offset", False),
                ("padding_idx", None),
                *_DEVICE,
            ),
            _embedding_bag_apply,
        ),
        LayerSpec(
            "MultiheadAttention",
            (
                ("embed_dim", REQUIRED),
                ("num_heads", REQUIRED),
                ("dropout", 0.0),
                ("bias", True),
                ("add_bias_kv", False),
                ("add_zero_attn", False),
                ("kdim", None),
                ("vdim", None),
                ("batch_first", False),
                *_DEVICE,
            ),
            _mha_apply,
        ),
        LayerSpec("TransformerEncoderLayer", layer_params, _transformer_layer_apply(decoder=False)),
        LayerSpec("TransformerDecoderLayer", layer_params, _transformer_layer_apply(decoder=True)),
        LayerSpec(
            "TransformerEncoder",
            (
                ("encoder_layer", REQUIRED),
                ("num_layers", REQUIRED),
                ("norm", None),
                ("enable_nested_tensor", True),
                ("mask_check", True),
            ),
            _stack_apply(decoder=False),
        ),
        LayerSpec(
            "TransformerDecoder",
            (("decoder_layer", REQUIRED), ("num_layers", REQUIRED), ("norm", None)),
            _stack_apply(decoder=True),
        ),
        LayerSpec(
            "Transformer",
            (
                ("d_model", 512),
                ("nhead", 8),
                ("num_encoder_layers", 6),
                ("num_decoder_layers", 6),
                ("dim_feedforward", 2048),
                ("dropout", 0.1),
                ("activation", "relu"),
                ("custom_encoder", None),
                ("custom_decoder", None),
                ("layer_norm_eps", 1e-5),
                ("batch_first", False),
                ("norm_first", False),
                ("bias", True),
                *_DEVICE,
            ),
            _transformer_apply,
        ),
    ]
