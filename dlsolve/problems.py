"""Problem files (TOML) and JSON-Lines batches: load, solve with the registered commands, check.

A problem file holds ``[[problem]]`` tables::

    [[problem]]
    id = "1a-i"                       # unique within the files solved together
    title = "Conv output shape"
    question = "128 filters 3x3, stride 1, padding 0 on 32 images 28x28. Output shape?"
    command = "conv-shape"            # a command name, "filter apply" for a subcommand
    args = { in = 28, k = 3, batch = 32, filters = 128 }   # long option names, without "--"
    expected = { shape = [32, 128, 26, 26] }                # a subset of the JSON answer
    source = "midterm 1(a)(i)"
    note = "The sheet agrees."

Argument values may be strings, numbers, booleans (flags), lists (vectors, sizes) and lists of lists
(matrices; three levels: channels). Each goes through its option's own parser as a typed value, as
the command line's text does (:meth:`dlsolve.registry.Command.call`). Paths (``@file`` values and
options named ``file`` or ``*-file``) are relative to the problem file.

Checking: every key of ``expected`` must match the answer. Numbers match within
``rel_tol=1e-6, abs_tol=1e-9`` (or the problem's ``tolerance``), strings and booleans exactly,
lists element-wise with equal lengths, tables key by key (extra answer keys are ignored).
"""

from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dlsolve.errors import BadInput, DlsolveError, ExitStatus, InternalError, traceback_wanted

if TYPE_CHECKING:
    from dlsolve.solution import Solution

REL_TOL = 1e-6
ABS_TOL = 1e-9

PROBLEM_KEYS = {"id", "title", "question", "command", "args", "expected", "source", "note", "tolerance"}


@dataclass
class Problem:
    """One problem: which command to run with which arguments, and what answer to expect."""

    id: str
    command: str
    args: dict[str, Any]
    title: str = ""
    question: str = ""
    expected: dict[str, Any] = field(default_factory=dict)
    source: str = ""
    note: str = ""
    tolerance: float = REL_TOL
    origin: str = ""
    base_dir: Path = field(default_factory=Path)


@dataclass
class Outcome:
    """A problem with its solution or error, and the mismatches when checked."""

    problem: Problem
    solution: Solution | None = None
    error: DlsolveError | None = None
    mismatches: list[str] | None = None
    #: The command function's keyword arguments (parsed values): what answer checking recomputes from.
    kwargs: dict[str, Any] | None = None

    @property
    def verdict(self) -> str:
        """``pass`` or ``FAIL: mismatch; mismatch``."""
        return "pass" if self.passed else "FAIL: " + "; ".join(self.mismatches or [str(self.error)])

    def to_dict(self) -> dict[str, Any]:
        """JSON form used by ``solve --json`` and ``--jsonl``."""
        problem = self.problem
        return {
            "id": problem.id,
            "title": problem.title,
            "question": problem.question,
            "source": problem.source,
            "note": problem.note,
            "solution": self.solution.to_dict() if self.solution else None,
            "error": self.error.to_dict() if self.error else None,
            "check": None if self.mismatches is None else {"passed": self.passed, "mismatches": self.mismatches},
        }

    @property
    def expected_refusal(self) -> bool:
        """The problem expects this error (``expected = { error = "invalid-problem" }``)."""
        return self.error is not None and self.problem.expected.get("error") == self.error.kind

    @property
    def passed(self) -> bool:
        """Solved (or refused as expected) and, if checked, matching ``expected``."""
        return (self.error is None or self.expected_refusal) and not self.mismatches

    @property
    def exit_status(self) -> ExitStatus:
        """0 passed; 2 bad input in the problem (3 a bug); 1 no valid answer or a wrong one."""
        if self.passed:
            return ExitStatus.SOLVED
        if self.error is not None and not self.expected_refusal:
            return self.error.exit_status
        return ExitStatus.NO_VALID_ANSWER


# --------------------------------------------------------------------------- loading


def load_problem_file(path: Path) -> list[Problem]:
    """Problems of one TOML file, validated; errors name the file and the problem."""
    try:
        text = path.read_text(encoding="utf-8")
        data = tomllib.loads(text)
    except OSError as error:
        raise BadInput(f"cannot read problem file {str(path)!r}: {error.strerror or error}") from None
    except UnicodeDecodeError:
        raise BadInput(f"{path}: not UTF-8 text") from None
    except tomllib.TOMLDecodeError as error:
        raise BadInput(f"{path}: malformed TOML: {error}") from None
    tables = data.get("problem")
    if tables is None and "student" in data:
        return []  # a student's answers (for `solve --answers`) beside the problems: not problems
    if not isinstance(tables, list) or not tables:
        raise BadInput(f"{path}: expected one or more [[problem]] tables")
    # tomllib gives no positions: the n-th [[problem]] header line locates the n-th problem
    starts = [number for number, line in enumerate(text.splitlines(), 1) if line.strip() == "[[problem]]"]
    located = [f"{path}:{starts[i]}" if i < len(starts) else str(path) for i in range(len(tables))]
    return [_problem(table, where, index) for index, (table, where) in enumerate(zip(tables, located, strict=True), 1)]


