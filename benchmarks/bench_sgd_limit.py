"""Benchmark ``sgd-limit``: both targets of issue 5, each against its baseline measured in this run.

1. Numeric path: the solver on a 2000 x 4000 float64 X (consistent, M = I) against
   ``numpy.linalg.lstsq`` on the same data. Target: ratio <= 1.2.
2. Exact path: ``dlsolve sgd-limit --x 1,0.1,0.01 --y 1 --precond epoch-rms`` (the exam, part 4(ii)) as a
   fresh process against ``python -c "import sympy"``. Target: ratio <= 1.3.

Run: ``python benchmarks/bench_sgd_limit.py [--repeat N] [--numeric-repeat N]``. Prints best-of-N
times and the ratios. The 2000 x 4000 SVD takes tens of seconds on a loaded 2-core machine.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time

import numpy as np

from dlsolve.parsing import Matrix
from dlsolve.solvers.sgd_limit import solve_sgd_limit


def best_of(repeat: int, function) -> tuple[float, object]:
    """The fastest of ``repeat`` calls of ``function`` and the value it returned."""
    times, value = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        value = function()
        times.append(time.perf_counter() - start)
    return min(times), value


def numeric(repeat: int) -> float:
    """Interleaved runs (baseline, ours, baseline, ours, ...): the machine's load hits both alike."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2000, 4000))
    y = rng.standard_normal(2000)
    matrix = Matrix(array=x)
    targets = [float(v) for v in y]
    baselines, ours = [], []
    for _ in range(repeat):
        baseline_time, reference = best_of(1, lambda: np.linalg.lstsq(x, y, rcond=None))
        our_time, solution = best_of(1, lambda: solve_sgd_limit(matrix, y=targets))
        baselines.append(baseline_time)
        ours.append(our_time)
    assert np.allclose(solution.answer["theta"], reference[0], atol=1e-8)
    ratio = min(ours) / min(baselines)
    print(
        f"numeric 2000x4000: lstsq {min(baselines):.3f} s, sgd-limit {min(ours):.3f} s (best of {repeat}), "
        f"ratio {ratio:.2f} (target <= 1.2)"
    )
    return ratio


def exact(repeat: int) -> float:
    command = ["dlsolve", "sgd-limit", "--x", "1,0.1,0.01", "--y", "1", "--precond", "epoch-rms"]
    baseline_command = [sys.executable, "-c", "import sympy"]

    def run(args: list[str]) -> None:
        subprocess.run(args, check=True, stdout=subprocess.DEVNULL)

    baseline, _ = best_of(repeat, lambda: run(baseline_command))
    ours, _ = best_of(repeat, lambda: run(command))
    answer = subprocess.run([*command, "-q"], check=True, capture_output=True, text=True).stdout
    assert "100/111" in answer, answer
    ratio = ours / baseline
    print(f"exact exam 4(ii): import sympy {baseline:.3f} s, sgd-limit {ours:.3f} s, ratio {ratio:.2f} (target <= 1.3)")
    return ratio


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="runs of the exact-path processes (best of N)")
    parser.add_argument("--numeric-repeat", type=int, default=3, help="interleaved runs of the 2000x4000 solve")
    args = parser.parse_args()
    numeric_ratio = numeric(args.numeric_repeat)
    exact_ratio = exact(args.repeat)
    ok = numeric_ratio <= 1.2 and exact_ratio <= 1.3
    print("targets met" if ok else "target missed")


if __name__ == "__main__":
    main()
