"""Generate tests/data/optim_goldens.json from torch.optim, torch.optim.lr_scheduler and Keras (float64).

    KERAS_BACKEND=torch python tests/data/make_optim_goldens.py

Sections:

* ``optim``: every optimizer x option combination (SGD momentum/dampening/nesterov, Adagrad lr_decay
  and initial accumulator, RMSprop centered/momentum, Adam/AdamW amsgrad, weight decay, eps) with
  random parameters and given gradients (``p.grad`` set by hand, one row per step); the parameters
  after every step and torch's optimizer state after the last.
* ``quadratic``: the same optimizers on f(θ) = Σ (Aθ − b)², gradients by autograd; trajectory and
  the loss at each step's starting point.
* ``schedules``: every lr_scheduler kind (StepLR, MultiStepLR, ExponentialLR, CosineAnnealingLR,
  CosineAnnealingWarmRestarts, LinearLR, OneCycleLR) stepped ``epochs`` times after an SGD step, and
  Keras InverseTimeDecay / CosineDecay(warmup_target) for inverse-time and warmup-cosine.

Numbers are written as short decimal strings, so the tests read them exactly (dlsolve's exact path).
"""

from __future__ import annotations

import itertools
import json
import os
import random
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "torch")

import numpy as np
import torch

OUT = Path(__file__).with_name("optim_goldens.json")
torch.set_default_dtype(torch.float64)


def dec(rng: random.Random, low: float, high: float, digits: int = 2) -> str:
    return f"{rng.uniform(low, high):.{digits}f}"


def optimizer_cases(rng: random.Random) -> list[dict]:
    combos: list[tuple[str, dict]] = []
    for momentum, dampening, nesterov, decay in itertools.product(
        ["0", "0.9", "0.5"], ["0", "0.3"], [False, True], [False, True]
    ):
        if nesterov and (momentum == "0" or dampening != "0"):
            continue
        if momentum == "0" and dampening != "0":
            continue
        opt = "nesterov" if nesterov else ("momentum" if momentum != "0" else "sgd")
        combos.append((opt, {"momentum": momentum, "dampening": dampening, "weight_decay": decay}))
    for lr_decay, accumulator, eps, decay in itertools.product(
        ["0", "0.1"], ["0", "0.5"], [None, "0.001"], [False, True]
    ):
        combos.append(
            ("adagrad", {"lr_decay": lr_decay, "initial_accumulator": accumulator, "eps": eps, "weight_decay": decay})
        )
    for alpha, centered, momentum, eps, decay in itertools.product(
        ["0.99", "0.9"], [False, True], ["0", "0.8"], [None, "0.01"], [False, True]
    ):
        combos.append(
            ("rmsprop", {"alpha": alpha, "centered": centered, "momentum": momentum, "eps": eps, "weight_decay": decay})
        )
    for opt, amsgrad, decay, eps, betas in itertools.product(
        ["adam", "adamw"], [False, True], [False, True], [None, "0.001"], [False, True]
    ):
        combos.append((opt, {"amsgrad": amsgrad, "weight_decay": decay, "eps": eps, "betas": betas}))
    cases = []
    for index, (opt, options) in enumerate(combos * 2):
        n = rng.randint(1, 3)
        steps = rng.randint(1, 5)
        case_options = {k: v for k, v in options.items() if v not in (None, False)}
        if options.get("weight_decay"):
            case_options["weight_decay"] = dec(rng, 0.01, 0.3)
        if options.get("betas"):
            case_options["betas"] = [dec(rng, 0.0, 0.95), dec(rng, 0.5, 0.999, 3)]
        for key in ("momentum", "dampening", "lr_decay", "initial_accumulator"):
            if case_options.get(key) == "0":
                del case_options[key]
        case_options["lr"] = dec(rng, 0.01, 0.5)
        cases.append(
            {
                "id": f"{opt}-{index}",
                "opt": opt,
                "theta0": [dec(rng, -2, 2) for _ in range(n)],
                "grads": [[dec(rng, -3, 3) for _ in range(n)] for _ in range(steps)],
                "options": case_options,
                "float": index % 3 == 0,
            }
        )
    return cases


