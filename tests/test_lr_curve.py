"""Tests of ``dlsolve lr-curve``: curves of real gradient descent whose regime is known from theory
(goldens made by tests/data/make_lr_curve_goldens.py), live PyTorch SGD, properties, CLI, fuzz.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dlsolve.solvers.lr_curve import classify, solve

DATA = Path(__file__).parent / "data"
GOLDENS = json.loads((DATA / "lr_curve_goldens.json").read_text())["cases"]


@pytest.mark.parametrize("case", [c for c in GOLDENS if c["theory"]], ids=lambda c: c["name"])
def test_gradient_descent_curves_match_theory(case):
    assert classify(case["name"], case["values"]).regime == case["theory"]


def test_goldens_cover_every_regime():
    assert {c["theory"] for c in GOLDENS} >= {"diverging", "oscillating", "too slow", "healthy"}


def test_exam_part_2a_learning_rate_a_is_too_high():
    runs = [
        ("A", [2.3, 2.9, 4.4, 8.1, 19.0, math.nan]),
        ("B", [2.3, 1.2, 0.7, 0.5, 0.45, 0.43]),
        ("C", [2.3, 2.25, 2.2, 2.15, 2.1, 2.05]),
    ]
    answer = solve(runs).answer
    assert answer["too_high"] == ["A"]
    assert answer["too_low"] == ["C"]
    assert answer["healthy"] == ["B"]
    assert answer["best"] == "B"
    assert answer["runs"][0]["evidence"]["first_nonfinite_step"] == 5


@pytest.mark.parametrize(
    ("values", "regime"),
    [
        ([2.3, 1.5, 2.1, 1.4, 2.2, 1.5, 2.1, 1.5, 2.2, 1.4], "oscillating"),  # big swings, no progress
        ([1.0, 1.1, 1.3, 1.6, 2.0], "diverging"),  # steady rise
        ([1.0, 0.9, 0.95, 1.2, 1.6, 2.1], "diverging"),  # dips, then blows up
        ([1.0, math.inf, 2.0, 3.0], "diverging"),
        ([0.7, 0.7, 0.7, 0.7, 0.7], "too slow"),  # no decrease at all
        ([2.0, 1.0, 0.5, 0.25, 0.125, 0.0625, 0.03125, 0.015625], "healthy"),
        ([2.3, 0.9, 0.6, 0.5, 0.46, 0.44, 0.43, 0.44, 0.43, 0.43], "healthy"),  # plateau with noise
    ],
)
def test_hand_made_curves(values, regime):
    assert classify("run", values).regime == regime


# --------------------------------------------------------------------------- properties


positive = st.floats(min_value=1e-3, max_value=1e3)


@given(st.lists(positive, min_size=4, max_size=40), st.integers(-20, 20))
def test_regime_is_invariant_under_exact_rescaling(values, power):
    scaled = [v * 2.0**power for v in values]
    assert classify("a", scaled).regime == classify("a", values).regime


@given(positive, st.floats(min_value=0.02, max_value=0.5), st.integers(8, 60))
def test_fast_geometric_decay_is_healthy(start, ratio, count):
    assert classify("a", [start * ratio**t for t in range(count)]).regime == "healthy"


@given(positive, st.floats(min_value=1e-4, max_value=0.5), st.integers(4, 60))
def test_linear_decrease_is_too_slow(start, fraction, count):
    step = start * fraction / count
    assert classify("a", [start - step * t for t in range(count)]).regime == "too slow"


@given(positive, st.floats(min_value=1.06, max_value=3.0), st.integers(4, 40))
def test_geometric_growth_is_diverging(start, ratio, count):
    assert classify("a", [start * ratio**t for t in range(count)]).regime == "diverging"


@given(st.lists(st.floats(allow_nan=True, allow_infinity=True, width=64), min_size=4, max_size=30))
def test_any_curve_gives_json_safe_evidence(values):
    from dlsolve.render.json_view import dumps

    values[0] = 1.0 if not (math.isfinite(values[0]) and abs(values[0]) <= 1e100) else values[0]
    solution = solve([("A", values)])
    json.loads(dumps(solution.to_dict()))
    assert solution.answer["runs"][0]["regime"] in ("diverging", "oscillating", "too slow", "healthy")


# --------------------------------------------------------------------------- live PyTorch


@pytest.mark.torch
def test_torch_sgd_logistic_regression_regimes_follow_theory():
    torch = pytest.importorskip("torch")
    import numpy as np

    torch.manual_seed(0)
    generator = np.random.default_rng(1)
    features = torch.tensor(generator.normal(size=(300, 2)) * np.array([2.0, 1.0]), dtype=torch.float64)
    true_weights = torch.tensor([1.5, -1.0], dtype=torch.float64)
    labels = (torch.rand(300, dtype=torch.float64) < torch.sigmoid(features @ true_weights)).double()
    smooth = torch.linalg.eigvalsh(features.T @ features / (4 * 300)).max().item()

    def run(lr: float, steps: int) -> list[float]:
        weights = torch.zeros(2, dtype=torch.float64, requires_grad=True)
        optimizer = torch.optim.SGD([weights], lr=lr)
        losses = []
        for _ in range(steps):
            optimizer.zero_grad()
            loss = torch.nn.functional.binary_cross_entropy_with_logits(features @ weights, labels)
            losses.append(loss.item())
            loss.backward()
            optimizer.step()
        return losses

    # 2 eta L (n - 1) <= 1: shorter than the fastest time scale of gradient flow: too slow.
    assert classify("tiny", run(0.01 / smooth, 40)).regime == "too slow"
    # eta = 1/L: monotone (descent lemma) and converged: healthy.
    assert classify("ok", run(1 / smooth, 80)).regime == "healthy"
    # Far beyond 2/L the logistic loss still grows (the iterates are thrown outward): not healthy.
    assert classify("huge", run(200 / smooth, 40)).regime in ("diverging", "oscillating")


# --------------------------------------------------------------------------- CLI


def test_cli_labels_plot_and_json(cli):
    result = cli(
        "lr-curve",
        "--loss",
        "2.3,2.8,4.1,7.9,15",
        "--label",
        "A",
        "--loss",
        "2.3,1.2,0.7,0.5,0.45,0.43",
        "--label",
        "B",
        "--json",
    )
    assert result.exit_code == 0
    data = result.json()
    assert data["answer"]["too_high"] == ["A"] and data["answer"]["healthy"] == ["B"]
    plots = [block for step in data["steps"] for block in step["blocks"] if block["type"] == "plot"]
    assert [series["label"] for series in plots[0]["series"]] == ["A", "B"]


def test_cli_csv_file_and_default_labels(cli):
    result = cli("lr-curve", "--loss", f"@{DATA / 'lr_curve_exam.csv'}", "-q")
    assert result.exit_code == 0
    assert result.stdout.strip() == "A: diverging; B: healthy; C: too slow"
    typed = cli("lr-curve", "--loss", "1,2,4,8", "--loss", "4,2,1,0.5,0.25,0.2,0.2", "-q")
    assert typed.stdout.strip() == "A: diverging; B: healthy"


def test_cli_csv_on_stdin(cli):
    result = cli("lr-curve", "--loss", "-", "-q", stdin="lr=1,lr=0.001\n1,1\n4,0.999\n9,0.998\n30,0.997\n")
    assert result.exit_code == 0
    assert result.stdout.strip() == "lr=1: diverging; lr=0.001: too slow"


def test_cli_rich_output_has_the_plot(cli):
    result = cli("lr-curve", "--loss", f"@{DATA / 'lr_curve_exam.csv'}")
    assert result.exit_code == 0 and "loss curves" in result.stdout and "Lowest final loss" in result.stdout


EXAM_2A = [
    ("A", [2.3, 2.9, 4.4, 8.1, 19.0, math.nan]),
    ("B", [2.3, 1.2, 0.7, 0.5, 0.45, 0.43]),
    ("C", [2.3, 2.25, 2.2, 2.15, 2.1, 2.05]),
]


def _step(solution, kind):
    return next(step for step in solution.steps if step.kind == kind)


def test_read_step_says_the_final_level_convention_once():
    """The median convention once for all runs; the first/final numbers are the evidence table's."""
    text = _step(solve(EXAM_2A), "lr-curve.read").text
    assert text.count("median") == 1 and "max(2, ⌊n/5⌋)" in text and "the last 2 here" in text
    assert "13.6" not in text and "0.44" not in text
    mixed = _step(solve([("A", [4, 3, 2, 1]), ("B", [float(v) for v in range(20, 0, -1)])]), "lr-curve.read")
    assert "here A 2, B 4" in mixed.text


