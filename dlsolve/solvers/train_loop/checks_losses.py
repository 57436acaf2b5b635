"""The checks of losses and autograd: DL010 (argument order), DL020-DL023 (activation before or
missing from a loss), DL040 (loss tensor accumulated) and DL041 (backward on a tensor computed
without autograd), with their fixes.
"""

from __future__ import annotations

import ast

from dlsolve.solvers.train_loop.base import LoopAnalysis
from dlsolve.solvers.train_loop.edits import Edit
from dlsolve.solvers.train_loop.flow import Scope
from dlsolve.solvers.train_loop.vocabulary import (
    BACKWARD,
    BACKWARD_HELPER_NAME,
    FUNCTIONAL_MODULES,
    LOGITS_LOSS,
    SCHED,
    STEP,
    ZERO_GRAD,
    dotted,
    grad_switch,
    last_part,
)


class LossChecks(LoopAnalysis):
    """DL010, DL020-DL023, DL040, DL041."""

    def check_backward(self, call: ast.Call, scope: Scope) -> None:
        """DL041: ``backward()`` on a tensor computed with autograd off (it has no grad_fn: PyTorch
        raises "element 0 of tensors does not require grad"). ``backward()`` itself may run under
        no_grad: on a loss computed with autograd on it computes the same gradients."""
        func = call.func
        if not (isinstance(func, ast.Attribute) and func.attr == "backward"):
            return
        receiver = dotted(func.value) or ""
        by_argument = receiver in ("torch.autograd", "autograd") or bool(
            BACKWARD_HELPER_NAME.search(last_part(receiver))
        )
        tensor = (call.args[0] if call.args else None) if by_argument else func.value
        origin = scope.detached_origin(tensor)
        if tensor is None or origin is None:
            return
        computed = self.segment(origin).splitlines()[0]
        where = "" if self.facts.under_grad_off(origin) else " (its function is only called under no_grad)"
        self.report(
            "DL041",
            call,
            f"{self.segment(call)} differentiates {self.segment(tensor)}, which comes from `{computed}` "
            f"(line {origin.lineno}) computed under no_grad/inference_mode{where}: no grad_fn, backward() raises",
            self.autograd_fix(origin),
        )

    def autograd_fix(self, origin: ast.stmt) -> list[Edit]:
        """DL041's fix: remove the ``with torch.no_grad():`` line around ``origin`` and dedent its body,
        when that block only assigns names and trains (backward, step, zero_grad, scheduler step):
        the loss comes from it and no trainable module stands between (a model call would have
        given it a grad_fn), so its forward pass needs autograd; another name assigned there at
        worst costs memory. A block doing anything else (a manual update ``w -= lr * w.grad``, an
        append, an in-place op) or a decorated function is left alone: what should keep no_grad is
        a guess."""
        block = self.facts.parents.get(origin)
        if not (
            isinstance(block, ast.With)
            and len(block.items) == 1
            and block.items[0].optional_vars is None
            and grad_switch(block.items[0].context_expr) is False
            and self.owns_lines(block)
            and all(self.is_training_statement(statement) for statement in block.body)
        ):
            return []
        body_start = self.offset(block.body[0].lineno, 0)
        end = self.line_starts[block.end_lineno or block.lineno]
        lines = self.source[body_start:end].splitlines(keepends=True)
        extra = self.indent(block.body[0])[len(self.indent(block)) :]
        if not extra or not all(line.startswith(extra) or not line.strip() for line in lines):
            return []
        dedented = "".join(line.removeprefix(extra) for line in lines)
        return [Edit(self.offset(block.lineno, 0), end, dedented + ("" if dedented.endswith("\n") else "\n"))]

    def is_training_statement(self, statement: ast.stmt) -> bool:
        """An assignment to plain names, or a call of backward/step/zero_grad/scheduler step alone."""
        if isinstance(statement, ast.Assign | ast.AnnAssign):
            targets = statement.targets if isinstance(statement, ast.Assign) else [statement.target]
            elements = [e for t in targets for e in (t.elts if isinstance(t, ast.Tuple | ast.List) else [t])]
            return all(isinstance(element, ast.Name) for element in elements)
        if isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Call):
            kinds = {event.kind for event in self.events([statement])}
            return bool(kinds) and kinds <= {BACKWARD, STEP, ZERO_GRAD, SCHED}
        return False

    def check_loss_call(self, call: ast.Call, scope: Scope) -> None:
        loss = self.facts.loss_type(call.func)
        if loss is None or len(call.args) < 1:
            return
        name = self.segment(call.func)
        inputs = call.args[0] if call.args else None
        keyword_input = next((k.value for k in call.keywords if k.arg == "input"), None)
        if len(call.args) >= 2:
            first, second = scope.kind(call.args[0]), scope.kind(call.args[1])
            if first == "target" and second not in ("target", "input"):
                seg0, seg1 = self.segment(call.args[0]), self.segment(call.args[1])
                start = self.offset(call.args[0].lineno, call.args[0].col_offset)
                end = self.offset(call.args[1].end_lineno or 0, call.args[1].end_col_offset or 0)
                middle = self.source[
                    self.offset(call.args[0].end_lineno or 0, call.args[0].end_col_offset or 0) : self.offset(
                        call.args[1].lineno, call.args[1].col_offset
                    )
                ]
                self.report(
                    "DL010",
                    call,
                    f"{name}({seg0}, {seg1}) passes the targets first; expected {name}({seg1}, {seg0})",
                    [Edit(start, end, seg1 + middle + seg0)],
                )
                inputs = call.args[1]
        if keyword_input is not None:
            inputs = keyword_input
        kind = scope.kind(inputs)
        shown = self.segment(inputs) if inputs is not None else ""
        if loss == "CrossEntropyLoss" and kind == "softmax":
            message = f"{name}({shown}, ...) receives softmax probabilities, not logits"
            self.report("DL020", call, message, self.unwrap_activation(inputs))
        elif loss == "BCEWithLogitsLoss" and kind == "sigmoid":
            message = f"{name}({shown}, ...) receives sigmoid probabilities, not logits"
            self.report("DL021", call, message, self.unwrap_activation(inputs))
        elif loss == "NLLLoss" and kind in ("logits", "softmax", "sigmoid"):
            what = {"logits": "raw logits", "softmax": "softmax probabilities", "sigmoid": "sigmoid outputs"}[kind]
            message = f"{name}({shown}, ...) receives {what}, not log-probabilities"
            self.report("DL022", call, message, self.logits_loss_fix(call) if kind == "logits" else [])
        elif loss == "BCELoss" and kind == "logits":
            message = f"{name}({shown}, ...) receives raw logits, not probabilities"
            self.report("DL023", call, message, self.logits_loss_fix(call))

    def logits_loss_fix(self, call: ast.Call) -> list[Edit]:
        """DL022/DL023 on raw logits: the same loss taking logits. ``F.nll_loss(...)`` becomes
        ``F.cross_entropy(...)`` here; ``nn.NLLLoss()(...)`` inline too; a bound ``criterion =
        nn.NLLLoss()`` is remembered and renamed by :meth:`fix_logits_losses` if safe. A bare
        ``nll_loss`` import or ``torch.nll_loss`` has no fix (the new name may not be imported)."""
        func = call.func
        if isinstance(func, ast.Attribute) and func.attr in LOGITS_LOSS:
            module = dotted(func.value)
            if module not in FUNCTIONAL_MODULES or module == "torch":
                return []
            return [self.replace(func, f"{self.segment(func.value)}.{LOGITS_LOSS[func.attr]}")]
        constructor = func.func if isinstance(func, ast.Call) else None
        if constructor is not None:
            return self.rename_loss_class(constructor.func)
        bound = self.facts.binding(dotted(func), func)
        if bound is not None:
            self.logits_losses.setdefault(bound, []).append(call)
        return []

    def rename_loss_class(self, constructor: ast.expr) -> list[Edit]:
        """``nn.NLLLoss`` -> ``nn.CrossEntropyLoss``, ``nn.BCELoss`` -> ``nn.BCEWithLogitsLoss`` (same
        module; a bare imported ``BCELoss`` has no fix, the new name may not be imported)."""
        name = dotted(constructor)
        new_class = LOGITS_LOSS.get(last_part(name))
        if name is None or new_class is None or "." not in name:
            return []
        return [self.replace(constructor, f"{name.rpartition('.')[0]}.{new_class}")]

    def fix_logits_losses(self) -> None:
        """Rename the constructor of each loss flagged on raw logits when every use of the name it is
        bound to is one of the flagged calls (a use elsewhere, say on real probabilities or passed
        to a function, would change meaning: then no fix). A use is the same variable (same scope)
        or any name resolving to the constructor; a same-named local of another function is not."""
        for constructor, flagged in self.logits_losses.items():
            assignment = self.enclosing_statement(constructor)
            targets = [
                t for t in getattr(assignment, "targets", [getattr(assignment, "target", None)]) if t is not None
            ]
            names = {dotted(target) for target in targets}
            if len(names) != 1 or None in names:
                continue
            uses = [
                node
                for node in ast.walk(self.tree)
                if isinstance(node, ast.Name | ast.Attribute)
                and dotted(node) in names
                and node not in targets
                and (
                    self.facts.binding(dotted(node), node) is constructor
                    or (isinstance(node, ast.Name) and self.same_variable(node, targets[0]))
                )
            ]
            if all(any(node is call.func for call in flagged) for node in uses):
                self.edits.extend(self.rename_loss_class(constructor.func))

    def same_variable(self, name: ast.Name, target: ast.expr) -> bool:
        """True when ``name`` reads the variable the assignment target ``target`` binds (same scope)."""
        head = (dotted(target) or "").partition(".")[0]
        return name.id == head and self.facts.name_scope(head, name) is self.facts.name_scope(head, target)

    def check_accumulation(self, statement: ast.stmt, scope: Scope) -> None:
        if self.facts.under_grad_off(statement):
            return
        value: ast.expr | None = None
        if isinstance(statement, ast.AugAssign) and isinstance(statement.op, ast.Add):
            value = statement.value
        elif (
            isinstance(statement, ast.Assign)
            and isinstance(statement.value, ast.BinOp)
            and isinstance(statement.value.op, ast.Add)
            and dotted(statement.targets[0]) is not None
            and dotted(statement.targets[0]) == dotted(statement.value.left)
        ):
            value = statement.value.right
        elif (
            isinstance(statement, ast.Expr)
            and isinstance(statement.value, ast.Call)
            and isinstance(statement.value.func, ast.Attribute)
            and statement.value.func.attr == "append"
            and len(statement.value.args) == 1
        ):
            value = statement.value.args[0]
        if value is None or not isinstance(value, ast.Name | ast.Attribute) or scope.kind(value) != "loss":
            return
        if not self.inside_loop(statement):
            return
        shown = self.segment(value)
        self.report(
            "DL040",
            value,
            f"{self.segment(statement).splitlines()[0]} accumulates the loss tensor; use {shown}.item()",
            [
                Edit(
                    self.offset(value.lineno, value.col_offset),
                    self.offset(value.end_lineno or 0, value.end_col_offset or 0),
                    f"{shown}.item()",
                )
            ],
        )
