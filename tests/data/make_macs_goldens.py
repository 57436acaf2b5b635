"""Make tests/data/macs_goldens.json: MACs from torchinfo and asymmetric-padding shapes from PyTorch.

Run from the repository root with PyTorch and torchinfo 1.8.0 installed (a few seconds on CPU)::

    python tests/data/make_macs_goldens.py

- "singles": random Conv/ConvTranspose layers (make_conv_goldens.random_config on its own seed, the
  configurations PyTorch accepts) and torchinfo's "Mult-Adds" of the layer on (batch, C, *in).
- "networks": the networks of make_conv_goldens that PyTorch accepts, plus AlexNet with
  LocalResponseNorm, each as nn.Sequential through ``torchinfo.summary``: total Mult-Adds and the
  Mult-Adds of every layer.
- "asymmetric": conv and pool layers with padding (before, after) per dimension, computed as
  F.pad(x, pads) then the layer with padding 0 (max pooling pads with -inf): the output shape, or
  PyTorch's refusal. Pool padding at most half the window on each side, as PyTorch's own.
"""

from __future__ import annotations

import random
import sys
import warnings
from pathlib import Path

import torch
import torch.nn.functional as F
import torchinfo
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
import make_conv_goldens
from golden_json import write_goldens

from dlsolve.parsing import parse_layers

SEED = 20261204
OUT = Path(__file__).with_name("macs_goldens.json")

EXTRA_NETWORKS = {
    "alexnet-lrn": (
        [1, 3, 227, 227],
        "Conv2d(3, 96, 11, stride=4); ReLU(); LocalResponseNorm(5, alpha=0.0001, beta=0.75, k=2); MaxPool2d(3, 2); "
        "Conv2d(96, 256, 5, padding=2); ReLU(); LocalResponseNorm(5, alpha=0.0001, beta=0.75, k=2); MaxPool2d(3, 2); "
        "Conv2d(256, 384, 3, padding=1); ReLU(); Conv2d(384, 256, 3, padding=1); MaxPool2d(3, 2); Flatten(); "
        "Linear(9216, 4096); ReLU(); Linear(4096, 10)",
    ),
    "bn-linear-macs": (
        [8, 3, 16, 16],
        "Conv2d(3, 4, 3, bias=False); BatchNorm2d(4); PReLU(4); Flatten(); Linear(784, 5)",
    ),
}


def layer_macs(model: nn.Module, input_size: list[int]) -> tuple[int, list[int]]:
    stats = torchinfo.summary(model, input_size=input_size, verbose=0, col_names=("output_size", "mult_adds"))
    per_layer = [info.macs for info in stats.summary_list if info.depth == 1]
    return int(stats.total_mult_adds), per_layer


def run_network(input_shape: list[int], text: str) -> dict:
    layers = [getattr(nn, call.name)(*call.args, **call.kwargs) for call in parse_layers(text)]
    model = nn.Sequential(*layers).eval()
    total, per_layer = layer_macs(model, input_shape)
    return {"input": input_shape, "net": text, "macs": total, "layer_macs": per_layer}


def singles(count: int) -> list[dict]:
    rng = random.Random(SEED)
    cases: list[dict] = []
    while len(cases) < count:
        config = make_conv_goldens.random_config(rng)
        if config["kind"] not in ("conv", "transposed"):
            continue
        case = make_conv_goldens.run_single(config)
        if case["error"] is not None:
            continue
        layer = make_conv_goldens.build(config)
        total, _ = layer_macs(layer, [config["batch"], config["channels"], *config["in"]])
        cases.append({**case, "macs": total})
    return cases


def asymmetric(count: int) -> list[dict]:
    rng = random.Random(SEED + 1)
    cases = []
    for _ in range(count):
        kind = rng.choice(("conv", "maxpool", "avgpool"))
        dims = rng.choice((1, 2, 2, 3))
        sizes = [rng.randint(1, 10 if dims == 3 else 20) for _ in range(dims)]
        kernel = [rng.randint(1, 5) for _ in range(dims)]
        stride = [rng.randint(1, 3) for _ in range(dims)]
        highs = [3 if kind == "conv" else k // 2 for k in kernel]
        pads = [[rng.randint(0, high), rng.randint(0, high)] for high in highs]
        flat = [v for pair in reversed(pads) for v in pair]  # F.pad: last dimension first
        x = torch.zeros(1, 2, *sizes)
        try:
            if kind == "conv":
                out = getattr(nn, f"Conv{dims}d")(2, 3, kernel, stride)(F.pad(x, flat))
            elif kind == "maxpool":
                out = getattr(nn, f"MaxPool{dims}d")(kernel, stride)(F.pad(x, flat, value=-float("inf")))
            else:
                out = getattr(nn, f"AvgPool{dims}d")(kernel, stride)(F.pad(x, flat))
            shape, error = list(out.shape[2:]), None
            if 0 in shape:
                shape, error = None, "empty output"
        except RuntimeError as caught:
            shape, error = None, str(caught).splitlines()[0][:160]
        cases.append({"kind": kind, "in": sizes, "k": kernel, "s": stride, "p": pads, "spatial": shape, "error": error})
    return cases


def main() -> None:
    warnings.simplefilter("ignore")
    networks = {}
    for name, (shape, text) in {**make_conv_goldens.NETWORKS, **EXTRA_NETWORKS}.items():
        try:
            networks[name] = run_network(shape, text)
        except Exception:  # the refusals of make_conv_goldens (torchinfo re-raises them)
            continue
    data = {
        "torch": torch.__version__,
        "torchinfo": torchinfo.__version__,
        "singles": singles(120),
        "networks": networks,
        "asymmetric": asymmetric(200),
    }
    write_goldens(OUT, data)
    counts = f"{len(data['singles'])} singles, {len(networks)} networks, {len(data['asymmetric'])} asymmetric"
    print(f"wrote {OUT}: {counts}")


if __name__ == "__main__":
    main()
