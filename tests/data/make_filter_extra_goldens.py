"""Generate tests/data/filter_extra_goldens.json: oracles for filter transpose, dilation, asymmetric padding
and Keras pooling.

Run: KERAS_BACKEND=torch python tests/data/make_filter_extra_goldens.py   (needs torch and keras 3)

Random cases (fixed seed, float64, integer and quarter-step entries so that float64 is exact):
- "transpose": torch.nn.functional.conv_transpose2d(x[None], K[:, None], bias, stride, padding,
  output_padding, 1, dilation)[0, 0] (one output channel summed over the input channels), and the
  configurations it refuses (``"error"``).
- "dilation": torch.nn.functional.conv2d(x[None], K[None], bias, stride, padding, dilation)[0, 0].
- "asymmetric_apply": conv2d after F.pad(x, (left, right, top, bottom)) (zeros).
- "asymmetric_pool": max: max_pool2d after F.pad with −inf; avg: the window sums of F.pad(x) divided
  by the window size clipped to the padded image, or with exclude_pad by the real cells (the window
  sums of F.pad of a mask of ones).
- "keras_pool": keras.layers.MaxPooling2D / AveragePooling2D(pool_size, strides, padding) on
  (1, H, W, C) float64, channels last (TF's SAME rules: −inf for max, real cells for average).
  Exception (``"oracle": "tf-rule"``): SAME average pooling with unequal padding before and after,
  where Keras 3's torch backend pads by replicating the edge cells (so the edge counts twice) while
  TensorFlow divides by the real cells; those cases are TF's rule computed with torch ops (window
  sums of the zero-padded input over window counts of a padded mask).
"""

from __future__ import annotations

import os
import random
import sys
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "torch")

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent))
from golden_json import write_goldens

OUT = Path(__file__).with_name("filter_extra_goldens.json")
SEED = 20261203


def text(array: np.ndarray) -> str:
    """C x H x W as 'a,b;c,d;;...' with exact decimals."""

    def number(v: float) -> str:
        return str(int(v)) if float(v).is_integer() else repr(float(v))

    return ";;".join(";".join(",".join(number(v) for v in row) for row in channel) for channel in array)


def random_array(rng: random.Random, shape: tuple[int, ...], decimals: bool = False) -> np.ndarray:
    values = [rng.randint(-8, 8) / (4 if decimals else 1) for _ in range(int(np.prod(shape)))]
    return np.array(values, dtype=np.float64).reshape(shape)


def transpose_cases(rng: random.Random, count: int) -> list[dict]:
    cases = []
    for _ in range(count):
        c = rng.randint(1, 3)
        h, w, kh, kw = rng.randint(1, 5), rng.randint(1, 5), rng.randint(1, 4), rng.randint(1, 4)
        s = [rng.randint(1, 3), rng.randint(1, 3)]
        d = [rng.randint(1, 2), rng.randint(1, 2)] if rng.random() < 0.4 else [1, 1]
        p = [rng.randint(0, 2), rng.randint(0, 2)]
        # mostly valid (output padding below stride or dilation), some refused
        op = [rng.randint(0, max(s[i], d[i]) - (rng.random() < 0.85)) for i in (0, 1)] if rng.random() < 0.5 else [0, 0]
        x, k = random_array(rng, (c, h, w), rng.random() < 0.3), random_array(rng, (c, kh, kw))
        bias = random_array(rng, (1,)) if rng.random() < 0.3 else None
        case = {"image": text(x), "kernel": text(k), "stride": s, "padding": p, "output_padding": op, "dilation": d}
        if bias is not None:
            case["bias"] = text(bias[None, None])
        try:
            out = F.conv_transpose2d(
                torch.from_numpy(x)[None],
                torch.from_numpy(k)[:, None],
                None if bias is None else torch.from_numpy(bias),
                tuple(s),
                tuple(p),
                tuple(op),
                1,
                tuple(d),
            )
            case["output"], case["error"] = out[0, 0].numpy().tolist(), None
        except RuntimeError as error:
            case["output"], case["error"] = None, str(error).splitlines()[0][:160]
        cases.append(case)
    return cases


def dilation_cases(rng: random.Random, count: int) -> list[dict]:
    cases = []
    while len(cases) < count:
        c, h, w = rng.randint(1, 2), rng.randint(3, 8), rng.randint(3, 8)
        kh, kw = rng.randint(1, 3), rng.randint(1, 3)
        d = [rng.randint(1, 3), rng.randint(1, 3)]
        s, p = [rng.randint(1, 2), rng.randint(1, 2)], [rng.randint(0, 2), rng.randint(0, 2)]
        if h + 2 * p[0] < d[0] * (kh - 1) + 1 or w + 2 * p[1] < d[1] * (kw - 1) + 1:
            continue
        x, k = random_array(rng, (c, h, w)), random_array(rng, (c, kh, kw))
        out = F.conv2d(torch.from_numpy(x)[None], torch.from_numpy(k)[None], None, tuple(s), tuple(p), tuple(d))
        cases.append(
            {
                "image": text(x),
                "kernel": text(k),
                "stride": s,
                "padding": p,
                "dilation": d,
                "output": out[0, 0].tolist(),
            }
        )
    return cases


def random_pads(rng: random.Random, high: int) -> list[list[int]]:
    return [[rng.randint(0, high), rng.randint(0, high)] for _ in range(2)]


