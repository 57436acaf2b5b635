"""The checks of evaluation: DL030 (no ``model.eval()``) and DL031 (no ``torch.no_grad()``), for
evaluation loops and for forward passes on held-out data or in evaluation functions.
"""

from __future__ import annotations

import ast

from dlsolve.solvers.train_loop.base import Event, LoopAnalysis
from dlsolve.solvers.train_loop.flow import Scope
from dlsolve.solvers.train_loop.modes import depends_on_mode
from dlsolve.solvers.train_loop.vocabulary import (
    BACKWARD,
    EVAL,
    EVAL_NAME,
    HELD_OUT_NAME,
    STEP,
    TRAIN,
    ZERO_GRAD,
    dotted,
    last_part,
    strip_pass_through,
)


def iterated_name(iterable: ast.expr | None) -> str:
    """The name of what a loop or comprehension iterates over: ``val_loader`` for ``val_loader``,
    ``enumerate(val_loader)`` or ``tqdm(val_loader)``; ``""`` when it has none."""
    if isinstance(iterable, ast.Call):
        return dotted(iterable.args[0]) or "" if iterable.args else dotted(iterable.func) or ""
    return dotted(iterable) or ""


class EvaluationChecks(LoopAnalysis):
    """DL030, DL031."""

    def check_evaluation_loop(self, owner: ast.AST, loop: ast.stmt, events: list[Event], scope: Scope) -> None:
        if any(e.kind in (BACKWARD, STEP, ZERO_GRAD) for e in events):
            return
        iterable = iterated_name(getattr(loop, "iter", None))
        function_name = getattr(owner, "name", "")
        if not (EVAL_NAME.search(iterable or "") or EVAL_NAME.search(function_name)):
            return
        model_call = self.first_model_call(loop, scope)
        if model_call is None:
            return
        model = dotted(model_call.func) or "model"
        if isinstance(model_call.func, ast.Attribute) and model_call.func.attr == "forward":
            model = dotted(model_call.func.value) or "model"
        grad_off = self.facts.runs_grad_off(model_call)
        eval_before = self.mode_at(model_call, owner) == EVAL
        statement = loop if self.owns_lines(loop) else None  # type: ignore[arg-type]
        if not eval_before and depends_on_mode(self.facts, model_call.func):
            edits = []
            if statement is not None:
                edits = [self.insert_before(statement, f"{model}.eval()")]
                if self.resumes_training(loop, owner):
                    edits.append(self.insert_after(statement, f"{model}.train()", self.indent(statement)))
            self.report(
                "DL030",
                loop,
                f"evaluation loop over {iterable or 'the data'} (line {loop.lineno}) calls {model}(...) "
                f"without {model}.eval() before it",
                edits,
            )
        if not grad_off:
            edits = [self.wrap_no_grad(statement)] if statement is not None else []
            self.report(
                "DL031",
                loop,
                f"evaluation loop over {iterable or 'the data'} (line {loop.lineno}) runs with autograd on "
                "(no torch.no_grad() or torch.inference_mode())",
                edits,
            )

    def check_evaluation_call(self, call: ast.Call, scope: Scope) -> None:
        """DL030/DL031 for a forward pass that evaluates outside an evaluation loop.

        It evaluates when it runs on held-out data (``model(x_val)``, ``net(test_images.to(device))``)
        or in a function named like ``evaluate``/``test``/``predict`` that never trains (no
        backward/step/zero_grad, calls followed). Not checked: calls inside a loop that does not
        train (the evaluation-loop rule's), in a model's own methods or pytest tests (``test_*``),
        or followed by a backward() in the same block (input gradients on a test image need autograd).
        """
        owner = scope.owner
        function = owner if isinstance(owner, ast.FunctionDef | ast.AsyncFunctionDef) else None
        if not self.is_model_call(call) or (
            function is not None and (self.in_model_class(function) or function.name.startswith("test_"))
        ):
            return  # a model's own method, or a pytest test
        loops = [a for a in self.ancestors(call, owner) if isinstance(a, ast.For | ast.AsyncFor | ast.While)]
        if not all(self.trains(loop) for loop in loops):
            return
        data = strip_pass_through(call.args[0]) if call.args else None
        held_out = bool(HELD_OUT_NAME.search(last_part(dotted(data))))
        over = next(  # [model(x) for x, y in val_loader]: an evaluation loop written as a comprehension
            (
                name
                for a in self.ancestors(call, owner)
                if isinstance(a, ast.ListComp | ast.SetComp | ast.DictComp | ast.GeneratorExp)
                for name in (iterated_name(g.iter) for g in a.generators)
                if EVAL_NAME.search(name)
            ),
            "",
        )
        evaluating_function = (
            function is not None and bool(EVAL_NAME.search(function.name)) and not self.trains(function)
        )
        if not (held_out or over or evaluating_function) or any(
            e.kind == BACKWARD for e in self.events_after(call, owner)
        ):
            return
        model = dotted(
            call.func.value if isinstance(call.func, ast.Attribute) and call.func.attr == "forward" else call.func
        )
        model = model or "model"
        in_eval = self.in_eval_mode(call, function) or not depends_on_mode(self.facts, call.func)
        anchor = self.evaluation_statement(call, owner)
        movable = anchor is not None and self.owns_lines(anchor)
        context = f"in {owner.name}()" if evaluating_function else f"over {over}"  # type: ignore[attr-defined]
        if held_out and data is not None:
            context = f"on held-out {self.segment(data)}"
        what = f"{self.segment(call)} (line {call.lineno}) evaluates {model} {context}"
        if not in_eval:
            edits = []
            if anchor is not None and movable:
                edits = [self.insert_before(anchor, f"{model}.eval()")]
                if self.resumes_training(anchor, owner):
                    edits.append(self.insert_after(anchor, f"{model}.train()", self.indent(anchor)))
            self.report("DL030", call, f"{what} without {model}.eval() before it", edits)
        if not self.facts.runs_grad_off(call):
            edits = [self.wrap_no_grad(anchor)] if anchor is not None and movable else []
            self.report("DL031", call, f"{what} with autograd on (no torch.no_grad() or torch.inference_mode())", edits)

    def resumes_training(self, evaluation: ast.stmt, owner: ast.AST) -> bool:
        """True when training may run after the statement ``evaluation`` (inside a loop of ``owner``,
        or in a function, whose caller may train next) and it does not return: then DL030's fix gives
        training mode back right after it, so that the fix does not cause DL032."""
        returns = any(isinstance(node, ast.Return) for node in ast.walk(evaluation))
        loops = any(isinstance(a, ast.For | ast.AsyncFor | ast.While) for a in self.ancestors(evaluation, owner))
        return not returns and (loops or isinstance(owner, ast.FunctionDef | ast.AsyncFunctionDef))

    def in_eval_mode(self, call: ast.Call, function: ast.FunctionDef | ast.AsyncFunctionDef | None) -> bool:
        """True when the model is in evaluation mode at ``call`` (:meth:`mode_at`), or, for a function
        that sets no mode and is never called here (a web handler), when the module's code leaves it
        so (``model.eval()`` after loading it)."""
        mode = self.mode_at(call, function or self.tree)
        if mode is None and function is not None and not self.calls_of(function):
            module_modes = [e.kind for e in self.events(self.tree.body) if e.kind in (EVAL, TRAIN)]
            return bool(module_modes) and module_modes[-1] == EVAL
        return mode == EVAL

    def in_model_class(self, function: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
        """True for a method of an ``nn.Module``-like class (its mode is the caller's business)."""
        cls = self.facts.enclosing_class(function.body[0])
        return cls is not None and self.facts.is_module_class(cls)

    def evaluation_statement(self, call: ast.Call, owner: ast.AST) -> ast.stmt | None:
        """The largest statement around ``call`` that does not train, below the innermost loop or
        ``owner``: where ``model.eval()`` goes and what ``torch.no_grad()`` wraps."""
        found = self.enclosing_statement(call)
        for ancestor in self.ancestors(call, owner):
            if isinstance(ancestor, ast.For | ast.AsyncFor | ast.While | ast.FunctionDef | ast.AsyncFunctionDef):
                break
            if isinstance(ancestor, ast.stmt) and ancestor is not found:
                if any(e.kind in (BACKWARD, STEP, ZERO_GRAD) for e in self.events([ancestor])):
                    break
                found = ancestor
        return found

    def first_model_call(self, loop: ast.stmt, scope: Scope) -> ast.Call | None:
        """The first call of a model in the body of ``loop`` (not in its iterable)."""
        body = [*getattr(loop, "body", []), *getattr(loop, "orelse", [])]
        return next((n for statement in body for n in ast.walk(statement) if self.is_model_call(n)), None)  # type: ignore[return-value]
