"""``html``: one self-contained page (no network, no JavaScript) with the maths in MathML.

The same board as the LaTeX key (:mod:`dlsolve.render.board` reads each step): numbered steps with
the prose as text and its maths inline, the display maths once, matrices typeset, tables, heatmaps
as shaded tables, plots as inline SVG with their values, the answer in a box. Current browsers
render MathML natively. The LaTeX of each formula becomes MathML through ``latex2mathml`` (a small
pure-Python converter, imported on first use): SymPy's MathML printer needs SymPy expressions, and
the steps carry their maths as LaTeX text. A formula the converter cannot read is shown as LaTeX
source in ``<code>``, so the page is always well formed.
"""

from __future__ import annotations

import functools
import math
import re
from html import escape
from typing import TYPE_CHECKING, TextIO

from dlsolve.fmt import decimal
from dlsolve.render import board, layout, linebreak, notation
from dlsolve.solution import Block, Heatmap, Plot, Solution, Step, Table

if TYPE_CHECKING:  # only for annotations: importing problems (tomllib, ...) costs start-up time
    from dlsolve.problems import Outcome

#: Characters of display maths per line on the page (it is wider than the LaTeX key's).
LINE_CHARS = 80

STYLE = """
:root { --ink: #1d2330; --muted: #5b6475; --rule: #d5dae3; --accent: #1f5fa8; --answer: #e9f5ec; }
* { box-sizing: border-box; }
body { margin: 0; background: #f4f5f7; color: var(--ink);
  font: 16px/1.55 "Charter", "Georgia", "Cambria", "Times New Roman", serif; }
main { max-width: 52rem; margin: 2rem auto; padding: 2.5rem 3rem; background: #fff;
  box-shadow: 0 1px 4px rgba(0, 0, 0, .08); }
header h1 { margin: 0 0 .2rem; font-size: 1.7rem; }
header p { margin: 0 0 1.5rem; color: var(--muted); }
section.problem { border-top: 2px solid var(--ink); padding-top: .6rem; margin-top: 2rem; }
h2 { font-size: 1.25rem; margin: 0 0 .4rem; }
h2 .id { color: var(--accent); margin-right: .4rem; }
.question { font-style: italic; color: var(--muted); margin: 0 0 .8rem; }
ol.steps { padding-left: 1.6rem; margin: .5rem 0; }
ol.steps > li { margin: .7rem 0; }
ol.steps ol.steps > li { margin: .35rem 0; }
.title { font-weight: bold; }
ol.steps ol.steps .title { font-weight: normal; font-style: italic; }
p { margin: .25rem 0; }
.display { margin: .45rem 0; padding: .15rem 0; overflow: auto hidden; }
.display math { display: block; margin: .15rem 0; }
table { border-collapse: collapse; margin: .5rem 0; font-size: .92rem; }
caption { white-space: nowrap; caption-side: top; text-align: left; font-style: italic; color: var(--muted);
  padding-bottom: .2rem; }
th, td { padding: .18rem .6rem; border-bottom: 1px solid var(--rule); text-align: left; vertical-align: top; }
thead th { border-bottom: 1.5px solid var(--ink); }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
table.heatmap td { text-align: right; font-variant-numeric: tabular-nums; border: 1px solid #fff; }
.table-wrap { overflow-x: auto; }
figure { margin: .6rem 0; }
figcaption { font-style: italic; color: var(--muted); }
svg text { font: 11px sans-serif; fill: var(--muted); }
.answer { border: 1.5px solid #2e7d46; background: var(--answer); border-radius: 4px;
  padding: .6rem .9rem; margin: 1rem 0 .6rem; }
.answer .label { font-weight: bold; color: #2e7d46; margin-right: .4rem; }
.warning { border-left: 4px solid #c77700; background: #fff7e6; padding: .3rem .7rem; margin: .4rem 0; }
.note { color: var(--muted); }
.error { color: #a11; }
code { font-family: "SFMono-Regular", Consolas, "Liberation Mono", monospace; font-size: .88em; }
code.keep { white-space: nowrap; }
@media print { body { background: #fff; } main { box-shadow: none; margin: 0; padding: 0; max-width: none; } }
"""


