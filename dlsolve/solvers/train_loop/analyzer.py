"""``train-loop``'s analysis of one file: every check over every function body, and the entry point
:func:`analyze` (findings and the corrected source)."""

from __future__ import annotations

import ast

from dlsolve.errors import BadInput
from dlsolve.solvers.train_loop.checks_evaluation import EvaluationChecks
from dlsolve.solvers.train_loop.checks_losses import LossChecks
from dlsolve.solvers.train_loop.checks_training import TrainingChecks
from dlsolve.solvers.train_loop.flow import Scope
from dlsolve.solvers.train_loop.rules import Finding


class Analyzer(TrainingChecks, EvaluationChecks, LossChecks):
    """Runs every rule over one file; collects findings and mechanical edits."""

    def run(self) -> list[Finding]:
        scopes: list[ast.Module | ast.FunctionDef | ast.AsyncFunctionDef] = [self.tree]
        scopes += [n for n in ast.walk(self.tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)]
        for owner in scopes:
            self.check_scope(owner)
        self.fix_logits_losses()
        return sorted(self.findings.values(), key=lambda f: (f.line, f.col, f.rule))

    def check_scope(self, owner: ast.Module | ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        scope = Scope(self.facts, owner)
        for statement in scope.statements():
            if isinstance(statement, ast.For | ast.AsyncFor | ast.While):
                loop_events = self.events(statement.body)
                self.check_training_loop(owner, statement, loop_events)
                self.check_scheduler(statement, loop_events)
                self.check_mode_switch(statement, loop_events)
                self.check_evaluation_loop(owner, statement, loop_events, scope)
            self.check_expressions(statement, scope)
            scope.update(statement)

    def has_training_code(self) -> bool:
        """True when some call is one the rules look at: backward(), an optimizer or scheduler step,
        zero_grad(), model.eval()/.train(), a loss or a model."""
        events = self.events(self.tree.body) or any(
            self.events(function.body) for function in self.facts.functions.values()
        )
        return bool(events) or any(
            isinstance(node, ast.Call) and (self.facts.loss_type(node.func) is not None or self.is_model_call(node))
            for node in ast.walk(self.tree)
        )

    def check_expressions(self, statement: ast.stmt, scope: Scope) -> None:
        """Loss-call rules (argument order, activations) and loss accumulation, on one statement."""
        if isinstance(statement, ast.For | ast.AsyncFor | ast.While | ast.If | ast.With | ast.AsyncWith | ast.Try):
            roots: list[ast.AST] = [getattr(statement, "iter", None) or getattr(statement, "test", None) or statement]
            if isinstance(statement, ast.With | ast.AsyncWith):
                roots = [item.context_expr for item in statement.items]
            if isinstance(statement, ast.Try):
                roots = []
        elif isinstance(statement, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            roots = []
        else:
            roots = [statement]
        for root in roots:
            for node in ast.walk(root):
                if isinstance(node, ast.Call):
                    self.check_loss_call(node, scope)
                    self.check_backward(node, scope)
                    self.check_evaluation_call(node, scope)
        self.check_accumulation(statement, scope)


def parse_source(source: str, filename: str) -> ast.Module:
    """Parse Python text; a syntax error is bad input with its location (exit 2)."""
    try:
        return ast.parse(source, filename=filename)
    except SyntaxError as error:
        where = f"{filename}:{error.lineno}:{error.offset}" if error.lineno else filename
        raise BadInput(f"{where}: cannot parse Python: {error.msg}", option="FILE") from None
    except (ValueError, MemoryError, RecursionError) as error:
        raise BadInput(f"{filename}: cannot parse Python: {error}", option="FILE") from None


class Report:
    """What :func:`inspect_source` found: the findings (sorted by line), the corrected source, and
    whether the file has any training or evaluation code for the rules to look at."""

    def __init__(self, findings: list[Finding], corrected: str, has_training_code: bool) -> None:
        self.findings = findings
        self.corrected = corrected
        self.has_training_code = has_training_code


def inspect_source(source: str, filename: str = "<stdin>") -> Report:
    """Parse ``source`` (never run it), run every rule and apply the mechanical fixes."""
    tree = parse_source(source, filename)
    try:
        analyzer = Analyzer(source, filename, tree)
        findings = analyzer.run()
        has_code = analyzer.has_training_code()
    except RecursionError:
        raise BadInput(f"{filename}: the code is nested too deeply to analyse", option="FILE") from None
    return Report(findings, analyzer.corrected(), has_code)


def analyze(source: str, filename: str = "<stdin>") -> tuple[list[Finding], str]:
    """Findings for ``source`` and the corrected source (mechanical fixes applied)."""
    report = inspect_source(source, filename)
    return report.findings, report.corrected
