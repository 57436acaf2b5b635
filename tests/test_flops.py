"""``cost flops --net``: the forward pass's multiply-accumulates, layer by layer.

Oracle: tests/data/flops_goldens.json, ``torch.utils.flop_counter.FlopCounterMode``'s FLOPs / 2 of
random layers and networks run in float64, training mode (tests/data/make_flops_goldens.py); the live
check reruns the generator's random layers through torch.
"""

from __future__ import annotations

import json
import random
import sys
import warnings
from pathlib import Path

import pytest

from dlsolve.parsing import parse_layers
from dlsolve.solvers import cost_comm
from dlsolve.solvers.layers import network_shape, trace_layers

GOLDENS = json.loads((Path(__file__).parent / "data" / "flops_goldens.json").read_text(encoding="utf-8"))


def _compute(shape: list[int], text: str) -> list[int]:
    rows, _ = trace_layers(shape, parse_layers(text))
    return [row.compute_macs for row in rows]


def test_goldens_cover_every_counted_kind_of_layer():
    kinds = {case["layer"].split("(")[0] for case in GOLDENS["singles"]}
    counted = {"Conv1d", "Conv2d", "Conv3d", "ConvTranspose1d", "ConvTranspose2d", "ConvTranspose3d", "Linear"}
    counted |= {"RNN", "LSTM", "GRU", "MultiheadAttention", "Transformer"}
    counted |= {f"Transformer{part}{layer}" for part in ("Encoder", "Decoder") for layer in ("", "Layer")}
    assert counted <= kinds, counted - kinds
    assert {"Embedding", "EmbeddingBag"} & kinds
    layers = [case["layer"] for case in GOLDENS["singles"]]
    for option in ("proj_size", "bidirectional=True", "add_bias_kv=True", "add_zero_attn=True", "kdim=", "dropout=0.0"):
        assert any(option in layer for layer in layers), option
    assert any(
        len(case["input"]) == 2 and case["layer"].startswith("MultiheadAttention") for case in GOLDENS["singles"]
    )


@pytest.mark.parametrize("case", GOLDENS["singles"], ids=lambda case: case["layer"][:60])
def test_layer_macs_equal_flop_counter(case):
    assert _compute(case["input"], case["layer"]) == [case["macs"]]


@pytest.mark.parametrize("name", GOLDENS["networks"])
def test_network_flops_equal_flop_counter(name):
    case = GOLDENS["networks"][name]
    answer = cost_comm.network_flops(net=parse_layers(case["net"]), input_shape=case["input"], steps=3).answer
    assert [layer["macs"] for layer in answer["layers"]] == case["layer_macs"]
    assert answer["macs"] == case["macs"]
    assert (answer["forward_flops"], answer["flops_per_step"], answer["flops"]) == (
        2 * case["macs"],
        6 * case["macs"],
        18 * case["macs"],
    )
    # torchinfo's Mult-Adds stay what conv-shape shows
    shape = network_shape(case["input"], parse_layers(case["net"])).answer
    assert answer["torchinfo_macs"] == shape["macs"]
    assert [layer["torchinfo_macs"] for layer in answer["layers"]] == [layer["macs"] for layer in shape["layers"]]
    assert "compute_macs" not in shape["layers"][0]


def test_transformer_counts_attention_and_every_position():
    # N = 4, L = 32, d = 64, d_ff = 256, 3 blocks: per block 4·N·L·d² + 2·N·L²·d + 2·N·L·d·d_ff
    case = GOLDENS["networks"]["gpt-blocks"]
    n, length, d, ff = 4, 32, 64, 256
    block = 4 * n * length * d * d + 2 * n * length * length * d + 2 * n * length * d * ff
    head = n * length * 64 * 512
    assert case["layer_macs"] == [0, 3 * block, 0, head]
    solution = cost_comm.network_flops(net=parse_layers(case["net"]), input_shape=case["input"])
    text = solution.steps[0].text
    assert "TransformerEncoder: layers·(4·N·L·d² + 2·N·L²·d + 2·N·L·d·d_ff)" in text
    assert f"3·(4·4·32·64² + 2·4·32²·64 + 2·4·32·64·256) = {3 * block:,}" in text
    assert f"Linear: positions·in·out = 4·32·(64·512) = {head:,}" in text
    torchinfo = solution.answer["torchinfo_macs"]
    assert torchinfo < case["macs"] // 30
    assert f"torchinfo's Mult-Adds for this network: {torchinfo:,} (it " in text
    assert "leaves out attention" in text and "once per item of the first axis" in text
    assert cost_comm.CONVENTION in text and solution.answer["convention"] == cost_comm.CONVENTION
    # the typeset keys show the products as display maths, in the same names
    latex = solution.steps[0].latex
    assert r"\text{layers}\cdot (4\cdot N\cdot L\cdot d^2 + 2\cdot N\cdot L^2\cdot d" in latex
    assert r"= 3\cdot (4\cdot 4\cdot 32\cdot 64^2" in latex and "20{,}447{,}232" in latex
    assert latex.count(r" \\ ") == 2  # TransformerEncoder, Linear, total


def test_no_torchinfo_line_when_the_counts_agree():
    # no bias, batched: torchinfo's N·∏out·params is the compute count
    solution = cost_comm.network_flops(
        net=parse_layers("Conv2d(3, 8, 3, bias=False); ReLU()"), input_shape=[2, 3, 8, 8]
    )
    assert solution.answer["macs"] == solution.answer["torchinfo_macs"] == 2 * 6 * 6 * 8 * 27
    assert "torchinfo" not in solution.steps[0].text
    with_bias = cost_comm.network_flops(net=parse_layers("Conv2d(3, 8, 3)"), input_shape=[2, 3, 8, 8])
    assert "(it counts the bias adds)" in with_bias.steps[0].text


def test_embedding_and_elementwise_layers_count_zero():
    assert _compute([2, 5], "Embedding(100, 8); LayerNorm(8); GELU(); Softmax(dim=-1)") == [0, 0, 0, 0]
    # the worked products: one per kind of counted layer, the table has every layer
    solution = cost_comm.network_flops(net=parse_layers("Linear(4, 4); ReLU(); Linear(4, 2)"), input_shape=[3, 4])
    text = solution.steps[0].text
    assert text.count("Linear: positions·in·out") == 1
    assert [row[1] for row in solution.steps[0].blocks[0].rows] == ["48", "0", "24", "72"]


def test_keras_network_is_refused():
    with pytest.raises(Exception, match="Keras"):
        cost_comm.network_flops(net=parse_layers("Dense(4)"), input_shape=[2, 3])


@pytest.mark.torch
@pytest.mark.slow  # live FlopCounterMode; the committed goldens check the same counts in CI
def test_live_flop_counter_random_layers():
    pytest.importorskip("torch")
    sys.path.insert(0, str(Path(__file__).parent / "data"))
    import make_flops_goldens

    rng = random.Random()
    checked = 0
    while checked < 25:
        shape, text = rng.choice(make_flops_goldens.MAKERS)(rng)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                macs = make_flops_goldens.count(shape, text)
            except (RuntimeError, ValueError, IndexError):
                continue  # refused by torch
        assert _compute(shape, text) == macs, (shape, text)
        checked += 1
