"""Tests of `dlsolve filter` (apply, pool, design, explain).

Oracles: tests/data/filter_goldens.json (PyTorch conv2d with and without a bias, max_pool2d/avg_pool2d
and SciPy convolve2d, made by tests/data/make_filter_goldens.py), scipy.ndimage's Sobel/Prewitt/Laplace, live PyTorch
(marked torch), and hand-checked textbook examples.
"""

from __future__ import annotations

import json
import random
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from dlsolve.errors import BadInput
from dlsolve.parsing import Matrix, parse_channels, parse_scalar
from dlsolve.solvers.filter_kernels import (
    DESIGNS,
    design_filter,
    explain_kernel,
    kernel_from_text,
    rotate90,
    rotate180,
    transpose,
)
from dlsolve.solvers.filters import apply_filter, pool

GOLDENS = json.loads((Path(__file__).parent / "data" / "filter_goldens.json").read_text())


def channels(text: str) -> list[Matrix]:
    return parse_channels(text, "--image")


def matrix(rows) -> list[Matrix]:
    return [Matrix(rows=tuple(tuple(Fraction(v) for v in row) for row in rows))]


def as_fractions(rows) -> list[list[Fraction]]:
    return [[Fraction(v) for v in row] for row in rows]


# --------------------------------------------------------------------------- oracle goldens


def _golden_id(case: dict) -> str:
    return f"{case['mode']}{'-bias' if 'bias' in case else ''}-{case['image'][:12]}"


@pytest.mark.parametrize("case", GOLDENS["apply"], ids=_golden_id)
def test_apply_matches_torch_and_scipy_goldens(case):
    bias = parse_scalar(case["bias"], "--bias") if "bias" in case else None
    solution = apply_filter(
        channels(case["image"]),
        parse_channels(case["kernel"], "--kernel"),
        stride=tuple(case["stride"]),
        padding=tuple(case["padding"]),
        mode=case["mode"],
        bias=bias,
    )
    # entries are multiples of 1/4 and 1/16: float64 oracles are exact here, so compare exactly
    expected = as_fractions(case["output"])
    got = [[Fraction(text) for text in row] for row in solution.answer["output_exact"]]
    assert got == expected
    assert solution.answer["shape"] == [len(expected), len(expected[0])]
    assert Fraction(solution.answer["bias_exact"]) == (bias or 0)


def test_goldens_cover_bias_in_both_modes():
    modes = {case["mode"] for case in GOLDENS["apply"] if "bias" in case}
    assert modes == {"xcorr", "conv"}
    assert any(Fraction(case["bias"]).denominator > 1 for case in GOLDENS["apply"] if "bias" in case)


@pytest.mark.parametrize("case", GOLDENS["pool"], ids=lambda c: f"{c['op']}-{c['image'][:12]}")
def test_pool_matches_torch_goldens(case):
    solution = pool(
        channels(case["image"]),
        size=tuple(case["size"]),
        stride=tuple(case["stride"]),
        padding=tuple(case["padding"]),
        op=case["op"],
        ceil=case["ceil"],
        exclude_pad=case["exclude_pad"],
    )
    expected = np.array(case["output"])
    got = np.array(solution.answer["output"], dtype=float)
    if expected.shape[0] == 1:
        expected = expected[0]
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12)


# --------------------------------------------------------------------------- textbook examples (hand-checked)


def test_d2l_cross_correlation_example():
    # Dive into Deep Learning, 7.2.1: X = 0..8 (3x3), K = [[0,1],[2,3]] -> [[19,25],[37,43]]
    solution = apply_filter(matrix([[0, 1, 2], [3, 4, 5], [6, 7, 8]]), matrix([[0, 1], [2, 3]]))
    assert solution.answer["output"] == [[19, 25], [37, 43]]
    assert "0·0 + 1·1 + 3·2 + 4·3 = 19" in solution.steps[-2].substeps[0].text


def test_ng_vertical_edge_example():
    # Andrew Ng (deeplearning.ai, CNN week 1): 6x6 image, left half 10, right half 0 -> columns 0,30,30,0
    image = [[10, 10, 10, 0, 0, 0]] * 6
    kernel, name = kernel_from_text("vertical-edge")
    solution = apply_filter(matrix(image), kernel, kernel_name=name)
    assert solution.answer["output"] == [[0, 30, 30, 0]] * 4