def asymmetric_apply_cases(rng: random.Random, count: int) -> list[dict]:
    cases = []
    while len(cases) < count:
        c, h, w, kh, kw = rng.randint(1, 2), rng.randint(2, 7), rng.randint(2, 7), rng.randint(1, 4), rng.randint(1, 4)
        pads = random_pads(rng, 2)
        s = [rng.randint(1, 2), rng.randint(1, 2)]
        if h + sum(pads[0]) < kh or w + sum(pads[1]) < kw:
            continue
        x, k = random_array(rng, (c, h, w)), random_array(rng, (c, kh, kw))
        padded = F.pad(torch.from_numpy(x)[None], (pads[1][0], pads[1][1], pads[0][0], pads[0][1]))
        out = F.conv2d(padded, torch.from_numpy(k)[None], None, tuple(s))
        cases.append({"image": text(x), "kernel": text(k), "stride": s, "padding": pads, "output": out[0, 0].tolist()})
    return cases


def asymmetric_pool_cases(rng: random.Random, count: int) -> list[dict]:
    cases = []
    while len(cases) < count:
        c, h, w, kh, kw = rng.randint(1, 2), rng.randint(1, 7), rng.randint(1, 7), rng.randint(1, 4), rng.randint(1, 4)
        pads = [[rng.randint(0, kh // 2), rng.randint(0, kh // 2)], [rng.randint(0, kw // 2), rng.randint(0, kw // 2)]]
        s = [rng.randint(1, 3), rng.randint(1, 3)]
        op = rng.choice(("max", "avg"))
        exclude = op == "avg" and rng.random() < 0.5
        if h + sum(pads[0]) < kh or w + sum(pads[1]) < kw:
            continue
        x = torch.from_numpy(random_array(rng, (c, h, w)))[None]
        order = (pads[1][0], pads[1][1], pads[0][0], pads[0][1])
        if op == "max":
            out = F.max_pool2d(F.pad(x, order, value=-float("inf")), (kh, kw), tuple(s))
        else:
            sums = F.avg_pool2d(F.pad(x, order), (kh, kw), tuple(s)) * (kh * kw)
            counts = F.avg_pool2d(F.pad(torch.ones_like(x), order), (kh, kw), tuple(s)) * (kh * kw)
            out = sums / counts if exclude else sums / (kh * kw)
        cases.append(
            {
                "image": text(x[0].numpy()),
                "size": [kh, kw],
                "stride": s,
                "padding": pads,
                "op": op,
                "exclude_pad": exclude,
                "output": out[0].tolist(),
            }
        )
    return cases


def same_pads(size: int, kernel: int, stride: int) -> tuple[int, int]:
    """TF's SAME padding (before, after): total max((⌈n/s⌉ − 1)s + k − n, 0), the extra one after."""
    total = max((-(-size // stride) - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2


def keras_pool_cases(rng: random.Random, count: int) -> list[dict]:
    import keras

    cases = []
    while len(cases) < count:
        c, h, w, kh, kw = rng.randint(1, 2), rng.randint(1, 8), rng.randint(1, 8), rng.randint(1, 4), rng.randint(1, 4)
        s = [rng.randint(1, 3), rng.randint(1, 3)] if rng.random() < 0.7 else None
        padding = rng.choice(("same", "valid"))
        op = rng.choice(("max", "avg"))
        x = random_array(rng, (c, h, w), rng.random() < 0.3)
        layer_class = keras.layers.MaxPooling2D if op == "max" else keras.layers.AveragePooling2D
        layer = layer_class((kh, kw), None if s is None else tuple(s), padding, dtype="float64")
        try:
            out = keras.ops.convert_to_numpy(layer(np.transpose(x, (1, 2, 0))[None]))[0]
        except (ValueError, RuntimeError) as error:
            cases.append(
                {
                    "image": text(x),
                    "size": [kh, kw],
                    "stride": s,
                    "padding": padding,
                    "op": op,
                    "output": None,
                    "error": str(error).splitlines()[0][:160],
                }
            )
            continue
        if 0 in out.shape:
            continue
        oracle = "keras"
        pads = [same_pads(n, k, st) for n, k, st in zip((h, w), (kh, kw), s or (kh, kw), strict=True)]
        if op == "avg" and padding == "same" and any(b != a for b, a in pads):
            # Keras's torch backend pads asymmetric SAME average pooling by replicating the edge (its
            # _apply_same_padding, mode="replicate"), where TF divides by the real cells: TF's rule from torch ops
            oracle = "tf-rule"
            t = torch.from_numpy(x)[None]
            order = (pads[1][0], pads[1][1], pads[0][0], pads[0][1])
            stride = tuple(s or (kh, kw))
            sums = F.avg_pool2d(F.pad(t, order), (kh, kw), stride) * (kh * kw)
            counts = F.avg_pool2d(F.pad(torch.ones_like(t), order), (kh, kw), stride) * (kh * kw)
            out = np.transpose((sums / counts)[0].numpy(), (1, 2, 0))
        cases.append(
            {
                "image": text(x),
                "size": [kh, kw],
                "stride": s,
                "padding": padding,
                "op": op,
                "output": np.transpose(out, (2, 0, 1)).tolist(),
                "error": None,
                "oracle": oracle,
            }
        )
    return cases


def main() -> None:
    import keras

    rng = random.Random(SEED)
    data = {
        "generator": "tests/data/make_filter_extra_goldens.py",
        "torch": torch.__version__,
        "keras": keras.__version__,
        "transpose": transpose_cases(rng, 150),
        "dilation": dilation_cases(rng, 60),
        "asymmetric_apply": asymmetric_apply_cases(rng, 60),
        "asymmetric_pool": asymmetric_pool_cases(rng, 80),
        "keras_pool": keras_pool_cases(rng, 120),
    }
    write_goldens(OUT, data)
    print(f"wrote {OUT}: " + ", ".join(f"{len(v)} {k}" for k, v in data.items() if isinstance(v, list)))


if __name__ == "__main__":
    main()
