"""Benchmark ``optim`` (issue 16): 10,000 Adam steps on a 100-parameter quadratic, whole process.

f(w) = Σ (A·w − b)² with a random 100 x 100 A and b (from .npy files), w₀ = 0, Adam with lr 0.01.
Ours: ``dlsolve optim --f "sum((A @ w - b)**2)" --at A=@A.npy --at b=@b.npy --at w=@w.npy --params w
--opt adam --lr 0.01 --steps 10000 -q`` as a fresh process. Baseline: a fresh ``python`` process running
a hand-written NumPy loop of the same optimizer (torch.optim.Adam's rule) on the same files. Runs are
interleaved (baseline, ours, ...) so the machine's load hits both alike; best of N each.
Target: ratio <= 2. Both final losses must agree (to 5 %: near the minimum Adam amplifies rounding).

Run: ``python benchmarks/bench_optim.py [--repeat N]``. Until ``optim`` is a CLI command, ``--solver``
runs the solver in a fresh process instead (``python -c``), the same work minus the CLI layer.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

STEPS = 10_000
BASELINE = """
import sys
import numpy as np
folder = sys.argv[1]
A, b, w = (np.load(f"{folder}/{name}.npy") for name in ("A", "b", "w"))
m = np.zeros_like(w)
v = np.zeros_like(w)
for t in range(1, STEPS + 1):
    r = A @ w - b
    g = 2 * A.T @ r
    m = m + 0.1 * (g - m)
    v = 0.999 * v + 0.001 * g * g
    w = w - (0.01 / (1 - 0.9**t)) * m / (np.sqrt(v) / (1 - 0.999**t) ** 0.5 + 1e-8)
r = A @ w - b
print(float(r @ r))
""".replace("STEPS", str(STEPS))

SOLVER = """
import sys
from fractions import Fraction
import numpy as np
from dlsolve.solvers.optim import from_expression, optim
folder = sys.argv[1]
values = {name: np.load(f"{folder}/{name}.npy") for name in ("A", "b", "w")}
params, objective = from_expression("sum((A @ w - b)**2)", values, ["w"])
print(optim("adam", params, objective=objective, lr=Fraction(1, 100), steps=STEPS).answer["final_loss"])
""".replace("STEPS", str(STEPS))


def cli_command(folder: str) -> list[str]:
    return [
        sys.executable, "-m", "dlsolve", "optim", "--f", "sum((A @ w - b)**2)",
        "--at", f"A=@{folder}/A.npy", "--at", f"b=@{folder}/b.npy", "--at", f"w=@{folder}/w.npy",
        "--params", "w", "--opt", "adam", "--lr", "0.01", "--steps", str(STEPS), "-q",
    ]  # fmt: skip


def timed(command: list[str]) -> tuple[float, str]:
    start = time.perf_counter()
    done = subprocess.run(command, check=True, capture_output=True, text=True)
    return time.perf_counter() - start, done.stdout


def final_loss(output: str, folder: str) -> float:
    """The printed loss, or (``-q`` prints ``w=[...]``) the loss at the printed w."""
    text = output.strip().splitlines()[-1]
    if not text.startswith("w="):
        return float(text)
    w = np.array([float(v) for v in text[3:-1].split(",")])
    residual = np.load(Path(folder) / "A.npy") @ w - np.load(Path(folder) / "b.npy")
    return float(residual @ residual)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="interleaved runs of each process (best of N)")
    parser.add_argument("--solver", action="store_true", help="run the solver with python -c instead of the CLI")
    args = parser.parse_args()
    rng = np.random.default_rng(16)
    with tempfile.TemporaryDirectory() as folder:
        np.save(Path(folder) / "A.npy", rng.standard_normal((100, 100)) / 10)
        np.save(Path(folder) / "b.npy", rng.standard_normal(100))
        np.save(Path(folder) / "w.npy", np.zeros(100))
        ours_command = [sys.executable, "-c", SOLVER, folder] if args.solver else cli_command(folder)
        baselines, ours = [], []
        for _ in range(args.repeat):
            baseline_time, baseline_out = timed([sys.executable, "-c", BASELINE, folder])
            our_time, our_out = timed(ours_command)
            baselines.append(baseline_time)
            ours.append(our_time)
        reference, answer = final_loss(baseline_out, folder), final_loss(our_out, folder)
    # Near the minimum Adam amplifies rounding (the engine sums in another order): agree to 5 %.
    assert abs(reference - answer) <= 0.05 * abs(reference), (reference, answer)
    ratio = min(ours) / min(baselines)
    what = "solver process" if args.solver else "dlsolve optim"
    print(
        f"Adam, {STEPS} steps, 100 parameters: NumPy loop {min(baselines):.3f} s, {what} {min(ours):.3f} s "
        f"(best of {args.repeat}), ratio {ratio:.2f} (target <= 2); final loss {answer:.6g}"
    )
    sys.exit(0 if ratio <= 2 else 1)


if __name__ == "__main__":
    main()
