"""Tests of the sequence models: ``rnn`` cells by hand and the sequence layers of ``conv-shape --net``.

The goldens (tests/data/sequence_goldens.json) were made by tests/data/make_sequence_goldens.py
running real PyTorch in float64; CI compares against the JSON without torch.
"""

from __future__ import annotations

import json
import math
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dlsolve.errors import BadInput, InvalidProblem
from dlsolve.fmt import json_number as fmt_json
from dlsolve.parsing import parse_layers, parse_matrix, parse_vector
from dlsolve.solvers import linalg_exact as la
from dlsolve.solvers.layers import network_shape
from dlsolve.solvers.rnn import GATES, STEP_KINDS, rnn

GOLDENS = json.loads((Path(__file__).parent / "data" / "sequence_goldens.json").read_text(encoding="utf-8"))


def solve_cell(case: dict[str, Any], **extra: Any):
    """Our answer for one golden cell (the same text torch was given)."""

    def vector(name: str):
        return parse_vector(case[name], f"--{name}") if case[name] else None

    return rnn(
        case["cell"],
        parse_matrix(case["x"], "--x"),
        parse_matrix(case["w_ih"], "--w-ih"),
        parse_matrix(case["w_hh"], "--w-hh"),
        b_ih=vector("b_ih"),
        b_hh=vector("b_hh"),
        h0=vector("h0"),
        c0=vector("c0"),
        nonlinearity=case["nonlinearity"],
        **extra,
    )


def assert_close(ours: list[list[float]], theirs: list[list[float]]) -> None:
    assert len(ours) == len(theirs)
    for row, expected in zip(ours, theirs, strict=True):
        assert row == pytest.approx(expected, rel=1e-9, abs=1e-12)


# --------------------------------------------------------------------------- rnn: PyTorch goldens


def test_cell_goldens_cover_the_issue():
    cells = GOLDENS["cells"]
    assert len(cells) >= 150
    kinds = {(c["cell"], c["nonlinearity"]) for c in cells}
    assert kinds == {("rnn", "tanh"), ("rnn", "relu"), ("rnn", "none"), ("lstm", None), ("gru", None)}
    assert any(c["b_ih"] is None and c["b_hh"] is None for c in cells)
    assert any(len(c["x"].split(";")) >= 4 for c in cells)


def test_cell_goldens():
    """Every golden cell: h_t (and c_t) at every step equal torch's float64 values."""
    for case in GOLDENS["cells"]:
        answer = solve_cell(case).answer
        assert_close(answer["h"], case["h"])
        if case["cell"] == "lstm":
            assert_close(answer["c"], case["c"])


def test_exact_where_the_nonlinearity_allows():
    """none and relu cells with exact inputs stay exact: h_exact is there and equals the floats."""
    for case in GOLDENS["cells"]:
        if case["nonlinearity"] in ("none", "relu"):
            answer = solve_cell(case).answer
            exact = [[float(Fraction(v)) for v in row] for row in answer["h_exact"]]
            assert_close(exact, case["h"])


def test_working_is_built_from_declared_kinds_and_full_adds_every_step():
    case = next(c for c in GOLDENS["cells"] if c["cell"] == "lstm" and len(c["x"].split(";")) >= 3)
    concise = solve_cell(case)
    assert not concise.working_built  # -q and answer checking never build it
    kinds = [step.kind for step in concise.steps]
    assert set(kinds) <= set(STEP_KINDS)
    assert kinds == ["rnn.equations", "rnn.first-step", "rnn.unroll"]  # the Answer box lists every h_t
    table = next(step for step in concise.steps if step.kind == "rnn.unroll").blocks[0]
    assert table.columns[2:] == ["i_t", "f_t", "g_t", "o_t", "c_t", "h_t"]  # the gates' values
    assert len(table.rows) == len(case["h"])
    full = solve_cell(case, full=True)
    full_table = next(step for step in full.steps if step.kind == "rnn.unroll").blocks[0]
    assert full_table.columns[2:] == ["i: pre → σ", "f: pre → σ", "g: pre → tanh", "o: pre → σ", "c_t", "h_t"]
    assert all("→" in cell for row in full_table.rows for cell in row[2:6])
    assert [step.kind for step in full.steps].count("rnn.step") == len(case["h"]) - 1
    assert [step.kind for step in full.steps][-1] == "rnn.result"  # the matrix H, --full only
    assert full.steps[-1].text.splitlines()[1].startswith("  [ ")  # its rows as a matrix, not bare numbers


