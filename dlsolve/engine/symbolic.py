"""Symbolic mode: f as a SymPy expression of scalar names, and its derivatives as formulas.

Used when some names of f have no value. Every name is a real scalar symbol; the functions follow
the same conventions as the numeric path (PyTorch's autograd at kinks): ``relu(x)`` is
``Piecewise((x, x > 0), (0, True))`` so relu'(0) = 0, ``max(a, b)`` splits the derivative equally on
a tie, ``abs'(0) = sign(0) = 0``, ``leaky_relu'(0)`` is the slope. Vector operations (``@``,
``softmax``, ``cross_entropy``) need values: BadInput.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from dlsolve.engine.graph import Graph
from dlsolve.errors import BadInput

_VECTOR_ONLY = {"matmul", "softmax", "log_softmax", "cross_entropy"}


def _scalar_ops() -> dict[str, Any]:
    import sympy as sp

    from dlsolve.engine.backend import sigmoid_function

    def bigger(a: Any, b: Any, sign: int) -> Any:
        first, second = (a, b) if sign > 0 else (b, a)
        return sp.Piecewise((a, first > second), (b, first < second), ((a + b) / 2, True))

    def relu(x: Any) -> Any:
        return sp.Piecewise((x, x > 0), (0, True))

    return {
        "add": lambda a, b: a + b,
        "sub": lambda a, b: a - b,
        "mul": lambda a, b: a * b,
        "div": lambda a, b: a / b,
        "pow": lambda a, b: a**b,
        "neg": lambda a: -a,
        "maximum": lambda a, b: bigger(a, b, 1),
        "minimum": lambda a, b: bigger(a, b, -1),
        "exp": sp.exp,
        "log": sp.log,
        "sqrt": sp.sqrt,
        "abs": sp.Abs,
        "sin": sp.sin,
        "cos": sp.cos,
        "tanh": sp.tanh,
        "sigmoid": sigmoid_function(),
        "relu": relu,
        "softplus": lambda x: sp.log(1 + sp.exp(x)),
        "transpose": lambda a: a,
        "sum": lambda a: a,
        "mean": lambda a: a,
        "mse": lambda a, b: (a - b) ** 2,
        "bce": lambda p, y: -(y * sp.log(p) + (1 - y) * sp.log(1 - p)),
        "bce_with_logits": lambda z, y: (1 - y) * z + sp.log(1 + sp.exp(-z)),
    }


def to_sympy_expression(graph: Graph) -> tuple[Any, dict[str, Any]]:
    """f as a SymPy expression of real symbols (one per name), and the symbols by name."""
    import sympy as sp

    from dlsolve.engine.backend import to_sympy

    table = _scalar_ops()
    symbols = {name: sp.Symbol(name, real=True) for name in graph.names}
    values: list[Any] = []
    for node in graph.nodes:
        if node.op == "var":
            values.append(symbols[node.name])
        elif node.op == "const":
            values.append(to_sympy(node.constant))
        elif node.op in _VECTOR_ONLY:
            raise BadInput(
                f"symbolic mode handles scalar expressions; {node.op} needs vectors: give every name a value with --at",
                option="--f",
            )
        elif node.op == "leaky_relu":
            x, slope = values[node.args[0]], to_sympy(node.params[0])
            values.append(sp.Piecewise((x, x > 0), (slope * x, True)))
        else:
            args = [values[a] for a in node.args]
            if node.op == "pow" and args[1].is_number and abs(args[1]) > 1024:
                raise BadInput("an exponent larger than 1024 in magnitude is not kept as a formula", option="--f")
            values.append(table[node.op](*args))
    return values[graph.output], symbols


def symbolic_gradient(
    graph: Graph, wrt: Sequence[str], values: Mapping[str, Any], *, simplify: bool = True
) -> tuple[Any, dict[str, Any]]:
    """(f, {name: ∂f/∂name}) as SymPy expressions, with the given scalar ``values`` substituted.

    ``values`` maps some names to exact scalars (Fractions); the others stay symbols. ``simplify``
    runs ``sympy.simplify`` on each result (what the board shows; about 0.5 s an expression).
    """
    import sympy as sp

    from dlsolve.engine.backend import to_sympy

    expression, symbols = to_sympy_expression(graph)
    substitution = {symbols[name]: to_sympy(value) for name, value in values.items()}
    tidy = sp.simplify if simplify else (lambda expr: expr)
    f = tidy(expression.subs(substitution))
    derivatives = {}
    for name in wrt:
        derivative = sp.diff(expression, symbols[name]).subs(substitution)
        derivatives[name] = tidy(sp.piecewise_fold(derivative))
    return f, derivatives
