"""Tests of ``conv-shape``: hand-checked tables, PyTorch goldens, brute-force properties, CLI, fuzz.

The goldens (tests/data/conv_goldens.json) were made by tests/data/make_conv_goldens.py running real
PyTorch; the live test repeats the comparison on fresh random configurations where torch is present.
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
import warnings
from pathlib import Path
from typing import Any

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from dlsolve.errors import BadInput, InvalidProblem
from dlsolve.parsing import parse_layers
from dlsolve.solvers.conv import Geometry, conv_shape, raw_output, refusal
from dlsolve.solvers.layers import CATALOGUE, REQUIRED, network_shape
from tests.conftest import run_cli

GOLDENS = json.loads((Path(__file__).parent / "data" / "conv_goldens.json").read_text(encoding="utf-8"))
EXAM_NET = (
    "Conv2d(1, 16, 3, padding=1); ReLU(); Conv2d(16, 32, 3, stride=2, padding=1); ReLU(); "
    "Conv2d(32, 128, 3, stride=2, padding=1); ReLU(); ConvTranspose2d(128, 8, 2, stride=2); ReLU(); "
    "Conv2d(8, 8, 3, padding=1); ReLU(); ConvTranspose2d(8, 1, 2, stride=2); Sigmoid()"
)


def solve_config(config: dict[str, Any]):
    """Our answer for one golden single-layer configuration."""
    kind = config["kind"]
    return conv_shape(
        config["in"],
        config["k"],
        stride=config["s"],
        padding=config["p"],
        dilation=None if kind == "avgpool" else config["d"],
        dims=config["dims"],
        layer=kind,
        output_padding=config["op"] if kind == "transposed" else None,
        ceil=config["ceil"],
        groups=config["groups"],
        batch=config["batch"],
        channels=config["channels"],
        filters=config["filters"],
        bias=config["bias"],
    )


def check_against_torch(config: dict[str, Any]) -> None:
    """Assert our result equals torch's (shape and parameters), or that both refuse."""
    shape = config["shape"]
    if shape is not None and 0 in shape[2:] and config["kind"] == "transposed":
        # PyTorch's oneDNN CPU path returns an empty tensor for some transposed outputs of exactly 0;
        # its documented rule (and the native path) refuse them: so do we.
        with pytest.raises(InvalidProblem, match="Output size is too small"):
            solve_config(config)
        return
    if config["error"] is not None:
        with pytest.raises(InvalidProblem):
            solve_config(config)
        return
    solution = solve_config(config)
    assert solution.answer["shape"] == shape
    assert solution.answer["spatial"] == shape[2:]
    assert solution.answer["params"] == config["params"]


# --------------------------------------------------------------------------- hand-checked tables

SINGLE_CASES = [
    # (kwargs, spatial, shape, params): worked by hand from the formulas in the module docstring
    (dict(size=[28], kernel=[3], batch=32, filters=128), [26, 26], [32, 128, 26, 26], None),  # exam 1(a)(i)
    (dict(size=[28], kernel=[4], stride=[2], padding=[1], batch=32, filters=128), [14, 14], [32, 128, 14, 14], None),
    (dict(size=[32], kernel=[5], batch=1, channels=1, filters=6), [28, 28], [1, 6, 28, 28], 156),  # LeNet C1
    (dict(size=[227], kernel=[11], stride=[4], batch=1, channels=3, filters=96), [55, 55], [1, 96, 55, 55], 34944),
    (dict(size=[28, 32], kernel=[3], padding="same"), [28, 32], None, None),
    (dict(size=[10], kernel=[4], dilation=[2], padding="same", dims=1), [10], None, None),
    (dict(size=[7], kernel=[3], stride=[2], layer="maxpool", ceil=True), [3, 3], None, 0),
    (dict(size=[5], kernel=[2], stride=[2], padding=[1], layer="maxpool", ceil=True), [3, 3], None, 0),
    (dict(size=[4], kernel=[2], stride=[2], padding=[1], layer="avgpool", ceil=True), [3, 3], None, 0),
    (dict(size=[4], kernel=[4], stride=[2], padding=[1], layer="transposed", channels=8, filters=4), [8, 8], None, 516),
    (dict(size=[14], kernel=[3], stride=[2], padding=[1], layer="transposed", output_padding=[1]), [28, 28], None,
     None),
    (dict(size=[8, 8, 8], kernel=[3], dims=3, groups=2, channels=4, filters=6, bias=False, batch=2), [6, 6, 6],
     [2, 6, 6, 6, 6], 6 * 2 * 27),
    (dict(size=[9], kernel=[3], stride=[2], dims=1, layer="maxpool", channels=3, batch=1), [4], [1, 3, 4], 0),
]  # fmt: skip


@pytest.mark.parametrize(("kwargs", "spatial", "shape", "params"), SINGLE_CASES)
def test_single_layer_table(kwargs: dict[str, Any], spatial: list[int], shape: list[int] | None, params: int | None):
    size, kernel = kwargs.pop("size"), kwargs.pop("kernel")
    answer = conv_shape(size, kernel, **kwargs).answer
    assert answer["spatial"] == spatial
    assert answer["shape"] == shape
    assert answer["params"] == params


