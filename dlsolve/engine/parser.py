"""``--f`` text -> :class:`~dlsolve.engine.graph.Graph`, through :mod:`ast` and a whitelist.

Nothing is evaluated: the text is parsed by :func:`ast.parse` and every syntax-tree node is checked
against the grammar below; anything else (attributes other than ``.T``, subscripts, lambdas,
keyword arguments, dunders, comparisons, ...) is refused with one line naming ``--f``. Numbers become
exact Fractions through :func:`dlsolve.parsing.parse_scalar` (``0.1`` is 1/10).
"""

from __future__ import annotations

import ast

from dlsolve.engine.graph import Graph, Node
from dlsolve.errors import BadInput

#: function name -> (least, most arguments, how many of them are tensors; the rest are constants)
FUNCTIONS: dict[str, tuple[int, int, int]] = {
    "exp": (1, 1, 1),
    "log": (1, 1, 1),
    "sqrt": (1, 1, 1),
    "abs": (1, 1, 1),
    "sin": (1, 1, 1),
    "cos": (1, 1, 1),
    "tanh": (1, 1, 1),
    "sigmoid": (1, 1, 1),
    "relu": (1, 1, 1),
    "leaky_relu": (1, 2, 1),
    "softplus": (1, 1, 1),
    "max": (2, 2, 2),
    "min": (2, 2, 2),
    "sum": (1, 3, 1),
    "mean": (1, 3, 1),
    "softmax": (1, 1, 1),
    "log_softmax": (1, 1, 1),
    "mse": (2, 2, 2),
    "bce": (2, 2, 2),
    "bce_with_logits": (2, 2, 2),
    "cross_entropy": (2, 2, 2),
}

#: grammar function -> operation name in :data:`dlsolve.engine.ops.OPS`
OP_OF_FUNCTION = {name: name for name in FUNCTIONS} | {"max": "maximum", "min": "minimum"}

GRAMMAR = (
    "numbers, names, + - * / ** (elementwise, broadcasting), @ (matrix product), unary -, .T, "
    "exp log sqrt abs sin cos tanh sigmoid relu leaky_relu(x, slope) softplus max(a, b) min(a, b), "
    "sum(x[, dim[, keepdim]]) mean(x[, dim[, keepdim]]) softmax log_softmax, "
    "mse(pred, target) bce(p, y) bce_with_logits(z, y) cross_entropy(logits, target)"
)

_BINARY = {ast.Add: "add", ast.Sub: "sub", ast.Mult: "mul", ast.Div: "div", ast.Pow: "pow", ast.MatMult: "matmul"}
_OPERATOR_TEXT = {
    ast.FloorDiv: "//",
    ast.Mod: "%",
    ast.BitAnd: "&",
    ast.BitOr: "|",
    ast.BitXor: "^",
    ast.LShift: "<<",
    ast.RShift: ">>",
}
MAX_TEXT = 20_000
MAX_NODES = 5_000


def _refuse(message: str, option: str) -> BadInput:
    return BadInput(f"{message}; the grammar: {GRAMMAR}", option=option)


