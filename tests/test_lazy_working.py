"""attention, attention shapes, sgd-limit, convergence-bound: the working on demand, and step kinds.

For every problem in problems/ using these commands: the answer, summary, quiet and warnings exist
before the working is built (what ``-q``, batch mode and answer checking read), and the JSON of the
lazy path (working built last) is identical to that of the eager path (working built at once).
Every step they write carries a kind declared in its module's ``STEP_KINDS``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from dlsolve.problems import Problem, load_problems
from dlsolve.solution import Solution, Step
from dlsolve.step_kinds import all_kinds

COMMANDS = ("attention", "attention shapes", "sgd-limit", "convergence-bound")
PROBLEM_FILES = sorted((Path(__file__).resolve().parents[1] / "problems").glob("*.toml"))
PROBLEMS = [problem for problem in load_problems(PROBLEM_FILES) if problem.command in COMMANDS]


def run(problem: Problem) -> Solution:
    """Call the problem's command with its arguments (through the registry once it exists)."""
    import dlsolve

    if not (Path(dlsolve.__file__).parent / "registry.py").exists():  # before the new CLI layout
        from dlsolve.cli import COMMANDS as commands
        from dlsolve.problems import run_command

        return run_command(commands, problem.command, problem.args, problem.origin, problem.base_dir)
    from dlsolve import registry  # type: ignore[attr-defined]

    return registry.run(problem.command, problem.args, problem.origin, problem.base_dir)


def walk(steps: list[Step]) -> list[Step]:
    return [s for step in steps for s in (step, *walk(step.substeps))]


def dump(data: Any) -> str:
    return json.dumps(data, sort_keys=True, ensure_ascii=False)


def test_problems_cover_every_command() -> None:
    assert {problem.command for problem in PROBLEMS} == set(COMMANDS)


@pytest.mark.parametrize("problem", PROBLEMS, ids=[p.id for p in PROBLEMS])
def test_lazy_and_eager_json_are_identical(problem: Problem) -> None:
    eager = run(problem)
    eager_steps = eager.steps  # built at once
    lazy = run(problem)
    assert not lazy.working_built, "the working was built although nothing read it"
    before = dump([lazy.answer, lazy.summary, lazy.quiet, lazy.warnings, lazy.answer_latex])
    assert not lazy.working_built, "reading the answer built the working"
    assert dump(lazy.to_dict()) == dump(eager.to_dict())
    assert dump([lazy.answer, lazy.summary, lazy.quiet, lazy.warnings, lazy.answer_latex]) == before
    assert eager_steps, "no working"
    declared = all_kinds()
    for step in walk(lazy.steps):
        assert step.kind in declared, f"{problem.id}: step {step.title!r} has undeclared kind {step.kind!r}"


def test_full_working_has_declared_kinds_and_more_steps() -> None:
    """convergence-bound's full working (the CLI's --full) adds steps; every one has a declared kind."""
    from dlsolve.parsing import parse_matrix
    from dlsolve.solvers.convergence import solve_convergence_bound

    x = parse_matrix("1,0,1;0,1,1", "--x")
    concise = solve_convergence_bound(x, p=[1 / 3, 2 / 3], eps=0.001)
    full = solve_convergence_bound(x, p=[1 / 3, 2 / 3], eps=0.001, full=True)
    assert dump(concise.answer) == dump(full.answer)
    concise_kinds = [step.kind for step in walk(concise.steps)]
    full_kinds = [step.kind for step in walk(full.steps)]
    extras = {
        "convergence.identity-check",
        "convergence.tight-bound",
        "convergence.exact-factor",
        "convergence.comparison",
        "convergence.kaczmarz",
    }
    assert not extras & set(concise_kinds)
    assert extras <= set(full_kinds)
    assert concise_kinds[-2:] == ["convergence.bound", "convergence.steps-to-eps"]
    declared = all_kinds()
    assert all(kind in declared for kind in full_kinds)


def test_quiet_answers_even_when_the_working_would_fail(monkeypatch: pytest.MonkeyPatch) -> None:
    """-q never builds the working: a working that raises does not stop the answer."""
    from dlsolve.parsing import parse_matrix
    from dlsolve.solvers import convergence_steps
    from dlsolve.solvers.convergence import solve_convergence_bound

    def broken(context: Any) -> list[Step]:
        raise RuntimeError("the working was built")

    monkeypatch.setattr(convergence_steps, "working", broken)
    solution = solve_convergence_bound(parse_matrix("1,0,0;0,2,0", "--x"))
    assert "rho=1/32" in solution.quiet
    with pytest.raises(RuntimeError):
        solution.steps  # noqa: B018


def test_quiet_has_no_sympy_on_the_float_path() -> None:
    """convergence-bound -q on float data never imports SymPy (the derivation is working only)."""
    import subprocess
    import sys

    code = (
        "import sys, numpy as np\n"
        "from dlsolve.parsing import Matrix\n"
        "from dlsolve.solvers.convergence import solve_convergence_bound\n"
        "s = solve_convergence_bound(Matrix(array=np.random.default_rng(0).standard_normal((30, 20))))\n"
        "print(s.quiet)\n"
        "print('sympy' in sys.modules)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.splitlines()[-1] == "False", result.stdout
