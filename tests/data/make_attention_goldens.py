"""Generate tests/data/attention_goldens.json from PyTorch (float64), the oracle for `dlsolve attention`.

Run from the repository root: ``python tests/data/make_attention_goldens.py`` (takes a few seconds).

* ``sdpa``: random Q, K, V (small multiples of 1/2, so the CLI text is exact) with no mask, causal,
  boolean and additive masks (some rows fully masked), key padding, a scale override and a
  temperature. Weights come from ``F.scaled_dot_product_attention`` itself, called with V = identity
  (then output = weights); the output from the real V. Temperature T is scale/T (softmax(s/T)).
* ``mha``: ``nn.MultiheadAttention(bias=False, batch_first=True)`` with given Wq, Wk, Wv, Wo
  (``in_proj_weight = [Wq^T; Wk^T; Wv^T]``, ``out_proj.weight = Wo^T``), 1 or 2 heads, optional key
  padding and boolean mask (MHA's bool attn_mask has True = blocked, so we pass ~allowed); weights
  averaged over heads (need_weights=True, so fully masked rows are NaN -> null).
* ``mha_bias``: ``nn.MultiheadAttention(bias=True)`` with projection biases (``in_proj_bias =
  [bq; bk; bv]``, ``out_proj.bias = bo``); each bias is given (``--bq`` ...) or left out (0 in
  PyTorch); 1 to 3 heads, with or without Wo, key padding or a boolean mask.
* ``mha_cross``: the same as cross-attention, ``mha(X, X_kv, X_kv)`` (``--x-kv``) with S keys; when
  X_kv is narrower or wider than X, ``kdim = vdim`` = its width (then PyTorch keeps
  ``q_proj_weight = Wq^T``, ``k_proj_weight = Wk^T``, ``v_proj_weight = Wv^T`` instead of
  ``in_proj_weight``).
* ``mha_cross_values``: keys and values from two sequences, ``mha(X, X_kv, X_v)`` (``--x-kv`` and
  ``--x-v``), both with S rows, ``kdim`` the width of X_kv and ``vdim`` that of X_v (equal to
  d_model or not, equal to each other or not). Drawn from their own random stream.
* ``params``: parameter counts of ``nn.MultiheadAttention`` for several configurations, the output and
  weight shapes of a forward pass, and its FLOPs from ``torch.utils.flop_counter.FlopCounterMode``.
"""

from __future__ import annotations

import json
import math
import random
from pathlib import Path

import torch
import torch.nn.functional as F
from torch.nn.attention import SDPBackend, sdpa_kernel
from torch.utils.flop_counter import FlopCounterMode

OUT = Path(__file__).with_name("attention_goldens.json")


def text(rows: list[list[float]]) -> str:
    """CLI matrix text; -inf as -inf."""
    return ";".join(",".join("-inf" if v == -math.inf else repr(v) for v in row) for row in rows)


def json_rows(tensor: torch.Tensor) -> list[list[float | None]]:
    return [[v if math.isfinite(v) else None for v in row] for row in tensor.tolist()]


def random_matrix(rng: random.Random, rows: int, cols: int) -> list[list[float]]:
    return [[rng.randint(-6, 6) / 2 for _ in range(cols)] for _ in range(rows)]


def sdpa(q, k, v, mask, scale):
    with sdpa_kernel(SDPBackend.MATH):
        return F.scaled_dot_product_attention(q[None], k[None], v[None], attn_mask=mask, scale=scale)[0]


