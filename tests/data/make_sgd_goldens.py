"""Make tests/data/sgd_goldens.json: endpoints of real PyTorch optimizer runs for ``sgd-limit``.

Run from the repository root: ``python tests/data/make_sgd_goldens.py`` (needs torch; takes seconds).

Each case is one least-squares problem ``f_i(theta) = (y_i - x_i^T theta)^2`` run with
``torch.optim`` (SGD, Adagrad, RMSprop, Adam with default hyper-parameters) or, for ``epoch-rms``,
a hand-written torch loop using autograd gradients. The sampled indices come from
``numpy.random.default_rng(seed).choice(n, size=steps, p=p)`` (the convention of dlsolve's
simulator); the step size follows ``lr`` (constant) or ``lr * tau / (tau + t)``, ``tau =
max(1, steps / 100)`` (decay, via LambdaLR). The JSON stores the inputs, torch's endpoint and its
point after ``short_steps`` steps (to compare update rules before rounding differences are amplified)
only:
the closed-form limits are NOT stored here (tests compare dlsolve's answer with these endpoints).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch

torch.set_default_dtype(torch.float64)
OUT = Path(__file__).with_name("sgd_goldens.json")
SHORT_STEPS = 40


def run(case: dict, steps: int | None = None) -> list[float]:
    """Torch's theta after ``steps`` steps (default ``case["steps"]``; the schedule uses ``case["steps"]``)."""
    x = torch.tensor(case["x"], dtype=torch.float64)
    y = torch.tensor(case["y"], dtype=torch.float64)
    n = x.shape[0]
    theta = torch.tensor(case["theta0"], dtype=torch.float64, requires_grad=True)
    lr = case["lr"]
    tau = max(1.0, case["steps"] / 100)
    p = np.array(case.get("p") or [1 / n] * n)
    draws = np.random.default_rng(case.get("seed", 0)).choice(n, size=case["steps"], p=p)
    steps = case["steps"] if steps is None else steps
    name = case["optimizer"]
    if name == "epoch-rms":
        with torch.no_grad():
            for step in range(steps):
                eta = lr * (tau / (tau + step) if case["schedule"] == "decay" else 1.0)
                if step % n == 0:
                    grads = []
                    for i in range(n):
                        t = theta.detach().clone().requires_grad_(True)
                        with torch.enable_grad():
                            ((y[i] - x[i] @ t) ** 2).backward()
                        grads.append(t.grad)
                    rms = torch.stack(grads).pow(2).mean(0).sqrt()
                    scale = torch.where(rms > 0, 1 / rms, torch.zeros_like(rms))
                i = int(draws[step])
                t = theta.detach().clone().requires_grad_(True)
                with torch.enable_grad():
                    ((y[i] - x[i] @ t) ** 2).backward()
                theta -= eta * scale * t.grad
        return theta.detach().tolist()
    optimizer = {
        "sgd": lambda: torch.optim.SGD([theta], lr=lr),
        "adagrad": lambda: torch.optim.Adagrad([theta], lr=lr),
        "rmsprop": lambda: torch.optim.RMSprop([theta], lr=lr),
        "adam": lambda: torch.optim.Adam([theta], lr=lr),
    }[name]()
    factor = (lambda t: tau / (tau + t)) if case["schedule"] == "decay" else (lambda t: 1.0)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, factor)
    for step in range(steps):
        i = int(draws[step])
        optimizer.zero_grad()
        loss = (y[i] - x[i] @ theta) ** 2
        loss.backward()
        optimizer.step()
        scheduler.step()
    return theta.detach().tolist()


def cases() -> list[dict]:
    rng = np.random.default_rng(2026)
    # the exam, part 4: x = [1, 0.1, 0.01], y = 1, theta_0 = 0
    exam = [
        ("exam-4i-sgd", "sgd", 0.25, 200, "constant", "identity"),
        ("exam-4ii-epoch-rms", "epoch-rms", 0.09, 4000, "decay", "epoch-rms"),
        ("exam-4ii-adagrad", "adagrad", 0.45, 2000, "constant", "adagrad"),
        ("exam-4ii-rmsprop", "rmsprop", 0.09, 4000, "decay", "rmsprop"),
        ("exam-4ii-adam", "adam", 0.09, 4000, "decay", "adam"),
    ]
    keys = ("id", "optimizer", "lr", "steps", "schedule", "precond")
    out = [{**dict(zip(keys, row, strict=True)), "x": [[1, 0.1, 0.01]], "y": [1], "theta0": [0, 0, 0]} for row in exam]
    for k in range(3):  # random single points, random theta_0, every adaptive optimizer
        d = 4
        x = rng.integers(-5, 6, size=d).astype(float)
        x[x == 0] = 2.0
        y = float(rng.integers(-3, 4))
        theta0 = rng.integers(-2, 3, size=d).astype(float)
        scale = abs(y - x @ theta0) / np.abs(x).sum() or 0.1
        for name, lr, schedule in [
            ("adagrad", 0.5 * scale, "constant"),
            ("rmsprop", 0.1 * scale, "decay"),
            ("adam", 0.1 * scale, "decay"),
            ("epoch-rms", 0.1 * scale, "decay"),
        ]:
            out.append(
                {
                    "id": f"single-{k}-{name}",
                    "x": [x.tolist()],
                    "y": [y],
                    "theta0": theta0.tolist(),
                    "optimizer": name,
                    "lr": lr,
                    "steps": 4000,
                    "schedule": schedule,
                    "precond": name,
                }
            )
    for k in range(3):  # random underdetermined systems, non-uniform p, plain SGD (torch.optim.SGD)
        n, d = 3, 5
        x = rng.integers(-3, 4, size=(n, d)).astype(float)
        y = rng.integers(-3, 4, size=n).astype(float)
        theta0 = rng.integers(-2, 3, size=d).astype(float)
        p = rng.dirichlet(np.ones(n)).round(2)
        p[-1] = round(1 - p[:-1].sum(), 2)
        lr = 0.5 / float(np.max(np.einsum("ij,ij->i", x, x)))
        out.append(
            {
                "id": f"underdetermined-{k}-sgd",
                "x": x.tolist(),
                "y": y.tolist(),
                "theta0": theta0.tolist(),
                "p": p.tolist(),
                "optimizer": "sgd",
                "lr": lr,
                "steps": 3000,
                "schedule": "constant",
                "precond": "identity",
                "seed": k,
            }
        )
    return out


def main() -> None:
    goldens = []
    for case in cases():
        case["torch_theta"] = run(case)
        # sign-like methods are chaotic near the solution: compare update rules on a short run
        case["short_steps"] = SHORT_STEPS
        case["torch_theta_short"] = run(case, SHORT_STEPS)
        goldens.append(case)
    OUT.write_text(json.dumps({"torch": torch.__version__, "cases": goldens}, indent=1) + "\n")
    print(f"wrote {len(goldens)} cases to {OUT}")


if __name__ == "__main__":
    main()
