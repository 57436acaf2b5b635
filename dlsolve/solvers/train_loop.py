"""Static analysis of PyTorch training code (``dlsolve train-loop``): find the classic loop bugs.

The code is parsed with :mod:`ast` and never imported or run. The analysis is heuristic but
conservative: a rule fires only on a pattern it recognises (names bound to ``nn.*Loss()``,
``torch.optim.*``, ``lr_scheduler.*`` or conventional names such as ``criterion``, ``optimizer``,
``model``; data flow from the loader's ``(inputs, targets)`` tuple through ``.to(device)`` and
friends). Calls to functions defined in the same file are followed (inlined, three levels deep),
so ``for epoch ...: train(...); test(...)`` is analysed as one loop.

Rule codes are stable (see :data:`RULES`):

* DL001 ``zero_grad()`` missing from a loop that calls ``backward()`` and ``step()``.
* DL002 ``zero_grad()`` between ``backward()`` and ``step()``: the step sees zero gradients.
* DL003 ``step()`` before ``backward()`` in the loop body.
* DL004 ``zero_grad()`` only outside the loop: gradients accumulate over iterations.
* DL005 ``step()`` in a loop with no ``backward()``.
* DL010 loss arguments in the wrong order: PyTorch losses take ``(input, target)``.
* DL020 softmax before ``CrossEntropyLoss`` (it applies log-softmax itself).
* DL021 sigmoid before ``BCEWithLogitsLoss`` (it applies the sigmoid itself).
* DL022 ``NLLLoss`` on outputs that are not log-probabilities (log-softmax missing).
* DL023 ``BCELoss`` on raw logits (sigmoid missing).
* DL030 evaluation without ``model.eval()``: an evaluation loop, a forward pass on held-out data
  (``model(x_val)``) or in a function named like ``evaluate``/``predict`` that never trains.
* DL031 the same evaluation without ``torch.no_grad()`` / ``torch.inference_mode()``.
* DL032 training resumes after ``model.eval()`` without ``model.train()``.
* DL040 the loss tensor accumulated (``total += loss``) instead of ``loss.item()``.
* DL041 ``backward()`` on a loss computed under ``torch.no_grad()``/``inference_mode()`` (or from
  model outputs computed there).
* DL042 ``scheduler.step()`` before ``optimizer.step()`` in the same iteration.
"""

from __future__ import annotations

import ast
import difflib
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from dlsolve.errors import BadInput
from dlsolve.solution import Solution, Step, Table


@dataclass(frozen=True)
class Rule:
    """A rule: stable code, short name, why it matters, how to fix it."""

    code: str
    name: str
    why: str
    fix: str


RULES: dict[str, Rule] = {
    rule.code: rule
    for rule in (
        Rule(
            "DL001",
            "zero-grad-missing",
            "backward() adds to .grad; without zero_grad() each step uses the sum of all past gradients.",
            "call optimizer.zero_grad() once per iteration, before loss.backward().",
        ),
        Rule(
            "DL002",
            "zero-grad-between-backward-and-step",
            "zero_grad() after backward() erases the gradients just computed, so step() updates with zeros.",
            "move optimizer.zero_grad() before loss.backward() (or after optimizer.step()).",
        ),
        Rule(
            "DL003",
            "step-before-backward",
            "step() uses the gradients present when it is called: before backward() they are stale or zero.",
            "call optimizer.step() after loss.backward().",
        ),
        Rule(
            "DL004",
            "zero-grad-outside-loop",
            "zero_grad() runs once, so gradients accumulate over every iteration of the loop "
            "(gradient accumulation needs zero_grad() inside the loop, after each conditional step()).",
            "move optimizer.zero_grad() into the loop, before loss.backward().",
        ),
        Rule(
            "DL005",
            "backward-missing",
            "without loss.backward() no gradient is computed and step() changes nothing.",
            "call loss.backward() before optimizer.step().",
        ),
        Rule(
            "DL010",
            "loss-argument-order",
            "PyTorch losses take (input, target): predictions first, targets second; "
            "swapped, CrossEntropyLoss/NLLLoss/BCE fail or compute a different quantity.",
            "call loss_fn(predictions, targets).",
        ),
        Rule(
            "DL020",
            "softmax-before-cross-entropy",
            "CrossEntropyLoss applies log-softmax to raw logits itself; a softmax before it squashes the "
            "logits, shrinks the gradients and slows or stalls training.",
            "pass the raw logits to CrossEntropyLoss (remove the softmax).",
        ),
        Rule(
            "DL021",
            "sigmoid-before-bce-with-logits",
            "BCEWithLogitsLoss applies the sigmoid itself; a sigmoid before it applies it twice.",
            "pass the raw logits to BCEWithLogitsLoss (remove the sigmoid), or use BCELoss on probabilities.",
        ),
        Rule(
            "DL022",
            "nll-without-log-softmax",
            "NLLLoss expects log-probabilities; on logits or probabilities it is not the cross-entropy.",
            "apply F.log_softmax(outputs, dim=1) before NLLLoss, or use CrossEntropyLoss on the logits.",
        ),
        Rule(
            "DL023",
            "bce-without-sigmoid",
            "BCELoss expects probabilities in [0, 1]; raw logits make it fail or be wrong.",
            "use BCEWithLogitsLoss on the logits (numerically stable) or apply torch.sigmoid first.",
        ),
        Rule(
            "DL030",
            "eval-without-model-eval",
            "in training mode dropout stays active and batch norm uses and updates batch statistics, "
            "so evaluation metrics are noisy and the running statistics change.",
            "call model.eval() before evaluating (and model.train() before training resumes).",
        ),
        Rule(
            "DL031",
            "eval-without-no-grad",
            "without torch.no_grad() autograd records every operation: memory and time are wasted.",
            "wrap the evaluation in `with torch.no_grad():` (or torch.inference_mode()), or decorate the "
            "evaluation function with @torch.no_grad().",
        ),
        Rule(
            "DL032",
            "train-after-eval-without-model-train",
            "after model.eval() the next epoch trains with dropout off and frozen batch-norm statistics.",
            "call model.train() at the start of each training epoch.",
        ),
        Rule(
            "DL040",
            "loss-tensor-accumulated",
            "adding the loss tensor keeps every iteration's autograd graph alive (memory grows each step).",
            "accumulate loss.item() (a Python float) instead.",
        ),
        Rule(
            "DL041",
            "backward-under-no-grad",
            "a tensor computed under torch.no_grad()/inference_mode() has no grad_fn, nor has a loss computed "
            "from it: backward() raises 'element 0 of tensors does not require grad' (backward() itself may "
            "run under no_grad; the forward pass may not).",
            "compute the forward pass and the loss with autograd on (outside the no_grad block); keep no_grad "
            "for evaluation and for inputs that need no gradient (frozen features, teacher outputs).",
        ),
        Rule(
            "DL042",
            "scheduler-step-before-optimizer-step",
            "since PyTorch 1.1 scheduler.step() must follow optimizer.step(); before it, the first "
            "learning rate of the schedule is skipped (PyTorch warns).",
            "call scheduler.step() after optimizer.step().",
        ),
    )
}


