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

settings.register_profile("ci", max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
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


@pytest.fixture(scope="session")
def problem_set() -> dict[str, Any]:
    """Every problem of problems/ solved once per test run: the payload of ``solve problems --json``."""
    from pathlib import Path

    result = run_cli("solve", str(Path(__file__).resolve().parents[1] / "problems"), "--json")
    return result.json()
