"""Tests of conv-shape's MACs, asymmetric padding, network hints, and the CLI of issue 14's options.

Oracles: tests/data/macs_goldens.json (torchinfo 1.8.0 Mult-Adds of single layers, sequence layers and
networks, and PyTorch shapes of F.pad then the layer for asymmetric padding), made by
tests/data/make_macs_goldens.py.
"""

from __future__ import annotations

import json
import random
import sys
import warnings
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dlsolve.errors import BadInput, InvalidProblem
from dlsolve.parsing import parse_layers, parse_padding
from dlsolve.solvers.conv import conv_shape
from dlsolve.solvers.layers import network_shape
from dlsolve.step_kinds import all_kinds

GOLDENS = json.loads((Path(__file__).parent / "data" / "macs_goldens.json").read_text(encoding="utf-8"))


def test_single_layer_macs_match_torchinfo():
    for case in GOLDENS["singles"]:
        solution = conv_shape(
            case["in"],
            case["k"],
            stride=case["s"],
            padding=case["p"],
            dilation=case["d"],
            layer=case["kind"],
            output_padding=case["op"] if case["kind"] == "transposed" else None,
            groups=case["groups"],
            batch=case["batch"],
            channels=case["channels"],
            filters=case["filters"],
            bias=case["bias"],
            dims=case["dims"],
        )
        assert solution.answer["macs"] == case["macs"], case


@pytest.mark.parametrize("name", GOLDENS["networks"])
def test_network_macs_match_torchinfo(name: str):
    case = GOLDENS["networks"][name]
    answer = network_shape(case["input"], parse_layers(case["net"])).answer
    assert answer["macs"] == case["macs"]
    assert [layer["macs"] for layer in answer["layers"]] == case["layer_macs"]


def test_sequence_layer_macs_match_torchinfo():
    for case in GOLDENS["sequence"]:
        answer = network_shape(case["input"], parse_layers(case["net"])).answer
        assert answer["macs"] == case["macs"], case
        assert [layer["macs"] for layer in answer["layers"]] == case["layer_macs"], case


def test_sequence_goldens_cover_every_sequence_layer_both_axis_orders():
    cases = GOLDENS["sequence"]
    kinds = {case["net"].split("(")[0] for case in cases}
    sequence = {"RNN", "LSTM", "GRU", "Embedding", "EmbeddingBag", "MultiheadAttention", "Transformer"}
    sequence |= {f"Transformer{part}" for part in ("EncoderLayer", "DecoderLayer", "Encoder", "Decoder")}
    assert sequence | {"LayerNorm", "Linear"} <= kinds
    for kind in ("LSTM", "GRU", "MultiheadAttention", "TransformerEncoderLayer", "TransformerDecoder"):
        orders = {"batch_first=True" in case["net"] for case in cases if case["net"].startswith(kind + "(")}
        assert orders == {True, False}, kind
    assert any("proj_size" in c["net"] for c in cases) and any("bidirectional=True" in c["net"] for c in cases)
    assert any("_freeze=True" in c["net"] for c in cases) and any(len(c["input"]) == 2 for c in cases)
    assert {"seq-embedding-lstm-linear", "seq-encoder-norm-sequence-first", "decoder-stack"} <= set(GOLDENS["networks"])


def test_sequence_macs_working_says_what_torchinfo_leaves_out():
    layer = network_shape([2, 5, 16], parse_layers("TransformerEncoderLayer(16, 2, 32, batch_first=True)"))
    assert layer.answer["macs"] == 2 * (2224 - 1088) == 2272
    step = next(s for s in layer.steps if s.kind == "conv.layer")
    assert "MACs = 2·(2224 − 1088) = 2,272" in step.text
    assert "leaves out MultiheadAttention's projections (they run in a functional call): 1,088 parameters" in step.text
    assert "2\\cdot (2224 - 1088) = 2{,}272" in step.latex
    attention = network_shape([5, 2, 16], parse_layers("MultiheadAttention(16, 2); LSTM(16, 8)"))
    assert [row["macs"] for row in attention.answer["layers"]] == [0, 5 * 2 * 832]
    steps = [s for s in attention.steps if s.kind in ("conv.layer", "conv.totals")]
    assert "MACs = 0" in steps[0].text and "1,088 parameters not counted" in steps[0].text
    assert "MACs = 5·2·832 = 8,320" in steps[1].text
    assert "first two axes × params for a recurrent layer, attention's projections left out" in steps[2].text
    linear = network_shape([16, 50, 256], parse_layers("Linear(256, 2)"))
    text = next(s for s in linear.steps if s.kind == "conv.layer").text
    assert linear.answer["macs"] == 16 * 514 and "once per position it would be 16·50·514 = 411,200" in text
    conv = network_shape([1, 1, 8, 8], parse_layers("Conv2d(1, 2, 3); Flatten(); Linear(72, 2)"))
    totals = next(s for s in conv.steps if s.kind == "conv.totals").text
    assert "N·∏out·params for a conv layer, N·params for the others;" in totals and "recurrent" not in totals


