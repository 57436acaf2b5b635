"""What the typeset keys (LaTeX, Markdown, HTML) share: a step's plain text read as a board.

A step's ``text`` stands alone as plain text; its ``latex`` is the same maths typeset. A typeset key
shows each step once: the display maths from ``latex``, and from ``text`` only what the maths does
not already say (the prose), with

* matrices written as rows (a ``name =`` line, then ``[ a  b ]`` lines) turned into typeset
  matrices (:class:`MatrixPiece`), dropped when a heatmap block of the step shows the same cells;
* the plain-text maths inside the prose (``d_k``, ``x_iᵀθ``, ``1/sqrt(2)``, ``η*``) turned into
  inline LaTeX (:mod:`dlsolve.render.notation`);
* a clause of the text (split at top-level ``: ``, ``; ``, ``. ``) left out when the display maths
  says it already: every longer word of the clause occurs in the LaTeX and at least three quarters
  of its numbers do (:func:`uncovered`). The rule errs on keeping text.

Pure functions on strings; the renderers decide how a piece is written.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from typing import NamedTuple

from dlsolve.render import layout
from dlsolve.render.notation import (
    FUNCTIONS,
    GREEK_LETTERS,
    MATH_WORDS,
    SYMBOLS,
    ascii_to_latex,
    cell_latex,
    segments,
)
from dlsolve.solution import Heatmap, Plot, Solution, Step, Table


class Prose(NamedTuple):
    """A line of text: ``parts`` as :func:`segments` gives them (text, inline LaTeX, code)."""

    parts: list[tuple[str, str]]


class MatrixPiece(NamedTuple):
    """A matrix written out in the text: ``label`` as inline LaTeX (may be empty), cells as LaTeX."""

    label: str
    rows: list[list[str]]
    cells: list[list[str]]  # the cells as the text wrote them (to compare with heatmap blocks)


class Display(NamedTuple):
    """The step's display maths (its ``latex`` field)."""

    latex: str


Piece = Prose | MatrixPiece | Display


# ---------------------------------------------------------------------------------------------
# what the display maths already says


_LATEX_WORDS = {
    **{value.lstrip("\\"): key for key, value in SYMBOLS.items() if value.startswith("\\") and value[1:].isalpha()},
    "top": "T",
    "sum": "Σ",
    "sqrt": "sqrt",
    "infty": "inf",
    "exp": "exp",
    "tanh": "tanh",
    "sin": "sin",
    "cos": "cos",
    "log": "log",
    "ln": "ln",
    "max": "max",
    "min": "min",
    "lambda": "λ",
    "varepsilon": "ε",
    "epsilon": "ε",
}
_WORD = re.compile(r"[A-Za-z" + GREEK_LETTERS + r"]+|\d+(?:\.\d+)?")


@functools.lru_cache(maxsize=1024)
def latex_tokens(latex: str) -> frozenset[str]:
    """The words, symbols and numbers of a LaTeX formula, spelled as the plain text spells them."""
    text = re.sub(r"\\([A-Za-z]+)", lambda m: " " + _LATEX_WORDS.get(m.group(1), "") + " ", latex)
    text = text.replace("{,}", "")
    return frozenset(_WORD.findall(text.replace("ᵀ", " T ").replace("²", " 2 ")))


def _text_tokens(text: str) -> list[str]:
    text = re.sub(r"≈\s*[-−]?[\d.]+(?:e[-+]?\d+)?", " ", text)  # the short decimal beside an exact value
    text = re.sub(r"(?<=\d),(?=\d{3})", "", text)  # 1,050,624
    return _WORD.findall(text.replace("ᵀ", " T ").replace("²", " 2 ").replace("−", "-"))


def covered(clause: str, tokens: frozenset[str]) -> bool:
    """Whether a clause of plain text says nothing the formula with ``tokens`` does not."""
    words = _text_tokens(clause)
    if not words:
        return not clause.strip(" ()[],.;:")
    prose = [w for w in words if len(w) >= 3 and w.isalpha() and w not in FUNCTIONS and w not in MATH_WORDS]
    if any(w not in tokens for w in prose):
        return False
    letters = [w for w in words if w.isalpha() and len(w) < 3]
    if sum(w in tokens for w in letters) < 0.75 * len(letters):
        return False
    numbers = [w for w in words if w[0].isdigit()]
    found = sum(w in tokens for w in numbers)
    return not numbers or found >= 0.75 * len(numbers)


