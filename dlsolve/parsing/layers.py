"""PyTorch and Keras layer calls (``--net``), parsed with ``ast`` and a whitelist of literals.

Part of :mod:`dlsolve.parsing` (see its docstring for the conventions)."""

from __future__ import annotations

import ast
from typing import TYPE_CHECKING, Any

from dlsolve.errors import BadInput
from dlsolve.parsing.text import _check_length, _evaluate_scalar, _quote, _require_text, read_source
from dlsolve.values import (
    LayerCall,
)

if TYPE_CHECKING:
    # Start-up cost: ``fractions`` (with ``decimal`` and ``numbers``) is imported by the functions
    # that need it; ``conv-shape`` with whole numbers never does.

    pass


# --------------------------------------------------------------------------- layer expressions


def _literal(node: ast.expr, source: str) -> Any:
    """A whitelisted literal: numbers (with arithmetic), strings, bools, None, tuples, lists, and a
    nested layer call (``TransformerEncoder(TransformerEncoderLayer(512, 8), 6)``) as a LayerCall."""
    if isinstance(node, ast.Call):
        name = _callee_name(node.func)
        if name is None or not name[:1].isupper() or name == "Sequential":
            raise ValueError("not a layer")
        return _layer_call(node, name, source)
    if isinstance(node, ast.Constant):
        if isinstance(node.value, bool | str | type(None)):
            return node.value
        if isinstance(node.value, int):
            return node.value
        if isinstance(node.value, float):
            return node.value
        raise ValueError("unsupported constant")
    if isinstance(node, ast.Tuple | ast.List):
        return tuple(_literal(item, source) for item in node.elts)
    if isinstance(node, ast.UnaryOp | ast.BinOp):
        value = _evaluate_scalar(node, source, "layer", False)
        if value.denominator == 1 and not _has_float(node):
            return int(value)
        return float(value)
    raise ValueError("not a literal")


def _has_float(node: ast.expr) -> bool:
    return any(isinstance(n, ast.Constant) and isinstance(n.value, float) for n in ast.walk(node)) or any(
        isinstance(n, ast.BinOp) and isinstance(n.op, ast.Div) for n in ast.walk(node)
    )


def _callee_name(node: ast.expr) -> str | None:
    """``Conv2d``, ``nn.Conv2d`` or ``torch.nn.Conv2d`` -> ``Conv2d``; anything else -> None."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        base = node.value
        if isinstance(base, ast.Name) and base.id in ("nn", "torch"):
            return node.attr
        is_torch_nn = isinstance(base, ast.Attribute) and isinstance(base.value, ast.Name)
        if is_torch_nn and (base.value.id, base.attr) == ("torch", "nn"):  # type: ignore[union-attr]
            return node.attr
    return None


def _layer_calls(node: ast.expr, source: str, option: str) -> list[LayerCall]:
    if isinstance(node, ast.Tuple | ast.List):
        return [call for item in node.elts for call in _layer_calls(item, source, option)]
    segment = ast.get_source_segment(source, node) or ""
    name = _callee_name(node.func) if isinstance(node, ast.Call) else None
    if not isinstance(node, ast.Call) or name is None or not name[:1].isupper():
        raise BadInput(
            f"line {node.lineno}: expected a layer such as Conv2d(1, 16, 3), got {_quote(segment)}",
            option=option,
        )
    if name == "Sequential":
        if node.keywords:
            raise BadInput(f"line {node.lineno}: Sequential takes layers only", option=option)
        return [call for item in node.args for call in _layer_calls(item, source, option)]
    return [_layer_call(node, name, source, option)]


def _layer_call(node: ast.Call, name: str, source: str, option: str = "--net") -> LayerCall:
    segment = ast.get_source_segment(source, node) or ""
    try:
        args = tuple(_literal(arg, source) for arg in node.args)
        kwargs = {}
        for keyword in node.keywords:
            if keyword.arg is None:
                raise ValueError("**kwargs")
            kwargs[keyword.arg] = _literal(keyword.value, source)
    except (ValueError, TypeError, ZeroDivisionError, BadInput):
        raise BadInput(
            f"line {node.lineno}: arguments of {name} must be literal numbers, strings, booleans, "
            f"None or tuples; got {_quote(segment, 60)}",
            option=option,
        ) from None
    return LayerCall(name=name, args=args, kwargs=kwargs, source=segment, line=node.lineno)


def parse_layers(text: str, option: str = "--net") -> list[LayerCall]:
    """Layer calls from ``"Conv2d(1, 16, 3, padding=1); ReLU(); MaxPool2d(2)"`` or a file's text.

    Accepts one layer per line or ``;``-separated, ``#`` comments, an ``nn.``/``torch.nn.`` prefix,
    trailing commas, an ``nn.Sequential(...)`` wrapper and ``model = nn.Sequential(...)``.
    """
    text = _require_text(text, option, "Conv2d(1, 16, 3)")
    _check_length(text, option)
    source = text.strip()
    if not source:
        raise BadInput("expected one or more layers such as Conv2d(1, 16, 3), got nothing", option=option)
    try:
        module = ast.parse(source, mode="exec")
    except SyntaxError as error:
        column = f", column {error.offset}" if error.offset else ""
        raise BadInput(f"line {error.lineno}{column}: cannot parse layers: {error.msg}", option=option) from None
    except (ValueError, MemoryError, RecursionError):
        raise BadInput("cannot parse layers", option=option) from None
    calls: list[LayerCall] = []
    for statement in module.body:
        if isinstance(statement, ast.Expr) or (isinstance(statement, ast.Assign) and len(statement.targets) == 1):
            value = statement.value
        else:
            raise BadInput(f"line {statement.lineno}: expected a layer such as Conv2d(1, 16, 3)", option=option)
        calls.extend(_layer_calls(value, source, option))
    if not calls:
        raise BadInput("expected one or more layers", option=option)
    return calls


# --------------------------------------------------------------------------- whole inputs


def parse_network(text: str, option: str) -> list[LayerCall]:
    """Layers typed in place (``"Conv2d(1, 16, 3); ReLU()"``), or ``@file`` / ``-`` holding them."""
    return parse_layers(read_source(_require_text(text, option, "Conv2d(1, 16, 3)"), option), option)


def parse_network_file(path: str, option: str) -> list[LayerCall]:
    """Layers from the file at ``path``, one layer a line."""
    return parse_layers(read_source("@" + _require_text(path, option, "net.txt"), option), option)