REFUSED = [
    (dict(size=[3], kernel=[5]), "Kernel size can't be greater than actual input size"),
    (dict(size=[4], kernel=[3], dilation=[2]), "Kernel size: \\(5 x 5\\)"),
    (dict(size=[28], kernel=[3], stride=[2], padding="same"), "padding='same' is not supported for strided"),
    (dict(size=[10], kernel=[3], padding=[2], layer="maxpool"), "pad should be smaller than or equal to half"),
    (dict(size=[1], kernel=[4], padding=[1], layer="avgpool"), "Output size is too small"),
    (dict(size=[8], kernel=[3], stride=[2], output_padding=[2], layer="transposed"), "output padding must be smaller"),
    (dict(size=[8], kernel=[3], stride=[1], output_padding=[1], layer="transposed"), "output padding must be smaller"),
    (dict(size=[1], kernel=[2], padding=[1], layer="transposed"), "Output size is too small"),
    (dict(size=[8], kernel=[3], groups=2, channels=3, filters=4), "in_channels must be divisible by groups"),
    (dict(size=[8], kernel=[3], groups=2, channels=4, filters=3), "out_channels must be divisible by groups"),
    (dict(size=[2, 9, 9], kernel=[3], dims=3, layer="avgpool"), "smaller than kernel size"),
    (dict(size=[28], kernel=[3], out=[14]), "not the --out"),
]


@pytest.mark.parametrize(("kwargs", "message"), REFUSED)
def test_refusals_are_invalid_problems(kwargs: dict[str, Any], message: str):
    size, kernel = kwargs.pop("size"), kwargs.pop("kernel")
    with pytest.raises(InvalidProblem, match=message):
        conv_shape(size, kernel, **kwargs)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (dict(layer="maxpool", filters=3), "--filters"),
        (dict(layer="conv", ceil=True), "--ceil"),
        (dict(layer="avgpool", dilation=[2]), "no dilation"),
        (dict(layer="conv", output_padding=[1]), "--output-padding"),
        (dict(layer="transposed", padding="same"), "applies to --layer conv only"),
        (dict(layer="conv", dims=4), "1, 2 or 3"),
    ],
)
def test_options_that_do_not_apply_are_bad_input(kwargs: dict[str, Any], message: str):
    with pytest.raises(BadInput, match=message):
        conv_shape([28], [3], **kwargs)


def test_floor_warning_names_the_dropped_rows():
    warnings = conv_shape([10], [3], stride=[3]).warnings
    assert any("drops the last 1 input rows" in w for w in warnings)
    assert any("columns" in w for w in warnings)
    assert conv_shape([28], [3]).warnings == []


def test_floor_warning_in_network_mode_names_the_layer():
    # 56 + 0 - 2 - 1 = 53 = 2·26 + 1: the last row and column are in no window
    warnings = network_shape([1, 1, 56, 56], parse_layers("ReLU(); MaxPool2d(3, 2)")).warnings
    assert warnings == [
        "layer 2 (MaxPool2d(3, 2)): the floor drops the last 1 input rows along H: no window covers them",
        "layer 2 (MaxPool2d(3, 2)): the floor drops the last 1 input columns along W: no window covers them",
    ]
    assert network_shape([1, 1, 32, 32], parse_layers(EXAM_NET)).warnings == []


# --------------------------------------------------------------------------- unknowns


@pytest.mark.parametrize(
    ("kwargs", "unknown", "values", "from_value"),
    [
        (dict(size=[28], kernel=[4], stride=[2], out=[14]), "padding", [1], None),  # exam 1(a)(ii)
        (dict(size=[28], kernel=[4], stride=[2], out=[15]), "padding", [2], None),
        (dict(size=[28], kernel=[3], stride=[2], out=[14]), "padding", [1], None),  # 28+2p-3 in {26, 27}
        (dict(kernel=[3], stride=[2], out=[14]), "size", [29, 30], None),
        (dict(size=[10], kernel=[1], out=[1]), "stride", [], 10),
        (dict(size=[32], stride=[1], out=[28]), "kernel", [5], None),
        (dict(size=[16], kernel=[2], stride=[2], out=[32], layer="transposed"), "padding", [0], None),
        (dict(size=[7], kernel=[3], stride=[2], out=[3], layer="transposed"), "output_padding", [], None),
    ],
)
def test_unknowns(kwargs: dict[str, Any], unknown: str, values: list[int], from_value: int | None):
    size = kwargs.pop("size", None)
    kernel = kwargs.pop("kernel", None)
    if not values and from_value is None:
        with pytest.raises(InvalidProblem, match="no "):
            conv_shape(size, kernel, unknown=unknown, **kwargs)
        return
    answer = conv_shape(size, kernel, unknown=unknown, **kwargs).answer
    assert answer["solutions"] == values
    assert answer["solutions_from"] == from_value


