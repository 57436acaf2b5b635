"""``--latex``: the working as a LaTeX fragment (``document`` wraps fragments into a full file).

Each step once, as a TA writes it: a run-in heading, the prose as text with its maths typeset
inline, the step's display maths (its ``latex``) broken into ``gather*``/``aligned`` lines that fit
the page, matrices as ``bmatrix``, tables whose columns wrap (``longtable`` when long), plots drawn
in LaTeX's picture mode with their values, the answer in a framed box whose text wraps. Only
packages of a basic TeX Live (``texlive-latex-recommended``) are used, and pdflatex compiles it.
"""

from __future__ import annotations

import itertools
import math
from typing import TYPE_CHECKING, TextIO

from dlsolve.fmt import decimal
from dlsolve.render import board, layout, linebreak, notation
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
    "<": r"\textless{}",  # in the default OT1 encoding a bare < prints as an inverted exclamation mark
    ">": r"\textgreater{}",
    "|": r"\textbar{}",
}


#: The non-ASCII characters the working uses, as LaTeX any engine typesets (pdflatex has no glyph
#: for most of them, and the default fonts of xelatex/lualatex lack several).
_UNICODE = {
    "°": r"\ensuremath{^\circ}",
    "±": r"\ensuremath{\pm}",
    "²": r"\ensuremath{^2}",
    "³": r"\ensuremath{^3}",
    "¹": r"\ensuremath{^1}",
    "½": r"\ensuremath{\tfrac{1}{2}}",
    "·": r"\ensuremath{\cdot}",
    "×": r"\ensuremath{\times}",
    "Σ": r"\ensuremath{\Sigma}",
    "β": r"\ensuremath{\beta}",
    "γ": r"\ensuremath{\gamma}",
    "ε": r"\ensuremath{\varepsilon}",
    "η": r"\ensuremath{\eta}",
    "θ": r"\ensuremath{\theta}",
    "λ": r"\ensuremath{\lambda}",
    "Ψ": r"\ensuremath{\Psi}",
    "μ": r"\ensuremath{\mu}",
    "ρ": r"\ensuremath{\rho}",
    "σ": r"\ensuremath{\sigma}",
    "τ": r"\ensuremath{\tau}",
    "ᵀ": r"\ensuremath{^\top}",
    "ḡ": r"\ensuremath{\bar{g}}",
    "⁰": r"\ensuremath{^0}",
    "⁴": r"\ensuremath{^4}",
    "⁵": r"\ensuremath{^5}",
    "⁶": r"\ensuremath{^6}",
    "⁷": r"\ensuremath{^7}",
    "⁸": r"\ensuremath{^8}",
    "⁹": r"\ensuremath{^9}",
    "⁻": r"\ensuremath{^-}",
    "∂": r"\ensuremath{\partial}",
    "–": "--",
    "—": "---",
    "…": r"\ldots{}",
    "•": r"\textbullet{}",
    "←": r"\ensuremath{\leftarrow}",
    "→": r"\ensuremath{\rightarrow}",
    "∇": r"\ensuremath{\nabla}",
    "∈": r"\ensuremath{\in}",
    "∏": r"\ensuremath{\prod}",
    "−": r"\ensuremath{-}",
    "√": r"\ensuremath{\surd}",
    "∝": r"\ensuremath{\propto}",
    "∞": r"\ensuremath{\infty}",
    "≈": r"\ensuremath{\approx}",
    "≠": r"\ensuremath{\neq}",
    "≤": r"\ensuremath{\leq}",
    "≥": r"\ensuremath{\geq}",
    "⊗": r"\ensuremath{\otimes}",
    "⊙": r"\ensuremath{\odot}",
    "⋆": r"\ensuremath{\star}",
    "⌈": r"\ensuremath{\lceil}",
    "⌉": r"\ensuremath{\rceil}",
    "⌊": r"\ensuremath{\lfloor}",
    "⌋": r"\ensuremath{\rfloor}",
    # optim and lr-schedule
    "α": r"\ensuremath{\alpha}",
    "Δ": r"\ensuremath{\Delta}",
    "π": r"\ensuremath{\pi}",
    "ᵗ": r"\ensuremath{^t}",
    "₀": r"\ensuremath{_0}",
    "₁": r"\ensuremath{_1}",
    "₂": r"\ensuremath{_2}",
    "‖": r"\ensuremath{\|}",
}
_COMBINING_HAT = "\u0302"


