"""Make tests/data/norm_goldens.json: PyTorch (float64) answers for `norm`, `dropout` and `init`.

Run from the repository root with PyTorch installed (CI has no torch, so the JSON is committed):

    python tests/data/make_norm_goldens.py

* norm: nn.BatchNorm1d/2d, nn.LayerNorm, nn.GroupNorm, nn.InstanceNorm1d/2d and nn.RMSNorm in train
  and eval mode, with or without affine parameters and tracked statistics, several momenta (and
  momentum=None) and eps; y, the running statistics after the call and, by autograd, dx, dγ and dβ
  of L = Σ(g·y). Inputs are small decimals written in dlsolve's text syntax (the exact values the
  CLI reads); refusals record PyTorch's message.
* dropout: F.dropout(x, p, training=True) under a fixed seed; the mask is read back from the output
  (entries of x are non-zero) and the test checks y = x·mask/(1 − p) against PyTorch's y.
* init: calculate_gain and the fans PyTorch computes (_calculate_fan_in_and_fan_out of the layer's
  weight), the std and bound of each torch.nn.init function from its documented formula, checked
  here against the empirical std (and max |w| for the uniform ones) of many real draws.
"""

from __future__ import annotations

import json
import math
import random
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

OUT = Path(__file__).with_name("norm_goldens.json")
torch.set_default_dtype(torch.float64)


def number_text(value: float) -> str:
    return str(int(value)) if value == int(value) else repr(value)


def tensor_text(values: list[Any]) -> str:
    """dlsolve's syntax: N x C matrix; ';;' between the samples of N,C,L; ';;;' for N,C,H,W."""

    def matrix(rows: list[list[float]]) -> str:
        return ";".join(",".join(number_text(v) for v in row) for row in rows)

    depth = 0
    probe: Any = values
    while isinstance(probe, list):
        depth, probe = depth + 1, probe[0]
    if depth == 2:
        return matrix(values)
    one = len(values) == 1  # a batch of one sample ends with its separator
    if depth == 3:
        return ";;".join(matrix(sample) for sample in values) + (";;" if one else "")
    return ";;;".join(";;".join(matrix(channel) for channel in sample) for sample in values) + (";;;" if one else "")


def random_values(rng: random.Random, shape: tuple[int, ...]) -> list[Any]:
    def value() -> float:
        if rng.random() < 0.7:
            return float(rng.randint(-5, 5))
        return rng.randint(-50, 50) / 10

    def build(dims: tuple[int, ...]) -> Any:
        if len(dims) == 1:
            return [value() for _ in range(dims[0])]
        return [build(dims[1:]) for _ in range(dims[0])]

    return build(shape)


def vector(rng: random.Random, count: int, low: int, high: int) -> list[float]:
    return [rng.randint(low, high) / 4 for _ in range(count)]


def module_for(case: dict[str, Any], shape: tuple[int, ...]) -> nn.Module:
    kind, eps = case["kind"], float(eval_fraction(case["eps"])) if case["eps"] is not None else None
    momentum = None if case["momentum"] == "None" else float(eval_fraction(case["momentum"]))
    spatial = len(shape) - 2
    if kind == "batch":
        cls = {0: nn.BatchNorm1d, 1: nn.BatchNorm1d, 2: nn.BatchNorm2d, 3: nn.BatchNorm3d}[spatial]
        return cls(shape[1], eps=eps, momentum=momentum, affine=case["affine"], track_running_stats=case["track"])
    if kind == "instance" and spatial == 0:  # unbatched (C, L)
        return nn.InstanceNorm1d(
            shape[0], eps=eps, momentum=momentum, affine=case["affine"], track_running_stats=case["track"]
        )
    if kind == "instance":
        cls = {1: nn.InstanceNorm1d, 2: nn.InstanceNorm2d, 3: nn.InstanceNorm3d}[spatial]
        return cls(shape[1], eps=eps, momentum=momentum, affine=case["affine"], track_running_stats=case["track"])
    if kind == "group":
        return nn.GroupNorm(case["groups"], shape[1], eps=eps, affine=case["affine"])
    if kind == "layer":
        return nn.LayerNorm(case["normalized_shape"], eps=eps, elementwise_affine=case["affine"])
    return nn.RMSNorm(case["normalized_shape"], eps=eps, elementwise_affine=case["affine"])