@given(
    size=st.integers(1, 40),
    kernel=st.integers(1, 7),
    stride=st.integers(1, 4),
    padding=st.integers(0, 4),
    dilation=st.integers(1, 3),
)
def test_unknown_padding_contains_the_truth_and_only_solutions(size, kernel, stride, padding, dilation):
    geometry = Geometry("conv", (kernel,), (stride,), (padding,), (dilation,), (0,))
    assume(refusal(geometry, [size]) is None)
    out = raw_output(geometry, [size])[0]
    answer = conv_shape([size], [kernel], stride=[stride], dilation=[dilation], dims=1, out=[out], unknown="padding")
    assert padding in answer.answer["solutions"]
    for candidate in answer.answer["solutions"]:
        brute = brute_force_windows(size, kernel, stride, candidate, dilation, ceil=False)
        assert brute == out


@given(
    layer=st.sampled_from(["conv", "transposed", "maxpool", "avgpool"]),
    unknown=st.sampled_from(["size", "kernel", "stride", "padding", "dilation", "output_padding"]),
    setting=st.fixed_dictionaries(
        {
            "size": st.integers(1, 30),
            "kernel": st.integers(1, 6),
            "stride": st.integers(1, 4),
            "padding": st.integers(0, 3),
            "dilation": st.integers(1, 3),
            "output_padding": st.integers(0, 2),
        }
    ),
    ceil=st.booleans(),
)
def test_unknown_search_equals_a_wide_brute_force(layer, unknown, setting, ceil):
    """Every value of the unknown up to 150 that PyTorch's rules accept and that gives the output."""
    if (layer == "avgpool" and unknown == "dilation") or (layer != "transposed" and unknown == "output_padding"):
        return
    setting = dict(setting)
    if layer == "avgpool":
        setting["dilation"] = 1
    if layer != "transposed":
        setting["output_padding"] = 0
    ceil = ceil and layer in ("maxpool", "avgpool")

    def output(values: dict[str, int]) -> int | None:
        geometry = Geometry(layer, (values["kernel"],), (values["stride"],), (values["padding"],),
                            (values["dilation"],), (values["output_padding"],), ceil)  # fmt: skip
        return None if refusal(geometry, [values["size"]]) else raw_output(geometry, [values["size"]])[0]

    out = output(setting)
    assume(out is not None)
    low = 0 if unknown in ("padding", "output_padding") else 1  # sizes, kernels, strides, dilations are >= 1
    truth = [v for v in range(low, 151) if output({**setting, unknown: v}) == out]
    given_values = {name: [value] for name, value in setting.items() if name != unknown}
    if layer == "avgpool":
        del given_values["dilation"]
    if layer != "transposed":
        del given_values["output_padding"]
    answer = conv_shape(
        given_values.get("size"),
        given_values.get("kernel"),
        stride=given_values.get("stride"),
        padding=given_values.get("padding"),
        dilation=given_values.get("dilation"),
        output_padding=given_values.get("output_padding"),
        dims=1,
        layer=layer,
        ceil=ceil,
        out=[out],
        unknown=unknown,
    ).answer
    found = list(answer["solutions"])
    if answer["solutions_from"] is not None:
        found += list(range(answer["solutions_from"], 151))
    assert found == truth


# --------------------------------------------------------------------------- brute force and receptive field


def brute_force_windows(size: int, kernel: int, stride: int, padding: int, dilation: int, *, ceil: bool) -> int:
    """Count window positions on the padded input directly, one start at a time.

    Floor mode: windows that fit entirely in the padded input. Ceil mode (PyTorch): a window may
    overhang the padded input's end by less than one stride, but must start inside the real input
    or the left padding (a window starting in the right padding is dropped).
    """
    padded = size + 2 * padding
    span = dilation * (kernel - 1) + 1
    overhang = stride - 1 if ceil else 0
    starts: list[int] = []
    start = 0
    while start + span <= padded + overhang and (not ceil or start < size + padding):
        starts.append(start)
        start += stride
    return len(starts)


@given(
    size=st.integers(1, 60),
    kernel=st.integers(1, 8),
    stride=st.integers(1, 5),
    padding=st.integers(0, 5),
    dilation=st.integers(1, 4),
    pool=st.booleans(),
    ceil=st.booleans(),
)
def test_formula_equals_brute_force_window_count(size, kernel, stride, padding, dilation, pool, ceil):
    layer = "maxpool" if pool else "conv"
    geometry = Geometry(layer, (kernel,), (stride,), (padding,), (dilation,), (0,), ceil and pool)
    assume(2 * padding <= kernel or not pool)
    expected = brute_force_windows(size, kernel, stride, padding, dilation, ceil=ceil and pool)
    if expected < 1:
        assert refusal(geometry, [size]) is not None
        return
    result = conv_shape([size], [kernel], stride=[stride], padding=[padding], dilation=[dilation], dims=1,
                        layer=layer, ceil=ceil and pool)  # fmt: skip
    assert result.answer["spatial"] == [expected]