def sdpa_cases(rng: random.Random) -> list[dict]:
    cases = []
    kinds = ["none", "causal", "bool", "additive", "padding", "scale", "temperature", "no-scale"]
    for index in range(48):
        kind = kinds[index % len(kinds)]
        t, s, d_k, d_v = rng.randint(1, 5), rng.randint(1, 5), rng.randint(1, 4), rng.randint(1, 3)
        if kind == "causal" and index % 2:
            s = t
        q_rows, k_rows, v_rows = random_matrix(rng, t, d_k), random_matrix(rng, s, d_k), random_matrix(rng, s, d_v)
        q, k, v = (torch.tensor(m, dtype=torch.float64) for m in (q_rows, k_rows, v_rows))
        args: dict[str, str | bool] = {"q": text(q_rows), "k": text(k_rows), "v": text(v_rows)}
        scale = 1 / math.sqrt(d_k)
        mask = None
        if kind == "causal":
            args["causal"] = True
            mask = torch.ones(t, s, dtype=torch.bool).tril()  # is_causal's documented mask (top-left)
        elif kind == "bool":
            allowed = [[rng.random() < 0.6 for _ in range(s)] for _ in range(t)]
            args["mask"] = ";".join(",".join(str(int(a)) for a in row) for row in allowed)
            args["mask-type"] = "bool"
            mask = torch.tensor(allowed, dtype=torch.bool)
        elif kind == "additive":
            additive = [[rng.choice([0.0, 0.5, -1.0, 2.0, -math.inf]) for _ in range(s)] for _ in range(t)]
            args["mask"] = text(additive)
            args["mask-type"] = "additive"
            mask = torch.tensor(additive, dtype=torch.float64)
        elif kind == "padding":
            padding = [int(rng.random() < 0.4) for _ in range(s)]
            args["key-padding"] = ",".join(map(str, padding))
            mask = ~torch.tensor(padding, dtype=torch.bool).expand(t, s)
        elif kind == "scale":
            value = rng.choice([0.25, 1.0, 2.0, 0.1])
            args["scale"] = repr(value)
            scale = value
        elif kind == "temperature":
            value = rng.choice([0.5, 2.0, 10.0])
            args["temperature"] = repr(value)
            scale = scale / value
        elif kind == "no-scale":
            args["no-scale"] = True
            scale = 1.0
        weights = sdpa(q, k, torch.eye(s, dtype=torch.float64), mask, scale)
        output = sdpa(q, k, v, mask, scale)
        if kind == "causal":  # also the is_causal flag itself, where PyTorch allows it
            check = torch.nn.functional.scaled_dot_product_attention(q[None], k[None], v[None], is_causal=True)[0]
            assert torch.allclose(check, output, rtol=0, atol=1e-12)
        cases.append({"kind": kind, "args": args, "weights": json_rows(weights), "output": json_rows(output)})
    return cases


def mha_cases(rng: random.Random) -> list[dict]:
    cases = []
    for index in range(16):
        heads = 1 + index % 2
        d_model = heads * rng.randint(1, 3)
        t = rng.randint(1, 5)
        x_rows = random_matrix(rng, t, d_model)
        weights_rows = {name: random_matrix(rng, d_model, d_model) for name in ("wq", "wk", "wv", "wo")}
        use_wo = index % 3 != 0
        mha = torch.nn.MultiheadAttention(d_model, heads, bias=False, batch_first=True, dtype=torch.float64)
        w = {name: torch.tensor(rows, dtype=torch.float64) for name, rows in weights_rows.items()}
        with torch.no_grad():
            mha.in_proj_weight.copy_(torch.cat([w["wq"].T, w["wk"].T, w["wv"].T]))
            mha.out_proj.weight.copy_(w["wo"].T if use_wo else torch.eye(d_model, dtype=torch.float64))
        x = torch.tensor(x_rows, dtype=torch.float64)[None]
        args: dict[str, str | bool] = {"x": text(x_rows), "heads": str(heads), "masked-rows": "nan"}
        args.update({name: text(rows) for name, rows in weights_rows.items() if name != "wo" or use_wo})
        padding = None
        attn_mask = None
        if index % 4 == 1:
            flags = [int(rng.random() < 0.4) for _ in range(t)]
            args["key-padding"] = ",".join(map(str, flags))
            padding = torch.tensor([flags], dtype=torch.bool)
        if index % 4 == 2:
            allowed = [[rng.random() < 0.6 for _ in range(t)] for _ in range(t)]
            args["mask"] = ";".join(",".join(str(int(a)) for a in row) for row in allowed)
            attn_mask = ~torch.tensor(allowed, dtype=torch.bool)  # MHA: True = not allowed
        with torch.no_grad():
            output, weights = mha(x, x, x, key_padding_mask=padding, attn_mask=attn_mask, need_weights=True)
        cases.append(
            {"kind": f"mha-{heads}", "args": args, "weights": json_rows(weights[0]), "output": json_rows(output[0])}
        )
    return cases


