"""What the typeset keys (LaTeX, Markdown, HTML) share: a step's plain text read as a board.

A step's ``text`` stands alone as plain text; its ``latex`` is the same maths typeset. A typeset key
shows each step once: the display maths from ``latex``, and from ``text`` only what the maths does
not already say (the prose), with

* matrices written as rows (a ``name =`` line, then ``[ a  b ]`` lines) turned into typeset
  matrices (:class:`MatrixPiece`), dropped when a heatmap block of the step shows the same cells;
* the plain-text maths inside the prose (``d_k``, ``x_iᵀθ``, ``1/sqrt(2)``, ``η*``) turned into
  inline LaTeX (:func:`segments`, :func:`ascii_to_latex`);
* a clause of the text (split at top-level ``: ``, ``; ``, ``. ``) left out when the display maths
  says it already: every longer word of the clause occurs in the LaTeX and at least three quarters
  of its numbers do (:func:`uncovered`). The rule errs on keeping text.

Pure functions on strings; the renderers decide how a piece is written.
"""

from __future__ import annotations

import functools
import itertools
import re
from collections.abc import Callable
from typing import NamedTuple

from dlsolve.solution import Heatmap, Plot, Step, Table

#: Unicode in the working -> LaTeX maths.
SYMBOLS = {
    "α": r"\alpha",
    "β": r"\beta",
    "γ": r"\gamma",
    "δ": r"\delta",
    "ε": r"\varepsilon",
    "η": r"\eta",
    "θ": r"\theta",
    "λ": r"\lambda",
    "μ": r"\mu",
    "ν": r"\nu",
    "π": r"\pi",
    "ρ": r"\rho",
    "σ": r"\sigma",
    "τ": r"\tau",
    "φ": r"\varphi",
    "ω": r"\omega",
    "Δ": r"\Delta",
    "Σ": r"\sum",
    "∏": r"\prod",
    "∇": r"\nabla",
    "·": r"\cdot",
    "×": r"\times",
    "−": "-",
    "±": r"\pm",
    "≈": r"\approx",
    "≤": r"\le",
    "≥": r"\ge",
    "≠": r"\ne",
    "∈": r"\in",
    "∞": r"\infty",
    "∝": r"\propto",
    "⊗": r"\otimes",
    "⊙": r"\odot",
    "⋆": r"\star",
    "←": r"\leftarrow",
    "→": r"\to",
    "⇒": r"\Rightarrow",
    "⌊": r"\lfloor",
    "⌋": r"\rfloor",
    "⌈": r"\lceil",
    "⌉": r"\rceil",
    "°": r"^\circ",
    "ᵀ": r"^\top",
    "²": "^2",
    "³": "^3",
    "‖": r"\|",
    "|": "|",
    "…": r"\ldots",
    "%": r"\%",
    "#": r"\#",
    "&": r"\&",
    "$": r"\$",
    "~": r"\sim",
    "\\": r"\backslash",
}

#: Greek letters spelled out in plain text (``theta_t``, ``lambda_max``).
GREEK_NAMES = (
    "alpha",
    "beta",
    "gamma",
    "delta",
    "epsilon",
    "eta",
    "theta",
    "lambda",
    "mu",
    "sigma",
    "rho",
    "tau",
    "omega",
)

#: Words that are maths in plain text -> LaTeX.
FUNCTIONS = {
    "exp": r"\exp",
    "ln": r"\ln",
    "log": r"\log",
    "max": r"\max",
    "min": r"\min",
    "sum": r"\sum",
    "inf": r"\infty",
    "det": r"\det",
    "argmax": r"\operatorname{argmax}",
    "argmin": r"\operatorname{argmin}",
    **{name: "\\" + name for name in GREEK_NAMES},
}