def test_cs231n_max_pool_example():
    # CS231n notes, pooling: 2x2 filters with stride 2
    solution = pool(matrix([[1, 1, 2, 4], [5, 6, 7, 8], [3, 2, 1, 0], [1, 2, 3, 4]]), size=(2, 2))
    assert solution.answer["output"] == [[6, 8], [3, 4]]
    assert solution.quiet == "6 8\n3 4"


def test_d2l_pooling_example():
    image = matrix([[0, 1, 2], [3, 4, 5], [6, 7, 8]])
    assert pool(image, size=(2, 2), stride=(1, 1)).answer["output"] == [[4, 5], [7, 8]]
    assert pool(image, size=(2, 2), stride=(1, 1), op="avg").answer["output"] == [[2, 3], [5, 6]]


def test_padding_stride_hand_example():
    # 3x3 ones, 3x3 ones kernel, padding 1, stride 2: corners see 4 ones -> [[4,4],[4,4]]
    solution = apply_filter(matrix([[1] * 3] * 3), matrix([[1] * 3] * 3), stride=(2, 2), padding=(1, 1))
    assert solution.answer["output"] == [[4, 4], [4, 4]]
    size_step = next(s for s in solution.steps if s.kind == "filter.output-size")
    assert "⌊(3 + 2·1 − 3)/2⌋ + 1 = ⌊2/2⌋ + 1 = 2" in size_step.text


def test_avg_pool_padding_divisors_by_hand():
    # 2x2 of ones, window 2, stride 2, padding 1: every window holds one real 1 and three zeros
    image = matrix([[1, 1], [1, 1]])
    assert pool(image, size=(2, 2), padding=(1, 1), op="avg").answer["output_exact"] == [["0.25"] * 2] * 2
    assert pool(image, size=(2, 2), padding=(1, 1), op="avg", exclude_pad=True).answer["output"] == [[1, 1], [1, 1]]


def test_exact_decimals_no_float_noise():
    solution = apply_filter(channels("0.1,0.2;0.3,0.4"), matrix([[1, 1], [1, 1]]))
    assert solution.answer["output_exact"] == [["1"]]
    assert solution.answer["output"] == [[1]]
    third = pool(channels("1,0;0,0;0,0"), size=(3, 1), op="avg")
    assert third.answer["output_exact"] == [["1/3", "0"]]


def test_conv_mode_flips_the_kernel():
    image = matrix([[1, 2, 3], [4, 5, 6], [7, 8, 9]])
    kernel = matrix([[1, 0], [0, 0]])
    assert apply_filter(image, kernel).answer["output"] == [[1, 2], [4, 5]]
    assert apply_filter(image, kernel, mode="conv").answer["output"] == [[5, 6], [8, 9]]


def test_multichannel_sums_over_channels():
    solution = apply_filter(channels("1,2;3,4;;10,20;30,40"), parse_channels("1,0;0,0;;0,0;0,1", "--kernel"))
    assert solution.answer["output"] == [[1 + 40]]
    text = solution.steps[-2].substeps[0].text
    assert "y[0,0] = 1 + 40 = 41" in text  # the channel sums, summed


def test_bias_on_a_zero_map_is_the_bias_everywhere():
    # a conv layer whose input is all zeros outputs its bias at every position (exam 1(g))
    solution = apply_filter(matrix([[0] * 4] * 4), matrix([[1, 2], [3, 4]]), bias=Fraction(1))
    assert solution.answer["output"] == [[1] * 3] * 3
    assert (solution.answer["bias"], solution.answer["bias_exact"]) == (1, "1")
    assert solution.inputs["bias"] == "1"
    cells = next(s for s in solution.steps if s.kind == "filter.windows")
    assert "K[a,b] + bias, bias = 1" in cells.text
    assert cells.latex.endswith(r"+ \mathrm{bias},\quad \mathrm{bias} = 1")
    assert "y[0,0] = 0·1 + 0·2 + 0·3 + 0·4 + bias = 0 + 1 = 1" in cells.substeps[0].text
    assert "plus the bias 1 in every cell" in solution.steps[-1].text
    assert "bias 1" in solution.steps[0].text
    assert solution.summary.startswith("output (3x3, bias 1 included) =\n  [1, 1, 1]")


