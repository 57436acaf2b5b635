"""Generate tests/data/backprop_goldens.json: f and its gradients from PyTorch autograd (float64).

Run from the repository root (needs torch):  python tests/data/make_backprop_goldens.py

Each random case builds an expression text and, alongside it, the same computation in torch (the
text is never evaluated): random shapes (scalars, vectors, matrices), broadcasting, matrix products
of every 1-D/2-D combination, every function of the grammar, losses with valid targets. Values are
multiples of 1/10 (or 1/4), so that the exact path can be compared too. The "lecture" cases are the
classic graphs of course notes and exams. The "refused" cases are inputs PyTorch refuses (a shape
mismatch, a non-scalar f) or answers with inf/nan, with its message.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from pathlib import Path

import torch
import torch.nn.functional as F

Env = dict[str, torch.Tensor]
Expr = tuple[str, Callable[[Env], torch.Tensor]]
OUT = Path(__file__).with_name("backprop_goldens.json")
SEED = 15
CASES = 320


class Case:
    """Variables of one random expression: name -> (shape, kind) with kind normal/unit/index."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.vars: dict[str, tuple[tuple[int, ...], str, int]] = {}

    def var(self, shape: tuple[int, ...], kind: str = "normal", classes: int = 0) -> Expr:
        for name, (s, k, _) in self.vars.items():
            if s == shape and k == kind and kind != "index" and self.rng.random() < 0.3:
                return name, lambda env, name=name: env[name]
        name = f"{'xyzwvabc'[len(self.vars) % 8]}{len(self.vars) // 8 or ''}"
        if kind == "unit":
            name = f"t{len(self.vars)}"
        if kind == "index":
            name = f"k{len(self.vars)}"
        self.vars[name] = (shape, kind, classes)
        return name, lambda env, name=name: env[name]

    def values(self) -> dict[str, object]:
        result: dict[str, object] = {}
        for name, (shape, kind, classes) in self.vars.items():
            count = 1
            for d in shape:
                count *= d
            if kind == "normal":
                flat = [self.rng.randint(-20, 20) / 10 for _ in range(count)]
            elif kind == "unit":
                flat = [self.rng.randint(1, 9) / 10 for _ in range(count)]
            else:
                flat = [self.rng.randrange(classes) for _ in range(count)]
            result[name] = nest(flat, shape)
        return result


def nest(flat: list, shape: tuple[int, ...]) -> object:
    if not shape:
        return flat[0]
    if len(shape) == 1:
        return flat
    return [flat[i * shape[1] : (i + 1) * shape[1]] for i in range(shape[0])]


UNARY: list[tuple[str, Callable[[torch.Tensor], torch.Tensor]]] = [
    ("exp({})", lambda a: torch.exp(a)),
    ("sin({})", torch.sin),
    ("cos({})", torch.cos),
    ("tanh({})", torch.tanh),
    ("sigmoid({})", torch.sigmoid),
    ("relu({})", torch.relu),
    ("leaky_relu({}, 0.2)", lambda a: F.leaky_relu(a, 0.2)),
    ("leaky_relu({})", F.leaky_relu),
    ("softplus({})", F.softplus),
    ("abs({})", torch.abs),
    ("-{}", lambda a: -a),
    ("log(1 + {}**2)", lambda a: torch.log(1 + a**2)),
    ("sqrt(1 + {}**2)", lambda a: torch.sqrt(1 + a**2)),
    ("log(sigmoid({}))", lambda a: torch.log(torch.sigmoid(a))),
    ("({})**3", lambda a: a**3),
    ("({})**2", lambda a: a**2),
    ("(1 + {}**2)**0.5", lambda a: (1 + a**2) ** 0.5),
    ("(1 + {}**2)**-1", lambda a: (1 + a**2) ** -1),
]
BINARY: list[tuple[str, Callable[[torch.Tensor, torch.Tensor], torch.Tensor]]] = [
    ("{} + {}", lambda a, b: a + b),
    ("{} - {}", lambda a, b: a - b),
    ("{} * {}", lambda a, b: a * b),
    ("{} / (1 + {}**2)", lambda a, b: a / (1 + b**2)),
    ("max({}, {})", torch.maximum),
    ("min({}, {})", torch.minimum),
    ("exp({}) ** {}", lambda a, b: torch.exp(a) ** b),
]


