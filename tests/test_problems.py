"""Problem files, checking, argument conversion and JSON Lines batch mode (with a stand-in command)."""

from __future__ import annotations

import json
import os
import select
import subprocess
import sys
from fractions import Fraction
from pathlib import Path
from typing import Annotated

import pytest
import typer

from dlsolve import fmt, registry
from dlsolve.commands import option
from dlsolve.errors import BadInput, InvalidProblem
from dlsolve.parsing import parse_channels, parse_matrix, parse_scalar
from dlsolve.problems import compare, load_problem_file, load_problems, solve_problem
from dlsolve.registry import Command
from dlsolve.solution import Solution
from dlsolve.values import Matrix


def scaled_sum(
    matrix: Annotated[Matrix, option("--matrix", "--m", parse=parse_matrix, help="A matrix.")],
    scale: Annotated[Fraction, option("--scale", parse=parse_scalar, help="A number.")] = Fraction(1),
    negate: Annotated[bool, option("--negate", help="A flag.")] = False,
    labels: Annotated[list[str] | None, typer.Option("--label")] = None,
) -> Solution:
    """Stand-in command: the sum of a matrix's entries times a scale."""
    rows = matrix.tolist()
    total = sum((v for row in rows for v in row), Fraction(0)) * scale
    if total == 0:
        raise InvalidProblem("the sum is zero", option="--matrix")
    total = -total if negate else total
    answer = {"sum": fmt.json_number(total), "exact": fmt.exact(total), "labels": labels or []}
    return Solution("scaled-sum", {"rows": fmt.matrix(rows)}, answer, f"sum = {fmt.number(total)}", fmt.exact(total))


def broken(matrix: Annotated[str, typer.Option("--matrix", "--m")]) -> Solution:
    """Stand-in for a solver with a bug."""
    raise ZeroDivisionError("a bug")


FAKE = {"scaled-sum": Command("scaled-sum", scaled_sum), "broken": Command("broken", broken)}


def write(tmp_path: Path, text: str, name: str = "p.toml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    ("value", "text"),
    [
        ([1, 2], "1,2"),
        ([[1, 2], [3, 4]], "1,2;3,4"),
        ([[0.1, -2.5]], "0.1,-2.5"),  # a TOML float is the decimal it prints as: 0.1 is 1/10
    ],
)
def test_typed_values_go_through_the_same_parser_as_text(value: list, text: str) -> None:  # type: ignore[type-arg]
    assert parse_matrix(value, "--m") == parse_matrix(text, "--m")
    assert FAKE["scaled-sum"].call({"m": value}, "here").answer == FAKE["scaled-sum"].call({"m": text}, "here").answer


@pytest.mark.parametrize(
    ("value", "text"),
    [([[[1, 2], [3, 4]], [[5, 6], [7, 8]]], "1,2;3,4;;5,6;7,8"), ([[[1, 2]], [[3, 4]]], "1,2;;3,4")],
)
def test_typed_channels_are_channels(value: list, text: str) -> None:  # type: ignore[type-arg]
    assert parse_channels(value, "--image") == parse_channels(text, "--image")


@pytest.mark.parametrize(("value", "message"), [([1, [2, 3]], "numbers and lists mixed"), ([[[[1]]]], "a number")])
def test_typed_matrices_ragged_or_too_deep_are_refused(value: list, message: str) -> None:  # type: ignore[type-arg]
    with pytest.raises(BadInput, match=message):
        FAKE["scaled-sum"].call({"m": value}, "here")