def test_bias_by_hand_exact_negative_and_multichannel():
    # [[1,2],[3,4]] ⋆ [[1,0],[0,-1]] = 1 - 4 = -3; minus 1/3 -> -10/3
    solution = apply_filter(channels("1,2;3,4"), matrix([[1, 0], [0, -1]]), bias=Fraction(-1, 3))
    assert solution.answer["output_exact"] == [["-10/3"]]
    assert solution.answer["bias_exact"] == "-1/3"
    assert "1·1 + 2·0 + 3·0 + 4·(-1) + bias = -3 + (-1/3) = -10/3" in solution.steps[-2].substeps[0].text
    two = apply_filter(channels("1,2;3,4;;10,20;30,40"), parse_channels("1,0;0,0;;0,0;0,1", "--kernel"), bias=2)
    assert two.answer["output"] == [[1 + 40 + 2]]
    assert "y[0,0] = 1 + 40 + bias = 41 + 2 = 43" in two.steps[-2].substeps[0].text
    # --cell and conv mode: the bias is added after the flipped-kernel sum
    flipped = apply_filter(matrix([[1, 2, 3], [4, 5, 6], [7, 8, 9]]), matrix([[1, 0], [0, 0]]), mode="conv", bias=-5)
    assert flipped.answer["output"] == [[0, 1], [3, 4]]
    celled = apply_filter(matrix([[1, 2, 3], [4, 5, 6], [7, 8, 9]]), matrix([[1, 0], [0, 0]]), cell=(1, 1), bias=10)
    assert celled.answer["cell"] == {"index": [1, 1], "value": 15}


def test_no_bias_keeps_the_working_and_reports_bias_zero():
    solution = apply_filter(matrix([[1, 2], [3, 4]]), matrix([[1]]))
    assert (solution.answer["bias"], solution.answer["bias_exact"]) == (0, "0")
    assert "bias" not in solution.inputs
    assert all("bias" not in step.text for step in solution.steps)


def test_bias_errors():
    with pytest.raises(BadInput, match="at most 1e100") as error:
        apply_filter(matrix([[1]]), matrix([[1]]), bias=Fraction(10) ** 101)
    assert error.value.option == "--bias"
    with pytest.raises(BadInput) as nan:
        apply_filter(matrix([[1]]), matrix([[1]]), bias=float("nan"))
    assert nan.value.option == "--bias"


def test_float_bias_makes_the_output_float():
    solution = apply_filter(matrix([[1, 2], [3, 4]]), matrix([[1]]), bias=0.5)
    assert solution.answer["output"] == [[1.5, 2.5], [3.5, 4.5]]
    assert "output_exact" not in solution.answer and solution.warnings


def test_single_kernel_slice_is_used_for_every_channel_with_a_warning():
    solution = apply_filter(channels("1;;2;;3"), matrix([[2]]))
    assert solution.answer["output"] == [[12]]
    assert solution.warnings


def test_npy_channels(tmp_path):
    from scipy.signal import correlate2d

    rng = np.random.default_rng(3)
    x = rng.integers(-5, 6, size=(3, 6, 5))
    k = rng.integers(-2, 3, size=(3, 3, 2))
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "k.npy", k)
    image = parse_channels(f"@{tmp_path / 'x.npy'}", "--image")
    solution = apply_filter(image, parse_channels(f"@{tmp_path / 'k.npy'}", "--kernel"))
    expected = sum(correlate2d(x[c], k[c], mode="valid") for c in range(3))
    assert solution.answer["output"] == expected.tolist()


def test_cell_expands_one_cell_with_heatmaps():
    solution = apply_filter(
        matrix([[i + j for j in range(6)] for i in range(6)]), matrix([[1, 0], [0, -1]]), cell=(4, 2)
    )
    cells = next(s for s in solution.steps if s.kind == "filter.windows")
    first = cells.substeps[0]
    assert first.kind == "filter.window" and first.title == "y[4,2]"
    assert [b.title for b in first.blocks] == ["window", "window ⊙ kernel"]
    assert len(cells.substeps) == 1 and "one cell of 25 worked out" in cells.text


