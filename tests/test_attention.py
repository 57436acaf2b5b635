"""Tests of `dlsolve attention` and `dlsolve attention shapes`.

Oracles: PyTorch goldens (tests/data/make_attention_goldens.py -> attention_goldens.json), a live
PyTorch check, hand computations, a brute-force argmax, and NumPy references; Hypothesis properties.
"""

from __future__ import annotations

import json
import math
import random
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

GOLDENS = json.loads((Path(__file__).parent / "data" / "attention_goldens.json").read_text(encoding="utf-8"))
#: Every nn.MultiheadAttention golden: without biases, with projection biases, cross-attention (keys and
#: values from one sequence, or from two).
MHA_GOLDENS = GOLDENS["mha"] + GOLDENS["mha_bias"] + GOLDENS["mha_cross"] + GOLDENS["mha_cross_values"]


def cli_args(args: dict[str, str | bool]) -> list[str]:
    """Problem-style args -> command-line arguments."""
    argv = []
    for name, value in args.items():
        if value is True:
            argv.append(f"--{name}")
        else:
            argv += [f"--{name}", str(value)]
    return argv


def assert_close_matrix(actual, expected, tol: float = 1e-12) -> None:
    assert len(actual) == len(expected)
    for row_a, row_e in zip(actual, expected, strict=True):
        assert len(row_a) == len(row_e)
        for a, e in zip(row_a, row_e, strict=True):
            if e is None:
                assert a is None
            else:
                assert a is not None and math.isclose(a, e, rel_tol=tol, abs_tol=tol), (a, e)


def solve(cli, *argv: str) -> dict:
    result = cli("attention", *argv, "--json")
    assert result.exit_code == 0, result.stdout + result.stderr
    return result.json()


# --------------------------------------------------------------------------- PyTorch goldens


@pytest.mark.parametrize("case", GOLDENS["sdpa"], ids=lambda c: c["kind"])
def test_sdpa_goldens(cli, case):
    answer = solve(cli, *cli_args(case["args"]))["answer"]
    assert_close_matrix(answer["weights"], case["weights"])
    assert_close_matrix(answer["output"], case["output"])


def test_goldens_cover_fully_masked_rows():
    """At least one golden has a fully masked row (F.scaled_dot_product_attention gives 0 there)."""
    rows = [row for case in GOLDENS["sdpa"] for row in case["weights"]]
    assert any(all(w == 0 for w in row) for row in rows)


def test_goldens_cover_multihead_nan_rows():
    """nn.MultiheadAttention (need_weights=True) gives NaN (null) rows when every key is masked."""
    rows = [row for case in GOLDENS["mha"] for row in case["weights"]]
    assert any(all(w is None for w in row) for row in rows)


@pytest.mark.parametrize("case", MHA_GOLDENS, ids=lambda c: c["kind"])
def test_multihead_goldens(cli, case):
    answer = solve(cli, *cli_args(case["args"]))["answer"]
    assert_close_matrix(answer["weights"], case["weights"])
    assert_close_matrix(answer["output"], case["output"], tol=1e-11)


def evaluate_exact(rows: list[list[str]]) -> list[list[float | None]]:
    """dlsolve's exact strings as floats (sympify on our own output, never on user text); NaN -> None."""
    import sympy

    return [[None if text == "NaN" else float(sympy.sympify(text).evalf(30)) for text in row] for row in rows]


@pytest.mark.parametrize(
    "case",
    # SymPy on 70 multi-head cases takes most of a minute: CI checks every fifth self-attention case of 1-2 heads.
    [
        pytest.param(
            case,
            marks=[]
            if index % 5 == 0 and not case["kind"].startswith(("mha-3", "mha-2-cross"))
            else [pytest.mark.slow],
        )
        for index, case in enumerate(MHA_GOLDENS)
    ],
    ids=lambda c: c["kind"],
)
def test_exact_multihead_evaluates_to_the_goldens(cli, case):
    """--exact on every nn.MultiheadAttention golden (1 to 3 heads, Wo, biases): the exact mean weights
    and the exact output (after Wo and bo) are PyTorch's numbers; each head's exact weights are its floats."""
    answer = solve(cli, *cli_args(case["args"]), "--exact")["answer"]
    exact = answer["exact"]
    assert_close_matrix(evaluate_exact(exact["weights"]), case["weights"])
    assert_close_matrix(evaluate_exact(exact["output"]), case["output"], tol=1e-11)
    if answer["heads"] > 1:
        assert exact["scores"] is None
        assert len(exact["head_weights"]) == len(exact["head_scores"]) == len(exact["head_outputs"]) == answer["heads"]
        for exact_head, float_head in zip(exact["head_weights"], answer["head_weights"], strict=True):
            assert_close_matrix(evaluate_exact(exact_head), float_head)
    else:
        assert "head_weights" not in exact


def test_exact_two_heads_by_hand(cli):
    """X = Wq = Wk = Wv = I (2x2), 2 heads of width 1, scale 1: head 1 scores [[1,0],[0,0]], head 2
    [[0,0],[0,1]]; so head 1 row 1 is e/(1+e), 1/(1+e) and the mean row 1 is e/(2(1+e)) + 1/4, ..."""
    eye = "1,0;0,1"
    data = solve(cli, "--x", eye, "--wq", eye, "--wk", eye, "--wv", eye, "--heads", "2", "--exact")
    exact = data["answer"]["exact"]
    assert exact["head_scores"] == [[["1", "0"], ["0", "0"]], [["0", "0"], ["0", "1"]]]
    assert exact["head_weights"][0] == [["exp(1)/(1 + exp(1))", "1/(1 + exp(1))"], ["1/2", "1/2"]]
    assert exact["head_weights"][1] == [["1/2", "1/2"], ["1/(1 + exp(1))", "exp(1)/(1 + exp(1))"]]
    assert exact["head_outputs"][0] == [["exp(1)/(1 + exp(1))"], ["1/2"]]
    high, low = math.e / (2 * (1 + math.e)) + 1 / 4, 1 / (2 * (1 + math.e)) + 1 / 4
    assert_close_matrix(evaluate_exact(exact["weights"]), [[high, low], [low, high]])
    assert exact["output"] == [["exp(1)/(1 + exp(1))", "1/2"], ["1/2", "exp(1)/(1 + exp(1))"]]
    steps = json.dumps(data["steps"])
    assert "Head 2" in steps and "Exact mean weights" in steps


