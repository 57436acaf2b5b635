"""Generate tests/data/filter_goldens.json from PyTorch and SciPy (the oracles for `dlsolve filter`).

Run: python tests/data/make_filter_goldens.py   (needs torch and scipy; takes a few seconds)

Cases are random (fixed seed): integer and quarter-step decimal entries, 1-3 channels, rectangular
images and kernels, stride and padding per axis.
- "xcorr": torch.nn.functional.conv2d (float64), one output channel summed over input channels.
- "conv":  scipy.signal.convolve2d(padded channel, kernel, "valid") summed over channels, then strided.
- "max"/"avg": torch.nn.functional.max_pool2d / avg_pool2d with ceil_mode and count_include_pad.
- bias cases (a "bias" key, the text given to --bias; integers or quarter steps, so float64 is exact):
  "xcorr" is torch.nn.functional.conv2d(input, weight, bias); "conv" is conv2d with the kernel flipped
  (weight.flip(-2, -1)) and the bias, cross-checked against SciPy's convolve2d sum plus the bias.
  They are drawn after all the other cases, so the cases without a bias stay as they were.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from scipy.signal import convolve2d

OUT = Path(__file__).with_name("filter_goldens.json")


def text(array: np.ndarray) -> str:
    """C x H x W as 'a,b;c,d;;...' with exact decimals (quarters print exactly)."""

    def number(v: float) -> str:
        return str(int(v)) if float(v).is_integer() else repr(float(v))

    return ";;".join(";".join(",".join(number(v) for v in row) for row in channel) for channel in array)


def random_array(rng: random.Random, shape: tuple[int, ...], decimals: bool) -> np.ndarray:
    values = [rng.randint(-8, 8) / (4 if decimals else 1) for _ in range(int(np.prod(shape)))]
    return np.array(values, dtype=np.float64).reshape(shape)


def conv_cases(rng: random.Random, count: int, mode: str, with_bias: bool = False) -> list[dict]:
    """Random conv2d cases; ``with_bias`` adds a bias b (y = x ⋆ K + b, PyTorch's conv2d bias)."""
    cases = []
    while len(cases) < count:
        c = rng.randint(1, 3)
        h, w = rng.randint(2, 8), rng.randint(2, 8)
        ph, pw = rng.randint(0, 2), rng.randint(0, 2)
        kh, kw = rng.randint(1, min(5, h + 2 * ph)), rng.randint(1, min(5, w + 2 * pw))
        sh, sw = rng.randint(1, 3), rng.randint(1, 3)
        decimals = rng.random() < 0.3
        x = random_array(rng, (c, h, w), decimals)
        k = random_array(rng, (c, kh, kw), decimals and rng.random() < 0.5)
        bias = random_array(rng, (1,), rng.random() < 0.5) if with_bias else None
        if with_bias:
            weight = torch.from_numpy(k)[None]
            if mode == "conv":
                weight = weight.flip(-2, -1)
            out = F.conv2d(torch.from_numpy(x)[None], weight, torch.from_numpy(bias), stride=(sh, sw), padding=(ph, pw))
            output = out[0, 0].numpy()
            padded = np.pad(x, ((0, 0), (ph, ph), (pw, pw)))
            if mode == "conv":
                scipy_output = sum(convolve2d(padded[i], k[i], mode="valid") for i in range(c))[::sh, ::sw]
                assert np.array_equal(output, scipy_output + bias[0]), "torch and scipy disagree"
        elif mode == "xcorr":
            out = F.conv2d(torch.from_numpy(x)[None], torch.from_numpy(k)[None], stride=(sh, sw), padding=(ph, pw))
            output = out[0, 0].numpy()
        else:
            padded = np.pad(x, ((0, 0), (ph, ph), (pw, pw)))
            output = sum(convolve2d(padded[i], k[i], mode="valid") for i in range(c))[::sh, ::sw]
        case = {
            "image": text(x),
            "kernel": text(k),
            "stride": [sh, sw],
            "padding": [ph, pw],
            "mode": mode,
            "output": output.tolist(),
        }
        if bias is not None:
            case["bias"] = text(bias[None, None])
        cases.append(case)
    return cases


def pool_cases(rng: random.Random, count: int, op: str) -> list[dict]:
    cases = []
    while len(cases) < count:
        c = rng.randint(1, 2)
        h, w = rng.randint(1, 8), rng.randint(1, 8)
        kh, kw = rng.randint(1, 4), rng.randint(1, 4)
        sh, sw = rng.randint(1, 3), rng.randint(1, 3)
        ph, pw = rng.randint(0, kh // 2), rng.randint(0, kw // 2)
        ceil = rng.random() < 0.5
        include = rng.random() < 0.5
        if h + 2 * ph < kh or w + 2 * pw < kw:
            continue
        x = random_array(rng, (c, h, w), rng.random() < 0.3)
        t = torch.from_numpy(x)[None]
        try:
            if op == "max":
                out = F.max_pool2d(t, (kh, kw), (sh, sw), (ph, pw), ceil_mode=ceil)
            else:
                out = F.avg_pool2d(t, (kh, kw), (sh, sw), (ph, pw), ceil_mode=ceil, count_include_pad=include)
        except RuntimeError:
            continue
        cases.append(
            {
                "image": text(x),
                "size": [kh, kw],
                "stride": [sh, sw],
                "padding": [ph, pw],
                "op": op,
                "ceil": ceil,
                "exclude_pad": op == "avg" and not include,
                "output": out[0].numpy().tolist(),
            }
        )
    return cases


def main() -> None:
    rng = random.Random(20261126)
    data = {
        "generator": "tests/data/make_filter_goldens.py",
        "torch": torch.__version__,
        "apply": conv_cases(rng, 80, "xcorr") + conv_cases(rng, 40, "conv"),
        "pool": pool_cases(rng, 60, "max") + pool_cases(rng, 60, "avg"),
    }
    data["apply"] += conv_cases(rng, 30, "xcorr", with_bias=True) + conv_cases(rng, 20, "conv", with_bias=True)
    lines = ["{"]
    for key, value in data.items():
        if isinstance(value, list):  # one case per line
            body = ",\n".join("  " + json.dumps(case) for case in value)
            lines.append(f" {json.dumps(key)}: [\n{body}\n ],")
        else:
            lines.append(f" {json.dumps(key)}: {json.dumps(value)},")
    lines[-1] = lines[-1].rstrip(",")
    OUT.write_text("\n".join([*lines, "}"]) + "\n")
    biased = sum("bias" in case for case in data["apply"])
    print(f"wrote {OUT} ({len(data['apply'])} apply ({biased} with a bias), {len(data['pool'])} pool cases)")


if __name__ == "__main__":
    main()