@pytest.mark.torch
@pytest.mark.slow  # live torchinfo; the committed goldens check the same rules in CI
def test_live_torchinfo_random_sequence_layers():
    pytest.importorskip("torchinfo")
    sys.path.insert(0, str(Path(__file__).parent / "data"))
    import make_macs_goldens

    rng = random.Random()
    makers = (make_macs_goldens._recurrent, make_macs_goldens._attention, make_macs_goldens._plain)
    checked = 0
    while checked < 20:
        shape, text = rng.choice(makers)(rng)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # torch warns about dropout with one layer, nested tensors
            try:
                case = make_macs_goldens.run_network(shape, text)
            except Exception:  # refused by torch: make_sequence_goldens checks refusals
                continue
        answer = network_shape(shape, parse_layers(text)).answer
        assert (answer["macs"], [row["macs"] for row in answer["layers"]]) == (case["macs"], case["layer_macs"]), case
        checked += 1


def test_asymmetric_padding_matches_torch_pad_then_layer():
    for case in GOLDENS["asymmetric"]:
        kwargs = {"stride": case["s"], "padding": [tuple(p) for p in case["p"]], "layer": case["kind"]}
        if case["error"] is not None:
            with pytest.raises((InvalidProblem, BadInput)):
                conv_shape(case["in"], case["k"], dims=len(case["in"]), **kwargs)
            continue
        assert conv_shape(case["in"], case["k"], dims=len(case["in"]), **kwargs).answer["spatial"] == case["spatial"]


def test_goldens_cover_refusals_lrn_and_transposed():
    assert any(case["error"] for case in GOLDENS["asymmetric"])
    assert "alexnet-lrn" in GOLDENS["networks"]
    assert any(case["kind"] == "transposed" for case in GOLDENS["singles"])


def test_macs_working_names_torchinfo_the_bias_and_flops():
    solution = conv_shape([28], [3], batch=32, channels=1, filters=128)
    assert solution.answer["macs"] == 32 * 26 * 26 * (128 * 9 + 128)
    step = next(s for s in solution.steps if s.kind == "conv.macs")
    assert "torchinfo" in step.text and "leave the bias out" in step.text and "2 × MACs" in step.text
    assert "27,688,960 MACs" in solution.summary
    pool = conv_shape([28], [2], layer="maxpool")
    assert pool.answer["macs"] == 0 and not any(s.kind == "conv.macs" for s in pool.steps)


def test_dilation_form_only_when_d_is_not_1_and_irrelevant_inputs_hidden():
    plain = next(s for s in conv_shape([28], [4], stride=[2], padding=[1]).steps if s.kind == "conv.output-size")
    assert "⌊(28 + 2·1 − 4)/2⌋ + 1" in plain.text and "d(k" not in plain.text
    dilated = next(s for s in conv_shape([28], [3], dilation=[2]).steps if s.kind == "conv.output-size")
    assert "2·(3 − 1)" in dilated.text
    pool = conv_shape([8], [2], layer="maxpool")
    assert pool.inputs["groups"] is None and pool.inputs["bias"] is None and pool.inputs["output_padding"] is None
    assert all(step.kind in all_kinds() for step in conv_shape([28], [3], channels=1, filters=2, batch=1).steps)


def test_asymmetric_padding_working():
    solution = conv_shape([28], [4], stride=[2], padding=[(0, 1), (1, 2)])
    assert solution.answer["spatial"] == [13, 14]
    texts = [s.text for s in solution.steps if s.kind == "conv.output-size"]
    assert "⌊(28 + 0 + 1 − 4)/2⌋ + 1" in texts[0] and "p_b + p_a" in texts[0]


def test_parse_padding():
    assert parse_padding("0:1,1:2", "--p") == [(0, 1), (1, 2)]
    assert parse_padding("1,0", "--p") == [1, 0]
    assert parse_padding([[0, 1], 2], "--p") == [(0, 1), 2]
    assert parse_padding("same", "--p", words=("same",)) == "same"
    with pytest.raises(BadInput):
        parse_padding("0:1:2", "--p")


def test_network_hints():
    with pytest.raises(InvalidProblem, match=r"add Flatten\(\) before it to make \[1, 5408\]"):
        network_shape([1, 1, 28, 28], parse_layers("Conv2d(1, 8, 3); Linear(8, 10)"))
    with pytest.raises(BadInput, match="did you mean ReLU\\?"):
        network_shape([1, 4], parse_layers("Linear(4, 2); Relu()"))
    with pytest.raises(BadInput, match="column"):
        parse_layers("Conv2d(1, 8, 3; ReLU()")
    lrn = network_shape([1, 3, 8, 8], parse_layers("LocalResponseNorm(2); Conv2d(3, 1, 1)"))
    assert lrn.answer["layers"][0]["shape"] == [1, 3, 8, 8] and lrn.answer["layers"][0]["params"] == 0
    with pytest.raises(InvalidProblem, match="3D or higher"):
        network_shape([2, 3], parse_layers("LocalResponseNorm(2)"))


