"""Tests of filter transpose, filter apply --dilation, asymmetric padding and Keras pooling.

Oracles: tests/data/filter_extra_goldens.json, made by tests/data/make_filter_extra_goldens.py from
PyTorch (conv_transpose2d, conv2d with dilation, F.pad then conv2d/max_pool2d/avg_pool2d) and Keras 3
(MaxPooling2D/AveragePooling2D, torch backend); hand-checked examples; properties of the two views.
"""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from dlsolve.errors import BadInput, InvalidProblem
from dlsolve.parsing import parse_channels, parse_scalar
from dlsolve.solvers.filter_pool import pool
from dlsolve.solvers.filter_transpose import transpose_filter
from dlsolve.solvers.filters import apply_filter
from dlsolve.step_kinds import all_kinds

GOLDENS = json.loads((Path(__file__).parent / "data" / "filter_extra_goldens.json").read_text(encoding="utf-8"))


def channels(text: str) -> list:
    return parse_channels(text, "--image")


def pair(values: list[int]) -> tuple[Any, Any]:
    return (values[0], values[1])


def close(got: Any, expected: Any) -> None:
    np.testing.assert_allclose(np.array(got, dtype=float), np.array(expected, dtype=float), rtol=1e-12, atol=1e-12)


def kinds_declared(solution) -> None:
    declared = all_kinds()

    def walk(steps):
        for step in steps:
            assert step.kind in declared, step.title
            walk(step.substeps)

    walk(solution.steps)


# --------------------------------------------------------------------------- goldens


def test_transpose_matches_torch_conv_transpose2d():
    for case in GOLDENS["transpose"]:
        kwargs = {
            "stride": pair(case["stride"]),
            "padding": pair(case["padding"]),
            "output_padding": pair(case["output_padding"]),
            "dilation": pair(case["dilation"]),
            "bias": parse_scalar(case["bias"], "--bias") if "bias" in case else None,
        }
        image, kernel = channels(case["image"]), parse_channels(case["kernel"], "--kernel")
        if case["error"] is not None:
            with pytest.raises(InvalidProblem):
                transpose_filter(image, kernel, **kwargs)
            continue
        solution = transpose_filter(image, kernel, **kwargs)
        close(solution.answer["output"], case["output"])


def test_transpose_goldens_cover_refusals_bias_dilation_and_output_padding():
    cases = GOLDENS["transpose"]
    assert sum(c["error"] is None for c in cases) >= 80 and sum(c["error"] is not None for c in cases) >= 10
    valid = [c for c in cases if c["error"] is None]
    assert any("bias" in c for c in valid) and any(c["dilation"] != [1, 1] for c in valid)
    assert any(c["output_padding"] != [0, 0] for c in valid)


def test_dilation_matches_torch_conv2d():
    for case in GOLDENS["dilation"]:
        solution = apply_filter(
            channels(case["image"]),
            parse_channels(case["kernel"], "--kernel"),
            stride=pair(case["stride"]),
            padding=pair(case["padding"]),
            dilation=pair(case["dilation"]),
        )
        close(solution.answer["output"], case["output"])


def test_asymmetric_apply_matches_torch_pad_then_conv2d():
    for case in GOLDENS["asymmetric_apply"]:
        pads = [tuple(p) for p in case["padding"]]
        solution = apply_filter(
            channels(case["image"]),
            parse_channels(case["kernel"], "--kernel"),
            stride=pair(case["stride"]),
            padding=pads,
        )
        close(solution.answer["output"], case["output"])


def test_asymmetric_pool_matches_torch():
    for case in GOLDENS["asymmetric_pool"]:
        solution = pool(
            channels(case["image"]),
            size=pair(case["size"]),
            stride=pair(case["stride"]),
            padding=[tuple(p) for p in case["padding"]],
            op=case["op"],
            exclude_pad=case["exclude_pad"],
        )
        expected = case["output"]
        close(solution.answer["output"], expected[0] if len(expected) == 1 else expected)


def test_keras_pool_matches_keras():
    for case in GOLDENS["keras_pool"]:
        kwargs = {
            "size": pair(case["size"]),
            "stride": None if case["stride"] is None else pair(case["stride"]),
            "padding": case["padding"],
            "op": case["op"],
            "framework": "keras",
        }
        if case["error"] is not None:
            with pytest.raises(BadInput):
                pool(channels(case["image"]), **kwargs)
            continue
        expected = case["output"]
        close(pool(channels(case["image"]), **kwargs).answer["output"], expected[0] if len(expected) == 1 else expected)


def test_keras_pool_goldens_cover_same_with_strides_and_both_ops():
    cases = [c for c in GOLDENS["keras_pool"] if c["error"] is None]
    for op in ("max", "avg"):
        assert any(c["op"] == op and c["padding"] == "same" and c["stride"] not in (None, c["size"]) for c in cases)