@given(
    size=st.integers(1, 30),
    kernel=st.integers(1, 6),
    stride=st.integers(1, 4),
    padding=st.integers(0, 3),
    dilation=st.integers(1, 3),
    output_padding=st.integers(0, 3),
)
def test_transposed_equals_scatter_length(size, kernel, stride, padding, dilation, output_padding):
    """A transposed conv scatters input i to outputs i·s + j·d; crop p per side; add output_padding."""
    touched = {i * stride + j * dilation for i in range(size) for j in range(kernel)}
    full = max(touched) + 1
    expected = full - 2 * padding + output_padding
    geometry = Geometry("transposed", (kernel,), (stride,), (padding,), (dilation,), (output_padding,))
    valid = expected >= 1 and (output_padding < stride or output_padding < dilation)
    assert (refusal(geometry, [size]) is None) == valid
    if valid:
        assert raw_output(geometry, [size]) == [expected]


@given(
    st.lists(
        st.tuples(st.integers(1, 5), st.integers(1, 3), st.integers(0, 2), st.integers(1, 2), st.booleans()),
        min_size=1,
        max_size=5,
    )
)
def test_receptive_field_equals_interval_composition(layers):
    """RF of a 1-D conv/pool stack = the span of input indices one output pixel depends on."""
    text = "; ".join(
        f"MaxPool1d({k}, {s}, {min(p, k // 2)}, {d})" if pool else f"Conv1d(1, 1, {k}, {s}, {p}, {d})"
        for k, s, p, d, pool in layers
    )
    try:
        solution = network_shape([1, 1, 4000], parse_layers(text))
    except InvalidProblem:
        assume(False)
    low, high = 0, 0  # one output pixel, mapped back through every layer
    for k, s, _p, d, _pool in reversed(layers):
        low, high = low * s, high * s + d * (k - 1)
    assert solution.answer["layers"][-1]["receptive_field"] == [high - low + 1]


# --------------------------------------------------------------------------- goldens from PyTorch


@pytest.mark.parametrize("index", range(len(GOLDENS["singles"])))
def test_single_layer_goldens(index: int):
    check_against_torch(GOLDENS["singles"][index])


def check_network_against_torch(case: dict[str, Any]) -> None:
    """A whole network: every layer's output shape and the parameter total as torch's, or both refuse."""
    calls = parse_layers(case["net"])
    if case["error"] is not None:
        with pytest.raises(InvalidProblem):
            network_shape(case["input"], calls)
        return
    answer = network_shape(case["input"], calls).answer
    assert [layer["shape"] for layer in answer["layers"]] == case["shapes"]
    assert answer["params"] == case["params"]
    assert answer["shape"] == case["shapes"][-1]


@pytest.mark.parametrize("name", sorted(GOLDENS["networks"]))
def test_network_goldens(name: str):
    check_network_against_torch(GOLDENS["networks"][name])


def check_pad_shuffle_against_torch(case: dict[str, Any]) -> None:
    """One padding/shuffle layer: our shape and parameters equal torch's, or both refuse for the same reason."""
    calls = parse_layers(case["layer"])
    if case["error"] is not None:
        with pytest.raises(InvalidProblem) as refused:
            network_shape(case["input"], calls)
        if "integer multiplication overflow" not in case["error"]:  # torch's odd words for a negative size
            ours, theirs = ("".join(text.replace(",", " ").split()) for text in (str(refused.value), case["error"]))
            assert theirs.rstrip(".")[:24] in ours, (case, str(refused.value))
        return
    answer = network_shape(case["input"], calls).answer
    assert answer["shape"] == case["shape"], case
    assert answer["params"] == case["params"] == 0, case


@pytest.mark.parametrize("index", range(len(GOLDENS["pad_shuffle"]["singles"])))
def test_pad_shuffle_goldens(index: int):
    check_pad_shuffle_against_torch(GOLDENS["pad_shuffle"]["singles"][index])


@pytest.mark.parametrize("name", sorted(GOLDENS["pad_shuffle"]["networks"]))
def test_pad_shuffle_network_goldens(name: str):
    check_network_against_torch(GOLDENS["pad_shuffle"]["networks"][name])


PAD_SHUFFLE_CASES = [
    # (input, layer, output shape): out = in + before + after per padded axis, pads (left, right, top, bottom, ...)
    ([1, 3, 4, 4], "ZeroPad2d((1, 2, 3, 4))", [1, 3, 11, 7]),
    ([1, 3, 4, 4], "ZeroPad2d((1, 2))", [1, 3, 4, 7]),  # a short tuple pads only the last axes
    ([1, 3, 6], "ConstantPad1d(-2, 0.5)", [1, 3, 2]),  # negative padding crops
    ([1, 3, 4, 4], "ZeroPad2d((-4, 1, 0, 0))", [1, 3, 4, 1]),
    ([3, 4, 4], "ReflectionPad2d(3)", [3, 10, 10]),  # unbatched; 3 < 4
    ([1, 1, 4], "ReflectionPad1d((-3, 3))", [1, 1, 4]),
    ([1, 1, 4, 4], "ReplicationPad2d(5)", [1, 1, 14, 14]),  # no limit for replication
    ([1, 1, 4, 4], "ReplicationPad2d((-2, -2, 1, 1))", [1, 1, 6, 0]),  # zero is fine while another axis is >= 1
    ([1, 1, 4, 4, 4], "CircularPad3d((1, 2, 3, 4, 0, 0))", [1, 1, 4, 11, 7]),
    ([1, 1, 4], "CircularPad1d(4)", [1, 1, 12]),  # wraps once at most: pad <= in
    ([1, 1, 4], "CircularPad1d((-5, 1))", [1, 1, 0]),
    ([2, 4, 3], "CircularPad1d((-3, 3))", [2, 4, 3]),  # the wrapped side is exactly the part kept
    ([3, 7, 7, 3], "CircularPad2d((-2, 2, 2, 2))", [3, 7, 11, 3]),  # overlap PyTorch does not check (strided)
    ([2, 18, 5, 7], "PixelShuffle(3)", [2, 2, 15, 21]),  # C/r², H·r, W·r
    ([5, 2, 18, 5, 7], "PixelShuffle(3)", [5, 2, 2, 15, 21]),  # any leading dimensions
    ([2, 2, 6, 4], "PixelUnshuffle(2)", [2, 8, 3, 2]),  # C·r², H/r, W/r
    ([2, 6, 3], "ChannelShuffle(3)", [2, 6, 3]),
]


