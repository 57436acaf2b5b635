"""What every ``train-loop`` check stands on: the findings, and the training events of code in the
order they run (``zero_grad``, ``backward``, ``step``, scheduler steps, ``model.eval()``/``.train()``), with
calls of the file's own functions followed, as data.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass

from dlsolve.solvers.train_loop.edits import Edit, SourceEditor
from dlsolve.solvers.train_loop.facts import ModuleFacts
from dlsolve.solvers.train_loop.flow import model_output_kind
from dlsolve.solvers.train_loop.rules import Finding
from dlsolve.solvers.train_loop.vocabulary import (
    ACTIVATION_MODULES,
    BACKWARD,
    EVAL,
    SCALER_NAME,
    SCHED,
    STEP,
    TRAIN,
    ZERO_GRAD,
    dotted,
    handler_bodies,
    last_part,
    sets_grad_none,
    strip_pass_through,
    train_mode,
)


@dataclass
class Event:
    """A training-relevant call in a linearised loop body."""

    kind: str
    node: ast.AST
    order: int
    nested: bool = False  # inside a loop nested in the loop analysed
    conditional: bool = False
    receiver: str = ""


class LoopAnalysis(SourceEditor):
    """One file's facts, its findings so far, and its training events in execution order."""

    def __init__(self, source: str, filename: str, tree: ast.Module) -> None:
        super().__init__(source)
        self.filename = filename
        self.tree = tree
        self.facts = ModuleFacts.collect(tree, source, filename)
        self.findings: dict[tuple[str, int, int], Finding] = {}
        #: Loss constructors (``nn.NLLLoss()``) and their calls flagged DL022/DL023 on raw logits;
        #: renamed at the end if those calls are all the uses of the name they are bound to.
        self.logits_losses: dict[ast.Call, list[ast.Call]] = {}

    def report(self, rule: str, node: ast.AST, message: str, edits: list[Edit] | None = None) -> None:
        key = (rule, node.lineno, node.col_offset + 1)  # type: ignore[attr-defined]
        if key in self.findings:
            return
        self.findings[key] = Finding(self.filename, key[1], key[2], rule, message)
        self.edits.extend(edits or [])

    def statement_of(self, node: ast.AST) -> ast.stmt | None:
        """The statement containing ``node`` if it is a plain expression statement filling its lines."""
        parent = self.facts.parents.get(node)
        if isinstance(parent, ast.Expr) and self.owns_lines(parent):
            return parent
        return None

    def enclosing_statement(self, node: ast.AST) -> ast.stmt | None:
        while node is not None and not isinstance(node, ast.stmt):
            node = self.facts.parents.get(node)  # type: ignore[assignment]
        return node

    def ancestor_in(self, node: ast.AST, body: list[ast.stmt]) -> ast.stmt | None:
        """The statement of ``body`` that contains ``node``."""
        current: ast.AST | None = node
        while current is not None:
            if current in body:
                return current  # type: ignore[return-value]
            current = self.facts.parents.get(current)
        return None

    def body_of(self, statement: ast.stmt) -> list[ast.stmt] | None:
        parent = self.facts.parents.get(statement)
        for name in ("body", "orelse", "finalbody"):
            body = getattr(parent, name, None)
            if isinstance(body, list) and statement in body:
                return body
        return None

    def events(self, body: list[ast.stmt], depth: int = 0) -> list[Event]:
        """Training events of ``body`` in execution order (calls to local functions inlined)."""
        found: list[Event] = []
        self._collect(body, found, nested=False, conditional=False, depth=depth)
        for order, event in enumerate(found):
            event.order = order
        return found

    def _collect(self, body: list[ast.stmt], out: list[Event], *, nested: bool, conditional: bool, depth: int) -> None:
        for statement in body:
            if isinstance(statement, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                continue
            flags = {"nested": nested, "conditional": conditional, "depth": depth}
            if isinstance(statement, ast.For | ast.AsyncFor | ast.While):
                self._expression_events(
                    statement.iter if not isinstance(statement, ast.While) else statement.test, out, **flags
                )
                self._collect(statement.body, out, **{**flags, "nested": True})
                self._collect(statement.orelse, out, **{**flags, "nested": True})
            elif isinstance(statement, ast.If):
                self._expression_events(statement.test, out, **flags)
                self._collect(statement.body, out, **{**flags, "conditional": True})
                self._collect(statement.orelse, out, **{**flags, "conditional": True})
            elif isinstance(statement, ast.With | ast.AsyncWith):
                for item in statement.items:
                    self._expression_events(item.context_expr, out, **flags)
                self._collect(statement.body, out, **flags)
            elif isinstance(statement, ast.Try):
                for part in (
                    statement.body,
                    handler_bodies(statement.handlers),
                    statement.orelse,
                    statement.finalbody,
                ):
                    self._collect(part, out, **flags)
            else:
                if isinstance(statement, ast.Assign) and sets_grad_none(statement):
                    out.append(Event(ZERO_GRAD, statement, 0, nested, conditional))
                self._expression_events(statement, out, **flags)

    def _expression_events(
        self, node: ast.AST, out: list[Event], *, nested: bool, conditional: bool, depth: int
    ) -> None:
        calls = sorted(
            (n for n in ast.walk(node) if isinstance(n, ast.Call)),
            key=lambda n: (n.end_lineno or 0, n.end_col_offset or 0),  # inner calls run first
        )
        for call in calls:
            func = call.func
            receiver = dotted(func.value) if isinstance(func, ast.Attribute) else None
            if isinstance(func, ast.Attribute) and func.attr in ("eval", "train"):
                receiver = dotted(strip_pass_through(func.value))  # model.to(device).train()
            attr = func.attr if isinstance(func, ast.Attribute) else dotted(func) or ""
            kind = None
            if attr == "zero_grad" or (attr == "zero_" and receiver and receiver.endswith(".grad")):
                kind = ZERO_GRAD
            elif attr == "backward" or dotted(func) == "torch.autograd.backward":
                kind = BACKWARD
            elif attr == "step" and self.facts.is_scheduler(receiver, call):
                kind = SCHED
            elif attr == "step" and (
                self.facts.is_optimizer(receiver, call) or SCALER_NAME.search(last_part(receiver))
            ):
                for arg in call.args:  # optimizer.step(closure): the closure runs inside step
                    closure = self.facts.resolve_function(arg)
                    if closure is not None and depth < 3:
                        self._collect(closure.body, out, nested=nested, conditional=conditional, depth=depth + 1)
                kind = STEP
                if SCALER_NAME.search(last_part(receiver)) and call.args:
                    receiver = dotted(call.args[0]) or receiver
            elif attr == "optimizer_step":
                kind, receiver = STEP, dotted(call.args[0]) if call.args else receiver
            elif attr == "eval" and not call.args and receiver:
                kind = EVAL
            elif attr == "train" and receiver and train_mode(call) is not None:
                kind = TRAIN if train_mode(call) else EVAL
            elif depth < 3 and (not isinstance(func, ast.Attribute) or receiver == "self"):
                callee = self.facts.resolve_function(func)
                if callee is not None:
                    self._collect(callee.body, out, nested=nested, conditional=conditional, depth=depth + 1)
            if kind is not None:
                out.append(Event(kind, call, 0, nested, conditional, receiver or ""))

    def trains(self, node: ast.AST) -> bool:
        """True when the body of the loop or function ``node`` calls backward(), step() or zero_grad()."""
        body = [*getattr(node, "body", []), *getattr(node, "orelse", [])]
        return any(e.kind in (BACKWARD, STEP, ZERO_GRAD) for e in self.events(body))

    def ancestors(self, node: ast.AST, owner: ast.AST) -> Iterator[ast.AST]:
        """The nodes containing ``node`` inside ``owner``, innermost first."""
        current = self.facts.parents.get(node)
        while current is not None and current is not owner:
            yield current
            current = self.facts.parents.get(current)

    def events_before(self, node: ast.AST, owner: ast.AST) -> list[Event]:
        """Events of ``owner`` that run before ``node`` on a first pass: the statements before it in
        each enclosing block, outermost first."""
        prefixes: list[list[ast.stmt]] = []
        for statement in (node, *self.ancestors(node, owner)):
            body = self.body_of(statement) if isinstance(statement, ast.stmt) else None
            if body is not None:
                prefixes.append(body[: body.index(statement)])
        return [event for prefix in reversed(prefixes) for event in self.events(prefix)]

    def events_after(self, node: ast.AST, owner: ast.AST) -> list[Event]:
        """Events of the statement holding ``node`` and of the statements after it in its block and
        the enclosing blocks, up to the innermost enclosing loop."""
        statement = self.enclosing_statement(node)
        suffixes: list[list[ast.stmt]] = [[statement] if statement is not None else []]
        for statement in (node, *self.ancestors(node, owner)):
            if isinstance(statement, ast.For | ast.AsyncFor | ast.While) and statement is not node:
                break
            body = self.body_of(statement) if isinstance(statement, ast.stmt) else None
            if body is not None:
                suffixes.append(body[body.index(statement) + 1 :])
        return [event for suffix in suffixes for event in self.events(suffix)]

    def mode_at(self, node: ast.AST, owner: ast.AST, depth: int = 0) -> str | None:
        """The mode (EVAL or TRAIN) the model is in when ``node`` first runs, judged by the order of
        the calls: the last ``.eval()``/``.train()`` that runs before it in ``owner`` (calls of local
        functions followed, wherever those are defined); when ``owner`` sets none, the mode at every
        call of ``owner`` in this file if they agree; None when unknown."""
        modes = [e.kind for e in self.events_before(node, owner) if e.kind in (EVAL, TRAIN)]
        if modes:
            return modes[-1]
        if not isinstance(owner, ast.FunctionDef | ast.AsyncFunctionDef) or depth >= 3:
            return None
        found = {self.mode_at(site, self.owner_of(site), depth + 1) for site in self.calls_of(owner)}
        return found.pop() if len(found) == 1 else None

    def calls_of(self, function: ast.FunctionDef | ast.AsyncFunctionDef) -> list[ast.Call]:
        """The calls of ``function`` in this file (``model.train()`` is not a call of a function ``train``)."""
        method = isinstance(self.facts.parents.get(function), ast.ClassDef)
        sites = self.facts.call_sites.get(function, [])
        return [site for site in sites if method or not isinstance(site.func, ast.Attribute)]

    def owner_of(self, node: ast.AST) -> ast.AST:
        """The innermost function containing ``node``, else the module."""
        return next(self.facts.enclosing_functions(node), self.tree)

    def is_model_call(self, node: ast.AST) -> bool:
        """A forward pass: a call of something bound to or named like a model (``net(x)``,
        ``model.forward(x)``); not a class being constructed (``Net()``) nor an activation module."""
        if not isinstance(node, ast.Call) or isinstance(node.func, ast.Call):
            return False
        if isinstance(node.func, ast.Name) and (node.func.id in self.facts.classes or node.func.id[:1].isupper()):
            return False  # Net(): a constructor
        bound = self.facts.binding(dotted(node.func), node.func) if dotted(node.func) else None
        if bound is not None and last_part(dotted(bound.func)) in ACTIVATION_MODULES:
            return False  # softmax = nn.Softmax(dim=1); softmax(x)
        return model_output_kind(self.facts, node.func) is not None

    def inside_loop(self, node: ast.AST) -> bool:
        current = self.facts.parents.get(node)
        while current is not None and not isinstance(current, ast.FunctionDef | ast.AsyncFunctionDef):
            if isinstance(current, ast.For | ast.AsyncFor | ast.While):
                return True
            current = self.facts.parents.get(current)
        return False
