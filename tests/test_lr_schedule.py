"""dlsolve lr-schedule: torch.optim.lr_scheduler and Keras goldens, exact values, bad input."""

from __future__ import annotations

import json
import math
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dlsolve.errors import BadInput, InvalidProblem
from dlsolve.parsing import parse_scalar
from dlsolve.solvers.lr_schedule import STEP_KINDS, lr_schedule
from dlsolve.solvers.lr_schedule_rules import KINDS

GOLDENS = json.loads((Path(__file__).parent / "data" / "optim_goldens.json").read_text())["schedules"]
F = Fraction


def _options(options: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in options.items():
        if isinstance(value, str) and key != "anneal_strategy":
            out[key] = parse_scalar(value, "--test")
        else:
            out[key] = value
    for key in ("total_steps", "warmup", "step_size", "t_max", "t_0", "t_mult", "total_iters"):
        if key in out:
            out[key] = int(out[key])
    return out


@pytest.mark.parametrize("kind", KINDS)
def test_schedule_matches_torch(kind: str) -> None:
    cases = [case for case in GOLDENS if case["kind"] == kind]
    assert cases
    for case in cases:
        answer = lr_schedule(kind, epochs=case["epochs"], **_options(case["options"])).answer
        expected = case["expected"]
        assert len(answer["lr"]) == len(expected["lr"]), case
        for mine, theirs in zip(answer["lr"], expected["lr"], strict=True):
            assert math.isclose(mine, theirs, rel_tol=1e-9, abs_tol=1e-15), (case, mine, theirs)
        for mine, theirs in zip(answer.get("momentum", []), expected.get("momentum", []), strict=True):
            assert math.isclose(mine, theirs, rel_tol=1e-9), (case, mine, theirs)
        assert ("momentum" in answer) == ("momentum" in expected)


def test_every_kind_has_goldens() -> None:
    assert {case["kind"] for case in GOLDENS} == set(KINDS)
    onecycle = [c["options"] for c in GOLDENS if c["kind"] == "onecycle"]
    assert any(o["three_phase"] for o in onecycle) and any(o["anneal_strategy"] == "linear" for o in onecycle)
    assert any(c["options"]["t_mult"] > 1 for c in GOLDENS if c["kind"] == "cosine-warm-restarts")


def test_step_decay_exam() -> None:
    solution = lr_schedule("step", lr=F(1, 10), step_size=2, gamma=F(1, 2), epochs=6)
    assert solution.answer["lr"] == [0.1, 0.1, 0.05, 0.05, 0.025, 0.025, 0.0125]
    assert solution.answer["exact"][5] == "0.025"
    table = next(s for s in solution.steps if s.kind == "lr-schedule.values").blocks[0]
    assert table.rows[0] == ["0–1", "0.1"]


def test_cosine_exact_surds() -> None:
    solution = lr_schedule("cosine", lr=F(1, 10), t_max=4)
    assert solution.answer["exact"] == ["0.1", "0.05 + √2/40", "0.05", "0.05 - √2/40", "0"]
    assert math.isclose(solution.answer["lr"][1], 0.05 + math.sqrt(2) / 40)


def test_warm_restarts_t_mult() -> None:
    answer = lr_schedule("cosine-warm-restarts", lr=F(1), t_0=2, t_mult=2, epochs=6).answer
    # restarts at epochs 2 and 6 (cycle lengths 2, 4)
    assert answer["lr"][2] == 1 and answer["lr"][6] == 1
    assert answer["exact"][4] == "0.5"


def test_onecycle_refuses_stepping_past_total() -> None:
    with pytest.raises(BadInput) as error:
        lr_schedule("onecycle", max_lr=F(1, 10), total_steps=10, epochs=11)
    assert error.value.option == "--epochs"


def test_onecycle_zero_length_phase_is_refused_as_pytorch_does() -> None:
    with pytest.raises(InvalidProblem):
        lr_schedule("onecycle", max_lr=F(1, 10), total_steps=4, pct_start=F(1, 4))


@pytest.mark.parametrize(
    ("kind", "kwargs", "option"),
    [
        ("step", {"lr": F(1, 10)}, "--step-size"),
        ("step", {"lr": F(0), "step_size": 2}, "--lr"),
        ("linear", {"lr": F(1), "start_factor": F(0)}, "--start-factor"),
        ("warmup-cosine", {"lr": F(1), "warmup": 5, "total_steps": 5}, "--total-steps"),
        ("exponential", {"lr": F(1), "gamma": F(1, 2), "epochs": 10**6}, "--epochs"),
    ],
)
def test_bad_input(kind: str, kwargs: dict[str, Any], option: str) -> None:
    with pytest.raises(BadInput) as error:
        lr_schedule(kind, **kwargs)
    assert error.value.option == option


def test_step_kinds_declared() -> None:
    for kind in KINDS:
        options: dict[str, Any] = {
            "step": {"step_size": 2},
            "multistep": {"milestones": [2]},
            "exponential": {"gamma": F(1, 2)},
            "cosine": {"t_max": 5},
            "cosine-warm-restarts": {"t_0": 2},
            "linear": {},
            "onecycle": {"total_steps": 20},
            "inverse-time": {"decay_rate": F(1)},
            "warmup-cosine": {"warmup": 2, "total_steps": 8},
        }[kind]
        solution = lr_schedule(kind, lr=F(1, 10), **options)
        assert [s.kind for s in solution.steps] == list(STEP_KINDS)


def test_cli(cli: Any) -> None:
    result = cli("lr-schedule", "step", "--lr", "0.1", "--step-size", "2", "--gamma", "0.5", "--epochs", "6", "-q")
    assert result.exit_code == 0
    assert result.stdout.startswith("final=0.0125")
    cosine = cli("lr-schedule", "cosine", "--lr", "0.1", "--t-max", "4", "--json").json()
    assert cosine["answer"]["exact"][1] == "0.05 + √2/40"
    assert [s["kind"] for s in cosine["steps"]] == list(STEP_KINDS)
    bad = cli("lr-schedule", "onecycle", "--max-lr", "0.1", "--total-steps", "10", "--epochs", "11")
    assert bad.exit_code == 2 and "--epochs" in bad.stderr


@settings(max_examples=20)
@given(st.integers(1, 12), st.integers(0, 30), st.integers(0, 5))
def test_cosine_stays_between_eta_min_and_lr(t_max: int, epochs: int, eta_min_hundredths: int) -> None:
    eta_min = F(eta_min_hundredths, 100)
    answer = lr_schedule("cosine", lr=F(1, 10), t_max=t_max, eta_min=eta_min, epochs=epochs).answer
    assert all(float(eta_min) - 1e-15 <= v <= 0.1 + 1e-15 for v in answer["lr"])
    assert answer["lr"][0] == 0.1


def test_short_schedule_answer_lists_every_rate_and_the_worked_epoch_is_typeset() -> None:
    from dlsolve.solution import Plot

    solution = lr_schedule("step", lr=F(1, 10), step_size=2, gamma=F(1, 2), epochs=6)
    assert solution.summary.endswith("0.1, 0.1, 0.05, 0.05, 0.025, 0.025, 0.0125")
    formula = next(s for s in solution.steps if s.kind == "lr-schedule.formula")
    assert r"\eta_{6} = 0.1\cdot 0.5^{\lfloor 6/2\rfloor} = 0.1\cdot 0.5^{3} = 0.0125" in formula.latex
    values = next(s for s in solution.steps if s.kind == "lr-schedule.values")
    assert not any(isinstance(block, Plot) for block in values.blocks)  # the table is the board
    long = lr_schedule("step", lr=F(1, 10), step_size=2, gamma=F(1, 2), epochs=20)
    assert any(isinstance(b, Plot) for b in next(s for s in long.steps if s.kind == "lr-schedule.values").blocks)


def test_onecycle_small_rate_in_powers_of_ten() -> None:
    solution = lr_schedule("onecycle", max_lr=F(1, 10), total_steps=10)
    assert "4·10⁻⁷" in solution.summary and "e-7" not in solution.summary


@pytest.mark.parametrize(
    ("kind", "options"),
    [
        ("cosine", {"lr": F(1, 10), "t_max": 4}),
        ("cosine-warm-restarts", {"lr": F(1), "t_0": 2, "t_mult": 2, "epochs": 6}),
        ("onecycle", {"max_lr": F(1, 10), "total_steps": 10}),
        ("step", {"lr": F(1, 10), "step_size": 2, "gamma": F(1, 2), "epochs": 6}),
    ],
)
def test_formula_and_worked_epoch_written_once(kind: str, options: dict[str, Any]) -> None:
    """The text's formula (and worked epoch) are covered by the step's LaTeX: a key writes them once, and
    keeps the general formula (the worked line alone used to replace it)."""
    from dlsolve.render.board import uncovered

    step = next(s for s in lr_schedule(kind, **options).steps if s.kind == "lr-schedule.formula")
    lines = step.text.split("\n")
    head = uncovered(lines[0], step.latex)
    assert head.rstrip(".").endswith(("StepLR", "CosineAnnealingLR", "CosineAnnealingWarmRestarts", "OneCycleLR")) or (
        head.startswith("torch.optim.lr_scheduler.OneCycleLR: each phase anneals")
    ), head
    if kind != "onecycle":
        assert uncovered(lines[2], step.latex) == "", lines[2]
        assert r"\eta_e" in step.latex
