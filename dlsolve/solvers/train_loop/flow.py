"""Data flow in ``train-loop``: what kind of value (input, target, prediction, logits, loss, ...)
each name holds, statement by statement in one function, and which tensors lost autograd.

A model's output kind comes from what can be seen of it: a ``Sequential``'s last layer, a ``forward``
of this file ending in an activation or in a ``torch.nn`` layer; anything else (another module's
model, a remote call) is an unknown prediction, on which the activation rules do not fire.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator

from dlsolve.solvers.train_loop.facts import ModuleFacts
from dlsolve.solvers.train_loop.vocabulary import (
    ACTIVATION_CALLS,
    ACTIVATION_MODULES,
    BATCH_NAMES,
    INPUT_KEYS,
    LOADER_NAME,
    MODEL_NAME,
    PASS_THROUGH,
    PRED_KINDS,
    PRED_NAME,
    SCALER_NAME,
    TARGET_KEYS,
    TARGET_NAME,
    TORCH_LAYERS,
    assigned_names,
    dotted,
    handler_bodies,
    is_literal,
    last_part,
    strip_pass_through,
)


class Scope:
    """Kinds of values (input, target, pred, loss, ...) flowing through one function body, in order."""

    def __init__(self, facts: ModuleFacts, owner: ast.AST, depth: int = 0) -> None:
        self.facts = facts
        self.owner = owner
        #: How many ``forward`` methods deep this scope is (bounds the analysis of nested models).
        self.depth = depth
        self.env: dict[str, str] = {}
        #: Names holding tensors computed with autograd off (no grad_fn), each with the statement
        #: that computed it (or its source) under no_grad/inference_mode.
        self.detached: dict[str, ast.stmt] = {}

    def statements(self) -> Iterator[ast.stmt]:
        """Statements of the owner in source order, not entering nested functions or classes."""

        def walk(body: list[ast.stmt]) -> Iterator[ast.stmt]:
            for statement in body:
                yield statement
                if isinstance(statement, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                    continue
                for name in ("body", "orelse", "finalbody", "handlers"):
                    inner = getattr(statement, name, None)
                    if isinstance(inner, list):
                        yield from walk([s for s in inner if isinstance(s, ast.stmt)] + handler_bodies(inner))

        body = self.owner.body if isinstance(self.owner, ast.Module | ast.FunctionDef | ast.AsyncFunctionDef) else []
        yield from walk(body)

    def kind(self, node: ast.expr | None, depth: int | None = None) -> str | None:
        """The kind of value ``node`` holds, or None when unknown."""
        depth = self.depth if depth is None else depth
        if isinstance(node, ast.Name):
            if node.id in self.env:
                return self.env[node.id]
            if TARGET_NAME.match(node.id):
                return "target"
            if PRED_NAME.match(node.id):
                return "pred"
            return None
        if isinstance(node, ast.Attribute):
            name = dotted(node)
            if name in self.env:
                return self.env[name]
            if node.attr in ("data",):
                return self.kind(node.value, depth)
            batch_like = self.kind(node.value, depth) == "batch" or dotted(node.value) in BATCH_NAMES
            if node.attr == "y":
                return "target" if batch_like else None
            if node.attr == "x" and batch_like:
                return "input"
            return "target" if TARGET_NAME.match(node.attr) else None
        if isinstance(node, ast.Subscript):
            base = self.kind(node.value, depth)
            key = node.slice.value if isinstance(node.slice, ast.Constant) else None
            if base == "batch":
                if key in (0,) or (isinstance(key, str) and key.lower() in INPUT_KEYS):
                    return "input"
                if key in (1, -1) or (isinstance(key, str) and key.lower() in TARGET_KEYS):
                    return "target"
                return None
            return base if base in ("input", "target") or base in PRED_KINDS else None
        if isinstance(node, ast.BinOp):
            kinds = {self.kind(node.left, depth), self.kind(node.right, depth)}
            return "loss" if "loss" in kinds else None
        if isinstance(node, ast.Call):
            return self._call_kind(node, depth)
        return None

    def _call_kind(self, node: ast.Call, depth: int) -> str | None:
        func = node.func
        attr = func.attr if isinstance(func, ast.Attribute) else dotted(func) or ""
        if isinstance(func, ast.Attribute) and attr in PASS_THROUGH:
            return self.kind(func.value, depth)
        if isinstance(func, ast.Attribute) and attr in ACTIVATION_CALLS and not node.args and self.kind(func.value):
            return ACTIVATION_CALLS[attr]  # outputs.softmax(dim=1)
        if last_part(attr) in ACTIVATION_CALLS and (node.args or node.keywords):
            return ACTIVATION_CALLS[last_part(attr)]  # F.softmax(x, 1), torch.sigmoid(x)
        if isinstance(func, ast.Call) and last_part(dotted(func.func)) in ACTIVATION_MODULES:
            return ACTIVATION_MODULES[last_part(dotted(func.func))]  # nn.Softmax(dim=1)(x)
        if self.facts.loss_type(func) is not None:
            return "loss"
        output = model_output_kind(self.facts, func, depth)
        if output is not None:
            return output
        if node.args and self.kind(node.args[0], depth) == "input" and dotted(func) not in ("len", "print"):
            return "pred"  # net(images): a call on the inputs is the forward pass
        return None

    def update(self, statement: ast.stmt) -> None:
        """Record the kinds assigned by ``statement`` (assignments and loader loops)."""
        self._track_autograd(statement)
        if isinstance(statement, ast.Assign):
            for target in statement.targets:
                self._assign(target, statement.value)
        elif isinstance(statement, ast.AnnAssign) and statement.value is not None:
            self._assign(statement.target, statement.value)
        elif isinstance(statement, ast.For | ast.AsyncFor):
            self._bind_loop_target(statement.target, statement.iter)
        elif isinstance(statement, ast.With | ast.AsyncWith):
            for item in statement.items:
                if item.optional_vars is not None:
                    self._assign(item.optional_vars, item.context_expr)

    def _assign(self, target: ast.expr, value: ast.expr) -> None:
        if isinstance(target, ast.Tuple | ast.List):
            if isinstance(value, ast.Tuple | ast.List) and len(value.elts) == len(target.elts):
                for sub_target, sub_value in zip(target.elts, value.elts, strict=True):
                    self._assign(sub_target, sub_value)
            elif self.kind(value) == "batch":
                self._bind_tuple(target)
            return
        name = dotted(target)
        if name is None:
            return
        kind = self.kind(value)
        if kind is None:
            self.env.pop(name, None)
        else:
            self.env[name] = kind

    def _track_autograd(self, statement: ast.stmt) -> None:
        """Update :attr:`detached` for the names ``statement`` assigns.

        Under no_grad/inference_mode every computed value (not a bare name, which aliases) has no
        grad_fn. Outside, the result of a pass-through, a method of a detached tensor, an activation,
        a loss, indexing or arithmetic stays without one when its only tensor operands are detached
        (``loss = criterion(outputs, labels)`` on no_grad ``outputs``). A model call never is: its
        parameters require grad (``head(frozen_features)`` trains the head).
        """
        pairs: list[tuple[ast.expr, ast.expr]] = []
        if isinstance(statement, ast.Assign):
            pairs = [(target, statement.value) for target in statement.targets]
        elif isinstance(statement, ast.AnnAssign) and statement.value is not None:
            pairs = [(statement.target, statement.value)]
        elif isinstance(statement, ast.AugAssign):
            pairs = [(statement.target, ast.BinOp(statement.target, statement.op, statement.value))]
        grad_off = bool(pairs) and self.facts.runs_grad_off(statement)
        for target, value in pairs:
            if isinstance(target, ast.Tuple | ast.List) and isinstance(value, ast.Tuple | ast.List):
                if len(target.elts) == len(value.elts):
                    pairs.extend(zip(target.elts, value.elts, strict=True))
                continue
            computed = not isinstance(value, ast.Name | ast.Attribute | ast.Constant)
            origin = statement if grad_off and computed else self.detached_origin(value)
            for element in target.elts if isinstance(target, ast.Tuple | ast.List) else [target]:
                name = dotted(element)
                if name is not None and origin is not None and not self._other_branch_assigns(statement, name):
                    self.detached[name] = origin
                elif name is not None:
                    self.detached.pop(name, None)

    def _other_branch_assigns(self, statement: ast.stmt, name: str) -> bool:
        """True when ``statement`` sits in an ``if``/``try`` that assigns ``name`` elsewhere too: another
        path may bind it with autograd on, so the no-grad binding is not the only one reaching a use."""
        current = self.facts.parents.get(statement)
        while current is not None and current is not self.owner:
            if isinstance(current, ast.If | ast.Try) and any(
                node is not statement and name in assigned_names(node) for node in ast.walk(current)
            ):
                return True
            current = self.facts.parents.get(current)
        return False

    def detached_origin(self, node: ast.expr | None) -> ast.stmt | None:
        """Where the tensor ``node`` evaluates to lost its grad_fn (see :meth:`_track_autograd`), or None."""
        if isinstance(node, ast.Name | ast.Attribute):
            return self.detached.get(dotted(node) or "")
        if isinstance(node, ast.Subscript):
            return self.detached_origin(node.value)
        if isinstance(node, ast.UnaryOp):
            return self.detached_origin(node.operand)
        if isinstance(node, ast.BinOp):
            return self._only_detached_operands([node.left, node.right], strict=True)
        if not isinstance(node, ast.Call):
            return None
        func = node.func
        receiver = func.value if isinstance(func, ast.Attribute) else None
        if receiver is not None and func.attr == "scale" and SCALER_NAME.search(last_part(dotted(receiver))):
            return self.detached_origin(node.args[0]) if node.args else None  # scaler.scale(loss)
        if receiver is not None and func.attr != "requires_grad_" and self.detached_origin(receiver) is not None:
            extra = [*node.args, *(k.value for k in node.keywords)]  # outputs.view(-1), loss.mean()
            return self._only_detached_operands([receiver, *extra], strict=True)
        tensors = [*node.args, *(k.value for k in node.keywords if k.arg in ("input", "target"))]
        if self.facts.loss_type(func) is not None and tensors:  # criterion(outputs, labels)
            return self._only_detached_operands(tensors, strict=False, first=True)
        if last_part(dotted(func)) in ACTIVATION_CALLS and node.args:  # F.softmax(outputs, dim=1)
            return self._only_detached_operands(node.args, strict=True, first=True)
        return None

    def _only_detached_operands(
        self, operands: list[ast.expr], *, strict: bool, first: bool = False
    ) -> ast.stmt | None:
        """The origin of the first detached operand when no operand can carry autograd (``first``: the
        first operand must be detached). Grad-free operands: literals, numeric names, inputs, targets,
        and (not ``strict``: a loss's target position) any value not known to be a prediction or loss."""
        origins = [self.detached_origin(operand) for operand in operands]
        if first and origins[0] is None:
            return None
        for operand, origin in zip(operands, origins, strict=True):
            if origin is not None or is_literal(operand):
                continue
            if isinstance(operand, ast.Name) and self.facts.is_numeric(operand):
                continue
            kind = self.kind(operand)
            if kind in ("input", "target") or (not strict and kind not in PRED_KINDS and kind != "loss"):
                continue
            return None
        return next((origin for origin in origins if origin is not None), None)

    def _bind_tuple(self, target: ast.Tuple | ast.List) -> None:
        elements = target.elts
        for index, element in enumerate(elements):
            name = dotted(element)
            if name is None:
                continue
            if TARGET_NAME.match(last_part(name)):
                self.env[name] = "target"
            elif index == 0:
                self.env[name] = "input"
            elif index == 1 or index == len(elements) - 1:
                self.env[name] = "target"

    def _bind_loop_target(self, target: ast.expr, iterable: ast.expr) -> None:
        while isinstance(iterable, ast.Call) and last_part(dotted(iterable.func)) in ("enumerate", "tqdm", "iter"):
            if last_part(dotted(iterable.func)) == "enumerate":
                if not (isinstance(target, ast.Tuple) and len(target.elts) == 2):
                    return
                target = target.elts[1]
            if not iterable.args:
                return
            iterable = iterable.args[0]
        if not self.is_loader(iterable):
            return
        if isinstance(target, ast.Tuple | ast.List):
            self._bind_tuple(target)
        elif isinstance(target, ast.Name):
            self.env[target.id] = "batch"

    def is_loader(self, iterable: ast.expr) -> bool:
        name = dotted(iterable)
        if name is None:
            return False
        ctor = last_part(self.facts.constructor(name, iterable))
        return ctor == "DataLoader" or bool(LOADER_NAME.search(last_part(name)))


def model_output_kind(facts: ModuleFacts, func: ast.expr, depth: int = 0) -> str | None:
    """For a callee that is a model: the kind of its output (``logits``, ``softmax``, ...)."""
    name = dotted(func)
    if isinstance(func, ast.Attribute) and func.attr == "forward":
        name = dotted(func.value)
    if name is None:
        return None
    ctor_call = facts.binding(name, func)
    ctor = last_part(dotted(ctor_call.func)) if ctor_call is not None else ""
    if ctor in ACTIVATION_MODULES:
        return ACTIVATION_MODULES[ctor]
    if ctor == "Sequential" and ctor_call is not None:
        layers = [strip_pass_through(arg) for arg in ctor_call.args]
        last = last_part(dotted(layers[-1].func)) if layers and isinstance(layers[-1], ast.Call) else ""
        return ACTIVATION_MODULES.get(last, "logits")
    if ctor in facts.classes and depth < 3 and dotted(ctor_call.func) == ctor:  # not other_module.Net()
        return (
            forward_kind(facts, facts.classes[ctor], depth + 1) if facts.is_module_class(facts.classes[ctor]) else None
        )
    if ctor.endswith("Loss") or facts.loss_type(func) is not None:
        return None
    if MODEL_NAME.search(last_part(name)):
        return "pred"
    return None


def forward_kind(facts: ModuleFacts, cls: ast.ClassDef, depth: int) -> str:
    """The kind of value ``cls.forward`` returns (``logits`` unless it ends in an activation)."""
    forward = facts.method(cls, "forward")
    if forward is None:
        return "pred"
    kinds = set()
    scope = Scope(facts, forward, depth)
    layer_outputs: set[str] = set()  # names last assigned a layer's output
    for node in scope.statements():
        if isinstance(node, ast.Return) and node.value is not None:
            kind = scope.kind(node.value)
            if kind not in ("softmax", "logsoftmax", "sigmoid"):
                kind = "logits" if layer_output(facts, node.value, layer_outputs) else "pred"
            kinds.add(kind)
        if isinstance(node, ast.Assign | ast.AnnAssign) and node.value is not None:
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            visible = layer_output(facts, node.value, layer_outputs)
            for name in (dotted(target) for target in targets):
                if name is not None:
                    (layer_outputs.add if visible else layer_outputs.discard)(name)
        scope.update(node)
    return kinds.pop() if len(kinds) == 1 else "pred"


def layer_output(facts: ModuleFacts, node: ast.expr, layer_outputs: set[str]) -> bool:
    """True when ``node`` is, visibly, the raw output of a ``torch.nn`` layer: a call of something
    bound to a ``torch.nn`` constructor (``facts.fc(x)``, ``nn.Linear``), ``F.linear``, a matrix
    product, a pass-through or sum of such, or a name assigned one. An output from anything dlsolve
    cannot see into (another module's model, a remote call) is unknown: False."""
    if isinstance(node, ast.Name | ast.Attribute) and dotted(node) in layer_outputs:
        return True
    if isinstance(node, ast.BinOp):
        if isinstance(node.op, ast.MatMult):
            return True
        sides = [side for side in (node.left, node.right) if not is_literal(side)]
        return bool(sides) and all(layer_output(facts, side, layer_outputs) for side in sides)
    if not isinstance(node, ast.Call):
        return False
    func = node.func
    if isinstance(func, ast.Attribute) and func.attr in PASS_THROUGH:
        return layer_output(facts, func.value, layer_outputs)
    name = dotted(func) or ""
    if last_part(name) in ("linear", "bilinear", "conv1d", "conv2d", "conv3d", "matmul", "mm", "bmm", "addmm"):
        return True
    bound = facts.binding(name, func) if name else None
    constructor = dotted(bound.func) or "" if bound is not None else ""
    return constructor.startswith(("nn.", "torch.nn.")) or constructor in TORCH_LAYERS