def test_scipy_ndimage_derivative_filters_agree():
    from scipy import ndimage

    rng = np.random.default_rng(7)
    image = rng.integers(-9, 10, size=(7, 8))
    parsed = matrix(image.tolist())
    for name, oracle in [
        ("sobel-x", ndimage.sobel(image, axis=1)),
        ("sobel-y", ndimage.sobel(image, axis=0)),
        ("prewitt-x", ndimage.prewitt(image, axis=1)),
        ("prewitt-y", ndimage.prewitt(image, axis=0)),
        ("laplacian-4", ndimage.laplace(image)),
    ]:
        kernel, _ = kernel_from_text(name)
        got = apply_filter(parsed, kernel).answer["output"]
        assert got == oracle[1:-1, 1:-1].tolist(), name


# --------------------------------------------------------------------------- properties


small_ints = st.integers(-6, 6)


@st.composite
def image_and_kernel(draw):
    h, w = draw(st.integers(1, 6)), draw(st.integers(1, 6))
    kh, kw = draw(st.integers(1, h)), draw(st.integers(1, w))
    image = draw(st.lists(st.lists(small_ints, min_size=w, max_size=w), min_size=h, max_size=h))
    kernel = draw(st.lists(st.lists(small_ints, min_size=kw, max_size=kw), min_size=kh, max_size=kh))
    return image, kernel


@given(image_and_kernel(), st.integers(-3, 3))
def test_apply_is_linear_and_conv_is_xcorr_with_rotated_kernel(data, factor):
    image, kernel = data
    base = apply_filter(matrix(image), matrix(kernel)).answer["output"]
    scaled = apply_filter(matrix([[factor * v for v in r] for r in image]), matrix(kernel)).answer["output"]
    assert scaled == [[factor * v for v in r] for r in base]
    flipped = apply_filter(matrix(image), matrix(rotate180(kernel)), mode="conv").answer["output"]
    assert flipped == base


@given(
    image_and_kernel(),
    st.fractions(min_value=-50, max_value=50, max_denominator=12),
    st.sampled_from(["xcorr", "conv"]),
    st.tuples(st.integers(1, 2), st.integers(1, 2)),
    st.tuples(st.integers(0, 1), st.integers(0, 1)),
)
def test_bias_shifts_every_output_cell_by_exactly_b(data, bias, mode, stride, padding):
    image, kernel = data
    options = {"stride": stride, "padding": padding, "mode": mode}
    without = apply_filter(matrix(image), matrix(kernel), **options).answer
    shifted = apply_filter(matrix(image), matrix(kernel), bias=bias, **options).answer
    assert shifted["shape"] == without["shape"]
    assert [[Fraction(v) for v in row] for row in shifted["output_exact"]] == [
        [Fraction(v) + bias for v in row] for row in without["output_exact"]
    ]
    assert Fraction(shifted["bias_exact"]) == bias
    zero = apply_filter(matrix(image), matrix(kernel), bias=Fraction(0), **options).answer
    assert zero["output_exact"] == without["output_exact"]


@given(st.lists(st.lists(small_ints, min_size=4, max_size=4), min_size=3, max_size=5), st.integers(1, 3))
def test_max_pool_at_least_avg_pool(image, size):
    size = min(size, 3)
    high = pool(matrix(image), size=(size, size), stride=(1, 1), op="max").answer["output"]
    mean = pool(matrix(image), size=(size, size), stride=(1, 1), op="avg").answer["output"]
    assert all(a >= b for ra, rb in zip(high, mean, strict=True) for a, b in zip(ra, rb, strict=True))


@pytest.mark.parametrize("name", list(DESIGNS))
def test_every_design_is_explained_as_designed(name):
    design = DESIGNS[name]
    kernel, _ = kernel_from_text(name)
    answer = explain_kernel(kernel).answer
    assert (answer["kind"], answer["orientation"], answer["polarity"]) == (
        design.kind,
        design.orientation,
        design.polarity,
    )
    designed = design_filter(name).answer
    assert designed["kind"] == answer["kind"]


