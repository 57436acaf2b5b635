"""conv-shape, the network table and filter apply as they show in the keys: each formula once.

The midterm's parts 1a-i (conv-shape), 1e/1f (``--net``), 1c/1g (filter apply) rendered by every
renderer; steps are found by kind. A line said twice in a key usually means a text clause the
display maths does not cover (see dlsolve.render.board), so these count what the keys show.
"""

from __future__ import annotations

import io
import re
from fractions import Fraction
from typing import Any

import pytest

from dlsolve.parsing import parse_layers
from dlsolve.render import board, render
from dlsolve.solution import Solution, Step
from dlsolve.solvers.conv import conv_shape
from dlsolve.solvers.filters import apply_filter
from dlsolve.solvers.layers import network_shape
from dlsolve.values import Matrix


def matrix(rows: list[list[int]]) -> list[Matrix]:
    return [Matrix(rows=tuple(tuple(Fraction(v) for v in row) for row in rows))]


TYPESET = ("latex", "markdown", "html")


def key(solution: Solution, mode: str) -> str:
    stream = io.StringIO()
    render(solution, mode, stream)
    return stream.getvalue()


def step(solution: Solution, kind: str) -> Step:
    return next(s for s in solution.steps if s.kind == kind)


def steps(solution: Solution, kind: str) -> list[Step]:
    return [s for s in solution.steps if s.kind == kind]


def shown(one: Step) -> tuple[list[str], list[str]]:
    """What a typeset key shows of a step: its prose lines (plain) and its display maths."""
    prose, displays = [], []
    for kind, item in board.items(one):
        if kind == "prose":
            prose += [board.plain(parts) for parts in item]  # type: ignore[union-attr]
        elif kind == "display":
            displays.append(item)
    return prose, displays  # type: ignore[return-value]


@pytest.fixture(scope="module")
def midterm(solved_problems: dict[str, Any]) -> dict[str, Solution]:
    return {pid: solved_problems[pid].outcome.solution for pid in ("1a-i", "1a-ii", "1c", "1e", "1f", "1g")}


# --- conv-shape -----------------------------------------------------------------------------------


@pytest.mark.parametrize("pid", ["1a-i", "1a-ii"])
def test_output_shape_is_one_line_in_every_renderer(midterm: dict[str, Solution], pid: str) -> None:
    solution = midterm[pid]
    shape = step(solution, "conv.output-shape")
    assert shape.text == shape.latex and shape.text.startswith("[N, C, H, W] = ")
    assert shown(shape) == ([], [shape.latex])  # the display alone, no prose repeating it
    for mode in ("latex", "markdown", "rich"):  # (HTML writes the maths as MathML)
        assert key(solution, mode).count("[N, C, H, W]") == 1, mode
    assert all("batch, channels" not in key(solution, mode) for mode in (*TYPESET, "rich"))


def test_keras_output_shape_names_channels_last() -> None:
    solution = conv_shape([28], [3], filters=8, batch=2, framework="keras")
    assert step(solution, "conv.output-shape").text == "[N, H, W, C] = [2, 26, 26, 8]"


def test_params_step_says_the_formula_once() -> None:
    solution = conv_shape([32], [3], padding=[1], channels=1, filters=16)
    params = step(solution, "conv.params")
    assert params.text == "params = C_out·C_in·k_h·k_w + C_out (bias) = 16·1·3·3 + 16 = 160"
    assert shown(params) == ([], [params.latex])
    grouped = step(conv_shape([8], [3], channels=4, filters=8, groups=2, bias=False), "conv.params")
    assert grouped.text == "params = C_out·(C_in/groups)·k_h·k_w = 8·(4/2)·3·3 = 144 (no bias)"
    assert shown(grouped) == ([], [grouped.latex])
    macs = step(solution, "conv.macs")
    prose, displays = shown(macs)
    assert len(displays) == 1 and not any("∏" in line or "163" in line for line in prose)


# --- the network table ------------------------------------------------------------------------------


def test_network_layer_steps_show_each_formula_once(midterm: dict[str, Solution]) -> None:
    solution = midterm["1e"]
    layers = steps(solution, "conv.layer")
    assert [s.title for s in layers] == [
        "Layer 1: Conv2d(1, 16, 3, padding=1)",
        "Layer 4: ConvTranspose2d(128, 8, 2, stride=2)",
    ]
    for layer in layers:
        prose, displays = shown(layer)
        assert prose == [] and len(displays) == 1  # output size, params, RF/jump, shape and MACs: one display
        assert displays[0].count(r"\text{params}") == 1 and displays[0].count("H_{out}") == 1
    transposed = layers[1]
    assert "H_out = W_out = (in − 1)·s − 2p + k = (8 − 1)·2 − 2·0 + 2 = 16" in transposed.text
    for mode in TYPESET:
        text = key(solution, mode)
        assert text.count(r"(in - 1)\cdot s - 2p + k") == 1 or mode == "html", mode
        assert text.count("params = ") + text.count(r"\text{params} = ") <= 3, mode  # 2 layers + totals
    html = key(solution, "html")
    assert html.count("output_padding") == 0  # d = 1 and no output_padding: the short form
    assert key(solution, "latex").count("receptive field") == 1  # the transposed layer ends it