_GREEK = "αβγδεηθλμνπρστφωΔΣ"
_OPERATORS = {"=", "+", "-", "−", "·", "×", "/", "≈", "≤", "≥", "<", ">", "<=", ">=", "->", "←", "→", "∈", "≠", "*"}
_STRONG = set("_^ᵀ²³√∇Σ∏⌊⌋‖·×≈≤≥←→∈∞⊗⊙⋆∝") | set(_GREEK)
_NUMBER = re.compile(r"[-−]?(?:\d+(?:\.\d+)?|\.\d+)(?:e[-+]?\d+)?(?:/\d+)?%?|[-−]?inf")
#: File names, calls of methods and snake_case names: code, not maths.
_CODE = re.compile(
    r"(?!(?:" + "|".join((*GREEK_NAMES, "max", "min", "sum", "arg")) + r")_)"
    r"(?:[\w./-]*\.(?:py|csv|txt|npy|toml|json)(?::\d+)*|[A-Za-z_]\w*\.[A-Za-z_]\w*(?:\(.*\))?"
    # snake_case names of code: called, assigned, three parts, or long words on both sides (zero_grad,
    # loss_fn); short ones are maths (rf_in, jump_in, C_out)
    r"|[A-Za-z]{2,}(?:_[A-Za-z0-9]+)+(?:\(.*\)|=\S+)|[A-Za-z]{2,}(?:_[A-Za-z0-9]+){2,}"
    r"|[A-Za-z]{3,}_(?:[A-Za-z0-9]{3,}|fn)|[A-Za-z]\w*\(\)|--[a-z][\w-]*(?:[:=]\S+)?|DL\d{3})"
)
_FUNCTION_CALL = re.compile(r"(?:sqrt|exp|ln|log|diag|sign|softmax)\(.*\)")


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
# plain-text maths -> LaTeX


def _matching(text: str, start: int) -> int:
    """Index just past the bracket closing the one at ``start`` (``len(text)`` if unclosed)."""
    pairs = {"(": ")", "[": "]", "{": "}"}
    opening, closing = text[start], pairs[text[start]]
    depth = 0
    for index in range(start, len(text)):
        if text[index] == opening:
            depth += 1
        elif text[index] == closing:
            depth -= 1
            if depth == 0:
                return index + 1
    return len(text)


def _script(text: str, index: int) -> tuple[str, int]:
    """The sub- or superscript starting at ``text[index]`` (after ``_`` or ``^``), as LaTeX."""
    if index >= len(text):
        return "{}", index
    char = text[index]
    if char in "{(":
        end = _matching(text, index)
        inner = text[index + 1 : end - 1] if end <= len(text) and text[end - 1] in "})" else text[index + 1 : end]
        return "{" + ascii_to_latex(inner) + "}", end
    match = re.compile(r"-?[A-Za-z0-9]+|[" + _GREEK + r"*]").match(text, index)
    if not match:
        return "{}", index
    token = match.group()
    if token == "T":
        return r"\top", match.end()
    if len(token) > 1 and token.isalpha() and token not in ("ij", "ik", "jk", "in"):
        token = r"\mathrm{" + token + "}" if len(token) > 2 else token
    return "{" + (token if token.startswith("\\") else ascii_to_latex(token)) + "}", match.end()


def _closed(pieces: list[str]) -> str:
    return re.sub(r" {2,}", " ", "".join(pieces)).strip()