def _clauses(line: str) -> list[str]:
    """``line`` cut after top-level ``: ``, ``; ``, ``. `` and before a top-level ``(`` that ends it."""
    pieces, depth, start = [], 0, 0
    for index, char in enumerate(line):
        if char in "([{":
            depth += 1
        elif char in ")]}":
            depth -= 1
        elif depth == 0 and char in ":;." and line[index + 1 : index + 2] == " ":
            pieces.append(line[start : index + 2])
            start = index + 2
    pieces.append(line[start:])
    # a trailing parenthetical is a clause of its own: "g = 0 (dx: offset)"
    out = []
    for piece in pieces:
        stripped = piece.rstrip(" .;:")
        if stripped.endswith(")"):
            opening = _opening(stripped)
            # only an aside after a space: "λ_min²/(R²·λ_max)" or "f(x)" is one formula, not two clauses;
            # and only words are an aside: "increasing along (0, -6)" ends with its object
            aside = re.search(r"[A-Za-z]{2,}", stripped[opening:])
            if opening > 0 and stripped[opening - 1] == " " and aside:
                out += [piece[:opening], piece[opening:]]
                continue
        out.append(piece)
    return [piece for piece in out if piece]


def _opening(text: str) -> int:
    depth = 0
    for index in range(len(text) - 1, -1, -1):
        if text[index] == ")":
            depth += 1
        elif text[index] == "(":
            depth -= 1
            if depth == 0:
                return index
    return -1


def uncovered(line: str, latex: str) -> str:
    """``line`` without the clauses that the display maths ``latex`` already says ("" if none left)."""
    if not latex:
        return line
    tokens = latex_tokens(latex)
    kept = [clause for clause in _clauses(line) if not covered(clause, tokens)]
    text = "".join(kept).strip()
    text = text.rstrip(":;,") + ("." if text.endswith((":", ";")) else "")
    return (
        ""
        if not text.strip(" ().;:,")
        else text[:1].upper() + text[1:]
        if kept and kept[0] != _clauses(line)[0]
        else text
    )


# ---------------------------------------------------------------------------------------------
# each matrix once: the Answer box shows the result, so the last step does not


def answer_matrices(solution: Solution) -> list[list[list[str]]]:
    """The matrices the Answer box shows: those of ``answer_latex`` and the rows written in the
    summary (``[1, 0, 0]`` lines under a ``name =`` line)."""
    found = latex_matrices(solution.answer_latex)
    rows: list[list[str]] = []
    for line in [*solution.summary.splitlines(), ""]:
        match = re.fullmatch(r"\s*\[([^\[\]]*)\]\s*", line)
        if match and match.group(1).strip():
            rows.append([cell.strip() for cell in match.group(1).split(",")])
        elif rows:
            found.append(rows)
            rows = []
    unique: list[list[list[str]]] = []
    for matrix in found:  # the summary's rows and the typeset answer are usually the same matrices
        if not any(same_matrix(matrix, other) for other in unique):
            unique.append(matrix)
    return unique


_ONLY_MATRIX = re.compile(r"\s*(?:[^=&]*=\s*)?\\begin\{([bp]?matrix)\}.*?\\end\{\1\}\s*", re.S)


def _occurrences(step: Step, matrix: list[list[str]]) -> list[tuple[str, int]]:
    """Where ``step`` itself (not its substeps) shows ``matrix``: ("block", index), ("text", line) or
    ("latex", 0) when its display maths is that matrix and nothing else."""
    found: list[tuple[str, int]] = []
    lines = step.text.split("\n")
    index = 0
    while index < len(lines):
        start = index
        rows = []
        while index < len(lines) and (cells := _matrix_cells(lines[index])) is not None:
            rows.append(cells)
            index += 1
        if rows and same_matrix(rows, matrix):
            found.append(("text", start))
        index += 0 if rows else 1
    if _ONLY_MATRIX.fullmatch(step.latex) and any(same_matrix(m, matrix) for m in latex_matrices(step.latex)):
        found.append(("latex", 0))
    found += [
        ("block", number)
        for number, block in enumerate(step.blocks)
        if isinstance(block, Heatmap) and same_matrix(block.cells, matrix)
    ]
    return found


