"""Forward and backward passes over a :class:`~dlsolve.engine.graph.Graph`.

* :func:`forward` computes every node's value (exact or float64), checking each operation's domain
  (``log`` of a non-positive value, division by zero, ...: :class:`InvalidProblem` naming the node
  and the value) and noting the kinks where PyTorch picks a convention.
* :func:`backward` is reverse-mode differentiation: nodes in reverse topological order, each node's
  upstream gradient ∂f/∂u times its local derivative sent to its arguments (reduced over broadcast
  dimensions), the contributions of several consumers added ("gradients add at forks").
  It records every contribution for the working.
* :func:`dlsolve.engine.fast.value_and_grad` compiles the same passes for repeated float64 calls.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from dlsolve.engine.backend import backend
from dlsolve.engine.graph import Graph, Shape, infer_shapes
from dlsolve.engine.ops import OPS, unbroadcast
from dlsolve.errors import BadInput, InvalidProblem


class Forward:
    """The result of :func:`forward`: ``values[i]`` is node ``i``'s value (a NumPy array).

    ``exact`` says which backend computed it; ``kinks`` lists ``(node index, note)`` where an
    argument sits at a kink; ``value`` is f's value.
    """

    def __init__(
        self, graph: Graph, values: list[Any], shapes: list[Shape], exact: bool, kinks: list[tuple[int, str]]
    ) -> None:
        self.graph = graph
        self.values = values
        self.shapes = shapes
        self.exact = exact
        self.kinks = kinks

    @property
    def value(self) -> Any:
        return self.values[self.graph.output]

    def nondifferentiable(self) -> set[str]:
        """Variables used as class indices of ``cross_entropy`` (integer targets have no gradient)."""
        names: set[str] = set()
        for node in self.graph.nodes:
            if node.op == "cross_entropy" and self.shapes[node.args[1]] != self.shapes[node.args[0]]:
                target = self.graph.nodes[node.args[1]]
                if target.op == "var":
                    names.add(target.name)
        return names


class Contribution:
    """What one consumer sent back to one argument: ``consumer`` node, argument ``position``, ``value``."""

    __slots__ = ("consumer", "position", "value")

    def __init__(self, consumer: int, position: int, value: Any) -> None:
        self.consumer = consumer
        self.position = position
        self.value = value


class Backward:
    """The result of :func:`backward`.

    ``node_grads[i]`` is ∂f/∂(node i) (None where f does not depend on it through ``wrt``);
    ``contributions[i]`` the terms that were added to make it (one per consumer); ``grads`` maps each
    name of ``wrt`` to ∂f/∂name, shaped like the name's value.
    """

    def __init__(
        self, forward: Forward, node_grads: list[Any], contributions: list[list[Contribution]], grads: dict[str, Any]
    ) -> None:
        self.forward = forward
        self.node_grads = node_grads
        self.contributions = contributions
        self.grads = grads


def _located(graph: Graph, index: int, message: str) -> str:
    return f"{graph.labels[index]} = {graph.nodes[index].source}: {message}"


def leaf_array(value: Any, exact: bool) -> Any:
    """A variable's value as the backend's array (Fractions in an object array, or float64)."""
    import numpy as np

    if exact:
        from fractions import Fraction

        array = np.asarray(value, dtype=object)
        for entry in array.flat:
            if not isinstance(entry, Fraction | int) or isinstance(entry, bool):
                raise BadInput("exact evaluation needs exact values (ints or Fractions)", option="--at")
        return backend(True).asarray(np.vectorize(Fraction, otypes=[object])(array) if array.size else array)
    return np.asarray(value, dtype=np.float64)


def forward(graph: Graph, values: Mapping[str, Any], *, exact: bool) -> Forward:
    """Every node's value at ``values`` (name -> number, nested list or array).

    Exact (``exact=True``): Fractions, SymPy for irrational values (:class:`ExactTooLarge` when a
    value grows past ``MAX_EXACT_NODES``: use the float path); otherwise float64. Shapes follow
    PyTorch (BadInput on a mismatch, with PyTorch's message); a value outside an operation's domain
    raises InvalidProblem naming the node and the value.
    """
    import numpy as np

    missing = [name for name in graph.names if name not in values]
    if missing:
        raise BadInput(f"no value for {', '.join(missing)}; give one with --at NAME=VALUE", option="--at")
    b = backend(exact)
    leaves = {name: leaf_array(values[name], exact) for name in graph.names}
    shapes = infer_shapes(graph, {name: array.shape for name, array in leaves.items()})
    results: list[Any] = []
    kinks: list[tuple[int, str]] = []
    with np.errstate(all="ignore"):
        for node in graph.nodes:
            if node.op == "var":
                results.append(leaves[node.name])
                continue
            if node.op == "const":
                results.append(b.asarray(b.num(node.constant)))  # type: ignore[arg-type]
                continue
            op = OPS[node.op]
            xs = [results[a] for a in node.args]
            problem = op.domain(b, xs, node.params)
            if problem:
                raise InvalidProblem(_located(graph, node.index, problem), option="--f")
            note = op.kink(xs, node.params)
            if note:
                kinks.append((node.index, note))
            try:
                value = b.asarray(op.forward(b, xs, node.params))
            except (ZeroDivisionError, OverflowError) as error:
                raise InvalidProblem(_located(graph, node.index, f"no finite value ({error})"), option="--f") from None
            if exact:
                b.check_size(value)  # type: ignore[union-attr]
            if not b.finite(value):
                raise InvalidProblem(
                    _located(graph, node.index, "the value overflows float64 (not finite)"), option="--f"
                )
            results.append(value)
    return Forward(graph, results, shapes, exact, kinks)


def check_scalar(forward: Forward) -> None:
    """PyTorch's rule for ``backward()``: f must hold one element; BadInput suggesting sum/mean otherwise."""
    shape = forward.shapes[forward.graph.output]
    if math.prod(shape) != 1:
        raise BadInput(
            f"f has shape {list(shape)}, not a scalar: gradients need a scalar output (PyTorch: grad can be "
            f"implicitly created only for scalar outputs); wrap it in sum(...) or mean(...)",
            option="--f",
        )


def backward(
    forward: Forward, wrt: Sequence[str] | None = None, *, local: Mapping[str, Any] | None = None, forks: str = "add"
) -> Backward:
    """Reverse mode: ∂f/∂name for each name in ``wrt`` (default: every variable).

    For each operation node in reverse topological order: its upstream gradient ∂f/∂u (the sum of
    what its consumers sent), times its local derivative, is sent to each argument that depends on
    ``wrt``; broadcast arguments receive the sum over the broadcast dimensions.

    Answer checking recomputes students' mistakes with the same pass: ``local`` replaces an
    operation's vector-Jacobian product (op name -> ``vjp(b, g, xs, value, params, needs)``), and
    ``forks="first"`` (or ``"last"``) keeps only the first (last) gradient a fork receives instead of
    adding them, in reverse topological order.
    """
    import numpy as np

    check_scalar(forward)
    graph = forward.graph
    names = list(graph.names) if wrt is None else list(wrt)
    unknown = [name for name in names if name not in graph.names]
    if unknown:
        raise BadInput(f"{', '.join(unknown)} does not appear in f", option="--wrt")
    b = backend(forward.exact)
    depends = graph.depends_on(set(names))
    values = forward.values
    node_grads: list[Any] = [None] * len(graph.nodes)
    contributions: list[list[Contribution]] = [[] for _ in graph.nodes]
    output = graph.output
    node_grads[output] = b.asarray(np.ones(forward.shapes[output], dtype=object if b.exact else np.float64))
    if b.exact:
        node_grads[output][...] = b.num(1)
    with np.errstate(all="ignore"):
        for node in reversed(graph.nodes):
            g = node_grads[node.index]
            if node.is_leaf or g is None or not depends[node.index]:
                continue
            needs = [depends[a] for a in node.args]
            xs = [values[a] for a in node.args]
            try:
                vjp = (local or {}).get(node.op, OPS[node.op].vjp)
                parts = vjp(b, g, xs, values[node.index], node.params, needs)
            except (ZeroDivisionError, OverflowError) as error:
                raise InvalidProblem(
                    _located(graph, node.index, f"the derivative does not exist ({error})"), option="--f"
                ) from None
            except InvalidProblem as error:
                raise InvalidProblem(_located(graph, node.index, error.message), option="--f") from None
            for position, (arg, part) in enumerate(zip(node.args, parts, strict=True)):
                if part is None or not needs[position]:
                    continue
                part = unbroadcast(b.asarray(part), forward.shapes[arg])
                if b.exact:
                    b.check_size(part)  # type: ignore[union-attr]
                if not b.finite(part):
                    raise InvalidProblem(_located(graph, node.index, "the gradient is not finite"), option="--f")
                contributions[arg].append(Contribution(node.index, position, part))
                if node_grads[arg] is None:
                    node_grads[arg] = part
                elif forks == "add":
                    node_grads[arg] = b.asarray(node_grads[arg] + part)
                elif forks == "last":
                    node_grads[arg] = part
    grads = {}
    for name in names:
        index = graph.var_index(name)
        grad = node_grads[index]
        if grad is None:
            grad = b.asarray(np.zeros(forward.shapes[index], dtype=object if b.exact else np.float64))
            if b.exact:
                grad[...] = b.num(0)
        grads[name] = grad
    return Backward(forward, node_grads, contributions, grads)