# --------------------------------------------------------------------------- by hand


def test_keras_same_average_divides_by_real_cells_and_max_pads_minus_infinity():
    # 3x3 image, 2x2 window, stride 2, SAME: out 2x2, one padding row and column at the bottom/right
    image = channels("1,2,3;4,5,6;7,8,9")
    avg = pool(image, size=(2, 2), padding="same", op="avg", framework="keras")
    assert avg.answer["output_exact"] == [["3", "4.5"], ["7.5", "9"]]
    negative = channels("-1,-2,-3;-4,-5,-6;-7,-8,-9")
    assert pool(negative, size=(2, 2), padding="same", framework="keras").answer["output"] == [[-1, -3], [-7, -9]]
    size_step = next(s for s in avg.steps if s.kind == "filter.output-size")
    assert "⌈3/2⌉ = 2" in size_step.text and "0 before, 1 after" in size_step.text
    kinds_declared(avg)


def test_keras_padding_words_need_the_framework_and_vice_versa():
    with pytest.raises(BadInput) as error:
        pool(channels("1,2;3,4"), padding="same")
    assert error.value.option == "--padding"
    with pytest.raises(BadInput):
        pool(channels("1,2;3,4"), padding=(1, 1), framework="keras")
    with pytest.raises(BadInput) as ceil:
        pool(channels("1,2;3,4"), padding="same", framework="keras", ceil=True)
    assert ceil.value.option == "--ceil"


def test_asymmetric_padding_by_hand():
    # 2x2 ones, 2x2 ones kernel, padding 0 above/1 below, 1 left/0 right: 2x2 output
    solution = apply_filter(channels("1,1;1,1"), channels("1,1;1,1"), padding=[(0, 1), (1, 0)])
    assert solution.answer["output"] == [[2, 4], [1, 2]]
    assert solution.inputs["padding"] == "0:1,1:0"
    pad_step = next(s for s in solution.steps if s.kind == "filter.padding")
    assert "0 row(s) above, 1 below, 1 column(s) left, 0 right" in pad_step.text


def test_dilation_equals_the_kernel_with_zeros_typed_in():
    image = channels("1,2,3,4,5;6,7,8,9,10;11,12,13,14,15;16,17,18,19,20;21,22,23,24,25")
    dilated = apply_filter(image, channels("1,2;3,4"), dilation=(2, 2))
    typed = apply_filter(image, channels("1,0,2;0,0,0;3,0,4"))
    assert (
        dilated.answer["output"]
        == typed.answer["output"]
        == [
            [1 * 1 + 3 * 2 + 11 * 3 + 13 * 4, 2 * 1 + 4 * 2 + 12 * 3 + 14 * 4, 3 * 1 + 5 * 2 + 13 * 3 + 15 * 4],
            [6 * 1 + 8 * 2 + 16 * 3 + 18 * 4, 7 * 1 + 9 * 2 + 17 * 3 + 19 * 4, 8 * 1 + 10 * 2 + 18 * 3 + 20 * 4],
            [11 * 1 + 13 * 2 + 21 * 3 + 23 * 4, 12 * 1 + 14 * 2 + 22 * 3 + 24 * 4, 13 * 1 + 15 * 2 + 23 * 3 + 25 * 4],
        ]
    )
    cell = next(s for s in dilated.steps if s.kind == "filter.windows").substeps[0]
    assert "1·1 + 3·2 + 11·3 + 13·4 = 92" in cell.text
    assert any(s.kind == "filter.dilate" for s in dilated.steps)
    size = next(s for s in dilated.steps if s.kind == "filter.output-size")
    assert "d(k − 1)" in size.text
    assert "d(k − 1)" not in next(s for s in typed.steps if s.kind == "filter.output-size").text


def test_transpose_by_hand_stride_2():
    # d2l 14.10: X = [[0, 1], [2, 3]], K = [[0, 1], [2, 3]], stride 2 -> 4x4 of the four scaled copies
    solution = transpose_filter(channels("0,1;2,3"), channels("0,1;2,3"), stride=(2, 2))
    assert solution.answer["output"] == [[0, 0, 0, 1], [0, 0, 2, 3], [0, 2, 0, 3], [4, 6, 6, 9]]
    # stride 1: d2l's [[0, 0, 1], [0, 4, 6], [4, 12, 9]]
    one = transpose_filter(channels("0,1;2,3"), channels("0,1;2,3"))
    assert one.answer["output"] == [[0, 0, 1], [0, 4, 6], [4, 12, 9]]
    kinds = [s.kind for s in one.steps]
    assert kinds == ["filter.inputs", "filter.output-size", "filter.scatter", "filter.equivalent", "filter.output"]
    kinds_declared(one)


