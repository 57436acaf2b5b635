"""Python's own scoping of names, from the standard library's :mod:`symtable`, mapped onto the AST.

Which binding a name read at some node refers to is Python's rule, not ours to re-derive: a name
assigned in a function (and not declared ``global``/``nonlocal``) is local to it; a name only read
there is the enclosing function's (a closure: class bodies are skipped) or the module's;
comprehensions and lambdas have their own scopes. :mod:`symtable` computes exactly this from the
source; :class:`NameScopes` ties each of its tables to the AST node that opens the scope.
"""

from __future__ import annotations

import ast
import symtable
from collections import deque

from dlsolve.errors import BadInput

#: The AST nodes that open a scope, with the name :mod:`symtable` gives their tables.
SCOPE_NAMES: dict[type, str] = {
    ast.Lambda: "lambda",
    ast.ListComp: "listcomp",
    ast.SetComp: "setcomp",
    ast.DictComp: "dictcomp",
    ast.GeneratorExp: "genexpr",
}
Definition = ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef
ScopeNode = ast.Module | ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef | ast.Lambda | ast.comprehension


class NameScopes:
    """The scope (module, function, class body, lambda or comprehension node) of each name."""

    def __init__(self, tree: ast.Module, source: str, filename: str, parents: dict[ast.AST, ast.AST]) -> None:
        try:
            top = symtable.symtable(source, filename, "exec")
        except SyntaxError as error:  # valid syntax that Python still refuses (a nonlocal at module level)
            where = f"{filename}:{error.lineno}" if error.lineno else filename
            raise BadInput(f"{where}: cannot compile Python: {error.msg}", option="FILE") from None
        self.tree = tree
        self.parents = parents
        self.tables: dict[ast.AST, symtable.SymbolTable] = {tree: top}
        waiting: dict[tuple[str, int], deque[symtable.SymbolTable]] = {}
        stack = [top]
        while stack:
            table = stack.pop()
            for child in table.get_children():
                waiting.setdefault((child.get_name(), child.get_lineno()), deque()).append(child)
                stack.append(child)
        for node in ast.walk(tree):  # tables of the same name and line are matched in source order
            name = node.name if isinstance(node, Definition) else SCOPE_NAMES.get(type(node))
            queue = waiting.get((name, node.lineno)) if name else None  # type: ignore[attr-defined]
            if queue:
                self.tables[node] = queue.popleft()

    def enclosing(self, at: ast.AST) -> ast.AST:
        """The scope whose code contains ``at`` (a function's defaults and decorators, a class's
        bases and a comprehension's first iterable belong to the enclosing scope, as Python runs them)."""
        child, current = at, self.parents.get(at)
        path: list[ast.AST] = [at]
        while current is not None:
            if current in self.tables and self._inside(current, child, path):
                return current
            path.append(current)
            child, current = current, self.parents.get(current)
        return self.tree

    @staticmethod
    def _inside(scope: ast.AST, child: ast.AST, path: list[ast.AST]) -> bool:
        """True when ``child`` (with ``path`` below it) is part of ``scope``'s own code."""
        if isinstance(scope, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            if child is scope.args:  # the parameters are the function's; their defaults are not
                below = path[-2] if len(path) >= 2 else None
                return not any(below is default for default in [*scope.args.defaults, *scope.args.kw_defaults])
            return child is scope.body or (isinstance(scope.body, list) and child in scope.body)
        if isinstance(scope, ast.ClassDef):
            return child in scope.body
        if isinstance(scope, ast.ListComp | ast.SetComp | ast.DictComp | ast.GeneratorExp):
            first = scope.generators[0]
            return not (child is first and len(path) >= 2 and path[-2] is first.iter)
        return True

    def symbol(self, scope: ast.AST, name: str) -> symtable.Symbol | None:
        table = self.tables.get(scope)
        if table is None:
            return None
        try:
            return table.lookup(name)
        except KeyError:
            return None

    def scope_of(self, name: str, at: ast.AST | None) -> ast.AST:
        """The scope whose binding of the plain ``name`` the code at ``at`` reads or assigns: the
        innermost scope that binds it, skipping class bodies seen from inside their methods; the
        module for globals (declared or implicit)."""
        if at is None:
            return self.tree
        scope = self.enclosing(at)
        innermost = True
        while scope is not self.tree:
            symbol = self.symbol(scope, name)
            function_like = not isinstance(scope, ast.ClassDef)
            if symbol is not None and (innermost or function_like):
                if symbol.is_global():
                    return self.tree
                if symbol.is_local():
                    return scope
            innermost = False
            scope = self.enclosing(scope)
        return self.tree

    def is_parameter(self, scope: ast.AST, name: str) -> bool:
        """True when ``name`` is a parameter of the function (or lambda) ``scope``."""
        symbol = self.symbol(scope, name) if not isinstance(scope, ast.Module | ast.ClassDef) else None
        return symbol is not None and symbol.is_parameter()