def _char(char: str) -> str:
    known = _SPECIAL.get(char) or _UNICODE.get(char)
    if known or char.isascii():
        return known or char
    if char in notation.SYMBOLS:  # another Greek letter or symbol of the working's maths
        return "\\ensuremath{" + notation.SYMBOLS[char] + "}"
    return _spelled(char)


def ascii_maths(latex: str) -> str:
    """LaTeX maths with any character left outside ASCII spelled for pdflatex (``\\text{..}``)."""
    if latex.isascii():
        return latex
    return "".join(char if char.isascii() else "\\text{" + _char(char) + "}" for char in latex)


def _spelled(char: str) -> str:
    """A character pdflatex has no glyph for: its letters without accents (é -> e), else its name."""
    import unicodedata

    plain = unicodedata.normalize("NFKD", char).encode("ascii", "ignore").decode()
    if plain:
        return escape(plain)
    return "\\textsc{" + unicodedata.name(char, "symbol").lower() + "}"


def escape(text: str) -> str:
    """Plain text made safe for LaTeX: specials escaped, the working's symbols as LaTeX (``θ̂`` a hat)."""
    pieces: list[str] = []
    for char in text:
        if char == _COMBINING_HAT and pieces:
            base = pieces.pop()
            inner = base[len(r"\ensuremath{") : -1] if base.startswith(r"\ensuremath{") else base
            pieces.append(r"\ensuremath{\hat{" + inner + "}}")
        else:
            pieces.append(_char(char))
    return "".join(pieces)


def _code(text: str) -> str:
    """Code in typewriter type that may break after ``/``, ``.``, ``_`` and ``:`` (long paths)."""
    escaped = escape(text)
    for char in ("/", ".", r"\_", ":", ","):
        escaped = escaped.replace(char, char + r"\allowbreak{}")
    return r"\texttt{" + escaped + "}"


def inline(parts: list[tuple[str, str]]) -> str:
    """Prose parts (:func:`dlsolve.render.notation.segments`) as LaTeX text with inline maths."""
    return board.join_parts(
        parts, math=lambda v: "$" + ascii_maths(v) + "$", code=_code, text=lambda v: escape(notation.text_symbols(v))
    )


def prose(text: str, latex: str = "") -> str:
    """Plain text as LaTeX prose with its maths typeset (clauses ``latex`` says already left out)."""
    return board.prose(text, latex, inline)


def display(latex: str) -> list[str]:
    """Display maths that fits the page: ``\\[..\\]`` for one line, ``gather*`` for several."""
    lines = [ascii_maths(line) for line in linebreak.display_lines(latex)]
    if not lines:
        return []
    if len(lines) == 1:
        return ["\\[", lines[0], "\\]"]
    return ["\\begin{gather*}", " \\\\\n".join(lines), "\\end{gather*}"]


#: Characters of \small text that fit on a line of the key.
_TABLE_CHARS = 105