def smaller(rng: random.Random, shape: tuple[int, ...]) -> tuple[int, ...]:
    """A shape that broadcasts to ``shape``."""
    choice = rng.random()
    if choice < 0.5 or not shape:
        return shape
    if choice < 0.65:
        return ()
    if choice < 0.8:
        return shape[1:]
    return tuple(1 if rng.random() < 0.5 else d for d in shape)


def gen(case: Case, shape: tuple[int, ...], depth: int) -> Expr:
    rng = case.rng
    if depth <= 0 or rng.random() < 0.2:
        if not shape and rng.random() < 0.25:
            c = rng.choice([2, 3, 0.5, -1, 1.5])
            return str(c), lambda env, c=c: torch.tensor(float(c), dtype=torch.float64)
        return case.var(shape)
    kind = rng.random()
    if kind < 0.3:
        template, fn = rng.choice(UNARY)
        text, f = gen(case, shape, depth - 1)
        return template.format(
            f"({text})" if template.startswith("(") or "**" in template else text
        ), lambda env, f=f, fn=fn: fn(f(env))
    if kind < 0.6:
        template, fn = rng.choice(BINARY)
        (ta, fa), (tb, fb) = gen(case, smaller(rng, shape), depth - 1), gen(case, shape, depth - 1)
        if rng.random() < 0.5:
            (ta, fa), (tb, fb) = (tb, fb), (ta, fa)
        if template.startswith("exp"):
            return f"exp({ta}) ** ({tb})", lambda env, fa=fa, fb=fb: torch.exp(fa(env)) ** fb(env)
        return template.format(f"({ta})", f"({tb})"), lambda env, fa=fa, fb=fb, fn=fn: fn(fa(env), fb(env))
    if kind < 0.75 and shape:
        return matmul(case, shape, depth)
    if kind < 0.82 and len(shape) == 2:
        text, f = gen(case, (shape[1], shape[0]), depth - 1)
        return f"({text}).T", lambda env, f=f: f(env).T
    if kind < 0.9 and shape:
        text, f = gen(case, shape, depth - 1)
        if rng.random() < 0.5:
            return f"softmax({text})", lambda env, f=f: torch.softmax(f(env), -1)
        return f"log_softmax({text})", lambda env, f=f: torch.log_softmax(f(env), -1)
    if not shape:
        return reduction(case, depth)
    if len(shape) == 1 and rng.random() < 0.5:
        other = rng.randint(1, 3)
        dim = rng.choice([0, 1, -1])
        full = (other, shape[0]) if dim == 0 else (shape[0], other)
        text, f = gen(case, full, depth - 1)
        name = rng.choice(["sum", "mean"])
        return f"{name}({text}, {dim})", lambda env, f=f, dim=dim, name=name: getattr(torch, name)(f(env), dim)
    text, f = gen(case, shape, depth - 1)
    return f"({text}) * 2", lambda env, f=f: f(env) * 2


def matmul(case: Case, shape: tuple[int, ...], depth: int) -> Expr:
    rng = case.rng
    k = rng.randint(1, 4)
    if len(shape) == 2:
        a, b = (shape[0], k), (k, shape[1])
    elif rng.random() < 0.5:
        a, b = (k,), (k, shape[0])
    else:
        a, b = (shape[0], k), (k,)
    (ta, fa), (tb, fb) = gen(case, a, depth - 1), gen(case, b, depth - 1)
    return f"({ta}) @ ({tb})", lambda env, fa=fa, fb=fb: fa(env) @ fb(env)


