"""The working is built on demand (issue 20): -q, batch answers and checking never build it, and a
working built late is the same as one built at once (answer, steps and warnings alike)."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from dlsolve.problems import load_problems, solve_problem
from dlsolve.render import render
from dlsolve.solution import Solution, Step

ROOT = Path(__file__).resolve().parent.parent
PROBLEMS = load_problems([ROOT / "problems"])
#: Problems whose every step must carry a kind (grows as the solvers declare theirs).
KINDS_REQUIRED: set[str] = {
    *("seq-linear-rnn", "seq-tanh-rnn", "seq-relu-rnn-exact", "seq-lstm-two-steps", "seq-gru-two-steps"),
    *("seq-greedy-decoding", "seq-beam-two", "seq-beam-misses"),
}


def _never_built() -> list[Step]:
    raise AssertionError("the working was built")


def test_quiet_and_batch_answers_never_build_the_working() -> None:
    solution = Solution("x", {}, {"value": 1}, "value 1", "1", steps=_never_built, warnings=["careful"])
    out = io.StringIO()
    render(solution, "quiet", out)
    assert out.getvalue() == "1\n" and not solution.working_built
    assert solution.answer_dict()["answer"] == {"value": 1} and not solution.working_built


def test_batch_line_asks_for_the_working_or_not(cli) -> None:  # type: ignore[no-untyped-def]
    line = {"command": "conv-shape", "args": {"in": 28, "k": 3}}
    lean = json.loads(cli("solve", "-", stdin=json.dumps(line) + "\n").stdout)
    full = json.loads(cli("solve", "-", stdin=json.dumps({**line, "working": True}) + "\n").stdout)
    assert "steps" not in lean and full["steps"] and lean["answer"] == full["answer"]


def test_quiet_warnings_go_to_standard_error(cli) -> None:  # type: ignore[no-untyped-def]
    result = cli("sgd-limit", "--x", "1,0.1,0.01", "-q")  # no --y: all ones, stated as a warning
    assert result.exit_code == 0 and "warning:" in result.stderr and "warning" not in result.stdout


@pytest.mark.parametrize("problem_id", [problem.id for problem in PROBLEMS])
def test_building_the_working_finds_no_new_warning(problem_id: str, solved_problems) -> None:  # type: ignore[no-untyped-def]
    solved = solved_problems[problem_id]
    if solved.outcome.solution is None:
        pytest.skip("refused: no working")
    solution = solved.outcome.solution
    assert solution.steps is not None  # builds it (if the check has not already)
    assert solution.warnings == solved.warnings_at_solve, "a warning was found only while building the working"
    assert all(step.kind for step in solution.steps) or problem_id not in KINDS_REQUIRED


@pytest.mark.slow
@pytest.mark.parametrize("problem", PROBLEMS, ids=[problem.id for problem in PROBLEMS])
def test_working_built_late_is_the_working_built_at_once(problem) -> None:  # type: ignore[no-untyped-def]
    eager = solve_problem(problem)
    if eager.solution is None:
        pytest.skip("refused: no working")
    eager_json = json.dumps(eager.solution.to_dict(), default=str, sort_keys=True)
    lazy = solve_problem(problem)
    assert lazy.solution is not None
    render(lazy.solution, "quiet", io.StringIO())
    assert json.dumps(lazy.solution.to_dict(), default=str, sort_keys=True) == eager_json