def test_exact_output_includes_the_output_projection(cli):
    """With --wo the exact output is concat(heads) Wo, the same matrix as the float output."""
    data = solve(
        cli, "--x", "1,0;1,1", "--wq", "1,0;0,1", "--wk", "1,0;0,1", "--wv", "1,2;0,1", "--wo", "1,1;0,2", "--exact"
    )
    answer = data["answer"]
    assert_close_matrix(evaluate_exact(answer["exact"]["output"]), answer["output"])


def test_exact_refuses_too_many_heads(cli):
    x = ",".join(["1"] * 5)
    eye = ";".join(",".join("1" if i == j else "0" for j in range(5)) for i in range(5))
    result = cli("attention", "--x", x, "--wq", eye, "--wk", eye, "--wv", eye, "--heads", "5", "--exact")
    assert result.exit_code == 2
    assert "--exact" in result.stderr and "5 heads" in result.stderr


def test_bias_goldens_cover_every_bias_and_several_heads():
    kinds = [case["kind"] for case in GOLDENS["mha_bias"]]
    for bias in ("bq", "bk", "bv", "bo"):
        assert any(bias in kind.split("-") for kind in kinds)
    assert {kind.split("-")[1] for kind in kinds} == {"1", "2", "3"}


def test_biases_by_hand(cli):
    """X = [[1],[0]], Wq = Wk = Wv = [[1]], scale 1: without biases Q = K = V = [[1],[0]]; bq = 1 makes
    Q = [[2],[1]], scores [[2,0],[1,0]]; bv = 10 adds 10 to every output; bo = -1 with Wo = [[2]]."""
    base = ["--x", "1;0", "--wq", "1", "--wk", "1", "--wv", "1", "--no-scale"]
    answer = solve(cli, *base, "--bq", "1", "--bv", "10", "--wo", "2", "--bo", "-1", "--exact")["answer"]
    assert answer["q"] == [[2], [1]] and answer["v"] == [[11], [10]]
    assert answer["exact"]["scores"] == [["2", "0"], ["1", "0"]]
    assert answer["exact"]["weights"][1] == ["exp(1)/(1 + exp(1))", "1/(1 + exp(1))"]
    e = math.e
    assert_close_matrix(answer["output"], [[2 * (10 + e**2 / (1 + e**2)) - 1], [2 * (10 + e / (1 + e)) - 1]])
    assert_close_matrix(evaluate_exact(answer["exact"]["output"]), answer["output"])


@pytest.mark.parametrize(
    ("argv", "option", "words"),
    [
        (["--bq", "1,2,3"], "--bq", ("3 entries", "Wq is 2x2")),
        (["--bk", "1"], "--bk", ("1 entries", "Wk is 2x2")),
        (["--bv", "1,2,3,4"], "--bv", ("4 entries", "Wv is 2x2")),
        (["--wo", "1;1", "--bo", "1,2"], "--bo", ("2 entries", "Wo is 2x1")),
        (["--bo", "1"], "--bo", ("needs --wo",)),
        (["--bq", "1,2;3,4"], "--bq", ("vector",)),
    ],
)
def test_bad_biases_are_exit_2_naming_the_option(cli, argv, option, words):
    eye = "1,0;0,1"
    result = cli("attention", "--x", eye, "--wq", eye, "--wk", eye, "--wv", eye, *argv)
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1 and option in result.stderr
    assert all(word in result.stderr for word in words), result.stderr


def test_bias_without_embeddings_is_exit_2(cli):
    result = cli("attention", "--q", "1", "--k", "1", "--v", "1", "--bq", "1")
    assert result.exit_code == 2
    assert "--bq" in result.stderr and "--x" in result.stderr


def test_cross_goldens_cover_other_widths_and_lengths():
    """Some X_kv are narrower or wider than X (kdim != d_model) and some have S != T keys."""
    shapes = [case["kind"].split("-")[3:5] for case in GOLDENS["mha_cross"]]
    widths = [(query.split("x")[1], key.split("x")[1]) for query, key in shapes]
    lengths = [(query.split("x")[0], key.split("x")[0]) for query, key in shapes]
    assert any(q != k for q, k in widths) and any(q == k for q, k in widths)
    assert any(q != k for q, k in lengths)
    assert any("key-padding" in case["args"] for case in GOLDENS["mha_cross"])
    assert any("mask" in case["args"] for case in GOLDENS["mha_cross"])


def test_cross_attention_by_hand(cli):
    """Queries X Wq = [1; 0], keys = values = X_kv = [1; 2; 0] (d_k = 1, scale 1): query 1 scores
    [1, 2, 0] -> weights e, e^2, 1 over 1 + e + e^2; query 2 scores 0 -> uniform, output 1."""
    data = solve(
        cli,
        "--x",
        "1,0;0,1",
        "--x-kv",
        "1;2;0",
        "--wq",
        "1;0",
        "--wk",
        "1",
        "--wv",
        "1",
        "--key-tokens",
        "x,y,z",
        "--tokens",
        "a,b",
        "--exact",
    )
    answer = data["answer"]
    assert answer["k"] == answer["v"] == [[1], [2], [0]]
    assert answer["exact"]["weights"] == [
        ["exp(1)/(1 + exp(1) + exp(2))", "exp(2)/(1 + exp(1) + exp(2))", "1/(1 + exp(1) + exp(2))"],
        ["1/3", "1/3", "1/3"],
    ]
    e = math.e
    assert_close_matrix(answer["output"], [[(e + 2 * e**2) / (1 + e + e**2)], [1]])
    assert answer["argmax_tokens"] == ["y", "x"]
    assert "X_kv" in json.dumps(data["steps"])


def test_cross_attention_keys_are_not_labelled_with_the_query_tokens(cli):
    """With --x-kv the keys are another sequence: --tokens labels only the queries, even when S = T."""
    eye = "1,0;0,1"
    base = ["--x", eye, "--x-kv", "0,1;1,0", "--wq", eye, "--wk", eye, "--wv", eye, "--tokens", "a,b"]
    data = solve(cli, *base)
    heatmap = next(b for step in data["steps"] for b in step["blocks"] if b["type"] == "heatmap")
    assert heatmap["row_labels"] == ["a", "b"] and heatmap["col_labels"] == ["k1", "k2"]
    labelled = solve(cli, *base, "--key-tokens", "c,d")["answer"]
    assert labelled["argmax_tokens"] == ["d", "c"]


