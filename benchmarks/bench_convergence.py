"""Benchmark convergence-bound on X of 2000 x 1000 against the NumPy eigendecompositions it needs.

Same run, same X, best of --repeat. Three timings of dlsolve:

* ``scheme``: one sampling scheme's analysis: spectrum of H, R^2, beta, the reduced pencil, the exact
  worst-case factor at the textbook step size and the step size minimising it;
* ``command``: the whole default command (uniform and importance side by side, Kaczmarz, steps);

and two baselines:

* ``eigh(H)``: forming ``H = X_p^T X_p`` and ``numpy.linalg.eigh(H)`` (values and vectors: the
  row-space restriction needs them), i.e. the spectrum alone;
* ``eigh(H) + eigh(T)``: plus a dense ``eigh`` of the d x d pencil matrix ``T(eta)`` whose largest
  eigenvalue is the exact factor (the generalised eigenproblem the exact factor needs).

The four are interleaved (one run of each per round, best of --repeat rounds) so that load from
other processes on the machine hits baselines and dlsolve alike.
Prints the ratios; the issue's target is ``scheme / eigh(H)`` within 1.5x.
Run: python benchmarks/bench_convergence.py [--n 2000 --d 1000 --repeat 5]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from dlsolve.parsing import Matrix
from dlsolve.solvers import convergence as cv
from dlsolve.solvers import convergence_math as cm


def best_times(functions: dict, repeat: int) -> dict[str, float]:
    """Best of ``repeat`` rounds, each round running every function once (interleaved)."""
    times: dict[str, list[float]] = {name: [] for name in functions}
    for _ in range(repeat):
        for name, function in functions.items():
            start = time.perf_counter()
            function()
            times[name].append(time.perf_counter() - start)
    return {name: min(values) for name, values in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--d", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    x = np.random.default_rng(0).standard_normal((args.n, args.d))
    weights = np.full(args.n, 1.0 / args.n)
    c = 2
    cv.solve_convergence_bound(Matrix(array=x[:40, :30].copy()))  # import SymPy, warm caches

    def eigh_h():
        xp = x * np.sqrt(weights)[:, None]
        return np.linalg.eigh(xp.T @ xp)

    scheme = cv.analyse_scheme("uniform", x, None, weights.tolist(), c)
    pencil_matrix = cm.pencil_matrix(scheme.analysis.pencil, float(scheme.eta_best), c)

    def eigh_h_and_t():
        eigh_h()
        np.linalg.eigh(pencil_matrix)

    def one_scheme():
        analysed = cv.analyse_scheme("uniform", x, None, weights.tolist(), c)
        cv.exact_factor(analysed, None, analysed.eta_best, c)
        cv.best_exact_step(analysed, c)

    def command():
        cv.solve_convergence_bound(Matrix(array=x))

    timings = best_times(
        {"eigh(H)": eigh_h, "eigh(H) + eigh(T)": eigh_h_and_t, "scheme": one_scheme, "command": command},
        args.repeat,
    )
    print(f"X: {args.n} x {args.d}, best of {args.repeat}")
    for name, seconds in timings.items():
        print(f"  {name:<20} {seconds:8.3f} s")
    print(f"scheme  / eigh(H)           = {timings['scheme'] / timings['eigh(H)']:.2f}x  (target 1.5x)")
    print(f"scheme  / (eigh(H)+eigh(T)) = {timings['scheme'] / timings['eigh(H) + eigh(T)']:.2f}x")
    print(f"command / (2 eigh(H))       = {timings['command'] / (2 * timings['eigh(H)']):.2f}x  (two schemes)")


if __name__ == "__main__":
    main()