def reduction(case: Case, depth: int) -> Expr:
    rng = case.rng
    shape = rng.choice([(), (3,), (2,), (2, 3), (3, 2), (1, 4)])
    kind = rng.random()
    if kind < 0.3 or not shape:
        text, f = gen(case, shape, depth - 1)
        name = rng.choice(["sum", "mean"])
        return f"{name}({text})", lambda env, f=f, name=name: getattr(torch, name)(f(env))
    if kind < 0.45:
        (ta, fa), (tb, fb) = gen(case, shape, depth - 1), gen(case, smaller(rng, shape), depth - 1)
        return f"mse({ta}, {tb})", lambda env, fa=fa, fb=fb: F.mse_loss(*torch.broadcast_tensors(fa(env), fb(env)))
    if kind < 0.6:
        ta, fa = gen(case, shape, depth - 1)
        tb, fb = case.var(shape, "unit")
        if rng.random() < 0.5:
            return f"bce(sigmoid({ta}), {tb})", lambda env, fa=fa, fb=fb: F.binary_cross_entropy(
                torch.sigmoid(fa(env)), fb(env)
            )
        return f"bce_with_logits({ta}, {tb})", lambda env, fa=fa, fb=fb: F.binary_cross_entropy_with_logits(
            fa(env), fb(env)
        )
    ta, fa = gen(case, shape, depth - 1)
    if rng.random() < 0.5:
        tb, fb = case.var(shape[:-1], "index", shape[-1])
        return f"cross_entropy({ta}, {tb})", lambda env, fa=fa, fb=fb: F.cross_entropy(fa(env), fb(env).long())
    tb, fb = gen(case, shape, depth - 1)
    return f"cross_entropy({ta}, softmax({tb}))", lambda env, fa=fa, fb=fb: F.cross_entropy(
        fa(env), torch.softmax(fb(env), -1)
    )


def autograd(
    text: str, fn: Callable[[Env], torch.Tensor], values: dict[str, object], indices: set[str]
) -> dict[str, object]:
    env = {}
    for name, value in values.items():
        if name in indices:
            env[name] = torch.tensor(value, dtype=torch.long)
        else:
            env[name] = torch.tensor(value, dtype=torch.float64, requires_grad=True)
    out = fn(env)
    names = [n for n in values if n not in indices]
    grads = torch.autograd.grad(out, [env[n] for n in names], allow_unused=True)
    return {
        "f": text,
        "at": values,
        "value": out.item(),
        "grad": {n: (torch.zeros_like(env[n]) if g is None else g).tolist() for n, g in zip(names, grads, strict=True)},
    }


def random_cases() -> list[dict[str, object]]:
    rng = random.Random(SEED)
    cases = []
    while len(cases) < CASES:
        case = Case(rng)
        text, fn = reduction(case, rng.randint(1, 4)) if rng.random() < 0.6 else gen(case, (), rng.randint(1, 4))
        values = case.values()
        indices = {n for n, (_, k, _) in case.vars.items() if k == "index"}
        if not set(values) - indices:
            continue
        result = autograd(text, fn, values, indices)
        flat = [result["value"]] + [x for g in result["grad"].values() for x in torch.tensor(g).flatten().tolist()]
        if all(abs(x) < 1e12 and x == x for x in flat):
            cases.append(result)
    return cases