# --------------------------------------------------------------------------- CLI


def test_cli_conv_shape_keras_and_asymmetric(cli):
    result = cli("conv-shape", "--in", "28", "--k", "4", "--s", "2", "--p", "same", "--framework", "keras", "-q")
    assert result.exit_code == 0 and result.stdout.split() == ["14", "14"]
    result = cli("conv-shape", "--in", "28", "--k", "4", "--s", "2", "--p", "0:1,1:2", "-q")
    assert result.stdout.split() == ["13", "14"]
    result = cli("conv-shape", "--in", "28", "--k", "4", "--s", "2", "--p", "same")
    assert result.exit_code == 1 and "strided" in result.stderr


def test_cli_keras_network_json(cli):
    net = "Input(shape=(28, 28, 1)); Conv2D(32, 3); BatchNormalization(); MaxPooling2D(); Flatten(); Dense(10)"
    result = cli("conv-shape", "--net", net, "--json")
    assert result.exit_code == 0, result.stdout
    answer = json.loads(result.stdout)["answer"]
    assert answer["shape"] == [None, 10]
    assert (answer["trainable_params"], answer["non_trainable_params"]) == (320 + 64 + 13 * 13 * 32 * 10 + 10, 64)
    assert answer["layers"][1]["non_trainable_params"] == 64


def test_cli_filter_transpose_dilation_and_keras_pool(cli):
    result = cli("filter", "transpose", "--image", "0,1;2,3", "--kernel", "0,1;2,3", "--stride", "2", "-q")
    assert result.exit_code == 0
    assert [int(v) for v in result.stdout.split()] == [0, 0, 0, 1, 0, 0, 2, 3, 0, 2, 0, 3, 4, 6, 6, 9]
    result = cli("filter", "apply", "-i", "1,2,3;4,5,6;7,8,9", "-k", "1,1;1,1", "--dilation", "2", "-q")
    assert result.stdout.split() == ["20"]
    result = cli("filter", "pool", "-i", "1,2,3;4,5,6;7,8,9", "--padding", "same", "--framework", "keras", "-q")
    assert result.stdout.split() == ["5", "6", "8", "9"]
    result = cli("filter", "pool", "-i", "1,2;3,4", "--padding", "same")
    assert result.exit_code == 2 and "--padding" in result.stderr


def test_cli_reads_stdin_once(cli):
    assert cli("filter", "pool", "-i", "-", "-q", stdin="1,2;3,4").stdout.split() == ["4"]
    assert cli("filter", "apply", "-i", "-", "-k", "2", "-q", stdin="1,2;3,4").stdout.split() == ["2", "4", "6", "8"]
    assert cli("filter", "explain", "-k", "-", "-q", stdin="1,0,-1;1,0,-1;1,0,-1").exit_code == 0


@given(
    size=st.integers(1, 30),
    kernel=st.integers(1, 6),
    stride=st.integers(1, 4),
    before=st.integers(0, 4),
    after=st.integers(0, 4),
    dilation=st.integers(1, 3),
)
def test_asymmetric_formula_counts_the_windows_that_fit(size, kernel, stride, before, after, dilation):
    """⌊(in + p_b + p_a − d(k − 1) − 1)/s⌋ + 1 counts the window starts 0, s, 2s, ... that fit the padded input."""
    span = dilation * (kernel - 1) + 1
    fits = len(range(0, size + before + after - span + 1, stride))
    try:
        got = conv_shape([size], [kernel], stride=[stride], padding=[(before, after)], dilation=[dilation], dims=1)
    except InvalidProblem:
        assert fits == 0
        return
    assert got.answer["spatial"] == [fits]


@given(
    image=st.lists(st.lists(st.integers(-4, 4), min_size=5, max_size=5), min_size=5, max_size=6),
    kernel=st.lists(st.lists(st.integers(-3, 3), min_size=2, max_size=2), min_size=2, max_size=2),
    dilation=st.integers(1, 3),
)
def test_dilation_equals_zeros_typed_into_the_kernel(image, kernel, dilation):
    from dlsolve.parsing import parse_channels
    from dlsolve.solvers.filters import apply_filter

    text = lambda rows: ";".join(",".join(map(str, r)) for r in rows)  # noqa: E731
    spread = [[0] * (dilation + 1) for _ in range(dilation + 1)]
    for a in range(2):
        for b in range(2):
            spread[a * dilation][b * dilation] = kernel[a][b]
    x = parse_channels(text(image), "--image")
    dilated = apply_filter(x, parse_channels(text(kernel), "--kernel"), dilation=(dilation, dilation))
    typed = apply_filter(x, parse_channels(text(spread), "--kernel"))
    assert dilated.answer["output"] == typed.answer["output"]