def eval_fraction(text: str) -> float:
    if "/" in text:
        top, bottom = text.split("/")
        return float(top) / float(bottom)
    return float(text)


def run_norm(case: dict[str, Any], x_values: list[Any], g_values: list[Any]) -> dict[str, Any]:
    x = torch.tensor(x_values, requires_grad=True)
    try:
        module = module_for(case, tuple(x.shape))
        with torch.no_grad():
            if case["gamma"] is not None:
                module.weight.copy_(torch.tensor(case["gamma"]).reshape(module.weight.shape))
            if case["beta"] is not None:
                module.bias.copy_(torch.tensor(case["beta"]).reshape(module.bias.shape))
            if case["running_mean"] is not None:
                module.running_mean.copy_(torch.tensor(case["running_mean"]))
                module.running_var.copy_(torch.tensor(case["running_var"]))
                module.num_batches_tracked.fill_(case["num_batches_tracked"])
        module.train(case["training"])
        y = module(x)
    except (ValueError, RuntimeError) as error:
        return {"error": str(error).splitlines()[0]}
    g = torch.tensor(g_values)
    (y * g).sum().backward()
    result: dict[str, Any] = {"y": y.tolist(), "dx": x.grad.tolist()}
    weight = getattr(module, "weight", None)
    bias = getattr(module, "bias", None)
    result["dgamma"] = weight.grad.reshape(-1).tolist() if weight is not None else None
    result["dbeta"] = bias.grad.tolist() if bias is not None else None
    running = getattr(module, "running_mean", None)
    result["running_mean"] = running.tolist() if running is not None else None
    result["running_var"] = module.running_var.tolist() if running is not None else None
    return result


def norm_cases(rng: random.Random) -> list[dict[str, Any]]:
    shapes = {
        "batch": [(3, 2), (4, 3), (2, 2), (2, 2, 3), (3, 2, 2), (2, 2, 2, 2), (2, 3, 2, 2)],
        "layer": [(2, 3), (3, 4), (2, 2, 3), (2, 3, 2, 2)],
        "group": [(2, 4), (2, 4, 3), (1, 6, 2), (2, 4, 2, 2), (3, 2)],
        "instance": [(2, 2, 3), (1, 3, 4), (2, 2, 2, 2), (3, 4)],
        "rms": [(2, 3), (3, 4), (2, 2, 3)],
    }
    epsilons = ["1e-5", "0.001", "0.5", "1/4", "1"]
    momenta = ["0.1", "0.5", "1", "0.25", "None"]
    cases: list[dict[str, Any]] = []
    counts = {"batch": 90, "layer": 35, "group": 35, "instance": 35, "rms": 25}
    for kind, count in counts.items():
        for index in range(count):
            shape = shapes[kind][index % len(shapes[kind])]
            c = shape[0] if kind == "instance" and len(shape) == 2 else shape[1]
            affine = rng.random() < 0.75 if kind != "instance" else rng.random() < 0.5
            case: dict[str, Any] = {
                "kind": kind,
                "shape": list(shape),
                "eps": rng.choice(epsilons),
                "momentum": rng.choice(momenta) if kind in ("batch", "instance") else "0.1",
                "training": rng.random() < 0.6,
                "affine": affine,
                "track": (rng.random() < 0.8) if kind == "batch" else (rng.random() < 0.4),
                "groups": None,
                "normalized_shape": None,
                "gamma": None,
                "beta": None,
                "running_mean": None,
                "running_var": None,
                "num_batches_tracked": 0,
            }
            if kind == "rms" and rng.random() < 0.3:
                case["eps"] = None
            if kind == "group":
                case["groups"] = rng.choice([g for g in (1, 2, 3, 4, 6) if c % g == 0])
            if kind in ("layer", "rms"):
                trailing = 2 if len(shape) == 4 and rng.random() < 0.5 else 1
                case["normalized_shape"] = list(shape[-trailing:])
            params = math.prod(case["normalized_shape"]) if kind in ("layer", "rms") else c
            if affine:
                case["gamma"] = vector(rng, params, -8, 8)
                if kind != "rms":
                    case["beta"] = vector(rng, params, -8, 8)
            if kind in ("batch", "instance") and case["track"]:
                case["running_mean"] = vector(rng, c, -8, 8)
                case["running_var"] = vector(rng, c, 1, 12)
                case["num_batches_tracked"] = rng.randint(0, 4)
            cases.append(case)
    # PyTorch's refusals
    refusals = [
        {"kind": "batch", "shape": [1, 3], "training": True},  # one value per channel
        {"kind": "batch", "shape": [1, 2, 1], "training": True},
        {"kind": "batch", "shape": [3, 2], "training": True, "eps": "0"},  # eps must be positive
        {"kind": "batch", "shape": [3, 2], "training": False, "track": False, "eps": "0"},
        {"kind": "instance", "shape": [2, 3, 1], "training": True},  # one spatial element
        {"kind": "group", "shape": [2, 6], "groups": 4},  # groups do not divide C
        {"kind": "group", "shape": [1, 3], "groups": 3},  # one value per group, batch of one
        {"kind": "layer", "shape": [2, 3], "normalized_shape": [2]},  # not the trailing shape
    ]
    for refusal in refusals:
        case = {
            "eps": "1e-5", "momentum": "0.1", "training": True, "affine": True,
            "track": refusal["kind"] == "batch", "groups": None, "normalized_shape": None, "gamma": None,
            "beta": None, "running_mean": None, "running_var": None, "num_batches_tracked": 0,
        }  # fmt: skip
        case.update(refusal)
        cases.append(case)
    return cases


