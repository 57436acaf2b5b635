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
from dlsolve.step_kinds import all_kinds

ROOT = Path(__file__).resolve().parent.parent
PROBLEMS = load_problems([ROOT / "problems"])
#: Commands whose every step carries a kind declared in its module's STEP_KINDS (grows as solvers declare theirs).
KINDED_COMMANDS = {"attention", "attention shapes", "sgd-limit", "convergence-bound"}
#: Problems whose every step must carry a kind (grows as the solvers declare theirs).
KINDS_REQUIRED: set[str] = {
    *("seq-linear-rnn", "seq-tanh-rnn", "seq-relu-rnn-exact", "seq-lstm-two-steps", "seq-gru-two-steps"),
    *("seq-greedy-decoding", "seq-beam-two", "seq-beam-misses"),
    *(problem.id for problem in PROBLEMS if problem.command in KINDED_COMMANDS),
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


def _walk(steps: list[Step]) -> list[Step]:
    return [s for step in steps for s in (step, *_walk(step.substeps))]


@pytest.mark.parametrize("problem_id", sorted(p.id for p in PROBLEMS if p.command in KINDED_COMMANDS))
def test_declared_kinds_and_late_working_equals_eager(problem_id: str, solved_problems) -> None:  # type: ignore[no-untyped-def]
    """For the commands with declared kinds (in CI, unlike the slow test above): solving never built the
    working, the late working equals one built at once, and every step's kind is declared."""
    solved = solved_problems[problem_id]
    assert not solved.working_built_at_solve, "solving (and checking) built the working"
    eager = solve_problem(solved.problem).solution
    assert eager is not None and eager.steps
    lazy = solved.outcome.solution
    assert json.dumps(lazy.to_dict(), sort_keys=True) == json.dumps(eager.to_dict(), sort_keys=True)
    declared = all_kinds()
    for step in _walk(lazy.steps):
        assert step.kind in declared, f"{problem_id}: step {step.title!r} has undeclared kind {step.kind!r}"