ROTATE90 = {
    "vertical": "horizontal",
    "horizontal": "vertical",
    "diagonal-45": "diagonal-135",
    "diagonal-135": "diagonal-45",
}
TRANSPOSE = {
    "vertical": "horizontal",
    "horizontal": "vertical",
    "diagonal-45": "diagonal-45",
    "diagonal-135": "diagonal-135",
}
OPPOSITE = {"left": "right", "right": "left", "top": "bottom", "bottom": "top"}
EDGE_DESIGNS = [name for name, d in DESIGNS.items() if d.kind == "edge"]


def opposite(polarity: str) -> str:
    return "-".join(OPPOSITE.get(part, part) for part in polarity.split("-"))


@given(st.sampled_from(EDGE_DESIGNS), st.integers(1, 3), st.integers(1, 5))
def test_rotating_and_transposing_edge_detectors_changes_orientation(name, turns, gain):
    rows = [[gain * v for v in row] for row in DESIGNS[name].kernel()]
    base = explain_kernel(matrix(rows)).answer
    rotated = rows
    for _ in range(turns):
        rotated = rotate90(rotated)
    after = explain_kernel(matrix(rotated)).answer
    expected = base["orientation"] if turns == 2 else ROTATE90[base["orientation"]]
    assert after["kind"] == "edge"
    assert after["orientation"] == expected
    if turns == 2:
        assert after["polarity"] == opposite(base["polarity"])
    transposed = explain_kernel(matrix(transpose(rows))).answer
    assert transposed["orientation"] == TRANSPOSE[base["orientation"]]
    negated = explain_kernel(matrix([[-v for v in r] for r in rows])).answer
    assert negated["polarity"] == opposite(base["polarity"])


@given(st.lists(st.lists(st.integers(0, 9), min_size=3, max_size=3), min_size=3, max_size=3))
def test_nonnegative_kernels_are_smoothing(rows):
    if sum(v > 0 for r in rows for v in r) < 2:
        return
    assert explain_kernel(matrix(rows)).answer["kind"] == "smoothing"


def test_exam_1b_sheet_filter_is_a_horizontal_edge_detector():
    solution = explain_kernel(kernel_from_text("1,1,1;0,0,0;-1,-1,-1")[0])
    assert solution.answer["kind"] == "edge"
    assert solution.answer["orientation"] == "horizontal"
    assert solution.answer["polarity"] == "top-brighter"
    assert "positive where the top is brighter than the bottom" in solution.summary
    assert solution.answer["factors"] == {"column": [1, 0, -1], "row": [1, 1, 1]}
    table = next(s for s in solution.steps if s.kind == "filter.step-edges").blocks[0]
    vertical, horizontal = table.rows[0], table.rows[1]
    assert vertical[1:] == ["0", "0"]  # no response to a vertical edge
    assert horizontal[2] == "-3"  # bottom brighter -> negative


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("0,-1,0;-1,5,-1;0,-1,0", "sharpening"),
        ("1,1,1;1,1,1;1,1,1", "smoothing"),
        ("0,0,0;0,1,0;0,0,0", "identity"),
        ("0,0,0;0,2,0;0,0,0", "scaling"),
        ("0,0,0;0,0,0;0,0,0", "none"),
        ("0,1,0;1,-4,1;0,1,0", "laplacian"),
        ("1,-2,1", "laplacian"),
        ("1,0;0,-1", "edge"),
        ("0,1,0;1,0,0;0,0,0", "smoothing"),
        ("1,-1,1;-1,1,-1;1,-1,1", "none"),
    ],
)
def test_explain_kinds(text, kind):
    assert explain_kernel(kernel_from_text(text)[0]).answer["kind"] == kind


def test_float_kernels_are_classified_with_a_tolerance(tmp_path):
    noisy = np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], dtype=float) / 3 + 1e-15
    noisy -= noisy.mean()
    np.save(tmp_path / "k.npy", noisy)
    answer = explain_kernel(kernel_from_text(f"@{tmp_path / 'k.npy'}")[0]).answer
    assert (answer["kind"], answer["orientation"], answer["polarity"]) == ("edge", "vertical", "right-brighter")


def test_roberts_cross_orientation():
    answer = explain_kernel(kernel_from_text("1,0;0,-1")[0]).answer
    assert (answer["orientation"], answer["polarity"]) == ("diagonal-45", "top-left-brighter")


