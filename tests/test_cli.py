"""The CLI as a whole: help and examples, errors and exit codes, start-up imports, fuzzing."""

from __future__ import annotations

import json
import math
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dlsolve import registry
from dlsolve.cli import build_app

COMMANDS = registry.load_all()
app = build_app()

ROOT = Path(__file__).resolve().parents[1]


def help_examples(text: str) -> list[str]:
    """Runnable examples in a help text: ``dlsolve ...`` or ``Example: dlsolve ...``, no pipe or redirect."""
    found = (re.match(r"(?:Example:\s*|\$\s*)?(dlsolve .*)", line.strip()) for line in text.splitlines())
    return [match.group(1) for match in found if match and not set("|<>") & set(match.group(1))]


def test_version(cli) -> None:  # type: ignore[no-untyped-def]
    from dlsolve import __version__

    result = cli("--version")
    assert result.exit_code == 0 and result.stdout.strip() == f"dlsolve {__version__}"


def test_every_command_has_help_with_a_runnable_example(cli) -> None:  # type: ignore[no-untyped-def]
    names = {"solve", *COMMANDS}
    for name in sorted(names):
        result = cli(*name.split(), "--help")
        assert result.exit_code == 0, name
        assert "Traceback" not in result.stdout + result.stderr
    for name, command in COMMANDS.items():
        examples = help_examples(command.function.__doc__ or "")
        assert examples, f"{name}: no example in its help text"


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_help_examples_run(cli, name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.chdir(ROOT)
    for example in help_examples(COMMANDS[name].function.__doc__ or ""):
        args = shlex.split(example)[1:]
        result = cli(*args)
        assert result.exit_code in (0, 1), f"{example}: {result.stderr}{result.stdout[:300]}"
        assert result.stdout.strip()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["nope"], "No such command 'nope'"),
        (["solve"], "Missing argument"),
        (["solve", "x.toml", "--bogus"], "No such option"),
    ],
)
def test_usage_errors_are_one_line_exit_2(cli, args: list[str], message: str) -> None:  # type: ignore[no-untyped-def]
    result = cli(*args)
    assert result.exit_code == 2
    assert result.stderr.startswith("error: ") and message in result.stderr
    assert result.stderr.count("\n") == 1
    result = cli(*args, "--json")
    assert result.exit_code == 2
    assert message in json.loads(result.stdout)["error"]["message"]


