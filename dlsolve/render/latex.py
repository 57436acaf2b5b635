"""``--latex``: the working as a LaTeX fragment (``document`` wraps fragments into a full file)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, TextIO

from dlsolve.solution import Block, Heatmap, Plot, Solution, Step, Table

if TYPE_CHECKING:  # only for annotations: importing problems (tomllib, ...) costs start-up time
    from dlsolve.problems import Outcome

_SPECIAL = {
    "\\": r"\textbackslash{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
}


def escape(text: str) -> str:
    """Plain text made safe for LaTeX."""
    return "".join(_SPECIAL.get(char, char) for char in text)


def _verbatim(text: str) -> list[str]:
    if not text.strip():
        return []
    return ["\\begin{verbatim}", text.rstrip(), "\\end{verbatim}"]


def _table(columns: list[str], rows: Iterable[list[str]], title: str) -> list[str]:
    lines = ["\\begin{center}"]
    if title:
        lines.append(f"\\textit{{{escape(title)}}}\\\\[2pt]")
    lines.append("\\begin{tabular}{" + "l" * len(columns) + "}")
    lines.append(" & ".join(f"\\textbf{{{escape(c)}}}" for c in columns) + r" \\ \hline")
    lines.extend(" & ".join(escape(cell) for cell in row) + r" \\" for row in rows)
    lines += ["\\end{tabular}", "\\end{center}"]
    return lines


def block_lines(block: Block) -> list[str]:
    """A display block as LaTeX lines."""
    if isinstance(block, Table):
        return _table(block.columns, block.rows, block.title)
    if isinstance(block, Heatmap):
        columns = [""] + (block.col_labels or [str(j) for j in range(len(block.cells[0]) if block.cells else 0)])
        labels = block.row_labels or [str(i) for i in range(len(block.cells))]
        return _table(columns, ([label, *row] for label, row in zip(labels, block.cells, strict=False)), block.title)
    if isinstance(block, Plot):
        return [f"% plot omitted: {escape(block.title)}"]
    return []


def step_lines(step: Step, depth: int = 0) -> list[str]:
    """One step (and its substeps) as LaTeX lines."""
    heading = "\\paragraph" if depth == 0 else "\\subparagraph"
    lines = [f"{heading}{{{escape(step.title)}}}"]
    lines += _verbatim(step.text)
    if step.latex:
        lines += ["\\[", step.latex, "\\]"]
    for block in step.blocks:
        lines += block_lines(block)
    for substep in step.substeps:
        lines += step_lines(substep, depth + 1)
    return lines


def fragment(solution: Solution) -> str:
    """The solution as a LaTeX fragment (no preamble)."""
    lines = []
    for step in solution.steps:
        lines += step_lines(step)
    for block in solution.blocks:
        lines += block_lines(block)
    lines.append("\\paragraph{Answer}")
    if solution.answer_latex:
        lines += ["\\[", "\\boxed{" + solution.answer_latex + "}", "\\]"]
    else:
        lines.append("\\fbox{" + escape(solution.summary) + "}")
    for warning in solution.warnings:
        lines.append("\\textbf{Warning:} " + escape(warning) + "\\par")
    return "\n".join(lines) + "\n"


def document(body: str, title: str = "dlsolve answer key") -> str:
    """A standalone document around ``body``."""
    return (
        "\\documentclass[11pt]{article}\n\\usepackage{amsmath,amssymb}\n\\usepackage[margin=2cm]{geometry}\n"
        f"\\title{{{escape(title)}}}\n\\date{{}}\n\\begin{{document}}\n\\maketitle\n{body}\\end{{document}}\n"
    )


def render(solution: Solution, stream: TextIO) -> None:
    stream.write(fragment(solution))


def render_sheet(outcomes: list[Outcome], stream: TextIO, *, check: bool = False) -> None:
    """A standalone LaTeX answer key: one section per problem."""
    parts = []
    for outcome in outcomes:
        problem = outcome.problem
        parts.append(f"\\section*{{{escape(problem.id)}: {escape(problem.title)}}}")
        if problem.question:
            parts.append("\\textit{" + escape(problem.question.strip()) + "}\\par")
        if outcome.solution is not None:
            parts.append(fragment(outcome.solution))
        else:
            parts.append("\\textbf{No valid answer:} " + escape(str(outcome.error)) + "\\par")
        if problem.note:
            parts.append("\\textbf{Note:} " + escape(problem.note) + "\\par")
        if check:
            verdict = outcome.verdict
            parts.append("\\textbf{Check:} " + escape(verdict) + "\\par")
    stream.write(document("\n".join(parts) + "\n"))