def _problem(table: Any, location: str, index: int) -> Problem:
    """One validated problem; ``location`` is ``file:line`` of its ``[[problem]]`` header."""
    path = Path(location.rsplit(":", 1)[0]) if ":" in location else Path(location)
    where = f"{location}: problem {index}"
    if not isinstance(table, dict):
        raise BadInput(f"{where}: expected a table")
    if "id" in table:
        where = f"{location}: problem {table['id']!r}"
    unknown = set(table) - PROBLEM_KEYS
    if unknown:
        raise BadInput(f"{where}: unknown key(s) {', '.join(sorted(unknown))}")
    for key in ("id", "command"):
        if not isinstance(table.get(key), str) or not table[key].strip():
            raise BadInput(f"{where}: '{key}' must be a non-empty string")
    for key in ("args", "expected"):
        if not isinstance(table.get(key, {}), dict):
            raise BadInput(f"{where}: '{key}' must be a table")
    for key in ("title", "question", "source", "note"):
        if not isinstance(table.get(key, ""), str):
            raise BadInput(f"{where}: '{key}' must be a string")
    tolerance = table.get("tolerance", REL_TOL)
    if isinstance(tolerance, bool) or not isinstance(tolerance, int | float) or not 0 <= tolerance < 1:
        raise BadInput(f"{where}: 'tolerance' must be a number in [0, 1)")
    return Problem(
        id=table["id"],
        command=table["command"],
        args=table.get("args", {}),
        title=table.get("title", ""),
        question=table.get("question", ""),
        expected=table.get("expected", {}),
        source=table.get("source", ""),
        note=table.get("note", ""),
        tolerance=float(tolerance),
        origin=where,
        base_dir=path.parent,
    )


def load_problems(paths: list[Path], only: list[str] | None = None) -> list[Problem]:
    """Problems of several files (a folder: its ``*.toml`` files, sorted), in order.

    ``only`` keeps the given ids, or the ids matching a shell-style pattern (``1a*``, ``5-?``);
    each must match at least one problem.
    """
    files = [file for path in paths for file in (sorted(path.glob("*.toml")) if path.is_dir() else [path])]
    if not files:
        raise BadInput(f"no problem files (*.toml) in {', '.join(map(str, paths))}")
    problems = [problem for path in files for problem in load_problem_file(path)]
    seen: dict[str, str] = {}
    for problem in problems:
        if problem.id in seen:
            raise BadInput(f"{problem.origin}: duplicate id (also in {seen[problem.id]})")
        seen[problem.id] = problem.origin
    if only:
        from fnmatch import fnmatchcase

        def selected(id_: str, wanted: str) -> bool:
            return id_ == wanted or fnmatchcase(id_, wanted)

        missing = [wanted for wanted in only if not any(selected(id_, wanted) for id_ in seen)]
        if missing:
            import difflib

            ids = list(seen)
            close = [match for wanted in missing for match in difflib.get_close_matches(wanted, ids, n=3)]
            hint = f"; did you mean {', '.join(dict.fromkeys(close))}?" if close else ""
            listed = ", ".join(ids[:40]) + (", ..." if len(ids) > 40 else "")
            raise BadInput(f"no problem with id {', '.join(map(repr, missing))}{hint} (ids: {listed})", option="--only")
        problems = [problem for problem in problems if any(selected(problem.id, wanted) for wanted in only)]
    return problems


def solve_problem(problem: Problem, *, check: bool = False, full: bool = False) -> Outcome:
    """Solve ``problem``; with ``check`` compare its answer (or its refusal) with ``expected``; with
    ``full`` ask commands that have a ``--full`` working for it.

    An error fails this problem only: the sheet goes on with the others.
    """
    try:
        from dlsolve import registry

        command = registry.find(problem.command, problem.origin)
        args = {**problem.args, "full": True} if full and "full" in command.parameters else problem.args
        kwargs = command.bind(args, problem.origin, problem.base_dir)
        solution = command.function(**kwargs)
    except DlsolveError as error:
        return _failed(problem, error, check)
    except Exception as error:  # a bug in a solver
        if traceback_wanted():
            raise
        return _failed(problem, InternalError.from_exception(error), check)
    outcome = Outcome(problem, solution=solution, kwargs=kwargs)
    if check:
        outcome.mismatches = compare(problem.expected, solution.answer, problem.tolerance)
    return outcome


def _failed(problem: Problem, error: DlsolveError, check: bool) -> Outcome:
    if error.kind != "invalid-problem" and error.where is None and not error.message.startswith(problem.origin):
        error.where = problem.origin  # bad input in the file: say where, as for a bad option name
    outcome = Outcome(problem, error=error)
    if check:
        outcome.mismatches = [] if outcome.expected_refusal else [f"no answer: {error}"]
    return outcome


# --------------------------------------------------------------------------- checking


def _numbers_match(expected: float, actual: float, rel_tol: float) -> bool:
    return math.isclose(expected, actual, rel_tol=rel_tol, abs_tol=ABS_TOL)


def compare(expected: Any, actual: Any, rel_tol: float = REL_TOL, path: str = "answer") -> list[str]:
    """Mismatches between ``expected`` and ``actual`` (empty when they match)."""
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            return [f"{path}: expected a table, got {actual!r}"]
        problems = []
        for key, value in expected.items():
            if key not in actual:
                problems.append(f"{path}.{key}: missing from the answer")
            else:
                problems += compare(value, actual[key], rel_tol, f"{path}.{key}")
        return problems
    if isinstance(expected, list):
        if not isinstance(actual, list | tuple) or len(actual) != len(expected):
            return [f"{path}: expected {expected!r}, got {actual!r}"]
        return [
            m
            for i, (e, a) in enumerate(zip(expected, actual, strict=True))
            for m in compare(e, a, rel_tol, f"{path}[{i}]")
        ]
    if isinstance(expected, bool) or isinstance(actual, bool) or expected is None:
        return (
            []
            if type(expected) is type(actual) and expected == actual
            else [f"{path}: expected {expected!r}, got {actual!r}"]
        )
    if isinstance(expected, int | float):
        if isinstance(actual, int | float) and _numbers_match(float(expected), float(actual), rel_tol):
            return []
        return [f"{path}: expected {expected!r}, got {actual!r}"]
    return [] if expected == actual else [f"{path}: expected {expected!r}, got {actual!r}"]
