"""Make tests/data/flops_goldens.json: the forward pass's multiply-accumulates as PyTorch counts them.

Run from the repository root with PyTorch installed (a few seconds on CPU)::

    python tests/data/make_flops_goldens.py

The oracle is ``torch.utils.flop_counter.FlopCounterMode``: it counts the FLOPs of the matrix products
(mm, addmm, bmm, baddbmm), convolutions and scaled-dot-product attention, 2 per multiply-accumulate, and
nothing else (bias adds, norms, activations, softmax, embedding lookups, pooling are 0). A case's
``macs`` is its FLOPs / 2, which is what ``cost flops --net`` counts.

Every layer runs in float64, in training mode with its parameters requiring gradients (the training
step ``cost flops`` estimates; in eval mode under ``no_grad`` the transformer layers take a fused fast
path that the counter does not see into), the way the trace runs it (make_sequence_goldens.forward: a
recurrent layer's ``output``, self-attention ``layer(x, x, x)``, a decoder or Transformer with the input
as target and memory). A configuration PyTorch refuses is left out (the shape goldens check
refusals). One addition to the counter's table: CPU_ATTENTION (the CPU flash-attention kernel, which
a layer without dropout takes, counted as FlopCounterMode counts the other attention kernels).

- "singles": seeded random layers, each on its own input: Conv/ConvTranspose 1-3d (groups, stride,
  dilation, padding modes, output_padding, bias, unbatched), Linear on 1 to 4 axes, RNN/LSTM/GRU
  (batch_first, bidirectional, num_layers, proj_size, bias, unbatched), MultiheadAttention (bias,
  add_bias_kv, add_zero_attn, kdim=vdim=embed_dim given, batch_first, unbatched), Transformer encoder and
  decoder layers and stacks (norm_first, gelu, bias), Transformer, Embedding, EmbeddingBag and
  elementwise layers (norms, pooling, activations, upsampling: 0).
- "networks": NETWORKS (a small GPT block stack, Embedding → LSTM → Linear, a CNN, ...): the total and
  every layer's MACs.
"""

from __future__ import annotations

import random
import sys
import warnings
from pathlib import Path

import torch
from torch.utils.flop_counter import FlopCounterMode, sdpa_flop_count

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
import make_sequence_goldens
from golden_json import write_goldens
from golden_random import sequence_shape, transformer_text

from dlsolve.parsing import parse_layers

SEED = 20261203
SINGLES = 160
OUT = Path(__file__).with_name("flops_goldens.json")

NETWORKS = {
    # a GPT-style stack: token embedding, pre-norm blocks (no causal mask in the trace), final norm, head
    "gpt-blocks": (
        [4, 32],
        "Embedding(512, 64); TransformerEncoder(TransformerEncoderLayer(64, 4, 256, dropout=0.0, activation='gelu', "
        "batch_first=True, norm_first=True), 3); LayerNorm(64); Linear(64, 512, bias=False)",
    ),
    "embedding-lstm-linear": (
        [8, 20],
        "Embedding(1000, 32); LSTM(32, 64, num_layers=2, batch_first=True, bidirectional=True); Linear(128, 5)",
    ),
    "cnn": (
        [8, 3, 32, 32],
        "Conv2d(3, 16, 3, padding=1); BatchNorm2d(16); ReLU(); MaxPool2d(2); Conv2d(16, 32, 3, padding=1); ReLU(); "
        "MaxPool2d(2); Flatten(); Linear(2048, 128); ReLU(); Dropout(); Linear(128, 10)",
    ),
    "unet-ish": (
        [2, 1, 16, 16],
        "Conv2d(1, 8, 3, padding=1, padding_mode='reflect'); ReLU(); Conv2d(8, 8, 3, stride=2, padding=1, groups=2); "
        "ConvTranspose2d(8, 4, 2, stride=2); Upsample(scale_factor=2, mode='bilinear'); Conv2d(4, 1, 1, bias=False)",
    ),
    "gru-attention": (
        [10, 3, 12],
        "GRU(12, 16, num_layers=2); MultiheadAttention(16, 4, add_bias_kv=True); LayerNorm(16); Linear(16, 6)",
    ),
    "seq2seq-transformer": ([9, 2, 32], "Transformer(32, 4, 2, 2, 64); Linear(32, 100)"),
    "decoder-stack": (
        [2, 7, 24],
        "TransformerDecoder(TransformerDecoderLayer(24, 3, 48, batch_first=True), 2, norm=LayerNorm(24)); "
        "Linear(24, 11)",
    ),
    "lstm-projection-unbatched": ([15, 40], "LSTM(40, 64, num_layers=2, proj_size=16); Linear(16, 29)"),
    "conv1d-text": (
        [4, 16, 50],
        "Conv1d(16, 32, 5, padding='same'); ReLU(); AdaptiveMaxPool1d(1); Flatten(); Linear(32, 2)",
    ),
}


