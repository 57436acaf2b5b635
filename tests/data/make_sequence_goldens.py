"""Make tests/data/sequence_goldens.json: recurrent cells and sequence layers computed by real PyTorch.

Run from the repository root with PyTorch installed (a few seconds on CPU)::

    python tests/data/make_sequence_goldens.py

Cells (``rnn`` command): 180 random small cells, a third each RNN (tanh, relu, and the linear
``none``), LSTM and GRU, D_in and H from 1 to 3, 1 to 4 steps, each bias given or not, h0 and c0
given or not; weights are multiples of 1/4 or two-decimal numbers (kept as text, so the test reads
exactly what torch was given). ``nn.RNN``/``nn.LSTM``/``nn.GRU`` in float64, run one step at a time
to record every h_t (and c_t); a missing bias is zero. PyTorch has no linear RNN: the ``none`` cells
are computed with float64 tensor products ``h_t = W_ih x_t + b_ih + W_hh h_{t-1} + b_hh``.

Layers (``conv-shape --net``): 160 random RNN/LSTM/GRU (num_layers, bias, batch_first,
bidirectional, proj_size, dropout), Embedding, EmbeddingBag, MultiheadAttention,
TransformerEncoderLayer/DecoderLayer, TransformerEncoder and Transformer on random input shapes,
some refused (proj_size with GRU, wrong feature sizes, heads not dividing the width, ...): the output
shape the trace follows (a recurrent layer's ``output``, attention's ``attn_output``), the hidden-state
shapes, ``sum(p.numel())`` and torch's error. Networks: a dozen exam-style models, with the shape after
every layer and the total.
"""

from __future__ import annotations

import json
import random
import sys
import warnings
from fractions import Fraction
from pathlib import Path

import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from dlsolve.parsing import LayerCall, parse_layers

SEED = 20261203
OUT = Path(__file__).with_name("sequence_goldens.json")
GATES = {"rnn": 1, "lstm": 4, "gru": 3}


# --------------------------------------------------------------------------- cells


def _number(rng: random.Random) -> str:
    if rng.random() < 0.6:
        return str(Fraction(rng.randint(-8, 8), 4))
    return f"{rng.uniform(-1.5, 1.5):.2f}"


def _matrix(rng: random.Random, rows: int, cols: int) -> str:
    return ";".join(",".join(_number(rng) for _ in range(cols)) for _ in range(rows))


def _vector(rng: random.Random, size: int) -> str:
    return ",".join(_number(rng) for _ in range(size))


def _tensor(text: str) -> torch.Tensor:
    rows = [[float(Fraction(v)) for v in row.split(",")] for row in text.split(";")]
    return torch.tensor(rows, dtype=torch.float64)


