"""Make tests/data/cost_goldens.json: the activation elements of traced PyTorch networks.

For each network, a forward pass with a hook on every top-level layer sums ``output.numel()`` (the
convention of ``dlsolve cost memory``: every layer's output tensor for the whole batch) and counts
``sum(p.numel() for p in model.parameters())``. Run: ``python tests/data/make_cost_goldens.py``
(needs torch).
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
from torch import nn

from dlsolve.parsing import parse_layers

NETWORKS = [
    (["Conv2d(3, 16, 3, padding=1)", "ReLU()", "Flatten()", "Linear(16384, 10)"], [32, 3, 32, 32]),
    (
        [
            "Conv2d(1, 6, 5)",
            "Tanh()",
            "AvgPool2d(2)",
            "Conv2d(6, 16, 5)",
            "Tanh()",
            "AvgPool2d(2)",
            "Flatten()",
            "Linear(400, 120)",
            "Tanh()",
            "Linear(120, 84)",
            "Tanh()",
            "Linear(84, 10)",
        ],
        [64, 1, 32, 32],
    ),
    (
        [
            "Conv2d(3, 64, 3, padding=1)",
            "BatchNorm2d(64)",
            "ReLU()",
            "MaxPool2d(2)",
            "Conv2d(64, 128, 3, padding=1)",
            "BatchNorm2d(128)",
            "ReLU()",
            "AdaptiveAvgPool2d(1)",
            "Flatten()",
            "Linear(128, 100)",
        ],
        [16, 3, 64, 64],
    ),
    (["Linear(784, 256)", "ReLU()", "Dropout(0.5)", "Linear(256, 10)"], [128, 784]),
]


def main() -> None:
    cases = []
    for parts, shape in NETWORKS:
        text = "; ".join(parts)
        layers = [getattr(nn, call.name)(*call.args, **call.kwargs) for call in parse_layers(text)]
        model = nn.Sequential(*layers).eval()
        elements: list[int] = []

        def record(module: nn.Module, args: object, output: torch.Tensor, found: list[int] = elements) -> None:
            found.append(output.numel())

        for layer in model:
            layer.register_forward_hook(record)
        with torch.no_grad():
            model(torch.zeros(shape))
        params = sum(p.numel() for p in model.parameters())
        cases.append({"net": text, "input": shape, "activations": sum(elements), "params": params})
    target = Path(__file__).with_name("cost_goldens.json")
    target.write_text(json.dumps({"torch": torch.__version__, "cases": cases}, indent=1) + "\n")
    print(f"wrote {len(cases)} cases to {target}")


if __name__ == "__main__":
    main()