@pytest.mark.parametrize(
    ("argv", "option", "words"),
    [
        (["--x-kv", "1,2,3", "--wk", "1,0;0,1"], "--wk", ("X_kv is 1x3", "Wk is 2x2")),
        (["--x-kv", "1,2,3", "--wk", "1,0;0,1;1,1"], "--wv", ("X_kv is 1x3", "Wv is 2x2")),
        (["--x-kv", "1,2;3,4;5,6", "--mask", "1,1;1,1"], "--mask", ("2x2", "2x3")),
        (["--x-kv", "1,2;3,4;5,6", "--key-padding", "0,1"], "--key-padding", ("2 key-padding flags", "3 keys")),
        (["--x-kv", "1,2;3,4;5,6", "--key-tokens", "a,b"], "--key-tokens", ("2 key labels", "3 keys")),
    ],
)
def test_bad_cross_attention_input_is_exit_2_naming_the_option(cli, argv, option, words):
    eye = "1,0;0,1"
    options = {"--x": eye, "--wq": eye, "--wk": eye, "--wv": eye}
    options.update(dict(zip(argv[::2], argv[1::2], strict=True)))
    result = cli("attention", *[item for pair in options.items() for item in pair])
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1 and option in result.stderr
    assert all(word in result.stderr for word in words), result.stderr


def test_x_kv_needs_the_embedding_path(cli):
    result = cli("attention", "--q", "1", "--k", "1", "--v", "1", "--x-kv", "1")
    assert result.exit_code == 2
    assert "--x-kv" in result.stderr


def test_separate_values_goldens_cover_widths_masks_and_biases():
    """mha(X, X_kv, X_v): some vdim differ from kdim, some from d_model; masks, key padding; some without biases."""
    cases = GOLDENS["mha_cross_values"]
    shapes = [case["kind"].split("-")[3:6] for case in cases]
    assert all(key.split("x")[0] == value.split("x")[0] for _, key, value in shapes)  # S keys = S values
    assert any(key.split("x")[1] != value.split("x")[1] for _, key, value in shapes)
    assert any(query.split("x")[1] != value.split("x")[1] for query, _, value in shapes)
    assert {case["args"]["heads"] for case in cases} == {"1", "2", "3"}
    assert all("x-kv" in case["args"] and "x-v" in case["args"] for case in cases)
    assert any("key-padding" in case["args"] for case in cases)
    assert any("mask" in case["args"] for case in cases)
    assert any(case["kind"].endswith("bias-zero") for case in cases)
    assert any(all(w is None for w in row) for case in cases for row in case["weights"])


def test_separate_values_by_hand(cli):
    """Keys X_kv Wk = [1; 2; 0] (d_k = 1, scale 1), values X_v Wv = [[2,0]; [0,0]; [1,0]] Wv with
    Wv = [[1, -1]]: query 1 weights e, e^2, 1 over 1 + e + e^2, output (2e + 1) / Z times [1, -1];
    query 2 scores 0 -> uniform, output [1, -1]. The steps say where K and V come from."""
    data = solve(
        cli,
        "--x",
        "1,0;0,1",
        "--x-kv",
        "1;2;0",
        "--x-v",
        "2;0;1",
        "--wq",
        "1;0",
        "--wk",
        "1",
        "--wv",
        "1,-1",
        "--exact",
    )
    answer = data["answer"]
    assert answer["k"] == [[1], [2], [0]]
    assert answer["v"] == [[2, -2], [0, 0], [1, -1]]
    e = math.e
    first = (2 * e + 1) / (1 + e + e**2)
    assert_close_matrix(answer["output"], [[first, -first], [1, -1]])
    assert_close_matrix(evaluate_exact(answer["exact"]["output"]), answer["output"])
    projection = data["steps"][0]["text"]
    assert "keys from X_kv (3x1)" in projection and "values from a separate sequence X_v (3x1)" in projection
    assert "K = X_kv W_K, V = X_v W_V" in projection
    assert "values from X_v" in data["inputs"]["from"]


def test_x_v_equal_to_x_kv_is_plain_cross_attention(cli):
    """--x-v with the same rows as --x-kv gives what --x-kv alone gives."""
    base = ["--x", "1,2;0,1", "--x-kv", "1,0;2,1;0,3", "--wq", "1,0;0,1", "--wk", "1,1;0,1", "--wv", "2,0;1,1"]
    alone = solve(cli, *base, "--heads", "2")["answer"]
    both = solve(cli, *base, "--heads", "2", "--x-v", "1,0;2,1;0,3")["answer"]
    assert both["weights"] == alone["weights"] and both["output"] == alone["output"]


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["--x-v", "1,2;3,4"], ("--x-v", "needs --x-kv")),
        (["--x-kv", "1,2;3,4;5,6", "--x-v", "1,2;3,4"], ("--x-v", "X_kv is 3x2", "X_v is 2x2")),
        (["--x-kv", "1,2;3,4", "--x-v", "1,2,3;4,5,6"], ("--wv", "X_v is 2x3", "Wv is 2x2")),
    ],
)
def test_bad_separate_values_are_exit_2(cli, argv, words):
    eye = "1,0;0,1"
    result = cli("attention", "--x", eye, "--wq", eye, "--wk", eye, "--wv", eye, *argv)
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1
    assert all(word in result.stderr for word in words), result.stderr


def test_x_v_needs_x_kv_on_the_direct_path_too(cli):
    result = cli("attention", "--q", "1", "--k", "1", "--v", "1", "--x-v", "1")
    assert result.exit_code == 2
    assert "--x-v" in result.stderr


def test_exact_from_wide_embeddings_says_why(cli):
    """Exact projections are kept up to 16 columns: a 17-wide X is refused with that reason."""
    row, column = ",".join(["1"] * 17), ";".join(["1"] * 17)
    result = cli("attention", "--x", row, "--wq", column, "--wk", column, "--wv", column, "--exact")
    assert result.exit_code == 2
    assert "--exact" in result.stderr and "at most 16 rows and columns" in result.stderr