def random_vector(rng: random.Random, size: int) -> list[float]:
    return random_matrix(rng, 1, size)[0]


def projection_case(rng: random.Random, heads: int, *, cross: bool = False, separate_values: bool = False) -> dict:
    """One ``nn.MultiheadAttention(bias=True)`` case: random X, Wq, Wk, Wv, optional Wo, each bias
    given or 0, optional key padding or boolean mask; weights averaged over heads. With ``cross``
    the keys and values come from a random X_kv (S x kdim, kdim = d_model half of the time); with
    ``separate_values`` too, the values come from a random X_v (S x vdim). Without
    ``separate_values`` the random draws are those of the cases made before it existed."""
    d_model = heads * rng.randint(1, 3)
    t = rng.randint(1, 5)
    x_rows = random_matrix(rng, t, d_model)
    s, kdim = t, d_model
    if cross:
        s, kdim = rng.randint(1, 5), rng.choice([d_model, rng.randint(1, 4)])
    kv_rows = random_matrix(rng, s, kdim) if cross else x_rows
    vdim, v_rows = kdim, kv_rows
    if separate_values:
        vdim = rng.choice([d_model, kdim, rng.randint(1, 4)])
        v_rows = random_matrix(rng, s, vdim)
    input_width = {"wq": d_model, "wk": kdim, "wv": vdim, "wo": d_model}
    weight_rows = {name: random_matrix(rng, input_width[name], d_model) for name in ("wq", "wk", "wv", "wo")}
    bias_rows = {name: random_vector(rng, d_model) for name in ("bq", "bk", "bv", "bo")}
    use_wo = rng.random() < 0.7
    given_biases = [name for name in bias_rows if rng.random() < 0.6 and (name != "bo" or use_wo)]
    mha = torch.nn.MultiheadAttention(
        d_model, heads, bias=True, kdim=kdim, vdim=vdim, batch_first=True, dtype=torch.float64
    )
    w = {name: torch.tensor(rows, dtype=torch.float64) for name, rows in weight_rows.items()}
    b = {
        name: torch.tensor(rows if name in given_biases else [0.0] * d_model, dtype=torch.float64)
        for name, rows in bias_rows.items()
    }
    with torch.no_grad():
        if mha.in_proj_weight is not None:  # kdim = vdim = d_model
            mha.in_proj_weight.copy_(torch.cat([w["wq"].T, w["wk"].T, w["wv"].T]))
        else:
            mha.q_proj_weight.copy_(w["wq"].T)
            mha.k_proj_weight.copy_(w["wk"].T)
            mha.v_proj_weight.copy_(w["wv"].T)
        mha.in_proj_bias.copy_(torch.cat([b["bq"], b["bk"], b["bv"]]))
        mha.out_proj.weight.copy_(w["wo"].T if use_wo else torch.eye(d_model, dtype=torch.float64))
        mha.out_proj.bias.copy_(b["bo"])
    args: dict[str, str | bool] = {"x": text(x_rows), "heads": str(heads), "masked-rows": "nan"}
    if cross:
        args["x-kv"] = text(kv_rows)
    if separate_values:
        args["x-v"] = text(v_rows)
    args.update({name: text(rows) for name, rows in weight_rows.items() if name != "wo" or use_wo})
    args.update({name: text([bias_rows[name]]) for name in given_biases})
    padding = None
    attn_mask = None
    choice = rng.random()
    if choice < 0.25:
        flags = [int(rng.random() < 0.3) for _ in range(s)]
        args["key-padding"] = ",".join(map(str, flags))
        padding = torch.tensor([flags], dtype=torch.bool)
    elif choice < 0.5:
        allowed = [[rng.random() < 0.7 for _ in range(s)] for _ in range(t)]
        args["mask"] = ";".join(",".join(str(int(a)) for a in row) for row in allowed)
        attn_mask = ~torch.tensor(allowed, dtype=torch.bool)  # MHA: True = not allowed
    x = torch.tensor(x_rows, dtype=torch.float64)[None]
    x_kv = torch.tensor(kv_rows, dtype=torch.float64)[None]
    x_v = torch.tensor(v_rows, dtype=torch.float64)[None]
    with torch.no_grad():
        output, weights = mha(x, x_kv, x_v, key_padding_mask=padding, attn_mask=attn_mask, need_weights=True)
    shape = f"-cross-{t}x{d_model}-{s}x{kdim}" if cross else ""
    if separate_values:
        shape += f"-{s}x{vdim}"
    return {
        "kind": f"mha-{heads}{shape}-bias-{'-'.join(given_biases) or 'zero'}",
        "args": args,
        "weights": json_rows(weights[0]),
        "output": json_rows(output[0]),
    }


