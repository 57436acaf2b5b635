"""Benchmark: `dlsolve backprop` and its engine against hand-written NumPy, same run, same data.

Three ratios (no wall time is asserted; the targets are the issue's):

1. float path, whole process: ``dlsolve backprop -q`` on a 2-layer MLP with cross-entropy
   (X 512×256, W1 256×256, W2 256×10, labels t) against a Python process that loads the same
   ``.npy`` files and runs a hand-written NumPy forward and backward pass (target <= 3);
2. exact path, whole process: ``dlsolve backprop -q`` on the lecture graphs against
   ``python -c "import sympy"`` (target <= 1.3);
3. engine inner loop: 10,000 Adam steps on a 100-parameter quadratic ``sum((A @ w - b)**2)`` with
   ``dlsolve.engine.value_and_grad`` against the same loop with the gradient written by hand
   (target <= 2; what ``optim`` relies on).

Run: ``python benchmarks/bench_backprop.py [--repeats 5]``
"""

from __future__ import annotations

import argparse
import math
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from bench_attention import best_times  # best wall time of each, interleaved

ROOT = Path(__file__).resolve().parents[1]

NUMPY_MLP = """
import sys
import numpy as np
d = sys.argv[1]
X, W1, W2, t = (np.load(f"{d}/{n}.npy") for n in ("X", "W1", "W2", "t"))
h = X @ W1
a = np.maximum(h, 0)
z = a @ W2
z = z - z.max(axis=1, keepdims=True)
p = np.exp(z)
p /= p.sum(axis=1, keepdims=True)
loss = -np.log(p[np.arange(len(t)), t.astype(int)]).mean()
g = p.copy()
g[np.arange(len(t)), t.astype(int)] -= 1
g /= len(t)
gW2 = a.T @ g
ga = g @ W2.T
gh = ga * (h > 0)
gW1 = X.T @ gh
gX = gh @ W1.T
print(loss, gW1[0, :3], gW2[0, :3], gX[0, :3])
"""

LECTURE = [
    ["--f", "(x + y) * z", "--at", "x=-2", "--at", "y=5", "--at", "z=-4"],
    [
        "--f",
        "sigmoid(w0 * x0 + w1 * x1 + w2)",
        "--at",
        "w0=2",
        "--at",
        "x0=-1",
        "--at",
        "w1=-3",
        "--at",
        "x1=-2",
        "--at",
        "w2=-3",
    ],
    [
        "--f",
        "mse(W2 @ sigmoid(W1 @ x + b1) + b2, y)",
        "--at",
        "W1=1,2;3,4",
        "--at",
        "b1=0,0",
        "--at",
        "W2=1,-1",
        "--at",
        "b2=0",
        "--at",
        "x=1,2",
        "--at",
        "y=1",
        "--wrt",
        "W1,b1",
    ],
    [
        "--f",
        "cross_entropy(X @ W + b, t)",
        "--at",
        "X=1,0;0,1",
        "--at",
        "W=1,-1,0;0,1,2",
        "--at",
        "b=0,0,1",
        "--at",
        "t=0,2",
    ],
]


def process_time(args: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(args, check=True, capture_output=True, cwd=ROOT)
    return time.perf_counter() - start


def mlp(repeats: int) -> None:
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as folder:
        for name, shape in (("X", (512, 256)), ("W1", (256, 256)), ("W2", (256, 10))):
            np.save(f"{folder}/{name}.npy", rng.normal(size=shape) / math.sqrt(shape[0]))
        np.save(f"{folder}/t.npy", rng.integers(0, 10, size=512).astype(np.float64))
        ours_args = [
            sys.executable,
            "-m",
            "dlsolve",
            "backprop",
            "--f",
            "cross_entropy(relu(X @ W1) @ W2, t)",
            *(f"--at={n}=@{folder}/{n}.npy" for n in ("X", "W1", "W2", "t")),
            "-q",
        ]
        numpy_args = [sys.executable, "-c", NUMPY_MLP, folder]
        ours, reference = best_times([lambda: process_time(ours_args), lambda: process_time(numpy_args)], repeats)
    print(
        f"1. MLP 512x256x256x10, cross-entropy, whole process: dlsolve {ours * 1000:.0f} ms, "
        f"NumPy {reference * 1000:.0f} ms, ratio {ours / reference:.2f} (target <= 3)"
    )


def exact(repeats: int) -> None:
    sympy_args = [sys.executable, "-c", "import sympy"]
    for args in LECTURE:
        command = [sys.executable, "-m", "dlsolve", "backprop", *args, "-q"]
        ours, reference = best_times([lambda c=command: process_time(c), lambda: process_time(sympy_args)], repeats)
        print(
            f"2. {args[1]!r:45} dlsolve {ours * 1000:.0f} ms, import sympy {reference * 1000:.0f} ms, "
            f"ratio {ours / reference:.2f} (target <= 1.3)"
        )


def adam(steps: int, repeats: int) -> None:
    from dlsolve.engine import parse_expression, value_and_grad

    rng = np.random.default_rng(1)
    a, b = rng.normal(size=(100, 100)) / 10, rng.normal(size=100)
    lr, beta1, beta2, eps = 1e-2, 0.9, 0.999, 1e-8

    def loop(gradient) -> np.ndarray:  # type: ignore[no-untyped-def]
        w, m, v = np.zeros(100), np.zeros(100), np.zeros(100)
        for step in range(1, steps + 1):
            g = gradient(w)
            m = beta1 * m + (1 - beta1) * g
            v = beta2 * v + (1 - beta2) * g * g
            w = w - lr * (m / (1 - beta1**step)) / (np.sqrt(v / (1 - beta2**step)) + eps)
        return w

    run = value_and_grad(parse_expression("sum((A @ w - b)**2)"), ["w"])
    values = {"A": a, "b": b}

    def engine_gradient(w: np.ndarray) -> np.ndarray:
        values["w"] = w
        return run(values)[1]["w"]

    def hand_gradient(w: np.ndarray) -> np.ndarray:
        return 2 * a.T @ (a @ w - b)

    assert np.allclose(loop(engine_gradient), loop(hand_gradient))
    ours, reference = best_times([lambda: loop(engine_gradient), lambda: loop(hand_gradient)], repeats)
    print(
        f"3. {steps} Adam steps, 100 parameters: engine {ours * 1000:.0f} ms, "
        f"hand-written {reference * 1000:.0f} ms, "
        f"ratio {ours / reference:.2f} (target <= 2)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--steps", type=int, default=10_000)
    options = parser.parse_args()
    mlp(options.repeats)
    exact(options.repeats)
    adam(options.steps, max(2, options.repeats // 2))


if __name__ == "__main__":
    main()