def test_installed_entry_point_runs() -> None:
    exe = shutil.which("dlsolve")
    command = [exe] if exe else [sys.executable, "-m", "dlsolve"]
    result = subprocess.run([*command, "--version"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and result.stdout.startswith("dlsolve ")
    result = subprocess.run([sys.executable, "-m", "dlsolve", "nope"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and result.stderr.startswith("error:") and "Traceback" not in result.stderr


def test_fast_exit_flushes_everything_and_keeps_the_status(tmp_path: Path) -> None:
    """``run`` leaves with os._exit: the whole sheet, the -o file and the exit status must survive it."""
    sheet = subprocess.run(
        [sys.executable, "-m", "dlsolve", "solve", "problems/midterm.toml", "--check"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONUNBUFFERED": ""},
    )
    assert sheet.returncode == 0 and sheet.stdout.rstrip().endswith("passed"), sheet.stdout[-300:]
    target = tmp_path / "key.md"
    written = subprocess.run(
        [sys.executable, "-m", "dlsolve", "solve", "problems/midterm.toml", "--markdown", "-o", str(target)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert written.returncode == 0 and target.read_text().count("\n## ") >= 14
    refused = subprocess.run(
        [sys.executable, "-m", "dlsolve", "conv-shape", "--in", "5", "--k", "7", "--json"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert refused.returncode == 1 and json.loads(refused.stdout)["error"]["kind"]


@pytest.mark.parametrize(
    ("closed", "args", "status", "stderr"),
    [
        ("stdout", ["conv-shape", "--in", "28", "--k", "3", "-q"], 2, "error: standard output is closed"),
        ("stdout", ["solve", "problems/midterm.toml"], 2, "error: standard output is closed"),
        ("stderr", ["conv-shape", "--in", "28", "--k", "3", "-q"], 0, None),
        ("stderr", ["conv-shape", "--in", "2", "--k", "3", "-q"], 1, None),
    ],
)
def test_closed_standard_streams_are_not_internal_errors(
    closed: str, args: list[str], status: int, stderr: str | None
) -> None:
    """`dlsolve ... >&-` or `2>&-`: Python starts with that stream set to None."""
    redirect = ">&-" if closed == "stdout" else "2>&-"
    command = " ".join(shlex.quote(arg) for arg in [sys.executable, "-m", "dlsolve", *args])
    result = subprocess.run(
        ["bash", "-c", f"{command} {redirect}"], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == status, result.stderr
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr
    if stderr is not None:
        assert result.stderr.startswith(stderr)


@pytest.mark.parametrize(
    "args",
    [["--help"], ["conv-shape", "--in", "28", "--k", "3", "-q"], ["conv-shape", "--help"]],
)
def test_startup_imports_neither_numpy_nor_sympy(args: list[str]) -> None:
    if args[0] == "conv-shape" and "conv-shape" not in COMMANDS:
        pytest.skip("conv-shape not registered")
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "dlsolve", *args], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr[-500:]
    imported = {line.rsplit("|", 1)[-1].strip() for line in result.stderr.splitlines() if "|" in line}
    assert not imported & {"numpy", "sympy", "scipy", "torch"}
    if args[-1] == "-q":
        assert "rich" not in imported


def readme_examples() -> list[str]:
    """Shell lines of README code blocks that run dlsolve (set-up lines excluded)."""
    text = (ROOT / "README.md").read_text()
    lines = []
    for block in re.findall(r"```(?:bash|console|sh)\n(.*?)```", text, flags=re.S):
        for line in block.splitlines():
            line = line.removeprefix("$ ").strip()
            if "dlsolve" in line and not line.startswith(("pip ", "#")):
                lines.append(line)
    return lines


def _plain(line: str) -> bool:
    """A README line that is one dlsolve call with no shell syntax (no pipe, redirection, list)."""
    command = line.split(" #")[0]
    return command.startswith("dlsolve ") and not any(mark in command for mark in ("|", ">", "<", ";", "&", "$(", "*"))


@pytest.mark.parametrize("line", [line for line in readme_examples() if _plain(line)])
def test_readme_examples_run_in_process(line: str, cli, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    """The CI profile's check of the README: each plain example, run in this process."""
    expected = int(m.group(1)) if (m := re.search(r" #.*\bexit (\d)", line)) else 0
    monkeypatch.chdir(ROOT)
    monkeypatch.setenv("COLUMNS", "100")
    result = cli(*shlex.split(line.split(" #")[0])[1:])
    assert result.exit_code == expected, f"{line}\n{result.stdout[-800:]}\n{result.stderr[-800:]}"


@pytest.mark.slow
@pytest.mark.parametrize("line", readme_examples())
def test_readme_examples_run(line: str) -> None:
    """Every README example runs as written (exit 0, or the status its comment states)."""
    expected = int(m.group(1)) if (m := re.search(r" #.*\bexit (\d)", line)) else 0
    command = line.split(" #")[0]
    exe_dir = str(Path(sys.executable).parent)
    result = subprocess.run(
        ["bash", "-o", "pipefail", "-c", command],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={"PATH": f"{exe_dir}:/usr/bin:/bin", "COLUMNS": "100", "HOME": str(ROOT)},
    )
    assert result.returncode == expected, f"{command}\n{result.stdout[-800:]}\n{result.stderr[-800:]}"
    assert "Traceback" not in result.stderr


# --------------------------------------------------------------------------- fuzz: every command

option_text = st.one_of(
    st.text(max_size=30),
    st.sampled_from(["0", "-1", "1e9", "3/0", "1,2;3", "nan", "inf", "?", "same", "@missing.npy", "", "1;;2", "[[1]]"]),
    st.integers(-5, 300).map(str),
    st.lists(st.integers(-3, 9), min_size=1, max_size=4).map(lambda xs: ",".join(map(str, xs))),
)


def _fuzz_args(draw: st.DrawFn, name: str) -> list[str]:
    command = COMMANDS[name]
    options = sorted(command.parameters)
    chosen = draw(st.lists(st.sampled_from(options), max_size=5, unique=True)) if options else []
    args = list(name.split())
    for option in chosen:
        if option in ("file",):
            args.append(draw(option_text))
            continue
        args += [f"--{option}", draw(option_text)]
    return args


@st.composite
def fuzz_calls(draw: st.DrawFn) -> list[str]:
    name = draw(st.sampled_from(sorted(COMMANDS)))
    return _fuzz_args(draw, name)


@settings(max_examples=150)
@given(fuzz_calls())
def test_fuzz_every_command_survives_bad_input(args: list[str]) -> None:
    from tests.conftest import run_cli

    result = run_cli(*args, "--json")
    assert result.exit_code in (0, 1, 2), (args, result.stdout[-500:], result.stderr[-500:])
    payload = json.loads(result.stdout)
    if result.exit_code == 0:
        assert {"command", "inputs", "answer", "steps", "warnings"} <= set(payload)
    else:
        if "error" in payload:
            assert payload["error"]["kind"] in ("bad-input", "invalid-problem")
        else:  # a verdict rendered with exit 1: train-loop's findings
            assert result.exit_code == 1 and payload["answer"]["findings"]


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 300) | st.floats(allow_nan=False, width=32) | option_text,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)


@st.composite
def batch_lines(draw: st.DrawFn) -> bytes:
    """A JSON Lines request: usually a known command with fuzzed option values, sometimes garbage."""
    name = draw(st.sampled_from(sorted(COMMANDS)))
    options = sorted(COMMANDS[name].parameters)
    args = draw(st.dictionaries(st.sampled_from(options), json_values, max_size=4)) if options else {}
    request = draw(
        st.one_of(
            st.just({"command": name, "args": args}),
            st.dictionaries(st.sampled_from(["command", "args", "x"]), json_values, max_size=3),
            json_values,
        )
    )
    line = json.dumps(request).encode()
    return draw(st.one_of(st.just(line), st.binary(max_size=40), st.just(line[: len(line) // 2])))


@settings(max_examples=100)
@given(st.lists(batch_lines(), min_size=1, max_size=4))
def test_fuzz_batch_answers_every_line_and_survives_anything(lines: list[bytes]) -> None:
    from tests.conftest import run_cli

    lines = [line.replace(b"\n", b" ").replace(b"\r", b" ") for line in lines]
    result = run_cli("solve", "-", stdin=b"\n".join(lines) + b"\n")
    assert result.exit_code in (0, 1), (lines, result.stderr[-500:])
    replies = [json.loads(reply) for reply in result.stdout.splitlines()]
    assert len(replies) == sum(1 for line in lines if line.strip())
    for reply in replies:
        assert "error" not in reply or reply["error"]["kind"] in ("bad-input", "invalid-problem"), reply


@settings(max_examples=100)
@given(st.text(max_size=200), st.sampled_from(sorted(COMMANDS)), json_values)
def test_fuzz_problem_files_never_crash(text: str, name: str, value: object) -> None:
    """A garbled TOML file, or a valid one with a fuzzed value: a clear error or an answer, never a bug."""
    import tempfile

    from tests.conftest import run_cli

    option = sorted(COMMANDS[name].parameters)[0] if COMMANDS[name].parameters else "x"
    wellformed = (
        f"[[problem]]\nid = 'p'\ncommand = {json.dumps(name)}\nargs = {{ {json.dumps(option)} = {_toml(value)} }}\n"
    )
    with tempfile.TemporaryDirectory() as directory:
        for content in (text, wellformed):
            path = Path(directory) / "p.toml"
            path.write_text(content)
            result = run_cli("solve", str(path), "--json")
            assert result.exit_code in (0, 1, 2), (content, result.stdout[-500:], result.stderr[-500:])
            assert "internal error" not in result.stdout + result.stderr, content


def _toml(value: object) -> str:
    """``value`` as a TOML inline value (null has no TOML form: an empty string instead)."""
    if value is None:
        return '""'
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and not math.isfinite(value):
        return '"nan"'
    if isinstance(value, list):
        return "[" + ", ".join(_toml(item) for item in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{json.dumps(str(key))} = {_toml(item)}" for key, item in value.items()) + " }"
    return json.dumps(value)


def test_app_has_all_brief_commands() -> None:
    registered = {command.name for command in app.registered_commands} | {group.name for group in app.registered_groups}
    for name in ("conv-shape", "filter", "attention", "sgd-limit", "convergence-bound", "solve", "train-loop"):
        assert name in registered


def test_unknown_subcommand_gets_one_suggestion_and_textbook_names_their_command(cli) -> None:  # type: ignore[no-untyped-def]
    he = cli("init", "he-normal", "--fan-in", "27")
    assert he.exit_code == 2 and he.stderr.count("\n") == 1
    assert "Did you mean 'kaiming-normal'" in he.stderr and he.stderr.lower().count("did you mean") == 1
    typo = cli("init", "xavier-unifrom")
    assert typo.exit_code == 2 and typo.stderr.lower().count("did you mean") == 1 and "'xavier-uniform'" in typo.stderr