def _without(step: Step, where: tuple[str, int]) -> Step:
    """A copy of ``step`` without the matrix at ``where`` (see :func:`_occurrences`); a text matrix
    goes with its ``name =`` line."""
    kind, at = where
    text, latex, blocks = step.text, step.latex, list(step.blocks)
    if kind == "block":
        del blocks[at]
    elif kind == "latex":
        latex = ""
    else:
        lines = text.split("\n")
        end = at
        while end < len(lines) and _matrix_cells(lines[end]) is not None:
            end += 1
        label = _label(lines[at - 1]) if at > 0 else None
        if label is not None:
            head = label.rpartition(", ")[0]
            lines[at - 1 : end] = [head] if head else []
        else:
            del lines[at:end]
        text = "\n".join(lines)
    return Step(step.title, text, latex, blocks, list(step.substeps), step.kind)


def steps_once(solution: Solution) -> list[Step]:
    """The steps to show with the Answer box: each matrix of the answer left out of the last step
    that shows it (the boxed answer is that step's result, each matrix once). Copies; the
    solution's own steps are not changed."""
    steps = list(solution.steps)
    matrices = answer_matrices(solution) if steps else []
    for matrix in matrices:
        last: tuple[list[int], tuple[str, int]] | None = None
        stack: list[tuple[list[int], Step]] = [([i], s) for i, s in enumerate(steps)]
        order: list[tuple[list[int], Step]] = []
        while stack:  # depth first, in reading order
            path, step = stack.pop(0)
            order.append((path, step))
            stack[0:0] = [([*path, j], sub) for j, sub in enumerate(step.substeps)]
        for path, step in order:
            occurrences = _occurrences(step, matrix)
            if occurrences:
                last = (path, occurrences[-1])
        if last is None:
            continue
        path, where = last
        steps = _replaced(steps, path, where)
    return steps


def typeset_steps(solution: Solution) -> list[Step]:
    """The steps a typeset key shows (:func:`steps_once`), and the last step without the formulas
    the Answer box, right after it, typesets again: the gradients of a backward pass, the final
    value of a recurrence. Its text keeps the words the box does not say."""
    steps = steps_once(solution)
    answer = solution.answer_latex
    if not steps or not steps[-1].latex or not answer:
        return steps
    last = steps[-1]
    body = re.sub(r"\\(begin|end)\{(gathered|aligned)\}", "", last.latex)
    lines = [line.replace("&", "").strip() for line in body.split(r"\\") if line.strip()]
    flat = " ".join(answer.replace("&", "").split())
    if not lines or not all(" ".join(line.split()) in flat for line in lines):
        return steps
    text = "\n".join(kept for line in last.text.split("\n") if (kept := uncovered(line, answer)))
    return [*steps[:-1], Step(last.title, text, "", list(last.blocks), list(last.substeps), last.kind)]


def _replaced(steps: list[Step], path: list[int], where: tuple[str, int]) -> list[Step]:
    head, *rest = path
    step = steps[head]
    if rest:
        copy = Step(
            step.title, step.text, step.latex, list(step.blocks), _replaced(step.substeps, rest, where), step.kind
        )
    else:
        copy = _without(step, where)
    return [*steps[:head], copy, *steps[head + 1 :]]


# ---------------------------------------------------------------------------------------------
# a step read as pieces

_MATRIX_ROW = re.compile(r"^\s*\[\s?(.*?)\s?\]\s*$")


def _matrix_cells(line: str) -> list[str] | None:
    match = _MATRIX_ROW.match(line)
    if not match or "," in match.group(1):
        return None
    cells = match.group(1).split()
    return cells or None


def _label(line: str) -> str | None:
    """``"Q K^T ="`` -> its LaTeX (``None`` when the line does not introduce a matrix)."""
    stripped = line.strip()
    if not stripped.endswith("="):
        return None
    return stripped[:-1].strip()