def _table(columns: list[str], rows: list[list[str]], title: str) -> list[str]:
    """A table that fits the page: natural columns when they fit, else wrapping ``p`` columns
    (each at least as wide as its longest word, the rest shared by content; a smaller font when
    even that does not fit); ``longtable`` (breaks across pages) when long."""
    count = max([len(columns), *(len(row) for row in rows)], default=0)
    if not count:
        return []
    columns = columns + [""] * (count - len(columns))
    rows = [row + [""] * (count - len(row)) for row in rows]
    cells = [[columns[j], *(row[j] for row in rows)] for j in range(count)]
    # in characters of the table's font, with the column's padding (typewriter code is wider)
    natural = [max(len(cell) for cell in column) + 3 for column in cells]
    size, budget = "\\small", _TABLE_CHARS
    if sum(natural) <= budget:
        spec = "".join("r" if j and layout.numeric_column([row[j] for row in rows]) else "l" for j in range(count))
    else:
        least = [
            math.ceil(max(len(word) for cell in column for word in [*cell.split(), ""]) * 1.15) + 3 for column in cells
        ]
        if sum(least) > budget:
            size, budget = "\\scriptsize", int(_TABLE_CHARS * 1.35)
            if sum(least) > budget and len(rows) + 1 < count:  # too wide even so: one row per column
                return _table(
                    [columns[0], *(row[0] for row in rows)],
                    [list(column) for column in zip(*[columns, *rows], strict=True)][1:],
                    title,
                )
        shares = [share * 0.995 for share in layout.column_widths(natural, least, budget)]  # printed rounded
        spec = "".join(
            ">{\\raggedright\\arraybackslash}p{\\dimexpr "
            + f"{math.floor(share / budget * 1000) / 1000:.3f}"
            + "\\linewidth-2\\tabcolsep}"
            for share in shares
        )
    header = " & ".join("\\textbf{" + _cell(c) + "}" for c in columns) + r" \\ \hline"
    body = [" & ".join(_cell(cell) for cell in row) + r" \\" for row in rows]
    lines = ["\\par\\smallskip"]
    if title:
        lines.append("\\noindent\\textit{" + inline(notation.segments(title)) + "}\\nopagebreak")
    if len(rows) > 25:
        lines += ["{" + size + "\\begin{longtable}[l]{" + spec + "}", header, "\\endhead", *body, "\\end{longtable}}"]
    else:
        lines += [
            "\\par\\noindent{" + size + "\\begin{tabular}{" + spec + "}",
            header,
            *body,
            "\\end{tabular}}\\par\\smallskip",
        ]
    return lines


def _cell(cell: str) -> str:
    return inline(notation.segments(cell)) if cell.strip() else ""


def _heatmap(block: Heatmap) -> list[str]:
    """A heatmap as a typeset matrix; with row or column names, a table whose cells are shaded."""
    if not block.cells:
        return []
    if board.default_labels(block.row_labels) and board.default_labels(block.col_labels):
        named = board.short_name(block.title)
        caption = (
            [] if named or not block.title else ["\\par\\noindent\\textit{" + escape(block.title) + "}\\nopagebreak"]
        )
        return caption + display(board.heatmap_latex(block))
    grid = board.heatmap_grid(block)
    rows = [
        " & ".join([escape(label), *(_shade(rgb) + _cell(cell) for cell, rgb in cells)]) + r" \\"
        for label, cells in grid.rows
    ]
    spec = "l" + "r" * (len(grid.columns) - 1)
    head = " & ".join("\\textbf{" + escape(c) + "}" for c in grid.columns) + r" \\ \hline"
    lines = ["\\par\\smallskip"]
    if block.title:
        lines.append("\\noindent\\textit{" + escape(block.title) + "}\\nopagebreak")
    return [
        *lines,
        "\\par\\noindent{\\small\\begin{tabular}{" + spec + "}",
        head,
        *rows,
        "\\end{tabular}}\\par\\smallskip",
    ]


def _shade(rgb: tuple[int, int, int] | None) -> str:
    """``\\cellcolor`` of a heatmap cell, as the terminal view colours it."""
    return "" if rgb is None or rgb == (255, 255, 255) else "\\cellcolor[RGB]{{{},{},{}}}".format(*rgb)


_COLOURS = ("blue", "red", "teal", "orange", "violet", "olive")


def _plot(block: Plot) -> list[str]:
    """A line plot drawn with LaTeX's own picture mode (no package needed), then the values in a
    table when there are few of them."""
    series = [(s.label, list(zip(s.x, s.y, strict=False))) for s in block.series]
    points = [(x, _y(y, block.logy)) for _, pts in series for x, y in pts if _finite(x, y, block.logy)]
    lines = ["\\par\\smallskip"]
    title = block.title + (" (log scale)" if block.logy else "")
    if title:
        lines.append("\\noindent\\textit{" + escape(title) + "}\\par\\nopagebreak")
    if len(points) >= 2:
        lines += _picture(series, points, block)
    few = series and max(len(pts) for _, pts in series) <= 12
    if few:
        xs = sorted({x for _, pts in series for x, _ in pts})
        head = [block.xlabel or "x", *(decimal(x) for x in xs)]
        rows = [
            [label or block.ylabel or "y", *(("" if (y := dict(pts).get(x)) is None else decimal(y)) for x in xs)]
            for label, pts in series
        ]
        lines += _table(head, rows, "")
    return lines