def torch_optimizer(opt: str, params: list, options: dict):
    o = {k: v for k, v in options.items()}
    lr = float(o.pop("lr"))
    kwargs: dict = {"lr": lr}
    if "weight_decay" in o:
        kwargs["weight_decay"] = float(o["weight_decay"])
    elif opt == "adamw":
        kwargs["weight_decay"] = 0.01
    if opt in ("sgd", "momentum", "nesterov"):
        kwargs["momentum"] = float(o.get("momentum", "0.9" if opt != "sgd" else "0"))
        kwargs["dampening"] = float(o.get("dampening", 0))
        kwargs["nesterov"] = opt == "nesterov"
        return torch.optim.SGD(params, **kwargs)
    if "eps" in o:
        kwargs["eps"] = float(o["eps"])
    if opt == "adagrad":
        kwargs["lr_decay"] = float(o.get("lr_decay", 0))
        kwargs["initial_accumulator_value"] = float(o.get("initial_accumulator", 0))
        return torch.optim.Adagrad(params, **kwargs)
    if opt == "rmsprop":
        kwargs["alpha"] = float(o.get("alpha", 0.99))
        kwargs["centered"] = bool(o.get("centered", False))
        kwargs["momentum"] = float(o.get("momentum", 0))
        return torch.optim.RMSprop(params, **kwargs)
    if "betas" in o:
        kwargs["betas"] = tuple(float(b) for b in o["betas"])
    kwargs["amsgrad"] = bool(o.get("amsgrad", False))
    return (torch.optim.AdamW if opt == "adamw" else torch.optim.Adam)(params, **kwargs)


def state_of(optimizer, param) -> dict:
    state = optimizer.state[param]
    out = {}
    for key, value in state.items():
        if value is None:
            out[key] = None
        elif key == "step":
            out[key] = int(float(value))
        else:
            out[key] = value.tolist()
    return out


def run_given(case: dict) -> dict:
    param = torch.tensor([float(v) for v in case["theta0"]], requires_grad=True)
    optimizer = torch_optimizer(case["opt"], [param], case["options"])
    trajectory = []
    for row in case["grads"]:
        param.grad = torch.tensor([float(v) for v in row])
        optimizer.step()
        trajectory.append(param.detach().tolist())
    return {"trajectory": trajectory, "state": state_of(optimizer, param)}


def quadratic_cases(rng: random.Random) -> list[dict]:
    cases = []
    choices = [
        ("sgd", {}),
        ("momentum", {}),
        ("momentum", {"dampening": "0.5"}),
        ("nesterov", {}),
        ("sgd", {"weight_decay": "0.1"}),
        ("adagrad", {}),
        ("adagrad", {"lr_decay": "0.05"}),
        ("rmsprop", {}),
        ("rmsprop", {"centered": True, "momentum": "0.5"}),
        ("adam", {}),
        ("adam", {"amsgrad": True, "weight_decay": "0.05"}),
        ("adamw", {}),
        ("adamw", {"weight_decay": "0.1", "amsgrad": True}),
    ]
    for index, (opt, options) in enumerate(choices * 2):
        n, m = rng.randint(1, 3), rng.randint(1, 3)
        cases.append(
            {
                "id": f"quadratic-{opt}-{index}",
                "opt": opt,
                "A": [[dec(rng, -2, 2, 1) for _ in range(n)] for _ in range(m)],
                "b": [dec(rng, -2, 2, 1) for _ in range(m)],
                "theta0": [dec(rng, -1, 1, 1) for _ in range(n)],
                "steps": rng.randint(2, 6),
                "options": {**options, "lr": dec(rng, 0.01, 0.2)},
            }
        )
    for case in cases:
        A = torch.tensor([[float(v) for v in row] for row in case["A"]])
        b = torch.tensor([float(v) for v in case["b"]])
        param = torch.tensor([float(v) for v in case["theta0"]], requires_grad=True)
        optimizer = torch_optimizer(case["opt"], [param], case["options"])
        trajectory, losses = [], []
        for _ in range(case["steps"]):
            optimizer.zero_grad()
            loss = ((A @ param - b) ** 2).sum()
            loss.backward()
            losses.append(loss.item())
            optimizer.step()
            trajectory.append(param.detach().tolist())
        case["expected"] = {"trajectory": trajectory, "loss": losses, "state": state_of(optimizer, param)}
    return cases


