"""Make tests/data/macs_goldens.json: MACs from torchinfo and asymmetric-padding shapes from PyTorch.

Run from the repository root with PyTorch and torchinfo 1.8.0 installed (a few seconds on CPU)::

    python tests/data/make_macs_goldens.py

- "singles": random Conv/ConvTranspose layers (make_conv_goldens.random_config on its own seed, the
  configurations PyTorch accepts) and torchinfo's "Mult-Adds" of the layer on (batch, C, *in).
- "networks": the networks of make_conv_goldens that PyTorch accepts, plus AlexNet with
  LocalResponseNorm, each as nn.Sequential through ``torchinfo.summary``: total Mult-Adds and the
  Mult-Adds of every layer.
- "asymmetric": conv and pool layers with padding (before, after) per dimension, computed as
  F.pad(x, pads) then the layer with padding 0 (max pooling pads with -inf): the output shape, or
  PyTorch's refusal. Pool padding at most half the window on each side, as PyTorch's own.
- "sequence": random sequence layers that PyTorch accepts, each as a one-layer network (input, net,
  macs, layer_macs): RNN/LSTM/GRU, Embedding, EmbeddingBag, MultiheadAttention, the transformer layers,
  TransformerEncoder, TransformerDecoder and Transformer (batch_first stated, True or False;
  bidirectional, num_layers, proj_size, bias, norm_first, gelu, add_bias_kv; a fifth unbatched),
  make_sequence_goldens' embeddings, frozen embeddings, LayerNorm/Linear/norms on 3-D inputs. The
  sequence networks of make_sequence_goldens that PyTorch accepts and a few more
  (SEQUENCE_NETWORKS) join "networks".

A layer that returns more than the traced tensor, or needs more inputs, runs inside a wrapper module
that does what the trace does (make_sequence_goldens.forward: a recurrent layer's ``output``,
self-attention's ``attn_output``, a decoder or Transformer with the input as target and memory). A
layer's MACs are then the Mult-Adds of the leaf modules under it, the ones ``total_mult_adds`` sums
(the MultiheadAttention inside is not a leaf: it holds ``out_proj``, which it never calls as a module).
"""

from __future__ import annotations

import random
import sys
import warnings
from pathlib import Path

import torch
import torch.nn.functional as F
import torchinfo
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
import make_conv_goldens
import make_sequence_goldens
from golden_json import write_goldens
from golden_random import sequence_shape, transformer_text

from dlsolve.parsing import parse_layers

SEED = 20261204
OUT = Path(__file__).with_name("macs_goldens.json")

EXTRA_NETWORKS = {
    "alexnet-lrn": (
        [1, 3, 227, 227],
        "Conv2d(3, 96, 11, stride=4); ReLU(); LocalResponseNorm(5, alpha=0.0001, beta=0.75, k=2); MaxPool2d(3, 2); "
        "Conv2d(96, 256, 5, padding=2); ReLU(); LocalResponseNorm(5, alpha=0.0001, beta=0.75, k=2); MaxPool2d(3, 2); "
        "Conv2d(256, 384, 3, padding=1); ReLU(); Conv2d(384, 256, 3, padding=1); MaxPool2d(3, 2); Flatten(); "
        "Linear(9216, 4096); ReLU(); Linear(4096, 10)",
    ),
    "bn-linear-macs": (
        [8, 3, 16, 16],
        "Conv2d(3, 4, 3, bias=False); BatchNorm2d(4); PReLU(4); Flatten(); Linear(784, 5)",
    ),
}


SEQUENCE_NETWORKS = {
    "seq-embedding-lstm-linear": (
        [8, 12],
        "Embedding(500, 32); LSTM(32, 48, num_layers=2, bidirectional=True); Linear(96, 5)",
    ),
    "seq-gru-lstm-proj-batch-first": (
        [4, 9, 10],
        "GRU(10, 12, batch_first=True); LSTM(12, 16, proj_size=8, batch_first=True); Linear(8, 3)",
    ),
    "seq-encoder-norm-sequence-first": (
        [7, 3, 32],
        "TransformerEncoder(TransformerEncoderLayer(32, 4, 64), 3, norm=LayerNorm(32)); Linear(32, 10)",
    ),
    "seq-encoder-norm-batch-first": (
        [3, 7, 32],
        "LayerNorm(32); TransformerEncoder(TransformerEncoderLayer(32, 4, 64, batch_first=True, activation='gelu'), "
        "2, norm=LayerNorm(32))",
    ),
    "seq-decoder-norm-first": (
        [2, 6, 24],
        "TransformerDecoder(TransformerDecoderLayer(24, 3, 48, batch_first=True, norm_first=True), 2); "
        "LayerNorm(24); Linear(24, 7)",
    ),
    "seq-frozen-embedding-attention": (
        [3, 10],
        "Embedding(64, 16, _freeze=True); MultiheadAttention(16, 4, batch_first=True); Linear(16, 2)",
    ),
    "seq-small-transformer": ([5, 2, 16], "Transformer(16, 2, 2, 1, 32, bias=False); Linear(16, 4)"),
}


