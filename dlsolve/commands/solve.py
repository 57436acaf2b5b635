"""``dlsolve solve``: problem files as one answer sheet, checked, or a JSON Lines batch on stdin."""

from __future__ import annotations

import sys
from typing import Annotated, Any

import typer

from dlsolve.errors import BadInput, ExitStatus

SOLVE_HELP = """Solve problem files as one answer sheet, check them, or run a JSON Lines batch.

Examples:

  dlsolve solve problems/midterm.toml

  dlsolve solve problems/*.toml --check -q

  dlsolve solve problems/midterm.toml --only 1a-i --markdown -o key.md

  echo '{"command": "conv-shape", "args": {"in": 28, "k": 3}}' | dlsolve solve -

Problem files are TOML ([[problem]] with id, title, question, command, args, expected, source,
note; see problems/README.md). --check compares each answer with `expected` (numbers within a
relative tolerance of 1e-6), prints a pass/fail table and exits 1 on any mismatch (2 if a
problem's input is bad: the sheet still shows the others). With `-`,
each input line {"command": ..., "args": {...}} gives one JSON answer line, in order; a bad line
gives an {"error": ...} line and the batch goes on; exit 1 if any line failed.

--answers FILE grades a student's sheet (TOML: problem id = answer) or a class (CSV: student,
problem, answer): correct, wrong, missing or unreadable, and for a wrong answer the known mistake
that reproduces it exactly. Example: dlsolve solve problems/midterm.toml --answers problems/midterm-sheet.toml
"""


def solve(
    files: Annotated[
        list[str], typer.Argument(help="Problem files (TOML) or folders of them, or - for JSON Lines on stdin.")
    ],
    only: Annotated[
        list[str] | None, typer.Option("--only", help="Solve only this problem id, or ids matching 1a* (repeatable).")
    ] = None,
    check: Annotated[
        bool, typer.Option("--check", help="Compare answers with `expected`; exit 1 on a mismatch.")
    ] = False,
    json_output: Annotated[bool, typer.Option("--json", help="All problems as one JSON document.")] = False,
    jsonl: Annotated[bool, typer.Option("--jsonl", help="One JSON object per problem per line.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="One line per problem: id: answer.")] = False,
    latex: Annotated[bool, typer.Option("--latex", help="A standalone LaTeX answer key.")] = False,
    markdown: Annotated[bool, typer.Option("--markdown", help="A Markdown answer key.")] = False,
    html: Annotated[bool, typer.Option("--html", help="An answer key as one HTML page (MathML, no scripts).")] = False,
    full: Annotated[
        bool, typer.Option("--full", help="The full working (every cell, every check) where a command has one.")
    ] = False,
    output: Annotated[str | None, typer.Option("--output", "-o", help="Write to this file instead of stdout.")] = None,
    answers: Annotated[
        str | None,
        typer.Option(
            "--answers", help="Grade a student's answers: TOML (id = answer) or a class CSV (student,problem,answer)."
        ),
    ] = None,
    gradebook: Annotated[
        str | None,
        typer.Option("--gradebook", help="With --answers: write a CSV, one row per student (verdicts, score)."),
    ] = None,
    tol: Annotated[
        float, typer.Option("--tol", help="With --answers: relative tolerance for float answers.", min=0.0)
    ] = 1e-3,
) -> int:
    from pathlib import Path

    from dlsolve import problems
    from dlsolve.cli import output_mode

    if files == ["-"]:
        from dlsolve.batch import solve_batch

        return solve_batch(sys.stdin, sys.stdout)
    if "-" in files:
        raise BadInput("'-' (JSON Lines on stdin) cannot be mixed with problem files", option="FILE")
    flags = {"json": json_output, "quiet": quiet, "latex": latex, "markdown": markdown, "html": html, "jsonl": jsonl}
    mode = output_mode(**{key: value for key, value in flags.items() if key != "jsonl"})
    if jsonl and mode != "rich":
        raise BadInput(f"choose one output mode, got --jsonl and --{mode}", option="--jsonl")
    if gradebook is not None and answers is None:
        raise BadInput("--gradebook needs --answers FILE", option="--gradebook")
    loaded = problems.load_problems([Path(name) for name in files], only)
    if answers is not None:
        return _grade(loaded, answers, gradebook, tol, mode, output)
    stream = _open_output(output)
    try:
        outcomes = []
        for problem in loaded:
            outcome = problems.solve_problem(problem, check=check, full=full)
            outcomes.append(outcome)
            if jsonl:
                from dlsolve.render.json_view import dumps

                stream.write(dumps(outcome.to_dict(), indent=None) + "\n")
        if not jsonl:
            from dlsolve.render import render_sheet

            render_sheet(outcomes, mode, stream, check=check)
    finally:
        if stream is not sys.stdout:
            stream.close()
    return int(max((outcome.exit_status for outcome in outcomes), default=ExitStatus.SOLVED))


def _grade(loaded: list[Any], answers: str, gradebook: str | None, tol: float, mode: str, output: str | None) -> int:
    """Solve each problem once, grade every student's answers, render the verdicts."""
    from dlsolve import problems
    from dlsolve.grading import sheet
    from dlsolve.render import render

    sheets = sheet.read_answers(answers)
    outcomes = [problems.solve_problem(problem) for problem in loaded]
    results, warnings = sheet.grade_students(outcomes, sheets, tol)
    if gradebook is not None:
        sheet.write_gradebook(gradebook, results)
    if len(results) == 1:
        student, verdicts = next(iter(results.items()))
        solution = sheet.sheet_solution(verdicts, warnings, student)
    else:
        solution = sheet.class_solution(results, warnings)
    stream = _open_output(output)
    try:
        render(solution, mode, stream)
    finally:
        if stream is not sys.stdout:
            stream.close()
    return int(ExitStatus.SOLVED)


def _open_output(path: str | None) -> Any:
    if path is None or path == "-":
        return sys.stdout
    try:
        return open(path, "w", encoding="utf-8")
    except OSError as error:
        raise BadInput(f"cannot write {path!r}: {error.strerror or error}", option="--output") from None