# --------------------------------------------------------------------------- rnn: hand-checked cases


def M(text: str, option: str = "--x"):
    return parse_matrix(text, option)


def test_linear_rnn_exam_question():
    """h_t = x_t + h_{t-1}/2 from 0: 1, 1/2 + 2 = 5/2, 5/4 - 1 = 1/4 (exact)."""
    solution = rnn("rnn", M("1;2;-1"), M("1"), M("0.5"), nonlinearity="none")
    assert solution.answer["h_exact"] == [["1"], ["2.5"], ["0.25"]]
    assert solution.answer["h"] == [[1], [2.5], [0.25]]
    assert "no such option" in next(s for s in solution.steps if s.kind == "rnn.equations").text


def test_relu_rnn_exact_fractions():
    solution = rnn("rnn", M("1,0;0,1"), M("1/3,0;0,-1"), M("1,1;0,1"), nonlinearity="relu", b_hh=[1, 1])
    # h1 = relu([1/3, 0] + [1, 1]) = [4/3, 1]; h2 = relu([0, -1] + [4/3 + 1, 1] + [1, 1]) = [10/3, 1]
    assert solution.answer["h_exact"] == [["4/3", "1"], ["10/3", "1"]]


def test_sigmoid_of_zero_stays_exact_and_tanh_is_symbolic():
    """LSTM with zero weights: every gate is σ(0) = 1/2, g = tanh(0) = 0, so c = c0/2 and h = tanh(c)/2."""
    zeros4 = M("0;0;0;0")
    solution = rnn("lstm", M("5"), zeros4, zeros4, c0=[Fraction(2)])
    assert solution.answer["c"] == [[1]]
    first = next(step for step in solution.steps if step.kind == "rnn.first-step").text
    assert "i_1 = σ(W_ii x_1 + W_hi h_0) = σ(0 + 0) = σ(0) = 0.5" in first  # H = 1: numbers, not [0.5]
    assert "h_1 = o_1 ⊙ tanh(c_1) = 0.5·tanh(1) ≈ 0.380797" in first  # substituted, then the decimal
    assert solution.answer["h"][0][0] == pytest.approx(0.5 * 0.7615941559557649)


def test_answer_lists_every_hidden_state_with_decimals_beside_exact_values():
    """The question asks for h_1..h_T (and c_t): the Answer box has them all, exact ones with decimals."""
    relu = rnn("rnn", M("1,0;0,1"), M("1/3,0;0,-1"), M("1,1;0,1"), nonlinearity="relu", b_hh=[1, 1])
    assert relu.summary == "h_1 = [4/3, 1] ≈ [1.33333, 1]\nh_2 = [10/3, 1] ≈ [3.33333, 1]"  # a line each
    assert relu.answer_latex.startswith(r"h_{1} = \begin{bmatrix} \frac{4}{3} \\ 1 \end{bmatrix} \approx")
    lstm = rnn("lstm", M("5;5"), M("0;0;0;0"), M("0;0;0;0"), c0=[Fraction(2)])
    h_line = f"h_1 = {0.5 * math.tanh(1):.6f}, h_2 = {0.5 * math.tanh(0.5):.6f}"
    assert lstm.summary.splitlines() == [h_line, "c_1 = 1, c_2 = 0.5"]
    assert lstm.answer_latex.startswith(r"\begin{gathered} h_{1} = ")
    first = next(step for step in relu.steps if step.kind == "rnn.first-step").text
    assert "a_1 = W_ih x_1 + W_hh h_0 + b_hh = [1/3, 0] + [1, 1] = [4/3, 1]; h_1 = ReLU([4/3, 1]) = [4/3, 1]" in first


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_cell_equations_typeset_once(cell: str):
    """Every equation line of the text is said by the display (tanh spelled as the text spells it), so
    a typeset key shows the display alone, not two lines of text beside part of it."""
    from dlsolve.render import board

    solution = rnn(cell, M("1"), M(";".join(["1"] * len(GATES[cell]))), M(";".join(["0"] * len(GATES[cell]))))
    step = next(step for step in solution.steps if step.kind == "rnn.equations")
    equations = [line for line in step.text.splitlines() if line.split(" = ")[0].endswith("_t")]
    assert len(equations) == {"rnn": 1, "lstm": 6, "gru": 4}[cell]
    assert [board.uncovered(line, step.latex) for line in equations] == [""] * len(equations)
    # the worked step t = 1 is one aligned display too, not lines of prose beside displays
    first = next(step for step in solution.steps if step.kind == "rnn.first-step")
    assert first.latex.startswith(r"\begin{aligned} x_{1} &= 1,\quad h_{0} = 0")
    assert [board.uncovered(line, first.latex) for line in first.text.splitlines()] == [""] * len(
        first.text.splitlines()
    )