# --------------------------------------------------------------------------- random layers


def _conv(rng: random.Random) -> tuple[list[int], str]:
    n = rng.choice((1, 2, 3))
    transposed = rng.random() < 0.4
    groups = rng.choice((1, 1, 1, 2, 4))
    c_in, c_out = groups * rng.randint(1, 4), groups * rng.randint(1, 4)
    kernel, stride = rng.randint(1, 4), rng.randint(1, 3)
    size = rng.randint(kernel + 2, 14 if n < 3 else 8)
    parts = [str(c_in), str(c_out), str(kernel), f"stride={stride}"]
    if rng.random() < 0.5:
        parts.append(f"padding={rng.randint(0, kernel // 2 + 1)}")
    if rng.random() < 0.3:
        parts.append(f"dilation={rng.randint(1, 2)}")
    if groups > 1:
        parts.append(f"groups={groups}")
    if rng.random() < 0.3:
        parts.append("bias=False")
    if transposed and stride > 1 and rng.random() < 0.5:
        parts.append(f"output_padding={stride - 1}")
    if not transposed and rng.random() < 0.2:
        parts.append(f"padding_mode={rng.choice(['reflect', 'replicate', 'circular'])!r}")
    spatial = [size] * n if rng.random() < 0.7 else [rng.randint(kernel + 2, 12) for _ in range(n)]
    batch = [] if rng.random() < 0.2 else [rng.randint(1, 3)]
    name = f"ConvTranspose{n}d" if transposed else f"Conv{n}d"
    return [*batch, c_in, *spatial], f"{name}({', '.join(parts)})"


def _linear(rng: random.Random) -> tuple[list[int], str]:
    d_in, d_out = rng.randint(1, 40), rng.randint(1, 40)
    leading = [rng.randint(1, 6) for _ in range(rng.choice((0, 1, 1, 2, 2, 3)))]
    bias = ", bias=False" if rng.random() < 0.3 else ""
    return [*leading, d_in], f"Linear({d_in}, {d_out}{bias})"


def _recurrent(rng: random.Random) -> tuple[list[int], str]:
    kind = rng.choice(("RNN", "LSTM", "GRU"))
    d_in, hidden = rng.randint(1, 30), rng.randint(2, 30)
    layers = rng.choice((1, 1, 2, 3))
    parts = [str(d_in), str(hidden), f"num_layers={layers}", f"batch_first={rng.random() < 0.5}"]
    if rng.random() < 0.5:
        parts.append("bidirectional=True")
    if rng.random() < 0.25:
        parts.append("bias=False")
    if kind == "LSTM" and rng.random() < 0.4:
        parts.append(f"proj_size={rng.randint(1, hidden - 1)}")
    return sequence_shape(rng, d_in), f"{kind}({', '.join(parts)})"


def _attention(rng: random.Random) -> tuple[list[int], str]:
    heads = rng.choice((1, 2, 3, 4))
    width = heads * rng.randint(1, 6)
    batch_first = f"batch_first={rng.random() < 0.5}"
    shape = sequence_shape(rng, width)
    kind = rng.choice(("mha", "mha", "encoder", "decoder", "encoder-stack", "decoder-stack", "Transformer"))
    if kind == "mha":
        parts = [str(width), str(heads), batch_first]
        for name in ("bias", "add_bias_kv", "add_zero_attn"):
            if rng.random() < 0.35:
                parts.append(f"{name}={rng.random() < 0.5}")
        if rng.random() < 0.2:
            parts.append(f"kdim={width}, vdim={width}")
        return shape, f"MultiheadAttention({', '.join(parts)})"
    options = [f"dim_feedforward={rng.choice((4, 16, 32))}", batch_first]
    if rng.random() < 0.4:
        options.append("dropout=0.0")  # the CPU flash-attention kernel (CPU_ATTENTION)
    if rng.random() < 0.3:
        options.append(f"bias={rng.random() < 0.5}")
    if rng.random() < 0.3:
        options.append("activation='gelu'")
    if rng.random() < 0.3:
        options.append("norm_first=True")
    return shape, transformer_text(rng, kind, width, heads, ", ".join(options))