@pytest.mark.parametrize(("shape", "layer", "expected"), PAD_SHUFFLE_CASES)
def test_pad_shuffle_shapes(shape: list[int], layer: str, expected: list[int]):
    answer = network_shape(shape, parse_layers(layer)).answer
    assert answer["shape"] == expected
    assert answer["params"] == 0


@pytest.mark.parametrize(
    ("shape", "layer", "message"),
    [
        ([1, 1, 4, 4], "ReflectionPad2d(4)", r"Padding size should be less than .* padding \(4, 4\) at dimension 3"),
        ([1, 1, 4, 4], "ReflectionPad2d((0, 0, 1, 4))", r"Argument #6: .* padding \(1, 4\) at dimension 2"),
        ([1, 1, 4, 4], "ReplicationPad2d(-2)", r"input \(H: 4, W: 4\) is too small. Calculated output H: 0 W: 0"),
        ([1, 4, 4], "ReplicationPad2d((-3, -3, 1, 1))", "negative dimension -2"),
        ([1, 1, 4, 4], "ReflectionPad1d(1)", "Padding size 2 is not supported for 4D input tensor"),
        ([1, 1, 4, 4], "CircularPad1d(1)", r"expected 2D or 3D input \(got 4D input\)"),
        ([1, 1, 4], "CircularPad1d(5)", "wrapping around more than once"),
        ([1, 1, 4], "CircularPad1d(-3)", "Negative padding value is resulting in an empty dimension"),
        ([1, 3], "CircularPad1d((2, -4))", r"size of tensor a \(0\) must match the size of tensor b \(2\)"),
        ([1, 6, 4], "CircularPad2d((0, 0, -4, 5))", "refer to a single memory location"),  # overlapping wrap copy
        ([1, 1, 4], "ZeroPad1d((2, -5))", "narrow"),  # the right crop comes first, whatever the left adds
        ([4], "ZeroPad2d(1)", "Padding length should be less than or equal to two times the input dimension"),
        ([1, 1, 4], "ZeroPad1d((1, 2, 3))", "Padding length must be divisible by 2"),
        ([1, 6, 3, 3], "PixelShuffle(2)", r"input.size\(-3\)=6 is not divisible by 4"),
        ([6, 3], "PixelShuffle(0)", "at least 3 dimensions"),
        ([1, 6, 3, 3], "PixelShuffle(0)", "positive upscale_factor, but got 0"),
        ([1, 2, 5, 6], "PixelUnshuffle(2)", r"height to be divisible .* input.size\(-2\)=5"),
        ([1, 2, 4, 5], "PixelUnshuffle(2)", r"width to be divisible .* input.size\(-1\)=5"),
        ([4, 3, 3], "ChannelShuffle(2)", "Got 3 channels and 2 groups"),  # dimension 1, even unbatched
        ([1, 4], "ChannelShuffle(2)", "> 2 dims"),
        ([1, 4, 3], "ChannelShuffle(0)", "must be positive"),
    ],
)
def test_pad_shuffle_refusals(shape: list[int], layer: str, message: str):
    with pytest.raises(InvalidProblem, match=message):
        network_shape(shape, parse_layers(layer))


@pytest.mark.parametrize(
    ("layer", "message"),
    [
        ("ZeroPad1d(1.5)", "padding must be a whole number or a tuple"),
        ("ConstantPad2d(1, 'a')", "value must be a number"),
        ("ConstantPad2d(1)", "missing required argument 'value'"),
        ("PixelShuffle(2.0)", "upscale_factor must be a whole number"),
        ("ChannelShuffle()", "missing required argument 'groups'"),
    ],
)
def test_pad_shuffle_bad_input(layer: str, message: str):
    with pytest.raises(BadInput, match=message):
        network_shape([1, 4, 4, 4], parse_layers(layer))