def test_only_takes_ids_and_patterns_and_folders_hold_problem_files(tmp_path: Path) -> None:
    entry = "[[problem]]\nid = '{}'\ncommand = 'x'\n"
    write(tmp_path, entry.format("1a-i") + entry.format("1a-ii") + entry.format("2[b]"), "a.toml")
    write(tmp_path, entry.format("5"), "b.toml")
    write(tmp_path, "not a problem file", "notes.txt")
    assert [p.id for p in load_problems([tmp_path])] == ["1a-i", "1a-ii", "2[b]", "5"]
    assert [p.id for p in load_problems([tmp_path], only=["1a*"])] == ["1a-i", "1a-ii"]
    assert [p.id for p in load_problems([tmp_path], only=["2[b]", "?"])] == ["2[b]", "5"]  # exact id, or pattern
    with pytest.raises(BadInput, match="no problem with id '9\\*'"):
        load_problems([tmp_path], only=["9*"])
    (tmp_path / "empty").mkdir()
    with pytest.raises(BadInput, match="no problem files"):
        load_problems([tmp_path / "empty"])


def test_parameters_map_long_names_and_aliases() -> None:
    parameters = FAKE["scaled-sum"].parameters
    assert {option: parameter.name for option, parameter in parameters.items()} == {
        "matrix": "matrix",
        "m": "matrix",
        "scale": "scale",
        "negate": "negate",
        "label": "labels",
    }
    assert [parameters[o].kind for o in ("m", "scale", "negate", "label")] == ["value", "value", "flag", "list"]


def test_call_converts_typed_values_with_each_options_parser(tmp_path: Path) -> None:
    solution = FAKE["scaled-sum"].call(
        {"m": [[1, 2], [3, 0.5]], "scale": 0.1, "negate": True, "label": ["a", 3]}, "here", tmp_path
    )
    assert solution.answer == {"sum": -0.65, "exact": "-0.65", "labels": ["a", "3"]}
    (tmp_path / "m.csv").write_text("1,2\n3,4\n")
    assert FAKE["scaled-sum"].call({"matrix": "@m.csv"}, "here", tmp_path).answer["sum"] == 10


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({"scale": 2}, "needs matrix"),
        ({"matrix": "1", "bogus": 1}, "no option 'bogus'"),
        ({"matrix": "1", "negate": "yes"}, "is a flag"),
        ({"matrix": {"a": 1}}, "expected a number"),
        ({"matrix": float("nan")}, "finite"),
    ],
)
def test_call_errors(args: dict, message: str) -> None:  # type: ignore[type-arg]
    with pytest.raises(BadInput, match=message):
        FAKE["scaled-sum"].call(args, "f.toml: problem 'x'")


@pytest.mark.parametrize(
    ("expected", "actual", "ok"),
    [
        ({"a": 1}, {"a": 1.0000000001, "b": 2}, True),
        ({"a": 1}, {"a": 1.001}, False),
        ({"a": [1, 2]}, {"a": [1, 2, 3]}, False),
        ({"a": [[1, 2]]}, {"a": [[1, 2]]}, True),
        ({"a": "3/7"}, {"a": "3/7"}, True),
        ({"a": "3/7"}, {"a": 3 / 7}, False),
        ({"a": True}, {"a": 1}, False),
        ({"a": None}, {"a": None}, True),
        ({"a": {"b": 1}}, {"a": {"b": 1, "c": 2}}, True),
        ({"a": 0}, {"a": 1e-12}, True),
        ({"missing": 1}, {}, False),
    ],
)
def test_compare(expected: dict, actual: dict, ok: bool) -> None:
    assert (compare(expected, actual) == []) is ok