def read(step: Step) -> list[Piece]:
    """The step as pieces in board order: the first line of prose, the display maths, the rest.

    Matrices that a heatmap block of the step shows are left out (each matrix once); text clauses
    the display maths says already are left out (see :func:`uncovered`).
    """
    # matrices shown elsewhere in the step: its heatmaps, the matrices of its display maths
    shown = [block.cells for block in step.blocks if isinstance(block, Heatmap)] + latex_matrices(step.latex)
    lines = step.text.rstrip().split("\n") if step.text.strip() else []
    pieces: list[Piece] = []
    said_at: int | None = None
    index = 0
    while index < len(lines):
        line = lines[index]
        rows: list[list[str]] = []
        label = _label(line)
        start = index + 1 if label is not None else index
        end = start
        while end < len(lines) and (cells := _matrix_cells(lines[end])) is not None:
            rows.append(cells)
            end += 1
        if rows and (label is not None or start == index):
            if not _inside(rows, shown):
                prose_label = label or ""
                head, _, name = prose_label.rpartition(", ")
                if head:
                    pieces += _prose(head + ",", step.latex)
                pieces.append(
                    MatrixPiece(_label_latex(name or prose_label), [list(map(cell_latex, r)) for r in rows], rows)
                )
            elif label and ", " in label:
                pieces += _prose(label.rpartition(", ")[0], step.latex)
            index = end
            continue
        said = _prose(line, step.latex)
        if not said and line.strip() and said_at is None:
            said_at = len(pieces)  # the display maths goes where the text wrote the formula
        pieces += said
        index += 1
    # a line that is a formula and nothing else is displayed as one
    pieces = [_as_display(piece) if isinstance(piece, Prose) else piece for piece in pieces]
    if step.latex and not _says_already(pieces, step.latex):
        at = said_at if said_at is not None else 1 if pieces and isinstance(pieces[0], Prose) else 0
        pieces.insert(at, Display(step.latex))
    return pieces


def _as_display(piece: Prose) -> Piece:
    parts = piece.parts
    formula = bool(parts) and parts[0][0] == "math"
    alone = all(kind == "text" and not value.strip(" .,;:") for kind, value in parts[1:])
    if formula and alone and any(relation in parts[0][1] for relation in ("=", r"\le", r"\ge", r"\approx")):
        return Display(parts[0][1])
    return piece


def _says_already(pieces: list[Piece], latex: str) -> bool:
    """Whether the formulas written in the text (as displays) hold every number of the step's LaTeX:
    then the LaTeX would only repeat them (the text often has the general formula too)."""
    written = [piece.latex for piece in pieces if isinstance(piece, Display)]
    numbers = {w for w in latex_tokens(latex) if w[0].isdigit()}
    return bool(written) and bool(numbers) and numbers <= {w for text in written for w in latex_tokens(text)}


def runs(pieces: list[Piece]) -> list[list[Piece]]:
    """Pieces grouped into runs of the same kind (lines of prose make a paragraph, matrices
    written one after another share a display line)."""
    grouped: list[list[Piece]] = []
    for piece in pieces:
        if grouped and type(grouped[-1][0]) is type(piece) and not isinstance(piece, Display):
            grouped[-1].append(piece)
        else:
            grouped.append([piece])
    return grouped


def matrices_latex(pieces: list[MatrixPiece]) -> str:
    """Matrices written out in a step, side by side: ``Q = [..],\\quad K = [..]``."""
    return ",\\quad ".join(
        (piece.label + " = " if piece.label else "")
        + "\\begin{bmatrix} "
        + r" \\ ".join(" & ".join(row) for row in piece.rows)
        + " \\end{bmatrix}"
        for piece in pieces
    )


def heatmap_latex(block: Heatmap) -> str:
    """A heatmap named by its title as a typeset matrix: ``kernel = [..]``."""
    body = r" \\ ".join(" & ".join(cell_latex(cell) for cell in row) for row in block.cells)
    words = re.fullmatch(r"[A-Za-z]{2,}(?: [A-Za-z]{2,})+", block.title)  # "padded image": words, not a product
    name = (r"\text{" + block.title + "}" if words else ascii_to_latex(block.title)) if short_name(block.title) else ""
    return (name + " = " if name else "") + "\\begin{bmatrix} " + body + " \\end{bmatrix}"


def _inside(rows: list[list[str]], shown: list[list[list[str]]]) -> bool:
    """Whether one of the step's heatmaps shows these rows."""
    return any(same_matrix(rows, cells) for cells in shown)


def _value(cell: str) -> float | None:
    text = cell.strip().replace("−", "-").split("≈")[0].strip()
    try:
        if "/" in text:
            numerator, denominator = text.split("/")
            return float(numerator) / float(denominator)
        return float(text)
    except (ValueError, ZeroDivisionError):
        return None


def same_matrix(a: list[list[str]], b: list[list[str]]) -> bool:
    """Whether two matrices of cell texts hold the same values (numbers to 3 significant digits,
    other cells as text): ``0.447214`` and ``0.4472`` are the same entry."""
    if len(a) != len(b) or not a or any(len(x) != len(y) for x, y in zip(a, b, strict=True)):
        return False
    for row_a, row_b in zip(a, b, strict=True):
        for x, y in zip(row_a, row_b, strict=True):
            u, v = _value(x), _value(y)
            if u is None or v is None:
                if x.strip() != y.strip():
                    return False
            elif u != v and not abs(u - v) <= 1e-3 * max(abs(u), abs(v)):
                return False
    return True