def test_classify_step_formula_once_in_a_typeset_key():
    """The text's formula line (for the terminal) says only what the LaTeX display says, so a typeset
    key drops it; the thresholds stay as prose."""
    from dlsolve.render import board

    step = _step(solve(EXAM_2A), "lr-curve.classify")
    threshold, formula = step.text.split("\n")
    assert formula.startswith("growth = final / first")
    assert board.uncovered(formula, step.latex) == ""
    assert board.uncovered(threshold, step.latex) == threshold


def test_evidence_table_numbers_and_run_substeps_the_regimes():
    """The evidence table holds the numbers; each run's substep names its regime and learning rate
    once; the last step names only the best usable run (the answer box has the regimes)."""
    solution = solve(EXAM_2A)
    step = _step(solution, "lr-curve.classify")
    (table,) = step.blocks
    assert table.columns[:4] == ["run", "first", "final", "growth"] and "regime" not in table.columns
    assert table.rows[0][:3] == ["A", "2.3", "13.6"]
    assert [s.title for s in step.substeps] == [
        "A: diverging (learning rate too high)",
        "B: healthy (learning rate ok)",
        "C: too slow (learning rate too low)",
    ]
    assert step.substeps[0].text == "value NaN at step 5: the loss blew up"
    assert _step(solution, "lr-curve.verdict").text == "Lowest final loss among the usable runs: B (0.44)."
    assert "too high" in solution.summary and "too low" in solution.summary
    diverging = solve([("A", [1.0, 2.0, 4.0, 8.0])])
    assert [s.kind for s in diverging.steps] == ["lr-curve.read", "lr-curve.classify"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((), "at least one loss series"),
        (("--loss", "2.3,abc,1"), "expected a number"),
        (("--loss", ""), "expected numbers"),
        (("--loss", "1,2"), "at least 4"),
        (("--loss", "nan,1,2,3"), "first loss must be finite"),
        (("--loss", "1,2,3,4", "--label", "A", "--label", "B"), "2 labels for 1 typed run"),
        (("--loss", "1,2,3,4", "--label", "A", "--loss", "1,2,3,4", "--label", "A"), "labelled 'A'"),
        (("--loss", "@/no/such.csv"), "cannot read file"),
    ],
)
def test_cli_bad_input(cli, args, message):
    result = cli("lr-curve", *args, "--json")
    assert result.exit_code == 2
    assert message in result.json()["error"]["message"]


def test_cli_ragged_csv(cli, tmp_path):
    path = tmp_path / "runs.csv"
    path.write_text("fast,slow\n1,1\n0.3,0.99\n0.2,0.98\n0.19,0.97\n,0.96\n")
    result = cli("lr-curve", "--loss", f"@{path}", "-q")
    assert result.stdout.strip() == "fast: healthy; slow: too slow"
    path.write_text("a,b\n1,1\n,2\n3,3\n4,4\n")
    assert cli("lr-curve", "--loss", f"@{path}").exit_code == 2


def test_cli_help_has_an_example(cli):
    assert "dlsolve lr-curve --loss" in cli("lr-curve", "--help").stdout


@given(st.text(max_size=60), st.text(max_size=10))
def test_fuzz_any_text_gives_a_clean_exit(loss, label):
    from tests.conftest import run_cli

    result = run_cli("lr-curve", "--loss", loss, "--label", label, "--json")
    assert result.exit_code in (0, 1, 2)
    json.loads(result.stdout)