LECTURE: list[tuple[str, str, dict[str, object], Callable[[Env], torch.Tensor]]] = [
    ("cs231n add-mul", "(x + y) * z", {"x": -2, "y": 5, "z": -4}, lambda e: (e["x"] + e["y"]) * e["z"]),
    (
        "sigmoid neuron",
        "sigmoid(w0 * x0 + w1 * x1 + w2)",
        {"w0": 2, "x0": -1, "w1": -3, "x1": -2, "w2": -3},
        lambda e: torch.sigmoid(e["w0"] * e["x0"] + e["w1"] * e["x1"] + e["w2"]),
    ),
    (
        "staged",
        "(x + sigmoid(y)) / (sigmoid(x) + (x + y)**2)",
        {"x": 3, "y": -4},
        lambda e: (e["x"] + torch.sigmoid(e["y"])) / (torch.sigmoid(e["x"]) + (e["x"] + e["y"]) ** 2),
    ),
    (
        "mlp mse",
        "mse(W2 @ sigmoid(W1 @ x + b1) + b2, y)",
        {"W1": [[1, 2], [3, 4]], "b1": [0, 0], "W2": [1, -1], "b2": 0, "x": [1, 2], "y": 1},
        lambda e: F.mse_loss(e["W2"] @ torch.sigmoid(e["W1"] @ e["x"] + e["b1"]) + e["b2"], e["y"]),
    ),
    (
        "softmax regression",
        "cross_entropy(X @ W + b, t)",
        {"X": [[1, 0], [0, 1]], "W": [[1, -1, 0], [0, 1, 2]], "b": [0, 0, 1], "t": [0, 2]},
        lambda e: F.cross_entropy(e["X"] @ e["W"] + e["b"], e["t"].long()),
    ),
    (
        "logistic regression",
        "bce(sigmoid(X @ w + b), y)",
        {"X": [[1, 2], [-1, 1], [0, -1]], "w": [0.5, -0.5], "b": 0, "y": [1, 0, 1]},
        lambda e: F.binary_cross_entropy(torch.sigmoid(e["X"] @ e["w"] + e["b"]), e["y"]),
    ),
    (
        "logistic regression logits",
        "bce_with_logits(X @ w + b, y)",
        {"X": [[1, 2], [-1, 1], [0, -1]], "w": [0.5, -0.5], "b": 0, "y": [1, 0, 1]},
        lambda e: F.binary_cross_entropy_with_logits(e["X"] @ e["w"] + e["b"], e["y"]),
    ),
    (
        "mean-only batch norm",
        "sum(g * (gamma * (x - mean(x)) + beta))",
        {"x": [1, 2, 6], "gamma": 2, "beta": 1, "g": [1, 0, -1]},
        lambda e: torch.sum(e["g"] * (e["gamma"] * (e["x"] - torch.mean(e["x"])) + e["beta"])),
    ),
    (
        "l2 regularized",
        "mse(X @ w, y) + lam * sum(w**2)",
        {"X": [[1, 2], [3, 4]], "w": [1, -1], "y": [0, 1], "lam": 0.1},
        lambda e: F.mse_loss(e["X"] @ e["w"], e["y"]) + e["lam"] * torch.sum(e["w"] ** 2),
    ),
    (
        "attention scores",
        "sum(G * (softmax(Q @ K.T / sqrt(2)) @ V))",
        {"Q": [[1, 0], [0, 1]], "K": [[1, 0], [1, 1]], "V": [[1, 2], [3, 4]], "G": [[1, 0], [0, 1]]},
        lambda e: torch.sum(
            e["G"]
            * (torch.softmax(e["Q"] @ e["K"].T / torch.sqrt(torch.tensor(2.0, dtype=torch.float64)), -1) @ e["V"])
        ),
    ),
    (
        "rnn step",
        "sum(tanh(W @ h + U @ x))",
        {"W": [[1, 0], [0, 1]], "U": [[1, -1], [2, 0]], "h": [0, 1], "x": [1, 1]},
        lambda e: torch.sum(torch.tanh(e["W"] @ e["h"] + e["U"] @ e["x"])),
    ),
    (
        "kinks",
        "relu(x) + abs(y) + max(x, y) + leaky_relu(x, 0.1)",
        {"x": 0, "y": 0},
        lambda e: torch.relu(e["x"]) + torch.abs(e["y"]) + torch.maximum(e["x"], e["y"]) + F.leaky_relu(e["x"], 0.1),
    ),
    ("fork", "x * y + x**2 + exp(x)", {"x": 1, "y": 3}, lambda e: e["x"] * e["y"] + e["x"] ** 2 + torch.exp(e["x"])),
    (
        "min tie vector",
        "sum(min(x, y) * w)",
        {"x": [1, 2, 3], "y": [1, 0, 3], "w": [1, 2, 3]},
        lambda e: torch.sum(torch.minimum(e["x"], e["y"]) * e["w"]),
    ),
    (
        "log softmax nll",
        "-sum(log_softmax(z) * t)",
        {"z": [1, 2, 3], "t": [0, 0, 1]},
        lambda e: -torch.sum(torch.log_softmax(e["z"], -1) * e["t"]),
    ),
]

