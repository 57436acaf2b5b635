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
    return _SPECIAL.get(char) or _UNICODE.get(char) or char


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


def _monospace(text: str) -> list[str]:
    """Plain text in typewriter type: its lines and runs of spaces kept (aligned matrices stay
    aligned), long lines wrapped. Each line starts with an empty box, so leading spaces survive."""
    if not text.strip():
        return []
    lines = ["\\mbox{}" + escape(line).replace(" ", "\\ ") for line in text.rstrip().split("\n")]
    return ["\\begin{flushleft}\\ttfamily", "\\\\\n".join(lines), "\\end{flushleft}"]


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
    lines += _monospace(step.text)
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