class _Builder:
    def __init__(self, text: str, option: str) -> None:
        self.text = text
        self.option = option
        self.nodes: list[Node] = []
        self.index: dict[tuple[object, ...], int] = {}

    def add(
        self,
        op: str,
        args: tuple[int, ...] = (),
        params: tuple[object, ...] = (),
        *,
        name: str = "",
        constant: object = None,
        source: str = "",
    ) -> int:
        key = (op, args, params, name, constant)
        found = self.index.get(key)
        if found is not None:
            return found
        if len(self.nodes) >= MAX_NODES:
            raise BadInput(f"the expression has more than {MAX_NODES} operations", option=self.option)
        node = Node(len(self.nodes), op, args, params, name, constant, source)  # type: ignore[arg-type]
        self.nodes.append(node)
        self.index[key] = node.index
        return node.index

    def source(self, node: ast.AST) -> str:
        return ast.get_source_segment(self.text, node) or ""

    def constant(self, node: ast.expr) -> object:
        """A constant argument (a slope, a dim): a number, possibly negated, or True/False."""
        from dlsolve.parsing import parse_scalar

        if isinstance(node, ast.Constant) and isinstance(node.value, bool):
            return node.value
        inner = node.operand if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd) else node
        if not (isinstance(inner, ast.Constant) and isinstance(inner.value, int | float)):
            raise BadInput(f"expected a number here, got {self.source(node)!r}", option=self.option)
        return parse_scalar(self.source(node), self.option)

    def visit(self, node: ast.expr) -> int:
        if isinstance(node, ast.Constant):
            if isinstance(node.value, bool) or not isinstance(node.value, int | float):
                raise _refuse(f"{self.source(node)!r} is not a number", self.option)
            return self.add("const", constant=self.constant(node), source=self.source(node))
        if isinstance(node, ast.Name):
            return self.name(node)
        if isinstance(node, ast.BinOp):
            op = _BINARY.get(type(node.op))
            if op is None:
                raise _refuse(f"the operator {_OPERATOR_TEXT.get(type(node.op), '?')} is not allowed", self.option)
            left, right = self.visit(node.left), self.visit(node.right)
            return self.add(op, (left, right), source=self.source(node))
        if isinstance(node, ast.UnaryOp):
            if isinstance(node.op, ast.UAdd):
                return self.visit(node.operand)
            if not isinstance(node.op, ast.USub):
                raise _refuse("only unary minus is allowed", self.option)
            if isinstance(node.operand, ast.Constant):
                return self.add("const", constant=self.constant(node), source=self.source(node))
            return self.add("neg", (self.visit(node.operand),), source=self.source(node))
        if isinstance(node, ast.Attribute):
            if node.attr != "T":
                raise _refuse(f"the attribute .{node.attr} is not allowed (only .T, the transpose)", self.option)
            return self.add("transpose", (self.visit(node.value),), source=self.source(node))
        if isinstance(node, ast.Call):
            return self.call(node)
        raise _refuse(f"{_describe(node)} {self.source(node)!r} is not allowed", self.option)

    def name(self, node: ast.Name) -> int:
        name = node.id
        if name.startswith("__") or not name.isascii():
            raise _refuse(f"the name {name!r} is not allowed", self.option)
        if name in FUNCTIONS:
            raise _refuse(f"{name} is a function: write {name}(...)", self.option)
        return self.add("var", name=name, source=name)

    def call(self, node: ast.Call) -> int:
        if not isinstance(node.func, ast.Name):
            raise _refuse(f"only the grammar's functions can be called, not {self.source(node.func)!r}", self.option)
        name = node.func.id
        spec = FUNCTIONS.get(name)
        if spec is None:
            raise _refuse(f"unknown function {name}()", self.option)
        if node.keywords or any(isinstance(arg, ast.Starred) for arg in node.args):
            raise _refuse(f"{name}() takes positional arguments only (no keywords, no *args)", self.option)
        least, most, tensors = spec
        if not least <= len(node.args) <= most:
            count = str(least) if least == most else f"{least} to {most}"
            raise _refuse(f"{name}() takes {count} arguments, got {len(node.args)}", self.option)
        args = tuple(self.visit(arg) for arg in node.args[:tensors])
        params = tuple(self.constant(arg) for arg in node.args[tensors:])
        params = _check_params(name, params, self.option)
        return self.add(OP_OF_FUNCTION[name], args, params, source=self.source(node))


def _check_params(name: str, params: tuple[object, ...], option: str) -> tuple[object, ...]:
    from fractions import Fraction

    if name == "leaky_relu":
        return params or (Fraction(1, 100),)  # torch's default negative_slope
    if name in ("sum", "mean"):
        dim = params[0] if params else None
        if dim is not None and (isinstance(dim, bool) or dim != int(dim)):  # type: ignore[call-overload]
            raise BadInput(f"{name}(x, dim): dim must be a whole number, got {dim}", option=option)
        keepdim = params[1] if len(params) > 1 else False
        if not isinstance(keepdim, bool) and keepdim not in (0, 1):
            raise BadInput(f"{name}(x, dim, keepdim): keepdim must be True or False, got {keepdim}", option=option)
        return (None if dim is None else int(dim), bool(keepdim))  # type: ignore[call-overload]
    return params


def _describe(node: ast.AST) -> str:
    kinds = {
        ast.Subscript: "subscript",
        ast.Lambda: "lambda",
        ast.Compare: "comparison",
        ast.BoolOp: "boolean operator",
        ast.IfExp: "conditional",
        ast.List: "list",
        ast.Tuple: "tuple",
        ast.Dict: "dict",
        ast.Set: "set",
        ast.ListComp: "comprehension",
        ast.GeneratorExp: "comprehension",
        ast.NamedExpr: "assignment",
        ast.JoinedStr: "string",
        ast.Await: "await",
        ast.Starred: "starred expression",
    }
    return kinds.get(type(node), type(node).__name__.lower())


def parse_expression(text: str, option: str = "--f") -> Graph:
    """The graph of ``text`` in the grammar :data:`GRAMMAR`; :class:`BadInput` naming ``option`` otherwise.

    Example: ``parse_expression("(x + y) * z")`` has nodes ``x, y, u1 = x + y, z, u2 = u1 · z``.
    """
    stripped = text.strip()
    if not stripped:
        raise BadInput("expected an expression such as (x + y) * z, got an empty value", option=option)
    if len(stripped) > MAX_TEXT or "\x00" in stripped:
        raise BadInput(f"the expression is too long (more than {MAX_TEXT} characters) or has a NUL", option=option)
    try:
        tree = ast.parse(stripped, mode="eval")
    except SyntaxError as error:
        where = f" at column {error.offset}" if error.offset else ""
        raise BadInput(f"cannot read the expression{where}: {error.msg}", option=option) from None
    except (ValueError, MemoryError, RecursionError):
        raise BadInput("cannot read the expression", option=option) from None
    builder = _Builder(stripped, option)
    try:
        output = builder.visit(tree.body)
    except RecursionError:
        raise BadInput("the expression is nested too deeply", option=option) from None
    return Graph(stripped, tuple(builder.nodes), output)