def test_exact_text_is_sympys_text():
    """The memoising printer writes what str() writes."""
    import sympy as sp

    from dlsolve.solvers.attention import _sympy_text

    a, b = sp.exp(sp.sqrt(2) / 4), sp.exp(-3 * sp.sqrt(2))
    total = 1 + a + b
    for expression in (a / total, (2 * a - b) / total, a / (2 * total) + sp.Rational(1, 6), -sp.oo, sp.nan):
        expected = {"-oo": "-inf", "nan": "NaN"}.get(str(expression), str(expression))
        assert _sympy_text(expression) == expected


@pytest.mark.parametrize("case", GOLDENS["params"], ids=lambda c: f"{c['config']['d_model']}x{c['config']['heads']}")
def test_parameter_count_shapes_and_flops_match_torch(case):
    from dlsolve.solvers.attention_shapes import attention_shapes

    config = dict(case["config"])
    answer = attention_shapes(**config).answer
    assert answer["params"] == case["params"]
    assert answer["output_shape"] == case["output_shape"]
    assert answer["weights_shape"] == case["weights_shape"]
    assert 2 * answer["macs"] == case["flops"]  # FlopCounterMode counts 2 FLOPs per multiply-add


@pytest.mark.parametrize("case", GOLDENS["params"], ids=lambda c: f"{c['config']['d_model']}x{c['config']['heads']}")
def test_parameter_count_without_seq_matches_torch(case):
    """The parameter count does not depend on the sequence: without --seq it is answered alone (issue 14)."""
    from dlsolve.solvers.attention_shapes import attention_shapes

    config = {k: v for k, v in case["config"].items() if k not in ("seq", "seq_kv", "batch")}
    solution = attention_shapes(**config)
    assert solution.answer["params"] == case["params"]
    assert solution.answer["output_shape"] is None and solution.answer["macs"] is None
    assert solution.quiet == f"params {case['params']}"
    assert [step.kind for step in solution.steps] == ["attention-shapes.head-width", "attention-shapes.params"]


def test_shapes_working_says_each_sum_once():
    """Head width, parameters and multiply-adds: the formula by name in the display with its total, the
    terms once (in the table), no text clause repeating the display; products written with ×."""
    from dlsolve.render import board
    from dlsolve.solvers.attention_shapes import attention_shapes

    solution = attention_shapes(batch=1, seq=10, seq_kv=20, d_model=512, heads=8, kdim=256, vdim=128)
    steps = {step.kind: step for step in solution.steps}
    params, macs = steps["attention-shapes.params"], steps["attention-shapes.macs"]
    assert params.text.splitlines()[0] == "params = W_Q + W_K + W_V + in_proj_bias + W_O + out_proj.bias = 722,944"
    assert "262,144 +" not in params.text and "2,621,440 +" not in macs.text  # the terms are the table's rows
    assert params.latex.endswith("= 722{,}944")
    for step in steps.values():
        if step.kind != "attention-shapes.tensors":
            assert board.uncovered(step.text.splitlines()[0], step.latex) == "", step.kind
    how = {row[0]: row[2] for row in steps["attention-shapes.tensors"].blocks[0].rows}
    assert how["K = key W_K"] == "(20 × 256)·(256 × 512)"
    assert [row[1] for row in params.blocks[0].rows][:3] == ["512 × 512", "256 × 512", "128 × 512"]
    assert solution.answer_latex == r"\text{params} = 722{,}944,\quad \text{MACs} = 9{,}379{,}840"
    assert solution.summary.startswith("d_k = d_v = 64 per head; output [1, 10, 512]")  # the head width asked
    assert attention_shapes(d_model=768, heads=12).summary.startswith("d_k = d_v = 64 per head; 2,362,368 parameters")


def test_cli_shapes_without_seq(cli):
    result = cli("attention", "shapes", "--d-model", "512", "--heads", "8", "--json")
    assert result.exit_code == 0, result.stderr
    assert result.json()["answer"]["params"] == 4 * 512 * 512 + 4 * 512  # nn.MultiheadAttention(512, 8)
    assert cli("attention", "shapes", "--seq", "4", "--heads", "8").exit_code == 2  # --d-model is needed


@pytest.mark.torch
@pytest.mark.slow  # live torch; the committed goldens check the same cases in CI
def test_live_torch_random_cases_and_masked_rows():
    torch = pytest.importorskip("torch")
    import torch.nn.functional as F

    from dlsolve.parsing import parse_matrix
    from dlsolve.solvers.attention import attention

    rng = random.Random(7)
    for _ in range(10):
        t, s, d = rng.randint(1, 4), rng.randint(1, 4), rng.randint(1, 3)
        rows = {name: [[rng.randint(-4, 4) for _ in range(d)] for _ in range(n)] for name, n in (("q", t), ("k", s))}
        rows["v"] = [[rng.randint(-4, 4)] for _ in range(s)]
        allowed = [[rng.random() < 0.5 for _ in range(s)] for _ in range(t)]
        text = {name: ";".join(",".join(map(str, r)) for r in m) for name, m in rows.items()}
        mask_text = ";".join(",".join(str(int(a)) for a in r) for r in allowed)
        solution = attention(
            *(parse_matrix(text[n], "--" + n) for n in ("q", "k", "v")),
            mask=parse_matrix(mask_text, "--mask"),
            mask_type="bool",
        )
        q, k, v = (torch.tensor(rows[n], dtype=torch.float64)[None] for n in ("q", "k", "v"))
        expected = F.scaled_dot_product_attention(q, k, v, attn_mask=torch.tensor(allowed))[0]
        assert_close_matrix(solution.answer["output"], expected.tolist())
        if not all(any(r) for r in allowed):
            assert solution.warnings and "F.scaled_dot_product_attention" in solution.warnings[0]


# --------------------------------------------------------------------------- hand computations


def test_exact_weights_of_a_hand_example(cli):
    """Scores [2, 0, 0] unscaled: weights e^2/(e^2+2), 1/(e^2+2), 1/(e^2+2)."""
    answer = solve(cli, "--q", "2", "--k", "1;0;0", "--v", "1;0;0", "--no-scale", "--exact")["answer"]
    e2 = math.exp(2)
    assert_close_matrix(answer["weights"], [[e2 / (e2 + 2), 1 / (e2 + 2), 1 / (e2 + 2)]])
    assert answer["exact"]["weights"][0][0] in ("exp(2)/(2 + exp(2))", "exp(2)/(exp(2) + 2)")
    assert answer["exact"]["weights"][0][1] == "1/(2 + exp(2))"
    assert answer["exact"]["scores"] == [["2", "0", "0"]]