@dataclass(frozen=True)
class Finding:
    """One problem found: where, which rule, and a message specific to this code."""

    file: str
    line: int
    col: int
    rule: str
    message: str

    def to_dict(self) -> dict[str, Any]:
        """The JSON form: file, line, col (1-based), rule, message, why, fix."""
        rule = RULES[self.rule]
        return {
            "file": self.file,
            "line": self.line,
            "col": self.col,
            "rule": self.rule,
            "message": self.message,
            "why": rule.why,
            "fix": rule.fix,
        }


@dataclass(frozen=True)
class Edit:
    """Replace source characters ``[start, end)`` by ``text`` (absolute offsets)."""

    start: int
    end: int
    text: str


# --------------------------------------------------------------------------- vocabulary

LOSS_FUNCTIONS = {
    "cross_entropy": "CrossEntropyLoss",
    "nll_loss": "NLLLoss",
    "binary_cross_entropy_with_logits": "BCEWithLogitsLoss",
    "binary_cross_entropy": "BCELoss",
    "mse_loss": "MSELoss",
    "l1_loss": "L1Loss",
    "smooth_l1_loss": "SmoothL1Loss",
    "huber_loss": "HuberLoss",
    "kl_div": "KLDivLoss",
    "cosine_embedding_loss": "CosineEmbeddingLoss",
    "margin_ranking_loss": "MarginRankingLoss",
    "multi_margin_loss": "MultiMarginLoss",
    "poisson_nll_loss": "PoissonNLLLoss",
    "gaussian_nll_loss": "GaussianNLLLoss",
}
#: The loss that takes raw logits for one that needs log-probabilities / probabilities. Their
#: constructors and functional forms take the same arguments in the same order (plus one more at
#: the end), and on logits they compute exactly ``NLLLoss(log_softmax)`` / ``BCELoss(sigmoid)``.
LOGITS_LOSS = {
    "NLLLoss": "CrossEntropyLoss",
    "BCELoss": "BCEWithLogitsLoss",
    "nll_loss": "cross_entropy",
    "binary_cross_entropy": "binary_cross_entropy_with_logits",
}
FUNCTIONAL_MODULES = {"F", "functional", "torch.nn.functional", "nn.functional", "torch"}
LOSS_NAME = re.compile(r"^(criterion|crit|loss_?fn|loss_?func(tion)?|lossfunc|loss_f|objective|loss_?module)\w*$", re.I)
OPTIMIZER_NAME = re.compile(r"(^|_)(opt|optim|optimizer|optimiser)(_|$|\d)|^opt[a-z]?$", re.I)
SCHEDULER_NAME = re.compile(r"sched", re.I)
SCALER_NAME = re.compile(r"scaler", re.I)
#: Objects whose ``.backward(loss)`` differentiates the argument (Accelerate, Lightning Fabric).
BACKWARD_HELPER_NAME = re.compile(r"accelerat|fabric", re.I)
MODEL_NAME = re.compile(
    r"^(model|net|network|classifier|encoder|decoder|backbone|cnn|mlp|generator|discriminator|"
    r"student|teacher|ddp_model)\w*$|_(model|net)$",
    re.I,
)
TARGET_NAME = re.compile(
    r"^(y|yb|y_?true|y_?batch|y_?train|y_?test|y_?val|labels?|targets?|tgts?|lbls?|gt|ground_?truth|"
    r"true_?labels?|batch_?labels?|batch_?targets?|\w+_labels?|\w+_targets?)$",
    re.I,
)
PRED_NAME = re.compile(
    r"^(preds?|predictions?|predicted|outputs?|out|logits|y_?hat|yhat|y_?pred|scores|y_?logits)$", re.I
)
LOADER_NAME = re.compile(r"loader|(^|_)dl($|_)|batches|data|dataset|iter|train|test|val|valid|eval|dev", re.I)
EVAL_NAME = re.compile(r"test|val|valid|eval|dev|infer|predict|score|accuracy", re.I)
#: Held-out data: ``x_val``, ``X_test``, ``val_images``, ``test_data``, ``xtest``.
HELD_OUT_NAME = re.compile(
    r"(^|_)(val|valid|validation|test|testing|eval|dev|holdout)(_|\d|$|set|data|images?|inputs?|x)|^x_?(val|test)", re.I
)
PASS_THROUGH = {
    "to",
    "cuda",
    "cpu",
    "float",
    "double",
    "half",
    "long",
    "int",
    "bfloat16",
    "view",
    "reshape",
    "squeeze",
    "unsqueeze",
    "flatten",
    "contiguous",
    "type",
    "clone",
    "permute",
    "transpose",
    "view_as",
    "reshape_as",
    "requires_grad_",
    "type_as",
    "pin_memory",
}
#: Names of batch objects whose ``.x``/``.y`` are inputs/targets (PyTorch Geometric style).
BATCH_NAMES = {"batch", "data", "sample", "graph", "minibatch"}
TARGET_KEYS = {"label", "labels", "target", "targets", "y", "tgt", "class", "classes"}
INPUT_KEYS = {"input", "inputs", "x", "image", "images", "img", "imgs", "data", "input_ids", "pixel_values"}
MODEL_WRAPPERS = {"DataParallel", "DistributedDataParallel", "compile"}
GRAD_OFF = {"no_grad", "inference_mode"}
#: Kinds of value that are network outputs (activation known or not).
PRED_KINDS = {"pred", "logits", "softmax", "logsoftmax", "sigmoid"}

# Event kinds of the linearised loop bodies.
ZERO_GRAD, BACKWARD, STEP, SCHED, EVAL, TRAIN = "zero_grad", "backward", "step", "sched", "eval", "train"