def latex_matrices(latex: str) -> list[list[list[str]]]:
    """The cells of each ``bmatrix``/``pmatrix`` in ``latex`` (fractions read back as ``a/b``)."""
    found = []
    for match in re.finditer(r"\\begin\{([bp]?matrix)\}(.*?)\\end\{\1\}", latex, re.S):
        body = re.sub(r"\\[td]?frac\{([^{}]*)\}\{([^{}]*)\}", r"\1/\2", match.group(2))
        found.append([[cell.strip() for cell in row.split("&")] for row in body.split(r"\\")])
    return found


def _label_latex(label: str) -> str:
    parts = [p.strip() for p in label.split(" = ")]
    return " = ".join(ascii_to_latex(p) for p in parts if p)


def _prose(line: str, latex: str) -> list[Piece]:
    text = uncovered(line.strip(), latex)
    if not text:
        return []
    if text.startswith("- "):
        text = "• " + text[2:]
    return [Prose(segments(text))]


def plain(parts: list[tuple[str, str]]) -> str:
    """The prose parts joined as they would read with the maths left as LaTeX (for tests)."""
    return "".join(value for _, value in parts)


def default_labels(labels: list[str] | None) -> bool:
    """Row or column labels that only number the rows (``None`` or 0, 1, 2, ...)."""
    return labels is None or labels == [str(i) for i in range(len(labels))]


def short_name(title: str) -> bool:
    """A heatmap title that names its matrix (``kernel``, ``H = Σ p_i x_i x_iᵀ``): shown as
    ``name = [matrix]``, rather than a description shown as a caption."""
    return bool(title) and (len(title.split()) <= 2 or "=" in title) and len(title) <= 40


def shown_in(block: Heatmap, latex: str) -> bool:
    """Whether a step's display maths already writes this heatmap's matrix (each matrix once)."""
    return any(same_matrix(block.cells, rows) for rows in latex_matrices(latex))


def answer_words(summary: str, latex: str) -> str:
    """The words of the summary that the typeset answer ``latex`` does not show, on one line.

    Rows of a matrix (``[1, 0]`` lines) are left out when the typeset answer has matrices, and so is
    the ``name =`` line above them when the typeset answer names its matrices (``A = [..]``); an
    unnamed one keeps its name (``output (3x4)``). Then the clauses the maths says already go
    (:func:`uncovered`)."""
    if "\\begin{" not in latex:
        return uncovered(" ".join(summary.split()), latex) if latex else summary
    named = re.search(r"=\s*\\begin\{", latex) is not None
    lines = summary.splitlines()
    kept: list[str] = []
    for index, line in enumerate(lines):
        if re.fullmatch(r"\s*\[.*\]\s*", line):
            continue
        if line.rstrip().endswith("=") and index + 1 < len(lines) and lines[index + 1].lstrip().startswith("["):
            if not named:
                kept.append(line.rstrip()[:-1].rstrip() + ":")
            continue
        kept.append(line.strip())
    from dlsolve.render.quiet import one_line

    words = uncovered(one_line("\n".join(kept)), latex)
    return words.rstrip(":").rstrip() if words.rstrip().endswith(":") else words


def says_numbers(summary: str, latex: str) -> bool:
    """Whether every number of ``latex`` is in ``summary`` (so the summary alone is the answer)."""
    numbers = {w for w in latex_tokens(latex) if w[0].isdigit()}
    return numbers <= set(re.findall(r"\d+(?:\.\d+)?", summary.replace(",", "")))


def compact_substeps(substeps: list[Step]) -> tuple[list[Step], Table | None]:
    """Many short substeps of the same shape (every cell of an output) as one worked example and
    then a table of the others (their title, their working on one line); others as they are."""
    simple = all(not s.blocks and not s.substeps and not s.latex and s.text.count("\n") < 4 for s in substeps)
    if len(substeps) < 4 or not simple:
        return substeps, None
    rows = [
        [s.title, "; ".join(line.strip() for line in s.text.strip().split("\n") if line.strip())] for s in substeps[1:]
    ]
    return substeps[:1], Table(["", "the others, in the same way"], rows)


