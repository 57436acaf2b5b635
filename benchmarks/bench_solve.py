"""Batch mode and answer-sheet cost, each against a baseline measured in the same run.

Targets (issue 7):
1. ``dlsolve solve -`` on 10,000 JSON lines of conv-shape problems: >= 10,000 problems per second
   (the whole process, start-up included), and >= 300x faster per problem than starting one
   ``dlsolve conv-shape ... --json`` process per problem (measured on a sample of problems).
2. ``dlsolve solve problems/midterm.toml`` cold: <= 1.5x ``python -c "import sympy, numpy"``.

Runs are interleaved and medians reported, since the machine is noisy.
Run: ``python benchmarks/bench_solve.py [--lines 10000] [--repeat 5]``. Exit 1 if a target is missed.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DLSOLVE = [sys.executable, "-m", "dlsolve"]


def conv_problems(count: int, seed: int = 0) -> list[dict]:
    rng = random.Random(seed)
    return [
        {
            "command": "conv-shape",
            "args": {
                "in": rng.randint(8, 64),
                "k": rng.choice([1, 3, 5]),
                "s": rng.choice([1, 2]),
                "p": rng.choice([0, 1]),
                "batch": 8,
                "filters": 16,
            },
        }
        for _ in range(count)
    ]


def timed(command: list[str], stdin: str | None = None) -> float:
    start = time.perf_counter()
    result = subprocess.run(command, input=stdin, capture_output=True, text=True, cwd=ROOT)
    elapsed = time.perf_counter() - start
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed: {result.stderr[-500:]}")
    return elapsed


def mixed_problems(count: int) -> list[dict]:
    """``count`` batch lines cycling through every problem of problems/ whose arguments need no file,
    so every command appears (issue 20: batch mode on mixed lines of every command)."""
    import tomllib

    lines = []
    for path in sorted((ROOT / "problems").glob("*.toml")):
        for problem in tomllib.loads(path.read_text()).get("problem", []):
            args = problem.get("args", {})
            uses_file = any(
                isinstance(v, str) and (v.startswith("@") or v.endswith((".py", ".json", ".toml")))
                for v in args.values()
            )
            if "error" not in problem.get("expected", {}) and not uses_file and problem["command"] != "train-loop":
                lines.append({"command": problem["command"], "args": args})
    return [lines[index % len(lines)] for index in range(count)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--sample", type=int, default=30, help="problems run one process each")
    options = parser.parse_args()

    problems = conv_problems(options.lines)
    batch_input = "".join(json.dumps(problem) + "\n" for problem in problems)
    batch, single, sheet, imports = [], [], [], []
    for _ in range(options.repeat):
        batch.append(timed([*DLSOLVE, "solve", "-"], batch_input))
        for problem in problems[: options.sample // options.repeat or 1]:
            argv = [f"--{key}={value}" for key, value in problem["args"].items()]
            single.append(timed([*DLSOLVE, "conv-shape", *argv, "--json"]))
        sheet.append(timed([*DLSOLVE, "solve", "problems/midterm.toml"]))
        imports.append(timed([sys.executable, "-c", "import sympy, numpy"]))

    per_line = statistics.median(batch) / options.lines
    per_process = statistics.median(single)
    rate = 1 / per_line
    speedup = per_process / per_line
    sheet_ratio = statistics.median(sheet) / statistics.median(imports)
    mixed = mixed_problems(options.lines)
    mixed_input = "".join(json.dumps(problem) + "\n" for problem in mixed)
    mixed_time = statistics.median(timed([*DLSOLVE, "solve", "-"], mixed_input) for _ in range(options.repeat))
    commands = len({problem["command"] for problem in mixed})
    rate_mixed = options.lines / mixed_time
    print(
        f"mixed batch: {options.lines} lines, {commands} commands: {mixed_time:.2f} s -> {rate_mixed:,.0f} problems/s"
    )
    print(
        f"batch: {options.lines} lines in {statistics.median(batch):.3f} s -> {rate:,.0f} problems/s (target >= 10,000)"
    )
    print(f"one process per problem: {per_process * 1000:.1f} ms -> batch is {speedup:,.0f}x faster (target >= 300)")
    print(
        f"solve problems/midterm.toml: {statistics.median(sheet) * 1000:.0f} ms vs import sympy, numpy "
        f"{statistics.median(imports) * 1000:.0f} ms -> ratio {sheet_ratio:.2f} (target <= 1.5)"
    )
    missed = rate < 10_000 or speedup < 300 or sheet_ratio > 1.5
    print("targets missed" if missed else "all targets met")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