def _zero(rng: random.Random) -> tuple[list[int], str]:
    """Embeddings and elementwise layers: no matrix product (0)."""
    n, c, size = rng.randint(1, 4), rng.randint(1, 6), rng.randint(4, 10)
    vocab, dim = rng.randint(2, 300), rng.randint(1, 24)
    return rng.choice(
        (
            ([n, size], f"Embedding({vocab}, {dim})"),
            ([n, size], f"Embedding({vocab}, {dim}, _freeze=True)"),
            ([n, size], f"EmbeddingBag({vocab}, {dim}, mode='sum')"),
            ([n, c, size, size], f"BatchNorm2d({c})"),
            ([n, size, c], f"LayerNorm({c})"),
            ([n, c, size, size], f"GroupNorm(1, {c})"),
            ([n, c, size, size], "LocalResponseNorm(2)"),
            ([n, c, size, size], "MaxPool2d(2)"),
            ([n, c, size], "AvgPool1d(3)"),
            ([n, c, size, size], "AdaptiveAvgPool2d(1)"),
            ([n, c, size, size], "Upsample(scale_factor=2, mode='bilinear')"),
            ([n, size, c], "Softmax(dim=-1)"),
            ([n, size, c], "GELU()"),
            ([n, c, size, size], f"PReLU({c})"),
        )
    )


MAKERS = (_conv, _conv, _linear, _linear, _recurrent, _recurrent, _attention, _attention, _attention, _zero)


# --------------------------------------------------------------------------- the oracle


#: FlopCounterMode counts scaled-dot-product attention's QKᵀ and AV in the flash, efficient and cuDNN
#: kernels (sdpa_flop) and, through the math fallback, as bmm; the CPU flash kernel (taken without
#: dropout) is not in its table, so its count would leave QKᵀ and AV out. Give it the same formula.
def _cpu_attention_flop(query_shape, key_shape, value_shape, *args, out_shape=None, **kwargs) -> int:
    return sdpa_flop_count(query_shape, key_shape, value_shape)


CPU_ATTENTION = {torch.ops.aten._scaled_dot_product_flash_attention_for_cpu: _cpu_attention_flop}


def count(input_shape: list[int], text: str) -> list[int]:
    """Each layer's forward MACs (FlopCounterMode's FLOPs / 2), in training mode, float64."""
    calls = parse_layers(text)
    layers = [make_sequence_goldens.build(call) for call in calls]
    if calls[0].name in ("Embedding", "EmbeddingBag"):
        x = torch.randint(0, 2, input_shape)
    else:
        x = torch.randn(*input_shape, dtype=torch.float64)
    macs = []
    for layer in layers:
        layer.to(torch.float64).train()
        with FlopCounterMode(display=False, custom_mapping=CPU_ATTENTION) as counter:
            x = make_sequence_goldens.forward(layer, x)[0]
        flops = counter.get_total_flops()
        assert flops % 2 == 0, (text, flops)
        macs.append(flops // 2)
    return macs


def main() -> None:
    torch.manual_seed(0)
    rng = random.Random(SEED)
    singles: list[dict] = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # dropout with one layer, nested tensors, upsampling
        while len(singles) < SINGLES:
            shape, text = rng.choice(MAKERS)(rng)
            try:
                (macs,) = count(shape, text)
            except (RuntimeError, ValueError, AssertionError, IndexError) as error:
                if isinstance(error, AssertionError) and str(error).startswith("("):
                    raise
                continue  # refused by PyTorch
            singles.append({"input": shape, "layer": text, "macs": macs})
        networks = {}
        for name, (shape, text) in NETWORKS.items():
            per_layer = count(shape, text)
            networks[name] = {"input": shape, "net": text, "macs": sum(per_layer), "layer_macs": per_layer}
    write_goldens(
        OUT,
        {
            "torch": torch.__version__.split("+")[0],
            "oracle": "torch.utils.flop_counter.FlopCounterMode, FLOPs / 2, training mode, float64",
            "singles": singles,
            "networks": networks,
        },
    )
    print(f"wrote {OUT}: {len(singles)} layers, {len(networks)} networks")


if __name__ == "__main__":
    main()
