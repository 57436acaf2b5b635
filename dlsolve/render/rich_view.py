"""The default view: the working in a terminal, with Rich (the only module that imports it)."""

from __future__ import annotations

import math
import os
import warnings
from typing import TYPE_CHECKING, TextIO

from rich.cells import cell_len
from rich.console import Console, Group, RenderableType
from rich.padding import Padding
from rich.panel import Panel
from rich.table import Table as RichTable
from rich.text import Text

from dlsolve.solution import Block, Heatmap, Plot, Series, Solution, Step, Table

if TYPE_CHECKING:  # only for annotations: importing problems (tomllib, ...) costs start-up time
    from dlsolve.problems import Outcome


def make_console(stream: TextIO) -> Console:
    """A console on ``stream``; the width follows the terminal, or ``COLUMNS``, or 100."""
    width = None if stream.isatty() else int(os.environ.get("COLUMNS", "100") or 100)
    return Console(file=stream, width=width, highlight=False, soft_wrap=False)


def _table(block: Table) -> RichTable:
    table = RichTable(title=Text(block.title) if block.title else None, title_justify="left", show_lines=False)
    for index, column in enumerate(block.columns):
        table.add_column(Text(column), justify="left" if index == 0 else "right", overflow="fold")
    for row in block.rows:
        table.add_row(*map(Text, row))
    return table


def _colour(value: float, low: float, high: float) -> str:
    """Background colour for ``value``: diverging blue-white-red around 0 if signs are mixed."""
    if low < 0 < high:
        scale = max(-low, high)
        t = value / scale if scale else 0.0
        strength = int(200 * min(abs(t), 1.0))
        if t >= 0:
            return f"rgb(255,{255 - strength},{255 - strength})"
        return f"rgb({255 - strength},{255 - strength},255)"
    span = high - low
    t = (value - low) / span if span else 0.0
    strength = int(200 * min(max(t, 0.0), 1.0))
    if high <= 0:
        strength = 200 - strength
    return f"rgb({255 - strength},{255 - strength // 3},255)"


def _heatmap(block: Heatmap, width: int) -> RenderableType:
    """The matrix as aligned rows of coloured cells, like a printed array (no table borders).

    Columns that do not fit in ``width`` continue below, in further column bands, as NumPy and
    pandas wrap wide arrays. Row labels are bold, column labels dim.
    """
    finite = [v for row in block.values for v in row if v == v and abs(v) != float("inf")]
    low, high = (min(finite), max(finite)) if finite else (0.0, 0.0)
    count = min((len(row) for row in block.cells), default=0)
    row_labels = block.row_labels or [str(i) for i in range(len(block.cells))]
    col_labels = block.col_labels or [str(j) for j in range(count)]
    label_width = max((cell_len(label) for label in row_labels), default=0)
    widths = [max(cell_len(col_labels[j]), *(cell_len(row[j]) for row in block.cells)) + 2 for j in range(count)]
    bands: list[list[int]] = [[]]
    used = label_width
    for j, column_width in enumerate(widths):
        if bands[-1] and used + 1 + column_width > width:
            bands.append([])
            used = label_width
        bands[-1].append(j)
        used += 1 + column_width
    lines: list[RenderableType] = [Text(block.title)] if block.title else []
    for band in bands if count else []:
        header = Text(" " * label_width)
        for j in band:
            header.append(" " + col_labels[j].rjust(widths[j] - 1) + " ", style="dim")
        lines.append(header)
        for label, cells, values in zip(row_labels, block.cells, block.values, strict=False):
            line = Text(label.ljust(label_width), style="bold")
            for j in band:
                value = values[j]
                finite_value = value == value and abs(value) != float("inf")
                line.append(" ")
                cell = (" " + cells[j] + " ").rjust(widths[j])
                line.append(cell, style="black on " + _colour(value, low, high) if finite_value else "dim")
            lines.append(line)
    return Group(*lines)


def _finite_points(series: Series, logy: bool) -> tuple[list[float], list[float]]:
    points = [
        (x, y)
        for x, y in zip(series.x, series.y, strict=False)
        if math.isfinite(x) and math.isfinite(y) and (y > 0 or not logy)
    ]
    return [x for x, _ in points], [y for _, y in points]


def _plot(block: Plot, width: int) -> RenderableType:
    import uniplot

    curves = [(series.label, *_finite_points(series, block.logy)) for series in block.series]
    curves = [curve for curve in curves if curve[1]]
    if not curves:
        return Text(f"({block.title or 'plot'}: no finite points to draw)", style="dim")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # uniplot warns on degenerate ranges; the plot is still drawn
        try:
            text = uniplot.plot_to_string(
                [ys for _, _, ys in curves],
                [xs for _, xs, _ in curves],
                legend_labels=[label for label, _, _ in curves] if any(label for label, _, _ in curves) else None,
                title=block.title or None,
                width=max(20, min(width - 20, 90)),
                height=14,
                lines=True,
                y_as_log=block.logy,
                color=True,
            )
        except (ValueError, ZeroDivisionError, OverflowError):
            return Text(f"({block.title or 'plot'}: values cannot be drawn)", style="dim")
    caption = f"x: {block.xlabel}   y: {block.ylabel}" if block.xlabel or block.ylabel else ""
    lines = text if isinstance(text, list) else [text]
    return Group(Text.from_ansi("\n".join(lines)), Text(caption, style="dim"))