def multi_cases(rng: random.Random) -> list[dict]:
    """Two tensors at once (a matrix W and a vector b) in f = mse(W @ x + b, y): shapes kept, order W, b."""
    cases = []
    for index, opt in enumerate(["sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam", "adamw"] * 2):
        case = {
            "id": f"multi-{opt}-{index}",
            "opt": opt,
            "W": [[dec(rng, -1, 1) for _ in range(3)] for _ in range(2)],
            "b": [dec(rng, -1, 1) for _ in range(2)],
            "x": [dec(rng, -2, 2) for _ in range(3)],
            "y": [dec(rng, -1, 1) for _ in range(2)],
            "steps": 3,
            "options": {"lr": dec(rng, 0.01, 0.3)} | ({"weight_decay": "0.1"} if index >= 7 else {}),
        }
        W = torch.tensor([[float(v) for v in row] for row in case["W"]], requires_grad=True)
        b = torch.tensor([float(v) for v in case["b"]], requires_grad=True)
        x = torch.tensor([float(v) for v in case["x"]])
        y = torch.tensor([float(v) for v in case["y"]])
        optimizer = torch_optimizer(opt, [W, b], case["options"])
        trajectory = []
        for _ in range(case["steps"]):
            optimizer.zero_grad()
            torch.nn.functional.mse_loss(W @ x + b, y).backward()
            optimizer.step()
            trajectory.append({"W": W.detach().tolist(), "b": b.detach().tolist()})
        case["expected"] = {"trajectory": trajectory}
        cases.append(case)
    return cases


def schedule_cases(rng: random.Random) -> list[dict]:
    from torch.optim import lr_scheduler as S

    cases = []
    for _index in range(10):
        lr = dec(rng, 0.01, 1)
        cases.append(
            {
                "kind": "step",
                "options": {"lr": lr, "step_size": rng.randint(1, 4), "gamma": dec(rng, 0.1, 0.9)},
                "epochs": rng.randint(1, 12),
            }
        )
        marks = sorted(rng.sample(range(1, 12), rng.randint(1, 3)))
        cases.append(
            {
                "kind": "multistep",
                "options": {"lr": lr, "milestones": marks, "gamma": dec(rng, 0.1, 0.9)},
                "epochs": rng.randint(1, 14),
            }
        )
        cases.append(
            {"kind": "exponential", "options": {"lr": lr, "gamma": dec(rng, 0.5, 0.99)}, "epochs": rng.randint(1, 12)}
        )
        cases.append(
            {
                "kind": "cosine",
                "options": {"lr": lr, "t_max": rng.randint(1, 12), "eta_min": rng.choice(["0", dec(rng, 0, 0.01, 3)])},
                "epochs": rng.randint(1, 30),
            }
        )
        cases.append(
            {
                "kind": "cosine-warm-restarts",
                "options": {
                    "lr": lr,
                    "t_0": rng.randint(1, 5),
                    "t_mult": rng.randint(1, 3),
                    "eta_min": rng.choice(["0", dec(rng, 0, 0.01, 3)]),
                },
                "epochs": rng.randint(1, 30),
            }
        )
        cases.append(
            {
                "kind": "linear",
                "options": {
                    "lr": lr,
                    "start_factor": dec(rng, 0.05, 1),
                    "end_factor": dec(rng, 0, 1),
                    "total_iters": rng.randint(1, 8),
                },
                "epochs": rng.randint(1, 12),
            }
        )
        total = rng.randint(5, 40)
        cases.append(
            {
                "kind": "onecycle",
                "options": {
                    "max_lr": lr,
                    "total_steps": total,
                    "pct_start": rng.choice(["0.3", "0.25", "0.4", dec(rng, 0.1, 0.5)]),
                    "anneal_strategy": rng.choice(["cos", "linear"]),
                    "three_phase": rng.random() < 0.5,
                    "div_factor": rng.choice(["25", "10"]),
                    "final_div_factor": rng.choice(["10000", "100"]),
                },
                "epochs": total - 1,
            }
        )
        cases.append(
            {
                "kind": "inverse-time",
                "options": {
                    "lr": lr,
                    "decay_rate": dec(rng, 0.1, 2),
                    "decay_steps": str(rng.randint(1, 4)),
                    "staircase": rng.random() < 0.5,
                },
                "epochs": rng.randint(1, 12),
            }
        )
        warm = rng.randint(0, 4)
        cases.append(
            {
                "kind": "warmup-cosine",
                "options": {
                    "lr": lr,
                    "warmup": warm,
                    "total_steps": warm + rng.randint(1, 10),
                    "warmup_start": rng.choice(["0", dec(rng, 0, 0.5)]),
                    "eta_min": rng.choice(["0", dec(rng, 0, 0.01, 3)]),
                },
                "epochs": rng.randint(1, 20),
            }
        )
    for case in cases:
        o, kind, epochs = case["options"], case["kind"], case["epochs"]
        if kind in ("inverse-time", "warmup-cosine"):
            case["expected"] = {"lr": keras_schedule(kind, o, epochs)}
            continue
        param = torch.zeros(1, requires_grad=True)
        base = float(o.get("lr", o.get("max_lr")))
        optimizer = torch.optim.SGD([param], lr=base, momentum=0.9)
        if kind == "step":
            scheduler = S.StepLR(optimizer, o["step_size"], float(o["gamma"]))
        elif kind == "multistep":
            scheduler = S.MultiStepLR(optimizer, o["milestones"], float(o["gamma"]))
        elif kind == "exponential":
            scheduler = S.ExponentialLR(optimizer, float(o["gamma"]))
        elif kind == "cosine":
            scheduler = S.CosineAnnealingLR(optimizer, o["t_max"], float(o["eta_min"]))
        elif kind == "cosine-warm-restarts":
            scheduler = S.CosineAnnealingWarmRestarts(optimizer, o["t_0"], o["t_mult"], float(o["eta_min"]))
        elif kind == "linear":
            scheduler = S.LinearLR(optimizer, float(o["start_factor"]), float(o["end_factor"]), o["total_iters"])
        else:
            scheduler = S.OneCycleLR(
                optimizer,
                base,
                total_steps=o["total_steps"],
                pct_start=float(o["pct_start"]),
                anneal_strategy=o["anneal_strategy"],
                three_phase=o["three_phase"],
                div_factor=float(o["div_factor"]),
                final_div_factor=float(o["final_div_factor"]),
            )
        lrs = [scheduler.get_last_lr()[0]]
        momenta = [optimizer.param_groups[0]["momentum"]]
        for _ in range(epochs):
            param.grad = torch.zeros(1)
            optimizer.step()
            scheduler.step()
            lrs.append(scheduler.get_last_lr()[0])
            momenta.append(optimizer.param_groups[0]["momentum"])
        case["expected"] = {"lr": [float(v) for v in lrs]}
        if kind == "onecycle":
            case["expected"]["momentum"] = [float(v) for v in momenta]
    return cases