class Traced(nn.Module):
    """A layer run as the trace runs it (make_sequence_goldens.forward), returning the traced tensor."""

    def __init__(self, layer: nn.Module) -> None:
        super().__init__()
        self.layer = layer

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return make_sequence_goldens.forward(self.layer, x)[0]


WRAPPED = (nn.RNNBase, nn.MultiheadAttention, nn.TransformerDecoderLayer, nn.TransformerDecoder, nn.Transformer)


def layer_macs(model: nn.Module, x: list[int] | torch.Tensor) -> tuple[int, list[int]]:
    """torchinfo's total Mult-Adds and, per top-level layer, the Mult-Adds of the leaf modules under it."""
    inputs = {"input_size": x} if isinstance(x, list) else {"input_data": [x]}
    stats = torchinfo.summary(model, **inputs, verbose=0, col_names=("output_size", "mult_adds"))
    per_layer: list[int] = []
    for info in stats.summary_list:
        if info.depth == 1 or (info.depth == 0 and info.is_leaf_layer):  # a top-level layer (or a lone layer)
            per_layer.append(0)
        if info.is_leaf_layer:
            per_layer[-1] += info.macs
    assert sum(per_layer) == stats.total_mult_adds, (per_layer, stats.total_mult_adds)
    return int(stats.total_mult_adds), per_layer


def run_network(input_shape: list[int], text: str) -> dict:
    calls = parse_layers(text)
    layers = [make_sequence_goldens.build(call) for call in calls]
    model = nn.Sequential(*(Traced(layer) if isinstance(layer, WRAPPED) else layer for layer in layers)).eval()
    integer = calls[0].name in ("Embedding", "EmbeddingBag")
    x = torch.zeros(*input_shape, dtype=torch.long) if integer else input_shape
    total, per_layer = layer_macs(model, x)
    return {"input": input_shape, "net": text, "macs": total, "layer_macs": per_layer}


def _recurrent(rng: random.Random) -> tuple[list[int], str]:
    kind = rng.choice(("RNN", "LSTM", "GRU"))
    d_in, hidden = rng.randint(1, 40), rng.randint(2, 40)
    layers = rng.choice((1, 1, 2, 3))
    parts = [str(d_in), str(hidden), f"num_layers={layers}", f"batch_first={rng.random() < 0.5}"]
    if rng.random() < 0.4:
        parts.append(f"bidirectional={rng.random() < 0.7}")
    if rng.random() < 0.25:
        parts.append("bias=False")
    if layers > 1 and rng.random() < 0.3:
        parts.append("dropout=0.2")
    if kind == "LSTM" and rng.random() < 0.4:
        parts.append(f"proj_size={rng.randint(1, hidden - 1)}")
    if kind == "RNN" and rng.random() < 0.3:
        parts.append("nonlinearity='relu'")
    return sequence_shape(rng, d_in), f"{kind}({', '.join(parts)})"


def _attention(rng: random.Random) -> tuple[list[int], str]:
    heads = rng.choice((1, 2, 3, 4))
    width = heads * rng.randint(1, 6)
    batch_first = f"batch_first={rng.random() < 0.5}"
    shape = sequence_shape(rng, width)
    kind = rng.choice(("MultiheadAttention", "encoder", "decoder", "encoder-stack", "decoder-stack", "Transformer"))
    if kind == "MultiheadAttention":
        parts = [str(width), str(heads), batch_first]
        for name in ("bias", "add_bias_kv", "add_zero_attn"):
            if rng.random() < 0.3:
                parts.append(f"{name}={rng.random() < 0.5}")
        return shape, f"MultiheadAttention({', '.join(parts)})"
    options = [f"dim_feedforward={rng.choice((4, 16, 32))}", batch_first]
    if rng.random() < 0.3:
        options.append(f"bias={rng.random() < 0.5}")
    if rng.random() < 0.3:
        options.append(f"activation={rng.choice(['gelu', 'relu'])!r}")
    if rng.random() < 0.3:
        options.append("norm_first=True")
    return shape, transformer_text(rng, kind, width, heads, ", ".join(options))


