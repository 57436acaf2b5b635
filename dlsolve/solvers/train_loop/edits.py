"""The mechanical fixes of ``train-loop`` (``--diff``): edits of the source text, applied together.

An :class:`Edit` replaces a character range of the source; :class:`SourceEditor` makes the edits the
rules need (insert a line before or after a statement, delete, replace, wrap in ``torch.no_grad()``)
and applies every non-overlapping one (:meth:`SourceEditor.corrected`); :func:`unified_diff` shows
the result as a patch.
"""

from __future__ import annotations

import ast
import difflib
from dataclasses import dataclass

from dlsolve.solvers.train_loop.vocabulary import ACTIVATION_CALLS, FUNCTIONAL_MODULES, dotted


@dataclass(frozen=True)
class Edit:
    """Replace source characters ``[start, end)`` by ``text`` (absolute offsets)."""

    start: int
    end: int
    text: str


class SourceEditor:
    """The source text, its line offsets, and the edits collected so far."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.edits: list[Edit] = []
        self.line_starts = [0]
        for line in source.splitlines(keepends=True):
            self.line_starts.append(self.line_starts[-1] + len(line))

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

    def replace(self, node: ast.AST, text: str) -> Edit:
        """An edit replacing the source of ``node`` by ``text``."""
        start = self.offset(node.lineno, node.col_offset)  # type: ignore[attr-defined]
        return Edit(start, self.offset(node.end_lineno or 0, node.end_col_offset or 0), text)  # type: ignore[attr-defined]

    def wrap_no_grad(self, statement: ast.stmt) -> Edit:
        start = self.offset(statement.lineno, 0)
        end = self.line_starts[statement.end_lineno or statement.lineno]
        lines = self.source[start:end].splitlines(keepends=True)
        indented = "".join("    " + line if line.strip() else line for line in lines)
        if not indented.endswith("\n"):
            indented += "\n"
        return Edit(start, end, self.indent(statement) + "with torch.no_grad():\n" + indented)

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


def unified_diff(original: str, corrected: str, filename: str) -> str:
    """A ``patch -p1``-style unified diff from ``original`` to ``corrected`` (empty when equal)."""
    name = filename.lstrip("/") if filename != "<stdin>" else "stdin"
    lines = difflib.unified_diff(
        original.splitlines(keepends=True), corrected.splitlines(keepends=True), f"a/{name}", f"b/{name}"
    )
    return "".join(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n" for line in lines)