def test_transpose_refusals_name_the_option():
    with pytest.raises(InvalidProblem) as error:
        transpose_filter(channels("1"), channels("1"), output_padding=(1, 1))
    assert error.value.option == "--output-padding"
    with pytest.raises(InvalidProblem):
        transpose_filter(channels("1"), channels("1,1;1,1"), padding=(1, 1))
    with pytest.raises(BadInput) as stride:
        transpose_filter(channels("1"), channels("1"), stride=(0, 1))
    assert stride.value.option == "--stride"


@given(
    x=st.lists(st.lists(st.integers(-3, 3), min_size=3, max_size=3), min_size=2, max_size=3),
    k=st.lists(st.lists(st.integers(-2, 2), min_size=2, max_size=2), min_size=1, max_size=3),
    stride=st.integers(1, 3),
    padding=st.integers(0, 2),
    dilation=st.integers(1, 2),
    output_padding=st.integers(0, 2),
)
def test_equivalent_convolution_equals_the_scatter_view(x, k, stride, padding, dilation, output_padding):
    text = lambda rows: ";".join(",".join(map(str, r)) for r in rows)  # noqa: E731
    try:
        solution = transpose_filter(
            channels(text(x)),
            channels(text(k)),
            stride=(stride, stride),
            padding=(padding, padding),
            dilation=(dilation, dilation),
            output_padding=(output_padding, output_padding),
            full=True,
        )
    except InvalidProblem:
        return
    equivalent = next(s for s in solution.steps if s.kind == "filter.equivalent")
    assert equivalent.blocks[-1].cells == [row[:16] for row in solution.answer["output_exact"][:16]]


def test_transpose_exact_fractions():
    solution = transpose_filter(channels("1/2,1/3"), channels("3"), bias=Fraction(1, 6))
    assert solution.answer["output_exact"] == [["5/3", "7/6"]]


@pytest.mark.torch
def test_live_torch_random_transposed_convolutions():
    torch = pytest.importorskip("torch")
    import random

    rng = random.Random(7)
    for _ in range(40):
        c, h, w, kh, kw = rng.randint(1, 2), rng.randint(1, 4), rng.randint(1, 4), rng.randint(1, 3), rng.randint(1, 3)
        s, d, p = (rng.randint(1, 3),) * 2, (rng.randint(1, 2),) * 2, (rng.randint(0, 1),) * 2
        x = [[[rng.randint(-3, 3) for _ in range(w)] for _ in range(h)] for _ in range(c)]
        k = [[[rng.randint(-3, 3) for _ in range(kw)] for _ in range(kh)] for _ in range(c)]
        text = lambda a: ";;".join(";".join(",".join(map(str, r)) for r in ch) for ch in a)  # noqa: E731
        try:
            expected = torch.nn.functional.conv_transpose2d(
                torch.tensor(x, dtype=torch.float64)[None],
                torch.tensor(k, dtype=torch.float64)[:, None],
                None,
                s,
                p,
                0,
                1,
                d,
            )[0, 0].tolist()
        except RuntimeError:
            with pytest.raises(InvalidProblem):
                transpose_filter(channels(text(x)), channels(text(k)), stride=s, padding=p, dilation=d)
            continue
        got = transpose_filter(channels(text(x)), channels(text(k)), stride=s, padding=p, dilation=d)
        close(got.answer["output"], expected)


def test_full_writes_out_more_cells_windows_and_evidence():
    from dlsolve.solvers.filter_kernels import design_filter, explain_kernel

    image = channels("1,2,3,4;5,6,7,8;9,10,11,12;13,14,15,16")
    short = next(s for s in apply_filter(image, channels("1,0;0,1")).steps if s.kind == "filter.windows")
    full = next(s for s in apply_filter(image, channels("1,0;0,1"), full=True).steps if s.kind == "filter.windows")
    assert len(short.substeps) == 1 and len(full.substeps) == 9
    pooled = next(s for s in pool(image, full=True).steps if s.kind == "filter.windows")
    assert len(pooled.substeps) == 4
    kernel = parse_channels("1,0,-1;2,0,-2;1,0,-1", "--kernel")
    assert not {"filter.symmetry", "filter.separability"} & {s.kind for s in explain_kernel(kernel).steps}
    assert {"filter.symmetry", "filter.separability"} <= {s.kind for s in explain_kernel(kernel, full=True).steps}
    assert "filter.moments" not in {s.kind for s in design_filter("sobel-x").steps}
    assert "filter.moments" in {s.kind for s in design_filter("sobel-x", full=True).steps}
