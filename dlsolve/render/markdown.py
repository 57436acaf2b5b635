"""``--markdown``: the working as GitHub-flavoured Markdown with GitHub's maths (``$...$``, ``$$``).

The same board as the LaTeX key (:mod:`dlsolve.render.board` reads each step): prose as text with
its maths inline, the display maths once, matrices typeset, tables as Markdown tables, plots as a
table of their values, the answer in a quote block.
"""

from __future__ import annotations

import math
import re
from typing import TYPE_CHECKING, TextIO

from dlsolve.fmt import decimal
from dlsolve.render import board, layout, linebreak, notation
from dlsolve.solution import Block, Heatmap, Plot, Solution, Step, Table

if TYPE_CHECKING:  # only for annotations: importing problems (tomllib, ...) costs start-up time
    from dlsolve.problems import Outcome

#: Most rows of a plot's table of values (longer series are sampled evenly, the last point kept).
PLOT_ROWS = 20

_MARKDOWN_SPECIAL = re.compile(r"([\\`*_<|$])")


def _text(text: str) -> str:
    return _MARKDOWN_SPECIAL.sub(r"\\\1", notation.text_symbols(text))


def _math(latex: str) -> str:
    """LaTeX for GitHub's maths: bars spelled ``\\vert`` (a bare ``|`` would end a table cell)."""
    return latex.replace(r"\|", r"\Vert ").replace("|", r"\vert ").strip()


def inline(parts: list[tuple[str, str]]) -> str:
    """Prose parts (:func:`dlsolve.render.notation.segments`) as Markdown with ``$...$`` maths."""
    return board.join_parts(
        parts, math=lambda v: "$" + _math(v) + "$", code=lambda v: "`" + v.replace("`", "'") + "`", text=_text
    )


def prose(text: str, latex: str = "") -> str:
    """Plain text as Markdown with its maths (clauses ``latex`` says already left out)."""
    return board.prose(text, latex, inline)


def display(latex: str) -> list[str]:
    """A ``$$`` block; several lines (a formula too wide for one) in ``gathered``."""
    lines = [_math(line) for line in linebreak.display_lines(latex)]
    if not lines:
        return []
    body = lines[0] if len(lines) == 1 else "\\begin{gathered}" + r" \\ ".join(lines) + "\\end{gathered}"
    return ["$$", body, "$$", ""]


def _cell(text: str) -> str:
    return inline(notation.segments(text.replace("\n", " "))) if text.strip() else ""


def _table(columns: list[str], rows: list[list[str]], title: str) -> list[str]:
    count = max([len(columns), *(len(row) for row in rows)], default=0)
    if not count:
        return []
    columns = columns + [""] * (count - len(columns))
    rows = [row + [""] * (count - len(row)) for row in rows]
    align = ["---:" if j and layout.numeric_column([row[j] for row in rows]) else "---" for j in range(count)]
    lines = [f"*{inline(notation.segments(title))}*", ""] if title else []
    lines.append("| " + " | ".join(_cell(c) for c in columns) + " |")
    lines.append("|" + "|".join(align) + "|")
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in rows]
    return [*lines, ""]


def _plot(block: Plot) -> list[str]:
    """A plot as the table of its values (one row per x, one column per curve)."""
    xs = sorted({x for series in block.series for x in series.x if math.isfinite(x)})
    if len(xs) > PLOT_ROWS:
        step = (len(xs) - 1) / (PLOT_ROWS - 1)
        xs = sorted({xs[round(i * step)] for i in range(PLOT_ROWS)})
    values = [dict(zip(series.x, series.y, strict=False)) for series in block.series]
    names = [series.label or block.ylabel or "y" for series in block.series]
    rows = [[decimal(x), *("" if (y := points.get(x)) is None else decimal(y) for points in values)] for x in xs]
    title = (block.title or "plot") + (" (log scale)" if block.logy else "") + ": values"
    return _table([block.xlabel or "x", *names], rows, title)


def block_lines(block: Block) -> list[str]:
    """A display block as Markdown lines."""
    if isinstance(block, Table):
        return _table(block.columns, block.rows, block.title)
    if isinstance(block, Heatmap):
        if not block.cells:
            return []
        labelled = not (board.default_labels(block.row_labels) and board.default_labels(block.col_labels))
        if not labelled:
            caption = [] if board.short_name(block.title) or not block.title else [f"*{_text(block.title)}*", ""]
            return caption + display(board.heatmap_latex(block))
        grid = board.heatmap_grid(block)
        return _table(grid.columns, [[label, *(cell for cell, _ in cells)] for label, cells in grid.rows], block.title)
    return _plot(block)


def step_lines(step: Step, number: str = "", depth: int = 0) -> list[str]:
    """One step (and its substeps) as Markdown lines."""
    heading = "#" * (3 + min(depth, 3))
    lines = [f"{heading} {number + ' ' if number else ''}{inline(notation.segments(step.title))}", ""]
    return lines + board.lay_out(
        step, number, depth, prose=_paragraph, display=display, block=block_lines, substep=step_lines
    )


def _paragraph(lines: list[list[tuple[str, str]]]) -> list[str]:
    """Lines of prose kept as lines (a Markdown line break is two trailing spaces)."""
    return ["  \n".join(inline(parts) for parts in lines), ""]


def answer_lines(solution: Solution) -> list[str]:
    """The answer in a quote block: the summary, and the typeset answer when it shows a matrix or
    numbers the summary does not."""
    latex = solution.answer_latex
    if latex and ("\\begin{" in latex or not board.says_numbers(solution.summary, latex)):
        words = board.answer_words(solution.summary, latex)
        inner = [f"**Answer.** {prose(words)}".rstrip(), "", *display(latex)]
    else:
        inner = [f"**Answer.** {prose(' '.join(solution.summary.split()))}", ""]
    return [("> " + line).rstrip() for line in inner[:-1]] + [""]


def body(solution: Solution) -> str:
    """Steps, answer and warnings as Markdown (no top-level heading)."""
    lines = []
    for index, step in enumerate(board.typeset_steps(solution), 1):
        lines += step_lines(step, f"{index}.")
    for block in solution.blocks:
        lines += block_lines(block)
    lines += answer_lines(solution)
    lines += [f"> **Warning:** {prose(warning)}" for warning in solution.warnings]
    return "\n".join(lines).rstrip() + "\n"


def render(solution: Solution, stream: TextIO) -> None:
    stream.write(f"## dlsolve {solution.command}\n\n" + body(solution))


def render_sheet(outcomes: list[Outcome], stream: TextIO, *, check: bool = False) -> None:
    """An answer key: one section per problem (question, working, answer, note)."""
    lines = ["# Answer key", ""]
    for outcome in outcomes:
        problem = outcome.problem
        lines += [f"## {problem.id}: {inline(notation.segments(problem.title))}".rstrip(": "), ""]
        if problem.question:
            lines += ["*" + prose(" ".join(problem.question.split())) + "*", ""]
        if outcome.solution is not None:
            lines += [body(outcome.solution)]
        else:
            lines += [f"**No valid answer:** {_text(str(outcome.error))}", ""]
        if problem.note:
            lines += [f"*Note:* {prose(problem.note)}", ""]
        if check:
            lines += ["**Check:** " + _text(outcome.verdict), ""]
    stream.write("\n".join(lines).rstrip() + "\n")