def test_pad_shuffle_working_and_receptive_field():
    net = "ReflectionPad2d((1, 2, 3, 4)); PixelUnshuffle(2); Conv2d(12, 18, 3); PixelShuffle(3)"
    solution = network_shape([1, 3, 5, 7], parse_layers(net))
    texts = [step.text for step in solution.steps]
    assert "padding (left, right, top, bottom) = (1, 2, 3, 4); out = in + before + after: H 5 + 3 + 4 = 12" in texts[1]
    assert "W 7 + 1 + 2 = 10" in texts[1]
    assert "C·r² = 3·2² = 12, H/r = 12/2 = 6, W/r = 10/2 = 5" in texts[2]
    assert "C/r² = 18/3² = 2, H·r = 4·3 = 12, W·r = 3·3 = 9" in texts[4]
    assert solution.answer["shape"] == [1, 2, 12, 9]
    layers = solution.answer["layers"]
    # padding keeps the receptive field, PixelUnshuffle(r) is an r x r window with stride r, PixelShuffle ends it
    assert [layer["receptive_field"] for layer in layers[:3]] == [None, [2, 2], [6, 6]]
    assert layers[3]["receptive_field"] is None


def test_exam_encoder_decoder_shapes():
    answer = network_shape([10, 1, 32, 32], parse_layers(EXAM_NET)).answer
    shapes = [layer["shape"] for layer in answer["layers"] if not layer["layer"].startswith(("ReLU", "Sigmoid"))]
    assert shapes == [[10, 16, 32, 32], [10, 32, 16, 16], [10, 128, 8, 8], [10, 8, 16, 16], [10, 8, 16, 16],
                      [10, 1, 32, 32]]  # fmt: skip


@pytest.mark.parametrize(
    ("text", "error", "message"),
    [
        ("Conv2d(3, 16, 3)", InvalidProblem, "in_channels is 3 but the incoming tensor \\[1, 1, 28, 28\\] has 1"),
        ("Flatten(); Linear(100, 10)", InvalidProblem, "in_features is 100 .* has 784 features"),
        ("Conv2d(1, 16)", BadInput, "missing required argument 'kernel_size'"),
        ("Conv2d(1, 16, 3, 1, 0, 1, 1, True, 'zeros', None, None, 5)", BadInput, "at most 11 positional"),
        ("Conv2d(1, 16, 3, kernel_size=3)", BadInput, "multiple values for argument 'kernel_size'"),
        ("Conv2d(1, 16, 3, padd=1)", BadInput, "unexpected keyword argument 'padd'"),
        ("Conv2d(1, 16, 3.5)", BadInput, "kernel_size must be"),
        ("Foo(3)", BadInput, "unknown layer 'Foo'"),
        ("BatchNorm1d(1)", InvalidProblem, "expected a 2-D or 3-D input"),
        ("Conv1d(1, 4, 3)", InvalidProblem, "expected a 2-D .* or 3-D"),
        ("Upsample(size=3, scale_factor=2)", InvalidProblem, "only one of size or scale_factor"),
        ("Upsample(scale_factor=1e308)", InvalidProblem, "too large"),
        ("Upsample(scale_factor=1e400)", BadInput, "finite"),
    ],
)
def test_network_errors(text: str, error: type[Exception], message: str):
    with pytest.raises(error, match=message):
        network_shape([1, 1, 28, 28], parse_layers(text))


def test_conv_transpose_positional_order():
    """ConvTranspose2d(in, out, k, stride, padding, output_padding, groups, bias, dilation)."""
    answer = network_shape([1, 4, 5, 5], parse_layers("ConvTranspose2d(4, 2, 3, 2, 1, 1, 2, False, 2)")).answer
    # (5-1)·2 - 2·1 + 2·(3-1) + 1 + 1 = 12; params 4·(2/2)·9, no bias
    assert answer["shape"] == [1, 2, 12, 12]
    assert answer["params"] == 36


# --------------------------------------------------------------------------- live PyTorch


@pytest.mark.torch
def test_live_torch_random_configs():
    pytest.importorskip("torch")
    sys.path.insert(0, str(Path(__file__).parent / "data"))
    import make_conv_goldens

    rng = random.Random()
    for _ in range(60):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # torch warns about even kernels with padding='same'
            case = make_conv_goldens.run_single(make_conv_goldens.random_config(rng))
        check_against_torch(case)


@pytest.mark.torch
def test_live_torch_random_pad_shuffle():
    pytest.importorskip("torch")
    sys.path.insert(0, str(Path(__file__).parent / "data"))
    import make_conv_goldens

    rng = random.Random()
    for _ in range(60):
        check_pad_shuffle_against_torch(make_conv_goldens.run_module(*make_conv_goldens.random_pad_shuffle(rng)))