def _plain(rng: random.Random) -> tuple[list[int], str]:
    """Embedding with a frozen table, LayerNorm, Linear and the norms on 3-D inputs."""
    n, length, width = rng.randint(1, 6), rng.randint(1, 9), rng.randint(1, 24)
    kind = rng.choice(("frozen", "LayerNorm", "Linear", "BatchNorm1d", "GroupNorm", "InstanceNorm1d", "PReLU"))
    if kind == "frozen":
        return [n, length], f"Embedding({rng.randint(1, 300)}, {width}, _freeze={rng.random() < 0.7})"
    if kind == "LayerNorm":
        options = rng.choice(("", ", elementwise_affine=False", ", bias=False"))
        return [n, length, width], f"LayerNorm({width}{options})"
    if kind == "Linear":
        return [n, length, width], f"Linear({width}, {rng.randint(1, 24)}, bias={rng.random() < 0.7})"
    if kind == "GroupNorm":
        groups = rng.choice([g for g in range(1, length + 1) if length % g == 0])
        return [n, length, width], f"GroupNorm({groups}, {length})"
    if kind == "PReLU":
        return [n, length, width], f"PReLU({rng.choice((1, length))})"
    affine = ", affine=True" if kind == "InstanceNorm1d" else ""
    return [n, length, width], f"{kind}({length}{affine})"


def sequence(count: int) -> list[dict]:
    rng = random.Random(SEED + 2)
    makers = (_recurrent, _recurrent, make_sequence_goldens._embedding, _attention, _attention, _attention, _plain)
    cases: list[dict] = []
    while len(cases) < count:
        shape, text = rng.choice(makers)(rng)
        try:
            cases.append(run_network(shape, text))
        except Exception:  # PyTorch refuses it (torchinfo re-raises): make_sequence_goldens checks refusals
            continue
    return cases


def singles(count: int) -> list[dict]:
    rng = random.Random(SEED)
    cases: list[dict] = []
    while len(cases) < count:
        config = make_conv_goldens.random_config(rng)
        if config["kind"] not in ("conv", "transposed"):
            continue
        case = make_conv_goldens.run_single(config)
        if case["error"] is not None:
            continue
        layer = make_conv_goldens.build(config)
        total, _ = layer_macs(layer, [config["batch"], config["channels"], *config["in"]])
        cases.append({**case, "macs": total})
    return cases


def asymmetric(count: int) -> list[dict]:
    rng = random.Random(SEED + 1)
    cases = []
    for _ in range(count):
        kind = rng.choice(("conv", "maxpool", "avgpool"))
        dims = rng.choice((1, 2, 2, 3))
        sizes = [rng.randint(1, 10 if dims == 3 else 20) for _ in range(dims)]
        kernel = [rng.randint(1, 5) for _ in range(dims)]
        stride = [rng.randint(1, 3) for _ in range(dims)]
        highs = [3 if kind == "conv" else k // 2 for k in kernel]
        pads = [[rng.randint(0, high), rng.randint(0, high)] for high in highs]
        flat = [v for pair in reversed(pads) for v in pair]  # F.pad: last dimension first
        x = torch.zeros(1, 2, *sizes)
        try:
            if kind == "conv":
                out = getattr(nn, f"Conv{dims}d")(2, 3, kernel, stride)(F.pad(x, flat))
            elif kind == "maxpool":
                out = getattr(nn, f"MaxPool{dims}d")(kernel, stride)(F.pad(x, flat, value=-float("inf")))
            else:
                out = getattr(nn, f"AvgPool{dims}d")(kernel, stride)(F.pad(x, flat))
            shape, error = list(out.shape[2:]), None
            if 0 in shape:
                shape, error = None, "empty output"
        except RuntimeError as caught:
            shape, error = None, str(caught).splitlines()[0][:160]
        cases.append({"kind": kind, "in": sizes, "k": kernel, "s": stride, "p": pads, "spatial": shape, "error": error})
    return cases


def main() -> None:
    warnings.simplefilter("ignore")
    networks = {}
    named = {**make_conv_goldens.NETWORKS, **EXTRA_NETWORKS, **make_sequence_goldens.NETWORKS, **SEQUENCE_NETWORKS}
    parts = (make_conv_goldens.NETWORKS, EXTRA_NETWORKS, make_sequence_goldens.NETWORKS, SEQUENCE_NETWORKS)
    assert len(named) == sum(map(len, parts)), "network names must not repeat"
    for name, (shape, text) in named.items():
        try:
            networks[name] = run_network(shape, text)
        except Exception:  # the refusals of make_conv_goldens (torchinfo re-raises them)
            continue
    data = {
        "torch": torch.__version__,
        "torchinfo": torchinfo.__version__,
        "singles": singles(120),
        "networks": networks,
        "asymmetric": asymmetric(200),
        "sequence": sequence(150),
    }
    write_goldens(OUT, data)
    counts = (
        f"{len(data['singles'])} singles, {len(networks)} networks, {len(data['asymmetric'])} asymmetric, "
        f"{len(data['sequence'])} sequence layers"
    )
    print(f"wrote {OUT}: {counts}")


if __name__ == "__main__":
    main()