def test_scale_is_one_over_sqrt_dk_exactly_for_square_dk(cli):
    """d_k = 4: scale 1/2; Q K^T = [[4, 0]] -> scores [2, 0] -> weights e^2/(e^2+1)."""
    answer = solve(cli, "--q", "1,1,1,1", "--k", "1,1,1,1;1,-1,1,-1", "--v", "1;0", "--exact")["answer"]
    assert answer["scale"] == 0.5
    assert answer["raw_scores"] == [[4, 0]]
    assert answer["scores"] == [[2, 0]]
    assert answer["exact"]["weights"][0] == ["exp(2)/(1 + exp(2))", "1/(1 + exp(2))"]
    assert math.isclose(answer["output"][0][0], math.exp(2) / (1 + math.exp(2)), rel_tol=1e-12)


def test_causal_first_query_sees_only_first_key(cli):
    answer = solve(cli, "--q", "1;1;1", "--k", "1;1;1", "--v", "3;6;9", "--causal")["answer"]
    assert_close_matrix(answer["weights"], [[1, 0, 0], [0.5, 0.5, 0], [1 / 3, 1 / 3, 1 / 3]])
    assert_close_matrix(answer["output"], [[3], [4.5], [6]])
    assert answer["scores"][0][1] is None  # masked scores are null in JSON


def test_key_padding_is_the_opposite_convention_of_the_bool_mask(cli):
    padded = solve(cli, "--q", "1", "--k", "1;2", "--v", "1;2", "--key-padding", "0,1")["answer"]
    masked = solve(cli, "--q", "1", "--k", "1;2", "--v", "1;2", "--mask", "1,0")["answer"]
    assert padded["weights"] == masked["weights"] == [[1.0, 0.0]]


def test_fully_masked_row_zero_by_default_nan_as_multihead(cli):
    zero = solve(cli, "--q", "1;1", "--k", "1;1", "--v", "1;2", "--mask", "1,1;0,0")
    assert zero["answer"]["weights"][1] == [0.0, 0.0]
    assert zero["answer"]["output"][1] == [0.0]
    assert zero["answer"]["fully_masked_rows"] == [1]
    assert "every key is masked" in zero["warnings"][0]
    nan = solve(cli, "--q", "1;1", "--k", "1;1", "--v", "1;2", "--mask", "1,1;0,0", "--masked-rows", "nan")
    assert nan["answer"]["weights"][1] == [None, None]
    assert nan["answer"]["output"][1] == [None]
    assert nan["answer"]["entropy"][1] is None
    assert "NaN" in nan["warnings"][0]


def test_additive_mask_with_minus_inf(cli):
    answer = solve(cli, "--q", "0", "--k", "0;0;0", "--v", "1;2;4", "--mask", "0,-inf,1")["answer"]
    e = math.e
    assert_close_matrix(answer["weights"], [[1 / (1 + e), 0, e / (1 + e)]])


def test_temperature_and_hard_limit(cli):
    base = ["--q", "1", "--k", "2;1;2", "--v", "1;2;3", "--no-scale"]
    hot = solve(cli, *base, "--temperature", "100")["answer"]["weights"][0]
    cold = solve(cli, *base, "--temperature", "0.01")["answer"]["weights"][0]
    hard = solve(cli, *base, "--hard")["answer"]
    assert max(hot) - min(hot) < 0.01  # near uniform
    assert_close_matrix([cold], [[0.5, 0, 0.5]], tol=1e-9)
    assert hard["weights"] == [[0.5, 0.0, 0.5]]  # tied maxima share the weight
    assert hard["argmax"] == [0]
    assert math.isclose(hard["entropy"][0], math.log(2))


def test_entropy_matches_definition(cli):
    answer = solve(cli, "--q", "1,2;0,1", "--k", "1,0;0,1;1,1", "--v", "1;2;3")["answer"]
    for row, entropy in zip(answer["weights"], answer["entropy"], strict=True):
        assert math.isclose(entropy, -sum(w * math.log(w) for w in row if w > 0), rel_tol=1e-12)


def test_projections_from_embeddings(cli):
    result = solve(cli, "--x", "1,2;3,4", "--wq", "1,0;0,1", "--wk", "0,1;1,0", "--wv", "2,0;0,2")
    answer = result["answer"]
    assert answer["q"] == [[1, 2], [3, 4]]
    assert answer["k"] == [[2, 1], [4, 3]]
    assert answer["v"] == [[2, 4], [6, 8]]
    x = np.array([[1.0, 2], [3, 4]])
    scores = x @ np.array([[2.0, 4], [1, 3]]) / math.sqrt(2)
    weights = np.exp(scores - scores.max(1, keepdims=True))
    weights /= weights.sum(1, keepdims=True)
    assert_close_matrix(answer["output"], (weights @ np.array([[2.0, 4], [6, 8]])).tolist())


EYE5 = ";".join(",".join("1" if i == j else "0" for j in range(5)) for i in range(5))
#: Midterm problem 3: one-hot embeddings of This, exam, is, the, midterm, exam; identity projections; --hard.
EXAM_3 = ["--x", EYE5 + ";0,1,0,0,0", "--wq", EYE5, "--wk", EYE5, "--wv", EYE5]
EXAM_3 += ["--tokens", "This,exam,is,the,midterm,exam", "--hard"]


def _step(data: dict, kind: str) -> dict:
    return next(step for step in data["steps"] if step["kind"] == kind)


def _blocks(step: dict, kind: str) -> list[dict]:
    return [block for block in step["blocks"] if block["type"] == kind]