def test_gaussian_designs():
    exact = design_filter("gaussian-blur", size=5).answer
    assert exact["kernel_exact"][2] == ["0.0234375", "0.09375", "0.140625", "0.09375", "0.0234375"]  # [1,4,6,4,1]*6/256
    assert Fraction(exact["kernel_exact"][2][2]) == Fraction(36, 256)
    floating = design_filter("gaussian-blur", size=3, sigma=Fraction(1))
    weights = np.array(floating.answer["kernel"])
    assert weights.sum() == pytest.approx(1)
    assert weights[0, 0] / weights[1, 1] == pytest.approx(np.exp(-1))
    assert floating.warnings
    assert explain_kernel(kernel_from_text("gaussian-blur:5:1.5")[0]).answer["kind"] == "smoothing"


def test_design_errors():
    with pytest.raises(BadInput, match="fixed size"):
        design_filter("sobel-x", size=5)
    with pytest.raises(BadInput, match="unknown kernel name"):
        design_filter("sobel-z")
    with pytest.raises(BadInput, match="from 1 to 31"):
        design_filter("box-blur", size=99)


def _random_integer_case(torch: Any, rng: random.Random) -> tuple[Any, Any, list[Matrix], list[Matrix], Any, Any]:
    """A random small integer image and kernel as torch tensors and as exact matrices, with a stride and padding."""
    c, h, w = rng.randint(1, 3), rng.randint(3, 9), rng.randint(3, 9)
    kh, kw = rng.randint(1, 3), rng.randint(1, 3)
    s, p = (rng.randint(1, 2), rng.randint(1, 2)), (rng.randint(0, 1), rng.randint(0, 1))
    x = torch.randint(-9, 10, (1, c, h, w), dtype=torch.float64)
    k = torch.randint(-3, 4, (1, c, kh, kw), dtype=torch.float64)
    image = [Matrix(rows=tuple(tuple(Fraction(int(v)) for v in r) for r in ch)) for ch in x[0].tolist()]
    kernel = [Matrix(rows=tuple(tuple(Fraction(int(v)) for v in r) for r in ch)) for ch in k[0].tolist()]
    return x, k, image, kernel, s, p


