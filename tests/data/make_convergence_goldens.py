"""Make tests/data/convergence_goldens.json with PyTorch autograd and SciPy (independent of dlsolve).

For each case (X, p, eta, loss): H = sum_i p_i x_i x_i^T from torch, lambda_min (smallest nonzero)
and lambda_max with torch.linalg.eigvalsh, R^2, beta = max_i x_i^T H x_i, and the exact worst-case
one-step factor: E[L(theta_{t+1}) | theta_t] is built from one real SGD step per point with autograd
gradients, its Hessian in theta (torch.autograd.functional.hessian) is c M and the Hessian of L is c H;
the factor is the largest generalised eigenvalue of (M, H) on the row space of X (scipy.linalg.eigh on
an orthonormal basis from scipy.linalg.orth). eta_exact_best minimises that factor over eta
(scipy.optimize.minimize_scalar, bounded). Run: python tests/data/make_convergence_goldens.py
"""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path

import numpy as np
import scipy.linalg
import scipy.optimize
import torch

torch.set_default_dtype(torch.float64)

CASES = [
    {"x": [[1, 0, 0], [0, 2, 0]], "p": "uniform", "eta": None, "half": False},
    {"x": [[1, 1, 0], [0, 1, 1]], "p": "uniform", "eta": None, "half": False},
    {"x": [[1, 1, 0], [0, 1, 1]], "p": "importance", "eta": "1/20", "half": False},
    {"x": [[1, 2, 0, 1], [0, 1, -1, 2], [3, 0, 1, 1]], "p": "uniform", "eta": "1/100", "half": False},
    {"x": [[1, 2, 0, 1], [0, 1, -1, 2], [3, 0, 1, 1]], "p": [0.5, 0.25, 0.25], "eta": "1/50", "half": True},
    {"x": [[1, 0.1, 0.01]], "p": "uniform", "eta": None, "half": False},
    {"x": [[2, 1], [1, 3], [0, 1], [1, 1]], "p": "uniform", "eta": "1/40", "half": False},
    {"x": [[2, 1], [1, 3], [0, 1], [1, 1]], "p": "importance", "eta": "1/40", "half": True},
    {"x": [[1, 2, 3], [2, 4, 6], [0, 1, 1]], "p": "uniform", "eta": "1/100", "half": False},
]


def probabilities(x: torch.Tensor, spec: str | list[float]) -> torch.Tensor:
    if spec == "uniform":
        return torch.full((x.shape[0],), 1.0 / x.shape[0])
    if spec == "importance":
        norms = (x * x).sum(dim=1)
        return norms / norms.sum()
    return torch.tensor(spec)


def expected_next_loss(theta: torch.Tensor, x: torch.Tensor, y: torch.Tensor, p: torch.Tensor, eta: float, c: int):
    def loss(t: torch.Tensor) -> torch.Tensor:
        return (c / 2) * (p * (y - x @ t) ** 2).sum()

    total = torch.zeros(())
    for i in range(x.shape[0]):
        f_i = (c / 2) * (y[i] - x[i] @ theta) ** 2
        (grad,) = torch.autograd.grad(f_i, theta, create_graph=True)
        total = total + p[i] * loss(theta - eta * grad)
    return total


def factor(x, y, p, eta, c, basis) -> float:
    theta0 = torch.zeros(x.shape[1])
    hess_next = torch.autograd.functional.hessian(lambda t: expected_next_loss(t, x, y, p, eta, c), theta0).numpy()
    hess_loss = torch.autograd.functional.hessian(lambda t: (c / 2) * (p * (y - x @ t) ** 2).sum(), theta0).numpy()
    values = scipy.linalg.eigh(basis.T @ hess_next @ basis, basis.T @ hess_loss @ basis, eigvals_only=True)
    return float(values[-1])


def golden(case: dict) -> dict:
    x = torch.tensor(case["x"], dtype=torch.float64)
    p = probabilities(x, case["p"])
    c = 1 if case["half"] else 2
    h = x.T @ torch.diag(p) @ x
    eigenvalues = torch.linalg.eigvalsh(h)
    nonzero = eigenvalues[eigenvalues > 1e-10 * eigenvalues.max()]
    lmin, lmax = float(nonzero.min()), float(nonzero.max())
    r2 = float((x * x).sum(dim=1).max())
    beta = float(torch.einsum("ij,jk,ik->i", x, h, x).max())
    eta = float(Fraction(case["eta"])) if case["eta"] else lmin / (c * lmax * r2)
    y = x @ torch.ones(x.shape[1])
    basis = scipy.linalg.orth(x.numpy().T)
    result = scipy.optimize.minimize_scalar(
        lambda e: factor(x, y, p, e, c, basis),
        bounds=(1e-9, 4 / (c * lmax)),
        method="bounded",
        options={"xatol": 1e-10},
    )
    return {
        **case,
        "lambda_min": lmin,
        "lambda_max": lmax,
        "R2": r2,
        "beta": beta,
        "eta_value": eta,
        "exact_factor": factor(x, y, p, eta, c, basis),
        "eta_exact_best": float(result.x),
        "exact_factor_best": float(result.fun),
    }


def main() -> None:
    goldens = [golden(case) for case in CASES]
    out = Path(__file__).with_name("convergence_goldens.json")
    out.write_text(json.dumps({"torch": torch.__version__, "cases": goldens}, indent=1) + "\n")
    print(f"wrote {len(goldens)} cases to {out}")


if __name__ == "__main__":
    np.set_printoptions(precision=17)
    main()