def param_cases() -> list[dict]:
    configs = [
        {"d_model": 512, "heads": 8, "batch": 2, "seq": 10},
        {"d_model": 512, "heads": 8, "batch": 1, "seq": 4, "bias": False},
        {"d_model": 64, "heads": 4, "batch": 3, "seq": 5, "seq_kv": 7, "kdim": 32, "vdim": 16},
        {"d_model": 12, "heads": 3, "batch": 2, "seq": 3, "add_bias_kv": True},
        {"d_model": 8, "heads": 1, "batch": 1, "seq": 6, "seq_kv": 2, "kdim": 8, "vdim": 5, "bias": False},
        {"d_model": 768, "heads": 12, "batch": 1, "seq": 3},
    ]
    cases = []
    for config in configs:
        d_model, heads = config["d_model"], config["heads"]
        batch, seq, seq_kv = config["batch"], config["seq"], config.get("seq_kv", config["seq"])
        kdim, vdim = config.get("kdim", d_model), config.get("vdim", d_model)
        mha = torch.nn.MultiheadAttention(
            d_model,
            heads,
            bias=config.get("bias", True),
            add_bias_kv=config.get("add_bias_kv", False),
            kdim=kdim,
            vdim=vdim,
            batch_first=True,
            dtype=torch.float64,
        )
        query = torch.randn(batch, seq, d_model, dtype=torch.float64)
        key = torch.randn(batch, seq_kv, kdim, dtype=torch.float64)
        value = torch.randn(batch, seq_kv, vdim, dtype=torch.float64)
        counter = FlopCounterMode(display=False)
        with torch.no_grad(), counter:
            output, weights = mha(query, key, value, need_weights=True)
        cases.append(
            {
                "config": config,
                "params": sum(p.numel() for p in mha.parameters()),
                "output_shape": list(output.shape),
                "weights_shape": list(weights.shape),
                "flops": counter.get_total_flops(),
            }
        )
    return cases


def main() -> None:
    torch.manual_seed(0)
    rng = random.Random(20261126)
    goldens = {
        "torch": torch.__version__,
        "sdpa": sdpa_cases(rng),
        "mha": mha_cases(rng),
        "params": param_cases(),
    }
    projection_rng = random.Random(20261127)  # its own stream: the cases above stay as they were
    goldens["mha_bias"] = [projection_case(projection_rng, 1 + index % 3) for index in range(18)]
    goldens["mha_cross"] = [projection_case(projection_rng, 1 + index % 3, cross=True) for index in range(18)]
    values_rng = random.Random(20261128)  # its own stream again: keys and values from two sequences
    goldens["mha_cross_values"] = [
        projection_case(values_rng, 1 + index % 3, cross=True, separate_values=True) for index in range(18)
    ]
    OUT.write_text(json.dumps(goldens, indent=1) + "\n", encoding="utf-8")
    counts = ", ".join(f"{len(cases)} {name}" for name, cases in goldens.items() if isinstance(cases, list))
    print(f"wrote {OUT} ({counts})")


if __name__ == "__main__":
    main()
