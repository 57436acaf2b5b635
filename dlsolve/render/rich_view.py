"""The default view: the working in a terminal, with Rich (the only module that imports it)."""

from __future__ import annotations

import math
import os
import warnings
from typing import TYPE_CHECKING, TextIO

from rich import box
from rich.cells import cell_len
from rich.console import Console, Group, RenderableType
from rich.padding import Padding
from rich.panel import Panel
from rich.table import Table as RichTable
from rich.text import Text

from dlsolve.render import layout
from dlsolve.solution import Block, Heatmap, Plot, Series, Solution, Step, Table

if TYPE_CHECKING:  # only for annotations: importing problems (tomllib, ...) costs start-up time
    from dlsolve.problems import Outcome


#: Width of the view when the output is not a terminal and ``COLUMNS`` is not set.
PIPE_WIDTH = 80


def view_width(stream: TextIO) -> int | None:
    """The terminal's width (``None``: Rich asks the terminal), else ``COLUMNS``, else 80."""
    if stream.isatty():
        return None
    columns = os.environ.get("COLUMNS", "")
    return int(columns) if columns.isdigit() and int(columns) > 0 else PIPE_WIDTH


def make_console(stream: TextIO) -> Console:
    """A console on ``stream``, as wide as :func:`view_width` says."""
    return Console(file=stream, width=view_width(stream), highlight=False, soft_wrap=False)


def _table(block: Table, width: int = 100, *, transposed: bool = False) -> RenderableType | None:
    """A table no wider than ``width`` whose cells wrap only at spaces: each column at least as
    wide as its longest word. When even that does not fit: turned (one row per column) when it has
    few rows and that fits, else one record per row (``column: value`` lines). ``None`` for a turned
    table that does not fit. Numeric columns are right-aligned, text columns left-aligned."""
    count = max([len(block.columns), *(len(row) for row in block.rows)], default=0)
    columns = block.columns + [""] * (count - len(block.columns))
    rows = [row + [""] * (count - len(row)) for row in block.rows]
    cells = [[columns[j], *(row[j] for row in rows)] for j in range(count)]
    natural = [max(cell_len(line) for cell in column for line in cell.split("\n")) for column in cells]
    least = [max(cell_len(word) for cell in column for word in [*cell.split(), ""]) for column in cells]
    # between columns: a space of padding each side and the rule's space, or the space alone
    padding = 1 if sum(least) + 3 * (count - 1) <= width else 0
    chrome = (2 * padding + 1) * (count - 1)
    if count and sum(least) + chrome > width:
        if transposed:
            return None
        if len(rows) + 1 < count:  # few long rows: one row per column, if that fits
            flipped = [list(column) for column in zip(columns, *rows, strict=True)]
            turned = _table(Table(flipped[0], flipped[1:], block.title), width, transposed=True)
            if turned is not None:
                return turned
        return _records(columns, rows, block.title)
    widths = natural
    if sum(natural) + chrome > width:
        widths = [int(w) for w in layout.column_widths(natural, least, width - chrome)]
    table = RichTable(
        title=Text(block.title) if block.title else None,
        title_justify="left",
        box=box.SIMPLE_HEAD,
        show_edge=False,
        pad_edge=False,
        padding=(0, padding),
    )
    for index, column in enumerate(columns):
        numeric = index > 0 and layout.numeric_column(cells[index][1:])
        table.add_column(Text(column), justify="right" if numeric else "left", width=widths[index], overflow="fold")
    for row in rows:
        table.add_row(*map(Text, row))
    return table


def _records(columns: list[str], rows: list[list[str]], title: str) -> RenderableType:
    """A table too wide for the screen, stacked: the first cell of each row, then the others as
    ``column: value`` lines."""
    lines: list[RenderableType] = [Text(title)] if title else []
    for row in rows:
        lines.append(Text(row[0], style="bold"))
        for column, cell in zip(columns[1:], row[1:], strict=False):
            line = Text("  ")
            line.append(column + ": ", style="dim")
            line.append(cell)
            lines.append(Padding(line, (0, 0, 0, 0)))
    return Group(*lines)


def _colour(value: float, low: float, high: float) -> str:
    """Background colour for ``value`` (see :func:`dlsolve.render.layout.heat_rgb`)."""
    return "rgb({},{},{})".format(*layout.heat_rgb(value, low, high))


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
        return _table(block, width) or Text("")
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
    # inside the outer panel (border and padding: 4 columns), at this step's indent
    parts.extend(_indented(renderable(block, width - 4 - body_indent), body_indent) for block in step.blocks)
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
        shown = "  ".join(f"{key}={input_text(value)}" for key, value in solution.inputs.items() if value is not None)
        parts.append(Text(shown, style="dim"))
    from dlsolve.render.board import steps_once

    for index, step in enumerate(steps_once(solution), 1):
        parts += [Text(""), *_step_parts(step, f"{index}.", width)]
    parts.extend(renderable(block, width - 4) for block in solution.blocks)
    parts += [
        Text(""),
        Panel(Text(solution.summary, style="bold"), title=Text("Answer"), border_style="green", expand=False),
    ]
    for warning in solution.warnings:
        parts.append(Text(f"warning: {warning}", style="yellow"))
    parts.extend(epilogue or [])
    return _panel(parts, heading or f"dlsolve {solution.command}", width, "blue")


def _panel(parts: list[RenderableType], heading: str, width: int, colour: str) -> Panel:
    """A panel titled ``heading``; a heading too long for the border goes inside, wrapped."""
    if cell_len(heading) + 6 <= width:
        return Panel(Group(*parts), title=Text(heading), title_align="left", border_style=colour)
    return Panel(Group(Text(heading, style="bold"), *parts), border_style=colour)


def input_text(value: object) -> str:
    """An input value as the user would type it: ``1,0;0,1`` for a matrix, ``1, 2`` for a list."""
    if isinstance(value, list):
        if value and all(isinstance(row, list) for row in value):
            return "; ".join(", ".join(map(str, row)) for row in value)
        return ", ".join(map(str, value))
    return str(value)


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
        return _panel([*preface, body, *after], heading, width, "red")
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
