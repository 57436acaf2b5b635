"""Grading a class against solving the problems once, in the same run.

Target (issue 19): ``dlsolve solve problems/midterm.toml --answers class.csv`` for a class of 500
students (every midterm part answered, right or with a known mistake) within 3x of
``dlsolve solve problems/midterm.toml -q`` (the problems solved once), whole process.

Runs are interleaved and medians reported, since the machine is noisy.
Run: ``python benchmarks/bench_grading.py [--students 500] [--repeat 5]``. Exit 1 if the target is missed.
"""

from __future__ import annotations

import argparse
import csv
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DLSOLVE = [sys.executable, "-m", "dlsolve"]

#: Each midterm part's right answer and some wrong ones, as students write them.
ANSWERS = {
    "1a-i": ["32,128,26,26", "32,128,25,25", "32,128,27,27"],
    "1a-ii": ["32,128,14,14", "32,128,13,13", "32,128,15,15"],
    "1b": ["horizontal edge", "vertical edge"],
    "1e": ["10,1,32,32", "10,1,31,31"],
    "1g": ["1,1,1;1,1,1;1,1,1", "0,0,0;0,0,0;0,0,0"],
    "2a": ["A", "B"],
    "2b": ["DL001, DL010", "DL001"],
    "4-i": ["10000/10101, 1000/10101, 100/10101", "1, 0.1, 0.01"],
    "4-ii": ["100/111, 100/111, 100/111", "(1/3)[1, 10, 100]", "1/3, 1/3, 1/3"],
    "5-i": ["0, 1, 1", "1/3, 1/3, 2/3"],
    "5-ii": ["0.0566", "0.5"],
}


def write_class(path: Path, students: int, seed: int = 0) -> None:
    rng = random.Random(seed)
    with path.open("w", newline="") as stream:
        writer = csv.writer(stream)
        writer.writerow(["student", "problem", "answer"])
        for student in range(students):
            for problem, answers in ANSWERS.items():
                writer.writerow([f"s{student:04d}", problem, rng.choice(answers)])


def timed(command: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=500)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        answers = Path(folder) / "class.csv"
        write_class(answers, args.students)
        once = [*DLSOLVE, "solve", "problems/midterm.toml", "-q"]
        graded = [*DLSOLVE, "solve", "problems/midterm.toml", "--answers", str(answers), "-q"]
        timed(once), timed(graded)  # warm the caches
        solve_times, grade_times = [], []
        for _ in range(args.repeat):
            solve_times.append(timed(once))
            grade_times.append(timed(graded))
    solve, grade = statistics.median(solve_times), statistics.median(grade_times)
    ratio = grade / solve
    print(f"solve once: {solve:.3f} s; grade {args.students} students: {grade:.3f} s; ratio {ratio:.2f} (target <= 3)")
    return int(ratio > 3)


if __name__ == "__main__":
    sys.exit(main())