def test_exam_question_3_reconstruction_labelled_table(cli):
    """The weights heatmap is labelled by token; the tie exam(2)/exam(6) is in the answer, and the
    most-attended table (with --full) lists it too."""
    data = solve(cli, *EXAM_3)
    assert data["answer"]["weights"][1] == [0, 0.5, 0, 0, 0, 0.5]
    assert data["answer"]["argmax_tokens"] == ["This", "exam(2)", "is", "the", "midterm", "exam(2)"]
    heatmaps = _blocks(_step(data, "attention.weights"), "heatmap")
    assert heatmaps[0]["row_labels"] == ["This", "exam(2)", "is", "the", "midterm", "exam(6)"]
    assert heatmaps[0]["cells"][5] == ["0", "0.5", "0", "0", "0", "0.5"]
    for text in (data["summary"], data["quiet"]):
        assert "exam(2) → exam(2) / exam(6) (tie, 1/2 each)" in text
        assert "exam(6) → exam(2) / exam(6) (tie, 1/2 each)" in text
    tables = _blocks(_step(solve(cli, *EXAM_3, "--full"), "attention.weights"), "table")
    assert tables[0]["rows"][5][1] == "exam(2) / exam(6)"


def test_scores_step_shows_one_matrix_the_scores_into_softmax(cli):
    """By default the scores step shows S = s Q Kᵀ once (exact k/√d_k entries when Q Kᵀ is exact and
    √d_k irrational), not Q Kᵀ as well; --full writes Q Kᵀ out too."""
    step = _step(solve(cli, *EXAM_3), "attention.scores")
    (heatmap,) = _blocks(step, "heatmap")
    assert heatmap["cells"][1] == ["0", "1/√5", "0", "0", "0", "1/√5"]
    assert heatmap["values"][1][1] == pytest.approx(1 / math.sqrt(5))
    assert "Q Kᵀ =" not in step["text"] and "[" not in step["text"]
    assert "s = 1/√d_k = 1/√5 ≈ 0.447214" in step["text"]
    full = _step(solve(cli, *EXAM_3, "--full"), "attention.scores")
    assert "Q Kᵀ =\n  [ 1  0  0  0  0  0 ]" in full["text"]
    assert len(_blocks(full, "heatmap")) == 1


def test_scores_step_float_inputs_show_the_scaled_scores(cli):
    """Random (float) inputs: the heatmap holds the scaled scores s Q Kᵀ in decimals."""
    q, k = "0.3,-1.2;1.1,0.4", "0.5,0.1;-1,0.7"
    data = solve(cli, "--q", q, "--k", k, "--v", "1,2;3,4")
    step = _step(data, "attention.scores")
    (heatmap,) = _blocks(step, "heatmap")
    expected = np.array([[0.3, -1.2], [1.1, 0.4]]) @ np.array([[0.5, 0.1], [-1, 0.7]]).T / math.sqrt(2)
    assert_close_matrix(heatmap["values"], expected.tolist(), tol=1e-12)
    assert_close_matrix(data["answer"]["scores"], expected.tolist(), tol=1e-12)
    assert "Q Kᵀ =" not in step["text"]
    full = _step(solve(cli, "--q", q, "--k", k, "--v", "1,2;3,4", "--full"), "attention.scores")
    assert "Q Kᵀ =" in full["text"]


def test_masked_scores_shown_once_by_default(cli):
    """With a mask, the masked scores (what the softmax gets) are the one score matrix; --full also
    shows the unmasked scores."""
    argv = ["--q", "1,0;0,1;1,1", "--k", "1,0;0,1;1,1", "--v", "1;2;3", "--causal"]
    data = solve(cli, *argv)
    assert not _blocks(_step(data, "attention.scores"), "heatmap")
    assert _blocks(_step(data, "attention.mask"), "heatmap")[0]["cells"][0][1] == "-inf"
    full = solve(cli, *argv, "--full")
    assert _blocks(_step(full, "attention.scores"), "heatmap") and _blocks(_step(full, "attention.mask"), "heatmap")


def test_weights_step_extras_only_with_full(cli):
    """The most-attended table and the entropies are --full detail (the answer names the most-attended
    keys); no step says a matrix is "in the table below"."""
    data = solve(cli, *EXAM_3)
    weights = _step(data, "attention.weights")
    assert not _blocks(weights, "table")
    assert "entropy" not in weights["text"] and "Most attended" not in weights["text"]
    assert r"\ln" not in weights["latex"]
    assert all("table below" not in step["text"] for step in data["steps"])
    full = _step(solve(cli, *EXAM_3, "--full"), "attention.weights")
    assert _blocks(full, "table")[0]["columns"][-1] == "entropy (nats)"
    assert "exam(6) → exam(2) / exam(6) (weight 0.5, entropy 0.693147)" in full["text"]
    assert r"\ln" in full["latex"]


def test_projection_text_and_latex_name_the_weights_alike(cli):
    """Q = X W_Q in the text as in the LaTeX, so a typeset key writes the formula once."""
    from dlsolve.render import board
    from dlsolve.solution import Step

    step = _step(solve(cli, *EXAM_3), "attention.projection")
    assert "Q = X W_Q, K = X W_K, V = X W_V" in step["text"] and step["latex"].startswith("Q = X W_Q")
    laid = board.items(Step(step["title"], step["text"], latex=step["latex"], kind=step["kind"]))
    prose = " ".join(board.plain(parts) for kind, lines in laid if kind == "prose" for parts in lines)
    assert "W" not in prose and "is projected" in prose


def test_hard_matches_brute_force_argmax():
    from dlsolve.parsing import parse_matrix
    from dlsolve.solvers.attention import attention

    rng = random.Random(3)
    for _ in range(20):
        t, s = rng.randint(1, 5), rng.randint(1, 5)
        q = [[rng.randint(-2, 2) for _ in range(2)] for _ in range(t)]
        k = [[rng.randint(-2, 2) for _ in range(2)] for _ in range(s)]
        text = {n: ";".join(",".join(map(str, r)) for r in m) for n, m in (("q", q), ("k", k))}
        v_text = ";".join(str(j) for j in range(s))
        answer = attention(
            parse_matrix(text["q"], "q"), parse_matrix(text["k"], "k"), parse_matrix(v_text, "v"), hard=True
        ).answer
        for i in range(t):
            dots = [sum(a * b for a, b in zip(q[i], k[j], strict=True)) for j in range(s)]
            best = [j for j in range(s) if dots[j] == max(dots)]
            assert answer["weights"][i] == [1 / len(best) if j in best else 0 for j in range(s)]
            assert answer["argmax"][i] == best[0]


# --------------------------------------------------------------------------- large inputs


