"""What the whole file tells ``train-loop``: constructor bindings, functions, classes, calls, autograd mode.

Names are resolved as Python scopes them (:mod:`.scopes`, from :mod:`symtable`); a parameter takes
what the calls of its function in this file pass. Nothing is imported or run.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from dlsolve.solvers.train_loop.scopes import NameScopes
from dlsolve.solvers.train_loop.vocabulary import (
    FUNCTIONAL_MODULES,
    LOSS_FUNCTIONS,
    LOSS_NAME,
    OPTIMIZER_NAME,
    OPTIMIZERS,
    SCHEDULER_NAME,
    binding_kind,
    dotted,
    grad_switch,
    is_module,
    last_part,
    strip_pass_through,
)

#: How many parameters :meth:`ModuleFacts.passed_binding` follows through calls at once.
MAX_RESOLVING = 24


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
    #: Python's scoping of every name (from :mod:`symtable`).
    names: NameScopes = field(init=False)
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
    def collect(cls, tree: ast.Module, source: str, filename: str = "<stdin>") -> ModuleFacts:
        facts = cls(tree, source)
        for node in ast.walk(tree):
            for child in ast.iter_child_nodes(node):
                facts.parents[child] = node
        facts.names = NameScopes(tree, source, filename, facts.parents)
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
        return bool(head) and self.names.is_parameter(self.name_scope(head, value), head)

    def name_scope(self, name: str, at: ast.AST | None) -> ast.AST:
        """The scope (module, function, class body, lambda or comprehension) whose binding of the
        plain ``name`` is the one read or assigned at ``at``, as Python scopes it (:mod:`symtable`)."""
        return self.names.scope_of(name, at)

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
            scope = self.parents[node] if isinstance(node, ast.arguments) else self.name_scope(target.id, node)
            (self.numeric_names if is_number else not_numeric).add((scope, target.id))

    # ---- grad mode

    def grad_switched(self, node: ast.AST) -> bool | None:
        """Autograd as the code around ``node`` sets it, up to its function: False inside ``with
        torch.no_grad()``/``inference_mode()``/``set_grad_enabled(False)`` or a function decorated with
        one of them, True when an inner ``enable_grad()`` turns it back on, None when nothing sets it."""
        current = self.parents.get(node)
        while current is not None:
            if isinstance(current, ast.With | ast.AsyncWith):
                switches = [grad_switch(item.context_expr) for item in current.items]
                if any(switch is not None for switch in switches):
                    return False not in switches
            if isinstance(current, ast.FunctionDef | ast.AsyncFunctionDef):
                switches = [grad_switch(decorator) for decorator in current.decorator_list]
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

    def is_module_class(self, cls: ast.ClassDef) -> bool:
        """True for an ``nn.Module``-like class: it or a base class of this file has a ``forward``
        method or a base named ``*Module``."""
        return any(is_module(klass) for klass in self.lineage(cls))

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
        parameter = self.names.is_parameter(scope, head)
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
        if len(self.resolving) >= MAX_RESOLVING:
            return None  # a chain of calls passing ``a.b`` on as ``c.d.b``...: unknown

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

    def telling_constructor(self, name: str | None, at: ast.AST | None) -> str:
        """The constructor ``name`` is bound to when it says what the object is (a class, or a name
        with ``optim``/``sched`` in it); ``""`` for a factory passed in (``opt_func(params)``)."""
        ctor = self.constructor(name, at)
        telling = last_part(ctor)[:1].isupper() or "optim" in ctor or "sched" in ctor.lower()
        return ctor if telling else ""

    def is_optimizer(self, name: str | None, at: ast.AST | None = None) -> bool:
        """An optimizer: bound to ``torch.optim.*`` (not a scheduler), else named like one."""
        ctor = self.telling_constructor(name, at)
        if ctor:
            return ("optim" in ctor or last_part(ctor) in OPTIMIZERS) and "lr_scheduler" not in ctor
        return bool(OPTIMIZER_NAME.search(last_part(name)))

    def is_scheduler(self, name: str | None, at: ast.AST | None = None) -> bool:
        """A learning-rate scheduler: bound to ``lr_scheduler.*``/``*LR``, else named like one."""
        ctor = self.telling_constructor(name, at)
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