REFUSED: list[tuple[str, dict[str, object], Callable[[Env], torch.Tensor]]] = [
    ("A @ B", {"A": [[1, 2, 3], [4, 5, 6]], "B": [[1, 2], [3, 4]]}, lambda e: e["A"] @ e["B"]),
    ("sum(x @ y)", {"x": [1, 2, 3], "y": [1, 2]}, lambda e: torch.sum(e["x"] @ e["y"])),
    ("sum(A @ v)", {"A": [[1, 2, 3], [4, 5, 6]], "v": [1, 2]}, lambda e: torch.sum(e["A"] @ e["v"])),
    ("sum(v @ A)", {"A": [[1, 2], [4, 5]], "v": [1, 2, 3]}, lambda e: torch.sum(e["v"] @ e["A"])),
    ("sum(x + y)", {"x": [1, 2, 3], "y": [1, 2]}, lambda e: torch.sum(e["x"] + e["y"])),
    ("sum(A * v)", {"A": [[1, 2, 3], [4, 5, 6]], "v": [1, 2]}, lambda e: torch.sum(e["A"] * e["v"])),
    ("x * 2", {"x": [1, 2, 3]}, lambda e: e["x"] * 2),
    ("bce(p, y)", {"p": [0.5, 0.5, 0.5], "y": [1, 0]}, lambda e: F.binary_cross_entropy(e["p"], e["y"])),
    (
        "bce_with_logits(z, y)",
        {"z": [1, 2, 3], "y": [1, 0]},
        lambda e: F.binary_cross_entropy_with_logits(e["z"], e["y"]),
    ),
    (
        "cross_entropy(Z, t)",
        {"Z": [[1, 2, 3], [1, 2, 3]], "t": [0, 1, 2]},
        lambda e: F.cross_entropy(e["Z"], e["t"].long()),
    ),
    (
        "cross_entropy(Z, t)",
        {"Z": [[1, 2, 3], [1, 2, 3]], "t": [0, 5]},
        lambda e: F.cross_entropy(e["Z"], e["t"].long()),
    ),
    ("log(x)", {"x": -1}, lambda e: torch.log(e["x"])),
    ("log(x - 1)", {"x": 1}, lambda e: torch.log(e["x"] - 1)),
    ("x / y", {"x": 1, "y": 0}, lambda e: e["x"] / e["y"]),
    ("sqrt(x)", {"x": -4}, lambda e: torch.sqrt(e["x"])),
    ("bce(p, y)", {"p": [1.5, 0.5], "y": [1, 0]}, lambda e: F.binary_cross_entropy(e["p"], e["y"])),
    ("sqrt(x)", {"x": 0}, lambda e: torch.sqrt(e["x"])),
]


def refused_cases() -> list[dict[str, object]]:
    cases = []
    for text, values, fn in REFUSED:
        indices = {"t"} if "cross_entropy" in text else set()
        env = {
            n: torch.tensor(v, dtype=torch.long if n in indices else torch.float64, requires_grad=n not in indices)
            for n, v in values.items()
        }
        try:
            out = fn(env)
            if out.numel() != 1:
                out.backward()
            grads = torch.autograd.grad(out, [env[n] for n in values if n not in indices])
            finite = torch.isfinite(out).all() and all(torch.isfinite(g).all() for g in grads)
            message = "" if finite else f"not finite: value {out.item()}, grads {[g.tolist() for g in grads]}"
            kind = "invalid-problem"
            assert not finite, text
        except (RuntimeError, ValueError, IndexError) as error:
            message = str(error).splitlines()[0]
            kind = "invalid-problem" if isinstance(error, IndexError) or "between 0 and 1" in message else "bad-input"
        cases.append({"f": text, "at": values, "error": kind, "torch": message})
    return cases


def main() -> None:
    torch.manual_seed(SEED)
    lecture = []
    for title, text, values, fn in LECTURE:
        indices = {"t"} if "cross_entropy" in text else set()
        case = autograd(text, fn, values, indices)
        lecture.append({"title": title, **case})
    data = {
        "generator": "tests/data/make_backprop_goldens.py",
        "torch": torch.__version__,
        "lecture": lecture,
        "random": random_cases(),
        "refused": refused_cases(),
    }
    OUT.write_text(json.dumps(data, indent=None, separators=(",", ":")) + "\n")
    print(f"wrote {OUT}: {len(lecture)} lecture, {len(data['random'])} random, {len(data['refused'])} refused")


if __name__ == "__main__":
    main()