def test_large_input_matches_numpy_reference(tmp_path):
    from dlsolve.parsing import parse_matrix
    from dlsolve.solvers.attention import attention

    rng = np.random.default_rng(0)
    q, k, v = rng.normal(size=(600, 8)), rng.normal(size=(600, 8)), rng.normal(size=(600, 3))
    paths = {}
    for name, array in (("q", q), ("k", k), ("v", v)):
        paths[name] = tmp_path / f"{name}.npy"
        np.save(paths[name], array)
    solution = attention(*(parse_matrix(f"@{paths[n]}", "--" + n) for n in ("q", "k", "v")))
    scores = q @ k.T / math.sqrt(8)
    weights = np.exp(scores - scores.max(1, keepdims=True))
    weights /= weights.sum(1, keepdims=True)
    assert solution.answer["weights"] is None  # 360,000 entries are not listed
    assert np.allclose(np.array(solution.answer["output"]), weights @ v, rtol=1e-12, atol=1e-12)
    assert solution.answer["argmax"] == weights.argmax(1).tolist()
    entropy = -(weights * np.log(weights)).sum(1)
    assert np.allclose(solution.answer["entropy"], entropy, rtol=1e-10)


# --------------------------------------------------------------------------- properties

small_int = st.integers(-3, 3)


@st.composite
def attention_inputs(draw):
    t, s, d = draw(st.integers(1, 4)), draw(st.integers(1, 4)), draw(st.integers(1, 3))
    q = draw(st.lists(st.lists(small_int, min_size=d, max_size=d), min_size=t, max_size=t))
    k = draw(st.lists(st.lists(small_int, min_size=d, max_size=d), min_size=s, max_size=s))
    v = draw(st.lists(st.lists(small_int, min_size=2, max_size=2), min_size=s, max_size=s))
    return q, k, v


def _solve(q, k, v, **options):
    from dlsolve.parsing import parse_matrix
    from dlsolve.solvers.attention import attention

    def text(m):
        return ";".join(",".join(str(x) for x in row) for row in m)

    return attention(parse_matrix(text(q), "q"), parse_matrix(text(k), "k"), parse_matrix(text(v), "v"), **options)


@given(attention_inputs())
def test_rows_of_weights_sum_to_one(inputs):
    answer = _solve(*inputs).answer
    for row in answer["weights"]:
        assert math.isclose(sum(row), 1.0, rel_tol=1e-12)
        assert all(w >= 0 for w in row)


@given(attention_inputs(), st.randoms(use_true_random=False))
def test_permuting_keys_and_values_together_leaves_output_unchanged(inputs, rnd):
    q, k, v = inputs
    order = list(range(len(k)))
    rnd.shuffle(order)
    before = _solve(q, k, v).answer
    after = _solve(q, [k[j] for j in order], [v[j] for j in order]).answer
    assert np.allclose(before["output"], after["output"], rtol=1e-12, atol=1e-12)
    assert np.allclose(np.array(after["weights"]), np.array(before["weights"])[:, order], rtol=1e-12, atol=1e-12)


@given(attention_inputs(), st.lists(st.integers(-5, 5), min_size=4, max_size=4))
def test_adding_a_constant_to_a_row_of_scores_changes_nothing(inputs, shifts):
    q, k, v = inputs
    rows, cols = len(q), len(k)
    additive = ";".join(",".join([str(shifts[i])] * cols) for i in range(rows))
    from dlsolve.parsing import parse_matrix

    before = _solve(q, k, v).answer
    after = _solve(q, k, v, mask=parse_matrix(additive, "--mask"), mask_type="additive").answer
    assert np.allclose(before["weights"], after["weights"], rtol=1e-12, atol=1e-12)
    assert np.allclose(before["output"], after["output"], rtol=1e-12, atol=1e-12)


@given(attention_inputs(), st.sampled_from(["1/2", "2", "3/7"]))
def test_temperature_equals_dividing_the_scale(inputs, temperature):
    from fractions import Fraction

    q, k, v = inputs
    hot = _solve(q, k, v, temperature=Fraction(temperature), scale=Fraction(1)).answer
    scaled = _solve(q, k, v, scale=1 / Fraction(temperature)).answer
    assert np.allclose(hot["weights"], scaled["weights"], rtol=1e-12, atol=1e-14)


@given(attention_inputs(), st.lists(st.integers(-3, 3), min_size=3, max_size=3))
def test_key_bias_does_not_change_the_weights(inputs, bias):
    """bk adds q_i . bk to every score of row i, and softmax ignores a constant added to a row."""
    from dlsolve.parsing import parse_matrix
    from dlsolve.solvers.attention import attention

    q = inputs[0]
    width = len(q[0])
    x = ";".join(",".join(str(value) for value in row) for row in q)
    eye = ";".join(",".join("1" if i == j else "0" for j in range(width)) for i in range(width))
    operands = {name: parse_matrix(text, name) for name, text in (("x", x), ("wq", eye), ("wk", eye), ("wv", eye))}
    before = attention(**operands).answer
    after = attention(**operands, bk=[Fraction(b) for b in bias[:width]]).answer
    assert np.allclose(before["weights"], after["weights"], rtol=1e-12, atol=1e-14)


# --------------------------------------------------------------------------- shapes


def test_attention_is_all_you_need_base_model(cli):
    result = cli("attention", "shapes", "--batch", "32", "--seq", "10", "--d-model", "512", "--heads", "8", "--json")
    assert result.exit_code == 0
    answer = result.json()["answer"]
    assert answer["head_dim"] == 64
    assert answer["params"] == 4 * 512 * 512 + 4 * 512
    assert answer["shapes"]["Q split into heads"] == [32, 8, 10, 64]
    assert answer["scores_shape"] == [32, 8, 10, 10]
    assert answer["macs_by_step"]["scores Q K^T"] == 32 * 8 * 10 * 10 * 64


def test_shapes_general_dk_is_not_torch_equivalent(cli):
    result = cli("attention", "shapes", "--seq", "4", "--d-model", "10", "--heads", "3", "--d-k", "4", "--json")
    assert result.exit_code == 0
    answer = result.json()["answer"]
    assert answer["params"] == 10 * 12 * 3 + 12 * 2 + 12 + 12 * 10 + 10
    assert answer["torch_equivalent"] is False
    assert result.json()["warnings"]