def test_load_solve_and_check(tmp_path: Path, fake_commands: None) -> None:
    path = write(
        tmp_path,
        """
[[problem]]
id = "ok"
title = "Sum"
command = "scaled-sum"
args = { m = "1,2;3,4", scale = "1/10" }
expected = { sum = 1, exact = "1" }

[[problem]]
id = "wrong"
command = "scaled-sum"
args = { m = "1,2;3,4" }
expected = { sum = 11 }

[[problem]]
id = "refused"
command = "scaled-sum"
args = { m = "1,-1" }
expected = { error = "invalid-problem" }
""",
    )
    outcomes = [solve_problem(p, check=True) for p in load_problem_file(path)]
    assert [o.passed for o in outcomes] == [True, False, True]
    assert outcomes[1].mismatches == ["answer.sum: expected 11, got 10"]
    assert outcomes[2].error is not None and outcomes[2].verdict == "pass"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[[problem]]\nid = 'a'\ncommand = \n", "malformed TOML.*line 3"),
        ("title = 'x'\n", r"\[\[problem\]\]"),
        ("[[problem]]\nid = 'a'\ncommand = 'x'\nbogus = 1\n", "problem 'a': unknown key"),
        ("[[problem]]\nid = 'a'\n", "problem 'a': 'command'"),
        ("[[problem]]\nid = 'a'\ncommand = 'x'\nargs = 3\n", "'args' must be a table"),
    ],
)
def test_bad_problem_files_name_file_and_problem(tmp_path: Path, text: str, message: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(BadInput, match=message) as caught:
        load_problem_file(path)
    assert str(path) in str(caught.value)


def test_problem_errors_give_the_line_of_the_problem(tmp_path: Path) -> None:
    path = write(tmp_path, "[[problem]]\nid = 'a'\ncommand = 'x'\n\n[[problem]]\nid = 'b'\ncommand = 'x'\nbad = 1\n")
    with pytest.raises(BadInput, match=rf"{path}:5: problem 'b': unknown key\(s\) bad"):
        load_problem_file(path)


def test_duplicate_ids_and_only(tmp_path: Path) -> None:
    one = write(tmp_path, "[[problem]]\nid = 'a'\ncommand = 'x'\n", "one.toml")
    two = write(tmp_path, "[[problem]]\nid = 'a'\ncommand = 'x'\n", "two.toml")
    with pytest.raises(BadInput, match="duplicate id"):
        load_problems([one, two])
    assert [p.id for p in load_problems([one], only=["a"])] == ["a"]
    with pytest.raises(BadInput, match="no problem with id 'b'"):
        load_problems([one], only=["b"])


@pytest.fixture
def fake_commands(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, command in FAKE.items():
        monkeypatch.setitem(registry.COMMANDS, name, command)


def test_batch_streams_answers_and_errors_in_order(cli, fake_commands) -> None:  # type: ignore[no-untyped-def]
    lines = [
        json.dumps({"command": "scaled-sum", "args": {"m": "1,2", "scale": 2}}),
        "{not json",
        json.dumps({"command": "nope", "args": {}}),
        "",
        json.dumps({"command": "scaled-sum", "args": {"m": "1,-1"}}),
        json.dumps(["a list"]),
        json.dumps({"command": "scaled-sum", "args": {"m": [[1, 1]]}}),
    ]
    result = cli("solve", "-", stdin="\n".join(lines) + "\n")
    replies = [json.loads(line) for line in result.stdout.splitlines()]
    assert result.exit_code == 1
    assert len(replies) == 6
    assert replies[0]["answer"]["sum"] == 6
    assert replies[1]["error"]["line"] == 2 and "not valid JSON" in replies[1]["error"]["message"]
    assert replies[2]["error"]["line"] == 3 and "unknown command 'nope'" in replies[2]["error"]["message"]
    assert replies[3]["error"]["kind"] == "invalid-problem" and replies[3]["error"]["line"] == 5
    assert replies[4]["error"]["line"] == 6
    assert replies[5]["answer"]["sum"] == 2


def test_batch_answers_each_line_before_the_next_arrives() -> None:
    """A script may write one line and wait for its answer: the batch must not hold answers back."""
    command = [sys.executable, "-m", "dlsolve", "solve", "-"]
    environment = {**os.environ, "PYTHONUNBUFFERED": ""}
    with subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=environment) as process:
        assert process.stdin is not None and process.stdout is not None
        try:
            for size, expected in ((28, [26, 26]), (10, [8, 8])):
                request = {"command": "conv-shape", "args": {"in": size, "k": 3}}
                process.stdin.write(json.dumps(request).encode() + b"\n")
                process.stdin.flush()
                ready, _, _ = select.select([process.stdout], [], [], 60)
                assert ready, "no answer while the input is still open"
                assert json.loads(process.stdout.readline())["answer"]["spatial"] == expected
            process.stdin.close()
            assert process.wait(timeout=60) == 0
        finally:
            process.kill()


def test_batch_reads_lines_longer_than_one_read() -> None:
    """A line spanning several 64 KiB reads of a pipe is one request; a last line without a newline counts."""
    padded = '{"command": "conv-shape", "args": {"in": 28, "k": 3}' + " " * 200_000 + "}"
    short = json.dumps({"command": "conv-shape", "args": {"in": 10, "k": 3}})
    result = subprocess.run(
        [sys.executable, "-m", "dlsolve", "solve", "-"],
        input=f"{padded}\n{short}\n{padded}".encode(),
        capture_output=True,
        timeout=60,
    )
    replies = [json.loads(line) for line in result.stdout.splitlines()]
    assert result.returncode == 0 and [reply["answer"]["spatial"] for reply in replies] == [[26, 26], [8, 8], [26, 26]]


def _bulk_lines(count: int) -> list[str]:
    """conv-shape requests, with a bad line (bad JSON, unknown option, refused layer) every so often."""
    lines = []
    for index in range(count):
        if index % 97 == 5:
            lines.append("{oops")
        elif index % 89 == 7:
            lines.append(json.dumps({"command": "conv-shape", "args": {"in": 3, "k": 5}}))
        elif index % 83 == 3:
            lines.append("")
        else:
            lines.append(
                json.dumps({"command": "conv-shape", "args": {"in": 8 + index % 50, "k": 3, "s": 1 + index % 2}})
            )
    return lines


@pytest.mark.parametrize("jobs", ["2", "3"])
def test_bulk_batch_split_among_processes_answers_exactly_as_one_process(
    cli, monkeypatch: pytest.MonkeyPatch, jobs: str
) -> None:  # type: ignore[no-untyped-def]
    stdin = "\n".join(_bulk_lines(1300)) + "\n"  # one read in-process: all 1300 lines are one bulk batch
    monkeypatch.setenv("DLSOLVE_JOBS", "1")
    serial = cli("solve", "-", stdin=stdin)
    monkeypatch.setenv("DLSOLVE_JOBS", jobs)
    parallel = cli("solve", "-", stdin=stdin)
    assert parallel.exit_code == serial.exit_code == 1
    assert parallel.stdout == serial.stdout
    replies = [json.loads(line) for line in parallel.stdout.splitlines()]
    assert len(replies) == sum(1 for line in _bulk_lines(1300) if line)
    assert [reply["error"]["line"] for reply in replies if "error" in reply][:3] == [6, 8, 97]


def test_bulk_batch_through_a_pipe_in_several_reads_keeps_order() -> None:
    stdin = ("\n".join(_bulk_lines(4000)) + "\n").encode()
    command = [sys.executable, "-m", "dlsolve", "solve", "-"]
    one = subprocess.run(
        command, input=stdin, capture_output=True, timeout=120, env={**os.environ, "DLSOLVE_JOBS": "1"}
    )
    two = subprocess.run(
        command, input=stdin, capture_output=True, timeout=120, env={**os.environ, "DLSOLVE_JOBS": "2"}
    )
    assert one.returncode == two.returncode == 1 and one.stdout == two.stdout and not two.stderr
    numbers = [json.loads(line).get("error", {}).get("line") for line in two.stdout.splitlines()]
    assert [n for n in numbers if n] == sorted(n for n in numbers if n)


def test_after_a_bulk_read_single_lines_are_still_answered_at_once() -> None:
    """Once worker processes answer (a bulk read came), a line written alone still gets its answer."""
    command = [sys.executable, "-m", "dlsolve", "solve", "-"]
    environment = {**os.environ, "PYTHONUNBUFFERED": "", "DLSOLVE_JOBS": "2"}
    bulk = ("\n".join(_bulk_lines(800)) + "\n").encode()
    with subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=environment) as process:
        assert process.stdin is not None and process.stdout is not None
        try:
            process.stdin.write(bulk)
            process.stdin.flush()
            answered = [process.stdout.readline() for _ in range(sum(1 for line in _bulk_lines(800) if line))]
            assert all(answered)
            process.stdin.write(json.dumps({"command": "conv-shape", "args": {"in": 9, "k": 3}}).encode() + b"\n")
            process.stdin.flush()
            ready, _, _ = select.select([process.stdout], [], [], 60)
            assert ready, "no answer while the input is still open"
            assert json.loads(process.stdout.readline())["answer"]["spatial"] == [7, 7]
            process.stdin.close()
            assert process.wait(timeout=60) == 1  # the bulk had bad lines
        finally:
            process.kill()