def test_long_sequences_answer_with_the_matrix_h():
    """Past a line's worth of entries the Answer box typesets H = [h_1; …; h_T], one row per step."""
    long = rnn("rnn", M("1;2;3;4;5;6;7;8;9"), M("1"), M("1/2"), nonlinearity="none")
    assert long.answer_latex.startswith(r"H = [h_1; \dots; h_{9}] = \begin{bmatrix} 1 \\ 2.5 \\ ")
    short = rnn("rnn", M("1;2;-1"), M("1"), M("1/2"), nonlinearity="none")
    assert short.answer_latex == r"h_{1} = 1,\quad h_{2} = 2.5,\quad h_{3} = 0.25"
    gru = rnn("gru", M("1;2"), M("1;0;2", "--w-ih"), M("0;0;1", "--w-hh"), b_hh=[0, 0, 1], h0=[Fraction(1, 2)])
    first = next(step for step in gru.steps if step.kind == "rnn.first-step").latex
    assert r"n_{1} &= \operatorname{tanh}(W_{in} x_{1} + r_{1} \odot (W_{hn} h_{0} + b_{hn})) \\ &= " in first


def test_gru_reset_gate_inside_the_candidate_hidden_term():
    """n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn)), not tanh(W_in x + W_hn (r ⊙ h) + ...)."""
    # H = 1, zero input weights: r = z = σ(0) = 1/2 at h0 = 0; n = tanh(r·b_hn) = tanh(1/2·2) = tanh(1)
    solution = rnn("gru", M("0"), M("0;0;0", "--w-ih"), M("0;0;0", "--w-hh"), b_hh=[0, 0, 2])
    gates = solution.answer["gates"][0]
    assert gates["n"]["pre"] == [1]
    assert solution.answer["h"][0][0] == pytest.approx(0.5 * 0.7615941559557649)


@pytest.mark.parametrize(
    ("kwargs", "option", "message"),
    [
        ({"cell": "lstm", "w_ih": "1,0;0,1", "w_hh": "0;0;0;0"}, "--w-ih", "4H x D_in: expected 4 x 2"),
        ({"cell": "lstm", "w_ih": "1,0", "w_hh": "0,0;0,0"}, "--w-hh", "expected 8 x 2"),
        ({"cell": "gru", "w_ih": "1,0;0,1", "w_hh": "1;1;1"}, "--w-ih", "3H x D_in: expected 3 x 2"),
        ({"cell": "rnn", "w_ih": "1,0", "w_hh": "1", "b_ih": [1, 2]}, "--b-ih", "expected bias_ih"),
        ({"cell": "rnn", "w_ih": "1,0", "w_hh": "1", "h0": [1, 2]}, "--h0", "h0 of H = 1"),
        ({"cell": "gru", "w_ih": "1,0;0,1;1,1", "w_hh": "1;1;1", "c0": [0]}, "--c0", "lstm only"),
        ({"cell": "lstm", "w_ih": "1,0;0,1;1,1;1,1", "w_hh": "1;1;1;1", "nonlinearity": "relu"}, "--nonlinearity", ""),
        ({"cell": "elman", "w_ih": "1", "w_hh": "1"}, "--cell", "rnn, lstm, gru"),
    ],
)
def test_bad_input_names_the_option_and_the_expected_shape(kwargs: dict[str, Any], option: str, message: str):
    args = dict(kwargs)
    cell, w_ih, w_hh = args.pop("cell"), M(args.pop("w_ih"), "--w-ih"), M(args.pop("w_hh"), "--w-hh")
    with pytest.raises(BadInput) as error:
        rnn(cell, M("1,0;0,1"), w_ih, w_hh, **args)
    assert error.value.option == option
    assert message in error.value.message


