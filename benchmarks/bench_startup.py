"""Cold-start cost of ``dlsolve conv-shape --in 28 --k 3 -q`` against two baselines, in one run.

``dlsolve`` is the installed console script next to this Python (run with this Python, not
through a shell shim such as pyenv's), or ``python -m dlsolve`` when it is not installed.

Targets (issue 2): at most 6x ``python -c pass`` and at most 1.15x a minimal two-command Typer app
(same Python, same Typer). Each command is started ``--repeat`` times, interleaved so that machine
load hits all three alike; the medians and their ratios are printed. Also checks with
``python -X importtime`` that neither NumPy nor SymPy (nor Rich, for ``-q``) is imported by
``conv-shape -q`` and ``--help``.

Both wall-clock and CPU time (user + system, from ``wait4``) are reported; the verdict uses CPU
time, which other processes on a shared machine disturb much less. Bytecode caching is on in the
children (as for an installed package), whatever PYTHONDONTWRITEBYTECODE says here.

Run: ``python benchmarks/bench_startup.py [--repeat 40]``. Exit status 1 if a target is missed.
``--baseline DIR`` also starts ``conv-shape -q`` and ``--help`` from another checkout (``git worktree
add DIR REV``), interleaved with this one, and prints this tree's ratio to it: a change must not
make either start slower.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

MINIMAL_TYPER_APP = '''
import typer

app = typer.Typer(add_completion=False)


@app.command()
def hello(name: str = "world", quiet: bool = False) -> None:
    """Say hello."""
    typer.echo(f"hello {name}")


@app.command()
def bye(name: str = "world") -> None:
    """Say bye."""
    typer.echo(f"bye {name}")


if __name__ == "__main__":
    app()
'''

#: Child environment: bytecode caching on, as for an installed package (``.pyc`` files are written
#: on the warm-up run; PYTHONDONTWRITEBYTECODE would recompile every module on every start).
ENV = {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}

PYTHON_TARGET = 6.0
TYPER_TARGET = 1.15


def time_once(command: list[str]) -> tuple[float, float]:
    """Wall-clock seconds and CPU seconds (user + system) of one run of ``command``."""
    start = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=ENV)
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{' '.join(command)} failed")
    return wall, usage.ru_utime + usage.ru_stime


def dlsolve_command() -> list[str]:
    """The installed console script next to this Python (what users run), else ``python -m dlsolve``."""
    script = Path(sys.executable).parent / "dlsolve"
    if script.is_file():
        return [sys.executable, str(script)]
    return [sys.executable, "-m", "dlsolve"]


def imported_modules(command: list[str]) -> set[str]:
    """Top-level packages imported by ``command`` (a Python module invocation), via -X importtime."""
    run = subprocess.run(
        [sys.executable, "-X", "importtime", *command], capture_output=True, text=True, check=True, env=ENV
    )
    return {line.split("|")[-1].strip().split(".")[0] for line in run.stderr.splitlines() if "|" in line}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=40, help="starts per command (default 40)")
    parser.add_argument("--baseline", type=Path, help="another checkout to compare conv-shape -q and --help with")
    args = parser.parse_args()
    if args.baseline is not None:
        return compare_with(args.baseline, args.repeat)

    with tempfile.TemporaryDirectory() as directory:
        app_path = Path(directory) / "minimal_typer_app.py"
        app_path.write_text(MINIMAL_TYPER_APP, encoding="utf-8")
        commands = {
            "python -c pass": [sys.executable, "-c", "pass"],
            "minimal Typer app": [sys.executable, str(app_path), "hello", "--name", "x"],
            "dlsolve conv-shape -q": [*dlsolve_command(), "conv-shape", "--in", "28", "--k", "3", "-q"],
        }
        for command in commands.values():  # warm the file cache and .pyc files
            time_once(command)
        walls: dict[str, list[float]] = {name: [] for name in commands}
        cpus: dict[str, list[float]] = {name: [] for name in commands}
        for _ in range(args.repeat):
            for name, command in commands.items():
                wall, cpu = time_once(command)
                walls[name].append(wall)
                cpus[name].append(cpu)

    failed = False
    for label, samples in (("wall clock", walls), ("CPU (user+sys)", cpus)):
        medians = {name: statistics.median(values) for name, values in samples.items()}
        print(f"{label}, median of {args.repeat} starts:")
        for name, value in medians.items():
            print(f"  {name:>24}: {value * 1000:7.1f} ms")
        vs_python = medians["dlsolve conv-shape -q"] / medians["python -c pass"]
        vs_typer = medians["dlsolve conv-shape -q"] / medians["minimal Typer app"]
        print(f"  ratio to python -c pass:    {vs_python:5.2f}  (target <= {PYTHON_TARGET})")
        print(f"  ratio to minimal Typer app: {vs_typer:5.2f}  (target <= {TYPER_TARGET})")
        if label.startswith("CPU"):  # the verdict: CPU time is robust to other load on the machine
            failed = vs_python > PYTHON_TARGET or vs_typer > TYPER_TARGET
    checks = {
        "conv-shape -q": ["-m", "dlsolve", "conv-shape", "--in", "28", "--k", "3", "-q"],
        "--help": ["-m", "dlsolve", "--help"],
    }
    for label, command in checks.items():
        modules = imported_modules(command)
        heavy = sorted({"numpy", "sympy"} & modules)
        rich = "rich" in modules
        print(f"{label}: numpy/sympy imported: {heavy or 'none'}; rich imported: {rich}")
        failed |= bool(heavy) or (label == "conv-shape -q" and rich)
    return 1 if failed else 0


def compare_with(baseline: Path, repeat: int) -> int:
    """CPU time of ``conv-shape -q`` and ``--help`` here and in ``baseline``, interleaved; the ratios."""
    here = Path(__file__).resolve().parents[1]
    runs = {
        "conv-shape -q": ["conv-shape", "--in", "28", "--k", "3", "-q"],
        "--help": ["--help"],
    }
    samples: dict[tuple[str, str], list[float]] = {}
    for _ in range(repeat + 1):  # the first round warms the caches and is dropped
        for label, arguments in runs.items():
            for tree_name, tree in (("this tree", here), ("baseline", baseline.resolve())):
                command = [sys.executable, "-c", f"import sys; sys.path.insert(0, {str(tree)!r}); "
                           "from dlsolve.cli import run; sys.argv[0] = 'dlsolve'; run()", *arguments]  # fmt: skip
                samples.setdefault((label, tree_name), []).append(time_once(command)[1])
    worse = False
    for label in runs:
        mine = statistics.median(samples[(label, "this tree")][1:])
        theirs = statistics.median(samples[(label, "baseline")][1:])
        print(f"{label:>14}: this tree {mine * 1000:6.1f} ms, baseline {theirs * 1000:6.1f} ms CPU", end="")
        print(f"; ratio {mine / theirs:.2f}")
        worse |= mine / theirs > 1.05
    return int(worse)


if __name__ == "__main__":
    sys.exit(main())