@functools.lru_cache(maxsize=4096)
def ascii_to_latex(text: str) -> str:
    """Plain-text maths as LaTeX maths: ``x_i^T θ`` -> ``x_{i}^{\\top} \\theta``.

    Greek and operators through :data:`SYMBOLS`, ``_x``/``^x`` scripts (``^T`` is the transpose),
    ``sqrt(..)``, ``√3``, ``θ*``, ``->``/``<=``/``>=``/``||``, known functions (``exp``, ``max``),
    other words upright (``\\mathrm{final}``). Braces are only kept when they group a script.
    """
    out: list[str] = []
    index = 0
    while index < len(text):
        char = text[index]
        two = text[index : index + 2]
        if two in ("->", "<=", ">=", "||", "!=", "**"):
            out.append({"->": r"\to ", "<=": r"\le ", ">=": r"\ge ", "||": r"\| ", "!=": r"\ne ", "**": "^"}[two])
            index += 2
        elif char in "_^":
            script, index = _script(text, index + 1)
            if out and out[-1].startswith(char):  # x_a_b: TeX refuses a double script
                out.append("{}")
            out.append(char + script)
        elif text.startswith("sqrt(", index):
            end = _matching(text, index + 4)
            out.append(r"\sqrt{" + ascii_to_latex(text[index + 5 : end - 1]) + "}")
            index = end
        elif char == "√":
            match = re.compile(r"√(\d+(?:\.\d+)?|[A-Za-z" + _GREEK + r"]|\(.*?\))").match(text, index)
            if match:
                inner = match.group(1)
                inner = inner[1:-1] if inner.startswith("(") else inner
                out.append(r"\sqrt{" + ascii_to_latex(inner) + "}")
                index = match.end()
            else:
                out.append(r"\surd ")
                index += 1
        elif char == "*":
            after = text[index + 1 : index + 2]
            before = text[index - 1 : index] if index else ""
            starred = before and (before.isalpha() or before in _GREEK or before == "}") and not after.isalnum()
            out.append("^*" if starred else r"\cdot ")
            index += 1
        elif (name := re.compile(r"[A-Za-z]{2,}(?:_[A-Za-z]{3,})+(?![A-Za-z0-9_])").match(text, index)) and (
            name.group().split("_")[0] not in GREEK_NAMES
        ):
            out.append(r"\mathrm{" + name.group().replace("_", r"\_") + "}")
            index = name.end()
        elif char.isalpha() and char.isascii():
            match = re.compile(r"[A-Za-z]+").match(text, index)
            assert match is not None
            word = match.group()
            if word == "inf" and out and out[-1] in ("-", "−"):
                out.append(r"\infty ")
            elif word in FUNCTIONS:
                out.append(FUNCTIONS[word] + " ")
            elif len(word) == 1:
                out.append(word)
            else:
                out.append(r"\mathrm{" + word + "}")
            index = match.end()
        elif char == "\u0302" and out:  # combining hat
            out[-1] = r"\hat{" + out[-1].strip() + "}"
            index += 1
        elif char in "{}":
            out.append("\\" + char)
            index += 1
        elif char in SYMBOLS:
            symbol = SYMBOLS[char]
            out.append(symbol + (" " if symbol[-1].isalpha() else ""))
            index += 1
        else:
            out.append(char)
            index += 1
    return _closed(out)


_PROSE_WORD = re.compile(r"(?<![_^A-Za-z\\])[A-Za-z]{3,}(?![A-Za-z(])")
_MATH_WORDS = {*FUNCTIONS, "sqrt", "diag", "sign", "softmax", "pad", "out", "mean", "rank", "span"}


def _has_prose(text: str) -> bool:
    return any(word not in _MATH_WORDS for word in _PROSE_WORD.findall(text))


def _classify(core: str) -> str:
    """``op``, ``num``, ``strong`` (certainly maths), ``weak`` (maths beside maths), ``group``
    (brackets holding prose) or ``word``."""
    if core in _OPERATORS:
        return "op"
    if _CODE.fullmatch(core):
        return "code"
    if _NUMBER.fullmatch(core):
        return "num"
    if " " in core and _has_prose(core):
        return "group"
    if any(char in _STRONG for char in core) or _FUNCTION_CALL.fullmatch(core) or core in GREEK_NAMES:
        return "strong"
    if re.fullmatch(r"[A-Za-z0-9]+[*/][A-Za-z0-9()]+|[A-Za-z]+\*", core):
        return "strong"
    if " " in core and any(op in core.split() for op in _OPERATORS):
        return "strong"
    if len(core) == 1 and core.isalpha() and core.isascii():
        return "weak"
    if re.fullmatch(
        r"\d+[A-Za-z]|[A-Za-z]\d{1,2}|\d+x\d+|[A-Za-z]\([A-Za-z0-9, ]*\)?|[A-Za-z]\[[A-Za-z0-9, ]*\]", core
    ):
        return "weak"
    return "word"


class _Token(NamedTuple):
    lead: str
    core: str
    trail: str
    kind: str


