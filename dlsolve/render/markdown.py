"""``--markdown``: the working as Markdown with ``$$`` maths, for notes and course sites."""

from __future__ import annotations

from typing import TYPE_CHECKING, TextIO

from dlsolve.solution import Block, Heatmap, Plot, Solution, Step, Table

if TYPE_CHECKING:  # only for annotations: importing problems (tomllib, ...) costs start-up time
    from dlsolve.problems import Outcome


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _table(columns: list[str], rows: list[list[str]], title: str) -> list[str]:
    lines = [f"*{title}*", ""] if title else []
    lines.append("| " + " | ".join(_cell(c) for c in columns) + " |")
    lines.append("|" + "---|" * len(columns))
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]
    return [*lines, ""]


def block_lines(block: Block) -> list[str]:
    """A display block as Markdown lines."""
    if isinstance(block, Table):
        return _table(block.columns, block.rows, block.title)
    if isinstance(block, Heatmap):
        width = len(block.cells[0]) if block.cells else 0
        columns = [""] + (block.col_labels or [str(j) for j in range(width)])
        labels = block.row_labels or [str(i) for i in range(len(block.cells))]
        rows = [[label, *row] for label, row in zip(labels, block.cells, strict=False)]
        return _table(columns, rows, block.title)
    if isinstance(block, Plot):
        return [f"*(plot: {block.title})*", ""]
    return []


def step_lines(step: Step, depth: int = 0) -> list[str]:
    """One step (and its substeps) as Markdown lines."""
    lines = ["#" * (3 + min(depth, 3)) + " " + step.title, ""]
    if step.text.strip():
        lines += ["```text", step.text.rstrip(), "```", ""]
    if step.latex:
        lines += ["$$", step.latex, "$$", ""]
    for block in step.blocks:
        lines += block_lines(block)
    for substep in step.substeps:
        lines += step_lines(substep, depth + 1)
    return lines


def body(solution: Solution) -> str:
    """Steps, answer and warnings as Markdown (no top-level heading)."""
    lines = []
    for step in solution.steps:
        lines += step_lines(step)
    for block in solution.blocks:
        lines += block_lines(block)
    lines += [f"**Answer:** {solution.summary}", ""]
    if solution.answer_latex:
        lines += ["$$", "\\boxed{" + solution.answer_latex + "}", "$$", ""]
    lines += [f"> **Warning:** {warning}" for warning in solution.warnings]
    return "\n".join(lines).rstrip() + "\n"


def render(solution: Solution, stream: TextIO) -> None:
    stream.write(f"## dlsolve {solution.command}\n\n" + body(solution))


def render_sheet(outcomes: list[Outcome], stream: TextIO, *, check: bool = False) -> None:
    """An answer key: one section per problem (question, working, answer, note)."""
    lines = ["# Answer key", ""]
    for outcome in outcomes:
        problem = outcome.problem
        lines += [f"## {problem.id}: {problem.title}".rstrip(": "), ""]
        if problem.question:
            lines += ["> " + line for line in problem.question.strip().splitlines()] + [""]
        if outcome.solution is not None:
            lines += [body(outcome.solution)]
        else:
            lines += [f"**No valid answer:** {outcome.error}", ""]
        if problem.note:
            lines += [f"*Note:* {problem.note}", ""]
        if check:
            lines += [
                "**Check:** " + outcome.verdict,
                "",
            ]
    stream.write("\n".join(lines).rstrip() + "\n")
