"""Benchmark: `dlsolve attention` numeric path vs a plain NumPy reference, same run, same data.

Times the whole solver (``dlsolve.solvers.attention.attention`` on float64 arrays: scores, softmax,
argmax, entropy, output, the Solution with its JSON answer) against the textbook NumPy expression
``softmax(Q K^T / sqrt(d)) V`` for T = S = 2048, d = 64, and prints the ratio (target: <= 1.5).

Run: ``python benchmarks/bench_attention.py [--tokens 2048] [--dim 64] [--repeats 5]``
"""

from __future__ import annotations

import argparse
import math
import time

import numpy as np

from dlsolve.parsing import Matrix
from dlsolve.solvers.attention import attention


def reference(q: np.ndarray, k: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Plain NumPy attention: stable softmax of the scaled scores, times V."""
    scores = q @ k.T / math.sqrt(q.shape[1])
    scores -= scores.max(axis=1, keepdims=True)
    np.exp(scores, out=scores)
    scores /= scores.sum(axis=1, keepdims=True)
    return scores @ v


def best_times(functions: list, repeats: int) -> list[float]:
    """Best wall time of each function, run interleaved so machine load affects both alike."""
    best = [math.inf] * len(functions)
    for _ in range(repeats):
        for index, function in enumerate(functions):
            start = time.perf_counter()
            function()
            best[index] = min(best[index], time.perf_counter() - start)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tokens", type=int, default=2048)
    parser.add_argument("--dim", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=7)
    options = parser.parse_args()
    rng = np.random.default_rng(0)
    q, k, v = (rng.normal(size=(options.tokens, options.dim)) for _ in range(3))
    matrices = [Matrix(array=a) for a in (q, k, v)]
    solution = attention(*matrices)
    assert np.allclose(np.array(solution.answer["output"]), reference(q, k, v), rtol=1e-10, atol=1e-12)
    ours, numpy_time = best_times([lambda: attention(*matrices), lambda: reference(q, k, v)], options.repeats)
    print(f"T = S = {options.tokens}, d = {options.dim}, best of {options.repeats}")
    print(f"dlsolve attention: {ours * 1000:8.1f} ms")
    print(f"NumPy reference:   {numpy_time * 1000:8.1f} ms")
    print(f"ratio: {ours / numpy_time:.2f} (target <= 1.5)")


if __name__ == "__main__":
    main()