def _words(text: str) -> list[str]:
    """``text`` split at spaces outside brackets."""
    words: list[str] = []
    depth = 0
    for piece in text.split(" "):
        if depth > 0 and words:
            words[-1] += " " + piece
        else:
            words.append(piece)
        depth += sum(piece.count(c) for c in "([{") - sum(piece.count(c) for c in ")]}")
        depth = max(depth, 0)
    return words


def _tokens(text: str) -> list[_Token]:
    tokens = []
    for word in _words(text):
        lead = re.match(r"[(\[]*", word).group()  # type: ignore[union-attr]
        rest = word[len(lead) :]
        trail = re.search(r"[)\],.;:!?]*$", rest).group()  # type: ignore[union-attr]
        core = rest[: len(rest) - len(trail)]
        # brackets balanced inside the core stay in it: sqrt(2), f(x), K[a,b]
        while trail[:1] in (")", "]") and trail and core.count({")": "(", "]": "["}[trail[0]]) > core.count(trail[0]):
            core, trail = core + trail[0], trail[1:]
        tokens.append(_Token(lead, core, trail, _classify(core) if core else "word"))
    return tokens


def _between_operators(tokens: list[_Token], index: int) -> bool:
    """A snake_case name inside a formula (``+ output_padding +``) is a term of it."""
    token = tokens[index]
    return (
        token.kind == "code"
        and re.fullmatch(r"[A-Za-z]+(?:_[A-Za-z]+)+", token.core) is not None
        and 0 < index < len(tokens) - 1
        and tokens[index - 1].kind == "op"
        and tokens[index + 1].kind == "op"
    )


def segments(text: str) -> list[tuple[str, str]]:
    """``text`` as runs of ``("text", plain)``, ``("math", LaTeX)`` and ``("code", plain)``.

    A maths run is a stretch of words that are operators, numbers, single letters or certainly
    maths (a script, a Greek letter, ``·``, ``sqrt(..)``), holding at least one operator or certain
    maths word; punctuation after a word other than a closing bracket ends the run. A lone negative
    number is maths too (a minus sign, not a hyphen).
    """
    tokens = _tokens(text)
    parts: list[tuple[str, str]] = []

    def add(kind: str, value: str) -> None:
        if not value:
            return
        if parts and parts[-1][0] == kind == "text":
            parts[-1] = ("text", parts[-1][1] + value)
        else:
            parts.append((kind, value))

    index = 0
    while index < len(tokens):
        if index:
            add("text", " ")
        end = index
        while end < len(tokens) and (
            tokens[end].kind not in ("word", "group", "code") or _between_operators(tokens, end)
        ):
            end += 1
            if tokens[end - 1].trail.strip(")]"):
                break
        run = tokens[index:end]
        certain = any(t.kind == "strong" for t in run) or (
            any(t.kind == "op" for t in run) and len(run) >= 2 and any(t.kind != "op" for t in run)
        )
        negative = len(run) == 1 and run[0].kind == "num" and (run[0].core[0] in "-−" or "inf" in run[0].core)
        if not run or not (certain or negative):
            token = tokens[index]
            if token.kind == "group" and token.core != text:
                add("text", token.lead)
                for kind, value in segments(token.core):
                    add(kind, value)
                add("text", token.trail)
            elif token.kind == "code":
                add("text", token.lead)
                add("code", token.core)
                add("text", token.trail)
            else:
                add("text", token.lead + token.core + token.trail)
            index += 1
            continue
        inner = run[0].core + "".join(
            previous.trail + " " + token.lead + token.core for previous, token in itertools.pairwise(run)
        )
        trail = run[-1].trail
        while trail[:1] in (")", "]") and trail and inner.count({")": "(", "]": "["}[trail[0]]) > inner.count(trail[0]):
            inner, trail = inner + trail[0], trail[1:]
        lead = run[0].lead
        while lead and inner.count({"(": ")", "[": "]"}[lead[-1]]) > inner.count(lead[-1]):  # closed inside
            inner, lead = lead[-1] + inner, lead[:-1]
        add("text", lead)
        add("math", ascii_to_latex(inner))
        add("text", trail)
        index = end
    return parts


# ---------------------------------------------------------------------------------------------
# what the display maths already says


