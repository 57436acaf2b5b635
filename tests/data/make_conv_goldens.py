"""Make tests/data/conv_goldens.json: output shapes (or refusals) computed by real PyTorch.

Run from the repository root with PyTorch installed (a few seconds on CPU)::

    python tests/data/make_conv_goldens.py

Single layers: several hundred random configurations of every kind (Conv, ConvTranspose, MaxPool,
AvgPool) in 1, 2 and 3 dimensions, with stride, padding (ints, 'same', 'valid'), dilation, groups,
ceil_mode and output_padding, including configurations PyTorch refuses. For each, torch builds the
layer and runs it on a zero tensor; we record the output shape and parameter count, or that it
raised (with its message). Networks: LeNet-5, a DCGAN generator and discriminator, the exam's
encoder-decoder, a VGG block, AlexNet's features and classifier, and a few more, with the shape
after every layer and the total parameter count.

Padding (Zero/Constant/Reflection/Replication/CircularPad 1-3d, int or tuple padding, negative
crops, wrong tuple lengths and input ranks), PixelShuffle, PixelUnshuffle and ChannelShuffle: 500
random layers on random inputs (own seed, under ``pad_shuffle``, so the cases above stay the same)
and a few networks (an ESPCN head, CycleGAN blocks, refusals).
"""

from __future__ import annotations

import json
import random
import sys
import warnings
from pathlib import Path

import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from dlsolve.parsing import parse_layers

SEED = 20261126
OUT = Path(__file__).with_name("conv_goldens.json")
KINDS = ("conv", "transposed", "maxpool", "avgpool")


