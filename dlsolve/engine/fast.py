"""The compiled float64 path: :func:`value_and_grad`, for many calls on one graph (an optimizer's steps).

The plan of both passes is made once per input shapes: for each operation a NumPy kernel taking its
arguments positionally (the common operations have dedicated kernels; the others call the generic
:mod:`dlsolve.engine.ops` code), and for each gradient the axes to sum over where an argument was
broadcast. A call then only runs NumPy, with no checks; if f or a gradient is not finite the checked
passes (:func:`dlsolve.engine.evaluate.forward` and ``backward``) run again to raise the precise
InvalidProblem.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from dlsolve.engine.backend import backend
from dlsolve.engine.graph import Graph, Shape, infer_shapes
from dlsolve.engine.ops import OPS, unbroadcast
from dlsolve.errors import BadInput, InvalidProblem


def _kernels() -> tuple[dict[str, Callable[..., Any]], dict[str, Callable[..., Any]]]:
    """Forward kernels ``f(*xs)`` and backward kernels ``vjp(g, out, *xs) -> tuple`` for common ops."""
    import numpy as np

    def sigmoid(x: Any) -> Any:
        return 1.0 / (1.0 + np.exp(-x))

    forward = {
        "add": np.add,
        "sub": np.subtract,
        "mul": np.multiply,
        "div": np.divide,
        "neg": np.negative,
        "exp": np.exp,
        "log": np.log,
        "tanh": np.tanh,
        "sin": np.sin,
        "cos": np.cos,
        "sqrt": np.sqrt,
        "sigmoid": sigmoid,
        "relu": lambda x: np.maximum(x, 0.0),
        "transpose": np.transpose,
        "matmul": np.matmul,
        "square": np.square,
    }
    backward = {
        "add": lambda g, out, x, y: (g, g),
        "sub": lambda g, out, x, y: (g, -g),
        "mul": lambda g, out, x, y: (g * y, g * x),
        "div": lambda g, out, x, y: (g / y, -g * out / y),
        "neg": lambda g, out, x: (-g,),
        "exp": lambda g, out, x: (g * out,),
        "log": lambda g, out, x: (g / x,),
        "tanh": lambda g, out, x: (g * (1.0 - out * out),),
        "sin": lambda g, out, x: (g * np.cos(x),),
        "cos": lambda g, out, x: (-g * np.sin(x),),
        "sqrt": lambda g, out, x: (g / (2.0 * out),),
        "sigmoid": lambda g, out, x: (g * out * (1.0 - out),),
        "relu": lambda g, out, x: (g * (x > 0),),
        "transpose": lambda g, out, x: (np.transpose(g),),
        "square": lambda g, out, x: (2.0 * g * x,),
    }
    return forward, backward


def _matmul_vjp(rank_a: int, rank_b: int, needs: list[bool]) -> Callable[..., tuple[Any, Any]]:
    """The two products of ∂(a @ b), each computed only where its argument needs a gradient."""
    import numpy as np

    if rank_a == 1 and rank_b == 1:
        left, right = (lambda g, a, b: g * b), (lambda g, a, b: g * a)
    elif rank_a == 2 and rank_b == 1:
        left, right = (lambda g, a, b: np.outer(g, b)), (lambda g, a, b: a.T @ g)
    elif rank_a == 1:
        left, right = (lambda g, a, b: b @ g), (lambda g, a, b: np.outer(a, g))
    else:
        left, right = (lambda g, a, b: g @ b.T), (lambda g, a, b: a.T @ g)
    if needs[0] and needs[1]:
        return lambda g, out, a, b: (left(g, a, b), right(g, a, b))
    if needs[0]:
        return lambda g, out, a, b: (left(g, a, b), None)
    return lambda g, out, a, b: (None, right(g, a, b))


def _one_sided(op: str, first: bool) -> Callable[..., tuple[Any, Any]]:
    """The vector-Jacobian product of a binary op for its first argument only (``first``) or its second."""
    if op == "mul":
        return (lambda g, out, x, y: (g * y, None)) if first else (lambda g, out, x, y: (None, g * x))
    if op == "div":
        return (lambda g, out, x, y: (g / y, None)) if first else (lambda g, out, x, y: (None, -g * out / y))
    return (lambda g, out, x, y: (g, None)) if first else (lambda g, out, x, y: (None, -g))


def _unbroadcaster(target: Shape) -> Callable[[Any], Any]:
    """For operations whose gradient shape depends on the values (mse broadcasting): reduce when needed."""
    return lambda grad: unbroadcast(grad, target)


def _reducer(shape: Shape, target: Shape) -> Callable[[Any], Any] | None:
    """How to sum a gradient of ``shape`` back to an argument of ``target`` (None: same shape)."""
    if shape == target:
        return None
    extra = tuple(range(len(shape) - len(target)))
    stretched = tuple(i for i, d in enumerate(target) if d == 1 and shape[len(extra) + i] != 1)

    def reduce(grad: Any) -> Any:
        if extra:
            grad = grad.sum(axis=extra)
        if stretched:
            grad = grad.sum(axis=stretched, keepdims=True)
        return grad.reshape(target)

    return reduce


def _sum_kernels(shape: Shape) -> tuple[Callable[..., Any], Callable[..., Any]]:
    """sum(x) as a dot product with ones (the fastest full sum of a small array), and its gradient."""
    import numpy as np

    ones = np.ones(shape)
    flat = ones.reshape(-1)
    return (lambda x: x.reshape(-1) @ flat), (lambda g, out, x: (g * ones,))


def _forward_step(index: int, kernel: Callable[..., Any], args: tuple[int, ...]) -> Callable[[list[Any]], None]:
    if len(args) == 1:
        (first,) = args

        def unary(v: list[Any]) -> None:
            v[index] = kernel(v[first])

        return unary
    first, second = args

    def binary(v: list[Any]) -> None:
        v[index] = kernel(v[first], v[second])

    return binary


def _backward_step(
    index: int, vjp: Callable[..., Any], args: tuple[int, ...], reducers: tuple[Any, ...], needs: list[bool]
) -> Callable[[list[Any], list[Any]], None]:
    targets = [(position, arg, reducers[position]) for position, arg in enumerate(args) if needs[position]]

    def step(v: list[Any], grads: list[Any]) -> None:
        g = grads[index]
        if g is None:
            return
        parts = vjp(g, v[index], *[v[a] for a in args])
        for position, arg, reduce in targets:
            part = parts[position]
            if part is None:
                continue
            if reduce is not None:
                part = reduce(part)
            old = grads[arg]
            grads[arg] = part if old is None else old + part

    if len(args) == 1 and targets:
        (_, arg, reduce), (first,) = targets[0], args

        def unary(v: list[Any], grads: list[Any]) -> None:
            g = grads[index]
            if g is None:
                return
            part = vjp(g, v[index], v[first])[0]
            if reduce is not None:
                part = reduce(part)
            old = grads[arg]
            grads[arg] = part if old is None else old + part

        return unary
    return step


class _Plan:
    """Both passes for one set of input shapes, as lists of closures over the value and gradient lists."""

    def __init__(self, graph: Graph, shapes: list[Shape], depends: list[bool]) -> None:
        forward_kernels, backward_kernels = _kernels()
        b = backend(False)
        self.steps: list[Callable[[list[Any]], None]] = []
        self.back: list[Callable[[list[Any], list[Any]], None]] = []
        for node in graph.nodes:
            if node.is_leaf:
                continue
            op, args, params = node.op, node.args, node.params
            kernel, vjp = forward_kernels.get(op), backward_kernels.get(op)
            if op == "pow" and graph.nodes[args[1]].op == "const" and graph.nodes[args[1]].constant == 2:
                kernel, vjp, args = forward_kernels["square"], backward_kernels["square"], args[:1]
            elif op == "sum" and params[0] is None and shapes[args[0]]:
                kernel, vjp = _sum_kernels(shapes[args[0]])
            elif op == "matmul":
                vjp = _matmul_vjp(len(shapes[args[0]]), len(shapes[args[1]]), [depends[a] for a in args])
            elif op in ("mul", "div", "sub") and not all(depends[a] for a in args):
                vjp = _one_sided(op, depends[args[0]])
            if kernel is None or vjp is None:
                generic = OPS[op]
                needs = [depends[a] for a in args]
                kernel = (lambda o, p: lambda *xs: o.forward(b, list(xs), p))(generic, params)
                vjp = (lambda o, p, n: lambda g, out, *xs: o.vjp(b, g, list(xs), out, p, n))(generic, params, needs)
            self.steps.append(_forward_step(node.index, kernel, args))
            if depends[node.index]:
                out_shape = shapes[node.index]
                reducers = tuple(
                    (_reducer(out_shape, shapes[a]) if OPS[op].elementwise else _unbroadcaster(shapes[a])) for a in args
                )
                self.back.append(_backward_step(node.index, vjp, args, reducers, [depends[a] for a in args]))
        self.back.reverse()


def value_and_grad(graph: Graph, wrt: Sequence[str]) -> Callable[[Mapping[str, Any]], tuple[float, dict[str, Any]]]:
    """A fast float64 function ``values -> (f, {name: ∂f/∂name for name in wrt})``.

    Made once per graph and called many times (an optimizer's steps). ``values`` maps every name of
    f to a float64 array (or anything ``np.asarray`` takes). The returned gradients are new arrays
    of the names' shapes. Shapes are checked when first seen (BadInput as :func:`forward`); if f or
    a gradient is not finite, InvalidProblem with the checked passes' message.
    """
    import numpy as np

    from dlsolve.engine.evaluate import Forward, backward, check_scalar, forward

    names = list(wrt)
    unknown = [name for name in names if name not in graph.names]
    if unknown:
        raise BadInput(f"{', '.join(unknown)} does not appear in f", option="--params")
    depends = graph.depends_on(set(names))
    leaves = [(node.index, node.name) for node in graph.nodes if node.op == "var"]
    constants = [(node.index, np.asarray(float(node.constant))) for node in graph.nodes if node.op == "const"]  # type: ignore[arg-type]
    indices = [(name, graph.var_index(name)) for name in names]
    output = graph.output
    plans: dict[tuple[Shape, ...], _Plan] = {}
    count = len(graph.nodes)
    one = np.ones(())
    float64, zeros, array = np.float64, np.zeros, np.array

    def run(values: Mapping[str, Any]) -> tuple[float, dict[str, Any]]:
        vals: list[Any] = [None] * count
        for index, name in leaves:
            vals[index] = np.asarray(values[name], dtype=float64)
        key = tuple(vals[index].shape for index, _ in leaves)
        plan = plans.get(key)
        if plan is None:
            shapes = infer_shapes(graph, {n: vals[i].shape for i, n in leaves})
            check_scalar(Forward(graph, [], shapes, False, []))
            plan = plans[key] = _Plan(graph, shapes, depends)
        for index, constant in constants:
            vals[index] = constant
        grads: list[Any] = [None] * count
        grads[output] = one
        with np.errstate(all="ignore"):
            for step in plan.steps:
                step(vals)
            for back in plan.back:
                back(vals, grads)
            out = vals[output]
            value = float(out) if out.ndim == 0 else float(out.reshape(-1)[0])
            result = {}
            total = value
            for name, index in indices:
                grad = grads[index]
                # a copy: the same array may be the gradient of several names, or a value of the graph
                grad = zeros(vals[index].shape) if grad is None else array(grad, dtype=float64)
                flat = grad.reshape(-1)
                total += flat @ flat  # finite only when every entry is (or it overflowed: checked below)
                result[name] = grad
        if not math.isfinite(total) and not (
            math.isfinite(value) and all(np.all(np.isfinite(g)) for g in result.values())
        ):
            backward(forward(graph, {name: vals[index] for index, name in leaves}, exact=False), names)
            raise InvalidProblem("f or its gradient is not finite at these values", option="--f")
        return value, result

    return run