def _finite(x: float, y: float, logy: bool) -> bool:
    return math.isfinite(x) and math.isfinite(y) and (y > 0 or not logy)


def _y(y: float, logy: bool) -> float:
    return math.log10(y) if logy else y


def _picture(
    series: list[tuple[str, list[tuple[float, float]]]], points: list[tuple[float, float]], block: Plot
) -> list[str]:
    width, height = 260.0, 110.0
    x_low, x_high = min(p[0] for p in points), max(p[0] for p in points)
    y_low, y_high = min(p[1] for p in points), max(p[1] for p in points)
    x_span = (x_high - x_low) or 1.0
    y_span = (y_high - y_low) or 1.0

    def at(x: float, y: float) -> tuple[float, float]:
        return (x - x_low) / x_span * width, (_y(y, block.logy) - y_low) / y_span * height

    def label(value: float, logy: bool) -> str:
        return escape(decimal(10**value if logy else value, 3))

    lines = [
        "\\begin{center}\\setlength{\\unitlength}{1pt}\\small",
        f"\\begin{{picture}}({width + 60:.0f},{height + 24:.0f})(-50,-16)",
        f"\\put(0,0){{\\line(1,0){{{width:.0f}}}}}\\put(0,0){{\\line(0,1){{{height:.0f}}}}}",
        f"\\put(-3,0){{\\makebox(0,0)[r]{{{label(y_low, block.logy)}}}}}",
        f"\\put(-3,{height:.0f}){{\\makebox(0,0)[r]{{{label(y_high, block.logy)}}}}}",
        f"\\put(0,-8){{\\makebox(0,0){{{label(x_low, False)}}}}}",
        f"\\put({width:.0f},-8){{\\makebox(0,0){{{label(x_high, False)}}}}}",
        f"\\put({width / 2:.0f},-12){{\\makebox(0,0){{{escape(block.xlabel)}}}}}",
    ]
    for index, (name, pts) in enumerate(series):
        colour = _COLOURS[index % len(_COLOURS)]
        drawn = [at(x, y) for x, y in pts if _finite(x, y, block.logy)]
        strokes = [
            f"\\qbezier({x1:.1f},{y1:.1f})({(x1 + x2) / 2:.1f},{(y1 + y2) / 2:.1f})({x2:.1f},{y2:.1f})"
            for (x1, y1), (x2, y2) in itertools.pairwise(drawn)
        ]
        dots = [f"\\put({x:.1f},{y:.1f}){{\\circle*{{3}}}}" for x, y in drawn]
        key_y = height - 10 * index
        legend = (
            f"\\put({width + 8:.0f},{key_y:.0f}){{\\line(1,0){{10}}}}"
            f"\\put({width + 21:.0f},{key_y:.0f}){{\\makebox(0,0)[l]{{{escape(name)}}}}}"
        )
        lines.append(f"{{\\color{{{colour}}}" + "".join(strokes + dots) + (legend if name else "") + "}")
    lines += ["\\end{picture}", "\\end{center}"]
    return lines


def block_lines(block: Block) -> list[str]:
    """A display block as LaTeX lines."""
    if isinstance(block, Table):
        return _table(block.columns, block.rows, block.title)
    return _heatmap(block) if isinstance(block, Heatmap) else _plot(block)


def _joined(lines: list[str]) -> str:
    """Lines of prose as one paragraph: a line that ends without punctuation gets a semicolon."""
    out = ""
    for line in lines:
        if out:
            out += " " if out.rstrip("$").endswith((".", ":", ";", ",", "?", "!")) else "; "
        out += line
    return out


def step_lines(step: Step, number: str = "", depth: int = 0) -> list[str]:
    """One step (and its substeps) as LaTeX lines: a run-in heading, the prose with its maths, the
    display maths once, the matrices, the blocks."""
    heading = "\\paragraph" if depth == 0 else "\\subparagraph"
    lines = [f"{heading}{{{escape((number + ' ') if number else '')}{inline(notation.segments(step.title))}.}}"]
    return lines + board.lay_out(
        step,
        number,
        depth,
        prose=lambda paragraph: [_joined([inline(parts) for parts in paragraph]) + "\\par"],
        display=display,
        block=block_lines,
        substep=step_lines,
    )