def dotted(node: ast.AST | None) -> str | None:
    """``a.b.c`` for a Name/Attribute chain, else None."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
        return ".".join(reversed(parts))
    return None


def last_part(name: str | None) -> str:
    return name.rsplit(".", 1)[-1] if name else ""


def strip_pass_through(node: ast.expr) -> ast.expr:
    """``Net().to(device)`` -> ``Net()``; ``nn.DataParallel(Net())`` -> ``Net()``."""
    while isinstance(node, ast.Call):
        func = node.func
        if isinstance(func, ast.Attribute) and func.attr in PASS_THROUGH:
            node = func.value
        elif last_part(dotted(func)) in MODEL_WRAPPERS and node.args:
            node = node.args[0]
        else:
            break
    return node


def binding_kind(call: ast.Call) -> tuple[str, str]:
    """What makes two bound objects the same for the rules: the constructor, and for a
    ``Sequential`` the constructor of its last layer (``nn.Softmax`` or not)."""
    constructor = dotted(call.func) or ""
    last = strip_pass_through(call.args[-1]) if call.args and last_part(constructor) == "Sequential" else None
    return constructor, (dotted(last.func) or "") if isinstance(last, ast.Call) else ""


# --------------------------------------------------------------------------- module facts


@dataclass
class Event:
    """A training-relevant call in a linearised loop body."""

    kind: str
    node: ast.AST
    order: int
    nested: bool = False  # inside a loop nested in the loop analysed
    conditional: bool = False
    receiver: str = ""


@dataclass
class ModuleFacts:
    """What the whole file tells us: constructor bindings, functions, classes, parents.

    Functions are keyed by qualified name (``train``, ``Trainer.train_step``, ``main.step``) and
    ``self.x`` bindings by their class, so two classes' ``train_step`` methods (or ``self.loss_fn``
    attributes) never mix their facts: a call is resolved from where it is written.

    Plain names are scoped as Python scopes them: a name assigned in a function (not declared
    ``global``/``nonlocal``) is local to it, so two functions' ``criterion`` never mix; a name only
    read there is the enclosing function's (a closure) or the module's. A parameter with no binding
    of its own takes the object the calls of its function in this file pass (positionally, by keyword
    or as the default; :meth:`passed_binding`): when they all pass the same kind of object, that one;
    when they differ, none (unknown); when the function is never called here, the name's binding
    anywhere in the file (the caller usually passes ``criterion`` as ``criterion``).
    """

    tree: ast.Module
    source: str
    #: Constructor calls bound to plain names and non-``self`` attributes (``criterion``, ``args.opt``),
    #: keyed by the scope (module, function or class body) owning the name's first part.
    bindings: dict[tuple[ast.AST, str], ast.Call] = field(default_factory=dict)
    #: The same bindings by name alone, the last one in walk order (file-wide): only for values
    #: whose scope is unknown (a parameter with no binding in reach, ``self.model = model``).
    by_name: dict[str, ast.Call] = field(default_factory=dict)
    #: Names each function or class body binds (assignments, loop and ``with`` targets, parameters,
    #: imports), less those declared ``global``/``nonlocal``; a function's parameters; its ``global`` names.
    local_names: dict[ast.AST, set[str]] = field(default_factory=dict)
    parameters: dict[ast.AST, set[str]] = field(default_factory=dict)
    global_names: dict[ast.AST, set[str]] = field(default_factory=dict)
    #: Constructor calls bound to ``self.x`` inside a class: ``(class name, "self.x")``.
    attributes: dict[tuple[str, str], ast.Call] = field(default_factory=dict)
    functions: dict[str, ast.FunctionDef | ast.AsyncFunctionDef] = field(default_factory=dict)
    classes: dict[str, ast.ClassDef] = field(default_factory=dict)
    parents: dict[ast.AST, ast.AST] = field(default_factory=dict)
    #: The calls of each function defined in the file, resolved as :meth:`resolve_function` does.
    call_sites: dict[ast.AST, list[ast.Call]] = field(default_factory=dict)
    #: ``(scope, name)`` of names only ever assigned (or defaulted to) numeric literals: ``accumulation_steps = 4``.
    numeric_names: set[tuple[ast.AST, str]] = field(default_factory=set)
    #: True once :attr:`call_sites` is complete (parameters are resolved from the calls from then on).
    sites_ready: bool = False
    #: :meth:`passed_binding` answers, by ``(function, name)``, and those being worked out (recursion).
    passed: dict[tuple[ast.AST, str], ast.Call | None] = field(default_factory=dict)
    resolving: set[tuple[ast.AST, str]] = field(default_factory=set)

    @classmethod
    def collect(cls, tree: ast.Module, source: str) -> ModuleFacts:
        facts = cls(tree, source)
        for node in ast.walk(tree):
            for child in ast.iter_child_nodes(node):
                facts.parents[child] = node
        facts._collect_local_names()
        calls: list[ast.Call] = []
        parameter_aliases: list[ast.Assign] = []
        not_numeric: set[tuple[ast.AST, str]] = set()
        for node in ast.walk(tree):
            facts._note_numeric(node, not_numeric)
            if isinstance(node, ast.Assign | ast.AnnAssign) and isinstance(node.value, ast.Call):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                constructed = strip_pass_through(node.value)
                for target in targets if isinstance(constructed, ast.Call) else []:
                    facts.bind(dotted(target), constructed, node)  # type: ignore[arg-type]
            elif isinstance(node, ast.Assign) and isinstance(node.value, ast.Name | ast.Attribute):
                if facts.reads_parameter(node.value):
                    parameter_aliases.append(node)  # criterion = loss_fn: once the calls are known
                else:
                    facts.bind_alias(node)
            elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                facts.functions.setdefault(facts.qualified_name(node), node)
            elif isinstance(node, ast.ClassDef):
                facts.classes[node.name] = node
            if isinstance(node, ast.Call):
                calls.append(node)
        methods_by_name: dict[str, list[ast.FunctionDef | ast.AsyncFunctionDef]] = {}
        for function in facts.functions.values():
            methods_by_name.setdefault(function.name, []).append(function)
        for call in calls:
            callee = facts.resolve_function(call.func)
            if callee is None and isinstance(call.func, ast.Attribute):  # obj.evaluate(...): a unique name
                candidates = methods_by_name.get(call.func.attr, [])
                callee = candidates[0] if len(candidates) == 1 else None
            if callee is not None:
                facts.call_sites.setdefault(callee, []).append(call)
        facts.numeric_names -= not_numeric
        facts.sites_ready = True
        for alias in parameter_aliases:
            facts.bind_alias(alias)
        return facts

    def bind_alias(self, node: ast.Assign) -> None:
        """Bind the targets of ``opt = optimizer`` to what the value is bound to (if anything)."""
        aliased = self.binding(dotted(node.value), node)
        for target in node.targets if aliased is not None else []:
            self.bind(dotted(target), aliased, node, replace=False)

    def reads_parameter(self, value: ast.expr) -> bool:
        """True when the name (or ``name.attr``) ``value`` reads is a parameter of the function it is in."""
        head = (dotted(value) or "").partition(".")[0]
        return bool(head) and head in self.parameters.get(self.name_scope(head, value), ())

    def _collect_local_names(self) -> None:
        """Fill :attr:`local_names`, :attr:`parameters` and :attr:`global_names` (names bound in a
        comprehension or lambda are theirs, not the function's)."""
        declared: dict[ast.AST, set[str]] = {}
        for node in ast.walk(self.tree):
            scope = self.scope_owner(node)
            bound: list[str] = []
            if self.in_comprehension(node, scope):
                continue
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store | ast.Del):
                bound = [node.id]
            elif isinstance(node, ast.arg) and isinstance(scope, ast.FunctionDef | ast.AsyncFunctionDef):
                bound = [node.arg]
                self.parameters.setdefault(scope, set()).add(node.arg)
            elif isinstance(node, ast.Import | ast.ImportFrom):
                bound = [(alias.asname or alias.name).partition(".")[0] for alias in node.names]
            elif isinstance(node, ast.ExceptHandler) and node.name:
                bound = [node.name]
            elif isinstance(node, ast.Global | ast.Nonlocal):
                declared.setdefault(scope, set()).update(node.names)
                if isinstance(node, ast.Global):
                    self.global_names.setdefault(scope, set()).update(node.names)
            if bound:
                self.local_names.setdefault(scope, set()).update(bound)
        for scope, names in declared.items():
            self.local_names.get(scope, set()).difference_update(names)

    def scope_owner(self, node: ast.AST) -> ast.AST:
        """The function, class body or module whose local names ``node`` (a name, an argument, an
        assignment) binds or reads."""
        current = self.parents.get(node)
        while current is not None and not isinstance(current, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            current = self.parents.get(current)
        return current if current is not None else self.tree

    def in_comprehension(self, node: ast.AST, scope: ast.AST) -> bool:
        """True when ``node`` sits in a comprehension or lambda inside ``scope`` (their own scope)."""
        current = self.parents.get(node)
        while current is not None and current is not scope:
            if isinstance(current, ast.comprehension | ast.Lambda):
                return True
            current = self.parents.get(current)
        return False

    def name_scope(self, name: str, at: ast.AST | None) -> ast.AST:
        """The scope whose binding of the plain ``name`` is the one read at ``at``: the innermost
        enclosing function (or class body, from its own statements) that binds it, skipping class
        bodies seen from their methods; the module when none does or it is declared ``global``."""
        current = self.parents.get(at) if at is not None else None
        innermost = True
        while current is not None:
            if isinstance(current, ast.FunctionDef | ast.AsyncFunctionDef) or (
                isinstance(current, ast.ClassDef) and innermost
            ):
                if name in self.global_names.get(current, ()):
                    return self.tree
                if name in self.local_names.get(current, ()):
                    return current
                innermost = False
            current = self.parents.get(current)
        return self.tree

    def is_numeric(self, node: ast.Name) -> bool:
        """True when the name ``node`` reads is only ever assigned (or defaulted to) numeric literals."""
        return (self.name_scope(node.id, node), node.id) in self.numeric_names

    def _note_numeric(self, node: ast.AST, not_numeric: set[tuple[ast.AST, str]]) -> None:
        """Sort the names ``node`` assigns (or defaults) into numeric literals and anything else."""
        pairs: list[tuple[ast.expr, ast.expr | None]] = []
        if isinstance(node, ast.Assign):
            pairs = [(target, node.value) for target in node.targets]
        elif isinstance(node, ast.AnnAssign | ast.AugAssign):
            pairs = [(node.target, node.value)]
        elif isinstance(node, ast.For | ast.AsyncFor | ast.With | ast.AsyncWith):
            targets = (
                [node.target] if isinstance(node, ast.For | ast.AsyncFor) else [i.optional_vars for i in node.items]
            )
            pairs = [(name, None) for target in targets if target is not None for name in ast.walk(target)]
        elif isinstance(node, ast.arguments):
            positional = [*node.posonlyargs, *node.args]
            defaults: list[ast.expr | None] = [None] * (len(positional) - len(node.defaults)) + [*node.defaults]
            pairs = [(ast.Name(arg.arg), default) for arg, default in zip(positional, defaults, strict=True)]
            pairs += [
                (ast.Name(arg.arg), default) for arg, default in zip(node.kwonlyargs, node.kw_defaults, strict=True)
            ]
        for target, value in pairs:
            if not isinstance(target, ast.Name):
                continue
            literal = value.operand if isinstance(value, ast.UnaryOp) else value
            is_number = isinstance(literal, ast.Constant) and type(literal.value) in (int, float)
            scope = self.scope_owner(node) if isinstance(node, ast.arguments) else self.name_scope(target.id, node)
            (self.numeric_names if is_number else not_numeric).add((scope, target.id))

    # ---- grad mode

    def grad_switched(self, node: ast.AST) -> bool | None:
        """Autograd as the code around ``node`` sets it, up to its function: False inside ``with
        torch.no_grad()``/``inference_mode()``/``set_grad_enabled(False)`` or a function decorated with
        one of them, True when an inner ``enable_grad()`` turns it back on, None when nothing sets it."""
        current = self.parents.get(node)
        while current is not None:
            if isinstance(current, ast.With | ast.AsyncWith):
                switches = [_grad_switch(item.context_expr) for item in current.items]
                if any(switch is not None for switch in switches):
                    return False not in switches
            if isinstance(current, ast.FunctionDef | ast.AsyncFunctionDef):
                switches = [_grad_switch(decorator) for decorator in current.decorator_list]
                return next((switch for switch in switches if switch is not None), None)
            current = self.parents.get(current)
        return None

    def under_grad_off(self, node: ast.AST) -> bool:
        """True when the code around ``node`` (up to its function) turns autograd off."""
        return self.grad_switched(node) is False

    def all_calls_grad_off(self, function: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
        """True when ``function`` is called, and only under no_grad/inference_mode."""
        sites = self.call_sites.get(function, [])
        return bool(sites) and all(self.under_grad_off(site) for site in sites)

    def runs_grad_off(self, node: ast.AST) -> bool:
        """True when ``node`` runs with autograd off: :meth:`grad_switched` says so, or nothing
        around it decides and every call of its function is under no_grad/inference_mode."""
        switched = self.grad_switched(node)
        if switched is not None:
            return not switched
        function = next(self.enclosing_functions(node), None)
        return function is not None and self.all_calls_grad_off(function)

    # ---- lexical context

    def enclosing_functions(self, node: ast.AST) -> Iterator[ast.FunctionDef | ast.AsyncFunctionDef]:
        """The functions whose bodies contain ``node``, innermost first."""
        current = self.parents.get(node)
        while current is not None:
            if isinstance(current, ast.FunctionDef | ast.AsyncFunctionDef):
                yield current
            current = self.parents.get(current)

    def enclosing_class(self, node: ast.AST | None) -> ast.ClassDef | None:
        """The class whose method (or a function nested in one) contains ``node``: what ``self`` is."""
        for function in self.enclosing_functions(node) if node is not None else ():
            parent = self.parents.get(function)
            if isinstance(parent, ast.ClassDef):
                return parent
        return None

    def qualified_name(self, node: ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) -> str:
        """``Trainer.train_step``, ``main.step``: the names of the enclosing definitions, dotted."""
        names = [node.name]
        current = self.parents.get(node)
        while current is not None:
            if isinstance(current, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                names.append(current.name)
            current = self.parents.get(current)
        return ".".join(reversed(names))

    def lineage(self, cls: ast.ClassDef) -> list[ast.ClassDef]:
        """``cls`` then its base classes defined in this file (breadth first, no repeats)."""
        found = [cls]
        for klass in found:
            for base in klass.bases:
                parent = self.classes.get(last_part(dotted(base)))
                if parent is not None and parent not in found and len(found) < 16:
                    found.append(parent)
        return found

    def method(self, cls: ast.ClassDef, name: str) -> ast.FunctionDef | ast.AsyncFunctionDef | None:
        """The method ``name`` of ``cls`` or of a base class defined in this file."""
        for klass in self.lineage(cls):
            found = self.functions.get(f"{self.qualified_name(klass)}.{name}")
            if found is not None:
                return found
        return None

    def resolve_function(self, ref: ast.expr) -> ast.FunctionDef | ast.AsyncFunctionDef | None:
        """The function of this file that ``ref`` names where it is written: ``step`` (a nested or
        module-level function), ``self.train_step`` (a method of the enclosing class or its bases),
        ``trainer.fit`` (``trainer`` bound to a class of this file); None otherwise."""
        if isinstance(ref, ast.Name):
            for function in self.enclosing_functions(ref):
                found = self.functions.get(f"{self.qualified_name(function)}.{ref.id}")
                if found is not None:
                    return found
            return self.functions.get(ref.id)
        if not (isinstance(ref, ast.Attribute) and isinstance(ref.value, ast.Name)):
            return None
        if ref.value.id in ("self", "cls"):
            cls = self.enclosing_class(ref)
            return self.method(cls, ref.attr) if cls is not None else None
        bound = self.binding(ref.value.id, ref)
        cls = self.classes.get(last_part(dotted(bound.func))) if bound is not None else None
        return self.method(cls, ref.attr) if cls is not None else None

    # ---- constructor bindings

    def bind(self, name: str | None, call: ast.Call, at: ast.AST, *, replace: bool = True) -> None:
        """Record that ``name`` (assigned at ``at``) holds the object ``call`` constructs."""
        if not name:
            return
        cls = self.enclosing_class(at) if name.startswith("self.") else None
        tables: list[tuple[dict[Any, ast.Call], Any]] = [(self.attributes, (cls.name, name))] if cls else []
        if cls is None:
            head = name.partition(".")[0]
            tables = [(self.bindings, (self.name_scope(head, at), name)), (self.by_name, name)]
        for table, key in tables:
            if replace:
                table[key] = call
            else:
                table.setdefault(key, call)

    def binding(self, name: str | None, at: ast.AST | None = None) -> ast.Call | None:
        """The constructor call ``name`` is bound to, seen from the node ``at``.

        ``self.x`` is looked up in the class around ``at`` (and its bases), then as a plain name
        anywhere (``self.model = model``); a plain name in its scope (:meth:`name_scope`; a parameter
        unbound there: what the calls pass, :meth:`passed_binding`), then as an attribute of the enclosing class.
        """
        if not name:
            return None
        cls = self.enclosing_class(at)
        lineage = self.lineage(cls) if cls is not None else []
        attribute = name if name.startswith("self.") else f"self.{name}"
        if name.startswith("self."):
            found = next((self.attributes[k.name, name] for k in lineage if (k.name, name) in self.attributes), None)
            return found or self.by_name.get(name.removeprefix("self."))
        head = name.partition(".")[0]
        scope = self.name_scope(head, at)
        found = self.bindings.get((scope, name))
        parameter = head in self.parameters.get(scope, ())
        if found is None and parameter and isinstance(scope, ast.FunctionDef | ast.AsyncFunctionDef):
            found = self.passed_binding(scope, name)
        if found is None:
            found = next(
                (self.attributes[k.name, attribute] for k in lineage if (k.name, attribute) in self.attributes), None
            )
        return found

    def passed_binding(self, function: ast.FunctionDef | ast.AsyncFunctionDef, name: str) -> ast.Call | None:
        """The object the parameter ``name`` (or ``name.attr``) of ``function`` holds, from the calls
        of ``function`` in this file: the constructor every call passes (by position, keyword or
        default, resolved where the call is written), if they agree on its kind; None if they differ
        or one is unknown. A recursive call passing the parameter on adds nothing. A function never
        called here (or before the calls are known) takes the name's binding anywhere in the file."""
        key = (function, name)
        sites = self.call_sites.get(function, []) if self.sites_ready else []
        if not sites:
            return self.by_name.get(name)
        if key in self.passed or key in self.resolving:
            return self.passed.get(key)
        self.resolving.add(key)
        head, dot, rest = name.partition(".")
        found: list[ast.Call | None] = []
        method = isinstance(self.parents.get(function), ast.ClassDef)
        for site in sites:
            if isinstance(site.func, ast.Attribute) and not method:
                continue  # model.train() is not a call of the function train()
            argument = self.argument(function, site, head)
            value = strip_pass_through(argument) if argument is not None else None
            source = dotted(value) if value is not None and not isinstance(value, ast.Call) else None
            at = function if isinstance(self.parents.get(argument), ast.arguments) else site  # a default
            if source == head and self.name_scope(head, site) is function:
                continue  # a recursive call passing the parameter on
            if isinstance(value, ast.Call):
                found.append(None if dot else value)  # train(model, loader, nn.CrossEntropyLoss())
            else:
                found.append(self.binding(f"{source}{dot}{rest}", at) if source else None)
        self.resolving.discard(key)
        if not found:
            return self.by_name.get(name)
        kinds = {binding_kind(call) if call is not None else None for call in found}
        self.passed[key] = found[0] if len(kinds) == 1 and None not in kinds else None
        return self.passed[key]

    def argument(self, function: ast.FunctionDef | ast.AsyncFunctionDef, call: ast.Call, name: str) -> ast.expr | None:
        """The expression ``call`` passes to the parameter ``name`` of ``function`` (by keyword, by
        position, else its default); None when unknown (``*args``/``**kwargs`` in the call or the signature)."""
        keyword = next((k.value for k in call.keywords if k.arg == name), None)
        if keyword is not None:
            return keyword
        arguments = function.args
        positional = [arg.arg for arg in [*arguments.posonlyargs, *arguments.args]]
        defaults: dict[str, ast.expr | None] = dict(zip(positional[::-1], arguments.defaults[::-1], strict=False))
        defaults.update((arg.arg, d) for arg, d in zip(arguments.kwonlyargs, arguments.kw_defaults, strict=True))
        if name in positional:
            index = positional.index(name) - self.receiver_count(function, call)
            if index < 0 or any(isinstance(arg, ast.Starred) for arg in call.args[: index + 1]):
                return None
            if index < len(call.args):
                return call.args[index]
        if any(k.arg is None for k in call.keywords):
            return None
        return defaults.get(name)

    def receiver_count(self, function: ast.FunctionDef | ast.AsyncFunctionDef, call: ast.Call) -> int:
        """1 when ``call`` binds the first parameter of the method ``function`` to its receiver
        (``self.fit(...)``, ``trainer.fit(...)``; not ``Trainer.fit(trainer, ...)`` or a static method)."""
        if not isinstance(self.parents.get(function), ast.ClassDef):
            return 0
        if any(last_part(dotted(d)) == "staticmethod" for d in function.decorator_list):
            return 0
        receiver = call.func.value if isinstance(call.func, ast.Attribute) else None
        classmethod_ = any(last_part(dotted(d)) == "classmethod" for d in function.decorator_list)
        is_class = isinstance(receiver, ast.Name) and receiver.id in self.classes
        return 1 if receiver is not None and (classmethod_ or not is_class) else 0

    def constructor(self, name: str | None, at: ast.AST | None = None) -> str:
        """The constructor a name is bound to (``nn.CrossEntropyLoss``), or ``""``."""
        call = self.binding(name, at)
        return dotted(call.func) or "" if call is not None else ""

    def is_optimizer(self, name: str | None, at: ast.AST | None = None) -> bool:
        """An optimizer: bound to ``torch.optim.*`` (not a scheduler), else named like one."""
        ctor = self.constructor(name, at)
        if ctor:
            return ("optim" in ctor or last_part(ctor) in OPTIMIZERS) and "lr_scheduler" not in ctor
        return bool(OPTIMIZER_NAME.search(last_part(name)))

    def is_scheduler(self, name: str | None, at: ast.AST | None = None) -> bool:
        """A learning-rate scheduler: bound to ``lr_scheduler.*``/``*LR``, else named like one."""
        ctor = self.constructor(name, at)
        if ctor:
            return "lr_scheduler" in ctor or "schedule" in ctor.lower() or last_part(ctor).endswith("LR")
        return bool(SCHEDULER_NAME.search(last_part(name)))

    def loss_type(self, func: ast.expr) -> str | None:
        """The loss class a callee computes (``"CrossEntropyLoss"``), ``""`` if unknown, None if not a loss."""
        if isinstance(func, ast.Call):  # nn.CrossEntropyLoss()(outputs, labels)
            name = last_part(dotted(func.func))
            return name if name.endswith("Loss") else None
        name = dotted(func)
        if name is None:
            return None
        head, _, attr = name.rpartition(".")
        if head in FUNCTIONAL_MODULES and attr in LOSS_FUNCTIONS:
            return LOSS_FUNCTIONS[attr]
        if not head and name in LOSS_FUNCTIONS and name not in ("kl_div",):
            return LOSS_FUNCTIONS[name]  # from torch.nn.functional import cross_entropy
        ctor = last_part(self.constructor(name, func))
        if ctor.endswith("Loss"):
            return ctor
        if ctor:
            return None
        return "" if LOSS_NAME.match(last_part(name)) else None

    def model_output_kind(self, func: ast.expr, depth: int = 0) -> str | None:
        """For a callee that is a model: the kind of its output (``logits``, ``softmax``, ...)."""
        name = dotted(func)
        if isinstance(func, ast.Attribute) and func.attr == "forward":
            name = dotted(func.value)
        if name is None:
            return None
        ctor_call = self.binding(name, func)
        ctor = last_part(dotted(ctor_call.func)) if ctor_call is not None else ""
        if ctor in ACTIVATION_MODULES:
            return ACTIVATION_MODULES[ctor]
        if ctor == "Sequential" and ctor_call is not None:
            layers = [strip_pass_through(arg) for arg in ctor_call.args]
            last = last_part(dotted(layers[-1].func)) if layers and isinstance(layers[-1], ast.Call) else ""
            return ACTIVATION_MODULES.get(last, "logits")
        if ctor in self.classes and depth < 3 and dotted(ctor_call.func) == ctor:  # not other_module.Net()
            return self.forward_kind(self.classes[ctor], depth + 1) if _is_module(self.classes[ctor]) else None
        if ctor.endswith("Loss") or self.loss_type(func) is not None:
            return None
        if MODEL_NAME.match(last_part(name)):
            return "pred"
        return None

    def forward_kind(self, cls: ast.ClassDef, depth: int) -> str:
        """The kind of value ``cls.forward`` returns (``logits`` unless it ends in an activation)."""
        forward = next((n for n in cls.body if isinstance(n, ast.FunctionDef) and n.name == "forward"), None)
        if forward is None:
            return "pred"
        kinds = set()
        scope = Scope(self, forward, depth)
        layer_outputs: set[str] = set()  # names last assigned a layer's output
        for node in scope.statements():
            if isinstance(node, ast.Return) and node.value is not None:
                kind = scope.kind(node.value)
                if kind not in ("softmax", "logsoftmax", "sigmoid"):
                    kind = "logits" if self.layer_output(node.value, layer_outputs, node) else "pred"
                kinds.add(kind)
            if isinstance(node, ast.Assign | ast.AnnAssign) and node.value is not None:
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                visible = self.layer_output(node.value, layer_outputs, node)
                for name in (dotted(target) for target in targets):
                    if name is not None:
                        (layer_outputs.add if visible else layer_outputs.discard)(name)
            scope.update(node)
        return kinds.pop() if len(kinds) == 1 else "pred"

    def layer_output(self, node: ast.expr, layer_outputs: set[str], at: ast.AST) -> bool:
        """True when ``node`` is, visibly, the raw output of a ``torch.nn`` layer: a call of something
        bound to a ``torch.nn`` constructor (``self.fc(x)``, ``nn.Linear``), ``F.linear``, a matrix
        product, a pass-through or sum of such, or a name assigned one. An output from anything dlsolve
        cannot see into (another module's model, a remote call) is unknown: False."""
        if isinstance(node, ast.Name | ast.Attribute) and dotted(node) in layer_outputs:
            return True
        if isinstance(node, ast.BinOp):
            if isinstance(node.op, ast.MatMult):
                return True
            sides = [side for side in (node.left, node.right) if not _is_literal(side)]
            return bool(sides) and all(self.layer_output(side, layer_outputs, at) for side in sides)
        if not isinstance(node, ast.Call):
            return False
        func = node.func
        if isinstance(func, ast.Attribute) and func.attr in PASS_THROUGH:
            return self.layer_output(func.value, layer_outputs, at)
        name = dotted(func) or ""
        if last_part(name) in ("linear", "bilinear", "conv1d", "conv2d", "conv3d", "matmul", "mm", "bmm", "addmm"):
            return True
        bound = self.binding(name, func) if name else None
        constructor = dotted(bound.func) or "" if bound is not None else ""
        return constructor.startswith(("nn.", "torch.nn.")) or constructor in TORCH_LAYERS


OPTIMIZERS = {
    "SGD",
    "Adam",
    "AdamW",
    "RMSprop",
    "Adagrad",
    "Adadelta",
    "Adamax",
    "NAdam",
    "RAdam",
    "LBFGS",
    "ASGD",
    "Rprop",
    "SparseAdam",
}
#: ``torch.nn`` layers imported by name (``from torch.nn import Linear``).
TORCH_LAYERS = {"Linear", "Bilinear", "LazyLinear", "Conv1d", "Conv2d", "Conv3d", "Sequential", "Embedding"}
ACTIVATION_MODULES = {"Softmax": "softmax", "LogSoftmax": "logsoftmax", "Sigmoid": "sigmoid"}
ACTIVATION_CALLS = {"softmax": "softmax", "log_softmax": "logsoftmax", "sigmoid": "sigmoid"}


# --------------------------------------------------------------------------- data flow within a function


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
                        yield from walk([s for s in inner if isinstance(s, ast.stmt)] + _handler_bodies(inner))

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
        output = self.facts.model_output_kind(func, depth)
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
                node is not statement and name in _assigned_names(node) for node in ast.walk(current)
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
            if origin is not None or _is_literal(operand):
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


def _assigned_names(node: ast.AST) -> set[str]:
    """The dotted names an assignment, augmented or annotated assignment or ``for`` binds."""
    if isinstance(node, ast.Assign):
        targets = node.targets
    elif isinstance(node, ast.AugAssign | ast.AnnAssign | ast.For | ast.AsyncFor):
        targets = [node.target]
    else:
        return set()
    return {name for target in targets for e in ast.walk(target) if (name := dotted(e)) is not None}


def _is_literal(node: ast.expr) -> bool:
    """A number, string, bool or None literal, possibly negated (``-1``)."""
    return isinstance(node.operand if isinstance(node, ast.UnaryOp) else node, ast.Constant)


def _handler_bodies(items: list[Any]) -> list[ast.stmt]:
    return [s for handler in items if isinstance(handler, ast.ExceptHandler) for s in handler.body]


# --------------------------------------------------------------------------- the analysis


class Analyzer:
    """Runs every rule over one file; collects findings and mechanical edits."""

    def __init__(self, source: str, filename: str) -> None:
        self.source = source
        self.filename = filename
        self.tree = ast.parse(source, filename=filename)
        self.facts = ModuleFacts.collect(self.tree, source)
        self.findings: dict[tuple[str, int, int], Finding] = {}
        self.edits: list[Edit] = []
        #: Loss constructors (``nn.NLLLoss()``) and their calls flagged DL022/DL023 on raw logits;
        #: renamed at the end if those calls are all the uses of the name they are bound to.
        self.logits_losses: dict[ast.Call, list[ast.Call]] = {}
        self.line_starts = [0]
        for line in source.splitlines(keepends=True):
            self.line_starts.append(self.line_starts[-1] + len(line))

    # ---- reporting and edits

    def report(self, rule: str, node: ast.AST, message: str, edits: list[Edit] | None = None) -> None:
        key = (rule, node.lineno, node.col_offset + 1)  # type: ignore[attr-defined]
        if key in self.findings:
            return
        self.findings[key] = Finding(self.filename, key[1], key[2], rule, message)
        self.edits.extend(edits or [])

    def offset(self, line: int, col: int) -> int:
        return self.line_starts[line - 1] + col

    def segment(self, node: ast.AST) -> str:
        return ast.get_source_segment(self.source, node) or ""

    def owns_lines(self, statement: ast.stmt) -> bool:
        """True when ``statement`` alone fills its lines (so it can be moved or deleted line-wise)."""
        end_line = statement.end_lineno or statement.lineno
        first = self.source[self.offset(statement.lineno, 0) : self.offset(statement.lineno, statement.col_offset)]
        rest = self.source[self.offset(end_line, statement.end_col_offset or 0) : self.line_starts[end_line]]
        return not first.strip() and (not rest.strip() or rest.strip().startswith("#"))

    def indent(self, statement: ast.stmt) -> str:
        return self.source[self.offset(statement.lineno, 0) : self.offset(statement.lineno, statement.col_offset)]

    def delete_statement(self, statement: ast.stmt) -> Edit:
        end_line = statement.end_lineno or statement.lineno
        return Edit(self.offset(statement.lineno, 0), self.line_starts[end_line], "")

    def insert_before(self, anchor: ast.stmt, text: str) -> Edit:
        at = self.offset(anchor.lineno, 0)
        return Edit(at, at, self.indent(anchor) + text + "\n")

    def insert_after(self, anchor: ast.stmt, text: str, indent: str) -> Edit:
        at = self.line_starts[anchor.end_lineno or anchor.lineno]
        newline = "" if self.source[:at].endswith("\n") else "\n"
        return Edit(at, at, newline + indent + text + "\n")

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

    # ---- linearised events

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
                    _handler_bodies(statement.handlers),
                    statement.orelse,
                    statement.finalbody,
                ):
                    self._collect(part, out, **flags)
            else:
                if isinstance(statement, ast.Assign) and _sets_grad_none(statement):
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
            elif attr == "train" and receiver and _train_mode(call) is not None:
                kind = TRAIN if _train_mode(call) else EVAL
            elif depth < 3 and (not isinstance(func, ast.Attribute) or receiver == "self"):
                callee = self.facts.resolve_function(func)
                if callee is not None:
                    self._collect(callee.body, out, nested=nested, conditional=conditional, depth=depth + 1)
            if kind is not None:
                out.append(Event(kind, call, 0, nested, conditional, receiver or ""))

    # ---- rules

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
                if statement is not None and backward_statement is not None:
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
        """zero_grad() calls of ``owner`` that run before ``loop`` starts (outside it)."""
        body = owner.body  # type: ignore[attr-defined]
        events = self.events(body)
        inside = {id(n) for n in ast.walk(loop)}
        return [
            e
            for e in events
            if e.kind == ZERO_GRAD and id(e.node) not in inside and e.node.lineno < loop.lineno  # type: ignore[attr-defined]
        ]

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

    def check_evaluation_loop(self, owner: ast.AST, loop: ast.stmt, events: list[Event], scope: Scope) -> None:
        if any(e.kind in (BACKWARD, STEP, ZERO_GRAD) for e in events):
            return
        iterable = dotted(getattr(loop, "iter", None)) or ""
        if isinstance(getattr(loop, "iter", None), ast.Call):
            call = loop.iter  # type: ignore[attr-defined]
            iterable = dotted(call.args[0]) if call.args else dotted(call.func) or ""
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
        if not eval_before:
            edits = [self.insert_before(statement, f"{model}.eval()")] if statement is not None else []
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
        evaluating_function = (
            function is not None and bool(EVAL_NAME.search(function.name)) and not self.trains(function)
        )
        if not (held_out or evaluating_function) or any(e.kind == BACKWARD for e in self.events_after(call, owner)):
            return
        model = dotted(
            call.func.value if isinstance(call.func, ast.Attribute) and call.func.attr == "forward" else call.func
        )
        model = model or "model"
        in_eval = self.in_eval_mode(call, function)
        anchor = self.evaluation_statement(call, owner)
        movable = anchor is not None and self.owns_lines(anchor)
        context = f"on held-out {self.segment(data)}" if held_out and data is not None else f"in {owner.name}()"  # type: ignore[attr-defined]
        what = f"{self.segment(call)} (line {call.lineno}) evaluates {model} {context}"
        if not in_eval:
            edits = []
            if anchor is not None and movable:
                edits = [self.insert_before(anchor, f"{model}.eval()")]
                returns = any(isinstance(node, ast.Return) for node in ast.walk(anchor))
                if (loops or function is not None) and not returns:  # the caller or next iteration trains
                    edits.append(self.insert_after(anchor, f"{model}.train()", self.indent(anchor)))
            self.report("DL030", call, f"{what} without {model}.eval() before it", edits)
        if not self.facts.runs_grad_off(call):
            edits = [self.wrap_no_grad(anchor)] if anchor is not None and movable else []
            self.report("DL031", call, f"{what} with autograd on (no torch.no_grad() or torch.inference_mode())", edits)

    def in_eval_mode(self, call: ast.Call, function: ast.FunctionDef | ast.AsyncFunctionDef | None) -> bool:
        """True when the model is in evaluation mode at ``call`` (:meth:`mode_at`), or, for a function
        that sets no mode and is never called here (a web handler), when the module's code leaves it
        so (``model.eval()`` after loading it)."""
        mode = self.mode_at(call, function or self.tree)
        if mode is None and function is not None and not self.calls_of(function):
            module_modes = [e.kind for e in self.events(self.tree.body) if e.kind in (EVAL, TRAIN)]
            return bool(module_modes) and module_modes[-1] == EVAL
        return mode == EVAL

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

    def in_model_class(self, function: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
        """True for a method of an ``nn.Module``-like class (its mode is the caller's business)."""
        cls = self.facts.enclosing_class(function.body[0])
        return cls is not None and _is_module(cls)

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

    def wrap_no_grad(self, statement: ast.stmt) -> Edit:
        start = self.offset(statement.lineno, 0)
        end = self.line_starts[statement.end_lineno or statement.lineno]
        lines = self.source[start:end].splitlines(keepends=True)
        indented = "".join("    " + line if line.strip() else line for line in lines)
        if not indented.endswith("\n"):
            indented += "\n"
        return Edit(start, end, self.indent(statement) + "with torch.no_grad():\n" + indented)

    def first_model_call(self, loop: ast.stmt, scope: Scope) -> ast.Call | None:
        """The first call of a model in the body of ``loop`` (not in its iterable)."""
        body = [*getattr(loop, "body", []), *getattr(loop, "orelse", [])]
        return next((n for statement in body for n in ast.walk(statement) if self.is_model_call(n)), None)  # type: ignore[return-value]

    def is_model_call(self, node: ast.AST) -> bool:
        """A forward pass: a call of something bound to or named like a model (``net(x)``, ``model.forward(x)``)."""
        return (
            isinstance(node, ast.Call)
            and not isinstance(node.func, ast.Call)
            and self.facts.model_output_kind(node.func) is not None
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
            and _grad_switch(block.items[0].context_expr) is False
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

    def replace(self, node: ast.AST, text: str) -> Edit:
        """An edit replacing the source of ``node`` by ``text``."""
        start = self.offset(node.lineno, node.col_offset)  # type: ignore[attr-defined]
        return Edit(start, self.offset(node.end_lineno or 0, node.end_col_offset or 0), text)  # type: ignore[attr-defined]

    def unwrap_activation(self, node: ast.expr | None) -> list[Edit]:
        """Edit replacing an inline ``F.softmax(x, dim=1)`` / ``torch.sigmoid(x)`` / ``x.softmax(1)`` by ``x``."""
        if not isinstance(node, ast.Call):
            return []
        func = node.func
        inner: ast.expr | None = None
        if isinstance(func, ast.Attribute) and func.attr in ACTIVATION_CALLS:
            is_function = dotted(func.value) in FUNCTIONAL_MODULES
            inner = (node.args[0] if node.args else None) if is_function else func.value
        elif isinstance(func, ast.Name) and func.id in ACTIVATION_CALLS and node.args:
            inner = node.args[0]
        if inner is None:
            return []
        start = self.offset(node.lineno, node.col_offset)
        end = self.offset(node.end_lineno or 0, node.end_col_offset or 0)
        return [Edit(start, end, self.segment(inner))]

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

    def inside_loop(self, node: ast.AST) -> bool:
        current = self.facts.parents.get(node)
        while current is not None and not isinstance(current, ast.FunctionDef | ast.AsyncFunctionDef):
            if isinstance(current, ast.For | ast.AsyncFor | ast.While):
                return True
            current = self.facts.parents.get(current)
        return False

    def corrected(self) -> str:
        """The source with every non-overlapping mechanical edit applied."""
        chosen: list[Edit] = []
        for edit in sorted(set(self.edits), key=lambda e: (e.start, e.end)):
            overlaps = any(
                (e.start < edit.end and edit.start < e.end) or (e.start == e.end == edit.start == edit.end)
                for e in chosen
            )
            if not overlaps:
                chosen.append(edit)
        text = self.source
        for edit in sorted(chosen, key=lambda e: (-e.start, -e.end)):
            text = text[: edit.start] + edit.text + text[edit.end :]
        return text


def _grad_switch(node: ast.expr) -> bool | None:
    """False for ``torch.no_grad()``/``inference_mode()``/``set_grad_enabled(False)``, True for
    ``enable_grad()``/``set_grad_enabled(True)``, None for anything else (``inference_mode(False)``)."""
    name = last_part(dotted(node.func) if isinstance(node, ast.Call) else dotted(node))
    values = [*node.args, *(k.value for k in node.keywords if k.arg == "mode")] if isinstance(node, ast.Call) else []
    literal = values[0].value if values and isinstance(values[0], ast.Constant) else None
    if name in GRAD_OFF:
        return None if literal is False else False
    if name == "enable_grad":
        return True
    if name == "set_grad_enabled" and isinstance(literal, bool):
        return literal
    return None


def _is_module(cls: ast.ClassDef) -> bool:
    """A class that looks like an ``nn.Module``: a ``forward`` method or a base named ``*Module``."""
    has_forward = any(isinstance(n, ast.FunctionDef) and n.name == "forward" for n in cls.body)
    return has_forward or any(last_part(dotted(base)).endswith("Module") for base in cls.bases)


def _train_mode(call: ast.Call) -> bool | None:
    """``m.train()``/``m.train(True)`` -> True, ``m.train(False)`` -> False, other -> None."""
    values = [*call.args, *(k.value for k in call.keywords if k.arg == "mode")]
    if not values:
        return True
    if isinstance(values[0], ast.Constant) and isinstance(values[0].value, bool):
        return values[0].value
    return None


def _sets_grad_none(statement: ast.Assign) -> bool:
    return (
        isinstance(statement.value, ast.Constant)
        and statement.value.value is None
        and any(isinstance(t, ast.Attribute) and t.attr == "grad" for t in statement.targets)
    )


# --------------------------------------------------------------------------- entry point


def parse_source(source: str, filename: str) -> ast.Module:
    """Parse Python text; a syntax error is bad input with its location (exit 2)."""
    try:
        return ast.parse(source, filename=filename)
    except SyntaxError as error:
        where = f"{filename}:{error.lineno}:{error.offset}" if error.lineno else filename
        raise BadInput(f"{where}: cannot parse Python: {error.msg}", option="FILE") from None
    except (ValueError, MemoryError, RecursionError) as error:
        raise BadInput(f"{filename}: cannot parse Python: {error}", option="FILE") from None


def analyze(source: str, filename: str = "<stdin>") -> tuple[list[Finding], str]:
    """Findings for ``source`` and the corrected source (mechanical fixes applied)."""
    parse_source(source, filename)
    try:
        analyzer = Analyzer(source, filename)
        findings = analyzer.run()
    except RecursionError:
        raise BadInput(f"{filename}: the code is nested too deeply to analyse", option="FILE") from None
    return findings, analyzer.corrected()


def unified_diff(original: str, corrected: str, filename: str) -> str:
    """A ``patch -p1``-style unified diff from ``original`` to ``corrected`` (empty when equal)."""
    name = filename.lstrip("/") if filename != "<stdin>" else "stdin"
    lines = difflib.unified_diff(
        original.splitlines(keepends=True), corrected.splitlines(keepends=True), f"a/{name}", f"b/{name}"
    )
    return "".join(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n" for line in lines)


def solve(source: str, filename: str = "<stdin>", *, diff: bool = False) -> Solution:
    """Analyse PyTorch training code ``source`` and explain each finding (rules DL001-DL042)."""
    findings, corrected = analyze(source, filename)
    rows = [[f"{f.line}:{f.col}", f.rule, RULES[f.rule].name, f.message] for f in findings]
    steps = [
        Step(
            "Parse the code (never run it)",
            f"{filename}: {len(source.splitlines())} lines parsed with Python's ast; "
            f"{len(RULES)} rules checked ({', '.join(RULES)}).",
        )
    ]
    if findings:
        steps.append(
            Step(
                f"Findings ({len(findings)})",
                "\n".join(f"{filename}:{f.line}:{f.col}: {f.rule} {f.message}" for f in findings),
                blocks=[Table(["line:col", "rule", "name", "message"], rows, title="Findings")],
                substeps=[
                    Step(
                        f"{f.rule} {RULES[f.rule].name} (line {f.line})",
                        f"why: {RULES[f.rule].why}\nfix: {RULES[f.rule].fix}",
                    )
                    for f in findings
                ],
            )
        )
    else:
        steps.append(Step("Findings", "no rule fired: the training loop follows the checked conventions."))
    patch = ""
    if diff:
        patch = unified_diff(source, corrected, filename)
        steps.append(
            Step(
                "Corrected version (mechanical fixes, unified diff)",
                patch or "no mechanical fix applies (see each finding's fix).",
            )
        )
    codes = sorted({f.rule for f in findings})
    answer: dict[str, Any] = {
        "findings": [f.to_dict() for f in findings],
        "clean": not findings,
        "rules": codes,
        "count": len(findings),
    }
    if diff:
        answer["diff"] = patch
    summary = f"{len(findings)} finding(s) in {filename}: {', '.join(codes)}" if findings else f"{filename}: clean"
    quiet = patch if diff else "\n".join(f"{filename}:{f.line}:{f.col}: {f.rule} {f.message}" for f in findings)
    return Solution(
        command="train-loop",
        inputs={"file": filename, "diff": diff},
        answer=answer,
        summary=summary,
        quiet=quiet or ("clean" if not diff else ""),
        steps=steps,
    )