def random_cell(rng: random.Random, index: int) -> dict:
    cell = ("rnn", "lstm", "gru")[index % 3]
    nonlinearity = ("tanh", "relu", "none")[(index // 3) % 3] if cell == "rnn" else None
    d_in, hidden, steps = rng.randint(1, 3), rng.randint(1, 3), rng.randint(1, 4)
    g = GATES[cell]
    case = {
        "cell": cell,
        "nonlinearity": nonlinearity,
        "x": _matrix(rng, steps, d_in),
        "w_ih": _matrix(rng, g * hidden, d_in),
        "w_hh": _matrix(rng, g * hidden, hidden),
        "b_ih": _vector(rng, g * hidden) if rng.random() < 0.6 else None,
        "b_hh": _vector(rng, g * hidden) if rng.random() < 0.6 else None,
        "h0": _vector(rng, hidden) if rng.random() < 0.5 else None,
        "c0": _vector(rng, hidden) if cell == "lstm" and rng.random() < 0.5 else None,
    }
    case.update(run_cell(case, hidden))
    return case


def run_cell(case: dict, hidden: int) -> dict:
    cell, g = case["cell"], GATES[case["cell"]]
    x, w_ih, w_hh = _tensor(case["x"]), _tensor(case["w_ih"]), _tensor(case["w_hh"])
    zeros = torch.zeros(g * hidden, dtype=torch.float64)
    b_ih = _tensor(case["b_ih"])[0] if case["b_ih"] else zeros
    b_hh = _tensor(case["b_hh"])[0] if case["b_hh"] else zeros
    h = _tensor(case["h0"])[0] if case["h0"] else torch.zeros(hidden, dtype=torch.float64)
    c = _tensor(case["c0"])[0] if case["c0"] else torch.zeros(hidden, dtype=torch.float64)
    hs, cs = [], []
    if case["nonlinearity"] == "none":
        for row in x:
            h = w_ih @ row + b_ih + w_hh @ h + b_hh
            hs.append(h.tolist())
        return {"h": hs, "c": None}
    if cell == "rnn":
        module = nn.RNN(x.shape[1], hidden, nonlinearity=case["nonlinearity"], dtype=torch.float64)
    else:
        module = (nn.LSTM if cell == "lstm" else nn.GRU)(x.shape[1], hidden, dtype=torch.float64)
    with torch.no_grad():
        module.weight_ih_l0.copy_(w_ih)
        module.weight_hh_l0.copy_(w_hh)
        module.bias_ih_l0.copy_(b_ih)
        module.bias_hh_l0.copy_(b_hh)
        state = (h[None], c[None]) if cell == "lstm" else h[None]
        for t in range(x.shape[0]):
            out, state = module(x[t : t + 1], state)
            hs.append(out[0].tolist())
            if cell == "lstm":
                cs.append(state[1][0].tolist())
    return {"h": hs, "c": cs if cell == "lstm" else None}


# --------------------------------------------------------------------------- layers


def _recurrent(rng: random.Random) -> tuple[list[int], str]:
    kind = rng.choice(("RNN", "LSTM", "GRU"))
    d_in, hidden = rng.randint(1, 40), rng.randint(1, 40)
    parts = [str(d_in), str(hidden)]
    layers = rng.choice((1, 1, 2, 3))
    if layers > 1 or rng.random() < 0.2:
        parts.append(f"num_layers={layers}")
    if kind == "RNN" and rng.random() < 0.3:
        parts.append(f"nonlinearity={rng.choice(['relu', 'tanh', 'relu', 'sigmoid'])!r}")
    for name in ("bias", "batch_first", "bidirectional"):
        if rng.random() < 0.35:
            parts.append(f"{name}={rng.random() < 0.5}")
    if rng.random() < 0.25:
        parts.append(f"dropout={rng.choice([0.0, 0.2, 0.5, 1.5])}")
    if rng.random() < (0.4 if kind == "LSTM" else 0.1):
        parts.append(f"proj_size={rng.randint(0, hidden)}")
    ndim = rng.choice((2, 3, 3, 3)) if rng.random() < 0.95 else 4
    shape = [rng.randint(1, 9) for _ in range(ndim - 1)] + [d_in if rng.random() < 0.9 else d_in + 1]
    return shape, f"{kind}({', '.join(parts)})"


def _embedding(rng: random.Random) -> tuple[list[int], str]:
    count, dim = rng.randint(1, 5000), rng.randint(1, 300)
    if rng.random() < 0.5:
        extra = f", padding_idx={rng.randint(-count - 1, count)}" if rng.random() < 0.3 else ""
        shape = [rng.randint(1, 9) for _ in range(rng.randint(1, 3))]
        return shape, f"Embedding({count}, {dim}{extra})"
    extra = f", mode={rng.choice(['sum', 'mean', 'max', 'sum'])!r}" if rng.random() < 0.4 else ""
    shape = [rng.randint(1, 9) for _ in range(rng.choice((2, 2, 2, 1, 3)))]
    return shape, f"EmbeddingBag({count}, {dim}{extra})"


def _attention(rng: random.Random) -> tuple[list[int], str]:
    heads = rng.choice((1, 2, 4, 8))
    width = heads * rng.randint(1, 8) if rng.random() < 0.9 else rng.randint(1, 40)
    kind = rng.choice(("MultiheadAttention", "TransformerEncoderLayer", "TransformerDecoderLayer", "stack", "full"))
    batch_first = rng.random() < 0.4
    ndim = rng.choice((2, 3, 3, 3)) if rng.random() < 0.95 else 4
    shape = [rng.randint(1, 7) for _ in range(ndim - 1)] + [width if rng.random() < 0.9 else width + 2]
    if kind == "MultiheadAttention":
        parts = [str(width), str(heads)]
        for name in ("bias", "add_bias_kv", "add_zero_attn"):
            if rng.random() < 0.3:
                parts.append(f"{name}={rng.random() < 0.5}")
        if rng.random() < 0.1:
            parts.append(f"kdim={width + rng.choice((0, 1))}")
        if batch_first:
            parts.append("batch_first=True")
        return shape, f"MultiheadAttention({', '.join(parts)})"
    feedforward = rng.choice((4, 16, 32, 64))
    options = [f"dim_feedforward={feedforward}"]
    if batch_first:
        options.append("batch_first=True")
    if rng.random() < 0.3:
        options.append(f"bias={rng.random() < 0.5}")
    if rng.random() < 0.2:
        options.append(f"activation={rng.choice(['gelu', 'relu', 'tanh'])!r}")
    if rng.random() < 0.2:
        options.append("norm_first=True")
    joined = ", ".join(options)
    if kind == "full":
        encoders, decoders = rng.randint(0 if rng.random() < 0.05 else 1, 3), rng.randint(1, 3)
        return shape, (
            f"Transformer(d_model={width}, nhead={heads}, num_encoder_layers={encoders}, "
            f"num_decoder_layers={decoders}, {joined})"
        )
    layer = "TransformerDecoderLayer" if kind == "TransformerDecoderLayer" else "TransformerEncoderLayer"
    text = f"{layer}({width}, {heads}, {joined})"
    if kind == "stack":
        norm = f", norm=LayerNorm({width})" if rng.random() < 0.5 else ""
        return shape, f"TransformerEncoder({text}, {rng.randint(1, 3)}{norm})"
    return shape, text


def random_layer(rng: random.Random) -> tuple[list[int], str]:
    return rng.choice((_recurrent, _recurrent, _embedding, _attention, _attention))(rng)


def build(call: LayerCall) -> nn.Module:
    def value(v):
        return build(v) if isinstance(v, LayerCall) else v

    return getattr(nn, call.name)(*map(value, call.args), **{k: value(v) for k, v in call.kwargs.items()})


def forward(layer: nn.Module, x: torch.Tensor) -> tuple[torch.Tensor, list[list[int]]]:
    """The tensor the trace follows, and the shapes of the other outputs."""
    if isinstance(layer, nn.RNNBase):
        out, hidden = layer(x)
        hidden = hidden if isinstance(hidden, tuple) else (hidden,)
        return out, [list(h.shape) for h in hidden]
    if isinstance(layer, nn.MultiheadAttention):
        out, weights = layer(x, x, x)
        return out, [list(weights.shape)]
    if isinstance(layer, nn.TransformerDecoderLayer | nn.TransformerDecoder | nn.Transformer):
        return layer(x, x), []
    return layer(x), []


def run_network(input_shape: list[int], text: str) -> dict:
    calls = parse_layers(text)
    result: dict = {"input": input_shape, "net": text, "shapes": [], "hidden": [], "params": None, "error": None}
    try:
        layers = [build(call) for call in calls]
        integer = calls[0].name in ("Embedding", "EmbeddingBag")
        x = torch.zeros(*input_shape, dtype=torch.long if integer else torch.float32)
        for layer in layers:
            layer.eval()
            with torch.no_grad():
                x, hidden = forward(layer, x)
            result["shapes"].append(list(x.shape))
            result["hidden"].append(hidden)
    except (RuntimeError, ValueError, TypeError, IndexError, AssertionError) as error:
        result["error"] = str(error).splitlines()[0][:200]
        return result
    result["params"] = sum(p.numel() for layer in layers for p in layer.parameters())
    return result


def run_layer(shape: list[int], text: str) -> dict:
    """One layer run by torch: the traced output shape, the other outputs' shapes, parameters, or the error."""
    result = run_network(shape, text)
    return {
        "input": shape,
        "layer": text,
        "shape": result["shapes"][0] if result["shapes"] else None,
        "hidden": result["hidden"][0] if result["hidden"] else None,
        "params": result["params"],
        "error": result["error"],
    }


NETWORKS = {
    "lstm-bidirectional-2": ([8, 20, 32], "LSTM(32, 64, num_layers=2, batch_first=True, bidirectional=True)"),
    "embedding-gru": ([8, 20], "Embedding(1000, 32); GRU(32, 64, batch_first=True)"),
    "sentiment-lstm": (
        [16, 50],
        "Embedding(5000, 128, padding_idx=0); LSTM(128, 256, batch_first=True); Linear(256, 2)",
    ),
    "char-rnn": ([30, 4, 65], "RNN(65, 128, num_layers=2, nonlinearity='relu', dropout=0.2); Linear(128, 65)"),
    "lstm-projection": ([100, 40], "LSTM(40, 512, num_layers=3, proj_size=128); Linear(128, 29)"),
    "transformer-base": ([10, 32, 512], "Transformer()"),
    "encoder-classifier": (
        [4, 16],
        "Embedding(10000, 256); TransformerEncoder(TransformerEncoderLayer(256, 8, 1024, batch_first=True), "
        "num_layers=4, norm=LayerNorm(256)); Linear(256, 10000)",
    ),
    "self-attention-block": ([2, 7], "Embedding(100, 16); MultiheadAttention(16, 4, batch_first=True); LayerNorm(16)"),
    "bag-of-words": ([8, 12], "EmbeddingBag(1000, 64, mode='sum'); Linear(64, 4); ReLU(); Linear(4, 2)"),
    "decoder-layer-head": ([2, 5, 64], "TransformerDecoderLayer(64, 4, 256, batch_first=True); Linear(64, 100)"),
    "gru-stack-unbatched": ([12, 10], "GRU(10, 20, 2, bias=False, bidirectional=True); Linear(40, 3); Softmax(dim=-1)"),
    "conv-then-lstm": ([4, 1, 100], "Conv1d(1, 8, 5, padding=2); Flatten(0, 1); LSTM(100, 32)"),
    "decoder-stack": ([6, 3, 32], "TransformerDecoder(TransformerDecoderLayer(32, 4, 64), 2, norm=LayerNorm(32))"),
    "refused-gru-proj": ([8, 20, 32], "GRU(32, 64, proj_size=16)"),
    "refused-embedding-width": ([8, 20], "Embedding(100, 16); LSTM(32, 64, batch_first=True)"),
    "refused-heads": ([5, 2, 30], "TransformerEncoderLayer(30, 8)"),
}


def main() -> None:
    torch.manual_seed(0)
    warnings.simplefilter("ignore")
    rng = random.Random(SEED)
    cells = [random_cell(rng, index) for index in range(180)]
    layers = [run_layer(*random_layer(rng)) for _ in range(160)]
    networks = {name: run_network(shape, text) for name, (shape, text) in NETWORKS.items()}
    data = {"torch": torch.__version__, "seed": SEED, "cells": cells, "layers": layers, "networks": networks}
    OUT.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
    refused = sum(1 for case in layers if case["error"])
    print(f"wrote {OUT}: {len(cells)} cells, {len(layers)} layers ({refused} refused), {len(networks)} networks")


if __name__ == "__main__":
    main()
