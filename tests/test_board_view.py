"""The terminal board view of every problem in problems/: snapshots, and every number of each
JSON answer shown whole (never cut by wrapping) at 80 columns."""

from __future__ import annotations

import io
import math
import re
from pathlib import Path
from typing import Any

import pytest

from dlsolve.problems import load_problems
from dlsolve.solution import Heatmap, Solution, Step, Table

NARROW = 80
PROBLEMS = Path(__file__).resolve().parents[1] / "problems"
IDS = [problem.id for problem in load_problems(sorted(PROBLEMS.glob("*.toml")))]


@pytest.fixture(scope="module")
def solved(solved_problems: dict[str, Any]) -> dict[str, Solution]:
    """Every problem of problems/ solved (once per session, see conftest), by id."""
    return {pid: s.outcome.solution for pid, s in solved_problems.items() if s.outcome.solution is not None}


@pytest.fixture(scope="module")
def views(solved: dict[str, Solution]) -> dict[str, str]:
    """The 80-column board view of each solved problem."""
    return {problem_id: view(solution, NARROW) for problem_id, solution in solved.items()}


def view(solution: Solution, width: int) -> str:
    """The rich view of ``solution`` at ``width`` columns, without colour."""
    from rich.console import Console

    from dlsolve.render.rich_view import solution_renderable

    stream = io.StringIO()
    console = Console(file=stream, width=width, color_system=None, highlight=False, soft_wrap=False)
    console.print(solution_renderable(solution, width))
    return stream.getvalue()


_TOKEN = re.compile(r"(?<![\w.])[-−]?\d+(?:,\d{3})*(?:\.\d+)?(?:e[-+]?\d+)?(?:/\d+)?(?![\w]|\.\d)")


def _numbers(value: Any) -> list[float]:
    if isinstance(value, bool) or value is None:
        return []
    if isinstance(value, int | float):
        return [float(value)]
    if isinstance(value, dict):
        return [n for item in value.values() for n in _numbers(item)]
    if isinstance(value, list):
        return [n for item in value for n in _numbers(item)]
    return []


def _significant(token: str) -> int:
    digits = re.sub(r"e.*", "", token).replace(",", "").replace(".", "").lstrip("-−0")
    return max(len(digits), 1)


def _represents(token: str, number: float) -> bool:
    """Whether ``token`` (as shown: ``0.42265``, ``1/32``, ``46,513``) is ``number`` to its precision."""
    text = token.replace(",", "").replace("−", "-")
    if "/" in text:
        numerator, denominator = text.split("/")
        return float(denominator) != 0 and math.isclose(float(numerator) / float(denominator), number, rel_tol=1e-9)
    value = float(text)
    if value == number:
        return True
    if value == 0 or ("." not in text and "e" not in text):
        return False
    mantissa = re.sub(r"e.*", "", text)
    decimals = len(mantissa.split(".")[1]) if "." in mantissa else 0
    exponent = int(text.split("e")[1]) if "e" in text else 0
    return abs(value - number) <= 0.51 * 10 ** (exponent - decimals)


def shown_forms(text: str, number: float) -> list[str]:
    """The tokens of ``text`` that show ``number``."""
    return [token for token in _TOKEN.findall(text) if _represents(token, number)]


def _texts(step: Step) -> list[str]:
    texts = [step.title, step.text]
    for block in step.blocks:
        if isinstance(block, Table):
            texts += [*block.columns, *(cell for row in block.rows for cell in row)]
        elif isinstance(block, Heatmap):
            texts += [cell for row in block.cells for cell in row]
    return texts + [text for substep in step.substeps for text in _texts(substep)]


def written(solution: Solution) -> str:
    """Everything the solution writes, unwrapped (the forms its numbers take before any layout)."""
    return "\n".join([solution.summary, *(text for step in solution.steps for text in _texts(step))])


def test_every_answer_number_is_shown_whole_at_80_columns(solved: dict[str, Solution], views: dict[str, str]) -> None:
    """A number of the JSON answer that the working writes appears in the 80-column view with all
    the digits it was written with: no wrapping cut it ("0.018/8")."""
    cut = []
    for problem_id, solution in solved.items():
        source, shown = _TOKEN.findall(written(solution)), _TOKEN.findall(views[problem_id])
        for number in set(_numbers(solution.answer)):
            digits = max((_significant(t) for t in source if _represents(t, number)), default=0)
            if digits and max((_significant(t) for t in shown if _represents(t, number)), default=0) < digits:
                cut.append(f"{problem_id}: {number}")
    assert not cut


def test_cut_numbers_are_caught() -> None:
    """The check above fails on a number split by wrapping."""
    assert shown_forms("0.42264973081", 0.42264973081) == ["0.42264973081"]
    assert max(map(_significant, shown_forms("0.42264973\n081", 0.42264973081))) < 11
    assert not shown_forms("0.018\n8", 0.0188)
    assert shown_forms("rho = 1/32", 0.03125) == ["1/32"]
    assert shown_forms("46,513 parameters", 46513) == ["46,513"]


@pytest.mark.parametrize("problem_id", IDS)
def test_board_view_snapshot(problem_id: str, views: dict[str, str], snapshot) -> None:  # type: ignore[no-untyped-def]
    """The 80-column board view of each problem (review the snapshot when a working changes)."""
    assert views.get(problem_id, "no solution") == snapshot


@pytest.mark.parametrize("width", [24, 40, 60, 100])
def test_tables_never_cut_a_word_or_a_number(width: int) -> None:
    """Wide tables wrap at spaces, turn (one row per column) or list their rows, as the width asks."""
    from rich.console import Console

    from dlsolve.render.rich_view import renderable

    table = Table(
        ["run", "regime", "learning rate", "final/first", "swing/drop", "message"],
        [
            ["A", "diverging", "too high", "5.89", "0.0187654", "the loss blew up at step 5"],
            ["B", "healthy", "ok", "0.191", "0.018832", "fell from 2.3 to 0.44 and flattened"],
        ],
    )
    stream = io.StringIO()
    Console(file=stream, width=width, color_system=None).print(renderable(table, width))
    lines = stream.getvalue().splitlines()
    assert max(len(line) for line in lines) <= width
    shown = {word.strip("│┃:") for line in lines for word in line.split()}
    # every word, except the first column's name (a listed row starts with its first cell alone)
    for word in {word for row in [table.columns[1:], *table.rows] for cell in row for word in cell.split()}:
        assert word in shown, (word, width)