def random_config(rng: random.Random) -> dict:
    kind = rng.choice(KINDS)
    dims = rng.choice((1, 2, 3))
    max_size = 12 if dims == 3 else 24

    def per_dim(low: int, high: int) -> list[int]:
        if rng.random() < 0.7:
            return [rng.randint(low, high)] * dims
        return [rng.randint(low, high) for _ in range(dims)]

    config: dict = {
        "kind": kind,
        "dims": dims,
        "in": per_dim(1, max_size),
        "k": per_dim(1, 6),
        "s": per_dim(1, 4),
        "p": per_dim(0, 3),
        "d": per_dim(1, 3) if kind in ("conv", "transposed", "maxpool") and rng.random() < 0.5 else [1] * dims,
        "op": [0] * dims,
        "ceil": False,
        "groups": 1,
        "batch": rng.randint(1, 3),
        "channels": rng.randint(1, 4),
        "filters": None,
        "bias": rng.random() < 0.8,
    }
    if kind in ("conv", "transposed"):
        groups = rng.choice((1, 1, 1, 2, 3))
        config["groups"] = groups
        config["channels"] = groups * rng.randint(1, 3) if rng.random() < 0.9 else rng.randint(1, 5)
        config["filters"] = groups * rng.randint(1, 3) if rng.random() < 0.9 else rng.randint(1, 5)
    else:
        config["bias"] = True
    if kind == "conv" and rng.random() < 0.2:
        config["p"] = rng.choice(("same", "valid"))
        if config["p"] == "same" and rng.random() < 0.6:
            config["s"] = [1] * dims
    if kind == "transposed" and rng.random() < 0.5:
        config["op"] = per_dim(0, 3)
    if kind in ("maxpool", "avgpool"):
        config["ceil"] = rng.random() < 0.4
        if rng.random() < 0.6:
            config["p"] = [min(p, k // 2) for p, k in zip(config["p"], config["k"], strict=True)]
    return config


def build(config: dict) -> nn.Module:
    n = config["dims"]
    kind = config["kind"]
    if kind == "conv":
        return getattr(nn, f"Conv{n}d")(
            config["channels"],
            config["filters"],
            tuple(config["k"]),
            stride=tuple(config["s"]),
            padding=config["p"] if isinstance(config["p"], str) else tuple(config["p"]),
            dilation=tuple(config["d"]),
            groups=config["groups"],
            bias=config["bias"],
        )
    if kind == "transposed":
        return getattr(nn, f"ConvTranspose{n}d")(
            config["channels"],
            config["filters"],
            tuple(config["k"]),
            stride=tuple(config["s"]),
            padding=tuple(config["p"]),
            output_padding=tuple(config["op"]),
            groups=config["groups"],
            bias=config["bias"],
            dilation=tuple(config["d"]),
        )
    if kind == "maxpool":
        return getattr(nn, f"MaxPool{n}d")(
            tuple(config["k"]),
            stride=tuple(config["s"]),
            padding=tuple(config["p"]),
            dilation=tuple(config["d"]),
            ceil_mode=config["ceil"],
        )
    return getattr(nn, f"AvgPool{n}d")(
        tuple(config["k"]), stride=tuple(config["s"]), padding=tuple(config["p"]), ceil_mode=config["ceil"]
    )


def run_single(config: dict) -> dict:
    try:
        layer = build(config)
        output = layer(torch.zeros(config["batch"], config["channels"], *config["in"]))
    except (RuntimeError, ValueError, TypeError) as error:
        return {**config, "shape": None, "params": None, "error": str(error).splitlines()[0][:200]}
    params = sum(p.numel() for p in layer.parameters() if p.requires_grad)
    return {**config, "shape": list(output.shape), "params": params, "error": None}


NETWORKS = {
    "lenet5": (
        [1, 1, 32, 32],
        "Conv2d(1, 6, 5); Tanh(); AvgPool2d(2); Conv2d(6, 16, 5); Tanh(); AvgPool2d(2); Conv2d(16, 120, 5); Tanh(); "
        "Flatten(); Linear(120, 84); Tanh(); Linear(84, 10)",
    ),
    "exam-encoder-decoder": (
        [10, 1, 32, 32],
        "Conv2d(1, 16, 3, padding=1); ReLU(); Conv2d(16, 32, 3, stride=2, padding=1); ReLU(); "
        "Conv2d(32, 128, 3, stride=2, padding=1); ReLU(); ConvTranspose2d(128, 8, 2, stride=2); ReLU(); "
        "Conv2d(8, 8, 3, padding=1); ReLU(); ConvTranspose2d(8, 1, 2, stride=2); Sigmoid()",
    ),
    "dcgan-generator": (
        [16, 100, 1, 1],
        "ConvTranspose2d(100, 512, 4, 1, 0, bias=False); BatchNorm2d(512); ReLU(True); "
        "ConvTranspose2d(512, 256, 4, 2, 1, bias=False); BatchNorm2d(256); ReLU(True); "
        "ConvTranspose2d(256, 128, 4, 2, 1, bias=False); BatchNorm2d(128); ReLU(True); "
        "ConvTranspose2d(128, 64, 4, 2, 1, bias=False); BatchNorm2d(64); ReLU(True); "
        "ConvTranspose2d(64, 3, 4, 2, 1, bias=False); Tanh()",
    ),
    "dcgan-discriminator": (
        [16, 3, 64, 64],
        "Conv2d(3, 64, 4, 2, 1, bias=False); LeakyReLU(0.2, inplace=True); "
        "Conv2d(64, 128, 4, 2, 1, bias=False); BatchNorm2d(128); LeakyReLU(0.2, inplace=True); "
        "Conv2d(128, 256, 4, 2, 1, bias=False); BatchNorm2d(256); LeakyReLU(0.2, inplace=True); "
        "Conv2d(256, 512, 4, 2, 1, bias=False); BatchNorm2d(512); LeakyReLU(0.2, inplace=True); "
        "Conv2d(512, 1, 4, 1, 0, bias=False); Sigmoid()",
    ),
    "vgg-block": (
        [2, 3, 224, 224],
        "Conv2d(3, 64, kernel_size=3, padding=1); ReLU(inplace=True); Conv2d(64, 64, kernel_size=3, padding=1); "
        "ReLU(inplace=True); MaxPool2d(kernel_size=2, stride=2)",
    ),
    "alexnet-features": (
        [1, 3, 227, 227],
        "Conv2d(3, 96, kernel_size=11, stride=4); ReLU(inplace=True); MaxPool2d(kernel_size=3, stride=2); "
        "Conv2d(96, 256, kernel_size=5, padding=2); ReLU(inplace=True); MaxPool2d(kernel_size=3, stride=2); "
        "Conv2d(256, 384, kernel_size=3, padding=1); ReLU(inplace=True); "
        "Conv2d(384, 384, kernel_size=3, padding=1); ReLU(inplace=True); "
        "Conv2d(384, 256, kernel_size=3, padding=1); ReLU(inplace=True); MaxPool2d(kernel_size=3, stride=2)",
    ),
    "torchvision-alexnet": (
        [2, 3, 224, 224],
        "Conv2d(3, 64, kernel_size=11, stride=4, padding=2); ReLU(inplace=True); MaxPool2d(kernel_size=3, stride=2); "
        "Conv2d(64, 192, kernel_size=5, padding=2); ReLU(inplace=True); MaxPool2d(kernel_size=3, stride=2); "
        "Conv2d(192, 384, kernel_size=3, padding=1); ReLU(inplace=True); "
        "Conv2d(384, 256, kernel_size=3, padding=1); ReLU(inplace=True); "
        "Conv2d(256, 256, kernel_size=3, padding=1); ReLU(inplace=True); MaxPool2d(kernel_size=3, stride=2); "
        "AdaptiveAvgPool2d((6, 6)); Flatten(); Dropout(p=0.5); Linear(256 * 6 * 6, 4096); ReLU(inplace=True); "
        "Dropout(p=0.5); Linear(4096, 4096); ReLU(inplace=True); Linear(4096, 1000)",
    ),
    "unet-up": (
        [1, 128, 28, 28],
        "ConvTranspose2d(128, 64, kernel_size=2, stride=2); Conv2d(64, 64, 3, padding=1); BatchNorm2d(64); ReLU()",
    ),
    "resnet-stem": (
        [4, 3, 224, 224],
        "Conv2d(3, 64, kernel_size=7, stride=2, padding=3, bias=False); BatchNorm2d(64); ReLU(inplace=True); "
        "MaxPool2d(kernel_size=3, stride=2, padding=1)",
    ),
    "conv1d-audio": (
        [8, 1, 16000],
        "Conv1d(1, 32, 80, stride=16); BatchNorm1d(32); ReLU(); MaxPool1d(4); Conv1d(32, 32, 3, padding='same'); "
        "GELU(); AdaptiveAvgPool1d(1); Flatten(); Linear(32, 10); LogSoftmax(dim=1)",
    ),
    "conv3d-video": (
        [2, 3, 16, 56, 56],
        "Conv3d(3, 16, (3, 7, 7), stride=(1, 2, 2), padding=(1, 3, 3)); BatchNorm3d(16); ReLU(); "
        "MaxPool3d((1, 3, 3), stride=(1, 2, 2), padding=(0, 1, 1)); ConvTranspose3d(16, 8, 2, stride=2); "
        "InstanceNorm3d(8, affine=True); Dropout3d(0.1); AvgPool3d(2, ceil_mode=True)",
    ),
    "norms-upsample": (
        [2, 8, 10, 10],
        "GroupNorm(4, 8); SiLU(); Upsample(scale_factor=1.5, mode='nearest'); Conv2d(8, 4, 3, dilation=2); "
        "LayerNorm((11, 11)); Upsample(size=(7, 9)); InstanceNorm2d(4); Hardswish(); "
        "Unflatten(1, (2, 2)); Flatten(1, 2); ELU(); Softmax(dim=1); PReLU(4); Identity()",
    ),
    "grouped-dilated": (
        [1, 6, 40, 40],
        "Conv2d(6, 12, 3, groups=3, dilation=2, padding=2); Conv2d(12, 12, 3, groups=12, padding=1, bias=False); "
        "MaxPool2d(3, stride=2, dilation=2, padding=1, ceil_mode=True); AvgPool2d(3, 2, 1, ceil_mode=True); "
        "ConvTranspose2d(12, 6, 3, stride=2, padding=1, output_padding=1, groups=3); Dropout2d(); LeakyReLU()",
    ),
    "unbatched": (
        [3, 32, 32],
        "Conv2d(3, 8, 3); MaxPool2d(2); Flatten(0); Linear(8 * 15 * 15, 5)",
    ),
    "mismatch-channels": ([1, 3, 32, 32], "Conv2d(1, 16, 3); ReLU()"),
    "mismatch-linear": ([1, 1, 28, 28], "Conv2d(1, 4, 5); Flatten(); Linear(100, 10)"),
    "refused-kernel": ([1, 1, 8, 8], "Conv2d(1, 4, 3); MaxPool2d(2); Conv2d(4, 4, 5)"),
    "refused-pool-padding": ([1, 1, 8, 8], "MaxPool2d(2, padding=2)"),
    "refused-output-padding": ([1, 2, 8, 8], "ConvTranspose2d(2, 2, 3, stride=2, output_padding=2)"),
    "refused-groups": ([1, 4, 8, 8], "Conv2d(4, 6, 3, groups=4)"),
    "refused-same-stride": ([1, 4, 8, 8], "Conv2d(4, 6, 3, stride=2, padding='same')"),
    "groupnorm-no-affine": ([1, 6, 3, 3], "GroupNorm(2, 4, affine=False); Upsample(scale_factor=2, mode='bilinear')"),
    "refused-groupnorm-groups": ([1, 6, 3, 3], "GroupNorm(4, 4, affine=False)"),
    "refused-align-corners": ([1, 1, 3, 3], "Upsample(scale_factor=2, align_corners=True)"),
    "refused-instancenorm-stats": ([1, 2, 4, 4], "InstanceNorm2d(3, track_running_stats=True)"),
}


def run_network(input_shape: list[int], text: str) -> dict:
    calls = parse_layers(text)
    result: dict = {"input": input_shape, "net": text, "shapes": [], "params": None, "error": None}
    try:
        layers = [getattr(nn, call.name)(*call.args, **call.kwargs) for call in calls]
        x = torch.zeros(*input_shape)
        for layer in layers:
            layer.eval()
            x = layer(x)
            result["shapes"].append(list(x.shape))
    except (RuntimeError, ValueError, TypeError, IndexError) as error:
        result["error"] = str(error).splitlines()[0][:200]
        return result
    result["params"] = sum(p.numel() for layer in layers for p in layer.parameters() if p.requires_grad)
    return result


# --------------------------------------------------------------------------- padding and pixel/channel shuffles

PAD_SHUFFLE_SEED = 20261127
PAD_KINDS = ("ZeroPad", "ConstantPad", "ReflectionPad", "ReplicationPad", "CircularPad")
SHUFFLE_KINDS = ("PixelShuffle", "PixelUnshuffle", "ChannelShuffle")


def random_pad_shuffle(rng: random.Random) -> tuple[list[int], str]:
    """A random (input shape, layer text) for a padding or shuffle layer; about a third are refused."""
    kind = rng.choice(PAD_KINDS + SHUFFLE_KINDS)
    if kind in SHUFFLE_KINDS:
        factor = rng.choice((1, 2, 2, 3, 3, 4)) if rng.random() < 0.9 else rng.choice((0, -1))
        ndim = rng.choice((3, 4, 4, 4, 5)) if rng.random() < 0.93 else 2
        shape = [rng.randint(1, 3)] + [rng.randint(1, 9) for _ in range(ndim - 1)]
        channel_axis = 1 if kind == "ChannelShuffle" else ndim - 3
        square = factor * factor if kind == "PixelShuffle" else abs(factor) or 1
        if kind == "PixelShuffle" and rng.random() < 0.75:
            shape[channel_axis] = (square or 1) * rng.randint(1, 3)
        if kind == "ChannelShuffle" and ndim > 2 and rng.random() < 0.75:
            shape[channel_axis] = (abs(factor) or 1) * rng.randint(1, 4)
        if kind == "PixelUnshuffle" and rng.random() < 0.75:
            shape[-2:] = [(abs(factor) or 1) * rng.randint(1, 4) for _ in range(2)]
        return shape, f"{kind}({factor})"
    n = rng.choice((1, 2, 3))
    ndim = rng.choice((n + 1, n + 2, n + 2)) if rng.random() < 0.85 else rng.choice((n, n + 3))
    ndim = max(ndim, 1)
    shape = [rng.randint(1, 3)] + [rng.randint(1, 7) for _ in range(ndim - 1)]
    if rng.random() < 0.35:
        padding = str(rng.randint(-3, 5))
    else:
        length = 2 * n if rng.random() < 0.85 else rng.choice((1, 2, 3, 4, 6, 8))
        padding = "(" + ", ".join(str(rng.randint(-4, 6)) for _ in range(length)) + ("," if length == 1 else "") + ")"
    value = f", {rng.choice(('0', '1.5', '-2', 'value=3'))}" if kind == "ConstantPad" else ""
    return shape, f"{kind}{n}d({padding}{value})"


def run_module(input_shape: list[int], text: str) -> dict:
    """One layer run by torch on a zero tensor: its output shape and parameters, or torch's error."""
    result = run_network(input_shape, text)
    shape = result["shapes"][0] if result["shapes"] else None
    return {"input": input_shape, "layer": text, "shape": shape, "params": result["params"], "error": result["error"]}


PAD_SHUFFLE_NETWORKS = {
    "espcn-x3": (
        [1, 1, 64, 64],
        "Conv2d(1, 64, 5, padding=2); Tanh(); Conv2d(64, 32, 3, padding=1); Tanh(); "
        "Conv2d(32, 1 * 3 ** 2, 3, padding=1); PixelShuffle(3)",
    ),
    "cyclegan-resnet-block": (
        [1, 256, 64, 64],
        "ReflectionPad2d(1); Conv2d(256, 256, 3); InstanceNorm2d(256); ReLU(True); "
        "ReflectionPad2d(1); Conv2d(256, 256, 3); InstanceNorm2d(256)",
    ),
    "cyclegan-stem": (
        [1, 3, 256, 256],
        "ReflectionPad2d(3); Conv2d(3, 64, 7); InstanceNorm2d(64); ReLU(True); "
        "Conv2d(64, 128, 3, stride=2, padding=1); InstanceNorm2d(128); ReLU(True)",
    ),
    "unshuffle-shufflenet": (
        [2, 3, 32, 32],
        "PixelUnshuffle(2); Conv2d(12, 24, 1, groups=3); ChannelShuffle(3); ReplicationPad2d((1, 0, 2, 1)); "
        "Conv2d(24, 24, 3, groups=24); CircularPad2d(1); ZeroPad2d(-1); ConstantPad3d((1, 1, 0, 0, 2, 2), 0.5)",
    ),
    "pads-1d-3d": (
        [2, 4, 10],
        "ReflectionPad1d((3, 2)); Conv1d(4, 4, 3); CircularPad1d(4); ReplicationPad1d(-2); Unflatten(1, (1, 4)); "
        "ReplicationPad3d((1, 1, 0, 0, 2, 2)); ZeroPad3d(1); ReflectionPad3d((1, 1, 1, 1, 0, 0))",
    ),
    "crop-to-zero-then-reflect": ([1, 1, 4, 4], "ZeroPad2d((-2, -2, 1, 1)); ReflectionPad2d(1)"),
    "crop-to-zero-then-circular": ([1, 1, 4, 4], "ZeroPad2d((-2, -2, 0, 0)); CircularPad2d((0, 0, 1, 1))"),
    "refused-reflect-too-wide": ([1, 3, 8, 8], "Conv2d(3, 3, 5); ReflectionPad2d(4)"),
    "refused-pixelshuffle-channels": ([1, 3, 8, 8], "Conv2d(3, 6, 3, padding=1); PixelShuffle(2)"),
    "refused-pixelunshuffle-width": ([1, 3, 8, 8], "ZeroPad2d((0, 1, 0, 0)); PixelUnshuffle(2)"),
    "refused-channelshuffle": ([1, 6, 8, 8], "ChannelShuffle(4)"),
    "refused-circular-wrap": ([1, 1, 3, 3], "CircularPad2d(4)"),
    "refused-constant-crop": ([1, 1, 3, 3], "ConstantPad2d((-2, -2, 0, 0), 1.0)"),
}


def main() -> None:
    torch.manual_seed(0)
    warnings.simplefilter("ignore")
    rng = random.Random(SEED)
    singles = [run_single(random_config(rng)) for _ in range(600)]
    networks = {name: run_network(shape, text) for name, (shape, text) in NETWORKS.items()}
    pad_rng = random.Random(PAD_SHUFFLE_SEED)
    pad_shuffle = {
        "seed": PAD_SHUFFLE_SEED,
        "singles": [run_module(*random_pad_shuffle(pad_rng)) for _ in range(500)],
        "networks": {name: run_network(shape, text) for name, (shape, text) in PAD_SHUFFLE_NETWORKS.items()},
    }
    data = {
        "torch": torch.__version__,
        "seed": SEED,
        "singles": singles,
        "networks": networks,
        "pad_shuffle": pad_shuffle,
    }
    OUT.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
    refused = sum(1 for case in singles if case["error"])
    print(f"wrote {OUT}: {len(singles)} single layers ({refused} refused), {len(networks)} networks")
    pad_refused = sum(1 for case in pad_shuffle["singles"] if case["error"])
    print(
        f"  padding/shuffle layers: {len(pad_shuffle['singles'])} single layers ({pad_refused} refused), "
        f"{len(pad_shuffle['networks'])} networks"
    )


if __name__ == "__main__":
    main()