@functools.lru_cache(maxsize=2048)
def mathml(latex: str, display: bool = False) -> str:
    """``latex`` as a ``<math>`` element (its LaTeX in ``<code>`` if it cannot be converted)."""
    import xml.etree.ElementTree as ElementTree

    from latex2mathml.converter import convert

    latex = _plain_specials(latex)
    try:
        element = convert(latex, display="block" if display else "inline")
        ElementTree.fromstring(element)  # well formed, or not used
    except Exception:  # any failure of the converter falls back to the source
        return "<code>" + escape(latex) + "</code>"
    return element


def _plain_specials(latex: str) -> str:
    """Escaped ``\\_``, ``\\#``, ``\\%`` inside an upright name (``\\mathrm{running\\_mean}``), which
    the converter would print with their backslash: the name becomes text with the plain characters."""
    if not re.search(r"\\[_#%]", latex):
        return latex
    return re.sub(
        r"\\(?:mathrm|text|operatorname)\{([^{}]*\\[_#%][^{}]*)\}",
        lambda match: "\\text{" + re.sub(r"\\([_#%])", r"\1", match.group(1)) + "}",
        latex,
    )


def _code(text: str) -> str:
    """Code in ``<code>``; a short one kept on one line (a browser breaks ``--precond`` after its
    first hyphen), a long one (a path) free to wrap."""
    return ('<code class="keep">' if len(text) <= 40 else "<code>") + escape(text) + "</code>"


def inline(parts: list[tuple[str, str]]) -> str:
    """Prose parts (:func:`dlsolve.render.notation.segments`) as HTML with inline MathML."""
    return board.join_parts(
        parts,
        math=mathml,
        code=_code,
        text=lambda v: escape(notation.text_symbols(v)),
    )


def prose(text: str, latex: str = "") -> str:
    """Plain text as HTML with its maths in MathML (clauses ``latex`` says already left out)."""
    return board.prose(text, latex, inline)


def _unaligned(latex: str) -> str:
    """``aligned``/``gathered`` blocks (which the converter does not know) as plain lines."""

    def lines(match: re.Match[str]) -> str:
        rows = linebreak.top_split(match.group(2), r"\\")
        return r" \\ ".join("".join(linebreak.top_split(row, "&")).strip() for row in rows)

    return re.sub(r"\\begin\{(aligned|gathered|align\*?|gather\*?)\}(.*?)\\end\{\1\}", lines, latex, flags=re.S)


def display(latex: str) -> str:
    """Display maths, one ``<math display="block">`` per line that fits the page."""
    lines = linebreak.display_lines(_unaligned(latex), LINE_CHARS, aligned=False)
    if not lines:
        return ""
    return '<div class="display">' + "".join(mathml(line, display=True) for line in lines) + "</div>"


def _table(columns: list[str], rows: list[list[str]], title: str) -> str:
    count = max([len(columns), *(len(row) for row in rows)], default=0)
    columns = columns + [""] * (count - len(columns))
    rows = [row + [""] * (count - len(row)) for row in rows]
    numeric = [j > 0 and layout.numeric_column([row[j] for row in rows]) for j in range(count)]
    head = "".join(f"<th>{inline(notation.segments(c))}</th>" for c in columns)
    body = "".join(
        "<tr>"
        + "".join(
            f'<td class="num">{escape(cell)}</td>' if numeric[j] else f"<td>{inline(notation.segments(cell))}</td>"
            for j, cell in enumerate(row)
        )
        + "</tr>"
        for row in rows
    )
    caption = f"<caption>{inline(notation.segments(title))}</caption>" if title else ""
    return f'<div class="table-wrap"><table>{caption}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>'


def _heatmap(block: Heatmap) -> str:
    """A matrix typeset when it is only numbers; with row or column names, a shaded table."""
    if not block.cells:
        return ""
    if board.plain_matrix(block):
        return display(board.heatmap_latex(block))
    grid = board.heatmap_grid(block)
    rows = []
    for label, cells in grid.rows:
        tds = "".join(
            f'<td style="background: rgb({rgb[0]},{rgb[1]},{rgb[2]})">{escape(cell)}</td>'
            if rgb
            else f"<td>{escape(cell)}</td>"
            for cell, rgb in cells
        )
        rows.append(f"<tr><th>{escape(label)}</th>{tds}</tr>")
    head = "".join(f"<th>{escape(c)}</th>" for c in grid.columns)
    caption = f"<caption>{inline(notation.segments(block.title))}</caption>" if block.title else ""
    return (
        f'<div class="table-wrap"><table class="heatmap">{caption}<thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table></div>"
    )