def test_dlsolve_jobs_must_be_a_positive_whole_number(cli, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("DLSOLVE_JOBS", "0")
    result = cli("solve", "-", stdin="{}\n")
    assert result.exit_code == 2 and "DLSOLVE_JOBS" in result.stderr


def test_batch_line_that_is_not_utf8_is_an_error_line(cli) -> None:  # type: ignore[no-untyped-def]
    good = b'{"command": "conv-shape", "args": {"in": 28, "k": 3}}\n'
    result = cli("solve", "-", stdin=b"\xff\xfe{bad\n" + good + b"\r\n" + good.rstrip())
    replies = [json.loads(line) for line in result.stdout.splitlines()]
    assert result.exit_code == 1 and len(replies) == 3
    assert replies[0]["error"]["line"] == 1 and "not valid JSON" in replies[0]["error"]["message"]
    assert replies[1]["answer"]["spatial"] == replies[2]["answer"]["spatial"] == [26, 26]


def test_batch_all_good_exits_zero(cli, fake_commands) -> None:  # type: ignore[no-untyped-def]
    result = cli("solve", "-", stdin='{"command": "scaled-sum", "args": {"m": "1"}}\n')
    assert result.exit_code == 0 and json.loads(result.stdout)["answer"]["sum"] == 1


@pytest.mark.parametrize("mode", [[], ["--json"], ["--jsonl"], ["-q"], ["--markdown"], ["--latex"]])
def test_solve_sheet_modes(cli, fake_commands, tmp_path: Path, mode: list[str]) -> None:  # type: ignore[no-untyped-def]
    path = write(
        tmp_path,
        "[[problem]]\nid = 'p1'\ntitle = 'Sum'\nquestion = 'What is the sum?'\ncommand = 'scaled-sum'\n"
        "args = { m = '1,2' }\nexpected = { sum = 3 }\nnote = 'The sheet agrees.'\n",
    )
    result = cli("solve", str(path), "--check", *mode)
    assert result.exit_code == 0, result.stderr
    assert "p1" in result.stdout
    if mode == ["--json"]:
        data = result.json()
        assert data["summary"] == {"total": 1, "passed": 1, "failed": 0}
        assert data["problems"][0]["check"] == {"passed": True, "mismatches": []}
    if mode == ["--jsonl"]:
        assert json.loads(result.stdout)["solution"]["answer"]["sum"] == 3
    if mode == ["--latex"]:
        assert result.stdout.startswith("\\documentclass") and "\\end{document}" in result.stdout
    if mode == ["-q"]:
        assert result.stdout == "p1: pass\n"


def test_solve_check_fails_with_exit_1_and_output_file(cli, fake_commands, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = write(
        tmp_path, "[[problem]]\nid = 'p1'\ncommand = 'scaled-sum'\nargs = { m = '1,2' }\nexpected = { sum = 4 }\n"
    )
    out = tmp_path / "key.md"
    result = cli("solve", str(path), "--check", "--markdown", "-o", str(out))
    assert result.exit_code == 1
    assert "FAIL: answer.sum: expected 4, got 3" in out.read_text()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["missing.toml"], "cannot read problem file"),
        (["-", "x.toml"], "cannot be mixed"),
        (["--json", "--jsonl", "x.toml"], "one output mode"),
    ],
)
def test_solve_usage_errors(cli, args: list[str], message: str) -> None:  # type: ignore[no-untyped-def]
    result = cli("solve", *args)
    assert result.exit_code == 2
    assert message in (result.stderr + result.stdout)