def plain_matrix(block: Heatmap) -> bool:
    """A heatmap to typeset as a matrix: numbered rows and columns, a title that names it."""
    return default_labels(block.row_labels) and default_labels(block.col_labels) and short_name(block.title)


def items(step: Step) -> list[tuple[str, object]]:
    """A step as the typeset keys lay it out, in order: ``("prose", [parts, ...])`` (lines of one
    paragraph), ``("display", latex)`` (the display maths, matrices written out or named heatmaps
    side by side), ``("block", block)``, ``("substep", step)``; many short substeps as the first and
    a table of the others (see :func:`compact_substeps`)."""
    laid: list[tuple[str, object]] = []
    for run in runs(read(step)):
        if isinstance(run[0], Prose):
            laid.append(("prose", [piece.parts for piece in run]))  # type: ignore[union-attr]
        elif isinstance(run[0], Display):
            laid.append(("display", run[0].latex))
        else:
            laid.append(("display", matrices_latex(run)))  # type: ignore[arg-type]
    matrices: list[str] = []
    for block in step.blocks:
        if isinstance(block, Heatmap) and (not block.cells or shown_in(block, step.latex)):
            continue
        if isinstance(block, Heatmap) and plain_matrix(block):
            matrices.append(heatmap_latex(block))
            continue
        if matrices:
            laid.append(("display", ",\\quad ".join(matrices)))
            matrices = []
        laid.append(("block", block))
    if matrices:
        laid.append(("display", ",\\quad ".join(matrices)))
    shown, rest = compact_substeps(step.substeps)
    laid += [("substep", substep) for substep in shown]
    if rest is not None:
        laid.append(("block", rest))
    return laid


class Grid(NamedTuple):
    """A heatmap as a shaded table: column heads, and rows of (label, [(cell, colour or None)])."""

    columns: list[str]
    rows: list[tuple[str, list[tuple[str, tuple[int, int, int] | None]]]]


def heatmap_grid(block: Heatmap) -> Grid:
    """Labels and cell colours of a heatmap (:func:`dlsolve.render.layout.heat_rgb`; ``None`` for a
    value that is not finite)."""
    import math

    count = max((len(row) for row in block.cells), default=0)
    columns = [""] + (block.col_labels or [str(j) for j in range(count)])
    labels = block.row_labels or [str(i) for i in range(len(block.cells))]
    finite = [v for row in block.values for v in row if math.isfinite(v)]
    low, high = (min(finite), max(finite)) if finite else (0.0, 0.0)
    rows = []
    for label, cells, values in zip(labels, block.cells, block.values, strict=False):
        padded = [*values, *[math.nan] * len(cells)]
        rows.append(
            (
                label,
                [
                    (c, layout.heat_rgb(v, low, high) if math.isfinite(v) else None)
                    for c, v in zip(cells, padded, strict=False)
                ],
            )
        )
    return Grid(columns, rows)


def lay_out(
    step: Step,
    number: str,
    depth: int,
    *,
    prose: Callable[[list[list[tuple[str, str]]]], list[str]],
    display: Callable[[str], list[str]],
    block: Callable[[Table | Heatmap | Plot], list[str]],
    substep: Callable[[Step, str, int], list[str]],
) -> list[str]:
    """The output of a typeset key for one step: each of :func:`items` through its handler,
    substeps numbered ``1.1.``, ``1.2.`` under ``number``."""
    out: list[str] = []
    position = 0
    for kind, item in items(step):
        if kind == "substep":
            position += 1
            out += substep(item, f"{number}{position}." if number else "", depth + 1)  # type: ignore[arg-type]
        elif kind == "prose":
            out += prose(item)  # type: ignore[arg-type]
        elif kind == "display":
            out += display(item)  # type: ignore[arg-type]
        else:
            out += block(item)  # type: ignore[arg-type]
    return out


def join_parts(
    parts: list[tuple[str, str]], *, math: Callable[[str], str], code: Callable[[str], str], text: Callable[[str], str]
) -> str:
    """Prose parts (:func:`dlsolve.render.notation.segments`) written by a key's three writers."""
    writers = {"math": math, "code": code, "text": text}
    return "".join(writers[kind](value) for kind, value in parts)


def prose(line: str, latex: str, inline: Callable[[list[tuple[str, str]]], str]) -> str:
    """A line of plain text as a key's prose (``inline`` writes the parts), without the clauses
    that the display maths ``latex`` says already."""
    return inline(segments(uncovered(line, latex))) if line.strip() else ""