_COLOURS = ("#1f5fa8", "#c0392b", "#2e7d46", "#d68910", "#7d3c98", "#117a65")


def _plot(block: Plot) -> str:
    """The curves as an inline SVG line chart (log scale when asked), then their values when few."""
    width, height, left, bottom = 560.0, 240.0, 56.0, 34.0
    finite = [
        (x, math.log10(y) if block.logy else y)
        for series in block.series
        for x, y in zip(series.x, series.y, strict=False)
        if math.isfinite(x) and math.isfinite(y) and (y > 0 or not block.logy)
    ]
    parts = ["<figure>"]
    if block.title:
        parts.append(f"<figcaption>{escape(block.title)}{' (log scale)' if block.logy else ''}</figcaption>")
    if len(finite) >= 2:
        x_low, x_high = min(p[0] for p in finite), max(p[0] for p in finite)
        y_low, y_high = min(p[1] for p in finite), max(p[1] for p in finite)
        x_span, y_span = (x_high - x_low) or 1.0, (y_high - y_low) or 1.0
        plot_w, plot_h = width - left - 110, height - bottom - 10

        def at(x: float, y: float) -> str:
            value = math.log10(y) if block.logy else y
            return f"{left + (x - x_low) / x_span * plot_w:.1f},{10 + plot_h - (value - y_low) / y_span * plot_h:.1f}"

        def tick(value: float, log: bool) -> str:
            return escape(decimal(10**value if log else value, 3))

        svg = [
            f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height:.0f}" '
            f'viewBox="0 0 {width:.0f} {height:.0f}" role="img">',
            f'<path d="M{left},10 V{10 + plot_h} H{left + plot_w}" fill="none" stroke="#888"/>',
            f'<text x="{left - 6}" y="{10 + plot_h}" text-anchor="end">{tick(y_low, block.logy)}</text>',
            f'<text x="{left - 6}" y="18" text-anchor="end">{tick(y_high, block.logy)}</text>',
            f'<text x="{left}" y="{height - 16}" text-anchor="middle">{tick(x_low, False)}</text>',
            f'<text x="{left + plot_w}" y="{height - 16}" text-anchor="middle">{tick(x_high, False)}</text>',
            f'<text x="{left + plot_w / 2}" y="{height - 4}" text-anchor="middle">{escape(block.xlabel)}</text>',
            f'<text x="12" y="{10 + plot_h / 2}" text-anchor="middle" transform="rotate(-90 12 {10 + plot_h / 2})">'
            f"{escape(block.ylabel)}</text>",
        ]
        for index, series in enumerate(block.series):
            colour = _COLOURS[index % len(_COLOURS)]
            points = [
                at(x, y)
                for x, y in zip(series.x, series.y, strict=False)
                if math.isfinite(x) and math.isfinite(y) and (y > 0 or not block.logy)
            ]
            if points:
                svg.append(f'<polyline points="{" ".join(points)}" fill="none" stroke="{colour}" stroke-width="2"/>')
                svg += [
                    f'<circle cx="{p.split(",")[0]}" cy="{p.split(",")[1]}" r="2.5" fill="{colour}"/>' for p in points
                ]
            if series.label:
                y = 18 + 16 * index
                svg.append(
                    f'<line x1="{left + plot_w + 12}" y1="{y - 4}" x2="{left + plot_w + 28}" y2="{y - 4}" '
                    f'stroke="{colour}" stroke-width="2"/>'
                    f'<text x="{left + plot_w + 32}" y="{y}">{escape(series.label)}</text>'
                )
        parts.append("".join(svg) + "</svg>")
    parts.append("</figure>")
    if block.series and max(len(series.x) for series in block.series) <= 12:
        xs = sorted({x for series in block.series for x in series.x})
        rows = [
            [
                series.label or block.ylabel or "y",
                *("" if (y := dict(zip(series.x, series.y, strict=False)).get(x)) is None else decimal(y) for x in xs),
            ]
            for series in block.series
        ]
        parts.append(_table([block.xlabel or "x", *(decimal(x) for x in xs)], rows, ""))
    return "".join(parts)