SHEET = """
[[problem]]
id = "good"
command = "scaled-sum"
args = { m = "1,2" }
expected = { sum = 3 }

[[problem]]
id = "wrong-value"
command = "scaled-sum"
args = { m = "1,x" }

[[problem]]
id = "no-answer"
command = "scaled-sum"
args = { m = "1,-1" }

[[problem]]
id = "bug"
command = "broken"
args = { m = "1" }
"""


def test_sheet_goes_on_past_bad_problems_and_locates_their_errors(cli, fake_commands, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = write(tmp_path, SHEET)
    result = cli("solve", str(path), "-q")
    lines = dict(line.split(": ", 1) for line in result.stdout.splitlines())
    assert lines["good"] == "3"
    assert lines["wrong-value"].startswith(f"error: {path}:8: problem 'wrong-value': --matrix: ")
    assert lines["no-answer"] == "error: --matrix: the sum is zero"  # an answer about the problem: not located
    assert lines["bug"].startswith(f"error: {path}:18: problem 'bug': internal error (ZeroDivisionError: a bug)")
    assert result.exit_code == 3  # a bug outranks bad input, which outranks a missing answer
    without_bug = write(tmp_path, SHEET.split('[[problem]]\nid = "bug"')[0], "no-bug.toml")
    assert cli("solve", str(without_bug), "-q").exit_code == 2
    data = cli("solve", str(path), "--json").json()
    kinds = [problem["error"] and problem["error"]["kind"] for problem in data["problems"]]
    assert kinds == [None, "bad-input", "invalid-problem", "internal"]


def test_sheet_exit_status_is_1_when_only_answers_fail(cli, fake_commands, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = write(tmp_path, SHEET.split('[[problem]]\nid = "bug"')[0].replace('"1,x"', '"1,2"'))
    assert cli("solve", str(path)).exit_code == 1
    assert cli("solve", str(path), "--only", "good", "--check").exit_code == 0


def test_batch_line_with_a_solver_bug_is_an_internal_error_line(cli, fake_commands) -> None:  # type: ignore[no-untyped-def]
    lines = [
        json.dumps({"command": "broken", "args": {"m": "1"}}),
        json.dumps({"command": "scaled-sum", "args": {"m": "2"}}),
    ]
    result = cli("solve", "-", stdin="\n".join(lines) + "\n")
    replies = [json.loads(line) for line in result.stdout.splitlines()]
    assert result.exit_code == 1
    assert replies[0]["error"]["kind"] == "internal" and replies[0]["error"]["line"] == 1
    assert replies[1]["answer"]["sum"] == 2


def test_sheet_quiet_keeps_matrix_rows_and_parameter_counts_on_one_line(solved_problems) -> None:  # type: ignore[no-untyped-def]
    from dlsolve.render.quiet import one_line

    assert one_line("3 3 3 3\n3 3 3 3\n0 0 0 0\n") == "3 3 3 3; 3 3 3 3; 0 0 0 0"
    assert one_line("output =\n  [1, 0]\n  [0, 1]\nmost attended: q1 → k1") == (
        "output = [1, 0]; [0, 1]; most attended: q1 → k1"
    )
    assert one_line(solved_problems["1c"].outcome.solution.quiet) == "3 3 3 3; 3 3 3 3; 0 0 0 0"
    assert one_line(solved_problems["1e"].outcome.solution.quiet) == "10 1 32 32; 46513 parameters"
    assert one_line(solved_problems["1f"].outcome.solution.quiet) == "16 1 32 32; 217 parameters"