_LATEX_WORDS = {
    **{value.lstrip("\\"): key for key, value in SYMBOLS.items() if value.startswith("\\") and value[1:].isalpha()},
    "top": "T",
    "sum": "Σ",
    "sqrt": "sqrt",
    "infty": "inf",
    "exp": "exp",
    "ln": "ln",
    "max": "max",
    "min": "min",
    "lambda": "λ",
    "varepsilon": "ε",
    "epsilon": "ε",
}
_WORD = re.compile(r"[A-Za-z" + _GREEK + r"]+|\d+(?:\.\d+)?")


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
    prose = [w for w in words if len(w) >= 3 and w.isalpha() and w not in FUNCTIONS and w not in _MATH_WORDS]
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
            if opening > 0:
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
# a step read as pieces

_MATRIX_ROW = re.compile(r"^\s*\[\s?(.*?)\s?\]\s*$")


def cell_latex(cell: str) -> str:
    """A table or matrix cell (a number, ``-inf``, ``1/3 ≈ 0.33``, a short label) as LaTeX maths."""
    cell = cell.strip()
    match = re.fullmatch(r"([-−]?)(\d+)/(\d+)(.*)", cell)
    if match:
        sign, numerator, denominator, rest = match.groups()
        return ("-" if sign else "") + r"\frac{" + numerator + "}{" + denominator + "}" + ascii_to_latex(rest)
    return ascii_to_latex(cell)


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
    shown = [block.cells for block in step.blocks if isinstance(block, Heatmap)]
    lines = step.text.rstrip().split("\n") if step.text.strip() else []
    pieces: list[Piece] = []
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
        pieces += _prose(line, step.latex)
        index += 1
    # a line that is a formula and nothing else is displayed as one
    pieces = [_as_display(piece) if isinstance(piece, Prose) else piece for piece in pieces]
    if step.latex and not _says_already(pieces, step.latex):
        at = 1 if pieces and isinstance(pieces[0], Prose) else 0
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
    name = ascii_to_latex(block.title) if short_name(block.title) else ""
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


#: Plain-text arrows and comparisons as the symbols they stand for (in prose, not code).
ARROWS = {"->": "→", "<-": "←", ">=": "≥", "<=": "≤", "!=": "≠"}


def text_symbols(text: str) -> str:
    """``a -> b``, ``x >= 1`` with the arrow and comparison symbols."""
    for ascii_form, symbol in ARROWS.items():
        text = text.replace(ascii_form, symbol)
    return text


def plain(parts: list[tuple[str, str]]) -> str:
    """The prose parts joined as they would read with the maths left as LaTeX (for tests)."""
    return "".join(value for _, value in parts)


# ---------------------------------------------------------------------------------------------
# display maths that fits the page

#: About how many characters of maths fit on a line of the typeset keys.
LINE_CHARS = 72
_ZERO_WIDTH = {"left", "right", "big", "Big", "bigg", "Bigg", "displaystyle", "limits", "nolimits", "textstyle"}
_MATRICES = {"bmatrix", "pmatrix", "matrix", "vmatrix", "Bmatrix", "smallmatrix", "array", "cases", "aligned"}
_RELATIONS = ("=", r"\le", r"\ge", r"\approx", r"\leq", r"\geq", "<", ">", r"\to", r"\Rightarrow", r"\propto")


def _group(latex: str, index: int) -> tuple[str, int]:
    """The braced group (or single character / command) at ``index`` and the index after it."""
    while index < len(latex) and latex[index] == " ":
        index += 1
    if index >= len(latex):
        return "", index
    if latex[index] == "{":
        end = _matching(latex, index)
        return latex[index + 1 : end - 1], end
    if latex[index] == "\\":
        match = re.compile(r"\\(?:[A-Za-z]+|.)").match(latex, index)
        return (match.group(), match.end()) if match else ("", index + 1)
    return latex[index], index + 1


def _environment_end(latex: str, index: int, name: str) -> tuple[int, int]:
    """(start of the matching ``\\end{name}``, index after it), nesting counted."""
    depth = 0
    pattern = re.compile(r"\\(begin|end)\{" + re.escape(name) + r"\}")
    for match in pattern.finditer(latex, index):
        depth += 1 if match.group(1) == "begin" else -1
        if depth == 0:
            return match.start(), match.end()
    return len(latex), len(latex)