def test_shapes_indivisible_heads_is_exit_1(cli):
    result = cli("attention", "shapes", "--seq", "4", "--d-model", "10", "--heads", "3")
    assert result.exit_code == 1
    assert "divisible" in result.stderr


# --------------------------------------------------------------------------- CLI and bad input


@pytest.mark.parametrize(
    ("argv", "option", "shapes"),
    [
        (["--q", "1,2", "--k", "1,2,3", "--v", "1"], "--k", ("1x2", "1x3")),
        (["--q", "1,2", "--k", "1,2;3,4", "--v", "1"], "--v", ("2x2", "1x1")),
        (["--q", "1;2", "--k", "1;2;3", "--v", "1;2;3", "--mask", "1,1;1,1"], "--mask", ("2x2", "2x3")),
        (["--x", "1,2", "--wq", "1;2;3", "--wk", "1;2", "--wv", "1;2"], "--wq", ("1x2", "3x1")),
    ],
)
def test_shape_mismatch_is_exit_2_naming_both_shapes(cli, argv, option, shapes):
    result = cli("attention", *argv)
    assert result.exit_code == 2
    assert option in result.stderr
    assert all(shape in result.stderr for shape in shapes)


def test_exact_refuses_large_inputs(cli):
    q = ";".join(["1"] * 9)
    result = cli("attention", "--q", q, "--k", q, "--v", q, "--exact")
    assert result.exit_code == 2
    assert "--exact" in result.stderr and "unreadable" in result.stderr


@pytest.mark.parametrize("mode", ["-q", "--latex", "--markdown", None])
def test_every_output_mode_renders(cli, mode):
    argv = ["attention", "--q", "1,0;0,1", "--k", "1,0;0,1", "--v", "1;2", "--tokens", "a,b", "--exact"]
    result = cli(*argv, *([mode] if mode else []))
    assert result.exit_code == 0, result.stderr
    assert result.stdout.strip()


def test_help_has_runnable_examples(cli):
    result = cli("attention", "--help")
    assert result.exit_code == 0
    examples = [line.split("Example:")[1].strip() for line in result.stdout.splitlines() if "Example:" in line]
    assert examples
    shapes = cli("attention", "shapes", "--help")
    assert "Example: dlsolve attention shapes" in shapes.stdout


def test_help_example_runs(cli):
    result = cli("attention", "--q", "1,0;0,1", "--k", "1,0;0,1", "--v", "1,2;3,4", "--exact", "-q")
    assert result.exit_code == 0


OPTIONS = [
    "--q",
    "--k",
    "--v",
    "--mask",
    "--key-padding",
    "--temperature",
    "--scale",
    "--tokens",
    "--heads",
    "--masked-rows",
    "--mask-type",
]


def _fuzz(command: list[str], base: dict[str, str], option: str, text: str) -> None:
    """``command`` with ``base`` options and ``option`` set to ``text``: exit 0, 1 or 2 and JSON output."""
    from tests.conftest import run_cli

    options = {**base, option: text}
    result = run_cli(*command, *[item for pair in options.items() for item in pair], "--json")
    assert result.exit_code in (0, 1, 2), result.stdout
    json.loads(result.stdout)


@given(st.sampled_from(OPTIONS), st.text(max_size=30))
def test_fuzz_any_option_text_exits_0_1_2_and_json_parses(option, text):
    _fuzz(["attention"], {"--q": "1,0;0,1", "--k": "1,0;0,1", "--v": "1;2"}, option, text)


@given(st.sampled_from(["--batch", "--seq", "--d-model", "--heads", "--d-k", "--kdim"]), st.text(max_size=20))
def test_fuzz_shapes_options(option, text):
    _fuzz(["attention", "shapes"], {"--batch": "2", "--seq": "3", "--d-model": "8", "--heads": "2"}, option, text)


def test_problem_file_checks(cli):
    path = Path(__file__).parent.parent / "problems" / "attention.toml"
    result = cli("solve", str(path), "--check", "-q")
    assert result.exit_code == 0, result.stdout + result.stderr
    assert result.stdout.count(": pass") >= 8


@settings(max_examples=15)
@given(attention_inputs(), st.sampled_from([None, "1/2", "3"]), st.booleans())
def test_exact_weights_evaluate_to_the_float_weights(inputs, temperature, causal):
    from fractions import Fraction

    import sympy

    q, k, v = inputs
    options = {"exact": True, "causal": causal}
    if temperature:
        options["temperature"] = Fraction(temperature)
    answer = _solve(q, k, v, **options).answer
    for exact_row, float_row in zip(answer["exact"]["weights"], answer["weights"], strict=True):
        for text, value in zip(exact_row, float_row, strict=True):
            if value is None:
                continue
            # sympify on our own output (never on user text), as an independent evaluation
            assert math.isclose(float(sympy.sympify(text).evalf(30)), value, rel_tol=1e-12, abs_tol=1e-15)


EMBEDDING_OPTIONS = [
    "--x",
    "--wq",
    "--wk",
    "--wv",
    "--wo",
    "--heads",
    "--key-tokens",
    "--key-padding",
    "--bq",
    "--bk",
    "--bv",
    "--bo",
    "--x-kv",
    "--x-v",
]


@given(st.sampled_from(EMBEDDING_OPTIONS), st.text(max_size=30))
def test_fuzz_embedding_path_options(option, text):
    base = {"--x": "1,0;0,1", "--wq": "1,0;0,1", "--wk": "1,0;0,1", "--wv": "1,0;0,1", "--heads": "2"}
    _fuzz(["attention"], base, option, text)


def test_exact_weights_written_once_single_head_in_the_answer(cli):
    """With --exact and more than 6 tokens, the exact weights of a single head are in the answer, so
    the weights step does not repeat them (--full does)."""
    argv = ["--q", "1;0;0;0;0;0;1", "--k", "1;0;0;0;0;0;2", "--v", "1;2;3;4;5;6;7", "--exact"]
    data = solve(cli, *argv)
    assert "e/(5 + e + e²) ≈ 0.179931" in data["summary"]
    assert "Exact weights" not in _step(data, "attention.weights")["text"]
    full = _step(solve(cli, *argv, "--full"), "attention.weights")
    assert "Exact weights:\n  q1: [e/(5 + e + e²)" in full["text"]