def renderable(block: Block, width: int = 100) -> RenderableType:
    """A display block as a Rich renderable."""
    if isinstance(block, Table):
        return _table(block)
    if isinstance(block, Heatmap):
        return _heatmap(block, width)
    return _plot(block, width)


def _indented(renderable: RenderableType, indent: int) -> RenderableType:
    return Padding(renderable, (0, 0, 0, indent)) if indent else renderable


def _step_parts(step: Step, number: str, width: int, indent: int = 0) -> list[RenderableType]:
    """A step as a flat list (title, text, blocks, substeps), each indented once.

    Flat rather than nested: Rich re-renders every line once per level of nesting, and the steps
    of a sheet nest three or four levels deep.
    """
    parts = [_indented(Text(f"{number} {step.title}", style="bold cyan"), indent)]
    body_indent = indent + 3
    if step.text.strip():
        parts.append(_indented(Text(step.text.rstrip()), body_indent))
    parts.extend(_indented(renderable(block, width - 4 - indent), body_indent) for block in step.blocks)
    for index, substep in enumerate(step.substeps, 1):
        parts += _step_parts(substep, f"{number}{index}.", width, body_indent)
    return parts


def solution_renderable(
    solution: Solution,
    width: int = 100,
    *,
    heading: str | None = None,
    preface: list[RenderableType] | None = None,
    epilogue: list[RenderableType] | None = None,
) -> RenderableType:
    """The whole solution: inputs, numbered steps, answer box, warnings (between preface and epilogue)."""
    parts: list[RenderableType] = list(preface or [])
    if solution.inputs:
        shown = "  ".join(f"{key}={value}" for key, value in solution.inputs.items() if value is not None)
        parts.append(Text(shown, style="dim"))
    for index, step in enumerate(solution.steps, 1):
        parts += [Text(""), *_step_parts(step, f"{index}.", width)]
    parts.extend(renderable(block, width) for block in solution.blocks)
    parts += [
        Text(""),
        Panel(Text(solution.summary, style="bold"), title=Text("Answer"), border_style="green", expand=False),
    ]
    for warning in solution.warnings:
        parts.append(Text(f"warning: {warning}", style="yellow"))
    parts.extend(epilogue or [])
    title = Text(heading or f"dlsolve {solution.command}")
    return Panel(Group(*parts), title=title, title_align="left", border_style="blue")


def _outcome(outcome: Outcome, width: int, check: bool) -> RenderableType:
    problem = outcome.problem
    heading = f"{problem.id}: {problem.title}" if problem.title else problem.id
    preface: list[RenderableType] = []
    if problem.question:
        preface.append(Text(problem.question.strip(), style="italic"))
    after: list[RenderableType] = []
    if problem.note:
        after.append(Text(f"Note: {problem.note}", style="dim"))
    if check:
        after.append(Text(f"Check: {outcome.verdict}", style="green" if outcome.passed else "bold red"))
    if outcome.solution is None:
        body = Text(f"No valid answer: {outcome.error}", style="red")
        return Panel(Group(*preface, body, *after), title=Text(heading), title_align="left", border_style="red")
    return solution_renderable(outcome.solution, width, heading=heading, preface=preface, epilogue=after)


def _check_table(outcomes: list[Outcome]) -> RichTable:
    table = RichTable(title="Check against expected answers", title_justify="left")
    table.add_column("problem")
    table.add_column("result")
    table.add_column("details", overflow="fold")
    for outcome in outcomes:
        result = Text("pass", style="green") if outcome.passed else Text("FAIL", style="bold red")
        details = "; ".join(outcome.mismatches or []) if not outcome.passed else ""
        table.add_row(Text(outcome.problem.id), result, Text(details))
    passed = sum(outcome.passed for outcome in outcomes)
    table.caption = f"{passed}/{len(outcomes)} passed"
    return table


def render_sheet(outcomes: list[Outcome], stream: TextIO, *, check: bool = False) -> None:
    """One panel per problem (question, working, boxed answer), then the check table."""
    console = make_console(stream)
    for outcome in outcomes:
        console.print(_outcome(outcome, console.width, check))
    if check:
        console.print(_check_table(outcomes))


def render(solution: Solution, stream: TextIO) -> None:
    console = make_console(stream)
    console.print(solution_renderable(solution, console.width))
