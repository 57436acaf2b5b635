"""Every problem in problems/*.toml is a golden test: `dlsolve solve FILE --check` must pass."""

from __future__ import annotations

from pathlib import Path

import pytest

from dlsolve.problems import Problem, load_problems

PROBLEM_FILES = sorted((Path(__file__).resolve().parents[1] / "problems").glob("*.toml"))
PROBLEMS = load_problems(PROBLEM_FILES)


@pytest.mark.parametrize("problem", PROBLEMS, ids=[p.id for p in PROBLEMS])
def test_problem_checks(problem: Problem, solved_problems) -> None:  # type: ignore[no-untyped-def]
    assert problem.expected, f"{problem.origin}: no expected answer, so the check could not fail"
    assert problem.title and problem.question, f"{problem.origin}: title and question are required"
    outcome = solved_problems[problem.id].outcome
    assert outcome.passed, outcome.verdict


def test_enough_problems_beyond_the_exam() -> None:
    by_file = {path.name: len(load_problems([path])) for path in PROBLEM_FILES}
    assert by_file.pop("midterm.toml") >= 14
    assert sum(by_file.values()) >= 40


def test_every_exam_part_is_in_the_answer_key() -> None:
    ids = {p.id for p in load_problems([p for p in PROBLEM_FILES if p.name == "midterm.toml"])}
    for part in ("1a-i", "1a-ii", "1b", "1c", "1e", "1f", "1g", "2a", "2b", "3", "4-i", "4-ii", "5-i", "5-ii"):
        assert part in ids


@pytest.mark.slow
def test_solve_check_all_files_exit_zero(cli) -> None:  # type: ignore[no-untyped-def]
    result = cli("solve", *map(str, PROBLEM_FILES), "--check", "-q")
    assert result.exit_code == 0, result.stdout + result.stderr