@pytest.mark.torch
@pytest.mark.parametrize(
    "net",
    [
        "Conv2d(1, 1, 3); Conv2d(1, 1, 3); AvgPool2d(2); Conv2d(1, 1, 3, dilation=2)",
        "Conv2d(1, 1, 11, stride=4); AvgPool2d(3, stride=2); Conv2d(1, 1, 5, padding=2); AvgPool2d(3, 2)",
        "Conv2d(1, 1, (3, 5), stride=(1, 2)); ReLU(); Conv2d(1, 1, 3, stride=2, dilation=(2, 1)); AvgPool2d(2)",
        "ReflectionPad2d(1); PixelUnshuffle(2); Conv2d(4, 1, 3); ZeroPad2d(2); Conv2d(1, 1, 3, stride=2)",
    ],
)
def test_receptive_field_equals_torch_gradient_support(net: str):
    """The receptive field is the span of input pixels with a non-zero gradient for one output pixel."""
    torch = pytest.importorskip("torch")
    calls = parse_layers(net)
    answer = network_shape([1, 1, 160, 160], calls).answer
    layers = [getattr(torch.nn, call.name)(*call.args, **call.kwargs) for call in calls]
    for layer in layers:
        for parameter in layer.parameters():
            torch.nn.init.constant_(parameter, 1.0)
    image = torch.ones(1, 1, 160, 160, requires_grad=True)
    output = torch.nn.Sequential(*layers)(image)
    centre = [size // 2 for size in output.shape[2:]]
    output[0, 0, centre[0], centre[1]].backward()
    support = image.grad[0, 0].nonzero()
    spans = [int(support[:, axis].max() - support[:, axis].min()) + 1 for axis in (0, 1)]
    assert answer["layers"][-1]["receptive_field"] == spans


@pytest.mark.torch
def test_catalogue_signatures_match_torch():
    torch = pytest.importorskip("torch")
    import inspect

    for name, spec in CATALOGUE.items():
        cls = getattr(torch.nn, name)
        parameters = list(inspect.signature(cls.__init__).parameters.values())[1:]
        if spec.var_args or any(p.kind is inspect.Parameter.VAR_POSITIONAL for p in parameters):
            continue
        # a function default (TransformerEncoderLayer's activation=F.relu) is written by its name, 'relu'
        positional = [
            (p.name, p.default.__name__ if inspect.isfunction(p.default) else p.default)
            for p in parameters
            if p.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD
        ]
        keyword = [(p.name, p.default) for p in parameters if p.kind is inspect.Parameter.KEYWORD_ONLY]
        ours = [(n, inspect.Parameter.empty if d is REQUIRED else d) for n, d in spec.params]
        ours_kw = [(n, d) for n, d in spec.keyword_only]
        assert [n for n, _ in ours] == [n for n, _ in positional], name
        assert ours == positional, name
        assert ours_kw == keyword, name


# --------------------------------------------------------------------------- CLI


def test_cli_exam_question(cli):
    result = cli("conv-shape", "--in", "28", "--k", "3", "--batch", "32", "--filters", "128", "--json")
    assert result.exit_code == 0
    assert result.json()["answer"] == {"spatial": [26, 26], "shape": [32, 128, 26, 26], "params": None}
    quiet = cli("conv-shape", "--in", "28", "--k", "3", "--batch", "32", "--filters", "128", "-q")
    assert quiet.stdout.strip() == "32 128 26 26"
    assert cli("conv-shape", "--in", "28", "--k", "3", "-q").stdout.strip() == "26 26"


def test_cli_unknown_padding(cli):
    result = cli("conv-shape", "--in", "28", "--k", "4", "--s", "2", "--p", "?", "--out", "14", "--json")
    assert result.exit_code == 0
    assert result.json()["answer"]["solutions"] == [1]
    none = cli("conv-shape", "--in", "28", "--k", "4", "--s", "2", "--p", "?", "--out", "5")
    assert none.exit_code == 1
    assert "no padding gives output size [5, 5]" in none.stderr


def test_cli_long_option_aliases(cli):
    short = cli("conv-shape", "--in", "28", "--k", "4", "--s", "2", "--p", "1", "--d", "1", "--json").json()
    long = cli("conv-shape", "--in", "28", "--kernel", "4", "--stride", "2", "--padding", "1", "--dilation", "1",
               "--json").json()  # fmt: skip
    assert short["answer"] == long["answer"] == {"spatial": [14, 14], "shape": None, "params": None}


def test_cli_refusal_and_bad_input(cli):
    refused = cli("conv-shape", "--in", "3", "--k", "5", "--json")
    assert refused.exit_code == 1
    assert refused.json()["error"]["kind"] == "invalid-problem"
    bad = cli("conv-shape", "--in", "abc", "--k", "3")
    assert bad.exit_code == 2
    assert bad.stderr.startswith("error: --in:")
    two_unknowns = cli("conv-shape", "--in", "?", "--k", "?", "--out", "3")
    assert two_unknowns.exit_code == 2


def test_cli_network_mode(cli, tmp_path):
    result = cli("conv-shape", "--input", "10,1,32,32", "--net", EXAM_NET, "--json")
    assert result.exit_code == 0
    answer = result.json()["answer"]
    assert answer["shape"] == [10, 1, 32, 32]
    assert answer["params"] == GOLDENS["networks"]["exam-encoder-decoder"]["params"]
    assert set(answer["layers"][0]) == {"layer", "shape", "params", "macs", "receptive_field", "jump"}
    net_file = tmp_path / "lenet.py"
    net_file.write_text(
        "# LeNet-5\nmodel = nn.Sequential(\n    nn.Conv2d(1, 6, 5),  # C1\n    nn.Tanh(),\n    nn.AvgPool2d(2),\n"
        "    nn.Conv2d(6, 16, 5), nn.Tanh(), nn.AvgPool2d(2),\n    nn.Conv2d(16, 120, 5), nn.Tanh(), nn.Flatten(),\n"
        "    nn.Linear(120, 84), nn.Tanh(), nn.Linear(84, 10),\n)\n",
        encoding="utf-8",
    )
    lenet = cli("conv-shape", "--input", "1,1,32,32", "--net-file", str(net_file), "-q")
    assert lenet.exit_code == 0, lenet.stderr
    assert lenet.stdout.splitlines() == ["1 10", "61706 parameters"]  # LeNet-5: the final shape, then its parameters
    mixed = cli("conv-shape", "--input", "1,1,32,32", "--net", "ReLU()", "--k", "3")
    assert mixed.exit_code == 2
    mismatch = cli("conv-shape", "--input", "1,3,32,32", "--net", "Conv2d(1, 4, 3)")
    assert mismatch.exit_code == 1
    assert (
        "layer 1" in mismatch.stderr and "in_channels is 1" in mismatch.stderr and "has 3 channels" in mismatch.stderr
    )


@pytest.mark.parametrize("mode", ["--latex", "--markdown", None])
def test_cli_every_output_mode(cli, mode):
    args = ["conv-shape", "--in", "28", "--k", "3", "--batch", "32", "--channels", "1", "--filters", "128"]
    result = cli(*args, *([mode] if mode else []))
    assert result.exit_code == 0
    assert "26" in result.stdout
    network = cli(
        "conv-shape", "--input", "1,1,32,32", "--net", "Conv2d(1, 6, 5); MaxPool2d(2)", *([mode] if mode else [])
    )
    assert network.exit_code == 0
    assert "14" in network.stdout


def test_main_help_lists_the_command_and_narrowed_runs_match(cli):
    assert "conv-shape" in cli("--help").stdout
    unknown = cli("conv-shap", "--in", "28")
    assert unknown.exit_code == 2
    assert "conv-shape" in unknown.stderr  # the whole app answers for names it does not know


def test_help_has_runnable_example(cli):
    result = cli("conv-shape", "--help")
    assert "dlsolve conv-shape --in 28 --k 3" in result.stdout
    example = cli("conv-shape", "--in", "28", "--k", "3", "--batch", "32", "--filters", "128", "-q")
    assert example.exit_code == 0


def test_startup_imports_neither_numpy_nor_sympy():
    for args in (["conv-shape", "--in", "28", "--k", "3", "-q"], ["--help"]):
        run = subprocess.run(
            [sys.executable, "-X", "importtime", "-m", "dlsolve", *args], capture_output=True, text=True, check=False
        )
        assert run.returncode == 0, run.stderr[-500:]
        imported = {line.split("|")[-1].strip().split(".")[0] for line in run.stderr.splitlines() if "|" in line}
        assert "numpy" not in imported and "sympy" not in imported, args


# --------------------------------------------------------------------------- fuzz

OPTIONS = ["--in", "--k", "--s", "--p", "--d", "--dims", "--layer", "--output-padding", "--groups", "--batch",
           "--channels", "--filters", "--out"]  # fmt: skip
NUMBERish = st.one_of(
    st.text(max_size=12),
    st.integers(-3, 40).map(str),
    st.lists(st.integers(-1, 30), min_size=1, max_size=4).map(lambda v: ",".join(map(str, v))),
    st.sampled_from(["?", "same", "valid", "conv", "transposed", "maxpool", "avgpool", "1e9", "10**9", "0x1"]),
)


@given(
    st.dictionaries(st.sampled_from(OPTIONS), NUMBERish, max_size=7),
    st.sets(st.sampled_from(["--ceil", "--no-bias"])),
)
def test_fuzz_single_layer_options(options, flags):
    args = ["conv-shape", *[item for pair in options.items() for item in pair], *sorted(flags)]
    result = run_cli(*args, "--json")
    assert result.exit_code in (0, 1, 2), (args, result.stdout, result.stderr)
    json.loads(result.stdout)
    plain = run_cli(*args)
    assert plain.exit_code in (0, 1, 2), (args, plain.stderr)
    assert "Traceback" not in plain.stderr


LAYER_TEXT = st.one_of(
    st.text(max_size=40),
    st.builds(
        lambda name, args: f"{name}({', '.join(args)})",
        st.sampled_from([*sorted(CATALOGUE), "Sequential", "nn.Conv2d", "eval", "__import__"]),
        st.lists(
            st.one_of(
                st.integers(-2, 40).map(str),
                st.sampled_from(
                    [
                        "'same'",
                        "True",
                        "None",
                        "(2, 3)",
                        "padding=1",
                        "stride=2",
                        "2.5",
                        "x",
                        "1e400",
                        "scale_factor=1e308",
                    ]
                ),
            ),
            max_size=5,
        ),
    ),
)


@given(st.lists(LAYER_TEXT, min_size=1, max_size=4), st.lists(st.integers(0, 40), min_size=0, max_size=6))
def test_fuzz_network_mode(layers, shape):
    result = run_cli("conv-shape", "--input", ",".join(map(str, shape)) or "x", "--net", "; ".join(layers), "--json")
    assert result.exit_code in (0, 1, 2), (layers, shape, result.stdout)
    json.loads(result.stdout)
