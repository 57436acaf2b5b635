"""Shared test set-up: Hypothesis profiles (thorough locally, bounded in CI) and CLI helpers."""

from __future__ import annotations

import io
import json
import os
import sys
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile("ci", max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("thorough", max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "thorough"))


@dataclass
class Result:
    exit_code: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        return json.loads(self.stdout)


def run_cli(*args: str, stdin: str | bytes = "") -> Result:
    """Run ``dlsolve ARGS`` in-process through :func:`dlsolve.cli.main`, capturing the streams."""
    from dlsolve.cli import main

    out, err = io.StringIO(), io.StringIO()
    saved = sys.stdout, sys.stderr, sys.stdin
    sys.stdout, sys.stderr, sys.stdin = (
        out,
        err,
        io.TextIOWrapper(io.BytesIO(stdin if isinstance(stdin, bytes) else stdin.encode()), encoding="utf-8"),
    )
    try:
        code = main(list(args))
    finally:
        sys.stdout, sys.stderr, sys.stdin = saved
    return Result(code, out.getvalue(), err.getvalue())


@pytest.fixture
def cli():
    """``cli("conv-shape", "--in", "28", "--k", "3", "--json")`` -> Result."""
    return run_cli


# --------------------------------------------------------------------------- profiles and shared fixtures


def pytest_configure(config: pytest.Config) -> None:
    """Snapshots are rewritten one file per test module: several workers updating the same file
    would overwrite each other's snapshots, so ``--snapshot-update`` needs one process (``-n 0``)."""
    workers = getattr(config.option, "numprocesses", None)
    if config.getoption("--snapshot-update", default=False) and workers not in (None, 0):
        raise pytest.UsageError("--snapshot-update writes shared snapshot files: run it with -n 0")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The CI profile (``CI`` set) leaves out tests marked ``slow`` (subprocesses, whole-sheet
    reruns); the thorough local profile runs them. ``DLSOLVE_SLOW=1`` runs them in CI too."""
    if not os.environ.get("CI") or os.environ.get("DLSOLVE_SLOW"):
        return
    skip = pytest.mark.skip(reason="slow: run in the thorough profile (unset CI, or DLSOLVE_SLOW=1)")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


@dataclass
class Solved:
    """A problem of ``problems/`` solved once for the whole session, with what was true right then."""

    problem: Any
    outcome: Any
    warnings_at_solve: list[str]
    working_built_at_solve: bool


@pytest.fixture(scope="session")
def solved_problems() -> dict[str, Solved]:
    """Every problem in ``problems/`` solved (and checked) once per session: id -> :class:`Solved`."""
    from pathlib import Path

    from dlsolve.problems import load_problems, solve_problem

    solved = {}
    # Relative to the working folder (the repository, where pytest runs): paths that a working shows,
    # such as train-loop's file, are then the same in every checkout.
    folder = Path(os.path.relpath(Path(__file__).resolve().parent.parent / "problems"))
    for problem in load_problems([folder]):
        outcome = solve_problem(problem, check=True)
        solution = outcome.solution
        solved[problem.id] = Solved(
            problem,
            outcome,
            list(solution.warnings) if solution is not None else [],
            solution.working_built if solution is not None else True,
        )
    return solved


@pytest.fixture(autouse=True)
def _torch_default_dtype_restored() -> Any:
    """Golden generators imported by live torch tests set torch's default dtype to float64 at import;
    the tests after them expect PyTorch's float32 default."""
    yield
    torch = sys.modules.get("torch")
    if torch is not None and hasattr(torch, "get_default_dtype") and torch.get_default_dtype() != torch.float32:
        torch.set_default_dtype(torch.float32)