# --------------------------------------------------------------------------- conv-shape --net: PyTorch goldens


def check_layer_against_torch(case: dict[str, Any]) -> None:
    """One sequence layer: output shape, sum(p.numel()) and hidden-state note as torch, or both refuse."""
    calls = parse_layers(case["layer"])
    if case["error"] is not None:
        with pytest.raises(InvalidProblem) as refused:
            network_shape(case["input"], calls)
        # in eval mode torch's fused encoder path words a width mismatch differently; same refusal
        if not case["error"].startswith("passed-in embed_dim"):
            assert case["error"][:30] in str(refused.value), (case, str(refused.value))
        return
    answer = network_shape(case["input"], calls).answer
    assert answer["shape"] == case["shape"], case
    assert answer["params"] == case["params"], case
    if case["hidden"]:
        note = answer["layers"][0]["note"]
        for shape in case["hidden"]:
            assert str(shape) in note, (case, note)


def test_layer_goldens_cover_the_issue():
    layers = GOLDENS["layers"]
    assert len(layers) >= 100 and len(GOLDENS["networks"]) >= 10
    names = {case["layer"].split("(")[0] for case in layers}
    expected = {"RNN", "LSTM", "GRU", "Embedding", "EmbeddingBag", "MultiheadAttention", "TransformerEncoderLayer"}
    assert names >= expected | {"TransformerDecoderLayer", "TransformerEncoder", "Transformer"}
    assert any("proj_size argument is only supported for LSTM" in (case["error"] or "") for case in layers)


def test_layer_goldens():
    for case in GOLDENS["layers"]:
        check_layer_against_torch(case)


@pytest.mark.parametrize("name", sorted(GOLDENS["networks"]))
def test_sequence_network_goldens(name: str):
    case = GOLDENS["networks"][name]
    calls = parse_layers(case["net"])
    if case["error"] is not None:
        with pytest.raises(InvalidProblem) as refused:
            network_shape(case["input"], calls)
        assert case["error"] in str(refused.value)
        return
    answer = network_shape(case["input"], calls).answer
    assert [layer["shape"] for layer in answer["layers"]] == case["shapes"]
    assert answer["params"] == case["params"]


def test_recurrent_layer_working_says_what_the_trace_follows():
    solution = network_shape(
        [8, 20, 32], parse_layers("LSTM(32, 64, num_layers=2, batch_first=True, bidirectional=True)")
    )
    text = solution.steps[1].text
    assert "follows the output tensor" in text
    assert "4·64·(32 + 64) + 2·4·64 = 25088" in text  # 4H(D_in + H) + 8H per layer and direction
    assert solution.answer["layers"][0]["note"] == "h_n [4, 8, 64], c_n [4, 8, 64]"
    assert "h_n [4, 8, 64]" in solution.steps[0].blocks[0].rows[1][1]


@pytest.mark.parametrize(
    ("text", "error", "message"),
    [
        ("TransformerEncoder(Linear(4, 4), 2)", BadInput, "TransformerEncoderLayer(...)"),
        ("Transformer(custom_encoder=1)", BadInput, "custom_encoder"),
        ("LSTM(32, 64, proj_size=64)", InvalidProblem, "proj_size has to be smaller than hidden_size"),
        ("TransformerEncoder(TransformerEncoderLayer(32, 4), 0)", InvalidProblem, "index 0 is out of range"),
    ],
)
def test_sequence_layer_errors(text: str, error: type[Exception], message: str):
    with pytest.raises(error) as raised:
        network_shape([5, 2, 32], parse_layers(text))
    assert message in str(raised.value)


@pytest.mark.torch
def test_live_torch_random_sequence_layers():
    pytest.importorskip("torch")
    import random
    import sys
    import warnings

    sys.path.insert(0, str(Path(__file__).parent / "data"))
    import make_sequence_goldens as make

    rng = random.Random(7)
    for _ in range(12):  # the committed goldens hold 160; this checks the generator still agrees
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # torch's advice on nested tensors and dropout
            case = make.run_layer(*make.random_layer(rng))
        check_layer_against_torch(case)