def answer_box(solution: Solution) -> list[str]:
    """The answer in a framed box as wide as the text, whose text wraps; typeset maths when the
    solution has it, with the words of the summary the maths does not say."""
    inner = []
    latex = solution.answer_latex
    if latex and ("\\begin{" in latex or not board.says_numbers(solution.summary, latex)):
        words = board.answer_words(solution.summary, latex)
        if words:
            inner.append(prose(words) + "\\par")
        inner += display(latex)
    else:
        inner.append(prose(" ".join(solution.summary.split())) + "\\par")
    return [
        "\\par\\medskip\\noindent\\fbox{\\begin{minipage}{\\dimexpr\\linewidth-2\\fboxsep-2\\fboxrule\\relax}",
        "\\textbf{Answer.} " + "\n".join(inner),
        "\\end{minipage}}\\par\\medskip",
    ]


def fragment(solution: Solution) -> str:
    """The solution as a LaTeX fragment (no preamble)."""
    lines = []
    for index, step in enumerate(board.typeset_steps(solution), 1):
        lines += step_lines(step, f"{index}.")
    for block in solution.blocks:
        lines += block_lines(block)
    lines += answer_box(solution)
    for warning in solution.warnings:
        lines.append("\\textbf{Warning:} " + prose(warning) + "\\par")
    return "\n".join(lines) + "\n"


PREAMBLE = r"""\documentclass[10pt]{article}
\usepackage[T1]{fontenc}
\usepackage{lmodern}
\usepackage{amsmath,amssymb}
\usepackage[a4paper,margin=2cm]{geometry}
\usepackage{array,longtable}
\usepackage[table]{xcolor}
\usepackage{microtype}
\setlength{\parindent}{0pt}
\setlength{\parskip}{2pt plus 1pt}
\AtBeginDocument{\setlength{\abovedisplayskip}{4pt plus 2pt}\setlength{\belowdisplayskip}{4pt plus 2pt}%
\setlength{\abovedisplayshortskip}{2pt plus 2pt}\setlength{\belowdisplayshortskip}{2pt plus 2pt}}
\makeatletter
\renewcommand\paragraph{\@startsection{paragraph}{4}{\z@}{1.2ex \@plus .5ex}{-1em}{\normalfont\normalsize\bfseries}}
\renewcommand\subparagraph{\@startsection{subparagraph}{5}{\z@}{.6ex \@plus .3ex}{-1em}{\normalfont\normalsize\itshape}}
\renewcommand\section{\@startsection{section}{1}{\z@}{2.5ex \@plus 1ex}{1ex}{\normalfont\large\bfseries}}
\makeatother
\setlength{\emergencystretch}{3em}
\setlength{\tabcolsep}{4pt}
\renewcommand{\arraystretch}{1.2}
\allowdisplaybreaks
"""


def document(body: str, title: str = "dlsolve answer key") -> str:
    """A standalone document around ``body``."""
    heading = f"\\begin{{center}}\\Large\\bfseries {escape(title)}\\end{{center}}"
    return PREAMBLE + f"\\begin{{document}}\n{heading}\n{body}\\end{{document}}\n"


def render(solution: Solution, stream: TextIO) -> None:
    stream.write(fragment(solution))


def render_sheet(outcomes: list[Outcome], stream: TextIO, *, check: bool = False) -> None:
    """A standalone LaTeX answer key: one section per problem."""
    parts = []
    for outcome in outcomes:
        problem = outcome.problem
        heading = f"{problem.id}: {problem.title}" if problem.title else problem.id
        parts.append(f"\\section*{{{escape(heading)}}}")
        if problem.question:
            parts.append("\\textit{" + prose(problem.question.strip()) + "}\\par")
        if outcome.solution is not None:
            parts.append(fragment(outcome.solution))
        else:
            parts.append("\\textbf{No valid answer:} " + escape(str(outcome.error)) + "\\par")
        if problem.note:
            parts.append("\\textbf{Note:} " + prose(problem.note) + "\\par")
        if check:
            parts.append("\\textbf{Check:} " + escape(outcome.verdict) + "\\par")
    stream.write(document("\n".join(parts) + "\n"))