def width(latex: str) -> float:
    """Rough width of LaTeX maths in characters (fractions take their wider part, matrices their
    widest row per column, scripts count 0.7, spacing commands their space)."""
    total = 0.0
    index = 0
    while index < len(latex):
        char = latex[index]
        if latex.startswith(("\\frac", "\\tfrac", "\\dfrac"), index):
            index = latex.index("frac", index) + 4
            numerator, index = _group(latex, index)
            denominator, index = _group(latex, index)
            total += max(width(numerator), width(denominator)) * 0.85 + 0.5
        elif latex.startswith("\\begin{", index):
            name_end = latex.index("}", index)
            name = latex[index + 7 : name_end]
            end, after = _environment_end(latex, index, name)
            body = latex[name_end + 1 : end]
            if name == "array" and body.startswith("{"):
                body = body[_matching(body, 0) :]
            if name in _MATRICES:
                rows = [[width(cell) for cell in row.split("&")] for row in _top_split(body, r"\\")]
                columns = max((len(row) for row in rows), default=0)
                total += sum(max((row[j] for row in rows if j < len(row)), default=0) + 1.5 for j in range(columns)) + 1
            else:
                total += max((width(line) for line in _top_split(body, r"\\")), default=0)
            index = after
        elif latex.startswith(("\\text{", "\\mathrm{", "\\operatorname{", "\\mathbf{", "\\textbf{"), index):
            content, index = _group(latex, latex.index("{", index))
            total += len(content) * 0.95
        elif char == "\\":
            match = re.compile(r"\\(?:[A-Za-z]+|.)").match(latex, index)
            name = match.group()[1:] if match else ""
            index = match.end() if match else index + 1
            total += {"quad": 2, "qquad": 4, ",": 0.2, ";": 0.3, ":": 0.25, "!": 0, " ": 0.3}.get(
                name, 0 if name in _ZERO_WIDTH else 1.5 if name in ("le", "ge", "approx", "to", "leq", "geq") else 1
            )
        elif char in "^_":
            content, index = _group(latex, index + 1)
            total += width(content) * 0.7
        elif char in "{} ":
            index += 1
        elif char in "=+<>":
            total += 1.6
            index += 1
        else:
            total += 1
            index += 1
    return total


def _top_split(latex: str, separator: str) -> list[str]:
    """``latex`` split at ``separator`` where it is outside braces, environments and \\left..\\right."""
    parts: list[str] = []
    depth = 0
    start = index = 0
    while index < len(latex):
        if latex.startswith(("\\begin{", "\\left"), index):
            depth += 1
        elif latex.startswith(("\\end{", "\\right"), index):
            depth -= 1
        char = latex[index]
        if char == "\\" and index + 1 < len(latex) and latex[index + 1] in "{}":
            index += 2
            continue
        if char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
        elif depth == 0 and latex.startswith(separator, index):
            after = index + len(separator)
            # a command separator must end there (\le is not \left)
            if not (separator[-1].isalpha() and after < len(latex) and latex[after].isalpha()):
                parts.append(latex[start:index])
                start = index = after
                continue
        if char == "\\":
            match = re.compile(r"\\(?:[A-Za-z]+|.)").match(latex, index)
            if match and separator in ("=", "<", ">"):
                index = match.end()
                continue
        index += 1
    parts.append(latex[start:])
    return parts


def _relation_chunks(line: str) -> list[str]:
    """``a = b \\le c`` -> ``["a", "= b", "\\le c"]`` (split before each top-level relation)."""
    chunks = [line]
    for relation in _RELATIONS:
        split: list[str] = []
        for chunk in chunks:
            pieces = _top_split(chunk, relation)
            split.append(pieces[0])
            split += [
                relation + " " + piece.strip() if relation[-1].isalpha() else relation + piece for piece in pieces[1:]
            ]
        chunks = split
    return [chunk.strip() for chunk in chunks if chunk.strip()]


