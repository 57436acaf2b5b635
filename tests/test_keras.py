"""Tests of the Keras side of ``conv-shape``: ``framework="keras"`` for one layer and Keras layers in ``--net``.

Oracle: tests/data/keras_goldens.json, made by tests/data/make_keras_goldens.py with Keras 3 itself
(torch backend): random single layers, at least 300 random ``--net`` layers after an ``Input``, and
classic models and refusals. Hand-checked examples from the Keras documentation and textbooks.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dlsolve.errors import BadInput, InvalidProblem
from dlsolve.parsing import parse_layers
from dlsolve.solvers.conv import conv_shape
from dlsolve.solvers.conv_geometry import keras_same_pads
from dlsolve.solvers.layers import network_shape
from dlsolve.solvers.layers_keras import CATALOGUE, snake_case
from dlsolve.step_kinds import all_kinds

GOLDENS = json.loads((Path(__file__).parent / "data" / "keras_goldens.json").read_text(encoding="utf-8"))


def keras_net(text: str, input_shape: list[int] | None = None):
    return network_shape(input_shape, parse_layers(text))


def single(case: dict[str, Any]):
    conv_like = case["kind"] in ("conv", "transposed")
    return conv_shape(
        case["in"],
        case["k"],
        layer=case["kind"],
        stride=case["s"],
        padding=case["p"],
        dilation=case["d"] if conv_like else None,
        output_padding=case["op"],
        batch=case["batch"],
        channels=case["channels"],
        filters=case["filters"],
        bias=case["bias"],
        dims=case["dims"],
        framework="keras",
    )


def test_single_layers_match_keras():
    """Every golden single layer (one test: 220 cases, each a few hundred microseconds)."""
    for case in GOLDENS["singles"]:
        if case.get("backend_only"):
            continue  # refused by Keras's torch backend only (torch's AvgPool3d); TensorFlow computes it
        if case["error"] is not None:
            with pytest.raises(InvalidProblem):
                single(case)
            continue
        solution = single(case)
        assert (solution.answer["shape"], solution.answer["params"]) == (case["shape"], case["params"]), case


def test_random_net_layers_match_keras():
    for case in GOLDENS["layers"]:
        if case["error"] is not None:
            with pytest.raises((InvalidProblem, BadInput)):
                keras_net(case["net"])
            continue
        answer = keras_net(case["net"]).answer
        got = (answer["shape"], answer["params"], answer["trainable_params"], answer["non_trainable_params"])
        expected = (case["shape"], case["params"], case["trainable_params"], case["non_trainable_params"])
        assert got == expected, case["net"]


@pytest.mark.parametrize("name", GOLDENS["networks"])
def test_networks_match_keras_model_summary(name: str):
    case = GOLDENS["networks"][name]
    if case["error"] is not None:
        with pytest.raises(InvalidProblem):
            keras_net(case["net"])
        return
    solution = keras_net(case["net"])
    answer = solution.answer
    got = [(layer["layer"], layer["shape"], layer["params"], layer["trainable_params"]) for layer in answer["layers"]]
    expected = [(layer["name"], layer["shape"], layer["params"], layer["trainable_params"]) for layer in case["layers"]]
    assert got == expected
    assert (answer["params"], answer["trainable_params"], answer["non_trainable_params"]) == (
        case["params"],
        case["trainable_params"],
        case["non_trainable_params"],
    )


def test_goldens_cover_every_layer_kind_and_refusals():
    texts = " ".join(case["net"] for case in GOLDENS["layers"])
    kinds = {"Conv1D", "Conv2D", "Conv3D", "Conv2DTranspose", "DepthwiseConv2D", "SeparableConv2D", "MaxPooling2D",
             "AveragePooling2D", "GlobalAveragePooling2D", "GlobalMaxPooling2D", "Flatten", "Dense", "Dropout",
             "BatchNormalization", "Activation", "ReLU", "Reshape", "ZeroPadding2D", "UpSampling2D", "Embedding",
             "SimpleRNN", "LSTM", "GRU"}  # fmt: skip
    assert all(f"{kind}(" in texts for kind in kinds)
    assert len(GOLDENS["layers"]) >= 300 and len(GOLDENS["networks"]) >= 10
    assert sum(case["error"] is not None for case in GOLDENS["layers"]) >= 10
    assert sum(case["error"] is None for case in GOLDENS["networks"].values()) >= 10


# --------------------------------------------------------------------------- by hand


def test_tf_same_with_stride_2_is_ceil_with_the_extra_padding_after():
    solution = conv_shape([28], [4], stride=[2], padding="same", framework="keras", batch=8, channels=3, filters=16)
    assert solution.answer["spatial"] == [14, 14] and solution.answer["shape"] == [8, 14, 14, 16]
    step = next(s for s in solution.steps if s.kind == "conv.output-size")
    assert "⌈28/2⌉ = 14" in step.text and "1 before, 1 after" in step.text
    odd = conv_shape([7], [3], stride=[2], padding="same", framework="keras")
    assert odd.answer["spatial"] == [4, 4]
    assert "1 before, 1 after" in next(s for s in odd.steps if s.kind == "conv.output-size").text
    even = conv_shape([8], [3], stride=[2], padding="same", framework="keras")
    assert "0 before, 1 after" in next(s for s in even.steps if s.kind == "conv.output-size").text
    with pytest.raises(InvalidProblem, match="strided"):
        conv_shape([28], [4], stride=[2], padding="same")  # PyTorch refuses it


def test_keras_single_layer_options():
    with pytest.raises(BadInput) as error:
        conv_shape([28], [3], padding=[1], framework="keras")
    assert error.value.option == "--p"
    with pytest.raises(BadInput):
        conv_shape([28], [3], layer="maxpool", ceil=True, framework="keras")
    with pytest.raises(InvalidProblem, match="dilation_rate"):
        conv_shape([28], [3], stride=[2], dilation=[2], framework="keras")


def test_keras_mnist_example_table_like_model_summary():
    # keras.io/examples/vision/mnist_convnet: 34,826 parameters
    solution = keras_net(GOLDENS["networks"]["keras-mnist-convnet"]["net"])
    table = next(s for s in solution.steps if s.kind == "keras.summary").blocks[0]
    assert table.columns == ["Layer (type)", "Output Shape", "Param #"]
    assert table.rows[0] == ["conv2d (Conv2D)", "(None, 26, 26, 32)", "320"]
    assert table.rows[-1] == ["dense (Dense)", "(None, 10)", "16,010"]
    totals = next(s for s in solution.steps if s.kind == "keras.totals").text
    assert "Total params: 34,826" in totals and "Non-trainable params: 0" in totals
    assert solution.answer["shape"] == [None, 10]
    assert solution.quiet == "None 10\n34826 parameters"
    declared = all_kinds()
    assert all(step.kind in declared for step in solution.steps)


def test_batchnorm_moving_statistics_are_non_trainable_and_gru_counts_two_biases():
    solution = keras_net("Conv2D(8, 3); BatchNormalization()", [10, 10, 3])
    assert (solution.answer["trainable_params"], solution.answer["non_trainable_params"]) == (224 + 16, 16)
    gru = keras_net("Input(shape=(5, 4)); GRU(3)").answer["params"]
    assert gru == 3 * (4 * 3 + 3 * 3 + 2 * 3)
    assert keras_net("Input(shape=(5, 4)); GRU(3, reset_after=False)").answer["params"] == 3 * (4 * 3 + 3 * 3 + 3)


def test_input_given_once_and_framework_detected():
    with pytest.raises(BadInput) as error:
        keras_net("Input(shape=(8, 8, 1)); Conv2D(4, 3)", [9, 9, 1])
    assert error.value.option == "--input"
    with pytest.raises(BadInput, match="mix Keras"):
        keras_net("Conv2D(4, 3); Linear(4, 2)", [8, 8, 1])
    with pytest.raises(BadInput, match="input shape"):
        keras_net("Conv2D(4, 3)")
    assert keras_net("Conv2D(4, 3, input_shape=(8, 8, 1))").answer["shape"] == [None, 6, 6, 4]
    torch_style = network_shape([1, 1, 8, 8], parse_layers("Conv2d(1, 4, 3); Flatten(); Dropout()"))
    assert torch_style.answer["shape"] == [1, 144]


def test_dense_after_conv_warns_to_flatten():
    solution = keras_net("Input(shape=(8, 8, 3)); Conv2D(4, 3); Dense(10)")
    assert solution.answer["shape"] == [None, 6, 6, 10]
    assert any("Flatten()" in warning for warning in solution.warnings)


def test_unknown_keras_layer_did_you_mean():
    with pytest.raises(BadInput, match="did you mean Conv2D"):
        keras_net("Input(shape=(8, 8, 1)); Conv2d(4, 3)")
    with pytest.raises(BadInput, match="did you mean ReLU"):
        network_shape([1, 4], parse_layers("Linear(4, 2); Relu()"))


def test_default_names_are_keras_snake_case():
    assert [snake_case(name) for name in ("MaxPooling2D", "SimpleRNN", "ReLU", "GlobalAveragePooling2D")] == [
        "max_pooling2d",
        "simple_rnn",
        "re_lu",
        "global_average_pooling2d",
    ]


@pytest.mark.torch
@pytest.mark.slow  # imports Keras (3 s); the committed goldens check the layers in CI
def test_catalogue_signatures_match_keras():
    import inspect
    import os

    os.environ.setdefault("KERAS_BACKEND", "torch")
    keras = pytest.importorskip("keras")

    for name, spec in CATALOGUE.items():
        parameters = inspect.signature(getattr(keras.layers, name).__init__).parameters.values()
        expected = [p.name for p in parameters if p.name != "self" and p.kind == p.POSITIONAL_OR_KEYWORD]
        assert [n for n, _ in spec.params] == expected, name


@given(size=st.integers(1, 60), kernel=st.integers(1, 9), stride=st.integers(1, 5), dilation=st.integers(1, 3))
def test_tf_same_padding_gives_ceil_windows_with_the_extra_one_after(size, kernel, stride, dilation):
    """TF's SAME pads (before, after) so that exactly ⌈in/s⌉ windows fit, the odd one after."""
    before, after = keras_same_pads(size, kernel, stride, dilation)
    span = dilation * (kernel - 1) + 1
    windows = (size + before + after - span) // stride + 1
    assert windows == -(-size // stride)
    assert after - before in (0, 1) and before >= 0
    # the last window starts inside the input or the padding before it: no window of padding only
    assert (windows - 1) * stride < before + size


def test_keras_spelling_of_a_pytorch_layer_on_a_batched_input_says_both_ways_out(cli) -> None:  # type: ignore[no-untyped-def]
    result = cli("conv-shape", "--input", "1,1,28,28", "--net", "Conv2D(1,4,3)")
    assert result.exit_code == 1 and result.stderr.count("\n") == 1
    assert "Conv2D is Keras's layer" in result.stderr and "PyTorch's is Conv2d(1, 4, 3)" in result.stderr
    assert cli("conv-shape", "--input", "1,1,28,28", "--net", "Conv2d(1,4,3)", "-q").stdout.startswith("1 4 26 26")
