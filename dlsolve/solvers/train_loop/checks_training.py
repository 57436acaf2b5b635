"""The checks of the optimisation loop: DL001-DL005 (zero_grad, backward, step and their order),
DL032 (training resumes in evaluation mode) and DL042 (scheduler before optimizer).
"""

from __future__ import annotations

import ast

from dlsolve.solvers.train_loop.base import Event, LoopAnalysis
from dlsolve.solvers.train_loop.edits import Edit
from dlsolve.solvers.train_loop.modes import depends_on_mode
from dlsolve.solvers.train_loop.vocabulary import (
    BACKWARD,
    EVAL,
    SCHED,
    STEP,
    TRAIN,
    ZERO_GRAD,
    dotted,
    strip_pass_through,
)


class TrainingChecks(LoopAnalysis):
    """DL001-DL005, DL032, DL042."""

    def check_training_loop(self, owner: ast.AST, loop: ast.stmt, events: list[Event]) -> None:
        direct = [e for e in events if not e.nested]
        backwards = [e for e in direct if e.kind == BACKWARD]
        steps = [e for e in direct if e.kind == STEP]
        zeros = [e for e in direct if e.kind == ZERO_GRAD]
        if not steps and not backwards:
            return
        if steps and not any(e.kind == BACKWARD for e in events) and self.computes_loss(loop):
            message = f"{self.segment(steps[0].node)} in a loop with no backward() call"
            self.report("DL005", steps[0].node, message, self.backward_fix(loop, steps[0], events))
            return
        if not steps or not backwards:
            return
        optimizer = steps[0].receiver or "optimizer"
        first_backward = backwards[0]
        backward_statement = self.statement_of(first_backward.node)
        if not zeros and not any(e.kind == ZERO_GRAD for e in events):
            before = self.zero_grads_before(owner, loop)
            if before:
                outside = before[-1]
                edits = []
                statement = self.statement_of(outside.node)
                here = self.owner_of(outside.node) is self.owner_of(loop)  # not in a helper it calls
                if statement is not None and backward_statement is not None and here:
                    edits = [
                        self.delete_statement(statement),
                        self.insert_before(backward_statement, self.segment(statement)),
                    ]
                self.report(
                    "DL004",
                    outside.node,
                    f"{self.segment(outside.node)} runs once before the loop at line {loop.lineno}; "
                    "gradients accumulate over all its iterations",
                    edits,
                )
            else:
                edits = []
                if backward_statement is not None:
                    edits = [self.insert_before(backward_statement, f"{optimizer}.zero_grad()")]
                self.report(
                    "DL001",
                    loop,
                    f"the loop at line {loop.lineno} calls backward() and {optimizer}.step() "
                    "but never zero_grad(): gradients accumulate",
                    edits,
                )
        for zero in zeros:
            before_zero = [b for b in backwards if b.order < zero.order]
            after = [s for s in steps if s.order > zero.order]
            if before_zero and after and not any(zero.order < b.order < after[0].order for b in backwards):
                statement = self.statement_of(zero.node)
                anchor = self.statement_of(before_zero[-1].node)
                edits = []
                if statement is not None and anchor is not None:
                    edits = [self.delete_statement(statement), self.insert_before(anchor, self.segment(statement))]
                self.report(
                    "DL002",
                    zero.node,
                    f"{self.segment(zero.node)} (line {zero.node.lineno}) comes after backward() "  # type: ignore[attr-defined]
                    f"(line {before_zero[-1].node.lineno}) and before step() (line {after[0].node.lineno}): "  # type: ignore[attr-defined]
                    "step() sees zero gradients",
                    edits,
                )
        if steps[0].order < backwards[0].order and steps[-1].order < backwards[-1].order:
            statement = self.statement_of(steps[0].node)
            anchor = self.statement_of(backwards[-1].node)
            edits = []
            if statement is not None and anchor is not None and len(steps) == 1:
                edits = [
                    self.delete_statement(statement),
                    self.insert_after(anchor, self.segment(statement), self.indent(anchor)),
                ]
            self.report(
                "DL003",
                steps[0].node,
                f"{self.segment(steps[0].node)} (line {steps[0].node.lineno}) runs before backward() "  # type: ignore[attr-defined]
                f"(line {backwards[0].node.lineno}) in each iteration",  # type: ignore[attr-defined]
                edits,
            )

    def backward_fix(self, loop: ast.stmt, step: Event, events: list[Event]) -> list[Edit]:
        """DL005's fix: ``loss.backward()`` just before the step, when the loop assigns exactly one
        name from a loss call, in the step's own block before it, with autograd on, and already calls
        zero_grad(). Several losses (a GAN), a conditional step (accumulation) or no zero_grad():
        which loss, where, is a guess."""
        statement = self.statement_of(step.node)
        body = self.body_of(statement) if statement is not None else None
        if statement is None or body is None or not any(e.kind == ZERO_GRAD for e in events):
            return []
        assignments = [
            node
            for node in ast.walk(loop)
            if isinstance(node, ast.Assign)
            and any(isinstance(n, ast.Call) and self.facts.loss_type(n.func) is not None for n in ast.walk(node.value))
        ]
        names = {dotted(target) for assignment in assignments for target in assignment.targets}
        if len(names) != 1 or not all(isinstance(t, ast.Name) for a in assignments for t in a.targets):
            return []
        before = body[: body.index(statement)]
        if not any(a in before for a in assignments) or any(self.facts.runs_grad_off(a) for a in assignments):
            return []
        return [self.insert_before(statement, f"{names.pop()}.backward()")]

    def computes_loss(self, loop: ast.stmt) -> bool:
        """True when the body of ``loop`` calls a loss function (so it is a training loop)."""
        body = [*getattr(loop, "body", []), *getattr(loop, "orelse", [])]
        return any(
            isinstance(node, ast.Call) and self.facts.loss_type(node.func) is not None
            for statement in body
            for node in ast.walk(statement)
        )

    def zero_grads_before(self, owner: ast.AST, loop: ast.stmt) -> list[Event]:
        """zero_grad() calls of ``owner`` that run before ``loop`` starts, in the order of the calls."""
        return [event for event in self.events_before(loop, owner) if event.kind == ZERO_GRAD]

    def check_scheduler(self, loop: ast.stmt, events: list[Event]) -> None:
        steps = [e for e in events if e.kind == STEP]
        direct_schedulers = [e for e in events if e.kind == SCHED and not e.nested]
        if not steps:
            return
        for scheduler in direct_schedulers:
            if scheduler.order < steps[0].order:
                statement = self.statement_of(scheduler.node)
                body = self.body_of(statement) if statement is not None else None
                anchor = self.ancestor_in(steps[-1].node, body) if body is not None else None
                edits = []
                if statement is not None and anchor is not None and anchor is not statement:
                    edits = [
                        self.delete_statement(statement),
                        self.insert_after(anchor, self.segment(statement), self.indent(statement)),
                    ]
                self.report(
                    "DL042",
                    scheduler.node,
                    f"{self.segment(scheduler.node)} (line {scheduler.node.lineno}) runs before "  # type: ignore[attr-defined]
                    f"{self.segment(steps[0].node)} (line {steps[0].node.lineno}) in the same iteration",  # type: ignore[attr-defined]
                    edits,
                )

    def check_mode_switch(self, loop: ast.For | ast.AsyncFor | ast.While, events: list[Event]) -> None:
        evals = [e for e in events if e.kind == EVAL]
        trains = [e for e in events if e.kind == TRAIN]
        trains_model = any(e.kind in (BACKWARD, STEP) for e in events)
        if not evals or trains or not trains_model:
            return
        receiver = evals[0].node.func.value if isinstance(evals[0].node.func, ast.Attribute) else None  # type: ignore[attr-defined]
        if receiver is not None and not depends_on_mode(self.facts, strip_pass_through(receiver)):
            return  # no dropout or batch norm: the mode changes nothing
        model = evals[0].receiver or "model"
        first = loop.body[0]
        edits = []
        if first.lineno > loop.lineno:
            edits = [self.insert_before(first, f"{model}.train()")]
        self.report(
            "DL032",
            loop,
            f"the loop at line {loop.lineno} trains and calls {self.segment(evals[0].node)} "
            f"(line {evals[0].node.lineno}) but never {model}.train(): "  # type: ignore[attr-defined]
            "from the second iteration on it trains in evaluation mode",
            edits,
        )