def make_norm(rng: random.Random, sample: int | None = None) -> list[dict[str, Any]]:
    """The norm cases with PyTorch's answers (``sample``: only that many, drawn at random)."""
    out = []
    cases = norm_cases(rng)
    for case in cases if sample is None else rng.sample(cases, sample):
        shape = tuple(case["shape"])
        x_values = random_values(rng, shape)
        g_values = random_values(rng, shape)
        case = {**case, "x": tensor_text(x_values), "grad_y": tensor_text(g_values)}
        case["torch"] = run_norm(case, x_values, g_values)
        out.append(case)
    return out


def make_dropout(rng: random.Random) -> list[dict[str, Any]]:
    out = []
    for index in range(24):
        p = rng.choice([0.1, 0.2, 0.25, 0.5, 0.75, 0.0])
        rows, cols = rng.randint(1, 3), rng.randint(2, 5)
        values = [[float(rng.choice([v for v in range(-9, 10) if v])) for _ in range(cols)] for _ in range(rows)]
        x = torch.tensor(values)
        torch.manual_seed(1000 + index)
        y = F.dropout(x, p, training=True)
        mask = (y != 0).to(torch.int64)
        out.append(
            {
                "x": tensor_text(values),
                "p": repr(p),
                "mask": ";".join(",".join(str(int(v)) for v in row) for row in mask.tolist()),
                "y": y.tolist(),
                "eval_y": F.dropout(x, p, training=False).tolist(),
            }
        )
    return out


def _empirical(fill: Any, shape: tuple[int, ...], draws: int) -> tuple[float, float]:
    samples = []
    for seed in range(draws):
        torch.manual_seed(seed)
        weight = torch.empty(shape)
        fill(weight)
        samples.append(weight.reshape(-1))
    flat = torch.cat(samples)
    return float(flat.pow(2).mean().sqrt()), float(flat.abs().max())