def test_network_totals_say_each_total_once(midterm: dict[str, Solution]) -> None:
    solution = midterm["1e"]
    totals = step(solution, "conv.totals")
    prose, displays = shown(totals)
    assert len(displays) == 1 and len(prose) == 1
    assert "46513" not in prose[0] and "49,530,880" not in prose[0] and "torchinfo" in prose[0]
    assert displays[0].count("46513") == 1 and displays[0].count("49{,}530{,}880") == 1
    latex = key(solution, "latex")
    assert latex.count("= 46513") == 1 and "total MACs" not in latex
    assert key(solution, "rich").count("99,061,760") == 1  # FLOPs
    # every layer worked with --full (today's detail), and the one-layer net (1f) has no Totals step
    net = "; ".join(midterm["1e"].inputs["net"])
    assert len(steps(network_shape([10, 1, 32, 32], parse_layers(net), full=True), "conv.layer")) == 6
    assert steps(midterm["1f"], "conv.totals") == []
    assert shown(step(midterm["1f"], "conv.layer"))[0] == []


# --- filter apply -----------------------------------------------------------------------------------


@pytest.mark.parametrize(("pid", "value"), [("1c", "3"), ("1g", "1")])
def test_worked_cell_is_one_line(midterm: dict[str, Solution], pid: str, value: str) -> None:
    solution = midterm[pid]
    windows = step(solution, "filter.windows")
    cell = windows.substeps[0]
    assert cell.kind == "filter.window"
    line = cell.text.split("\n")[-1]
    assert line.startswith("y[0,0] = ") and line.endswith(f"= {value}") and cell.text.count("y[0,0]") == 1
    prose, displays = shown(cell)
    assert displays == [cell.latex] and cell.latex.startswith("y_{0,0} = ") and prose == [cell.text.split("\n")[0]]
    # the cell formula once (the display), no stride line when the stride is 1
    prose, displays = shown(windows)
    assert len(displays) == 1 and not any("Σ" in line or "stride" in line for line in prose)
    for mode in (*TYPESET, "rich"):
        text = key(solution, mode)
        assert "starts at padded row" not in text and "y[0,0] = " + value not in text.replace("y_{0,0}", ""), mode
    assert key(solution, "latex").count(r"\sum_{a}\sum_{b}") == 1


def test_the_formula_names_the_stride_dilation_padding_and_bias() -> None:
    image = matrix([[i * 5 + j for j in range(5)] for i in range(5)])
    strided = step(apply_filter(image, matrix([[1, 0], [0, 1]]), stride=(2, 2), padding=(1, 1)), "filter.windows")
    assert "y[i,j] = Σ_a Σ_b x_pad[2i + a, 2j + b]·K[a,b]" in strided.text
    assert r"x^{pad}_{2i + a,\, 2j + b}" in strided.latex
    dilated = step(apply_filter(image, matrix([[1, 0], [0, 1]]), dilation=(2, 2), mode="conv"), "filter.windows")
    assert "x[i + 2a, j + 2b]·K'[a,b]" in dilated.text
    assert "taps 2 apart" in dilated.substeps[0].text
    biased = apply_filter(image, matrix([[1]]), bias=2)
    assert "bias 2 (one number per filter, added to every output cell)" in step(biased, "filter.inputs").text
    assert step(biased, "filter.windows").text.count("bias") == 2  # "+ bias, bias = 2"


@pytest.mark.parametrize("pid", ["1c", "1g"])
def test_image_and_output_steps_read_well(midterm: dict[str, Solution], pid: str) -> None:
    solution = midterm[pid]
    inputs = step(solution, "filter.inputs").text
    assert "1 channel of" in inputs and "channel(s)" not in inputs
    assert "cross-correlation (PyTorch's conv2d): the kernel is not flipped" in inputs
    assert "what a conv layer" not in inputs
    output = step(solution, "filter.output")
    assert re.match(r"\dx\d output: y = x ⋆ K", output.text)
    assert "table" not in output.text and "below" not in output.text and "Answer" not in output.text