def keras_schedule(kind: str, o: dict, epochs: int) -> list[float]:
    import keras

    keras.config.set_floatx("float64")
    lr = np.float64(o["lr"])
    if kind == "inverse-time":
        schedule = keras.optimizers.schedules.InverseTimeDecay(
            lr, float(o["decay_steps"]), np.float64(o["decay_rate"]), staircase=o["staircase"]
        )
    else:
        warm, total = o["warmup"], o["total_steps"]
        start = lr * np.float64(o["warmup_start"])
        alpha = np.float64(o["eta_min"]) / lr
        schedule = keras.optimizers.schedules.CosineDecay(
            start, total - warm, alpha=alpha, warmup_target=lr, warmup_steps=warm
        )
    return [float(keras.ops.convert_to_numpy(schedule(np.float64(e)))) for e in range(epochs + 1)]


def main() -> None:
    rng = random.Random(16)
    cases = optimizer_cases(rng)
    for case in cases:
        case["expected"] = run_given(case)
    data = {
        "torch": torch.__version__,
        "optim": cases,
        "quadratic": quadratic_cases(rng),
        "schedules": schedule_cases(rng),
        "multi": multi_cases(random.Random(1616)),
    }
    OUT.write_text(json.dumps(data, indent=1) + "\n")
    print(
        f"{len(data['optim'])} optimizer cases, {len(data['quadratic'])} quadratic, "
        f"{len(data['schedules'])} schedules, {len(data['multi'])} two-tensor -> {OUT}"
    )


if __name__ == "__main__":
    main()