def make_init(rng: random.Random) -> list[dict[str, Any]]:
    layers = [
        ("Conv2d(3, 64, 3)", lambda: nn.Conv2d(3, 64, 3)),
        ("Conv2d(16, 32, (3, 5), groups=4)", lambda: nn.Conv2d(16, 32, (3, 5), groups=4)),
        ("Conv1d(8, 4, 5)", lambda: nn.Conv1d(8, 4, 5)),
        ("Conv3d(2, 4, 3)", lambda: nn.Conv3d(2, 4, 3)),
        ("ConvTranspose2d(32, 16, 4, stride=2)", lambda: nn.ConvTranspose2d(32, 16, 4, stride=2)),
        ("Linear(256, 128)", lambda: nn.Linear(256, 128)),
        ("Linear(10, 300)", lambda: nn.Linear(10, 300)),
        ("Conv2d(64, 128, 1)", lambda: nn.Conv2d(64, 128, 1)),
    ]
    nonlinearities = [("relu", None), ("leaky_relu", None), ("leaky_relu", 0.2), ("tanh", None), ("linear", None),
                      ("sigmoid", None), ("selu", None), ("conv2d", None)]  # fmt: skip
    out = []
    for index in range(48):
        layer_text, make_layer = layers[index % len(layers)]
        method = ["xavier-uniform", "xavier-normal", "kaiming-uniform", "kaiming-normal", "lecun-normal", "orthogonal"][
            index % 6
        ]
        nonlinearity, a = rng.choice(nonlinearities)
        mode = rng.choice(["fan_in", "fan_out"])
        layer = make_layer()
        weight_shape = tuple(layer.weight.shape)
        fan_in, fan_out = nn.init._calculate_fan_in_and_fan_out(layer.weight)
        case: dict[str, Any] = {"method": method, "layer": layer_text, "weight_shape": list(weight_shape),
                                "fan_in": fan_in, "fan_out": fan_out}  # fmt: skip
        if method.startswith("xavier"):
            gain = nn.init.calculate_gain(nonlinearity, a)
            std = gain * math.sqrt(2.0 / (fan_in + fan_out))
            fill = nn.init.xavier_uniform_ if method == "xavier-uniform" else nn.init.xavier_normal_
            case.update(nonlinearity=nonlinearity, a=a, gain=gain)
            filler = lambda w, fill=fill, gain=gain: fill(w, gain=gain)  # noqa: E731
        elif method.startswith("kaiming"):
            slope = 0.0 if a is None else a
            nonlin = nonlinearity if nonlinearity in ("relu", "leaky_relu", "tanh", "linear", "selu") else "relu"
            gain = nn.init.calculate_gain(nonlin, slope)
            fan = fan_in if mode == "fan_in" else fan_out
            std = gain / math.sqrt(fan)
            fill = nn.init.kaiming_uniform_ if method == "kaiming-uniform" else nn.init.kaiming_normal_
            case.update(nonlinearity=nonlin, a=slope, mode=mode, gain=gain)
            filler = lambda w, fill=fill, s=slope, m=mode, n=nonlin: fill(w, a=s, mode=m, nonlinearity=n)  # noqa: E731
        elif method == "lecun-normal":
            gain = nn.init.calculate_gain("linear")
            std = gain / math.sqrt(fan_in)
            case.update(gain=gain)
            filler = lambda w: nn.init.kaiming_normal_(w, mode="fan_in", nonlinearity="linear")  # noqa: E731
        else:
            gain = rng.choice([1.0, math.sqrt(2.0), 5.0 / 3])
            rows = weight_shape[0]
            cols = math.prod(weight_shape) // rows
            std = gain / math.sqrt(max(rows, cols))
            case.update(gain=gain)
            filler = lambda w, gain=gain: nn.init.orthogonal_(w, gain=gain)  # noqa: E731
        uniform = method.endswith("uniform")
        bound = math.sqrt(3.0) * std if uniform else None
        draws = max(1, 200_000 // math.prod(weight_shape))
        empirical_std, empirical_max = _empirical(filler, weight_shape, draws)
        assert abs(empirical_std / std - 1) < 0.02, (case, empirical_std, std)
        if uniform:
            assert empirical_max <= bound * (1 + 1e-12) and empirical_max > 0.99 * bound, (case, empirical_max, bound)
        case.update(std=std, bound=bound, empirical_std=empirical_std)
        out.append(case)
    return out


def main() -> None:
    rng = random.Random(17)
    data = {
        "torch": torch.__version__,
        "norm": make_norm(rng),
        "dropout": make_dropout(rng),
        "init": make_init(rng),
    }
    OUT.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
    print(f"{OUT}: {len(data['norm'])} norm, {len(data['dropout'])} dropout, {len(data['init'])} init cases")


if __name__ == "__main__":
    main()