def block_html(block: Block) -> str:
    """A display block as HTML."""
    if isinstance(block, Table):
        return _table(block.columns, block.rows, block.title)
    return _heatmap(block) if isinstance(block, Heatmap) else _plot(block)


def step_html(step: Step) -> str:
    """One step as a list item: its title, prose, display maths, matrices, blocks, substeps."""
    parts = [f'<span class="title">{inline(notation.segments(step.title))}.</span> ']
    substeps = []
    for kind, item in board.items(step):
        if kind == "prose":
            parts += ["<p>" + inline(line) + "</p>" for line in item]  # type: ignore[attr-defined]
        elif kind == "display":
            parts.append(display(item))  # type: ignore[arg-type]
        elif kind == "block":
            if substeps:
                parts.append(_steps(substeps))
                substeps = []
            parts.append(block_html(item))  # type: ignore[arg-type]
        else:
            substeps.append(item)
    if substeps:
        parts.append(_steps(substeps))
    return "".join(parts)


def _steps(steps: list[Step]) -> str:
    return '<ol class="steps">' + "".join(f"<li>{step_html(s)}</li>" for s in steps) + "</ol>"


def answer_html(solution: Solution) -> str:
    """The boxed answer: the summary, with the typeset answer when it shows a matrix or numbers
    the summary does not."""
    latex = solution.answer_latex
    if latex and ("\\begin{" in latex or not board.says_numbers(solution.summary, latex)):
        words = board.answer_words(solution.summary, latex)
        inner = (f"<p>{prose(words)}</p>" if words else "") + display(latex)
    else:
        inner = f"<p>{prose(' '.join(solution.summary.split()))}</p>"
    return f'<div class="answer"><span class="label">Answer</span>{inner}</div>'


def body(solution: Solution) -> str:
    """Steps, answer and warnings (no page around them)."""
    parts = []
    steps = board.typeset_steps(solution)
    if steps:
        parts.append(_steps(steps))
    parts += [block_html(block) for block in solution.blocks]
    parts.append(answer_html(solution))
    parts += [f'<p class="warning"><strong>Warning:</strong> {prose(w)}</p>' for w in solution.warnings]
    return "\n".join(parts)


def page(title: str, content: str, subtitle: str = "") -> str:
    """A complete HTML page around ``content``: its own style sheet, nothing fetched."""
    sub = f"<p>{escape(subtitle)}</p>" if subtitle else ""
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{escape(title)}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<main>\n"
        f"<header><h1>{escape(title)}</h1>{sub}</header>\n{content}\n</main>\n</body>\n</html>\n"
    )


def render(solution: Solution, stream: TextIO) -> None:
    stream.write(page(f"dlsolve {solution.command}", body(solution)))


def render_sheet(outcomes: list[Outcome], stream: TextIO, *, check: bool = False) -> None:
    """An answer key: one section per problem (question, working, boxed answer, note)."""
    sections = []
    for outcome in outcomes:
        problem = outcome.problem
        parts = [
            f'<section class="problem" id="{escape(problem.id)}">',
            f'<h2><span class="id">{escape(problem.id)}</span>{inline(notation.segments(problem.title))}</h2>',
        ]
        if problem.question:
            parts.append(f'<p class="question">{prose(problem.question.strip())}</p>')
        if outcome.solution is not None:
            parts.append(body(outcome.solution))
        else:
            parts.append(f'<p class="error"><strong>No valid answer:</strong> {escape(str(outcome.error))}</p>')
        if problem.note:
            parts.append(f'<p class="note"><strong>Note:</strong> {prose(problem.note)}</p>')
        if check:
            parts.append(f"<p><strong>Check:</strong> {escape(outcome.verdict)}</p>")
        sections.append("\n".join([*parts, "</section>"]))
    count = len(outcomes)
    stream.write(page("Answer key", "\n".join(sections), f"{count} problem{'s' * (count != 1)}, worked by dlsolve"))
