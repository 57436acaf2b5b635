"""The expected answers of problems/norm.toml, from PyTorch (float64). Run: python tests/data/norm_problem_oracle.py

Prints one line per problem id with the values written into the TOML's `expected`.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

torch.set_default_dtype(torch.float64)


def batch_norm(x, gamma, beta, *, eps=1e-5, momentum=0.1, rm=(0.0, 0.0), rv=(1.0, 1.0), train=True, g=None):
    bn = nn.BatchNorm1d(len(gamma), eps=eps, momentum=momentum)
    with torch.no_grad():
        bn.weight.copy_(torch.tensor(gamma))
        bn.bias.copy_(torch.tensor(beta))
        bn.running_mean.copy_(torch.tensor(rm))
        bn.running_var.copy_(torch.tensor(rv))
    bn.train(train)
    xt = torch.tensor(x, requires_grad=True)
    y = bn(xt)
    out = {"y": y.tolist(), "running_mean": bn.running_mean.tolist(), "running_var": bn.running_var.tolist()}
    if g is not None:
        (y * torch.tensor(g)).sum().backward()
        out.update(dx=xt.grad.tolist(), dgamma=bn.weight.grad.tolist(), dbeta=bn.bias.grad.tolist())
    return out


def main() -> None:
    x = [[1.0, 2.0], [3.0, 6.0], [5.0, 10.0]]
    print("norm-bn-train", batch_norm(x, [1.0, 2.0], [0.0, 1.0]))
    print("norm-bn-eval", batch_norm(x, [1.0, 2.0], [0.0, 1.0], eps=0.0, rm=(2.0, 5.0), rv=(4.0, 9.0), train=False))
    print("norm-bn-running", batch_norm([[2.0], [4.0], [9.0]], [1.0], [0.0], momentum=0.5, rm=(1.0,), rv=(1.0,)))
    print("norm-bn-backward", batch_norm([[1.0, 2.0], [3.0, 6.0]], [1.0, 1.0], [0.0, 0.0], g=[[1.0, 0.0], [0.0, 1.0]]))
    ln = nn.LayerNorm(3)
    print("norm-layer", {"y": ln(torch.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])).tolist()})
    # pre-LN residual blocks with identity sublayers: x_{l+1} = x_l + LN(x_l)
    ln0 = nn.LayerNorm(3, eps=0.0)
    h = torch.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    stack = []
    for _ in range(3):
        h = h + ln0(h)
        stack.append(h.tolist())
    print("norm-pre-ln-stack", {"stack": stack})
    gn = nn.GroupNorm(2, 4)
    xg = torch.tensor([[1.0, 3.0, 2.0, 6.0], [0.0, 4.0, 4.0, 8.0]])
    print("norm-group", {"y": gn(xg).tolist()})
    # dropout: find a seed whose mask is 1,0,0,1, then read PyTorch's output
    xd = torch.tensor([[1.0, 2.0, 3.0, 4.0]])
    for seed in range(1000):
        torch.manual_seed(seed)
        y = F.dropout(xd, 0.5, training=True)
        if (y != 0).to(torch.int64).tolist() == [[1, 0, 0, 1]]:
            print("dropout-inverted", {"y": y.tolist(), "seed": seed})
            break
    print("dropout-eval", {"y": F.dropout(xd, 0.5, training=False).tolist()})
    conv = nn.Conv2d(3, 64, 3)
    fan_in, fan_out = nn.init._calculate_fan_in_and_fan_out(conv.weight)
    gain = nn.init.calculate_gain("relu")
    draws = []
    for seed in range(100):
        torch.manual_seed(seed)
        draws.append(nn.init.kaiming_normal_(torch.empty(64, 3, 3, 3), nonlinearity="relu").reshape(-1))
    empirical = float(torch.cat(draws).pow(2).mean().sqrt())
    print("init-he-conv", {"fan_in": fan_in, "fan_out": fan_out, "gain": gain, "std": gain / math.sqrt(fan_in),
                           "empirical_std": empirical})  # fmt: skip
    w = torch.empty(128, 256)
    torch.manual_seed(0)
    nn.init.xavier_uniform_(w)
    print("init-xavier-uniform", {"bound": math.sqrt(6 / (256 + 128)), "max_abs": float(w.abs().max())})
    try:
        nn.BatchNorm1d(2).train()(torch.tensor([[1.0, 2.0]]))
    except ValueError as error:
        print("norm-bn-one-sample", error)


if __name__ == "__main__":
    main()
