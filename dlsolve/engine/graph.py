"""The computational graph: one node per operation, in topological order.

A :class:`Graph` is what :func:`dlsolve.engine.parse_expression` returns. Its nodes are numbered in
an order where every node comes after its arguments (the parser emits them in post-order), so the
forward pass walks ``graph.nodes`` in order and the backward pass walks it in reverse. Leaves are
variables (``op == "var"``, ``name`` set) and constants (``op == "const"``, ``constant`` an exact
Fraction). Identical subexpressions share one node, so a value used twice is a fork of the graph
and its gradients add.

Shapes follow PyTorch: ``()`` for a scalar, ``(n,)`` for a 1-D vector, ``(m, n)`` for a matrix;
:func:`infer_shapes` applies PyTorch's broadcasting and ``torch.matmul`` rules and refuses what
PyTorch refuses, with PyTorch's message.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from dlsolve.errors import BadInput, InvalidProblem
from dlsolve.solution import FrozenRecord

if TYPE_CHECKING:
    from fractions import Fraction

Shape = tuple[int, ...]


class Node(FrozenRecord):
    """One node: an operation applied to earlier nodes, a variable or a constant.

    ``op`` is the operation's grammar name (``"add"``, ``"matmul"``, ``"sigmoid"``, ...; ``"var"``
    and ``"const"`` for leaves); ``args`` the indices of its argument nodes; ``params`` the
    constant, non-differentiable arguments (the slope of ``leaky_relu``, the ``dim`` of ``sum``);
    ``source`` the subexpression as the user wrote it.
    """

    index: int
    op: str
    args: tuple[int, ...]
    params: tuple[Any, ...]
    name: str
    constant: Fraction | None
    source: str
    _fields = ("index", "op", "args", "params", "name", "constant", "source")

    def __init__(
        self,
        index: int,
        op: str,
        args: tuple[int, ...] = (),
        params: tuple[Any, ...] = (),
        name: str = "",
        constant: Fraction | None = None,
        source: str = "",
    ) -> None:
        for field, value in zip(self._fields, (index, op, args, params, name, constant, source), strict=True):
            object.__setattr__(self, field, value)

    @property
    def is_leaf(self) -> bool:
        return self.op in ("var", "const")


class Graph(FrozenRecord):
    """A parsed expression: ``nodes`` in topological order, ``output`` the index of f.

    ``names`` lists the variables in order of first appearance; ``labels[i]`` is how the working
    names node ``i`` (the variable's name, the constant, or ``u1``, ``u2``, ... for operations).
    """

    text: str
    nodes: tuple[Node, ...]
    output: int
    names: tuple[str, ...]
    labels: tuple[str, ...]
    _fields = ("text", "nodes", "output", "names", "labels")
    _compared = ("text",)

    def __init__(self, text: str, nodes: tuple[Node, ...], output: int) -> None:
        object.__setattr__(self, "text", text)
        object.__setattr__(self, "nodes", nodes)
        object.__setattr__(self, "output", output)
        object.__setattr__(self, "names", tuple(node.name for node in nodes if node.op == "var"))
        labels: list[str] = []
        count = 0
        from dlsolve import fmt

        for node in nodes:
            if node.op == "var":
                labels.append(node.name)
            elif node.op == "const":
                labels.append(fmt.exact(node.constant) if node.constant is not None else "?")
            else:
                count += 1
                labels.append(f"u{count}")
        object.__setattr__(self, "labels", tuple(labels))

    @property
    def operations(self) -> list[Node]:
        """The operation nodes (not leaves), in topological order."""
        return [node for node in self.nodes if not node.is_leaf]

    def var_index(self, name: str) -> int:
        """The node index of variable ``name``."""
        for node in self.nodes:
            if node.op == "var" and node.name == name:
                return node.index
        raise KeyError(name)

    def consumers(self) -> list[list[int]]:
        """For each node, the nodes that use it (one entry per use)."""
        users: list[list[int]] = [[] for _ in self.nodes]
        for node in self.nodes:
            for arg in node.args:
                users[arg].append(node.index)
        return users

    def depends_on(self, names: set[str]) -> list[bool]:
        """For each node, whether its value depends on one of the variables ``names``."""
        flags: list[bool] = []
        for node in self.nodes:
            flags.append(node.name in names if node.op == "var" else any(flags[a] for a in node.args))
        return flags


# --------------------------------------------------------------------------- shapes


def shape_text(shape: Shape) -> str:
    """PyTorch's ``torch.Size([2, 3])`` form, as its messages print shapes."""
    return "torch.Size([" + ", ".join(str(d) for d in shape) + "])"


def broadcast_shapes(a: Shape, b: Shape) -> Shape:
    """PyTorch's broadcasting of two shapes; refuses as PyTorch does (``RuntimeError``'s message)."""
    if a == b:
        return a
    result: list[int] = []
    for position in range(1, max(len(a), len(b)) + 1):
        da = a[-position] if position <= len(a) else 1
        db = b[-position] if position <= len(b) else 1
        if da != db and da != 1 and db != 1:
            dim = max(len(a), len(b)) - position
            raise BadInput(
                f"the size of tensor a ({da}) must match the size of tensor b ({db}) at non-singleton "
                f"dimension {dim} (shapes {list(a)} and {list(b)})",
                option="--f",
            )
        result.append(max(da, db) if 1 in (da, db) else da)
    return tuple(reversed(result))


def matmul_shape(a: Shape, b: Shape) -> Shape:
    """``torch.matmul`` for 1-D and 2-D operands, refusing with PyTorch's messages."""
    if not a or not b:
        raise BadInput(
            f"both arguments to matmul need to be at least 1D, but they are {len(a)}D and {len(b)}D", option="--f"
        )
    if len(a) == 1 and len(b) == 1:
        if a != b:
            raise BadInput(
                f"inconsistent tensor size, expected tensor [{a[0]}] and src [{b[0]}] to have the same number of "
                f"elements, but got {a[0]} and {b[0]} elements respectively",
                option="--f",
            )
        return ()
    if len(a) == 2 and len(b) == 1:
        if a[1] != b[0]:
            raise BadInput(f"size mismatch, got input ({b[0]}), mat ({a[0]}x{a[1]}), vec ({b[0]})", option="--f")
        return (a[0],)
    rows, inner = (1, a[0]) if len(a) == 1 else a
    if inner != b[0]:
        raise BadInput(f"mat1 and mat2 shapes cannot be multiplied ({rows}x{inner} and {b[0]}x{b[1]})", option="--f")
    return (b[1],) if len(a) == 1 else (rows, b[1])


def infer_shapes(graph: Graph, shapes: Mapping[str, Shape]) -> list[Shape]:
    """The shape of every node, given the shape of every variable (BadInput where PyTorch refuses)."""
    from dlsolve.engine.ops import OPS

    result: list[Shape] = []
    for node in graph.nodes:
        if node.op == "var":
            result.append(tuple(shapes[node.name]))
        elif node.op == "const":
            result.append(())
        else:
            try:
                result.append(OPS[node.op].shape([result[a] for a in node.args], node.params))
            except (BadInput, InvalidProblem) as error:
                label = graph.labels[node.index]
                raise type(error)(f"{error.message} in {label} = {node.source}", option=error.option) from None
    return result
