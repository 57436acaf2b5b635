"""Make tests/data/lr_curve_goldens.json (and lr_curve_logistic.csv): loss curves of real gradient
descent whose regime is known from theory, not from dlsolve.
Run: python tests/data/make_lr_curve_goldens.py (NumPy + SciPy, < 1 s).

Quadratic f(x) = 1/2 sum_i lambda_i x_i^2 (L = max lambda_i), x_0 = (1, 1, 1), GD x <- x - eta grad:
each mode is multiplied by (1 - eta lambda_i) per step, so
  * eta > 2/L: |1 - eta L| > 1, the loss grows geometrically        -> "diverging";
  * every mode's factor |1 - eta lambda_i|^(2(n-1)) <= 0.01        -> "healthy" (converged);
  * 2 eta L (n-1) <= 1: no mode decays by more than a factor e,
    the loss falls almost linearly                                   -> "too slow".
Logistic regression (fixed data, 2 features; L = lambda_max(X^T X)/(4 m), f* from SciPy):
  * 2 eta L (n-1) <= 1                                               -> "too slow";
  * eta <= 1/L (descent lemma: monotone) and f(w_n) - f* <= 1% of f(w_0) - f*  -> "healthy";
  * eta > 2/lambda_max(H*) (H* the Hessian at the minimum): the minimum is linearly unstable, GD
    cannot converge, yet the loss stays bounded (median of its last 20 values below f(w_0)) -> "oscillating".
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from scipy.optimize import minimize

STEPS = 40


def quadratic(eta: float, lambdas: np.ndarray, steps: int = STEPS) -> list[float]:
    x = np.ones_like(lambdas)
    losses = []
    for _ in range(steps):
        losses.append(float(0.5 * np.sum(lambdas * x * x)))
        x = x - eta * lambdas * x
    return losses


def quadratic_theory(eta: float, lambdas: np.ndarray, steps: int = STEPS) -> str | None:
    top = lambdas.max()
    if eta > 2 / top:
        return "diverging"
    if 2 * eta * top * (steps - 1) <= 1:
        return "too slow"
    if np.all(np.abs(1 - eta * lambdas) ** (2 * (steps - 1)) <= 0.01):
        return "healthy"
    return None


def logistic_problem() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    features = rng.normal(size=(200, 2)) * np.array([3.0, 1.0])
    probability = 1 / (1 + np.exp(-features @ np.array([1.0, -1.0])))
    labels = (rng.random(200) < probability).astype(float)
    return features, labels


def main() -> None:
    cases = []
    lambdas = np.array([4.0, 1.0, 0.25])
    top = lambdas.max()
    for ratio in (2.2, 2.05, 1.0, 1.2, 0.01, 0.005):
        eta = ratio / top
        cases.append(
            {
                "name": f"quadratic eta={ratio}/L",
                "eta_times_L": ratio,
                "theory": quadratic_theory(eta, lambdas),
                "values": quadratic(eta, lambdas),
            }
        )
    features, labels = logistic_problem()
    m = len(labels)

    def loss(w: np.ndarray) -> float:
        z = features @ w
        return float(np.mean(np.logaddexp(0, z) - labels * z))

    def grad(w: np.ndarray) -> np.ndarray:
        z = features @ w
        return features.T @ (1 / (1 + np.exp(-z)) - labels) / m

    smooth = float(np.linalg.eigvalsh(features.T @ features / (4 * m)).max())
    best = minimize(loss, np.zeros(2), jac=grad, method="BFGS", options={"gtol": 1e-12})
    s = 1 / (1 + np.exp(-features @ best.x))
    curvature = float(np.linalg.eigvalsh((features.T * (s * (1 - s))) @ features / m).max())
    for name, eta, steps in (
        ("logistic eta=0.005/L", 0.005 / smooth, STEPS),
        ("logistic eta=1/L", 1 / smooth, 60),
        ("logistic eta=2.5/lambda_max(H*)", 2.5 / curvature, 60),
        ("logistic eta=4/lambda_max(H*)", 4 / curvature, 60),
    ):
        w = np.zeros(2)
        values = []
        for _ in range(steps):
            values.append(loss(w))
            w = w - eta * grad(w)
        if 2 * eta * smooth * (steps - 1) <= 1:
            theory = "too slow"
        elif eta <= 1 / smooth and values[-1] - best.fun <= 0.01 * (values[0] - best.fun):
            theory = "healthy"
        elif eta * curvature > 2 and float(np.median(values[-20:])) < values[0]:
            theory = "oscillating"
        else:
            theory = None
        cases.append({"name": name, "eta_times_L": eta * smooth, "theory": theory, "values": values})
    write_logistic_csv([c for c in cases if c["name"].startswith("logistic")])
    path = Path(__file__).with_name("lr_curve_goldens.json")
    path.write_text(json.dumps({"cases": cases}, indent=1) + "\n")
    print(f"wrote {path} ({len(cases)} cases):", [(c["name"], c["theory"]) for c in cases])


def write_logistic_csv(cases: list[dict]) -> None:
    """tests/data/lr_curve_logistic.csv: the logistic-regression runs, one column each (for problems/)."""
    labels = ["tiny", "one_over_L", "beyond_2_over_lambda", "far_beyond"]
    length = max(len(c["values"]) for c in cases)
    rows = [",".join(labels)]
    for i in range(length):
        rows.append(",".join(repr(c["values"][i]) if i < len(c["values"]) else "" for c in cases))
    Path(__file__).with_name("lr_curve_logistic.csv").write_text("\n".join(rows) + "\n")


if __name__ == "__main__":
    main()