# --------------------------------------------------------------------------- rnn: properties


@st.composite
def linear_rnns(draw) -> tuple[list[list[int]], list[list[int]], list[list[int]]]:
    """Random integer x (T x D), W_ih (H x D), W_hh (H x H)."""
    steps, d_in, hidden = draw(st.integers(1, 4)), draw(st.integers(1, 3)), draw(st.integers(1, 3))

    def matrix(rows: int, cols: int) -> list[list[int]]:
        entries = st.lists(st.integers(-3, 3), min_size=cols, max_size=cols)
        return draw(st.lists(entries, min_size=rows, max_size=rows))

    return matrix(steps, d_in), matrix(hidden, d_in), matrix(hidden, hidden)


def as_text(rows: list[list[int]]) -> str:
    return ";".join(",".join(map(str, row)) for row in rows)


@given(linear_rnns())
def test_linear_rnn_equals_the_closed_form(data):
    """From h_0 = 0 without biases, h_T = Σ_t W_hh^(T−t) W_ih x_t, exactly."""
    x, w_ih, w_hh = data
    answer = rnn("rnn", M(as_text(x)), M(as_text(w_ih)), M(as_text(w_hh)), nonlinearity="none").answer
    steps, hidden = len(x), len(w_hh)
    expected = [Fraction(0)] * hidden
    for t, row in enumerate(x, 1):
        term = la.matvec(la.to_fractions(w_ih), la.to_fractions([row])[0])
        for _ in range(steps - t):
            term = la.matvec(la.to_fractions(w_hh), term)
        expected = [a + b for a, b in zip(expected, term, strict=True)]
    assert [Fraction(v) for v in answer["h_exact"][-1]] == expected


@given(st.integers(-6, 6), st.integers(1, 5))
def test_lstm_with_zero_weights_halves_the_cell_state(c0: int, steps: int):
    """W = 0, b = 0: i = f = o = σ(0) = 1/2 and g = tanh(0) = 0, so c_t = c_0 / 2^t exactly."""
    zeros = M(";".join(["0"] * 4))
    answer = rnn("lstm", M(";".join(["1"] * steps)), zeros, zeros, c0=[Fraction(c0)]).answer
    assert answer["c"] == [[fmt_json(Fraction(c0, 2**t))] for t in range(1, steps + 1)]


# --------------------------------------------------------------------------- CLI


def test_cli_rnn_answer_and_quiet(cli):
    args = ["rnn", "--cell", "rnn", "--nonlinearity", "none", "--x", "1;2;-1", "--w-ih", "1", "--w-hh", "0.5"]
    result = cli(*args, "--json")
    assert result.exit_code == 0, result.stderr
    data = result.json()
    assert data["answer"]["h"] == [[1], [2.5], [0.25]]
    assert {step["kind"] for step in data["steps"]} <= set(STEP_KINDS)
    quiet = cli(*args, "-q")
    assert quiet.stdout.strip() == "h: 1; 2.5; 0.25"


def test_cli_rnn_wrong_shape_is_one_line_exit_2(cli):
    result = cli("rnn", "--cell", "lstm", "--x", "1,0", "--w-ih", "1,0;0,1", "--w-hh", "0;0;0;0")
    assert result.exit_code == 2
    assert "--w-ih" in result.stderr and "4H x D_in: expected 4 x 2" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr


def test_cli_rnn_every_output_mode(cli):
    args = ["rnn", "--cell", "gru", "--x", "1;2", "--w-ih", "1;0;2", "--w-hh", "0;0;1", "--b-hh", "0,0,1"]
    for mode in ("--latex", "--markdown", "--full"):
        result = cli(*args, mode)
        assert result.exit_code == 0, (mode, result.stderr)
        assert "0.747863" in result.stdout  # h_2


def test_pre_activation_beyond_float_range_saturates():
    """An exact pre-activation of 1e616 (past float range) is tanh = 1 and σ = 1, not an overflow."""
    huge = M("1e308")
    assert rnn("rnn", huge, huge, M("0")).answer["h"] == [[1.0]]
    lstm = rnn("lstm", M("-1e308"), M("-1e308;1;1;1"), M("1e308;1;1;1")).answer
    assert lstm["gates"][0]["i"]["value"] == [1.0]