@pytest.mark.torch
def test_live_torch_random_cases():
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    rng = random.Random(11)
    for _ in range(25):
        x, k, image, kernel, s, p = _random_integer_case(torch, rng)
        c, kh, kw = x.shape[1], k.shape[2], k.shape[3]
        got = apply_filter(image, kernel, stride=s, padding=p).answer["output"]
        assert got == F.conv2d(x, k, stride=s, padding=p)[0, 0].tolist()
        ps = (min(p[0], kh // 2), min(p[1], kw // 2))
        got_avg = pool(image, size=(kh, kw), stride=s, padding=ps, op="avg", ceil=True).answer["output"]
        want = F.avg_pool2d(x, (kh, kw), s, ps, ceil_mode=True)[0]
        np.testing.assert_allclose(np.array(got_avg if c > 1 else [got_avg], dtype=float), want.numpy(), rtol=1e-12)
    # float path: a large image (> 10,000 entries is read as float64)
    x = torch.rand(1, 1, 120, 110, dtype=torch.float64)
    k = torch.rand(1, 1, 3, 4, dtype=torch.float64)
    image = [Matrix(array=x[0, 0].numpy())]
    got = np.array(apply_filter(image, [Matrix(rows=tuple(tuple(r) for r in k[0, 0].tolist()))]).answer["output"])
    np.testing.assert_allclose(got, F.conv2d(x, k)[0, 0].numpy(), rtol=1e-12)


@pytest.mark.torch
def test_live_torch_bias():
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    rng = random.Random(12)
    for _ in range(25):
        x, k, image, kernel, s, p = _random_integer_case(torch, rng)
        bias = Fraction(rng.randint(-40, 40), 8)
        b = torch.tensor([float(bias)], dtype=torch.float64)
        got = apply_filter(image, kernel, stride=s, padding=p, bias=bias).answer["output"]
        assert got == F.conv2d(x, k, b, stride=s, padding=p)[0, 0].tolist()
        flipped = apply_filter(image, kernel, stride=s, padding=p, mode="conv", bias=bias).answer["output"]
        assert flipped == F.conv2d(x, k.flip(-2, -1), b, stride=s, padding=p)[0, 0].tolist()
    # float path (> 10,000 entries is read as float64) with an exact bias
    x = torch.rand(1, 1, 120, 110, dtype=torch.float64)
    k = torch.rand(1, 1, 3, 4, dtype=torch.float64)
    image = [Matrix(array=x[0, 0].numpy())]
    kernel = [Matrix(rows=tuple(tuple(r) for r in k[0, 0].tolist()))]
    got = np.array(apply_filter(image, kernel, bias=Fraction(-3, 10)).answer["output"])
    want = F.conv2d(x, k, torch.tensor([-0.3], dtype=torch.float64))[0, 0].numpy()
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


def _oracle_channels(value) -> list[list[list[float]]]:
    """Problem-file image/kernel (``a,b;c,d;;...`` text or a 2-D TOML array) as C x H x W floats."""
    if isinstance(value, list):
        return [[[float(v) for v in row] for row in value]]
    return [[[float(Fraction(v)) for v in row.split(",")] for row in ch.split(";")] for ch in value.split(";;")]


@pytest.mark.torch
def test_filter_problem_file_bias_answers_match_torch():
    torch = pytest.importorskip("torch")
    import tomllib

    problems = tomllib.loads((Path(__file__).parents[1] / "problems" / "filter.toml").read_text())["problem"]
    biased = [p for p in problems if p["command"] == "filter apply" and "bias" in p["args"]]
    assert len(biased) >= 2
    for problem in biased:
        args = problem["args"]
        x = torch.tensor(_oracle_channels(args["image"]), dtype=torch.float64)[None]
        k = torch.tensor(_oracle_channels(args["kernel"]), dtype=torch.float64)[None]
        if args.get("mode") == "conv":
            k = k.flip(-2, -1)
        b = torch.tensor([float(Fraction(str(args["bias"])))], dtype=torch.float64)
        s, p = args.get("stride", 1), args.get("padding", 0)
        want = torch.nn.functional.conv2d(x, k, b, stride=s, padding=p)[0, 0].tolist()
        assert want == problem["expected"]["output"], problem["id"]


# --------------------------------------------------------------------------- CLI


def test_cli_apply_json_and_quiet(cli):
    result = cli("filter", "apply", "--image", "1,2,3;4,5,6;7,8,9", "--kernel", "1,0;0,-1", "--json")
    assert result.exit_code == 0
    assert result.json()["answer"]["output"] == [[-4, -4], [-4, -4]]
    quiet = cli("filter", "apply", "-i", "1,2,3;4,5,6;7,8,9", "-k", "1,0;0,-1", "-q")
    assert quiet.stdout == "-4 -4\n-4 -4\n"


def test_cli_apply_bias(cli):
    args = ("filter", "apply", "-i", "0,0,0,0;0,0,0,0;0,0,0,0;0,0,0,0", "-k", "1,2;3,4", "--bias", "1")
    payload = cli(*args, "--json").json()
    assert payload["answer"]["output"] == [[1, 1, 1]] * 3
    assert (payload["answer"]["bias"], payload["answer"]["bias_exact"]) == (1, "1")
    assert payload["inputs"]["bias"] == "1"
    assert cli(*args, "-q").stdout == "1 1 1\n1 1 1\n1 1 1\n"
    negative = cli("filter", "apply", "-i", "1,2;3,4", "-k", "1,0;0,-1", "--bias", "-1/3", "--json").json()
    assert negative["answer"]["output_exact"] == [["-10/3"]]
    rich = cli(*args)
    assert rich.exit_code == 0 and "+ bias = 0 + 1 = 1" in rich.stdout


def test_cli_rich_markdown_and_design_explain(cli):
    rich = cli("filter", "apply", "-i", "0,0,9,9;0,0,9,9;0,0,9,9", "-k", "sobel-x", "--padding", "1", "--cell", "1,1")
    assert rich.exit_code == 0 and "y[1,1]" in rich.stdout
    markdown = cli("filter", "pool", "-i", "1,2;3,4", "--size", "2", "--op", "avg", "--markdown")
    assert markdown.exit_code == 0 and "(1 + 2 + 3 + 4) / 4 = 10/4 = 2.5" in markdown.stdout
    design = cli("filter", "design", "horizontal-edge", "--json").json()["answer"]
    assert design["kernel"] == [[1, 1, 1], [0, 0, 0], [-1, -1, -1]]
    explain = cli("filter", "explain", "--kernel", "1,1,1;0,0,0;-1,-1,-1", "-q")
    assert explain.stdout.strip() == "edge horizontal top-brighter"


@pytest.mark.parametrize(
    ("args", "option"),
    [
        (["apply", "-i", "1,2;3", "-k", "1"], "--image"),  # ragged
        (["apply", "-i", "", "-k", "1"], "--image"),  # empty
        (["apply", "-i", "1,2;3,4", "-k", "1,2,3;4,5,6;7,8,9"], "--kernel"),  # larger than the image
        (["apply", "-i", "1,x;3,4", "-k", "1"], "--image"),  # non-numeric
        (["apply", "-i", "1,2;3,4", "-k", "1", "--stride", "-1"], "--stride"),
        (["apply", "-i", "1,2;3,4", "-k", "1", "--padding", "-1"], "--padding"),
        (["apply", "-i", "1,2;3,4", "-k", "1", "--cell", "5,0"], "--cell"),
        (["apply", "-i", "1,2;3,4", "-k", "1", "--mode", "fft"], "--mode"),
        (["apply", "-i", "1,2;;3,4", "-k", "1;;2;;3"], "--kernel"),
        (["apply", "-i", "1,2;3,4", "-k", "sobel-q"], "--kernel"),
        (["apply", "-i", "1,2;3,4", "-k", "1", "--bias", "one"], "--bias"),
        (["apply", "-i", "1,2;3,4", "-k", "1", "--bias", "1,2"], "--bias"),
        (["apply", "-i", "1,2;3,4", "-k", "1", "--bias", "1e101"], "--bias"),
        (["apply", "-i", "1,2;3,4", "-k", "1", "--bias", "inf"], "--bias"),
        (["pool", "-i", "1,2;3,4", "--size", "2", "--padding", "2"], "--padding"),
        (["pool", "-i", "1,2;3,4", "--size", "3"], "--size"),
        (["pool", "-i", "1,2;3,4", "--op", "min"], "--op"),
        (["design", "sobel-x", "--size", "5"], "--size"),
        (["explain", "-k", "1,2;;3,4"], "--kernel"),
    ],
)
def test_cli_bad_input_exit_2_names_the_option(cli, args, option):
    result = cli("filter", *args, "--json")
    assert result.exit_code == 2, result.stdout
    assert result.json()["error"]["option"] == option


def test_cli_help_has_examples(cli):
    for command in ("apply", "pool", "design", "explain"):
        result = cli("filter", command, "--help")
        assert result.exit_code == 0
        assert "Example: dlsolve filter " + command in result.stdout


OPTIONS = {
    "apply": {
        "--image": "1,2;3,4",
        "--kernel": "1,0;0,1",
        "--stride": "1",
        "--padding": "0",
        "--mode": "xcorr",
        "--cell": "0,0",
        "--bias": "1",
    },
    "pool": {"--image": "1,2;3,4", "--size": "2", "--stride": "1", "--padding": "0", "--op": "max"},
    "explain": {"--kernel": "1,0;0,-1"},
    "design": {"WHAT": "box-blur", "--size": "3", "--sigma": "1"},
}
FIELDS = [(command, option) for command, options in OPTIONS.items() for option in options]


@given(st.sampled_from(FIELDS), st.one_of(st.text(max_size=30), st.text(alphabet="0123456789e.-+,;/x*: ", max_size=24)))
def test_fuzz_any_text_never_crashes(field, text):
    command, option = field
    values = dict(OPTIONS[command])
    if command == "design" and option != "--size":
        values.pop("--size")
    values[option] = text
    args = ["filter", command, *(f"{name}={value}" for name, value in values.items() if name != "WHAT"), "--json"]
    if "WHAT" in values:
        args += ["--", values["WHAT"]]
    from tests.conftest import run_cli

    result = run_cli(*args)
    assert result.exit_code in (0, 1, 2), result.stdout
    json.loads(result.stdout)