def display_lines(latex: str, limit: float = LINE_CHARS, *, aligned: bool = True) -> list[str]:
    """Display maths as lines that fit ``limit`` characters, for ``gather``.

    Explicit ``\\\\`` line breaks are kept; a line too wide is cut at its top-level ``\\quad``
    separators, then at its relations (``=``, ``\\le``, ...): into an ``aligned`` block whose
    continuation lines start with the relation, or (``aligned=False``, for MathML converters
    without ``aligned``) into lines of their own. A piece with no place to cut stays whole.
    """
    lines: list[str] = []
    for line in _top_split(latex.strip(), r"\\"):
        line = line.strip()
        if not line:
            continue
        if width(line) <= limit:
            lines.append(line)
            continue
        pieces = [line]
        for separator in (r"\qquad", r"\quad"):
            pieces = [
                part.strip().rstrip(",;").strip()
                for piece in pieces
                for part in _top_split(piece, separator)
                if part.strip()
            ]
        for piece in pieces:
            if width(piece) <= limit:
                lines.append(piece)
            else:
                left, rows = _rows(piece, limit)
                if len(rows) < 2:
                    lines.append(piece)
                elif aligned:
                    body = " \\\\ ".join([left + " & " + rows[0], *("& " + row for row in rows[1:])])
                    lines.append("\\begin{aligned}" + body + "\\end{aligned}")
                else:
                    lines += [left + " " + rows[0], *(r"\qquad " + row for row in rows[1:])]
    return lines


def _rows(line: str, limit: float) -> tuple[str, list[str]]:
    """``line`` cut before its top-level relations: the left side, and rows (each starting with
    its relation) that fit ``limit`` characters beside the left side."""
    chunks = _relation_chunks(line)
    if len(chunks) < 2:
        return line, []
    rows = [chunks[1]]
    used = width(chunks[0]) + width(chunks[1])
    for chunk in chunks[2:]:
        if used + width(chunk) <= limit:
            rows[-1] += " " + chunk
            used += width(chunk)
        else:
            rows.append(chunk)
            used = width(chunks[0]) + width(chunk)
    return chunks[0], rows


def heat_rgb(value: float, low: float, high: float) -> tuple[int, int, int]:
    """Background colour of a heatmap cell holding ``value`` among values from ``low`` to ``high``:
    diverging blue-white-red around 0 when signs are mixed, else white to blue."""
    if low < 0 < high:
        scale = max(-low, high)
        t = value / scale if scale else 0.0
        strength = int(200 * min(abs(t), 1.0))
        if t >= 0:
            return 255, 255 - strength, 255 - strength
        return 255 - strength, 255 - strength, 255
    span = high - low
    if not span:
        return 255, 255, 255
    t = (value - low) / span
    strength = int(200 * min(max(t, 0.0), 1.0))
    if high <= 0:
        strength = 200 - strength
    return 255 - strength, 255 - strength // 3, 255


def column_widths(natural: list[int], least: list[int], budget: float) -> list[float]:
    """Widths of table columns that must share ``budget``: each column gets its ``least`` (its
    longest word, so that no word or number is cut), and what is left is shared in proportion to
    how much wider each column would like to be (up to its ``natural`` width)."""
    shares = [float(n) for n in least]
    spare = budget - sum(shares)
    wants = [max(n - m, 0) for n, m in zip(natural, least, strict=True)]
    total = sum(wants)
    if spare > 0 and total:
        shares = [share + min(spare * want / total, want) for share, want in zip(shares, wants, strict=True)]
    return shares


#: A table cell that holds one number (right-aligned in tables).
NUMERIC = re.compile(r"[-−+]?[\d.,]+(?:e[-+]?\d+)?(?:/\d+)?%?|[-−]?inf|nan|-|")


def numeric_column(cells: list[str]) -> bool:
    """Whether every cell of a table column is a number (such columns are right-aligned)."""
    return all(NUMERIC.fullmatch(cell.strip()) for cell in cells)


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
    """Labels and cell colours of a heatmap (:func:`heat_rgb`; ``None`` for a non-finite value)."""
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
                    (c, heat_rgb(v, low, high) if math.isfinite(v) else None)
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
